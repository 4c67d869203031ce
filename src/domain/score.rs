//! Scores, credit grades (Art. 10, first paragraph) and risk levels (Art. 10, second paragraph).
//!
//! Scores are integers in hundredths of a point, so band boundaries are exact (no floats).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A score in hundredths of a point: `Score(8999)` is 89.99 points.
///
/// Serialized as the integer number of hundredths. Any value is a score: a category score may
/// be negative (e.g. local deductions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Score(pub i64);

impl Score {
    /// Zero points.
    pub const ZERO: Score = Score(0);

    /// A score of `hundredths` hundredths of a point.
    pub const fn from_hundredths(hundredths: i64) -> Score {
        Score(hundredths)
    }

    /// A score of whole `points`, or `None` if that overflows.
    pub const fn from_points(points: i64) -> Option<Score> {
        match points.checked_mul(100) {
            Some(h) => Some(Score(h)),
            None => None,
        }
    }

    /// The score in hundredths of a point.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// The sum of two scores, or `None` on overflow.
    pub const fn checked_add(self, other: Score) -> Option<Score> {
        match self.0.checked_add(other.0) {
            Some(h) => Some(Score(h)),
            None => None,
        }
    }

    /// The sum of scores (e.g. the six category scores that make up a basic score),
    /// or `None` on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Score>>(scores: I) -> Option<Score> {
        scores
            .into_iter()
            .try_fold(Score::ZERO, |acc, s| acc.checked_add(s))
    }
}

impl fmt::Display for Score {
    /// Points with exactly two decimals: "89.99", "90.00", "-5.50".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // unsigned_abs so that i64::MIN does not overflow.
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Why a text is not a score in points.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{found}' is not a score: expected points with at most two decimals, e.g. 89.99 or -5.5")]
pub struct ScoreParseError {
    /// The text that was given.
    pub found: String,
}

impl FromStr for Score {
    type Err = ScoreParseError;

    /// Parses points with at most two decimals ("89.99", "90", "-5.5"); the inverse of
    /// `Display`. No exponent, no thousands separators, no surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ScoreParseError {
            found: s.to_owned(),
        };
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty()
            || !digits(int_part)
            || !digits(frac_part)
            || frac_part.len() > 2
            || (body.contains('.') && frac_part.is_empty())
        {
            return Err(err());
        }
        let int: i64 = int_part.parse().map_err(|_| err())?;
        let frac: i64 = match frac_part.len() {
            0 => 0,
            1 => frac_part.parse::<i64>().map_err(|_| err())? * 10,
            _ => frac_part.parse().map_err(|_| err())?,
        };
        // Build the negative value directly so that i64::MIN hundredths is reachable.
        let magnitude = int.checked_mul(100).ok_or_else(err)?;
        let h = if negative {
            magnitude
                .checked_neg()
                .and_then(|m| m.checked_sub(frac))
                .ok_or_else(err)?
        } else {
            magnitude.checked_add(frac).ok_or_else(err)?
        };
        Ok(Score(h))
    }
}

/// Colour in which a grade is shown (Art. 10).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// 绿色, grade A.
    Green,
    /// 蓝色, grade B.
    Blue,
    /// 黄色, grade C.
    Yellow,
    /// 红色, grade D.
    Red,
    /// 黑色, grade E.
    Black,
}

impl Colour {
    /// All colours, from grade A to grade E.
    pub const ALL: [Colour; 5] = [
        Colour::Green,
        Colour::Blue,
        Colour::Yellow,
        Colour::Red,
        Colour::Black,
    ];

    /// English name, lowercase: "green", "blue", "yellow", "red", "black".
    pub const fn name_en(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
            Colour::Black => "black",
        }
    }

    /// Chinese name as in the measures: 绿色, 蓝色, 黄色, 红色, 黑色.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Colour::Green => "绿色",
            Colour::Blue => "蓝色",
            Colour::Yellow => "黄色",
            Colour::Red => "红色",
            Colour::Black => "黑色",
        }
    }

    /// Background colour ("#rrggbb") for showing a grade; with [`Colour::text_hex`] as the text
    /// colour the contrast meets WCAG 2 AA for normal text (at least 4.5:1).
    pub const fn hex(self) -> &'static str {
        match self {
            Colour::Green => "#1b7f3b",
            Colour::Blue => "#1f5fbf",
            Colour::Yellow => "#f2c200",
            Colour::Red => "#c62828",
            Colour::Black => "#111111",
        }
    }

    /// Text colour ("#rrggbb") to use on [`Colour::hex`]: black on yellow, white on the others.
    pub const fn text_hex(self) -> &'static str {
        match self {
            Colour::Yellow => "#000000",
            Colour::Green | Colour::Blue | Colour::Red | Colour::Black => "#ffffff",
        }
    }
}

/// Error for a text that names no grade or risk level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{found}' is not a {what}: expected one of {expected}")]
pub struct LevelParseError {
    /// What was being parsed ("grade" or "risk level").
    pub what: &'static str,
    /// The accepted values, comma separated.
    pub expected: &'static str,
    /// The text that was given.
    pub found: String,
}

/// Basic credit grade (基础信用评价等级, Art. 10): A (best) to E (worst).
///
/// Serialized as the letter "A" to "E".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub enum Grade {
    /// 优秀 excellent: 90 points or more; green.
    A,
    /// 良好 good: 80 to below 90 points; blue.
    B,
    /// 中等 medium: 70 to below 80 points; yellow.
    C,
    /// 较差 poor: 60 to below 70 points; red.
    D,
    /// 差 bad: below 60 points; black.
    E,
}

impl Grade {
    /// All grades, best first.
    pub const ALL: [Grade; 5] = [Grade::A, Grade::B, Grade::C, Grade::D, Grade::E];

    /// The grade a basic score gives: ≥ 90 A, 80 ≤ s < 90 B, 70 ≤ s < 80 C, 60 ≤ s < 70 D,
    /// < 60 E (each band includes its lower bound).
    pub const fn from_basic_score(score: Score) -> Grade {
        match score.0 {
            9000.. => Grade::A,
            8000..=8999 => Grade::B,
            7000..=7999 => Grade::C,
            6000..=6999 => Grade::D,
            _ => Grade::E,
        }
    }

    /// Lowest basic score of this grade (inclusive); `None` for E, which has no lower bound.
    pub const fn min_score(self) -> Option<Score> {
        match self {
            Grade::A => Some(Score(9000)),
            Grade::B => Some(Score(8000)),
            Grade::C => Some(Score(7000)),
            Grade::D => Some(Score(6000)),
            Grade::E => None,
        }
    }

    /// Basic score from which the next better grade starts (exclusive upper bound of this
    /// grade); `None` for A, which has no upper bound.
    pub const fn max_score_exclusive(self) -> Option<Score> {
        match self {
            Grade::A => None,
            Grade::B => Some(Score(9000)),
            Grade::C => Some(Score(8000)),
            Grade::D => Some(Score(7000)),
            Grade::E => Some(Score(6000)),
        }
    }

    /// The colour in which the grade is shown (Art. 10).
    pub const fn colour(self) -> Colour {
        match self {
            Grade::A => Colour::Green,
            Grade::B => Colour::Blue,
            Grade::C => Colour::Yellow,
            Grade::D => Colour::Red,
            Grade::E => Colour::Black,
        }
    }

    /// The grade's letter, 'A' to 'E'.
    pub const fn letter(self) -> char {
        match self {
            Grade::A => 'A',
            Grade::B => 'B',
            Grade::C => 'C',
            Grade::D => 'D',
            Grade::E => 'E',
        }
    }

    /// The grade's word in the measures: 优秀, 良好, 中等, 较差, 差.
    pub const fn word_zh(self) -> &'static str {
        match self {
            Grade::A => "优秀",
            Grade::B => "良好",
            Grade::C => "中等",
            Grade::D => "较差",
            Grade::E => "差",
        }
    }

    /// The grade's word in English: excellent, good, medium, poor, bad.
    pub const fn word_en(self) -> &'static str {
        match self {
            Grade::A => "excellent",
            Grade::B => "good",
            Grade::C => "medium",
            Grade::D => "poor",
            Grade::E => "bad",
        }
    }
}

impl fmt::Display for Grade {
    /// The letter, "A" to "E".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl FromStr for Grade {
    type Err = LevelParseError;

    /// Parses the letter "A" to "E" (uppercase only, as serialized).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "A" => Ok(Grade::A),
            "B" => Ok(Grade::B),
            "C" => Ok(Grade::C),
            "D" => Ok(Grade::D),
            "E" => Ok(Grade::E),
            _ => Err(LevelParseError {
                what: "grade",
                expected: "A, B, C, D, E",
                found: s.to_owned(),
            }),
        }
    }
}

/// Credit risk level (信用风险等级, Art. 10 second paragraph).
///
/// Serialized as "low", "medium", "high".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// 低风险: risk score 80 or more.
    Low,
    /// 中风险: risk score 60 to below 80.
    Medium,
    /// 高风险: risk score below 60.
    High,
}

impl RiskLevel {
    /// All levels, lowest risk first.
    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];

    /// The level a risk score gives: ≥ 80 low, 60 ≤ s < 80 medium, < 60 high
    /// (each band includes its lower bound).
    pub const fn from_risk_score(score: Score) -> RiskLevel {
        match score.0 {
            8000.. => RiskLevel::Low,
            6000..=7999 => RiskLevel::Medium,
            _ => RiskLevel::High,
        }
    }

    /// Lowest risk score of this level (inclusive); `None` for high, which has no lower bound.
    pub const fn min_score(self) -> Option<Score> {
        match self {
            RiskLevel::Low => Some(Score(8000)),
            RiskLevel::Medium => Some(Score(6000)),
            RiskLevel::High => None,
        }
    }

    /// Risk score from which the next lower-risk level starts (exclusive upper bound of this
    /// level); `None` for low, which has no upper bound.
    pub const fn max_score_exclusive(self) -> Option<Score> {
        match self {
            RiskLevel::Low => None,
            RiskLevel::Medium => Some(Score(8000)),
            RiskLevel::High => Some(Score(6000)),
        }
    }

    /// Stable identifier, as serialized: "low", "medium", "high".
    pub const fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    /// The level's words in the measures: 低风险, 中风险, 高风险.
    pub const fn word_zh(self) -> &'static str {
        match self {
            RiskLevel::Low => "低风险",
            RiskLevel::Medium => "中风险",
            RiskLevel::High => "高风险",
        }
    }

    /// The level's words in English: low risk, medium risk, high risk.
    pub const fn word_en(self) -> &'static str {
        match self {
            RiskLevel::Low => "low risk",
            RiskLevel::Medium => "medium risk",
            RiskLevel::High => "high risk",
        }
    }
}

impl fmt::Display for RiskLevel {
    /// The identifier, "low", "medium" or "high".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RiskLevel {
    type Err = LevelParseError;

    /// Parses "low", "medium" or "high" (lowercase only, as serialized).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(RiskLevel::Low),
            "medium" => Ok(RiskLevel::Medium),
            "high" => Ok(RiskLevel::High),
            _ => Err(LevelParseError {
                what: "risk level",
                expected: "low, medium, high",
                found: s.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn score_display() {
        let cases = [
            (8999, "89.99"),
            (9000, "90.00"),
            (-550, "-5.50"),
            (-5, "-0.05"),
            (0, "0.00"),
            (1, "0.01"),
            (10, "0.10"),
            (10000, "100.00"),
            (i64::MAX, "92233720368547758.07"),
            (i64::MIN, "-92233720368547758.08"),
        ];
        for (h, s) in cases {
            assert_eq!(Score::from_hundredths(h).to_string(), s);
            assert_eq!(Score::from_hundredths(h).hundredths(), h);
            assert_eq!(s.parse::<Score>().unwrap(), Score(h), "{s}");
        }
    }

    #[test]
    fn score_parse() {
        assert_eq!("90".parse::<Score>().unwrap(), Score(9000));
        assert_eq!("89.9".parse::<Score>().unwrap(), Score(8990));
        assert_eq!("-5.5".parse::<Score>().unwrap(), Score(-550));
        assert_eq!("+1.25".parse::<Score>().unwrap(), Score(125));
        assert_eq!("-0".parse::<Score>().unwrap(), Score(0));
        for bad in [
            "",
            "-",
            ".5",
            "5.",
            "1.234",
            "1e2",
            " 1",
            "1 ",
            "1,5",
            "--1",
            "+-1",
            "1.-5",
            "NaN",
            "九十",
            "92233720368547758.08",
            "-92233720368547758.09",
        ] {
            let err = bad.parse::<Score>().unwrap_err();
            assert_eq!(err.found, bad);
            assert!(err.to_string().contains("is not a score"));
        }
    }

    #[test]
    fn score_arithmetic() {
        assert_eq!(Score::from_points(90), Some(Score(9000)));
        assert_eq!(Score::from_points(i64::MAX), None);
        assert_eq!(Score(1).checked_add(Score(-2)), Some(Score(-1)));
        assert_eq!(Score(i64::MAX).checked_add(Score(1)), None);
        let categories = [
            Score(3000),
            Score(2000),
            Score(2500),
            Score(1500),
            Score(500),
            Score(-550),
        ];
        assert_eq!(Score::checked_sum(categories), Some(Score(8950)));
        assert_eq!(Score::checked_sum([]), Some(Score::ZERO));
        assert_eq!(Score::checked_sum([Score(i64::MAX), Score(1)]), None);
    }

    #[test]
    fn score_serde_is_integer_hundredths() {
        assert_eq!(serde_json::to_string(&Score(8999)).unwrap(), "8999");
        assert_eq!(serde_json::from_str::<Score>("-550").unwrap(), Score(-550));
        assert!(serde_json::from_str::<Score>("89.99").is_err());
    }

    #[test]
    fn grade_boundaries() {
        let cases = [
            (i64::MAX, Grade::A),
            (10000, Grade::A),
            (9000, Grade::A),
            (8999, Grade::B),
            (8000, Grade::B),
            (7999, Grade::C),
            (7000, Grade::C),
            (6999, Grade::D),
            (6000, Grade::D),
            (5999, Grade::E),
            (0, Grade::E),
            (-1, Grade::E),
            (-550, Grade::E),
            (i64::MIN, Grade::E),
        ];
        for (h, g) in cases {
            assert_eq!(Grade::from_basic_score(Score(h)), g, "{h}");
        }
    }

    #[test]
    fn grade_bounds_agree_with_from_basic_score() {
        for g in Grade::ALL {
            if let Some(min) = g.min_score() {
                assert_eq!(Grade::from_basic_score(min), g);
                assert_ne!(Grade::from_basic_score(Score(min.0 - 1)), g);
            }
            if let Some(max) = g.max_score_exclusive() {
                assert_ne!(Grade::from_basic_score(max), g);
                assert_eq!(Grade::from_basic_score(Score(max.0 - 1)), g);
            }
        }
    }

    #[test]
    fn grade_words_letters_colours() {
        let expected = [
            (Grade::A, 'A', "优秀", "excellent", Colour::Green),
            (Grade::B, 'B', "良好", "good", Colour::Blue),
            (Grade::C, 'C', "中等", "medium", Colour::Yellow),
            (Grade::D, 'D', "较差", "poor", Colour::Red),
            (Grade::E, 'E', "差", "bad", Colour::Black),
        ];
        assert_eq!(Grade::ALL.len(), expected.len());
        for ((g, letter, zh, en, colour), all) in expected.into_iter().zip(Grade::ALL) {
            assert_eq!(g, all);
            assert_eq!(g.letter(), letter);
            assert_eq!(g.word_zh(), zh);
            assert_eq!(g.word_en(), en);
            assert_eq!(g.colour(), colour);
            assert_eq!(g.to_string(), letter.to_string());
            assert_eq!(letter.to_string().parse::<Grade>().unwrap(), g);
            assert_eq!(serde_json::to_string(&g).unwrap(), format!("\"{letter}\""));
            assert_eq!(
                serde_json::from_str::<Grade>(&format!("\"{letter}\"")).unwrap(),
                g
            );
        }
    }

    #[test]
    fn grade_parse_is_strict() {
        for bad in ["a", "F", "", " A", "AA", "优秀"] {
            let err = bad.parse::<Grade>().unwrap_err();
            assert_eq!(err.found, bad);
            assert!(err.to_string().contains("expected one of A, B, C, D, E"));
        }
        assert!(serde_json::from_str::<Grade>("\"a\"").is_err());
        assert!(serde_json::from_str::<Grade>("\"F\"").is_err());
    }

    #[test]
    fn colour_names_and_serde() {
        let expected = [
            (Colour::Green, "green", "绿色"),
            (Colour::Blue, "blue", "蓝色"),
            (Colour::Yellow, "yellow", "黄色"),
            (Colour::Red, "red", "红色"),
            (Colour::Black, "black", "黑色"),
        ];
        for (c, en, zh) in expected {
            assert_eq!(c.name_en(), en);
            assert_eq!(c.name_zh(), zh);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{en}\""));
            assert_eq!(
                serde_json::from_str::<Colour>(&format!("\"{en}\"")).unwrap(),
                c
            );
        }
        assert_eq!(
            Colour::ALL.to_vec(),
            Grade::ALL.iter().map(|g| g.colour()).collect::<Vec<_>>()
        );
    }

    /// WCAG 2 relative luminance of "#rrggbb".
    fn luminance(hex: &str) -> f64 {
        assert_eq!(hex.len(), 7);
        assert!(hex.starts_with('#'));
        let channel = |i: usize| {
            let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
        (hi + 0.05) / (lo + 0.05)
    }

    #[test]
    fn colour_contrast_meets_wcag_aa() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
        for c in Colour::ALL {
            let ratio = contrast(c.hex(), c.text_hex());
            assert!(ratio >= 4.5, "{c:?}: {ratio}");
        }
    }

    #[test]
    fn colours_are_distinct() {
        let hexes: std::collections::HashSet<_> = Colour::ALL.iter().map(|c| c.hex()).collect();
        assert_eq!(hexes.len(), 5);
    }

    #[test]
    fn risk_boundaries() {
        let cases = [
            (i64::MAX, RiskLevel::Low),
            (10000, RiskLevel::Low),
            (8000, RiskLevel::Low),
            (7999, RiskLevel::Medium),
            (6000, RiskLevel::Medium),
            (5999, RiskLevel::High),
            (0, RiskLevel::High),
            (-1, RiskLevel::High),
            (i64::MIN, RiskLevel::High),
        ];
        for (h, r) in cases {
            assert_eq!(RiskLevel::from_risk_score(Score(h)), r, "{h}");
        }
        for r in RiskLevel::ALL {
            if let Some(min) = r.min_score() {
                assert_eq!(RiskLevel::from_risk_score(min), r);
                assert_ne!(RiskLevel::from_risk_score(Score(min.0 - 1)), r);
            }
            if let Some(max) = r.max_score_exclusive() {
                assert_ne!(RiskLevel::from_risk_score(max), r);
                assert_eq!(RiskLevel::from_risk_score(Score(max.0 - 1)), r);
            }
        }
    }

    #[test]
    fn risk_words_and_serde() {
        let expected = [
            (RiskLevel::Low, "low", "低风险", "low risk"),
            (RiskLevel::Medium, "medium", "中风险", "medium risk"),
            (RiskLevel::High, "high", "高风险", "high risk"),
        ];
        assert_eq!(RiskLevel::ALL.len(), expected.len());
        for ((r, id, zh, en), all) in expected.into_iter().zip(RiskLevel::ALL) {
            assert_eq!(r, all);
            assert_eq!(r.word_zh(), zh);
            assert_eq!(r.word_en(), en);
            assert_eq!(r.as_str(), id);
            assert_eq!(r.to_string(), id);
            assert_eq!(id.parse::<RiskLevel>().unwrap(), r);
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{id}\""));
            assert_eq!(
                serde_json::from_str::<RiskLevel>(&format!("\"{id}\"")).unwrap(),
                r
            );
        }
        for bad in ["Low", "HIGH", "low risk", ""] {
            let err = bad.parse::<RiskLevel>().unwrap_err();
            assert!(err
                .to_string()
                .contains("expected one of low, medium, high"));
        }
        assert!(serde_json::from_str::<RiskLevel>("\"Low\"").is_err());
    }
}
