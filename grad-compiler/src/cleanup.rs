//! Small clean-ups between phases.

use crate::hash::{HashMap, HashSet};
use crate::ir::*;
use crate::visit::{self, Deep};

/// Removes assignments of pure operations to variables nothing reads (flags a desugaring
/// made but no guard needed, values of expression statements), until none is left.
pub fn remove_dead_assignments(f: &mut Function) {
    loop {
        let mut read = vec![false; f.vars.len()];
        for v in visit::block_reads(&f.body) {
            read[v.index()] = true;
        }
        for v in &f.returns {
            read[v.index()] = true;
        }
        for p in &f.params {
            read[p.var.index()] = true;
        }
        let mut removed = false;
        let body = std::mem::take(&mut f.body);
        f.body = visit::map(body, &mut |s| match &s {
            Stmt::Assign { target, op, .. } if !read[target.index()] && is_pure(op) => {
                removed = true;
                Vec::new()
            }
            // An element store into a variable nothing reads goes with its assignment.
            Stmt::Store { place, .. } if !read[place.root.index()] => {
                removed = true;
                Vec::new()
            }
            _ => vec![s],
        });
        let body = std::mem::take(&mut f.body);
        f.body = visit::map(body, &mut |s| match s {
            Stmt::If { then, els, .. } if then.is_empty() && els.is_empty() => Vec::new(),
            s => vec![s],
        });
        if !removed {
            break;
        }
    }
}

/// Whether evaluating `op` has no effect but its value (calls may have effects; indexing
/// may panic, which the original function would do too, so loads count as pure only when
/// their value is unused in the original as well, which is the case here).
fn is_pure(op: &Op) -> bool {
    !matches!(op, Op::Call(_))
}

/// Gives every variable that may be read before it is assigned its starting value: zero
/// for adjoints, tangents and partial buffers (shaped like what they belong to), empty for
/// stacks. The assignment goes at the start of the innermost block that holds every use,
/// just before the first, so code generation declares it there.
pub fn insert_zero_inits(f: &mut Function) {
    let mut assigned: Vec<bool> = vec![false; f.vars.len()];
    for p in &f.params {
        assigned[p.var.index()] = true;
    }
    let mut need = vec![false; f.vars.len()];
    uninit_reads(&f.body, &mut assigned, &mut need);
    // The results are read at the end.
    for r in &f.returns {
        if !assigned[r.index()] {
            need[r.index()] = true;
        }
    }
    let mut inits = Vec::new();
    for (i, needs) in need.into_iter().enumerate() {
        if !needs {
            continue;
        }
        let v = VarId(i as u32);
        let op = start_value(f, v);
        let init = Stmt::Assign {
            target: v,
            op,
            span: proc_macro2::Span::call_site(),
        };
        let derivative = matches!(
            f.var(v).origin,
            Origin::Made(
                crate::names::Binder::Adjoint
                    | crate::names::Binder::Tangent
                    | crate::names::Binder::Partial
                    | crate::names::Binder::Scratch,
                _
            )
        );
        inits.push(Init {
            var: v,
            stmt: init,
            derivative,
        });
    }
    let body = std::mem::take(&mut f.body);
    f.body = insert_before_first_use(body, inits);
}

/// `if c { a } else { b }; s; if c { d } else { e }` as `s; if c { a; d } else { b; e }`:
/// the forward and the reverse part of a branch in one loop iteration side by side in one
/// branch, as a person writes them (and no placeholder for what `a` computes and `d` reads,
/// which rustc cannot see assigned under the second `if`). Only where neither branch of the
/// first `if` writes `c`, and the plain statements `s` write nothing the first `if` mentions
/// (nor `c`) and read nothing it writes, so that running `s` first changes nothing.
pub fn merge_twin_ifs(b: &mut Block) -> bool {
    let mut changed = false;
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            changed |= merge_twin_ifs(c);
        }
    }
    let mut i = 0;
    while i < b.len() {
        let Stmt::If {
            cond: Atom::Var(c), ..
        } = &b[i]
        else {
            i += 1;
            continue;
        };
        let c = *c;
        let first = Deep::of(&b[i]);
        if first.writes(c) {
            i += 1;
            continue;
        }
        let mut twin = None;
        for (j, s) in b.iter().enumerate().skip(i + 1) {
            match s {
                Stmt::If {
                    cond: Atom::Var(c2),
                    ..
                } if *c2 == c => {
                    twin = Some(j);
                    break;
                }
                Stmt::Assign { .. } | Stmt::Store { .. } | Stmt::Accumulate { .. } => {
                    let d = Deep::of(s);
                    let clash = d.writes.iter().any(|&v| v == c || first.mentions(v))
                        || d.reads.iter().any(|&v| first.writes(v));
                    if clash {
                        break;
                    }
                }
                _ => break,
            }
        }
        let Some(j) = twin else {
            i += 1;
            continue;
        };
        let Stmt::If {
            then: d, els: e, ..
        } = b.remove(j)
        else {
            unreachable!("the twin is an if")
        };
        let between: Vec<Stmt> = b.drain(i + 1..j).collect();
        if let Stmt::If { then, els, .. } = &mut b[i] {
            then.extend(d);
            els.extend(e);
        }
        let n = between.len();
        b.splice(i..i, between);
        // The merged `if` is now at `i + n`: look for a further twin of it.
        i += n;
        changed = true;
    }
    changed
}

/// A starting value to insert: its variable, its assignment, and whether it is a derivative
/// (which may start inside a loop).
struct Init {
    var: VarId,
    stmt: Stmt,
    derivative: bool,
}

/// The value a variable starts from: zero for derivatives (what they accumulate from),
/// empty for stacks, and for a value rustc cannot see assigned on every path before its
/// use (assigned in one loop, read in another) a placeholder of its type that the
/// program overwrites before reading.
fn start_value(f: &Function, v: VarId) -> Op {
    use crate::shape::{SeqKind, Ty};
    fn zero(t: &Ty) -> Option<Atom> {
        match t {
            Ty::Float => Some(Atom::Float(0.0)),
            Ty::Int => Some(Atom::Int(0)),
            Ty::Bool => Some(Atom::Bool(false)),
            _ => None,
        }
    }
    let var = f.var(v);
    match &var.ty {
        Ty::Stack(_) | Ty::Seq(SeqKind::Vec, _) => Op::Seq(Vec::new(), SeqForm::Vec),
        t if zero(t).is_some() => Op::Use(zero(t).unwrap_or(Atom::Int(0))),
        Ty::Seq(SeqKind::Array(n), e) if zero(e).is_some() => Op::Repeat(
            zero(e).unwrap_or(Atom::Int(0)),
            Count::Len(n.clone()),
            SeqForm::Array,
        ),
        _ => Op::Placeholder,
    }
}

/// Finds the variables some statement may read before they are assigned.
fn uninit_reads(b: &Block, assigned: &mut Vec<bool>, need: &mut Vec<bool>) {
    for s in b {
        // A `while` reads its condition after its condition block has run.
        if let Stmt::While { cond_block, .. } = s {
            uninit_reads(cond_block, assigned, need);
        }
        let e = visit::effects(s);
        for r in &e.reads {
            if !assigned[r.index()] {
                need[r.index()] = true;
                assigned[r.index()] = true;
            }
        }
        for w in &e.writes {
            if !w.whole && !assigned[w.var.index()] {
                need[w.var.index()] = true;
            }
            assigned[w.var.index()] = true;
        }
        match s {
            Stmt::If { then, els, .. } => {
                let mut a = assigned.clone();
                uninit_reads(then, &mut a, need);
                let mut b2 = assigned.clone();
                uninit_reads(els, &mut b2, need);
                for i in 0..assigned.len() {
                    assigned[i] = a[i] && b2[i];
                }
            }
            Stmt::For { body, .. } => {
                let mut a = assigned.clone();
                uninit_reads(body, &mut a, need);
                // A second pass sees what the first iteration assigned.
                uninit_reads(body, &mut a, need);
            }
            Stmt::While {
                cond_block, body, ..
            } => {
                let mut a = assigned.clone();
                uninit_reads(body, &mut a, need);
                uninit_reads(cond_block, &mut a, need);
                uninit_reads(body, &mut a, need);
            }
            _ => {}
        }
    }
}

/// Inserts each init before the first statement of the innermost block holding every use of
/// its variable (in the order given where several meet); an init whose variable the block
/// does not mention is dropped.
fn insert_before_first_use(b: Block, inits: Vec<Init>) -> Block {
    if inits.is_empty() {
        return b;
    }
    let deep = Deep::of_block(&b);
    let mut before: Vec<Vec<Stmt>> = vec![Vec::new(); b.len()];
    let mut inside: HashMap<(usize, usize), Vec<Init>> = HashMap::default();
    for init in inits {
        let v = init.var;
        let mut users = (0..b.len()).filter(|&i| deep[i].mentions(v));
        let Some(first) = users.next() else {
            continue;
        };
        let single = users.next().is_none();
        match single
            .then(|| holding_child(&b[first], v, init.derivative))
            .flatten()
        {
            Some(c) => inside.entry((first, c)).or_default().push(init),
            None => before[first].push(init.stmt),
        }
    }
    let mut out = Vec::with_capacity(b.len());
    for (i, mut s) in b.into_iter().enumerate() {
        out.append(&mut before[i]);
        for (c, child) in visit::children_mut(&mut s).into_iter().enumerate() {
            if let Some(list) = inside.remove(&(i, c)) {
                *child = insert_before_first_use(std::mem::take(child), list);
            }
        }
        out.push(s);
    }
    out
}

/// When every use of `v` in `s` is inside one of its blocks, that block's index: the init
/// goes down into it. Into a loop only for derivatives: every use inside one iteration means
/// the iteration starts from zero (a derivative carried across iterations is also used
/// outside the loop, where the value it belongs to is made); and into a chunked loop, whose
/// body (a sum-reduction's) carries nothing across iterations but its sums, and must write
/// nothing declared outside it.
fn holding_child(s: &Stmt, v: VarId, derivative: bool) -> Option<usize> {
    let own = matches!(
        s,
        Stmt::Assign { .. } | Stmt::Store { .. } | Stmt::Accumulate { .. } | Stmt::Sweep(_)
    ) || {
        let e = visit::effects(s);
        e.reads.contains(&v) || e.writes.iter().any(|w| w.var == v)
    };
    let into_loop = !matches!(s, Stmt::For { .. } | Stmt::While { .. })
        || derivative
        || matches!(
            s,
            Stmt::For {
                chunked: Some(_),
                ..
            }
        );
    if own || !into_loop {
        return None;
    }
    let holding: Vec<usize> = visit::children(s)
        .iter()
        .enumerate()
        .filter(|(_, c)| c.iter().any(|st| Deep::of(st).mentions(v)))
        .map(|(i, _)| i)
        .collect();
    match holding[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// Gives every `if` whose condition variable its own branches write, and every `for` whose
/// bound variables its body writes, a copy taken before the statement: the reverse sweep
/// reads conditions and bounds as they were when the statement began.
pub fn freeze_conditions(f: &mut Function) {
    let body = std::mem::take(&mut f.body);
    f.body = visit::map(body, &mut |s| {
        let written: Vec<VarId> = visit::children(&s)
            .into_iter()
            .flat_map(visit::block_writes)
            .collect();
        let mut out = Vec::new();
        let mut freeze = |a: &mut Atom, f: &mut Function| {
            if let Atom::Var(v) = a {
                if written.contains(v) {
                    let ty = f.ty(*v).clone();
                    let t = f.add_var("", ty, proc_macro2::Span::call_site(), Origin::Temp);
                    out.push(Stmt::Assign {
                        target: t,
                        op: Op::Use(Atom::Var(*v)),
                        span: proc_macro2::Span::call_site(),
                    });
                    *a = Atom::Var(t);
                }
            }
        };
        let mut s = s;
        match &mut s {
            Stmt::If { cond, .. } => freeze(cond, f),
            Stmt::For { lo, hi, .. } => {
                freeze(lo, f);
                freeze(hi, f);
            }
            _ => {}
        }
        out.push(s);
        out
    });
}

/// Runs a chunked loop as a plain one where its body writes a variable that is also used
/// outside it (a stack of saved values, a local the reverse sweep reads later), which a
/// chunk, a closure on another thread, cannot write: the chunks need every variable but the
/// sums to be the body's own. Checked here, on the finished companion, where it is decided
/// which variables are declared outside the loop.
pub fn settle_chunks(f: &mut Function) {
    let mut everywhere = vec![0usize; f.vars.len()];
    let count = |b: &Block, n: &mut Vec<usize>| {
        visit::walk(b, &mut |s| {
            let e = visit::effects(s);
            for v in e.reads.iter().chain(e.writes.iter().map(|w| &w.var)) {
                n[v.index()] += 1;
            }
        })
    };
    count(&f.body, &mut everywhere);
    for p in &f.params {
        everywhere[p.var.index()] += 1;
    }
    for v in &f.returns {
        everywhere[v.index()] += 1;
    }
    visit::walk_mut(&mut f.body, &mut |s| {
        if let Stmt::For {
            body,
            chunked: chunked @ Some(_),
            ..
        } = s
        {
            let sums: HashSet<VarId> = chunked
                .iter()
                .flat_map(|c| c.sums.iter().map(|(v, _)| *v))
                .collect();
            let mut inside = vec![0usize; everywhere.len()];
            count(body, &mut inside);
            let escapes = visit::block_writes(body)
                .into_iter()
                .any(|v| !sums.contains(&v) && everywhere[v.index()] > inside[v.index()]);
            if escapes {
                *chunked = None;
            }
        }
    });
}
