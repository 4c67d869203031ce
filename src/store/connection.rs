//! Opening a database: which backend a URL names, connection settings, and migrations.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::Backend;
use crate::{Error, Result};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRESQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// Session-level advisory lock held while migrations run, so that instances starting together
/// do not race ("envcredi" in ASCII).
const MIGRATION_LOCK: i64 = 0x656e_7663_7265_6469;

/// Transaction-level advisory lock held by an import, so that two importers are serialized and
/// the loser sees the winner's sequence number.
pub(super) const IMPORT_LOCK: i64 = MIGRATION_LOCK + 1;

/// SQLite settings of every connection. `busy_timeout` comes first so that the others wait for
/// a lock instead of failing; foreign keys are off by default in SQLite.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON;";

/// One connection to either backend; queries are written once against the shared schema.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Where the database is, as parsed from its URL (kept to reconnect).
pub(super) enum Target {
    Postgresql {
        url: String,
    },
    Sqlite {
        /// What SQLite is given to open: a path, or a `file:` URI.
        open: String,
        /// The file on disk, when there is one (not for in-memory databases).
        path: Option<PathBuf>,
    },
}

impl Target {
    /// `postgres://` or `postgresql://` → PostgreSQL; `sqlite://PATH`, `file:PATH` (an SQLite
    /// URI) or a plain path → SQLite.
    pub(super) fn parse(database_url: &str) -> Result<Target> {
        let url = database_url.trim();
        if url.is_empty() {
            return Err(Error::Config("the database URL is empty".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgresql {
                url: with_postgresql_defaults(url),
            });
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            // Opened as a plain path: diesel would turn `sqlite://` into a `file:` URI, which
            // reads `sqlite://data/x.db` as host "data".
            if path.is_empty() {
                return Err(Error::Config(
                    "the SQLite database URL names no file".into(),
                ));
            }
            return Ok(Target::Sqlite {
                open: path.to_string(),
                path: file_path(path),
            });
        }
        if url.starts_with("file:") {
            return Ok(Target::Sqlite {
                open: url.to_string(),
                path: uri_file_path(url),
            });
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(Error::Config(format!(
                "unsupported database URL scheme {scheme:?}: use postgres://, postgresql://, sqlite:// or a file path"
            )));
        }
        Ok(Target::Sqlite {
            open: url.to_string(),
            path: file_path(url),
        })
    }

    pub(super) fn backend(&self) -> Backend {
        match self {
            Target::Postgresql { .. } => Backend::Postgresql,
            Target::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// A fresh connection with the backend's settings applied (no migrations).
    pub(super) fn connect(&self) -> Result<DbConnection> {
        match self {
            Target::Postgresql { url } => {
                Ok(DbConnection::Postgresql(PgConnection::establish(url)?))
            }
            Target::Sqlite { open, path } => {
                if let Some(parent) = path.as_deref().and_then(Path::parent) {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|e| {
                            Error::io(
                                format!("creating the database directory {}", parent.display()),
                                e,
                            )
                        })?;
                    }
                }
                let mut conn = SqliteConnection::establish(open)?;
                conn.batch_execute(SQLITE_PRAGMAS)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Runs the pending migrations of the connection's backend; returns how many ran.
pub(super) fn run_migrations(conn: &mut DbConnection) -> Result<usize> {
    match conn {
        DbConnection::Sqlite(conn) => {
            // Under the write lock from the start, so a second process opening the same new
            // file waits (busy_timeout) and then finds nothing pending. Each migration's own
            // transaction becomes a savepoint.
            conn.immediate_transaction(|conn| {
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|applied| applied.len())
                    .map_err(|e| Error::Migration(e.to_string()))
            })
        }
        DbConnection::Postgresql(conn) => {
            // The lock is taken before the migration table is even looked at: creating that
            // table concurrently fails on PostgreSQL. Uncontended, it costs one round trip, and
            // with nothing pending the lock is released right away.
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let ran = run_pending_postgresql(conn);
            let unlocked =
                conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            let ran = ran?;
            unlocked?;
            Ok(ran)
        }
    }
}

fn run_pending_postgresql(conn: &mut PgConnection) -> Result<usize> {
    let pending = conn
        .has_pending_migration(POSTGRESQL_MIGRATIONS)
        .map_err(|e| Error::Migration(e.to_string()))?;
    if !pending {
        return Ok(0);
    }
    conn.run_pending_migrations(POSTGRESQL_MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| Error::Migration(e.to_string()))
}

/// libpq settings added to a PostgreSQL URL that does not set them, so that a database that is
/// gone makes calls fail within seconds instead of the operating system's minutes: a connection
/// attempt gives up after 5 s, and data unacknowledged for 10 s (a dead peer, a dropped route)
/// fails the call; the revision poller then reports the database unreachable and tries again
/// on its next tick (docs/operations.md, "When the database is down").
const POSTGRESQL_DEFAULTS: &[(&str, &str)] = &[
    ("connect_timeout", "5"),
    ("tcp_user_timeout", "10000"),
    ("keepalives_idle", "30"),
];

fn with_postgresql_defaults(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let set: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    for (name, value) in POSTGRESQL_DEFAULTS {
        if !set.contains(name) {
            params.push(format!("{name}={value}"));
        }
    }
    format!("{base}?{}", params.join("&"))
}

/// The file of a plain SQLite path; `None` for an in-memory database.
fn file_path(path: &str) -> Option<PathBuf> {
    (path != ":memory:").then(|| PathBuf::from(path))
}

/// The file of an SQLite URI (`file:data/x.db`, `file:///abs/x.db?mode=rwc`); `None` for an
/// in-memory database.
fn uri_file_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file:")?;
    let (rest, query) = match rest.find(['?', '#']) {
        Some(end) => (&rest[..end], &rest[end..]),
        None => (rest, ""),
    };
    if query.contains("mode=memory") {
        return None;
    }
    let path = match rest.strip_prefix("//") {
        // An authority (empty or "localhost") before the absolute path.
        Some(after) => &after[after.find('/')?..],
        None => rest,
    };
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(percent_decode(path)))
}

/// Decodes `%HH` escapes as SQLite does in URI paths; anything else is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reverts every migration (their `down.sql`), for the test that runs them up, down, up.
#[cfg(test)]
pub(super) fn revert_all_migrations(conn: &mut DbConnection) -> Result<usize> {
    let reverted = match conn {
        DbConnection::Sqlite(conn) => conn.revert_all_migrations(SQLITE_MIGRATIONS),
        DbConnection::Postgresql(conn) => conn.revert_all_migrations(POSTGRESQL_MIGRATIONS),
    };
    reverted
        .map(|versions| versions.len())
        .map_err(|e| Error::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(url: &str) -> (String, Option<PathBuf>) {
        match Target::parse(url).unwrap() {
            Target::Sqlite { open, path } => (open, path),
            Target::Postgresql { .. } => panic!("{url} parsed as PostgreSQL"),
        }
    }

    #[test]
    fn urls_name_their_backend() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u:p@h:5433/db?sslmode=disable",
        ] {
            assert_eq!(
                Target::parse(url).unwrap().backend(),
                Backend::Postgresql,
                "{url}"
            );
        }
        assert_eq!(
            sqlite("sqlite://data/x.sqlite3"),
            ("data/x.sqlite3".into(), Some("data/x.sqlite3".into()))
        );
        assert_eq!(
            sqlite("sqlite:///var/lib/x.sqlite3"),
            (
                "/var/lib/x.sqlite3".into(),
                Some("/var/lib/x.sqlite3".into())
            )
        );
        assert_eq!(
            sqlite("data/x.sqlite3"),
            ("data/x.sqlite3".into(), Some("data/x.sqlite3".into()))
        );
        assert_eq!(sqlite(":memory:").1, None);
        assert_eq!(
            sqlite("file:data/x.db?mode=rwc").1,
            Some("data/x.db".into())
        );
        assert_eq!(
            sqlite("file:///var/my%20dir/x.db").1,
            Some("/var/my dir/x.db".into())
        );
        assert_eq!(
            sqlite("file://localhost/var/x.db").1,
            Some("/var/x.db".into())
        );
        assert_eq!(sqlite("file:x?mode=memory&cache=shared").1, None);
        assert_eq!(sqlite("file:x.db").0, "file:x.db");
    }

    #[test]
    fn postgresql_urls_get_timeouts_they_do_not_set() {
        let url = |text: &str| match Target::parse(text).unwrap() {
            Target::Postgresql { url } => url,
            Target::Sqlite { .. } => panic!("{text} parsed as SQLite"),
        };
        assert_eq!(
            url("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=5&tcp_user_timeout=10000&keepalives_idle=30"
        );
        assert_eq!(
            url("postgres://u@h/db?sslmode=require&connect_timeout=2"),
            "postgres://u@h/db?sslmode=require&connect_timeout=2&tcp_user_timeout=10000&keepalives_idle=30"
        );
    }

    #[test]
    fn bad_urls_are_configuration_errors() {
        for url in ["", "  ", "mysql://h/db", "sqlite://"] {
            assert!(
                matches!(Target::parse(url), Err(Error::Config(_))),
                "{url:?}"
            );
        }
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
    }
}
