//! Progress of long commands when stderr is not a terminal (CI, logs): plain periodic lines on
//! stderr, never one per record, and nothing at all for a quick bundle; results and a summary
//! on stdout. The interval is set to 0 so that a bundle verified in a fraction of a second
//! reports as a long one would.

use std::path::Path;
use std::process::Output;

use envcredit::bundle::records::Records;
use envcredit::bundle::Dataset;

use crate::helpers::*;

const RECORDS: u32 = 3000;

/// A valid evaluation-2024 bundle of `RECORDS` records at `sequence`, and its hash.
fn big_bundle(sequence: u64, previous: [u8; 32]) -> (Vec<u8>, [u8; 32]) {
    let records = (1..=RECORDS)
        .map(|i| record(i, 5000 + i64::from(i % 4500), 5000 + i64::from(i % 4900)))
        .collect();
    let parts = Parts::of(&draft(
        Dataset::Evaluation(2024),
        sequence,
        previous,
        Some(schedule_2024()),
        Records::Evaluation(records),
    ));
    (parts.sign(&pipeline_key()), parts.hash())
}

fn envcredit(dir: &Path, interval_ms: Option<&str>, args: &[&str]) -> Output {
    let mut command = envcredit_command(dir);
    command.args(args);
    if let Some(ms) = interval_ms {
        command.env("ENVCREDIT_PROGRESS_INTERVAL_MS", ms);
    }
    command.output().expect("runs")
}

/// The progress lines of `file` in `stderr`, checked for their form.
fn progress_lines(stderr: &str, file: &str) -> Vec<String> {
    let prefix = format!("verifying {file}: ");
    let lines: Vec<String> = stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    for line in &lines {
        assert!(
            line.contains(&format!("/{RECORDS} records (")) && line.ends_with(" s"),
            "{line}"
        );
    }
    lines
}

#[test]
fn long_work_reports_progress_in_plain_lines() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    std::fs::write(
        d.join("envcredit.toml"),
        format!(
            "database_url = \"{}\"\nstate_file = \"state.json\"\n[[trusted_keys]]\nname = \"pipeline\"\npublic_key = \"{}\"\nfrom_seq = 1\n",
            db.url,
            pipeline_key().public_key().to_base64()
        ),
    )
    .expect("config");
    let (first, hash) = big_bundle(1, [0; 32]);
    let (second, _) = big_bundle(2, hash);
    std::fs::write(d.join("b1.json"), first).expect("write");
    std::fs::write(d.join("b2.json"), second).expect("write");

    // At the default interval a bundle checked in well under it prints only its result.
    let out = envcredit(
        d,
        None,
        &[
            "--config",
            "envcredit.toml",
            "verify",
            "--standalone",
            "b1.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "no noise for a quick bundle");
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "ok b1.json: sequence 1, evaluation-2024, {RECORDS} records, "
        )) && stdout.contains(" ms (standalone: chain not checked)"),
        "{stdout}"
    );

    // As if it took long: periodic lines on stderr, about every tenth, never one per record.
    let out = envcredit(
        d,
        Some("0"),
        &[
            "--config",
            "envcredit.toml",
            "verify",
            "--standalone",
            "b1.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines = progress_lines(&stderr, "b1.json");
    assert!(lines.len() >= 3 && lines.len() <= 12, "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        lines.len(),
        "only progress: {stderr}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains(&format!(": {RECORDS}/{RECORDS} records (100 %), "))),
        "{stderr}"
    );
    assert!(text(&out.stdout).starts_with("ok b1.json: sequence 1"));

    // Importing two bundles: progress for each, each one's result, then the total.
    let out = envcredit(
        d,
        Some("0"),
        &["--config", "envcredit.toml", "import", "b1.json", "b2.json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    for file in ["b1.json", "b2.json"] {
        let lines = progress_lines(&stderr, file);
        assert!(lines.len() >= 3 && lines.len() <= 12, "{stderr}");
    }
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with(&format!(
            "imported b1.json: sequence 1, evaluation-2024, {RECORDS} records, manifest sha256 "
        )) && lines[0].ends_with(" ms"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "imported b2.json: sequence 2, evaluation-2024, {RECORDS} records, "
        )),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with(&format!("imported 2 bundles, {} records in ", 2 * RECORDS))
            && lines[2].ends_with(" s"),
        "{stdout}"
    );

    // Again: nothing to verify at length, and the total says so.
    let out = envcredit(
        d,
        Some("0"),
        &["--config", "envcredit.toml", "import", "b1.json", "b2.json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert!(
        text(&out.stdout).contains("imported 0 bundles (2 unchanged), 0 records in "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn demo_ends_with_a_summary() {
    let dir = tempfile::tempdir().expect("dir");
    let out = envcredit(dir.path(), None, &["demo", "--out-dir", "out"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let shipped = envcredit::demo::SHIPPED.len();
    assert_eq!(lines.len(), shipped + 1, "{stdout}");
    assert!(lines[..shipped].iter().all(|l| l.starts_with("wrote out")));
    assert!(
        lines[shipped].starts_with(&format!("wrote {shipped} bundles, ")),
        "{stdout}"
    );
    assert!(lines[shipped].contains(" records in "), "{stdout}");
}
