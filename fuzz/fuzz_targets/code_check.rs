//! Arbitrary text as a unified social credit code (GB 32100-2015), through every way the
//! registry reads one: `CreditCode::parse` (strict: imports and the API's paths),
//! `normalize_query` (what a user types), `check_character`, and serde. Asserts what
//! `src/domain/code.rs` documents: 18 characters from the 31-character set, characters 3-8
//! digits, the check character; faults reported in that order with what was found; a valid
//! code round-trips unchanged; every single-character substitution is caught.

#![no_main]

use envcredit::domain::code::{check_character, CodeError, CreditCode, CHARSET, CODE_LENGTH};
use libfuzzer_sys::fuzz_target;

fn in_set(c: char) -> bool {
    CHARSET.contains(c)
}

fn check_valid(s: &str, code: &CreditCode) {
    assert_eq!(code.as_str(), s);
    assert_eq!(s.len(), CODE_LENGTH, "a code is ASCII: 18 bytes");
    let chars: Vec<char> = s.chars().collect();
    assert!(chars.iter().all(|&c| in_set(c)), "{s}");
    assert!(chars[2..8].iter().all(char::is_ascii_digit), "{s}");
    assert_eq!(code.division_code(), &s[2..8]);
    assert_eq!(check_character(&s[..17]), Ok(chars[17]));

    // Round trips.
    assert_eq!(code.to_string(), s);
    assert_eq!(s.parse::<CreditCode>().as_ref(), Ok(code));
    assert_eq!(CreditCode::try_from(s).as_ref(), Ok(code));
    assert_eq!(CreditCode::try_from(s.to_string()).as_ref(), Ok(code));
    assert_eq!(String::from(code.clone()), s);
    let json = serde_json::to_string(code).expect("a code serializes");
    assert_eq!(json, format!("\"{s}\""));
    assert_eq!(
        serde_json::from_str::<CreditCode>(&json).ok().as_ref(),
        Some(code)
    );

    // What a user types: any case, surrounding whitespace.
    let typed = format!(" \t{}\u{3000}\n", s.to_ascii_lowercase());
    assert_eq!(CreditCode::normalize_query(&typed).as_ref(), Ok(code));
    assert_eq!(CreditCode::normalize_query(s).as_ref(), Ok(code));

    // Every other check character is refused, naming the right one.
    for other in CHARSET.chars().filter(|&c| c != chars[17]) {
        let wrong = format!("{}{other}", &s[..17]);
        assert_eq!(
            CreditCode::parse(&wrong),
            Err(CodeError::CheckCharacter {
                expected: chars[17],
                found: other
            })
        );
    }
    // Every single substitution among characters 1-17 is caught (31 is prime and no weight is
    // a multiple of it).
    for position in 0..17 {
        for other in CHARSET.chars().filter(|&c| c != chars[position]) {
            if (2..8).contains(&position) && !other.is_ascii_digit() {
                continue;
            }
            let mut changed = chars.clone();
            changed[position] = other;
            let changed: String = changed.into_iter().collect();
            assert!(
                matches!(
                    CreditCode::parse(&changed),
                    Err(CodeError::CheckCharacter { .. })
                ),
                "{s} -> {changed} not caught"
            );
        }
    }
}

fn check_invalid(s: &str, chars: &[char], err: &CodeError) {
    assert!(!err.to_string().is_empty());
    match *err {
        CodeError::Length { found } => {
            assert_eq!(found, chars.len());
            assert_ne!(found, CODE_LENGTH);
        }
        CodeError::PrefixLength { .. } => panic!("parse reported {err:?}"),
        CodeError::InvalidCharacter { position, found } => {
            assert_eq!(chars.len(), CODE_LENGTH);
            assert!((1..=CODE_LENGTH).contains(&position));
            assert_eq!(chars[position - 1], found);
            assert!(!in_set(found));
            assert!(chars[..position - 1].iter().all(|&c| in_set(c)));
        }
        CodeError::DivisionNotDigits { position, found } => {
            assert_eq!(chars.len(), CODE_LENGTH);
            assert!((3..=8).contains(&position));
            assert_eq!(chars[position - 1], found);
            assert!(in_set(found) && !found.is_ascii_digit());
            assert!(chars.iter().all(|&c| in_set(c)));
            assert!(chars[2..position - 1].iter().all(char::is_ascii_digit));
        }
        CodeError::CheckCharacter { expected, found } => {
            assert_eq!(chars.len(), CODE_LENGTH);
            assert_eq!(chars[17], found);
            assert_ne!(expected, found);
            let first17: String = chars[..17].iter().collect();
            assert_eq!(check_character(&first17), Ok(expected));
            assert!(CreditCode::parse(&format!("{first17}{expected}")).is_ok());
        }
    }
    // Not a code anywhere: not through serde either.
    let json = serde_json::to_string(s).expect("a string serializes");
    assert!(serde_json::from_str::<CreditCode>(&json).is_err());
    assert!(s.parse::<CreditCode>().is_err());
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s: &str = &text;
    let chars: Vec<char> = s.chars().collect();

    match CreditCode::parse(s) {
        Ok(code) => check_valid(s, &code),
        Err(err) => check_invalid(s, &chars, &err),
    }

    // A typed query is never weaker than the strict parse: what it accepts is a code that equals
    // the trimmed input up to ASCII case.
    if let Ok(code) = CreditCode::normalize_query(s) {
        assert!(CreditCode::parse(code.as_str()).is_ok());
        assert!(code.as_str().eq_ignore_ascii_case(s.trim()));
    }

    // The check character of 17 characters completes them to a code; when there is none, no
    // 18th character makes one.
    match check_character(s) {
        Ok(check) => {
            assert_eq!(chars.len(), CODE_LENGTH - 1);
            let full = format!("{s}{check}");
            assert!(CreditCode::parse(&full).is_ok(), "{full}");
        }
        Err(CodeError::PrefixLength { found }) => {
            assert_eq!(found, chars.len());
            assert_ne!(found, CODE_LENGTH - 1);
        }
        Err(err) => {
            assert_eq!(chars.len(), CODE_LENGTH - 1);
            for last in ['0', 'A', 'Y'] {
                assert_eq!(CreditCode::parse(&format!("{s}{last}")).as_ref(), Err(&err));
            }
        }
    }
});
