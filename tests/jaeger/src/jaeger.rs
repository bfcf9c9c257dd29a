//! A real Jaeger v2 process: memory storage, every receiver we export to, the query API and
//! the health endpoint, each on a port of its own so tests run side by side.
//!
//! The configuration files are ours (`config/*.yaml.tmpl`); Jaeger expands their `${PORT}`
//! placeholders from its environment.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers::Missing;
use crate::ports;
use crate::query::Query;

/// How long a Jaeger gets to report healthy (it takes about 10 ms on an idle machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Which configuration Jaeger runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Flavor {
    /// All-in-one: memory storage, OTLP, agent UDP and Zipkin receivers, query API.
    Plain,
    /// Plain, plus the `spanmetrics` connector feeding a Prometheus exporter
    /// (`Jaeger::spanmetrics_url`).
    SpanMetrics,
    /// Plain, with the query service reading span metrics from this Prometheus (its Monitor
    /// API, `/api/metrics/...`).
    Monitor {
        /// Base URL of the Prometheus server.
        prometheus_url: String,
    },
}

/// The exporters of maximus-trace, as a user selects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exporter {
    /// OTLP over HTTP (the default).
    OtlpHttp,
    /// OTLP over gRPC.
    OtlpGrpc,
    /// The Jaeger agent's Thrift compact protocol over UDP.
    AgentUdp,
    /// Zipkin v2 JSON.
    Zipkin,
}

impl Exporter {
    /// Every exporter.
    pub const ALL: [Exporter; 4] = [
        Exporter::OtlpHttp,
        Exporter::OtlpGrpc,
        Exporter::AgentUdp,
        Exporter::Zipkin,
    ];

    /// Its name as a service name or file name: `OTLP/HTTP` -> `otlp-http`.
    pub fn slug(self) -> String {
        self.to_string().replace(['/', ' '], "-").to_lowercase()
    }
}

impl std::fmt::Display for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Exporter::OtlpHttp => "OTLP/HTTP",
            Exporter::OtlpGrpc => "OTLP/gRPC",
            Exporter::AgentUdp => "agent UDP",
            Exporter::Zipkin => "Zipkin",
        })
    }
}

/// The ports of one Jaeger (all on 127.0.0.1).
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// OTLP/gRPC receiver.
    pub otlp_grpc: u16,
    /// OTLP/HTTP receiver.
    pub otlp_http: u16,
    /// Jaeger agent Thrift compact receiver (UDP).
    pub agent: u16,
    /// Zipkin receiver.
    pub zipkin: u16,
    /// Query API and UI.
    pub query: u16,
    /// Query gRPC API.
    pub query_grpc: u16,
    /// Health check.
    pub health: u16,
    /// The spanmetrics Prometheus exporter ([`Flavor::SpanMetrics`]).
    pub spanmetrics: u16,
}

impl Ports {
    fn free() -> Ports {
        let tcp = ports::tcp(7);
        Ports {
            otlp_grpc: tcp[0],
            otlp_http: tcp[1],
            agent: ports::udp(&[]),
            zipkin: tcp[2],
            query: tcp[3],
            query_grpc: tcp[4],
            health: tcp[5],
            spanmetrics: tcp[6],
        }
    }
}

/// A running Jaeger, killed when dropped.
#[derive(Debug)]
pub struct Jaeger {
    flavor: Flavor,
    ports: Ports,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Starts so far (a restart is another one; each writes its own log).
    starts: u32,
}

impl Jaeger {
    /// Starts an all-in-one Jaeger on free ports and waits until it is healthy.
    pub fn start() -> Jaeger {
        Jaeger::start_with(Flavor::Plain)
    }

    /// Starts a Jaeger of `flavor` on free ports and waits until it is healthy.
    pub fn start_with(flavor: Flavor) -> Jaeger {
        let mut last = String::new();
        // Another process may take a port between our choice and Jaeger's bind: try again
        // with others.
        for _ in 0..3 {
            let mut jaeger = Jaeger {
                flavor: flavor.clone(),
                ports: Ports::free(),
                dir: tempfile::tempdir().expect("a temporary directory"),
                child: None,
                starts: 0,
            };
            match jaeger.spawn() {
                Ok(()) => return jaeger,
                Err(e) => last = e,
            }
        }
        panic!("Jaeger did not start: {last}");
    }

    /// The Jaeger binary: `MAXIMUS_JAEGER_BIN`, else what `scripts/jaeger build` made.
    pub fn binary() -> Result<PathBuf, Missing> {
        let bin = std::env::var_os("MAXIMUS_JAEGER_BIN")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("MAXIMUS_JAEGER_BIN_DEFAULT")));
        if bin.is_file() {
            Ok(bin)
        } else {
            Err(Missing::new(
                format!("no Jaeger binary at {}", bin.display()),
                "run `scripts/jaeger build` (needs Go >= 1.24.6) or set MAXIMUS_JAEGER_BIN",
            ))
        }
    }

    fn config(&self) -> PathBuf {
        let file = match self.flavor {
            Flavor::Plain => "jaeger.yaml.tmpl",
            Flavor::SpanMetrics => "jaeger-spm.yaml.tmpl",
            Flavor::Monitor { .. } => "jaeger-monitor.yaml.tmpl",
        };
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config").join(file)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("jaeger-{}.log", self.starts))
    }

    fn spawn(&mut self) -> Result<(), String> {
        self.starts += 1;
        let log = File::create(self.log_path()).map_err(|e| e.to_string())?;
        let p = self.ports;
        let binary = Jaeger::binary().unwrap_or_else(|missing| panic!("{missing}"));
        let mut command = Command::new(&binary);
        command
            .arg("--config")
            .arg(format!("file:{}", self.config().display()))
            .env("OTLP_GRPC_PORT", p.otlp_grpc.to_string())
            .env("OTLP_HTTP_PORT", p.otlp_http.to_string())
            .env("AGENT_COMPACT_PORT", p.agent.to_string())
            .env("ZIPKIN_PORT", p.zipkin.to_string())
            .env("QUERY_PORT", p.query.to_string())
            .env("QUERY_GRPC_PORT", p.query_grpc.to_string())
            .env("HEALTH_PORT", p.health.to_string())
            .env("SPANMETRICS_PROM_PORT", p.spanmetrics.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if let Flavor::Monitor { prometheus_url } = &self.flavor {
            command.env("PROMETHEUS_URL", prometheus_url);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        self.child = Some(child);
        self.wait_healthy()
    }

    fn wait_healthy(&mut self) -> Result<(), String> {
        let url = format!("http://127.0.0.1:{}/status", self.ports.health);
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("Jaeger exited with {status}:\n{}", self.log_tail()));
                }
            }
            if client.get(&url).send().is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        Err(format!(
            "Jaeger was not healthy at {url} within {START_TIMEOUT:?}:\n{}",
            self.log_tail()
        ))
    }

    /// The last lines Jaeger logged (for failure messages).
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Kills Jaeger at once (SIGKILL): what it held in memory is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts Jaeger again on the same ports (with empty storage).
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                // The old process's ports can take a moment to be free again.
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("Jaeger did not restart: {e}"),
            }
        }
    }

    /// Its ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The query API (and UI) base URL, e.g. `http://127.0.0.1:16686`.
    pub fn query_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.query)
    }

    /// A client of its query API.
    pub fn query(&self) -> Query {
        Query::new(self.query_url())
    }

    /// The spanmetrics connector's Prometheus endpoint ([`Flavor::SpanMetrics`]).
    pub fn spanmetrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.ports.spanmetrics)
    }

    /// The variables a user sets to send spans here with `exporter`.
    pub fn env(&self, exporter: Exporter) -> Vec<(&'static str, String)> {
        let p = self.ports;
        match exporter {
            Exporter::OtlpHttp => vec![
                ("MAXIMUS_TRACE_EXPORTER", "otlp".to_owned()),
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    format!("http://127.0.0.1:{}", p.otlp_http),
                ),
            ],
            Exporter::OtlpGrpc => vec![
                ("MAXIMUS_TRACE_EXPORTER", "otlp-grpc".to_owned()),
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    format!("http://127.0.0.1:{}", p.otlp_grpc),
                ),
            ],
            Exporter::AgentUdp => vec![
                ("MAXIMUS_TRACE_EXPORTER", "jaeger".to_owned()),
                ("JAEGER_AGENT_HOST", "127.0.0.1".to_owned()),
                ("JAEGER_AGENT_PORT", p.agent.to_string()),
            ],
            Exporter::Zipkin => vec![
                ("MAXIMUS_TRACE_EXPORTER", "zipkin".to_owned()),
                (
                    "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
                    format!("http://127.0.0.1:{}/api/v2/spans", p.zipkin),
                ),
            ],
        }
    }

    /// [`Jaeger::env`] as an environment lookup, for `TracingBuilder::environment`.
    pub fn lookup(&self, exporter: Exporter) -> impl Fn(&str) -> Option<String> + 'static {
        let vars = self.env(exporter);
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        }
    }
}

impl Drop for Jaeger {
    fn drop(&mut self) {
        self.kill();
    }
}
