//! Whether this instance can reach its database, as the revision poller finds it.
//!
//! Reads never touch the database: everything is answered from the verified view in memory.
//! So while the database is unreachable an instance keeps answering from the last revision it
//! verified, reports `degraded` at `/readyz`, and the poller keeps trying; the store reconnects
//! by itself when the database is back. The log says so once when the database goes away and
//! once when it is back (with how long it was gone), never per request or per poll.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::Error;

/// What `/readyz` reports about the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSnapshot {
    /// The last look succeeded, and recently enough.
    pub reachable: bool,
    /// When a look last succeeded.
    pub last_contact: DateTime<Utc>,
    /// When looks began to fail, while they fail.
    pub unreachable_since: Option<DateTime<Utc>>,
}

pub struct DatabaseStatus {
    inner: Mutex<Inner>,
    /// A last success older than this counts as unreachable even without a failure (a look
    /// that hangs): three poll intervals, and at least 30 s (a PostgreSQL call that gets no
    /// answer fails after 10 s, a connection attempt after 5 s).
    stale_after: Duration,
}

struct Inner {
    last_ok: Instant,
    last_ok_at: DateTime<Utc>,
    down_since: Option<(Instant, DateTime<Utc>)>,
}

impl DatabaseStatus {
    /// Starts reachable: the instance has just loaded its view from the database.
    pub fn new(poll_interval: Duration) -> DatabaseStatus {
        DatabaseStatus {
            inner: Mutex::new(Inner {
                last_ok: Instant::now(),
                last_ok_at: Utc::now(),
                down_since: None,
            }),
            stale_after: (poll_interval * 3).max(Duration::from_secs(30)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A successful look; logs the recovery if the database had been unreachable.
    pub fn record_ok(&self) {
        let mut inner = self.lock();
        inner.last_ok = Instant::now();
        inner.last_ok_at = Utc::now();
        if let Some((since, since_at)) = inner.down_since.take() {
            tracing::info!(
                unreachable_since = %since_at.to_rfc3339(),
                unreachable_seconds = since.elapsed().as_secs(),
                "database reachable again; looking for new revisions as usual"
            );
        }
    }

    /// A failed look; logs only the first of a run of failures.
    pub fn record_error(&self, error: &Error, serving: Option<&str>) {
        let mut inner = self.lock();
        if inner.down_since.is_some() {
            tracing::debug!(%error, "database still unreachable");
            return;
        }
        inner.down_since = Some((Instant::now(), Utc::now()));
        tracing::error!(
            %error,
            revision = serving.unwrap_or("none"),
            "database unreachable: serving the last verified revision, and trying again every poll interval"
        );
    }

    pub fn snapshot(&self) -> DatabaseSnapshot {
        let inner = self.lock();
        DatabaseSnapshot {
            reachable: inner.down_since.is_none() && inner.last_ok.elapsed() <= self.stale_after,
            last_contact: inner.last_ok_at,
            unreachable_since: inner.down_since.map(|(_, at)| at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_makes_it_unreachable_until_the_next_success() {
        let status = DatabaseStatus::new(Duration::from_secs(2));
        assert!(status.snapshot().reachable);
        status.record_error(&Error::Internal("connection refused".into()), Some("3-abc"));
        let down = status.snapshot();
        assert!(!down.reachable);
        let since = down.unreachable_since.expect("since when");
        status.record_error(&Error::Internal("connection refused".into()), Some("3-abc"));
        assert_eq!(
            status.snapshot().unreachable_since,
            Some(since),
            "the first failure counts"
        );
        status.record_ok();
        let up = status.snapshot();
        assert!(up.reachable);
        assert_eq!(up.unreachable_since, None);
        assert!(up.last_contact >= since);
    }

    #[test]
    fn no_success_for_too_long_is_unreachable() {
        let status = DatabaseStatus::new(Duration::from_secs(2));
        status.lock().last_ok = Instant::now()
            .checked_sub(Duration::from_secs(31))
            .expect("the clock runs");
        assert!(!status.snapshot().reachable);
    }
}
