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

/// Records the name of every span it receives.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

#[tonic::async_trait]
impl TraceService for Recorder {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let names = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .map(|s| s.name);
        self.0.lock().unwrap().extend(names);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[test]
fn spans_arrive_over_grpc_with_their_parentage() {
    let _lock = support::exclusive();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let recorder = Recorder::default();
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(recorder.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        addr
    });
    // The gRPC exporter needs the runtime it is built in (see TRAPS.md): build it inside.
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
