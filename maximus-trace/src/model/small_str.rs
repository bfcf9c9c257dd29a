//! `SmallStr`: a `Cow<'static, str>` in two words instead of three.
//!
//! Span names and attribute keys are nearly always string literals; a span record holds one
//! name and a key per attribute, so the third word of `Cow` is most of what a buffered span
//! wastes. Written by hand because the crate that does this (`beef`) has had no release since
//! 2022: the unsafe part is the three lines that rebuild a `&str` or a `Box<str>` from the
//! pointer and length stored here, and the tests below exercise each of them.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ptr::NonNull;

/// The top bit of `len` says the bytes are a leaked `Box<str>` that this value frees.
const OWNED: usize = 1 << (usize::BITS - 1);

pub(crate) struct SmallStr {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a `SmallStr` is either a `&'static str` or an owned `Box<str>`, both `Send + Sync`.
unsafe impl Send for SmallStr {}
// SAFETY: as above; nothing is mutated through a shared reference.
unsafe impl Sync for SmallStr {}

impl SmallStr {
    #[inline]
    pub(crate) const fn from_static(s: &'static str) -> Self {
        SmallStr {
            // SAFETY: a reference is never null.
            ptr: unsafe { NonNull::new_unchecked(s.as_ptr().cast_mut()) },
            len: s.len(),
        }
    }

    pub(crate) fn from_string(s: String) -> Self {
        let boxed: Box<str> = s.into_boxed_str();
        let len = boxed.len();
        let raw = Box::into_raw(boxed);
        SmallStr {
            // SAFETY: `Box::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(raw.cast::<u8>()) },
            len: len | OWNED,
        }
    }

    #[inline]
    pub(crate) fn from_cow(s: Cow<'static, str>) -> Self {
        match s {
            Cow::Borrowed(s) => SmallStr::from_static(s),
            Cow::Owned(s) => SmallStr::from_string(s),
        }
    }

    /// Equal content; the same static string is recognised without comparing bytes.
    #[inline]
    pub(crate) fn same(&self, other: &SmallStr) -> bool {
        (self.ptr == other.ptr && self.len == other.len) || self.as_str() == other.as_str()
    }

    /// The literal, when it is one.
    #[inline]
    pub(crate) fn as_static(&self) -> Option<&'static str> {
        // SAFETY: not owned: `ptr` and `len` are those of a `&'static str`.
        (!self.is_owned()).then(|| unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.ptr.as_ptr(), self.len))
        })
    }

    /// Bytes it owns on the heap (none for a literal).
    pub(crate) fn heap_bytes(&self) -> usize {
        if self.is_owned() { self.as_str().len() } else { 0 }
    }

    #[inline]
    pub(crate) fn is_owned(&self) -> bool {
        self.owned_bit() != 0
    }

    /// Not zero exactly when the string is owned (for a branch-free fold over many).
    #[inline]
    pub(crate) fn owned_bit(&self) -> usize {
        self.len & OWNED
    }

    pub(crate) fn as_str(&self) -> &str {
        let len = self.len & !OWNED;
        // SAFETY: `ptr` and `len` come from a `&'static str` or a live `Box<str>` we own.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.ptr.as_ptr(), len)) }
    }

    /// Back to a `Cow`, without copying.
    pub(crate) fn into_cow(self) -> Cow<'static, str> {
        let this = std::mem::ManuallyDrop::new(self);
        let len = this.len & !OWNED;
        if this.is_owned() {
            let raw = std::ptr::slice_from_raw_parts_mut(this.ptr.as_ptr(), len) as *mut str;
            // SAFETY: the pointer and length are those of the `Box<str>` leaked in
            // `from_string`; `ManuallyDrop` keeps `Drop` from freeing it a second time.
            let boxed = unsafe { Box::from_raw(raw) };
            Cow::Owned(String::from(boxed))
        } else {
            // SAFETY: not owned, so the bytes are a `&'static str`.
            Cow::Borrowed(unsafe {
                std::str::from_utf8_unchecked(std::slice::from_raw_parts(this.ptr.as_ptr(), len))
            })
        }
    }
}

impl Drop for SmallStr {
    // The test inline, the free out of line: a literal's drop then folds away where it is
    // built, instead of a call that makes the caller keep the value in memory.
    #[inline]
    fn drop(&mut self) {
        if self.is_owned() {
            self.free();
        }
    }
}

impl SmallStr {
    #[cold]
    #[inline(never)]
    fn free(&mut self) {
        let len = self.len & !OWNED;
        let raw = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), len) as *mut str;
        // SAFETY: the `Box<str>` leaked in `from_string`, freed once, here (`drop` is its only
        // caller).
        drop(unsafe { Box::from_raw(raw) });
    }
}

impl Clone for SmallStr {
    fn clone(&self) -> Self {
        if self.is_owned() {
            SmallStr::from_string(self.as_str().to_owned())
        } else {
            SmallStr {
                ptr: self.ptr,
                len: self.len,
            }
        }
    }
}

impl PartialEq for SmallStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SmallStr {}

impl PartialOrd for SmallStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallStr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SmallStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_two_words() {
        assert_eq!(std::mem::size_of::<SmallStr>(), 2 * std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Option<SmallStr>>(),
            2 * std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn static_strings_are_borrowed_and_round_trip() {
        let s = SmallStr::from_static("http.method");
        assert_eq!(s.as_str(), "http.method");
        assert!(matches!(s.clone().into_cow(), Cow::Borrowed("http.method")));
    }

    #[test]
    fn owned_strings_are_freed_cloned_and_returned_without_copying() {
        let s = SmallStr::from_string(format!("key{}", 7));
        let copy = s.clone();
        assert_eq!((s.as_str(), copy.as_str()), ("key7", "key7"));
        drop(copy);
        match s.into_cow() {
            Cow::Owned(s) => assert_eq!(s, "key7"),
            Cow::Borrowed(_) => panic!("an owned string came back borrowed"),
        }
    }

    #[test]
    fn empty_and_multibyte_strings_survive() {
        assert_eq!(SmallStr::from_static("").as_str(), "");
        assert_eq!(SmallStr::from_string(String::new()).as_str(), "");
        assert_eq!(
            SmallStr::from_string("héllo wörld".into()).as_str(),
            "héllo wörld"
        );
    }

    #[test]
    fn compares_and_hashes_by_content_whatever_the_ownership() {
        use std::collections::HashSet;
        let a = SmallStr::from_static("k");
        let b = SmallStr::from_string("k".to_owned());
        assert_eq!(a, b);
        let set: HashSet<SmallStr> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
    }
}
