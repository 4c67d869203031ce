//! Import: verify a bundle against the accepted chain, check it against the dataset's previous
//! snapshot (a published record changes only with a reason), then store it in one transaction.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::bundle::history::History;
use crate::bundle::records::Records;
use crate::bundle::verify::{verify_with_progress, Progress};
use crate::bundle::{self, Dataset, Limits, Rule, TrustedKey, Verified, VerifiedBundle};
use crate::clock::Clock;
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

/// Every check an import makes, without storing anything (`envcredit verify`); `now` is the
/// importer's clock (a bundle made more than a day after it is refused).
pub fn check_bundle(
    store: &Store,
    bytes: &[u8],
    keys: &[TrustedKey],
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Verified> {
    check_bundle_with_progress(store, bytes, keys, limits, now, None)
}

/// [`check_bundle`], telling `progress` how far the bundle's per-record checks have got.
pub fn check_bundle_with_progress(
    store: &Store,
    bytes: &[u8],
    keys: &[TrustedKey],
    limits: &Limits,
    now: DateTime<Utc>,
    progress: Option<Progress<'_>>,
) -> Result<Verified> {
    let chain = store.chain()?;
    let verified = verify_with_progress(bytes, keys, Some(&chain), limits, progress).inspect_err(|rejection| {
        if rejection.rule == Rule::Equivocation.id() {
            tracing::error!(alarm = "equivocation", %rejection, "ALARM: two different bundles signed for one sequence number");
        }
    })?;
    if let Verified::New(bundle) = &verified {
        let accepted = accepted_chain(store.load()?, keys)?;
        let history = History::of(&accepted);
        history.check(&accepted, bundle, Some(now))?;
        for warning in history.warnings(&accepted, bundle) {
            tracing::warn!(
                sequence = bundle.manifest.sequence,
                "needs the Bureau's judgement: {warning}"
            );
        }
    }
    Ok(verified)
}

/// Every stored bundle, re-verified as a chain: a new bundle is checked against signed history
/// only, and not imported on top of a store that no longer verifies.
fn accepted_chain(stored: Vec<StoredBundle>, keys: &[TrustedKey]) -> Result<Vec<VerifiedBundle>> {
    let mut chain: Vec<VerifiedBundle> = Vec::with_capacity(stored.len());
    let mut hashes = Vec::with_capacity(stored.len());
    let mut history = History::default();
    for s in stored {
        let bundle = match bundle::verify(&s.envelope, keys, Some(&hashes), &Limits::STORED) {
            Ok(Verified::New(b)) if b.hash_hex() == s.payload_hash => *b,
            Ok(_) => {
                return Err(Error::Integrity(format!(
                    "stored bundle {} ({}) is not the bundle its row names",
                    s.sequence, s.dataset
                )))
            }
            Err(e) => {
                return Err(Error::Integrity(format!(
                    "stored bundle {} ({}) no longer verifies: {e}",
                    s.sequence, s.dataset
                )))
            }
        };
        history.check(&chain, &bundle, None).map_err(|e| {
            Error::Integrity(format!(
                "stored bundle {} ({}) breaks the rules of the accepted history: {e}",
                s.sequence, s.dataset
            ))
        })?;
        hashes.push(bundle.payload_hash);
        chain.push(bundle);
        history.accept(&chain, chain.len() - 1);
    }
    Ok(chain)
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
    let bundle =
        match check_bundle_with_progress(store, bytes, keys, limits, clock.now(), progress)? {
            Verified::AlreadyAccepted { sequence } => {
                return Ok(Outcome::AlreadyAccepted { sequence })
            }
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
