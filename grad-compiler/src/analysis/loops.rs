//! Loop classification, before the transforms: which `for` loops are sum-reductions, and
//! which of those are dot products the runtime's kernels compute.
//!
//! A *sum-reduction* carries no state across iterations but accumulators: variables the body
//! only updates with `+=`/`-=` and never reads. The adjoint of an accumulator is the same in
//! every iteration, so the reverse transform needs no storage for such a loop.

use crate::hash::{HashMap, HashSet};
use crate::ir::*;
use crate::shape::{Len, SeqKind, Ty};
use crate::visit;

/// What a loop is.
#[derive(Clone, Debug, PartialEq)]
pub enum LoopKind {
    /// A sum-reduction over these accumulators (floats first, then passive counters).
    Reduction { accs: Vec<VarId> },
    /// Anything else.
    General,
}

/// Classifies a loop with body `body` inside a function whose whole body is `whole`.
pub fn classify(f: &Function, body: &Block, whole: &Block) -> LoopKind {
    let inside_writes: HashSet<VarId> = visit::block_writes(body).into_iter().collect();
    let inside_reads: HashSet<VarId> = visit::block_reads(body).into_iter().collect();
    let inside_stmts = visit::count(body);
    let mut outside_touch: HashSet<VarId> = HashSet::default();
    let mut seen_inside = 0usize;
    // Every variable read or written by a statement outside this loop body.
    walk_outside(whole, body, &mut seen_inside, &mut |s| {
        let e = visit::effects(s);
        outside_touch.extend(e.reads);
        outside_touch.extend(e.writes.iter().map(|w| w.var));
    });
    let _ = inside_stmts;
    outside_touch.extend(f.returns.iter().copied());
    let mut accs = Vec::new();
    for v in inside_writes {
        if !outside_touch.contains(&v) {
            continue;
        }
        // Carried: it must be an accumulator.
        let scalar = matches!(f.ty(v), Ty::Float | Ty::Int);
        if !scalar || read_in_body(body, v) || !only_accumulated(body, v) {
            return LoopKind::General;
        }
        let _ = &inside_reads;
        accs.push(v);
    }
    accs.sort_by_key(|v| (*f.ty(*v) != Ty::Float, *v));
    LoopKind::Reduction { accs }
}

/// Walks `whole` skipping the block `skip` (found by address).
fn walk_outside<'a>(whole: &'a Block, skip: &Block, _n: &mut usize, f: &mut impl FnMut(&'a Stmt)) {
    if std::ptr::eq(whole, skip) {
        return;
    }
    for s in whole {
        f(s);
        for b in visit::children(s) {
            walk_outside(b, skip, _n, f);
        }
    }
}

/// Whether the body reads `v` other than through its own `v += ..` updates.
fn read_in_body(body: &Block, v: VarId) -> bool {
    let mut read = false;
    visit::walk(body, &mut |s| {
        let reads = match s {
            Stmt::Accumulate { place, value, .. } if place.root == v && place.is_var() => {
                value.var() == Some(v)
            }
            _ => visit::effects(s).reads.contains(&v),
        };
        read |= reads;
    });
    read
}

/// Whether every write of `v` in the body is `v += x` / `v -= x`.
fn only_accumulated(body: &Block, v: VarId) -> bool {
    let mut ok = true;
    visit::walk(body, &mut |s| {
        let writes_v = visit::effects(s).writes.iter().any(|w| w.var == v);
        if writes_v && !matches!(s, Stmt::Accumulate { place, .. } if place.is_var()) {
            ok = false;
        }
    });
    ok
}

/// Loops of at most this many iterations, known from the source, run as plain code: rustc
/// unrolls them, where a vector kernel would bring its call, its SIMD dispatch and their
/// build cost for a few products.
pub const FEW_ITERATIONS: usize = 8;

/// The number of iterations of `for _ in lo..hi` when the source fixes it: bounds computed
/// from integer literals (`0..3`, `1..=2`) and lengths of arrays of literal length
/// (`for e in [a, b, c]`, `for k in 0..v.len()` with `v: [f64; 3]`).
pub fn literal_trip_count(f: &Function, lo: &Atom, hi: &Atom) -> Option<usize> {
    let (lo, hi) = (literal_int(f, lo, 0)?, literal_int(f, hi, 0)?);
    usize::try_from(hi.checked_sub(lo)?).ok()
}

/// The value of an integer atom when the source fixes it (see [`literal_trip_count`]):
/// a literal, or an integer variable assigned once, from such values (a copy, an integer
/// cast of a small one, `+`, `-`, `*`) or as the length of an array of literal length.
fn literal_int(f: &Function, a: &Atom, depth: usize) -> Option<i64> {
    let v = match a {
        Atom::Int(n) => return Some(*n),
        Atom::Var(v) if depth < 4 && *f.ty(*v) == Ty::Int => *v,
        _ => return None,
    };
    let mut defs = Vec::new();
    visit::walk(&f.body, &mut |s| {
        if let Stmt::Assign { target, op, .. } = s {
            if *target == v {
                defs.push(op);
            }
        }
    });
    match defs.as_slice() {
        // `2usize` is `2 as usize`: an integer cast of a small literal keeps its value.
        [Op::Use(a) | Op::Cast(a, _)] => {
            literal_int(f, a, depth + 1).filter(|n| (0..=255).contains(n))
        }
        [Op::Len(place)] => match f.place_ty(place) {
            Ty::Seq(SeqKind::Array(Len::Lit(n)), _) => i64::try_from(n).ok(),
            _ => None,
        },
        [Op::Prim(p, args)] if args.len() == 2 => {
            let x = literal_int(f, &args[0], depth + 1)?;
            let y = literal_int(f, &args[1], depth + 1)?;
            match p.rule().name {
                "add" => x.checked_add(y),
                "sub" => x.checked_sub(y),
                "mul" => x.checked_mul(y),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `for j in lo..hi { acc += a[oa + j] * b[ob + j] }` (`-=` too), recognised after lowering.
#[derive(Clone, Debug)]
pub struct DotProduct {
    /// Integer statements computing the offsets, hoisted before the loop.
    pub prelude: Block,
    /// The accumulator.
    pub acc: VarId,
    /// `-=`.
    pub negate: bool,
    /// The first factor's sequence and the offset of element `j`.
    pub a: (Place, Atom),
    /// The second factor's.
    pub b: (Place, Atom),
    /// The loop's bounds.
    pub lo: Atom,
    pub hi: Atom,
}

/// Recognises a dot-product loop.
pub fn dot_product(f: &Function, s: &Stmt) -> Option<DotProduct> {
    let Stmt::For {
        var: j,
        lo,
        hi,
        rev: _,
        body,
        ..
    } = s
    else {
        return None;
    };
    let written: HashSet<VarId> = visit::block_writes(body).into_iter().collect();
    let mut defs: HashMap<VarId, &Op> = HashMap::default();
    let mut acc = None;
    for st in body {
        match st {
            Stmt::Assign { target, op, .. } => {
                if defs.insert(*target, op).is_some() {
                    return None;
                }
            }
            Stmt::Accumulate {
                place,
                value: Atom::Var(p),
                negate,
                ..
            } if place.is_var() && acc.is_none() => acc = Some((place.root, *p, *negate)),
            _ => return None,
        }
    }
    let (acc, product, negate) = acc?;
    if *f.ty(acc) != Ty::Float || defs.contains_key(&acc) {
        return None;
    }
    let Some(Op::Prim(p, args)) = defs.get(&product) else {
        return None;
    };
    if p.rule().name != "mul" || args.len() != 2 {
        return None;
    }
    let load = |a: &Atom| -> Option<(VarId, Atom)> {
        let Some(Op::Load(place)) = defs.get(&a.var()?) else {
            return None;
        };
        match place.path.as_slice() {
            [Proj::Index(i)]
                if f.ty(place.root).is_float_seq() && !written.contains(&place.root) =>
            {
                Some((place.root, i.clone()))
            }
            _ => None,
        }
    };
    let (ra, ia) = load(&args[0])?;
    let (rb, ib) = load(&args[1])?;
    // Every other statement computes integers for the indices.
    let used: HashSet<VarId> = [product, args[0].var()?, args[1].var()?]
        .into_iter()
        .collect();
    for (t, op) in &defs {
        if used.contains(t) {
            continue;
        }
        if *f.ty(*t) != Ty::Int || !matches!(op, Op::Prim(..) | Op::Use(_)) {
            return None;
        }
    }
    let mut prelude = Vec::new();
    let oa = offset(&defs, *j, &ia, &written, &mut prelude)?;
    let ob = offset(&defs, *j, &ib, &written, &mut prelude)?;
    Some(DotProduct {
        prelude,
        acc,
        negate,
        a: (Place::var(ra), oa),
        b: (Place::var(rb), ob),
        lo: lo.clone(),
        hi: hi.clone(),
    })
}

/// For an index of the form `j + c` (c invariant), `c`; its computation goes to `prelude`.
fn offset(
    defs: &HashMap<VarId, &Op>,
    j: VarId,
    index: &Atom,
    written: &HashSet<VarId>,
    prelude: &mut Block,
) -> Option<Atom> {
    if index.var() == Some(j) {
        return Some(Atom::Int(0));
    }
    let t = index.var()?;
    let Some(Op::Prim(p, args)) = defs.get(&t) else {
        return None;
    };
    if p.rule().name != "add" || args.len() != 2 {
        return None;
    }
    let (inner, inv) = if args[0].var() == Some(j) || depends_on_j(defs, j, &args[0]) {
        (&args[0], &args[1])
    } else {
        (&args[1], &args[0])
    };
    let c = offset(defs, j, inner, written, prelude)?;
    hoist(defs, j, inv, written, prelude)?;
    match c {
        Atom::Int(0) => Some(inv.clone()),
        _ => None,
    }
}

fn depends_on_j(defs: &HashMap<VarId, &Op>, j: VarId, a: &Atom) -> bool {
    match a.var() {
        Some(v) if v == j => true,
        Some(v) => match defs.get(&v) {
            Some(op) => visit::op_reads(op)
                .iter()
                .any(|r| depends_on_j(defs, j, &Atom::Var(*r))),
            None => false,
        },
        None => false,
    }
}

/// Copies the statements computing an invariant atom into `prelude`.
fn hoist(
    defs: &HashMap<VarId, &Op>,
    j: VarId,
    a: &Atom,
    written: &HashSet<VarId>,
    prelude: &mut Block,
) -> Option<()> {
    let Some(v) = a.var() else { return Some(()) };
    if v == j {
        return None;
    }
    if !written.contains(&v) {
        return Some(());
    }
    let op = *defs.get(&v)?;
    for r in visit::op_reads(op) {
        hoist(defs, j, &Atom::Var(r), written, prelude)?;
    }
    if !prelude
        .iter()
        .any(|s| matches!(s, Stmt::Assign { target, .. } if *target == v))
    {
        prelude.push(Stmt::Assign {
            target: v,
            op: op.clone(),
            span: proc_macro2::Span::call_site(),
        });
    }
    Some(())
}
