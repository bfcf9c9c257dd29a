use maximus_trace::trace_span;

#[trace_span]
const LIMIT: u32 = 10;

fn main() {
    let _ = LIMIT;
}
