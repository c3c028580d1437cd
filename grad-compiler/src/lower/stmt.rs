//! Blocks, statements, `let` and assignments.

use super::control::{always_exits, block_always_exits, Exits};
use super::scope::Val;
use super::{Lowerer, L};
use crate::ir::*;
use syn::spanned::Spanned;

/// Where the value of a block's tail expression goes.
#[derive(Clone, Copy, Debug)]
pub enum Sink {
    /// Into a variable (the function's result, an `if` expression's temporary).
    Var(VarId),
    /// Nowhere: the block is a statement.
    Discard,
}

impl Lowerer {
    /// Lowers `{ .. }` in a scope of its own, its value into `sink`.
    pub(super) fn block_into(&mut self, b: &syn::Block, sink: Sink) -> L<Val> {
        self.scopes.push();
        let r = self.stmts(&b.stmts, sink);
        self.scopes.pop();
        r
    }

    /// Lowers a list of statements; the tail expression's value goes to `sink`. Returns
    /// `Val::Never` when control cannot reach the end.
    fn stmts(&mut self, stmts: &[syn::Stmt], sink: Sink) -> L<Val> {
        let mut result: L<Val> = Ok(Val::Unit);
        for (i, s) in stmts.iter().enumerate() {
            let rest = &stmts[i + 1..];
            let tail = rest.is_empty() && matches!(s, syn::Stmt::Expr(_, None));
            if let syn::Stmt::Expr(syn::Expr::If(e), _) = s {
                if !tail && !rest.is_empty() {
                    if let Some(r) = self.continuation(e, rest, sink) {
                        return result.and(r);
                    }
                }
            }
            let r = if tail {
                match s {
                    syn::Stmt::Expr(e, None) => self.expr_into(e, sink),
                    _ => unreachable!("a tail is an expression"),
                }
            } else {
                self.stmt(s)
            };
            match r {
                Ok(Val::Never) => return result.map(|_| Val::Never),
                Ok(_) => {}
                Err(e) => {
                    result = Err(e);
                    continue;
                }
            }
            if !rest.is_empty() && Exits::of_stmt(s).any() {
                let Some(live) = self.current_live() else {
                    return self.err_at(
                        s,
                        "internal: an exit here has no flag to guard what follows",
                    );
                };
                let (block, r) = self.nested(|cx| cx.stmts(rest, sink).map(|_| ()));
                self.emit(Stmt::If {
                    cond: Atom::Var(live),
                    then: block,
                    els: Vec::new(),
                });
                return result.and(r.map(|_| Val::Unit));
            }
        }
        result
    }

    /// `if c { ..; exit } rest` as `if c { .. } else { rest }` (or the mirror image), when
    /// exactly one branch always exits. `None` when the `if` is not of that form.
    fn continuation(&mut self, e: &syn::ExprIf, rest: &[syn::Stmt], sink: Sink) -> Option<L<Val>> {
        let then_exits = block_always_exits(&e.then_branch);
        let else_exits = e.else_branch.as_ref().is_some_and(|(_, b)| always_exits(b));
        if then_exits == else_exits {
            return None;
        }
        Some((|| {
            let cond = self.condition(&e.cond)?;
            let then_may_exit = Exits::of_block(&e.then_branch).any();
            let else_may_exit = e
                .else_branch
                .as_ref()
                .is_some_and(|(_, b)| Exits::of_expr(b).any());
            let (then, r1) = self.nested(|cx| {
                cx.block_into(&e.then_branch, Sink::Discard)?;
                if !then_exits {
                    cx.rest_after(then_may_exit, rest, sink)?;
                }
                Ok(())
            });
            let (els, r2) = self.nested(|cx| {
                if let Some((_, b)) = &e.else_branch {
                    cx.expr_into(b, Sink::Discard)?;
                }
                if then_exits {
                    cx.rest_after(else_may_exit, rest, sink)?;
                }
                Ok(())
            });
            r1?;
            r2?;
            self.emit(Stmt::If { cond, then, els });
            Ok(Val::Unit)
        })())
    }

    /// The rest of a block after a branch; guarded by the `live` flag when the branch may
    /// have left it by an exit.
    fn rest_after(&mut self, may_exit: bool, rest: &[syn::Stmt], sink: Sink) -> L<()> {
        if !may_exit {
            return self.stmts(rest, sink).map(|_| ());
        }
        let Some(live) = self.current_live() else {
            return self.err(
                proc_macro2::Span::call_site(),
                "internal: an exit here has no flag to guard what follows",
            );
        };
        let (block, r) = self.nested(|cx| cx.stmts(rest, sink).map(|_| ()));
        self.emit(Stmt::If {
            cond: Atom::Var(live),
            then: block,
            els: Vec::new(),
        });
        r
    }

    /// A statement whose value, if any, is dropped.
    fn stmt(&mut self, s: &syn::Stmt) -> L<Val> {
        match s {
            syn::Stmt::Local(l) => self.lower_let(l),
            syn::Stmt::Expr(e, _) => self.expr_into(e, Sink::Discard),
            syn::Stmt::Item(item) => self.err_at(
                item,
                "items inside a differentiated function are not supported: define them outside it",
            ),
            syn::Stmt::Macro(m) => self.err_at(
                &m.mac,
                "macros other than `vec![..]` cannot be differentiated: remove it or compute the value in plain Rust",
            ),
        }
    }

    /// An expression whose value goes to `sink`: control-flow expressions write it in each
    /// branch; others are computed and stored.
    pub(super) fn expr_into(&mut self, e: &syn::Expr, sink: Sink) -> L<Val> {
        match e {
            syn::Expr::If(i) => self.lower_if(i, sink),
            syn::Expr::Match(m) => self.lower_match(m, sink),
            syn::Expr::Loop(l) => self.lower_loop(l, sink),
            syn::Expr::Block(b) if b.label.is_none() => self.block_into(&b.block, sink),
            syn::Expr::Paren(p) => self.expr_into(&p.expr, sink),
            _ => {
                let v = self.expr(e)?;
                if let Val::Never = v {
                    return Ok(Val::Never);
                }
                if let Sink::Var(t) = sink {
                    let a = self.materialize(v, e.span())?;
                    self.emit(Stmt::Assign {
                        target: t,
                        op: Op::Use(a),
                        span: e.span(),
                    });
                }
                Ok(Val::Unit)
            }
        }
    }

    /// The value of an expression that may be a control-flow expression (`let x = if ..`).
    pub(super) fn expr_or_flow(&mut self, e: &syn::Expr) -> L<Val> {
        match e {
            syn::Expr::If(_) | syn::Expr::Match(_) | syn::Expr::Loop(_) | syn::Expr::Block(_) => {
                let t = self.temp(e.span());
                self.mutable.insert(t);
                match self.expr_into(e, Sink::Var(t))? {
                    Val::Never => Ok(Val::Never),
                    _ => Ok(Val::Atom(Atom::Var(t))),
                }
            }
            syn::Expr::Paren(p) => self.expr_or_flow(&p.expr),
            _ => self.expr(e),
        }
    }

    /// `let pat = init;`, `let pat: T = init;`, `let x;`.
    fn lower_let(&mut self, l: &syn::Local) -> L<Val> {
        let (pat, declared) = match &l.pat {
            syn::Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
            p => (p, None),
        };
        let declared = match declared {
            Some(t) => match super::signature::value_type(t, self.float()) {
                Ok(ty) => Some(ty),
                Err((span, msg)) => return self.err(span, msg),
            },
            None => None,
        };
        let Some(init) = &l.init else {
            // `let x;`: assigned later.
            let syn::Pat::Ident(pi) = pat else {
                return self.err_at(pat, "a `let` without a value must bind one name: `let x;`");
            };
            let ty = declared.unwrap_or_else(|| self.infer_ty());
            let v = self
                .func
                .add_var(pi.ident.to_string(), ty, pi.ident.span(), Origin::User);
            self.mutable.insert(v);
            self.scopes
                .bind(&pi.ident.to_string(), Val::Atom(Atom::Var(v)));
            return Ok(Val::Unit);
        };
        if let Some((_, els)) = &init.diverge {
            return self.err_at(
                els,
                "`let .. else` cannot be differentiated: test the value with `if` or `match`",
            );
        }
        let v = self.expr_or_flow(&init.expr)?;
        if let Val::Never = v {
            return Ok(Val::Never);
        }
        self.bind_pattern(pat, v, declared)?;
        Ok(Val::Unit)
    }

    /// `lhs = rhs`.
    pub(super) fn lower_assign(&mut self, lhs: &syn::Expr, rhs: &syn::Expr) -> L<Val> {
        let span = rhs.span();
        let v = self.expr_or_flow(rhs)?;
        if let Val::Never = v {
            return Ok(Val::Never);
        }
        if let (syn::Expr::Tuple(t), Val::Tuple(parts)) = (lhs, &v) {
            // `(a, b) = (b, a)`: every part is read before any is written.
            if t.elems.len() != parts.len() {
                return self.err_at(t, "the tuple sizes differ");
            }
            let mut atoms = Vec::new();
            for p in parts.clone() {
                let a = self.materialize(p, span)?;
                atoms.push(self.assign(Op::Use(a), span));
            }
            for (e, a) in t.elems.iter().zip(atoms) {
                let place = self.assign_target(e)?;
                self.store(place, a, span);
            }
            return Ok(Val::Unit);
        }
        let a = self.materialize(v, span)?;
        let place = self.assign_target(lhs)?;
        self.store(place, a, span);
        Ok(Val::Unit)
    }

    /// `lhs op= rhs`.
    pub(super) fn lower_compound(
        &mut self,
        lhs: &syn::Expr,
        op: &syn::BinOp,
        rhs: &syn::Expr,
    ) -> L<Val> {
        let span = rhs.span();
        let value = self.value(rhs)?;
        let place = self.assign_target(lhs)?;
        let (name, negate) = match op {
            syn::BinOp::AddAssign(_) => ("+", Some(false)),
            syn::BinOp::SubAssign(_) => ("-", Some(true)),
            syn::BinOp::MulAssign(_) => ("*", None),
            syn::BinOp::DivAssign(_) => ("/", None),
            syn::BinOp::RemAssign(_) => ("%", None),
            other => {
                return self.err_at(
                    other,
                    "bitwise and shift assignments cannot be differentiated: use `+=`, `-=`, `*=`, `/=`",
                )
            }
        };
        if let Some(negate) = negate {
            self.emit(Stmt::Accumulate {
                place,
                value,
                negate,
                span,
            });
            return Ok(Val::Unit);
        }
        let prim = crate::rules::binary(name).expect("the table has the operators");
        let old = self.read_place(place.clone(), span);
        let new = self.assign(Op::Prim(prim, vec![old, value]), span);
        self.store(place, new, span);
        Ok(Val::Unit)
    }

    /// Writes an atom into a place (a variable, or an element or field).
    pub(super) fn store(&mut self, place: Place, value: Atom, span: proc_macro2::Span) {
        if place.is_var() {
            self.assign_accumulating(place.root, value, span);
        } else {
            self.emit(Stmt::Store { place, value, span });
        }
    }

    /// Reads a place (a whole variable reads as itself).
    pub(super) fn read_place(&mut self, place: Place, span: proc_macro2::Span) -> Atom {
        if place.is_var() {
            Atom::Var(place.root)
        } else {
            self.assign(Op::Load(place), span)
        }
    }

    /// The place an assignment writes.
    fn assign_target(&mut self, lhs: &syn::Expr) -> L<Place> {
        match self.expr(lhs)? {
            Val::Place(p) | Val::Ref(p) => Ok(p),
            Val::Atom(Atom::Var(v)) => Ok(Place::var(v)),
            _ => self.err_at(
                lhs,
                "cannot assign to this: assign to a variable, an element `x[i]` or a field `p.w`",
            ),
        }
    }
}
