//! Recognising the shape of the annotated function: what runs when, and what it returns.

use syn::visit::Visit;
use syn::{Block, Expr, GenericArgument, ReturnType, Signature, Stmt, Type};

/// How the function's work is done, which decides where the span starts and ends.
pub enum Shape {
    /// A plain function: the span covers the call.
    Sync,
    /// `async fn`: rewritten to return `impl Future`, so the parent is captured at the call.
    AsyncFn,
    /// A function whose body ends in an `async` block (an `impl Future` return, or the
    /// `Box::pin(async move { .. })` that `#[async_trait]` produces): that block is wrapped.
    AsyncTail,
}

pub fn of(sig: &Signature, block: &Block) -> Shape {
    if sig.asyncness.is_some() {
        Shape::AsyncFn
    } else if tail_async_block(block).is_some() && returns_future(&sig.output) {
        Shape::AsyncTail
    } else {
        Shape::Sync
    }
}

/// The `async` block the body ends with, directly or as the argument of `Box::pin(..)`.
pub fn tail_async_block(block: &Block) -> Option<&syn::ExprAsync> {
    let Some(Stmt::Expr(tail, None)) = block.stmts.last() else {
        return None;
    };
    match tail {
        Expr::Async(a) => Some(a),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => match call.args.first() {
            Some(Expr::Async(a)) => Some(a),
            _ => None,
        },
        _ => None,
    }
}

pub fn tail_async_block_mut(block: &mut Block) -> Option<&mut Expr> {
    let Some(Stmt::Expr(tail, None)) = block.stmts.last_mut() else {
        return None;
    };
    match tail {
        Expr::Async(_) => Some(tail),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => call.args.first_mut(),
        _ => None,
    }
}

fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(p) = func else { return false };
    let segments: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || segments == ["pin"]
}

fn returns_future(output: &ReturnType) -> bool {
    match output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => future_output(ty).is_some(),
    }
}

/// `T` in any `Future<Output = T>` inside the type (`impl Future<Output = T>`,
/// `Pin<Box<dyn Future<Output = T> + Send + 'a>>`).
pub fn future_output(ty: &Type) -> Option<&Type> {
    struct Find<'a>(Option<&'a Type>);
    impl<'a> Visit<'a> for Find<'a> {
        fn visit_assoc_type(&mut self, assoc: &'a syn::AssocType) {
            if assoc.ident == "Output" && self.0.is_none() {
                self.0 = Some(&assoc.ty);
            }
        }
        fn visit_generic_argument(&mut self, arg: &'a GenericArgument) {
            syn::visit::visit_generic_argument(self, arg);
        }
    }
    let mut find = Find(None);
    find.visit_type(ty);
    find.0
}

/// True when the declared type's last path segment is `Result` (`Result`, `io::Result`,
/// `anyhow::Result`, ...). Type aliases with other names are not recognised.
pub fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        Type::Paren(p) => is_result(&p.elem),
        Type::Group(g) => is_result(&g.elem),
        _ => false,
    }
}

/// True when the type mentions `impl Trait`, which cannot annotate a `let`.
pub fn has_impl_trait(ty: &Type) -> bool {
    struct Find(bool);
    impl<'a> Visit<'a> for Find {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    find.visit_type(ty);
    find.0
}
