//! The Python service of `python/service.py` on the official OpenTelemetry SDK, in a venv
//! that `python/setup_venv.sh` makes from PyPI (once per machine, in the suite's cache).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::peers::Missing;
use crate::process;

/// How long making the venv may take: a `pip install` of the SDK from PyPI, a minute or two
/// on a slow network.
const SETUP_LIMIT: Duration = Duration::from_secs(300);

/// How long `service.py` gets to say where it listens (it takes about a second).
const START_LIMIT: Duration = Duration::from_secs(60);

/// The venv's Python, made (or found up to date) by `setup_venv.sh`; missing when the
/// machine has no Python 3.10 with `venv`, or pip cannot reach PyPI.
pub fn python() -> Result<&'static Path, Missing> {
    static PYTHON: OnceLock<Result<PathBuf, Missing>> = OnceLock::new();
    PYTHON.get_or_init(setup_venv).as_deref().map_err(Missing::clone)
}

fn setup_venv() -> Result<PathBuf, Missing> {
    let venv = Path::new(env!("MAXIMUS_TRACE_CACHE_DIR")).join("python-venv");
    let how = format!(
        "install python3 (>= 3.10, with venv) where pip can reach PyPI, or make the venv with \
         `bash tests/jaeger/python/setup_venv.sh {}`",
        venv.display()
    );
    let mut command = Command::new("bash");
    command
        .arg(dir().join("setup_venv.sh"))
        .arg(&venv)
        // Without a network pip would retry each download for minutes.
        .env("PIP_DEFAULT_TIMEOUT", "20")
        .env("PIP_RETRIES", "2");
    let output = process::output_within(&mut command, SETUP_LIMIT, "setup_venv.sh")
        .map_err(|e| Missing::new(format!("no Python venv for the OpenTelemetry SDK: {e}"), &how))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last().map(str::trim) {
        Some(python) if output.status.success() && !python.is_empty() => Ok(PathBuf::from(python)),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            let why = lines[lines.len().saturating_sub(3)..].join(" / ");
            Err(Missing::new(
                format!("no Python venv for the OpenTelemetry SDK (setup_venv.sh: {why})"),
                how,
            ))
        }
    }
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// A running `service.py`; shut down (spans flushed) by [`PythonService::shutdown`], killed
/// when dropped.
#[derive(Debug)]
pub struct PythonService {
    child: Option<Child>,
    port: u16,
}

impl PythonService {
    /// Starts it with `python` ([`python()`]) as service `name`, exporting over OTLP/HTTP to
    /// `traces_url`; waits (bounded) until it listens.
    pub fn start(python: &Path, name: &str, traces_url: &str) -> PythonService {
        let mut child = Command::new(python)
            .arg(dir().join("service.py"))
            .args([
                "--port",
                "0",
                "--service-name",
                name,
                "--otlp-endpoint",
                traces_url,
            ])
            .env_remove("OTEL_TRACES_SAMPLER")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("service.py starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let port = process::announcement(&mut child, stdout, START_LIMIT, "service.py", |line| {
            line.strip_prefix("LISTENING ")?.trim().parse::<u16>().ok()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        PythonService {
            child: Some(child),
            port,
        }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `POST /shutdown`: flushes its spans and exits; waits (bounded) for the exit.
    pub fn shutdown(&mut self) {
        let _ = reqwest::blocking::Client::new()
            .post(format!("{}/shutdown", self.url()))
            .timeout(Duration::from_secs(30))
            .send();
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("service.py did not exit within 30 s of /shutdown");
        }
    }
}

impl Drop for PythonService {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
