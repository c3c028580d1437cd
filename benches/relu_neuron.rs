//! Benchmark of issue 4: the ReLU-neuron loss of MATH.md item 7, written as the plain loop a
//! user would write, and its gradient computed six ways in the same run:
//!
//! - `primal`: the function itself (the denominator of every ratio);
//! - `generated_grad` / `generated_grad_into`: the companions `#[derive_gradient]` generates
//!   (allocating `Vec` gradient / caller-provided buffers);
//! - `generated_iter_grad` / `generated_iter_grad_into`: the same companions of `loss_iter`,
//!   the loss written with iterators (`x.chunks_exact(d).zip(y)`, `w.iter().zip(row)`);
//! - `hand_fused` / `hand_fused_into`: the best single-pass gradient a person writes in plain
//!   Rust with the same indexing (allocating / caller buffers);
//! - `hand_fused_nobranch`: the fused pass with `coef = if z > 0 { scale * r } else { 0 }` and
//!   the update done for every row: no data-dependent branch, so a mispredicted `z > 0` does
//!   not throw away the next row's dot product (caller buffers);
//! - `hand_fused_4acc`: the same fused pass with the dot product split over four accumulators
//!   (reassociated, as a person chasing SIMD writes it; the plain loops above are strict
//!   left-to-right sums that cannot vectorise), caller buffers;
//! - `hand_two_pass`: a hand-written forward pass storing `z_i`, then a backward pass;
//! - `num_dual`: forward-mode vector dual numbers, `num_dual::gradient` over an `SVector` of the
//!   d + 1 parameters (the crate's idiomatic gradient); at the two large sizes it runs on the
//!   first `N_DUAL` rows only and its id says so (`num_dual_N10000`): the cost is linear in N
//!   and `scripts/bench_table.py` scales it up to the full N;
//! - `finite_diff`: central differences (`grad::runtime::finite_diff_gradient`, 2 (d + 1)
//!   primal calls), only at the two small sizes.
//!
//! After each size's group, `generated_grad_into` and `hand_fused_into` are also timed
//! alternately (`support/interleaved.rs`) for a ratio under the same conditions.
//!
//! Before measuring, every gradient is checked against the hand-written fused one, so the
//! benchmark cannot time a wrong function. Run: `cargo bench -p grad-dev --bench relu_neuron`, then
//! `python3 scripts/bench_table.py`.

// Index loops on purpose: they are the plain loops the macro's users write and the
// hand-written baselines use the same indexing.
#![allow(clippy::needless_range_loop)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use grad::derive_gradient;
use grad::runtime::XorShift64;
use nalgebra::SVector;
use num_dual::{gradient, DualNum, DualSVec64};

/// The hand-written fused gradient, shared with `benches/parallel.rs`.
#[path = "relu_hand.rs"]
mod relu_hand;
use relu_hand::hand_fused_into;

#[path = "support/interleaved.rs"]
mod interleaved;

/// The loss exactly as a user writes it (MATH.md item 7).
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

/// The same loss in iterator style (issue 10: within 1.10 x of the indexed form's gradient).
#[derive_gradient(wrt(w, b))]
fn loss_iter(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
    let total: f64 = x
        .chunks_exact(d)
        .zip(y)
        .map(|(row, &t)| {
            let z = b + w.iter().zip(row).map(|(wj, xj)| wj * xj).sum::<f64>();
            let r = t - z.max(0.0);
            r * r
        })
        .sum();
    total / n as f64
}

/// `hand_fused_into` without the data-dependent branch: inactive rows add `0 * x`.
#[allow(clippy::too_many_arguments)]
fn hand_fused_nobranch(
    w: &[f64],
    b: f64,
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    g_w: &mut [f64],
    g_b: &mut f64,
) -> f64 {
    g_w.fill(0.0);
    let scale = -2.0 / n as f64;
    let mut gb = 0.0;
    let mut total = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        let r = y[i] - z.max(0.0);
        total += r * r;
        let coef = if z > 0.0 { scale * r } else { 0.0 };
        gb += coef;
        for j in 0..d {
            g_w[j] += coef * x[i * d + j];
        }
    }
    *g_b = gb;
    total / n as f64
}

/// `hand_fused_into` with the row's dot product over four independent accumulators.
#[allow(clippy::too_many_arguments)]
fn hand_fused_4acc(
    w: &[f64],
    b: f64,
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    g_w: &mut [f64],
    g_b: &mut f64,
) -> f64 {
    g_w.fill(0.0);
    let scale = -2.0 / n as f64;
    let d4 = d - d % 4;
    let mut gb = 0.0;
    let mut total = 0.0;
    for i in 0..n {
        let mut acc = [0.0; 4];
        let mut j = 0;
        while j < d4 {
            acc[0] += w[j] * x[i * d + j];
            acc[1] += w[j + 1] * x[i * d + j + 1];
            acc[2] += w[j + 2] * x[i * d + j + 2];
            acc[3] += w[j + 3] * x[i * d + j + 3];
            j += 4;
        }
        let mut z = b + ((acc[0] + acc[1]) + (acc[2] + acc[3]));
        for j in d4..d {
            z += w[j] * x[i * d + j];
        }
        let r = y[i] - z.max(0.0);
        total += r * r;
        if z > 0.0 {
            let coef = scale * r;
            gb += coef;
            for j in 0..d {
                g_w[j] += coef * x[i * d + j];
            }
        }
    }
    *g_b = gb;
    total / n as f64
}

/// The fused gradient with the same signature as the generated `loss_grad`.
fn hand_fused(
    w: &[f64],
    b: f64,
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
) -> (f64, (Vec<f64>, f64)) {
    let mut g_w = vec![0.0; d];
    let mut g_b = 0.0;
    let v = hand_fused_into(w, b, x, y, n, d, &mut g_w, &mut g_b);
    (v, (g_w, g_b))
}

/// Hand-written two-pass gradient: the forward pass stores every z_i, the backward pass
/// reads them back (what a tape-based reverse mode does, written by hand).
fn hand_two_pass(
    w: &[f64],
    b: f64,
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
) -> (f64, (Vec<f64>, f64)) {
    let mut zs = vec![0.0; n];
    let mut total = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        zs[i] = z;
        let r = y[i] - z.max(0.0);
        total += r * r;
    }
    let scale = -2.0 / n as f64;
    let mut g_w = vec![0.0; d];
    let mut g_b = 0.0;
    for i in 0..n {
        let z = zs[i];
        if z > 0.0 {
            let coef = scale * (y[i] - z);
            g_b += coef;
            for j in 0..d {
                g_w[j] += coef * x[i * d + j];
            }
        }
    }
    (total / n as f64, (g_w, g_b))
}

/// The same loss, generic over num-dual's number types.
fn loss_dual<D: DualNum<f64> + Copy>(w: &[D], b: D, x: &[f64], y: &[f64], n: usize, d: usize) -> D {
    let mut total = D::zero();
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        // max(z, 0) with derivative 0 at the tie, as the macro's convention.
        let a = if z.re() > 0.0 { z } else { D::zero() };
        let r = -a + y[i];
        total += r * r;
    }
    total / n as f64
}

/// Gradient by num-dual: `P = d + 1` parameters (w then b) as one static dual vector.
fn num_dual_grad<const P: usize>(
    w: &[f64],
    b: f64,
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
) -> (f64, SVector<f64, P>) {
    assert_eq!(P, d + 1);
    let mut p = [0.0; P];
    p[..d].copy_from_slice(w);
    p[d] = b;
    gradient(
        |v: SVector<DualSVec64<P>, P>| loss_dual(&v.as_slice()[..d], v[d], x, y, n, d),
        SVector::from(p),
    )
}

/// Central finite differences over the d + 1 parameters.
fn finite_diff(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> Vec<f64> {
    let mut p = w.to_vec();
    p.push(b);
    grad::runtime::finite_diff_gradient(|p: &[f64]| loss(&p[..d], p[d], x, y, n, d), &p)
}

/// A synthetic data set: x ~ N(0, 1), w ~ N(0, 1/d), b = 0.1, y ~ U(0, 2); so z_i is roughly
/// N(0.1, 1) and about half the rows are active (z_i > 0), half are not.
struct Data {
    n: usize,
    d: usize,
    w: Vec<f64>,
    b: f64,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Data {
    fn new(n: usize, d: usize) -> Data {
        let mut rng = XorShift64::new(0x5EED_0004 ^ ((n as u64) << 20) ^ d as u64);
        let s = 1.0 / (d as f64).sqrt();
        let w: Vec<f64> = (0..d).map(|_| s * rng.normal()).collect();
        let x: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
        let y: Vec<f64> = (0..n).map(|_| rng.uniform(0.0, 2.0)).collect();
        let data = Data {
            n,
            d,
            w,
            b: 0.1,
            x,
            y,
        };
        let active = (0..n).filter(|&i| data.z(i) > 0.0).count();
        assert!(
            active * 5 > n && active * 5 < 4 * n,
            "want a mix of active and inactive rows, got {active} of {n} active"
        );
        data
    }

    fn z(&self, i: usize) -> f64 {
        let row = &self.x[i * self.d..(i + 1) * self.d];
        self.b + self.w.iter().zip(row).map(|(w, x)| w * x).sum::<f64>()
    }

    /// The first `m` rows only (for the slow num-dual runs).
    fn rows(&self, m: usize) -> (&[f64], &[f64]) {
        (&self.x[..m * self.d], &self.y[..m])
    }
}

/// `|a - b| <= rel * max(|a|, |b|, scale)`: relative error, measured against the largest
/// gradient entry so that an entry that cancels to almost zero is not judged on its own.
fn assert_close(what: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let bound = rel * g.abs().max(w.abs()).max(scale);
        assert!(
            (g - w).abs() <= bound,
            "{what}: entry {k}: got {g:e}, want {w:e} (|diff| {:e} > {bound:e})",
            (g - w).abs()
        );
    }
}

fn flat(v: f64, (g_w, g_b): (Vec<f64>, f64)) -> Vec<f64> {
    let mut out = vec![v];
    out.extend(g_w);
    out.push(g_b);
    out
}

/// Every method must give the hand-written fused gradient before anything is timed.
fn check<const P: usize>(data: &Data, n_dual: usize) {
    let Data {
        n,
        d,
        ref w,
        b,
        ref x,
        ref y,
    } = *data;
    let (v, g) = hand_fused(w, b, x, y, n, d);
    let want = flat(v, g);
    assert_eq!(v, loss(w, b, x, y, n, d), "hand_fused value vs primal");

    let (v, g) = loss_grad(w, b, x, y, n, d);
    assert_close("generated loss_grad", &flat(v, g), &want, 1e-9);
    let (v, g) = loss_iter_grad(w, b, x, y, n, d);
    assert_close("generated loss_iter_grad", &flat(v, g), &want, 1e-9);
    let mut g_w = vec![f64::NAN; d];
    let mut g_b = f64::NAN;
    let v = loss_grad_into(w, b, x, y, n, d, &mut g_w, &mut g_b);
    assert_close(
        "generated loss_grad_into",
        &flat(v, (g_w, g_b)),
        &want,
        1e-9,
    );
    let mut g_w = vec![f64::NAN; d];
    let mut g_b = f64::NAN;
    let v = hand_fused_nobranch(w, b, x, y, n, d, &mut g_w, &mut g_b);
    assert_close(
        "hand_fused_nobranch",
        &flat(v, (g_w.clone(), g_b)),
        &want,
        1e-9,
    );
    let v = hand_fused_4acc(w, b, x, y, n, d, &mut g_w, &mut g_b);
    assert_close("hand_fused_4acc", &flat(v, (g_w, g_b)), &want, 1e-9);
    let (v, g) = hand_two_pass(w, b, x, y, n, d);
    assert_close("hand_two_pass", &flat(v, g), &want, 1e-9);

    let (xs, ys) = data.rows(n_dual);
    let (v, g) = hand_fused(w, b, xs, ys, n_dual, d);
    let want_dual = flat(v, g);
    let (v, g) = num_dual_grad::<P>(w, b, xs, ys, n_dual, d);
    let mut got = vec![v];
    got.extend(g.iter());
    assert_close("num_dual", &got, &want_dual, 1e-9);

    if n * d <= 16_000 {
        let fd = finite_diff(w, b, x, y, n, d);
        assert_close("finite_diff", &fd, &want[1..], 1e-5);
    }
}

fn bench_size<const P: usize>(c: &mut Criterion, n: usize, d: usize, n_dual: usize) {
    let data = Data::new(n, d);
    check::<P>(&data, n_dual);
    let Data {
        ref w,
        b,
        ref x,
        ref y,
        ..
    } = data;

    let mut group = c.benchmark_group(format!("relu_N{n}_d{d}"));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));

    // One call of a method, every input opaque, then any further arguments.
    macro_rules! call {
        ($f:path $(, $more:expr)*) => {
            $f(
                black_box(w),
                black_box(b),
                black_box(x),
                black_box(y),
                black_box(n),
                black_box(d),
                $($more),*
            )
        };
    }
    // One benchmark per method, each called directly (no function pointer in the way).
    macro_rules! by_value {
        ($name:literal, $f:path) => {
            group.bench_function($name, |bch| bch.iter(|| call!($f)));
        };
    }
    let mut g_w = vec![0.0; d];
    let mut g_b = 0.0;
    // A gradient into the buffers `$g_w`, `$g_b`.
    macro_rules! call_into {
        ($f:path, $g_w:expr, $g_b:expr) => {{
            let v = call!($f, &mut $g_w, &mut $g_b);
            black_box((&$g_w, $g_b));
            v
        }};
    }
    macro_rules! into_buffers {
        ($name:literal, $f:path) => {
            group.bench_function($name, |bch| bch.iter(|| call_into!($f, g_w, g_b)));
        };
    }
    by_value!("primal", loss);
    by_value!("generated_grad", loss_grad);
    into_buffers!("generated_grad_into", loss_grad_into);
    by_value!("generated_iter_grad", loss_iter_grad);
    into_buffers!("generated_iter_grad_into", loss_iter_grad_into);
    by_value!("hand_fused", hand_fused);
    into_buffers!("hand_fused_into", hand_fused_into);
    into_buffers!("hand_fused_nobranch", hand_fused_nobranch);
    into_buffers!("hand_fused_4acc", hand_fused_4acc);
    by_value!("hand_two_pass", hand_two_pass);

    let (xs, ys) = data.rows(n_dual);
    let dual_id = if n_dual == n {
        "num_dual".to_string()
    } else {
        format!("num_dual_N{n_dual}")
    };
    if n_dual * P > 100_000 {
        // Around a millisecond or more per call: the minimum sample count is enough.
        group.sample_size(10);
    }
    group.bench_function(dual_id, |bch| {
        bch.iter(|| {
            num_dual_grad::<P>(
                black_box(w),
                black_box(b),
                black_box(xs),
                black_box(ys),
                black_box(n_dual),
                black_box(d),
            )
        })
    });

    if n * d <= 16_000 {
        by_value!("finite_diff", finite_diff);
    }
    group.finish();

    let (mut h_w, mut h_b) = (vec![0.0; d], 0.0);
    interleaved::ratio(
        &format!("relu_N{n}_d{d}"),
        || call_into!(loss_grad_into, g_w, g_b),
        || call_into!(hand_fused_into, h_w, h_b),
    );
}

fn benches(c: &mut Criterion) {
    // (N, d, rows used by num-dual): num-dual is linear in N, so the two large sizes measure
    // it on fewer rows; the table script scales it up.
    bench_size::<5>(c, 64, 4, 64);
    bench_size::<17>(c, 1000, 16, 1000);
    bench_size::<17>(c, 100_000, 16, 10_000);
    bench_size::<257>(c, 10_000, 256, 500);
}

criterion_group!(relu, benches);
criterion_main!(relu);
