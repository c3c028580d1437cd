//! How a function is laid out as Rust: which temporaries fold back into the expression that
//! uses them, and where each local is declared (with `let` at its first assignment where
//! that dominates every use, else just before its first use, without a dummy value where
//! every path assigns it first).

use crate::hash::{HashMap, HashSet};
use crate::ir::*;
use crate::visit;

/// Identity of a statement: its address in the function being printed.
pub type StmtId = *const Stmt;

/// Where a variable is declared.
#[derive(Clone, Debug, PartialEq)]
pub enum Decl {
    /// `let [mut] v = ..;` at this assignment.
    AtAssign { mutable: bool },
    /// `let mut v;` (or `let mut v = init;` when `init`) just before this statement.
    Before(StmtId, bool),
}

/// The layout of a function.
pub struct Layout {
    /// Temporaries printed inside their single use.
    pub folded: HashSet<VarId>,
    /// A `while` whose condition block folds into `while expr`.
    pub while_header: HashSet<StmtId>,
    /// Declarations: by the statement they attach to.
    pub decl_at: HashMap<StmtId, Vec<(VarId, Decl)>>,
    /// Variables declared where they are assigned.
    pub let_at: HashMap<StmtId, bool>,
}

/// Computes the layout of `f`.
pub fn layout(f: &Function) -> Layout {
    let mut reads = vec![0usize; f.vars.len()];
    let mut writes = vec![0usize; f.vars.len()];
    let mut partial = vec![false; f.vars.len()];
    visit::walk(&f.body, &mut |s| {
        let e = visit::effects(s);
        for r in e.reads {
            reads[r.index()] += 1;
        }
        for w in e.writes {
            writes[w.var.index()] += 1;
            if !w.whole {
                partial[w.var.index()] = true;
            }
        }
    });
    for v in &f.returns {
        reads[v.index()] += 1;
    }
    let mut folded = HashSet::default();
    let mut while_header = HashSet::default();
    fold_block(
        f,
        &f.body,
        &reads,
        &writes,
        &mut folded,
        &mut while_header,
        &mut HashMap::default(),
    );

    // Declarations.
    let params: HashSet<VarId> = f.params.iter().map(|p| p.var).collect();
    let mut paths: HashMap<VarId, Vec<Vec<(usize, usize)>>> = HashMap::default();
    let mut block_stmts: HashMap<usize, Vec<&Stmt>> = HashMap::default();
    let mut next_block = 0usize;
    collect_paths(
        &f.body,
        &mut Vec::new(),
        &mut next_block,
        &mut paths,
        &mut block_stmts,
    );
    for v in &f.returns {
        // The returned variables are used at the end of the body.
        let n = f.body.len();
        paths.entry(*v).or_default().push(vec![(0, n)]);
    }
    let mut decl_at: HashMap<StmtId, Vec<(VarId, Decl)>> = HashMap::default();
    let mut let_at = HashMap::default();
    let mut vars: Vec<&VarId> = paths.keys().collect();
    vars.sort();
    for &v in vars {
        if params.contains(&v) || folded.contains(&v) {
            continue;
        }
        let ps = &paths[&v];
        // The innermost block holding every occurrence, and the first statement there.
        let mut depth = 0;
        while let Some(b) = ps[0].get(depth).map(|x| x.0) {
            if ps.iter().any(|p| p.get(depth).map(|x| x.0) != Some(b)) {
                break;
            }
            depth += 1;
            if ps.iter().any(|p| p.len() <= depth) {
                break;
            }
        }
        let depth = depth.max(1) - 1;
        let block = ps[0][depth].0;
        let first = ps.iter().map(|p| p[depth].1).min().unwrap_or(0);
        let stmts = &block_stmts[&block];
        let mutable = writes[v.index()] > 1 || partial[v.index()];
        match stmts.get(first) {
            Some(&s) => {
                let sid = s as StmtId;
                let is_def = matches!(s, Stmt::Assign { target, op, .. }
                    if *target == v && !visit::op_reads(op).contains(&v));
                let def_here = matches!(s, Stmt::Assign { target, .. } if *target == v)
                    || matches!(s, Stmt::Sweep(Sweep::Call { target: Some(t), .. }) if *t == v)
                    || matches!(s, Stmt::Sweep(Sweep::Kernel(
                        Kernel::SumAll { target: t, .. } | Kernel::Along { target: t, .. }
                    )) if *t == v);
                if is_def || (def_here && !visit::effects(s).reads.contains(&v)) {
                    let_at.insert(sid, mutable);
                    decl_at
                        .entry(sid)
                        .or_default()
                        .push((v, Decl::AtAssign { mutable }));
                } else {
                    decl_at
                        .entry(sid)
                        .or_default()
                        .push((v, Decl::Before(sid, false)));
                }
            }
            None => {
                // Only used at the end (a result never assigned): declare at the end.
                decl_at
                    .entry(std::ptr::null())
                    .or_default()
                    .push((v, Decl::Before(std::ptr::null(), true)));
            }
        }
    }
    Layout {
        folded,
        while_header,
        decl_at,
        let_at,
    }
}

fn collect_paths<'a>(
    b: &'a Block,
    prefix: &mut Vec<(usize, usize)>,
    next: &mut usize,
    paths: &mut HashMap<VarId, Vec<Vec<(usize, usize)>>>,
    blocks: &mut HashMap<usize, Vec<&'a Stmt>>,
) {
    let id = *next;
    *next += 1;
    blocks.insert(id, b.iter().collect());
    for (i, s) in b.iter().enumerate() {
        prefix.push((id, i));
        let e = visit::effects(s);
        let mut mentioned: Vec<VarId> = e.reads;
        mentioned.extend(e.writes.iter().map(|w| w.var));
        mentioned.sort();
        mentioned.dedup();
        for v in mentioned {
            paths.entry(v).or_default().push(prefix.clone());
        }
        for c in visit::children(s) {
            collect_paths(c, prefix, next, paths, blocks);
        }
        prefix.pop();
    }
}

/// Marks the temporaries of `b` (and nested blocks) that fold into their single use.
fn fold_block(
    f: &Function,
    b: &Block,
    reads: &[usize],
    writes: &[usize],
    folded: &mut HashSet<VarId>,
    while_header: &mut HashSet<StmtId>,
    deep: &mut HashMap<VarId, HashSet<VarId>>,
) {
    for (i, s) in b.iter().enumerate() {
        for c in visit::children(s) {
            fold_block(f, c, reads, writes, folded, while_header, deep);
        }
        if let Stmt::While {
            cond_block,
            cond: Atom::Var(c),
            ..
        } = s
        {
            let single = cond_block.len() == 1
                || cond_block[..cond_block.len().saturating_sub(1)]
                    .iter()
                    .all(|st| matches!(st, Stmt::Assign { target, .. } if folded.contains(target)));
            if single {
                if let Some(Stmt::Assign { target, op, .. }) = cond_block.last() {
                    if target == c && foldable_var(f, *c, reads, writes) && pure(op) {
                        folded.insert(*c);
                        while_header.insert(s as StmtId);
                    }
                }
            }
        }
        let Stmt::Assign { target: t, op, .. } = s else {
            continue;
        };
        if !foldable_var(f, *t, reads, writes) || !pure(op) {
            continue;
        }
        // The single use: the next statement that mentions `t`, with nothing in between
        // writing what `op` reads, directly or through the temporaries folded into it.
        let mut op_reads: HashSet<VarId> = HashSet::default();
        for r in visit::op_reads(op) {
            op_reads.insert(r);
            if let Some(inner) = deep.get(&r) {
                op_reads.extend(inner.iter().copied());
            }
        }
        for u in &b[i + 1..] {
            let e = visit::effects(u);
            if e.reads.contains(t) {
                folded.insert(*t);
                deep.insert(*t, op_reads);
                break;
            }
            let nested_use = visit::children(u)
                .iter()
                .any(|c| visit::block_reads(c).contains(t));
            if nested_use {
                break;
            }
            let clobbers = e.writes.iter().any(|w| op_reads.contains(&w.var))
                || visit::children(u)
                    .iter()
                    .any(|c| visit::block_writes(c).iter().any(|w| op_reads.contains(w)));
            if clobbers {
                break;
            }
        }
    }
}

fn foldable_var(f: &Function, t: VarId, reads: &[usize], writes: &[usize]) -> bool {
    f.var(t).origin == Origin::Temp && reads[t.index()] == 1 && writes[t.index()] == 1
}

fn pure(op: &Op) -> bool {
    !matches!(op, Op::Call(_))
}
