//! Benchmark of issue 4: the Jacobian of a 3-output function of 16 inputs (three weighted sums
//! over a loop, through tanh, exp and sin), computed in the same run by:
//!
//! - `primal`: the function itself;
//! - `generated_jacobian`: the `f_jacobian` companion `#[derive_gradient]` generates;
//! - `generated_jacobian_into`: `f_jacobian_into`, the same into a matrix reused from call to
//!   call (no allocation), as the hand-written stack arrays are;
//! - `hand_jacobian`: the Jacobian derived and written by hand (one loop, returning stack
//!   arrays);
//! - `hand_jacobian_matrix`: the same, returning a `grad::Jacobian` as `f_jacobian` does (one
//!   heap allocation);
//! - `num_dual`: `num_dual::jacobian` with a static `SVector` of 16 vector duals;
//! - `finite_diff`: central differences (`grad::runtime::finite_diff_jacobian`, 33 calls).
//!
//! And the Jacobian of a `Vec` result over a loop that is not a sum, n outputs by 2n inputs
//! (n = 16, 64): `f_jacobian` (one forward sweep, a reverse sweep per row) against a whole
//! pullback per row (what `f_jacobian` did before `f_jacobian_rows`).
//!
//! After the 3 x 16 group, `f_jacobian` and each hand-written Jacobian are also timed
//! alternately (`support/interleaved.rs`) for ratios under the same conditions.
//!
//! Every Jacobian is checked against the hand-written one before anything is timed.
//! Run: `cargo bench -p grad-dev --bench jacobian`, then `python3 scripts/bench_table.py` (ratios vs
//! num-dual and vs the primal).

// Index loops on purpose: they are the plain loops the macro's users write and the
// hand-written baselines use the same indexing.
#![allow(clippy::needless_range_loop)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/interleaved.rs"]
mod interleaved;
use grad::derive_gradient;
use grad::runtime::XorShift64;
use nalgebra::{SMatrix, SVector};
use num_dual::{jacobian, DualNum, DualSVec64};

/// Three weighted sums of the inputs, each through a different nonlinearity.
#[derive_gradient]
fn f(x: [f64; 16]) -> [f64; 3] {
    let mut s0 = 0.0;
    let mut s1 = 0.0;
    let mut s2 = 0.0;
    for k in 0..16 {
        let t = (k as f64 + 1.0) / 16.0;
        s0 += t * x[k];
        s1 += (1.0 - t) * x[k] * x[k];
        s2 += (t - 0.5) * x[k];
    }
    [s0.tanh(), (0.1 * s1).exp(), (s2 + 0.1 * s0).sin()]
}

/// A `Vec` result over a loop that is not a sum (its reverse sweep pops a stack): one output
/// per input pair.
#[derive_gradient]
fn g(w: &[f64], x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; w.len()];
    let mut s = 0.0;
    for i in 0..w.len() {
        s += (w[i] * x[i]).sin();
    }
    for i in 0..w.len() {
        out[i] = (w[i] * s).tanh() + x[i];
    }
    out
}

/// `g`'s Jacobian as `f_jacobian` built it before `f_jacobian_rows`: a whole pullback (forward
/// sweep included) per row.
fn g_pullback_rows(w: &[f64], x: &[f64]) -> grad::Jacobian<f64> {
    let n = w.len();
    let mut m = grad::Jacobian::zeros(n, 2 * n);
    let mut seed = vec![0.0; n];
    let (mut aw, mut ax) = (vec![0.0; n], vec![0.0; n]);
    for r in 0..n {
        grad::runtime::set_unit(&mut seed[..], r);
        aw.fill(0.0);
        ax.fill(0.0);
        g_pullback(w, x, &seed, &mut aw, &mut ax);
        m.row_mut(r)[..n].copy_from_slice(&aw);
        m.row_mut(r)[n..].copy_from_slice(&ax);
    }
    m
}

/// The Jacobian of `f` by hand (numerator layout, row-major 3 x 16).
fn hand_jacobian(x: &[f64; 16]) -> ([f64; 3], [[f64; 16]; 3]) {
    let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for k in 0..16 {
        let t = (k as f64 + 1.0) / 16.0;
        s0 += t * x[k];
        s1 += (1.0 - t) * x[k] * x[k];
        s2 += (t - 0.5) * x[k];
    }
    let out = [s0.tanh(), (0.1 * s1).exp(), (s2 + 0.1 * s0).sin()];
    let d0 = 1.0 - out[0] * out[0];
    let d1 = 0.2 * out[1];
    let d2 = (s2 + 0.1 * s0).cos();
    let mut jac = [[0.0; 16]; 3];
    for k in 0..16 {
        let t = (k as f64 + 1.0) / 16.0;
        jac[0][k] = d0 * t;
        jac[1][k] = d1 * (1.0 - t) * x[k];
        jac[2][k] = d2 * (t - 0.5 + 0.1 * t);
    }
    (out, jac)
}

/// The same hand-written Jacobian returned as `f_jacobian` returns it, a heap
/// `grad::Jacobian`: the comparison of like with like. Written out in full, as
/// `hand_jacobian` is: with their common part in a shared helper, LLVM compiled
/// `hand_jacobian` a quarter faster, and the baselines should stay what they were.
fn hand_jacobian_matrix(x: &[f64; 16]) -> ([f64; 3], grad::Jacobian<f64>) {
    let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for k in 0..16 {
        let t = (k as f64 + 1.0) / 16.0;
        s0 += t * x[k];
        s1 += (1.0 - t) * x[k] * x[k];
        s2 += (t - 0.5) * x[k];
    }
    let out = [s0.tanh(), (0.1 * s1).exp(), (s2 + 0.1 * s0).sin()];
    let d0 = 1.0 - out[0] * out[0];
    let d1 = 0.2 * out[1];
    let d2 = (s2 + 0.1 * s0).cos();
    let mut jac = grad::Jacobian::zeros(3, 16);
    for k in 0..16 {
        let t = (k as f64 + 1.0) / 16.0;
        jac[(0, k)] = d0 * t;
        jac[(1, k)] = d1 * (1.0 - t) * x[k];
        jac[(2, k)] = d2 * (t - 0.5 + 0.1 * t);
    }
    (out, jac)
}

/// `f` generic over num-dual's number types.
fn f_dual<D: DualNum<f64> + Copy>(x: &[D]) -> [D; 3] {
    let (mut s0, mut s1, mut s2) = (D::zero(), D::zero(), D::zero());
    for k in 0..16 {
        let t = (k as f64 + 1.0) / 16.0;
        s0 += x[k] * t;
        s1 += x[k] * x[k] * (1.0 - t);
        s2 += x[k] * (t - 0.5);
    }
    [s0.tanh(), (s1 * 0.1).exp(), (s2 + s0 * 0.1).sin()]
}

fn num_dual_jacobian(x: &[f64; 16]) -> (SVector<f64, 3>, SMatrix<f64, 3, 16>) {
    jacobian(
        |v: SVector<DualSVec64<16>, 16>| SVector::from(f_dual(v.as_slice())),
        SVector::from(*x),
    )
}

fn finite_diff(x: &[f64; 16]) -> grad::Jacobian<f64> {
    grad::runtime::finite_diff_jacobian(|v: &[f64]| f(v.try_into().unwrap()).to_vec(), x)
}

fn assert_close(what: &str, got: impl Fn(usize, usize) -> f64, want: &[[f64; 16]; 3], rel: f64) {
    for (i, row) in want.iter().enumerate() {
        let scale = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (k, &w) in row.iter().enumerate() {
            let g = got(i, k);
            assert!(
                (g - w).abs() <= rel * g.abs().max(w.abs()).max(scale),
                "{what}: J[({i}, {k})] = {g:e}, want {w:e}"
            );
        }
    }
}

fn benches(c: &mut Criterion) {
    let mut rng = XorShift64::new(0x5EED_0016);
    let x: [f64; 16] = std::array::from_fn(|_| rng.uniform(-1.0, 1.0));

    let (want_out, want) = hand_jacobian(&x);
    assert_eq!(want_out, f(x));
    let (out, jac) = f_jacobian(x);
    assert_eq!((jac.rows(), jac.cols()), (3, 16));
    assert_close("generated f_jacobian", |i, k| jac[(i, k)], &want, 1e-12);
    assert_eq!(out, want_out);
    let (out, jac) = num_dual_jacobian(&x);
    assert_close("num_dual", |i, k| jac[(i, k)], &want, 1e-12);
    assert_close(
        "num_dual value",
        |i, _| out[i],
        &want_out.map(|v| [v; 16]),
        1e-12,
    );
    let jac = finite_diff(&x);
    assert_close("finite_diff", |i, k| jac[(i, k)], &want, 1e-6);
    let (out, jac) = hand_jacobian_matrix(&x);
    assert_eq!(out, want_out);
    assert_close("hand_jacobian_matrix", |i, k| jac[(i, k)], &want, 0.0);
    let mut into = grad::Jacobian::from_rows(1, 1, vec![f64::NAN]);
    assert_eq!(f_jacobian_into(x, &mut into), want_out);
    assert_close(
        "generated f_jacobian_into",
        |i, k| into[(i, k)],
        &want,
        1e-12,
    );

    let mut group = c.benchmark_group("jacobian_3x16");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    group.bench_function("primal", |b| b.iter(|| f(black_box(x))));
    group.bench_function("generated_jacobian", |b| {
        b.iter(|| f_jacobian(black_box(x)))
    });
    let mut matrix = grad::Jacobian::zeros(3, 16);
    group.bench_function("generated_jacobian_into", |b| {
        b.iter(|| f_jacobian_into(black_box(x), black_box(&mut matrix)))
    });
    group.bench_function("hand_jacobian", |b| b.iter(|| hand_jacobian(black_box(&x))));
    group.bench_function("hand_jacobian_matrix", |b| {
        b.iter(|| hand_jacobian_matrix(black_box(&x)))
    });
    group.bench_function("num_dual", |b| b.iter(|| num_dual_jacobian(black_box(&x))));
    group.bench_function("finite_diff", |b| b.iter(|| finite_diff(black_box(&x))));
    group.finish();
    interleaved::ratio(
        "jacobian_3x16",
        || f_jacobian(black_box(x)),
        || hand_jacobian(black_box(&x)),
    );
    interleaved::ratio(
        "jacobian_3x16_into",
        || f_jacobian_into(black_box(x), black_box(&mut matrix)),
        || hand_jacobian(black_box(&x)),
    );
    interleaved::ratio(
        "jacobian_3x16_matrix",
        || f_jacobian(black_box(x)),
        || hand_jacobian_matrix(black_box(&x)),
    );

    for n in [16, 64] {
        let w: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let (out, jac) = g_jacobian(&w, &x);
        assert_eq!(out, g(&w, &x));
        let rows = g_pullback_rows(&w, &x);
        for (a, b) in jac.as_slice().iter().zip(rows.as_slice()) {
            assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} vs {b}");
        }
        let mut group = c.benchmark_group(format!("vec_jacobian_n{n}"));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        group.bench_function("primal", |b| b.iter(|| g(black_box(&w), black_box(&x))));
        group.bench_function("generated_jacobian", |b| {
            b.iter(|| g_jacobian(black_box(&w), black_box(&x)))
        });
        group.bench_function("pullback_per_row", |b| {
            b.iter(|| g_pullback_rows(black_box(&w), black_box(&x)))
        });
        group.finish();
    }
}

criterion_group!(jac, benches);
criterion_main!(jac);
