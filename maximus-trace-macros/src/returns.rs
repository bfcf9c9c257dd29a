//! Making early exits of a function body visible to the span.
//!
//! To mark a span failed when a function returns `Err` without wrapping the body in a
//! closure (which changes borrowing: tokio-rs/tracing#2796), the body runs inside a labeled
//! block and its own `return` and `?` become `break` out of that block. Nested closures,
//! `async` blocks and items have their own `return` and are left alone. Exits hidden inside
//! macros (e.g. `anyhow::bail!`) cannot be seen; such calls end the span without marking it.

use proc_macro2::Span;
use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Lifetime};

pub struct Rewrite {
    pub label: Lifetime,
}

impl VisitMut for Rewrite {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => return,
            Expr::Return(ret) => {
                let label = self.label.clone();
                let span = ret.return_token.span;
                let value = match ret.expr.take() {
                    Some(mut value) => {
                        self.visit_expr_mut(&mut value);
                        quote_spanned!(value.span()=> #value)
                    }
                    None => quote_spanned!(span=> ()),
                };
                // Parenthesised: `break 'label ::path` would read as a labeled loop. The
                // parentheses get the macro's span so `unused_parens` leaves them alone.
                *expr = syn::parse_quote!(break #label (#value));
                return;
            }
            Expr::Try(try_expr) => {
                self.visit_expr_mut(&mut try_expr.expr);
                let label = &self.label;
                let inner = &try_expr.expr;
                let span = try_expr.question_token.span;
                // The conversion keeps the `?`'s span, so a missing `From` impl is reported there.
                let residual =
                    quote_spanned!(span=> ::core::result::Result::Err(::core::convert::From::from(error)));
                *expr = syn::parse_quote!(
                    match #inner {
                        ::core::result::Result::Ok(value) => value,
                        ::core::result::Result::Err(error) => break #label (#residual),
                    }
                );
                return;
            }
            _ => {}
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

pub fn label() -> Lifetime {
    Lifetime::new("'__maximus_trace_body", Span::call_site())
}
