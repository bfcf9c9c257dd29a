//! Our own programs, built by cargo and run as a user runs them: the main job
//! (`test_tracing`), the mock MAXIMUS (`maximus-mock`) and the doctor (`maximus-trace`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use crate::process;

/// The binaries, built once per test process with every exporter compiled in.
#[derive(Debug)]
pub struct Programs {
    /// `cargo run --example test_tracing`.
    pub test_tracing: PathBuf,
    /// `cargo run -p maximus-mock`.
    pub mock: PathBuf,
    /// `cargo run -p maximus-trace-cli` (the `maximus-trace` command).
    pub cli: PathBuf,
}

/// Builds (or finds up to date) the programs: `cargo build` of the workspace's example,
/// mock and CLI, with the `grpc` and `zipkin` exporters. Cargo holds no lock while tests
/// run, so this works from inside `cargo test`.
pub fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    PROGRAMS.get_or_init(build)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn build() -> Programs {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "-p",
            "maximus-examples",
            "-p",
            "maximus-mock",
            "-p",
            "maximus-trace-cli",
            "--example",
            "test_tracing",
            "--bin",
            "maximus-mock",
            "--bin",
            "maximus-trace",
            "--features",
            "maximus-trace/grpc,maximus-trace/zipkin",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo build of the programs failed");
    let mut executables = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let (Some(name), Some(path)) = (message["target"]["name"].as_str(), message["executable"].as_str())
        {
            executables.insert(name.to_owned(), PathBuf::from(path));
        }
    }
    let mut take = |name: &str| {
        executables
            .remove(name)
            .unwrap_or_else(|| panic!("cargo built no executable {name}"))
    };
    Programs {
        test_tracing: take("test_tracing"),
        mock: take("maximus-mock"),
        cli: take("maximus-trace"),
    }
}

/// A command with only the variables a test gives it (and `PATH`, `HOME`): the machine's
/// own tracing variables must not leak into what a test asserts.
pub fn command(program: &Path, vars: &[(&str, String)]) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for keep in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(keep) {
            command.env(keep, value);
        }
    }
    command.env("RUST_LOG", "info");
    for (key, value) in vars {
        command.env(key, value);
    }
    command
}

/// One run of the main job.
#[derive(Debug)]
pub struct MainJob {
    /// Its standard output.
    pub stdout: String,
    /// Its standard error (the log).
    pub stderr: String,
    /// When it started and ended (wall clock, taken here).
    pub started: SystemTime,
    /// See `started`.
    pub ended: SystemTime,
    /// How long it ran, measured here.
    pub took: Duration,
}

/// How long the main job may run: about a second normally, a few with the faults the tests
/// inject and a slow collector.
const MAIN_JOB_LIMIT: Duration = Duration::from_secs(120);

/// How long the mock gets to say where it listens (it takes milliseconds).
const MOCK_START_LIMIT: Duration = Duration::from_secs(60);

impl MainJob {
    /// Runs `test_tracing` with `vars` and waits (at most 120 s) for it; panics
    /// unless it succeeds in time.
    pub fn run(vars: &[(&str, String)]) -> MainJob {
        let program = &programs().test_tracing;
        let started = SystemTime::now();
        let clock = Instant::now();
        let Output {
            status,
            stdout,
            stderr,
        } = process::output_within(
            &mut command(program, vars),
            MAIN_JOB_LIMIT,
            "the main job (test_tracing)",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let job = MainJob {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            started,
            ended: SystemTime::now(),
            took: clock.elapsed(),
        };
        assert!(
            status.success(),
            "test_tracing failed ({status}):\n{}\n{}",
            job.stdout,
            job.stderr
        );
        job
    }

    /// `(recorded, exported)` as the job reported them for `service`
    /// (`<service>: N spans recorded, M exported.`).
    pub fn counts(&self, service: &str) -> Option<(u64, u64)> {
        recorded_and_exported(&self.stdout, service)
    }

    /// The trace links it printed (`<ui>/trace/<id>`), in its order.
    pub fn trace_links(&self) -> Vec<String> {
        self.stdout
            .lines()
            .map(str::trim)
            .filter(|line| line.contains("/trace/"))
            .map(str::to_owned)
            .collect()
    }
}

/// A `maximus-mock` process; [`MockProcess::stop`] stops it with SIGTERM, so it exports its
/// spans; dropping it kills it.
#[derive(Debug)]
pub struct MockProcess {
    child: Option<Child>,
    url: String,
    /// Its log (standard error), collected as it runs.
    log: std::sync::Arc<std::sync::Mutex<String>>,
    drain: Option<std::thread::JoinHandle<()>>,
}

impl MockProcess {
    /// Starts the mock on a free port, exporting its server spans as `vars` say; waits (at
    /// most 60 s) until it listens.
    pub fn start(vars: &[(&str, String)]) -> MockProcess {
        let mut child = command(&programs().mock, vars)
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("maximus-mock starts");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let collected = std::sync::Arc::clone(&log);
        let drain = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = collected.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let url = process::announcement(&mut child, stdout, MOCK_START_LIMIT, "maximus-mock", |line| {
            let url = line.strip_prefix("maximus-mock listening on ")?;
            Some(url.trim().to_owned())
        })
        .unwrap_or_else(|e| {
            let log = log.lock().unwrap_or_else(|e| e.into_inner());
            panic!("{e}; its log:\n{log}")
        });
        MockProcess {
            child: Some(child),
            url,
            log,
            drain: Some(drain),
        }
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `POST /__mock/faults` with `injection` (see `maximus-mock --help`).
    pub fn inject(&self, injection: serde_json::Value) {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/__mock/faults", self.url))
            .json(&injection)
            .send()
            .expect("the mock's admin API answers");
        assert!(response.status().is_success(), "fault not accepted: {injection}");
    }

    /// Stops it with SIGTERM and waits (bounded) for it to export and exit; its log.
    pub fn stop(&mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    _ if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!("maximus-mock did not exit within 15 s of SIGTERM");
                    }
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
            if let Some(drain) = self.drain.take() {
                let _ = drain.join();
            }
        }
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `(recorded, exported)` as the stopped mock reported them
    /// (`maximus-mock: N spans recorded, M exported`).
    pub fn counts(log: &str) -> Option<(u64, u64)> {
        recorded_and_exported(log, "maximus-mock")
    }
}

/// `(N, M)` from the first line of `text` that says `<who>: N spans recorded, M exported`
/// (anywhere in the line: a log line has its prefix).
fn recorded_and_exported(text: &str, who: &str) -> Option<(u64, u64)> {
    let marker = format!("{who}: ");
    text.lines().find_map(|line| {
        let (_, rest) = line.split_once(&marker)?;
        let (recorded, rest) = rest.split_once(" spans recorded, ")?;
        let exported = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        Some((recorded.trim().parse().ok()?, exported.parse().ok()?))
    })
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::recorded_and_exported;

    #[test]
    fn counts_are_read_from_a_report_line_or_a_log_line() {
        let stdout = "maximus-core: GET /health\nmaximus-test-client: 9 spans recorded, 8 exported.\n";
        assert_eq!(recorded_and_exported(stdout, "maximus-test-client"), Some((9, 8)));
        assert_eq!(recorded_and_exported(stdout, "maximus-core"), None);
        let log = "[2025-01-01T00:00:00Z INFO maximus_mock] maximus-mock: 3 spans recorded, 3 exported\n";
        assert_eq!(recorded_and_exported(log, "maximus-mock"), Some((3, 3)));
    }
}
