//! Timing in rounds, with the pipeline drained between rounds off the clock, so no arm is
//! ever timed against a backlog (and no queue overflows into cheap drops).

use std::sync::{Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Spans handed to a pipeline between two drains: half the smallest queue in the run
/// (the SDK's default of 2048; maximus-trace's is 16384), so nothing is ever dropped.
pub const SPANS_PER_ROUND: u64 = 1024;

/// Runs `iteration(i)` for `i` in `0..iters` in rounds of at most [`SPANS_PER_ROUND`]
/// spans, timing only the iterations and calling `drain` after each round.
pub fn timed<I, D>(iters: u64, spans_per_iteration: u64, mut iteration: I, drain: D) -> Duration
where
    I: FnMut(u64),
    D: Fn(),
{
    let per_round = (SPANS_PER_ROUND / spans_per_iteration.max(1)).max(1);
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let end = iters.min(done + per_round);
        let start = Instant::now();
        for i in done..end {
            iteration(i);
        }
        total += start.elapsed();
        drain();
        done = end;
    }
    total
}

/// Like [`timed`], with `threads` threads each running every iteration at once. The time
/// of a round is that of its slowest thread, so the result is the cost of one iteration on
/// one thread while the others work too. Rounds hold [`SPANS_PER_ROUND`] spans in all.
pub fn timed_parallel<I, D>(
    iters: u64,
    spans_per_iteration: u64,
    threads: usize,
    iteration: I,
    drain: D,
) -> Duration
where
    I: Fn(u64) + Sync,
    D: Fn(),
{
    let per_round = (SPANS_PER_ROUND / (spans_per_iteration.max(1) * threads as u64)).max(1);
    // The iterations of the coming round (`None`: stop), and each thread's time for it.
    let round: Mutex<Option<(u64, u64)>> = Mutex::new(None);
    let times: Mutex<Vec<Duration>> = Mutex::new(Vec::with_capacity(threads));
    let start = Barrier::new(threads + 1);
    let end = Barrier::new(threads + 1);
    let lock = |m: &Mutex<Option<(u64, u64)>>| *m.lock().unwrap_or_else(PoisonError::into_inner);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    start.wait();
                    let Some((from, to)) = lock(&round) else { return };
                    let t0 = Instant::now();
                    for i in from..to {
                        iteration(i);
                    }
                    let took = t0.elapsed();
                    times.lock().unwrap_or_else(PoisonError::into_inner).push(took);
                    end.wait();
                }
            });
        }
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < iters {
            let to = iters.min(done + per_round);
            *round.lock().unwrap_or_else(PoisonError::into_inner) = Some((done, to));
            start.wait();
            end.wait();
            let mut took = times.lock().unwrap_or_else(PoisonError::into_inner);
            total += took.drain(..).max().unwrap_or_default();
            drop(took);
            drain();
            done = to;
        }
        *round.lock().unwrap_or_else(PoisonError::into_inner) = None;
        start.wait();
        total
    })
}
