//! Running like infrastructure (docs/operations.md): two instances over one PostgreSQL database
//! see an import within 5 s; an instance that loses its database keeps serving and says so at
//! `/readyz`, then recovers by itself; `/metrics`; request ids; security headers on every kind
//! of answer; body size limits and slow clients; `envcredit config check`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;
use envcredit::config::Config;

use crate::backends;
use crate::helpers::*;

fn today() -> chrono::NaiveDate {
    date(2025, 10, 1)
}

/// Bundle 2 after [`first_bundle`]: the serious-dishonesty list.
fn second_bundle(previous: envcredit::bundle::merkle::Hash) -> Vec<u8> {
    Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        previous,
        None,
        Records::DishonestyList(vec![listing(1, "listed")]),
    ))
    .sign(&pipeline_key())
}

async fn revision_of(app: &TestApp) -> Option<String> {
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    body["revision"].as_str().map(str::to_string)
}

/// Waits until `check` holds, at most `limit`; returns how long it took.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Several instances, one database
// ---------------------------------------------------------------------------------------------

/// Two `serve` instances over one PostgreSQL database, set up as docs/operations.md says (each
/// with its own state file, the checkpoint pinned, the default poll interval), an import
/// through the command line: both serve the new revision within 5 s, and neither ever answers
/// with a revision that is not one of the two.
#[actix_web::test]
async fn two_instances_see_an_import_through_the_cli_within_5_s() {
    let Some(db) = TestDb::postgresql() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (first, first_hash) = first_bundle();
    let mut base = config(&db);
    base.poll_interval_seconds = 2;
    base.state_file = None;
    // Bundle 1 is imported below; a new instance has no state file yet: the pinned checkpoint vouches for the database.
    base.checkpoint = Some(envcredit::config::Checkpoint {
        sequence: 1,
        hash: hex::encode(first_hash),
    });
    let instance = |n: u32| -> Config {
        let mut config = base.clone();
        config.state_file = Some(
            dir.path()
                .join(format!("instance-{n}.state.json"))
                .display()
                .to_string(),
        );
        config
    };
    import(&db, &instance(1), &first).expect("bundle 1");
    let apps = [
        spawn_app(instance(1), today()).await,
        spawn_app(instance(2), today()).await,
    ];
    for app in &apps {
        assert_eq!(
            revision_of(app).await.as_deref().map(|r| &r[..2]),
            Some("1-")
        );
    }

    std::fs::write(
        dir.path().join("0002.bundle.json"),
        second_bundle(first_hash),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("importer.toml"),
        format!(
            "database_url = \"{}\"\nstate_file = \"importer.state.json\"\ncheckpoint = {{ sequence = 1, hash = \"{}\" }}\n[[trusted_keys]]\nname = \"pipeline\"\npublic_key = \"{}\"\n",
            db.url,
            hex::encode(first_hash),
            pipeline_key().public_key().to_base64()
        ),
    )
    .expect("config");
    let out = envcredit(
        dir.path(),
        &["--config", "importer.toml", "import", "0002.bundle.json"],
    );
    assert!(out.status.success(), "import: {}", text(&out.stderr));
    let imported = Instant::now();

    for (i, app) in apps.iter().enumerate() {
        within(
            Duration::from_secs(5).saturating_sub(imported.elapsed()),
            &format!("instance {i} serves revision 2"),
            || async {
                let revision = revision_of(app).await.expect("a revision");
                assert!(
                    revision.starts_with("1-") || revision.starts_with("2-"),
                    "{revision}"
                );
                revision.starts_with("2-")
            },
        )
        .await;
        // What it answers comes from the new revision, headers and body alike.
        let response = app.get("/api/v1/dishonesty-list").await;
        assert_eq!(response.status(), 200);
        let header = response.headers()["x-data-revision"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(header.starts_with("2-"), "{header}");
    }
    eprintln!(
        "both instances served revision 2 {:?} after the import returned",
        imported.elapsed()
    );
    // Each instance's state file followed.
    for n in [1, 2] {
        let state = std::fs::read_to_string(dir.path().join(format!("instance-{n}.state.json")))
            .expect("state file");
        assert!(state.contains("\"sequence\": 2"), "{state}");
    }
}

// ---------------------------------------------------------------------------------------------
// The database goes away
// ---------------------------------------------------------------------------------------------

/// A TCP proxy in front of PostgreSQL that can be cut: while cut, it resets every connection
/// it carries and every new one, as a database server that went away or a broken network does.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (thread_up, thread_stop, thread_connections) =
            (up.clone(), stop.clone(), connections.clone());
        std::thread::spawn(move || {
            while !thread_stop.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                if !thread_up.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut kept = thread_connections.lock().unwrap();
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
                        continue;
                    };
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
                kept.push(client);
                kept.push(server);
            }
        });
        Proxy {
            port,
            up,
            connections,
            stop,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for stream in self.connections.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
    }
}

async fn readiness(app: &TestApp) -> (u16, serde_json::Value) {
    app.get_json("/readyz").await
}

/// PostgreSQL unreachable mid-run: reads keep working from the last verified data, `/healthz`
/// stays alive, `/readyz` says degraded; when the database is back the instance reconnects by
/// itself, `/readyz` is ready again and an import made meanwhile is served.
#[actix_web::test]
async fn an_instance_that_loses_its_database_keeps_serving_and_recovers() {
    let Some(db) = TestDb::postgresql() else {
        return;
    };
    let (first, first_hash) = first_bundle();
    let direct = config(&db);
    import(&db, &direct, &first).expect("bundle 1");

    let mut url = url::Url::parse(&db.url).expect("url");
    let target = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(target);
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(proxy.port)).expect("port");
    let mut proxied = config(&db);
    proxied.database_url = url.to_string();
    proxied.poll_interval_seconds = 1;
    let app = spawn_app(proxied, today()).await;

    let reads = [
        "/api/v1/institutions/".to_string() + &code(1),
        format!("/institutions/{}", code(1)),
        "/api/v1/years".to_string(),
    ];
    let answers = |app: &TestApp| {
        let app_client = app.client.clone();
        let address = app.address.clone();
        let reads = reads.clone();
        async move {
            let mut answers = Vec::new();
            for path in &reads {
                let response = app_client
                    .get(format!("{address}{path}"))
                    .send()
                    .await
                    .expect("request");
                let status = response.status().as_u16();
                answers.push((status, response.text().await.expect("body")));
            }
            answers
        }
    };
    let before = answers(&app).await;
    assert!(
        before.iter().all(|(status, _)| *status == 200),
        "{before:?}"
    );
    let (status, ready) = readiness(&app).await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );

    proxy.cut();
    let cut = Instant::now();
    let took = within(Duration::from_secs(15), "/readyz says degraded", || async {
        readiness(&app).await.1["status"] == "degraded"
    })
    .await;
    eprintln!("degraded {took:?} after the database was cut");
    let (status, degraded) = readiness(&app).await;
    assert_eq!(status, 200, "still in rotation: it serves verified data");
    assert_eq!(degraded["database"]["reachable"], false);
    assert!(
        degraded["database"]["unreachable_since"].is_string(),
        "{degraded}"
    );
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    // An import meanwhile, straight to the database: not seen while the instance cannot look.
    import(&db, &direct, &second_bundle(first_hash)).expect("bundle 2");
    // A minute of the public's reads while the database is gone would look like this: the same
    // answers, byte for byte.
    for _ in 0..3 {
        assert_eq!(answers(&app).await, before);
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(revision_of(&app).await.expect("revision").starts_with("1-"));
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains("envcredit_database_up 0"), "{metrics}");
    assert!(
        metrics.contains("envcredit_revision_polls_total{result=\"error\"}"),
        "{metrics}"
    );

    proxy.restore();
    let took = within(
        Duration::from_secs(15),
        "ready again, serving revision 2",
        || async {
            let (_, ready) = readiness(&app).await;
            ready["status"] == "ready"
                && ready["revision"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("2-"))
        },
    )
    .await;
    eprintln!(
        "ready again {took:?} after the database came back ({:?} after it was cut)",
        cut.elapsed()
    );
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains("envcredit_database_up 1"), "{metrics}");
    assert!(
        metrics.contains("envcredit_revision_loads_total{result=\"verified\"} 1"),
        "{metrics}"
    );
}

/// The database goes back while an instance serves (a restore from an older backup, the last
/// bundle deleted behind the registry's back, say to hide a listing): the instance keeps
/// serving the verified revision it had; it does not follow the database back.
async fn database_going_back(db: TestDb) {
    let mut config = config(&db);
    config.poll_interval_seconds = 1;
    let (first, first_hash) = first_bundle();
    import(&db, &config, &first).expect("bundle 1");
    import(&db, &config, &second_bundle(first_hash)).expect("bundle 2");
    let app = spawn_app(config, today()).await;
    let listed = app
        .get("/api/v1/dishonesty-list")
        .await
        .text()
        .await
        .expect("body");
    assert!(revision_of(&app).await.expect("revision").starts_with("2-"));

    crate::highwater::delete_bundle(&db, 2);
    // Three polls later: the same revision, the same answer.
    actix_web::rt::time::sleep(Duration::from_millis(3500)).await;
    assert!(revision_of(&app).await.expect("revision").starts_with("2-"));
    let after = app
        .get("/api/v1/dishonesty-list")
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(after, listed);
    let (status, ready) = readiness(&app).await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );
}
backends!(
    a_database_that_goes_back_is_not_followed,
    database_going_back
);

// ---------------------------------------------------------------------------------------------
// Metrics, request ids, readiness
// ---------------------------------------------------------------------------------------------

async fn metrics_count_requests(db: TestDb) {
    let mut config = config(&db);
    let (first, _) = first_bundle();
    import(&db, &config, &first).expect("bundle 1");
    config.cache.max_bytes = 1 << 20;
    let app = spawn_app(config, today()).await;
    let path = format!("/api/v1/institutions/{}", code(1));
    for _ in 0..3 {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    assert_eq!(app.get("/api/v1/institutions/0").await.status(), 400);
    assert_eq!(app.get("/no/such/page/at/all").await.status(), 404);

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.expect("text");
    for line in [
        "envcredit_http_requests_total{route=\"/api/v1/institutions/{code}\",method=\"GET\",status=\"200\"} 3",
        "envcredit_http_requests_total{route=\"/api/v1/institutions/{code}\",method=\"GET\",status=\"400\"} 1",
        "envcredit_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "envcredit_http_request_duration_seconds_count{route=\"/api/v1/institutions/{code}\"} 4",
        "envcredit_response_cache_lookups_total{result=\"hit\"} 2",
        "envcredit_revision_sequence 1",
        "envcredit_integrity_failures 0",
        "envcredit_institutions 3",
        "envcredit_database_up 1",
        "# TYPE envcredit_revision_age_seconds gauge",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    // Paths are never labels: the code asked for is nowhere.
    assert!(!text.contains(&code(1)), "{text}");
}
backends!(
    metrics_count_requests_by_route_and_status,
    metrics_count_requests
);

async fn metrics_only_for_allowed(db: TestDb) {
    let mut config = config(&db);
    config.metrics.allow = vec!["192.0.2.0/24".into()];
    let app = spawn_app(config, today()).await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.expect("problem");
    assert_eq!(body["code"], "forbidden");
}
backends!(
    metrics_are_refused_to_other_addresses,
    metrics_only_for_allowed
);

async fn rate_limited_are_counted(db: TestDb) {
    let mut config = config(&db);
    config.rate_limit.per_minute = 1;
    config.rate_limit.burst = 1;
    let app = spawn_app(config, today()).await;
    assert_eq!(app.get("/api/v1/years").await.status(), 200);
    assert_eq!(app.get("/api/v1/years").await.status(), 429);
    // /metrics is outside the limits, or this would be a 429 too.
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(
        text.contains("envcredit_rate_limited_total{quota=\"client\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("envcredit_http_requests_total{route=\"/api/v1/years\",method=\"GET\",status=\"429\"} 1"),
        "{text}"
    );
}
backends!(rate_limited_requests_are_counted, rate_limited_are_counted);

async fn request_ids(db: TestDb) {
    let app = spawn_app(config(&db), today()).await;
    let mine = app
        .client
        .get(format!("{}/api/v1/years", app.address))
        .header("X-Request-Id", "lb-42.a_b")
        .send()
        .await
        .expect("request");
    assert_eq!(mine.headers()["x-request-id"], "lb-42.a_b");
    let forged = app
        .client
        .get(format!("{}/api/v1/years", app.address))
        .header("X-Request-Id", "x\" level=error msg=forged")
        .send()
        .await
        .expect("request");
    let id = forged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!id.contains(' ') && !id.is_empty(), "{id}");
    let (a, b) = (app.get("/healthz").await, app.get("/healthz").await);
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);
}
backends!(every_answer_has_a_request_id, request_ids);

async fn readiness_of_an_empty_store(db: TestDb) {
    let app = spawn_app(config(&db), today()).await;
    let (status, body) = readiness(&app).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert_eq!(body["database"]["reachable"], true);
}
backends!(
    an_instance_with_no_data_is_not_ready,
    readiness_of_an_empty_store
);

// ---------------------------------------------------------------------------------------------
// Hardening
// ---------------------------------------------------------------------------------------------

const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("strict-transport-security", "max-age=31536000"),
];

async fn security_headers(db: TestDb) {
    let mut config = config(&db);
    let (first, _) = first_bundle();
    import(&db, &config, &first).expect("bundle 1");
    config.http.hsts_max_age_seconds = Some(31_536_000);
    // Five counted requests go through, the sixth counted one is refused (the 413 is answered
    // before the rate limits, /healthz, /readyz, /metrics and /favicon.ico are not counted).
    config.rate_limit.per_minute = 1;
    config.rate_limit.burst = 5;
    let app = spawn_app(config, today()).await;
    let client = &app.client;
    let url = |path: &str| format!("{}{path}", app.address);
    let answers = vec![
        (
            "API 200",
            client.get(url(&format!("/api/v1/institutions/{}", code(1)))),
        ),
        (
            "page 200",
            client.get(url(&format!("/institutions/{}", code(1)))),
        ),
        ("API 404", client.get(url("/api/v1/nothing"))),
        ("page 404", client.get(url("/nothing"))),
        ("405", client.delete(url("/api/v1/years"))),
        (
            "413",
            client
                .post(url("/api/v1/flags/batch"))
                .header("content-type", "application/json")
                .body(vec![b' '; 300 * 1024]),
        ),
        ("429", client.get(url("/api/v1/years"))),
        ("healthz", client.get(url("/healthz"))),
        ("readyz", client.get(url("/readyz"))),
        ("metrics", client.get(url("/metrics"))),
        ("static", client.get(url("/favicon.ico"))),
    ];
    let mut statuses = Vec::new();
    for (what, request) in answers {
        let response = request.send().await.expect("request");
        statuses.push((what, response.status().as_u16()));
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"))
            .to_str()
            .unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{what}: {csp}"
        );
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                headers.get(name).map(|v| v.to_str().unwrap()),
                Some(value),
                "{what}: {name}"
            );
        }
        assert!(headers.contains_key("x-request-id"), "{what}");
    }
    let status = |what: &str| statuses.iter().find(|(w, _)| *w == what).map(|(_, s)| *s);
    assert_eq!(status("413"), Some(413), "{statuses:?}");
    assert_eq!(status("429"), Some(429), "{statuses:?}");
    assert_eq!(status("405"), Some(405), "{statuses:?}");
}
backends!(security_headers_are_on_every_answer, security_headers);

async fn no_hsts_unless_configured(db: TestDb) {
    let app = spawn_app(config(&db), today()).await;
    assert!(!app
        .get("/healthz")
        .await
        .headers()
        .contains_key("strict-transport-security"));
}
backends!(hsts_only_when_configured, no_hsts_unless_configured);

async fn oversized_bodies(db: TestDb) {
    let mut config = config(&db);
    config.http.max_body_bytes = 4096;
    let app = spawn_app(config, today()).await;
    let url = format!("{}/api/v1/flags/batch", app.address);
    // Declared too large: refused before the body is read.
    let declared = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b' '; 5000])
        .send()
        .await
        .expect("request");
    assert_eq!(declared.status(), 413);
    let problem: serde_json::Value = declared.json().await.expect("problem");
    assert_eq!(problem["code"], "payload-too-large");
    assert!(
        problem["detail"].as_str().unwrap().contains("4096"),
        "{problem}"
    );
    // Chunked, without a length: cut when it passes the limit.
    let address = app.address.trim_start_matches("http://").to_string();
    let chunked = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&address).expect("connect");
        stream
            .write_all(b"POST /api/v1/flags/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .expect("head");
        for _ in 0..10 {
            let chunk = [b' '; 1000];
            let _ = stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes());
            let _ = stream.write_all(&chunk);
            let _ = stream.write_all(b"\r\n");
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let _ = stream.shutdown(Shutdown::Write);
        read_until_closed(stream).0
    })
    .await
    .expect("thread");
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    assert!(chunked.contains("payload-too-large"), "{chunked}");
    // Under the limit: answered as usual.
    let fine = app
        .client
        .post(&url)
        .json(&serde_json::json!({ "codes": [code(1)] }))
        .send()
        .await
        .expect("request");
    assert_eq!(fine.status(), 200);
}
backends!(oversized_bodies_are_413, oversized_bodies);

/// Reads a raw HTTP answer until the server closes the connection; how long that took.
fn read_until_closed(mut stream: TcpStream) -> (String, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (text(&answer), started.elapsed())
}

async fn slow_clients(db: TestDb) {
    let mut config = config(&db);
    config.http.client_request_timeout_seconds = 1;
    config.http.request_timeout_seconds = 2;
    let app = spawn_app(config, today()).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let timings = actix_web::rt::task::spawn_blocking(move || {
        // A request head that never ends.
        let mut head = TcpStream::connect(&address).expect("connect");
        head.write_all(b"GET /api/v1/years HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .expect("write");
        let (head_answer, head_took) = read_until_closed(head);
        // A body that trickles: 10 bytes of the 100 announced, then nothing.
        let mut body = TcpStream::connect(&address).expect("connect");
        body.write_all(
            b"POST /api/v1/flags/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"codes\":",
        )
        .expect("write");
        let (body_answer, body_took) = read_until_closed(body);
        (head_answer, head_took, body_answer, body_took)
    })
    .await
    .expect("thread");
    let (head_answer, head_took, body_answer, body_took) = timings;
    assert!(head_answer.starts_with("HTTP/1.1 408"), "{head_answer}");
    assert!(
        head_took < Duration::from_secs(5),
        "head: cut off after {head_took:?}"
    );
    assert!(body_answer.starts_with("HTTP/1.1 408"), "{body_answer}");
    assert!(body_answer.contains("request-timeout"), "{body_answer}");
    assert!(
        body_took < Duration::from_secs(8),
        "body: cut off after {body_took:?}"
    );
    eprintln!("slow head cut off after {head_took:?}, slow body after {body_took:?}");
    // The server is fine afterwards.
    assert_eq!(app.get("/healthz").await.status(), 200);
}
backends!(slow_clients_are_cut_off, slow_clients);

async fn oversized_heads(db: TestDb) {
    let app = spawn_app(config(&db), today()).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let answers = actix_web::rt::task::spawn_blocking(move || {
        let many: String = (0..120).map(|i| format!("X-Field-{i}: 1\r\n")).collect();
        let huge = format!("X-Big: {}\r\n", "a".repeat(200 * 1024));
        [many, huge].map(|headers| {
            let mut stream = TcpStream::connect(&address).expect("connect");
            let _ = stream
                .write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes());
            read_until_closed(stream).0
        })
    })
    .await
    .expect("thread");
    for answer in answers {
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
}
backends!(oversized_request_heads_are_431, oversized_heads);

/// There is no write path on the public listener: every route answers only GET and HEAD, but
/// the two batch lookups, which are POSTs that change nothing.
#[actix_web::test]
async fn the_public_listener_has_no_write_path() {
    let db = TestDb::sqlite();
    let app = spawn_app(config(&db), today()).await;
    let document = envcredit::web::api::document();
    let paths = serde_json::to_value(&document).expect("json");
    for (path, item) in paths["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            let allowed = method == "get" || (method == "post" && path.ends_with("/batch"));
            assert!(allowed, "{method} {path}");
        }
    }
    for method in ["PUT", "DELETE", "PATCH"] {
        let response = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/api/v1/flags/batch", app.address),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 405, "{method}");
    }
}

// ---------------------------------------------------------------------------------------------
// envcredit config check
// ---------------------------------------------------------------------------------------------

#[test]
fn config_check_prints_the_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("envcredit.toml"),
        format!(
            "database_url = \"postgres://registry:hunter2-secret@db.internal/envcredit\"\nstate_file = \"state.json\"\n\
             [http]\nhsts_max_age_seconds = 63072000\n\
             [[rate_limit.partner_keys]]\nname = \"platform\"\nkey = \"partner-secret-0123456789\"\nper_minute = 60\nburst = 10\n\
             [[trusted_keys]]\nname = \"pipeline\"\npublic_key = \"{}\"\n",
            pipeline_key().public_key().to_base64()
        ),
    )
    .expect("config");
    let out = envcredit_command(dir.path())
        .args(["--config", "envcredit.toml", "config", "check"])
        .env("ENVCREDIT_CACHE__MAX_BYTES", "1234")
        .output()
        .expect("runs");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(!stdout.contains("hunter2-secret"), "{stdout}");
    assert!(!stdout.contains("partner-secret-0123456789"), "{stdout}");
    assert!(
        stdout.contains("postgres://registry:***@db.internal/envcredit"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hsts_max_age_seconds = 63072000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("max_bytes = 1234"),
        "the environment applies: {stdout}"
    );
    assert!(
        stdout.contains("request_timeout_seconds = 30"),
        "defaults are shown: {stdout}"
    );
}

#[test]
fn config_check_names_what_is_wrong() {
    let dir = tempfile::tempdir().expect("dir");
    for (file, expected) in [
        (
            "listen = \"127.0.0.1:8080\"\nunknown_key = 1\n",
            "unknown_key",
        ),
        (
            "database_url = \"postgres://db/envcredit\"\n",
            "state_file must be set",
        ),
        (
            "[http]\nkeep_alive_seconds = 0\n",
            "http.keep_alive_seconds",
        ),
        ("[metrics]\nallow = [\"everyone\"]\n", "metrics.allow"),
        ("receipt_key_file = \"missing.key\"\n", "missing.key"),
        (
            "[[rate_limit.partner_keys]]\nname = \"platform\"\nkey = \"0123456789abcdef0123456789abcde\"\nper_minute = 60\nburst = 10\n",
            "rate_limit.partner_keys[0] (\"platform\"): the key is refused: it holds about 124 bits, fewer than 128",
        ),
    ] {
        std::fs::write(dir.path().join("bad.toml"), file).expect("config");
        let out = envcredit(dir.path(), &["--config", "bad.toml", "config", "check"]);
        assert!(!out.status.success(), "{file}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(
            !stderr.contains("0123456789abcdef0123456789abcde"),
            "a refused key is not printed: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "nothing printed as settings for {file}"
        );
    }
}
