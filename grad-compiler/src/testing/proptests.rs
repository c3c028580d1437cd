//! Property tests driven by the random-program generator ([`super::gen`]): every program goes
//! through the real lowering and companion builders ([`super::compile`], as `expand` does)
//! and is run by the evaluator ([`super::eval`]) at a few random points.
//!
//! At each point, over the flattened result (`m` floats) and every float input component:
//! - the pullback (seed a unit vector, zeroed buffers) gives the Jacobian's rows and the
//!   pushforward (a unit tangent) its columns; they agree to 1e-9 relative (plus 1e-12 of the
//!   run's largest value), and both return the function's value;
//! - the pullback adds into its buffers: random initial buffers and a random seed end as
//!   `initial + seed^T J`;
//! - for a scalar result, `grad_into` (zero buffers) and the `grad` wrapper give the same
//!   gradient over the differentiated parameters;
//! - every Jacobian entry agrees with central finite differences of the evaluated primal, on
//!   the same smooth piece only: the perturbed runs must take the same discrete decisions
//!   ([`super::eval::Stats::trace`]), the step is short enough that no intermediate moves by
//!   more than 1e-3, and where step `h` alone does not agree, `h/2` must agree with it and
//!   the Richardson extrapolation must match;
//! - with `hessian`, `hvp_into` gives `grad_into`'s gradient and a Hessian-vector product
//!   that agrees with finite differences of the evaluated `grad_into` along the direction,
//!   the `hvp` wrapper returns the same, and `pullback_pushforward` (forward over the
//!   pullback, what the Hessians of callers use) gives the same gradient and product.
//!
//! The default run checks [`DEFAULT_CASES`] programs at [`POINTS`] points each
//! (`GRAD_PROPTEST_CASES=n` for more, `GRAD_PROPTEST_SEED=s` for another stream,
//! `GRAD_PROPTEST_ONLY=seed` for one program, its source printed), split over two tests so
//! both cores work; `--nocapture` prints what was exercised. Building the companions
//! dominates the time (some 80 ms per program in a debug build), hence the modest default.
//! A failure is minimised (statements dropped while the same check still fails) and
//! reported with the source, the point and the numbers.
//!
//! Below: the rule table's conventions at kinks, checked through one-primitive programs; the
//! debugging aids `GRAD_CHECK=file` (every check on a file's last function) and
//! `GRAD_SHOW=file` (its companions' IR); and the minimal sources of the compiler bugs found,
//! as `#[ignore]`d tests that pass once each bug is fixed.

use super::compile::{compile_library, Compiled, FORWARD_MODE};
use super::eval::{self, Limits, Outcome, Registry, Value};
use super::gen::{self, Program, Rng, IDX_LEN};
use crate::ir::{Function, Origin, Param, Passing, VarId};
use crate::names::Binder;
use crate::rules::{Prim, Syntax};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Programs checked by a default `cargo test` (both halves together).
pub const DEFAULT_CASES: u64 = 500;
/// Points per program.
pub const POINTS: usize = 4;
/// Points where any value exceeds this are skipped: there every float is an integer (the
/// rounding functions, whose derivative is 0 by convention, are the identity) and finite
/// differences lose their digits.
const HUGE: f64 = 1e15;
/// Statements one evaluation may run.
const STEPS: u64 = 200_000;

/// A failed check: which check (minimisation keeps failures of the same one) and what was
/// seen.
#[derive(Debug, Clone)]
struct Failure {
    tag: &'static str,
    msg: String,
}

type C<T> = Result<T, Failure>;

fn fail<T>(tag: &'static str, msg: impl Into<String>) -> C<T> {
    Err(Failure {
        tag,
        msg: msg.into(),
    })
}

/// What a run exercised, for the report.
#[derive(Default)]
struct Tally {
    programs: u64,
    points: u64,
    skipped_points: u64,
    entries: u64,
    fd_compared: u64,
    fd_kink: u64,
    fd_noisy: u64,
    hvp_compared: u64,
    hvp_skipped: u64,
    /// The slowest program's seed and time.
    slowest: (u64, Duration),
    /// Time spent compiling (lowering and building companions).
    compile_time: Duration,
    prims: BTreeMap<Prim, u64>,
    constructs: BTreeMap<&'static str, u64>,
}

// ===== inputs ==============================================================================

/// The main function's arguments at point `k` of program `seed`: `n` in 1..=4, floats in
/// [-2, 2], `a.len() == n`, `idx[j] < n`.
fn point(seed: u64, k: usize) -> Vec<Value> {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(k as u64 + 1));
    let n = 1 + rng.below(4);
    let mut f = || rng.float(-2.0, 2.0);
    let xs = [f(), f(), f()];
    let a: Vec<f64> = (0..n).map(|_| f()).collect();
    let b = [f(), f(), f()];
    let idx: Vec<i64> = (0..IDX_LEN).map(|_| rng.below(n) as i64).collect();
    vec![
        Value::Float(xs[0]),
        Value::Float(xs[1]),
        Value::Float(xs[2]),
        Value::floats(&a),
        Value::floats(&b),
        Value::Int(n as i64),
        Value::ints(&idx),
    ]
}

/// A float input: parameter `param`, element `elem` of a sequence.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Comp {
    param: usize,
    elem: Option<usize>,
}

/// Every float input of the arguments.
fn comps(args: &[Value]) -> Vec<Comp> {
    let mut out = Vec::new();
    for (param, v) in args.iter().enumerate() {
        match v {
            Value::Float(_) => out.push(Comp { param, elem: None }),
            Value::Seq(xs) | Value::Matrix { data: xs, .. } => {
                for (j, x) in xs.iter().enumerate() {
                    if matches!(x, Value::Float(_)) {
                        out.push(Comp {
                            param,
                            elem: Some(j),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn slot(v: &mut Value, elem: Option<usize>) -> Option<&mut f64> {
    match (v, elem) {
        (Value::Float(x), None) => Some(x),
        (Value::Seq(xs) | Value::Matrix { data: xs, .. }, Some(j)) => match xs.get_mut(j) {
            Some(Value::Float(x)) => Some(x),
            _ => None,
        },
        _ => None,
    }
}

fn read(v: &Value, elem: Option<usize>) -> Option<f64> {
    match (v, elem) {
        (Value::Float(x), None) => Some(*x),
        (Value::Seq(xs) | Value::Matrix { data: xs, .. }, Some(j)) => {
            xs.get(j).and_then(Value::as_f64)
        }
        _ => None,
    }
}

/// The arguments with `x += h * dir` over the components.
fn moved(args: &[Value], dir: &[(Comp, f64)], h: f64) -> Vec<Value> {
    let mut out = args.to_vec();
    for (c, d) in dir {
        if let Some(x) = slot(&mut out[c.param], c.elem) {
            *x += h * d;
        }
    }
    out
}

/// Values shaped like the arguments, zero except `dir`'s components.
fn shaped(args: &[Value], dir: &[(Comp, f64)]) -> Vec<Value> {
    let mut out: Vec<Value> = args.iter().map(Value::zero_like).collect();
    for (c, d) in dir {
        if let Some(x) = slot(&mut out[c.param], c.elem) {
            *x = *d;
        }
    }
    out
}

// ===== running companions ==================================================================

/// The role of a companion's parameter, from its origin.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    /// The user's parameter `i`.
    User(usize),
    /// A binder's parameter for the user's parameter `i` (`tan_x`, `v_x`, ...).
    Of(Binder, usize),
    /// A binder's `&mut` buffer for the user's parameter `i` (`adj_x`, `grad_x`, `hv_x`, and
    /// the tangent of `adj_x` in a pushforward of a pullback).
    Buf(Binder, usize),
    /// The seed.
    Seed,
    /// The seed's tangent (a pushforward of a pullback).
    SeedTangent,
    /// A binder's parameter of the companion itself (`matrix`, `rows` of `jacobian_rows`).
    Own(Binder),
}

fn roles(f: &Function, user_vars: &[VarId]) -> C<Vec<Role>> {
    let is_seed = |v: &VarId| matches!(f.var(*v).origin, Origin::Made(Binder::Seed, _));
    f.params
        .iter()
        .map(|p| {
            let buffer = p.passing == Passing::MutRef;
            match &f.var(p.var).origin {
                Origin::Param(i) => Ok(Role::User(*i)),
                Origin::Made(Binder::Seed, _) => Ok(Role::Seed),
                Origin::Made(Binder::Tangent, Some(v)) if is_seed(v) => Ok(Role::SeedTangent),
                Origin::Made(b, Some(v)) => match user_vars.iter().position(|u| u == v) {
                    Some(i) if buffer => Ok(Role::Buf(*b, i)),
                    Some(i) => Ok(Role::Of(*b, i)),
                    None => fail("harness", format!("a parameter of unknown role: {b:?}")),
                },
                Origin::Made(b, None) => Ok(Role::Own(*b)),
                o => fail("harness", format!("a parameter of unknown role: {o:?}")),
            }
        })
        .collect()
}

/// A companion's run: its returns and its `&mut` buffers by role.
struct Called {
    returns: Vec<Value>,
    buffers: Vec<(Role, Value)>,
    out: Outcome,
}

impl Called {
    /// The float of `&mut` buffer `binder` for component `c`.
    fn entry(&self, binder: Binder, c: Comp) -> Option<f64> {
        self.buffers
            .iter()
            .find(|(r, _)| *r == Role::Buf(binder, c.param))
            .and_then(|(_, v)| read(v, c.elem))
    }
}

/// Everything one program's checks need.
struct Case {
    compiled: Vec<Compiled>,
    reg: Registry,
}

impl Case {
    fn main(&self) -> &Compiled {
        self.compiled.last().expect("the main function is compiled")
    }

    fn user_vars(&self) -> Vec<VarId> {
        self.main()
            .lowered
            .func
            .params
            .iter()
            .map(|p| p.var)
            .collect()
    }

    fn func(&self, suffix: &str) -> C<&Function> {
        match self.main().companion(suffix) {
            Some(f) => Ok(f),
            None => fail("harness", format!("no companion `{suffix}`")),
        }
    }

    fn run(&self, tag: &'static str, f: &Function, args: Vec<Value>) -> C<Outcome> {
        let limits = Limits {
            steps: STEPS,
            ..Limits::default()
        };
        eval::run_with(f, args, &self.reg, limits).or_else(|e| {
            // A name the program does not define lowers to a constant or a function of the
            // user's (what minimising makes of a removed `let` or helper): not the failure
            // being minimised.
            let unknown = e.contains("is not known") || e.contains("unknown function");
            let tag = if unknown { "unknown-name" } else { tag };
            fail(tag, e)
        })
    }

    /// Runs a companion, its parameters filled by role.
    fn call(
        &self,
        tag: &'static str,
        suffix: &str,
        user: &[Value],
        fill: &dyn Fn(Role) -> Option<Value>,
    ) -> C<Called> {
        let f = self.func(suffix)?;
        let roles = roles(f, &self.user_vars())?;
        let mut args = Vec::new();
        for r in &roles {
            let v = match r {
                Role::User(i) => user.get(*i).cloned(),
                _ => fill(*r),
            };
            match v {
                Some(v) => args.push(v),
                None => return fail("harness", format!("no argument for {r:?} of {suffix}")),
            }
        }
        let out = self.run(tag, f, args)?;
        let buffers = f
            .params
            .iter()
            .zip(&roles)
            .filter(|(p, _)| p.passing == Passing::MutRef)
            .map(|(_, r)| *r)
            .zip(out.buffers.iter().cloned())
            .collect();
        Ok(Called {
            returns: out.returns.clone(),
            buffers,
            out,
        })
    }
}

/// Compiles a program; a program that does not lower is the generator's bug (or a compiler
/// that rejects what it should accept).
fn compile(p: &Program) -> C<Case> {
    let src = p.source();
    let (compiled, reg) = match compile_library(&src) {
        Ok(x) => x,
        Err(e) => return fail("lower", e),
    };
    for c in &compiled {
        if !c.errors.is_empty() {
            return fail(
                "unsupported",
                format!("{}: {}", c.name, c.errors.join("; ")),
            );
        }
    }
    Ok(Case { compiled, reg })
}

// ===== comparisons =========================================================================

/// Equal, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Whether two derivatives computed in different orders agree (to 1e-9 of their size and
/// 1e-12 of the run's largest value).
fn close(a: f64, b: f64, scale: f64) -> bool {
    same(a, b) || (a - b).abs() <= 1e-9 * (a.abs() + b.abs()) + 1e-12 * scale
}

fn value_matches(got: &[f64], want: &[f64], exact: bool, scale: f64) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(a, b)| same(*a, *b) || (!exact && (a - b).abs() <= 1e-12 * scale.max(a.abs())))
}

// ===== one point ===========================================================================

/// The checks at one point.
struct PointCheck<'c> {
    case: &'c Case,
    args: Vec<Value>,
    comps: Vec<Comp>,
    /// The primal's flattened result and statistics.
    value: Value,
    out: Vec<f64>,
    trace: u64,
    /// The scale of the absolute tolerance: rounding differs between sweeps in proportion
    /// to the largest intermediate (adjoints included).
    scale: f64,
    /// Per Jacobian entry, how much rounding alone moves it: ten times the difference of the
    /// pullback with seed 1 and with seed 0.3 (divided back). Ill-conditioned programs
    /// (large terms cancelling, then amplified) get a wider tolerance.
    noise: Vec<Vec<f64>>,
    /// How much the value moves when every float input is nudged by 1e-13 (relative): a
    /// thousand times what a reassociated sum's rounding can move it, at most.
    value_noise: f64,
    /// The point with every float nudged by 1e-13 (relative), for companions that
    /// reassociate sums.
    nudged: Option<Vec<Value>>,
}

impl PointCheck<'_> {
    fn zeros(&self) -> Vec<Value> {
        self.args.iter().map(Value::zero_like).collect()
    }

    /// Row `r` of the Jacobian (over every float input) by the pullback with the seed
    /// `scale` times a unit vector (divided back), and the largest value the pullback
    /// computed on the way.
    fn row(&self, r: usize, scale: f64, tally: &mut Tally) -> C<(Vec<f64>, f64)> {
        self.row_at(&self.args, r, scale, tally)
    }

    /// [`row`](Self::row) at the point `args` (its value is checked only at the point).
    fn row_at(
        &self,
        args: &[Value],
        r: usize,
        scale: f64,
        tally: &mut Tally,
    ) -> C<(Vec<f64>, f64)> {
        let mut unit = vec![0.0; self.out.len()];
        unit[r] = scale;
        let seed = self.seed(&unit)?;
        let zeros = self.zeros();
        let called = self
            .case
            .call("run-pullback", "pullback", args, &|role| match role {
                Role::Seed => Some(seed.clone()),
                Role::Buf(Binder::Adjoint, i) => zeros.get(i).cloned(),
                _ => None,
            })?;
        merge(tally, &called.out);
        if args == self.args.as_slice() {
            self.check_value("pullback-value", &called.returns[0], !self.strict_free())?;
        }
        let row = self
            .comps
            .iter()
            .map(|c| match called.entry(Binder::Adjoint, *c) {
                Some(x) => Ok(x / scale),
                None => fail("harness", format!("no adjoint for {c:?}")),
            })
            .collect::<C<Vec<f64>>>()?;
        Ok((row, called.out.stats.max_abs))
    }

    /// The position of an input among the components.
    fn index_of(&self, c: Comp) -> usize {
        self.comps.iter().position(|x| *x == c).unwrap_or(0)
    }

    /// Whether two derivatives of entry `(r, k)` agree, given the rounding noise.
    fn agree(&self, a: f64, b: f64, r: usize, k: usize) -> bool {
        close(a, b, self.scale) || (a - b).abs() <= self.noise[r][k]
    }

    /// Whether companions may reassociate sums (their value may differ in the last bits).
    fn strict_free(&self) -> bool {
        !self.case.main().options.strict
    }

    fn seed(&self, flat: &[f64]) -> C<Value> {
        match self.value.with_flat(flat) {
            Some(v) => Ok(v),
            None => fail("harness", "a seed of the wrong length"),
        }
    }

    fn check_value(&self, tag: &'static str, got: &Value, exact: bool) -> C<()> {
        let g = got.flat();
        let within_noise = !exact
            && g.len() == self.out.len()
            && g.iter()
                .zip(&self.out)
                .all(|(a, b)| (a - b).abs() <= 10.0 * self.value_noise);
        if !within_noise && !value_matches(&g, &self.out, exact, self.scale) {
            return fail(tag, format!("returns {g:?}, the function {:?}", self.out));
        }
        Ok(())
    }

    /// Column `k` by forward mode (the pushforward, or for a float result the forward-mode
    /// one the tests keep beside it), and how fast intermediates move along it.
    fn column(&self, k: usize, tally: &mut Tally) -> C<(Vec<f64>, f64)> {
        let suffix = if self.case.main().scalar {
            FORWARD_MODE
        } else {
            "pushforward"
        };
        let tangents = shaped(&self.args, &[(self.comps[k], 1.0)]);
        let called = self
            .case
            .call("run-pushforward", suffix, &self.args, &|role| match role {
                Role::Of(Binder::Tangent, i) => tangents.get(i).cloned(),
                _ => None,
            })?;
        merge(tally, &called.out);
        if called.returns.len() != 2 {
            return fail("pushforward-value", "the pushforward returns no tangent");
        }
        // Forward mode does not reassociate, but a callee's pushforward of a float result is
        // its reverse sweep (unless the callee has `forward`).
        self.check_value("pushforward-value", &called.returns[0], !self.strict_free())?;
        let t = called.returns[1].flat();
        if t.len() != self.out.len() {
            return fail(
                "pushforward-value",
                format!(
                    "a tangent of {} floats for {} outputs",
                    t.len(),
                    self.out.len()
                ),
            );
        }
        Ok((t, called.out.stats.max_tangent))
    }

    /// A float result's `pushforward` (the pullback's gradient along the tangents) along
    /// unit tangent `k` is gradient entry `k` (`gradient`, the pullback's) bit for bit, and
    /// the function's value.
    fn along_is_gradient(&self, k: usize, gradient: f64, tally: &mut Tally) -> C<()> {
        let tangents = shaped(&self.args, &[(self.comps[k], 1.0)]);
        let called =
            self.case
                .call("run-along", "pushforward", &self.args, &|role| match role {
                    Role::Of(Binder::Tangent, i) => tangents.get(i).cloned(),
                    _ => None,
                })?;
        merge(tally, &called.out);
        self.check_value("along-value", &called.returns[0], !self.strict_free())?;
        let got = called.returns.get(1).and_then(Value::as_f64);
        if !got.is_some_and(|g| same(g, gradient)) {
            return fail(
                "along",
                format!(
                    "input {:?}: pushforward {got:?}, gradient {gradient:e}",
                    self.comps[k]
                ),
            );
        }
        Ok(())
    }

    /// The pullback adds `seed^T J` into buffers that already hold values.
    fn accumulates(&self, rows: &[Vec<f64>], rng: &mut Rng, tally: &mut Tally) -> C<()> {
        let seed_flat: Vec<f64> = self.out.iter().map(|_| rng.float(-1.0, 1.0)).collect();
        let seed = self.seed(&seed_flat)?;
        let init: Vec<(Comp, f64)> = self
            .comps
            .iter()
            .map(|c| (*c, rng.float(-1.0, 1.0)))
            .collect();
        let initial = shaped(&self.args, &init);
        let called =
            self.case
                .call("run-pullback", "pullback", &self.args, &|role| match role {
                    Role::Seed => Some(seed.clone()),
                    Role::Buf(Binder::Adjoint, i) => initial.get(i).cloned(),
                    _ => None,
                })?;
        merge(tally, &called.out);
        for (k, (c, x0)) in init.iter().enumerate() {
            let terms: Vec<f64> = rows.iter().zip(&seed_flat).map(|(r, s)| s * r[k]).collect();
            let want = x0 + terms.iter().sum::<f64>();
            let size = x0.abs() + terms.iter().map(|t| t.abs()).sum::<f64>();
            let got = called.entry(Binder::Adjoint, *c).unwrap_or(f64::NAN);
            let scale = self.scale.max(called.out.stats.max_abs);
            let noise: f64 = (0..rows.len())
                .map(|r| seed_flat[r].abs() * self.noise[r][k])
                .sum();
            let tol = 1e-9 * size + 1e-12 * scale + noise;
            let ok = same(got, want) || (got - want).abs() <= tol;
            if !ok {
                return fail(
                    "pullback-accumulate",
                    format!("component {c:?}: the pullback leaves {got:e}, want {want:e} (initial {x0:e} + seed^T J)"),
                );
            }
        }
        Ok(())
    }

    /// The primal's flattened result at `args` if it takes the same smooth piece.
    fn same_piece(&self, args: Vec<Value>) -> C<Option<Vec<f64>>> {
        let main = &self.case.main().lowered.func;
        let o = self.case.run("primal-run", main, args)?;
        let v = o.value().flat();
        let ok = o.stats.trace == self.trace && v.len() == self.out.len();
        Ok((ok && v.iter().all(|x| x.is_finite())).then_some(v))
    }

    /// Central differences along `dir` with step `h`, on the same piece only.
    fn fd(&self, dir: &[(Comp, f64)], h: f64) -> C<Option<Vec<f64>>> {
        let Some(up) = self.same_piece(moved(&self.args, dir, h))? else {
            return Ok(None);
        };
        let Some(down) = self.same_piece(moved(&self.args, dir, -h))? else {
            return Ok(None);
        };
        Ok(Some(
            up.iter()
                .zip(&down)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect(),
        ))
    }

    /// Column `k` of the Jacobian against finite differences.
    fn fd_column(&self, k: usize, col: &[f64], speed: f64, tally: &mut Tally) -> C<()> {
        let dir = [(self.comps[k], 1.0)];
        match compare_fd(col, speed, self.scale, |h| self.fd(&dir, h))? {
            Fd::Agrees => tally.fd_compared += 1,
            Fd::Kink => tally.fd_kink += 1,
            Fd::Noisy => tally.fd_noisy += 1,
            Fd::Differs(msg) => {
                return fail(
                    "fd",
                    format!("input {:?}: the derivative {col:?} {msg}", self.comps[k]),
                )
            }
        }
        Ok(())
    }
}

/// How a derivative compares with finite differences.
enum Fd {
    Agrees,
    /// A perturbed run took another piece (or was not finite).
    Kink,
    /// The differences with `h` and `h/2` disagree: too curved to tell.
    Noisy,
    Differs(String),
}

/// Compares `want` (a directional derivative of each output) with central differences
/// `diff(h)`; `speed` is the largest intermediate's rate along the direction.
fn compare_fd(
    want: &[f64],
    speed: f64,
    scale: f64,
    diff: impl Fn(f64) -> C<Option<Vec<f64>>>,
) -> C<Fd> {
    let h = 1e-4f64.min(1e-3 / speed.max(1e-300));
    if h < 1e-9 {
        return Ok(Fd::Noisy);
    }
    let noise = 1e-13 * scale / h;
    let Some(fd1) = diff(h)? else {
        return Ok(Fd::Kink);
    };
    let good =
        |g: f64, d: f64| g.is_finite() && (g - d).abs() <= 1e-6 * (1.0 + g.abs()) + 10.0 * noise;
    if want.iter().zip(&fd1).all(|(g, d)| good(*g, *d)) {
        return Ok(Fd::Agrees);
    }
    let Some(fd2) = diff(h / 2.0)? else {
        return Ok(Fd::Kink);
    };
    let noisy = fd1
        .iter()
        .zip(&fd2)
        .any(|(a, b)| (a - b).abs() > 1e-3 * (1.0 + b.abs()) + 10.0 * noise);
    if noisy {
        return Ok(Fd::Noisy);
    }
    for (r, g) in want.iter().enumerate() {
        let rich = (4.0 * fd2[r] - fd1[r]) / 3.0;
        let tol = 1e-6 * (1.0 + g.abs()) + 4.0 * (fd1[r] - fd2[r]).abs() + 10.0 * noise;
        if !g.is_finite() || (g - rich).abs() > tol {
            return Ok(Fd::Differs(format!(
                "output {r}: {g:e}, finite differences {rich:e} (h {h:e}: {:e}, h/2: {:e}; tolerance {tol:e})",
                fd1[r], fd2[r]
            )));
        }
    }
    Ok(Fd::Agrees)
}

fn merge(tally: &mut Tally, o: &Outcome) {
    for (c, n) in &o.stats.constructs {
        *tally.constructs.entry(c).or_default() += n;
    }
}

/// The Jacobian's rows by the pullback; sets the point's tolerance scale and noise.
fn rows_and_noise(pc: &mut PointCheck, tally: &mut Tally) -> C<Vec<Vec<f64>>> {
    let mut rows = Vec::new();
    let mut big = 0.0f64;
    for r in 0..pc.out.len() {
        let (row, max_abs) = pc.row(r, 1.0, tally)?;
        let (again, _) = pc.row(r, 0.3, tally)?;
        let noise = row
            .iter()
            .zip(&again)
            .map(|(a, b)| {
                let d = 10.0 * (a - b).abs();
                if d.is_finite() {
                    d
                } else {
                    0.0
                }
            })
            .collect();
        let mut noise: Vec<f64> = noise;
        if let Some(nudged) = pc.nudged.clone() {
            // Reassociated sums round the forward sweep's values differently; how much
            // that moves this row is a tenth of what a 1e-13 nudge of the point does (a
            // hundred times a sum's rounding).
            let (moved, _) = pc.row_at(&nudged, r, 1.0, tally)?;
            for (n, (a, b)) in noise.iter_mut().zip(row.iter().zip(&moved)) {
                let d = 0.1 * (a - b).abs();
                if d.is_finite() {
                    *n += d;
                }
            }
        }
        pc.noise.push(noise);
        big = big.max(max_abs);
        rows.push(row);
    }
    big = rows.iter().flatten().fold(big, |m, x| m.max(x.abs()));
    pc.scale += if big.is_finite() { big } else { 0.0 };
    Ok(rows)
}

/// Every check at one point.
fn check_point(case: &Case, args: Vec<Value>, rng: &mut Rng, tally: &mut Tally) -> C<()> {
    let main = &case.main().lowered.func;
    tally.points += 1;
    let o = match case.run("primal-run", main, args.clone()) {
        // The program itself panics here (`clamp` with a NaN bound): nothing to compare.
        Err(f) if f.msg.contains("(Rust panics)") => {
            tally.skipped_points += 1;
            return Ok(());
        }
        o => o?,
    };
    for (p, n) in &o.stats.prims {
        *tally.prims.entry(*p).or_default() += n;
    }
    let value = o.value();
    let out = value.flat();
    let huge = |x: &f64| !x.is_finite() || x.abs() > HUGE;
    if out.iter().any(huge) || o.stats.max_abs > HUGE || out.is_empty() {
        tally.skipped_points += 1;
        return Ok(());
    }
    // Companions that reassociate sums (the dot kernel, `parallel` chunks) compute the same
    // values rounded differently: where a discontinuity (`floor`, a comparison) lies within
    // rounding of the point they may take its other side, and neither value nor derivatives
    // are comparable. Such a point is one where nudging every float by 1e-13 (relative)
    // changes the primal's decisions.
    let mut value_noise = 0.0f64;
    let mut first_nudged = None;
    if !case.main().options.strict {
        for factor in [1.0 + 1e-13, 1.0 - 1e-13] {
            let nudged: Vec<Value> = args
                .iter()
                .map(|a| {
                    let flat: Vec<f64> = a.flat().iter().map(|x| x * factor).collect();
                    a.with_flat(&flat).unwrap_or_else(|| a.clone())
                })
                .collect();
            first_nudged.get_or_insert_with(|| nudged.clone());
            let nudged = case.run("primal-run", main, nudged);
            match nudged {
                Ok(n) if n.stats.trace == o.stats.trace => {
                    for (a, b) in n.value().flat().iter().zip(&out) {
                        value_noise = value_noise.max((a - b).abs());
                    }
                }
                _ => {
                    tally.skipped_points += 1;
                    return Ok(());
                }
            }
        }
    }
    let mut pc = PointCheck {
        case,
        comps: comps(&args),
        args,
        value,
        out,
        trace: o.stats.trace,
        scale: 1.0 + o.stats.max_abs,
        noise: Vec::new(),
        value_noise,
        nudged: first_nudged,
    };
    let rows = rows_and_noise(&mut pc, tally)?;
    pc.accumulates(&rows, rng, tally)?;
    for k in 0..pc.comps.len() {
        let (col, speed) = pc.column(k, tally)?;
        // Forward mode's own rounding: tangents of intermediates as large as `speed` that
        // cancel leave an error of a few ulps of `speed` (reverse mode cancels the adjoints
        // before they meet the large partials, so its noise estimate does not show it).
        let forward_noise = 64.0 * f64::EPSILON * speed;
        for (r, row) in rows.iter().enumerate() {
            tally.entries += 1;
            let close_enough = (row[k] - col[r]).abs() <= forward_noise;
            if !pc.agree(row[k], col[r], r, k) && !close_enough {
                return fail(
                    "reverse-forward",
                    format!(
                        "output {r}, input {:?}: reverse {:e}, forward {:e}",
                        pc.comps[k], row[k], col[r]
                    ),
                );
            }
        }
        pc.fd_column(k, &col, speed, tally)?;
        // With `forward` the pushforward is forward mode (the column above).
        if case.main().scalar && !case.main().options.forward {
            pc.along_is_gradient(k, rows[0][k], tally)?;
        }
    }
    if !case.main().scalar {
        check_jacobian_rows(&pc, &rows, tally)?;
    }
    if case.main().scalar {
        check_gradient(&pc, &rows[0], tally)?;
        if case.main().options.hessian {
            check_hvp(&pc, rng, tally)?;
        }
    }
    Ok(())
}

/// The differentiated inputs.
fn wrt_comps(pc: &PointCheck) -> Vec<Comp> {
    let main = pc.case.main();
    let vars = pc.case.user_vars();
    pc.comps
        .iter()
        .filter(|c| main.wrt.contains(&vars[c.param]))
        .copied()
        .collect()
}

/// `jacobian_rows` (one forward sweep, a reverse sweep per row), where the function has it,
/// against the pullback's rows over the differentiated inputs.
fn check_jacobian_rows(pc: &PointCheck, rows: &[Vec<f64>], tally: &mut Tally) -> C<()> {
    if pc.case.main().companion("jacobian_rows").is_none() {
        return Ok(());
    }
    let wrt = wrt_comps(pc);
    let zero_row = Value::Seq(vec![Value::Float(0.0); wrt.len()]);
    let matrix = Value::Seq(vec![zero_row; rows.len()]);
    let called = pc.case.call(
        "run-jacobian_rows",
        "jacobian_rows",
        &pc.args,
        &|role| match role {
            Role::Own(Binder::Matrix) => Some(matrix.clone()),
            Role::Own(Binder::Rows) => Some(Value::Int(rows.len() as i64)),
            _ => None,
        },
    )?;
    merge(tally, &called.out);
    pc.check_value("jacobian_rows-value", &called.returns[0], !pc.strict_free())?;
    let got = match called.buffers.first() {
        Some((_, Value::Seq(got))) => got,
        _ => return fail("harness", "jacobian_rows without its matrix"),
    };
    for (r, row) in rows.iter().enumerate() {
        let got_row = got.get(r).map(Value::flat).unwrap_or_default();
        for (j, c) in wrt.iter().enumerate() {
            let k = pc.index_of(*c);
            let g = got_row.get(j).copied().unwrap_or(f64::NAN);
            if !pc.agree(g, row[k], r, k) {
                return fail(
                    "jacobian_rows",
                    format!(
                        "output {r}, input {c:?}: jacobian_rows {g:e}, pullback {:e}",
                        row[k]
                    ),
                );
            }
        }
    }
    Ok(())
}

/// `grad_into` and `grad` against the pullback's row.
fn check_gradient(pc: &PointCheck, row: &[f64], tally: &mut Tally) -> C<()> {
    let zeros = pc.zeros();
    let gi = pc
        .case
        .call("run-grad_into", "grad_into", &pc.args, &|role| match role {
            Role::Buf(Binder::Gradient, i) => zeros.get(i).cloned(),
            _ => None,
        })?;
    merge(tally, &gi.out);
    pc.check_value("grad_into-value", &gi.returns[0], !pc.strict_free())?;
    let wrt = wrt_comps(pc);
    for c in &wrt {
        let k = pc.index_of(*c);
        let g = gi.entry(Binder::Gradient, *c).unwrap_or(f64::NAN);
        if !pc.agree(g, row[k], 0, k) {
            return fail(
                "grad_into",
                format!("input {c:?}: grad_into {g:e}, pullback {:e}", row[k]),
            );
        }
    }
    let grad = pc.case.func("grad")?;
    let o = pc.case.run("run-grad", grad, pc.args.clone())?;
    let from_into: Vec<f64> = gi.buffers.iter().flat_map(|(_, v)| v.flat()).collect();
    let got = o.returns.get(1).map(Value::flat).unwrap_or_default();
    if !value_matches(&got, &from_into, true, 0.0) {
        return fail(
            "grad",
            format!("the grad wrapper returns {got:?}, grad_into writes {from_into:?}"),
        );
    }
    Ok(())
}

/// What the second-order checks compare with: a direction over the differentiated inputs,
/// the gradient and Hessian-vector product there, the product's rounding noise, and the
/// tolerance scale.
struct Second {
    dir: Vec<(Comp, f64)>,
    g: Vec<f64>,
    hv: Vec<f64>,
    hv_noise: Vec<f64>,
    scale: f64,
}

impl Second {
    fn hv_agrees(&self, x: f64, k: usize) -> bool {
        close(x, self.hv[k], self.scale) || (x - self.hv[k]).abs() <= self.hv_noise[k]
    }
}

/// `f_pullback_pushforward` (what the Hessians of callers call): forward mode over the
/// pullback with a unit seed, along the direction, must give the value, its directional
/// derivative `g . dir`, the gradient `g` in the adjoint buffers and the Hessian-vector
/// product in their tangents.
fn check_pullback_pushforward(pc: &PointCheck, sec: &Second, tally: &mut Tally) -> C<()> {
    let dirs = shaped(&pc.args, &sec.dir);
    let zeros = pc.zeros();
    let tag = "run-pullback_pushforward";
    let called = pc
        .case
        .call(tag, "pullback_pushforward", &pc.args, &|role| match role {
            Role::Seed => Some(Value::Float(1.0)),
            Role::SeedTangent => Some(Value::Float(0.0)),
            Role::Buf(Binder::Adjoint | Binder::Tangent, i) => zeros.get(i).cloned(),
            Role::Of(Binder::Tangent, i) => dirs.get(i).cloned(),
            _ => None,
        })?;
    merge(tally, &called.out);
    pc.check_value(
        "pullback_pushforward-value",
        &called.returns[0],
        !pc.strict_free(),
    )?;
    let mut noise = 0.0;
    for (k, (c, d)) in sec.dir.iter().enumerate() {
        let at = pc.index_of(*c);
        noise += d.abs() * pc.noise[0][at];
        let adj = called.entry(Binder::Adjoint, *c).unwrap_or(f64::NAN);
        let tan = called.entry(Binder::Tangent, *c).unwrap_or(f64::NAN);
        if !pc.agree(adj, sec.g[k], 0, at) || !sec.hv_agrees(tan, k) {
            return fail(
                "pullback_pushforward",
                format!(
                    "input {c:?}: adjoint {adj:e} and its tangent {tan:e}; gradient {:e}, Hessian-vector product {:e}",
                    sec.g[k], sec.hv[k]
                ),
            );
        }
    }
    let terms: Vec<f64> = sec
        .dir
        .iter()
        .zip(&sec.g)
        .map(|((_, d), g)| d * g)
        .collect();
    let want: f64 = terms.iter().sum();
    let size: f64 = terms.iter().map(|t| t.abs()).sum();
    let got = called
        .returns
        .get(1)
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN);
    let tol = 1e-9 * size + 1e-12 * pc.scale + noise;
    if !(same(got, want) || (got - want).abs() <= tol) {
        return fail(
            "pullback_pushforward",
            format!("the value's tangent is {got:e}, the gradient along the direction {want:e}"),
        );
    }
    Ok(())
}

/// `hvp_into` and `hvp` against `grad_into` and its finite differences.
fn check_hvp(pc: &PointCheck, rng: &mut Rng, tally: &mut Tally) -> C<()> {
    let wrt = wrt_comps(pc);
    let dir: Vec<(Comp, f64)> = wrt.iter().map(|c| (*c, rng.float(-1.0, 1.0))).collect();
    let dirs = shaped(&pc.args, &dir);
    let zeros = pc.zeros();
    let fill = |role: Role| match role {
        Role::Buf(Binder::Gradient | Binder::HessianVector, i) => zeros.get(i).cloned(),
        Role::Of(Binder::Direction, i) => dirs.get(i).cloned(),
        _ => None,
    };
    let hv = pc.case.call("run-hvp_into", "hvp_into", &pc.args, &fill)?;
    merge(tally, &hv.out);
    pc.check_value("hvp_into-value", &hv.returns[0], !pc.strict_free())?;
    // The same with the direction times 0.3, for the rounding noise.
    let dirs_03 = shaped(
        &pc.args,
        &dir.iter().map(|(c, d)| (*c, 0.3 * d)).collect::<Vec<_>>(),
    );
    let hv_03 = pc
        .case
        .call("run-hvp_into", "hvp_into", &pc.args, &|role| match role {
            Role::Of(Binder::Direction, i) => dirs_03.get(i).cloned(),
            r => fill(r),
        })?;
    let grad_at = |args: Vec<Value>| -> C<(Vec<f64>, f64)> {
        let g = pc
            .case
            .call("run-grad_into", "grad_into", &args, &|role| match role {
                Role::Buf(Binder::Gradient, i) => zeros.get(i).cloned(),
                _ => None,
            })?;
        let flat = wrt
            .iter()
            .map(|c| g.entry(Binder::Gradient, *c).unwrap_or(f64::NAN))
            .collect();
        Ok((flat, g.out.stats.max_abs))
    };
    let (g0, gmax) = grad_at(pc.args.clone())?;
    let hv_flat: Vec<f64> = wrt
        .iter()
        .map(|c| hv.entry(Binder::HessianVector, *c).unwrap_or(f64::NAN))
        .collect();
    let hv_noise: Vec<f64> = wrt
        .iter()
        .zip(&hv_flat)
        .map(|(c, x)| {
            let y = hv_03.entry(Binder::HessianVector, *c).unwrap_or(f64::NAN) / 0.3;
            let d = 10.0 * (x - y).abs();
            if d.is_finite() {
                d
            } else {
                0.0
            }
        })
        .collect();
    for (k, c) in wrt.iter().enumerate() {
        let g = hv.entry(Binder::Gradient, *c).unwrap_or(f64::NAN);
        if !pc.agree(g, g0[k], 0, pc.index_of(*c)) {
            return fail(
                "hvp_into-gradient",
                format!(
                    "input {c:?}: hvp_into's gradient {g:e}, grad_into {:e}",
                    g0[k]
                ),
            );
        }
    }
    // The wrapper returns what `hvp_into` writes.
    let wrap = pc.case.call("run-hvp", "hvp", &pc.args, &fill)?;
    let got = wrap.returns.get(2).map(Value::flat).unwrap_or_default();
    let want: Vec<f64> = hv
        .buffers
        .iter()
        .filter(|(r, _)| matches!(r, Role::Buf(Binder::HessianVector, _)))
        .flat_map(|(_, v)| v.flat())
        .collect();
    if !value_matches(&got, &want, true, 0.0) {
        return fail(
            "hvp",
            format!("the hvp wrapper returns {got:?}, hvp_into writes {want:?}"),
        );
    }
    let sec = Second {
        dir: dir.clone(),
        g: g0,
        hv: hv_flat.clone(),
        hv_noise,
        scale: pc.scale.max(1.0 + hv.out.stats.max_abs),
    };
    check_pullback_pushforward(pc, &sec, tally)?;
    // Finite differences of the gradient along the direction, on the same piece.
    let speed = hv.out.stats.max_tangent;
    let scale = pc.scale + gmax;
    let diff = |h: f64| -> C<Option<Vec<f64>>> {
        let (up, down) = (moved(&pc.args, &dir, h), moved(&pc.args, &dir, -h));
        if pc.same_piece(up.clone())?.is_none() || pc.same_piece(down.clone())?.is_none() {
            return Ok(None);
        }
        let (gu, _) = grad_at(up)?;
        let (gd, _) = grad_at(down)?;
        Ok(Some(
            gu.iter()
                .zip(&gd)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect(),
        ))
    };
    match compare_fd(&hv_flat, speed, scale, diff)? {
        Fd::Agrees => tally.hvp_compared += 1,
        Fd::Kink | Fd::Noisy => tally.hvp_skipped += 1,
        Fd::Differs(msg) => {
            return fail(
                "hvp-fd",
                format!("direction {dir:?}: the Hessian-vector product {hv_flat:?} {msg}"),
            )
        }
    }
    Ok(())
}

// ===== programs ============================================================================

/// Every check of a program at its points (or at `only`).
fn check_program(p: &Program, seed: u64, only: Option<&[Value]>, tally: &mut Tally) -> C<()> {
    let start = Instant::now();
    let case = compile(p)?;
    tally.compile_time += start.elapsed();
    tally.programs += 1;
    let points: Vec<Vec<Value>> = match only {
        Some(args) => vec![args.to_vec()],
        None => (0..POINTS).map(|k| point(seed, k)).collect(),
    };
    let mut rng = Rng::new(seed ^ 0x5eed);
    for args in points {
        check_point(&case, args.clone(), &mut rng, tally).map_err(|f| Failure {
            tag: f.tag,
            msg: format!("{}\n  at the point {}", f.msg, show_args(&args)),
        })?;
    }
    Ok(())
}

fn show_args(args: &[Value]) -> String {
    let names: Vec<&str> = gen::MAIN_PARAMS.iter().map(|(n, _)| *n).collect();
    args.iter()
        .zip(names)
        .map(|(v, n)| match v {
            Value::Float(x) => format!("{n} = {x:?}"),
            Value::Int(i) => format!("{n} = {i}"),
            Value::Seq(xs) => format!(
                "{n} = [{}]",
                xs.iter()
                    .map(|x| match x {
                        Value::Float(f) => format!("{f:?}"),
                        Value::Int(i) => i.to_string(),
                        v => format!("{v:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            v => format!("{n} = {v:?}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The point a failure message names, to re-check smaller programs there.
fn failing_point(p: &Program, seed: u64, tag: &'static str) -> Option<Vec<Value>> {
    (0..POINTS).map(|k| point(seed, k)).find(|args| {
        matches!(check_program(p, seed, Some(args), &mut Tally::default()), Err(f) if f.tag == tag)
    })
}

/// Drops statements while the same check still fails (within a time budget).
fn minimise(p: &Program, seed: u64, f: &Failure) -> (Program, Failure) {
    let start = Instant::now();
    let Some(args) = failing_point(p, seed, f.tag) else {
        return (p.clone(), f.clone());
    };
    let mut best = (p.clone(), f.clone());
    'outer: while start.elapsed() < Duration::from_secs(20) {
        for q in best.0.smaller() {
            if let Err(g) = check_program(&q, seed, Some(&args), &mut Tally::default()) {
                if g.tag == f.tag {
                    best = (q, g);
                    continue 'outer;
                }
            }
        }
        break;
    }
    best
}

fn seed_base() -> u64 {
    std::env::var("GRAD_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn cases() -> u64 {
    std::env::var("GRAD_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The programs to check: `GRAD_PROPTEST_ONLY=seed` for one (with its source printed).
fn only() -> Option<u64> {
    std::env::var("GRAD_PROPTEST_ONLY")
        .ok()
        .and_then(|s| s.parse().ok())
}

/// Checks programs `part, part + parts, ...` of the run; panics with a minimised report on
/// the first failure.
fn run_part(part: u64, parts: u64) -> Tally {
    let base = seed_base();
    let mut tally = Tally::default();
    let mut k = part;
    while k < cases() {
        let seed = match only() {
            Some(s) if part == 0 && k == 0 => {
                println!("{}", gen::program(s).source());
                s
            }
            Some(_) => break,
            None => base.wrapping_mul(1_000_003).wrapping_add(k),
        };
        let p = gen::program(seed);
        let start = Instant::now();
        let result = check_program(&p, seed, None, &mut tally);
        let took = start.elapsed();
        if took > tally.slowest.1 {
            tally.slowest = (seed, took);
        }
        if let Err(f) = result {
            let (small, g) = minimise(&p, seed, &f);
            panic!(
                "[{}] program {seed} fails: {}\n--- minimised source ---\n{}\n--- original failure ---\n{}\n--- original source ---\n{}",
                g.tag,
                g.msg,
                small.source(),
                f.msg,
                p.source()
            );
        }
        k += parts;
    }
    tally
}

fn report(name: &str, t: &Tally, elapsed: Duration) {
    println!(
        "{name}: {} programs, {} points ({} skipped: not finite, above 1e15, or a panic of the program) in {elapsed:.1?}",
        t.programs, t.points, t.skipped_points
    );
    println!(
        "  Jacobian entries reverse = forward: {}; finite differences: {} compared, {} skipped at kinks, {} too curved",
        t.entries, t.fd_compared, t.fd_kink, t.fd_noisy
    );
    println!(
        "  Hessian-vector products against differences of the gradient: {} compared, {} skipped",
        t.hvp_compared, t.hvp_skipped
    );
    println!(
        "  slowest program: {} ({:.1?}); compiling took {:.1?} in all",
        t.slowest.0, t.slowest.1, t.compile_time
    );
    let prims: Vec<String> = t.prims.iter().map(|(p, n)| format!("{p:?} {n}")).collect();
    println!("  primitives evaluated: {}", prims.join(", "));
    let unused: Vec<&str> = Prim::all()
        .filter(|p| !t.prims.contains_key(p))
        .map(|p| p.rule().name)
        .collect();
    println!("  primitives never evaluated: {unused:?}");
    let cons: Vec<String> = t
        .constructs
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    println!("  companion constructs run: {}", cons.join(", "));
}

#[test]
fn random_programs_even() {
    let start = Instant::now();
    let t = run_part(0, 2);
    report("random programs (even)", &t, start.elapsed());
}

#[test]
fn random_programs_odd() {
    let start = Instant::now();
    let t = run_part(1, 2);
    report("random programs (odd)", &t, start.elapsed());
}

// ===== conventions at kinks ================================================================

/// A one-primitive program: `fn f(x0: f64, x1: f64) -> f64 { x0.max(x1) }`.
fn one_primitive(p: Prim) -> Option<String> {
    let r = p.rule();
    let params: Vec<String> = (0..r.arity)
        .map(|i| {
            let ty = if r.int_operands.contains(&i) {
                "i32"
            } else {
                "f64"
            };
            format!("x{i}: {ty}")
        })
        .collect();
    let rest: Vec<String> = (1..r.arity).map(|i| format!("x{i}")).collect();
    let body = match r.syntax {
        Syntax::Binary(op) => format!("x0 {op} x1"),
        Syntax::Negate => "-x0".into(),
        Syntax::Method => format!("x0.{}({})", r.name, rest.join(", ")),
        Syntax::TupleOf(_) | Syntax::Runtime => return None,
    };
    Some(format!(
        "#[derive_gradient]\nfn f({}) -> f64 {{ {body} }}",
        params.join(", ")
    ))
}

/// Each rule's documented derivative at its kinks, through the evaluated pullback (and the
/// pushforward, which must agree).
#[test]
fn kink_conventions() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for p in Prim::all() {
        let r = p.rule();
        for (at, want) in r.conventions {
            let Some(src) = one_primitive(p) else {
                continue;
            };
            let case = compile_library(&src)
                .map(|(compiled, reg)| Case { compiled, reg })
                .unwrap_or_else(|e| panic!("{src}: {e}"));
            let args: Vec<Value> = at
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    if r.int_operands.contains(&i) {
                        Value::Int(*x as i64)
                    } else {
                        Value::Float(*x)
                    }
                })
                .collect();
            let cs = comps(&args);
            let zeros: Vec<Value> = args.iter().map(Value::zero_like).collect();
            let pb = case
                .call("run-pullback", "pullback", &args, &|role| match role {
                    Role::Seed => Some(Value::Float(1.0)),
                    Role::Buf(Binder::Adjoint, i) => zeros.get(i).cloned(),
                    _ => None,
                })
                .unwrap_or_else(|f| panic!("{src}: {}", f.msg));
            for (k, c) in cs.iter().enumerate() {
                checked += 1;
                let got = pb.entry(Binder::Adjoint, *c).unwrap_or(f64::NAN);
                if !same(got, want[c.param]) {
                    bad.push(format!(
                        "{} at {at:?}: reverse d/dx{} = {got}, documented {}",
                        r.name, c.param, want[c.param]
                    ));
                }
                let tangents = shaped(&args, &[(cs[k], 1.0)]);
                // The emitted pushforward (the gradient along the tangent) and forward mode.
                for suffix in ["pushforward", FORWARD_MODE] {
                    let pf = case
                        .call("run-pushforward", suffix, &args, &|role| match role {
                            Role::Of(Binder::Tangent, i) => tangents.get(i).cloned(),
                            _ => None,
                        })
                        .unwrap_or_else(|f| panic!("{src}: {}", f.msg));
                    let t = pf.returns[1].as_f64().unwrap_or(f64::NAN);
                    if !same(t, want[c.param]) {
                        bad.push(format!(
                            "{} at {at:?}: {suffix} d/dx{} = {t}, documented {}",
                            r.name, c.param, want[c.param]
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 10, "the conventions are checked");
    assert!(bad.is_empty(), "conventions not kept:\n{}", bad.join("\n"));
}

// ===== fixed sources =======================================================================

/// Arguments for any function of floats, integers, arrays, slices and nalgebra matrices
/// (slices and dynamic dimensions of length `len`, integers `len` too), from `rng`.
fn args_for(f: &Function, len: usize, rng: &mut Rng) -> Vec<Value> {
    use crate::shape::{Len, MatDim, SeqKind, Ty};
    let dim = |d: &MatDim| match d {
        MatDim::Fixed(Len::Lit(n)) => *n,
        _ => len,
    };
    let matrix = |p: &Param, rng: &mut Rng| {
        let (t, _) = crate::shape::strip_ref(&p.written);
        let (_, m) = crate::shape::nalgebra_shape(t).expect("a nalgebra type");
        let (rows, cols) = (dim(&m.rows), dim(&m.cols));
        let data: Vec<f64> = (0..rows * cols).map(|_| rng.float(-2.0, 2.0)).collect();
        Value::matrix(rows, &data)
    };
    let of = |ty: &Ty, rng: &mut Rng| -> Value {
        fn go(ty: &Ty, len: usize, rng: &mut Rng) -> Value {
            match ty {
                Ty::Float => Value::Float(rng.float(-2.0, 2.0)),
                Ty::Int => Value::Int(len as i64),
                Ty::Bool => Value::Bool(true),
                Ty::Seq(SeqKind::Array(Len::Lit(n)), e) => {
                    Value::Seq((0..*n).map(|_| go(e, len, rng)).collect())
                }
                Ty::Seq(_, e) => Value::Seq((0..len).map(|_| go(e, len, rng)).collect()),
                Ty::Tuple(ts) => Value::Tuple(ts.iter().map(|t| go(t, len, rng)).collect()),
                _ => Value::Unit,
            }
        }
        go(ty, len, rng)
    };
    f.params
        .iter()
        .map(|p| match f.ty(p.var) {
            Ty::Matrix => matrix(p, rng),
            t => of(t, rng),
        })
        .collect()
}

/// Every check of [`check_point`] on the last function of `src`, at random points with
/// slices of lengths 3, 1, 2 and 4.
fn check_source(src: &str) -> C<Tally> {
    let (compiled, reg) = compile_library(src).or_else(|e| fail("lower", e))?;
    let case = Case { compiled, reg };
    let mut tally = Tally::default();
    let mut rng = Rng::new(1);
    for len in [3, 1, 2, 4] {
        let args = args_for(&case.main().lowered.func, len, &mut rng);
        check_point(&case, args.clone(), &mut rng, &mut tally).map_err(|f| Failure {
            tag: f.tag,
            msg: format!("{}\n  at {args:?}", f.msg),
        })?;
    }
    Ok(tally)
}

/// `GRAD_CHECK=file`: runs every check on the file's last function (debugging aid).
#[test]
fn check_file() {
    let Ok(path) = std::env::var("GRAD_CHECK") else {
        return;
    };
    let src = std::fs::read_to_string(path).expect("a file");
    if let Err(f) = check_source(&src) {
        panic!("[{}] {}", f.tag, f.msg);
    }
}

/// `GRAD_SHOW=file`: prints the companions of the functions in the file (debugging aid).
#[test]
fn show_companions() {
    let Ok(path) = std::env::var("GRAD_SHOW") else {
        return;
    };
    let src = std::fs::read_to_string(path).expect("a file");
    let (compiled, _) = compile_library(&src).expect("compiles");
    for c in &compiled {
        println!(
            "== {}\n{}",
            c.name,
            super::pretty::function(&c.lowered.func)
        );
        for (s, f) in &c.companions {
            println!("== {}_{s}\n{}", c.name, super::pretty::function(f));
        }
    }
}

// ===== compiler bugs found (regression tests) =================================================================

/// Runs every check on `src`; panics with the failure.
fn assert_checks(src: &str) {
    if let Err(f) = check_source(src) {
        panic!("[{}] {}\n{src}", f.tag, f.msg);
    }
}

/// copy-then-literal: in `f_jacobian_rows` the adjoint of `x2` is a copy `adj_x2 = adj_t`
/// inside the rows' loop, `adj_t` a zero assigned before it. Copy propagation renamed
/// `adj_x2` to `adj_t` in the row's parts (a place) and then, with the roots counted before
/// the renaming, replaced `adj_t` by its literal and dropped its assignment: the row read a
/// variable never assigned. (Random program 11000371, with `f_jacobian_rows` over `Vec`
/// results.)
#[test]
fn a_copy_renamed_into_a_place_keeps_its_source_assigned() {
    assert_checks(
        "#[derive_gradient]
fn part_x_fn(column: f64) -> (f64, f64) {
    let mut w202: [f64; 3] = [0.0; 3];
    ((-w202.iter().step_by(2).map(|&e203| e203).sum::<f64>()), (column - column))
}

#[derive_gradient(wrt(x1, x2, cols))]
fn f(tangent: f64, x1: f64, x2: f64, a: &[f64], cols: [f64; 3], n: usize, idx: &[usize]) -> Vec<f64> {
    let t3: f64 = std::f64::consts::E;
    let (q1, q2) = part_x_fn(a.iter().copied().map(|t1| (t1.abs() + 1.5).acosh()).sum::<f64>());
    vec![q2 + q1 + t3 + (x2 % (-(cols[0].abs() + 0.5))).ceil()]
}",
    );
}

/// dead-store: `cleanup::remove_dead_assignments` removes `w = vec![0; len]` (nothing reads
/// `w`) but keeps the loop storing into `w[k]`: the IR (and the printed Rust, `let mut w;
/// w[k] = ..`) writes into a variable never assigned. In the lowered function and in the
/// companions (a dead tangent).
#[test]
fn bug_dead_store() {
    assert_checks("#[derive_gradient]\nfn f(x: f64, a: &[f64]) -> f64 { let w = a.to_vec(); x }");
    assert_checks(
        "#[derive_gradient]\nfn f(x: f64, a: &[f64]) -> f64 { let w = a.to_vec(); w[0].floor() + x }",
    );
}

/// fused-overwrite: a fused sum-reduction loop's per-iteration reverse reads `h` after the
/// iteration overwrote it (`%15 = mul(adj, h)` with `h` already `x * x`): d/dx is
/// `2 (x^2 + x)` instead of `4x`. The same with an iterator consumer (`product`, a `fold`)
/// inside the fused loop: its accumulator is overwritten at each step.
#[test]
fn bug_fused_overwrite() {
    assert_checks(
        "#[derive_gradient]\nfn f(x: f64) -> f64 { let mut s = 0.0; for i in 0..2 { let mut h: f64 = x; h = h * x; s += h; } s }",
    );
    assert_checks(
        "#[derive_gradient]\nfn f(x: f64, a: &[f64]) -> f64 { let mut s = 0.0; for i in 0..2 { let p = a.iter().map(|&e| e * x).product::<f64>(); s += p; } s }",
    );
}

/// self-assign: the reverse of `s = s` is `adj_s += adj_s; adj_s = 0`, which zeroes the
/// adjoint: d/dx is 0 instead of 1.
#[test]
fn bug_self_assign() {
    assert_checks(
        "#[derive_gradient]\nfn f(x: f64) -> f64 { let mut s = x; for i in 0..2 { s = s; } s * 1.0 }",
    );
}

/// fused-while-branch: inside a fused `for` loop, the reverse of a `while`/`loop` replays its
/// trips with the branch flag's last value (no stack): every trip takes the exit branch and
/// d/dx is 0 instead of `2n`.
#[test]
fn bug_fused_while_branch() {
    assert_checks(
        "#[derive_gradient]\nfn f(x: f64, n: usize) -> f64 { let mut s = 0.0; for i in 0..2 { let mut k = 0; loop { if k >= n { break; } k += 1; s += x; } } s }",
    );
    assert_checks(
        "#[derive_gradient]\nfn f(x: f64, n: usize) -> f64 { let mut s = 0.0; for i in 0..2 { let mut k = 0; while k < n { k += 1; if (k as f64) < 1.5 { s += x; } } } s }",
    );
}

/// rerun-inner-overwrite: a sum-reduction loop with two active accumulators is re-run in the
/// reverse sweep, its locals renamed; the reads of its reverse were noted only after the
/// renaming, so a value an inner `while` overwrites each trip (`t = m + b[k]`, read by
/// `sin`'s partial) was not saved and every trip's reverse read the last trip's: d/dtrip and
/// d/db were wrong, with no error.
#[test]
fn bug_rerun_inner_overwrite() {
    assert_checks(
        "#[derive_gradient]\nfn f(x: f64, w: f64, b: [f64; 3], n: usize) -> f64 { let mut s1: f64 = 0.0; let mut s6 = x; for i in 0..n { let mut k = 0usize; while k < n { k += 1; let m = -w; s1 -= (m + b[(i + k) % 3]).sin(); } s6 -= -w; } s6 + s1 }",
    );
}

/// accumulated-indicator: `fold_constants` rewrote `adj * t2` with `adj = if c { 1 } else
/// { 0 }` as `if c { t2 } else { 0 }` although `adj += ..` (a fused loop's partial) came in
/// between: `grad_into` with `wrt` dropped the loop's share of d/db (found by the random
/// programs; the pullback was right).
#[test]
fn bug_accumulated_indicator() {
    assert_checks(
        "#[derive_gradient(wrt(s, b))]\nfn f(x0: f64, x2: f64, s: &[f64], b: [f64; 3]) -> f64 { let t = b[1] * (x2 + 1.25); let v = (s.iter().map(|&e| t + 0.0 * e).sum::<f64>().abs() + 0.5).cbrt(); t.min(x0) + v }",
    );
}

/// nested-zero-tangent: the tangent of a nested array literal with an inactive row was
/// `[tan_row, 0.0]` (a float for a row): the pushforward did not compile.
#[test]
fn bug_nested_zero_tangent() {
    assert_checks(
        "#[derive_gradient]\nfn g(q: [[f64; 3]; 2]) -> f64 { q[0][0] * q[1][2] }\n#[derive_gradient]\nfn f(x: f64) -> f64 { g([[x, 1.0, 2.0], [3.0, 4.0, 5.0]]) }",
    );
}

// ===== nalgebra ================================================================================

/// nalgebra parameters (`SVector`, `SMatrix`, `&DVector`, by value and by reference), read
/// through `v[i]`, `m[(i, j)]`, the linear `m[k]`, `.len()`, `.nrows()`, `.ncols()` and
/// `.iter()` chains, and written as elements of a local copy: every check of the random
/// programs (reverse against forward against finite differences, accumulation, `grad_into`,
/// and the Hessian-vector product with `hessian`). Dynamic dimensions take the lengths 3, 1,
/// 2 and 4.
#[test]
fn nalgebra_parameters() {
    let sources = [
        // A weighted sum of squares over a fixed vector.
        "#[derive_gradient]\nfn f(x: SVector<f64, 3>) -> f64 { let mut s = 0.0; for i in 0..x.len() { s += x[i] * x[i] * (i as f64 + 1.0); } s }",
        // `|W x|^2` with `W` a fixed matrix: tuple indices and the dimensions.
        "#[derive_gradient]\nfn f(w: SMatrix<f64, 2, 3>, x: &SVector<f64, 3>) -> f64 { let mut s = 0.0; for i in 0..w.nrows() { let mut y = 0.0; for j in 0..w.ncols() { y += w[(i, j)] * x[j]; } s += y * y; } s }",
        // An iterator chain over a dynamic vector and a slice.
        "#[derive_gradient]\nfn f(w: &DVector<f64>, x: &[f64]) -> f64 { w.iter().zip(x).map(|(a, b)| a * a * b.sin()).sum::<f64>() }",
        // The quadratic form `x^T A x`, with the Hessian.
        "#[derive_gradient(hessian)]\nfn f(a: SMatrix<f64, 3, 3>, x: SVector<f64, 3>) -> f64 { let mut s = 0.0; for i in 0..3 { for j in 0..3 { s += x[i] * a[(i, j)] * x[j]; } } s }",
        // The linear (column-major) index of a matrix next to its pairs.
        "#[derive_gradient(hessian)]\nfn f(m: &DMatrix<f64>) -> f64 { let mut s = 0.0; for k in 0..m.len() { s += m[k].exp() * m[(k % m.nrows(), k / m.nrows())]; } s }",
        // A local copy updated element by element, then read.
        "#[derive_gradient]\nfn f(x: SVector<f64, 4>, t: f64) -> f64 { let mut y = x.clone(); for i in 0..y.len() { y[i] = (y[i] * t).sin(); } y[0] * y[1] + y[2] * y[3] }",
        // A row vector (`f32` ones are tested through the macro: finite differences in `f32`
        // are too coarse for these checks).
        "#[derive_gradient]\nfn f(x: RowSVector<f64, 3>) -> f64 { x.iter().map(|e| e * e).sum::<f64>() + x[(0, 2)] }",
    ];
    for src in sources {
        match check_source(src) {
            Ok(t) => assert!(t.entries > 0, "nothing checked for\n{src}"),
            Err(f) => panic!("[{}] {}\n{src}", f.tag, f.msg),
        }
    }
}

/// The evaluator reads a matrix as nalgebra does: column-major linear indices, `(row,
/// column)` pairs, `len`, `nrows` and `ncols`; an index outside the matrix is an error.
#[test]
fn nalgebra_indexing_is_column_major() {
    let (cs, reg) = compile_library(
        "fn f(a: SMatrix<f64, 2, 3>, i: usize) -> f64 { a[(1, 0)] * 10.0 + a[3] + (a.nrows() * 100 + a.ncols() * 1000 + a.len() * 10000) as f64 + a[(0, i)] * 0.5 }",
    )
    .expect("compiles");
    let f = &cs[0].lowered.func;
    // Rows [1 3 5] and [2 4 6]: column-major data 1..=6.
    let a = Value::matrix(2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let o = eval::run(f, vec![a.clone(), Value::Int(2)], &reg).expect("runs");
    let want = 2.0 * 10.0 + 4.0 + (200 + 3000 + 60000) as f64 + 5.0 * 0.5;
    assert_eq!(o.returns[0].as_f64(), Some(want));
    let e = eval::run(f, vec![a, Value::Int(3)], &reg).unwrap_err();
    assert!(e.contains("out of bounds"), "{e}");
}
