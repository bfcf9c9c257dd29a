//! One request/response exchange's span, from the request to the end of the response body:
//! what the response head, a failure, the trailers or a cancellation record on it.

use std::fmt::Display;

use http::Response;

use super::grpc;
use super::semconv::{self, Side};
use crate::engine::exception::Exception;
use crate::model::Status;
use crate::span::{Span, SpanRef};

/// A response that was never sent: put it in a response's extensions when a handler or an
/// inner layer gives up on the connection (drops or resets it) instead of answering. The
/// server span records no status code (none went out), `error.type` and status ERROR.
#[derive(Clone, Debug)]
pub struct NotSent {
    error_type: &'static str,
    description: String,
}

impl NotSent {
    /// `error_type` names the failure in few words (`connection_dropped`); `description`
    /// becomes the status message.
    pub fn new(error_type: &'static str, description: impl Into<String>) -> Self {
        NotSent {
            error_type,
            description: description.into(),
        }
    }
}

/// The span of an exchange while its response is on the way.
#[derive(Debug)]
pub(crate) struct Exchange {
    span: Span,
    side: Side,
    grpc: bool,
    /// A gRPC call's status was recorded (from the response headers or the trailers).
    grpc_status: bool,
}

impl Exchange {
    pub(crate) fn new(span: Span, side: Side, grpc: bool) -> Self {
        Exchange {
            span,
            side,
            grpc,
            grpc_status: false,
        }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    fn span_ref(&self) -> SpanRef {
        self.span.as_ref()
    }

    /// Records the response head. False when nothing more is to come on this span (it ends
    /// now): a client's HTTP span ends with the head, as reqwest's `send()` does; a gRPC
    /// call waits for its trailers, and a server's span for its body to be sent.
    pub(crate) fn on_response<B>(&mut self, response: &Response<B>) -> bool {
        let span = self.span_ref();
        if let Some(not_sent) = response.extensions().get::<NotSent>() {
            span.set_attribute("error.type", not_sent.error_type);
            span.set_status(Status::error(not_sent.description.clone()));
            return self.side == Side::Server;
        }
        if self.grpc {
            self.grpc_status = grpc::record_status(&span, response.headers(), self.side);
            return true;
        }
        semconv::record_status(&span, response.status(), self.side);
        self.side == Side::Server
    }

    /// The trailers of the response body (a gRPC call's status is there).
    pub(crate) fn on_trailers(&mut self, trailers: &http::HeaderMap) {
        if self.grpc && !self.grpc_status {
            self.grpc_status = grpc::record_status(&self.span_ref(), trailers, self.side);
        }
    }

    /// The exchange failed: the inner service or the body returned an error.
    pub(crate) fn on_error<E: Display>(&self, error: &E) {
        if !self.span.is_recording() {
            return;
        }
        self.span.set_attribute("error.type", std::any::type_name::<E>());
        self.span
            .record_exception(Exception::of_display::<E>(error.to_string()));
    }

    /// The response body ended. A gRPC call without a status never finished properly.
    pub(crate) fn complete(self) {
        if self.grpc && !self.grpc_status {
            self.span.set_attribute("error.type", "missing_grpc_status");
            self.span
                .set_status(Status::error("the call ended without a grpc-status"));
        }
    }

    /// The exchange was dropped before it completed: the request's future before the
    /// response (the caller gave up, or the client went away), or the body before its end.
    /// For a server, a response that never went out is a failure; a client's caller chose
    /// to stop waiting, which is not the request's failure.
    pub(crate) fn cancelled(self, before_response: bool) {
        let unfinished_call = self.grpc && !self.grpc_status;
        if !before_response && !unfinished_call {
            // A body dropped after the head: a HEAD request's, or one the peer stopped
            // reading. The exchange itself is told by its status.
            return;
        }
        self.span.set_attribute("cancelled", true);
        if self.side == Side::Server && before_response {
            self.span.set_attribute("error.type", "cancelled");
            self.span
                .set_status(Status::error("the request was cancelled before its response"));
        }
    }
}
