//! Small IR-to-IR optimisations the transforms apply to their own output.
//!
//! - [`dead_code`]: when the reverse sweep re-runs a loop body only to recompute values, the
//!   statements whose results the adjoint code never reads are dropped (they were already
//!   run, without panicking, in the forward sweep).
//! - [`dot_product`]: a sum-reduction loop of the form `acc += a[oa + j] * b[ob + j]` becomes
//!   one call to the runtime's vectorised `dot` kernel. It reassociates the sum, so a
//!   companion's returned value may differ from the user's function in the last bits; the
//!   user's function itself is never changed, and `#[derive_gradient(strict)]` turns this off.

use crate::analysis::{self, walk};
use crate::ir::*;
use std::collections::{HashMap, HashSet};

/// Drops top-level assignments of `block` whose targets nothing after them (in the block, or
/// in `live_after`) reads. Control statements and saves are kept whole.
pub fn dead_code(block: Block, live_after: &HashSet<VarId>) -> Block {
    let mut live = live_after.clone();
    let mut kept = Vec::with_capacity(block.len());
    for s in block.into_iter().rev() {
        let keep = match &s {
            Stmt::Assign { target, .. } => live.contains(target),
            _ => true,
        };
        if keep {
            match &s {
                Stmt::If { .. } | Stmt::For { .. } | Stmt::While { .. } => {
                    let mut reads = HashSet::new();
                    walk(&vec![s.clone()], &mut |st| reads.extend(stmt_all_reads(st)));
                    live.extend(reads);
                }
                other => live.extend(stmt_all_reads(other)),
            }
            kept.push(s);
        }
    }
    kept.reverse();
    kept
}

/// Every variable a statement reads, transform-only statements included.
pub fn stmt_all_reads(s: &Stmt) -> Vec<VarId> {
    let mut out = analysis::stmt_reads(s);
    let atom = |a: &Atom, out: &mut Vec<VarId>| {
        if let Atom::Var(v) = a {
            out.push(*v);
        }
    };
    match s {
        Stmt::Accumulate { target, .. } => out.push(*target),
        Stmt::AddAssign { target, expr } => {
            place_reads(target, &mut out);
            expr_reads(expr, &mut out);
        }
        Stmt::Set { target, expr } => {
            if let Place::Elem(v, i) = target {
                out.push(*v);
                atom(i, &mut out);
            }
            expr_reads(expr, &mut out);
        }
        Stmt::Save { place, .. } => place_reads(place, &mut out),
        Stmt::Restore {
            place: Place::Elem(v, i),
            ..
        } => {
            out.push(*v);
            atom(i, &mut out);
        }
        Stmt::PullbackCall {
            args,
            seed,
            adjoints,
            ..
        } => {
            args.iter().for_each(|a| atom(a, &mut out));
            out.push(*seed);
            out.extend(adjoints.iter().flatten());
        }
        Stmt::PushforwardCall { args, tangents, .. } => {
            args.iter().for_each(|a| atom(a, &mut out));
            out.extend(tangents.iter().flatten());
        }
        Stmt::Axpy {
            target,
            scale,
            source,
        } => {
            out.push(*target);
            out.extend(source);
            expr_reads(scale, &mut out);
        }
        Stmt::AllocLike { like, .. } => out.push(*like),
        Stmt::AxpySlice {
            alpha,
            x,
            y,
            x_off,
            y_off,
            lo,
            hi,
        } => {
            out.extend([*x, *y]);
            expr_reads(alpha, &mut out);
            for v in [x_off, y_off, lo, hi] {
                atom(v, &mut out);
            }
        }
        Stmt::Dot {
            acc,
            a,
            b,
            a_off,
            b_off,
            lo,
            hi,
            ..
        } => {
            out.extend([*acc, *a, *b]);
            for x in [a_off, b_off, lo, hi] {
                atom(x, &mut out);
            }
        }
        _ => {}
    }
    out
}

fn place_reads(p: &Place, out: &mut Vec<VarId>) {
    match p {
        Place::Var(v) => out.push(*v),
        Place::Elem(v, i) => {
            out.push(*v);
            if let Atom::Var(i) = i {
                out.push(*i);
            }
        }
    }
}

fn expr_reads(e: &Expr, out: &mut Vec<VarId>) {
    match e {
        Expr::Atom(Atom::Var(v)) | Expr::Sum(v) => out.push(*v),
        Expr::Atom(_) | Expr::FloatConst(_) => {}
        Expr::Index(v, i) => {
            out.push(*v);
            if let Atom::Var(i) = i {
                out.push(*i);
            }
        }
        Expr::Add(a, b)
        | Expr::Sub(a, b)
        | Expr::Mul(a, b)
        | Expr::Div(a, b)
        | Expr::Powi(a, b)
        | Expr::Or(a, b)
        | Expr::Cmp(_, a, b)
        | Expr::GuardedMul(a, b) => {
            expr_reads(a, out);
            expr_reads(b, out);
        }
        Expr::Neg(a) | Expr::IntToFloat(a) | Expr::IntSub1(a) | Expr::IsNan(a) => {
            expr_reads(a, out)
        }
        Expr::Method(_, args) => args.iter().for_each(|a| expr_reads(a, out)),
        Expr::Select(c, a, b) => {
            expr_reads(c, out);
            expr_reads(a, out);
            expr_reads(b, out);
        }
    }
}

/// If `lp` is `for j in lo..hi { [invariant integer offsets]; ta = A[oa + j]; tb = B[ob + j];
/// tp = ta * tb; acc += tp; }`, the same computation as the offsets followed by one
/// [`Stmt::Dot`]. The loop must run forwards or backwards over `lo..hi` with unit stride.
pub fn dot_product(f: &Function, lp: &Stmt) -> Option<Block> {
    let Stmt::For {
        var: j,
        lo,
        hi,
        body,
        ..
    } = lp
    else {
        return None;
    };
    let written = analysis::block_writes(body);
    // Integer statements whose values do not depend on `j`: the offsets.
    let mut invariant: HashSet<VarId> = HashSet::new();
    let mut prefix = Vec::new();
    let mut offsets: HashMap<VarId, (VarId, Option<Atom>)> = HashMap::new();
    let mut loads: HashMap<VarId, (VarId, Option<Atom>)> = HashMap::new();
    let mut product: Option<(VarId, VarId, VarId)> = None;
    let mut accumulate: Option<(VarId, bool)> = None;
    let is_invariant = |a: &Atom, invariant: &HashSet<VarId>| match a {
        Atom::Var(v) => *v != *j && (!written.contains(v) || invariant.contains(v)),
        _ => true,
    };
    for s in body {
        match s {
            Stmt::Assign {
                target,
                op: Op::Int(iop, args),
                ..
            } if accumulate.is_none() => {
                if args.iter().all(|a| is_invariant(a, &invariant)) {
                    invariant.insert(*target);
                    prefix.push(s.clone());
                    continue;
                }
                if *iop != IntOp::Add {
                    return None;
                }
                let (x, y) = (&args[0], &args[1]);
                if *x == Atom::Var(*j) && is_invariant(y, &invariant) {
                    offsets.insert(*target, (*j, Some(y.clone())));
                } else if *y == Atom::Var(*j) && is_invariant(x, &invariant) {
                    offsets.insert(*target, (*j, Some(x.clone())));
                } else {
                    return None;
                }
            }
            Stmt::Assign {
                target,
                op: Op::Index { array, index },
                ..
            } if f.var(*target).ty == Ty::Float => {
                if written.contains(array) {
                    return None;
                }
                let off = match index {
                    Atom::Var(v) if *v == *j => None,
                    Atom::Var(v) => match offsets.get(v) {
                        Some((_, off)) => off.clone(),
                        None => return None,
                    },
                    _ => return None,
                };
                loads.insert(*target, (*array, off));
            }
            Stmt::Assign {
                target,
                op: Op::Prim(Prim::Mul, args),
                ..
            } if product.is_none() => {
                let (Atom::Var(x), Atom::Var(y)) = (&args[0], &args[1]) else {
                    return None;
                };
                if !loads.contains_key(x) || !loads.contains_key(y) {
                    return None;
                }
                product = Some((*target, *x, *y));
            }
            Stmt::Accumulate {
                target,
                value: Atom::Var(v),
                negate,
                ..
            } if accumulate.is_none() => {
                if product.map(|p| p.0) != Some(*v) || written_outside_acc(body, *target) {
                    return None;
                }
                accumulate = Some((*target, *negate));
            }
            _ => return None,
        }
    }
    let (_, x, y) = product?;
    let (acc, negate) = accumulate?;
    // Every load feeds the product.
    if loads.keys().any(|l| *l != x && *l != y) {
        return None;
    }
    let (a, a_off) = loads.get(&x)?.clone();
    let (b, b_off) = loads.get(&y)?.clone();
    let mut out = prefix;
    out.push(Stmt::Dot {
        acc,
        negate,
        a,
        a_off: a_off.unwrap_or(Atom::Int(0)),
        b,
        b_off: b_off.unwrap_or(Atom::Int(0)),
        lo: lo.clone(),
        hi: hi.clone(),
    });
    Some(out)
}

fn written_outside_acc(body: &Block, acc: VarId) -> bool {
    let mut n = 0;
    walk(body, &mut |s| {
        if analysis::stmt_writes(s) == Some(acc) {
            n += 1;
        }
    });
    n != 1
}
