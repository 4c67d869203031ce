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

/// What generated clients and the contract run rely on: the rules JSON Schema can state are in
/// the description, and deprecated fields say so.
#[test]
fn the_description_states_the_rules() {
    let spec = serde_json::to_value(envcredit::web::api::document()).expect("serializes");
    let parameter = |path: &str, name: &str| {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or_else(|| panic!("{path} has no parameter {name}"))
    };
    let code = parameter("/api/v1/institutions/{code}", "code");
    assert_eq!(code["format"], envcredit::domain::code::FORMAT);
    assert_eq!(code["pattern"], envcredit::domain::code::PATTERN);
    assert_eq!(
        (code["minLength"].as_u64(), code["maxLength"].as_u64()),
        (Some(18), Some(18))
    );
    let as_of = parameter("/api/v1/institutions/{code}", "as_of").to_string();
    assert!(as_of.contains("\"format\":\"date\""), "{as_of}");
    assert!(
        as_of.contains(&serde_json::to_string(envcredit::web::api::as_of::PATTERN).expect("json")),
        "{as_of}"
    );
    for name in ["county", "grade", "risk"] {
        let schema = parameter("/api/v1/years/{year}/results", name).to_string();
        assert!(schema.contains("\"enum\""), "{name}: {schema}");
    }
    let change = &spec["components"]["schemas"]["ChangeInfo"]["properties"];
    for field in ["previous_grade", "previous_risk"] {
        assert_eq!(change[field]["deprecated"], true, "{field}");
    }
}
