//! Instructions per `MaximusClient::health()` call on the client's thread, traced or not,
//! for `valgrind --tool=callgrind --toggle-collect='*client_calls*'`: the deterministic
//! counterpart of `end_to_end`'s client overhead, whose latency is noisy on a shared VM.
//!
//! `client_instructions off|not-sampled|sampled [calls]`

use maximus_bench::exporter::CountingExporter;
use maximus_client::MaximusClient;
use maximus_trace::TracingManager;

fn main() {
    let mut args = std::env::args().skip(1);
    let arm = args.next().unwrap_or_else(|| "off".into());
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let mock = maximus_mock::MockMaximus::start_blocking().expect("start maximus-mock");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = MaximusClient::builder()
        .base_url(mock.url())
        .environment(|_| None)
        .build()
        .expect("client");
    let _guard = match arm.as_str() {
        "off" => None,
        arm => Some(
            TracingManager::builder()
                .environment(|_| None)
                .sample_ratio(if arm == "sampled" { 1.0 } else { 0.0 })
                .span_exporter(CountingExporter::new())
                .init()
                .expect("init"),
        ),
    };
    warm_up(&runtime, &client);
    client_calls(&runtime, &client, calls);
}

/// Connections, thread-locals, the allocator: outside `client_calls`, so not counted.
#[inline(never)]
fn warm_up(runtime: &tokio::runtime::Runtime, client: &MaximusClient) {
    runtime.block_on(async {
        for _ in 0..20 {
            client.health().await.expect("GET /health");
        }
    });
}

#[inline(never)]
fn client_calls(runtime: &tokio::runtime::Runtime, client: &MaximusClient, calls: usize) {
    runtime.block_on(async {
        for _ in 0..calls {
            client.health().await.expect("GET /health");
        }
    });
}
