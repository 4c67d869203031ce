//! Import and read through the real app, on both backends.

use envcredit::bundle::records::{Objection, ObjectionStatus, Records};
use envcredit::bundle::Dataset;

use crate::backends;
use crate::helpers::*;

async fn import_then_read(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("valid bundle imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    let (status, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], code(1));
    assert_eq!(body["data"]["revision"]["sequence"], 1);
    assert_eq!(body["data"]["demo_notice"], serde_json::Value::Null);
    assert_eq!(body["as_of"], "2025-01-10");
    let standing = &body["standing"];
    assert_eq!(standing["year"], 2024);
    assert_eq!(standing["grade"]["letter"], "A");
    assert_eq!(standing["grade"]["colour"], "green");
    assert_eq!(standing["risk"]["level"], "low");
    assert_eq!(standing["bid_flag"], "bonus");
    assert_eq!(standing["valid_from"], "2024-10-25");
    assert_eq!(standing["valid_until"], serde_json::Value::Null);
    assert_eq!(body["years"][0]["basic_score"]["total"], "92.50");
    assert_eq!(body["years"][0]["status"], "final");

    let (_, e) = app
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    assert_eq!(e["standing"]["grade"]["letter"], "E");
    assert_eq!(e["standing"]["bid_flag"], "penalty");
    assert_eq!(e["standing"]["joint_punishment_result"], true);
    let (_, c) = app
        .get_json(&format!("/api/v1/institutions/{}", code(2)))
        .await;
    assert_eq!(c["standing"]["bid_flag"], "none");

    // Lowercase and surrounding spaces are accepted in a query.
    let (status, _) = app
        .get_json(&format!(
            "/api/v1/institutions/%20{}",
            code(1).to_lowercase()
        ))
        .await;
    assert_eq!(status, 200);

    let page = app.get(&format!("/institutions/{}", code(1))).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("南湖测试1号环境检测有限公司"));
    assert!(html.contains("grade-A"), "badge class");
    assert!(html.contains("优秀"), "the word beside the colour");
    assert!(!html.contains("DEMO DATA"));

    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
}
backends!(import_then_read_one_bundle, import_then_read);

async fn invalid_and_unknown_codes(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    let mut bad = code(1);
    let last = if bad.ends_with('0') { '1' } else { '0' };
    bad.pop();
    bad.push(last);
    let response = app.get(&format!("/api/v1/institutions/{bad}")).await;
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some("application/problem+json")
    );
    let problem: serde_json::Value = response.json().await.expect("json");
    assert_eq!(problem["type"], "/problems/invalid-code");
    assert_eq!(problem["reason"], "check_character");
    assert!(problem["detail"]
        .as_str()
        .is_some_and(|d| d.contains("check character")));

    let (status, problem) = app.get_json("/api/v1/institutions/123").await;
    assert_eq!((status, problem["reason"].as_str()), (400, Some("length")));

    let (status, problem) = app
        .get_json(&format!("/api/v1/institutions/{}", code(99)))
        .await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not-found")));

    let (status, problem) = app
        .get_json(&format!(
            "/api/v1/institutions/{}?as_of=2025-02-30",
            code(1)
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("bad-request"))
    );

    let page = app.get(&format!("/institutions/{bad}")).await;
    assert_eq!(page.status().as_u16(), 400);
    assert!(page.text().await.expect("html").contains("check character"));
    let page = app.get(&format!("/institutions/{}", code(99))).await;
    assert_eq!(page.status().as_u16(), 404);
}
backends!(
    invalid_and_unknown_codes_are_clear_errors,
    invalid_and_unknown_codes
);

/// Art. 18: a year's grade is valid from its publication until the next year's publication;
/// a year in publicity never gives a valid grade; an institution absent from the new year has
/// none once it is published.
async fn validity(db: TestDb) {
    let config = config(&db);
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("2024 imports");

    // 2025 in publicity: institution 3 is absent; institution 1 drops to C.
    let mut y2025 = vec![record(1, 7500, 7000), record(2, 8500, 8500)];
    let publicity = Parts::of(&draft(
        Dataset::Evaluation(2025),
        2,
        hash1,
        Some(schedule_2025()),
        Records::Evaluation(y2025.clone()),
    ));
    import(&db, &config, &publicity.sign(&pipeline_key())).expect("2025 publicity imports");

    // 2025 final, published 2025-10-24, with an objection upheld for institution 2 (allowed
    // before publication, no change reason needed).
    y2025[1] = record(2, 8600, 8500);
    let mut final_schedule = schedule_2025();
    final_schedule.publication_date = Some(date(2025, 10, 24));
    let mut published = draft(
        Dataset::Evaluation(2025),
        3,
        publicity.hash(),
        Some(final_schedule),
        Records::Evaluation(y2025),
    );
    // Two of 2024's three institutions: a drop the manifest must acknowledge.
    published.count_drop_acknowledged = true;
    let published = Parts::of(&published);
    import(&db, &config, &published.sign(&pipeline_key())).expect("2025 final imports");

    let app = spawn_app(config, date(2025, 10, 1)).await;
    let path = |n: u32, as_of: &str| format!("/api/v1/institutions/{}?as_of={as_of}", code(n));

    let (_, before) = app.get_json(&path(1, "2024-10-24")).await;
    assert_eq!(
        before["standing"],
        serde_json::Value::Null,
        "before the first publication"
    );

    let (_, on_day) = app.get_json(&path(1, "2024-10-25")).await;
    assert_eq!(on_day["standing"]["year"], 2024);

    let (_, last_day) = app.get_json(&path(1, "2025-10-23")).await;
    assert_eq!(last_day["standing"]["year"], 2024);
    assert_eq!(last_day["standing"]["grade"]["letter"], "A");
    assert_eq!(last_day["standing"]["valid_until"], "2025-10-24");

    let (_, next) = app.get_json(&path(1, "2025-10-24")).await;
    assert_eq!(next["standing"]["year"], 2025);
    assert_eq!(next["standing"]["grade"]["letter"], "C");
    assert_eq!(next["standing"]["bid_flag"], "none");

    // Institution 3 kept its E penalty only until 2025 was published.
    let (_, absent_before) = app.get_json(&path(3, "2025-10-23")).await;
    assert_eq!(absent_before["standing"]["bid_flag"], "penalty");
    let (_, absent_after) = app.get_json(&path(3, "2025-10-24")).await;
    assert_eq!(absent_after["standing"], serde_json::Value::Null);

    // Default as-of is "today" from the injected clock.
    let (_, today) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(today["as_of"], "2025-10-01");
    assert_eq!(today["standing"]["year"], 2024);
}
backends!(validity_follows_article_18, validity);

/// Results in publicity are shown, labelled, with the objection deadline, but give no grade.
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
    let (_, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(body["standing"], serde_json::Value::Null);
    assert_eq!(body["years"][0]["status"], "in_publicity");
    assert_eq!(body["years"][0]["objection_deadline"], "2025-10-10");
    assert_eq!(body["years"][0]["grade"]["letter"], "A");
    let html = app
        .get(&format!("/institutions/{}", code(1)))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("公示中"));
    assert!(html.contains("2025-10-10"));
}
backends!(publicity_gives_no_valid_grade, publicity_only);

/// The dishonesty list is shown on the institution, in force only once issued.
async fn listings(db: TestDb) {
    let config = config(&db);
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("imports");
    let parts = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        hash1,
        None,
        Records::DishonestyList(vec![listing(3, "嘉环信〔2024〕1号")]),
    ));
    import(&db, &config, &parts.sign(&pipeline_key())).expect("list imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let (_, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    assert_eq!(body["listings"][0]["decision_number"], "嘉环信〔2024〕1号");
    assert_eq!(body["listings"][0]["in_force"], true);
    let (_, early) = app
        .get_json(&format!(
            "/api/v1/institutions/{}?as_of=2024-03-14",
            code(3)
        ))
        .await;
    assert_eq!(early["listings"][0]["in_force"], false);
}
backends!(dishonesty_listing_shows_on_institution, listings);

/// 2024 (final), then 2025 in publicity with three objections: institution 1's under review
/// (filed 2025-09-29: review due 2025-10-27, across the National Day holidays), institution
/// 2's filed on the last day to object (2025-10-10: due 2025-10-30), institution 3's decided.
pub fn objections_in_publicity(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let (first, hash1) = first_bundle();
    import(db, &config, &first).expect("2024");
    let mut records = records_2024();
    let objection = |status, filed_on, decided_on: Option<chrono::NaiveDate>| Objection {
        status,
        filed_on,
        decided_on,
        outcome: decided_on.map(|_| "复核维持原评价结果".to_string()),
    };
    records[0].objection = Some(objection(
        ObjectionStatus::UnderReview,
        date(2025, 9, 29),
        None,
    ));
    records[1].objection = Some(objection(ObjectionStatus::Filed, date(2025, 10, 10), None));
    records[2].objection = Some(objection(
        ObjectionStatus::Decided,
        date(2025, 9, 30),
        Some(date(2025, 10, 9)),
    ));
    let parts = Parts::of(&draft(
        Dataset::Evaluation(2025),
        2,
        hash1,
        Some(schedule_2025()),
        Records::Evaluation(records),
    ));
    import(db, &config, &parts.sign(&pipeline_key())).expect("2025 in publicity");
    config
}

/// The objection of `institution` in 2025, as the API answers it.
async fn objection_2025(app: &TestApp, institution: u32, query: &str) -> serde_json::Value {
    let (status, body) = app
        .get_json(&format!(
            "/api/v1/institutions/{}{query}",
            code(institution)
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["years"][0]["year"], 2025);
    body["years"][0]["objection"].clone()
}

/// An objection filed or under review carries the bureau's review deadline (15 working days
/// after filing, Art. 16) and whether today is past it; a decided one carries neither.
async fn review_deadline(db: TestDb) {
    let config = objections_in_publicity(&db);
    let app = spawn_app(config.clone(), date(2025, 10, 27)).await;
    let under_review = objection_2025(&app, 1, "").await;
    assert_eq!(under_review["status"], "under_review");
    assert_eq!(under_review["review_deadline"], "2025-10-27");
    assert_eq!(under_review["overdue"], false, "the deadline day itself");
    let filed = objection_2025(&app, 2, "").await;
    assert_eq!(filed["status"], "filed");
    assert_eq!(filed["review_deadline"], "2025-10-30");
    assert_eq!(filed["overdue"], false);
    let decided = objection_2025(&app, 3, "").await;
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["review_deadline"], serde_json::Value::Null);
    assert_eq!(decided["overdue"], serde_json::Value::Null);

    // The next day: past the first deadline, whatever date the question is about.
    let app = spawn_app(config, date(2025, 10, 28)).await;
    for query in ["", "?as_of=2025-10-01"] {
        let under_review = objection_2025(&app, 1, query).await;
        assert_eq!(under_review["review_deadline"], "2025-10-27", "{query}");
        assert_eq!(under_review["overdue"], true, "{query}");
        assert_eq!(objection_2025(&app, 2, query).await["overdue"], false);
        assert_eq!(
            objection_2025(&app, 3, query).await["overdue"],
            serde_json::Value::Null
        );
    }
}
backends!(objection_review_deadline_and_overdue, review_deadline);

/// Names are shown as text everywhere: a name holding markup and quotes is escaped.
async fn escaping(db: TestDb) {
    let config = config(&db);
    let mut evil = record(1, 9250, 8800);
    evil.name = r#"<script>alert("x")</script>' onload="y"#.to_string();
    let parts = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(vec![evil]),
    ));
    import(&db, &config, &parts.sign(&pipeline_key())).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let pages = [
        "/search?q=alert".to_string(),
        "/en/search?q=alert".to_string(),
        "/years/2024".to_string(),
        "/en/years/2024?grade=A".to_string(),
        format!("/institutions/{}", code(1)),
        format!("/en/institutions/{}", code(1)),
    ];
    for path in pages {
        let html = app.get(&path).await.text().await.expect("html");
        assert!(
            !html.contains("<script>"),
            "{path} renders markup from data"
        );
        assert!(
            !html.contains(r#"onload="y"#),
            "{path} renders an attribute from data"
        );
        assert!(
            html.contains("&lt;script&gt;"),
            "{path} shows the name as text"
        );
    }
    let (_, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(body["name"], r#"<script>alert("x")</script>' onload="y"#);
}
backends!(names_are_escaped_in_pages, escaping);

/// A year in publicity says how and until when to object; a final one does not.
async fn how_to_object(db: TestDb) {
    let config = config(&db);
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("2024");
    let publicity = Parts::of(&draft(
        Dataset::Evaluation(2025),
        2,
        hash1,
        Some(schedule_2025()),
        Records::Evaluation(vec![record(1, 9100, 8100)]),
    ));
    import(&db, &config, &publicity.sign(&pipeline_key())).expect("2025");
    let app = spawn_app(config, date(2025, 10, 1)).await;
    let (_, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(body["years"][0]["year"], 2025);
    let en = body["years"][0]["how_to_object"]["en"]
        .as_str()
        .expect("how to object");
    assert!(en.contains("2025-10-10") && en.contains("Art. 16"), "{en}");
    assert!(body["years"][0]["how_to_object"]["zh"]
        .as_str()
        .is_some_and(|zh| zh.contains("书面")));
    assert_eq!(body["years"][1]["how_to_object"], serde_json::Value::Null);
}
backends!(publicity_says_how_to_object, how_to_object);

/// A person finds an institution by a piece of its Chinese name from the search form.
async fn search_page(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let home = app.get("/").await.text().await.expect("html");
    assert!(
        home.contains(r#"action="/search""#),
        "the search form is on every page"
    );
    let page = app.get("/search?q=%E6%B5%8B%E8%AF%952").await; // 测试2
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains(&format!("/institutions/{}", code(2))),
        "{html}"
    );
    assert!(!html.contains(&format!("/institutions/{}", code(1))));
    assert!(html.contains("grade-C"));
    let none = app
        .get("/search?q=%E4%B8%8D%E5%AD%98%E5%9C%A8")
        .await
        .text()
        .await
        .expect("html"); // 不存在
    assert!(none.contains("没有找到"));
    let empty = app.get("/search").await;
    assert_eq!(empty.status().as_u16(), 200);
    let long = app.get(&format!("/search?q={}", "a".repeat(101))).await;
    assert_eq!(long.status().as_u16(), 400);
}
backends!(search_page_finds_by_partial_name, search_page);

/// A spreadsheet must not run what a CSV cell says (OWASP "CSV Injection"): cells that begin
/// with `=`, `+`, `-`, `@`, tab or carriage return get a `'` in front; numbers stay numbers.
async fn csv_cells_are_not_formulas(db: TestDb) {
    let config = config(&db);
    let mut formula = record(1, 9250, 8800);
    formula.name = "=HYPERLINK(\"http://example.com\",\"A\")".to_string();
    let mut sum = record(2, 7500, 7000);
    sum.name = "-2+3".to_string();
    // A negative risk score: its CSV cell is a number, not a formula.
    let negative = record(3, 5500, -500);
    let parts = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(vec![formula, sum, negative]),
    ));
    import(&db, &config, &parts.sign(&pipeline_key())).expect("valid bundle imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    for path in ["/api/v1/years/2024/results.csv", "/api/v1/flags.csv"] {
        let text = app.get(path).await.text().await.expect("csv");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().expect("header row").clone();
        let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        let names: Vec<&str> = rows.iter().map(|r| &r[column("name")]).collect();
        assert!(
            names.contains(&"'=HYPERLINK(\"http://example.com\",\"A\")"),
            "{path}: {text}"
        );
        assert!(
            !names.iter().any(|n| n.starts_with(['=', '-'])),
            "{path}: {text}"
        );
        if path.contains("results") {
            assert_eq!(
                names,
                [
                    "'=HYPERLINK(\"http://example.com\",\"A\")",
                    "'-2+3",
                    "南湖测试3号环境检测有限公司"
                ],
                "{text}"
            );
            assert_eq!(&rows[2][column("risk_score")], "-5.00", "{text}");
        }
    }
    // JSON says what the data says.
    let (_, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(body["name"], "=HYPERLINK(\"http://example.com\",\"A\")");
}
backends!(csv_cells_are_not_formulas, csv_cells_are_not_formulas);
