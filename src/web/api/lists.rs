//! The serious-dishonesty list (Art. 12) and publicized violations (Art. 17), JSON and CSV.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::proofs::{listing_proof_url, violation_proof_url};
use super::search::query_string;
use super::{csv_ok, json_ok, DataInfo};
use crate::bundle::records::ListingState;
use crate::bundle::Dataset;
use crate::read::cursor::{self, page_after, pinned, Cursor};
use crate::read::Registry;
use crate::web::{AppState, Problem};
use crate::Result;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(dishonesty_list_csv)
        .service(dishonesty_list)
        .service(violations_csv)
        .service(violations);
}

/// Which listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListingFilter {
    /// Only listings in force on `as_of` (issued, not repaired or removed).
    #[default]
    InForce,
    /// Every listing displayed today (a repaired one leaves display at once, a removed one
    /// after 5 years) with its state and dates.
    All,
}

impl ListingFilter {
    /// As the `state` parameter spells it.
    fn param(self) -> String {
        match self {
            ListingFilter::InForce => "in_force",
            ListingFilter::All => "all",
        }
        .to_string()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `in_force` (default) or `all`.
    #[serde(default)]
    #[param(inline)]
    pub state: ListingFilter,
    /// The date (Asia/Shanghai, exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31) for "in
    /// force"; default today. A date after today is answered as `provisional`.
    #[param(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// The query parameters of the list as CSV: the whole list in one file, so no paging (a JSON
/// list's `cursor` or `limit` here is refused as unknown rather than silently ignored).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListCsvQuery {
    /// `in_force` (default) or `all`.
    #[serde(default)]
    #[param(inline)]
    pub state: ListingFilter,
    /// The date (Asia/Shanghai, exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31) for "in
    /// force"; default today. A date after today is answered as `provisional`.
    #[param(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// `true` to start the file with a UTF-8 byte-order mark (for Excel).
    #[serde(default)]
    pub bom: bool,
}

/// A listing on the serious-dishonesty list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingRow {
    pub code: String,
    pub name: String,
    pub decision_number: String,
    pub reason: String,
    pub state: ListingState,
    /// In force on `as_of`.
    pub in_force: bool,
    pub listed_on: NaiveDate,
    pub in_force_from: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    /// Where the listing's inclusion proof is (relative URL, at this answer's revision): check
    /// it offline with `envcredit verify-proof --listing` (docs/verify.md). Not in the CSV.
    pub proof: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingsResponse {
    pub data: DataInfo,
    pub as_of: NaiveDate,
    /// True when `as_of` is after today (Asia/Shanghai): answered from the data held now, which
    /// may still change before that day.
    pub provisional: bool,
    pub total: usize,
    /// Listings that were in force on `as_of` (as this revision knows them) and have left public
    /// display since (docs/rules.md): counted here, never shown, so that a past date does not
    /// read as "nobody was on the list".
    pub not_displayed: usize,
    pub limit: usize,
    /// Pass as `cursor` (with the same parameters) for the next page; null on the last page.
    /// Opaque; it carries the revision and `as_of` of this answer, so the next page comes from the same
    /// data even when a new revision arrives in between (a cursor whose revision can no longer
    /// be answered is a 410 `cursor-expired` problem: start again).
    pub next_cursor: Option<String>,
    /// The next page's URL (relative): this query with `cursor = next_cursor`; null on the last
    /// page.
    pub next: Option<String>,
    pub items: Vec<ListingRow>,
}

/// How many listings were in force on `as_of` and are no longer displayed on `today`.
pub fn not_displayed_in_force(registry: &Registry, as_of: NaiveDate, today: NaiveDate) -> usize {
    registry
        .institutions
        .values()
        .flat_map(|inst| &inst.listings)
        .filter(|l| l.in_force_on(as_of) && !registry.listing_displayed(l, today))
        .count()
}

/// A row of the list's CSV: a displayed listing, or (every cell empty but `state`, `in_force`
/// and `provisional`) one in force on `as_of` that has left display since.
#[derive(Debug, Serialize)]
struct ListingCsv {
    code: String,
    name: String,
    decision_number: String,
    reason: String,
    state: String,
    in_force: bool,
    listed_on: Option<NaiveDate>,
    in_force_from: Option<NaiveDate>,
    ended_on: Option<NaiveDate>,
    provisional: bool,
}

impl ListingCsv {
    fn shown(row: ListingRow, provisional: bool) -> ListingCsv {
        ListingCsv {
            code: row.code,
            name: row.name,
            decision_number: row.decision_number,
            reason: row.reason,
            state: row.state.as_str().to_string(),
            in_force: row.in_force,
            listed_on: Some(row.listed_on),
            in_force_from: row.in_force_from,
            ended_on: row.ended_on,
            provisional,
        }
    }

    fn not_displayed(provisional: bool) -> ListingCsv {
        ListingCsv {
            code: String::new(),
            name: String::new(),
            decision_number: String::new(),
            reason: String::new(),
            state: "not_displayed".into(),
            in_force: true,
            listed_on: None,
            in_force_from: None,
            ended_on: None,
            provisional,
        }
    }
}

/// The listings displayed today, those in force on `as_of` unless `filter` is `All` (the API
/// and the page show the same rows).
pub fn listings(
    registry: &Registry,
    filter: ListingFilter,
    as_of: NaiveDate,
    today: NaiveDate,
) -> Vec<ListingRow> {
    registry
        .institutions
        .values()
        .flat_map(|inst| registry.displayed_listings(inst, today))
        .filter(|l| filter == ListingFilter::All || l.in_force_on(as_of))
        .map(|l| ListingRow {
            code: l.listing.code.clone(),
            name: l.listing.name.clone(),
            decision_number: l.listing.decision_number.clone(),
            reason: l.listing.reason.clone(),
            state: l.listing.state,
            in_force: l.in_force_on(as_of),
            listed_on: l.listing.listed_on,
            in_force_from: l.listing.in_force_from,
            ended_on: l.listing.ended_on,
            proof: listing_proof_url(registry, &l.listing.code, &l.listing.decision_number),
        })
        .collect()
}

/// The serious-dishonesty list (in force by default), by code and decision number, in pages.
#[utoipa::path(get, path = "/api/v1/dishonesty-list", tag = "lists", params(ListQuery),
    responses(
        (status = 200, description = "Listings", body = ListingsResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The cursor's revision can no longer be answered", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/dishonesty-list")]
pub async fn dishonesty_list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    // A cursor pins the revision and date of the first page (read::cursor).
    let (registry, cursor) = pinned(&state.live, query.revision, query.cursor.as_deref(), 2)?;
    registry.require_known_dataset(Dataset::DishonestyList)?;
    let limit = cursor::limit(query.limit)?;
    let today = state.clock.today();
    let as_of = match &cursor {
        Some(cursor) => cursor.as_of(query.as_of)?,
        None => query.as_of,
    }
    .unwrap_or(today);
    let mut rows = listings(&registry, query.state, as_of, today);
    // An institution may have several listings: the decision number orders them, and the two
    // together are the sort key the cursor continues after.
    rows.sort_by_key(listing_key);
    let total = rows.len();
    let (items, last) = page_after(
        rows,
        cursor.as_ref().map(|c| c.after.as_slice()),
        limit,
        listing_key,
    );
    let next_cursor = last.and_then(|key| Cursor::encode(&registry, Some(as_of), key));
    let next = next_cursor.as_ref().map(|cursor| {
        let mut params = vec![("state", query.state.param()), ("as_of", as_of.to_string())];
        params.extend(revision_param(&registry));
        params.push(("cursor", cursor.clone()));
        params.push(("limit", limit.to_string()));
        format!("/api/v1/dishonesty-list?{}", query_string(&params))
    });
    let body = ListingsResponse {
        data: DataInfo::of(&registry),
        as_of,
        provisional: super::as_of::provisional(as_of, today),
        total,
        not_displayed: not_displayed_in_force(&registry, as_of, today),
        limit,
        next_cursor,
        next,
        items,
    };
    Ok(json_ok(&body, &registry))
}

fn listing_key(row: &ListingRow) -> Vec<String> {
    vec![row.code.clone(), row.decision_number.clone()]
}

fn violation_key(row: &ViolationRow) -> Vec<String> {
    vec![row.code.clone(), row.decision_number.clone()]
}

/// The `revision` parameter of a next URL: the revision answered from (the cursor carries it
/// too; the URL names it for reading).
fn revision_param(registry: &Registry) -> Option<(&'static str, String)> {
    registry
        .revision
        .as_ref()
        .map(|r| ("revision", r.sequence.to_string()))
}

/// The serious-dishonesty list as CSV (columns: code, name, decision_number, reason, state,
/// in_force, listed_on, in_force_from, ended_on, provisional). After the displayed listings,
/// one row per listing that was in force on `as_of` and has left public display since: `state`
/// is `not_displayed`, `in_force` is `true`, and every other cell but `provisional` is empty.
/// `provisional` is `true` on every row when `as_of` is after today.
#[utoipa::path(get, path = "/api/v1/dishonesty-list.csv", tag = "lists", params(ListCsvQuery),
    responses(
        (status = 200, description = "UTF-8 CSV (RFC 4180): a header row, then one row per listing. Columns: `code`, `name`, `decision_number`, `reason`, `state`, `in_force`, `listed_on`, `in_force_from`, `ended_on`, `provisional`. Cells that would start a spreadsheet formula begin with `'`", body = String, content_type = "text/csv"),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/dishonesty-list.csv")]
pub async fn dishonesty_list_csv(
    state: web::Data<AppState>,
    query: web::Query<ListCsvQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    registry.require_known_dataset(Dataset::DishonestyList)?;
    let today = state.clock.today();
    let as_of = query.as_of.unwrap_or(today);
    let provisional = super::as_of::provisional(as_of, today);
    let shown = listings(&registry, query.state, as_of, today)
        .into_iter()
        .map(|row| ListingCsv::shown(row, provisional));
    let hidden = (0..not_displayed_in_force(&registry, as_of, today))
        .map(|_| ListingCsv::not_displayed(provisional));
    csv_ok(
        "envcredit-dishonesty-list.csv",
        &[
            "code",
            "name",
            "decision_number",
            "reason",
            "state",
            "in_force",
            "listed_on",
            "in_force_from",
            "ended_on",
            "provisional",
        ],
        shown.chain(hidden),
        query.bom,
        &registry,
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ViolationsQuery {
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// The query parameters of the violations as CSV: all of them in one file, no paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ViolationsCsvQuery {
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// `true` to start the file with a UTF-8 byte-order mark (for Excel).
    #[serde(default)]
    pub bom: bool,
}

/// A publicized violation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationRow {
    pub code: String,
    pub name: String,
    pub decision_number: String,
    pub authority: String,
    pub description: String,
    pub decided_on: NaiveDate,
    /// Where the violation's inclusion proof is (relative URL, at this answer's revision):
    /// check it offline with `envcredit verify-proof --violation` (docs/verify.md). Not in the
    /// CSV.
    pub proof: String,
}

/// A row of the violations' CSV: a violation without its proof link.
#[derive(Debug, Serialize)]
struct ViolationCsv {
    code: String,
    name: String,
    decision_number: String,
    authority: String,
    description: String,
    decided_on: NaiveDate,
}

impl From<ViolationRow> for ViolationCsv {
    fn from(row: ViolationRow) -> ViolationCsv {
        ViolationCsv {
            code: row.code,
            name: row.name,
            decision_number: row.decision_number,
            authority: row.authority,
            description: row.description,
            decided_on: row.decided_on,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationsResponse {
    pub data: DataInfo,
    pub total: usize,
    pub limit: usize,
    /// Pass as `cursor` (with the same parameters) for the next page; null on the last page.
    /// Opaque; it carries the revision of this answer, so the next page comes from the same
    /// data even when a new revision arrives in between (a cursor whose revision can no longer
    /// be answered is a 410 `cursor-expired` problem: start again).
    pub next_cursor: Option<String>,
    /// The next page's URL (relative): this query with `cursor = next_cursor`; null on the last
    /// page.
    pub next: Option<String>,
    pub items: Vec<ViolationRow>,
}

/// The violations displayed on `today` (the API, the CSV and the page show the same rows).
pub fn violation_rows(registry: &Registry, today: NaiveDate) -> Vec<ViolationRow> {
    registry
        .institutions
        .values()
        .flat_map(|inst| registry.displayed_violations(inst, today))
        .map(|v| ViolationRow {
            code: v.violation.code.clone(),
            name: v.violation.name.clone(),
            decision_number: v.violation.decision_number.clone(),
            authority: v.violation.authority.clone(),
            description: v.violation.description.clone(),
            decided_on: v.violation.decided_on,
            proof: violation_proof_url(registry, &v.violation.code, &v.violation.decision_number),
        })
        .collect()
}

/// Publicized violations (Art. 17) displayed today (until 5 years after their decision), by
/// code and decision number, in pages.
#[utoipa::path(get, path = "/api/v1/violations", tag = "lists", params(ViolationsQuery),
    responses(
        (status = 200, description = "Violations", body = ViolationsResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The cursor's revision can no longer be answered", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/violations")]
pub async fn violations(
    state: web::Data<AppState>,
    query: web::Query<ViolationsQuery>,
) -> Result<HttpResponse> {
    // A cursor pins the revision of the first page (read::cursor).
    let (registry, cursor) = pinned(&state.live, query.revision, query.cursor.as_deref(), 2)?;
    registry.require_known_dataset(Dataset::Violations)?;
    let limit = cursor::limit(query.limit)?;
    let mut rows = violation_rows(&registry, state.clock.today());
    rows.sort_by_key(violation_key);
    let total = rows.len();
    let (items, last) = page_after(
        rows,
        cursor.as_ref().map(|c| c.after.as_slice()),
        limit,
        violation_key,
    );
    let next_cursor = last.and_then(|key| Cursor::encode(&registry, None, key));
    let next = next_cursor.as_ref().map(|cursor| {
        let mut params: Vec<(&str, String)> = revision_param(&registry).into_iter().collect();
        params.push(("cursor", cursor.clone()));
        params.push(("limit", limit.to_string()));
        format!("/api/v1/violations?{}", query_string(&params))
    });
    Ok(json_ok(
        &ViolationsResponse {
            data: DataInfo::of(&registry),
            total,
            limit,
            next_cursor,
            next,
            items,
        },
        &registry,
    ))
}

/// Publicized violations as CSV (columns: code, name, decision_number, authority, description,
/// decided_on).
#[utoipa::path(get, path = "/api/v1/violations.csv", tag = "lists", params(ViolationsCsvQuery),
    responses(
        (status = 200, description = "UTF-8 CSV (RFC 4180): a header row, then one row per publicized violation. Columns: `code`, `name`, `decision_number`, `authority`, `description`, `decided_on`. Cells that would start a spreadsheet formula begin with `'`", body = String, content_type = "text/csv"),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/violations.csv")]
pub async fn violations_csv(
    state: web::Data<AppState>,
    query: web::Query<ViolationsCsvQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    registry.require_known_dataset(Dataset::Violations)?;
    csv_ok(
        "envcredit-violations.csv",
        &[
            "code",
            "name",
            "decision_number",
            "authority",
            "description",
            "decided_on",
        ],
        violation_rows(&registry, state.clock.today())
            .into_iter()
            .map(ViolationCsv::from),
        query.bom,
        &registry,
    )
}
