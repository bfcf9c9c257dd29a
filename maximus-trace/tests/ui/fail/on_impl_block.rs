use maximus_trace::trace_span;

struct Order;

#[trace_span]
impl Order {
    fn id(&self) -> u64 {
        1
    }
}

fn main() {
    Order.id();
}
