//! The serious-dishonesty list (Art. 12): the listings in force today, or every listing still
//! displayed, with the same selection as CSV; and the publicized violations (Art. 17) displayed
//! today, the rows the violations API answers.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use tera::Context;

use super::Page;
use crate::bundle::Dataset;
use crate::web::api::lists::{listings, violation_rows, ListingFilter};
use crate::web::AppState;
use crate::Error;

pub async fn dishonesty_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let page = Page::new(&state, &req);
    if let Err(e) = page
        .registry
        .require_known_dataset(crate::bundle::Dataset::DishonestyList)
    {
        return page.error(&e);
    }
    let all = match query.get("state").map(String::as_str) {
        None | Some("") | Some("in_force") => false,
        Some("all") => true,
        Some(other) => {
            return page.error(&Error::BadRequest(format!(
                "state: `{other}` is not `in_force` or `all`"
            )))
        }
    };
    let filter = if all {
        ListingFilter::All
    } else {
        ListingFilter::InForce
    };
    let rows = listings(&page.registry, filter, page.today, page.today);
    let mut context = Context::new();
    context.insert("rows", &rows);
    context.insert("all", &all);
    context.insert(
        "csv_url",
        if all {
            "/api/v1/dishonesty-list.csv?state=all"
        } else {
            "/api/v1/dishonesty-list.csv"
        },
    );
    page.ok("dishonesty.html", context)
}

/// `/violations`: the same rows as `GET /api/v1/violations`, linked to their institutions.
pub async fn violations(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::new(&state, &req);
    if let Err(e) = page.registry.require_known_dataset(Dataset::Violations) {
        return page.error(&e);
    }
    let mut context = Context::new();
    context.insert("rows", &violation_rows(&page.registry, page.today));
    page.ok("violations.html", context)
}
