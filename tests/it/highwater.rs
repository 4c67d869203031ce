//! The high-water mark kept outside the database: a database restored from an older backup,
//! missing bundles or holding another history is refused at start-up (or served, with
//! `--accept-rollback`, reported in `/healthz`); a pinned checkpoint ahead of the database is
//! refused too; the state file follows every import; and through the command line, a second
//! bundle signed for an accepted sequence is refused with an ALARM naming both hashes.
//!
//! Hashes are always the store's own (`Store::head`, `Store::chain`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use envcredit::bundle::merkle::Hash;
use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;
use envcredit::clock::FixedClock;
use envcredit::config::{Checkpoint, Config};
use envcredit::web::Application;

use crate::backends;
use crate::helpers::*;

/// The state file of these tests: named explicitly (PostgreSQL needs it named), in a directory
/// that lives as long as the test.
fn with_state_file(db: &TestDb, dir: &Path) -> Config {
    let mut config = config(db);
    config.state_file = Some(state_path(dir).display().to_string());
    config
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("envcredit.state.json")
}

/// The state file's (sequence, hash).
fn state(dir: &Path) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(state_path(dir)).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).expect("state file is JSON");
    Some((
        json["sequence"].as_u64().expect("sequence"),
        json["hash"].as_str().expect("hash").to_string(),
    ))
}

/// The store's head (its own sequence and hash).
fn head(db: &TestDb) -> (u64, String) {
    db.store().head().expect("head").expect("a bundle")
}

/// The store's head hash, as the `previous_hash` of the next bundle.
fn head_hash(db: &TestDb) -> Hash {
    let (_, hash) = head(db);
    hex::decode(hash)
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

/// Deletes bundle `sequence` and its rows, as a restore or a lost write leaves it.
pub fn delete_bundle(db: &TestDb, sequence: u64) {
    sql(
        db,
        &format!(
            "DELETE FROM records WHERE sequence = {sequence}; DELETE FROM bundles WHERE sequence = {sequence};"
        ),
    );
}

/// Bundle 2: the dishonesty list.
fn second_bundle(previous: Hash, decision: &str) -> Parts {
    Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        previous,
        None,
        Records::DishonestyList(vec![listing(1, decision)]),
    ))
}

/// Bundle 3: the 2025 results, in publicity.
fn third_bundle(previous: Hash) -> Parts {
    Parts::of(&draft(
        Dataset::Evaluation(2025),
        3,
        previous,
        Some(schedule_2025()),
        Records::Evaluation(vec![
            record(1, 9100, 8100),
            record(2, 8400, 6500),
            record(3, 6300, 5900),
        ]),
    ))
}

/// Imports bundles 1 and 2; returns bundle 3's bytes (not imported).
fn two_imported(db: &TestDb, config: &Config) -> Vec<u8> {
    let (first, _) = first_bundle();
    import(db, config, &first).expect("bundle 1");
    let second = second_bundle(head_hash(db), "嘉环信〔2024〕1号");
    import(db, config, &second.sign(&pipeline_key())).expect("bundle 2");
    third_bundle(head_hash(db)).sign(&pipeline_key())
}

/// Starts the application and returns its start-up error.
async fn refused(config: Config) -> String {
    match Application::build(config, Arc::new(FixedClock(date(2026, 1, 10)))).await {
        Ok(_) => panic!("the application started over a database that does not hold its mark"),
        Err(e) => e.to_string(),
    }
}

async fn start_health(config: Config) -> serde_json::Value {
    let app = spawn_app(config, date(2026, 1, 10)).await;
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    health
}

/// Every import moves the state file to the store's head.
async fn state_file_follows_imports(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = with_state_file(&db, dir.path());
    assert_eq!(state(dir.path()), None);
    let third = two_imported(&db, &config);
    assert_eq!(state(dir.path()), Some(head(&db)));
    assert_eq!(head(&db).0, 2);
    import(&db, &config, &third).expect("bundle 3");
    assert_eq!(state(dir.path()), Some(head(&db)));
    assert_eq!(head(&db).0, 3);
    let health = start_health(config).await;
    assert_eq!(health["high_water"]["status"], "ok");
    assert_eq!(health["high_water"]["alarm"], serde_json::Value::Null);
}
backends!(
    the_state_file_follows_every_import,
    state_file_follows_imports
);

/// With SQLite the state file is, by default, beside the database file.
#[actix_web::test]
async fn the_default_state_file_is_beside_the_sqlite_file() {
    let db = TestDb::sqlite();
    let config = config(&db);
    assert_eq!(config.state_file, None);
    let (first, _) = first_bundle();
    import(&db, &config, &first).expect("bundle 1");
    let beside = format!("{}.state.json", db.url);
    let text = std::fs::read_to_string(&beside).expect("state file beside the database");
    assert!(text.contains(&head(&db).1), "{text}");
}

/// Three bundles imported, then the database as it was after two: the SQLite file copied back,
/// or the last bundle's rows gone from PostgreSQL (what a restore looks like). Refused with both
/// named; served with `--accept-rollback`, and `/healthz` says so.
async fn restored_backup(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = with_state_file(&db, dir.path());
    let third = two_imported(&db, &config);
    let (_, hash2) = head(&db);
    let backup = dir.path().join("backup.sqlite3");
    if !db.url.starts_with("postgres") {
        std::fs::copy(&db.url, &backup).expect("backup");
    }
    import(&db, &config, &third).expect("bundle 3");
    let (_, hash3) = head(&db);
    if db.url.starts_with("postgres") {
        delete_bundle(&db, 3);
    } else {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.url));
        }
        std::fs::copy(&backup, &db.url).expect("restore");
    }
    assert_eq!(head(&db), (2, hash2.clone()));

    let error = refused(config.clone()).await;
    assert_eq!(error.lines().count(), 1, "one line: {error}");
    assert!(
        error.contains(&format!("the database head is sequence 2 (hash {hash2})")),
        "{error}"
    );
    assert!(
        error.contains(&format!("is sequence 3 (hash {hash3})")),
        "{error}"
    );
    assert!(error.contains("older backup"), "{error}");
    assert!(error.contains("re-import bundles 3..=3"), "{error}");
    assert!(error.contains("--accept-rollback"), "{error}");
    assert_eq!(
        state(dir.path()),
        Some((3, hash3.clone())),
        "the mark is kept"
    );

    let mut accepting = config.clone();
    accepting.accept_rollback = true;
    let health = start_health(accepting).await;
    assert_eq!(health["high_water"]["status"], "rollback_accepted");
    let alarm = health["high_water"]["alarm"].as_str().expect("alarm");
    assert!(alarm.contains(&hash2) && alarm.contains(&hash3), "{alarm}");
    assert!(health["revision"]
        .as_str()
        .is_some_and(|r| r.starts_with("2-")));
    // Knowingly accepted: the database's head is the mark now, and bundle 3 imports again.
    assert_eq!(state(dir.path()), Some((2, hash2)));
    import(&db, &config, &third).expect("bundle 3 again");
    assert_eq!(start_health(config).await["high_water"]["status"], "ok");
}
backends!(
    a_database_restored_from_an_older_backup_is_refused,
    restored_backup
);

/// A bundle missing from the middle of the stored chain.
async fn missing_bundle(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = with_state_file(&db, dir.path());
    let third = two_imported(&db, &config);
    import(&db, &config, &third).expect("bundle 3");
    delete_bundle(&db, 2);
    let error = refused(config).await;
    assert!(error.contains("the database head is sequence 3"), "{error}");
    assert!(error.contains("sequence 2 is missing"), "{error}");
}
backends!(missing_bundles_are_refused, missing_bundle);

/// The mark's sequence holds another bundle: a different history (here: bundle 2 gone and
/// another, validly signed bundle 2 imported behind the mark's back).
async fn different_history(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = with_state_file(&db, dir.path());
    two_imported(&db, &config);
    let (_, hash2) = head(&db);
    delete_bundle(&db, 2);
    assert_eq!(head(&db).0, 1);
    let other = second_bundle(head_hash(&db), "嘉环信〔2024〕7号");
    import(&db, &config, &other.sign(&pipeline_key())).expect("another bundle 2");
    let (_, other_hash) = head(&db);
    assert_ne!(other_hash, hash2);
    assert_eq!(
        state(dir.path()),
        Some((2, hash2.clone())),
        "never moved back"
    );

    let error = refused(config.clone()).await;
    assert!(error.contains("a different history"), "{error}");
    assert!(
        error.contains(&hash2) && error.contains(&other_hash),
        "{error}"
    );
    assert!(
        !error.contains("re-import"),
        "importing cannot mend it: {error}"
    );

    // The importer refuses it too.
    let store = db.store();
    let refusal = envcredit::highwater::ImportGuard::before_import(&config, &store)
        .expect_err("import refused");
    assert!(
        refusal.to_string().contains("Refusing to import"),
        "{refusal}"
    );
}
backends!(
    a_different_history_at_the_mark_is_refused,
    different_history
);

/// A checkpoint pinned in the configuration ahead of the database (several instances, no
/// state file): refused; at the database's head: served; with another hash: refused.
async fn checkpoint_ahead(db: TestDb) {
    let mut config = config(&db);
    config.state_file = Some("none".into());
    let third = two_imported(&db, &config);
    import(&db, &config, &third).expect("bundle 3");
    let (_, hash3) = head(&db);
    delete_bundle(&db, 3);
    config.checkpoint = Some(Checkpoint {
        sequence: 3,
        hash: hash3.clone(),
    });
    let error = refused(config.clone()).await;
    assert!(
        error.contains(&format!(
            "the checkpoint in the configuration is sequence 3 (hash {hash3})"
        )),
        "{error}"
    );
    assert!(error.contains("the database head is sequence 2"), "{error}");

    import(&db, &config, &third).expect("bundle 3 again");
    assert_eq!(
        start_health(config.clone()).await["high_water"]["status"],
        "ok"
    );

    config.checkpoint = Some(Checkpoint {
        sequence: 2,
        hash: "0".repeat(64),
    });
    let error = refused(config).await;
    assert!(error.contains("a different history"), "{error}");
}
backends!(
    a_pinned_checkpoint_ahead_of_the_database_is_refused,
    checkpoint_ahead
);

/// A deleted state file is evidence: refused, unless a checkpoint the database holds vouches
/// for it or the operator accepts the database's head.
async fn missing_state_file(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = with_state_file(&db, dir.path());
    two_imported(&db, &config);
    let (_, hash2) = head(&db);
    std::fs::remove_file(state_path(dir.path())).expect("delete the state file");

    let error = refused(config.clone()).await;
    assert!(error.contains("is missing"), "{error}");

    config.checkpoint = Some(Checkpoint {
        sequence: 1,
        hash: {
            let chain = db.store().chain().expect("chain");
            hex::encode(chain[0])
        },
    });
    assert_eq!(
        start_health(config.clone()).await["high_water"]["status"],
        "ok"
    );
    assert_eq!(state(dir.path()), Some((2, hash2.clone())), "created");

    std::fs::remove_file(state_path(dir.path())).expect("delete the state file");
    config.checkpoint = None;
    config.accept_rollback = true;
    let health = start_health(config).await;
    assert_eq!(health["high_water"]["status"], "rollback_accepted");
    assert_eq!(state(dir.path()), Some((2, hash2)), "adopted");
}
backends!(a_missing_state_file_is_refused, missing_state_file);

/// A state file older than the database (restored with an old backup of its own): a warning,
/// and it is advanced to the verified head.
async fn state_file_behind(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = with_state_file(&db, dir.path());
    let third = two_imported(&db, &config);
    let old = std::fs::read(state_path(dir.path())).expect("state");
    import(&db, &config, &third).expect("bundle 3");
    std::fs::write(state_path(dir.path()), old).expect("old state file back");
    assert_eq!(state(dir.path()).map(|s| s.0), Some(2));
    assert_eq!(start_health(config).await["high_water"]["status"], "ok");
    assert_eq!(state(dir.path()), Some(head(&db)));
}
backends!(
    a_state_file_behind_the_database_is_advanced,
    state_file_behind
);

// ---------------------------------------------------------------------------------------------
// Through the command line
// ---------------------------------------------------------------------------------------------

fn write_config(db: &TestDb, dir: &Path, extra: &str) {
    std::fs::write(
        dir.join("envcredit.toml"),
        format!(
            "database_url = \"{}\"\nstate_file = \"state.json\"\n{extra}[[trusted_keys]]\nname = \"pipeline\"\npublic_key = \"{}\"\n",
            db.url,
            pipeline_key().public_key().to_base64()
        ),
    )
    .expect("config");
}

/// Two different bundles signed for sequence 1: the second is refused by `envcredit import`
/// with an ALARM naming both hashes, and nothing changes (the library-level case is
/// `attacks::equivocation_is_refused`).
fn equivocation_cli(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    write_config(&db, d, "");
    let (first, _) = first_bundle();
    std::fs::write(d.join("b1.json"), &first).expect("write");
    let mut records = records_2024();
    records[2].name = "南湖另一家环境检测有限公司".into();
    let other = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(records),
    ));
    std::fs::write(d.join("b1-other.json"), other.sign(&pipeline_key())).expect("write");

    let out = envcredit(d, &["--config", "envcredit.toml", "import", "b1.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, stored) = head(&db);
    let state_before = std::fs::read(d.join("state.json")).expect("state file written");
    let dump = db.dump();

    let out = envcredit(
        d,
        &["--config", "envcredit.toml", "import", "b1-other.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let alarm = stderr
        .lines()
        .find(|l| l.contains("ALARM"))
        .unwrap_or_else(|| panic!("no ALARM line: {stderr}"));
    let hashes: std::collections::BTreeSet<&str> = alarm
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 64)
        .collect();
    assert_eq!(hashes.len(), 2, "both hashes: {alarm}");
    assert!(
        hashes.contains(stored.as_str()),
        "the accepted one: {alarm}"
    );
    assert!(stderr.contains("[equivocation]"), "{stderr}");
    assert_eq!(db.dump(), dump, "store unchanged");
    assert_eq!(
        std::fs::read(d.join("state.json")).expect("state"),
        state_before
    );
}

#[test]
fn equivocation_through_the_cli_sqlite() {
    equivocation_cli(TestDb::sqlite());
}

#[test]
fn equivocation_through_the_cli_postgresql() {
    if let Some(db) = TestDb::postgresql() {
        equivocation_cli(db);
    }
}

/// `envcredit checkpoint` prints the head as a line to paste; after a restore, `import` brings
/// the database back up to the mark (the bundle at the mark's sequence must be the mark's) and
/// refuses another history.
fn checkpoint_and_catch_up(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    write_config(&db, d, "");
    let mut config = config(&db);
    config.state_file = Some(d.join("state.json").display().to_string());
    let third = two_imported(&db, &config);
    std::fs::write(d.join("b3.json"), &third).expect("write");
    let out = envcredit(d, &["--config", "envcredit.toml", "import", "b3.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (sequence, hash) = head(&db);

    let out = envcredit(d, &["--config", "envcredit.toml", "checkpoint"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = format!("checkpoint = {{ sequence = {sequence}, hash = \"{hash}\" }}\n");
    assert_eq!(text(&out.stdout), line);
    // The line is valid configuration.
    write_config(&db, d, &line);
    let out = envcredit(d, &["--config", "envcredit.toml", "checkpoint"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Restored to bundle 2: another bundle 3 is refused, the right one brings it back.
    delete_bundle(&db, 3);
    let other = Parts::of(&draft(
        Dataset::Evaluation(2025),
        3,
        head_hash(&db),
        Some(schedule_2025()),
        Records::Evaluation(vec![record(1, 9000, 8100)]),
    ));
    std::fs::write(d.join("b3-other.json"), other.sign(&pipeline_key())).expect("write");
    let out = envcredit(
        d,
        &["--config", "envcredit.toml", "import", "b3-other.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("a different history"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(head(&db).0, 2);
    let out = envcredit(d, &["--config", "envcredit.toml", "import", "b3.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(head(&db), (sequence, hash));
}

#[test]
fn checkpoint_and_catching_up_through_the_cli_sqlite() {
    checkpoint_and_catch_up(TestDb::sqlite());
}

#[test]
fn checkpoint_and_catching_up_through_the_cli_postgresql() {
    if let Some(db) = TestDb::postgresql() {
        checkpoint_and_catch_up(db);
    }
}

#[test]
fn serve_and_import_explain_accept_rollback() {
    let dir = tempfile::tempdir().expect("dir");
    for args in [
        &["serve", "--help"][..],
        &["import", "--help"][..],
        &["checkpoint", "--help"][..],
    ] {
        let out = envcredit(dir.path(), args);
        assert!(out.status.success(), "{args:?}");
        if args[0] != "checkpoint" {
            assert!(text(&out.stdout).contains("--accept-rollback"), "{args:?}");
        }
    }
}
