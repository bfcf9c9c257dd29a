//! Generating the traced function. The user's signature, attributes and braces are kept;
//! statements are added inside the braces, and generated code reaches the runtime through
//! `::maximus_trace::__private` only.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ItemFn, ReturnType, Type};

use crate::args::{Args, Kind};
use crate::returns::{self, Rewrite};
use crate::shape::{self, Shape};

pub fn traced(args: &Args, mut function: ItemFn) -> TokenStream {
    match shape::of(&function.sig, &function.block) {
        Shape::Sync => {
            let start = span_start(args, &function, "enter");
            sync_body(args, &mut function, start)
        }
        Shape::AsyncFn => {
            let start = span_start(args, &function, "defer");
            async_fn(args, &mut function, start)
        }
        Shape::AsyncTail => {
            let start = span_start(args, &function, "defer");
            async_tail(args, &mut function, start)
        }
    }
    function.into_token_stream()
}

/// `__private::enter(name, kind, || [attributes])` for a sync function, `defer` for a future:
/// attributes are evaluated at the call, only when tracing is on, each converted where the
/// user wrote it so type errors point there.
fn span_start(args: &Args, function: &ItemFn, constructor: &str) -> TokenStream {
    let constructor = syn::Ident::new(constructor, Span::call_site());
    let name = match &args.name {
        Some(name) => name.value(),
        None => function.sig.ident.unraw_string(),
    };
    let variant = syn::Ident::new(args.kind.unwrap_or(Kind::Internal).variant(), Span::call_site());
    let fields = args.fields.iter().map(|f| {
        let key = syn::LitStr::new(&f.key, f.key_span);
        let value = &f.value;
        if matches!(value, Expr::Lit(_)) {
            quote_spanned!(value.span()=> ::maximus_trace::__private::attribute(#key, #value))
        } else {
            quote_spanned!(value.span()=> ::maximus_trace::__private::attribute_ref(#key, &(#value)))
        }
    });
    let recorded = args.record.iter().map(|arg| {
        let key = arg.to_string();
        quote_spanned!(arg.span()=> ::maximus_trace::__private::attribute_ref(#key, &#arg))
    });
    quote! {
        ::maximus_trace::__private::#constructor(
            #name,
            ::maximus_trace::__private::SpanKind::#variant,
            || [#(#fields,)* #(#recorded,)*],
        )
    }
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for syn::Ident {
    fn unraw_string(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
    }
}

fn marks_errors(args: &Args, output: Option<&Type>) -> bool {
    let err = args.err.as_ref().is_none_or(|b| b.value);
    err && output.is_some_and(shape::is_result)
}

fn declared_output(output: &ReturnType) -> Option<&Type> {
    match output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(ty),
    }
}

/// Sync: a guard first, so the span ends when the function returns or unwinds. For
/// `Result`, the body runs in a labeled block whose value is inspected.
fn sync_body(args: &Args, function: &mut ItemFn, start: TokenStream) {
    let guard = quote!(let __maximus_trace_guard = #start;);
    let output = declared_output(&function.sig.output).cloned();
    let block = &mut function.block;
    if !marks_errors(args, output.as_ref()) {
        block.stmts.insert(0, syn::parse_quote!(#guard));
        return;
    }
    let label = returns::label();
    let mut rewrite = Rewrite { label: label.clone() };
    let stmts: Vec<syn::Stmt> = std::mem::take(&mut block.stmts)
        .into_iter()
        .map(|mut s| {
            rewrite.visit_stmt_mut(&mut s);
            s
        })
        .collect();
    let annotation = output
        .filter(|ty| !shape::has_impl_trait(ty))
        .map(|ty| quote!(: #ty));
    let body: Block = syn::parse_quote!({
        #guard
        let __maximus_trace_result #annotation = #label: { #(#stmts)* };
        #[allow(unreachable_code)]
        ::maximus_trace::__private::record_guard_result(&__maximus_trace_guard, &__maximus_trace_result);
        __maximus_trace_result
    });
    // Keep the user's braces: new ones would switch lints such as `dead_code` off.
    block.stmts = body.stmts;
}

/// `async fn f(..) -> T { body }` becomes `fn f(..) -> impl Future<Output = T>` that
/// starts the span at the call and returns the body as an instrumented `async move` block.
fn async_fn(args: &Args, function: &mut ItemFn, start: TokenStream) {
    let sig = &mut function.sig;
    let async_span = sig
        .asyncness
        .take()
        .map(|a| a.span)
        .unwrap_or_else(Span::call_site);
    let output = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let arrow = match &sig.output {
        ReturnType::Type(arrow, _) => *arrow,
        ReturnType::Default => syn::Token![->](async_span),
    };
    let future: Type =
        syn::parse_quote_spanned!(async_span=> ::maximus_trace::__private::ImplFuture!(#output));
    sig.output = ReturnType::Type(arrow, Box::new(future));
    let instrument = instrument_fn(args, Some(&output));
    let stmts = std::mem::take(&mut function.block.stmts);
    let annotation = (!shape::has_impl_trait(&output)).then(|| quote!(: #output));
    let body: Block = syn::parse_quote!({
        let __maximus_trace_span = #start;
        ::maximus_trace::__private::#instrument(
            async move {
                let __maximus_trace_output #annotation = { #(#stmts)* };
                #[allow(unreachable_code)]
                __maximus_trace_output
            },
            __maximus_trace_span,
        )
    });
    function.block.stmts = body.stmts;
}

/// A body ending in an `async` block (an `impl Future` function, or `#[async_trait]`'s
/// `Box::pin(async move { .. })`): the span starts at the call and wraps that block.
fn async_tail(args: &Args, function: &mut ItemFn, start: TokenStream) {
    let output = declared_output(&function.sig.output)
        .and_then(shape::future_output)
        .cloned();
    let instrument = instrument_fn(args, output.as_ref());
    let Some(tail) = shape::tail_async_block_mut(&mut function.block) else {
        return;
    };
    let block = tail.clone();
    *tail = syn::parse_quote!(::maximus_trace::__private::#instrument(#block, __maximus_trace_span));
    function
        .block
        .stmts
        .insert(0, syn::parse_quote!(let __maximus_trace_span = #start;));
}

fn instrument_fn(args: &Args, output: Option<&Type>) -> syn::Ident {
    let name = if marks_errors(args, output) {
        "instrument_result"
    } else {
        "instrument"
    };
    syn::Ident::new(name, Span::call_site())
}
