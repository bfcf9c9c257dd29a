//! A real Prometheus (Debian's `prometheus` package, 2.42), for the Monitor tab's chain: our
//! listener -> Prometheus -> Jaeger's query service; and the text exposition format, read
//! from a `/metrics` endpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers::Missing;
use crate::ports;

/// One sample: the metric name and its labels, sorted.
pub type SeriesKey = (String, BTreeMap<String, String>);

/// Labels of a series in a query result.
pub type Labels = BTreeMap<String, String>;

/// The samples of a text-format (0.0.4) page.
///
/// Written here rather than taken from a crate: the suite needs only sample lines (names,
/// label pairs with the format's three escapes, a float), and the parser crates on crates.io
/// pull in regex and chrono for the full format's timestamps and exemplars.
pub fn parse(text: &str) -> BTreeMap<SeriesKey, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => continue,
        };
        let mut labels = BTreeMap::new();
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let (pairs, after) = split_labels(body);
            labels = pairs;
            after
        } else {
            rest
        };
        let value = rest.split_whitespace().next().unwrap_or("");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or(f64::NAN),
        };
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// `a="x",b="y\"z"} rest` -> the pairs and `rest`.
fn split_labels(body: &str) -> (BTreeMap<String, String>, &str) {
    let mut labels = BTreeMap::new();
    let mut chars = body.char_indices().peekable();
    loop {
        while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
            chars.next();
        }
        match chars.peek() {
            Some((i, '}')) => {
                let i = *i;
                return (labels, &body[i + 1..]);
            }
            None => return (labels, ""),
            _ => {}
        }
        let mut key = String::new();
        for (_, c) in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        chars.next(); // the opening quote
        let mut value = String::new();
        while let Some((_, c)) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                c => value.push(c),
            }
        }
        labels.insert(key.trim().to_owned(), value);
    }
}

/// GETs a `/metrics` page.
pub fn scrape(url: &str) -> Result<BTreeMap<SeriesKey, f64>, String> {
    let body = reqwest::blocking::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.text())
        .map_err(|e| format!("GET {url}: {e}"))?;
    Ok(parse(&body))
}

/// A Prometheus server on a free loopback port, scraping `targets` every second.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// The binary: `MAXIMUS_PROMETHEUS_BIN`, else `prometheus` on the `PATH`, else Debian's
    /// `/usr/bin/prometheus`.
    pub fn binary() -> Result<PathBuf, Missing> {
        let how = "install Debian's package (`apt-get install prometheus`, as .ci/run does) \
                   or set MAXIMUS_PROMETHEUS_BIN";
        if let Some(bin) = std::env::var_os("MAXIMUS_PROMETHEUS_BIN").filter(|v| !v.is_empty()) {
            let bin = PathBuf::from(bin);
            return if bin.is_file() {
                Ok(bin)
            } else {
                Err(Missing::new(
                    format!(
                        "no Prometheus: MAXIMUS_PROMETHEUS_BIN={} is not a file",
                        bin.display()
                    ),
                    how,
                ))
            };
        }
        let on_path = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("prometheus"))
                .find(|p| p.is_file())
        });
        on_path
            .or_else(|| Some(PathBuf::from("/usr/bin/prometheus")).filter(|p| p.is_file()))
            .ok_or_else(|| Missing::new("no Prometheus on the PATH nor at /usr/bin/prometheus", how))
    }

    /// Starts `binary` ([`Prometheus::binary`]) scraping `targets` (`host:port`, path
    /// `/metrics`) every second and waits until it is ready.
    pub fn start(binary: &Path, targets: &[String]) -> Prometheus {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
                 - job_name: maximus\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .expect("the config is written");
        let port = ports::tcp(1)[0];
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("a log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let prometheus = Prometheus {
            child,
            port,
            _dir: dir,
        };
        prometheus.wait_ready(&prometheus._dir.path().join("prometheus.log"));
        prometheus
    }

    fn wait_ready(&self, log: &Path) {
        let url = format!("{}/-/ready", self.url());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "Prometheus was not ready within 30 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// Waits until every target was scraped successfully at least once (Prometheus starts
    /// scraping a target only once its discovery has settled, about 5 s after start).
    pub fn wait_until_scraped(&self) {
        let url = format!("{}/api/v1/targets", self.url());
        crate::eventually("Prometheus scrapes its targets", Duration::from_secs(30), || {
            let targets: serde_json::Value = reqwest::blocking::get(&url)
                .and_then(|r| r.json())
                .map_err(|e| e.to_string())?;
            let active = targets["data"]["activeTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !active.is_empty() && active.iter().all(|t| t["health"] == "up") {
                Ok(())
            } else {
                Err(format!("{active:?}"))
            }
        });
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An instant query at `time` (Unix seconds): each series' labels and value.
    pub fn query(&self, promql: &str, time: f64) -> Result<Vec<(Labels, f64)>, String> {
        let url = format!(
            "{}/api/v1/query?query={}&time={time:.3}",
            self.url(),
            crate::query::encode(promql)
        );
        let response: serde_json::Value = reqwest::blocking::Client::new()
            .get(url)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| format!("query {promql}: {e}"))?;
        if response["status"] != "success" {
            return Err(format!("query {promql}: {response}"));
        }
        let mut out = Vec::new();
        for series in response["data"]["result"].as_array().into_iter().flatten() {
            let labels = series["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let value = series["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
            out.push((labels, value));
        }
        Ok(out)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_labels_escapes_and_special_values() {
        let page = "# HELP m \n# TYPE m counter\nm{a=\"x\",b=\"q\\\"\\\\\\n\"} 3\nn 1.5\nh_bucket{le=\"+Inf\"} +Inf\n";
        let samples = parse(page);
        let key = |name: &str, labels: &[(&str, &str)]| {
            (
                name.to_owned(),
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        assert_eq!(samples[&key("m", &[("a", "x"), ("b", "q\"\\\n")])], 3.0);
        assert_eq!(samples[&key("n", &[])], 1.5);
        assert_eq!(samples[&key("h_bucket", &[("le", "+Inf")])], f64::INFINITY);
    }
}
