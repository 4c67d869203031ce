//! The date a question asks about (`as_of`): exactly `YYYY-MM-DD`, from [`FIRST`] to [`LAST`]
//! (docs/api.md). chrono alone would also take `2025-6-1`, `+2025-06-01`, `-0001-06-01` or
//! `9999-12-31`, and a receipt would sign them.
//!
//! A date after today is answered from what the registry holds now, and the answer says
//! `provisional: true`: data that arrives before that day may change it.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

use crate::bundle::strict::{clip, date};

/// The earliest date a question may ask about.
pub const FIRST: &str = "2000-01-01";
/// The latest date a question may ask about.
pub const LAST: &str = "2099-12-31";

/// Reads an `as_of`: exactly `YYYY-MM-DD`, a real date, from [`FIRST`] to [`LAST`]. The error
/// names the parameter and the rule.
pub fn parse(text: &str) -> Result<NaiveDate, String> {
    let wrong = || {
        format!(
            "as_of must be a date YYYY-MM-DD from {FIRST} to {LAST}, found {:?}",
            clip(text, 40)
        )
    };
    let on = date::parse(text).map_err(|_| wrong())?;
    let in_range = date::parse(FIRST).is_ok_and(|first| first <= on)
        && date::parse(LAST).is_ok_and(|last| on <= last);
    in_range.then_some(on).ok_or_else(wrong)
}

/// For `#[serde(default, deserialize_with = "as_of::optional")]` on an `Option<NaiveDate>`.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?
        .map(|text| parse(&text).map_err(serde::de::Error::custom))
        .transpose()
}

/// Whether an answer about `as_of` is provisional on `today`: the date is still to come.
pub fn provisional(as_of: NaiveDate, today: NaiveDate) -> bool {
    as_of > today
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn exactly_a_date_in_range() {
        assert_eq!(
            parse("2025-06-01"),
            Ok(NaiveDate::from_ymd_opt(2025, 6, 1).unwrap())
        );
        assert!(parse(FIRST).is_ok());
        assert!(parse(LAST).is_ok());
        for bad in [
            "-0001-06-01",
            "+2025-06-01",
            "2025-6-1",
            "9999-12-31",
            "1999-12-31",
            "2100-01-01",
            "2025-02-29",
            "2025-06-01 ",
            "20250601",
            "",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.starts_with("as_of must be a date YYYY-MM-DD from 2000-01-01 to 2099-12-31"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn provisional_only_after_today() {
        let today = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        assert!(!provisional(today, today));
        assert!(provisional(today.succ_opt().unwrap(), today));
        assert!(!provisional(today.pred_opt().unwrap(), today));
    }
}
