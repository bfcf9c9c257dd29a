//! The Python service of `python/service.py` on the official OpenTelemetry SDK, in a venv
//! that `python/setup_venv.sh` makes from PyPI (once per machine, in the suite's cache).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The venv's Python, made (or found up to date) by `setup_venv.sh`.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = Path::new(env!("MAXIMUS_TRACE_CACHE_DIR")).join("python-venv");
        let output = Command::new("bash")
            .arg(dir().join("setup_venv.sh"))
            .arg(&venv)
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs setup_venv.sh");
        assert!(
            output.status.success(),
            "setup_venv.sh failed: the Python venv needs python3 (>= 3.10, with venv) and PyPI"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("setup_venv.sh prints the python path")
                .trim(),
        )
    })
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
    /// Starts it as service `name`, exporting over OTLP/HTTP to `traces_url`.
    pub fn start(name: &str, traces_url: &str) -> PythonService {
        let mut child = Command::new(python())
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
        let line = BufReader::new(stdout)
            .lines()
            .next()
            .and_then(Result::ok)
            .unwrap_or_default();
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("service.py did not say where it listens: {line:?}"));
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
