//! The progress bar while a run goes: elapsed time against warm-up plus measured time, with the
//! live count of answered and failed calls. Drawn on stderr only when it is a terminal.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::runner::Live;

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// A running progress display; `finish` clears it.
pub struct Progress {
    bar: ProgressBar,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts the bar for a run of `warmup` + `duration`, unless `quiet` or stderr is no terminal.
    pub fn start(
        label: &str,
        warmup: Duration,
        duration: Duration,
        live: Arc<Live>,
        quiet: bool,
    ) -> Progress {
        let total_ms = u64::try_from((warmup + duration).as_millis()).unwrap_or(u64::MAX);
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(Some(total_ms), ProgressDrawTarget::stderr())
        };
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:30}] {elapsed:>4} / {len_secs}  {msg}")
        {
            bar.set_style(style.progress_chars("=> ").with_key(
                "len_secs",
                |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{}s", state.len().unwrap_or(0) / 1000);
                },
            ));
        }
        bar.set_prefix(label.to_owned());
        let ticker = (!bar.is_hidden()).then(|| {
            let bar = bar.clone();
            let warmup_ms = u64::try_from(warmup.as_millis()).unwrap_or(u64::MAX);
            tokio::spawn(async move {
                let started = tokio::time::Instant::now();
                loop {
                    tokio::time::sleep(TICK).await;
                    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    bar.set_position(elapsed.min(total_ms));
                    let ok = live.ok.load(Ordering::Relaxed);
                    let failed = live.failed.load(Ordering::Relaxed);
                    if elapsed < warmup_ms {
                        bar.set_message("warming up");
                    } else {
                        bar.set_message(format!("{ok} ok, {failed} failed"));
                    }
                }
            })
        });
        Progress { bar, ticker }
    }

    /// Stops and clears the bar.
    pub fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        self.bar.finish_and_clear();
    }
}
