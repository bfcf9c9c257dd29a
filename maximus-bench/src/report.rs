//! What the benches print at the end: medians taken from the samples criterion timed,
//! laid out as the Markdown table `BENCHMARKS.md` holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Every `(iterations, time)` that one bench's `iter_custom` returned, in order.
#[derive(Debug, Default)]
pub struct Samples(Mutex<Vec<(u64, Duration)>>);

impl Samples {
    /// Records one call and hands its time back to criterion.
    pub fn record(&self, iterations: u64, took: Duration) -> Duration {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((iterations, took));
        took
    }

    /// Iterations timed in all (warm-up included).
    pub fn iterations(&self) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(n, _)| n)
            .sum()
    }

    /// The median time per iteration, in nanoseconds, over the last `samples` calls:
    /// criterion's measured samples come after its warm-up calls, and its "median" is this
    /// one (of the per-sample means). `None` when the bench did not run.
    pub fn median_ns(&self, samples: usize) -> Option<f64> {
        let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let last = &all[all.len().saturating_sub(samples)..];
        let mut per_iteration: Vec<f64> = last
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, d)| d.as_secs_f64() * 1e9 / *n as f64)
            .collect();
        if per_iteration.is_empty() {
            return None;
        }
        per_iteration.sort_by(f64::total_cmp);
        let mid = per_iteration.len() / 2;
        Some(if per_iteration.len() % 2 == 1 {
            per_iteration[mid]
        } else {
            (per_iteration[mid - 1] + per_iteration[mid]) / 2.0
        })
    }
}

/// Rows (arms) by columns (shapes) of nanoseconds, printed in the order first seen.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<String>,
    columns: Vec<String>,
    cells: BTreeMap<(usize, usize), f64>,
}

impl Table {
    /// Sets one cell.
    pub fn set(&mut self, row: &str, column: &str, value: f64) {
        let r = index_of(&mut self.rows, row);
        let c = index_of(&mut self.columns, column);
        self.cells.insert((r, c), value);
    }

    /// One cell, if set.
    pub fn get(&self, row: &str, column: &str) -> Option<f64> {
        let r = self.rows.iter().position(|x| x == row)?;
        let c = self.columns.iter().position(|x| x == column)?;
        self.cells.get(&(r, c)).copied()
    }

    /// A GitHub-flavoured Markdown table; `-` where a bench did not run.
    pub fn markdown(&self, corner: &str) -> String {
        let mut out = format!("| {corner} |");
        for c in &self.columns {
            let _ = write!(out, " {c} |");
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(self.columns.len()));
        out.push('\n');
        for (r, row) in self.rows.iter().enumerate() {
            let _ = write!(out, "| {row} |");
            for c in 0..self.columns.len() {
                match self.cells.get(&(r, c)) {
                    Some(v) => {
                        let _ = write!(out, " {} |", format_ns(*v));
                    }
                    None => out.push_str(" - |"),
                }
            }
            out.push('\n');
        }
        out
    }
}

fn index_of(list: &mut Vec<String>, name: &str) -> usize {
    match list.iter().position(|x| x == name) {
        Some(i) => i,
        None => {
            list.push(name.to_owned());
            list.len() - 1
        }
    }
}

/// Two significant decimals below 10 ns, one below 1000, none above.
pub fn format_ns(ns: f64) -> String {
    if ns < 10.0 {
        format!("{ns:.2}")
    } else if ns < 1000.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.0}")
    }
}
