//! Verifiable by anyone, through the real app on both backends: the proof of a record checks
//! out offline with only the pipeline's public key (library and `envcredit verify-proof`), and
//! every tampered proof fails with the rule that catches it; the accepted bundles are served
//! exactly as signed, with the chain of signed manifests, within the display limits.

use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use envcredit::bundle::proof::{self, RecordProof};
use envcredit::bundle::records::{Change, ChangeKind, ListingState, Records};
use envcredit::bundle::Dataset;
use serde_json::Value;

use crate::backends;
use crate::helpers::*;

/// 2024 (3 results), a dishonesty list with one repaired listing, then a correction of
/// institution 2's 2024 result (sequence 3).
fn seed(db: &TestDb) -> envcredit::config::Config {
    let config = config(db);
    let (first, first_hash) = first_bundle();
    import(db, &config, &first).expect("2024");
    let mut repaired = listing(2, "嘉环信〔2024〕2号");
    repaired.state = ListingState::Repaired;
    repaired.ended_on = Some(date(2025, 2, 1));
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        2,
        first_hash,
        None,
        Records::DishonestyList(vec![listing(3, "嘉环信〔2024〕1号"), repaired]),
    ));
    import(db, &config, &list.sign(&pipeline_key())).expect("list");
    let mut records = records_2024();
    records[1] = record(2, 8100, 8100);
    records[1].change = Some(Change {
        kind: ChangeKind::Correction,
        decision_date: date(2025, 1, 20),
        effective_from: date(2024, 10, 25),
        reason: "复核更正经营管理项得分".into(),
        reference: "嘉环信复〔2025〕1号".into(),
    });
    let correction = Parts::of(&draft(
        Dataset::Evaluation(2024),
        3,
        list.hash(),
        Some(schedule_2024()),
        Records::Evaluation(records),
    ));
    import(db, &config, &correction.sign(&pipeline_key())).expect("correction");
    config
}

fn key() -> envcredit::bundle::envelope::PublicKey {
    pipeline_key().public_key()
}

async fn fetch_proof(app: &TestApp, n: u32, year: i32, revision: Option<u64>) -> Value {
    let query = revision
        .map(|r| format!("?revision={r}"))
        .unwrap_or_default();
    let (status, body) = app
        .get_json(&format!(
            "/api/v1/institutions/{}/years/{year}/proof{query}",
            code(n)
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn check(
    proof: &Value,
    code: Option<&str>,
    year: Option<i32>,
) -> Result<proof::VerifiedProof, &'static str> {
    let bytes = serde_json::to_vec(proof).expect("json");
    let parsed: RecordProof = proof::parse(&bytes).map_err(|e| e.rule)?;
    proof::verify(&parsed, &key(), code, year).map_err(|e| e.rule)
}

async fn round_trip(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    // Institution 2's corrected result comes from bundle 3; institution 1's unchanged one is
    // proved against bundle 3 too, the latest snapshot that holds it, so no proof warns.
    let proof = fetch_proof(&app, 2, 2024, None).await;
    assert_eq!(proof["sequence"], 3);
    assert_eq!(proof["dataset"], "evaluation-2024");
    assert_eq!(proof["tree_size"], 3);
    assert_eq!(proof["latest_sequence_of_dataset"], 3);
    let verified = check(&proof, Some(&code(2)), Some(2024)).expect("verifies");
    assert_eq!(verified.manifest.sequence, 3);
    assert!(verified.warnings.is_empty());
    match verified.record {
        proof::ProvenRecord::Evaluation(r) => {
            assert_eq!(r.code, code(2));
            assert_eq!(r.grade.to_string(), "B", "the corrected grade");
        }
        other => panic!("{other:?}"),
    }
    let unchanged = fetch_proof(&app, 1, 2024, None).await;
    assert_eq!(unchanged["sequence"], 3);
    assert!(check(&unchanged, Some(&code(1)), Some(2024))
        .expect("verifies")
        .warnings
        .is_empty());
    // The record is the one the API shows, at the leaf the API names.
    let (_, inst) = app
        .get_json(&format!("/api/v1/institutions/{}", code(2)))
        .await;
    assert_eq!(inst["years"][0]["sequence"], proof["sequence"]);
    assert_eq!(inst["years"][0]["leaf_index"], proof["leaf_index"]);

    // Asked at revision 1, the proof comes from bundle 1 and warns that a newer one exists.
    let old = fetch_proof(&app, 2, 2024, Some(1)).await;
    assert_eq!(old["sequence"], 1);
    let verified = check(&old, Some(&code(2)), Some(2024)).expect("an old proof still verifies");
    assert!(
        verified.warnings.is_empty(),
        "at revision 1 it was the latest"
    );
    let mut stale = old.clone();
    stale["latest_sequence_of_dataset"] = Value::from(3);
    let verified = check(&stale, None, None).expect("verifies");
    assert_eq!(verified.warnings.len(), 1);
    assert!(verified.warnings[0].contains("sequence 3"));

    // The same through the command line, with only the public key.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("proof.json");
    std::fs::write(&file, serde_json::to_vec(&proof).expect("json")).expect("write");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_envcredit"))
            .arg("verify-proof")
            .arg(&file)
            .args(["--pubkey", &key().to_base64()])
            .args(extra)
            .output()
            .expect("runs")
    };
    let out = run(&["--code", &code(2), "--year", "2024"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("bundle 3 (evaluation-2024"), "{stdout}");
    assert!(stdout.contains("grade B"), "{stdout}");
    let out = run(&["--year", "2025"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("record_mismatch"));
    std::fs::write(&file, serde_json::to_vec(&stale).expect("json")).expect("write");
    let out = run(&[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: a newer bundle"));
    // The proof from revision 1, checked against the signed chain the registry serves now:
    // the warning rests on the manifests the tool verified, not on the server's hint.
    let (_, chain) = app.get_json("/api/v1/bundles").await;
    let chain_file = dir.path().join("bundles.json");
    std::fs::write(&chain_file, serde_json::to_vec(&chain).expect("json")).expect("write");
    std::fs::write(&file, serde_json::to_vec(&old).expect("json")).expect("write");
    let chain_arg = chain_file.to_str().expect("utf-8 path");
    let out = run(&["--chain", chain_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("signed chain")
            && stderr.contains("newer bundle of evaluation-2024 (sequence 3)"),
        "{stderr}"
    );
    std::fs::write(&file, serde_json::to_vec(&proof).expect("json")).expect("write");
    let out = run(&["--chain", chain_arg]);
    assert!(out.status.success());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "a fresh proof is current"
    );
    // A forged chain entry (signed by another key) is not counted.
    let mut forged = chain.clone();
    let payload = STANDARD
        .decode(
            chain["bundles"][2]["signed_manifest"]["payload"]
                .as_str()
                .expect("payload"),
        )
        .expect("base64");
    let text =
        String::from_utf8(payload)
            .expect("utf-8")
            .replacen("\"sequence\":3", "\"sequence\":7", 1);
    forged["bundles"][2]["signed_manifest"] = serde_json::from_slice(
        &envcredit::bundle::envelope::sign(&stranger_key(), text.as_bytes()).to_bytes(),
    )
    .expect("json");
    std::fs::write(&chain_file, serde_json::to_vec(&forged).expect("json")).expect("write");
    let out = run(&["--chain", chain_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 manifest(s) of the chain are signed by other keys"),
        "{stderr}"
    );
    assert!(!stderr.contains("sequence 7"), "{stderr}");

    // Unknown institution, year without a result, invalid code.
    for (path, status) in [
        (
            format!("/api/v1/institutions/{}/years/2024/proof", code(99)),
            404,
        ),
        (
            format!("/api/v1/institutions/{}/years/2023/proof", code(1)),
            404,
        ),
        ("/api/v1/institutions/123/years/2024/proof".to_string(), 400),
    ] {
        assert_eq!(app.get(&path).await.status().as_u16(), status, "{path}");
    }
}
backends!(a_proof_verifies_offline_with_the_public_key, round_trip);

/// Re-encodes the proof's record after an edit of its text.
fn edit_record(proof: &mut Value, edit: impl FnOnce(&str) -> String) {
    let bytes = STANDARD
        .decode(proof["record"].as_str().expect("record"))
        .expect("base64");
    let text = String::from_utf8(bytes).expect("utf-8");
    let edited = edit(&text);
    assert_ne!(edited, text);
    proof["record"] = Value::String(STANDARD.encode(edited));
}

async fn tampered(db: TestDb) {
    let app = spawn_app(seed(&db), date(2025, 3, 1)).await;
    let good = fetch_proof(&app, 2, 2024, None).await;
    let other_bundle = fetch_proof(&app, 1, 2024, Some(1)).await;
    assert!(check(&good, Some(&code(2)), Some(2024)).is_ok());
    let path_len = good["audit_path"].as_array().expect("path").len();
    assert_eq!(path_len, 2, "3 leaves: a path of 2");

    type Tamper = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "a tree size other than the signed manifest's",
            Box::new(|p| p["tree_size"] = Value::from(4)),
            "proof_mismatch",
        ),
        (
            "a leaf index out of range",
            Box::new(|p| p["leaf_index"] = Value::from(3)),
            "inclusion",
        ),
        (
            "another leaf index in range",
            Box::new(|p| p["leaf_index"] = Value::from(0)),
            "inclusion",
        ),
        (
            "a path one hash too long",
            Box::new(|p| {
                let extra = p["audit_path"][0].clone();
                p["audit_path"].as_array_mut().expect("path").push(extra);
            }),
            "inclusion",
        ),
        (
            "a path one hash too short",
            Box::new(|p| {
                p["audit_path"].as_array_mut().expect("path").pop();
            }),
            "inclusion",
        ),
        (
            "a path hash changed",
            Box::new(|p| p["audit_path"][0] = Value::String("00".repeat(32))),
            "inclusion",
        ),
        (
            "an edited record (grade B → A)",
            Box::new(|p| edit_record(p, |t| t.replacen("\"grade\":\"B\"", "\"grade\":\"A\"", 1))),
            "inclusion",
        ),
        (
            "the signed manifest of another bundle",
            Box::new({
                let other = other_bundle.clone();
                move |p| {
                    p["signed_manifest"] = other["signed_manifest"].clone();
                    p["sequence"] = other["sequence"].clone();
                }
            }),
            "inclusion",
        ),
        (
            "an edited manifest (record count), old signature",
            Box::new(|p| {
                let payload = STANDARD
                    .decode(p["signed_manifest"]["payload"].as_str().expect("payload"))
                    .expect("base64");
                let text = String::from_utf8(payload).expect("utf-8");
                let edited = text.replacen("\"record_count\":3", "\"record_count\":4", 1);
                assert_ne!(edited, text);
                p["signed_manifest"]["payload"] = Value::String(STANDARD.encode(edited));
                p["tree_size"] = Value::from(4);
            }),
            "signature_invalid",
        ),
        (
            "a manifest signed by another key",
            Box::new(|p| {
                let payload = STANDARD
                    .decode(p["signed_manifest"]["payload"].as_str().expect("payload"))
                    .expect("base64");
                let forged = envcredit::bundle::envelope::sign(&stranger_key(), &payload);
                p["signed_manifest"] = serde_json::from_slice(&forged.to_bytes()).expect("json");
            }),
            "signature_key_mismatch",
        ),
        (
            "the records carried inside the signed manifest",
            Box::new(|p| p["signed_manifest"]["records"] = Value::String("W10=".into())),
            "manifest_envelope",
        ),
        (
            "an unknown proof format",
            Box::new(|p| p["proof_format"] = Value::String("v0".into())),
            "proof_format",
        ),
    ];
    for (what, tamper, rule) in cases {
        let mut proof = good.clone();
        tamper(&mut proof);
        assert_eq!(check(&proof, None, None).map(|_| ()), Err(rule), "{what}");
    }
    // A good proof, but of another institution or year than the one asked about.
    assert_eq!(
        check(&good, Some(&code(1)), None).map(|_| ()),
        Err("record_mismatch")
    );
    assert_eq!(
        check(&good, None, Some(2025)).map(|_| ()),
        Err("record_mismatch")
    );
}
backends!(
    tampered_proofs_fail_with_the_rule_that_catches_them,
    tampered
);

async fn bundles(db: TestDb) {
    let config = seed(&db);
    let stored: Vec<Vec<u8>> = db
        .store()
        .load()
        .expect("load")
        .into_iter()
        .map(|b| b.envelope)
        .collect();
    let app = spawn_app(config, date(2025, 3, 1)).await;
    let (status, body) = app.get_json("/api/v1/bundles").await;
    assert_eq!(status, 200, "{body}");
    let list = body["bundles"].as_array().expect("bundles");
    assert_eq!(list.len(), 3);
    let mut previous = "0".repeat(64);
    for (i, b) in list.iter().enumerate() {
        assert_eq!(b["sequence"], i as u64 + 1);
        assert_eq!(b["previous_hash"], previous.as_str(), "the chain links");
        previous = b["hash"].as_str().expect("hash").to_string();
        // The signed manifest alone verifies with the public key, and hashes to `hash`.
        let opened = envcredit::bundle::envelope::open(
            &serde_json::to_vec(&b["signed_manifest"]).expect("json"),
        )
        .expect("an envelope");
        envcredit::bundle::envelope::verify_signature(&key(), &opened).expect("signed");
        assert_eq!(
            hex::encode(envcredit::bundle::sign::payload_hash(&opened.payload)),
            previous
        );
    }
    // Bundles 1 and 3 (evaluations) are served byte for byte; bundle 2 holds a repaired
    // listing, which left public display at once: only its signed manifest stays.
    for sequence in [1usize, 3] {
        assert_eq!(list[sequence - 1]["file_available"], true);
        let response = app.get(&format!("/api/v1/bundles/{sequence}")).await;
        assert_eq!(response.status().as_u16(), 200);
        let bytes = response.bytes().await.expect("bytes");
        assert_eq!(
            bytes.as_ref(),
            stored[sequence - 1].as_slice(),
            "bundle {sequence}"
        );
    }
    assert_eq!(list[1]["file_available"], false);
    assert!(list[1]["file"].is_null());
    let (status, problem) = app.get_json("/api/v1/bundles/2").await;
    assert_eq!(status, 410, "{problem}");
    assert_eq!(problem["type"], "/problems/no-longer-displayed");
    assert_eq!(app.get("/api/v1/bundles/9").await.status().as_u16(), 404);
    assert_eq!(app.get("/api/v1/bundles/x").await.status().as_u16(), 400);
}
backends!(bundles_are_served_as_signed_within_display_limits, bundles);
