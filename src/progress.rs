//! Progress of a long scan on the terminal: a spinner while the files are
//! found, then `files done / total`. It appears only after a scan has run for
//! [`DELAY`] (a quick scan never shows it), only on a terminal, never in CI and
//! never with `--quiet`, and is cleared before the report is printed.

use std::{
    sync::{
        Mutex,
        mpsc::{self, RecvTimeoutError},
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use hassec::scan::ProgressReporter;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a scan runs before its progress is drawn.
pub const DELAY: Duration = Duration::from_secs(1);

/// While the files to scan are looked for.
const WALKING: &str = "{spinner} looking for files to scan";
/// Once they are known.
const SCANNING: &str = "{spinner} scanning [{bar:30}] {pos}/{len} files";

/// Whether a scan shows progress: on a terminal, outside CI (`ci` is the `CI`
/// variable, which CI services set; empty, `false` or `0` count as unset),
/// without `--quiet`.
pub fn wanted(stderr_is_terminal: bool, ci: Option<&str>, quiet: bool) -> bool {
    let in_ci = ci.is_some_and(|value| {
        !matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "" | "false" | "0"
        )
    });
    stderr_is_terminal && !in_ci && !quiet
}

/// A progress bar on stderr, hidden until [`DELAY`] has passed.
pub struct Progress {
    bar: ProgressBar,
    /// Dropping the sender tells the timer the scan is over.
    timer: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

impl Progress {
    /// Starts the clock; the spinner turns up after [`DELAY`] unless
    /// [`Self::finish`] comes first.
    pub fn start() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(style(WALKING));
        let (sender, receiver) = mpsc::channel::<()>();
        let shown = bar.clone();
        let handle = thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = receiver.recv_timeout(DELAY) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(100));
            }
        });
        Self {
            bar,
            timer: Mutex::new(Some((sender, handle))),
        }
    }

    /// Stops the clock and clears what was drawn.
    pub fn finish(&self) {
        let timer = self.timer.lock().map(|mut timer| timer.take());
        if let Ok(Some((sender, handle))) = timer {
            drop(sender);
            let _ = handle.join();
        }
        self.bar.finish_and_clear();
    }
}

impl ProgressReporter for Progress {
    fn found(&self, files: usize) {
        self.bar.set_length(files as u64);
        self.bar.set_style(style(SCANNING));
    }

    fn scanned(&self) {
        self.bar.inc(1);
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_on_a_terminal_outside_ci_and_not_quiet() {
        assert!(wanted(true, None, false));
        assert!(!wanted(false, None, false), "stderr is not a terminal");
        assert!(!wanted(true, None, true), "--quiet");
        assert!(!wanted(true, Some("true"), false), "CI");
        assert!(!wanted(true, Some("1"), false), "CI");
        assert!(!wanted(false, Some("true"), true));
        for unset in ["", "false", "FALSE", "0"] {
            assert!(wanted(true, Some(unset), false), "CI={unset:?}");
        }
    }

    #[test]
    fn the_templates_are_valid() {
        for template in [WALKING, SCANNING] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }

    #[test]
    fn finishing_stops_the_clock_and_the_bar() {
        let progress = Progress::start();
        progress.found(2);
        progress.scanned();
        progress.scanned();
        assert_eq!(progress.bar.position(), 2);
        progress.finish();
        assert!(progress.bar.is_finished());
        assert!(progress.timer.lock().unwrap().is_none(), "the timer ended");
        progress.finish();
    }
}
