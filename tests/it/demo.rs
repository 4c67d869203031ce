//! Demo mode: the shipped bundles are exactly what `envcredit demo` generates, and everything
//! served from them says DEMO DATA.

use envcredit::config::Config;

use crate::backends;
use crate::helpers::*;

#[test]
fn shipped_demo_bundles_match_the_generator() {
    let generated = envcredit::demo::generate().expect("demo generates");
    let shipped: Vec<(String, Vec<u8>)> = envcredit::demo::SHIPPED
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect();
    assert_eq!(
        generated.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        shipped.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    );
    for ((name, g), (_, s)) in generated.iter().zip(&shipped) {
        assert!(
            g == s,
            "{name} drifted: run `cargo run -- demo` and commit demo/bundles"
        );
    }
}

async fn demo_mode(db: TestDb) {
    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    let app = spawn_app(config, date(2026, 11, 27)).await;

    let (_, health) = app.get_json("/healthz").await;
    assert_eq!(health["demo"], true);
    assert_eq!(
        health["revision"].as_str().map(|r| r.starts_with("6-")),
        Some(true)
    );

    let home = app.get("/").await;
    assert_eq!(home.headers()["x-demo-data"], "DEMO DATA");
    let html = home.text().await.expect("html");
    assert!(html.contains("DEMO DATA"));

    // Some institution, through the API and its page.
    let code = html
        .split("/institutions/")
        .nth(1)
        .and_then(|rest| rest.get(..18))
        .expect("a link to an institution")
        .to_string();
    let (status, body) = app.get_json(&format!("/api/v1/institutions/{code}")).await;
    assert_eq!(status, 200);
    assert!(body["data"]["demo_notice"]
        .as_str()
        .is_some_and(|n| n.starts_with("DEMO DATA")));
    let page = app
        .get(&format!("/institutions/{code}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(page.contains("DEMO DATA"));
}
backends!(demo_mode_serves_labelled_demo_data, demo_mode);

/// The demo key is trusted only in demo mode.
#[test]
fn demo_key_is_refused_outside_demo_mode() {
    let mut config = Config::defaults(false);
    config.trusted_keys = vec![trusted(
        &envcredit::config::demo_signing_key(),
        "demo",
        1,
        None,
    )];
    let toml = toml_of(&config);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml).expect("write");
    let error = Config::load(Some(&path), false).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("demo key is trusted only in demo mode"),
        "{error}"
    );
}

fn toml_of(config: &Config) -> String {
    let keys: String = config
        .trusted_keys
        .iter()
        .map(|k| {
            format!(
                "[[trusted_keys]]\nname = \"{}\"\npublic_key = \"{}\"\nfrom_seq = {}\n",
                k.name, k.public_key, k.from_seq
            )
        })
        .collect();
    format!("demo = {}\n{keys}", config.demo)
}

/// The example configuration in the repository is valid and states the defaults.
#[test]
fn example_configuration_loads() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/envcredit.example.toml"
    ));
    let config = Config::load(Some(path), false).expect("example loads");
    let mut defaults = Config::defaults(false);
    defaults.trusted_keys = config.trusted_keys.clone();
    assert_eq!(config, defaults, "the example shows the defaults");
    assert_eq!(config.trusted_keys.len(), 1);
}
