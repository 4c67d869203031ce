//! The public history is exact: each change of a result shows what it set (not the current
//! grade), corrections and determinations are told apart in words and fields, and the change
//! feed and the home page say what happened and date it by the signed date it happened on.

use envcredit::bundle::records::{
    Art11Finding, Change, ChangeKind, EvaluationRecord, ListingState, Records, Violation,
};
use envcredit::bundle::Dataset;
use envcredit::domain::art11::Art11Ground;

use crate::backends;
use crate::helpers::*;

/// The seeded bundles, all made on 2025-10-24 ([`created_at`]):
/// 1. evaluation-2024, published 2024-10-25: 1 A/low, 2 C/medium, 3 E/high;
/// 2. evaluation-2024: a determination (Art. 11, decided 2025-03-12) puts 1 and 2 at E/high;
/// 3. evaluation-2024: corrections (decided 2025-06-10) set 1 to B/low and 3 to D/medium;
/// 4. evaluation-2025 in publicity from 2025-09-26;
/// 5. dishonesty-list: 6 in force since 2024-11-11, 7 newly in publicity (2025-10-20);
/// 6. violations: 3, decided 2024-05-06.
fn seed(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let mut records = records_2024();
    let mut previous = [0; 32];
    let mut sequence = 0;
    let mut next = |dataset, schedule, records| {
        sequence += 1;
        let parts = Parts::of(&draft(dataset, sequence, previous, schedule, records));
        import(db, &config, &parts.sign(&pipeline_key()))
            .unwrap_or_else(|e| panic!("bundle {sequence}: {e}"));
        previous = parts.hash();
    };
    next(
        Dataset::Evaluation(2024),
        Some(schedule_2024()),
        Records::Evaluation(records.clone()),
    );
    for r in &mut records[..2] {
        determine(r);
    }
    next(
        Dataset::Evaluation(2024),
        Some(schedule_2024()),
        Records::Evaluation(records.clone()),
    );
    records[0] = corrected(record(1, 8500, 8200));
    records[2] = corrected(record(3, 6500, 6500));
    next(
        Dataset::Evaluation(2024),
        Some(schedule_2024()),
        Records::Evaluation(records.clone()),
    );
    next(
        Dataset::Evaluation(2025),
        Some(schedule_2025()),
        Records::Evaluation(records_2024()),
    );
    let mut proposed = listing(7, "嘉环信〔2025〕4号");
    proposed.state = ListingState::Publicity;
    proposed.listed_on = date(2025, 10, 20);
    proposed.in_force_from = None;
    next(
        Dataset::DishonestyList,
        None,
        Records::DishonestyList(vec![listing(6, "嘉环信〔2024〕1号"), proposed]),
    );
    next(
        Dataset::Violations,
        None,
        Records::Violations(vec![Violation {
            code: code(3),
            name: records[2].name.clone(),
            decision_number: "嘉环罚字〔2024〕9号".into(),
            authority: "嘉兴市生态环境局".into(),
            description: "出具虚假监测报告".into(),
            decided_on: date(2024, 5, 6),
            change: None,
        }]),
    );
    config
}

/// A new Art. 11 finding: directly E and high risk from 2025-03-12.
fn determine(r: &mut EvaluationRecord) {
    r.art11 = vec![Art11Finding {
        ground: Art11Ground::FalsificationPenalty,
        description: "嘉环罚字〔2025〕3号：篡改原始监测记录".into(),
        determined_on: date(2025, 3, 12),
    }];
    r.grade = envcredit::domain::score::Grade::E;
    r.risk = envcredit::domain::score::RiskLevel::High;
    r.change = Some(Change {
        kind: ChangeKind::Determination,
        decision_date: date(2025, 3, 12),
        effective_from: date(2025, 3, 12),
        reason: "经核实受到弄虚作假行政处罚（第十一条第4项）".into(),
        reference: "嘉环罚字〔2025〕3号".into(),
    });
}

/// A correction after review: effective from the 2024 publication.
fn corrected(mut r: EvaluationRecord) -> EvaluationRecord {
    r.change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 6, 10),
        effective_from: date(2024, 10, 25),
        reason: "复核更正评分".into(),
        reference: "嘉环信复〔2025〕7号".into(),
    });
    r
}

/// The app on 2025-10-25, the day after the bundles were made.
async fn app(db: &TestDb) -> TestApp {
    spawn_app(seed(db), date(2025, 10, 25)).await
}

async fn html(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.text().await.expect("html")
}

/// The `<p class="change">` lines of a page, in order.
fn change_lines(html: &str) -> Vec<&str> {
    html.split("<p class=\"change\">")
        .skip(1)
        .map(|rest| &rest[..rest.find("</p>").expect("end of line")])
        .collect()
}

/// The grade letters and risk levels a line shows, in order, from their badges.
fn badges(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in line.match_indices("class=\"") {
        let class = &line[at + 7..];
        let class = &class[..class.find('"').expect("class")];
        for word in class.split(' ') {
            if let Some(v) = word
                .strip_prefix("grade-")
                .or_else(|| word.strip_prefix("risk-"))
            {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// The text of the year's heading on an institution page.
fn heading(html: &str, year: i32) -> &str {
    let marker = format!("<h3 id=\"year-{year}\">");
    let at = html.find(&marker).expect("year heading") + marker.len();
    &html[at..at + html[at..].find("</h3>").expect("end")]
}

async fn two_changes(db: TestDb) {
    let app = app(&db).await;
    let (status, body) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(status, 200, "{body}");
    let y2024 = &body["years"][1];
    assert_eq!(y2024["year"], 2024, "{body}");
    assert_eq!(y2024["grade"]["letter"], "B");
    let changes = y2024["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2, "{y2024}");
    // The determination set E/high (not the B of the later correction), from A/low.
    let set = |c: &serde_json::Value| {
        [
            c["from"]["grade"]["letter"].clone(),
            c["from"]["risk"]["level"].clone(),
            c["to"]["grade"]["letter"].clone(),
            c["to"]["risk"]["level"].clone(),
        ]
    };
    assert_eq!(changes[0]["kind"], "determination");
    assert_eq!(changes[0]["sequence"], 2);
    assert_eq!(
        set(&changes[0]),
        ["A", "low", "E", "high"],
        "{}",
        changes[0]
    );
    assert_eq!(changes[1]["kind"], "correction");
    assert_eq!(changes[1]["sequence"], 3);
    assert_eq!(
        set(&changes[1]),
        ["E", "high", "B", "low"],
        "{}",
        changes[1]
    );
    assert_eq!(changes[1]["to"]["grade"]["word_en"], "good");
    // The old fields stay, meaning what they meant: the grade and risk before the change.
    assert_eq!(changes[0]["previous_grade"], "A");
    assert_eq!(changes[0]["previous_risk"], "low");
    assert_eq!(changes[1]["previous_grade"], "E");
    assert_eq!(changes[1]["previous_risk"], "high");

    // The page prints each line with what that change set, in both languages.
    for (path, determination, correction) in [
        (format!("/institutions/{}", code(1)), "新的认定：", "更正："),
        (
            format!("/en/institutions/{}", code(1)),
            "New determination:",
            "Correction:",
        ),
    ] {
        let page = html(&app, &path).await;
        let lines = change_lines(&page);
        assert_eq!(lines.len(), 2, "{page}");
        assert!(lines[0].contains(determination), "{}", lines[0]);
        assert_eq!(badges(lines[0]), ["A", "low", "E", "high"], "{}", lines[0]);
        assert!(lines[0].contains("嘉环罚字〔2025〕3号"), "{}", lines[0]);
        assert!(lines[1].contains(correction), "{}", lines[1]);
        assert_eq!(badges(lines[1]), ["E", "high", "B", "low"], "{}", lines[1]);
        assert!(lines[1].contains("嘉环信复〔2025〕7号"), "{}", lines[1]);
    }
}
backends!(
    a_record_changed_twice_shows_what_each_change_set,
    two_changes
);

async fn corrections_and_determinations(db: TestDb) {
    let app = app(&db).await;
    // Institution: 1 was determined then corrected, 2 only determined, 3 only corrected.
    for (n, corrected, determined) in [(1, true, true), (2, false, true), (3, true, false)] {
        let (_, body) = app
            .get_json(&format!("/api/v1/institutions/{}", code(n)))
            .await;
        let y2024 = &body["years"][1];
        assert_eq!(y2024["corrected"], corrected, "{n}: {y2024}");
        assert_eq!(y2024["determined"], determined, "{n}: {y2024}");
        for (lang, corrected_word, determined_word) in [
            ("/zh", "已更正", "已因新的认定变更"),
            ("/en", "Corrected", "Changed by a new determination"),
        ] {
            let page = html(&app, &format!("{lang}/institutions/{}", code(n))).await;
            let h = heading(&page, 2024);
            assert_eq!(h.contains(corrected_word), corrected, "{n} {lang}: {h}");
            assert_eq!(h.contains(determined_word), determined, "{n} {lang}: {h}");
        }
    }
    // The year's results, as JSON and CSV (`determined` before `revision`).
    let (_, results) = app.get_json("/api/v1/years/2024/results").await;
    let flags: Vec<(bool, bool)> = results["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            (
                r["corrected"].as_bool().expect("corrected"),
                r["determined"].as_bool().expect("determined"),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [(true, true), (false, true), (true, false)],
        "{results}"
    );
    let csv = app
        .get("/api/v1/years/2024/results.csv")
        .await
        .text()
        .await
        .expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",objection,corrected,determined,revision"),
        "{csv}"
    );
    for (n, tail) in [
        (1, ",true,true,6"),
        (2, ",false,true,6"),
        (3, ",true,false,6"),
    ] {
        let line = lines
            .iter()
            .find(|l| l.contains(&code(n)))
            .unwrap_or_else(|| panic!("{n}: {csv}"));
        assert!(line.ends_with(tail), "{n}: {line}");
    }
    // The year page's notes say which.
    let page = html(&app, "/years/2024").await;
    let row = |n: u32| {
        let at = page.find(&code(n)).expect("row");
        &page[at..at + page[at..].find("</tr>").expect("end of row")]
    };
    assert!(row(2).contains("已因新的认定变更"), "{}", row(2));
    assert!(!row(2).contains("已更正"), "{}", row(2));
    assert!(row(3).contains("已更正"), "{}", row(3));
    assert!(!row(3).contains("已因新的认定变更"), "{}", row(3));
}
backends!(
    corrections_and_determinations_are_told_apart,
    corrections_and_determinations
);

async fn events(db: TestDb) {
    let app = app(&db).await;
    let (_, feed) = app.get_json("/api/v1/changes").await;
    let events = feed["events"].as_array().expect("events");
    let seen: Vec<[&str; 5]> = events
        .iter()
        .map(|e| {
            [
                e["kind"].as_str().unwrap_or("-"),
                e["date"].as_str().unwrap_or("-"),
                e["date_source"].as_str().unwrap_or("-"),
                e["listing_state"].as_str().unwrap_or("-"),
                e["code"].as_str().map_or("-", |c| &c[c.len() - 3..]),
            ]
        })
        .collect();
    let tail = |n: u32| code(n)[15..].to_string();
    let (t1, t2, t3, t6, t7) = (tail(1), tail(2), tail(3), tail(6), tail(7));
    assert_eq!(
        seen,
        [
            ["year_published", "2024-10-25", "publication_date", "-", "-"],
            ["determination", "2025-03-12", "decision_date", "-", &t1],
            ["determination", "2025-03-12", "decision_date", "-", &t2],
            ["correction", "2025-06-10", "decision_date", "-", &t1],
            ["correction", "2025-06-10", "decision_date", "-", &t3],
            [
                "year_in_publicity",
                "2025-09-26",
                "publicity_date",
                "-",
                "-"
            ],
            [
                "listing_added",
                "2024-11-11",
                "in_force_from",
                "in_force",
                &t6
            ],
            ["listing_added", "2025-10-20", "listed_on", "publicity", &t7],
            ["violation_added", "2024-05-06", "decided_on", "-", &t3],
        ],
        "{feed}"
    );
    // Every event still says when the registry learned of it.
    assert!(events
        .iter()
        .all(|e| e["at"] == "2025-10-24T09:00:00+08:00"));
    assert!(
        events[3]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("E / high risk → B / low risk")),
        "{}",
        events[3]
    );
    assert!(
        events[6]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("in force since 2024-11-11")),
        "{}",
        events[6]
    );

    // Atom: `published` is when it happened, `updated` when the registry learned of it.
    let xml = app
        .get("/api/v1/changes.atom")
        .await
        .text()
        .await
        .expect("atom");
    let entry = xml
        .split("<entry>")
        .find(|e| e.contains(&format!(":listing_added:{}:", code(6))))
        .unwrap_or_else(|| panic!("{xml}"));
    assert!(
        entry.contains("<published>2024-11-11T00:00:00+08:00</published>"),
        "{entry}"
    );
    assert!(
        entry.contains("<updated>2025-10-24T09:00:00+08:00</updated>"),
        "{entry}"
    );

    // The home page: what happened, on the day it happened; none on the bundles' day.
    for (lang, in_publicity, in_force, publicized) in [
        (
            "/zh",
            "年度结果开始公示 (2025)",
            "严重失信名单签发生效",
            "列入严重失信名单（公示）",
        ),
        (
            "/en",
            "results in publicity (2025)",
            "Serious-dishonesty listing issued, in force",
            "Put on the serious-dishonesty list (publicity)",
        ),
    ] {
        let page = html(&app, lang).await;
        let items: Vec<&str> = page
            .split("<li><time ")
            .skip(1)
            .map(|li| &li[..li.find("</li>").expect("end of item")])
            .collect();
        let item = |needle: &str| {
            items
                .iter()
                .find(|i| i.contains(needle))
                .copied()
                .unwrap_or_else(|| panic!("{lang} {needle}: {items:?}"))
        };
        assert!(
            item(in_publicity).starts_with("datetime=\"2025-09-26\">2025-09-26</time>"),
            "{lang}: {items:?}"
        );
        let listed = item(&format!("/institutions/{}\"", code(6)));
        assert!(
            listed.starts_with("datetime=\"2024-11-11\">2024-11-11</time>"),
            "{listed}"
        );
        assert!(listed.contains(in_force), "{listed}");
        assert!(!listed.contains(publicized), "{listed}");
        let proposed = item(&format!("/institutions/{}\"", code(7)));
        assert!(
            proposed.starts_with("datetime=\"2025-10-20\">2025-10-20</time>"),
            "{proposed}"
        );
        assert!(proposed.contains(publicized), "{proposed}");
        assert!(
            items.iter().all(|i| !i.contains("2025-10-24")),
            "{lang}: {items:?}"
        );
        // Newest first by the day it happened.
        let dates: Vec<&str> = items.iter().map(|i| &i[10..20]).collect();
        assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    }
}
backends!(events_say_what_happened_and_when, events);
