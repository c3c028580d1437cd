//! Minimising the 10-dimensional Rosenbrock function with [argmin], using the gradient and the
//! Hessian that `#[derive_gradient(hessian)]` generates: L-BFGS with the gradient, and Newton's
//! method with the exact Hessian.
//!
//! Run with `cargo run -p grad-dev --example argmin_rosenbrock` (add `--release` for speed; it
//! takes milliseconds either way). `dev/tests/argmin_rosenbrock.rs` runs the same code and
//! asserts that both solvers converge.
//!
//! # The pattern
//!
//! No adapter is needed: argmin asks for a problem type implementing its traits (`CostFunction`,
//! `Gradient`, `Hessian`, ...), and each method is one call of a generated companion. With
//! argmin-math's `vec` backend the parameter is a `Vec<f64>`, which the companions take as
//! `&[f64]`:
//!
//! ```toml
//! [dependencies]
//! grad = "0.1"
//! argmin = { version = "0.11", default-features = false }
//! argmin-math = { version = "0.5", default-features = false, features = ["vec"] }
//! ```
//!
//! ```ignore
//! use argmin::core::{CostFunction, Error, Gradient};
//! use grad::derive_gradient;
//!
//! #[derive_gradient] // emits f_grad, f_grad_into, f_pullback, ...
//! fn f(x: &[f64]) -> f64 { /* ... */ }
//!
//! struct Problem;
//!
//! impl CostFunction for Problem {
//!     type Param = Vec<f64>;
//!     type Output = f64;
//!     fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
//!         Ok(f(x))
//!     }
//! }
//!
//! impl Gradient for Problem {
//!     type Param = Vec<f64>;
//!     type Gradient = Vec<f64>;
//!     fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
//!         Ok(f_grad(x).1) // (value, gradient)
//!     }
//! }
//! ```
//!
//! For Newton's method, `#[derive_gradient(hessian)]` also emits `f_hessian(x) -> (value,
//! gradient, grad::Jacobian<f64>)`. argmin's `Newton` solver inverts the Hessian, which the
//! `vec` backend cannot do; the nalgebra backend (`features = ["nalgebra_v0_33"]`) can. There
//! the problem takes a `DVector<f64>`, which the companions read through `as_slice()`, and the
//! row-major Hessian becomes a `DMatrix` in one call:
//!
//! ```ignore
//! impl Gradient for ProblemNalgebra {
//!     type Param = DVector<f64>;
//!     type Gradient = DVector<f64>;
//!     fn gradient(&self, x: &DVector<f64>) -> Result<DVector<f64>, Error> {
//!         Ok(DVector::from_vec(f_grad(x.as_slice()).1))
//!     }
//! }
//!
//! impl Hessian for ProblemNalgebra {
//!     type Param = DVector<f64>;
//!     type Hessian = DMatrix<f64>;
//!     fn hessian(&self, x: &DVector<f64>) -> Result<DMatrix<f64>, Error> {
//!         let (_, _, h) = f_hessian(x.as_slice());
//!         Ok(DMatrix::from_row_slice(h.rows(), h.cols(), h.as_slice()))
//!     }
//! }
//! ```
//!
//! (On the `vec` backend, a `Hessian = Vec<Vec<f64>>`, built as
//! `(0..h.rows()).map(|i| h.row(i).to_vec()).collect()`, is accepted by the solvers that only
//! multiply by the Hessian, such as `NewtonCG`; `f_hvp(x, v)` gives `H v` without forming `H`.)
//!
//! [argmin]: https://docs.rs/argmin

use std::sync::{Arc, Mutex};

use argmin::core::observers::{Observe, ObserverMode};
use argmin::core::{CostFunction, Error, Executor, Gradient, Hessian, State, KV};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::newton::Newton;
use argmin::solver::quasinewton::LBFGS;
use grad::derive_gradient;
use nalgebra::{DMatrix, DVector};

/// The dimension of the problem.
pub const DIM: usize = 10;

/// The chained Rosenbrock function `sum_i (1 - x_i)^2 + 100 (x_{i+1} - x_i^2)^2`, whose
/// minimum is 0 at `(1, ..., 1)`.
#[derive_gradient(hessian)]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        total += a * a + 100.0 * b * b;
    }
    total
}

/// The problem for L-BFGS, on argmin-math's `vec` backend.
pub struct Rosenbrock;

impl CostFunction for Rosenbrock {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
        Ok(rosenbrock(x))
    }
}

impl Gradient for Rosenbrock {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        Ok(rosenbrock_grad(x).1)
    }
}

/// The problem for Newton's method, on the nalgebra backend.
pub struct RosenbrockNalgebra;

impl Gradient for RosenbrockNalgebra {
    type Param = DVector<f64>;
    type Gradient = DVector<f64>;
    fn gradient(&self, x: &DVector<f64>) -> Result<DVector<f64>, Error> {
        Ok(DVector::from_vec(rosenbrock_grad(x.as_slice()).1))
    }
}

impl Hessian for RosenbrockNalgebra {
    type Param = DVector<f64>;
    type Hessian = DMatrix<f64>;
    fn hessian(&self, x: &DVector<f64>) -> Result<DMatrix<f64>, Error> {
        let (_, _, h) = rosenbrock_hessian(x.as_slice());
        Ok(DMatrix::from_row_slice(h.rows(), h.cols(), h.as_slice()))
    }
}

/// The classic starting point, `(-1.2, 1, -1.2, 1, ...)`.
pub fn start() -> Vec<f64> {
    (0..DIM)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect()
}

/// The Euclidean distance from `x` to the minimum `(1, ..., 1)`.
pub fn distance_to_minimum(x: &[f64]) -> f64 {
    x.iter().map(|v| (v - 1.0) * (v - 1.0)).sum::<f64>().sqrt()
}

/// Where L-BFGS stopped.
#[derive(Debug)]
pub struct Outcome {
    /// Iterations run.
    pub iterations: u64,
    /// The best point found.
    pub x: Vec<f64>,
    /// Why the solver stopped, as argmin says it.
    pub termination: String,
}

/// L-BFGS (memory 7) with a More-Thuente line search, stopping when the gradient's norm falls
/// below `1e-12`, at the latest after `max_iters` iterations.
pub fn lbfgs(x0: Vec<f64>, max_iters: u64) -> Result<Outcome, Error> {
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
        .with_tolerance_grad(1e-12)?
        .with_tolerance_cost(0.0)?;
    let result = Executor::new(Rosenbrock, solver)
        .configure(|state| state.param(x0).max_iters(max_iters))
        .run()?;
    let state = result.state();
    Ok(Outcome {
        iterations: state.get_iter(),
        x: state.get_best_param().expect("a best point").clone(),
        termination: state.get_termination_status().to_string(),
    })
}

/// Newton's method with the exact Hessian and full steps, for `iters` iterations (argmin's
/// `Newton` has no stopping rule of its own); returns the point after each iteration.
pub fn newton(x0: Vec<f64>, iters: u64) -> Result<Vec<Vec<f64>>, Error> {
    let trace = Trace::default();
    Executor::new(RosenbrockNalgebra, Newton::<f64>::new())
        .configure(|state| state.param(DVector::from_vec(x0)).max_iters(iters))
        .add_observer(trace.clone(), ObserverMode::Always)
        .run()?;
    let points = trace.0.lock().expect("not poisoned").clone();
    Ok(points)
}

/// An argmin observer keeping the point after each iteration.
#[derive(Clone, Default)]
struct Trace(Arc<Mutex<Vec<Vec<f64>>>>);

impl<I: State<Param = DVector<f64>>> Observe<I> for Trace {
    fn observe_iter(&mut self, state: &I, _kv: &KV) -> Result<(), Error> {
        if let Some(x) = state.get_param() {
            self.0
                .lock()
                .expect("not poisoned")
                .push(x.as_slice().to_vec());
        }
        Ok(())
    }
}

fn main() -> Result<(), Error> {
    let x0 = start();
    println!(
        "{DIM}-dimensional Rosenbrock from (-1.2, 1, -1.2, 1, ...): cost {:.3e}, distance to the \
         minimum {:.3e}",
        rosenbrock(&x0),
        distance_to_minimum(&x0)
    );

    let out = lbfgs(x0.clone(), 1000)?;
    println!("\nL-BFGS with the generated gradient:");
    println!("  iterations             {}", out.iterations);
    println!("  stopped because        {}", out.termination);
    println!("  final cost             {:.3e}", rosenbrock(&out.x));
    println!(
        "  distance to (1, .., 1) {:.3e}",
        distance_to_minimum(&out.x)
    );

    let points = newton(x0, 100)?;
    // The first iteration that lands within 1e-12 of the minimum; Newton's steps are 0 there.
    let done = points
        .iter()
        .position(|x| distance_to_minimum(x) < 1e-12)
        .map_or(points.len(), |i| i + 1);
    println!("\nNewton's method with the generated Hessian (the last iterations):");
    println!(
        "  {:>9}  {:>10}  {:>22}",
        "iteration", "cost", "distance to (1, .., 1)"
    );
    for (i, x) in points
        .iter()
        .enumerate()
        .take(done)
        .skip(done.saturating_sub(6))
    {
        println!(
            "  {:>9}  {:>10.3e}  {:>22.3e}",
            i + 1,
            rosenbrock(x),
            distance_to_minimum(x)
        );
    }
    let last = &points[done - 1];
    println!("  iterations             {done}");
    println!("  final cost             {:.3e}", rosenbrock(last));
    println!("  distance to (1, .., 1) {:.3e}", distance_to_minimum(last));
    Ok(())
}
