//! Building the read model from the store's bundles, re-verifying everything on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::bundle::records::Records;
use crate::bundle::{self, Dataset, Limits, TrustedKey, Verified, VerifiedBundle};
use crate::import::record_rows;
use crate::store::StoredBundle;

use super::institution::{Institution, ListingView, RecordVersion, ViolationView, YearResult};
use super::{Registry, Revision, Withheld, YearInfo};

/// Re-verifies every stored bundle and row and builds the view. Failures withhold what they
/// touch; they are logged here and counted in `integrity_failures`.
///
/// The chain is served up to the first bundle that fails: that bundle and every later one are
/// not served (they cannot be placed in a verified chain), the revision is the last verified
/// bundle, and every institution of a dataset they touch is withheld, since its current state
/// is unknown.
///
/// Takes the stored bundles by value and lets each go as soon as it is checked, so the rows read
/// from the store and the read model are not all in memory at once (the start-up peak).
pub fn build(stored: Vec<StoredBundle>, keys: &[TrustedKey], demo: bool) -> Registry {
    let mut registry = Registry {
        demo,
        store_head: stored.last().map(|s| (s.sequence, s.payload_hash.clone())),
        ..Registry::default()
    };
    let mut verified: Vec<VerifiedBundle> = Vec::with_capacity(stored.len());
    let mut failed_at: Option<u64> = None;
    let mut tainted: BTreeSet<String> = BTreeSet::new();
    for s in stored {
        let s = &s;
        if failed_at.is_none() {
            let previous = verified
                .last()
                .map(|b| (b.manifest.sequence, b.payload_hash));
            match reverify(s, keys, previous) {
                Ok(b) => {
                    check_rows(s, &b, &mut registry);
                    verified.push(b);
                    continue;
                }
                Err(reason) => {
                    tracing::error!(sequence = s.sequence, dataset = %s.dataset, %reason, "integrity: stored bundle fails re-verification; it and every later bundle are withheld");
                    failed_at = Some(s.sequence);
                }
            }
        } else {
            tracing::error!(sequence = s.sequence, dataset = %s.dataset, "integrity: stored bundle follows one that failed; withheld");
        }
        registry.integrity_failures += 1;
        tainted.insert(s.dataset.clone());
        let reason = format!(
            "bundle {} cannot be verified in the chain",
            failed_at.unwrap_or(s.sequence)
        );
        for row in &s.rows {
            withhold(&mut registry, &row.code, reason.clone());
        }
    }
    for b in &verified {
        if tainted.contains(&b.manifest.dataset.to_string()) {
            for i in 0..b.records.len() {
                if let Some(key) = b.records.key(i) {
                    withhold(
                        &mut registry,
                        &key.code,
                        format!(
                            "a later bundle of {} cannot be verified",
                            b.manifest.dataset
                        ),
                    );
                }
            }
        }
    }
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

fn reverify(
    s: &StoredBundle,
    keys: &[TrustedKey],
    previous: Option<(u64, [u8; 32])>,
) -> Result<VerifiedBundle, String> {
    let b = match bundle::verify(&s.envelope, keys, None, &Limits::STORED) {
        Ok(Verified::New(b)) => *b,
        Ok(Verified::AlreadyAccepted { .. }) => return Err("unexpected chain state".into()),
        Err(e) => return Err(e.to_string()),
    };
    if b.manifest.sequence != s.sequence
        || b.hash_hex() != s.payload_hash
        || b.manifest.dataset.to_string() != s.dataset
    {
        return Err(format!(
            "stored columns (sequence {}, {}, {}) do not match the signed manifest (sequence {}, {}, {})",
            s.sequence,
            s.dataset,
            s.payload_hash,
            b.manifest.sequence,
            b.manifest.dataset,
            b.hash_hex()
        ));
    }
    let expected_previous = match previous {
        Some((seq, hash)) if seq + 1 == s.sequence => hash,
        None if s.sequence == 1 => [0u8; 32],
        _ => {
            return Err(format!(
                "bundle {} does not follow a verified bundle",
                s.sequence
            ))
        }
    };
    if b.manifest.previous_hash != expected_previous {
        return Err(format!(
            "bundle {} breaks the chain: its previous hash is not that of bundle {}",
            s.sequence,
            s.sequence - 1
        ));
    }
    Ok(b)
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
