//! The adjoint of each statement: how the adjoint of what it writes flows back to what it
//! reads. Primitives take their partials from the rule table; calls go through the callee's
//! `_pullback`.

use super::Reverse;
use crate::build;
use crate::hash::HashSet;
use crate::ir::*;
use crate::names::Binder;
use crate::rules::{self, Prim};
use crate::shape::Ty;
use proc_macro2::Span;

fn span() -> Span {
    Span::call_site()
}

impl Reverse<'_> {
    /// The reverse of `target = op` (before `target`'s adjoint is reset).
    pub(super) fn assign_adjoint(&mut self, target: VarId, op: &Op) -> Block {
        let mut out = Vec::new();
        let at = self.adj_read(target);
        match op {
            Op::Use(a) => {
                if let Some(v) = self.active_atom(a) {
                    self.add_whole(&mut out, v, &at, target);
                }
            }
            Op::Load(place) => {
                if self.is_active(place.root) {
                    let elem = match self.f.place_ty(place) {
                        Ty::Opaque => self.f.ty(target).clone(),
                        t => t,
                    };

                    let dst = place.rebased(self.adj_var(place.root));
                    self.add_to_place(&mut out, dst, at, &elem);
                }
            }
            Op::Prim(p, args) => self.prim_adjoint(&mut out, *p, args, target, at),
            Op::Select(c, a, b) => {
                for (x, pick_first) in [(a, true), (b, false)] {
                    if let Some(v) = self.active_atom(x) {
                        let (p, q) = if pick_first {
                            (at.clone(), Atom::Float(0.0))
                        } else {
                            (Atom::Float(0.0), at.clone())
                        };
                        let t = self.assign(&mut out, Op::Select(c.clone(), p, q), Ty::Float);
                        self.accumulate(&mut out, Place::var(self.adj_var(v)), t);
                    }
                }
            }
            Op::Seq(atoms, _) => {
                for (k, a) in atoms.iter().enumerate() {
                    if let Some(v) = self.active_atom(a) {
                        let part = self.part_of(&mut out, &at, Proj::Index(Atom::Int(k as i64)), v);
                        self.add_whole(&mut out, v, &part, target);
                    }
                }
            }
            Op::Tuple(atoms) => {
                for (k, a) in atoms.iter().enumerate() {
                    if let Some(v) = self.active_atom(a) {
                        let part =
                            self.part_of(&mut out, &at, Proj::Field(Member::Unnamed(k as u32)), v);
                        self.add_whole(&mut out, v, &part, target);
                    }
                }
            }
            Op::Struct(_, fields) => {
                for (name, a) in fields {
                    if let Some(v) = self.active_atom(a) {
                        let part = self.part_of(
                            &mut out,
                            &at,
                            Proj::Field(Member::Named(name.clone())),
                            v,
                        );
                        self.add_whole(&mut out, v, &part, target);
                    }
                }
            }
            Op::Repeat(a, _, _) => {
                if let (Some(v), Atom::Var(at)) = (self.active_atom(a), &at) {
                    let t = self.temp(Ty::Float);
                    out.push(Stmt::Sweep(Sweep::Kernel(Kernel::SumAll {
                        target: t,
                        place: Place::var(*at),
                    })));
                    self.accumulate(&mut out, Place::var(self.adj_var(v)), Atom::Var(t));
                }
            }
            Op::Call(call) => self.call_adjoint(&mut out, call, target, at),
            Op::Cmp(..)
            | Op::Not(_)
            | Op::Cast(..)
            | Op::Len(_)
            | Op::Const(_)
            | Op::Num(_)
            | Op::NoGrad(_)
            | Op::ZeroLike(_)
            | Op::Placeholder => {}
        }
        out
    }

    /// The reverse of `place = value`: the value gets the place's adjoint, which is then
    /// cleared (the place's old value did not reach the result through this element).
    pub(super) fn store_adjoint(&mut self, place: &Place, value: &Atom) -> Block {
        let mut out = Vec::new();
        let dst = place.rebased(self.adj_var(place.root));
        let elem = self.f.place_ty(place);
        if let Some(v) = self.active_atom(value) {
            if elem == Ty::Float {
                let t = self.assign(&mut out, Op::Load(dst.clone()), Ty::Float);
                self.accumulate(&mut out, Place::var(self.adj_var(v)), t);
            } else {
                out.push(Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll {
                    alpha: Atom::Float(1.0),
                    x: dst.clone(),
                    y: Place::var(self.adj_var(v)),
                })));
            }
        }
        if elem == Ty::Float {
            out.push(Stmt::Store {
                place: dst,
                value: Atom::Float(0.0),
                span: span(),
            });
        } else {
            out.push(Stmt::Sweep(Sweep::Kernel(Kernel::ZeroAll { y: dst })));
        }
        out
    }

    /// The reverse of `place += value` (or `-=`).
    pub(super) fn accumulate_adjoint(
        &mut self,
        place: &Place,
        value: &Atom,
        negate: bool,
    ) -> Block {
        let mut out = Vec::new();
        let Some(v) = self.active_atom(value) else {
            return out;
        };
        let at = if place.is_var() {
            self.adj_read(place.root)
        } else {
            let dst = place.rebased(self.adj_var(place.root));
            self.assign(&mut out, Op::Load(dst), Ty::Float)
        };
        let c = if negate { self.neg(&mut out, at) } else { at };
        self.accumulate(&mut out, Place::var(self.adj_var(v)), c);
        out
    }

    /// Adds the adjoint `at` of a whole value that `v` contributed into `v`'s adjoint.
    fn add_whole(&mut self, out: &mut Block, v: VarId, at: &Atom, _from: VarId) {
        let ty = self.f.ty(v).clone();
        let dst = Place::var(self.adj_var(v));
        self.add_to_place(out, dst, at.clone(), &ty);
    }

    /// `dst += at` for a value of type `ty`: a scalar update, or an element-wise one.
    fn add_to_place(&mut self, out: &mut Block, dst: Place, at: Atom, ty: &Ty) {
        if *ty == Ty::Float {
            self.accumulate(out, dst, at);
        } else if let Atom::Var(a) = at {
            out.push(Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll {
                alpha: Atom::Float(1.0),
                x: Place::var(a),
                y: dst,
            })));
        }
    }

    /// Part `proj` of an adjoint value, read into a variable when it is a float.
    fn part_of(&mut self, out: &mut Block, at: &Atom, proj: Proj, v: VarId) -> Atom {
        let Atom::Var(a) = at else { return at.clone() };
        let mut p = Place::var(*a);
        p.path.push(proj);
        let ty = self.f.ty(v).derivative();
        self.assign(out, Op::Load(p), ty)
    }

    /// `target += value`.
    pub(super) fn accumulate(&mut self, out: &mut Block, target: Place, value: Atom) {
        out.push(Stmt::Accumulate {
            place: target,
            value,
            negate: false,
            span: span(),
        });
    }

    /// A fresh temporary holding `op`.
    pub(super) fn assign(&mut self, out: &mut Block, op: Op, ty: Ty) -> Atom {
        build::assign(&mut self.f, out, op, ty)
    }

    fn neg(&mut self, out: &mut Block, a: Atom) -> Atom {
        build::neg(&mut self.f, out, a)
    }

    /// The adjoint of a primitive: each active operand gets `adj * partial`.
    fn prim_adjoint(&mut self, out: &mut Block, p: Prim, args: &[Atom], target: VarId, at: Atom) {
        if *self.f.ty(target) != Ty::Float {
            return;
        }
        let actives: Vec<Option<VarId>> = args.iter().map(|a| self.active_atom(a)).collect();
        if actives.iter().all(Option::is_none) {
            return;
        }
        let wanted: Vec<bool> = actives.iter().map(Option::is_some).collect();
        let parts = build::partials(&mut self.f, out, p, args, &Atom::Var(target), &wanted);
        // An operand used twice (`a * a`) gets the sum of its partials, scaled once.
        let mut merged: Vec<(VarId, Atom)> = Vec::new();
        for (v, partial) in actives.into_iter().zip(parts) {
            let (Some(v), Some(partial)) = (v, partial) else {
                continue;
            };
            match merged.iter_mut().find(|(w, _)| *w == v) {
                Some((_, sum)) => *sum = build::add(&mut self.f, out, sum.clone(), partial),
                None => merged.push((v, partial)),
            }
        }
        for (v, partial) in merged {
            let c = build::scale(&mut self.f, out, at.clone(), partial, p.singular_at(args));
            self.accumulate(out, Place::var(self.adj_var(v)), c);
        }
    }

    /// The adjoint of a call: the callee's `_pullback` with this call's arguments, the
    /// result's adjoint as seed, and an adjoint buffer for each float argument.
    fn call_adjoint(&mut self, out: &mut Block, call: &Call, target: VarId, at: Atom) {
        let mut adj_args = Vec::new();
        let mut seen: HashSet<String> = HashSet::default();
        let mut after = Vec::new();
        for arg in &call.args {
            let ty = self.f.arg_ty(arg);
            if !ty.carries_derivative() {
                continue;
            }
            let place = match arg {
                Arg::Value(Atom::Var(v)) => Some(Place::var(*v)),
                Arg::Ref(p) | Arg::View(p, ..) => Some(p.clone()),
                _ => None,
            };
            let dst = place.filter(|p| self.is_active(p.root)).map(|p| {
                let adj = self.adj_var(p.root);
                let dst = p.rebased(adj);
                if matches!(self.f.ty(adj), Ty::MutRef(_)) && dst.path.is_empty() {
                    dst.deref()
                } else {
                    dst
                }
            });
            let a = match dst {
                Some(dst) if seen.insert(format!("{dst:?}")) => match arg {
                    Arg::View(_, lo, hi) => Arg::MutView(dst, lo.clone(), hi.clone()),
                    _ => Arg::MutRef(dst),
                },
                Some(dst) => {
                    // The same adjoint twice in one call: a scratch one, added afterwards.
                    let scratch = self.scratch(out, arg, &ty);
                    let y = match arg {
                        Arg::View(..) => {
                            return self.view_twice(out, call);
                        }
                        _ => dst,
                    };
                    after.push(Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll {
                        alpha: Atom::Float(1.0),
                        x: Place::var(scratch),
                        y,
                    })));
                    Arg::MutRef(Place::var(scratch))
                }
                None => {
                    let scratch = self.scratch(out, arg, &ty);
                    Arg::MutRef(Place::var(scratch))
                }
            };
            adj_args.push(a);
        }
        let seed = match self.f.ty(target) {
            Ty::Float => Arg::Value(at),
            _ => Arg::Seed(at),
        };
        let mut args = call.args.clone();
        args.push(seed);
        args.extend(adj_args);
        out.push(Stmt::Sweep(Sweep::Call {
            target: None,
            call: Call {
                callee: call.callee.companion("pullback"),
                args,
            },
        }));
        out.extend(after);
    }

    /// Two sub-slices of one array passed to one call: not supported yet (their adjoints
    /// would alias).
    fn view_twice(&mut self, _out: &mut Block, _call: &Call) {
        self.unsupported.push(
            "the same array is passed twice to one call, once as a sub-slice: pass a copy (`x[a..b].to_vec()`)".into(),
        );
    }

    /// A zeroed adjoint buffer shaped like an argument, for a pullback that must have one.
    fn scratch(&mut self, out: &mut Block, arg: &Arg, ty: &Ty) -> VarId {
        let v = self.made(Binder::Scratch, None, ty.derivative());
        let op = match arg {
            Arg::Value(a) => Op::ZeroLike(a.clone()),
            Arg::Ref(p) | Arg::MutRef(p) if p.is_var() => Op::ZeroLike(Atom::Var(p.root)),
            Arg::Ref(p) | Arg::MutRef(p) => {
                let t = self.assign(out, Op::Load(p.clone()), ty.clone());
                Op::ZeroLike(t)
            }
            Arg::View(_, lo, hi) | Arg::MutView(_, lo, hi) => {
                let lo = lo.clone().unwrap_or(Atom::Int(0));
                let hi = hi.clone().unwrap_or(Atom::Int(0));
                let sub = rules::binary("-").expect("sub");
                let n = self.assign(out, Op::Prim(sub, vec![hi, lo]), Ty::Int);
                Op::Repeat(Atom::Float(0.0), Count::Atom(n), SeqForm::Vec)
            }
            Arg::Seed(a) => Op::ZeroLike(a.clone()),
        };
        out.push(Stmt::Assign {
            target: v,
            op,
            span: span(),
        });
        v
    }
}
