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

#[tracing::instrument(skip_all)]
#[inline(never)]
pub fn tracing_child(i: u64) -> u64 {
    black_box(i)
}

#[tracing::instrument(skip_all)]
pub async fn tracing_child_async(i: u64) -> u64 {
    black_box(i)
}

/// The shapes in `tracing`, the same for every `tracing` arm (only the subscriber differs).
#[inline]
pub fn tracing_one_child(i: u64) {
    let _root = tracing::info_span!("root").entered();
    black_box(tracing_child(i));
}

#[inline]
pub fn tracing_hundred_children(i: u64) {
    let _root = tracing::info_span!("root").entered();
    for j in 0..100 {
        black_box(tracing_child(i + j));
    }
}

#[inline]
pub fn tracing_async_child(i: u64) {
    let _root = tracing::info_span!("root").entered();
    black_box(maximus_bench::executor::block_on(tracing_child_async(i)));
}
