//! The functions every arm calls, shared by the criterion bench (`benches/spans.rs`) and the
//! instruction probe (`examples/instructions.rs`), so both measure the same code. A folder
//! module: Cargo would take `benches/workload.rs` for a bench of its own.

use std::hint::black_box;

use maximus_trace::trace_span;

/// The floor: the same function, untraced.
#[inline(never)]
pub fn plain_child(i: u64) -> u64 {
    black_box(i)
}

#[inline(never)]
pub async fn plain_child_async(i: u64) -> u64 {
    black_box(i)
}

#[trace_span]
#[inline(never)]
pub fn mx_child(i: u64) -> u64 {
    black_box(i)
}

#[trace_span]
pub async fn mx_child_async(i: u64) -> u64 {
    black_box(i)
}

#[fastrace::trace]
#[inline(never)]
pub fn fr_child(i: u64) -> u64 {
    black_box(i)
}

#[fastrace::trace]
pub async fn fr_child_async(i: u64) -> u64 {
    black_box(i)
}
