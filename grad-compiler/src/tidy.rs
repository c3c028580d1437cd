//! Readability passes over a finished companion, each preserving its meaning: what a person
//! would not write, taken out before printing.
//!
//! - `v = 0; .. v += e` (nothing reading `v` between) becomes `v = e`;
//! - a copy `c = s` of a value that never changes afterwards is replaced by `s`.

use crate::ir::*;
use crate::shape::Ty;
use crate::visit;

/// Runs every pass.
pub fn tidy(f: &mut Function) {
    fuse_zero_then_add(&mut f.body);
    coalesce(f);
    propagate_copies(f);
    crate::cleanup::remove_dead_assignments(f);
}

/// `v = 0; .. v += e` as `v = e` (and `v -= e` as `v = -e`).
fn fuse_zero_then_add(b: &mut Block) {
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            fuse_zero_then_add(c);
        }
    }
    let mut i = 0;
    while i < b.len() {
        let zeroed = match &b[i] {
            Stmt::Assign {
                target,
                op: Op::Use(Atom::Float(z)),
                ..
            } if *z == 0.0 => Some(*target),
            _ => None,
        };
        if let Some(v) = zeroed {
            let next = (i + 1..b.len()).find(|&j| mentions(&b[j], v));
            if let Some(j) = next {
                if let Stmt::Accumulate {
                    place,
                    value,
                    negate: false,
                    span,
                } = &b[j]
                {
                    if place.is_var() && place.root == v && value.var() != Some(v) {
                        let s = Stmt::Assign {
                            target: v,
                            op: Op::Use(value.clone()),
                            span: *span,
                        };
                        b[j] = s;
                        b.remove(i);
                        continue;
                    }
                }
            }
        }
        i += 1;
    }
}

fn mentions(s: &Stmt, v: VarId) -> bool {
    let mut found = false;
    visit::walk(std::slice::from_ref(s).to_vec().as_ref(), &mut |st| {
        let e = visit::effects(st);
        found |= e.reads.contains(&v) || e.writes.iter().any(|w| w.var == v);
    });
    found
}

/// `t = op; .. c = t` with `t` a temporary used only there: `c = op` (the value takes the
/// copy's name: `value = x * y` rather than `t3 = x * y; value = t3`).
fn coalesce(f: &mut Function) {
    let writes = visit::write_counts(&f.body, f.vars.len());
    let mut reads = vec![0usize; f.vars.len()];
    visit::walk(&f.body, &mut |s| {
        for r in visit::effects(s).reads {
            reads[r.index()] += 1;
        }
    });
    for r in &f.returns {
        reads[r.index()] += 1;
    }
    let temps: Vec<bool> = f.vars.iter().map(|v| v.origin == Origin::Temp).collect();
    let ok = |v: VarId| writes[v.index()] == 1 && reads[v.index()] == 1 && temps[v.index()];
    coalesce_block(&mut f.body, &ok);
}

fn coalesce_block(b: &mut Block, ok: &impl Fn(VarId) -> bool) {
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            coalesce_block(c, ok);
        }
    }
    let mut i = 0;
    while i < b.len() {
        let t = match &b[i] {
            Stmt::Assign { target, op, .. } if ok(*target) && !matches!(op, Op::Call(_)) => *target,
            _ => {
                i += 1;
                continue;
            }
        };
        let next = (i + 1..b.len()).find(|&j| mentions(&b[j], t));
        let copy = next.and_then(|j| match &b[j] {
            Stmt::Assign {
                target: c,
                op: Op::Use(Atom::Var(src)),
                ..
            } if *src == t => Some((j, *c)),
            _ => None,
        });
        let Some((j, c)) = copy else {
            i += 1;
            continue;
        };
        // `c` must not be read or written between the two, nor read by the operation.
        let clean = (i + 1..j).all(|k| !mentions(&b[k], c));
        let reads_c = match &b[i] {
            Stmt::Assign { op, .. } => visit::op_reads(op).contains(&c),
            _ => true,
        };
        if clean && !reads_c {
            if let Stmt::Assign { target, .. } = &mut b[i] {
                *target = c;
            }
            b.remove(j);
        }
        i += 1;
    }
}

/// Replaces the copies `c = s` of scalars that never change afterwards by `s`.
fn propagate_copies(f: &mut Function) {
    let writes = visit::write_counts(&f.body, f.vars.len());
    let params: std::collections::HashSet<VarId> = f.params.iter().map(|p| p.var).collect();
    // Variables assigned once, at the top level of the body (not in a loop or branch).
    let mut top_once = vec![false; f.vars.len()];
    for s in &f.body {
        if let Stmt::Assign { target, .. } = s {
            if writes[target.index()] == 1 {
                top_once[target.index()] = true;
            }
        }
    }
    let stable = |v: VarId| (params.contains(&v) && writes[v.index()] == 0) || top_once[v.index()];
    // Variables used as the root of a place (`x[i]`, kernels' operands) keep their names.
    let mut roots = vec![false; f.vars.len()];
    visit::walk(&f.body, &mut |s| {
        mark_roots(s, &mut roots);
    });
    let mut subst: std::collections::HashMap<VarId, Atom> = std::collections::HashMap::new();
    for s in &f.body {
        if let Stmt::Assign {
            target,
            op: Op::Use(a),
            ..
        } = s
        {
            let scalar = matches!(f.ty(*target), Ty::Float | Ty::Int | Ty::Bool);
            let from_stable = match a {
                Atom::Var(s) => stable(*s) && f.ty(*s) == f.ty(*target),
                _ => false,
            };
            if scalar
                && writes[target.index()] == 1
                && from_stable
                && !params.contains(target)
                && !roots[target.index()]
            {
                subst.insert(*target, a.clone());
            }
        }
    }
    if subst.is_empty() {
        return;
    }
    // Chains: c = b, b = a.
    let resolve = |a: &Atom| {
        let mut a = a.clone();
        while let Atom::Var(v) = &a {
            match subst.get(v) {
                Some(next) => a = next.clone(),
                None => break,
            }
        }
        a
    };
    let body = std::mem::take(&mut f.body);
    f.body = visit::map(body, &mut |mut s| {
        if let Stmt::Assign { target, .. } = &s {
            if subst.contains_key(target) {
                return Vec::new();
            }
        }
        visit::rewrite_atoms(&mut s, &mut |a| *a = resolve(a));
        vec![s]
    });
    for r in &mut f.returns {
        if let Atom::Var(v) = resolve(&Atom::Var(*r)) {
            *r = v;
        }
    }
}

/// Marks the variables `s` uses as the root of a place.
fn mark_roots(s: &Stmt, roots: &mut [bool]) {
    let mut mark = |p: &Place| roots[p.root.index()] = true;
    match s {
        Stmt::Assign { op, .. } => match op {
            Op::Load(p) | Op::Len(p) => mark(p),
            Op::Call(c) => c.args.iter().filter_map(Arg::place).for_each(mark),
            _ => {}
        },
        Stmt::Store { place, .. } | Stmt::Accumulate { place, .. } => mark(place),
        Stmt::Sweep(Sweep::Pop { place, .. }) => mark(place),
        Stmt::Sweep(Sweep::Call { call, .. }) => {
            call.args.iter().filter_map(Arg::place).for_each(mark)
        }
        Stmt::Sweep(Sweep::Kernel(k)) => match k {
            Kernel::Dot { acc, a, b, .. } => {
                mark(acc);
                mark(&a.place);
                mark(&b.place);
            }
            Kernel::Axpy { x, y, .. } => {
                mark(&x.place);
                mark(&y.place);
            }
            Kernel::AxpyAll { x, y, .. } => {
                mark(x);
                mark(y);
            }
            Kernel::ScaleAll { y, .. } | Kernel::ZeroAll { y } => mark(y),
            Kernel::SumAll { place, .. } => mark(place),
        },
        _ => {}
    }
}
