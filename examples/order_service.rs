//! A Rust service traced end to end, printing one trace tree across every kind of span:
//!
//! - an axum server (`orders`) behind `ServerLayer`: a server span per request;
//! - its handler calls a `#[trace_span]` function, which calls a `#[tracing::instrument]`
//!   function (recorded through `SpanLayer`) and a downstream service (`inventory`, axum behind
//!   `ServerLayer` too) over reqwest with `TracingMiddleware`: a client span whose context the
//!   downstream continues;
//! - the caller is reqwest with `TracingMiddleware` as well, inside a span of ours.
//!
//! ```text
//! cargo run --example order_service --features middleware,tracing
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use maximus_trace::http::{ServerLayer, TracingMiddleware};
use maximus_trace::{Exporter, FutureExt as _, TracingManager, get_tracing, trace_span};
use reqwest_middleware::ClientWithMiddleware;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What the orders service needs to answer.
struct Orders {
    inventory: SocketAddr,
    client: ClientWithMiddleware,
}

fn traced_client() -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::new())
        .build()
}

/// `GET /orders/{id}`: inside the server span `GET /orders/{id}`.
async fn get_order(State(orders): State<Arc<Orders>>, Path(id): Path<u64>) -> Result<String, StatusCode> {
    quote(&orders, id).await.map_err(|_| StatusCode::BAD_GATEWAY)
}

/// Our attribute: a span under the server span, across its awaits.
#[trace_span(order.id = id)]
async fn quote(orders: &Orders, id: u64) -> Result<String, reqwest_middleware::Error> {
    let price = price(id).await;
    let url = format!("http://{}/stock/book-{id}", orders.inventory);
    let stock = orders.client.get(url).send().await?.text().await?;
    Ok(format!("order {id}: {price} cents, {stock} in stock"))
}

/// A `tracing` span, as a dependency would write it: through `SpanLayer` it is ours, under
/// `quote`.
#[tracing::instrument]
async fn price(id: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(2)).await;
    tracing::info!(currency = "EUR", "priced");
    1_000 + id
}

/// The downstream service's handler: inside `GET /stock/{sku}`, continued from the
/// `traceparent` that `quote`'s client span sent.
async fn stock(Path(sku): Path<String>) -> String {
    warehouse_lookup(&sku).await.to_string()
}

/// A span under the downstream server span.
#[trace_span(sku = sku)]
async fn warehouse_lookup(sku: &str) -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    3
}

async fn serve(router: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(addr)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = TracingManager::builder()
        .default_service_name("order-service")
        .exporter(Exporter::Console)
        .init()?;
    tracing_subscriber::registry()
        // Dependencies (hyper, reqwest) log at DEBUG and TRACE: their events would fill the
        // spans. A filter per layer, as with any `tracing` layer.
        .with(maximus_trace::tracing_layer::SpanLayer::new().with_filter(LevelFilter::INFO))
        .init();

    let inventory = serve(
        Router::new()
            .route("/stock/{sku}", get(stock))
            .layer(ServerLayer::new()),
    )
    .await?;
    let orders = Arc::new(Orders {
        inventory,
        client: traced_client(),
    });
    let addr = serve(
        Router::new()
            .route("/orders/{id}", get(get_order))
            .with_state(orders)
            .layer(ServerLayer::new()),
    )
    .await?;

    let answer = async {
        traced_client()
            .get(format!("http://{addr}/orders/7"))
            .send()
            .await?
            .text()
            .await
            .map_err(reqwest_middleware::Error::from)
    }
    .in_span(get_tracing().span_builder("checkout").start())
    .await?;
    println!("{answer}\n");

    // Servers end their spans once the response is sent: give the last one a moment.
    tokio::time::sleep(Duration::from_millis(50)).await;
    guard.force_flush()?;
    Ok(())
}
