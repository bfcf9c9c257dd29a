//! CPU time: per thread of this process by name, from `/proc/self/task/*/stat` (Linux; clock
//! ticks, usually 10 ms), which is how the export bench tells the producer's CPU from the
//! exporter's; and to the nanosecond for the calling thread or a whole process (the client
//! bench and its mock).

use std::collections::BTreeMap;
use std::time::Duration;

/// Linux's `USER_HZ`, the unit of `utime` and `stime`; 100 on every common configuration.
const TICKS_PER_SECOND: u64 = 100;

/// One thread's name and CPU time (user + system).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCpu {
    /// The thread's name (`comm`), as the kernel truncates it (15 bytes).
    pub name: String,
    /// User plus system time.
    pub cpu: Duration,
}

/// Every live thread of this process, by thread id. Empty where `/proc` is missing.
pub fn threads() -> BTreeMap<u32, ThreadCpu> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return BTreeMap::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            Some((tid, parse_stat(&stat)?))
        })
        .collect()
}

/// CPU time of the calling thread, to the nanosecond (`CLOCK_THREAD_CPUTIME_ID`).
pub fn this_thread() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of every thread of process `pid`, exited ones included, to the nanosecond (its
/// CPU-time clock); zero when it cannot be read.
pub fn process(pid: u32) -> Duration {
    let mut id: libc::clockid_t = 0;
    // SAFETY: `id` is a valid place for the result; a bad pid only returns an error.
    if unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut id) } != 0 {
        return Duration::ZERO;
    }
    clock(id)
}

fn clock(id: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid place for the result.
    if unsafe { libc::clock_gettime(id, &mut now) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// `pid (comm) state ppid ... utime stime ...`: the name may hold spaces and parentheses,
/// so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<ThreadCpu> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let mut fields = stat.get(close + 1..)?.split_whitespace();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime + stime;
    Some(ThreadCpu {
        name,
        cpu: Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND),
    })
}

/// CPU each thread used between two snapshots, by thread name (threads of one name are
/// added up); threads that started in between count from zero.
pub fn used_since(
    before: &BTreeMap<u32, ThreadCpu>,
    after: &BTreeMap<u32, ThreadCpu>,
) -> BTreeMap<String, Duration> {
    let mut used: BTreeMap<String, Duration> = BTreeMap::new();
    for (tid, now) in after {
        let earlier = before.get(tid).map_or(Duration::ZERO, |t| t.cpu);
        *used.entry(now.name.clone()).or_default() += now.cpu.saturating_sub(earlier);
    }
    used
}
