use maximus_trace::trace_span;

#[trace_span(42)]
fn process() {}

#[trace_span(name = process_order)]
fn other() {}

fn main() {
    process();
    other();
}
