//! `ClientBuilder`: explicit settings first, environment variables as defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use maximus_trace::http::SemConv;
use url::Url;

use crate::client::{Inner, MaximusClient};
use crate::error::{Error, Result};

const DEFAULT_URL: &str = "http://localhost:8100";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Configures a [`MaximusClient`]. Unset settings come from `MAXIMUS_CORE_URL`,
/// `MAXIMUS_API_KEY`, `JWT_TOKEN` and `MAXIMUS_TIMEOUT_SECONDS`.
#[must_use = "call .build() to get a client"]
pub struct ClientBuilder {
    base_url: Option<String>,
    timeout: Option<Duration>,
    max_retries: u32,
    retry_backoff: Duration,
    api_key: Option<String>,
    jwt_token: Option<String>,
    ca_certificates: Vec<PathBuf>,
    identity: Option<PathBuf>,
    accept_invalid_certs: bool,
    max_response_bytes: usize,
    environment: Option<Lookup>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are never printed.
        f.debug_struct("ClientBuilder")
            .field(
                "base_url",
                &self.base_url.as_deref().map(maximus_trace::redact::url),
            )
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: None,
            timeout: None,
            max_retries: 3,
            retry_backoff: Duration::from_millis(500),
            api_key: None,
            jwt_token: None,
            ca_certificates: Vec::new(),
            identity: None,
            accept_invalid_certs: false,
            max_response_bytes: DEFAULT_MAX_BODY,
            environment: None,
        }
    }
}

impl ClientBuilder {
    /// The server, e.g. `http://localhost:8100` (else `MAXIMUS_CORE_URL`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Total time one attempt may take, body included (else `MAXIMUS_TIMEOUT_SECONDS`, 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries after connection failures, and after 429/502/503/504 answers to GETs (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before retry *n* is this times *n* (default 0.5 s), unless the server sent
    /// `Retry-After`.
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// Sent as `X-API-Key` (else `MAXIMUS_API_KEY`). Never recorded on spans or in logs.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sent as `Authorization: Bearer ...` instead of the API key (else `JWT_TOKEN`).
    pub fn jwt_token(mut self, token: impl Into<String>) -> Self {
        self.jwt_token = Some(token.into());
        self
    }

    /// Trusts this PEM CA certificate (in addition to the system roots).
    pub fn ca_certificate(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_certificates.push(path.into());
        self
    }

    /// A PEM file holding the client certificate chain and its private key, for mTLS.
    pub fn client_certificate(mut self, pem_path: impl Into<PathBuf>) -> Self {
        self.identity = Some(pem_path.into());
        self
    }

    /// Turns certificate verification off (logs a warning). Only for tests.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Refuses response bodies larger than this (default 16 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Reads defaults from `lookup` instead of the process environment.
    pub fn environment(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.environment = Some(Box::new(lookup));
        self
    }

    fn var(&self, name: &str) -> Option<String> {
        let value = match &self.environment {
            Some(lookup) => lookup(name),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// Builds the client; fails on a bad URL, variable or certificate, naming it.
    pub fn build(self) -> Result<MaximusClient> {
        let base = self.resolved_base_url()?;
        let timeout = self.resolved_timeout()?;
        let auth = self.auth()?;
        let http = self.http_client(timeout)?;
        let names = SemConv::from_opt_in(self.var("OTEL_SEMCONV_STABILITY_OPT_IN").as_deref());
        Ok(MaximusClient::from_inner(Arc::new(Inner {
            http,
            base,
            auth,
            max_retries: self.max_retries,
            timeout,
            retry_backoff: self.retry_backoff,
            max_response_bytes: self.max_response_bytes,
            names,
        })))
    }

    fn resolved_base_url(&self) -> Result<Url> {
        let (raw, origin) = match &self.base_url {
            Some(url) => (url.clone(), "base_url"),
            None => match self.var("MAXIMUS_CORE_URL") {
                Some(url) => (url, "MAXIMUS_CORE_URL"),
                None => (DEFAULT_URL.to_owned(), "the default URL"),
            },
        };
        let mut url = Url::parse(raw.trim()).map_err(|e| {
            Error::builder(format!(
                "{origin} {:?} is not a URL: {e}",
                maximus_trace::redact::url(&raw)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::builder(format!(
                "{origin} must be an http:// or https:// URL"
            )));
        }
        // Endpoint paths are joined below the base path (`http://host/maximus/` + `health`).
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(url)
    }

    fn resolved_timeout(&self) -> Result<Duration> {
        if let Some(t) = self.timeout {
            return Ok(t);
        }
        match self.var("MAXIMUS_TIMEOUT_SECONDS") {
            None => Ok(DEFAULT_TIMEOUT),
            Some(raw) => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    Error::builder(format!(
                        "MAXIMUS_TIMEOUT_SECONDS={raw:?} is not a positive number of seconds"
                    ))
                }),
        }
    }

    fn auth(&self) -> Result<Option<(HeaderName, HeaderValue)>> {
        let jwt = self.jwt_token.clone().or_else(|| self.var("JWT_TOKEN"));
        let key = self.api_key.clone().or_else(|| self.var("MAXIMUS_API_KEY"));
        let (name, value, origin) = match (jwt, key) {
            (Some(jwt), _) => (
                http::header::AUTHORIZATION,
                format!("Bearer {}", jwt.trim()),
                "JWT token",
            ),
            (None, Some(key)) => (
                HeaderName::from_static("x-api-key"),
                key.trim().to_owned(),
                "API key",
            ),
            (None, None) => return Ok(None),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::builder(format!(
                "the {origin} contains characters not allowed in a header"
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }

    fn http_client(&self, timeout: Duration) -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("maximus-client/", env!("CARGO_PKG_VERSION")));
        for path in &self.ca_certificates {
            let pem = read(path, "CA certificate")?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| Error::builder(format!("CA certificate {} is not PEM: {e}", path.display())))?;
            builder = builder.add_root_certificate(cert);
        }
        if let Some(path) = &self.identity {
            let pem = read(path, "client certificate")?;
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                Error::builder(format!(
                    "client certificate {} needs a PEM certificate and key: {e}",
                    path.display()
                ))
            })?;
            builder = builder.identity(identity);
        }
        if self.accept_invalid_certs {
            log::warn!("maximus-client: TLS certificate verification is OFF; use only against test servers");
            builder = builder.danger_accept_invalid_certs(true);
        }
        builder
            .build()
            .map_err(|e| Error::builder(format!("cannot build the HTTP client: {e}")))
    }
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::builder(format!("cannot read {what} {}: {e}", path.display())))
}
