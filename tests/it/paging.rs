//! Paging is stable across an import: a cursor carries the revision (and date) of the page it
//! continues, so following `next_cursor` alone never mixes two revisions; a cursor that cannot be
//! answered says why. And a change feed asked about a revision this instance has not loaded yet
//! answers without events instead of failing.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use envcredit::bundle::records::{Change, ChangeKind, EvaluationRecord, Records, Violation};
use envcredit::bundle::Dataset;
use envcredit::config::Config;
use serde_json::Value;

use crate::backends;
use crate::helpers::*;

/// A bundle signer that chains each bundle to the previous one.
struct Chain {
    sequence: u64,
    previous: [u8; 32],
}

impl Chain {
    fn next(&mut self, db: &TestDb, config: &Config, dataset: Dataset, records: Records) {
        self.sequence += 1;
        let schedule = matches!(dataset, Dataset::Evaluation(_)).then(schedule_2024);
        let parts = Parts::of(&draft(
            dataset,
            self.sequence,
            self.previous,
            schedule,
            records,
        ));
        import(db, config, &parts.sign(&pipeline_key()))
            .unwrap_or_else(|e| panic!("bundle {}: {e}", self.sequence));
        self.previous = parts.hash();
    }
}

fn results() -> Vec<EvaluationRecord> {
    (1..=5)
        .map(|n| record(n, 9250 - 500 * n as i64, 8800))
        .collect()
}

fn violation(n: u32, decision: &str) -> Violation {
    Violation {
        code: code(n),
        name: format!("南湖测试{n}号环境检测有限公司"),
        decision_number: decision.into(),
        authority: "嘉兴市生态环境局".into(),
        description: "出具虚假监测报告".into(),
        decided_on: date(2024, 5, 6),
        change: None,
    }
}

/// Revisions 1–3: five 2024 results, three listings (two of institution 6), three violations.
fn seed(db: &TestDb, config: &Config) -> Chain {
    let mut chain = Chain {
        sequence: 0,
        previous: [0; 32],
    };
    chain.next(
        db,
        config,
        Dataset::Evaluation(2024),
        Records::Evaluation(results()),
    );
    chain.next(
        db,
        config,
        Dataset::DishonestyList,
        Records::DishonestyList(vec![
            listing(6, "嘉环信〔2024〕2号"),
            listing(6, "嘉环信〔2024〕1号"),
            listing(7, "嘉环信〔2024〕3号"),
        ]),
    );
    chain.next(
        db,
        config,
        Dataset::Violations,
        Records::Violations(vec![
            violation(3, "嘉环罚字〔2024〕1号"),
            violation(4, "嘉环罚字〔2024〕2号"),
            violation(5, "嘉环罚字〔2024〕3号"),
        ]),
    );
    chain
}

/// Revisions 4–6: institution 4's result corrected, a listing and a violation added before the
/// last ones in order.
fn change_everything(db: &TestDb, config: &Config, chain: &mut Chain) {
    let mut records = results();
    records[3] = record(4, 6500, 6500);
    records[3].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 6, 10),
        effective_from: date(2024, 10, 25),
        reason: "复核更正评分".into(),
        reference: "嘉环信复〔2025〕7号".into(),
    });
    chain.next(
        db,
        config,
        Dataset::Evaluation(2024),
        Records::Evaluation(records),
    );
    chain.next(
        db,
        config,
        Dataset::DishonestyList,
        Records::DishonestyList(vec![
            listing(6, "嘉环信〔2024〕2号"),
            listing(6, "嘉环信〔2024〕1号"),
            listing(6, "嘉环信〔2024〕4号"),
            listing(7, "嘉环信〔2024〕3号"),
        ]),
    );
    chain.next(
        db,
        config,
        Dataset::Violations,
        Records::Violations(vec![
            violation(3, "嘉环罚字〔2024〕1号"),
            violation(4, "嘉环罚字〔2024〕2号"),
            violation(4, "嘉环罚字〔2024〕4号"),
            violation(5, "嘉环罚字〔2024〕3号"),
        ]),
    );
}

/// The revision `/healthz` says is served, once it starts with `prefix`.
async fn wait_for_revision(app: &TestApp, prefix: &str) {
    for _ in 0..50 {
        let (_, health) = app.get_json("/healthz").await;
        if health["revision"]
            .as_str()
            .is_some_and(|r| r.starts_with(prefix))
        {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("revision {prefix}… is not served within 5 s");
}

fn sequence(body: &Value) -> &Value {
    &body["data"]["revision"]["sequence"]
}

/// What identifies an item of each list.
fn keys(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|i| {
            let grade = i["grade"]["letter"]
                .as_str()
                .or(i["standing"]["grade"]["letter"].as_str());
            match (i["decision_number"].as_str(), grade) {
                (Some(decision), _) => format!("{} {decision}", i["code"]),
                (None, Some(grade)) => format!("{} {grade}", i["code"]),
                (None, None) => i["code"].to_string(),
            }
        })
        .collect()
}

async fn stable_across_an_import(db: TestDb) {
    let mut config = config(&db);
    config.poll_interval_seconds = 1;
    config.public_base_url = Some("https://credit.example.gov.cn/".into());
    let mut chain = seed(&db, &config);
    let app = spawn_app(config.clone(), date(2025, 10, 25)).await;
    wait_for_revision(&app, "3-").await;

    let lists = [
        "/api/v1/institutions?limit=3",
        "/api/v1/years/2024/results?limit=3",
        "/api/v1/dishonesty-list?limit=2",
        "/api/v1/violations?limit=2",
    ];
    // Every page of each list at revision 3, by following `next`, and the first pages' cursors.
    let mut whole = Vec::new();
    let mut cursors = Vec::new();
    for list in lists {
        let (status, first) = app.get_json(list).await;
        assert_eq!(status, 200, "{list}: {first}");
        assert_eq!(sequence(&first), 3, "{list}");
        let cursor = first["next_cursor"].as_str().expect("a next cursor");
        assert!(cursor.len() < 1024, "{list}: a bounded cursor");
        cursors.push(cursor.to_string());
        let mut items = keys(&first);
        let mut next = first["next"].as_str().map(String::from);
        while let Some(url) = next {
            assert!(
                url.starts_with(list.split('?').next().unwrap_or_default()),
                "{url}"
            );
            let (status, page) = app.get_json(&url).await;
            assert_eq!(status, 200, "{url}: {page}");
            items.extend(keys(&page));
            next = page["next"].as_str().map(String::from);
        }
        assert_eq!(
            items.len() as u64,
            first["total"].as_u64().expect("total"),
            "{list}: every item once: {items:?}"
        );
        whole.push(items);
    }

    change_everything(&db, &config, &mut chain);
    wait_for_revision(&app, "6-").await;

    for ((list, cursor), before) in lists.iter().zip(&cursors).zip(&whole) {
        // The first page now comes from revision 6, and differs.
        let (_, now) = app.get_json(list).await;
        assert_eq!(sequence(&now), 6, "{list}");
        // The second page, asked with the same query and the cursor alone, is revision 3's.
        let (status, second) = app.get_json(&format!("{list}&cursor={cursor}")).await;
        assert_eq!(status, 200, "{list}: {second}");
        assert_eq!(sequence(&second), 3, "{list}: {second}");
        let limit: usize = list
            .rsplit('=')
            .next()
            .and_then(|l| l.parse().ok())
            .expect("limit");
        assert_eq!(
            keys(&second),
            before[limit..(2 * limit).min(before.len())],
            "{list}"
        );
        // A cursor contradicted by an explicit revision is refused, naming both.
        let (status, problem) = app
            .get_json(&format!("{list}&cursor={cursor}&revision=6"))
            .await;
        assert_eq!(status, 400, "{list}: {problem}");
        assert_eq!(problem["code"], "invalid-cursor");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(
            detail.contains("revision 3") && detail.contains("revision = 6"),
            "{detail}"
        );
    }
    // What changed shows in the pages now, and the old cursor did not show it.
    let (_, now) = app.get_json("/api/v1/years/2024/results?limit=3").await;
    let (_, rest) = app.get_json(now["next"].as_str().expect("next")).await;
    assert_eq!(sequence(&rest), 6);
    assert_ne!(keys(&rest)[0], whole[1][3], "institution 4 was corrected");
    let (_, now) = app.get_json("/api/v1/dishonesty-list?limit=100").await;
    assert_eq!(now["total"], 4);
    assert_eq!(now["next"], Value::Null);
    assert_eq!(now["next_cursor"], Value::Null);

    // Cursors that cannot be answered, or are not cursors, are problems that say why.
    let forged = |r: u64, hash: &str| {
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"v":1,"r":{r},"h":"{hash}","k":["{}"]}}"#,
            code(1)
        ))
    };
    let held = cursors[0].clone();
    let (_, page) = app
        .get_json(&format!("/api/v1/institutions?cursor={held}"))
        .await;
    let hash3 = page["data"]["revision"]["hash"].as_str().expect("hash")[..12].to_string();
    for (cursor, status, code_, why) in [
        (
            forged(9, &hash3),
            410,
            "cursor-expired",
            "does not hold yet (it is at revision 6)",
        ),
        (
            forged(3, "000000000000"),
            410,
            "cursor-expired",
            "holds another bundle at that revision",
        ),
        (forged(0, &hash3), 400, "invalid-cursor", "malformed"),
        (code(1), 400, "invalid-cursor", "not a cursor of this list"),
        (
            "x".repeat(2000),
            400,
            "invalid-cursor",
            "longer than 1024 characters",
        ),
    ] {
        let (got, problem) = app
            .get_json(&format!("/api/v1/institutions?cursor={cursor}"))
            .await;
        assert_eq!(got, status, "{problem}");
        assert_eq!(problem["code"], code_, "{problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| d.contains(why)),
            "{problem}"
        );
    }
    // A search cursor carries its date: another date with it is refused.
    let (_, first) = app
        .get_json("/api/v1/institutions?limit=1&as_of=2025-01-01")
        .await;
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let (status, problem) = app
        .get_json(&format!(
            "/api/v1/institutions?limit=1&cursor={cursor}&as_of=2025-02-01"
        ))
        .await;
    assert_eq!(status, 400, "{problem}");
    let (_, second) = app
        .get_json(&format!("/api/v1/institutions?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second["as_of"], "2025-01-01", "{second}");

    // The change feed, asked about a revision this instance has not loaded yet (another one
    // behind the same address has): no events, the revision it is at, and no error.
    let (status, feed) = app.get_json("/api/v1/changes?since=9").await;
    assert_eq!(status, 200, "{feed}");
    assert_eq!(feed["events"], serde_json::json!([]));
    assert_eq!(feed["ahead"], true);
    assert_eq!(feed["next_since"], 9);
    assert_eq!(feed["more"], false);
    assert_eq!(sequence(&feed), 6);
    let (_, caught_up) = app.get_json("/api/v1/changes?since=6").await;
    assert_eq!(caught_up["ahead"], false);
    assert_eq!(caught_up["next_since"], 6);
    let atom = app.get("/api/v1/changes.atom?since=9").await;
    assert_eq!(atom.status().as_u16(), 200);
    assert_eq!(
        atom.headers()
            .get("X-Data-Revision")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.starts_with("6-")),
        Some(true)
    );
    let xml = atom.text().await.expect("atom");
    assert!(!xml.contains("<entry>"), "{xml}");

    // The whole feed: an author, an absolute alternate link on every entry, made from the
    // configured address and never from the Host header a client sends.
    let xml = app
        .client
        .get(format!("{}/api/v1/changes.atom", app.address))
        .header("Host", "evil.example")
        .send()
        .await
        .expect("atom")
        .text()
        .await
        .expect("atom");
    assert!(!xml.contains("evil.example"), "{xml}");
    assert!(xml.contains("<author><name>envcredit</name>"), "{xml}");
    let entries: Vec<&str> = xml.split("<entry>").skip(1).collect();
    assert!(entries.len() >= 8, "{xml}");
    for entry in &entries {
        assert!(
            entry.contains(r#"<link href="https://credit.example.gov.cn/"#)
                && entry.contains(r#"rel="alternate""#),
            "{entry}"
        );
    }
    assert!(
        xml.contains(r#"href="https://credit.example.gov.cn/api/v1/changes.atom" rel="self""#),
        "{xml}"
    );
    feedparser_reads(&xml);
}

/// Python's feedparser (not written here) reads the feed without complaint (`bozo == 0`) and
/// finds every entry's link; skipped, loudly, when it is not installed.
fn feedparser_reads(xml: &str) {
    let script = "import sys, feedparser\n\
        d = feedparser.parse(sys.stdin.buffer.read())\n\
        assert d.bozo == 0, d.get('bozo_exception')\n\
        assert d.feed.author, d.feed\n\
        assert all(e.link.startswith('https://') for e in d.entries), d.entries\n\
        print(len(d.entries))\n";
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let required = std::env::var("ENVCREDIT_REQUIRE_PYTHON").as_deref() == Ok("1");
    let Ok(mut child) = child else {
        assert!(!required, "ENVCREDIT_REQUIRE_PYTHON=1 but no python3");
        eprintln!("SKIPPED: feedparser check (no python3)");
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(xml.as_bytes()).expect("feed to python");
    }
    let out = child.wait_with_output().expect("python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'feedparser'") {
        assert!(
            !required,
            "ENVCREDIT_REQUIRE_PYTHON=1 but feedparser is missing"
        );
        eprintln!("SKIPPED: feedparser check (pip install feedparser)");
        return;
    }
    assert!(out.status.success(), "feedparser: {stderr}");
}
backends!(paging_is_stable_across_an_import, stable_across_an_import);
