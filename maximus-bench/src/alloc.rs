//! A global allocator wrapper that counts bytes and allocations, for the memory bench:
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc::new();`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts what passes through the system allocator.
#[derive(Debug)]
pub struct CountingAlloc {
    allocated: AtomicU64,
    freed: AtomicU64,
    allocations: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocSnapshot {
    /// Bytes allocated and not yet freed.
    pub live: i64,
    /// Bytes allocated in all (reallocations count their new size).
    pub allocated: u64,
    /// Allocations made (reallocations count once more).
    pub allocations: u64,
}

impl CountingAlloc {
    /// Counters at zero.
    pub const fn new() -> Self {
        CountingAlloc {
            allocated: AtomicU64::new(0),
            freed: AtomicU64::new(0),
            allocations: AtomicU64::new(0),
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> AllocSnapshot {
        let allocated = self.allocated.load(Ordering::SeqCst) as i64;
        let freed = self.freed.load(Ordering::SeqCst) as i64;
        AllocSnapshot {
            live: allocated - freed,
            allocated: allocated as u64,
            allocations: self.allocations.load(Ordering::SeqCst),
        }
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocated.fetch_add(layout.size() as u64, Ordering::Relaxed);
        self.allocations.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.allocated.fetch_add(layout.size() as u64, Ordering::Relaxed);
        self.allocations.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.freed.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.freed.fetch_add(layout.size() as u64, Ordering::Relaxed);
        self.allocated.fetch_add(new_size as u64, Ordering::Relaxed);
        self.allocations.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
