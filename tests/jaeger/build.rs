//! Finds the Jaeger binary the suite runs against: `MAXIMUS_JAEGER_BIN`, else the one
//! `scripts/jaeger build` leaves in its cache. Without one, every test is ignored
//! (`cfg(jaeger_missing)`) or skipped (at run time) with a reason naming the script, so
//! `cargo test --workspace` passes on a machine without Go.
//!
//! This script writes nothing but its output to cargo. Cargo must rerun it when the binary
//! appears; cargo reruns a script when a path it watches changes, on every build when one is
//! missing, and it watches a directory by scanning all of it, recursively. So the script
//! watches the nearest of the binary, its directory and the suite's cache directory that
//! exists (for a `MAXIMUS_JAEGER_BIN` of the user's choice, the file only), and then may
//! ignore the tests. When none exists (a machine that never ran `scripts/jaeger`), the only
//! paths left to watch are `~/.cache` or `$HOME`, far too large to scan on every build: then
//! nothing is decided here, and each test looks for the binary when it runs (`jaeger_test!`).
//!
//! With `MAXIMUS_SUITE_REQUIRE_ALL=1` (`.ci/run`) no test is ignored: a missing binary fails.
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(jaeger_missing)");
    for var in [
        "MAXIMUS_JAEGER_BIN",
        "MAXIMUS_TRACE_CACHE",
        "XDG_CACHE_HOME",
        "HOME",
        "MAXIMUS_SUITE_REQUIRE_ALL",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=../../tools/jaeger/go.mod");
    let cache = cache_dir();
    let (bin, watchable) = match std::env::var_os("MAXIMUS_JAEGER_BIN").filter(|v| !v.is_empty()) {
        // A directory of the user's choice may be large (`/usr/local/bin`): the file only.
        Some(bin) => {
            let bin = PathBuf::from(bin);
            (bin.clone(), vec![bin])
        }
        None => {
            let dir = cache.join(format!("jaeger-{}", jaeger_version()));
            let bin = dir.join("jaeger");
            (bin.clone(), vec![bin, dir, cache.clone()])
        }
    };
    let watched = watchable.iter().find(|path| path.exists());
    if let Some(path) = watched {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    let require_all = std::env::var("MAXIMUS_SUITE_REQUIRE_ALL").is_ok_and(|v| v.trim() == "1");
    if watched.is_some() && !bin.is_file() && !require_all {
        println!("cargo::rustc-cfg=jaeger_missing");
    }
    println!("cargo::rustc-env=MAXIMUS_JAEGER_BIN_DEFAULT={}", bin.display());
    println!("cargo::rustc-env=MAXIMUS_TRACE_CACHE_DIR={}", cache.display());
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MAXIMUS_TRACE_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("maximus-trace")
}

/// The module version pinned in `tools/jaeger/go.mod` (what `scripts/jaeger` builds).
fn jaeger_version() -> String {
    let go_mod = std::fs::read_to_string("../../tools/jaeger/go.mod").unwrap_or_default();
    go_mod
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "github.com/jaegertracing/jaeger").then(|| words.next())?
        })
        .next()
        .unwrap_or("v1.75.0")
        .to_owned()
}
