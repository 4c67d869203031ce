//! A crash during import: `envcredit import` (the real binary) is killed with SIGKILL at a
//! random moment while it stores a large bundle over a store that already holds one. Whatever
//! the moment, the store must hold exactly the old data or exactly the new data (never a part),
//! the server must start on what is left (the SQLite file and its `-wal` exactly as the kill left
//! them, and the high-water state file as it was left) and serve the matching revision, and the
//! same import run again must succeed, or say the bundle is already accepted.
//!
//! The kill moments come from a seeded generator: `ENVCREDIT_CRASH_SEED` (printed on failure)
//! replays a run's choices (the timing of the machine still varies). `ENVCREDIT_CRASH_KILLS`
//! (default 20) is the number of kills per backend, `ENVCREDIT_CRASH_INSTITUTIONS` the size of
//! the synthetic data set (`envcredit demo --institutions N`). Each backend prints one summary
//! line (how many kills left the old data, the new data, a WAL, a state file behind); every run
//! is described with `cargo test --test it crash -- --nocapture`.
//!
//! The same over an empty database: the first import.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use envcredit::config::Config;

use crate::backends;
use crate::helpers::*;

/// "Today" of the imports and the servers: fixed, so that `imported_at` (part of the dump) is
/// the same in every run.
const TODAY: &str = "2026-11-28";

fn today() -> NaiveDate {
    date(2026, 11, 28)
}

const DEFAULT_SEED: u64 = 0x00c0_ffee_dead_beef;
const DEFAULT_KILLS: usize = 20;
const DEFAULT_INSTITUTIONS: u32 = 5000;
const BUNDLES: [&str; 2] = [
    "0001-evaluation-2023.bundle.json",
    "0002-evaluation-2024.bundle.json",
];

/// What the store holds before the import that is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// The first bundle of the synthetic chain; the second is imported.
    OneBundle,
    /// Nothing (an empty database); the first bundle is imported.
    Empty,
}

impl Before {
    /// How many bundles the old state holds: the import stores the next one.
    fn held(self) -> usize {
        match self {
            Before::OneBundle => 1,
            Before::Empty => 0,
        }
    }

    fn new_bundle(self) -> &'static str {
        BUNDLES[self.held()]
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

/// xorshift64*: enough to spread kill moments, and replayable from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // SplitMix64 once, so that small or similar seeds start far apart (and never at 0).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Where one run's database is.
struct RunDb {
    url: String,
    /// The high-water state file the import and the server use.
    state_file: PathBuf,
}

/// The fixture of one backend: the bundles, the importer's configuration, the old state to
/// start each run from.
struct Crash {
    postgresql: bool,
    /// The backend's test database (PostgreSQL: every run uses it; SQLite: a copy per run).
    db: TestDb,
    work: tempfile::TempDir,
    label: &'static str,
    before: Before,
}

impl Crash {
    fn dir(&self) -> &Path {
        self.work.path()
    }

    fn template(&self) -> PathBuf {
        self.dir().join("template")
    }

    /// The importer: the real binary, with the test key trusted and "today" fixed.
    fn command(&self, run: &RunDb, bundle: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_envcredit"));
        command
            .args(["--config", "envcredit.toml", "--database-url", &run.url])
            .arg("import")
            .arg(self.dir().join("bundles").join(bundle))
            .current_dir(self.dir())
            .env_remove("ENVCREDIT_DATABASE_URL")
            .env_remove("ENVCREDIT_LISTEN")
            .env_remove("ENVCREDIT_DEMO")
            .env_remove("ENVCREDIT_STATE_FILE")
            .env("ENVCREDIT_TODAY", TODAY)
            .env("RUST_LOG", "warn");
        if self.postgresql {
            // PostgreSQL needs the state file named; SQLite keeps its default, beside the file.
            command.env("ENVCREDIT_STATE_FILE", &run.state_file);
        }
        command
    }

    fn import(&self, run: &RunDb, bundle: &str) -> Output {
        self.command(run, bundle)
            .output()
            .expect("envcredit import runs")
    }

    /// Writes the key, the configuration and the synthetic data set, and imports the old
    /// state's bundles into the template.
    fn prepare(db: TestDb, institutions: u32, before: Before) -> Crash {
        let postgresql = db.url.starts_with("postgres");
        let crash = Crash {
            postgresql,
            db,
            work: tempfile::tempdir().expect("temp dir"),
            label: if postgresql { "postgresql" } else { "sqlite" },
            before,
        };
        let d = crash.dir();
        let key = pipeline_key();
        std::fs::write(
            d.join("pipeline.key"),
            format!("{}\n", key.to_seed_base64()),
        )
        .expect("key file");
        std::fs::write(
            d.join("envcredit.toml"),
            format!(
                "today = \"{TODAY}\"\n[[trusted_keys]]\nname = \"pipeline\"\npublic_key = \"{}\"\n",
                key.public_key().to_base64()
            ),
        )
        .expect("config");
        let out = Command::new(env!("CARGO_BIN_EXE_envcredit"))
            .args(["demo", "--institutions", &institutions.to_string()])
            .args(["--key", "pipeline.key", "--out-dir", "bundles"])
            .current_dir(d)
            .env("RUST_LOG", "warn")
            .output()
            .expect("envcredit demo runs");
        assert!(out.status.success(), "demo: {}", text(&out.stderr));
        std::fs::create_dir_all(crash.template()).expect("template dir");
        let template = crash.template_db();
        if postgresql {
            // The schema, even for an empty old state (the runs delete rows to go back to it).
            drop(crash.db.store());
        }
        for bundle in &BUNDLES[..before.held()] {
            let out = crash.import(&template, bundle);
            assert!(out.status.success(), "old state: {}", text(&out.stderr));
            assert!(template.state_file.is_file(), "the import wrote its mark");
        }
        crash
    }

    fn template_db(&self) -> RunDb {
        if self.postgresql {
            RunDb {
                url: self.db.url.clone(),
                state_file: self.template().join("state.json"),
            }
        } else {
            let path = self.template().join("envcredit.sqlite3");
            RunDb {
                url: path.display().to_string(),
                state_file: self.template().join("envcredit.sqlite3.state.json"),
            }
        }
    }

    /// The old state, fresh for run `k`: SQLite, a copy of the template in a directory of its
    /// own (a crashed file is never reused or overwritten); PostgreSQL, the test database with
    /// the new bundle deleted again. The template's state file is copied, if there is one.
    fn fresh(&self, k: usize) -> RunDb {
        let dir = self.dir().join(format!("run-{k:02}"));
        std::fs::create_dir_all(&dir).expect("run dir");
        let template = self.template_db();
        if self.postgresql {
            let mut conn = diesel::PgConnection::establish(&self.db.url).expect("connect");
            let held = self.before.held();
            conn.batch_execute(&format!(
                "DELETE FROM records WHERE sequence > {held}; DELETE FROM bundles WHERE sequence > {held};"
            ))
            .expect("back to the old state");
            let state_file = dir.join("state.json");
            if template.state_file.exists() {
                std::fs::copy(&template.state_file, &state_file).expect("state file");
            }
            RunDb {
                url: self.db.url.clone(),
                state_file,
            }
        } else {
            let path = dir.join("envcredit.sqlite3");
            for suffix in ["", "-wal", ".state.json"] {
                let from = PathBuf::from(format!("{}{suffix}", template.url));
                if from.exists() {
                    std::fs::copy(&from, format!("{}{suffix}", path.display())).expect("copy");
                }
            }
            RunDb {
                url: path.display().to_string(),
                state_file: dir.join("envcredit.sqlite3.state.json"),
            }
        }
    }

    /// PostgreSQL: waits until no other session of the database is inside a transaction. A
    /// client killed after sending its COMMIT leaves a server process that still commits; the
    /// state "after the kill" is the one once it has finished (or noticed the client is gone).
    fn settle(&self) {
        if !self.postgresql {
            return;
        }
        let mut conn = diesel::PgConnection::establish(&self.db.url).expect("connect");
        let started = Instant::now();
        loop {
            let busy: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND xact_start IS NOT NULL)",
            ))
            .get_result(&mut conn)
            .expect("pg_stat_activity");
            if busy == 0 {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "a session of the killed import is still in a transaction after 30 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The configuration `serve` would have for this run's database.
    fn config(&self, run: &RunDb) -> Config {
        let mut config = config(&self.db);
        config.database_url = run.url.clone();
        if self.postgresql {
            config.state_file = Some(run.state_file.display().to_string());
        }
        config
    }
}

fn dump(url: &str) -> String {
    envcredit::store::Store::open(url)
        .expect("open store")
        .dump()
        .expect("dump")
}

/// `<sequence>-<first 12 hex digits>`, as `/healthz` gives the revision (null when empty).
fn revision(url: &str) -> serde_json::Value {
    match envcredit::store::Store::open(url)
        .expect("open store")
        .head()
        .expect("head")
    {
        Some((sequence, hash)) => format!("{sequence}-{}", &hash[..12]).into(),
        None => serde_json::Value::Null,
    }
}

/// The state file's sequence (`None`: no file).
fn state_sequence(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("state file {} is not JSON ({e}): {text}", path.display()));
    json["sequence"].as_u64()
}

/// Starts the application exactly as `main` builds it, on its own runtime in its own thread,
/// asks `/healthz`, and stops it again (the runtime's end drops the server, which stops its
/// workers, and the revision poller, which would otherwise move the state file later).
fn health(config: Config) -> Result<serde_json::Value, String> {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = spawn_app(config, today()).await;
            let (status, body) = app.get_json("/healthz").await;
            assert_eq!(status, 200, "/healthz: {body}");
            body
        })
    })
    .join()
    .map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the server thread panicked".to_string())
    })
}

/// Where a mismatching dump first differs, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let line = a
        .lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()));
    let cut = |s: &str| {
        s.lines()
            .nth(line)
            .unwrap_or("<end>")
            .chars()
            .take(200)
            .collect::<String>()
    };
    format!(
        "{} vs {} lines; line {line}: {:?} vs {:?}",
        a.lines().count(),
        b.lines().count(),
        cut(a),
        cut(b)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Old,
    New,
}

#[derive(Default)]
struct Tally {
    runs: usize,
    kills: usize,
    old: usize,
    new_after_kill: usize,
    finished_first: usize,
    wal_left: usize,
    state_file_behind: usize,
    state_temp_left: usize,
}

async fn killed_imports(db: TestDb) {
    killed(db, Before::OneBundle);
}
backends!(a_killed_import_leaves_old_or_new_data, killed_imports);

/// The first import into an empty database, killed: the same must hold. The window that
/// matters is after the commit and before the state file follows it: on SQLite the commit of a
/// large transaction runs an automatic WAL checkpoint before it returns (the data is committed
/// once the WAL has it), on PostgreSQL the commit completes on the server even when the client
/// is killed while waiting for it. `envcredit import` writes a mark of "nothing accepted yet"
/// before the first commit, so such a kill leaves the state file behind the database (accepted)
/// rather than missing (refused as a deleted file).
async fn killed_first_imports(db: TestDb) {
    killed(db, Before::Empty);
}
backends!(
    a_killed_first_import_leaves_no_data_or_all_of_it,
    killed_first_imports
);

fn killed(db: TestDb, before: Before) {
    let started = Instant::now();
    let seed: u64 = env_or("ENVCREDIT_CRASH_SEED", DEFAULT_SEED);
    let kills: usize = env_or("ENVCREDIT_CRASH_KILLS", DEFAULT_KILLS);
    let institutions: u32 = env_or("ENVCREDIT_CRASH_INSTITUTIONS", DEFAULT_INSTITUTIONS);
    let crash = Crash::prepare(db, institutions, before);
    let new_bundle = before.new_bundle();
    let new_sequence = before.held() as u64 + 1;
    let label = crash.label;
    let mut rng = Rng::new(seed);

    // The new state, and how long the whole import takes: the same import without a kill, over
    // the same old state, twice.
    let mut durations = Vec::new();
    let (mut old_dump, mut new_dump) = (String::new(), String::new());
    let (mut old_revision, mut new_revision) = (serde_json::Value::Null, serde_json::Value::Null);
    for k in 0..2 {
        let run = crash.fresh(k);
        let start = dump(&run.url);
        if k == 0 {
            old_revision = revision(&run.url);
            old_dump = start;
        } else {
            assert!(
                start == old_dump,
                "[{label}] the old state is restored for each run"
            );
        }
        let t = Instant::now();
        let out = crash.import(&run, new_bundle);
        durations.push(t.elapsed());
        assert!(
            out.status.success(),
            "[{label}] import: {}",
            text(&out.stderr)
        );
        let after = dump(&run.url);
        if k == 0 {
            new_revision = revision(&run.url);
            new_dump = after;
        } else {
            assert!(
                after == new_dump,
                "[{label}] the same import gives the same data"
            );
        }
    }
    assert_ne!(old_dump, new_dump);
    assert_ne!(old_revision, new_revision);
    // The typical duration of a whole import: the median of the last few whole imports (these
    // two, each re-run over the old data, and an import that finished before a kill aimed
    // earlier than that median), so that the kill window follows the machine's pace (other
    // tests may be running beside this one).
    let median = |durations: &[Duration]| {
        let mut recent = durations[durations.len().saturating_sub(5)..].to_vec();
        recent.sort();
        recent[recent.len() / 2].as_secs_f64()
    };
    let mut full = median(&durations);
    eprintln!(
        "crash[{label}]: seed {seed:#x}, {institutions} institutions; a whole import takes {:.0} ms (old {old_revision}, new {new_revision})",
        full * 1000.0
    );

    let mut tally = Tally::default();
    let max_runs = kills * 3 + 5;
    while tally.kills < kills {
        let k = tally.runs + 2;
        tally.runs += 1;
        assert!(
            tally.runs <= max_runs,
            "[{label} seed={seed:#x}] {} runs but only {} kills: the import finishes before the kill too often",
            tally.runs - 1,
            tally.kills
        );
        // Anywhere in the import, or (more often) around its end, where it writes and commits.
        full = median(&durations);
        // (Measured: both backends commit at about 0.85 to 1.0 of the whole, SQLite then
        // checkpoints its WAL; the process ends right after. A kill aimed later mostly finds
        // it finished, which is no kill.)
        let at = if rng.unit() < 0.4 {
            rng.between(0.0, 1.05)
        } else {
            rng.between(0.8, 1.02)
        } * full;
        let run = crash.fresh(k);
        if crash.postgresql {
            assert_eq!(
                revision(&run.url),
                old_revision,
                "[{label}] old state for run {k}"
            );
        }
        let ctx = format!(
            "[{label} seed={seed:#x} run={k} kill at {:.0} ms of ~{:.0} ms]",
            at * 1000.0,
            full * 1000.0
        );

        let mut child = crash
            .command(&run, new_bundle)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("envcredit import starts");
        let spawned = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(at));
        let killed = match child.try_wait().expect("wait") {
            Some(_) => false,
            None => {
                child.kill().expect("SIGKILL");
                true
            }
        };
        let out = child.wait_with_output().expect("wait");
        let lived = spawned.elapsed();
        crash.settle();
        if !killed {
            // Not a kill: the import must simply have done its work.
            tally.finished_first += 1;
            if lived.as_secs_f64() < full {
                // It took at most that long: the machine got faster.
                durations.push(lived);
            }
            assert!(
                out.status.success(),
                "{ctx} the import failed by itself: {}",
                text(&out.stderr)
            );
            assert!(dump(&run.url) == new_dump, "{ctx} finished, new data");
            assert_eq!(state_sequence(&run.state_file), Some(new_sequence), "{ctx}");
            eprintln!(
                "crash[{label}] run {k}: finished before the kill at {:.0} ms",
                at * 1000.0
            );
            continue;
        }
        tally.kills += 1;

        // What the kill left, before anything opens it.
        let mut left = Vec::new();
        if !crash.postgresql {
            let wal = std::fs::metadata(format!("{}-wal", run.url)).map_or(0, |m| m.len());
            if wal > 0 {
                tally.wal_left += 1;
                left.push(format!("{} KiB of WAL", wal / 1024));
            }
        }
        let dir = run.state_file.parent().expect("run dir");
        let temps = std::fs::read_dir(dir)
            .expect("run dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().contains(".tmp."))
            })
            .count();
        if temps > 0 {
            tally.state_temp_left += 1;
            left.push("a temporary state file".to_string());
        }
        let mark = state_sequence(&run.state_file);

        // The server starts on the files as they are, and serves one of the two revisions.
        let t = Instant::now();
        let health = health(crash.config(&run)).unwrap_or_else(|e| {
            panic!("{ctx} the server does not start after the kill (state file at {mark:?}, left: {left:?}): {e}")
        });
        let served = health["revision"].clone();
        let server_ms = t.elapsed().as_millis();
        assert_eq!(health["integrity_failures"], 0, "{ctx} {health}");
        assert_eq!(health["withheld"], 0, "{ctx} {health}");
        assert_eq!(health["high_water"]["status"], "ok", "{ctx} {health}");

        // Exactly the old data or exactly the new data, and the revision served is its own.
        let now = dump(&run.url);
        let state = if now == old_dump {
            State::Old
        } else if now == new_dump {
            State::New
        } else {
            panic!(
                "{ctx} the store holds neither the old nor the new data: against the old, {}; against the new, {}",
                first_difference(&now, &old_dump),
                first_difference(&now, &new_dump)
            )
        };
        let expected = match state {
            State::Old => &old_revision,
            State::New => &new_revision,
        };
        assert_eq!(&served, expected, "{ctx} {state:?} data, revision served");
        match state {
            State::Old => tally.old += 1,
            State::New => tally.new_after_kill += 1,
        }
        if state == State::New && mark.unwrap_or(0) < new_sequence {
            tally.state_file_behind += 1;
        }

        // The same import again: stores the bundle, or says it is already there.
        let t = Instant::now();
        let again = crash.import(&run, new_bundle);
        let rerun = t.elapsed();
        if state == State::Old {
            durations.push(rerun);
        }
        let stdout = text(&again.stdout);
        assert!(
            again.status.success(),
            "{ctx} the import run again after the kill fails ({state:?} data): {}{stdout}",
            text(&again.stderr)
        );
        let said = match state {
            State::Old => "imported ",
            State::New => "already accepted as sequence",
        };
        assert!(stdout.contains(said), "{ctx} {state:?}: {stdout}");
        assert!(
            dump(&run.url) == new_dump,
            "{ctx} the re-run leaves the new data"
        );
        assert_eq!(
            state_sequence(&run.state_file),
            Some(new_sequence),
            "{ctx} the state file follows the re-run"
        );
        eprintln!(
            "crash[{label}] run {k}: killed after {:.0} ms (aimed {:.0} ms) -> {state:?} data, state file at {mark:?}{}; served {served} (started in {server_ms} ms); re-run ok in {} ms",
            lived.as_secs_f64() * 1000.0,
            at * 1000.0,
            if left.is_empty() { String::new() } else { format!(", left {}", left.join(" and ")) },
            rerun.as_millis(),
        );
    }

    // Once more after all that: the server on the last run's database, after the re-run.
    let last = crash.fresh(tally.runs + 2);
    let out = crash.import(&last, new_bundle);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let health = health(crash.config(&last)).expect("the server starts");
    assert_eq!(health["revision"], new_revision);

    let summary = format!(
        "crash[{label}]: {} kills in {} runs (seed {seed:#x}, {institutions} institutions, import ~{:.0} ms): {} old, {} new (killed after the commit), {} finished before the kill; {} left a WAL, {} left the state file behind the database, {} left a temporary state file; {:.1} s",
        tally.kills,
        tally.runs,
        full * 1000.0,
        tally.old,
        tally.new_after_kill,
        tally.finished_first,
        tally.wal_left,
        tally.state_file_behind,
        tally.state_temp_left,
        started.elapsed().as_secs_f64()
    );
    // Straight to the process's stderr: the harness hides `eprintln!` of a passing test.
    let _ = writeln!(std::io::stderr(), "{summary}");
    assert!(
        tally.old >= 3,
        "too few kills landed before the commit, the test proves little: {summary}"
    );
}
