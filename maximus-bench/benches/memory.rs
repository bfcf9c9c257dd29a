//! Memory per buffered span: N ended spans with three attributes each wait in the pipeline
//! (the exporter is held shut), and a counting global allocator tells the heap bytes still
//! live, divided by N. Then the allocations each span costs on the caller's thread, per
//! mode. A binary of its own, since the allocator wrapper would tax the other benches.
//!
//! `cargo bench -p maximus-bench --bench memory`

use std::time::Duration;

use maximus_bench::alloc::{AllocSnapshot, CountingAlloc};
use maximus_bench::exporter::CountingExporter;
use maximus_trace::{TracingManager, span, trace_span};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

const SPANS: usize = 20_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    buffered_spans();
    allocations_per_span();
}

fn buffered_spans() {
    let (exporter, gate) = CountingExporter::gated();
    let before_init = ALLOC.snapshot();
    let guard = TracingManager::builder()
        .service_name("maximus-bench-memory")
        .environment(|_| None)
        .sample_ratio(1.0)
        .span_exporter(exporter.clone())
        .max_queue_size(SPANS)
        .batch_delay(Duration::from_secs(3600))
        .init()
        .expect("start the pipeline");
    let after_init = ALLOC.snapshot();
    for i in 0..SPANS {
        let _span = span!(
            "buffered",
            http.method = "GET",
            user.id = i as i64,
            cache.hit = i % 2 == 0
        );
    }
    let buffered = ALLOC.snapshot();
    let tracing = maximus_trace::get_tracing();
    let stats = tracing.stats();

    gate.open();
    tracing.force_flush().expect("flush the pipeline");
    let exported = exporter.spans();
    drop(guard);
    let after_shutdown = ALLOC.snapshot();

    let per_span = |from: AllocSnapshot| (buffered.live - from.live) as f64 / SPANS as f64;
    println!("\n== Memory per buffered span ({SPANS} ended spans, 3 attributes each, exporter held shut)");
    println!("| measure | value |\n|---|---:|");
    println!(
        "| live heap per buffered span, spans only (after init -> all buffered) | {:.0} B |",
        per_span(after_init)
    );
    println!(
        "| live heap per buffered span, with the pipeline (before init -> all buffered) | {:.0} B |",
        per_span(before_init)
    );
    println!(
        "| pipeline heap before any span (max_queue_size {SPANS}) | {} B |",
        after_init.live - before_init.live
    );
    println!(
        "| allocations per span | {:.2} |",
        (buffered.allocations - after_init.allocations) as f64 / SPANS as f64
    );
    println!(
        "| size_of::<opentelemetry_sdk::trace::SpanData>() | {} B |",
        std::mem::size_of::<opentelemetry_sdk::trace::SpanData>()
    );
    println!(
        "| spans ended / exported once released | {} / {exported} |",
        stats.spans_ended
    );
    println!(
        "| heap still live after shutdown, versus before init | {:+} B |",
        after_shutdown.live - before_init.live
    );
}

#[trace_span]
#[inline(never)]
fn child(i: u64) -> u64 {
    std::hint::black_box(i)
}

/// Allocations and bytes per `#[trace_span]` child under an open root, on the caller's
/// thread, for each mode (the export thread frees what the caller allocated).
fn allocations_per_span() {
    println!("\n== Allocations per span on the caller's thread (a #[trace_span] child under an open root)");
    println!("| mode | allocations per span | bytes allocated per span |\n|---|---:|---:|");
    for (mode, enabled, ratio) in [
        ("disabled", false, 1.0),
        ("not sampled", true, 0.0),
        ("sampled", true, 1.0),
    ] {
        let exporter = CountingExporter::new();
        let guard = TracingManager::builder()
            .service_name("maximus-bench-memory")
            .environment(|_| None)
            .enabled(enabled)
            .sample_ratio(ratio)
            .span_exporter(exporter)
            .max_queue_size(SPANS + 1)
            .init()
            .expect("start the pipeline");
        let root = span!("root");
        // One child first, so lazily built thread-locals are not counted.
        child(0);
        let before = ALLOC.snapshot();
        for i in 0..SPANS as u64 {
            child(i);
        }
        let after = ALLOC.snapshot();
        drop(root);
        drop(guard);
        println!(
            "| {mode} | {:.2} | {:.0} |",
            (after.allocations - before.allocations) as f64 / SPANS as f64,
            (after.allocated - before.allocated) as f64 / SPANS as f64
        );
    }
}
