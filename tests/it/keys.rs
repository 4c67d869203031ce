//! The key lifecycle end to end: rotation (old bundles stay valid, new ones need the new key),
//! revocation by a sequence cutoff (a stolen key can neither sign ahead nor re-sign the past),
//! a stolen key's bundle accepted before the revocation withheld at the next start, and the
//! trusted keys with their ranges published at `/api/v1/keys`.

use envcredit::bundle::envelope::SigningKey;
use envcredit::bundle::merkle::Hash;
use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;
use envcredit::config::Config;
use envcredit::highwater::ImportGuard;

use crate::backends;
use crate::helpers::*;

/// The key that takes over from sequence 3.
fn next_key() -> SigningKey {
    stranger_key()
}

fn head_hash(db: &TestDb) -> Hash {
    let (_, hash) = db.store().head().expect("head").expect("a bundle");
    hex::decode(hash)
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

fn second(previous: Hash, decision: &str) -> Parts {
    Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        previous,
        None,
        Records::DishonestyList(vec![listing(1, decision)]),
    ))
}

fn third(previous: Hash, total: i64) -> Parts {
    Parts::of(&draft(
        Dataset::Evaluation(2025),
        3,
        previous,
        Some(schedule_2025()),
        Records::Evaluation(vec![
            record(1, total, 8100),
            record(2, 8400, 6500),
            record(3, 6300, 5900),
        ]),
    ))
}

/// Key 1 trusted for `1..=until` (open with `None`), key 2 from `until + 1` when closed.
fn keys_config(db: &TestDb, until: Option<u64>) -> Config {
    let mut config = config(db);
    config.trusted_keys = vec![trusted(&pipeline_key(), "pipeline-1", 1, until)];
    if let Some(until) = until {
        config
            .trusted_keys
            .push(trusted(&next_key(), "pipeline-2", until + 1, None));
    }
    config
}

fn rule(result: envcredit::Result<envcredit::import::Outcome>) -> String {
    match result {
        Err(envcredit::Error::Rejected(r)) => r.rule.to_string(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Bundles 1 and 2 by key 1.
fn first_two(db: &TestDb, config: &Config) {
    let (first, _) = first_bundle();
    import(db, config, &first).expect("bundle 1 by key 1");
    let list = second(head_hash(db), "嘉环信〔2024〕1号");
    import(db, config, &list.sign(&pipeline_key())).expect("bundle 2 by key 1");
}

/// Rotation: key 1 for 1..=2, key 2 from 3.
async fn rotation(db: TestDb) {
    let config = keys_config(&db, Some(2));
    first_two(&db, &config);
    let bundle3 = third(head_hash(&db), 9100);
    let before = db.dump();
    assert_eq!(
        rule(import(&db, &config, &bundle3.sign(&pipeline_key()))),
        "key_not_trusted_for_sequence"
    );
    assert_eq!(db.dump(), before);
    import(&db, &config, &bundle3.sign(&next_key())).expect("bundle 3 by key 2");

    // The server re-verifies all three at start, each with the key trusted for it.
    let app = spawn_app(config, date(2026, 1, 10)).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["integrity_failures"], 0, "{health}");
    assert!(health["revision"]
        .as_str()
        .is_some_and(|r| r.starts_with("3-")));
    let (status, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["revision"]["sequence"], 3);

    let (status, keys) = app.get_json("/api/v1/keys").await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(keys["next_sequence"], 4);
    assert_eq!(keys["demo_notice"], serde_json::Value::Null);
    let keys = keys["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["name"], "pipeline-1");
    assert_eq!(
        keys[0]["public_key"],
        pipeline_key().public_key().to_base64()
    );
    assert_eq!(keys[0]["key_id"], pipeline_key().public_key().key_id());
    assert_eq!(
        (&keys[0]["from_seq"], &keys[0]["until_seq"]),
        (&1.into(), &2.into())
    );
    assert_eq!(keys[0]["accepting"], false);
    assert_eq!(keys[1]["name"], "pipeline-2");
    assert_eq!(keys[1]["key_id"], next_key().public_key().key_id());
    assert_eq!(keys[1]["from_seq"], 3);
    assert_eq!(keys[1]["until_seq"], serde_json::Value::Null);
    assert_eq!(keys[1]["accepting"], true);
}
backends!(rotation_keeps_old_bundles_and_needs_the_new_key, rotation);

/// Revocation after bundle 2: a stolen key 1 can neither sign bundle 3 nor re-sign bundle 2
/// differently; the bundles it signed before stay valid.
async fn revocation(db: TestDb) {
    let open = keys_config(&db, None);
    first_two(&db, &open);
    let previous = {
        let chain = db.store().chain().expect("chain");
        chain[0]
    };
    let revoked = keys_config(&db, Some(2));
    let before = db.dump();
    let stolen3 = third(head_hash(&db), 9100).sign(&pipeline_key());
    assert_eq!(
        rule(import(&db, &revoked, &stolen3)),
        "key_not_trusted_for_sequence"
    );
    let stolen2 = second(previous, "嘉环信〔2024〕8号").sign(&pipeline_key());
    assert_eq!(rule(import(&db, &revoked, &stolen2)), "equivocation");
    assert_eq!(db.dump(), before);

    let app = spawn_app(revoked, date(2026, 1, 10)).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["integrity_failures"], 0, "{health}");
    assert!(health["revision"]
        .as_str()
        .is_some_and(|r| r.starts_with("2-")));
    let (_, keys) = app.get_json("/api/v1/keys").await;
    assert_eq!(keys["next_sequence"], 3);
    assert_eq!(keys["keys"][0]["accepting"], false);
    assert_eq!(keys["keys"][1]["accepting"], true);
}
backends!(
    a_revoked_key_cannot_sign_ahead_or_resign_the_past,
    revocation
);

/// A stolen key signed bundle 3 and it was accepted before anyone knew; the key is then revoked
/// at the last sequence known good (2). At the next start, re-verification withholds bundle 3
/// and everything of its dataset; removing it and importing the pipeline's re-issued bundle 3
/// (another history at the mark's sequence) needs `--accept-rollback`.
async fn stolen_key_found_out_late(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let mut open = keys_config(&db, None);
    open.state_file = Some(dir.path().join("state.json").display().to_string());
    first_two(&db, &open);
    let previous = head_hash(&db);
    import(&db, &open, &third(previous, 9100).sign(&pipeline_key())).expect("accepted then");

    let mut revoked = keys_config(&db, Some(2));
    revoked.state_file = open.state_file.clone();
    let app = spawn_app(revoked.clone(), date(2026, 1, 10)).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["integrity_failures"], 1, "{health}");
    assert!(health["revision"]
        .as_str()
        .is_some_and(|r| r.starts_with("2-")));
    let (status, problem) = app
        .get_json(&format!("/api/v1/institutions/{}", code(2)))
        .await;
    assert_eq!(status, 500, "{problem}");
    assert_eq!(problem["type"], "/problems/integrity");

    // The operator removes it; the re-issued bundle 3 is another history at the mark's sequence.
    crate::highwater::delete_bundle(&db, 3);
    let reissued = third(previous, 9200).sign(&next_key());
    let store = db.store();
    let guard = ImportGuard::before_import(&revoked, &store).expect("behind: catching up");
    assert!(guard.catching_up());
    let verified = envcredit::import::check_bundle(
        &store,
        &reissued,
        &revoked.trusted_keys().expect("keys"),
        &revoked.limits,
        chrono::Utc::now(),
    )
    .expect("verifies");
    let envcredit::bundle::Verified::New(b) = verified else {
        panic!("not new");
    };
    let refusal = guard.admit(3, &b.hash_hex()).expect_err("another history");
    assert!(
        refusal.to_string().contains("different history"),
        "{refusal}"
    );

    revoked.accept_rollback = true;
    let mut guard = ImportGuard::before_import(&revoked, &store).expect("accepted knowingly");
    assert!(!guard.catching_up());
    import(&db, &revoked, &reissued).expect("the re-issued bundle 3");
    guard.committed(&store).expect("mark advanced");
    revoked.accept_rollback = false;
    let app = spawn_app(revoked, date(2026, 1, 10)).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["integrity_failures"], 0, "{health}");
    assert_eq!(health["high_water"]["status"], "ok");
    assert!(health["revision"]
        .as_str()
        .is_some_and(|r| r.starts_with("3-")));
}
backends!(
    a_stolen_keys_bundle_accepted_before_revocation_is_withheld,
    stolen_key_found_out_late
);
