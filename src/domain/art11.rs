//! Art. 11: grounds that put an institution directly at grade E and high risk.
//!
//! Once verified, any of the five grounds gives [`ART11_GRADE`] and [`ART11_RISK`] whatever the
//! scores; a record with such a ground may have no scores at all (an institution that refused to
//! take part has none), and the score band checks do not apply to it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::score::{Grade, RiskLevel};

/// The grade every Art. 11 ground gives.
pub const ART11_GRADE: Grade = Grade::E;

/// The risk level every Art. 11 ground gives.
pub const ART11_RISK: RiskLevel = RiskLevel::High;

/// A ground of Art. 11, numbered as in the measures (1 to 5).
///
/// Serialized as its number, the integer 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Art11Ground {
    /// 1. Refusing without cause to take part in the evaluation (无故不参与).
    RefusedToParticipate,
    /// 2. Seriously false or materially incomplete platform information, not corrected when
    ///    required (严重失实、重大遗漏且拒不整改).
    FalseInformation,
    /// 3. Obtaining a grade or capability assessment by deception or bribery (欺骗、贿赂).
    DeceptionOrBribery,
    /// 4. An administrative penalty from an ecology-environment or market-supervision authority
    ///    at any level for falsification and the like (弄虚作假等).
    FalsificationPenalty,
    /// 5. Being on a serious-dishonesty list (严重失信名单) under the Zhejiang inspection-body
    ///    regulations or the Zhejiang enterprise environmental credit measures.
    SeriousDishonestyList,
}

impl Art11Ground {
    /// All grounds, in the order of the measures.
    pub const ALL: [Art11Ground; 5] = [
        Art11Ground::RefusedToParticipate,
        Art11Ground::FalseInformation,
        Art11Ground::DeceptionOrBribery,
        Art11Ground::FalsificationPenalty,
        Art11Ground::SeriousDishonestyList,
    ];

    /// The ground's number in Art. 11, 1 to 5.
    pub const fn number(self) -> u8 {
        match self {
            Art11Ground::RefusedToParticipate => 1,
            Art11Ground::FalseInformation => 2,
            Art11Ground::DeceptionOrBribery => 3,
            Art11Ground::FalsificationPenalty => 4,
            Art11Ground::SeriousDishonestyList => 5,
        }
    }

    /// The ground with number `n` in Art. 11, or `None` unless `n` is 1 to 5.
    pub const fn from_number(n: u8) -> Option<Art11Ground> {
        match n {
            1 => Some(Art11Ground::RefusedToParticipate),
            2 => Some(Art11Ground::FalseInformation),
            3 => Some(Art11Ground::DeceptionOrBribery),
            4 => Some(Art11Ground::FalsificationPenalty),
            5 => Some(Art11Ground::SeriousDishonestyList),
            _ => None,
        }
    }

    /// Short public description in Chinese, after the measures' wording.
    pub const fn summary_zh(self) -> &'static str {
        match self {
            Art11Ground::RefusedToParticipate => "无故不参与生态环境部门组织开展的环境信用评价",
            Art11Ground::FalseInformation => {
                "平台登记、备案、更新和上传的信息严重失实、重大遗漏且拒不整改"
            }
            Art11Ground::DeceptionOrBribery => {
                "以欺骗、贿赂等不正当手段取得环境信用等级评价或能力评估"
            }
            Art11Ground::FalsificationPenalty => {
                "因弄虚作假等行为受到生态环境部门或市场监管部门行政处罚"
            }
            Art11Ground::SeriousDishonestyList => "被有关部门列入严重失信名单",
        }
    }

    /// Short public description in English.
    pub const fn summary_en(self) -> &'static str {
        match self {
            Art11Ground::RefusedToParticipate => {
                "refused without cause to take part in the credit evaluation"
            }
            Art11Ground::FalseInformation => {
                "seriously false or materially incomplete platform information, not corrected \
                 when required"
            }
            Art11Ground::DeceptionOrBribery => {
                "obtained a credit grade or capability assessment by deception or bribery"
            }
            Art11Ground::FalsificationPenalty => {
                "administrative penalty from an ecology-environment or market-supervision \
                 authority for falsification or the like"
            }
            Art11Ground::SeriousDishonestyList => {
                "on a serious-dishonesty list under the Zhejiang inspection-body regulations or \
                 enterprise environmental credit measures"
            }
        }
    }
}

/// Whether a grade and risk level are what Art. 11 requires (grade E and high risk).
pub const fn is_art11_outcome(grade: Grade, risk: RiskLevel) -> bool {
    matches!((grade, risk), (Grade::E, RiskLevel::High))
}

impl fmt::Display for Art11Ground {
    /// "Art. 11(n)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Art. 11({})", self.number())
    }
}

impl Serialize for Art11Ground {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for Art11Ground {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GroundVisitor;

        const EXPECTING: &str = "an Art. 11 ground: an integer from 1 to 5";

        fn out_of_range<E: serde::de::Error>(found: impl fmt::Display) -> E {
            E::custom(format_args!(
                "Art. 11 ground must be an integer from 1 to 5, found {found}"
            ))
        }

        impl serde::de::Visitor<'_> for GroundVisitor {
            type Value = Art11Ground;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTING)
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Art11Ground, E> {
                u8::try_from(v)
                    .ok()
                    .and_then(Art11Ground::from_number)
                    .ok_or_else(|| out_of_range(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Art11Ground, E> {
                u8::try_from(v)
                    .ok()
                    .and_then(Art11Ground::from_number)
                    .ok_or_else(|| out_of_range(v))
            }
        }

        deserializer.deserialize_u8(GroundVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn consequences_are_e_and_high() {
        assert_eq!(ART11_GRADE, Grade::E);
        assert_eq!(ART11_RISK, RiskLevel::High);
        assert!(is_art11_outcome(ART11_GRADE, ART11_RISK));
        for g in Grade::ALL {
            for r in RiskLevel::ALL {
                assert_eq!(
                    is_art11_outcome(g, r),
                    g == Grade::E && r == RiskLevel::High
                );
            }
        }
    }

    #[test]
    fn numbers_round_trip() {
        for (i, ground) in Art11Ground::ALL.into_iter().enumerate() {
            let n = u8::try_from(i + 1).unwrap();
            assert_eq!(ground.number(), n);
            assert_eq!(Art11Ground::from_number(n), Some(ground));
            assert_eq!(ground.to_string(), format!("Art. 11({n})"));
        }
        for n in [0u8, 6, 7, 255] {
            assert_eq!(Art11Ground::from_number(n), None);
        }
    }

    #[test]
    fn summaries_are_present_and_distinct() {
        let zh: std::collections::HashSet<_> =
            Art11Ground::ALL.iter().map(|g| g.summary_zh()).collect();
        let en: std::collections::HashSet<_> =
            Art11Ground::ALL.iter().map(|g| g.summary_en()).collect();
        assert_eq!(zh.len(), 5);
        assert_eq!(en.len(), 5);
        assert!(Art11Ground::FalsificationPenalty
            .summary_zh()
            .contains("弄虚作假"));
        assert!(Art11Ground::SeriousDishonestyList
            .summary_zh()
            .contains("严重失信名单"));
        assert!(Art11Ground::RefusedToParticipate
            .summary_en()
            .contains("refused"));
        for g in Art11Ground::ALL {
            assert!(!g.summary_en().contains("  "), "{g}");
        }
    }

    #[test]
    fn serde_is_the_number() {
        for g in Art11Ground::ALL {
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, g.number().to_string());
            assert_eq!(serde_json::from_str::<Art11Ground>(&json).unwrap(), g);
        }
    }

    #[test]
    fn serde_rejects_other_values() {
        for bad in ["0", "6", "-1", "256", "18446744073709551615"] {
            let err = serde_json::from_str::<Art11Ground>(bad).unwrap_err();
            assert!(
                err.to_string().contains(&format!(
                    "Art. 11 ground must be an integer from 1 to 5, found {bad}"
                )),
                "{bad}: {err}"
            );
        }
        for bad in ["\"1\"", "1.0", "null", "true"] {
            let err = serde_json::from_str::<Art11Ground>(bad).unwrap_err();
            assert!(
                err.to_string().contains("an integer from 1 to 5"),
                "{bad}: {err}"
            );
        }
    }
}
