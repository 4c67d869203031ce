//! Unified social credit codes (统一社会信用代码, GB 32100-2015).
//!
//! A code is 18 characters from a 31-character set; characters 3–8 are the administrative
//! division where the holder registered and character 18 is a check character. A code whose
//! check fails is not a code anywhere in the registry (import or query), so [`CreditCode`] can
//! only be built through [`CreditCode::parse`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The code's character set, in value order: a character's value is its index here.
/// I, O, S, V and Z are left out (GB 32100-2015) so they cannot be confused with 1, 0, 5, U and 2.
pub const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Number of characters in a unified social credit code.
pub const CODE_LENGTH: usize = 18;

/// Weights of characters 1–17 in the check-character sum (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// 1-based positions of the administrative division code.
const DIVISION_POSITIONS: std::ops::RangeInclusive<usize> = 3..=8;

/// Why a text is not a valid unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The text does not have exactly 18 characters (counted as characters, not bytes).
    #[error("a unified social credit code has 18 characters, found {found}")]
    Length {
        /// Number of characters found.
        found: usize,
    },
    /// The text given to [`check_character`] does not have exactly 17 characters.
    #[error(
        "the check character is computed from the first 17 characters of a code, found {found}"
    )]
    PrefixLength {
        /// Number of characters found.
        found: usize,
    },
    /// A character outside the code's character set (this includes lowercase letters).
    #[error(
        "character {position} '{}' is not allowed in a unified social credit code \
         (allowed: digits 0-9 and the capital letters ABCDEFGHJKLMNPQRTUWXY; never I, O, S, V or Z)",
        super::text::escape(&.found.to_string())
    )]
    InvalidCharacter {
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
    },
    /// A letter among characters 3–8, which are the administrative division code.
    #[error(
        "character {position} '{}' must be a digit: characters 3 to 8 are the \
         administrative division code",
        super::text::escape(&.found.to_string())
    )]
    DivisionNotDigits {
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
    },
    /// The 18th character does not match the check computed from the first 17.
    #[error(
        "check character is '{}' but should be '{expected}'",
        super::text::escape(&.found.to_string())
    )]
    CheckCharacter {
        /// The check character computed from characters 1–17.
        expected: char,
        /// The 18th character found.
        found: char,
    },
}

impl CodeError {
    /// A stable snake_case identifier of the reason, for API error bodies and logs.
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Length { .. } => "length",
            CodeError::PrefixLength { .. } => "prefix_length",
            CodeError::InvalidCharacter { .. } => "invalid_character",
            CodeError::DivisionNotDigits { .. } => "division_not_digits",
            CodeError::CheckCharacter { .. } => "check_character",
        }
    }
}

/// Value of a character in [`CHARSET`], or `None` if it is not in the set.
fn char_value(c: char) -> Option<u32> {
    // The set is ASCII, so the byte index is the value.
    CHARSET.find(c).and_then(|i| u32::try_from(i).ok())
}

/// Character of a value in [`CHARSET`].
fn value_char(v: u32) -> Option<char> {
    CHARSET.chars().nth(usize::try_from(v).ok()?)
}

/// Checks the character set and the division digits of `chars`, reporting the first fault.
fn check_chars(chars: &[char]) -> Result<(), CodeError> {
    // All characters are checked against the set first, so a forbidden letter is reported as
    // such even where a digit is also required.
    for (i, &c) in chars.iter().enumerate() {
        if char_value(c).is_none() {
            return Err(CodeError::InvalidCharacter {
                position: i + 1,
                found: c,
            });
        }
    }
    for (i, &c) in chars.iter().enumerate() {
        if DIVISION_POSITIONS.contains(&(i + 1)) && !c.is_ascii_digit() {
            return Err(CodeError::DivisionNotDigits {
                position: i + 1,
                found: c,
            });
        }
    }
    Ok(())
}

/// Check character of the 17 characters in `chars`, which must already be in the set.
fn compute_check(chars: &[char]) -> Result<char, CodeError> {
    let mut sum: u32 = 0;
    for (i, (&c, &w)) in chars.iter().zip(WEIGHTS.iter()).enumerate() {
        let v = char_value(c).ok_or(CodeError::InvalidCharacter {
            position: i + 1,
            found: c,
        })?;
        // At most 17 · 30 · 30, far below u32::MAX.
        sum += v * w;
    }
    let c = (31 - sum % 31) % 31;
    // c < 31 always, so this lookup cannot fail; the fallback is unreachable.
    Ok(value_char(c).unwrap_or('0'))
}

/// Computes the check character (character 18) of a code from its first 17 characters.
///
/// The 17 characters must be in the code's character set (uppercase) with characters 3–8
/// digits, so that appending the result always gives a code [`CreditCode::parse`] accepts.
pub fn check_character(first17: &str) -> Result<char, CodeError> {
    let chars: Vec<char> = first17.chars().collect();
    if chars.len() != CODE_LENGTH - 1 {
        return Err(CodeError::PrefixLength { found: chars.len() });
    }
    check_chars(&chars)?;
    compute_check(&chars)
}

/// A valid unified social credit code (统一社会信用代码): 18 characters, check character verified.
///
/// Serialized as its 18-character string; deserializing validates strictly (no trimming, no
/// case folding), as [`CreditCode::parse`] does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses a code strictly: exactly 18 characters from the code's set (uppercase only),
    /// characters 3–8 digits, and a correct check character. Faults are reported in that order.
    pub fn parse(s: &str) -> Result<CreditCode, CodeError> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != CODE_LENGTH {
            return Err(CodeError::Length { found: chars.len() });
        }
        check_chars(&chars)?;
        let expected = compute_check(&chars[..CODE_LENGTH - 1])?;
        let found = chars[CODE_LENGTH - 1];
        if expected != found {
            return Err(CodeError::CheckCharacter { expected, found });
        }
        Ok(CreditCode(s.to_owned()))
    }

    /// Parses a code typed by a user: surrounding whitespace is trimmed and ASCII letters are
    /// uppercased first, then the code is checked as strictly as [`CreditCode::parse`] does.
    pub fn normalize_query(s: &str) -> Result<CreditCode, CodeError> {
        CreditCode::parse(&s.trim().to_ascii_uppercase())
    }

    /// The code as an 18-character string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The administrative division code (characters 3–8) where the holder registered.
    ///
    /// This is not the institution's county in the registry: that comes from its record.
    pub fn division_code(&self) -> &str {
        // Parse guarantees 18 ASCII characters, so byte indices are character indices.
        self.0.get(2..8).unwrap_or("")
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = CodeError;

    /// Strict, as [`CreditCode::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl TryFrom<&str> for CreditCode {
    type Error = CodeError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        CreditCode::parse(s)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        CreditCode::parse(&s)
    }
}

impl AsRef<str> for CreditCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}

impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        CreditCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The OpenAPI `format` of a unified social credit code. JSON Schema cannot express the check
/// character (a weighted sum modulo 31), so the description names the standard by this format;
/// the length and the character classes are in [`PATTERN`].
pub const FORMAT: &str = "unified-social-credit-code";

/// A regular expression every valid code matches: 18 characters of [`CHARSET`], characters 3–8
/// digits. A matching code may still have the wrong check character.
pub const PATTERN: &str = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$";

/// The schema of a code in the OpenAPI description: an 18-character string matching [`PATTERN`],
/// of [`FORMAT`] (GB 32100-2015, check character included).
impl utoipa::PartialSchema for CreditCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom(FORMAT.to_string())))
            .min_length(Some(CODE_LENGTH))
            .max_length(Some(CODE_LENGTH))
            .pattern(Some(PATTERN))
            .description(Some(
                "Unified social credit code (GB 32100-2015): 18 characters, the last a check \
                 character over the first 17.",
            ))
            .examples(["91330402MA0000001U"])
            .into()
    }
}

impl utoipa::ToSchema for CreditCode {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Builds a valid code from 17 characters.
    fn complete(first17: &str) -> String {
        let c = check_character(first17).unwrap();
        format!("{first17}{c}")
    }

    #[test]
    fn errors_escape_the_character_they_name() {
        // A control or bidi character in a code must not reach a terminal or a log raw.
        for (text, shown) in [
            ("91\u{1b}30100799655058B", "\\u{1b}"),
            ("9133\u{202e}100799655058B", "\\u{202e}"),
        ] {
            let message = CreditCode::parse(text).unwrap_err().to_string();
            assert!(message.contains(shown), "{message}");
            assert!(
                !message.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{message}"
            );
        }
    }

    #[test]
    fn charset_has_31_distinct_ascii_characters_without_ioszv() {
        assert_eq!(CHARSET.len(), 31);
        assert_eq!(CHARSET.chars().count(), 31);
        let mut seen = std::collections::HashSet::new();
        for c in CHARSET.chars() {
            assert!(c.is_ascii_digit() || c.is_ascii_uppercase());
            assert!(seen.insert(c));
        }
        for c in ['I', 'O', 'S', 'V', 'Z'] {
            assert!(!CHARSET.contains(c));
        }
    }

    /// The description's pattern allows exactly the character set, digits at 3–8 and 18
    /// characters; every code `parse` accepts matches it.
    #[test]
    fn the_pattern_says_what_parse_checks_before_the_check_character() {
        let pattern = regex::Regex::new(PATTERN).unwrap();
        let valid = "91330402MA0000001U";
        assert!(CreditCode::parse(valid).is_ok());
        assert!(pattern.is_match(valid));
        for position in 0..CODE_LENGTH {
            for c in ('0'..='9').chain('A'..='Z').chain(['a', ' ', '-']) {
                let mut chars: Vec<char> = valid.chars().collect();
                chars[position] = c;
                let text: String = chars.iter().collect();
                let allowed = if DIVISION_POSITIONS.contains(&(position + 1)) {
                    c.is_ascii_digit()
                } else {
                    CHARSET.contains(c)
                };
                assert_eq!(pattern.is_match(&text), allowed, "{text}");
                if CreditCode::parse(&text).is_ok() {
                    assert!(pattern.is_match(&text), "{text}");
                }
            }
        }
        assert!(!pattern.is_match(&valid[..17]));
        assert!(!pattern.is_match(&format!("{valid}0")));
    }

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1u32;
        for &expected in &WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn published_codes_verify() {
        // Codes published by well-known companies; the check agrees with this algorithm.
        for code in [
            "914403001922038216", // Huawei Technologies Co., Ltd.
            "91440300708461136T", // Shenzhen Tencent Computer Systems Co., Ltd.
            "91330100799655058B", // Alibaba (China) Co., Ltd.
        ] {
            let parsed = CreditCode::parse(code).unwrap();
            assert_eq!(parsed.as_str(), code);
        }
    }

    #[test]
    fn generated_jiaxing_codes_round_trip() {
        let cases = [
            ("91330402MA2B3C4D5", '3'),
            ("91330411MA28AB12X", '9'),
            ("52330483MA2JJ0001", 'D'),
            ("12330400002494012", 'E'),
            ("91330481MA2CU1234", 'L'),
            ("91330482773131234", 'X'),
            ("91330421MA2BN9876", 'L'),
        ];
        for (first17, check) in cases {
            assert_eq!(check_character(first17).unwrap(), check, "{first17}");
            let full = complete(first17);
            let code = CreditCode::parse(&full).unwrap();
            assert_eq!(code.as_str(), full);
            assert_eq!(code.to_string(), full);
            assert_eq!(full.parse::<CreditCode>().unwrap(), code);
        }
    }

    #[test]
    fn check_value_zero_maps_to_digit_zero() {
        // Find a prefix whose sum is 0 mod 31 (c = 31 → 0): all zeros.
        assert_eq!(check_character("00000000000000000").unwrap(), '0');
        assert!(CreditCode::parse("000000000000000000").is_ok());
    }

    #[test]
    fn every_check_character_value_is_reachable() {
        // Varying character 17 (weight 28, coprime with 31) reaches all 31 check values.
        let mut seen = std::collections::HashSet::new();
        for c in CHARSET.chars() {
            let prefix = format!("9133040200000000{c}");
            let check = check_character(&prefix).unwrap();
            CreditCode::parse(&format!("{prefix}{check}")).unwrap();
            seen.insert(check);
        }
        assert_eq!(seen.len(), 31);
    }

    #[test]
    fn wrong_check_character_is_reported_with_expected() {
        let err = CreditCode::parse("914403001922038217").unwrap_err();
        assert_eq!(
            err,
            CodeError::CheckCharacter {
                expected: '6',
                found: '7'
            }
        );
        assert_eq!(err.code(), "check_character");
        assert_eq!(err.to_string(), "check character is '7' but should be '6'");
    }

    #[test]
    fn every_other_check_character_is_rejected() {
        let prefix = "91330402MA2B3C4D5";
        for c in CHARSET.chars().filter(|&c| c != '3') {
            let err = CreditCode::parse(&format!("{prefix}{c}")).unwrap_err();
            assert_eq!(
                err,
                CodeError::CheckCharacter {
                    expected: '3',
                    found: c
                }
            );
        }
    }

    #[test]
    fn single_character_substitution_is_detected() {
        // The weights are all non-zero mod 31 (a prime), so changing one character
        // always changes the check.
        let code: Vec<char> = "91330402MA2B3C4D53".chars().collect();
        for pos in 0..17 {
            for c in CHARSET.chars() {
                if c == code[pos]
                    || (DIVISION_POSITIONS.contains(&(pos + 1)) && !c.is_ascii_digit())
                {
                    continue;
                }
                let mut changed = code.clone();
                changed[pos] = c;
                let s: String = changed.into_iter().collect();
                assert_eq!(
                    CreditCode::parse(&s).unwrap_err().code(),
                    "check_character",
                    "{s}"
                );
            }
        }
    }

    #[test]
    fn length_errors() {
        let err = CreditCode::parse("91330402MA2B3C4D5").unwrap_err();
        assert_eq!(err, CodeError::Length { found: 17 });
        assert_eq!(err.code(), "length");
        assert_eq!(
            err.to_string(),
            "a unified social credit code has 18 characters, found 17"
        );
        assert_eq!(
            CreditCode::parse("91330402MA2B3C4D530").unwrap_err(),
            CodeError::Length { found: 19 }
        );
        assert_eq!(
            CreditCode::parse("").unwrap_err(),
            CodeError::Length { found: 0 }
        );
    }

    #[test]
    fn multibyte_text_counts_characters_and_does_not_panic() {
        // 18 characters, more than 18 bytes.
        let s = "嘉兴市社会环境监测机构信用评价实施办法";
        assert_eq!(
            CreditCode::parse(s).unwrap_err(),
            CodeError::Length {
                found: s.chars().count()
            }
        );
        let eighteen: String = "嘉".repeat(18);
        assert_eq!(
            CreditCode::parse(&eighteen).unwrap_err(),
            CodeError::InvalidCharacter {
                position: 1,
                found: '嘉'
            }
        );
        // 18 bytes but 6 characters.
        assert_eq!(
            CreditCode::parse("嘉兴市南湖区").unwrap_err(),
            CodeError::Length { found: 6 }
        );
        // Full-width digits are not ASCII digits.
        let fullwidth = "91330402MA2B3C4D5３";
        assert_eq!(
            CreditCode::parse(fullwidth).unwrap_err(),
            CodeError::InvalidCharacter {
                position: 18,
                found: '３'
            }
        );
        assert!(CreditCode::normalize_query(fullwidth).is_err());
        assert!(check_character("嘉兴市社会环境监测机构信用评价实施").is_err());
    }

    #[test]
    fn forbidden_letters_are_invalid_characters() {
        for (pos, bad) in [(5usize, 'I'), (9, 'O'), (10, 'S'), (17, 'V'), (18, 'Z')] {
            let mut chars: Vec<char> = "91330402MA2B3C4D53".chars().collect();
            chars[pos - 1] = bad;
            let s: String = chars.into_iter().collect();
            let err = CreditCode::parse(&s).unwrap_err();
            assert_eq!(
                err,
                CodeError::InvalidCharacter {
                    position: pos,
                    found: bad
                }
            );
            assert_eq!(err.code(), "invalid_character");
        }
        let err = CreditCode::parse("9133I402MA2B3C4D53").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("character 5 'I' is not allowed"));
    }

    #[test]
    fn punctuation_and_spaces_are_invalid_characters() {
        assert_eq!(
            CreditCode::parse("91330402MA2B3C4D5 ").unwrap_err(),
            CodeError::InvalidCharacter {
                position: 18,
                found: ' '
            }
        );
        assert_eq!(
            CreditCode::parse("-1330402MA2B3C4D53").unwrap_err(),
            CodeError::InvalidCharacter {
                position: 1,
                found: '-'
            }
        );
    }

    #[test]
    fn division_letters_are_rejected() {
        let first17 = "9133A402MA2B3C4D5";
        let err = check_character(first17).unwrap_err();
        assert_eq!(
            err,
            CodeError::DivisionNotDigits {
                position: 5,
                found: 'A'
            }
        );
        assert_eq!(err.code(), "division_not_digits");
        assert!(err.to_string().contains("administrative division"));
        // Positions 3 and 8 are the bounds; 2 and 9 may be letters.
        for pos in [3usize, 8] {
            let mut chars: Vec<char> = "91330402MA2B3C4D53".chars().collect();
            chars[pos - 1] = 'B';
            let s: String = chars.into_iter().collect();
            assert_eq!(
                CreditCode::parse(&s).unwrap_err(),
                CodeError::DivisionNotDigits {
                    position: pos,
                    found: 'B'
                }
            );
        }
        assert!(CreditCode::parse(&complete("9A33040200000000A")).is_ok());
        assert!(CreditCode::parse(&complete("91330402A0000000A")).is_ok());
    }

    #[test]
    fn lowercase_rejected_by_parse_but_accepted_by_normalize_query() {
        let err = CreditCode::parse("91330402ma2b3c4d53").unwrap_err();
        assert_eq!(
            err,
            CodeError::InvalidCharacter {
                position: 9,
                found: 'm'
            }
        );
        let code = CreditCode::normalize_query("  91330402ma2b3c4d53\t\n").unwrap();
        assert_eq!(code.as_str(), "91330402MA2B3C4D53");
        // Ideographic space (U+3000) is whitespace too.
        let code = CreditCode::normalize_query("\u{3000}91330402MA2B3C4D53\u{3000}").unwrap();
        assert_eq!(code.as_str(), "91330402MA2B3C4D53");
        // Inner spaces are not removed.
        assert!(CreditCode::normalize_query("91330402 MA2B3C4D53").is_err());
        // Normalising does not weaken the check.
        assert_eq!(
            CreditCode::normalize_query(" 91330402ma2b3c4d54 ")
                .unwrap_err()
                .code(),
            "check_character"
        );
        // Lowercase of a forbidden letter is still forbidden after uppercasing.
        assert_eq!(
            CreditCode::normalize_query("9133i402MA2B3C4D53").unwrap_err(),
            CodeError::InvalidCharacter {
                position: 5,
                found: 'I'
            }
        );
    }

    #[test]
    fn check_character_needs_17_characters() {
        let err = check_character("9133040200").unwrap_err();
        assert_eq!(err, CodeError::PrefixLength { found: 10 });
        assert_eq!(err.code(), "prefix_length");
        assert_eq!(
            check_character("91330402MA2B3C4D53").unwrap_err(),
            CodeError::PrefixLength { found: 18 }
        );
        assert_eq!(
            check_character("91330402ma2b3c4d5").unwrap_err().code(),
            "invalid_character"
        );
    }

    #[test]
    fn division_code_is_characters_3_to_8() {
        let code = CreditCode::parse("91330100799655058B").unwrap();
        assert_eq!(code.division_code(), "330100");
    }

    #[test]
    fn serde_is_a_string_and_deserialize_is_strict() {
        let code = CreditCode::parse("91440300708461136T").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"91440300708461136T\"");
        let back: CreditCode = serde_json::from_str(&json).unwrap();
        assert_eq!(back, code);
        let err = serde_json::from_str::<CreditCode>("\"91440300708461136t\"").unwrap_err();
        assert!(err.to_string().contains("character 18 't' is not allowed"));
        let err = serde_json::from_str::<CreditCode>("\" 91440300708461136T\"").unwrap_err();
        assert!(err.to_string().contains("found 19"));
        let err = serde_json::from_str::<CreditCode>("\"91440300708461136X\"").unwrap_err();
        assert!(err.to_string().contains("should be 'T'"));
        assert!(serde_json::from_str::<CreditCode>("914403007084611").is_err());
    }

    #[test]
    fn conversions() {
        let code = CreditCode::try_from("914403001922038216").unwrap();
        assert_eq!(
            CreditCode::try_from(String::from("914403001922038216")).unwrap(),
            code
        );
        let s: &str = code.as_ref();
        assert_eq!(s, "914403001922038216");
        assert_eq!(String::from(code), "914403001922038216");
    }
}
