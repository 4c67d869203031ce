//! Time comes from an injectable clock, so tests fix "today". Dates are Asia/Shanghai dates.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::time::shanghai_date;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Today's calendar date in Asia/Shanghai.
    fn today(&self) -> NaiveDate {
        shanghai_date(self.now())
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same day (noon in Shanghai, i.e. 04:00 UTC).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub NaiveDate);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .and_hms_opt(4, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_default()
    }
}
