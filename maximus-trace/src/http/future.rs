//! The response future of our layers: the inner service's future, polled with the exchange's
//! span current, its outcome recorded, its body wrapped so that the span lives on until the
//! body ends.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use super::body::ResponseBody;
use super::exchange::Exchange;
use crate::context::Current;

pin_project_lite::pin_project! {
    /// The future of a [`ServerLayer`](super::ServerLayer) or
    /// [`ClientLayer`](super::ClientLayer) service: the inner service's response, with a
    /// body that keeps the request's span open until it ends.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        exchange: Option<Exchange>,
        // Set while the inner future is polled: found set when the future is dropped, a
        // panic unwound out of that poll (and was recorded on the span by `Current`).
        polling: bool,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(exchange) = this.exchange.take() {
                if !*this.polling {
                    exchange.cancelled(true);
                }
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    /// `exchange` is `None` when tracing is off: the future only wraps the body.
    pub(crate) fn new(inner: F, exchange: Option<Exchange>) -> Self {
        ResponseFuture {
            inner,
            exchange,
            polling: false,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
    E: Display,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(exchange) = this.exchange.as_ref() else {
            return this
                .inner
                .poll(cx)
                .map_ok(|response| response.map(|body| ResponseBody::new(body, None)));
        };
        *this.polling = true;
        let poll = {
            let _current = exchange.span().handle().map(Current::enter);
            this.inner.poll(cx)
        };
        *this.polling = false;
        let Poll::Ready(result) = poll else {
            return Poll::Pending;
        };
        let mut exchange = this.exchange.take().expect("checked above");
        Poll::Ready(match result {
            Ok(response) => {
                let open = exchange.on_response(&response).then_some(exchange);
                Ok(response.map(|body| ResponseBody::new(body, open)))
            }
            Err(error) => {
                exchange.on_error(&error);
                Err(error)
            }
        })
    }
}
