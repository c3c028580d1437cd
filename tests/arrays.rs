//! Gradients of scalar functions of arrays and slices: `[f64; N]`, `&[f64]`, `&Vec<f64>` and
//! their `f32` forms; passive `usize`/`bool`/`&[usize]` parameters; computed indices, `.len()`,
//! array literals, local arrays and `vec![..]` buffers updated in loops, nested loops, tuples;
//! `wrt(..)`; and `_grad_into`, which must write what `_grad` returns into stale buffers.
//!
//! Every gradient is compared with a closed form and with the central-difference checker.

// The macro differentiates index loops, not iterator chains or `copy_from_slice`, so the bodies
// index on purpose; `&Vec<f64>` parameters are part of what is tested.
#![allow(clippy::needless_range_loop, clippy::manual_memcpy, clippy::ptr_arg)]

use grad::derive_gradient;
use grad::runtime::{check_directional, check_gradient, Tolerance, XorShift64};

/// Panics with the checker's report unless `grad` matches the central-difference gradient.
#[track_caller]
fn assert_fd(f: impl Fn(&[f64]) -> f64, x: &[f64], grad: &[f64]) {
    if let Err(e) = check_gradient(f, x, grad, Tolerance::default()) {
        panic!("{e}");
    }
}

/// The `f32` form, with the `f32` default tolerance.
#[track_caller]
fn assert_fd32(f: impl Fn(&[f32]) -> f32, x: &[f32], grad: &[f32]) {
    if let Err(e) = check_gradient(f, x, grad, Tolerance::default()) {
        panic!("{e}");
    }
}

/// Panics unless `a` and `b` agree within `rel` relative (plus a tiny absolute) error.
#[track_caller]
fn assert_close(a: &[f64], b: &[f64], rel: f64) {
    assert_eq!(a.len(), b.len(), "lengths of {a:?} and {b:?}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let bound = 1e-300 + rel * x.abs().max(y.abs());
        assert!(
            (x - y).abs() <= bound,
            "component {i}: {x} vs {y}\n{a:?}\n{b:?}"
        );
    }
}

/// The value a `_grad` companion returns equals the function's value up to rounding: by
/// default the companions may reassociate sums (dot products go through a vectorised kernel);
/// `#[derive_gradient(strict)]` makes them bit-identical.
#[track_caller]
fn assert_value(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 4.0 * f64::EPSILON * want.abs(),
        "value {got} vs {want}"
    );
}

/// `n` values uniform in `[lo, hi)`, reproducible from `seed`.
fn random(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut rng = XorShift64::new(seed);
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

fn concat(parts: &[&[f64]]) -> Vec<f64> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

// --- Parameter kinds -----------------------------------------------------------------------

#[test]
fn fixed_array_parameter() {
    // f(x) = sum_i (i + 1) x_i^2 + x_0 x_3  ->  df/dx_i = 2 (i + 1) x_i (+ the cross terms)
    #[derive_gradient]
    fn f(x: [f64; 4]) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            s += (i as f64 + 1.0) * x[i] * x[i];
        }
        s + x[0] * x[3]
    }
    let x = [1.0, -2.0, 0.5, 3.0];
    let (value, grad) = f_grad(x);
    assert_value(value, f(x));
    assert_eq!(grad, [2.0 + 3.0, -8.0, 3.0, 24.0 + 1.0]);
    assert_fd(|v| f(v.try_into().unwrap()), &x, &grad);
}

#[test]
fn slice_parameter_log_sum_exp_gives_softmax() {
    #[derive_gradient]
    fn log_sum_exp(x: &[f64]) -> f64 {
        let mut m = x[0];
        for i in 1..x.len() {
            m = m.max(x[i]);
        }
        let mut s = 0.0;
        for i in 0..x.len() {
            s += (x[i] - m).exp();
        }
        m + s.ln()
    }
    for n in [1, 2, 7, 30] {
        let x = random(n as u64, n, -4.0, 4.0);
        let (value, grad) = log_sum_exp_grad(&x);
        assert_value(value, log_sum_exp(&x));
        let total: f64 = x.iter().map(|v| v.exp()).sum();
        let softmax: Vec<f64> = x.iter().map(|v| v.exp() / total).collect();
        assert_close(&grad, &softmax, 1e-12);
        assert_fd(log_sum_exp, &x, &grad);
    }
}

#[test]
fn vec_reference_parameter() {
    // ||x|| -> x / ||x||
    #[derive_gradient]
    fn norm(x: &Vec<f64>) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            s += x[i] * x[i];
        }
        s.sqrt()
    }
    let x = vec![3.0, -4.0, 12.0];
    let (value, grad) = norm_grad(&x);
    assert_eq!(value, 13.0);
    assert_close(&grad, &[3.0 / 13.0, -4.0 / 13.0, 12.0 / 13.0], 1e-15);
    assert_fd(|v| norm(&v.to_vec()), &x, &grad);
}

#[test]
fn mixed_parameters_give_one_entry_each_in_order() {
    // f(a, s, v, w) = s * sum a_i v_i + sum w_i^3
    #[derive_gradient]
    fn f(a: [f64; 3], s: f64, v: &[f64], w: &Vec<f64>) -> f64 {
        let mut dot = 0.0;
        for i in 0..3 {
            dot += a[i] * v[i];
        }
        let mut cubes = 0.0;
        for i in 0..w.len() {
            cubes += w[i].powi(3);
        }
        s * dot + cubes
    }
    let a = [1.0, 2.0, -1.0];
    let v = [0.5, -3.0, 4.0];
    let w = vec![2.0, -1.0];
    let (value, (ga, gs, gv, gw)) = f_grad(a, 1.5, &v, &w);
    assert_value(value, f(a, 1.5, &v, &w));
    assert_eq!(ga, [0.75, -4.5, 6.0]);
    assert_eq!(gs, 0.5 - 6.0 - 4.0);
    assert_eq!(gv, vec![1.5, 3.0, -1.5]);
    assert_eq!(gw, vec![12.0, 3.0]);
    let all = concat(&[&ga, &[gs], &gv, &gw]);
    assert_fd(
        |p| f([p[0], p[1], p[2]], p[3], &p[4..7], &p[7..].to_vec()),
        &concat(&[&a, &[1.5], &v, &w]),
        &all,
    );
}

#[test]
fn f32_arrays_and_slices() {
    #[derive_gradient]
    fn f(x: [f32; 3], y: &[f32]) -> f32 {
        let mut s = 0.0;
        for i in 0..y.len() {
            s += x[i % 3] * y[i].sin();
        }
        s * x[0]
    }
    #[derive_gradient]
    fn g(x: &Vec<f32>) -> f32 {
        let mut p = 1.0;
        for i in 0..x.len() {
            p *= x[i];
        }
        p
    }
    let x = [1.5f32, -0.5, 2.0];
    let y = [0.3f32, 1.1, -0.7, 2.5, 0.1];
    let (value, (gx, gy)) = f_grad(x, &y);
    assert!((value - f(x, &y)).abs() <= 4.0 * f32::EPSILON * value.abs());
    // s = x0 (sin y0 + sin y3) + x1 (sin y1 + sin y4) + x2 sin y2; f = s x0
    let s = value / x[0];
    let expected_gx = [
        s + x[0] * (y[0].sin() + y[3].sin()),
        x[0] * (y[1].sin() + y[4].sin()),
        x[0] * y[2].sin(),
    ];
    for i in 0..3 {
        assert!(
            (gx[i] - expected_gx[i]).abs() < 1e-5,
            "{gx:?} vs {expected_gx:?}"
        );
    }
    for i in 0..5 {
        let expected = x[0] * x[i % 3] * y[i].cos();
        assert!((gy[i] - expected).abs() < 1e-5, "{gy:?}");
    }
    let mut p: Vec<f32> = x.to_vec();
    p.extend_from_slice(&y);
    let mut all = gx.to_vec();
    all.extend_from_slice(&gy);
    assert_fd32(|v| f([v[0], v[1], v[2]], &v[3..]), &p, &all);

    let x = vec![2.0f32, -0.5, 4.0];
    let (value, grad) = g_grad(&x);
    assert_eq!(value, -4.0);
    assert_eq!(grad, vec![-2.0, 8.0, -1.0]);
    assert_fd32(|v| g(&v.to_vec()), &x, &grad);
}

// --- Passive parameters --------------------------------------------------------------------

#[test]
fn passive_index_list_bool_and_usize() {
    // Sum over an index list (repeats allowed) of x_k^2 or x_k, scaled by `scale`.
    #[derive_gradient]
    fn pick(x: &[f64], idx: &[usize], square: bool, scale: usize) -> f64 {
        let mut s = 0.0;
        for k in 0..idx.len() {
            let v = x[idx[k]];
            if square {
                s += v * v;
            } else {
                s += v;
            }
        }
        s * scale as f64
    }
    let x = [1.0, -2.0, 3.0, 0.5];
    let idx = [2usize, 0, 2, 3];
    let (value, grad) = pick_grad(&x, &idx, true, 3);
    assert_eq!(value, 3.0 * (9.0 + 1.0 + 9.0 + 0.25));
    // d/dx_k = scale * 2 x_k * (times k occurs)
    assert_eq!(grad, vec![6.0, 0.0, 36.0, 3.0]);
    assert_fd(|v| pick(v, &idx, true, 3), &x, &grad);
    let (value, grad) = pick_grad(&x, &idx, false, 2);
    assert_eq!(value, 2.0 * (3.0 + 1.0 + 3.0 + 0.5));
    assert_eq!(grad, vec![2.0, 0.0, 4.0, 2.0]);
    let (_, grad) = pick_grad(&x, &[], true, 5);
    assert_eq!(grad, vec![0.0; 4]);
}

#[test]
fn passive_integer_parameters_and_integer_locals() {
    // x^n by repeated multiplication, with an integer counter, an inclusive range and `.rev()`.
    #[derive_gradient]
    fn f(x: f64, n: usize, m: i32) -> f64 {
        let mut p = 1.0;
        let mut count = 0;
        for _ in 1..=n {
            p *= x;
            count += 1;
        }
        let mut q = 0.0;
        for k in (0..count).rev() {
            q = q * x + k as f64;
        }
        p + q + m as f64
    }
    // With n = 4 the Horner loop reads k = 3, 2, 1, 0: q = 3x^3 + 2x^2 + x, p = x^4,
    // so df/dx = 4x^3 + 9x^2 + 4x + 1 = 40.75 at x = 1.5.
    let (value, grad) = f_grad(1.5, 4, -2);
    assert_value(value, f(1.5, 4, -2));
    assert_eq!(grad, 40.75);
    assert_fd(|v| f(v[0], 4, -2), &[1.5], &[grad]);
    let (_, grad0) = f_grad(1.5, 0, 7);
    assert_eq!(grad0, 0.0);
}

// --- Indexing, .len(), array literals ------------------------------------------------------

#[test]
fn computed_indices_quadratic_form() {
    // q(A, v) = v^T A v with A a flat row-major d x d matrix:
    // dq/dA = v v^T, dq/dv = (A + A^T) v.
    #[derive_gradient]
    fn quad(a: &[f64], v: &[f64], d: usize) -> f64 {
        let mut s = 0.0;
        for i in 0..d {
            for j in 0..d {
                s += v[i] * a[i * d + j] * v[j];
            }
        }
        s
    }
    for d in [1, 3, 5] {
        let a = random(d as u64, d * d, -1.0, 1.0);
        let v = random(50 + d as u64, d, -2.0, 2.0);
        let (value, (ga, gv)) = quad_grad(&a, &v, d);
        assert_value(value, quad(&a, &v, d));
        let outer: Vec<f64> = (0..d * d).map(|k| v[k / d] * v[k % d]).collect();
        assert_close(&ga, &outer, 1e-15);
        let sym: Vec<f64> = (0..d)
            .map(|i| (0..d).map(|j| (a[i * d + j] + a[j * d + i]) * v[j]).sum())
            .collect();
        assert_close(&gv, &sym, 1e-12);
        let n = d * d;
        assert_fd(
            |p| quad(&p[..n], &p[n..], d),
            &concat(&[&a, &v]),
            &concat(&[&ga, &gv]),
        );
    }
}

#[test]
fn array_literals_and_len() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let a = [x, y, x * y];
        let mut s = 0.0;
        for i in 0..a.len() {
            s += a[i] * (i as f64 + 1.0);
        }
        s + a[2].sin()
    }
    // f = x + 2y + 3xy + sin(xy)
    let (x, y) = (0.7, -1.2);
    let (value, (dx, dy)) = f_grad(x, y);
    assert_value(value, f(x, y));
    let c = (x * y).cos();
    assert_close(
        &[dx, dy],
        &[1.0 + 3.0 * y + y * c, 2.0 + 3.0 * x + x * c],
        1e-15,
    );
    assert_fd(|v| f(v[0], v[1]), &[x, y], &[dx, dy]);
}

// --- Local arrays and vectors updated in loops ---------------------------------------------

#[test]
fn local_buffer_of_activations() {
    // A two-layer network with a hidden buffer: h = tanh(W x + c), out = sum_k v_k h_k.
    #[derive_gradient(wrt(w, c, v))]
    fn net(w: &[f64], c: &[f64], v: &[f64], x: &[f64]) -> f64 {
        let m = c.len();
        let d = x.len();
        let mut h = vec![0.0; m];
        for k in 0..m {
            let mut z = c[k];
            for j in 0..d {
                z += w[k * d + j] * x[j];
            }
            h[k] = z.tanh();
        }
        let mut out = 0.0;
        for k in 0..m {
            out += v[k] * h[k];
        }
        out
    }
    let (m, d) = (4, 3);
    let w = random(1, m * d, -1.0, 1.0);
    let c = random(2, m, -0.5, 0.5);
    let v = random(3, m, -1.0, 1.0);
    let x = random(4, d, -2.0, 2.0);
    let (value, (gw, gc, gv)) = net_grad(&w, &c, &v, &x);
    assert_value(value, net(&w, &c, &v, &x));
    // Hand-written backprop.
    let mut hw = vec![0.0; m * d];
    let mut hc = vec![0.0; m];
    let mut hv = vec![0.0; m];
    for k in 0..m {
        let z = c[k] + (0..d).map(|j| w[k * d + j] * x[j]).sum::<f64>();
        let h = z.tanh();
        hv[k] = h;
        hc[k] = v[k] * (1.0 - h * h);
        for j in 0..d {
            hw[k * d + j] = hc[k] * x[j];
        }
    }
    assert_close(&gw, &hw, 1e-12);
    assert_close(&gc, &hc, 1e-12);
    assert_close(&gv, &hv, 1e-12);
    let (nw, nc) = (m * d, m);
    assert_fd(
        |p| net(&p[..nw], &p[nw..nw + nc], &p[nw + nc..], &x),
        &concat(&[&w, &c, &v]),
        &concat(&[&gw, &gc, &gv]),
    );
}

#[test]
fn strict_companions_return_the_exact_value() {
    // The same network as above; `strict` forbids reassociating the sums.
    #[derive_gradient(strict, wrt(w, c, v))]
    fn net(w: &[f64], c: &[f64], v: &[f64], x: &[f64]) -> f64 {
        let m = c.len();
        let d = x.len();
        let mut h = vec![0.0; m];
        for k in 0..m {
            let mut z = c[k];
            for j in 0..d {
                z += w[k * d + j] * x[j];
            }
            h[k] = z.tanh();
        }
        let mut out = 0.0;
        for k in 0..m {
            out += v[k] * h[k];
        }
        out
    }
    for seed in 0..20 {
        let (m, d) = (5, 7);
        let w = random(seed, m * d, -1.0, 1.0);
        let c = random(seed + 100, m, -0.5, 0.5);
        let v = random(seed + 200, m, -1.0, 1.0);
        let x = random(seed + 300, d, -2.0, 2.0);
        let (value, (gw, gc, gv)) = net_grad(&w, &c, &v, &x);
        assert_eq!(value, net(&w, &c, &v, &x));
        let (mut bw, mut bc, mut bv) = (vec![0.0; m * d], vec![0.0; m], vec![0.0; m]);
        assert_eq!(
            net_grad_into(&w, &c, &v, &x, &mut bw, &mut bc, &mut bv),
            value
        );
        assert_eq!((bw, bc, bv), (gw.clone(), gc.clone(), gv.clone()));
        let (nw, nc) = (m * d, m);
        assert_fd(
            |p| net(&p[..nw], &p[nw..nw + nc], &p[nw + nc..], &x),
            &concat(&[&w, &c, &v]),
            &concat(&[&gw, &gc, &gv]),
        );
    }
}

/// A dot product: its companions sum it with the vectorised kernel (reassociated).
#[derive_gradient]
fn dot(w: &[f64], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += w[i] * x[i];
    }
    s
}

/// `strict`, calling a function without it; more outputs than differentiated inputs, so its
/// Jacobian is built from forward-mode columns, which call the callee's pushforward (its
/// reverse sweep, whose value is reassociated).
#[derive_gradient(strict, wrt(a))]
fn weighted(w: &[f64], x: &[f64], a: f64) -> [f64; 4] {
    let s = dot(w, x);
    [a * s, s, a, a * a * s]
}

#[test]
fn strict_values_do_not_come_from_a_callees_reverse_sweep() {
    let n = 37;
    let mut exact_elsewhere = 0;
    for seed in 0..20 {
        let w = random(seed + 400, n, -2.0, 2.0);
        let x = random(seed + 500, n, -2.0, 2.0);
        let a = 0.75;
        let want = weighted(&w, &x, a);
        let (value, j) = weighted_jacobian(&w, &x, a);
        assert_eq!(value, want, "the value, bit for bit");
        exact_elsewhere += usize::from(dot_grad(&w, &x).0 == want[1]);
        let s = want[1];
        assert_eq!((j.rows(), j.cols()), (4, 1));
        assert_close(&j.col(0), &[s, 0.0, 1.0, 2.0 * a * s], 1e-14);
    }
    // The callee's own companions do reassociate (else this test would show nothing).
    assert!(exact_elsewhere < 20, "dot_grad was exact at every point");
}

#[test]
fn cumulative_product_array() {
    // c_i = x_0 ... x_i, f = sum_i c_i:  df/dx_k = sum_{i >= k} c_i / x_k (x_k != 0).
    #[derive_gradient]
    fn f(x: &[f64]) -> f64 {
        let n = x.len();
        let mut c = vec![0.0; n];
        c[0] = x[0];
        for i in 1..n {
            c[i] = c[i - 1] * x[i];
        }
        let mut s = 0.0;
        for i in 0..n {
            s += c[i];
        }
        s
    }
    let x = [2.0, -0.5, 4.0, 1.5, 0.25];
    let (value, grad) = f_grad(&x);
    let mut c = x.to_vec();
    for i in 1..5 {
        c[i] = c[i - 1] * x[i];
    }
    assert_eq!(value, c.iter().sum::<f64>());
    let expected: Vec<f64> = (0..5).map(|k| c[k..].iter().sum::<f64>() / x[k]).collect();
    assert_close(&grad, &expected, 1e-14);
    assert_fd(f, &x, &grad);
    // A zero factor: the formula above divides by 0, the gradient must not.
    let x = [2.0, 0.0, 3.0];
    let (_, grad) = f_grad(&x);
    // f = x0 + x0 x1 + x0 x1 x2 -> [1 + x1 + x1 x2, x0 + x0 x2, x0 x1] = [1, 8, 0]
    assert_eq!(grad, vec![1.0, 8.0, 0.0]);
}

#[test]
fn local_fixed_array_overwritten_in_place() {
    // Three passes of a[i] = a[i] * x_i + 1 over a local array: every element is overwritten
    // repeatedly, so the reverse sweep must restore the old values.
    #[derive_gradient]
    fn f(x: [f64; 3]) -> f64 {
        let mut a = [1.0; 3];
        for _ in 0..3 {
            for i in 0..3 {
                a[i] = a[i] * x[i] + 1.0;
            }
        }
        a[0] * a[1] + a[2]
    }
    // a_i = x^3 + x^2 + x + 1 after three passes, da_i/dx_i = 3x^2 + 2x + 1.
    let x = [0.5, -2.0, 3.0];
    let (value, grad) = f_grad(x);
    let a: Vec<f64> = x.iter().map(|x| x * x * x + x * x + x + 1.0).collect();
    let da: Vec<f64> = x.iter().map(|x| 3.0 * x * x + 2.0 * x + 1.0).collect();
    assert_eq!(value, a[0] * a[1] + a[2]);
    assert_eq!(grad, [a[1] * da[0], a[0] * da[1], da[2]]);
    assert_fd(|v| f(v.try_into().unwrap()), &x, &grad);
}

#[test]
fn vector_accumulated_with_plus_equals() {
    // Histogram-like accumulation into a local vector by computed index, then a weighted sum.
    #[derive_gradient]
    fn f(x: &[f64], bins: usize) -> f64 {
        let mut acc = vec![0.0; bins];
        for i in 0..x.len() {
            acc[i % bins] += x[i] * x[i];
        }
        let mut s = 0.0;
        for b in 0..bins {
            s += acc[b].sqrt() * (b as f64 + 1.0);
        }
        s
    }
    let x = random(9, 10, 0.5, 2.0);
    let bins = 3;
    let (value, grad) = f_grad(&x, bins);
    assert_value(value, f(&x, bins));
    let mut acc = vec![0.0; bins];
    for i in 0..x.len() {
        acc[i % bins] += x[i] * x[i];
    }
    let expected: Vec<f64> = (0..x.len())
        .map(|i| {
            let b = i % bins;
            (b as f64 + 1.0) * x[i] / acc[b].sqrt()
        })
        .collect();
    assert_close(&grad, &expected, 1e-12);
    assert_fd(|v| f(v, bins), &x, &grad);
}

// --- Nested loops, while, tuples -----------------------------------------------------------

#[test]
fn nested_loops_pairwise_distances() {
    // sum_{i < j} (x_i - x_j)^2  ->  d/dx_i = 2 sum_j (x_i - x_j)
    #[derive_gradient]
    fn spread(x: &[f64]) -> f64 {
        let n = x.len();
        let mut s = 0.0;
        for i in 0..n {
            for j in i + 1..n {
                let d = x[i] - x[j];
                s += d * d;
            }
        }
        s
    }
    let x = [1.0, 4.0, -2.0, 0.5];
    let (value, grad) = spread_grad(&x);
    assert_value(value, spread(&x));
    let expected: Vec<f64> = (0..4)
        .map(|i| 2.0 * (0..4).map(|j| x[i] - x[j]).sum::<f64>())
        .collect();
    assert_eq!(grad, expected);
    assert_fd(spread, &x, &grad);
}

#[test]
fn while_loop_over_an_array() {
    // Horner evaluation of a polynomial with coefficients `c` at `t`, by a while loop.
    #[derive_gradient]
    fn horner(c: &[f64], t: f64) -> f64 {
        let mut i = c.len();
        let mut p = 0.0;
        while i > 0 {
            i -= 1;
            p = p * t + c[i];
        }
        p
    }
    let c = [1.0, -3.0, 0.5, 2.0];
    let t = 1.5;
    let (value, (gc, gt)) = horner_grad(&c, t);
    assert_eq!(value, 1.0 - 4.5 + 1.125 + 6.75);
    assert_eq!(gc, vec![1.0, 1.5, 2.25, 3.375]);
    assert_eq!(gt, -3.0 + 1.5 + 13.5);
    assert_fd(
        |v| horner(&v[..4], v[4]),
        &concat(&[&c, &[t]]),
        &concat(&[&gc, &[gt]]),
    );
}

#[test]
fn tuples_in_a_loop() {
    // A linear recurrence with tuple assignment: (a, b) <- (b, a x_i + b).
    #[derive_gradient]
    fn recur(x: &[f64]) -> f64 {
        let (mut a, mut b) = (1.0, 0.0);
        for i in 0..x.len() {
            let (na, nb) = (b, a * x[i] + b);
            a = na;
            b = nb;
        }
        a + b
    }
    let x = random(11, 6, -1.0, 1.0);
    let (value, grad) = recur_grad(&x);
    assert_value(value, recur(&x));
    assert_fd(recur, &x, &grad);
    // Two steps: (1, 0) -> (0, x0) -> (x0, 0 * x1 + x0), so f = 2 x0 and grad = [2, 0].
    let (value, grad) = recur_grad(&[2.0, 3.0]);
    assert_eq!(value, 4.0);
    assert_eq!(grad, vec![2.0, 0.0]);
}

// --- wrt(..) -------------------------------------------------------------------------------

#[test]
fn wrt_selects_parameters_in_signature_order() {
    #[derive_gradient(wrt(x))]
    fn only_x(w: &[f64], x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            s += w[i] * x[i] * x[i];
        }
        s
    }
    // Named in the other order: the gradient still follows the signature (w first, then b).
    #[derive_gradient(wrt(b, w))]
    fn w_and_b(w: [f64; 2], x: f64, b: f64) -> f64 {
        (w[0] * x + w[1] * x * x + b).powi(2)
    }
    let w = [1.0, -2.0, 0.5];
    let x = [3.0, 1.0, -4.0];
    let (value, gx) = only_x_grad(&w, &x);
    assert_eq!(value, 9.0 - 2.0 + 8.0);
    assert_eq!(gx, vec![6.0, -4.0, -4.0]);
    assert_fd(|v| only_x(&w, v), &x, &gx);

    let (value, (gw, gb)) = w_and_b_grad([1.0, 0.5], 2.0, -1.0);
    let z = 2.0 + 2.0 - 1.0;
    assert_eq!(value, z * z);
    assert_eq!(gw, [2.0 * z * 2.0, 2.0 * z * 4.0]);
    assert_eq!(gb, 2.0 * z);
    assert_fd(
        |p| w_and_b([p[0], p[1]], 2.0, p[2]),
        &[1.0, 0.5, -1.0],
        &[gw[0], gw[1], gb],
    );
}

// --- _grad_into ----------------------------------------------------------------------------

#[derive_gradient(wrt(w, b))]
fn weighted_loss(w: &[f64], b: f64, a: [f64; 3], x: &[f64], scale: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let z = w[i] * x[i] + b + a[i % 3];
        s += z * z;
    }
    s * scale
}

#[derive_gradient]
fn all_kinds(w: &[f64], b: f64, a: [f64; 3], v: &Vec<f64>) -> f64 {
    let mut s = b * b;
    for i in 0..3 {
        s += a[i] * w[i] + v[i].exp();
    }
    s
}

#[test]
fn grad_into_matches_grad_and_overwrites_stale_buffers() {
    let w = random(21, 5, -1.0, 1.0);
    let x = random(22, 5, -1.0, 1.0);
    let a = [0.5, -0.25, 1.0];
    let (value, (gw, gb)) = weighted_loss_grad(&w, 0.3, a, &x, 2.0);
    // Stale contents (including NaN) must be overwritten, not accumulated into.
    let mut bw = vec![f64::NAN; 5];
    let mut bb = 123.0;
    for _ in 0..2 {
        let v = weighted_loss_grad_into(&w, 0.3, a, &x, 2.0, &mut bw, &mut bb);
        assert_eq!(v, value);
        assert_eq!(bw, gw);
        assert_eq!(bb, gb);
    }
    let mut all = gw.clone();
    all.push(gb);
    let mut p = w.clone();
    p.push(0.3);
    assert_fd(|p| weighted_loss(&p[..5], p[5], a, &x, 2.0), &p, &all);

    let w = [1.0, 2.0, 3.0, 4.0];
    let v = vec![0.0, 1.0, -1.0];
    let (value, (gw, gb, ga, gv)) = all_kinds_grad(&w, 2.0, a, &v);
    let mut bw = [7.0; 4];
    let mut bb = -1.0;
    let mut ba = [f64::INFINITY; 3];
    let mut bv = vec![9.0; 3];
    let r = all_kinds_grad_into(&w, 2.0, a, &v, &mut bw, &mut bb, &mut ba, &mut bv);
    assert_eq!(r, value);
    assert_eq!(bw.to_vec(), gw);
    assert_eq!(gw, vec![0.5, -0.25, 1.0, 0.0]);
    assert_eq!((bb, gb), (4.0, 4.0));
    assert_eq!((ba, ga), ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]));
    assert_eq!(bv, gv);
    assert_eq!(gv, vec![1.0, 1f64.exp(), (-1f64).exp()]);
    assert_fd(
        |p| all_kinds(&p[..4], p[4], [p[5], p[6], p[7]], &p[8..].to_vec()),
        &concat(&[&w, &[2.0], &a, &v]),
        &concat(&[&gw, &[gb], &ga, &gv]),
    );
}

#[test]
fn grad_into_f32() {
    #[derive_gradient]
    fn f(x: &[f32], s: f32) -> f32 {
        let mut t = 0.0;
        for i in 0..x.len() {
            t += (x[i] * s).sin();
        }
        t
    }
    let x = [0.1f32, 0.7, -1.3];
    let (value, (gx, gs)) = f_grad(&x, 1.5);
    let mut bx = [f32::NAN; 3];
    let mut bs = f32::NAN;
    assert_eq!(f_grad_into(&x, 1.5, &mut bx, &mut bs), value);
    assert_eq!(bx.to_vec(), gx);
    assert_eq!(bs, gs);
    let mut p = x.to_vec();
    p.push(1.5);
    let mut g = gx.clone();
    g.push(gs);
    assert_fd32(|v| f(&v[..3], v[3]), &p, &g);
}

// --- Many inputs ---------------------------------------------------------------------------

#[test]
fn large_slice_directional_check() {
    // A smooth function of 2000 inputs, checked along random directions (two evaluations each).
    #[derive_gradient]
    fn f(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 1..x.len() {
            let d = x[i] - x[i - 1] * x[i - 1];
            s += d * d + (x[i] * 0.5).cos();
        }
        s
    }
    let x = random(33, 2000, -1.0, 1.0);
    let (value, grad) = f_grad(&x);
    assert_value(value, f(&x));
    for seed in 0..4 {
        if let Err(e) = check_directional(f, &x, &grad, Tolerance::default(), seed) {
            panic!("{e}");
        }
    }
}

// --- Accumulators the reverse sweep must not treat as plain reductions ---------------------

#[test]
fn accumulators_read_reset_or_scaled_inside_the_loop() {
    // `s` is read inside the loop that accumulates it.
    #[derive_gradient]
    fn read_inside(x: &[f64]) -> f64 {
        let mut s = 0.0;
        let mut m = 0.0;
        for i in 0..x.len() {
            s += x[i];
            m += s * x[i];
        }
        m + s
    }
    // `s` is halved on some iterations, depending on the data.
    #[derive_gradient]
    fn reset(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            if x[i] > 0.0 {
                s += x[i] * x[i];
            } else {
                s *= 0.5;
            }
        }
        s * s
    }
    // `-=` from a non-zero start, then reused by a second reduction.
    #[derive_gradient]
    fn minus(x: &[f64], c: f64) -> f64 {
        let mut s = c;
        for i in 0..x.len() {
            s -= x[i] * c;
        }
        let mut u = s * s;
        for i in 0..x.len() {
            u += x[i] * s;
        }
        u
    }
    // `s += ..; s *= 0.5`: a linear recurrence, not a sum.
    #[derive_gradient]
    fn scaled(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() {
            s += x[i];
            s *= 0.5;
        }
        s.exp()
    }
    // Accumulators in a local array, one feeding the other.
    #[derive_gradient]
    fn in_array(x: &[f64]) -> f64 {
        let mut a = [0.0; 2];
        for i in 0..x.len() {
            a[0] += x[i] * x[i];
            a[1] += a[0] * x[i];
        }
        a[0].sin() + a[1]
    }
    // An accumulator carried across outer iterations and read nonlinearly after each.
    #[derive_gradient]
    fn nested(x: &[f64], n: usize) -> f64 {
        let mut s = 0.0;
        let mut out = 0.0;
        for i in 0..n {
            for j in 0..x.len() {
                s += x[j] * (i as f64 + 1.0);
            }
            out += s.sin();
        }
        out
    }
    // A dot product whose result feeds a second reduction over the same weights.
    #[derive_gradient]
    fn dot_reuse(w: &[f64], x: &[f64]) -> f64 {
        let mut z = 0.0;
        for j in 0..w.len() {
            z += w[j] * x[j];
        }
        let mut q = 0.0;
        for j in 0..w.len() {
            q += w[j] * z;
        }
        q * z
    }
    let x = [0.5, -1.0, 2.0, 0.3, -0.7];
    let w = [0.2, 0.4, -0.1, 1.0, 0.3];

    // read_inside: s_i = prefix sums, m = sum_i s_i x_i; dm/dx_k = s_k + sum_{i >= k} x_i.
    let (value, g) = read_inside_grad(&x);
    assert_value(value, read_inside(&x));
    let s: Vec<f64> = (0..5).map(|k| x[..=k].iter().sum()).collect();
    let expected: Vec<f64> = (0..5)
        .map(|k| s[k] + x[k..].iter().sum::<f64>() + 1.0)
        .collect();
    assert_close(&g, &expected, 1e-14);
    assert_fd(read_inside, &x, &g);

    assert_fd(reset, &x, &reset_grad(&x).1);
    let (_, (gx, gc)) = minus_grad(&x, 0.8);
    assert_fd(
        |v| minus(&v[..5], v[5]),
        &concat(&[&x, &[0.8]]),
        &concat(&[&gx, &[gc]]),
    );
    assert_fd(scaled, &x, &scaled_grad(&x).1);
    assert_fd(in_array, &x, &in_array_grad(&x).1);
    assert_fd(|v| nested(v, 3), &x, &nested_grad(&x, 3).1);
    let (_, (gw, gx)) = dot_reuse_grad(&w, &x);
    assert_fd(
        |v| dot_reuse(&v[..5], &v[5..]),
        &concat(&[&w, &x]),
        &concat(&[&gw, &gx]),
    );
}

/// Sums over a few iterations the source fixes run as plain loops (no kernel): a dot product
/// over a literal range, an inclusive one, and the squares of an array literal's elements.
#[test]
fn sums_over_a_few_literal_iterations() {
    #[derive_gradient]
    fn dot3(x: &[f64], y: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..3usize {
            s += x[i] * y[i];
        }
        for i in 1..=2usize {
            s -= x[i] * y[i] * 0.5;
        }
        s
    }
    #[derive_gradient]
    fn norm_of_three(a: f64, b: f64) -> f64 {
        let v = [a, b, a * b];
        let mut s = 0.0;
        for e in v {
            s += e * e;
        }
        s.sqrt()
    }
    let (x, y) = (random(31, 4, -2.0, 2.0), random(32, 4, -2.0, 2.0));
    let (value, (gx, gy)) = dot3_grad(&x, &y);
    assert_value(value, dot3(&x, &y));
    let weight = [1.0, 0.5, 0.5, 0.0];
    let want_x: Vec<f64> = (0..4).map(|i| weight[i] * y[i]).collect();
    let want_y: Vec<f64> = (0..4).map(|i| weight[i] * x[i]).collect();
    assert_close(&gx, &want_x, 1e-15);
    assert_close(&gy, &want_y, 1e-15);
    assert_fd(
        |v| dot3(&v[..4], &v[4..]),
        &concat(&[&x, &y]),
        &concat(&[&gx, &gy]),
    );

    for (a, b) in [(0.5, -1.5), (2.0, 0.25), (-1.0, 3.0)] {
        let (value, (ga, gb)) = norm_of_three_grad(a, b);
        let n = (a * a + b * b + a * a * b * b).sqrt();
        assert_value(value, n);
        assert_close(
            &[ga, gb],
            &[(a + a * b * b) / n, (b + a * a * b) / n],
            1e-14,
        );
        assert_fd(|v| norm_of_three(v[0], v[1]), &[a, b], &[ga, gb]);
    }
}
