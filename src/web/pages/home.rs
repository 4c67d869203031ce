//! The home page: the latest year's results at a glance (counts per grade, in their colours),
//! which year's grades are valid today, and the latest changes. The search form is in every
//! page's header.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tera::Context;

use super::Page;
use crate::domain::score::Grade;
use crate::read::changes::{events_since, Event, EventKind};
use crate::read::stats::statistics;
use crate::web::api::institutions::{grade_info, GradeInfo};
use crate::web::AppState;

/// How many of the latest changes the home page lists.
const RECENT: usize = 10;

#[derive(Serialize)]
struct Glance {
    year: i32,
    status: String,
    total: usize,
    grades: Vec<(GradeInfo, usize)>,
}

#[derive(Serialize)]
struct Recent {
    /// What happened: the catalogue key under `event`.
    what: String,
    /// When it happened (a signed date, not the bundle's arrival).
    date: String,
    code: Option<String>,
    name: Option<String>,
    reference: Option<String>,
    year: Option<i32>,
}

/// The wording of an event: a listing that first reaches the registry, is issued or ends is
/// told by the state it reached on its date (newly publicized, in force, repaired, removed),
/// not as "put on the list" whatever it is.
fn what_happened(e: &Event) -> String {
    match (e.kind, e.listing_state) {
        (
            EventKind::ListingAdded | EventKind::ListingInForce | EventKind::ListingEnded,
            Some(state),
        ) => format!("listing_{}", state.as_str()),
        _ => e.kind.as_str().to_string(),
    }
}

pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::new(&state, &req);
    if let Err(e) = page.registry.require_known() {
        return page.error(&e);
    }
    let registry = &page.registry;
    let mut counts = statistics(registry);
    let glance = registry.years.values().next_back().map(|y| {
        let c = counts.remove(&y.year).unwrap_or_default();
        Glance {
            year: y.year,
            status: y.status().as_str().to_string(),
            total: c.total,
            grades: Grade::ALL
                .iter()
                .map(|g| (grade_info(*g), c.by_grade.get(g).copied().unwrap_or(0)))
                .collect(),
        }
    });
    // The latest bundles carry the latest changes: no need to walk the whole chain.
    let head = registry.revision.as_ref().map_or(0, |r| r.sequence);
    let mut latest: Vec<Event> = events_since(registry, head.saturating_sub(8), page.today)
        .into_iter()
        .rev()
        .take(RECENT)
        .collect();
    // Listed by the day each happened, newest first (the latest to arrive first on a tie): a
    // listing in force for years that reaches the registry only now is not told as news.
    latest.sort_by_key(|e| std::cmp::Reverse(e.date));
    let recent: Vec<Recent> = latest
        .into_iter()
        .map(|e| Recent {
            what: what_happened(&e),
            date: e.date.to_string(),
            code: e.code,
            name: e.name,
            reference: e.reference,
            year: e.dataset.year(),
        })
        .collect();
    let mut context = Context::new();
    context.insert("glance", &glance);
    context.insert(
        "valid_year",
        &registry.valid_year(page.today).map(|v| v.year),
    );
    context.insert("recent", &recent);
    page.ok("home.html", context)
}
