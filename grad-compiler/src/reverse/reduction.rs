//! Sum-reduction loops: no storage, one pass where possible.
//!
//! `for i in a..b { ..; acc += term; }` carries no state but its accumulators, whose adjoint
//! is the same in every iteration. Three ways to reverse it, best first:
//! - a dot product `acc += x[i + c] * y[i + d]` runs as the runtime's `dot` kernel and its
//!   reverse as two `axpy` kernels (when sums may be reassociated);
//! - outside other loops, with one active accumulator, the loop is *fused*: each iteration
//!   runs its body and then the body's reverse with a unit seed, summing the term's
//!   gradient into partial buffers (or straight into the caller's zeroed gradient buffer)
//!   that the reverse sweep scales by the accumulator's adjoint: one pass over the data;
//! - otherwise the reverse sweep runs the loop again, recomputing each iteration's values
//!   just before carrying the adjoints through them. A loop of a few iterations fixed by
//!   the source (`for e in [a, b, c]`) always does: rustc unrolls both loops, where a
//!   kernel or partial buffers would cost more than the few products.

use super::Reverse;
use crate::analysis::loops;
use crate::hash::HashSet;
use crate::ir::*;
use crate::names::Binder;
use crate::rules;
use crate::shape::{SeqKind, Ty};
use crate::visit;

fn span() -> proc_macro2::Span {
    proc_macro2::Span::call_site()
}

impl<'a> Reverse<'a> {
    /// A sum-reduction loop `s` over the accumulators `accs`.
    pub(super) fn reduction(&mut self, s: &'a Stmt, accs: &[VarId]) -> (Block, Block) {
        let Stmt::For {
            var,
            lo,
            hi,
            rev,
            body,
            ..
        } = s
        else {
            unreachable!("a for loop")
        };
        // Accumulators are saved once around the loop, not at each update.
        let mut fwd = Vec::new();
        let mut restores = Vec::new();
        for &a in accs {
            let (save, restore) = self.save_before(Place::var(a));
            fwd.extend(save);
            restores.extend(restore);
        }
        let saved_suppress = self.suppress.clone();
        self.suppress.extend(accs.iter().copied());
        let active_accs: Vec<VarId> = accs
            .iter()
            .copied()
            .filter(|a| self.is_active(*a))
            .collect();

        let few = loops::literal_trip_count(self.orig, lo, hi)
            .is_some_and(|n| n <= loops::FEW_ITERATIONS);
        let rev_part = if few {
            self.rerun(s, accs, &mut fwd)
        } else if let Some(dot) =
            loops::dot_product(self.orig, s).filter(|_| self.plan.sums != super::Sums::AsWritten)
        {
            let (f, r) = self.dot(&dot);
            fwd.extend(f);
            r
        } else if self.nesting == 0 && active_accs.len() == 1 && self.redirect_write.is_empty() {
            match self.partial_buffers(s, body, active_accs[0]) {
                Some(buffers) => {
                    let (f, r) = self.fused(s, accs, active_accs[0], buffers);
                    fwd.extend(f);
                    r
                }
                None => self.rerun(s, accs, &mut fwd),
            }
        } else {
            self.rerun(s, accs, &mut fwd)
        };
        let _ = (var, rev);
        self.suppress = saved_suppress;
        self.defined.extend(accs.iter().copied());
        let mut rev_block = rev_part;
        rev_block.extend(restores);
        (fwd, rev_block)
    }

    /// The loop as written in the forward sweep; in the reverse sweep, again, recomputing
    /// what each iteration's reverse reads.
    fn rerun(&mut self, s: &'a Stmt, accs: &[VarId], fwd: &mut Block) -> Block {
        let Stmt::For {
            var,
            lo,
            hi,
            rev,
            body,
            ..
        } = s
        else {
            unreachable!("a for loop")
        };
        fwd.push(s.clone());
        let before = self.defined.clone();
        self.nesting += 1;
        let (fb, rb) = self.block(body);
        self.nesting -= 1;
        self.defined = before;
        self.defined.extend(visit::block_writes(body));
        if rb.is_empty() {
            return Vec::new();
        }
        let local: HashSet<VarId> = visit::block_writes(&fb).into_iter().collect();
        let recompute = prune(strip_accumulators(fb, accs), &rb, &local);
        // What the re-run reads, noted before its locals are renamed below: the values
        // an inner loop overwrites are saved because of these reads.
        self.recompute_reads.extend(visit::block_reads(&recompute));
        self.recompute_reads.extend(visit::block_reads(&rb));
        let mut b = recompute;
        b.extend(rb);
        // The recomputation has variables of its own (what the forward loop computed is
        // gone by then), so each loop's locals live in that loop.
        let mut fresh = crate::hash::HashMap::default();
        for v in visit::block_writes(&b) {
            let carried = accs.contains(&v) || !local.contains(&v) || *var == v;
            if !carried && v.index() < self.orig.vars.len() && !fresh.contains_key(&v) {
                let copy = self.f.var(v).clone();
                let w = self.f.add_var(copy.name, copy.ty, copy.span, copy.origin);
                fresh.insert(v, w);
            }
        }
        let b = visit::renamed(b, &fresh);

        vec![Stmt::For {
            var: *var,
            lo: lo.clone(),
            hi: hi.clone(),
            rev: *rev,
            body: b,
            chunked: None,
        }]
    }

    /// One pass: each iteration's body, then its reverse with a unit seed into partial
    /// buffers; the reverse sweep scales them by the accumulator's adjoint.
    fn fused(
        &mut self,
        s: &'a Stmt,
        accs: &[VarId],
        acc: VarId,
        buffers: Vec<(VarId, VarId, bool)>,
    ) -> (Block, Block) {
        let Stmt::For {
            var,
            lo,
            hi,
            rev,
            body,
            ..
        } = s
        else {
            unreachable!("a for loop")
        };
        let mut fwd = Vec::new();
        for (v, buf, reuse) in &buffers {
            if !reuse {
                let op = if *self.f.ty(*v) == Ty::Float {
                    Op::Use(Atom::Float(0.0))
                } else {
                    Op::ZeroLike(Atom::Var(*v))
                };
                fwd.push(Stmt::Assign {
                    target: *buf,
                    op,
                    span: span(),
                });
            }
        }
        self.redirect_read.insert(acc, Atom::Float(1.0));
        for (v, buf, _) in &buffers {
            self.redirect_write.insert(*v, *buf);
        }
        // Within an iteration the reverse follows the forward at once: nothing of an
        // earlier iteration needs keeping.
        let before = self.defined.clone();
        self.nesting += 1;
        let (fb, rb) = self.block(body);
        self.nesting -= 1;
        self.defined = before;
        // The body's reverse runs in the forward sweep: what it reads is needed as much as
        // what the reverse sweep reads (values inner loops overwrite are saved for it).
        self.recompute_reads.extend(visit::block_reads(&rb));
        self.redirect_read.remove(&acc);
        for (v, _, _) in &buffers {
            self.redirect_write.remove(v);
        }
        let mut b = fb;
        b.extend(rb);
        let mut sums: Vec<VarId> = accs.to_vec();
        sums.extend(buffers.iter().map(|(_, buf, _)| *buf));
        let shared: Vec<VarId> = buffers.iter().map(|(_, buf, _)| *buf).collect();
        let chunked = (self.plan.sums == super::Sums::Parallel
            && buffers.iter().all(|(_, _, reuse)| !reuse)
            && !per_sample(&b, *var, &shared))
        .then(|| self.chunked(&sums));
        fwd.push(Stmt::For {
            var: *var,
            lo: lo.clone(),
            hi: hi.clone(),
            rev: *rev,
            body: b,
            chunked,
        });
        let scale = self.adj_read(acc);
        let mut revb = Vec::new();
        for (v, buf, reuse) in buffers {
            let target = Place::var(self.adj_var(v));
            if reuse {
                revb.push(Stmt::Sweep(Sweep::Kernel(Kernel::ScaleAll {
                    alpha: scale.clone(),
                    y: target,
                })));
            } else if *self.f.ty(v) == Ty::Float {
                // A zero partial stays zero even if the accumulator's adjoint is infinite
                // (a loop that ran no iteration, then a division by its count).
                let scaled = rules::prim("scaled").expect("the table has it");
                let t = self.assign(
                    &mut revb,
                    Op::Prim(scaled, vec![Atom::Var(buf), scale.clone()]),
                    Ty::Float,
                );
                self.accumulate(&mut revb, target, t);
            } else {
                revb.push(Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll {
                    alpha: scale.clone(),
                    x: Place::var(buf),
                    y: target,
                })));
            }
        }
        (fwd, revb)
    }

    /// The chunk variables of a loop over the sums `sums` run in chunks.
    fn chunked(&mut self, sums: &[VarId]) -> Box<Chunked> {
        let start = self.made(Binder::ChunkStart, None, Ty::Int);
        let end = self.made(Binder::ChunkEnd, None, Ty::Int);
        let sums = sums
            .iter()
            .map(|&v| {
                let ty = self.f.ty(v).clone();
                (v, self.made(Binder::Part, Some(v), ty))
            })
            .collect();
        Box::new(Chunked { start, end, sums })
    }

    /// The partial buffer of each active variable the body reads from outside: a new local,
    /// or the caller's zeroed gradient buffer itself (`true`) when nothing else touches it.
    /// `None` when a buffer would need an allocation per call that the re-run avoids.
    fn partial_buffers(
        &mut self,
        s: &Stmt,
        body: &Block,
        acc: VarId,
    ) -> Option<Vec<(VarId, VarId, bool)>> {
        let local: HashSet<VarId> = visit::block_writes(body).into_iter().collect();
        let mut free: Vec<VarId> = visit::block_reads(body)
            .into_iter()
            .filter(|v| self.is_active(*v) && !local.contains(v) && *v != acc)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        free.sort();
        let mut out = Vec::new();
        for v in free {
            let ty = self.f.ty(v).clone();
            // Chunks sum into buffers of their own.
            let reusable = self.plan.buffers.contains_key(&v)
                && self.plan.zeroed
                && self.plan.sums != super::Sums::Parallel
                && !self.claimed.contains(&v)
                && !read_outside(&self.orig.body, s, v);
            if reusable {
                self.claimed.insert(v);
                out.push((v, self.adj[&v], true));
                continue;
            }
            match ty {
                Ty::Float | Ty::Seq(SeqKind::Array(_), _) => {}
                _ if self.plan.zeroed && self.plan.sums != super::Sums::Parallel => return None,
                _ => {}
            }
            let buf = self.made(Binder::Partial, Some(v), ty.derivative());
            out.push((v, buf, false));
        }
        Some(out)
    }

    /// `acc += dot(..)` in the forward sweep; two `axpy`s in the reverse sweep.
    fn dot(&mut self, d: &loops::DotProduct) -> (Block, Block) {
        // The offsets, computed before the loop (kept for the reverse sweep like any value).
        let mut fwd = Vec::new();
        let mut restores = Vec::new();
        for s in &d.prelude {
            if let Stmt::Assign { target, .. } = s {
                let (save, restore) = self.save_before(Place::var(*target));
                fwd.extend(save);
                restores.extend(restore);
                self.defined.insert(*target);
            }
            fwd.push(s.clone());
        }
        let start = |cx: &mut Self, out: &mut Block, off: &Atom| -> Atom {
            match (&d.lo, off) {
                (Atom::Int(0), o) => o.clone(),
                (lo, Atom::Int(0)) => lo.clone(),
                (lo, o) => {
                    let add = rules::binary("+").expect("add");
                    cx.assign(out, Op::Prim(add, vec![o.clone(), lo.clone()]), Ty::Int)
                }
            }
        };
        let sa = start(self, &mut fwd, &d.a.1);
        let sb = start(self, &mut fwd, &d.b.1);
        let len = match &d.lo {
            Atom::Int(0) => d.hi.clone(),
            lo => {
                let sub = rules::binary("-").expect("sub");
                self.assign(
                    &mut fwd,
                    Op::Prim(sub, vec![d.hi.clone(), lo.clone()]),
                    Ty::Int,
                )
            }
        };
        let a = Run {
            place: d.a.0.clone(),
            start: sa,
        };
        let b = Run {
            place: d.b.0.clone(),
            start: sb,
        };
        fwd.push(Stmt::Sweep(Sweep::Kernel(Kernel::Dot {
            acc: Place::var(d.acc),
            negate: d.negate,
            a: a.clone(),
            b: b.clone(),
            len: len.clone(),
        })));
        let mut rev = Vec::new();
        if !self.is_active(d.acc) {
            rev.extend(restores.into_iter().rev());
            return (fwd, rev);
        }
        let mut alpha = self.adj_read(d.acc);
        if d.negate {
            let neg = rules::prim("neg").expect("neg");
            alpha = self.assign(&mut rev, Op::Prim(neg, vec![alpha]), Ty::Float);
        }
        for (x, y) in [(&b, &a), (&a, &b)] {
            if self.is_active(y.place.root) {
                let target = Run {
                    place: y.place.rebased(self.adj_var(y.place.root)),
                    start: y.start.clone(),
                };
                rev.push(Stmt::Sweep(Sweep::Kernel(Kernel::Axpy {
                    alpha: alpha.clone(),
                    x: x.clone(),
                    y: target,
                    len: len.clone(),
                })));
            }
        }
        rev.extend(restores.into_iter().rev());
        (fwd, rev)
    }
}

/// Whether a derivative of `v` flows anywhere in `whole` outside the loop statement `lp`
/// (reading its length or indexing with it does not count).
fn read_outside(whole: &Block, lp: &Stmt, v: VarId) -> bool {
    let mut found = false;
    fn walk_skip(b: &Block, lp: &Stmt, v: VarId, found: &mut bool) {
        for s in b {
            if std::ptr::eq(s, lp) {
                continue;
            }
            if crate::analysis::activity::flows(s)
                .iter()
                .any(|(from, _)| *from == v)
            {
                *found = true;
            }

            for c in visit::children(s) {
                walk_skip(c, lp, v, found);
            }
        }
    }
    walk_skip(whole, lp, v, &mut found);
    found
}

/// Whether the body writes one of the partial buffers `bufs` at a place that depends on
/// the loop variable `var` (the gradient of per-sample data, `partial_x[i]`): each chunk
/// would then need a buffer as large as the data, so such a loop runs on one thread.
fn per_sample(b: &Block, var: VarId, bufs: &[VarId]) -> bool {
    let mut dep: HashSet<VarId> = [var].into_iter().collect();
    crate::analysis::activity::fixpoint(b, &mut |s| match s {
        Stmt::Assign { target, op, .. } if visit::op_reads(op).iter().any(|v| dep.contains(v)) => {
            dep.insert(*target)
        }
        _ => false,
    });
    let mut found = false;
    visit::walk(b, &mut |s| {
        let mut at: Vec<&Atom> = Vec::new();
        match s {
            Stmt::Store { place: p, .. } | Stmt::Accumulate { place: p, .. } => {
                buffer_indices(p, [], bufs, &mut at)
            }
            Stmt::Sweep(Sweep::Kernel(k)) => match k {
                Kernel::Axpy { y, .. } => buffer_indices(&y.place, [&y.start], bufs, &mut at),
                Kernel::Dot { acc: y, .. }
                | Kernel::AxpyAll { y, .. }
                | Kernel::ScaleAll { y, .. }
                | Kernel::ZeroAll { y }
                | Kernel::SetUnit { y, .. }
                | Kernel::WriteRow { out: y, .. } => buffer_indices(y, [], bufs, &mut at),
                Kernel::SumAll { .. } | Kernel::Along { .. } => {}
            },
            Stmt::Sweep(Sweep::Call { call, .. }) => {
                for a in &call.args {
                    match a {
                        Arg::MutRef(p) => buffer_indices(p, [], bufs, &mut at),
                        Arg::MutView(p, lo, hi) => {
                            buffer_indices(p, lo.iter().chain(hi), bufs, &mut at)
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        found |= at
            .iter()
            .any(|a| matches!(a, Atom::Var(v) if dep.contains(v)));
    });
    found
}

/// When `p` is in one of the buffers `bufs`: its indices, and `more` (a written run's
/// bounds), go into `at`.
fn buffer_indices<'a>(
    p: &'a Place,
    more: impl IntoIterator<Item = &'a Atom>,
    bufs: &[VarId],
    at: &mut Vec<&'a Atom>,
) {
    if !bufs.contains(&p.root) {
        return;
    }
    for proj in &p.path {
        if let Proj::Index(a) = proj {
            at.push(a);
        }
    }
    at.extend(more);
}

/// A loop body's forward sweep without the accumulator updates.
fn strip_accumulators(block: Block, accs: &[VarId]) -> Block {
    visit::map(block, &mut |s| match &s {
        Stmt::Accumulate { place, .. } if place.is_var() && accs.contains(&place.root) => {
            Vec::new()
        }
        _ => vec![s],
    })
}

/// Keeps only the recomputation that `uses` (and the kept statements) read.
fn prune(mut recompute: Block, uses: &Block, local: &HashSet<VarId>) -> Block {
    loop {
        let mut read: HashSet<VarId> = visit::block_reads(uses).into_iter().collect();
        read.extend(visit::block_reads(&recompute));
        let mut removed = false;
        recompute = visit::map(recompute, &mut |s| match &s {
            Stmt::Assign { target, op, .. }
                if local.contains(target)
                    && !read.contains(target)
                    && !matches!(op, Op::Call(_)) =>
            {
                removed = true;
                Vec::new()
            }
            _ => vec![s],
        });
        if !removed {
            return recompute;
        }
    }
}
