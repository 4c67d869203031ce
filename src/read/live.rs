//! The live registry: the current verified view, swapped whole when the store has a new revision.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{build, Registry};
use crate::bundle::TrustedKey;
use crate::store::Store;
use crate::Result;

pub struct LiveRegistry {
    current: ArcSwap<Registry>,
    store: Store,
    keys: Vec<TrustedKey>,
    demo: bool,
}

impl LiveRegistry {
    /// Loads and re-verifies everything in the store.
    pub fn load(store: Store, keys: Vec<TrustedKey>, demo: bool) -> Result<LiveRegistry> {
        let registry = build(&store.load()?, &keys, demo);
        log_loaded(&registry);
        Ok(LiveRegistry {
            current: ArcSwap::from_pointee(registry),
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
        let head = self.store.head()?;
        let current = self.current();
        let now = current
            .revision
            .as_ref()
            .map(|r| (r.sequence, r.hash.clone()));
        if head == now {
            return Ok(false);
        }
        let registry = build(&self.store.load()?, &self.keys, self.demo);
        log_loaded(&registry);
        self.current.store(Arc::new(registry));
        Ok(true)
    }
}

fn log_loaded(registry: &Registry) {
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
        "read model loaded and re-verified"
    );
}
