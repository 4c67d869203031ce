//! The queries of the store, written once over [`DbConnection`].

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::dsl::max;
use diesel::prelude::*;

use super::connection::{DbConnection, IMPORT_LOCK};
use super::models::{to_i64, to_u64, BundleModel, NewBundle, NewRecord, RecordModel};
use super::schema::{bundles, records};
use super::{RecordRow, StoredBundle, StoredBundleInput};
use crate::bundle::merkle::Hash;
use crate::bundle::{Rejection, Rule};
use crate::{Error, Result};

/// Rows per multi-row INSERT: 11 columns × 500 rows stays far below the bind-parameter limits
/// (SQLite 32766, PostgreSQL 65535).
const INSERT_BATCH: usize = 500;

pub(super) fn chain(conn: &mut DbConnection) -> Result<Vec<Hash>> {
    let rows: Vec<(i64, String)> = bundles::table
        .select((bundles::sequence, bundles::payload_hash))
        .order(bundles::sequence.asc())
        .load(conn)?;
    let mut chain = Vec::with_capacity(rows.len());
    for (expected, (sequence, payload_hash)) in (1_i64..).zip(rows) {
        if sequence != expected {
            return Err(Error::Integrity(format!(
                "the stored chain has a gap: sequence {expected} is missing (the next stored sequence is {sequence})"
            )));
        }
        let hash = decode_hash(&payload_hash).ok_or_else(|| {
            Error::Integrity(format!(
                "stored payload hash of sequence {sequence} is not 64 lowercase hex digits: {payload_hash:?}"
            ))
        })?;
        chain.push(hash);
    }
    Ok(chain)
}

pub(super) fn head(conn: &mut DbConnection) -> Result<Option<(u64, String)>> {
    let head: Option<(i64, String)> = bundles::table
        .select((bundles::sequence, bundles::payload_hash))
        .order(bundles::sequence.desc())
        .first(conn)
        .optional()?;
    head.map(|(sequence, hash)| Ok((to_u64("sequence", sequence)?, hash)))
        .transpose()
}

pub(super) fn insert_bundle(conn: &mut DbConnection, bundle: &StoredBundleInput<'_>) -> Result<()> {
    // Everything that can be refused without the database is refused before touching it.
    if decode_hash(&bundle.payload_hash).is_none() {
        return Err(Error::Integrity(format!(
            "payload hash {:?} is not 64 lowercase hex digits",
            bundle.payload_hash
        )));
    }
    let sequence = to_i64("sequence", bundle.sequence)?;
    let new_bundle = NewBundle {
        sequence,
        payload_hash: &bundle.payload_hash,
        dataset: &bundle.dataset,
        key_id: &bundle.key_id,
        record_count: to_i64("record count", bundle.record_count)?,
        envelope: bundle.envelope,
        imported_at: &bundle.imported_at,
    };
    let new_records = bundle
        .rows
        .iter()
        .map(|row| NewRecord::new(sequence, row))
        .collect::<Result<Vec<_>>>()?;

    write_transaction(conn, |conn| {
        let last = bundles::table
            .select(max(bundles::sequence))
            .get_result::<Option<i64>>(conn)?
            .unwrap_or(0);
        if sequence.checked_sub(1) != Some(last) {
            return Err(Rejection::new(
                Rule::Sequence,
                format!(
                    "sequence {} does not follow the last stored sequence {last} (expected {}); \
                     another import may have stored it first",
                    bundle.sequence,
                    last.saturating_add(1)
                ),
            )
            .into());
        }
        diesel::insert_into(bundles::table)
            .values(&new_bundle)
            .execute(conn)?;
        insert_records(conn, &new_records)
    })
}

/// Multi-row inserts do not go through `MultiConnection`: each backend's own connection does
/// them (inside the caller's transaction).
fn insert_records(conn: &mut DbConnection, rows: &[NewRecord<'_>]) -> Result<()> {
    for batch in rows.chunks(INSERT_BATCH) {
        let insert = diesel::insert_into(records::table).values(batch);
        match conn {
            DbConnection::Postgresql(conn) => insert.execute(conn)?,
            DbConnection::Sqlite(conn) => insert.execute(conn)?,
        };
    }
    Ok(())
}

/// Runs `f` in one transaction that holds the import lock from its first statement: on SQLite
/// `BEGIN IMMEDIATE` (a deferred transaction that has read cannot write after another
/// importer's commit: `SQLITE_BUSY_SNAPSHOT`), on PostgreSQL a transaction-level advisory lock.
/// Committed if `f` succeeds, rolled back otherwise.
fn write_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T>,
) -> Result<T> {
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(conn) => {
            AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    let result = match conn {
        DbConnection::Postgresql(pg) => pg
            .batch_execute(&format!("SELECT pg_advisory_xact_lock({IMPORT_LOCK})"))
            .map_err(Error::from),
        DbConnection::Sqlite(_) => Ok(()),
    }
    .and_then(|()| f(conn));
    match result {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            // A broken transaction manager most likely comes from `error` itself.
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => {
                tracing::error!(%error, %rollback, "rolling back a failed import failed");
                Err(rollback.into())
            }
        },
    }
}

pub(super) fn load(conn: &mut DbConnection) -> Result<Vec<StoredBundle>> {
    let stored: Vec<BundleModel> = bundles::table
        .select(BundleModel::as_select())
        .order(bundles::sequence.asc())
        .load(conn)?;
    let Some(last) = stored.last().map(|b| b.sequence) else {
        return Ok(Vec::new());
    };
    // Rows are only ever appended, each bundle with its records in one transaction: records up
    // to the last bundle read are exactly those bundles' records, even if an import commits
    // between the two queries.
    let rows: Vec<RecordModel> = records::table
        .select(RecordModel::as_select())
        .filter(records::sequence.le(last))
        .order((records::sequence.asc(), records::leaf_index.asc()))
        .load(conn)?;
    let mut rows = rows.into_iter().peekable();
    let mut loaded = Vec::with_capacity(stored.len());
    for b in stored {
        let mut bundle_rows = Vec::new();
        while let Some(row) = rows.next_if(|r| r.sequence == b.sequence) {
            bundle_rows.push(row.into_row()?);
        }
        loaded.push(into_stored(b, bundle_rows)?);
    }
    if let Some(orphan) = rows.next() {
        return Err(Error::Integrity(format!(
            "record at sequence {} leaf {} belongs to no stored bundle",
            orphan.sequence, orphan.leaf_index
        )));
    }
    Ok(loaded)
}

fn into_stored(b: BundleModel, rows: Vec<RecordRow>) -> Result<StoredBundle> {
    Ok(StoredBundle {
        sequence: to_u64("sequence", b.sequence)?,
        payload_hash: b.payload_hash,
        dataset: b.dataset,
        key_id: b.key_id,
        record_count: to_u64("record count", b.record_count)?,
        envelope: b.envelope,
        imported_at: b.imported_at,
        rows,
    })
}

pub(super) fn dump(conn: &mut DbConnection) -> Result<String> {
    let stored: Vec<BundleModel> = bundles::table
        .select(BundleModel::as_select())
        .order(bundles::sequence.asc())
        .load(conn)?;
    let rows: Vec<RecordModel> = records::table
        .select(RecordModel::as_select())
        .order((records::sequence.asc(), records::leaf_index.asc()))
        .load(conn)?;
    let mut out = format!("bundles: {}\n", stored.len());
    for b in &stored {
        out.push_str(&format!(
            "bundle sequence={} payload_hash={:?} dataset={:?} key_id={:?} record_count={} imported_at={:?} envelope={}\n",
            b.sequence,
            b.payload_hash,
            b.dataset,
            b.key_id,
            b.record_count,
            b.imported_at,
            hex::encode(&b.envelope)
        ));
    }
    out.push_str(&format!("records: {}\n", rows.len()));
    for r in &rows {
        out.push_str(&format!(
            "record sequence={} leaf_index={} dataset={:?} code={:?} decision_number={:?} year={:?} \
             name={:?} county={:?} grade={:?} risk={:?} record={:?}\n",
            r.sequence,
            r.leaf_index,
            r.dataset,
            r.code,
            r.decision_number,
            r.year,
            r.name,
            r.county,
            r.grade,
            r.risk,
            r.record
        ));
    }
    Ok(out)
}

/// A payload hash in its one stored form: 64 lowercase hex digits.
fn decode_hash(hex_hash: &str) -> Option<Hash> {
    let lowercase = hex_hash
        .bytes()
        .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    let mut hash = [0u8; 32];
    (lowercase && hex::decode_to_slice(hex_hash, &mut hash).is_ok()).then_some(hash)
}
