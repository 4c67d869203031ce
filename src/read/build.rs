//! Building the read model from the store's bundles, re-verifying everything on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::bundle::history::History;
use crate::bundle::merkle::Hash;
use crate::bundle::records::Records;
use crate::bundle::{self, Dataset, Limits, Manifest, TrustedKey, Verified, VerifiedBundle};
use crate::import::record_rows;
use crate::store::StoredBundle;

use super::institution::{Institution, ListingView, RecordVersion, ViolationView, YearResult};
use super::{Registry, Revision, Unknown, Withheld, YearInfo};

/// Re-verifies every stored bundle and row and builds the view. Failures withhold what they
/// touch; they are logged here and counted in `integrity_failures`.
///
/// The chain is served up to the first bundle that fails (its envelope, its records, its place in
/// the chain or the rules of the accepted history): the revision is the last verified bundle.
/// From there on, what the failed bundle and every later one might have changed is
/// [`Unknown`]: the datasets their signed manifests name while the signatures and the chain of
/// manifests still verify, every dataset once one does not; and every dataset too when the
/// verified chain stops short of `high_water` (the high-water mark's sequence, kept outside the
/// database). Nothing here is decided from the database's own columns.
///
/// Takes the stored bundles by value and lets each go as soon as it is checked, so the rows read
/// from the store and the read model are not all in memory at once (the start-up peak).
pub fn build(
    stored: Vec<StoredBundle>,
    keys: &[TrustedKey],
    demo: bool,
    high_water: u64,
) -> Registry {
    let mut registry = Registry {
        demo,
        store_head: stored.last().map(|s| (s.sequence, s.payload_hash.clone())),
        ..Registry::default()
    };
    let mut verified: Vec<VerifiedBundle> = Vec::with_capacity(stored.len());
    let mut history = History::default();
    let mut unknown: Option<Unknown> = None;
    // The last bundle whose signed manifest is placed in the chain: (sequence, payload hash).
    let mut linked: Option<(u64, Hash)> = None;
    for s in stored {
        let s = &s;
        if unknown.is_none() {
            match reverify(s, keys, linked).and_then(|b| {
                history
                    .check(&verified, &b, None)
                    .map(|()| b)
                    .map_err(|e| format!("bundle {}: {e}", s.sequence))
            }) {
                Ok(b) => {
                    check_rows(s, &b, &mut registry);
                    linked = Some((b.manifest.sequence, b.payload_hash));
                    verified.push(b);
                    history.accept(&verified, verified.len() - 1);
                    continue;
                }
                Err(reason) => {
                    tracing::error!(sequence = s.sequence, %reason, "integrity: stored bundle fails re-verification; what it and every later bundle may have changed is withheld");
                    unknown = Some(Unknown {
                        from_sequence: linked.map_or(1, |(sequence, _)| sequence + 1),
                        datasets: Some(Default::default()),
                        schedules: Default::default(),
                        reason,
                    });
                }
            }
        } else {
            tracing::error!(sequence = s.sequence, "integrity: stored bundle follows one that failed; what it may have changed is withheld");
        }
        registry.integrity_failures += 1;
        let Some(tail) = unknown.as_mut() else {
            continue;
        };
        let Some(datasets) = tail.datasets.as_mut() else {
            continue;
        };
        match signed_link(s, keys, linked) {
            Ok((manifest, hash)) => {
                datasets.insert(manifest.dataset);
                if let (Dataset::Evaluation(year), Some(schedule)) =
                    (manifest.dataset, manifest.evaluation)
                {
                    tail.schedules.insert(year, schedule);
                }
                linked = Some((manifest.sequence, hash));
            }
            Err(reason) => {
                tracing::error!(sequence = s.sequence, %reason, "integrity: which dataset a stored bundle holds cannot be verified; every dataset is withheld");
                tail.datasets = None;
                tail.reason = if s.sequence == tail.from_sequence {
                    format!("{} (so every dataset is withheld)", tail.reason)
                } else {
                    format!(
                        "{}; and bundle {} cannot be placed in the signed chain: {reason}",
                        tail.reason, s.sequence
                    )
                };
            }
        }
    }
    let reached = linked.map_or(0, |(sequence, _)| sequence);
    if high_water > reached {
        tracing::error!(
            high_water,
            reached,
            "integrity: the verified chain stops before the high-water mark; every dataset is withheld"
        );
        if unknown.is_none() {
            // A failure of its own only when no stored bundle failed already (that one is
            // counted, and a chain that fails stops short of the mark anyway).
            registry.integrity_failures += 1;
        }
        let reason = format!(
            "the high-water mark is bundle {high_water}, but the signed chain in the database reaches only bundle {reached}"
        );
        let tail = unknown.get_or_insert_with(|| Unknown {
            from_sequence: reached + 1,
            datasets: None,
            schedules: Default::default(),
            reason: reason.clone(),
        });
        if tail.datasets.is_some() {
            tail.datasets = None;
            tail.reason = format!("{}; and {reason}", tail.reason);
        }
    }
    registry.unknown = unknown;
    registry.chain = Arc::new(verified);
    assemble(registry.chain.len(), &mut registry);
    registry
}

/// The view at an earlier revision: the same verified chain, cut after `sequence`.
pub(super) fn at_revision(current: &Registry, sequence: u64) -> Option<Registry> {
    let len = usize::try_from(sequence).ok()?;
    if len == 0 || len > current.chain.len() {
        return None;
    }
    let mut registry = Registry {
        demo: current.demo,
        store_head: current.store_head.clone(),
        withheld: current.withheld.clone(),
        integrity_failures: current.integrity_failures,
        chain: current.chain.clone(),
        current_listings: current
            .institutions
            .values()
            .flat_map(|i| i.listings.iter())
            .map(|l| {
                let key = (l.listing.code.clone(), l.listing.decision_number.clone());
                (key, l.clone())
            })
            .collect(),
        current_violations: current
            .institutions
            .values()
            .flat_map(|i| i.violations.iter())
            .map(|v| {
                let key = (
                    v.violation.code.clone(),
                    v.violation.decision_number.clone(),
                );
                (key, v.clone())
            })
            .collect(),
        ..Registry::default()
    };
    assemble(len, &mut registry);
    Some(registry)
}

/// A stored bundle, fully re-verified, in its place after `previous` (sequence, payload hash),
/// its columns matching the signed manifest.
fn reverify(
    s: &StoredBundle,
    keys: &[TrustedKey],
    previous: Option<(u64, Hash)>,
) -> Result<VerifiedBundle, String> {
    let b = match bundle::verify(&s.envelope, keys, None, &Limits::STORED) {
        Ok(Verified::New(b)) => *b,
        Ok(Verified::AlreadyAccepted { .. }) => return Err("unexpected chain state".into()),
        Err(e) => return Err(format!("bundle {}: {e}", s.sequence)),
    };
    check_link(s, &b.manifest, b.payload_hash, previous)?;
    if b.manifest.dataset.to_string() != s.dataset {
        return Err(format!(
            "bundle {}: the stored dataset column ({}) does not match the signed manifest ({})",
            s.sequence, s.dataset, b.manifest.dataset
        ));
    }
    Ok(b)
}

/// The signed manifest of a stored bundle whose records may not verify, in its place after
/// `previous`: its dataset and dates are then known from signed bytes.
fn signed_link(
    s: &StoredBundle,
    keys: &[TrustedKey],
    previous: Option<(u64, Hash)>,
) -> Result<(Manifest, Hash), String> {
    let signed = bundle::verify::signed_manifest(&s.envelope, keys).map_err(|e| e.to_string())?;
    check_link(s, &signed.manifest, signed.payload_hash, previous)?;
    Ok((signed.manifest, signed.payload_hash))
}

/// A signed manifest follows `previous` in the chain, at the sequence its row says.
fn check_link(
    s: &StoredBundle,
    manifest: &Manifest,
    hash: Hash,
    previous: Option<(u64, Hash)>,
) -> Result<(), String> {
    let (expected_sequence, expected_previous) = match previous {
        Some((sequence, hash)) => (sequence + 1, hash),
        None => (1, [0u8; 32]),
    };
    if manifest.sequence != expected_sequence || s.sequence != expected_sequence {
        return Err(format!(
            "bundle {expected_sequence} is missing: the next stored bundle is {} (signed as sequence {})",
            s.sequence, manifest.sequence
        ));
    }
    if manifest.previous_hash != expected_previous {
        return Err(format!(
            "bundle {} breaks the chain: its previous hash is not that of bundle {}",
            s.sequence,
            s.sequence - 1
        ));
    }
    if hex::encode(hash) != s.payload_hash {
        return Err(format!(
            "bundle {}: the stored hash column does not match the signed payload",
            s.sequence
        ));
    }
    Ok(())
}

/// Every row must be exactly what the verified bundle says; a row that is not withholds its code.
fn check_rows(s: &StoredBundle, b: &VerifiedBundle, registry: &mut Registry) {
    let expected = match record_rows(b) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(sequence = s.sequence, error = %e, "integrity: rows cannot be derived");
            registry.integrity_failures += 1;
            return;
        }
    };
    let mut seen = BTreeSet::new();
    for row in &s.rows {
        let ok = usize::try_from(row.leaf_index)
            .ok()
            .and_then(|i| expected.get(i))
            .is_some_and(|e| e == row);
        if !ok || !seen.insert(row.leaf_index) {
            tracing::error!(sequence = s.sequence, leaf_index = row.leaf_index, code = %row.code, "integrity: stored record row does not match its signed record; withheld");
            registry.integrity_failures += 1;
            withhold(
                registry,
                &row.code,
                format!(
                    "record {} of bundle {} does not match its signed form",
                    row.leaf_index, s.sequence
                ),
            );
            if let Some(e) = usize::try_from(row.leaf_index)
                .ok()
                .and_then(|i| expected.get(i))
            {
                withhold(
                    registry,
                    &e.code,
                    format!(
                        "record {} of bundle {} does not match its signed form",
                        row.leaf_index, s.sequence
                    ),
                );
            }
        }
    }
    for e in &expected {
        if !seen.contains(&e.leaf_index) {
            tracing::error!(sequence = s.sequence, leaf_index = e.leaf_index, code = %e.code, "integrity: stored record row missing; withheld");
            registry.integrity_failures += 1;
            withhold(
                registry,
                &e.code,
                format!(
                    "record {} of bundle {} is missing from the store",
                    e.leaf_index, s.sequence
                ),
            );
        }
    }
}

fn withhold(registry: &mut Registry, code: &str, reason: String) {
    registry
        .withheld
        .entry(code.to_string())
        .or_insert(Withheld { reason });
}

/// Folds the first `len` bundles of the verified chain, in sequence order, into institutions.
fn assemble(len: usize, registry: &mut Registry) {
    let chain = registry.chain.clone();
    let verified = &chain[..len.min(chain.len())];
    registry.revision = verified.last().map(|b| Revision {
        sequence: b.manifest.sequence,
        hash: b.hash_hex(),
        created_at: b.manifest.created_at,
    });
    let mut latest: BTreeMap<Dataset, &VerifiedBundle> = BTreeMap::new();
    let mut institutions: BTreeMap<String, Institution> = BTreeMap::new();
    let mut names_seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();

    for b in verified {
        latest.insert(b.manifest.dataset, b);
        if let (Dataset::Evaluation(year), Records::Evaluation(records)) =
            (b.manifest.dataset, &b.records)
        {
            let published = b
                .manifest
                .evaluation
                .is_some_and(|e| e.publication_date.is_some());
            for (i, r) in records.iter().enumerate() {
                names_seen
                    .entry(r.code.clone())
                    .or_default()
                    .insert(r.name.clone());
                let inst = institutions
                    .entry(r.code.clone())
                    .or_insert_with(|| empty(&r.code));
                let result = inst.results.entry(year).or_insert_with(|| YearResult {
                    year,
                    versions: Vec::new(),
                });
                result.record(RecordVersion {
                    sequence: b.manifest.sequence,
                    leaf_index: i as u64,
                    published,
                    record: r.clone(),
                });
            }
        }
    }

    for (dataset, b) in &latest {
        match (dataset, &b.records) {
            (Dataset::Evaluation(year), Records::Evaluation(records)) => {
                // A record dropped while the year was in publicity is not part of the year.
                let present: BTreeSet<&str> = records.iter().map(|r| r.code.as_str()).collect();
                for inst in institutions.values_mut() {
                    if !present.contains(inst.code.as_str()) {
                        inst.results.remove(year);
                    }
                }
                if let Some(schedule) = b.manifest.evaluation {
                    registry.years.insert(
                        *year,
                        YearInfo {
                            year: *year,
                            schedule,
                            sequence: b.manifest.sequence,
                            institutions: records.len(),
                        },
                    );
                }
            }
            (Dataset::DishonestyList, Records::DishonestyList(records)) => {
                for (i, l) in records.iter().enumerate() {
                    names_seen
                        .entry(l.code.clone())
                        .or_default()
                        .insert(l.name.clone());
                    let inst = institutions
                        .entry(l.code.clone())
                        .or_insert_with(|| empty(&l.code));
                    inst.listings.push(ListingView {
                        sequence: b.manifest.sequence,
                        leaf_index: i as u64,
                        listing: l.clone(),
                    });
                }
            }
            (Dataset::Violations, Records::Violations(records)) => {
                for (i, v) in records.iter().enumerate() {
                    names_seen
                        .entry(v.code.clone())
                        .or_default()
                        .insert(v.name.clone());
                    let inst = institutions
                        .entry(v.code.clone())
                        .or_insert_with(|| empty(&v.code));
                    inst.violations.push(ViolationView {
                        sequence: b.manifest.sequence,
                        leaf_index: i as u64,
                        violation: v.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    for inst in institutions.values_mut() {
        set_identity(
            inst,
            registry,
            names_seen.remove(&inst.code).unwrap_or_default(),
        );
    }
    institutions.retain(|_, inst| {
        !inst.results.is_empty() || !inst.listings.is_empty() || !inst.violations.is_empty()
    });
    for code in registry.withheld.keys() {
        institutions.remove(code);
    }
    registry.institutions = institutions;
}

fn empty(code: &str) -> Institution {
    Institution {
        code: code.to_string(),
        name: String::new(),
        county: None,
        cma_certificate: None,
        former_names: Vec::new(),
        results: BTreeMap::new(),
        listings: Vec::new(),
        violations: Vec::new(),
    }
}

/// Identity comes from the latest final record (or, failing that, the latest record); every
/// other name ever seen stays searchable as a former name.
fn set_identity(inst: &mut Institution, registry: &Registry, mut names: BTreeSet<String>) {
    let is_final = |year: &i32| {
        registry
            .years
            .get(year)
            .is_some_and(|y| y.schedule.publication_date.is_some())
    };
    let source = inst
        .results
        .iter()
        .rev()
        .find(|(year, _)| is_final(year))
        .or_else(|| inst.results.iter().next_back())
        .and_then(|(_, r)| r.current());
    if let Some(v) = source {
        inst.name = v.record.name.clone();
        inst.county = Some(v.record.county);
        inst.cma_certificate = Some(v.record.cma_certificate.clone());
        names.extend(v.record.former_names.iter().cloned());
    } else if let Some(l) = inst.listings.first() {
        inst.name = l.listing.name.clone();
    } else if let Some(v) = inst.violations.first() {
        inst.name = v.violation.name.clone();
    }
    names.remove(&inst.name);
    inst.former_names = names.into_iter().collect();
}
