//! Finds the Jaeger binary the suite runs against: `MAXIMUS_JAEGER_BIN`, else the one
//! `scripts/jaeger build` leaves in its cache. Without one, `cfg(jaeger_missing)` turns every
//! test into an ignored one whose reason names the script, so `cargo test --workspace`
//! passes on a machine without Go.
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(jaeger_missing)");
    for var in [
        "MAXIMUS_JAEGER_BIN",
        "MAXIMUS_TRACE_CACHE",
        "XDG_CACHE_HOME",
        "HOME",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let version = jaeger_version();
    println!("cargo::rerun-if-changed=../../tools/jaeger/go.mod");
    let bin = match std::env::var_os("MAXIMUS_JAEGER_BIN").filter(|v| !v.is_empty()) {
        Some(bin) => {
            let bin = PathBuf::from(bin);
            println!("cargo::rerun-if-changed={}", bin.display());
            bin
        }
        None => {
            let dir = cache_dir().join(format!("jaeger-{version}"));
            // Watching the (small) cache directory rather than the binary itself: a missing
            // file would make cargo rebuild this crate on every run. Creating the empty
            // directory is what `scripts/jaeger build` would do first anyway.
            let _ = std::fs::create_dir_all(&dir);
            let bin = dir.join("jaeger");
            if dir.is_dir() {
                println!("cargo::rerun-if-changed={}", dir.display());
            } else {
                println!("cargo::rerun-if-changed={}", bin.display());
            }
            bin
        }
    };
    if !bin.is_file() {
        println!("cargo::rustc-cfg=jaeger_missing");
    }
    println!("cargo::rustc-env=MAXIMUS_JAEGER_BIN_DEFAULT={}", bin.display());
    println!(
        "cargo::rustc-env=MAXIMUS_TRACE_CACHE_DIR={}",
        cache_dir().display()
    );
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
