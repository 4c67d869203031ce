//! The website through the real app, on both backends: languages, the year, list, search and
//! home pages with their filters and pages, accessibility basics on every page, the hashed
//! stylesheet, and snapshots of rendered pages.

use envcredit::bundle::records::{Change, ChangeKind, ListingState, Records, Violation};
use envcredit::bundle::Dataset;
use envcredit::domain::county::County;

use crate::backends;
use crate::helpers::*;

/// Basic scores and risk scores (hundredths) that give each grade A–E and low/medium/high.
const GRADES: [(i64, i64); 5] = [
    (9250, 8800),
    (8500, 8200),
    (7500, 7000),
    (6500, 6500),
    (5500, 5000),
];

/// 2024 (final): 120 institutions, grades A–E in turn, every third in 秀洲区; a dishonesty
/// list (one listing in force, one in publicity, one repaired); then a correction of
/// institution 2.
fn seed(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let mut records: Vec<_> = (1..=120)
        .map(|n| {
            let (total, risk) = GRADES[(n as usize - 1) % 5];
            let mut r = record(n, total, risk);
            if n % 3 == 0 {
                r.county = County::from_code("330411").expect("county");
            }
            r
        })
        .collect();
    let first = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(records.clone()),
    ));
    import(db, &config, &first.sign(&pipeline_key())).expect("2024");
    let mut repaired = listing(10, "嘉环信〔2024〕2号");
    repaired.state = ListingState::Repaired;
    repaired.ended_on = Some(date(2025, 2, 1));
    let mut proposed = listing(15, "嘉环信〔2025〕3号");
    proposed.state = ListingState::Publicity;
    proposed.listed_on = date(2025, 2, 10);
    proposed.in_force_from = None;
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        first.hash(),
        None,
        Records::DishonestyList(vec![listing(5, "嘉环信〔2024〕1号"), proposed, repaired]),
    ));
    import(db, &config, &list.sign(&pipeline_key())).expect("list");
    records[1] = record(2, 9100, 8100);
    records[1].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 1, 20),
        effective_from: date(2024, 10, 25),
        reason: "复核更正经营管理项得分".into(),
        reference: "嘉环信复〔2025〕1号".into(),
    });
    let correction = Parts::of(&draft(
        Dataset::Evaluation(2024),
        3,
        list.hash(),
        Some(schedule_2024()),
        Records::Evaluation(records),
    ));
    import(db, &config, &correction.sign(&pipeline_key())).expect("correction");
    config
}

async fn page(app: &TestApp, path: &str, accept_language: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(format!("{}{}", app.address, path));
    if let Some(l) = accept_language {
        request = request.header("Accept-Language", l);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn html_lang(html: &str) -> &str {
    html.split("<html lang=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

/// The value of the first `attr="…"` after `marker`.
fn attr_after<'a>(html: &'a str, marker: &str, attr: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let rest = &html[at..];
    let start = rest.find(&format!("{attr}=\"")).expect("attribute") + attr.len() + 2;
    let value = &rest[start..];
    &value[..value.find('"').expect("closing quote")]
}

/// The `href` that holds `needle`.
fn href_with(html: &str, needle: &str) -> String {
    let at = html.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    let start = html[..at].rfind("href=\"").expect("href") + 6;
    let len = html[start..].find('"').expect("closing quote");
    unescape(&html[start..start + len])
}

/// Tera escapes `/` in attributes as `&#x2F;`; browsers read it back.
fn unescape(s: &str) -> String {
    s.replace("&#x2F;", "/").replace("&amp;", "&")
}

async fn languages(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    // Chinese by default, English when preferred, and the prefix wins over the header.
    let cases = [
        ("/years/2024", None, "zh-CN"),
        ("/years/2024", Some("en-GB,en;q=0.9"), "en"),
        ("/years/2024", Some("zh-CN,en;q=0.5"), "zh-CN"),
        ("/en/years/2024", None, "en"),
        ("/zh/years/2024", Some("en"), "zh-CN"),
        ("/en", None, "en"),
        ("/zh", Some("en"), "zh-CN"),
    ];
    for (path, header, lang) in cases {
        let mut request = app.client.get(format!("{}{}", app.address, path));
        if let Some(h) = header {
            request = request.header("Accept-Language", h);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers["content-language"].to_str().expect("ascii"),
            lang,
            "{path} {header:?}"
        );
        assert!(headers["vary"]
            .to_str()
            .expect("ascii")
            .contains("accept-language"));
        let html = response.text().await.expect("html");
        assert_eq!(html_lang(&html), lang, "{path} {header:?}");
        if lang == "en" {
            assert!(html.contains("Results by year"), "{path}");
            assert!(!html.contains("年度评价结果"), "{path}: no Chinese UI text");
        } else {
            assert!(html.contains("年度评价结果"), "{path}");
        }
    }
    // The switch leads to the same page, with its query, in the other language; links on an
    // English page stay English.
    let (_, html) = page(&app, "/years/2024?grade=B", None).await;
    let switch = unescape(attr_after(&html, "id=\"lang-switch\"", "href"));
    assert_eq!(switch, "/en/years/2024?grade=B");
    let (status, english) = page(&app, &switch, None).await;
    assert_eq!(status, 200);
    assert!(
        english.contains("B</span> <span class=\"word\">good"),
        "B in English"
    );
    assert!(english.contains(&format!("href=\"&#x2F;en/institutions/{}\"", code(7))));
    let back = unescape(attr_after(&english, "id=\"lang-switch\"", "href"));
    assert_eq!(back, "/zh/years/2024?grade=B");
    // Different languages are different representations: different ETags.
    let zh = app.get("/years/2024").await;
    let en = app
        .client
        .get(format!("{}/years/2024", app.address))
        .header("Accept-Language", "en")
        .send()
        .await
        .expect("request");
    assert_ne!(zh.headers()["etag"], en.headers()["etag"]);
}
backends!(pages_speak_chinese_then_english, languages);

async fn year_page(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (status, html) = page(&app, "/years/2024", None).await;
    assert_eq!(status, 200);
    // 100 to a page, in code order, with a link to the next.
    assert!(html.contains(&format!("/institutions/{}\"", code(100))));
    assert!(!html.contains(&format!("/institutions/{}\"", code(101))));
    let next = unescape(attr_after(&html, "rel=\"next\"", "href"));
    assert!(next.starts_with("/years/2024?cursor="), "{next}");
    let (_, second) = page(&app, &next, None).await;
    assert!(second.contains(&format!("/institutions/{}\"", code(120))));
    assert!(!second.contains(&format!("/institutions/{}\"", code(100))));
    assert!(!second.contains("rel=\"next\""));

    // County and grade filters: 秀洲区 (every third) and B (n ≡ 2 mod 5), but institution 2
    // was corrected to A: 12, 27, … 117 → 8 rows.
    let (status, html) = page(&app, "/years/2024?county=330411&grade=B", None).await;
    assert_eq!(status, 200);
    let rows: Vec<u32> = (1..=120).filter(|n| n % 3 == 0 && n % 5 == 2).collect();
    assert_eq!(rows.len(), 8);
    for n in 1..=120 {
        let shown = html.contains(&format!("/institutions/{}\"", code(n)));
        assert_eq!(shown, rows.contains(&n), "institution {n}");
    }
    assert!(html.contains("<option value=\"330411\" selected>"));
    assert!(html.contains("<option value=\"B\" selected>"));
    // The CSV link downloads the same selection.
    let csv_url = href_with(&html, "results.csv");
    assert!(
        csv_url.starts_with("/api/v1/years/2024/results.csv?"),
        "{csv_url}"
    );
    let csv = app.get(&csv_url).await.text().await.expect("csv");
    assert_eq!(csv.lines().count(), 1 + rows.len(), "{csv}");

    // The corrected result says so.
    let (_, html) = page(&app, "/years/2024?grade=A", None).await;
    assert!(html.contains("已更正"));

    for (path, status, text) in [
        ("/years/2024?grade=Q", 400, "grade: `Q`"),
        ("/years/2024?county=110000", 400, "county: `110000`"),
        ("/years/abc", 400, "year: `abc`"),
        ("/years/2031", 404, "evaluation year 2031"),
    ] {
        let (got, html) = page(&app, path, None).await;
        assert_eq!(got, status, "{path}");
        assert!(html.contains(text), "{path}: {html}");
    }
    let (_, years) = page(&app, "/years", None).await;
    assert!(years.contains("href=\"/years/2024\""));
    assert!(years.contains("现行有效"), "2024 is valid on 2025-03-01");
}
backends!(year_page_filters_pages_and_downloads, year_page);

/// A list page's "next" link carries the revision and date of the page it continues, as the
/// API's cursors do: after an import, page 2 still comes from page 1's revision.
async fn pages_stay_at_their_revision(db: TestDb) {
    let mut config = seed(&db);
    config.poll_interval_seconds = 1;
    let app = spawn_app(config.clone(), date(2025, 3, 1)).await;
    let (_, health) = app.get_json("/healthz").await;
    let before = health["revision"].as_str().expect("a revision").to_string();
    let mut nexts = Vec::new();
    for list in ["/years/2024", "/search?q=%E6%B5%8B%E8%AF%95"] {
        let (status, html) = page(&app, list, None).await;
        assert_eq!(status, 200, "{list}");
        assert!(html.contains(before.as_str()), "{list} shows {before}");
        nexts.push(unescape(attr_after(&html, "rel=\"next\"", "href")));
    }
    // Revision 4: a violation.
    let head = *db.store().chain().expect("chain").last().expect("a head");
    let bundle = Parts::of(&draft(
        Dataset::Violations,
        4,
        head,
        None,
        Records::Violations(vec![Violation {
            code: code(3),
            name: "南湖测试3号环境检测有限公司".to_string(),
            decision_number: "嘉环罚字〔2025〕9号".to_string(),
            authority: "嘉兴市生态环境局".to_string(),
            description: "出具虚假监测报告".to_string(),
            decided_on: date(2025, 2, 1),
            change: None,
        }]),
    ));
    import(&db, &config, &bundle.sign(&pipeline_key())).expect("violations");
    let mut after = None;
    for _ in 0..50 {
        let (_, health) = app.get_json("/healthz").await;
        let now = health["revision"].as_str().unwrap_or_default().to_string();
        if now.starts_with("4-") {
            after = Some(now);
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let after = after.expect("revision 4 served within 5 s");
    for next in nexts {
        let (status, html) = page(&app, &next, None).await;
        assert_eq!(status, 200, "{next}");
        assert!(
            html.contains(before.as_str()),
            "{next} still shows {before}"
        );
        assert!(
            !html.contains(after.as_str()),
            "{next} does not show {after}"
        );
    }
    let (_, html) = page(&app, "/years/2024", None).await;
    assert!(html.contains(after.as_str()), "a first page shows {after}");
    // A cursor nobody issued is refused, naming it.
    let (status, html) = page(&app, "/years/2024?cursor=91330402MA0000001U", None).await;
    assert_eq!(status, 400);
    assert!(html.contains("cursor"), "{html}");
}
backends!(
    list_pages_stay_at_their_revision,
    pages_stay_at_their_revision
);

async fn search_page(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    // Filters without text: every E in 2024 (n ≡ 0 mod 5), 24 of them, one page.
    let (status, html) = page(&app, "/search?year=2024&grade=E", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("共找到 24 家"), "{html}");
    assert!(html.contains(&format!("/institutions/{}\"", code(5))));
    assert!(!html.contains(&format!("/institutions/{}\"", code(4))));
    // A partial name with 50 to a page.
    let (_, html) = page(&app, "/search?q=%E6%B5%8B%E8%AF%95", None).await; // 测试
    assert!(html.contains("共找到 120 家"));
    let next = unescape(attr_after(&html, "rel=\"next\"", "href"));
    assert!(
        next.starts_with("/search?q=%E6%B5%8B%E8%AF%95&cursor="),
        "{next}"
    );
    let (_, second) = page(&app, &next, None).await;
    assert!(second.contains(&format!("/institutions/{}\"", code(51))));
    assert!(!second.contains(&format!("/institutions/{}\"", code(50))));
    // Risk filter on the grade valid today (2024's): high risk = E.
    let (_, html) = page(&app, "/en/search?risk=high&county=330411", None).await;
    assert!(html.contains("8 found"), "{html}");
    // A bad filter is a 400 that names it.
    let (status, html) = page(&app, "/search?risk=extreme", None).await;
    assert_eq!(status, 400);
    assert!(html.contains("risk: `extreme`"));
}
backends!(search_page_filters_and_pages, search_page);

async fn dishonesty_page(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (status, html) = page(&app, "/dishonesty-list", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("嘉环信〔2024〕1号"));
    assert!(
        !html.contains("嘉环信〔2025〕3号"),
        "in publicity: not in force"
    );
    assert!(
        !html.contains("嘉环信〔2024〕2号"),
        "repaired: not in force"
    );
    let (_, html) = page(&app, "/en/dishonesty-list?state=all", None).await;
    assert!(html.contains("嘉环信〔2024〕1号"));
    assert!(html.contains("嘉环信〔2025〕3号"));
    assert!(html.contains("In publicity"));
    assert!(
        !html.contains("嘉环信〔2024〕2号"),
        "a repaired listing leaves public display at once"
    );
    let csv_url = href_with(&html, "dishonesty-list.csv");
    let csv = app.get(&csv_url).await.text().await.expect("csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let (status, _) = page(&app, "/dishonesty-list?state=some", None).await;
    assert_eq!(status, 400);
}
backends!(dishonesty_page_in_force_and_all, dishonesty_page);

/// The seed, then the publicized violations (bundle 4): institution 7's, decided 2024-06-18;
/// institution 9's, whose description holds markup; institution 12's, decided 2019-12-01 and so
/// out of public display since 2024-12-01.
fn seed_violations(db: &TestDb) -> envcredit::config::Config {
    let config = seed(db);
    let head = *db.store().chain().expect("chain").last().expect("a head");
    let violation = |n: u32, decision: &str, description: &str, decided_on| Violation {
        code: code(n),
        name: format!("南湖测试{n}号环境检测有限公司"),
        decision_number: decision.to_string(),
        authority: "嘉兴市生态环境局".to_string(),
        description: description.to_string(),
        decided_on,
        change: None,
    };
    let bundle = Parts::of(&draft(
        Dataset::Violations,
        4,
        head,
        None,
        Records::Violations(vec![
            violation(
                7,
                "嘉环罚字〔2024〕17号",
                "出具虚假监测报告",
                date(2024, 6, 18),
            ),
            violation(
                9,
                "嘉环罚字〔2024〕20号",
                "<script>alert(1)</script>篡改原始监测记录",
                date(2024, 9, 2),
            ),
            violation(
                12,
                "嘉环罚字〔2019〕5号",
                "未按规定保存原始监测记录",
                date(2019, 12, 1),
            ),
        ]),
    ));
    import(db, &config, &bundle.sign(&pipeline_key())).expect("violations");
    config
}

/// `/violations`: the rows of the violations API (displayed today), linked to their
/// institutions, escaped, in both languages, with the CSV; reached from every page's navigation
/// and from the home page's list of lists.
async fn violations_page(db: TestDb) {
    let config = seed_violations(&db);
    let app = spawn_app(config.clone(), date(2025, 3, 1)).await;
    let (status, html) = page(&app, "/violations", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>违法违规信息</h1>"));
    assert!(html.contains("<caption>2025-03-01 公开显示的违法违规信息，共 2 条</caption>"));
    let (_, api) = app.get_json("/api/v1/violations").await;
    assert_eq!(api["total"], 2, "{api}");
    for item in api["items"].as_array().expect("items") {
        let row = format!(
            "<tr><td><a href=\"/institutions/{code}\">{name}</a><br><small class=\"code\">{code}</small></td><td>{decision}<br><small><a href=\"{proof}\" type=\"application/json\">",
            code = item["code"].as_str().expect("code"),
            name = item["name"].as_str().expect("name"),
            decision = item["decision_number"].as_str().expect("decision"),
            // Each row links the violation's proof (tera escapes `/` in attributes).
            proof = item["proof"].as_str().expect("proof").replace('/', "&#x2F;"),
        );
        assert!(html.contains(&row), "{row}");
        assert!(html.contains(&format!(
            "<time datetime=\"{0}\">{0}</time>",
            item["decided_on"].as_str().expect("date")
        )));
    }
    assert!(html.contains("出具虚假监测报告"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;篡改原始监测记录"));
    assert!(!html.contains("<script>"));
    assert!(
        !html.contains("嘉环罚字〔2019〕5号"),
        "5 years after its decision a violation leaves public display"
    );
    // The CSV link downloads the same rows.
    let csv_url = href_with(&html, "violations.csv");
    assert_eq!(csv_url, "/api/v1/violations.csv");
    let csv = app.get(&csv_url).await.text().await.expect("csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");

    // Every page links to it, in its language; the home page lists both lists.
    let (_, home) = page(&app, "/", None).await;
    assert!(home.contains("<li><a href=\"/violations\">违法违规信息</a></li>"));
    assert!(home.contains(
        "<p class=\"lists\">名单：<a href=\"/dishonesty-list\">严重失信名单</a> · <a href=\"/violations\">违法违规信息</a></p>"
    ));
    let (_, home) = page(&app, "/en/", None).await;
    assert!(home.contains(
        "<p class=\"lists\">Lists: <a href=\"&#x2F;en/dishonesty-list\">Serious-dishonesty list</a> · <a href=\"&#x2F;en/violations\">Violations</a></p>"
    ));
    let (status, en) = page(&app, "/en/violations", None).await;
    assert_eq!(status, 200);
    assert!(en.contains("<h1>Violations</h1>"));
    assert!(en.contains("<caption>Violations shown on 2025-03-01: 2</caption>"));
    assert!(en.contains("<li><a href=\"&#x2F;en/violations\">Violations</a></li>"));
    assert!(en.contains(&format!("href=\"&#x2F;en/institutions/{}\"", code(7))));
    insta::assert_snapshot!("violations_en", stable(&en));

    // Once the violation of institution 7 is 5 years old, it is gone from the page too.
    let later = spawn_app(config, date(2029, 6, 18)).await;
    let (_, html) = page(&later, "/violations", None).await;
    assert!(!html.contains("嘉环罚字〔2024〕17号"));
    assert!(html.contains("嘉环罚字〔2024〕20号"));
    assert!(html.contains("共 1 条"));
}
backends!(violations_page_lists_what_the_api_displays, violations_page);

/// Without any violation displayed the page says so (no empty table).
async fn violations_page_empty(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (status, html) = page(&app, "/en/violations", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("No violation is shown at present."));
    assert!(!html.contains("<table"));
}
backends!(violations_page_without_violations, violations_page_empty);

/// A listing shows on its institution the day it came into force (issued, 签发); a listing
/// in publicity has no such day.
async fn listing_in_force_date(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (_, html) = page(&app, &format!("/en/institutions/{}", code(5)), None).await;
    assert!(
        html.contains(
            "In force (in force) · Listed 2024-10-28 · In force from 2024-11-11 · <a href="
        ),
        "{html}"
    );
    let (_, html) = page(&app, &format!("/institutions/{}", code(5)), None).await;
    assert!(html.contains("列入 2024-10-28 · 2024-11-11 起生效 · <a href="));
    let (_, html) = page(&app, &format!("/en/institutions/{}", code(15)), None).await;
    assert!(
        html.contains("In publicity · Listed 2025-02-10 · <a href="),
        "{html}"
    );
    assert!(!html.contains("In force from"));
}
backends!(
    institution_page_shows_when_a_listing_came_into_force,
    listing_in_force_date
);

/// An objection under review or filed shows the bureau's review deadline on the institution's
/// page, marked overdue once today is past it; a decided one shows its decision instead.
async fn objection_deadline(db: TestDb) {
    let config = crate::api::objections_in_publicity(&db);
    let on_time = spawn_app(config.clone(), date(2025, 10, 27)).await;
    let late = spawn_app(config, date(2025, 10, 28)).await;
    let objection = |html: &str| {
        let at = html.find("<p class=\"objection\">").expect("an objection");
        html[at..at + html[at..].find("</p>").expect("end")].to_string()
    };
    let deadline = |date: &str| {
        format!("复核期限至 {date}（收到申请之日起 15 个工作日，第十六条；情况较复杂的可适当延长；由本站推算）")
    };

    let (_, html) = page(&on_time, &format!("/institutions/{}", code(1)), None).await;
    let under_review = objection(&html);
    assert!(
        under_review.contains("复核中 · 2025-09-29 提出 · "),
        "{under_review}"
    );
    assert!(
        under_review.contains(&deadline("2025-10-27")),
        "{under_review}"
    );
    assert!(!under_review.contains("overdue"), "not yet: {under_review}");
    let (_, html) = page(&late, &format!("/institutions/{}", code(1)), None).await;
    assert!(
        objection(&html).ends_with(&format!(
            "{} <strong class=\"overdue\">已逾期</strong>",
            deadline("2025-10-27")
        )),
        "{html}"
    );
    let (_, html) = page(&late, &format!("/en/institutions/{}", code(1)), None).await;
    assert!(objection(&html).contains(
        "under review · filed on 2025-09-29 · review due by 2025-10-27 (15 working days after filing, Art. 16; the Bureau may extend it in complex cases; date worked out by this registry) <strong class=\"overdue\">overdue</strong>"
    ), "{html}");

    let (_, html) = page(&late, &format!("/institutions/{}", code(2)), None).await;
    let filed = objection(&html);
    assert!(filed.contains("已提出 · 2025-10-10 提出 · "), "{filed}");
    assert!(filed.contains(&deadline("2025-10-30")));
    assert!(!filed.contains("overdue"));

    let (_, html) = page(&late, &format!("/institutions/{}", code(3)), None).await;
    let decided = objection(&html);
    assert!(
        decided.contains("已决定 · 2025-09-30 提出 · 2025-10-09 决定 — 复核维持原评价结果"),
        "{decided}"
    );
    assert!(!decided.contains("复核期限") && !decided.contains("overdue"));
}
backends!(
    institution_page_shows_the_review_deadline,
    objection_deadline
);

async fn home_page(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (_, html) = page(&app, "/", None).await;
    // 2024 at a glance: A 25 (24 + the corrected 2), B 23, C 24, D 24, E 24.
    for (grade, n) in [("A", 25), ("B", 23), ("C", 24), ("D", 24), ("E", 24)] {
        let expected = format!("grade={grade}\"><span class=\"badge grade-{grade}\"");
        let at = html
            .find(&expected)
            .unwrap_or_else(|| panic!("{grade}: {html}"));
        let count = &html[at..];
        let count = &count[count.find("class=\"count\">").expect("count") + 14..];
        assert_eq!(
            &count[..count.find('<').expect("end")],
            n.to_string(),
            "{grade}"
        );
    }
    // The latest changes: the correction, with its institution.
    assert!(html.contains("结果更正"));
    assert!(html.contains(&format!("/institutions/{}\"", code(2))));
    assert!(html.contains("嘉环信复〔2025〕1号"));
}
backends!(home_page_glance_and_changes, home_page);

/// The pages every test above visits, for the checks that apply to all.
fn all_pages() -> Vec<String> {
    let mut pages = Vec::new();
    for base in ["", "/en"] {
        for path in [
            "/".to_string(),
            "/search".to_string(),
            "/search?q=%E6%B5%8B%E8%AF%95&grade=A".to_string(),
            format!("/institutions/{}", code(2)),
            format!("/institutions/{}", code(5)),
            "/years".to_string(),
            "/years/2024?county=330411".to_string(),
            "/dishonesty-list?state=all".to_string(),
            "/violations".to_string(),
            "/statistics".to_string(),
            "/rules".to_string(),
            "/institutions/123".to_string(),
            format!("/institutions/{}", code(999)),
            "/no-such-page".to_string(),
        ] {
            pages.push(format!("{base}{path}"));
        }
    }
    pages
}

/// Landmarks, one `h1` and headings in order, a label for every field, table headers, the
/// skip link, the frame (revision, data as of), no inline style or script.
fn assert_accessible(path: &str, html: &str) {
    assert!(
        html.contains("<a class=\"skip\" href=\"#main\">"),
        "{path}: skip link"
    );
    assert!(html.contains("<main id=\"main\">"), "{path}: main landmark");
    for landmark in ["<header", "<nav", "<footer", "role=\"search\""] {
        assert!(html.contains(landmark), "{path}: {landmark}");
    }
    assert_eq!(html.matches("<h1").count(), 1, "{path}: one h1");
    let mut previous = 0;
    for (i, _) in html.match_indices("<h") {
        let level = html.as_bytes()[i + 2];
        if !(b'1'..=b'6').contains(&level) {
            continue;
        }
        let level = level - b'0';
        assert!(
            level <= previous + 1,
            "{path}: h{level} after h{previous} skips a level"
        );
        previous = level;
    }
    for field in ["<input", "<select"] {
        for (i, _) in html.match_indices(field) {
            let tag = &html[i..i + html[i..].find('>').expect("tag end")];
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_else(|| panic!("{path}: a field without id: {tag}"));
            assert!(
                html.contains(&format!("<label for=\"{id}\">")),
                "{path}: field {id} has no label"
            );
        }
    }
    for (i, _) in html.match_indices("<table") {
        let table = &html[i..i + html[i..].find("</table>").expect("table end")];
        assert!(table.contains("<th"), "{path}: a table without headers");
        assert!(
            table.contains("<caption"),
            "{path}: a table without caption"
        );
    }
    assert!(
        html.contains("class=\"revision\">3-"),
        "{path}: the data revision"
    );
    assert!(
        html.contains("class=\"as-of\">2025-10-24"),
        "{path}: data as of"
    );
    assert!(!html.contains(" style="), "{path}: inline style");
    assert!(!html.contains("<style"), "{path}: inline style");
    assert!(!html.contains("<script"), "{path}: script");
    assert!(!html.contains("DEMO"), "{path}: not demo data");
}

async fn accessible(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    for path in all_pages() {
        let (status, html) = page(&app, &path, None).await;
        assert!(
            status == 200 || (400..500).contains(&status),
            "{path}: {status}"
        );
        assert_accessible(&path, &html);
    }
}
backends!(every_page_has_landmarks_labels_and_the_frame, accessible);

async fn stylesheet(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let (_, html) = page(&app, "/", None).await;
    let css = unescape(attr_after(&html, "rel=\"stylesheet\"", "href"));
    assert!(
        css.starts_with("/static/site.") && css.ends_with(".css"),
        "{css}"
    );
    let response = app.get(&css).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/css"));
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(response.text().await.expect("css").contains(".grade-A"));
    // Only the current name exists: an old page cannot get a new stylesheet under its name.
    for other in ["/static/site.css", "/static/site.0000000000000000.css"] {
        assert_eq!(app.get(other).await.status().as_u16(), 404, "{other}");
    }
}
backends!(stylesheet_has_a_hashed_name_and_a_long_life, stylesheet);

/// The page with what changes from run to run blanked: nothing does today (fixed keys, dates
/// and data), but the revision hash, the data time and the stylesheet hash would change with
/// any change to the test data or the CSS, which is not what these snapshots are about.
fn stable(html: &str) -> String {
    let mut out = html.to_string();
    for (start, end, blank) in [
        ("class=\"revision\">", "<", "[revision]"),
        ("class=\"as-of\">", "<", "[as-of]"),
        ("static&#x2F;site.", ".css", "[hash]"),
    ] {
        if let Some(at) = out.find(start) {
            let from = at + start.len();
            if let Some(len) = out[from..].find(end) {
                out.replace_range(from..from + len, blank);
            }
        }
    }
    out
}

async fn snapshots(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    for (name, path) in [
        ("home", "/".to_string()),
        (
            "institution_corrected",
            format!("/institutions/{}", code(2)),
        ),
        (
            "institution_listed_en",
            format!("/en/institutions/{}", code(5)),
        ),
        (
            "year_filtered",
            "/years/2024?county=330411&grade=B".to_string(),
        ),
        (
            "dishonesty_all_en",
            "/en/dishonesty-list?state=all".to_string(),
        ),
        (
            "error_invalid_code",
            format!("/institutions/{}", &code(1)[..17]),
        ),
    ] {
        let (_, html) = page(&app, &path, None).await;
        // Both backends compare against the same snapshot: the pages do not depend on the
        // database.
        insta::assert_snapshot!(name, stable(&html));
    }
}
backends!(rendered_pages_match_their_snapshots, snapshots);
