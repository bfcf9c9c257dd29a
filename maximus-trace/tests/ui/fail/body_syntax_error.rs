use maximus_trace::trace_span;

#[trace_span("checkout")]
fn checkout(total: u64) -> u64 {
    let doubled = total * ;
    doubled
}

fn main() {
    let _ = checkout(1);
}
