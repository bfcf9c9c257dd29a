#![deny(warnings)]
//! Async shapes: async fn, methods, trait async fn, #[async_trait], impl Future bodies.

use maximus_trace::trace_span;
use std::future::Future;

#[trace_span]
async fn plain(a: u32) -> u32 {
    a
}

#[trace_span("borrowing", len = s.len())]
async fn borrowing<'a>(s: &'a str, _other: &str) -> &'a str {
    s
}

#[trace_span]
async fn fallible(fail: bool) -> Result<u8, std::io::Error> {
    if fail {
        return Err(std::io::Error::other("x"));
    }
    Ok(1)
}

#[trace_span]
async fn generic<T: Send + std::fmt::Debug>(t: T) -> String
where
    T: Clone,
{
    format!("{t:?}")
}

#[trace_span]
async fn returns_impl() -> impl std::fmt::Display {
    5
}

struct S {
    n: u8,
}

impl S {
    #[trace_span]
    async fn get(&self) -> Result<&u8, String> {
        Ok(&self.n)
    }

    #[trace_span]
    async fn set(&mut self, n: u8) {
        self.n = n;
    }
}

trait Store {
    async fn load(&self) -> u8;
}

impl Store for S {
    #[trace_span]
    async fn load(&self) -> u8 {
        self.n
    }
}

#[async_trait::async_trait]
trait Remote {
    async fn fetch(&self, id: u32) -> Result<u32, String>;
}

#[async_trait::async_trait]
impl Remote for S {
    #[trace_span(kind = client)]
    async fn fetch(&self, id: u32) -> Result<u32, String> {
        Ok(id + u32::from(self.n))
    }
}

#[trace_span]
fn future_returning(x: u8) -> impl Future<Output = u8> + Send {
    async move { x }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert_send(plain(1)).await;
        borrowing("a", "b").await;
        fallible(false).await.unwrap();
        generic(1u8).await;
        returns_impl().await;
        let mut s = S { n: 1 };
        s.get().await.unwrap();
        s.set(2).await;
        s.load().await;
        assert_send(s.fetch(1)).await.unwrap();
        future_returning(1).await;
    });
}
