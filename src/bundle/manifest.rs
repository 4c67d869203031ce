//! The manifest: what a bundle is, where it sits in the chain and what it commits to.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::merkle::Hash;

/// The only format version this registry reads (2: the signature covers the manifest, which
/// commits to the records by their Merkle root).
pub const FORMAT_VERSION: u32 = 2;
/// The only hash algorithm of the Merkle tree and the chain.
pub const HASH_ALGORITHM: &str = "sha256";
/// Evaluation years the registry accepts (a sanity bound on untrusted input).
pub const FIRST_YEAR: i32 = 2023;
pub const LAST_YEAR: i32 = 2100;

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always 2.
    pub format_version: u32,
    /// Which dataset this bundle is a full snapshot of.
    pub dataset: Dataset,
    /// Global sequence number over all datasets, from 1; each accepted bundle is last + 1.
    pub sequence: u64,
    /// Hex SHA-256 of the payload of the previous accepted bundle; 64 zeros for sequence 1.
    #[serde(with = "hex_hash")]
    pub previous_hash: Hash,
    /// When the pipeline made the bundle (RFC 3339 with offset).
    #[serde(with = "crate::bundle::strict::timestamp")]
    pub created_at: DateTime<FixedOffset>,
    /// Number of records.
    pub record_count: u64,
    /// Always "sha256".
    pub hash_algorithm: String,
    /// Hex RFC 6962 Merkle tree head over the records' exact bytes.
    #[serde(with = "hex_hash")]
    pub merkle_root: Hash,
    /// For an evaluation dataset (and only for one): its publicity and publication dates.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::strict::optional_object"
    )]
    pub evaluation: Option<EvaluationSchedule>,
    /// For an evaluation year: `true` acknowledges that it holds fewer than four fifths of the
    /// previous year's institutions (rule `institution_count_drop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_drop_acknowledged: Option<bool>,
}

/// The procedure dates of one evaluation year (Art. 16, 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSchedule {
    /// The day the results were publicized (公示).
    #[serde(with = "crate::bundle::strict::date")]
    pub publicity_date: NaiveDate,
    /// The last day to object: 5 working days after publicity (checked against the calendar).
    #[serde(with = "crate::bundle::strict::date")]
    pub objection_deadline: NaiveDate,
    /// The day the results became final (公布); absent while in publicity.
    #[serde(
        default,
        with = "crate::bundle::strict::optional_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub publication_date: Option<NaiveDate>,
}

/// A dataset: one evaluation year, the serious-dishonesty list, or violation publicity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dataset {
    /// `evaluation-YYYY`: the results of one evaluation year.
    Evaluation(i32),
    /// `dishonesty-list`: the serious-dishonesty list (Art. 12).
    DishonestyList,
    /// `violations`: publicized verified violations (Art. 17).
    Violations,
}

impl Dataset {
    pub fn year(self) -> Option<i32> {
        match self {
            Dataset::Evaluation(year) => Some(year),
            _ => None,
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dataset::Evaluation(year) => write!(f, "evaluation-{year}"),
            Dataset::DishonestyList => f.write_str("dishonesty-list"),
            Dataset::Violations => f.write_str("violations"),
        }
    }
}

impl FromStr for Dataset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dishonesty-list" => Ok(Dataset::DishonestyList),
            "violations" => Ok(Dataset::Violations),
            _ => {
                let year = s
                    .strip_prefix("evaluation-")
                    .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|y| y.parse::<i32>().ok())
                    .ok_or_else(|| {
                        format!(
                            "unknown dataset {s:?}: expected \"evaluation-YYYY\", \"dishonesty-list\" or \"violations\""
                        )
                    })?;
                if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
                    return Err(format!(
                        "evaluation year {year} is outside {FIRST_YEAR}..={LAST_YEAR}"
                    ));
                }
                Ok(Dataset::Evaluation(year))
            }
        }
    }
}

impl Serialize for Dataset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dataset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde for a SHA-256 as 64 lowercase hex digits.
pub mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::bundle::merkle::Hash;

    pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    /// Parses 64 lowercase hex digits.
    pub fn parse(s: &str) -> Result<Hash, String> {
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "expected 64 lowercase hex digits, found {:?}",
                truncate(s)
            ));
        }
        let mut hash = [0u8; 32];
        hex::decode_to_slice(s, &mut hash).map_err(|e| e.to_string())?;
        Ok(hash)
    }

    fn truncate(s: &str) -> String {
        s.chars().take(80).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_round_trips_and_rejects_junk() {
        for s in ["evaluation-2024", "dishonesty-list", "violations"] {
            assert_eq!(
                s.parse::<Dataset>().map(|d| d.to_string()),
                Ok(s.to_string())
            );
        }
        for s in [
            "evaluation-24",
            "evaluation-+2024",
            "evaluation-1999",
            "evaluation",
            "Violations",
        ] {
            assert!(s.parse::<Dataset>().is_err(), "{s} accepted");
        }
    }

    #[test]
    fn hex_hash_is_strict() {
        assert!(hex_hash::parse(&"a".repeat(64)).is_ok());
        assert!(hex_hash::parse(&"A".repeat(64)).is_err());
        assert!(hex_hash::parse(&"a".repeat(63)).is_err());
    }
}
