//! How far a long command has got, on stderr: a bar on a terminal, plain periodic lines
//! otherwise (CI, logs), never one line per record. Results stay on stdout.
//!
//! The bars are indicatif's: the well-kept crate for this, which rate-limits its own drawing
//! (so updating it from the verification loop costs nothing), redraws around lines printed
//! while it shows ([`Reporter::println`]), and leaves no trace once cleared.

use std::cell::Cell;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Before this much time has passed on a bundle, no progress line is printed when stderr is not
/// a terminal: small bundles print nothing beyond their result. Then a line comes every tenth of
/// the work, and at least every five intervals.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

/// The interval, in milliseconds, instead of [`DEFAULT_INTERVAL`] (tests use 0).
const INTERVAL_ENV: &str = "ENVCREDIT_PROGRESS_INTERVAL_MS";

/// Shows the progress of one command.
pub struct Reporter {
    /// Bars on a terminal; `None` writes plain lines.
    bars: Option<MultiProgress>,
    interval: Duration,
}

impl Reporter {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Reporter {
        let interval = std::env::var(INTERVAL_ENV)
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(DEFAULT_INTERVAL, Duration::from_millis);
        Reporter {
            bars: std::io::stderr().is_terminal().then(MultiProgress::new),
            interval,
        }
    }

    /// Prints a result line on stdout, without tearing a bar drawn on the same terminal.
    pub fn println(&self, line: &str) {
        match &self.bars {
            Some(bars) => bars.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    /// A bar over `total` bundles (`what`: "importing", "writing"), on a terminal and for more
    /// than one bundle only; plain lines say enough per bundle.
    pub fn bundles(&self, what: &str, total: usize) -> BundlesBar {
        BundlesBar(self.bars.as_ref().filter(|_| total > 1).map(|bars| {
            let bar = bars.add(ProgressBar::new(total as u64));
            if let Ok(style) =
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} bundles, {elapsed}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(what.to_string());
            bar.tick();
            bar
        }))
    }

    /// The progress of one bundle's records; `verb` says what is done ("verifying").
    pub fn bundle(&self, verb: &str, file: &Path) -> BundleProgress {
        let label = format!("{verb} {}", file_name(file));
        let bar = self.bars.as_ref().map(|bars| {
            // A spinner until the record count is known (reading, envelope, signature).
            let bar = bars.add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template("{prefix} {spinner} {elapsed}") {
                bar.set_style(style);
            }
            bar.set_prefix(label.clone());
            // Reading, the signature and storing call back nothing: keep the clock moving.
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        BundleProgress {
            label,
            bar,
            interval: self.interval,
            started: Instant::now(),
            counting: Cell::new(false),
            last_line: Cell::new(None),
        }
    }
}

/// The bar over the bundles of a command, if any; cleared when dropped.
pub struct BundlesBar(Option<ProgressBar>);

impl BundlesBar {
    /// One more bundle is done.
    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for BundlesBar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A bundle's progress, fed by the library's `(done, total)` callback.
pub struct BundleProgress {
    label: String,
    bar: Option<ProgressBar>,
    interval: Duration,
    started: Instant,
    /// Whether the bar shows records yet.
    counting: Cell<bool>,
    /// When the last plain line was printed, its records done and its tenth (0 to 10).
    last_line: Cell<Option<(Instant, usize, usize)>>,
}

impl BundleProgress {
    /// Records `done` of `total` are checked.
    pub fn update(&self, done: usize, total: usize) {
        if let Some(bar) = &self.bar {
            if !self.counting.replace(true) {
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix} [{wide_bar}] {pos}/{len} records ({percent} %), {elapsed} {msg}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
            }
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            return;
        }
        let now = Instant::now();
        let elapsed = now.duration_since(self.started);
        if elapsed < self.interval {
            return;
        }
        let tenth = (done * 10).checked_div(total).unwrap_or(10);
        // A line every tenth of the work, or every five intervals on a slow stretch.
        let due = match self.last_line.get() {
            None => true,
            Some((at, last_done, last_tenth)) => {
                done > last_done
                    && (tenth > last_tenth || now.duration_since(at) >= self.interval * 5)
            }
        };
        if due {
            self.last_line.set(Some((now, done, tenth)));
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            eprintln!(
                "{}: {done}/{total} records ({percent} %), {:.1} s",
                self.label,
                elapsed.as_secs_f64()
            );
        }
    }

    /// The checks are done; `what` follows (e.g. "storing").
    pub fn then(&self, what: &'static str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what);
        }
    }

    /// Removes the bar: the result line says the rest.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for BundleProgress {
    fn drop(&mut self) {
        // Also on an error, so the error line is not drawn over.
        self.finish();
    }
}

fn file_name(file: &Path) -> String {
    file.file_name()
        .unwrap_or(file.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Seconds with two decimals, for summary lines.
pub fn seconds(elapsed: Duration) -> String {
    format!("{:.2} s", elapsed.as_secs_f64())
}
