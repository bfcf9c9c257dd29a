use maximus_trace::trace_span;

fn main() {
    let f = #[trace_span] || 1;
    f();
}
