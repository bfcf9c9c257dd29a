//! `#[trace_span]`: one attribute turns a function call into a span. Re-exported by
//! `maximus-trace` (use it from there); see that crate's README for the options.
//!
//! Stages, one file each: `args.rs` parses the attribute, `validate.rs` checks it against the
//! function, `shape.rs` recognises sync / async / future-returning bodies, `expand.rs`
//! generates the code (with `returns.rs` making early exits visible).

use proc_macro::TokenStream;
use quote::ToTokens;

mod args;
mod expand;
mod returns;
mod shape;
mod validate;

/// Traces every call of the function as a span. See `maximus_trace::trace_span`.
#[proc_macro_attribute]
pub fn trace_span(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        // A function whose body does not parse: left as written, so the compiler reports
        // the body's own syntax error where it is, not ours about the attribute.
        Err(_) if syn::parse2::<UnparsedFn>(item.clone()).is_ok() => return item.into(),
        Err(_) => return not_a_function(item).into(),
    };
    let args: args::Args = match syn::parse(attr) {
        Ok(args) => args,
        Err(e) => return with_errors(function, e),
    };
    let mut errors = args.errors.clone();
    if let Some(e) = validate::check(&args, &function.sig) {
        match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        }
    }
    match errors {
        Some(e) => with_errors(function, e),
        None => expand::traced(&args, function).into(),
    }
}

/// A function item whose signature parses and whose body is any brace-delimited tokens (as
/// tracing-attributes' `MaybeItemFn` reads one).
struct UnparsedFn;

impl syn::parse::Parse for UnparsedFn {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        input.parse::<syn::Signature>()?;
        let body: proc_macro2::Group = input.parse()?;
        if body.delimiter() != proc_macro2::Delimiter::Brace || !input.is_empty() {
            return Err(input.error("not a function body"));
        }
        Ok(UnparsedFn)
    }
}

/// The function unchanged plus the errors, so callers see no errors of their own.
fn with_errors(function: syn::ItemFn, errors: syn::Error) -> TokenStream {
    let mut out = errors.to_compile_error();
    function.to_tokens(&mut out);
    out.into()
}

fn not_a_function(item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if let Ok(closure) = syn::parse2::<syn::ExprClosure>(item.clone()) {
        // Keep the closure an expression so its callers type-check.
        let error = syn::Error::new_spanned(
            closure.or1_token,
            "#[trace_span] can only be applied to functions and methods, not to a closure: \
             move the body into a named function and annotate that",
        )
        .to_compile_error();
        return quote::quote!({ #error #closure });
    }
    let what = describe(&item);
    let span = item
        .clone()
        .into_iter()
        .find(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i != "pub"))
        .map(|t| t.span())
        .unwrap_or_else(proc_macro2::Span::call_site);
    let error = syn::Error::new(
        span,
        format!("#[trace_span] can only be applied to functions and methods, not to {what}"),
    );
    let mut out = error.to_compile_error();
    out.extend(item);
    out
}

fn describe(item: &proc_macro2::TokenStream) -> &'static str {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(_)) => "a struct",
        Ok(syn::Item::Enum(_)) => "an enum",
        Ok(syn::Item::Impl(_)) => "an impl block",
        Ok(syn::Item::Const(_)) => "a const",
        Ok(syn::Item::Static(_)) => "a static",
        Ok(syn::Item::Trait(_)) => "a trait",
        Ok(syn::Item::Mod(_)) => "a module",
        Ok(syn::Item::Type(_)) => "a type alias",
        Ok(syn::Item::Use(_)) => "a use declaration",
        _ => match syn::parse2::<syn::TraitItemFn>(item.clone()) {
            Ok(_) => "a trait method without a body (annotate the implementations)",
            Err(_) => "this item",
        },
    }
}
