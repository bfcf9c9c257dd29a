use maximus_trace::trace_span;

#[trace_span("")]
fn process() {}

fn main() {
    process();
}
