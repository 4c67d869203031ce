//! A proof of one record: its exact bytes, its leaf index, the RFC 6962 audit path, and the
//! signed manifest of the bundle it came from (the bundle's envelope without its records).
//!
//! Anyone holding the pipeline's public key can check it offline, without the registry: the
//! signature over the manifest, the tree size *from the manifest* (never from the proof), the
//! path from the leaf to the manifest's root, and that the record is canonical and of the
//! dataset the manifest names. `docs/verify.md` walks through it step by step.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::envelope::{self, PublicKey};
use super::manifest::{Dataset, Manifest};
use super::merkle::{self, Hash};
use super::records::{canonical_bytes, EvaluationRecord, Listing, Violation};
use super::rejection::{Rejection, Rule};
use super::strict::Object;
use super::VerifiedBundle;
use crate::domain::text::escape;

/// What [`RecordProof::proof_format`] says.
pub const PROOF_FORMAT: &str = "envcredit-record-proof-v1";

/// A proof is small: a record, a manifest and at most 64 hashes. Anything larger is refused
/// before it is parsed.
pub const MAX_PROOF_BYTES: usize = 256 * 1024;

/// A tree of at most 2^64 leaves has an audit path of at most 64 hashes.
const MAX_PATH: usize = 64;

/// The proof of one record, as the API serves it and `envcredit verify-proof` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordProof {
    /// Always `envcredit-record-proof-v1`.
    pub proof_format: String,
    /// The dataset of the bundle (`evaluation-YYYY`, `dishonesty-list`, `violations`); the
    /// signed manifest says it too, and wins.
    pub dataset: String,
    /// The bundle's sequence number (informative: the signed manifest's is the one checked).
    pub sequence: u64,
    /// Zero-based position of the record in the bundle: its Merkle leaf index.
    pub leaf_index: u64,
    /// Number of records in the bundle (informative: the signed manifest's `record_count` is
    /// the one checked).
    pub tree_size: u64,
    /// The record's exact canonical bytes, standard base64.
    pub record: String,
    /// The RFC 9162 audit path from the leaf's sibling up, lowercase hex SHA-256 hashes.
    pub audit_path: Vec<String>,
    /// The bundle's envelope without its records: `payloadType`, `payload` (the manifest's bytes,
    /// base64) and `signatures`, exactly as the pipeline signed them.
    #[schema(value_type = Object)]
    pub signed_manifest: serde_json::Value,
    /// The last bundle of this dataset the registry had accepted when it made the proof: when
    /// it is later than `sequence`, a newer snapshot of the dataset exists and this record may
    /// since have changed. Not signed: a hint to look again.
    pub latest_sequence_of_dataset: u64,
}

/// The record a proof proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvenRecord {
    Evaluation(EvaluationRecord),
    Listing(Listing),
    Violation(Violation),
}

impl ProvenRecord {
    pub fn code(&self) -> &str {
        match self {
            ProvenRecord::Evaluation(r) => &r.code,
            ProvenRecord::Listing(r) => &r.code,
            ProvenRecord::Violation(r) => &r.code,
        }
    }

    /// The decision number of a listing or violation (with the code, its key).
    pub fn decision_number(&self) -> Option<&str> {
        match self {
            ProvenRecord::Evaluation(_) => None,
            ProvenRecord::Listing(r) => Some(&r.decision_number),
            ProvenRecord::Violation(r) => Some(&r.decision_number),
        }
    }
}

/// What the caller means a proof to be of: without it, a valid proof of *another* record
/// (another institution, year or decision) would pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The institution's unified social credit code.
    pub code: Option<&'a str>,
    /// Which record of it.
    pub record: Option<ExpectedRecord<'a>>,
}

/// Which record a proof must be of, besides its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedRecord<'a> {
    /// The result of this evaluation year (dataset `evaluation-YYYY`).
    Evaluation(i32),
    /// The listing with this decision number (dataset `dishonesty-list`).
    Listing(&'a str),
    /// The violation with this decision number (dataset `violations`).
    Violation(&'a str),
}

/// A proof that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The signed manifest (sequence, dataset, record count, root, …).
    pub manifest: Manifest,
    /// Key id of the key that signed it.
    pub key_id: String,
    pub leaf_index: u64,
    pub record: ProvenRecord,
    /// The record's canonical bytes.
    pub record_bytes: Vec<u8>,
    /// Things a reader should know that do not make the proof false (a newer snapshot).
    pub warnings: Vec<String>,
}

impl RecordProof {
    /// The proof of record `index` of a verified bundle.
    pub fn of(
        bundle: &VerifiedBundle,
        index: usize,
        latest_sequence_of_dataset: u64,
    ) -> Option<Self> {
        let record = bundle.record_bytes.get(index)?;
        let path = merkle::inclusion_proof(&bundle.leaves, index)?;
        let signed_manifest = signed_manifest(&bundle.envelope)?;
        Some(RecordProof {
            proof_format: PROOF_FORMAT.to_string(),
            dataset: bundle.manifest.dataset.to_string(),
            sequence: bundle.manifest.sequence,
            leaf_index: index as u64,
            tree_size: bundle.manifest.record_count,
            record: STANDARD.encode(record),
            audit_path: path.iter().map(hex::encode).collect(),
            signed_manifest,
            latest_sequence_of_dataset,
        })
    }
}

/// A bundle's envelope without its records, as JSON: the signed manifest, public for good.
pub fn signed_manifest(bundle_envelope: &[u8]) -> Option<serde_json::Value> {
    let opened = envelope::open(bundle_envelope).ok()?;
    let signed = envelope::Envelope {
        payload_type: opened.payload_type,
        payload: opened.payload,
        key_id: opened.key_id,
        signature: opened.signature,
        records: None,
    };
    serde_json::from_slice(&signed.to_bytes()).ok()
}

/// Reads a proof file: the bare proof, or an API answer holding it (extra members ignored).
pub fn parse(bytes: &[u8]) -> Result<RecordProof, Rejection> {
    if bytes.len() > MAX_PROOF_BYTES {
        return Err(Rejection::new(
            Rule::ProofParse,
            format!(
                "the proof is {} bytes, more than {MAX_PROOF_BYTES}",
                bytes.len()
            ),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Rejection::new(Rule::ProofParse, format!("proof: {e}")))
}

/// Checks a proof with the pipeline's public key, in this order (the first failure wins):
///
/// 1. `proof_format`;
/// 2. the signed manifest: a strict envelope with no records, the manifest payload type, signed
///    by `key` (Ed25519 strict);
/// 3. the manifest parses strictly; the tree size is its `record_count`;
/// 4. the leaf index and the audit path lead from `SHA-256(0x00 ‖ record)` to its `merkle_root`;
/// 5. the record parses as a record of the manifest's dataset and is in canonical form;
/// 6. what the caller expects: `code`, and `year` for an evaluation (see [`verify_expecting`]
///    for a listing or a violation).
///
/// The proof's own `dataset`, `sequence` and `tree_size` are only compared with the manifest's
/// (a mismatch is an error, so that a reader never sees one thing and checks another).
pub fn verify(
    proof: &RecordProof,
    key: &PublicKey,
    code: Option<&str>,
    year: Option<i32>,
) -> Result<VerifiedProof, Rejection> {
    verify_expecting(
        proof,
        key,
        &Expected {
            code,
            record: year.map(ExpectedRecord::Evaluation),
        },
    )
}

/// [`verify`], with what the proof must be of in full: a result of a year, or a listing or a
/// violation by its decision number (step 6: the record's key and its dataset).
pub fn verify_expecting(
    proof: &RecordProof,
    key: &PublicKey,
    expected: &Expected<'_>,
) -> Result<VerifiedProof, Rejection> {
    if proof.proof_format != PROOF_FORMAT {
        return Err(Rejection::new(
            Rule::ProofFormat,
            format!("proof_format is not {PROOF_FORMAT}"),
        ));
    }
    let envelope_bytes = serde_json::to_vec(&proof.signed_manifest)
        .map_err(|e| Rejection::new(Rule::ManifestEnvelope, e.to_string()))?;
    let opened = envelope::open(&envelope_bytes)
        .map_err(|e| Rejection::new(Rule::ManifestEnvelope, format!("signed_manifest: {e}")))?;
    if opened.records.is_some() {
        return Err(Rejection::new(
            Rule::ManifestEnvelope,
            "signed_manifest carries records: a proof holds the manifest alone",
        ));
    }
    envelope::check_payload_type(&opened)
        .map_err(|e| Rejection::new(Rule::ManifestEnvelope, e.to_string()))?;
    envelope::verify_signature(key, &opened)
        .map_err(|e| Rejection::new(e.rule(), format!("signed_manifest: {e}")))?;
    let Object(manifest): Object<Manifest> = serde_json::from_slice(&opened.payload)
        .map_err(|e| Rejection::new(Rule::PayloadParse, format!("manifest: {e}")))?;

    if proof.dataset != manifest.dataset.to_string()
        || proof.sequence != manifest.sequence
        || proof.tree_size != manifest.record_count
    {
        return Err(Rejection::new(
            Rule::ProofMismatch,
            format!(
                "the proof says {} sequence {} with {} records; the signed manifest says {} sequence {} with {}",
                escape(&proof.dataset),
                proof.sequence,
                proof.tree_size,
                manifest.dataset,
                manifest.sequence,
                manifest.record_count
            ),
        ));
    }
    if proof.audit_path.len() > MAX_PATH {
        return Err(Rejection::new(
            Rule::Inclusion,
            format!(
                "audit path of {} hashes: at most {MAX_PATH}",
                proof.audit_path.len()
            ),
        ));
    }
    let path = proof
        .audit_path
        .iter()
        .map(|h| decode_hash(h))
        .collect::<Option<Vec<Hash>>>()
        .ok_or_else(|| {
            Rejection::new(
                Rule::Inclusion,
                "audit_path holds a value that is not 64 lowercase hex",
            )
        })?;
    let record_bytes = STANDARD
        .decode(&proof.record)
        .map_err(|_| Rejection::new(Rule::RecordParse, "record is not standard base64"))?;
    merkle::verify_inclusion(
        &merkle::leaf_hash(&record_bytes),
        proof.leaf_index,
        manifest.record_count,
        &path,
        &manifest.merkle_root,
    )
    .map_err(|e| Rejection::new(Rule::Inclusion, e.to_string()))?;

    let record = parse_record(manifest.dataset, &record_bytes)?;
    check_expected(&record, manifest.dataset, expected)?;
    let mut warnings = Vec::new();
    if proof.latest_sequence_of_dataset > manifest.sequence {
        warnings.push(format!(
            "a newer bundle of {} exists (sequence {}): this record may have changed since; ask for a new proof",
            manifest.dataset, proof.latest_sequence_of_dataset
        ));
    }
    Ok(VerifiedProof {
        manifest,
        key_id: opened.key_id,
        leaf_index: proof.leaf_index,
        record,
        record_bytes,
        warnings,
    })
}

/// The latest sequence of `dataset` in a chain of signed manifests (the answer of
/// `/api/v1/bundles`, or a list of signed manifests), counting only manifests whose signature
/// `key` verifies: the warning then rests on what the pipeline signed, not on the server's word.
/// Returns the latest sequence and how many manifests were left out (another key).
pub fn latest_in_chain(
    chain: &[u8],
    key: &PublicKey,
    dataset: Dataset,
) -> Result<(u64, usize), Rejection> {
    let value: serde_json::Value = serde_json::from_slice(chain)
        .map_err(|e| Rejection::new(Rule::ChainParse, format!("chain: {e}")))?;
    let entries = value
        .get("bundles")
        .unwrap_or(&value)
        .as_array()
        .ok_or_else(|| Rejection::new(Rule::ChainParse, "chain: not a list of bundles"))?;
    let mut latest = 0;
    let mut other_keys = 0;
    for entry in entries {
        let signed = entry.get("signed_manifest").unwrap_or(entry);
        let bytes = serde_json::to_vec(signed)
            .map_err(|e| Rejection::new(Rule::ChainParse, e.to_string()))?;
        let opened = envelope::open(&bytes)
            .map_err(|e| Rejection::new(Rule::ChainParse, format!("chain: {e}")))?;
        if !opened.is_signed_by(key) {
            other_keys += 1;
            continue;
        }
        envelope::verify_signature(key, &opened)
            .map_err(|e| Rejection::new(e.rule(), format!("chain: {e}")))?;
        let Object(manifest): Object<Manifest> = serde_json::from_slice(&opened.payload)
            .map_err(|e| Rejection::new(Rule::ChainParse, format!("chain manifest: {e}")))?;
        if manifest.dataset == dataset {
            latest = latest.max(manifest.sequence);
        }
    }
    Ok((latest, other_keys))
}

/// Step 6: the record is the one the caller means. Text from the proof is escaped: the
/// message is printed to a person.
fn check_expected(
    record: &ProvenRecord,
    dataset: Dataset,
    expected: &Expected<'_>,
) -> Result<(), Rejection> {
    let mismatch = |message: String| Err(Rejection::new(Rule::RecordMismatch, message));
    if let Some(code) = expected.code {
        if record.code() != code {
            return mismatch(format!(
                "the proof is of {}, not of {}",
                escape(record.code()),
                escape(code)
            ));
        }
    }
    let (wanted, decision) = match expected.record {
        None => return Ok(()),
        Some(ExpectedRecord::Evaluation(year)) => (Dataset::Evaluation(year), None),
        Some(ExpectedRecord::Listing(decision)) => (Dataset::DishonestyList, Some(decision)),
        Some(ExpectedRecord::Violation(decision)) => (Dataset::Violations, Some(decision)),
    };
    if dataset != wanted {
        return mismatch(format!("the proof is of {dataset}, not of {wanted}"));
    }
    match (decision, record.decision_number()) {
        (Some(decision), Some(proven)) if proven != decision => mismatch(format!(
            "the proof is of decision {}, not of {}",
            escape(proven),
            escape(decision)
        )),
        _ => Ok(()),
    }
}

fn decode_hash(text: &str) -> Option<Hash> {
    if text.len() != 64
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    hex::decode(text).ok()?.try_into().ok()
}

/// The record, strictly parsed as a record of `dataset`, and in canonical form.
fn parse_record(dataset: Dataset, bytes: &[u8]) -> Result<ProvenRecord, Rejection> {
    fn strict<T: serde::de::DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, Rejection> {
        let Object(record): Object<T> = serde_json::from_slice(bytes)
            .map_err(|e| Rejection::new(Rule::RecordParse, format!("record: {e}")))?;
        let canonical = canonical_bytes(&record)
            .map_err(|e| Rejection::new(Rule::RecordParse, format!("record: {e}")))?;
        if canonical != bytes {
            return Err(Rejection::new(
                Rule::RecordCanonical,
                "the record is not in canonical form",
            ));
        }
        Ok(record)
    }
    Ok(match dataset {
        Dataset::Evaluation(_) => ProvenRecord::Evaluation(strict(bytes)?),
        Dataset::DishonestyList => ProvenRecord::Listing(strict(bytes)?),
        Dataset::Violations => ProvenRecord::Violation(strict(bytes)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_64_lowercase_hex() {
        assert!(decode_hash(&"ab".repeat(32)).is_some());
        assert!(decode_hash(&"AB".repeat(32)).is_none());
        assert!(decode_hash(&"ab".repeat(31)).is_none());
        assert!(decode_hash(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn oversized_or_malformed_files_are_refused_before_anything_else() {
        let big = vec![b' '; MAX_PROOF_BYTES + 1];
        assert_eq!(parse(&big).map_err(|e| e.rule), Err("proof_parse"));
        assert_eq!(parse(b"[1,2]").map_err(|e| e.rule), Err("proof_parse"));
    }
}
