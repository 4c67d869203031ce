//! The committed OpenAPI document is what the code generates; regenerate with
//! `UPDATE_OPENAPI=1 cargo test --test it openapi`.

#[test]
fn committed_openapi_matches_the_code() {
    let generated = envcredit::web::api::document()
        .to_pretty_json()
        .expect("serializes")
        + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test --test it openapi` and commit it"
    );
}
