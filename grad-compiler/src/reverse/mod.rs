//! Reverse mode (adjoints, VJP): a forward sweep that runs the function and keeps what the
//! reverse sweep will need, then a reverse sweep that carries adjoints from the result back
//! to the inputs.
//!
//! Store-on-overwrite, as Tapenade: before a statement overwrites a value the reverse sweep
//! reads, the old value is saved (in a local outside loops, on a stack inside them) and
//! restored when the reverse sweep passes that statement, so the reverse sweep always sees
//! the values of the forward sweep at the same point. What it reads is found by generating
//! it once without saves (`save`). The adjoint of each statement comes from `adjoint`;
//! sum-reduction loops need no storage and are fused or re-run (`reduction`); values a loop
//! iteration can compute again are recomputed rather than stacked (`recompute`).

mod adjoint;
mod recompute;
mod reduction;
mod save;

use crate::analysis::{activity, loops};
use crate::hash::{HashMap, HashSet};
use crate::ir::*;
use crate::names::Binder;
use crate::shape::Ty;
use crate::visit;

/// What to differentiate and how the outputs are held.
pub struct Plan {
    /// The parameters to differentiate.
    pub wrt: Vec<VarId>,
    /// Adjoint buffers given by the caller for non-scalar parameters: used in place.
    pub buffers: HashMap<VarId, VarId>,
    /// Whether those buffers hold zeros at the start (a gradient), so that a fused loop may
    /// accumulate into them directly; else they hold values to add to (a pullback).
    pub zeroed: bool,
    /// How sums may be added up.
    pub sums: Sums,
}

/// How a companion may add up the sums of the function it differentiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sums {
    /// In the order written (`strict`): the companions' value is exactly the function's.
    AsWritten,
    /// Reassociated where it pays: dot products by the runtime's kernels (the default).
    Reassociated,
    /// Reassociated, and each fused loop over samples in chunks on several threads
    /// (`parallel`).
    Parallel,
}

impl Sums {
    /// What the options ask for.
    pub fn of(options: &crate::options::Options) -> Sums {
        if options.strict {
            Sums::AsWritten
        } else if options.parallel {
            Sums::Parallel
        } else {
            Sums::Reassociated
        }
    }
}

/// The result of the transform.
pub struct Reversed {
    /// The function's variables, extended with adjoints, saves and counters.
    pub func: Function,
    /// The forward sweep.
    pub fwd: Block,
    /// The reverse sweep, to run after the result's adjoint is seeded.
    pub rev: Block,
    /// The adjoint of each active variable (buffers included).
    pub adj: HashMap<VarId, VarId>,
    /// Which variables are active.
    pub active: Vec<bool>,
    /// What could not be differentiated (errors to report).
    pub unsupported: Vec<String>,
    /// Buffers a fused loop writes into directly (they must start at zero).
    pub claimed: HashSet<VarId>,
}

/// Runs the transform on `orig`.
pub fn reverse(orig: &Function, plan: &Plan) -> Reversed {
    let active = activity::active(orig, &plan.wrt);
    // A run without saves finds what the reverse sweep reads; the next saves those values
    // (and is run again should its restores read more).
    let mut needed: Option<HashSet<VarId>> = None;
    let mut loop_reads = HashMap::default();
    for run in 0.. {
        let mut cx = Reverse::new(orig, plan, active.clone(), needed.clone());
        // Which saves a write needs depends on what the loops around it read, known from
        // the previous run; should that not settle, every needed value is saved.
        cx.prior_loop_reads = (run < 8).then(|| std::mem::take(&mut loop_reads));
        let (fwd, rev) = cx.block(&orig.body);
        let mut reads: HashSet<VarId> = visit::block_reads(&rev).into_iter().collect();
        reads.extend(cx.recompute_reads.iter().copied());
        reads.retain(|v| v.index() < orig.vars.len());
        let settled = cx.prior_loop_reads.as_ref() == Some(&cx.loop_reads) || run >= 8;
        let done = needed.as_ref().is_some_and(|n| reads.is_subset(n)) && settled;
        loop_reads = std::mem::take(&mut cx.loop_reads);
        if done {
            return Reversed {
                func: cx.f,
                fwd,
                rev,
                adj: cx.adj,
                active,
                unsupported: cx.unsupported,
                claimed: cx.claimed,
            };
        }
        let mut all = needed.unwrap_or_default();
        all.extend(reads);
        needed = Some(all);
    }
    unreachable!("the loop returns")
}

/// The variable an assignment writes.
fn assigned(s: &Stmt) -> Option<VarId> {
    match s {
        Stmt::Assign { target, .. } => Some(*target),
        _ => None,
    }
}

/// The transform's state.
pub(crate) struct Reverse<'a> {
    pub orig: &'a Function,
    pub plan: &'a Plan,
    /// The function being built: `orig`'s variables and the new ones.
    pub f: Function,
    pub active: Vec<bool>,
    pub adj: HashMap<VarId, VarId>,
    /// Adjoints read as another atom (a fused loop's accumulator reads as `1.0`).
    pub redirect_read: HashMap<VarId, Atom>,
    /// Adjoints accumulated elsewhere (a fused loop's partial buffers).
    pub redirect_write: HashMap<VarId, VarId>,
    /// What the reverse sweep reads; `None` in the dry run (no saves).
    pub needed: Option<HashSet<VarId>>,
    /// Variables that may hold a value before the statement being transformed.
    pub defined: HashSet<VarId>,
    /// Enclosing loops whose iterations the reverse sweep replays (saves go on stacks).
    pub loop_depth: usize,
    /// Enclosing loops of any kind.
    pub nesting: usize,
    /// How many statements write each original variable.
    pub writes: Vec<usize>,
    /// Array parameters whose buffer a fused loop already uses as its partial buffer.
    pub claimed: HashSet<VarId>,
    /// Variables read by the forward statements a re-run loop recomputes.
    pub recompute_reads: HashSet<VarId>,
    /// Accumulators of the reduction being transformed: saved around it, not per update.
    pub suppress: HashSet<VarId>,
    /// Constructs found that this transform cannot differentiate (reported as errors).
    pub unsupported: Vec<String>,
    /// Set while transforming a `while` condition, whose values the reverse sweep never
    /// reads: no saves there.
    pub no_saves: bool,
    /// Original variables the reverse of some statement already transformed reads, those
    /// of the whole bodies of the loops around included: a write needs a save only if its
    /// old value is read there (the reverse of what ran before it).
    pub read_before: HashSet<VarId>,
    /// What the reverse of each loop body (keyed by its address in `orig`) reads.
    pub loop_reads: HashMap<usize, HashSet<VarId>>,
    /// The same, from the previous run (`None`: save whatever is needed).
    pub prior_loop_reads: Option<HashMap<usize, HashSet<VarId>>>,
}

impl<'a> Reverse<'a> {
    fn new(
        orig: &'a Function,
        plan: &'a Plan,
        active: Vec<bool>,
        needed: Option<HashSet<VarId>>,
    ) -> Self {
        let mut f = orig.clone();
        f.body = Vec::new();
        let mut adj = HashMap::default();
        for (i, is_active) in active.iter().enumerate() {
            let v = VarId(i as u32);
            if !is_active {
                continue;
            }
            if let Some(b) = plan.buffers.get(&v) {
                adj.insert(v, *b);
                continue;
            }
            let var = orig.var(v);
            let a = f.add_var(
                Binder::Adjoint.name(&var.name),
                var.ty.derivative(),
                var.span,
                Origin::Made(Binder::Adjoint, Some(v)),
            );
            adj.insert(v, a);
        }
        let mut defined: HashSet<VarId> = orig.params.iter().map(|p| p.var).collect();
        defined.extend(plan.buffers.values().copied());
        Reverse {
            orig,
            plan,
            f,
            active,
            adj,
            redirect_read: HashMap::default(),
            redirect_write: HashMap::default(),
            needed,
            defined,
            loop_depth: 0,
            nesting: 0,
            writes: visit::write_counts(&orig.body, orig.vars.len()),
            claimed: HashSet::default(),
            recompute_reads: HashSet::default(),
            suppress: HashSet::default(),
            unsupported: Vec::new(),
            no_saves: false,
            read_before: HashSet::default(),
            loop_reads: HashMap::default(),
            prior_loop_reads: None,
        }
    }

    /// Notes what a statement's reverse reads (original variables only).
    fn note_reads(&mut self, rev: &Block) {
        let n = self.orig.vars.len();
        self.read_before.extend(
            visit::block_reads(rev)
                .into_iter()
                .filter(|v| v.index() < n),
        );
    }

    /// Entering the body of a loop whose iterations the reverse replays: whatever its
    /// reverse reads may be read before any of its writes (an earlier iteration).
    fn enter_loop_body(&mut self, body: &Block) {
        let key = body as *const Block as usize;
        match self.prior_loop_reads.as_ref().and_then(|m| m.get(&key)) {
            Some(reads) => self.read_before.extend(reads.iter().copied()),
            // No knowledge: every needed value counts as read.
            None => {
                let needed = self.needed.clone().unwrap_or_default();
                self.read_before.extend(needed);
            }
        }
    }

    /// Records what the reverse of a loop body reads, for the next run.
    fn leave_loop_body(&mut self, body: &Block, rev: &Block) {
        let n = self.orig.vars.len();
        let reads = visit::block_reads(rev)
            .into_iter()
            .filter(|v| v.index() < n);
        self.loop_reads
            .entry(body as *const Block as usize)
            .or_default()
            .extend(reads);
    }

    /// Whether a variable is active.
    pub fn is_active(&self, v: VarId) -> bool {
        self.active.get(v.index()).copied().unwrap_or(false)
    }

    /// The active variable in an atom.
    pub fn active_atom(&self, a: &Atom) -> Option<VarId> {
        a.var().filter(|v| self.is_active(*v))
    }

    /// The adjoint of `v` as a value.
    pub fn adj_read(&self, v: VarId) -> Atom {
        match self.redirect_read.get(&v) {
            Some(a) => a.clone(),
            None => Atom::Var(self.adj_var(v)),
        }
    }

    /// The variable `v`'s adjoint is accumulated into.
    pub fn adj_var(&self, v: VarId) -> VarId {
        match self.redirect_write.get(&v) {
            Some(b) => *b,
            None => self.adj[&v],
        }
    }

    /// A new temporary of a known type.
    pub fn temp(&mut self, ty: Ty) -> VarId {
        self.f
            .add_var("", ty, proc_macro2::Span::call_site(), Origin::Temp)
    }

    /// A new variable named after a binder.
    pub fn made(&mut self, binder: Binder, of: Option<VarId>, ty: Ty) -> VarId {
        let (name, span) = match of {
            Some(v) => (binder.name(&self.f.var(v).name), self.f.var(v).span),
            None => (binder.name(""), proc_macro2::Span::call_site()),
        };
        self.f.add_var(name, ty, span, Origin::Made(binder, of))
    }

    /// Transforms a block: its forward sweep and its reverse sweep.
    pub fn block(&mut self, b: &'a Block) -> (Block, Block) {
        let mut fwd = Vec::new();
        let mut revs = Vec::new();
        for s in b {
            let (f, r) = self.stmt(s);
            self.note_reads(&r);
            fwd.extend(f);
            revs.push(r);
        }
        (fwd, revs.into_iter().rev().flatten().collect())
    }

    fn stmt(&mut self, s: &'a Stmt) -> (Block, Block) {
        match s {
            Stmt::Assign { target, op, .. } => {
                let (save, restore) = self.save_before(Place::var(*target));
                let mut fwd = save;
                fwd.push(s.clone());
                if self.needs_alloc(*target) {
                    fwd.extend(self.alloc_adjoint(*target));
                }
                let mut rev = Vec::new();
                if self.is_active(*target) {
                    rev = if visit::op_reads(op).contains(target) {
                        self.self_assign_adjoint(*target, op)
                    } else {
                        let mut r = self.assign_adjoint(*target, op);
                        if self.reset_needed(*target) {
                            r.push(self.zero(*target));
                        }
                        r
                    };
                }
                self.defined.insert(*target);
                rev.extend(restore);
                (fwd, rev)
            }
            Stmt::Store { place, value, .. } => {
                let (save, restore) = self.save_before(place.clone());
                let mut fwd = save;
                fwd.push(s.clone());
                let mut rev = Vec::new();
                if self.is_active(place.root) {
                    rev = self.store_adjoint(place, value);
                }
                rev.extend(restore);
                (fwd, rev)
            }
            Stmt::Accumulate {
                place,
                value,
                negate,
                ..
            } => {
                let (save, restore) = if self.suppress.contains(&place.root) {
                    (Vec::new(), Vec::new())
                } else {
                    self.save_before(place.clone())
                };
                let mut fwd = save;
                fwd.push(s.clone());
                let mut rev = Vec::new();
                if self.is_active(place.root) {
                    rev = self.accumulate_adjoint(place, value, *negate);
                }
                rev.extend(restore);
                (fwd, rev)
            }
            Stmt::If { cond, then, els } => {
                let before = self.defined.clone();
                let (ft, rt) = self.block(then);
                let after_then = std::mem::replace(&mut self.defined, before);
                let (fe, re) = self.block(els);
                self.defined.extend(after_then);
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
            Stmt::For { body, .. } => match loops::classify(self.orig, body, &self.orig.body) {
                loops::LoopKind::Reduction { accs } => self.reduction(s, &accs),
                loops::LoopKind::General => self.general_for(s),
            },
            Stmt::While { .. } => self.while_loop(s),
            Stmt::Sweep(_) => (vec![s.clone()], Vec::new()),
        }
    }

    /// The adjoint of `v = op(.., v, ..)`: the new value's adjoint is taken, the adjoint
    /// reset, and then the old value's share added (`v = v` does nothing).
    fn self_assign_adjoint(&mut self, v: VarId, op: &Op) -> Block {
        if *op == Op::Use(Atom::Var(v)) {
            return Vec::new();
        }
        let ty = self.f.ty(self.adj_var(v)).clone();
        let taken = self.temp(ty);
        let mut out = vec![
            Stmt::Assign {
                target: taken,
                op: Op::Use(self.adj_read(v)),
                span: proc_macro2::Span::call_site(),
            },
            self.zero(v),
        ];
        let before = self.redirect_read.insert(v, Atom::Var(taken));
        out.extend(self.assign_adjoint(v, op));
        match before {
            Some(a) => self.redirect_read.insert(v, a),
            None => self.redirect_read.remove(&v),
        };
        out
    }

    /// Whether `v`'s adjoint must be set back to zero once its assignment is reversed: an
    /// earlier value of `v` (an earlier write, or an earlier iteration) has an adjoint too.
    fn reset_needed(&self, v: VarId) -> bool {
        // A parameter holds a value before the body's first write.
        let param = self.orig.params.iter().any(|p| p.var == v) as usize;
        self.writes.get(v.index()).copied().unwrap_or(0) + param > 1 || self.nesting > 0
    }

    /// Whether a variable's adjoint has a shape only known once the variable exists.
    fn needs_alloc(&self, v: VarId) -> bool {
        self.is_active(v)
            && !self.plan.buffers.contains_key(&v)
            && !matches!(
                self.f.ty(v),
                Ty::Float | Ty::Seq(crate::shape::SeqKind::Array(_), _)
            )
    }

    /// `adj_v = zero_like(v)`, right after `v` is made (in the forward sweep).
    fn alloc_adjoint(&mut self, v: VarId) -> Block {
        if !self.is_active(v) || self.plan.buffers.contains_key(&v) {
            return Vec::new();
        }
        vec![Stmt::Assign {
            target: self.adj[&v],
            op: Op::ZeroLike(Atom::Var(v)),
            span: proc_macro2::Span::call_site(),
        }]
    }

    /// Sets the adjoint of `v` to zero.
    fn zero(&mut self, v: VarId) -> Stmt {
        let a = self.adj_var(v);
        crate::build::zero_all(&self.f, a)
    }

    /// The forward and reverse blocks of a loop's body, one iteration each. Values each
    /// iteration can compute again (`recompute`) are not stacked: the reverse iteration
    /// starts by recomputing what it reads of them.
    fn loop_body(&mut self, body: &'a Block) -> (Block, Block) {
        let recompute = recompute::recomputable(self.orig, body, &self.writes);
        let saved_suppress = self.suppress.clone();
        self.suppress.extend(recompute.iter().filter_map(assigned));
        self.loop_depth += 1;
        self.nesting += 1;
        self.enter_loop_body(body);
        let (fb, mut rb) = self.block(body);
        self.leave_loop_body(body, &rb);
        self.nesting -= 1;
        self.loop_depth -= 1;
        self.suppress = saved_suppress;
        if !rb.is_empty() {
            let pre = recompute::needed_by(recompute, &rb);
            self.recompute_reads.extend(visit::block_reads(&pre));
            // The recomputed values get variables of their own in the reverse loop.
            let mut fresh = HashMap::default();
            for v in pre.iter().filter_map(assigned) {
                let copy = self.f.var(v).clone();
                fresh.insert(
                    v,
                    self.f.add_var(copy.name, copy.ty, copy.span, copy.origin),
                );
            }
            let mut body = pre;
            body.append(&mut rb);
            rb = visit::renamed(body, &fresh);
        }
        (fb, rb)
    }

    /// A general `for` loop: each iteration's saves go on stacks; the reverse sweep runs
    /// the iterations backwards.
    fn general_for(&mut self, s: &'a Stmt) -> (Block, Block) {
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
        self.defined.extend(visit::block_writes(body));
        self.defined.insert(*var);
        let (fb, rb) = self.loop_body(body);
        let fwd = vec![Stmt::For {
            var: *var,
            lo: lo.clone(),
            hi: hi.clone(),
            rev: *rev,
            body: fb,
            chunked: None,
        }];
        let rev_loop = if rb.is_empty() {
            Vec::new()
        } else {
            vec![Stmt::For {
                var: *var,
                lo: lo.clone(),
                hi: hi.clone(),
                rev: !*rev,
                body: rb,
                chunked: None,
            }]
        };
        (fwd, rev_loop)
    }

    /// A `while` loop: its trip count is kept; the reverse sweep replays that many
    /// iterations backwards, recomputing as a `for` loop's does what each iteration
    /// computes from values the loop does not change.
    fn while_loop(&mut self, s: &'a Stmt) -> (Block, Block) {
        let Stmt::While {
            cond_block,
            cond,
            body,
        } = s
        else {
            unreachable!("a while loop")
        };
        self.defined.extend(visit::block_writes(body));
        self.defined.extend(visit::block_writes(cond_block));
        self.loop_depth += 1;
        self.nesting += 1;
        self.no_saves = true;
        let (cb, _) = self.block(cond_block);
        self.no_saves = false;
        self.nesting -= 1;
        self.loop_depth -= 1;
        let (mut fb, rb) = self.loop_body(body);
        if rb.is_empty() {
            return (
                vec![Stmt::While {
                    cond_block: cb,
                    cond: cond.clone(),
                    body: fb,
                }],
                Vec::new(),
            );
        }
        let span = proc_macro2::Span::call_site();
        let trips = self.made(Binder::Trips, None, Ty::Int);
        fb.push(Stmt::Accumulate {
            place: Place::var(trips),
            value: Atom::Int(1),
            negate: false,
            span,
        });
        let mut fwd = vec![
            Stmt::Assign {
                target: trips,
                op: Op::Use(Atom::Int(0)),
                span,
            },
            Stmt::While {
                cond_block: cb,
                cond: cond.clone(),
                body: fb,
            },
        ];
        let mut rev = Vec::new();
        if self.loop_depth > 0 {
            let stack = self.made(Binder::Stack, Some(trips), Ty::Stack(Box::new(Ty::Int)));
            fwd.push(Stmt::Sweep(Sweep::Push {
                stack,
                value: Atom::Var(trips),
            }));
            rev.push(Stmt::Sweep(Sweep::Pop {
                stack,
                place: Place::var(trips),
            }));
        }
        let trip = self.made(Binder::Trip, None, Ty::Int);
        rev.push(Stmt::For {
            var: trip,
            lo: Atom::Int(0),
            hi: Atom::Var(trips),
            rev: false,
            body: rb,
            chunked: None,
        });
        (fwd, rev)
    }
}
