//! Lowering: the user's `syn::ItemFn` becomes an IR [`Function`] in three-address form.
//!
//! Lowering also infers every value's type from the signature, literals and the operations of
//! the supported subset. Every construct outside that subset becomes a spanned error; errors
//! are collected and reported together.

use crate::ir::*;
use proc_macro2::Span;
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::{BinOp, Expr as SExpr, Pat, Stmt as SStmt, Type, UnOp};

/// The float type of the function: `f32` or `f64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatTy {
    F32,
    F64,
}

impl FloatTy {
    /// The type's name.
    pub fn name(self) -> &'static str {
        match self {
            FloatTy::F32 => "f32",
            FloatTy::F64 => "f64",
        }
    }
}

/// A lowered function together with what code generation needs from its signature.
pub struct Lowered {
    /// The IR.
    pub func: Function,
    /// The float type.
    pub float: FloatTy,
}

/// Result of a lowering step; `Err(())` means an error was already recorded.
type L<T> = Result<T, ()>;

/// Where the value of a block's tail expression goes.
#[derive(Clone, Copy)]
enum Sink {
    /// Into the function result (also where `return` goes).
    Result,
    /// Into a variable (block and `if` expressions).
    Var(VarId),
    /// Nowhere: a statement block (the tail must be `()`-typed: a loop, an `if` statement).
    Discard,
}

/// Lowers a function. All errors found are combined into one.
pub fn lower(item: &syn::ItemFn) -> Result<Lowered, syn::Error> {
    lower_impl(item, false)
}

/// Lowers only the signature (the body is left empty): enough to print companions'
/// signatures when the body has errors.
pub fn lower_signature(item: &syn::ItemFn) -> Result<Lowered, syn::Error> {
    lower_impl(item, true)
}

fn lower_impl(item: &syn::ItemFn, signature_only: bool) -> Result<Lowered, syn::Error> {
    let mut cx = Lowerer {
        signature_only,
        ..Lowerer::default()
    };
    let result = cx.lower_fn(item);
    match (result, cx.errors.is_empty()) {
        (Ok(lowered), true) => Ok(lowered),
        _ => {
            let mut errors = cx.errors.into_iter();
            let mut first = errors.next().unwrap_or_else(|| {
                syn::Error::new(item.sig.ident.span(), "cannot differentiate this function")
            });
            for e in errors {
                first.combine(e);
            }
            Err(first)
        }
    }
}

#[derive(Default)]
struct Lowerer {
    func: Option<Function>,
    float: Option<FloatTy>,
    scopes: Vec<HashMap<String, VarId>>,
    poisoned: HashSet<String>,
    used_names: HashSet<String>,
    temp_counter: usize,
    loop_depth: usize,
    /// Depth of block/`if` expressions, where `return` is not supported.
    expr_depth: usize,
    errors: Vec<syn::Error>,
    signature_only: bool,
    /// The statements that follow each enclosing `if` that contains a `return`, with the
    /// scope depth they are lowered at.
    continuations: Vec<(Vec<SStmt>, usize)>,
}

/// Is this a `std::f64::consts`-style or `f64::EPSILON`-style path to a float constant?
fn float_const_path(path: &syn::Path, float: FloatTy) -> Option<String> {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let tail: Vec<&str> = segs
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s == "std" || *s == "core")
        .collect();
    let ok = match tail.as_slice() {
        [ty, "consts", _] => *ty == float.name(),
        [ty, c] => {
            *ty == float.name()
                && matches!(
                    *c,
                    "EPSILON"
                        | "MAX"
                        | "MIN"
                        | "MIN_POSITIVE"
                        | "INFINITY"
                        | "NEG_INFINITY"
                        | "NAN"
                )
        }
        _ => false,
    };
    ok.then(|| segs.join("::"))
}

impl Lowerer {
    fn f(&mut self) -> &mut Function {
        self.func.as_mut().expect("function started")
    }

    fn err(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, msg.to_string()));
    }

    fn fail<T>(&mut self, span: Span, msg: impl std::fmt::Display) -> L<T> {
        self.err(span, msg);
        Err(())
    }

    /// An error underlining the whole of `node`, not only its first token.
    fn fail_at<T, N: quote::ToTokens>(&mut self, node: &N, msg: impl std::fmt::Display) -> L<T> {
        self.errors
            .push(syn::Error::new_spanned(node, msg.to_string()));
        Err(())
    }

    fn fresh_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.used_names.contains(&name)
            || name.starts_with("adj_")
            || name.starts_with("tan_")
        {
            name = format!("{base}_{k}");
            k += 1;
            if k > 10_000 {
                break;
            }
        }
        self.used_names.insert(name.clone());
        name
    }

    fn temp(&mut self, ty: Ty, span: Span) -> VarId {
        let name = loop {
            let candidate = format!("t{}", self.temp_counter);
            self.temp_counter += 1;
            if !self.used_names.contains(&candidate) {
                break candidate;
            }
        };
        self.used_names.insert(name.clone());
        self.f().add_var(name, ty, span, Origin::Temp)
    }

    fn bind(&mut self, ident: &syn::Ident, ty: Ty) -> VarId {
        let name = self.fresh_name(&ident.to_string());
        let v = self.f().add_var(name, ty, ident.span(), Origin::User);
        self.poisoned.remove(&ident.to_string());
        self.scopes
            .last_mut()
            .expect("scope")
            .insert(ident.to_string(), v);
        v
    }

    fn poison(&mut self, ident: &syn::Ident) {
        let key = ident.to_string();
        for s in &mut self.scopes {
            s.remove(&key);
        }
        self.poisoned.insert(key);
    }

    fn lookup(&self, name: &str) -> Option<VarId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn ty(&self, a: &Atom) -> Ty {
        match a {
            Atom::Var(v) => self.func.as_ref().expect("function").var(*v).ty,
            Atom::Float(_) => Ty::Float,
            Atom::Int(_) => Ty::Int,
            Atom::Bool(_) => Ty::Bool,
        }
    }

    fn float_name(&self) -> &'static str {
        self.float.map_or("f64", FloatTy::name)
    }

    // ----- signature -------------------------------------------------------------------

    /// The float type a type names, if it is `f32`/`f64`.
    fn float_of(ty: &Type) -> Option<FloatTy> {
        match ty {
            Type::Group(g) => Self::float_of(&g.elem),
            Type::Path(p) if p.qself.is_none() => {
                if p.path.is_ident("f64") {
                    Some(FloatTy::F64)
                } else if p.path.is_ident("f32") {
                    Some(FloatTy::F32)
                } else {
                    None
                }
            }
            Type::Paren(p) => Self::float_of(&p.elem),
            _ => None,
        }
    }

    fn is_int_type(ty: &Type) -> bool {
        let ty = ungroup(ty);
        const INTS: [&str; 12] = [
            "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128",
        ];
        matches!(ty, Type::Path(p) if p.qself.is_none() && INTS.iter().any(|i| p.path.is_ident(i)))
    }

    fn array_len(&mut self, len: &SExpr) -> L<usize> {
        match len {
            SExpr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => {
                i.base10_parse::<usize>().or_else(|e| self.fail(i.span(), e))
            }
            other => self.fail_at(
                other,
                "array lengths must be integer literals: write `[f64; 3]` or `[0.0; 3]` (const generics and named constants are not supported yet)",
            ),
        }
    }

    /// Notes the function's float type, checking that only one is used.
    fn note_float(&mut self, ft: FloatTy, span: Span) -> L<()> {
        match self.float {
            None => {
                self.float = Some(ft);
                Ok(())
            }
            Some(existing) if existing == ft => Ok(()),
            Some(existing) => self.fail(
                span,
                format!(
                    "mixed float types: this function uses `{}` elsewhere; use one float type for all float parameters and the result",
                    existing.name()
                ),
            ),
        }
    }

    /// The IR type of a parameter or annotated `let`.
    fn lower_type(&mut self, ty: &Type, what: &str) -> L<Ty> {
        let ty = ungroup(ty);
        if let Some(ft) = Self::float_of(ty) {
            self.note_float(ft, ty.span())?;
            return Ok(Ty::Float);
        }
        if Self::is_int_type(ty) {
            return Ok(Ty::Int);
        }
        match ty {
            Type::Path(p) if p.path.is_ident("bool") => return Ok(Ty::Bool),
            Type::Array(a) => {
                let n = self.array_len(&a.len)?;
                if let Some(ft) = Self::float_of(&a.elem) {
                    self.note_float(ft, a.elem.span())?;
                    return Ok(Ty::FloatArray(ArrayKind::Fixed(n)));
                }
                if Self::is_int_type(&a.elem) {
                    return Ok(Ty::IntArray(ArrayKind::Fixed(n)));
                }
            }
            Type::Reference(r) if r.mutability.is_none() => {
                let elem = match &*r.elem {
                    Type::Slice(s) => Some(&*s.elem),
                    Type::Path(p) => vec_elem(p),
                    _ => None,
                };
                if let Some(elem) = elem {
                    if let Some(ft) = Self::float_of(elem) {
                        self.note_float(ft, elem.span())?;
                        return Ok(Ty::FloatArray(ArrayKind::Slice));
                    }
                    if Self::is_int_type(elem) {
                        return Ok(Ty::IntArray(ArrayKind::Slice));
                    }
                }
            }
            Type::Reference(r) if r.mutability.is_some() => {
                return self.fail(
                    ty.span(),
                    format!("mutable references are not supported as {what}: pass `&[f64]` and return the result instead"),
                );
            }
            Type::Path(p) if vec_elem(p).is_some() && what == "a `let` type" => {
                let elem = vec_elem(p).expect("checked");
                if let Some(ft) = Self::float_of(elem) {
                    self.note_float(ft, elem.span())?;
                    return Ok(Ty::FloatArray(ArrayKind::Vec));
                }
                if Self::is_int_type(elem) {
                    return Ok(Ty::IntArray(ArrayKind::Vec));
                }
            }
            _ => {}
        }
        self.fail(
            ty.span(),
            format!(
                "unsupported type for {what}: the supported types are `f64`/`f32`, `[f64; N]`, `&[f64]`, `&Vec<f64>`, integers, `bool`, and arrays or slices of integers"
            ),
        )
    }

    fn lower_result_type(&mut self, output: &syn::ReturnType, span: Span) -> L<(Ty, ResultShape)> {
        let syn::ReturnType::Type(_, ty) = output else {
            return self.fail(span, "the function must return a float: `-> f64`, `-> [f64; M]`, `-> (f64, f64)` or `-> Vec<f64>`");
        };
        let ty = ungroup(ty);
        if let Some(ft) = Self::float_of(ty) {
            self.note_float(ft, ty.span())?;
            return Ok((Ty::Float, ResultShape::Scalar));
        }
        match ty {
            Type::Array(a) if Self::float_of(&a.elem).is_some() => {
                let n = self.array_len(&a.len)?;
                self.note_float(Self::float_of(&a.elem).expect("checked"), a.elem.span())?;
                return Ok((Ty::FloatArray(ArrayKind::Fixed(n)), ResultShape::Array(n)));
            }
            Type::Tuple(t)
                if !t.elems.is_empty() && t.elems.iter().all(|e| Self::float_of(e).is_some()) =>
            {
                for e in &t.elems {
                    self.note_float(Self::float_of(e).expect("checked"), e.span())?;
                }
                let n = t.elems.len();
                return Ok((Ty::FloatArray(ArrayKind::Fixed(n)), ResultShape::Tuple(n)));
            }
            Type::Path(p) => {
                if let Some(elem) = vec_elem(p) {
                    if let Some(ft) = Self::float_of(elem) {
                        self.note_float(ft, elem.span())?;
                        return Ok((Ty::FloatArray(ArrayKind::Vec), ResultShape::Vec));
                    }
                }
            }
            _ => {}
        }
        self.fail(
            ty.span(),
            "unsupported result type: return `f64`/`f32`, `[f64; M]`, a tuple of floats, or `Vec<f64>`",
        )
    }

    fn lower_fn(&mut self, item: &syn::ItemFn) -> L<Lowered> {
        let sig = &item.sig;
        if let Some(c) = &sig.constness {
            self.err(c.span, "`const fn` is not supported: remove `const`");
        }
        if let Some(a) = &sig.asyncness {
            self.err(a.span, "`async fn` is not supported: remove `async`");
        }
        if let Some(u) = &sig.unsafety {
            self.err(u.span, "`unsafe fn` is not supported: remove `unsafe`");
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            self.err(
                sig.generics.span(),
                "generic functions are not supported yet: write the function for `f64` or `f32`",
            );
        }
        if let Some(v) = &sig.variadic {
            self.err(v.span(), "variadic functions are not supported");
        }
        self.func = Some(Function {
            vars: Vec::new(),
            params: Vec::new(),
            body: Vec::new(),
            result: VarId(0),
            result_shape: ResultShape::Scalar,
        });
        self.scopes.push(HashMap::new());
        let result_ty = self.lower_result_type(&sig.output, sig.ident.span());
        for arg in &sig.inputs {
            let syn::FnArg::Typed(pt) = arg else {
                self.err(
                    arg.span(),
                    "methods are not supported: `#[derive_gradient]` goes on free functions",
                );
                continue;
            };
            let Pat::Ident(pi) = &*pt.pat else {
                self.err(
                    pt.pat.span(),
                    "parameter patterns are not supported: name the parameter, as in `x: f64`",
                );
                continue;
            };
            if pi.by_ref.is_some() || pi.subpat.is_some() {
                self.err(
                    pi.span(),
                    "parameter patterns are not supported: name the parameter, as in `x: f64`",
                );
                continue;
            }
            let Ok(ty) = self.lower_type(&pt.ty, "a parameter") else {
                self.poison(&pi.ident);
                continue;
            };
            let name = pi.ident.to_string();
            self.used_names.insert(name.clone());
            let f = self.f();
            let v = f.add_var(name.clone(), ty, pi.ident.span(), Origin::Param);
            f.vars[v.0].ident = Some(pi.ident.clone());
            f.params.push(v);
            self.scopes[0].insert(name, v);
        }
        let (rty, shape) = result_ty?;
        let result_name = self.fresh_name("result");
        let result = self
            .f()
            .add_var(result_name, rty, sig.output.span(), Origin::Result);
        {
            let f = self.f();
            f.result = result;
            f.result_shape = shape;
        }
        if self.signature_only {
            let func = self.func.take().expect("function");
            return Ok(Lowered {
                func,
                float: self.float.unwrap_or(FloatTy::F64),
            });
        }
        self.scopes.push(HashMap::new());
        let mut body = Vec::new();
        let ended = self.lower_stmts(&item.block.stmts, &mut body, Sink::Result)?;
        if !ended {
            return self.fail(
                item.block.span(),
                "the function body must end in an expression giving the result",
            );
        }
        let mut func = self.func.take().expect("function");
        func.body = body;
        Ok(Lowered {
            func,
            float: self.float.unwrap_or(FloatTy::F64),
        })
    }

    // ----- statements ------------------------------------------------------------------

    /// Lowers statements into `out`; the tail expression goes to `sink`. Returns whether the
    /// sequence delivered a value to the sink (a tail expression or `return`).
    fn lower_stmts(&mut self, stmts: &[SStmt], out: &mut Block, sink: Sink) -> L<bool> {
        let mut ok = true;
        for (i, stmt) in stmts.iter().enumerate() {
            let is_last = i + 1 == stmts.len();
            let rest = &stmts[i + 1..];
            match stmt {
                SStmt::Local(local) => {
                    if self.lower_local(local, out).is_err() {
                        ok = false;
                    }
                }
                SStmt::Item(item) => {
                    self.err(item.span(), "items inside the function are not supported: move them outside the function");
                    ok = false;
                }
                SStmt::Macro(m) => {
                    self.err(
                        m.span(),
                        "macro statements are not supported: the supported macro is `vec![..]` in expressions",
                    );
                    ok = false;
                }
                SStmt::Expr(e, semi) => {
                    if let SExpr::Return(r) = e {
                        return self.lower_return(r, out, sink).map(|()| true);
                    }
                    // `if` containing `return`: the rest of the block continues in the
                    // branches that fall through.
                    if let SExpr::If(eif) = e {
                        if let Some(ret) = find_return(e) {
                            if !matches!(sink, Sink::Result)
                                || self.loop_depth > 0
                                || self.expr_depth > 0
                            {
                                return self.fail_at(&ret, RETURN_PLACES);
                            }
                            return self.lower_if_with_return(eif, rest, out, sink);
                        }
                    }
                    // A loop or an `if` without a value ending a block is a statement: the
                    // block delivers no value (a branch then continues after the `if`).
                    if is_last && semi.is_none() && !is_unit_expr(e) {
                        return self
                            .lower_tail(e, out, sink)
                            .map(|()| !matches!(sink, Sink::Discard) || ok);
                    }
                    if self.lower_expr_stmt(e, out).is_err() {
                        ok = false;
                    }
                }
            }
        }
        if ok {
            Ok(false)
        } else {
            Err(())
        }
    }

    fn lower_return(&mut self, r: &syn::ExprReturn, out: &mut Block, sink: Sink) -> L<()> {
        if !matches!(sink, Sink::Result) || self.loop_depth > 0 || self.expr_depth > 0 {
            return self.fail_at(r, RETURN_PLACES);
        }
        let Some(value) = &r.expr else {
            return self.fail(r.span(), "`return` needs the result value: `return x;`");
        };
        self.lower_tail(value, out, Sink::Result)
    }

    /// `if c { ..; return a; } rest`: each branch is followed by `rest` (and then by the
    /// rests of the enclosing blocks) unless it returned.
    fn lower_if_with_return(
        &mut self,
        eif: &syn::ExprIf,
        rest: &[SStmt],
        out: &mut Block,
        sink: Sink,
    ) -> L<bool> {
        let cond = self.lower_cond(&eif.cond, out)?;
        self.continuations.push((rest.to_vec(), self.scopes.len()));
        let result = self.lower_returning_branches(eif, cond, out, sink);
        self.continuations.pop();
        result
    }

    fn lower_returning_branches(
        &mut self,
        eif: &syn::ExprIf,
        cond: Atom,
        out: &mut Block,
        sink: Sink,
    ) -> L<bool> {
        let saved_scopes = self.scopes.clone();
        let mut then_block = Vec::new();
        self.scopes.push(HashMap::new());
        let then_done = self.lower_stmts(&eif.then_branch.stmts, &mut then_block, Sink::Result);
        self.scopes.pop();
        if !then_done? {
            self.lower_continuation(&mut then_block, eif.span())?;
        }
        self.scopes = saved_scopes.clone();
        let mut else_block = Vec::new();
        match &eif.else_branch {
            None => self.lower_continuation(&mut else_block, eif.span())?,
            Some((_, else_expr)) => {
                let else_done = match &**else_expr {
                    SExpr::Block(b) => {
                        self.scopes.push(HashMap::new());
                        let r = self.lower_stmts(&b.block.stmts, &mut else_block, Sink::Result);
                        self.scopes.pop();
                        r?
                    }
                    SExpr::If(inner) => {
                        self.lower_if_with_return(inner, &[], &mut else_block, sink)?
                    }
                    other => return self.fail(other.span(), "unsupported `else` branch"),
                };
                if !else_done {
                    self.lower_continuation(&mut else_block, eif.span())?;
                }
            }
        }
        self.scopes = saved_scopes;
        out.push(Stmt::If {
            cond,
            then: then_block,
            els: else_block,
        });
        Ok(true)
    }

    /// Lowers what follows a branch that fell through: the rest of each enclosing block, from
    /// the innermost out, each in its own scope, until one gives the result.
    fn lower_continuation(&mut self, out: &mut Block, span: Span) -> L<()> {
        let saved_scopes = self.scopes.clone();
        let saved = self.continuations.clone();
        let mut delivered = false;
        let mut failed = false;
        for k in (0..saved.len()).rev() {
            let (stmts, depth) = &saved[k];
            self.scopes.truncate(*depth);
            self.continuations.truncate(k);
            match self.lower_stmts(stmts, out, Sink::Result) {
                Ok(true) => {
                    delivered = true;
                    break;
                }
                Ok(false) => {}
                Err(()) => {
                    failed = true;
                    break;
                }
            }
        }
        self.scopes = saved_scopes;
        self.continuations = saved;
        if delivered {
            return Ok(());
        }
        if !failed {
            self.err(span, "this path through the function does not give a result: end it with the result expression or `return`");
        }
        Err(())
    }

    fn lower_tail(&mut self, e: &SExpr, out: &mut Block, sink: Sink) -> L<()> {
        match sink {
            Sink::Discard => self.lower_expr_stmt(e, out),
            Sink::Var(v) => {
                let ty = self.f().var(v).ty;
                let a = self.lower_expr_hint(e, out, Some(ty))?;
                self.check_ty(&a, ty, e.span())?;
                self.push_copy(out, v, a, e.span());
                Ok(())
            }
            Sink::Result => self.lower_result_value(e, out),
        }
    }

    fn lower_result_value(&mut self, e: &SExpr, out: &mut Block) -> L<()> {
        let f = self.func.as_ref().expect("function");
        let result = f.result;
        let shape = f.result_shape.clone();
        match (&shape, e) {
            (ResultShape::Tuple(n), SExpr::Tuple(t)) => {
                if t.elems.len() != *n {
                    return self.fail(t.span(), format!("the result tuple has {n} elements"));
                }
                let mut elems = Vec::new();
                for el in &t.elems {
                    let a = self.lower_expr(el, out)?;
                    self.check_ty(&a, Ty::Float, el.span())?;
                    elems.push(a);
                }
                out.push(Stmt::Assign {
                    target: result,
                    op: Op::ArrayLit { elems, vec: false },
                    span: e.span(),
                });
                Ok(())
            }
            (ResultShape::Tuple(_), _) => self.fail(
                e.span(),
                "a tuple result must be returned as a tuple expression: `(a, b)`",
            ),
            (ResultShape::Scalar, _) => {
                let a = self.lower_expr(e, out)?;
                self.check_ty(&a, Ty::Float, e.span())?;
                self.push_copy(out, result, a, e.span());
                Ok(())
            }
            (ResultShape::Array(_) | ResultShape::Vec, _) => {
                let ty = self.f().var(result).ty;
                let a = self.lower_expr_hint(e, out, Some(ty))?;
                let aty = self.ty(&a);
                let compatible = match (aty, ty) {
                    (Ty::FloatArray(ArrayKind::Fixed(n)), Ty::FloatArray(ArrayKind::Fixed(m))) => {
                        n == m
                    }
                    (Ty::FloatArray(ArrayKind::Vec), Ty::FloatArray(ArrayKind::Vec)) => true,
                    _ => false,
                };
                if !compatible {
                    return self.fail(
                        e.span(),
                        "this value does not have the function's result type",
                    );
                }
                self.push_copy(out, result, a, e.span());
                Ok(())
            }
        }
    }

    fn push_copy(&mut self, out: &mut Block, target: VarId, a: Atom, span: Span) {
        if a != Atom::Var(target) {
            out.push(Stmt::Assign {
                target,
                op: Op::Copy(a),
                span,
            });
        }
    }

    fn check_ty(&mut self, a: &Atom, want: Ty, span: Span) -> L<()> {
        let got = self.ty(a);
        let same = match (got, want) {
            (Ty::FloatArray(k1), Ty::FloatArray(k2)) | (Ty::IntArray(k1), Ty::IntArray(k2)) => {
                k1.len() == k2.len()
                    && (k1 == k2 || !matches!((k1, k2), (ArrayKind::Slice, ArrayKind::Vec)))
            }
            _ => got == want,
        };
        if same {
            Ok(())
        } else {
            self.fail(
                span,
                format!(
                    "mismatched types: expected {}, found {}",
                    describe(want, self.float_name()),
                    describe(got, self.float_name())
                ),
            )
        }
    }

    fn lower_local(&mut self, local: &syn::Local, out: &mut Block) -> L<()> {
        let result = self.lower_local_inner(local, out);
        if result.is_err() {
            // Names the rejected `let` would have bound raise no further errors.
            self.poison_pat(&local.pat);
        }
        result
    }

    fn poison_pat(&mut self, pat: &Pat) {
        match pat {
            Pat::Ident(pi) => self.poison(&pi.ident),
            Pat::Type(pt) => self.poison_pat(&pt.pat),
            Pat::Tuple(t) => t.elems.iter().for_each(|p| self.poison_pat(p)),
            Pat::Slice(t) => t.elems.iter().for_each(|p| self.poison_pat(p)),
            Pat::Reference(r) => self.poison_pat(&r.pat),
            Pat::Paren(p) => self.poison_pat(&p.pat),
            Pat::TupleStruct(t) => t.elems.iter().for_each(|p| self.poison_pat(p)),
            _ => {}
        }
    }

    fn lower_local_inner(&mut self, local: &syn::Local, out: &mut Block) -> L<()> {
        let Some(init) = &local.init else {
            return self.fail(
                local.span(),
                "declare variables with an initial value: `let x = 0.0;`",
            );
        };
        if let Some((_, els)) = &init.diverge {
            return self.fail(els.span(), "`let .. else` is not supported");
        }
        let (pat, annotated) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
            p => (p, None),
        };
        match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                let want = match annotated {
                    Some(t) => match self.lower_type(t, "a `let` type") {
                        Ok(t) => Some(t),
                        Err(()) => {
                            self.poison(&pi.ident);
                            return Err(());
                        }
                    },
                    None => None,
                };
                let value = match self.lower_expr_hint(&init.expr, out, want) {
                    Ok(v) => v,
                    Err(()) => {
                        self.poison(&pi.ident);
                        return Err(());
                    }
                };
                if let Some(w) = want {
                    if self.check_ty(&value, w, init.expr.span()).is_err() {
                        self.poison(&pi.ident);
                        return Err(());
                    }
                }
                let ty = self.ty(&value);
                let v = self.bind(&pi.ident, ty);
                out.push(Stmt::Assign { target: v, op: Op::Copy(value), span: local.span() });
                Ok(())
            }
            Pat::Wild(_) => self.lower_expr(&init.expr, out).map(|_| ()),
            Pat::Tuple(pt) => {
                let SExpr::Tuple(values) = &*init.expr else {
                    if let SExpr::MethodCall(_) = &*init.expr {
                        // Report the method itself (`sin_cos`) if it is the problem.
                        let mut scratch = Vec::new();
                        self.lower_expr(&init.expr, &mut scratch)?;
                    }
                    let msg = if matches!(&*init.expr, SExpr::Call(_)) {
                        "calls returning tuples are not supported yet: return `[f64; 2]` and write `let v: [f64; 2] = g(x);`"
                    } else {
                        "tuple patterns need a tuple expression: `let (a, b) = (x, y);`"
                    };
                    return self.fail_at(&*init.expr, msg);
                };
                if values.elems.len() != pt.elems.len() || annotated.is_some() {
                    return self.fail(local.span(), "the tuple pattern and the tuple expression must have the same length, without a type annotation");
                }
                let mut atoms = Vec::new();
                for e in &values.elems {
                    atoms.push(self.lower_expr(e, out)?);
                }
                for (p, a) in pt.elems.iter().zip(atoms) {
                    match p {
                        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                            let ty = self.ty(&a);
                            let v = self.bind(&pi.ident, ty);
                            out.push(Stmt::Assign { target: v, op: Op::Copy(a), span: pi.span() });
                        }
                        Pat::Wild(_) => {}
                        other => return self.fail(other.span(), "unsupported pattern: use names or `_`"),
                    }
                }
                Ok(())
            }
            other => self.fail(other.span(), "unsupported pattern: write `let x = ..`, `let mut x = ..` or `let (a, b) = (.., ..)`"),
        }
    }

    /// An expression in statement position.
    fn lower_expr_stmt(&mut self, e: &SExpr, out: &mut Block) -> L<()> {
        match e {
            SExpr::Assign(a) => self.lower_assign(&a.left, None, &a.right, out, a.span()),
            SExpr::Binary(b) if is_compound(&b.op) => {
                self.lower_assign(&b.left, Some(&b.op), &b.right, out, b.span())
            }
            SExpr::If(eif) => self.lower_if(eif, out, Sink::Discard),
            SExpr::ForLoop(fl) => self.lower_for(fl, out),
            SExpr::While(w) => self.lower_while(w, out),
            SExpr::Block(b) if b.label.is_none() => {
                self.scopes.push(HashMap::new());
                let r = self.lower_stmts(&b.block.stmts, out, Sink::Discard);
                self.scopes.pop();
                r.map(|_| ())
            }
            _ => self.lower_expr(e, out).map(|_| ()),
        }
    }

    fn lower_assign(
        &mut self,
        left: &SExpr,
        op: Option<&BinOp>,
        right: &SExpr,
        out: &mut Block,
        span: Span,
    ) -> L<()> {
        match left {
            SExpr::Path(p) if p.path.get_ident().is_some() => {
                let ident = p.path.get_ident().expect("checked");
                let target = self.resolve(ident)?;
                let tty = self.f().var(target).ty;
                if self.f().var(target).origin == Origin::Param && tty.is_array() {
                    return self.fail(span, "array parameters cannot be assigned");
                }
                let rhs = self.lower_expr_hint(right, out, Some(tty))?;
                match op {
                    None => {
                        self.check_ty(&rhs, tty, right.span())?;
                        if tty.is_array() && matches!(rhs, Atom::Var(_)) {
                            // Whole-array assignment copies (or clones) the array.
                        }
                        self.push_copy(out, target, rhs, span);
                        Ok(())
                    }
                    Some(op) => {
                        if tty == Ty::Float && matches!(op, BinOp::AddAssign(_) | BinOp::SubAssign(_)) {
                            self.check_ty(&rhs, Ty::Float, right.span())?;
                            out.push(Stmt::Accumulate {
                                target,
                                value: rhs,
                                negate: matches!(op, BinOp::SubAssign(_)),
                                span,
                            });
                            return Ok(());
                        }
                        let value = self.binary(&compound_base(op), Atom::Var(target), rhs, out, span)?;
                        self.check_ty(&value, tty, span)?;
                        self.push_copy(out, target, value, span);
                        Ok(())
                    }
                }
            }
            SExpr::Index(ix) => {
                let (array, index) = self.lower_index_parts(ix, out)?;
                let aty = self.f().var(array).ty;
                if self.f().var(array).origin == Origin::Param {
                    return self.fail(
                        ix.expr.span(),
                        "parameters are read-only: copy into a local array (`let mut a = x;` for `[f64; N]`, or `vec!`) and write to that",
                    );
                }
                let elem_ty = match aty {
                    Ty::FloatArray(_) => Ty::Float,
                    _ => Ty::Int,
                };
                let rhs = self.lower_expr_hint(right, out, Some(elem_ty))?;
                let value = match op {
                    None => rhs,
                    Some(op) => {
                        let old = self.temp(elem_ty, span);
                        out.push(Stmt::Assign { target: old, op: Op::Index { array, index: index.clone() }, span });
                        self.binary(&compound_base(op), Atom::Var(old), rhs, out, span)?
                    }
                };
                self.check_ty(&value, elem_ty, right.span())?;
                out.push(Stmt::Store { array, index, value, span });
                Ok(())
            }
            other => self.fail(other.span(), "unsupported assignment target: assign to a variable `x = ..` or an element `a[i] = ..`"),
        }
    }

    fn lower_cond(&mut self, e: &SExpr, out: &mut Block) -> L<Atom> {
        if let SExpr::Let(l) = e {
            return self.fail(
                l.span(),
                "`if let` / `while let` are not supported: compare values instead",
            );
        }
        let c = self.lower_expr(e, out)?;
        self.check_ty(&c, Ty::Bool, e.span())?;
        Ok(c)
    }

    fn lower_if(&mut self, eif: &syn::ExprIf, out: &mut Block, sink: Sink) -> L<()> {
        let cond = self.lower_cond(&eif.cond, out)?;
        let mut then_block = Vec::new();
        self.scopes.push(HashMap::new());
        let r = self.lower_stmts(&eif.then_branch.stmts, &mut then_block, sink);
        self.scopes.pop();
        let then_has_value = r?;
        let mut else_block = Vec::new();
        match &eif.else_branch {
            None => {
                if !matches!(sink, Sink::Discard) {
                    return self.fail(eif.span(), "an `if` used as a value needs an `else` branch");
                }
            }
            Some((_, else_expr)) => match &**else_expr {
                SExpr::Block(b) => {
                    self.scopes.push(HashMap::new());
                    let r = self.lower_stmts(&b.block.stmts, &mut else_block, sink);
                    self.scopes.pop();
                    let has = r?;
                    if !matches!(sink, Sink::Discard) && !has {
                        return self.fail(b.span(), "this branch must end in a value");
                    }
                }
                SExpr::If(inner) => self.lower_if(inner, &mut else_block, sink)?,
                other => return self.fail(other.span(), "unsupported `else` branch"),
            },
        }
        if !matches!(sink, Sink::Discard) && !then_has_value {
            return self.fail(eif.then_branch.span(), "this branch must end in a value");
        }
        out.push(Stmt::If {
            cond,
            then: then_block,
            els: else_block,
        });
        Ok(())
    }

    fn lower_range_bound(&mut self, e: &SExpr, out: &mut Block) -> L<Atom> {
        let a = self.lower_expr(e, out)?;
        self.check_ty(&a, Ty::Int, e.span())?;
        // Bounds are copied into fresh temporaries so later assignments cannot change them.
        let t = self.temp(Ty::Int, e.span());
        out.push(Stmt::Assign {
            target: t,
            op: Op::Copy(a),
            span: e.span(),
        });
        Ok(Atom::Var(t))
    }

    fn lower_for(&mut self, fl: &syn::ExprForLoop, out: &mut Block) -> L<()> {
        if let Some(l) = &fl.label {
            return self.fail(l.span(), "loop labels are not supported");
        }
        let mut range_expr = &*fl.expr;
        let mut rev = false;
        while let SExpr::Paren(p) = range_expr {
            range_expr = &p.expr;
        }
        if let SExpr::MethodCall(mc) = range_expr {
            if mc.method == "rev" && mc.args.is_empty() {
                rev = true;
                range_expr = &mc.receiver;
                while let SExpr::Paren(p) = range_expr {
                    range_expr = &p.expr;
                }
            }
        }
        let SExpr::Range(range) = range_expr else {
            return self.fail(
                fl.expr.span(),
                "`for` loops must run over an integer range: write `for i in 0..n` (or `(0..n).rev()`) and index with `x[i]`",
            );
        };
        let (Some(start), Some(end)) = (&range.start, &range.end) else {
            return self.fail(range.span(), "the range needs both bounds: `a..b`");
        };
        let lo = self.lower_range_bound(start, out)?;
        let mut hi = self.lower_range_bound(end, out)?;
        if matches!(range.limits, syn::RangeLimits::Closed(_)) {
            let t = self.temp(Ty::Int, range.span());
            out.push(Stmt::Assign {
                target: t,
                op: Op::Int(IntOp::Add, vec![hi, Atom::Int(1)]),
                span: range.span(),
            });
            hi = Atom::Var(t);
        }
        self.scopes.push(HashMap::new());
        let var = match &*fl.pat {
            Pat::Ident(pi)
                if pi.by_ref.is_none() && pi.subpat.is_none() && pi.mutability.is_none() =>
            {
                self.bind(&pi.ident, Ty::Int)
            }
            Pat::Wild(w) => self.temp(Ty::Int, w.span()),
            other => {
                self.scopes.pop();
                return self.fail(other.span(), "the loop variable must be a plain name or `_` (for `mut i`, copy it: `let mut j = i;`)");
            }
        };
        self.loop_depth += 1;
        let mut body = Vec::new();
        let r = self.lower_stmts(&fl.body.stmts, &mut body, Sink::Discard);
        self.loop_depth -= 1;
        self.scopes.pop();
        r?;
        out.push(Stmt::For {
            var,
            lo,
            hi,
            rev,
            body,
        });
        Ok(())
    }

    fn lower_while(&mut self, w: &syn::ExprWhile, out: &mut Block) -> L<()> {
        if let Some(l) = &w.label {
            return self.fail(l.span(), "loop labels are not supported");
        }
        let mut cond_block = Vec::new();
        let cond = self.lower_cond(&w.cond, &mut cond_block)?;
        self.scopes.push(HashMap::new());
        self.loop_depth += 1;
        let mut body = Vec::new();
        let r = self.lower_stmts(&w.body.stmts, &mut body, Sink::Discard);
        self.loop_depth -= 1;
        self.scopes.pop();
        r?;
        out.push(Stmt::While {
            cond_block,
            cond,
            body,
        });
        Ok(())
    }

    // ----- expressions -----------------------------------------------------------------

    fn lower_expr(&mut self, e: &SExpr, out: &mut Block) -> L<Atom> {
        self.lower_expr_hint(e, out, None)
    }

    fn resolve(&mut self, ident: &syn::Ident) -> L<VarId> {
        let name = ident.to_string();
        if let Some(v) = self.lookup(&name) {
            return Ok(v);
        }
        if self.poisoned.contains(&name) {
            return Err(());
        }
        self.fail(
            ident.span(),
            format!("unknown name `{name}`: only parameters, local variables and `std::{}::consts` are supported; bind other values with a typed `let`, as in `let c: {} = {name};`", self.float_name(), self.float_name()),
        )
    }

    fn emit(&mut self, out: &mut Block, ty: Ty, op: Op, span: Span) -> Atom {
        let t = self.temp(ty, span);
        out.push(Stmt::Assign {
            target: t,
            op,
            span,
        });
        Atom::Var(t)
    }

    /// Lowers an expression to an atom; `hint` is the expected type where the context knows
    /// it (a `let` annotation), used for call results.
    fn lower_expr_hint(&mut self, e: &SExpr, out: &mut Block, hint: Option<Ty>) -> L<Atom> {
        let span = e.span();
        match e {
            SExpr::Lit(l) => self.lower_lit(&l.lit),
            SExpr::Paren(p) => self.lower_expr_hint(&p.expr, out, hint),
            SExpr::Group(g) => self.lower_expr_hint(&g.expr, out, hint),
            SExpr::Path(p) => {
                if p.qself.is_none() {
                    if let Some(ident) = p.path.get_ident() {
                        // A name that is not a local, in a typed `let`: a constant or static
                        // the user declared (`let c: f64 = SCALE;`); rustc checks the type.
                        let is_local = self.lookup(&ident.to_string()).is_some();
                        if let (false, Some(t @ (Ty::Float | Ty::Int | Ty::Bool))) = (is_local, hint) {
                            if !self.poisoned.contains(&ident.to_string()) {
                                return Ok(self.emit(out, t, Op::Const(ident.to_string()), span));
                            }
                        }
                        return self.resolve(ident).map(Atom::Var);
                    }
                    if let Some(text) = float_const_path(&p.path, self.float.unwrap_or(FloatTy::F64)) {
                        return Ok(self.emit(out, Ty::Float, Op::Const(text), span));
                    }
                }
                if let Some(Ty::Float | Ty::Int | Ty::Bool) = hint {
                    let text = quote::ToTokens::to_token_stream(&p.path).to_string().replace(' ', "");
                    return Ok(self.emit(out, hint.expect("checked"), Op::Const(text), span));
                }
                self.fail_at(p, "unsupported path: only local names, `std::f64::consts::*` and `f64::EPSILON`-style constants are known; bind others with a typed `let`, as in `let c: f64 = SCALE;`")
            }
            SExpr::Binary(b) => {
                if is_compound(&b.op) {
                    return self.fail(span, "compound assignment is a statement, not a value");
                }
                match b.op {
                    BinOp::And(_) | BinOp::Or(_) => {
                        let lhs = self.lower_expr(&b.left, out)?;
                        self.check_ty(&lhs, Ty::Bool, b.left.span())?;
                        let t = self.temp(Ty::Bool, span);
                        let mut rhs_block = Vec::new();
                        let rhs = self.lower_expr(&b.right, &mut rhs_block)?;
                        self.check_ty(&rhs, Ty::Bool, b.right.span())?;
                        rhs_block.push(Stmt::Assign { target: t, op: Op::Copy(rhs), span });
                        let short = vec![Stmt::Assign {
                            target: t,
                            op: Op::Copy(Atom::Bool(matches!(b.op, BinOp::Or(_)))),
                            span,
                        }];
                        let (then, els) = if matches!(b.op, BinOp::And(_)) { (rhs_block, short) } else { (short, rhs_block) };
                        out.push(Stmt::If { cond: lhs, then, els });
                        Ok(Atom::Var(t))
                    }
                    _ => {
                        let lhs = self.lower_expr(&b.left, out)?;
                        let rhs = self.lower_expr(&b.right, out)?;
                        self.binary(&b.op, lhs, rhs, out, span)
                    }
                }
            }
            SExpr::Unary(u) => {
                let a = self.lower_expr(&u.expr, out)?;
                let ty = self.ty(&a);
                match (&u.op, ty) {
                    (UnOp::Neg(_), Ty::Float) => match a {
                        Atom::Float(x) => Ok(Atom::Float(-x)),
                        _ => Ok(self.emit(out, Ty::Float, Op::Prim(Prim::Neg, vec![a]), span)),
                    },
                    (UnOp::Neg(_), Ty::Int) => match a {
                        Atom::Int(x) => Ok(Atom::Int(-x)),
                        _ => Ok(self.emit(out, Ty::Int, Op::Int(IntOp::Neg, vec![a]), span)),
                    },
                    (UnOp::Not(_), Ty::Bool) => Ok(self.emit(out, Ty::Bool, Op::Bool(BoolOp::Not, vec![a]), span)),
                    (UnOp::Deref(_), _) => self.fail(span, "dereferencing is not supported: parameters are plain values or shared slices"),
                    (op, ty) => {
                        let op = quote::ToTokens::to_token_stream(op).to_string();
                        self.fail_at(e, format!("`{op}` is not supported on {}", describe(ty, self.float_name())))
                    }
                }
            }
            SExpr::MethodCall(mc) => self.lower_method(mc, out),
            SExpr::Call(c) => self.lower_call(c, out, hint),
            SExpr::Index(ix) => {
                let (array, index) = self.lower_index_parts(ix, out)?;
                let ety = match self.f().var(array).ty {
                    Ty::FloatArray(_) => Ty::Float,
                    _ => Ty::Int,
                };
                Ok(self.emit(out, ety, Op::Index { array, index }, span))
            }
            SExpr::Cast(c) => self.lower_cast(c, out),
            SExpr::Block(b) if b.label.is_none() => {
                let ty = match hint {
                    Some(t) => t,
                    None => self.block_value_type(&b.block)?,
                };
                let v = self.temp(ty, span);
                self.scopes.push(HashMap::new());
                self.expr_depth += 1;
                let r = self.lower_stmts(&b.block.stmts, out, Sink::Var(v));
                self.expr_depth -= 1;
                self.scopes.pop();
                if !r? {
                    return self.fail(span, "this block must end in a value");
                }
                Ok(Atom::Var(v))
            }
            SExpr::If(eif) => {
                let ty = match hint {
                    Some(t) => t,
                    None => self.block_value_type(&eif.then_branch)?,
                };
                let v = self.temp(ty, span);
                self.expr_depth += 1;
                let r = self.lower_if(eif, out, Sink::Var(v));
                self.expr_depth -= 1;
                r?;
                Ok(Atom::Var(v))
            }
            SExpr::Array(arr) => {
                let mut elems = Vec::new();
                for el in &arr.elems {
                    elems.push(self.lower_expr(el, out)?);
                }
                let ty = self.elems_type(&elems, span, ArrayKind::Fixed(elems.len()))?;
                Ok(self.emit(out, ty, Op::ArrayLit { elems, vec: false }, span))
            }
            SExpr::Repeat(r) => {
                let n = self.array_len(&r.len)?;
                let value = self.lower_expr(&r.expr, out)?;
                let ty = self.elems_type(std::slice::from_ref(&value), span, ArrayKind::Fixed(n))?;
                Ok(self.emit(out, ty, Op::Repeat { value, count: Atom::Int(n as i64), vec: false }, span))
            }
            SExpr::Macro(m) => self.lower_macro(&m.mac, out),
            SExpr::Return(_) => self.fail_at(e, RETURN_PLACES),
            SExpr::Closure(_) => self.fail_at(e, "closures are not supported: write a separate `#[derive_gradient]` function and call it"),
            SExpr::Unsafe(_) => self.fail_at(e, "`unsafe` blocks are not supported"),
            SExpr::Field(_) => self.fail_at(e, "struct and tuple fields are not supported: pass the values as separate parameters"),
            SExpr::Reference(r) if matches!(&*r.expr, SExpr::Index(ix) if matches!(&*ix.index, SExpr::Range(_))) => {
                self.fail_at(e, "slicing is not supported: index single elements `x[i]` in a loop")
            }
            SExpr::Reference(_) => self.fail_at(e, "references are supported only as call arguments: `g(&x)`"),
            SExpr::Loop(_) => self.fail_at(e, "`loop` is not supported: use `while cond { .. }` or `for i in a..b { .. }`"),
            SExpr::Break(_) => self.fail_at(e, "`break` is not supported: use `while` with a condition"),
            SExpr::Continue(_) => self.fail_at(e, "`continue` is not supported: use `if` inside the loop body"),
            SExpr::Match(_) => self.fail_at(e, "`match` is not supported: use `if`/`else`"),
            SExpr::Tuple(_) => self.fail_at(e, "tuples are supported as the returned value and in `let (a, b) = (x, y);`"),
            SExpr::Struct(_) => self.fail_at(e, "structs are not supported"),
            SExpr::Range(_) => self.fail_at(e, "ranges are supported only in `for` loops"),
            SExpr::Assign(_) => self.fail_at(e, "assignment is a statement, not a value"),
            SExpr::ForLoop(_) | SExpr::While(_) => self.fail_at(e, "loops are statements, not values"),
            SExpr::Try(_) => self.fail_at(e, "the `?` operator is not supported"),
            SExpr::Await(_) | SExpr::Async(_) => self.fail_at(e, "`async` code is not supported"),
            _ => self.fail_at(e, "unsupported expression: see the supported subset in the `grad` documentation"),
        }
    }

    fn elems_type(&mut self, elems: &[Atom], span: Span, kind: ArrayKind) -> L<Ty> {
        let mut float = false;
        let mut int = false;
        for a in elems {
            match self.ty(a) {
                Ty::Float => float = true,
                Ty::Int => int = true,
                _ => return self.fail(span, "array elements must be floats or integers"),
            }
        }
        match (float, int) {
            (true, true) => self.fail(span, "mixed array elements: use all floats or all integers"),
            (false, true) => Ok(Ty::IntArray(kind)),
            _ => Ok(Ty::FloatArray(kind)),
        }
    }

    /// The type of the value a block ends in, found without lowering it: the tail expression's
    /// obvious type (a literal, a known variable or an arithmetic/method expression on one).
    fn block_value_type(&mut self, block: &syn::Block) -> L<Ty> {
        let span = block.span();
        for stmt in &block.stmts {
            if let SStmt::Expr(e, _) = stmt {
                if let Some(ret) = find_return(e) {
                    return self.fail_at(&ret, RETURN_PLACES);
                }
            }
        }
        match block.stmts.last() {
            Some(SStmt::Expr(e, None)) => {
                // Lower the tail in a throw-away context to learn its type.
                let saved = (
                    self.scopes.clone(),
                    self.errors.len(),
                    self.temp_counter,
                    self.used_names.clone(),
                );
                let vars_len = self.f().vars.len();
                let mut scratch = Vec::new();
                self.scopes.push(HashMap::new());
                // Statements before the tail may bind names the tail uses.
                let n = block.stmts.len();
                let mut ok = true;
                for s in &block.stmts[..n - 1] {
                    if let SStmt::Local(l) = s {
                        if self.lower_local(l, &mut scratch).is_err() {
                            ok = false;
                        }
                    }
                }
                let r = if ok {
                    self.lower_expr(e, &mut scratch).map(|a| self.ty(&a))
                } else {
                    Err(())
                };
                self.scopes = saved.0;
                self.errors.truncate(saved.1);
                self.temp_counter = saved.2;
                self.used_names = saved.3;
                self.f().vars.truncate(vars_len);
                match r {
                    Ok(t) => Ok(t),
                    Err(()) => self.fail(span, format!("cannot tell the type of this block's value: bind it with a typed `let`, as in `let v: {} = ..;`", self.float_name())),
                }
            }
            _ => self.fail(span, "this block must end in a value"),
        }
    }

    fn lower_lit(&mut self, lit: &syn::Lit) -> L<Atom> {
        match lit {
            syn::Lit::Float(f) => {
                let suffix = f.suffix();
                if !suffix.is_empty() {
                    let ft = if suffix == "f32" {
                        FloatTy::F32
                    } else {
                        FloatTy::F64
                    };
                    self.note_float(ft, f.span())?;
                }
                let value = f
                    .base10_parse::<f64>()
                    .or_else(|e| self.fail(f.span(), e))?;
                self.finite_literal(value, f.span())
            }
            syn::Lit::Int(i) => {
                let suffix = i.suffix();
                if suffix == "f64" || suffix == "f32" {
                    let ft = if suffix == "f32" {
                        FloatTy::F32
                    } else {
                        FloatTy::F64
                    };
                    self.note_float(ft, i.span())?;
                    let value = i
                        .base10_parse::<f64>()
                        .or_else(|e| self.fail(i.span(), e))?;
                    return self.finite_literal(value, i.span());
                }
                i.base10_parse::<i64>()
                    .map(Atom::Int)
                    .or_else(|e| self.fail(i.span(), e))
            }
            syn::Lit::Bool(b) => Ok(Atom::Bool(b.value)),
            other => self.fail(
                other.span(),
                "unsupported literal: use numbers and `true`/`false`",
            ),
        }
    }

    /// A float literal, rejected when it does not fit the function's float type.
    fn finite_literal(&mut self, value: f64, span: Span) -> L<Atom> {
        let max = match self.float.unwrap_or(FloatTy::F64) {
            FloatTy::F32 => f32::MAX as f64,
            FloatTy::F64 => f64::MAX,
        };
        if value.is_finite() && value.abs() <= max {
            Ok(Atom::Float(value))
        } else {
            self.fail(
                span,
                format!("this literal is out of range for `{}`", self.float_name()),
            )
        }
    }

    fn binary(&mut self, op: &BinOp, lhs: Atom, rhs: Atom, out: &mut Block, span: Span) -> L<Atom> {
        let (lt, rt) = (self.ty(&lhs), self.ty(&rhs));
        let cmp = match op {
            BinOp::Lt(_) => Some(CmpOp::Lt),
            BinOp::Le(_) => Some(CmpOp::Le),
            BinOp::Gt(_) => Some(CmpOp::Gt),
            BinOp::Ge(_) => Some(CmpOp::Ge),
            BinOp::Eq(_) => Some(CmpOp::Eq),
            BinOp::Ne(_) => Some(CmpOp::Ne),
            _ => None,
        };
        if let Some(c) = cmp {
            if lt != rt || lt.is_array() {
                return self.fail(
                    span,
                    format!(
                        "cannot compare {} with {}",
                        describe(lt, self.float_name()),
                        describe(rt, self.float_name())
                    ),
                );
            }
            return Ok(self.emit(out, Ty::Bool, Op::Cmp(c, lhs, rhs), span));
        }
        match (lt, rt) {
            (Ty::Float, Ty::Float) => {
                let prim = match op {
                    BinOp::Add(_) => Prim::Add,
                    BinOp::Sub(_) => Prim::Sub,
                    BinOp::Mul(_) => Prim::Mul,
                    BinOp::Div(_) => Prim::Div,
                    BinOp::Rem(_) => return self.fail(
                        span,
                        "`%` on floats is not supported: it has no useful derivative at its jumps",
                    ),
                    _ => return self.fail(span, "unsupported operator on floats: use `+ - * /`"),
                };
                Ok(self.emit(out, Ty::Float, Op::Prim(prim, vec![lhs, rhs]), span))
            }
            (Ty::Int, Ty::Int) => {
                let iop = match op {
                    BinOp::Add(_) => IntOp::Add,
                    BinOp::Sub(_) => IntOp::Sub,
                    BinOp::Mul(_) => IntOp::Mul,
                    BinOp::Div(_) => IntOp::Div,
                    BinOp::Rem(_) => IntOp::Rem,
                    _ => {
                        return self.fail(span, "unsupported operator on integers: use `+ - * / %`")
                    }
                };
                Ok(self.emit(out, Ty::Int, Op::Int(iop, vec![lhs, rhs]), span))
            }
            _ => self.fail(
                span,
                format!(
                    "mismatched operands: {} and {}; convert integers with `as {}`",
                    describe(lt, self.float_name()),
                    describe(rt, self.float_name()),
                    self.float_name()
                ),
            ),
        }
    }

    fn lower_index_parts(&mut self, ix: &syn::ExprIndex, out: &mut Block) -> L<(VarId, Atom)> {
        let array = match &*ix.expr {
            SExpr::Path(p) if p.path.get_ident().is_some() => self.resolve(p.path.get_ident().expect("checked"))?,
            other => return self.fail(other.span(), "index a named array or slice: `x[i]` (nested indexing `x[i][j]` is not supported; use `x[i * d + j]`)"),
        };
        if !self.f().var(array).ty.is_array() {
            let name = quote::ToTokens::to_token_stream(&*ix.expr).to_string();
            return self.fail(
                ix.expr.span(),
                format!("only arrays, slices and vectors can be indexed, and `{name}` is not one; if it holds a call's result, annotate its `let` with the call's array type, as in `let {name}: [f64; 2] = g(x);`"),
            );
        }
        if let SExpr::Range(r) = &*ix.index {
            return self.fail(
                r.span(),
                "slicing is not supported: index single elements `x[i]`",
            );
        }
        let index = self.lower_expr(&ix.index, out)?;
        self.check_ty(&index, Ty::Int, ix.index.span())?;
        Ok((array, index))
    }

    fn lower_cast(&mut self, c: &syn::ExprCast, out: &mut Block) -> L<Atom> {
        let span = c.span();
        let value = self.lower_expr(&c.expr, out)?;
        let from = self.ty(&value);
        if let Some(ft) = Self::float_of(&c.ty) {
            if from == Ty::Float {
                if Some(ft) != self.float {
                    return self.fail(
                        span,
                        "casting between `f32` and `f64` is not supported: use one float type",
                    );
                }
                return Ok(value);
            }
            self.note_float(ft, c.ty.span())?;
            if from == Ty::Int {
                return Ok(self.emit(
                    out,
                    Ty::Float,
                    Op::Cast {
                        value,
                        to: Ty::Float,
                        to_name: ft.name().into(),
                    },
                    span,
                ));
            }
        } else if Self::is_int_type(&c.ty) && matches!(from, Ty::Int | Ty::Float | Ty::Bool) {
            let name = quote::ToTokens::to_token_stream(&*c.ty).to_string();
            return Ok(self.emit(
                out,
                Ty::Int,
                Op::Cast {
                    value,
                    to: Ty::Int,
                    to_name: name,
                },
                span,
            ));
        }
        self.fail(span, "unsupported cast: cast integers to the float type (`i as f64`) or values to integers (`x as usize`)")
    }

    fn lower_method(&mut self, mc: &syn::ExprMethodCall, out: &mut Block) -> L<Atom> {
        let span = mc.span();
        let name = mc.method.to_string();
        if matches!(
            name.as_str(),
            "iter"
                | "into_iter"
                | "iter_mut"
                | "sum"
                | "product"
                | "map"
                | "fold"
                | "zip"
                | "enumerate"
        ) {
            return self.fail(
                mc.method.span(),
                format!("iterator method `{name}` is not supported: write a `for i in 0..x.len()` loop that indexes `x[i]`"),
            );
        }
        if mc.turbofish.is_some() {
            return self.fail(
                mc.method.span(),
                format!("turbofish method calls (`{name}::<..>`) are not supported"),
            );
        }
        let receiver = self.lower_expr(&mc.receiver, out)?;
        let rty = self.ty(&receiver);
        if name == "len" && mc.args.is_empty() {
            if let (true, Atom::Var(v)) = (rty.is_array(), &receiver) {
                if let Some(ArrayKind::Fixed(n)) = rty.array_kind() {
                    return Ok(Atom::Int(n as i64));
                }
                return Ok(self.emit(out, Ty::Int, Op::Len(*v), span));
            }
            return self.fail(
                mc.receiver.span(),
                "`.len()` is supported on arrays, slices and vectors",
            );
        }
        let mut args = vec![receiver];
        for a in &mc.args {
            args.push(self.lower_expr(a, out)?);
        }
        self.prim_call(&name, args, mc.method.span(), span, out, rty)
    }

    fn prim_call(
        &mut self,
        name: &str,
        args: Vec<Atom>,
        name_span: Span,
        span: Span,
        out: &mut Block,
        rty: Ty,
    ) -> L<Atom> {
        let Some((prim, arity)) = Prim::from_method(name) else {
            if name == "from" || name == "try_from" {
                return self.fail(name_span, format!("conversions with `{name}` are not supported: cast instead, as in `n as {}`", self.float_name()));
            }
            let on = describe(rty, self.float_name());
            return self.fail(
                name_span,
                format!("unsupported method `{name}` on {on}: the supported float methods are powi powf sqrt cbrt exp exp2 ln log2 log10 ln_1p exp_m1 sin cos tan asin acos atan atan2 sinh cosh tanh abs signum max min recip mul_add hypot, and `.len()` on arrays"),
            );
        };
        if rty != Ty::Float {
            return self.fail(
                span,
                format!(
                    "`{name}` is supported on floats only, not on {}",
                    describe(rty, self.float_name())
                ),
            );
        }
        if args.len() != arity {
            let n = arity - 1;
            let plural = if n == 1 { "" } else { "s" };
            return self.fail(span, format!("`{name}` takes {n} argument{plural}"));
        }
        for a in args.iter().skip(1) {
            let want = if prim == Prim::Powi {
                Ty::Int
            } else {
                Ty::Float
            };
            if self.ty(a) != want {
                let msg = match prim {
                    Prim::Powi => "`powi` takes an integer exponent: `x.powi(2)` (use `powf` for a float exponent)".to_string(),
                    Prim::Powf => format!("`powf` takes a `{}` exponent: `x.powf(2.0)` (use `powi` for an integer exponent)", self.float_name()),
                    _ => format!("`{name}` takes {} arguments", describe(want, self.float_name())),
                };
                return self.fail(span, msg);
            }
        }
        Ok(self.emit(out, Ty::Float, Op::Prim(prim, args), span))
    }

    fn lower_call(&mut self, c: &syn::ExprCall, out: &mut Block, hint: Option<Ty>) -> L<Atom> {
        let span = c.span();
        let SExpr::Path(p) = &*c.func else {
            return self.fail(c.func.span(), "only calls to named functions are supported");
        };
        // `f64::sqrt(x)`: the method form.
        if p.path.segments.len() == 2 && p.qself.is_none() {
            let ty_seg = p.path.segments[0].ident.to_string();
            let method = p.path.segments[1].ident.to_string();
            if ty_seg == "f64" || ty_seg == "f32" {
                let mut args = Vec::new();
                for a in &c.args {
                    args.push(self.lower_expr(a, out)?);
                }
                let rty = args.first().map_or(Ty::Float, |a| self.ty(a));
                return self.prim_call(
                    &method,
                    args,
                    p.path.segments[1].ident.span(),
                    span,
                    out,
                    rty,
                );
            }
        }
        let mut args = Vec::new();
        let mut refs = Vec::new();
        for a in &c.args {
            let (inner, is_ref) = match a {
                SExpr::Reference(r) if r.mutability.is_none() => (&*r.expr, true),
                SExpr::Reference(r) => {
                    return self.fail(r.span(), "`&mut` arguments are not supported")
                }
                other => (other, false),
            };
            let atom = self.lower_expr(inner, out)?;
            if is_ref && !self.ty(&atom).is_array() {
                return self.fail(a.span(), "pass scalars by value: `g(x)`, not `g(&x)`");
            }
            if !is_ref
                && matches!(
                    self.ty(&atom),
                    Ty::FloatArray(ArrayKind::Slice | ArrayKind::Vec)
                )
            {
                if let Atom::Var(v) = atom {
                    if self.f().var(v).origin != Origin::Param {
                        return self.fail(a.span(), "pass local vectors by reference: `g(&v)`");
                    }
                }
            }
            args.push(atom);
            refs.push(is_ref);
        }
        let ty = match hint {
            None | Some(Ty::Float) => Ty::Float,
            Some(t @ Ty::FloatArray(ArrayKind::Fixed(_))) => t,
            Some(t @ (Ty::Int | Ty::Bool)) => t,
            Some(_) => return self.fail(span, "calls returning `Vec` or slices are not supported yet: return `[f64; N]` from the callee and annotate `let v: [f64; N] = g(..);`"),
        };
        // A call with no float argument could be to any function; its type must be said.
        let any_float = args.iter().any(|a| self.ty(a).is_float());
        if hint.is_none() && !any_float {
            let path = quote::ToTokens::to_token_stream(&p.path)
                .to_string()
                .replace(' ', "");
            return self.fail_at(
                c,
                format!("cannot tell the type of `{path}(..)`'s result: annotate it, as in `let k: usize = {path}(..);` or `let c: {} = {path}(..);`", self.float_name()),
            );
        }
        Ok(self.emit(
            out,
            ty,
            Op::Call {
                func: p.path.clone(),
                args,
                refs,
            },
            span,
        ))
    }

    fn lower_macro(&mut self, mac: &syn::Macro, out: &mut Block) -> L<Atom> {
        let span = mac.span();
        if !mac.path.is_ident("vec") {
            return self.fail(
                span,
                "unsupported macro: the supported macro is `vec![value; n]` or `vec![a, b, ..]`",
            );
        }
        // vec![v; n]
        let repeat = |input: syn::parse::ParseStream| -> syn::Result<(SExpr, SExpr)> {
            let value: SExpr = input.parse()?;
            input.parse::<syn::Token![;]>()?;
            let count: SExpr = input.parse()?;
            Ok((value, count))
        };
        if let Ok((value_expr, count_expr)) = mac.parse_body_with(repeat) {
            let value = self.lower_expr(&value_expr, out)?;
            let count = self.lower_expr(&count_expr, out)?;
            self.check_ty(&count, Ty::Int, count_expr.span())?;
            let ty = self.elems_type(std::slice::from_ref(&value), span, ArrayKind::Vec)?;
            return Ok(self.emit(
                out,
                ty,
                Op::Repeat {
                    value,
                    count,
                    vec: true,
                },
                span,
            ));
        }
        let elems = mac
            .parse_body_with(syn::punctuated::Punctuated::<SExpr, syn::Token![,]>::parse_terminated)
            .or_else(|e| {
                self.fail(
                    e.span(),
                    "cannot parse this `vec!`: write `vec![value; n]` or `vec![a, b, ..]`",
                )
            })?;
        let mut atoms = Vec::new();
        for e in &elems {
            atoms.push(self.lower_expr(e, out)?);
        }
        if atoms.is_empty() {
            return self.fail(
                span,
                "an empty `vec![]` has no known length: write `vec![0.0; n]`",
            );
        }
        let ty = self.elems_type(&atoms, span, ArrayKind::Vec)?;
        Ok(self.emit(
            out,
            ty,
            Op::ArrayLit {
                elems: atoms,
                vec: true,
            },
            span,
        ))
    }
}

/// A type with invisible groups (from `macro_rules!` `$t:ty`) and parentheses removed.
fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

/// `Vec<T>`'s element type.
fn vec_elem(p: &syn::TypePath) -> Option<&Type> {
    let last = p.path.segments.last()?;
    if last.ident != "Vec" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

fn is_compound(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

fn compound_base(op: &BinOp) -> BinOp {
    // The plain operator of a compound assignment (`*=` -> `*`).
    match op {
        BinOp::AddAssign(_) => BinOp::Add(Default::default()),
        BinOp::SubAssign(_) => BinOp::Sub(Default::default()),
        BinOp::MulAssign(_) => BinOp::Mul(Default::default()),
        BinOp::DivAssign(_) => BinOp::Div(Default::default()),
        BinOp::RemAssign(_) => BinOp::Rem(Default::default()),
        // Bitwise compound operators: reported as unsupported by `binary`.
        _ => BinOp::BitXor(Default::default()),
    }
}

/// A short description of a type for messages.
pub fn describe(t: Ty, float: &str) -> String {
    match t {
        Ty::Float => format!("`{float}`"),
        Ty::Int => "an integer".into(),
        Ty::Bool => "`bool`".into(),
        Ty::FloatArray(ArrayKind::Fixed(n)) => format!("`[{float}; {n}]`"),
        Ty::FloatArray(_) => format!("a slice of `{float}`"),
        Ty::IntArray(_) => "an integer array".into(),
    }
}

/// Whether an expression is `()`-typed by its form: loops, assignments, and `if`s or blocks
/// whose branches end without a value.
fn is_unit_expr(e: &SExpr) -> bool {
    let block_unit = |b: &syn::Block| match b.stmts.last() {
        Some(SStmt::Expr(tail, None)) => is_unit_expr(tail),
        _ => true,
    };
    match e {
        SExpr::ForLoop(_) | SExpr::While(_) | SExpr::Loop(_) | SExpr::Assign(_) => true,
        SExpr::Binary(b) => is_compound(&b.op),
        SExpr::If(i) => block_unit(&i.then_branch),
        SExpr::Block(b) => block_unit(&b.block),
        SExpr::Paren(p) => is_unit_expr(&p.expr),
        _ => false,
    }
}

/// The first `return` inside an expression (outside closures).
fn find_return(e: &SExpr) -> Option<syn::ExprReturn> {
    struct Finder(Option<syn::ExprReturn>);
    impl<'a> syn::visit::Visit<'a> for Finder {
        fn visit_expr_return(&mut self, r: &'a syn::ExprReturn) {
            if self.0.is_none() {
                self.0 = Some(r.clone());
            }
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    }
    let mut f = Finder(None);
    syn::visit::Visit::visit_expr(&mut f, e);
    f.0
}

const RETURN_PLACES: &str =
    "`return` is supported only in the function body and its `if` branches, not inside loops or block expressions";
