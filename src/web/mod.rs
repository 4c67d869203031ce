//! The public listener: JSON API ([`api`]) and HTML pages ([`pages`]). Read-only: there is no
//! write path here; bundles enter only through `envcredit import` (or demo mode at start).

pub mod api;
mod error;
pub mod pages;
mod state;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Condition, DefaultHeaders, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};

pub use error::Problem;
pub use state::AppState;

use crate::clock::Clock;
use crate::config::Config;
use crate::read::LiveRegistry;
use crate::store::Store;
use crate::{demo, Error, Result};

/// The running application: what `main` starts and what the tests start, the same way.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Opens the store (running migrations), imports the demo bundles into an empty store in
    /// demo mode, loads and re-verifies the read model, and binds the listener (port 0 picks a
    /// free port; see [`Application::port`]).
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Application> {
        let keys = config.trusted_keys()?;
        let setup_config = config.clone();
        let setup_clock = clock.clone();
        let live = web::block(move || -> Result<LiveRegistry> {
            let store = Store::open(&setup_config.database_url)?;
            if setup_config.demo {
                demo::import_if_empty(&store, &keys, &setup_config.limits, setup_clock.as_ref())?;
            }
            LiveRegistry::load(store, keys, setup_config.demo)
        })
        .await
        .map_err(|e| Error::Internal(format!("start-up task: {e}")))??;

        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| Error::io(format!("cannot listen on {}", config.listen), e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("listener address", e))?
            .port();
        let state = web::Data::new(AppState::new(config, clock, Arc::new(live))?);
        let server_state = state.clone();
        let demo = state.config.demo;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .wrap(Condition::new(
                    demo,
                    DefaultHeaders::new().add(("X-Demo-Data", "DEMO DATA")),
                ))
                .app_data(api::json_config())
                .app_data(api::query_config())
                .app_data(api::path_config())
                .wrap(security_headers())
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .configure(routes)
        })
        .listen(listener)
        .map_err(|e| Error::io("cannot start the HTTP server", e))?
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped, looking for a new revision in the store every poll interval.
    pub async fn run_until_stopped(self) -> Result<()> {
        let state = self.state.clone();
        let interval = Duration::from_secs(state.config.poll_interval_seconds);
        let poller = actix_web::rt::spawn(async move {
            let mut ticker = actix_web::rt::time::interval(interval);
            loop {
                ticker.tick().await;
                let live = state.live.clone();
                match web::block(move || live.refresh()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "revision poll failed"),
                    Err(e) => tracing::warn!(error = %e, "revision poll task failed"),
                }
            }
        });
        let result = self.server.await.map_err(|e| Error::io("HTTP server", e));
        poller.abort();
        result
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(api::routes).configure(pages::routes);
}

/// Headers on every response. The CSP allows only this origin's own files: no inline script or
/// style, no CDN.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
}
