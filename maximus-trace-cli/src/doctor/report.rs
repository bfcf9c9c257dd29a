//! The doctor's report: one line per step as it completes, a fix under each failure, and the
//! exit code the steps add up to.

use std::fmt::Display;

/// A check failed.
const EXIT_FAILED: u8 = 1;
/// Everything passed up to sending, but delivery to Jaeger was not confirmed.
const EXIT_UNCONFIRMED: u8 = 3;

#[derive(Debug, Default)]
pub struct Report {
    failed: bool,
    confirmed: bool,
}

impl Report {
    pub fn ok(&mut self, step: &str, detail: impl Display) {
        println!("[ OK ] {step:<14} {detail}");
    }

    pub fn fail(&mut self, step: &str, detail: impl Display, fix: impl Display) {
        self.failed = true;
        println!("[FAIL] {step:<14} {detail}");
        for (i, line) in fix.to_string().lines().enumerate() {
            let label = if i == 0 { "fix:" } else { "    " };
            println!("       {label} {line}");
        }
    }

    pub fn skip(&mut self, step: &str, why: impl Display) {
        println!("[SKIP] {step:<14} {why}");
    }

    pub fn note(&mut self, text: impl Display) {
        for line in text.to_string().lines() {
            println!("       {line}");
        }
    }

    /// Jaeger showed the test trace.
    pub fn confirmed(&mut self) {
        self.confirmed = true;
    }

    /// Prints the verdict.
    pub fn finish(self) -> Self {
        let verdict = if self.failed {
            "FAILED: fix the first failing step above, then run the doctor again."
        } else if self.confirmed {
            "OK: traces from this environment reach Jaeger."
        } else {
            "NOT CONFIRMED: the test trace was sent; pass --jaeger-ui http://<jaeger>:16686 to confirm it arrived."
        };
        println!("\n{verdict}");
        self
    }

    pub fn exit_code(&self) -> u8 {
        if self.failed {
            EXIT_FAILED
        } else if self.confirmed {
            0
        } else {
            EXIT_UNCONFIRMED
        }
    }
}
