//! Readability passes over a finished companion, each preserving its meaning: what a person
//! would not write is taken out before printing (rustc would optimise most of it away; a
//! reader should not have to).
//!
//! - `v = 0; .. v += e` (nothing reading `v` between) becomes `v = e`;
//! - operations of literals are folded, `x * 1` is `x`, `if true { a } else { b }` is `a`;
//! - the same pure operation computed twice in a block is computed once;
//! - a copy `c = s` is replaced by `s` where `s` does not change while `c` is used;
//! - `t = op; .. c = t` with `t` used only there becomes `c = op`;
//! - a store to a block's own variable that nothing reads afterwards is dropped;
//! - updates of elements (`g[i] += e`) go last in their block, in the order of the loads they
//!   belong to (`g[i]` before `g[i + 1]`), as a person writes them: the reverse sweep emits
//!   them last load first, and an update of `g[i + 1]` just before `g[i]`'s, read again as
//!   `g[i]` in the next iteration, costs a store-to-load stall (3.5 x on slice Rosenbrock).

use crate::hash::HashMap;
use crate::ir::*;
use crate::rules::Types;
use crate::shape::Ty;
use crate::visit::{self, Deep};

/// Runs every pass until none changes anything (a few rounds at most). Like terms
/// (`terms.rs`, the costliest pass) are combined once the others have settled, and the
/// others run again only if that changed something.
pub fn tidy(f: &mut Function) {
    for _ in 0..6 {
        let mut changed = fuse_zero_then_add(&mut f.body, &f.vars);
        changed |= fold_constants(&mut f.body, f.vars.len());
        changed |= common_subexpressions(&mut f.body, f.vars.len(), &cse_candidate);
        let counts = Counts::of(f);
        changed |= propagate_copies(f, &counts);
        let counts = Counts::of(f);
        changed |= dead_stores(&mut f.body, &counts);
        changed |= coalesce(f);
        if !changed {
            changed = crate::terms::combine_like_terms(f);
        }
        crate::cleanup::remove_dead_assignments(f);
        if !changed {
            break;
        }
    }
    order_element_updates(&mut f.body);
}

/// How often each variable is written and mentioned, and which are untouchable.
pub(crate) struct Counts {
    /// How many statements write each variable.
    pub(crate) writes: Vec<usize>,
    /// How many statements mention each variable (the results once more).
    pub(crate) mentions: Vec<usize>,
    /// Parameters and results keep their names.
    fixed: Vec<bool>,
    /// Used as the root of a place (`c[i]`).
    roots: Vec<bool>,
}

impl Counts {
    /// The counts over `f`'s body.
    pub(crate) fn of(f: &Function) -> Counts {
        let n = f.vars.len();
        let mut c = Counts {
            writes: vec![0; n],
            mentions: vec![0; n],
            fixed: vec![false; n],
            roots: vec![false; n],
        };
        for p in &f.params {
            c.fixed[p.var.index()] = true;
        }
        for r in &f.returns {
            c.fixed[r.index()] = true;
            c.mentions[r.index()] += 1;
        }
        let mut e = visit::Effects::default();
        let mut seen: Vec<VarId> = Vec::new();
        visit::walk(&f.body, &mut |s| {
            visit::effects_into(s, &mut e);
            for w in &e.writes {
                c.writes[w.var.index()] += 1;
            }
            seen.clear();
            seen.extend_from_slice(&e.reads);
            seen.extend(e.writes.iter().map(|w| w.var));
            seen.sort_unstable();
            seen.dedup();
            for &v in &seen {
                c.mentions[v.index()] += 1;
            }
            for p in visit::places(s) {
                c.roots[p.root.index()] = true;
            }
        });
        c
    }
}

/// Element updates (`g[i] += e`) sink to the end of their block, past statements that do
/// not mention `g` or write what the update reads, ordered by where their indices are made
/// (`g[i]` before `g[i + 1]`, as the forward sweep loads them). Updates of one element then
/// add in another order: the gradient may change in the last bits, never more.
fn order_element_updates(b: &mut Block) {
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            order_element_updates(c);
        }
    }
    let deep = Deep::of_block(b);
    let is_update = |s: &Stmt| {
        matches!(s, Stmt::Accumulate { place, .. }
            if place.path.iter().any(|p| matches!(p, Proj::Index(_))))
    };
    let mut sink = vec![false; b.len()];
    for i in (0..b.len()).rev() {
        if !is_update(&b[i]) {
            continue;
        }
        let Stmt::Accumulate { place, .. } = &b[i] else {
            continue;
        };
        let root = place.root;
        let reads = &deep[i].reads;
        sink[i] = (i + 1..b.len()).all(|j| {
            sink[j] || (!deep[j].mentions(root) && !reads.iter().any(|v| deep[j].writes(*v)))
        });
    }
    if !sink.iter().any(|s| *s) {
        return;
    }
    // Where each variable is assigned in this block (before it: defined outside, first).
    let mut defined_at: HashMap<VarId, usize> = HashMap::default();
    for (k, s) in b.iter().enumerate() {
        if let Stmt::Assign { target, .. } = s {
            defined_at.entry(*target).or_insert(k + 1);
        }
    }
    let position = |s: &Stmt| match s {
        Stmt::Accumulate { place, .. } => place
            .path
            .iter()
            .filter_map(|p| match p {
                Proj::Index(Atom::Var(v)) => Some(defined_at.get(v).copied().unwrap_or(0)),
                _ => None,
            })
            .max()
            .unwrap_or(0),
        _ => 0,
    };
    let mut kept = Vec::with_capacity(b.len());
    let mut sunk = Vec::new();
    for (s, down) in std::mem::take(b).into_iter().zip(sink) {
        if down {
            sunk.push(s);
        } else {
            kept.push(s);
        }
    }
    sunk.sort_by_key(|s| position(s));
    kept.extend(sunk);
    *b = kept;
}

/// `v = 0; .. v += e` as `v = e`.
fn fuse_zero_then_add(b: &mut Block, vars: &[Var]) -> bool {
    let mut changed = false;
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            changed |= fuse_zero_then_add(c, vars);
        }
    }
    let mut deep = Deep::of_block(b);
    let mut i = 0;
    while i < b.len() {
        let zeroed = match &b[i] {
            Stmt::Assign {
                target,
                op: Op::Use(Atom::Float(z)) | Op::Repeat(Atom::Float(z), _, _),
                ..
            } if *z == 0.0 => Some(*target),
            Stmt::Assign {
                target,
                op: Op::ZeroLike(_),
                ..
            } => Some(*target),
            _ => None,
        };
        if let Some(v) = zeroed {
            let next = (i + 1..b.len()).find(|&j| deep[j].mentions(v));
            if let Some(j) = next {
                // A whole value of fixed shape: `v = 0 (all); v += 1 * w (all)` is `v = w`.
                if let Some(w) = copied_whole(&b[j], v, vars) {
                    b[j] = Stmt::Assign {
                        target: v,
                        op: Op::Use(Atom::Var(w)),
                        span: proc_macro2::Span::call_site(),
                    };
                    deep[j] = Deep::of(&b[j]);
                    b.remove(i);
                    deep.remove(i);
                    changed = true;
                    continue;
                }
                if let Stmt::Accumulate {
                    place,
                    value,
                    negate: false,
                    span,
                } = &b[j]
                {
                    if place.is_var() && place.root == v && value.var() != Some(v) {
                        b[j] = Stmt::Assign {
                            target: v,
                            op: Op::Use(value.clone()),
                            span: *span,
                        };
                        deep[j] = Deep::of(&b[j]);
                        b.remove(i);
                        deep.remove(i);
                        changed = true;
                        continue;
                    }
                }
            }
        }
        i += 1;
    }
    changed
}

/// `w` when `s` is `v += 1 * w (all)` with `w` a whole variable of `v`'s own fixed-size
/// type (an array of floats): after `v = 0 (all)`, a copy.
fn copied_whole(s: &Stmt, v: VarId, vars: &[Var]) -> Option<VarId> {
    let Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll {
        alpha: Atom::Float(one),
        x,
        y,
    })) = s
    else {
        return None;
    };
    let ty = &vars[v.index()].ty;
    let same = x.is_var() && y.is_var() && y.root == v && x.root != v;
    (*one == 1.0 && same && vars[x.root.index()].ty == *ty && *ty != Ty::Float && ty.fixed_size())
        .then_some(x.root)
}

/// Operations of literals, products by one, selections on a known condition.
fn fold_constants(b: &mut Block, vars: usize) -> bool {
    let mut changed = false;
    // An indicator `t = if c { 1 } else { 0 }` times `a` is `if c { a } else { 0 }`, when
    // nothing else writes `t` or `c` (an adjoint starting as an indicator and accumulated
    // into afterwards is not one).
    let writes = visit::write_counts(b, vars);
    let once = |a: &Atom| match a.var() {
        Some(v) => writes[v.index()] == 1,
        None => true,
    };
    let mut indicators: HashMap<VarId, Atom> = HashMap::default();
    visit::walk(b, &mut |s| {
        if let Stmt::Assign {
            target,
            op: Op::Select(c, Atom::Float(one), Atom::Float(zero)),
            ..
        } = s
        {
            if *one == 1.0 && *zero == 0.0 && writes[target.index()] == 1 && once(c) {
                indicators.insert(*target, c.clone());
            }
        }
    });
    visit::walk_mut(b, &mut |s| {
        if let Stmt::Assign { op, .. } = s {
            if let Some(folded) = fold(op) {
                *op = folded;
                changed = true;
            } else if let Op::Prim(p, args) = op {
                if p.rule().name == "mul" && args.len() == 2 {
                    let pick = |k: usize| args[k].var().and_then(|v| indicators.get(&v).cloned());
                    let hit = pick(1).map(|c| (c, 0)).or_else(|| pick(0).map(|c| (c, 1)));
                    if let Some((c, other)) = hit {
                        *op = Op::Select(c, args[other].clone(), Atom::Float(0.0));
                        changed = true;
                    }
                }
            }
        }
        if let Stmt::Sweep(Sweep::Kernel(Kernel::ScaleAll {
            alpha: Atom::Float(a),
            ..
        })) = s
        {
            if *a == 1.0 {
                // Scaling by one: nothing (an `if` with no branches, removed below).
                *s = Stmt::If {
                    cond: Atom::Bool(false),
                    then: Vec::new(),
                    els: Vec::new(),
                };
                changed = true;
            }
        }
    });
    changed
}

fn fold(op: &Op) -> Option<Op> {
    let lit = |a: &Atom| match a {
        Atom::Float(x) => Some(*x),
        _ => None,
    };
    match op {
        Op::Prim(p, args) => {
            let rule = p.rule();
            if rule.types != Types::Int && !args.is_empty() && args.iter().all(|a| lit(a).is_some())
            {
                let xs: Vec<f64> = args.iter().filter_map(lit).collect();
                let v = (rule.eval)(&xs);
                return v.is_finite().then_some(Op::Use(Atom::Float(v)));
            }
            match (rule.name, args.as_slice()) {
                ("mul" | "scaled", [a, b]) if lit(b) == Some(1.0) => Some(Op::Use(a.clone())),
                ("mul" | "scaled", [a, b]) if lit(a) == Some(1.0) => Some(Op::Use(b.clone())),
                ("div", [a, b]) if lit(b) == Some(1.0) => Some(Op::Use(a.clone())),
                _ => None,
            }
        }
        Op::Select(Atom::Bool(c), a, b) => Some(Op::Use(if *c { a.clone() } else { b.clone() })),
        Op::Select(c, Atom::Bool(true), Atom::Bool(false)) => Some(Op::Use(c.clone())),
        Op::Select(_, a, b) if a == b => Some(Op::Use(a.clone())),
        Op::Cmp(c, a, b) => {
            let (x, y) = (lit(a)?, lit(b)?);
            Some(Op::Use(Atom::Bool(c.holds(x, y))))
        }
        Op::Not(Atom::Bool(c)) => Some(Op::Use(Atom::Bool(!c))),
        _ => None,
    }
}

/// Before the transforms: an element loaded twice in a block (`x[i]` read by two
/// expressions) is loaded once, so that its adjoint is summed in one local and added into
/// the element once (`grad_x[i] += ..` once per iteration, not once per use).
pub fn share_loads(f: &mut Function) {
    common_subexpressions(&mut f.body, f.vars.len(), &|op| {
        matches!(op, Op::Load(_) | Op::Len(_))
    });
}

/// The same pure operation (one `candidate` accepts) twice in a block, with nothing it reads
/// written between: the second is a copy of the first.
fn common_subexpressions(b: &mut Block, vars: usize, candidate: &impl Fn(&Op) -> bool) -> bool {
    let mut changed = false;
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            changed |= common_subexpressions(c, vars, candidate);
        }
    }
    // Each operation available: its result and what it reads. Operations compare
    // structurally, and then by their printing, so that literals equal as numbers but not
    // in bits (`0.0` and `-0.0`) stay apart.
    let mut seen: Vec<(Op, VarId, Vec<VarId>)> = Vec::new();
    let same = |a: &Op, b: &Op| a == b && format!("{a:?}") == format!("{b:?}");
    let mut e = visit::Effects::default();
    let mut written: Vec<VarId> = Vec::new();
    // Every variable an entry of `seen` holds or reads (entries gone included): a write of
    // none of them keeps every entry.
    let mut held = vec![false; vars];
    for s in b.iter_mut() {
        written.clear();
        visit::walk(std::slice::from_ref(s), &mut |st| {
            visit::effects_into(st, &mut e);
            written.extend(e.writes.iter().map(|x| x.var));
        });
        if let Stmt::Assign { target, op, .. } = s {
            if candidate(op) {
                if let Some((_, first, _)) = seen.iter().find(|(o, _, _)| same(o, op)) {
                    if *first != *target {
                        *op = Op::Use(Atom::Var(*first));
                        changed = true;
                    }
                } else {
                    let reads = visit::op_reads(op);
                    if !reads.contains(target) {
                        forget_written(&mut seen, &written, &held);
                        held[target.index()] = true;
                        for r in &reads {
                            held[r.index()] = true;
                        }
                        seen.push((op.clone(), *target, reads));
                        continue;
                    }
                }
            }
        }
        forget_written(&mut seen, &written, &held);
    }
    changed
}

/// Drops the available operations whose result or operands `written` overwrites.
fn forget_written(seen: &mut Vec<(Op, VarId, Vec<VarId>)>, written: &[VarId], held: &[bool]) {
    if written.iter().any(|w| held[w.index()]) {
        seen.retain(|(_, v, r)| !written.contains(v) && !r.iter().any(|x| written.contains(x)));
    }
}

fn cse_candidate(op: &Op) -> bool {
    matches!(
        op,
        Op::Load(_) | Op::Prim(..) | Op::Cmp(..) | Op::Len(_) | Op::Cast(..) | Op::Not(_)
    )
}

/// Copies `c = s` of scalars replaced by `s`, in the block where `c` lives, when `s` is a
/// literal or is not written again there.
fn propagate_copies(f: &mut Function, counts: &Counts) -> bool {
    let scalar: Vec<bool> = f
        .vars
        .iter()
        .map(|v| matches!(v.ty, Ty::Float | Ty::Int | Ty::Bool))
        .collect();
    let mut roots = counts.roots.clone();
    propagate_in(&mut f.body, counts, &mut roots, &scalar)
}

/// `roots` starts as `counts.roots` and follows the renaming: a copy `c = s` replaced by `s`
/// makes `s` the root of `c`'s places, so a literal can no longer replace `s`.
fn propagate_in(b: &mut Block, counts: &Counts, roots: &mut [bool], scalar: &[bool]) -> bool {
    let mut changed = false;
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            changed |= propagate_in(c, counts, roots, scalar);
        }
    }
    let mut deep = Deep::of_block(b);
    // What the statements from the one at hand on mention and write, kept as statements go.
    let mut ahead = Ahead::new(counts.mentions.len());
    for d in &deep {
        ahead.add(d);
    }
    let mut i = 0;
    while i < b.len() {
        let copy = match &b[i] {
            Stmt::Assign {
                target: c,
                op: Op::Use(src),
                ..
            } => Some((*c, src.clone())),
            _ => None,
        };
        let ok = copy.as_ref().is_some_and(|(c, src)| {
            !counts.fixed[c.index()]
                && scalar[c.index()]
                && counts.writes[c.index()] == 1
                && ahead.mentioned[c.index()] == counts.mentions[c.index()]
                && match src {
                    Atom::Var(s) => {
                        let written_later =
                            ahead.written[s.index()] - usize::from(deep[i].writes(*s));
                        *s != *c && scalar[s.index()] && written_later == 0
                    }
                    _ => !roots[c.index()],
                }
        });
        let Some((c, src)) = copy.filter(|_| ok) else {
            ahead.remove(&deep[i]);
            i += 1;
            continue;
        };
        if let Atom::Var(s) = &src {
            if roots[c.index()] {
                roots[s.index()] = true;
            }
        }
        b.remove(i);
        ahead.remove(&deep.remove(i));
        // Every other mention of `c` is in the statements after it.
        let mut k = i;
        while ahead.mentioned[c.index()] > 0 && k < b.len() {
            if deep[k].mentions(c) {
                substitute(&mut b[k], c, &src);
                ahead.remove(&deep[k]);
                deep[k] = Deep::of(&b[k]);
                ahead.add(&deep[k]);
            }
            k += 1;
        }
        changed = true;
    }
    changed
}

/// How many statements of a stretch of a block mention and write each variable.
struct Ahead {
    mentioned: Vec<usize>,
    written: Vec<usize>,
}

impl Ahead {
    fn new(vars: usize) -> Ahead {
        Ahead {
            mentioned: vec![0; vars],
            written: vec![0; vars],
        }
    }
    fn add(&mut self, d: &Deep) {
        for &(v, n) in &d.mentions {
            self.mentioned[v.index()] += n;
        }
        for v in &d.writes {
            self.written[v.index()] += 1;
        }
    }
    fn remove(&mut self, d: &Deep) {
        for &(v, n) in &d.mentions {
            self.mentioned[v.index()] -= n;
        }
        for v in &d.writes {
            self.written[v.index()] -= 1;
        }
    }
}

/// Replaces `c` by `src` in `s` and its blocks.
fn substitute(s: &mut Stmt, c: VarId, src: &Atom) {
    let mut one = |st: &mut Stmt| match src {
        Atom::Var(v) => visit::vars_mut(st, &mut |x| {
            if *x == c {
                *x = *v;
            }
        }),
        lit => visit::rewrite_atoms(st, &mut |a| {
            if *a == Atom::Var(c) {
                *a = lit.clone();
            }
        }),
    };
    one(s);
    for b in visit::children_mut(s) {
        visit::walk_mut(b, &mut one);
    }
}

/// Stores to a variable of a block that nothing reads afterwards (the resets of adjoints
/// after their last use).
fn dead_stores(b: &mut Block, counts: &Counts) -> bool {
    let mut changed = false;
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            changed |= dead_stores(c, counts);
        }
    }
    let deep = Deep::of_block(b);
    // How many statements of the block mention each variable, kept as statements go, and
    // the first statement mentioning it (statements go from the end, after the first
    // mention of anything the statement at hand mentions, so first mentions stay); indexed
    // by variable, as every pass over every block asks.
    let vars = counts.mentions.len();
    let mut here = vec![0usize; vars];
    let mut first = vec![usize::MAX; vars];
    for (k, d) in deep.iter().enumerate() {
        for &(v, n) in &d.mentions {
            here[v.index()] += n;
            if first[v.index()] == usize::MAX {
                first[v.index()] = k;
            }
        }
    }
    let mut read_later = vec![false; vars];
    let mut keep = vec![true; b.len()];
    for i in (0..b.len()).rev() {
        let dead = match &b[i] {
            Stmt::Assign { target: x, op, .. }
                if !counts.fixed[x.index()] && !matches!(op, Op::Call(_)) =>
            {
                // `x` lives in this block: every mention is here, and its first one
                // assigns it.
                let x = *x;
                let all_here = here[x.index()] == counts.mentions[x.index()];
                let first = first[x.index()];
                let starts_fresh = first != usize::MAX
                    && {
                        matches!(&b[first], Stmt::Assign { target, op, .. } if *target == x && !visit::op_reads(op).contains(&x))
                    };
                all_here && starts_fresh && !read_later[x.index()] && first != i
            }
            _ => false,
        };
        if dead {
            for &(v, n) in &deep[i].mentions {
                here[v.index()] -= n;
            }
            keep[i] = false;
            changed = true;
        } else {
            for v in &deep[i].reads {
                read_later[v.index()] = true;
            }
        }
    }
    if changed {
        let mut k = 0;
        b.retain(|_| {
            k += 1;
            keep[k - 1]
        });
    }
    changed
}

/// `t = op; .. c = t` with `t` a temporary used only there: `c = op`.
fn coalesce(f: &mut Function) -> bool {
    let counts = Counts::of(f);
    let temps: Vec<bool> = f.vars.iter().map(|v| v.origin == Origin::Temp).collect();
    let ok = |v: VarId| {
        counts.writes[v.index()] == 1 && counts.mentions[v.index()] == 2 && temps[v.index()]
    };
    coalesce_block(&mut f.body, &ok)
}

fn coalesce_block(b: &mut Block, ok: &impl Fn(VarId) -> bool) -> bool {
    let mut changed = false;
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            changed |= coalesce_block(c, ok);
        }
    }
    let mut deep = Deep::of_block(b);
    let mut i = 0;
    while i < b.len() {
        let t = match &b[i] {
            Stmt::Assign { target, op, .. } if ok(*target) && !matches!(op, Op::Call(_)) => *target,
            _ => {
                i += 1;
                continue;
            }
        };
        let next = (i + 1..b.len()).find(|&j| deep[j].mentions(t));
        let copy = next.and_then(|j| match &b[j] {
            Stmt::Assign {
                target: c,
                op: Op::Use(Atom::Var(src)),
                ..
            } if *src == t => Some((j, *c)),
            _ => None,
        });
        if let Some((j, c)) = copy {
            let clean = (i + 1..j).all(|k| !deep[k].mentions(c));
            let reads_c = match &b[i] {
                Stmt::Assign { op, .. } => visit::op_reads(op).contains(&c),
                _ => true,
            };
            if clean && !reads_c {
                if let Stmt::Assign { target, .. } = &mut b[i] {
                    *target = c;
                }
                deep[i] = Deep::of(&b[i]);
                b.remove(j);
                deep.remove(j);
                changed = true;
            }
        }
        i += 1;
    }
    changed
}
