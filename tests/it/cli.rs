//! The command line, run as a user runs it: keygen → sign → verify → import, a rejected import
//! that names the bundle, record and rule and changes nothing, and `--help` everywhere.

use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;

use crate::helpers::*;

#[test]
fn every_subcommand_explains_itself() {
    let dir = tempfile::tempdir().expect("dir");
    for sub in ["serve", "import", "verify", "keygen", "sign", "demo"] {
        let out = envcredit(dir.path(), &[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(text(&out.stdout).contains("Usage: envcredit"), "{sub}");
    }
    let out = envcredit(dir.path(), &["--help"]);
    assert!(text(&out.stdout).contains("Jiaxing"));
}

fn plain_input(dataset: &str, evaluation: serde_json::Value, records: serde_json::Value) -> String {
    serde_json::json!({"dataset": dataset, "evaluation": evaluation, "records": records})
        .to_string()
}

fn cli_pipeline(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();

    let out = envcredit(d, &["keygen", "pipeline.key"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let public = std::fs::read_to_string(d.join("pipeline.pub")).expect("public key");
    std::fs::write(
        d.join("envcredit.toml"),
        format!(
            "database_url = \"{}\"\nstate_file = \"state.json\"\n[[trusted_keys]]\nname = \"pipeline\"\npublic_key = \"{}\"\nfrom_seq = 1\n",
            db.url,
            public.trim()
        ),
    )
    .expect("config");

    let records = serde_json::to_value(records_2024()).expect("json");
    let schedule = serde_json::to_value(schedule_2024()).expect("json");
    std::fs::write(
        d.join("y2024.json"),
        plain_input("evaluation-2024", schedule.clone(), records),
    )
    .expect("input");
    let out = envcredit(
        d,
        &[
            "sign",
            "--key",
            "pipeline.key",
            "y2024.json",
            "--created-at",
            "2024-10-25T09:00:00+08:00",
            "-o",
            "b1.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = envcredit(
        d,
        &[
            "--config",
            "envcredit.toml",
            "verify",
            "--standalone",
            "b1.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("standalone"));

    let out = envcredit(d, &["--config", "envcredit.toml", "import", "b1.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("sequence 1, evaluation-2024, 3 records"));

    // The next bundle changes a published grade without a reason: refused, store unchanged.
    let mut changed = records_2024();
    changed[1] = record(2, 8100, 7000);
    std::fs::write(
        d.join("y2024b.json"),
        plain_input(
            "evaluation-2024",
            schedule,
            serde_json::to_value(changed).expect("json"),
        ),
    )
    .expect("input");
    let out = envcredit(
        d,
        &[
            "sign",
            "--key",
            "pipeline.key",
            "y2024b.json",
            "--previous",
            "b1.json",
            "-o",
            "b2.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = db.dump();
    let out = envcredit(d, &["--config", "envcredit.toml", "verify", "b2.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[change_reason_missing]"),
        "{}",
        text(&out.stderr)
    );
    let out = envcredit(d, &["--config", "envcredit.toml", "verify", "b1.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("already accepted as sequence 1"));
    assert_eq!(db.dump(), before, "verify changes nothing");
    let out = envcredit(d, &["--config", "envcredit.toml", "import", "b2.json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one clear line: {stderr}");
    assert!(lines[0].contains("b2.json"), "names the bundle: {stderr}");
    assert!(
        lines[0].contains(&format!("record 1 ({})", code(2))),
        "names the record: {stderr}"
    );
    assert!(
        lines[0].contains("[change_reason_missing]"),
        "names the rule: {stderr}"
    );
    assert_eq!(db.dump(), before, "store unchanged");

    // A bad grade, validly signed, is refused with its rule.
    let mut wrong = records_2024();
    wrong[0].grade = envcredit::domain::score::Grade::B;
    let parts = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(wrong),
    ));
    let key = std::fs::read_to_string(d.join("pipeline.key")).expect("key");
    let key = envcredit::bundle::envelope::SigningKey::from_seed_base64(key.trim()).expect("key");
    std::fs::write(d.join("bad.json"), parts.sign(&key)).expect("write");
    let out = envcredit(
        d,
        &[
            "--config",
            "envcredit.toml",
            "verify",
            "--standalone",
            "bad.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[grade_band]"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn cli_pipeline_sqlite() {
    cli_pipeline(TestDb::sqlite());
}

#[test]
fn cli_pipeline_postgresql() {
    if let Some(db) = TestDb::postgresql() {
        cli_pipeline(db);
    }
}

#[test]
fn missing_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let out = envcredit(dir.path(), &["--config", "nope.toml", "import", "x.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nope.toml does not exist"));
}

#[test]
fn verify_against_a_missing_store_creates_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (bundle, _) = first_bundle();
    std::fs::write(dir.path().join("b.json"), bundle).expect("write");
    std::fs::write(
        dir.path().join("c.toml"),
        format!(
            "database_url = \"missing/db.sqlite3\"\n[[trusted_keys]]\nname = \"p\"\npublic_key = \"{}\"\n",
            pipeline_key().public_key().to_base64()
        ),
    )
    .expect("config");
    let out = envcredit(dir.path(), &["--config", "c.toml", "verify", "b.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--standalone"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("missing").exists());
}

/// Without a configuration file only `serve` runs in demo mode: an import never trusts the
/// public demo key by accident.
#[test]
fn import_without_configuration_trusts_no_key() {
    let dir = tempfile::tempdir().expect("dir");
    let (name, bytes) = envcredit::demo::SHIPPED[0];
    std::fs::write(dir.path().join(name), bytes).expect("write");
    let out = envcredit(
        dir.path(),
        &["--database-url", "db.sqlite3", "import", name],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no trusted keys"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("db.sqlite3").exists());
}

#[test]
fn keygen_never_overwrites() {
    let dir = tempfile::tempdir().expect("dir");
    let out = envcredit(dir.path(), &["keygen", "k"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secret = std::fs::read(dir.path().join("k")).expect("secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("k"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = envcredit(dir.path(), &["keygen", "k"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(dir.path().join("k")).expect("secret"), secret);
    let out = envcredit(dir.path(), &["keygen", "x.pub"]);
    assert_eq!(out.status.code(), Some(1));
}

/// The synthetic data set of the benchmark (`demo --institutions N --key K`): the same N
/// institutions graded in each of 2023–2026 and a dishonesty list, signed as a chain that an
/// import with K trusted accepts whole; the same count gives the same records.
#[test]
fn synthetic_data_set_imports_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    assert!(envcredit(d, &["keygen", "bench.key"]).status.success());
    let public = std::fs::read_to_string(d.join("bench.pub")).expect("public key");
    std::fs::write(
        d.join("envcredit.toml"),
        format!(
            "database_url = \"db.sqlite3\"\n[[trusted_keys]]\nname = \"bench\"\npublic_key = \"{}\"\n",
            public.trim()
        ),
    )
    .expect("config");
    let synthetic = |out: &str| {
        let result = envcredit(
            d,
            &[
                "demo",
                "--institutions",
                "150",
                "--key",
                "bench.key",
                "--out-dir",
                out,
            ],
        );
        assert!(result.status.success(), "{}", text(&result.stderr));
        let mut files: Vec<_> = std::fs::read_dir(d.join(out))
            .expect("out dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files
    };
    let files = synthetic("a");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "0001-evaluation-2023.bundle.json",
            "0002-evaluation-2024.bundle.json",
            "0003-evaluation-2025.bundle.json",
            "0004-evaluation-2026.bundle.json",
            "0005-dishonesty-list.bundle.json",
        ]
    );
    // Deterministic records (signatures too: Ed25519 is deterministic).
    let again = synthetic("b");
    for (a, b) in files.iter().zip(&again) {
        assert_eq!(std::fs::read(a).expect("a"), std::fs::read(b).expect("b"));
    }
    let mut args = vec!["--config", "envcredit.toml", "import"];
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let out = envcredit(d, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 150 institutions × 4 years, and one listing (every hundredth from the fiftieth).
    assert!(
        text(&out.stdout).contains("imported 5 bundles, 601 records"),
        "{}",
        text(&out.stdout)
    );
    // `--institutions` needs a key, and a key needs `--institutions`.
    let out = envcredit(d, &["demo", "--institutions", "10", "--out-dir", "c"]);
    assert_eq!(out.status.code(), Some(2));
    let out = envcredit(d, &["demo", "--institutions", "0", "--key", "bench.key"]);
    assert_eq!(out.status.code(), Some(2));
}
