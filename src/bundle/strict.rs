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
    fn clip_cuts_on_characters() {
        assert_eq!(clip("嘉兴市", 2), "嘉兴…");
        assert_eq!(clip("ab", 2), "ab");
    }
}
