//! `MaximusClient`: the entry point, its top-level endpoints, and the resources.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use maximus_trace::http::SemConv;
use maximus_trace::trace_span;
use url::Url;

use crate::builder::ClientBuilder;
use crate::error::Result;
use crate::models::{HealthResponse, QueryRequest, QueryResponse};
use crate::resources::{Consciousness, Governance};

/// The async client of the MAXIMUS AI backend. Cheap to clone; every call is traced as an
/// endpoint span with an `api_request` client span under it.
#[derive(Clone, Debug)]
pub struct MaximusClient {
    pub(crate) inner: Arc<Inner>,
}

/// What every request needs.
pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub base: Url,
    pub auth: Option<(HeaderName, HeaderValue)>,
    pub max_retries: u32,
    pub timeout: Duration,
    pub retry_backoff: Duration,
    pub max_response_bytes: usize,
    /// Which HTTP attribute names the `api_request` span carries.
    pub names: SemConv,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("base", &maximus_trace::redact::url(self.base.as_str()))
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl MaximusClient {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment alone.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::default().build()
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        MaximusClient { inner }
    }

    /// The server this client talks to.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// `GET /health`.
    #[trace_span]
    pub async fn health(&self) -> Result<HealthResponse> {
        self.get("/health", &[]).await
    }

    /// `POST /query`: asks the reasoning engine.
    #[trace_span]
    pub async fn query(
        &self,
        query: &str,
        context: Option<serde_json::Value>,
        max_tokens: u32,
    ) -> Result<QueryResponse> {
        let body = QueryRequest {
            query: query.to_owned(),
            context,
            max_tokens,
        };
        self.post("/query", &body).await
    }

    /// The consciousness system's endpoints.
    pub fn consciousness(&self) -> Consciousness<'_> {
        Consciousness { client: self }
    }

    /// The governance (human-in-the-loop) endpoints.
    pub fn governance(&self) -> Governance<'_> {
        Governance { client: self }
    }

    pub(crate) async fn get<T>(&self, path: &str, query: &[(&str, String)]) -> Result<T>
    where
        T: serde::de::DeserializeOwned + crate::models::Validate,
    {
        crate::request::call(&self.inner, Method::GET, path, query, None).await
    }

    pub(crate) async fn post<T, B>(&self, path: &str, body: &B) -> Result<T>
    where
        T: serde::de::DeserializeOwned + crate::models::Validate,
        B: serde::Serialize + ?Sized,
    {
        let body = serde_json::to_vec(body)
            .map_err(|e| crate::error::Error::builder(format!("cannot encode body: {e}")))?;
        crate::request::call(&self.inner, Method::POST, path, &[], Some(body)).await
    }
}
