//! Verification of a bundle, in the documented order (`docs/bundle-format.md`, "Verification
//! order"); the first failure wins.
//!
//! 1. size limit
//! 2. envelope, then its exact layout
//! 3. payload type
//! 4. key known (by the envelope's key id)
//! 5. signature
//! 6. strict parse of the payload (the manifest; unknown and duplicate fields rejected)
//! 7. format version, hash algorithm, sequence ≥ 1
//! 8. key trusted for this sequence number
//! 9. sequence = last + 1 (the same bundle again is a no-op; another one at an accepted
//!    sequence is equivocation) and the previous hash
//! 10. the records array (strict parse, exact layout), record count, not empty for a year
//! 11. Merkle root
//! 12. the dataset's dates (publicity, objection deadline from the calendar, publication)
//! 13. each record: size, strict parse and canonical form
//! 14. each record against the rules of the measures
//! 15. keys sorted, no duplicates, no NFKC twin names
//!
//! Step 16, the rules that need the accepted chain, is [`super::history`].
//!
//! Nothing unauthenticated is parsed beyond the envelope: the key is looked up by the envelope's
//! key id and the signature checked before the manifest is read ([`signed_manifest`], steps 2
//! to 8), so the sequence range of the key is checked right after the strict parse. The records
//! are not signed themselves: the signed manifest commits to them by count and Merkle root,
//! checked before any record is parsed.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::envelope::{self, PublicKey};
use super::manifest::{Dataset, EvaluationSchedule, Manifest, FORMAT_VERSION, HASH_ALGORITHM};
use super::merkle::{self, Hash};
use super::records::{
    canonical_bytes, Change, ChangeKind, EvaluationRecord, Listing, ListingState, ObjectionStatus,
    RecordKey, Records, Violation, MAX_SCORE_MAGNITUDE,
};
use super::rejection::{Rejection, Rule};
use super::strict::{clip, Object};
use crate::domain::art11::{ART11_GRADE, ART11_RISK};
use crate::domain::calendar::Calendar;
use crate::domain::code::CreditCode;
use crate::domain::score::{Grade, RiskLevel, Score};

/// A public key trusted to sign the bundles of a range of sequence numbers.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// A name for logs and messages.
    pub name: String,
    pub key: PublicKey,
    /// First sequence number this key may sign.
    pub from_seq: u64,
    /// Last sequence number this key may sign; `None` while not revoked.
    pub until_seq: Option<u64>,
}

impl TrustedKey {
    pub fn covers(&self, sequence: u64) -> bool {
        sequence >= self.from_seq && self.until_seq.is_none_or(|until| sequence <= until)
    }

    fn range(&self) -> String {
        match self.until_seq {
            Some(until) => format!("{}..={}", self.from_seq, until),
            None => format!("{}..", self.from_seq),
        }
    }
}

/// Bounds on untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest bundle file accepted, in bytes.
    pub max_bundle_bytes: usize,
    /// Most records in one bundle.
    pub max_records: usize,
    /// Largest single record, in bytes.
    pub max_record_bytes: usize,
}

impl Limits {
    /// For re-verifying bundles already accepted: they were bounded when they were imported,
    /// and a limit lowered since must not turn them into integrity failures.
    pub const STORED: Limits = Limits {
        max_bundle_bytes: usize::MAX,
        max_records: usize::MAX,
        max_record_bytes: usize::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bundle_bytes: 256 * 1024 * 1024,
            max_records: 1_000_000,
            max_record_bytes: 64 * 1024,
        }
    }
}

/// The accepted chain: `accepted[i]` is the payload hash of sequence `i + 1`.
pub type ChainView<'a> = &'a [Hash];

/// The outcome of a successful verification.
#[derive(Debug)]
pub enum Verified {
    /// A new bundle, next in the chain (or checked standalone).
    New(Box<VerifiedBundle>),
    /// Exactly the bundle already accepted at this sequence number: nothing to do.
    AlreadyAccepted { sequence: u64 },
}

/// A bundle that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The file exactly as signed (kept, and re-verified at every start).
    pub envelope: Vec<u8>,
    /// SHA-256 of the payload bytes: the bundle's identity and the next bundle's previous hash.
    pub payload_hash: Hash,
    /// Key id of the signing key.
    pub key_id: String,
    pub manifest: Manifest,
    /// Canonical bytes of each record, in bundle order (the Merkle leaves' preimages).
    pub record_bytes: Vec<Vec<u8>>,
    /// Merkle leaf hashes, in bundle order.
    pub leaves: Vec<Hash>,
    pub records: Records,
}

impl VerifiedBundle {
    /// The payload hash as 64 hex digits.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.payload_hash)
    }
}

/// Told how far the per-record work (steps 11 to 14) of a bundle have got: `(records done,
/// records in the bundle)`. Called every [`PROGRESS_EVERY`] records and once at the end, so it
/// costs nothing measurable; it must not block. The caller decides how to show it.
pub type Progress<'a> = &'a dyn Fn(usize, usize);

/// How many records pass between two calls of a [`Progress`] callback.
pub const PROGRESS_EVERY: usize = 1024;

/// A bundle's manifest, its signature verified (steps 2 to 8), and its records not yet looked at.
pub struct SignedManifest {
    pub manifest: Manifest,
    /// SHA-256 of the payload bytes.
    pub payload_hash: Hash,
    /// Key id of the signing key.
    pub key_id: String,
    /// The records' bytes, unchecked.
    pub records: Vec<u8>,
}

/// Steps 2 to 8 of a bundle (the caller bounds its size): the envelope and its layout, the
/// signature by a trusted key, the manifest's strict parse and fields, the key's sequence range.
/// What it returns about the dataset, dates and chain position is signed; the records are not
/// checked.
pub fn signed_manifest(bytes: &[u8], keys: &[TrustedKey]) -> Result<SignedManifest, Rejection> {
    let opened = envelope::open(bytes).map_err(|e| Rejection::new(e.rule(), e.to_string()))?;
    if opened.records.is_none() {
        return Err(Rejection::new(
            Rule::EnvelopeMalformed,
            "the envelope has no `records`: a bundle carries its records beside the signed manifest",
        ));
    }
    envelope::check_layout(bytes, &opened).map_err(|e| Rejection::new(e.rule(), e.to_string()))?;
    envelope::check_payload_type(&opened).map_err(|e| Rejection::new(e.rule(), e.to_string()))?;
    let trusted = keys
        .iter()
        .find(|k| k.key.key_id() == opened.key_id)
        .ok_or_else(|| {
            Rejection::new(
                Rule::KeyUnknown,
                format!("signing key {} is not a trusted key", opened.key_id),
            )
        })?;
    envelope::verify_signature(&trusted.key, &opened)
        .map_err(|e| Rejection::new(e.rule(), e.to_string()))?;
    let Object(manifest): Object<Manifest> = serde_json::from_slice(&opened.payload)
        .map_err(|e| Rejection::new(Rule::PayloadParse, format!("manifest: {e}")))?;
    check_manifest_fields(&manifest)?;
    if !trusted.covers(manifest.sequence) {
        return Err(Rejection::new(
            Rule::KeyNotTrustedForSequence,
            format!(
                "key {} ({}) is trusted for sequence {}, not for sequence {}",
                trusted.name,
                opened.key_id,
                trusted.range(),
                manifest.sequence
            ),
        ));
    }
    Ok(SignedManifest {
        payload_hash: Sha256::digest(&opened.payload).into(),
        manifest,
        key_id: opened.key_id,
        records: opened.records.unwrap_or_default(),
    })
}

/// Verifies `bytes` as a bundle. With `chain`, the sequence and previous-hash rules are checked
/// against the accepted chain; without it (standalone), they are skipped.
pub fn verify(
    bytes: &[u8],
    keys: &[TrustedKey],
    chain: Option<ChainView<'_>>,
    limits: &Limits,
) -> Result<Verified, Rejection> {
    verify_with_progress(bytes, keys, chain, limits, None)
}

/// [`verify`], telling `progress` how far the per-record checks have got.
pub fn verify_with_progress(
    bytes: &[u8],
    keys: &[TrustedKey],
    chain: Option<ChainView<'_>>,
    limits: &Limits,
    progress: Option<Progress<'_>>,
) -> Result<Verified, Rejection> {
    if bytes.len() > limits.max_bundle_bytes {
        return Err(Rejection::new(
            Rule::SizeLimit,
            format!(
                "bundle is {} bytes, more than the limit of {} bytes",
                bytes.len(),
                limits.max_bundle_bytes
            ),
        ));
    }
    let SignedManifest {
        manifest,
        payload_hash,
        key_id,
        records: records_json,
    } = signed_manifest(bytes, keys)?;
    if let Some(accepted) = chain {
        if let Some(done) = check_chain(&manifest, payload_hash, accepted)? {
            return Ok(done);
        }
    }
    // Records stay raw here: their exact bytes are the Merkle leaves, parsed and checked for
    // canonical form one by one after the root has been checked.
    let records_raw = records_array(&records_json)?;
    if records_raw.len() as u64 != manifest.record_count {
        return Err(Rejection::new(
            Rule::RecordCount,
            format!(
                "manifest says {} records, the bundle holds {}",
                manifest.record_count,
                records_raw.len()
            ),
        ));
    }
    if records_raw.is_empty() && matches!(manifest.dataset, Dataset::Evaluation(_)) {
        return Err(Rejection::new(
            Rule::EmptyDataset,
            format!(
                "{} has no records: an evaluation year holds at least one result",
                manifest.dataset
            ),
        ));
    }
    if records_raw.len() > limits.max_records {
        return Err(Rejection::new(
            Rule::SizeLimit,
            format!(
                "{} records, more than the limit of {}",
                records_raw.len(),
                limits.max_records
            ),
        ));
    }
    let tracker = Tracker {
        progress,
        total: records_raw.len(),
    };
    let leaves: Vec<Hash> = records_raw
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            tracker.tick(Pass::Leaves, i);
            merkle::leaf_hash(raw.get().as_bytes())
        })
        .collect();
    let root = merkle::root(&leaves);
    if root != manifest.merkle_root {
        return Err(Rejection::new(
            Rule::MerkleRoot,
            format!(
                "the records hash to root {}, the manifest says {}",
                hex::encode(root),
                hex::encode(manifest.merkle_root)
            ),
        ));
    }

    let raw: Vec<&[u8]> = records_raw.iter().map(|r| r.get().as_bytes()).collect();
    // Everything a bundle reports happened on or before the day it was made.
    let made = manifest.created_at.date_naive();
    let records = match manifest.dataset {
        Dataset::Evaluation(year) => {
            let schedule = check_schedule(year, manifest.evaluation.as_ref(), made)?;
            let records: Vec<EvaluationRecord> = parse_all(&raw, limits, &tracker)?;
            for (i, r) in records.iter().enumerate() {
                tracker.tick(Pass::Checks, i);
                check_evaluation(r, &schedule)
                    .and_then(|()| check_dates(&evaluation_dates(r), made))
                    .map_err(|e| e.at(i, Some(r.code.clone())))?;
            }
            Records::Evaluation(records)
        }
        Dataset::DishonestyList => {
            no_schedule(&manifest)?;
            let records: Vec<Listing> = parse_all(&raw, limits, &tracker)?;
            for (i, r) in records.iter().enumerate() {
                tracker.tick(Pass::Checks, i);
                check_listing(r)
                    .and_then(|()| check_dates(&listing_dates(r), made))
                    .map_err(|e| e.at(i, Some(format!("{} {}", r.code, r.decision_number))))?;
            }
            Records::DishonestyList(records)
        }
        Dataset::Violations => {
            no_schedule(&manifest)?;
            let records: Vec<Violation> = parse_all(&raw, limits, &tracker)?;
            for (i, r) in records.iter().enumerate() {
                tracker.tick(Pass::Checks, i);
                check_violation(r)
                    .and_then(|()| check_dates(&violation_dates(r), made))
                    .map_err(|e| e.at(i, Some(format!("{} {}", r.code, r.decision_number))))?;
            }
            Records::Violations(records)
        }
    };
    check_key_order(&records)?;
    check_name_twins(&records)?;
    tracker.finished();

    Ok(Verified::New(Box::new(VerifiedBundle {
        envelope: bytes.to_vec(),
        payload_hash,
        key_id,
        manifest,
        record_bytes: raw.iter().map(|r| r.to_vec()).collect(),
        leaves,
        records,
    })))
}

fn check_manifest_fields(manifest: &Manifest) -> Result<(), Rejection> {
    if manifest.format_version != FORMAT_VERSION {
        return Err(Rejection::new(
            Rule::FormatVersion,
            format!(
                "format version {} is not supported (expected {FORMAT_VERSION})",
                manifest.format_version
            ),
        ));
    }
    if manifest.hash_algorithm != HASH_ALGORITHM {
        return Err(Rejection::new(
            Rule::HashAlgorithm,
            format!(
                "hash algorithm \"{}\" is not supported (expected \"{HASH_ALGORITHM}\")",
                clip(&manifest.hash_algorithm, 40)
            ),
        ));
    }
    if manifest.sequence == 0 {
        return Err(Rejection::new(
            Rule::Sequence,
            "sequence numbers start at 1",
        ));
    }
    Ok(())
}

/// Returns `Some(AlreadyAccepted)` for the same bundle again, `None` for the next one.
fn check_chain(
    manifest: &Manifest,
    payload_hash: Hash,
    accepted: &[Hash],
) -> Result<Option<Verified>, Rejection> {
    let last = accepted.len() as u64;
    let sequence = manifest.sequence;
    if sequence <= last {
        let index = usize::try_from(sequence - 1).unwrap_or(usize::MAX);
        return match accepted.get(index) {
            Some(hash) if *hash == payload_hash => Ok(Some(Verified::AlreadyAccepted { sequence })),
            Some(hash) => Err(Rejection::new(
                Rule::Equivocation,
                format!(
                    "EQUIVOCATION: sequence {sequence} was accepted as {}, this bundle is {}",
                    hex::encode(hash),
                    hex::encode(payload_hash)
                ),
            )),
            None => Err(Rejection::new(
                Rule::Sequence,
                format!("sequence {sequence} is unknown"),
            )),
        };
    }
    if sequence != last + 1 {
        return Err(Rejection::new(
            Rule::Sequence,
            format!(
                "sequence {sequence} does not follow the last accepted sequence {last} (expected {})",
                last + 1
            ),
        ));
    }
    let expected = accepted.last().copied().unwrap_or([0u8; 32]);
    if manifest.previous_hash != expected {
        return Err(Rejection::new(
            Rule::PreviousHash,
            format!(
                "previous hash {} is not the hash of the last accepted bundle {}",
                hex::encode(manifest.previous_hash),
                hex::encode(expected)
            ),
        ));
    }
    Ok(None)
}

fn check_schedule(
    year: i32,
    schedule: Option<&EvaluationSchedule>,
    made: NaiveDate,
) -> Result<EvaluationSchedule, Rejection> {
    let schedule = *schedule.ok_or_else(|| {
        Rejection::new(
            Rule::EvaluationSchedule,
            format!("dataset evaluation-{year} needs the manifest's evaluation dates"),
        )
    })?;
    let publicity_year = chrono::Datelike::year(&schedule.publicity_date);
    if publicity_year != year && publicity_year != year + 1 {
        return Err(Rejection::new(
            Rule::Dates,
            format!(
                "publicity date {} is not in evaluation year {year} or the year after",
                schedule.publicity_date
            ),
        ));
    }
    for (field, date) in [
        ("publicity date", Some(schedule.publicity_date)),
        ("publication date", schedule.publication_date),
    ] {
        if let Some(date) = date.filter(|d| *d > made) {
            return Err(Rejection::new(
                Rule::Dates,
                format!("{field} {date} is after the bundle was made ({made})"),
            ));
        }
    }
    let deadline = Calendar::official()
        .objection_deadline(schedule.publicity_date)
        .map_err(|e| Rejection::new(Rule::CalendarRange, e.to_string()))?;
    if deadline != schedule.objection_deadline {
        return Err(Rejection::new(
            Rule::ObjectionDeadline,
            format!(
                "objection deadline {} does not match the calendar: publicity on {} gives {deadline} (5 working days, Art. 16)",
                schedule.objection_deadline, schedule.publicity_date
            ),
        ));
    }
    if let Some(published) = schedule.publication_date {
        if published <= deadline {
            return Err(Rejection::new(
                Rule::Dates,
                format!(
                    "publication date {published} is not after the objection deadline {deadline}"
                ),
            ));
        }
    }
    Ok(schedule)
}

fn no_schedule(manifest: &Manifest) -> Result<(), Rejection> {
    if manifest.evaluation.is_some() {
        return Err(Rejection::new(
            Rule::EvaluationSchedule,
            format!("dataset {} has no evaluation dates", manifest.dataset),
        ));
    }
    if manifest.count_drop_acknowledged.is_some() {
        return Err(Rejection::new(
            Rule::EvaluationSchedule,
            format!(
                "count_drop_acknowledged is for evaluation years, not for {}",
                manifest.dataset
            ),
        ));
    }
    Ok(())
}

/// The records array, each record's exact bytes: exactly `[`, the records joined by `,`, `]`.
/// A syntax error inside it names the record it is in.
fn records_array(json: &[u8]) -> Result<Vec<&serde_json::value::RawValue>, Rejection> {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};
    use serde_json::value::RawValue;

    struct Records;
    impl<'de> Visitor<'de> for Records {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON array of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut records = Vec::new();
            loop {
                match seq.next_element::<&RawValue>() {
                    Ok(Some(record)) => records.push(record),
                    Ok(None) => return Ok(records),
                    Err(e) => {
                        return Err(serde::de::Error::custom(format_args!(
                            "record {}: {e}",
                            records.len()
                        )))
                    }
                }
            }
        }
    }

    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed = de.deserialize_seq(Records).and_then(|records| {
        de.end()?;
        Ok(records)
    });
    let records = parsed.map_err(|e| {
        let message = e.to_string();
        // "record N: …" from the visitor names the record a syntax error is in.
        match message
            .strip_prefix("record ")
            .and_then(|rest| rest.split_once(": "))
            .and_then(|(index, rest)| Some((index.parse::<usize>().ok()?, rest)))
        {
            Some((index, rest)) => Rejection::at(Rule::RecordParse, index, None, rest),
            None => Rejection::new(Rule::PayloadParse, format!("records: {message}")),
        }
    })?;
    let bytes: Vec<&[u8]> = records.iter().map(|r| r.get().as_bytes()).collect();
    let exact = super::sign::records_bytes(&bytes);
    if exact != json {
        let at = exact
            .iter()
            .zip(json)
            .position(|(a, b)| a != b)
            .unwrap_or(exact.len().min(json.len()));
        return Err(Rejection::new(
            Rule::RecordsLayout,
            format!(
                "the records array is not \"[\" + the records joined by \",\" + \"]\" with no white space: it differs from byte {at}"
            ),
        ));
    }
    Ok(records)
}

/// Parses each record strictly and requires its bytes to be its canonical form.
fn parse_all<T: DeserializeOwned + Serialize>(
    raw: &[&[u8]],
    limits: &Limits,
    tracker: &Tracker<'_>,
) -> Result<Vec<T>, Rejection> {
    raw.iter()
        .enumerate()
        .map(|(i, bytes)| {
            tracker.tick(Pass::Parse, i);
            if bytes.len() > limits.max_record_bytes {
                return Err(Rejection::at(
                    Rule::SizeLimit,
                    i,
                    peek_key(bytes),
                    format!(
                        "record is {} bytes, more than the limit of {}",
                        bytes.len(),
                        limits.max_record_bytes
                    ),
                ));
            }
            let record: T = serde_json::from_slice(bytes)
                .map_err(|e| Rejection::at(Rule::RecordParse, i, peek_key(bytes), e.to_string()))?;
            let canonical = canonical_bytes(&record)
                .map_err(|e| Rejection::at(Rule::RecordParse, i, peek_key(bytes), e.to_string()))?;
            if canonical != *bytes {
                return Err(Rejection::at(
                    Rule::RecordCanonical,
                    i,
                    peek_key(bytes),
                    "record is not in canonical form (sorted keys, no white space, no null or empty optional fields)",
                ));
            }
            Ok(record)
        })
        .collect()
}

/// The passes over every record, in order. They are counted alike though parsing is the longest
/// (about half the time, the checks a third): close enough for a progress bar.
#[derive(Clone, Copy)]
enum Pass {
    /// Merkle leaf hashes (step 11).
    Leaves = 0,
    /// Strict parse and canonical form (step 12).
    Parse = 1,
    /// The rules of each record (steps 13 and 14).
    Checks = 2,
}

const PASSES: usize = 3;

/// Turns the passes over the records into one figure for a [`Progress`] callback: records done,
/// each record counting a third when hashed, parsed and checked, so the figure only grows.
struct Tracker<'a> {
    progress: Option<Progress<'a>>,
    total: usize,
}

impl Tracker<'_> {
    /// Record `index` of `pass` is next; reports every [`PROGRESS_EVERY`] records.
    #[inline]
    fn tick(&self, pass: Pass, index: usize) {
        if index % PROGRESS_EVERY == 0 {
            if let Some(progress) = self.progress {
                let units = (pass as usize)
                    .saturating_mul(self.total)
                    .saturating_add(index);
                progress(units / PASSES, self.total);
            }
        }
    }

    fn finished(&self) {
        if let Some(progress) = self.progress {
            progress(self.total, self.total);
        }
    }
}

/// The key of a record that failed to parse, for the message, when it can be read at all.
fn peek_key(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let code = value.get("code")?.as_str()?;
    let code: String = code.chars().take(40).collect();
    Some(
        match value.get("decision_number").and_then(|d| d.as_str()) {
            Some(number) => format!("{code} {}", number.chars().take(80).collect::<String>()),
            None => code,
        },
    )
}

/// A record-level failure before its position is attached.
struct Fault {
    rule: Rule,
    message: String,
}

impl Fault {
    fn new(rule: Rule, message: impl Into<String>) -> Self {
        Fault {
            rule,
            message: message.into(),
        }
    }

    fn at(self, index: usize, key: Option<String>) -> Rejection {
        Rejection::at(self.rule, index, key, self.message)
    }
}

fn check_code(code: &str) -> Result<(), Fault> {
    CreditCode::parse(code)
        .map(|_| ())
        .map_err(|e| Fault::new(Rule::CodeCheck, format!("code \"{}\": {e}", clip(code, 40))))
}

/// Public text (docs/bundle-format.md, "Text"): present, bounded, free of control, format and
/// separator characters, no white space at either end.
fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), Fault> {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    if value.is_empty() {
        return Err(Fault::new(Rule::Text, format!("{field} is empty")));
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(Fault::new(
            Rule::Text,
            format!("{field} starts or ends with white space"),
        ));
    }
    if let Some(c) = value.chars().find(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
    }) {
        return Err(Fault::new(
            Rule::Text,
            format!("{field} holds the format character U+{:04X}", u32::from(c)),
        ));
    }
    if value.chars().count() > max_chars {
        return Err(Fault::new(
            Rule::Text,
            format!("{field} is longer than {max_chars} characters"),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Fault::new(
            Rule::Text,
            format!("{field} holds the control character U+{:04X}", u32::from(c)),
        ));
    }
    Ok(())
}

fn check_score(field: &str, value: i64) -> Result<(), Fault> {
    if value.unsigned_abs() > MAX_SCORE_MAGNITUDE.unsigned_abs() {
        return Err(Fault::new(
            Rule::ScoreRange,
            format!(
                "{field} {} is outside ±{}",
                Score::from_hundredths(value),
                Score::from_hundredths(MAX_SCORE_MAGNITUDE)
            ),
        ));
    }
    Ok(())
}

fn check_evaluation(r: &EvaluationRecord, schedule: &EvaluationSchedule) -> Result<(), Fault> {
    check_code(&r.code)?;
    check_text("name", &r.name, 200)?;
    if r.former_names.len() > 20 {
        return Err(Fault::new(Rule::Text, "more than 20 former names"));
    }
    for name in &r.former_names {
        check_text("former name", name, 200)?;
    }
    check_text("cma_certificate", &r.cma_certificate, 64)?;

    if let Some(basic) = &r.basic {
        check_score("basic total", basic.total)?;
        for (name, value) in basic.categories() {
            check_score(name, value)?;
        }
        if basic.category_sum() != Some(basic.total) {
            return Err(Fault::new(
                Rule::BasicCategorySum,
                format!(
                    "basic score {} is not the sum of its six categories ({})",
                    Score::from_hundredths(basic.total),
                    basic
                        .category_sum()
                        .map_or("overflow".to_string(), |s| Score::from_hundredths(s)
                            .to_string())
                ),
            ));
        }
    }
    if let Some(risk_score) = r.risk_score {
        check_score("risk score", risk_score)?;
    }

    if r.art11.is_empty() {
        let basic = r.basic.ok_or_else(|| {
            Fault::new(
                Rule::ScoresMissing,
                "a record without an Art. 11 finding needs its basic score",
            )
        })?;
        let risk_score = r.risk_score.ok_or_else(|| {
            Fault::new(
                Rule::ScoresMissing,
                "a record without an Art. 11 finding needs its risk score",
            )
        })?;
        let grade = Grade::from_basic_score(Score::from_hundredths(basic.total));
        if grade != r.grade {
            return Err(Fault::new(
                Rule::GradeBand,
                format!(
                    "grade {} does not match basic score {} (band {}, Art. 10)",
                    r.grade,
                    Score::from_hundredths(basic.total),
                    grade
                ),
            ));
        }
        let risk = RiskLevel::from_risk_score(Score::from_hundredths(risk_score));
        if risk != r.risk {
            return Err(Fault::new(
                Rule::RiskBand,
                format!(
                    "risk {} does not match risk score {} (band {}, Art. 10)",
                    r.risk,
                    Score::from_hundredths(risk_score),
                    risk
                ),
            ));
        }
    } else {
        if r.grade != ART11_GRADE || r.risk != ART11_RISK {
            return Err(Fault::new(
                Rule::Art11GradeRisk,
                format!(
                    "an Art. 11 finding puts the institution directly at grade E and high risk, found grade {} and risk {}",
                    r.grade, r.risk
                ),
            ));
        }
        for finding in &r.art11 {
            check_text("Art. 11 description", &finding.description, 500)?;
        }
    }

    if let Some(objection) = &r.objection {
        if objection.filed_on < schedule.publicity_date
            || objection.filed_on > schedule.objection_deadline
        {
            return Err(Fault::new(
                Rule::ObjectionDates,
                format!(
                    "objection filed on {} is outside the objection period {}..={}",
                    objection.filed_on, schedule.publicity_date, schedule.objection_deadline
                ),
            ));
        }
        match (objection.status, objection.decided_on) {
            (ObjectionStatus::Decided, Some(decided)) if decided >= objection.filed_on => {}
            (ObjectionStatus::Decided, _) => {
                return Err(Fault::new(
                    Rule::ObjectionDates,
                    "a decided objection needs a decision date on or after its filing date",
                ))
            }
            (_, Some(_)) => {
                return Err(Fault::new(
                    Rule::ObjectionDates,
                    "only a decided objection has a decision date",
                ))
            }
            (_, None) => {}
        }
        if let Some(outcome) = &objection.outcome {
            if objection.status != ObjectionStatus::Decided {
                return Err(Fault::new(
                    Rule::ObjectionState,
                    format!(
                        "only a decided objection has an outcome; this one is {}",
                        objection.status.as_str()
                    ),
                ));
            }
            check_text("objection outcome", outcome, 500)?;
        }
        if schedule.publication_date.is_some() && objection.status != ObjectionStatus::Decided {
            return Err(Fault::new(
                Rule::ObjectionState,
                format!(
                    "a published year carries only decided objections; this one is {}",
                    objection.status.as_str()
                ),
            ));
        }
    }
    if let Some(change) = &r.change {
        check_change(change, schedule.publicity_date)?;
        if change.kind == ChangeKind::Correction {
            let original = schedule.publication_date.unwrap_or(schedule.publicity_date);
            if change.effective_from != original {
                return Err(Fault::new(
                    Rule::ChangeDates,
                    format!(
                        "a correction is effective from the original publication ({original}), not {}",
                        change.effective_from
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_change(change: &Change, earliest: NaiveDate) -> Result<(), Fault> {
    check_text("change reason", &change.reason, 500)?;
    check_text("change reference", &change.reference, 100)?;
    if change.decision_date < earliest || change.effective_from < earliest {
        return Err(Fault::new(
            Rule::ChangeDates,
            format!("a change's decision and effective dates cannot precede {earliest}"),
        ));
    }
    Ok(())
}

fn check_listing(r: &Listing) -> Result<(), Fault> {
    check_code(&r.code)?;
    check_text("name", &r.name, 200)?;
    check_text("decision_number", &r.decision_number, 100)?;
    check_text("reason", &r.reason, 500)?;
    let needs_end = matches!(r.state, ListingState::Repaired | ListingState::Removed);
    let needs_start = r.state != ListingState::Publicity;
    if needs_start != r.in_force_from.is_some() || needs_end != r.ended_on.is_some() {
        return Err(Fault::new(
            Rule::ListingState,
            format!(
                "a listing in state {} needs {} in_force_from and {} ended_on",
                r.state.as_str(),
                if needs_start { "an" } else { "no" },
                if needs_end { "an" } else { "no" }
            ),
        ));
    }
    if let Some(from) = r.in_force_from {
        if from < r.listed_on || r.ended_on.is_some_and(|end| end < from) {
            return Err(Fault::new(
                Rule::ListingDates,
                "listing dates must run listed_on ≤ in_force_from ≤ ended_on",
            ));
        }
    }
    if let Some(change) = &r.change {
        check_change(change, r.listed_on)?;
    }
    Ok(())
}

fn check_violation(r: &Violation) -> Result<(), Fault> {
    check_code(&r.code)?;
    check_text("name", &r.name, 200)?;
    check_text("decision_number", &r.decision_number, 100)?;
    check_text("authority", &r.authority, 100)?;
    check_text("description", &r.description, 1000)?;
    if let Some(change) = &r.change {
        check_change(change, r.decided_on)?;
    }
    Ok(())
}

/// Keys must strictly increase: sorted, and no duplicates.
fn check_key_order(records: &Records) -> Result<(), Rejection> {
    let mut previous: Option<RecordKey> = None;
    for i in 0..records.len() {
        let Some(key) = records.key(i) else { break };
        if let Some(prev) = &previous {
            match prev.cmp(&key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Err(Rejection::at(
                        Rule::DuplicateKey,
                        i,
                        Some(key.to_string()),
                        "duplicate key",
                    ))
                }
                std::cmp::Ordering::Greater => {
                    return Err(Rejection::at(
                        Rule::KeyOrder,
                        i,
                        Some(key.to_string()),
                        format!("records are not sorted by key: {key} comes after {prev}"),
                    ))
                }
            }
        }
        previous = Some(key);
    }
    Ok(())
}

/// Two codes whose names are equal after NFKC normalisation: a spoofed twin.
fn check_name_twins(records: &Records) -> Result<(), Rejection> {
    use unicode_normalization::UnicodeNormalization;
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for i in 0..records.len() {
        let (code, name) = match records {
            Records::Evaluation(r) => (&r[i].code, &r[i].name),
            Records::DishonestyList(r) => (&r[i].code, &r[i].name),
            Records::Violations(r) => (&r[i].code, &r[i].name),
        };
        let normal: String = name.nfkc().collect();
        match seen.get(&normal) {
            Some(other) if other != code => {
                return Err(Rejection::at(
                    Rule::NameTwin,
                    i,
                    records.key(i).map(|k| k.to_string()),
                    format!(
                        "name \"{}\" is, after NFKC normalisation, the name of {other}",
                        clip(name, 80)
                    ),
                ))
            }
            Some(_) => {}
            None => {
                seen.insert(normal, code.clone());
            }
        }
    }
    Ok(())
}

/// No record date is older than this (a bound on untrusted input).
const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// Dates a record reports as having happened: each between 2000-01-01 and the day the bundle
/// was made. (A determination's effective date may lie ahead, so it is not among them.)
fn check_dates(dates: &[(&'static str, NaiveDate)], made: NaiveDate) -> Result<(), Fault> {
    for (field, date) in dates {
        if *date > made {
            return Err(Fault::new(
                Rule::Dates,
                format!("{field} {date} is after the bundle was made ({made})"),
            ));
        }
        if *date < EARLIEST_DATE {
            return Err(Fault::new(
                Rule::Dates,
                format!("{field} {date} is before {EARLIEST_DATE}"),
            ));
        }
    }
    Ok(())
}

fn change_dates(change: Option<&Change>) -> impl Iterator<Item = (&'static str, NaiveDate)> {
    change
        .map(|c| ("change decision date", c.decision_date))
        .into_iter()
}

fn evaluation_dates(r: &EvaluationRecord) -> Vec<(&'static str, NaiveDate)> {
    let mut dates: Vec<_> = r
        .art11
        .iter()
        .map(|f| ("Art. 11 determination date", f.determined_on))
        .collect();
    if let Some(o) = &r.objection {
        dates.push(("objection filing date", o.filed_on));
        dates.extend(o.decided_on.map(|d| ("objection decision date", d)));
    }
    dates.extend(change_dates(r.change.as_ref()));
    dates
}

fn listing_dates(r: &Listing) -> Vec<(&'static str, NaiveDate)> {
    let mut dates = vec![("listed_on", r.listed_on)];
    dates.extend(r.in_force_from.map(|d| ("in_force_from", d)));
    dates.extend(r.ended_on.map(|d| ("ended_on", d)));
    dates.extend(change_dates(r.change.as_ref()));
    dates
}

fn violation_dates(r: &Violation) -> Vec<(&'static str, NaiveDate)> {
    let mut dates = vec![("decided_on", r.decided_on)];
    dates.extend(change_dates(r.change.as_ref()));
    dates
}
