//! What `init()` says through the `log` facade, and the errors it returns for bad settings.

mod support;

use std::sync::{Mutex, Once, PoisonError};

use maximus_trace::{ConfigError, Exporter, TracingBuilder, TracingManager};

/// Records every message logged in this test binary.
struct Recorder;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = record.args().to_string();
        LINES.lock().unwrap_or_else(PoisonError::into_inner).push(line);
    }

    fn flush(&self) {}
}

fn install_recorder() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Recorder).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// A builder that ignores the process environment.
fn builder() -> TracingBuilder {
    TracingManager::builder()
        .environment(|_| None)
        .service_name("log-test")
}

/// Runs `init()` and returns the `Tracing initialized` lines it logged.
fn initialized_lines(builder: TracingBuilder) -> Vec<String> {
    let _lock = support::exclusive();
    install_recorder();
    LINES.lock().unwrap_or_else(PoisonError::into_inner).clear();
    let guard = builder.init().expect("init");
    let lines: Vec<String> = LINES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|l| l.starts_with("Tracing initialized"))
        .cloned()
        .collect();
    drop(guard);
    lines
}

/// The error `init()` returns when the environment holds `vars`.
fn init_error_with(vars: &'static [(&'static str, &'static str)]) -> ConfigError {
    let _lock = support::exclusive();
    TracingManager::builder()
        .environment(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .init()
        .expect_err("init must fail")
}

fn assert_names(error: &ConfigError, words: &[&str]) {
    let message = error.to_string();
    for word in words {
        assert!(message.contains(word), "{message:?} does not name {word}");
    }
}

// ---------------------------------------------------------------------------------------------
// The `Tracing initialized` line
// ---------------------------------------------------------------------------------------------

#[test]
fn init_logs_one_line_naming_service_endpoint_and_exporter() {
    let lines = initialized_lines(builder().exporter(Exporter::None));
    assert_eq!(lines, ["Tracing initialized: log-test -> nowhere (none)"]);
}

#[test]
fn init_with_the_console_exporter_logs_one_line_naming_it() {
    let lines = initialized_lines(builder().exporter(Exporter::Console));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("Tracing initialized: log-test -> "),
        "{lines:?}"
    );
    assert!(lines[0].ends_with(" (console)"), "{lines:?}");
}

#[test]
fn init_line_names_the_jaeger_agent_address() {
    let lines = initialized_lines(builder().jaeger_agent("127.0.0.1", 6831));
    assert_eq!(
        lines,
        ["Tracing initialized: log-test -> udp://127.0.0.1:6831 (jaeger)"]
    );
}

#[test]
fn init_line_redacts_otlp_endpoint_credentials() {
    let lines = initialized_lines(builder().otlp_endpoint("http://user:password@127.0.0.1:4318/v1/traces"));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(!line.contains("password") && !line.contains("user:"), "{line}");
    assert!(line.contains("127.0.0.1:4318/v1/traces"), "{line}");
    assert!(line.ends_with(" (otlp)"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// Configuration errors
// ---------------------------------------------------------------------------------------------

#[test]
fn jaeger_agent_port_out_of_range_is_an_error_naming_variable_and_value() {
    let error = init_error_with(&[("JAEGER_AGENT_PORT", "70000")]);
    assert_names(&error, &["JAEGER_AGENT_PORT", "70000"]);
}

#[test]
fn tracing_enabled_that_is_not_a_boolean_is_an_error_naming_variable_and_value() {
    let error = init_error_with(&[("MAXIMUS_TRACING_ENABLED", "maybe")]);
    assert_names(&error, &["MAXIMUS_TRACING_ENABLED", "maybe"]);
}

#[test]
fn sampler_ratio_above_one_is_an_error_naming_variable_and_value() {
    let error = init_error_with(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
    ]);
    assert_names(&error, &["OTEL_TRACES_SAMPLER_ARG", "1.5"]);
}

#[test]
fn otlp_endpoint_that_is_not_a_url_is_an_error_naming_variable_and_value() {
    let error = init_error_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]);
    assert_names(&error, &["OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"]);
}

#[test]
fn nan_sample_ratio_is_an_error_naming_the_setting() {
    let _lock = support::exclusive();
    let error = builder()
        .sample_ratio(f64::NAN)
        .init()
        .expect_err("init must fail");
    assert_names(&error, &["sample_ratio"]);
}

#[test]
fn failed_init_leaves_tracing_off_and_a_later_init_works() {
    let _lock = support::exclusive();
    let failed = builder().sample_ratio(f64::NAN).init();
    assert!(failed.is_err());
    assert!(!maximus_trace::is_enabled());
    let guard = builder()
        .exporter(Exporter::None)
        .init()
        .expect("init after a failed one");
    assert!(guard.is_enabled());
}

#[test]
fn service_name_comes_from_the_variable_then_the_resource_attributes_then_the_default() {
    let resolve = |env: &'static [(&'static str, &'static str)]| {
        TracingManager::builder()
            .default_service_name("fallback")
            .environment(support::vars(env))
            .describe()
            .unwrap()
            .service_name
    };
    assert_eq!(resolve(&[]), "fallback");
    assert_eq!(
        resolve(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource,team=ai")]),
        "from-resource"
    );
    assert_eq!(
        resolve(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource"),
            ("OTEL_SERVICE_NAME", "from-var")
        ]),
        "from-var"
    );
}
