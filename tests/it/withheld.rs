//! Nothing unsigned steers an answer: what is withheld after an integrity failure is decided from
//! signed manifests and the high-water mark, never from the database's own columns, and an answer
//! that depends on data the registry cannot vouch for says `withheld` — never the older or emptier
//! state presented as current, and never a signed "not on the list".
//!
//! Each case tampers with the stored demo chain (1–3 evaluation years, 4 evaluation-2025, 5
//! violations, 6 the dishonesty list) as someone with write access to the database could, then
//! restarts the registry, on SQLite and on PostgreSQL.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use envcredit::bundle::records::Records;
use envcredit::bundle::{Limits, Verified};
use envcredit::config::Config;
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::*;

/// Today for every case: 2026-11-27, when the demo list is in force and 2024's grades are valid.
fn today() -> chrono::NaiveDate {
    date(2026, 11, 27)
}

/// A demo-mode configuration with a receipt key, on this database.
fn demo_config(db: &TestDb, dir: &std::path::Path) -> Config {
    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    config.rate_limit.per_minute = 1_000_000;
    config.rate_limit.burst = 100_000;
    let key = dir.join("receipt.key");
    std::fs::write(&key, format!("{}\n", STANDARD.encode([7u8; 32]))).expect("key file");
    config.receipt_key_file = Some(key);
    if db.url.starts_with("postgres") {
        config.state_file = Some(dir.join("state.json").display().to_string());
    }
    config
}

/// The demo chain imported, the state file following it; the listed institution's code.
fn demo_imported(db: &TestDb, config: &Config) -> String {
    let keys = config.trusted_keys().expect("keys");
    let store = db.store();
    envcredit::demo::import_if_empty(
        &store,
        &keys,
        &config.limits,
        &envcredit::clock::SystemClock,
    )
    .expect("demo imports");
    envcredit::highwater::follow_head(config, &store).expect("mark");
    let (_, list) = envcredit::demo::SHIPPED[5];
    match envcredit::bundle::verify(list, &keys, None, &Limits::default()) {
        Ok(Verified::New(b)) => match &b.records {
            Records::DishonestyList(l) => l[0].code.clone(),
            other => panic!("bundle 6 is not the list: {other:?}"),
        },
        other => panic!("bundle 6 does not verify: {other:?}"),
    }
}

/// The stored envelope of bundle `sequence` with `edit` applied to its envelope JSON, written
/// back in the envelope's layout.
fn edited_envelope(sequence: usize, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (_, bytes) = envcredit::demo::SHIPPED[sequence - 1];
    let mut value: Value = serde_json::from_slice(bytes).expect("json");
    edit(&mut value);
    format!(
        "{{\"payloadType\":{},\"payload\":{},\"signatures\":[{{\"keyid\":{},\"sig\":{}}}],\"records\":{}}}\n",
        value["payloadType"],
        value["payload"],
        value["signatures"][0]["keyid"],
        value["signatures"][0]["sig"],
        value["records"]
    )
    .into_bytes()
}

/// One joint-punishment answer for `code`, with a receipt.
async fn joint(app: &TestApp, code: &str, revision: Option<u64>) -> Value {
    let mut body = json!({"codes": [code], "receipt": true});
    if let Some(revision) = revision {
        body["revision"] = json!(revision);
    }
    let (status, answer) = app.post_json("/api/v1/joint-punishment/batch", &body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The receipt's signed payload.
fn receipt(answer: &Value) -> Value {
    let payload = STANDARD
        .decode(answer["receipt"]["payload"].as_str().expect("receipt"))
        .expect("base64");
    serde_json::from_slice(&payload).expect("json")
}

/// The joint-punishment answer for `code` says withheld, and so does its signed receipt: never
/// "not on the list".
async fn assert_joint_withheld(app: &TestApp, code: &str) {
    let answer = joint(app, code, None).await;
    let item = &answer["items"][0];
    assert_eq!(item["status"], "withheld", "{answer}");
    assert!(item["on_dishonesty_list_in_force"].is_null(), "{answer}");
    let signed = receipt(&answer);
    let text = signed.to_string();
    assert!(text.contains("\"withheld\""), "{signed}");
    assert!(
        !text.contains("on_dishonesty_list_in_force\":false"),
        "{signed}"
    );
}

/// The list, its CSV and its page are withheld.
async fn assert_list_withheld(app: &TestApp) {
    for path in [
        "/api/v1/dishonesty-list",
        "/api/v1/dishonesty-list?state=all",
        "/api/v1/dishonesty-list.csv",
        "/dishonesty-list",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 500, "{path}");
        let body = response.text().await.expect("body");
        assert!(body.contains("withheld"), "{path}: {body}");
    }
}

/// `/healthz` reports the integrity failure with what is withheld; `/readyz` is degraded.
async fn assert_health(app: &TestApp, datasets: Option<&[&str]>) -> Value {
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["status"], "integrity_failure", "{health}");
    assert_ne!(health["high_water"]["status"], "ok", "{health}");
    match datasets {
        None => assert!(health["unverified"]["datasets"].is_null(), "{health}"),
        Some(expected) => assert_eq!(
            health["unverified"]["datasets"],
            json!(expected),
            "{health}"
        ),
    }
    let (status, ready) = app.get_json("/readyz").await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (200, Some("degraded")),
        "{ready}"
    );
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains("envcredit_data_withheld 1"), "{metrics}");
    health
}

/// A flag as of `on` for `code`: status and body.
async fn flag(app: &TestApp, code: &str, on: &str) -> (u16, Value) {
    app.get_json(&format!("/api/v1/flags/{code}?as_of={on}"))
        .await
}

/// The review's attack: the list bundle's stored signature broken and the listed institution's
/// rows deleted. Its dataset can no longer be known from signed bytes, so every answer about
/// the present is withheld; the past, asked by revision, is still answered.
async fn the_attack(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = demo_config(&db, dir.path());
    let listed = demo_imported(&db, &config);
    let broken = edited_envelope(6, |env| {
        let sig = env["signatures"][0]["sig"]
            .as_str()
            .expect("sig")
            .to_string();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        env["signatures"][0]["sig"] = json!(format!("{flipped}{}", &sig[1..]));
    });
    replace_envelope(&db, Some(6), &broken);
    sql(
        &db,
        &format!("DELETE FROM records WHERE sequence = 6 AND code = '{listed}'"),
    );

    let app = spawn_app(config, today()).await;
    assert_joint_withheld(&app, &listed).await;
    assert_list_withheld(&app).await;
    let health = assert_health(&app, None).await;
    assert_eq!(health["unverified"]["from_sequence"], 6, "{health}");
    // Every flag: bundle 6 might have been anything.
    let (status, problem) = flag(&app, &listed, "2026-11-27").await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (500, Some("/problems/integrity"))
    );
    let (status, _) = app
        .get_json(&format!("/api/v1/institutions/{listed}"))
        .await;
    assert_eq!(status, 500);
    // Not even "not found": the unverified bundle might name any code.
    let (status, problem) = flag(&app, &code(9999), "2026-11-27").await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (500, Some("/problems/integrity"))
    );
    let absent = joint(&app, &code(9999), None).await;
    assert_eq!(absent["items"][0]["status"], "withheld", "{absent}");
    // Revision 5 is wholly verified: its answer (no list yet) is given, labelled revision 5.
    let past = joint(&app, &listed, Some(5)).await;
    assert_eq!(past["items"][0]["status"], "found", "{past}");
    assert_eq!(past["data"]["revision"]["sequence"], 5, "{past}");
}
backends!(the_reviewed_attack_answers_withheld, the_attack);

/// The stored dataset column renamed: the signed manifest still says it is the list, so the list
/// (and joint punishment) is withheld, while answers about the evaluation years stand.
async fn dataset_column_renamed(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = demo_config(&db, dir.path());
    let listed = demo_imported(&db, &config);
    sql(
        &db,
        "UPDATE bundles SET dataset = 'violations' WHERE sequence = 6",
    );
    let app = spawn_app(config, today()).await;
    assert_joint_withheld(&app, &listed).await;
    assert_list_withheld(&app).await;
    assert_health(&app, Some(&["dishonesty-list"])).await;
    let (status, answer) = flag(&app, &listed, "2026-11-27").await;
    assert_eq!(status, 200, "{answer}");
    assert_ne!(answer["status"], "withheld", "{answer}");
}
backends!(
    a_renamed_dataset_column_withholds_that_dataset,
    dataset_column_renamed
);

/// The records beside bundle 6's signed manifest altered (one listing dropped and the root left
/// as it was): the manifest still verifies, so exactly the list is withheld.
async fn list_records_altered(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = demo_config(&db, dir.path());
    let listed = demo_imported(&db, &config);
    let broken = edited_envelope(6, |env| {
        let records = STANDARD
            .decode(env["records"].as_str().expect("records"))
            .expect("base64");
        let text = String::from_utf8(records).expect("UTF-8");
        let first_end = text.find("},{").expect("two listings") + 1;
        let rest = format!("[{}", &text[first_end + 1..]);
        env["records"] = json!(STANDARD.encode(rest));
    });
    replace_envelope(&db, Some(6), &broken);
    let app = spawn_app(config, today()).await;
    assert_joint_withheld(&app, &listed).await;
    assert_list_withheld(&app).await;
    assert_health(&app, Some(&["dishonesty-list"])).await;
}
backends!(altered_list_records_withhold_the_list, list_records_altered);

/// Every row of bundle 6 deleted: the signed bundle still verifies, so the list is known; the
/// institutions whose rows are missing are withheld, and never answered as "not on the list".
async fn all_rows_deleted(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = demo_config(&db, dir.path());
    let listed = demo_imported(&db, &config);
    sql(&db, "DELETE FROM records WHERE sequence = 6");
    let app = spawn_app(config, today()).await;
    assert_joint_withheld(&app, &listed).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["status"], "integrity_failure", "{health}");
    assert!(
        health["withheld"].as_u64().is_some_and(|n| n >= 1),
        "{health}"
    );
}
backends!(
    a_bundles_deleted_rows_withhold_its_institutions,
    all_rows_deleted
);

/// Bundle 5 (violations) deleted, row and all: a gap. Bundle 6 can no longer be placed in the
/// chain and what bundle 5 said is unknown, so every dataset is withheld. (With a high-water
/// mark the registry refuses to start on such a database at all, `highwater.rs`; here none is
/// configured, the weakest setting.)
async fn bundle_row_deleted(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = demo_config(&db, dir.path());
    config.state_file = Some("none".into());
    let listed = demo_imported(&db, &config);
    sql(
        &db,
        "DELETE FROM records WHERE sequence = 5; DELETE FROM bundles WHERE sequence = 5;",
    );
    let app = spawn_app(config, today()).await;
    assert_joint_withheld(&app, &listed).await;
    assert_list_withheld(&app).await;
    let health = assert_health(&app, None).await;
    assert_eq!(health["unverified"]["from_sequence"], 5, "{health}");
    let (status, _) = app.get_json("/api/v1/violations").await;
    assert_eq!(status, 500);
}
backends!(
    a_deleted_bundle_row_withholds_everything,
    bundle_row_deleted
);

/// The listed institution's rows moved from bundle 6 to bundle 5: both bundles' rows no longer
/// match what was signed; the institution is withheld, not shown as unlisted.
async fn rows_moved(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = demo_config(&db, dir.path());
    let listed = demo_imported(&db, &config);
    sql(
        &db,
        &format!(
            "UPDATE records SET sequence = 5, leaf_index = leaf_index + 1000 WHERE sequence = 6 AND code = '{listed}'"
        ),
    );
    let app = spawn_app(config, today()).await;
    assert_joint_withheld(&app, &listed).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["status"], "integrity_failure", "{health}");
}
backends!(rows_moved_between_bundles_are_withheld, rows_moved);

/// A broken evaluation bundle (2024's correction, bundle 3): flags on a day 2023's grades are
/// valid are answered, flags on a day 2024's are valid are withheld.
async fn evaluation_year_withheld(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = demo_config(&db, dir.path());
    let listed = demo_imported(&db, &config);
    let broken = edited_envelope(3, |env| {
        let records = STANDARD
            .decode(env["records"].as_str().expect("records"))
            .expect("base64");
        let text = String::from_utf8(records).expect("UTF-8");
        let changed = text.replacen("\"grade\":\"B\"", "\"grade\":\"A\"", 1);
        assert_ne!(changed, text);
        env["records"] = json!(STANDARD.encode(changed));
    });
    replace_envelope(&db, Some(3), &broken);
    let app = spawn_app(config, today()).await;
    let health = assert_health(
        &app,
        Some(&[
            "evaluation-2024",
            "evaluation-2025",
            "dishonesty-list",
            "violations",
        ]),
    )
    .await;
    assert_eq!(health["unverified"]["from_sequence"], 3, "{health}");
    let (_, flags) = app
        .post_json(
            "/api/v1/flags/batch",
            &json!({"items": [
                {"code": listed, "as_of": "2024-06-01"},
                {"code": listed, "as_of": "2025-06-01"}
            ]}),
        )
        .await;
    assert_ne!(flags["items"][0]["status"], "withheld", "{flags}");
    assert_eq!(flags["items"][1]["status"], "withheld", "{flags}");
}
backends!(
    a_broken_year_withholds_the_flags_it_decides,
    evaluation_year_withheld
);
