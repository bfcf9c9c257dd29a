//! The span clock: raw counter readings on the caller's thread, wall time on the export
//! thread.
//!
//! A span's start and end are `quanta` raw readings (the TSC where it is invariant, else the
//! monotonic clock): about 12 ns here, where `SystemTime::now()` costs 40. The export thread
//! turns them into wall time against an anchor it takes per batch (a raw reading and
//! `SystemTime::now()` side by side), so a calibration error only scales the short distance
//! between a span and its batch, never the process's uptime.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// A raw clock reading; only differences and [`WallClock`] give it meaning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticks(pub u64);

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

/// `quanta` reads the TSC on this machine: read it inline (its `raw()` is a call).
static TSC: AtomicBool = AtomicBool::new(false);

/// The process's clock, calibrated on first use (under a millisecond): `init()` calls this so
/// no span ever pays for the calibration.
pub(crate) fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(|| {
        // Miri runs no `cpuid` (inline assembly), which calibration needs: the engine's tests
        // there read a clock that stands still.
        #[cfg(miri)]
        return quanta::Clock::mock().0;
        #[cfg(not(miri))]
        {
            let clock = quanta::Clock::new();
            TSC.store(reads_tsc(&clock), Ordering::Relaxed);
            clock
        }
    })
}

/// Reads the clock.
#[inline]
pub(crate) fn now() -> Ticks {
    #[cfg(target_arch = "x86_64")]
    if TSC.load(Ordering::Relaxed) {
        // SAFETY: `rdtsc` exists on every x86_64 CPU; `TSC` is set only where it is invariant.
        return Ticks(unsafe { std::arch::x86_64::_rdtsc() });
    }
    Ticks(clock().raw())
}

/// Whether `clock` counts TSC ticks: the CPU has the invariant TSC and `rdtscp` that
/// `quanta` asks for, and a reading of `clock` falls between two TSC readings.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(miri, allow(dead_code))]
fn reads_tsc(clock: &quanta::Clock) -> bool {
    use std::arch::x86_64::{__cpuid, _rdtsc};
    // SAFETY: `cpuid` and `rdtsc` exist on every x86_64 CPU.
    unsafe {
        let invariant = __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0;
        let rdtscp = __cpuid(0x8000_0001).edx & (1 << 27) != 0;
        let before = _rdtsc();
        let raw = clock.raw();
        let after = _rdtsc();
        invariant && rdtscp && (before..=after).contains(&raw)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn reads_tsc(_clock: &quanta::Clock) -> bool {
    false
}

/// Converts readings to wall time, anchored at the moment it was made.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallClock {
    raw: u64,
    /// The wall time at `raw`, as nanoseconds since the Unix epoch.
    wall_nanos: u64,
}

impl WallClock {
    pub(crate) fn anchor() -> Self {
        let clock = clock();
        let raw = clock.raw();
        WallClock {
            raw,
            wall_nanos: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64,
        }
    }

    /// `ticks` as nanoseconds since the Unix epoch.
    pub(crate) fn unix_nanos(&self, ticks: Ticks) -> u64 {
        let clock = clock();
        if ticks.0 <= self.raw {
            self.wall_nanos
                .saturating_sub(clock.delta_as_nanos(ticks.0, self.raw))
        } else {
            self.wall_nanos + clock.delta_as_nanos(self.raw, ticks.0)
        }
    }

    pub(crate) fn wall_time(&self, ticks: Ticks) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.unix_nanos(ticks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_map_to_wall_time_in_order() {
        let before = SystemTime::now();
        let a = now();
        std::thread::sleep(Duration::from_millis(20));
        let b = now();
        let anchor = WallClock::anchor();
        let (wa, wb) = (anchor.wall_time(a), anchor.wall_time(b));
        let after = SystemTime::now();
        assert!(wa < wb);
        let gap = wb.duration_since(wa).unwrap();
        assert!(gap >= Duration::from_millis(19), "{gap:?}");
        // Generous bounds: the clocks are read at slightly different moments.
        assert!(wa + Duration::from_millis(5) >= before && wb <= after + Duration::from_millis(5));
        assert!(clock().delta(a.0, b.0) >= Duration::from_millis(19));
    }
}
