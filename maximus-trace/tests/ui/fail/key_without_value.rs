use maximus_trace::trace_span;

#[trace_span(user_id =)]
fn process() {}

fn main() {
    process();
}
