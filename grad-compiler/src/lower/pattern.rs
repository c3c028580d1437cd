//! Patterns: binding names (`let`, `for`, closure parameters, `match` arms) and testing
//! `match` arms.

use super::scope::Val;
use super::{Lowerer, L};
use crate::ir::*;
use crate::shape::Ty;
use syn::spanned::Spanned;

impl Lowerer {
    /// Binds the names of `pat` to the parts of `v`.
    pub(super) fn bind_pattern(&mut self, pat: &syn::Pat, v: Val, declared: Option<Ty>) -> L<()> {
        match pat {
            syn::Pat::Ident(pi) => {
                if pi.by_ref.is_some() || pi.subpat.is_some() {
                    return self.err_at(pat, "`ref` and `@` bindings are not supported here: bind a plain name");
                }
                let val = self.bind_value(v, &pi.ident, pi.mutability.is_some(), declared)?;
                self.scopes.bind(&pi.ident.to_string(), val);
                Ok(())
            }
            syn::Pat::Wild(_) => Ok(()),
            syn::Pat::Paren(p) => self.bind_pattern(&p.pat, v, declared),
            syn::Pat::Type(pt) => {
                let ty = match super::signature::value_type(&pt.ty, self.float()) {
                    Ok(t) => t,
                    Err((span, msg)) => return self.err(span, msg),
                };
                self.bind_pattern(&pt.pat, v, Some(ty))
            }
            syn::Pat::Tuple(pt) => {
                let parts = self.tuple_parts(v, pt.elems.len(), pat)?;
                let tys: Vec<Option<Ty>> = match declared {
                    Some(Ty::Tuple(ts)) => ts.into_iter().map(Some).collect(),
                    _ => vec![None; pt.elems.len()],
                };
                for ((p, part), ty) in pt.elems.iter().zip(parts).zip(tys) {
                    self.bind_pattern(p, part, ty)?;
                }
                Ok(())
            }
            syn::Pat::Reference(pr) => {
                if pr.mutability.is_some() {
                    return self.err_at(pat, "`&mut` patterns are not supported: bind the value");
                }
                let inner = match v {
                    Val::Ref(p) => Val::Place(p),
                    other => other,
                };
                self.bind_pattern(&pr.pat, inner, declared)
            }
            other => self.err_at(
                other,
                "this pattern is not supported here: bind names, `_`, tuples `(a, b)` or references `&v`",
            ),
        }
    }

    /// What a name bound to `v` stands for. A fresh temporary takes the user's name; a
    /// mutable binding, a literal or a variable that may change later gets a variable of its
    /// own; an immutable variable is shared.
    fn bind_value(
        &mut self,
        v: Val,
        ident: &syn::Ident,
        mutable: bool,
        declared: Option<Ty>,
    ) -> L<Val> {
        let span = ident.span();
        let atom = match v {
            Val::Atom(a) => a,
            Val::Place(p) => self.read_place(p, span),
            Val::Ref(p) if !mutable && declared.is_none() => return Ok(Val::Ref(p)),
            Val::Ref(p) => self.read_place(p, span),
            Val::Tuple(parts) if mutable => {
                let mut out = Vec::new();
                for (i, part) in parts.into_iter().enumerate() {
                    let a = self.materialize(part, span)?;
                    let id = syn::Ident::new(&format!("{ident}_{i}"), span);
                    out.push(self.bind_value(Val::Atom(a), &id, true, None)?);
                }
                return Ok(Val::Tuple(out));
            }
            Val::Never => return Ok(Val::Never),
            // `let mut f = |..| ..`: a closure that mutates what it captures.
            v @ (Val::Closure(_) | Val::Iter(_) | Val::View(_) | Val::Ordering(..)) => {
                return Ok(v)
            }
            other if declared.is_none() && !mutable => return Ok(other),

            other => self.materialize(other, span)?,
        };
        let name = ident.to_string();
        if let Atom::Var(t) = atom {
            let fresh = self.func.var(t).origin == Origin::Temp;
            if fresh && !mutable {
                let var = &mut self.func.vars[t.index()];
                var.name = name;
                var.origin = Origin::User;
                var.span = span;
                if let Some(d) = declared {
                    if matches!(var.ty, Ty::Infer(_)) {
                        var.ty = d;
                    } else {
                        return self.copy_into(atom, ident, false, Some(d));
                    }
                }
                return Ok(Val::Atom(atom));
            }
            if !mutable && declared.is_none() && !self.mutable.contains(&t) {
                return Ok(Val::Atom(atom));
            }
        }
        self.copy_into(atom, ident, mutable, declared)
    }

    /// A new variable named `ident` holding `atom`.
    fn copy_into(
        &mut self,
        atom: Atom,
        ident: &syn::Ident,
        mutable: bool,
        declared: Option<Ty>,
    ) -> L<Val> {
        let ty = declared.unwrap_or_else(|| self.infer_ty());
        let v = self
            .func
            .add_var(ident.to_string(), ty, ident.span(), Origin::User);
        if mutable {
            self.mutable.insert(v);
        }
        self.emit(Stmt::Assign {
            target: v,
            op: Op::Use(atom),
            span: ident.span(),
        });
        Ok(Val::Atom(Atom::Var(v)))
    }

    /// The parts of a tuple value (a tuple-typed variable reads as places of its fields).
    pub(super) fn tuple_parts(
        &mut self,
        v: Val,
        n: usize,
        at: &impl quote::ToTokens,
    ) -> L<Vec<Val>> {
        let field = |p: &Place, i: usize| p.clone().field(Member::Unnamed(i as u32));
        match v {
            Val::Tuple(parts) if parts.len() == n => Ok(parts),
            Val::Tuple(_) => self.err_at(at, "the tuple sizes differ"),
            Val::Atom(Atom::Var(t)) => {
                let p = Place::var(t);
                Ok((0..n).map(|i| Val::Place(field(&p, i))).collect())
            }
            Val::Place(p) => Ok((0..n).map(|i| Val::Place(field(&p, i))).collect()),
            Val::Ref(p) => Ok((0..n).map(|i| Val::Ref(field(&p, i))).collect()),
            _ => self.err_at(at, "this is not a tuple"),
        }
    }

    /// Binds the names a `match` arm's pattern introduces.
    pub(super) fn bind_match_pattern(&mut self, pat: &syn::Pat, scrutinee: &Val) -> L<()> {
        match pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() => {
                if let Some((_, sub)) = &pi.subpat {
                    self.bind_match_pattern(sub, scrutinee)?;
                }
                let v =
                    self.bind_value(scrutinee.clone(), &pi.ident, pi.mutability.is_some(), None)?;
                self.scopes.bind(&pi.ident.to_string(), v);
                Ok(())
            }
            syn::Pat::Tuple(pt) => {
                let parts = self.tuple_parts(scrutinee.clone(), pt.elems.len(), pat)?;
                for (p, part) in pt.elems.iter().zip(parts) {
                    self.bind_match_pattern(p, &part)?;
                }
                Ok(())
            }
            syn::Pat::Paren(p) => self.bind_match_pattern(&p.pat, scrutinee),
            _ => Ok(()),
        }
    }

    /// Whether the scrutinee matches `pat`, as a `bool` atom.
    pub(super) fn pattern_test(&mut self, pat: &syn::Pat, scrutinee: &Val) -> L<Atom> {
        let span = pat.span();
        match pat {
            syn::Pat::Wild(_) => Ok(Atom::Bool(true)),
            syn::Pat::Ident(pi) => match &pi.subpat {
                Some((_, sub)) => self.pattern_test(sub, scrutinee),
                None => Ok(Atom::Bool(true)),
            },
            syn::Pat::Paren(p) => self.pattern_test(&p.pat, scrutinee),
            syn::Pat::Or(o) => {
                let mut acc: Option<Atom> = None;
                for case in &o.cases {
                    let t = self.pattern_test(case, scrutinee)?;
                    acc = Some(match acc {
                        None => t,
                        Some(a) => self.assign_typed(Op::Select(a, Atom::Bool(true), t), Ty::Bool, span),
                    });
                }
                Ok(acc.unwrap_or(Atom::Bool(false)))
            }
            syn::Pat::Lit(l) => {
                let lit = self.literal_pattern(&syn::Expr::Lit(l.clone()))?;
                let s = self.scalar_scrutinee(scrutinee, pat)?;
                Ok(self.assign_typed(Op::Cmp(CmpOp::Eq, s, lit), Ty::Bool, span))
            }
            syn::Pat::Range(r) => {
                let s = self.scalar_scrutinee(scrutinee, pat)?;
                let mut acc = Atom::Bool(true);
                if let Some(lo) = &r.start {
                    let lo = self.literal_pattern(lo)?;
                    acc = self.assign_typed(Op::Cmp(CmpOp::Ge, s.clone(), lo), Ty::Bool, span);
                }
                if let Some(hi) = &r.end {
                    let hi = self.literal_pattern(hi)?;
                    let op = match r.limits {
                        syn::RangeLimits::HalfOpen(_) => CmpOp::Lt,
                        syn::RangeLimits::Closed(_) => CmpOp::Le,
                    };
                    let t = self.assign_typed(Op::Cmp(op, s, hi), Ty::Bool, span);
                    acc = self.assign_typed(Op::Select(acc, t, Atom::Bool(false)), Ty::Bool, span);
                }
                Ok(acc)
            }
            syn::Pat::Tuple(pt) => {
                let parts = self.tuple_parts(scrutinee.clone(), pt.elems.len(), pat)?;
                let mut acc = Atom::Bool(true);
                for (p, part) in pt.elems.iter().zip(parts) {
                    let part = match part {
                        Val::Place(pl) | Val::Ref(pl) => Val::Atom(self.read_place(pl, span)),
                        v => v,
                    };
                    let t = self.pattern_test(p, &part)?;
                    acc = self.assign_typed(Op::Select(acc, t, Atom::Bool(false)), Ty::Bool, span);
                }
                Ok(acc)
            }
            syn::Pat::Path(p) => self.path_pattern(&p.path, scrutinee, pat),
            syn::Pat::TupleStruct(ts)
                if ts.path.is_ident("Some") && ts.elems.len() == 1 =>
            {
                // `Some(Ordering::Less)` on `partial_cmp`.
                match &ts.elems[0] {
                    syn::Pat::Path(p) => self.path_pattern(&p.path, scrutinee, pat),
                    other => self.err_at(other, "only `Some(Ordering::..)` patterns are supported"),
                }
            }
            other => self.err_at(
                other,
                "this `match` pattern is not supported: use literals, ranges `a..=b`, `|`, `_`, names, tuples or `Ordering::..`",
            ),
        }
    }

    fn scalar_scrutinee(&mut self, s: &Val, at: &syn::Pat) -> L<Atom> {
        match s {
            Val::Atom(a) => Ok(a.clone()),
            Val::Place(p) | Val::Ref(p) => Ok(self.read_place(p.clone(), at.span())),
            _ => self.err_at(at, "this pattern needs a number or a `bool` to match"),
        }
    }

    /// `Ordering::Less` (on `a.total_cmp(&b)`), or a named constant.
    fn path_pattern(&mut self, path: &syn::Path, scrutinee: &Val, at: &syn::Pat) -> L<Atom> {
        let last = path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let span = at.span();
        if let Val::Ordering(a, b) = scrutinee {
            let op = match last.as_str() {
                "Less" => CmpOp::Lt,
                "Equal" => CmpOp::Eq,
                "Greater" => CmpOp::Gt,
                _ => {
                    return self.err_at(
                        at,
                        "expected `Ordering::Less`, `Ordering::Equal` or `Ordering::Greater`",
                    )
                }
            };
            return Ok(self.assign_typed(Op::Cmp(op, a.clone(), b.clone()), Ty::Bool, span));
        }
        let c = self.constant(path)?;
        let s = self.scalar_scrutinee(scrutinee, at)?;
        Ok(self.assign_typed(Op::Cmp(CmpOp::Eq, s, c), Ty::Bool, span))
    }

    /// A literal in a pattern (`3`, `-1`, `2.5`, `true`).
    fn literal_pattern(&mut self, e: &syn::Expr) -> L<Atom> {
        match self.expr(e)? {
            Val::Atom(a) => Ok(a),
            _ => self.err_at(e, "expected a literal"),
        }
    }
}
