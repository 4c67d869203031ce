//! HTML pages (tera), Chinese first with English beside. Every colour carries its letter and word.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use tera::{Context, Tera};

use super::api::institutions::{grade_info, institution_view};
use super::api::DEMO_NOTICE;
use super::{AppState, Problem};
use crate::domain::score::Grade;
use crate::read::Registry;
use crate::{Error, Result};

/// Templates are compiled into the binary and loaded once.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../templates/base.html")),
    (
        "partials/badge.html",
        include_str!("../../../templates/partials/badge.html"),
    ),
    ("home.html", include_str!("../../../templates/home.html")),
    (
        "search.html",
        include_str!("../../../templates/search.html"),
    ),
    (
        "institution.html",
        include_str!("../../../templates/institution.html"),
    ),
    ("error.html", include_str!("../../../templates/error.html")),
];

const SITE_CSS: &str = include_str!("../../../static/site.css");

pub fn templates() -> Result<Tera> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| Error::Internal(format!("templates: {e:?}")))?;
    tera.autoescape_on(vec![".html"]);
    Ok(tera)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(search_page)
        .service(institution)
        .service(site_css);
}

#[derive(Serialize)]
struct Frame {
    demo_notice: Option<&'static str>,
    revision: Option<String>,
    /// When the pipeline made the revision's bundle: the data is as of then.
    data_as_of: Option<String>,
    today: String,
}

fn frame(registry: &Registry, state: &AppState) -> Frame {
    Frame {
        demo_notice: registry.demo.then_some(DEMO_NOTICE),
        revision: registry.revision.as_ref().map(|r| r.tag()),
        data_as_of: registry
            .revision
            .as_ref()
            .map(|r| r.created_at.format("%Y-%m-%d %H:%M %:z").to_string()),
        today: state.clock.today().to_string(),
    }
}

fn render(
    state: &AppState,
    registry: &Registry,
    template: &str,
    mut context: Context,
    status: StatusCode,
) -> HttpResponse {
    context.insert("frame", &frame(registry, state));
    match state.templates.render(template, &context) {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((
                "Cache-Control",
                if status.is_success() {
                    "public, max-age=60"
                } else {
                    "no-store"
                },
            ))
            .body(html),
        Err(e) => {
            tracing::error!(template, error = ?e, "template failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("500 Internal error / 内部错误")
        }
    }
}

/// The error page: same shape as the API's problem, in the site's style.
fn error_page(state: &AppState, registry: &Registry, error: &Error) -> HttpResponse {
    let problem = Problem::from(error);
    if problem.status().is_server_error() {
        tracing::error!(error = %error, "page failed");
    }
    let mut context = Context::new();
    context.insert("problem", &problem);
    render(state, registry, "error.html", context, problem.status())
}

#[derive(Serialize)]
struct Row {
    code: String,
    name: String,
    county: String,
    grade: Option<super::api::institutions::GradeInfo>,
    year: Option<i32>,
}

/// A row of an institution list: its valid grade today.
fn row(registry: &Registry, inst: &crate::read::Institution, today: chrono::NaiveDate) -> Row {
    let standing = registry.standing(inst, today);
    Row {
        code: inst.code.clone(),
        name: inst.name.clone(),
        county: inst
            .county
            .map(|c| c.name_zh().to_string())
            .unwrap_or_default(),
        grade: standing
            .as_ref()
            .map(|s| grade_info(s.version.record.grade)),
        year: standing.map(|s| s.validity.year),
    }
}

/// What the search page reads; anything else in the query string is ignored.
#[derive(Debug, serde::Deserialize)]
struct SearchPageQuery {
    q: Option<String>,
    cursor: Option<String>,
}

/// Institutions per search page.
const SEARCH_PAGE_SIZE: usize = 50;

/// The search page: a piece of a name (or former name), a code or its beginning, or a CMA
/// certificate number.
#[get("/search")]
async fn search_page(
    state: web::Data<AppState>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let registry = state.live.current();
    let today = state.clock.today();
    let query = SearchPageQuery {
        q: query
            .get("q")
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty()),
        cursor: query.get("cursor").cloned(),
    };
    if query
        .q
        .as_deref()
        .is_some_and(|q| q.chars().count() > crate::read::search::MAX_QUERY_CHARS)
    {
        let error = Error::BadRequest(format!(
            "the search text is longer than {} characters",
            crate::read::search::MAX_QUERY_CHARS
        ));
        return error_page(&state, &registry, &error);
    }
    let mut context = Context::new();
    if let Some(q) = &query.q {
        let filter = crate::read::search::Filter {
            text: Some(q.clone()),
            as_of: today,
            ..Default::default()
        };
        let page = crate::read::search::search(
            &registry,
            &filter,
            query.cursor.as_deref(),
            SEARCH_PAGE_SIZE,
        );
        let rows: Vec<Row> = page
            .items
            .iter()
            .map(|i| row(&registry, i, today))
            .collect();
        context.insert("rows", &rows);
        context.insert("total", &page.total);
        let next_url = page.next.as_ref().map(|cursor| {
            format!(
                "/search?q={}&cursor={}",
                super::api::search::percent_encode(q),
                super::api::search::percent_encode(cursor)
            )
        });
        context.insert("next_url", &next_url);
    }
    context.insert("q", &query.q);
    render(&state, &registry, "search.html", context, StatusCode::OK)
}

#[get("/")]
async fn home(state: web::Data<AppState>) -> HttpResponse {
    let registry = state.live.current();
    let today = state.clock.today();
    let rows: Vec<Row> = registry
        .institutions
        .values()
        .map(|inst| row(&registry, inst, today))
        .collect();
    let mut counts: Vec<(String, usize)> = Grade::ALL.iter().map(|g| (g.to_string(), 0)).collect();
    for row in &rows {
        if let Some(g) = &row.grade {
            if let Some(c) = counts.iter_mut().find(|(l, _)| *l == g.letter) {
                c.1 += 1;
            }
        }
    }
    let mut context = Context::new();
    context.insert("rows", &rows);
    context.insert("valid_year", &registry.valid_year(today).map(|v| v.year));
    context.insert(
        "grades",
        &Grade::ALL
            .iter()
            .map(|g| grade_info(*g))
            .collect::<Vec<_>>(),
    );
    context.insert("counts", &counts);
    render(&state, &registry, "home.html", context, StatusCode::OK)
}

#[get("/institutions/{code}")]
async fn institution(state: web::Data<AppState>, code: web::Path<String>) -> HttpResponse {
    let registry = state.live.current();
    let today = state.clock.today();
    match institution_view(&registry, &code, today, today) {
        Ok(view) => {
            let mut context = Context::new();
            context.insert("i", &view);
            render(
                &state,
                &registry,
                "institution.html",
                context,
                StatusCode::OK,
            )
        }
        Err(e) => error_page(&state, &registry, &e),
    }
}

#[get("/static/site.css")]
async fn site_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(SITE_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stylesheet paints each grade in the colours the domain defines (and the API reports).
    #[test]
    fn stylesheet_colours_match_the_domain() {
        for grade in Grade::ALL {
            let colour = grade.colour();
            let rule = format!(
                ".grade-{grade} {{ background: {}; color: {}; }}",
                colour.hex(),
                colour.text_hex()
            );
            assert!(SITE_CSS.contains(&rule), "site.css lacks `{rule}`");
        }
    }

    #[test]
    fn templates_load() {
        assert!(templates().is_ok());
    }
}
