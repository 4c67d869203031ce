//! HTTP semantics through the real app, on both backends: strong ETags and 304s, cache headers,
//! CORS, problem+json for unknown paths and wrong methods, and the API docs.

use std::time::Duration;

use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;
use reqwest::{header, Method, Response};

use crate::backends;
use crate::helpers::*;

fn header_of(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_string())
}

fn etag_of(response: &Response) -> String {
    header_of(response, "etag").expect("an ETag")
}

async fn send(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = app
        .client
        .request(method, format!("{}{}", app.address, path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

/// A strong ETag `"<sequence>-<16 hex>"`: `"1-0123456789abcdef"`.
fn assert_strong(etag: &str, sequence: u64) {
    let inner = etag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or_else(|| panic!("quoted, not weak: {etag}"));
    let (seq, hash) = inner.split_once('-').expect("<sequence>-<hash>");
    assert_eq!(seq, sequence.to_string(), "{etag}");
    assert_eq!(hash.len(), 16, "{etag}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{etag}");
}

async fn conditional_requests(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let path = format!("/api/v1/institutions/{}", code(1));

    let first = app.get(&path).await;
    assert_eq!(first.status().as_u16(), 200);
    let etag = etag_of(&first);
    assert_strong(&etag, 1);
    assert_eq!(
        header_of(&first, "cache-control").as_deref(),
        Some("public, max-age=60")
    );
    let revision = header_of(&first, "x-data-revision").expect("X-Data-Revision");
    let as_of = header_of(&first, "x-data-as-of").expect("X-Data-As-Of");
    assert_eq!(
        etag_of(&app.get(&path).await),
        etag,
        "same request, same tag"
    );

    // If-None-Match → 304, no body, the headers a cache needs.
    let cached = send(&app, Method::GET, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status().as_u16(), 304);
    assert_eq!(etag_of(&cached), etag);
    assert_eq!(
        header_of(&cached, "cache-control").as_deref(),
        Some("public, max-age=60")
    );
    assert_eq!(header_of(&cached, "x-data-revision"), Some(revision));
    assert_eq!(header_of(&cached, "x-data-as-of"), Some(as_of));
    assert!(cached.bytes().await.expect("body").is_empty());
    // A list of tags, and the weak form of ours, match too (weak comparison).
    for inm in [
        format!("\"0-0000000000000000\", {etag}"),
        format!("W/{etag}"),
    ] {
        let r = send(&app, Method::GET, &path, &[("if-none-match", &inm)]).await;
        assert_eq!(r.status().as_u16(), 304, "{inm}");
    }
    // Another tag: the full answer.
    let other = send(
        &app,
        Method::GET,
        &path,
        &[("if-none-match", "\"1-0000000000000000\"")],
    )
    .await;
    assert_eq!(other.status().as_u16(), 200);
    assert!(!other.bytes().await.expect("body").is_empty());

    // HEAD: the GET's headers and tag, no body; conditional too.
    let head = send(&app, Method::HEAD, &path, &[]).await;
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(etag_of(&head), etag);
    assert!(head.bytes().await.expect("body").is_empty());
    let head = send(&app, Method::HEAD, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(head.status().as_u16(), 304);

    // A different request is a different tag: query, path.
    let mut tags = vec![etag.clone()];
    for (p, headers) in [
        (format!("{path}?as_of=2024-12-01"), vec![]),
        (format!("{path}?revision=1"), vec![]),
        (
            format!("/api/v1/institutions/{}", code(2)),
            Vec::<(&str, &str)>::new(),
        ),
    ] {
        let r = send(&app, Method::GET, &p, &headers).await;
        assert_eq!(r.status().as_u16(), 200, "{p}");
        let tag = etag_of(&r);
        assert_strong(&tag, 1);
        assert!(!tags.contains(&tag), "{p} {headers:?} has its own tag");
        tags.push(tag);
    }
    // The old tag does not match another query.
    let r = send(
        &app,
        Method::GET,
        &format!("{path}?as_of=2024-12-01"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);

    // Pages: tagged, Vary: Accept-Language, 304.
    let page_path = format!("/institutions/{}", code(1));
    let page = app.get(&page_path).await;
    assert_eq!(page.status().as_u16(), 200);
    let page_tag = etag_of(&page);
    assert_strong(&page_tag, 1);
    assert!(header_of(&page, "vary")
        .expect("Vary")
        .to_ascii_lowercase()
        .contains("accept-language"));
    let page = send(
        &app,
        Method::GET,
        &page_path,
        &[("if-none-match", &page_tag)],
    )
    .await;
    assert_eq!(page.status().as_u16(), 304);
    assert!(header_of(&page, "vary")
        .expect("Vary on the 304")
        .to_ascii_lowercase()
        .contains("accept-language"));
    let home = app.get("/").await;
    assert_strong(&etag_of(&home), 1);
    let html = home.text().await.expect("html");
    assert!(
        html.contains("href=\"/api/docs/\""),
        "footer links the docs"
    );

    // The OpenAPI document is tagged too; /healthz never.
    let spec = app.get("/api/v1/openapi.json").await;
    let spec_tag = etag_of(&spec);
    let spec = send(
        &app,
        Method::GET,
        "/api/v1/openapi.json",
        &[("if-none-match", &spec_tag)],
    )
    .await;
    assert_eq!(spec.status().as_u16(), 304);
    let health = app.get("/healthz").await;
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(header_of(&health, "etag"), None);
    assert_eq!(
        header_of(&health, "cache-control").as_deref(),
        Some("no-store")
    );
}
backends!(conditional_requests_answer_304, conditional_requests);

async fn new_revision(db: TestDb) {
    let mut config = config(&db);
    config.poll_interval_seconds = 1;
    let (first, hash1) = first_bundle();
    import(&db, &config, &first).expect("imports");
    let app = spawn_app(config.clone(), date(2025, 1, 10)).await;
    let path = format!("/api/v1/institutions/{}", code(1));
    let before = etag_of(&app.get(&path).await);
    assert_strong(&before, 1);

    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        hash1,
        None,
        Records::DishonestyList(vec![listing(1, "嘉环信〔2024〕9号")]),
    ));
    import(&db, &config, &list.sign(&pipeline_key())).expect("second bundle imports");

    let mut after = None;
    for _ in 0..50 {
        let r = app.get(&path).await;
        if header_of(&r, "x-data-revision").is_some_and(|v| v.starts_with("2-")) {
            after = Some(etag_of(&r));
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let after = after.expect("the new revision is served");
    assert_strong(&after, 2);
    assert_ne!(before, after);
    // The old tag is stale now: the full answer, with the new tag.
    let r = send(&app, Method::GET, &path, &[("if-none-match", &before)]).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(etag_of(&r), after);
    // Asking for the earlier revision answers from it (and says so), also on a 304.
    let old = format!("{path}?revision=1");
    let r = app.get(&old).await;
    assert_eq!(r.status().as_u16(), 200);
    let tag = etag_of(&r);
    let r = send(&app, Method::GET, &old, &[("if-none-match", &tag)]).await;
    assert_eq!(r.status().as_u16(), 304);
    assert!(header_of(&r, "x-data-revision").is_some_and(|v| v.starts_with("1-")));
}
backends!(a_new_revision_changes_the_etag, new_revision);

async fn cors(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    for path in ["/api/v1/flags/batch", "/api/v1/joint-punishment/batch"] {
        let preflight = send(
            &app,
            Method::OPTIONS,
            path,
            &[
                ("origin", "https://bids.example.org"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
        )
        .await;
        assert!(preflight.status().is_success(), "{}", preflight.status());
        assert_eq!(
            header_of(&preflight, "access-control-allow-origin").as_deref(),
            Some("*")
        );
        let methods = header_of(&preflight, "access-control-allow-methods").expect("methods");
        assert!(methods.contains("POST"), "{methods}");
        let headers = header_of(&preflight, "access-control-allow-headers").expect("headers");
        assert!(
            headers.to_ascii_lowercase().contains("content-type"),
            "{headers}"
        );
        assert_eq!(
            header_of(&preflight, "access-control-max-age").as_deref(),
            Some("3600")
        );
    }

    // The batch itself, cross-origin.
    let response = app
        .client
        .post(format!("{}/api/v1/flags/batch", app.address))
        .header("origin", "https://bids.example.org")
        .json(&serde_json::json!({ "codes": [code(1)] }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header_of(&response, "access-control-allow-origin").as_deref(),
        Some("*")
    );

    // A conditional GET from a browser app: If-None-Match may be sent, the tag and revision read.
    let preflight = send(
        &app,
        Method::OPTIONS,
        "/api/v1/institutions",
        &[
            ("origin", "https://news.example.org"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "if-none-match"),
        ],
    )
    .await;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let get = send(
        &app,
        Method::GET,
        &format!("/api/v1/institutions/{}", code(1)),
        &[("origin", "https://news.example.org")],
    )
    .await;
    assert_eq!(get.status().as_u16(), 200);
    assert_eq!(
        header_of(&get, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let exposed = header_of(&get, "access-control-expose-headers")
        .expect("exposed headers")
        .to_ascii_lowercase();
    for name in ["etag", "x-data-revision", "x-data-as-of"] {
        assert!(exposed.contains(name), "{exposed} lacks {name}");
    }
}
backends!(cors_is_open_for_reads_and_batches, cors);

async fn problems(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    async fn problem(response: Response, status: u16) -> serde_json::Value {
        assert_eq!(response.status().as_u16(), status, "{}", response.url());
        assert_eq!(
            header_of(&response, "content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            response.url()
        );
        assert_eq!(
            header_of(&response, "cache-control").as_deref(),
            Some("no-store"),
            "{}",
            response.url()
        );
        assert_eq!(header_of(&response, "etag"), None, "{}", response.url());
        response.json().await.expect("problem json")
    }

    // Errors from handlers, extractors and routing: never cached, never tagged.
    let p = problem(
        app.get(&format!("/api/v1/institutions/{}", code(99))).await,
        404,
    )
    .await;
    assert_eq!(p["code"], "not-found");
    let p = problem(app.get("/api/v1/institutions/123").await, 400).await;
    assert_eq!(p["code"], "invalid-code");
    let p = problem(
        app.get(&format!("/api/v1/institutions/{}?nope=1", code(1)))
            .await,
        400,
    )
    .await;
    assert_eq!(p["code"], "bad-request");
    for path in ["/api/v1/nope", "/api/nope", "/api/v1/institutions/x/y"] {
        let p = problem(app.get(path).await, 404).await;
        assert_eq!(p["type"], "/problems/not-found");
        assert_eq!(p["status"], 404);
    }

    // Wrong method: 405 with Allow.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/v1/institutions/{}", code(1)),
        &[],
    )
    .await;
    let allow = header_of(&r, "allow").expect("Allow");
    assert!(allow.contains("GET") && !allow.contains("POST"), "{allow}");
    let p = problem(r, 405).await;
    assert_eq!(p["code"], "method-not-allowed");
    // Every method but POST on a batch path, GET too (which `/flags/{code}` would match by
    // its template alone).
    for path in ["/api/v1/flags/batch", "/api/v1/joint-punishment/batch"] {
        for method in [Method::GET, Method::HEAD, Method::DELETE, Method::PUT] {
            let r = send(&app, method.clone(), path, &[]).await;
            assert_eq!(
                header_of(&r, "allow").as_deref(),
                Some("POST, OPTIONS"),
                "{method} {path}"
            );
            assert_eq!(r.status().as_u16(), 405, "{method} {path}");
            if method != Method::HEAD {
                let p = problem(r, 405).await;
                assert_eq!(p["code"], "method-not-allowed");
            }
        }
    }

    // Batch bodies: wrong JSON is 400, not sent as JSON 415, too large 413.
    let batch = format!("{}/api/v1/flags/batch", app.address);
    let r = app
        .client
        .post(&batch)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    problem(r, 400).await;
    let r = app.client.post(&batch).send().await.expect("request");
    problem(r, 415).await;
    let r = app
        .client
        .post(&batch)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .expect("request");
    problem(r, 415).await;
    let huge = serde_json::json!({ "codes": vec![code(1); 20_000] });
    let r = app
        .client
        .post(&batch)
        .json(&huge)
        .send()
        .await
        .expect("request");
    problem(r, 413).await;

    // An unknown page: the site's error page, not cached.
    let r = app.get("/no-such-page").await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(header_of(&r, "cache-control").as_deref(), Some("no-store"));
    assert!(header_of(&r, "content-type")
        .expect("content type")
        .starts_with("text/html"));
    let r = app.get(&format!("/institutions/{}", code(99))).await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(header_of(&r, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(header_of(&r, "etag"), None);
}
backends!(errors_are_uncached_problems, problems);

async fn api_docs(db: TestDb) {
    let config = config(&db);
    let app = spawn_app(config, date(2025, 1, 10)).await;

    for path in ["/api/docs/", "/api/docs", "/api/docs/index.html"] {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(header_of(&r, "content-type")
            .expect("content type")
            .starts_with("text/html"));
        // Served under the site's strict policy: no inline script or style is needed.
        let csp = header_of(&r, "content-security-policy").expect("CSP");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        let html = r.text().await.expect("html");
        assert!(html.contains("swagger-ui"), "{html}");
        assert!(!html.contains("<script>"), "no inline script: {html}");
        assert!(!html.contains("<style"), "no inline style: {html}");
    }
    let init = app.get("/api/docs/swagger-initializer.js").await;
    assert_eq!(init.status().as_u16(), 200);
    let init = init.text().await.expect("js");
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    for (asset, kind) in [
        ("/api/docs/swagger-ui-bundle.js", "javascript"),
        ("/api/docs/swagger-ui.css", "text/css"),
    ] {
        let r = app.get(asset).await;
        assert_eq!(r.status().as_u16(), 200, "{asset}");
        assert!(
            header_of(&r, "content-type")
                .expect("content type")
                .contains(kind),
            "{asset}"
        );
        assert!(r.bytes().await.expect("asset").len() > 10_000, "{asset}");
    }
    let missing = app.get("/api/docs/no-such-file.js").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        header_of(&missing, "content-type").as_deref(),
        Some("application/problem+json")
    );
}
backends!(api_docs_are_served, api_docs);

/// Nothing in the middleware depends on the header parser's leniency: a raw `If-None-Match`
/// that is not a list of tags is simply no match.
async fn odd_if_none_match(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let path = format!("/api/v1/institutions/{}", code(1));
    for inm in ["", ",,,", "garbage", "W/"] {
        let r = send(&app, Method::GET, &path, &[("if-none-match", inm)]).await;
        assert_eq!(r.status().as_u16(), 200, "{inm:?}");
    }
    // `*` matches any current representation.
    let r = send(
        &app,
        Method::GET,
        &path,
        &[(header::IF_NONE_MATCH.as_str(), "*")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 304);
}
backends!(odd_if_none_match_headers, odd_if_none_match);

/// The tag changes with what the body changes with, and with nothing else: headers the API does
/// not read leave it alone; a page's negotiated language changes it, two ways of asking for the
/// same language do not.
async fn etag_follows_the_body(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    let path = format!("/api/v1/institutions/{}", code(1));
    let plain = app.get(&path).await;
    let tag = etag_of(&plain);
    let body = plain.bytes().await.expect("body");
    for headers in [
        vec![("x-foo", "1")],
        vec![("accept-language", "en")],
        vec![("accept", "text/html")],
        vec![
            ("accept-language", "en-GB"),
            ("user-agent", "integrator/1.0"),
        ],
    ] {
        let r = send(&app, Method::GET, &path, &headers).await;
        assert_eq!(r.status().as_u16(), 200, "{headers:?}");
        assert_eq!(etag_of(&r), tag, "{headers:?}: same body, same tag");
        assert!(
            !header_of(&r, "vary").is_some_and(|v| v.contains("accept-language")),
            "the API does not vary on the language"
        );
        assert_eq!(r.bytes().await.expect("body"), body, "{headers:?}");
    }
    // The tag of one still matches when asked with another header.
    let r = send(
        &app,
        Method::GET,
        &path,
        &[("if-none-match", &tag), ("accept-language", "en")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 304);

    let page = format!("/institutions/{}", code(1));
    let mut by_language = Vec::new();
    for language in ["zh-CN", "en", "en-GB,en;q=0.9"] {
        let r = send(&app, Method::GET, &page, &[("accept-language", language)]).await;
        assert_eq!(r.status().as_u16(), 200);
        assert!(header_of(&r, "vary").is_some_and(|v| v.contains("accept-language")));
        let tag = etag_of(&r);
        by_language.push((tag, r.text().await.expect("html")));
    }
    assert_ne!(
        by_language[0].0, by_language[1].0,
        "Chinese and English differ"
    );
    assert_ne!(by_language[0].1, by_language[1].1);
    assert_eq!(
        by_language[1], by_language[2],
        "two ways of asking for English"
    );
    let r = send(&app, Method::GET, &page, &[("x-foo", "1")]).await;
    assert_eq!(
        etag_of(&r),
        by_language[0].0,
        "no header: Chinese, as zh-CN"
    );
}
backends!(
    an_etag_depends_only_on_what_the_body_depends_on,
    etag_follows_the_body
);

/// `Last-Modified` is the later of the revision's time and today's midnight in Asia/Shanghai;
/// `If-Modified-Since` is answered 304 from that date, and only where the answer is a 200;
/// `If-None-Match` wins over it.
async fn last_modified(db: TestDb) {
    use chrono::{DateTime, TimeZone, Utc};

    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let path = format!("/api/v1/institutions/{}", code(1));

    let first = app.get(&path).await;
    let created = DateTime::parse_from_rfc3339(&header_of(&first, "x-data-as-of").expect("as of"))
        .expect("RFC 3339")
        .with_timezone(&Utc);
    let midnight = Utc
        .with_ymd_and_hms(2025, 1, 9, 16, 0, 0)
        .single()
        .expect("a time");
    let expected = created.max(midnight);
    let http_date = |t: DateTime<Utc>| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let last_modified = header_of(&first, "last-modified").expect("Last-Modified");
    assert_eq!(last_modified, http_date(expected));
    // The same on a cached answer and on a 304.
    assert_eq!(
        header_of(&app.get(&path).await, "last-modified").as_deref(),
        Some(last_modified.as_str())
    );
    let tag = etag_of(&first);
    let r = send(&app, Method::GET, &path, &[("if-none-match", &tag)]).await;
    assert_eq!(r.status().as_u16(), 304);
    assert_eq!(header_of(&r, "last-modified"), Some(last_modified.clone()));

    let later = http_date(expected + chrono::Duration::days(1));
    let earlier = http_date(expected - chrono::Duration::seconds(1));
    for (headers, status) in [
        (vec![("if-modified-since", last_modified.as_str())], 304),
        (vec![("if-modified-since", later.as_str())], 304),
        (vec![("if-modified-since", earlier.as_str())], 200),
        (vec![("if-modified-since", "yesterday")], 200),
        // If-None-Match wins: a tag that does not match means the full answer.
        (
            vec![
                ("if-modified-since", later.as_str()),
                ("if-none-match", "\"1-0000000000000000\""),
            ],
            200,
        ),
    ] {
        let r = send(&app, Method::GET, &path, &headers).await;
        assert_eq!(r.status().as_u16(), status, "{headers:?}");
        if status == 304 {
            assert_eq!(etag_of(&r), tag);
            assert!(r.bytes().await.expect("body").is_empty());
        } else {
            assert!(!r.bytes().await.expect("body").is_empty());
        }
    }
    // Before the handler has ever run for it (the response cache is cold for this path).
    let fresh = format!("/api/v1/institutions/{}", code(2));
    let r = send(&app, Method::GET, &fresh, &[("if-modified-since", &later)]).await;
    assert_eq!(r.status().as_u16(), 304);
    // An unknown code stays a 404, whatever the date.
    let r = send(
        &app,
        Method::GET,
        &format!("/api/v1/institutions/{}", code(999)),
        &[("if-modified-since", &later)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 404);
    // A page too.
    let page = format!("/institutions/{}", code(1));
    let r = send(&app, Method::GET, &page, &[("if-modified-since", &later)]).await;
    assert_eq!(r.status().as_u16(), 304);
}
backends!(last_modified_and_if_modified_since, last_modified);

/// The `envcredit_http_malformed_requests_total` sample of `/metrics`.
async fn malformed_requests(app: &TestApp) -> u64 {
    let text = app
        .get("/metrics")
        .await
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix("envcredit_http_malformed_requests_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no malformed-request count in {text}"))
}

/// Garbage on the port is answered `400` by the HTTP server and counted, through the layer the
/// server's log set-up installs (the same one, installed here as the test process's subscriber:
/// nothing else in these tests installs one). The count is for the process, and other tests may
/// add to it meanwhile, so it is compared as "at least one more".
#[actix_web::test]
async fn malformed_request_heads_are_counted() {
    use std::io::{Read, Write};
    use tracing_subscriber::prelude::*;

    let _ = tracing_subscriber::registry()
        .with(envcredit::web::MalformedRequests::layer())
        .try_init();
    let db = TestDb::sqlite();
    let app = spawn_app(config(&db), date(2025, 1, 10)).await;
    let before = malformed_requests(&app).await;

    let address = app.address.trim_start_matches("http://").to_string();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
            .write_all(b"\x16\x03\x01 NOT HTTP\r\n\r\n")
            .expect("writes");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("joins");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");

    // The server logs (and so counts) once the 400 is written: give it a moment.
    let mut after = before;
    for _ in 0..50 {
        after = malformed_requests(&app).await;
        if after > before {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(after > before, "counted: {before} → {after}");
    // A well-formed request is not.
    let ok = app.get("/healthz").await;
    assert_eq!(ok.status().as_u16(), 200);
}

/// Bad input is described in plain words that name the parameter, never in the framework's
/// (`Query deserialize error: …`, `struct RawBatch with 5 elements`); the code stays
/// `bad-request`.
async fn plain_error_details(db: TestDb) {
    let config = config(&db);
    let (bundle, _) = first_bundle();
    import(&db, &config, &bundle).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;

    let institution = format!("/api/v1/institutions/{}", code(1));
    for (path, detail) in [
        (
            "/api/v1/institutions?limit=abc".to_string(),
            "query parameter `limit`: expected a whole number from 1 to 100, found \"abc\"",
        ),
        (
            format!("{institution}?foo=1"),
            "query parameter `foo` is not known; known: as_of, revision",
        ),
        (
            format!("{institution}?revision=x"),
            "query parameter `revision`: expected a whole number of at least 0, found \"x\"",
        ),
        (
            "/api/v1/years/abc/results".to_string(),
            "path parameter `year`: expected a whole number, found \"abc\"",
        ),
        // A parameter that does nothing for a content type is not offered there: a CSV is
        // one whole file (no paging), a JSON answer has no byte-order mark.
        (
            "/api/v1/dishonesty-list.csv?limit=5".to_string(),
            "query parameter `limit` is not known; known: state, as_of, revision, bom",
        ),
        (
            "/api/v1/violations.csv?cursor=x".to_string(),
            "query parameter `cursor` is not known; known: revision, bom",
        ),
        (
            "/api/v1/years/2024/results.csv?limit=5".to_string(),
            "query parameter `limit` is not known; known: county, grade, risk, revision, bom",
        ),
        (
            "/api/v1/violations?bom=true".to_string(),
            "query parameter `bom` is not known; known: revision, cursor, limit",
        ),
        (
            "/api/v1/years/2024/results?bom=true".to_string(),
            "query parameter `bom` is not known; known: county, grade, risk, revision, cursor, limit",
        ),
        (
            "/api/v1/dishonesty-list?bom=true".to_string(),
            "query parameter `bom` is not known; known: state, as_of, revision, cursor, limit",
        ),
    ] {
        let (status, problem) = app.get_json(&path).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert_eq!(problem["code"], "bad-request", "{path}");
        assert_eq!(problem["detail"], detail, "{path}");
    }

    for (body, detail) in [
        (
            serde_json::json!("codes"),
            "request body: expected {\"items\": [...]} or {\"codes\": [...]}, found the string \"codes\"",
        ),
        // A list is not filled into the object's fields by position.
        (
            serde_json::json!([1, 2]),
            "request body: expected {\"items\": [...]} or {\"codes\": [...]}, found a list",
        ),
        (
            serde_json::json!({"codes": 5}),
            "request body: expected a list, found the number 5 at line 1, column 10",
        ),
        (
            serde_json::json!({"codes": [code(1)], "foo": 1}),
            "request body: field `foo` is not known; known: as_of, revision, items, codes, receipt",
        ),
    ] {
        let (status, problem) = app.post_json("/api/v1/flags/batch", &body).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "bad-request", "{body}");
        assert_eq!(problem["detail"], detail, "{body}");
    }
    // The other batch endpoint reads the same body.
    let (status, problem) = app
        .post_json("/api/v1/joint-punishment/batch", &serde_json::json!([1, 2]))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        problem["detail"],
        "request body: expected {\"items\": [...]} or {\"codes\": [...]}, found a list"
    );
    // Not JSON at all.
    let r = app
        .client
        .post(format!("{}/api/v1/flags/batch", app.address))
        .header("content-type", "application/json")
        .body("{\"codes\": [}")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 400);
    let problem: serde_json::Value = r.json().await.expect("problem");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("request body: not valid JSON at line 1, column 12"),
        "{detail}"
    );
}
backends!(
    error_details_name_the_parameter_in_plain_words,
    plain_error_details
);
