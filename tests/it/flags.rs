//! Procurement flags and joint-punishment checks (Art. 18, 19, 20) through the real app, on both
//! backends.

use envcredit::bundle::records::{
    Art11Finding, Change, ChangeKind, EvaluationRecord, ListingState, Records,
};
use envcredit::bundle::Dataset;
use envcredit::domain::art11::Art11Ground;
use envcredit::domain::consequences::BidFlag;
use envcredit::domain::score::{Grade, RiskLevel};
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::*;

/// A record put directly at E and high risk by an Art. 11 finding, without scores.
fn art11_record(n: u32, description: &str, determined_on: chrono::NaiveDate) -> EvaluationRecord {
    let mut r = record(n, 9000, 9000);
    r.basic = None;
    r.risk_score = None;
    r.grade = Grade::E;
    r.risk = RiskLevel::High;
    r.art11 = vec![Art11Finding {
        ground: Art11Ground::FalsificationPenalty,
        description: description.to_string(),
        determined_on,
    }];
    r
}

/// 2024 as first published (2024-10-25):
/// 1 A/low (bonus), 2 C/medium (none), 3 E/high (penalty), 4 Art. 11 E/high (penalty),
/// 5 B/medium (none).
fn first_2024() -> Vec<EvaluationRecord> {
    vec![
        record(1, 9250, 8800),
        record(2, 7500, 7000),
        record(3, 5500, 5000),
        art11_record(4, "嘉环罚〔2024〕12号", date(2024, 8, 1)),
        record(5, 8500, 7000),
    ]
}

/// 2025 (3 is absent, 6 is new): 1 C/medium, 2 A/low, 4 Art. 11 again, 5 B/low, 6 A/low.
fn records_2025() -> Vec<EvaluationRecord> {
    vec![
        record(1, 7500, 7000),
        record(2, 9500, 9000),
        art11_record(4, "嘉环罚〔2024〕12号", date(2024, 8, 1)),
        record(5, 8500, 8200),
        record(6, 9100, 9000),
    ]
}

/// The chain the scenarios read:
/// 1. evaluation-2024, published 2024-10-25;
/// 2. the dishonesty list: 3 in force since 2024-11-11; 5 repaired on 2024-12-01;
/// 3. evaluation-2024 changed: 5 corrected to B/low (effective from publication), 2 put at E/high
///    by a new Art. 11 determination effective 2025-03-12;
/// 4. evaluation-2025 in publicity from 2025-09-26;
/// 5. evaluation-2025 published 2025-10-24.
fn import_chain(db: &TestDb, config: &envcredit::config::Config) {
    let y2024 = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(first_2024()),
    ));
    import(db, config, &y2024.sign(&pipeline_key())).expect("2024 imports");

    let mut repaired = listing(5, "嘉环信〔2024〕2号");
    repaired.state = ListingState::Repaired;
    repaired.ended_on = Some(date(2024, 12, 1));
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        y2024.hash(),
        None,
        Records::DishonestyList(vec![listing(3, "嘉环信〔2024〕1号"), repaired]),
    ));
    import(db, config, &list.sign(&pipeline_key())).expect("list imports");

    let mut changed = first_2024();
    changed[1] = art11_record(2, "嘉环罚〔2025〕3号", date(2025, 3, 10));
    changed[1].change = Some(Change {
        kind: ChangeKind::Determination,
        decision_date: date(2025, 3, 10),
        effective_from: date(2025, 3, 12),
        reason: "认定弄虚作假".into(),
        reference: "嘉环罚〔2025〕3号".into(),
    });
    changed[4] = record(5, 8500, 8200);
    changed[4].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 1, 5),
        effective_from: date(2024, 10, 25),
        reason: "复核更正风险评分".into(),
        reference: "嘉环信复〔2025〕1号".into(),
    });
    let correction = Parts::of(&draft(
        Dataset::Evaluation(2024),
        3,
        list.hash(),
        Some(schedule_2024()),
        Records::Evaluation(changed),
    ));
    import(db, config, &correction.sign(&pipeline_key())).expect("changes import");

    let publicity = Parts::of(&draft(
        Dataset::Evaluation(2025),
        4,
        correction.hash(),
        Some(schedule_2025()),
        Records::Evaluation(records_2025()),
    ));
    import(db, config, &publicity.sign(&pipeline_key())).expect("2025 publicity imports");

    let mut final_schedule = schedule_2025();
    final_schedule.publication_date = Some(date(2025, 10, 24));
    let published = Parts::of(&draft(
        Dataset::Evaluation(2025),
        5,
        publicity.hash(),
        Some(final_schedule),
        Records::Evaluation(records_2025()),
    ));
    import(db, config, &published.sign(&pipeline_key())).expect("2025 final imports");
}

async fn flag(app: &TestApp, n: u32, query: &str) -> Value {
    let (status, body) = app
        .get_json(&format!("/api/v1/flags/{}{query}", code(n)))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Art. 18, 19: before, on and after each publication and during the next year's publicity;
/// an institution absent from the new year; a correction; Art. 11 findings.
async fn flags_over_time(db: TestDb) {
    let config = config(&db);
    import_chain(&db, &config);
    let app = spawn_app(config, date(2025, 10, 1)).await;

    // Before the first publication, even while 2024 is in publicity: no valid grade, by rule.
    let before = flag(&app, 1, "?as_of=2024-10-24").await;
    assert_eq!(before["status"], "no_valid_grade", "{before}");
    assert_eq!(before["reason"], "no_published_year");
    let detail = before["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("no evaluation year was published on 2024-10-24"),
        "{detail}"
    );
    assert!(detail.contains("2024 was in publicity"), "{detail}");
    assert_eq!(before["bid_flag"], Value::Null);
    assert_eq!(before["valid_grade"], Value::Null);
    assert_eq!(before["code"], code(1));
    assert_eq!(before["name"], "南湖测试1号环境检测有限公司");
    let long_before = flag(&app, 1, "?as_of=2023-01-01").await;
    assert_eq!(long_before["status"], "no_valid_grade");
    assert!(!long_before["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("publicity"));

    // On the publication day: 2024 is valid, until 2025's publication (known now).
    let on_day = flag(&app, 1, "?as_of=2024-10-25").await;
    assert_eq!(on_day["status"], "found", "{on_day}");
    assert_eq!(on_day["as_of"], "2024-10-25");
    assert_eq!(on_day["bid_flag"], "bonus");
    assert_eq!(on_day["rule_en"], BidFlag::Bonus.rule_en());
    assert_eq!(on_day["rule_zh"], BidFlag::Bonus.rule_zh());
    assert_eq!(on_day["reason"], Value::Null);
    let grade = &on_day["valid_grade"];
    assert_eq!(grade["year"], 2024);
    assert_eq!(grade["grade"]["letter"], "A");
    assert_eq!(grade["risk"]["level"], "low");
    assert_eq!(grade["valid_from"], "2024-10-25");
    assert_eq!(grade["valid_until"], "2025-10-24");
    assert_eq!(grade["change"], Value::Null);
    assert_eq!(grade["record_sequence"], 1);
    assert_eq!(on_day["data"]["revision"]["sequence"], 5);

    // During 2025's publicity (today): still 2024, whatever 2025 says.
    let today = flag(&app, 1, "").await;
    assert_eq!(today["as_of"], "2025-10-01");
    assert_eq!(today["valid_grade"]["year"], 2024);
    assert_eq!(today["bid_flag"], "bonus");
    let last_day = flag(&app, 1, "?as_of=2025-10-23").await;
    assert_eq!(last_day["bid_flag"], "bonus");

    // From 2025's publication day: 2025 for everyone.
    let next = flag(&app, 1, "?as_of=2025-10-24").await;
    assert_eq!(next["valid_grade"]["year"], 2025);
    assert_eq!(next["valid_grade"]["grade"]["letter"], "C");
    assert_eq!(next["valid_grade"]["valid_until"], Value::Null);
    assert_eq!(next["bid_flag"], "none");
    assert_eq!(next["rule_en"], BidFlag::None.rule_en());

    // Absent from 2025: the old penalty holds until 2025 is published, then nothing.
    let absent_before = flag(&app, 3, "?as_of=2025-10-23").await;
    assert_eq!(absent_before["bid_flag"], "penalty");
    assert_eq!(absent_before["rule_en"], BidFlag::Penalty.rule_en());
    let absent = flag(&app, 3, "?as_of=2025-10-24").await;
    assert_eq!(absent["status"], "no_valid_grade", "{absent}");
    assert_eq!(absent["reason"], "no_result_in_valid_year");
    assert!(absent["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("no result in the valid year 2025"));
    assert_eq!(absent["bid_flag"], Value::Null);

    // New in 2025: nothing while 2025 is in publicity, a flag from its publication.
    let newcomer = flag(&app, 6, "").await;
    assert_eq!(newcomer["status"], "no_valid_grade", "{newcomer}");
    assert_eq!(newcomer["reason"], "no_result_in_valid_year");
    let detail = newcomer["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("no result in the valid year 2024"),
        "{detail}"
    );
    assert!(
        detail.contains("its 2025 result was in publicity"),
        "{detail}"
    );
    let newcomer = flag(&app, 6, "?as_of=2025-10-24").await;
    assert_eq!(newcomer["bid_flag"], "bonus");

    // Art. 11: directly E and high risk, so a penalty, without scores.
    let art11 = flag(&app, 4, "?as_of=2025-01-10").await;
    assert_eq!(art11["bid_flag"], "penalty", "{art11}");
    assert_eq!(art11["valid_grade"]["grade"]["letter"], "E");
    assert_eq!(art11["valid_grade"]["risk"]["level"], "high");

    // A correction reaches back to the original publication.
    let corrected = flag(&app, 5, "?as_of=2024-10-25").await;
    assert_eq!(corrected["bid_flag"], "bonus", "{corrected}");
    let change = &corrected["valid_grade"]["change"];
    assert_eq!(change["kind"], "correction");
    assert_eq!(change["reference"], "嘉环信复〔2025〕1号");
    assert_eq!(corrected["valid_grade"]["record_sequence"], 3);

    // A new Art. 11 determination applies from its effective date only.
    let not_yet = flag(&app, 2, "?as_of=2025-03-11").await;
    assert_eq!(not_yet["bid_flag"], "none", "{not_yet}");
    assert_eq!(not_yet["valid_grade"]["change"], Value::Null);
    let determined = flag(&app, 2, "?as_of=2025-03-12").await;
    assert_eq!(determined["bid_flag"], "penalty", "{determined}");
    assert_eq!(determined["valid_grade"]["change"]["kind"], "determination");
}
backends!(flags_follow_articles_18_and_19, flags_over_time);

/// `?revision=` answers as the registry did then, after later bundles changed the answer.
async fn earlier_revisions(db: TestDb) {
    let config = config(&db);
    import_chain(&db, &config);
    let app = spawn_app(config, date(2025, 10, 1)).await;

    // Before the correction (revision 2), 5 was B/medium: no bonus.
    let then = flag(&app, 5, "?as_of=2024-10-25&revision=2").await;
    assert_eq!(then["data"]["revision"]["sequence"], 2);
    assert_eq!(then["bid_flag"], "none", "{then}");
    assert_eq!(then["valid_grade"]["risk"]["level"], "medium");
    assert_eq!(then["valid_grade"]["change"], Value::Null);
    let now = flag(&app, 5, "?as_of=2024-10-25").await;
    assert_eq!(now["bid_flag"], "bonus");

    // At revision 1 no later year was known: 2024 was valid with no end.
    let then = flag(&app, 2, "?as_of=2025-10-24&revision=1").await;
    assert_eq!(then["valid_grade"]["year"], 2024);
    assert_eq!(then["valid_grade"]["valid_until"], Value::Null);
    assert_eq!(then["bid_flag"], "none");
    let now = flag(&app, 2, "?as_of=2025-10-24").await;
    assert_eq!(now["valid_grade"]["year"], 2025);
    assert_eq!(now["bid_flag"], "bonus");

    // At revision 4 2025 was only in publicity: 2024 stayed valid.
    let then = flag(&app, 3, "?as_of=2025-10-24&revision=4").await;
    assert_eq!(then["bid_flag"], "penalty", "{then}");

    for revision in [0, 6, 99] {
        let (status, problem) = app
            .get_json(&format!("/api/v1/flags/{}?revision={revision}", code(1)))
            .await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("not-found")));
    }
}
backends!(an_earlier_revision_reproduces_its_answer, earlier_revisions);

/// Results only in publicity give no flag, and the answer says so.
async fn publicity_only(db: TestDb) {
    let config = config(&db);
    let parts = Parts::of(&draft(
        Dataset::Evaluation(2025),
        1,
        [0; 32],
        Some(schedule_2025()),
        Records::Evaluation(vec![record(1, 9500, 9000)]),
    ));
    import(&db, &config, &parts.sign(&pipeline_key())).expect("imports");
    let app = spawn_app(config, date(2025, 10, 1)).await;
    let body = flag(&app, 1, "").await;
    assert_eq!(body["status"], "no_valid_grade", "{body}");
    assert_eq!(body["reason"], "no_published_year");
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("2025 was in publicity (公示) from 2025-09-26"));
    assert_eq!(body["bid_flag"], Value::Null);
    let csv = app.get("/api/v1/flags.csv").await;
    assert_eq!(csv.status().as_u16(), 200);
    let text = csv.text().await.expect("text");
    assert!(
        !text.contains(&code(1)),
        "no row without a valid grade: {text}"
    );
}
backends!(publicity_gives_no_flag, publicity_only);

async fn single_errors(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    let mut bad = code(1);
    let last = if bad.ends_with('0') { '1' } else { '0' };
    bad.pop();
    bad.push(last);
    let response = app.get(&format!("/api/v1/flags/{bad}")).await;
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some("application/problem+json")
    );
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["type"], "/problems/invalid-code");
    assert_eq!(problem["reason"], "check_character");

    let (status, problem) = app.get_json(&format!("/api/v1/flags/{}", code(99))).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not-found")));

    let (status, problem) = app
        .get_json(&format!("/api/v1/flags/{}?as_of=2025-13-01", code(1)))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("bad-request"))
    );

    // Lowercase with spaces is the same code, answered in its normal form.
    let body = flag(&app, 1, "").await;
    let (status, lower) = app
        .get_json(&format!("/api/v1/flags/%20{}%20", code(1).to_lowercase()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(lower["code"], body["code"]);
}
backends!(single_flag_errors_are_clear, single_errors);

/// The batch: per-item status and date, both body forms, and its limits.
async fn batch(db: TestDb) {
    let config = config(&db);
    import_chain(&db, &config);
    let app = spawn_app(config, date(2025, 10, 1)).await;

    let mut bad = code(1);
    let last = if bad.ends_with('0') { '1' } else { '0' };
    bad.pop();
    bad.push(last);
    let request = json!({
        "as_of": "2025-01-10",
        "items": [
            {"code": code(1)},
            {"code": code(3), "as_of": "2025-10-24"},
            {"code": code(99)},
            {"code": bad},
            {"code": "123"},
            {"code": format!(" {} ", code(4).to_lowercase()), "as_of": "2024-10-24"},
            {"code": code(3)},
        ]
    });
    let (status, body) = app.post_json("/api/v1/flags/batch", &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["revision"]["sequence"], 5);
    assert_eq!(body["total"], 7);
    let items = body["items"].as_array().cloned().unwrap_or_default();
    let statuses: Vec<&str> = items.iter().filter_map(|i| i["status"].as_str()).collect();
    assert_eq!(
        statuses,
        [
            "found",
            "no_valid_grade",
            "not_found",
            "invalid_code",
            "invalid_code",
            "no_valid_grade",
            "found"
        ]
    );
    assert_eq!(items[0]["as_of"], "2025-01-10");
    assert_eq!(items[0]["bid_flag"], "bonus");
    assert_eq!(items[0]["valid_grade"]["year"], 2024);
    assert_eq!(items[1]["as_of"], "2025-10-24");
    assert_eq!(items[1]["reason"], "no_result_in_valid_year");
    assert_eq!(items[2]["code"], code(99));
    assert_eq!(items[2]["name"], Value::Null);
    assert_eq!(items[3]["code"], bad);
    assert_eq!(items[3]["reason"], "check_character");
    assert!(items[3]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("check character")));
    assert_eq!(items[4]["reason"], "length");
    assert_eq!(
        items[5]["code"],
        format!(" {} ", code(4).to_lowercase()),
        "as given"
    );
    assert_eq!(items[5]["reason"], "no_published_year");
    assert_eq!(items[6]["bid_flag"], "penalty");

    // The short form, today by default, at an earlier revision.
    let (status, body) = app
        .post_json(
            "/api/v1/flags/batch",
            &json!({"codes": [code(5)], "revision": 2}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["revision"]["sequence"], 2);
    assert_eq!(body["items"][0]["as_of"], "2025-10-01");
    assert_eq!(body["items"][0]["bid_flag"], "none");

    // 1,000 items (with dates) fit; 1,001 do not.
    let thousand: Vec<Value> = (0..1000)
        .map(|n| json!({"code": code(n), "as_of": "2025-01-10"}))
        .collect();
    let (status, body) = app
        .post_json("/api/v1/flags/batch", &json!({"items": thousand}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1000);
    assert_eq!(body["items"][1]["bid_flag"], "bonus");
    let too_many: Vec<String> = (0..1001).map(code).collect();
    let (status, problem) = app
        .post_json("/api/v1/flags/batch", &json!({"codes": too_many}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("bad-request"))
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("at most 1000")),
        "{problem}"
    );

    for wrong in [
        json!({"codes": [code(1)], "items": [{"code": code(1)}]}),
        json!({"codes": [code(1)], "items": []}),
        json!({"codes": [code(1)], "items": null}),
        json!({"as_of": "2025-01-10"}),
        json!({"codes": [code(1)], "extra": 1}),
        json!({"codes": [code(1)], "as_of": "2025-02-30"}),
        json!({"codes": [1]}),
        json!([code(1)]),
    ] {
        let (status, problem) = app.post_json("/api/v1/flags/batch", &wrong).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("bad-request")),
            "{wrong}"
        );
    }
    let (status, problem) = app
        .post_json("/api/v1/flags/batch", &json!({"codes": [], "revision": 9}))
        .await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not-found")));

    // JSON Schema counts 2.0 as an integer; a fraction or a negative number is not a revision.
    let (status, body) = app
        .post_json(
            "/api/v1/flags/batch",
            &json!({"codes": [code(5)], "revision": 2.0, "as_of": "2024-10-25"}),
        )
        .await;
    assert_eq!(
        (status, body["items"][0]["bid_flag"].as_str()),
        (200, Some("none"))
    );
    for revision in [json!(2.5), json!(-1)] {
        let (status, _) = app
            .post_json(
                "/api/v1/flags/batch",
                &json!({"codes": [], "revision": revision}),
            )
            .await;
        assert_eq!(status, 400, "{revision}");
    }

    let response = app
        .client
        .post(format!("{}/api/v1/flags/batch", app.address))
        .body(json!({"codes": [code(1)]}).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 415, "not sent as JSON");
    let huge = json!({"codes": [" ".repeat(300 * 1024)]});
    let (status, _) = app.post_json("/api/v1/flags/batch", &huge).await;
    assert_eq!(status, 413);

    let response = app
        .client
        .post(format!("{}/api/v1/flags/batch", app.address))
        .header("content-type", "application/json")
        .body("{\"codes\": [")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some("application/problem+json")
    );
}
backends!(batch_answers_each_item, batch);

/// Art. 20: the list in force, D/E with high risk, Art. 11 reasons and decision numbers.
async fn joint_punishment(db: TestDb) {
    let config = config(&db);
    import_chain(&db, &config);
    let app = spawn_app(config, date(2025, 10, 1)).await;

    let request = json!({
        "as_of": "2025-06-01",
        "items": [
            {"code": code(3)},
            {"code": code(5)},
            {"code": code(5), "as_of": "2024-06-01"},
            {"code": code(2)},
            {"code": code(1)},
            {"code": code(3), "as_of": "2025-10-24"},
            {"code": code(99)},
            {"code": "91330402MA000000"},
        ]
    });
    let (status, body) = app
        .post_json("/api/v1/joint-punishment/batch", &request)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["revision"]["sequence"], 5);
    assert_eq!(body["total"], 8);
    let items = body["items"].as_array().cloned().unwrap_or_default();

    // Listed and in force; E/high.
    let listed = &items[0];
    assert_eq!(listed["status"], "found", "{listed}");
    assert_eq!(listed["on_dishonesty_list_in_force"], true);
    assert_eq!(listed["de_high_risk"], true);
    assert_eq!(listed["valid_grade"]["grade"]["letter"], "E");
    assert_eq!(
        listed["listings"][0]["decision_number"],
        "嘉环信〔2024〕1号"
    );
    assert_eq!(listed["listings"][0]["state"], "in_force");
    assert_eq!(listed["listings"][0]["in_force_from"], "2024-11-11");
    assert_eq!(listed["listings"][0]["in_force"], true);
    assert_eq!(listed["art11"], json!([]));

    // Repaired on 2024-12-01: left public display at once (docs/rules.md), so not reported,
    // also as of a date when it was in force.
    let repaired = &items[1];
    assert_eq!(repaired["on_dishonesty_list_in_force"], false, "{repaired}");
    assert_eq!(repaired["listings"], json!([]));
    assert_eq!(repaired["de_high_risk"], false);
    assert_eq!(items[2]["as_of"], "2024-06-01");
    assert_eq!(items[2]["on_dishonesty_list_in_force"], false);
    assert_eq!(items[2]["listings"], json!([]));
    assert_eq!(
        items[2]["valid_grade"],
        Value::Null,
        "before any publication"
    );
    assert_eq!(items[2]["de_high_risk"], false);
    assert_eq!(items[2]["reason"], "no_published_year");

    // A determination made 2 E/high with an Art. 11 reason.
    let determined = &items[3];
    assert_eq!(determined["de_high_risk"], true, "{determined}");
    assert_eq!(determined["on_dishonesty_list_in_force"], false);
    assert_eq!(determined["art11"][0]["ground"], 4);
    assert_eq!(determined["art11"][0]["description"], "嘉环罚〔2025〕3号");
    assert_eq!(determined["art11"][0]["determined_on"], "2025-03-10");
    assert_eq!(determined["valid_grade"]["change"]["kind"], "determination");

    let clean = &items[4];
    assert_eq!(clean["on_dishonesty_list_in_force"], false);
    assert_eq!(clean["de_high_risk"], false);
    assert_eq!(clean["listings"], json!([]));

    // Absent from the valid year: still listed, but no D/E result to share.
    let absent = &items[5];
    assert_eq!(absent["status"], "found");
    assert_eq!(absent["on_dishonesty_list_in_force"], true);
    assert_eq!(absent["de_high_risk"], false);
    assert_eq!(absent["reason"], "no_result_in_valid_year");

    assert_eq!(items[6]["status"], "not_found");
    assert_eq!(items[6]["on_dishonesty_list_in_force"], Value::Null);
    assert_eq!(items[7]["status"], "invalid_code");
    assert_eq!(items[7]["reason"], "length");

    let too_many: Vec<String> = (0..1001).map(code).collect();
    let (status, problem) = app
        .post_json(
            "/api/v1/joint-punishment/batch",
            &json!({"codes": too_many}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("bad-request"))
    );
    let (status, body) = app
        .post_json(
            "/api/v1/joint-punishment/batch",
            &json!({"codes": [code(2)], "revision": 2}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["items"][0]["de_high_risk"], false,
        "before the determination was known"
    );
}
backends!(joint_punishment_batch_checks, joint_punishment);

/// Every institution with a valid grade, one row each; a BOM variant for Excel.
async fn csv(db: TestDb) {
    let config = config(&db);
    import_chain(&db, &config);
    let app = spawn_app(config, date(2025, 10, 1)).await;

    let response = app.get("/api/v1/flags.csv?as_of=2025-01-10").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/csv")));
    let text = response.text().await.expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "code,name,county_code,county,year,grade,risk,bid_flag,valid_from,valid_until,as_of,provisional,revision"
    );
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(
        lines[1],
        format!(
            "{},南湖测试1号环境检测有限公司,330402,南湖区,2024,A,low,bonus,2024-10-25,2025-10-24,2025-01-10,false,5",
            code(1)
        )
    );
    assert!(lines[5].starts_with(&code(5)));
    assert!(
        lines[5].contains(",B,low,bonus,"),
        "corrected: {}",
        lines[5]
    );

    // From 2025's publication, the absent institution has no row; today is the default.
    let text = app
        .get("/api/v1/flags.csv?as_of=2025-10-24")
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(!text.contains(&code(3)));
    // After today (2025-10-01): answered, and provisional.
    assert!(
        text.contains(",2025,C,medium,none,2025-10-24,,2025-10-24,true,5"),
        "{text}"
    );

    let bom = app.get("/api/v1/flags.csv?bom=true").await;
    let bytes = bom.bytes().await.expect("bytes");
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    assert!(String::from_utf8_lossy(&bytes[3..]).starts_with("code,name,"));

    let earlier = app
        .get("/api/v1/flags.csv?as_of=2024-10-25&revision=2")
        .await
        .text()
        .await
        .expect("text");
    assert!(earlier.contains(",B,medium,none,"), "{earlier}");

    let (status, problem) = app.get_json("/api/v1/flags.csv?revision=42").await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not-found")));
    let (status, problem) = app.get_json("/api/v1/flags.csv?nope=1").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("bad-request"))
    );
}
backends!(flags_csv_has_a_row_per_valid_grade, csv);

/// A record edited behind the registry's back: its institution is answered as `withheld`, never
/// as unknown (a hidden penalty must not pass for "no such institution").
async fn withheld(db: TestDb) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let sql = format!("UPDATE records SET grade = 'A' WHERE code = '{}'", code(3));
    if db.url.starts_with("postgres") {
        let mut conn = diesel::PgConnection::establish(&db.url).expect("connect");
        conn.batch_execute(&sql).expect("tamper");
    } else {
        let mut conn = diesel::SqliteConnection::establish(&db.url).expect("connect");
        conn.batch_execute(&sql).expect("tamper");
    }
    let app = spawn_app(config, date(2025, 1, 10)).await;

    let (status, problem) = app.get_json(&format!("/api/v1/flags/{}", code(3))).await;
    assert_eq!((status, problem["code"].as_str()), (500, Some("integrity")));
    let codes = json!({"codes": [code(3), code(1)]});
    let (status, body) = app.post_json("/api/v1/flags/batch", &codes).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["status"], "withheld");
    assert_eq!(body["items"][0]["reason"], "integrity");
    assert_eq!(body["items"][0]["bid_flag"], Value::Null);
    assert_eq!(body["items"][1]["bid_flag"], "bonus");
    let (_, body) = app
        .post_json("/api/v1/joint-punishment/batch", &codes)
        .await;
    assert_eq!(body["items"][0]["status"], "withheld");
    assert_eq!(body["items"][0]["de_high_risk"], Value::Null);
    let text = app
        .get("/api/v1/flags.csv")
        .await
        .text()
        .await
        .expect("text");
    assert!(
        !text.contains(&code(3)) && text.contains(&code(1)),
        "{text}"
    );
}
backends!(withheld_institutions_are_said_to_be_withheld, withheld);
