//! `envcredit verify-proof`: checks the proof of one record offline, with only the pipeline's
//! public key, and prints the record.

use std::path::Path;

use crate::bundle::proof::{self, Expected, ProvenRecord};
use crate::domain::text::escape;
use crate::{Error, Result};

/// Verifies the proof in `file` (the API's answer, or the bare proof) with `pubkey` (base64, or
/// a file holding it, as `envcredit keygen` writes FILE.pub); with `expected`, also that it is
/// the proof of that institution's result in that year, or of its listing or violation with
/// that decision number; with `chain` (the saved answer of `/api/v1/bundles`), the "newer
/// bundle" warning comes from the signed manifests there instead of the server's unsigned hint.
/// Prints what it proves, every text of the record escaped, and any warning; any failure is one
/// line naming the rule.
pub fn verify_proof(
    file: &Path,
    pubkey: &str,
    expected: &Expected<'_>,
    chain: Option<&Path>,
) -> Result<()> {
    let key = super::receipt::public_key(pubkey)?;
    let bytes =
        std::fs::read(file).map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let fail = |e: crate::bundle::Rejection| {
        Error::BadRequest(format!(
            "proof {} fails verification ({}): {}",
            file.display(),
            e.rule,
            e.message
        ))
    };
    let parsed = proof::parse(&bytes).map_err(fail)?;
    let verified = proof::verify_expecting(&parsed, &key, expected).map_err(fail)?;
    let m = &verified.manifest;
    println!(
        "ok {}: record {} of {} in bundle {} ({}, made {}), Merkle root {}, signed by key {}",
        file.display(),
        verified.leaf_index,
        m.record_count,
        m.sequence,
        m.dataset,
        m.created_at,
        hex::encode(m.merkle_root),
        verified.key_id
    );
    println!("  {}", describe(&verified.record));
    println!(
        "  record: {}",
        escape(&String::from_utf8_lossy(&verified.record_bytes))
    );
    let mut warnings = verified.warnings.clone();
    if let Some(chain) = chain {
        let bytes = std::fs::read(chain)
            .map_err(|e| Error::io(format!("cannot read {}", chain.display()), e))?;
        let (latest, other_keys) = proof::latest_in_chain(&bytes, &key, m.dataset).map_err(fail)?;
        // The signed chain replaces the server's unsigned hint.
        warnings.clear();
        if latest > m.sequence {
            warnings.push(format!(
                "the signed chain in {} holds a newer bundle of {} (sequence {latest}): this record may have changed since; ask for a new proof",
                chain.display(),
                m.dataset
            ));
        }
        if other_keys > 0 {
            warnings.push(format!(
                "{other_keys} manifest(s) of the chain are signed by other keys and were not counted"
            ));
        }
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// One line saying what the record is; its text comes from the proof, so it is escaped.
fn describe(record: &ProvenRecord) -> String {
    let optional =
        |date: Option<chrono::NaiveDate>| date.map_or("-".to_string(), |d| d.to_string());
    match record {
        ProvenRecord::Evaluation(r) => format!(
            "{} {}: grade {}, risk {}",
            escape(&r.code),
            escape(&r.name),
            r.grade,
            r.risk.as_str()
        ),
        ProvenRecord::Listing(r) => format!(
            "{} {}: listing {} ({}), listed on {}, in force from {}, ended on {}; reason: {}",
            escape(&r.code),
            escape(&r.name),
            escape(&r.decision_number),
            r.state.as_str(),
            r.listed_on,
            optional(r.in_force_from),
            optional(r.ended_on),
            escape(&r.reason)
        ),
        ProvenRecord::Violation(r) => format!(
            "{} {}: violation {} by {}, decided on {}: {}",
            escape(&r.code),
            escape(&r.name),
            escape(&r.decision_number),
            escape(&r.authority),
            r.decided_on,
            escape(&r.description)
        ),
    }
}
