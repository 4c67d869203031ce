//! The store on both backends: every scenario runs on SQLite (a temporary file) and on
//! PostgreSQL (a fresh database; skipped loudly when the server does not answer).

use std::sync::{Arc, Barrier};
use std::thread;

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::schema::bundles;
use super::*;
use crate::Error;

/// Generates `sqlite::NAME` and `postgresql::NAME` tests calling `NAME(url)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    // A missing parent directory is created on open.
                    let path = dir.path().join("nested").join("envcredit.sqlite3");
                    super::$name(path.to_str().unwrap());
                }
            )*
        }
        mod postgresql {
            $(
                #[test]
                fn $name() {
                    let Some(db) = crate::store::testdb::postgres() else { return };
                    super::$name(&db.url);
                }
            )*
        }
    };
}

on_both_backends!(
    empty_store,
    open_twice_runs_migrations_once_and_keeps_data,
    round_trip,
    wrong_sequence_is_rejected_and_changes_nothing,
    failure_mid_insert_rolls_back_everything,
    unstorable_input_is_refused_before_the_database,
    chain_reports_gaps_and_bad_hashes,
    racing_importers_one_wins,
    instances_opening_together_migrate_once,
    foreign_keys_are_enforced,
    a_panic_while_holding_the_connection_is_survived,
    migrations_run_up_down_and_up_again,
);

/// Every migration can be reverted and applied again, leaving a working store.
fn migrations_run_up_down_and_up_again(url: &str) {
    let store = Store::open(url).unwrap();
    let target = connection::Target::parse(url).unwrap();
    let mut conn = target.connect().unwrap();
    assert!(connection::revert_all_migrations(&mut conn).unwrap() >= 1);
    assert!(
        store.chain().is_err(),
        "the tables are gone after reverting"
    );
    assert!(connection::run_migrations(&mut conn).unwrap() >= 1);
    drop(conn);
    let store = Store::open(url).unwrap();
    let envelope = envelope(1, "again");
    store.insert_bundle(&input(1, &envelope, rows(3))).unwrap();
    assert_eq!(store.chain().unwrap().len(), 1);
}

/// An envelope of arbitrary bytes (NUL, non-UTF-8) unique to `(sequence, salt)`.
fn envelope(sequence: u64, salt: &str) -> Vec<u8> {
    let mut bytes = vec![0u8, 0xff, 0xfe, b'\n'];
    bytes.extend_from_slice(format!("bundle {sequence} {salt}").as_bytes());
    bytes
}

fn rows(count: u64) -> Vec<RecordRow> {
    (0..count)
        .map(|i| RecordRow {
            leaf_index: i,
            dataset: "evaluation-2024".into(),
            code: format!("91330400MA{i:08}"),
            decision_number: (i % 3 == 0).then(|| format!("嘉环罚〔2024〕{i}号")),
            year: (i % 2 == 0).then_some(2024),
            name: format!("嘉兴市第{i}环境检测有限公司 \"<script>\""),
            county: (i % 5 != 0).then(|| "330402".into()),
            grade: Some(["A", "B", "C", "D", "E"][usize::try_from(i % 5).unwrap()].into()),
            risk: (i % 7 != 0).then(|| "low".into()),
            record: format!(r#"{{"code":"91330400MA{i:08}","name":"\u0001\\\"x"}}"#),
        })
        .collect()
}

fn input(sequence: u64, envelope: &[u8], rows: Vec<RecordRow>) -> StoredBundleInput<'_> {
    StoredBundleInput {
        sequence,
        payload_hash: hex::encode(Sha256::digest(envelope)),
        dataset: "evaluation-2024".into(),
        key_id: "ed25519:0123456789abcdef".into(),
        record_count: u64::try_from(rows.len()).unwrap(),
        envelope,
        imported_at: "2024-06-01T08:00:00Z".into(),
        rows,
    }
}

fn stored(input: &StoredBundleInput<'_>) -> StoredBundle {
    StoredBundle {
        sequence: input.sequence,
        payload_hash: input.payload_hash.clone(),
        dataset: input.dataset.clone(),
        key_id: input.key_id.clone(),
        record_count: input.record_count,
        envelope: input.envelope.to_vec(),
        imported_at: input.imported_at.clone(),
        rows: input.rows.clone(),
    }
}

fn hash_of(input: &StoredBundleInput<'_>) -> crate::bundle::merkle::Hash {
    hex::decode(&input.payload_hash)
        .unwrap()
        .try_into()
        .unwrap()
}

fn assert_rejected_sequence(result: crate::Result<()>) {
    match result {
        Err(Error::Rejected(rejection)) => assert_eq!(rejection.rule, "sequence", "{rejection}"),
        other => panic!("expected a sequence rejection, got {other:?}"),
    }
}

fn empty_store(url: &str) {
    let store = Store::open(url).unwrap();
    assert_eq!(
        store.chain().unwrap(),
        Vec::<crate::bundle::merkle::Hash>::new()
    );
    assert_eq!(store.head().unwrap(), None);
    assert_eq!(store.load().unwrap(), Vec::new());
    assert_eq!(store.dump().unwrap(), "bundles: 0\nrecords: 0\n");
}

fn open_twice_runs_migrations_once_and_keeps_data(url: &str) {
    let env = envelope(1, "a");
    let first = input(1, &env, rows(3));
    {
        let store = Store::open(url).unwrap();
        store.insert_bundle(&first).unwrap();
    }
    let store = Store::open(url).unwrap();
    assert_eq!(store.load().unwrap(), vec![stored(&first)]);
    let again = Store::open(url).unwrap();
    assert_eq!(again.dump().unwrap(), store.dump().unwrap());
}

fn round_trip(url: &str) {
    let store = Store::open(url).unwrap();
    let (e1, e2, e3) = (envelope(1, "a"), envelope(2, "b"), envelope(3, "c"));
    let mut first = input(1, &e1, rows(3));
    first.dataset = "dishonesty-list".into();
    // More rows than one INSERT batch holds, and an empty bundle.
    let second = input(2, &e2, rows(1201));
    let third = input(3, &e3, Vec::new());
    for bundle in [&first, &second, &third] {
        store.insert_bundle(bundle).unwrap();
    }
    assert_eq!(
        store.load().unwrap(),
        vec![stored(&first), stored(&second), stored(&third)]
    );
    assert_eq!(
        store.chain().unwrap(),
        vec![hash_of(&first), hash_of(&second), hash_of(&third)]
    );
    assert_eq!(store.head().unwrap(), Some((3, third.payload_hash.clone())));
    let dump = store.dump().unwrap();
    assert!(dump.starts_with("bundles: 3\n"), "{dump}");
    assert!(dump.contains("records: 1204\n"), "{dump}");
    assert!(dump.contains(&hex::encode(&e2)), "{dump}");
}

fn wrong_sequence_is_rejected_and_changes_nothing(url: &str) {
    let store = Store::open(url).unwrap();
    let e1 = envelope(1, "a");
    store.insert_bundle(&input(1, &e1, rows(2))).unwrap();
    let before = store.dump().unwrap();

    let ahead = envelope(3, "a");
    assert_rejected_sequence(store.insert_bundle(&input(3, &ahead, rows(2))));
    let again = envelope(1, "other");
    assert_rejected_sequence(store.insert_bundle(&input(1, &again, rows(2))));
    let zero = envelope(0, "a");
    assert_rejected_sequence(store.insert_bundle(&input(0, &zero, rows(2))));

    assert_eq!(store.dump().unwrap(), before);
    assert_eq!(store.head().unwrap().map(|(sequence, _)| sequence), Some(1));
}

fn failure_mid_insert_rolls_back_everything(url: &str) {
    let store = Store::open(url).unwrap();
    let e1 = envelope(1, "a");
    let first = input(1, &e1, rows(2));
    store.insert_bundle(&first).unwrap();
    let before = store.dump().unwrap();

    // The duplicate is in the third INSERT batch: the bundle row and two batches are written
    // before the database refuses it.
    let e2 = envelope(2, "a");
    let mut duplicate = rows(1200);
    duplicate[1100].leaf_index = 5;
    let result = store.insert_bundle(&input(2, &e2, duplicate));
    assert!(matches!(result, Err(Error::Database(_))), "{result:?}");
    assert_eq!(store.dump().unwrap(), before);

    // The same payload hash as an accepted bundle: refused by the unique constraint.
    let mut same_hash = input(2, &e2, rows(2));
    same_hash.payload_hash = first.payload_hash.clone();
    let result = store.insert_bundle(&same_hash);
    assert!(matches!(result, Err(Error::Database(_))), "{result:?}");
    assert_eq!(store.dump().unwrap(), before);

    // The connection is still usable, and the sequence number is free again.
    let good = input(2, &e2, rows(3));
    store.insert_bundle(&good).unwrap();
    assert_eq!(store.load().unwrap(), vec![stored(&first), stored(&good)]);
}

fn unstorable_input_is_refused_before_the_database(url: &str) {
    let store = Store::open(url).unwrap();
    let e1 = envelope(1, "a");
    let before = store.dump().unwrap();

    let mut bad_hash = input(1, &e1, rows(1));
    bad_hash.payload_hash = bad_hash.payload_hash.to_uppercase();
    let mut huge_count = input(1, &e1, rows(1));
    huge_count.record_count = u64::MAX;
    let mut huge_leaf = rows(2);
    huge_leaf[1].leaf_index = u64::MAX;
    let huge_leaf = input(1, &e1, huge_leaf);
    let huge_sequence = input(u64::MAX, &e1, rows(1));
    for bundle in [&bad_hash, &huge_count, &huge_leaf, &huge_sequence] {
        let result = store.insert_bundle(bundle);
        assert!(matches!(result, Err(Error::Integrity(_))), "{result:?}");
    }
    assert_eq!(store.dump().unwrap(), before);
}

/// Edits behind the store's back, as an operator with database access could.
fn tamper(store: &Store, edit: impl FnOnce(&mut DbConnection) -> QueryResult<usize>) {
    let mut slot = store.conn.lock().unwrap();
    let conn = slot.as_mut().expect("connected");
    assert_eq!(edit(conn).unwrap(), 1);
}

fn chain_reports_gaps_and_bad_hashes(url: &str) {
    let store = Store::open(url).unwrap();
    let (e1, e2, e3) = (envelope(1, "a"), envelope(2, "b"), envelope(3, "c"));
    store.insert_bundle(&input(1, &e1, rows(1))).unwrap();
    store.insert_bundle(&input(2, &e2, Vec::new())).unwrap();
    store.insert_bundle(&input(3, &e3, rows(1))).unwrap();

    tamper(&store, |conn| {
        diesel::delete(bundles::table.filter(bundles::sequence.eq(2))).execute(conn)
    });
    match store.chain() {
        Err(Error::Integrity(message)) => {
            assert!(message.contains("sequence 2 is missing"), "{message}")
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }

    tamper(&store, |conn| {
        diesel::update(bundles::table.filter(bundles::sequence.eq(1)))
            .set(bundles::payload_hash.eq("zz".repeat(32)))
            .execute(conn)
    });
    match store.chain() {
        Err(Error::Integrity(message)) => assert!(message.contains("sequence 1"), "{message}"),
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

fn racing_importers_one_wins(url: &str) {
    const IMPORTERS: usize = 3;
    let stores: Vec<Arc<Store>> = (0..IMPORTERS)
        .map(|_| Arc::new(Store::open(url).unwrap()))
        .collect();
    for sequence in 1..=4_u64 {
        let barrier = Arc::new(Barrier::new(IMPORTERS));
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(importer, store)| {
                let (store, barrier) = (Arc::clone(store), Arc::clone(&barrier));
                thread::spawn(move || {
                    let env = envelope(sequence, &format!("importer {importer}"));
                    let bundle = input(sequence, &env, rows(600));
                    barrier.wait();
                    store.insert_bundle(&bundle)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        for result in results.into_iter().filter(Result::is_err) {
            assert_rejected_sequence(result);
        }
    }
    let loaded = stores[0].load().unwrap();
    assert_eq!(
        loaded.iter().map(|b| b.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(loaded.iter().all(|b| b.rows.len() == 600));
}

fn instances_opening_together_migrate_once(url: &str) {
    const INSTANCES: usize = 4;
    let barrier = Arc::new(Barrier::new(INSTANCES));
    let handles: Vec<_> = (0..INSTANCES)
        .map(|_| {
            let (url, barrier) = (url.to_string(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                Store::open(&url).map(|store| store.head())
            })
        })
        .collect();
    for handle in handles {
        let opened = handle.join().unwrap();
        assert!(matches!(opened, Ok(Ok(None))), "{opened:?}");
    }
}

fn foreign_keys_are_enforced(url: &str) {
    let store = Store::open(url).unwrap();
    let orphan = rows(1);
    let orphan = models::NewRecord::new(7, &orphan[0]).unwrap();
    let mut slot = store.conn.lock().unwrap();
    let conn = slot.as_mut().expect("connected");
    let result = diesel::insert_into(super::schema::records::table)
        .values(&orphan)
        .execute(conn);
    assert!(result.is_err(), "a record without its bundle was stored");
}

fn a_panic_while_holding_the_connection_is_survived(url: &str) {
    let store = Store::open(url).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _conn = store.conn.lock().unwrap();
        panic!("a panic while the connection is in use");
    }));
    assert!(panicked.is_err());
    assert!(store.conn.is_poisoned());
    assert_eq!(store.head().unwrap(), None);
    assert!(!store.conn.is_poisoned());
}

#[test]
fn sqlite_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.sqlite3");
    let store = Store::open(path.to_str().unwrap()).unwrap();
    let e1 = envelope(1, "a");
    store.insert_bundle(&input(1, &e1, rows(1))).unwrap();
    assert!(dir.path().join("x.sqlite3-wal").exists());
}

#[test]
fn postgresql_connection_lost_is_replaced() {
    let Some(db) = testdb::postgres() else { return };
    let store = Store::open(&db.url).unwrap();
    let mut killer = PgConnection::establish(&db.url).unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut killer)
    .unwrap();
    assert!(matches!(store.head(), Err(Error::Database(_))));
    assert_eq!(store.head().unwrap(), None);
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
}

#[test]
fn sqlite_urls_open_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("x.sqlite3");
    let path = path.to_str().unwrap();
    let e1 = envelope(1, "a");
    let store = Store::open(&format!("sqlite://{path}")).unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.insert_bundle(&input(1, &e1, rows(1))).unwrap();
    let dump = store.dump().unwrap();
    drop(store);
    for url in [path.to_string(), format!("file:{path}")] {
        assert_eq!(Store::open(&url).unwrap().dump().unwrap(), dump, "{url}");
    }
}

#[test]
fn postgresql_backend_is_reported() {
    let Some(db) = testdb::postgres() else { return };
    assert_eq!(Store::open(&db.url).unwrap().backend(), Backend::Postgresql);
}
