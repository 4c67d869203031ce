//! What each subcommand does.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::progress::{seconds, Reporter};
use super::Command;
use crate::bundle::envelope::{self, SigningKey};
use crate::bundle::proof::{Expected, ExpectedRecord};
use crate::bundle::sign::{payload_hash, sign_draft, Draft, SignInput};
use crate::bundle::{self, Verified};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::config::Config;
use crate::highwater::ImportGuard;
use crate::import::{
    check_bundle, check_bundle_with_progress, import_bundle_with_progress, Outcome,
};
use crate::store::Store;
use crate::web::Application;
use crate::{demo, Error, Result};

pub fn dispatch(command: Command, config: Config) -> Result<()> {
    match command {
        Command::Serve { accept_rollback } => serve(Config {
            accept_rollback,
            ..config
        }),
        Command::Import {
            files,
            accept_rollback,
        } => import(
            &Config {
                accept_rollback,
                ..config
            },
            &files,
        ),
        Command::Verify { file, standalone } => verify(&config, &file, standalone),
        Command::Keygen { out } => keygen(&out),
        Command::Sign {
            key,
            input,
            previous,
            created_at,
            out,
        } => sign(&key, &input, previous.as_deref(), created_at, &out),
        Command::Demo {
            out_dir,
            institutions,
            key,
        } => match (institutions, key) {
            (Some(count), Some(key)) => write_synthetic(&out_dir, count, &key),
            _ => write_demo(&out_dir, Instant::now(), demo::generate()?),
        },
        Command::VerifyProof {
            file,
            pubkey,
            code,
            year,
            listing,
            violation,
            chain,
        } => {
            let record = match (year, listing.as_deref(), violation.as_deref()) {
                (Some(year), _, _) => Some(ExpectedRecord::Evaluation(year)),
                (_, Some(decision), _) => Some(ExpectedRecord::Listing(decision)),
                (_, _, Some(decision)) => Some(ExpectedRecord::Violation(decision)),
                _ => None,
            };
            let expected = Expected {
                code: code.as_deref(),
                record,
            };
            super::proof::verify_proof(&file, &pubkey, &expected, chain.as_deref())
        }
        Command::VerifyReceipt { file, pubkey } => super::receipt::verify_receipt(&file, &pubkey),
        Command::Checkpoint => super::checkpoint::checkpoint(&config),
        Command::Config {
            action: super::ConfigAction::Check,
        } => super::config_check::config_check(&config),
    }
}

fn clock(config: &Config) -> Arc<dyn Clock> {
    match config.today {
        Some(today) => Arc::new(FixedClock(today)),
        None => Arc::new(SystemClock),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
}

/// Reads a bundle file, refusing one over the size limit before reading it.
fn read_bundle(path: &Path, limits: &crate::bundle::Limits) -> Result<Vec<u8>> {
    let len = fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
        .len();
    if usize::try_from(len).map_or(true, |len| len > limits.max_bundle_bytes) {
        return Err(crate::bundle::Rejection::new(
            crate::bundle::Rule::SizeLimit,
            format!(
                "bundle is {len} bytes, more than the limit of {} bytes",
                limits.max_bundle_bytes
            ),
        )
        .into());
    }
    read(path)
}

/// The keys to verify against; an empty list is a configuration mistake, said plainly.
fn trusted_keys(config: &Config) -> Result<Vec<crate::bundle::TrustedKey>> {
    let keys = config.trusted_keys()?;
    if keys.is_empty() {
        return Err(Error::Config(
            "no trusted keys: give a configuration file (--config) with trusted_keys".to_string(),
        ));
    }
    Ok(keys)
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
    }
    fs::write(path, bytes).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Creates `path`, which must not exist yet, with `mode` on Unix.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| {
        Error::io(
            format!("cannot create {} (it must not exist yet)", path.display()),
            e,
        )
    })?;
    file.write_all(bytes)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

fn serve(config: Config) -> Result<()> {
    let clock = clock(&config);
    actix_web::rt::System::new().block_on(async move {
        let listen = config.listen.clone();
        let demo = config.demo;
        let app = Application::build(config, clock).await?;
        let host = listen
            .rsplit_once(':')
            .map_or(listen.as_str(), |(host, _)| host);
        tracing::info!(demo, "envcredit serving on http://{host}:{}", app.port());
        if demo {
            tracing::warn!("DEMO MODE: serving DEMO DATA signed with the public demo key");
        }
        app.run_until_stopped().await
    })
}

fn import(config: &Config, files: &[std::path::PathBuf]) -> Result<()> {
    let keys = trusted_keys(config)?;
    let store = Store::open(&config.database_url)?;
    let mut guard = ImportGuard::before_import(config, &store)?;
    let clock = clock(config);
    let reporter = Reporter::new();
    let all = reporter.bundles("importing", files.len());
    let started_all = Instant::now();
    let (mut imported, mut unchanged, mut records_total) = (0usize, 0usize, 0usize);
    for file in files {
        let started = Instant::now();
        let progress = reporter.bundle("verifying", file);
        let report = |done: usize, total: usize| {
            progress.update(done, total);
            if done == total {
                progress.then("storing");
            }
        };
        let outcome = read_bundle(file, &config.limits).and_then(|bytes| {
            if guard.catching_up() {
                // Behind the high-water mark: the bundle at the mark's sequence must be the one
                // the mark names, checked before it is stored.
                if let Verified::New(b) =
                    check_bundle(&store, &bytes, &keys, &config.limits, clock.now())?
                {
                    guard.admit(b.manifest.sequence, &b.hash_hex())?;
                }
            }
            import_bundle_with_progress(
                &store,
                &bytes,
                &keys,
                &config.limits,
                clock.as_ref(),
                Some(&report),
            )
        });
        progress.finish();
        if let Ok(Outcome::Imported { sequence, .. }) = &outcome {
            guard.committed(&store).map_err(|e| {
                Error::Internal(format!(
                    "bundle {} was imported as sequence {sequence}, but the high-water mark could not be advanced: {e}",
                    file.display()
                ))
            })?;
        }
        match outcome {
            Ok(Outcome::Imported {
                sequence,
                dataset,
                records,
                hash,
            }) => {
                imported += 1;
                records_total += records;
                reporter.println(&format!(
                    "imported {}: sequence {sequence}, {dataset}, {records} records, manifest sha256 {hash}, {} ms",
                    file.display(),
                    started.elapsed().as_millis()
                ));
            }
            Ok(Outcome::AlreadyAccepted { sequence }) => {
                unchanged += 1;
                reporter.println(&format!(
                    "unchanged {}: this exact bundle was already accepted as sequence {sequence}",
                    file.display()
                ));
            }
            Err(e) => {
                return Err(Error::BadRequest(format!(
                    "bundle {} rejected, store unchanged: {e}",
                    file.display()
                )))
            }
        }
        all.inc();
    }
    drop(all);
    if files.len() > 1 {
        let unchanged = match unchanged {
            0 => String::new(),
            n => format!(" ({n} unchanged)"),
        };
        println!(
            "imported {}{unchanged}, {records_total} records in {}",
            count(imported, "bundle"),
            seconds(started_all.elapsed())
        );
    }
    if let Some(mark) = guard.still_behind() {
        tracing::warn!("the database is still behind its high-water mark (sequence {mark}): `serve` refuses it until the bundles up to {mark} are imported");
    }
    Ok(())
}

fn verify(config: &Config, file: &Path, standalone: bool) -> Result<()> {
    let keys = trusted_keys(config)?;
    let fail =
        |e: Error| Error::BadRequest(format!("bundle {} fails verification: {e}", file.display()));
    let started = Instant::now();
    let bytes = read_bundle(file, &config.limits).map_err(fail)?;
    let progress = Reporter::new().bundle("verifying", file);
    let report = |done: usize, total: usize| progress.update(done, total);
    let verified = if standalone {
        bundle::verify::verify_with_progress(&bytes, &keys, None, &config.limits, Some(&report))
            .map_err(|e| fail(e.into()))?
    } else {
        let store = Store::open_existing(&config.database_url)?;
        let now = clock(config).now();
        check_bundle_with_progress(&store, &bytes, &keys, &config.limits, now, Some(&report))
            .map_err(fail)?
    };
    progress.finish();
    let ms = started.elapsed().as_millis();
    match verified {
        Verified::New(b) => println!(
            "ok {}: sequence {}, {}, {} records, Merkle root {}, manifest sha256 {}, signed by key {}, {ms} ms{}",
            file.display(),
            b.manifest.sequence,
            b.manifest.dataset,
            b.records.len(),
            hex::encode(b.manifest.merkle_root),
            b.hash_hex(),
            b.key_id,
            if standalone { " (standalone: chain not checked)" } else { " (would be imported next)" }
        ),
        Verified::AlreadyAccepted { sequence } => println!(
            "ok {}: already accepted as sequence {sequence}, {ms} ms",
            file.display()
        ),
    }
    Ok(())
}

fn keygen(out: &Path) -> Result<()> {
    let pub_path = out.with_extension("pub");
    if pub_path == out {
        return Err(Error::BadRequest(format!(
            "{} would be overwritten by its own public key; name the secret key file otherwise",
            out.display()
        )));
    }
    let key = SigningKey::generate();
    let public = key.public_key();
    // Both files are created new (never overwriting a key), the secret one readable only by
    // its owner from the first byte.
    write_new(out, format!("{}\n", key.to_seed_base64()).as_bytes(), 0o600)?;
    write_new(
        &pub_path,
        format!("{}\n", public.to_base64()).as_bytes(),
        0o644,
    )?;
    println!(
        "secret key: {} (keep it secret, readable only by what signs with it: the pipeline, or the registry for receipts)",
        out.display()
    );
    println!(
        "public key: {} = {}",
        pub_path.display(),
        public.to_base64()
    );
    println!("key id:     {}", public.key_id());
    Ok(())
}

/// A signing key file as `keygen` writes it.
fn signing_key(key_path: &Path) -> Result<SigningKey> {
    let seed = String::from_utf8(read(key_path)?)
        .map_err(|_| Error::BadRequest(format!("{} is not a key file", key_path.display())))?;
    SigningKey::from_seed_base64(seed.trim())
        .map_err(|e| Error::BadRequest(format!("{}: {e}", key_path.display())))
}

fn sign(
    key_path: &Path,
    input: &Path,
    previous: Option<&Path>,
    created_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    out: &Path,
) -> Result<()> {
    let key = signing_key(key_path)?;
    let plain: SignInput = serde_json::from_slice(&read(input)?)
        .map_err(|e| Error::BadRequest(format!("{}: {e}", input.display())))?;
    let records = plain
        .records()
        .map_err(|e| Error::BadRequest(format!("{}: {e}", input.display())))?;
    let (sequence, previous_hash) = match previous {
        None => (1, [0u8; 32]),
        Some(path) => {
            let opened = envelope::open(&read(path)?).map_err(|e| {
                Error::BadRequest(format!("previous bundle {}: {e}", path.display()))
            })?;
            #[derive(serde::Deserialize)]
            struct Head {
                sequence: u64,
            }
            let head: Head = serde_json::from_slice(&opened.payload).map_err(|e| {
                Error::BadRequest(format!("previous bundle {}: {e}", path.display()))
            })?;
            (head.sequence + 1, payload_hash(&opened.payload))
        }
    };
    let draft = Draft {
        dataset: plain.dataset,
        sequence,
        previous_hash,
        created_at: created_at.unwrap_or_else(|| chrono::Utc::now().fixed_offset()),
        evaluation: plain.evaluation,
        count_drop_acknowledged: plain.count_drop_acknowledged,
        records,
    };
    let (bytes, hash) =
        sign_draft(&key, &draft).map_err(|e| Error::Internal(format!("signing: {e}")))?;
    write(out, &bytes)?;
    println!(
        "signed {}: sequence {sequence}, {}, {} records, manifest sha256 {}",
        out.display(),
        draft.dataset,
        draft.records.len(),
        hex::encode(hash)
    );
    Ok(())
}

/// The synthetic data set of `count` institutions, signed with the key file.
fn write_synthetic(out_dir: &Path, count: u32, key_path: &Path) -> Result<()> {
    let started = Instant::now();
    let key = signing_key(key_path)?;
    fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(format!("cannot create {}", out_dir.display()), e))?;
    let count = usize::try_from(count).map_err(|e| Error::Internal(e.to_string()))?;
    write_demo(out_dir, started, demo::generate_synthetic(&key, count)?)
}

/// Writes bundles made since `started`, and says how many and how long it took.
fn write_demo(out_dir: &Path, started: Instant, bundles: Vec<(String, Vec<u8>)>) -> Result<()> {
    let reporter = Reporter::new();
    let all = reporter.bundles("writing", bundles.len());
    let mut records = 0;
    for (name, bytes) in &bundles {
        let path = out_dir.join(name);
        write(&path, bytes)?;
        records += record_count(bytes)?;
        reporter.println(&format!("wrote {}", path.display()));
        all.inc();
    }
    drop(all);
    println!(
        "wrote {}, {records} records in {}",
        count(bundles.len(), "bundle"),
        seconds(started.elapsed())
    );
    Ok(())
}

/// The record count its manifest gives a bundle this program just signed.
fn record_count(bytes: &[u8]) -> Result<u64> {
    let opened = envelope::open(bytes).map_err(|e| Error::Internal(format!("demo bundle: {e}")))?;
    let manifest: bundle::Manifest = serde_json::from_slice(&opened.payload)
        .map_err(|e| Error::Internal(format!("demo bundle: {e}")))?;
    Ok(manifest.record_count)
}

/// `n` things, in English.
fn count(n: usize, thing: &str) -> String {
    match n {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}
