//! The site's own files (the stylesheet and the icon), each served under a name that holds a
//! hash of its content (`/static/site.<hash>.css`), so that it can be cached for a year: a
//! new file has a new name. No script, no font, nothing from elsewhere. `/favicon.ico`, which
//! browsers ask for by themselves, answers with the icon.

use std::sync::LazyLock;

use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

use crate::web::error::problem_response;
use crate::web::Problem;

pub const SITE_CSS: &str = include_str!("../../../static/site.css");
pub const ICON_SVG: &str = include_str!("../../../static/icon.svg");

/// A year: the name changes whenever the content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    url: String,
    content_type: &'static str,
    body: &'static str,
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, body: &'static str) -> Asset {
        let digest = Sha256::digest(body.as_bytes());
        Asset {
            url: format!("/static/{stem}.{}.{extension}", &hex::encode(digest)[..16]),
            content_type,
            body,
        }
    }
}

static CSS: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("site", "css", "text/css; charset=utf-8", SITE_CSS));
static ICON: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("icon", "svg", "image/svg+xml", ICON_SVG));

pub fn css_url() -> &'static str {
    &CSS.url
}

pub fn icon_url() -> &'static str {
    &ICON.url
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{file}", web::get().to(file))
        .route("/favicon.ico", web::get().to(favicon));
}

fn serve(asset: &Asset, cache: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(("Cache-Control", cache))
        .body(asset.body)
}

async fn file(req: actix_web::HttpRequest) -> HttpResponse {
    match [&*CSS, &*ICON].into_iter().find(|a| a.url == req.path()) {
        Some(asset) => serve(asset, IMMUTABLE),
        None => problem_response(&Problem::no_route(req.path())),
    }
}

/// Under a fixed name, so only a day's cache.
async fn favicon() -> HttpResponse {
    serve(&ICON, "public, max-age=86400")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::score::Grade;

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
    fn names_carry_the_hash() {
        for (url, stem, ext) in [(css_url(), "site", "css"), (icon_url(), "icon", "svg")] {
            assert!(url.starts_with(&format!("/static/{stem}.")), "{url}");
            assert!(url.ends_with(&format!(".{ext}")), "{url}");
            assert_eq!(
                url.len(),
                "/static/.".len() + stem.len() + 16 + 1 + ext.len()
            );
        }
    }
}
