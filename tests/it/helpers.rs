//! Test harness: databases, the app, test keys and bundles.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate};
use envcredit::bundle::envelope::{self, SigningKey};
use envcredit::bundle::manifest::Manifest;
use envcredit::bundle::merkle::Hash;
use envcredit::bundle::records::{BasicScore, EvaluationRecord, Listing, ListingState, Records};
use envcredit::bundle::sign::{
    canonical_records, manifest_bytes, manifest_for, payload_hash, records_bytes, Draft,
};
use envcredit::bundle::{Dataset, EvaluationSchedule};
use envcredit::clock::FixedClock;
use envcredit::config::{Config, TrustedKeyConfig};
use envcredit::domain::code::check_character;
use envcredit::domain::county::County;
use envcredit::domain::score::{Grade, RiskLevel, Score};
use envcredit::store::testdb::{self, TestDatabase};
use envcredit::store::Store;
use envcredit::web::Application;

/// Runs an async test body once per backend: `backends!(name, body_fn)` makes `name::sqlite`
/// and `name::postgresql`. The PostgreSQL one is skipped loudly when the server does not
/// answer, and fails then when `ENVCREDIT_REQUIRE_PG=1`.
#[macro_export]
macro_rules! backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                let db = $crate::helpers::TestDb::sqlite();
                super::$body(db).await;
            }

            #[actix_web::test]
            async fn postgresql() {
                let Some(db) = $crate::helpers::TestDb::postgresql() else {
                    return;
                };
                super::$body(db).await;
            }
        }
    };
}

/// A fresh, empty database that lives as long as this value.
pub struct TestDb {
    pub url: String,
    _sqlite: Option<tempfile::TempDir>,
    _pg: Option<TestDatabase>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDb {
            url: dir.path().join("envcredit.sqlite3").display().to_string(),
            _sqlite: Some(dir),
            _pg: None,
        }
    }

    pub fn postgresql() -> Option<TestDb> {
        let db = testdb::postgres()?;
        Some(TestDb {
            url: db.url.clone(),
            _sqlite: None,
            _pg: Some(db),
        })
    }

    pub fn store(&self) -> Store {
        Store::open(&self.url).expect("open store")
    }

    pub fn dump(&self) -> String {
        self.store().dump().expect("dump")
    }
}

/// The pipeline's key in tests (deterministic).
pub fn pipeline_key() -> SigningKey {
    SigningKey::from_seed(&[7u8; 32])
}

/// Another key, trusted by nobody.
pub fn stranger_key() -> SigningKey {
    SigningKey::from_seed(&[9u8; 32])
}

pub fn trusted(
    key: &SigningKey,
    name: &str,
    from_seq: u64,
    until_seq: Option<u64>,
) -> TrustedKeyConfig {
    TrustedKeyConfig {
        name: name.to_string(),
        public_key: key.public_key().to_base64(),
        from_seq,
        until_seq,
    }
}

/// A production-mode configuration trusting the pipeline key, on this database, port 0.
pub fn config(db: &TestDb) -> Config {
    let mut config = Config::defaults(false);
    config.listen = "127.0.0.1:0".to_string();
    config.database_url = db.url.clone();
    config.trusted_keys = vec![trusted(&pipeline_key(), "pipeline", 1, None)];
    // Rate limits stay on (every test goes through them) but out of the way; the rate-limit
    // tests set small quotas.
    config.rate_limit.per_minute = 1_000_000;
    config.rate_limit.burst = 100_000;
    if db.url.starts_with("postgres") {
        // PostgreSQL needs the state file named; tests of the high-water mark name one.
        config.state_file = Some("none".to_string());
    }
    config
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }
}

/// Starts the real application on port 0 with "today" fixed.
pub async fn spawn_app(config: Config, today: NaiveDate) -> TestApp {
    spawn_app_with_clock(config, Arc::new(FixedClock(today))).await
}

/// Starts the real application on port 0 with the given clock.
pub async fn spawn_app_with_clock(
    config: Config,
    clock: Arc<dyn envcredit::clock::Clock>,
) -> TestApp {
    let app = Application::build(config, clock)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
    }
}

/// A valid code in a county division, from a small number.
pub fn code(n: u32) -> String {
    let first17 = format!("91330402MA{n:07}");
    let check = check_character(&first17).expect("check character");
    format!("{first17}{check}")
}

/// A valid evaluation record with the given basic total and risk score (hundredths).
pub fn record(n: u32, total: i64, risk_score: i64) -> EvaluationRecord {
    let monitoring = total / 3;
    let registration = total / 6;
    let management = total / 4;
    let bonus = 100;
    let local = -50;
    let integrity = total - monitoring - registration - management - bonus - local;
    EvaluationRecord {
        code: code(n),
        name: format!("南湖测试{n}号环境检测有限公司"),
        former_names: Vec::new(),
        county: County::from_code("330402").expect("county"),
        cma_certificate: format!("2311120{n:05}"),
        basic: Some(BasicScore {
            total,
            monitoring_capability: monitoring,
            information_registration: registration,
            business_management: management,
            integrity_record: integrity,
            bonus,
            local,
        }),
        grade: Grade::from_basic_score(Score::from_hundredths(total)),
        risk_score: Some(risk_score),
        risk: RiskLevel::from_risk_score(Score::from_hundredths(risk_score)),
        art11: Vec::new(),
        objection: None,
        change: None,
    }
}

/// A listing of institution `n`, in force from 2024-11-11.
pub fn listing(n: u32, decision: &str) -> Listing {
    Listing {
        code: code(n),
        name: format!("南湖测试{n}号环境检测有限公司"),
        decision_number: decision.to_string(),
        reason: "出具虚假监测数据".to_string(),
        state: ListingState::InForce,
        // After 2024's publicity (2024-09-27): a published 2024 result needs no Art. 11(5).
        listed_on: date(2024, 10, 28),
        in_force_from: Some(date(2024, 11, 11)),
        ended_on: None,
        change: None,
    }
}

/// Final 2024 dates: publicity 2024-09-27, deadline 2024-10-10, published 2024-10-25.
pub fn schedule_2024() -> EvaluationSchedule {
    EvaluationSchedule {
        publicity_date: date(2024, 9, 27),
        objection_deadline: date(2024, 10, 10),
        publication_date: Some(date(2024, 10, 25)),
    }
}

/// 2025 in publicity: publicity 2025-09-26, deadline 2025-10-10.
pub fn schedule_2025() -> EvaluationSchedule {
    EvaluationSchedule {
        publicity_date: date(2025, 9, 26),
        objection_deadline: date(2025, 10, 10),
        publication_date: None,
    }
}

/// When the test bundles are made: on or after every date they report (the latest is 2025's
/// publication in the tests that publish it), never after a publication of a year they show
/// in publicity.
pub fn created_at() -> DateTime<FixedOffset> {
    "2025-10-24T09:00:00+08:00".parse().expect("time")
}

/// Three valid 2024 results: A/low (bonus), C/medium, E/high (penalty).
pub fn records_2024() -> Vec<EvaluationRecord> {
    vec![
        record(1, 9250, 8800),
        record(2, 7500, 7000),
        record(3, 5500, 5000),
    ]
}

pub fn draft(
    dataset: Dataset,
    sequence: u64,
    previous: Hash,
    evaluation: Option<EvaluationSchedule>,
    records: Records,
) -> Draft {
    Draft {
        dataset,
        sequence,
        previous_hash: previous,
        created_at: created_at(),
        evaluation,
        count_drop_acknowledged: false,
        records,
    }
}

/// A bundle built from parts, so tests can make bad ones that are still validly signed.
pub struct Parts {
    pub manifest: Manifest,
    pub records: Vec<Vec<u8>>,
}

impl Parts {
    /// Canonical records and a correct manifest for the draft.
    pub fn of(draft: &Draft) -> Parts {
        let records = canonical_records(&draft.records).expect("canonical");
        Parts {
            manifest: manifest_for(draft, &records),
            records,
        }
    }

    /// Recomputes count and root after the records were changed.
    pub fn reseal(mut self) -> Parts {
        let leaves: Vec<Hash> = self
            .records
            .iter()
            .map(|r| envcredit::bundle::merkle::leaf_hash(r))
            .collect();
        self.manifest.merkle_root = envcredit::bundle::merkle::root(&leaves);
        self.manifest.record_count = self.records.len() as u64;
        self
    }

    /// The signed payload: the manifest's bytes.
    pub fn payload(&self) -> Vec<u8> {
        manifest_bytes(&self.manifest).expect("manifest")
    }

    /// The records' bytes beside it.
    pub fn records_bytes(&self) -> Vec<u8> {
        records_bytes(&self.records)
    }

    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        envelope::sign_bundle(key, &self.payload(), &self.records_bytes()).to_bytes()
    }

    pub fn hash(&self) -> Hash {
        payload_hash(&self.payload())
    }
}

/// A signed, valid first bundle: evaluation-2024, final, three records.
pub fn first_bundle() -> (Vec<u8>, Hash) {
    let parts = Parts::of(&draft(
        Dataset::Evaluation(2024),
        1,
        [0; 32],
        Some(schedule_2024()),
        Records::Evaluation(records_2024()),
    ));
    (parts.sign(&pipeline_key()), parts.hash())
}

/// Imports bundles through the library's import, as `envcredit import` does.
pub fn import(
    db: &TestDb,
    config: &Config,
    bytes: &[u8],
) -> envcredit::Result<envcredit::import::Outcome> {
    let keys = config.trusted_keys().expect("keys");
    let store = db.store();
    let outcome = envcredit::import::import_bundle(
        &store,
        bytes,
        &keys,
        &config.limits,
        // The importer's own clock: a bundle made more than a day after it is refused.
        &envcredit::clock::SystemClock,
    )?;
    // Whoever accepts a bundle advances the high-water mark.
    envcredit::highwater::follow_head(config, &store)?;
    Ok(outcome)
}

/// The real binary, run in `dir` as a user runs it: no `ENVCREDIT_*` setting of the tests'
/// environment leaks in, and it logs at `warn`.
pub fn envcredit_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_envcredit"));
    command.current_dir(dir).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ENVCREDIT_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs the real binary in `dir` with `args` ([`envcredit_command`]) to its end.
pub fn envcredit(dir: &Path, args: &[&str]) -> Output {
    envcredit_command(dir).args(args).output().expect("runs")
}

/// A process's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs SQL directly against the test database, as an intruder (or an operator) with database
/// access would.
pub fn sql(db: &TestDb, statements: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    if db.url.starts_with("postgres") {
        let mut conn = diesel::PgConnection::establish(&db.url).expect("connect");
        conn.batch_execute(statements).expect("sql");
    } else {
        let mut conn = diesel::SqliteConnection::establish(&db.url).expect("connect");
        conn.batch_execute(statements).expect("sql");
    }
}

/// Overwrites the stored envelope of bundle `sequence` (of every bundle with `None`).
pub fn replace_envelope(db: &TestDb, sequence: Option<u64>, bytes: &[u8]) {
    let hex = hex::encode(bytes);
    let value = if db.url.starts_with("postgres") {
        format!("decode('{hex}', 'hex')")
    } else {
        format!("X'{hex}'")
    };
    let filter = sequence.map_or(String::new(), |s| format!(" WHERE sequence = {s}"));
    sql(
        db,
        &format!("UPDATE bundles SET envelope = {value}{filter}"),
    );
}

impl TestApp {
    /// POSTs `body` as JSON; the status and the JSON answer.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }
}
