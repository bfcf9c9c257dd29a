//! A burst just before exit loses nothing: 100,000 spans with three attributes, made by one
//! thread as fast as it can, then a clean exit, all reach a real loopback receiver with
//! default settings (OTLP/HTTP here, the Jaeger agent's UDP; OTLP/gRPC in `otlp_grpc.rs`).
//! The queue is bounded by memory, not a span count: a 2,000,000-span burst against an
//! exporter that takes nothing stays within the byte budget, and every drop is counted.

#[path = "support/fake_agent.rs"]
mod fake_agent;
#[path = "support/otlp_receiver.rs"]
mod otlp_receiver;
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use fake_agent::FakeAgent;
use maximus_trace::{TracingManager, span};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otlp_receiver::OtlpReceiver;

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SPANS: usize = 100_000;
const BUDGET: usize = 64 << 20;

/// `total` spans in traces of a root and 99 children, three attributes each, from this
/// thread as fast as it goes.
fn burst(total: usize) {
    for t in 0..total / 100 {
        let _root = span!("burst.root", trace = t as i64, kind = "root", batch = "burst");
        for c in 0..99 {
            let _child = span!("burst.child", index = c as i64, kind = "child", batch = "burst");
        }
    }
}

/// Runs `work` and returns how far the live heap rose above where it started.
fn peak_growth(work: impl FnOnce()) -> usize {
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    work();
    PEAK.load(Ordering::Relaxed).saturating_sub(baseline)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

#[test]
fn a_burst_of_100000_spans_before_exit_all_reach_an_otlp_receiver() {
    let _lock = support::exclusive();
    let receiver = OtlpReceiver::counting();
    let endpoint = receiver.endpoint();
    let mut stats = None;
    let growth = peak_growth(|| {
        let guard = TracingManager::builder()
            .service_name("burst")
            .environment(move |name| (name == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").then(|| endpoint.clone()))
            .init()
            .unwrap();
        burst(SPANS);
        guard.shutdown();
        stats = Some(guard.stats());
    });
    let stats = stats.unwrap();
    assert_eq!(stats.spans_dropped_queue_full, 0, "{stats:?}");
    assert_eq!(stats.spans_exported, SPANS as u64, "{stats:?}");
    assert_eq!(receiver.wait_for_count(SPANS, Duration::from_secs(30)), SPANS);
    println!(
        "100,000 spans over OTLP/HTTP: all delivered; peak heap growth {:.1} MiB",
        mib(growth)
    );
    assert!(
        growth < BUDGET,
        "peak heap growth {growth} B within the {BUDGET} B budget"
    );
}

#[test]
fn a_burst_of_100000_spans_before_exit_all_reach_a_jaeger_agent() {
    let _lock = support::exclusive();
    let agent = FakeAgent::counting();
    let port = agent.port.to_string();
    let mut stats = None;
    let growth = peak_growth(|| {
        let guard = TracingManager::builder()
            .service_name("burst")
            .environment(move |name| match name {
                "MAXIMUS_TRACE_EXPORTER" => Some("jaeger".to_owned()),
                "JAEGER_AGENT_HOST" => Some("127.0.0.1".to_owned()),
                "JAEGER_AGENT_PORT" => Some(port.clone()),
                _ => None,
            })
            .init()
            .unwrap();
        burst(SPANS);
        guard.shutdown();
        stats = Some(guard.stats());
    });
    let stats = stats.unwrap();
    assert_eq!(stats.spans_dropped_queue_full, 0, "{stats:?}");
    assert_eq!(stats.spans_exported, SPANS as u64, "{stats:?}");
    assert_eq!(agent.wait_for_count(SPANS, Duration::from_secs(30)), SPANS);
    println!(
        "100,000 spans over the Jaeger agent: all delivered; peak heap growth {:.1} MiB",
        mib(growth)
    );
    assert!(
        growth < BUDGET,
        "peak heap growth {growth} B within the {BUDGET} B budget"
    );
}

/// An exporter that takes nothing until opened.
#[derive(Debug, Default, Clone)]
struct Stuck(Arc<(Mutex<bool>, Condvar)>);

impl Stuck {
    fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }
}

impl SpanExporter for Stuck {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        let (open, opened) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = opened.wait(open).unwrap();
        }
        Ok(())
    }
}

#[test]
fn a_two_million_span_burst_stays_within_the_budget_and_counts_every_drop() {
    let _lock = support::exclusive();
    let total = 2_000_000;
    let stuck = Stuck::default();
    let guard = TracingManager::builder()
        .service_name("burst")
        .environment(|_| None)
        .span_exporter(stuck.clone())
        .init()
        .unwrap();
    let growth = peak_growth(|| burst(total));
    let during = guard.stats();
    stuck.open();
    guard.shutdown();
    let stats = guard.stats();
    println!(
        "2,000,000 spans against a stuck exporter: peak heap growth {:.1} MiB (budget {:.0} MiB), \
         {} dropped while stuck, {} exported after",
        mib(growth),
        mib(BUDGET),
        during.spans_dropped_queue_full,
        stats.spans_exported
    );
    assert!(
        growth <= BUDGET + (4 << 20),
        "peak heap growth {growth} B within the budget"
    );
    assert!(during.spans_dropped_queue_full > 1_000_000, "{during:?}");
    assert_eq!(
        stats.spans_exported + stats.spans_dropped_queue_full,
        total as u64,
        "every span exported or counted as dropped: {stats:?}"
    );
}
