//! A row changed in the database behind the registry's back is never shown: it is caught at the
//! next start-up or revision change, withheld with a clear integrity error, logged and counted.

use std::time::Duration;

use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;

use crate::backends;
use crate::helpers::*;

/// Runs SQL directly against the test database, as an intruder with database access would.
fn tamper(db: &TestDb, statements: &str) {
    sql(db, statements);
}

async fn assert_withheld(app: &TestApp, n: u32) {
    let (status, problem) = app
        .get_json(&format!("/api/v1/institutions/{}", code(n)))
        .await;
    assert_eq!(status, 500, "{problem}");
    assert_eq!(problem["type"], "/problems/integrity");
    assert!(problem["detail"]
        .as_str()
        .is_some_and(|d| d.contains("withheld")));
    let page = app.get(&format!("/institutions/{}", code(n))).await;
    assert_eq!(page.status().as_u16(), 500);
    let html = page.text().await.expect("html");
    assert!(html.contains("withheld"));
    assert!(
        !html.contains("grade-A"),
        "the tampered grade must not be displayed"
    );
}

async fn grade_column(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    tamper(
        &db,
        &format!("UPDATE records SET grade = 'A' WHERE code = '{}'", code(3)),
    );
    let app = spawn_app(config, date(2025, 1, 10)).await;
    assert_withheld(&app, 3).await;
    // Untouched institutions are still served.
    let (status, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(
        (status, body["standing"]["grade"]["letter"].as_str()),
        (200, Some("A"))
    );
}
backends!(edited_grade_column_is_withheld_at_start, grade_column);

async fn record_json(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    tamper(
        &db,
        &format!(
            "UPDATE records SET record = REPLACE(record, '\"grade\":\"E\"', '\"grade\":\"A\"'), grade = 'A' WHERE code = '{}'",
            code(3)
        ),
    );
    let app = spawn_app(config, date(2025, 1, 10)).await;
    assert_withheld(&app, 3).await;
}
backends!(edited_record_bytes_are_withheld_at_start, record_json);

async fn deleted_row(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    tamper(
        &db,
        &format!("DELETE FROM records WHERE code = '{}'", code(2)),
    );
    let app = spawn_app(config, date(2025, 1, 10)).await;
    assert_withheld(&app, 2).await;
}
backends!(deleted_row_is_withheld_at_start, deleted_row);

async fn envelope_bytes(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    // Swap the stored envelope for the same bundle with one payload byte changed.
    let mut envelope: serde_json::Value = serde_json::from_slice(&bundle).expect("json");
    let payload = envelope["payload"]
        .as_str()
        .expect("payload")
        .replace('A', "B");
    envelope["payload"] = payload.into();
    replace_envelope(&db, None, &serde_json::to_vec(&envelope).expect("json"));
    let app = spawn_app(config, date(2025, 1, 10)).await;
    for n in 1..=3 {
        assert_withheld(&app, n).await;
    }
}
backends!(edited_envelope_withholds_its_records, envelope_bytes);

/// A running instance re-verifies everything when a new revision arrives.
async fn on_revision_change(db: TestDb) {
    let mut config = config(&db);
    config.poll_interval_seconds = 1;
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("imports");
    let app = spawn_app(config.clone(), date(2025, 1, 10)).await;
    let (status, _) = app
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    assert_eq!(status, 200);

    tamper(
        &db,
        &format!("UPDATE records SET grade = 'A' WHERE code = '{}'", code(3)),
    );
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        hash1,
        None,
        Records::DishonestyList(vec![listing(1, "嘉环信〔2024〕9号")]),
    ));
    import(&db, &config, &list.sign(&pipeline_key())).expect("second bundle imports");

    let mut status = 200;
    for _ in 0..50 {
        let (s, body) = app
            .get_json(&format!("/api/v1/institutions/{}", code(1)))
            .await;
        if body["data"]["revision"]["sequence"] == 2 {
            status = app
                .get_json(&format!("/api/v1/institutions/{}", code(3)))
                .await
                .0;
            assert_eq!(s, 200);
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 500,
        "the tampered row is caught when the new revision is loaded"
    );
    assert_withheld(&app, 3).await;
}
backends!(tamper_is_caught_on_revision_change, on_revision_change);

/// The last bundle's envelope corrupted and its rows deleted: the registry serves the verified
/// chain before it, says so in its revision and health, and withholds every institution of the
/// dataset that bundle touched (its current state is unknown) — it never quietly shows an older
/// snapshot as current.
async fn broken_tail(db: TestDb) {
    let config = config(&db);
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("imports");
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        hash1,
        None,
        Records::DishonestyList(vec![listing(1, "嘉环信〔2024〕1号")]),
    ));
    import(&db, &config, &list.sign(&pipeline_key())).expect("imports");
    let mut changed = records_2024();
    changed[1] = record(2, 7600, 7000);
    changed[1].change = Some(envcredit::bundle::records::Change {
        kind: envcredit::bundle::records::ChangeKind::Correction,
        decision_date: date(2025, 1, 5),
        effective_from: date(2024, 10, 25),
        reason: "复核更正".into(),
        reference: "嘉环信复〔2025〕1号".into(),
    });
    let correction = Parts::of(&draft(
        Dataset::Evaluation(2024),
        3,
        list.hash(),
        Some(schedule_2024()),
        Records::Evaluation(changed),
    ));
    import(&db, &config, &correction.sign(&pipeline_key())).expect("imports");

    tamper(&db, "DELETE FROM records WHERE sequence = 3");
    replace_envelope(&db, Some(3), b"{}");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(
        health["revision"].as_str().map(|r| r.starts_with("2-")),
        Some(true),
        "{health}"
    );
    assert!(health["integrity_failures"].as_u64() >= Some(1), "{health}");
    // Every institution of evaluation-2024 is withheld, not shown from the older snapshot.
    for n in 1..=3 {
        assert_withheld(&app, n).await;
    }
}
backends!(a_broken_last_bundle_withholds_its_dataset, broken_tail);

/// The first bundle broken: nothing after it can be placed in a verified chain either.
async fn broken_head(db: TestDb) {
    let config = config(&db);
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("imports");
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        hash1,
        None,
        Records::DishonestyList(vec![listing(4, "嘉环信〔2024〕1号")]),
    ));
    import(&db, &config, &list.sign(&pipeline_key())).expect("imports");
    tamper(&db, "UPDATE records SET record = REPLACE(record, '\"grade\":\"A\"', '\"grade\":\"B\"') WHERE sequence = 1");
    replace_envelope(&db, Some(1), b"{}");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["revision"], serde_json::Value::Null, "{health}");
    assert_eq!(health["integrity_failures"], 2);
    for n in [1, 2, 3, 4] {
        assert_withheld(&app, n).await;
    }
}
backends!(a_broken_first_bundle_withholds_the_chain, broken_head);
