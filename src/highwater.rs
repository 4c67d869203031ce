//! The high-water mark: the last accepted sequence number and its payload hash, kept outside the
//! database — a local state file, and for several instances a checkpoint pinned in configuration
//! — so that a database restored from an older backup, or one that lost bundles, is found out at
//! start-up and before an import instead of being served as current (docs/operations.md,
//! "High-water mark and restoring a backup").
//!
//! The database must hold each mark's sequence with exactly the mark's hash. Sequences and hashes
//! are always the store's own ([`Store::head`], [`Store::chain`]), never recomputed here.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, STATE_FILE_NONE};
use crate::store::{Backend, Store};
use crate::{Error, Result};

/// The `format` of a state file.
const FORMAT: &str = "envcredit-high-water-mark/1";

/// A sequence number and the payload hash (hex) the store holds for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub sequence: u64,
    pub hash: String,
}

/// The hash of the mark that holds nothing yet ([`Mark::empty`]).
const EMPTY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Mark {
    /// The mark of a store that has accepted nothing yet: written before the first import, so
    /// that an import killed after its commit and before the state file followed leaves a state
    /// file behind the database (accepted), not none at all (refused as a deleted file).
    fn empty() -> Mark {
        Mark {
            sequence: 0,
            hash: EMPTY_HASH.to_string(),
        }
    }

    fn describe(&self) -> String {
        format!("sequence {} (hash {})", self.sequence, self.hash)
    }
}

/// The state file's content.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: String,
    sequence: u64,
    hash: String,
    /// When it was written (UTC), for people reading the file.
    updated_at: String,
}

/// What the start-up check found, as `/healthz` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The database holds every configured mark.
    Ok,
    /// Neither a state file nor a checkpoint is configured: nothing to check against.
    Unchecked,
    /// Started with `--accept-rollback` although the database did not hold its mark: what was
    /// found (the ALARM line).
    RollbackAccepted(String),
}

/// Something the database does not agree with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Finding {
    /// The database stops before the mark: restored from an older backup, or bundles lost.
    /// Importing the missing bundles mends it.
    Behind { source: String, mark: Mark },
    /// The database holds the mark's sequence with another hash: a different history.
    Diverged {
        source: String,
        mark: Mark,
        found: String,
    },
    /// The stored sequences are not 1..=head: bundles lost from the middle.
    Broken { error: String },
    /// A state file is configured but absent while the database holds bundles.
    StateMissing { path: PathBuf },
    /// The state file cannot be read as one.
    StateUnreadable { path: PathBuf, error: String },
}

/// The configured marks: where the state file is, and the pinned checkpoint.
#[derive(Debug, Clone)]
pub struct HighWater {
    state_file: Option<PathBuf>,
    checkpoint: Option<Mark>,
    demo: bool,
}

/// The result of comparing the database with the marks.
#[derive(Debug, Clone)]
pub struct Check {
    /// The database's head, as the store gives it.
    pub head: Option<Mark>,
    /// The state file's mark, when there is one.
    pub mark: Option<Mark>,
    findings: Vec<Finding>,
}

impl HighWater {
    /// The marks `config` names. Unset `state_file`: `<database file>.state.json` for SQLite,
    /// none for an in-memory SQLite database, and an error for PostgreSQL outside demo mode
    /// (several instances share it: each needs its own state file, or `"none"` with a pinned
    /// checkpoint).
    pub fn from_config(config: &Config) -> Result<HighWater> {
        let (backend, file) = Store::locate(&config.database_url)?;
        let state_file = match config.state_file.as_deref().map(str::trim) {
            Some(STATE_FILE_NONE) => None,
            Some(path) => Some(PathBuf::from(path)),
            None => match backend {
                Backend::Sqlite => file.map(|db| {
                    let mut name = db.into_os_string();
                    name.push(".state.json");
                    PathBuf::from(name)
                }),
                // Demo data is public and fictional: nothing to protect.
                Backend::Postgresql if config.demo => None,
                Backend::Postgresql => {
                    return Err(Error::Config(format!(
                        "state_file must be set with PostgreSQL: a file local to this instance, or \"{STATE_FILE_NONE}\" (then pin a checkpoint)"
                    )))
                }
            },
        };
        let checkpoint = match &config.checkpoint {
            None => None,
            Some(c) => {
                let valid = c.sequence > 0
                    && c.hash.len() == 64
                    && c.hash
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !valid {
                    return Err(Error::Config(
                        "checkpoint needs sequence >= 1 and hash = 64 lowercase hex digits".into(),
                    ));
                }
                Some(Mark {
                    sequence: c.sequence,
                    hash: c.hash.clone(),
                })
            }
        };
        Ok(HighWater {
            state_file,
            checkpoint,
            demo: config.demo,
        })
    }

    pub fn state_file(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    /// The state file's mark; `None` when no file is configured or it does not exist.
    pub fn read(&self) -> Result<Option<Mark>> {
        let Some(path) = &self.state_file else {
            return Ok(None);
        };
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read the state file {}", path.display()),
                    e,
                ))
            }
        };
        let state: StateFile = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Integrity(format!("state file {} is not one: {e}", path.display()))
        })?;
        let bad_empty = state.sequence == 0 && state.hash != EMPTY_HASH;
        if state.format != FORMAT || bad_empty || state.hash.len() != 64 {
            return Err(Error::Integrity(format!(
                "state file {} is not a {FORMAT} mark",
                path.display()
            )));
        }
        Ok(Some(Mark {
            sequence: state.sequence,
            hash: state.hash,
        }))
    }

    /// The highest sequence the marks vouch the database holds (the state file's and the
    /// pinned checkpoint's): the read model withholds every dataset when the verified chain
    /// stops before it. 0 when no mark is configured or written yet.
    pub fn floor(&self) -> Result<u64> {
        let file = self.read()?.map_or(0, |m| m.sequence);
        Ok(file.max(self.checkpoint.as_ref().map_or(0, |c| c.sequence)))
    }

    /// Compares the database with the state file's mark and the checkpoint.
    pub fn check(&self, store: &Store) -> Result<Check> {
        let head = store
            .head()?
            .map(|(sequence, hash)| Mark { sequence, hash });
        let mut findings = Vec::new();
        let mark = match self.read() {
            Ok(mark) => mark,
            Err(Error::Integrity(error)) => {
                if let Some(path) = &self.state_file {
                    findings.push(Finding::StateUnreadable {
                        path: path.clone(),
                        error,
                    });
                }
                None
            }
            Err(e) => return Err(e),
        };
        let mut expected = Vec::new();
        if let (Some(mark), Some(path)) = (&mark, &self.state_file) {
            expected.push((format!("the high-water mark in {}", path.display()), mark));
        }
        if let Some(checkpoint) = &self.checkpoint {
            expected.push((
                "the checkpoint in the configuration".to_string(),
                checkpoint,
            ));
        }
        // The stored sequences must be 1..=head without a gap (bundles lost from the middle),
        // and each mark's sequence must hold the mark's hash.
        let chain = match (&head, expected.is_empty()) {
            (Some(_), false) => match store.chain() {
                Ok(chain) => Some(chain),
                Err(e) => {
                    findings.push(Finding::Broken {
                        error: e.to_string(),
                    });
                    None
                }
            },
            _ => None,
        };
        for (source, mark) in expected {
            if mark.sequence == 0 {
                // Nothing accepted yet: every database holds that.
                continue;
            }
            let found = match &head {
                Some(head) if head.sequence == mark.sequence => Some(head.hash.clone()),
                Some(head) if head.sequence > mark.sequence => chain.as_ref().and_then(|c| {
                    usize::try_from(mark.sequence - 1)
                        .ok()
                        .and_then(|i| c.get(i))
                        .map(hex::encode)
                }),
                _ => {
                    findings.push(Finding::Behind {
                        source,
                        mark: mark.clone(),
                    });
                    continue;
                }
            };
            match found {
                Some(found) if found != mark.hash => findings.push(Finding::Diverged {
                    source,
                    mark: mark.clone(),
                    found,
                }),
                // Equal, or not readable (a gap, reported above).
                _ => {}
            }
        }
        let unreadable = findings
            .iter()
            .any(|f| matches!(f, Finding::StateUnreadable { .. }));
        if let (Some(path), None, Some(_), false) = (&self.state_file, &mark, &head, unreadable) {
            // A deleted state file is evidence too. Adopted without a word only where something
            // else vouches for the database: demo data, or a checkpoint the database holds.
            let vouched = self.demo || (self.checkpoint.is_some() && findings.is_empty());
            if vouched {
                tracing::warn!(state_file = %path.display(), "high-water mark: the state file is missing; it is created from the database's verified head");
            } else {
                findings.push(Finding::StateMissing { path: path.clone() });
            }
        }
        Ok(Check {
            head,
            mark,
            findings,
        })
    }

    /// Moves the state file's mark forward to `to` (never back); creates the file when missing.
    /// Returns whether it wrote.
    pub fn advance(&self, to: &Mark) -> Result<bool> {
        if self.state_file.is_none() {
            return Ok(false);
        }
        let current = match self.read() {
            Ok(current) => current,
            // Unreadable: the start-up check or the importer has reported it already.
            Err(Error::Integrity(_)) => None,
            Err(e) => return Err(e),
        };
        if current.is_some_and(|m| m.sequence >= to.sequence) {
            return Ok(false);
        }
        self.write(Some(to))?;
        Ok(true)
    }

    /// Replaces the mark with the database's head (`--accept-rollback`); removes the file when
    /// the database is empty, so that the next import starts it again.
    fn reset(&self, head: Option<&Mark>) -> Result<()> {
        match (&self.state_file, head) {
            (None, _) => Ok(()),
            (Some(_), Some(head)) => self.write(Some(head)),
            (Some(path), None) => match fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(format!("cannot remove {}", path.display()), e)),
            },
        }
    }

    /// Writes the state file atomically: a temporary file beside it, flushed to disk, renamed
    /// over it, and the directory flushed, so that a crash leaves the old mark or the new one.
    fn write(&self, mark: Option<&Mark>) -> Result<()> {
        let (Some(path), Some(mark)) = (&self.state_file, mark) else {
            return Ok(());
        };
        let state = StateFile {
            format: FORMAT.to_string(),
            sequence: mark.sequence,
            hash: mark.hash.clone(),
            updated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let mut bytes = serde_json::to_vec_pretty(&state)
            .map_err(|e| Error::Internal(format!("state file: {e}")))?;
        bytes.push(b'\n');
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let mut temp_name = path.file_name().unwrap_or_default().to_os_string();
        temp_name.push(format!(".tmp.{}", std::process::id()));
        let temp = dir.join(temp_name);
        let written = (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(Error::io(
                format!("cannot write the state file {}", path.display()),
                e,
            ));
        }
        #[cfg(unix)]
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Check {
    /// Whether the database holds every mark (a missing state file that nothing vouches for
    /// counts as not).
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// Whether every finding is a database behind its mark, which importing the missing
    /// bundles mends.
    fn only_behind(&self) -> bool {
        self.findings
            .iter()
            .all(|f| matches!(f, Finding::Behind { .. }))
    }

    /// The marks ahead of the database: the bundles at their sequences must carry their hashes.
    fn pending(&self) -> Vec<Mark> {
        self.findings
            .iter()
            .filter_map(|f| match f {
                Finding::Behind { mark, .. } => Some(mark.clone()),
                _ => None,
            })
            .collect()
    }

    /// One line: the database's head against each mark it does not hold.
    pub fn describe(&self) -> String {
        let head = self
            .head
            .as_ref()
            .map_or("the database is empty".to_string(), |h| {
                format!("the database head is {}", h.describe())
            });
        let findings: Vec<String> = self
            .findings
            .iter()
            .map(|f| match f {
                Finding::Behind { source, mark } => format!(
                    "{source} is {}: the database was restored from an older backup or lost bundles",
                    mark.describe()
                ),
                Finding::Diverged {
                    source,
                    mark,
                    found,
                } => format!(
                    "{source} is {} but the database holds hash {found} there: a different history",
                    mark.describe()
                ),
                Finding::Broken { error } => format!(
                    "bundles are missing from the database: {error}"
                ),
                Finding::StateMissing { path } => format!(
                    "the state file {} is missing (a deleted state file is evidence of tampering too)",
                    path.display()
                ),
                Finding::StateUnreadable { path, error } => {
                    format!("the state file {} cannot be read: {error}", path.display())
                }
            })
            .collect();
        format!("high-water mark: {head}, but {}", findings.join("; "))
    }

    /// What the operator can do, for the refusal message.
    fn remedy(&self, command: &str) -> String {
        let from = self.head.as_ref().map_or(1, |h| h.sequence + 1);
        let to = self.pending().iter().map(|m| m.sequence).max();
        let reimport = match to {
            Some(to) if self.only_behind() => {
                format!("re-import bundles {from}..={to} (envcredit import), or, ")
            }
            _ => String::new(),
        };
        format!("{reimport}if you restored or changed the database knowingly, run `envcredit {command} --accept-rollback` once to adopt its head as the mark")
    }
}

/// The serving side, at start-up: refuses a database that does not hold its marks, unless
/// `config.accept_rollback`, which serves it with an ALARM, reports it in `/healthz` and adopts
/// the database's head as the mark. A state file behind the database is advanced later, by
/// [`HighWater::advance`], to the head the read model verified.
pub fn at_start(config: &Config, store: &Store) -> Result<(HighWater, Status)> {
    let high_water = HighWater::from_config(config)?;
    if high_water.state_file.is_none() && high_water.checkpoint.is_none() {
        tracing::warn!("high-water mark: no state file and no checkpoint configured; a database restored from an older backup cannot be detected");
        return Ok((high_water, Status::Unchecked));
    }
    let check = high_water.check(store)?;
    if check.is_ok() {
        if let (Some(head), Some(mark)) = (&check.head, &check.mark) {
            if head.sequence > mark.sequence {
                tracing::warn!(
                    database = head.sequence,
                    mark = mark.sequence,
                    "high-water mark: the database is ahead of the state file (was the state file restored, or did an import run elsewhere?); advancing it"
                );
            }
        }
        return Ok((high_water, Status::Ok));
    }
    let found = check.describe();
    if !config.accept_rollback {
        return Err(Error::Integrity(format!(
            "{found}. Refusing to serve: {}",
            check.remedy("serve")
        )));
    }
    tracing::error!(
        alarm = "rollback",
        "ALARM: {found}; serving anyway (--accept-rollback): its head is now the mark"
    );
    high_water.reset(check.head.as_ref())?;
    Ok((high_water, Status::RollbackAccepted(found)))
}

/// The importing side: checks the database against the marks before anything is imported, and
/// advances the state file after each commit.
#[derive(Debug)]
pub struct ImportGuard {
    high_water: HighWater,
    /// Marks the database is behind: the run may only bring it up to them.
    pending: Vec<Mark>,
}

impl ImportGuard {
    /// Refuses a database that does not hold its marks — except one that is only behind them,
    /// which the bundles of this run may bring up to them, each mark's sequence with exactly
    /// its hash — unless `config.accept_rollback` (an ALARM, and the database's head becomes
    /// the mark, so that another history can be imported).
    pub fn before_import(config: &Config, store: &Store) -> Result<ImportGuard> {
        let high_water = HighWater::from_config(config)?;
        let check = high_water.check(store)?;
        if check.is_ok() {
            if check.head.is_none() && check.mark.is_none() {
                // The first import: the state file exists before anything is committed.
                high_water.write(Some(&Mark::empty()))?;
            }
            return Ok(ImportGuard {
                high_water,
                pending: Vec::new(),
            });
        }
        if check.only_behind() && !config.accept_rollback {
            tracing::warn!("{}; importing toward the mark", check.describe());
            return Ok(ImportGuard {
                high_water,
                pending: check.pending(),
            });
        }
        let found = check.describe();
        if !config.accept_rollback {
            return Err(Error::Integrity(format!(
                "{found}. Refusing to import: {}",
                check.remedy("import")
            )));
        }
        tracing::error!(
            alarm = "rollback",
            "ALARM: {found}; importing anyway (--accept-rollback): its head is now the mark"
        );
        high_water.reset(check.head.as_ref())?;
        Ok(ImportGuard {
            high_water,
            pending: Vec::new(),
        })
    }

    /// Whether the database is behind a mark, so each bundle must be checked by [`Self::admit`]
    /// before it is stored.
    pub fn catching_up(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Refuses a bundle that would put another hash at a mark's sequence.
    pub fn admit(&self, sequence: u64, hash: &str) -> Result<()> {
        match self
            .pending
            .iter()
            .find(|m| m.sequence == sequence && m.hash != hash)
        {
            Some(mark) => Err(Error::Integrity(format!(
                "high-water mark: this bundle is sequence {sequence} with hash {hash}, but the mark is {}: a different history; not imported",
                mark.describe()
            ))),
            None => Ok(()),
        }
    }

    /// After a commit: the state file follows the store's head.
    pub fn committed(&mut self, store: &Store) -> Result<()> {
        let Some((sequence, hash)) = store.head()? else {
            return Ok(());
        };
        self.pending.retain(|m| m.sequence > sequence);
        self.high_water.advance(&Mark { sequence, hash })?;
        Ok(())
    }

    /// The marks the database is still behind after the run, for a warning.
    pub fn still_behind(&self) -> Option<u64> {
        self.pending.iter().map(|m| m.sequence).max()
    }
}

/// After a bundle was stored: the state file follows the store's head (forward only). For
/// callers of [`crate::import::import_bundle`] outside `envcredit import`, such as tests.
pub fn follow_head(config: &Config, store: &Store) -> Result<()> {
    let high_water = HighWater::from_config(config)?;
    if let Some((sequence, hash)) = store.head()? {
        high_water.advance(&Mark { sequence, hash })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> Config {
        let mut config = Config::defaults(false);
        config.database_url = url.to_string();
        config
    }

    #[test]
    fn the_state_file_sits_beside_a_sqlite_file() {
        let hw = HighWater::from_config(&config("data/x.sqlite3")).unwrap();
        assert_eq!(
            hw.state_file(),
            Some(Path::new("data/x.sqlite3.state.json"))
        );
        let hw = HighWater::from_config(&config("sqlite://db/y.db")).unwrap();
        assert_eq!(hw.state_file(), Some(Path::new("db/y.db.state.json")));
        let hw = HighWater::from_config(&config(":memory:")).unwrap();
        assert_eq!(hw.state_file(), None);
    }

    #[test]
    fn postgresql_needs_an_explicit_state_file() {
        let mut c = config("postgres://u@h/db");
        assert!(matches!(
            HighWater::from_config(&c),
            Err(Error::Config(m)) if m.contains("state_file")
        ));
        c.state_file = Some("none".into());
        assert_eq!(HighWater::from_config(&c).unwrap().state_file(), None);
        c.state_file = Some("/var/lib/envcredit/state.json".into());
        assert!(HighWater::from_config(&c).unwrap().state_file().is_some());
    }

    #[test]
    fn a_bad_checkpoint_is_a_configuration_error() {
        let mut c = config("x.db");
        c.checkpoint = Some(crate::config::Checkpoint {
            sequence: 3,
            hash: "ABC".into(),
        });
        assert!(matches!(HighWater::from_config(&c), Err(Error::Config(_))));
    }

    #[test]
    fn the_mark_only_moves_forward_and_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(&dir.path().join("db.sqlite3").display().to_string());
        c.state_file = Some(dir.path().join("sub/state.json").display().to_string());
        let hw = HighWater::from_config(&c).unwrap();
        assert_eq!(hw.read().unwrap(), None);
        let mark = |sequence, c: char| Mark {
            sequence,
            hash: c.to_string().repeat(64),
        };
        assert!(hw.advance(&mark(2, 'a')).unwrap());
        assert!(!hw.advance(&mark(1, 'b')).unwrap());
        assert!(!hw.advance(&mark(2, 'c')).unwrap());
        assert_eq!(hw.read().unwrap(), Some(mark(2, 'a')));
        assert!(hw.advance(&mark(3, 'd')).unwrap());
        assert_eq!(hw.read().unwrap(), Some(mark(3, 'd')));
        let files: Vec<_> = fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(files.len(), 1, "no temporary file left behind");
        fs::write(hw.state_file().unwrap(), b"{}").unwrap();
        assert!(matches!(hw.read(), Err(Error::Integrity(_))));
    }
}
