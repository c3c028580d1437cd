//! Calls: float methods, functions of other annotated functions, methods, and closures
//! (inlined where they are called).

use super::scope::{Closure, Val};
use super::{Lowerer, L};
use crate::ir::*;
use crate::rules::{self, Syntax};
use crate::shape::Ty;
use proc_macro2::Span;
use std::rc::Rc;
use syn::spanned::Spanned;

/// Something that can be applied to values: a closure, a float method named by path
/// (`f64::max`), or a function.
#[derive(Clone, Debug)]
pub(crate) enum Callable {
    Closure(Rc<Closure>),
    Method(String),
    Function(syn::Path),
}

/// Methods that only iterator chains have (or that start one).
pub(super) const ITER_METHODS: &[&str] = &[
    "iter",
    "into_iter",
    "iter_mut",
    "copied",
    "cloned",
    "zip",
    "enumerate",
    "map",
    "filter",
    "rev",
    "take",
    "skip",
    "step_by",
    "chunks",
    "chunks_exact",
    "windows",
    "sum",
    "product",
    "fold",
    "count",
    "max_by",
    "min_by",
    "collect",
    "for_each",
    "to_vec",
    "last",
    "first",
];

impl Lowerer {
    /// `f(args)`.
    pub(super) fn call(&mut self, c: &syn::ExprCall) -> L<Val> {
        let span = c.span();
        let syn::Expr::Path(fp) = &*c.func else {
            return self.err_at(
                &c.func,
                "only named functions and closures can be called here",
            );
        };
        let path = &fp.path;
        if let Some(id) = path.get_ident() {
            if let Some(Val::Closure(clo)) = self.scopes.get(&id.to_string()).cloned() {
                let mut args = Vec::new();
                for a in &c.args {
                    args.push(self.expr(a)?);
                }
                return self.apply_closure(&clo, args, span);
            }
        }
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let last = segs.last().cloned().unwrap_or_default();
        if last == "no_grad" && c.args.len() == 1 {
            let a = self.value(&c.args[0])?;
            return Ok(Val::Atom(self.assign(Op::NoGrad(a), span)));
        }
        if segs.len() >= 2 && self.is_float_path(&segs[..segs.len() - 1]) {
            return self.float_function(&last, &c.args, span, c);
        }
        let mut args = Vec::new();
        for a in &c.args {
            args.push(self.call_arg(a)?);
        }
        let call = Call {
            callee: Callee::Path(path.clone()),
            args,
        };
        Ok(Val::Atom(self.assign(Op::Call(call), span)))
    }

    /// Whether a path names the float type (`f64`, `T`, `Float`, `grad::Float`).
    fn is_float_path(&self, segs: &[String]) -> bool {
        let float = self.float().name();
        matches!(segs.last().map(String::as_str), Some(s) if s == float || s == "Float")
            || (segs.len() == 1 && (segs[0] == "f64" || segs[0] == "f32"))
    }

    /// `f64::sin(x)`, `T::from_f64(2.0)`, `T::zero()`.
    fn float_function(
        &mut self,
        name: &str,
        args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        span: Span,
        at: &syn::ExprCall,
    ) -> L<Val> {
        match (name, args.len()) {
            ("from_f64", 1) | ("from", 1) => {
                let inner = strip_parens(&args[0]);
                if let syn::Expr::Cast(c) = inner {
                    // `T::from_f64(n as f64)`: an integer converted to the float type.
                    let a = self.value(&c.expr)?;
                    return Ok(Val::Atom(self.assign_typed(
                        Op::Cast(a, CastTo::Float),
                        Ty::Float,
                        span,
                    )));
                }
                match self.expr(inner)? {
                    Val::Atom(Atom::Float(x)) => Ok(Val::Atom(Atom::Float(x))),
                    Val::Atom(Atom::Int(n)) => Ok(Val::Atom(Atom::Float(n as f64))),
                    Val::Atom(a) if name == "from" => {
                        Ok(Val::Atom(self.assign_typed(Op::Cast(a, CastTo::Float), Ty::Float, span)))
                    }
                    _ => self.err_at(
                        &args[0],
                        "`from_f64` takes a literal (`T::from_f64(2.0)`) or an integer cast (`T::from_f64(n as f64)`)",
                    ),
                }
            }
            ("zero", 0) => Ok(Val::Atom(Atom::Float(0.0))),
            ("one", 0) => Ok(Val::Atom(Atom::Float(1.0))),
            _ => {
                let mut vals = Vec::new();
                for a in args {
                    vals.push(self.value(a)?);
                }
                self.float_method(name, vals, span, at)
            }
        }
    }

    /// A float method applied to atoms (the receiver first).
    pub(super) fn float_method(
        &mut self,
        name: &str,
        args: Vec<Atom>,
        span: Span,
        at: &impl quote::ToTokens,
    ) -> L<Val> {
        let Some(rule) = rules::method(name) else {
            return self.err_at(at, rules::unknown_method(name));
        };
        if rule.arity != args.len() {
            return self.err_at(
                at,
                format!(
                    "`{name}` takes {} argument(s)",
                    rule.arity.saturating_sub(1)
                ),
            );
        }
        match rule.syntax {
            Syntax::TupleOf(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    let prim = rules::prim(p).expect("a tuple method names primitives");
                    out.push(Val::Atom(self.assign(Op::Prim(prim, args.clone()), span)));
                }
                Ok(Val::Tuple(out))
            }
            _ => {
                let prim = rules::prim(name).expect("a method of the table");
                Ok(Val::Atom(self.assign(Op::Prim(prim, args), span)))
            }
        }
    }

    /// `receiver.method(args)`.
    pub(super) fn method_call(&mut self, m: &syn::ExprMethodCall) -> L<Val> {
        let span = m.span();
        let name = m.method.to_string();
        let receiver = match strip_parens(&m.receiver) {
            syn::Expr::Range(r) => Val::Iter(std::rc::Rc::new(self.range_stream(r)?)),
            _ => self.expr(&m.receiver)?,
        };

        if matches!(receiver, Val::Iter(_)) || ITER_METHODS.contains(&name.as_str()) {
            return self.iter_method(receiver, m);
        }
        if name == "unwrap" {
            // `max_by(..).unwrap()` and friends: the consumer gave the value itself.
            return Ok(receiver);
        }
        match name.as_str() {
            "len" => {
                let seq = self.seq_of(receiver, &m.receiver)?;
                return Ok(Val::Atom(self.seq_len(&seq, span)));
            }
            "nrows" | "ncols" if m.args.is_empty() => {
                // A nalgebra matrix's dimensions: integers, read as they are (`m.nrows()`).
                let whole = match &receiver {
                    Val::Atom(Atom::Var(v)) => Some(Place::var(*v)),
                    Val::Place(p) | Val::Ref(p) if p.is_var() => Some(p.clone()),
                    _ => None,
                };
                if let Some(place) = whole {
                    let call = Call {
                        callee: Callee::Method(m.method.clone()),
                        args: vec![Arg::Ref(place)],
                    };
                    return Ok(Val::Atom(self.assign_typed(Op::Call(call), Ty::Int, span)));
                }
            }
            "clone" => {
                let a = self.materialize(receiver, span)?;
                return Ok(Val::Atom(self.assign(Op::Use(a), span)));
            }
            "total_cmp" | "partial_cmp" if m.args.len() == 1 => {
                let a = self.materialize(receiver, span)?;
                let b = self.value(&m.args[0])?;
                return Ok(Val::Ordering(a, b));
            }
            "is_nan" | "is_finite" if m.args.is_empty() => {
                let a = self.materialize(receiver, span)?;
                let x = if name == "is_finite" {
                    // x - x is 0 for finite x, NaN otherwise.
                    self.assign(
                        Op::Prim(rules::prim("sub").expect("sub"), vec![a.clone(), a]),
                        span,
                    )
                } else {
                    a
                };
                let op = if name == "is_nan" {
                    CmpOp::Ne
                } else {
                    CmpOp::Eq
                };
                return Ok(Val::Atom(self.assign_typed(
                    Op::Cmp(op, x.clone(), x),
                    Ty::Bool,
                    span,
                )));
            }
            _ => {}
        }
        if rules::method(&name).is_some() {
            let mut args = vec![self.materialize(receiver, span)?];
            for a in &m.args {
                args.push(self.value(a)?);
            }
            return self.float_method(&name, args, span, &m.method);
        }
        // A method of the user's (an annotated method of a `Differentiable` struct).
        let recv = match receiver {
            Val::Atom(a) => Arg::Value(a),
            Val::Ref(p) | Val::Place(p) => Arg::Ref(p),
            _ => return self.err_at(&m.receiver, "this value has no methods"),
        };
        let mut args = vec![recv];
        for a in &m.args {
            args.push(self.call_arg(a)?);
        }
        let call = Call {
            callee: Callee::Method(m.method.clone()),
            args,
        };
        Ok(Val::Atom(self.assign(Op::Call(call), span)))
    }

    /// An argument of a call to a function: by value, `&place`, or `&x[a..b]`.
    pub(super) fn call_arg(&mut self, e: &syn::Expr) -> L<Arg> {
        let span = e.span();
        match self.expr_or_flow(e)? {
            Val::Atom(a) => Ok(Arg::Value(a)),
            Val::Ref(p) => Ok(Arg::Ref(p)),
            Val::Place(p) => Ok(Arg::Value(self.read_place(p, span))),
            Val::View(v) => {
                let end = self.int_add(v.start.clone(), v.len, span);
                Ok(Arg::View(v.base, Some(v.start), Some(end)))
            }
            v => Ok(Arg::Value(self.materialize(v, span)?)),
        }
    }

    /// A closure expression: kept, with the names it sees, until it is called.
    pub(super) fn closure(&mut self, c: &syn::ExprClosure) -> L<Val> {
        if c.asyncness.is_some() {
            return self.err_at(c, "async closures cannot be differentiated");
        }
        if super::control::Exits::of_expr(&c.body).returns {
            return self.err_at(
                &c.body,
                "`return` inside a closure is not supported: make the value the closure's last expression",
            );
        }
        Ok(Val::Closure(Rc::new(Closure {
            params: c.inputs.iter().cloned().collect(),
            body: (*c.body).clone(),
            env: self.scopes.snapshot(),
        })))
    }

    /// Calls a closure: its body, inlined, with its parameters bound to `args`.
    pub(super) fn apply_closure(&mut self, clo: &Closure, args: Vec<Val>, span: Span) -> L<Val> {
        if clo.params.len() != args.len() {
            return self.err(
                span,
                format!("this closure takes {} argument(s)", clo.params.len()),
            );
        }
        if self.inline_depth > 32 {
            return self.err(
                span,
                "closures nest too deeply (a closure cannot call itself)",
            );
        }
        self.inline_depth += 1;
        let saved = self.scopes.replace(clo.env.clone());
        self.scopes.push();
        let mut result = Ok(());
        for (p, a) in clo.params.iter().zip(args) {
            if let Err(e) = self.bind_pattern(p, a, None) {
                result = Err(e);
            }
        }
        let value = result.and_then(|_| self.expr_or_flow(&clo.body));
        self.scopes.pop();
        self.scopes.replace(saved);
        self.inline_depth -= 1;
        value
    }

    /// What an adapter's argument applies: a closure, `f64::max`, or a function's name.
    pub(super) fn callable(&mut self, e: &syn::Expr) -> L<Callable> {
        match strip_parens(e) {
            syn::Expr::Closure(c) => match self.closure(c)? {
                Val::Closure(clo) => Ok(Callable::Closure(clo)),
                _ => unreachable!("a closure lowers to a closure"),
            },
            syn::Expr::Path(p) => {
                if let Some(id) = p.path.get_ident() {
                    if let Some(Val::Closure(clo)) = self.scopes.get(&id.to_string()).cloned() {
                        return Ok(Callable::Closure(clo));
                    }
                }
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if segs.len() >= 2 && self.is_float_path(&segs[..segs.len() - 1]) {
                    return Ok(Callable::Method(segs.last().cloned().unwrap_or_default()));
                }
                Ok(Callable::Function(p.path.clone()))
            }
            other => self.err_at(other, "expected a closure or a function name"),
        }
    }

    /// Applies a callable to values.
    pub(super) fn apply(
        &mut self,
        f: &Callable,
        args: Vec<Val>,
        span: Span,
        at: &impl quote::ToTokens,
    ) -> L<Val> {
        match f {
            Callable::Closure(c) => self.apply_closure(c, args, span),
            Callable::Method(name) => {
                let mut atoms = Vec::new();
                for a in args {
                    atoms.push(self.materialize(a, span)?);
                }
                self.float_method(name, atoms, span, at)
            }
            Callable::Function(path) => {
                let mut call_args = Vec::new();
                for a in args {
                    call_args.push(match a {
                        Val::Ref(p) => Arg::Ref(p),
                        v => Arg::Value(self.materialize(v, span)?),
                    });
                }
                let call = Call {
                    callee: Callee::Path(path.clone()),
                    args: call_args,
                };
                Ok(Val::Atom(self.assign(Op::Call(call), span)))
            }
        }
    }
}

/// `(e)` -> `e`.
pub(super) fn strip_parens(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => strip_parens(&p.expr),
        syn::Expr::Group(g) => strip_parens(&g.expr),
        e => e,
    }
}
