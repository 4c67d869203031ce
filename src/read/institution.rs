//! One institution as the registry shows it.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};

use crate::bundle::records::{ChangeKind, EvaluationRecord, Listing, ListingState, Violation};
use crate::domain::county::County;

/// A record as it was in one accepted bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersion {
    /// The bundle it came from.
    pub sequence: u64,
    /// Its Merkle leaf index in that bundle.
    pub leaf_index: u64,
    /// Whether that bundle's year was published (final) at the time.
    pub published: bool,
    pub record: EvaluationRecord,
}

/// An institution's result for one year. While the year is in publicity this is the latest
/// result only; once it is published, every published version in order (oldest first), each
/// later one carrying why it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearResult {
    pub year: i32,
    pub versions: Vec<RecordVersion>,
}

impl YearResult {
    /// Adds the record as it is in the next snapshot of its year. Results during publicity are
    /// not history: the first published version starts it.
    pub fn record(&mut self, version: RecordVersion) {
        let history_started = self.versions.iter().any(|v| v.published);
        if !version.published || !history_started {
            self.versions = vec![version];
        } else if self.current().map(|v| &v.record) != Some(&version.record) {
            self.versions.push(version);
        }
    }

    /// The current version (the last one).
    pub fn current(&self) -> Option<&RecordVersion> {
        self.versions.last()
    }

    /// The version that applies on `on`, as known now. The first version applies from the
    /// start; a determination from its effective date; a correction replaces the version it
    /// corrects over that version's whole period (Art. 16: corrections reach back). So a
    /// correction made after a determination does not carry the determination back in time.
    pub fn as_of(&self, on: NaiveDate) -> Option<&RecordVersion> {
        let mut periods: Vec<(Option<NaiveDate>, &RecordVersion)> = Vec::new();
        for version in &self.versions {
            match &version.record.change {
                Some(change) if change.kind == ChangeKind::Determination => {
                    periods.push((Some(change.effective_from), version));
                }
                _ => match periods.last_mut() {
                    Some(last) => last.1 = version,
                    None => periods.push((None, version)),
                },
            }
        }
        periods
            .iter()
            .rev()
            .find(|(from, _)| from.is_none_or(|from| from <= on))
            .map(|(_, version)| *version)
    }

    /// Versions after the first, each carrying why it changed.
    pub fn changes(&self) -> impl Iterator<Item = &RecordVersion> {
        self.versions.iter().skip(1)
    }

    /// Whether a change of this kind made one of the versions: a correction (which reaches
    /// back to publication) and a determination (which applies from its date) are told apart.
    pub fn changed_by(&self, kind: ChangeKind) -> bool {
        self.changes()
            .any(|v| v.record.change.as_ref().is_some_and(|c| c.kind == kind))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingView {
    pub sequence: u64,
    pub leaf_index: u64,
    pub listing: Listing,
}

impl ListingView {
    /// Only issued listings are in force (Art. 12); repaired or removed ones no longer are.
    pub fn in_force_on(&self, on: NaiveDate) -> bool {
        self.listing.in_force_on(on)
    }

    /// Whether the listing is publicly displayed on `today` (docs/rules.md, "Public display
    /// limits"): in publicity or in force, always; repaired, until its `ended_on` (it leaves
    /// display at once); removed, while `today < max(listed_on + 5 years, ended_on)`.
    /// Decided by today, never by the date or revision a question asks about.
    pub fn displayed(&self, today: NaiveDate) -> bool {
        let l = &self.listing;
        match l.state {
            ListingState::Publicity | ListingState::InForce => true,
            ListingState::Repaired => l.ended_on.is_some_and(|end| today < end),
            ListingState::Removed => {
                let history = five_years_after(l.listed_on);
                today < l.ended_on.map_or(history, |end| end.max(history))
            }
        }
    }
}

/// The day adverse information determined on `on` leaves public display: the same month and
/// day 5 years later (29 February → 28 February).
fn five_years_after(on: NaiveDate) -> NaiveDate {
    on.checked_add_months(Months::new(60))
        .unwrap_or(NaiveDate::MAX)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationView {
    pub sequence: u64,
    pub leaf_index: u64,
    pub violation: Violation,
}

impl ViolationView {
    /// Whether the violation is publicly displayed on `today`: until 5 years after its
    /// decision, i.e. while `today < decided_on + 5 years` (docs/rules.md, "Public display
    /// limits"). Decided by today, never by the date or revision a question asks about.
    pub fn displayed(&self, today: NaiveDate) -> bool {
        today < five_years_after(self.violation.decided_on)
    }
}

/// An institution: identity from its latest final record, results by year, listings, violations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    pub code: String,
    pub name: String,
    pub county: Option<County>,
    pub cma_certificate: Option<String>,
    /// Earlier names (from the records and from names seen in earlier years), searchable.
    pub former_names: Vec<String>,
    pub results: BTreeMap<i32, YearResult>,
    pub listings: Vec<ListingView>,
    pub violations: Vec<ViolationView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::records::{Change, ChangeKind};
    use crate::domain::county::County;
    use crate::domain::score::{Grade, RiskLevel};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn version(
        sequence: u64,
        grade: Grade,
        published: bool,
        change: Option<(ChangeKind, NaiveDate)>,
    ) -> RecordVersion {
        RecordVersion {
            sequence,
            leaf_index: 0,
            published,
            record: EvaluationRecord {
                code: "X".into(),
                name: "N".into(),
                former_names: Vec::new(),
                county: County::Nanhu,
                cma_certificate: "1".into(),
                basic: None,
                grade,
                risk_score: None,
                risk: RiskLevel::High,
                art11: Vec::new(),
                objection: None,
                change: change.map(|(kind, effective_from)| Change {
                    kind,
                    decision_date: effective_from,
                    effective_from,
                    reason: "r".into(),
                    reference: format!("ref {sequence}"),
                }),
            },
        }
    }

    fn listing(
        state: ListingState,
        listed_on: NaiveDate,
        ended_on: Option<NaiveDate>,
    ) -> ListingView {
        ListingView {
            sequence: 1,
            leaf_index: 0,
            listing: Listing {
                code: "X".into(),
                name: "N".into(),
                decision_number: "D".into(),
                reason: "r".into(),
                state,
                listed_on,
                in_force_from: (state != ListingState::Publicity).then_some(listed_on),
                ended_on,
                change: None,
            },
        }
    }

    fn violation(decided_on: NaiveDate) -> ViolationView {
        ViolationView {
            sequence: 1,
            leaf_index: 0,
            violation: Violation {
                code: "X".into(),
                name: "N".into(),
                decision_number: "V".into(),
                authority: "a".into(),
                description: "d".into(),
                decided_on,
                change: None,
            },
        }
    }

    #[test]
    fn a_violation_is_displayed_until_five_years_after_its_decision() {
        let v = violation(date(2019, 6, 1));
        assert!(v.displayed(date(2019, 6, 1)));
        assert!(v.displayed(date(2024, 5, 31)));
        assert!(!v.displayed(date(2024, 6, 1)));
        // Decided on a leap day: the cut-off is 28 February.
        let leap = violation(date(2020, 2, 29));
        assert!(leap.displayed(date(2025, 2, 27)));
        assert!(!leap.displayed(date(2025, 2, 28)));
    }

    #[test]
    fn listings_in_publicity_or_in_force_are_displayed_however_old() {
        let today = date(2040, 1, 1);
        assert!(listing(ListingState::Publicity, date(2019, 6, 1), None).displayed(today));
        assert!(listing(ListingState::InForce, date(2019, 6, 1), None).displayed(today));
    }

    #[test]
    fn a_repaired_listing_leaves_display_from_its_end() {
        let l = listing(
            ListingState::Repaired,
            date(2024, 3, 1),
            Some(date(2025, 2, 1)),
        );
        assert!(l.displayed(date(2025, 1, 31)));
        assert!(!l.displayed(date(2025, 2, 1)));
    }

    #[test]
    fn a_removed_listing_stays_until_five_years_after_listing_or_its_end_if_later() {
        let l = listing(
            ListingState::Removed,
            date(2019, 6, 1),
            Some(date(2021, 1, 1)),
        );
        assert!(l.displayed(date(2024, 5, 31)));
        assert!(!l.displayed(date(2024, 6, 1)));
        // Ended after its 5 years: displayed until it ended.
        let late = listing(
            ListingState::Removed,
            date(2019, 6, 1),
            Some(date(2025, 3, 1)),
        );
        assert!(late.displayed(date(2025, 2, 28)));
        assert!(!late.displayed(date(2025, 3, 1)));
        // Listed on a leap day.
        let leap = listing(
            ListingState::Removed,
            date(2020, 2, 29),
            Some(date(2020, 6, 1)),
        );
        assert!(leap.displayed(date(2025, 2, 27)));
        assert!(!leap.displayed(date(2025, 2, 28)));
    }

    fn grade_on(result: &YearResult, on: NaiveDate) -> Option<Grade> {
        result.as_of(on).map(|v| v.record.grade)
    }

    #[test]
    fn a_correction_reaches_back_to_publication() {
        let mut r = YearResult {
            year: 2024,
            versions: Vec::new(),
        };
        r.record(version(1, Grade::B, true, None));
        r.record(version(
            2,
            Grade::A,
            true,
            Some((ChangeKind::Correction, date(2024, 10, 25))),
        ));
        assert_eq!(grade_on(&r, date(2024, 10, 25)), Some(Grade::A));
        assert_eq!(r.changes().count(), 1);
        assert!(r.changed_by(ChangeKind::Correction));
        assert!(!r.changed_by(ChangeKind::Determination));
    }

    #[test]
    fn a_determination_applies_from_its_date_and_a_later_correction_keeps_that_date() {
        let mut r = YearResult {
            year: 2024,
            versions: Vec::new(),
        };
        r.record(version(1, Grade::C, true, None));
        r.record(version(
            2,
            Grade::E,
            true,
            Some((ChangeKind::Determination, date(2025, 3, 12))),
        ));
        r.record(version(
            3,
            Grade::D,
            true,
            Some((ChangeKind::Correction, date(2024, 10, 25))),
        ));
        assert_eq!(grade_on(&r, date(2025, 3, 11)), Some(Grade::C));
        assert_eq!(grade_on(&r, date(2025, 3, 12)), Some(Grade::D));
        assert_eq!(r.current().map(|v| v.sequence), Some(3));
        assert!(r.changed_by(ChangeKind::Correction));
        assert!(r.changed_by(ChangeKind::Determination));
    }

    #[test]
    fn results_in_publicity_are_not_history() {
        let mut r = YearResult {
            year: 2025,
            versions: Vec::new(),
        };
        r.record(version(1, Grade::B, false, None));
        r.record(version(2, Grade::A, false, None));
        assert_eq!(r.versions.len(), 1);
        r.record(version(3, Grade::C, true, None));
        assert_eq!(
            r.versions.iter().map(|v| v.sequence).collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(grade_on(&r, date(2000, 1, 1)), Some(Grade::C));
        // The same record in a later snapshot is not a new version.
        r.record(version(4, Grade::C, true, None));
        assert_eq!(r.versions.len(), 1);
    }
}
