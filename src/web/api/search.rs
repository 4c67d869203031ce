//! `GET /api/v1/institutions`: search by name (partial, Chinese), former name, code prefix or
//! CMA certificate number, with filters, stable order (by code) and cursor pagination.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::institutions::{county_info, grade_info, risk_info, CountyInfo, GradeInfo, RiskInfo};
use super::{json_ok, DataInfo};
use crate::domain::consequences::{bid_flag, BidFlag};
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel};
use crate::domain::validity::YearStatus;
use crate::read::cursor::{self, pinned, Cursor};
use crate::read::search::{search, Filter, MAX_QUERY_CHARS};
use crate::read::{Institution, Registry};
use crate::web::{AppState, Problem};
use crate::{Error, Result};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(search_institutions);
}

/// Search and filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Text: a code or code prefix, any part of a name or former name (`监测` finds every name
    /// containing it), or any part of a CMA certificate number. At most 100 characters.
    #[param(example = "监测", max_length = 100)]
    pub q: Option<String>,
    /// Only institutions with a result in this evaluation year; grade and risk then filter that
    /// year's result.
    #[param(example = 2024)]
    pub year: Option<i32>,
    /// County-level division code: 330402, 330411, 330421, 330424, 330481, 330482 or 330483.
    #[param(inline, example = "330402")]
    pub county: Option<County>,
    /// Grade A–E (of `year`'s result, or else of the grade valid on `as_of`).
    #[param(inline, example = "A")]
    pub grade: Option<Grade>,
    /// Risk level: low, medium or high (as for `grade`).
    #[param(inline, example = "low")]
    pub risk: Option<RiskLevel>,
    /// The date (Asia/Shanghai, exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31) for the valid
    /// grade; default today.
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

/// The grade valid on the date, in short.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StandingSummary {
    pub year: i32,
    pub grade: GradeInfo,
    pub risk: RiskInfo,
    /// "bonus", "penalty" or "none" (Art. 19).
    pub bid_flag: BidFlag,
}

/// The latest evaluation year's result, in short (it may be in publicity).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LatestResult {
    pub year: i32,
    /// "in_publicity" or "final".
    pub status: YearStatus,
    pub grade: GradeInfo,
    pub risk: RiskInfo,
}

/// An institution in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstitutionSummary {
    pub code: String,
    pub name: String,
    pub former_names: Vec<String>,
    pub county: Option<CountyInfo>,
    pub cma_certificate: Option<String>,
    /// The grade valid on `as_of`; null when there is none.
    pub standing: Option<StandingSummary>,
    pub latest: Option<LatestResult>,
}

/// One page of institutions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    pub data: DataInfo,
    pub as_of: NaiveDate,
    /// True when `as_of` is after today (Asia/Shanghai): answered from the data held now, which
    /// may still change before that day.
    pub provisional: bool,
    /// All matches, over every page.
    pub total: usize,
    pub limit: usize,
    /// Pass as `cursor` (with the same filters) for the next page; null on the last page. Opaque;
    /// it carries the revision and `as_of` of this answer, so the next page comes from the same
    /// data even when a new revision arrives in between (a cursor whose revision can no longer
    /// be answered is a 410 `cursor-expired` problem: start again).
    pub next_cursor: Option<String>,
    /// The next page's URL (relative): this query with `cursor = next_cursor`; null on the last
    /// page.
    pub next: Option<String>,
    pub items: Vec<InstitutionSummary>,
}

/// Search institutions.
#[utoipa::path(get, path = "/api/v1/institutions", tag = "institutions",
    params(SearchQuery),
    responses(
        (status = 200, description = "Matches in code order", body = SearchResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The cursor's revision can no longer be answered", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/institutions")]
pub async fn search_institutions(
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    // A cursor pins the revision and date of the first page (read::cursor).
    let (registry, cursor) = pinned(&state.live, query.revision, query.cursor.as_deref(), 1)?;
    registry.require_known()?;
    let today = state.clock.today();
    let as_of = match &cursor {
        Some(cursor) => cursor.as_of(query.as_of)?,
        None => query.as_of,
    }
    .unwrap_or(today);
    if query
        .q
        .as_deref()
        .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(Error::BadRequest(format!(
            "q is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let limit = cursor::limit(query.limit)?;
    let filter = Filter {
        text: query.q.clone(),
        year: query.year,
        county: query.county,
        grade: query.grade,
        risk: query.risk,
        as_of,
    };
    let after = cursor
        .as_ref()
        .and_then(|c| c.after.first())
        .map(String::as_str);
    let page = search(&registry, &filter, after, limit);
    let next_cursor = page
        .next
        .as_ref()
        .and_then(|code| Cursor::encode(&registry, Some(as_of), vec![code.clone()]));
    // The next URL names the date and revision too (the cursor carries them as well), so it
    // reads as the question it answers.
    let revision = registry.revision.as_ref().map(|r| r.sequence);
    let next = next_cursor
        .as_ref()
        .map(|cursor| next_url(&query, as_of, revision, limit, cursor));
    let body = SearchResponse {
        data: DataInfo::of(&registry),
        as_of,
        provisional: super::as_of::provisional(as_of, today),
        total: page.total,
        limit,
        next_cursor,
        next,
        items: page
            .items
            .iter()
            .map(|i| summary(&registry, i, as_of))
            .collect(),
    };
    Ok(json_ok(&body, &registry))
}

fn next_url(
    query: &SearchQuery,
    as_of: NaiveDate,
    revision: Option<u64>,
    limit: usize,
    cursor: &str,
) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(q) = &query.q {
        params.push(("q", q.clone()));
    }
    if let Some(year) = query.year {
        params.push(("year", year.to_string()));
    }
    if let Some(county) = query.county {
        params.push(("county", county.code().to_string()));
    }
    if let Some(grade) = query.grade {
        params.push(("grade", grade.to_string()));
    }
    if let Some(risk) = query.risk {
        params.push(("risk", risk.as_str().to_string()));
    }
    params.push(("as_of", as_of.to_string()));
    if let Some(revision) = revision {
        params.push(("revision", revision.to_string()));
    }
    params.push(("cursor", cursor.to_string()));
    params.push(("limit", limit.to_string()));
    format!("/api/v1/institutions?{}", query_string(&params))
}

/// `k=v&…`, each value percent-encoded.
pub(crate) fn query_string(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(crate) fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn summary(registry: &Registry, inst: &Institution, as_of: NaiveDate) -> InstitutionSummary {
    let standing = registry.standing(inst, as_of).map(|s| {
        let r = &s.version.record;
        StandingSummary {
            year: s.validity.year,
            grade: grade_info(r.grade),
            risk: risk_info(r.risk),
            bid_flag: bid_flag(r.grade, r.risk),
        }
    });
    let latest = inst.results.iter().next_back().and_then(|(year, result)| {
        let r = &result.current()?.record;
        let status = registry.years.get(year)?.status();
        Some(LatestResult {
            year: *year,
            status,
            grade: grade_info(r.grade),
            risk: risk_info(r.risk),
        })
    });
    InstitutionSummary {
        code: inst.code.clone(),
        name: inst.name.clone(),
        former_names: inst.former_names.clone(),
        county: inst.county.map(county_info),
        cma_certificate: inst.cma_certificate.clone(),
        standing,
        latest,
    }
}
