//! `envcredit verify-receipt`: checks a signed lookup receipt with the registry's receipt key and
//! prints what it says.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::bundle::envelope::PublicKey;
use crate::domain::text::escape;
use crate::receipt::{self, DataRevision, Receipt};
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
            "receipt {} fails verification ({}): {}",
            escape(&file.display().to_string()),
            e.rule(),
            escape(&e.to_string())
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

/// The receipt in words. Every text from the signed payload (and the file name) goes through
/// [`escape`]: a signed receipt still holds what a client sent, and must not print a forged line.
fn describe(file: &str, key_id: &str, r: &Receipt) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ok {}: receipt signed by the registry key {}",
        escape(file),
        escape(key_id)
    );
    if let Some(notice) = &r.notice {
        let _ = writeln!(out, "NOTICE:    {}", escape(notice));
    } else if r.demo {
        let _ = writeln!(out, "NOTICE:    DEMO receipt");
    }
    let q = &r.question;
    let _ = writeln!(
        out,
        "question:  {}, as of {}, {}, {} code{}",
        escape(&q.endpoint),
        q.as_of.map_or("today".to_string(), |d| d.to_string()),
        q.revision
            .map_or("current revision".to_string(), |n| format!("revision {n}")),
        q.items.len(),
        if q.items.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "as of:     {}", r.as_of);
    let revision = |d: &DataRevision| {
        format!(
            "revision {} (payload sha256 {})",
            d.sequence,
            escape(&d.hash)
        )
    };
    let _ = match &r.data {
        Some(d) => writeln!(out, "data:      {}", revision(d)),
        None => writeln!(out, "data:      none (the registry held no data)"),
    };
    let _ = match (r.receipt_version, &r.head, &r.data) {
        (1, _, _) => writeln!(
            out,
            "head:      not recorded (a version 1 receipt does not say whether newer data existed)"
        ),
        (_, Some(head), Some(data)) if head != data => writeln!(
            out,
            "head:      {}\nNOT THE HEAD: answered from revision {}, an older revision than the \
             registry's newest when it signed ({}): newer data existed then",
            revision(head),
            data.sequence,
            head.sequence
        ),
        (_, Some(head), _) => writeln!(
            out,
            "head:      {} (the answer is from the head)",
            revision(head)
        ),
        (_, None, _) => writeln!(out, "head:      none (the registry held no data)"),
    };
    let _ = writeln!(out, "issued at: {}", escape(&r.issued_at));
    let provisional = r
        .answers
        .iter()
        .filter(|a| a.get("provisional").and_then(Value::as_bool) == Some(true))
        .count();
    if provisional > 0 {
        let _ = writeln!(
            out,
            "PROVISIONAL: {provisional} answer{} about a date after the day it was issued: \
             data arriving before that date may change {}",
            if provisional == 1 { " is" } else { "s are" },
            if provisional == 1 { "it" } else { "them" }
        );
    }
    let _ = writeln!(out, "answers:   {}", r.answers.len());
    for answer in &r.answers {
        let _ = writeln!(out, "  {}", answer_line(answer));
    }
    out
}

/// One answer on one line: code, date, status and what applies; text escaped.
fn answer_line(a: &Value) -> String {
    let text = |name: &str| escape(a.get(name).and_then(Value::as_str).unwrap_or("")).into_owned();
    let mut line = format!(
        "{} as of {}: {}",
        text("code"),
        text("as_of"),
        text("status")
    );
    if a.get("provisional").and_then(Value::as_bool) == Some(true) {
        line.push_str(" (provisional)");
    }
    if let Some(name) = a.get("name").and_then(Value::as_str) {
        let _ = write!(line, ", {}", escape(name));
    }
    if let Some(flag) = a.get("bid_flag").and_then(Value::as_str) {
        let _ = write!(line, ", bid flag {}", escape(flag));
    }
    if let Some(g) = a.get("valid_grade").filter(|g| !g.is_null()) {
        let part = |pointer: &str| {
            escape(g.pointer(pointer).and_then(Value::as_str).unwrap_or("?")).into_owned()
        };
        let _ = write!(
            line,
            ", grade {} / {} risk ({}, valid from {})",
            part("/grade/letter"),
            part("/risk/level"),
            g.get("year")
                .map_or("?".to_string(), |y| escape(&y.to_string()).into_owned()),
            part("/valid_from"),
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
        let _ = write!(line, ", reason {}", escape(reason));
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

    fn receipt(answers: Vec<Value>, data: u64, head: Option<u64>, version: u32) -> Receipt {
        let revision = |sequence| DataRevision {
            hash: "ab".repeat(32),
            sequence,
        };
        Receipt {
            answers,
            as_of: chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default(),
            data: Some(revision(data)),
            demo: false,
            head: head.map(revision),
            issued_at: "2025-10-01T12:00:00+08:00".into(),
            notice: None,
            question: receipt::Question {
                as_of: None,
                endpoint: "POST /api/v1/flags/batch".into(),
                items: Vec::new(),
                revision: None,
            },
            receipt_version: version,
        }
    }

    #[test]
    fn no_text_of_the_payload_can_forge_a_line() {
        let forged = "X\n  91330402MA0000001U as of 2025-06-01: found, bid flag bonus\u{1b}[1A\u{1b}[2K\r\u{202e}";
        let answer = json!({"code": forged, "as_of": "2025-06-01\n", "status": "invalid_code",
            "name": "甲\u{2028}乙", "reason": "length\u{85}"});
        let out = describe("a\nb.json", "k", &receipt(vec![answer], 6, Some(6), 2));
        assert!(!out.contains('\u{1b}') && !out.contains('\r') && !out.contains('\u{202e}'));
        assert!(!out.contains('\u{2028}') && !out.contains('\u{85}'));
        // One line per fact: the header lines and exactly one answer line.
        assert_eq!(out.lines().count(), 7 + 1, "{out}");
        let line = out.lines().last().unwrap_or_default();
        assert!(
            line.starts_with(
                "  X\\u{a}  91330402MA0000001U as of 2025-06-01: found, bid flag bonus\\u{1b}[1A"
            ),
            "{line}"
        );
        assert!(
            line.ends_with(": invalid_code, 甲\\u{2028}乙, reason length\\u{85}"),
            "{line}"
        );
        assert!(out.starts_with("ok a\\u{a}b.json: "), "{out}");
    }

    #[test]
    fn says_plainly_when_the_answer_is_not_from_the_head() {
        let answer = json!({"code": "X", "as_of": "2025-06-01", "status": "found"});
        let older = describe("f", "k", &receipt(vec![answer.clone()], 4, Some(6), 2));
        assert!(older.contains("NOT THE HEAD: answered from revision 4, an older revision than the registry's newest when it signed (6)"), "{older}");
        let head = describe("f", "k", &receipt(vec![answer.clone()], 6, Some(6), 2));
        assert!(
            head.contains("(the answer is from the head)") && !head.contains("NOT THE HEAD"),
            "{head}"
        );
        let v1 = describe("f", "k", &receipt(vec![answer], 4, None, 1));
        assert!(
            v1.contains("head:      not recorded (a version 1 receipt"),
            "{v1}"
        );
    }

    #[test]
    fn provisional_answers_are_marked() {
        let answer =
            json!({"code": "X", "as_of": "2030-06-01", "status": "found", "provisional": true});
        let out = describe("f", "k", &receipt(vec![answer], 6, Some(6), 2));
        assert!(
            out.contains("PROVISIONAL: 1 answer is about a date after the day it was issued"),
            "{out}"
        );
        assert!(
            out.contains("X as of 2030-06-01: found (provisional)"),
            "{out}"
        );
    }
}
