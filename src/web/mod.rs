//! The public listener: JSON API ([`api`]) and HTML pages ([`pages`]). Read-only: there is no
//! write path here; bundles enter only through `envcredit import` (or demo mode at start).

pub mod api;
mod cache;
mod error;
mod http;
mod metrics;
mod observe;
pub mod pages;
mod ratelimit;
mod readiness;
mod state;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders};
use actix_web::{web, App, HttpServer};

pub use error::Problem;
pub use observe::MalformedRequests;
pub use state::AppState;

use crate::clock::Clock;
use crate::config::Config;
use crate::highwater::{self, HighWater};
use crate::read::LiveRegistry;
use crate::store::Store;
use crate::{demo, Error, Result};
use ratelimit::RateLimits;

/// The running application: what `main` starts and what the tests start, the same way.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// This instance's high-water mark, advanced as it serves newer verified revisions.
    high_water: Arc<HighWater>,
    rate_limits: web::Data<RateLimits>,
}

impl Application {
    /// Opens the store (running migrations), imports the demo bundles into an empty store in
    /// demo mode, loads and re-verifies the read model, and binds the listener (port 0 picks a
    /// free port; see [`Application::port`]).
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Application> {
        let keys = config.trusted_keys()?;
        let rate_limits = web::Data::new(RateLimits::new(&config.rate_limit)?);
        let setup_config = config.clone();
        let (live, high_water, high_water_status) = web::block(move || -> Result<_> {
            let store = Store::open(&setup_config.database_url)?;
            if setup_config.demo {
                // The shipped bundles are checked against the wall clock, not a fixed "today"
                // (ENVCREDIT_TODAY): a demo shown as of an earlier day still holds them all.
                demo::import_if_empty(
                    &store,
                    &keys,
                    &setup_config.limits,
                    &crate::clock::SystemClock,
                )?;
            }
            // Before anything is served: a database that does not hold its high-water mark
            // (restored from an older backup, bundles lost) is refused, not served as current.
            let (high_water, status) = highwater::at_start(&setup_config, &store)?;
            let floor = high_water.floor()?;
            let live = LiveRegistry::load(store, keys, setup_config.demo, floor)?;
            advance_mark(&high_water, &live)?;
            Ok((live, high_water, status))
        })
        .await
        .map_err(|e| Error::Internal(format!("start-up task: {e}")))??;

        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| Error::io(format!("cannot listen on {}", config.listen), e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("listener address", e))?
            .port();
        let metrics_access = web::Data::new(metrics::MetricsAccess {
            allow: config.metrics.allowed_networks()?,
        });
        let metrics_enabled = config.metrics.enabled;
        let http = config.http.clone();
        let body_limit = usize::try_from(http.max_body_bytes).unwrap_or(usize::MAX);
        let state = web::Data::new(AppState::new(config, clock, Arc::new(live))?);
        let server_state = state.clone();
        let high_water_status = web::Data::new(high_water_status);
        let demo = state.config.demo;
        let rate_limited = state.config.rate_limit.enabled;
        let server_rate_limits = rate_limits.clone();
        let server = HttpServer::new(move || {
            // Middleware runs outermost last: paths are normalised first, then CORS (answering
            // preflights), then the security headers, then the request id, log, metrics, body
            // limit and body timeout (so that their 413 carries the headers above), then the
            // demo header, then rate limits (so that a 429 carries the headers above and is
            // counted), then conditional requests (so that a 304 carries them too, and counts), then
            // wrong methods on API paths (405 before routing picks a look-alike template).
            App::new()
                .app_data(server_state.clone())
                .app_data(high_water_status.clone())
                .app_data(server_rate_limits.clone())
                .app_data(metrics_access.clone())
                .app_data(api::json_config(body_limit))
                .app_data(api::query_config())
                .app_data(api::path_config())
                .configure(|cfg| {
                    if metrics_enabled {
                        cfg.route("/metrics", web::get().to(metrics::metrics));
                    }
                })
                .configure(routes)
                .default_service(web::to(http::fallback))
                .wrap(from_fn(http::api_methods))
                .wrap(from_fn(http::conditional))
                .wrap(Condition::new(rate_limited, from_fn(ratelimit::limit)))
                .wrap(Condition::new(
                    demo,
                    DefaultHeaders::new().add(("X-Demo-Data", "DEMO DATA")),
                ))
                .wrap(from_fn(observe::observe))
                .wrap(security_headers(http.hsts_max_age_seconds))
                .wrap(http::cors())
                .wrap(from_fn(http::normalize_path))
        })
        // Slow clients cannot hold connections: the request head must arrive within
        // `client_request_timeout_seconds` (else 408 and closed), an idle keep-alive connection
        // is closed after `keep_alive_seconds`, and a request body must arrive within
        // `request_timeout_seconds` (the observe middleware). Request heads are bounded by the
        // HTTP server itself (128 KiB and 96 header fields: 431 beyond).
        .client_request_timeout(Duration::from_secs(http.client_request_timeout_seconds))
        .keep_alive(Duration::from_secs(http.keep_alive_seconds))
        .client_disconnect_timeout(Duration::from_secs(2))
        .listen(listener)
        .map_err(|e| Error::io("cannot start the HTTP server", e))?
        .run();
        Ok(Application {
            port,
            server,
            state,
            high_water: Arc::new(high_water),
            rate_limits,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped, looking for a new revision in the store every poll interval.
    pub async fn run_until_stopped(self) -> Result<()> {
        let state = self.state.clone();
        let high_water = self.high_water.clone();
        let interval = Duration::from_secs(state.config.poll_interval_seconds);
        let poller = actix_web::rt::spawn(async move {
            let mut ticker = actix_web::rt::time::interval(interval);
            // A slow poll (a rebuild, a database that takes its time to fail) is followed by
            // the next one an interval later, not by a burst of the ones missed.
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let live = state.live.clone();
                let high_water = high_water.clone();
                // The poll's own result (the database answered or not), and the state file's.
                let refreshed = move || -> Result<(bool, Result<()>)> {
                    let changed = live.refresh()?;
                    let marked = if changed {
                        advance_mark(&high_water, &live)
                    } else {
                        Ok(())
                    };
                    Ok((changed, marked))
                };
                let polled = web::block(refreshed)
                    .await
                    .unwrap_or_else(|e| Err(Error::Internal(format!("revision poll task: {e}"))));
                match polled {
                    Ok((changed, marked)) => {
                        state.database.record_ok();
                        state.metrics.poll(true);
                        if changed {
                            // Answers cached at the old revision can no longer be asked for
                            // (their keys hold it); dropping them frees the memory now.
                            state.responses.clear();
                            let loaded = state.live.current();
                            state.metrics.revision_loaded(loaded.integrity_failures);
                        }
                        if let Err(e) = marked {
                            tracing::error!(error = %e, "the high-water mark could not be advanced");
                        }
                    }
                    Err(e) => {
                        let serving = state.live.current().revision.as_ref().map(|r| r.tag());
                        state.database.record_error(&e, serving.as_deref());
                        state.metrics.poll(false);
                    }
                }
            }
        });
        // The rate limiter keeps an entry per client address seen; every minute those whose
        // quota is full again are dropped, which bounds it by the clients of about a minute.
        let rate_limits = self.rate_limits.clone();
        let janitor = actix_web::rt::spawn(async move {
            let mut ticker = actix_web::rt::time::interval(Duration::from_secs(60));
            loop {
                ticker.tick().await;
                rate_limits.retain_recent();
            }
        });
        let result = self.server.await.map_err(|e| Error::io("HTTP server", e));
        poller.abort();
        janitor.abort();
        result
    }
}

/// Moves this instance's high-water mark forward to the verified revision it now serves; a
/// revision behind the mark (the database went back while serving) is an ALARM, and the next
/// start-up refuses it.
fn advance_mark(high_water: &HighWater, live: &LiveRegistry) -> Result<()> {
    let Some(revision) = live.current().revision.clone() else {
        return Ok(());
    };
    let mark = highwater::Mark {
        sequence: revision.sequence,
        hash: revision.hash,
    };
    if !high_water.advance(&mark)? {
        if let Ok(Some(kept)) = high_water.read() {
            if kept.sequence > mark.sequence {
                tracing::error!(
                    alarm = "rollback",
                    serving = mark.sequence,
                    mark = kept.sequence,
                    "ALARM: the verified revision served is behind the high-water mark"
                );
            }
        }
    }
    Ok(())
}

fn routes(cfg: &mut web::ServiceConfig) {
    api::routes(&mut utoipa_actix_web::service_config::ServiceConfig::new(
        cfg,
    ));
    cfg.configure(pages::routes).configure(docs::routes);
}

/// Interactive API docs (Swagger UI) at `/api/docs/`, reading `/api/v1/openapi.json`. The
/// assets are compiled into the binary (`utoipa-swagger-ui`'s `vendored` feature): nothing is
/// fetched from elsewhere at build or run time.
///
/// They work under the site's strict Content-Security-Policy unchanged (checked in a headless
/// browser: no CSP violation): Swagger UI's `index.html` and `swagger-initializer.js` are
/// external files with no inline script or style, and React sets its styles through the DOM,
/// which `style-src 'self'` allows. The one inline `<style>` is in the logo of Swagger UI's top
/// bar (the "Explore" URL box), so the base layout without it is used. The page here differs
/// from Swagger UI's `index.html` only in using absolute asset paths, so that it works at
/// `/api/docs` as well as `/api/docs/` (paths are normalised without the trailing slash before
/// routing).
mod docs {
    use std::sync::{Arc, LazyLock};

    use actix_web::{web, HttpResponse, ResponseError};
    use utoipa_swagger_ui::Config;

    use super::error::problem_response;
    use super::http::STATIC_CACHE_CONTROL;
    use super::Problem;
    use crate::Error;

    const INDEX: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>envcredit API · 嘉兴市社会环境监测机构环境信用</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="stylesheet" href="/api/docs/index.css">
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/swagger-initializer.js"></script>
</body>
</html>
"#;

    /// Swagger UI's configuration, written into its `swagger-initializer.js`. No validator: by
    /// default Swagger UI would send the spec's URL to validator.swagger.io.
    static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
        Arc::new(
            Config::from("/api/v1/openapi.json")
                .use_base_layout()
                .validator_url("none")
                .try_it_out_enabled(true)
                .display_request_duration(true),
        )
    });

    pub fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/api/docs", web::get().to(index))
            .route("/api/docs/{file:.*}", web::get().to(file));
    }

    async fn index() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", STATIC_CACHE_CONTROL))
            .body(INDEX)
    }

    async fn file(req: actix_web::HttpRequest, path: web::Path<String>) -> HttpResponse {
        let path = path.into_inner();
        if path == "index.html" {
            return index().await;
        }
        match utoipa_swagger_ui::serve(&path, CONFIG.clone()) {
            Ok(Some(file)) => HttpResponse::Ok()
                .content_type(file.content_type)
                .insert_header(("Cache-Control", STATIC_CACHE_CONTROL))
                .body(file.bytes.into_owned()),
            Ok(None) => problem_response(&Problem::no_route(req.path())),
            Err(e) => Error::Internal(format!("swagger ui asset {path}: {e}")).error_response(),
        }
    }
}

/// Headers on every response. The CSP allows only this origin's own files: no inline script or
/// style, no CDN. `Strict-Transport-Security` only when configured (`http.hsts_max_age_seconds`):
/// the listener itself speaks plain HTTP, and only the operator knows that TLS is in front.
fn security_headers(hsts_max_age_seconds: Option<u64>) -> DefaultHeaders {
    let headers = match hsts_max_age_seconds {
        Some(seconds) => {
            DefaultHeaders::new().add(("Strict-Transport-Security", format!("max-age={seconds}")))
        }
        None => DefaultHeaders::new(),
    };
    headers
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
}
