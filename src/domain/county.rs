//! Jiaxing's county-level divisions (Art. 7: the county bureaus).
//!
//! An institution's county comes from its record, not from the division digits of its credit
//! code: those say where it registered, which may differ.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Administrative division code of Jiaxing city itself (city level, not a county).
pub const JIAXING_CITY_CODE: &str = "330400";

/// A county-level division of Jiaxing (区, 县, 县级市).
///
/// Serialized as its 6-digit administrative division code, e.g. "330402".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum County {
    /// 南湖区, 330402.
    Nanhu,
    /// 秀洲区, 330411.
    Xiuzhou,
    /// 嘉善县, 330421.
    Jiashan,
    /// 海盐县, 330424.
    Haiyan,
    /// 海宁市, 330481.
    Haining,
    /// 平湖市, 330482.
    Pinghu,
    /// 桐乡市, 330483.
    Tongxiang,
}

impl County {
    /// All counties, in division-code order.
    pub const ALL: [County; 7] = [
        County::Nanhu,
        County::Xiuzhou,
        County::Jiashan,
        County::Haiyan,
        County::Haining,
        County::Pinghu,
        County::Tongxiang,
    ];

    /// The 6-digit administrative division code, e.g. "330402".
    pub const fn code(self) -> &'static str {
        match self {
            County::Nanhu => "330402",
            County::Xiuzhou => "330411",
            County::Jiashan => "330421",
            County::Haiyan => "330424",
            County::Haining => "330481",
            County::Pinghu => "330482",
            County::Tongxiang => "330483",
        }
    }

    /// Chinese name, e.g. 南湖区.
    pub const fn name_zh(self) -> &'static str {
        match self {
            County::Nanhu => "南湖区",
            County::Xiuzhou => "秀洲区",
            County::Jiashan => "嘉善县",
            County::Haiyan => "海盐县",
            County::Haining => "海宁市",
            County::Pinghu => "平湖市",
            County::Tongxiang => "桐乡市",
        }
    }

    /// English name, e.g. "Nanhu District".
    pub const fn name_en(self) -> &'static str {
        match self {
            County::Nanhu => "Nanhu District",
            County::Xiuzhou => "Xiuzhou District",
            County::Jiashan => "Jiashan County",
            County::Haiyan => "Haiyan County",
            County::Haining => "Haining City",
            County::Pinghu => "Pinghu City",
            County::Tongxiang => "Tongxiang City",
        }
    }

    /// The county with this exact 6-digit division code, or `None`.
    pub fn from_code(code: &str) -> Option<County> {
        County::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl fmt::Display for County {
    /// The division code, as serialized.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A text that is not the division code of a Jiaxing county.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{found}' is not a Jiaxing county code: expected one of 330402 (南湖区), 330411 (秀洲区), \
     330421 (嘉善县), 330424 (海盐县), 330481 (海宁市), 330482 (平湖市), 330483 (桐乡市)"
)]
pub struct CountyError {
    /// The text that was given.
    pub found: String,
}

impl FromStr for County {
    type Err = CountyError;

    /// Parses a 6-digit division code exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        County::from_code(s).ok_or_else(|| CountyError {
            found: s.to_owned(),
        })
    }
}

impl Serialize for County {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for County {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The schema of a county in the OpenAPI description: one of the division codes of [`County::ALL`].
impl utoipa::PartialSchema for County {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(County::ALL.map(County::code)))
            .description(Some("County-level division code of Jiaxing."))
            .into()
    }
}

impl utoipa::ToSchema for County {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const TABLE: [(County, &str, &str, &str); 7] = [
        (County::Nanhu, "330402", "南湖区", "Nanhu District"),
        (County::Xiuzhou, "330411", "秀洲区", "Xiuzhou District"),
        (County::Jiashan, "330421", "嘉善县", "Jiashan County"),
        (County::Haiyan, "330424", "海盐县", "Haiyan County"),
        (County::Haining, "330481", "海宁市", "Haining City"),
        (County::Pinghu, "330482", "平湖市", "Pinghu City"),
        (County::Tongxiang, "330483", "桐乡市", "Tongxiang City"),
    ];

    #[test]
    fn table() {
        assert_eq!(County::ALL.len(), TABLE.len());
        for ((county, code, zh, en), all) in TABLE.into_iter().zip(County::ALL) {
            assert_eq!(county, all);
            assert_eq!(county.code(), code);
            assert_eq!(county.name_zh(), zh);
            assert_eq!(county.name_en(), en);
            assert_eq!(County::from_code(code), Some(county));
            assert_eq!(code.parse::<County>().unwrap(), county);
            assert_eq!(county.to_string(), code);
            assert!(code.starts_with("3304"));
        }
    }

    #[test]
    fn unknown_codes() {
        for bad in [
            JIAXING_CITY_CODE,
            "330100",
            "",
            " 330402",
            "330402 ",
            "33040",
            "南湖区",
        ] {
            assert_eq!(County::from_code(bad), None, "{bad}");
            let err = bad.parse::<County>().unwrap_err();
            assert_eq!(err.found, bad);
        }
    }

    #[test]
    fn serde_is_the_code() {
        for county in County::ALL {
            let json = serde_json::to_string(&county).unwrap();
            assert_eq!(json, format!("\"{}\"", county.code()));
            assert_eq!(serde_json::from_str::<County>(&json).unwrap(), county);
        }
        let err = serde_json::from_str::<County>("\"330400\"").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("'330400' is not a Jiaxing county code"),
            "{msg}"
        );
        for county in County::ALL {
            assert!(msg.contains(county.code()), "{msg}");
            assert!(msg.contains(county.name_zh()), "{msg}");
        }
        assert!(serde_json::from_str::<County>("330402").is_err());
    }
}
