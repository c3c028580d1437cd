//! Building statements: the small helpers both transforms use to emit three-address code
//! (a temporary per operation, partial derivatives flattened from the rule table, products
//! that skip unit factors and keep zeros zero).

use crate::ir::*;
use crate::rules::{self, Prim, Types, D};
use crate::shape::Ty;
use proc_macro2::Span;

fn span() -> Span {
    Span::call_site()
}

/// `v = 0` for a float, every float of `v` zero otherwise.
pub fn zero_all(f: &Function, v: VarId) -> Stmt {
    if *f.ty(v) == Ty::Float {
        Stmt::Assign {
            target: v,
            op: Op::Use(Atom::Float(0.0)),
            span: span(),
        }
    } else {
        Stmt::Sweep(Sweep::Kernel(Kernel::ZeroAll { y: Place::var(v) }))
    }
}

/// `op` into a fresh temporary of type `ty`.
pub fn assign(f: &mut Function, out: &mut Block, op: Op, ty: Ty) -> Atom {
    let t = f.add_var("", ty, span(), Origin::Temp);
    out.push(Stmt::Assign {
        target: t,
        op,
        span: span(),
    });
    Atom::Var(t)
}

/// `-a`.
pub fn neg(f: &mut Function, out: &mut Block, a: Atom) -> Atom {
    match a {
        Atom::Float(x) => Atom::Float(-x),
        a => assign(f, out, Op::Prim(prim("neg"), vec![a]), Ty::Float),
    }
}

/// `a + b` on floats, skipping literal zeros.
pub fn add(f: &mut Function, out: &mut Block, a: Atom, b: Atom) -> Atom {
    match (&a, &b) {
        (Atom::Float(x), _) if *x == 0.0 => b,
        (_, Atom::Float(y)) if *y == 0.0 => a,
        _ => assign(f, out, Op::Prim(prim("add"), vec![a, b]), Ty::Float),
    }
}

/// `d * partial` for a derivative `d` (an adjoint or a tangent), without the
/// multiplication where either factor is a unit; where the partial can be infinite at a
/// finite point (`singular`), a zero `d` gives zero (`grad::runtime::scaled`).
pub fn scale(f: &mut Function, out: &mut Block, d: Atom, partial: Atom, singular: bool) -> Atom {
    match (&d, &partial) {
        (_, Atom::Float(x)) if *x == 1.0 => d,
        (_, Atom::Float(x)) if *x == -1.0 => neg(f, out, d),
        (Atom::Float(x), _) if *x == 1.0 => partial,
        (Atom::Float(x), _) if *x == -1.0 => neg(f, out, partial),

        (Atom::Float(x), _) | (_, Atom::Float(x)) if *x == 0.0 && !singular => Atom::Float(0.0),
        // A nonzero literal factor needs no guard.
        (Atom::Float(x), _) if *x != 0.0 && x.is_finite() => {
            assign(f, out, Op::Prim(prim("mul"), vec![d, partial]), Ty::Float)
        }
        _ if singular => match power_of_two_over(out, &partial) {
            // `scaled(d, c / x)` is `scaled(d, 1 / x) * c` exactly for a power of two `c`:
            // the constant outside the guard, where like terms can cancel it (the `0.5`
            // of `sqrt`'s partial against the `2` of a square under it).
            Some((c, x)) => {
                let inverse = Op::Prim(prim("div"), vec![Atom::Float(1.0), x]);
                let inverse = assign(f, out, inverse, Ty::Float);
                let guarded = Op::Prim(prim("scaled"), vec![d, inverse]);
                let guarded = assign(f, out, guarded, Ty::Float);
                let times = Op::Prim(prim("mul"), vec![guarded, Atom::Float(c)]);
                assign(f, out, times, Ty::Float)
            }
            None => assign(
                f,
                out,
                Op::Prim(prim("scaled"), vec![d, partial]),
                Ty::Float,
            ),
        },
        _ => assign(f, out, Op::Prim(prim("mul"), vec![d, partial]), Ty::Float),
    }
}

/// `(c, x)` when `partial` was just computed in `out` as `c / x` for a literal `c` that is a
/// power of two other than 1 (`0.5`, `2`, `-0.5`, ...): scaling by it is exact.
fn power_of_two_over(out: &Block, partial: &Atom) -> Option<(f64, Atom)> {
    let v = partial.var()?;
    let op = out.iter().rev().find_map(|s| match s {
        Stmt::Assign { target, op, .. } if *target == v => Some(op),
        _ => None,
    })?;
    let Op::Prim(p, args) = op else {
        return None;
    };
    let [Atom::Float(c), x] = args.as_slice() else {
        return None;
    };
    let m = c.abs();
    let power_of_two = m.is_normal() && m != 1.0 && m.to_bits() & ((1u64 << 52) - 1) == 0;
    (p.rule().name == "div" && power_of_two).then(|| (*c, x.clone()))
}

fn prim(name: &str) -> Prim {
    rules::prim(name).expect("the rule table has it")
}

/// The partials of `p` applied to `args` (result `result`) for the operands `wanted`,
/// flattened into statements; `None` where not wanted, zero, or an integer operand.
pub fn partials(
    f: &mut Function,
    out: &mut Block,
    p: Prim,
    args: &[Atom],
    result: &Atom,
    wanted: &[bool],
) -> Vec<Option<Atom>> {
    let symbols: Vec<D> = (0..args.len()).map(D::Arg).collect();
    p.partials(&symbols, D::Out)
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let d = d.filter(|_| wanted[i] && !p.rule().int_operands.contains(&i))?;
            Some(emit(f, out, &d, args, result))
        })
        .collect()
}

/// Flattens a rule expression into statements; returns the atom holding its value.
pub fn emit(f: &mut Function, out: &mut Block, d: &D, args: &[Atom], result: &Atom) -> Atom {
    match d {
        D::Arg(i) => args[*i].clone(),
        D::Out => result.clone(),
        D::Lit(x) => Atom::Float(*x),
        D::Int(n) => Atom::Int(*n),
        D::Bool(b) => Atom::Bool(*b),
        D::Const(name) => {
            let value = match *name {
                "LN_2" => std::f64::consts::LN_2,
                "LN_10" => std::f64::consts::LN_10,
                _ => f64::NAN,
            };
            let path = vec![
                "core".into(),
                "f64".into(),
                "consts".into(),
                name.to_string(),
            ];
            assign(
                f,
                out,
                Op::Const(Const {
                    path,
                    value: Some(value),
                }),
                Ty::Float,
            )
        }
        D::Apply(p, ds) => {
            let atoms: Vec<Atom> = ds.iter().map(|d| emit(f, out, d, args, result)).collect();
            if let Some(folded) = fold(*p, &atoms) {
                return folded;
            }
            let int = atoms.iter().all(|a| f.atom_ty(a) == Ty::Int);
            let ty = if int { Ty::Int } else { Ty::Float };
            assign(f, out, Op::Prim(*p, atoms), ty)
        }
        D::Cmp(op, a, b) => {
            let a = emit(f, out, a, args, result);
            let b = emit(f, out, b, args, result);
            match (literal(&a), literal(&b)) {
                (Some(x), Some(y)) => Atom::Bool(op.holds(x, y)),
                _ => assign(f, out, Op::Cmp(*op, a, b), Ty::Bool),
            }
        }
        D::Select(c, a, b) => {
            let c = emit(f, out, c, args, result);
            if let Atom::Bool(c) = c {
                return emit(f, out, if c { a } else { b }, args, result);
            }
            let a = emit(f, out, a, args, result);
            let b = emit(f, out, b, args, result);
            if a == b {
                return a;
            }
            let ty = f.atom_ty(&a);
            assign(f, out, Op::Select(c, a, b), ty)
        }
        D::ToFloat(a) => match emit(f, out, a, args, result) {
            Atom::Int(n) => Atom::Float(n as f64),
            a => assign(f, out, Op::Cast(a, CastTo::Float), Ty::Float),
        },
    }
}

/// A literal's value, integer or float.
fn literal(a: &Atom) -> Option<f64> {
    match a {
        Atom::Float(x) => Some(*x),
        Atom::Int(n) => Some(*n as f64),
        _ => None,
    }
}

/// Folds a primitive of literals (integer arithmetic included: a `powi` exponent minus one),
/// and `x * 1`, `1 * x`, `x / 1`, `x.powi(1)`.
fn fold(p: Prim, atoms: &[Atom]) -> Option<Atom> {
    let lit = |a: &Atom| match a {
        Atom::Float(x) => Some(*x),
        _ => None,
    };
    if p.rule().types != Types::Int && atoms.iter().all(|a| lit(a).is_some()) {
        let xs: Vec<f64> = atoms.iter().filter_map(lit).collect();
        return Some(Atom::Float((p.rule().eval)(&xs)));
    }
    let ints: Option<Vec<i64>> = atoms
        .iter()
        .map(|a| match a {
            Atom::Int(n) => Some(*n),
            _ => None,
        })
        .collect();
    if let Some(ns) = ints.filter(|_| p.rule().types != Types::Float) {
        return (p.rule().eval_int)(&ns).map(Atom::Int);
    }
    match (p.rule().name, atoms) {
        ("mul", [a, b]) if lit(b) == Some(1.0) => Some(a.clone()),
        ("mul", [a, b]) if lit(a) == Some(1.0) => Some(b.clone()),
        ("div", [a, b]) if lit(b) == Some(1.0) => Some(a.clone()),
        ("powi", [a, Atom::Int(1)]) => Some(a.clone()),
        _ => None,
    }
}
