//! One institution as the registry shows it.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::bundle::records::{ChangeKind, EvaluationRecord, Listing, ListingState, Violation};
use crate::domain::county::County;

/// A record as it was in one accepted bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersion {
    /// The bundle it came from.
    pub sequence: u64,
    /// Its Merkle leaf index in that bundle.
    pub leaf_index: u64,
    pub record: EvaluationRecord,
}

impl RecordVersion {
    /// Whether this version applies on `on`, as known now: the first version and corrections
    /// always (a correction reaches back to the original publication); a determination from its
    /// effective date.
    fn applies_on(&self, on: NaiveDate) -> bool {
        match &self.record.change {
            Some(change) if change.kind == ChangeKind::Determination => change.effective_from <= on,
            _ => true,
        }
    }
}

/// An institution's result for one year, with every version it has had (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearResult {
    pub year: i32,
    pub versions: Vec<RecordVersion>,
}

impl YearResult {
    /// The current version (the last one).
    pub fn current(&self) -> Option<&RecordVersion> {
        self.versions.last()
    }

    /// The version that applies on `on`, as known now.
    pub fn as_of(&self, on: NaiveDate) -> Option<&RecordVersion> {
        self.versions.iter().rev().find(|v| v.applies_on(on))
    }

    /// Versions after the first, each carrying why it changed.
    pub fn changes(&self) -> impl Iterator<Item = &RecordVersion> {
        self.versions.iter().skip(1)
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
        let l = &self.listing;
        match l.state {
            ListingState::Publicity => false,
            ListingState::InForce => l.in_force_from.is_some_and(|from| from <= on),
            ListingState::Repaired | ListingState::Removed => {
                l.in_force_from.is_some_and(|from| from <= on)
                    && l.ended_on.is_some_and(|end| on < end)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationView {
    pub sequence: u64,
    pub leaf_index: u64,
    pub violation: Violation,
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
