//! The harness of the real-Jaeger suite: a Jaeger v2 process per test on free loopback ports
//! ([`jaeger`]), its HTTP query API read back as Jaeger stores spans ([`query`]), our own
//! programs built by cargo and run as a user runs them ([`programs`]) with deadlines
//! ([`process`]), and the peers some tests need ([`prometheus`], [`python`]), each skipped
//! with a message where it is missing ([`peers`]).
//!
//! Nothing here decodes our wire formats: whatever a test asserts, Jaeger said.

pub mod jaeger;
pub mod peers;
pub mod ports;
pub mod process;
pub mod programs;
pub mod prometheus;
pub mod python;
pub mod query;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use jaeger::{Exporter, Flavor, Jaeger};
pub use query::{Query, Span, Trace};

/// A test of the real-Jaeger suite. Without a Jaeger binary it is ignored, with the reason,
/// when `build.rs` could tell at build time (`cfg(jaeger_missing)`), and skipped with the
/// reason at run time otherwise ([`peers::require`]).
#[macro_export]
macro_rules! jaeger_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        #[test]
        #[cfg_attr(
            jaeger_missing,
            ignore = "needs a real Jaeger: run `scripts/jaeger test` (or `scripts/jaeger build`, or set MAXIMUS_JAEGER_BIN)"
        )]
        $(#[$meta])*
        fn $name() {
            if $crate::peers::require($crate::Jaeger::binary()).is_none() {
                return;
            }
            $body
        }
    };
}

/// A turn at this process's global tracing pipeline: there is one per process, so the tests
/// that install it (each test file is a process of its own) take turns.
pub fn pipeline_turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `probe` every 100 ms until it gives a value or `timeout` passes; the last
/// complaint is in the panic.
pub fn eventually<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: still not true after {timeout:?}: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Reports a figure a test checked: on standard error (seen with `--nocapture`) and
/// appended to `target/jaeger-suite-figures.txt`, which `.ci/run` shows after the tests.
pub fn figure(test: &str, text: impl std::fmt::Display) {
    let line = format!("{test}: {text}");
    eprintln!("[jaeger-suite] {line}");
    append_to_figures(&line);
}

/// Appends `line` to the figures file.
pub(crate) fn append_to_figures(line: &str) {
    use std::io::Write as _;
    let Some(path) = figures_file() else { return };
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "[jaeger-suite] {line}");
    }
}

/// `target/jaeger-suite-figures.txt`: the test binary runs from `target/<profile>/deps/`.
fn figures_file() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    Some(target.join("jaeger-suite-figures.txt"))
}
