//! The site's two languages: Chinese by default, English on request.
//!
//! Every string a page shows comes from one catalogue per language (`templates/i18n/zh.toml`,
//! `templates/i18n/en.toml`; the templates hold markup and `{{ t.… }}` only, which a test
//! checks). Words that belong to the domain (grade words, colours, risk levels, counties, the
//! Art. 11 grounds) come from `domain`, in both languages, so that they are written once.
//!
//! Which language a page is in is a pure function of the request: a path under `/en/` or
//! `/zh/` says it; any other page path follows `Accept-Language` (and says `Vary:
//! Accept-Language`), Chinese unless English is preferred. The switch on every page links to
//! the same page under the other language's prefix.

use std::sync::LazyLock;

use actix_web::http::header::{AcceptLanguage, Header, Preference};
use actix_web::HttpRequest;
use serde::Serialize;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of a page (BCP 47).
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The path prefix that fixes this language.
    pub fn prefix(self) -> &'static str {
        match self {
            Lang::Zh => "/zh",
            Lang::En => "/en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The catalogue: the page's `t`.
    pub fn catalogue(self) -> &'static serde_json::Value {
        match self {
            Lang::Zh => &CATALOGUES.0,
            Lang::En => &CATALOGUES.1,
        }
    }
}

/// Where a page's language came from, and what its links start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale {
    pub lang: Lang,
    /// `""` when negotiated (links stay negotiated), else the language's prefix.
    pub base: &'static str,
    /// The path without the language prefix, and the query string (`/search?q=x`).
    pub rest: String,
}

impl Locale {
    pub fn of(req: &HttpRequest) -> Locale {
        let path = req.path();
        let query = match req.query_string() {
            "" => String::new(),
            q => format!("?{q}"),
        };
        for lang in Lang::ALL {
            if let Some(rest) = path.strip_prefix(lang.prefix()) {
                if rest.is_empty() || rest.starts_with('/') {
                    let rest = if rest.is_empty() { "/" } else { rest };
                    return Locale {
                        lang,
                        base: lang.prefix(),
                        rest: format!("{rest}{query}"),
                    };
                }
            }
        }
        Locale {
            lang: negotiate(req),
            base: "",
            rest: format!("{path}{query}"),
        }
    }

    /// The same page in the other language.
    pub fn switch_url(&self) -> String {
        let rest = if self.rest.starts_with("/?") || self.rest == "/" {
            self.rest.trim_start_matches('/').to_string()
        } else {
            self.rest.clone()
        };
        format!("{}{rest}", self.lang.other().prefix())
    }

    /// The same page in a given language (for `hreflang` alternates).
    pub fn url_in(&self, lang: Lang) -> String {
        let rest = if self.rest == "/" { "" } else { &self.rest };
        format!("{}{rest}", lang.prefix())
    }
}

/// English when the client ranks an English tag above every Chinese one; else Chinese.
/// A malformed header counts as absent.
fn negotiate(req: &HttpRequest) -> Lang {
    let Ok(accept) = AcceptLanguage::parse(req) else {
        return Lang::Zh;
    };
    for preference in accept.ranked() {
        match preference {
            Preference::Specific(tag) => match tag.primary_language() {
                "zh" => return Lang::Zh,
                "en" => return Lang::En,
                _ => {}
            },
            Preference::Any => return Lang::Zh,
        }
    }
    Lang::Zh
}

static CATALOGUES: LazyLock<(serde_json::Value, serde_json::Value)> = LazyLock::new(|| {
    // The catalogues are part of the binary and checked by the tests (same keys in both, every
    // key a template uses present): a failure here is a build that was never tested.
    let load = |name: &str, text: &str| {
        parse(text).unwrap_or_else(|e| {
            tracing::error!(catalogue = name, error = %e, "catalogue failed to load");
            serde_json::Value::Object(Default::default())
        })
    };
    (
        load("zh", include_str!("../../../templates/i18n/zh.toml")),
        load("en", include_str!("../../../templates/i18n/en.toml")),
    )
});

/// The raw catalogues, for the checks at start-up and in tests.
pub const SOURCES: [(Lang, &str); 2] = [
    (Lang::Zh, include_str!("../../../templates/i18n/zh.toml")),
    (Lang::En, include_str!("../../../templates/i18n/en.toml")),
];

/// A catalogue: TOML tables of strings.
pub fn parse(text: &str) -> Result<serde_json::Value> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| Error::Internal(format!("catalogue: {e}")))?;
    serde_json::to_value(table).map_err(|e| Error::Internal(format!("catalogue: {e}")))
}

/// Every key of a catalogue, dotted (`site.title`), with its value.
pub fn keys(catalogue: &serde_json::Value) -> Vec<(String, &serde_json::Value)> {
    fn walk<'a>(
        prefix: &str,
        value: &'a serde_json::Value,
        out: &mut Vec<(String, &'a serde_json::Value)>,
    ) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other)),
        }
    }
    let mut out = Vec::new();
    walk("", catalogue, &mut out);
    out
}

/// Checks both catalogues: they parse, hold only strings, and have the same keys.
pub fn check() -> Result<()> {
    let mut key_sets = Vec::new();
    for (lang, text) in SOURCES {
        let catalogue = parse(text)?;
        let keys = keys(&catalogue);
        if let Some((key, _)) = keys.iter().find(|(_, v)| !v.is_string()) {
            return Err(Error::Internal(format!(
                "catalogue {}: `{key}` is not a string",
                lang.code()
            )));
        }
        key_sets.push(
            keys.into_iter()
                .map(|(k, _)| k)
                .collect::<std::collections::BTreeSet<_>>(),
        );
    }
    if let [zh, en] = key_sets.as_slice() {
        if let Some(k) = zh.symmetric_difference(en).next() {
            return Err(Error::Internal(format!(
                "catalogues: `{k}` is in one language only"
            )));
        }
    }
    Ok(())
}

/// The `fill` filter: `{{ t.key | fill(year=2024) }}` replaces `{year}` in the string. The
/// result is escaped like any other output.
pub fn fill(
    value: &tera::Value,
    args: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let mut text = value
        .as_str()
        .ok_or_else(|| tera::Error::msg("fill: the value is not a string"))?
        .to_string();
    for (name, arg) in args {
        let replacement = match arg {
            tera::Value::String(s) => s.clone(),
            tera::Value::Null => String::new(),
            other => other.to_string(),
        };
        text = text.replace(&format!("{{{name}}}"), &replacement);
    }
    Ok(tera::Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn catalogues_match() {
        check().expect("catalogues");
    }

    #[test]
    fn language_from_prefix_then_header() {
        let req = TestRequest::get().uri("/en/search?q=x").to_http_request();
        let l = Locale::of(&req);
        assert_eq!(
            (l.lang, l.base, l.rest.as_str()),
            (Lang::En, "/en", "/search?q=x")
        );
        assert_eq!(l.switch_url(), "/zh/search?q=x");

        let req = TestRequest::get().uri("/zh").to_http_request();
        let l = Locale::of(&req);
        assert_eq!((l.lang, l.base), (Lang::Zh, "/zh"));
        assert_eq!(l.switch_url(), "/en");

        // `/english` is not under `/en`.
        let req = TestRequest::get().uri("/english").to_http_request();
        assert_eq!(Locale::of(&req).base, "");

        for (header, lang) in [
            ("en-GB,en;q=0.9,zh;q=0.5", Lang::En),
            ("zh-CN,zh;q=0.9,en;q=0.8", Lang::Zh),
            ("fr, en;q=0.5", Lang::En),
            ("fr", Lang::Zh),
            ("*", Lang::Zh),
            ("en;q=0.1, zh;q=0.9", Lang::Zh),
            ("not a header;;;", Lang::Zh),
        ] {
            let req = TestRequest::get()
                .uri("/")
                .insert_header(("Accept-Language", header))
                .to_http_request();
            let l = Locale::of(&req);
            assert_eq!(l.lang, lang, "{header}");
            assert_eq!(l.base, "");
        }
        let req = TestRequest::get().uri("/").to_http_request();
        let l = Locale::of(&req);
        assert_eq!(l.lang, Lang::Zh);
        assert_eq!(l.switch_url(), "/en");
        assert_eq!(l.url_in(Lang::Zh), "/zh");
    }

    #[test]
    fn fill_replaces_named_places() {
        let mut args = std::collections::HashMap::new();
        args.insert("year".to_string(), tera::Value::from(2024));
        args.insert("name".to_string(), tera::Value::from("<b>"));
        let out = fill(&tera::Value::from("{name}: {year} {year}"), &args).expect("fill");
        assert_eq!(out, tera::Value::from("<b>: 2024 2024"));
    }
}
