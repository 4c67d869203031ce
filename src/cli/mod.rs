//! The command line: `envcredit [serve|import|verify|keygen|sign|demo|verify-proof|verify-receipt|
//! checkpoint|config check]`. `main` only calls [`run`].

mod checkpoint;
mod commands;
mod config_check;
mod progress;
mod proof;
mod receipt;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset};
use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};

/// envcredit — the public, read-only registry of the environmental credit of Jiaxing's social
/// environmental monitoring institutions. Without a subcommand it serves (`serve`).
#[derive(Debug, Parser)]
#[command(name = "envcredit", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Without one, `serve` runs in demo mode.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [env: ENVCREDIT_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Database: `postgres://…` for PostgreSQL, else a SQLite file [env: ENVCREDIT_DATABASE_URL]
    /// [default: data/envcredit.sqlite3].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the registry (JSON API and pages). Re-verifies every stored bundle at start and on
    /// each new revision; in demo mode imports the shipped demo bundles into an empty store.
    /// Refuses a database that does not hold its high-water mark (docs/operations.md).
    Serve {
        /// Serve although the database does not hold its high-water mark (restored from an
        /// older backup, bundles lost): logs an ALARM, reports it in /healthz, and adopts the
        /// database's head as the mark.
        #[arg(long)]
        accept_rollback: bool,
    },
    /// Verify bundle files and store them, in order, each in one transaction. Stops at the first
    /// rejected bundle, which leaves the store exactly as it was, and exits non-zero.
    Import {
        /// Bundle files, in sequence order.
        #[arg(required = true, value_name = "BUNDLE")]
        files: Vec<PathBuf>,
        /// Import although the database does not hold its high-water mark (another history,
        /// a missing state file): logs an ALARM and adopts the database's head as the mark.
        #[arg(long)]
        accept_rollback: bool,
    },
    /// Check a bundle as an import would, against the store's chain, changing nothing.
    Verify {
        #[arg(value_name = "BUNDLE")]
        file: PathBuf,
        /// Check only the bundle itself (signature, manifest, records), not its place in the chain.
        #[arg(long)]
        standalone: bool,
    },
    /// Make a new Ed25519 signing key for the pipeline: writes FILE (the secret seed, mode 0600)
    /// and FILE.pub (the public key, for the registry's `trusted_keys`).
    Keygen {
        #[arg(value_name = "FILE")]
        out: PathBuf,
    },
    /// The pipeline's side: turn plain records (JSON: {"dataset", "evaluation"?, "records"}) into
    /// a signed bundle, records sorted by key in canonical form, Merkle root computed.
    Sign {
        /// The signing key file written by `keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The plain input records.
        #[arg(value_name = "INPUT")]
        input: PathBuf,
        /// The previous accepted bundle: this one gets its sequence + 1 and its payload hash.
        /// Omit for the first bundle (sequence 1).
        #[arg(long, value_name = "BUNDLE")]
        previous: Option<PathBuf>,
        /// Creation time (RFC 3339); default now.
        #[arg(long, value_name = "TIME")]
        created_at: Option<DateTime<FixedOffset>>,
        /// Where to write the bundle.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write the demo bundles (deterministic; the same bytes ship in demo/bundles/). With
    /// `--institutions N`, write instead a large synthetic data set for load tests: N fictional
    /// institutions graded in 2023–2026 and a serious-dishonesty list, signed with `--key`.
    Demo {
        #[arg(long, value_name = "DIR", default_value = "demo/bundles")]
        out_dir: PathBuf,
        /// How many institutions the synthetic data set has (1 to 1,000,000).
        #[arg(long, value_name = "N", requires = "key", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        institutions: Option<u32>,
        /// The signing key file (from `keygen`) the synthetic data set is signed with.
        #[arg(long, value_name = "FILE", requires = "institutions")]
        key: Option<PathBuf>,
    },
    /// Check the proof of one record (from `/api/v1/institutions/{code}/years/{year}/proof`,
    /// `…/listings/{decision}/proof` or `…/violations/{decision}/proof`) offline with the
    /// pipeline's public key: the signed manifest, the record's path to its Merkle root, the
    /// record itself. Warns when a newer bundle of the dataset exists.
    VerifyProof {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The pipeline's public key: base64, or a file holding it (FILE.pub of `keygen`).
        #[arg(long, value_name = "KEY")]
        pubkey: String,
        /// Also require the proof to be of this institution (unified social credit code).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
        /// Also require the proof to be of this evaluation year.
        #[arg(long, value_name = "YEAR")]
        year: Option<i32>,
        /// Also require the proof to be of the listing on the serious-dishonesty list with this
        /// decision number.
        #[arg(long, value_name = "DECISION", conflicts_with_all = ["year", "violation"])]
        listing: Option<String>,
        /// Also require the proof to be of the publicized violation with this decision number.
        #[arg(long, value_name = "DECISION", conflicts_with = "year")]
        violation: Option<String>,
        /// The chain of signed manifests (the saved answer of /api/v1/bundles): warn from its
        /// verified manifests, not the server's hint, when a newer bundle of the dataset exists.
        #[arg(long, value_name = "FILE")]
        chain: Option<PathBuf>,
    },
    /// Check a signed lookup receipt (a receipt, or an API answer holding one as `receipt`) with
    /// the registry's receipt key, and print what it says. Exits non-zero if anything fails.
    VerifyReceipt {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The registry's receipt public key: base64, or a file holding it (or the JSON of
        /// /.well-known/envcredit-receipt-key.json).
        #[arg(long, value_name = "KEY")]
        pubkey: String,
    },
    /// Print the database's head as a `checkpoint = { sequence = …, hash = "…" }` line, to pin
    /// in the configuration of every instance after an import.
    Checkpoint,
    /// Check the configuration as `serve` reads it (the file, ENVCREDIT_* environment variables,
    /// flags) and print the effective settings, secrets masked. Exits non-zero naming what is
    /// wrong.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate and print the effective settings (does not connect to the database).
    Check,
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve { .. }));
    // `config check` reads the configuration as `serve` does (demo mode without a file).
    let as_served = serving || matches!(cli.command, Some(Command::Config { .. }));
    let config = match load_config(&cli, as_served) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Serving logs what it does; a one-off command prints its result and only warnings. The
    // guard flushes the server's log writer when `run` returns.
    let _log_writer = init_tracing(config.log_format, serving);
    match commands::dispatch(
        cli.command.unwrap_or(Command::Serve {
            accept_rollback: false,
        }),
        config,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli, serving: bool) -> crate::Result<Config> {
    let mut config = Config::load(cli.config.as_deref(), serving && cli.config.is_none())?;
    if let Some(listen) = &cli.listen {
        config.listen = listen.clone();
    }
    if let Some(url) = &cli.database_url {
        config.database_url = url.clone();
    }
    Ok(config)
}

/// Logs to standard error: `info` and up when serving, `warn` otherwise (`RUST_LOG` overrides).
///
/// A serving instance writes one access line per request: its lines go through a buffer to a
/// writer thread (`tracing-appender`), so that a request costs formatting, not a system call,
/// and lines are written in batches. The buffer is not lossy: if standard error cannot keep up,
/// logging waits rather than drops a line. A one-off command writes directly, so that its
/// warnings and its printed result keep their order.
fn init_tracing(
    format: LogFormat,
    serving: bool,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, Layer, Registry};

    fn output<W>(format: LogFormat, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let layer = tracing_subscriber::fmt::layer().with_writer(writer);
        match format {
            LogFormat::Json => layer.json().boxed(),
            LogFormat::Text => layer.boxed(),
        }
    }

    let default_level = if serving { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let (output, guard) = if serving {
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .thread_name("envcredit-log")
            .finish(std::io::stderr());
        (output(format, writer), Some(guard))
    } else {
        (output(format, std::io::stderr), None)
    };
    // The filter is the output's own, so that the malformed-request counter (outermost, it
    // sees an event first and may drop it) counts whatever `RUST_LOG` says.
    let _ = tracing_subscriber::registry()
        .with(output.with_filter(filter))
        .with(crate::web::MalformedRequests::layer())
        .try_init();
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
