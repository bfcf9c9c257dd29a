//! The layer around every exporter: counts what was exported, and logs failures through the
//! `log` facade at most once per interval, so a missing collector is visible but never floods.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::sinks::Deliver;
use crate::stats::{Counters, ExportFailure};

const LOG_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct Monitored<E> {
    inner: E,
    report: Report,
}

/// Counts an exporter's results and logs its failures (rate-limited).
#[derive(Debug)]
pub(crate) struct Report {
    name: String,
    /// The counters this exporter's results feed (`None` for the extra console copy).
    counters: Option<Arc<Counters>>,
    failures: Mutex<FailureLog>,
}

#[derive(Debug, Default)]
struct FailureLog {
    last_logged: Option<Instant>,
    suppressed: u64,
    failing: bool,
}

impl<E: SpanExporter> Monitored<E> {
    pub fn new(inner: E, name: String, counters: Option<Arc<Counters>>) -> Self {
        Monitored {
            inner,
            report: Report::new(name, counters),
        }
    }
}

impl Report {
    pub(crate) fn new(name: String, counters: Option<Arc<Counters>>) -> Self {
        Report {
            name,
            counters,
            failures: Mutex::new(FailureLog::default()),
        }
    }

    pub(crate) fn failure(&self, error: ExportFailure, spans: usize) {
        if let Some(counters) = &self.counters {
            counters.failed(spans, Arc::clone(&error));
        }
        let Ok(mut log) = self.failures.lock() else { return };
        log.failing = true;
        let due = log.last_logged.is_none_or(|t| t.elapsed() >= LOG_INTERVAL);
        if !due {
            log.suppressed += 1;
            return;
        }
        let suppressed = std::mem::take(&mut log.suppressed);
        log.last_logged = Some(Instant::now());
        let more = if suppressed > 0 {
            format!(" ({suppressed} similar failures since the last report)")
        } else {
            String::new()
        };
        log::warn!(
            "maximus-trace: {} failed for {spans} spans: {error}{more}",
            self.name
        );
    }

    pub(crate) fn success(&self, spans: usize) {
        if let Some(counters) = &self.counters {
            counters.exported(spans);
        }
        let Ok(mut log) = self.failures.lock() else { return };
        if std::mem::take(&mut log.failing) {
            log::info!("maximus-trace: {} export recovered", self.name);
            log.last_logged = None;
            log.suppressed = 0;
        }
    }
}

impl<E: SpanExporter> Deliver for Monitored<E> {
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }

    fn deliver(&self, batch: Vec<SpanData>) {
        let spans = batch.len();
        // An OpenTelemetry exporter has finished with the batch when `export` returns.
        match futures_executor::block_on(self.inner.export(batch)) {
            Ok(()) => self.report.success(spans),
            Err(e) => self.report.failure(Arc::new(e), spans),
        }
    }

    fn shutdown(&self, deadline: Instant) -> bool {
        let _ = self
            .inner
            .shutdown_with_timeout(deadline.saturating_duration_since(Instant::now()));
        true
    }
}
