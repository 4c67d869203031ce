//! The verified read model: everything the web layer shows, rebuilt from the stored bundles after
//! re-verifying each one, and swapped whole on a new revision (so no response mixes revisions).
//!
//! Trust: a stored bundle is shown only if its exact signed bytes still verify with a trusted key;
//! a stored record row is used only if its bytes hash to the verified leaf at its index and its
//! query columns equal what the verified record says. Anything else is withheld, logged and
//! counted — a row edited behind the registry's back is never displayed.

mod build;
pub mod changes;
pub mod cursor;
mod institution;
mod live;
pub mod search;
pub mod stats;

use std::collections::BTreeMap;

use chrono::NaiveDate;

pub use build::build;
pub use institution::{Institution, ListingView, RecordVersion, ViolationView, YearResult};
pub use live::LiveRegistry;

use crate::bundle::EvaluationSchedule;
use crate::domain::validity::{valid_year, Validity, YearDates, YearStatus};

/// Which data a response came from: the last accepted bundle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Revision {
    pub sequence: u64,
    /// Hex SHA-256 of that bundle's payload.
    pub hash: String,
    /// When the pipeline made that bundle: the data is as of then.
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
}

impl Revision {
    /// Short form for ETags and page footers: `<sequence>-<first 12 hex digits>`.
    pub fn tag(&self) -> String {
        format!(
            "{}-{}",
            self.sequence,
            &self.hash[..12.min(self.hash.len())]
        )
    }
}

/// One evaluation year as last published in the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearInfo {
    pub year: i32,
    pub schedule: EvaluationSchedule,
    /// The bundle the current snapshot came from.
    pub sequence: u64,
    pub institutions: usize,
}

impl YearInfo {
    pub fn status(&self) -> YearStatus {
        match self.schedule.publication_date {
            Some(_) => YearStatus::Final,
            None => YearStatus::InPublicity,
        }
    }
}

/// What the registry cannot vouch for: from the first stored bundle that fails re-verification
/// (or a gap in the chain, or a high-water mark the verified chain does not reach) onwards, the
/// current state of the datasets those bundles might have changed is unknown. Which datasets
/// comes from their signed manifests where the signature still verifies, and is every dataset
/// where it does not: never from the database's own columns. Answers that depend on an unknown
/// dataset are `withheld`, never the older state presented as current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The first sequence number that could not be verified.
    pub from_sequence: u64,
    /// The datasets that may have changed; `None`: any of them.
    pub datasets: Option<std::collections::BTreeSet<crate::bundle::Dataset>>,
    /// The signed dates of the evaluation years among them (their manifests verify), so that
    /// which year is valid on a date is still known.
    pub schedules: BTreeMap<i32, EvaluationSchedule>,
    /// Why, for logs and problem details.
    pub reason: String,
}

impl Unknown {
    /// Whether `dataset` may have changed after the verified revision.
    pub fn covers(&self, dataset: crate::bundle::Dataset) -> bool {
        self.datasets.as_ref().is_none_or(|d| d.contains(&dataset))
    }

    /// The error an answer that depends on it gives.
    pub fn error(&self) -> crate::Error {
        crate::Error::Integrity(format!("withheld: {}", self.reason))
    }
}

/// Why something is not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    pub reason: String,
}

/// The whole verified view at one revision.
#[derive(Debug, Default)]
pub struct Registry {
    /// The last bundle of the verified chain that is served.
    pub revision: Option<Revision>,
    /// What the store's head was when this view was built (to notice a new revision).
    pub store_head: Option<(u64, String)>,
    pub demo: bool,
    pub years: BTreeMap<i32, YearInfo>,
    pub institutions: BTreeMap<String, Institution>,
    /// Codes with a record that failed re-verification: the whole institution is withheld.
    pub withheld: BTreeMap<String, Withheld>,
    /// Integrity failures found while building this view (bundles and rows).
    pub integrity_failures: u64,
    /// What this view cannot vouch for (`None` when every stored bundle verified). Only the
    /// current view has it: a view at an earlier revision is wholly verified.
    pub unknown: Option<Unknown>,
    /// The verified chain (the bundles this view and every earlier revision are built from).
    pub chain: std::sync::Arc<Vec<crate::bundle::VerifiedBundle>>,
    /// In a view at an earlier revision: the listings and violations as the current view knows
    /// them, by (code, decision number). Display is decided by today on current knowledge, so
    /// an earlier revision never shows what has since left display. Empty in the current view.
    pub current_listings: BTreeMap<(String, String), ListingView>,
    pub current_violations: BTreeMap<(String, String), ViolationView>,
}

/// The grade an institution holds on a date, if any (Art. 18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing<'a> {
    pub validity: Validity,
    pub version: &'a RecordVersion,
}

impl Registry {
    /// The view as it was at an earlier revision (same verified chain, cut after `sequence`);
    /// `None` for a sequence that is not in the verified chain.
    pub fn at_revision(&self, sequence: u64) -> Option<Registry> {
        build::at_revision(self, sequence)
    }

    /// Every year's dates, as last signed: a year whose newer bundle cannot be verified still
    /// has its signed dates (see [`Unknown::schedules`]).
    pub fn year_dates(&self) -> Vec<YearDates> {
        let mut schedules: BTreeMap<i32, EvaluationSchedule> =
            self.years.values().map(|y| (y.year, y.schedule)).collect();
        if let Some(unknown) = &self.unknown {
            schedules.extend(unknown.schedules.iter().map(|(y, s)| (*y, *s)));
        }
        schedules
            .into_iter()
            .map(|(year, s)| YearDates {
                year,
                publicity_date: s.publicity_date,
                publication_date: s.publication_date,
            })
            .collect()
    }

    /// The unknown part an answer depending on `dataset` runs into, if any.
    pub fn unknown_for(&self, dataset: crate::bundle::Dataset) -> Option<&Unknown> {
        self.unknown.as_ref().filter(|u| u.covers(dataset))
    }

    /// For an answer that depends on everything the registry holds (an institution's page, a
    /// search, statistics): the unknown part, if there is one.
    pub fn unknown_any(&self) -> Option<&Unknown> {
        self.unknown.as_ref()
    }

    /// For a grade, flag or validity answer about `on`: the unknown part, if the valid year on
    /// `on` (known from signed dates) may have changed, or its dates are unknown.
    pub fn unknown_on(&self, on: NaiveDate) -> Option<&Unknown> {
        let unknown = self.unknown.as_ref()?;
        if unknown.datasets.is_none() {
            return Some(unknown);
        }
        match self.valid_year(on) {
            Some(v) => self.unknown_for(crate::bundle::Dataset::Evaluation(v.year)),
            None => None,
        }
    }

    /// Fails with the integrity error when [`Registry::unknown_any`].
    pub fn require_known(&self) -> crate::Result<()> {
        self.unknown_any().map_or(Ok(()), |u| Err(u.error()))
    }

    /// Fails with the integrity error when [`Registry::unknown_for`] `dataset`.
    pub fn require_known_dataset(&self, dataset: crate::bundle::Dataset) -> crate::Result<()> {
        self.unknown_for(dataset).map_or(Ok(()), |u| Err(u.error()))
    }

    /// The year whose grades are valid on `on`, for everyone (Art. 18).
    pub fn valid_year(&self, on: NaiveDate) -> Option<Validity> {
        valid_year(&self.year_dates(), on)
    }

    /// Whether a listing of this view is publicly displayed on `today`: the one rule
    /// ([`ListingView::displayed`]) applied to the listing as currently known.
    pub fn listing_displayed(&self, l: &ListingView, today: NaiveDate) -> bool {
        let key = (l.listing.code.clone(), l.listing.decision_number.clone());
        self.current_listings
            .get(&key)
            .unwrap_or(l)
            .displayed(today)
    }

    /// Whether a violation of this view is publicly displayed on `today`: the one rule
    /// ([`ViolationView::displayed`]) applied to the violation as currently known.
    pub fn violation_displayed(&self, v: &ViolationView, today: NaiveDate) -> bool {
        let key = (
            v.violation.code.clone(),
            v.violation.decision_number.clone(),
        );
        self.current_violations
            .get(&key)
            .unwrap_or(v)
            .displayed(today)
    }

    /// The institution's listings displayed on `today`.
    pub fn displayed_listings<'a>(
        &'a self,
        inst: &'a Institution,
        today: NaiveDate,
    ) -> impl Iterator<Item = &'a ListingView> + 'a {
        inst.listings
            .iter()
            .filter(move |l| self.listing_displayed(l, today))
    }

    /// The institution's violations displayed on `today`.
    pub fn displayed_violations<'a>(
        &'a self,
        inst: &'a Institution,
        today: NaiveDate,
    ) -> impl Iterator<Item = &'a ViolationView> + 'a {
        inst.violations
            .iter()
            .filter(move |v| self.violation_displayed(v, today))
    }

    /// The institution's valid grade on `on`: its record in the valid year, as known now
    /// (corrections apply from the original publication; a determination from its date).
    pub fn standing<'a>(
        &self,
        institution: &'a Institution,
        on: NaiveDate,
    ) -> Option<Standing<'a>> {
        let validity = self.valid_year(on)?;
        let version = institution.results.get(&validity.year)?.as_of(on)?;
        Some(Standing { validity, version })
    }
}
