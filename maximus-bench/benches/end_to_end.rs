//! End to end, through public APIs only:
//!
//! 1. client overhead: `MaximusClient::health()` against `maximus-mock` on loopback, traced
//!    (sampled, counting exporter; and not sampled) versus not traced (no `init()`), in
//!    alternating blocks; the median latency ratio. The mock runs in a child process (this binary again) that
//!    never initializes tracing, so only the client's tracing is measured.
//! 2. export throughput: spans with three attributes through the real OTLP/HTTP exporter to
//!    a loopback sink; spans per second per core of the export threads, and whether
//!    anything was dropped (`stats()`: ended versus exported).
//!
//! `cargo bench -p maximus-bench --bench end_to_end [-- client_overhead|export_throughput]`
//! (`-- --test` for a short smoke run).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use maximus_bench::cpu;
use maximus_bench::exporter::CountingExporter;
use maximus_bench::sink::{self, OtlpSink};
use maximus_client::MaximusClient;
use maximus_trace::{TracingGuard, TracingManager, span};

/// Set in the child process that serves the mock.
const ROLE: &str = "MAXIMUS_BENCH_ROLE";
const PRODUCER: &str = "span-producer";

/// Calls at the start of each client block that are made but not counted.
const WARM_CALLS: usize = 5;

struct Sizes {
    /// Calls per counted block, and rounds (one block per arm each).
    block: usize,
    blocks: usize,
    /// Spans per export run.
    export_spans: u64,
}

const FULL: Sizes = Sizes {
    block: 50,
    blocks: 120,
    export_spans: 300_000,
};

const SMOKE: Sizes = Sizes {
    block: 10,
    blocks: 2,
    export_spans: 2_000,
};

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("mock") {
        serve_mock();
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let sizes = if args.iter().any(|a| a == "--test") {
        SMOKE
    } else {
        FULL
    };
    // Positional arguments pick parts by name, as criterion's filters do.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let wanted = |part: &str| filters.is_empty() || filters.iter().any(|f| part.contains(f.as_str()));
    if wanted("client_overhead") {
        client_overhead(&sizes);
    }
    if wanted("export_throughput") {
        export_throughput(&sizes);
    }
}

// ---- 1. client overhead ----

/// The child: a mock on a free loopback port, its URL on stdout, until stdin closes.
fn serve_mock() {
    let mock = maximus_mock::MockMaximus::start_blocking().expect("start maximus-mock");
    println!("{}", mock.url());
    std::io::stdout().flush().expect("write the mock's URL");
    // Returns when the parent closes our stdin (or exits).
    let _ = std::io::stdin().lines().count();
    drop(mock);
}

/// The mock in a child process; stopped when dropped.
struct MockProcess {
    child: Child,
    url: String,
}

impl MockProcess {
    fn spawn() -> Self {
        let exe = std::env::current_exe().expect("find this bench binary");
        let mut child = Command::new(exe)
            .env(ROLE, "mock")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the mock process");
        let stdout = child.stdout.take().expect("the mock's stdout");
        let mut url = String::new();
        BufReader::new(stdout)
            .read_line(&mut url)
            .expect("read the mock's URL");
        MockProcess {
            child,
            url: url.trim().to_owned(),
        }
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}

fn client_overhead(sizes: &Sizes) {
    let mock = MockProcess::spawn();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime");
    let client = MaximusClient::builder()
        .base_url(&mock.url)
        .environment(|_| None)
        .build()
        .expect("build the client");
    // CPU of this (the client's) thread inside the counted calls only, per arm: what tracing
    // adds to a call, without pipeline starts and stops.
    let call_cpu: std::cell::RefCell<[(Duration, usize); 3]> = Default::default();
    let calls = |n: usize| -> Vec<Duration> {
        runtime.block_on(async {
            let mut took = Vec::with_capacity(n);
            for _ in 0..n {
                let start = Instant::now();
                client.health().await.expect("GET /health");
                took.push(start.elapsed());
            }
            took
        })
    };
    let timed_calls = |arm: usize, n: usize| -> Vec<Duration> {
        let before = cpu::this_thread();
        let took = calls(n);
        let mut cpu = call_cpu.borrow_mut();
        cpu[arm].0 += cpu::this_thread().saturating_sub(before);
        cpu[arm].1 += n;
        took
    };
    let exporter = CountingExporter::new();
    let traced = |arm: usize, ratio: f64, n: usize| -> Vec<Duration> {
        let guard = TracingManager::builder()
            .service_name("maximus-bench-client")
            .environment(|_| None)
            .sample_ratio(ratio)
            .span_exporter(exporter.clone())
            .init()
            .expect("start tracing");
        let took = timed_calls(arm, n);
        // Flushes and shuts down, off the clock.
        drop(guard);
        took
    };
    let run = |arm: usize, n: usize| match arm {
        0 => timed_calls(0, n),
        1 => traced(1, 0.0, n),
        _ => traced(2, 1.0, n),
    };

    // Warm up connections, allocator and every code path.
    for arm in 0..3 {
        run(arm, sizes.block);
    }
    let warm_exported = exporter.spans();

    *call_cpu.borrow_mut() = Default::default();
    let mut samples: [Vec<Duration>; 3] = Default::default();
    // Per round, each traced arm's block median over the untraced block's of the same round.
    let mut paired: [Vec<f64>; 3] = Default::default();
    // CPU per arm: this (the client's) thread, the client's other threads, the mock.
    let mut cpu = [[Duration::ZERO; 3]; 3];
    for round in 0..sizes.blocks {
        let mut medians = [Duration::ZERO; 3];
        // ABC then CBA, so a drift of the machine weighs on every arm alike.
        for i in 0..3 {
            let arm = if round % 2 == 0 { i } else { 2 - i };
            let before = cpu_split(&mock);
            // The first calls after a pipeline starts or stops pay for cold caches.
            let mut block = run(arm, sizes.block + WARM_CALLS).split_off(WARM_CALLS);
            let after = cpu_split(&mock);
            for (total, (a, b)) in cpu[arm].iter_mut().zip(after.iter().zip(before)) {
                *total += a.saturating_sub(b);
            }
            medians[arm] = percentile(&mut block, 0.5);
            samples[arm].extend(block);
        }
        for arm in 0..3 {
            paired[arm].push(medians[arm].as_secs_f64() / medians[0].as_secs_f64());
        }
    }
    let spans_per_call =
        (exporter.spans() - warm_exported) as f64 / (sizes.blocks * (sizes.block + WARM_CALLS)) as f64;
    let medians: Vec<Duration> = samples.iter_mut().map(|s| percentile(s, 0.5)).collect();
    let p90s: Vec<Duration> = samples.iter_mut().map(|s| percentile(s, 0.9)).collect();
    println!("\n== MaximusClient::health() against maximus-mock (another process) on loopback");
    println!(
        "{} calls per arm: {} rounds of one block of {} per arm, in ABC/CBA order (the first {WARM_CALLS} \
         calls of each block not counted); the sampled arm exported {spans_per_call:.2} spans per call",
        samples[0].len(),
        sizes.blocks,
        sizes.block
    );
    println!(
        "| arm | median | p90 | median / not traced (pooled) | median of per-round ratios |\n|---|---:|---:|---:|---:|"
    );
    let names = [
        "not traced (no init)",
        "traced, not sampled (ratio 0)",
        "traced, sampled (counting exporter)",
    ];
    for (arm, name) in names.iter().enumerate() {
        let pooled = medians[arm].as_secs_f64() / medians[0].as_secs_f64();
        let per_round = median_f64(&mut paired[arm]);
        println!(
            "| {name} | {} | {} | {pooled:.4} ({:+.2}%, {:+.1} us) | {per_round:.4} ({:+.2}%) |",
            micros(medians[arm]),
            micros(p90s[arm]),
            (pooled - 1.0) * 100.0,
            (medians[arm].as_secs_f64() - medians[0].as_secs_f64()) * 1e6,
            (per_round - 1.0) * 100.0,
        );
    }
    let calls = (sizes.blocks * (sizes.block + WARM_CALLS)) as f64;
    println!("\nCPU per call (CPU-time clocks around every block; pipeline start and stop included):");
    println!("| arm | client thread | client's other threads | mock process |\n|---|---:|---:|---:|");
    for (arm, name) in names.iter().enumerate() {
        let [client, others, server] = cpu[arm].map(|d| micros(d.div_f64(calls)));
        println!("| {name} | {client} | {others} | {server} |");
    }
    let call_cpu = call_cpu.borrow();
    let per_call = |arm: usize| call_cpu[arm].0.as_secs_f64() * 1e6 / call_cpu[arm].1.max(1) as f64;
    println!("\nClient thread CPU per call, inside the calls only (no pipeline start or stop):");
    println!(
        "| arm | CPU per call | added by tracing | as a share of the untraced median latency |\n|---|---:|---:|---:|"
    );
    for (arm, name) in names.iter().enumerate() {
        let added = per_call(arm) - per_call(0);
        println!(
            "| {name} | {:.1} us | {added:+.2} us | {:+.2}% |",
            per_call(arm),
            added * 100.0 / (medians[0].as_secs_f64() * 1e6)
        );
    }
    println!("target: tracing adds < 1% to the median latency");
}

/// CPU used so far by this thread, by this process's other threads, and by the mock.
fn cpu_split(mock: &MockProcess) -> [Duration; 3] {
    let client = cpu::this_thread();
    let process = cpu::process(std::process::id());
    [
        client,
        process.saturating_sub(client),
        cpu::process(mock.child.id()),
    ]
}

fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(index).copied().unwrap_or_default()
}

fn micros(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

// ---- 2. export throughput ----

fn export_throughput(sizes: &Sizes) {
    println!("\n== Export: spans with 3 attributes through OTLP/HTTP (protobuf) to a loopback sink");
    println!(
        "| run | spans | offered spans/s | wall spans/s | export CPU | spans/s per export core | ended | exported | not exported | of which counted as queue-full drops | requests | bytes/span |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let n = sizes.export_spans;
    let runs = [
        (
            "as fast as one thread can, queue holds every span",
            Some(n as usize),
            None,
        ),
        ("as fast as one thread can, default queue (16384)", None, None),
        (
            "paced at 1,000,000 spans/s, default queue (16384, 16 ms)",
            None,
            Some(1_000_000),
        ),
        (
            "paced at 500,000 spans/s, default queue (16384)",
            None,
            Some(500_000),
        ),
        (
            "paced at 1,000,000 spans/s, queue 2048 (the spec's default, 2 ms)",
            Some(2_048),
            Some(1_000_000),
        ),
        (
            "paced at 500,000 spans/s, queue 2048 (4 ms)",
            Some(2_048),
            Some(500_000),
        ),
    ];
    let results: Vec<(String, String)> = runs
        .iter()
        .map(|(label, queue, rate)| export_run(label, n, *queue, *rate))
        .collect();
    for (row, _) in &results {
        println!("{row}");
    }
    for ((label, _, _), (_, threads)) in runs.iter().zip(&results) {
        println!("CPU by thread ({label}): {threads}");
    }
}

/// Produces `spans` spans on one thread, as fast as it can or paced at `rate` spans per
/// second, and flushes: a table row, and the CPU each thread used.
fn export_run(label: &str, spans: u64, queue: Option<usize>, rate: Option<u64>) -> (String, String) {
    let sink = OtlpSink::start().expect("start the OTLP sink");
    let mut builder = TracingManager::builder()
        .service_name("maximus-bench-export")
        .environment(|_| None)
        .sample_ratio(1.0)
        .otlp_endpoint(sink.endpoint());
    if let Some(queue) = queue {
        builder = builder.max_queue_size(queue);
    }
    let guard: TracingGuard = builder.init().expect("start the OTLP pipeline");
    let before = cpu::threads();
    let (process_before, main_before) = (cpu::process(std::process::id()), cpu::this_thread());
    let start = Instant::now();
    let (produced, producer_cpu) = thread::Builder::new()
        .name(PRODUCER.into())
        .spawn(move || {
            let start = Instant::now();
            for i in 0..spans {
                if let Some(rate) = rate {
                    let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
                    while Instant::now() < due {
                        std::hint::spin_loop();
                    }
                }
                let _span = span!(
                    "export",
                    http.method = "GET",
                    user.id = i as i64,
                    cache.hit = i % 2 == 0
                );
            }
            (start.elapsed(), cpu::this_thread())
        })
        .expect("start the producer")
        .join()
        .expect("the producer finished");
    let tracing = maximus_trace::get_tracing();
    tracing.force_flush().expect("flush the OTLP pipeline");
    let wall = start.elapsed();
    let process_cpu = cpu::process(std::process::id()).saturating_sub(process_before);
    let main_cpu = cpu::this_thread().saturating_sub(main_before);
    let used = cpu::used_since(&before, &cpu::threads());
    let stats = tracing.stats();
    drop(guard);

    // The export pipeline's threads: the whole process, less the producer, this thread and
    // the sink (whose small share is known only to the tick).
    let sink_cpu = used.get(sink::THREAD_NAME).copied().unwrap_or_default();
    let export_cpu = process_cpu
        .saturating_sub(producer_cpu)
        .saturating_sub(main_cpu)
        .saturating_sub(sink_cpu);
    let exported = stats.spans_exported;
    let dropped = stats
        .spans_ended
        .saturating_sub(stats.spans_exported + stats.spans_failed);
    let bytes_per_span = sink.body_bytes() as f64 / exported.max(1) as f64;
    let per_core = if export_cpu.is_zero() {
        "-".to_owned()
    } else {
        format!("{:.0}", exported as f64 / export_cpu.as_secs_f64())
    };
    let row = format!(
        "| {label} | {spans} | {:.0} | {:.0} | {:.3} s | {} | {} | {exported} | {dropped} | {} | {} | {bytes_per_span:.1} |",
        spans as f64 / produced.as_secs_f64(),
        exported as f64 / wall.as_secs_f64(),
        export_cpu.as_secs_f64(),
        per_core,
        stats.spans_ended,
        stats.spans_dropped_queue_full,
        sink.requests(),
    );
    let mut threads = vec![format!("{PRODUCER} {:.3} s", producer_cpu.as_secs_f64())];
    threads.extend(
        used.iter()
            .filter(|(name, cpu)| !cpu.is_zero() && name.as_str() != PRODUCER)
            .map(|(name, cpu)| format!("{name} {:.2} s (ticks)", cpu.as_secs_f64())),
    );
    (row, threads.join(", "))
}
