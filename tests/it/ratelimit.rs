//! Rate limits through the real app (SQLite; the limiter does not touch the store): small quotas
//! that do not refill during a test (one request a minute), so every count is exact.

use envcredit::config::{Config, PartnerKeyConfig};
use reqwest::Response;

use crate::helpers::*;

const PATH: &str = "/api/v1/openapi.json";
const PARTNER_KEY: &str = "partner-key-0123456789abcdef";

fn limited(db: &TestDb, burst: u32) -> Config {
    let mut config = config(db);
    config.rate_limit.per_minute = 1;
    config.rate_limit.burst = burst;
    config
}

async fn send(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = app.client.get(format!("{}{}", app.address, path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

fn header_of(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_string())
}

fn number(response: &Response, name: &str) -> u64 {
    header_of(response, name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a whole number"))
}

async fn assert_rate_limited(response: Response, limit: u64) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), 429);
    let retry_after = number(&response, "retry-after");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(number(&response, "ratelimit-limit"), limit);
    assert_eq!(number(&response, "ratelimit-remaining"), 0);
    assert!(number(&response, "ratelimit-reset") >= retry_after);
    assert!(header_of(&response, "ratelimit-policy").is_some());
    assert_eq!(
        header_of(&response, "content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(
        header_of(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    // The 429 passes through the security headers and CORS like any answer.
    assert_eq!(
        header_of(&response, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let body: serde_json::Value = response.json().await.expect("problem body");
    assert_eq!(body["type"], "/problems/rate-limited");
    assert_eq!(body["code"], "rate-limited");
    assert_eq!(body["status"], 429);
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("retry in"),
        "{body}"
    );
    body
}

#[actix_web::test]
async fn over_the_limit_gets_429_with_headers_and_health_stays_open() {
    let db = TestDb::sqlite();
    let app = spawn_app(limited(&db, 3), date(2025, 1, 10)).await;
    for remaining in [2, 1, 0] {
        let ok = send(&app, PATH, &[]).await;
        assert_eq!(ok.status().as_u16(), 200);
        assert_eq!(number(&ok, "ratelimit-limit"), 3);
        assert_eq!(number(&ok, "ratelimit-remaining"), remaining);
        assert_eq!(
            header_of(&ok, "ratelimit-policy").as_deref(),
            Some("3;w=180")
        );
    }
    assert_rate_limited(send(&app, PATH, &[]).await, 3).await;
    // Pages count too, against the same quota.
    assert_eq!(send(&app, "/", &[]).await.status().as_u16(), 429);

    // Health checks are never counted, and carry no rate-limit headers.
    for _ in 0..5 {
        let health = send(&app, "/healthz", &[]).await;
        assert_eq!(health.status().as_u16(), 200);
        assert!(header_of(&health, "ratelimit-limit").is_none());
    }
    // A browser may read the headers of a 429.
    let cors = send(&app, PATH, &[("origin", "https://example.org")]).await;
    assert_eq!(cors.status().as_u16(), 429);
    let exposed = header_of(&cors, "access-control-expose-headers")
        .expect("exposed headers")
        .to_ascii_lowercase();
    for name in ["retry-after", "ratelimit-remaining"] {
        assert!(exposed.contains(name), "{exposed} lacks {name}");
    }
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_quota() {
    let db = TestDb::sqlite();
    let mut config = limited(&db, 2);
    config.rate_limit.trusted_proxies = vec!["127.0.0.0/8".to_string()];
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let first = [("x-forwarded-for", "198.51.100.1")];
    for _ in 0..2 {
        assert_eq!(send(&app, PATH, &first).await.status().as_u16(), 200);
    }
    assert_rate_limited(send(&app, PATH, &first).await, 2).await;

    // Another client behind the same proxy is unaffected.
    let second = [("x-forwarded-for", "198.51.100.2")];
    let other = send(&app, PATH, &second).await;
    assert_eq!(other.status().as_u16(), 200);
    assert_eq!(number(&other, "ratelimit-remaining"), 1);
    // The first client cannot escape by prepending an address: the right-most one counts.
    let forged = [("x-forwarded-for", "203.0.113.9, 198.51.100.1")];
    assert_eq!(send(&app, PATH, &forged).await.status().as_u16(), 429);
    // The proxy itself, forwarding nobody, is a client of its own.
    assert_eq!(send(&app, PATH, &[]).await.status().as_u16(), 200);
}

#[actix_web::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let db = TestDb::sqlite();
    let app = spawn_app(limited(&db, 3), date(2025, 1, 10)).await;
    for n in 1..=3 {
        let forged = format!("198.51.100.{n}");
        let response = send(&app, PATH, &[("x-forwarded-for", &forged)]).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(number(&response, "ratelimit-remaining"), 3 - n);
    }
    let forged = [("x-forwarded-for", "198.51.100.200")];
    assert_rate_limited(send(&app, PATH, &forged).await, 3).await;
}

#[actix_web::test]
async fn a_partner_key_has_its_own_quota_and_an_unknown_key_is_refused() {
    let db = TestDb::sqlite();
    let mut config = limited(&db, 1);
    config.rate_limit.partner_keys = vec![PartnerKeyConfig {
        name: "procurement".to_string(),
        key: PARTNER_KEY.to_string(),
        per_minute: 1,
        burst: 4,
    }];
    let app = spawn_app(config, date(2025, 1, 10)).await;
    assert_eq!(send(&app, PATH, &[]).await.status().as_u16(), 200);
    assert_rate_limited(send(&app, PATH, &[]).await, 1).await;

    // The same address with the partner key: the partner's quota, not the address's.
    let key = [("x-api-key", PARTNER_KEY)];
    for remaining in [3, 2, 1, 0] {
        let ok = send(&app, PATH, &key).await;
        assert_eq!(ok.status().as_u16(), 200);
        assert_eq!(number(&ok, "ratelimit-limit"), 4);
        assert_eq!(number(&ok, "ratelimit-remaining"), remaining);
    }
    let body = assert_rate_limited(send(&app, PATH, &key).await, 4).await;
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("procurement"),
        "{body}"
    );

    // A key nobody configured counts against the address, whose quota is spent here.
    let unknown = send(&app, PATH, &[("x-api-key", "partner-key-0123456789abcdeX")]).await;
    assert_rate_limited(unknown, 1).await;
    // Not on the health check, which is outside the limits.
    let health = send(&app, "/healthz", &[("x-api-key", "wrong")]).await;
    assert_eq!(health.status().as_u16(), 200);
}

/// Guessing keys costs the guesser's quota: a burst of unknown keys from one address gets `401`s
/// while its quota lasts, then `429`s; a partner's real key still has its own quota.
#[actix_web::test]
async fn unknown_keys_count_against_the_client_and_reach_429() {
    let db = TestDb::sqlite();
    let mut config = limited(&db, 3);
    config.rate_limit.partner_keys = vec![PartnerKeyConfig {
        name: "procurement".to_string(),
        key: PARTNER_KEY.to_string(),
        per_minute: 1,
        burst: 2,
    }];
    let app = spawn_app(config, date(2025, 1, 10)).await;
    for (guess, remaining) in [("guess-0", 2), ("guess-1", 1), ("guess-2", 0)] {
        let unknown = send(&app, PATH, &[("x-api-key", guess)]).await;
        assert_eq!(unknown.status().as_u16(), 401, "{guess}");
        assert!(header_of(&unknown, "www-authenticate").is_some());
        assert_eq!(number(&unknown, "ratelimit-limit"), 3);
        assert_eq!(number(&unknown, "ratelimit-remaining"), remaining);
        let body: serde_json::Value = unknown.json().await.expect("problem body");
        assert_eq!(body["type"], "/problems/invalid-api-key");
        assert!(!body.to_string().contains(guess));
    }
    for guess in ["guess-3", "guess-4", PARTNER_KEY.trim_end_matches('f')] {
        assert_rate_limited(send(&app, PATH, &[("x-api-key", guess)]).await, 3).await;
    }
    // Without a key the address is just as spent; the partner's key is not.
    assert_rate_limited(send(&app, PATH, &[]).await, 3).await;
    let partner = send(&app, PATH, &[("x-api-key", PARTNER_KEY)]).await;
    assert_eq!(partner.status().as_u16(), 200);
    assert_eq!(number(&partner, "ratelimit-limit"), 2);
}

#[actix_web::test]
async fn disabled_rate_limits_count_nothing() {
    let db = TestDb::sqlite();
    let mut config = limited(&db, 1);
    config.rate_limit.enabled = false;
    let app = spawn_app(config, date(2025, 1, 10)).await;
    for _ in 0..3 {
        let ok = send(&app, PATH, &[("x-api-key", "anything")]).await;
        assert_eq!(ok.status().as_u16(), 200);
        assert!(header_of(&ok, "ratelimit-limit").is_none());
    }
}

#[test]
fn rate_limit_configuration_is_checked_and_keys_are_masked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let load = |text: &str| {
        let path = dir.path().join("envcredit.toml");
        std::fs::write(&path, text).expect("write config");
        Config::load(Some(&path), false)
    };
    let partner = |name: &str, key: &str| {
        format!(
            "[[rate_limit.partner_keys]]\nname = \"{name}\"\nkey = \"{key}\"\nper_minute = 6000\nburst = 500\n"
        )
    };

    let config = load(&format!(
        "[rate_limit]\nper_minute = 120\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\", \"::1\"]\n{}",
        partner("platform", PARTNER_KEY)
    ))
    .expect("valid");
    assert_eq!(config.rate_limit.per_minute, 120);
    assert_eq!(config.rate_limit.burst, 100, "the default");
    assert_eq!(
        config
            .rate_limit
            .trusted_networks()
            .expect("networks")
            .len(),
        3
    );
    let printed = format!("{config:?}");
    assert!(!printed.contains(PARTNER_KEY), "{printed}");
    assert!(printed.contains("platform"));

    for (text, says) in [
        ("[rate_limit]\nburst = 0\n".to_string(), "at least 1"),
        (
            "[rate_limit]\ntrusted_proxies = [\"10.0.0.300\"]\n".to_string(),
            "10.0.0.300",
        ),
        (
            format!("{}{}", partner("a", PARTNER_KEY), partner("b", PARTNER_KEY)),
            "same key",
        ),
        (partner("short", "abc"), "rate_limit.partner_keys[0] (\"short\"): the key is refused: it holds about 12 bits, fewer than 128"),
    ] {
        let error = load(&text).expect_err(&text).to_string();
        assert!(error.contains(says), "{text}: {error}");
        assert!(!error.contains(PARTNER_KEY), "{error}");
    }
}
