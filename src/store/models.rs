//! Rows as diesel reads and writes them, and the checked conversions to the public types.

use diesel::prelude::*;

use super::schema::{bundles, records};
use super::RecordRow;
use crate::{Error, Result};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = bundles)]
pub(super) struct BundleModel {
    pub sequence: i64,
    pub payload_hash: String,
    pub dataset: String,
    pub key_id: String,
    pub record_count: i64,
    pub envelope: Vec<u8>,
    pub imported_at: String,
}

#[derive(Insertable)]
#[diesel(table_name = bundles)]
pub(super) struct NewBundle<'a> {
    pub sequence: i64,
    pub payload_hash: &'a str,
    pub dataset: &'a str,
    pub key_id: &'a str,
    pub record_count: i64,
    pub envelope: &'a [u8],
    pub imported_at: &'a str,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = records)]
pub(super) struct RecordModel {
    pub sequence: i64,
    pub leaf_index: i64,
    pub dataset: String,
    pub code: String,
    pub decision_number: Option<String>,
    pub year: Option<i32>,
    pub name: String,
    pub county: Option<String>,
    pub grade: Option<String>,
    pub risk: Option<String>,
    pub record: String,
}

impl RecordModel {
    pub(super) fn into_row(self) -> Result<RecordRow> {
        Ok(RecordRow {
            leaf_index: to_u64("leaf index", self.leaf_index)?,
            dataset: self.dataset,
            code: self.code,
            decision_number: self.decision_number,
            year: self.year,
            name: self.name,
            county: self.county,
            grade: self.grade,
            risk: self.risk,
            record: self.record,
        })
    }
}

// `None` is NULL, never DEFAULT: SQLite has no DEFAULT in a multi-row VALUES list.
#[derive(Insertable)]
#[diesel(table_name = records, treat_none_as_default_value = false)]
pub(super) struct NewRecord<'a> {
    pub sequence: i64,
    pub leaf_index: i64,
    pub dataset: &'a str,
    pub code: &'a str,
    pub decision_number: Option<&'a str>,
    pub year: Option<i32>,
    pub name: &'a str,
    pub county: Option<&'a str>,
    pub grade: Option<&'a str>,
    pub risk: Option<&'a str>,
    pub record: &'a str,
}

impl<'a> NewRecord<'a> {
    pub(super) fn new(sequence: i64, row: &'a RecordRow) -> Result<Self> {
        Ok(NewRecord {
            sequence,
            leaf_index: to_i64("leaf index", row.leaf_index)?,
            dataset: &row.dataset,
            code: &row.code,
            decision_number: row.decision_number.as_deref(),
            year: row.year,
            name: &row.name,
            county: row.county.as_deref(),
            grade: row.grade.as_deref(),
            risk: row.risk.as_deref(),
            record: &row.record,
        })
    }
}

/// A count or position on its way into a BIGINT column.
pub(super) fn to_i64(what: &str, value: u64) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| Error::Integrity(format!("{what} {value} is too large to store")))
}

/// A stored BIGINT that must be a count or position.
pub(super) fn to_u64(what: &str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Integrity(format!("stored {what} {value} is negative")))
}
