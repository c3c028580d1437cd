//! Second order (issue: Hessians): `f_hvp` against `f_grad` on the seed's ReLU loss at
//! (1000, 16) and on Rosenbrock over a slice at n = 1000 (goal: at most 4 x), and the dense
//! `f_hessian` of an n = 16 function against 16 calls of `f_hvp` (goal: at most n x one
//! `f_hvp`). Every result is checked against finite differences of the gradient before
//! timing. Run: `cargo bench -p grad-dev --bench second_order`.

#![allow(clippy::needless_range_loop)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use grad::derive_gradient;
use grad::runtime::XorShift64;

#[derive_gradient(wrt(w, b), hessian)]
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

#[derive_gradient(hessian)]
fn rosenbrock_n(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
    }
    s
}

/// The directional second derivative by central differences of the gradient.
fn fd_hvp(grad: impl Fn(&[f64]) -> Vec<f64>, x: &[f64], v: &[f64]) -> Vec<f64> {
    let h = 1e-6;
    let plus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
    let minus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
    grad(&plus)
        .iter()
        .zip(grad(&minus))
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * scale, "{what}[{k}]: {g} vs {w}");
    }
}

fn config<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    group
}

fn relu(c: &mut Criterion) {
    let (n, d) = (1000, 16);
    let mut rng = XorShift64::new(0x5EED_0002);
    let x: Vec<f64> = (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y: Vec<f64> = (0..n).map(|_| rng.uniform(0.0, 1.0)).collect();
    let w: Vec<f64> = (0..d).map(|_| rng.uniform(-0.5, 0.5)).collect();
    let b = 0.3;
    let vw: Vec<f64> = (0..d).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let vb = 0.7;

    let (_, _, (hw, hb)) = loss_hvp(&w, b, &x, &y, n, d, &vw, vb);
    let flat = |p: &[f64]| {
        let (_, (gw, gb)) = loss_grad(&p[..d], p[d], &x, &y, n, d);
        let mut g = gw;
        g.push(gb);
        g
    };
    let mut p = w.clone();
    p.push(b);
    let mut v = vw.clone();
    v.push(vb);
    let mut got = hw.clone();
    got.push(hb);
    assert_close("relu hvp", &got, &fd_hvp(flat, &p, &v));

    let mut group = config(c, "hvp_relu_N1000_d16");
    group.bench_function("grad", |bch| {
        bch.iter(|| loss_grad(black_box(&w), b, black_box(&x), &y, n, d))
    });
    group.bench_function("hvp", |bch| {
        bch.iter(|| loss_hvp(black_box(&w), b, black_box(&x), &y, n, d, &vw, vb))
    });
    group.finish();
}

fn rosenbrock(c: &mut Criterion) {
    let mut rng = XorShift64::new(0x5EED_0003);
    let x: Vec<f64> = (0..1000).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let v: Vec<f64> = (0..1000).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let (_, _, hv) = rosenbrock_n_hvp(&x, &v);
    assert_close(
        "rosenbrock hvp",
        &hv,
        &fd_hvp(|p| rosenbrock_n_grad(p).1, &x, &v),
    );
    let mut group = config(c, "hvp_rosenbrock_n1000");
    group.bench_function("grad", |bch| bch.iter(|| rosenbrock_n_grad(black_box(&x))));
    group.bench_function("hvp", |bch| {
        bch.iter(|| rosenbrock_n_hvp(black_box(&x), black_box(&v)))
    });
    group.finish();

    let x16 = &x[..16];
    let (_, _, h) = rosenbrock_n_hessian(x16);
    for k in 0..16 {
        let mut e = vec![0.0; 16];
        e[k] = 1.0;
        let (_, _, col) = rosenbrock_n_hvp(x16, &e);
        for i in 0..16 {
            assert!((h[(i, k)] - col[i]).abs() <= 1e-12 * col[i].abs().max(1.0));
        }
    }
    let mut group = config(c, "hessian_rosenbrock_n16");
    group.bench_function("hvp", |bch| {
        bch.iter(|| rosenbrock_n_hvp(black_box(x16), black_box(&v[..16])))
    });
    group.bench_function("hessian", |bch| {
        bch.iter(|| rosenbrock_n_hessian(black_box(x16)))
    });
    group.finish();
}

criterion_group!(second_order, relu, rosenbrock);
criterion_main!(second_order);
