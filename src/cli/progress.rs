//! Progress bars for long work (`run --cycles N`, an indexer backfill, `devnet up`), on stderr
//! and only when stderr is a terminal: under `--json`, with JSON logs, or with stderr going to a
//! file or a pipe, every bar is hidden and nothing of it is written.
//!
//! Log lines go to stderr too: while a bar is shown they are written with the bars lifted out of
//! the way (`LogWriter`), so a log line never lands inside a bar.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The shown bars; set only once a visible bar exists.
static BARS: OnceLock<MultiProgress> = OnceLock::new();
static HIDDEN: AtomicBool = AtomicBool::new(false);

/// No bars for the rest of this process (machine-readable output).
pub fn hide() {
    HIDDEN.store(true, Ordering::Relaxed);
}

fn visible() -> bool {
    !HIDDEN.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

fn shown(bar: ProgressBar) -> ProgressBar {
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        .add(bar)
}

/// A bar counting `unit` up to `total`; hidden unless stderr is a terminal.
pub fn bar(total: u64, unit: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let template = format!("{{msg}} {{wide_bar}} {{pos}}/{{len}} {unit} ({{eta}} left)");
    let style = ProgressStyle::with_template(&template).expect("a valid template");
    shown(ProgressBar::new(total).with_style(style))
}

/// A spinner with a message, for steps whose length is unknown; hidden like `bar`.
pub fn spinner(message: &'static str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let style =
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template");
    let spinner = shown(
        ProgressBar::new_spinner()
            .with_style(style)
            .with_message(message),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// The log's writer: stderr, with the bars cleared while a line is written and drawn again after.
pub struct LogWriter;

impl Write for LogWriter {
    /// Writes the whole formatted event, with any RPC URL's secrets scrubbed from it.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let line = crate::chain::redact::scrub(&text);
        match BARS.get() {
            Some(bars) => bars.suspend(|| std::io::stderr().write_all(line.as_bytes())),
            None => std::io::stderr().write_all(line.as_bytes()),
        }?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// An indexer backfill's bar (`Indexer::sync_with`), shown once the backfill is long enough to
/// notice; cleared when dropped.
#[derive(Default)]
pub struct BackfillBar(Option<ProgressBar>);

/// Blocks a backfill must span to get a bar: five ranges of the indexer's default size.
const BACKFILL_WORTH_A_BAR: u64 = 10_000;

impl BackfillBar {
    pub fn update(&mut self, b: crate::chain::indexer::Backfill) {
        if self.0.is_none() && b.total >= BACKFILL_WORTH_A_BAR {
            self.0 = Some(bar(b.total, "blocks").with_message("indexing the chain"));
        }
        if let Some(bar) = &self.0 {
            bar.set_length(b.total);
            bar.set_position(b.scanned);
        }
    }
}

impl Drop for BackfillBar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
