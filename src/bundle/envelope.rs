//! The signed envelope (DSSE style) around a bundle's exact manifest bytes, and the records.
//!
//! ```json
//! {"payloadType":"application/vnd.envcredit.manifest+json; version=2","payload":"<base64 manifest>","signatures":[{"keyid":"<64 hex>","sig":"<base64>"}],"records":"<base64 records>"}
//! ```
//!
//! The Ed25519 signature covers [`pae`]`(payloadType, payload)`: the decoded payload bytes (the
//! manifest) as they are, never a re-serialisation of parsed JSON, prefixed with a context string
//! and the payload type so a signature cannot be replayed under another type or protocol. The
//! manifest commits to the records through their Merkle root and count, so the signature covers
//! them too; and the signed manifest alone (the envelope without `records`) is what a proof of
//! one record carries.
//!
//! [`open`] only parses; the caller then picks the trusted key (by [`Opened::key_id`] and the
//! sequence number), calls [`verify_signature`], and only then trusts the payload.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::rejection::Rule;
use super::strict::{clip, Object};

/// The only payload type this registry accepts: the payload is a bundle's manifest.
pub const PAYLOAD_TYPE: &str = "application/vnd.envcredit.manifest+json; version=2";

/// Context string that starts every signed message, so an envelope signature can never be valid
/// for any other use of the same key.
const PAE_PREFIX: &str = "ENVCREDIT-MANIFEST-v2";

/// What a signed envelope holds: its payload type and the context string that starts its signed
/// message. Bundles ([`BUNDLE`]) and the registry's receipts (`crate::receipt::KIND`) are read,
/// signed and verified by this one implementation; only the kind differs, so a signature of one
/// kind is never valid as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The one accepted `payloadType`.
    pub payload_type: &'static str,
    /// The context string of [`pae_in`].
    pub context: &'static str,
}

/// A bundle: the payload is its manifest.
pub const BUNDLE: Kind = Kind {
    payload_type: PAYLOAD_TYPE,
    context: PAE_PREFIX,
};

impl Kind {
    /// The signed message of `payload` declared as `payload_type`.
    pub fn pae(&self, payload_type: &str, payload: &[u8]) -> Vec<u8> {
        pae_in(self.context, payload_type, payload)
    }

    /// Signs `payload` as this kind, with no records. Deterministic for a key and a payload.
    pub fn sign(&self, key: &SigningKey, payload: &[u8]) -> Envelope {
        let signature = key.0.sign(&self.pae(self.payload_type, payload));
        Envelope {
            payload_type: self.payload_type.to_owned(),
            payload: payload.to_vec(),
            key_id: key.public_key().key_id(),
            signature,
            records: None,
        }
    }

    /// Refuses any payload type other than this kind's.
    pub fn check_payload_type(&self, opened: &Opened) -> Result<(), EnvelopeError> {
        if opened.payload_type == self.payload_type {
            Ok(())
        } else {
            Err(EnvelopeError::WrongPayloadType {
                expected: self.payload_type,
                found: clip(&opened.payload_type, MAX_ECHO),
            })
        }
    }

    /// Checks the signature with `key` over this kind's [`pae`](Kind::pae) of the declared
    /// payload type and the payload, using Ed25519's strict verification (rejects
    /// non-canonical signatures and small-order components).
    ///
    /// Fails with [`EnvelopeError::KeyIdMismatch`] when the envelope names another key, so a
    /// wrong key choice reads as such rather than as a forged signature.
    pub fn verify_signature(&self, key: &PublicKey, opened: &Opened) -> Result<(), EnvelopeError> {
        if !opened.is_signed_by(key) {
            return Err(EnvelopeError::KeyIdMismatch {
                envelope: opened.key_id.clone(),
                key: key.key_id(),
            });
        }
        key.0
            .verify_strict(
                &self.pae(&opened.payload_type, &opened.payload),
                &opened.signature,
            )
            .map_err(|_| EnvelopeError::BadSignature)
    }
}

/// Length of an Ed25519 signature in bytes.
const SIGNATURE_LEN: usize = 64;
/// Length of a key id: lowercase hex of a SHA-256.
const KEY_ID_LEN: usize = 64;
/// Longest found value echoed back in an error message, so hostile input cannot flood logs.
const MAX_ECHO: usize = 80;

/// Pre-authentication encoding of the signed message:
/// `"ENVCREDIT-MANIFEST-v2" SP LEN(type) SP type SP LEN(payload) SP payload`,
/// with LEN the byte length in ASCII decimal (no leading zeros) and SP a single 0x20 byte.
///
/// The lengths make the split between type and payload unambiguous.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    pae_in(PAE_PREFIX, payload_type, payload)
}

/// The same encoding under another context string (receipts use their own, so that no
/// signature of one kind is ever valid as the other).
pub fn pae_in(context: &str, payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let head = format!(
        "{context} {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    );
    let mut out = Vec::with_capacity(head.len() + payload.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not canonical standard base64 (with padding).
    #[error("key is not valid standard base64 with padding")]
    Base64,
    /// Decoded to the wrong number of bytes.
    #[error("key must be 32 bytes, found {found}")]
    Length {
        /// Decoded length.
        found: usize,
    },
    /// The 32 bytes are not the canonical encoding of a curve point.
    #[error("public key is not a valid Ed25519 point encoding")]
    InvalidPoint,
    /// A small-order point, for which signatures prove nothing.
    #[error("public key is a weak (small-order) Ed25519 key")]
    WeakKey,
}

/// Decodes standard base64 of exactly 32 bytes, refusing longer text before decoding it.
fn decode_32(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim();
    // 32 bytes are 44 base64 characters; anything much longer is wrong without decoding.
    if text.len() > 64 {
        return Err(KeyError::Length {
            found: text.len() / 4 * 3,
        });
    }
    let bytes = STANDARD.decode(text).map_err(|_| KeyError::Base64)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length { found: bytes.len() })
}

/// An Ed25519 public key that the registry may trust.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads the raw 32-byte key, rejecting non-canonical encodings and weak keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        // The key id hashes the raw bytes, so one point must have exactly one accepted encoding.
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::InvalidPoint);
        }
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(PublicKey(key))
    }

    /// Reads standard base64 (with padding) of the raw 32 bytes; surrounding whitespace is
    /// ignored so keys can be pasted into configuration files.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&decode_32(text)?)
    }

    /// Standard base64 of the raw 32 bytes; [`PublicKey::parse`] reads it back.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Lowercase hex SHA-256 of the raw 32 bytes: the `keyid` of envelopes signed by this key.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The underlying ed25519-dalek key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_id", &self.key_id())
            .finish()
    }
}

/// An Ed25519 signing key (the pipeline's side; the registry itself never holds one outside demo
/// mode and tests). Its `Debug` output shows only the key id.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        SigningKey(ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng))
    }

    /// The key for a fixed 32-byte seed (e.g. the published demo key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// Reads standard base64 (with padding) of the 32-byte seed; whitespace around it is ignored.
    pub fn from_seed_base64(text: &str) -> Result<Self, KeyError> {
        Ok(Self::from_seed(&decode_32(text)?))
    }

    /// Standard base64 of the 32-byte seed. This is the secret: store it as such.
    pub fn to_seed_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.public_key().key_id())
            .finish_non_exhaustive()
    }
}

/// A signed envelope, ready to be written out with [`Envelope::to_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload type; [`PAYLOAD_TYPE`] for bundles.
    pub payload_type: String,
    /// The exact payload bytes that were signed.
    pub payload: Vec<u8>,
    /// Key id of the signing key ([`PublicKey::key_id`]).
    pub key_id: String,
    /// Ed25519 signature over [`pae`]`(payload_type, payload)`.
    pub signature: Signature,
    /// The records' bytes (a bundle), or none (a signed manifest alone, as in a proof).
    pub records: Option<Vec<u8>>,
}

impl Envelope {
    /// Compact JSON with the fields in the documented order, followed by one `\n`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let records = match &self.records {
            Some(records) => format!(",\"records\":\"{}\"", STANDARD.encode(records)),
            None => String::new(),
        };
        format!(
            "{{\"payloadType\":{},\"payload\":\"{}\",\"signatures\":[{{\"keyid\":{},\"sig\":\"{}\"}}]{records}}}\n",
            json_string(&self.payload_type),
            STANDARD.encode(&self.payload),
            json_string(&self.key_id),
            STANDARD.encode(self.signature.to_bytes()),
        )
        .into_bytes()
    }

    /// The signed manifest alone: this envelope without its records.
    pub fn without_records(&self) -> Envelope {
        Envelope {
            records: None,
            ..self.clone()
        }
    }
}

/// A JSON string literal; `Value`'s `Display` escapes and cannot fail, unlike `to_string`.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Signs `payload` (a manifest) as [`PAYLOAD_TYPE`], with no records. Deterministic for a given
/// key and payload.
pub fn sign(key: &SigningKey, payload: &[u8]) -> Envelope {
    BUNDLE.sign(key, payload)
}

/// A bundle: the signed manifest and the records' bytes beside it.
pub fn sign_bundle(key: &SigningKey, manifest: &[u8], records: &[u8]) -> Envelope {
    Envelope {
        records: Some(records.to_vec()),
        ..sign(key, manifest)
    }
}

/// A parsed envelope whose signature has NOT been checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The declared payload type (check with [`check_payload_type`]).
    pub payload_type: String,
    /// The decoded payload bytes (untrusted until [`verify_signature`] succeeds).
    pub payload: Vec<u8>,
    /// The declared signing key id: 64 lowercase hex characters. It is not signed; it only
    /// selects which trusted key to try.
    pub key_id: String,
    /// The signature, well formed in length but not yet verified.
    pub signature: Signature,
    /// The decoded records bytes, when the envelope carries them (a bundle does; a signed
    /// manifest alone does not). Not covered by the signature: bound by the manifest's root.
    pub records: Option<Vec<u8>>,
}

/// Why an envelope was refused. [`EnvelopeError::rule`] gives a stable id for each case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a single, complete JSON value (syntax error, truncated, trailing bytes).
    #[error("envelope is not valid JSON: {0}")]
    NotJson(String),
    /// Valid JSON of the wrong shape: missing, duplicated or mistyped field.
    #[error("envelope is malformed: {0}")]
    Malformed(String),
    /// A field the format does not define.
    #[error("envelope has unknown field {field:?}")]
    UnknownField {
        /// The offending field name (clipped).
        field: String,
    },
    /// A base64 field is not canonical standard base64 with padding.
    #[error("envelope field {field} is not canonical standard base64 with padding")]
    Base64 {
        /// Which field, e.g. `payload` or `signatures[0].sig`.
        field: &'static str,
    },
    /// The envelope must carry exactly one signature.
    #[error("envelope must have exactly one signature, found {found}")]
    SignatureCount {
        /// How many the envelope has.
        found: usize,
    },
    /// The signature does not decode to 64 bytes.
    #[error("signature must be 64 bytes, found {found}")]
    SignatureLength {
        /// Decoded length.
        found: usize,
    },
    /// `keyid` is not 64 lowercase hex characters.
    #[error("signature keyid must be 64 lowercase hex characters (SHA-256 of the public key)")]
    KeyIdFormat,
    /// Not an envelope of the expected kind.
    #[error("payload type must be {expected:?}, found {found:?}")]
    WrongPayloadType {
        /// The payload type of the kind expected.
        expected: &'static str,
        /// The declared type (clipped).
        found: String,
    },
    /// The envelope names a different key than the one it is being verified with.
    #[error("envelope is signed by key {envelope} but is being verified with key {key}")]
    KeyIdMismatch {
        /// The key id declared in the envelope.
        envelope: String,
        /// The key id of the verifying key.
        key: String,
    },
    /// The file parses but is not the one layout: compact, members in order, one final `\n`.
    #[error("the envelope is not in its one layout (compact JSON, members in the documented order, then exactly one \"\\n\"): it differs from byte {at}")]
    Layout {
        /// The first byte that differs.
        at: usize,
    },
    /// The signature does not verify under the key over this payload type and payload.
    #[error("signature does not verify for this payload with the given key")]
    BadSignature,
}

impl EnvelopeError {
    /// A stable snake_case id of the failed rule, for API error codes, logs and metrics.
    pub fn rule(&self) -> Rule {
        match self {
            EnvelopeError::NotJson(_) => Rule::EnvelopeNotJson,
            EnvelopeError::Malformed(_) => Rule::EnvelopeMalformed,
            EnvelopeError::UnknownField { .. } => Rule::EnvelopeUnknownField,
            EnvelopeError::Base64 { .. } => Rule::EnvelopeBase64,
            EnvelopeError::SignatureCount { .. } => Rule::SignatureCount,
            EnvelopeError::SignatureLength { .. } => Rule::SignatureLength,
            EnvelopeError::KeyIdFormat => Rule::SignatureKeyidFormat,
            EnvelopeError::WrongPayloadType { .. } => Rule::PayloadType,
            EnvelopeError::KeyIdMismatch { .. } => Rule::SignatureKeyMismatch,
            EnvelopeError::Layout { .. } => Rule::EnvelopeLayout,
            EnvelopeError::BadSignature => Rule::SignatureInvalid,
        }
    }

    /// Sorts a serde_json error into the variant that says what is wrong.
    fn from_json(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let msg = err.to_string();
        match err.classify() {
            Category::Data => match unknown_field_name(&msg) {
                Some(field) => EnvelopeError::UnknownField {
                    field: clip(field, MAX_ECHO),
                },
                None => EnvelopeError::Malformed(elide_middle(&msg, MAX_ECHO)),
            },
            Category::Syntax | Category::Eof | Category::Io => {
                EnvelopeError::NotJson(elide_middle(&msg, MAX_ECHO))
            }
        }
    }
}

/// A parser message kept to its first and last `keep` characters: serde_json quotes a value of
/// the wrong type whole ("invalid type: string \"…\", expected …"), and the envelope is
/// unauthenticated input. The end says what was expected and where.
fn elide_middle(msg: &str, keep: usize) -> String {
    let count = msg.chars().count();
    if count <= 2 * keep + 1 {
        return msg.to_string();
    }
    let head: String = msg.chars().take(keep).collect();
    let tail: String = msg.chars().skip(count - keep).collect();
    format!("{head}…{tail}")
}

/// Extracts `name` from serde's "unknown field `name`, expected ..." message. serde offers no
/// structured access to it, and this wording has been stable across serde 1.x.
fn unknown_field_name(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// The envelope as it appears on the wire.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<Object<WireSignature>>,
    #[serde(default)]
    records: Option<String>,
}

/// One entry of `signatures` on the wire.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSignature {
    keyid: String,
    sig: String,
}

/// Parses an envelope file strictly, without checking the signature.
///
/// Rejects unknown and duplicate fields, trailing bytes other than whitespace, non-canonical
/// base64, anything but exactly one signature, a signature that is not 64 bytes and a key id that
/// is not 64 lowercase hex characters. The caller bounds the size of `bytes`.
pub fn open(bytes: &[u8]) -> Result<Opened, EnvelopeError> {
    let Object(wire) = serde_json::from_slice::<Object<WireEnvelope>>(bytes)
        .map_err(|e| EnvelopeError::from_json(&e))?;
    let found = wire.signatures.len();
    let [Object(signature)]: [Object<WireSignature>; 1] = wire
        .signatures
        .try_into()
        .map_err(|_| EnvelopeError::SignatureCount { found })?;

    let payload = STANDARD
        .decode(&wire.payload)
        .map_err(|_| EnvelopeError::Base64 { field: "payload" })?;
    let records = wire
        .records
        .map(|r| STANDARD.decode(r))
        .transpose()
        .map_err(|_| EnvelopeError::Base64 { field: "records" })?;

    if signature.keyid.len() != KEY_ID_LEN
        || !signature
            .keyid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(EnvelopeError::KeyIdFormat);
    }

    // 64 bytes are 88 base64 characters; refuse anything far off before decoding it.
    if signature.sig.len() > 2 * 88 {
        return Err(EnvelopeError::SignatureLength {
            found: signature.sig.len() / 4 * 3,
        });
    }
    let sig_bytes = STANDARD
        .decode(&signature.sig)
        .map_err(|_| EnvelopeError::Base64 {
            field: "signatures[0].sig",
        })?;
    let sig_array = <[u8; SIGNATURE_LEN]>::try_from(sig_bytes.as_slice()).map_err(|_| {
        EnvelopeError::SignatureLength {
            found: sig_bytes.len(),
        }
    })?;

    Ok(Opened {
        payload_type: wire.payload_type,
        payload,
        key_id: signature.keyid,
        signature: Signature::from_bytes(&sig_array),
        records,
    })
}

/// Requires `bytes` to be exactly the envelope's one layout ([`Envelope::to_bytes`]): compact,
/// the members in the documented order, one final `\n`. Called after [`open`] succeeded on the
/// same bytes.
pub fn check_layout(bytes: &[u8], opened: &Opened) -> Result<(), EnvelopeError> {
    let exact = Envelope {
        payload_type: opened.payload_type.clone(),
        payload: opened.payload.clone(),
        key_id: opened.key_id.clone(),
        signature: opened.signature,
        records: opened.records.clone(),
    }
    .to_bytes();
    if exact == bytes {
        return Ok(());
    }
    let at = exact
        .iter()
        .zip(bytes)
        .position(|(a, b)| a != b)
        .unwrap_or(exact.len().min(bytes.len()));
    Err(EnvelopeError::Layout { at })
}

/// Refuses any payload type other than [`PAYLOAD_TYPE`].
pub fn check_payload_type(opened: &Opened) -> Result<(), EnvelopeError> {
    BUNDLE.check_payload_type(opened)
}

impl Opened {
    /// Whether the envelope declares `key` as its signer. The declaration is unsigned: this
    /// selects a key, it proves nothing until [`verify_signature`] succeeds.
    pub fn is_signed_by(&self, key: &PublicKey) -> bool {
        self.key_id == key.key_id()
    }
}

/// Checks a bundle's signature with `key` over [`pae`]`(payload_type, payload)`:
/// [`Kind::verify_signature`] of [`BUNDLE`].
pub fn verify_signature(key: &PublicKey, opened: &Opened) -> Result<(), EnvelopeError> {
    BUNDLE.verify_signature(key, opened)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SEED: [u8; 32] = [7; 32];
    const PAYLOAD: &[u8] = b"{\"manifest\":{},\"records\":[]}";

    fn key() -> SigningKey {
        SigningKey::from_seed(&SEED)
    }

    fn signed() -> Vec<u8> {
        sign(&key(), PAYLOAD).to_bytes()
    }

    /// Rewrites the JSON of a signed envelope as text, to build hostile variants.
    fn text() -> String {
        String::from_utf8(signed()).unwrap()
    }

    fn open_err(bytes: &[u8]) -> EnvelopeError {
        open(bytes).unwrap_err()
    }

    #[test]
    fn round_trip() {
        let k = key();
        let bytes = sign(&k, PAYLOAD).to_bytes();
        let opened = open(&bytes).unwrap();
        assert_eq!(opened.payload, PAYLOAD);
        assert_eq!(opened.payload_type, PAYLOAD_TYPE);
        assert_eq!(opened.key_id, k.public_key().key_id());
        assert_eq!(check_payload_type(&opened), Ok(()));
        assert_eq!(verify_signature(&k.public_key(), &opened), Ok(()));
    }

    #[test]
    fn round_trip_random_key_and_binary_payload() {
        let k = SigningKey::generate();
        let payload: Vec<u8> = (0..=255u8).collect();
        let opened = open(&sign(&k, &payload).to_bytes()).unwrap();
        assert_eq!(opened.payload, payload);
        assert_eq!(verify_signature(&k.public_key(), &opened), Ok(()));
        let empty = open(&sign(&k, b"").to_bytes()).unwrap();
        assert_eq!(empty.payload, b"");
        assert_eq!(verify_signature(&k.public_key(), &empty), Ok(()));
    }

    #[test]
    fn wire_format_is_exact() {
        let env = sign(&key(), b"hi");
        let expected = format!(
            "{{\"payloadType\":\"application/vnd.envcredit.manifest+json; version=2\",\
             \"payload\":\"aGk=\",\"signatures\":[{{\"keyid\":\"{}\",\"sig\":\"{}\"}}]}}\n",
            key().public_key().key_id(),
            STANDARD.encode(env.signature.to_bytes())
        );
        assert_eq!(String::from_utf8(env.to_bytes()).unwrap(), expected);
        // A bundle: the same, with the records after the signatures.
        let bundle = sign_bundle(&key(), b"hi", b"[]");
        let expected = format!(
            "{},\"records\":\"W10=\"}}\n",
            expected.trim_end().trim_end_matches('}')
        );
        assert_eq!(String::from_utf8(bundle.to_bytes()).unwrap(), expected);
        let opened = open(&bundle.to_bytes()).unwrap();
        assert_eq!(opened.records.as_deref(), Some(&b"[]"[..]));
        assert_eq!(verify_signature(&key().public_key(), &opened), Ok(()));
        assert_eq!(bundle.without_records(), env);
    }

    #[test]
    fn pae_vector() {
        // 21-byte prefix, type "t/x" (3 bytes), payload "hi" (2 bytes).
        assert_eq!(
            pae("t/x", b"hi"),
            b"ENVCREDIT-MANIFEST-v2 3 t/x 2 hi".to_vec()
        );
        assert_eq!(
            hex::encode(pae("t/x", b"hi")),
            "454e564352454449542d4d414e49464553542d7632203320742f782032206869"
        );
        // Empty payload still carries its length and the trailing space.
        assert_eq!(pae("", b""), b"ENVCREDIT-MANIFEST-v2 0  0 ".to_vec());
        // The real type is 50 bytes; no leading zeros in lengths.
        assert_eq!(PAYLOAD_TYPE.len(), 50);
        let mut expected =
            b"ENVCREDIT-MANIFEST-v2 50 application/vnd.envcredit.manifest+json; version=2 5 "
                .to_vec();
        expected.extend_from_slice(b"hello");
        assert_eq!(pae(PAYLOAD_TYPE, b"hello"), expected);
        let big = vec![0u8; 1000];
        assert!(pae("t", &big).starts_with(b"ENVCREDIT-MANIFEST-v2 1 t 1000 "));
    }

    #[test]
    fn pae_is_unambiguous() {
        assert_ne!(pae("a b", b"c"), pae("a", b"b c"));
        assert_ne!(pae("ab", b""), pae("a", b"b"));
    }

    #[test]
    fn signature_covers_pae_not_raw_payload() {
        let k = key();
        let env = sign(&k, PAYLOAD);
        let vk = k.public_key();
        assert!(vk
            .verifying_key()
            .verify_strict(&pae(PAYLOAD_TYPE, PAYLOAD), &env.signature)
            .is_ok());
        assert!(vk
            .verifying_key()
            .verify_strict(PAYLOAD, &env.signature)
            .is_err());
    }

    #[test]
    fn flipped_payload_bit_is_bad_signature() {
        let k = key();
        for bit in [0usize, 7, 100, PAYLOAD.len() * 8 - 1] {
            let mut env = sign(&k, PAYLOAD);
            env.payload[bit / 8] ^= 1 << (bit % 8);
            let opened = open(&env.to_bytes()).unwrap();
            assert_eq!(
                verify_signature(&k.public_key(), &opened),
                Err(EnvelopeError::BadSignature)
            );
        }
    }

    #[test]
    fn flipped_signature_bit_is_bad_signature() {
        let k = key();
        for bit in [0usize, 255, 256, 300, 511] {
            let env = sign(&k, PAYLOAD);
            let mut sig = env.signature.to_bytes();
            sig[bit / 8] ^= 1 << (bit % 8);
            let tampered = Envelope {
                signature: Signature::from_bytes(&sig),
                ..env
            };
            let opened = open(&tampered.to_bytes()).unwrap();
            let err = verify_signature(&k.public_key(), &opened).unwrap_err();
            assert_eq!(err, EnvelopeError::BadSignature, "bit {bit}");
            assert_eq!(err.rule(), "signature_invalid");
        }
    }

    #[test]
    fn non_canonical_signature_s_is_rejected() {
        // s + L (the group order) verifies under lax rules but must fail verify_strict.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let k = key();
        let env = sign(&k, PAYLOAD);
        let mut sig = env.signature.to_bytes();
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
            sig[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        let tampered = Envelope {
            signature: Signature::from_bytes(&sig),
            ..env
        };
        let opened = open(&tampered.to_bytes()).unwrap();
        assert_eq!(
            verify_signature(&k.public_key(), &opened),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn changed_payload_type_fails_both_checks() {
        let k = key();
        let env = sign(&k, PAYLOAD);
        let retyped = Envelope {
            payload_type: "application/vnd.envcredit.bundle+json; version=2".to_owned(),
            ..env.clone()
        };
        let opened = open(&retyped.to_bytes()).unwrap();
        let err = check_payload_type(&opened).unwrap_err();
        assert_eq!(err.rule(), "payload_type");
        assert_eq!(
            err,
            EnvelopeError::WrongPayloadType {
                expected: PAYLOAD_TYPE,
                found: "application/vnd.envcredit.bundle+json; version=2".to_owned()
            }
        );
        // The signature was made under the original type, so it fails under the new one...
        assert_eq!(
            verify_signature(&k.public_key(), &opened),
            Err(EnvelopeError::BadSignature)
        );
        // ...and verifying the same bytes under the original type still works.
        let as_original = Opened {
            payload_type: PAYLOAD_TYPE.to_owned(),
            ..opened
        };
        assert_eq!(verify_signature(&k.public_key(), &as_original), Ok(()));
    }

    #[test]
    fn long_payload_type_is_clipped_in_error() {
        let env = Envelope {
            payload_type: "x".repeat(10_000),
            ..sign(&key(), PAYLOAD)
        };
        let err = check_payload_type(&open(&env.to_bytes()).unwrap()).unwrap_err();
        assert!(err.to_string().len() < 300);
    }

    #[test]
    fn unknown_field_top_level_and_nested() {
        let t = text().replacen('{', "{\"extra\":1,", 1);
        let err = open_err(t.as_bytes());
        assert_eq!(
            err,
            EnvelopeError::UnknownField {
                field: "extra".to_owned()
            }
        );
        assert_eq!(err.rule(), "envelope_unknown_field");
        assert_eq!(err.to_string(), "envelope has unknown field \"extra\"");

        let t = text().replacen("{\"keyid\"", "{\"public_key\":\"x\",\"keyid\"", 1);
        assert_eq!(
            open_err(t.as_bytes()),
            EnvelopeError::UnknownField {
                field: "public_key".to_owned()
            }
        );
        // Field names are case-sensitive.
        let t = text().replacen("payloadType", "PayloadType", 1);
        assert_eq!(open_err(t.as_bytes()).rule(), "envelope_unknown_field");
    }

    #[test]
    fn duplicate_field_is_rejected() {
        let t = text().replacen("{", "{\"payload\":\"aGk=\",", 1);
        let err = open_err(t.as_bytes());
        assert_eq!(err.rule(), "envelope_malformed");
        assert!(
            err.to_string().contains("duplicate field `payload`"),
            "{err}"
        );

        let t = text().replacen("{\"keyid\"", "{\"sig\":\"\",\"keyid\"", 1);
        let err = open_err(t.as_bytes());
        assert!(err.to_string().contains("duplicate field `sig`"), "{err}");
    }

    #[test]
    fn missing_or_mistyped_field_is_malformed() {
        let t = text().replacen("\"payloadType\"", "\"payloadType\":1,\"x\"", 1);
        assert_eq!(open_err(t.as_bytes()).rule(), "envelope_malformed");
        for bad in [
            "{}",
            "[]",
            "null",
            "{\"payloadType\":\"t\",\"payload\":\"\"}",
            "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":null}",
            "{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[{\"keyid\":\"a\"}]}",
            "{\"payloadType\":\"t\",\"payload\":[1],\"signatures\":[]}",
        ] {
            assert_eq!(
                open_err(bad.as_bytes()).rule(),
                "envelope_malformed",
                "{bad}"
            );
        }
    }

    #[test]
    fn arrays_in_place_of_objects_are_rejected() {
        let env = sign(&key(), PAYLOAD);
        let sig = STANDARD.encode(env.signature.to_bytes());
        let id = key().public_key().key_id();
        let b64 = STANDARD.encode(PAYLOAD);
        let top =
            format!("[\"{PAYLOAD_TYPE}\",\"{b64}\",[{{\"keyid\":\"{id}\",\"sig\":\"{sig}\"}}]]");
        let err = open_err(top.as_bytes());
        assert_eq!(err.rule(), "envelope_malformed");
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
        let nested = format!(
            "{{\"payloadType\":\"{PAYLOAD_TYPE}\",\"payload\":\"{b64}\",\"signatures\":[[\"{id}\",\"{sig}\"]]}}"
        );
        assert_eq!(open_err(nested.as_bytes()).rule(), "envelope_malformed");
        // The object form of the same values opens.
        let ok = format!(
            "{{\"payloadType\":\"{PAYLOAD_TYPE}\",\"payload\":\"{b64}\",\"signatures\":[{{\"keyid\":\"{id}\",\"sig\":\"{sig}\"}}]}}"
        );
        assert!(open(ok.as_bytes()).is_ok());
    }

    #[test]
    fn signature_count_must_be_one() {
        let one = text();
        let start = one.find("[{").unwrap();
        let end = one.rfind("}]").unwrap();
        let sig_obj = &one[start + 1..end + 1];

        let two = one.replacen(sig_obj, &format!("{sig_obj},{sig_obj}"), 1);
        let err = open_err(two.as_bytes());
        assert_eq!(err, EnvelopeError::SignatureCount { found: 2 });
        assert_eq!(err.rule(), "signature_count");

        let zero = one.replacen(sig_obj, "", 1);
        assert_eq!(
            open_err(zero.as_bytes()),
            EnvelopeError::SignatureCount { found: 0 }
        );
    }

    #[test]
    fn truncated_file_is_not_json() {
        let full = signed();
        for cut in [0, 1, 10, full.len() / 2, full.len() - 3, full.len() - 2] {
            let err = open_err(&full[..cut]);
            assert_eq!(err.rule(), "envelope_not_json", "cut at {cut}: {err}");
        }
        // Only the trailing newline removed: still a complete envelope.
        assert!(open(&full[..full.len() - 1]).is_ok());
    }

    #[test]
    fn trailing_bytes() {
        let mut t = signed();
        t.extend_from_slice(b"  \r\n\t");
        assert!(open(&t).is_ok(), "trailing whitespace is allowed");
        for garbage in [&b"x"[..], b"{}", b"\0", b"\n{\"a\":1}"] {
            let mut t = signed();
            t.extend_from_slice(garbage);
            let err = open_err(&t);
            assert_eq!(err.rule(), "envelope_not_json", "{garbage:?}");
            assert!(err.to_string().contains("trailing"), "{err}");
        }
        // A byte-order mark in front is not JSON either.
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(&signed());
        assert_eq!(open_err(&bom).rule(), "envelope_not_json");
    }

    #[test]
    fn payload_base64_must_be_canonical() {
        let good = STANDARD.encode(PAYLOAD);
        let t = text();
        for bad in [
            "aGk",     // missing padding
            "aGl=",    // non-zero trailing bits ("hi" is aGk=)
            "aGk=\\n", // escaped newline inside
            "aG k=",   // space inside
            "aGk==",   // too much padding
            "aGk-",    // URL-safe alphabet
            "YQ",      // unpadded
            "!!!!",    // not base64
        ] {
            let b = t.replacen(&good, bad, 1);
            let err = open_err(b.as_bytes());
            assert_eq!(err, EnvelopeError::Base64 { field: "payload" }, "{bad}");
            assert_eq!(err.rule(), "envelope_base64");
        }
    }

    #[test]
    fn signature_base64_and_length() {
        let env = sign(&key(), PAYLOAD);
        let good = STANDARD.encode(env.signature.to_bytes());
        let t = text();

        // Non-canonical: change the last significant character so the trailing bits are non-zero.
        // 64 bytes = 21 groups of 3 + 1 byte: 86 characters then "==". Character 85 carries 2 data
        // bits and 4 unused ones, which are zero in canonical form (A, Q, g or w); the next
        // alphabet character sets the lowest unused bit.
        let mut chars: Vec<u8> = good.clone().into_bytes();
        assert_eq!(&chars[86..], b"==");
        assert!(b"AQgw".contains(&chars[85]));
        chars[85] += 1;
        let noncanon = String::from_utf8(chars).unwrap();
        let err = open_err(t.replacen(&good, &noncanon, 1).as_bytes());
        assert_eq!(
            err,
            EnvelopeError::Base64 {
                field: "signatures[0].sig"
            }
        );
        assert!(err.to_string().contains("signatures[0].sig"));

        let short = STANDARD.encode([1u8; 63]);
        let err = open_err(t.replacen(&good, &short, 1).as_bytes());
        assert_eq!(err, EnvelopeError::SignatureLength { found: 63 });
        assert_eq!(err.rule(), "signature_length");

        let long = STANDARD.encode([1u8; 65]);
        assert_eq!(
            open_err(t.replacen(&good, &long, 1).as_bytes()),
            EnvelopeError::SignatureLength { found: 65 }
        );
        let huge = STANDARD.encode([1u8; 10_000]);
        assert_eq!(
            open_err(t.replacen(&good, &huge, 1).as_bytes()).rule(),
            "signature_length"
        );
        assert_eq!(
            open_err(t.replacen(&good, "", 1).as_bytes()),
            EnvelopeError::SignatureLength { found: 0 }
        );
    }

    #[test]
    fn key_id_format() {
        let id = key().public_key().key_id();
        let t = text();
        for bad in [
            id.to_uppercase(),
            id[..63].to_owned(),
            format!("{id}0"),
            format!("{}g", &id[..63]),
            String::new(),
            format!("sha256:{}", &id[7..]),
        ] {
            let err = open_err(t.replacen(&id, &bad, 1).as_bytes());
            assert_eq!(err, EnvelopeError::KeyIdFormat, "{bad}");
            assert_eq!(err.rule(), "signature_keyid_format");
        }
    }

    #[test]
    fn key_id_mismatch() {
        let k = key();
        let other = SigningKey::from_seed(&[8; 32]);
        let opened = open(&sign(&k, PAYLOAD).to_bytes()).unwrap();
        assert!(opened.is_signed_by(&k.public_key()));
        assert!(!opened.is_signed_by(&other.public_key()));
        let err = verify_signature(&other.public_key(), &opened).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::KeyIdMismatch {
                envelope: k.public_key().key_id(),
                key: other.public_key().key_id(),
            }
        );
        assert_eq!(err.rule(), "signature_key_mismatch");

        // An envelope that claims the other key id but carries k's signature: the claim matches,
        // the signature does not.
        let lying = Opened {
            key_id: other.public_key().key_id(),
            ..opened
        };
        assert_eq!(
            verify_signature(&other.public_key(), &lying),
            Err(EnvelopeError::BadSignature)
        );
    }

    #[test]
    fn signing_is_deterministic() {
        let a = sign(&key(), PAYLOAD).to_bytes();
        let b = sign(&SigningKey::from_seed(&SEED), PAYLOAD).to_bytes();
        assert_eq!(a, b);
        assert_ne!(a, sign(&key(), b"other").to_bytes());
        assert_ne!(
            a,
            sign(&SigningKey::from_seed(&[8; 32]), PAYLOAD).to_bytes()
        );
    }

    #[test]
    fn known_key_id_and_signature_vector() {
        // RFC 8032 §7.1 TEST 1: secret key, public key and signature of the empty message.
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let k = SigningKey::from_seed(&seed);
        assert_eq!(
            hex::encode(k.public_key().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            k.public_key().key_id(),
            hex::encode(Sha256::digest(k.public_key().as_bytes()))
        );
        assert_eq!(
            k.public_key().key_id(),
            "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
        );
    }

    #[test]
    fn documented_envelope_vector() {
        // The worked example of docs/bundle-format.md, cross-checked with an independent
        // Ed25519 implementation (Python `cryptography`): RFC 8032 §7.1 TEST 1 key.
        let k =
            SigningKey::from_seed_base64("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
        assert_eq!(
            k.public_key().to_base64(),
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        );
        let payload = br#"{"hello":"world"}"#;
        assert_eq!(
            hex::encode(pae(PAYLOAD_TYPE, payload)),
            "454e564352454449542d4d414e49464553542d7632203530206170706c69636174696f6e2f766e642e65\
             6e766372656469742e6d616e69666573742b6a736f6e3b2076657273696f6e3d32203137207b2268656c\
             6c6f223a22776f726c64227d"
        );
        let expected = concat!(
            r#"{"payloadType":"application/vnd.envcredit.manifest+json; version=2","#,
            r#""payload":"eyJoZWxsbyI6IndvcmxkIn0=","#,
            r#""signatures":[{"keyid":"21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9","#,
            r#""sig":"qzu263nX+jP0dl83noJrw2IwiR/cr6x/09N9fSPLVv7aX7KfBsTnQb0ife9Ujl9wk0BEnJlia5kXr9EbychKBw=="}]}"#,
            "\n"
        );
        assert_eq!(
            String::from_utf8(sign(&k, payload).to_bytes()).unwrap(),
            expected
        );
        let opened = open(expected.as_bytes()).unwrap();
        assert_eq!(verify_signature(&k.public_key(), &opened), Ok(()));
    }

    #[test]
    fn key_encoding_round_trip() {
        let k = SigningKey::generate();
        let pk = k.public_key();
        assert_eq!(PublicKey::parse(&pk.to_base64()).unwrap(), pk);
        assert_eq!(
            PublicKey::parse(&format!("  {}\n", pk.to_base64())).unwrap(),
            pk
        );
        let again = SigningKey::from_seed_base64(&format!("{}\n", k.to_seed_base64())).unwrap();
        assert_eq!(again.public_key(), pk);
        assert_eq!(pk.key_id().len(), 64);
    }

    #[test]
    fn bad_keys_are_rejected() {
        assert_eq!(PublicKey::parse("not base64!"), Err(KeyError::Base64));
        assert_eq!(
            PublicKey::parse(&STANDARD.encode([1u8; 31])),
            Err(KeyError::Length { found: 31 })
        );
        assert_eq!(
            PublicKey::parse(&STANDARD.encode([1u8; 33])),
            Err(KeyError::Length { found: 33 })
        );
        assert!(matches!(
            PublicKey::parse(&"A".repeat(10_000)),
            Err(KeyError::Length { .. })
        ));
        // Identity point (small order): y = 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicKey::parse(&STANDARD.encode(identity)),
            Err(KeyError::WeakKey)
        );
        // A point of order 8 (from the ed25519 small-order list).
        let order8 =
            hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
                .unwrap();
        assert_eq!(
            PublicKey::parse(&STANDARD.encode(order8)),
            Err(KeyError::WeakKey)
        );
        // Non-canonical encoding of the identity: y = p + 1.
        let p_plus_1 =
            hex::decode("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
                .unwrap();
        assert_eq!(
            PublicKey::parse(&STANDARD.encode(p_plus_1)),
            Err(KeyError::InvalidPoint)
        );
        assert!(SigningKey::from_seed_base64("AAAA").is_err());
        assert_eq!(
            SigningKey::from_seed_base64(&STANDARD.encode([0u8; 31])).unwrap_err(),
            KeyError::Length { found: 31 }
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = key();
        let seed_b64 = k.to_seed_base64();
        let shown = format!("{k:?} {:?} {:?}", k.public_key(), sign(&k, PAYLOAD));
        assert!(!shown.contains(&seed_b64));
        assert!(!shown.contains(&hex::encode(SEED)));
        assert!(!shown.contains("7, 7, 7"));
        assert!(shown.contains(&k.public_key().key_id()));
    }

    #[test]
    fn every_rule_id_is_distinct_snake_case() {
        let all = [
            EnvelopeError::NotJson(String::new()),
            EnvelopeError::Malformed(String::new()),
            EnvelopeError::UnknownField {
                field: String::new(),
            },
            EnvelopeError::Base64 { field: "payload" },
            EnvelopeError::SignatureCount { found: 0 },
            EnvelopeError::SignatureLength { found: 0 },
            EnvelopeError::KeyIdFormat,
            EnvelopeError::WrongPayloadType {
                expected: PAYLOAD_TYPE,
                found: String::new(),
            },
            EnvelopeError::KeyIdMismatch {
                envelope: String::new(),
                key: String::new(),
            },
            EnvelopeError::BadSignature,
        ];
        let mut ids: Vec<&str> = all.iter().map(|e| e.rule().id()).collect();
        assert!(ids.iter().all(|id| id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }

    #[test]
    fn fuzz_regression_value_of_the_wrong_type_is_not_echoed_whole() {
        // Found by fuzz target bundle_verify (minimized): a JSON string where the envelope object
        // belongs. serde_json's message quoted all of it, so unsigned input of any size went
        // verbatim into the rejection and the log line.
        const CRASH: &str = concat!(
            r#""yc2lvbiI6MiwiZGF0YXNldCI6InZpb2xhdGlvbnMiLCJzZXF1ZW5jZSI6NSwicHJldmlvdXNfaGFzaCI6Ij"#,
            r#"AyMWJkNDkw^WY3OTgyZTgwMjgxN2Y2MzgyNzY0ZmRkOTMxYmI2YmEcml0aG0iOiJzaGEyNTYiLCJtZXJrbGV"#,
            r#"fcm9vdCI6ImVlNmUwMGIyNzRiM0ZWVkN2RyNTYiLCJtZXJrbGVfcm9vdCI6ImVlNmUwMGIyNzRiM0ZWVkN2R"#,
            r#"iNWFlNEifQ6InZpb2xhdGlvbnMiLCJzZXF1ZW5jZNSwicHJzaCI6IjAyMWJkNDkw^WY3OTgyZTgwMjgxN2Y2"#,
            r#"MzgyNzY0ZmRkOTMxYmI2YmEcml0aG0iOiJzaGEyNTYiLCJtZXJrbGVfcm9vdCI6ImVlNmUwMGIyNzRiM0ZWV"#,
            r#"kN2RyNTYiLCJtZXJrbZWVk92451c827d2ba5a30708ecQRzgzb24iOiLmnKrmjp7njq/looPnp5HmioDmnIn"#,
            r#"pmZDlha""#,
        );
        let err = open_err(CRASH.as_bytes());
        assert_eq!(err.rule(), "envelope_malformed");
        let shown = err.to_string();
        let bound = "envelope is malformed: ".len() + 2 * MAX_ECHO + 1;
        assert!(shown.chars().count() <= bound, "{shown}");
        assert!(
            shown.starts_with("envelope is malformed: invalid type: string \"yc2lvbiI6"),
            "{shown}"
        );
        assert!(
            shown.ends_with("expected a JSON object at line 1 column 512"),
            "{shown}"
        );
        // Any size, anywhere in the envelope.
        let huge = format!("\"{}\"", "A".repeat(1 << 20));
        assert!(open_err(huge.as_bytes()).to_string().chars().count() <= bound);
        let nested = format!("{{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":{huge}}}");
        let err = open_err(nested.as_bytes());
        assert_eq!(err.rule(), "envelope_malformed");
        assert!(err.to_string().chars().count() <= bound, "{err}");
        // A short value is still quoted whole.
        let err = open_err(br#"{"payloadType":"t","payload":"","signatures":"short"}"#);
        assert!(
            err.to_string()
                .contains("invalid type: string \"short\", expected a sequence"),
            "{err}"
        );
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let base = signed();
        // Every single-byte truncation and every single-byte corruption either opens or errs.
        for cut in 0..base.len() {
            let _ = open(&base[..cut]);
        }
        for i in 0..base.len() {
            for v in [0u8, b'"', b'\\', b'{', b'A', 0xff] {
                let mut b = base.clone();
                b[i] = v;
                if let Ok(o) = open(&b) {
                    let _ = verify_signature(&key().public_key(), &o);
                    let _ = check_payload_type(&o);
                }
            }
        }
        // Deep nesting is refused by serde_json's recursion limit, not by a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(open(deep.as_bytes()).is_err());
    }
}
