//! Checking the parsed arguments against the function they annotate.

use syn::spanned::Spanned;
use syn::{FnArg, Ident, Pat, Signature};

use crate::args::Args;

/// The span kinds `kind = ...` accepts, with the runtime's variant for each.
pub const KINDS: &[(&str, &str)] = &[
    ("internal", "Internal"),
    ("client", "Client"),
    ("server", "Server"),
    ("producer", "Producer"),
    ("consumer", "Consumer"),
];

/// Every mistake the arguments make about `sig`, combined into one error.
pub fn check(args: &Args, sig: &Signature) -> Option<syn::Error> {
    let mut errors = Vec::new();
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span(),
            "#[trace_span] cannot trace a `const fn`: spans are created at run time; remove `const` or the attribute",
        ));
    }
    if let Some(kind) = &args.kind {
        if !KINDS.iter().any(|(name, _)| kind == name) {
            errors.push(syn::Error::new(
                kind.span(),
                format!(
                    "unknown span kind `{kind}`: expected one of client, server, producer, consumer, internal"
                ),
            ));
        }
    }
    let arguments = argument_names(sig);
    for name in &args.record {
        if name == "self" {
            errors.push(syn::Error::new(
                name.span(),
                "`self` cannot be recorded: record a field instead, e.g. `id = self.id`",
            ));
        } else if !arguments.iter().any(|a| a == name) {
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "`{name}` is not an argument of `{}`: `record(..)` takes argument names",
                    sig.ident
                ),
            ));
        }
    }
    errors.into_iter().reduce(|mut all, e| {
        all.combine(e);
        all
    })
}

/// The names bound by simple `name: Type` arguments.
fn argument_names(sig: &Signature) -> Vec<Ident> {
    sig.inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(p) => Some(p.ident.clone()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}
