//! The rules that need the accepted chain, not just the bundle (`docs/bundle-format.md`, "The
//! chain" and "History", verification step 16): time runs forward, what an earlier bundle said
//! about its own dates stands, and a published record changes only with a reason.
//!
//! [`History`] is folded over the verified chain in sequence order, by the importer (before a
//! new bundle) and by the read model (re-verifying every stored bundle), so both apply the same
//! rules to the same signed bytes; it holds positions in that chain, which every call passes.
//! Only the importer passes a clock: `created_at_future` is the
//! one rule whose answer would depend on the day it is asked.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

use super::manifest::Dataset;
use super::records::{canonical_bytes, Change, Listing, ListingState, Records};
use super::rejection::{Rejection, Rule};
use super::verify::VerifiedBundle;
use crate::domain::validity::{check_year_dates, YearDates};

/// What the accepted chain said, as far as the rules of step 16 need it.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// The position in the chain of the latest accepted bundle of each dataset.
    latest: BTreeMap<Dataset, usize>,
    /// The last accepted bundle's sequence and creation time.
    last_created: Option<(u64, DateTime<FixedOffset>)>,
    /// Each year's publicity date as first shown, and by which bundle.
    publicity_shown: BTreeMap<i32, (NaiveDate, u64)>,
    /// Each year's latest bundle that showed it still in publicity: the day it was made, and
    /// its sequence.
    in_publicity_until: BTreeMap<i32, (NaiveDate, u64)>,
}

impl History {
    /// The history of `chain`, accepted in order, without checking it.
    pub fn of(chain: &[VerifiedBundle]) -> History {
        let mut history = History::default();
        for index in 0..chain.len() {
            history.accept(chain, index);
        }
        history
    }

    /// Checks `bundle`, the next in the chain, against what was accepted before it. With
    /// `now` (the importer's clock), `created_at` may be at most one day ahead of it.
    pub fn check(
        &self,
        chain: &[VerifiedBundle],
        bundle: &VerifiedBundle,
        now: Option<DateTime<Utc>>,
    ) -> Result<(), Rejection> {
        let latest = |dataset: &Dataset| self.latest.get(dataset).and_then(|&i| chain.get(i));
        let manifest = &bundle.manifest;
        let dataset = manifest.dataset;
        if let Some(now) = now {
            if manifest.created_at.with_timezone(&Utc) > now + Duration::days(1) {
                return Err(Rejection::new(
                    Rule::CreatedAtFuture,
                    format!(
                        "created at {}, more than one day after this registry's clock ({})",
                        manifest.created_at.to_rfc3339(),
                        now.format("%Y-%m-%dT%H:%M:%S+00:00")
                    ),
                ));
            }
        }
        if let Some((sequence, before)) = self.last_created {
            if manifest.created_at < before {
                return Err(Rejection::new(
                    Rule::CreatedAtOrder,
                    format!(
                        "created at {}, before bundle {sequence} ({}): time runs forward along the chain",
                        manifest.created_at.to_rfc3339(),
                        before.to_rfc3339()
                    ),
                ));
            }
        }
        if let (Dataset::Evaluation(year), Some(schedule)) = (dataset, manifest.evaluation) {
            if let Some((shown, sequence)) = self.publicity_shown.get(&year) {
                if *shown != schedule.publicity_date {
                    return Err(Rejection::new(
                        Rule::PublicityDateChanged,
                        format!(
                            "{dataset} was shown in publicity from {shown} (bundle {sequence}); its publicity date cannot become {}",
                            schedule.publicity_date
                        ),
                    ));
                }
            }
            if let (Some(published), Some((made, sequence))) = (
                schedule.publication_date,
                self.in_publicity_until.get(&year),
            ) {
                if published < *made {
                    return Err(Rejection::new(
                        Rule::PublicationBackdated,
                        format!(
                            "{dataset} was still in publicity in bundle {sequence}, made on {made}; it cannot be published on {published}"
                        ),
                    ));
                }
            }
            let mut years = vec![YearDates {
                year,
                publicity_date: schedule.publicity_date,
                publication_date: schedule.publication_date,
            }];
            years.extend(self.latest.keys().filter_map(|d| match d {
                Dataset::Evaluation(other) if *other != year => {
                    latest(d)?.manifest.evaluation.map(|s| YearDates {
                        year: *other,
                        publicity_date: s.publicity_date,
                        publication_date: s.publication_date,
                    })
                }
                _ => None,
            }));
            check_year_dates(&years).map_err(|e| Rejection::new(Rule::YearOrder, e.to_string()))?;
            if schedule.publication_date.is_some() {
                if let Some(previous) = latest(&Dataset::Evaluation(year - 1)) {
                    check_count(previous, bundle)?;
                }
                if let Some(list) = latest(&Dataset::DishonestyList) {
                    check_art11_listing(bundle, list, Side::Year)?;
                }
            }
        }
        if dataset == Dataset::DishonestyList {
            for (d, &i) in &self.latest {
                let Some(year) = chain.get(i) else { continue };
                let published = year
                    .manifest
                    .evaluation
                    .is_some_and(|s| s.publication_date.is_some());
                if matches!(d, Dataset::Evaluation(_)) && published {
                    check_art11_listing(year, bundle, Side::List)?;
                }
            }
        }
        match latest(&dataset) {
            Some(previous) => compare_snapshots(previous, bundle),
            None => Ok(()),
        }
    }

    /// What needs the Bureau's judgement rather than a rule (never a refusal): a published
    /// year's result that keeps a bid bonus although the institution had a violation decided in
    /// the year before the publicity date, which may be a falsification penalty (Art. 11(4)).
    /// Checked whichever arrives later, the year or the violations; one line per pair, naming
    /// both records.
    pub fn warnings(&self, chain: &[VerifiedBundle], bundle: &VerifiedBundle) -> Vec<String> {
        let latest = |dataset: &Dataset| self.latest.get(dataset).and_then(|&i| chain.get(i));
        match bundle.manifest.dataset {
            Dataset::Evaluation(_) => latest(&Dataset::Violations)
                .map(|v| bonus_despite_violation(bundle, v))
                .unwrap_or_default(),
            Dataset::Violations => self
                .latest
                .keys()
                .filter(|d| matches!(d, Dataset::Evaluation(_)))
                .filter_map(latest)
                .flat_map(|year| bonus_despite_violation(year, bundle))
                .collect(),
            Dataset::DishonestyList => Vec::new(),
        }
    }

    /// Adds the bundle at `index` of `chain` (checked) to the history.
    pub fn accept(&mut self, chain: &[VerifiedBundle], index: usize) {
        let Some(bundle) = chain.get(index) else {
            return;
        };
        let manifest = &bundle.manifest;
        self.last_created = Some((manifest.sequence, manifest.created_at));
        if let (Dataset::Evaluation(year), Some(schedule)) = (manifest.dataset, manifest.evaluation)
        {
            self.publicity_shown
                .entry(year)
                .or_insert((schedule.publicity_date, manifest.sequence));
            if schedule.publication_date.is_none() {
                self.in_publicity_until
                    .insert(year, (manifest.created_at.date_naive(), manifest.sequence));
            }
        }
        self.latest.insert(manifest.dataset, index);
    }
}

/// A published year holds at least four fifths of the previous year's institutions, unless its
/// manifest acknowledges the drop.
fn check_count(previous: &VerifiedBundle, bundle: &VerifiedBundle) -> Result<(), Rejection> {
    let (now, before) = (bundle.records.len(), previous.records.len());
    if now.saturating_mul(5) >= before.saturating_mul(4)
        || bundle.manifest.count_drop_acknowledged == Some(true)
    {
        return Ok(());
    }
    Err(Rejection::new(
            Rule::InstitutionCountDrop,
            format!(
                "{} holds {now} institutions, fewer than four fifths of {}'s {before}; set \"count_drop_acknowledged\":true in the manifest if that is right",
                bundle.manifest.dataset, previous.manifest.dataset
            ),
        ))
}

/// The warnings of [`History::warnings`] for one published year and the violations.
fn bonus_despite_violation(year: &VerifiedBundle, violations: &VerifiedBundle) -> Vec<String> {
    use crate::domain::art11::Art11Ground;
    use crate::domain::consequences::{bid_flag, BidFlag};
    let (Records::Evaluation(results), Records::Violations(list), Some(schedule)) =
        (&year.records, &violations.records, year.manifest.evaluation)
    else {
        return Vec::new();
    };
    if schedule.publication_date.is_none() {
        return Vec::new();
    }
    let publicity = schedule.publicity_date;
    let from = publicity - Duration::days(365);
    let mut warnings = Vec::new();
    for (vi, v) in list.iter().enumerate() {
        if v.decided_on > publicity || v.decided_on <= from {
            continue;
        }
        let Ok(ri) = results.binary_search_by(|r| r.code.as_str().cmp(&v.code)) else {
            continue;
        };
        let r = &results[ri];
        let falsification = r
            .art11
            .iter()
            .any(|f| f.ground == Art11Ground::FalsificationPenalty);
        if bid_flag(r.grade, r.risk) == BidFlag::Bonus && !falsification {
            warnings.push(format!(
                "{} record {ri} ({}) keeps a bid bonus (grade {}, risk {}) although violation record {vi} ({} {}, decided {}: {}) of bundle {} was decided in the year before the publicity date {publicity}; if it is a falsification penalty, Art. 11(4) puts the institution at E and high risk",
                year.manifest.dataset,
                r.code,
                r.grade,
                r.risk,
                v.code,
                v.decision_number,
                v.decided_on,
                v.description,
                violations.manifest.sequence
            ));
        }
    }
    warnings
}

/// Which of the two bundles of [`check_art11_listing`] is the new one (the one refused).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Year,
    List,
}

/// Art. 11(5): a published year's result for an institution with a listing in force on that
/// year's publicity date carries ground 5. Checked whichever of the two arrives later.
fn check_art11_listing(
    year: &VerifiedBundle,
    list: &VerifiedBundle,
    new: Side,
) -> Result<(), Rejection> {
    let (Records::Evaluation(results), Records::DishonestyList(listings), Some(schedule)) =
        (&year.records, &list.records, year.manifest.evaluation)
    else {
        return Ok(());
    };
    let on = schedule.publicity_date;
    for (listing_index, listing) in listings.iter().enumerate() {
        if !listing.in_force_on(on) {
            continue;
        }
        let Ok(result_index) = results.binary_search_by(|r| r.code.as_str().cmp(&listing.code))
        else {
            continue;
        };
        let result = &results[result_index];
        if result
            .art11
            .iter()
            .any(|f| f.ground == crate::domain::art11::Art11Ground::SeriousDishonestyList)
        {
            continue;
        }
        let message = format!(
            "listing {} was in force on {}'s publicity date {on}, so the result of {} needs an Art. 11 finding with ground 5",
            listing.decision_number, year.manifest.dataset, listing.code
        );
        return Err(match new {
            Side::Year => Rejection::at(
                Rule::Art11Listing,
                result_index,
                Some(result.code.clone()),
                message,
            ),
            Side::List => Rejection::at(
                Rule::Art11Listing,
                listing_index,
                Some(format!("{} {}", listing.code, listing.decision_number)),
                message,
            ),
        });
    }
    Ok(())
}

/// A new snapshot against the latest accepted one of its dataset.
fn compare_snapshots(previous: &VerifiedBundle, bundle: &VerifiedBundle) -> Result<(), Rejection> {
    let dataset = bundle.manifest.dataset;
    match (&previous.records, &bundle.records) {
        (Records::Evaluation(old), Records::Evaluation(new)) => {
            let (Some(old_schedule), Some(new_schedule)) =
                (previous.manifest.evaluation, bundle.manifest.evaluation)
            else {
                return Ok(());
            };
            let Some(published) = old_schedule.publication_date else {
                // Still in publicity: results may change (objections) until they are published.
                return Ok(());
            };
            if old_schedule != new_schedule {
                return Err(Rejection::new(
                    Rule::PublishedScheduleChanged,
                    format!("{dataset} was published on {published}; its dates cannot change"),
                ));
            }
            compare(
                old.iter().map(|r| (r.code.clone(), r)),
                new.iter().map(|r| (r.code.clone(), r)),
                differs,
                |r| r.change.as_ref(),
                Added::NeedsChange,
            )
        }
        (Records::DishonestyList(old), Records::DishonestyList(new)) => compare(
            old.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            new.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            |before, after| !listing_progressed(before, after),
            |r| r.change.as_ref(),
            Added::Ordinary,
        ),
        (Records::Violations(old), Records::Violations(new)) => compare(
            old.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            new.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            differs,
            |r| r.change.as_ref(),
            Added::Ordinary,
        ),
        // Verification parses each dataset's records as its own kind.
        _ => Ok(()),
    }
}

/// Whether a record added to an accepted snapshot must say why.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Added {
    /// A result added to a published year: a late finding, with its change.
    NeedsChange,
    /// A new listing or violation: an ordinary event.
    Ordinary,
}

/// Compares a new snapshot with the accepted one: `needs_reason(before, after)` says whether a
/// difference must be explained by a new change.
fn compare<'a, T: 'a>(
    old: impl Iterator<Item = (String, &'a T)>,
    new: impl Iterator<Item = (String, &'a T)>,
    needs_reason: impl Fn(&T, &T) -> bool,
    change: impl Fn(&T) -> Option<&Change>,
    added: Added,
) -> Result<(), Rejection> {
    let mut old: BTreeMap<String, &'a T> = old.collect();
    for (index, (key, record)) in new.enumerate() {
        match old.remove(&key) {
            Some(before)
                if needs_reason(before, record)
                    && (change(record).is_none() || change(record) == change(before)) =>
            {
                return Err(Rejection::at(
                    Rule::ChangeReasonMissing,
                    index,
                    Some(key),
                    "this record differs from its published version but carries no new change (kind, decision date, effective from, reason, reference)",
                ));
            }
            Some(_) => {}
            None if added == Added::NeedsChange && change(record).is_none() => {
                return Err(Rejection::at(
                    Rule::ChangeReasonMissing,
                    index,
                    Some(key),
                    "a record added to a published dataset must carry its change (kind, decision date, effective from, reason, reference)",
                ));
            }
            None => {}
        }
    }
    if let Some(key) = old.into_keys().next() {
        return Err(Rejection::new(
            Rule::PublishedRecordRemoved,
            format!("published record {key} is missing from this snapshot; published records are never dropped"),
        ));
    }
    Ok(())
}

/// Whether two versions of a record differ at all.
fn differs<T: serde::Serialize>(before: &T, after: &T) -> bool {
    canonical_bytes(before).ok() != canonical_bytes(after).ok()
}

/// A listing may move forward through its procedure without a reason — publicity → in force →
/// repaired or removed, each date set once — but nothing else may change, and it never moves
/// back.
fn listing_progressed(before: &Listing, after: &Listing) -> bool {
    fn step(state: ListingState) -> u8 {
        match state {
            ListingState::Publicity => 0,
            ListingState::InForce => 1,
            ListingState::Repaired | ListingState::Removed => 2,
        }
    }
    let mut stable_before = before.clone();
    let mut stable_after = after.clone();
    for l in [&mut stable_before, &mut stable_after] {
        l.state = ListingState::Publicity;
        l.in_force_from = None;
        l.ended_on = None;
    }
    let same_or_forward = before.state == after.state || step(after.state) > step(before.state);
    let dates_kept = before
        .in_force_from
        .is_none_or(|d| after.in_force_from == Some(d))
        && before.ended_on.is_none_or(|d| after.ended_on == Some(d));
    !differs(&stable_before, &stable_after) && same_or_forward && dates_kept
}
