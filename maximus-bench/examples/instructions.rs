//! Instructions per span on the caller's thread, for `valgrind --tool=callgrind`: runs
//! `root + 100 children` for N iterations of one arm, draining every 10 iterations (as the
//! criterion bench does). Collect only inside the iterations and divide by N x 101:
//!
//! ```sh
//! cargo build --release -p maximus-bench --example instructions
//! valgrind --tool=callgrind --toggle-collect='*_iteration' target/release/examples/instructions sampled 1000
//! ```
//!
//! Arms: `disabled`, `not-sampled`, `sampled`, `fastrace`.

use std::hint::black_box;

use maximus_bench::exporter::CountingExporter;
use maximus_trace::{TracingManager, span, trace_span};

#[trace_span]
#[inline(never)]
fn mx_child(i: u64) -> u64 {
    black_box(i)
}

#[fastrace::trace]
#[inline(never)]
fn fr_child(i: u64) -> u64 {
    black_box(i)
}

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
    if arm == "fastrace" {
        fastrace::set_reporter(Reporter, fastrace::collector::Config::default());
        for i in 0..iterations {
            fastrace_iteration(i);
            if i % 10 == 9 {
                fastrace::flush();
            }
        }
        return;
    }
    let builder = TracingManager::builder()
        .environment(|_| None)
        .span_exporter(CountingExporter::new());
    let builder = match arm.as_str() {
        "disabled" => builder.enabled(false),
        "not-sampled" => builder.sample_ratio(0.0),
        _ => builder.sample_ratio(1.0),
    };
    let guard = builder.init().expect("init");
    for i in 0..iterations {
        maximus_iteration(i);
        if i % 10 == 9 {
            guard.force_flush().expect("flush");
        }
    }
}

/// One timed iteration (callgrind: `--toggle-collect=*_iteration`).
#[inline(never)]
fn maximus_iteration(i: u64) {
    let _root = span!("root");
    for j in 0..100 {
        black_box(mx_child(i + j));
    }
}

#[inline(never)]
fn fastrace_iteration(i: u64) {
    let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
    let _parent = root.set_local_parent();
    for j in 0..100 {
        black_box(fr_child(i + j));
    }
}
