//! `#[derive_gradient(parallel)]` (issue 14, grad's `parallel` feature): sum-reduction loops
//! over samples run in fixed chunks on rayon's threads. Each function here is checked
//! against its analytic gradient, central finite differences and the same function without
//! `parallel`; its result must be bit-for-bit the same on 1, 2 and 3 threads; and the
//! expansion must really use the chunked loop where it applies (and not where a chunk would
//! need a buffer as large as the data).

#![allow(clippy::needless_range_loop)]

use grad::runtime::{assert_gradient_close, Tolerance, XorShift64};
use grad::{derive_gradient, Differentiable};

/// The seed's ReLU-neuron loss, run in chunks.
#[derive_gradient(parallel, hessian, wrt(w, b))]
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

/// The same loss, one thread.
#[derive_gradient(hessian, wrt(w, b))]
fn loss_seq(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
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

/// The loss in iterator style, backwards, with a counter: the mean over the rows it kept.
#[derive_gradient(parallel, wrt(w, b))]
fn loss_iter(w: &[f64; 3], b: f64, x: &[f64], y: &[f64]) -> f64 {
    let mut total = 0.0;
    let mut kept = 0;
    for i in (0..y.len()).rev() {
        let row = &x[i * 3..i * 3 + 3];
        let z: f64 = b + w.iter().zip(row).map(|(a, v)| a * v).sum::<f64>();
        if z.abs() < 10.0 {
            total += (z - y[i]).powi(2);
            kept += 1;
        }
    }
    total / kept as f64
}

/// A model in a struct.
#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Neuron {
    w: [f64; 2],
    b: f64,
}

/// A logistic loss over samples of a struct-held model.
#[derive_gradient(parallel, wrt(p))]
fn logistic(p: &Neuron, x: &[[f64; 2]], y: &[f64]) -> f64 {
    let mut total = 0.0;
    for (xi, &t) in x.iter().zip(y) {
        let z = p.w[0] * xi[0] + p.w[1] * xi[1] + p.b;
        total += (1.0 + (-t * z).exp()).ln();
    }
    total
}

/// Every parameter differentiated: the data's gradient is per sample, so this loop stays on
/// one thread (a chunk would need a buffer as large as `x`); still exact.
#[derive_gradient(parallel)]
fn weighted(w: f64, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (w * x[i]).sin();
    }
    s
}

fn data(n: usize, d: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = XorShift64::new(seed);
    let x: Vec<f64> = (0..n * d).map(|_| rng.next_f64() - 0.5).collect();
    let y: Vec<f64> = (0..n).map(|_| rng.next_f64()).collect();
    let w: Vec<f64> = (0..d).map(|_| rng.next_f64() - 0.5).collect();
    (x, y, w)
}

/// Runs `f` on a pool of `threads` threads.
fn on<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

#[track_caller]
fn assert_close(got: f64, want: f64, what: &str) {
    let ok = (got - want).abs() <= 1e-12 * got.abs().max(want.abs()).max(1.0);
    assert!(ok, "{what}: got {got}, want {want}");
}

#[test]
fn relu_loss_gradient_is_exact_and_the_same_on_any_number_of_threads() {
    let (n, d) = (20_000, 8);
    let (x, y, w) = data(n, d, 3);
    let b = 0.05;
    let (v, (gw, gb)) = on(2, || loss_grad(&w, b, &x, &y, n, d));
    for threads in [1, 3] {
        let (v2, (gw2, gb2)) = on(threads, || loss_grad(&w, b, &x, &y, n, d));
        assert_eq!(v.to_bits(), v2.to_bits(), "value on {threads} threads");
        assert_eq!(gw, gw2, "dC/dw on {threads} threads");
        assert_eq!(gb.to_bits(), gb2.to_bits(), "dC/db on {threads} threads");
    }
    // Against the one-thread companion (same sums, other grouping) and the closed form.
    let (vs, (gws, gbs)) = loss_seq_grad(&w, b, &x, &y, n, d);
    assert_close(v, vs, "value");
    assert_close(v, loss(&w, b, &x, &y, n, d), "value against the primal");
    let mut want_w = vec![0.0; d];
    let mut want_b = 0.0;
    for i in 0..n {
        let z = b + (0..d).map(|j| w[j] * x[i * d + j]).sum::<f64>();
        if z > 0.0 {
            let coef = -2.0 * (y[i] - z) / n as f64;
            for j in 0..d {
                want_w[j] += coef * x[i * d + j];
            }
            want_b += coef;
        }
    }
    for j in 0..d {
        assert_close(gw[j], gws[j], "dC/dw against one thread");
        assert_close(gw[j], want_w[j], "dC/dw against the closed form");
    }
    assert_close(gb, gbs, "dC/db against one thread");
    assert_close(gb, want_b, "dC/db against the closed form");
    // And against finite differences, on a smaller set.
    let (n, d) = (1_500, 3);
    let (x, y, w) = data(n, d, 9);
    let (_, (gw, gb)) = loss_grad(&w, b, &x, &y, n, d);
    let mut p = w.clone();
    p.push(b);
    let mut g = gw.clone();
    g.push(gb);
    assert_gradient_close(
        |p: &[f64]| loss(&p[..d], p[d], &x, &y, n, d),
        &p,
        &g,
        Tolerance::default(),
    );
}

#[test]
fn grad_into_overwrites_and_hvp_matches_one_thread() {
    let (n, d) = (5_000, 4);
    let (x, y, w) = data(n, d, 5);
    let mut gw = vec![7.0; d];
    let mut gb = 7.0;
    let v = loss_grad_into(&w, 0.1, &x, &y, n, d, &mut gw, &mut gb);
    let (v2, (gw2, gb2)) = loss_grad(&w, 0.1, &x, &y, n, d);
    assert_eq!((v, &gw, gb), (v2, &gw2, gb2));
    let dir: Vec<f64> = (0..d).map(|j| 0.3 - 0.1 * j as f64).collect();
    let (hv_v, _, (hw, hb)) = loss_hvp(&w, 0.1, &x, &y, n, d, &dir, 0.7);
    let (_, _, (hws, hbs)) = loss_seq_hvp(&w, 0.1, &x, &y, n, d, &dir, 0.7);
    assert_close(hv_v, v, "hvp value");
    for j in 0..d {
        assert_close(hw[j], hws[j], "Hv w");
    }
    assert_close(hb, hbs, "Hv b");
}

#[test]
fn iterator_loop_with_a_counter_backwards() {
    let n = 4_000;
    let (x, y, _) = data(n, 3, 11);
    let w = [0.4, -0.2, 0.9];
    let b = -0.1;
    let (v, (gw, gb)) = on(2, || loss_iter_grad(&w, b, &x, &y));
    let (v1, (gw1, gb1)) = on(1, || loss_iter_grad(&w, b, &x, &y));
    assert_eq!(
        (v.to_bits(), gw, gb.to_bits()),
        (v1.to_bits(), gw1, gb1.to_bits())
    );
    assert_close(v, loss_iter(&w, b, &x, &y), "value");
    let mut p = w.to_vec();
    p.push(b);
    let mut g = gw.to_vec();
    g.push(gb);
    assert_gradient_close(
        |p: &[f64]| loss_iter(&[p[0], p[1], p[2]], p[3], &x, &y),
        &p,
        &g,
        Tolerance::default(),
    );
}

#[test]
fn struct_model_gradient_is_a_struct() {
    let n = 3_000;
    let mut rng = XorShift64::new(13);
    let x: Vec<[f64; 2]> = (0..n)
        .map(|_| [rng.next_f64() - 0.5, rng.next_f64() - 0.5])
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|_| if rng.next_f64() > 0.5 { 1.0 } else { -1.0 })
        .collect();
    let p = Neuron {
        w: [0.3, -0.7],
        b: 0.2,
    };
    let (v, g) = logistic_grad(&p, &x, &y);
    assert_close(v, logistic(&p, &x, &y), "value");
    let mut want = Neuron {
        w: [0.0; 2],
        b: 0.0,
    };
    for (xi, &t) in x.iter().zip(&y) {
        let z = p.w[0] * xi[0] + p.w[1] * xi[1] + p.b;
        let s = -t / (1.0 + (t * z).exp());
        want.w[0] += s * xi[0];
        want.w[1] += s * xi[1];
        want.b += s;
    }
    assert_close(g.w[0], want.w[0], "w0");
    assert_close(g.w[1], want.w[1], "w1");
    assert_close(g.b, want.b, "b");
}

#[test]
fn per_sample_gradients_stay_exact() {
    let x: Vec<f64> = (0..2_000).map(|i| (i as f64 * 0.01).cos()).collect();
    let (v, (gw, gx)) = weighted_grad(0.8, &x);
    assert_close(v, weighted(0.8, &x), "value");
    let want_w: f64 = x.iter().map(|xi| xi * (0.8 * xi).cos()).sum();
    assert_close(gw, want_w, "d/dw");
    for i in 0..x.len() {
        assert_close(gx[i], 0.8 * (0.8 * x[i]).cos(), "d/dx");
    }
}

/// The expansion of `src` under `attr`, as text.
fn expansion(attr: &str, src: &str) -> String {
    let attr: proc_macro2::TokenStream = attr.parse().unwrap();
    let item: proc_macro2::TokenStream = src.parse().unwrap();
    grad_compiler::derive_gradient(attr, item).to_string()
}

#[test]
fn chunks_are_used_where_they_pay() {
    let relu = "fn loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
        let mut total = 0.0;
        for i in 0..n {
            let mut z = b;
            for j in 0..d { z += w[j] * x[i * d + j]; }
            let r = y[i] - z.max(0.0);
            total += r * r;
        }
        total / n as f64
    }";
    let chunked = |e: &str| e.matches("parallel :: chunks").count();
    // `wrt(w, b)`: the gradient sums into buffers shaped like the weights, in chunks.
    assert!(chunked(&expansion("parallel, wrt(w, b)", relu)) >= 1);
    // Without `parallel`: one thread.
    assert_eq!(chunked(&expansion("wrt(w, b)", relu)), 0);
    // Every parameter: `x`'s gradient is per sample, so the loop stays whole.
    assert_eq!(chunked(&expansion("parallel", relu)), 0);
    // The iterator form with a branch and a counter is chunked too.
    let iter = "fn loss_iter(w: &[f64; 3], b: f64, x: &[f64], y: &[f64]) -> f64 {
        let mut total = 0.0;
        let mut kept = 0;
        for i in (0..y.len()).rev() {
            let row = &x[i * 3..i * 3 + 3];
            let z: f64 = b + w.iter().zip(row).map(|(a, v)| a * v).sum::<f64>();
            if z.abs() < 10.0 {
                total += (z - y[i]).powi(2);
                kept += 1;
            }
        }
        total / kept as f64
    }";
    assert!(chunked(&expansion("parallel, wrt(w, b)", iter)) >= 1);
}
