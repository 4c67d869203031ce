//! The rules page (`/rules`, `/zh/rules`, `/en/rules`) through the real app, on both backends:
//! every section, the score bands with their badges (numbers from the domain), the Art. 11
//! grounds, the worked objection deadline, which year is valid, and the verify command.

use envcredit::bundle::records::Records;
use envcredit::bundle::{Dataset, EvaluationSchedule};
use envcredit::domain::art11::Art11Ground;
use envcredit::domain::score::{Grade, RiskLevel};

use crate::backends;
use crate::helpers::*;

/// The section ids, in the order of the page.
const SECTIONS: [&str; 7] = [
    "grades",
    "art11",
    "publicity",
    "validity",
    "uses",
    "dishonesty",
    "verify",
];

/// The catalogue value of `[rules] key` in a language, as the page writes it (HTML-escaped).
fn text(lang: &str, key: &str) -> String {
    let source = match lang {
        "en" => include_str!("../../templates/i18n/en.toml"),
        _ => include_str!("../../templates/i18n/zh.toml"),
    };
    let table: toml::Table = toml::from_str(source).expect("catalogue");
    let value = table["rules"][key].as_str().expect("a string").to_string();
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2F;")
}

async fn page(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
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

fn check_sections(html: &str, lang: &str) {
    let h1 = html.find("<h1>").expect("an h1");
    let mut last = h1;
    for (id, key) in SECTIONS.iter().zip([
        "grades_heading",
        "art11_heading",
        "publicity_heading",
        "validity_heading",
        "uses_heading",
        "list_heading",
        "verify_heading",
    ]) {
        let heading = format!("<h2 id=\"{id}\">{}</h2>", text(lang, key));
        let at = html
            .find(&heading)
            .unwrap_or_else(|| panic!("{lang}: no heading {heading}"));
        assert!(at > last, "{lang}: heading {id} out of order");
        last = at;
        assert!(
            html.contains(&format!(
                "<section class=\"rules\" aria-labelledby=\"{id}\">"
            )),
            "{lang}: section {id}"
        );
        // The table of contents links to it, before the first section.
        let link = format!("<a href=\"#{id}\">");
        let toc = html.find(&link).unwrap_or_else(|| panic!("toc link {id}"));
        assert!(toc > h1 && toc < html.find("<section").expect("a section"));
    }
}

async fn rules_page(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("valid bundle imports");
    // 2024's results are published (2024-10-25) and valid.
    let app = spawn_app(config, date(2025, 1, 10)).await;

    // Chinese by default and under /zh; English under /en and when preferred.
    let zh = page(&app, "/rules").await;
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    let zh_prefixed = page(&app, "/zh/rules").await;
    assert!(zh_prefixed.contains("<html lang=\"zh-CN\">"));
    assert!(zh_prefixed.contains("<h1>评价规则说明</h1>"));
    // Links stay under the language prefix (tera escapes the prefix's slash).
    assert!(zh_prefixed.contains("href=\"&#x2F;zh/dishonesty-list\""));
    let en = page(&app, "/en/rules").await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("<h1>The rules in plain words</h1>"));
    assert!(zh.contains("<h1>评价规则说明</h1>"));
    let negotiated = app
        .client
        .get(format!("{}/rules", app.address))
        .header("Accept-Language", "en-GB,en;q=0.9")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(negotiated.contains("<h1>The rules in plain words</h1>"));

    for (lang, html) in [("zh", &zh), ("en", &en)] {
        check_sections(html, lang);

        // Each grade: its band in points and its badge (letter and word).
        for g in Grade::ALL {
            let word = if lang == "en" {
                g.word_en()
            } else {
                g.word_zh()
            };
            assert!(
                html.contains(&format!(
                    "<span class=\"letter\">{g}</span> <span class=\"word\">{word}</span>"
                )),
                "{lang}: badge {g}"
            );
            assert!(html.contains(&format!("class=\"badge grade-{g}\"")));
            let colour = if lang == "en" {
                g.colour().name_en()
            } else {
                g.colour().name_zh()
            };
            assert!(
                html.contains(&format!("<td>{colour}</td>")),
                "{lang}: {colour}"
            );
        }
        let bands: &[&str] = if lang == "en" {
            &[
                "90.00 or more",
                "80.00 to under 90.00",
                "70.00 to under 80.00",
                "60.00 to under 70.00",
                "under 60.00",
            ]
        } else {
            &[
                "90.00 分（含）以上",
                "80.00（含）~90.00 分",
                "70.00（含）~80.00 分",
                "60.00（含）~70.00 分",
                "60.00 分以下",
            ]
        };
        for band in bands {
            assert!(
                html.contains(&format!("<td class=\"band\">{band}</td>")),
                "{lang}: band {band}"
            );
        }
        // Rows in the order A … E.
        let rows: Vec<usize> = Grade::ALL
            .iter()
            .map(|g| html.find(&format!("<tr class=\"band-{g}\">")).expect("row"))
            .collect();
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "{lang}: rows A to E");
        if lang == "en" {
            assert!(html.contains("90.00 points is grade A, 89.99 points is grade B"));
            assert!(html.contains("80.00 or more</td><td><span class=\"risk risk-low\">low risk"));
        } else {
            assert!(html.contains("90.00 分为 A 级，89.99 分为 B 级"));
            assert!(
                html.contains("80.00 分（含）以上</td><td><span class=\"risk risk-low\">低风险")
            );
        }
        for r in RiskLevel::ALL {
            assert!(html.contains(&format!("risk risk-{}", r.as_str())));
        }

        // The five Art. 11 grounds, numbered, in the domain's words.
        for g in Art11Ground::ALL {
            let summary = if lang == "en" {
                g.summary_en()
            } else {
                g.summary_zh()
            };
            assert!(
                html.contains(&format!("<li value=\"{}\">{summary}</li>", g.number())),
                "{lang}: ground {}",
                g.number()
            );
        }

        // The worked objection deadline, from the official calendar.
        assert!(html.contains("2025-09-26") && html.contains("2025-10-10"));
        // Art. 19 in the domain's words: the bonus is encouraged, the penalty required.
        assert!(html.contains("鼓励") && html.contains("应"));
        // Which year is valid today.
        assert!(html.contains(&text(lang, "validity_today").replace("{year}", "2024")));

        // The verify section: the real command lines, the proof, the JSON and the docs.
        let verify = &html[html.find("<h2 id=\"verify\">").expect("verify")..];
        assert!(verify.contains(
            "<code class=\"command\">envcredit --config keys.toml verify --standalone bundle.json</code>"
        ));
        assert!(verify.contains("[[trusted_keys]]"));
        assert!(verify.contains("<code>&#x2F;api&#x2F;v1&#x2F;institutions&#x2F;{"));
        assert!(verify.contains("sequence") && verify.contains("leaf_index"));
        assert!(verify.contains("<a href=\"/api/docs/\">"));
        assert!(
            verify.contains("<code class=\"command\">envcredit verify-proof proof.json --pubkey")
        );
        assert!(verify.contains("&#x2F;proof</code>"), "the proof endpoint");

        // Links stay in the page's language (tera escapes the prefix's slash).
        let prefix = if lang == "en" { "&#x2F;en" } else { "" };
        assert!(html.contains(&format!("href=\"{prefix}/dishonesty-list\"")));
    }
    assert!(zh.contains("嘉环发〔2023〕8号"));
    assert!(en.contains("Jiahuanfa [2023] No. 8"));
}

backends!(rules_page_answers_in_both_languages, rules_page);

/// Without any data the page still answers: the rules do not depend on it.
async fn rules_without_data(db: TestDb) {
    let app = spawn_app(config(&db), date(2025, 10, 1)).await;
    for path in ["/rules", "/en/rules"] {
        let html = page(&app, path).await;
        let lang = if path.starts_with("/en") { "en" } else { "zh" };
        check_sections(&html, lang);
        assert!(html.contains(&text(lang, "validity_none")));
    }
}

backends!(rules_page_without_data, rules_without_data);

/// The part of the page from the heading of section `id` to the next section.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<h2 id=\"{id}\">"))
        .unwrap_or_else(|| panic!("section {id}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").expect("section end")]
}

/// Art. 18 as the page says it and as the registry does it. Institution 3 has a bid penalty
/// from 2024 (E, high risk) and no result in 2025: from 2025's publication it has no valid
/// grade and no flag, and the page says exactly that (an absent institution does leave its
/// old penalty behind; only a 2025 result from the Bureau could keep it), where it used to say
/// the penalty could not be escaped.
async fn absent_institution(db: TestDb) {
    let config = config(&db);
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("2024");
    let mut published = draft(
        Dataset::Evaluation(2025),
        2,
        hash1,
        Some(EvaluationSchedule {
            publicity_date: date(2025, 9, 26),
            objection_deadline: date(2025, 10, 10),
            publication_date: Some(date(2025, 10, 20)),
        }),
        Records::Evaluation(vec![record(1, 9250, 8800), record(2, 7500, 7000)]),
    );
    // Two institutions of 2024's three.
    published.count_drop_acknowledged = true;
    import(&db, &config, &Parts::of(&published).sign(&pipeline_key()))
        .expect("2025 without institution 3");
    let app = spawn_app(config, date(2025, 10, 20)).await;

    let (_, before) = app
        .get_json(&format!("/api/v1/flags/{}?as_of=2025-10-19", code(3)))
        .await;
    assert_eq!(before["bid_flag"], "penalty", "{before}");
    let (_, after) = app.get_json(&format!("/api/v1/flags/{}", code(3))).await;
    assert_eq!(after["status"], "no_valid_grade", "{after}");
    assert_eq!(after["bid_flag"], serde_json::Value::Null);
    let institution = page(&app, &format!("/en/institutions/{}", code(3))).await;
    assert!(institution.contains("No grade is valid today"));
    assert!(
        institution.contains("id=\"year-2024\""),
        "the 2024 result stays in its history"
    );

    for (lang, path) in [("zh", "/rules"), ("en", "/en/rules")] {
        let html = page(&app, path).await;
        let validity = section(&html, "validity");
        for key in ["validity_absent", "validity_absent_penalty"] {
            assert!(
                validity.contains(&format!("<li>{}</li>", text(lang, key))),
                "{lang}: {key}"
            );
        }
        assert!(validity.contains(&text(lang, "validity_today").replace("{year}", "2025")));
        // The risk assessment's two parts are not in the data, and the page says so.
        assert!(section(&html, "grades").contains(&text(lang, "risk_parts")));
        // The dishonesty section links to both lists.
        let prefix = if lang == "en" { "&#x2F;en" } else { "" };
        let lists = section(&html, "dishonesty");
        assert!(lists.contains(&format!("href=\"{prefix}/dishonesty-list\"")));
        assert!(lists.contains(&format!("href=\"{prefix}/violations\"")));
    }
    let en = page(&app, "/en/rules").await;
    assert!(!en.contains("escape an old penalty"));
    assert!(en.contains("an old bonus does not carry over, and neither does an old penalty"));
    assert!(en.contains("does leave an old penalty behind here"));
    assert!(en.contains("(Art. 11, ground 1)"));
    let zh = page(&app, "/rules").await;
    assert!(!zh.contains("躲开原有的扣分"));
    assert!(zh.contains("原有的加分不再延续，原有的扣分也不再延续"));
    assert!(zh.contains("在本站确实不再带有原有的扣分"));
}

backends!(
    rules_page_says_an_absent_institution_leaves_its_penalty,
    absent_institution
);
