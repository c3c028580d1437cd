//! Forward mode (tangents, JVP): each statement is followed by the statement computing its
//! tangent from its operands' tangents and the rule table's partials.
//!
//! It applies to every statement of the IR, the reverse transform's included, so that
//! forward mode over a gradient program gives Hessian-vector products (forward over
//! reverse): stacks carry tangents beside values, kernels have their tangent kernels, and a
//! call of any function goes through the callee's `_pushforward` (for a `_pullback`, that is
//! `_pullback_pushforward`).

use crate::analysis::activity;
use crate::build;
use crate::hash::HashMap;
use crate::ir::*;
use crate::names::Binder;
use crate::shape::{SeqKind, Ty};

/// What to differentiate.
pub struct Plan {
    /// The differentiated inputs and their tangents (parameters of the companion).
    pub tangents: Vec<(VarId, VarId)>,
    /// The outputs whose tangents are wanted.
    pub outputs: Vec<VarId>,
    /// `strict`: a call's value comes from the callee itself, its tangent from the callee's
    /// pushforward (whose value, the reverse sweep's for a float result, may be reassociated).
    pub exact_calls: bool,
}

/// The result of the transform.
pub struct Forwarded {
    /// The function's variables, extended with tangents.
    pub func: Function,
    /// The body with tangent statements.
    pub body: Block,
    /// The tangent of each active variable.
    pub tan: HashMap<VarId, VarId>,
}

/// Runs the transform on `orig`.
pub fn forward(orig: &Function, plan: &Plan) -> Forwarded {
    let inputs: Vec<VarId> = plan.tangents.iter().map(|(v, _)| *v).collect();
    let active = activity::active_between(orig, &inputs, &plan.outputs);
    let mut f = orig.clone();
    f.body = Vec::new();
    let mut tan: HashMap<VarId, VarId> = plan.tangents.iter().copied().collect();
    for (i, is_active) in active.iter().enumerate() {
        let v = VarId(i as u32);
        if *is_active && !tan.contains_key(&v) {
            let var = orig.var(v);
            let ty = match &var.ty {
                Ty::Stack(e) => Ty::Stack(Box::new(e.derivative())),
                t => t.derivative(),
            };
            let t = f.add_var(
                Binder::Tangent.name(&var.name),
                ty,
                var.span,
                Origin::Made(Binder::Tangent, Some(v)),
            );
            tan.insert(v, t);
        }
    }
    let infinite = infinite_tangents(orig);
    let mut cx = Forward {
        f,
        active,
        tan,
        infinite,
        exact_calls: plan.exact_calls,
    };
    let body = cx.block(&orig.body);
    Forwarded {
        func: cx.f,
        body,
        tan: cx.tan,
    }
}

struct Forward {
    f: Function,
    active: Vec<bool>,
    tan: HashMap<VarId, VarId>,
    /// Variables whose tangent may be infinite at a finite point.
    infinite: Vec<bool>,
    /// See [`Plan::exact_calls`].
    exact_calls: bool,
}

/// The variables whose tangent may be infinite at a finite point: results of singular
/// primitives and of calls, and what is computed from them.
fn infinite_tangents(f: &Function) -> Vec<bool> {
    let mut inf = vec![false; f.vars.len()];
    crate::visit::walk(&f.body, &mut |s| {
        if let Stmt::Assign { target, op, .. } = s {
            let own = match op {
                Op::Prim(p, args) => p.singular_at(args),
                Op::Call(_) => true,
                _ => false,
            };
            inf[target.index()] |= own;
        }
    });
    let mut flows = Vec::new();
    crate::visit::walk(&f.body, &mut |s| flows.extend(activity::flows(s)));
    loop {
        let mut changed = false;
        for (from, to) in &flows {
            if inf[from.index()] && !inf[to.index()] {
                inf[to.index()] = true;
                changed = true;
            }
        }
        if !changed {
            return inf;
        }
    }
}

fn span() -> proc_macro2::Span {
    proc_macro2::Span::call_site()
}

impl Forward {
    fn is_active(&self, v: VarId) -> bool {
        self.active.get(v.index()).copied().unwrap_or(false) && self.tan.contains_key(&v)
    }

    /// The tangent of an atom (zero for constants and inactive values).
    fn tan_atom(&self, a: &Atom) -> Option<Atom> {
        match a {
            Atom::Var(v) if self.is_active(*v) => Some(Atom::Var(self.tan[v])),
            _ => None,
        }
    }

    fn tan_place(&self, p: &Place) -> Option<Place> {
        self.is_active(p.root).then(|| p.rebased(self.tan[&p.root]))
    }

    fn block(&mut self, b: &Block) -> Block {
        let mut out = Vec::new();
        for s in b {
            self.stmt(s, &mut out);
        }
        out
    }

    /// `tan_t = zero` of `t`'s shape.
    fn zero_tangent(&mut self, t: VarId, out: &mut Block) {
        let tt = self.tan[&t];
        let op = match self.f.ty(t) {
            Ty::Float => Op::Use(Atom::Float(0.0)),
            _ => Op::ZeroLike(Atom::Var(t)),
        };
        out.push(Stmt::Assign {
            target: tt,
            op,
            span: span(),
        });
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Block) {
        match s {
            Stmt::Assign {
                target,
                op: Op::Call(call),
                span,
            } if self.is_active(*target) => {
                let pair = self.call(call, Some(*target), out);
                if let Some(pair) = pair {
                    let load = |i: u32| Op::Load(Place::var(pair).field(Member::Unnamed(i)));
                    out.push(Stmt::Assign {
                        target: self.tan[target],
                        op: load(1),
                        span: *span,
                    });
                    // After the tangent: the call's arguments may read `target`.
                    if self.exact_calls {
                        out.push(s.clone());
                    } else {
                        out.push(Stmt::Assign {
                            target: *target,
                            op: load(0),
                            span: *span,
                        });
                    }
                }
            }
            Stmt::Assign { target, op, .. } => {
                out.push(s.clone());
                if self.is_active(*target) {
                    self.assign_tangent(*target, op, out);
                }
            }
            Stmt::Store { place, value, span } => {
                out.push(s.clone());
                if let Some(tp) = self.tan_place(place) {
                    let tv = self
                        .tan_atom(value)
                        .unwrap_or_else(|| self.zero_of(value, out));
                    out.push(Stmt::Store {
                        place: tp,
                        value: tv,
                        span: *span,
                    });
                }
            }
            Stmt::Accumulate {
                place,
                value,
                negate,
                span,
            } => {
                out.push(s.clone());
                if let (Some(tp), Some(tv)) = (self.tan_place(place), self.tan_atom(value)) {
                    out.push(Stmt::Accumulate {
                        place: tp,
                        value: tv,
                        negate: *negate,
                        span: *span,
                    });
                }
            }
            Stmt::If { cond, then, els } => {
                let then = self.block(then);
                let els = self.block(els);
                out.push(Stmt::If {
                    cond: cond.clone(),
                    then,
                    els,
                });
            }
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
                chunked,
            } => {
                let body = self.block(body);
                // A chunked loop's sums carry tangents that are sums too.
                let chunked = chunked.as_ref().map(|c| {
                    let mut c = c.clone();
                    for (v, part) in c.sums.clone() {
                        if self.is_active(v) {
                            let tv = self.tan[&v];
                            let ty = self.f.ty(tv).clone();
                            let tp = self.f.add_var(
                                Binder::Tangent.name(""),
                                ty,
                                span(),
                                Origin::Made(Binder::Tangent, Some(part)),
                            );
                            c.sums.push((tv, tp));
                        }
                    }
                    c
                });
                out.push(Stmt::For {
                    var: *var,
                    lo: lo.clone(),
                    hi: hi.clone(),
                    rev: *rev,
                    body,
                    chunked,
                });
            }
            Stmt::While {
                cond_block,
                cond,
                body,
            } => {
                let cond_block = self.block(cond_block);
                let body = self.block(body);
                out.push(Stmt::While {
                    cond_block,
                    cond: cond.clone(),
                    body,
                });
            }
            Stmt::Sweep(sw) => self.sweep(sw, out),
        }
    }

    /// A zero shaped like `a`'s tangent.
    /// The tangent of `a`, or a zero of its shape.
    fn tan_or_zero(&mut self, a: &Atom, out: &mut Block) -> Atom {
        match self.tan_atom(a) {
            Some(t) => t,
            None => self.zero_of(a, out),
        }
    }

    fn zero_of(&mut self, a: &Atom, out: &mut Block) -> Atom {
        match self.f.atom_ty(a) {
            Ty::Float => Atom::Float(0.0),
            ty => build::assign(&mut self.f, out, Op::ZeroLike(a.clone()), ty.derivative()),
        }
    }

    fn assign_tangent(&mut self, t: VarId, op: &Op, out: &mut Block) {
        let tt = self.tan[&t];
        let set = |op: Op| Stmt::Assign {
            target: tt,
            op,
            span: span(),
        };
        match op {
            Op::Use(a) => match self.tan_atom(a) {
                Some(ta) => out.push(set(Op::Use(ta))),
                None => self.zero_tangent(t, out),
            },
            Op::Load(p) => match self.tan_place(p) {
                Some(tp) => out.push(set(Op::Load(tp))),
                None => self.zero_tangent(t, out),
            },
            Op::Prim(p, args) => {
                let tans: Vec<Option<Atom>> = args.iter().map(|a| self.tan_atom(a)).collect();
                let wanted: Vec<bool> = tans.iter().map(Option::is_some).collect();
                let parts = build::partials(&mut self.f, out, *p, args, &Atom::Var(t), &wanted);
                let mut sum: Option<Atom> = None;
                for ((ta, part), a) in tans.into_iter().zip(parts).zip(args) {
                    let (Some(ta), Some(part)) = (ta, part) else {
                        continue;
                    };
                    // A tangent that may be infinite (it comes from a singular primitive)
                    // times a zero partial is zero, as in reverse mode.
                    let infinite = a.var().is_some_and(|v| self.infinite[v.index()]);
                    let singular = p.singular_at(args);
                    let c = if infinite && !singular {
                        build::scale(&mut self.f, out, part, ta, true)
                    } else {
                        build::scale(&mut self.f, out, ta, part, singular)
                    };
                    sum = Some(match sum {
                        None => c,
                        Some(s) => build::add(&mut self.f, out, s, c),
                    });
                }
                out.push(set(Op::Use(sum.unwrap_or(Atom::Float(0.0)))));
            }
            Op::Select(c, a, b) => {
                let ta = self.tan_or_zero(a, out);
                let tb = self.tan_or_zero(b, out);
                out.push(set(Op::Select(c.clone(), ta, tb)));
            }
            Op::Seq(atoms, form) => {
                // An inactive element's zero has the element's shape (a row of a nested
                // array is a zero row).
                let tans = atoms.iter().map(|a| self.tan_or_zero(a, out)).collect();
                out.push(set(Op::Seq(tans, *form)));
            }
            Op::Repeat(a, n, form) => {
                let ta = self.tan_or_zero(a, out);
                out.push(set(Op::Repeat(ta, n.clone(), *form)));
            }
            Op::Tuple(atoms) => {
                let tans = atoms
                    .iter()
                    .map(|a| match self.tan_atom(a) {
                        Some(ta) => ta,
                        None if self.f.atom_ty(a).carries_derivative() => self.zero_of(a, out),
                        None => a.clone(),
                    })
                    .collect();
                out.push(set(Op::Tuple(tans)));
            }
            Op::Struct(path, fields) => {
                let tans = fields
                    .iter()
                    .map(|(n, a)| {
                        let ta = match self.tan_atom(a) {
                            Some(ta) => ta,
                            None if self.f.atom_ty(a).carries_derivative() => self.zero_of(a, out),
                            // Integer and bool fields are passed through.
                            None => a.clone(),
                        };
                        (n.clone(), ta)
                    })
                    .collect();
                out.push(set(Op::Struct(path.clone(), tans)));
            }
            Op::Call(_) => unreachable!("active calls are handled with their pushforward"),
            Op::Cmp(..)
            | Op::Not(_)
            | Op::Cast(..)
            | Op::Len(_)
            | Op::Const(_)
            | Op::Num(_)
            | Op::NoGrad(_)
            | Op::ZeroLike(_)
            | Op::Placeholder => self.zero_tangent(t, out),
        }
    }

    /// A call through the callee's `_pushforward`: its arguments, then a tangent for each
    /// float argument (zero where the argument is not active). Returns the variable holding
    /// `(value, tangent)`.
    fn call(&mut self, call: &Call, target: Option<VarId>, out: &mut Block) -> Option<VarId> {
        let mut tangents = Vec::new();
        for arg in &call.args {
            let ty = self.f.arg_ty(arg);
            if !ty.carries_derivative() {
                continue;
            }
            tangents.push(self.tangent_arg(arg, &ty, out));
        }
        let mut args = call.args.clone();
        args.extend(tangents);
        let callee = call.callee.companion("pushforward");
        let pair = target.map(|t| {
            let ty = self.f.ty(t).clone();
            let tt = ty.derivative();
            self.f
                .add_var("", Ty::Tuple(vec![ty, tt]), span(), Origin::Temp)
        });
        out.push(Stmt::Sweep(Sweep::Call {
            target: pair,
            call: Call { callee, args },
        }));
        pair
    }

    /// The tangent passed for an argument, shaped and passed like it.
    fn tangent_arg(&mut self, arg: &Arg, ty: &Ty, out: &mut Block) -> Arg {
        match arg {
            Arg::Value(a) | Arg::Seed(a) => match self.tan_atom(a) {
                Some(ta) => Arg::Value(ta),
                None => Arg::Value(self.zero_of(a, out)),
            },
            Arg::Ref(p) => match self.tan_place(p) {
                Some(tp) => Arg::Ref(tp),
                None => {
                    let z = self.zero_buffer(arg, ty, out);
                    Arg::Ref(Place::var(z))
                }
            },
            Arg::View(p, lo, hi) => match self.tan_place(p) {
                Some(tp) => Arg::View(tp, lo.clone(), hi.clone()),
                None => {
                    let z = self.zero_buffer(arg, ty, out);
                    Arg::Ref(Place::var(z))
                }
            },
            Arg::MutRef(p) => match self.tan_place(p) {
                Some(tp) => Arg::MutRef(tp),
                None => {
                    let z = self.zero_buffer(arg, ty, out);
                    Arg::MutRef(Place::var(z))
                }
            },
            Arg::MutView(p, lo, hi) => match self.tan_place(p) {
                Some(tp) => Arg::MutView(tp, lo.clone(), hi.clone()),
                None => {
                    let z = self.zero_buffer(arg, ty, out);
                    Arg::MutRef(Place::var(z))
                }
            },
        }
    }

    /// A zero value shaped like an argument (for inactive reference arguments).
    fn zero_buffer(&mut self, arg: &Arg, ty: &Ty, out: &mut Block) -> VarId {
        let v = self.f.add_var(
            Binder::Scratch.name(""),
            ty.derivative(),
            span(),
            Origin::Made(Binder::Scratch, None),
        );
        let op = match arg {
            Arg::Ref(p) | Arg::MutRef(p) if p.is_var() => Op::ZeroLike(Atom::Var(p.root)),
            Arg::Ref(p) | Arg::MutRef(p) => {
                let t = build::assign(&mut self.f, out, Op::Load(p.clone()), ty.clone());
                Op::ZeroLike(t)
            }
            Arg::View(_, lo, hi) | Arg::MutView(_, lo, hi) => {
                let lo = lo.clone().unwrap_or(Atom::Int(0));
                let hi = hi.clone().unwrap_or(Atom::Int(0));
                let sub = crate::rules::binary("-").expect("sub");
                let n = build::assign(&mut self.f, out, Op::Prim(sub, vec![hi, lo]), Ty::Int);
                Op::Repeat(Atom::Float(0.0), Count::Atom(n), SeqForm::Vec)
            }
            Arg::Value(a) | Arg::Seed(a) => Op::ZeroLike(a.clone()),
        };
        out.push(Stmt::Assign {
            target: v,
            op,
            span: span(),
        });
        if let Ty::Seq(SeqKind::Slice, _) = ty {
            // The zeros are owned; a view of them is passed.
        }
        v
    }

    fn sweep(&mut self, sw: &Sweep, out: &mut Block) {
        match sw {
            Sweep::Push { stack, value } => {
                out.push(Stmt::Sweep(sw.clone()));
                if let (true, Some(tv)) = (self.is_active(*stack), self.tan_atom(value)) {
                    out.push(Stmt::Sweep(Sweep::Push {
                        stack: self.tan[stack],
                        value: tv,
                    }));
                }
            }
            Sweep::Pop { stack, place } => {
                out.push(Stmt::Sweep(sw.clone()));
                if let (true, Some(tp)) = (self.is_active(*stack), self.tan_place(place)) {
                    out.push(Stmt::Sweep(Sweep::Pop {
                        stack: self.tan[stack],
                        place: tp,
                    }));
                }
            }
            Sweep::Call { target, call } => {
                let any_active = call.args.iter().any(|a| match a {
                    Arg::Value(x) | Arg::Seed(x) => x.var().is_some_and(|v| self.is_active(v)),
                    Arg::Ref(p) | Arg::View(p, ..) | Arg::MutRef(p) | Arg::MutView(p, ..) => {
                        self.is_active(p.root)
                    }
                });
                if !any_active {
                    out.push(Stmt::Sweep(sw.clone()));
                    return;
                }
                let pair = self.call(call, *target, out);
                if let (Some(t), Some(pair)) = (target, pair) {
                    out.push(Stmt::Assign {
                        target: *t,
                        op: Op::Load(Place::var(pair).field(Member::Unnamed(0))),
                        span: span(),
                    });
                    if self.is_active(*t) {
                        out.push(Stmt::Assign {
                            target: self.tan[t],
                            op: Op::Load(Place::var(pair).field(Member::Unnamed(1))),
                            span: span(),
                        });
                    }
                }
            }
            Sweep::Kernel(k) => self.kernel(k, out),
        }
    }

    fn kernel(&mut self, k: &Kernel, out: &mut Block) {
        let kern = |k: Kernel| Stmt::Sweep(Sweep::Kernel(k));
        let run = |cx: &Self, r: &Run| {
            cx.tan_place(&r.place).map(|p| Run {
                place: p,
                start: r.start.clone(),
            })
        };
        match k {
            Kernel::Dot {
                acc,
                negate,
                a,
                b,
                len,
            } => {
                if let Some(tacc) = self.tan_place(acc) {
                    if let Some(ta) = run(self, a) {
                        out.push(kern(Kernel::Dot {
                            acc: tacc.clone(),
                            negate: *negate,
                            a: ta,
                            b: b.clone(),
                            len: len.clone(),
                        }));
                    }
                    if let Some(tb) = run(self, b) {
                        out.push(kern(Kernel::Dot {
                            acc: tacc,
                            negate: *negate,
                            a: a.clone(),
                            b: tb,
                            len: len.clone(),
                        }));
                    }
                }
                out.push(kern(k.clone()));
            }
            Kernel::Axpy { alpha, x, y, len } => {
                if let Some(ty) = run(self, y) {
                    if let Some(talpha) = self.tan_atom(alpha) {
                        out.push(kern(Kernel::Axpy {
                            alpha: talpha,
                            x: x.clone(),
                            y: ty.clone(),
                            len: len.clone(),
                        }));
                    }
                    if let Some(tx) = run(self, x) {
                        out.push(kern(Kernel::Axpy {
                            alpha: alpha.clone(),
                            x: tx,
                            y: ty,
                            len: len.clone(),
                        }));
                    }
                }
                out.push(kern(k.clone()));
            }
            Kernel::AxpyAll { alpha, x, y } => {
                if let Some(ty) = self.tan_place(y) {
                    if let Some(talpha) = self.tan_atom(alpha) {
                        out.push(kern(Kernel::AxpyAll {
                            alpha: talpha,
                            x: x.clone(),
                            y: ty.clone(),
                        }));
                    }
                    if let Some(tx) = self.tan_place(x) {
                        out.push(kern(Kernel::AxpyAll {
                            alpha: alpha.clone(),
                            x: tx,
                            y: ty,
                        }));
                    }
                }
                out.push(kern(k.clone()));
            }
            Kernel::ScaleAll { alpha, y } => {
                // (alpha y)' = alpha y' + alpha' y, with y's old value.
                if let Some(ty) = self.tan_place(y) {
                    out.push(kern(Kernel::ScaleAll {
                        alpha: alpha.clone(),
                        y: ty.clone(),
                    }));
                    if let Some(talpha) = self.tan_atom(alpha) {
                        out.push(kern(Kernel::AxpyAll {
                            alpha: talpha,
                            x: y.clone(),
                            y: ty,
                        }));
                    }
                }
                out.push(kern(k.clone()));
            }
            Kernel::ZeroAll { y } => {
                out.push(kern(k.clone()));
                if let Some(ty) = self.tan_place(y) {
                    out.push(kern(Kernel::ZeroAll { y: ty }));
                }
            }
            Kernel::SetUnit { y, .. } => {
                out.push(kern(k.clone()));
                if let Some(ty) = self.tan_place(y) {
                    out.push(kern(Kernel::ZeroAll { y: ty }));
                }
            }
            // A Jacobian carries no tangent.
            Kernel::WriteRow { .. } => out.push(kern(k.clone())),
            Kernel::Along {
                target,
                tangent,
                gradient,
            } => {
                // (t . g)' = t' . g + t . g', each through the same zero-skipping product.
                if self.is_active(*target) {
                    let parts = [
                        (self.tan_place(tangent), Some(gradient.clone())),
                        (Some(tangent.clone()), self.tan_place(gradient)),
                    ];
                    let mut sum: Option<Atom> = None;
                    for (t, g) in parts {
                        let (Some(t), Some(g)) = (t, g) else { continue };
                        let part = self.f.add_var("", Ty::Float, span(), Origin::Temp);
                        out.push(kern(Kernel::Along {
                            target: part,
                            tangent: t,
                            gradient: g,
                        }));
                        sum = Some(match sum {
                            None => Atom::Var(part),
                            Some(a) => {
                                let both = self.f.add_var("", Ty::Float, span(), Origin::Temp);
                                out.push(Stmt::Assign {
                                    target: both,
                                    op: Op::Prim(
                                        crate::rules::prim("add").expect("the rule table has add"),
                                        vec![a, Atom::Var(part)],
                                    ),
                                    span: span(),
                                });
                                Atom::Var(both)
                            }
                        });
                    }
                    match sum {
                        Some(s) => out.push(Stmt::Assign {
                            target: self.tan[target],
                            op: Op::Use(s),
                            span: span(),
                        }),
                        None => self.zero_tangent(*target, out),
                    }
                }
                out.push(kern(k.clone()));
            }
            Kernel::SumAll { target, place } => {
                out.push(kern(k.clone()));
                if self.is_active(*target) {
                    match self.tan_place(place) {
                        Some(tp) => out.push(kern(Kernel::SumAll {
                            target: self.tan[target],
                            place: tp,
                        })),
                        None => self.zero_tangent(*target, out),
                    }
                }
            }
        }
    }
}
