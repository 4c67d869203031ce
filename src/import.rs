//! Import: verify a bundle against the accepted chain, check it against the dataset's previous
//! snapshot (a published record changes only with a reason), then store it in one transaction.

use std::collections::BTreeMap;

use chrono::SecondsFormat;

use crate::bundle::records::{canonical_bytes, Change, Listing, ListingState, Records};
use crate::bundle::verify::{verify_with_progress, Progress};
use crate::bundle::{self, Dataset, Limits, Rejection, TrustedKey, Verified, VerifiedBundle};
use crate::clock::Clock;
use crate::domain::validity::{check_year_dates, YearDates};
use crate::store::{RecordRow, Store, StoredBundle, StoredBundleInput};
use crate::{Error, Result};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bundle was new and is now stored.
    Imported {
        sequence: u64,
        dataset: Dataset,
        records: usize,
        hash: String,
    },
    /// The very same bundle was already accepted: nothing changed.
    AlreadyAccepted { sequence: u64 },
}

/// Every check an import makes, without storing anything (`envcredit verify`).
pub fn check_bundle(
    store: &Store,
    bytes: &[u8],
    keys: &[TrustedKey],
    limits: &Limits,
) -> Result<Verified> {
    check_bundle_with_progress(store, bytes, keys, limits, None)
}

/// [`check_bundle`], telling `progress` how far the bundle's per-record checks have got.
pub fn check_bundle_with_progress(
    store: &Store,
    bytes: &[u8],
    keys: &[TrustedKey],
    limits: &Limits,
    progress: Option<Progress<'_>>,
) -> Result<Verified> {
    let chain = store.chain()?;
    let verified = verify_with_progress(bytes, keys, Some(&chain), limits, progress).inspect_err(|rejection| {
        if rejection.rule == "equivocation" {
            tracing::error!(alarm = "equivocation", %rejection, "ALARM: two different bundles signed for one sequence number");
        }
    })?;
    if let Verified::New(bundle) = &verified {
        check_against_history(bundle, &store.load()?, keys)?;
    }
    Ok(verified)
}

/// Verifies and stores one bundle file. A rejection leaves the store exactly as it was.
pub fn import_bundle(
    store: &Store,
    bytes: &[u8],
    keys: &[TrustedKey],
    limits: &Limits,
    clock: &dyn Clock,
) -> Result<Outcome> {
    import_bundle_with_progress(store, bytes, keys, limits, clock, None)
}

/// [`import_bundle`], telling `progress` how far the bundle's per-record checks have got (the
/// long part; storing follows).
pub fn import_bundle_with_progress(
    store: &Store,
    bytes: &[u8],
    keys: &[TrustedKey],
    limits: &Limits,
    clock: &dyn Clock,
    progress: Option<Progress<'_>>,
) -> Result<Outcome> {
    let bundle = match check_bundle_with_progress(store, bytes, keys, limits, progress)? {
        Verified::AlreadyAccepted { sequence } => return Ok(Outcome::AlreadyAccepted { sequence }),
        Verified::New(bundle) => bundle,
    };
    let rows = record_rows(&bundle)?;
    store.insert_bundle(&StoredBundleInput {
        sequence: bundle.manifest.sequence,
        payload_hash: bundle.hash_hex(),
        dataset: bundle.manifest.dataset.to_string(),
        key_id: bundle.key_id.clone(),
        record_count: bundle.manifest.record_count,
        envelope: &bundle.envelope,
        imported_at: clock.now().to_rfc3339_opts(SecondsFormat::Secs, true),
        rows,
    })?;
    Ok(Outcome::Imported {
        sequence: bundle.manifest.sequence,
        dataset: bundle.manifest.dataset,
        records: bundle.records.len(),
        hash: bundle.hash_hex(),
    })
}

/// The rows stored beside a bundle: its records' exact bytes and the columns queries use.
/// Everything here is derived from the verified records and re-checked against them at load.
pub fn record_rows(bundle: &VerifiedBundle) -> Result<Vec<RecordRow>> {
    let dataset = bundle.manifest.dataset.to_string();
    let year = bundle.manifest.dataset.year();
    let mut rows = Vec::with_capacity(bundle.records.len());
    for (index, bytes) in bundle.record_bytes.iter().enumerate() {
        let record = String::from_utf8(bytes.clone())
            .map_err(|e| Error::Internal(format!("record {index} is not UTF-8: {e}")))?;
        let (code, decision_number, name, county, grade, risk) = match &bundle.records {
            Records::Evaluation(r) => {
                let r = &r[index];
                (
                    r.code.clone(),
                    None,
                    r.name.clone(),
                    Some(r.county.code().to_string()),
                    Some(r.grade.to_string()),
                    Some(r.risk.as_str().to_string()),
                )
            }
            Records::DishonestyList(r) => {
                let r = &r[index];
                (
                    r.code.clone(),
                    Some(r.decision_number.clone()),
                    r.name.clone(),
                    None,
                    None,
                    None,
                )
            }
            Records::Violations(r) => {
                let r = &r[index];
                (
                    r.code.clone(),
                    Some(r.decision_number.clone()),
                    r.name.clone(),
                    None,
                    None,
                    None,
                )
            }
        };
        rows.push(RecordRow {
            leaf_index: index as u64,
            dataset: dataset.clone(),
            code,
            decision_number,
            year,
            name,
            county,
            grade,
            risk,
            record,
        });
    }
    Ok(rows)
}

/// Rules that need the accepted history: a published record changes only with a (new) reason and
/// is never dropped; a published year keeps its dates; publication dates increase with the year.
fn check_against_history(
    bundle: &VerifiedBundle,
    stored: &[StoredBundle],
    keys: &[TrustedKey],
) -> Result<()> {
    let dataset = bundle.manifest.dataset;
    let mut latest: BTreeMap<Dataset, &StoredBundle> = BTreeMap::new();
    for s in stored {
        if let Ok(d) = s.dataset.parse::<Dataset>() {
            latest.insert(d, s);
        }
    }
    let previous_of = |d: Dataset| -> Result<Option<VerifiedBundle>> {
        let Some(s) = latest.get(&d) else {
            return Ok(None);
        };
        match bundle::verify(&s.envelope, keys, None, &Limits::STORED) {
            Ok(Verified::New(b)) => Ok(Some(*b)),
            Ok(Verified::AlreadyAccepted { .. }) => Ok(None),
            Err(e) => Err(Error::Integrity(format!(
                "stored bundle {} ({}) no longer verifies: {e}",
                s.sequence, s.dataset
            ))),
        }
    };

    if let Dataset::Evaluation(year) = dataset {
        let Some(schedule) = bundle.manifest.evaluation else {
            return Ok(());
        };
        let mut years = vec![YearDates {
            year,
            publicity_date: schedule.publicity_date,
            publication_date: schedule.publication_date,
        }];
        for d in latest.keys().copied() {
            if let Dataset::Evaluation(other) = d {
                if other == year {
                    continue;
                }
                if let Some(prev) = previous_of(d)? {
                    if let Some(s) = prev.manifest.evaluation {
                        years.push(YearDates {
                            year: other,
                            publicity_date: s.publicity_date,
                            publication_date: s.publication_date,
                        });
                    }
                }
            }
        }
        check_year_dates(&years).map_err(|e| Rejection::new("year_order", e.to_string()))?;
    }

    let Some(previous) = previous_of(dataset)? else {
        return Ok(());
    };
    match (&previous.records, &bundle.records) {
        (Records::Evaluation(old), Records::Evaluation(new)) => {
            let (Some(old_schedule), Some(new_schedule)) =
                (previous.manifest.evaluation, bundle.manifest.evaluation)
            else {
                return Ok(());
            };
            if old_schedule.publication_date.is_none() {
                // Still in publicity: results may change (objections) until they are published.
                return Ok(());
            }
            if old_schedule != new_schedule {
                return Err(Rejection::new(
                    "published_schedule_changed",
                    format!(
                        "{dataset} was published on {:?}; its dates cannot change",
                        old_schedule.publication_date
                    ),
                )
                .into());
            }
            compare(
                old.iter().map(|r| (r.code.clone(), r)),
                new.iter().map(|r| (r.code.clone(), r)),
                differs,
                |r| r.change.as_ref(),
            )
        }
        (Records::DishonestyList(old), Records::DishonestyList(new)) => compare(
            old.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            new.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            |before, after| !listing_progressed(before, after),
            |r| r.change.as_ref(),
        ),
        (Records::Violations(old), Records::Violations(new)) => compare(
            old.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            new.iter()
                .map(|r| (format!("{} {}", r.code, r.decision_number), r)),
            differs,
            |r| r.change.as_ref(),
        ),
        _ => Err(Error::Internal(format!(
            "{dataset}: records of another kind stored"
        ))),
    }
}

/// Compares a new snapshot with the accepted one: `needs_reason(before, after)` says whether a
/// difference must be explained by a new change.
fn compare<'a, T: 'a>(
    old: impl Iterator<Item = (String, &'a T)>,
    new: impl Iterator<Item = (String, &'a T)>,
    needs_reason: impl Fn(&T, &T) -> bool,
    change: impl Fn(&T) -> Option<&Change>,
) -> Result<()> {
    let mut old: BTreeMap<String, &'a T> = old.collect();
    for (index, (key, record)) in new.enumerate() {
        match old.remove(&key) {
            Some(before) => {
                if needs_reason(before, record)
                    && (change(record).is_none() || change(record) == change(before))
                {
                    return Err(Rejection::at(
                        "change_reason_missing",
                        index,
                        Some(key),
                        "this record differs from its published version but carries no new change (kind, decision date, effective from, reason, reference)",
                    )
                    .into());
                }
            }
            None => {
                if change(record).is_none() {
                    return Err(Rejection::at(
                        "change_reason_missing",
                        index,
                        Some(key),
                        "a record added to a published dataset must carry its change (kind, decision date, effective from, reason, reference)",
                    )
                    .into());
                }
            }
        }
    }
    if let Some(key) = old.into_keys().next() {
        return Err(Rejection::new(
            "published_record_removed",
            format!("published record {key} is missing from this snapshot; published records are never dropped"),
        )
        .into());
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
