//! The public's endpoints: search, years and results, lists, statistics, the change feed.

use envcredit::bundle::records::{Change, ChangeKind, ListingState, Records, Violation};
use envcredit::bundle::Dataset;

use crate::backends;
use crate::helpers::*;

/// 2024 (final): three results, institution 2 with a former name holding 监测; a dishonesty
/// list with one listing in force and one repaired; a violation; then a correction of
/// institution 2's 2024 result.
fn seed(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let mut records = records_2024();
    records[1].former_names = vec!["嘉兴市南湖环境监测站".to_string()];
    let first = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(records.clone()),
    ));
    import(db, &config, &first.sign(&pipeline_key())).expect("2024");
    let mut repaired = listing(2, "嘉环信〔2024〕2号");
    repaired.state = envcredit::bundle::records::ListingState::Repaired;
    repaired.ended_on = Some(date(2025, 2, 1));
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        first.hash(),
        None,
        Records::DishonestyList(vec![listing(3, "嘉环信〔2024〕1号"), repaired]),
    ));
    import(db, &config, &list.sign(&pipeline_key())).expect("list");
    let violation = Violation {
        code: code(3),
        name: records[2].name.clone(),
        decision_number: "嘉环罚字〔2024〕9号".into(),
        authority: "嘉兴市生态环境局".into(),
        description: "出具虚假监测报告".into(),
        decided_on: date(2024, 5, 6),
        change: None,
    };
    let violations = Parts::of(&draft(
        Dataset::Violations,
        3,
        list.hash(),
        None,
        Records::Violations(vec![violation]),
    ));
    import(db, &config, &violations.sign(&pipeline_key())).expect("violations");
    records[1] = record(2, 8100, 8100);
    records[1].former_names = vec!["嘉兴市南湖环境监测站".to_string()];
    records[1].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 1, 20),
        effective_from: date(2024, 10, 25),
        reason: "复核更正经营管理项得分".into(),
        reference: "嘉环信复〔2025〕1号".into(),
    });
    let correction = Parts::of(&draft(
        Dataset::Evaluation(2024),
        4,
        violations.hash(),
        Some(schedule_2024()),
        Records::Evaluation(records),
    ));
    import(db, &config, &correction.sign(&pipeline_key())).expect("correction");
    config
}

async fn search(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (status, body) = app
        .get_json("/api/v1/institutions?q=%E6%A3%80%E6%B5%8B")
        .await; // 检测
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 3);
    // 监测 is only in institution 2's former name.
    let (_, body) = app
        .get_json("/api/v1/institutions?q=%E7%9B%91%E6%B5%8B")
        .await;
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(body["items"][0]["code"], code(2));
    // A code prefix, lowercase; a CMA certificate number fragment.
    let prefix = code(1)[..12].to_lowercase();
    let (_, body) = app
        .get_json(&format!("/api/v1/institutions?q={prefix}"))
        .await;
    assert_eq!(body["total"], 3);
    let (_, body) = app.get_json("/api/v1/institutions?q=231112000003").await;
    assert_eq!(body["items"][0]["code"], code(3));
    // Filters on the valid grade, or on a year's result.
    let (_, body) = app.get_json("/api/v1/institutions?grade=A").await;
    assert_eq!(body["total"], 1);
    assert_eq!(body["items"][0]["standing"]["bid_flag"], "bonus");
    let (_, body) = app
        .get_json("/api/v1/institutions?year=2024&risk=high")
        .await;
    assert_eq!(body["total"], 1);
    let (_, body) = app.get_json("/api/v1/institutions?county=330481").await;
    assert_eq!(body["total"], 0);
    // Pagination: stable order by code, a cursor and a next link.
    let (_, first) = app.get_json("/api/v1/institutions?limit=2").await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    assert!(
        first["next_cursor"].as_str().is_some_and(|c| c != code(2)),
        "an opaque cursor: {first}"
    );
    let next = first["next"].as_str().expect("next link").to_string();
    assert!(
        next.contains("revision=4"),
        "the next page is pinned to the revision: {next}"
    );
    let (_, second) = app.get_json(&next).await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["items"][0]["code"], code(3));
    assert_eq!(second["next"], serde_json::Value::Null);
    // Bad parameters are 400 problems with the reason.
    for bad in [
        "limit=0",
        "limit=101",
        "grade=F",
        "county=110000",
        "year=x",
        "nope=1",
    ] {
        let (status, problem) = app.get_json(&format!("/api/v1/institutions?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {problem}");
        assert_eq!(problem["type"], "/problems/bad-request");
    }
    // An earlier revision reproduces the earlier answer: before the correction, 2 was C.
    let (_, now) = app
        .get_json("/api/v1/institutions?q=%E7%9B%91%E6%B5%8B")
        .await;
    assert_eq!(now["items"][0]["standing"]["grade"]["letter"], "B");
    let (_, then) = app
        .get_json("/api/v1/institutions?q=%E7%9B%91%E6%B5%8B&revision=3")
        .await;
    assert_eq!(then["items"][0]["standing"]["grade"]["letter"], "C");
    assert_eq!(then["data"]["revision"]["sequence"], 3);
    let (status, _) = app.get_json("/api/v1/institutions?revision=9").await;
    assert_eq!(status, 404);
}
backends!(search_finds_names_codes_and_certificates, search);

async fn years_and_results(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (_, years) = app.get_json("/api/v1/years").await;
    assert_eq!(years["years"][0]["year"], 2024);
    assert_eq!(years["years"][0]["status"], "final");
    assert_eq!(years["years"][0]["valid_on_as_of"], true);
    let (_, results) = app.get_json("/api/v1/years/2024/results?grade=B").await;
    assert_eq!(results["total"], 1);
    assert_eq!(results["items"][0]["code"], code(2));
    assert_eq!(results["items"][0]["corrected"], true);
    assert_eq!(results["items"][0]["basic_score"], "81.00");
    let (status, _) = app.get_json("/api/v1/years/2019/results").await;
    assert_eq!(status, 404);

    let csv = app.get("/api/v1/years/2024/results.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.expect("csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("year,status,code,name,county_code,county,grade,risk,basic_score,risk_score,art11_grounds,objection,corrected,determined,revision")
    );
    assert_eq!(lines.count(), 3);
    assert!(text.contains("南湖测试1号环境检测有限公司"));
    let bom = app
        .get("/api/v1/years/2024/results.csv?bom=true")
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&bom[..3], b"\xEF\xBB\xBF");
}
backends!(years_results_and_csv, years_and_results);

async fn lists(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (_, in_force) = app.get_json("/api/v1/dishonesty-list").await;
    assert_eq!(in_force["total"], 1, "{in_force}");
    assert_eq!(in_force["items"][0]["code"], code(3));
    // The listing repaired on 2025-02-01 has left public display (docs/rules.md).
    let (_, all) = app.get_json("/api/v1/dishonesty-list?state=all").await;
    assert_eq!(all["total"], 1);
    // Also as of before the repair: display is decided by today.
    let (_, before) = app
        .get_json("/api/v1/dishonesty-list?as_of=2025-01-31")
        .await;
    assert_eq!(before["total"], 1);
    let csv = app
        .get("/api/v1/dishonesty-list.csv?state=all")
        .await
        .text()
        .await
        .expect("csv");
    assert!(csv.starts_with(
        "code,name,decision_number,reason,state,in_force,listed_on,in_force_from,ended_on"
    ));
    assert_eq!(csv.lines().count(), 2);
    let (_, violations) = app.get_json("/api/v1/violations").await;
    assert_eq!(
        violations["items"][0]["decision_number"],
        "嘉环罚字〔2024〕9号"
    );
    let csv = app
        .get("/api/v1/violations.csv")
        .await
        .text()
        .await
        .expect("csv");
    assert!(csv.contains("嘉环罚字〔2024〕9号"));
}
backends!(dishonesty_list_and_violations, lists);

async fn statistics(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (_, stats) = app.get_json("/api/v1/statistics").await;
    let y = &stats["years"][0];
    assert_eq!(y["year"], 2024);
    assert_eq!(y["total"], 3);
    assert_eq!(y["by_grade"]["A"], 1);
    assert_eq!(y["by_grade"]["B"], 1);
    assert_eq!(y["by_grade"]["E"], 1);
    assert_eq!(y["by_risk"]["high"], 1);
    assert_eq!(y["by_county"][0]["county"]["code"], "330402");
    assert_eq!(y["by_county"][0]["by_grade"]["A"], 1);
}
backends!(statistics_count_by_grade_county_and_risk, statistics);

async fn change_feed(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (_, all) = app.get_json("/api/v1/changes").await;
    let kinds: Vec<&str> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        // The repaired listing's event has left display with it.
        [
            "year_published",
            "listing_added",
            "violation_added",
            "correction"
        ],
        "{all}"
    );
    assert_eq!(all["next_since"], 4);
    let (_, since) = app.get_json("/api/v1/changes?since=3").await;
    assert_eq!(since["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(since["events"][0]["code"], code(2));
    assert_eq!(since["events"][0]["reference"], "嘉环信复〔2025〕1号");
    let (_, none) = app.get_json("/api/v1/changes?since=4").await;
    assert_eq!(none["events"].as_array().map(Vec::len), Some(0));
    // Ahead of this instance (another one behind the same address may be): no events, no error.
    let (status, ahead) = app.get_json("/api/v1/changes?since=5").await;
    assert_eq!(status, 200, "{ahead}");
    assert_eq!(ahead["ahead"], true);
    assert_eq!(ahead["events"].as_array().map(Vec::len), Some(0));

    let atom = app.get("/api/v1/changes.atom").await;
    assert_eq!(
        atom.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let xml = atom.text().await.expect("xml");
    assert!(xml.contains("<feed"), "{xml}");
    assert_eq!(xml.matches("<entry>").count(), 4);
    assert!(xml.contains("复核更正经营管理项得分"));
}
backends!(change_feed_json_and_atom, change_feed);

/// An export with no rows still has its header row.
async fn empty_csv(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let csv = app
        .get("/api/v1/years/2024/results.csv?county=330481")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(csv.trim_end(), "year,status,code,name,county_code,county,grade,risk,basic_score,risk_score,art11_grounds,objection,corrected,determined,revision");
    let csv = app
        .get("/api/v1/violations.csv")
        .await
        .text()
        .await
        .expect("csv");
    assert!(csv.starts_with("code,name,decision_number,authority,description,decided_on\n"));
}
backends!(empty_exports_keep_their_header, empty_csv);

/// Display limits (docs/rules.md): a violation decided 2019-06-01 is displayed through
/// 2024-05-31 and gone from every answer on 2024-06-01.
fn seed_old_violation(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let violation = Violation {
        code: code(4),
        name: "南湖测试4号环境检测有限公司".into(),
        decision_number: "嘉环罚字〔2019〕4号".into(),
        authority: "嘉兴市生态环境局".into(),
        description: "出具虚假监测报告".into(),
        decided_on: date(2019, 6, 1),
        change: None,
    };
    let bundle = Parts::of(&draft(
        Dataset::Violations,
        1,
        [0; 32],
        None,
        Records::Violations(vec![violation]),
    ));
    import(db, &config, &bundle.sign(&pipeline_key())).expect("violations");
    config
}

async fn violation_display(db: TestDb) {
    let config = seed_old_violation(&db);
    let decision = "嘉环罚字〔2019〕4号";
    let institution = format!("/api/v1/institutions/{}", code(4));

    let shown = spawn_app(config.clone(), date(2024, 5, 31)).await;
    let (_, list) = shown.get_json("/api/v1/violations").await;
    assert_eq!(list["total"], 1, "{list}");
    let csv = shown
        .get("/api/v1/violations.csv")
        .await
        .text()
        .await
        .expect("csv");
    assert!(csv.contains(decision));
    let (_, inst) = shown.get_json(&institution).await;
    assert_eq!(inst["violations"][0]["decision_number"], decision);
    let (_, feed) = shown.get_json("/api/v1/changes").await;
    assert_eq!(feed["events"][0]["reference"], decision, "{feed}");

    let hidden = spawn_app(config, date(2024, 6, 1)).await;
    let (_, list) = hidden.get_json("/api/v1/violations").await;
    assert_eq!(list["total"], 0, "{list}");
    let csv = hidden
        .get("/api/v1/violations.csv")
        .await
        .text()
        .await
        .expect("csv");
    assert!(!csv.contains(decision));
    let (_, inst) = hidden.get_json(&institution).await;
    assert_eq!(inst["violations"], serde_json::json!([]), "{inst}");
    let (_, then) = hidden
        .get_json(&format!("{institution}?as_of=2020-01-01&revision=1"))
        .await;
    assert_eq!(then["violations"], serde_json::json!([]), "{then}");
    let (_, feed) = hidden.get_json("/api/v1/changes").await;
    assert_eq!(feed["events"], serde_json::json!([]), "{feed}");
    let html = hidden
        .get(&format!("/institutions/{}", code(4)))
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains(decision));
}
backends!(
    a_violation_leaves_display_five_years_after_its_decision,
    violation_display
);

/// The chain: evaluation-2024; the list with 2 in force and 3 (listed 2024-10-28) removed on
/// 2024-12-01; the list with 2 repaired on 2025-02-01.
fn seed_ended_listings(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let first = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(records_2024()),
    ));
    import(db, &config, &first.sign(&pipeline_key())).expect("2024");
    let mut removed = listing(3, "嘉环信〔2024〕3号");
    removed.state = ListingState::Removed;
    removed.ended_on = Some(date(2024, 12, 1));
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        first.hash(),
        None,
        Records::DishonestyList(vec![listing(2, "嘉环信〔2024〕2号"), removed.clone()]),
    ));
    import(db, &config, &list.sign(&pipeline_key())).expect("list");
    let mut repaired = listing(2, "嘉环信〔2024〕2号");
    repaired.state = ListingState::Repaired;
    repaired.ended_on = Some(date(2025, 2, 1));
    let ended = Parts::of(&draft(
        Dataset::DishonestyList,
        3,
        list.hash(),
        None,
        Records::DishonestyList(vec![repaired, removed]),
    ));
    import(db, &config, &ended.sign(&pipeline_key())).expect("ended");
    config
}

async fn post_json(app: &TestApp, path: &str, body: &serde_json::Value) -> serde_json::Value {
    app.client
        .post(format!("{}{path}", app.address))
        .json(body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// A joint-punishment item for a listing in force on its date that has left display since.
fn assert_not_displayed(item: &serde_json::Value) {
    assert_eq!(item["status"], "not_displayed", "{item}");
    assert_eq!(item["reason"], "left_display", "{item}");
    for hidden in ["on_dishonesty_list_in_force", "de_high_risk", "valid_grade"] {
        assert!(item[hidden].is_null(), "{hidden}: {item}");
    }
    assert_eq!(item["listings"], serde_json::json!([]), "{item}");
    assert_eq!(item["art11"], serde_json::json!([]), "{item}");
}

async fn listing_display(db: TestDb) {
    let config = seed_ended_listings(&db);
    let repaired = "嘉环信〔2024〕2号";
    let removed = "嘉环信〔2024〕3号";
    let app = spawn_app(config.clone(), date(2025, 3, 1)).await;

    // The repaired listing is gone from the list, also as of before the repair and at the
    // revision where it was in force; the removed one stays as history.
    for query in [
        "state=all",
        "state=all&as_of=2025-01-01",
        "state=all&revision=2",
    ] {
        let (status, list) = app
            .get_json(&format!("/api/v1/dishonesty-list?{query}"))
            .await;
        assert_eq!(status, 200, "{query}: {list}");
        let numbers: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["decision_number"].as_str())
            .collect();
        assert!(!numbers.contains(&repaired), "{query}: {list}");
    }
    let (_, all) = app.get_json("/api/v1/dishonesty-list?state=all").await;
    assert_eq!(all["total"], 1, "{all}");
    assert_eq!(all["items"][0]["decision_number"], removed);
    assert_eq!(all["items"][0]["state"], "removed");
    assert_eq!(all["items"][0]["in_force"], false);
    // As of a day it was in force: not shown, but counted, never "nobody was on the list".
    let (_, in_force) = app
        .get_json("/api/v1/dishonesty-list?as_of=2025-01-01")
        .await;
    assert_eq!(in_force["total"], 0, "{in_force}");
    assert_eq!(in_force["not_displayed"], 1, "{in_force}");
    let (_, now) = app.get_json("/api/v1/dishonesty-list").await;
    assert_eq!(now["not_displayed"], 0, "{now}");
    let csv = app
        .get("/api/v1/dishonesty-list.csv?state=all&revision=2")
        .await
        .text()
        .await
        .expect("csv");
    assert!(!csv.contains(repaired), "{csv}");
    let csv = app
        .get("/api/v1/dishonesty-list.csv?as_of=2025-01-01")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "code,name,decision_number,reason,state,in_force,listed_on,in_force_from,ended_on,provisional",
            ",,,,not_displayed,true,,,,false",
        ],
        "{csv}"
    );

    // The institution JSON and page.
    for query in ["", "?as_of=2025-01-01", "?revision=2"] {
        let (_, inst) = app
            .get_json(&format!("/api/v1/institutions/{}{query}", code(2)))
            .await;
        assert_eq!(inst["listings"], serde_json::json!([]), "{query}: {inst}");
    }
    let html = app
        .get(&format!("/institutions/{}", code(2)))
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains(repaired));
    let (_, inst) = app
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    assert_eq!(inst["listings"][0]["decision_number"], removed, "{inst}");

    // The joint-punishment batch: never reported; as of when it was in force, `not_displayed`
    // with no details, never "not on the list".
    let batch = post_json(
        &app,
        "/api/v1/joint-punishment/batch",
        &serde_json::json!({"items": [
            {"code": code(2), "as_of": "2025-01-01"},
            {"code": code(3), "as_of": "2024-11-20"},
        ]}),
    )
    .await;
    assert_not_displayed(&batch["items"][0]);
    assert_eq!(
        batch["items"][1]["on_dishonesty_list_in_force"], true,
        "{batch}"
    );
    assert_eq!(batch["items"][1]["listings"][0]["decision_number"], removed);
    let batch = post_json(
        &app,
        "/api/v1/joint-punishment/batch",
        &serde_json::json!({"codes": [code(2)], "revision": 2, "as_of": "2025-01-01"}),
    )
    .await;
    assert_not_displayed(&batch["items"][0]);

    // The change feed: none of the repaired listing's events; the removed one's stay.
    let (_, feed) = app.get_json("/api/v1/changes").await;
    let references: Vec<&str> = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["reference"].as_str())
        .collect();
    assert!(!references.contains(&repaired), "{feed}");
    assert!(references.contains(&removed), "{feed}");
    let atom = app
        .get("/api/v1/changes.atom")
        .await
        .text()
        .await
        .expect("xml");
    assert!(!atom.contains(repaired));

    // The removed listing leaves display 5 years after its listing (2024-10-28).
    let last_day = spawn_app(config.clone(), date(2029, 10, 27)).await;
    let (_, all) = last_day.get_json("/api/v1/dishonesty-list?state=all").await;
    assert_eq!(all["total"], 1, "{all}");
    let gone = spawn_app(config, date(2029, 10, 28)).await;
    let (_, all) = gone.get_json("/api/v1/dishonesty-list?state=all").await;
    assert_eq!(all["total"], 0, "{all}");
    let (_, inst) = gone
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    assert_eq!(inst["listings"], serde_json::json!([]), "{inst}");
}
backends!(
    repaired_listings_leave_display_and_removed_ones_stay_five_years,
    listing_display
);

/// The same past-date question at the same revision gets the same answer on any day after the
/// repaired listing left display: `not_displayed`, in the JSON, the receipt and the list's CSV.
/// Before it left display (a today before the repair) the listing is shown, by the display rule.
async fn not_displayed_any_day(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    seed_ended_listings(&db);
    let config = crate::receipts::config_with_receipts(&db, dir.path());
    let question = serde_json::json!({"revision": 3, "receipt": true, "items": [
        {"code": code(2), "as_of": "2025-01-01"},
        {"code": code(1), "as_of": "2025-01-01"},
    ]});

    let mut seen = Vec::new();
    for today in [date(2026, 6, 1), date(2031, 1, 1)] {
        let app = spawn_app(config.clone(), today).await;
        let batch = post_json(&app, "/api/v1/joint-punishment/batch", &question).await;
        assert_not_displayed(&batch["items"][0]);
        assert_eq!(batch["items"][1]["status"], "found", "{batch}");
        assert_eq!(
            batch["items"][1]["on_dishonesty_list_in_force"], false,
            "{batch}"
        );
        let signed = crate::receipts::payload(&batch);
        assert_eq!(signed["answers"][0]["status"], "not_displayed", "{signed}");
        let (_, list) = app
            .get_json("/api/v1/dishonesty-list?as_of=2025-01-01&revision=3")
            .await;
        assert_eq!(list["not_displayed"], 1, "{list}");
        let csv = app
            .get("/api/v1/dishonesty-list.csv?as_of=2025-01-01&revision=3")
            .await
            .text()
            .await
            .expect("csv");
        seen.push((
            batch["items"].clone(),
            signed["answers"].clone(),
            signed["question"].clone(),
            list["items"].clone(),
            list["not_displayed"].clone(),
            csv,
        ));
    }
    assert_eq!(
        seen[0], seen[1],
        "the same answer on 2026-06-01 and 2031-01-01"
    );

    // While the listing was still displayed (before its repair), it was on the list.
    let app = spawn_app(config, date(2025, 1, 20)).await;
    let batch = post_json(&app, "/api/v1/joint-punishment/batch", &question).await;
    assert_eq!(batch["items"][0]["status"], "found", "{batch}");
    assert_eq!(
        batch["items"][0]["on_dishonesty_list_in_force"], true,
        "{batch}"
    );
    assert_eq!(
        batch["items"][0]["listings"][0]["decision_number"],
        "嘉环信〔2024〕2号"
    );
}
backends!(
    not_displayed_is_the_same_answer_on_any_later_day,
    not_displayed_any_day
);
