//! Evaluation years: their status and dates, and one year's results (JSON and CSV).

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::institutions::{
    county_info, grade_info, risk_info, score, CountyInfo, GradeInfo, RiskInfo,
};
use super::search::query_string;
use super::{csv_ok, json_ok, DataInfo};
use crate::bundle::records::{ChangeKind, ObjectionStatus};
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel};
use crate::domain::validity::YearStatus;
use crate::read::cursor::{self, page_after, pinned, Cursor};
use crate::read::search::Filter;
use crate::read::{Registry, YearResult};
use crate::web::{AppState, Problem};
use crate::{Error, Result};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_years)
        .service(year_results_csv)
        .service(year_results);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct YearsQuery {
    /// The date (Asia/Shanghai, exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31) for
    /// `valid_on_as_of`; default today.
    #[param(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
}

/// An evaluation year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YearSummary {
    pub year: i32,
    /// "in_publicity" (results shown but giving no valid grade) or "final".
    pub status: YearStatus,
    pub publicity_date: NaiveDate,
    /// Last day to object in writing (5 working days after publicity, Art. 16).
    pub objection_deadline: NaiveDate,
    pub publication_date: Option<NaiveDate>,
    /// Whether this year's grades are the valid ones on `as_of` (Art. 18).
    pub valid_on_as_of: bool,
    pub institutions: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YearsResponse {
    pub data: DataInfo,
    pub as_of: NaiveDate,
    /// True when `as_of` is after today (Asia/Shanghai): answered from the data held now, which
    /// may still change before that day.
    pub provisional: bool,
    /// Newest first.
    pub years: Vec<YearSummary>,
}

/// Evaluation years, newest first.
#[utoipa::path(get, path = "/api/v1/years", tag = "results", params(YearsQuery),
    responses(
        (status = 200, description = "The years", body = YearsResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/years")]
pub async fn list_years(
    state: web::Data<AppState>,
    query: web::Query<YearsQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    registry.require_known()?;
    let today = state.clock.today();
    let as_of = query.as_of.unwrap_or(today);
    let valid = registry.valid_year(as_of).map(|v| v.year);
    let years = registry
        .years
        .values()
        .rev()
        .map(|y| YearSummary {
            year: y.year,
            status: y.status(),
            publicity_date: y.schedule.publicity_date,
            objection_deadline: y.schedule.objection_deadline,
            publication_date: y.schedule.publication_date,
            valid_on_as_of: valid == Some(y.year),
            institutions: y.institutions,
        })
        .collect();
    Ok(json_ok(
        &YearsResponse {
            data: DataInfo::of(&registry),
            as_of,
            provisional: super::as_of::provisional(as_of, today),
            years,
        },
        &registry,
    ))
}

/// Filters of a year's results.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResultsQuery {
    /// County-level division code, e.g. 330402.
    #[param(inline, example = "330402")]
    pub county: Option<County>,
    /// Grade A–E.
    #[param(inline, example = "B")]
    pub grade: Option<Grade>,
    /// Risk level: low, medium or high.
    #[param(inline, example = "low")]
    pub risk: Option<RiskLevel>,
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// Filters of a year's results as CSV: the same filters, every matching row in one file (no
/// paging).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResultsCsvQuery {
    /// County-level division code, e.g. 330402.
    #[param(inline, example = "330402")]
    pub county: Option<County>,
    /// Grade A–E.
    #[param(inline, example = "B")]
    pub grade: Option<Grade>,
    /// Risk level: low, medium or high.
    #[param(inline, example = "low")]
    pub risk: Option<RiskLevel>,
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// `true` to start the file with a UTF-8 byte-order mark (for Excel).
    #[serde(default)]
    pub bom: bool,
}

/// The filters both forms of a year's results take.
#[derive(Debug, Clone, Copy)]
struct ResultsFilter {
    county: Option<County>,
    grade: Option<Grade>,
    risk: Option<RiskLevel>,
}

impl From<&ResultsQuery> for ResultsFilter {
    fn from(q: &ResultsQuery) -> Self {
        ResultsFilter {
            county: q.county,
            grade: q.grade,
            risk: q.risk,
        }
    }
}

impl From<&ResultsCsvQuery> for ResultsFilter {
    fn from(q: &ResultsCsvQuery) -> Self {
        ResultsFilter {
            county: q.county,
            grade: q.grade,
            risk: q.risk,
        }
    }
}

/// One institution's result in a year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultRow {
    pub code: String,
    pub name: String,
    pub county: CountyInfo,
    pub grade: GradeInfo,
    pub risk: RiskInfo,
    /// Basic score ("91.50"); null for an Art. 11 result without scores.
    pub basic_score: Option<String>,
    pub risk_score: Option<String>,
    /// Art. 11 grounds (1–5) that put the result directly at E and high risk.
    pub art11_grounds: Vec<u8>,
    /// Null without an objection.
    pub objection: Option<ObjectionStatus>,
    /// Whether the result was corrected after publication (after review, Art. 16; reaches back
    /// to the original publication).
    pub corrected: bool,
    /// Whether the result was changed after publication by a new determination (e.g. an
    /// Art. 11 finding; applies from its own date).
    pub determined: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultsResponse {
    pub data: DataInfo,
    pub year: YearSummary,
    pub total: usize,
    pub limit: usize,
    /// Pass as `cursor` (with the same filters) for the next page; null on the last page. Opaque;
    /// it carries the revision of this answer, so the next page comes from the same data even
    /// when a new revision arrives in between (a cursor whose revision can no longer be answered
    /// is a 410 `cursor-expired` problem: start again).
    pub next_cursor: Option<String>,
    /// The next page's URL (relative): this query with `cursor = next_cursor`; null on the last
    /// page.
    pub next: Option<String>,
    pub items: Vec<ResultRow>,
}

/// An institution's code, name and result in one year.
type Matched<'a> = (&'a str, &'a str, &'a YearResult);

fn rows<'a>(
    registry: &'a Registry,
    year: i32,
    query: ResultsFilter,
    today: NaiveDate,
) -> Result<(YearSummary, Vec<Matched<'a>>)> {
    let info = registry
        .years
        .get(&year)
        .ok_or_else(|| Error::NotFound(format!("evaluation year {year}")))?;
    let filter = Filter {
        year: Some(year),
        county: query.county,
        grade: query.grade,
        risk: query.risk,
        as_of: today,
        ..Filter::default()
    };
    let summary = YearSummary {
        year,
        status: info.status(),
        publicity_date: info.schedule.publicity_date,
        objection_deadline: info.schedule.objection_deadline,
        publication_date: info.schedule.publication_date,
        valid_on_as_of: registry.valid_year(today).map(|v| v.year) == Some(year),
        institutions: info.institutions,
    };
    let matching = registry
        .institutions
        .values()
        .filter(|inst| filter.matches(registry, inst))
        .filter_map(|inst| {
            Some((
                inst.code.as_str(),
                inst.name.as_str(),
                inst.results.get(&year)?,
            ))
        })
        .collect();
    Ok((summary, matching))
}

/// One institution's current result in a year, as the API and the year page show it.
pub fn row(code: &str, name: &str, result: &YearResult) -> Option<ResultRow> {
    let r = &result.current()?.record;
    Some(ResultRow {
        code: code.to_string(),
        name: name.to_string(),
        county: county_info(r.county),
        grade: grade_info(r.grade),
        risk: risk_info(r.risk),
        basic_score: r.basic.map(|b| score(b.total)),
        risk_score: r.risk_score.map(score),
        art11_grounds: r.art11.iter().map(|f| f.ground.number()).collect(),
        objection: r.objection.as_ref().map(|o| o.status),
        corrected: result.changed_by(ChangeKind::Correction),
        determined: result.changed_by(ChangeKind::Determination),
    })
}

/// One year's results, filtered, in code order.
#[utoipa::path(get, path = "/api/v1/years/{year}/results", tag = "results",
    params(("year" = i32, Path, description = "Evaluation year"), ResultsQuery),
    responses(
        (status = 200, description = "The year's results", body = ResultsResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown year or revision", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The cursor's revision can no longer be answered", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/years/{year}/results")]
pub async fn year_results(
    state: web::Data<AppState>,
    year: web::Path<i32>,
    query: web::Query<ResultsQuery>,
) -> Result<HttpResponse> {
    // A cursor pins the revision of the first page (read::cursor).
    let (registry, cursor) = pinned(&state.live, query.revision, query.cursor.as_deref(), 1)?;
    registry.require_known_dataset(crate::bundle::Dataset::Evaluation(*year))?;
    let limit = cursor::limit(query.limit)?;
    let (summary, matching) = rows(
        &registry,
        *year,
        ResultsFilter::from(&*query),
        state.clock.today(),
    )?;
    let total = matching.len();
    // In code order (the registry's), one row per institution: the code is the sort key.
    let (page, last) = page_after(
        matching,
        cursor.as_ref().map(|c| c.after.as_slice()),
        limit,
        |(code, _, _)| vec![code.to_string()],
    );
    let items: Vec<ResultRow> = page.iter().filter_map(|(c, n, r)| row(c, n, r)).collect();
    let next_cursor = last.and_then(|key| Cursor::encode(&registry, None, key));
    let next = next_cursor
        .as_ref()
        .map(|cursor| next_url(*year, &query, &registry, limit, cursor));
    let body = ResultsResponse {
        data: DataInfo::of(&registry),
        year: summary,
        total,
        limit,
        next_cursor,
        next,
        items,
    };
    Ok(json_ok(&body, &registry))
}

/// This query again with the next page's cursor (and the revision it carries, for reading).
fn next_url(
    year: i32,
    query: &ResultsQuery,
    registry: &Registry,
    limit: usize,
    cursor: &str,
) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(county) = query.county {
        params.push(("county", county.code().to_string()));
    }
    if let Some(grade) = query.grade {
        params.push(("grade", grade.to_string()));
    }
    if let Some(risk) = query.risk {
        params.push(("risk", risk.as_str().to_string()));
    }
    if let Some(revision) = &registry.revision {
        params.push(("revision", revision.sequence.to_string()));
    }
    params.push(("cursor", cursor.to_string()));
    params.push(("limit", limit.to_string()));
    format!("/api/v1/years/{year}/results?{}", query_string(&params))
}

/// CSV columns of a year's results.
#[derive(Debug, Serialize)]
struct ResultCsv<'a> {
    year: i32,
    status: YearStatus,
    code: &'a str,
    name: &'a str,
    county_code: &'a str,
    county: &'a str,
    grade: Grade,
    risk: RiskLevel,
    basic_score: String,
    risk_score: String,
    art11_grounds: String,
    objection: Option<ObjectionStatus>,
    corrected: bool,
    determined: bool,
    revision: u64,
}

/// One year's results as CSV (columns: year, status, code, name, county_code, county, grade,
/// risk, basic_score, risk_score, art11_grounds, objection, corrected, determined, revision).
/// `corrected`: corrected after review (reaches back to publication); `determined`: changed by
/// a new determination (applies from its date).
#[utoipa::path(get, path = "/api/v1/years/{year}/results.csv", tag = "results",
    params(("year" = i32, Path, description = "Evaluation year"), ResultsCsvQuery),
    responses(
        (status = 200, description = "UTF-8 CSV (RFC 4180): a header row, then one row per result of the year, in code order. Columns: `year`, `status`, `code`, `name`, `county_code`, `county`, `grade`, `risk`, `basic_score`, `risk_score`, `art11_grounds`, `objection`, `corrected`, `determined`, `revision`. Cells that would start a spreadsheet formula begin with `'`", body = String, content_type = "text/csv"),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown year or revision", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/years/{year}/results.csv")]
pub async fn year_results_csv(
    state: web::Data<AppState>,
    year: web::Path<i32>,
    query: web::Query<ResultsCsvQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    registry.require_known_dataset(crate::bundle::Dataset::Evaluation(*year))?;
    let (summary, matching) = rows(
        &registry,
        *year,
        ResultsFilter::from(&*query),
        state.clock.today(),
    )?;
    let revision = registry.revision.as_ref().map_or(0, |r| r.sequence);
    let rows: Vec<ResultRow> = matching
        .iter()
        .filter_map(|(c, n, r)| row(c, n, r))
        .collect();
    let csv_rows = rows.iter().map(|r| ResultCsv {
        year: summary.year,
        status: summary.status,
        code: &r.code,
        name: &r.name,
        county_code: &r.county.code,
        county: &r.county.name_zh,
        grade: r.grade.letter,
        risk: r.risk.level,
        basic_score: r.basic_score.clone().unwrap_or_default(),
        risk_score: r.risk_score.clone().unwrap_or_default(),
        art11_grounds: r
            .art11_grounds
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        objection: r.objection,
        corrected: r.corrected,
        determined: r.determined,
        revision,
    });
    csv_ok(
        &format!("envcredit-{}-results.csv", summary.year),
        &[
            "year",
            "status",
            "code",
            "name",
            "county_code",
            "county",
            "grade",
            "risk",
            "basic_score",
            "risk_score",
            "art11_grounds",
            "objection",
            "corrected",
            "determined",
            "revision",
        ],
        csv_rows,
        query.bom,
        &registry,
    )
}
