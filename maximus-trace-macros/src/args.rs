//! Parsing `#[trace_span(...)]` arguments into a small AST. Every mistake becomes a
//! `syn::Error` on the offending tokens; parsing goes on so all mistakes are reported at once.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitBool, LitStr, Token};

/// What the attribute asked for.
#[derive(Default)]
pub struct Args {
    pub name: Option<LitStr>,
    pub kind: Option<Kind>,
    pub err: Option<LitBool>,
    pub record: Vec<Ident>,
    pub fields: Vec<Field>,
    pub errors: Option<syn::Error>,
}

/// A span kind, as `kind = ...` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Internal,
    Client,
    Server,
    Producer,
    Consumer,
}

impl Kind {
    const ALL: [(&'static str, Kind); 5] = [
        ("internal", Kind::Internal),
        ("client", Kind::Client),
        ("server", Kind::Server),
        ("producer", Kind::Producer),
        ("consumer", Kind::Consumer),
    ];

    /// The kind `ident` names; an error on it, listing the kinds, otherwise.
    fn parse(ident: &Ident) -> syn::Result<Kind> {
        Kind::ALL
            .iter()
            .find(|(name, _)| ident == name)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                syn::Error::new(
                    ident.span(),
                    format!(
                        "unknown span kind `{ident}`: expected one of client, server, producer, consumer, internal"
                    ),
                )
            })
    }

    /// The runtime's `SpanKind` variant.
    pub fn variant(self) -> &'static str {
        match self {
            Kind::Internal => "Internal",
            Kind::Client => "Client",
            Kind::Server => "Server",
            Kind::Producer => "Producer",
            Kind::Consumer => "Consumer",
        }
    }
}

/// One `key = value` attribute.
pub struct Field {
    pub key: String,
    pub key_span: Span,
    pub value: Expr,
}

impl Args {
    fn error(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(existing) => existing.combine(error),
            None => self.errors = Some(error),
        }
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut first = true;
        while !input.is_empty() {
            if let Err(e) = parse_item(input, &mut args, first) {
                args.error(e);
                skip_to_comma(input);
            }
            first = false;
            if input.is_empty() {
                break;
            }
            if let Err(e) = input.parse::<Token![,]>() {
                args.error(e);
                skip_to_comma(input);
                let _ = input.parse::<Token![,]>();
            }
        }
        Ok(args)
    }
}

/// Recovers after a mistake: drops tokens up to the next top-level comma.
fn skip_to_comma(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        let _ = input.parse::<proc_macro2::TokenTree>();
    }
}

fn parse_item(input: ParseStream<'_>, args: &mut Args, first: bool) -> syn::Result<()> {
    if input.peek(LitStr) && !input.peek2(Token![=]) {
        let name: LitStr = input.parse()?;
        if args.name.is_some() {
            return Err(syn::Error::new(name.span(), "the span name is given twice"));
        }
        if !first {
            return Err(syn::Error::new(
                name.span(),
                "the span name goes first: `#[trace_span(\"name\", key = value)]`",
            ));
        }
        return set_name(args, name);
    }
    if input.peek(syn::Lit) && !input.peek(LitStr) && first {
        let lit: syn::Lit = input.parse()?;
        return Err(syn::Error::new(
            lit.span(),
            "the span name must be a string literal: `#[trace_span(\"process_order\")]`",
        ));
    }
    if input.peek(Ident::peek_any) && input.peek2(syn::token::Paren) {
        let option: Ident = input.call(Ident::parse_any)?;
        let content;
        syn::parenthesized!(content in input);
        if option != "record" {
            let _ = content.parse::<proc_macro2::TokenStream>();
            return Err(unknown_option(&option));
        }
        let names = Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
        args.record.extend(names);
        return Ok(());
    }
    let (key, key_span, single) = parse_key(input)?;
    let eq: Token![=] = match input.parse() {
        Ok(eq) => eq,
        Err(e) => return Err(single.as_ref().map(unknown_option).unwrap_or(e)),
    };
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(
            eq.span,
            format!("`{key} =` needs a value: write `{key} = <expression>`"),
        ));
    }
    match single.as_ref().map(|i| i.to_string()).as_deref() {
        Some("name") => set_name(args, parse_name_value(input)?),
        Some("kind") => {
            let ident = input.call(Ident::parse_any)?;
            let kind = Kind::parse(&ident)?;
            if args.kind.is_some() {
                return Err(syn::Error::new(ident.span(), "`kind` is given twice"));
            }
            args.kind = Some(kind);
            Ok(())
        }
        Some("err") => {
            let value: Expr = input.parse()?;
            match &value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Bool(b),
                    ..
                }) => set_once(&mut args.err, b.clone(), "`err`"),
                other => Err(syn::Error::new(
                    other.span(),
                    "`err` takes `true` or `false`: write `err = false` to leave `Err` results unmarked",
                )),
            }
        }
        _ => {
            let value: Expr = input.parse()?;
            if args.fields.iter().any(|f| f.key == key) {
                return Err(syn::Error::new(
                    key_span,
                    format!("attribute `{key}` is given twice"),
                ));
            }
            args.fields.push(Field { key, key_span, value });
            Ok(())
        }
    }
}

fn unknown_option(option: &Ident) -> syn::Error {
    syn::Error::new(
        option.span(),
        format!(
            "unknown option `{option}`: expected `\"name\"`, `key = value`, `kind = client|server|producer|consumer|internal`, \
             `err = false`, `record(arg, ..)` or `name = \"...\"`"
        ),
    )
}

/// A key: an identifier, a dotted name (`http.method`) or a string literal. Returns the
/// key text, its span, and the identifier when the key is a single one (options are).
fn parse_key(input: ParseStream<'_>) -> syn::Result<(String, Span, Option<Ident>)> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        if lit.value().is_empty() {
            return Err(syn::Error::new(lit.span(), "attribute keys must not be empty"));
        }
        return Ok((lit.value(), lit.span(), None));
    }
    if !input.peek(Ident::peek_any) {
        return Err(malformed_key(input.span()));
    }
    let first = input.call(Ident::parse_any)?;
    let mut key = first.unraw().to_string();
    let mut span = first.span();
    let mut dotted = false;
    while input.peek(Token![.]) {
        let dot: Token![.] = input.parse()?;
        if !input.peek(Ident::peek_any) {
            return Err(malformed_key(dot.span));
        }
        let part = input.call(Ident::parse_any)?;
        key.push('.');
        key.push_str(&part.unraw().to_string());
        span = span.join(part.span()).unwrap_or(span);
        dotted = true;
    }
    if !input.peek(Token![=]) && !input.is_empty() && !input.peek(Token![,]) {
        return Err(malformed_key(input.span()));
    }
    Ok((key, span, (!dotted).then_some(first)))
}

fn malformed_key(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "malformed attribute key: write an identifier (`user_id`), a dotted name (`http.method`) \
         or a string literal (`\"retry-attempt\"`)",
    )
}

fn parse_name_value(input: ParseStream<'_>) -> syn::Result<LitStr> {
    let value: Expr = input.parse()?;
    match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Ok(s),
        other => Err(syn::Error::new(
            other.span(),
            "the span name must be a string literal: `name = \"process_order\"`",
        )),
    }
}

fn set_name(args: &mut Args, name: LitStr) -> syn::Result<()> {
    if name.value().trim().is_empty() {
        return Err(syn::Error::new(
            name.span(),
            "the span name must not be empty: write `#[trace_span(\"process_order\")]`, or `#[trace_span]` to use the function's name",
        ));
    }
    set_once(&mut args.name, name, "the span name")
}

fn set_once<T: Spanned>(slot: &mut Option<T>, value: T, what: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(value.span(), format!("{what} is given twice")));
    }
    *slot = Some(value);
    Ok(())
}
