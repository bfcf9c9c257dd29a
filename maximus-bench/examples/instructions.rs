//! Instructions per span on the caller's thread, for `valgrind --tool=callgrind`: runs N
//! iterations of one arm and shape over the criterion bench's functions (`benches/workload`),
//! draining every 10 iterations off the collected region. Collect only inside the iterations
//! and divide by N x 101 (`hundred`) or N x 2 (`one`, `async`):
//!
//! ```sh
//! cargo build --release -p maximus-bench --example instructions
//! valgrind --tool=callgrind --toggle-collect='*_iteration' target/release/examples/instructions sampled 1000
//! ```
//!
//! Arms: `plain` (untraced functions: the floor), `disabled`, `not-sampled`, `sampled`,
//! `bridged` and `bridged-not-sampled` (with `otel_context(true)`), `fastrace`; over
//! `#[tracing::instrument]` code: `registry` (`tracing_subscriber`'s registry alone: the floor
//! of every `tracing` layer), `span-layer` (the registry and our `SpanLayer`, sampled) and
//! `tracing-otel` (the registry and tracing-opentelemetry, into the SDK's batch processor).
//! Shapes: `hundred` (default), `one`, `async`.

#[path = "../benches/workload/mod.rs"]
mod workload;

use std::hint::black_box;

use maximus_bench::exporter::CountingExporter;
use maximus_trace::{TracingManager, span};
use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::layer::SubscriberExt as _;
use workload::{
    fr_child, fr_child_async, mx_child, mx_child_async, plain_child, plain_child_async, tracing_async_child,
    tracing_hundred_children, tracing_one_child,
};

struct Reporter;

impl fastrace::collector::Reporter for Reporter {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        black_box(spans);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let arm = args.next().unwrap_or_else(|| "sampled".into());
    let iterations: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let shape = args.next().unwrap_or_else(|| "hundred".into());
    let children: u64 = match shape.as_str() {
        "one" | "async" => 1,
        _ => 100,
    };
    let mut timed = std::time::Duration::ZERO;
    let mut time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        f();
        timed += start.elapsed();
    };
    if arm == "plain" {
        for i in 0..iterations {
            match shape.as_str() {
                "async" => time(&mut || plain_async_iteration(i)),
                _ => time(&mut || plain_iteration(i, children)),
            }
        }
        report(&arm, timed, iterations * (children + 1));
        return;
    }
    if arm == "fastrace" {
        fastrace::set_reporter(Reporter, fastrace::collector::Config::default());
        for i in 0..iterations {
            match shape.as_str() {
                "async" => time(&mut || fastrace_async_iteration(i)),
                _ => time(&mut || fastrace_iteration(i, children)),
            }
            if i % 10 == 9 {
                fastrace::flush();
            }
        }
        report(&arm, timed, iterations * (children + 1));
        return;
    }
    if arm == "registry" || arm == "tracing-otel" {
        let registry = tracing_subscriber::registry();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_span_processor(
                opentelemetry_sdk::trace::BatchSpanProcessor::builder(CountingExporter::new()).build(),
            )
            .build();
        let dispatch = if arm == "registry" {
            tracing::Dispatch::new(registry)
        } else {
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("maximus-bench"));
            tracing::Dispatch::new(registry.with(layer))
        };
        tracing::dispatcher::set_global_default(dispatch).expect("the tracing subscriber");
        for i in 0..iterations {
            time(&mut || tracing_iteration(i, &shape));
            if i % 10 == 9 {
                provider.force_flush().expect("flush");
            }
        }
        report(&arm, timed, iterations * (children + 1));
        return;
    }
    let builder = TracingManager::builder()
        .environment(|_| None)
        .span_exporter(CountingExporter::new());
    let builder = match arm.as_str() {
        "disabled" => builder.enabled(false),
        "not-sampled" => builder.sample_ratio(0.0),
        // The OpenTelemetry context bridge on (`otel_context(true)`).
        "bridged" => builder.sample_ratio(1.0).otel_context(true),
        "bridged-not-sampled" => builder.sample_ratio(0.0).otel_context(true),
        "span-layer" => {
            let layer = maximus_trace::tracing_layer::SpanLayer::new();
            tracing::dispatcher::set_global_default(tracing::Dispatch::new(
                tracing_subscriber::registry().with(layer),
            ))
            .expect("the tracing subscriber");
            builder.sample_ratio(1.0)
        }
        _ => builder.sample_ratio(1.0),
    };
    let guard = builder.init().expect("init");
    for i in 0..iterations {
        match (arm.as_str(), shape.as_str()) {
            ("span-layer", _) => time(&mut || tracing_iteration(i, &shape)),
            (_, "async") => time(&mut || async_iteration(i)),
            _ => time(&mut || maximus_iteration(i, children)),
        }
        if i % 10 == 9 {
            guard.force_flush().expect("flush");
        }
    }
    report(&arm, timed, iterations * (children + 1));
}

/// Wall time inside the iterations only (a quick A/B figure; the criterion bench is the
/// reference).
fn report(arm: &str, timed: std::time::Duration, spans: u64) {
    if std::env::var_os("MAXIMUS_BENCH_QUIET").is_none() {
        let ns = timed.as_nanos() as f64 / spans as f64;
        eprintln!("{arm}: {ns:.1} ns per span (timed iterations only)");
    }
}

/// One timed iteration (callgrind: `--toggle-collect=*_iteration`).
#[inline(never)]
fn maximus_iteration(i: u64, children: u64) {
    let _root = span!("root");
    for j in 0..children {
        black_box(mx_child(i + j));
    }
}

#[inline(never)]
fn tracing_iteration(i: u64, shape: &str) {
    match shape {
        "async" => tracing_async_child(i),
        "one" => tracing_one_child(i),
        _ => tracing_hundred_children(i),
    }
}

#[inline(never)]
fn async_iteration(i: u64) {
    let _root = span!("root");
    black_box(maximus_bench::executor::block_on(mx_child_async(i)));
}

#[inline(never)]
fn plain_iteration(i: u64, children: u64) {
    for j in 0..children {
        black_box(plain_child(i + j));
    }
}

#[inline(never)]
fn plain_async_iteration(i: u64) {
    black_box(maximus_bench::executor::block_on(plain_child_async(i)));
}

#[inline(never)]
fn fastrace_async_iteration(i: u64) {
    let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
    let _parent = root.set_local_parent();
    black_box(maximus_bench::executor::block_on(fr_child_async(i)));
}

#[inline(never)]
fn fastrace_iteration(i: u64, children: u64) {
    let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
    let _parent = root.set_local_parent();
    for j in 0..children {
        black_box(fr_child(i + j));
    }
}
