//! The change feed: what each accepted bundle changed, derived from the verified chain by
//! comparing each snapshot with the previous one of its dataset.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::{ListingView, Registry, ViolationView};
use crate::bundle::records::{ChangeKind, ListingState, Records};
use crate::bundle::{Dataset, VerifiedBundle};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A year's results were publicized (first snapshot, in publicity).
    YearInPublicity,
    /// A year's results became final.
    YearPublished,
    /// A year's results in publicity were revised (e.g. after objections).
    YearRevised,
    /// A published result was corrected after review (Art. 16).
    Correction,
    /// A published result changed by a new determination (e.g. an Art. 11 finding).
    Determination,
    /// A listing appeared on the serious-dishonesty list (in publicity or issued).
    ListingAdded,
    /// A listing was issued and is in force.
    ListingInForce,
    /// A listing was repaired or removed: no longer in force.
    ListingEnded,
    /// A listing changed for a stated reason.
    ListingChanged,
    /// A violation was publicized.
    ViolationAdded,
    /// A violation record changed for a stated reason.
    ViolationChanged,
}

/// One entry of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The bundle that carried it: the feed's cursor.
    pub sequence: u64,
    pub dataset: Dataset,
    pub kind: EventKind,
    /// When the pipeline made that bundle.
    pub at: DateTime<FixedOffset>,
    /// The institution, for events about one.
    pub code: Option<String>,
    pub name: Option<String>,
    /// A decision number (of the change, listing or violation), when there is one.
    pub reference: Option<String>,
    /// One line saying what changed.
    pub summary: String,
}

/// Events of the bundles after `since`, in order; those of withheld institutions are left out,
/// and so are those of listings and violations not displayed on `today` (docs/rules.md,
/// "Public display limits"), judged on each one as last known.
pub fn events_since(registry: &Registry, since: u64, today: NaiveDate) -> Vec<Event> {
    let mut previous: BTreeMap<Dataset, &VerifiedBundle> = BTreeMap::new();
    let mut events = Vec::new();
    let mut listings: BTreeMap<(&str, &str), ListingView> = BTreeMap::new();
    let mut violations: BTreeMap<(&str, &str), ViolationView> = BTreeMap::new();
    let last = registry.revision.as_ref().map_or(0, |r| r.sequence);
    for b in registry
        .chain
        .iter()
        .take_while(|b| b.manifest.sequence <= last)
    {
        let before = previous.insert(b.manifest.dataset, b);
        if b.manifest.sequence > since {
            diff(before, b, &mut events);
        }
        last_known(b, &mut listings, &mut violations);
    }
    events.retain(|e| {
        if e.code
            .as_ref()
            .is_some_and(|c| registry.withheld.contains_key(c))
        {
            return false;
        }
        let (Some(code), Some(reference)) = (e.code.as_deref(), e.reference.as_deref()) else {
            return true;
        };
        match e.dataset {
            Dataset::DishonestyList => listings
                .get(&(code, reference))
                .is_none_or(|l| registry.listing_displayed(l, today)),
            Dataset::Violations => violations
                .get(&(code, reference))
                .is_none_or(|v| registry.violation_displayed(v, today)),
            Dataset::Evaluation(_) => true,
        }
    });
    events
}

/// Records each listing and violation of the bundle as last known, by (code, decision number).
fn last_known<'a>(
    b: &'a VerifiedBundle,
    listings: &mut BTreeMap<(&'a str, &'a str), ListingView>,
    violations: &mut BTreeMap<(&'a str, &'a str), ViolationView>,
) {
    match &b.records {
        Records::DishonestyList(records) => {
            for (i, l) in records.iter().enumerate() {
                let view = ListingView {
                    sequence: b.manifest.sequence,
                    leaf_index: i as u64,
                    listing: l.clone(),
                };
                listings.insert((&l.code, &l.decision_number), view);
            }
        }
        Records::Violations(records) => {
            for (i, v) in records.iter().enumerate() {
                let view = ViolationView {
                    sequence: b.manifest.sequence,
                    leaf_index: i as u64,
                    violation: v.clone(),
                };
                violations.insert((&v.code, &v.decision_number), view);
            }
        }
        Records::Evaluation(_) => {}
    }
}

fn event(b: &VerifiedBundle, kind: EventKind, summary: String) -> Event {
    Event {
        sequence: b.manifest.sequence,
        dataset: b.manifest.dataset,
        kind,
        at: b.manifest.created_at,
        code: None,
        name: None,
        reference: None,
        summary,
    }
}

fn about(mut e: Event, code: &str, name: &str, reference: Option<&str>) -> Event {
    e.code = Some(code.to_string());
    e.name = Some(name.to_string());
    e.reference = reference.map(str::to_string);
    e
}

fn diff(before: Option<&VerifiedBundle>, b: &VerifiedBundle, out: &mut Vec<Event>) {
    match &b.records {
        Records::Evaluation(records) => {
            let year = b.manifest.dataset;
            let published = b.manifest.evaluation.and_then(|e| e.publication_date);
            let was_published = before
                .and_then(|p| p.manifest.evaluation)
                .and_then(|e| e.publication_date)
                .is_some();
            match (before, published) {
                (None, None) => out.push(event(
                    b,
                    EventKind::YearInPublicity,
                    format!(
                        "{year}: {} results publicized; objections until {}",
                        records.len(),
                        b.manifest
                            .evaluation
                            .map(|e| e.objection_deadline.to_string())
                            .unwrap_or_default()
                    ),
                )),
                (_, Some(date)) if !was_published => out.push(event(
                    b,
                    EventKind::YearPublished,
                    format!("{year}: {} results published on {date}", records.len()),
                )),
                (Some(_), None) => out.push(event(
                    b,
                    EventKind::YearRevised,
                    format!("{year}: results in publicity revised"),
                )),
                _ => {
                    let old: BTreeMap<&str, _> = before
                        .map(|p| match &p.records {
                            Records::Evaluation(r) => {
                                r.iter().map(|r| (r.code.as_str(), r)).collect()
                            }
                            _ => BTreeMap::new(),
                        })
                        .unwrap_or_default();
                    for r in records {
                        let Some(change) = &r.change else { continue };
                        if old
                            .get(r.code.as_str())
                            .is_some_and(|o| o.change.as_ref() == Some(change))
                        {
                            continue;
                        }
                        let kind = match change.kind {
                            ChangeKind::Correction => EventKind::Correction,
                            ChangeKind::Determination => EventKind::Determination,
                        };
                        let summary = format!(
                            "{year}: now {} / {} risk — {}",
                            r.grade,
                            r.risk.as_str(),
                            change.reason
                        );
                        out.push(about(
                            event(b, kind, summary),
                            &r.code,
                            &r.name,
                            Some(&change.reference),
                        ));
                    }
                }
            }
        }
        Records::DishonestyList(listings) => {
            let old: BTreeMap<(&str, &str), _> = match before.map(|p| &p.records) {
                Some(Records::DishonestyList(r)) => r
                    .iter()
                    .map(|l| ((l.code.as_str(), l.decision_number.as_str()), l))
                    .collect(),
                _ => BTreeMap::new(),
            };
            for l in listings {
                let prior = old.get(&(l.code.as_str(), l.decision_number.as_str()));
                let kind = match prior {
                    None => EventKind::ListingAdded,
                    Some(p) if p.state != l.state => match l.state {
                        ListingState::InForce => EventKind::ListingInForce,
                        ListingState::Repaired | ListingState::Removed => EventKind::ListingEnded,
                        ListingState::Publicity => EventKind::ListingChanged,
                    },
                    Some(p) if *p != l => EventKind::ListingChanged,
                    Some(_) => continue,
                };
                let state = serde_json::to_value(l.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let summary = format!("serious-dishonesty list: {} — {state}", l.reason);
                out.push(about(
                    event(b, kind, summary),
                    &l.code,
                    &l.name,
                    Some(&l.decision_number),
                ));
            }
        }
        Records::Violations(violations) => {
            let old: BTreeMap<(&str, &str), _> = match before.map(|p| &p.records) {
                Some(Records::Violations(r)) => r
                    .iter()
                    .map(|v| ((v.code.as_str(), v.decision_number.as_str()), v))
                    .collect(),
                _ => BTreeMap::new(),
            };
            for v in violations {
                let kind = match old.get(&(v.code.as_str(), v.decision_number.as_str())) {
                    None => EventKind::ViolationAdded,
                    Some(p) if *p != v => EventKind::ViolationChanged,
                    Some(_) => continue,
                };
                let summary = format!(
                    "violation ({}, {}): {}",
                    v.authority, v.decided_on, v.description
                );
                out.push(about(
                    event(b, kind, summary),
                    &v.code,
                    &v.name,
                    Some(&v.decision_number),
                ));
            }
        }
    }
}
