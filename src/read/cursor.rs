//! Page cursors of the API's paged lists: opaque, bounded, validated, and pinned to the revision
//! (and the date) the first page was answered at, so that following `next_cursor` alone never
//! mixes pages of two revisions when a new bundle is imported between them.
//!
//! A cursor is base64url (no padding) of a small JSON object: the format version, the revision's
//! sequence and the first 12 hex digits of its hash (so a cursor from a store that was since
//! restored to another chain is refused, not answered from different data), the `as_of` of the
//! answer when the list depends on one, and the sort key of the last item of the page.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::search::{DEFAULT_LIMIT, MAX_LIMIT};
use super::{LiveRegistry, Registry};
use crate::{Error, Result};

/// The longest cursor accepted. The longest one made (an 18-character code and a decision
/// number of at most 100 characters, as bundle verification bounds it) is well under this.
pub const MAX_CURSOR_CHARS: usize = 1024;
/// The only format this registry makes and reads.
const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u8,
    /// Revision sequence.
    r: u64,
    /// First 12 hex digits of that revision's bundle hash.
    h: String,
    /// The `as_of` of the answer, for lists that depend on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<NaiveDate>,
    /// Sort key of the last item of the page.
    k: Vec<String>,
}

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub revision: u64,
    hash: String,
    as_of: Option<NaiveDate>,
    /// The sort key of the last item already given: continue strictly after it.
    pub after: Vec<String>,
}

impl Cursor {
    /// The cursor after the item with sort key `after`, in an answer from `registry` about
    /// `as_of`. None for a registry without data (it has no pages to continue).
    pub fn encode(
        registry: &Registry,
        as_of: Option<NaiveDate>,
        after: Vec<String>,
    ) -> Option<String> {
        let revision = registry.revision.as_ref()?;
        let wire = Wire {
            v: VERSION,
            r: revision.sequence,
            h: short_hash(&revision.hash),
            d: as_of,
            k: after,
        };
        let json = serde_json::to_vec(&wire).ok()?;
        Some(URL_SAFE_NO_PAD.encode(json))
    }

    /// Reads a cursor this registry made, with `keys` parts in its sort key; anything else is an
    /// `invalid-cursor` problem.
    pub fn decode(text: &str, keys: usize) -> Result<Cursor> {
        let invalid = |why: &str| {
            Error::InvalidCursor(format!(
                "cursor is not a cursor of this list ({why}); pass the `next_cursor` of the previous page unchanged, or leave cursor out for the first page"
            ))
        };
        if text.len() > MAX_CURSOR_CHARS {
            return Err(invalid(&format!(
                "longer than {MAX_CURSOR_CHARS} characters"
            )));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid("not base64url"))?;
        let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| invalid("not readable"))?;
        if wire.v != VERSION {
            return Err(invalid(&format!("unknown format version {}", wire.v)));
        }
        if wire.r == 0 || wire.k.len() != keys {
            return Err(invalid("malformed"));
        }
        Ok(Cursor {
            revision: wire.r,
            hash: wire.h,
            as_of: wire.d,
            after: wire.k,
        })
    }

    /// The `as_of` to answer for: the one asked for, else the cursor's (so a page fetched after
    /// midnight continues the same day's answer), else none. A different explicit date is an
    /// `invalid-cursor` problem.
    pub fn as_of(&self, asked: Option<NaiveDate>) -> Result<Option<NaiveDate>> {
        match (asked, self.as_of) {
            (Some(asked), Some(made)) if asked != made => Err(Error::InvalidCursor(format!(
                "cursor was made for as_of = {made}, but as_of = {asked} was asked for; repeat the first page's as_of or leave it out"
            ))),
            (asked, made) => Ok(asked.or(made)),
        }
    }
}

/// The page size asked for (default [`DEFAULT_LIMIT`]), checked to be 1 to [`MAX_LIMIT`].
pub fn limit(asked: Option<usize>) -> Result<usize> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::BadRequest(format!(
            "limit must be 1 to {MAX_LIMIT}, found {limit}"
        )));
    }
    Ok(limit)
}

/// One page of `rows` (sorted by `key`, each key once): those strictly after `after`, at most
/// `limit`, and the key of the page's last row when more follow.
pub fn page_after<T>(
    rows: Vec<T>,
    after: Option<&[String]>,
    limit: usize,
    key: impl Fn(&T) -> Vec<String>,
) -> (Vec<T>, Option<Vec<String>>) {
    let mut rest = rows
        .into_iter()
        .filter(|row| after.is_none_or(|after| key(row).as_slice() > after));
    let page: Vec<T> = rest.by_ref().take(limit).collect();
    let more = rest.next().is_some();
    let next = page.last().filter(|_| more).map(&key);
    (page, next)
}

/// First 12 hex digits of a revision hash (as in the revision tag).
fn short_hash(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// The view a page is answered from, and its cursor: the cursor's revision when there is one
/// (which an explicit `revision` must then agree with), else `revision`, else the current view.
///
/// A cursor whose revision this instance cannot answer (its chain was replaced, or the
/// instance is behind the one that made the cursor) is a `cursor-expired` problem (410) that
/// says why; the client starts again from the first page.
pub fn pinned(
    live: &LiveRegistry,
    revision: Option<u64>,
    cursor: Option<&str>,
    keys: usize,
) -> Result<(Arc<Registry>, Option<Cursor>)> {
    let Some(text) = cursor else {
        return Ok((live.at(revision)?, None));
    };
    let cursor = Cursor::decode(text, keys)?;
    if let Some(asked) = revision.filter(|asked| *asked != cursor.revision) {
        return Err(Error::InvalidCursor(format!(
            "cursor was made at revision {}, but revision = {asked} was asked for; leave revision out or repeat the first page's",
            cursor.revision
        )));
    }
    let current = live.current().revision.as_ref().map_or(0, |r| r.sequence);
    let expired = |why: String| {
        Error::CursorExpired(format!(
            "cursor was made at revision {}-{}, {why}; start again from the first page",
            cursor.revision, cursor.hash
        ))
    };
    let registry = live.at(Some(cursor.revision)).map_err(|e| match e {
        Error::NotFound(_) if cursor.revision > current => expired(format!(
            "which this instance does not hold yet (it is at revision {current})"
        )),
        Error::NotFound(_) => expired("which this instance can no longer answer".to_string()),
        other => other,
    })?;
    let held = registry
        .revision
        .as_ref()
        .map(|r| short_hash(&r.hash))
        .unwrap_or_default();
    if held != cursor.hash {
        return Err(expired(format!(
            "but this instance holds another bundle at that revision ({}-{held})",
            cursor.revision
        )));
    }
    Ok((registry, Some(cursor)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn wire(v: u8, r: u64, k: Vec<&str>) -> String {
        let wire = Wire {
            v,
            r,
            h: "0123456789ab".into(),
            d: None,
            k: k.into_iter().map(String::from).collect(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap())
    }

    #[test]
    fn reads_what_it_makes_and_nothing_else() {
        let good = wire(1, 7, vec!["91330402MA0000001X", "嘉环信〔2024〕1号"]);
        let cursor = Cursor::decode(&good, 2).unwrap();
        assert_eq!(cursor.revision, 7);
        assert_eq!(cursor.after[1], "嘉环信〔2024〕1号");
        let too_long = "A".repeat(MAX_CURSOR_CHARS + 1);
        for (bad, why) in [
            (good.as_str(), "malformed"),
            (too_long.as_str(), "longer than"),
            ("91330402MA0000001X", "is not a cursor of this list"),
            ("not a cursor!", "not base64url"),
            (&wire(2, 7, vec!["a"]), "unknown format version 2"),
            (&wire(1, 0, vec!["a"]), "malformed"),
            (
                &URL_SAFE_NO_PAD.encode(br#"{"v":1,"r":1,"h":"","k":["a"],"x":1}"#),
                "not readable",
            ),
        ] {
            // Every case but the first asks for a one-part key; the first is a two-part one.
            let err = Cursor::decode(bad, 1).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidCursor(m) if m.contains(why)),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn pages_follow_the_key() {
        let rows: Vec<(u32, &str)> = vec![(1, "a"), (2, "a"), (2, "b"), (3, "a")];
        let key = |r: &(u32, &str)| vec![r.0.to_string(), r.1.to_string()];
        let (first, next) = page_after(rows.clone(), None, 2, key);
        assert_eq!(first, vec![(1, "a"), (2, "a")]);
        let next = next.unwrap();
        let (second, more) = page_after(rows.clone(), Some(&next), 2, key);
        assert_eq!(second, vec![(2, "b"), (3, "a")]);
        assert_eq!(more, None, "the last page has no next");
        assert!(
            matches!(limit(Some(0)), Err(Error::BadRequest(m)) if m.contains("limit must be 1 to 100, found 0"))
        );
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
    }

    #[test]
    fn the_date_follows_the_cursor_unless_contradicted() {
        let day = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let cursor = Cursor {
            revision: 3,
            hash: String::new(),
            as_of: Some(day),
            after: vec![],
        };
        assert_eq!(cursor.as_of(None).unwrap(), Some(day));
        assert_eq!(cursor.as_of(Some(day)).unwrap(), Some(day));
        let other = day.succ_opt().unwrap();
        assert!(
            matches!(cursor.as_of(Some(other)), Err(Error::InvalidCursor(m)) if m.contains("as_of = 2025-06-01"))
        );
    }
}
