//! What a result is used for (Art. 19, 20): procurement flags, inspection tiers and joint
//! punishment.
//!
//! These functions map a grade and risk level to a consequence and nothing more. Which grade
//! counts is decided elsewhere: only a final, currently valid grade (see
//! [`super::validity`]) gives a consequence; results in publicity never do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::score::{Grade, RiskLevel};

/// Procurement flag (Art. 19): bid bonus (招标加分), bid penalty (招标扣分) or neither.
///
/// Serialized as "bonus", "penalty", "none".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BidFlag {
    /// Grade A or B with low risk: bid bonus and priority in commendations are encouraged (鼓励).
    Bonus,
    /// Grade D or E with high risk: bid penalty and closer supervision are required (应).
    Penalty,
    /// Neither applies.
    None,
}

impl BidFlag {
    /// All flags.
    pub const ALL: [BidFlag; 3] = [BidFlag::Bonus, BidFlag::Penalty, BidFlag::None];

    /// Stable identifier, as serialized: "bonus", "penalty", "none".
    pub const fn as_str(self) -> &'static str {
        match self {
            BidFlag::Bonus => "bonus",
            BidFlag::Penalty => "penalty",
            BidFlag::None => "none",
        }
    }

    /// The rule behind the flag in Chinese, naming the article and its force (鼓励 or 应).
    pub const fn rule_zh(self) -> &'static str {
        match self {
            BidFlag::Bonus => {
                "第十九条：A级、B级并低风险，鼓励将其列入招标加分项内容，\
                 在有关表彰或奖励活动中给予优先（鼓励）"
            }
            BidFlag::Penalty => {
                "第十九条：D级、E级并高风险，应将其列入招标扣分项内容，\
                 加大监管力度，增加抽查频次（应）"
            }
            BidFlag::None => {
                "第十九条：既不适用招标加分（A级、B级并低风险），\
                 也不适用招标扣分（D级、E级并高风险）"
            }
        }
    }

    /// The rule behind the flag in English, naming the article and its force.
    pub const fn rule_en(self) -> &'static str {
        match self {
            BidFlag::Bonus => {
                "Art. 19: grade A or B with low risk — bid bonus and priority in commendations \
                 are encouraged (鼓励)"
            }
            BidFlag::Penalty => {
                "Art. 19: grade D or E with high risk — bid penalty and closer supervision are \
                 required (应)"
            }
            BidFlag::None => {
                "Art. 19: neither a bid bonus (grade A or B with low risk) nor a bid penalty \
                 (grade D or E with high risk) applies"
            }
        }
    }
}

/// Whether the grade is A or B and the risk low.
const fn is_good(grade: Grade, risk: RiskLevel) -> bool {
    matches!((grade, risk), (Grade::A | Grade::B, RiskLevel::Low))
}

/// Whether the grade is D or E and the risk high.
const fn is_bad(grade: Grade, risk: RiskLevel) -> bool {
    matches!((grade, risk), (Grade::D | Grade::E, RiskLevel::High))
}

/// The procurement flag of a final, valid grade and risk level (Art. 19): A or B with low
/// risk gives [`BidFlag::Bonus`], D or E with high risk [`BidFlag::Penalty`], all else
/// [`BidFlag::None`].
pub const fn bid_flag(grade: Grade, risk: RiskLevel) -> BidFlag {
    if is_good(grade, risk) {
        BidFlag::Bonus
    } else if is_bad(grade, risk) {
        BidFlag::Penalty
    } else {
        BidFlag::None
    }
}

/// Frequency tier of double-random inspections (双随机抽查, Art. 19 first paragraph).
///
/// Serialized as "reduced", "normal", "increased".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InspectionTier {
    /// Fewer inspections (可减少抽查频次), for good credit.
    Reduced,
    /// Ordinary frequency.
    Normal,
    /// More inspections (应增加抽查频次), for bad credit.
    Increased,
}

impl InspectionTier {
    /// All tiers.
    pub const ALL: [InspectionTier; 3] = [
        InspectionTier::Reduced,
        InspectionTier::Normal,
        InspectionTier::Increased,
    ];

    /// Stable identifier, as serialized: "reduced", "normal", "increased".
    pub const fn as_str(self) -> &'static str {
        match self {
            InspectionTier::Reduced => "reduced",
            InspectionTier::Normal => "normal",
            InspectionTier::Increased => "increased",
        }
    }

    /// Chinese description.
    pub const fn word_zh(self) -> &'static str {
        match self {
            InspectionTier::Reduced => "减少抽查频次",
            InspectionTier::Normal => "正常抽查频次",
            InspectionTier::Increased => "增加抽查频次",
        }
    }

    /// English description.
    pub const fn word_en(self) -> &'static str {
        match self {
            InspectionTier::Reduced => "fewer inspections",
            InspectionTier::Normal => "normal inspections",
            InspectionTier::Increased => "more inspections",
        }
    }
}

/// Inspection tier of a final, valid grade and risk level.
///
/// Inferred by the registry: Art. 19 says only that good credit may get fewer inspections and
/// bad credit must get more. The registry reads "good" and "bad" as in the procurement
/// paragraphs: A or B with low risk is [`InspectionTier::Reduced`], D or E with high risk
/// [`InspectionTier::Increased`], all else [`InspectionTier::Normal`].
pub const fn inspection_tier(grade: Grade, risk: RiskLevel) -> InspectionTier {
    if is_good(grade, risk) {
        InspectionTier::Reduced
    } else if is_bad(grade, risk) {
        InspectionTier::Increased
    } else {
        InspectionTier::Normal
    }
}

/// Whether a final, valid result is shared for joint punishment (联合惩戒, Art. 20).
///
/// Inferred by the registry: D or E with high risk, the results Art. 19 sanctions. The
/// serious-dishonesty list is shared as well, separately from results.
pub const fn joint_punishment_result(grade: Grade, risk: RiskLevel) -> bool {
    is_bad(grade, risk)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// (grade, risk, flag, tier, joint punishment) for all 15 combinations.
    const TABLE: [(Grade, RiskLevel, BidFlag, InspectionTier, bool); 15] = {
        use Grade::*;
        use InspectionTier::{Increased, Normal, Reduced};
        use RiskLevel::{High, Low, Medium};
        [
            (A, Low, BidFlag::Bonus, Reduced, false),
            (A, Medium, BidFlag::None, Normal, false),
            (A, High, BidFlag::None, Normal, false),
            (B, Low, BidFlag::Bonus, Reduced, false),
            (B, Medium, BidFlag::None, Normal, false),
            (B, High, BidFlag::None, Normal, false),
            (C, Low, BidFlag::None, Normal, false),
            (C, Medium, BidFlag::None, Normal, false),
            (C, High, BidFlag::None, Normal, false),
            (D, Low, BidFlag::None, Normal, false),
            (D, Medium, BidFlag::None, Normal, false),
            (D, High, BidFlag::Penalty, Increased, true),
            (E, Low, BidFlag::None, Normal, false),
            (E, Medium, BidFlag::None, Normal, false),
            (E, High, BidFlag::Penalty, Increased, true),
        ]
    };

    #[test]
    fn all_fifteen_combinations() {
        let mut covered = std::collections::HashSet::new();
        for (grade, risk, flag, tier, joint) in TABLE {
            assert_eq!(bid_flag(grade, risk), flag, "{grade} {risk}");
            assert_eq!(inspection_tier(grade, risk), tier, "{grade} {risk}");
            assert_eq!(
                joint_punishment_result(grade, risk),
                joint,
                "{grade} {risk}"
            );
            covered.insert((grade, risk));
        }
        for grade in Grade::ALL {
            for risk in RiskLevel::ALL {
                assert!(covered.contains(&(grade, risk)), "{grade} {risk}");
            }
        }
    }

    #[test]
    fn art11_outcome_is_penalised() {
        use crate::domain::art11::{ART11_GRADE, ART11_RISK};
        assert_eq!(bid_flag(ART11_GRADE, ART11_RISK), BidFlag::Penalty);
        assert_eq!(
            inspection_tier(ART11_GRADE, ART11_RISK),
            InspectionTier::Increased
        );
        assert!(joint_punishment_result(ART11_GRADE, ART11_RISK));
    }

    #[test]
    fn rule_texts_name_article_and_force() {
        assert!(BidFlag::Bonus.rule_zh().contains("鼓励"));
        assert!(BidFlag::Bonus.rule_en().contains("encouraged (鼓励)"));
        assert!(BidFlag::Penalty.rule_zh().contains("应"));
        assert!(BidFlag::Penalty.rule_en().contains("required (应)"));
        assert!(!BidFlag::Penalty.rule_en().contains("鼓励"));
        assert!(!BidFlag::Bonus.rule_en().contains("应"));
        assert!(BidFlag::None.rule_en().contains("neither"));
        assert_eq!(
            BidFlag::Bonus.rule_en(),
            "Art. 19: grade A or B with low risk — bid bonus and priority in commendations are \
             encouraged (鼓励)"
        );
        for flag in BidFlag::ALL {
            assert!(flag.rule_en().starts_with("Art. 19: "));
            assert!(flag.rule_zh().starts_with("第十九条："));
            assert!(!flag.rule_en().contains("  "));
        }
    }

    #[test]
    fn serde_snake_case() {
        for flag in BidFlag::ALL {
            let json = serde_json::to_string(&flag).unwrap();
            assert_eq!(json, format!("\"{}\"", flag.as_str()));
            assert_eq!(serde_json::from_str::<BidFlag>(&json).unwrap(), flag);
        }
        for tier in InspectionTier::ALL {
            let json = serde_json::to_string(&tier).unwrap();
            assert_eq!(json, format!("\"{}\"", tier.as_str()));
            assert_eq!(serde_json::from_str::<InspectionTier>(&json).unwrap(), tier);
            assert!(!tier.word_zh().is_empty());
            assert!(!tier.word_en().is_empty());
        }
        assert!(serde_json::from_str::<BidFlag>("\"None\"").is_err());
        assert!(serde_json::from_str::<BidFlag>("null").is_err());
    }
}
