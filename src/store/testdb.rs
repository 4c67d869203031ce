//! A fresh PostgreSQL database per test, dropped when the guard is.
//!
//! The server is `ENVCREDIT_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When it does not answer, tests are skipped loudly, unless `ENVCREDIT_REQUIRE_PG=1` (CI):
//! then they fail.

use std::io::Write;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use rand_core::{OsRng, RngCore};

/// The server used when `ENVCREDIT_TEST_PG_URL` is not set.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A test database that exists until this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// URL of the test database.
    pub url: String,
    /// Its name: `envcredit_test_` and 16 random hex digits.
    pub name: String,
    admin_url: String,
}

/// Creates a fresh database on the test server; `None` (after a loud message) when the server
/// does not answer. Panics if it answers but the database cannot be created, or if it does not
/// answer and `ENVCREDIT_REQUIRE_PG=1`.
pub fn postgres() -> Option<TestDatabase> {
    let server =
        std::env::var("ENVCREDIT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string());
    let admin_url = with_param(&server, "connect_timeout", "5");
    let mut admin = match PgConnection::establish(&admin_url) {
        Ok(admin) => admin,
        Err(error) => {
            let shown = redact(&server);
            if std::env::var("ENVCREDIT_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL not reachable at {shown} and ENVCREDIT_REQUIRE_PG=1: {error}");
            }
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL not reachable at {shown} ({error}); set ENVCREDIT_REQUIRE_PG=1 to fail instead"
            );
            return None;
        }
    };
    let mut random = [0u8; 8];
    OsRng.fill_bytes(&mut random);
    let name = format!("envcredit_test_{}", hex::encode(random));
    if let Err(error) = admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")) {
        panic!("could not create the test database {name}: {error}");
    }
    Some(TestDatabase {
        url: with_database(&admin_url, &name),
        name,
        admin_url,
    })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Err(error) = drop_database(&self.admin_url, &self.name) {
            eprintln!(
                "warning: could not drop the test database {}: {error}",
                self.name
            );
        }
    }
}

fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let mut admin = PgConnection::establish(admin_url).map_err(|e| e.to_string())?;
    let forced = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    if let Err(forced) = forced {
        // Before PostgreSQL 13 there is no FORCE: end the other sessions first.
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid(); \
                 DROP DATABASE IF EXISTS \"{name}\""
            ))
            .map_err(|e| format!("{e} (after DROP DATABASE ... WITH (FORCE) failed: {forced})"))?;
    }
    Ok(())
}

/// `url` with its database (the path) replaced by `database`; the query string is kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{database}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// `url` with the query parameter `key=value` added, unless it already has `key`.
fn with_param(url: &str, key: &str, value: &str) -> String {
    match url.split_once('?') {
        Some((_, query)) if query.split('&').any(|p| p.split('=').next() == Some(key)) => {
            url.to_string()
        }
        Some(_) => format!("{url}&{key}={value}"),
        None => format!("{url}?{key}={value}"),
    }
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let end = url[authority..]
        .find(['/', '?'])
        .map_or(url.len(), |i| authority + i);
    match url[authority..end].rfind('@') {
        Some(at) => match url[authority..authority + at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..authority], &url[authority + at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten() {
        assert_eq!(
            with_database(
                "postgres://postgres@127.0.0.1:5432/test?connect_timeout=5",
                "x"
            ),
            "postgres://postgres@127.0.0.1:5432/x?connect_timeout=5"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_param("postgres://h/d", "connect_timeout", "5"),
            "postgres://h/d?connect_timeout=5"
        );
        assert_eq!(
            with_param("postgres://h/d?sslmode=disable", "connect_timeout", "5"),
            "postgres://h/d?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(
            with_param("postgres://h/d?connect_timeout=1", "connect_timeout", "5"),
            "postgres://h/d?connect_timeout=1"
        );
        assert_eq!(
            redact("postgres://u:secret@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
    }
}
