use maximus_trace::trace_span;

#[trace_span("", kind = up, err = "no", record(nope))]
fn process() {}

fn main() {
    process();
}
