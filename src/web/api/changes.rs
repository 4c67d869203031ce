//! The change feed: what changed since a cursor (a bundle sequence number), as JSON for sync and
//! as Atom for newsrooms.

use actix_web::{get, web, HttpResponse};
use atom_syndication::{Entry, Feed, Link, Person, Text};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{json_ok, DataInfo};
use crate::bundle::records::ListingState;
use crate::bundle::Dataset;
use crate::domain::time::SHANGHAI_OFFSET_SECONDS;
use crate::read::changes::{events_since, DateSource, Event, EventKind};
use crate::web::{AppState, Problem};
use crate::Result;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(changes_atom).service(changes);
}

/// Most events in one answer; continue from `next_since`.
const MAX_EVENTS: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Events after this data revision (bundle sequence number); default 0, everything.
    pub since: Option<u64>,
}

/// One change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeEvent {
    /// The data revision (bundle sequence number) that carried it.
    pub sequence: u64,
    /// "evaluation-YYYY", "dishonesty-list" or "violations".
    pub dataset: String,
    /// year_in_publicity, year_published, year_revised, correction, determination,
    /// listing_added (first in the registry's list, in the state `listing_state` says),
    /// listing_in_force, listing_ended, listing_changed, violation_added, violation_changed.
    pub kind: EventKind,
    /// When the pipeline made that bundle: when the registry learned of it.
    pub at: DateTime<FixedOffset>,
    /// When it happened (Asia/Shanghai), from the signed data; `date_source` names the field.
    pub date: NaiveDate,
    /// Which signed date `date` is: "publicity_date" or "publication_date" (of the year),
    /// "decision_date" (of the change), "listed_on", "in_force_from" or "ended_on" (of the
    /// listing), "decided_on" (of the violation), or "bundle_created" when no record date says
    /// (a year in publicity revised).
    pub date_source: DateSource,
    /// For listing events, the listing's state in that bundle: "publicity" (newly
    /// publicized), "in_force" (issued; in force since `date`, which may be long before the
    /// bundle), "repaired" or "removed"; null for other events.
    pub listing_state: Option<ListingState>,
    pub code: Option<String>,
    pub name: Option<String>,
    /// Decision number of the change, listing or violation.
    pub reference: Option<String>,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangesResponse {
    pub data: DataInfo,
    pub since: u64,
    /// Pass as `since` to continue: the last sequence covered by this answer.
    pub next_since: u64,
    /// Whether more events follow (ask again with `next_since`).
    pub more: bool,
    /// True when `since` is after this instance's revision (`data.revision`): another instance
    /// behind the same address has seen a newer bundle and this one has not yet (it polls the
    /// store). There are no events, and `next_since` is `since`: ask again later.
    pub ahead: bool,
    pub events: Vec<ChangeEvent>,
}

/// Events after `since`, cut at a bundle boundary so a cursor never splits a bundle (a bundle
/// with more events than a page goes whole). Returns the events, the next cursor and whether
/// more follow.
fn page(events: Vec<Event>, since: u64, latest: u64) -> (Vec<Event>, u64, bool) {
    let (Some(first), Some(cut)) = (events.first(), events.get(MAX_EVENTS)) else {
        return (events, latest.max(since), false);
    };
    let through = if first.sequence == cut.sequence {
        cut.sequence
    } else {
        cut.sequence - 1
    };
    let kept = events
        .into_iter()
        .filter(|e| e.sequence <= through)
        .collect();
    (kept, through, through < latest)
}

fn to_json(e: &Event) -> ChangeEvent {
    ChangeEvent {
        sequence: e.sequence,
        dataset: e.dataset.to_string(),
        kind: e.kind,
        at: e.at,
        date: e.date,
        date_source: e.date_source,
        listing_state: e.listing_state,
        code: e.code.clone(),
        name: e.name.clone(),
        reference: e.reference.clone(),
        summary: e.summary.clone(),
    }
}

/// The start of `date` in Asia/Shanghai.
fn happened(date: NaiveDate) -> Option<DateTime<FixedOffset>> {
    let offset = FixedOffset::east_opt(SHANGHAI_OFFSET_SECONDS)?;
    date.and_hms_opt(0, 0, 0)?
        .and_local_timezone(offset)
        .single()
}

/// What changed after a data revision: new years in publicity or published, corrections,
/// determinations, listings and their removal, violations. Events of listings and violations
/// no longer displayed today (docs/rules.md, "Public display limits") are left out.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", params(ChangesQuery),
    responses(
        (status = 200, description = "Events in order", body = ChangesResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/changes")]
pub async fn changes(
    state: web::Data<AppState>,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.current();
    let since = query.since.unwrap_or(0);
    let latest = registry.revision.as_ref().map_or(0, |r| r.sequence);
    // Ahead of this instance is not an error: several instances behind one address each poll the
    // store, so a client may have seen a bundle this one has not loaded yet.
    let ahead = since > latest;
    let (events, next_since, more) = page(
        events_since(&registry, since, state.clock.today()),
        since,
        latest,
    );
    let body = ChangesResponse {
        data: DataInfo::of(&registry),
        since,
        next_since,
        more,
        ahead,
        events: events.iter().map(to_json).collect(),
    };
    Ok(json_ok(&body, &registry))
}

/// The same events as an Atom feed (newest first), for feed readers.
#[utoipa::path(get, path = "/api/v1/changes.atom", tag = "changes", params(ChangesQuery),
    responses(
        (status = 200, description = "An Atom 1.0 feed (RFC 4287): one entry per change event after revision `since`", body = String, content_type = "application/atom+xml"),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/changes.atom")]
pub async fn changes_atom(
    state: web::Data<AppState>,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.current();
    let since = query.since.unwrap_or(0);
    let mut events = events_since(&registry, since, state.clock.today());
    events.reverse();
    events.truncate(MAX_EVENTS);
    let updated = registry
        .revision
        .as_ref()
        .map(|r| r.created_at)
        .unwrap_or_default();
    let title = match registry.demo {
        true => "DEMO DATA — 嘉兴市社会环境监测机构环境信用 changes",
        false => "嘉兴市社会环境监测机构环境信用 changes",
    };
    // Absolute links (RFC 4287 readers resolve relative ones inconsistently) from the configured
    // public address, never from the request's Host header, which any client sets.
    let base = state.config.public_base();
    let entries: Vec<Entry> = events
        .iter()
        .map(|e| {
            let mut entry = Entry::default();
            let who = e
                .name
                .as_deref()
                .map(|n| format!("{n}: "))
                .unwrap_or_default();
            entry.set_title(Text::plain(format!("{who}{}", e.summary)));
            // Stable across feed updates: a bundle has one event per kind and institution and
            // reference, and at most one year event.
            entry.set_id(format!(
                "urn:envcredit:change:{}:{}:{}:{}",
                e.sequence,
                e.kind.as_str(),
                e.code.as_deref().unwrap_or("-"),
                e.reference.as_deref().unwrap_or("-")
            ));
            entry.set_updated(e.at);
            // When it happened (the start of that day in Asia/Shanghai); `updated` is when the
            // registry learned of it.
            entry.set_published(happened(e.date));
            // Every entry has an alternate link (RFC 4287 4.1.1.2: one without content needs it):
            // the institution's page, or else the page of the dataset that changed.
            let page = match (&e.code, e.dataset) {
                (Some(code), _) => format!("/institutions/{code}"),
                (None, Dataset::Evaluation(year)) => format!("/years/{year}"),
                (None, Dataset::DishonestyList) => "/dishonesty-list".to_string(),
                (None, Dataset::Violations) => "/violations".to_string(),
            };
            let mut link = Link::default();
            link.set_href(format!("{base}{page}"));
            link.set_rel("alternate");
            entry.set_links(vec![link]);
            entry.set_summary(Some(Text::plain(format!(
                "{} ({})",
                e.kind.as_str(),
                e.dataset
            ))));
            entry
        })
        .collect();
    let mut feed = Feed::default();
    feed.set_title(Text::plain(title));
    feed.set_id("urn:envcredit:changes");
    feed.set_updated(updated);
    feed.set_entries(entries);
    // RFC 4287 4.1.1: a feed whose entries have no author has one itself.
    let mut author = Person::default();
    author.set_name(match registry.demo {
        true => "envcredit (DEMO DATA)",
        false => "envcredit",
    });
    author.set_uri(Some(format!("{base}/")));
    feed.set_authors(vec![author]);
    let mut link = Link::default();
    link.set_href(format!("{base}/api/v1/changes.atom"));
    link.set_rel("self");
    let mut home = Link::default();
    home.set_href(format!("{base}/"));
    home.set_rel("alternate");
    feed.set_links(vec![link, home]);
    let xml = feed.to_string();
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/atom+xml; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=60"));
    if let Some(revision) = &registry.revision {
        response.insert_header(("X-Data-Revision", revision.tag()));
        response.insert_header(("X-Data-As-Of", revision.created_at.to_rfc3339()));
    }
    Ok(response.body(xml))
}
