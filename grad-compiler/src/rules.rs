//! The one table of primitives.
//!
//! Each entry says everything about one primitive: how it is written (a method with its
//! arity, or an operator), whether Rust also has it on integers, its value (for the
//! evaluator), its local partial derivatives, whether a partial can be infinite at a finite
//! point (then a zero adjoint or tangent is kept zero instead of multiplied), where it has
//! kinks and what the derivative is there, and the inputs the random-program generator draws
//! for it. Lowering, both transforms, the evaluator and the property tests only look entries
//! up: adding a primitive is adding an entry.
//!
//! Partials are small expressions ([`D`]) over the operands and the result, written with
//! the same method names as Rust's floats: `sin`'s partial is `a.cos()`.
//!
//! Conventions at kinks (documented in the README): `abs'(0) = 1`; at a tie `max`/`min`
//! pass the derivative to the second argument; `powf`'s exponent derivative is 0 where the
//! base is 0; rounding functions have derivative 0 everywhere.

use crate::ir::CmpOp;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A primitive: an index into [`RULES`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prim(u8);

impl std::fmt::Debug for Prim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.rule().name)
    }
}

/// How a primitive is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// A binary operator (`+ - * / %`).
    Binary(&'static str),
    /// Unary minus.
    Negate,
    /// A method: `a.sin()`, `a.powf(b)` (also `f64::sin(a)`).
    Method,
    /// A method returning a tuple: each element the primitive named (`sin_cos`).
    TupleOf(&'static [&'static str]),
    /// Made only by the transforms, printed as a call of the runtime.
    Runtime,
}

/// Which scalar types a primitive applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Types {
    /// Floats only.
    Float,
    /// Floats, and integers (passive there).
    Both,
    /// Integers only (passive).
    Int,
}

/// Where the random-program generator draws an operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Domain {
    /// Any moderate value.
    Any,
    /// Strictly positive.
    Positive,
    /// Inside (-1, 1).
    Unit,
    /// Above 1.
    AboveOne,
    /// A small integer (the exponent of `powi`).
    SmallInt,
    /// Kept away from zero.
    NonZero,
}

/// An expression of a rule: over the operands `arg(i)` and the result `out`.
#[derive(Clone, Debug, PartialEq)]
pub enum D {
    /// Operand `i`.
    Arg(usize),
    /// The primitive's result.
    Out,
    /// A float literal.
    Lit(f64),
    /// An integer literal.
    Int(i64),
    /// A boolean literal.
    Bool(bool),
    /// A named constant of the float type (`LN_2`).
    Const(&'static str),
    /// A primitive applied to expressions.
    Apply(Prim, Vec<D>),
    /// A comparison (a `bool`).
    Cmp(CmpOp, Box<D>, Box<D>),
    /// `if c { a } else { b }`.
    Select(Box<D>, Box<D>, Box<D>),
    /// An integer converted to the float type.
    ToFloat(Box<D>),
}

impl D {
    fn apply(name: &str, args: Vec<D>) -> D {
        D::Apply(
            prim(name).expect("a rule names a primitive of the table"),
            args,
        )
    }
    fn m1(self, name: &str) -> D {
        D::apply(name, vec![self])
    }
    /// `self.cos()`.
    pub fn cos(self) -> D {
        self.m1("cos")
    }
    /// `self.sin()`.
    pub fn sin(self) -> D {
        self.m1("sin")
    }
    /// `self.cosh()`.
    pub fn cosh(self) -> D {
        self.m1("cosh")
    }
    /// `self.sinh()`.
    pub fn sinh(self) -> D {
        self.m1("sinh")
    }
    /// `self.sqrt()`.
    pub fn sqrt(self) -> D {
        self.m1("sqrt")
    }
    /// `self.ln()`.
    pub fn ln(self) -> D {
        self.m1("ln")
    }
    /// `self.powf(e)`.
    pub fn powf(self, e: D) -> D {
        D::apply("powf", vec![self, e])
    }
    /// `self.trunc()`.
    pub fn trunc(self) -> D {
        self.m1("trunc")
    }
    /// `1.0.copysign(self)`: the sign of `self`, with `-0.0` negative.
    pub fn sign_bit(self) -> D {
        D::apply("copysign", vec![D::Lit(1.0), self])
    }
    /// `self.powi(n)`.
    pub fn powi(self, n: D) -> D {
        D::apply("powi", vec![self, n])
    }
    /// `self * self`.
    pub fn sq(self) -> D {
        self.clone() * self
    }
    /// `self < other`.
    pub fn lt(self, o: D) -> D {
        D::Cmp(CmpOp::Lt, Box::new(self), Box::new(o))
    }
    /// `self > other`.
    pub fn gt(self, o: D) -> D {
        D::Cmp(CmpOp::Gt, Box::new(self), Box::new(o))
    }
    /// `self >= other`.
    pub fn ge(self, o: D) -> D {
        D::Cmp(CmpOp::Ge, Box::new(self), Box::new(o))
    }
    /// `self <= other`.
    pub fn le(self, o: D) -> D {
        D::Cmp(CmpOp::Le, Box::new(self), Box::new(o))
    }
    /// `self == other`.
    pub fn eq(self, o: D) -> D {
        D::Cmp(CmpOp::Eq, Box::new(self), Box::new(o))
    }
    /// `self != self`: NaN.
    pub fn is_nan(self) -> D {
        D::Cmp(CmpOp::Ne, Box::new(self.clone()), Box::new(self))
    }
    /// `if self { a } else { b }`.
    pub fn then(self, a: D, b: D) -> D {
        D::Select(Box::new(self), Box::new(a), Box::new(b))
    }
    /// `self || b` on booleans.
    pub fn or(self, b: D) -> D {
        self.then(D::Bool(true), b)
    }
    /// An integer as a float.
    pub fn to_float(self) -> D {
        D::ToFloat(Box::new(self))
    }
    /// Whether the expression reads operand `i`.
    pub fn reads_arg(&self, i: usize) -> bool {
        self.any(&|d| *d == D::Arg(i))
    }
    /// Whether the expression reads the result.
    pub fn reads_out(&self) -> bool {
        self.any(&|d| *d == D::Out)
    }
    fn any(&self, p: &dyn Fn(&D) -> bool) -> bool {
        p(self)
            || match self {
                D::Apply(_, args) => args.iter().any(|a| a.any(p)),
                D::Cmp(_, a, b) => a.any(p) || b.any(p),
                D::Select(c, a, b) => c.any(p) || a.any(p) || b.any(p),
                D::ToFloat(a) => a.any(p),
                _ => false,
            }
    }
}

macro_rules! binop {
    ($tr:ident, $f:ident, $name:literal) => {
        impl $tr for D {
            type Output = D;
            fn $f(self, o: D) -> D {
                D::apply($name, vec![self, o])
            }
        }
    };
}
binop!(Add, add, "add");
binop!(Sub, sub, "sub");
binop!(Mul, mul, "mul");
binop!(Div, div, "div");

impl Neg for D {
    type Output = D;
    fn neg(self) -> D {
        D::apply("neg", vec![self])
    }
}

/// The partial derivatives of one application, one per operand (`None`: identically zero).
pub type Partials = Vec<Option<D>>;

/// One primitive.
pub struct Rule {
    /// Its name: the method name, or the operator's (`add`, `neg`).
    pub name: &'static str,
    /// How it is written.
    pub syntax: Syntax,
    /// Operands, the receiver included.
    pub arity: usize,
    /// The scalar types it applies to.
    pub types: Types,
    /// Operands that are integers even on floats (`powi`'s exponent).
    pub int_operands: &'static [usize],
    /// Its value on floats.
    pub eval: fn(&[f64]) -> f64,
    /// Its value on integers (`None` on overflow or division by zero).
    pub eval_int: fn(&[i64]) -> Option<i64>,
    /// The partials, from the operands and the result.
    pub partials: fn(&[D], D) -> Partials,
    /// Whether a partial can be infinite or NaN at a finite point (division, `sqrt`, `ln`):
    /// then a zero adjoint or tangent is kept zero rather than multiplied.
    pub singular: bool,
    /// Given the operands that are literals (`None` where not), whether the partials are
    /// finite at every finite point after all (`x.powi(2)`: no guard needed).
    pub regular_if: fn(&[Option<f64>]) -> bool,
    /// Where the generator draws each operand.
    pub domain: &'static [Domain],
    /// A function that is zero exactly at the primitive's kinks (`None`: smooth); finite
    /// differences are not compared where it changes sign.
    pub kink: Option<fn(&[f64]) -> f64>,
    /// For kinks that repeat (`floor`, `%`): which period the operands are in. Finite
    /// differences are not compared where it changes either (a step across several kinks
    /// can leave the kink function's sign as it was).
    pub period: Option<fn(&[f64]) -> f64>,
    /// Points at kinks and the partials the documented convention gives there.
    pub conventions: &'static [(&'static [f64], &'static [f64])],
}

fn no_int(_: &[i64]) -> Option<i64> {
    None
}
fn smooth_float(_: &[D], _: D) -> Partials {
    Vec::new()
}

/// Fills the fields most entries share.
const BASE: Rule = Rule {
    name: "",
    syntax: Syntax::Method,
    arity: 1,
    types: Types::Float,
    int_operands: &[],
    eval: |_| f64::NAN,
    eval_int: no_int,
    partials: smooth_float,
    singular: false,
    regular_if: |_| false,
    domain: &[Domain::Any],
    kink: None,
    period: None,
    conventions: &[],
};

fn a(args: &[D]) -> D {
    args[0].clone()
}
fn b(args: &[D]) -> D {
    args[1].clone()
}
fn args_c(args: &[D]) -> D {
    args[2].clone()
}

fn one() -> D {
    D::Lit(1.0)
}
fn zero() -> D {
    D::Lit(0.0)
}
fn some(ds: impl IntoIterator<Item = D>) -> Partials {
    ds.into_iter().map(Some).collect()
}

/// The table. Grouped by shape: linear, rational, powers, exponentials and logarithms,
/// trigonometric, hyperbolic, piecewise, integer-only, internal.
pub static RULES: &[Rule] = &[
    // Linear.
    Rule {
        name: "add",
        syntax: Syntax::Binary("+"),
        arity: 2,
        types: Types::Both,
        eval: |x| x[0] + x[1],
        eval_int: |x| x[0].checked_add(x[1]),
        partials: |_, _| some([one(), one()]),
        domain: &[Domain::Any, Domain::Any],
        ..BASE
    },
    Rule {
        name: "sub",
        syntax: Syntax::Binary("-"),
        arity: 2,
        types: Types::Both,
        eval: |x| x[0] - x[1],
        eval_int: |x| x[0].checked_sub(x[1]),
        partials: |_, _| some([one(), D::Lit(-1.0)]),
        domain: &[Domain::Any, Domain::Any],
        ..BASE
    },
    Rule {
        name: "neg",
        syntax: Syntax::Negate,
        types: Types::Both,
        eval: |x| -x[0],
        eval_int: |x| x[0].checked_neg(),
        partials: |_, _| some([D::Lit(-1.0)]),
        ..BASE
    },
    Rule {
        name: "mul_add",
        arity: 3,
        eval: |x| x[0].mul_add(x[1], x[2]),
        partials: |x, _| some([b(x), a(x), one()]),
        domain: &[Domain::Any, Domain::Any, Domain::Any],
        ..BASE
    },
    // Bilinear and rational.
    Rule {
        name: "mul",
        syntax: Syntax::Binary("*"),
        arity: 2,
        types: Types::Both,
        eval: |x| x[0] * x[1],
        eval_int: |x| x[0].checked_mul(x[1]),
        partials: |x, _| some([b(x), a(x)]),
        domain: &[Domain::Any, Domain::Any],
        ..BASE
    },
    Rule {
        name: "div",
        syntax: Syntax::Binary("/"),
        arity: 2,
        types: Types::Both,
        eval: |x| x[0] / x[1],
        eval_int: |x| x[0].checked_div(x[1]),
        partials: |x, out| some([one() / b(x), -(out / b(x))]),
        singular: true,
        domain: &[Domain::Any, Domain::NonZero],
        ..BASE
    },
    Rule {
        name: "rem",
        syntax: Syntax::Binary("%"),
        arity: 2,
        types: Types::Both,
        eval: |x| x[0] % x[1],
        eval_int: |x| x[0].checked_rem(x[1]),
        // a % b = a - b trunc(a / b): 1 and -trunc(a / b) between the jumps.
        partials: |x, _| some([one(), -(a(x) / b(x)).trunc()]),
        singular: true,
        domain: &[Domain::Any, Domain::NonZero],
        kink: Some(|x| {
            let q = x[0] / x[1];
            q - q.round()
        }),
        period: Some(|x| (x[0] / x[1]).round()),
        ..BASE
    },
    Rule {
        name: "recip",
        eval: |x| x[0].recip(),
        partials: |_, out| some([-out.sq()]),
        singular: true,
        domain: &[Domain::NonZero],
        ..BASE
    },
    // Powers.
    Rule {
        name: "powi",
        arity: 2,
        int_operands: &[1],
        eval: |x| x[0].powi(x[1] as i32),
        // n a^(n-1), and 0 where n == 0 (the result is the constant 1, even at a == 0).
        partials: |x, _| {
            let n = b(x);
            vec![
                Some(
                    n.clone()
                        .eq(D::Int(0))
                        .then(zero(), n.clone().to_float() * a(x).powi(n - D::Int(1))),
                ),
                None,
            ]
        },
        singular: true,
        // n a^(n-1) is finite everywhere when n >= 1.
        regular_if: |lits| lits[1].is_some_and(|n| n >= 1.0),
        domain: &[Domain::Any, Domain::SmallInt],
        ..BASE
    },
    Rule {
        name: "powf",
        arity: 2,
        eval: |x| x[0].powf(x[1]),
        partials: |x, out| {
            some([
                // d/da: 0 where the exponent is 0 (the result is 1), else b a^(b-1).
                b(x).eq(zero()).then(zero(), b(x) * a(x).powf(b(x) - one())),
                // d/db: 0 where the base is 0 (JAX's convention), else out ln(a).
                a(x).eq(zero()).then(zero(), out * a(x).ln()),
            ])
        },
        singular: true,
        domain: &[Domain::Positive, Domain::Any],
        conventions: &[(&[0.0, 2.5], &[0.0, 0.0])],
        ..BASE
    },
    Rule {
        name: "sqrt",
        eval: |x| x[0].sqrt(),
        partials: |_, out| some([D::Lit(0.5) / out]),
        singular: true,
        domain: &[Domain::Positive],
        conventions: &[(&[0.0], &[f64::INFINITY])],
        ..BASE
    },
    Rule {
        name: "cbrt",
        eval: |x| x[0].cbrt(),
        partials: |_, out| some([one() / (D::Lit(3.0) * out.sq())]),
        singular: true,
        domain: &[Domain::NonZero],
        ..BASE
    },
    Rule {
        name: "hypot",
        arity: 2,
        eval: |x| x[0].hypot(x[1]),
        partials: |x, out| some([a(x) / out.clone(), b(x) / out]),
        singular: true,
        domain: &[Domain::NonZero, Domain::NonZero],
        ..BASE
    },
    // Exponentials and logarithms.
    Rule {
        name: "exp",
        eval: |x| x[0].exp(),
        partials: |_, out| some([out]),
        // Overflows to infinity at large finite inputs.
        singular: true,
        ..BASE
    },
    Rule {
        name: "exp2",
        eval: |x| x[0].exp2(),
        partials: |_, out| some([out * D::Const("LN_2")]),
        // Overflows to infinity at large finite inputs.
        singular: true,
        ..BASE
    },
    Rule {
        name: "exp_m1",
        eval: |x| x[0].exp_m1(),
        partials: |_, out| some([out + one()]),
        // Overflows to infinity at large finite inputs.
        singular: true,
        ..BASE
    },
    Rule {
        name: "ln",
        eval: |x| x[0].ln(),
        partials: |x, _| some([one() / a(x)]),
        singular: true,
        domain: &[Domain::Positive],
        conventions: &[(&[0.0], &[f64::INFINITY])],
        ..BASE
    },
    Rule {
        name: "log",
        arity: 2,
        eval: |x| x[0].log(x[1]),
        // ln(a) / ln(b): d/da = 1 / (a ln b), d/db = -out / (b ln b).
        partials: |x, out| some([one() / (a(x) * b(x).ln()), -(out / (b(x) * b(x).ln()))]),
        singular: true,
        domain: &[Domain::Positive, Domain::AboveOne],
        ..BASE
    },
    Rule {
        name: "log2",
        eval: |x| x[0].log2(),
        partials: |x, _| some([one() / (a(x) * D::Const("LN_2"))]),
        singular: true,
        domain: &[Domain::Positive],
        ..BASE
    },
    Rule {
        name: "log10",
        eval: |x| x[0].log10(),
        partials: |x, _| some([one() / (a(x) * D::Const("LN_10"))]),
        singular: true,
        domain: &[Domain::Positive],
        ..BASE
    },
    Rule {
        name: "ln_1p",
        eval: |x| x[0].ln_1p(),
        partials: |x, _| some([one() / (one() + a(x))]),
        singular: true,
        domain: &[Domain::Positive],
        ..BASE
    },
    // Trigonometric.
    Rule {
        name: "sin",
        eval: |x| x[0].sin(),
        partials: |x, _| some([a(x).cos()]),
        ..BASE
    },
    Rule {
        name: "cos",
        eval: |x| x[0].cos(),
        partials: |x, _| some([-a(x).sin()]),
        ..BASE
    },
    Rule {
        name: "tan",
        eval: |x| x[0].tan(),
        partials: |_, out| some([one() + out.sq()]),
        domain: &[Domain::Unit],
        // Overflows to infinity at large finite inputs.
        singular: true,
        ..BASE
    },
    Rule {
        name: "asin",
        eval: |x| x[0].asin(),
        partials: |x, _| some([one() / (one() - a(x).sq()).sqrt()]),
        singular: true,
        domain: &[Domain::Unit],
        ..BASE
    },
    Rule {
        name: "acos",
        eval: |x| x[0].acos(),
        partials: |x, _| some([-(one() / (one() - a(x).sq()).sqrt())]),
        singular: true,
        domain: &[Domain::Unit],
        ..BASE
    },
    Rule {
        name: "atan",
        eval: |x| x[0].atan(),
        partials: |x, _| some([one() / (one() + a(x).sq())]),
        ..BASE
    },
    Rule {
        name: "atan2",
        arity: 2,
        eval: |x| x[0].atan2(x[1]),
        // atan2(a, x): d/da = x / (a^2 + x^2), d/dx = -a / (a^2 + x^2).
        partials: |x, _| {
            let r2 = || a(x).sq() + b(x).sq();
            some([b(x) / r2(), -(a(x) / r2())])
        },
        singular: true,
        domain: &[Domain::NonZero, Domain::NonZero],
        kink: Some(|x| if x[0] == 0.0 { x[1].max(0.0) } else { x[0] }),
        ..BASE
    },
    Rule {
        name: "to_degrees",
        eval: |x| x[0].to_degrees(),
        partials: |_, _| some([D::Lit(180.0 / std::f64::consts::PI)]),
        ..BASE
    },
    Rule {
        name: "to_radians",
        eval: |x| x[0].to_radians(),
        partials: |_, _| some([D::Lit(std::f64::consts::PI / 180.0)]),
        ..BASE
    },
    // `x.sin_cos()` is `(x.sin(), x.cos())`: each part is the primitive it names.
    Rule {
        name: "sin_cos",
        syntax: Syntax::TupleOf(&["sin", "cos"]),
        ..BASE
    },
    // Hyperbolic.
    Rule {
        name: "sinh",
        eval: |x| x[0].sinh(),
        partials: |x, _| some([a(x).cosh()]),
        // Overflows to infinity at large finite inputs.
        singular: true,
        ..BASE
    },
    Rule {
        name: "cosh",
        eval: |x| x[0].cosh(),
        partials: |x, _| some([a(x).sinh()]),
        // Overflows to infinity at large finite inputs.
        singular: true,
        ..BASE
    },
    Rule {
        name: "tanh",
        eval: |x| x[0].tanh(),
        partials: |_, out| some([one() - out.sq()]),
        ..BASE
    },
    Rule {
        name: "asinh",
        eval: |x| x[0].asinh(),
        partials: |x, _| some([one() / (a(x).sq() + one()).sqrt()]),
        ..BASE
    },
    Rule {
        name: "acosh",
        eval: |x| x[0].acosh(),
        partials: |x, _| some([one() / (a(x).sq() - one()).sqrt()]),
        singular: true,
        domain: &[Domain::AboveOne],
        ..BASE
    },
    Rule {
        name: "atanh",
        eval: |x| x[0].atanh(),
        partials: |x, _| some([one() / (one() - a(x).sq())]),
        singular: true,
        domain: &[Domain::Unit],
        ..BASE
    },
    // Piecewise.
    Rule {
        name: "abs",
        types: Types::Both,
        eval: |x| x[0].abs(),
        eval_int: |x| x[0].checked_abs(),
        partials: |x, _| some([a(x).ge(zero()).then(one(), D::Lit(-1.0))]),
        kink: Some(|x| x[0]),
        conventions: &[(&[0.0], &[1.0])],
        ..BASE
    },
    Rule {
        name: "signum",
        types: Types::Both,
        eval: |x| x[0].signum(),
        eval_int: |x| Some(x[0].signum()),
        partials: |_, _| vec![None],
        kink: Some(|x| x[0]),
        conventions: &[(&[0.0], &[0.0])],
        ..BASE
    },
    Rule {
        name: "max",
        arity: 2,
        types: Types::Both,
        eval: |x| x[0].max(x[1]),
        eval_int: |x| Some(x[0].max(x[1])),
        // The first argument wins strictly (or when the second is NaN, which `max`
        // ignores); at a tie the derivative goes to the second argument.
        partials: |x, _| {
            let first = || a(x).gt(b(x)).or(b(x).is_nan());
            some([first().then(one(), zero()), first().then(zero(), one())])
        },
        domain: &[Domain::Any, Domain::Any],
        kink: Some(|x| x[0] - x[1]),
        conventions: &[(&[1.5, 1.5], &[0.0, 1.0]), (&[0.0, 0.0], &[0.0, 1.0])],
        ..BASE
    },
    Rule {
        name: "min",
        arity: 2,
        types: Types::Both,
        eval: |x| x[0].min(x[1]),
        eval_int: |x| Some(x[0].min(x[1])),
        partials: |x, _| {
            let first = || a(x).lt(b(x)).or(b(x).is_nan());
            some([first().then(one(), zero()), first().then(zero(), one())])
        },
        domain: &[Domain::Any, Domain::Any],
        kink: Some(|x| x[0] - x[1]),
        conventions: &[(&[-0.5, -0.5], &[0.0, 1.0])],
        ..BASE
    },
    Rule {
        name: "clamp",
        arity: 3,
        types: Types::Both,
        eval: |x| x[0].clamp(x[1], x[2]),
        eval_int: |x| (x[1] <= x[2]).then(|| x[0].clamp(x[1], x[2])),
        // As `clamp` computes it: below `lo` the result is `lo`, above `hi` it is `hi`,
        // else (the bounds included) `x`.
        partials: |x, _| {
            let below = || a(x).lt(b(x));
            let above = || a(x).gt(args_c(x));
            some([
                below().or(above()).then(zero(), one()),
                below().then(one(), zero()),
                below().then(zero(), above().then(one(), zero())),
            ])
        },
        domain: &[Domain::Any, Domain::Any, Domain::Any],
        kink: Some(|x| (x[0] - x[1]) * (x[0] - x[2])),
        conventions: &[
            (&[1.0, 1.0, 2.0], &[1.0, 0.0, 0.0]),
            (&[2.0, 1.0, 2.0], &[1.0, 0.0, 0.0]),
        ],
        ..BASE
    },
    Rule {
        name: "copysign",
        arity: 2,
        eval: |x| x[0].copysign(x[1]),
        // |a| with the sign of b: d/da = sign(a) sign(b) (sign(0) = +1, as for `abs`).
        partials: |x, _| {
            some([a(x).ge(zero()).then(one(), D::Lit(-1.0)) * b(x).sign_bit()])
                .into_iter()
                .chain([None])
                .collect()
        },
        domain: &[Domain::Any, Domain::NonZero],
        kink: Some(|x| x[0] * x[1]),
        conventions: &[(&[0.0, 2.0], &[1.0, 0.0])],
        ..BASE
    },
    Rule {
        name: "floor",
        eval: |x| x[0].floor(),
        partials: |_, _| vec![None],
        kink: Some(|x| x[0] - x[0].round()),
        period: Some(|x| x[0].round()),
        conventions: &[(&[1.0], &[0.0])],
        ..BASE
    },
    Rule {
        name: "ceil",
        eval: |x| x[0].ceil(),
        partials: |_, _| vec![None],
        kink: Some(|x| x[0] - x[0].round()),
        period: Some(|x| x[0].round()),
        ..BASE
    },
    Rule {
        name: "round",
        eval: |x| x[0].round(),
        partials: |_, _| vec![None],
        kink: Some(|x| x[0] - x[0].floor() - 0.5),
        period: Some(|x| x[0].floor()),
        ..BASE
    },
    Rule {
        name: "trunc",
        eval: |x| x[0].trunc(),
        partials: |_, _| vec![None],
        kink: Some(|x| x[0] - x[0].round()),
        period: Some(|x| x[0].round()),
        ..BASE
    },
    Rule {
        name: "fract",
        eval: |x| x[0].fract(),
        partials: |_, _| some([one()]),
        kink: Some(|x| x[0] - x[0].round()),
        period: Some(|x| x[0].round()),
        ..BASE
    },
    // Integer-only.
    Rule {
        name: "pow",
        arity: 2,
        types: Types::Int,
        eval_int: |x| u32::try_from(x[1]).ok().and_then(|e| x[0].checked_pow(e)),
        partials: |_, _| vec![None, None],
        domain: &[Domain::SmallInt, Domain::SmallInt],
        ..BASE
    },
    // Internal: `adj * partial`, kept zero where `adj` is zero even if `partial` is
    // infinite or NaN. Printed as a call of `grad::runtime::scaled`.
    Rule {
        name: "scaled",
        syntax: Syntax::Runtime,
        arity: 2,
        eval: |x| if x[0] == 0.0 { 0.0 } else { x[0] * x[1] },
        partials: |x, _| some([b(x), a(x)]),
        singular: true,
        domain: &[Domain::Any, Domain::Any],
        ..BASE
    },
];

impl Prim {
    /// The entry of this primitive.
    pub fn rule(self) -> &'static Rule {
        &RULES[self.0 as usize]
    }

    /// Every primitive.
    pub fn all() -> impl Iterator<Item = Prim> {
        (0..RULES.len()).map(|i| Prim(i as u8))
    }

    /// The partials of an application to `args` with result `out`.
    pub fn partials(self, args: &[D], out: D) -> Partials {
        (self.rule().partials)(args, out)
    }

    /// Whether a partial of this application can be infinite or NaN at a finite point:
    /// the entry's `singular`, unless its literal operands make it regular.
    pub fn singular_at(self, args: &[crate::ir::Atom]) -> bool {
        use crate::ir::Atom;
        let lits: Vec<Option<f64>> = args
            .iter()
            .map(|a| match a {
                Atom::Float(x) => Some(*x),
                Atom::Int(n) => Some(*n as f64),
                _ => None,
            })
            .collect();
        self.rule().singular && !(self.rule().regular_if)(&lits)
    }

    /// Whether the reverse sweep reads operand `i` (derived from the partials).
    pub fn reads_operand(self, i: usize) -> bool {
        self.symbolic().iter().flatten().any(|d| d.reads_arg(i))
    }

    /// Whether the reverse sweep reads the result (derived from the partials).
    pub fn reads_result(self) -> bool {
        self.symbolic().iter().flatten().any(D::reads_out)
    }

    fn symbolic(self) -> Partials {
        let args: Vec<D> = (0..self.rule().arity).map(D::Arg).collect();
        self.partials(&args, D::Out)
    }
}

/// The primitive with this name.
pub fn prim(name: &str) -> Option<Prim> {
    RULES
        .iter()
        .position(|r| r.name == name)
        .map(|i| Prim(i as u8))
}

/// The primitive a binary operator denotes.
pub fn binary(op: &str) -> Option<Prim> {
    RULES
        .iter()
        .position(|r| matches!(r.syntax, Syntax::Binary(o) if o == op))
        .map(|i| Prim(i as u8))
}

/// The method with this name, if the table has one.
pub fn method(name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.name == name && matches!(r.syntax, Syntax::Method | Syntax::TupleOf(_)))
}

/// The error for a method the table does not have.
pub fn unknown_method(name: &str) -> String {
    format!(
        "`{name}` is not a method the macro can differentiate: use one of {}",
        float_method_names().join(" ")
    )
}

/// The float methods users may call, for error messages.
pub fn float_method_names() -> Vec<&'static str> {
    RULES
        .iter()
        .filter(|r| {
            matches!(r.syntax, Syntax::Method | Syntax::TupleOf(_)) && r.types != Types::Int
        })
        .map(|r| r.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_consistent() {
        for p in Prim::all() {
            let r = p.rule();
            assert!(r.arity >= 1, "{}", r.name);
            if r.types != Types::Int {
                assert_eq!(
                    r.domain.len(),
                    r.arity,
                    "{}: one domain per operand",
                    r.name
                );
                let parts = p.partials(&(0..r.arity).map(D::Arg).collect::<Vec<_>>(), D::Out);
                if !matches!(r.syntax, Syntax::TupleOf(_)) {
                    assert_eq!(parts.len(), r.arity, "{}: one partial per operand", r.name);
                }
            }
            for (args, _) in r.conventions {
                assert_eq!(args.len(), r.arity, "{}", r.name);
            }
        }
    }

    #[test]
    fn which_values_the_reverse_sweep_keeps_follows_from_the_partials() {
        let p = |n| prim(n).unwrap();
        assert!(p("sqrt").reads_result() && !p("sqrt").reads_operand(0));
        assert!(p("div").reads_result() && p("div").reads_operand(1) && !p("div").reads_operand(0));
        assert!(!p("add").reads_operand(0) && !p("add").reads_result());
        assert!(p("sin").reads_operand(0) && !p("sin").reads_result());
        assert!(p("mul").reads_operand(0) && p("mul").reads_operand(1));
    }

    #[test]
    fn operators_and_methods_are_found() {
        assert_eq!(binary("*"), prim("mul"));
        assert!(method("sin").is_some());
        assert!(method("add").is_none(), "operators are not methods");
        assert!(float_method_names().contains(&"hypot"));
        assert!(!float_method_names().contains(&"pow"));
    }
}
