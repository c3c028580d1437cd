//! Reverse mode (adjoints, VJP): a forward sweep that runs the function and keeps what the
//! reverse sweep will need, then a reverse sweep that propagates adjoints from the result
//! back to the inputs.
//!
//! The scheme is store-on-overwrite (as in Tapenade): before a statement overwrites a
//! variable whose value the reverse sweep reads, the old value is saved (in a scalar slot
//! outside loops, on a stack inside them) and restored when the reverse sweep passes that
//! statement. So at every point of the reverse sweep the variables hold exactly the values
//! they had at the same point of the forward sweep.
//!
//! Sum-reduction loops (`for i in a..b { ..; acc += term; }`, where the only state carried
//! across iterations is accumulators that are never read in the loop) need no storage at
//! all: the adjoint of an accumulator is the same in every iteration. Outside other loops,
//! with one active accumulator, such a loop is *fused*: each iteration runs its body and then
//! its body's reverse with a unit seed, summing the term's gradient into partial buffers
//! that the reverse sweep scales by the accumulator's adjoint: one pass over the data, what
//! a person writes by hand. Otherwise the reverse sweep runs the loop again, recomputing each
//! iteration's values just before propagating through them.

use crate::analysis::{self, walk};
use crate::ir::*;
use crate::{optimize, rules};
use std::collections::{HashMap, HashSet};

/// A save slot: a scalar local, or a stack (`Vec`) inside loops.
#[derive(Clone, Debug)]
pub struct Slot {
    /// The type of the saved values.
    pub ty: Ty,
    /// Whether it is a stack.
    pub stack: bool,
}

/// How the adjoints of array parameters are held.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ArrayAdjoints {
    /// Caller-provided buffers that start at zero (`NAME_grad_into`).
    Zeroed,
    /// Caller-provided buffers that already hold values we add to (`NAME_pullback`).
    Accumulating,
}

/// The output of the reverse transform.
pub struct ReverseCode {
    /// The forward sweep.
    pub fwd: Block,
    /// The reverse sweep (run after seeding the result's adjoint).
    pub rev: Block,
    /// The save slots used.
    pub slots: Vec<Slot>,
    /// The adjoint variable of each active variable.
    pub adj: HashMap<VarId, VarId>,
    /// The active variables.
    pub active: HashSet<VarId>,
}

/// Runs the reverse transform on `f` for the inputs `wrt`. New variables (adjoints, partial
/// buffers, counters) are added to `f`'s table.
pub fn transform(
    f: &mut Function,
    wrt: &[VarId],
    array_adjoints: ArrayAdjoints,
    reassociate: bool,
) -> ReverseCode {
    let active = analysis::active_vars(f, wrt);
    let writes = analysis::write_counts(f);
    let mut adj = HashMap::new();
    let mut ids: Vec<VarId> = active.iter().copied().collect();
    ids.sort();
    for v in ids {
        let info = f.var(v).clone();
        let a = f.add_var(
            format!("adj_{}", info.name),
            info.ty,
            info.span,
            Origin::Adjoint(v),
        );
        adj.insert(v, a);
    }
    let body = f.body.clone();
    let needed = needed_vars(f, &body, &active);
    let mut cx = Reverse {
        f,
        active,
        adj,
        needed,
        writes,
        slots: Vec::new(),
        redirect: HashMap::new(),
        suppress: HashSet::new(),
        claimed: HashSet::new(),
        array_adjoints,
        body: body.clone(),
        nesting: 0,
        reassociate,
    };
    let (fwd, rev) = cx.block(&body, false);
    ReverseCode {
        fwd,
        rev,
        slots: cx.slots,
        adj: cx.adj,
        active: cx.active,
    }
}

/// The variables whose values the reverse sweep reads: operands that partial derivatives
/// use, indices, conditions, loop bounds, call arguments, and everything a re-run
/// reduction loop reads from outside.
fn needed_vars(f: &Function, body: &Block, active: &HashSet<VarId>) -> HashSet<VarId> {
    let mut needed = HashSet::new();
    let var = |a: &Atom| match a {
        Atom::Var(v) => Some(*v),
        _ => None,
    };
    walk(body, &mut |s| match s {
        Stmt::Assign { target, op, .. } => match op {
            Op::Prim(p, args) if active.contains(target) => {
                for (i, a) in args.iter().enumerate() {
                    if rules::uses_operand(*p, i) {
                        needed.extend(var(a));
                    }
                }
                if rules::uses_output(*p) {
                    needed.insert(*target);
                }
            }
            Op::Index { index, .. } => {
                needed.extend(var(index));
            }
            Op::Call { args, .. } if active.contains(target) => {
                needed.extend(args.iter().filter_map(var));
            }
            Op::Copy(Atom::Var(src)) if f.var(*src).ty == Ty::FloatArray(ArrayKind::Vec) => {
                needed.insert(*src);
            }
            _ => {}
        },
        Stmt::Store { index, .. } => needed.extend(var(index)),
        Stmt::If { cond, .. } => needed.extend(var(cond)),
        Stmt::For {
            lo,
            hi,
            body: inner,
            ..
        } => {
            needed.extend(var(lo));
            needed.extend(var(hi));
            if reduction_accumulators(f, inner).is_some() {
                let local = analysis::block_writes(inner);
                needed.extend(
                    analysis::block_reads(inner)
                        .into_iter()
                        .filter(|v| !local.contains(v)),
                );
            }
        }
        _ => {}
    });
    needed
}

/// If the loop body is a sum-reduction, its accumulators: the variables it writes that live
/// outside it, each only through `+=`/`-=` and never read inside.
fn reduction_accumulators(f: &Function, body: &Block) -> Option<Vec<VarId>> {
    let counts = analysis::write_counts(f);
    let mut inside: HashMap<VarId, usize> = HashMap::new();
    let mut ok = true;
    walk(body, &mut |s| {
        if let Some(v) = analysis::stmt_writes(s) {
            *inside.entry(v).or_default() += 1;
        }
        if matches!(s, Stmt::While { .. }) {
            // A while loop inside is fine; it is paired within the iteration.
        }
    });
    let reads = analysis::block_reads(body);
    let mut accs = Vec::new();
    for (v, n) in inside {
        let carried = counts[v.0] > n;
        if !carried {
            continue;
        }
        if f.var(v).ty != Ty::Float || reads.contains(&v) {
            ok = false;
            continue;
        }
        let mut only_accumulate = true;
        walk(body, &mut |s| {
            if analysis::stmt_writes(s) == Some(v) && !matches!(s, Stmt::Accumulate { .. }) {
                only_accumulate = false;
            }
        });
        if !only_accumulate {
            ok = false;
        }
        accs.push(v);
    }
    accs.sort();
    ok.then_some(accs)
}

struct Reverse<'a> {
    f: &'a mut Function,
    active: HashSet<VarId>,
    adj: HashMap<VarId, VarId>,
    needed: HashSet<VarId>,
    writes: Vec<usize>,
    slots: Vec<Slot>,
    /// Adjoints replaced by partial buffers while generating a fused loop body.
    redirect: HashMap<VarId, VarId>,
    /// Accumulators of the reduction loop being generated: saved around the loop instead.
    suppress: HashSet<VarId>,
    /// Array-parameter adjoints already used as a fused loop's partial buffer.
    claimed: HashSet<VarId>,
    array_adjoints: ArrayAdjoints,
    body: Block,
    /// How many loops enclose the statement being generated.
    nesting: usize,
    /// Whether sums may be reassociated (dot products by the vectorised kernel).
    reassociate: bool,
}

fn b(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Reverse<'_> {
    fn is_active_atom(&self, a: &Atom) -> Option<VarId> {
        match a {
            Atom::Var(v) if self.active.contains(v) => Some(*v),
            _ => None,
        }
    }

    /// The adjoint variable of an active variable (or the partial buffer standing for it).
    fn adj_of(&self, v: VarId) -> VarId {
        if let Some(r) = self.redirect.get(&v) {
            return *r;
        }
        self.adj[&v]
    }

    fn new_slot(&mut self, ty: Ty, stack: bool) -> SlotId {
        self.slots.push(Slot { ty, stack });
        SlotId(self.slots.len() - 1)
    }

    fn needs_save(&self, v: VarId, in_loop: bool) -> bool {
        self.needed.contains(&v) && !self.suppress.contains(&v) && (in_loop || self.writes[v.0] > 1)
    }

    /// Saves `place` before an overwrite if needed; returns the (fwd, rev) statements.
    fn save(&mut self, var: VarId, place: Place, in_loop: bool) -> (Option<Stmt>, Option<Stmt>) {
        let elem = matches!(place, Place::Elem(..));
        let needed = if elem {
            self.needed.contains(&var) && !self.suppress.contains(&var)
        } else {
            self.needs_save(var, in_loop)
        };
        if !needed {
            return (None, None);
        }
        let ty = match (self.f.var(var).ty, elem) {
            (Ty::FloatArray(_), true) => Ty::Float,
            (Ty::IntArray(_), true) => Ty::Int,
            (t, _) => t,
        };
        let slot = self.new_slot(ty, in_loop);
        (
            Some(Stmt::Save {
                slot,
                place: place.clone(),
            }),
            Some(Stmt::Restore { slot, place }),
        )
    }

    fn block(&mut self, block: &Block, in_loop: bool) -> (Block, Block) {
        let mut fwd = Vec::new();
        let mut rev_parts = Vec::new();
        for s in block {
            let (f, r) = self.stmt(s, in_loop);
            fwd.extend(f);
            rev_parts.push(r);
        }
        let rev = rev_parts.into_iter().rev().flatten().collect();
        (fwd, rev)
    }

    /// `adj * partial`, simplified for unit partials and guarded where the rule is singular.
    fn scaled(adj: Expr, partial: Expr, guarded: bool) -> Expr {
        match partial {
            Expr::Atom(Atom::Float(1.0)) => adj,
            Expr::Atom(Atom::Float(-1.0)) => Expr::Neg(b(adj)),
            p if guarded => Expr::GuardedMul(b(adj), b(p)),
            p => Expr::Mul(b(adj), b(p)),
        }
    }

    fn stmt(&mut self, s: &Stmt, in_loop: bool) -> (Block, Block) {
        match s {
            Stmt::Assign { target, op, .. } => {
                let (save, restore) = self.save(*target, Place::Var(*target), in_loop);
                let mut fwd: Block = save.into_iter().collect();
                fwd.push(s.clone());
                let mut rev = Vec::new();
                if self.active.contains(target) {
                    let at = self.adj_of(*target);
                    if matches!(
                        op,
                        Op::Repeat { vec: true, .. } | Op::ArrayLit { vec: true, .. }
                    ) || (matches!(op, Op::Copy(_))
                        && self.f.var(*target).ty == Ty::FloatArray(ArrayKind::Vec))
                    {
                        fwd.push(Stmt::AllocLike {
                            target: at,
                            like: *target,
                        });
                    }
                    rev.extend(self.assign_adjoint(*target, at, op));
                    rev.push(Stmt::Zero(at));
                }
                rev.extend(restore);
                (fwd, rev)
            }
            Stmt::Accumulate {
                target,
                value,
                negate,
                ..
            } => {
                let (save, restore) = self.save(*target, Place::Var(*target), in_loop);
                let mut fwd: Block = save.into_iter().collect();
                fwd.push(s.clone());
                let mut rev = Vec::new();
                if let (true, Some(v)) = (self.active.contains(target), self.is_active_atom(value))
                {
                    let at = Expr::var(self.adj_of(*target));
                    let e = if *negate { Expr::Neg(b(at)) } else { at };
                    rev.push(Stmt::AddAssign {
                        target: Place::Var(self.adj_of(v)),
                        expr: e,
                    });
                }
                rev.extend(restore);
                (fwd, rev)
            }
            Stmt::Store {
                array,
                index,
                value,
                ..
            } => {
                let (save, restore) =
                    self.save(*array, Place::Elem(*array, index.clone()), in_loop);
                let mut fwd: Block = save.into_iter().collect();
                fwd.push(s.clone());
                let mut rev = Vec::new();
                if self.active.contains(array) {
                    let aa = self.adj_of(*array);
                    if let Some(v) = self.is_active_atom(value) {
                        rev.push(Stmt::AddAssign {
                            target: Place::Var(self.adj_of(v)),
                            expr: Expr::Index(aa, index.clone()),
                        });
                    }
                    rev.push(Stmt::Set {
                        target: Place::Elem(aa, index.clone()),
                        expr: Expr::float(0.0),
                    });
                }
                rev.extend(restore);
                (fwd, rev)
            }
            Stmt::If { cond, then, els } => {
                let (ft, rt) = self.block(then, in_loop);
                let (fe, re) = self.block(els, in_loop);
                let fwd = vec![Stmt::If {
                    cond: cond.clone(),
                    then: ft,
                    els: fe,
                }];
                let rev = if rt.is_empty() && re.is_empty() {
                    Vec::new()
                } else {
                    vec![Stmt::If {
                        cond: cond.clone(),
                        then: rt,
                        els: re,
                    }]
                };
                (fwd, rev)
            }
            Stmt::For {
                var,
                lo,
                hi,
                rev: backwards,
                body,
            } => {
                if let Some(accs) = reduction_accumulators(self.f, body) {
                    return self.reduction(s, *var, lo, hi, *backwards, body, &accs, in_loop);
                }
                self.nesting += 1;
                let (fb, rb) = self.block(body, true);
                self.nesting -= 1;
                let fwd = vec![Stmt::For {
                    var: *var,
                    lo: lo.clone(),
                    hi: hi.clone(),
                    rev: *backwards,
                    body: fb,
                }];
                let rev = if rb.is_empty() {
                    Vec::new()
                } else {
                    vec![Stmt::For {
                        var: *var,
                        lo: lo.clone(),
                        hi: hi.clone(),
                        rev: !*backwards,
                        body: rb,
                    }]
                };
                (fwd, rev)
            }
            Stmt::While {
                cond_block,
                cond,
                body,
            } => {
                self.nesting += 1;
                let (mut fb, rb) = self.block(body, true);
                self.nesting -= 1;
                if rb.is_empty() {
                    return (
                        vec![Stmt::While {
                            cond_block: cond_block.clone(),
                            cond: cond.clone(),
                            body: fb,
                        }],
                        Vec::new(),
                    );
                }
                let span = proc_macro2::Span::call_site();
                let count = self.f.add_var(
                    format!("trips{}", self.slots.len()),
                    Ty::Int,
                    span,
                    Origin::Aux,
                );
                fb.push(Stmt::Assign {
                    target: count,
                    op: Op::Int(IntOp::Add, vec![Atom::Var(count), Atom::Int(1)]),
                    span,
                });
                let slot = self.new_slot(Ty::Int, in_loop);
                let fwd = vec![
                    Stmt::Assign {
                        target: count,
                        op: Op::Copy(Atom::Int(0)),
                        span,
                    },
                    Stmt::While {
                        cond_block: cond_block.clone(),
                        cond: cond.clone(),
                        body: fb,
                    },
                    Stmt::Save {
                        slot,
                        place: Place::Var(count),
                    },
                ];
                let k = self.f.add_var(
                    format!("trip{}", self.slots.len()),
                    Ty::Int,
                    span,
                    Origin::Aux,
                );
                let rev = vec![
                    Stmt::Restore {
                        slot,
                        place: Place::Var(count),
                    },
                    Stmt::For {
                        var: k,
                        lo: Atom::Int(0),
                        hi: Atom::Var(count),
                        rev: false,
                        body: rb,
                    },
                ];
                (fwd, rev)
            }
            other => (vec![other.clone()], Vec::new()),
        }
    }

    /// The reverse-sweep statements for `target = op` (before `target`'s adjoint is zeroed).
    fn assign_adjoint(&mut self, target: VarId, at: VarId, op: &Op) -> Block {
        let mut rev = Vec::new();
        let tty = self.f.var(target).ty;
        match op {
            Op::Copy(a) => {
                if let Some(v) = self.is_active_atom(a) {
                    let av = self.adj_of(v);
                    if tty.is_array() {
                        rev.push(Stmt::Axpy {
                            target: av,
                            scale: Expr::float(1.0),
                            source: Some(at),
                        });
                    } else {
                        rev.push(Stmt::AddAssign {
                            target: Place::Var(av),
                            expr: Expr::var(at),
                        });
                    }
                }
            }
            Op::Prim(p, args) => {
                let arg_exprs: Vec<Expr> = args.iter().map(Expr::atom).collect();
                let partials = rules::partials(*p, &arg_exprs, &Expr::var(target));
                for (a, partial) in args.iter().zip(partials.wrt) {
                    if let (Some(v), Some(partial)) = (self.is_active_atom(a), partial) {
                        rev.push(Stmt::AddAssign {
                            target: Place::Var(self.adj_of(v)),
                            expr: Self::scaled(Expr::var(at), partial, partials.singular),
                        });
                    }
                }
            }
            Op::Index { array, index } => {
                if self.active.contains(array) {
                    rev.push(Stmt::AddAssign {
                        target: Place::Elem(self.adj_of(*array), index.clone()),
                        expr: Expr::var(at),
                    });
                }
            }
            Op::ArrayLit { elems, .. } => {
                for (k, e) in elems.iter().enumerate() {
                    if let Some(v) = self.is_active_atom(e) {
                        rev.push(Stmt::AddAssign {
                            target: Place::Var(self.adj_of(v)),
                            expr: Expr::Index(at, Atom::Int(k as i64)),
                        });
                    }
                }
            }
            Op::Repeat { value, .. } => {
                if let Some(v) = self.is_active_atom(value) {
                    rev.push(Stmt::AddAssign {
                        target: Place::Var(self.adj_of(v)),
                        expr: Expr::Sum(at),
                    });
                }
            }
            Op::Call { func, args, refs } => {
                // `g(x, x)`: each position gets its own `&mut` adjoint; a repeated one goes
                // through a zeroed scratch adjoint added into the shared one afterwards.
                let mut adjoints = Vec::new();
                let mut seen = HashSet::new();
                let mut after = Vec::new();
                let mut before = Vec::new();
                let float_args: Vec<Atom> = args
                    .iter()
                    .filter(|a| self.atom_is_float(a))
                    .cloned()
                    .collect();
                for a in &float_args {
                    let Some(v) = self.is_active_atom(a) else {
                        adjoints.push(None);
                        continue;
                    };
                    let adj = self.adj_of(v);
                    if seen.insert(adj) {
                        adjoints.push(Some(adj));
                        continue;
                    }
                    let info = self.f.var(v).clone();
                    let ty = match info.ty {
                        Ty::FloatArray(ArrayKind::Slice) => Ty::FloatArray(ArrayKind::Vec),
                        t => t,
                    };
                    let span = proc_macro2::Span::call_site();
                    let scratch =
                        self.f
                            .add_var(format!("adj_{}_again", info.name), ty, span, Origin::Aux);
                    before.push(match ty {
                        Ty::FloatArray(ArrayKind::Vec) => Stmt::AllocLike {
                            target: scratch,
                            like: v,
                        },
                        _ => Stmt::Zero(scratch),
                    });
                    after.push(Stmt::Axpy {
                        target: adj,
                        scale: Expr::float(1.0),
                        source: Some(scratch),
                    });
                    adjoints.push(Some(scratch));
                }
                rev.extend(before);
                rev.push(Stmt::PullbackCall {
                    func: func.clone(),
                    args: args.clone(),
                    refs: refs.clone(),
                    seed: at,
                    adjoints,
                });
                rev.extend(after);
            }
            Op::Int(..)
            | Op::Cmp(..)
            | Op::Bool(..)
            | Op::Cast { .. }
            | Op::Len(_)
            | Op::Const(_) => {}
        }
        rev
    }

    fn atom_is_float(&self, a: &Atom) -> bool {
        match a {
            Atom::Var(v) => self.f.var(*v).ty.is_float(),
            Atom::Float(_) => true,
            _ => false,
        }
    }

    /// A sum-reduction loop: fused when it is outside other loops and has one active
    /// accumulator whose partial buffers need no allocation; re-run in reverse otherwise.
    #[allow(clippy::too_many_arguments)]
    fn reduction(
        &mut self,
        s: &Stmt,
        var: VarId,
        lo: &Atom,
        hi: &Atom,
        backwards: bool,
        body: &Block,
        accs: &[VarId],
        in_loop: bool,
    ) -> (Block, Block) {
        let span = proc_macro2::Span::call_site();
        let active_accs: Vec<VarId> = accs
            .iter()
            .copied()
            .filter(|a| self.active.contains(a))
            .collect();
        // Accumulators are saved once around the loop rather than at every update.
        let mut fwd = Vec::new();
        let mut restores = Vec::new();
        for &a in accs {
            if self.needed.contains(&a) && !self.suppress.contains(&a) {
                let slot = self.new_slot(Ty::Float, in_loop);
                fwd.push(Stmt::Save {
                    slot,
                    place: Place::Var(a),
                });
                restores.push(Stmt::Restore {
                    slot,
                    place: Place::Var(a),
                });
            }
        }
        let saved_suppress = self.suppress.clone();
        self.suppress.extend(accs.iter().copied());

        // Fused only where the loop runs at most once, so partial buffers start at zero.
        let fused = self.nesting == 0 && active_accs.len() == 1 && self.redirect.is_empty();
        let partials = if fused {
            self.partial_buffers(s, body, active_accs[0])
        } else {
            None
        };
        let mut rev = Vec::new();
        if let Some(partials) = partials {
            let acc = active_accs[0];
            let one = self.f.add_var(
                format!("unit_seed{}", self.slots.len()),
                Ty::Float,
                span,
                Origin::Aux,
            );
            fwd.push(Stmt::Set {
                target: Place::Var(one),
                expr: Expr::float(1.0),
            });
            for (_, buffer, reuse) in &partials {
                if !reuse {
                    fwd.push(Stmt::Zero(*buffer));
                }
            }
            let saved_redirect = std::mem::take(&mut self.redirect);
            self.redirect.insert(acc, one);
            for (v, buffer, reuse) in &partials {
                if !reuse {
                    self.redirect.insert(*v, *buffer);
                }
            }
            self.nesting += 1;
            let (fb, rb) = self.block(body, false);
            self.nesting -= 1;
            self.redirect = saved_redirect;
            let mut fused_body = fb;
            fused_body.extend(rb);
            fwd.push(Stmt::For {
                var,
                lo: lo.clone(),
                hi: hi.clone(),
                rev: backwards,
                body: fused_body,
            });
            let scale = Expr::var(self.adj_of(acc));
            for (v, buffer, reuse) in partials {
                let target = self.adj_of(v);
                if reuse {
                    rev.push(Stmt::Axpy {
                        target,
                        scale: scale.clone(),
                        source: None,
                    });
                } else {
                    rev.push(Stmt::Axpy {
                        target,
                        scale: scale.clone(),
                        source: Some(buffer),
                    });
                }
            }
        } else {
            let dot = optimize::dot_product(self.f, s).filter(|_| self.reassociate);
            if let Some(dot) = dot {
                // `acc += a[oa + j] * b[ob + j]`: its reverse in closed form, two axpys.
                rev.extend(self.dot_adjoint(&dot));
                fwd.extend(dot);
                self.suppress = saved_suppress;
                rev.extend(restores);
                return (fwd, rev);
            }
            fwd.push(s.clone());
            self.nesting += 1;
            let (fb, rb) = self.block(body, false);
            self.nesting -= 1;
            if !rb.is_empty() {
                let live: HashSet<VarId> = rb.iter().flat_map(optimize::stmt_all_reads).collect();
                let mut recompute = optimize::dead_code(strip_accumulators(&fb, accs), &live);
                recompute.extend(rb);
                rev.push(Stmt::For {
                    var,
                    lo: lo.clone(),
                    hi: hi.clone(),
                    rev: backwards,
                    body: recompute,
                });
            }
        }
        self.suppress = saved_suppress;
        rev.extend(restores);
        (fwd, rev)
    }

    /// The reverse of a dot-product reduction (the offsets it needs, then
    /// `adj_a[oa + j] += adj_acc * b[ob + j]` and the same for `b`) as axpy kernels.
    fn dot_adjoint(&self, dot: &Block) -> Block {
        let Some((
            Stmt::Dot {
                acc,
                negate,
                a,
                a_off,
                b,
                b_off,
                lo,
                hi,
            },
            prefix,
        )) = dot.split_last()
        else {
            return Vec::new();
        };
        if !self.active.contains(acc) {
            return Vec::new();
        }
        let alpha = if *negate {
            Expr::Neg(Box::new(Expr::var(self.adj_of(*acc))))
        } else {
            Expr::var(self.adj_of(*acc))
        };
        let mut out: Block = prefix.to_vec();
        for (x, x_off, y, y_off) in [(b, b_off, a, a_off), (a, a_off, b, b_off)] {
            if self.active.contains(y) {
                out.push(Stmt::AxpySlice {
                    alpha: alpha.clone(),
                    x: *x,
                    x_off: x_off.clone(),
                    y: self.adj_of(*y),
                    y_off: y_off.clone(),
                    lo: lo.clone(),
                    hi: hi.clone(),
                });
            }
        }
        out
    }

    /// The partial buffers of a fused loop: for each active variable from outside that the
    /// body reads, a fresh buffer, or the variable's own adjoint buffer (`true`) when that is
    /// an array parameter's zeroed buffer no one else touches. `None` when a buffer would need
    /// an allocation.
    fn partial_buffers(
        &mut self,
        s: &Stmt,
        body: &Block,
        acc: VarId,
    ) -> Option<Vec<(VarId, VarId, bool)>> {
        let local = analysis::block_writes(body);
        let mut free: Vec<VarId> = analysis::block_reads(body)
            .into_iter()
            .filter(|v| self.active.contains(v) && !local.contains(v) && *v != acc)
            .collect();
        free.sort();
        let mut out = Vec::new();
        for v in free {
            let info = self.f.var(v).clone();
            match info.ty {
                Ty::Float | Ty::FloatArray(ArrayKind::Fixed(_)) => {
                    let buf = self.f.add_var(
                        format!("partial_{}", info.name),
                        info.ty,
                        info.span,
                        Origin::Aux,
                    );
                    out.push((v, buf, false));
                }
                Ty::FloatArray(_) => {
                    let reusable = info.origin == Origin::Param
                        && self.array_adjoints == ArrayAdjoints::Zeroed
                        && !self.claimed.contains(&v)
                        && !self.read_outside(v, s);
                    if !reusable {
                        return None;
                    }
                    self.claimed.insert(v);
                    out.push((v, self.adj_of(v), true));
                }
                _ => {}
            }
        }
        Some(out)
    }

    /// Whether `v` is read anywhere in the function outside the loop statement `lp`.
    fn read_outside(&self, v: VarId, lp: &Stmt) -> bool {
        let count = |block: &Block| {
            let mut n = 0usize;
            walk(block, &mut |st| {
                if analysis::stmt_reads(st).contains(&v) {
                    n += 1;
                }
            });
            n
        };
        let inside = match lp {
            Stmt::For { body, .. } => count(body),
            _ => 0,
        };
        count(&self.body) > inside
    }
}

/// A loop body's forward sweep without the accumulator updates: what the reverse sweep
/// re-runs to recompute an iteration's values.
fn strip_accumulators(block: &Block, accs: &[VarId]) -> Block {
    block
        .iter()
        .filter(|s| !matches!(s, Stmt::Accumulate { target, .. } if accs.contains(target)))
        .map(|s| match s {
            Stmt::If { cond, then, els } => Stmt::If {
                cond: cond.clone(),
                then: strip_accumulators(then, accs),
                els: strip_accumulators(els, accs),
            },
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
            } => Stmt::For {
                var: *var,
                lo: lo.clone(),
                hi: hi.clone(),
                rev: *rev,
                body: strip_accumulators(body, accs),
            },
            Stmt::While {
                cond_block,
                cond,
                body,
            } => Stmt::While {
                cond_block: cond_block.clone(),
                cond: cond.clone(),
                body: strip_accumulators(body, accs),
            },
            other => other.clone(),
        })
        .collect()
}
