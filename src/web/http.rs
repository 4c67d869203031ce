//! HTTP semantics shared by every route: conditional requests (strong ETags and `304 Not
//! Modified`), cache headers, `HEAD`, CORS, and the answers for unknown paths (404) and wrong
//! methods (405).
//!
//! Everything served under `/api/v1/` and every HTML page is a pure function of the path and
//! query, of the data it is answered from (the current revision, or `?revision=N`, which is part
//! of the query string), of "today" in Asia/Shanghai and, for a page without a language prefix,
//! of the language negotiated from `Accept-Language`. No other header changes a body, so none
//! other changes the tag. The ETag is computed from those *before* the handler runs, and a
//! matching `If-None-Match` is answered `304` without running it. `Last-Modified` is the later of
//! the answered revision's `created_at` and the start of today in Asia/Shanghai (see
//! [`DataKey::last_modified`]), and `If-Modified-Since` is honoured when no `If-None-Match` is
//! sent (RFC 9110 §13.2.2).

use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::cache::accepts_gzip;
use super::error::{problem_response, Problem};
use super::AppState;
use crate::read::{Registry, Revision};
use crate::web::pages::i18n::Locale;

/// Cache lifetime of a successful read (what `json_ok`, `csv_ok` and the pages send).
pub const READ_CACHE_CONTROL: &str = "public, max-age=60";
/// Cache lifetime of what depends only on the binary (the OpenAPI document, the API docs).
pub const STATIC_CACHE_CONTROL: &str = "public, max-age=3600";
/// What every error carries: an error must never be cached and served in place of an answer.
pub const ERROR_CACHE_CONTROL: &str = "no-store";

const X_DATA_REVISION: &str = "x-data-revision";
const X_DATA_AS_OF: &str = "x-data-as-of";
const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// CORS: any origin may read the API from a browser (GET/HEAD) and call the batch POSTs, send a
/// partner key and read the rate-limit headers. No cookies or HTTP authentication are involved,
/// so the answer is `Access-Control-Allow-Origin: *`, which shared caches can store without
/// varying on `Origin`.
pub fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .disable_vary_header()
        .allowed_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            HeaderName::from_static(super::ratelimit::API_KEY_HEADER),
        ])
        .expose_headers([
            header::ETAG,
            header::LAST_MODIFIED,
            HeaderName::from_static(X_DATA_REVISION),
            HeaderName::from_static(X_DATA_AS_OF),
            header::RETRY_AFTER,
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(3600)
}

/// Whether responses to `path` (already normalised) get an ETag from the data key: the API
/// under `/api/v1/` and the HTML pages; not `/healthz` (it must always reach the process), the
/// stylesheet or the API docs' assets (they depend only on the binary and carry a long
/// `Cache-Control` instead).
fn data_keyed(path: &str) -> bool {
    path.starts_with("/api/v1/") || is_page(path)
}

/// The HTML pages: everything that is not the API, the health check, a well-known (JSON)
/// resource or a static asset.
fn is_page(path: &str) -> bool {
    !(path == "/api"
        || path.starts_with("/api/")
        || path.starts_with("/.well-known/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path == "/favicon.ico"
        || path.starts_with("/static/"))
}

/// The middleware (wired with `actix_web::middleware::from_fn`, inside CORS and the header
/// defaults so that a 304 gets those too, and inside [`normalize_path`] so that `/x/` and `/x` share
/// a tag):
///
/// - `HEAD` is served as `GET` (actix-web routes `GET` only; the HTTP layer sends no body for a
///   `HEAD` request), so both have the same headers and ETag;
/// - conditional `GET`: computes the strong ETag before the handler; a matching
///   `If-None-Match` is answered `304` with `ETag`, `Cache-Control`, `X-Data-Revision`,
///   `X-Data-As-Of`, `Last-Modified` (and `Vary` on pages) and no body, without running the
///   handler;
/// - without `If-None-Match`, an `If-Modified-Since` at or after the answer's `Last-Modified` is
///   answered `304`, but only where the answer would be a `200` (a cached one, or the handler's),
///   so an unknown code stays a `404` (RFC 9110 §13.2.2);
/// - a `200` answer is kept in the response cache ([`super::cache`]) under the same digest, and a
///   later request with that digest is answered from it without running the handler;
/// - only a `200` gets the ETag; every error (4xx, 5xx) gets `Cache-Control: no-store`;
/// - pages get `Vary: Accept-Language`.
pub async fn conditional(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let path = req.path().to_string();
    let page = is_page(&path);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let key = match &state {
        Some(state)
            if req.method() == Method::GET
                && data_keyed(&path)
                && !asks_for_receipt(req.query_string()) =>
        {
            Some(DataKey::of(state, &req))
        }
        _ => None,
    };
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let any_tag = if_none_match.as_deref().is_some_and(|v| v.trim() == "*");
    // If-None-Match wins: If-Modified-Since is only looked at without it (RFC 9110 §13.2.2).
    let not_modified_since = match (&key, &if_none_match) {
        (Some(key), None) => {
            if_modified_since(req.headers()).is_some_and(|since| key.last_modified <= since)
        }
        _ => false,
    };
    let not_modified_after = any_tag || not_modified_since;
    // With the response cache on, an answer may be sent gzip-coded (see `super::cache`): that
    // representation has its own tag, and every data-keyed answer varies on Accept-Encoding.
    let coding = state.as_ref().is_some_and(|s| s.responses.enabled());
    let gzip = coding && accepts_gzip(req.headers());

    if let (Some(key), Some(inm)) = (&key, &if_none_match) {
        let matched = [false, true]
            .into_iter()
            // A gzip tag matches only for a client that would be sent the gzip answer.
            .filter(|coded| !coded || gzip)
            .map(|coded| key.etag_for(coded))
            .find(|tag| etag_matches(inm, tag));
        if let Some(tag) = matched {
            let (http_req, _) = req.into_parts();
            let response = key.not_modified(&http_req, &path, page, &tag, coding);
            return Ok(ServiceResponse::new(http_req, response));
        }
    }
    // The same request at the same revision on the same day was answered before: the answer
    // comes from memory, without running the handler (see `super::cache`).
    if let (Some(key), Some(state)) = (&key, &state) {
        let hit = state.responses.get(&key.digest);
        if state.responses.enabled() {
            state.metrics.cache_lookup(hit.is_some());
        }
        if let Some(hit) = hit {
            let (http_req, _) = req.into_parts();
            let coded = gzip && hit.is_gzip();
            let response = hit.response(gzip, &key.etag_for(coded));
            let response = if not_modified_after {
                not_modified_from(response.headers())
            } else {
                response
            };
            return Ok(ServiceResponse::new(http_req, response));
        }
    }

    // Handler and extractor errors arrive here as responses (actix-web converts them), so they
    // get the headers below too.
    let mut res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    let headers = res.headers_mut();
    if status.is_client_error() || status.is_server_error() {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(ERROR_CACHE_CONTROL),
        );
    }
    if page {
        append_vary(headers, "accept-language");
    }
    let (Some(key), Some(state)) = (&key, &state) else {
        return Ok(res);
    };
    // The view or the day may have changed while the handler ran: then the tag computed before
    // it may not describe this body, so none is sent and nothing is cached (a rare, harmless
    // miss).
    if status != StatusCode::OK || !key.still_current(state) {
        return Ok(res);
    }
    res.headers_mut()
        .insert(header::LAST_MODIFIED, key.last_modified_header());
    if coding {
        append_vary(res.headers_mut(), "accept-encoding");
        let (http_req, response) = res.into_parts();
        let (response, body) = response.into_parts();
        res = match body.try_into_bytes() {
            Ok(bytes) => {
                match state
                    .responses
                    .insert(key.digest, response.headers(), bytes.clone())
                {
                    Some(cached) => {
                        let coded = gzip && cached.is_gzip();
                        ServiceResponse::new(http_req, cached.response(gzip, &key.etag_for(coded)))
                    }
                    None => ServiceResponse::new(http_req, response.set_body(BoxBody::new(bytes))),
                }
            }
            Err(body) => ServiceResponse::new(http_req, response.set_body(body)),
        };
    }
    if !res.headers().contains_key(header::ETAG) {
        let etag = HeaderValue::from_str(&key.etag).map_err(actix_web::Error::from)?;
        res.headers_mut().insert(header::ETAG, etag);
    }
    // `If-None-Match: *` matches any current representation; `If-Modified-Since` is answered
    // only now that the answer is known to be a 200.
    if not_modified_after {
        let not_modified = not_modified_from(res.response().headers());
        let (http_req, _) = res.into_parts();
        return Ok(ServiceResponse::new(http_req, not_modified));
    }
    Ok(res)
}

/// Path normalisation, outermost (what actix-web's `NormalizePath::new(TrailingSlash::Trim)`
/// does): repeated slashes become one and a trailing slash is dropped (`/x//y/` → `/x/y`; the
/// root stays `/`), so `/x/` and `/x` are one resource with one tag. The path that needs no
/// change (nearly every request) passes without allocating; actix-web's middleware runs a regex
/// over every path, which cost a tenth of a cached answer's time.
pub async fn normalize_path(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(path) = normalized(req.path()) {
        let uri = &req.head().uri;
        let path_and_query = match uri.query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        let mut parts = uri.clone().into_parts();
        parts.path_and_query = Some(
            actix_web::http::uri::PathAndQuery::try_from(path_and_query)
                .map_err(actix_web::error::ErrorBadRequest)?,
        );
        let uri =
            actix_web::http::Uri::from_parts(parts).map_err(actix_web::error::ErrorBadRequest)?;
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    next.call(req).await
}

/// The normalised path, if it differs from `path`.
fn normalized(path: &str) -> Option<String> {
    let trailing = path.len() > 1 && path.ends_with('/');
    if path.is_empty() || (!trailing && !path.contains("//")) {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    (out != path).then_some(out)
}

/// Whether the query asks for a signed receipt (`receipt=true`): such an answer carries the
/// instant it was issued, so it is not a pure function of the data key and gets no ETag.
fn asks_for_receipt(query: &str) -> bool {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .is_ok_and(|q| q.iter().any(|(k, v)| k == "receipt" && v == "true"))
}

/// The ETag of a data-keyed `GET`, and what it was computed from.
struct DataKey {
    etag: String,
    /// The whole SHA-256 the tag is cut from: the response cache's key.
    digest: super::cache::Key,
    registry: Arc<Registry>,
    today: chrono::NaiveDate,
    /// What `Last-Modified` says, to the second (see [`DataKey::last_modified`]).
    last_modified: SystemTime,
}

impl DataKey {
    /// Strong ETag `"<sequence>-<16 hex>"`: SHA-256 over the data the answer comes from (the
    /// current revision's sequence and payload hash, the store head the view was built from, and
    /// what the view withholds), "today" (answers change at midnight Asia/Shanghai), the method
    /// (`HEAD` counts as `GET`: same representation), the path, the raw query string (which
    /// carries `?revision=N` and `?as_of=`), for a page the language it is rendered in (so two
    /// `Accept-Language` values that pick the same language share the tag, and the API, which no
    /// header changes, has one tag whatever the client sends), and the build (the crate version
    /// and the API description), so that a new release never reuses a tag for other bytes. The
    /// whole digest is also the response cache's key.
    fn of(state: &AppState, req: &ServiceRequest) -> DataKey {
        let registry = state.live.current();
        let today = state.clock.today();
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        };
        field(b"envcredit-etag-1");
        field(build_id());
        match &registry.revision {
            Some(r) => {
                field(&r.sequence.to_be_bytes());
                field(r.hash.as_bytes());
            }
            None => field(b"no-data"),
        }
        // The store's head too: what the view was built from (a view rebuilt from another head
        // may withhold other records at the same served revision).
        match &registry.store_head {
            Some((sequence, hash)) => {
                field(&sequence.to_be_bytes());
                field(hash.as_bytes());
            }
            None => field(b"empty-store"),
        }
        field(&registry.integrity_failures.to_be_bytes());
        field(&(registry.withheld.len() as u64).to_be_bytes());
        field(&[u8::from(registry.demo)]);
        field(today.to_string().as_bytes());
        field(b"GET");
        field(req.path().as_bytes());
        field(req.query_string().as_bytes());
        if is_page(req.path()) {
            field(Locale::of(req.request()).lang.prefix().as_bytes());
        }
        let digest = hasher.finalize();
        let sequence = registry.revision.as_ref().map_or(0, |r| r.sequence);
        let last_modified = Self::last_modified(
            answered_revision(&registry, req.query_string()).as_ref(),
            today,
        );
        DataKey {
            etag: format!("\"{sequence}-{}\"", hex::encode(&digest[..8])),
            digest: digest.into(),
            registry,
            today,
            last_modified,
        }
    }

    /// The later of the revision's `created_at` and the start of `today` in Asia/Shanghai,
    /// truncated to the second (HTTP dates have no fraction). An answer changes when the
    /// revision does, and may change at midnight (a grade's validity, a listing coming into
    /// force, are judged against "today"), so a client asking `If-Modified-Since` yesterday's
    /// time must get today's answer. Several instances serving the same revision send the same
    /// date.
    fn last_modified(revision: Option<&Revision>, today: chrono::NaiveDate) -> SystemTime {
        let midnight = today
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp() - SHANGHAI_OFFSET_SECONDS)
            .unwrap_or(0);
        let created = revision.map_or(0, |r| r.created_at.timestamp());
        let seconds = u64::try_from(created.max(midnight)).unwrap_or(0);
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds)
    }

    fn last_modified_header(&self) -> HeaderValue {
        let date = header::HttpDate::from(self.last_modified).to_string();
        HeaderValue::from_str(&date).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The tag of the representation: the gzip-coded one has its own (`"…-gzip"`), as a strong
    /// tag must differ between content codings (RFC 9110 §8.8.3).
    fn etag_for(&self, gzip: bool) -> String {
        if gzip {
            format!("{}-gzip\"", self.etag.trim_end_matches('"'))
        } else {
            self.etag.clone()
        }
    }

    fn still_current(&self, state: &AppState) -> bool {
        Arc::ptr_eq(&self.registry, &state.live.current()) && self.today == state.clock.today()
    }

    /// The 304: the headers the 200 would carry that matter to a cache, no body.
    fn not_modified(
        &self,
        req: &HttpRequest,
        path: &str,
        page: bool,
        etag: &str,
        coding: bool,
    ) -> HttpResponse {
        let mut response = HttpResponse::NotModified();
        response.insert_header((header::ETAG, etag.to_string()));
        response.insert_header((header::LAST_MODIFIED, self.last_modified_header()));
        response.insert_header((
            header::CACHE_CONTROL,
            if path == OPENAPI_PATH {
                STATIC_CACHE_CONTROL
            } else {
                READ_CACHE_CONTROL
            },
        ));
        match (page, coding) {
            (true, true) => {
                response.insert_header((header::VARY, "accept-language, accept-encoding"))
            }
            (true, false) => response.insert_header((header::VARY, "accept-language")),
            (false, true) => response.insert_header((header::VARY, "accept-encoding")),
            (false, false) => &mut response,
        };
        if let Some(revision) = answered_revision(&self.registry, req.query_string()) {
            response.insert_header((X_DATA_REVISION, revision.tag()));
            response.insert_header((X_DATA_AS_OF, revision.created_at.to_rfc3339()));
        }
        response.finish()
    }
}

/// The revision an answer comes from: `?revision=N` if it names a bundle of the verified chain,
/// else the current one (as `LiveRegistry::at` resolves it).
fn answered_revision(registry: &Registry, query: &str) -> Option<Revision> {
    let requested = web::Query::<Vec<(String, String)>>::from_query(query)
        .ok()
        .and_then(|q| {
            q.iter()
                .find(|(k, _)| k == "revision")
                .and_then(|(_, v)| v.parse::<u64>().ok())
        });
    match requested {
        Some(sequence) if Some(sequence) != registry.revision.as_ref().map(|r| r.sequence) => {
            let bundle = registry
                .chain
                .get(usize::try_from(sequence).ok()?.checked_sub(1)?)?;
            Some(Revision {
                sequence: bundle.manifest.sequence,
                hash: bundle.hash_hex(),
                created_at: bundle.manifest.created_at,
            })
        }
        _ => registry.revision.clone(),
    }
}

/// A 304 built from the headers of the 200 it replaces.
fn not_modified_from(headers: &HeaderMap) -> HttpResponse {
    let mut response = HttpResponse::NotModified();
    for name in [
        header::ETAG,
        header::LAST_MODIFIED,
        header::CACHE_CONTROL,
        header::VARY,
        HeaderName::from_static(X_DATA_REVISION),
        HeaderName::from_static(X_DATA_AS_OF),
    ] {
        for value in headers.get_all(&name) {
            response.append_header((name.clone(), value.clone()));
        }
    }
    response.finish()
}

/// Asia/Shanghai is UTC+8, without daylight saving.
const SHANGHAI_OFFSET_SECONDS: i64 = 8 * 3600;

/// The `If-Modified-Since` date, if the header is one valid HTTP-date; else it is ignored, as
/// RFC 9110 §13.1.3 says.
fn if_modified_since(headers: &HeaderMap) -> Option<SystemTime> {
    let mut values = headers.get_all(header::IF_MODIFIED_SINCE);
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value
        .to_str()
        .ok()?
        .trim()
        .parse::<header::HttpDate>()
        .ok()
        .map(SystemTime::from)
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim())
        .map(|t| t.strip_prefix("W/").unwrap_or(t))
        .any(|t| t == etag)
}

fn append_vary(headers: &mut HeaderMap, name: &'static str) {
    let present = headers.get_all(header::VARY).any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|p| p.trim().eq_ignore_ascii_case(name)))
            .unwrap_or(false)
    });
    if !present {
        headers.append(header::VARY, HeaderValue::from_static(name));
    }
}

/// What identifies the build: the crate version, the API description and the pages (templates,
/// catalogues, stylesheet).
fn build_id() -> &'static [u8] {
    static ID: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let mut hasher = Sha256::new();
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(serde_json::to_vec(&super::api::document()).unwrap_or_default());
        hasher.update(super::pages::fingerprint());
        hasher.finalize().to_vec()
    });
    &ID
}

/// The default service: nothing matched the path and method.
///
/// - The path exists with other methods: `OPTIONS` is answered `204` with `Allow`, any other
///   method `405 Method Not Allowed` with `Allow` (problem+json).
/// - Else `404`: problem+json under `/api/`, the site's error page elsewhere.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    match allowed_methods(&req) {
        Some(allowed) if req.method() == Method::OPTIONS => HttpResponse::NoContent()
            .insert_header((header::ALLOW, allowed))
            .finish(),
        Some(allowed) => {
            let problem = Problem::method_not_allowed(req.method().as_str(), path, &allowed);
            let mut response = problem_response(&problem);
            if let Ok(value) = HeaderValue::from_str(&allowed) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => {
            let problem = Problem::no_route(path);
            if is_page(path) {
                if let Some(state) = req.app_data::<web::Data<AppState>>() {
                    return super::pages::not_found(state, &req, &problem);
                }
            }
            problem_response(&problem)
        }
    }
}

/// Wrong methods on API paths, before routing: a request whose method the most specific
/// documented template of its path does not allow is answered by [`fallback`] (`405` with
/// `Allow`). Routing alone cannot: `GET /api/v1/flags/batch` would match `/flags/{code}`.
/// `OPTIONS` is left to CORS and [`fallback`]; `HEAD` arrives here as `GET` ([`conditional`]
/// runs outside).
pub async fn api_methods(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let method = req.method();
    if req.path().starts_with("/api/v1/") && method != Method::OPTIONS {
        let allowed = api_path(req.path()).map(|p| p.methods.contains(&method.as_str()));
        if allowed == Some(false) {
            let (http_req, _) = req.into_parts();
            let response = fallback(http_req.clone()).await;
            return Ok(ServiceResponse::new(http_req, response));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The most specific documented API template that `path` matches (`/flags/batch` before
/// `/flags/{code}`).
fn api_path(path: &str) -> Option<&'static ApiPath> {
    API_PATHS
        .iter()
        .filter(|p| p.matches(path))
        .max_by_key(|p| p.segments.iter().filter(|s| s.is_some()).count())
}

/// The methods the path answers to, if it exists: for the API as its OpenAPI description says,
/// for the rest (pages, assets, docs) `GET`.
fn allowed_methods(req: &HttpRequest) -> Option<String> {
    let path = req.path();
    let mut methods: Vec<&'static str> = match api_path(path) {
        Some(p) => p.methods.clone(),
        None if req.resource_map().has_resource(path) => vec!["GET"],
        None => return None,
    };
    if methods.contains(&"GET") {
        methods.insert(
            methods.iter().position(|m| *m == "GET").unwrap_or(0) + 1,
            "HEAD",
        );
    }
    methods.push("OPTIONS");
    Some(methods.join(", "))
}

/// A path template of the OpenAPI description and its methods (the description is built from
/// the handlers' registration, so a registered handler is always in this table).
struct ApiPath {
    segments: Vec<Option<String>>,
    methods: Vec<&'static str>,
}

impl ApiPath {
    fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        parts.len() == self.segments.len()
            && self
                .segments
                .iter()
                .zip(parts)
                .all(|(segment, part)| match segment {
                    Some(literal) => literal == part,
                    None => !part.is_empty(),
                })
    }
}

static API_PATHS: LazyLock<Vec<ApiPath>> = LazyLock::new(|| {
    let document = super::api::document();
    document
        .paths
        .paths
        .iter()
        .map(|(template, item)| ApiPath {
            segments: template
                .trim_start_matches('/')
                .split('/')
                .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
                .collect(),
            methods: [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
            .collect(),
        })
        .collect()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let tag = "\"3-0123456789abcdef\"";
        assert!(etag_matches(tag, tag));
        assert!(etag_matches("\"x\", W/\"3-0123456789abcdef\"", tag));
        assert!(!etag_matches("\"3-0123456789abcdee\"", tag));
        assert!(!etag_matches("*", tag));
    }

    #[test]
    fn paths_are_normalised_like_actix_trim() {
        assert_eq!(normalized("/api/v1/years"), None);
        assert_eq!(normalized("/"), None);
        assert_eq!(normalized(""), None);
        assert_eq!(
            normalized("/api/v1/years/").as_deref(),
            Some("/api/v1/years")
        );
        assert_eq!(
            normalized("//api///v1//years//").as_deref(),
            Some("/api/v1/years")
        );
        assert_eq!(normalized("//").as_deref(), Some("/"));
        assert_eq!(normalized("/en/").as_deref(), Some("/en"));
    }

    #[test]
    fn scopes() {
        assert!(data_keyed("/api/v1/institutions/x"));
        assert!(data_keyed("/"));
        assert!(data_keyed("/institutions/x"));
        assert!(!data_keyed("/healthz"));
        assert!(!data_keyed("/static/site.css"));
        assert!(!data_keyed("/api/docs/swagger-ui.css"));
        assert!(is_page("/institutions/x"));
        assert!(!is_page("/api/v1/institutions/x"));
        assert!(!data_keyed("/.well-known/envcredit-receipt-key.json"));
        assert!(asks_for_receipt("as_of=2025-06-01&receipt=true"));
        assert!(!asks_for_receipt("receipt=false"));
    }

    #[test]
    fn api_path_templates() {
        let p = ApiPath {
            segments: vec![
                Some("api".into()),
                Some("v1".into()),
                Some("institutions".into()),
                None,
            ],
            methods: vec!["GET"],
        };
        assert!(p.matches("/api/v1/institutions/913304"));
        assert!(!p.matches("/api/v1/institutions"));
        assert!(!p.matches("/api/v1/institutions/"));
        assert!(!p.matches("/api/v1/institutions/x/y"));
    }
}
