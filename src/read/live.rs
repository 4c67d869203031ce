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
    /// The high-water mark's sequence at start-up: the verified chain must reach it.
    high_water: u64,
    /// The last store head refused as going back (logged once per head).
    refused: std::sync::Mutex<Option<Option<(u64, String)>>>,
}

impl LiveRegistry {
    /// Loads and re-verifies everything in the store; `high_water` is the sequence the
    /// high-water mark vouches for (0 without one).
    pub fn load(
        store: Store,
        keys: Vec<TrustedKey>,
        demo: bool,
        high_water: u64,
    ) -> Result<LiveRegistry> {
        let started = std::time::Instant::now();
        let registry = build(store.load()?, &keys, demo, high_water);
        log_loaded(&registry, started.elapsed());
        Ok(LiveRegistry {
            current: ArcSwap::from_pointee(registry),
            earlier: moka::sync::Cache::new(EARLIER_VIEWS),
            store,
            keys,
            demo,
            high_water,
            refused: std::sync::Mutex::new(None),
        })
    }

    /// The current view. Hold the `Arc` for a whole response: it never changes under you.
    pub fn current(&self) -> Arc<Registry> {
        self.current.load_full()
    }

    /// Rebuilds (re-verifying everything) when the store's head differs from the current
    /// revision. Returns whether the view changed.
    ///
    /// A running instance only goes forward: a store whose head is behind the verified revision
    /// it serves, or holds another bundle at its sequence (restored from an older backup,
    /// bundles deleted or replaced behind the registry's back), is not served; an ALARM is
    /// logged once per such head, and the instance keeps serving what it verified. Serving the
    /// older state takes a restart, which the high-water mark refuses unless
    /// `--accept-rollback` (docs/operations.md).
    pub fn refresh(&self) -> Result<bool> {
        // Compared with the store's head as it was when the view was built, not with the last
        // verified bundle: a head that fails verification must not trigger a rebuild per poll.
        let head = self.store.head()?;
        let current = self.current();
        if head == current.store_head {
            return Ok(false);
        }
        if let Some(served) = &current.revision {
            let back = match &head {
                None => true,
                Some((sequence, hash)) => {
                    *sequence < served.sequence
                        || (*sequence == served.sequence && *hash != served.hash)
                }
            };
            if back {
                let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
                if refused.as_ref() != Some(&head) {
                    tracing::error!(
                        alarm = "rollback",
                        serving = served.sequence,
                        database = head.as_ref().map_or(0, |(sequence, _)| *sequence),
                        database_hash = head.as_ref().map_or("", |(_, hash)| hash.as_str()),
                        "ALARM: the database went back behind the verified revision served (restored from an older backup, or bundles deleted or replaced); still serving the verified revision"
                    );
                    *refused = Some(head);
                }
                return Ok(false);
            }
        }
        let started = std::time::Instant::now();
        // Never less than what this instance has already verified and served.
        let floor = current
            .revision
            .as_ref()
            .map_or(self.high_water, |r| r.sequence.max(self.high_water));
        let registry = build(self.store.load()?, &self.keys, self.demo, floor);
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
            // The current view answers for its own revision unless part of the chain after it
            // is unknown: the question "at revision N" is about N, which is wholly verified.
            Some(sequence) if sequence == latest && current.unknown.is_none() => Ok(current),
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
