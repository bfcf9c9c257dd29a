//! A type's name as a Rust developer writes it.

/// A type's name as a Rust developer writes it, from `std::any::type_name`'s definition
/// paths (`alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>`
/// reads `Box<dyn Error>`):
///
/// - the standard library's types by their public path in `std`: `std::io::Error`, not
///   `std::io::error::Error`; `std::num::ParseIntError`, not `core::num::error::ParseIntError`;
///   `std::sync::mpsc::SendError<i32>`, `std::collections::hash_map::Entry<'_, K, V>`;
/// - the prelude's bare (`String`, `Vec<u8>`, `Box<..>`, `Option`, `Result`, `Fn(u8)`), and so
///   are the `Error` and `Any` traits, which code names after a `use`: `Box<dyn Error>`;
/// - any other crate's types as `crate::Type`: `reqwest::Error`, `serde_json::Error`,
///   `shop::PaymentDeclined`. The name alone would make every crate's `Error` read `Error`, the
///   full path names private modules (`serde_json::error::Error`). Most crates export their
///   errors at the root, so this is usually the path to write too; when it is not
///   (`tokio::runtime::task::error::JoinError` reads `tokio::JoinError`), it still names the
///   crate and the type;
/// - a closure or async block as the function it is in, then `{closure}`:
///   `shop::checkout::{closure}`;
/// - trait objects without their auto traits (`Send`, `Sync`, `Unpin`, `UnwindSafe`,
///   `RefUnwindSafe`): `dyn Error`. The concrete type behind a trait object cannot be known.
pub(super) fn readable_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let len = rest.find(|c| !is_path_char(c)).unwrap_or(rest.len());
        if len == 0 {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            push_readable_path(&mut out, &rest[..len]);
            rest = &rest[len..];
        }
    }
    out
}

/// Characters of a path in a type name (braces for `{{closure}}` segments).
fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '{' | '}' | '#')
}

const STD_CRATES: [&str; 3] = ["std", "core", "alloc"];

/// Traits a trait object names after `+` that a reader does not need.
const AUTO_TRAITS: [&str; 5] = ["Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"];

/// Appends one path, readable; an auto trait after ` + ` takes the ` + ` away instead.
fn push_readable_path(out: &mut String, path: &str) {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let auto_trait = segments.len() > 1
        && STD_CRATES.contains(&segments[0])
        && AUTO_TRAITS.contains(&segments[segments.len() - 1]);
    if auto_trait && out.ends_with(" + ") {
        out.truncate(out.len() - " + ".len());
    } else {
        out.push_str(&readable_path(&segments));
    }
}

/// One path of a type name, by the rules of [`readable_type_name`].
fn readable_path(segments: &[&str]) -> String {
    // The item is the last named segment; closures (`{{closure}}`) follow it.
    let Some(item_at) = segments.iter().rposition(|s| !s.starts_with('{')) else {
        return segments.join("::");
    };
    let item = segments[item_at];
    let mut out = match item_at {
        0 => item.to_owned(),
        _ if STD_CRATES.contains(&segments[0]) => std_path(&segments[1..item_at], item),
        _ => format!("{}::{item}", segments[0]),
    };
    for closure in &segments[item_at + 1..] {
        // `{{closure}}` as the compiler's messages write it: `{closure}`.
        let closure = closure
            .strip_prefix('{')
            .and_then(|c| c.strip_suffix('}'))
            .filter(|c| c.starts_with('{'))
            .unwrap_or(closure);
        out.push_str("::");
        out.push_str(closure);
    }
    out
}

/// Items of std written bare, by (first module below the crate, name): the prelude's, the
/// `Error` trait and `Any` (not in the prelude, but `dyn Error` is how code names them after
/// a `use std::error::Error`; `std::io::Error` and `std::fmt::Error` keep their module).
const BARE: [(&str, &str); 11] = [
    ("string", "String"),
    ("string", "ToString"),
    ("boxed", "Box"),
    ("vec", "Vec"),
    ("option", "Option"),
    ("result", "Result"),
    ("ops", "Fn"),
    ("ops", "FnMut"),
    ("ops", "FnOnce"),
    ("error", "Error"),
    ("any", "Any"),
];

/// Where std's public path keeps more than one module: the modules `type_name` gives (below
/// the crate) and the public modules they are exported from.
const NESTED_MODULES: [(&str, &str); 8] = [
    ("sync::mpsc", "sync::mpsc"),
    ("sync::atomic", "sync::atomic"),
    ("collections::hash::map", "collections::hash_map"),
    ("collections::hash::set", "collections::hash_set"),
    ("collections::btree::map", "collections::btree_map"),
    ("collections::btree::set", "collections::btree_set"),
    ("os::fd", "os::fd"),
    ("os::unix::net", "os::unix::net"),
];

/// The collections exported at `std::collections` itself.
const COLLECTIONS: [&str; 7] = [
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "VecDeque",
    "BinaryHeap",
    "LinkedList",
];

/// The public path of the std item `item`, defined in `modules` below `std`, `core` or
/// `alloc`: the first module, which is public, unless [`NESTED_MODULES`] says otherwise
/// (`core::num::error::ParseIntError` is `std::num::ParseIntError`).
fn std_path(modules: &[&str], item: &str) -> String {
    let Some(&first) = modules.first() else {
        return format!("std::{item}");
    };
    if first == "marker" || BARE.contains(&(first, item)) || (first == "panic" && AUTO_TRAITS.contains(&item))
    {
        return item.to_owned();
    }
    if first == "collections" && COLLECTIONS.contains(&item) {
        return format!("std::collections::{item}");
    }
    let defined = modules.join("::");
    let public = NESTED_MODULES
        .iter()
        .find(|(internal, _)| {
            defined
                .strip_prefix(internal)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
        .map_or(first, |(_, public)| public);
    format!("std::{public}::{item}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_read_as_a_rust_developer_writes_them() {
        for (raw, readable) in [
            // std: the public path, prelude items bare.
            ("alloc::string::String", "String"),
            ("std::io::error::Error", "std::io::Error"),
            ("std::io::error::ErrorKind", "std::io::ErrorKind"),
            ("core::num::error::ParseIntError", "std::num::ParseIntError"),
            ("core::num::dec2flt::ParseFloatError", "std::num::ParseFloatError"),
            ("core::fmt::Error", "std::fmt::Error"),
            (
                "std::sync::mpsc::SendError<i32>",
                "std::sync::mpsc::SendError<i32>",
            ),
            (
                "std::sync::poison::PoisonError<alloc::string::String>",
                "std::sync::PoisonError<String>",
            ),
            (
                "core::sync::atomic::AtomicUsize",
                "std::sync::atomic::AtomicUsize",
            ),
            (
                "std::collections::hash::map::HashMap<u8, u8>",
                "std::collections::HashMap<u8, u8>",
            ),
            (
                "std::collections::hash::map::Entry<'_, u8, u8>",
                "std::collections::hash_map::Entry<'_, u8, u8>",
            ),
            (
                "alloc::collections::btree::map::entry::Entry<'_, u8, u8>",
                "std::collections::btree_map::Entry<'_, u8, u8>",
            ),
            (
                "alloc::collections::TryReserveError",
                "std::collections::TryReserveError",
            ),
            (
                "std::os::unix::net::stream::UnixStream",
                "std::os::unix::net::UnixStream",
            ),
            (
                "core::result::Result<(), std::io::error::Error>",
                "Result<(), std::io::Error>",
            ),
            // Trait objects: no auto traits.
            (
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
                "Box<dyn Error>",
            ),
            (
                "alloc::boxed::Box<dyn core::ops::function::Fn(u8) -> u8 + core::marker::Send>",
                "Box<dyn Fn(u8) -> u8>",
            ),
            (
                "alloc::boxed::Box<dyn core::any::Any + core::marker::Send>",
                "Box<dyn Any>",
            ),
            ("dyn core::error::Error", "dyn Error"),
            (
                "dyn core::error::Error + my::Syncable",
                "dyn Error + my::Syncable",
            ),
            ("dyn core::error::Error + my::Send", "dyn Error + my::Send"),
            ("dyn core::marker::Send", "dyn Send"),
            // Other crates: the crate and the type.
            ("anyhow::Error", "anyhow::Error"),
            ("reqwest::error::Error", "reqwest::Error"),
            ("serde_json::error::Error", "serde_json::Error"),
            ("maximus_client::error::Error", "maximus_client::Error"),
            ("shop::payment::PaymentDeclined", "shop::PaymentDeclined"),
            (
                "shop::Wrapper<alloc::vec::Vec<shop::Item>, std::io::error::Error>",
                "shop::Wrapper<Vec<shop::Item>, std::io::Error>",
            ),
            // Closures and async blocks: the function they are in.
            ("main::main::{{closure}}", "main::main::{closure}"),
            (
                "shop::cart::checkout::{{closure}}::{{closure}}",
                "shop::checkout::{closure}::{closure}",
            ),
            // Primitives and type syntax stay.
            ("&str", "&str"),
            ("&mut [u8; 4]", "&mut [u8; 4]"),
            ("(u8, fn(&'_ str) -> u8)", "(u8, fn(&'_ str) -> u8)"),
        ] {
            assert_eq!(readable_type_name(raw), readable, "{raw}");
        }
    }
}
