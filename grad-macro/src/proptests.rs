//! Property tests at scale ("never a wrong derivative"): random programs in the supported
//! subset are generated as Rust source, parsed with syn, lowered, and run by the IR evaluator
//! ([`crate::eval`]) as primal, reverse mode and forward mode; the derivatives must agree with
//! each other (to 1e-9, relative) and with central finite differences.
//!
//! The generator (proptest strategies; a failure is then minimised by [`minimise`]) writes
//! `fn f(x0: f64, x1: f64, x2: f64, a: &[f64], b: [f64; 3], n: usize) -> R` with `R` one of
//! `f64`, `[f64; 2]`, `(f64, f64)`, `Vec<f64>`, and up to two helpers `g1`, `g2` of the same
//! parameters that `f` calls. Bodies use: every float primitive behind a domain-safe wrapper
//! (`ln` of `e.powi(2) + 0.5`, `asin` of `e.tanh() * 0.6`, `powf` with a positive base, ..),
//! as methods and in the `f64::sin(x)` form; `let` chains, shadowing, typed lets, tuple lets,
//! block and `if` expressions; `if`/`else` on float and integer comparisons with `&&`, `||`,
//! `!`; `for` loops over `0..n`, `0..3`, `(0..n).rev()`, `1..=2`, `0..a.len()`, `0..n - 1` and
//! triangular `0..i` / `i..n` ranges with carried state of every kind (sum accumulators
//! `s += e` / `s -= e`, dot products `s += x[i] * y[i]`, and non-sum state `s = s * 0.9 + e`,
//! `s *= e`, `s = s.max(e)`, `s = (s + e).sin()`), nested; `while` loops bounded by a counter
//! (optionally also by a float condition); reads `a[i]`, `b[(i + 1) % 3]`, `a[n - 1 - i]` and
//! float-dependent indices `a[(x.abs() * 2.0) as usize % n]`; local arrays (`[0.0; 3]`,
//! `[e, e, e]`, `vec![0.0; n]`, `vec![e; n]`, `vec![e, e]`, copies of `b`) with element stores
//! `w[i] = e`, `w[i] += e`, `w[i] = w[i] * 0.5 + w[i + 1]`, .., and whole-array assignments;
//! calls `g1(e, e, 0.5, &w, [e, e, 1.0], n)`; `as` casts; `std::f64::consts` constants; early
//! `return` from `if`s (nested too). Each program is differentiated with respect to a random
//! non-empty subset of its float parameters.
//!
//! At each random point the checks are, for every entry of the result: the reverse sweep
//! (`strict`, and with the reassociated dot-product kernels) and the forward sweep reproduce
//! the primal value; reverse rows and forward columns of the Jacobian agree to 1e-9
//! (relative to the size of the terms); the pullback (`ArrayAdjoints::Accumulating`, a random
//! seed, caller buffers already holding values) leaves `initial + seed^T J` in the buffers;
//! and each component agrees with a central difference (Richardson-extrapolated when needed),
//! within a tolerance scaled to the difference's own error estimate. Points where the function
//! is not smooth are skipped: the evaluator records a branch trace (every comparison, every
//! float-to-integer cast, and the branch of every `abs`/`max`/`min`/`signum`/`atan2`), and a
//! component whose perturbed evaluations take a different branch, or whose differences with
//! step h and h/2 disagree, is not compared against finite differences. The step is chosen
//! from the forward sweep so that no intermediate moves by more than 1e-3 (a fast `sin(s)`
//! would otherwise alias).
//!
//! The normal `cargo test -p grad-macro` runs [`DEFAULT_PROGRAMS`] programs (2 points each):
//! about 29 s on a quiet 2-core machine in the debug build (the whole `cargo test -p
//! grad-macro` too: the never-panics test runs beside it), for about 6 000 points and 25 000
//! gradient components compared with finite differences, every one of the 33 primitives
//! exercised with active operands (170 to 10 000 times each), and per run some 6 500 loops,
//! 5 500 `if`s, 15 000 saves to stacks, 1 000 fused reductions, 500 dot kernels and 1 400
//! active calls. `GRAD_PROPTEST_CASES=100000 cargo test -p grad-macro --release
//! random_programs -- --nocapture` runs more (about 230 programs a second in release), and
//! `GRAD_PROPTEST_SEED=n` changes the seed (the default is fixed, so runs are reproducible).
//! The test prints these counts with `--nocapture`: programs and points tried, components
//! compared and skipped, how often each primitive and each construct of the transforms was
//! exercised, and where the time went.
//!
//! Below the random programs: the documented conventions at kinks, checked at exactly those
//! points ([`kink_conventions`]), and regression tests of the bugs the random programs found.
//! The "macro never panics" test lives in [`crate::nopanic`] and uses this generator too.

use crate::eval::{self, Forward, Reverse, Value};
use crate::ir::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

/// Programs checked by the default test run.
pub const DEFAULT_PROGRAMS: u32 = 3000;

// ===== the program AST =====================================================================

/// Float literals the generator uses.
const LITS: [f64; 10] = [0.5, 1.0, 2.0, -1.5, 0.25, 3.0, 0.0, -0.75, 1.25, 0.1];
/// Constant paths the generator uses.
const CONSTS: [&str; 4] = [
    "std::f64::consts::PI",
    "std::f64::consts::E",
    "f64::EPSILON",
    "std::f64::consts::FRAC_1_SQRT_2",
];

/// An integer expression, used as an index (reduced into range) or cast to a float.
#[derive(Clone, Debug)]
enum IE {
    /// A literal.
    Lit(u8),
    /// An integer variable in scope (loop variables, `while` counters, `n`).
    Var(u8),
    /// `v + k`.
    AddLit(u8, u8),
    /// `len - 1 - v` where `v` is known to be in range.
    Rev(u8),
    /// `(v.abs() * s) as usize` for a float variable `v`: a float-to-integer cast (piecewise
    /// constant, so its derivative is 0 and its jumps are kinks).
    FloatIdx(u8, u8),
    /// `idx[v % 4]`: an index read from the integer slice parameter (values in `0..n`, with
    /// repeats), for indirect indexing `a[idx[k]]`.
    Indirect(u8),
}

/// A float expression. Variables are chosen modulo the names in scope when printing, so any
/// shrunk program stays well formed.
#[derive(Clone, Debug)]
enum FE {
    Var(u8),
    Lit(u8),
    Const(u8),
    Neg(Box<FE>),
    /// `+`, `-`, `*` (0, 1, 2).
    Arith(u8, Box<FE>, Box<FE>),
    /// `a / P(b)`, `a / (b + 0.377)`, `a / lit`.
    Div(u8, Box<FE>, Box<FE>),
    /// A unary primitive with a wrapper choice and whether to print `f64::name(x)`.
    Un(U, u8, bool, Box<FE>),
    /// A binary primitive with a variant choice and the `f64::name(a, b)` flag.
    Bin(B2, u8, bool, Box<FE>, Box<FE>),
    MulAdd(Box<FE>, Box<FE>, Box<FE>),
    /// `e.powi(k)` (k in -2..=4; a positive base for k <= 0), or `P(e).powi(i as i32)`.
    Powi(Box<FE>, i8, Option<IE>),
    /// `arr[index]`.
    Index(u8, IE),
    /// `(ie as f64)`.
    IntCast(IE),
    /// `(if c { a } else { b })`.
    If(Box<Cond>, Box<FE>, Box<FE>),
    /// `({ let t = a; b })`, `b` seeing `t`.
    Block(Box<FE>, Box<FE>),
    /// A call of a helper `g1`/`g2` (same signature as `f`): `gk(a, b, x2-ish, a-ish, b-ish, n)`,
    /// the variant choosing a literal or a variable for the third argument, `a` or a local
    /// `Vec` (by reference) for the slice, and `b`, a local array or an array literal for the
    /// fixed array.
    Call(u8, u8, Box<FE>, Box<FE>),
}

/// Unary primitives.
#[derive(Clone, Copy, Debug)]
enum U {
    Sqrt,
    Cbrt,
    Exp,
    Exp2,
    Ln,
    Log2,
    Log10,
    Ln1p,
    ExpM1,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Abs,
    Signum,
    Recip,
}

const UNARY: [U; 21] = [
    U::Sqrt,
    U::Cbrt,
    U::Exp,
    U::Exp2,
    U::Ln,
    U::Log2,
    U::Log10,
    U::Ln1p,
    U::ExpM1,
    U::Sin,
    U::Cos,
    U::Tan,
    U::Asin,
    U::Acos,
    U::Atan,
    U::Sinh,
    U::Cosh,
    U::Tanh,
    U::Abs,
    U::Signum,
    U::Recip,
];

/// Binary primitives (besides the arithmetic operators).
#[derive(Clone, Copy, Debug)]
enum B2 {
    Powf,
    Atan2,
    Max,
    Min,
    Hypot,
}

const BINARY: [B2; 5] = [B2::Powf, B2::Atan2, B2::Max, B2::Min, B2::Hypot];

/// A condition.
#[derive(Clone, Debug)]
enum Cond {
    /// `a op b` on floats (op index into `CMPS`).
    Cmp(u8, FE, FE),
    /// `a op lit`.
    CmpLit(u8, FE, u8),
    /// `ie op k` on integers.
    Int(u8, IE, u8),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

const CMPS: [&str; 6] = ["<", "<=", ">", ">=", "==", "!="];

/// How a carried loop variable is updated at the end of each iteration.
#[derive(Clone, Copy, Debug)]
enum Upd {
    Sum,
    Sub,
    Decay,
    Prod,
    Max,
    Min,
    Smooth,
}

/// A `for` loop's range.
#[derive(Clone, Copy, Debug)]
enum RangeK {
    ZeroN,
    ZeroThree,
    RevN,
    Incl,
    Len,
    /// `0..i` with `i` an enclosing loop variable (or `0..n` at top level).
    Tri,
    /// `i..n` with `i` an enclosing loop variable.
    TriUp,
}

/// A statement.
#[derive(Clone, Debug)]
enum St {
    /// `let v = e;` (or, with `Some(k)`, shadowing the k-th float name in scope).
    Let(FE, Option<u8>),
    /// `let mut m = e;`
    LetMut(FE),
    /// `m op e;` on a mutable float: `=`, `+=`, `-=`, `*= B(e)`, `= m * 0.9 + e`, `/= P(e)`.
    Assign(u8, u8, FE),
    If(Cond, Vec<St>, Vec<St>),
    /// `let mut s = init; for i in range { body; s <upd> e; }` for each carried `(init, upd, e)`.
    For(RangeK, Vec<(FE, Upd, FE)>, Vec<St>),
    /// A reduction loop whose body is only lets: `let mut s = 0.0; for i in 0..n { lets; s += e; }`.
    Reduce(Vec<FE>, FE, bool),
    /// `let mut k = 0; [let mut s = init;] while k < bound [&& s < lit] { body; [s = ..;] k += 1; }`.
    While(u8, Option<(FE, FE, u8)>, Vec<St>),
    /// A local array: `[0.0; 3]`, `[a, b, c]`, `vec![0.0; n]`, `vec![e; n]`, `b` copy, `vec![a, b]`.
    Arr(u8, Vec<FE>),
    /// `w[i] op e` on a local array: `=`, `+=`, `-=`, `*= B(e)`, `= w[i] * 0.5 + e`.
    Store(u8, IE, u8, FE),
    /// A local array filled by one loop and updated in place by another (reading neighbours).
    ArrLoop(u8, FE, FE),
    /// `w = ..` on a whole local array: `[a, b, c]`, `b`, `vec![e; n]` (by the array's kind).
    ArrAssign(u8, Vec<FE>),
    /// A dot-product reduction `acc += x[i + k] * y[i]` (the shape the reverse transform hands
    /// to the vectorised kernel).
    DotLoop(u8, u8),
    /// `let (p, q) = (a, b);`
    Tuple(FE, FE),
    /// `let v = if c { a } else { b };`
    IfLet(Cond, FE, FE),
    /// `if c { return e; }` (top level only; elsewhere a `let`).
    Return(Cond, FE),
}

/// A generated program and where to evaluate it.
#[derive(Clone, Debug)]
pub(crate) struct Prog {
    /// `a.len()` (1..=4).
    n: u8,
    stmts: Vec<St>,
    tail: FE,
    /// The second entry of an array-shaped result.
    tail2: FE,
    /// The result's type: `f64` (0), `[f64; 2]` (1), `(f64, f64)` (2), `Vec<f64>` (3).
    shape: u8,
    /// Which top-level locals the result also sums.
    tail_mask: u32,
    /// Which float parameters are differentiated (bit k for parameter k of 5; never 0).
    wrt_mask: u8,
    /// Points: raw values in [-2, 2] mapped onto the inputs.
    points: Vec<Vec<f64>>,
    /// Helper functions `g1`, `g2`, .. (statements and result) that `f` may call.
    helpers: Vec<(Vec<St>, FE)>,
}

// ===== strategies ==========================================================================

fn ie() -> impl Strategy<Value = IE> {
    prop_oneof![
        1 => any::<u8>().prop_map(IE::Lit),
        4 => any::<u8>().prop_map(IE::Var),
        2 => (any::<u8>(), 1u8..4).prop_map(|(v, k)| IE::AddLit(v, k)),
        1 => any::<u8>().prop_map(IE::Rev),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(v, s)| IE::FloatIdx(v, s)),
        2 => any::<u8>().prop_map(IE::Indirect),
    ]
}

// The recursive strategies are built level by level, once: proptest's `prop_recursive`
// rebuilds its levels on every generated value, which made generation the slowest part.

fn cond(fe: BoxedStrategy<FE>) -> BoxedStrategy<Cond> {
    let leaf = prop_oneof![
        3 => (0u8..6, fe.clone(), fe.clone()).prop_map(|(c, a, b)| Cond::Cmp(c, a, b)),
        3 => (0u8..4, fe.clone(), any::<u8>()).prop_map(|(c, a, l)| Cond::CmpLit(c, a, l)),
        1 => (0u8..6, ie(), 0u8..4).prop_map(|(c, a, k)| Cond::Int(c, a, k)),
    ]
    .boxed();
    prop_oneof![
        6 => leaf.clone(),
        1 => (leaf.clone(), leaf.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
        1 => (leaf.clone(), leaf.clone()).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
        1 => leaf.prop_map(|a| Cond::Not(Box::new(a))),
    ]
    .boxed()
}

/// Expression depth (levels of operators above the leaves).
const FE_DEPTH: usize = 3;
/// Statement nesting depth (levels of `if`/`for`/`while` above the simple statements).
const ST_DEPTH: usize = 2;

fn fe() -> BoxedStrategy<FE> {
    let leaf = prop_oneof![
        6 => any::<u8>().prop_map(FE::Var),
        2 => any::<u8>().prop_map(FE::Lit),
        1 => any::<u8>().prop_map(FE::Const),
        2 => (any::<u8>(), ie()).prop_map(|(a, i)| FE::Index(a, i)),
        1 => ie().prop_map(FE::IntCast),
    ]
    .boxed();
    let b = |e: FE| Box::new(e);
    let mut e = leaf.clone();
    for _ in 0..FE_DEPTH {
        let inner = e;
        e = prop_oneof![
            12 => leaf.clone(),
            1 => inner.clone().prop_map(move |e| FE::Neg(b(e))),
            6 => (0u8..3, inner.clone(), inner.clone()).prop_map(move |(k, x, y)| FE::Arith(k, b(x), b(y))),
            2 => (any::<u8>(), inner.clone(), inner.clone()).prop_map(move |(k, x, y)| FE::Div(k, b(x), b(y))),
            8 => (0..UNARY.len(), any::<u8>(), prop::bool::weighted(0.15), inner.clone())
                .prop_map(move |(u, w, ff, x)| FE::Un(UNARY[u], w, ff, b(x))),
            4 => (0..BINARY.len(), any::<u8>(), prop::bool::weighted(0.15), inner.clone(), inner.clone())
                .prop_map(move |(k, w, ff, x, y)| FE::Bin(BINARY[k], w, ff, b(x), b(y))),
            1 => (inner.clone(), inner.clone(), inner.clone()).prop_map(move |(x, y, z)| FE::MulAdd(b(x), b(y), b(z))),
            2 => (inner.clone(), -2i8..5, prop::option::weighted(0.2, ie())).prop_map(move |(x, k, i)| FE::Powi(b(x), k, i)),
            1 => (cond(inner.clone()), inner.clone(), inner.clone()).prop_map(move |(c, x, y)| FE::If(Box::new(c), b(x), b(y))),
            1 => (inner.clone(), inner.clone()).prop_map(move |(x, y)| FE::Block(b(x), b(y))),
            2 => (any::<u8>(), any::<u8>(), inner.clone(), inner.clone()).prop_map(move |(k, v, x, y)| FE::Call(k, v, b(x), b(y))),
        ]
        .boxed();
    }
    e
}

fn upd() -> impl Strategy<Value = Upd> {
    prop_oneof![
        4 => Just(Upd::Sum),
        1 => Just(Upd::Sub),
        3 => Just(Upd::Decay),
        1 => Just(Upd::Prod),
        1 => Just(Upd::Max),
        1 => Just(Upd::Min),
        1 => Just(Upd::Smooth),
    ]
}

fn range_k() -> impl Strategy<Value = RangeK> {
    prop_oneof![
        4 => Just(RangeK::ZeroN),
        2 => Just(RangeK::ZeroThree),
        2 => Just(RangeK::RevN),
        1 => Just(RangeK::Incl),
        1 => Just(RangeK::Len),
        2 => Just(RangeK::Tri),
        1 => Just(RangeK::TriUp),
    ]
}

fn st(e: &BoxedStrategy<FE>) -> BoxedStrategy<St> {
    st_nested(e, ST_DEPTH)
}

/// Statements with up to `depth` levels of `if`/`for`/`while` nesting.
fn st_nested(e: &BoxedStrategy<FE>, depth: usize) -> BoxedStrategy<St> {
    let c = cond(e.clone());
    let leaf = prop_oneof![
        6 => (e.clone(), prop::option::weighted(0.15, any::<u8>())).prop_map(|(x, s)| St::Let(x, s)),
        3 => e.clone().prop_map(St::LetMut),
        5 => (any::<u8>(), 0u8..6, e.clone()).prop_map(|(m, k, x)| St::Assign(m, k, x)),
        2 => (0u8..6, prop::collection::vec(e.clone(), 3)).prop_map(|(k, xs)| St::Arr(k, xs)),
        3 => (any::<u8>(), ie(), 0u8..5, e.clone()).prop_map(|(w, i, k, x)| St::Store(w, i, k, x)),
        4 => (any::<u8>(), e.clone(), e.clone()).prop_map(|(k, x, y)| St::ArrLoop(k, x, y)),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(k, w)| St::DotLoop(k, w)),
        2 => (any::<u8>(), prop::collection::vec(e.clone(), 3)).prop_map(|(w, xs)| St::ArrAssign(w, xs)),
        1 => (e.clone(), e.clone()).prop_map(|(x, y)| St::Tuple(x, y)),
        1 => (c.clone(), e.clone(), e.clone()).prop_map(|(c, x, y)| St::IfLet(c, x, y)),
        1 => (c.clone(), e.clone()).prop_map(|(c, x)| St::Return(c, x)),
        2 => (prop::collection::vec(e.clone(), 0..3), e.clone(), any::<bool>()).prop_map(|(ls, x, neg)| St::Reduce(ls, x, neg)),
    ]
    .boxed();
    let mut s = leaf.clone();
    for _ in 0..depth {
        let inner = s;
        let body = prop::collection::vec(inner.clone(), 0..3);
        s = prop_oneof![
            16 => leaf.clone(),
            2 => (c.clone(), body.clone(), body.clone()).prop_map(|(c, t, e)| St::If(c, t, e)),
            3 => (range_k(), prop::collection::vec((e.clone(), upd(), e.clone()), 0..3), body.clone())
                .prop_map(|(r, cs, b)| St::For(r, cs, b)),
            1 => (0u8..5, prop::option::weighted(0.6, (e.clone(), e.clone(), any::<u8>())), body)
                .prop_map(|(k, s, b)| St::While(k, s, b)),
        ]
        .boxed();
    }
    s
}

pub(crate) fn prog() -> impl Strategy<Value = Prog> {
    let shape = prop_oneof![7 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)];
    let e = fe();
    (
        1u8..5,
        prop::collection::vec(st(&e), 1..7),
        (e.clone(), e.clone(), shape),
        any::<u32>(),
        1u8..32,
        any::<u64>().prop_map(points),
        prop::collection::vec(
            (prop::collection::vec(st_nested(&e, 1), 0..3), e.clone()),
            0..3,
        ),
    )
        .prop_map(
            |(n, stmts, (tail, tail2, shape), tail_mask, wrt_mask, points, helpers)| Prog {
                n,
                stmts,
                tail,
                tail2,
                shape,
                tail_mask,
                wrt_mask,
                points,
                helpers,
            },
        )
}

/// Two points of 16 raw values each, uniform in [-2, 2), from a seed (the minimiser picks
/// points but never shrinks their values, so they need no value tree of their own).
fn points(seed: u64) -> Vec<Vec<f64>> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0
    };
    (0..2).map(|_| (0..16).map(|_| next()).collect()).collect()
}

// ===== printing ============================================================================

/// Upper bound of an integer variable (exclusive), for printing in-range indices.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bound {
    N,
    Lit(usize),
}

/// The length of an array in scope.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ALen {
    N,
    Lit(usize),
}

#[derive(Clone, Debug)]
struct ArrInfo {
    name: String,
    len: ALen,
    writable: bool,
    /// A `Vec` (else a fixed-size array).
    vec: bool,
}

/// What is in scope where a statement or expression is printed.
#[derive(Clone, Debug)]
struct Cx {
    floats: Vec<String>,
    muts: Vec<String>,
    ints: Vec<(String, Bound)>,
    arrays: Vec<ArrInfo>,
    /// Names that must not be shadowed (carried loop state updated after the body).
    protected: HashSet<String>,
    /// The innermost enclosing loop variable (for triangular ranges).
    outer: Option<(String, Bound)>,
    loop_depth: usize,
    expr_depth: usize,
}

/// Whether to steer clear of passing the same variable to two arguments of a call (the
/// fixed bug `/work/notes/bugs/fixed-prop-call-same-arg-twice.md`); `false`: generate it.
const AVOID_SAME_ARG_TWICE: bool = false;

/// Whether printed code is a plain name (which lowering passes to a call as itself).
fn is_name(s: &str) -> bool {
    let t = s.trim_matches(|c| c == '(' || c == ')');
    !t.is_empty()
        && t.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !t.starts_with(|c: char| c.is_ascii_digit())
}

/// Prints programs; holds the fresh-name counter.
struct Printer {
    next: usize,
    /// How many helpers `f` may call (none inside the helpers).
    helpers: usize,
    /// The helpers `f` calls.
    called: std::collections::BTreeSet<usize>,
    /// The result type (see [`Prog::shape`]), for `return` values.
    shape: u8,
}

fn pick<T: Clone>(v: &[T], k: u8) -> Option<T> {
    if v.is_empty() {
        None
    } else {
        Some(v[k as usize % v.len()].clone())
    }
}

fn lit(k: u8) -> String {
    let x = LITS[k as usize % LITS.len()];
    if x < 0.0 {
        format!("({x:?})")
    } else {
        format!("{x:?}")
    }
}

fn bound_fits(b: Bound, len: ALen) -> bool {
    match (b, len) {
        (Bound::N, ALen::N) => true,
        (Bound::Lit(k), ALen::Lit(m)) => k <= m,
        (Bound::Lit(k), ALen::N) => k <= 1,
        _ => false,
    }
}

fn len_str(len: ALen) -> String {
    match len {
        ALen::N => "n".into(),
        ALen::Lit(m) => m.to_string(),
    }
}

/// Whether a float expression's printed form has no inferred type of its own (only literals),
/// so calling a method on it would be ambiguous in Rust.
fn untyped(e: &FE) -> bool {
    match e {
        FE::Lit(_) => true,
        FE::Neg(x) => untyped(x),
        FE::Arith(_, x, y) => untyped(x) && untyped(y),
        FE::Div(k, x, _) => k % 3 == 2 && untyped(x),
        FE::If(_, x, y) => untyped(x) && untyped(y),
        FE::Block(_, y) => untyped(y),
        _ => false,
    }
}

/// `(s)` as a method receiver, made `f64` when it is only literals.
fn recv(s: &str, e: &FE) -> String {
    if untyped(e) {
        format!("(({s}) as f64)")
    } else {
        format!("({s})")
    }
}

impl Printer {
    fn fresh(&mut self, base: &str) -> String {
        self.next += 1;
        format!("{base}{}", self.next)
    }

    fn ie_index(&self, i: &IE, cx: &Cx, len: ALen) -> String {
        let l = len_str(len);
        let var = |k: u8| pick(&cx.ints, k);
        match i {
            IE::Lit(k) => match len {
                ALen::Lit(m) => (*k as usize % m).to_string(),
                ALen::N => format!("({k} % n)"),
            },
            IE::Var(k) => match var(*k) {
                Some((v, b)) if bound_fits(b, len) => v,
                Some((v, _)) => format!("({v} % {l})"),
                None => self.ie_index(&IE::Lit(*k), cx, len),
            },
            IE::AddLit(k, d) => match var(*k) {
                Some((v, _)) => format!("(({v} + {d}) % {l})"),
                None => self.ie_index(&IE::Lit(k.wrapping_add(*d)), cx, len),
            },
            IE::Rev(k) => match var(*k) {
                Some((v, b)) if bound_fits(b, len) => format!("({l} - 1 - {v})"),
                _ => self.ie_index(&IE::Var(*k), cx, len),
            },
            IE::FloatIdx(..) => format!("({} % {l})", self.ie_value(i, cx)),
            // `idx` holds indices into `a` (`0..n`), so `a[idx[k]]` needs no reduction.
            IE::Indirect(..) if len == ALen::N => self.ie_value(i, cx),
            IE::Indirect(..) => format!("({} % {l})", self.ie_value(i, cx)),
        }
    }

    fn ie_value(&self, i: &IE, cx: &Cx) -> String {
        match i {
            IE::Lit(k) => format!("{}", k % 5),
            IE::Var(k) => match pick(&cx.ints, *k) {
                Some((v, _)) => v,
                None => "n".into(),
            },
            IE::AddLit(k, d) => match pick(&cx.ints, *k) {
                Some((v, _)) => format!("({v} + {d})"),
                None => format!("(n + {d})"),
            },
            IE::Rev(k) => match pick(&cx.ints, *k) {
                Some((v, Bound::N)) => format!("(n - 1 - {v})"),
                Some((v, _)) => v,
                None => "n".into(),
            },
            IE::Indirect(k) => match pick(&cx.ints, *k) {
                Some((v, _)) => format!("idx[{v} % 4]"),
                None => format!("idx[{}]", k % 4),
            },
            IE::FloatIdx(v, k) => {
                let x = pick(&cx.floats, *v).expect("x0..x2 are always in scope");
                let scale = [1.0, 2.0, 3.5][*k as usize % 3];
                format!("((({x}).abs() * {scale:?}) as usize)")
            }
        }
    }

    /// `P(e)`: a positive value made from `e`.
    fn pos(&mut self, e: &FE, w: u8, cx: &Cx) -> String {
        let s = self.fe(e, cx);
        let r = recv(&s, e);
        match w % 3 {
            0 => format!("({r}.powi(2) + 0.5)"),
            1 => format!("{r}.cosh()"),
            _ => format!("{r}.hypot(0.75)"),
        }
    }

    /// `B(e)`: a value in [-1.6, 1.6] made from `e`.
    fn bounded(&mut self, e: &FE, w: u8, cx: &Cx) -> String {
        let s = self.fe(e, cx);
        let r = recv(&s, e);
        match w % 4 {
            0 => format!("{r}.tanh()"),
            1 => format!("{r}.sin()"),
            2 => format!("{r}.atan()"),
            _ => format!("{r}.cos()"),
        }
    }

    fn call1(name: &str, arg: &str, ff: bool) -> String {
        if ff {
            format!("f64::{name}({arg})")
        } else {
            format!("({arg}).{name}()")
        }
    }

    fn un(&mut self, u: U, w: u8, ff: bool, x: &FE, cx: &Cx) -> String {
        let sel = w / 4;
        let raw = |p: &mut Self| {
            let s = p.fe(x, cx);
            if untyped(x) {
                format!("({s}) as f64")
            } else {
                s
            }
        };
        let (name, arg) = match u {
            U::Sqrt => ("sqrt", self.pos(x, w, cx)),
            U::Cbrt => (
                "cbrt",
                if sel & 1 == 0 {
                    self.pos(x, w, cx)
                } else {
                    format!("-{}", self.pos(x, w, cx))
                },
            ),
            U::Exp => ("exp", format!("{} * 2.0", self.bounded(x, w, cx))),
            U::Exp2 => ("exp2", format!("{} * 2.0", self.bounded(x, w, cx))),
            U::ExpM1 => ("exp_m1", self.bounded(x, w, cx)),
            U::Ln => ("ln", self.pos(x, w, cx)),
            U::Log2 => ("log2", self.pos(x, w, cx)),
            U::Log10 => ("log10", self.pos(x, w, cx)),
            U::Ln1p => (
                "ln_1p",
                if sel & 1 == 0 {
                    self.pos(x, w, cx)
                } else {
                    format!("{} * 0.5", self.bounded(x, w, cx))
                },
            ),
            U::Sin => ("sin", raw(self)),
            U::Cos => ("cos", raw(self)),
            U::Atan => ("atan", raw(self)),
            U::Tanh => ("tanh", raw(self)),
            U::Abs => ("abs", raw(self)),
            U::Signum => ("signum", raw(self)),
            U::Tan => ("tan", format!("{} * 0.9", self.bounded(x, w, cx))),
            U::Asin => ("asin", format!("{} * 0.6", self.bounded(x, w, cx))),
            U::Acos => ("acos", format!("{} * 0.6", self.bounded(x, w, cx))),
            U::Sinh => (
                "sinh",
                if sel & 1 == 0 {
                    format!("{} * 2.0", self.bounded(x, w, cx))
                } else {
                    raw(self)
                },
            ),
            U::Cosh => (
                "cosh",
                if sel & 1 == 0 {
                    format!("{} * 2.0", self.bounded(x, w, cx))
                } else {
                    raw(self)
                },
            ),
            U::Recip => (
                "recip",
                if sel & 1 == 0 {
                    self.pos(x, w, cx)
                } else {
                    format!("-{}", self.pos(x, w, cx))
                },
            ),
        };
        Self::call1(name, &arg, ff)
    }

    fn bin(&mut self, k: B2, w: u8, ff: bool, x: &FE, y: &FE, cx: &Cx) -> String {
        let typed = |p: &mut Self, e: &FE| {
            let s = p.fe(e, cx);
            if untyped(e) {
                format!("(({s}) as f64)")
            } else {
                format!("({s})")
            }
        };
        let (name, a, b) = match k {
            B2::Powf => {
                let base = if w % 5 == 4 {
                    format!("{}f64", LITS[w as usize % 6].abs() + 0.5)
                } else {
                    self.pos(x, w, cx)
                };
                let exp = if w % 3 < 1 {
                    format!("({:?})", LITS[(w / 3) as usize % LITS.len()])
                } else {
                    format!("{} * 2.0", self.bounded(y, w, cx))
                };
                ("powf", base, exp)
            }
            B2::Atan2 => (
                "atan2",
                format!("({} + 0.377)", self.fe(x, cx)),
                typed(self, y),
            ),
            B2::Hypot => (
                "hypot",
                format!("({} + 0.377)", self.fe(x, cx)),
                typed(self, y),
            ),
            B2::Max => ("max", typed(self, x), typed(self, y)),
            B2::Min => ("min", typed(self, x), typed(self, y)),
        };
        if ff {
            format!("f64::{name}({a}, {b})")
        } else {
            format!("({a}).{name}({b})")
        }
    }

    fn fe(&mut self, e: &FE, cx: &Cx) -> String {
        match e {
            FE::Var(k) => pick(&cx.floats, *k).expect("x0..x2 are always in scope"),
            FE::Lit(k) => lit(*k),
            FE::Const(k) => CONSTS[*k as usize % CONSTS.len()].to_string(),
            FE::Neg(x) => format!("(-{})", self.fe(x, cx)),
            FE::Arith(k, x, y) => {
                let op = ["+", "-", "*"][*k as usize % 3];
                format!("({} {op} {})", self.fe(x, cx), self.fe(y, cx))
            }
            FE::Div(k, x, y) => {
                let num = self.fe(x, cx);
                match k % 3 {
                    0 => format!("({num} / {})", self.pos(y, *k / 3, cx)),
                    1 => format!("({num} / ({} + 0.377))", self.fe(y, cx)),
                    _ => {
                        let d = LITS[*k as usize % LITS.len()];
                        let d = if d == 0.0 { 4.0 } else { d };
                        format!("({num} / {})", lit_of(d))
                    }
                }
            }
            FE::Un(u, w, ff, x) => self.un(*u, *w, *ff, x, cx),
            FE::Bin(k, w, ff, x, y) => self.bin(*k, *w, *ff, x, y, cx),
            FE::MulAdd(x, y, z) => {
                let r = recv(&self.fe(x, cx), x);
                format!("{r}.mul_add({}, {})", self.fe(y, cx), self.fe(z, cx))
            }
            FE::Powi(x, k, i) => match i {
                Some(i) => format!(
                    "{}.powi({} as i32)",
                    self.pos(x, *k as u8, cx),
                    self.ie_value(i, cx)
                ),
                None if *k <= 0 => format!("{}.powi({k})", self.pos(x, *k as u8, cx)),
                None => format!("{}.powi({k})", recv(&self.fe(x, cx), x)),
            },
            FE::Index(a, i) => {
                let arr = pick(&cx.arrays, *a).expect("a and b are always in scope");
                format!("{}[{}]", arr.name, self.ie_index(i, cx, arr.len))
            }
            FE::IntCast(i) => format!("({} as f64)", self.ie_value(i, cx)),
            FE::If(c, x, y) => {
                let c = self.cond(c, cx);
                let mut inner = cx.clone();
                inner.expr_depth += 1;
                format!(
                    "(if {c} {{ {} }} else {{ {} }})",
                    self.fe(x, &inner),
                    self.fe(y, &inner)
                )
            }
            FE::Call(k, v, x, y) => {
                if self.helpers == 0 {
                    return self.fe(x, cx);
                }
                let which = *k as usize % self.helpers;
                self.called.insert(which);
                let g = format!("g{}", which + 1);
                let (e1, e2) = (self.fe(x, cx), self.fe(y, cx));
                let third = if v % 3 == 0 {
                    "0.5".to_string()
                } else {
                    pick(&cx.floats, *v).expect("x0..x2")
                };
                // While prop-call-same-arg-twice is open, no variable goes to two arguments.
                let bare = |s: &str| s.trim_matches(|c| c == '(' || c == ')').to_string();
                let clash = |s: &str, others: &[&str]| {
                    AVOID_SAME_ARG_TWICE && is_name(s) && others.iter().any(|o| bare(o) == bare(s))
                };
                let e2 = if clash(&e2, &[&e1]) {
                    format!("({e2} + 0.0)")
                } else {
                    e2
                };
                let third = if clash(&third, &[&e1, &e2]) {
                    format!("({third} + 0.0)")
                } else {
                    third
                };
                let local = |want: ALen, vec: bool| {
                    cx.arrays
                        .iter()
                        .skip(2)
                        .rev()
                        .filter(|a| a.len == want && a.vec == vec)
                        .map(|a| a.name.clone())
                        .next()
                };
                let slice = match (v / 3 % 2, local(ALen::N, true)) {
                    (1, Some(w)) => format!("&{w}"),
                    _ => "a".to_string(),
                };
                let fixed = match (v / 6 % 3, local(ALen::Lit(3), false)) {
                    (1, Some(w)) => w,
                    (2, _) => format!("[{e2}, {e1}, 1.0]"),
                    _ => "b".to_string(),
                };
                format!("{g}({e1}, {e2}, {third}, {slice}, {fixed}, n, idx)")
            }
            FE::Block(x, y) => {
                let t = self.fresh("t");
                let init = self.fe(x, cx);
                let ann = if untyped(x) { ": f64" } else { "" };
                let mut inner = cx.clone();
                inner.expr_depth += 1;
                inner.floats.push(t.clone());
                format!("({{ let {t}{ann} = {init}; {} }})", self.fe(y, &inner))
            }
        }
    }

    fn cond(&mut self, c: &Cond, cx: &Cx) -> String {
        match c {
            Cond::Cmp(k, x, y) => format!(
                "{} {} {}",
                self.fe(x, cx),
                CMPS[*k as usize % 6],
                self.fe(y, cx)
            ),
            Cond::CmpLit(k, x, l) => {
                format!("{} {} {}", self.fe(x, cx), CMPS[*k as usize % 4], lit(*l))
            }
            Cond::Int(k, i, m) => format!("{} {} {m}", self.ie_value(i, cx), CMPS[*k as usize % 6]),
            Cond::And(a, b) => format!("({} && {})", self.cond(a, cx), self.cond(b, cx)),
            Cond::Or(a, b) => format!("({} || {})", self.cond(a, cx), self.cond(b, cx)),
            Cond::Not(a) => format!("!({})", self.cond(a, cx)),
        }
    }

    /// `let name[: f64] = e;`
    fn let_line(&mut self, name: &str, mutable: bool, e: &FE, cx: &Cx) -> String {
        let s = self.fe(e, cx);
        let m = if mutable { "mut " } else { "" };
        let ann = if untyped(e) { ": f64" } else { "" };
        format!("let {m}{name}{ann} = {s};\n")
    }

    fn block(&mut self, stmts: &[St], cx: &mut Cx, out: &mut String) {
        for s in stmts {
            self.stmt(s, cx, out);
        }
    }

    fn stmt(&mut self, s: &St, cx: &mut Cx, out: &mut String) {
        match s {
            St::Let(e, shadow) => {
                let candidates: Vec<String> = cx
                    .floats
                    .iter()
                    .filter(|f| !cx.protected.contains(*f))
                    .cloned()
                    .collect();
                let name = match shadow.and_then(|k| pick(&candidates, k)) {
                    Some(n) => n,
                    None => self.fresh("v"),
                };
                out.push_str(&self.let_line(&name, false, e, cx));
                cx.muts.retain(|m| *m != name);
                cx.floats.retain(|f| *f != name);
                cx.floats.push(name);
            }
            St::LetMut(e) => {
                let name = self.fresh("m");
                out.push_str(&self.let_line(&name, true, e, cx));
                cx.floats.push(name.clone());
                cx.muts.push(name);
            }
            St::Assign(m, k, e) => {
                let Some(name) = pick(&cx.muts, *m) else {
                    return self.stmt(&St::LetMut(e.clone()), cx, out);
                };
                let line = match k % 6 {
                    0 => format!("{name} = {};\n", self.fe(e, cx)),
                    1 => format!("{name} += {};\n", self.fe(e, cx)),
                    2 => format!("{name} -= {};\n", self.fe(e, cx)),
                    3 => format!("{name} *= {};\n", self.bounded(e, *m, cx)),
                    4 => format!("{name} = {name} * 0.9 + {};\n", self.fe(e, cx)),
                    _ => format!("{name} /= {};\n", self.pos(e, *m, cx)),
                };
                out.push_str(&line);
            }
            St::If(c, t, e) => {
                let c = self.cond(c, cx);
                let _ = writeln!(out, "if {c} {{");
                self.block(t, &mut cx.clone(), out);
                if e.is_empty() {
                    out.push_str("}\n");
                } else {
                    out.push_str("} else {\n");
                    self.block(e, &mut cx.clone(), out);
                    out.push_str("}\n");
                }
            }
            St::For(r, carried, body) => {
                let mut names = Vec::new();
                for (init, _, _) in carried {
                    let s = self.fresh("s");
                    out.push_str(&self.let_line(&s, true, init, cx));
                    cx.floats.push(s.clone());
                    cx.muts.push(s.clone());
                    names.push(s);
                }
                let i = self.fresh("i");
                let outer = cx.outer.clone();
                let (range, bound) = match r {
                    RangeK::ZeroN => ("0..n".to_string(), Bound::N),
                    RangeK::ZeroThree => ("0..3".into(), Bound::Lit(3)),
                    RangeK::RevN => ("(0..n).rev()".into(), Bound::N),
                    RangeK::Incl => ("1..=2".into(), Bound::Lit(3)),
                    RangeK::Len => ("0..a.len()".into(), Bound::N),
                    RangeK::Tri => match &outer {
                        Some((o, b)) => (format!("0..{o}"), *b),
                        None => ("0..n".into(), Bound::N),
                    },
                    RangeK::TriUp => match &outer {
                        Some((o, Bound::N)) => (format!("{o}..n"), Bound::N),
                        _ => ("0..n".into(), Bound::N),
                    },
                };
                let _ = writeln!(out, "for {i} in {range} {{");
                let mut inner = cx.clone();
                inner.ints.push((i.clone(), bound));
                inner.outer = Some((i.clone(), bound));
                inner.loop_depth += 1;
                inner.protected.extend(names.iter().cloned());
                self.block(body, &mut inner, out);
                for ((_, u, e), s) in carried.iter().zip(&names) {
                    let line = match u {
                        Upd::Sum => format!("{s} += {};\n", self.fe(e, &inner)),
                        Upd::Sub => format!("{s} -= {};\n", self.fe(e, &inner)),
                        Upd::Decay => format!("{s} = {s} * 0.9 + {};\n", self.fe(e, &inner)),
                        Upd::Prod => format!("{s} *= {};\n", self.bounded(e, 0, &inner)),
                        Upd::Max => format!("{s} = {s}.max({});\n", self.fe(e, &inner)),
                        Upd::Min => format!("{s} = f64::min({s}, {});\n", self.fe(e, &inner)),
                        Upd::Smooth => format!("{s} = ({s} + {}).sin();\n", self.fe(e, &inner)),
                    };
                    out.push_str(&line);
                }
                out.push_str("}\n");
            }
            St::Reduce(lets, e, neg) => {
                let s = self.fresh("acc");
                let _ = writeln!(out, "let mut {s} = 0.0;");
                let i = self.fresh("i");
                let _ = writeln!(out, "for {i} in 0..n {{");
                let mut inner = cx.clone();
                inner.ints.push((i.clone(), Bound::N));
                inner.outer = Some((i, Bound::N));
                inner.loop_depth += 1;
                for l in lets {
                    let v = self.fresh("v");
                    out.push_str(&self.let_line(&v, false, l, &inner));
                    inner.floats.push(v);
                }
                let op = if *neg { "-=" } else { "+=" };
                let _ = writeln!(out, "{s} {op} {};\n}}", self.fe(e, &inner));
                cx.floats.push(s.clone());
                cx.muts.push(s);
            }
            St::While(k, carried, body) => {
                let c = self.fresh("k");
                let bound = ["n", "3", "0", "1", "n"][*k as usize % 5];
                let _ = writeln!(out, "let mut {c} = 0;");
                let mut cond = format!("{c} < {bound}");
                let mut state = None;
                if let Some((init, e, l)) = carried {
                    let s = self.fresh("w");
                    out.push_str(&self.let_line(&s, true, init, cx));
                    cx.floats.push(s.clone());
                    cx.muts.push(s.clone());
                    if l % 2 == 0 {
                        let _ = write!(
                            cond,
                            " && {s} < {}",
                            lit_of(LITS[*l as usize % LITS.len()].abs() + 1.0)
                        );
                    }
                    state = Some((s, e));
                }
                let _ = writeln!(out, "while {cond} {{");
                let mut inner = cx.clone();
                let b = match bound {
                    "n" => Bound::N,
                    other => Bound::Lit(other.parse().unwrap_or(0)),
                };
                inner.ints.push((c.clone(), b));
                inner.loop_depth += 1;
                inner.protected.insert(c.clone());
                if let Some((s, _)) = &state {
                    inner.protected.insert(s.clone());
                }
                self.block(body, &mut inner, out);
                if let Some((s, e)) = state {
                    let _ = writeln!(out, "{s} = {s} * 0.5 + {};", self.fe(e, &inner));
                }
                let _ = writeln!(out, "{c} += 1;\n}}");
            }
            St::Arr(k, xs) => {
                let w = self.fresh("w");
                let (line, len) = match k % 6 {
                    0 => (format!("let mut {w}: [f64; 3] = [0.0; 3];\n"), ALen::Lit(3)),
                    1 => {
                        let es: Vec<String> = xs.iter().map(|x| self.fe(x, cx)).collect();
                        (
                            format!("let mut {w}: [f64; 3] = [{}];\n", es.join(", ")),
                            ALen::Lit(3),
                        )
                    }
                    2 => (format!("let mut {w}: Vec<f64> = vec![0.0; n];\n"), ALen::N),
                    3 => (
                        format!(
                            "let mut {w}: Vec<f64> = vec![{}; n];\n",
                            self.fe(&xs[0], cx)
                        ),
                        ALen::N,
                    ),
                    4 => (format!("let mut {w} = b;\n"), ALen::Lit(3)),
                    _ => {
                        let es: Vec<String> = xs[..2].iter().map(|x| self.fe(x, cx)).collect();
                        (
                            format!("let mut {w}: Vec<f64> = vec![{}];\n", es.join(", ")),
                            ALen::Lit(2),
                        )
                    }
                };
                out.push_str(&line);
                cx.arrays.push(ArrInfo {
                    name: w,
                    len,
                    writable: true,
                    vec: matches!(k % 6, 2 | 3 | 5),
                });
            }
            St::Store(w, i, k, e) => {
                let writable: Vec<ArrInfo> =
                    cx.arrays.iter().filter(|a| a.writable).cloned().collect();
                let Some(arr) = pick(&writable, *w) else {
                    return self.stmt(&St::Arr(*w, vec![e.clone(), e.clone(), e.clone()]), cx, out);
                };
                let idx = self.ie_index(i, cx, arr.len);
                let name = &arr.name;
                let line = match k % 5 {
                    0 => format!("{name}[{idx}] = {};\n", self.fe(e, cx)),
                    1 => format!("{name}[{idx}] += {};\n", self.fe(e, cx)),
                    2 => format!("{name}[{idx}] -= {};\n", self.fe(e, cx)),
                    3 => format!("{name}[{idx}] *= {};\n", self.bounded(e, *w, cx)),
                    _ => format!(
                        "{name}[{idx}] = {name}[{idx}] * 0.5 + {};\n",
                        self.fe(e, cx)
                    ),
                };
                out.push_str(&line);
            }
            St::ArrLoop(k, init, upd) => {
                let w = self.fresh("w");
                let (i, j) = (self.fresh("i"), self.fresh("i"));
                let (decl, range, bound, len) = match k % 3 {
                    0 => (
                        format!("let mut {w}: Vec<f64> = vec![0.0; n];"),
                        "0..n",
                        Bound::N,
                        ALen::N,
                    ),
                    1 => (
                        format!("let mut {w}: [f64; 3] = [0.0; 3];"),
                        "0..3",
                        Bound::Lit(3),
                        ALen::Lit(3),
                    ),
                    _ => (
                        format!("let mut {w} = b;"),
                        "(0..3).rev()",
                        Bound::Lit(3),
                        ALen::Lit(3),
                    ),
                };
                let l = len_str(len);
                out.push_str(&decl);
                out.push('\n');
                let mut inner = cx.clone();
                inner.ints.push((i.clone(), bound));
                inner.loop_depth += 1;
                let fill = if k % 3 == 1 { "+=" } else { "=" };
                let _ = writeln!(
                    out,
                    "for {i} in {range} {{\n{w}[{i}] {fill} {};\n}}",
                    self.fe(init, &inner)
                );
                let mut inner = cx.clone();
                inner.ints.push((j.clone(), bound));
                let vec = k % 3 == 0;
                inner.arrays.push(ArrInfo {
                    name: w.clone(),
                    len,
                    writable: true,
                    vec,
                });
                inner.loop_depth += 1;
                let step = match (k / 3) % 3 {
                    0 => format!(
                        "{w}[{j}] = {w}[{j}] * {} + {w}[({j} + 1) % {l}];",
                        self.bounded(upd, k / 9, &inner)
                    ),
                    1 => format!(
                        "{w}[{j}] += {w}[({j} + {l} - 1) % {l}] * {};",
                        self.fe(upd, &inner)
                    ),
                    _ => format!("{w}[{j}] = ({w}[{j}] + {}).sin();", self.fe(upd, &inner)),
                };
                let _ = writeln!(out, "for {j} in {range} {{\n{step}\n}}");
                cx.arrays.push(ArrInfo {
                    name: w,
                    len,
                    writable: true,
                    vec,
                });
            }
            St::ArrAssign(w, xs) => {
                let writable: Vec<ArrInfo> =
                    cx.arrays.iter().filter(|a| a.writable).cloned().collect();
                let Some(arr) = pick(&writable, *w) else {
                    return self.stmt(&St::Arr(*w, xs.clone()), cx, out);
                };
                let name = &arr.name;
                let line = match (arr.len, arr.vec) {
                    (ALen::Lit(3), false) if w % 2 == 0 => format!("{name} = b;\n"),
                    (ALen::Lit(m), false) => {
                        let es: Vec<String> = (0..m).map(|k| self.fe(&xs[k % 3], cx)).collect();
                        format!("{name} = [{}];\n", es.join(", "))
                    }
                    (ALen::N, true) => format!("{name} = vec![{}; n];\n", self.fe(&xs[0], cx)),
                    (ALen::Lit(m), true) => {
                        let es: Vec<String> = (0..m).map(|k| self.fe(&xs[k % 3], cx)).collect();
                        format!("{name} = vec![{}];\n", es.join(", "))
                    }
                    (ALen::N, false) => unreachable!("fixed arrays have literal lengths"),
                };
                out.push_str(&line);
            }
            St::DotLoop(k, w) => {
                let acc = self.fresh("acc");
                let i = self.fresh("i");
                let n_arrays: Vec<ArrInfo> = cx
                    .arrays
                    .iter()
                    .filter(|a| a.len == ALen::N)
                    .cloned()
                    .collect();
                let three: Vec<ArrInfo> = cx
                    .arrays
                    .iter()
                    .filter(|a| a.len == ALen::Lit(3))
                    .cloned()
                    .collect();
                let other_n = pick(&n_arrays, *w).map_or("a".to_string(), |a| a.name);
                let other_3 = pick(&three, *w).map_or("b".to_string(), |a| a.name);
                let body = match k % 5 {
                    0 => format!("for {i} in 0..n {{\n{acc} += a[{i}] * {other_n}[{i}];\n}}"),
                    1 => format!("for {i} in 0..3 {{\n{acc} += {other_3}[{i}] * b[{i}];\n}}"),
                    2 => {
                        format!("for {i} in 0..n - 1 {{\n{acc} -= a[{i} + 1] * {other_n}[{i}];\n}}")
                    }
                    3 => format!(
                        "for {i} in (0..2).rev() {{\n{acc} += {other_3}[{i}] * b[1 + {i}];\n}}"
                    ),
                    _ => {
                        format!("for {i} in 0..n {{\n{acc} += {other_n}[{i}] * {other_n}[{i}];\n}}")
                    }
                };
                let _ = writeln!(out, "let mut {acc} = 0.0;\n{body}");
                cx.floats.push(acc.clone());
                cx.muts.push(acc);
            }
            St::Tuple(x, y) => {
                let (p, q) = (self.fresh("p"), self.fresh("q"));
                let tx = if untyped(x) {
                    format!("({}) as f64", self.fe(x, cx))
                } else {
                    self.fe(x, cx)
                };
                let ty = if untyped(y) {
                    format!("({}) as f64", self.fe(y, cx))
                } else {
                    self.fe(y, cx)
                };
                let _ = writeln!(out, "let ({p}, {q}) = ({tx}, {ty});");
                cx.floats.push(p);
                cx.floats.push(q);
            }
            St::IfLet(c, x, y) => {
                let v = self.fresh("v");
                let c = self.cond(c, cx);
                let ann = if untyped(x) && untyped(y) {
                    ": f64"
                } else {
                    ""
                };
                let (sx, sy) = (self.fe(x, cx), self.fe(y, cx));
                let _ = writeln!(out, "let {v}{ann} = if {c} {{ {sx} }} else {{ {sy} }};");
                cx.floats.push(v);
            }
            St::Return(c, e) => {
                if cx.loop_depth > 0 || cx.expr_depth > 0 {
                    return self.stmt(&St::Let(e.clone(), None), cx, out);
                }
                let c = self.cond(c, cx);
                let e = self.fe(e, cx);
                let value = self.shaped(&e, &format!("{e} * 0.5"));
                let _ = writeln!(out, "if {c} {{\nreturn {value};\n}}");
            }
        }
    }

    /// A result value of the function's result type from two float expressions.
    fn shaped(&self, a: &str, b: &str) -> String {
        match self.shape % 4 {
            0 => a.to_string(),
            1 => format!("[{a}, {b}]"),
            2 => format!("({a}, {b})"),
            _ => format!("vec![{a}, {b}]"),
        }
    }

    /// The sources of the helpers and of `f`, in that order.
    /// Only the helpers `f` calls are printed.
    fn program(&mut self, p: &Prog) -> Vec<String> {
        self.helpers = p.helpers.len();
        self.shape = p.shape;
        let f = self.function("f", &p.stmts, &p.tail, &p.tail2, p.tail_mask, p.shape);
        let mut out = Vec::new();
        for (k, (stmts, tail)) in p.helpers.iter().enumerate() {
            if !self.called.contains(&k) {
                continue;
            }
            // Helpers return `f64` and call nothing.
            self.helpers = 0;
            self.shape = 0;
            out.push(self.function(&format!("g{}", k + 1), stmts, tail, tail, p.tail_mask, 0));
        }
        out.push(f);
        out
    }

    /// One function's source.
    fn function(
        &mut self,
        name: &str,
        stmts: &[St],
        tail: &FE,
        tail2: &FE,
        tail_mask: u32,
        shape: u8,
    ) -> String {
        let mut cx = Cx {
            floats: vec!["x0".into(), "x1".into(), "x2".into()],
            muts: Vec::new(),
            ints: Vec::new(),
            arrays: vec![
                ArrInfo {
                    name: "a".into(),
                    len: ALen::N,
                    writable: false,
                    vec: false,
                },
                ArrInfo {
                    name: "b".into(),
                    len: ALen::Lit(3),
                    writable: false,
                    vec: false,
                },
            ],
            protected: HashSet::new(),
            outer: None,
            loop_depth: 0,
            expr_depth: 0,
        };
        let mut body = String::new();
        self.block(stmts, &mut cx, &mut body);
        let mut tail = self.fe(tail, &cx);
        let locals: Vec<String> = cx
            .floats
            .iter()
            .filter(|f| !f.starts_with('x'))
            .cloned()
            .collect();
        for (k, v) in locals.iter().enumerate() {
            if tail_mask & (1 << (k % 32)) != 0 {
                let _ = write!(tail, " + 0.5 * {v}");
            }
        }
        // Local arrays go into the second entry of an array result (the first otherwise).
        let scalar = shape % 4 < 1;
        let mut tail2 = if scalar {
            String::new()
        } else {
            self.fe(tail2, &cx)
        };
        for (k, arr) in cx.arrays.iter().enumerate().skip(2) {
            if tail_mask & (1 << ((k + 16) % 32)) != 0 {
                let sum = if scalar { &mut tail } else { &mut tail2 };
                for e in 0..3 {
                    let idx = match arr.len {
                        ALen::N => format!("{e} % n"),
                        ALen::Lit(m) => (e % m).to_string(),
                    };
                    let _ = write!(sum, " + {}[{idx}]", arr.name);
                }
            }
        }
        let value = self.shaped(&tail, &tail2);
        let ty = ["f64", "[f64; 2]", "(f64, f64)", "Vec<f64>"][shape as usize % 4];
        format!("fn {name}(x0: f64, x1: f64, x2: f64, a: &[f64], b: [f64; 3], n: usize, idx: &[usize]) -> {ty} {{\n{body}{value}\n}}")
    }
}

fn lit_of(x: f64) -> String {
    if x < 0.0 {
        format!("({x:?})")
    } else {
        format!("{x:?}")
    }
}

/// The Rust sources of a generated program: its helpers, then `f`.
pub(crate) fn sources(p: &Prog) -> Vec<String> {
    Printer {
        next: 0,
        shape: p.shape,
        helpers: 0,
        called: Default::default(),
    }
    .program(p)
}

/// The Rust source of a generated program (helpers and `f`).
pub(crate) fn source(p: &Prog) -> String {
    sources(p).join("\n\n")
}

// ===== minimising ==========================================================================

// proptest's own shrinking does little on this recursive AST, so a failing program is
// minimised greedily here: statements are removed or replaced by their bodies, expressions
// by their operands or a variable, until no smaller program fails the same way.

fn bx<T>(x: T) -> Box<T> {
    Box::new(x)
}

fn shrink_ie(i: &IE) -> Vec<IE> {
    match i {
        IE::Lit(0) => Vec::new(),
        IE::Var(k) => vec![IE::Lit(0), IE::Lit(*k)],
        _ => vec![IE::Lit(0), IE::Var(0)],
    }
}

fn shrink_fe(e: &FE) -> Vec<FE> {
    let mut out = Vec::new();
    if !matches!(e, FE::Var(0)) {
        out.push(FE::Var(0));
    }
    if !matches!(e, FE::Var(_) | FE::Lit(_)) {
        out.push(FE::Lit(1));
    }
    let sub = |x: &FE, f: &dyn Fn(FE) -> FE, out: &mut Vec<FE>| {
        out.push(x.clone());
        out.extend(shrink_fe(x).into_iter().map(f));
    };
    match e {
        FE::Var(_) | FE::Lit(_) | FE::Const(_) => {}
        FE::Index(a, i) => out.extend(shrink_ie(i).into_iter().map(|i| FE::Index(*a, i))),
        FE::IntCast(i) => out.extend(shrink_ie(i).into_iter().map(FE::IntCast)),
        FE::Neg(x) => sub(x, &|c| FE::Neg(bx(c)), &mut out),
        FE::Arith(k, x, y) => {
            sub(x, &|c| FE::Arith(*k, bx(c), y.clone()), &mut out);
            sub(y, &|c| FE::Arith(*k, x.clone(), bx(c)), &mut out);
        }
        FE::Div(k, x, y) => {
            sub(x, &|c| FE::Div(*k, bx(c), y.clone()), &mut out);
            sub(y, &|c| FE::Div(*k, x.clone(), bx(c)), &mut out);
        }
        FE::Un(u, w, ff, x) => {
            if *ff {
                out.push(FE::Un(*u, *w, false, x.clone()));
            }
            sub(x, &|c| FE::Un(*u, *w, *ff, bx(c)), &mut out);
        }
        FE::Bin(k, w, ff, x, y) => {
            if *ff {
                out.push(FE::Bin(*k, *w, false, x.clone(), y.clone()));
            }
            sub(x, &|c| FE::Bin(*k, *w, *ff, bx(c), y.clone()), &mut out);
            sub(y, &|c| FE::Bin(*k, *w, *ff, x.clone(), bx(c)), &mut out);
        }
        FE::MulAdd(x, y, z) => {
            sub(x, &|c| FE::MulAdd(bx(c), y.clone(), z.clone()), &mut out);
            sub(y, &|c| FE::MulAdd(x.clone(), bx(c), z.clone()), &mut out);
            sub(z, &|c| FE::MulAdd(x.clone(), y.clone(), bx(c)), &mut out);
        }
        FE::Powi(x, k, i) => {
            if i.is_some() {
                out.push(FE::Powi(x.clone(), *k, None));
            }
            sub(x, &|c| FE::Powi(bx(c), *k, i.clone()), &mut out);
        }
        FE::If(c, x, y) => {
            out.extend(
                shrink_cond(c)
                    .into_iter()
                    .map(|c| FE::If(bx(c), x.clone(), y.clone())),
            );
            sub(x, &|c2| FE::If(c.clone(), bx(c2), y.clone()), &mut out);
            sub(y, &|c2| FE::If(c.clone(), x.clone(), bx(c2)), &mut out);
        }
        FE::Block(x, y) => {
            sub(x, &|c| FE::Block(bx(c), y.clone()), &mut out);
            sub(y, &|c| FE::Block(x.clone(), bx(c)), &mut out);
        }
        FE::Call(k, v, x, y) => {
            if *v != 0 {
                out.push(FE::Call(*k, 0, x.clone(), y.clone()));
            }
            sub(x, &|c| FE::Call(*k, *v, bx(c), y.clone()), &mut out);
            sub(y, &|c| FE::Call(*k, *v, x.clone(), bx(c)), &mut out);
        }
    }
    out
}

fn shrink_cond(c: &Cond) -> Vec<Cond> {
    let mut out = Vec::new();
    match c {
        Cond::Cmp(k, x, y) => {
            out.push(Cond::CmpLit(*k % 4, x.clone(), 6));
            out.extend(
                shrink_fe(x)
                    .into_iter()
                    .map(|e| Cond::Cmp(*k, e, y.clone())),
            );
            out.extend(
                shrink_fe(y)
                    .into_iter()
                    .map(|e| Cond::Cmp(*k, x.clone(), e)),
            );
        }
        Cond::CmpLit(k, x, l) => {
            out.extend(shrink_fe(x).into_iter().map(|e| Cond::CmpLit(*k, e, *l)))
        }
        Cond::Int(..) => {}
        Cond::And(a, b) | Cond::Or(a, b) => {
            out.push((**a).clone());
            out.push((**b).clone());
            let and = matches!(c, Cond::And(..));
            let mk = |a: Cond, b: Cond| {
                if and {
                    Cond::And(bx(a), bx(b))
                } else {
                    Cond::Or(bx(a), bx(b))
                }
            };
            out.extend(shrink_cond(a).into_iter().map(|x| mk(x, (**b).clone())));
            out.extend(shrink_cond(b).into_iter().map(|x| mk((**a).clone(), x)));
        }
        Cond::Not(a) => {
            out.push((**a).clone());
            out.extend(shrink_cond(a).into_iter().map(|x| Cond::Not(bx(x))));
        }
    }
    out
}

/// Replacements for one statement (each a list of statements; empty removes it).
fn shrink_st(s: &St) -> Vec<Vec<St>> {
    let one = |s: St| vec![s];
    let mut out: Vec<Vec<St>> = vec![Vec::new()];
    match s {
        St::Let(e, sh) => {
            if sh.is_some() {
                out.push(one(St::Let(e.clone(), None)));
            }
            out.extend(shrink_fe(e).into_iter().map(|e| one(St::Let(e, *sh))));
        }
        St::LetMut(e) => out.extend(shrink_fe(e).into_iter().map(|e| one(St::LetMut(e)))),
        St::Assign(m, k, e) => {
            out.extend(shrink_fe(e).into_iter().map(|e| one(St::Assign(*m, *k, e))))
        }
        St::If(c, t, e) => {
            out.push(t.clone());
            out.push(e.clone());
            out.extend(
                shrink_cond(c)
                    .into_iter()
                    .map(|c| one(St::If(c, t.clone(), e.clone()))),
            );
            out.extend(
                shrink_block(t)
                    .into_iter()
                    .map(|t| one(St::If(c.clone(), t, e.clone()))),
            );
            out.extend(
                shrink_block(e)
                    .into_iter()
                    .map(|e| one(St::If(c.clone(), t.clone(), e))),
            );
        }
        St::For(r, cs, b) => {
            out.push(b.clone());
            if !matches!(r, RangeK::ZeroN) {
                out.push(one(St::For(RangeK::ZeroN, cs.clone(), b.clone())));
            }
            for k in 0..cs.len() {
                let mut fewer = cs.clone();
                fewer.remove(k);
                out.push(one(St::For(*r, fewer, b.clone())));
                let (init, u, e) = &cs[k];
                for x in shrink_fe(init) {
                    let mut c2 = cs.clone();
                    c2[k] = (x, *u, e.clone());
                    out.push(one(St::For(*r, c2, b.clone())));
                }
                for x in shrink_fe(e) {
                    let mut c2 = cs.clone();
                    c2[k] = (init.clone(), *u, x);
                    out.push(one(St::For(*r, c2, b.clone())));
                }
            }
            out.extend(
                shrink_block(b)
                    .into_iter()
                    .map(|b| one(St::For(*r, cs.clone(), b))),
            );
        }
        St::Reduce(ls, e, neg) => {
            for k in 0..ls.len() {
                let mut fewer = ls.clone();
                fewer.remove(k);
                out.push(one(St::Reduce(fewer, e.clone(), *neg)));
                for x in shrink_fe(&ls[k]) {
                    let mut l2 = ls.clone();
                    l2[k] = x;
                    out.push(one(St::Reduce(l2, e.clone(), *neg)));
                }
            }
            out.extend(
                shrink_fe(e)
                    .into_iter()
                    .map(|e| one(St::Reduce(ls.clone(), e, *neg))),
            );
        }
        St::While(k, st, b) => {
            out.push(b.clone());
            if let Some((init, e, l)) = st {
                out.push(one(St::While(*k, None, b.clone())));
                out.extend(
                    shrink_fe(init)
                        .into_iter()
                        .map(|x| one(St::While(*k, Some((x, e.clone(), *l)), b.clone()))),
                );
                out.extend(
                    shrink_fe(e)
                        .into_iter()
                        .map(|x| one(St::While(*k, Some((init.clone(), x, *l)), b.clone()))),
                );
            }
            out.extend(
                shrink_block(b)
                    .into_iter()
                    .map(|b| one(St::While(*k, st.clone(), b))),
            );
        }
        St::Arr(k, xs) => {
            for (i, x) in xs.iter().enumerate() {
                for c in shrink_fe(x) {
                    let mut x2 = xs.clone();
                    x2[i] = c;
                    out.push(one(St::Arr(*k, x2)));
                }
            }
        }
        St::Store(w, i, k, e) => {
            out.extend(
                shrink_ie(i)
                    .into_iter()
                    .map(|i| one(St::Store(*w, i, *k, e.clone()))),
            );
            out.extend(
                shrink_fe(e)
                    .into_iter()
                    .map(|e| one(St::Store(*w, i.clone(), *k, e))),
            );
        }
        St::DotLoop(..) => {}
        St::ArrAssign(w, xs) => {
            for (i, x) in xs.iter().enumerate() {
                for c in shrink_fe(x) {
                    let mut x2 = xs.clone();
                    x2[i] = c;
                    out.push(one(St::ArrAssign(*w, x2)));
                }
            }
        }
        St::ArrLoop(k, x, y) => {
            out.extend(
                shrink_fe(x)
                    .into_iter()
                    .map(|x| one(St::ArrLoop(*k, x, y.clone()))),
            );
            out.extend(
                shrink_fe(y)
                    .into_iter()
                    .map(|y| one(St::ArrLoop(*k, x.clone(), y))),
            );
        }
        St::Tuple(x, y) => {
            out.extend(
                shrink_fe(x)
                    .into_iter()
                    .map(|x| one(St::Tuple(x, y.clone()))),
            );
            out.extend(
                shrink_fe(y)
                    .into_iter()
                    .map(|y| one(St::Tuple(x.clone(), y))),
            );
        }
        St::IfLet(c, x, y) => {
            out.push(one(St::Let(x.clone(), None)));
            out.extend(
                shrink_cond(c)
                    .into_iter()
                    .map(|c| one(St::IfLet(c, x.clone(), y.clone()))),
            );
            out.extend(
                shrink_fe(x)
                    .into_iter()
                    .map(|x| one(St::IfLet(c.clone(), x, y.clone()))),
            );
            out.extend(
                shrink_fe(y)
                    .into_iter()
                    .map(|y| one(St::IfLet(c.clone(), x.clone(), y))),
            );
        }
        St::Return(c, e) => {
            out.extend(
                shrink_cond(c)
                    .into_iter()
                    .map(|c| one(St::Return(c, e.clone()))),
            );
            out.extend(
                shrink_fe(e)
                    .into_iter()
                    .map(|e| one(St::Return(c.clone(), e))),
            );
        }
    }
    out
}

fn shrink_block(b: &[St]) -> Vec<Vec<St>> {
    let mut out = Vec::new();
    for (i, s) in b.iter().enumerate() {
        for r in shrink_st(s) {
            let mut nb = b[..i].to_vec();
            nb.extend(r);
            nb.extend_from_slice(&b[i + 1..]);
            out.push(nb);
        }
    }
    out
}

fn shrink_prog(p: &Prog) -> Vec<Prog> {
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut Prog)| {
        let mut q = p.clone();
        f(&mut q);
        q
    };
    if p.points.len() > 1 {
        for k in 0..p.points.len() {
            out.push(with(&|q| q.points = vec![p.points[k].clone()]));
        }
    }
    out.extend(
        shrink_block(&p.stmts)
            .into_iter()
            .map(|stmts| with(&|q| q.stmts = stmts.clone())),
    );
    out.extend(
        shrink_fe(&p.tail)
            .into_iter()
            .map(|t| with(&|q| q.tail = t.clone())),
    );
    if p.tail_mask != 0 {
        out.push(with(&|q| q.tail_mask = 0));
    }
    if p.shape != 0 {
        out.push(with(&|q| q.shape = 0));
        out.extend(
            shrink_fe(&p.tail2)
                .into_iter()
                .map(|t| with(&|q| q.tail2 = t.clone())),
        );
    }
    if p.n > 1 {
        out.push(with(&|q| q.n = 1));
    }
    for k in 0..p.helpers.len() {
        let mut fewer = p.helpers.clone();
        fewer.remove(k);
        out.push(with(&|q| q.helpers = fewer.clone()));
        let (stmts, tail) = &p.helpers[k];
        for b in shrink_block(stmts) {
            let mut h = p.helpers.clone();
            h[k].0 = b;
            out.push(with(&|q| q.helpers = h.clone()));
        }
        for t in shrink_fe(tail) {
            let mut h = p.helpers.clone();
            h[k].1 = t;
            out.push(with(&|q| q.helpers = h.clone()));
        }
    }
    if p.wrt_mask.count_ones() > 1 {
        for k in 0..5 {
            if p.wrt_mask & (1 << k) != 0 {
                out.push(with(&|q| q.wrt_mask = 1 << k));
            }
        }
    }
    out
}

/// The tag of a failure message (`[fd]`, `[lower]`, ..): what must stay the same while
/// minimising.
fn tag(msg: &str) -> &str {
    // A lowering error keeps its whole message (a different rejection is a different bug).
    if msg.starts_with("[lower]") {
        return msg;
    }
    msg.split(']').next().unwrap_or(msg)
}

/// Greedily minimises a failing program, keeping the kind of failure; gives up after `budget`.
fn minimise(p: Prog, why: &str, budget: std::time::Duration) -> (Prog, String) {
    let start = Instant::now();
    let want = tag(why).to_string();
    let (mut cur, mut cur_why) = (p, why.to_string());
    'outer: while start.elapsed() < budget {
        let mut cands = shrink_prog(&cur);
        let size = |q: &Prog| source(q).len() + 1000 * q.points.len();
        cands.sort_by_key(size);
        let cur_size = size(&cur);
        for c in cands {
            if size(&c) > cur_size || start.elapsed() > budget {
                continue;
            }
            if let Err(w) = check_program(&c, &mut Stats::default()) {
                if tag(&w) == want {
                    cur = c;
                    cur_why = w;
                    continue 'outer;
                }
            }
        }
        break;
    }
    (cur, cur_why)
}

// ===== checking ============================================================================

/// Counters printed at the end of a run.
#[derive(Default, Debug)]
struct Stats {
    programs: usize,
    points: usize,
    skipped_points: usize,
    compared: usize,
    skipped_kink: usize,
    skipped_fd: usize,
    prims: BTreeMap<String, usize>,
    constructs: BTreeMap<&'static str, usize>,
    /// Time spent in: printing and parsing, lowering and transforms, evaluation.
    times: [f64; 3],
}

impl Stats {
    fn bump(&mut self, k: &'static str) {
        *self.constructs.entry(k).or_default() += 1;
    }
}

/// The inputs of a program at one raw point.
fn inputs(p: &Prog, raw: &[f64]) -> Vec<Value> {
    let n = p.n as usize;
    vec![
        Value::F(raw[0]),
        Value::F(raw[1]),
        Value::F(raw[2]),
        Value::FA(raw[3..3 + n].to_vec()),
        Value::FA(raw[8..11].to_vec()),
        Value::I(n as i64),
        // `idx`: four indices into `a`, repeats likely.
        Value::IA(
            (4..8)
                .map(|j| ((raw[j].abs() * 1000.0) as i64) % n as i64)
                .collect(),
        ),
    ]
}

/// Flattened positions of the differentiated inputs: (parameter index, element or None).
fn components(p: &Prog) -> Vec<(usize, Option<usize>)> {
    let mut out = Vec::new();
    for k in 0..5 {
        if p.wrt_mask & (1 << k) == 0 {
            continue;
        }
        match k {
            3 => out.extend((0..p.n as usize).map(|j| (3, Some(j)))),
            4 => out.extend((0..3).map(|j| (4, Some(j)))),
            _ => out.push((k, None)),
        }
    }
    out
}

fn perturb(x: &[Value], (k, j): (usize, Option<usize>), h: f64) -> Vec<Value> {
    let mut y = x.to_vec();
    match (&mut y[k], j) {
        (Value::F(v), None) => *v += h,
        (Value::FA(v), Some(j)) => v[j] += h,
        _ => unreachable!("components match inputs"),
    }
    y
}

fn unit(x: &[Value], wrt: &[usize], c: (usize, Option<usize>)) -> Vec<Value> {
    wrt.iter()
        .map(|&k| match (&x[k], c) {
            (Value::F(_), (ck, None)) => Value::F(if ck == k { 1.0 } else { 0.0 }),
            (Value::FA(v), (ck, Some(j))) => {
                let mut d = vec![0.0; v.len()];
                if ck == k {
                    d[j] = 1.0;
                }
                Value::FA(d)
            }
            (Value::FA(v), _) => Value::FA(vec![0.0; v.len()]),
            _ => Value::F(0.0),
        })
        .collect()
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Records which primitives and transform constructs a program exercises.
fn coverage(stats: &mut Stats, f: &Function, rev: &Reverse, fwd: &Forward) {
    analysis_walk(&f.body, &mut |s| match s {
        Stmt::Assign {
            target,
            op: Op::Prim(p, args),
            ..
        } if fwd.code.active.contains(target)
            && args
                .iter()
                .any(|a| matches!(a, Atom::Var(v) if fwd.code.active.contains(v))) =>
        {
            *stats.prims.entry(format!("{p:?}")).or_default() += 1;
        }
        Stmt::Assign {
            target,
            op: Op::Call { .. },
            ..
        } if fwd.code.active.contains(target) => stats.bump("call (active)"),
        Stmt::For { .. } => stats.bump("for"),
        Stmt::While { .. } => stats.bump("while"),
        Stmt::If { .. } => stats.bump("if"),
        Stmt::Store { array, .. } if fwd.code.active.contains(array) => stats.bump("active store"),
        Stmt::Accumulate { target, .. } if fwd.code.active.contains(target) => {
            stats.bump("active accumulate")
        }
        _ => {}
    });
    let slots = &rev.code.slots;
    let mut fused = false;
    let mut all = rev.code.fwd.clone();
    all.extend(rev.code.rev.iter().cloned());
    analysis_walk(&all, &mut |s| match s {
        Stmt::Save { slot, .. } if slots[slot.0].stack => stats.bump("save (stack)"),
        Stmt::Save { .. } => stats.bump("save (scalar)"),
        Stmt::Dot { .. } => stats.bump("dot kernel"),
        Stmt::AxpySlice { .. } => stats.bump("axpy kernel"),
        Stmt::Axpy { .. } => fused = true,
        _ => {}
    });
    if fused {
        stats.bump("fused reduction loop");
    }
}

fn analysis_walk<'a>(block: &'a Block, f: &mut impl FnMut(&'a Stmt)) {
    crate::analysis::walk(block, f)
}

/// Checks one program at its points. `Err` describes a disagreement.
fn check_program(p: &Prog, stats: &mut Stats) -> Result<(), String> {
    let t0 = Instant::now();
    let mut items = Vec::new();
    for src in sources(p) {
        let item: syn::ItemFn = syn::parse_str(&src)
            .map_err(|e| format!("[parse] generated source does not parse: {e}"))?;
        items.push(item);
    }
    stats.times[0] += t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let mut funcs = Vec::new();
    for item in &items {
        let lowered = crate::lower::lower(item)
            .map_err(|e| format!("[lower] lowering rejects a valid program: {e}"))?;
        funcs.push(lowered.func);
    }
    let f = funcs.pop().expect("f comes last");
    let registry: eval::Registry = items
        .iter()
        .zip(funcs)
        .map(|(item, g)| (item.sig.ident.to_string(), eval::Callee::new(g)))
        .collect();
    let wrt_idx: Vec<usize> = (0..5).filter(|k| p.wrt_mask & (1 << k) != 0).collect();
    let wrt: Vec<VarId> = wrt_idx.iter().map(|&k| f.params[k]).collect();
    let rev_fast = Reverse::new(&f, &wrt, true);
    let mut dot = false;
    analysis_walk(&rev_fast.code.fwd, &mut |s| {
        dot |= matches!(s, Stmt::Dot { .. })
    });
    // `strict` differs from the default only where a dot product was reassociated.
    let strict = dot.then(|| Reverse::new(&f, &wrt, false));
    let rev_strict = strict.as_ref().unwrap_or(&rev_fast);
    if dot {
        stats.bump("dot kernel (strict compared)");
    }
    // `NAME_pullback` differs from `NAME_grad_into` only in slice parameters' adjoints.
    let acc = (p.wrt_mask & (1 << 3) != 0)
        .then(|| Reverse::with_mode(&f, &wrt, crate::reverse::ArrayAdjoints::Accumulating, true));
    let rev_acc = acc.as_ref().unwrap_or(&rev_fast);
    let fwd = Forward::new(&f, &wrt);
    coverage(stats, &f, &rev_fast, &fwd);
    stats.bump(
        [
            "result f64",
            "result [f64; 2]",
            "result (f64, f64)",
            "result Vec<f64>",
        ][p.shape as usize % 4],
    );
    stats.programs += 1;
    stats.times[1] += t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let r = check_points(
        p,
        &f,
        &wrt_idx,
        [rev_strict, &rev_fast, rev_acc],
        &fwd,
        &registry,
        stats,
    );
    stats.times[2] += t0.elapsed().as_secs_f64();
    r
}

/// Whether two derivatives computed in different orders agree (to 1e-9 of the terms' size).
fn close(a: f64, b: f64, scale: f64) -> bool {
    same(a, b) || (a - b).abs() <= 1e-9 * (a.abs() + b.abs()) + 1e-12 * scale
}

/// The checks at each point of a program: `revs` are the strict, default and accumulating
/// (pullback) reverse transforms.
fn check_points(
    p: &Prog,
    f: &Function,
    wrt_idx: &[usize],
    revs: [&Reverse; 3],
    fwd: &Forward,
    calls: &eval::Registry,
    stats: &mut Stats,
) -> Result<(), String> {
    let calls = Some(calls);
    let [rev_strict, rev_fast, rev_acc] = revs;
    let comps = components(p);
    for raw in &p.points {
        let x = inputs(p, raw);
        stats.points += 1;
        let base = eval::primal_run_with(f, &x, calls)
            .map_err(|e| format!("[primal] the function fails to run: {e}"))?;
        let v = &base.outputs;
        if v.iter().any(|y| !y.is_finite() || y.abs() > 1e6) || base.max_abs > 1e8 {
            stats.skipped_points += 1;
            continue;
        }
        let scale = 1.0 + base.max_abs;
        // Reverse mode, one row of the Jacobian per result entry.
        let mut rows = Vec::new();
        for r in 0..v.len() {
            let seed: Vec<f64> = (0..v.len())
                .map(|k| if k == r { 1.0 } else { 0.0 })
                .collect();
            let (vr, g) = rev_strict
                .pullback_with(&x, &seed, None, calls)
                .map_err(|e| format!("[rev-run] the strict reverse sweep fails: {e}"))?;
            if vr.iter().zip(v).any(|(a, b)| !same(*a, *b)) {
                return Err(format!(
                    "[rev-value] the strict reverse sweep returns {vr:?}, the function {v:?}"
                ));
            }
            let (vr2, g2) = rev_fast
                .pullback_with(&x, &seed, None, calls)
                .map_err(|e| format!("[rev-run] the reverse sweep fails: {e}"))?;
            if vr2
                .iter()
                .zip(v)
                .any(|(a, b)| (a - b).abs() > 1e-12 * scale)
            {
                return Err(format!(
                    "[rev-value] the reverse sweep returns {vr2:?}, the function {v:?}"
                ));
            }
            for (c, (a, b)) in comps.iter().zip(g.iter().zip(&g2)) {
                if !close(*a, *b, scale) {
                    return Err(format!("[rev-rev] output {r}, component {c:?}: strict reverse {a:e}, reassociated reverse {b:e}"));
                }
            }
            rows.push(g);
        }
        // The pullback: a random seed, added into caller buffers that already hold values.
        let seed: Vec<f64> = (0..v.len()).map(|k| raw[12 + k]).collect();
        let accumulating = rev_acc.mode == crate::reverse::ArrayAdjoints::Accumulating;
        let initial: Vec<f64> = (0..comps.len())
            .map(|k| {
                if accumulating {
                    raw[(k * 7 + 3) % 16]
                } else {
                    0.0
                }
            })
            .collect();
        let (_, acc) = rev_acc
            .pullback_with(&x, &seed, accumulating.then_some(&initial[..]), calls)
            .map_err(|e| format!("[pullback-run] the pullback fails: {e}"))?;
        for (k, c) in comps.iter().enumerate() {
            let want = initial[k] + (0..v.len()).map(|r| seed[r] * rows[r][k]).sum::<f64>();
            let terms = initial[k].abs()
                + (0..v.len())
                    .map(|r| (seed[r] * rows[r][k]).abs())
                    .sum::<f64>();
            if !(same(acc[k], want) || (acc[k] - want).abs() <= 1e-9 * terms + 1e-12 * scale) {
                return Err(format!("[pullback] component {c:?}: pullback leaves {:e} in the buffer, want {want:e} (initial {:e} + seed^T J)", acc[k], initial[k]));
            }
        }
        for (k, c) in comps.iter().enumerate() {
            // Forward mode along this component: one column of the Jacobian.
            let run = fwd
                .run_with(&x, &unit(&x, wrt_idx, *c), calls)
                .map_err(|e| format!("[fwd-run] the forward sweep fails: {e}"))?;
            if run.outputs.iter().zip(v).any(|(a, b)| !same(*a, *b)) {
                return Err(format!(
                    "[fwd-value] the forward sweep returns {:?}, the function {v:?}",
                    run.outputs
                ));
            }
            for (r, (row, t)) in rows.iter().zip(&run.tangents).enumerate() {
                if !close(row[k], *t, scale) {
                    return Err(format!(
                        "[rev-fwd] output {r}, component {c:?}: reverse {:e}, forward {t:e}",
                        row[k]
                    ));
                }
            }
            // Finite differences, on the same smooth piece only: step h, and h/2 (with
            // Richardson extrapolation) only when h alone does not already agree. The step is
            // short enough that no intermediate moves by more than 1e-3 (`speed` is the
            // largest intermediate tangent): `sin(s)` with a fast-moving `s` oscillates
            // within a longer step, and the differences alias to a wrong value.
            let h = 1e-4f64.min(1e-3 / run.speed);
            if h < 1e-9 {
                stats.skipped_fd += 1;
                continue;
            }
            let noise = 1e-13 * scale / h;
            let fd = |step: f64| -> Result<Option<Vec<f64>>, String> {
                let mut vals = Vec::new();
                for st in [step, -step] {
                    match eval::primal_run_with(f, &perturb(&x, *c, st), calls) {
                        Ok(r)
                            if r.trace == base.trace && r.outputs.iter().all(|y| y.is_finite()) =>
                        {
                            vals.push(r.outputs)
                        }
                        Ok(_) => return Ok(None),
                        Err(e) => return Err(format!("[primal] the function fails to run: {e}")),
                    }
                }
                Ok(Some(
                    vals[0]
                        .iter()
                        .zip(&vals[1])
                        .map(|(a, b)| (a - b) / (2.0 * step))
                        .collect(),
                ))
            };
            let Some(fd1) = fd(h)? else {
                stats.skipped_kink += 1;
                continue;
            };
            let good = |g: f64, d: f64| {
                g.is_finite() && (g - d).abs() <= 1e-6 * (1.0 + g.abs()) + 10.0 * noise
            };
            if (0..v.len()).all(|r| good(rows[r][k], fd1[r])) {
                stats.compared += 1;
                continue;
            }
            let Some(fd2) = fd(h / 2.0)? else {
                stats.skipped_kink += 1;
                continue;
            };
            if (0..v.len())
                .any(|r| (fd1[r] - fd2[r]).abs() > 1e-3 * (1.0 + fd2[r].abs()) + 10.0 * noise)
            {
                stats.skipped_fd += 1;
                continue;
            }
            stats.compared += 1;
            for (r, row) in rows.iter().enumerate() {
                let g = row[k];
                let rich = (4.0 * fd2[r] - fd1[r]) / 3.0;
                let tol = 1e-6 * (1.0 + g.abs()) + 4.0 * (fd1[r] - fd2[r]).abs() + 10.0 * noise;
                if !g.is_finite() || (g - rich).abs() > tol {
                    return Err(format!(
                        "[fd] output {r}, component {c:?}: reverse {g:e}, forward {:e}, finite differences {rich:e} (h: {:e}, h/2: {:e}; tolerance {tol:e})",
                        run.tangents[r], fd1[r], fd2[r]
                    ));
                }
            }
        }
    }
    Ok(())
}

fn seed() -> u64 {
    std::env::var("GRAD_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6772_6164)
}

pub(crate) fn runner(cases: u32, seed: u64) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Config::default()
    };
    // XorShift: ChaCha is the slowest part of generating a program in a debug build.
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..].copy_from_slice(&(!seed).to_le_bytes());
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::XorShift, &bytes))
}

fn cases_from_env(default: u32) -> u32 {
    std::env::var("GRAD_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn report(stats: &Stats, elapsed: std::time::Duration) {
    eprintln!(
        "random programs: {} programs, {} points ({} skipped: value too large), {} gradient components compared with finite differences, {} skipped at kinks, {} skipped for inaccurate differences; {:.1} s",
        stats.programs, stats.points, stats.skipped_points, stats.compared, stats.skipped_kink, stats.skipped_fd, elapsed.as_secs_f64()
    );
    eprintln!(
        "  time: print+parse {:.1} s, lower+transform {:.1} s, evaluate {:.1} s",
        stats.times[0], stats.times[1], stats.times[2]
    );
    let covered: Vec<String> = stats
        .prims
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    eprintln!(
        "  active primitives ({} of {}): {}",
        stats.prims.len(),
        Prim::ALL.len(),
        covered.join(", ")
    );
    let constructs: Vec<String> = stats
        .constructs
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    eprintln!("  constructs: {}", constructs.join(", "));
}

/// Runs `cases` random programs; panics with the shrunk failing program on a disagreement.
fn run_random_programs(cases: u32) {
    let start = Instant::now();
    let stats = RefCell::new(Stats::default());
    let mut runner = runner(cases, seed());
    let result = runner.run(&prog(), |p| {
        check_program(&p, &mut stats.borrow_mut()).map_err(TestCaseError::fail)
    });
    let stats = stats.into_inner();
    report(&stats, start.elapsed());
    match result {
        Ok(()) => {
            let missing: Vec<String> = Prim::ALL
                .iter()
                .map(|p| format!("{p:?}"))
                .filter(|p| !stats.prims.contains_key(p))
                .collect();
            assert!(
                missing.is_empty() || cases < 500,
                "primitives never exercised: {missing:?}"
            );
        }
        Err(TestError::Fail(why, p)) => {
            eprintln!("FAILED: {why}\n{}\nminimising..", source(&p));
            let (p, why) = minimise(p, why.message(), std::time::Duration::from_secs(120));
            panic!(
                "{why}\nminimal program:\n{}\nn = {}, wrt mask {:#07b}, at {:?}",
                source(&p),
                p.n,
                p.wrt_mask,
                p.points
            )
        }
        Err(e) => panic!("{e}"),
    }
}

/// The default property test: [`DEFAULT_PROGRAMS`] random programs (or
/// `GRAD_PROPTEST_CASES`).
#[test]
fn random_programs() {
    run_random_programs(cases_from_env(DEFAULT_PROGRAMS));
}

/// The long run: `cargo test -p grad-macro --release -- --ignored long_random_programs`
/// (100 000 programs unless `GRAD_PROPTEST_CASES` says otherwise).
#[test]
#[ignore = "long run (minutes); opt in with --ignored"]
fn long_random_programs() {
    run_random_programs(cases_from_env(100_000));
}

/// How long generating programs alone takes.
#[test]
#[ignore = "timing"]
fn time_generation() {
    let mut runner = runner(1, seed());
    let start = Instant::now();
    let mut total = 0;
    let strategy = prog();
    let mut gen = 0.0;
    for _ in 0..1000 {
        let t = Instant::now();
        let tree = strategy.new_tree(&mut runner).expect("generates");
        let p = tree.current();
        gen += t.elapsed().as_secs_f64();
        total += source(&p).len();
    }
    eprintln!("tree generation: {gen:.2} s");
    let t = Instant::now();
    let e = fe();
    for _ in 0..1000 {
        let _ = e.new_tree(&mut runner).expect("generates").current();
    }
    eprintln!("1000 expressions: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let e = st(&fe());
    for _ in 0..1000 {
        let _ = e.new_tree(&mut runner).expect("generates").current();
    }
    eprintln!("1000 statements: {:.2} s", t.elapsed().as_secs_f64());
    eprintln!(
        "1000 programs generated and printed in {:.2} s ({total} bytes)",
        start.elapsed().as_secs_f64()
    );
}

/// Prints a few generated programs (for a look at what the generator writes).
#[test]
#[ignore = "prints samples"]
fn print_sample_programs() {
    let mut runner = runner(1, seed());
    for _ in 0..5 {
        let tree = prog().new_tree(&mut runner).expect("generates");
        println!("{}\n", source(&tree.current()));
    }
}

// ===== conventions at kinks, and regressions ===============================================

/// Lowers `src` (which must be supported).
fn lower_src(src: &str) -> Function {
    let item: syn::ItemFn = syn::parse_str(src).expect("parses");
    crate::lower::lower(&item)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .func
}

/// The reverse gradient and the forward tangents (one per scalar parameter) at `x`.
fn both_modes(src: &str, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let f = lower_src(src);
    let inputs: Vec<Value> = x.iter().map(|v| Value::F(*v)).collect();
    let (_, g) = eval::reverse_gradient(&f, &inputs, &f.params.clone()).expect("reverse runs");
    let fwd = Forward::new(&f, &f.params);
    let t = (0..x.len())
        .map(|k| {
            let dir: Vec<Value> = (0..x.len())
                .map(|j| Value::F(if j == k { 1.0 } else { 0.0 }))
                .collect();
            fwd.tangent(&inputs, &dir).expect("forward runs").1
        })
        .collect();
    (g, t)
}

/// The mismatches of both modes against `want` (one line each).
fn mode_mismatches(src: &str, x: &[f64], want: &[f64]) -> Vec<String> {
    let (g, t) = both_modes(src, x);
    let mut out = Vec::new();
    for (k, w) in want.iter().enumerate() {
        if !same(g[k], *w) || !same(t[k], *w) {
            out.push(format!(
                "{src} at {x:?}: d/dx{k} should be {w}, reverse gives {}, forward {}",
                g[k], t[k]
            ));
        }
    }
    out
}

thread_local! {
    static MISMATCHES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn assert_modes(src: &str, x: &[f64], want: &[f64]) {
    let m = mode_mismatches(src, x, want);
    MISMATCHES.with(|all| all.borrow_mut().extend(m));
}

/// Singular points hidden behind a zero factor: the function is `x` near them (for `y` in
/// the domain), so d/dy is 0.
const SINGULAR_BEHIND_ZERO: [(&str, &[f64]); 4] = [
    (
        "fn f(x: f64, y: f64) -> f64 { x + 0.0 * y.sqrt() }",
        &[1.0, 0.0],
    ),
    (
        "fn f(x: f64, y: f64) -> f64 { x + 0.0 * y.asin() }",
        &[1.0, 1.0],
    ),
    (
        "fn f(x: f64, y: f64) -> f64 { x + 0.0 * y.hypot(0.0) }",
        &[1.0, 0.0],
    ),
    (
        "fn f(x: f64, y: f64) -> f64 { x + 0.0 * y.atan2(0.0) }",
        &[1.0, 0.0],
    ),
];

/// Forward mode at the same points: the tangent through the singular rule is infinite, and
/// the zero factor must keep it zero as reverse mode does (otherwise `f_jacobian`, which picks
/// forward or reverse mode by shape, and `f_pushforward` would disagree with `f_grad`). Found
/// independently here and in tests/special_values.rs; fixed in c03f6ae.
#[test]
fn forward_zero_factor_at_singular_point() {
    let bad: Vec<String> = SINGULAR_BEHIND_ZERO
        .iter()
        .flat_map(|(src, x)| mode_mismatches(src, x, &[1.0, 0.0]))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `x.powi(0)` is the constant 1; a rule `0 * x.powi(-1)` would be `0 * inf = NaN` at
/// `x == 0`, and a polynomial `sum c[i] * x.powi(i)` evaluated at 0 would get a NaN gradient
/// (found independently here and in tests/special_values.rs; fixed in c03f6ae).
#[test]
fn powi_zero_at_zero() {
    let mut bad = mode_mismatches("fn f(x: f64) -> f64 { x.powi(0) + x }", &[0.0], &[1.0]);
    let src = "fn p(x: f64, c: &[f64]) -> f64 { let mut s = 0.0; for i in 0..c.len() { s += c[i] * x.powi(i as i32); } s }";
    let f = lower_src(src);
    let inputs = [Value::F(0.0), Value::FA(vec![1.0, 2.0, 3.0])];
    let (_, g) = eval::reverse_gradient(&f, &inputs, &f.params.clone()).expect("runs");
    let fwd = Forward::new(&f, &f.params);
    let (_, t) = fwd
        .tangent(&inputs, &[Value::F(1.0), Value::FA(vec![0.0; 3])])
        .expect("runs");
    if !same(g[0], 2.0) || !same(t, 2.0) {
        bad.push(format!(
            "{src} at x = 0, c = [1, 2, 3]: d/dx should be 2, reverse gives {}, forward {t}",
            g[0]
        ));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A call passing the same variable to two parameters: the pullback call borrows its adjoint
/// mutably twice (does not compile).
#[test]
fn call_with_the_same_argument_twice() {
    let g = lower_src("fn g(x: f64, y: f64) -> f64 { x * y }");
    let f = lower_src("fn sq(x: f64) -> f64 { g(x, x) }");
    let mut reg = eval::Registry::new();
    reg.insert("g".into(), eval::Callee::new(g));
    let rev = Reverse::new(&f, &f.params, true);
    let (v, grad) = rev
        .pullback_with(&[Value::F(3.0)], &[1.0], None, Some(&reg))
        .expect("reverse runs");
    assert_eq!((v[0], grad[0]), (9.0, 6.0));
}

/// `return` inside an `if` nested in another `if`'s branch, with code after the outer `if`
/// (the random programs' first finding; also found by tests/control_flow.rs, fixed in
/// c03f6ae).
#[test]
fn nested_if_return() {
    let src = "fn f(x: f64) -> f64 { if x > 0.0 { if x > 1.0 { return x * x; } } x }";
    let f = lower_src(src);
    for (x, want) in [(2.0, 4.0), (0.5, 1.0), (-1.0, 1.0)] {
        let (v, g) = eval::reverse_gradient(&f, &[Value::F(x)], &f.params.clone()).expect("runs");
        assert_eq!((v, g[0]), (if x > 1.0 { x * x } else { x }, want));
    }
}

/// The documented conventions at kinks and singular points (README, CONTEXT): random points
/// never land on them, so they are checked here at exactly those points.
#[test]
fn kink_conventions() {
    // abs'(0) = +1.
    assert_modes("fn f(x: f64) -> f64 { x.abs() }", &[0.0], &[1.0]);
    assert_modes("fn f(x: f64) -> f64 { (-x).abs() }", &[0.0], &[-1.0]);
    // max/min at a tie: the derivative goes to the second argument.
    assert_modes("fn f(x: f64) -> f64 { x.max(0.0) }", &[0.0], &[0.0]);
    assert_modes("fn f(x: f64) -> f64 { x.min(0.0) }", &[0.0], &[0.0]);
    assert_modes(
        "fn f(x: f64, y: f64) -> f64 { x.max(y) }",
        &[1.5, 1.5],
        &[0.0, 1.0],
    );
    assert_modes(
        "fn f(x: f64, y: f64) -> f64 { f64::min(x, y) }",
        &[1.5, 1.5],
        &[0.0, 1.0],
    );
    assert_modes(
        "fn f(x: f64, y: f64) -> f64 { x.max(y) }",
        &[2.0, 1.5],
        &[1.0, 0.0],
    );
    // A NaN operand is ignored by max/min, and so is its derivative.
    assert_modes("fn f(x: f64) -> f64 { x.max(f64::NAN) }", &[2.0], &[1.0]);
    assert_modes(
        "fn f(x: f64) -> f64 { f64::min(f64::NAN, x) }",
        &[2.0],
        &[1.0],
    );
    // powf: the exponent's derivative is 0 where the base is 0.
    assert_modes(
        "fn f(x: f64, y: f64) -> f64 { x.powf(y) }",
        &[0.0, 2.0],
        &[0.0, 0.0],
    );
    assert_modes(
        "fn f(x: f64, y: f64) -> f64 { x.powf(y) }",
        &[0.0, 0.5],
        &[f64::INFINITY, 0.0],
    );
    assert_modes(
        "fn f(x: f64, y: f64) -> f64 { x.powf(y) }",
        &[3.0, 0.0],
        &[0.0, 3f64.ln()],
    );
    // sqrt'(0) = +inf, cbrt'(0) = +inf.
    assert_modes("fn f(x: f64) -> f64 { x.sqrt() }", &[0.0], &[f64::INFINITY]);
    assert_modes("fn f(x: f64) -> f64 { x.cbrt() }", &[0.0], &[f64::INFINITY]);
    // A zero adjoint never becomes NaN through a singular rule (reverse mode; forward mode
    // is `forward_zero_factor_at_singular_point`, ignored: a known bug).
    for (src, x) in SINGULAR_BEHIND_ZERO {
        let (g, _) = both_modes(src, x);
        if !same(g[1], 0.0) {
            MISMATCHES.with(|m| {
                m.borrow_mut()
                    .push(format!("{src} at {x:?}: reverse d/dx1 is {}, not 0", g[1]))
            });
        }
    }
    // signum has derivative 0 everywhere (0 at 0 too).
    assert_modes(
        "fn f(x: f64) -> f64 { x.signum() * 2.0 + x }",
        &[0.0],
        &[1.0],
    );
    // Integer powers at 0.
    assert_modes("fn f(x: f64) -> f64 { x.powi(1) }", &[0.0], &[1.0]);
    assert_modes("fn f(x: f64) -> f64 { x.powi(2) }", &[0.0], &[0.0]);
    assert_modes("fn f(x: f64) -> f64 { x.powi(3) }", &[0.0], &[0.0]);
    let all = MISMATCHES.with(|m| m.take());
    assert!(all.is_empty(), "{}", all.join("\n"));
}

/// An `if` holding a `return` (in any branch, or nested) whose branch ends in a loop or an
/// `if` statement (`()`-typed, no semicolon), with code after the `if` (found by the random
/// programs, /work/notes/bugs/fixed-prop-nested-return-unit-tail.md; fixed in 2ee4abd).
#[test]
fn nested_return_branch_ends_in_loop() {
    for src in [
        "fn f(x: f64) -> f64 { if x > 0.0 { if x > 1.0 { return x * x; } for _ in 0..3 {} } x }",
        "fn f(x: f64) -> f64 { if x > 0.0 { if x > 1.0 { return x * x; } let mut k = 0; while k < 3 { k += 1; } } x }",
        "fn f(x: f64) -> f64 { if x > 0.0 { if x > 1.0 { return x * x; } if x > 0.5 { } } x }",
        "fn f(x: f64) -> f64 { if x > 1.0 { return x * x; } else { for _ in 0..3 {} } x }",
        "fn f(x: f64) -> f64 { if x <= 1.0 { let mut s = 0.0; for _ in 0..3 { s += x; } } else { return x * x; } x }",
        "fn f(x: f64) -> f64 { if x <= 1.0 { if x > 0.5 { } } else { return x * x; } x }",
    ] {
        let f = lower_src(src);
        for (x, want) in [(2.0, 4.0), (0.5, 1.0), (-1.0, 1.0)] {
            let (v, g) = eval::reverse_gradient(&f, &[Value::F(x)], &f.params.clone()).expect("runs");
            assert_eq!((v, g[0]), (if x > 1.0 { x * x } else { x }, want), "{src}");
        }
    }
}
