//! The public website: server-rendered HTML (tera), Chinese by default and English on request
//! ([`i18n`]), no script. Every colour carries its letter and word; every page is a pure
//! function of the request and the data revision (the HTTP layer gives it an ETag).
//!
//! One module per page; this one holds what they share: the templates, the page frame
//! (language, the switch, the demo notice, "data as of"), rendering, error pages and the
//! stylesheet under a content-hashed name.

mod assets;
mod home;
pub mod i18n;
mod institution;
mod lists;
mod rules;
mod search;
mod statistics;
mod years;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tera::{Context, Tera};

use super::api::DEMO_NOTICE;
use super::http::{ERROR_CACHE_CONTROL, READ_CACHE_CONTROL};
use super::{AppState, Problem};
use crate::read::Registry;
use crate::{Error, Result};
use i18n::{Lang, Locale};

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
    (
        "partials/filters.html",
        include_str!("../../../templates/partials/filters.html"),
    ),
    ("years.html", include_str!("../../../templates/years.html")),
    ("year.html", include_str!("../../../templates/year.html")),
    (
        "dishonesty.html",
        include_str!("../../../templates/dishonesty.html"),
    ),
    (
        "partials/violation_row.html",
        include_str!("../../../templates/partials/violation_row.html"),
    ),
    (
        "violations.html",
        include_str!("../../../templates/violations.html"),
    ),
    (
        "partials/chart.html",
        include_str!("../../../templates/partials/chart.html"),
    ),
    (
        "statistics.html",
        include_str!("../../../templates/statistics.html"),
    ),
    ("rules.html", include_str!("../../../templates/rules.html")),
    ("error.html", include_str!("../../../templates/error.html")),
];

pub fn templates() -> Result<Tera> {
    i18n::check()?;
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| Error::Internal(format!("templates: {e:?}")))?;
    tera.autoescape_on(vec![".html"]);
    tera.register_filter("fill", i18n::fill);
    Ok(tera)
}

/// What the templates, the catalogues and the stylesheet are: part of every page's ETag, so
/// that a build with other pages never reuses a tag.
pub fn fingerprint() -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (name, text) in TEMPLATES {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    for (_, text) in i18n::SOURCES {
        hasher.update(text.as_bytes());
    }
    hasher.update(assets::SITE_CSS.as_bytes());
    hasher.update(assets::ICON_SVG.as_bytes());
    hasher.finalize().to_vec()
}

/// The pages, at the root (language negotiated) and under `/zh` and `/en`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(assets::routes);
    for lang in Lang::ALL {
        cfg.service(web::scope(lang.prefix()).configure(|cfg| pages(cfg, "")));
    }
    pages(cfg, "/");
}

fn pages(cfg: &mut web::ServiceConfig, home: &str) {
    cfg.route(home, web::get().to(home::home))
        .route("/search", web::get().to(search::search_page))
        .route(
            "/institutions/{code}",
            web::get().to(institution::institution),
        )
        .route("/years", web::get().to(years::years))
        .route("/years/{year}", web::get().to(years::year))
        .route("/dishonesty-list", web::get().to(lists::dishonesty_list))
        .route("/violations", web::get().to(lists::violations))
        .route("/statistics", web::get().to(statistics::statistics))
        .route("/rules", web::get().to(rules::rules));
}

/// The frame every page shares.
#[derive(Serialize)]
struct Frame {
    demo_notice: Option<&'static str>,
    revision: Option<String>,
    /// When the pipeline made the revision's bundle: the data is as of then.
    data_as_of: Option<String>,
    today: String,
    lang: Lang,
    html_lang: &'static str,
    /// What links start with: `""`, `/zh` or `/en`.
    base: &'static str,
    switch_url: String,
    switch_lang: &'static str,
    /// The page under each language prefix (`hreflang` alternates).
    alternates: Vec<(&'static str, String)>,
    css_url: &'static str,
    icon_url: &'static str,
}

/// A page being answered: the request's language and the data it is answered from.
pub struct Page<'a> {
    pub state: &'a AppState,
    pub registry: std::sync::Arc<Registry>,
    pub locale: Locale,
    pub today: chrono::NaiveDate,
}

impl<'a> Page<'a> {
    pub fn new(state: &'a AppState, req: &HttpRequest) -> Page<'a> {
        Page {
            state,
            registry: state.live.current(),
            locale: Locale::of(req),
            today: state.clock.today(),
        }
    }

    pub fn lang(&self) -> Lang {
        self.locale.lang
    }

    fn frame(&self) -> Frame {
        let registry = &self.registry;
        let lang = self.locale.lang;
        Frame {
            demo_notice: registry.demo.then_some(DEMO_NOTICE),
            revision: registry.revision.as_ref().map(|r| r.tag()),
            data_as_of: registry
                .revision
                .as_ref()
                .map(|r| r.created_at.format("%Y-%m-%d %H:%M %:z").to_string()),
            today: self.today.to_string(),
            lang,
            html_lang: lang.html_lang(),
            base: self.locale.base,
            switch_url: self.locale.switch_url(),
            switch_lang: lang.other().html_lang(),
            alternates: Lang::ALL
                .iter()
                .map(|l| (l.html_lang(), self.locale.url_in(*l)))
                .collect(),
            css_url: assets::css_url(),
            icon_url: assets::icon_url(),
        }
    }

    /// Renders a page with the frame, the catalogue (`t`) and the language (`lang`).
    pub fn render(&self, template: &str, mut context: Context, status: StatusCode) -> HttpResponse {
        context.insert("frame", &self.frame());
        context.insert("t", self.locale.lang.catalogue());
        context.insert("lang", self.locale.lang.code());
        context.insert("base", self.locale.base);
        match self.state.templates.render(template, &context) {
            Ok(html) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .insert_header(("Content-Language", self.locale.lang.html_lang()))
                .insert_header((
                    "Cache-Control",
                    if status.is_success() {
                        READ_CACHE_CONTROL
                    } else {
                        ERROR_CACHE_CONTROL
                    },
                ))
                .body(html),
            Err(e) => {
                tracing::error!(template, error = ?e, "template failed");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .insert_header(("Cache-Control", ERROR_CACHE_CONTROL))
                    .body("500 Internal error / 内部错误")
            }
        }
    }

    pub fn ok(&self, template: &str, context: Context) -> HttpResponse {
        self.render(template, context, StatusCode::OK)
    }

    /// The error page: the problem the API would answer, in the site's style and language.
    pub fn error(&self, error: &Error) -> HttpResponse {
        let problem = Problem::from(error);
        if problem.status().is_server_error() {
            tracing::error!(error = %error, "page failed");
        }
        self.problem(&problem)
    }

    pub fn problem(&self, problem: &Problem) -> HttpResponse {
        let mut context = Context::new();
        context.insert("problem", problem);
        self.render("error.html", context, problem.status())
    }
}

/// The site's error page for a path no route answers.
pub fn not_found(state: &AppState, req: &HttpRequest, problem: &Problem) -> HttpResponse {
    Page::new(state, req).problem(problem)
}

/// A query string value, percent-encoded for a link.
pub fn encode(value: &str) -> String {
    super::api::search::percent_encode(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_load() {
        templates().expect("templates");
    }

    /// Every `t.…` a template uses is in the catalogues, and templates hold no words of their
    /// own: once the tera tags and the markup are taken out, no letter is left (so every word
    /// comes from the catalogue, written once per language).
    #[test]
    fn templates_take_every_word_from_the_catalogue() {
        let catalogue = Lang::Zh.catalogue();
        let keys: std::collections::BTreeSet<String> =
            i18n::keys(catalogue).into_iter().map(|(k, _)| k).collect();
        for (name, text) in TEMPLATES {
            let mut rest = text.to_string();
            // Tera expressions, statements and comments.
            for (open, close) in [("{{", "}}"), ("{%", "%}"), ("{#", "#}")] {
                while let Some(start) = rest.find(open) {
                    let Some(len) = rest[start..].find(close) else {
                        panic!("{name}: unclosed {open}");
                    };
                    let inner = rest[start + 2..start + len].to_string();
                    for used in inner
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                        .filter_map(|w| w.strip_prefix("t."))
                    {
                        let prefix = format!("{used}.");
                        assert!(
                            keys.contains(used) || keys.iter().any(|k| k.starts_with(&prefix)),
                            "{name}: `t.{used}` is not in the catalogues"
                        );
                    }
                    rest.replace_range(start..start + len + 2, " ");
                }
            }
            // Markup, keeping the attributes people read.
            let mut text_only = String::new();
            let mut in_tag = false;
            let mut tag = String::new();
            for c in rest.chars() {
                match (in_tag, c) {
                    (false, '<') => {
                        in_tag = true;
                        tag.clear();
                    }
                    (true, '>') => {
                        in_tag = false;
                        for attr in ["title=\"", "aria-label=\"", "alt=\"", "placeholder=\""] {
                            if let Some(at) = tag.find(attr) {
                                let value = &tag[at + attr.len()..];
                                text_only.push_str(value.split('"').next().unwrap_or(""));
                                text_only.push(' ');
                            }
                        }
                        text_only.push(' ');
                    }
                    (true, c) => tag.push(c),
                    (false, c) => text_only.push(c),
                }
            }
            let text_only = text_only.replace("&nbsp;", " ");
            let words: Vec<&str> = text_only
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .collect();
            assert!(
                words.is_empty(),
                "{name} writes words of its own: {words:?}"
            );
        }
    }
}
