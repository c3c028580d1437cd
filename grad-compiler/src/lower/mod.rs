//! Lowering: the user's function becomes an IR [`Function`].
//!
//! Lowering reads syntax only; it gives values the types the signature, literals, casts and
//! annotations state and leaves the rest to [`crate::infer`]. Ordinary Rust is desugared to
//! the core IR on the way: iterator chains become indexed loops (`iter`), closures are
//! inlined where they are called (`call`), `match` becomes `if` chains, and `break`,
//! `continue` and `return` anywhere become flags and guards (`control`). Every construct
//! outside the language becomes a spanned error; all are collected and reported together.
//!
//! The parts, one file each: `scope` (names and compile-time values), `signature`
//! (parameter and result types), `stmt` (blocks, `let`, assignments), `control` (`if`,
//! `match`, loops and exits), `expr` (operators, literals, places), `call` (calls,
//! methods, closures), `iter` (iterator chains), `pattern` (patterns).

mod call;
mod control;
mod expr;
mod iter;
mod pattern;
mod scope;
mod signature;
mod stmt;

use crate::diag::Diagnostics;
use crate::ir::*;
use crate::names::Binder;
use crate::shape::{FloatTy, Ty};
use proc_macro2::Span;
pub(crate) use scope::Val;
use scope::{Frame, Scopes};
pub use signature::{FnSource, ResultKind, Signature};

/// A lowered function with what the companions need from its signature.
pub struct Lowered {
    /// The IR.
    pub func: Function,
    /// The signature.
    pub sig: Signature,
}

impl Lowered {
    /// A function with the signature's parameters and result and an empty body: what the
    /// companions' signatures are built from when the body has errors.
    pub fn signature_only(sig: Signature) -> Lowered {
        let mut cx = Lowerer::new(&sig, Diagnostics::default());
        cx.func.body = Vec::new();
        Lowered { func: cx.func, sig }
    }
}

/// Result of a lowering step; `Err(Reported)` means an error was already recorded.
pub(crate) type L<T> = Result<T, Reported>;

/// An error has been recorded in the diagnostics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reported;

/// Lowers a function. All errors found are combined into one.
pub fn lower(src: &FnSource) -> Result<Lowered, syn::Error> {
    let mut diag = Diagnostics::default();
    let sig = signature::lower_signature(src, &mut diag);
    let Some(sig) = sig else {
        return Err(diag.into_error(src.sig.ident.span()));
    };
    let mut cx = Lowerer::new(&sig, diag);
    cx.lower_body(src.block);
    let Lowerer { func, mut diag, .. } = cx;
    if !diag.is_empty() {
        return Err(diag.into_error(src.sig.ident.span()));
    }
    let mut func = func;
    if crate::infer::infer(&mut func, &mut diag) {
        check_methods(&func, &mut diag);
        crate::tidy::share_loads(&mut func);
    }
    if diag.is_empty() {
        Ok(Lowered { func, sig })
    } else {
        Err(diag.into_error(src.sig.ident.span()))
    }
}

/// A method call on a number is a method of the rule table, or an error that lists them
/// (rather than rustc's complaint about a missing `_pullback` of it).
fn check_methods(f: &Function, diag: &mut Diagnostics) {
    crate::visit::walk(&f.body, &mut |s| {
        if let Stmt::Assign {
            op:
                Op::Call(Call {
                    callee: Callee::Method(m),
                    args,
                }),
            ..
        } = s
        {
            let receiver = args.first().map(|a| f.arg_ty(a).deref());
            if receiver.as_ref().is_some_and(Ty::is_scalar) {
                diag.error(m.span(), crate::rules::unknown_method(&m.to_string()));
            }
            let name = m.to_string();
            if receiver == Some(Ty::Matrix) && name != "nrows" && name != "ncols" {
                diag.error(m.span(), matrix_method(&name, f.float.name()));
            }
        }
    });
}

/// The error for a method of a nalgebra matrix the macro does not differentiate, with the
/// loop to write instead.
fn matrix_method(name: &str, float: &str) -> String {
    let hint = match name {
        "dot" | "dotc" | "tr_dot" => format!("`x.iter().zip(y.iter()).map(|(a, b)| a * b).sum::<{float}>()`"),
        "norm" | "magnitude" => format!("`x.iter().map(|e| e * e).sum::<{float}>().sqrt()`"),
        "norm_squared" | "magnitude_squared" => format!("`x.iter().map(|e| e * e).sum::<{float}>()`"),
        "transpose" => "read `m[(j, i)]` where the transpose's `(i, j)` is needed".into(),
        _ => "index the elements (`v[i]`, `m[(i, j)]`) in loops over `0..m.nrows()` and `0..m.ncols()`, or iterate with `.iter()`".into(),
    };
    format!("nalgebra's `{name}` is not differentiated yet: write the loop: {hint}")
}

/// Lowers the signature only: enough for error stubs when the body has errors.
pub fn lower_signature_only(src: &FnSource) -> Option<Signature> {
    let mut diag = Diagnostics::default();
    signature::lower_signature(src, &mut diag)
}

/// The lowering state.
pub(crate) struct Lowerer {
    /// The function being built.
    pub func: Function,
    /// Errors so far.
    pub diag: Diagnostics,
    /// Names in scope.
    pub scopes: Scopes,
    /// Blocks being built: statements go to the last.
    pub blocks: Vec<Block>,
    /// Enclosing loops, innermost last.
    pub loops: Vec<Frame>,
    /// The function's result variable.
    pub result: VarId,
    /// The function-level "still running" flag, when a `return` needs one.
    pub fn_live: Option<VarId>,
    /// Variables that may be assigned after they are bound (`let mut`, counters).
    pub mutable: crate::hash::HashSet<VarId>,
    /// How deep closures are being inlined (a closure calling itself is an error).
    pub inline_depth: usize,
    /// How many inference variables have been handed out.
    pub infer_count: u32,
}

impl Lowerer {
    /// Whether `v` is a parameter passed by shared reference (`x: &[f64; 3]`).
    pub(super) fn is_ref_param(&self, v: VarId) -> bool {
        self.func
            .params
            .iter()
            .any(|p| p.var == v && p.passing == Passing::Ref)
    }

    fn new(sig: &Signature, diag: Diagnostics) -> Lowerer {
        let mut func = Function::new(sig.float.clone());
        let mut scopes = Scopes::default();
        scopes.push();
        for (i, p) in sig.params.iter().enumerate() {
            let v = func.add_var(p.name.clone(), p.ty.clone(), p.span, Origin::Param(i));
            func.params.push(Param {
                var: v,
                passing: p.passing.clone(),
                written: p.written.clone(),
            });
            scopes.bind(&p.name, Val::Atom(Atom::Var(v)));
        }
        let result = func.add_var(
            Binder::Value.base(),
            sig.result.ty.clone(),
            sig.result.span,
            Origin::Result,
        );
        func.returns.push(result);
        let mut mutable = crate::hash::HashSet::default();
        for p in &sig.params {
            if p.mutable {
                if let Some(v) = func.params.iter().find(|q| func.var(q.var).name == p.name) {
                    mutable.insert(v.var);
                }
            }
        }
        mutable.insert(result);
        Lowerer {
            func,
            diag,
            scopes,
            blocks: vec![Vec::new()],
            loops: Vec::new(),
            result,
            fn_live: None,
            mutable,
            inline_depth: 0,
            infer_count: 0,
        }
    }

    fn lower_body(&mut self, block: &syn::Block) {
        if control::needs_fn_flag(block) {
            let live = self.flag(Binder::Live, true);
            self.fn_live = Some(live);
        }
        let _ = self.block_into(block, stmt::Sink::Var(self.result));
        self.func.body = self.blocks.pop().unwrap_or_default();
        crate::cleanup::freeze_conditions(&mut self.func);
        crate::cleanup::remove_dead_assignments(&mut self.func);
    }

    /// Records an error at `span`.
    pub fn err<T>(&mut self, span: Span, msg: impl Into<String>) -> L<T> {
        self.diag.error(span, msg);
        Err(Reported)
    }

    /// Records an error covering all of `node`.
    pub fn err_at<T>(&mut self, node: &impl quote::ToTokens, msg: impl Into<String>) -> L<T> {
        self.diag.error_spanned(node, msg);
        Err(Reported)
    }

    /// A fresh inference variable.
    pub fn infer_ty(&mut self) -> Ty {
        self.infer_count += 1;
        Ty::Infer(self.infer_count)
    }

    /// A fresh temporary whose type inference will find.
    pub fn temp(&mut self, span: Span) -> VarId {
        let ty = self.infer_ty();
        self.func.add_var("", ty, span, Origin::Temp)
    }

    /// A fresh temporary of a known type.
    pub fn temp_of(&mut self, ty: Ty, span: Span) -> VarId {
        self.func.add_var("", ty, span, Origin::Temp)
    }

    /// A new variable the generator names after a binder.
    pub fn made(&mut self, binder: Binder, of: &str, ty: Ty, span: Span) -> VarId {
        self.func
            .add_var(binder.name(of), ty, span, Origin::Made(binder, None))
    }

    /// A new boolean flag, set to `init` here.
    pub fn flag(&mut self, binder: Binder, init: bool) -> VarId {
        let v = self.made(binder, "", Ty::Bool, Span::call_site());
        self.mutable.insert(v);
        self.emit(Stmt::Assign {
            target: v,
            op: Op::Use(Atom::Bool(init)),
            span: Span::call_site(),
        });
        v
    }

    /// Appends a statement to the block being built.
    pub fn emit(&mut self, s: Stmt) {
        self.blocks.last_mut().expect("a block is open").push(s);
    }

    /// `target = op` into a fresh temporary; returns it.
    pub fn assign(&mut self, op: Op, span: Span) -> Atom {
        let t = self.temp(span);
        self.emit(Stmt::Assign {
            target: t,
            op,
            span,
        });
        Atom::Var(t)
    }

    /// `target = op` into a fresh temporary of a known type.
    pub fn assign_typed(&mut self, op: Op, ty: Ty, span: Span) -> Atom {
        let t = self.temp_of(ty, span);
        self.emit(Stmt::Assign {
            target: t,
            op,
            span,
        });
        Atom::Var(t)
    }

    /// Lowers statements into a new block and returns it (the scope is the caller's).
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> L<T>) -> (Block, L<T>) {
        self.blocks.push(Vec::new());
        let r = f(self);
        let b = self.blocks.pop().unwrap_or_default();
        (b, r)
    }

    /// The float type.
    pub fn float(&self) -> &FloatTy {
        &self.func.float
    }
}
