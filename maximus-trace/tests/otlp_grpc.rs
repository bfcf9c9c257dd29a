//! The OTLP/gRPC exporter (feature `grpc`) into a real tonic `TraceService` on loopback.
//! Run with `cargo test -p maximus-trace --features grpc --test otlp_grpc`.
#![cfg(feature = "grpc")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maximus_trace::{Exporter, TracingManager, span};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// Records the name of every span it receives (or, counting, only how many).
#[derive(Clone, Default)]
struct Recorder(
    Arc<Mutex<Vec<String>>>,
    Option<Arc<std::sync::atomic::AtomicUsize>>,
);

#[tonic::async_trait]
impl TraceService for Recorder {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        match &self.1 {
            Some(count) => {
                count.fetch_add(spans.count(), std::sync::atomic::Ordering::SeqCst);
            }
            None => self.0.lock().unwrap().extend(spans.map(|s| s.name)),
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A tonic `TraceService` on loopback, on a runtime of the test's own.
fn collector(recorder: &Recorder) -> (tokio::runtime::Runtime, std::net::SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(recorder.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        addr
    });
    (runtime, addr)
}

/// 100,000 spans with three attributes from one thread as fast as it goes, then a clean
/// exit: all arrive. Initialised outside any runtime: the exporter runs its own.
#[test]
fn a_burst_of_100000_spans_before_exit_all_arrive_over_grpc() {
    let _lock = support::exclusive();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let recorder = Recorder(Arc::default(), Some(Arc::clone(&count)));
    let (runtime, addr) = collector(&recorder);
    let guard = TracingManager::builder()
        .service_name("grpc-burst")
        .environment(|_| None)
        .exporter(Exporter::OtlpGrpc)
        .otlp_endpoint(format!("http://{addr}"))
        .init()
        .unwrap();
    for t in 0..1_000 {
        let _root = span!("burst.root", trace = t, kind = "root", batch = "burst");
        for c in 0..99 {
            let _child = span!("burst.child", index = c, kind = "child", batch = "burst");
        }
    }
    guard.shutdown();
    let stats = guard.stats();
    drop(guard);
    assert_eq!(stats.spans_exported, 100_000, "{stats:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while count.load(std::sync::atomic::Ordering::SeqCst) < 100_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 100_000);
    runtime.shutdown_timeout(Duration::from_secs(1));
}

#[test]
fn spans_arrive_over_grpc_with_their_parentage() {
    let _lock = support::exclusive();
    let recorder = Recorder::default();
    let (runtime, addr) = collector(&recorder);
    // Initialised inside the application's runtime, as a tokio service does.
    let guard = {
        let _entered = runtime.enter();
        TracingManager::builder()
            .service_name("grpc-test")
            .environment(|_| None)
            .exporter(Exporter::OtlpGrpc)
            .otlp_endpoint(format!("http://{addr}"))
            .init()
            .unwrap()
    };
    {
        let _root = span!("grpc_root");
        let _child = span!("grpc_child", n = 1);
    }
    guard.force_flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while recorder.0.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(guard);
    let mut names = recorder.0.lock().unwrap().clone();
    names.sort();
    assert_eq!(names, ["grpc_child", "grpc_root"]);
    runtime.shutdown_timeout(Duration::from_secs(1));
}
