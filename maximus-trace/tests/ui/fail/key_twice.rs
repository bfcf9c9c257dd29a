use maximus_trace::trace_span;

#[trace_span(user_id = 1, "user_id" = 2)]
fn process() {}

fn main() {
    process();
}
