//! Around every request: a request id, a tracing span, the access log line, the metrics, the
//! body size limit and the body timeout.
//!
//! - **Request id**: a client's `X-Request-Id` is kept when it is 1 to 64 characters of
//!   `A-Z a-z 0-9 . _ -` (so it cannot forge log lines); otherwise one is made, unique per
//!   instance and process (a random prefix and a counter). It is sent back in `X-Request-Id`
//!   and is a field of every log line written while the request is handled.
//! - **Access log** (`http.access_log`, off by default): one line per request at `info` under the target
//!   `envcredit::access`: method, route pattern, path (without the query string, its first 256
//!   characters), status, milliseconds, request id. No client address, no header: nothing about a person.
//! - **Body size** (`http.max_body_bytes`): a `Content-Length` over it is answered `413` before
//!   the body is read; a chunked body is cut at the same size by the JSON extractor.
//! - **Body timeout** (`http.request_timeout_seconds`): a request body still arriving when it
//!   runs out (counted from the request head) fails to read; the batch endpoints answer `408`
//!   and the connection is closed, so a client that trickles its body cannot hold a
//!   connection. (The request head has its own, shorter limit,
//!   `http.client_request_timeout_seconds`, enforced by the HTTP server.)
//! - **Malformed requests**: a request head the HTTP server cannot parse (garbage on the port,
//!   a scanner, a TLS hello sent to plain HTTP) is answered `400` by the server itself, before
//!   any of this runs, and the server logs each one as an ERROR (`stream error: request parse
//!   error: …`). Anyone can write such lines at will, and nothing can be done about them, so
//!   [`MalformedRequests`] counts them in `envcredit_http_malformed_requests_total` instead and
//!   keeps them out of the log; other stream errors are still logged.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage};
use futures_core::Stream;
use rand_core::{OsRng, RngCore};
use tracing::Instrument;
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::Layer as _;

use super::error::{problem_response, Problem};
use super::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A request id accepted from a client: at most this many characters.
const MAX_REQUEST_ID_CHARS: usize = 64;

/// The longest path written to the access log, in characters.
const MAX_LOGGED_PATH_CHARS: usize = 256;

/// This process's prefix for the request ids it makes.
static PREFIX: LazyLock<String> = LazyLock::new(|| format!("{:08x}", OsRng.next_u32()));
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn make_request_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n:x}", *PREFIX)
}

/// The client's request id if it is a harmless one, else a new one.
fn request_id(headers: &header::HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_CHARS
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .map_or_else(make_request_id, str::to_string)
}

fn content_length(headers: &header::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The middleware (wired with `actix_web::middleware::from_fn`, inside the security headers
/// and CORS, so that its own `413` carries them, and outside the rate limits, so that a `429`
/// is counted and logged).
pub async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let http = &state.config.http;
    let id = request_id(req.headers());
    let method = req.method().clone();
    // At most this much of the path goes to the log (a request head may be 128 KiB).
    let path: String = req.path().chars().take(MAX_LOGGED_PATH_CHARS).collect();
    let span = tracing::info_span!("request", request_id = %id);

    let length = content_length(req.headers());
    let mut res = if length.is_some_and(|n| n > http.max_body_bytes) {
        let problem = Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            format!(
                "request body: Content-Length is over this registry's limit of {} bytes",
                http.max_body_bytes
            ),
        );
        closing(req.into_response(problem_response(&problem)))
    } else {
        let has_body =
            length.is_some_and(|n| n > 0) || req.headers().contains_key(header::TRANSFER_ENCODING);
        if has_body {
            let payload = req.take_payload();
            let limit = Duration::from_secs(http.request_timeout_seconds);
            let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                Box::pin(Deadline::new(payload, limit));
            req.set_payload(Payload::from(stream));
        }
        next.call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body()
    };

    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let status = res.status();
    let route = res.request().match_pattern();
    let elapsed = started.elapsed();
    state
        .metrics
        .request(route.as_deref(), &method, status, elapsed.as_secs_f64());
    if http.access_log {
        span.in_scope(|| {
            tracing::info!(
                target: "envcredit::access",
                method = %method,
                route = route.as_deref().unwrap_or("unmatched"),
                path = %path,
                status = status.as_u16(),
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                "request"
            );
        });
    }
    Ok(res)
}

/// The answer, with the connection closed after it (the body may be partly unread).
fn closing(mut res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    res.response_mut()
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    res
}

/// A request body that fails once its deadline has passed, with an I/O error of kind
/// `TimedOut`, which the JSON extractor's error handler answers `408`
/// (`crate::web::api::json_config`).
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<actix_web::rt::time::Sleep>>,
    limit: Duration,
    expired: bool,
}

impl Deadline {
    fn new(inner: Payload, limit: Duration) -> Deadline {
        Deadline {
            inner,
            sleep: Box::pin(actix_web::rt::time::sleep(limit)),
            limit,
            expired: false,
        }
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            let error = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("not received within {} seconds", self.limit.as_secs()),
            );
            return Poll::Ready(Some(Err(PayloadError::Io(error))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(id: &str) -> header::HeaderMap {
        let mut headers = header::HeaderMap::new();
        headers.insert(
            HeaderName::from_static(REQUEST_ID_HEADER),
            HeaderValue::from_str(id).unwrap(),
        );
        headers
    }

    #[test]
    fn a_harmless_client_request_id_is_kept() {
        assert_eq!(request_id(&headers("lb-7f3a.01_x")), "lb-7f3a.01_x");
    }

    #[test]
    fn other_request_ids_are_replaced() {
        let long = "a".repeat(65);
        for bad in [
            "",
            "two words",
            "x\"y",
            "line\tbreak",
            long.as_str(),
            "中文",
        ] {
            let Ok(value) = HeaderValue::from_str(bad) else {
                continue;
            };
            let mut map = header::HeaderMap::new();
            map.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            let id = request_id(&map);
            assert_ne!(id, bad);
            assert!(id.starts_with(PREFIX.as_str()), "{id}");
        }
        let (a, b) = (
            request_id(&header::HeaderMap::new()),
            request_id(&header::HeaderMap::new()),
        );
        assert_ne!(a, b, "made ids are unique");
    }
}

/// A `tracing` layer (installed with the log output, see the CLI's tracing set-up) that counts
/// actix-http's log event for a request head it could not parse, in
/// [`super::metrics::MALFORMED_REQUESTS`], and disables that event for every layer, so that it
/// writes no log line. It is recognised by its target and the start of its message, which
/// actix-http writes as `stream error: request parse error: <what>` (`DispatchError::Parse`);
/// a test through the real server checks that this still holds for the actix-http in use.
#[derive(Debug, Clone, Copy, Default)]
pub struct MalformedRequests;

/// Where actix-http's HTTP/1 dispatcher logs from.
const DISPATCHER_TARGET: &str = "actix_http::h1::dispatcher";
const PARSE_ERROR_PREFIX: &str = "stream error: request parse error";

impl MalformedRequests {
    /// The layer, filtered to the dispatcher's ERROR events: it asks for nothing else, so it
    /// costs the other events nothing, and dropping an event from it drops it for every layer.
    pub fn layer<S>() -> Filtered<MalformedRequests, Targets, S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        MalformedRequests
            .with_filter(Targets::new().with_target(DISPATCHER_TARGET, tracing::Level::ERROR))
    }

    fn is_malformed_request(event: &tracing::Event<'_>) -> bool {
        let metadata = event.metadata();
        if *metadata.level() != tracing::Level::ERROR || metadata.target() != DISPATCHER_TARGET {
            return false;
        }
        let mut message = MessageStart::default();
        event.record(&mut message);
        message.matched
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for MalformedRequests {
    fn event_enabled(&self, event: &tracing::Event<'_>, _cx: LayerContext<'_, S>) -> bool {
        if Self::is_malformed_request(event) {
            super::metrics::MALFORMED_REQUESTS.inc();
            return false;
        }
        true
    }
}

/// Whether an event's message starts with [`PARSE_ERROR_PREFIX`].
#[derive(Default)]
struct MessageStart {
    matched: bool,
}

impl tracing::field::Visit for MessageStart {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.matched = format!("{value:?}").starts_with(PARSE_ERROR_PREFIX);
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.matched = value.starts_with(PARSE_ERROR_PREFIX);
        }
    }
}

#[cfg(test)]
mod malformed_request_tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use tracing_subscriber::prelude::*;

    use super::*;

    /// Counts the events that reach it, as the log output would write them.
    struct Seen(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Seen {
        fn on_event(&self, _event: &tracing::Event<'_>, _cx: LayerContext<'_, S>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn parse_errors_are_counted_and_not_written() {
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(Seen(seen.clone()))
            .with(MalformedRequests::layer());
        let before = super::super::metrics::MALFORMED_REQUESTS.get();
        tracing::subscriber::with_default(subscriber, || {
            let err = "invalid Header provided";
            tracing::error!(target: "actix_http::h1::dispatcher", "stream error: request parse error: {}", err);
            // Other stream errors, and the same words from elsewhere, are still written.
            tracing::error!(target: "actix_http::h1::dispatcher", "stream error: I/O error: {}", "broken pipe");
            tracing::error!(target: "envcredit", "stream error: request parse error: {}", err);
            tracing::warn!(target: "actix_http::h1::dispatcher", "stream error: request parse error: {}", err);
        });
        assert_eq!(seen.load(Ordering::Relaxed), 3);
        assert_eq!(super::super::metrics::MALFORMED_REQUESTS.get(), before + 1);
    }
}
