//! What recording an error costs the caller's thread: `record_error` inside a sampled span,
//! with backtraces off and on (as `RUST_BACKTRACE=1` asks), beside the span alone and beside
//! what capturing and printing a std `Backtrace` on the caller costs (what `record_error`
//! did before the export thread took the symbolising over). Target: at most 20 us with
//! backtraces on.
//!
//! `cargo bench -p maximus-bench --bench errors`

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use maximus_bench::exporter::CountingExporter;
use maximus_bench::report::{Samples, Table, format_ns};
use maximus_bench::rounds;
use maximus_trace::{TracingManager, span};

const SAMPLE_SIZE: usize = 20;

#[derive(Debug)]
struct PaymentDeclined;

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for PaymentDeclined {}

/// A few frames of application code above the call, as in a service.
#[inline(never)]
fn handler(depth: u32, work: &dyn Fn()) {
    if depth == 0 {
        work();
    } else {
        handler(depth - 1, work);
        black_box(depth);
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let exporter = CountingExporter::new();
    let guard = TracingManager::builder()
        .service_name("maximus-bench")
        .environment(|_| None)
        .span_exporter(exporter.clone())
        .init()
        .expect("tracing starts");
    let mut table = Table::default();
    let drain = || {
        let _ = guard.force_flush();
    };
    // The row, whether to force backtraces on or off, and one call.
    type Arm<'a> = (&'a str, Option<bool>, &'a dyn Fn());
    let arms: [Arm<'_>; 4] = [
        ("span alone", None, &|| {
            let _span = span!("charge");
        }),
        ("span + record_error, backtraces off", Some(false), &|| {
            let _span = span!("charge");
            maximus_trace::record_error(&PaymentDeclined);
        }),
        ("span + record_error, RUST_BACKTRACE=1", Some(true), &|| {
            let _span = span!("charge");
            maximus_trace::record_error(&PaymentDeclined);
        }),
        (
            "std Backtrace captured and printed on the caller (before)",
            None,
            &|| {
                black_box(std::backtrace::Backtrace::force_capture().to_string());
            },
        ),
    ];
    for (name, backtraces, work) in arms {
        if let Some(on) = backtraces {
            maximus_trace::__private::force_backtraces(on);
        }
        let samples = Samples::default();
        c.bench_function(name, |b| {
            b.iter_custom(|iters| samples.record(iters, rounds::timed(iters, 1, |_| handler(8, work), drain)))
        });
        if let Some(ns) = samples.median_ns(SAMPLE_SIZE) {
            table.set(name, "ns per call", ns);
        }
    }
    c.final_summary();
    drop(guard);
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    println!("\nCost on the caller's thread (median of sample means):\n");
    println!("{}", table.markdown("call"));
    let cell = |row: &str| table.get(row, "ns per call").unwrap_or(f64::NAN);
    let alone = cell("span alone");
    let off = cell("span + record_error, backtraces off") - alone;
    let on = cell("span + record_error, RUST_BACKTRACE=1") - alone;
    println!(
        "record_error: {} ns without backtraces, {} ns with RUST_BACKTRACE=1 (target <= 20000 ns): {:.1}x; \
         printing a std Backtrace on the caller: {} ns ({:.0}x what record_error now costs)",
        format_ns(off),
        format_ns(on),
        on / off,
        format_ns(cell("std Backtrace captured and printed on the caller (before)")),
        cell("std Backtrace captured and printed on the caller (before)") / on,
    );
    println!("exported spans: {}", exporter.spans());
}
