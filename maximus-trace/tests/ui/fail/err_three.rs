use maximus_trace::trace_span;

#[trace_span(err = 3)]
fn process() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = process();
}
