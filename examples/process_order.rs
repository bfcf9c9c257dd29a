//! `#[trace_span]` on sync and async business functions.
//!
//! ```text
//! MAXIMUS_TRACE_EXPORTER=console cargo run --example process_order
//! ```

use std::time::Duration;

use maximus_trace::{Exporter, TracingManager, trace_span};

#[derive(Debug)]
struct Order {
    id: u64,
    items: Vec<&'static str>,
    card: &'static str,
}

#[derive(Debug)]
struct PaymentDeclined(u64);

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "payment for order {} was declined", self.0)
    }
}

impl std::error::Error for PaymentDeclined {}

/// Sync: the span covers the call. `items` is evaluated at call time; `card` is not recorded.
#[trace_span("validate_order", items = order.items.len(), order.id = order.id)]
fn validate(order: &Order) -> Result<(), String> {
    if order.items.is_empty() {
        return Err(format!("order {} has no items", order.id));
    }
    Ok(())
}

/// Async, a client span: `Err` marks the span failed with an `exception` event.
#[trace_span(kind = client, "payment.provider" = "acme-pay")]
async fn charge(order: &Order) -> Result<u64, PaymentDeclined> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if order.card.ends_with("0000") {
        return Err(PaymentDeclined(order.id));
    }
    Ok(order.id * 100)
}

#[trace_span("process_order", order_type = "premium")]
async fn process_order(order: Order) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    validate(&order)?;
    let receipt = charge(&order).await?;
    Ok(receipt)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = TracingManager::builder()
        .default_service_name("order-service")
        .exporter(Exporter::Console)
        .init()?;
    let good = Order {
        id: 1,
        items: vec!["book"],
        card: "4242",
    };
    let declined = Order {
        id: 2,
        items: vec!["lamp"],
        card: "0000",
    };
    let empty = Order {
        id: 3,
        items: vec![],
        card: "4242",
    };
    // Spawned: the task's span keeps its caller (none here) and runs on any worker thread.
    let spawned = tokio::spawn(process_order(good));
    println!("order 1: {:?}", spawned.await?);
    println!(
        "order 2: {:?}",
        process_order(declined).await.map_err(|e| e.to_string())
    );
    println!(
        "order 3: {:?}",
        process_order(empty).await.map_err(|e| e.to_string())
    );
    guard.force_flush()?;
    Ok(())
}
