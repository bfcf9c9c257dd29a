//! The span clock: raw counter readings on the caller's thread, wall time on the export
//! thread.
//!
//! A span's start and end are `quanta` raw readings (the TSC where it is invariant, else the
//! monotonic clock): about 12 ns here, where `SystemTime::now()` costs 40. The export thread
//! turns them into wall time against an anchor it takes per batch (a raw reading and
//! `SystemTime::now()` side by side), so a rate error only scales the short distance between a
//! span and its batch, never the process's uptime.
//!
//! The rate is not `quanta`'s: its calibration lasts a few milliseconds and was 13 ppm off on
//! our CI host, 13 µs for a span that started a second before its batch. Two processes off in
//! opposite directions put a server's span before the client span that called it (the
//! real-Jaeger suite caught one 36 µs early). Each anchor measures the rate itself, against
//! the wall clock, over everything since the clock was set up at `init()`: a baseline of
//! seconds to days, where the reading jitter of tens of nanoseconds is well under 1 ppm. The
//! wall clock, not the monotonic one, because wall time is what a span reports, and the two
//! need not run at one rate (5 ppm apart on that host). Should the wall clock be stepped (set
//! by hand, or by NTP past its 500 ppm slew), the rate it gives disagrees with the monotonic
//! clock's, and the baseline starts again from that anchor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// A raw clock reading; only differences and [`WallClock`] give it meaning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticks(pub u64);

/// The clock, and the reading every anchor's baseline starts from: taken when the clock was
/// set up, taken again after the wall clock was stepped.
struct Calibrated {
    clock: quanta::Clock,
    origin: Mutex<Reading>,
}

static CLOCK: OnceLock<Calibrated> = OnceLock::new();

/// `quanta` reads the TSC on this machine: read it inline (its `raw()` is a call).
static TSC: AtomicBool = AtomicBool::new(false);

/// The process's clock, calibrated on first use (under a millisecond): `init()` calls this so
/// no span ever pays for the calibration.
pub(crate) fn clock() -> &'static quanta::Clock {
    &calibrated().clock
}

fn calibrated() -> &'static Calibrated {
    CLOCK.get_or_init(|| {
        // Miri runs no `cpuid` (inline assembly), which calibration needs: the engine's tests
        // there read a clock that stands still.
        #[cfg(miri)]
        let clock = quanta::Clock::mock().0;
        #[cfg(not(miri))]
        let clock = {
            let clock = quanta::Clock::new();
            TSC.store(reads_tsc(&clock), Ordering::Relaxed);
            clock
        };
        let origin = Mutex::new(Reading::take(&clock));
        Calibrated { clock, origin }
    })
}

/// A raw reading, the monotonic clock and the wall clock, taken together.
#[derive(Clone, Copy, Debug)]
struct Reading {
    raw: u64,
    mono: Instant,
    wall: SystemTime,
}

impl Reading {
    fn take(clock: &quanta::Clock) -> Self {
        // The raw reading is the midpoint of two around the others, from the tightest of a few
        // tries: the first call into the vDSO can take a microsecond.
        let mut best: Option<(u64, Reading)> = None;
        for _ in 0..4 {
            let before = clock.raw();
            let mono = Instant::now();
            let wall = SystemTime::now();
            let after = clock.raw();
            let gap = after.saturating_sub(before);
            if best.is_none_or(|(best_gap, _)| gap < best_gap) {
                let raw = before + gap / 2;
                best = Some((gap, Reading { raw, mono, wall }));
            }
        }
        best.map_or_else(
            || Reading {
                raw: clock.raw(),
                mono: Instant::now(),
                wall: SystemTime::now(),
            },
            |(_, reading)| reading,
        )
    }
}

/// Reads the clock.
#[inline]
pub(crate) fn now() -> Ticks {
    #[cfg(target_arch = "x86_64")]
    if TSC.load(Ordering::Relaxed) {
        // SAFETY: `rdtsc` exists on every x86_64 CPU; `TSC` is set only where it is invariant.
        return Ticks(unsafe { std::arch::x86_64::_rdtsc() });
    }
    read_clock()
}

/// `now()` where the TSC is not read inline: out of line, so the inline path stays a load, a
/// branch and `rdtsc` in every span's start and end.
#[cold]
#[inline(never)]
fn read_clock() -> Ticks {
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

/// Under this baseline an anchor uses `quanta`'s rate: the reading jitter would weigh more
/// than its calibration error, and the distances it scales are this short anyway.
const MIN_BASELINE: Duration = Duration::from_millis(10);

/// How far (parts per million) the wall clock's rate may stray from the monotonic clock's
/// before it counts as stepped: NTP slews by at most 500 ppm.
const MAX_SLEW_PPM: f64 = 500.0;

/// Converts readings to wall time, anchored at the moment it was made.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WallClock {
    raw: u64,
    /// The wall time at `raw`, as nanoseconds since the Unix epoch.
    wall_nanos: u64,
    /// The clock's rate, measured against the wall clock (see the module's doc).
    nanos_per_tick: f64,
}

impl WallClock {
    pub(crate) fn anchor() -> Self {
        let calibrated = calibrated();
        let now = Reading::take(&calibrated.clock);
        let rate = {
            let mut origin = calibrated.origin.lock().unwrap_or_else(PoisonError::into_inner);
            match measure(*origin, now) {
                Rate::Measured(rate) => rate,
                Rate::TooShort => quanta_rate(&calibrated.clock),
                Rate::Stepped(rate) => {
                    log::debug!("the wall clock was stepped: its rate is measured anew from now");
                    *origin = now;
                    rate
                }
            }
        };
        WallClock {
            raw: now.raw,
            wall_nanos: unix_nanos(now.wall),
            nanos_per_tick: rate,
        }
    }

    /// `ticks` as nanoseconds since the Unix epoch.
    pub(crate) fn unix_nanos(&self, ticks: Ticks) -> u64 {
        let nanos = |ticks: u64| (ticks as f64 * self.nanos_per_tick) as u64;
        if ticks.0 <= self.raw {
            self.wall_nanos.saturating_sub(nanos(self.raw - ticks.0))
        } else {
            self.wall_nanos.saturating_add(nanos(ticks.0 - self.raw))
        }
    }

    pub(crate) fn wall_time(&self, ticks: Ticks) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.unix_nanos(ticks))
    }
}

fn unix_nanos(wall: SystemTime) -> u64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
}

/// The rate (nanoseconds per raw tick) between two readings.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rate {
    /// Against the wall clock.
    Measured(f64),
    /// Too close together to measure.
    TooShort,
    /// The wall clock was stepped between them: the monotonic clock's rate.
    Stepped(f64),
}

fn measure(origin: Reading, now: Reading) -> Rate {
    let ticks = now.raw.saturating_sub(origin.raw);
    let mono = now.mono.saturating_duration_since(origin.mono);
    if mono < MIN_BASELINE || ticks == 0 {
        return Rate::TooShort;
    }
    let by_mono = mono.as_nanos() as f64 / ticks as f64;
    let Ok(wall) = now.wall.duration_since(origin.wall) else {
        return Rate::Stepped(by_mono);
    };
    let by_wall = wall.as_nanos() as f64 / ticks as f64;
    if ((by_wall / by_mono - 1.0) * 1e6).abs() > MAX_SLEW_PPM {
        return Rate::Stepped(by_mono);
    }
    Rate::Measured(by_wall)
}

/// `quanta`'s own rate, over a span of ticks large enough for its fixed-point scale to show.
fn quanta_rate(clock: &quanta::Clock) -> f64 {
    const SPAN: u64 = 1 << 40;
    clock.delta_as_nanos(0, SPAN) as f64 / SPAN as f64
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

    /// A span that started a second before its batch gets the wall time it started at, to
    /// within 2 µs (13 µs off with `quanta`'s rate on our CI host): the server span of a call
    /// must not start before the client span that sent it (two processes, two calibrations).
    #[test]
    #[cfg_attr(miri, ignore = "Miri's clock stands still")]
    fn a_reading_a_second_old_maps_to_its_wall_time() {
        clock();
        // The process may have started just now: what a short-lived program sees.
        let wall_before = SystemTime::now();
        let ticks = now();
        let wall_after = SystemTime::now();
        std::thread::sleep(Duration::from_secs(1));
        let mapped = WallClock::anchor().wall_time(ticks);
        let early = wall_before.duration_since(mapped).unwrap_or_default();
        let late = mapped.duration_since(wall_after).unwrap_or_default();
        assert!(
            early <= Duration::from_micros(2) && late <= Duration::from_micros(2),
            "a reading taken between {wall_before:?} and {wall_after:?} maps to {mapped:?}: \
             {early:?} early, {late:?} late"
        );
    }

    fn reading(raw: u64, mono: Instant, wall: SystemTime) -> Reading {
        Reading { raw, mono, wall }
    }

    #[test]
    fn the_rate_is_measured_against_the_wall_clock_and_a_step_starts_it_anew() {
        let (mono, wall) = (Instant::now(), SystemTime::now());
        let origin = reading(1_000, mono, wall);
        let second = Duration::from_secs(1);
        // 3 ticks a nanosecond; the wall clock 5 ppm slower than the monotonic one.
        let slow_wall = second - Duration::from_nanos(5_000);
        let later = reading(1_000 + 3_000_000_000, mono + second, wall + slow_wall);
        let Rate::Measured(rate) = measure(origin, later) else {
            panic!("{:?}", measure(origin, later));
        };
        assert!((rate * 3e9 - slow_wall.as_nanos() as f64).abs() < 1.0, "{rate}");
        // Too soon to tell.
        let soon = reading(1_000 + 3_000_000, mono + Duration::from_millis(1), wall);
        assert_eq!(measure(origin, soon), Rate::TooShort);
        // Set an hour ahead, or back by a second: the monotonic clock's rate, 1/3.
        for stepped in [wall + second + Duration::from_secs(3600), wall - second] {
            let now = reading(1_000 + 3_000_000_000, mono + second, stepped);
            let Rate::Stepped(rate) = measure(origin, now) else {
                panic!("{:?}", measure(origin, now));
            };
            assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
        }
    }
}
