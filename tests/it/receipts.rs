//! Signed lookup receipts through the real app, on both backends: a receipt for one code and for
//! a batch verifies with the published key (library and `envcredit verify-receipt`); an edited
//! receipt, a receipt signed by another key, or one checked with a pipeline key fails; without
//! a receipt key, asking for one is the `receipts-unavailable` problem.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use envcredit::bundle::envelope::PublicKey;
use envcredit::config::Config;
use envcredit::receipt::{self, ReceiptKey};
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::*;

const SEED: [u8; 32] = [11; 32];

fn receipt_key() -> ReceiptKey {
    ReceiptKey::from_seed(&SEED, false)
}

/// A production configuration with the receipt key in a file, as `envcredit keygen` writes it.
pub(crate) fn config_with_receipts(db: &TestDb, dir: &Path) -> Config {
    let path = dir.join("receipt.key");
    std::fs::write(&path, format!("{}\n", STANDARD.encode(SEED))).expect("key file");
    let mut config = config(db);
    config.receipt_key_file = Some(path);
    config
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

/// The receipt's payload, decoded.
pub(crate) fn payload(answer: &Value) -> Value {
    let encoded = answer["receipt"]["payload"].as_str().expect("payload");
    serde_json::from_slice(&STANDARD.decode(encoded).expect("base64")).expect("payload json")
}

/// The receipt with its payload replaced by `edit`ed JSON (the signature left as it was).
fn edited(answer: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut p = payload(answer);
    edit(&mut p);
    let mut receipt = answer["receipt"].clone();
    receipt["payload"] = json!(STANDARD.encode(bytes(&p)));
    receipt
}

async fn round_trip(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = config_with_receipts(&db, dir.path());
    import(&db, &config, &first_bundle().0).expect("imports");
    let app = spawn_app(config, date(2025, 10, 1)).await;
    let key = receipt_key();
    let public = key.public_key();

    // The published key is the configured one.
    let response = app.get("/.well-known/envcredit-receipt-key.json").await;
    assert_eq!(response.status().as_u16(), 200);
    let published: Value = response.json().await.expect("json");
    assert_eq!(
        published,
        json!({"algorithm": "ed25519", "public_key": public.to_base64(),
               "keyid": public.key_id(), "demo": false})
    );
    let published_key =
        PublicKey::parse(published["public_key"].as_str().expect("key")).expect("parses");

    // One code. Without `receipt` nothing changes; with it the answer carries a receipt whose
    // answers are exactly the answer without `data` and `receipt`.
    let path = format!("/api/v1/flags/{}?as_of=2025-06-01", code(1).to_lowercase());
    let plain = app.get(&path).await;
    assert!(plain.headers().contains_key("etag"));
    let plain: Value = plain.json().await.expect("json");
    assert!(plain.get("receipt").is_none(), "{plain}");
    let response = app.get(&format!("{path}&receipt=true")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(!response.headers().contains_key("etag"));
    let one: Value = response.json().await.expect("json");
    let mut without = one.clone();
    without.as_object_mut().expect("object").remove("receipt");
    assert_eq!(without, plain, "the answer is otherwise unchanged");
    assert_eq!(one["receipt"]["payloadType"], receipt::PAYLOAD_TYPE);

    let verified = receipt::verify(&bytes(&one), &published_key).expect("verifies");
    let bare = receipt::verify(&bytes(&one["receipt"]), &published_key).expect("bare verifies");
    assert_eq!(verified, bare);
    let r = &verified.receipt;
    assert_eq!(r.receipt_version, 2);
    assert_eq!(r.answers, receipt::answer_items(&one));
    assert_eq!(r.answers[0]["code"], code(1));
    assert_eq!(r.answers[0]["bid_flag"], "bonus");
    assert!(r.answers[0].get("data").is_none());
    assert_eq!(r.as_of, date(2025, 6, 1));
    assert_eq!(r.question.endpoint, "GET /api/v1/flags/{code}");
    assert_eq!(r.question.as_of, Some(date(2025, 6, 1)));
    assert_eq!(r.question.items[0].code, code(1).to_lowercase());
    assert_eq!(r.question.revision, None);
    let data = r.data.as_ref().expect("data revision");
    assert_eq!(json!(data.sequence), one["data"]["revision"]["sequence"]);
    assert_eq!(json!(data.hash), one["data"]["revision"]["hash"]);
    assert!(!r.demo);
    assert_eq!(r.notice, None);
    assert!(chrono::DateTime::parse_from_rfc3339(&r.issued_at).is_ok());
    // The payload is canonical: the same receipt re-encodes to the same bytes.
    assert_eq!(
        receipt::canonical_bytes(r).expect("bytes"),
        verified.payload
    );

    // A batch of flags (receipt asked for in the body) and of joint-punishment checks (in the
    // query): the receipt's answers are exactly the items.
    let (status, batch) = app
        .post_json(
            "/api/v1/flags/batch",
            &json!({"as_of": "2025-06-01", "receipt": true,
                "items": [{"code": code(1)}, {"code": code(3), "as_of": "2024-10-24"},
                          {"code": "91330402MA0000001X"}, {"code": code(99)}]}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    let verified = receipt::verify(&bytes(&batch), &published_key).expect("batch verifies");
    assert_eq!(
        verified.receipt.answers,
        batch["items"].as_array().cloned().expect("items")
    );
    assert_eq!(verified.receipt.answers.len(), 4);
    assert_eq!(
        verified.receipt.question.endpoint,
        "POST /api/v1/flags/batch"
    );
    assert_eq!(
        verified.receipt.question.items[1].as_of,
        Some(date(2024, 10, 24))
    );
    assert_eq!(verified.receipt.as_of, date(2025, 6, 1));

    let (status, joint) = app
        .post_json(
            "/api/v1/joint-punishment/batch?receipt=true",
            &json!({"codes": [code(1), code(3)]}),
        )
        .await;
    assert_eq!(status, 200, "{joint}");
    let verified = receipt::verify(&bytes(&joint), &published_key).expect("joint verifies");
    assert_eq!(
        verified.receipt.answers,
        joint["items"].as_array().cloned().expect("items")
    );
    assert_eq!(verified.receipt.answers[1]["de_high_risk"], true);
    assert_eq!(
        verified.receipt.as_of,
        date(2025, 10, 1),
        "today by the app's clock"
    );
    assert_eq!(verified.receipt.question.as_of, None);
    let (_, no_receipt) = app
        .post_json(
            "/api/v1/joint-punishment/batch?receipt=false",
            &json!({"codes": [code(1)], "receipt": false}),
        )
        .await;
    assert!(no_receipt.get("receipt").is_none());

    // The command line: the answer file, the bare receipt, the key as base64 or as the
    // published document.
    let d = dir.path();
    std::fs::write(d.join("one.json"), bytes(&one)).expect("write");
    std::fs::write(d.join("receipt.json"), bytes(&batch["receipt"])).expect("write");
    std::fs::write(d.join("joint.json"), bytes(&joint)).expect("write");
    std::fs::write(d.join("key.json"), bytes(&published)).expect("write");
    let b64 = public.to_base64();
    let out = envcredit(d, &["verify-receipt", "one.json", "--pubkey", &b64]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&public.key_id()), "{stdout}");
    assert!(stdout.contains("GET /api/v1/flags/{code}"), "{stdout}");
    assert!(stdout.contains("as of:     2025-06-01"), "{stdout}");
    assert!(
        stdout.contains(&format!("{} as of 2025-06-01: found", code(1))),
        "{stdout}"
    );
    assert!(stdout.contains("bid flag bonus"), "{stdout}");
    assert!(stdout.contains("issued at: "), "{stdout}");
    assert!(stdout.contains("data:      revision 1"), "{stdout}");
    let out = envcredit(
        d,
        &["verify-receipt", "receipt.json", "--pubkey", "key.json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("invalid_code, reason check_character"));
    let out = envcredit(d, &["verify-receipt", "joint.json", "--pubkey", &b64]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("D/E with high risk"));

    // An edited receipt: one answer's flag flipped, the payload re-encoded.
    let flipped = edited(&one, |p| p["answers"][0]["bid_flag"] = json!("penalty"));
    assert_eq!(
        receipt::verify(&bytes(&flipped), &published_key).unwrap_err(),
        receipt::ReceiptError::Envelope(envcredit::bundle::envelope::EnvelopeError::BadSignature)
    );
    std::fs::write(d.join("flipped.json"), bytes(&flipped)).expect("write");
    let out = envcredit(d, &["verify-receipt", "flipped.json", "--pubkey", &b64]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("signature_invalid"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
    // Edited dates, revision or question fail the same way.
    for edit in [
        (|p: &mut Value| p["as_of"] = json!("2025-06-02")) as fn(&mut Value),
        |p| p["data"]["sequence"] = json!(2),
        |p| p["question"]["items"][0]["code"] = json!(code(2)),
        |p| p["answers"] = json!([]),
    ] {
        let changed = edited(&one, edit);
        assert_eq!(
            receipt::verify(&bytes(&changed), &published_key).unwrap_err(),
            receipt::ReceiptError::Envelope(
                envcredit::bundle::envelope::EnvelopeError::BadSignature
            )
        );
    }
    // The answer around an intact receipt edited: it no longer matches what was signed.
    let mut around = one.clone();
    around["bid_flag"] = json!("penalty");
    assert_eq!(
        receipt::verify(&bytes(&around), &published_key)
            .unwrap_err()
            .rule(),
        "answer_mismatch"
    );
    std::fs::write(d.join("around.json"), bytes(&around)).expect("write");
    let out = envcredit(d, &["verify-receipt", "around.json", "--pubkey", &b64]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("answer_mismatch"));

    // Signed by another key: checked with the published key it fails, whether it names its
    // own key or claims ours.
    let other = ReceiptKey::from_seed(&[12; 32], false);
    let foreign = other
        .sign(&verified.receipt)
        .map(|e| serde_json::to_value(e).expect("json"))
        .expect("signs");
    assert_eq!(
        receipt::verify(&bytes(&foreign), &published_key)
            .unwrap_err()
            .rule(),
        "signature_key_mismatch"
    );
    let mut claiming = foreign.clone();
    claiming["signatures"][0]["keyid"] = json!(public.key_id());
    assert_eq!(
        receipt::verify(&bytes(&claiming), &published_key).unwrap_err(),
        receipt::ReceiptError::Envelope(envcredit::bundle::envelope::EnvelopeError::BadSignature)
    );
    std::fs::write(d.join("foreign.json"), bytes(&claiming)).expect("write");
    let out = envcredit(d, &["verify-receipt", "foreign.json", "--pubkey", &b64]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("signature_invalid"));

    // The pipeline's key is not the receipt key: neither for a receipt nor for a bundle
    // presented as one.
    let pipeline = pipeline_key().public_key();
    assert_eq!(
        receipt::verify(&bytes(&one), &pipeline).unwrap_err().rule(),
        "signature_key_mismatch"
    );
    let out = envcredit(
        d,
        &[
            "verify-receipt",
            "one.json",
            "--pubkey",
            &pipeline.to_base64(),
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("signature_key_mismatch"));
    assert!(receipt::verify(&first_bundle().0, &pipeline).is_err());

    // A receipt for an earlier revision names it.
    let (status, earlier) = app
        .get_json(&format!(
            "/api/v1/flags/{}?revision=1&receipt=true",
            code(1)
        ))
        .await;
    assert_eq!(status, 200, "{earlier}");
    let verified = receipt::verify(&bytes(&earlier), &published_key).expect("verifies");
    assert_eq!(verified.receipt.question.revision, Some(1));
    assert_eq!(verified.receipt.data.map(|d| d.sequence), Some(1));
}

backends!(receipt_round_trip, round_trip);

/// A client cannot make the official tool print a forged line: a "code" holding a new line, a
/// terminal escape and a bidi override is signed only bounded and escaped, and
/// `envcredit verify-receipt` prints one line per answer, escaped.
async fn forged_line(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = config_with_receipts(&db, dir.path());
    import(&db, &config, &first_bundle().0).expect("imports");
    let app = spawn_app(config, date(2025, 10, 1)).await;
    let forged = format!(
        "X\r\u{1b}[2K\n  {} as of 2025-06-01: found, bid flag bonus\u{202e}{}",
        code(1),
        "9".repeat(500)
    );
    let (status, batch) = app
        .post_json(
            "/api/v1/flags/batch",
            &json!({"as_of": "2025-06-01", "receipt": true, "codes": [forged, code(1)]}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    let echoed = batch["items"][0]["code"].as_str().expect("code");
    assert_eq!(batch["items"][0]["status"], "invalid_code");
    assert!(
        echoed.starts_with("X\\u{d}\\u{1b}[2K\\u{a}  "),
        "escaped: {echoed}"
    );
    assert!(echoed.chars().count() <= 41 + 4 * 6, "bounded: {echoed}");
    assert!(echoed.ends_with('…'), "{echoed}");
    assert!(!echoed.chars().any(|c| c.is_control() || c == '\u{202e}'));
    let verified = receipt::verify(&bytes(&batch), receipt_key().public_key()).expect("verifies");
    assert_eq!(verified.receipt.question.items[0].code, echoed);
    assert_eq!(verified.receipt.answers[0]["code"], echoed);
    let detail = batch["items"][0]["detail"].as_str().expect("detail");
    assert!(!detail.chars().any(char::is_control), "{detail}");

    std::fs::write(dir.path().join("forged.json"), bytes(&batch)).expect("write");
    let b64 = receipt_key().public_key().to_base64();
    let out = envcredit(
        dir.path(),
        &["verify-receipt", "forged.json", "--pubkey", &b64],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\r') && !stdout.contains('\u{202e}'));
    let answers: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(answers.len(), 2, "one line per answer: {stdout}");
    assert!(answers[0].starts_with("  X\\\\u{d}"), "{stdout}");
    assert!(answers[0].contains(": invalid_code,"), "{stdout}");
    assert!(
        answers[1].starts_with(&format!("  {} as of 2025-06-01: found", code(1))),
        "{stdout}"
    );
    // The only "found, bid flag bonus" line is the real answer's.
    assert_eq!(
        stdout.lines().filter(|l| l.contains(": found, ")).count(),
        1,
        "{stdout}"
    );
}

backends!(receipts_escape_what_clients_send, forged_line);

/// A receipt names the registry's head beside the revision answered; asked at an older
/// revision, `verify-receipt` says plainly that newer data existed.
async fn head_revision(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = config_with_receipts(&db, dir.path());
    let (first, first_hash) = first_bundle();
    import(&db, &config, &first).expect("imports");
    let list = Parts::of(&draft(
        envcredit::bundle::Dataset::DishonestyList,
        2,
        first_hash,
        None,
        envcredit::bundle::records::Records::DishonestyList(vec![listing(3, "嘉环信〔2024〕1号")]),
    ));
    import(&db, &config, &list.sign(&pipeline_key())).expect("list imports");
    let app = spawn_app(config, date(2025, 10, 1)).await;
    let b64 = receipt_key().public_key().to_base64();

    for (query, answered, words) in [
        ("", 2, "(the answer is from the head)"),
        ("&revision=1", 1, "NOT THE HEAD: answered from revision 1, an older revision than the registry's newest when it signed (2): newer data existed then"),
    ] {
        let (status, one) = app
            .get_json(&format!("/api/v1/flags/{}?receipt=true{query}", code(1)))
            .await;
        assert_eq!(status, 200, "{one}");
        let r = receipt::verify(&bytes(&one), receipt_key().public_key())
            .expect("verifies")
            .receipt;
        assert_eq!(r.data.as_ref().map(|d| d.sequence), Some(answered));
        let head = r.head.as_ref().expect("head");
        assert_eq!(head.sequence, 2);
        assert_eq!(head.hash, hex::encode(list.hash()));
        std::fs::write(dir.path().join("one.json"), bytes(&one)).expect("write");
        let out = envcredit(dir.path(), &["verify-receipt", "one.json", "--pubkey", &b64]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains(words), "{query}: {stdout}");
        assert!(stdout.contains("head:      revision 2"), "{stdout}");
    }
}

backends!(receipts_name_the_head, head_revision);

async fn unavailable(db: TestDb) {
    let config = config(&db);
    import(&db, &config, &first_bundle().0).expect("imports");
    let app = spawn_app(config, date(2025, 10, 1)).await;

    let response = app.get("/.well-known/envcredit-receipt-key.json").await;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["code"], "receipts-unavailable");

    let (status, problem) = app
        .get_json(&format!("/api/v1/flags/{}?receipt=true", code(1)))
        .await;
    assert_eq!(status, 404);
    assert_eq!(problem["type"], "/problems/receipts-unavailable");
    for (path, body) in [
        (
            "/api/v1/flags/batch",
            json!({"codes": [code(1)], "receipt": true}),
        ),
        (
            "/api/v1/flags/batch?receipt=true",
            json!({"codes": [code(1)]}),
        ),
        (
            "/api/v1/joint-punishment/batch?receipt=true",
            json!({"codes": [code(1)]}),
        ),
    ] {
        let (status, problem) = app.post_json(path, &body).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(problem["code"], "receipts-unavailable", "{path}");
    }
    // Nothing else changes.
    let (status, answer) = app.get_json(&format!("/api/v1/flags/{}", code(1))).await;
    assert_eq!(status, 200);
    assert!(answer.get("receipt").is_none());
    let (status, _) = app
        .post_json("/api/v1/flags/batch", &json!({"codes": [code(1)]}))
        .await;
    assert_eq!(status, 200);

    // The well-known path is API, not a page: JSON errors, 405 with Allow.
    let response = app
        .client
        .post(format!(
            "{}/.well-known/envcredit-receipt-key.json",
            app.address
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, OPTIONS");
    let response = app.get("/.well-known/something-else").await;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

backends!(receipts_unavailable_without_a_key, unavailable);

#[actix_web::test]
async fn demo_receipts_say_demo() {
    let db = TestDb::sqlite();
    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    let app = spawn_app(config, date(2026, 11, 27)).await;

    let (status, published) = app
        .get_json("/.well-known/envcredit-receipt-key.json")
        .await;
    assert_eq!(status, 200);
    assert_eq!(published["demo"], true);
    let demo_key = ReceiptKey::demo();
    assert_eq!(published["keyid"], demo_key.public_key().key_id());
    assert_ne!(
        published["keyid"],
        envcredit::config::demo_signing_key().public_key().key_id()
    );

    let (status, joint) = app
        .post_json(
            "/api/v1/joint-punishment/batch",
            &json!({"codes": [code(1)], "receipt": true}),
        )
        .await;
    assert_eq!(status, 200, "{joint}");
    let verified = receipt::verify(&bytes(&joint), demo_key.public_key()).expect("verifies");
    assert!(verified.receipt.demo);
    assert!(verified
        .receipt
        .notice
        .as_deref()
        .is_some_and(|n| n.starts_with("DEMO")));

    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("demo.json"), bytes(&joint)).expect("write");
    let out = envcredit(
        dir.path(),
        &[
            "verify-receipt",
            "demo.json",
            "--pubkey",
            &demo_key.public_key().to_base64(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("NOTICE:    DEMO RECEIPT"));
}

#[test]
fn the_receipt_key_is_the_registrys_own() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("dir");
    let mut config = config_with_receipts(&db, dir.path());
    assert!(config.receipt_key().expect("loads").is_some());

    // A pipeline key is refused as the receipt key.
    let pipeline_seed = dir.path().join("pipeline.key");
    std::fs::write(&pipeline_seed, pipeline_key().to_seed_base64()).expect("write");
    config.receipt_key_file = Some(pipeline_seed);
    assert!(config.receipt_key().is_err());

    // So is a missing or unreadable file, and the demo receipt key outside demo mode.
    config.receipt_key_file = Some(dir.path().join("missing.key"));
    assert!(config.receipt_key().is_err());
    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, "not a key").expect("write");
    config.receipt_key_file = Some(garbage);
    assert!(config.receipt_key().is_err());
    config.receipt_key_file = None;
    assert!(config.receipt_key().expect("loads").is_none());

    // Demo mode with a receipt key file is refused (demo signs only with the demo key).
    let toml = dir.path().join("envcredit.toml");
    std::fs::write(
        &toml,
        format!(
            "demo = true\ndatabase_url = \"{}\"\nreceipt_key_file = \"{}\"\n",
            db.url,
            dir.path().join("receipt.key").display()
        ),
    )
    .expect("write");
    let err = Config::load(Some(&toml), false).unwrap_err().to_string();
    assert!(err.contains("demo receipt key"), "{err}");
}

#[test]
fn verify_receipt_explains_itself() {
    let dir = tempfile::tempdir().expect("dir");
    let out = envcredit(dir.path(), &["verify-receipt", "--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Usage: envcredit verify-receipt"));
    let out = envcredit(
        dir.path(),
        &["verify-receipt", "missing.json", "--pubkey", "nope"],
    );
    assert!(!out.status.success());
    assert_eq!(text(&out.stderr).lines().count(), 1);
}

/// The Python of docs/receipts.md, as printed there, checks a real version 2 receipt: it
/// verifies, names an older revision than the head, prints a client's code escaped, and refuses
/// an edited answer.
#[actix_web::test]
async fn the_documented_python_verifies_receipts() {
    if !crate::verify_python::python_or_skip() {
        return;
    }
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/receipts.md"))
            .expect("docs/receipts.md");
    let blocks: Vec<&str> = doc
        .split("```python\n")
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .collect();
    assert_eq!(blocks.len(), 1, "one python block in docs/receipts.md");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("verify_receipt.py"), blocks[0]).expect("script");

    let db = TestDb::sqlite();
    let config = config_with_receipts(&db, dir.path());
    import(&db, &config, &first_bundle().0).expect("imports");
    let app = spawn_app(config, date(2025, 10, 1)).await;
    let forged = format!("X\u{1b}[2K\n{}", code(1));
    let (status, batch) = app
        .post_json(
            "/api/v1/flags/batch",
            &json!({"as_of": "2026-06-01", "receipt": true, "codes": [forged, code(1)]}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    let key = receipt_key().public_key().to_base64();
    let run = |file: &str, document: &Value| {
        std::fs::write(dir.path().join(file), bytes(document)).expect("write");
        std::process::Command::new("python3")
            .current_dir(dir.path())
            .args(["verify_receipt.py", file, &key])
            .output()
            .expect("python3")
    };
    let out = run("answer.json", &batch);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("ok: POST /api/v1/flags/batch as of 2026-06-01 revision 1"));
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert_eq!(stdout.lines().count(), 3, "one line per answer: {stdout}");
    assert!(stdout.contains("(provisional)"), "{stdout}");

    let mut edited_answer = batch.clone();
    edited_answer["items"][1]["bid_flag"] = json!("bonus-edited");
    let out = run("edited.json", &edited_answer);
    assert!(!out.status.success(), "an edited answer must fail");
    assert!(
        text(&out.stderr).contains("the answer differs from the signed answers"),
        "{}",
        text(&out.stderr)
    );
}
