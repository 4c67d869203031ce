//! `/metrics`: what an operator watches, in the Prometheus text format (version 0.0.4), through
//! the `prometheus-client` crate (the Prometheus project's own Rust client: typed metrics, label
//! sets checked at compile time, the exposition format written for us).
//!
//! Labels are bounded: a route is the pattern it matched (`/api/v1/institutions/{code}`, never
//! the path asked), or `unmatched`; a method is one of the few answered, or `other`. Nothing
//! identifies a client. The revision gauges are read from the view served at scrape time.
//! See docs/operations.md, "Metrics", for what each one means and what to alert on.

use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use ipnet::IpNet;
use prometheus_client::encoding::prometheus_text::{self, CONTENT_TYPE};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::error::{problem_response, Problem};
use super::AppState;
use crate::{Error, Result};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: Outcome,
}

/// How something went, as a label value.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Outcome {
    hit,
    miss,
    ok,
    error,
    /// A new revision was verified whole and is served.
    verified,
    /// A new revision was loaded with bundles or rows that failed re-verification (withheld).
    integrity_failure,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabels {
    quota: &'static str,
}

/// The metrics of one serving instance.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    cache: Family<ResultLabels, Counter>,
    rate_limited: Family<QuotaLabels, Counter>,
    polls: Family<ResultLabels, Counter>,
    revision_loads: Family<ResultLabels, Counter>,
    database_up: Gauge,
    revision_sequence: Gauge,
    revision_created: Gauge,
    revision_age: Gauge<f64, AtomicU64>,
    integrity_failures: Gauge,
    withheld: Gauge,
    data_withheld: Gauge,
    institutions: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Request heads the HTTP server could not parse (counted by [`super::observe::MalformedRequests`]
/// from the server's log event, which has no request and no app state to reach): one count for
/// the process, shown by every `Metrics` of it.
pub static MALFORMED_REQUESTS: LazyLock<Counter> = LazyLock::new(Counter::default);

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("envcredit");
        registry.register(
            "http_malformed_requests",
            "Request heads the HTTP server could not parse, answered 400 by the server (not logged)",
            MALFORMED_REQUESTS.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        // 0.5 ms to about 16 s.
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from the request head to the answer, by route pattern",
            durations.clone(),
        );
        let cache = Family::<ResultLabels, Counter>::default();
        registry.register(
            "response_cache_lookups",
            "Response cache lookups of cacheable reads: hit (answered from memory) or miss",
            cache.clone(),
        );
        let rate_limited = Family::<QuotaLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429, by quota (client address or partner key)",
            rate_limited.clone(),
        );
        let polls = Family::<ResultLabels, Counter>::default();
        registry.register(
            "revision_polls",
            "Looks for a new revision in the database: ok, or error (database unreachable)",
            polls.clone(),
        );
        let revision_loads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "revision_loads",
            "New revisions (imports) loaded and re-verified by this instance: verified, or integrity_failure (something withheld)",
            revision_loads.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the last look at the database succeeded, 0 while it is unreachable",
            database_up.clone(),
        );
        let revision_sequence = Gauge::default();
        registry.register(
            "revision_sequence",
            "Sequence number of the data revision served (0: no data)",
            revision_sequence.clone(),
        );
        let revision_created = Gauge::default();
        registry.register(
            "revision_created_timestamp_seconds",
            "When the pipeline made the revision served (Unix time)",
            revision_created.clone(),
        );
        let revision_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "revision_age_seconds",
            "Age of the revision served: now minus when the pipeline made it",
            revision_age.clone(),
        );
        let integrity_failures = Gauge::default();
        registry.register(
            "integrity_failures",
            "Stored bundles and rows that failed re-verification in the view served (0 when all is well)",
            integrity_failures.clone(),
        );
        let withheld = Gauge::default();
        registry.register(
            "withheld_institutions",
            "Institutions withheld because of integrity failures",
            withheld.clone(),
        );
        let data_withheld = Gauge::default();
        registry.register(
            "data_withheld",
            "1 while answers are withheld because stored bundles do not verify up to the chain's head or the high-water mark (a dataset's current state is unknown); 0 when all is well",
            data_withheld.clone(),
        );
        let institutions = Gauge::default();
        registry.register(
            "institutions",
            "Institutions in the view served",
            institutions.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            cache,
            rate_limited,
            polls,
            revision_loads,
            database_up,
            revision_sequence,
            revision_created,
            revision_age,
            integrity_failures,
            withheld,
            data_withheld,
            institutions,
        }
    }

    /// One request answered: `route` is the matched pattern, or `None` for no route.
    pub fn request(&self, route: Option<&str>, method: &Method, status: StatusCode, secs: f64) {
        let route = route.unwrap_or("unmatched").to_string();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(secs);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method: method_label(method),
                status: status.as_u16(),
            })
            .inc();
    }

    pub fn cache_lookup(&self, hit: bool) {
        let result = if hit { Outcome::hit } else { Outcome::miss };
        self.cache.get_or_create(&ResultLabels { result }).inc();
    }

    pub fn rate_limited(&self, partner: bool) {
        let quota = if partner { "partner" } else { "client" };
        self.rate_limited
            .get_or_create(&QuotaLabels { quota })
            .inc();
    }

    /// A look at the database for a new revision.
    pub fn poll(&self, ok: bool) {
        let result = if ok { Outcome::ok } else { Outcome::error };
        self.polls.get_or_create(&ResultLabels { result }).inc();
        self.database_up.set(i64::from(ok));
    }

    /// A new revision loaded.
    pub fn revision_loaded(&self, integrity_failures: u64) {
        let result = if integrity_failures == 0 {
            Outcome::verified
        } else {
            Outcome::integrity_failure
        };
        self.revision_loads
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// The exposition, with the revision gauges read from the view served now.
    fn render(&self, state: &AppState) -> Result<String> {
        let registry = state.live.current();
        let (sequence, created) = registry
            .revision
            .as_ref()
            .map_or((0, None), |r| (r.sequence, Some(r.created_at)));
        self.revision_sequence
            .set(i64::try_from(sequence).unwrap_or(i64::MAX));
        if let Some(created) = created {
            self.revision_created.set(created.timestamp());
            let age = chrono::Utc::now().signed_duration_since(created);
            self.revision_age
                .set(age.num_milliseconds() as f64 / 1000.0);
        }
        self.integrity_failures
            .set(i64::try_from(registry.integrity_failures).unwrap_or(i64::MAX));
        self.withheld
            .set(i64::try_from(registry.withheld.len()).unwrap_or(i64::MAX));
        self.data_withheld
            .set(i64::from(registry.unknown.is_some()));
        self.institutions
            .set(i64::try_from(registry.institutions.len()).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)
            .map_err(|e| Error::Internal(format!("metrics: {e}")))?;
        Ok(text)
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Who may read `/metrics`: peers in `metrics.allow` (the connection's address; a forwarded one
/// is never believed here).
pub struct MetricsAccess {
    pub allow: Vec<IpNet>,
}

impl MetricsAccess {
    fn allows(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| {
            let ip = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
                v4 => v4,
            };
            self.allow.iter().any(|net| net.contains(&ip))
        })
    }
}

/// `GET /metrics`. Not in the OpenAPI description: it is for operators, not the public.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: web::Data<MetricsAccess>,
) -> HttpResponse {
    if !access.allows(req.peer_addr().map(|a| a.ip())) {
        return problem_response(&Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "/metrics is answered only to the addresses in the registry's metrics.allow setting",
        ));
    }
    match state.metrics.render(&state) {
        Ok(text) => HttpResponse::Ok()
            .content_type(CONTENT_TYPE)
            .insert_header(("Cache-Control", "no-store"))
            .body(text),
        Err(e) => {
            use actix_web::ResponseError;
            e.error_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_peers_read_metrics() {
        let access = MetricsAccess {
            allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        };
        assert!(access.allows(Some("127.0.0.1".parse().unwrap())));
        assert!(access.allows(Some("::1".parse().unwrap())));
        assert!(access.allows(Some("::ffff:127.0.0.1".parse().unwrap())));
        assert!(!access.allows(Some("192.0.2.1".parse().unwrap())));
        assert!(!access.allows(None));
    }

    #[test]
    fn requests_are_counted_by_pattern_and_status() {
        let metrics = Metrics::new();
        let route = Some("/api/v1/institutions/{code}");
        metrics.request(route, &Method::GET, StatusCode::OK, 0.002);
        metrics.request(route, &Method::GET, StatusCode::OK, 0.003);
        metrics.request(
            None,
            &Method::from_bytes(b"BREW").unwrap(),
            StatusCode::NOT_FOUND,
            0.0,
        );
        let mut text = String::new();
        prometheus_text::encode(&mut text, &metrics.registry).unwrap();
        assert!(
            text.contains(r#"envcredit_http_requests_total{route="/api/v1/institutions/{code}",method="GET",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"envcredit_http_requests_total{route="unmatched",method="other",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"envcredit_http_request_duration_seconds_count{route="/api/v1/institutions/{code}"} 2"#), "{text}");
    }
}
