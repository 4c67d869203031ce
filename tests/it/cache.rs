//! The response cache through the real app, on both backends: a repeated read is answered the
//! same, a new revision is never answered from what was cached at the old one, a cached answer
//! is byte for byte what the app answers without a cache (decoded, when the cache sends it
//! gzip-coded), and errors and receipts are never kept.

use std::io::Read;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use envcredit::bundle::merkle::Hash;
use envcredit::bundle::records::{Change, ChangeKind, Records};
use envcredit::bundle::Dataset;
use envcredit::clock::{Clock, FixedClock};
use envcredit::config::Config;
use flate2::read::GzDecoder;
use reqwest::{Method, Response};
use serde_json::Value;

use crate::backends;
use crate::helpers::*;

/// An answer, with the headers that describe it.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    etag: Option<String>,
    revision: Option<String>,
    as_of: Option<String>,
    content_type: Option<String>,
    content_language: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    cache_control: Option<String>,
    vary: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    async fn of(response: Response) -> Answer {
        let header = |name: &str| {
            let values: Vec<&str> = response
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().expect("ascii header"))
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        };
        Answer {
            status: response.status().as_u16(),
            etag: header("etag"),
            revision: header("x-data-revision"),
            as_of: header("x-data-as-of"),
            content_type: header("content-type"),
            content_language: header("content-language"),
            content_disposition: header("content-disposition"),
            content_encoding: header("content-encoding"),
            cache_control: header("cache-control"),
            vary: header("vary"),
            body: response.bytes().await.expect("body").to_vec(),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }

    fn etag(&self) -> &str {
        self.etag.as_deref().expect("an ETag")
    }

    /// Whether `Vary` names `name`.
    fn varies_on(&self, name: &str) -> bool {
        self.vary
            .as_deref()
            .is_some_and(|v| v.split(',').any(|n| n.trim().eq_ignore_ascii_case(name)))
    }

    /// The answer with `Accept-Encoding` taken out of `Vary`: the one header in which an app
    /// with the cache differs from one without, because only the cache sends gzip-coded bodies.
    fn without_coding_vary(mut self) -> Answer {
        self.vary = self.vary.and_then(|v| {
            let rest: Vec<&str> = v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.eq_ignore_ascii_case("accept-encoding"))
                .collect();
            (!rest.is_empty()).then(|| rest.join(", "))
        });
        self
    }
}

/// One request: a path and the headers sent with it.
#[derive(Debug, Clone)]
struct Ask {
    method: Method,
    path: String,
    accept_language: Option<&'static str>,
    accept_encoding: Option<&'static str>,
    if_none_match: Option<String>,
}

impl Ask {
    fn get(path: impl Into<String>) -> Ask {
        Ask {
            method: Method::GET,
            path: path.into(),
            accept_language: None,
            accept_encoding: None,
            if_none_match: None,
        }
    }

    fn en(mut self) -> Ask {
        self.accept_language = Some("en");
        self
    }

    fn gzip(mut self) -> Ask {
        self.accept_encoding = Some("gzip");
        self
    }

    fn head(mut self) -> Ask {
        self.method = Method::HEAD;
        self
    }

    fn if_none_match(mut self, etag: &str) -> Ask {
        self.if_none_match = Some(etag.to_string());
        self
    }

    async fn send(&self, app: &TestApp) -> Answer {
        let mut request = app
            .client
            .request(self.method.clone(), format!("{}{}", app.address, self.path));
        if let Some(language) = self.accept_language {
            request = request.header("accept-language", language);
        }
        if let Some(coding) = self.accept_encoding {
            request = request.header("accept-encoding", coding);
        }
        if let Some(etag) = &self.if_none_match {
            request = request.header("if-none-match", etag);
        }
        Answer::of(request.send().await.expect("request")).await
    }
}

/// Revisions 1 and 2: evaluation-2024 (1 A/low, 2 C/medium, 3 E/high), then the dishonesty
/// list (3 listed). Returns the second bundle's hash.
fn seed(db: &TestDb, config: &Config) -> Hash {
    let (first, first_hash) = first_bundle();
    import(db, config, &first).expect("2024 imports");
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        first_hash,
        None,
        Records::DishonestyList(vec![listing(3, "嘉环信〔2024〕1号")]),
    ));
    import(db, config, &list.sign(&pipeline_key())).expect("list imports");
    list.hash()
}

/// Revision 3: 2024 again, with 1 corrected from A/low (bonus) to E/high (penalty).
fn correct_institution_1(db: &TestDb, config: &Config, previous: Hash) {
    let mut records = records_2024();
    records[0] = record(1, 5500, 5000);
    records[0].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 1, 5),
        effective_from: date(2024, 10, 25),
        reason: "复核更正监测能力项得分".into(),
        reference: CORRECTION.into(),
    });
    let correction = Parts::of(&draft(
        Dataset::Evaluation(2024),
        3,
        previous,
        Some(schedule_2024()),
        Records::Evaluation(records),
    ));
    import(db, config, &correction.sign(&pipeline_key())).expect("correction imports");
}

const CORRECTION: &str = "嘉环信复〔2025〕1号";
const TODAY: (i32, u32, u32) = (2025, 1, 10);

fn today() -> NaiveDate {
    date(TODAY.0, TODAY.1, TODAY.2)
}

/// What an answer must show once institution 1 is corrected.
#[derive(Debug, Clone, Copy)]
enum After {
    /// Its body changes, and holds these (which it did not hold before).
    Shows(&'static [&'static str]),
    /// Its body changes (it states the revision it comes from, or holds institution 1).
    Differs,
    /// Its body stays the same: it depends only on the build, on one earlier bundle, or on a
    /// dataset the correction does not touch (and names no revision).
    Same,
}

/// The cached reads, broadly: every API read and every page, with what the correction of
/// institution 1 must do to each.
fn routes() -> Vec<(Ask, After)> {
    let one = code(1);
    let grade_e_json: &'static [&'static str] =
        &["\"letter\":\"E\"", "\"bid_flag\":\"penalty\"", CORRECTION];
    let grade_e_page: &'static [&'static str] = &["grade-E", CORRECTION];
    vec![
        // The API.
        (
            Ask::get(format!("/api/v1/institutions/{one}")),
            After::Shows(grade_e_json),
        ),
        (
            Ask::get(format!("/api/v1/institutions/{one}?as_of=2024-12-01")),
            After::Shows(grade_e_json),
        ),
        (
            Ask::get(format!("/api/v1/flags/{one}")),
            After::Shows(&["\"letter\":\"E\"", "\"bid_flag\":\"penalty\""]),
        ),
        (
            Ask::get(format!("/api/v1/institutions?q={one}")),
            After::Shows(&["\"letter\":\"E\"", "\"bid_flag\":\"penalty\""]),
        ),
        (
            Ask::get("/api/v1/institutions?year=2024&limit=2"),
            After::Differs,
        ),
        (
            Ask::get(format!("/api/v1/institutions/{}", code(2))),
            After::Differs,
        ),
        (
            Ask::get(format!("/api/v1/institutions/{one}/years/2024/proof")),
            After::Differs,
        ),
        (Ask::get("/api/v1/years"), After::Differs),
        (Ask::get("/api/v1/years/2024/results"), After::Differs),
        (Ask::get("/api/v1/years/2024/results.csv"), After::Differs),
        (Ask::get("/api/v1/flags.csv"), After::Differs),
        (Ask::get("/api/v1/flags.csv?bom=true"), After::Differs),
        (Ask::get("/api/v1/dishonesty-list"), After::Differs),
        // The list is not touched, and its CSV names no revision.
        (Ask::get("/api/v1/dishonesty-list.csv"), After::Same),
        (Ask::get("/api/v1/violations"), After::Differs),
        (Ask::get("/api/v1/violations.csv"), After::Same),
        (Ask::get("/api/v1/statistics"), After::Differs),
        (
            Ask::get("/api/v1/changes"),
            After::Shows(&["\"kind\":\"correction\"", CORRECTION]),
        ),
        (Ask::get("/api/v1/changes?since=1"), After::Differs),
        (
            Ask::get("/api/v1/changes.atom"),
            After::Shows(&[CORRECTION]),
        ),
        (Ask::get("/api/v1/bundles"), After::Differs),
        (Ask::get("/api/v1/keys"), After::Differs),
        (Ask::get("/api/v1/bundles/1"), After::Same),
        (Ask::get("/api/v1/openapi.json"), After::Same),
        // The pages (each shows the revision in its footer).
        (
            Ask::get(format!("/institutions/{one}")),
            After::Shows(grade_e_page),
        ),
        (
            Ask::get(format!("/en/institutions/{one}")),
            After::Shows(grade_e_page),
        ),
        (
            Ask::get(format!("/institutions/{one}")).en(),
            After::Shows(grade_e_page),
        ),
        (Ask::get("/"), After::Differs),
        (Ask::get("/en"), After::Differs),
        (
            Ask::get(format!("/search?q={one}")),
            After::Shows(&["grade-E"]),
        ),
        (Ask::get("/years"), After::Differs),
        (Ask::get("/years/2024"), After::Differs),
        (Ask::get("/years/2024?grade=E"), After::Differs),
        (Ask::get("/dishonesty-list"), After::Differs),
        (Ask::get("/dishonesty-list?state=all"), After::Differs),
        (Ask::get("/statistics"), After::Differs),
        (Ask::get("/en/statistics"), After::Differs),
        (Ask::get("/rules"), After::Differs),
    ]
}

fn is_page(ask: &Ask) -> bool {
    !ask.path.starts_with("/api/")
}

/// Asks twice: both `200`, tagged, and the second the same as the first.
async fn twice(app: &TestApp, ask: &Ask) -> Answer {
    let first = ask.send(app).await;
    assert_eq!(first.status, 200, "{ask:?}: {}", first.text());
    assert!(first.etag.is_some(), "{ask:?}: an ETag");
    assert!(!first.body.is_empty(), "{ask:?}: a body");
    let second = ask.send(app).await;
    assert_eq!(second, first, "{ask:?}: asked again, the same answer");
    first
}

/// The revision `/healthz` (never cached) says is served, once it starts with `prefix`.
async fn wait_for_revision(app: &TestApp, prefix: &str) -> String {
    for _ in 0..50 {
        let (status, health) = app.get_json("/healthz").await;
        assert_eq!(status, 200);
        if let Some(revision) = health["revision"].as_str() {
            if revision.starts_with(prefix) {
                return revision.to_string();
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("revision {prefix}… is not served within 5 s");
}

async fn new_revision(db: TestDb) {
    let mut config = config(&db);
    config.poll_interval_seconds = 1;
    let previous = seed(&db, &config);
    let app = spawn_app(config.clone(), today()).await;
    let old_revision = wait_for_revision(&app, "2-").await;

    let routes = routes();
    let mut before = Vec::new();
    for (ask, after) in &routes {
        let answer = twice(&app, ask).await;
        if is_page(ask) {
            assert!(
                answer
                    .text()
                    .contains(&format!("class=\"revision\">{old_revision}<")),
                "{ask:?}: the footer names revision 2"
            );
        } else if !matches!(after, After::Same) {
            assert_eq!(answer.revision.as_deref(), Some(old_revision.as_str()));
        }
        if let After::Shows(needles) = after {
            for needle in *needles {
                assert!(
                    !answer.text().contains(needle),
                    "{ask:?}: {needle} before the correction"
                );
            }
        }
        before.push(answer);
    }
    // The institution as it was: A, bonus.
    assert_eq!(before[0].json()["standing"]["grade"]["letter"], "A");
    assert_eq!(before[0].json()["standing"]["bid_flag"], "bonus");

    correct_institution_1(&db, &config, previous);
    let new_revision = wait_for_revision(&app, "3-").await;

    for ((ask, after), old) in routes.iter().zip(&before) {
        let answer = twice(&app, ask).await;
        assert_ne!(answer.etag, old.etag, "{ask:?}: a new tag");
        assert!(
            answer.etag().starts_with("\"3-"),
            "{ask:?}: {}",
            answer.etag()
        );
        match old.revision {
            Some(_) => assert_eq!(
                answer.revision.as_deref(),
                Some(new_revision.as_str()),
                "{ask:?}: X-Data-Revision"
            ),
            None => assert_eq!(answer.revision, None, "{ask:?}"),
        }
        if is_page(ask) {
            let html = answer.text();
            assert!(
                html.contains(&format!("class=\"revision\">{new_revision}<")),
                "{ask:?}: the footer names revision 3"
            );
            assert!(
                !html.contains(&format!("class=\"revision\">{old_revision}<")),
                "{ask:?}: the footer no longer names revision 2"
            );
        }
        match after {
            After::Shows(needles) => {
                assert_ne!(answer.body, old.body, "{ask:?}: the new data");
                for needle in *needles {
                    assert!(
                        answer.text().contains(needle),
                        "{ask:?}: {needle} after the correction: {}",
                        answer.text()
                    );
                }
            }
            After::Differs => assert_ne!(answer.body, old.body, "{ask:?}: the new data"),
            After::Same => assert_eq!(answer.body, old.body, "{ask:?}"),
        }
        assert_eq!(answer.content_type, old.content_type, "{ask:?}");

        // A client holding the old tag gets the new answer, not 304.
        let revalidated = ask.clone().if_none_match(old.etag()).send(&app).await;
        assert_eq!(revalidated.status, 200, "{ask:?}: the old tag is stale");
        assert_eq!(revalidated, answer, "{ask:?}: the new answer");
        // The new tag is current.
        let current = ask.clone().if_none_match(answer.etag()).send(&app).await;
        assert_eq!(current.status, 304, "{ask:?}");
        assert!(current.body.is_empty(), "{ask:?}");
    }

    // The institution as corrected: E, penalty.
    let institution = Ask::get(format!("/api/v1/institutions/{}", code(1)))
        .send(&app)
        .await
        .json();
    assert_eq!(institution["data"]["revision"]["sequence"], 3);
    assert_eq!(institution["standing"]["grade"]["letter"], "E");
    assert_eq!(institution["standing"]["bid_flag"], "penalty");
    let flag = Ask::get(format!("/api/v1/flags/{}", code(1)))
        .send(&app)
        .await
        .json();
    assert_eq!(flag["bid_flag"], "penalty", "{flag}");
    assert_eq!(flag["valid_grade"]["grade"]["letter"], "E", "{flag}");
    // The earlier revision is still answered as it was, from its own key.
    let then = Ask::get(format!("/api/v1/institutions/{}?revision=2", code(1)))
        .send(&app)
        .await;
    assert_eq!(then.status, 200);
    assert_eq!(then.json()["standing"]["grade"]["letter"], "A");
    assert_eq!(then.revision.as_deref(), Some(old_revision.as_str()));
}
backends!(
    after_an_import_every_cached_route_answers_from_the_new_revision,
    new_revision
);

/// Another fresh database on the same backend as `db`.
fn twin(db: &TestDb) -> TestDb {
    if db.url.starts_with("postgres") {
        TestDb::postgresql().expect("PostgreSQL answered a moment ago")
    } else {
        TestDb::sqlite()
    }
}

async fn same_answers(db: TestDb) {
    let other = twin(&db);
    let mut uncached_config = config(&other);
    uncached_config.cache.max_bytes = 0;
    seed(&other, &uncached_config);
    let uncached = spawn_app(uncached_config, today()).await;
    let cached_config = config(&db);
    assert!(
        cached_config.cache.max_bytes > 0,
        "the cache is on by default"
    );
    seed(&db, &cached_config);
    let cached = spawn_app(cached_config, today()).await;

    // Each path first without a language, then in English (then in Chinese): an answer kept
    // for one language must not be served for another.
    let mut asks = Vec::new();
    for (ask, _) in routes() {
        asks.push(ask.clone());
        if ask.accept_language.is_none() {
            asks.push(ask.clone().en());
            let mut zh = ask.clone();
            zh.accept_language = Some("zh-CN,zh;q=0.9");
            asks.push(zh);
        }
    }
    asks.push(Ask::get(format!(
        "/api/v1/institutions/{}?revision=1",
        code(3)
    )));
    asks.push(Ask::get(format!(
        "/api/v1/flags/{}?as_of=2024-12-01&revision=1",
        code(3)
    )));
    asks.push(Ask::get("/api/v1/years/2024/results?county=330402&grade=E"));
    asks.push(Ask::get(format!("/zh/institutions/{}", code(3))));
    asks.push(Ask::get("/search?grade=A&year=2024"));

    let mut coded = 0;
    for (i, ask) in asks.iter().enumerate() {
        let reference = ask.send(&uncached).await;
        assert_eq!(reference.status, 200, "{ask:?}: {}", reference.text());
        assert!(reference.etag.is_some(), "{ask:?}: tagged without a cache");
        assert_eq!(reference.content_encoding, None, "{ask:?}");
        assert_eq!(ask.send(&uncached).await, reference, "{ask:?}: asked again");
        assert_eq!(
            ask.clone().gzip().send(&uncached).await,
            reference,
            "{ask:?}: without the cache nothing is gzip-coded"
        );

        // With the cache: a client that takes gzip and one that does not, by turns first, so
        // that each meets a miss and a hit.
        let plain = ask.clone();
        let gzip = ask.clone().gzip();
        let order = match i % 2 {
            0 => [&plain, &gzip, &plain, &gzip],
            _ => [&gzip, &plain, &gzip, &plain],
        };
        let mut coded_tag = None;
        for asked in order {
            let answer = asked.send(&cached).await;
            assert!(
                answer.varies_on("accept-encoding"),
                "{asked:?}: the coding depends on Accept-Encoding, so Vary names it: {:?}",
                answer.vary
            );
            if answer.content_encoding.as_deref() == Some("gzip") {
                assert!(asked.accept_encoding.is_some(), "{asked:?}: gzip unasked");
                assert_ne!(
                    answer.etag, reference.etag,
                    "{asked:?}: a coded representation has its own strong tag"
                );
                coded += 1;
                coded_tag = answer.etag.clone();
                let mut body = Vec::new();
                GzDecoder::new(&answer.body[..])
                    .read_to_end(&mut body)
                    .expect("gzip body");
                let decoded = Answer {
                    etag: reference.etag.clone(),
                    content_encoding: None,
                    body,
                    ..answer
                };
                assert_eq!(
                    decoded.without_coding_vary(),
                    reference,
                    "{asked:?}: decoded, the answer without the cache"
                );
            } else {
                assert_eq!(answer.content_encoding, None, "{asked:?}");
                assert_eq!(
                    answer.without_coding_vary(),
                    reference,
                    "{asked:?}: the answer without the cache"
                );
            }
        }

        // HEAD: the same headers, no body, from either.
        let head = ask.clone().head();
        let mut expected = reference.clone();
        expected.body.clear();
        assert_eq!(head.send(&uncached).await, expected, "{head:?}");
        assert_eq!(
            head.send(&cached).await.without_coding_vary(),
            expected,
            "{head:?}"
        );
        // Revalidation: 304 with the same headers from both, for the tag and for `*`.
        for tag in [reference.etag(), "*"] {
            let conditional = ask.clone().if_none_match(tag);
            let not_modified = conditional.send(&uncached).await;
            assert_eq!(not_modified.status, 304, "{conditional:?}");
            assert_eq!(not_modified.etag, reference.etag, "{conditional:?}");
            assert!(not_modified.body.is_empty(), "{conditional:?}");
            assert_eq!(
                conditional.send(&cached).await.without_coding_vary(),
                not_modified,
                "{conditional:?}"
            );
        }
        // The coded tag revalidates where it was made, and only there.
        if let Some(tag) = coded_tag {
            let conditional = ask.clone().gzip().if_none_match(&tag);
            let not_modified = conditional.send(&cached).await;
            assert_eq!(not_modified.status, 304, "{conditional:?}");
            assert_eq!(not_modified.etag.as_deref(), Some(tag.as_str()));
            assert_eq!(
                conditional.send(&uncached).await,
                reference,
                "{conditional:?}"
            );
        }
    }
    // Pages, JSON and CSV shrink: the coded path above was taken, not only the plain one.
    assert!(coded > asks.len(), "{coded} gzip-coded answers");

    // The answers really do depend on the language: the cache keeps them apart.
    let zh = Ask::get("/").send(&cached).await;
    let en = Ask::get("/").en().send(&cached).await;
    assert_ne!(zh.body, en.body);
    assert_eq!(zh.content_language.as_deref(), Some("zh-CN"));
    assert_eq!(en.content_language.as_deref(), Some("en"));
}
backends!(cached_answers_equal_uncached_answers, same_answers);

/// A clock on one day that moves a second forward each time it is read, so that receipts
/// issued one after the other carry different instants without waiting.
#[derive(Debug)]
struct Ticking {
    start: DateTime<Utc>,
    ticks: AtomicI64,
}

impl Clock for Ticking {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::seconds(self.ticks.fetch_add(1, Ordering::SeqCst))
    }
}

/// `spawn_app` with the ticking clock (noon in Shanghai on `today`, far from midnight).
async fn spawn_ticking(config: Config, today: NaiveDate) -> TestApp {
    let clock = Ticking {
        start: FixedClock(today).now(),
        ticks: AtomicI64::new(0),
    };
    spawn_app_with_clock(config, Arc::new(clock)).await
}

async fn not_kept(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("receipt.key");
    std::fs::write(&key_file, format!("{}\n", STANDARD.encode([11u8; 32]))).expect("key file");
    let mut config = config(&db);
    config.receipt_key_file = Some(key_file);
    seed(&db, &config);
    let app = spawn_ticking(config, today()).await;

    // Errors: never tagged, never kept (a kept answer would come back as 200), asked twice
    // and revalidated with `*`.
    let missing = code(9999);
    for ask in [
        Ask::get(format!("/api/v1/institutions/{missing}")),
        Ask::get(format!("/api/v1/flags/{missing}")),
        Ask::get(format!("/institutions/{missing}")),
        Ask::get(format!("/en/institutions/{missing}")),
        Ask::get(format!("/api/v1/institutions/{}?revision=9", code(1))),
        Ask::get("/api/v1/years/2031/results"),
        Ask::get("/years/2031"),
        Ask::get("/no-such-page"),
    ] {
        for conditional in [None, Some("*")] {
            let mut ask = ask.clone();
            ask.if_none_match = conditional.map(str::to_string);
            for _ in 0..2 {
                let answer = ask.send(&app).await;
                assert_eq!(answer.status, 404, "{ask:?}: {}", answer.text());
                assert_eq!(answer.cache_control.as_deref(), Some("no-store"), "{ask:?}");
                assert_eq!(answer.etag, None, "{ask:?}");
                assert!(!answer.body.is_empty(), "{ask:?}: the problem");
            }
        }
    }
    let invalid = Ask::get("/api/v1/institutions/123");
    for _ in 0..2 {
        let answer = invalid.send(&app).await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.cache_control.as_deref(), Some("no-store"));
        assert_eq!(answer.etag, None);
    }

    // Receipts: each is issued at its own instant, untagged and not stored; the plain answer
    // beside them is tagged, kept and carries no receipt.
    let plain = Ask::get(format!("/api/v1/flags/{}?as_of=2024-12-01", code(1)));
    let with_receipt = Ask::get(format!(
        "/api/v1/flags/{}?as_of=2024-12-01&receipt=true",
        code(1)
    ));
    let first_plain = twice(&app, &plain).await;
    assert!(first_plain.json().get("receipt").is_none());
    let mut issued = Vec::new();
    for _ in 0..2 {
        let answer = with_receipt.send(&app).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.etag, None);
        assert_eq!(answer.cache_control.as_deref(), Some("no-store"));
        let body = answer.json();
        let payload: Value = serde_json::from_slice(
            &STANDARD
                .decode(body["receipt"]["payload"].as_str().expect("payload"))
                .expect("base64"),
        )
        .expect("payload json");
        issued.push(
            payload["issued_at"]
                .as_str()
                .expect("issued_at")
                .to_string(),
        );
        // Otherwise the plain answer.
        let mut without = body.clone();
        without.as_object_mut().expect("object").remove("receipt");
        assert_eq!(without, first_plain.json());
    }
    assert_ne!(issued[0], issued[1], "two receipts, two instants");
    // `If-None-Match: *` does not turn a receipt into a 304.
    let answer = with_receipt.clone().if_none_match("*").send(&app).await;
    assert_eq!(answer.status, 200);
    assert!(answer.json()["receipt"].is_object());
    // And the plain answer is still the one kept before.
    assert_eq!(plain.send(&app).await, first_plain);
}
backends!(errors_and_receipts_are_not_cached, not_kept);
