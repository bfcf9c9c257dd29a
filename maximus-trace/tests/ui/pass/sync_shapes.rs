#![deny(warnings)]
//! Sync shapes: plain, methods of every receiver, generics, where clauses, lifetimes,
//! impl Trait, unsafe, extern "C", must_use, docs, other attributes.

use maximus_trace::trace_span;
use std::fmt::Display;
use std::pin::Pin;

/// Documented.
#[trace_span]
#[inline]
pub fn plain(a: u32) -> u32 {
    a + 1
}

#[trace_span("named", answer = 42, ratio = 0.5, on = true, http.method = "GET", "retry.attempt" = 1)]
fn with_attributes() {}

#[trace_span(name = "long_form", kind = server, err = false)]
fn long_form() -> Result<(), String> {
    Ok(())
}

#[trace_span(record(a, b))]
fn generic<T: Display + Clone, U>(a: u32, b: &str, _t: T, _u: U) -> String
where
    U: Into<String>,
{
    format!("{a}{b}")
}

#[trace_span]
fn lifetimes<'a, 'b: 'a>(x: &'a str, _y: &'b str) -> &'a str {
    x
}

#[trace_span]
fn impl_trait(items: impl IntoIterator<Item = u8>) -> impl Iterator<Item = u8> {
    items.into_iter().map(|i| i + 1).collect::<Vec<_>>().into_iter()
}

#[trace_span]
fn result_impl(ok: bool) -> Result<impl Display, String> {
    if !ok {
        return Err("no".into());
    }
    Ok(5)
}

/// # Safety
/// Reads a pointer.
#[trace_span]
unsafe fn unsafe_read(p: *const u8) -> u8 {
    unsafe { *p }
}

#[trace_span]
extern "C" fn c_abi(x: i32) -> i32 {
    x * 2
}

#[must_use]
#[trace_span]
fn must_use_value() -> u8 {
    1
}

#[trace_span]
fn io_result() -> std::io::Result<u8> {
    let n: u8 = "7".parse().map_err(std::io::Error::other)?;
    Ok(n)
}

struct Thing {
    v: Vec<u8>,
}

impl Thing {
    #[trace_span]
    fn by_ref(&self) -> Result<&u8, String> {
        self.v.first().ok_or_else(|| "empty".to_string())
    }

    #[trace_span]
    fn by_mut(&mut self) -> &mut Vec<u8> {
        &mut self.v
    }

    #[trace_span]
    fn by_value(self) -> Vec<u8> {
        self.v
    }

    #[trace_span]
    fn pinned(self: Pin<&mut Self>) -> usize {
        self.v.len()
    }

    #[trace_span]
    fn labeled(&self) -> Result<u8, String> {
        let found = 'search: {
            for x in &self.v {
                if *x > 1 {
                    break 'search Some(*x);
                }
            }
            None
        };
        let closure = |x: u8| -> Result<u8, String> {
            if x == 0 {
                return Err("zero".into());
            }
            Ok(x)
        };
        closure(found.ok_or("none")?)
    }
}

fn main() {
    plain(1);
    with_attributes();
    long_form().unwrap();
    generic(1, "b", 2u8, "u");
    lifetimes("x", "y");
    let _ = impl_trait(vec![1]).count();
    let _ = result_impl(true).map(|d| d.to_string());
    unsafe { unsafe_read(&1) };
    c_abi(1);
    let _ = must_use_value();
    io_result().unwrap();
    let mut t = Thing { v: vec![1, 2] };
    t.by_ref().unwrap();
    t.by_mut().push(3);
    Pin::new(&mut t).pinned();
    t.labeled().unwrap();
    t.by_value();
}
