//! Forward mode (tangents, JVP): one sweep that carries, beside every active value, its
//! directional derivative. Control flow is kept as it is; no storage is needed.

use crate::analysis;
use crate::ir::*;
use crate::rules;
use std::collections::{HashMap, HashSet};

/// The output of the forward transform.
pub struct ForwardCode {
    /// The function body with tangent statements interleaved.
    pub body: Block,
    /// The tangent variable of each active variable.
    pub tan: HashMap<VarId, VarId>,
    /// The active variables.
    pub active: HashSet<VarId>,
}

/// Runs the forward transform on `f` for the inputs `wrt`.
pub fn transform(f: &mut Function, wrt: &[VarId]) -> ForwardCode {
    let active = analysis::active_vars(f, wrt);
    let mut tan = HashMap::new();
    let mut ids: Vec<VarId> = active.iter().copied().collect();
    ids.sort();
    for v in ids {
        let info = f.var(v).clone();
        let t = f.add_var(
            format!("tan_{}", info.name),
            info.ty,
            info.span,
            Origin::Tangent(v),
        );
        tan.insert(v, t);
    }
    let cx = Forward { f, active, tan };
    let body = cx.block(&cx.f.body.clone());
    ForwardCode {
        body,
        tan: cx.tan,
        active: cx.active,
    }
}

struct Forward<'a> {
    f: &'a mut Function,
    active: HashSet<VarId>,
    tan: HashMap<VarId, VarId>,
}

impl Forward<'_> {
    /// The tangent of an atom: its tangent variable, or the literal zero.
    fn tan_atom(&self, a: &Atom) -> Atom {
        match a {
            Atom::Var(v) if self.active.contains(v) => Atom::Var(self.tan[v]),
            _ => Atom::Float(0.0),
        }
    }

    fn block(&self, block: &Block) -> Block {
        let mut out = Vec::new();
        for s in block {
            self.stmt(s, &mut out);
        }
        out
    }

    fn stmt(&self, s: &Stmt, out: &mut Block) {
        match s {
            Stmt::Assign { target, op, span } if self.active.contains(target) => {
                let t = self.tan[target];
                let span = *span;
                match op {
                    Op::Call { func, args, refs } => {
                        let tangents = args
                            .iter()
                            .filter(|a| match a {
                                Atom::Var(v) => self.f.var(*v).ty.is_float(),
                                Atom::Float(_) => true,
                                _ => false,
                            })
                            .map(|a| match a {
                                Atom::Var(v) if self.active.contains(v) => Some(self.tan[v]),
                                _ => None,
                            })
                            .collect();
                        out.push(Stmt::PushforwardCall {
                            func: func.clone(),
                            args: args.clone(),
                            refs: refs.clone(),
                            target: *target,
                            tangent: t,
                            tangents,
                        });
                    }
                    Op::Prim(p, args) => {
                        out.push(s.clone());
                        let arg_exprs: Vec<Expr> = args.iter().map(Expr::atom).collect();
                        let partials = rules::partials(*p, &arg_exprs, &Expr::var(*target));
                        let mut sum: Option<Expr> = None;
                        for (a, partial) in args.iter().zip(partials.wrt) {
                            let (Atom::Var(v), Some(partial)) = (a, partial) else {
                                continue;
                            };
                            if !self.active.contains(v) {
                                continue;
                            }
                            let tv = Expr::var(self.tan[v]);
                            // A zero tangent stays zero even where the partial is infinite
                            // (a singular point, or an intermediate that overflowed), and a
                            // zero partial keeps an infinite tangent out: 0 * inf is 0 here,
                            // as in reverse mode.
                            let term = match partial {
                                Expr::Atom(Atom::Float(1.0)) => tv,
                                Expr::Atom(Atom::Float(-1.0)) => Expr::Neg(Box::new(tv)),
                                p => Expr::Select(
                                    Box::new(Expr::Cmp(
                                        crate::ir::CmpOp::Eq,
                                        Box::new(p.clone()),
                                        Box::new(Expr::float(0.0)),
                                    )),
                                    Box::new(Expr::float(0.0)),
                                    Box::new(Expr::GuardedMul(Box::new(tv), Box::new(p))),
                                ),
                            };
                            sum = Some(match sum {
                                None => term,
                                Some(acc) => Expr::Add(Box::new(acc), Box::new(term)),
                            });
                        }
                        out.push(Stmt::Set {
                            target: Place::Var(t),
                            expr: sum.unwrap_or(Expr::float(0.0)),
                        });
                    }
                    Op::Copy(a) => {
                        out.push(s.clone());
                        let ta = self.tan_atom(a);
                        if self.f.var(*target).ty.is_array() && !matches!(ta, Atom::Var(_)) {
                            out.push(Stmt::AllocLike {
                                target: t,
                                like: *target,
                            });
                        } else {
                            out.push(Stmt::Assign {
                                target: t,
                                op: Op::Copy(ta),
                                span,
                            });
                        }
                    }
                    Op::Index { array, index } => {
                        out.push(s.clone());
                        let op = if self.active.contains(array) {
                            Op::Index {
                                array: self.tan[array],
                                index: index.clone(),
                            }
                        } else {
                            Op::Copy(Atom::Float(0.0))
                        };
                        out.push(Stmt::Assign {
                            target: t,
                            op,
                            span,
                        });
                    }
                    Op::ArrayLit { elems, vec } => {
                        out.push(s.clone());
                        let elems = elems.iter().map(|e| self.tan_atom(e)).collect();
                        out.push(Stmt::Assign {
                            target: t,
                            op: Op::ArrayLit { elems, vec: *vec },
                            span,
                        });
                    }
                    Op::Repeat { value, count, vec } => {
                        out.push(s.clone());
                        let op = Op::Repeat {
                            value: self.tan_atom(value),
                            count: count.clone(),
                            vec: *vec,
                        };
                        out.push(Stmt::Assign {
                            target: t,
                            op,
                            span,
                        });
                    }
                    Op::Int(..)
                    | Op::Cmp(..)
                    | Op::Bool(..)
                    | Op::Cast { .. }
                    | Op::Len(_)
                    | Op::Const(_) => {
                        out.push(s.clone());
                    }
                }
            }
            Stmt::Accumulate {
                target,
                value,
                negate,
                span,
            } => {
                out.push(s.clone());
                if self.active.contains(target) {
                    if let Atom::Var(v) = value {
                        if self.active.contains(v) {
                            out.push(Stmt::Accumulate {
                                target: self.tan[target],
                                value: Atom::Var(self.tan[v]),
                                negate: *negate,
                                span: *span,
                            });
                        }
                    }
                }
            }
            Stmt::Store {
                array,
                index,
                value,
                span,
            } => {
                out.push(s.clone());
                if self.active.contains(array) {
                    out.push(Stmt::Store {
                        array: self.tan[array],
                        index: index.clone(),
                        value: self.tan_atom(value),
                        span: *span,
                    });
                }
            }
            Stmt::If { cond, then, els } => {
                out.push(Stmt::If {
                    cond: cond.clone(),
                    then: self.block(then),
                    els: self.block(els),
                });
            }
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
            } => {
                out.push(Stmt::For {
                    var: *var,
                    lo: lo.clone(),
                    hi: hi.clone(),
                    rev: *rev,
                    body: self.block(body),
                });
            }
            Stmt::While {
                cond_block,
                cond,
                body,
            } => {
                out.push(Stmt::While {
                    cond_block: cond_block.clone(),
                    cond: cond.clone(),
                    body: self.block(body),
                });
            }
            other => out.push(other.clone()),
        }
    }
}
