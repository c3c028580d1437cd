//! Closed-form partial derivatives for the docs of `f_grad` and `f_grad_into`.
//!
//! For a *straight-line scalar function* (every parameter an `f64`/`f32` passed by value, a
//! float result, and a body that lowering turned into plain assignments only:
//! [`Stmt::Assign`] of [`Op::Use`], [`Op::Prim`], [`Op::Cast`] to the float type,
//! [`Op::Const`], [`Op::Num`] or [`Op::NoGrad`], and [`Stmt::Accumulate`] into a whole
//! variable (`s += e`); no loops, branches, calls, places or integer variables), the macro
//! writes the simplified partial derivatives into the rustdoc of `f_grad` and
//! `f_grad_into`:
//!
//! ```text
//! fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }   ->   ∂f/∂x = 6*x*y,  ∂f/∂y = 3*x^2
//! ```
//!
//! **How.** The IR's assignments are traced in order, each variable getting a symbolic value
//! and its derivatives with respect to the differentiated parameters (forward mode on
//! expressions). An application of a primitive takes its local partials from the one rule
//! table ([`crate::rules`]): the [`D`] expressions are interpreted with `Arg(i)` bound to the
//! operands' expressions and `Out` to the result's, and the chain rule sums `partial_i * d
//! operand_i`. A `Select` or comparison in a partial must fold on constants (`powi`'s `n ==
//! 0`, `powf`'s with a constant exponent); otherwise, or when a primitive has a kink
//! (`abs`, `max`, `floor`, `atan2`, ...), there is no symbolic doc: conventions at kinks are
//! not closed forms.
//!
//! **The canonical form** every operation keeps, so that results read as a person writes them:
//!
//! - a [`Sum`] maps [`Product`]s to nonzero rational coefficients ([`Q`]): like terms are
//!   collected, constants folded, zero terms dropped;
//! - a [`Product`] maps [`Factor`]s to nonzero integer powers (`x*x` is `x^2`, `x/x` is `1`);
//!   negative powers print as a division;
//! - a [`Factor`] is a parameter, a named constant (`PI`, a user's `const`), an opaque
//!   application of a primitive to canonical sums (`sin(3*x)`, `ln(2)`), `no_grad(e)`, or a
//!   *group*: a sum of at least two terms used as a factor, normalised to integer coprime
//!   coefficients with its first term (in the derived order) positive and without factors
//!   common to all its terms, which move to the product (`2*x*y + 4*x` is `2*x*(y + 2)`);
//! - a number times a sum is distributed (`2*(x + 1)` is `2*x + 2`), a product of sums is
//!   not (`(x + 1)*(y - 1)` stays); integer powers of sums stay powers of groups;
//! - arithmetic primitives (`add sub neg mul div recip mul_add powi`) are computed, the
//!   others stay applications; `powf` by a constant is a power (`x.powf(2.0)` is `x^2`),
//!   `sqrt(e)` is `e^0.5`, and the powers of one base in a term merge, with a positive
//!   exponent (`x*sqrt(x)` is `x^1.5`, `sqrt(e)^2` is `e`, `1/sqrt(x)`).
//!
//! Printing orders terms by degree (then the derived order), with a positive term first
//! where there is one (`1 - x`, `y - x^2`); coefficients print as integers, exact short
//! decimals (`0.5`) or fractions (`x/3`); functions keep Rust's names and argument order
//! (`ln(x)`, `sqrt(x)`, `hypot(x, y)`, `log(x, b)` is `x.log(b)`, `x^p` is `x.powf(p)`).
//! A partial is written over a common denominator where that prints shorter
//! (`1/(x + y) - x/(x + y)^2` is `y/(x + y)^2`, [`together`]).
//!
//! Expressions that grow past [`MAX_NODES`] during the trace, or print longer than
//! [`MAX_CHARS`] or with more than [`MAX_TERMS`] terms, give no doc rather than an
//! unreadable one. The unit tests parse the printed text back and compare it with central
//! finite differences of the lowered function, for the seed's examples and random programs.

use crate::ir::{Atom, CastTo, CmpOp, Function, Op, Passing, Stmt, VarId};
use crate::lower::{Lowered, ResultKind};
use crate::rules::{Prim, Syntax, Types, D};
use crate::shape::Ty;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Largest expression (in nodes: terms and factors) the trace keeps before giving up.
pub const MAX_NODES: usize = 400;
/// Most statements a function may have for a symbolic doc.
pub const MAX_STATEMENTS: usize = 200;
/// Most differentiated parameters a function may have for a symbolic doc.
pub const MAX_PARAMS: usize = 16;
/// Longest printed partial derivative the docs show.
pub const MAX_CHARS: usize = 200;
/// Most terms a printed partial derivative may have.
pub const MAX_TERMS: usize = 12;
/// Largest magnitude of a numerator or denominator.
const BOUND: i128 = 1_000_000_000_000_000_000;
/// Largest integer power kept.
const MAX_POWER: i64 = 1000;

/// Why a function gets no symbolic doc: not straight-line scalar code, a kink or a
/// convention in a partial, or an expression outgrowing the limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bail;

type R<T> = Result<T, Bail>;

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i128
}

fn checked(x: Option<i128>) -> R<i128> {
    x.ok_or(Bail)
}

/// An exact rational number in lowest terms, the denominator positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Q {
    num: i128,
    den: i128,
}

impl Q {
    /// Zero.
    pub const ZERO: Q = Q { num: 0, den: 1 };
    /// One.
    pub const ONE: Q = Q { num: 1, den: 1 };

    /// `num / den`, reduced; fails on a zero denominator or beyond the size bound.
    pub fn new(num: i128, den: i128) -> R<Q> {
        if den == 0 {
            return Err(Bail);
        }
        let g = gcd(num, den);
        let (mut num, mut den) = (num / g, den / g);
        if den < 0 {
            (num, den) = (-num, -den);
        }
        if num.unsigned_abs() > BOUND.unsigned_abs() || den > BOUND {
            return Err(Bail);
        }
        Ok(Q { num, den })
    }

    /// An integer.
    pub fn int(n: i64) -> R<Q> {
        Q::new(n.into(), 1)
    }

    /// A float literal, as the decimal it is written with (`0.1` is `1/10`).
    pub fn from_f64(x: f64) -> R<Q> {
        if !x.is_finite() {
            return Err(Bail);
        }
        let text = format!("{x:?}");
        let (mantissa, exp) = match text.split_once('e') {
            Some((m, e)) => (m, e.parse::<i32>().map_err(|_| Bail)?),
            None => (text.as_str(), 0),
        };
        let (neg, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mantissa),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits: i128 = format!("{int}{frac}").parse().map_err(|_| Bail)?;
        let digits = if neg { -digits } else { digits };
        let scale = exp - frac.len() as i32;
        let pow10 = |k: i32| checked(10i128.checked_pow(u32::try_from(k).map_err(|_| Bail)?));
        if scale >= 0 {
            Q::new(checked(digits.checked_mul(pow10(scale)?))?, 1)
        } else {
            Q::new(digits, pow10(-scale)?)
        }
    }

    /// `self + o`.
    pub fn plus(self, o: Q) -> R<Q> {
        let a = checked(self.num.checked_mul(o.den))?;
        let b = checked(o.num.checked_mul(self.den))?;
        Q::new(
            checked(a.checked_add(b))?,
            checked(self.den.checked_mul(o.den))?,
        )
    }

    /// `self * o`.
    pub fn times(self, o: Q) -> R<Q> {
        Q::new(
            checked(self.num.checked_mul(o.num))?,
            checked(self.den.checked_mul(o.den))?,
        )
    }

    /// `-self`.
    pub fn negated(self) -> Q {
        Q {
            num: -self.num,
            den: self.den,
        }
    }

    /// `self^k` (fails on `0^-k`).
    pub fn pow(self, k: i64) -> R<Q> {
        if k.unsigned_abs() > 64 {
            return Err(Bail);
        }
        let base = if k < 0 {
            Q::new(self.den, self.num)?
        } else {
            self
        };
        (0..k.unsigned_abs()).try_fold(Q::ONE, |acc, _| acc.times(base))
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.num == 0
    }

    /// Whether it is negative.
    pub fn is_negative(self) -> bool {
        self.num < 0
    }

    /// Its value as a float.
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// The numeric order (the derived `Ord` is only structural).
    pub fn cmp_value(self, o: Q) -> Ordering {
        (self.num * o.den).cmp(&(o.num * self.den))
    }

    /// The integer it is, if it is one.
    fn as_int(self) -> Option<i64> {
        (self.den == 1)
            .then(|| i64::try_from(self.num).ok())
            .flatten()
    }

    /// Its exact decimal text when the denominator divides a power of ten (`0.25`, `3`).
    pub fn decimal(self) -> Option<String> {
        let (mut d, mut twos, mut fives) = (self.den, 0u32, 0u32);
        while d % 2 == 0 {
            d /= 2;
            twos += 1;
        }
        while d % 5 == 0 {
            d /= 5;
            fives += 1;
        }
        let places = twos.max(fives);
        if d != 1 || places > 18 {
            return None;
        }
        let scaled = self.num.unsigned_abs() * (10u128.pow(places) / self.den as u128);
        let digits = format!("{scaled:0>width$}", width = places as usize + 1);
        let (int, frac) = digits.split_at(digits.len() - places as usize);
        let sign = if self.num < 0 { "-" } else { "" };
        Some(if frac.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        })
    }
}

/// A factor of a [`Product`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Factor {
    /// A named constant (`PI`, `LN_2`, a user's `const`) and its value's bits where known.
    Named(String, Option<u64>),
    /// Parameter `i` of the function.
    Var(usize),
    /// A sum of at least two terms: integer coprime coefficients, the first term positive,
    /// no factor common to every term.
    Group(Sum),
    /// A primitive of the rule table applied to canonical sums, kept as it is.
    App(Prim, Vec<Sum>),
    /// `no_grad(e)`: `e`'s value with a zero derivative.
    NoGrad(Sum),
}

impl Factor {
    /// Whether it involves no parameter (`PI`, `ln(2)`).
    fn is_constant(&self) -> bool {
        match self {
            Factor::Named(..) => true,
            Factor::Var(_) => false,
            Factor::Group(s) | Factor::NoGrad(s) => s.is_constant(),
            Factor::App(_, args) => args.iter().all(Sum::is_constant),
        }
    }

    fn size(&self) -> usize {
        match self {
            Factor::Named(..) | Factor::Var(_) => 1,
            Factor::Group(s) | Factor::NoGrad(s) => 1 + s.size(),
            Factor::App(_, args) => 1 + args.iter().map(Sum::size).sum::<usize>(),
        }
    }
}

/// A product of factors with nonzero integer powers (empty: the unit).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Product(BTreeMap<Factor, i64>);

impl Product {
    fn of(f: Factor, k: i64) -> Product {
        Product(BTreeMap::from([(f, k)]))
    }

    fn times(&self, o: &Product) -> R<Product> {
        let mut out = self.0.clone();
        for (f, k) in &o.0 {
            let e = out.entry(f.clone()).or_insert(0);
            *e += k;
            if e.unsigned_abs() > MAX_POWER.unsigned_abs() {
                return Err(Bail);
            }
            if *e == 0 {
                out.remove(f);
            }
        }
        Ok(Product(out))
    }

    fn pow(&self, n: i64) -> R<Product> {
        let mut out = BTreeMap::new();
        for (f, k) in &self.0 {
            let e = k
                .checked_mul(n)
                .filter(|e| e.unsigned_abs() <= MAX_POWER.unsigned_abs())
                .ok_or(Bail)?;
            if e != 0 {
                out.insert(f.clone(), e);
            }
        }
        Ok(Product(out))
    }

    /// The sum of the powers of its non-constant factors: what terms are printed in
    /// (descending) order of.
    fn degree(&self) -> i64 {
        self.0
            .iter()
            .filter(|(f, _)| !f.is_constant())
            .map(|(_, k)| k)
            .sum()
    }

    /// The group, when the product is exactly one group to the first power.
    fn bare_group(&self) -> Option<&Sum> {
        match self.0.iter().next() {
            Some((Factor::Group(s), 1)) if self.0.len() == 1 => Some(s),
            _ => None,
        }
    }
}

/// A canonical expression: products with nonzero rational coefficients (empty: zero).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sum(BTreeMap<Product, Q>);

impl Sum {
    /// A number.
    pub fn constant(q: Q) -> Sum {
        let mut s = Sum::default();
        if !q.is_zero() {
            s.0.insert(Product::default(), q);
        }
        s
    }

    /// A single factor.
    pub fn factor(f: Factor) -> Sum {
        Sum(BTreeMap::from([(Product::of(f, 1), Q::ONE)]))
    }

    /// The number it is, if it is one.
    pub fn as_constant(&self) -> Option<Q> {
        match self.0.len() {
            0 => Some(Q::ZERO),
            1 => self
                .0
                .iter()
                .next()
                .filter(|(p, _)| p.0.is_empty())
                .map(|(_, q)| *q),
            _ => None,
        }
    }

    /// Whether it involves no parameter.
    pub fn is_constant(&self) -> bool {
        self.0.keys().all(|p| p.0.keys().all(Factor::is_constant))
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// How many terms it has.
    pub fn terms(&self) -> usize {
        self.0.len()
    }

    /// Its size in nodes.
    pub fn size(&self) -> usize {
        self.0
            .keys()
            .map(|p| 1 + p.0.keys().map(Factor::size).sum::<usize>())
            .sum()
    }

    fn insert(&mut self, p: Product, c: Q) -> R<()> {
        let total = self.0.get(&p).copied().unwrap_or(Q::ZERO).plus(c)?;
        if total.is_zero() {
            self.0.remove(&p);
        } else {
            self.0.insert(p, total);
        }
        Ok(())
    }

    /// `c * p`, distributing `c` over `p` when `p` is one group.
    fn from_term(c: Q, p: Product) -> R<Sum> {
        if c.is_zero() {
            return Ok(Sum::default());
        }
        let (c, p) = merge_powers(c, p)?;
        if let Some(s) = p.bare_group() {
            return s.scale(c);
        }
        Ok(Sum(BTreeMap::from([(p, c)])))
    }

    /// `self + o`.
    pub fn add(&self, o: &Sum) -> R<Sum> {
        let mut out = self.clone();
        for (p, c) in &o.0 {
            out.insert(p.clone(), *c)?;
        }
        Ok(out)
    }

    /// `-self`.
    pub fn neg(&self) -> Sum {
        Sum(self
            .0
            .iter()
            .map(|(p, c)| (p.clone(), c.negated()))
            .collect())
    }

    /// `self - o`.
    pub fn sub(&self, o: &Sum) -> R<Sum> {
        self.add(&o.neg())
    }

    /// `c * self`, distributed.
    pub fn scale(&self, c: Q) -> R<Sum> {
        if c.is_zero() {
            return Ok(Sum::default());
        }
        let terms = self.0.iter().map(|(p, q)| Ok((p.clone(), q.times(c)?)));
        Ok(Sum(terms.collect::<R<_>>()?))
    }

    /// `self * o`: a number distributes, sums multiply as groups.
    pub fn mul(&self, o: &Sum) -> R<Sum> {
        if let Some(c) = self.as_constant() {
            return o.scale(c);
        }
        if let Some(c) = o.as_constant() {
            return self.scale(c);
        }
        let (a, pa) = self.as_term()?;
        let (b, pb) = o.as_term()?;
        Sum::from_term(a.times(b)?, pa.times(&pb)?)
    }

    /// `self^n` for an integer `n` (fails on `0^-n`).
    pub fn powi(&self, n: i64) -> R<Sum> {
        if n == 1 {
            return Ok(self.clone());
        }
        if let Some(c) = self.as_constant() {
            return Ok(Sum::constant(c.pow(n)?));
        }
        let (c, p) = self.as_term()?;
        Sum::from_term(c.pow(n)?, p.pow(n)?)
    }

    /// The sum as one term: itself if it has one, else its content times a group.
    fn as_term(&self) -> R<(Q, Product)> {
        if self.0.len() == 1 {
            if let Some((p, c)) = self.0.iter().next() {
                return Ok((*c, p.clone()));
            }
        }
        self.group()
    }

    fn group(&self) -> R<(Q, Product)> {
        let (first_p, first_c) = self.0.iter().next().ok_or(Bail)?;
        let (mut g, mut l) = (0i128, 1i128);
        for c in self.0.values() {
            g = gcd(g, c.num);
            l = checked((l / gcd(l, c.den)).checked_mul(c.den))?;
        }
        let content = Q::new(if first_c.is_negative() { -g } else { g }, l)?;
        let mut common = Product::default();
        for (f, &k) in &first_p.0 {
            let powers = self.0.keys().map(|p| p.0.get(f).copied().unwrap_or(0));
            let shared = if k > 0 {
                powers.min().filter(|&m| m > 0)
            } else {
                powers.max().filter(|&m| m < 0)
            };
            if let Some(m) = shared {
                common.0.insert(f.clone(), m);
            }
        }
        let inverse = common.pow(-1)?;
        let unit = Q::new(content.den, content.num)?;
        let mut inner = Sum::default();
        for (p, c) in &self.0 {
            inner.insert(p.times(&inverse)?, c.times(unit)?)?;
        }
        Ok((
            content,
            common.times(&Product::of(Factor::Group(inner), 1))?,
        ))
    }
}

/// A primitive applied to canonical operands, in canonical form: the arithmetic ones
/// (`add sub neg mul div recip mul_add powi`, and `powf` with an integer exponent) are
/// computed, every other smooth primitive stays an application.
pub fn apply(p: Prim, args: &[Sum]) -> R<Sum> {
    let rule = p.rule();
    if rule.kink.is_some() || rule.types == Types::Int || args.len() != rule.arity {
        return Err(Bail);
    }
    match (rule.name, args) {
        ("add", [a, b]) => a.add(b),
        ("sub", [a, b]) => a.sub(b),
        ("neg", [a]) => Ok(a.neg()),
        ("mul", [a, b]) => a.mul(b),
        ("div", [a, b]) => a.mul(&b.powi(-1)?),
        ("recip", [a]) => a.powi(-1),
        ("mul_add", [a, b, c]) => a.mul(b)?.add(c),
        ("powi", [a, n]) => a.powi(integer(n).ok_or(Bail)?),
        ("powf", [a, b]) if integer(b).is_some() => a.powi(integer(b).ok_or(Bail)?),
        ("powf", [a, b]) if b.as_constant().is_some() => root(a, b.clone()),
        ("sqrt", [a]) => root(a, Sum::constant(Q::new(1, 2)?)),
        _ if rule.syntax == Syntax::Method => Ok(Sum::factor(Factor::App(p, args.to_vec()))),
        _ => Err(Bail),
    }
}

/// `a^e` for a constant non-integer `e`: a `powf` factor (`sqrt` is `powf` by a half).
fn root(a: &Sum, e: Sum) -> R<Sum> {
    let powf = crate::rules::prim("powf").ok_or(Bail)?;
    Sum::from_term(
        Q::ONE,
        Product::of(Factor::App(powf, vec![a.clone(), e]), 1),
    )
}

/// The base and constant exponent of a `powf` factor.
fn power_of(f: &Factor) -> Option<(&Sum, Q)> {
    match f {
        Factor::App(p, args) if p.rule().name == "powf" => match &args[..] {
            [b, e] => Some((b, e.as_constant()?)),
            _ => None,
        },
        _ => None,
    }
}

/// Merges the powers of one base in a term: `powf` factors with constant exponents and
/// the base itself when it is a single factor (`x*sqrt(x)` is `x^1.5`, `sqrt(e)^2` is `e`).
/// Exponents of `powf` factors are positive (`1/sqrt(x)`, not `x^(-0.5)`).
fn merge_powers(mut c: Q, mut p: Product) -> R<(Q, Product)> {
    for _ in 0..8 {
        let bases: Vec<Sum> =
            p.0.keys()
                .filter_map(power_of)
                .map(|(b, _)| b.clone())
                .collect();
        let mut changed = false;
        for b in bases {
            let plain = match b.as_term()? {
                (q, f) if q == Q::ONE && f.0.len() == 1 && f.0.values().all(|k| *k == 1) => {
                    f.0.into_keys().next()
                }
                _ => None,
            };
            let same: Vec<(Factor, i64)> =
                p.0.iter()
                    .filter(|(f, _)| {
                        power_of(f).is_some_and(|(x, _)| *x == b) || Some(*f) == plain.as_ref()
                    })
                    .map(|(f, k)| (f.clone(), *k))
                    .collect();
            if let [(f, k)] = &same[..] {
                if k.abs() == 1 && power_of(f).is_some_and(|(_, e)| !e.is_negative()) {
                    continue;
                }
            }
            let mut total = Q::ZERO;
            for (f, k) in &same {
                let e = power_of(f).map_or(Q::ONE, |(_, e)| e);
                total = total.plus(e.times(Q::int(*k)?)?)?;
                p.0.remove(f);
            }
            changed = true;
            if let Some(n) = total.as_int() {
                let (cb, pb) = b.as_term()?;
                c = c.times(cb.pow(n)?)?;
                p = p.times(&pb.pow(n)?)?;
            } else {
                let sign = if total.is_negative() { -1 } else { 1 };
                let e = Sum::constant(if total.is_negative() {
                    total.negated()
                } else {
                    total
                });
                let powf = crate::rules::prim("powf").ok_or(Bail)?;
                p = p.times(&Product::of(Factor::App(powf, vec![b, e]), sign))?;
            }
        }
        if !changed {
            break;
        }
    }
    Ok((c, p))
}

/// The small integer a sum is, if it is one.
fn integer(s: &Sum) -> Option<i64> {
    s.as_constant()
        .and_then(Q::as_int)
        .filter(|n| n.unsigned_abs() <= 64)
}

/// A value of a rule expression: a number or a condition.
enum Val {
    Num(Sum),
    Bool(bool),
}

impl Val {
    fn num(self) -> R<Sum> {
        match self {
            Val::Num(s) => Ok(s),
            Val::Bool(_) => Err(Bail),
        }
    }
}

/// The value of a named constant of the float type.
fn std_const(name: &str) -> Option<f64> {
    use std::f64::consts;
    Some(match name {
        "LN_2" => consts::LN_2,
        "LN_10" => consts::LN_10,
        "PI" => consts::PI,
        "E" => consts::E,
        _ => return None,
    })
}

fn compare(op: CmpOp, a: Q, b: Q) -> bool {
    let o = a.cmp_value(b);
    match op {
        CmpOp::Lt => o.is_lt(),
        CmpOp::Le => o.is_le(),
        CmpOp::Gt => o.is_gt(),
        CmpOp::Ge => o.is_ge(),
        CmpOp::Eq => o.is_eq(),
        CmpOp::Ne => o.is_ne(),
    }
}

/// Interprets a rule's partial with `Arg(i)` bound to `args[i]` and `Out` to `out`;
/// comparisons must fold on numbers, and `Select` then takes one branch.
fn interp(d: &D, args: &[Sum], out: &Sum) -> R<Val> {
    let num = |d: &D| interp(d, args, out)?.num();
    Ok(match d {
        D::Arg(i) => Val::Num(args.get(*i).ok_or(Bail)?.clone()),
        D::Out => Val::Num(out.clone()),
        D::Lit(x) => Val::Num(Sum::constant(Q::from_f64(*x)?)),
        D::Int(n) => Val::Num(Sum::constant(Q::int(*n)?)),
        D::Bool(b) => Val::Bool(*b),
        // `LN_2` prints as `ln(2)`.
        D::Const(name) => match name.strip_prefix("LN_").map(str::parse::<i64>) {
            Some(Ok(base)) => Val::Num(apply(
                crate::rules::prim("ln").ok_or(Bail)?,
                &[Sum::constant(Q::int(base)?)],
            )?),
            _ => Val::Num(Sum::factor(Factor::Named(
                name.to_string(),
                std_const(name).map(f64::to_bits),
            ))),
        },
        D::Apply(p, ds) => Val::Num(apply(*p, &ds.iter().map(num).collect::<R<Vec<_>>>()?)?),
        D::Cmp(op, a, b) => {
            let a = num(a)?.as_constant().ok_or(Bail)?;
            let b = num(b)?.as_constant().ok_or(Bail)?;
            Val::Bool(compare(*op, a, b))
        }
        D::Select(c, a, b) => match interp(c, args, out)? {
            Val::Bool(true) => interp(a, args, out)?,
            Val::Bool(false) => interp(b, args, out)?,
            Val::Num(_) => return Err(Bail),
        },
        D::ToFloat(a) => interp(a, args, out)?,
    })
}

/// A value and its derivatives with respect to the differentiated parameters.
#[derive(Clone, Debug)]
pub struct Dual {
    /// The value.
    pub val: Sum,
    /// One derivative per differentiated parameter, in order.
    pub der: Vec<Sum>,
}

/// The trace of one function: the variables' symbolic values so far.
struct Tracer<'a> {
    f: &'a Function,
    names: Vec<String>,
    wrt: usize,
    env: Vec<Option<Dual>>,
}

impl Tracer<'_> {
    fn constant(&self, val: Sum) -> Dual {
        Dual {
            val,
            der: vec![Sum::default(); self.wrt],
        }
    }

    fn atom(&self, a: &Atom) -> R<Dual> {
        match a {
            Atom::Var(v) => self.env.get(v.index()).cloned().flatten().ok_or(Bail),
            Atom::Float(x) => Ok(self.constant(Sum::constant(Q::from_f64(*x)?))),
            Atom::Int(n) => Ok(self.constant(Sum::constant(Q::int(*n)?))),
            Atom::Bool(_) => Err(Bail),
        }
    }

    fn step(&self, op: &Op) -> R<Dual> {
        match op {
            Op::Use(a) | Op::Cast(a, CastTo::Float) => self.atom(a),
            Op::Num(n) => Ok(self.constant(Sum::constant(Q::int(*n)?))),
            Op::Const(c) => {
                let name = c.path.last().ok_or(Bail)?;
                if self.names.contains(name) {
                    return Err(Bail);
                }
                let bits = c.value.map(f64::to_bits);
                Ok(self.constant(Sum::factor(Factor::Named(name.clone(), bits))))
            }
            Op::NoGrad(a) => {
                let v = self.atom(a)?.val;
                Ok(self.constant(match v.as_constant() {
                    Some(_) => v,
                    None => Sum::factor(Factor::NoGrad(v)),
                }))
            }
            Op::Prim(p, args) => self.prim(*p, args),
            _ => Err(Bail),
        }
    }

    /// The chain rule through one application, its partials from the rule table.
    fn prim(&self, p: Prim, atoms: &[Atom]) -> R<Dual> {
        let ops = atoms.iter().map(|a| self.atom(a)).collect::<R<Vec<_>>>()?;
        let vals: Vec<Sum> = ops.iter().map(|d| d.val.clone()).collect();
        let val = apply(p, &vals)?;
        let partials = p.partials(&(0..vals.len()).map(D::Arg).collect::<Vec<_>>(), D::Out);
        let mut der = vec![Sum::default(); self.wrt];
        for (i, op) in ops.iter().enumerate() {
            if op.der.iter().all(Sum::is_zero) || p.rule().int_operands.contains(&i) {
                continue;
            }
            let Some(d) = partials.get(i).ok_or(Bail)? else {
                continue;
            };
            let partial = interp(d, &vals, &val)?.num()?;
            for (acc, dk) in der.iter_mut().zip(&op.der) {
                if !dk.is_zero() {
                    *acc = acc.add(&partial.mul(dk)?)?;
                }
            }
        }
        Ok(Dual { val, der })
    }
}

/// The parameters' names, when the function is straight-line scalar code: float
/// parameters by value, a float result, no receiver.
fn scalar_signature(l: &Lowered) -> R<Vec<String>> {
    let f = &l.func;
    let scalar_result = l.sig.result.kind == ResultKind::Scalar
        && matches!(&f.returns[..], [r] if *f.ty(*r) == Ty::Float);
    let scalar_params = f
        .params
        .iter()
        .all(|p| *f.ty(p.var) == Ty::Float && p.passing == Passing::Value);
    if !scalar_result || !scalar_params || l.sig.is_method {
        return Err(Bail);
    }
    Ok(f.params.iter().map(|p| f.var(p.var).name.clone()).collect())
}

/// The function's value and its derivatives with respect to `wrt` (parameters, in order),
/// in canonical form; `Err` when it is not straight-line scalar code over smooth
/// primitives, or an expression outgrows [`MAX_NODES`].
pub fn trace(l: &Lowered, wrt: &[VarId]) -> R<Dual> {
    let f = &l.func;
    let names = scalar_signature(l)?;
    if f.body.len() > MAX_STATEMENTS || wrt.len() > MAX_PARAMS {
        return Err(Bail);
    }
    let mut t = Tracer {
        f,
        names,
        wrt: wrt.len(),
        env: vec![None; f.vars.len()],
    };
    for (i, p) in f.params.iter().enumerate() {
        let unit = |w: &VarId| Sum::constant(if *w == p.var { Q::ONE } else { Q::ZERO });
        *t.env.get_mut(p.var.index()).ok_or(Bail)? = Some(Dual {
            val: Sum::factor(Factor::Var(i)),
            der: wrt.iter().map(unit).collect(),
        });
    }
    for s in &f.body {
        let (target, d) = match s {
            Stmt::Assign { target, op, .. } => (*target, t.step(op)?),
            // `s += e` on a whole variable: `s = s + e`.
            Stmt::Accumulate {
                place,
                value,
                negate,
                ..
            } if place.is_var() => {
                let p = crate::rules::prim(if *negate { "sub" } else { "add" }).ok_or(Bail)?;
                (
                    place.root,
                    t.prim(p, &[Atom::Var(place.root), value.clone()])?,
                )
            }
            _ => return Err(Bail),
        };
        if *t.f.ty(target) != Ty::Float {
            return Err(Bail);
        }
        if d.val.size() > MAX_NODES || d.der.iter().any(|s| s.size() > MAX_NODES) {
            return Err(Bail);
        }
        *t.env.get_mut(target.index()).ok_or(Bail)? = Some(d);
    }
    let ret = f.returns.first().ok_or(Bail)?;
    t.atom(&Atom::Var(*ret))
}

/// Every term of `a` times every term of `b` (sums distributed, unlike [`Sum::mul`]).
fn expand_mul(a: &Sum, b: &Sum) -> R<Sum> {
    let mut out = Sum::default();
    for (p, c) in &a.0 {
        for (q, d) in &b.0 {
            out = out.add(&Sum::from_term(c.times(*d)?, p.times(q)?)?)?;
            if out.size() > MAX_NODES {
                return Err(Bail);
            }
        }
    }
    Ok(out)
}

/// `f^j` for `j >= 0`, a group's sum multiplied out.
fn expanded_power(f: &Factor, j: i64) -> R<Sum> {
    match f {
        Factor::Group(s) => (0..j).try_fold(Sum::constant(Q::ONE), |acc, _| expand_mul(&acc, s)),
        _ if j == 0 => Ok(Sum::constant(Q::ONE)),
        _ => Sum::from_term(Q::ONE, Product::of(f.clone(), j)),
    }
}

/// `s` over the common denominator `f^m` (the largest power of `f` a term divides by),
/// the numerator multiplied out: `1/(x + y) - x/(x + y)^2` is `y/(x + y)^2`.
fn over(s: &Sum, f: &Factor) -> R<Sum> {
    let m =
        s.0.keys()
            .filter_map(|p| p.0.get(f))
            .map(|k| -k)
            .max()
            .ok_or(Bail)?;
    if !(1..=4).contains(&m) {
        return Err(Bail);
    }
    let mut numerator = Sum::default();
    for (p, c) in &s.0 {
        let mut rest = p.clone();
        let k = rest.0.remove(f).unwrap_or(0);
        let term = Sum::from_term(*c, rest)?;
        numerator = numerator.add(&expand_mul(&term, &expanded_power(f, k + m)?)?)?;
    }
    numerator.mul(&Sum::from_term(Q::ONE, Product::of(f.clone(), -m))?)
}

/// The shortest-printing of `s` and `s` over the common denominators of its terms.
pub fn together(s: &Sum, names: &[String]) -> Sum {
    let mut best = s.clone();
    let mut len = render(s, names).len();
    for _ in 0..4 {
        let dens: Vec<Factor> = best
            .0
            .keys()
            .flat_map(|p| p.0.iter().filter(|(_, k)| **k < 0).map(|(f, _)| f.clone()))
            .collect();
        let shorter = dens
            .iter()
            .filter_map(|f| over(&best, f).ok())
            .map(|c| (render(&c, names).len(), c))
            .filter(|(l, _)| *l < len)
            .min_by_key(|(l, _)| *l);
        match shorter {
            Some((l, c)) => (len, best) = (l, c),
            None => break,
        }
    }
    best
}

/// Prints a canonical expression; `names` are the parameters' names.
pub fn render(s: &Sum, names: &[String]) -> String {
    let mut terms: Vec<(&Product, Q)> = s.0.iter().map(|(p, c)| (p, *c)).collect();
    if terms.is_empty() {
        return "0".into();
    }
    terms.sort_by(|(p, _), (q, _)| q.degree().cmp(&p.degree()).then(p.cmp(q)));
    if terms[0].1.is_negative() {
        if let Some(i) = terms.iter().position(|(_, c)| !c.is_negative()) {
            let t = terms.remove(i);
            terms.insert(0, t);
        }
    }
    let mut out = String::new();
    for (i, (p, c)) in terms.into_iter().enumerate() {
        let flipped = if i == 0 { flip(p, c) } else { None };
        let (p, c) = match &flipped {
            Some(q) => (q, c.negated()),
            None => (p, c),
        };
        let sign = match (i, c.is_negative()) {
            (0, true) => "-",
            (0, false) => "",
            (_, true) => " - ",
            (_, false) => " + ",
        };
        out.push_str(sign);
        out.push_str(&render_term(
            if c.is_negative() { c.negated() } else { c },
            p,
            names,
        ));
    }
    out
}

/// A leading negative term with a group to an odd power prints with the group negated:
/// `200*(y - x^2)` rather than `-200*(x^2 - y)`.
fn flip(p: &Product, c: Q) -> Option<Product> {
    if !c.is_negative() {
        return None;
    }
    let mixed =
        |s: &Sum| s.0.values().any(|c| c.is_negative()) && s.0.values().any(|c| !c.is_negative());
    let (f, k) =
        p.0.iter()
            .find(|(f, k)| matches!(f, Factor::Group(s) if mixed(s)) && *k % 2 != 0)?;
    let Factor::Group(s) = f else { return None };
    let mut out = p.0.clone();
    out.remove(f);
    out.insert(Factor::Group(s.neg()), *k);
    Some(Product(out))
}

/// One term with a positive coefficient: numerator factors, then `/` and the denominator.
fn render_term(c: Q, p: &Product, names: &[String]) -> String {
    let mut num = Vec::new();
    let mut den = Vec::new();
    match c.decimal() {
        Some(d) if d == "1" => {}
        Some(d) => num.push(d),
        None => {
            if c.num != 1 {
                num.push(c.num.to_string());
            }
            den.push(c.den.to_string());
        }
    }
    // Constant factors first: `ln(2)*2^x`, `PI*x`.
    let factors = p.0.iter().filter(|(f, _)| f.is_constant());
    for (f, &k) in factors.chain(p.0.iter().filter(|(f, _)| !f.is_constant())) {
        if k > 0 {
            num.push(render_power(f, k, names));
        } else {
            den.push(render_power(f, -k, names));
        }
    }
    let num = if num.is_empty() {
        "1".to_string()
    } else {
        num.join("*")
    };
    match den.len() {
        0 => num,
        1 => format!("{num}/{}", den[0]),
        _ => format!("{num}/({})", den.join("*")),
    }
}

fn render_power(f: &Factor, k: i64, names: &[String]) -> String {
    let base = render_factor(f, names);
    match f {
        _ if k == 1 => base,
        Factor::App(p, _) if p.rule().name == "powf" => format!("({base})^{k}"),
        _ => format!("{base}^{k}"),
    }
}

fn render_factor(f: &Factor, names: &[String]) -> String {
    match f {
        Factor::Named(n, _) => n.clone(),
        Factor::Var(i) => names.get(*i).cloned().unwrap_or_else(|| format!("x{i}")),
        Factor::Group(s) => format!("({})", render(s, names)),
        Factor::NoGrad(s) => format!("no_grad({})", render(s, names)),
        Factor::App(p, args) => match &args[..] {
            [a, b] if p.rule().name == "powf" && b.as_constant() == Q::new(1, 2).ok() => {
                format!("sqrt({})", render(a, names))
            }
            [a, b] if p.rule().name == "powf" => {
                format!("{}^{}", operand(a, names), operand(b, names))
            }
            _ => {
                let args: Vec<String> = args.iter().map(|a| render(a, names)).collect();
                format!("{}({})", p.rule().name, args.join(", "))
            }
        },
    }
}

/// A base or exponent of `^`: parenthesised unless a name, a call or a plain number.
fn operand(s: &Sum, names: &[String]) -> String {
    let atomic = match s.as_constant() {
        Some(q) => !q.is_negative() && q.decimal().is_some(),
        None => s.0.iter().next().is_some_and(|(p, c)| {
            s.0.len() == 1
                && *c == Q::ONE
                && p.0.len() == 1
                && p.0.iter().all(|(f, k)| {
                    *k == 1
                        && !matches!(f, Factor::App(p, _) if p.rule().name == "powf")
                        && !matches!(f, Factor::Group(_))
                })
        }),
    };
    let text = render(s, names);
    if atomic {
        text
    } else {
        format!("({text})")
    }
}

/// The partial derivatives of a straight-line scalar function with respect to `wrt`, as
/// `(parameter name, printed partial)`; `None` when it has none in closed form or one
/// prints longer than [`MAX_CHARS`] or with more than [`MAX_TERMS`] terms.
pub fn partials(l: &Lowered, wrt: &[VarId]) -> Option<Vec<(String, String)>> {
    let names = scalar_signature(l).ok()?;
    let dual = trace(l, wrt).ok()?;
    let mut out = Vec::new();
    for (w, d) in wrt.iter().zip(&dual.der) {
        let d = together(d, &names);
        let text = render(&d, &names);
        if text.chars().count() > MAX_CHARS || d.terms() > MAX_TERMS {
            return None;
        }
        out.push((l.func.var(*w).name.clone(), text));
    }
    Some(out)
}

/// The docs' section listing the partial derivatives (`∂f/∂x = 6*x*y`), as Markdown to put
/// between two sentences of a doc comment; empty when [`partials`] gives none.
pub fn doc_section(l: &Lowered, wrt: &[VarId]) -> String {
    let Some(parts) = partials(l, wrt).filter(|p| !p.is_empty()) else {
        return String::new();
    };
    let f = l.sig.ident.to_string();
    let items: Vec<String> = parts
        .iter()
        .map(|(x, d)| format!(" - `∂{f}/∂{x} = {d}`"))
        .collect();
    format!(
        "\n\n The partial derivatives, in closed form:\n\n{}\n\n",
        items.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::companions::float_params;
    use crate::hash::HashMap;
    use crate::lower::{lower, FnSource};
    use crate::rules::Domain;

    fn lowered(src: &str) -> Lowered {
        let item: syn::ItemFn = syn::parse_str(src).expect("a function");
        let source = FnSource {
            attrs: &item.attrs,
            vis: &item.vis,
            sig: &item.sig,
            block: &item.block,
            is_method: false,
        };
        lower(&source).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    /// The printed partials with respect to every float parameter.
    fn docs(src: &str) -> Option<Vec<String>> {
        let l = lowered(src);
        let parts = partials(&l, &float_params(&l))?;
        Some(parts.into_iter().map(|(_, d)| d).collect())
    }

    fn expect(src: &str, want: &[&str]) {
        assert_eq!(
            docs(src),
            Some(want.iter().map(|s| s.to_string()).collect()),
            "{src}"
        );
        assert!(
            check(src, -2.0, 2.0, &mut Rng(7)) >= 10,
            "{src}: too few points checked"
        );
    }

    #[test]
    fn the_seeds_functions() {
        expect(
            "fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }",
            &["6*x*y", "3*x^2"],
        );
        expect(
            "fn g(x: f64, y: f64) -> f64 { 2.0 * x + y.powi(8) }",
            &["2", "8*y^7"],
        );
    }

    #[test]
    fn the_chain_rule_example() {
        expect("fn a(x: f64) -> f64 { (x * x).ln() }", &["2/x"]);
        expect("fn b(x: f64) -> f64 { (3.0 * x).sin() }", &["3*cos(3*x)"]);
    }

    #[test]
    fn rosenbrock() {
        expect(
            "fn rosenbrock(x: f64, y: f64) -> f64 { (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2) }",
            &["400*x*(x^2 - y) + 2*x - 2", "200*y - 200*x^2"],
        );
    }

    #[test]
    fn exponentials_logarithms_roots_and_quotients() {
        let src = "fn h(x: f64, y: f64) -> f64 { (x / y).exp() + (x * y).sqrt() - y.ln() }";
        assert_eq!(
            docs(src).unwrap(),
            [
                "exp(x/y)/y + 0.5*y/sqrt(x*y)",
                "0.5*x/sqrt(x*y) - x*exp(x/y)/y^2 - 1/y"
            ]
        );
        assert!(check(src, 0.2, 3.0, &mut Rng(1)) >= 10);
        expect(
            "fn q(x: f64, y: f64) -> f64 { x / (x + y) }",
            &["y/(x + y)^2", "-x/(x + y)^2"],
        );
        expect("fn c(x: f64) -> f64 { x.cbrt() }", &["1/(3*cbrt(x)^2)"]);
        let src = "fn p(x: f64) -> f64 { x.powf(2.5) + 2.0_f64.powf(x) + x.tanh() }";
        assert_eq!(
            docs(src).unwrap(),
            ["ln(2)*2^x - tanh(x)^2 + 2.5*x^1.5 + 1"]
        );
        assert!(check(src, 0.2, 3.0, &mut Rng(2)) >= 10);
    }

    #[test]
    fn powers_of_one_base_merge() {
        expect("fn r(x: f64) -> f64 { x * x.sqrt() }", &["1.5*sqrt(x)"]);
        expect(
            "fn r(x: f64) -> f64 { x.powf(1.5) + x.powf(2.0) }",
            &["2*x + 1.5*sqrt(x)"],
        );
        expect(
            "fn n(x: f64, y: f64) -> f64 { (x * x + y * y).sqrt() }",
            &["x/sqrt(x^2 + y^2)", "y/sqrt(x^2 + y^2)"],
        );
        expect(
            "fn s(x: f64) -> f64 { x.sqrt().powi(2) + 1.0 / x.sqrt() }",
            &["1 - 0.5/x^1.5"],
        );
    }

    #[test]
    fn a_leading_negative_term_prints_its_group_negated() {
        let v = |i| Sum::factor(Factor::Var(i));
        let g = v(0).mul(&v(0)).unwrap().sub(&v(1)).unwrap();
        let s = g.mul(&v(2)).unwrap().neg();
        let names = ["x", "y", "z"].map(String::from);
        assert_eq!(render(&s, &names), "z*(y - x^2)");
        assert_eq!(render(&s.neg(), &names), "z*(x^2 - y)");
        assert_eq!(render(&g.neg(), &names), "y - x^2");
    }

    #[test]
    fn constants_casts_and_reassignments() {
        expect(
            "fn k(x: f64, y: f64) -> f64 { let mut s = x as f64; s = s * y; s += std::f64::consts::PI * x * x; -s }",
            &["-2*PI*x - y", "-x"],
        );
        // Finite differences see through `no_grad`: only the text is compared.
        let src = "fn w(x: f64, y: f64) -> f64 { grad::no_grad(x * x) * y }";
        assert_eq!(docs(src).unwrap(), ["0", "no_grad(x^2)"]);
        expect(
            "fn m(x: f64, y: f64) -> f64 { x.mul_add(y, 1.0).recip() }",
            &["-y/(x*y + 1)^2", "-x/(x*y + 1)^2"],
        );
        let l = lowered("fn u(x: f64, y: f64) -> f64 { x * y * y }");
        let only_y = vec![l.func.params[1].var];
        assert_eq!(
            partials(&l, &only_y).unwrap(),
            [("y".into(), "2*x*y".into())]
        );
    }

    #[test]
    fn no_doc_where_there_is_no_closed_form() {
        for src in [
            "fn a(x: f64) -> f64 { x.abs() }",
            "fn b(x: f64, y: f64) -> f64 { x.max(y) * 2.0 }",
            "fn c(x: f64, y: f64) -> f64 { x.atan2(y) }",
            "fn d(x: f64, y: f64) -> f64 { x.powf(y) }",
            "fn e(x: f64) -> f64 { if x > 0.0 { x } else { -x } }",
            "fn f(x: f64) -> f64 { let mut s = 0.0; for _ in 0..3 { s += x; } s }",
            "fn g(x: &[f64]) -> f64 { x[0] * x[1] }",
            "fn h(x: f64, n: usize) -> f64 { x * n as f64 }",
            "fn i(x: f64) -> f64 { other(x) * 2.0 }",
            "fn j(x: f64) -> [f64; 2] { [x, x] }",
            "fn k(x: f64) -> f64 { x.floor() + x }",
        ] {
            assert_eq!(docs(src), None, "{src}");
        }
    }

    #[test]
    fn no_doc_for_unreadably_large_partials() {
        // Traced, but a partial prints longer than `MAX_CHARS`.
        let src = "fn big(x: f64, y: f64) -> f64 {
            let a = (x * y + x).sin() * (y - x).exp();
            (a * a + x).ln() * (a + y).cos()
        }";
        let l = lowered(src);
        let dual = trace(&l, &float_params(&l)).unwrap();
        let names = ["x".to_string(), "y".to_string()];
        assert!(dual
            .der
            .iter()
            .any(|d| render(&together(d, &names), &names).len() > MAX_CHARS));
        assert_eq!(docs(src), None);
        assert!(check(src, -1.0, 1.0, &mut Rng(3)) >= 10);
        // Outgrows `MAX_NODES` while traced.
        let src = "fn bigger(x: f64, y: f64) -> f64 {
            let a = (x * y + x).sin() * (y - x).exp();
            let b = (a * a + x).ln() * (a + y).cos();
            let c = (b * a + y).tanh() / (b + x * x + 2.0);
            c * c + b * a
        }";
        assert_eq!(
            trace(&lowered(src), &float_params(&lowered(src))).err(),
            Some(Bail)
        );
    }

    #[test]
    fn rationals_print_as_decimals_or_fractions() {
        assert_eq!(Q::from_f64(0.1).unwrap(), Q::new(1, 10).unwrap());
        assert_eq!(Q::from_f64(-2.5e-3).unwrap(), Q::new(-1, 400).unwrap());
        assert_eq!(
            Q::from_f64(3e17).unwrap(),
            Q::new(300_000_000_000_000_000, 1).unwrap()
        );
        assert_eq!(Q::from_f64(3e20), Err(Bail));
        assert_eq!(Q::from_f64(1e300), Err(Bail));
        assert_eq!(Q::new(-1, 400).unwrap().decimal().unwrap(), "-0.0025");
        assert_eq!(Q::new(7, 1).unwrap().decimal().unwrap(), "7");
        assert_eq!(Q::new(1, 3).unwrap().decimal(), None);
        assert_eq!(Q::new(2, 0), Err(Bail));
        expect(
            "fn s(x: f64) -> f64 { 0.1 * x * x + x / 3.0 }",
            &["0.2*x + 1/3"],
        );
    }

    #[test]
    fn the_doc_section_and_its_place_in_the_expansion() {
        let l = lowered("fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }");
        assert_eq!(
            doc_section(&l, &float_params(&l)),
            "\n\n The partial derivatives, in closed form:\n\n - `∂f/∂x = 6*x*y`\n - `∂f/∂y = 3*x^2`\n\n"
        );
        let out = crate::derive_gradient(
            quote::quote!(),
            "fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }"
                .parse()
                .unwrap(),
        )
        .to_string();
        assert_eq!(out.matches("∂f/∂x = 6*x*y").count(), 2, "{out}");
        let l = lowered("fn a(x: f64) -> f64 { x.abs() }");
        assert_eq!(doc_section(&l, &float_params(&l)), "");
    }

    #[test]
    fn random_straight_line_functions_print_correct_partials() {
        let mut rng = Rng(0x5eed);
        let (mut with_docs, mut points) = (0, 0);
        for _ in 0..60 {
            let src = random_function(&mut rng);
            if docs(&src).is_some() {
                with_docs += 1;
            }
            points += check(&src, -1.5, 1.5, &mut rng);
        }
        assert!(
            with_docs >= 30,
            "only {with_docs} of 60 random functions had docs"
        );
        assert!(points >= 800, "only {points} points checked");
    }

    /// A deterministic generator (SplitMix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A random straight-line function of `x, y, z` over the table's smooth primitives, each
    /// operand moved into its primitive's domain.
    fn random_function(rng: &mut Rng) -> String {
        let prims: Vec<Prim> = Prim::all()
            .filter(|p| {
                let r = p.rule();
                r.kink.is_none()
                    && r.types != Types::Int
                    && matches!(
                        r.syntax,
                        Syntax::Binary(_) | Syntax::Negate | Syntax::Method
                    )
            })
            .collect();
        let mut vars: Vec<String> = ["x", "y", "z"].map(String::from).to_vec();
        let mut body = String::new();
        for k in 0..2 + rng.below(5) {
            let rule = prims[rng.below(prims.len())].rule();
            let ops: Vec<String> = (0..rule.arity)
                .map(|i| {
                    let dom = rule.domain[i];
                    if dom == Domain::SmallInt || (i > 0 && rng.below(3) == 0) {
                        return literal(dom, rng);
                    }
                    let v = match (i, rng.below(2)) {
                        (0, 0) => vars[vars.len() - 1].clone(),
                        _ => vars[rng.below(vars.len())].clone(),
                    };
                    within(dom, &v)
                })
                .collect();
            let e = match rule.syntax {
                Syntax::Binary(op) => format!("({} {op} {})", ops[0], ops[1]),
                Syntax::Negate => format!("(-{})", ops[0]),
                _ => format!("{}.{}({})", ops[0], rule.name, ops[1..].join(", ")),
            };
            body.push_str(&format!("let t{k}: f64 = {e}; "));
            vars.push(format!("t{k}"));
        }
        format!(
            "fn r(x: f64, y: f64, z: f64) -> f64 {{ {body}{} }}",
            vars[vars.len() - 1]
        )
    }

    fn literal(dom: Domain, rng: &mut Rng) -> String {
        let choices: &[&str] = match dom {
            Domain::Any => &["2.0", "-1.5", "0.5", "3.0"],
            Domain::Positive => &["0.5", "1.5", "2.0", "3.0"],
            Domain::Unit => &["0.5", "-0.25"],
            Domain::AboveOne => &["2.0", "10.0", "1.5"],
            Domain::NonZero => &["2.0", "-1.5", "0.5"],
            Domain::SmallInt => &["0", "1", "2", "3", "4"],
        };
        choices[rng.below(choices.len())].to_string()
    }

    fn within(dom: Domain, v: &str) -> String {
        match dom {
            Domain::Any | Domain::SmallInt => v.to_string(),
            Domain::Positive | Domain::NonZero => format!("({v} * {v} + 0.5)"),
            Domain::AboveOne => format!("({v} * {v} + 1.5)"),
            Domain::Unit => format!("(0.9 * {v}.tanh())"),
        }
    }

    /// Runs a lowered straight-line function (with the rule table's values).
    fn eval_ir(f: &Function, xs: &[f64]) -> Option<f64> {
        let mut env: Vec<Option<f64>> = vec![None; f.vars.len()];
        for (p, x) in f.params.iter().zip(xs) {
            env[p.var.index()] = Some(*x);
        }
        let atom = |env: &[Option<f64>], a: &Atom| match a {
            Atom::Var(v) => env[v.index()],
            Atom::Float(x) => Some(*x),
            Atom::Int(n) => Some(*n as f64),
            Atom::Bool(_) => None,
        };
        for s in &f.body {
            let (target, op) = match s {
                Stmt::Assign { target, op, .. } => (*target, op.clone()),
                Stmt::Accumulate {
                    place,
                    value,
                    negate,
                    ..
                } => {
                    let p = crate::rules::prim(if *negate { "sub" } else { "add" })?;
                    (
                        place.root,
                        Op::Prim(p, vec![Atom::Var(place.root), value.clone()]),
                    )
                }
                _ => return None,
            };
            env[target.index()] = Some(match &op {
                Op::Use(a) | Op::Cast(a, CastTo::Float) | Op::NoGrad(a) => atom(&env, a)?,
                Op::Num(n) => *n as f64,
                Op::Const(c) => c.value?,
                Op::Prim(p, args) => {
                    let xs: Option<Vec<f64>> = args.iter().map(|a| atom(&env, a)).collect();
                    (p.rule().eval)(&xs?)
                }
                _ => return None,
            });
        }
        env[f.returns.first()?.index()]
    }

    /// Evaluates printed text (the docs' notation) by parsing it.
    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
        env: &'a HashMap<String, f64>,
    }

    impl Parser<'_> {
        fn eat(&mut self, c: u8) -> bool {
            while self.s.get(self.i) == Some(&b' ') {
                self.i += 1;
            }
            let hit = self.s.get(self.i) == Some(&c);
            self.i += usize::from(hit);
            hit
        }
        fn expr(&mut self) -> f64 {
            let mut v = if self.eat(b'-') {
                -self.term()
            } else {
                self.term()
            };
            loop {
                if self.eat(b'+') {
                    v += self.term();
                } else if self.eat(b'-') {
                    v -= self.term();
                } else {
                    return v;
                }
            }
        }
        fn term(&mut self) -> f64 {
            let mut v = self.power();
            loop {
                if self.eat(b'*') {
                    v *= self.power();
                } else if self.eat(b'/') {
                    v /= self.power();
                } else {
                    return v;
                }
            }
        }
        fn power(&mut self) -> f64 {
            let b = self.atom();
            if self.eat(b'^') {
                b.powf(self.atom())
            } else {
                b
            }
        }
        fn atom(&mut self) -> f64 {
            if self.eat(b'(') {
                let v = self.expr();
                assert!(self.eat(b')'), "unbalanced parentheses");
                return v;
            }
            let start = self.i;
            while matches!(self.s.get(self.i), Some(c) if c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
            {
                self.i += 1;
            }
            let word = std::str::from_utf8(&self.s[start..self.i])
                .unwrap()
                .to_string();
            if word.starts_with(|c: char| c.is_ascii_digit()) {
                return word.parse().unwrap();
            }
            if !self.eat(b'(') {
                return *self
                    .env
                    .get(&word)
                    .unwrap_or_else(|| panic!("unknown name {word:?}"));
            }
            let mut args = vec![self.expr()];
            while self.eat(b',') {
                args.push(self.expr());
            }
            assert!(self.eat(b')'), "unbalanced call");
            match word.as_str() {
                "no_grad" => args[0],
                name => (crate::rules::prim(name).expect("a primitive").rule().eval)(&args),
            }
        }
    }

    fn parse_eval(text: &str, env: &HashMap<String, f64>) -> f64 {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            env,
        };
        let v = p.expr();
        assert_eq!(p.i, text.len(), "trailing text in {text:?}");
        v
    }

    /// Central differences, Richardson-extrapolated; `None` where they are unstable.
    fn finite_difference(f: &dyn Fn(&[f64]) -> Option<f64>, xs: &[f64], k: usize) -> Option<f64> {
        let at = |h: f64| {
            let (mut p, mut m) = (xs.to_vec(), xs.to_vec());
            p[k] += h;
            m[k] -= h;
            Some((f(&p)? - f(&m)?) / (2.0 * h))
        };
        let h = 1e-3 * (1.0 + xs[k].abs());
        let (d1, d2) = (at(h)?, at(h / 2.0)?);
        let stable = d1.is_finite() && d2.is_finite() && (d1 - d2).abs() <= 1e-3 * (1.0 + d2.abs());
        stable.then_some((4.0 * d2 - d1) / 3.0)
    }

    /// Checks the printed value and partials of `src` (parsed back) against the lowered
    /// function and its finite differences at random points of `[lo, hi]^n`; returns how
    /// many points were compared (0 when there is no closed form).
    fn check(src: &str, lo: f64, hi: f64, rng: &mut Rng) -> usize {
        let l = lowered(src);
        let (Ok(names), Ok(dual)) = (scalar_signature(&l), trace(&l, &float_params(&l))) else {
            return 0;
        };
        let value = render(&dual.val, &names);
        let ders: Vec<String> = dual
            .der
            .iter()
            .map(|d| render(&together(d, &names), &names))
            .collect();
        let f = |xs: &[f64]| eval_ir(&l.func, xs).filter(|y| y.is_finite());
        let mut compared = 0;
        for _ in 0..30 {
            let xs: Vec<f64> = names.iter().map(|_| lo + (hi - lo) * rng.unit()).collect();
            let Some(y) = f(&xs).filter(|y| y.abs() < 1e4) else {
                continue;
            };
            let mut env: HashMap<String, f64> = names.iter().cloned().zip(xs.clone()).collect();
            for c in ["LN_2", "LN_10", "PI", "E"] {
                env.insert(c.into(), std_const(c).unwrap());
            }
            let v = parse_eval(&value, &env);
            let close =
                |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()));
            assert!(
                close(v, y, 1e-7),
                "{src}\n{value} is {v} at {xs:?}, the function {y}"
            );
            for (k, text) in ders.iter().enumerate() {
                let d = parse_eval(text, &env);
                if let Some(fd) = finite_difference(&f, &xs, k) {
                    assert!(
                        close(d, fd, 1e-5),
                        "{src}\nd/d{}: {text} is {d} at {xs:?}, finite differences {fd}",
                        names[k]
                    );
                }
            }
            compared += 1;
        }
        compared
    }
}
