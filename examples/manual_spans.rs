//! Manual spans: `span!`, events, attributes, errors, and propagation to another service.
//!
//! ```text
//! cargo run --example manual_spans
//! ```

use maximus_trace::{Exporter, SpanKind, Status, TracingManager, span};

fn load_profile(user_id: u64) -> Result<String, std::io::Error> {
    let _span = span!("load_profile", user_id = user_id, db.system = "postgresql");
    maximus_trace::add_event("cache.miss", [("cache.key", format!("user:{user_id}"))]);
    if user_id == 0 {
        let error = std::io::Error::new(std::io::ErrorKind::NotFound, "no user 0");
        maximus_trace::record_error(&error);
        return Err(error);
    }
    Ok(format!("user-{user_id}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = TracingManager::builder()
        .default_service_name("manual-spans-example")
        .exporter(Exporter::Console)
        .init()?;
    {
        let request = span!(
            "process_user_data",
            user_id = 123,
            "http.method" = "GET",
            retries = [1, 2]
        );
        request.set_attribute("user.tier", "gold");
        let _ = load_profile(123);
        let _ = load_profile(0);

        // Calling another service: inject the context into its request headers...
        let mut headers = http::HeaderMap::new();
        maximus_trace::inject(&mut headers);
        println!("outgoing traceparent: {:?}", headers.get("traceparent"));

        // ...and on the other side, continue the trace from them.
        let remote = maximus_trace::extract(&headers);
        let server = guard
            .span_builder("handle_request")
            .kind(SpanKind::Server)
            .parent(&remote)
            .entered();
        server.set_status(Status::Ok);
        println!(
            "the server span joined trace {}",
            server.trace_id().unwrap_or_default()
        );
    }
    guard.force_flush()?;
    Ok(())
}
