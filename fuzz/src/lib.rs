//! Shared by the fuzz targets: the trusted keys, and the properties every verdict of the verifier
//! must have, whatever the input.
//!
//! A fuzz target fails (and libFuzzer keeps the input under `fuzz/artifacts/<target>/`) when the
//! code under test panics, overflows, recurses without bound, or breaks one of these assertions.

use std::sync::OnceLock;

use envcredit::bundle::envelope::{self, SigningKey};
use envcredit::bundle::manifest::Dataset;
use envcredit::bundle::proof::{self, RecordProof};
use envcredit::bundle::sign::payload_hash;
use envcredit::bundle::{merkle, verify, Limits, Rejection, TrustedKey, Verified, VerifiedBundle};
use envcredit::domain::code::CreditCode;

/// The demo key (public on purpose): the shipped demo bundles, and so the seeds, are signed
/// with it. Trusted from sequence 1, never revoked.
pub fn demo_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(envcredit::config::demo_signing_key)
}

/// A second key, made from a fixed seed, trusted only for sequences 1 to [`RETIRED_UNTIL`]: a
/// rotated-out key, so that the trusted range of a key is checked too.
pub fn retired_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_seed(&[0x5a; 32]))
}

/// Last sequence number [`retired_key`] may sign.
pub const RETIRED_UNTIL: u64 = 4;

/// The registry's trusted keys in these targets.
pub fn trusted() -> &'static [TrustedKey] {
    static KEYS: OnceLock<Vec<TrustedKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            TrustedKey {
                name: "demo".to_string(),
                key: demo_key().public_key(),
                from_seq: 1,
                until_seq: None,
            },
            TrustedKey {
                name: "retired".to_string(),
                key: retired_key().public_key(),
                from_seq: 1,
                until_seq: Some(RETIRED_UNTIL),
            },
        ]
    })
}

/// Rules decided before the signature is checked: their messages describe unauthenticated
/// input. The envelope echoes at most 80 characters of any value it found ("so hostile input
/// cannot flood logs"); with the fixed text around it a message stays far below this.
const UNAUTHENTICATED_RULES: &[&str] = &[
    "size_limit",
    "envelope_not_json",
    "envelope_malformed",
    "envelope_unknown_field",
    "envelope_base64",
    "signature_count",
    "signature_length",
    "signature_keyid_format",
    "envelope_layout",
    "payload_type",
    "key_unknown",
    "signature_key_mismatch",
    "signature_invalid",
];

/// Longest message accepted for a rejection of unauthenticated input, in characters.
pub const MAX_UNAUTHENTICATED_MESSAGE: usize = 600;

/// Whether a rejection was decided before the signature was checked.
pub fn before_signature(rejection: &Rejection) -> bool {
    UNAUTHENTICATED_RULES.contains(&rejection.rule) && rejection.record.is_none()
}

/// A rejection names a stable snake_case rule and prints; one about unauthenticated input does
/// not echo it at length.
pub fn check_rejection(rejection: &Rejection) {
    assert!(
        !rejection.rule.is_empty()
            && rejection
                .rule
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "rule {:?} is not snake_case",
        rejection.rule
    );
    let shown = rejection.to_string();
    assert!(shown.contains(rejection.rule), "{shown}");
    if before_signature(rejection) {
        let length = rejection.message.chars().count();
        assert!(
            length <= MAX_UNAUTHENTICATED_MESSAGE,
            "a [{}] rejection of unsigned input echoes it: {length} characters",
            rejection.rule
        );
    }
}

/// What an accepted bundle must satisfy: it is the input, its records are the leaves of the
/// signed root, sorted by key with valid codes; the read model's re-verification at start accepts
/// it identically; and the proof the API would serve for a record verifies for that record.
pub fn check_accepted(input: &[u8], bundle: &VerifiedBundle) {
    assert_eq!(bundle.envelope, input, "the bundle kept is not the input");
    let opened = envelope::open(input).unwrap_or_else(|e| panic!("accepted, yet {e}"));
    assert_eq!(bundle.payload_hash, payload_hash(&opened.payload));
    assert_eq!(bundle.key_id, opened.key_id);

    let n = bundle.records.len();
    assert_eq!(n as u64, bundle.manifest.record_count);
    assert_eq!(bundle.record_bytes.len(), n);
    assert_eq!(bundle.leaves.len(), n);
    for (bytes, leaf) in bundle.record_bytes.iter().zip(&bundle.leaves) {
        assert_eq!(merkle::leaf_hash(bytes), *leaf);
    }
    assert_eq!(merkle::root(&bundle.leaves), bundle.manifest.merkle_root);
    match (
        bundle.manifest.dataset,
        bundle.manifest.evaluation.is_some(),
    ) {
        (Dataset::Evaluation(_), true) | (Dataset::DishonestyList | Dataset::Violations, false) => {
        }
        (dataset, schedule) => panic!("{dataset} accepted with schedule present = {schedule}"),
    }
    let mut previous = None;
    for index in 0..n {
        let key = bundle.records.key(index).expect("a key for every record");
        assert!(
            CreditCode::parse(&key.code).is_ok(),
            "accepted code {:?}",
            key.code
        );
        if let Some(previous) = previous {
            assert!(previous < key, "keys out of order: {previous} then {key}");
        }
        previous = Some(key);
    }

    // The read model re-verifies every stored bundle at start, standalone and without limits.
    match verify(&bundle.envelope, trusted(), None, &Limits::STORED) {
        Ok(Verified::New(again)) => {
            assert_eq!(again.payload_hash, bundle.payload_hash);
            assert_eq!(again.record_bytes, bundle.record_bytes);
            assert_eq!(again.records, bundle.records);
        }
        other => panic!("an accepted bundle fails re-verification: {other:?}"),
    }

    // A record's proof, as served and as `envcredit verify-proof` reads it, verifies.
    let signer = trusted()
        .iter()
        .find(|k| k.key.key_id() == bundle.key_id)
        .expect("the signer is trusted");
    let mut indexes = vec![0, n / 2, n.saturating_sub(1)];
    indexes.dedup();
    for index in indexes.into_iter().filter(|&i| i < n) {
        let served = RecordProof::of(bundle, index, bundle.manifest.sequence)
            .unwrap_or_else(|| panic!("no proof of accepted record {index}"));
        let json = serde_json::to_vec(&served).expect("a proof serializes");
        let parsed = proof::parse(&json).unwrap_or_else(|e| panic!("served proof: {e}"));
        let code = bundle
            .records
            .key(index)
            .map(|k| k.code)
            .unwrap_or_default();
        let verified = proof::verify(
            &parsed,
            &signer.key,
            Some(&code),
            bundle.manifest.dataset.year(),
        )
        .unwrap_or_else(|e| panic!("the proof of accepted record {index} fails: {e}"));
        assert_eq!(verified.record_bytes, bundle.record_bytes[index]);
        assert_eq!(verified.leaf_index, index as u64);
        assert_eq!(verified.manifest, bundle.manifest);
        assert!(verified.warnings.is_empty(), "{:?}", verified.warnings);
    }
}

/// With `ENVCREDIT_FUZZ_SHOW=1` in the environment, the targets print each verdict to stderr:
/// for reading what the code under test says about one input (a seed, a crash).
pub fn show(what: &str, verdict: &dyn std::fmt::Debug) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("ENVCREDIT_FUZZ_SHOW").is_some_and(|v| v == "1")) {
        let text = format!("{verdict:?}");
        eprintln!("{what}: {}", envcredit::bundle::strict::clip(&text, 300));
    }
}

/// Checks one verdict of [`verify`] on `input`.
pub fn check_verdict(input: &[u8], verdict: &Result<Verified, Rejection>) {
    show(
        "verdict",
        &verdict.as_ref().map(|v| match v {
            Verified::New(b) => format!(
                "new: sequence {}, {}, {} records",
                b.manifest.sequence,
                b.manifest.dataset,
                b.records.len()
            ),
            Verified::AlreadyAccepted { sequence } => format!("already accepted: {sequence}"),
        }),
    );
    match verdict {
        Ok(Verified::New(bundle)) => check_accepted(input, bundle),
        Ok(Verified::AlreadyAccepted { sequence }) => assert!(*sequence >= 1),
        Err(rejection) => check_rejection(rejection),
    }
}
