//! The records of each dataset, their canonical byte form and their sort keys.
//!
//! Canonical form: the record serialized as JSON with object keys sorted by their bytes, no
//! insignificant white space, integers only, absent optional fields omitted (never `null`, never
//! an empty list), strings escaped as `serde_json` does (`\"`, `\\`, `\b\f\n\r\t`, other control
//! characters as lowercase `\u00xx`, everything else as raw UTF-8). A record's bytes in the payload
//! must be exactly that form; so each record has one hash.

use std::cmp::Ordering;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::art11::Art11Ground;
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel};

/// Score fields are integers in hundredths of a point: 9150 is 91.50.
pub type Hundredths = i64;

/// Largest magnitude accepted for any score, in hundredths (a bound on untrusted input).
pub const MAX_SCORE_MAGNITUDE: Hundredths = 100_000;

/// One evaluation year's result for one institution (key: `code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRecord {
    /// Unified social credit code (18 characters, check character verified).
    pub code: String,
    /// Registered name.
    pub name: String,
    /// Earlier names, kept searchable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_names: Vec<String>,
    /// County-level division (6-digit code) from the institution's record.
    pub county: County,
    /// Inspection and testing body qualification (CMA) certificate number.
    pub cma_certificate: String,
    /// Basic credit evaluation (Art. 9, 10); optional only with an Art. 11 finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicScore>,
    /// Credit grade; must agree with the basic score band, or be E with an Art. 11 finding.
    pub grade: Grade,
    /// Risk score in hundredths; optional only with an Art. 11 finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<Hundredths>,
    /// Risk level; must agree with the risk score band, or be high with an Art. 11 finding.
    pub risk: RiskLevel,
    /// Art. 11 findings that put the institution directly at E and high risk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub art11: Vec<Art11Finding>,
    /// An objection against this result (Art. 16), shown publicly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection: Option<Objection>,
    /// Why this record differs from its published predecessor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// The basic score and its six categories (Art. 9), all in hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicScore {
    /// The basic score: the sum of the six categories.
    pub total: Hundredths,
    /// 监测能力
    pub monitoring_capability: Hundredths,
    /// 信息登记
    pub information_registration: Hundredths,
    /// 经营管理
    pub business_management: Hundredths,
    /// 诚信记录
    pub integrity_record: Hundredths,
    /// 加分项
    pub bonus: Hundredths,
    /// 地方项 (may be negative)
    pub local: Hundredths,
}

impl BasicScore {
    pub fn categories(&self) -> [(&'static str, Hundredths); 6] {
        [
            ("monitoring_capability", self.monitoring_capability),
            ("information_registration", self.information_registration),
            ("business_management", self.business_management),
            ("integrity_record", self.integrity_record),
            ("bonus", self.bonus),
            ("local", self.local),
        ]
    }

    /// The sum of the six categories, or None on overflow.
    pub fn category_sum(&self) -> Option<Hundredths> {
        self.categories()
            .iter()
            .try_fold(0i64, |acc, (_, v)| acc.checked_add(*v))
    }
}

/// One Art. 11 finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Art11Finding {
    /// Which of the five grounds of Art. 11 (1–5).
    pub ground: Art11Ground,
    /// Short public description, e.g. the penalty decision number.
    pub description: String,
    /// The day the finding was verified.
    #[serde(with = "crate::bundle::strict::date")]
    pub determined_on: NaiveDate,
}

/// State of an objection (Art. 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionStatus {
    Filed,
    UnderReview,
    Decided,
}

/// An objection mark on a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objection {
    pub status: ObjectionStatus,
    /// Filed within the objection period (publicity date to deadline, inclusive).
    #[serde(with = "crate::bundle::strict::date")]
    pub filed_on: NaiveDate,
    /// Set exactly when the status is `decided`.
    #[serde(
        default,
        with = "crate::bundle::strict::optional_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub decided_on: Option<NaiveDate>,
    /// The outcome in a sentence, when decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// Kind of a change to a published record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A correction after review (Art. 16), effective from the original publication.
    Correction,
    /// A new determination (e.g. an Art. 11 finding), effective from its date.
    Determination,
}

/// Why a published record changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub kind: ChangeKind,
    #[serde(with = "crate::bundle::strict::date")]
    pub decision_date: NaiveDate,
    #[serde(with = "crate::bundle::strict::date")]
    pub effective_from: NaiveDate,
    pub reason: String,
    /// The decision number.
    pub reference: String,
}

/// State of a serious-dishonesty listing (Art. 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListingState {
    /// Publicized (公示), not yet issued: not in force.
    Publicity,
    /// Issued (签发): in force.
    InForce,
    /// Credit repaired (修复): no longer in force.
    Repaired,
    /// Removed (移出): no longer in force.
    Removed,
}

impl ListingState {
    /// The state as the bundle format writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ListingState::Publicity => "publicity",
            ListingState::InForce => "in_force",
            ListingState::Repaired => "repaired",
            ListingState::Removed => "removed",
        }
    }
}

impl Listing {
    /// Whether the listing is in force on `on`: issued (签发) by then, and not yet repaired or
    /// removed. Only an issued listing is ever in force.
    pub fn in_force_on(&self, on: NaiveDate) -> bool {
        match self.state {
            ListingState::Publicity => false,
            ListingState::InForce => self.in_force_from.is_some_and(|from| from <= on),
            ListingState::Repaired | ListingState::Removed => {
                self.in_force_from.is_some_and(|from| from <= on)
                    && self.ended_on.is_some_and(|end| on < end)
            }
        }
    }
}

impl ObjectionStatus {
    /// The status as the bundle format writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectionStatus::Filed => "filed",
            ObjectionStatus::UnderReview => "under_review",
            ObjectionStatus::Decided => "decided",
        }
    }
}

/// A listing on the serious-dishonesty list (key: `code`, `decision_number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    pub code: String,
    pub name: String,
    pub decision_number: String,
    pub reason: String,
    pub state: ListingState,
    /// The day the listing was decided and publicized.
    #[serde(with = "crate::bundle::strict::date")]
    pub listed_on: NaiveDate,
    /// The day it was issued and came into force; required unless in publicity.
    #[serde(
        default,
        with = "crate::bundle::strict::optional_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub in_force_from: Option<NaiveDate>,
    /// The day it was repaired or removed; required exactly for those states.
    #[serde(
        default,
        with = "crate::bundle::strict::optional_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// A publicized verified violation (Art. 17; key: `code`, `decision_number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Violation {
    pub code: String,
    pub name: String,
    pub decision_number: String,
    /// The deciding authority.
    pub authority: String,
    pub description: String,
    #[serde(with = "crate::bundle::strict::date")]
    pub decided_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// The parsed records of one bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Records {
    Evaluation(Vec<EvaluationRecord>),
    DishonestyList(Vec<Listing>),
    Violations(Vec<Violation>),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Evaluation(r) => r.len(),
            Records::DishonestyList(r) => r.len(),
            Records::Violations(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key of record `index`.
    pub fn key(&self, index: usize) -> Option<RecordKey> {
        match self {
            Records::Evaluation(r) => r.get(index).map(|r| RecordKey::new(&r.code, None)),
            Records::DishonestyList(r) => r
                .get(index)
                .map(|r| RecordKey::new(&r.code, Some(&r.decision_number))),
            Records::Violations(r) => r
                .get(index)
                .map(|r| RecordKey::new(&r.code, Some(&r.decision_number))),
        }
    }
}

/// The key of a record: a result by code; a listing or violation by code and decision number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    pub code: String,
    pub decision_number: Option<String>,
}

impl RecordKey {
    pub fn new(code: &str, decision_number: Option<&str>) -> Self {
        RecordKey {
            code: code.to_owned(),
            decision_number: decision_number.map(str::to_owned),
        }
    }

    /// Keys sort by code, then by decision number (byte order).
    pub fn compare(&self, other: &RecordKey) -> Ordering {
        self.cmp(other)
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.decision_number {
            Some(number) => write!(f, "{} {}", self.code, number),
            None => f.write_str(&self.code),
        }
    }
}

/// The canonical bytes of a record.
pub fn canonical_bytes<T: Serialize>(record: &T) -> Result<Vec<u8>, serde_json::Error> {
    // Going through `Value` sorts object keys (serde_json's map is a BTreeMap without the
    // `preserve_order` feature), which makes the form independent of struct field order.
    let value = serde_json::to_value(record)?;
    serde_json::to_vec(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_and_omits_absent_fields() {
        let change = Change {
            kind: ChangeKind::Correction,
            decision_date: NaiveDate::from_ymd_opt(2024, 11, 1).unwrap_or_default(),
            effective_from: NaiveDate::from_ymd_opt(2024, 10, 25).unwrap_or_default(),
            reason: "复核更正 \"x\"\n".into(),
            reference: "嘉环复〔2024〕1号".into(),
        };
        let bytes = canonical_bytes(&change).unwrap_or_default();
        assert_eq!(
            String::from_utf8(bytes).unwrap_or_default(),
            r#"{"decision_date":"2024-11-01","effective_from":"2024-10-25","kind":"correction","reason":"复核更正 \"x\"\n","reference":"嘉环复〔2024〕1号"}"#
        );
    }

    #[test]
    fn keys_sort_by_code_then_decision_number() {
        let a = RecordKey::new("A", Some("2"));
        let b = RecordKey::new("A", Some("10"));
        let c = RecordKey::new("B", None);
        assert_eq!(b.compare(&a), Ordering::Less);
        assert_eq!(a.compare(&c), Ordering::Less);
    }
}
