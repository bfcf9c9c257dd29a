//! The console exporter: finished traces printed as indented trees a person can read.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use maximus_trace::export::ConsoleExporter;
use maximus_trace::{SpanKind, TracingManager, span};

/// A writer whose bytes the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn a_trace_prints_as_an_indented_tree_with_kinds_errors_attributes_and_events() {
    let _lock = support::exclusive();
    let out = Captured::default();
    let guard = TracingManager::builder()
        .service_name("console-test")
        .environment(|_| None)
        .span_exporter(ConsoleExporter::with_writer(Box::new(out.clone())))
        .init()
        .unwrap();
    {
        let _root = span!("checkout", cart.items = 3);
        {
            let _first = span!("reserve_stock");
            maximus_trace::add_event("cache.miss", [("key", "sku-42")]);
        }
        let call = guard.span_builder("charge_card").kind(SpanKind::Client).entered();
        call.set_status(maximus_trace::Status::error("card declined"));
    }
    guard.force_flush().unwrap();
    drop(guard);
    let text = out.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("trace ") && lines[0].ends_with("(console-test)"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("└─ checkout  ") && lines[1].contains("cart.items=3"),
        "{text}"
    );
    assert!(lines[2].starts_with("   ├─ reserve_stock  "), "{text}");
    assert!(lines[3].starts_with("   │  · cache.miss  key=sku-42"), "{text}");
    assert!(
        lines[4].starts_with("   └─ charge_card [client]  ") && lines[4].contains("ERROR: card declined"),
        "{text}"
    );
    assert_eq!(lines.len(), 5, "{text}");
}
