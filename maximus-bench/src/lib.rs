//! What the benchmarks of `maximus-trace` share: an exporter that counts and discards, a
//! no-op executor, timing that drains every pipeline off the clock, a loopback OTLP/HTTP
//! sink, per-thread CPU time and a counting allocator. See `BENCHMARKS.md` at the
//! repository root for what each bench measures and the latest results.
//!
//! Only public APIs of `maximus-trace` are used, so the harness stays valid when the
//! engine behind them is rewritten.

pub mod alloc;
pub mod cpu;
pub mod executor;
pub mod exporter;
pub mod report;
pub mod rounds;
pub mod sink;
