//! Validly signed bundles around fuzzed contents, so that the fuzzer gets past the signature
//! and the Merkle root to the strict parse of the manifest and of every record, the canonical
//! form, the dates and the rules of the measures.
//!
//! Input: one mode byte, then the rest.
//! - mode % 6 == 0: the rest is the manifest (the signed payload), with no records (`[]`);
//!   signed by the demo key, or by the retired key when the mode's high bit is set; verified
//!   standalone and against a chain of one accepted bundle whose hash is [`ACCEPTED`].
//! - mode % 6 in 1..=5: the rest is the records array of a dataset (evaluation-2023,
//!   evaluation-2024, evaluation-2025 with the demo data's schedules, dishonesty-list,
//!   violations); the harness writes the manifest (sequence 1, count and root of the records as
//!   the verifier will read them), signs it with the demo key and verifies it against an empty
//!   chain, as the first import does.

#![no_main]

use chrono::{DateTime, FixedOffset, NaiveDate};
use envcredit::bundle::envelope::sign_bundle;
use envcredit::bundle::manifest::{FORMAT_VERSION, HASH_ALGORITHM};
use envcredit::bundle::merkle::{self, Hash};
use envcredit::bundle::sign::manifest_bytes;
use envcredit::bundle::{verify, Dataset, EvaluationSchedule, Limits, Manifest};
use envcredit_fuzz::{check_verdict, demo_key, retired_key, trusted};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

/// The payload hash of sequence 1 in the chain the manifest mode is checked against: a
/// manifest with sequence 2 and this previous hash follows it.
const ACCEPTED: Hash = [0xab; 32];

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a valid date")
}

fn schedule(publicity: &str, deadline: &str, publication: Option<&str>) -> EvaluationSchedule {
    EvaluationSchedule {
        publicity_date: date(publicity),
        objection_deadline: date(deadline),
        publication_date: publication.map(date),
    }
}

/// The dataset and evaluation dates of records mode `mode` (1..=5).
fn dataset(mode: u8) -> (Dataset, Option<EvaluationSchedule>) {
    match mode {
        1 => (
            Dataset::Evaluation(2023),
            Some(schedule("2023-04-28", "2023-05-09", Some("2023-05-19"))),
        ),
        2 => (
            Dataset::Evaluation(2024),
            Some(schedule("2024-09-27", "2024-10-10", Some("2024-10-25"))),
        ),
        3 => (
            Dataset::Evaluation(2025),
            Some(schedule("2025-09-26", "2025-10-10", None)),
        ),
        4 => (Dataset::DishonestyList, None),
        _ => (Dataset::Violations, None),
    }
}

fn records(mode: u8, records: &[u8]) {
    // The count and root of the records as the verifier reads them; when they are not a JSON
    // array, those of none (the verifier refuses them first anyway).
    let leaves: Vec<Hash> = serde_json::from_slice::<Vec<&RawValue>>(records)
        .map(|raw| {
            raw.iter()
                .map(|r| merkle::leaf_hash(r.get().as_bytes()))
                .collect()
        })
        .unwrap_or_default();
    let (dataset, evaluation) = dataset(mode);
    let created_at: DateTime<FixedOffset> =
        "2025-10-21T09:00:00+08:00".parse().expect("a valid time");
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        dataset,
        sequence: 1,
        previous_hash: [0; 32],
        created_at,
        record_count: leaves.len() as u64,
        hash_algorithm: HASH_ALGORITHM.to_string(),
        merkle_root: merkle::root(&leaves),
        evaluation,
        count_drop_acknowledged: None,
    };
    let payload = manifest_bytes(&manifest).expect("a manifest serializes");
    let bundle = sign_bundle(demo_key(), &payload, records).to_bytes();
    let verdict = verify(&bundle, trusted(), Some(&[]), &Limits::default());
    check_verdict(&bundle, &verdict);
}

fn manifest(retired: bool, payload: &[u8]) {
    let key = if retired { retired_key() } else { demo_key() };
    let bundle = sign_bundle(key, payload, b"[]").to_bytes();
    let limits = Limits::default();
    check_verdict(&bundle, &verify(&bundle, trusted(), None, &limits));
    check_verdict(
        &bundle,
        &verify(&bundle, trusted(), Some(&[ACCEPTED]), &limits),
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 6 {
        0 => manifest(mode & 0x80 != 0, rest),
        m => records(m, rest),
    }
});
