//! Data-flow facts the transforms rely on: which variables are active (depend on a
//! differentiated input and reach the result), which are read and written where.

use crate::ir::*;
use std::collections::HashSet;

/// Calls `f` on every statement of a block, nested blocks included (pre-order).
pub fn walk<'a>(block: &'a Block, f: &mut impl FnMut(&'a Stmt)) {
    for s in block {
        f(s);
        match s {
            Stmt::If { then, els, .. } => {
                walk(then, f);
                walk(els, f);
            }
            Stmt::For { body, .. } => walk(body, f),
            Stmt::While {
                cond_block, body, ..
            } => {
                walk(cond_block, f);
                walk(body, f);
            }
            _ => {}
        }
    }
}

fn atom_var(a: &Atom) -> Option<VarId> {
    match a {
        Atom::Var(v) => Some(*v),
        _ => None,
    }
}

/// The variables an operation reads.
pub fn op_reads(op: &Op) -> Vec<VarId> {
    match op {
        Op::Copy(a) => atom_var(a).into_iter().collect(),
        Op::Prim(_, args) | Op::Int(_, args) | Op::Bool(_, args) => {
            args.iter().filter_map(atom_var).collect()
        }
        Op::Cmp(_, a, b) => [a, b].into_iter().filter_map(atom_var).collect(),
        Op::Cast { value, .. } => atom_var(value).into_iter().collect(),
        Op::Index { array, index } => std::iter::once(*array).chain(atom_var(index)).collect(),
        Op::Len(v) => vec![*v],
        Op::ArrayLit { elems, .. } => elems.iter().filter_map(atom_var).collect(),
        Op::Repeat { value, count, .. } => {
            [value, count].into_iter().filter_map(atom_var).collect()
        }
        Op::Call { args, .. } => args.iter().filter_map(atom_var).collect(),
        Op::Const(_) => Vec::new(),
    }
}

/// The variables a statement reads directly (not in nested blocks).
pub fn stmt_reads(s: &Stmt) -> Vec<VarId> {
    match s {
        Stmt::Assign { op, .. } => op_reads(op),
        Stmt::Accumulate { value, .. } => atom_var(value).into_iter().collect(),
        Stmt::Store {
            array,
            index,
            value,
            ..
        } => {
            let mut v = vec![*array];
            v.extend(atom_var(index));
            v.extend(atom_var(value));
            v
        }
        Stmt::If { cond, .. } => atom_var(cond).into_iter().collect(),
        Stmt::For { lo, hi, .. } => [lo, hi].into_iter().filter_map(atom_var).collect(),
        Stmt::While { cond, .. } => atom_var(cond).into_iter().collect(),
        Stmt::AxpySlice {
            x,
            y,
            x_off,
            y_off,
            lo,
            hi,
            ..
        } => {
            let mut v = vec![*x, *y];
            v.extend([x_off, y_off, lo, hi].into_iter().filter_map(atom_var));
            v
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
            let mut v = vec![*acc, *a, *b];
            v.extend([a_off, b_off, lo, hi].into_iter().filter_map(atom_var));
            v
        }
        _ => Vec::new(),
    }
}

/// The variable a statement writes directly, if any.
pub fn stmt_writes(s: &Stmt) -> Option<VarId> {
    match s {
        Stmt::Assign { target, .. }
        | Stmt::Accumulate { target, .. }
        | Stmt::Dot { acc: target, .. }
        | Stmt::AxpySlice { y: target, .. } => Some(*target),
        Stmt::Store { array, .. } => Some(*array),
        _ => None,
    }
}

/// Every variable read anywhere in a block (loop variables of nested loops included).
pub fn block_reads(block: &Block) -> HashSet<VarId> {
    let mut set = HashSet::new();
    walk(block, &mut |s| set.extend(stmt_reads(s)));
    set
}

/// Every variable written anywhere in a block.
pub fn block_writes(block: &Block) -> HashSet<VarId> {
    let mut set = HashSet::new();
    walk(block, &mut |s| {
        set.extend(stmt_writes(s));
        if let Stmt::For { var, .. } = s {
            set.insert(*var);
        }
    });
    set
}

/// How many statements write each variable (its static assignment sites).
pub fn write_counts(f: &Function) -> Vec<usize> {
    let mut counts = vec![0; f.vars.len()];
    walk(&f.body, &mut |s| {
        if let Some(v) = stmt_writes(s) {
            counts[v.0] += 1;
        }
    });
    for p in &f.params {
        counts[p.0] += 1;
    }
    counts
}

/// The variables that depend on the `inputs` and reach the result: the ones that get
/// derivative code. Control dependence is not a data dependence: a comparison has no
/// derivative.
pub fn active_vars(f: &Function, inputs: &[VarId]) -> HashSet<VarId> {
    let float = |v: VarId| f.var(v).ty.is_float();
    // Forward: varied.
    let mut varied: HashSet<VarId> = inputs.iter().copied().collect();
    loop {
        let before = varied.len();
        walk(&f.body, &mut |s| {
            let (target, reads): (VarId, Vec<VarId>) = match s {
                Stmt::Assign { target, op, .. } => {
                    let reads = match op {
                        Op::Index { array, .. } => vec![*array],
                        Op::Cast { .. }
                        | Op::Int(..)
                        | Op::Cmp(..)
                        | Op::Bool(..)
                        | Op::Len(_)
                        | Op::Const(_) => Vec::new(),
                        Op::Repeat { value, .. } => atom_var(value).into_iter().collect(),
                        other => op_reads(other),
                    };
                    (*target, reads)
                }
                Stmt::Accumulate { target, value, .. } => {
                    (*target, atom_var(value).into_iter().collect())
                }
                Stmt::Store { array, value, .. } => (*array, atom_var(value).into_iter().collect()),
                _ => return,
            };
            if float(target) && reads.iter().any(|r| varied.contains(r)) {
                varied.insert(target);
            }
        });
        if varied.len() == before {
            break;
        }
    }
    // Backward: useful.
    let mut useful: HashSet<VarId> = HashSet::from([f.result]);
    loop {
        let before = useful.len();
        walk(&f.body, &mut |s| match s {
            Stmt::Assign { target, op, .. } if useful.contains(target) => match op {
                Op::Index { array, .. } => {
                    useful.insert(*array);
                }
                Op::Copy(_) | Op::Prim(..) | Op::ArrayLit { .. } | Op::Call { .. } => {
                    useful.extend(op_reads(op).into_iter().filter(|v| float(*v)));
                }
                Op::Repeat { value, .. } => {
                    useful.extend(atom_var(value));
                }
                _ => {}
            },
            Stmt::Accumulate { target, value, .. } if useful.contains(target) => {
                useful.extend(atom_var(value));
            }
            Stmt::Store { array, value, .. } if useful.contains(array) => {
                useful.extend(atom_var(value).filter(|v| float(*v)));
            }
            _ => {}
        });
        if useful.len() == before {
            break;
        }
    }
    varied
        .intersection(&useful)
        .copied()
        .filter(|v| float(*v))
        .collect()
}
