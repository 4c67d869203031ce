//! `envcredit verify-receipt`: checks a signed lookup receipt with the registry's receipt key and
//! prints what it says.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::bundle::envelope::PublicKey;
use crate::receipt::{self, Receipt};
use crate::{Error, Result};

/// Verifies `file` (a receipt envelope, or a JSON answer holding one as `receipt`) with the key
/// `pubkey` (base64, or a file holding it or the registry's published key document), then prints
/// the receipt. Any failure is one line naming what failed.
pub fn verify_receipt(file: &Path, pubkey: &str) -> Result<()> {
    let key = public_key(pubkey)?;
    let bytes =
        std::fs::read(file).map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let verified = receipt::verify(&bytes, &key).map_err(|e| {
        Error::BadRequest(format!(
            "receipt {} fails verification ({}): {e}",
            file.display(),
            e.rule()
        ))
    })?;
    print!(
        "{}",
        describe(
            &file.display().to_string(),
            &verified.key_id,
            &verified.receipt
        )
    );
    Ok(())
}

/// The key from the command line: base64 of the raw 32 bytes, or a file holding that (as
/// `envcredit keygen` writes FILE.pub) or the JSON of `/.well-known/envcredit-receipt-key.json`.
pub(super) fn public_key(given: &str) -> Result<PublicKey> {
    if let Ok(key) = PublicKey::parse(given) {
        return Ok(key);
    }
    let path = Path::new(given);
    if !path.is_file() {
        return Err(Error::BadRequest(format!(
            "--pubkey {given:?} is neither a base64 Ed25519 public key nor a file"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let text = match serde_json::from_str::<Value>(&text) {
        Ok(document) => match document.get("public_key").and_then(Value::as_str) {
            Some(key) => key.to_string(),
            None => {
                return Err(Error::BadRequest(format!(
                    "{}: JSON without a `public_key`",
                    path.display()
                )))
            }
        },
        Err(_) => text,
    };
    PublicKey::parse(&text)
        .map_err(|e| Error::BadRequest(format!("public key in {}: {e}", path.display())))
}

/// The receipt in words.
fn describe(file: &str, key_id: &str, r: &Receipt) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ok {file}: receipt signed by the registry key {key_id}"
    );
    if let Some(notice) = &r.notice {
        let _ = writeln!(out, "NOTICE:    {notice}");
    } else if r.demo {
        let _ = writeln!(out, "NOTICE:    DEMO receipt");
    }
    let q = &r.question;
    let _ = writeln!(
        out,
        "question:  {}, as of {}, {}, {} code{}",
        q.endpoint,
        q.as_of.map_or("today".to_string(), |d| d.to_string()),
        q.revision
            .map_or("current revision".to_string(), |n| format!("revision {n}")),
        q.items.len(),
        if q.items.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "as of:     {}", r.as_of);
    let _ = match &r.data {
        Some(d) => writeln!(
            out,
            "data:      revision {} (payload sha256 {})",
            d.sequence, d.hash
        ),
        None => writeln!(out, "data:      none (the registry held no data)"),
    };
    let _ = writeln!(out, "issued at: {}", r.issued_at);
    let _ = writeln!(out, "answers:   {}", r.answers.len());
    for answer in &r.answers {
        let _ = writeln!(out, "  {}", answer_line(answer));
    }
    out
}

/// One answer on one line: code, date, status and what applies.
fn answer_line(a: &Value) -> String {
    let text = |name: &str| a.get(name).and_then(Value::as_str).unwrap_or("");
    let mut line = format!(
        "{} as of {}: {}",
        text("code"),
        text("as_of"),
        text("status")
    );
    if let Some(name) = a.get("name").and_then(Value::as_str) {
        let _ = write!(line, ", {name}");
    }
    if let Some(flag) = a.get("bid_flag").and_then(Value::as_str) {
        let _ = write!(line, ", bid flag {flag}");
    }
    if let Some(g) = a.get("valid_grade").filter(|g| !g.is_null()) {
        let _ = write!(
            line,
            ", grade {} / {} risk ({}, valid from {})",
            g.pointer("/grade/letter")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            g.pointer("/risk/level")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            g.get("year").map_or("?".to_string(), Value::to_string),
            g.get("valid_from").and_then(Value::as_str).unwrap_or("?"),
        );
    }
    for (field, words) in [
        (
            "on_dishonesty_list_in_force",
            "on the dishonesty list in force",
        ),
        ("de_high_risk", "D/E with high risk"),
    ] {
        if let Some(yes) = a.get(field).and_then(Value::as_bool) {
            let _ = write!(line, ", {}{words}", if yes { "" } else { "not " });
        }
    }
    if let Some(reason) = a.get("reason").and_then(Value::as_str) {
        let _ = write!(line, ", reason {reason}");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_read_as_one_line_each() {
        let flag = json!({"code": "X", "as_of": "2025-06-01", "status": "found", "name": "甲",
            "bid_flag": "bonus", "valid_grade": {"year": 2024, "grade": {"letter": "A"},
            "risk": {"level": "low"}, "valid_from": "2024-10-25"}});
        assert_eq!(
            answer_line(&flag),
            "X as of 2025-06-01: found, 甲, bid flag bonus, grade A / low risk (2024, valid from 2024-10-25)"
        );
        let joint = json!({"code": "Y", "as_of": "2025-06-01", "status": "found",
            "on_dishonesty_list_in_force": true, "de_high_risk": false, "valid_grade": null});
        assert_eq!(
            answer_line(&joint),
            "Y as of 2025-06-01: found, on the dishonesty list in force, not D/E with high risk"
        );
        let invalid = json!({"code": "Z", "as_of": "2025-06-01", "status": "invalid_code",
            "reason": "length"});
        assert_eq!(
            answer_line(&invalid),
            "Z as of 2025-06-01: invalid_code, reason length"
        );
    }
}
