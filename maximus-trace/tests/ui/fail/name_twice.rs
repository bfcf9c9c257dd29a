use maximus_trace::trace_span;

#[trace_span("process", name = "again")]
fn process() {}

fn main() {
    process();
}
