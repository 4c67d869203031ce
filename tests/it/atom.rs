//! The change feed as Atom 1.0 (RFC 4287), checked by a validator nobody here wrote: jing (Debian's
//! `jing`) against the RFC's own schema, Appendix B, and the Schematron rules embedded in it (an
//! author for every entry, content or an alternate link on every entry). `tests/atom/schema.sh`
//! fetches the schema into `target/atom/`. Without jing or the schema the test says SKIPPED and
//! passes; with `ENVCREDIT_REQUIRE_JING=1` (as CI sets it) it fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use envcredit::config::Config;

use crate::helpers::*;

/// Where `tests/atom/schema.sh` puts the schema.
fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/atom")
}

/// jing and the two schema files, or why the check cannot run (a panic when it is required).
fn validator() -> Option<(PathBuf, PathBuf)> {
    let grammar = schema_dir().join("atom.rng");
    let rules = schema_dir().join("atom-rules.sch");
    let jing = Command::new("jing").output().is_ok();
    let missing = match (jing, grammar.is_file() && rules.is_file()) {
        (true, true) => return Some((grammar, rules)),
        (false, _) => "jing (apt-get install jing)",
        (true, false) => "the Atom schema (bash tests/atom/schema.sh)",
    };
    if std::env::var("ENVCREDIT_REQUIRE_JING").as_deref() == Ok("1") {
        panic!("ENVCREDIT_REQUIRE_JING=1 but missing: {missing}");
    }
    eprintln!("SKIPPED: Atom validation (missing {missing}; ENVCREDIT_REQUIRE_JING=1 makes this a failure)");
    None
}

/// jing's verdict on `xml` against `schema`: `Err` with what it printed when the feed is invalid.
fn jing(schema: &Path, xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let feed = dir.path().join("feed.xml");
    std::fs::write(&feed, xml).expect("write the feed");
    let out = Command::new("jing")
        .arg(schema)
        .arg(&feed)
        .output()
        .expect("run jing");
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

#[actix_web::test]
async fn the_change_feed_is_valid_atom() {
    let Some((grammar, rules)) = validator() else {
        return;
    };
    // The validator itself refuses what RFC 4287 refuses: a feed without ids and authors.
    let broken = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title><updated>2025-01-01T00:00:00Z</updated>
<entry><title>y</title><updated>2025-01-01T00:00:00Z</updated></entry></feed>"#;
    assert!(
        jing(&grammar, broken).is_err(),
        "jing accepted a feed without ids"
    );
    assert!(
        jing(&rules, broken).is_err(),
        "jing accepted a feed without an author"
    );

    let db = TestDb::sqlite();
    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    config.public_base_url = Some("https://credit.example.gov.cn/".into());
    let app = spawn_app(config, date(2026, 11, 27)).await;
    // The whole feed of the demo data (every kind of change), one revision's, and an empty one
    // (a revision ahead of this instance).
    for path in [
        "/api/v1/changes.atom",
        "/api/v1/changes.atom?since=5",
        "/api/v1/changes.atom?since=99",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let xml = response.text().await.expect("feed");
        for schema in [&grammar, &rules] {
            if let Err(report) = jing(schema, &xml) {
                panic!(
                    "{path} is not valid Atom ({}):\n{report}\n{xml}",
                    schema.display()
                );
            }
        }
    }
}
