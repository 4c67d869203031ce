//! Signed lookup receipts: what the registry answered to a procurement or joint-punishment
//! question, signed with the registry's own Ed25519 key (never a pipeline key), so that a
//! platform can archive it as evidence of what the registry said for a bid.
//!
//! A receipt is an envelope in the bundles' style (`docs/receipts.md` specifies it byte by byte):
//!
//! ```json
//! {"payloadType":"application/vnd.envcredit.receipt+json; version=1","payload":"<base64>","signatures":[{"keyid":"<64 hex>","sig":"<base64>"}]}
//! ```
//!
//! The signature covers [`pae`]`(payloadType, payload)` under its own context string
//! ([`PAE_CONTEXT`]), so a receipt signature can never pass as a bundle signature or the other
//! way round. The payload is a [`Receipt`] as canonical JSON: UTF-8, no whitespace, object keys
//! sorted by their bytes at every depth. [`verify`] is the one check, used by
//! `envcredit verify-receipt` and the tests.
//!
//! Reading, signing and verifying the envelope is the bundles' one implementation
//! ([`crate::bundle::envelope::Kind`]): a receipt is that envelope of [`KIND`], without records.
//! What is the receipt's own is its payload and the answer around it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, Offset as _, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::bundle::envelope::{self, EnvelopeError, Kind, PublicKey, SigningKey};
use crate::bundle::strict::{clip, Object};
use crate::domain::time::SHANGHAI_OFFSET_SECONDS;

/// The payload type of a receipt envelope.
pub const PAYLOAD_TYPE: &str = "application/vnd.envcredit.receipt+json; version=1";

/// Context string that starts every signed receipt message.
pub const PAE_CONTEXT: &str = "ENVCREDIT-RECEIPT-v1";

/// A receipt, as the one envelope implementation reads and signs it.
pub const KIND: Kind = Kind {
    payload_type: PAYLOAD_TYPE,
    context: PAE_CONTEXT,
};

/// The version of the payload format this registry signs ([`Receipt::receipt_version`]):
/// version 2 added `head`.
pub const RECEIPT_VERSION: u32 = 2;

/// The payload versions [`verify`] reads: a receipt archived before a new version keeps
/// verifying.
pub const READABLE_VERSIONS: [u32; 2] = [1, 2];

/// What a receipt signed with the demo receipt key says about itself.
pub const DEMO_NOTICE: &str =
    "DEMO RECEIPT — DEMO DATA, signed with the public demo receipt key; it proves nothing";

/// Longest found value echoed back in an error message.
const MAX_ECHO: usize = 80;

/// Pre-authentication encoding of the signed message:
/// `"ENVCREDIT-RECEIPT-v1" SP LEN(type) SP type SP LEN(payload) SP payload`, with LEN the byte
/// length in ASCII decimal and SP one 0x20 byte (the bundles' encoding, another context string).
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    KIND.pae(payload_type, payload)
}

/// The registry's receipt signing key. Its `Debug` output shows only the key id.
pub struct ReceiptKey {
    key: SigningKey,
    public: PublicKey,
    demo: bool,
}

impl ReceiptKey {
    /// The key for a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32], demo: bool) -> ReceiptKey {
        let key = SigningKey::from_seed(seed);
        let public = key.public_key();
        ReceiptKey { key, public, demo }
    }

    /// Reads standard base64 (with padding) of the 32-byte seed, as `envcredit keygen` writes it;
    /// whitespace around it is ignored.
    pub fn from_seed_base64(text: &str) -> Result<ReceiptKey, String> {
        let key = SigningKey::from_seed_base64(text).map_err(|e| format!("not a key: {e}"))?;
        let public = key.public_key();
        Ok(ReceiptKey {
            key,
            public,
            demo: false,
        })
    }

    /// The demo receipt key. Its secret is public by design (derived from a fixed string, and
    /// differently from the pipeline's demo key): it signs only in demo mode, and every receipt
    /// it signs says DEMO.
    pub fn demo() -> ReceiptKey {
        let seed: [u8; 32] = Sha256::digest(
            b"envcredit demo receipt key v1: public on purpose, signs only DEMO receipts",
        )
        .into();
        ReceiptKey::from_seed(&seed, true)
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Whether this is the public demo receipt key.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// Signs the receipt's canonical bytes.
    pub fn sign(&self, receipt: &Receipt) -> Result<Envelope, serde_json::Error> {
        Ok(Envelope::from(
            &KIND.sign(&self.key, &canonical_bytes(receipt)?),
        ))
    }
}

impl std::fmt::Debug for ReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptKey")
            .field("key_id", &self.public.key_id())
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

/// A signed receipt: `payload` is standard base64 of the receipt's canonical JSON bytes; the
/// one signature is Ed25519 by the registry's receipt key (published at
/// `/.well-known/envcredit-receipt-key.json`) over
/// `"ENVCREDIT-RECEIPT-v1" SP LEN(payloadType) SP payloadType SP LEN(payload) SP payload`
/// (LEN in ASCII decimal, SP one space, payload the decoded bytes). The payload, with keys
/// sorted: `answers` (exactly the items of the answer around it), `as_of` (the date answered
/// for; a batch's default date, each answer carries its own), `data` (`sequence` and `hash` of
/// the data revision answered from; null while the registry holds no data), `demo`, `head` (the
/// registry's newest revision when it signed: not `data` when an older revision was asked for),
/// `issued_at` (RFC 3339), `notice` (set on demo receipts), `question` (`endpoint`, `as_of`,
/// `revision` and `items` as asked: `code` and `as_of` each) and `receipt_version` (2).
/// See docs/receipts.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReceiptEnvelope)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    #[schema(example = "application/vnd.envcredit.receipt+json; version=1")]
    pub payload_type: String,
    /// Standard base64 (with padding) of the receipt's canonical JSON bytes.
    pub payload: String,
    /// Exactly one signature.
    pub signatures: Vec<EnvelopeSignature>,
}

impl From<&envelope::Envelope> for Envelope {
    fn from(signed: &envelope::Envelope) -> Envelope {
        Envelope {
            payload_type: signed.payload_type.clone(),
            payload: STANDARD.encode(&signed.payload),
            signatures: vec![EnvelopeSignature {
                keyid: signed.key_id.clone(),
                sig: STANDARD.encode(signed.signature.to_bytes()),
            }],
        }
    }
}

/// The signature of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReceiptSignature)]
pub struct EnvelopeSignature {
    /// Lowercase hex SHA-256 of the raw 32-byte public key of the registry's receipt key.
    pub keyid: String,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// What a receipt says. Fields are declared in the order of their sorted keys; the signed bytes
/// sort every object's keys anyway ([`canonical_bytes`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Exactly the items of the JSON answer (for one code, the answer without `data`).
    pub answers: Vec<Value>,
    /// The date answered for (a batch's default; each answer carries its own).
    pub as_of: NaiveDate,
    /// The data revision answered from; null while the registry holds no data.
    pub data: Option<DataRevision>,
    /// Signed with the public demo receipt key over demo data.
    pub demo: bool,
    /// The registry's newest data revision when it signed the receipt (version 2; null while it
    /// held no data). When it is not `data`, the answer is from an older revision than the one
    /// the registry served at that moment. Absent from version 1 receipts (read as null).
    #[serde(default)]
    pub head: Option<DataRevision>,
    /// When the registry signed it (RFC 3339, Asia/Shanghai offset, whole seconds).
    pub issued_at: String,
    /// [`DEMO_NOTICE`] on demo receipts, else null.
    pub notice: Option<String>,
    pub question: Question,
    pub receipt_version: u32,
}

/// The data revision an answer came from: its bundle's sequence number and payload hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRevision {
    /// Hex SHA-256 of that bundle's signed payload.
    pub hash: String,
    pub sequence: u64,
}

/// The question as asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The date asked for (null: today, which `as_of` of the receipt names).
    pub as_of: Option<NaiveDate>,
    /// Method and path template, e.g. `POST /api/v1/flags/batch`.
    pub endpoint: String,
    /// The codes as given, each with the date asked for it (null: the question's).
    pub items: Vec<QuestionItem>,
    /// The data revision asked for (null: the current one, which `data` names).
    pub revision: Option<u64>,
}

/// One code of a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionItem {
    pub as_of: Option<NaiveDate>,
    pub code: String,
}

/// An instant as a receipt writes it: RFC 3339 at the Asia/Shanghai offset, whole seconds.
pub fn issued_at(now: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(SHANGHAI_OFFSET_SECONDS).unwrap_or_else(|| Utc.fix());
    now.with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The bytes a receipt signs: compact JSON, object keys sorted by their bytes at every depth.
pub fn canonical_bytes(receipt: &Receipt) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&sorted(serde_json::to_value(receipt)?))
}

/// The same value with every object's keys in byte order, whatever map type serde_json uses.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Why a receipt was refused. [`ReceiptError::rule`] gives a stable id for each case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not a single, complete JSON value.
    #[error("not valid JSON: {0}")]
    NotJson(String),
    /// Neither a receipt envelope nor an answer with a `receipt` member.
    #[error("receipt envelope is malformed: {0}")]
    Malformed(String),
    /// The envelope fails a rule of the one envelope implementation (shape, payload type,
    /// base64, signature count and length, key id, signature).
    #[error("{0}")]
    Envelope(EnvelopeError),
    /// Signed, but the payload is not a receipt of a version this verifier reads.
    #[error("signed payload is not a receipt this verifier reads: {0}")]
    Payload(String),
    /// The answer around the receipt is not what the receipt signed.
    #[error("the answer around the receipt differs from the signed answers: {0}")]
    AnswerMismatch(String),
}

impl ReceiptError {
    /// A stable snake_case id of the failed rule: an envelope's rules have the bundles' ids
    /// (docs/bundle-format.md), the others are the receipt's own.
    pub fn rule(&self) -> &'static str {
        match self {
            ReceiptError::NotJson(_) => "receipt_not_json",
            ReceiptError::Malformed(_) => "receipt_malformed",
            ReceiptError::Envelope(e) => e.rule().id(),
            ReceiptError::Payload(_) => "receipt_payload",
            ReceiptError::AnswerMismatch(_) => "answer_mismatch",
        }
    }
}

impl From<EnvelopeError> for ReceiptError {
    fn from(e: EnvelopeError) -> ReceiptError {
        ReceiptError::Envelope(e)
    }
}

/// A receipt whose signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub receipt: Receipt,
    /// The key id of the key it verified with.
    pub key_id: String,
    /// The exact signed payload bytes.
    pub payload: Vec<u8>,
}

/// Verifies a receipt with `key`: `bytes` is a bare receipt envelope or a JSON answer holding
/// one as its `receipt` member. Checks, in order: the envelope by the bundles' one
/// implementation ([`envelope::open`]: exactly its fields, canonical base64, one signature of 64
/// bytes, a well-formed key id; no `records`), the payload type, that the key id names `key`,
/// the Ed25519 signature (strict verification) over [`pae`], the payload (a [`Receipt`] of a
/// version in [`READABLE_VERSIONS`], unknown fields refused) and, for an answer, that its items
/// are exactly the signed answers.
pub fn verify(bytes: &[u8], key: &PublicKey) -> Result<Verified, ReceiptError> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|e| ReceiptError::NotJson(e.to_string()))?;
    let (envelope_bytes, answer) = match document.get("receipt") {
        Some(receipt) => (
            std::borrow::Cow::Owned(
                serde_json::to_vec(receipt).map_err(|e| ReceiptError::NotJson(e.to_string()))?,
            ),
            Some(&document),
        ),
        None if document.is_object() => (std::borrow::Cow::Borrowed(bytes), None),
        None => {
            return Err(ReceiptError::Malformed(
                "not a receipt envelope, nor an answer with a `receipt`".into(),
            ))
        }
    };
    let opened = envelope::open(&envelope_bytes)?;
    if opened.records.is_some() {
        return Err(ReceiptError::Malformed(
            "a receipt envelope has no `records`".into(),
        ));
    }
    KIND.check_payload_type(&opened)?;
    KIND.verify_signature(key, &opened)?;
    let receipt = payload(&opened.payload)?;
    if let Some(answer) = answer {
        check_answer(answer, &receipt.answers)?;
    }
    Ok(Verified {
        receipt,
        key_id: opened.key_id,
        payload: opened.payload,
    })
}

/// The signed payload as a [`Receipt`]: a version this verifier reads, with exactly that
/// version's members.
fn payload(bytes: &[u8]) -> Result<Receipt, ReceiptError> {
    let bad = |e: String| ReceiptError::Payload(e);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let version = value.get("receipt_version").and_then(Value::as_u64);
    let has_head = value.get("head").is_some();
    match version {
        Some(1) if has_head => return Err(bad("a version 1 receipt has no `head`".into())),
        Some(1) => {}
        Some(2) if !has_head => return Err(bad("missing field `head`".into())),
        Some(2) => {}
        _ => {
            return Err(bad(format!(
                "receipt_version is {}, this verifier reads {READABLE_VERSIONS:?}",
                clip(
                    &value
                        .get("receipt_version")
                        .map_or("missing".to_string(), Value::to_string),
                    MAX_ECHO
                )
            )))
        }
    }
    let Object(receipt) =
        serde_json::from_value::<Object<Receipt>>(value).map_err(|e| bad(e.to_string()))?;
    if DateTime::parse_from_rfc3339(&receipt.issued_at).is_err() {
        return Err(bad(format!(
            "issued_at {:?} is not an RFC 3339 time",
            clip(&receipt.issued_at, MAX_ECHO)
        )));
    }
    Ok(receipt)
}

/// The items an answer carries: its `items`, or for one code the answer itself without `data`
/// and `receipt`.
pub fn answer_items(answer: &Value) -> Vec<Value> {
    match answer.get("items").and_then(Value::as_array) {
        Some(items) => items.clone(),
        None => {
            let mut single = answer.clone();
            if let Some(map) = single.as_object_mut() {
                map.remove("data");
                map.remove("receipt");
            }
            vec![single]
        }
    }
}

fn check_answer(answer: &Value, signed: &[Value]) -> Result<(), ReceiptError> {
    let items = answer_items(answer);
    if items.len() != signed.len() {
        return Err(ReceiptError::AnswerMismatch(format!(
            "the answer has {} items, the receipt {}",
            items.len(),
            signed.len()
        )));
    }
    match items.iter().zip(signed).position(|(a, s)| a != s) {
        Some(index) => Err(ReceiptError::AnswerMismatch(format!("item {index}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn key() -> ReceiptKey {
        ReceiptKey::from_seed(&[5; 32], false)
    }

    fn receipt() -> Receipt {
        Receipt {
            answers: vec![
                json!({"code": "91330402MA0000001U", "status": "found", "bid_flag": "bonus",
                "valid_grade": {"year": 2024, "grade": {"letter": "A"}}}),
            ],
            as_of: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            data: Some(DataRevision {
                hash: "ab".repeat(32),
                sequence: 6,
            }),
            demo: false,
            head: Some(DataRevision {
                hash: "cd".repeat(32),
                sequence: 7,
            }),
            issued_at: "2025-10-01T12:00:00+08:00".into(),
            notice: None,
            question: Question {
                as_of: None,
                endpoint: "GET /api/v1/flags/{code}".into(),
                items: vec![QuestionItem {
                    as_of: None,
                    code: "91330402ma0000001u".into(),
                }],
                revision: None,
            },
            receipt_version: RECEIPT_VERSION,
        }
    }

    fn signed() -> Vec<u8> {
        serde_json::to_vec(&key().sign(&receipt()).unwrap()).unwrap()
    }

    /// Re-signs nothing: decodes the payload, edits it, re-encodes it under the old signature.
    fn edit_payload(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut envelope: Value = serde_json::from_slice(bytes).unwrap();
        let payload = STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap();
        let mut value: Value = serde_json::from_slice(&payload).unwrap();
        edit(&mut value);
        envelope["payload"] = json!(STANDARD.encode(serde_json::to_vec(&value).unwrap()));
        serde_json::to_vec(&envelope).unwrap()
    }

    #[test]
    fn round_trip() {
        let verified = verify(&signed(), key().public_key()).unwrap();
        assert_eq!(verified.receipt, receipt());
        assert_eq!(verified.key_id, key().public_key().key_id());
        assert_eq!(verified.payload, canonical_bytes(&receipt()).unwrap());
    }

    #[test]
    fn payload_is_canonical_with_sorted_keys() {
        let bytes = canonical_bytes(&receipt()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with(r#"{"answers":[{"bid_flag":"bonus","code":"#),
            "{text}"
        );
        assert!(text.contains(r#""valid_grade":{"grade":{"letter":"A"},"year":2024}"#));
        assert!(text.contains(r#""head":{"hash":"cdcd"#));
        assert!(text.ends_with(r#""receipt_version":2}"#));
        // Signing is deterministic for a key and a receipt.
        assert_eq!(signed(), signed());
    }

    #[test]
    fn edited_payload_fails() {
        let edited = edit_payload(&signed(), |v| {
            v["answers"][0]["bid_flag"] = json!("penalty")
        });
        assert_eq!(
            verify(&edited, key().public_key()).unwrap_err(),
            ReceiptError::Envelope(EnvelopeError::BadSignature)
        );
        // Decoding and re-encoding without an edit gives the same canonical bytes: still valid.
        let unchanged = edit_payload(&signed(), |_| {});
        assert!(verify(&unchanged, key().public_key()).is_ok());
    }

    #[test]
    fn other_keys_fail() {
        let other = ReceiptKey::from_seed(&[6; 32], false);
        let err = verify(&signed(), other.public_key()).unwrap_err();
        assert_eq!(err.rule(), "signature_key_mismatch");
        // Signed by another key that claims to be ours: the signature fails.
        let mut forged: Value =
            serde_json::from_slice(&serde_json::to_vec(&other.sign(&receipt()).unwrap()).unwrap())
                .unwrap();
        forged["signatures"][0]["keyid"] = json!(key().public_key().key_id());
        assert_eq!(
            verify(&serde_json::to_vec(&forged).unwrap(), key().public_key()).unwrap_err(),
            ReceiptError::Envelope(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn bundle_context_does_not_verify() {
        // The same key signing the same bytes under the bundles' PAE is not a receipt signature.
        let payload = canonical_bytes(&receipt()).unwrap();
        let k = key();
        let bundle_msg = crate::bundle::envelope::pae(PAYLOAD_TYPE, &payload);
        assert_ne!(bundle_msg, pae(PAYLOAD_TYPE, &payload));
        // The bundle kind's signature of the same bytes, under the receipt's payload type.
        let as_bundle = envelope::Kind {
            payload_type: PAYLOAD_TYPE,
            ..envelope::BUNDLE
        }
        .sign(&k.key, &payload);
        assert_eq!(
            envelope::BUNDLE.pae(PAYLOAD_TYPE, &payload),
            bundle_msg,
            "the bundles' message"
        );
        let forged = serde_json::to_vec(&Envelope::from(&as_bundle)).unwrap();
        assert_eq!(
            verify(&forged, k.public_key()).unwrap_err(),
            ReceiptError::Envelope(EnvelopeError::BadSignature)
        );
        // And a receipt signature is no bundle signature.
        let receipt_signed = KIND.sign(&k.key, &payload);
        let opened = envelope::open(&receipt_signed.to_bytes()).unwrap();
        assert_eq!(
            envelope::verify_signature(k.public_key(), &opened),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn envelope_shape_is_strict() {
        let good: Value = serde_json::from_slice(&signed()).unwrap();
        let k = key();
        let check = |v: Value| verify(&serde_json::to_vec(&v).unwrap(), k.public_key());

        let mut extra = good.clone();
        extra["records"] = json!("");
        assert_eq!(check(extra).unwrap_err().rule(), "receipt_malformed");

        let mut unknown = good.clone();
        unknown["note"] = json!("");
        assert_eq!(check(unknown).unwrap_err().rule(), "envelope_unknown_field");

        let mut typed = good.clone();
        typed["payloadType"] = json!("application/vnd.envcredit.bundle+json; version=1");
        assert_eq!(check(typed).unwrap_err().rule(), "payload_type");

        let mut two = good.clone();
        let sig = good["signatures"][0].clone();
        two["signatures"] = json!([sig.clone(), sig]);
        assert_eq!(
            check(two).unwrap_err(),
            ReceiptError::Envelope(EnvelopeError::SignatureCount { found: 2 })
        );

        let mut b64 = good.clone();
        b64["payload"] = json!("aGk");
        assert_eq!(check(b64).unwrap_err().rule(), "envelope_base64");

        let mut upper = good.clone();
        upper["signatures"][0]["keyid"] = json!(k.public_key().key_id().to_uppercase());
        assert_eq!(
            check(upper).unwrap_err(),
            ReceiptError::Envelope(EnvelopeError::KeyIdFormat)
        );

        let mut short = good.clone();
        short["signatures"][0]["sig"] = json!(STANDARD.encode([1u8; 63]));
        assert_eq!(
            check(short).unwrap_err(),
            ReceiptError::Envelope(EnvelopeError::SignatureLength { found: 63 })
        );

        assert_eq!(
            verify(b"{\"payloadType\":", k.public_key())
                .unwrap_err()
                .rule(),
            "receipt_not_json"
        );
        assert_eq!(
            verify(b"[1,2,3]", k.public_key()).unwrap_err().rule(),
            "receipt_malformed"
        );
    }

    #[test]
    fn signed_payload_must_be_a_receipt_of_a_known_version() {
        let k = key();
        let sign_raw = |payload: &[u8]| {
            serde_json::to_vec(&Envelope::from(&KIND.sign(&k.key, payload))).unwrap()
        };
        let mut v3 = receipt();
        v3.receipt_version = 3;
        let err = verify(&sign_raw(&canonical_bytes(&v3).unwrap()), k.public_key()).unwrap_err();
        assert_eq!(err.rule(), "receipt_payload");
        // Version 2 has `head`; version 1 has none.
        let mut headless = serde_json::to_value(receipt()).unwrap();
        headless.as_object_mut().unwrap().remove("head");
        let err = verify(
            &sign_raw(&serde_json::to_vec(&headless).unwrap()),
            k.public_key(),
        )
        .unwrap_err();
        assert_eq!(err.rule(), "receipt_payload");
        headless["receipt_version"] = json!(1);
        assert!(verify(
            &sign_raw(&serde_json::to_vec(&headless).unwrap()),
            k.public_key()
        )
        .is_ok());
        let mut v1_with_head = serde_json::to_value(receipt()).unwrap();
        v1_with_head["receipt_version"] = json!(1);
        let err = verify(
            &sign_raw(&serde_json::to_vec(&v1_with_head).unwrap()),
            k.public_key(),
        )
        .unwrap_err();
        assert_eq!(err.rule(), "receipt_payload");
        let mut unknown = serde_json::to_value(receipt()).unwrap();
        unknown["extra"] = json!(1);
        let err = verify(
            &sign_raw(&serde_json::to_vec(&unknown).unwrap()),
            k.public_key(),
        )
        .unwrap_err();
        assert_eq!(err.rule(), "receipt_payload");
    }

    #[test]
    fn answers_around_the_receipt_must_match() {
        let k = key();
        let envelope = k.sign(&receipt()).unwrap();
        let mut answer = json!({"data": {"revision": null}, "receipt": envelope});
        for (name, value) in receipt().answers[0].as_object().unwrap() {
            answer[name] = value.clone();
        }
        let verified = verify(&serde_json::to_vec(&answer).unwrap(), k.public_key()).unwrap();
        assert_eq!(verified.receipt, receipt());

        answer["bid_flag"] = json!("penalty");
        let err = verify(&serde_json::to_vec(&answer).unwrap(), k.public_key()).unwrap_err();
        assert_eq!(err.rule(), "answer_mismatch");

        let batch = json!({"data": {}, "total": 2, "items": [receipt().answers[0], receipt().answers[0]],
            "receipt": k.sign(&receipt()).unwrap()});
        let err = verify(&serde_json::to_vec(&batch).unwrap(), k.public_key()).unwrap_err();
        assert_eq!(err.rule(), "answer_mismatch");
    }

    #[test]
    fn demo_key_is_fixed_and_labelled() {
        let demo = ReceiptKey::demo();
        assert!(demo.is_demo());
        assert_eq!(
            demo.public_key().key_id(),
            ReceiptKey::demo().public_key().key_id()
        );
        assert_ne!(
            demo.public_key().key_id(),
            crate::config::demo_signing_key().public_key().key_id()
        );
        assert!(DEMO_NOTICE.contains("DEMO"));
        assert!(!format!("{demo:?}").contains(&demo.key.to_seed_base64()));
    }

    #[test]
    fn seed_encoding() {
        let k = ReceiptKey::from_seed_base64(&format!("{}\n", STANDARD.encode([5u8; 32]))).unwrap();
        assert_eq!(k.public_key(), key().public_key());
        assert!(ReceiptKey::from_seed_base64("AAAA").is_err());
        assert!(ReceiptKey::from_seed_base64(&"A".repeat(1000)).is_err());
    }

    /// The receipt of the worked example of docs/receipts.md: RFC 8032 §7.1 TEST 1 key, a
    /// batch asking for one code with a wrong check character.
    fn documented() -> (ReceiptKey, Receipt) {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let code = "91330402MA2B3C4D5X";
        let on = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let revision = DataRevision {
            hash: "86d44eedcc48035d5512e2bf0fbb9941dded5ac9dacf468d31236a6ba18edfff".into(),
            sequence: 6,
        };
        let r = Receipt {
            answers: vec![
                json!({"as_of": "2025-06-01", "bid_flag": null, "code": code,
                "detail": "check character is 'X' but should be '3'", "name": null,
                "provisional": false, "reason": "check_character", "rule_en": null,
                "rule_zh": null, "status": "invalid_code", "valid_grade": null}),
            ],
            as_of: on,
            data: Some(revision.clone()),
            demo: false,
            head: Some(revision),
            issued_at: "2025-10-01T12:00:00+08:00".into(),
            notice: None,
            question: Question {
                as_of: Some(on),
                endpoint: "POST /api/v1/flags/batch".into(),
                items: vec![QuestionItem {
                    as_of: None,
                    code: code.into(),
                }],
                revision: None,
            },
            receipt_version: RECEIPT_VERSION,
        };
        (ReceiptKey::from_seed(&seed, false), r)
    }

    #[test]
    fn documented_receipt_vector() {
        // Cross-checked with an independent Ed25519 implementation (Python `cryptography`).
        let (k, r) = documented();
        let payload = canonical_bytes(&r).unwrap();
        let text = String::from_utf8(payload.clone()).unwrap();
        assert!(text.starts_with(
            r#"{"answers":[{"as_of":"2025-06-01","bid_flag":null,"code":"91330402MA2B3C4D5X","detail":"check character is 'X' but should be '3'","#
        ));
        assert!(text.ends_with(r#""receipt_version":2}"#));
        assert_eq!(payload.len(), 705);
        assert_eq!(
            hex::encode(&pae(PAYLOAD_TYPE, &payload)[..payload_head_len(&payload)]),
            "454e564352454449542d524543454950542d7631203439206170706c69636174696f6e2f766e642e65\
             6e766372656469742e726563656970742b6a736f6e3b2076657273696f6e3d312037303520"
        );
        assert_eq!(
            hex::encode(Sha256::digest(pae(PAYLOAD_TYPE, &payload))),
            "dede35ba78f10565d6e7e27473f8f6534278de6e502a0c4dc6a8c4d7a2b0a3a9"
        );
        let envelope = k.sign(&r).unwrap();
        assert_eq!(
            envelope.signatures[0].sig,
            "Cf4CbdrfAUuhd8mj+ZyCFdU/QPc+5q0sNbyEk2ePjlvtQbjNiYPAwTMy/sXtbtM+2yKUwJVP0+PQC4ejuuR4CA=="
        );
        assert_eq!(
            envelope.signatures[0].keyid,
            "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
        );
        assert_eq!(
            verify(&serde_json::to_vec(&envelope).unwrap(), k.public_key())
                .unwrap()
                .receipt,
            r
        );
    }

    #[test]
    fn version_1_receipts_still_verify() {
        // The worked example of docs/receipts.md before version 2: the same answer without
        // `provisional`, a payload without `head`, and the signature published then.
        let (k, mut r) = documented();
        r.receipt_version = 1;
        r.head = None;
        if let Some(answer) = r.answers[0].as_object_mut() {
            answer.remove("provisional");
        }
        let mut value = serde_json::to_value(&r).unwrap();
        value.as_object_mut().unwrap().remove("head");
        let payload = serde_json::to_vec(&sorted(value)).unwrap();
        assert_eq!(payload.len(), 589);
        assert_eq!(
            hex::encode(Sha256::digest(pae(PAYLOAD_TYPE, &payload))),
            "7e9b6056a25cbc9569113ea8260921f505322a88f0518f2c04b640c8efdfbfa5"
        );
        let archived = json!({
            "payloadType": PAYLOAD_TYPE,
            "payload": STANDARD.encode(&payload),
            "signatures": [{
                "keyid": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                "sig": "ik/usQlrP+0YlNzYr1u0PL5sUlcALEAUlsnbx2BzY/F0Yn2XW6Yabh47zbhQkGbHYa0VaCTutbMy57cWKj6uDw==",
            }],
        });
        let verified = verify(&serde_json::to_vec(&archived).unwrap(), k.public_key()).unwrap();
        assert_eq!(verified.receipt, r);
        assert_eq!(verified.receipt.head, None);
    }

    /// Length of the PAE before the payload bytes.
    fn payload_head_len(payload: &[u8]) -> usize {
        pae(PAYLOAD_TYPE, payload).len() - payload.len()
    }

    #[test]
    fn issued_at_is_shanghai_time_in_whole_seconds() {
        let now = DateTime::parse_from_rfc3339("2025-10-01T04:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(issued_at(now), "2025-10-01T12:00:00+08:00");
    }
}
