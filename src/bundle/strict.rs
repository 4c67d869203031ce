//! Strict reading of untrusted JSON, shared by the envelope and the payload.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Accepts only a JSON object for `T`: serde's derived struct impls would also take a JSON array
/// of the field values in order, which is not our format.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer).map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// For `#[serde(deserialize_with = "object")]`: the field must be a JSON object.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

/// For an optional field that, when present, must be a JSON object (or `null`).
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(deserializer).map(|o| o.map(|Object(t)| t))
}

/// A calendar date, exactly `YYYY-MM-DD`: chrono alone would also take `+2025-06-01`,
/// `-0001-06-01` or `2025-6-1`. For `#[serde(with = "date")]`.
pub mod date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn parse(text: &str) -> Result<NaiveDate, String> {
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        shaped
            .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten()
            .ok_or_else(|| format!("{:?} is not a date YYYY-MM-DD", super::clip(text, 40)))
    }

    pub fn serialize<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&date.format("%Y-%m-%d"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An optional [`date`], for `#[serde(default, with = "optional_date")]`.
pub mod optional_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        date: &Option<NaiveDate>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => super::date::serialize(date, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDate>, D::Error> {
        Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?
            .map(|text| super::date::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A moment, exactly `YYYY-MM-DDTHH:MM:SS±HH:MM`: whole seconds and a numeric offset, the one
/// RFC 3339 form the bundle format allows. For `#[serde(with = "timestamp")]`.
pub mod timestamp {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer, Serializer};

    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%:z";

    pub fn parse(text: &str) -> Result<DateTime<FixedOffset>, String> {
        let shaped = text.len() == 25
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 | 22 => b == b':',
                19 => b == b'+' || b == b'-',
                _ => b.is_ascii_digit(),
            });
        shaped
            .then(|| DateTime::parse_from_str(text, FORMAT).ok())
            .flatten()
            .ok_or_else(|| {
                format!(
                    "{:?} is not a time YYYY-MM-DDTHH:MM:SS±HH:MM",
                    super::clip(text, 40)
                )
            })
    }

    pub fn serialize<S: Serializer>(
        moment: &DateTime<FixedOffset>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&moment.format(FORMAT))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

/// At most `max` characters of untrusted text, for messages, cut on a character boundary.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Pair {
        a: u8,
        b: u8,
    }

    #[test]
    fn arrays_are_not_objects() {
        assert!(
            serde_json::from_str::<Pair>("[1,2]").is_ok(),
            "serde's default"
        );
        assert!(serde_json::from_str::<Object<Pair>>("[1,2]").is_err());
        assert_eq!(
            serde_json::from_str::<Object<Pair>>(r#"{"a":1,"b":2}"#)
                .map(|o| o.0)
                .ok(),
            Some(Pair { a: 1, b: 2 })
        );
    }

    #[test]
    fn dates_and_times_have_one_form() {
        assert!(date::parse("2025-06-01").is_ok());
        for bad in [
            "-0001-06-01",
            "+2025-06-01",
            "2025-6-1",
            "2025-06-1 ",
            "2025-02-30",
            "２０２５-06-01",
        ] {
            assert!(date::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(timestamp::parse("2024-10-25T09:00:00+08:00").is_ok());
        assert!(timestamp::parse("2024-10-25T01:00:00-00:00").is_ok());
        for bad in [
            "2024-10-25T09:00:00Z",
            "2024-10-25t09:00:00+08:00",
            "2024-10-25 09:00:00+08:00",
            "2024-10-25T09:00:00.5+08:00",
            "2024-10-25T09:00+08:00",
            "2024-10-25T09:00:00+0800",
            "+2024-10-25T09:00:00+08:00",
        ] {
            assert!(timestamp::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("嘉兴市", 2), "嘉兴…");
        assert_eq!(clip("ab", 2), "ab");
    }
}
