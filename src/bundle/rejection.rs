//! Why a bundle was refused: the rule broken, the record (when one is at fault) and a message.

use std::fmt;

use super::strict::clip;

/// Names the record at fault: its position in the bundle and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// Zero-based position of the record in the bundle (its Merkle leaf index).
    pub index: usize,
    /// The record's key (code, and decision number for listings and violations), when readable.
    pub key: Option<String>,
}

/// Declares every rule id once: the enum, its id and the document that states it. A rejection
/// can only be made from a [`Rule`], so no id exists outside this list, and a test checks that
/// each id is in its document.
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident => $id:literal in $document:expr,)*) => {
        /// A rule of the import contract (`docs/bundle-format.md`) or of proof verification
        /// (`docs/verify.md`), by its stable snake_case id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, in the order of the verification.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable id, as messages, API errors and logs name it.
            pub const fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }

            /// The document (under `docs/`) that states the rule.
            pub const fn document(self) -> &'static str {
                match self {
                    $(Rule::$variant => $document,)*
                }
            }
        }
    };
}

const FORMAT: &str = "bundle-format.md";
const VERIFY: &str = "verify.md";

rules! {
    SizeLimit => "size_limit" in FORMAT,
    EnvelopeNotJson => "envelope_not_json" in FORMAT,
    EnvelopeMalformed => "envelope_malformed" in FORMAT,
    EnvelopeUnknownField => "envelope_unknown_field" in FORMAT,
    EnvelopeBase64 => "envelope_base64" in FORMAT,
    SignatureCount => "signature_count" in FORMAT,
    SignatureLength => "signature_length" in FORMAT,
    SignatureKeyidFormat => "signature_keyid_format" in FORMAT,
    EnvelopeLayout => "envelope_layout" in FORMAT,
    PayloadType => "payload_type" in FORMAT,
    KeyUnknown => "key_unknown" in FORMAT,
    SignatureKeyMismatch => "signature_key_mismatch" in FORMAT,
    SignatureInvalid => "signature_invalid" in FORMAT,
    PayloadParse => "payload_parse" in FORMAT,
    RecordsLayout => "records_layout" in FORMAT,
    FormatVersion => "format_version" in FORMAT,
    HashAlgorithm => "hash_algorithm" in FORMAT,
    Sequence => "sequence" in FORMAT,
    KeyNotTrustedForSequence => "key_not_trusted_for_sequence" in FORMAT,
    Equivocation => "equivocation" in FORMAT,
    PreviousHash => "previous_hash" in FORMAT,
    RecordCount => "record_count" in FORMAT,
    EmptyDataset => "empty_dataset" in FORMAT,
    MerkleRoot => "merkle_root" in FORMAT,
    EvaluationSchedule => "evaluation_schedule" in FORMAT,
    Dates => "dates" in FORMAT,
    CalendarRange => "calendar_range" in FORMAT,
    ObjectionDeadline => "objection_deadline" in FORMAT,
    RecordParse => "record_parse" in FORMAT,
    RecordCanonical => "record_canonical" in FORMAT,
    CodeCheck => "code_check" in FORMAT,
    Text => "text" in FORMAT,
    ScoreRange => "score_range" in FORMAT,
    BasicCategorySum => "basic_category_sum" in FORMAT,
    ScoresMissing => "scores_missing" in FORMAT,
    GradeBand => "grade_band" in FORMAT,
    RiskBand => "risk_band" in FORMAT,
    Art11GradeRisk => "art11_grade_risk" in FORMAT,
    ObjectionDates => "objection_dates" in FORMAT,
    ObjectionState => "objection_state" in FORMAT,
    ChangeDates => "change_dates" in FORMAT,
    ListingState => "listing_state" in FORMAT,
    ListingDates => "listing_dates" in FORMAT,
    KeyOrder => "key_order" in FORMAT,
    DuplicateKey => "duplicate_key" in FORMAT,
    NameTwin => "name_twin" in FORMAT,
    CreatedAtOrder => "created_at_order" in FORMAT,
    CreatedAtFuture => "created_at_future" in FORMAT,
    YearOrder => "year_order" in FORMAT,
    PublicityDateChanged => "publicity_date_changed" in FORMAT,
    PublicationBackdated => "publication_backdated" in FORMAT,
    PublishedScheduleChanged => "published_schedule_changed" in FORMAT,
    PublishedRecordRemoved => "published_record_removed" in FORMAT,
    ChangeReasonMissing => "change_reason_missing" in FORMAT,
    InstitutionCountDrop => "institution_count_drop" in FORMAT,
    Art11Listing => "art11_listing" in FORMAT,
    ProofParse => "proof_parse" in VERIFY,
    ProofFormat => "proof_format" in VERIFY,
    ProofMismatch => "proof_mismatch" in VERIFY,
    RecordMismatch => "record_mismatch" in VERIFY,
    ManifestEnvelope => "manifest_envelope" in VERIFY,
    Inclusion => "inclusion" in VERIFY,
    ChainParse => "chain_parse" in VERIFY,
}

/// Lets a test say `assert_eq!(rule, "envelope_layout")`.
impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.id() == *other
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A refused bundle. `rule` is a stable snake_case id (documented in `docs/bundle-format.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub rule: &'static str,
    pub record: Option<RecordRef>,
    pub message: String,
}

impl Rejection {
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Rejection {
            rule: rule.id(),
            record: None,
            message: message.into(),
        }
    }

    /// A rejection naming record `index`; the key is clipped, since it comes from the input.
    pub fn at(rule: Rule, index: usize, key: Option<String>, message: impl Into<String>) -> Self {
        Rejection {
            rule: rule.id(),
            record: Some(RecordRef {
                index,
                key: key.map(|k| clip(&k, 120)),
            }),
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.record {
            Some(RecordRef {
                index,
                key: Some(key),
            }) => write!(f, "record {index} ({key}): ")?,
            Some(RecordRef { index, key: None }) => write!(f, "record {index}: ")?,
            None => {}
        }
        write!(f, "[{}] {}", self.rule, self.message)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::Rule;

    /// The contract is the document: every rule the code can refuse with is stated there, in
    /// backquotes, in the table of its document (for the bundle format, "Every rule id").
    #[test]
    fn every_rule_id_is_documented() {
        let root = env!("CARGO_MANIFEST_DIR");
        for rule in Rule::ALL {
            let path = format!("{root}/docs/{}", rule.document());
            let doc = std::fs::read_to_string(&path).unwrap_or_default();
            let documented = if rule.document() == "bundle-format.md" {
                doc.split("## Every rule id")
                    .nth(1)
                    .is_some_and(|table| table.contains(&format!("| `{}` |", rule.id())))
            } else {
                doc.contains(&format!("`{}`", rule.id()))
            };
            assert!(
                documented,
                "rule id {} is not documented in {path}",
                rule.id()
            );
        }
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len(), "a rule id is declared twice");
    }

    /// And the other way round: the document's table lists no rule the code does not have.
    #[test]
    fn the_documented_rule_ids_exist() {
        let doc = include_str!("../../docs/bundle-format.md");
        let table = doc.split("## Every rule id").nth(1).unwrap_or_default();
        for line in table.lines().filter(|l| l.starts_with("| `")) {
            let id = line
                .trim_start_matches("| `")
                .split('`')
                .next()
                .unwrap_or_default();
            assert!(
                Rule::ALL.iter().any(|r| r.id() == id),
                "docs/bundle-format.md documents rule id {id}, which the code does not have"
            );
        }
    }
}
