//! Storage (diesel): one schema over SQLite and PostgreSQL.
//!
//! Two tables: `bundles` (each accepted bundle exactly as signed, by sequence number) and
//! `records` (its records, by leaf index, with the columns searches need). The data revision is
//! the highest sequence number. Migrations (`migrations/sqlite`, `migrations/postgresql`) are
//! embedded and run on [`Store::open`]. An import is one transaction: all of it or nothing.

mod connection;
mod models;
mod queries;
pub mod schema;
pub mod testdb;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Mutex;

pub use connection::DbConnection;
use connection::Target;

use crate::bundle::merkle::Hash;
use crate::{Error, Result};

/// Which database a [`Store`] is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgresql,
}

/// The database of accepted bundles. One connection, used by one caller at a time; a
/// connection lost (the server restarted, the network failed) is replaced on the next use.
pub struct Store {
    backend: Backend,
    target: Target,
    /// `None` after the connection was lost, until a reconnection succeeds.
    conn: Mutex<Option<DbConnection>>,
}

/// A verified bundle as it is stored.
#[derive(Debug, Clone)]
pub struct StoredBundleInput<'a> {
    pub sequence: u64,
    /// Hex SHA-256 of the signed payload (64 lowercase digits).
    pub payload_hash: String,
    pub dataset: String,
    pub key_id: String,
    pub record_count: u64,
    /// The bundle file exactly as signed.
    pub envelope: &'a [u8],
    /// RFC 3339, UTC.
    pub imported_at: String,
    pub rows: Vec<RecordRow>,
}

/// A stored bundle, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    pub sequence: u64,
    pub payload_hash: String,
    pub dataset: String,
    pub key_id: String,
    pub record_count: u64,
    pub envelope: Vec<u8>,
    pub imported_at: String,
    /// Ascending by leaf index.
    pub rows: Vec<RecordRow>,
}

/// One record of a bundle: its signed bytes and the columns searches need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    /// Position in the bundle (its Merkle leaf index).
    pub leaf_index: u64,
    pub dataset: String,
    pub code: String,
    pub decision_number: Option<String>,
    pub year: Option<i32>,
    pub name: String,
    pub county: Option<String>,
    pub grade: Option<String>,
    pub risk: Option<String>,
    /// The record's canonical JSON, exactly the signed bytes.
    pub record: String,
}

impl Store {
    /// `postgres://` or `postgresql://` → PostgreSQL; `sqlite://PATH`, `file:PATH` or a plain
    /// path → SQLite (the file and its parent directory are created if missing). Runs the
    /// pending migrations.
    pub fn open(database_url: &str) -> Result<Store> {
        let target = Target::parse(database_url)?;
        let backend = target.backend();
        let mut conn = target.connect()?;
        let applied = connection::run_migrations(&mut conn)?;
        if applied > 0 {
            tracing::info!(?backend, applied, "database migrations applied");
        }
        Ok(Store {
            backend,
            target,
            conn: Mutex::new(Some(conn)),
        })
    }

    /// Like [`Store::open`], but never creates a SQLite file: for commands that must change
    /// nothing (`envcredit verify`).
    pub fn open_existing(database_url: &str) -> Result<Store> {
        if let Target::Sqlite {
            path: Some(path), ..
        } = Target::parse(database_url)?
        {
            if !path.is_file() {
                return Err(Error::Config(format!(
                    "no database at {}: import a bundle first, or verify with --standalone",
                    path.display()
                )));
            }
        }
        Store::open(database_url)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Which backend a database URL names and, for SQLite, its file (`None` in memory).
    pub fn locate(database_url: &str) -> Result<(Backend, Option<std::path::PathBuf>)> {
        Ok(match Target::parse(database_url)? {
            Target::Postgresql { .. } => (Backend::Postgresql, None),
            Target::Sqlite { path, .. } => (Backend::Sqlite, path),
        })
    }

    /// Payload hashes of the accepted bundles by sequence: element `i` is sequence `i + 1`.
    /// Stored sequences that are not exactly `1..=n` are an integrity error naming the gap.
    pub fn chain(&self) -> Result<Vec<Hash>> {
        self.with_conn(queries::chain)
    }

    /// Stores one verified bundle and its record rows in one transaction: everything or nothing.
    /// Refused (rule `sequence`) unless the highest stored sequence, read inside the
    /// transaction, is `bundle.sequence - 1`: two importers racing cannot both succeed.
    pub fn insert_bundle(&self, bundle: &StoredBundleInput<'_>) -> Result<()> {
        self.with_conn(|conn| queries::insert_bundle(conn, bundle))
    }

    /// Every stored bundle, ascending by sequence, each with its record rows by leaf index.
    pub fn load(&self) -> Result<Vec<StoredBundle>> {
        self.with_conn(queries::load)
    }

    /// The highest sequence and its payload hash, if any: one cheap query, for revision polling.
    pub fn head(&self) -> Result<Option<(u64, String)>> {
        self.with_conn(queries::head)
    }

    /// Every row of both tables as deterministic text (bytes in hex): two dumps are equal
    /// exactly when the stored data is. For tests and diagnostics.
    pub fn dump(&self) -> Result<String> {
        self.with_conn(queries::dump)
    }

    /// Runs `f` on the connection. A connection that a panic left behind (maybe inside a
    /// transaction), or that failed in a way that may have broken it, is dropped, and the next
    /// call connects afresh; while the database is unreachable, each call fails fast with the
    /// connection error. Nothing is logged here: the caller knows whether a failure is news
    /// (the revision poller logs once when the database goes away and once when it is back).
    fn with_conn<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T>) -> Result<T> {
        let mut slot = match self.conn.lock() {
            Ok(slot) => slot,
            Err(poisoned) => {
                let mut slot = poisoned.into_inner();
                *slot = None;
                self.conn.clear_poison();
                slot
            }
        };
        if slot.is_none() {
            *slot = Some(self.target.connect()?);
        }
        let Some(conn) = slot.as_mut() else {
            return Err(Error::Internal("no database connection".into()));
        };
        let result = f(conn);
        if let Err(Error::Database(error)) = &result {
            if needs_new_connection(error) {
                tracing::debug!(%error, "dropping the database connection; the next use reconnects");
                *slot = None;
            }
        }
        result
    }
}

/// Whether an error may have left the connection unusable. Errors that are about the data (a
/// constraint, a serialization failure) leave it fine; anything else about the database
/// (closed, unable to send, terminated by an administrator, an unknown failure) or a broken
/// transaction manager drops it: reconnecting costs one round trip.
fn needs_new_connection(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match error {
        Error::DatabaseError(kind, _) => !matches!(
            kind,
            Kind::UniqueViolation
                | Kind::ForeignKeyViolation
                | Kind::NotNullViolation
                | Kind::CheckViolation
                | Kind::SerializationFailure
                | Kind::ReadOnlyTransaction
        ),
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

impl fmt::Debug for Store {
    /// The URL is left out: it may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}
