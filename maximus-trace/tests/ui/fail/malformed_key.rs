use maximus_trace::trace_span;

#[trace_span(http..method = "GET")]
fn process() {}

#[trace_span(retry-attempt = 1)]
fn other() {}

fn main() {
    process();
    other();
}
