//! Activity: which variables carry a derivative.
//!
//! A variable is *varied* when its value depends on a differentiated input, *useful* when
//! the result depends on it, and *active* when both. Only active variables get derivative
//! code. The analysis is flow-insensitive (a variable written in several places is varied if
//! any write is), which is conservative and exact enough for the loops of numeric code.

use crate::ir::*;
use crate::visit;

/// Which variables are active, from the differentiated `inputs` to the function's results.
pub fn active(f: &Function, inputs: &[VarId]) -> Vec<bool> {
    active_between(f, inputs, &f.returns)
}

/// Which variables are active between `inputs` and `outputs` (a companion's outputs include
/// the buffers it writes).
pub fn active_between(f: &Function, inputs: &[VarId], outputs: &[VarId]) -> Vec<bool> {
    let n = f.vars.len();
    let carries: Vec<bool> = f.vars.iter().map(|v| v.ty.carries_derivative()).collect();
    let mut varied = vec![false; n];
    for v in inputs {
        varied[v.index()] = true;
    }
    fixpoint(&f.body, &mut |s| {
        let mut changed = false;
        for (from, to) in flows(s) {
            if varied[from.index()] && carries[to.index()] && !varied[to.index()] {
                varied[to.index()] = true;
                changed = true;
            }
        }
        changed
    });
    let mut useful = vec![false; n];
    for v in outputs {
        useful[v.index()] = true;
    }
    fixpoint(&f.body, &mut |s| {
        let mut changed = false;
        for (from, to) in flows(s) {
            if useful[to.index()] && !useful[from.index()] {
                useful[from.index()] = true;
                changed = true;
            }
        }
        changed
    });
    (0..n)
        .map(|i| varied[i] && useful[i] && carries[i])
        .collect()
}

/// Runs `step` over every statement until no call reports a change.
pub(crate) fn fixpoint(body: &Block, step: &mut impl FnMut(&Stmt) -> bool) {
    loop {
        let mut changed = false;
        visit::walk(body, &mut |s| changed |= step(s));
        if !changed {
            break;
        }
    }
}

/// The derivative flows of a statement: `(from, to)` when a derivative of `from` reaches
/// `to` through it.
pub fn flows(s: &Stmt) -> Vec<(VarId, VarId)> {
    let mut out = Vec::new();
    match s {
        Stmt::Assign { target, op, .. } => {
            for v in op_flows(op) {
                out.push((v, *target));
            }
        }
        Stmt::Store { place, value, .. } | Stmt::Accumulate { place, value, .. } => {
            if let Atom::Var(v) = value {
                out.push((*v, place.root));
            }
        }
        Stmt::If { .. } | Stmt::For { .. } | Stmt::While { .. } => {}
        Stmt::Sweep(sw) => match sw {
            Sweep::Push { stack, value } => out.extend(value.var().map(|v| (v, *stack))),
            Sweep::Pop { stack, place } => out.push((*stack, place.root)),
            Sweep::Call { target, call } => {
                let args: Vec<VarId> = call.args.iter().filter_map(arg_root).collect();
                let mut outs: Vec<VarId> = call
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        Arg::MutRef(p) | Arg::MutView(p, ..) => Some(p.root),
                        _ => None,
                    })
                    .collect();
                outs.extend(*target);
                for o in outs {
                    out.extend(args.iter().map(|a| (*a, o)));
                }
            }
            Sweep::Kernel(k) => {
                let (from, to): (Vec<Option<VarId>>, VarId) = match k {
                    Kernel::Dot { acc, a, b, .. } => {
                        (vec![Some(a.place.root), Some(b.place.root)], acc.root)
                    }
                    Kernel::Axpy { alpha, x, y, .. } => {
                        (vec![alpha.var(), Some(x.place.root)], y.place.root)
                    }
                    Kernel::AxpyAll { alpha, x, y } => (vec![alpha.var(), Some(x.root)], y.root),
                    Kernel::ScaleAll { alpha, y } => (vec![alpha.var()], y.root),
                    Kernel::ZeroAll { y } => (Vec::new(), y.root),
                    Kernel::SumAll { target, place } => (vec![Some(place.root)], *target),
                    Kernel::Along {
                        target,
                        tangent,
                        gradient,
                    } => (vec![Some(tangent.root), Some(gradient.root)], *target),
                    Kernel::SetUnit { y, .. } => (Vec::new(), y.root),
                    Kernel::WriteRow { parts, out, .. } => {
                        (parts.iter().map(|p| Some(p.root)).collect(), out.root)
                    }
                };
                out.extend(from.into_iter().flatten().map(|v| (v, to)));
            }
        },
    }
    out
}

fn arg_root(a: &Arg) -> Option<VarId> {
    match a {
        Arg::Value(x) | Arg::Seed(x) => x.var(),
        Arg::Ref(p) | Arg::View(p, ..) | Arg::MutRef(p) | Arg::MutView(p, ..) => Some(p.root),
    }
}

/// The variables whose derivative reaches the result of `op`.
pub fn op_flows(op: &Op) -> Vec<VarId> {
    let vars = |atoms: &[Atom]| atoms.iter().filter_map(Atom::var).collect::<Vec<_>>();
    match op {
        Op::Use(a) => a.var().into_iter().collect(),
        Op::Load(p) => vec![p.root],
        Op::Prim(p, args) => args
            .iter()
            .enumerate()
            .filter(|(i, _)| !p.rule().int_operands.contains(i))
            .filter_map(|(_, a)| a.var())
            .collect(),
        Op::Select(_, a, b) => vars(&[a.clone(), b.clone()]),
        Op::Seq(atoms, _) | Op::Tuple(atoms) => vars(atoms),
        Op::Repeat(a, _, _) => a.var().into_iter().collect(),
        Op::Struct(_, fields) => fields.iter().filter_map(|(_, a)| a.var()).collect(),
        Op::Call(call) => call.args.iter().filter_map(arg_root).collect(),
        Op::Cmp(..)
        | Op::Not(_)
        | Op::Cast(..)
        | Op::Len(_)
        | Op::Const(_)
        | Op::Num(_)
        | Op::NoGrad(_)
        | Op::ZeroLike(_)
        | Op::Placeholder => Vec::new(),
    }
}
