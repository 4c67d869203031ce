//! The Python reference verifier of `docs/verify.md` (`docs/verify_proof.py`), run against the
//! real application with the demo data: proofs and a bundle fetched through the API check out
//! with only the published key, and tampered ones fail with the rule that catches them.
//!
//! It needs `python3` with the `cryptography` package. Without them the test says SKIPPED and
//! passes; with `ENVCREDIT_REQUIRE_PYTHON=1` (as CI sets it) it fails instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use envcredit::config::Config;
use serde_json::Value;

use crate::helpers::*;

/// An Art. 11 finding with a determination (2024, bundle 3), a correction (2024, bundle 3), an
/// Art. 11 finding carried over unchanged (2024, bundle 2, a newer bundle of the year exists),
/// a decided objection (2025).
const CASES: [(&str, i32); 4] = [
    ("91330400MAQFJD6JA4", 2024),
    ("91330400MA8WHHQD33", 2024),
    ("91330400MA4F032TA6", 2024),
    ("91330400MAKD0MHDGA", 2025),
];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify_proof.py")
}

/// Whether `python3` can import the Ed25519 verifier the scripts use; `false` after saying
/// loudly that the test is skipped; panics instead when `ENVCREDIT_REQUIRE_PYTHON=1`.
pub fn python_or_skip() -> bool {
    let probe = Command::new("python3")
        .args([
            "-c",
            "from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey",
        ])
        .output();
    let missing = match probe {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "python3 cannot import cryptography: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("python3 cannot be run: {e}"),
    };
    if std::env::var("ENVCREDIT_REQUIRE_PYTHON").as_deref() == Ok("1") {
        panic!("ENVCREDIT_REQUIRE_PYTHON=1 but {missing}");
    }
    eprintln!(
        "SKIPPED: Python reference script tests: {missing} (python3 -m pip install cryptography; \
         set ENVCREDIT_REQUIRE_PYTHON=1 to make this a failure)"
    );
    false
}

fn python(dir: &Path, args: &[&str]) -> Output {
    Command::new("python3")
        .arg(script())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("python3 runs")
}

/// Runs the script, which must succeed; returns its standard output and error.
fn passes(dir: &Path, args: &[&str]) -> (String, String) {
    let out = python(dir, args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "verify_proof.py {args:?} failed:\n{stdout}{stderr}"
    );
    assert!(stdout.starts_with("ok "), "{stdout}");
    (stdout, stderr)
}

/// Runs the script, which must fail with one line naming `rule`.
fn fails(dir: &Path, args: &[&str], rule: &str) {
    let out = python(dir, args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?} must fail: {stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        stderr.starts_with("FAIL ") && stderr.contains(&format!(": {rule}:")),
        "{args:?}: expected {rule}, got {stderr}"
    );
}

fn write_json(dir: &Path, name: &str, value: &Value) {
    std::fs::write(dir.join(name), serde_json::to_vec(value).expect("json")).expect("write");
}

/// The proof with its record's bytes changed by `edit`.
fn with_record(proof: &Value, edit: impl Fn(String) -> String) -> Value {
    let record = STANDARD
        .decode(proof["record"].as_str().expect("record"))
        .expect("base64");
    let edited = edit(String::from_utf8(record).expect("utf-8"));
    let mut proof = proof.clone();
    proof["record"] = Value::String(STANDARD.encode(edited));
    proof
}

#[actix_web::test]
async fn python_reference_verifier_checks_demo_proofs_and_bundles() {
    if !python_or_skip() {
        return;
    }
    let db = TestDb::sqlite();
    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    let app = spawn_app(config, date(2025, 10, 1)).await;

    let (status, keys) = app.get_json("/api/v1/keys").await;
    assert_eq!(status, 200);
    let key = keys["keys"][0]["public_key"]
        .as_str()
        .expect("a published key")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();

    for (code, year) in CASES {
        let (status, proof) = app
            .get_json(&format!("/api/v1/institutions/{code}/years/{year}/proof"))
            .await;
        assert_eq!(status, 200, "{code} {year}: {proof}");
        let name = format!("{code}-{year}.json");
        write_json(dir, &name, &proof);
        let year_text = year.to_string();
        let (stdout, stderr) = passes(dir, &[&name, &key, "--code", code, "--year", &year_text]);
        assert!(
            stdout.contains(&format!(
                "record {} of {}",
                proof["leaf_index"], proof["tree_size"]
            )),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("\"code\":\"{code}\"")), "{stdout}");
        // The warning exactly when the registry knows a later bundle of the year.
        let newer = proof["latest_sequence_of_dataset"].as_u64() > proof["sequence"].as_u64();
        assert_eq!(
            stderr.contains("warning: a newer bundle"),
            newer,
            "{stderr}"
        );
    }
    // A record a later snapshot repeated unchanged is proved against that later bundle: a
    // fresh proof carries no warning.
    let (_, carried) = app
        .get_json("/api/v1/institutions/91330400MA4F032TA6/years/2024/proof")
        .await;
    assert_eq!(carried["sequence"], 3);
    assert_eq!(carried["latest_sequence_of_dataset"], 3);

    // Tampering: each fails, naming the check that caught it.
    let (_, proof) = app
        .get_json("/api/v1/institutions/91330400MA8WHHQD33/years/2024/proof")
        .await;
    let tampered = [
        (
            "grade.json",
            with_record(&proof, |r| {
                r.replacen("\"grade\":\"A\"", "\"grade\":\"B\"", 1)
            }),
            "inclusion",
        ),
        (
            "index.json",
            {
                let mut p = proof.clone();
                p["leaf_index"] = Value::from(proof["leaf_index"].as_u64().expect("index") + 1);
                p
            },
            "inclusion",
        ),
        (
            "path.json",
            {
                let mut p = proof.clone();
                p["audit_path"][0] = Value::String("00".repeat(32));
                p
            },
            "inclusion",
        ),
        (
            "short.json",
            {
                let mut p = proof.clone();
                p["audit_path"].as_array_mut().expect("path").pop();
                p
            },
            "inclusion",
        ),
        (
            "size.json",
            {
                let mut p = proof.clone();
                p["tree_size"] = Value::from(proof["tree_size"].as_u64().expect("size") + 1);
                p
            },
            "proof_mismatch",
        ),
        (
            "manifest.json",
            {
                let mut p = proof.clone();
                let payload = STANDARD
                    .decode(
                        proof["signed_manifest"]["payload"]
                            .as_str()
                            .expect("payload"),
                    )
                    .expect("base64");
                let edited = String::from_utf8(payload).expect("utf-8").replacen(
                    "\"record_count\":149",
                    "\"record_count\":150",
                    1,
                );
                p["signed_manifest"]["payload"] = Value::String(STANDARD.encode(edited));
                p
            },
            "signature_invalid",
        ),
    ];
    for (name, value, rule) in &tampered {
        assert_ne!(value, &proof, "{name} is changed");
        write_json(dir, name, value);
        fails(dir, &[name, &key], rule);
    }
    write_json(dir, "good.json", &proof);
    fails(
        dir,
        &["good.json", &key, "--code", "91330400MA4F032TA6"],
        "record_mismatch",
    );
    fails(
        dir,
        &["good.json", &key, "--year", "2025"],
        "record_mismatch",
    );
    fails(
        dir,
        &["good.json", &key, "--until-seq", "2"],
        "key_not_trusted_for_sequence",
    );
    let stranger = envcredit::bundle::envelope::SigningKey::from_seed(&[9; 32])
        .public_key()
        .to_base64();
    fails(dir, &["good.json", &stranger], "signature_key_mismatch");

    // A whole bundle file, exactly as signed: signature over the manifest, records → root.
    let bundle = app.get("/api/v1/bundles/1").await;
    assert_eq!(bundle.status(), 200);
    let bytes = bundle.bytes().await.expect("bundle");
    std::fs::write(dir.join("0001.bundle.json"), &bytes).expect("write");
    let (stdout, _) = passes(dir, &["--bundle", "0001.bundle.json", &key]);
    let (_, chain) = app.get_json("/api/v1/bundles").await;
    let first = &chain["bundles"][0];
    assert!(
        stdout.contains(&format!(
            "bundle 1 (evaluation-2023, made 2023-05-19T09:00:00+08:00), {} records, Merkle root {}, manifest sha256 {}",
            first["record_count"],
            first["merkle_root"].as_str().expect("root"),
            first["hash"].as_str().expect("hash")
        )),
        "{stdout}"
    );
    // The bundle with other records beside its signed manifest, written in its exact layout.
    let envelope: Value = serde_json::from_slice(&bytes).expect("json");
    let encoded = envelope["records"].as_str().expect("records");
    let records = String::from_utf8(STANDARD.decode(encoded).expect("base64")).expect("utf-8");
    let with_records = |name: &str, records: &str| {
        let file = String::from_utf8(bytes.to_vec()).expect("utf-8").replacen(
            encoded,
            &STANDARD.encode(records),
            1,
        );
        std::fs::write(dir.join(name), file).expect("write");
    };
    with_records(
        "tampered.bundle.json",
        &records.replacen("\"grade\":\"C\"", "\"grade\":\"B\"", 1),
    );
    fails(
        dir,
        &["--bundle", "tampered.bundle.json", &key],
        "merkle_root",
    );
    // The same records with white space between them: other bytes than the documented layout.
    with_records("spaced.bundle.json", &records.replace("},{", "}, {"));
    fails(
        dir,
        &["--bundle", "spaced.bundle.json", &key],
        "records_layout",
    );
    // The envelope itself in another layout (a second final newline).
    let mut longer = bytes.to_vec();
    longer.push(b'\n');
    std::fs::write(dir.join("longer.bundle.json"), longer).expect("write");
    fails(
        dir,
        &["--bundle", "longer.bundle.json", &key],
        "envelope_layout",
    );
}

/// `docs/verify.md` shows the reference verifier in full, as it is.
#[test]
fn verify_md_shows_the_script_in_full() {
    let script = std::fs::read_to_string(script()).expect("docs/verify_proof.py");
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify.md"))
        .expect("docs/verify.md");
    assert!(
        doc.contains(&format!("```python\n{script}```\n")),
        "docs/verify.md must show docs/verify_proof.py exactly, in one ```python block"
    );
}
