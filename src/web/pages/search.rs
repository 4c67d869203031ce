//! The search page: a piece of a name (or former name), a code or its beginning, or a CMA
//! certificate number; filters by year, county, grade and risk; pages of 50 in code order.
//! Also what the other lists of institutions share: the filters and their form, and a row.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Serialize;
use tera::Context;

use super::{encode, Page};
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel};
use crate::read::cursor::{pinned, Cursor};
use crate::read::search::{search, Filter, MAX_QUERY_CHARS};
use crate::read::{Institution, Registry};
use crate::web::api::institutions::{
    county_info, grade_info, risk_info, CountyInfo, GradeInfo, RiskInfo,
};
use crate::web::AppState;
use crate::{Error, Result};

/// Institutions per page.
pub const PAGE_SIZE: usize = 50;

/// The filters of a list, from the query string. Empty values are "any" (what a form sends
/// for its first option); anything else must be valid, or the page says which parameter is
/// wrong.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub text: Option<String>,
    pub year: Option<i32>,
    pub county: Option<County>,
    pub grade: Option<Grade>,
    pub risk: Option<RiskLevel>,
    pub cursor: Option<String>,
}

fn param<T>(query: &HashMap<String, String>, name: &str, what: &str) -> Result<Option<T>>
where
    T: std::str::FromStr,
{
    match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| Error::BadRequest(format!("{name}: `{v}` is not {what}"))),
    }
}

impl Filters {
    pub fn from_query(query: &HashMap<String, String>) -> Result<Filters> {
        let text = query
            .get("q")
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty());
        if text
            .as_deref()
            .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
        {
            return Err(Error::BadRequest(format!(
                "q: the search text is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        // Read (and bounded) by `pinned`, as the API's cursors are.
        let cursor = query.get("cursor").filter(|c| !c.is_empty()).cloned();
        Ok(Filters {
            text,
            year: param(query, "year", "a year")?,
            county: param(query, "county", "a county-level division code of Jiaxing")?,
            grade: param(query, "grade", "a grade A–E")?,
            risk: param(query, "risk", "a risk level (low, medium or high)")?,
            cursor,
        })
    }

    pub fn filter(&self, as_of: NaiveDate) -> Filter {
        Filter {
            text: self.text.clone(),
            year: self.year,
            county: self.county,
            grade: self.grade,
            risk: self.risk,
            as_of,
        }
    }

    /// Pins `page` to the revision and date its `cursor` was made at (read::cursor), as the
    /// API's paged lists do, so that following "next" never mixes revisions; without a cursor
    /// the page answers from the current revision about today. Returns the date and the code
    /// to continue after.
    pub fn pin(&self, page: &mut Page) -> Result<(NaiveDate, Option<String>)> {
        let (registry, cursor) = pinned(&page.state.live, None, self.cursor.as_deref(), 1)?;
        page.registry = registry;
        let Some(cursor) = cursor else {
            return Ok((page.today, None));
        };
        let as_of = cursor.as_of(None)?.unwrap_or(page.today);
        Ok((as_of, cursor.after.into_iter().next()))
    }

    /// The cursor of the page after the one ending with `last` (None without one).
    pub fn next_cursor(page: &Page, as_of: NaiveDate, last: Option<&String>) -> Option<String> {
        Cursor::encode(&page.registry, Some(as_of), vec![last?.clone()])
    }

    pub fn any(&self) -> bool {
        self.text.is_some()
            || self.year.is_some()
            || self.county.is_some()
            || self.grade.is_some()
            || self.risk.is_some()
    }

    /// The query string of these filters (without the cursor; with `year` unless
    /// `without_year`, for pages whose path holds the year).
    pub fn query(&self, without_year: bool) -> String {
        let mut parts = Vec::new();
        if let Some(q) = &self.text {
            parts.push(format!("q={}", encode(q)));
        }
        if let (Some(y), false) = (self.year, without_year) {
            parts.push(format!("year={y}"));
        }
        if let Some(c) = self.county {
            parts.push(format!("county={}", c.code()));
        }
        if let Some(g) = self.grade {
            parts.push(format!("grade={g}"));
        }
        if let Some(r) = self.risk {
            parts.push(format!("risk={}", r.as_str()));
        }
        parts.join("&")
    }
}

/// The choices of the filter form, with what is selected.
#[derive(Serialize)]
pub struct Choices {
    years: Vec<(i32, bool)>,
    counties: Vec<(CountyInfo, bool)>,
    grades: Vec<(GradeInfo, bool)>,
    risks: Vec<(RiskInfo, bool)>,
}

pub fn choices(registry: &Registry, filters: &Filters) -> Choices {
    Choices {
        years: registry
            .years
            .keys()
            .rev()
            .map(|y| (*y, filters.year == Some(*y)))
            .collect(),
        counties: County::ALL
            .iter()
            .map(|c| (county_info(*c), filters.county == Some(*c)))
            .collect(),
        grades: Grade::ALL
            .iter()
            .map(|g| (grade_info(*g), filters.grade == Some(*g)))
            .collect(),
        risks: RiskLevel::ALL
            .iter()
            .map(|r| (risk_info(*r), filters.risk == Some(*r)))
            .collect(),
    }
}

/// An institution in a list: its grade valid today.
#[derive(Serialize)]
pub struct Row {
    code: String,
    name: String,
    county: Option<CountyInfo>,
    grade: Option<GradeInfo>,
    risk: Option<RiskInfo>,
    year: Option<i32>,
}

pub fn row(registry: &Registry, inst: &Institution, today: NaiveDate) -> Row {
    let standing = registry.standing(inst, today);
    Row {
        code: inst.code.clone(),
        name: inst.name.clone(),
        county: inst.county.map(county_info),
        grade: standing
            .as_ref()
            .map(|s| grade_info(s.version.record.grade)),
        risk: standing.as_ref().map(|s| risk_info(s.version.record.risk)),
        year: standing.map(|s| s.validity.year),
    }
}

pub async fn search_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut page = Page::new(&state, &req);
    let filters = match Filters::from_query(&query) {
        Ok(f) => f,
        Err(e) => return page.error(&e),
    };
    let (as_of, after) = match filters.pin(&mut page) {
        Ok(pinned) => pinned,
        Err(e) => return page.error(&e),
    };
    if let Err(e) = page.registry.require_known() {
        return page.error(&e);
    }
    let registry = &page.registry;
    let mut context = Context::new();
    if filters.any() {
        let found = search(
            registry,
            &filters.filter(as_of),
            after.as_deref(),
            PAGE_SIZE,
        );
        let rows: Vec<Row> = found
            .items
            .iter()
            .map(|i| row(registry, i, as_of))
            .collect();
        context.insert("rows", &rows);
        context.insert("total", &found.total);
        let next = Filters::next_cursor(&page, as_of, found.next.as_ref());
        let next_url = next.map(|cursor| {
            format!(
                "{}/search?{}&cursor={}",
                page.locale.base,
                filters.query(false),
                encode(&cursor)
            )
        });
        context.insert("next_url", &next_url);
        context.insert("searched", &true);
    }
    context.insert("q", &filters.text);
    context.insert("filters", &choices(registry, &filters));
    context.insert("first_page", &filters.cursor.is_none());
    page.ok("search.html", context)
}
