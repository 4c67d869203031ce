//! The live registry: the current verified view, swapped whole when the store has a new revision.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{build, Registry};
use crate::bundle::TrustedKey;
use crate::store::Store;
use crate::{Error, Result};

/// How many earlier revisions' views are kept built.
const EARLIER_VIEWS: u64 = 8;

/// An earlier view's key: the store head of the view it was cut from, and its sequence.
type EarlierKey = (Option<(u64, String)>, u64);

pub struct LiveRegistry {
    current: ArcSwap<Registry>,
    /// Views at earlier revisions, built on demand from the current verified chain.
    earlier: moka::sync::Cache<EarlierKey, Arc<Registry>>,
    store: Store,
    keys: Vec<TrustedKey>,
    demo: bool,
}

impl LiveRegistry {
    /// Loads and re-verifies everything in the store.
    pub fn load(store: Store, keys: Vec<TrustedKey>, demo: bool) -> Result<LiveRegistry> {
        let started = std::time::Instant::now();
        let registry = build(store.load()?, &keys, demo);
        log_loaded(&registry, started.elapsed());
        Ok(LiveRegistry {
            current: ArcSwap::from_pointee(registry),
            earlier: moka::sync::Cache::new(EARLIER_VIEWS),
            store,
            keys,
            demo,
        })
    }

    /// The current view. Hold the `Arc` for a whole response: it never changes under you.
    pub fn current(&self) -> Arc<Registry> {
        self.current.load_full()
    }

    /// Rebuilds (re-verifying everything) when the store's head differs from the current
    /// revision. Returns whether the view changed.
    pub fn refresh(&self) -> Result<bool> {
        // Compared with the store's head as it was when the view was built, not with the last
        // verified bundle: a head that fails verification must not trigger a rebuild per poll.
        if self.store.head()? == self.current().store_head {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let registry = build(self.store.load()?, &self.keys, self.demo);
        log_loaded(&registry, started.elapsed());
        self.current.store(Arc::new(registry));
        self.earlier.invalidate_all();
        Ok(true)
    }

    /// The view at `revision` (a sequence number), or the current one. Answers at an earlier
    /// revision reproduce what the registry said then.
    pub fn at(&self, revision: Option<u64>) -> Result<Arc<Registry>> {
        let current = self.current();
        let latest = current.revision.as_ref().map_or(0, |r| r.sequence);
        match revision {
            None => Ok(current),
            Some(sequence) if sequence == latest => Ok(current),
            Some(sequence) if sequence == 0 || sequence > latest => Err(Error::NotFound(format!(
                "revision {sequence} (the registry is at revision {latest})"
            ))),
            Some(sequence) => {
                let build = || current.at_revision(sequence).map(Arc::new);
                // Keyed by the view it was cut from too, so a view built from a view that a
                // refresh has just replaced is never served as part of the new one.
                self.earlier
                    .optionally_get_with((current.store_head.clone(), sequence), build)
                    .ok_or_else(|| Error::NotFound(format!("revision {sequence}")))
            }
        }
    }
}

/// Logs a new view, with how long reading the store and re-verifying it took.
fn log_loaded(registry: &Registry, took: std::time::Duration) {
    tracing::info!(
        revision = registry
            .revision
            .as_ref()
            .map(|r| r.tag())
            .unwrap_or_default(),
        institutions = registry.institutions.len(),
        years = registry.years.len(),
        withheld = registry.withheld.len(),
        integrity_failures = registry.integrity_failures,
        elapsed_ms = took.as_millis() as u64,
        "read model loaded and re-verified"
    );
}
