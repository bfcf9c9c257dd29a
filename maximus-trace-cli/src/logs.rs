//! Keeps the library's warnings (an export that failed, and why) so the doctor can show them
//! under the step they explain, instead of interleaving them with its report.

use std::sync::{Mutex, PoisonError};

static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Keep;

impl log::Log for Keep {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = record.args().to_string();
            WARNINGS.lock().unwrap_or_else(PoisonError::into_inner).push(line);
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once; later calls do nothing).
pub fn install() {
    if log::set_logger(&Keep).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// The warnings logged since the last call.
pub fn take_warnings() -> Vec<String> {
    std::mem::take(&mut *WARNINGS.lock().unwrap_or_else(PoisonError::into_inner))
}
