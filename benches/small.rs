//! Small functions called millions of times (issue: zero overhead at every size): for each,
//! in the same run, the primal, the generated gradient, a hand-written gradient and
//! num-dual's gradient.
//!
//! - the seed's `f = 3x²y` and `g = 2x + y⁸`;
//! - Rosenbrock in two variables;
//! - a spring-pendulum energy of five parameters (`[f64; 2]`, `[f64; 2]`, `f64`);
//! - a straight-line function of three variables with twenty statements;
//! - the norm of an array literal summed in a loop (`for e in [a, b, ab]`);
//! - Rosenbrock over a slice at n = 4, 16 and 1000 (`grad_into` against a hand-written
//!   gradient into a caller buffer);
//! - directional derivatives (`f_pushforward`, the pullback's gradient along the tangent)
//!   of Rosenbrock in two variables and over a slice (n = 16, 1000), against a hand-written
//!   forward-mode JVP and num-dual's dual numbers; over the slice also with
//!   `#[derive_gradient(forward)]` (forward mode).
//!
//! After each criterion group, the generated and the hand-written gradient are also timed
//! alternately (`support/interleaved.rs`) for a ratio under the same conditions.
//!
//! Every generated gradient is checked against the hand-written one before timing. Run:
//! `cargo bench -p grad-dev --bench small`, then `python3 scripts/bench_table.py`.

#![allow(clippy::needless_range_loop)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/interleaved.rs"]
mod interleaved;
use grad::derive_gradient;
use nalgebra::SVector;
use num_dual::{gradient, Dual64, DualNum};

#[derive_gradient]
fn seed_f(x: f64, y: f64) -> f64 {
    3.0 * x * x * y
}

fn seed_f_hand(x: f64, y: f64) -> (f64, (f64, f64)) {
    (3.0 * x * x * y, (6.0 * x * y, 3.0 * x * x))
}

#[derive_gradient]
fn seed_g(x: f64, y: f64) -> f64 {
    2.0 * x + y.powi(8)
}

fn seed_g_hand(x: f64, y: f64) -> (f64, (f64, f64)) {
    let y7 = y.powi(7);
    (2.0 * x + y7 * y, (2.0, 8.0 * y7))
}

#[derive_gradient]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x) * (1.0 - x) + 100.0 * (y - x * x) * (y - x * x)
}

fn rosenbrock_hand(x: f64, y: f64) -> (f64, (f64, f64)) {
    let a = 1.0 - x;
    let b = y - x * x;
    (a * a + 100.0 * b * b, (-2.0 * a - 400.0 * x * b, 200.0 * b))
}

/// A sum over an array literal (`for e in [a, b, ab]`): a loop of a few iterations the
/// source fixes, which runs as a plain loop (no kernel, no SIMD dispatch).
#[derive_gradient]
fn norm3(a: f64, b: f64) -> f64 {
    let v = [a, b, a * b];
    let mut s = 0.0;
    for e in v {
        s += e * e;
    }
    s.sqrt()
}

fn norm3_hand(a: f64, b: f64) -> (f64, (f64, f64)) {
    let ab = a * b;
    let n = (a * a + b * b + ab * ab).sqrt();
    (n, ((a + ab * b) / n, (b + ab * a) / n))
}

/// A spring pendulum: kinetic energy of momentum `p`, a spring of stiffness `k` and rest
/// length 1 at position `q`, and gravity.
#[derive_gradient]
fn energy(q: [f64; 2], p: [f64; 2], k: f64) -> f64 {
    let r = (q[0] * q[0] + q[1] * q[1]).sqrt();
    let stretch = r - 1.0;
    0.5 * (p[0] * p[0] + p[1] * p[1]) + 0.5 * k * stretch * stretch + 9.81 * q[1]
}

fn energy_hand(q: [f64; 2], p: [f64; 2], k: f64) -> (f64, ([f64; 2], [f64; 2], f64)) {
    let r = (q[0] * q[0] + q[1] * q[1]).sqrt();
    let s = r - 1.0;
    let e = 0.5 * (p[0] * p[0] + p[1] * p[1]) + 0.5 * k * s * s + 9.81 * q[1];
    let c = k * s / r;
    (e, ([c * q[0], c * q[1] + 9.81], p, 0.5 * s * s))
}

/// Twenty statements of arithmetic and float methods on three variables.
#[derive_gradient]
fn straight(x: f64, y: f64, z: f64) -> f64 {
    let a = x * y;
    let b = a + z;
    let c = b.sin();
    let d = c * x;
    let e = d - y * z;
    let f = e.exp();
    let g = f * 0.1 + a;
    let h = g.sqrt();
    let i = h * z;
    let j = i / (1.0 + x * x);
    let k = j.tanh();
    let l = k * b;
    let m = l + c * d;
    let n = m.abs();
    let o = n.ln_1p();
    let p = o * e;
    let q = p + x.cos();
    let r = q * q;
    let s = r / (2.0 + y * y);
    s + a.atan()
}

fn straight_hand(x: f64, y: f64, z: f64) -> (f64, (f64, f64, f64)) {
    // Forward values.
    let a = x * y;
    let b = a + z;
    let c = b.sin();
    let d = c * x;
    let e = d - y * z;
    let f = e.exp();
    let g = f * 0.1 + a;
    let h = g.sqrt();
    let i = h * z;
    let w = 1.0 + x * x;
    let j = i / w;
    let k = j.tanh();
    let l = k * b;
    let m = l + c * d;
    let n = m.abs();
    let o = n.ln_1p();
    let p = o * e;
    let q = p + x.cos();
    let r = q * q;
    let v = 2.0 + y * y;
    let s = r / v;
    let out = s + a.atan();
    // Reverse sweep, by hand.
    let ds = 1.0;
    let da_atan = 1.0 / (1.0 + a * a);
    let dr = ds / v;
    let dv = -ds * r / (v * v);
    let dq = dr * 2.0 * q;
    let dp = dq;
    let mut dx = -dq * x.sin();
    let do_ = dp * e;
    let mut de = dp * o;
    let dn = do_ / (1.0 + n);
    let dm = if m >= 0.0 { dn } else { -dn };
    let dl = dm;
    let mut dc = dm * d;
    let mut dd = dm * c;
    let dk = dl * b;
    let mut db = dl * k;
    let dj = dk * (1.0 - k * k);
    let di = dj / w;
    let dw = -dj * i / (w * w);
    dx += dw * 2.0 * x;
    let dh = di * z;
    let mut dz = di * h;
    let dg = dh * 0.5 / h;
    let df = dg * 0.1;
    let mut da = dg + da_atan;
    de += df * f;
    dd += de;
    let mut dy = -de * z + dv * 2.0 * y;
    dz -= de * y;
    dc += dd * x;
    dx += dd * c;
    db += dc * b.cos();
    da += db;
    dz += db;
    dx += da * y;
    dy += da * x;
    (out, (dx, dy, dz))
}

#[derive_gradient]
fn rosenbrock_n(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
    }
    s
}

fn rosenbrock_n_hand_into(x: &[f64], g: &mut [f64]) -> f64 {
    g.fill(0.0);
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
        g[i] += -2.0 * a - 400.0 * x[i] * b;
        g[i + 1] += 200.0 * b;
    }
    s
}

/// Rosenbrock's value and derivative along `(tx, ty)`, forward mode by hand.
fn rosenbrock_jvp_hand(x: f64, y: f64, tx: f64, ty: f64) -> (f64, f64) {
    let a = 1.0 - x;
    let b = y - x * x;
    let (ta, tb) = (-tx, ty - 2.0 * x * tx);
    (a * a + 100.0 * b * b, 2.0 * a * ta + 200.0 * b * tb)
}

/// `rosenbrock_n` with `f_pushforward` by forward mode.
#[derive_gradient(forward)]
fn rosenbrock_n_forward(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
    }
    s
}

/// Slice Rosenbrock's value and derivative along `t`, forward mode by hand.
fn rosenbrock_n_jvp_hand(x: &[f64], t: &[f64]) -> (f64, f64) {
    let (mut s, mut ts) = (0.0, 0.0);
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        let (ta, tb) = (-t[i], t[i + 1] - 2.0 * x[i] * t[i]);
        s += a * a + 100.0 * b * b;
        ts += 2.0 * a * ta + 200.0 * b * tb;
    }
    (s, ts)
}

/// Slice Rosenbrock over any dual number (num-dual's forward mode).
fn rosenbrock_n_dual<D: DualNum<f64> + Copy>(x: &[D]) -> D {
    let mut s = D::zero();
    for i in 0..x.len() - 1 {
        let a = -x[i] + 1.0;
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + b * b * 100.0;
    }
    s
}

#[track_caller]
fn close(a: f64, b: f64) {
    assert!(
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0),
        "{a} vs {b}"
    );
}

fn config<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800));
    group
}

/// A two-variable function: primal, generated, hand-written, num-dual.
macro_rules! two_vars {
    ($c:expr, $name:literal, $f:ident, $grad:ident, $hand:ident, $dual:expr, $at:expr) => {{
        let (x, y) = $at;
        let (v, (gx, gy)) = $grad(x, y);
        let (hv, (hx, hy)) = $hand(x, y);
        close(v, hv);
        close(gx, hx);
        close(gy, hy);
        let mut group = config($c, $name);
        group.bench_function("primal", |b| b.iter(|| $f(black_box(x), black_box(y))));
        group.bench_function("generated_grad", |b| {
            b.iter(|| $grad(black_box(x), black_box(y)))
        });
        group.bench_function("hand_grad", |b| {
            b.iter(|| $hand(black_box(x), black_box(y)))
        });
        group.bench_function("num_dual", |b| {
            b.iter(|| gradient($dual, SVector::from([black_box(x), black_box(y)])))
        });
        group.finish();
        interleaved::ratio(
            $name,
            || $grad(black_box(x), black_box(y)),
            || $hand(black_box(x), black_box(y)),
        );
    }};
}

fn small(c: &mut Criterion) {
    two_vars!(
        c,
        "seed_f",
        seed_f,
        seed_f_grad,
        seed_f_hand,
        |v: SVector<_, 2>| v[0] * v[0] * v[1] * 3.0,
        (2.0, 5.0)
    );
    two_vars!(
        c,
        "seed_g",
        seed_g,
        seed_g_grad,
        seed_g_hand,
        |v: SVector<_, 2>| v[0] * 2.0 + v[1].powi(8),
        (2.0, 1.1)
    );
    two_vars!(
        c,
        "rosenbrock",
        rosenbrock,
        rosenbrock_grad,
        rosenbrock_hand,
        |v: SVector<_, 2>| {
            let a = -v[0] + 1.0;
            let b = v[1] - v[0] * v[0];
            a * a + b * b * 100.0
        },
        (0.5, 2.0)
    );

    two_vars!(
        c,
        "literal_loop",
        norm3,
        norm3_grad,
        norm3_hand,
        |v: SVector<_, 2>| {
            let ab = v[0] * v[1];
            (v[0] * v[0] + v[1] * v[1] + ab * ab).sqrt()
        },
        (0.8, -1.7)
    );

    let (q, p, k) = ([0.8, -1.3], [0.3, 0.7], 5.0);
    let (v, (gq, gp, gk)) = energy_grad(q, p, k);
    let (hv, (hq, hp, hk)) = energy_hand(q, p, k);
    close(v, hv);
    (0..2).for_each(|i| {
        close(gq[i], hq[i]);
        close(gp[i], hp[i]);
    });
    close(gk, hk);
    let mut group = config(c, "energy");
    group.bench_function("primal", |b| {
        b.iter(|| energy(black_box(q), black_box(p), black_box(k)))
    });
    group.bench_function("generated_grad", |b| {
        b.iter(|| energy_grad(black_box(q), black_box(p), black_box(k)))
    });
    group.bench_function("hand_grad", |b| {
        b.iter(|| energy_hand(black_box(q), black_box(p), black_box(k)))
    });
    group.bench_function("num_dual", |b| {
        b.iter(|| {
            gradient(
                |v: SVector<_, 5>| {
                    let r = (v[0] * v[0] + v[1] * v[1]).sqrt();
                    let s = r - 1.0;
                    (v[2] * v[2] + v[3] * v[3]) * 0.5 + v[4] * s * s * 0.5 + v[1] * 9.81
                },
                SVector::from([black_box(q[0]), q[1], p[0], p[1], k]),
            )
        })
    });
    group.finish();
    interleaved::ratio(
        "energy",
        || energy_grad(black_box(q), black_box(p), black_box(k)),
        || energy_hand(black_box(q), black_box(p), black_box(k)),
    );

    let (x, y, z) = (0.7, -0.4, 1.3);
    let (v, (gx, gy, gz)) = straight_grad(x, y, z);
    let (hv, (hx, hy, hz)) = straight_hand(x, y, z);
    close(v, hv);
    close(gx, hx);
    close(gy, hy);
    close(gz, hz);
    let mut group = config(c, "straight20");
    group.bench_function("primal", |b| {
        b.iter(|| straight(black_box(x), black_box(y), black_box(z)))
    });
    group.bench_function("generated_grad", |b| {
        b.iter(|| straight_grad(black_box(x), black_box(y), black_box(z)))
    });
    group.bench_function("hand_grad", |b| {
        b.iter(|| straight_hand(black_box(x), black_box(y), black_box(z)))
    });
    group.finish();
    interleaved::ratio(
        "straight20",
        || straight_grad(black_box(x), black_box(y), black_box(z)),
        || straight_hand(black_box(x), black_box(y), black_box(z)),
    );

    for n in [4, 16, 1000] {
        let x: Vec<f64> = (0..n)
            .map(|i| 0.5 + 0.3 * ((i * 7) % 5) as f64 / 5.0)
            .collect();
        let mut g = vec![0.0; n];
        let mut h = vec![0.0; n];
        let v = rosenbrock_n_grad_into(&x, &mut g);
        let hv = rosenbrock_n_hand_into(&x, &mut h);
        close(v, hv);
        (0..n).for_each(|i| close(g[i], h[i]));
        let mut group = config(c, &format!("rosenbrock_n{n}"));
        group.bench_function("primal", |b| b.iter(|| rosenbrock_n(black_box(&x))));
        group.bench_function("generated_grad_into", |b| {
            b.iter(|| rosenbrock_n_grad_into(black_box(&x), black_box(&mut g)))
        });
        group.bench_function("hand_grad_into", |b| {
            b.iter(|| rosenbrock_n_hand_into(black_box(&x), black_box(&mut h)))
        });
        group.finish();
        interleaved::ratio(
            &format!("rosenbrock_n{n}"),
            || rosenbrock_n_grad_into(black_box(&x), black_box(&mut g)),
            || rosenbrock_n_hand_into(black_box(&x), black_box(&mut h)),
        );
    }
}

/// `f_pushforward` of a float result: the reverse sweep and the gradient along the tangent.
fn pushforward(c: &mut Criterion) {
    let (x, y, tx, ty) = (0.5, 2.0, 0.3, -0.7);
    let (v, d) = rosenbrock_pushforward(x, y, tx, ty);
    let (hv, hd) = rosenbrock_jvp_hand(x, y, tx, ty);
    close(v, hv);
    close(d, hd);
    let dual = |x: f64, y: f64, tx: f64, ty: f64| {
        let (x, y) = (Dual64::new(x, tx), Dual64::new(y, ty));
        let a = -x + 1.0;
        let b = y - x * x;
        a * a + b * b * 100.0
    };
    close(dual(x, y, tx, ty).eps, hd);
    let mut group = config(c, "rosenbrock_jvp");
    let at = || (black_box(x), black_box(y), black_box(tx), black_box(ty));
    group.bench_function("generated_pushforward", |b| {
        b.iter(|| {
            let (x, y, tx, ty) = at();
            rosenbrock_pushforward(x, y, tx, ty)
        })
    });
    group.bench_function("hand_jvp", |b| {
        b.iter(|| {
            let (x, y, tx, ty) = at();
            rosenbrock_jvp_hand(x, y, tx, ty)
        })
    });
    group.bench_function("num_dual", |b| {
        b.iter(|| {
            let (x, y, tx, ty) = at();
            dual(x, y, tx, ty)
        })
    });
    group.finish();
    interleaved::ratio(
        "rosenbrock_jvp",
        || {
            let (x, y, tx, ty) = at();
            rosenbrock_pushforward(x, y, tx, ty)
        },
        || {
            let (x, y, tx, ty) = at();
            rosenbrock_jvp_hand(x, y, tx, ty)
        },
    );

    for n in [16, 1000] {
        let x: Vec<f64> = (0..n)
            .map(|i| 0.5 + 0.3 * ((i * 7) % 5) as f64 / 5.0)
            .collect();
        let t: Vec<f64> = (0..n).map(|i| ((i * 3) % 7) as f64 / 7.0 - 0.4).collect();
        let (v, d) = rosenbrock_n_pushforward(&x, &t);
        let (hv, hd) = rosenbrock_n_jvp_hand(&x, &t);
        close(v, hv);
        close(d, hd);
        let duals: Vec<Dual64> = x.iter().zip(&t).map(|(x, t)| Dual64::new(*x, *t)).collect();
        close(rosenbrock_n_dual(&duals).eps, hd);
        let (fv, fd) = rosenbrock_n_forward_pushforward(&x, &t);
        close(fv, hv);
        close(fd, hd);
        let name = format!("rosenbrock_n{n}_jvp");
        let mut group = config(c, &name);
        group.bench_function("generated_pushforward", |b| {
            b.iter(|| rosenbrock_n_pushforward(black_box(&x), black_box(&t)))
        });
        group.bench_function("generated_forward", |b| {
            b.iter(|| rosenbrock_n_forward_pushforward(black_box(&x), black_box(&t)))
        });
        group.bench_function("hand_jvp", |b| {
            b.iter(|| rosenbrock_n_jvp_hand(black_box(&x), black_box(&t)))
        });
        group.bench_function("num_dual", |b| {
            b.iter(|| rosenbrock_n_dual(black_box(&duals)))
        });
        group.finish();
        interleaved::ratio(
            &name,
            || rosenbrock_n_pushforward(black_box(&x), black_box(&t)),
            || rosenbrock_n_jvp_hand(black_box(&x), black_box(&t)),
        );
        interleaved::ratio(
            &format!("{name}_forward"),
            || rosenbrock_n_forward_pushforward(black_box(&x), black_box(&t)),
            || rosenbrock_n_jvp_hand(black_box(&x), black_box(&t)),
        );
    }
}

criterion_group!(benches, small, pushforward);
criterion_main!(benches);
