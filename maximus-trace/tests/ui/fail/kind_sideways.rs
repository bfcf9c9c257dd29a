use maximus_trace::trace_span;

#[trace_span(kind = sideways)]
fn process() {}

fn main() {
    process();
}
