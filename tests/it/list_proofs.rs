//! Listings and violations can be verified too, through the real app on both backends: each
//! displayed listing and violation links to its inclusion proof (API items, the joint-punishment
//! batch and its receipt, the pages), the proof checks out offline with only the pipeline's key
//! (library, `envcredit verify-proof` and `docs/verify_proof.py`), every tampered variant fails
//! with the rule that catches it, and a record that has left public display has no proof.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use envcredit::bundle::proof::{self, Expected, ExpectedRecord, ProvenRecord, RecordProof};
use envcredit::bundle::records::{ListingState, Records, Violation};
use envcredit::bundle::Dataset;
use envcredit::config::Config;
use envcredit::receipt::{self, ReceiptKey};
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::*;
use crate::verify_python::python_or_skip;

/// The listing in force (institution 3).
const LISTED: &str = "嘉环信〔2024〕1号";
/// The repaired listing (institution 2): it left public display on 2025-02-01.
const REPAIRED: &str = "嘉环信〔2024〕2号";
/// A displayed violation of institution 1, with a `/` and a space in its decision number.
const VIOLATION: &str = "嘉环罚/2024 17号";
/// A violation of institution 2 decided more than 5 years ago: no longer displayed.
const OLD_VIOLATION: &str = "嘉环罚字〔2019〕3号";
const TODAY: (i32, u32, u32) = (2025, 3, 1);
const RECEIPT_SEED: [u8; 32] = [11; 32];

fn violation(n: u32, decision: &str, decided_on: chrono::NaiveDate) -> Violation {
    Violation {
        code: code(n),
        name: format!("南湖测试{n}号环境检测有限公司"),
        decision_number: decision.to_string(),
        authority: "嘉兴市生态环境局".to_string(),
        description: "出具虚假监测报告".to_string(),
        decided_on,
        change: None,
    }
}

/// 2024 (3 results, sequence 1); violations (sequence 2); the dishonesty list with a listing
/// in force and a repaired one (sequence 3). The configuration has a receipt key.
fn seed(db: &TestDb, dir: &Path) -> Config {
    let mut config = config(db);
    let key_file = dir.join("receipt.key");
    std::fs::write(&key_file, STANDARD.encode(RECEIPT_SEED)).expect("receipt key");
    config.receipt_key_file = Some(key_file);
    let (first, first_hash) = first_bundle();
    import(db, &config, &first).expect("2024");
    let violations = Parts::of(&draft(
        Dataset::Violations,
        2,
        first_hash,
        None,
        Records::Violations(vec![
            violation(1, VIOLATION, date(2024, 6, 18)),
            violation(2, OLD_VIOLATION, date(2019, 6, 1)),
        ]),
    ));
    import(db, &config, &violations.sign(&pipeline_key())).expect("violations");
    let mut repaired = listing(2, REPAIRED);
    repaired.state = ListingState::Repaired;
    repaired.ended_on = Some(date(2025, 2, 1));
    let list = Parts::of(&draft(
        Dataset::DishonestyList,
        3,
        violations.hash(),
        None,
        Records::DishonestyList(vec![repaired, listing(3, LISTED)]),
    ));
    import(db, &config, &list.sign(&pipeline_key())).expect("list");
    config
}

async fn start(db: &TestDb, dir: &Path) -> TestApp {
    spawn_app(seed(db, dir), date(TODAY.0, TODAY.1, TODAY.2)).await
}

/// The proof a `proof` link leads to.
async fn follow(app: &TestApp, link: &Value) -> Value {
    let link = link
        .as_str()
        .unwrap_or_else(|| panic!("a proof link: {link}"));
    let (status, body) = app.get_json(link).await;
    assert_eq!(status, 200, "{link}: {body}");
    body
}

/// What a proof is asked to be of: an institution's listing or violation, or anything.
#[derive(Debug, Clone, Default)]
struct Ask {
    code: Option<String>,
    listing: Option<String>,
    violation: Option<String>,
    year: Option<i32>,
}

impl Ask {
    fn expected(&self) -> Expected<'_> {
        let record = match (&self.listing, &self.violation, self.year) {
            (Some(d), _, _) => Some(ExpectedRecord::Listing(d)),
            (_, Some(d), _) => Some(ExpectedRecord::Violation(d)),
            (_, _, Some(y)) => Some(ExpectedRecord::Evaluation(y)),
            _ => None,
        };
        Expected {
            code: self.code.as_deref(),
            record,
        }
    }

    /// The same question as command-line options (the CLI and the Python script share them).
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (option, value) in [
            ("--code", self.code.clone()),
            ("--listing", self.listing.clone()),
            ("--violation", self.violation.clone()),
            ("--year", self.year.map(|y| y.to_string())),
        ] {
            if let Some(value) = value {
                args.extend([option.to_string(), value]);
            }
        }
        args
    }
}

fn listing_of(n: u32, decision: &str) -> Ask {
    Ask {
        code: Some(code(n)),
        listing: Some(decision.to_string()),
        ..Ask::default()
    }
}

fn violation_of(n: u32, decision: &str) -> Ask {
    Ask {
        code: Some(code(n)),
        violation: Some(decision.to_string()),
        ..Ask::default()
    }
}

fn check(proof: &Value, ask: &Ask) -> Result<proof::VerifiedProof, &'static str> {
    let bytes = serde_json::to_vec(proof).expect("json");
    let parsed: RecordProof = proof::parse(&bytes).map_err(|e| e.rule)?;
    proof::verify_expecting(&parsed, &pipeline_key().public_key(), &ask.expected())
        .map_err(|e| e.rule)
}

/// `envcredit verify-proof` on `proof` with `args` after the key.
fn cli(dir: &Path, proof: &Value, args: &[&str]) -> std::process::Output {
    std::fs::write(
        dir.join("proof.json"),
        serde_json::to_vec(proof).expect("json"),
    )
    .expect("write");
    let key = pipeline_key().public_key().to_base64();
    let mut all = vec!["verify-proof", "proof.json", "--pubkey", key.as_str()];
    all.extend_from_slice(args);
    envcredit(dir, &all)
}

/// `docs/verify_proof.py` on `proof` with `args` after the key.
fn python(dir: &Path, proof: &Value, args: &[&str]) -> std::process::Output {
    std::fs::write(
        dir.join("proof.json"),
        serde_json::to_vec(proof).expect("json"),
    )
    .expect("write");
    std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify_proof.py"))
        .arg("proof.json")
        .arg(pipeline_key().public_key().to_base64())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("python3 runs")
}

async fn round_trip(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let app = start(&db, dir).await;

    // The institution's listing links to its proof, at the answer's revision; the list and the
    // joint-punishment batch give the same link.
    let (status, inst) = app
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    assert_eq!(status, 200, "{inst}");
    let link = inst["listings"][0]["proof"].clone();
    assert_eq!(
        link,
        format!(
            "/api/v1/institutions/{}/listings/%E5%98%89%E7%8E%AF%E4%BF%A1%E3%80%942024%E3%80%951%E5%8F%B7/proof?revision=3",
            code(3)
        )
    );
    let (_, list) = app.get_json("/api/v1/dishonesty-list?state=all").await;
    assert_eq!(list["items"].as_array().expect("items").len(), 1);
    assert_eq!(list["items"][0]["proof"], link);
    let (status, joint) = app
        .post_json(
            "/api/v1/joint-punishment/batch?receipt=true",
            &json!({"codes": [code(3)]}),
        )
        .await;
    assert_eq!(status, 200, "{joint}");
    assert_eq!(joint["items"][0]["listings"][0]["proof"], link);
    // The receipt signs the link with the rest of the answer.
    let signed = receipt::verify(
        &serde_json::to_vec(&joint).expect("json"),
        ReceiptKey::from_seed(&RECEIPT_SEED, false).public_key(),
    )
    .expect("the receipt verifies");
    assert_eq!(signed.receipt.answers[0]["listings"][0]["proof"], link);

    // The proof is of exactly the listing shown, from the list's bundle.
    let listing_proof = follow(&app, &link).await;
    assert_eq!(listing_proof["dataset"], "dishonesty-list");
    assert_eq!(listing_proof["sequence"], 3);
    assert_eq!(listing_proof["leaf_index"], 1);
    assert_eq!(listing_proof["latest_sequence_of_dataset"], 3);
    assert_eq!(listing_proof["data"]["revision"]["sequence"], 3);
    let verified = check(&listing_proof, &listing_of(3, LISTED)).expect("verifies");
    assert!(verified.warnings.is_empty());
    let ProvenRecord::Listing(signed) = verified.record else {
        panic!("not a listing: {:?}", verified.record)
    };
    let shown = &inst["listings"][0];
    assert_eq!(shown["decision_number"], signed.decision_number);
    assert_eq!(shown["reason"], signed.reason);
    assert_eq!(shown["state"], signed.state.as_str());
    assert_eq!(shown["listed_on"], signed.listed_on.to_string());
    assert_eq!(
        shown["in_force_from"],
        json!(signed.in_force_from.map(|d| d.to_string()))
    );

    // A violation whose decision number holds `/` and a space: encoded in the link, proved.
    let (_, violations) = app.get_json("/api/v1/violations").await;
    let items = violations["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "the old violation is not displayed");
    let vlink = items[0]["proof"].as_str().expect("link").to_string();
    assert_eq!(
        vlink,
        format!(
            "/api/v1/institutions/{}/violations/%E5%98%89%E7%8E%AF%E7%BD%9A%2F2024%2017%E5%8F%B7/proof?revision=3",
            code(1)
        )
    );
    assert_eq!(inst["violations"], json!([]));
    let (_, one) = app
        .get_json(&format!("/api/v1/institutions/{}", code(1)))
        .await;
    assert_eq!(one["violations"][0]["proof"], vlink.as_str());
    let violation_proof = follow(&app, &json!(vlink)).await;
    assert_eq!(violation_proof["dataset"], "violations");
    assert_eq!(violation_proof["sequence"], 2);
    let verified = check(&violation_proof, &violation_of(1, VIOLATION)).expect("verifies");
    let ProvenRecord::Violation(v) = verified.record else {
        panic!("not a violation: {:?}", verified.record)
    };
    assert_eq!(v.decision_number, VIOLATION);
    assert_eq!(items[0]["description"], v.description);
    // The CSV keeps its documented columns.
    let csv = app
        .get("/api/v1/violations.csv")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(
        csv.lines().next(),
        Some("code,name,decision_number,authority,description,decided_on")
    );

    // `envcredit verify-proof` with only the public key.
    let out = cli(
        dir,
        &listing_proof,
        &["--code", &code(3), "--listing", LISTED],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("record 1 of 2 in bundle 3 (dishonesty-list"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{} 南湖测试3号环境检测有限公司: listing {LISTED} (in_force), listed on 2024-10-28, in force from 2024-11-11, ended on -; reason: 出具虚假监测数据",
            code(3)
        )),
        "{stdout}"
    );
    let out = cli(dir, &violation_proof, &["--violation", VIOLATION]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!(
            "violation {VIOLATION} by 嘉兴市生态环境局, decided on 2024-06-18: 出具虚假监测报告"
        )),
        "{stdout}"
    );
    // A year, a listing and a violation are different questions: asking two is refused.
    let out = cli(
        dir,
        &listing_proof,
        &["--year", "2024", "--listing", LISTED],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );

    // And with the Python reference verifier.
    if python_or_skip() {
        for (proof, args) in [
            (&listing_proof, ["--listing", LISTED]),
            (&violation_proof, ["--violation", VIOLATION]),
        ] {
            let out = python(dir, proof, &args);
            let stdout = text(&out.stdout);
            assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
            assert!(stdout.starts_with("ok proof.json: record "), "{stdout}");
            assert!(stdout.contains(&format!("\"decision_number\":\"{}\"", args[1])));
        }
    }
}
backends!(listing_and_violation_proofs_verify_offline, round_trip);

/// The proof with its record's bytes changed by `edit`.
fn with_record(proof: &Value, edit: impl Fn(&str) -> String) -> Value {
    let bytes = STANDARD
        .decode(proof["record"].as_str().expect("record"))
        .expect("base64");
    let text = String::from_utf8(bytes).expect("utf-8");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changes the record");
    let mut proof = proof.clone();
    proof["record"] = Value::String(STANDARD.encode(edited));
    proof
}

/// The proof with the signed manifest (and the proof's copies of it) of `other`.
fn with_manifest_of(proof: &Value, other: &Value) -> Value {
    let mut proof = proof.clone();
    for member in ["signed_manifest", "dataset", "sequence", "tree_size"] {
        proof[member] = other[member].clone();
    }
    proof
}

async fn tampered(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let app = start(&db, dir).await;
    let (_, inst) = app
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    let listing = follow(&app, &inst["listings"][0]["proof"]).await;
    let (_, violations) = app.get_json("/api/v1/violations").await;
    let violation = follow(&app, &violations["items"][0]["proof"]).await;
    let (_, result) = app
        .get_json(&format!(
            "/api/v1/institutions/{}/years/2024/proof",
            code(3)
        ))
        .await;
    assert!(check(&listing, &listing_of(3, LISTED)).is_ok());
    assert!(check(&violation, &violation_of(1, VIOLATION)).is_ok());
    let index = |p: &Value| p["leaf_index"].as_u64().expect("index");

    let cases: Vec<(&str, Value, Ask, &str)> = vec![
        (
            "a changed field: the listing's state (in force → in publicity)",
            with_record(&listing, |t| {
                t.replacen("\"state\":\"in_force\"", "\"state\":\"publicity\"", 1)
            }),
            listing_of(3, LISTED),
            "inclusion",
        ),
        (
            "a changed field: the listing's reason",
            with_record(&listing, |t| t.replacen("出具虚假监测数据", "资料不全", 1)),
            listing_of(3, LISTED),
            "inclusion",
        ),
        (
            "a changed field: the violation's decision date",
            with_record(&violation, |t| t.replacen("2024-06-18", "2019-06-18", 1)),
            violation_of(1, VIOLATION),
            "inclusion",
        ),
        (
            "a wrong leaf index (the repaired listing's place)",
            {
                let mut p = listing.clone();
                p["leaf_index"] = json!(index(&listing) - 1);
                p
            },
            listing_of(3, LISTED),
            "inclusion",
        ),
        (
            "a wrong leaf index, out of range",
            {
                let mut p = violation.clone();
                p["leaf_index"] = json!(2);
                p
            },
            violation_of(1, VIOLATION),
            "inclusion",
        ),
        (
            "an altered sibling hash",
            {
                let mut p = listing.clone();
                let sibling = p["audit_path"][0].as_str().expect("a sibling").to_string();
                let flipped = if sibling.starts_with('0') { "1" } else { "0" };
                p["audit_path"][0] = json!(format!("{flipped}{}", &sibling[1..]));
                p
            },
            listing_of(3, LISTED),
            "inclusion",
        ),
        (
            "the signed manifest of another bundle (the violations' root)",
            with_manifest_of(&listing, &violation),
            Ask::default(),
            "inclusion",
        ),
        (
            "the signed manifest of another bundle (2024's root)",
            with_manifest_of(&violation, &result),
            Ask::default(),
            "inclusion",
        ),
        (
            "another bundle's sequence, the list's manifest kept",
            {
                let mut p = listing.clone();
                p["sequence"] = json!(2);
                p
            },
            Ask::default(),
            "proof_mismatch",
        ),
        (
            "a good listing proof, asked as another listing",
            listing.clone(),
            listing_of(3, REPAIRED),
            "record_mismatch",
        ),
        (
            "a good listing proof, asked as another institution's",
            listing.clone(),
            listing_of(2, LISTED),
            "record_mismatch",
        ),
        (
            "a good listing proof, asked as a violation",
            listing.clone(),
            violation_of(3, LISTED),
            "record_mismatch",
        ),
        (
            "a good violation proof, asked as a listing",
            violation.clone(),
            listing_of(1, VIOLATION),
            "record_mismatch",
        ),
        (
            "a good result proof, asked as a listing",
            result.clone(),
            listing_of(3, LISTED),
            "record_mismatch",
        ),
    ];
    let with_python = python_or_skip();
    for (what, proof, ask, rule) in &cases {
        assert_eq!(check(proof, ask).map(|_| ()), Err(*rule), "{what}");
        // The same, named, by the command line and the Python reference verifier.
        let args = ask.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cli(dir, proof, &args);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{what}: the CLI accepts it");
        assert!(
            stderr.contains(&format!("fails verification ({rule})")),
            "{what}: {stderr}"
        );
        if with_python {
            let out = python(dir, proof, &args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
            assert!(
                stderr.starts_with("FAIL proof.json: ") && stderr.contains(&format!(": {rule}:")),
                "{what}: {stderr}"
            );
        }
    }
}
backends!(
    tampered_listing_and_violation_proofs_fail_with_named_reasons,
    tampered
);

async fn not_displayed(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let app = start(&db, dir.path()).await;
    let path = |n: u32, kind: &str, decision: &str| {
        format!(
            "/api/v1/institutions/{}/{kind}/{}/proof",
            code(n),
            url::form_urlencoded::byte_serialize(decision.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        )
    };
    // A repaired listing and a violation more than 5 years old answer exactly as records that
    // never existed: the same problem, nothing about the hidden record.
    for (hidden, never) in [
        (
            path(2, "listings", REPAIRED),
            path(2, "listings", "嘉环信〔2024〕9号"),
        ),
        (
            path(2, "violations", OLD_VIOLATION),
            path(2, "violations", "嘉环罚字〔2019〕9号"),
        ),
        // At an earlier revision too: display is decided by today.
        (
            format!("{}?revision=3", path(2, "listings", REPAIRED)),
            format!("{}?revision=3", path(2, "listings", "嘉环信〔2024〕9号")),
        ),
    ] {
        let (status, hidden_problem) = app.get_json(&hidden).await;
        assert_eq!(status, 404, "{hidden}: {hidden_problem}");
        let (status, never_problem) = app.get_json(&never).await;
        assert_eq!(status, 404, "{never}: {never_problem}");
        assert_eq!(hidden_problem["type"], "/problems/not-found");
        let mut masked = hidden_problem.clone();
        masked["detail"] = never_problem["detail"].clone();
        assert_eq!(masked, never_problem, "only the decision number differs");
        assert_eq!(
            hidden_problem["detail"],
            never_problem["detail"]
                .as_str()
                .expect("detail")
                .replace("嘉环信〔2024〕9号", REPAIRED)
                .replace("嘉环罚字〔2019〕9号", OLD_VIOLATION)
        );
    }
    // Nor is either linked from anywhere.
    for url in [
        format!("/api/v1/institutions/{}", code(2)),
        "/api/v1/dishonesty-list?state=all".into(),
        "/api/v1/violations".into(),
    ] {
        let (_, body) = app.get_json(&url).await;
        let body = body.to_string();
        assert!(!body.contains(&path(2, "listings", REPAIRED)), "{url}");
        assert!(
            !body.contains(&path(2, "violations", OLD_VIOLATION)),
            "{url}"
        );
    }
    // Before the list was accepted (revision 2) the listing in force has no proof either; an
    // invalid code is a 400; an unknown revision a 404.
    let (status, _) = app
        .get_json(&format!("{}?revision=2", path(3, "listings", LISTED)))
        .await;
    assert_eq!(status, 404);
    let (status, problem) = app
        .get_json("/api/v1/institutions/123/listings/x/proof")
        .await;
    assert_eq!(
        (status, problem["type"].clone()),
        (400, json!("/problems/invalid-code"))
    );
    let (status, _) = app
        .get_json(&format!("{}?revision=9", path(3, "listings", LISTED)))
        .await;
    assert_eq!(status, 404);

    // The list's bundle file is gone with the repaired listing; the problem says where the
    // proofs of the listings still displayed are.
    let (status, problem) = app.get_json("/api/v1/bundles/3").await;
    assert_eq!(status, 410, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("its own proof") && detail.contains("/api/v1/dishonesty-list?state=all"),
        "{detail}"
    );
    let (status, problem) = app.get_json("/api/v1/bundles/2").await;
    assert_eq!(status, 410, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("each item of /api/v1/violations"),
        "{problem}"
    );
}
backends!(
    a_listing_or_violation_no_longer_displayed_has_no_proof,
    not_displayed
);

/// The `href` of the first link after `marker` in `html`, as a browser reads it.
fn href_after(html: &str, marker: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let rest = &html[at..];
    let start = rest.find("href=\"").expect("a link") + 6;
    let len = rest[start..].find('"').expect("closing quote");
    rest[start..start + len]
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

async fn pages(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let app = start(&db, dir.path()).await;
    let (_, inst) = app
        .get_json(&format!("/api/v1/institutions/{}", code(3)))
        .await;
    let link = inst["listings"][0]["proof"]
        .as_str()
        .expect("link")
        .to_string();
    // The institution page (both languages) and the dishonesty page link to the proof.
    for (path, marker) in [
        (format!("/institutions/{}", code(3)), LISTED),
        (format!("/en/institutions/{}", code(3)), LISTED),
        ("/dishonesty-list".to_string(), LISTED),
        ("/en/dishonesty-list?state=all".to_string(), LISTED),
    ] {
        let html = app.get(&path).await.text().await.expect("html");
        assert_eq!(href_after(&html, marker), link, "{path}");
    }
    let html = app
        .get(&format!("/en/institutions/{}", code(3)))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Proof of this listing (verifiable offline, JSON)</a>"));
    let html = app
        .get(&format!("/institutions/{}", code(1)))
        .await
        .text()
        .await
        .expect("html");
    let vlink = href_after(&html, "嘉环罚&#x2F;2024 17号");
    assert!(html.contains("本条违法违规记录的证明（可离线核验签名，JSON）</a>"));
    let proof = follow(&app, &json!(vlink)).await;
    assert!(check(&proof, &violation_of(1, VIOLATION)).is_ok());
    let proof = follow(&app, &json!(link)).await;
    assert!(check(&proof, &listing_of(3, LISTED)).is_ok());
    // The repaired listing's institution shows no listing, so no link.
    let html = app
        .get(&format!("/institutions/{}", code(2)))
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains("listings&#x2F;"), "{html}");
}
backends!(pages_link_each_listing_and_violation_to_its_proof, pages);
