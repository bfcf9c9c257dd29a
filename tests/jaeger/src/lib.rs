//! The harness of the real-Jaeger suite: a Jaeger v2 process per test on free loopback ports
//! ([`jaeger`]), its HTTP query API read back as Jaeger stores spans ([`query`]), our own
//! programs built by cargo and run as a user runs them ([`programs`]), and the peers some
//! tests need ([`prometheus`], [`python`]).
//!
//! Nothing here decodes our wire formats: whatever a test asserts, Jaeger said.

pub mod jaeger;
pub mod ports;
pub mod programs;
pub mod prometheus;
pub mod python;
pub mod query;

use std::time::{Duration, Instant};

pub use jaeger::{Exporter, Flavor, Jaeger};
pub use query::{Query, Span, Trace};

/// A test of the real-Jaeger suite: ignored, with the reason, when no Jaeger binary was found
/// at build time (see `build.rs`).
#[macro_export]
macro_rules! jaeger_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        #[test]
        #[cfg_attr(
            jaeger_missing,
            ignore = "needs a real Jaeger: run `scripts/jaeger test` (or `scripts/jaeger build`, or set MAXIMUS_JAEGER_BIN)"
        )]
        $(#[$meta])*
        fn $name() $body
    };
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

/// Reports a figure a test checked: printed (seen with `--nocapture`) and appended to
/// `target/jaeger-suite-figures.txt`, which `.ci/run` shows after the tests.
pub fn figure(test: &str, text: impl std::fmt::Display) {
    let line = format!("[jaeger-suite] {test}: {text}");
    println!("{line}");
    if let Some(path) = figures_file() {
        use std::io::Write as _;
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// `target/jaeger-suite-figures.txt`: the test binary runs from `target/<profile>/deps/`.
fn figures_file() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    Some(target.join("jaeger-suite-figures.txt"))
}
