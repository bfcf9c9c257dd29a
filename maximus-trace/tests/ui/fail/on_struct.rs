use maximus_trace::trace_span;

#[trace_span]
struct Order {
    id: u64,
}

fn main() {
    let _ = Order { id: 1 }.id;
}
