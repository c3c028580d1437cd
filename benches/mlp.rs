//! A two-layer perceptron's loss with its weights in nested arrays (`[[f64; H]; D]`): the
//! generated gradient against a hand-written one, in the same run (issue: matrices, nested
//! arrays, structs; goal at most 1.10 x the hand-written gradient).
//!
//! The model: `h = relu(x W1 + b1)`, `out = w2 . h + b2`, squared error averaged over the
//! samples, with D = 8 inputs, H = 16 hidden units, N = 256 samples. Both gradients are
//! checked against each other before timing. Run: `cargo bench -p grad-dev --bench mlp`.

#![allow(clippy::needless_range_loop)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use grad::derive_gradient;
use grad::runtime::XorShift64;

const D: usize = 8;
const H: usize = 16;

#[derive_gradient(wrt(w1, b1, w2, b2))]
fn mlp_loss(
    w1: &[[f64; H]; D],
    b1: &[f64; H],
    w2: &[f64; H],
    b2: f64,
    xs: &[[f64; D]],
    ys: &[f64],
) -> f64 {
    let mut total = 0.0;
    for (x, y) in xs.iter().zip(ys) {
        let mut h = *b1;
        for i in 0..D {
            for j in 0..H {
                h[j] += x[i] * w1[i][j];
            }
        }
        let mut out = b2;
        for j in 0..H {
            out += w2[j] * h[j].max(0.0);
        }
        let r = out - y;
        total += r * r;
    }
    total / xs.len() as f64
}

/// The gradient by hand: one pass over the samples, back-propagating each sample's error
/// through the two layers into the caller's buffers.
#[allow(clippy::too_many_arguments)]
fn mlp_hand_into(
    w1: &[[f64; H]; D],
    b1: &[f64; H],
    w2: &[f64; H],
    b2: f64,
    xs: &[[f64; D]],
    ys: &[f64],
    g_w1: &mut [[f64; H]; D],
    g_b1: &mut [f64; H],
    g_w2: &mut [f64; H],
    g_b2: &mut f64,
) -> f64 {
    *g_w1 = [[0.0; H]; D];
    *g_b1 = [0.0; H];
    *g_w2 = [0.0; H];
    *g_b2 = 0.0;
    let mut total = 0.0;
    for (x, &y) in xs.iter().zip(ys) {
        let mut h = *b1;
        for i in 0..D {
            for j in 0..H {
                h[j] += x[i] * w1[i][j];
            }
        }
        let mut out = b2;
        for j in 0..H {
            out += w2[j] * h[j].max(0.0);
        }
        let r = out - y;
        total += r * r;
        let d_out = 2.0 * r;
        *g_b2 += d_out;
        let mut d_h = [0.0; H];
        for j in 0..H {
            g_w2[j] += d_out * h[j].max(0.0);
            d_h[j] = if h[j] > 0.0 { d_out * w2[j] } else { 0.0 };
            g_b1[j] += d_h[j];
        }
        for i in 0..D {
            for j in 0..H {
                g_w1[i][j] += x[i] * d_h[j];
            }
        }
    }
    let scale = 1.0 / xs.len() as f64;
    for row in g_w1.iter_mut() {
        for v in row.iter_mut() {
            *v *= scale;
        }
    }
    for j in 0..H {
        g_b1[j] *= scale;
        g_w2[j] *= scale;
    }
    *g_b2 *= scale;
    total * scale
}

type Grads = ([[f64; H]; D], [f64; H], [f64; H], f64);

fn flat(g: &Grads) -> Vec<f64> {
    let mut out: Vec<f64> = g.0.iter().flatten().copied().collect();
    out.extend(g.1);
    out.extend(g.2);
    out.push(g.3);
    out
}

fn benches(c: &mut Criterion) {
    let mut rng = XorShift64::new(0x0000_5EED_1A7E);
    let w1: [[f64; H]; D] =
        std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-0.5, 0.5)));
    let b1: [f64; H] = std::array::from_fn(|_| rng.uniform(-0.1, 0.1));
    let w2: [f64; H] = std::array::from_fn(|_| rng.uniform(-0.5, 0.5));
    let b2 = 0.05;
    let xs: Vec<[f64; D]> = (0..256)
        .map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
        .collect();
    let ys: Vec<f64> = xs.iter().map(|x| x.iter().sum::<f64>().sin()).collect();

    let mut hand: Grads = ([[0.0; H]; D], [0.0; H], [0.0; H], 0.0);
    let want_v = mlp_hand_into(
        &w1,
        &b1,
        &w2,
        b2,
        &xs,
        &ys,
        &mut hand.0,
        &mut hand.1,
        &mut hand.2,
        &mut hand.3,
    );
    let (v, got) = mlp_loss_grad(&w1, &b1, &w2, b2, &xs, &ys);
    assert!((v - want_v).abs() <= 1e-12 * want_v.abs());
    for (g, h) in flat(&got).iter().zip(flat(&hand)) {
        assert!((g - h).abs() <= 1e-10 * h.abs().max(1e-3), "{g} vs {h}");
    }

    let mut group = c.benchmark_group("mlp_D8_H16_N256");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    group.bench_function("primal", |b| {
        b.iter(|| mlp_loss(black_box(&w1), &b1, &w2, b2, black_box(&xs), &ys))
    });
    let mut g: Grads = ([[0.0; H]; D], [0.0; H], [0.0; H], 0.0);
    group.bench_function("generated_grad_into", |b| {
        b.iter(|| {
            mlp_loss_grad_into(
                black_box(&w1),
                &b1,
                &w2,
                b2,
                black_box(&xs),
                &ys,
                &mut g.0,
                &mut g.1,
                &mut g.2,
                &mut g.3,
            )
        })
    });
    group.bench_function("hand_grad_into", |b| {
        b.iter(|| {
            mlp_hand_into(
                black_box(&w1),
                &b1,
                &w2,
                b2,
                black_box(&xs),
                &ys,
                &mut g.0,
                &mut g.1,
                &mut g.2,
                &mut g.3,
            )
        })
    });
    group.finish();
}

criterion_group!(mlp, benches);
criterion_main!(mlp);
