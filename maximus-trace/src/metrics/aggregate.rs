//! The batch observer on the export thread: folds each batch of ended spans into RED series
//! and the service graph. It runs where the exporter already works, so the application's
//! per-span path pays nothing for metrics.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::SpanData;

use super::histogram::{Histogram, SPAN_DURATION_MS};
use super::labels;
use super::servicegraph::ServiceGraph;
use crate::export::BatchObserver;

/// Distinct (span name, kind, status) series kept; spans beyond it are counted under
/// [`OVERFLOW_SPAN_NAME`], so a span name built from user input cannot exhaust memory.
const MAX_SERIES: usize = 2_000;

/// The span name of the series that takes spans once [`MAX_SERIES`] is reached (the name the
/// `spanmetrics` connector uses for its own overflow).
pub(crate) const OVERFLOW_SPAN_NAME: &str = "overflow_operation";

/// One RED series: its labels besides `service_name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SeriesKey {
    pub span_name: Cow<'static, str>,
    pub kind: &'static str,
    pub status: &'static str,
}

/// Calls and their durations in one series.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub calls: u64,
    pub duration_ms: Histogram,
    /// Scraped at least once (see `prometheus::render`).
    pub scraped: bool,
}

/// Everything aggregated so far.
#[derive(Debug)]
pub(crate) struct State {
    pub series: BTreeMap<SeriesKey, Series>,
    pub graph: ServiceGraph,
    overflow_logged: bool,
}

/// Span metrics of one pipeline, shared by the export thread (which writes), the Prometheus
/// listener and `metrics_snapshot()` (which read).
#[derive(Debug)]
pub(crate) struct Aggregator {
    service: String,
    target: labels::TargetLabels,
    started: Instant,
    state: Mutex<State>,
}

impl Aggregator {
    /// `pairing_ttl`: how long half of a service-graph request waits for the other half.
    pub fn new(service: String, target: labels::TargetLabels, pairing_ttl: Duration) -> Self {
        Aggregator {
            service,
            target,
            started: Instant::now(),
            state: Mutex::new(State {
                series: BTreeMap::new(),
                graph: ServiceGraph::new(pairing_ttl),
                overflow_logged: false,
            }),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// The Prometheus text of a scrape (see `prometheus::render`).
    pub fn scrape(&self) -> String {
        super::prometheus::render(&mut self.lock(), &self.service, &self.target)
    }

    /// Time since the pipeline started, for rates.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The state, with the service graph's expired halves settled first.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.graph.expire(Instant::now());
        state
    }
}

impl BatchObserver for Aggregator {
    fn observe(&self, batch: &[SpanData]) {
        let now = Instant::now();
        let mut state = self.lock();
        for span in batch {
            state.record(span);
            state.graph.observe(span, &self.service, now);
        }
    }
}

impl State {
    fn record(&mut self, span: &SpanData) {
        let mut key = SeriesKey {
            span_name: span.name.clone(),
            kind: labels::kind(&span.span_kind),
            status: labels::status(&span.status),
        };
        if self.series.len() >= MAX_SERIES && !self.series.contains_key(&key) {
            if !self.overflow_logged {
                self.overflow_logged = true;
                log::warn!(
                    "maximus-trace: more than {MAX_SERIES} span metric series; further span names are \
                     counted as {OVERFLOW_SPAN_NAME:?} (span names should not contain ids)"
                );
            }
            key.span_name = Cow::Borrowed(OVERFLOW_SPAN_NAME);
        }
        let series = self.series.entry(key).or_insert_with(|| Series {
            calls: 0,
            duration_ms: Histogram::new(SPAN_DURATION_MS),
            scraped: false,
        });
        series.calls += 1;
        series
            .duration_ms
            .record(super::duration(span).as_secs_f64() * 1_000.0);
    }
}
