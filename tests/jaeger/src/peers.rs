//! The peers a test needs besides our own programs: a Jaeger binary, a Prometheus, the
//! OpenTelemetry Python SDK. A test asks for each one it uses with [`require`]. On a
//! developer's machine a missing peer skips the test with a line saying why and how to get
//! it, so `cargo test --workspace` passes with only some of them installed. `.ci/run`
//! installs them all and sets `MAXIMUS_SUITE_REQUIRE_ALL=1`: there a missing peer fails the
//! test, so a green run never hides a part of the suite that did not run.

use std::fmt;
use std::io::Write as _;

/// The variable that turns a missing peer from a skip into a failure (`1`).
pub const REQUIRE_ALL: &str = "MAXIMUS_SUITE_REQUIRE_ALL";

/// A peer that is not there.
#[derive(Debug, Clone)]
pub struct Missing {
    /// What is missing, and where we looked.
    pub what: String,
    /// How to get it.
    pub how: String,
}

impl Missing {
    /// `what` is missing; `how` says how to get it.
    pub fn new(what: impl Into<String>, how: impl Into<String>) -> Missing {
        Missing {
            what: what.into(),
            how: how.into(),
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.what, self.how)
    }
}

/// The peer, if it is there. If not: with `MAXIMUS_SUITE_REQUIRE_ALL=1` the test fails;
/// otherwise it says on standard error (past the harness's capture, so a plain `cargo test`
/// shows it) and in the figures file that it is skipped and why, and the caller returns.
pub fn require<T>(peer: Result<T, Missing>) -> Option<T> {
    let missing = match peer {
        Ok(found) => return Some(found),
        Err(missing) => missing,
    };
    let test = test_name();
    if required() {
        panic!("{test}: {missing} ({REQUIRE_ALL}=1 makes a missing peer a failure)");
    }
    let line = format!("{test}: skipped: {missing}");
    // One write, so the line stays whole among the harness's own.
    let _ = std::io::stderr().write_all(format!("[jaeger-suite] {line}\n").as_bytes());
    crate::append_to_figures(&line);
    None
}

fn required() -> bool {
    std::env::var(REQUIRE_ALL).is_ok_and(|v| v.trim() == "1")
}

/// The test harness names each test's thread after the test.
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "a test".to_owned(),
    }
}
