//! What every handler can reach.

use std::sync::Arc;

use tera::Tera;

use super::cache::ResponseCache;
use super::metrics::Metrics;
use super::readiness::DatabaseStatus;
use crate::clock::Clock;
use crate::config::Config;
use crate::read::LiveRegistry;
use crate::receipt::ReceiptKey;
use crate::Result;

pub struct AppState {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub live: Arc<LiveRegistry>,
    pub templates: Tera,
    /// The registry's receipt signing key; none when receipts are not offered.
    pub receipts: Option<ReceiptKey>,
    /// Finished answers by request and revision.
    pub responses: ResponseCache,
    /// What `/metrics` reports.
    pub metrics: Metrics,
    /// Whether the database answered the revision poller lately (`/readyz`).
    pub database: DatabaseStatus,
}

impl AppState {
    pub fn new(config: Config, clock: Arc<dyn Clock>, live: Arc<LiveRegistry>) -> Result<AppState> {
        Ok(AppState {
            templates: super::pages::templates()?,
            receipts: config.receipt_key()?,
            responses: ResponseCache::new(config.cache.max_bytes),
            metrics: Metrics::new(),
            database: DatabaseStatus::new(std::time::Duration::from_secs(
                config.poll_interval_seconds,
            )),
            config,
            clock,
            live,
        })
    }
}
