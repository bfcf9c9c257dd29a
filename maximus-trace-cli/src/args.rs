//! The command line, parsed by hand: one subcommand and two flags do not need a framework.

use std::time::Duration;

pub const USAGE: &str = "\
Usage: maximus-trace doctor [--jaeger-ui URL] [--timeout SECS]

Checks, step by step, that traces from this environment reach Jaeger: the configuration
the library resolves (same environment variables), the endpoint's DNS name and port, a
test trace sent through a real pipeline, and (with --jaeger-ui) Jaeger's query API.

Options:
  --jaeger-ui URL   Jaeger's UI / query address, e.g. http://localhost:16686; the test
                    trace is looked up there. Without it delivery cannot be confirmed.
  --timeout SECS    How long to wait for the trace to appear in Jaeger (default 30).
  -h, --help        This text.
  -V, --version     The version.

Exit codes: 0 the trace was confirmed in Jaeger; 1 a check failed; 2 bad usage;
3 the trace was sent but not confirmed (no --jaeger-ui).";

/// Bad command line.
pub const EXIT_USAGE: u8 = 2;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, PartialEq)]
pub enum Command {
    Doctor(DoctorOptions),
    Help,
    Version,
}

#[derive(Debug, PartialEq)]
pub struct DoctorOptions {
    pub jaeger_ui: Option<String>,
    pub timeout: Duration,
}

/// Parses everything after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let command = match args.next().as_deref() {
        Some("doctor") => "doctor",
        Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("-V" | "--version") => return Ok(Command::Version),
        Some(other) => return Err(format!("unknown command `{other}`")),
        None => return Err("a command is needed".to_owned()),
    };
    debug_assert_eq!(command, "doctor");
    let mut options = DoctorOptions {
        jaeger_ui: None,
        timeout: DEFAULT_TIMEOUT,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--jaeger-ui" => {
                let url = value("--jaeger-ui")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("--jaeger-ui {url:?}: expected an http:// URL"));
                }
                options.jaeger_ui = Some(url);
            }
            "--timeout" => {
                let raw = value("--timeout")?;
                let secs: f64 = raw
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 3_600.0)
                    .ok_or_else(|| format!("--timeout {raw:?}: expected seconds between 0 and 3600"))?;
                options.timeout = Duration::from_secs_f64(secs);
            }
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(Command::Doctor(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Command, String> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn doctor_takes_both_flags_in_either_spelling() {
        let expected = Command::Doctor(DoctorOptions {
            jaeger_ui: Some("http://localhost:16686".into()),
            timeout: Duration::from_secs(5),
        });
        assert_eq!(
            parse_str("doctor --jaeger-ui http://localhost:16686 --timeout 5"),
            Ok(expected)
        );
        assert!(parse_str("doctor --jaeger-ui=http://localhost:16686 --timeout=5").is_ok());
        assert_eq!(
            parse_str("doctor"),
            Ok(Command::Doctor(DoctorOptions {
                jaeger_ui: None,
                timeout: DEFAULT_TIMEOUT
            }))
        );
    }

    #[test]
    fn mistakes_are_errors_not_panics() {
        for bad in [
            "",
            "cure",
            "doctor --jaeger-ui",
            "doctor --timeout soon",
            "doctor --timeout -1",
            "doctor --jaeger-ui localhost:16686",
            "doctor --verbose",
        ] {
            assert!(parse_str(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
