//! Text from an untrusted source shown to a person: escaped so that it cannot move the cursor,
//! start a new line, reorder what follows it or hide itself, and bounded in length.
//!
//! A receipt or a proof is read by people in a terminal: a "code" sent by a client, or any text of
//! a signed payload, must never be able to print a forged line over the real answer. Every CLI
//! output of data goes through [`escape`], and an answer echoes a code as given only through
//! [`echo`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is escaped: a control character (Unicode Cc: C0, DEL, C1, so also ESC, CR, LF and
/// tab), the line and paragraph separators (U+2028, U+2029), a bidirectional formatting character
/// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), an invisible formatting character
/// (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+00AD), or the backslash itself (so that an escape
/// sequence in the output always means an escaped character).
pub fn is_escaped(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{FEFF}'
                | '\u{00AD}'
        )
}

/// `text` with every [`is_escaped`] character written as `\u{hex}` (the backslash as `\\`);
/// borrowed when there is nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_escaped(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The most characters of a given value an answer echoes back.
pub const MAX_ECHO_CHARS: usize = 40;

/// A value as given by a client, as an answer repeats it: unchanged when it is at most
/// [`MAX_ECHO_CHARS`] characters with nothing to [`escape`] (every well-formed code is), else its
/// first [`MAX_ECHO_CHARS`] characters escaped, followed by `…` when it was longer.
pub fn echo(given: &str) -> Cow<'_, str> {
    match given.char_indices().nth(MAX_ECHO_CHARS) {
        None => escape(given),
        Some((cut, _)) => Cow::Owned(format!("{}…", escape(&given[..cut]))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged_and_borrowed() {
        assert!(matches!(escape("91330402MA0000001U"), Cow::Borrowed(_)));
        assert!(matches!(
            escape("嘉兴市南湖区 检测（有限）公司"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(echo("  91330402ma0000001u "), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(
            escape("A\n  B found, bid flag bonus\u{1b}[2K\r"),
            "A\\u{a}  B found, bid flag bonus\\u{1b}[2K\\u{d}"
        );
        assert_eq!(escape("\u{202e}sunob\u{2066}"), "\\u{202e}sunob\\u{2066}");
        assert_eq!(
            escape("a\u{200b}b\u{feff}\u{85}\u{2028}"),
            "a\\u{200b}b\\u{feff}\\u{85}\\u{2028}"
        );
        assert_eq!(escape("tab\there"), "tab\\u{9}here");
        // The backslash is escaped too: a literal "\u{a}" cannot pass as an escaped newline.
        assert_eq!(escape("\\u{a}"), "\\\\u{a}");
    }

    #[test]
    fn echo_is_bounded() {
        let long = "9".repeat(1000);
        let echoed = echo(&long);
        assert_eq!(echoed, format!("{}…", "9".repeat(MAX_ECHO_CHARS)));
        let hostile = format!("X\n{}", "Y".repeat(100));
        assert_eq!(
            echo(&hostile),
            format!("X\\u{{a}}{}…", "Y".repeat(MAX_ECHO_CHARS - 2))
        );
        assert_eq!(
            echo("嘉".repeat(41).as_str()),
            format!("{}…", "嘉".repeat(40))
        );
    }
}
