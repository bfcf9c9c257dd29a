//! The layer around every exporter: counts what was exported, and logs failures through the
//! `log` facade at most once per interval, so a missing collector is visible but never floods.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::stats::COUNTERS;

const LOG_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct Monitored<E> {
    inner: E,
    name: String,
    /// Whether this exporter's results feed `stats()` (not for the extra console copy).
    counted: bool,
    failures: Mutex<FailureLog>,
}

#[derive(Debug, Default)]
struct FailureLog {
    last_logged: Option<Instant>,
    suppressed: u64,
    failing: bool,
}

impl<E: SpanExporter> Monitored<E> {
    pub fn new(inner: E, name: String, counted: bool) -> Self {
        Monitored {
            inner,
            name,
            counted,
            failures: Mutex::new(FailureLog::default()),
        }
    }

    fn on_failure(&self, error: &dyn std::fmt::Display, spans: usize) {
        if self.counted {
            COUNTERS.failed(spans);
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

    fn on_success(&self, spans: usize) {
        if self.counted {
            COUNTERS.exported(spans);
        }
        let Ok(mut log) = self.failures.lock() else { return };
        if std::mem::take(&mut log.failing) {
            log::info!("maximus-trace: {} export recovered", self.name);
            log.last_logged = None;
            log.suppressed = 0;
        }
    }
}

/// The SDK appends every `set_attribute`; the specification (and our docs) say a later
/// value replaces an earlier one. Done here, on the export thread, off the caller's path.
fn keep_last_attribute_values(span: &mut SpanData) {
    if !has_duplicate_keys(&span.attributes) {
        return;
    }
    let mut index: HashMap<opentelemetry::Key, usize> = HashMap::with_capacity(span.attributes.len());
    let mut kept: Vec<opentelemetry::KeyValue> = Vec::with_capacity(span.attributes.len());
    for kv in span.attributes.drain(..) {
        match index.get(&kv.key) {
            Some(&i) => kept[i].value = kv.value,
            None => {
                index.insert(kv.key.clone(), kept.len());
                kept.push(kv);
            }
        }
    }
    span.attributes = kept;
}

/// Pairwise comparison is cheapest for the usual handful of attributes; a set keeps large
/// spans (up to the count limit, 128 by default) linear.
fn has_duplicate_keys(attributes: &[opentelemetry::KeyValue]) -> bool {
    const PAIRWISE_UP_TO: usize = 16;
    if attributes.len() <= PAIRWISE_UP_TO {
        return attributes
            .iter()
            .enumerate()
            .any(|(i, kv)| attributes[i + 1..].iter().any(|later| later.key == kv.key));
    }
    let mut seen = HashSet::with_capacity(attributes.len());
    !attributes.iter().all(|kv| seen.insert(&kv.key))
}

impl<E: SpanExporter> SpanExporter for Monitored<E> {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        batch.iter_mut().for_each(keep_last_attribute_values);
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => self.on_success(spans),
            Err(e) => self.on_failure(e, spans),
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
