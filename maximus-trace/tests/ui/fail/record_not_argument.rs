use maximus_trace::trace_span;

#[trace_span(record(user, x))]
fn process(user: u64) -> u64 {
    user
}

fn main() {
    process(1);
}
