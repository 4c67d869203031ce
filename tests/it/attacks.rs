//! The attack suite: bad bundles, each refused by exactly the check it targets, with the store
//! left byte for byte as it was.
//!
//! Apart from the envelope, key and signature cases, every bad bundle is validly signed by the
//! trusted pipeline key, so that it gets past the signature and reaches the check it aims at.
//! Each case runs on SQLite and on PostgreSQL. The last case shows that valid bundles (the base
//! every attack mutates, and a correction of a published record) are accepted, so the suite
//! cannot pass by refusing everything.

// A setup step that fails should stop the test with its message.
#![allow(clippy::expect_used)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use envcredit::bundle::envelope;
use envcredit::bundle::merkle::Hash;
use envcredit::bundle::records::{
    canonical_bytes, Art11Finding, Change, ChangeKind, EvaluationRecord, Records,
};
use envcredit::bundle::{Dataset, EvaluationSchedule, Rejection};
use envcredit::config::Config;
use envcredit::domain::art11::Art11Ground;
use envcredit::domain::score::Grade;
use envcredit::domain::score::RiskLevel;
use envcredit::import::Outcome;
use serde_json::Value;

use crate::backends;
use crate::helpers::{self, code, date, pipeline_key, record, stranger_key, Parts, TestDb};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A store that already holds the accepted first bundle (evaluation-2024, sequence 1).
struct Accepted {
    config: Config,
    first: Vec<u8>,
    first_hash: Hash,
    /// The store's dump right after the first import.
    before: String,
}

fn accepted_first(db: &TestDb) -> Accepted {
    let config = helpers::config(db);
    let empty = db.dump();
    let (first, first_hash) = helpers::first_bundle();
    let outcome = helpers::import(db, &config, &first).expect("the first bundle imports");
    assert!(
        matches!(
            outcome,
            Outcome::Imported {
                sequence: 1,
                records: 3,
                ..
            }
        ),
        "{outcome:?}"
    );
    let before = db.dump();
    assert_ne!(before, empty, "the first import stored nothing");
    assert!(before.starts_with("bundles: 1\n"), "{before}");
    Accepted {
        config,
        first,
        first_hash,
        before,
    }
}

/// Imports `bytes`, requires a rejection and an unchanged store, and returns the rejection.
fn rejected(db: &TestDb, config: &Config, bytes: &[u8], before: &str) -> Rejection {
    let result = helpers::import(db, config, bytes);
    let after = db.dump();
    assert_eq!(
        after, before,
        "a refused bundle changed the store ({result:?})"
    );
    match result {
        Err(envcredit::Error::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A rejection of the bundle as a whole: `rule`, and no record named.
fn assert_bundle_rule(r: &Rejection, rule: &str) {
    assert_eq!(r.rule, rule, "wrong rule: {r}");
    assert!(
        r.record.is_none(),
        "no record is at fault, but one is named: {r}"
    );
}

/// A rejection of record `index` with key `key`.
fn assert_record_rule(r: &Rejection, rule: &str, index: usize, key: &str) {
    assert_eq!(r.rule, rule, "wrong rule: {r}");
    let record = r
        .record
        .as_ref()
        .unwrap_or_else(|| panic!("no record named: {r}"));
    assert_eq!(record.index, index, "wrong record: {r}");
    assert_eq!(record.key.as_deref(), Some(key), "wrong key: {r}");
}

/// Three valid 2025 results (in publicity): A/low, B/medium, D/high.
fn records_2025() -> Vec<EvaluationRecord> {
    vec![
        record(1, 9100, 8100),
        record(2, 8400, 6500),
        record(3, 6300, 5900),
    ]
}

/// The parts of a valid second bundle: evaluation-2025 (in publicity), sequence 2.
/// Every attack on a second bundle starts from this (the last test shows it is accepted).
fn second(first_hash: Hash) -> Parts {
    second_with(first_hash, records_2025())
}

fn second_with(first_hash: Hash, records: Vec<EvaluationRecord>) -> Parts {
    Parts::of(&helpers::draft(
        Dataset::Evaluation(2025),
        2,
        first_hash,
        Some(helpers::schedule_2025()),
        Records::Evaluation(records),
    ))
}

/// A new snapshot of the published evaluation-2024 at `sequence`.
fn snapshot_2024(sequence: u64, previous: Hash, records: Vec<EvaluationRecord>) -> Parts {
    Parts::of(&helpers::draft(
        Dataset::Evaluation(2024),
        sequence,
        previous,
        Some(helpers::schedule_2024()),
        Records::Evaluation(records),
    ))
}

/// Signs exact manifest bytes with the trusted pipeline key, with these records beside them.
fn signed(manifest: &[u8], records: &[u8]) -> Vec<u8> {
    envelope::sign_bundle(&pipeline_key(), manifest, records).to_bytes()
}

/// `text` with `from` (which must occur exactly once) replaced by `to`.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} must occur once in {text}"
    );
    text.replacen(from, to, 1)
}

/// The manifest of `parts` as text, edited, then validly signed.
fn signed_edited_payload(parts: &Parts, edit: impl FnOnce(&str) -> String) -> Vec<u8> {
    let payload = String::from_utf8(parts.payload()).expect("payload is UTF-8");
    let edited = edit(&payload);
    assert_ne!(edited, payload, "the edit changed nothing");
    signed(edited.as_bytes(), &parts.records_bytes())
}

/// Record `index` of `parts` as text, edited; count and root are NOT recomputed.
fn edit_record(mut parts: Parts, index: usize, edit: impl FnOnce(&str) -> String) -> Parts {
    let text = String::from_utf8(parts.records[index].clone()).expect("record is UTF-8");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    parts.records[index] = edited.into_bytes();
    parts
}

/// The envelope file as JSON, edited, written back in the envelope's one layout (compact, the
/// documented members first in their order, then `\n`), so the edit reaches the check it aims at;
/// the signature is left as it was.
fn edit_envelope(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(bytes).expect("envelope is JSON");
    edit(&mut value);
    let mut out = in_layout(&value, &["payloadType", "payload", "signatures", "records"]);
    out.push(b'\n');
    out
}

/// `value` as compact JSON with the members of each object in `order` first (then the others),
/// the signatures' members as keyid, sig.
fn in_layout(value: &Value, order: &[&str]) -> Vec<u8> {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    let inner = in_layout(&map[k], &["keyid", "sig"]);
                    format!(
                        "{}:{}",
                        Value::String(k.clone()),
                        String::from_utf8(inner).expect("UTF-8")
                    )
                })
                .collect();
            format!("{{{}}}", members.join(",")).into_bytes()
        }
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| String::from_utf8(in_layout(v, order)).expect("UTF-8"))
                .collect();
            format!("[{}]", items.join(",")).into_bytes()
        }
        other => other.to_string().into_bytes(),
    }
}

fn base64_field(value: &Value) -> Vec<u8> {
    STANDARD
        .decode(value.as_str().expect("a base64 string"))
        .expect("valid base64")
}

// ---------------------------------------------------------------------------------------------
// Envelope, key and signature
// ---------------------------------------------------------------------------------------------

/// One bit of the signature flipped.
async fn signature_bit_flipped(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let bad = edit_envelope(&good, |env| {
        let mut sig = base64_field(&env["signatures"][0]["sig"]);
        sig[17] ^= 0x04;
        env["signatures"][0]["sig"] = Value::String(STANDARD.encode(sig));
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "signature_invalid");
}
backends!(signature_bit_flipped_is_refused, signature_bit_flipped);

/// One bit flipped inside the decoded manifest (the record count), re-encoded, old signature.
async fn payload_bit_flipped(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let bad = edit_envelope(&good, |env| {
        let mut payload = base64_field(&env["payload"]);
        let at = payload
            .windows(16)
            .position(|w| w == b"\"record_count\":3")
            .expect("the record count in the manifest")
            + 15;
        payload[at] ^= 0x01; // '3' -> '2'
        assert_eq!(payload[at], b'2');
        env["payload"] = Value::String(STANDARD.encode(payload));
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "signature_invalid");
}
backends!(payload_bit_flipped_is_refused, payload_bit_flipped);

/// One bit flipped inside the records beside the signed manifest (a grade A becomes C): the
/// signature still holds, the records no longer hash to the signed root.
async fn records_bit_flipped(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let bad = edit_envelope(&good, |env| {
        let mut records = base64_field(&env["records"]);
        let at = records
            .windows(11)
            .position(|w| w == b"\"grade\":\"A\"")
            .expect("a grade A in the records")
            + 9;
        records[at] ^= 0x02; // 'A' -> 'C'
        assert_eq!(records[at], b'C');
        env["records"] = Value::String(STANDARD.encode(records));
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "merkle_root");
}
backends!(records_bit_flipped_is_refused, records_bit_flipped);

/// A signed manifest without its records is not a bundle.
async fn records_missing(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let bad = edit_envelope(&good, |env| {
        env.as_object_mut().expect("object").remove("records");
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "envelope_malformed");
}
backends!(bundle_without_records_is_refused, records_missing);

/// The declared payload type changed (the signature covers the type, but it is refused first).
async fn payload_type_changed(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let bad = edit_envelope(&good, |env| {
        env["payloadType"] =
            Value::String("application/vnd.envcredit.bundle+json; version=2".into());
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "payload_type");
}
backends!(payload_type_changed_is_refused, payload_type_changed);

/// A perfectly good bundle signed by a key nobody trusts.
async fn unknown_key(db: TestDb) {
    let s = accepted_first(&db);
    let bad = second(s.first_hash).sign(&stranger_key());
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "key_unknown");
    assert!(
        r.message.contains(&stranger_key().public_key().key_id()),
        "{r}"
    );
}
backends!(unknown_key_is_refused, unknown_key);

/// Signed by the stranger, but the envelope claims the trusted key's id.
async fn key_id_substituted(db: TestDb) {
    let s = accepted_first(&db);
    let forged = second(s.first_hash).sign(&stranger_key());
    let bad = edit_envelope(&forged, |env| {
        env["signatures"][0]["keyid"] = Value::String(pipeline_key().public_key().key_id());
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "signature_invalid");
}
backends!(key_id_substituted_is_refused, key_id_substituted);

/// A second signature appended (even a valid one by the same key) is not the format.
async fn two_signatures(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let bad = edit_envelope(&good, |env| {
        let sigs = env["signatures"].as_array_mut().expect("signatures");
        let again = sigs[0].clone();
        sigs.push(again);
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "signature_count");
}
backends!(two_signatures_are_refused, two_signatures);

/// A field the envelope format does not define.
async fn envelope_unknown_field(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let bad = edit_envelope(&good, |env| {
        env["note"] = Value::String("trust me".into());
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "envelope_unknown_field");
}
backends!(envelope_unknown_field_is_refused, envelope_unknown_field);

/// The pipeline key trusted only from sequence 5: it cannot sign sequence 2.
async fn key_outside_its_range(db: TestDb) {
    let s = accepted_first(&db);
    let mut config = s.config.clone();
    config.trusted_keys = vec![helpers::trusted(&pipeline_key(), "pipeline", 5, None)];
    let bad = second(s.first_hash).sign(&pipeline_key());
    let r = rejected(&db, &config, &bad, &s.before);
    assert_bundle_rule(&r, "key_not_trusted_for_sequence");
    assert!(r.message.contains("5.."), "{r}");
    assert!(r.message.contains("sequence 2"), "{r}");
}
backends!(
    key_outside_its_sequence_range_is_refused,
    key_outside_its_range
);

/// The pipeline key revoked after sequence 1: a valid sequence-2 bundle by it is refused, while
/// the bundle it signed before the revocation stays valid.
async fn revoked_key(db: TestDb) {
    let s = accepted_first(&db);
    let mut config = s.config.clone();
    config.trusted_keys = vec![helpers::trusted(&pipeline_key(), "pipeline", 1, Some(1))];
    let bad = second(s.first_hash).sign(&pipeline_key());
    let r = rejected(&db, &config, &bad, &s.before);
    assert_bundle_rule(&r, "key_not_trusted_for_sequence");
    assert!(r.message.contains("1..=1"), "{r}");
    // Old bundles stay valid when a key is revoked.
    let again = helpers::import(&db, &config, &s.first).expect("the old bundle still verifies");
    assert_eq!(again, Outcome::AlreadyAccepted { sequence: 1 });
    assert_eq!(db.dump(), s.before);
}
backends!(revoked_key_is_refused, revoked_key);

/// The file cut short.
async fn truncated_file(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    // Inside the payload, and just the closing brace (the final newline alone is whitespace).
    for cut in [good.len() / 2, good.len() - 2] {
        let r = rejected(&db, &s.config, &good[..cut], &s.before);
        assert_bundle_rule(&r, "envelope_not_json");
    }
}
backends!(truncated_file_is_refused, truncated_file);

/// Garbage after the JSON envelope.
async fn trailing_bytes(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    for tail in [&b"garbage"[..], b"{}", b"\n\x00"] {
        let mut bad = good.clone();
        bad.extend_from_slice(tail);
        let r = rejected(&db, &s.config, &bad, &s.before);
        assert_bundle_rule(&r, "envelope_not_json");
    }
}
backends!(trailing_bytes_are_refused, trailing_bytes);

/// A file larger than the configured limit (refused before it is even parsed).
async fn oversized_bundle(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let mut config = s.config.clone();
    config.limits.max_bundle_bytes = good.len() - 1;
    let r = rejected(&db, &config, &good, &s.before);
    assert_bundle_rule(&r, "size_limit");
}
backends!(oversized_bundle_is_refused, oversized_bundle);

// ---------------------------------------------------------------------------------------------
// Payload and manifest (validly signed)
// ---------------------------------------------------------------------------------------------

/// Signed bytes that are not JSON at all.
async fn payload_not_json(db: TestDb) {
    let s = accepted_first(&db);
    let bad = signed(b"{\"format_version\":", b"[]");
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "payload_parse");
}
backends!(payload_not_json_is_refused, payload_not_json);

/// A manifest field given twice with different values: which one would a reader believe?
async fn duplicate_manifest_field(db: TestDb) {
    let s = accepted_first(&db);
    let bad = signed_edited_payload(&second(s.first_hash), |p| {
        replace_once(p, "\"sequence\":2,", "\"sequence\":2,\"sequence\":3,")
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "payload_parse");
    assert!(r.message.contains("duplicate field"), "{r}");
}
backends!(
    duplicate_field_in_manifest_is_refused,
    duplicate_manifest_field
);

/// A field the manifest does not define.
async fn unknown_manifest_field(db: TestDb) {
    let s = accepted_first(&db);
    let bad = signed_edited_payload(&second(s.first_hash), |p| {
        replace_once(p, "\"sequence\":2,", "\"sequence\":2,\"supersedes\":1,")
    });
    let r = rejected(&db, &s.config, &bad, &s.before);
    assert_bundle_rule(&r, "payload_parse");
    assert!(r.message.contains("unknown field"), "{r}");
}
backends!(unknown_field_in_manifest_is_refused, unknown_manifest_field);

/// Records that are not a JSON array.
async fn records_not_an_array(db: TestDb) {
    let s = accepted_first(&db);
    let parts = second(s.first_hash);
    for records in [&b"{\"records\":[]}"[..], b""] {
        let bad = signed(&parts.payload(), records);
        let r = rejected(&db, &s.config, &bad, &s.before);
        assert_bundle_rule(&r, "payload_parse");
        assert!(r.message.contains("records"), "{r}");
    }
    // A syntax error inside a record names that record.
    let good = String::from_utf8(parts.records_bytes()).expect("UTF-8");
    let second_record = good.match_indices(",{").next().expect("two records").0;
    let broken = format!("{},{{\"code\":]", &good[..second_record]);
    let r = rejected(
        &db,
        &s.config,
        &signed(&parts.payload(), broken.as_bytes()),
        &s.before,
    );
    assert_eq!(r.rule, "record_parse", "{r}");
    assert_eq!(r.record.as_ref().map(|r| r.index), Some(1), "{r}");
}
backends!(records_not_an_array_are_refused, records_not_an_array);

/// A format version this registry does not read.
async fn unsupported_format_version(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.format_version = 1;
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "format_version");
}
backends!(
    unsupported_format_version_is_refused,
    unsupported_format_version
);

/// A hash algorithm this registry does not use.
async fn unsupported_hash_algorithm(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.hash_algorithm = "sha1".into();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "hash_algorithm");
}
backends!(
    unsupported_hash_algorithm_is_refused,
    unsupported_hash_algorithm
);

// ---------------------------------------------------------------------------------------------
// The chain (validly signed)
// ---------------------------------------------------------------------------------------------

/// The accepted first bundle again: the designed no-op, nothing changes.
async fn replayed_bundle(db: TestDb) {
    let s = accepted_first(&db);
    let outcome = helpers::import(&db, &s.config, &s.first).expect("a replay is not an error");
    assert_eq!(outcome, Outcome::AlreadyAccepted { sequence: 1 });
    assert_eq!(db.dump(), s.before);
}
backends!(replayed_bundle_is_a_no_op, replayed_bundle);

/// A different bundle claiming the accepted sequence 1: equivocation, naming both hashes.
async fn equivocation(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = helpers::records_2024();
    records[2].name = "南湖另一家环境检测有限公司".into();
    let other = Parts::of(&helpers::draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(helpers::schedule_2024()),
        Records::Evaluation(records),
    ));
    assert_ne!(other.hash(), s.first_hash);
    let r = rejected(&db, &s.config, &other.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "equivocation");
    assert!(r.message.contains(&hex::encode(s.first_hash)), "{r}");
    assert!(r.message.contains(&hex::encode(other.hash())), "{r}");
}
backends!(equivocation_is_refused, equivocation);

/// Sequence 3 right after 1.
async fn skipped_sequence(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.sequence = 3;
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "sequence");
    assert!(r.message.contains("expected 2"), "{r}");
}
backends!(skipped_sequence_is_refused, skipped_sequence);

/// Sequence numbers start at 1.
async fn sequence_zero(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.sequence = 0;
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "sequence");
}
backends!(sequence_zero_is_refused, sequence_zero);

/// The right sequence number, but not chained to the accepted bundle.
async fn broken_previous_hash(db: TestDb) {
    let s = accepted_first(&db);
    let mut wrong = s.first_hash;
    wrong[0] ^= 0x01;
    let parts = second(wrong);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "previous_hash");
    assert!(r.message.contains(&hex::encode(s.first_hash)), "{r}");
}
backends!(broken_previous_hash_is_refused, broken_previous_hash);

/// On an empty store, a first bundle must name 64 zeros as its previous hash.
async fn first_bundle_not_at_the_start(db: TestDb) {
    let config = helpers::config(&db);
    let before = db.dump();
    let parts = Parts::of(&helpers::draft(
        Dataset::Evaluation(2024),
        1,
        [0x11; 32],
        Some(helpers::schedule_2024()),
        Records::Evaluation(helpers::records_2024()),
    ));
    let r = rejected(&db, &config, &parts.sign(&pipeline_key()), &before);
    assert_bundle_rule(&r, "previous_hash");
}
backends!(
    first_bundle_with_a_previous_hash_is_refused,
    first_bundle_not_at_the_start
);

// ---------------------------------------------------------------------------------------------
// Record count and Merkle root (validly signed, deliberately not resealed)
// ---------------------------------------------------------------------------------------------

/// Count says 3, the payload holds 4.
async fn record_added(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    let extra = canonical_bytes(&record(4, 8800, 8200)).expect("record");
    parts.records.push(extra);
    assert_eq!(parts.manifest.record_count, 3);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "record_count");
}
backends!(record_added_is_refused, record_added);

/// Count says 3, the payload holds 2.
async fn record_removed(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.records.remove(1);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "record_count");
}
backends!(record_removed_is_refused, record_removed);

/// The records intact, the count in the manifest wrong.
async fn count_mismatch(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.record_count = 2;
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "record_count");
}
backends!(count_mismatch_is_refused, count_mismatch);

/// A record edited after the root was computed (grade B raised to A with a score to match).
async fn record_edited_after_sealing(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.records[1] = canonical_bytes(&record(2, 9400, 6500)).expect("record");
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "merkle_root");
}
backends!(
    record_edited_after_sealing_is_refused,
    record_edited_after_sealing
);

/// The records intact, the root in the manifest wrong.
async fn wrong_merkle_root(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.merkle_root[31] ^= 0x80;
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "merkle_root");
}
backends!(wrong_merkle_root_is_refused, wrong_merkle_root);

/// More records than the configured limit.
async fn too_many_records(db: TestDb) {
    let s = accepted_first(&db);
    let mut config = s.config.clone();
    config.limits.max_records = 2;
    let r = rejected(
        &db,
        &config,
        &second(s.first_hash).sign(&pipeline_key()),
        &s.before,
    );
    assert_bundle_rule(&r, "size_limit");
}
backends!(too_many_records_are_refused, too_many_records);

// ---------------------------------------------------------------------------------------------
// Record form (validly signed, resealed)
// ---------------------------------------------------------------------------------------------

/// Records reordered, count and root recomputed: keys must strictly increase.
async fn records_reordered(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.records.swap(0, 1);
    let parts = parts.reseal();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "key_order", 1, &code(1));
}
backends!(records_reordered_are_refused, records_reordered);

/// Two results for one institution.
async fn duplicate_key(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    let mut twin = record(2, 6100, 5500);
    twin.name = "南湖测试2号环境检测有限公司（重复）".into();
    records.push(twin);
    let parts = second_with(s.first_hash, records);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "duplicate_key", 2, &code(2));
}
backends!(duplicate_key_is_refused, duplicate_key);

/// White space inside a record: same JSON value, other bytes, other leaf hash.
async fn record_with_white_space(db: TestDb) {
    let s = accepted_first(&db);
    let parts = edit_record(second(s.first_hash), 1, |t| t.replacen(",\"", ", \"", 1)).reseal();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "record_canonical", 1, &code(2));
}
backends!(
    non_canonical_record_white_space_is_refused,
    record_with_white_space
);

/// A record's keys in reverse order.
async fn record_keys_out_of_order(db: TestDb) {
    let s = accepted_first(&db);
    let parts = edit_record(second(s.first_hash), 0, |t| {
        let value: Value = serde_json::from_str(t).expect("record JSON");
        let fields: Vec<String> = value
            .as_object()
            .expect("record object")
            .iter()
            .rev()
            .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
            .collect();
        format!("{{{}}}", fields.join(","))
    })
    .reseal();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "record_canonical", 0, &code(1));
}
backends!(
    non_canonical_record_key_order_is_refused,
    record_keys_out_of_order
);

/// A character written as a `\u` escape: the same string, other bytes.
async fn record_with_escaped_character(db: TestDb) {
    let s = accepted_first(&db);
    let parts = edit_record(second(s.first_hash), 2, |t| {
        replace_once(t, "南湖", "\\u5357湖")
    })
    .reseal();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "record_canonical", 2, &code(3));
}
backends!(
    non_canonical_record_escape_is_refused,
    record_with_escaped_character
);

/// A record field given twice with different values (grade D, then A).
async fn duplicate_record_field(db: TestDb) {
    let s = accepted_first(&db);
    let parts = edit_record(second(s.first_hash), 2, |t| {
        replace_once(t, "\"grade\":\"D\"", "\"grade\":\"D\",\"grade\":\"A\"")
    })
    .reseal();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "record_parse", 2, &code(3));
    assert!(r.message.contains("duplicate field"), "{r}");
}
backends!(duplicate_field_in_record_is_refused, duplicate_record_field);

/// A field the record type does not define (sorted last, so the form is otherwise canonical).
async fn unknown_record_field(db: TestDb) {
    let s = accepted_first(&db);
    let parts = edit_record(second(s.first_hash), 0, |t| {
        let body = t.strip_suffix('}').expect("record object");
        format!("{body},\"verified\":true}}")
    })
    .reseal();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "record_parse", 0, &code(1));
    assert!(r.message.contains("unknown field"), "{r}");
}
backends!(unknown_field_in_record_is_refused, unknown_record_field);

/// Evaluation results passed off as the serious-dishonesty list.
async fn records_of_another_dataset(db: TestDb) {
    let s = accepted_first(&db);
    let parts = Parts::of(&helpers::draft(
        Dataset::DishonestyList,
        2,
        s.first_hash,
        None,
        Records::Evaluation(records_2025()),
    ));
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "record_parse", 0, &code(1));
}
backends!(
    records_of_another_dataset_are_refused,
    records_of_another_dataset
);

/// One record larger than the configured limit.
async fn oversized_record(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[1].former_names = (0..10)
        .map(|i| format!("{i}{}", "旧".repeat(150)))
        .collect();
    let parts = second_with(s.first_hash, records);
    let mut config = s.config.clone();
    config.limits.max_record_bytes = 4096;
    assert!(parts.records[0].len() < 4096 && parts.records[1].len() > 4096);
    let r = rejected(&db, &config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "size_limit", 1, &code(2));
}
backends!(oversized_record_is_refused, oversized_record);

// ---------------------------------------------------------------------------------------------
// The dataset's dates (validly signed)
// ---------------------------------------------------------------------------------------------

/// An objection deadline that is not 5 working days after publicity (2025-10-10, after the
/// National Day holidays).
async fn wrong_objection_deadline(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.evaluation = Some(EvaluationSchedule {
        objection_deadline: date(2025, 10, 9),
        ..helpers::schedule_2025()
    });
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "objection_deadline");
    assert!(r.message.contains("2025-10-10"), "{r}");
}
backends!(
    wrong_objection_deadline_is_refused,
    wrong_objection_deadline
);

/// An evaluation year without its dates.
async fn evaluation_without_schedule(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = second(s.first_hash);
    parts.manifest.evaluation = None;
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "evaluation_schedule");
}
backends!(
    evaluation_without_schedule_is_refused,
    evaluation_without_schedule
);

// ---------------------------------------------------------------------------------------------
// Each record against the measures (validly signed, resealed)
// ---------------------------------------------------------------------------------------------

/// A code whose check character is wrong.
async fn invalid_code_check_character(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    let good = code(1);
    let last = good.chars().last().expect("a code");
    let bad = format!("{}{}", &good[..17], if last == '0' { '1' } else { '0' });
    records[0].code = bad.clone();
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "code_check", 0, &bad);
}
backends!(
    invalid_code_check_character_is_refused,
    invalid_code_check_character
);

/// Grade B for a basic score of 90.00 (band A: 90 and above).
async fn grade_not_matching_score(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[1] = record(2, 9000, 6500);
    records[1].grade = Grade::B;
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "grade_band", 1, &code(2));
}
backends!(
    grade_not_matching_score_is_refused,
    grade_not_matching_score
);

/// Low risk for a risk score of 79.99 (band medium: 60 to below 80).
async fn risk_not_matching(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[0] = record(1, 9100, 7999);
    records[0].risk = RiskLevel::Low;
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "risk_band", 0, &code(1));
}
backends!(risk_not_matching_score_is_refused, risk_not_matching);

/// A basic score that is not the sum of its six categories (one bonus hundredth more).
async fn category_sum_mismatch(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    if let Some(basic) = records[2].basic.as_mut() {
        basic.bonus += 1;
    }
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "basic_category_sum", 2, &code(3));
}
backends!(category_sum_mismatch_is_refused, category_sum_mismatch);

/// An Art. 11 finding on a record left at grade A, low risk.
async fn art11_without_e_high(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[0].art11 = vec![Art11Finding {
        ground: Art11Ground::FalsificationPenalty,
        description: "嘉环罚〔2025〕12号".into(),
        determined_on: date(2025, 6, 3),
    }];
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "art11_grade_risk", 0, &code(1));
}
backends!(
    art11_without_grade_e_and_high_risk_is_refused,
    art11_without_e_high
);

/// A control character in a public name.
async fn control_character_in_name(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[1].name = "南湖测试2号\u{1b}[2J环境检测有限公司".into();
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "text", 1, &code(2));
}
backends!(
    control_character_in_name_is_refused,
    control_character_in_name
);

/// A score beyond any possible value.
async fn score_out_of_range(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[0] = record(1, 100_100, 8100);
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "score_range", 0, &code(1));
}
backends!(score_out_of_range_is_refused, score_out_of_range);

// ---------------------------------------------------------------------------------------------
// Against the published history (validly signed; evaluation-2024 was published)
// ---------------------------------------------------------------------------------------------

/// A published result's score changed, with no `change` saying why.
async fn changed_record_without_reason(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = helpers::records_2024();
    records[1] = record(2, 7600, 7000); // still C/medium, but 75.00 became 76.00
    let parts = snapshot_2024(2, s.first_hash, records);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "change_reason_missing", 1, &code(2));
}
backends!(
    changed_record_without_reason_is_refused,
    changed_record_without_reason
);

/// A record added to a published year with no `change`.
async fn added_record_without_reason(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = helpers::records_2024();
    records.push(record(4, 8800, 8200));
    let parts = snapshot_2024(2, s.first_hash, records);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "change_reason_missing", 3, &code(4));
}
backends!(
    added_record_without_reason_is_refused,
    added_record_without_reason
);

/// A published result dropped from the next snapshot.
async fn published_record_removed(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = helpers::records_2024();
    records.remove(2);
    let parts = snapshot_2024(2, s.first_hash, records);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "published_record_removed");
    assert!(r.message.contains(&code(3)), "{r}");
}
backends!(
    published_record_removed_is_refused,
    published_record_removed
);

/// A published year's dates moved.
async fn published_schedule_changed(db: TestDb) {
    let s = accepted_first(&db);
    let mut parts = snapshot_2024(2, s.first_hash, helpers::records_2024());
    parts.manifest.evaluation = Some(EvaluationSchedule {
        publication_date: Some(date(2024, 10, 28)),
        ..helpers::schedule_2024()
    });
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "published_schedule_changed");
}
backends!(
    published_schedule_changed_is_refused,
    published_schedule_changed
);

// ---------------------------------------------------------------------------------------------
// The accepted path
// ---------------------------------------------------------------------------------------------

/// The base every attack above mutates is accepted, and so is a correction of a published
/// record that says why it changed; the store changes each time; a replay changes nothing.
async fn valid_bundles_are_accepted(db: TestDb) {
    let s = accepted_first(&db);

    let base = second(s.first_hash);
    let outcome = helpers::import(&db, &s.config, &base.sign(&pipeline_key()))
        .expect("the base bundle imports");
    assert_eq!(
        outcome,
        Outcome::Imported {
            sequence: 2,
            dataset: Dataset::Evaluation(2025),
            records: 3,
            hash: hex::encode(base.hash()),
        }
    );
    let after_base = db.dump();
    assert_ne!(after_base, s.before);
    assert!(after_base.starts_with("bundles: 2\n"), "{after_base}");

    // Art. 16 correction after review: 75.00 (C) becomes 81.00 (B), with its reason.
    let mut records = helpers::records_2024();
    records[1] = record(2, 8100, 7000);
    records[1].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2024, 11, 1),
        effective_from: date(2024, 10, 25),
        reason: "复核后更正监测能力得分".into(),
        reference: "嘉环复〔2024〕1号".into(),
    });
    let correction = snapshot_2024(3, base.hash(), records);
    let bytes = correction.sign(&pipeline_key());
    let outcome = helpers::import(&db, &s.config, &bytes).expect("the correction imports");
    assert_eq!(
        outcome,
        Outcome::Imported {
            sequence: 3,
            dataset: Dataset::Evaluation(2024),
            records: 3,
            hash: hex::encode(correction.hash()),
        }
    );
    let after_correction = db.dump();
    assert_ne!(after_correction, after_base);
    assert!(
        after_correction.starts_with("bundles: 3\n"),
        "{after_correction}"
    );

    let again = helpers::import(&db, &s.config, &bytes).expect("a replay is not an error");
    assert_eq!(again, Outcome::AlreadyAccepted { sequence: 3 });
    assert_eq!(db.dump(), after_correction);
}
backends!(
    valid_bundles_are_accepted_and_change_the_store,
    valid_bundles_are_accepted
);

// ---------------------------------------------------------------------------------------------
// Configuration cannot reopen what a revocation closed; limits bound new input only
// ---------------------------------------------------------------------------------------------

/// The same key listed twice (once revoked, once open) would let a revoked key sign again:
/// such a configuration is refused.
#[test]
fn a_key_listed_twice_is_refused_by_configuration() {
    let db = TestDb::sqlite();
    let mut config = helpers::config(&db);
    config.trusted_keys = vec![
        helpers::trusted(&pipeline_key(), "revoked", 1, Some(1)),
        helpers::trusted(&pipeline_key(), "again", 1, None),
    ];
    let error = config.trusted_keys().expect_err("refused");
    assert!(error.to_string().contains("listed twice"), "{error}");
}

/// Lowering a limit after a bundle was accepted must not turn it into an integrity failure:
/// the stored bundle is still served and other datasets still import.
async fn lowered_limit(db: TestDb) {
    let Accepted {
        mut config,
        first_hash,
        ..
    } = accepted_first(&db);
    config.limits.max_record_bytes = 64;
    config.limits.max_bundle_bytes = 2048;
    let list = Parts::of(&helpers::draft(
        Dataset::DishonestyList,
        2,
        first_hash,
        None,
        Records::DishonestyList(vec![helpers::listing(1, "嘉环信〔2024〕1号")]),
    ));
    let mut list_config = config.clone();
    list_config.limits.max_record_bytes = 4096;
    helpers::import(&db, &list_config, &list.sign(&pipeline_key()))
        .expect("another dataset imports");
    let app = helpers::spawn_app(config, date(2025, 1, 10)).await;
    let (status, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(
        (status, body["standing"]["grade"]["letter"].as_str()),
        (200, Some("A"))
    );
}
backends!(lowered_limits_keep_stored_bundles_valid, lowered_limit);

// ---------------------------------------------------------------------------------------------
// Extremes, dates and listing history
// ---------------------------------------------------------------------------------------------

/// The most negative integer as a score: refused by the range check, never a panic or a wrap.
async fn score_at_i64_min(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    if let Some(basic) = records[1].basic.as_mut() {
        basic.local = i64::MIN;
    }
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "score_range", 1, &code(2));
}
backends!(score_at_i64_min_is_refused, score_at_i64_min);

/// A record reporting something that happened after the bundle was made.
async fn date_after_creation(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[2].art11 = vec![envcredit::bundle::records::Art11Finding {
        ground: Art11Ground::FalsificationPenalty,
        description: "嘉环罚字〔2026〕1号".into(),
        determined_on: date(2026, 1, 5),
    }];
    records[2].grade = Grade::E;
    records[2].risk = RiskLevel::High;
    let r = rejected(
        &db,
        &s.config,
        &second_with(s.first_hash, records).sign(&pipeline_key()),
        &s.before,
    );
    assert_record_rule(&r, "dates", 2, &code(3));
}
backends!(date_after_creation_is_refused, date_after_creation);

fn list_bundle(
    sequence: u64,
    previous: Hash,
    listing: envcredit::bundle::records::Listing,
) -> Parts {
    Parts::of(&helpers::draft(
        Dataset::DishonestyList,
        sequence,
        previous,
        None,
        Records::DishonestyList(vec![listing]),
    ))
}

/// A listing may move forward without a reason, but not back: a repaired listing put back in
/// force, or its dates moved, needs a change that says why.
async fn listing_moved_back(db: TestDb) {
    let s = accepted_first(&db);
    let mut repaired = helpers::listing(1, "嘉环信〔2024〕1号");
    repaired.state = envcredit::bundle::records::ListingState::Repaired;
    repaired.ended_on = Some(date(2025, 6, 1));
    let second = list_bundle(2, s.first_hash, repaired.clone());
    helpers::import(&db, &s.config, &second.sign(&pipeline_key())).expect("the listing imports");
    let before = db.dump();

    let back = list_bundle(3, second.hash(), helpers::listing(1, "嘉环信〔2024〕1号"));
    let r = rejected(&db, &s.config, &back.sign(&pipeline_key()), &before);
    assert_record_rule(
        &r,
        "change_reason_missing",
        0,
        &format!("{} 嘉环信〔2024〕1号", code(1)),
    );

    let mut backdated = repaired.clone();
    backdated.in_force_from = Some(date(2024, 11, 1));
    let moved = list_bundle(3, second.hash(), backdated);
    let r = rejected(&db, &s.config, &moved.sign(&pipeline_key()), &before);
    assert_record_rule(
        &r,
        "change_reason_missing",
        0,
        &format!("{} 嘉环信〔2024〕1号", code(1)),
    );
}
backends!(
    listing_moved_back_without_reason_is_refused,
    listing_moved_back
);

/// The forward path needs no reason: publicity → in force → removed.
async fn listing_moves_forward(db: TestDb) {
    let s = accepted_first(&db);
    let mut listing = helpers::listing(1, "嘉环信〔2024〕1号");
    listing.state = envcredit::bundle::records::ListingState::Publicity;
    listing.in_force_from = None;
    let second = list_bundle(2, s.first_hash, listing.clone());
    helpers::import(&db, &s.config, &second.sign(&pipeline_key())).expect("publicity imports");
    listing.state = envcredit::bundle::records::ListingState::InForce;
    listing.in_force_from = Some(date(2024, 11, 11));
    let third = list_bundle(3, second.hash(), listing.clone());
    helpers::import(&db, &s.config, &third.sign(&pipeline_key())).expect("issued imports");
    listing.state = envcredit::bundle::records::ListingState::Removed;
    listing.ended_on = Some(date(2025, 6, 1));
    let fourth = list_bundle(4, third.hash(), listing);
    helpers::import(&db, &s.config, &fourth.sign(&pipeline_key())).expect("removal imports");
}
backends!(listing_moves_forward_without_reason, listing_moves_forward);

/// JSON arrays in place of the payload or manifest objects (which serde's derived readers would
/// take as the fields in order) are refused.
async fn arrays_for_objects(db: TestDb) {
    let s = accepted_first(&db);
    let parts = second(s.first_hash);
    // The manifest's fields in declaration order, as serde's derived reader would take them.
    let m = &parts.manifest;
    let manifest_array = serde_json::json!([
        m.format_version,
        m.dataset,
        m.sequence,
        hex::encode(m.previous_hash),
        m.created_at,
        m.record_count,
        m.hash_algorithm,
        hex::encode(m.merkle_root),
        m.evaluation,
    ])
    .to_string();
    // The manifest as an array of its values: refused, though serde's derived reader would
    // take it.
    let r = rejected(
        &db,
        &s.config,
        &signed(manifest_array.as_bytes(), &parts.records_bytes()),
        &s.before,
    );
    assert_bundle_rule(&r, "payload_parse");
}
backends!(arrays_for_objects_are_refused, arrays_for_objects);

// ---------------------------------------------------------------------------------------------
// The contract is the document: layouts, forms and text (docs/bundle-format.md)
// ---------------------------------------------------------------------------------------------

/// White space between, before or after the records: the leaves are the same, the bytes are not
/// the documented `[r,r,r]`.
async fn records_with_white_space(db: TestDb) {
    let s = accepted_first(&db);
    let parts = second(s.first_hash);
    let texts: Vec<String> = parts
        .records
        .iter()
        .map(|r| String::from_utf8(r.clone()).expect("UTF-8"))
        .collect();
    for layout in [
        format!("[{}]", texts.join(", ")),
        format!("[{}]", texts.join(",\n")),
        format!(" [{}]", texts.join(",")),
        format!("[{}]\n", texts.join(",")),
        format!("[ {} ]", texts.join(",")),
    ] {
        let bad = signed(&parts.payload(), layout.as_bytes());
        let r = rejected(&db, &s.config, &bad, &s.before);
        assert_bundle_rule(&r, "records_layout");
    }
}
backends!(
    records_with_white_space_are_refused,
    records_with_white_space
);

/// The envelope in another layout than the one documented: the same JSON, other bytes.
async fn envelope_in_another_layout(db: TestDb) {
    let s = accepted_first(&db);
    let good = second(s.first_hash).sign(&pipeline_key());
    let text = String::from_utf8(good.clone()).expect("UTF-8");
    let body = text.trim_end_matches('\n');
    let value: Value = serde_json::from_str(body).expect("json");
    for bad in [
        format!("{body}\n\n"),
        format!("{body} \n"),
        body.to_string(),
        format!("{body}\r\n"),
        body.replacen("{\"payloadType\":", "{ \"payloadType\": ", 1) + "\n",
        serde_json::to_string_pretty(&value).expect("json") + "\n",
        // The members sorted (what a JSON library without order writes).
        serde_json::to_string(&value).expect("json") + "\n",
    ] {
        assert_ne!(bad.as_bytes(), &good[..]);
        let r = rejected(&db, &s.config, bad.as_bytes(), &s.before);
        assert_bundle_rule(&r, "envelope_layout");
    }
}
backends!(
    an_envelope_in_another_layout_is_refused,
    envelope_in_another_layout
);

/// Manifest dates and times in any form but the documented one, validly signed.
async fn manifest_date_forms(db: TestDb) {
    let s = accepted_first(&db);
    let parts = second(s.first_hash);
    for (from, to) in [
        (
            "\"publicity_date\":\"2025-09-26\"",
            "\"publicity_date\":\"+2025-09-26\"",
        ),
        (
            "\"publicity_date\":\"2025-09-26\"",
            "\"publicity_date\":\"2025-9-26\"",
        ),
        (
            "\"objection_deadline\":\"2025-10-10\"",
            "\"objection_deadline\":\"20251010\"",
        ),
        ("2025-10-24T09:00:00+08:00", "2025-10-24T01:00:00Z"),
        ("2025-10-24T09:00:00+08:00", "2025-10-24 09:00:00+08:00"),
        ("2025-10-24T09:00:00+08:00", "2025-10-24T09:00:00.000+08:00"),
        ("2025-10-24T09:00:00+08:00", "2025-10-24t09:00:00+08:00"),
    ] {
        let bad = signed_edited_payload(&parts, |p| replace_once(p, from, to));
        let r = rejected(&db, &s.config, &bad, &s.before);
        assert_bundle_rule(&r, "payload_parse");
    }
}
backends!(
    manifest_dates_in_other_forms_are_refused,
    manifest_date_forms
);

/// A record date in another form: a strict parse error, not merely "not canonical".
async fn record_date_form(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[0].objection = Some(envcredit::bundle::records::Objection {
        status: envcredit::bundle::records::ObjectionStatus::Filed,
        filed_on: date(2025, 9, 29),
        decided_on: None,
        outcome: None,
    });
    let parts = edit_record(second_with(s.first_hash, records), 0, |r| {
        replace_once(
            r,
            "\"filed_on\":\"2025-09-29\"",
            "\"filed_on\":\"+2025-09-29\"",
        )
    })
    .reseal();
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "record_parse", 0, &code(1));
}
backends!(record_dates_in_other_forms_are_refused, record_date_form);

/// Names a reader cannot trust: format characters, separators, white space at the ends.
async fn untrustworthy_text(db: TestDb) {
    let s = accepted_first(&db);
    type Edit = fn(&mut EvaluationRecord);
    let edits: [Edit; 7] = [
        |r| r.name = format!("南湖\u{202E}测试有限公司{}", r.code),
        |r| r.name = format!("南湖\u{200B}测试{}", r.code),
        |r| r.name = format!("南湖\u{2028}测试{}", r.code),
        |r| r.name = format!(" {}", r.name),
        |r| r.name = format!("{}\u{3000}", r.name),
        |r| r.former_names = vec!["旧名\u{FEFF}".into()],
        |r| r.cma_certificate = format!("{}\u{200D}", r.cma_certificate),
    ];
    for edit in edits {
        let mut records = records_2025();
        edit(&mut records[1]);
        let parts = second_with(s.first_hash, records);
        let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
        assert_record_rule(&r, "text", 1, &code(2));
        assert!(!r.message.contains("Some("), "{r}");
    }
}
backends!(untrustworthy_text_is_refused, untrustworthy_text);

/// A spoofed twin: another code whose name is the same after NFKC (full-width digits).
async fn twin_names(db: TestDb) {
    let s = accepted_first(&db);
    let mut records = records_2025();
    records[1].name = records[0].name.replace('1', "１");
    assert_ne!(records[1].name, records[0].name);
    let parts = second_with(s.first_hash, records);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "name_twin", 1, &code(2));
}
backends!(twin_names_are_refused, twin_names);

/// An evaluation year with no records at all: a faulty export, not a year.
async fn empty_year(db: TestDb) {
    let s = accepted_first(&db);
    let parts = second_with(s.first_hash, Vec::new());
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "empty_dataset");
}
backends!(an_empty_year_is_refused, empty_year);

/// Art. 16: a published year carries only decided objections; only a decided one has an outcome.
async fn objection_states(db: TestDb) {
    use envcredit::bundle::records::{Objection, ObjectionStatus};
    let s = accepted_first(&db);
    let mut published = helpers::records_2024();
    published[0].objection = Some(Objection {
        status: ObjectionStatus::UnderReview,
        filed_on: date(2024, 9, 30),
        decided_on: None,
        outcome: None,
    });
    published[0].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 1, 5),
        effective_from: date(2024, 10, 25),
        reason: "复核".into(),
        reference: "嘉环信复〔2025〕9号".into(),
    });
    let parts = snapshot_2024(2, s.first_hash, published);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "objection_state", 0, &code(1));
    assert!(r.message.contains("under_review"), "{r}");

    let mut in_publicity = records_2025();
    in_publicity[0].objection = Some(Objection {
        status: ObjectionStatus::Filed,
        filed_on: date(2025, 9, 29),
        decided_on: None,
        outcome: Some("维持".into()),
    });
    let parts = second_with(s.first_hash, in_publicity);
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &s.before);
    assert_record_rule(&r, "objection_state", 0, &code(1));
}
backends!(
    undecided_objections_are_refused_where_they_cannot_be,
    objection_states
);

// ---------------------------------------------------------------------------------------------
// The past cannot be rewritten by a later bundle
// ---------------------------------------------------------------------------------------------

/// `second(…)` made at `created_at`.
fn second_made(first_hash: Hash, created_at: &str) -> Parts {
    let mut parts = second(first_hash);
    parts.manifest.created_at = created_at.parse().expect("time");
    parts
}

/// Time runs forward along the chain, and a bundle is not made in the importer's future.
async fn created_at_rules(db: TestDb) {
    let s = accepted_first(&db);
    let earlier = second_made(s.first_hash, "2025-10-23T09:00:00+08:00");
    let r = rejected(&db, &s.config, &earlier.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "created_at_order");
    let future = second_made(s.first_hash, "2099-06-01T09:00:00+08:00");
    let r = rejected(&db, &s.config, &future.sign(&pipeline_key()), &s.before);
    assert_bundle_rule(&r, "created_at_future");
    assert!(r.message.contains("2099-06-01"), "{r}");
}
backends!(created_at_out_of_time_is_refused, created_at_rules);

/// The review's case: a year shown in publicity from 2025-09-26 cannot be moved to 2025-01-06,
/// nor published on a day before a bundle still showed it in publicity.
async fn schedule_rewritten(db: TestDb) {
    use envcredit::domain::calendar::Calendar;
    let s = accepted_first(&db);
    let publicity = second(s.first_hash);
    helpers::import(&db, &s.config, &publicity.sign(&pipeline_key())).expect("2025 publicity");
    let before = db.dump();

    let moved_publicity = date(2025, 1, 6);
    let mut moved = helpers::schedule_2025();
    moved.publicity_date = moved_publicity;
    moved.objection_deadline = Calendar::official()
        .objection_deadline(moved_publicity)
        .expect("calendar");
    moved.publication_date = Some(date(2025, 1, 20));
    let parts = Parts::of(&helpers::draft(
        Dataset::Evaluation(2025),
        3,
        publicity.hash(),
        Some(moved),
        Records::Evaluation(records_2025()),
    ));
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &before);
    assert_bundle_rule(&r, "publicity_date_changed");
    assert!(r.message.contains("2025-09-26"), "{r}");

    // Published on 2025-10-20, but bundle 2, made on 2025-10-24, still showed publicity.
    let mut backdated = helpers::schedule_2025();
    backdated.publication_date = Some(date(2025, 10, 20));
    let parts = Parts::of(&helpers::draft(
        Dataset::Evaluation(2025),
        3,
        publicity.hash(),
        Some(backdated),
        Records::Evaluation(records_2025()),
    ));
    let r = rejected(&db, &s.config, &parts.sign(&pipeline_key()), &before);
    assert_bundle_rule(&r, "publication_backdated");

    // Published on the day it was made: accepted.
    let mut on_time = helpers::schedule_2025();
    on_time.publication_date = Some(date(2025, 10, 24));
    let parts = Parts::of(&helpers::draft(
        Dataset::Evaluation(2025),
        3,
        publicity.hash(),
        Some(on_time),
        Records::Evaluation(records_2025()),
    ));
    helpers::import(&db, &s.config, &parts.sign(&pipeline_key())).expect("published on time");
}
backends!(a_years_dates_cannot_be_rewritten, schedule_rewritten);

/// A published year with fewer than four fifths of the previous year's institutions is refused
/// unless its manifest acknowledges the drop.
async fn count_drop(db: TestDb) {
    let s = accepted_first(&db);
    let mut schedule = helpers::schedule_2025();
    schedule.publication_date = Some(date(2025, 10, 24));
    let mut draft = helpers::draft(
        Dataset::Evaluation(2025),
        2,
        s.first_hash,
        Some(schedule),
        Records::Evaluation(records_2025()[..2].to_vec()),
    );
    let r = rejected(
        &db,
        &s.config,
        &Parts::of(&draft).sign(&pipeline_key()),
        &s.before,
    );
    assert_bundle_rule(&r, "institution_count_drop");
    draft.count_drop_acknowledged = true;
    helpers::import(&db, &s.config, &Parts::of(&draft).sign(&pipeline_key()))
        .expect("an acknowledged drop imports");
}
backends!(an_unacknowledged_count_drop_is_refused, count_drop);

/// A list bundle after another: a new listing needs no change, as docs/bundle-format.md says.
async fn new_listing(db: TestDb) {
    let s = accepted_first(&db);
    let first_list = Parts::of(&helpers::draft(
        Dataset::DishonestyList,
        2,
        s.first_hash,
        None,
        Records::DishonestyList(vec![helpers::listing(4, "嘉环信〔2025〕1号")]),
    ));
    helpers::import(&db, &s.config, &first_list.sign(&pipeline_key())).expect("list");
    let second_list = Parts::of(&helpers::draft(
        Dataset::DishonestyList,
        3,
        first_list.hash(),
        None,
        Records::DishonestyList(vec![
            helpers::listing(4, "嘉环信〔2025〕1号"),
            helpers::listing(5, "嘉环信〔2025〕2号"),
        ]),
    ));
    let outcome =
        helpers::import(&db, &s.config, &second_list.sign(&pipeline_key())).expect("accepted");
    assert!(
        matches!(outcome, Outcome::Imported { sequence: 3, .. }),
        "{outcome:?}"
    );
}
backends!(a_new_listing_needs_no_change, new_listing);

/// Art. 11(5), whichever comes later: a list naming an institution in force on a published
/// year's publicity date whose result lacks ground 5, and a published year lacking ground 5 for
/// an institution listed in force on its publicity date.
async fn art11_listing(db: TestDb) {
    let s = accepted_first(&db);
    // Listing of institution 1 in force from 2024-03-15: over 2024's publicity (2024-09-27).
    let mut early = helpers::listing(1, "嘉环信〔2024〕1号");
    early.listed_on = date(2024, 3, 1);
    early.in_force_from = Some(date(2024, 3, 15));
    let list = Parts::of(&helpers::draft(
        Dataset::DishonestyList,
        2,
        s.first_hash,
        None,
        Records::DishonestyList(vec![early]),
    ));
    let r = rejected(&db, &s.config, &list.sign(&pipeline_key()), &s.before);
    assert_record_rule(
        &r,
        "art11_listing",
        0,
        &format!("{} 嘉环信〔2024〕1号", code(1)),
    );

    // Institution 4 is listed (accepted: it has no published result), then 2025 is published
    // with its result and no ground 5.
    let list = Parts::of(&helpers::draft(
        Dataset::DishonestyList,
        2,
        s.first_hash,
        None,
        Records::DishonestyList(vec![helpers::listing(4, "嘉环信〔2024〕1号")]),
    ));
    helpers::import(&db, &s.config, &list.sign(&pipeline_key())).expect("list");
    let before = db.dump();
    let mut schedule = helpers::schedule_2025();
    schedule.publication_date = Some(date(2025, 10, 24));
    let mut records = records_2025();
    records.push(record(4, 8200, 8200));
    let year = Parts::of(&helpers::draft(
        Dataset::Evaluation(2025),
        3,
        list.hash(),
        Some(schedule),
        Records::Evaluation(records.clone()),
    ));
    let r = rejected(&db, &s.config, &year.sign(&pipeline_key()), &before);
    assert_record_rule(&r, "art11_listing", 3, &code(4));

    let last = records.len() - 1;
    records[last].art11 = vec![Art11Finding {
        ground: Art11Ground::SeriousDishonestyList,
        description: "被列入严重失信名单（嘉环信〔2024〕1号）".into(),
        determined_on: date(2024, 11, 11),
    }];
    records[last].grade = Grade::E;
    records[last].risk = RiskLevel::High;
    let year = Parts::of(&helpers::draft(
        Dataset::Evaluation(2025),
        3,
        list.hash(),
        Some(schedule),
        Records::Evaluation(records),
    ));
    helpers::import(&db, &s.config, &year.sign(&pipeline_key())).expect("with ground 5");
}
backends!(art11_ground_5_follows_the_list, art11_listing);
