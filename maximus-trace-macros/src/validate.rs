//! Checking the parsed arguments against the function they annotate.

use syn::spanned::Spanned;
use syn::{FnArg, Ident, Pat, Signature};

use crate::args::Args;

/// Every mistake the arguments make about `sig`, combined into one error.
pub fn check(args: &Args, sig: &Signature) -> Option<syn::Error> {
    let mut errors = Vec::new();
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span(),
            "#[trace_span] cannot trace a `const fn`: spans are created at run time; remove `const` or the attribute",
        ));
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
