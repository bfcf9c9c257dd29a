//! Why a flush did not deliver every span.

use std::sync::Arc;
use std::time::Duration;

/// Why [`crate::TracingManager::force_flush`] did not deliver every ended span.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlushError {
    /// The exporter did not finish within the bound: the collector is slow, hung or
    /// unreachable. The spans stay queued, counted, and go out when it answers (or are
    /// counted as failed).
    #[error(
        "flushing spans timed out after {0:.1?}: the exporter has not finished (is the collector slow or hung?)"
    )]
    Timeout(Duration),
    /// The exporter finished, but could not send some spans (they are counted in
    /// `stats().spans_failed`); `source` is the latest failure, as the exporter gave it.
    #[error("the exporter could not send {spans} spans")]
    #[non_exhaustive]
    Export {
        /// Spans that failed since the flush began.
        spans: u64,
        /// The exporter's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The pipeline was shut down before the flush (its guard dropped, or `shutdown()`).
    #[error("the tracing pipeline is shut down: there is nothing left to flush")]
    ShutDown,
}
