//! The one table of derivative rules.
//!
//! For each primitive `out = p(a, b, ..)` the table gives the local partial derivatives
//! `d out / d a`, `d out / d b`, .. as expressions over the operands and the result. Forward
//! mode multiplies them by tangents, reverse mode by adjoints; neither knows any rule itself.
//! Conventions at kinks (documented in the README): `abs'(0) = 1`; at a tie `max`/`min` pass
//! the derivative to the second argument; `powf`'s exponent derivative is 0 where the base is 0.

use crate::ir::{CmpOp, Expr, Prim};

/// The partial derivatives of one primitive application.
pub struct Partials {
    /// One entry per operand; `None` where the partial is identically zero (or the operand is
    /// an integer, like `powi`'s exponent).
    pub wrt: Vec<Option<Expr>>,
    /// Whether a partial can be infinite or NaN at a finite point (a singularity), in which
    /// case a zero adjoint or tangent must be kept zero rather than multiplied (0 * inf = NaN).
    pub singular: bool,
}

fn b(e: Expr) -> Box<Expr> {
    Box::new(e)
}
fn add(x: Expr, y: Expr) -> Expr {
    Expr::Add(b(x), b(y))
}
fn sub(x: Expr, y: Expr) -> Expr {
    Expr::Sub(b(x), b(y))
}
fn mul(x: Expr, y: Expr) -> Expr {
    Expr::Mul(b(x), b(y))
}
fn div(x: Expr, y: Expr) -> Expr {
    Expr::Div(b(x), b(y))
}
fn neg(x: Expr) -> Expr {
    Expr::Neg(b(x))
}
fn m(p: Prim, args: Vec<Expr>) -> Expr {
    Expr::Method(p, args)
}
fn one() -> Expr {
    Expr::float(1.0)
}
fn select(c: Expr, x: Expr, y: Expr) -> Expr {
    Expr::Select(b(c), b(x), b(y))
}
fn cmp(op: CmpOp, x: Expr, y: Expr) -> Expr {
    Expr::Cmp(op, b(x), b(y))
}

/// The partials of `out = prim(args)`. `args` are the operands as expressions, `out` the result.
pub fn partials(prim: Prim, args: &[Expr], out: &Expr) -> Partials {
    use Prim::*;
    let a = || args[0].clone();
    let y = || args[1].clone();
    let o = || out.clone();
    let smooth = |wrt: Vec<Option<Expr>>| Partials {
        wrt,
        singular: false,
    };
    let singular = |wrt: Vec<Option<Expr>>| Partials {
        wrt,
        singular: true,
    };
    match prim {
        // Linear.
        Neg => smooth(vec![Some(Expr::float(-1.0))]),
        Add => smooth(vec![Some(one()), Some(one())]),
        Sub => smooth(vec![Some(one()), Some(Expr::float(-1.0))]),
        MulAdd => smooth(vec![Some(y()), Some(a()), Some(one())]),
        // Bilinear and rational.
        Mul => smooth(vec![Some(y()), Some(a())]),
        Div => singular(vec![Some(div(one(), y())), Some(neg(div(o(), y())))]),
        Recip => singular(vec![Some(neg(mul(o(), o())))]),
        // Powers.
        Powi => {
            // n * a^(n-1), and 0 where n == 0 (out is the constant 1, even at a == 0).
            let n = || args[1].clone();
            singular(vec![
                Some(select(
                    cmp(CmpOp::Eq, n(), Expr::Atom(crate::ir::Atom::Int(0))),
                    Expr::float(0.0),
                    mul(
                        Expr::IntToFloat(b(n())),
                        Expr::Powi(b(a()), b(Expr::IntSub1(b(n())))),
                    ),
                )),
                None,
            ])
        }
        Powf => singular(vec![
            // d/da: 0 where the exponent is 0 (out is constant 1), else b * a^(b-1).
            Some(select(
                cmp(CmpOp::Eq, y(), Expr::float(0.0)),
                Expr::float(0.0),
                mul(y(), m(Powf, vec![a(), sub(y(), one())])),
            )),
            // d/db: 0 where the base is 0 (JAX's convention), else out * ln(a).
            Some(select(
                cmp(CmpOp::Eq, a(), Expr::float(0.0)),
                Expr::float(0.0),
                mul(o(), m(Ln, vec![a()])),
            )),
        ]),
        Sqrt => singular(vec![Some(div(Expr::float(0.5), o()))]),
        Cbrt => singular(vec![Some(div(one(), mul(Expr::float(3.0), mul(o(), o()))))]),
        Hypot => singular(vec![Some(div(a(), o())), Some(div(y(), o()))]),
        // Exponentials and logarithms.
        Exp => smooth(vec![Some(o())]),
        Exp2 => smooth(vec![Some(mul(o(), Expr::FloatConst("LN_2")))]),
        ExpM1 => smooth(vec![Some(add(o(), one()))]),
        Ln => singular(vec![Some(div(one(), a()))]),
        Log2 => singular(vec![Some(div(one(), mul(a(), Expr::FloatConst("LN_2"))))]),
        Log10 => singular(vec![Some(div(one(), mul(a(), Expr::FloatConst("LN_10"))))]),
        Ln1p => singular(vec![Some(div(one(), add(one(), a())))]),
        // Trigonometric.
        Sin => smooth(vec![Some(m(Cos, vec![a()]))]),
        Cos => smooth(vec![Some(neg(m(Sin, vec![a()])))]),
        Tan => smooth(vec![Some(add(one(), mul(o(), o())))]),
        Asin => singular(vec![Some(div(
            one(),
            m(Sqrt, vec![sub(one(), mul(a(), a()))]),
        ))]),
        Acos => singular(vec![Some(neg(div(
            one(),
            m(Sqrt, vec![sub(one(), mul(a(), a()))]),
        )))]),
        Atan => smooth(vec![Some(div(one(), add(one(), mul(a(), a()))))]),
        Atan2 => {
            // atan2(a, x): d/da = x / (a^2 + x^2), d/dx = -a / (a^2 + x^2).
            let r2 = || add(mul(a(), a()), mul(y(), y()));
            singular(vec![Some(div(y(), r2())), Some(neg(div(a(), r2())))])
        }
        // Hyperbolic.
        Sinh => smooth(vec![Some(m(Cosh, vec![a()]))]),
        Cosh => smooth(vec![Some(m(Sinh, vec![a()]))]),
        Tanh => smooth(vec![Some(sub(one(), mul(o(), o())))]),
        // Piecewise.
        Abs => smooth(vec![Some(select(
            cmp(CmpOp::Ge, a(), Expr::float(0.0)),
            one(),
            Expr::float(-1.0),
        ))]),
        Signum => smooth(vec![None]),
        Max | Min => {
            // The first argument wins strictly (or when the second is NaN, which `max`/`min`
            // ignore); at a tie the derivative goes to the second argument.
            let op = if prim == Max { CmpOp::Gt } else { CmpOp::Lt };
            let first_wins = || Expr::Or(b(cmp(op, a(), y())), b(Expr::IsNan(b(y()))));
            smooth(vec![
                Some(select(first_wins(), one(), Expr::float(0.0))),
                Some(select(first_wins(), Expr::float(0.0), one())),
            ])
        }
    }
}

/// Whether the rule for `prim` reads the result `out` (so reverse mode must keep it).
pub fn uses_output(prim: Prim) -> bool {
    use Prim::*;
    matches!(
        prim,
        Div | Recip | Powf | Sqrt | Cbrt | Hypot | Exp | Exp2 | ExpM1 | Tan | Tanh
    )
}

/// Whether the rule for `prim` reads operand `i` (so reverse mode must keep it).
pub fn uses_operand(prim: Prim, i: usize) -> bool {
    use Prim::*;
    match prim {
        Neg | Add | Sub => false,
        Exp | Exp2 | ExpM1 | Tan | Tanh | Sqrt | Cbrt | Recip => false,
        Div => i == 1,
        _ => true,
    }
}
