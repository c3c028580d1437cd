//! Custom rules by hand (API.md, *Custom rules*, second form): a function the macro does not
//! read gets a hand-written `_pullback` and `_pushforward` following the companions' calling
//! convention, and annotated functions call it like any annotated function: reverse mode
//! (and the pushforward of a float result, the gradient along the tangent) through the
//! pullback, forward mode (the Jacobian columns of a function with more outputs than inputs)
//! through the pushforward.
//!
//! - `log_sum_exp(x: &[f64]) -> f64`, computed stably (the maximum taken out); its pullback
//!   adds `seed * softmax(x)` into the adjoint, its pushforward returns `softmax(x) . t`.
//! - `round_ste(x: f64) -> f64`: rounding with a straight-through gradient (derivative 1,
//!   as quantisation-aware training uses), a rule that deliberately differs from the true
//!   derivative (0 almost everywhere).

use grad::derive_gradient;
use grad::runtime::{assert_gradient_close, Tolerance};

/// `ln(sum(exp(x)))` without overflow.
fn log_sum_exp(x: &[f64]) -> f64 {
    let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// Reverse mode: the value, and `seed * d/dx` added into `adj_x`.
fn log_sum_exp_pullback(x: &[f64], seed: f64, adj_x: &mut [f64]) -> f64 {
    let value = log_sum_exp(x);
    for (a, v) in adj_x.iter_mut().zip(x) {
        *a += seed * (v - value).exp();
    }
    value
}

/// Forward mode: the value and the derivative along `tan_x`.
fn log_sum_exp_pushforward(x: &[f64], tan_x: &[f64]) -> (f64, f64) {
    let value = log_sum_exp(x);
    let d = x
        .iter()
        .zip(tan_x)
        .map(|(v, t)| (v - value).exp() * t)
        .sum();
    (value, d)
}

fn round_ste(x: f64) -> f64 {
    x.round()
}

fn round_ste_pullback(x: f64, seed: f64, adj_x: &mut f64) -> f64 {
    *adj_x += seed;
    x.round()
}

fn round_ste_pushforward(x: f64, tan_x: f64) -> (f64, f64) {
    (x.round(), tan_x)
}

/// A softmax classifier's loss over samples: `lse(W x_i) - (W x_i)[y_i]`, calling the
/// hand-written rule inside the sample loop.
#[derive_gradient(wrt(w))]
fn cross_entropy(w: &[f64], xs: &[[f64; 2]], ys: &[usize]) -> f64 {
    let mut total = 0.0;
    for (x, &y) in xs.iter().zip(ys) {
        let logits = vec![
            w[0] * x[0] + w[1] * x[1],
            w[2] * x[0] + w[3] * x[1],
            w[4] * x[0] + w[5] * x[1],
        ];
        total += log_sum_exp(&logits) - logits[y];
    }
    total / xs.len() as f64
}

#[derive_gradient]
fn quantised(w: f64, x: f64) -> f64 {
    let q = round_ste(4.0 * w) / 4.0;
    (q * x - 1.0).powi(2)
}

#[test]
fn a_hand_written_rule_is_called_inside_a_loop() {
    let w = [0.5, -0.3, 0.2, 0.8, -0.6, 0.1];
    let xs = [[1.0, 2.0], [0.5, -1.0], [-2.0, 0.3], [800.0, 900.0]];
    let ys = [0, 2, 1, 1];
    let (v, g) = cross_entropy_grad(&w, &xs, &ys);
    assert_eq!(v, cross_entropy(&w, &xs, &ys));
    assert!(
        v.is_finite(),
        "the stable form does not overflow at x = 900"
    );
    let small = &xs[..3];
    let (_, g3) = cross_entropy_grad(&w, small, &ys[..3]);
    assert_gradient_close(
        |p| cross_entropy(p, small, &ys[..3]),
        &w,
        &g3,
        Tolerance::default(),
    );
    // Forward mode through the hand-written pushforward agrees with reverse mode.
    for k in 0..w.len() {
        let mut t = [0.0; 6];
        t[k] = 1.0;
        let (pv, d) = cross_entropy_pushforward(&w, &xs, &ys, &t, &[[0.0; 2]; 4]);
        assert_eq!(pv, v);
        assert!((d - g[k]).abs() <= 1e-12 * g[k].abs().max(1.0), "d/dw{k}");
    }
}

/// More outputs than inputs: its Jacobian is built from forward-mode columns, which call
/// the hand-written pushforwards.
#[derive_gradient]
fn features(a: f64, b: f64) -> [f64; 3] {
    let v = vec![a, b, a * b];
    [log_sum_exp(&v), round_ste(a) * b, a + b]
}

#[test]
fn forward_mode_calls_the_hand_written_pushforwards() {
    let (a, b) = (0.7, -1.2);
    let (value, j) = features_jacobian(a, b);
    assert_eq!(value, features(a, b));
    let lse = value[0];
    let soft = [a, b, a * b].map(|v| (v - lse).exp());
    let want = [
        [soft[0] + soft[2] * b, soft[1] + soft[2] * a],
        // Straight through: d round_ste(a) / da = 1.
        [b, a.round()],
        [1.0, 1.0],
    ];
    for (i, row) in want.iter().enumerate() {
        for (k, w) in row.iter().enumerate() {
            let got = j[(i, k)];
            assert!((got - w).abs() <= 1e-14, "J[{i}, {k}] = {got}, want {w}");
        }
    }
}

#[test]
fn a_rule_may_differ_from_the_true_derivative() {
    let (w, x) = (0.3, 2.0);
    let (v, (dw, dx)) = quantised_grad(w, x);
    let q = (4.0 * w).round() / 4.0;
    assert_eq!(v, (q * x - 1.0).powi(2));
    // Straight through: d round_ste(4w) / dw = 4, so d q / dw = 1.
    assert_eq!(dw, 2.0 * (q * x - 1.0) * x);
    assert_eq!(dx, 2.0 * (q * x - 1.0) * q);
    let (_, t) = quantised_pushforward(w, x, 1.0, 0.0);
    assert_eq!(t, dw);
}
