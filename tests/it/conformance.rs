//! The contract is the document: `tests/conformance/` holds a verifier and a signer written from
//! `docs/bundle-format.md` alone (they share no code with `src/bundle`). A bundle signed by
//! following the document literally is accepted, and every bundle the registry accepts and
//! serves passes the document's verifier; where the two refuse, they name the same rule.
//!
//! Needs `python3` with `cryptography`, as `verify_python.rs` does (SKIPPED without it, a failure
//! with `ENVCREDIT_REQUIRE_PYTHON=1`).

use std::path::{Path, PathBuf};
use std::process::Output;

use envcredit::config::{Config, TrustedKeyConfig};
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::*;
use crate::verify_python::python_or_skip;

/// The public RFC 8032 TEST 1 key of the document's worked example: never for real data.
const SEED: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const PUBLIC: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
/// The demo key, as docs/verify.md publishes it.
const DEMO_PUBLIC: &str = "1icNQilb8YVok7qssXGqeInlGnF0xfYJbCAv98XtMTA=";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(name)
}

fn python(script_name: &str, args: &[&str]) -> Output {
    std::process::Command::new("python3")
        .arg(script(script_name))
        .args(args)
        .output()
        .expect("python3 runs")
}

/// The document's verifier over `files` (a chain, in order): `Ok` or the failure line.
fn docs_verifier(key: &str, files: &[PathBuf]) -> Result<String, String> {
    let mut args = vec!["--key".to_string(), key.to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = python("bundle_check.py", &args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    match out.status.code() {
        Some(0) => Ok(stdout),
        Some(1) => Err(format!("{stdout}{stderr}")),
        _ => panic!("bundle_check.py {args:?} did not run: {stdout}{stderr}"),
    }
}

/// The demo bundles as shipped, and as the registry serves them (raw, `/api/v1/bundles/N`),
/// pass the document's verifier as one chain.
async fn served_chain(db: TestDb) {
    if !python_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let shipped: Vec<PathBuf> = envcredit::demo::SHIPPED
        .iter()
        .map(|(name, bytes)| {
            let path = dir.path().join(format!("shipped-{name}"));
            std::fs::write(&path, bytes).expect("write");
            path
        })
        .collect();
    let ok = docs_verifier(DEMO_PUBLIC, &shipped).expect("the shipped demo chain passes");
    assert!(ok.starts_with("ok 6 bundles"), "{ok}");

    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    let app = spawn_app(config, date(2026, 11, 27)).await;
    let (_, chain) = app.get_json("/api/v1/bundles").await;
    let served = chain["bundles"].as_array().expect("bundles");
    assert_eq!(served.len(), 6, "{chain}");
    // Every bundle served: a bundle holding a listing that has left public display answers 410
    // (docs/rules.md), so the served ones are checked as the chain they start.
    let mut files = Vec::new();
    for n in 1..=served.len() {
        let response = app.get(&format!("/api/v1/bundles/{n}")).await;
        match response.status().as_u16() {
            200 => {
                let path = dir.path().join(format!("served-{n}.bundle.json"));
                std::fs::write(&path, response.bytes().await.expect("bytes")).expect("write");
                assert_eq!(files.len() + 1, n, "a bundle served after one withheld");
                files.push(path);
            }
            410 => {}
            other => panic!("bundle {n}: {other}"),
        }
    }
    assert!(files.len() >= 5, "{} bundles served", files.len());
    let ok = docs_verifier(DEMO_PUBLIC, &files).expect("the served chain passes");
    assert!(
        ok.starts_with(&format!("ok {} bundles", files.len())),
        "{ok}"
    );
}
backends!(served_bundles_pass_the_documents_verifier, served_chain);

/// A configuration trusting the TEST 1 key.
fn docs_config(db: &TestDb) -> Config {
    let mut config = config(db);
    config.trusted_keys = vec![TrustedKeyConfig {
        name: "docs".into(),
        public_key: PUBLIC.into(),
        from_seq: 1,
        until_seq: None,
    }];
    config
}

/// Signs `records` with the document's signer: the bundle file's path.
fn sign(
    dir: &Path,
    sequence: u64,
    dataset: &str,
    previous: &str,
    made: &str,
    extra: &[&str],
    records: &Value,
) -> PathBuf {
    let input = dir.join(format!("{sequence}-{dataset}.records.json"));
    // Any member order and layout: the signer makes them canonical.
    std::fs::write(&input, serde_json::to_string_pretty(records).expect("json")).expect("write");
    let out = dir.join(format!("{sequence}-{dataset}.bundle.json"));
    let sequence = sequence.to_string();
    let mut args = vec![
        "--seed",
        SEED,
        "--dataset",
        dataset,
        "--sequence",
        &sequence,
        "--previous",
        previous,
        "--created-at",
        made,
    ];
    args.extend_from_slice(extra);
    let input = input.display().to_string();
    let output = out.display().to_string();
    args.extend_from_slice(&[&input, "-o", &output]);
    let run = python("sign_bundle.py", &args);
    assert!(
        run.status.success(),
        "sign_bundle.py {args:?}: {}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    out
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("json")
}

/// A pipeline that follows the document literally: a published year, the list, a second list
/// bundle adding a listing without `change` (the review's case), a year in publicity. Each is
/// accepted, and the chain passes the document's verifier.
async fn docs_pipeline(db: TestDb) {
    if !python_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let config = docs_config(&db);
    let y2024 = sign(
        d,
        1,
        "evaluation-2024",
        "zeros",
        "2024-10-25T09:00:00+08:00",
        &[
            "--publicity-date",
            "2024-09-27",
            "--publication-date",
            "2024-10-25",
        ],
        &to_value(&records_2024()),
    );
    let first_list = sign(
        d,
        2,
        "dishonesty-list",
        &y2024.display().to_string(),
        "2025-01-10T09:00:00+08:00",
        &[],
        &json!([listing(4, "嘉环信〔2025〕1号")]),
    );
    let second_list = sign(
        d,
        3,
        "dishonesty-list",
        &first_list.display().to_string(),
        "2025-02-10T09:00:00+08:00",
        &[],
        &json!([
            listing(5, "嘉环信〔2025〕2号"),
            listing(4, "嘉环信〔2025〕1号")
        ]),
    );
    let y2025 = sign(
        d,
        4,
        "evaluation-2025",
        &second_list.display().to_string(),
        "2025-10-01T09:00:00+08:00",
        &["--publicity-date", "2025-09-26"],
        &to_value(&records_2024()),
    );
    let files = [y2024, first_list, second_list, y2025];
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        let outcome = import(&db, &config, &bytes)
            .unwrap_or_else(|e| panic!("{} is refused: {e}", file.display()));
        assert!(
            matches!(outcome, envcredit::import::Outcome::Imported { .. }),
            "{outcome:?}"
        );
    }
    let ok = docs_verifier(PUBLIC, &files).expect("the chain passes the document's verifier");
    assert!(ok.starts_with("ok 4 bundles"), "{ok}");
}
backends!(a_pipeline_following_the_document_is_accepted, docs_pipeline);

/// Bad bundles made with the document's signer: the registry and the document's verifier
/// refuse each one, naming the same rule, and the store is unchanged.
async fn agreement(db: TestDb) {
    if !python_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let config = docs_config(&db);
    let mut spoofed = records_2024();
    spoofed[1].name = format!("南湖\u{202E}测试{}", spoofed[1].code);
    let mut twins = records_2024();
    twins[1].name = twins[0].name.replace('1', "１");
    let mut spaced = records_2024();
    spaced[2].name = format!("{} ", spaced[2].name);
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("text", to_value(&spoofed), vec![]),
        ("name_twin", to_value(&twins), vec![]),
        ("text", to_value(&spaced), vec![]),
        (
            "key_order",
            json!([record(2, 7500, 7000), record(1, 9250, 8800)]),
            vec!["--no-sort"],
        ),
        (
            "objection_deadline",
            to_value(&records_2024()),
            vec!["--objection-deadline", "2024-10-09"],
        ),
        ("empty_dataset", json!([]), vec![]),
    ];
    let before = db.dump();
    for (i, (rule, records, extra)) in cases.into_iter().enumerate() {
        let case = d.join(format!("case{i}"));
        std::fs::create_dir(&case).expect("dir");
        let mut args = vec![
            "--publicity-date",
            "2024-09-27",
            "--publication-date",
            "2024-10-25",
        ];
        args.extend(extra);
        let file = sign(
            &case,
            1,
            "evaluation-2024",
            "zeros",
            "2024-10-25T09:00:00+08:00",
            &args,
            &records,
        );
        let bytes = std::fs::read(&file).expect("read");
        match import(&db, &config, &bytes) {
            Err(envcredit::Error::Rejected(r)) => assert_eq!(r.rule, rule, "case {i}: {r}"),
            other => panic!("case {i} ({rule}): expected a rejection, got {other:?}"),
        }
        assert_eq!(db.dump(), before, "case {i} changed the store");
        let refused = docs_verifier(PUBLIC, &[file]).expect_err("the document refuses it too");
        assert!(
            refused.contains(&format!("[{rule}]")),
            "case {i}: {refused}"
        );
    }
}
backends!(the_registry_and_the_document_refuse_alike, agreement);
