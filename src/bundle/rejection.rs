//! Why a bundle was refused: the rule broken, the record (when one is at fault) and a message.

use std::fmt;

use super::strict::clip;

/// Names the record at fault: its position in the bundle and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// Zero-based position of the record in the bundle (its Merkle leaf index).
    pub index: usize,
    /// The record's key (code, and decision number for listings and violations), when readable.
    pub key: Option<String>,
}

/// A refused bundle. `rule` is a stable snake_case id (documented in `docs/bundle-format.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub rule: &'static str,
    pub record: Option<RecordRef>,
    pub message: String,
}

impl Rejection {
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            rule,
            record: None,
            message: message.into(),
        }
    }

    /// A rejection naming record `index`; the key is clipped, since it comes from the input.
    pub fn at(
        rule: &'static str,
        index: usize,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Rejection {
            rule,
            record: Some(RecordRef {
                index,
                key: key.map(|k| clip(&k, 120)),
            }),
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.record {
            Some(RecordRef {
                index,
                key: Some(key),
            }) => write!(f, "record {index} ({key}): ")?,
            Some(RecordRef { index, key: None }) => write!(f, "record {index}: ")?,
            None => {}
        }
        write!(f, "[{}] {}", self.rule, self.message)
    }
}

impl std::error::Error for Rejection {}
