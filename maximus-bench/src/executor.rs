//! The smallest executor: polls a future with a no-op waker until it is ready. Enough for
//! futures that never wait on I/O or timers (a traced `async fn` with a synchronous body),
//! and it keeps any async runtime out of the timed path.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` on this thread until it completes.
#[inline]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::hint::spin_loop();
    }
}
