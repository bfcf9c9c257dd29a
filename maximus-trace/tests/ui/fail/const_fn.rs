use maximus_trace::trace_span;

#[trace_span]
const fn limit() -> u32 {
    10
}

fn main() {
    limit();
}
