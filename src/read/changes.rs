//! The change feed: what each accepted bundle changed, derived from the verified chain by
//! comparing each snapshot with the previous one of its dataset.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::{ListingView, Registry, ViolationView};
use crate::bundle::records::{
    Change, ChangeKind, EvaluationRecord, Listing, ListingState, Records,
};
use crate::bundle::{Dataset, VerifiedBundle};
use crate::domain::time::shanghai_date;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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
    /// A listing appeared in the registry's serious-dishonesty list, in whatever state it was
    /// then (see [`Event::listing_state`]: newly publicized, or already in force, repaired or
    /// removed).
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

impl EventKind {
    pub const ALL: [EventKind; 11] = [
        EventKind::YearInPublicity,
        EventKind::YearPublished,
        EventKind::YearRevised,
        EventKind::Correction,
        EventKind::Determination,
        EventKind::ListingAdded,
        EventKind::ListingInForce,
        EventKind::ListingEnded,
        EventKind::ListingChanged,
        EventKind::ViolationAdded,
        EventKind::ViolationChanged,
    ];

    /// The serialized name (what the JSON, the feed's entry ids and the pages say).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::YearInPublicity => "year_in_publicity",
            EventKind::YearPublished => "year_published",
            EventKind::YearRevised => "year_revised",
            EventKind::Correction => "correction",
            EventKind::Determination => "determination",
            EventKind::ListingAdded => "listing_added",
            EventKind::ListingInForce => "listing_in_force",
            EventKind::ListingEnded => "listing_ended",
            EventKind::ListingChanged => "listing_changed",
            EventKind::ViolationAdded => "violation_added",
            EventKind::ViolationChanged => "violation_changed",
        }
    }
}

/// Which signed date an event's `date` is: the field of the record or manifest it was read
/// from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// The year's publicity date (公示).
    PublicityDate,
    /// The year's publication date (公布).
    PublicationDate,
    /// The decision date of the change the record carries.
    DecisionDate,
    /// The listing's `listed_on` (decided and publicized).
    ListedOn,
    /// The listing's `in_force_from` (issued, 签发).
    InForceFrom,
    /// The listing's `ended_on` (repaired or removed).
    EndedOn,
    /// The violation's `decided_on`.
    DecidedOn,
    /// No record date says when: the day the pipeline made the bundle (Asia/Shanghai).
    BundleCreated,
}

/// One entry of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The bundle that carried it: the feed's cursor.
    pub sequence: u64,
    pub dataset: Dataset,
    pub kind: EventKind,
    /// When the pipeline made that bundle (when the registry learned of it).
    pub at: DateTime<FixedOffset>,
    /// When it happened, from the signed data: see `date_source`.
    pub date: NaiveDate,
    pub date_source: DateSource,
    /// For listing events: the listing's state as this bundle signs it, so that a listing
    /// already in force (or ended) when it first reaches the registry is not told as newly
    /// publicized.
    pub listing_state: Option<ListingState>,
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

fn event(
    b: &VerifiedBundle,
    kind: EventKind,
    (date, date_source): (NaiveDate, DateSource),
    summary: String,
) -> Event {
    Event {
        sequence: b.manifest.sequence,
        dataset: b.manifest.dataset,
        kind,
        at: b.manifest.created_at,
        date,
        date_source,
        listing_state: None,
        code: None,
        name: None,
        reference: None,
        summary,
    }
}

/// The day the pipeline made the bundle, for what no record date dates.
fn bundle_day(b: &VerifiedBundle) -> (NaiveDate, DateSource) {
    (
        shanghai_date(b.manifest.created_at.to_utc()),
        DateSource::BundleCreated,
    )
}

/// When a listing or violation that differs from its accepted version was changed: the
/// decision date of its new change (the importer requires one); the bundle's day if it has none.
fn new_change(
    b: &VerifiedBundle,
    now: Option<&Change>,
    before: Option<&Change>,
) -> (NaiveDate, DateSource) {
    match now {
        Some(change) if now != before => (change.decision_date, DateSource::DecisionDate),
        _ => bundle_day(b),
    }
}

/// The day a listing reached its signed state, and the wording of that state.
fn listing_date(l: &Listing) -> ((NaiveDate, DateSource), String) {
    let dated = |on: Option<NaiveDate>, source| {
        on.map_or((l.listed_on, DateSource::ListedOn), |on| (on, source))
    };
    match l.state {
        ListingState::Publicity => (
            (l.listed_on, DateSource::ListedOn),
            format!("in publicity since {}", l.listed_on),
        ),
        ListingState::InForce => {
            let d = dated(l.in_force_from, DateSource::InForceFrom);
            (d, format!("in force since {}", d.0))
        }
        ListingState::Repaired => {
            let d = dated(l.ended_on, DateSource::EndedOn);
            (d, format!("credit repaired on {}", d.0))
        }
        ListingState::Removed => {
            let d = dated(l.ended_on, DateSource::EndedOn);
            (d, format!("removed on {}", d.0))
        }
    }
}

/// "B / medium risk".
fn grade_risk(r: &EvaluationRecord) -> String {
    format!("{} / {} risk", r.grade, r.risk.as_str())
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
            let Some(schedule) = b.manifest.evaluation else {
                return;
            };
            match (before, published) {
                (None, None) => out.push(event(
                    b,
                    EventKind::YearInPublicity,
                    (schedule.publicity_date, DateSource::PublicityDate),
                    format!(
                        "{year}: {} results in publicity from {}; objections until {}",
                        records.len(),
                        schedule.publicity_date,
                        schedule.objection_deadline
                    ),
                )),
                (_, Some(date)) if !was_published => out.push(event(
                    b,
                    EventKind::YearPublished,
                    (date, DateSource::PublicationDate),
                    format!("{year}: {} results published on {date}", records.len()),
                )),
                (Some(_), None) => out.push(event(
                    b,
                    EventKind::YearRevised,
                    bundle_day(b),
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
                        let prior = old.get(r.code.as_str());
                        if prior.is_some_and(|o| o.change.as_ref() == Some(change)) {
                            continue;
                        }
                        let (kind, what) = match change.kind {
                            ChangeKind::Correction => (EventKind::Correction, "correction"),
                            ChangeKind::Determination => {
                                (EventKind::Determination, "determination")
                            }
                        };
                        // What this change set, and what the record said before it.
                        let set = match prior {
                            Some(p) => format!("{} → {}", grade_risk(p), grade_risk(r)),
                            None => grade_risk(r),
                        };
                        let summary = format!(
                            "{year}: {what} decided on {}, effective from {}: {set} — {}",
                            change.decision_date, change.effective_from, change.reason
                        );
                        out.push(about(
                            event(
                                b,
                                kind,
                                (change.decision_date, DateSource::DecisionDate),
                                summary,
                            ),
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
                let (reached, state) = listing_date(l);
                let date = match kind {
                    EventKind::ListingChanged => {
                        new_change(b, l.change.as_ref(), prior.and_then(|p| p.change.as_ref()))
                    }
                    _ => reached,
                };
                let summary = format!("serious-dishonesty list: {} — {state}", l.reason);
                let mut e = about(
                    event(b, kind, date, summary),
                    &l.code,
                    &l.name,
                    Some(&l.decision_number),
                );
                e.listing_state = Some(l.state);
                out.push(e);
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
                let (kind, date) = match old.get(&(v.code.as_str(), v.decision_number.as_str())) {
                    None => (
                        EventKind::ViolationAdded,
                        (v.decided_on, DateSource::DecidedOn),
                    ),
                    Some(p) if *p != v => (
                        EventKind::ViolationChanged,
                        new_change(b, v.change.as_ref(), p.change.as_ref()),
                    ),
                    Some(_) => continue,
                };
                let summary = format!(
                    "violation ({}, {}): {}",
                    v.authority, v.decided_on, v.description
                );
                out.push(about(
                    event(b, kind, date, summary),
                    &v.code,
                    &v.name,
                    Some(&v.decision_number),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kind_names_are_what_serde_writes() {
        for kind in EventKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::Value::from(kind.as_str()))
            );
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn listing(
        state: ListingState,
        in_force_from: Option<NaiveDate>,
        ended_on: Option<NaiveDate>,
    ) -> Listing {
        Listing {
            code: "X".into(),
            name: "N".into(),
            decision_number: "D".into(),
            reason: "r".into(),
            state,
            listed_on: date(2023, 3, 1),
            in_force_from,
            ended_on,
            change: None,
        }
    }

    #[test]
    fn a_listing_is_dated_by_the_state_it_reached() {
        let issued = Some(date(2023, 3, 15));
        let ended = Some(date(2024, 8, 30));
        for (state, ended_on, on, source, words) in [
            (
                ListingState::Publicity,
                None,
                date(2023, 3, 1),
                DateSource::ListedOn,
                "in publicity since 2023-03-01",
            ),
            (
                ListingState::InForce,
                None,
                date(2023, 3, 15),
                DateSource::InForceFrom,
                "in force since 2023-03-15",
            ),
            (
                ListingState::Repaired,
                ended,
                date(2024, 8, 30),
                DateSource::EndedOn,
                "credit repaired on 2024-08-30",
            ),
            (
                ListingState::Removed,
                ended,
                date(2024, 8, 30),
                DateSource::EndedOn,
                "removed on 2024-08-30",
            ),
        ] {
            let in_force_from = (state != ListingState::Publicity)
                .then_some(issued)
                .flatten();
            let ((d, s), w) = listing_date(&listing(state, in_force_from, ended_on));
            assert_eq!((d, s, w.as_str()), (on, source, words), "{state:?}");
        }
    }
}
