//! The pipeline's side: plain records in, a signed bundle out.
//!
//! Used by `envcredit sign` and `envcredit demo`, and by the tests to make bundles (also bad ones,
//! validly signed, through [`manifest_bytes`], [`records_bytes`] and [`envelope::sign_bundle`]).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::envelope::{self, SigningKey};
use super::manifest::{Dataset, EvaluationSchedule, Manifest, FORMAT_VERSION, HASH_ALGORITHM};
use super::merkle::{self, Hash};
use super::records::{canonical_bytes, EvaluationRecord, Listing, Records, Violation};

/// What `envcredit sign` reads: a dataset's plain records (any order, any JSON layout).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInput {
    pub dataset: Dataset,
    #[serde(default)]
    pub evaluation: Option<EvaluationSchedule>,
    /// See [`Draft::count_drop_acknowledged`].
    #[serde(default)]
    pub count_drop_acknowledged: bool,
    pub records: Vec<serde_json::Value>,
}

impl SignInput {
    /// Parses the records strictly as the dataset's record type.
    pub fn records(&self) -> Result<Records, String> {
        fn typed<T: serde::de::DeserializeOwned>(
            values: &[serde_json::Value],
        ) -> Result<Vec<T>, String> {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| T::deserialize(v).map_err(|e| format!("record {i}: {e}")))
                .collect()
        }
        Ok(match self.dataset {
            Dataset::Evaluation(_) => {
                Records::Evaluation(typed::<EvaluationRecord>(&self.records)?)
            }
            Dataset::DishonestyList => Records::DishonestyList(typed::<Listing>(&self.records)?),
            Dataset::Violations => Records::Violations(typed::<Violation>(&self.records)?),
        })
    }
}

/// Everything a bundle says, before its records are hashed and signed.
#[derive(Debug, Clone)]
pub struct Draft {
    pub dataset: Dataset,
    pub sequence: u64,
    pub previous_hash: Hash,
    pub created_at: DateTime<FixedOffset>,
    pub evaluation: Option<EvaluationSchedule>,
    /// `count_drop_acknowledged` of an evaluation year's manifest (written only when true).
    pub count_drop_acknowledged: bool,
    pub records: Records,
}

/// Sorts the records by key and returns their canonical bytes.
pub fn canonical_records(records: &Records) -> Result<Vec<Vec<u8>>, serde_json::Error> {
    fn sorted<T: Serialize>(
        items: &[T],
        key: impl Fn(&T) -> (String, String),
    ) -> Result<Vec<Vec<u8>>, serde_json::Error> {
        let mut refs: Vec<&T> = items.iter().collect();
        refs.sort_by_key(|r| key(r));
        refs.into_iter().map(canonical_bytes).collect()
    }
    match records {
        Records::Evaluation(r) => sorted(r, |r| (r.code.clone(), String::new())),
        Records::DishonestyList(r) => sorted(r, |r| (r.code.clone(), r.decision_number.clone())),
        Records::Violations(r) => sorted(r, |r| (r.code.clone(), r.decision_number.clone())),
    }
}

/// The manifest for these record bytes (count and Merkle root computed).
pub fn manifest_for(draft: &Draft, record_bytes: &[Vec<u8>]) -> Manifest {
    let leaves: Vec<Hash> = record_bytes.iter().map(|r| merkle::leaf_hash(r)).collect();
    Manifest {
        format_version: FORMAT_VERSION,
        dataset: draft.dataset,
        sequence: draft.sequence,
        previous_hash: draft.previous_hash,
        created_at: draft.created_at,
        record_count: record_bytes.len() as u64,
        hash_algorithm: HASH_ALGORITHM.to_string(),
        merkle_root: merkle::root(&leaves),
        evaluation: draft.evaluation,
        count_drop_acknowledged: draft.count_drop_acknowledged.then_some(true),
    }
}

/// The manifest's bytes: the signed payload. Compact JSON, members in the documented order.
pub fn manifest_bytes(manifest: &Manifest) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(manifest)
}

/// The records' bytes: `[RECORD,RECORD,…]` with each record's canonical bytes placed verbatim.
pub fn records_bytes<R: AsRef<[u8]>>(record_bytes: &[R]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        2 + record_bytes
            .iter()
            .map(|r| r.as_ref().len() + 1)
            .sum::<usize>(),
    );
    out.push(b'[');
    for (i, record) in record_bytes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(record.as_ref());
    }
    out.push(b']');
    out
}

/// A signed bundle of the draft: records sorted and canonical, count and root computed.
/// Returns the bundle file's bytes and the payload (manifest) hash: the next bundle's previous
/// hash.
pub fn sign_draft(key: &SigningKey, draft: &Draft) -> Result<(Vec<u8>, Hash), serde_json::Error> {
    let record_bytes = canonical_records(&draft.records)?;
    let manifest = manifest_for(draft, &record_bytes);
    let payload = manifest_bytes(&manifest)?;
    let hash = payload_hash(&payload);
    let envelope = envelope::sign_bundle(key, &payload, &records_bytes(&record_bytes));
    Ok((envelope.to_bytes(), hash))
}

/// SHA-256 of payload bytes (the manifest): a bundle's identity in the chain.
pub fn payload_hash(payload: &[u8]) -> Hash {
    use sha2::{Digest, Sha256};
    Sha256::digest(payload).into()
}
