//! A `log` backend that keeps every record, for tests on what the library logs.

use std::sync::{Mutex, OnceLock, PoisonError};

static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{}", record.args());
        LINES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((record.level(), line));
    }

    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary).
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        log::set_logger(&Capture).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// Every line logged so far whose text contains `needle`.
pub fn lines_containing(needle: &str) -> Vec<(log::Level, String)> {
    LINES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|(_, line)| line.contains(needle))
        .cloned()
        .collect()
}

/// Every line logged so far.
#[allow(dead_code)]
pub fn all() -> String {
    let lines = LINES.lock().unwrap_or_else(PoisonError::into_inner);
    lines
        .iter()
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
