use maximus_trace::trace_span;

struct Order {
    id: u64,
}

#[trace_span(order = order, id = order.id)]
fn process(order: &Order) -> u64 {
    order.id
}

fn main() {
    process(&Order { id: 1 });
}
