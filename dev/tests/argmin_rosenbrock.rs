//! `dev/examples/argmin_rosenbrock.rs`, run here so that CI checks it: argmin's L-BFGS with the
//! generated gradient and argmin's Newton with the generated Hessian both reach the minimum
//! of the 10-dimensional Rosenbrock function from the classic starting point.

#[path = "../examples/argmin_rosenbrock.rs"]
#[allow(dead_code)] // the example's `main` and the fields only printed there
mod example;

use example::{distance_to_minimum, lbfgs, newton, rosenbrock, start, DIM};

#[test]
fn lbfgs_with_the_generated_gradient_converges() {
    let out = lbfgs(start(), 200).unwrap();
    assert_eq!(out.x.len(), DIM);
    assert!(out.iterations < 200, "{out:?}");
    assert!(distance_to_minimum(&out.x) < 1e-10, "{out:?}");
    assert!(rosenbrock(&out.x) < 1e-20, "{out:?}");
}

#[test]
fn newton_with_the_generated_hessian_converges() {
    let points = newton(start(), 40).unwrap();
    let last = points.last().unwrap();
    assert!(distance_to_minimum(last) < 1e-10, "{last:?}");
    assert!(rosenbrock(last) < 1e-20, "{last:?}");
    // Quadratic convergence at the end: each step squares the error (up to a constant).
    let errors: Vec<f64> = points.iter().map(|x| distance_to_minimum(x)).collect();
    let k = errors.iter().position(|&e| e < 1e-6).unwrap();
    assert!(errors[k + 1] < 1e-10, "{errors:?}");
}
