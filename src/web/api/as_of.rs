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

/// A regular expression for the dates from [`FIRST`] to [`LAST`] written exactly `YYYY-MM-DD`.
/// With `format: date` (a real date) it describes exactly what [`parse`] takes; a test holds the
/// two together.
pub const PATTERN: &str = "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

/// The schema of an `as_of` in the OpenAPI description, for `value_type = as_of::AsOfDate` on the
/// `Option<NaiveDate>` fields that [`optional`] reads.
pub struct AsOfDate;

impl utoipa::PartialSchema for AsOfDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(PATTERN))
            .into()
    }
}

impl utoipa::ToSchema for AsOfDate {}

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

    /// The description's `format: date` plus [`PATTERN`] accept exactly what [`parse`] accepts,
    /// for every day from 1999-12-01 to 2100-01-31 and for impossible days that fit the pattern.
    #[test]
    fn the_schema_says_what_parse_takes() {
        let pattern = regex::Regex::new(PATTERN).unwrap();
        let real_date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok();
        let mut day = NaiveDate::from_ymd_opt(1999, 12, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2100, 1, 31).unwrap();
        let mut texts = vec![
            "2025-02-29".to_string(),
            "2024-02-30".to_string(),
            "2025-04-31".to_string(),
            "2025-00-10".to_string(),
            "2025-13-01".to_string(),
            "2025-06-00".to_string(),
            "2025-6-1".to_string(),
            "+2025-06-01".to_string(),
            "2025-06-01 ".to_string(),
        ];
        while day <= end {
            texts.push(day.format("%Y-%m-%d").to_string());
            day = day.succ_opt().unwrap();
        }
        for text in texts {
            let described = pattern.is_match(&text) && real_date(&text);
            assert_eq!(described, parse(&text).is_ok(), "{text}");
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
