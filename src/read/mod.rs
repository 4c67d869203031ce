//! The verified read model: everything the web layer shows, rebuilt from the stored bundles after
//! re-verifying each one, and swapped whole on a new revision (so no response mixes revisions).
//!
//! Trust: a stored bundle is shown only if its exact signed bytes still verify with a trusted key;
//! a stored record row is used only if its bytes hash to the verified leaf at its index and its
//! query columns equal what the verified record says. Anything else is withheld, logged and
//! counted — a row edited behind the registry's back is never displayed.

mod build;
pub mod changes;
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

    pub fn year_dates(&self) -> Vec<YearDates> {
        self.years
            .values()
            .map(|y| YearDates {
                year: y.year,
                publicity_date: y.schedule.publicity_date,
                publication_date: y.schedule.publication_date,
            })
            .collect()
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
