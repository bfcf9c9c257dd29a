//! Compile-time behaviour of `#[trace_span]`: every supported shape compiles under
//! `#![deny(warnings)]`, every misuse gives one precise error (see `tests/ui/fail/*.stderr`).

#[test]
fn trace_span_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
