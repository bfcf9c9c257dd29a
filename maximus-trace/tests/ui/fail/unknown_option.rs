use maximus_trace::trace_span;

#[trace_span(skip(password))]
fn login(password: &str) -> usize {
    password.len()
}

#[trace_span(level)]
fn other() {}

fn main() {
    login("x");
    other();
}
