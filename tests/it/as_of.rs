//! The date a question asks about, through the real app on both backends: every `as_of` (query
//! string, batch, batch item) is exactly `YYYY-MM-DD` from 2000-01-01 to 2099-12-31, or a 400
//! that names it; a date after today is answered and marked `provisional`, in JSON, CSV and
//! receipts.

use envcredit::receipt;
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::*;
use crate::receipts::{config_with_receipts, payload};

/// What chrono alone accepted, and dates outside the documented range.
const NOT_A_DATE: [&str; 8] = [
    "-0001-06-01",
    "%2B2025-06-01",
    "2025-6-1",
    "9999-12-31",
    "1999-12-31",
    "2100-01-01",
    "2025-02-29",
    "2025-06-01T00:00",
];

fn assert_names_as_of(status: u16, problem: &Value, what: &str) {
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("bad-request")),
        "{what}: {problem}"
    );
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("as_of must be a date YYYY-MM-DD from 2000-01-01 to 2099-12-31"),
        "{what}: {detail}"
    );
}

async fn strict(db: TestDb) {
    let config = config(&db);
    import(&db, &config, &first_bundle().0).expect("imports");
    let app = spawn_app(config, date(2025, 1, 10)).await;
    let one = code(1);

    for bad in NOT_A_DATE {
        for path in [
            format!("/api/v1/flags/{one}?as_of={bad}"),
            format!("/api/v1/institutions/{one}?as_of={bad}"),
            format!("/api/v1/institutions?q=1&as_of={bad}"),
            format!("/api/v1/dishonesty-list?as_of={bad}"),
            format!("/api/v1/years?as_of={bad}"),
        ] {
            let (status, problem) = app.get_json(&path).await;
            assert_names_as_of(status, &problem, &path);
        }
        for path in [
            format!("/api/v1/flags.csv?as_of={bad}"),
            format!("/api/v1/dishonesty-list.csv?as_of={bad}"),
        ] {
            let response = app.get(&path).await;
            assert_eq!(response.status().as_u16(), 400, "{path}");
            let problem: Value = response.json().await.expect("problem");
            assert_names_as_of(400, &problem, &path);
        }

        let raw = bad.replace("%2B", "+");
        let (status, problem) = app
            .post_json(
                "/api/v1/flags/batch",
                &json!({"as_of": raw, "codes": [one]}),
            )
            .await;
        assert_names_as_of(status, &problem, &format!("batch as_of {raw}"));
        let (status, problem) = app
            .post_json(
                "/api/v1/flags/batch",
                &json!({"items": [{"code": one, "as_of": raw}]}),
            )
            .await;
        assert_names_as_of(status, &problem, &format!("item as_of {raw}"));
        let (status, problem) = app
            .post_json(
                "/api/v1/joint-punishment/batch",
                &json!({"as_of": raw, "codes": [one]}),
            )
            .await;
        assert_names_as_of(status, &problem, &format!("joint as_of {raw}"));
    }

    // The edges of the range are answered.
    for good in ["2000-01-01", "2099-12-31"] {
        let (status, body) = app
            .get_json(&format!("/api/v1/flags/{one}?as_of={good}"))
            .await;
        assert_eq!(status, 200, "{good}: {body}");
        assert_eq!(body["as_of"], good);
    }
}
backends!(as_of_is_exactly_a_date_in_range, strict);

async fn provisional(db: TestDb) {
    let dir = tempfile::tempdir().expect("dir");
    let config = config_with_receipts(&db, dir.path());
    import(&db, &config, &first_bundle().0).expect("imports");
    let today = date(2025, 1, 10);
    let app = spawn_app(config, today).await;
    let one = code(1);

    // Today and before: settled. After today: answered, and provisional.
    for (as_of, expected) in [
        ("2024-12-01", false),
        ("2025-01-10", false),
        ("2025-01-11", true),
        ("2030-06-01", true),
    ] {
        for path in [
            format!("/api/v1/flags/{one}?as_of={as_of}"),
            format!("/api/v1/institutions/{one}?as_of={as_of}"),
            format!("/api/v1/dishonesty-list?as_of={as_of}"),
        ] {
            let (status, body) = app.get_json(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert_eq!(body["provisional"], expected, "{path}: {body}");
        }
    }
    let (_, default) = app.get_json(&format!("/api/v1/flags/{one}")).await;
    assert_eq!(default["provisional"], false, "{default}");

    // A batch item dated after today is provisional; the others are not.
    let (status, batch) = app
        .post_json(
            "/api/v1/flags/batch",
            &json!({"receipt": true, "items": [
                {"code": one, "as_of": "2025-01-09"},
                {"code": one, "as_of": "2025-06-01"},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["items"][0]["provisional"], false, "{batch}");
    assert_eq!(batch["items"][1]["provisional"], true, "{batch}");
    // The receipt signs it.
    let signed = payload(&batch);
    assert_eq!(signed["answers"][0]["provisional"], false, "{signed}");
    assert_eq!(signed["answers"][1]["provisional"], true, "{signed}");
    let bytes = serde_json::to_vec(&batch).expect("json");
    let key = envcredit::receipt::ReceiptKey::from_seed(&[11; 32], false);
    receipt::verify(&bytes, key.public_key()).expect("verifies");
    std::fs::write(dir.path().join("r.json"), &bytes).expect("write");
    let out = envcredit(
        dir.path(),
        &[
            "verify-receipt",
            "r.json",
            "--pubkey",
            &key.public_key().to_base64(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let provisional: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("(provisional)"))
        .collect();
    assert_eq!(provisional.len(), 1, "{stdout}");
    assert!(provisional[0].contains("as of 2025-06-01"), "{stdout}");

    // The CSV carries it in its own column.
    for (as_of, expected) in [("2025-01-10", "false"), ("2026-01-01", "true")] {
        let csv = app
            .get(&format!("/api/v1/flags.csv?as_of={as_of}"))
            .await
            .text()
            .await
            .expect("csv");
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let column = header
            .iter()
            .position(|h| *h == "provisional")
            .expect("a provisional column");
        let row: Vec<&str> = lines
            .find(|l| l.starts_with(&one))
            .expect("a row for code 1")
            .split(',')
            .collect();
        assert_eq!(row[column], expected, "{as_of}: {csv}");
    }
}
backends!(a_date_after_today_is_provisional, provisional);
