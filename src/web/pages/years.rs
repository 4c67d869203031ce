//! The evaluation years, and one year's results: a table with county, grade and risk filters,
//! pages of 100 in code order, and the same selection as CSV.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Serialize;
use tera::Context;

use super::search::{choices, Filters};
use super::{encode, Page};
use crate::read::search::search;
use crate::read::{Registry, YearInfo};
use crate::web::api::years::{row, ResultRow};
use crate::web::AppState;
use crate::Error;

/// Results per page.
const PAGE_SIZE: usize = 100;

#[derive(Serialize)]
struct YearView {
    year: i32,
    status: String,
    publicity_date: NaiveDate,
    objection_deadline: NaiveDate,
    publication_date: Option<NaiveDate>,
    valid_today: bool,
    institutions: usize,
}

fn year_view(registry: &Registry, y: &YearInfo, today: NaiveDate) -> YearView {
    YearView {
        year: y.year,
        status: y.status().as_str().to_string(),
        publicity_date: y.schedule.publicity_date,
        objection_deadline: y.schedule.objection_deadline,
        publication_date: y.schedule.publication_date,
        valid_today: registry.valid_year(today).map(|v| v.year) == Some(y.year),
        institutions: y.institutions,
    }
}

pub async fn years(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::new(&state, &req);
    if let Err(e) = page.registry.require_known() {
        return page.error(&e);
    }
    let years: Vec<YearView> = page
        .registry
        .years
        .values()
        .rev()
        .map(|y| year_view(&page.registry, y, page.today))
        .collect();
    let mut context = Context::new();
    context.insert("years", &years);
    page.ok("years.html", context)
}

pub async fn year(
    state: web::Data<AppState>,
    req: HttpRequest,
    year: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let mut page = Page::new(&state, &req);
    let Ok(year) = year.parse::<i32>() else {
        return page.error(&Error::BadRequest(format!("year: `{year}` is not a year")));
    };
    let mut filters = match Filters::from_query(&query) {
        Ok(f) => f,
        Err(e) => return page.error(&e),
    };
    let (as_of, after) = match filters.pin(&mut page) {
        Ok(pinned) => pinned,
        Err(e) => return page.error(&e),
    };
    let registry = &page.registry;
    if let Err(e) = registry.require_known_dataset(crate::bundle::Dataset::Evaluation(year)) {
        return page.error(&e);
    }
    let Some(info) = registry.years.get(&year) else {
        return page.error(&Error::NotFound(format!("evaluation year {year}")));
    };
    filters.text = None;
    filters.year = Some(year);
    let found = search(
        registry,
        &filters.filter(as_of),
        after.as_deref(),
        PAGE_SIZE,
    );
    let rows: Vec<ResultRow> = found
        .items
        .iter()
        .filter_map(|inst| row(&inst.code, &inst.name, inst.results.get(&year)?))
        .collect();
    let selection = filters.query(true);
    let next = Filters::next_cursor(&page, as_of, found.next.as_ref());
    let next_url = next.map(|cursor| {
        let sep = if selection.is_empty() { "" } else { "&" };
        format!(
            "{}/years/{year}?{selection}{sep}cursor={}",
            page.locale.base,
            encode(&cursor)
        )
    });
    let csv_url = format!(
        "/api/v1/years/{year}/results.csv{}{selection}",
        if selection.is_empty() { "" } else { "?" }
    );
    let mut context = Context::new();
    context.insert("y", &year_view(registry, info, page.today));
    context.insert("rows", &rows);
    context.insert("total", &found.total);
    context.insert("next_url", &next_url);
    context.insert("csv_url", &csv_url);
    context.insert("json_url", &format!("/api/v1/years/{year}/results"));
    context.insert("filters", &choices(registry, &filters));
    context.insert("filtered", &!selection.is_empty());
    page.ok("year.html", context)
}
