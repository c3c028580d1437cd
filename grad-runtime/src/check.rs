//! Finite-difference checks of gradients and Jacobians.
//!
//! The reference is the central difference `(f(x + h e_i) - f(x - h e_i)) / 2h`
//! with `h_i = cbrt(eps) * max(1, |x_i|)`, the step that balances truncation
//! error (`O(h^2)`) against rounding error (`O(eps / h)`). Values are compared
//! component-wise with a relative and an absolute [`Tolerance`], per float
//! type, as JAX's `check_grads` and ChainRules' test suites do:
//! `|analytic - numeric| <= abs + rel * max(|analytic|, |numeric|)`.
//!
//! ```
//! use grad_runtime::{check_gradient, Tolerance};
//! // f(x, y) = 3 x^2 y, grad f = [6 x y, 3 x^2]
//! let f = |v: &[f64]| 3.0 * v[0] * v[0] * v[1];
//! assert!(check_gradient(f, &[2.0, 3.0], &[36.0, 12.0], Tolerance::default()).is_ok());
//! let err = check_gradient(f, &[2.0, 3.0], &[36.0, 13.0], Tolerance::default()).unwrap_err();
//! assert_eq!(err.index, 1);
//! ```

use std::error::Error;
use std::fmt;

use crate::{Float, Jacobian, XorShift64};

/// How close an analytic value must be to its finite-difference estimate:
/// `|a - n| <= abs + rel * max(|a|, |n|)`.
///
/// `Tolerance::default()` is the per-type default of
/// [`Float::default_tolerance`]: rel `1e-6`, abs `1e-8` for `f64`;
/// rel `2e-2`, abs `1e-3` for `f32`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance<T> {
    /// Relative tolerance, scaled by the larger magnitude of the two values.
    pub rel: T,
    /// Absolute tolerance, for values near zero.
    pub abs: T,
}

impl<T: Float> Tolerance<T> {
    /// A tolerance with the given relative and absolute parts.
    pub fn new(rel: T, abs: T) -> Self {
        Tolerance { rel, abs }
    }

    /// The allowed error between `a` and `b`: `abs + rel * max(|a|, |b|)`.
    pub fn bound(&self, a: T, b: T) -> T {
        self.abs + self.rel * a.abs().max(b.abs())
    }

    /// Whether `a` and `b` agree. Equal values always agree (so do two equal
    /// infinities); an infinity agrees with nothing else, a NaN with nothing.
    pub fn accepts(&self, a: T, b: T) -> bool {
        excess(*self, a, b).is_none()
    }
}

impl<T: Float> Default for Tolerance<T> {
    fn default() -> Self {
        T::default_tolerance()
    }
}

/// Which way a check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MismatchKind {
    /// Shapes agree but at least one value is outside the tolerance.
    Values,
    /// The gradient has `found` components but the function has `expected`
    /// inputs ([`check_gradient`], [`check_directional`]).
    Length {
        /// Number of inputs, `x.len()`.
        expected: usize,
        /// Length of the gradient that was given.
        found: usize,
    },
    /// The Jacobian is `found` = (rows, cols) but the function has
    /// `expected` = (outputs, inputs) ([`check_jacobian`]).
    Shape {
        /// (number of outputs, number of inputs) of the function at `x`.
        expected: (usize, usize),
        /// (rows, cols) of the Jacobian that was given.
        found: (usize, usize),
    },
}

/// A failed [`check_gradient`]: the worst component and everything compared.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientMismatch<T> {
    /// Why the check failed. For [`MismatchKind::Length`] nothing was
    /// compared: `index` is 0, the values are 0 and `all` is empty.
    pub kind: MismatchKind,
    /// Index of the worst component: the largest excess of `|error|` over
    /// its allowed bound (a NaN, or an infinity against a different value,
    /// is infinitely bad).
    pub index: usize,
    /// The given (analytic) value of the worst component.
    pub analytic: T,
    /// The finite-difference value of the worst component.
    pub numeric: T,
    /// The largest `|analytic_i - numeric_i|` over all components (NaN if
    /// any is NaN); it can belong to a component other than `index`.
    pub max_abs_error: T,
    /// `(analytic_i, numeric_i)` for every component.
    pub all: Vec<(T, T)>,
    /// The tolerance that was used.
    pub tol: Tolerance<T>,
}

/// A failed [`check_directional`]: `grad . v` against the central difference
/// of `f` along the unit direction `v`.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectionalMismatch<T> {
    /// Why the check failed. For [`MismatchKind::Length`] nothing was
    /// compared: the values are 0 and `direction` is empty.
    pub kind: MismatchKind,
    /// `grad . v`.
    pub analytic: T,
    /// `(f(x + h v) - f(x - h v)) / 2h`.
    pub numeric: T,
    /// The random unit direction `v`.
    pub direction: Vec<T>,
    /// The seed `v` was drawn from (the same seed gives the same `v`).
    pub seed: u64,
    /// The tolerance that was used.
    pub tol: Tolerance<T>,
}

/// A failed [`check_jacobian`]: the worst entry and both matrices.
#[derive(Clone, Debug, PartialEq)]
pub struct JacobianMismatch<T> {
    /// Why the check failed. For [`MismatchKind::Shape`] nothing was
    /// compared: `row`, `col` and the values are 0.
    pub kind: MismatchKind,
    /// Row (output) of the worst entry.
    pub row: usize,
    /// Column (input) of the worst entry.
    pub col: usize,
    /// The given (analytic) value of the worst entry.
    pub analytic: T,
    /// The finite-difference value of the worst entry.
    pub numeric: T,
    /// The largest `|analytic - numeric|` over all entries (NaN if any is NaN).
    pub max_abs_error: T,
    /// The Jacobian that was checked.
    pub analytic_jacobian: Jacobian<T>,
    /// The finite-difference Jacobian (numerator layout).
    pub numeric_jacobian: Jacobian<T>,
    /// The tolerance that was used.
    pub tol: Tolerance<T>,
}

/// Central-difference gradient of `f` at `x`, with step
/// `h_i = cbrt(eps) * max(1, |x_i|)`.
///
/// Divides by the step actually taken, `(x_i + h) - (x_i - h)`, which removes
/// the rounding of `x_i ± h`. Costs `2 * x.len()` calls of `f`.
pub fn finite_diff_gradient<T: Float>(f: impl Fn(&[T]) -> T, x: &[T]) -> Vec<T> {
    let mut xs = x.to_vec();
    let mut grad = Vec::with_capacity(x.len());
    for (i, &xi) in x.iter().enumerate() {
        let (xp, xm) = perturb(xi);
        xs[i] = xp;
        let fp = f(&xs);
        xs[i] = xm;
        let fm = f(&xs);
        xs[i] = xi;
        grad.push((fp - fm) / (xp - xm));
    }
    grad
}

/// Central-difference Jacobian of `f` at `x` in numerator layout:
/// `J[(i, k)] = d out_i / d x_k`, one row per output.
///
/// Same step as [`finite_diff_gradient`]. Costs `1 + 2 * x.len()` calls of
/// `f`; panics if `f` returns different numbers of outputs at different points.
pub fn finite_diff_jacobian<T: Float>(f: impl Fn(&[T]) -> Vec<T>, x: &[T]) -> Jacobian<T> {
    let rows = f(x).len();
    let mut jac = Jacobian::zeros(rows, x.len());
    let mut xs = x.to_vec();
    for (k, &xk) in x.iter().enumerate() {
        let (xp, xm) = perturb(xk);
        xs[k] = xp;
        let fp = f(&xs);
        xs[k] = xm;
        let fm = f(&xs);
        xs[k] = xk;
        for out in [&fp, &fm] {
            assert_eq!(
                out.len(),
                rows,
                "finite_diff_jacobian: the function returned {rows} outputs at x \
                 but {} at a perturbed point",
                out.len()
            );
        }
        let dx = xp - xm;
        for (i, (&p, &m)) in fp.iter().zip(&fm).enumerate() {
            jac[(i, k)] = (p - m) / dx;
        }
    }
    jac
}

/// Checks `grad` against the central-difference gradient of `f` at `x`,
/// component by component.
///
/// Ok iff `|g_i - fd_i| <= tol.abs + tol.rel * max(|g_i|, |fd_i|)` for all
/// `i`. Otherwise the error describes the worst component (largest excess
/// over its bound) and lists both vectors; its `Display` is a readable report.
pub fn check_gradient<T: Float>(
    f: impl Fn(&[T]) -> T,
    x: &[T],
    grad: &[T],
    tol: Tolerance<T>,
) -> Result<(), GradientMismatch<T>> {
    if grad.len() != x.len() {
        return Err(GradientMismatch {
            kind: MismatchKind::Length {
                expected: x.len(),
                found: grad.len(),
            },
            index: 0,
            analytic: T::zero(),
            numeric: T::zero(),
            max_abs_error: T::zero(),
            all: Vec::new(),
            tol,
        });
    }
    let numeric = finite_diff_gradient(f, x);
    let Some(cmp) = compare(grad, &numeric, tol) else {
        return Ok(());
    };
    Err(GradientMismatch {
        kind: MismatchKind::Values,
        index: cmp.worst,
        analytic: grad[cmp.worst],
        numeric: numeric[cmp.worst],
        max_abs_error: cmp.max_abs_error,
        all: grad.iter().copied().zip(numeric).collect(),
        tol,
    })
}

/// Checks `grad` along one random unit direction `v` (drawn from `seed`):
/// compares `grad . v` with `(f(x + h v) - f(x - h v)) / 2h`, where
/// `h = cbrt(eps) * max(1, max_i |x_i|)`.
///
/// This is the check JAX's `check_grads` does: two calls of `f` whatever the
/// number of inputs, and any wrong component shows up (with probability 1).
/// Ok iff `|a - n| <= tol.abs + tol.rel * max(|a|, |n|)`.
pub fn check_directional<T: Float>(
    f: impl Fn(&[T]) -> T,
    x: &[T],
    grad: &[T],
    tol: Tolerance<T>,
    seed: u64,
) -> Result<(), DirectionalMismatch<T>> {
    if grad.len() != x.len() {
        return Err(DirectionalMismatch {
            kind: MismatchKind::Length {
                expected: x.len(),
                found: grad.len(),
            },
            analytic: T::zero(),
            numeric: T::zero(),
            direction: Vec::new(),
            seed,
            tol,
        });
    }
    let direction: Vec<T> = random_unit_vector(x.len(), seed);
    let analytic = T::from_f64(
        grad.iter()
            .zip(&direction)
            .map(|(g, v)| g.to_f64() * v.to_f64())
            .sum(),
    );
    let scale = x.iter().fold(T::one(), |m, xi| m.max(xi.abs()));
    let h = cbrt_eps::<T>() * scale;
    let shifted = |sign: T| -> Vec<T> {
        x.iter()
            .zip(&direction)
            .map(|(&xi, &vi)| xi + sign * h * vi)
            .collect()
    };
    let numeric = (f(&shifted(T::one())) - f(&shifted(-T::one()))) / (h + h);
    if tol.accepts(analytic, numeric) {
        return Ok(());
    }
    Err(DirectionalMismatch {
        kind: MismatchKind::Values,
        analytic,
        numeric,
        direction,
        seed,
        tol,
    })
}

/// Checks `jac` (numerator layout: rows = outputs) against the
/// central-difference Jacobian of `f` at `x`, entry by entry, with the same
/// rule as [`check_gradient`]. On failure reports the worst `(row, col)`.
// The error carries both matrices by value; it is built only on failure, in
// tests, so its size costs nothing worth a `Box` in the public fields.
#[allow(clippy::result_large_err)]
pub fn check_jacobian<T: Float>(
    f: impl Fn(&[T]) -> Vec<T>,
    x: &[T],
    jac: &Jacobian<T>,
    tol: Tolerance<T>,
) -> Result<(), JacobianMismatch<T>> {
    let numeric = finite_diff_jacobian(f, x);
    let expected = (numeric.rows(), numeric.cols());
    let found = (jac.rows(), jac.cols());
    let mismatch = |kind, row, col, analytic, numeric_value, max_abs_error| JacobianMismatch {
        kind,
        row,
        col,
        analytic,
        numeric: numeric_value,
        max_abs_error,
        analytic_jacobian: jac.clone(),
        numeric_jacobian: numeric.clone(),
        tol,
    };
    if expected != found {
        let kind = MismatchKind::Shape { expected, found };
        return Err(mismatch(kind, 0, 0, T::zero(), T::zero(), T::zero()));
    }
    let Some(cmp) = compare(jac.as_slice(), numeric.as_slice(), tol) else {
        return Ok(());
    };
    let (row, col) = (cmp.worst / found.1, cmp.worst % found.1);
    Err(mismatch(
        MismatchKind::Values,
        row,
        col,
        jac[(row, col)],
        numeric[(row, col)],
        cmp.max_abs_error,
    ))
}

/// [`check_gradient`], panicking with the readable report on failure.
#[track_caller]
pub fn assert_gradient_close<T: Float>(
    f: impl Fn(&[T]) -> T,
    x: &[T],
    grad: &[T],
    tol: Tolerance<T>,
) {
    if let Err(e) = check_gradient(f, x, grad, tol) {
        panic!("{e}");
    }
}

/// [`check_directional`], panicking with the readable report on failure.
#[track_caller]
pub fn assert_directional_close<T: Float>(
    f: impl Fn(&[T]) -> T,
    x: &[T],
    grad: &[T],
    tol: Tolerance<T>,
    seed: u64,
) {
    if let Err(e) = check_directional(f, x, grad, tol, seed) {
        panic!("{e}");
    }
}

/// [`check_jacobian`], panicking with the readable report on failure.
#[track_caller]
pub fn assert_jacobian_close<T: Float>(
    f: impl Fn(&[T]) -> Vec<T>,
    x: &[T],
    jac: &Jacobian<T>,
    tol: Tolerance<T>,
) {
    if let Err(e) = check_jacobian(f, x, jac, tol) {
        panic!("{e}");
    }
}

/// `cbrt(eps)` in `T`: about `6.1e-6` for `f64` and `4.9e-3` for `f32`.
fn cbrt_eps<T: Float>() -> T {
    T::from_f64(T::epsilon().to_f64().cbrt())
}

/// `(x + h, x - h)` with `h = cbrt(eps) * max(1, |x|)`.
fn perturb<T: Float>(x: T) -> (T, T) {
    let h = cbrt_eps::<T>() * T::one().max(x.abs());
    (x + h, x - h)
}

/// A unit vector of length `n` with a uniformly random direction (normalised
/// Gaussian sample), reproducible from `seed`.
fn random_unit_vector<T: Float>(n: usize, seed: u64) -> Vec<T> {
    let mut rng = XorShift64::new(seed);
    let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let norm = v.iter().map(|c| c * c).sum::<f64>().sqrt();
    if norm == 0.0 {
        // Probability zero, but keep the result a unit vector.
        if let Some(first) = v.first_mut() {
            *first = 1.0;
        }
        return v.into_iter().map(T::from_f64).collect();
    }
    v.into_iter().map(|c| T::from_f64(c / norm)).collect()
}

/// How far `|a - b|` exceeds its bound, or `None` if `a` and `b` agree.
/// Unequal non-finite values (NaN, or an infinity against anything else)
/// count as an infinite excess.
fn excess<T: Float>(tol: Tolerance<T>, a: T, b: T) -> Option<f64> {
    if a == b {
        return None;
    }
    if !(a.is_finite() && b.is_finite()) {
        // Unequal with an infinity or a NaN involved: the bound would be inf too.
        return Some(f64::INFINITY);
    }
    let err = (a.to_f64() - b.to_f64()).abs();
    let bound = tol.abs.to_f64() + tol.rel.to_f64() * a.to_f64().abs().max(b.to_f64().abs());
    if err <= bound {
        None
    } else if err.is_nan() {
        Some(f64::INFINITY)
    } else {
        Some(err - bound)
    }
}

/// The result of comparing two equally long vectors that disagree.
struct Comparison<T> {
    worst: usize,
    max_abs_error: T,
}

/// Compares element-wise; `None` if all agree, otherwise the worst index
/// (first one on ties) and the largest absolute error.
fn compare<T: Float>(analytic: &[T], numeric: &[T], tol: Tolerance<T>) -> Option<Comparison<T>> {
    let mut worst: Option<(usize, f64)> = None;
    let mut max_err = 0.0f64;
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let err = if a == n {
            0.0
        } else {
            (a.to_f64() - n.to_f64()).abs()
        };
        if err.is_nan() || max_err.is_nan() {
            max_err = f64::NAN;
        } else {
            max_err = max_err.max(err);
        }
        if let Some(e) = excess(tol, a, n) {
            match worst {
                Some((_, w)) if e <= w => {}
                _ => worst = Some((i, e)),
            }
        }
    }
    worst.map(|(i, _)| Comparison {
        worst: i,
        max_abs_error: T::from_f64(max_err),
    })
}

/// Formats a number readably: plain for moderate magnitudes, scientific
/// otherwise (`1e-12`, not `0.000000000001`).
fn num<T: Float>(x: T) -> String {
    let a = x.abs().to_f64();
    if a == 0.0 || !a.is_finite() || (1e-4..1e15).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// `[a, b, c]` with [`num`] for each element.
fn list<T: Float>(xs: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = xs.into_iter().map(num).collect();
    format!("[{}]", items.join(", "))
}

/// A matrix as `[[a, b], [c, d]]` with [`num`] for each element.
fn matrix<T: Float>(j: &Jacobian<T>) -> String {
    let rows: Vec<String> = (0..j.rows())
        .map(|i| list(j.row(i).iter().copied()))
        .collect();
    format!("[{}]", rows.join(", "))
}

/// The shared line `analytic A, numeric N (|error| E > allowed B)`.
fn value_line<T: Float>(a: T, n: T, tol: Tolerance<T>) -> String {
    let err = (a.to_f64() - n.to_f64()).abs();
    format!(
        "analytic {}, numeric {} (|error| {} > allowed {})",
        num(a),
        num(n),
        num(err),
        num(tol.bound(a, n))
    )
}

/// The shared line describing the tolerance.
fn tol_line<T: Float>(tol: Tolerance<T>) -> String {
    format!("tolerance: rel {}, abs {}", num(tol.rel), num(tol.abs))
}

impl<T: Float> fmt::Display for GradientMismatch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let MismatchKind::Length { expected, found } = self.kind {
            return write!(
                f,
                "gradient check failed: the gradient has {found} components \
                 but the function has {expected} inputs"
            );
        }
        writeln!(
            f,
            "gradient check failed: worst component {}: {}",
            self.index,
            value_line(self.analytic, self.numeric, self.tol)
        )?;
        writeln!(
            f,
            "  {}; max |error| over all components {}",
            tol_line(self.tol),
            num(self.max_abs_error)
        )?;
        writeln!(f, "  analytic: {}", list(self.all.iter().map(|p| p.0)))?;
        write!(f, "  numeric:  {}", list(self.all.iter().map(|p| p.1)))
    }
}

impl<T: Float> fmt::Display for DirectionalMismatch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let MismatchKind::Length { expected, found } = self.kind {
            return write!(
                f,
                "directional check failed: the gradient has {found} components \
                 but the function has {expected} inputs"
            );
        }
        writeln!(
            f,
            "directional check failed along a random unit direction v (seed {}): \
             grad . v vs central difference: {}",
            self.seed,
            value_line(self.analytic, self.numeric, self.tol)
        )?;
        writeln!(f, "  {}", tol_line(self.tol))?;
        write!(f, "  v: {}", list(self.direction.iter().copied()))
    }
}

impl<T: Float> fmt::Display for JacobianMismatch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let MismatchKind::Shape { expected, found } = self.kind {
            return write!(
                f,
                "jacobian check failed: the jacobian is {} x {} but the function has \
                 {} outputs and {} inputs (numerator layout: rows = outputs)",
                found.0, found.1, expected.0, expected.1
            );
        }
        writeln!(
            f,
            "jacobian check failed: worst entry ({}, {}) = d out_{} / d in_{}: {}",
            self.row,
            self.col,
            self.row,
            self.col,
            value_line(self.analytic, self.numeric, self.tol)
        )?;
        writeln!(
            f,
            "  {}; max |error| over all entries {}",
            tol_line(self.tol),
            num(self.max_abs_error)
        )?;
        writeln!(f, "  analytic: {}", matrix(&self.analytic_jacobian))?;
        write!(f, "  numeric:  {}", matrix(&self.numeric_jacobian))
    }
}

impl<T: Float> Error for GradientMismatch<T> {}
impl<T: Float> Error for DirectionalMismatch<T> {}
impl<T: Float> Error for JacobianMismatch<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<T: Float>(v: f64) -> T {
        T::from_f64(v)
    }

    /// f(x, y) = 3 x^2 y, grad = [6 x y, 3 x^2].
    fn f1<T: Float>(v: &[T]) -> T {
        t::<T>(3.0) * v[0] * v[0] * v[1]
    }
    fn g1<T: Float>(v: &[T]) -> Vec<T> {
        vec![t::<T>(6.0) * v[0] * v[1], t::<T>(3.0) * v[0] * v[0]]
    }

    /// f(x, y) = sin(x) y, grad = [cos(x) y, sin(x)] (via f64, then rounded).
    fn f2<T: Float>(v: &[T]) -> T {
        t::<T>(v[0].to_f64().sin()) * v[1]
    }
    fn g2<T: Float>(v: &[T]) -> Vec<T> {
        let (x, y) = (v[0].to_f64(), v[1].to_f64());
        vec![t(x.cos() * y), t(x.sin())]
    }

    /// f(x) = sum_i exp(x_i / 3) x_i^2.
    fn f3<T: Float>(v: &[T]) -> T {
        v.iter()
            .map(|&x| t::<T>((x.to_f64() / 3.0).exp()) * x * x)
            .fold(T::zero(), |a, b| a + b)
    }
    fn g3<T: Float>(v: &[T]) -> Vec<T> {
        v.iter()
            .map(|&x| {
                let x = x.to_f64();
                t((x / 3.0).exp() * (x * x / 3.0 + 2.0 * x))
            })
            .collect()
    }

    /// MATH.md rule 2: y = [3 x^2 y, 2 x + y^8].
    fn h<T: Float>(v: &[T]) -> Vec<T> {
        let (x, y) = (v[0].to_f64(), v[1].to_f64());
        vec![t(3.0 * x * x * y), t(2.0 * x + y.powi(8))]
    }
    fn jh<T: Float>(v: &[T]) -> Jacobian<T> {
        let (x, y) = (v[0].to_f64(), v[1].to_f64());
        let d = [6.0 * x * y, 3.0 * x * x, 2.0, 8.0 * y.powi(7)];
        Jacobian::from_rows(2, 2, d.iter().map(|&e| t(e)).collect())
    }

    fn points<T: Float>() -> Vec<Vec<T>> {
        [
            [2.0, 3.0],
            [-0.7, 0.4],
            [0.0, 1.0],
            [1e-3, -5.0],
            [4.0, 0.25],
        ]
        .iter()
        .map(|p| p.iter().map(|&c| t(c)).collect())
        .collect()
    }

    fn accepts_exact<T: Float>() {
        let tol = Tolerance::<T>::default();
        for x in points::<T>() {
            assert_gradient_close(f1::<T>, &x, &g1(&x), tol);
            assert_gradient_close(f2::<T>, &x, &g2(&x), tol);
            assert_gradient_close(f3::<T>, &x, &g3(&x), tol);
            for seed in 0..5 {
                assert_directional_close(f1::<T>, &x, &g1(&x), tol, seed);
                assert_directional_close(f2::<T>, &x, &g2(&x), tol, seed);
                assert_directional_close(f3::<T>, &x, &g3(&x), tol, seed);
            }
        }
        let x: Vec<T> = (0..10).map(|i| t(0.3 * i as f64 - 1.0)).collect();
        assert_gradient_close(f3::<T>, &x, &g3(&x), tol);
        assert_directional_close(f3::<T>, &x, &g3(&x), tol, 42);
    }

    #[test]
    fn accepts_exact_gradients_f64() {
        accepts_exact::<f64>();
    }

    #[test]
    fn accepts_exact_gradients_f32() {
        accepts_exact::<f32>();
    }

    fn rejects_one_wrong_component<T: Float>() {
        let tol = Tolerance::<T>::default();
        let x: Vec<T> = vec![t(2.0), t(3.0)];
        let mut g = g1(&x); // [36, 12]
        g[1] = t(13.0);
        let err = check_gradient(f1::<T>, &x, &g, tol).unwrap_err();
        assert_eq!(err.kind, MismatchKind::Values);
        assert_eq!(err.index, 1);
        assert_eq!(err.analytic, t(13.0));
        assert!(
            (err.numeric.to_f64() - 12.0).abs() < 0.05,
            "{}",
            err.numeric
        );
        assert!((err.max_abs_error.to_f64() - 1.0).abs() < 0.05);
        assert_eq!(err.all.len(), 2);
        assert_eq!(err.all[0].0, t(36.0));
        let msg = err.to_string();
        assert!(msg.contains("worst component 1"), "{msg}");
        assert!(msg.contains("analytic: [36, 13]"), "{msg}");

        // The directional check catches it too: in f64 along every
        // direction; in f32, whose tolerance is loose, along most (an error
        // in g_1 shows as g_1 * v_1, lost when |v_1| is small).
        let needed = if T::epsilon().to_f64() < 1e-10 {
            20
        } else {
            10
        };
        let caught = |g: &[T], f: fn(&[T]) -> T, x: &[T]| {
            (0..20)
                .filter(|&seed| check_directional(f, x, g, tol, seed).is_err())
                .count()
        };
        assert!(caught(&g, f1::<T>, &x) >= needed);
        // And a wrong first component of a longer gradient.
        let x: Vec<T> = (0..10).map(|i| t(0.3 * i as f64 - 1.0)).collect();
        let mut g = g3(&x);
        g[0] += t(0.5);
        let err = check_gradient(f3::<T>, &x, &g, tol).unwrap_err();
        assert_eq!(err.index, 0);
        assert!(caught(&g, f3::<T>, &x) >= needed);
    }

    #[test]
    fn rejects_one_wrong_component_f64() {
        rejects_one_wrong_component::<f64>();
    }

    #[test]
    fn rejects_one_wrong_component_f32() {
        rejects_one_wrong_component::<f32>();
    }

    #[test]
    fn reports_largest_excess_not_first_failure() {
        let x = [2.0, 3.0];
        // Both wrong; component 0 off by 0.5, component 1 off by 4.
        let err = check_gradient(f1, &x, &[36.5, 16.0], Tolerance::default()).unwrap_err();
        assert_eq!(err.index, 1);
        assert!((err.max_abs_error - 4.0).abs() < 1e-6);
    }

    #[test]
    fn slightly_off_gradient_is_rejected_in_f64_only_by_tight_tolerance() {
        let x = [2.0, 3.0];
        let g = [36.0 * (1.0 + 1e-4), 12.0];
        assert!(check_gradient(f1, &x, &g, Tolerance::default()).is_err());
        assert!(check_gradient(f1, &x, &g, Tolerance::new(1e-3, 1e-8)).is_ok());
    }

    #[test]
    fn nan_gradient_is_rejected_and_worst() {
        let x = [2.0, 3.0];
        let err = check_gradient(f1, &x, &[37.0, f64::NAN], Tolerance::default()).unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.max_abs_error.is_nan());
        assert!(err.to_string().contains("NaN"));
    }

    #[test]
    fn length_mismatch_gradient() {
        let err =
            check_gradient(f1, &[1.0, 2.0], &[1.0, 2.0, 3.0], Tolerance::default()).unwrap_err();
        assert_eq!(
            err.kind,
            MismatchKind::Length {
                expected: 2,
                found: 3
            }
        );
        assert!(err.all.is_empty());
        assert_eq!(
            err.to_string(),
            "gradient check failed: the gradient has 3 components but the function has 2 inputs"
        );
        let err = check_directional(f1, &[1.0, 2.0], &[1.0], Tolerance::default(), 0).unwrap_err();
        assert_eq!(
            err.kind,
            MismatchKind::Length {
                expected: 2,
                found: 1
            }
        );
        assert!(err.to_string().contains("has 1 components"));
    }

    #[test]
    fn empty_input_is_trivially_ok() {
        let f = |_: &[f64]| 1.0;
        assert!(check_gradient(f, &[], &[], Tolerance::default()).is_ok());
        assert!(check_directional(f, &[], &[], Tolerance::default(), 1).is_ok());
        assert!(finite_diff_gradient(f, &[]).is_empty());
    }

    #[test]
    fn finite_diff_gradient_is_accurate() {
        let fd = finite_diff_gradient(f1, &[2.0, 3.0]);
        assert!(
            (fd[0] - 36.0).abs() < 1e-8 && (fd[1] - 12.0).abs() < 1e-8,
            "{fd:?}"
        );
        // Large |x|: the step scales with |x_i|.
        let fd = finite_diff_gradient(|v: &[f64]| v[0] * v[0], &[1e8]);
        assert!((fd[0] / 2e8 - 1.0).abs() < 1e-9, "{fd:?}");
        let fd = finite_diff_gradient(f1::<f32>, &[2.0, 3.0]);
        assert!(
            (fd[0] - 36.0).abs() < 0.05 && (fd[1] - 12.0).abs() < 0.05,
            "{fd:?}"
        );
    }

    #[test]
    fn finite_diff_does_not_disturb_other_inputs() {
        // Any leftover perturbation of x_0 would show in the derivative wrt x_1.
        let f = |v: &[f64]| v[0].powi(3) * v[1];
        let fd = finite_diff_gradient(f, &[1.5, 2.0]);
        assert!((fd[1] - 3.375).abs() < 1e-9, "{fd:?}");
    }

    #[test]
    fn directional_direction_is_unit_and_seeded() {
        let x = [2.0, 3.0, 1.0];
        let f = |v: &[f64]| v[0] + v[1] + v[2];
        let err = check_directional(f, &x, &[0.0, 0.0, 5.0], Tolerance::default(), 9).unwrap_err();
        let norm: f64 = err.direction.iter().map(|c| c * c).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-12);
        let again =
            check_directional(f, &x, &[0.0, 0.0, 5.0], Tolerance::default(), 9).unwrap_err();
        assert_eq!(err.direction, again.direction);
        let other =
            check_directional(f, &x, &[0.0, 0.0, 5.0], Tolerance::default(), 10).unwrap_err();
        assert_ne!(err.direction, other.direction);
        let msg = err.to_string();
        assert!(msg.contains("seed 9") && msg.contains("v: ["), "{msg}");
    }

    fn jacobian_checks<T: Float>() {
        let tol = Tolerance::<T>::default();
        // |y| stays small: y^8 must not swamp 2x in f32.
        let pts = [
            [2.0, 0.5],
            [-0.7, 0.4],
            [0.0, 1.0],
            [1e-3, -1.5],
            [40.0, 0.25],
        ];
        for p in pts {
            let x: Vec<T> = p.iter().map(|&c| t(c)).collect();
            let fd = finite_diff_jacobian(h::<T>, &x);
            assert_eq!((fd.rows(), fd.cols()), (2, 2));
            assert_jacobian_close(h::<T>, &x, &jh(&x), tol);
        }
        let x: Vec<T> = vec![t(2.0), t(0.5)];
        let mut j = jh(&x);
        j[(1, 0)] = t(3.0); // should be 2
        let err = check_jacobian(h::<T>, &x, &j, tol).unwrap_err();
        assert_eq!(err.kind, MismatchKind::Values);
        assert_eq!((err.row, err.col), (1, 0));
        assert_eq!(err.analytic, t(3.0));
        assert!((err.numeric.to_f64() - 2.0).abs() < 0.01);
        assert_eq!(err.analytic_jacobian, j);
        let msg = err.to_string();
        assert!(msg.contains("worst entry (1, 0)"), "{msg}");
        assert!(msg.contains("analytic: [[6, 12], [3, "), "{msg}");
    }

    #[test]
    fn jacobian_check_f64() {
        jacobian_checks::<f64>();
    }

    #[test]
    fn jacobian_check_f32() {
        jacobian_checks::<f32>();
    }

    #[test]
    fn jacobian_of_identity_and_elementwise_product() {
        // MATH.md rules 3 and 4: d(w * x)/dw = diag(x).
        let x = [1.0, -2.0, 3.0];
        assert_jacobian_close(
            |v: &[f64]| v.to_vec(),
            &x,
            &Jacobian::identity(3),
            Tolerance::default(),
        );
        let w = [0.5, 4.0, -1.0];
        let mut diag = Jacobian::zeros(3, 3);
        for i in 0..3 {
            diag[(i, i)] = x[i];
        }
        let f = |v: &[f64]| v.iter().zip(&x).map(|(a, b)| a * b).collect();
        assert_jacobian_close(f, &w, &diag, Tolerance::default());
    }

    #[test]
    fn jacobian_shape_mismatch() {
        let x = [2.0, 0.5];
        // A square transpose has the right shape: its values are what differ.
        let err = check_jacobian(h, &x, &jh(&x).transpose(), Tolerance::default()).unwrap_err();
        assert_eq!(err.kind, MismatchKind::Values);
        let wrong = Jacobian::<f64>::zeros(3, 2);
        let err = check_jacobian(h, &x, &wrong, Tolerance::default()).unwrap_err();
        assert_eq!(
            err.kind,
            MismatchKind::Shape {
                expected: (2, 2),
                found: (3, 2)
            }
        );
        assert!(err
            .to_string()
            .contains("is 3 x 2 but the function has 2 outputs and 2 inputs"));
    }

    #[test]
    #[should_panic(expected = "returned 1 outputs at x but 2 at a perturbed point")]
    fn finite_diff_jacobian_rejects_changing_output_count() {
        let f = |v: &[f64]| {
            if v[0] == 1.0 {
                vec![1.0]
            } else {
                vec![1.0, 2.0]
            }
        };
        let _ = finite_diff_jacobian(f, &[1.0]);
    }

    #[test]
    #[should_panic(expected = "gradient check failed: worst component 0")]
    fn assert_gradient_close_panics_with_report() {
        assert_gradient_close(f1, &[2.0, 3.0], &[0.0, 12.0], Tolerance::default());
    }

    #[test]
    #[should_panic(expected = "directional check failed")]
    fn assert_directional_close_panics_with_report() {
        assert_directional_close(f1, &[2.0, 3.0], &[0.0, 12.0], Tolerance::default(), 1);
    }

    #[test]
    #[should_panic(expected = "jacobian check failed: worst entry (0, 1)")]
    fn assert_jacobian_close_panics_with_report() {
        let x = [2.0, 0.5];
        let mut j = jh(&x);
        j[(0, 1)] = -1.0;
        assert_jacobian_close(h, &x, &j, Tolerance::default());
    }

    #[test]
    fn tolerance_rules() {
        let tol = Tolerance::new(1e-3, 1e-6);
        assert!(tol.accepts(1000.0, 1000.9));
        assert!(!tol.accepts(1000.0, 1001.1));
        assert!(tol.accepts(0.0, 5e-7));
        assert!(!tol.accepts(0.0, 2e-6));
        assert!(tol.accepts(f64::INFINITY, f64::INFINITY));
        assert!(!tol.accepts(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!tol.accepts(f64::INFINITY, 5.0));
        assert!(!tol.accepts(-1e300, f64::NEG_INFINITY));
        assert!(!tol.accepts(f64::NAN, f64::NAN));
        assert!((tol.bound(2.0, -3.0) - (1e-6 + 3e-3)).abs() < 1e-15);
        assert_eq!(Tolerance::<f64>::default(), Tolerance::new(1e-6, 1e-8));
        assert_eq!(Tolerance::<f32>::default(), Tolerance::new(2e-2, 1e-3));
    }

    #[test]
    fn errors_are_std_errors() {
        fn takes_error(_: &dyn Error) {}
        let err = check_gradient(f1, &[2.0, 3.0], &[0.0, 0.0], Tolerance::default()).unwrap_err();
        takes_error(&err);
        let boxed: Box<dyn Error> = Box::new(err);
        assert!(boxed.to_string().starts_with("gradient check failed"));
    }

    #[test]
    fn numbers_are_formatted_readably() {
        assert_eq!(num(1e-12f64), "1e-12");
        assert_eq!(num(0.0f64), "0");
        assert_eq!(num(12.5f64), "12.5");
        assert_eq!(num(0.1f32), "0.1");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(list([1.0f64, 2e20]), "[1, 2e20]");
    }
}
