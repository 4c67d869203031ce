//! Dates in Asia/Shanghai.
//!
//! Every date in the registry (publicity, publication, validity, deadlines) is a calendar date
//! in Asia/Shanghai, which is UTC+8 all year (China has had no daylight saving time since 1991).
//! The current instant comes from an injectable clock elsewhere; this module only converts it.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// Offset of Asia/Shanghai from UTC, in seconds (UTC+8, no daylight saving time).
pub const SHANGHAI_OFFSET_SECONDS: i32 = 8 * 3600;

/// The calendar date in Asia/Shanghai at the instant `now`.
///
/// 15:59:59 UTC is still the same day in Shanghai; 16:00:00 UTC is already the next.
pub fn shanghai_date(now: DateTime<Utc>) -> NaiveDate {
    let offset = TimeDelta::seconds(i64::from(SHANGHAI_OFFSET_SECONDS));
    match now.naive_utc().checked_add_signed(offset) {
        Some(local) => local.date(),
        // Only at the very end of chrono's range; that day is the best available answer.
        None => now.date_naive(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn day_changes_at_16_utc() {
        assert_eq!(shanghai_date(utc("2025-09-25T15:59:59Z")), d("2025-09-25"));
        assert_eq!(shanghai_date(utc("2025-09-25T16:00:00Z")), d("2025-09-26"));
        assert_eq!(shanghai_date(utc("2025-09-26T00:00:00Z")), d("2025-09-26"));
        assert_eq!(
            shanghai_date(utc("2025-09-26T15:59:59.999999999Z")),
            d("2025-09-26")
        );
    }

    #[test]
    fn year_and_leap_day_boundaries() {
        assert_eq!(shanghai_date(utc("2026-12-31T15:59:59Z")), d("2026-12-31"));
        assert_eq!(shanghai_date(utc("2026-12-31T16:00:00Z")), d("2027-01-01"));
        assert_eq!(shanghai_date(utc("2024-02-28T16:00:00Z")), d("2024-02-29"));
    }

    #[test]
    fn agrees_with_a_fixed_offset() {
        let offset = chrono::FixedOffset::east_opt(SHANGHAI_OFFSET_SECONDS).unwrap();
        for s in [
            "2023-03-01T00:00:00Z",
            "2025-06-30T20:30:00Z",
            "2026-01-01T08:00:00Z",
        ] {
            let t = utc(s);
            assert_eq!(
                shanghai_date(t),
                t.with_timezone(&offset).date_naive(),
                "{s}"
            );
        }
    }

    #[test]
    fn extremes_do_not_panic() {
        let _ = shanghai_date(DateTime::<Utc>::MAX_UTC);
        let _ = shanghai_date(DateTime::<Utc>::MIN_UTC);
        assert_eq!(shanghai_date(DateTime::<Utc>::UNIX_EPOCH), d("1970-01-01"));
    }
}
