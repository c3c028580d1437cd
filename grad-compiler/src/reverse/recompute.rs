//! Recomputation instead of storage: values of a loop iteration that the reverse sweep can
//! compute again, cheaply and exactly, from what does not change, are not pushed on stacks.
//!
//! A variable of a loop body (`for` or `while`) is *recomputable* when its only write in the whole function is
//! one pure assignment at the top level of that body, reading only loop variables of the
//! enclosing loops (the reverse loops run over the same values), variables the function
//! never writes (parameters) and earlier recomputable variables of the same body; and every
//! statement that reads it is inside the body, after the assignment. Such a value depends on
//! the iteration only: the reverse sweep recomputes it at the start of each iteration's
//! reverse (`t = x[k][i]` again), where the forward sweep would have saved and restored it
//! (`stack_t.push(t)` ... `t = stack_t.pop()`), as Tapenade's recompute-or-store choice.

use crate::hash::HashSet;
use crate::ir::*;
use crate::visit::{self, Deep};

/// The assignments of `body` (a loop body of `orig`) whose targets are recomputable, in
/// order.
pub(super) fn recomputable(orig: &Function, body: &Block, writes: &[usize]) -> Vec<Stmt> {
    let loop_vars = enclosing_loop_vars(&orig.body, body);
    let deep = Deep::of_block(body);
    let mut chosen: HashSet<VarId> = HashSet::default();
    let mut out = Vec::new();
    for (k, s) in body.iter().enumerate() {
        let Stmt::Assign { target, op, .. } = s else {
            continue;
        };
        // Cheap scalar operations only: an array would be copied again.
        let pure = matches!(
            op,
            Op::Use(_)
                | Op::Load(_)
                | Op::Prim(..)
                | Op::Cmp(..)
                | Op::Not(_)
                | Op::Select(..)
                | Op::Cast(..)
                | Op::Const(_)
                | Op::Num(_)
                | Op::Tuple(_)
        ) && cheap(orig.ty(*target));
        let single = writes.get(target.index()) == Some(&1);
        let from_invariants = visit::op_reads(op).iter().all(|v| {
            chosen.contains(v)
                || (loop_vars.contains(v) && !deep.iter().any(|d| d.writes(*v)))
                || (writes.get(v.index()) == Some(&0) && !loop_vars.contains(v))
        });
        // Read only after its assignment, inside this body.
        let before = deep[..k].iter().any(|d| d.mentions(*target));
        let outside = read_outside(&orig.body, body, *target);
        if pure && single && from_invariants && !before && !outside {
            chosen.insert(*target);
            out.push(s.clone());
        }
    }
    out
}

/// A scalar, or a tuple of integers (an index pair `(i, j)`).
fn cheap(t: &crate::shape::Ty) -> bool {
    use crate::shape::Ty;
    match t {
        Ty::Tuple(ts) => ts.iter().all(|t| *t == Ty::Int),
        t => t.is_scalar(),
    }
}

/// The statements of `recompute` that `uses` (or the kept statements) read.
pub(super) fn needed_by(mut recompute: Block, uses: &Block) -> Block {
    loop {
        let mut read: HashSet<VarId> = visit::block_reads(uses).into_iter().collect();
        read.extend(visit::block_reads(&recompute));
        let before = recompute.len();
        recompute.retain(|s| match s {
            Stmt::Assign { target, .. } => read.contains(target),
            _ => true,
        });
        if recompute.len() == before {
            return recompute;
        }
    }
}

/// The loop variables of the `for` loops of `root` that enclose `body` (its own included).
fn enclosing_loop_vars(root: &Block, body: &Block) -> Vec<VarId> {
    fn search(b: &Block, body: &Block, path: &mut Vec<VarId>) -> bool {
        if std::ptr::eq(b, body) {
            return true;
        }
        for s in b {
            let var = match s {
                Stmt::For { var, .. } => Some(*var),
                _ => None,
            };
            for c in visit::children(s) {
                if let Some(v) = var {
                    path.push(v);
                }
                if search(c, body, path) {
                    return true;
                }
                if var.is_some() {
                    path.pop();
                }
            }
        }
        false
    }
    let mut path = Vec::new();
    if search(root, body, &mut path) {
        path
    } else {
        Vec::new()
    }
}

/// Whether a statement of `root` outside `body` reads `v`.
fn read_outside(root: &Block, body: &Block, v: VarId) -> bool {
    fn go(b: &Block, body: &Block, v: VarId) -> bool {
        if std::ptr::eq(b, body) {
            return false;
        }
        b.iter().any(|s| {
            visit::effects(s).reads.contains(&v)
                || visit::children(s).iter().any(|c| go(c, body, v))
        })
    }
    go(root, body, v)
}
