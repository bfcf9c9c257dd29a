//! `Handoff<T>`: a value that one thread (its owner) holds for as long as it likes and that
//! another (the export thread) may take from only while the owner does not hold it. A small
//! state machine instead of a lock: the owner marks it `BUSY` once per hold (one
//! compare-and-swap) and `IDLE` when done (one store); the other thread only moves it from
//! `IDLE` to `STEALING` and back. A thread's buffer of records is one (`shared.rs`).
//!
//! The protocol is written once, generic over its atomic and cell ([`Primitives`]): the
//! engine runs it on `std`'s, and the loom models at the bottom run the same code on loom's,
//! which explore every interleaving of an owner and a stealer and fail on any unsynchronised
//! access to the value (`RUSTFLAGS="--cfg maximus_loom" cargo test --release -p maximus-trace
//! --lib engine::handoff`).

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU8, Ordering};

const IDLE: u8 = 0;
const BUSY: u8 = 1;
const STEALING: u8 = 2;

/// The atomic state and the cell a [`Handoff`] is built on.
pub(crate) trait Primitives {
    /// The state (`IDLE`, `BUSY`, `STEALING`).
    type State: State;
    /// The cell the value lives in.
    type Cell<T>: Cell<T>;
}

/// The operations the protocol needs of its state.
pub(crate) trait State {
    fn load(&self, order: Ordering) -> u8;
    fn store(&self, value: u8, order: Ordering);
    /// `compare_exchange` (`weak`: may fail spuriously, for a retry loop).
    fn swap_if(&self, current: u8, new: u8, success: Ordering, weak: bool) -> bool;
    /// Lets the other side run while waiting for it.
    fn pause();
}

/// The cell of the value: a raw pointer to it, valid for the cell's life.
pub(crate) trait Cell<T> {
    fn get(&self) -> *mut T;
}

/// `std`'s atomic and cell: what the engine runs on.
#[derive(Debug)]
pub(crate) enum Std {}

impl Primitives for Std {
    type State = AtomicU8;
    type Cell<T> = UnsafeCell<T>;
}

/// `State` for an `AtomicU8` type with `std`'s methods (`std`'s, and loom's in its models),
/// pausing with `$pause`.
macro_rules! atomic_state {
    ($atomic:ty, $pause:path) => {
        impl State for $atomic {
            #[inline(always)]
            fn load(&self, order: Ordering) -> u8 {
                <$atomic>::load(self, order)
            }

            #[inline(always)]
            fn store(&self, value: u8, order: Ordering) {
                <$atomic>::store(self, value, order)
            }

            #[inline(always)]
            fn swap_if(&self, current: u8, new: u8, success: Ordering, weak: bool) -> bool {
                if weak {
                    self.compare_exchange_weak(current, new, success, Ordering::Relaxed)
                        .is_ok()
                } else {
                    self.compare_exchange(current, new, success, Ordering::Relaxed)
                        .is_ok()
                }
            }

            fn pause() {
                $pause();
            }
        }
    };
}

atomic_state!(AtomicU8, std::thread::yield_now);

impl<T> Cell<T> for UnsafeCell<T> {
    #[inline(always)]
    fn get(&self) -> *mut T {
        UnsafeCell::get(self)
    }
}

/// A value owned in turns (see the module's docs).
#[derive(Debug)]
pub(crate) struct Handoff<T, P: Primitives = Std> {
    state: P::State,
    value: P::Cell<T>,
}

// SAFETY: the value is only touched by whoever moved `state` away from `IDLE` (the owner to
// `BUSY`, holding a `Hold`; the other thread to `STEALING`, inside `steal`), with
// acquire/release ordering on `state`: one thread at a time, each seeing the last one's writes.
unsafe impl<T: Send, P: Primitives> Sync for Handoff<T, P>
where
    P::State: Send,
    P::Cell<T>: Send,
{
}

impl<T> Handoff<T, Std> {
    pub(crate) const fn new(value: T) -> Self {
        Handoff {
            state: AtomicU8::new(IDLE),
            value: UnsafeCell::new(value),
        }
    }
}

/// Proof that this thread holds a [`Handoff`]'s value: made by [`Handoff::acquire`], consumed
/// by [`Handoff::release`]. Reaching the value takes `&mut Hold`, so holding it is a type,
/// not a flag that every access must trust.
#[derive(Debug)]
pub(crate) struct Hold {
    /// Whose value (checked in debug builds: a hold only opens the handoff that made it).
    #[cfg(debug_assertions)]
    owner: *const (),
    /// Not `Send`: only the thread that acquired the value may use it.
    _not_send: PhantomData<*const ()>,
}

/// A hold dropped instead of released would leave the value `BUSY` for good: the owner's next
/// `acquire` would spin forever and the other thread never take. Debug builds (the tests)
/// catch it where it happens; release builds carry no drop glue for it.
#[cfg(debug_assertions)]
impl Drop for Hold {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("a handoff hold was dropped without `Handoff::release`");
        }
    }
}

impl<T, P: Primitives> Handoff<T, P> {
    #[inline(always)]
    fn check(&self, _hold: &Hold) {
        #[cfg(debug_assertions)]
        debug_assert!(
            std::ptr::eq(_hold.owner, (self as *const Self).cast()),
            "a hold on another handoff"
        );
    }

    /// Owner: takes the value. Waits only while the other thread is taking from it.
    pub(crate) fn acquire(&self) -> Hold {
        while !self.state.swap_if(IDLE, BUSY, Ordering::Acquire, true) {
            P::State::pause();
        }
        Hold {
            #[cfg(debug_assertions)]
            owner: (self as *const Self).cast(),
            _not_send: PhantomData,
        }
    }

    /// Owner: gives the value back.
    pub(crate) fn release(&self, hold: Hold) {
        self.check(&hold);
        // Consumed here, not dropped: a drop anywhere else is the bug debug builds catch
        // (release builds give `Hold` no drop glue, so there this is a plain drop).
        #[cfg_attr(not(debug_assertions), allow(clippy::forget_non_drop))]
        std::mem::forget(hold);
        self.state.store(IDLE, Ordering::Release);
    }

    /// Whether the owner holds the value now (a hint: it may change right after).
    pub(crate) fn is_held(&self) -> bool {
        self.state.load(Ordering::Acquire) == BUSY
    }

    /// The value, read-only, for the thread whose `hold` says it holds it.
    #[inline(always)]
    pub(crate) fn get<'a>(&'a self, hold: &'a Hold) -> &'a T {
        self.check(hold);
        // SAFETY: as in `get_mut`; a shared borrow of `hold` rules out a `&mut T` from
        // `get_mut` for as long as this reference lives.
        unsafe { &*self.value.get() }
    }

    /// The value, for the thread whose `hold` says it holds it: `&mut` to the hold makes this
    /// the only reference to it while it lives.
    #[inline(always)]
    pub(crate) fn get_mut<'a>(&'a self, hold: &'a mut Hold) -> &'a mut T {
        self.check(hold);
        // SAFETY: a `Hold` exists only between `acquire` and `release` on this thread (it is
        // made by the first and consumed by the second, and is neither `Send`, `Clone` nor
        // made elsewhere): `state` is `BUSY`, so the other thread does not touch the value
        // (`steal` needs `IDLE`), and no other thread has a `Hold` for it. The `&mut` borrow
        // of `hold` for `'a` rules out a second reference from this thread.
        unsafe { &mut *self.value.get() }
    }

    /// The other thread: runs `take` on the value if the owner does not hold it; `None` (and
    /// `take` not run) if it does.
    pub(crate) fn steal<R>(&self, take: impl FnOnce(&mut T) -> R) -> Option<R> {
        if !self.state.swap_if(IDLE, STEALING, Ordering::Acquire, false) {
            return None;
        }
        // SAFETY: `STEALING` excludes the owner (its `acquire` needs `IDLE`) and any other
        // stealer until the store below; `take` cannot keep the reference past its call.
        let taken = take(unsafe { &mut *self.value.get() });
        self.state.store(IDLE, Ordering::Release);
        Some(taken)
    }
}

/// The protocol on loom's atomic and cell: every interleaving of an owner and a stealer.
#[cfg(all(test, maximus_loom))]
mod loom_models {
    use std::sync::atomic::Ordering;

    use loom::sync::Arc;

    use super::{Handoff, IDLE, Primitives, State};

    enum Loom {}

    impl Primitives for Loom {
        type State = loom::sync::atomic::AtomicU8;
        type Cell<T> = loom::cell::UnsafeCell<T>;
    }

    atomic_state!(loom::sync::atomic::AtomicU8, loom::thread::yield_now);

    impl<T> super::Cell<T> for loom::cell::UnsafeCell<T> {
        /// Records an access (a write: the protocol never reads without the right to write)
        /// at the moment the pointer is taken; loom fails the model if another thread's
        /// access is not ordered with it.
        fn get(&self) -> *mut T {
            self.with_mut(|value| value)
        }
    }

    fn handoff<T>(value: T) -> Arc<Handoff<T, Loom>> {
        Arc::new(Handoff {
            state: loom::sync::atomic::AtomicU8::new(IDLE),
            value: loom::cell::UnsafeCell::new(value),
        })
    }

    /// The owner fills the value in two holds while the other thread steals twice: every
    /// item is taken exactly once, and no access races.
    #[test]
    fn an_owner_and_a_stealer_take_turns_and_lose_nothing() {
        loom::model(|| {
            let shared = handoff(Vec::new());
            let stealer = {
                let shared = Arc::clone(&shared);
                loom::thread::spawn(move || {
                    let mut taken = Vec::new();
                    for _ in 0..2 {
                        if let Some(items) = shared.steal(std::mem::take) {
                            taken.extend(items);
                        }
                    }
                    taken
                })
            };
            for item in 0..2 {
                let mut hold = shared.acquire();
                shared.get_mut(&mut hold).push(item);
                shared.release(hold);
            }
            let mut taken = stealer.join().expect("the stealer");
            let mut hold = shared.acquire();
            taken.append(shared.get_mut(&mut hold));
            shared.release(hold);
            taken.sort_unstable();
            assert_eq!(taken, [0, 1]);
        });
    }

    /// While the owner holds the value, a steal does not run; once released it does, and
    /// sees what the owner wrote.
    #[test]
    fn a_held_value_is_not_stolen_and_a_released_one_is_seen_whole() {
        loom::model(|| {
            let shared = handoff((0_u32, 0_u32));
            let stealer = {
                let shared = Arc::clone(&shared);
                loom::thread::spawn(move || shared.steal(|pair| *pair))
            };
            let mut hold = shared.acquire();
            *shared.get_mut(&mut hold) = (1, 1);
            assert!(shared.is_held());
            shared.release(hold);
            // Stolen before the owner's hold, or after its release: never half written.
            if let Some(pair) = stealer.join().expect("the stealer") {
                assert!(pair == (0, 0) || pair == (1, 1), "{pair:?}");
            }
        });
    }
}
