//! The ReLU-neuron loss of MATH.md item 7, written as a plain loop over a flat row-major
//! `x: &[f64]`: its generated gradient against the hand-written closed form
//!
//! ```text
//! dC/dw = -(2/N) sum_i r_i [z_i > 0] X_i,   dC/db = -(2/N) sum_i r_i [z_i > 0]
//! ```
//!
//! and the finite-difference checker at several (N, d), with samples on both sides of the
//! kink; the convention at z = 0 exactly; `loss_grad_into`; and the training of
//! `examples/relu_neuron.rs`, which must converge to the true weights.

// The macro differentiates index loops, not iterator chains, so the loss indexes on purpose.
#![allow(clippy::needless_range_loop)]

use grad::derive_gradient;
use grad::runtime::{check_directional, check_gradient, Tolerance, XorShift64};

/// C(w, b) = (1/n) sum_i (y_i - max(0, w . x_i + b))^2, rows x_i of the n x d matrix `x`.
#[derive_gradient(wrt(w, b))]
fn loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
    let mut total = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        let r = y[i] - z.max(0.0);
        total += r * r;
    }
    total / n as f64
}

/// The closed form of MATH.md item 7, written by hand: (dC/dw, dC/db), indicator 0 at z = 0.
fn closed_form(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> (Vec<f64>, f64) {
    let mut gw = vec![0.0; d];
    let mut gb = 0.0;
    for i in 0..n {
        let row = &x[i * d..(i + 1) * d];
        let z = b + row.iter().zip(w).map(|(a, c)| a * c).sum::<f64>();
        if z > 0.0 {
            let r = y[i] - z;
            for j in 0..d {
                gw[j] -= 2.0 / n as f64 * r * row[j];
            }
            gb -= 2.0 / n as f64 * r;
        }
    }
    (gw, gb)
}

/// A problem of `n` samples of dimension `d`.
struct Problem {
    w: Vec<f64>,
    b: f64,
    x: Vec<f64>,
    y: Vec<f64>,
    n: usize,
    d: usize,
}

impl Problem {
    /// Random weights, X uniform in [-1, 1], targets uniform in [0, 2]. Every z_i is kept at
    /// least `margin` away from the kink (rows are redrawn), so finite differences do not
    /// straddle it.
    fn random(seed: u64, n: usize, d: usize, margin: f64) -> Self {
        let mut rng = XorShift64::new(seed);
        let w: Vec<f64> = (0..d).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let b = rng.uniform(-0.2, 0.2);
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            loop {
                let row: Vec<f64> = (0..d).map(|_| rng.uniform(-1.0, 1.0)).collect();
                let z = b + row.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>();
                if z.abs() >= margin {
                    x.extend(row);
                    break;
                }
            }
        }
        let y = (0..n).map(|_| rng.uniform(0.0, 2.0)).collect();
        Problem { w, b, x, y, n, d }
    }

    fn z(&self, i: usize) -> f64 {
        let row = &self.x[i * self.d..(i + 1) * self.d];
        self.b + row.iter().zip(&self.w).map(|(a, c)| a * c).sum::<f64>()
    }

    fn active(&self) -> usize {
        (0..self.n).filter(|&i| self.z(i) > 0.0).count()
    }

    /// The loss as a function of the flat parameters [w.., b].
    fn loss_at(&self, p: &[f64]) -> f64 {
        loss(&p[..self.d], p[self.d], &self.x, &self.y, self.n, self.d)
    }

    fn params(&self) -> Vec<f64> {
        let mut p = self.w.clone();
        p.push(self.b);
        p
    }
}

/// `|a - b| <= 1e-12 * max(1, |a|, |b|)`: the generated and hand-written sums differ only in
/// rounding.
#[track_caller]
fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0),
        "{what}: {a} vs {b}"
    );
}

#[track_caller]
fn assert_matches_closed_form_and_fd(p: &Problem) {
    let (value, (gw, gb)) = loss_grad(&p.w, p.b, &p.x, &p.y, p.n, p.d);
    assert_close(value, loss(&p.w, p.b, &p.x, &p.y, p.n, p.d), "value");
    assert_eq!(gw.len(), p.d);
    let (hw, hb) = closed_form(&p.w, p.b, &p.x, &p.y, p.n, p.d);
    for j in 0..p.d {
        assert_close(
            gw[j],
            hw[j],
            &format!("dC/dw[{j}] at N = {}, d = {}", p.n, p.d),
        );
    }
    assert_close(gb, hb, &format!("dC/db at N = {}, d = {}", p.n, p.d));
    let mut g = gw.clone();
    g.push(gb);
    if let Err(e) = check_gradient(|q| p.loss_at(q), &p.params(), &g, Tolerance::default()) {
        panic!("N = {}, d = {}: {e}", p.n, p.d);
    }
    if let Err(e) = check_directional(|q| p.loss_at(q), &p.params(), &g, Tolerance::default(), 7) {
        panic!("N = {}, d = {}: {e}", p.n, p.d);
    }
}

#[test]
fn gradient_matches_closed_form_and_finite_differences() {
    for (n, d) in [(7, 3), (64, 4), (200, 16), (33, 1), (5, 40)] {
        for seed in 0..3 {
            let p = Problem::random(1000 * n as u64 + seed, n, d, 1e-2);
            // Both sides of the kink are represented.
            let active = p.active();
            assert!(
                0 < active && active < n,
                "N = {n}, d = {d}: {active} active samples"
            );
            assert_matches_closed_form_and_fd(&p);
        }
    }
}

#[test]
fn single_sample_single_feature() {
    // (N, d) = (1, 1): C = (y - max(0, w x + b))^2.
    let (x, y) = ([2.0], [1.0]);
    // Active: z = 0.75 * 2 + 0.5 = 2, r = -1, dC/dw = -2 r x = 4, dC/db = -2 r = 2.
    let (value, (gw, gb)) = loss_grad(&[0.75], 0.5, &x, &y, 1, 1);
    assert_eq!(value, 1.0);
    assert_eq!((gw, gb), (vec![4.0], 2.0));
    // Inactive: z = -1.5, the neuron outputs 0, nothing flows back.
    let (value, (gw, gb)) = loss_grad(&[-1.0], 0.5, &x, &y, 1, 1);
    assert_eq!(value, 1.0);
    assert_eq!((gw, gb), (vec![0.0], 0.0));
    for (w, b) in [(0.75, 0.5), (-1.0, 0.5), (0.1, -0.05), (0.3, 0.1)] {
        let p = Problem {
            w: vec![w],
            b,
            x: x.to_vec(),
            y: y.to_vec(),
            n: 1,
            d: 1,
        };
        assert_matches_closed_form_and_fd(&p);
    }
}

#[test]
fn all_samples_active_or_all_inactive() {
    // A large positive bias makes every sample active; a large negative one none.
    let mut p = Problem::random(5, 50, 3, 1e-2);
    p.b = 10.0;
    assert_eq!(p.active(), 50);
    assert_matches_closed_form_and_fd(&p);
    p.b = -10.0;
    assert_eq!(p.active(), 0);
    let (_, (gw, gb)) = loss_grad(&p.w, p.b, &p.x, &p.y, p.n, p.d);
    assert_eq!((gw, gb), (vec![0.0; 3], 0.0));
    assert_matches_closed_form_and_fd(&p);
}

#[test]
fn kink_at_zero_takes_the_zero_derivative() {
    // z = w x + b = 0 exactly for the first sample: max(0, z) has derivative 0 there (the tie
    // goes to the second argument of `z.max(0.0)`), so that sample contributes nothing.
    let x = [1.0, 2.0];
    let y = [1.0, 3.0];
    let (w, b) = ([0.5], -0.5);
    // Sample 0: z = 0, dead. Sample 1: z = 0.5, r = 2.5 -> dC/dw = -(2/2) 2.5 * 2, dC/db = -2.5.
    let (value, (gw, gb)) = loss_grad(&w, b, &x, &y, 2, 1);
    assert_eq!(value, (1.0 + 6.25) / 2.0);
    assert_eq!((gw.clone(), gb), (vec![-5.0], -2.5));
    assert_eq!((gw, gb), closed_form(&w, b, &x, &y, 2, 1));
}

#[test]
fn grad_into_overwrites_and_matches() {
    let p = Problem::random(77, 64, 4, 1e-2);
    let (value, (gw, gb)) = loss_grad(&p.w, p.b, &p.x, &p.y, p.n, p.d);
    let mut bw = vec![f64::NAN; 4];
    let mut bb = 1e300;
    for _ in 0..2 {
        let v = loss_grad_into(&p.w, p.b, &p.x, &p.y, p.n, p.d, &mut bw, &mut bb);
        assert_eq!(v, value);
        assert_eq!((&bw, bb), (&gw, gb));
    }
}

#[test]
fn zero_samples_give_a_zero_gradient() {
    // 0/0 is NaN for the value, but with no sample no path leads from w or b to the result, so
    // their adjoints stay 0 (as the pushforward says); the fused reduction gives inf * 0 = NaN.
    let (value, (gw, gb)) = loss_grad(&[1.0, 2.0], 0.5, &[], &[], 0, 2);
    assert!(value.is_nan());
    assert_eq!((gw, gb), (vec![0.0; 2], 0.0));
}

// --- Training: the same run as examples/relu_neuron.rs -------------------------------------

const SEED: u64 = 2024;
const N: usize = 256;
const TRUE_W: [f64; 4] = [0.8, -0.5, 0.3, 1.2];
const TRUE_B: f64 = 0.2;
const NOISE: f64 = 0.01;
const LEARNING_RATE: f64 = 0.2;
const STEPS: usize = 1000;

/// The example's data: rows uniform in [-1, 1]^d, `y = max(0, w* . x + b*) + noise N(0, 1)`.
fn synthetic_data(seed: u64, n: usize, w: &[f64], b: f64, noise: f64) -> (Vec<f64>, Vec<f64>) {
    let d = w.len();
    let mut rng = XorShift64::new(seed);
    let x: Vec<f64> = (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = x
        .chunks(d)
        .map(|row| {
            let z: f64 = b + row.iter().zip(w).map(|(xj, wj)| xj * wj).sum::<f64>();
            z.max(0.0) + noise * rng.normal()
        })
        .collect();
    (x, y)
}

/// Gradient descent from w = 0, b = 0.1; returns (w, b, losses at each step).
fn train(x: &[f64], y: &[f64], d: usize, noise_free: bool) -> (Vec<f64>, f64, Vec<f64>) {
    let mut w = vec![0.0; d];
    let mut b = 0.1;
    let mut gw = vec![0.0; d];
    let mut gb = 0.0;
    let mut losses = Vec::with_capacity(STEPS);
    let steps = if noise_free { 3 * STEPS } else { STEPS };
    for _ in 0..steps {
        losses.push(loss_grad_into(&w, b, x, y, N, d, &mut gw, &mut gb));
        for j in 0..d {
            w[j] -= LEARNING_RATE * gw[j];
        }
        b -= LEARNING_RATE * gb;
    }
    (w, b, losses)
}

#[test]
fn training_converges_to_the_true_weights() {
    let d = TRUE_W.len();
    let (x, y) = synthetic_data(SEED, N, &TRUE_W, TRUE_B, NOISE);
    let (w, b, losses) = train(&x, &y, d, false);
    let last = *losses.last().unwrap();
    assert!(losses[0] > 0.1, "initial loss {}", losses[0]);
    // Down to the noise floor (noise variance 1e-4).
    assert!(last < 2e-4, "final loss {last}");
    assert!(last <= loss(&TRUE_W, TRUE_B, &x, &y, N, d) * 1.01);
    // Gradient descent with a small enough step never increases this loss here.
    for k in 1..losses.len() {
        assert!(
            losses[k] <= losses[k - 1] * (1.0 + 1e-12),
            "step {k}: {losses:?}"
        );
    }
    for j in 0..d {
        assert!(
            (w[j] - TRUE_W[j]).abs() < 0.01,
            "w[{j}] = {} vs {}",
            w[j],
            TRUE_W[j]
        );
    }
    assert!((b - TRUE_B).abs() < 0.01, "b = {b}");
}

#[test]
fn training_without_noise_recovers_the_weights_exactly() {
    let d = TRUE_W.len();
    let (x, y) = synthetic_data(SEED, N, &TRUE_W, TRUE_B, 0.0);
    let (w, b, losses) = train(&x, &y, d, true);
    assert!(
        *losses.last().unwrap() < 1e-20,
        "final loss {}",
        losses.last().unwrap()
    );
    for j in 0..d {
        assert!(
            (w[j] - TRUE_W[j]).abs() < 1e-9,
            "w[{j}] = {} vs {}",
            w[j],
            TRUE_W[j]
        );
    }
    assert!((b - TRUE_B).abs() < 1e-9, "b = {b}");
}
