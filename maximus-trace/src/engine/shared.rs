//! The part of a thread's span state that other threads may touch: its buffer of records
//! (the export thread takes the ended ones while the thread is idle), its counters (read by
//! `stats()`), and its mailbox (operations other threads make on its open spans).
//!
//! The buffer is a [`Handoff`]: the owning thread holds it from its outermost span's start
//! until its span stack empties (one compare-and-swap, one store), and the export thread
//! takes from it only in between. So a span costs no atomic read-modify-write, and a thread
//! that went quiet still has its ended spans exported.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::handoff::Handoff;
pub(crate) use super::handoff::Hold;
use super::ids::SpanId;
use super::record::{EventRecord, Record};
use crate::model::KeyValue;
use crate::model::Status;

/// Ended (and, while the thread is busy, open) records of one pipeline generation.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    pub records: Vec<Record>,
    /// The pipeline generation the records belong to.
    pub generation: u64,
    /// Some record will not be exported once ended (a custom sampler's "record only", or a
    /// slot whose record was moved out): the hand-over filters; otherwise it need not look.
    pub mixed: bool,
}

/// An operation another thread made on one of this thread's open spans.
#[derive(Debug)]
pub(crate) enum Op {
    SetAttribute(KeyValue),
    AddEvent(EventRecord),
    SetStatus(Status),
}

#[derive(Debug)]
pub(crate) struct ThreadShared {
    /// Identifies the thread in span handles that other threads hold.
    pub token: u64,
    buffer: Handoff<Buffer>,
    /// Spans started and ended on this thread, for the pipeline generation `counted`.
    started: AtomicU64,
    ended: AtomicU64,
    counted: AtomicU64,
    has_mail: AtomicBool,
    mail: Mutex<Vec<(SpanId, Op)>>,
}

impl ThreadShared {
    pub(crate) const fn new(token: u64) -> Self {
        ThreadShared {
            token,
            buffer: Handoff::new(Buffer {
                records: Vec::new(),
                generation: 0,
                mixed: false,
            }),
            started: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            counted: AtomicU64::new(0),
            has_mail: AtomicBool::new(false),
            mail: Mutex::new(Vec::new()),
        }
    }

    /// Owner: takes the buffer. Waits only while the export thread is swapping it out.
    pub(crate) fn acquire(&self) -> Hold {
        self.buffer.acquire()
    }

    /// Owner: gives the buffer back to the export thread.
    pub(crate) fn release(&self, hold: Hold) {
        self.buffer.release(hold);
    }

    /// The buffer, read-only, for the thread whose `hold` says it holds it.
    #[inline(always)]
    pub(crate) fn buffer_ref<'a>(&'a self, hold: &'a Hold) -> &'a Buffer {
        self.buffer.get(hold)
    }

    /// The buffer, for the thread whose `hold` says it holds it.
    #[inline(always)]
    pub(crate) fn buffer<'a>(&'a self, hold: &'a mut Hold) -> &'a mut Buffer {
        self.buffer.get_mut(hold)
    }

    /// Export thread: takes the records of an idle thread, leaving `spare` in their place.
    /// Gives `spare` back when the thread is busy or has nothing.
    pub(crate) fn steal(&self, generation: u64, spare: Vec<Record>) -> Result<Vec<Record>, Vec<Record>> {
        let mut spare = Some(spare);
        let taken = self.buffer.steal(|buffer| {
            if buffer.records.is_empty() {
                None
            } else if buffer.generation != generation {
                // Left over from a pipeline that has shut down: nobody will export them.
                buffer.records.clear();
                None
            } else {
                spare
                    .take()
                    .map(|spare| std::mem::replace(&mut buffer.records, spare))
            }
        });
        // `spare` is still there unless records were taken in its place.
        taken.flatten().ok_or_else(|| spare.unwrap_or_default())
    }

    /// Owner: publishes its counts of spans started and ended for pipeline `generation`
    /// (the owner counts in plain thread-local fields and publishes when its stack empties).
    pub(crate) fn publish(&self, generation: u64, started: u64, ended: u64) {
        if self.counted.load(Ordering::Relaxed) != generation {
            self.started.store(0, Ordering::Relaxed);
            self.ended.store(0, Ordering::Relaxed);
            // Release: a reader that sees the new generation sees the reset counters.
            self.counted.store(generation, Ordering::Release);
        }
        self.started.store(started, Ordering::Relaxed);
        self.ended.store(ended, Ordering::Relaxed);
    }

    /// (started, ended) for `generation`, zero if this thread counts another.
    pub(crate) fn counters(&self, generation: u64) -> (u64, u64) {
        if self.counted.load(Ordering::Acquire) != generation {
            return (0, 0);
        }
        (
            self.started.load(Ordering::Relaxed),
            self.ended.load(Ordering::Relaxed),
        )
    }

    /// Another thread: leaves an operation for the span `span_id`, applied by the owner the
    /// next time one of its spans ends (dropped if that span has ended by then).
    pub(crate) fn post(&self, span_id: SpanId, op: Op) {
        // An owner that does not hold its buffer has no span open in it: the span ended, and
        // mail kept for it would only pile up.
        if !self.buffer.is_held() {
            return;
        }
        self.mail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((span_id, op));
        self.has_mail.store(true, Ordering::Release);
    }

    /// Owner: whether other threads left operations (one relaxed load).
    #[inline]
    pub(crate) fn has_mail(&self) -> bool {
        self.has_mail.load(Ordering::Relaxed)
    }

    /// Owner: the operations waiting, if any.
    pub(crate) fn take_mail(&self) -> Option<Vec<(SpanId, Op)>> {
        self.has_mail.store(false, Ordering::Relaxed);
        let mail = std::mem::take(&mut *self.mail.lock().unwrap_or_else(PoisonError::into_inner));
        (!mail.is_empty()).then_some(mail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_buffer_is_not_stolen_and_an_idle_one_is() {
        let shared = ThreadShared::new(1);
        let mut hold = shared.acquire();
        shared.buffer(&mut hold).generation = 7;
        shared.buffer(&mut hold).records.push(Record::moved());
        assert!(shared.steal(7, Vec::new()).is_err());
        shared.release(hold);
        assert_eq!(shared.steal(7, Vec::new()).map(|r| r.len()).ok(), Some(1));
        assert!(shared.steal(7, Vec::new()).is_err(), "nothing left");
    }

    #[test]
    fn records_of_another_generation_are_discarded_not_stolen() {
        let shared = ThreadShared::new(1);
        let mut hold = shared.acquire();
        shared.buffer(&mut hold).generation = 1;
        shared.buffer(&mut hold).records.push(Record::moved());
        shared.release(hold);
        assert!(shared.steal(2, Vec::new()).is_err());
        let mut hold = shared.acquire();
        assert!(shared.buffer(&mut hold).records.is_empty());
        shared.release(hold);
    }

    /// The owner filling its buffer while the export thread steals: every record is taken
    /// exactly once. Under Miri (`.ci/run`) this also checks that the two never touch the
    /// buffer at the same time (a data race is an error there).
    #[test]
    fn the_owner_and_the_stealer_take_turns_and_lose_nothing() {
        let shared = std::sync::Arc::new(ThreadShared::new(1));
        let rounds = if cfg!(miri) { 30 } else { 20_000 };
        let stealer = {
            let shared = std::sync::Arc::clone(&shared);
            std::thread::spawn(move || {
                let (mut taken, mut spare) = (0, Vec::new());
                while taken < rounds {
                    match shared.steal(1, spare) {
                        Ok(records) => {
                            taken += records.len();
                            spare = Vec::new();
                        }
                        Err(back) => {
                            spare = back;
                            std::thread::yield_now();
                        }
                    }
                }
                taken
            })
        };
        for _ in 0..rounds {
            let mut hold = shared.acquire();
            let buffer = shared.buffer(&mut hold);
            buffer.generation = 1;
            buffer.records.push(Record::moved());
            shared.release(hold);
        }
        assert_eq!(stealer.join().ok(), Some(rounds));
    }

    #[test]
    fn published_counters_belong_to_one_generation() {
        let shared = ThreadShared::new(1);
        shared.publish(1, 1, 1);
        assert_eq!(shared.counters(1), (1, 1));
        shared.publish(2, 1, 0);
        assert_eq!(shared.counters(1), (0, 0));
        assert_eq!(shared.counters(2), (1, 0));
    }
}
