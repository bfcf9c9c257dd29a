//! The response body of our layers: polled with its exchange's span current (a streaming
//! response's work belongs to the request), reading the trailers, and ending the span at the
//! body's end, its error, or its drop.

use std::fmt::Display;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use super::exchange::Exchange;
use crate::context::Current;

pin_project_lite::pin_project! {
    /// A response body that keeps its request's span open until the body ends, and reads a
    /// gRPC call's status from its trailers.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        exchange: Option<Exchange>,
    }

    impl<B> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(exchange) = this.project().exchange.take() {
                exchange.cancelled(false);
            }
        }
    }
}

impl<B: Body> ResponseBody<B> {
    pub(crate) fn new(inner: B, exchange: Option<Exchange>) -> Self {
        // A body that is over already may never be polled: the exchange ends now.
        let exchange = match exchange {
            Some(exchange) if inner.is_end_stream() => {
                exchange.complete();
                None
            }
            other => other,
        };
        ResponseBody { inner, exchange }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("traced", &self.exchange.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Error: Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(exchange) = this.exchange.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        let poll = {
            let _current = exchange.span().handle().map(Current::enter);
            this.inner.as_mut().poll_frame(cx)
        };
        // Whether the body is over, and if so whether it completed.
        let ended = match &poll {
            Poll::Pending => None,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    exchange.on_trailers(trailers);
                }
                (frame.is_trailers() || this.inner.is_end_stream()).then_some(true)
            }
            Poll::Ready(Some(Err(error))) => {
                exchange.on_error(error);
                Some(false)
            }
            Poll::Ready(None) => Some(true),
        };
        if let Some(completed) = ended {
            let exchange = this.exchange.take().expect("checked above");
            if completed {
                exchange.complete();
            }
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
