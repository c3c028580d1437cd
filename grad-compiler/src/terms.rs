//! Like terms combined, as a person simplifies what the product rule gives: the reverse
//! sweep of `3 * x * x * y` adds `y * (3x)` and `y * x * 3` into `x`'s adjoint, which is
//! `y * x * 6`; forward mode's `tan_x * 3 * x + tan_x * (3x)` is `tan_x * x * 6`.
//!
//! A *term* is a product of variables times a constant (a monomial), read through the
//! products (`mul`, `neg`, copies) that define its operands in the same block. A *sum* is an
//! `add`/`sub` of two terms, or a chain `v = a; .. v += b; .. v -= c` on a float local that
//! nothing else reads meanwhile. Terms of a sum whose variables are the same (as a multiset)
//! are combined into one product with the summed constant, when that takes fewer operations
//! than the sum as written (the products only the sum used become dead and go).
//!
//! A term's variables must keep their values from where the term is made to where the sum
//! is rewritten: a write of any of them ends the sum there. Combining changes the rounding
//! of the derivative in the last bits (as any reassociation does), never more; the product
//! multiplies the variables in the order the first term met them, the constant last, so a
//! zero adjoint met first keeps the product zero.

use crate::hash::HashMap;
use crate::ir::*;
use crate::rules;
use crate::shape::Ty;
use crate::tidy::Counts;
use crate::visit::{self, Deep};
use proc_macro2::Span;

/// The most variables a term may have (longer products are left as written).
const MAX_FACTORS: usize = 6;

/// A monomial: `coeff * factors[0] * factors[1] * ..`.
#[derive(Clone, Debug)]
struct Term {
    coeff: f64,
    factors: Vec<VarId>,
}

impl Term {
    fn times(&self, other: &Term) -> Option<Term> {
        let mut factors = self.factors.clone();
        factors.extend(&other.factors);
        (factors.len() <= MAX_FACTORS).then_some(Term {
            coeff: self.coeff * other.coeff,
            factors,
        })
    }
    /// The factors as a multiset (sorted), what like terms share.
    fn key(&self) -> Vec<VarId> {
        let mut k = self.factors.clone();
        k.sort();
        k
    }
}

/// What the pass needs to know about the whole function.
struct Facts {
    /// How often each variable is written and mentioned.
    counts: Counts,
    /// Float-typed variables.
    float: Vec<bool>,
    /// Derivative values: adjoints, tangents, seeds and what is computed from them. Only
    /// their sums are rewritten: the function's value and every decision it takes keep
    /// their exact bits.
    derivative: Vec<bool>,
}

/// Which variables hold derivative values: those a transform made as such (adjoints,
/// tangents, seeds, buffers, fused loops' partials) and everything computed from them. A
/// call's results are not followed (a companion's call returns the callee's value beside
/// its derivatives): some derivative sums stay as written, no value is taken for one.
fn derivative_values(f: &Function) -> Vec<bool> {
    use crate::names::Binder;
    let mut d: Vec<bool> = f
        .vars
        .iter()
        .map(|v| {
            matches!(
                v.origin,
                Origin::Made(
                    Binder::Adjoint
                        | Binder::Tangent
                        | Binder::Gradient
                        | Binder::HessianVector
                        | Binder::Direction
                        | Binder::Seed
                        | Binder::Partial
                        | Binder::Scratch
                        | Binder::UnitSeed,
                    _
                )
            )
        })
        .collect();
    loop {
        let mut changed = false;
        visit::walk(&f.body, &mut |s| {
            if matches!(
                s,
                Stmt::Sweep(Sweep::Call { .. })
                    | Stmt::Assign {
                        op: Op::Call(_),
                        ..
                    }
            ) {
                return;
            }
            let e = visit::effects(s);
            if e.reads.iter().any(|r| d[r.index()]) {
                for w in &e.writes {
                    changed |= !std::mem::replace(&mut d[w.var.index()], true);
                }
            }
        });
        if !changed {
            return d;
        }
    }
}

/// Combines like terms in every block of `f`; whether anything changed.
pub fn combine_like_terms(f: &mut Function) -> bool {
    let facts = Facts {
        counts: Counts::of(f),
        float: f.vars.iter().map(|v| v.ty == Ty::Float).collect(),
        derivative: derivative_values(f),
    };
    let mut body = std::mem::take(&mut f.body);
    let changed = block(f, &mut body, &facts);
    f.body = body;
    changed
}

/// A product defined in the block: its term, and how many operations computing it only its
/// one use needs (they go when that use does).
#[derive(Clone, Debug)]
struct Product {
    term: Term,
    own: usize,
}

type Products = HashMap<VarId, Product>;

/// A chain `v = a; v += b; ..` being read.
struct Chain {
    var: VarId,
    /// Each term, its sign folded into the constant.
    terms: Vec<Term>,
    /// The operations the chain takes as written (those only it needs, additions included).
    cost: usize,
    /// The statements of the chain.
    stmts: Vec<usize>,
    /// A copy of the sum so far, `t = v`, that the chain adds back later (`v += t`, the
    /// product rule's doubling of `x * x`): its variable and its statement.
    copy: Option<(VarId, usize)>,
    /// Products used more than once that the chain adds, each with the operations of its
    /// definition: where every use is in the chain, rewriting it makes them dead too.
    shared: Vec<(VarId, usize)>,
}

/// A rewrite of a block: statements removed, and statements put in place of one of them.
struct Rewrite {
    remove: Vec<usize>,
    at: usize,
    with: Vec<Stmt>,
}

fn block(f: &mut Function, b: &mut Block, facts: &Facts) -> bool {
    let mut changed = false;
    for s in b.iter_mut() {
        for c in visit::children_mut(s) {
            changed |= block(f, c, facts);
        }
    }
    let deep = Deep::of_block(b);
    // The products defined in this block whose factors still hold their values.
    let mut products: Products = HashMap::default();
    let mut chains: Vec<Chain> = Vec::new();
    let mut rewrites: Vec<Rewrite> = Vec::new();
    for j in 0..b.len() {
        if continues_chain(&b[j], &deep[j], &mut chains, &products, facts) {
            chains.last_mut().expect("a chain").stmts.push(j);
            // `continues_chain` moved the chain last.
            continue;
        }
        if let Some((k, copy)) = copy_added_back(b, &deep, j, &chains, facts) {
            chains[k].copy = Some((copy, j));
            continue;
        }
        // Anything else mentioning a chain's variable, or writing a term's factor, ends
        // that chain before this statement.
        let ends: Vec<usize> = (0..chains.len())
            .filter(|&k| {
                let c = &chains[k];
                deep[j].mentions(c.var)
                    || c.terms
                        .iter()
                        .any(|t| t.factors.iter().any(|x| deep[j].writes(*x)))
            })
            .collect();
        for k in ends.into_iter().rev() {
            let c = chains.remove(k);
            rewrites.extend(finish(f, b, c, facts));
        }
        products.retain(|v, p| {
            !deep[j].writes(*v) && !p.term.factors.iter().any(|x| deep[j].writes(*x))
        });
        let Stmt::Assign { target, op, span } = &b[j] else {
            continue;
        };
        let (target, span) = (*target, *span);
        if !facts.float[target.index()] {
            continue;
        }
        let derivative = facts.derivative[target.index()];
        let product =
            product_of(op, &products, facts).filter(|p| !p.term.factors.contains(&target));
        if let Some(p) = product {
            if facts.counts.writes[target.index()] == 1 {
                products.insert(target, p);
            } else if derivative {
                chains.push(Chain {
                    var: target,
                    terms: vec![p.term],
                    cost: p.own,
                    stmts: vec![j],
                    copy: None,
                    shared: Vec::new(),
                });
            }
        } else if !derivative {
            continue;
        } else if let Some(rw) = sum_op(f, target, op, span, j, &products, facts) {
            rewrites.push(rw);
        }
    }
    for c in chains {
        rewrites.extend(finish(f, b, c, facts));
    }
    if rewrites.is_empty() {
        return changed;
    }
    apply(b, rewrites);
    true
}

/// Adds `s` to the chain it continues (`v += a`, `v -= a`, `v += v`), moving that chain
/// last; whether it did.
fn continues_chain(
    s: &Stmt,
    deep: &Deep,
    chains: &mut Vec<Chain>,
    products: &Products,
    facts: &Facts,
) -> bool {
    let Stmt::Accumulate {
        place,
        value,
        negate,
        ..
    } = s
    else {
        return false;
    };
    let Some(k) = chains
        .iter()
        .position(|c| place.is_var() && c.var == place.root)
    else {
        return false;
    };
    let v = chains[k].var;
    // The value must not be another chain's unfinished sum.
    if deep
        .reads
        .iter()
        .any(|r| *r != v && chains.iter().any(|c| c.var == *r))
    {
        return false;
    }
    let copy = chains[k].copy.filter(|(t, _)| value.var() == Some(*t));
    let mut shared = None;
    let (mut extra, own) = if value.var() == Some(v) || copy.is_some() {
        (chains[k].terms.clone(), 0)
    } else {
        match product_of(&Op::Use(value.clone()), products, facts) {
            Some(p) if !p.term.factors.contains(&v) => {
                if let Some(u) = value.var().filter(|u| facts.counts.mentions[u.index()] > 2) {
                    shared = products.get(&u).map(|d| (u, d.own));
                }
                (vec![p.term], p.own)
            }
            _ => return false,
        }
    };
    if *negate {
        for t in &mut extra {
            t.coeff = -t.coeff;
        }
    }
    let mut c = chains.remove(k);
    c.shared.extend(shared);
    if let Some((_, at)) = copy {
        c.stmts.push(at);
        c.copy = None;
    }
    c.terms.extend(extra);
    c.cost += own + 1;
    chains.push(c);
    true
}

/// When statement `j` is `t = v`, a copy of chain `v`'s sum used once, by `v += t` with
/// nothing between mentioning `v` or writing a factor of its terms: that chain's index and
/// `t`. The chain then goes on through the copy (which goes with it when it is rewritten);
/// any other copy ends the chain, as any other mention does.
fn copy_added_back(
    b: &Block,
    deep: &[Deep],
    j: usize,
    chains: &[Chain],
    facts: &Facts,
) -> Option<(usize, VarId)> {
    let Stmt::Assign {
        target: t,
        op: Op::Use(Atom::Var(v)),
        ..
    } = &b[j]
    else {
        return None;
    };
    let k = chains.iter().position(|c| c.var == *v)?;
    let once = facts.counts.writes[t.index()] == 1 && facts.counts.mentions[t.index()] == 2;
    if !once || !facts.float[t.index()] || chains[k].copy.is_some() {
        return None;
    }
    let use_at = (j + 1..b.len()).find(|&m| deep[m].mentions(*t))?;
    let added_back = matches!(&b[use_at], Stmt::Accumulate { place, value: Atom::Var(u), .. }
        if place.is_var() && place.root == *v && u == t);
    let undisturbed = (j + 1..use_at).all(|i| {
        !deep[i].mentions(*v)
            && !chains[k]
                .terms
                .iter()
                .any(|term| term.factors.iter().any(|x| deep[i].writes(*x)))
    });
    (added_back && undisturbed).then_some((k, *t))
}

/// `target = a + b` or `a - b` of two like terms, as one product.
fn sum_op(
    f: &mut Function,
    target: VarId,
    op: &Op,
    span: Span,
    at: usize,
    products: &Products,
    facts: &Facts,
) -> Option<Rewrite> {
    let Op::Prim(p, args) = op else {
        return None;
    };
    let sign = match p.rule().name {
        "add" => 1.0,
        "sub" => -1.0,
        _ => return None,
    };
    let [a, b] = args.as_slice() else {
        return None;
    };
    let pa = product_of(&Op::Use(a.clone()), products, facts)?;
    let pb = product_of(&Op::Use(b.clone()), products, facts)?;
    if pa.term.key() != pb.term.key() {
        return None;
    }
    let combined = Term {
        coeff: pa.term.coeff + sign * pb.term.coeff,
        factors: pa.term.factors,
    };
    if product_ops(&combined) >= 1 + pa.own + pb.own {
        return None;
    }
    let mut with = Vec::new();
    build(f, &combined, facts, Some(target), span, &mut with);
    Some(Rewrite {
        remove: vec![at],
        at,
        with,
    })
}

/// The term an atom is: a literal, a product defined in this block, or a float variable;
/// with the operations only this use of it needs.
fn atom_product(a: &Atom, products: &Products, facts: &Facts) -> Option<Product> {
    match a {
        Atom::Float(c) => Some(Product {
            term: Term {
                coeff: *c,
                factors: Vec::new(),
            },
            own: 0,
        }),
        Atom::Var(v) => match products.get(v) {
            Some(p) => Some(Product {
                term: p.term.clone(),
                // Defined once, mentioned by its definition and this use only.
                own: if facts.counts.mentions[v.index()] == 2 {
                    p.own
                } else {
                    0
                },
            }),
            None if facts.float[v.index()] => Some(Product {
                term: Term {
                    coeff: 1.0,
                    factors: vec![*v],
                },
                own: 0,
            }),
            None => None,
        },
        _ => None,
    }
}

/// The term an operation computes, if it is a product (`mul`, `neg`, a copy), with the
/// operations only it needs (itself included).
fn product_of(op: &Op, products: &Products, facts: &Facts) -> Option<Product> {
    match op {
        Op::Use(a) => atom_product(a, products, facts),
        Op::Prim(p, args) => match (p.rule().name, args.as_slice()) {
            ("mul", [a, b]) => {
                let (pa, pb) = (
                    atom_product(a, products, facts)?,
                    atom_product(b, products, facts)?,
                );
                Some(Product {
                    term: pa.term.times(&pb.term)?,
                    own: 1 + pa.own + pb.own,
                })
            }
            ("neg", [a]) => {
                let mut p = atom_product(a, products, facts)?;
                p.term.coeff = -p.term.coeff;
                p.own += 1;
                Some(p)
            }
            _ => None,
        },
        _ => None,
    }
}

/// How many operations the product of `t` takes.
fn product_ops(t: &Term) -> usize {
    if t.factors.is_empty() {
        return 0;
    }
    t.factors.len() - 1 + usize::from(t.coeff != 1.0)
}

/// The rewrite of a finished chain, when like terms make it shorter.
fn finish(f: &mut Function, b: &Block, c: Chain, facts: &Facts) -> Option<Rewrite> {
    let mut groups: Vec<(Vec<VarId>, Term)> = Vec::new();
    for t in &c.terms {
        let key = t.key();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.coeff += t.coeff,
            None => groups.push((key, t.clone())),
        }
    }
    if groups.len() == c.terms.len() {
        return None;
    }
    let groups: Vec<Term> = groups
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.coeff != 0.0)
        .collect();
    let new = groups.len().saturating_sub(1) + groups.iter().map(product_ops).sum::<usize>();
    // A shared product all of whose uses the chain adds goes with the chain.
    let mut freed = 0;
    let mut seen: Vec<VarId> = Vec::new();
    for &(u, ops) in &c.shared {
        let uses = c.shared.iter().filter(|(w, _)| *w == u).count();
        if !seen.contains(&u) && uses + 1 == facts.counts.mentions[u.index()] {
            freed += ops;
        }
        seen.push(u);
    }
    if new >= c.cost + freed {
        return None;
    }
    let span = match &b[c.stmts[0]] {
        Stmt::Assign { span, .. } | Stmt::Accumulate { span, .. } => *span,
        _ => Span::call_site(),
    };
    let mut with = Vec::new();
    if groups.is_empty() {
        with.push(Stmt::Assign {
            target: c.var,
            op: Op::Use(Atom::Float(0.0)),
            span,
        });
    }
    for (k, t) in groups.iter().enumerate() {
        if k == 0 {
            build(f, t, facts, Some(c.var), span, &mut with);
        } else {
            let part = build(f, t, facts, None, span, &mut with);
            with.push(Stmt::Accumulate {
                place: Place::var(c.var),
                value: part,
                negate: false,
                span,
            });
        }
    }
    Some(Rewrite {
        remove: c.stmts.clone(),
        at: *c.stmts.last().expect("a chain has statements"),
        with,
    })
}

/// One step of building a product: the product so far times an atom (on the right or on
/// the left), or negated.
enum Step {
    Times(Atom),
    TimesLeft(Atom),
    Negate,
}

/// Statements computing `t`, the last one into `target` when given; the atom holding it.
/// The values' factors come first, in the order the first term met them, with the constant,
/// and the derivatives last, on the left: `adj * (x * y * 6.0)`, as a person writes a
/// partial times an adjoint. The values' part is then the same for every adjoint (rustc
/// shares it between a Jacobian's rows) and a zero adjoint meets one finite partial.
fn build(
    f: &mut Function,
    t: &Term,
    facts: &Facts,
    target: Option<VarId>,
    span: Span,
    out: &mut Vec<Stmt>,
) -> Atom {
    let (values, derivatives): (Vec<VarId>, Vec<VarId>) =
        t.factors.iter().partition(|v| !facts.derivative[v.index()]);
    let scale = (t.coeff != 1.0 && t.coeff != -1.0).then_some(Atom::Float(t.coeff));
    let mut atoms: Vec<(Atom, bool)> = values.iter().map(|v| (Atom::Var(*v), false)).collect();
    if !values.is_empty() {
        atoms.extend(scale.clone().map(|c| (c, false)));
    }
    atoms.extend(derivatives.iter().map(|v| (Atom::Var(*v), true)));
    if values.is_empty() {
        atoms.extend(scale.map(|c| (c, false)));
    }
    let mut atoms = atoms.into_iter();
    let Some((first, _)) = atoms.next() else {
        return assign(f, target, Op::Use(Atom::Float(t.coeff)), span, out);
    };
    let mut steps: Vec<Step> = atoms
        .map(|(a, left)| {
            if left {
                Step::TimesLeft(a)
            } else {
                Step::Times(a)
            }
        })
        .collect();
    if t.coeff == -1.0 {
        steps.push(Step::Negate);
    }
    let (mul, neg) = (
        rules::prim("mul").expect("mul is a primitive"),
        rules::prim("neg").expect("neg is a primitive"),
    );
    let mut acc = first;
    if steps.is_empty() {
        return assign(f, target, Op::Use(acc), span, out);
    }
    let last = steps.len() - 1;
    for (k, step) in steps.into_iter().enumerate() {
        let op = match step {
            Step::Times(a) => Op::Prim(mul, vec![acc, a]),
            Step::TimesLeft(a) => Op::Prim(mul, vec![a, acc]),
            Step::Negate => Op::Prim(neg, vec![acc]),
        };
        acc = assign(f, if k == last { target } else { None }, op, span, out);
    }
    acc
}

/// `target = op` (a new temporary when no target is given); the atom holding the value.
fn assign(
    f: &mut Function,
    target: Option<VarId>,
    op: Op,
    span: Span,
    out: &mut Vec<Stmt>,
) -> Atom {
    let target = target.unwrap_or_else(|| f.add_var("", Ty::Float, span, Origin::Temp));
    out.push(Stmt::Assign { target, op, span });
    Atom::Var(target)
}

/// Applies the rewrites: each removes its statements and puts its own at `at`.
fn apply(b: &mut Block, rewrites: Vec<Rewrite>) {
    let mut at: HashMap<usize, Vec<Stmt>> = HashMap::default();
    let mut removed = vec![false; b.len()];
    for rw in rewrites {
        for k in rw.remove {
            removed[k] = true;
        }
        at.entry(rw.at).or_default().extend(rw.with);
    }
    let old = std::mem::take(b);
    for (k, s) in old.into_iter().enumerate() {
        if let Some(with) = at.remove(&k) {
            b.extend(with);
        }
        if !removed[k] {
            b.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Binder;
    use crate::shape::FloatTy;
    use crate::testing::pretty;

    /// A function of a float `x` (a value) and `adj` (an adjoint), with `body` built over
    /// them (it may add variables).
    fn function(body: impl FnOnce(&mut Function, VarId, VarId) -> Block) -> Function {
        let mut f = Function::new(FloatTy::F64);
        let s = Span::call_site();
        let x = f.add_var("x", Ty::Float, s, Origin::Param(0));
        let adj = f.add_var("adj", Ty::Float, s, Origin::Made(Binder::Adjoint, None));
        for (v, written) in [(x, "f64"), (adj, "f64")] {
            f.params.push(Param {
                var: v,
                passing: Passing::Value,
                written: syn::parse_str(written).unwrap(),
            });
        }
        let body = body(&mut f, x, adj);
        f.body = body;
        f
    }

    /// A float local: a derivative (an adjoint) or a value the user named.
    fn local(f: &mut Function, name: &str, derivative: bool) -> VarId {
        let origin = if derivative {
            Origin::Made(Binder::Adjoint, None)
        } else {
            Origin::User
        };
        f.add_var(name, Ty::Float, Span::call_site(), origin)
    }

    fn assign(target: VarId, op: Op) -> Stmt {
        Stmt::Assign {
            target,
            op,
            span: Span::call_site(),
        }
    }

    fn add_into(v: VarId, value: Atom) -> Stmt {
        Stmt::Accumulate {
            place: Place::var(v),
            value,
            negate: false,
            span: Span::call_site(),
        }
    }

    fn mul(a: Atom, b: Atom) -> Op {
        Op::Prim(rules::prim("mul").unwrap(), vec![a, b])
    }

    /// `3x * x * y`'s adjoint of `x` as the reverse sweep writes it: `g = adj * (3x);
    /// g += adj * x * 3`.
    fn product_rule(write_between: bool) -> Function {
        function(|f, x, adj| {
            let (g, t1, t2, t3) = (
                local(f, "g", true),
                local(f, "t1", false),
                local(f, "t2", false),
                local(f, "t3", false),
            );
            let mut b = vec![
                assign(t1, mul(Atom::Float(3.0), Atom::Var(x))),
                assign(g, mul(Atom::Var(adj), Atom::Var(t1))),
                assign(t2, mul(Atom::Var(adj), Atom::Var(x))),
                assign(t3, mul(Atom::Var(t2), Atom::Float(3.0))),
            ];
            if write_between {
                // `x` changes: the first term was made with its old value.
                b.insert(2, assign(x, mul(Atom::Var(x), Atom::Float(2.0))));
            }
            b.push(add_into(g, Atom::Var(t3)));
            f.returns = vec![g];
            b
        })
    }

    #[test]
    fn like_terms_of_the_product_rule_are_one_product() {
        let mut f = product_rule(false);
        assert!(combine_like_terms(&mut f));
        crate::cleanup::remove_dead_assignments(&mut f);
        let text = pretty::function(&f);
        // `g = adj * (x * 6)`: the values' part first, the adjoint last.
        let want = "    %6 = mul(x%0, 6.0)\n    g%2 = mul(adj%1, %6)\n";
        assert!(text.ends_with(want), "{text}");
        assert!(!text.contains("t2%4"), "{text}");
    }

    #[test]
    fn a_factor_written_between_the_terms_keeps_them_apart() {
        let mut f = product_rule(true);
        let before = pretty::function(&f);
        combine_like_terms(&mut f);
        assert_eq!(pretty::function(&f), before);
    }

    #[test]
    fn sums_of_values_keep_their_bits() {
        // `s = x * 0.9 + x` is the function's value, not a derivative: as written.
        let mut f = function(|f, x, _| {
            let (t, s) = (local(f, "t", false), local(f, "s", false));
            f.returns = vec![s];
            vec![
                assign(t, mul(Atom::Var(x), Atom::Float(0.9))),
                assign(
                    s,
                    Op::Prim(
                        rules::prim("add").unwrap(),
                        vec![Atom::Var(t), Atom::Var(x)],
                    ),
                ),
            ]
        });
        assert!(!combine_like_terms(&mut f));
        // The same sum of adjoints is one product.
        let mut f = function(|f, _, adj| {
            let (t, s) = (local(f, "t", true), local(f, "s", true));
            f.returns = vec![s];
            vec![
                assign(t, mul(Atom::Var(adj), Atom::Float(0.9))),
                assign(
                    s,
                    Op::Prim(
                        rules::prim("add").unwrap(),
                        vec![Atom::Var(t), Atom::Var(adj)],
                    ),
                ),
            ]
        });
        assert!(combine_like_terms(&mut f));
        let text = pretty::function(&f);
        assert!(text.contains("mul(adj%1, 1.9)"), "{text}");
    }

    /// `x * x`'s adjoint as the reverse sweep leaves it: `g = h * x; c = g; g += c` with
    /// `h = adj * 0.5` (the `0.5` of `0.5 * x * x`); with `between`, `g` is read between the
    /// copy and its addition.
    fn doubled(between: bool) -> Function {
        function(|f, x, adj| {
            let (h, g, c, r) = (
                local(f, "h", true),
                local(f, "g", true),
                local(f, "c", true),
                local(f, "r", true),
            );
            let mut b = vec![
                assign(h, mul(Atom::Var(adj), Atom::Float(0.5))),
                assign(g, mul(Atom::Var(h), Atom::Var(x))),
                assign(c, Op::Use(Atom::Var(g))),
                add_into(g, Atom::Var(c)),
            ];
            if between {
                b.insert(3, assign(r, Op::Use(Atom::Var(g))));
                f.returns = vec![g, r];
            } else {
                f.returns = vec![g];
            }
            b
        })
    }

    #[test]
    fn a_sum_doubled_through_a_copy_is_one_product() {
        let mut f = doubled(false);
        assert!(combine_like_terms(&mut f));
        crate::cleanup::remove_dead_assignments(&mut f);
        let text = pretty::function(&f);
        // `0.5 * 2` cancels: `g = adj * x`.
        assert!(text.ends_with("    g%3 = mul(adj%1, x%0)\n"), "{text}");
        assert!(!text.contains("c%4"), "{text}");
    }

    #[test]
    fn a_copy_read_before_it_is_added_back_keeps_the_sum_as_written() {
        let mut f = doubled(true);
        let before = pretty::function(&f);
        combine_like_terms(&mut f);
        assert_eq!(pretty::function(&f), before);
    }

    #[test]
    fn a_product_only_the_sum_uses_goes_with_it() {
        // `t = h * x` added twice (`g = adj; g += t; g += t`, `h = adj * 0.5`): written as
        // `g = adj + adj * x`, `t` and `h` dead.
        let mut f = function(|f, x, adj| {
            let (h, t, g) = (
                local(f, "h", true),
                local(f, "t", true),
                local(f, "g", true),
            );
            f.returns = vec![g];
            vec![
                assign(h, mul(Atom::Var(adj), Atom::Float(0.5))),
                assign(t, mul(Atom::Var(h), Atom::Var(x))),
                assign(g, mul(Atom::Var(adj), Atom::Float(3.0))),
                add_into(g, Atom::Var(t)),
                add_into(g, Atom::Var(t)),
            ]
        });
        assert!(combine_like_terms(&mut f));
        crate::cleanup::remove_dead_assignments(&mut f);
        let text = pretty::function(&f);
        assert!(text.contains("mul(adj%1, x%0)"), "{text}");
        assert!(!text.contains("t%3"), "{text}");
        assert!(!text.contains("h%2"), "{text}");
    }
}
