//! Second order: `#[derive_gradient(hessian)]` adds `f_hessian` and `f_hvp`. Checked against
//! closed forms (Rosenbrock, log-sum-exp, a quadratic form whose Hessian is `A + Aᵀ`, a
//! loop-carried recurrence), against finite differences of the generated gradient, for
//! symmetry, through calls between annotated functions, and with `wrt(..)`.

#![allow(clippy::needless_range_loop)]

mod common;

use common::assert_close;
use grad::derive_gradient;

#[derive_gradient(hessian)]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x) * (1.0 - x) + 100.0 * (y - x * x) * (y - x * x)
}

#[test]
fn rosenbrock_hessian_matches_its_closed_form() {
    for (x, y) in [(0.5, 2.0), (-1.2, 1.0), (1.0, 1.0)] {
        let (v, (gx, gy), h) = rosenbrock_hessian(x, y);
        assert_eq!(v, rosenbrock(x, y));
        let (_, (ex, ey)) = rosenbrock_grad(x, y);
        assert_eq!((gx, gy), (ex, ey));
        let hxx = 2.0 - 400.0 * (y - x * x) + 800.0 * x * x;
        let hxy = -400.0 * x;
        assert_close(h[(0, 0)], hxx, 1e-12, "hxx");
        assert_close(h[(0, 1)], hxy, 1e-12, "hxy");
        assert_close(h[(1, 0)], hxy, 1e-12, "hyx");
        assert_close(h[(1, 1)], 200.0, 1e-12, "hyy");
        let (_, _, (hvx, hvy)) = rosenbrock_hvp(x, y, 0.5, -2.0);
        assert_close(hvx, hxx * 0.5 - 2.0 * hxy, 1e-12, "Hv x");
        assert_close(hvy, hxy * 0.5 - 400.0, 1e-12, "Hv y");
    }
}

#[derive_gradient(hessian)]
fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = x.iter().map(|v| (v - m).exp()).sum();
    m + s.ln()
}

#[test]
fn log_sum_exp_hessian_is_diag_p_minus_p_pt() {
    let x = [0.3, -1.0, 2.0, 0.5];
    let (_, g, h) = logsumexp_hessian(&x);
    let z: f64 = x.iter().map(|v| v.exp()).sum();
    let p: Vec<f64> = x.iter().map(|v| v.exp() / z).collect();
    for i in 0..4 {
        assert_close(g[i], p[i], 1e-12, "gradient");
        for k in 0..4 {
            let want = if i == k {
                p[i] - p[i] * p[i]
            } else {
                -p[i] * p[k]
            };
            assert_close(h[(i, k)], want, 1e-10, &format!("h[{i},{k}]"));
        }
    }
}

#[derive_gradient(hessian)]
fn quadratic_form(x: [f64; 3]) -> f64 {
    let a = [[1.0, 2.0, 0.5], [-1.0, 3.0, 0.0], [4.0, 0.25, -2.0]];
    let mut s = 0.0;
    for i in 0..3 {
        for k in 0..3 {
            s += x[i] * a[i][k] * x[k];
        }
    }
    s
}

#[test]
fn hessian_of_x_a_x_is_a_plus_a_transpose() {
    let a = [[1.0, 2.0, 0.5], [-1.0, 3.0, 0.0], [4.0, 0.25, -2.0]];
    let (_, _, h) = quadratic_form_hessian([0.3, -0.8, 1.1]);
    for i in 0..3 {
        for k in 0..3 {
            assert_close(h[(i, k)], a[i][k] + a[k][i], 1e-12, &format!("h[{i},{k}]"));
            assert_eq!(h[(i, k)], h[(k, i)], "symmetric");
        }
    }
}

#[derive_gradient(hessian)]
fn recurrence(x: f64, c: f64) -> f64 {
    let mut y = x;
    for _ in 0..4 {
        y = y * y * c + 0.1;
    }
    y
}

#[test]
fn loop_carried_hessian_agrees_with_differences_of_the_gradient() {
    let (x, c) = (0.7, 0.9);
    let (_, _, h) = recurrence_hessian(x, c);
    let eps = 1e-6;
    let g = |x: f64, c: f64| recurrence_grad(x, c).1;
    let (gxp, gcp) = g(x + eps, c);
    let (gxm, gcm) = g(x - eps, c);
    assert_close(h[(0, 0)], (gxp - gxm) / (2.0 * eps), 1e-6, "hxx");
    assert_close(h[(1, 0)], (gcp - gcm) / (2.0 * eps), 1e-6, "hcx");
    let (gxp, gcp) = g(x, c + eps);
    let (gxm, gcm) = g(x, c - eps);
    assert_close(h[(0, 1)], (gxp - gxm) / (2.0 * eps), 1e-6, "hxc");
    assert_close(h[(1, 1)], (gcp - gcm) / (2.0 * eps), 1e-6, "hcc");
}

#[derive_gradient(hessian)]
fn inner(a: f64, b: f64) -> f64 {
    (a * b).sin() + a * a * b
}

#[derive_gradient(hessian, wrt(x))]
fn outer(x: &[f64], k: f64) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() {
        s += inner(x[i - 1], x[i] * k);
    }
    s
}

#[test]
fn hessian_through_calls_and_wrt() {
    let x = [0.3, -0.5, 0.9, 0.2];
    let k = 1.5;
    let (_, g, h) = outer_hessian(&x, k);
    assert_eq!(g, outer_grad(&x, k).1);
    assert_eq!((h.rows(), h.cols()), (4, 4));
    let eps = 1e-6;
    for j in 0..4 {
        let mut xp = x;
        let mut xm = x;
        xp[j] += eps;
        xm[j] -= eps;
        let gp = outer_grad(&xp, k).1;
        let gm = outer_grad(&xm, k).1;
        for i in 0..4 {
            assert_close(
                h[(i, j)],
                (gp[i] - gm[i]) / (2.0 * eps),
                1e-6,
                &format!("h[{i},{j}]"),
            );
        }
    }
    let v = [1.0, -0.5, 0.25, 2.0];
    let (_, _, hv) = outer_hvp(&x, k, &v);
    for i in 0..4 {
        let want: f64 = (0..4).map(|j| h[(i, j)] * v[j]).sum();
        assert_close(hv[i], want, 1e-10, "Hv");
    }
}
