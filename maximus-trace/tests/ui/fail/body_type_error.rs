use maximus_trace::trace_span;

#[trace_span]
fn count() -> u32 {
    "three"
}

#[trace_span]
async fn count_async() -> u32 {
    "three"
}

#[trace_span]
fn convert() -> Result<u32, String> {
    let n: u32 = "3".parse()?;
    Ok(n)
}

fn main() {
    count();
    let _ = count_async();
    let _ = convert();
}
