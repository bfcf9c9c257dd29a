//! Per-span cost of `maximus-trace` (disabled, not sampled, sampled) against a plain
//! function, `fastrace`, `tracing` + `tracing-opentelemetry`, `tracing` + our `SpanLayer`,
//! and the OpenTelemetry SDK used directly. Every arm ends in a batch pipeline whose exporter counts and discards; each
//! pipeline is drained between rounds off the clock. Prints the table of `BENCHMARKS.md`.
//!
//! `cargo bench -p maximus-bench --bench spans`

mod switch;
mod workload;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use maximus_bench::executor::block_on;
use maximus_bench::exporter::CountingExporter;
use maximus_bench::report::{Samples, Table};
use maximus_bench::rounds;
use maximus_trace::{TracingGuard, TracingManager, span};
use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use workload::{
    fr_child, fr_child_async, mx_child, mx_child_async, plain_child, plain_child_async, tracing_async_child,
    tracing_hundred_children, tracing_one_child,
};

const SAMPLE_SIZE: usize = 30;
/// The machine's cores.
const THREADS: usize = 2;

/// What one timed iteration does; every shape is timed for every arm.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// A root span and one child span (a sync function) under it.
    OneChild,
    /// A root span and 100 children.
    HundredChildren,
    /// A root span and a traced `async fn` under it, polled to completion.
    AsyncChild,
    /// [`Shape::HundredChildren`] on [`THREADS`] threads at once.
    Threads,
}

const SHAPES: [Shape; 4] = [
    Shape::OneChild,
    Shape::HundredChildren,
    Shape::AsyncChild,
    Shape::Threads,
];

impl Shape {
    /// Criterion's group name.
    fn id(self) -> &'static str {
        match self {
            Shape::OneChild => "one_child",
            Shape::HundredChildren => "hundred_children",
            Shape::AsyncChild => "async_child",
            Shape::Threads => "two_threads",
        }
    }

    /// The table's column.
    fn column(self) -> &'static str {
        match self {
            Shape::OneChild => "root + 1 child",
            Shape::HundredChildren => "root + 100 children",
            Shape::AsyncChild => "root + async fn",
            Shape::Threads => "2 threads x (root + 100)",
        }
    }

    /// Spans one iteration creates on one thread.
    fn spans(self) -> u64 {
        match self {
            Shape::OneChild | Shape::AsyncChild => 2,
            Shape::HundredChildren | Shape::Threads => 101,
        }
    }

    fn threads(self) -> u64 {
        match self {
            Shape::Threads => THREADS as u64,
            _ => 1,
        }
    }
}

/// One way of tracing: an iteration of each shape, and how its pipeline is drained.
trait Arm: Sync {
    fn name(&self) -> &'static str;
    fn one_child(&self, i: u64);
    fn hundred_children(&self, i: u64);
    fn async_child(&self, i: u64);
    /// Hands every ended span to the exporter and waits for it (off the clock).
    fn drain(&self);
    /// Spans the exporter received so far.
    fn exported(&self) -> u64;
    /// Whether every span created should reach the exporter (else none should).
    fn records(&self) -> bool;
}

fn bench_arm<A: Arm>(c: &mut Criterion, arm: &A, table: &mut Table) {
    let mut created = 0;
    for shape in SHAPES {
        let samples = Samples::default();
        let spans = shape.spans();
        let mut group = c.benchmark_group(shape.id());
        group.throughput(Throughput::Elements(spans * shape.threads()));
        group.bench_function(arm.name(), |b| {
            b.iter_custom(|iters| {
                let drain = || arm.drain();
                let took = match shape {
                    Shape::OneChild => rounds::timed(iters, spans, |i| arm.one_child(i), drain),
                    Shape::HundredChildren => rounds::timed(iters, spans, |i| arm.hundred_children(i), drain),
                    Shape::AsyncChild => rounds::timed(iters, spans, |i| arm.async_child(i), drain),
                    Shape::Threads => {
                        rounds::timed_parallel(iters, spans, THREADS, |i| arm.hundred_children(i), drain)
                    }
                };
                samples.record(iters, took)
            })
        });
        group.finish();
        if let Some(ns) = samples.median_ns(SAMPLE_SIZE) {
            table.set(arm.name(), shape.column(), ns / spans as f64);
        }
        created += samples.iterations() * spans * shape.threads();
    }
    arm.drain();
    let expected = if arm.records() { created } else { 0 };
    let exported = arm.exported();
    let verdict = if exported == expected { "ok" } else { "MISMATCH" };
    println!(
        "{}: {created} spans created, {exported} exported, {expected} expected: {verdict}",
        arm.name()
    );
}

// ---- plain functions: the floor ----

struct Plain;

impl Arm for Plain {
    fn name(&self) -> &'static str {
        "plain function"
    }

    #[inline]
    fn one_child(&self, i: u64) {
        black_box(plain_child(i));
    }

    #[inline]
    fn hundred_children(&self, i: u64) {
        for j in 0..100 {
            black_box(plain_child(i + j));
        }
    }

    #[inline]
    fn async_child(&self, i: u64) {
        black_box(block_on(plain_child_async(i)));
    }

    fn drain(&self) {}

    fn exported(&self) -> u64 {
        0
    }

    fn records(&self) -> bool {
        false
    }
}

// ---- maximus-trace: `#[trace_span]` and `span!` through the global pipeline ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disabled,
    NotSampled,
    Sampled,
}

struct Maximus {
    mode: Mode,
    exporter: CountingExporter,
    _guard: TracingGuard,
}

impl Maximus {
    fn start(mode: Mode) -> Self {
        let exporter = CountingExporter::new();
        let builder = TracingManager::builder()
            .service_name("maximus-bench")
            .environment(|_| None)
            .span_exporter(exporter.clone());
        let builder = match mode {
            Mode::Disabled => builder.enabled(false),
            Mode::NotSampled => builder.sample_ratio(0.0),
            Mode::Sampled => builder.sample_ratio(1.0),
        };
        let guard = builder.init().expect("start the maximus-trace pipeline");
        Maximus {
            mode,
            exporter,
            _guard: guard,
        }
    }
}

impl Arm for Maximus {
    fn name(&self) -> &'static str {
        match self.mode {
            Mode::Disabled => "maximus disabled",
            Mode::NotSampled => "maximus not sampled",
            Mode::Sampled => "maximus sampled",
        }
    }

    #[inline]
    fn one_child(&self, i: u64) {
        let _root = span!("root");
        black_box(mx_child(i));
    }

    #[inline]
    fn hundred_children(&self, i: u64) {
        let _root = span!("root");
        for j in 0..100 {
            black_box(mx_child(i + j));
        }
    }

    #[inline]
    fn async_child(&self, i: u64) {
        let _root = span!("root");
        black_box(block_on(mx_child_async(i)));
    }

    fn drain(&self) {
        maximus_trace::get_tracing()
            .force_flush()
            .expect("flush the maximus-trace pipeline");
    }

    fn exported(&self) -> u64 {
        self.exporter.spans()
    }

    fn records(&self) -> bool {
        self.mode == Mode::Sampled
    }
}

// ---- fastrace: `#[fastrace::trace]` under `Span::root`, a counting reporter ----

struct CountingReporter(Arc<AtomicU64>);

impl fastrace::collector::Reporter for CountingReporter {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        self.0.fetch_add(spans.len() as u64, Ordering::Relaxed);
    }
}

struct Fastrace {
    reported: Arc<AtomicU64>,
}

impl Fastrace {
    /// Installs the process-wide reporter: call once.
    fn start() -> Self {
        let reported = Arc::new(AtomicU64::new(0));
        fastrace::set_reporter(
            CountingReporter(Arc::clone(&reported)),
            fastrace::collector::Config::default(),
        );
        Fastrace { reported }
    }
}

fn fastrace_root() -> fastrace::Span {
    fastrace::Span::root("root", fastrace::collector::SpanContext::random())
}

impl Arm for Fastrace {
    fn name(&self) -> &'static str {
        "fastrace"
    }

    #[inline]
    fn one_child(&self, i: u64) {
        let root = fastrace_root();
        let _parent = root.set_local_parent();
        black_box(fr_child(i));
    }

    #[inline]
    fn hundred_children(&self, i: u64) {
        let root = fastrace_root();
        let _parent = root.set_local_parent();
        for j in 0..100 {
            black_box(fr_child(i + j));
        }
    }

    #[inline]
    fn async_child(&self, i: u64) {
        let root = fastrace_root();
        let _parent = root.set_local_parent();
        black_box(block_on(fr_child_async(i)));
    }

    fn drain(&self) {
        fastrace::flush();
    }

    fn exported(&self) -> u64 {
        self.reported.load(Ordering::Relaxed)
    }

    fn records(&self) -> bool {
        true
    }
}

// ---- OpenTelemetry pipelines shared by the last two arms ----

fn otel_pipeline() -> (SdkTracerProvider, CountingExporter) {
    let exporter = CountingExporter::new();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter.clone()).build())
        .build();
    (provider, exporter)
}

// ---- the OpenTelemetry SDK used directly: start, make current, end ----

/// The span ends when the context holding it drops with the guard.
#[inline(never)]
fn otel_child(tracer: &SdkTracer, i: u64) -> u64 {
    let _current = Context::current_with_span(tracer.start("child")).attach();
    black_box(i)
}

struct OtelSdk {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    exporter: CountingExporter,
}

impl OtelSdk {
    fn start() -> Self {
        let (provider, exporter) = otel_pipeline();
        let tracer = provider.tracer("maximus-bench");
        OtelSdk {
            provider,
            tracer,
            exporter,
        }
    }

    fn root(&self) -> opentelemetry::ContextGuard {
        Context::current_with_span(self.tracer.start("root")).attach()
    }
}

impl Drop for OtelSdk {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

impl Arm for OtelSdk {
    fn name(&self) -> &'static str {
        "opentelemetry sdk direct"
    }

    #[inline]
    fn one_child(&self, i: u64) {
        let _root = self.root();
        black_box(otel_child(&self.tracer, i));
    }

    #[inline]
    fn hundred_children(&self, i: u64) {
        let _root = self.root();
        for j in 0..100 {
            black_box(otel_child(&self.tracer, i + j));
        }
    }

    #[inline]
    fn async_child(&self, i: u64) {
        let _root = self.root();
        let cx = Context::current_with_span(self.tracer.start("child"));
        black_box(block_on(async move { black_box(i) }.with_context(cx)));
    }

    fn drain(&self) {
        self.provider.force_flush().expect("flush the SDK pipeline");
    }

    fn exported(&self) -> u64 {
        self.exporter.spans()
    }

    fn records(&self) -> bool {
        true
    }
}

// ---- the `tracing` arms: the same `#[instrument]` code, a different subscriber each ----

/// What differs between the `tracing` arms: what stands behind the subscriber. The code they
/// time is the same (`workload::tracing_*`), so [`Arm`] is written once, for [`OverTracing`].
trait TracingBackend: Sync {
    fn name(&self) -> &'static str;
    fn drain(&self);
    fn exported(&self) -> u64;
    fn records(&self) -> bool;
}

/// A `tracing` arm: `B`'s subscriber is the one [`switch`] forwards to while it runs.
struct OverTracing<B>(B);

impl<B: TracingBackend> Arm for OverTracing<B> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    #[inline]
    fn one_child(&self, i: u64) {
        tracing_one_child(i);
    }

    #[inline]
    fn hundred_children(&self, i: u64) {
        tracing_hundred_children(i);
    }

    #[inline]
    fn async_child(&self, i: u64) {
        tracing_async_child(i);
    }

    fn drain(&self) {
        self.0.drain();
    }

    fn exported(&self) -> u64 {
        self.0.exported()
    }

    fn records(&self) -> bool {
        self.0.records()
    }
}

/// Our `SpanLayer` into a sampled maximus-trace pipeline.
struct TracingMaximus {
    sampled: Maximus,
}

impl TracingMaximus {
    /// A sampled maximus-trace pipeline and `SpanLayer`'s subscriber, for [`switch::install`].
    fn start() -> (OverTracing<Self>, tracing::Dispatch) {
        use tracing_subscriber::layer::SubscriberExt as _;
        let sampled = Maximus::start(Mode::Sampled);
        let layer = maximus_trace::tracing_layer::SpanLayer::new();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        (OverTracing(TracingMaximus { sampled }), dispatch)
    }
}

impl TracingBackend for TracingMaximus {
    fn name(&self) -> &'static str {
        "tracing + maximus SpanLayer"
    }

    fn drain(&self) {
        Arm::drain(&self.sampled);
    }

    fn exported(&self) -> u64 {
        Arm::exported(&self.sampled)
    }

    fn records(&self) -> bool {
        true
    }
}

/// The registry with no layer: what both other `tracing` arms pay before their layer runs
/// (ids, the span store, the entered stack), so what each layer adds is its row minus this.
struct TracingRegistry;

impl TracingBackend for TracingRegistry {
    fn name(&self) -> &'static str {
        "tracing registry alone (floor)"
    }

    fn drain(&self) {}

    fn exported(&self) -> u64 {
        0
    }

    fn records(&self) -> bool {
        false
    }
}

/// tracing-opentelemetry into the SDK's batch processor.
struct TracingOtel {
    provider: SdkTracerProvider,
    exporter: CountingExporter,
}

impl TracingOtel {
    /// Its subscriber, for [`switch::install`].
    fn start() -> (OverTracing<Self>, tracing::Dispatch) {
        use tracing_subscriber::layer::SubscriberExt as _;
        let (provider, exporter) = otel_pipeline();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("maximus-bench"));
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        (OverTracing(TracingOtel { provider, exporter }), dispatch)
    }
}

impl Drop for TracingOtel {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

impl TracingBackend for TracingOtel {
    fn name(&self) -> &'static str {
        "tracing + tracing-opentelemetry"
    }

    fn drain(&self) {
        self.provider.force_flush().expect("flush the SDK pipeline");
    }

    fn exported(&self) -> u64 {
        self.exporter.spans()
    }

    fn records(&self) -> bool {
        true
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut table = Table::default();

    bench_arm(&mut c, &Plain, &mut table);
    for mode in [Mode::Disabled, Mode::NotSampled, Mode::Sampled] {
        let arm = Maximus::start(mode);
        bench_arm(&mut c, &arm, &mut table);
        if mode != Mode::Disabled {
            println!("  maximus stats: {:?}", maximus_trace::get_tracing().stats());
        }
    }
    bench_arm(&mut c, &Fastrace::start(), &mut table);
    bench_arm(&mut c, &OtelSdk::start(), &mut table);
    // Last: the `tracing` arms share the process-wide subscriber, switched between them.
    let (otel, otel_dispatch) = TracingOtel::start();
    let registry = tracing::Dispatch::new(tracing_subscriber::registry());
    {
        let (ours, ours_dispatch) = TracingMaximus::start();
        switch::install(vec![ours_dispatch, otel_dispatch, registry]);
        bench_arm(&mut c, &ours, &mut table);
    }
    switch::use_index(1);
    bench_arm(&mut c, &otel, &mut table);
    switch::use_index(2);
    bench_arm(&mut c, &OverTracing(TracingRegistry), &mut table);

    c.final_summary();
    if std::env::args().any(|a| a == "--test") {
        // One iteration per bench: nothing worth a table.
        return;
    }
    println!("\nMedian ns per span (criterion's median of sample means / spans per iteration):\n");
    println!("{}", table.markdown("arm"));
    print_ratios(&table);
}

/// The targets, as ratios from this run.
fn print_ratios(table: &Table) {
    for shape in SHAPES {
        let col = shape.column();
        let get = |arm| table.get(arm, col);
        let (Some(sampled), Some(fastrace), Some(tracing)) = (
            get("maximus sampled"),
            get("fastrace"),
            get("tracing + tracing-opentelemetry"),
        ) else {
            continue;
        };
        let plain = get("plain function").unwrap_or(f64::NAN);
        let disabled = get("maximus disabled").unwrap_or(f64::NAN);
        let not_sampled = get("maximus not sampled").unwrap_or(f64::NAN);
        let otel = get("opentelemetry sdk direct").unwrap_or(f64::NAN);
        let layer = get("tracing + maximus SpanLayer").unwrap_or(f64::NAN);
        let registry = get("tracing registry alone (floor)").unwrap_or(f64::NAN);
        println!(
            "{col}: sampled/fastrace {:.2}x (target <= 1.0x); tracing+otel/sampled {:.2}x (target >= 20x); \
             sdk/sampled {:.2}x; tracing+otel/SpanLayer {:.2}x (target >= 5x; {:.2}x at most with a free layer), \
             above the registry {:.2}x; disabled - plain {:+.2} ns (target <= 1 ns); not sampled {:.1} ns (target <= 10 ns)",
            sampled / fastrace,
            tracing / sampled,
            otel / sampled,
            tracing / layer,
            tracing / registry,
            (tracing - registry) / (layer - registry),
            disabled - plain,
            not_sampled,
        );
    }
}
