//! The statistics page: the counts in tables, the SVG charts labelled segment by segment,
//! no inline style (the Content-Security-Policy forbids it), both languages, bad years.

use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;
use envcredit::domain::county::County;

use crate::backends;
use crate::helpers::*;

/// 2024 (final): A, C and E in Nanhu (330402). 2025 (in publicity): two A and a D in Nanhu,
/// a B in Haining (330481).
fn seed(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let (first, first_hash) = first_bundle();
    import(db, &config, &first).expect("2024");
    let mut haining = record(3, 8500, 8200);
    haining.county = County::from_code("330481").expect("county");
    let records = vec![
        record(1, 9500, 9000),
        record(2, 9100, 8500),
        haining,
        record(4, 6500, 5500),
    ];
    let publicity = Parts::of(&draft(
        Dataset::Evaluation(2025),
        2,
        first_hash,
        Some(schedule_2025()),
        Records::Evaluation(records),
    ));
    import(db, &config, &publicity.sign(&pipeline_key())).expect("2025");
    config
}

/// The page's HTML, after checking its status and that it is HTML.
async fn page(app: &TestApp, path: &str, status: u16) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), status, "{path}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/html"),
        "{path}: {content_type}"
    );
    response.text().await.expect("html")
}

/// The inline SVG chart with this id.
fn chart<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("aria-labelledby=\"{id}-title {id}-desc\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let start = html[..start].rfind("<svg").expect("svg start");
    let end = start + html[start..].find("</svg>").expect("svg end");
    &html[start..end]
}

/// No inline style anywhere: the Content-Security-Policy (`style-src 'self'`) would block it.
fn assert_no_inline_style(html: &str) {
    assert!(!html.contains("style="), "a style attribute");
    assert!(!html.contains("<style"), "a style element");
}

async fn statistics_page(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 10, 1)).await;

    let html = page(&app, "/statistics", 200).await;
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert_no_inline_style(&html);
    // The tables: each count of 2024 links to the year's results filtered on it; zero is no link.
    for grade in ["A", "C", "E"] {
        let link = format!("<a href=\"&#x2F;years&#x2F;2024?grade={grade}\">1</a>");
        let plain = format!("<a href=\"/years/2024?grade={grade}\">1</a>");
        assert!(
            html.contains(&link) || html.contains(&plain),
            "2024 {grade}: 1, linked"
        );
    }
    assert!(!html.contains("2024?grade=B\""), "no B in 2024: no link");
    assert!(html.contains("2025?grade=A\">2</a>"), "2025 A: 2");
    assert!(html.contains("<th scope=\"col\""));
    assert!(html.contains("<th scope=\"row\""));
    assert!(html.contains("<caption"));
    // The risk table: 2024 has one of each level.
    assert!(html.contains("2024?risk=high\">1</a>"));
    // The chart by year: one labelled segment per grade counted, with its count in a title.
    let years = chart(&html, "chart-year");
    assert!(years.contains("role=\"img\""));
    assert!(years.contains("<title id=\"chart-year-title\">"));
    assert!(years.contains("<desc id=\"chart-year-desc\">"));
    for grade in ["A", "B", "C", "D", "E"] {
        assert!(
            years.contains(&format!("<pattern id=\"chart-year-{grade}\"")),
            "pattern {grade}"
        );
    }
    for (grade, word) in [("A", "优秀"), ("C", "中等"), ("E", "差")] {
        assert!(
            years.contains(&format!(
                "<title>2024：{grade} 级（{word}）1 家，占 3 家的 33.3%</title>"
            )),
            "2024 {grade} segment title"
        );
        assert!(
            years.contains(&format!(">{grade} 1</text>")),
            "2024 {grade} label"
        );
    }
    assert!(!years.contains("<title>2024：B"), "no empty segment");
    assert!(!years.contains("<title>2024：D"), "no empty segment");
    assert_eq!(
        years.matches("<g class=\"stats-segment\">").count(),
        3 + 3,
        "2024: A, C, E; 2025: A, B, D"
    );
    assert!(years.contains("<title>2025：A 级（优秀）2 家，占 4 家的 50.0%</title>"));
    // 2025 is in publicity, and says so.
    assert!(years.contains("公示中"));
    assert!(years.contains("stroke-dasharray"));
    // The chart by county: the latest year by default.
    let counties = chart(&html, "chart-county");
    assert!(counties.contains("<title>海宁市：B 级（良好）1 家，占 1 家的 100.0%</title>"));
    assert!(counties.contains("<title>南湖区：D 级（较差）1 家，占 3 家的 33.3%</title>"));
    assert!(html.contains("2025?grade=A&amp;county=330402\">2</a>"));
    assert!(html.contains("2025?grade=B&amp;county=330481\">1</a>"));

    // Another year for the counties.
    let html = page(&app, "/statistics?year=2024", 200).await;
    assert_no_inline_style(&html);
    let counties = chart(&html, "chart-county");
    assert!(counties.contains("<title>南湖区：E 级（差）1 家，占 3 家的 33.3%</title>"));
    assert!(!counties.contains("海宁市："), "Haining has no 2024 result");
    assert!(html.contains("2024?grade=C&amp;county=330402\">1</a>"));
    assert!(html.contains("aria-current=\"page\">2024</a>"));

    // English.
    let html = page(&app, "/en/statistics", 200).await;
    assert!(html.contains("<html lang=\"en\">"));
    assert_no_inline_style(&html);
    assert!(html.contains("<title>2024: grade A (excellent), 1 of 3 (33.3%)</title>"));
    assert!(html.contains("<title>Haining City: grade B (good), 1 of 1 (100.0%)</title>"));
    assert!(html.contains("In publicity"));
    assert!(!html.contains("优秀"), "no Chinese grade word in English");

    // Bad and unknown years are error pages.
    let html = page(&app, "/statistics?year=abc", 400).await;
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("`abc` is not a year"));
    let html = page(&app, "/en/statistics?year=1999", 404).await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("1999"));
}
backends!(statistics_page_charts_and_tables, statistics_page);

/// With nothing imported, the page still answers, and says there is nothing yet.
async fn empty(db: TestDb) {
    let app = spawn_app(config(&db), date(2025, 10, 1)).await;
    let html = page(&app, "/en/statistics", 200).await;
    assert!(html.contains("No results yet."));
    assert!(!html.contains("<svg"));
    assert_no_inline_style(&html);
    page(&app, "/statistics?year=2024", 404).await;
}
backends!(statistics_page_without_data, empty);
