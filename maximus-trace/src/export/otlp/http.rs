//! The built-in OTLP/HTTP exporter: records encoded straight to protobuf (`encode.rs`) on
//! the export thread, posted with a blocking `reqwest` client from a thread of its own.
//!
//! A failed post is retried when the failure is one a collector expects to be retried (no
//! connection, a timeout, 429, 502, 503, 504): up to three more times, pausing 100, 200, then
//! 400 ms (or what `Retry-After` asks, up to 5 s), within the export timeout, as
//! `opentelemetry-otlp` does.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::encode::Encoder;
use crate::config::{ConfigError, Exporter, Settings};
use crate::engine::Record;
use crate::engine::clock::WallClock;
use crate::export::monitored::Report;
use crate::export::sinks::failure;

/// The first pause before a retry; doubled each time.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Retries after the first attempt.
const RETRIES: u32 = 3;
/// The longest `Retry-After` honoured.
const MAX_PAUSE: Duration = Duration::from_secs(5);

pub(crate) struct OtlpHttp {
    poster: Poster,
    encoder: Encoder,
    /// Counts and logs what the posts achieve.
    report: Arc<Report>,
    /// The posting thread, started with the first batch.
    sending: Option<Sending>,
}

/// How to post a batch (checked at `init()`); moved to the posting thread.
#[derive(Clone)]
pub(crate) struct Poster {
    endpoint: String,
    headers: HeaderMap,
    /// One request's timeout, and the bound on all attempts for one batch.
    timeout: Duration,
}

/// Batches are posted from threads of their own ([`POSTERS`] requests at once, on as many
/// kept-alive connections), at most [`IN_FLIGHT`] batches handed over at a time, so the
/// export thread keeps draining the queue (encoding takes microseconds; a round trip can
/// take milliseconds) and a slow collector costs encoded bytes, not dropped spans, until
/// that bound.
struct Sending {
    jobs: mpsc::Sender<Job>,
    in_flight: Arc<(Mutex<usize>, Condvar)>,
    threads: Vec<JoinHandle<()>>,
}

/// Requests posted at once.
const POSTERS: usize = 2;
/// Encoded batches posted or waiting to be; more waits for a posting thread.
const IN_FLIGHT: usize = 4;

struct Job {
    body: bytes::Bytes,
    spans: usize,
}

impl Poster {
    /// The endpoint, headers and timeout of `settings`; an error names what is wrong.
    pub(crate) fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &settings.otlp_headers {
            let bad = |what: &str| ConfigError::Exporter {
                exporter: Exporter::Otlp,
                // The value may be a credential: only the header's name is shown.
                reason: format!("OTLP header {name:?} has an invalid {what}"),
            };
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("name"))?;
            let mut value = HeaderValue::from_str(value.trim()).map_err(|_| bad("value"))?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        if reqwest::Url::parse(&settings.otlp_endpoint).is_err() {
            return Err(ConfigError::Exporter {
                exporter: Exporter::Otlp,
                reason: format!("{} is not a URL", crate::redact::url(&settings.otlp_endpoint)),
            });
        }
        Ok(Poster {
            endpoint: settings.otlp_endpoint.clone(),
            headers,
            timeout: settings.otlp_timeout.min(settings.batch.export_timeout),
        })
    }
}

impl OtlpHttp {
    /// Posts to `poster`'s endpoint for `resource`; `report` counts and logs the outcomes.
    pub(crate) fn new(poster: Poster, report: Report, resource: &opentelemetry_sdk::Resource) -> Self {
        OtlpHttp {
            poster,
            encoder: Encoder::new(resource),
            report: Arc::new(report),
            sending: None,
        }
    }

    /// Encodes the `spans` records of `records` and hands the body to the posting thread
    /// (waiting while [`IN_FLIGHT`] batches are out). The outcome is counted when the post
    /// completes.
    pub(crate) fn export<'a>(
        &mut self,
        records: impl Iterator<Item = &'a Record> + Clone,
        spans: usize,
        clock: &WallClock,
    ) {
        let body = bytes::Bytes::from(self.encoder.encode(records, clock));
        if self.sending.is_none() {
            match Sending::start(self.poster.clone(), Arc::clone(&self.report)) {
                Ok(sending) => self.sending = Some(sending),
                Err(error) => return self.report.failure(failure(error), spans),
            }
        }
        let Some(sending) = &self.sending else { return };
        let (count, room) = &*sending.in_flight;
        let mut in_flight = count.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_flight >= IN_FLIGHT {
            in_flight = room.wait(in_flight).unwrap_or_else(PoisonError::into_inner);
        }
        *in_flight += 1;
        drop(in_flight);
        if sending.jobs.send(Job { body, spans }).is_err() {
            self.report
                .failure(failure("the posting thread has stopped"), spans);
        }
    }

    /// Waits (until `deadline` at most) until every batch handed over has been posted;
    /// whether they were.
    pub(crate) fn wait_idle(&self, deadline: Instant) -> bool {
        let Some(sending) = &self.sending else { return true };
        let (count, idle) = &*sending.in_flight;
        let mut in_flight = count.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_flight > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            in_flight = idle
                .wait_timeout(in_flight, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Posts what is handed over, then stops the posting threads (which drop the client).
    /// Posts still out at `deadline` are left to finish on their own (joining their threads
    /// would overrun the bound); whether none were.
    pub(crate) fn shutdown(&mut self, deadline: Instant) -> bool {
        let idle = self.wait_idle(deadline);
        if let Some(sending) = self.sending.take() {
            drop(sending.jobs);
            if idle {
                for thread in sending.threads {
                    let _ = thread.join();
                }
            }
        }
        idle
    }
}

impl Sending {
    /// Starts the posting threads (called on the export thread: a blocking client owns a
    /// runtime, which must not be created or dropped inside an async context, and `init()`
    /// may run in one).
    fn start(poster: Poster, report: Arc<Report>) -> Result<Self, String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(poster.timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let in_flight = Arc::new((Mutex::new(0), Condvar::new()));
        let mut threads = Vec::with_capacity(POSTERS);
        for _ in 0..POSTERS {
            let (poster, report, client) = (poster.clone(), Arc::clone(&report), client.clone());
            let (queue, counter) = (Arc::clone(&queue), Arc::clone(&in_flight));
            let thread = std::thread::Builder::new()
                .name("maximus-trace-otlp".into())
                .spawn(move || post_jobs(&poster, &client, &queue, &report, &counter))
                .map_err(|e| format!("cannot start a posting thread: {e}"))?;
            threads.push(thread);
        }
        Ok(Sending {
            jobs,
            in_flight,
            threads,
        })
    }
}

/// A posting thread: posts jobs until the export thread hangs up.
fn post_jobs(
    poster: &Poster,
    client: &reqwest::blocking::Client,
    queue: &Mutex<mpsc::Receiver<Job>>,
    report: &Report,
    in_flight: &(Mutex<usize>, Condvar),
) {
    loop {
        let job = match queue.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| poster.post(client, job.body)))
            .unwrap_or_else(|_| Err("the HTTP client panicked".to_owned()));
        match outcome {
            Ok(()) => report.success(job.spans),
            Err(error) => report.failure(failure(error), job.spans),
        }
        let (count, changed) = in_flight;
        *count.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        changed.notify_all();
    }
}

impl Poster {
    /// Posts `body`, retrying what a collector expects to be retried; the error says why
    /// (never the URL's credentials).
    fn post(&self, client: &reqwest::blocking::Client, body: bytes::Bytes) -> Result<(), String> {
        let deadline = Instant::now() + self.timeout;
        let mut pause = FIRST_PAUSE;
        let mut retries = 0;
        loop {
            let outcome = client
                .post(&self.endpoint)
                .headers(self.headers.clone())
                .body(body.clone())
                .send();
            let (error, wait) = match outcome {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(response.headers());
                    let text = response.text().unwrap_or_default();
                    let error = format!("HTTP {status}: {}", text.chars().take(200).collect::<String>());
                    if !retryable(status) {
                        return Err(error);
                    }
                    (error, wait)
                }
                Err(e) if e.is_connect() || e.is_timeout() => {
                    (crate::export::describe_transport_error(e), None)
                }
                Err(e) => return Err(crate::export::describe_transport_error(e)),
            };
            let wait = wait.unwrap_or(pause).min(MAX_PAUSE);
            if retries == RETRIES || Instant::now() + wait >= deadline {
                return Err(error);
            }
            std::thread::sleep(wait);
            pause *= 2;
            retries += 1;
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}
