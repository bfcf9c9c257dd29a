//! Records the export thread has taken and not exported yet: the tail of a batch waits here
//! for the next hand-over instead of going out alone.

use std::collections::VecDeque;

use crate::engine::Record;

/// Chunks waiting for export, only ended, sampled records in them.
#[derive(Default)]
pub(crate) struct Staged {
    chunks: VecDeque<Vec<Record>>,
    len: usize,
}

impl Staged {
    /// Records waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn add(&mut self, chunk: Vec<Record>) {
        self.len += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// Whole chunks up to `max` records; the last one split if it would overshoot.
    pub(crate) fn take(&mut self, max: usize) -> Vec<Vec<Record>> {
        let mut batch = Vec::new();
        let mut taken = 0;
        while taken < max {
            let Some(mut chunk) = self.chunks.pop_front() else {
                break;
            };
            if taken + chunk.len() > max {
                let rest = chunk.split_off(max - taken);
                self.chunks.push_front(rest);
            }
            taken += chunk.len();
            batch.push(chunk);
        }
        self.len -= taken;
        batch
    }
}
