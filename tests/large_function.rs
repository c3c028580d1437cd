//! A large function (about 200 lines: ten blocks, each with a loop over data, branches, a
//! `while` loop with carried state, array updates and a dozen float methods, each block
//! feeding the next) compiles through the macro, and its gradient agrees with finite
//! differences. The same function is the input of `benches/expand.rs`, which times the
//! expansion itself. A second large function, sixteen dot products over slices, runs its
//! companions out of line (with the SIMD dispatch) and is checked against its closed form.

#![allow(clippy::assign_op_pattern, clippy::manual_clamp, clippy::identity_op)]

use grad::derive_gradient;

#[derive_gradient]
fn big(x: &[f64], w: [f64; 8], b: f64, n: usize) -> f64 {
    let mut acc = 0.0;
    let mut buf = [0.0; 8];
    let mut s0 = acc * 0.5 + x[0 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s0;
        if v > 0.0 {
            s0 = s0 + v.tanh() * 0.1;
        } else {
            s0 = s0 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j0 = 0;
    while j0 < 3 {
        s0 = s0 * 0.9 + (s0 * s0 + 1.0).sqrt().ln();
        j0 += 1;
    }
    let p0 = s0.powi(2) + s0.abs().powf(1.5) + s0.atan2(1.0 + b);
    let q0 = p0.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q0 / (1.0 + buf[0 % 8].abs());
    let mut s1 = acc * 0.5 + x[1 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s1;
        if v > 0.0 {
            s1 = s1 + v.tanh() * 0.1;
        } else {
            s1 = s1 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j1 = 0;
    while j1 < 3 {
        s1 = s1 * 0.9 + (s1 * s1 + 1.0).sqrt().ln();
        j1 += 1;
    }
    let p1 = s1.powi(2) + s1.abs().powf(1.5) + s1.atan2(1.0 + b);
    let q1 = p1.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q1 / (1.0 + buf[1 % 8].abs());
    let mut s2 = acc * 0.5 + x[2 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s2;
        if v > 0.0 {
            s2 = s2 + v.tanh() * 0.1;
        } else {
            s2 = s2 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j2 = 0;
    while j2 < 3 {
        s2 = s2 * 0.9 + (s2 * s2 + 1.0).sqrt().ln();
        j2 += 1;
    }
    let p2 = s2.powi(2) + s2.abs().powf(1.5) + s2.atan2(1.0 + b);
    let q2 = p2.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q2 / (1.0 + buf[2 % 8].abs());
    let mut s3 = acc * 0.5 + x[3 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s3;
        if v > 0.0 {
            s3 = s3 + v.tanh() * 0.1;
        } else {
            s3 = s3 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j3 = 0;
    while j3 < 3 {
        s3 = s3 * 0.9 + (s3 * s3 + 1.0).sqrt().ln();
        j3 += 1;
    }
    let p3 = s3.powi(2) + s3.abs().powf(1.5) + s3.atan2(1.0 + b);
    let q3 = p3.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q3 / (1.0 + buf[3 % 8].abs());
    let mut s4 = acc * 0.5 + x[4 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s4;
        if v > 0.0 {
            s4 = s4 + v.tanh() * 0.1;
        } else {
            s4 = s4 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j4 = 0;
    while j4 < 3 {
        s4 = s4 * 0.9 + (s4 * s4 + 1.0).sqrt().ln();
        j4 += 1;
    }
    let p4 = s4.powi(2) + s4.abs().powf(1.5) + s4.atan2(1.0 + b);
    let q4 = p4.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q4 / (1.0 + buf[4 % 8].abs());
    let mut s5 = acc * 0.5 + x[5 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s5;
        if v > 0.0 {
            s5 = s5 + v.tanh() * 0.1;
        } else {
            s5 = s5 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j5 = 0;
    while j5 < 3 {
        s5 = s5 * 0.9 + (s5 * s5 + 1.0).sqrt().ln();
        j5 += 1;
    }
    let p5 = s5.powi(2) + s5.abs().powf(1.5) + s5.atan2(1.0 + b);
    let q5 = p5.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q5 / (1.0 + buf[5 % 8].abs());
    let mut s6 = acc * 0.5 + x[6 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s6;
        if v > 0.0 {
            s6 = s6 + v.tanh() * 0.1;
        } else {
            s6 = s6 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j6 = 0;
    while j6 < 3 {
        s6 = s6 * 0.9 + (s6 * s6 + 1.0).sqrt().ln();
        j6 += 1;
    }
    let p6 = s6.powi(2) + s6.abs().powf(1.5) + s6.atan2(1.0 + b);
    let q6 = p6.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q6 / (1.0 + buf[6 % 8].abs());
    let mut s7 = acc * 0.5 + x[7 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s7;
        if v > 0.0 {
            s7 = s7 + v.tanh() * 0.1;
        } else {
            s7 = s7 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j7 = 0;
    while j7 < 3 {
        s7 = s7 * 0.9 + (s7 * s7 + 1.0).sqrt().ln();
        j7 += 1;
    }
    let p7 = s7.powi(2) + s7.abs().powf(1.5) + s7.atan2(1.0 + b);
    let q7 = p7.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q7 / (1.0 + buf[7 % 8].abs());
    let mut s8 = acc * 0.5 + x[8 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s8;
        if v > 0.0 {
            s8 = s8 + v.tanh() * 0.1;
        } else {
            s8 = s8 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j8 = 0;
    while j8 < 3 {
        s8 = s8 * 0.9 + (s8 * s8 + 1.0).sqrt().ln();
        j8 += 1;
    }
    let p8 = s8.powi(2) + s8.abs().powf(1.5) + s8.atan2(1.0 + b);
    let q8 = p8.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q8 / (1.0 + buf[8 % 8].abs());
    let mut s9 = acc * 0.5 + x[9 % x.len()];
    for i in 0..n {
        let v = x[i] * w[i % 8] + s9;
        if v > 0.0 {
            s9 = s9 + v.tanh() * 0.1;
        } else {
            s9 = s9 - v.exp() * 0.01;
        }
        buf[i % 8] += v.sin() * v.cos();
    }
    let mut j9 = 0;
    while j9 < 3 {
        s9 = s9 * 0.9 + (s9 * s9 + 1.0).sqrt().ln();
        j9 += 1;
    }
    let p9 = s9.powi(2) + s9.abs().powf(1.5) + s9.atan2(1.0 + b);
    let q9 = p9.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
    acc += q9 / (1.0 + buf[9 % 8].abs());
    acc
}

fn flat(x: &[f64], w: [f64; 8], b: f64) -> Vec<f64> {
    let mut p = x.to_vec();
    p.extend_from_slice(&w);
    p.push(b);
    p
}

/// The function has sharp features (branches, `max`/`min` clamps, `abs`) close to any point,
/// so the finite differences use a small step (1e-7), and reverse mode is also compared with
/// forward mode, which computes the same derivatives by a different sweep.
#[test]
fn large_function_gradient_matches_forward_mode_and_finite_differences() {
    let n = 12;
    let x: Vec<f64> = (0..n)
        .map(|i| ((i as f64) * 0.77 + 0.3).sin() * 0.8)
        .collect();
    let w = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, -0.15, 0.35];
    let b = 0.4;
    let (value, (gx, gw, gb)) = big_grad(&x, w, b, n);
    assert!((value - big(&x, w, b, n)).abs() <= 1e-12 * value.abs());
    let mut g = gx.clone();
    g.extend_from_slice(&gw);
    g.push(gb);
    let f = |p: &[f64]| {
        let mut w = [0.0; 8];
        w.copy_from_slice(&p[n..n + 8]);
        big(&p[..n], w, p[n + 8], n)
    };
    let point = flat(&x, w, b);
    for (k, gk) in g.iter().enumerate() {
        // Forward mode along the k-th input.
        let mut tangent = vec![0.0; point.len()];
        tangent[k] = 1.0;
        let mut tw = [0.0; 8];
        tw.copy_from_slice(&tangent[n..n + 8]);
        let (_, dk) = big_pushforward(&x, w, b, n, &tangent[..n], tw, tangent[n + 8]);
        assert!(
            (dk - gk).abs() <= 1e-10 * gk.abs().max(1.0),
            "input {k}: forward {dk} vs reverse {gk}"
        );
        // Central difference with a small step.
        let h = 1e-7;
        let (mut plus, mut minus) = (point.clone(), point.clone());
        plus[k] += h;
        minus[k] -= h;
        let fd = (f(&plus) - f(&minus)) / (2.0 * h);
        assert!(
            (fd - gk).abs() <= 1e-5 * gk.abs().max(1.0),
            "input {k}: finite difference {fd} vs reverse {gk}"
        );
    }
}

/// Sixteen dot products over slices, each through `sin` and a product with `cos a`: a body
/// large enough to run out of line (`out_of_line` around the SIMD dispatch of its pullback's
/// kernels, and around its pushforward).
#[derive_gradient]
fn big_dots(x: &[f64], y: &[f64], a: f64) -> f64 {
    let mut acc = 0.0;
    let mut d0 = 0.0;
    for i in 0..x.len() {
        d0 += x[i] * y[i];
    }
    let u0 = a * d0 * 0.1;
    acc += u0.sin() + a.cos() * d0 * 1.0;
    let mut d1 = 0.0;
    for i in 0..x.len() {
        d1 += x[i] * y[i];
    }
    let u1 = a * d1 * 0.2;
    acc += u1.sin() + a.cos() * d1 * 0.5;
    let mut d2 = 0.0;
    for i in 0..x.len() {
        d2 += x[i] * y[i];
    }
    let u2 = a * d2 * 0.3;
    acc += u2.sin() + a.cos() * d2 * -0.5;
    let mut d3 = 0.0;
    for i in 0..x.len() {
        d3 += x[i] * y[i];
    }
    let u3 = a * d3 * 0.15;
    acc += u3.sin() + a.cos() * d3 * 0.25;
    let mut d4 = 0.0;
    for i in 0..x.len() {
        d4 += x[i] * y[i];
    }
    let u4 = a * d4 * 0.25;
    acc += u4.sin() + a.cos() * d4 * -0.25;
    let mut d5 = 0.0;
    for i in 0..x.len() {
        d5 += x[i] * y[i];
    }
    let u5 = a * d5 * 0.35;
    acc += u5.sin() + a.cos() * d5 * 0.75;
    let mut d6 = 0.0;
    for i in 0..x.len() {
        d6 += x[i] * y[i];
    }
    let u6 = a * d6 * 0.05;
    acc += u6.sin() + a.cos() * d6 * -0.75;
    let mut d7 = 0.0;
    for i in 0..x.len() {
        d7 += x[i] * y[i];
    }
    let u7 = a * d7 * 0.45;
    acc += u7.sin() + a.cos() * d7 * 0.125;
    let mut d8 = 0.0;
    for i in 0..x.len() {
        d8 += x[i] * y[i];
    }
    let u8 = a * d8 * 0.12;
    acc += u8.sin() + a.cos() * d8 * 1.5;
    let mut d9 = 0.0;
    for i in 0..x.len() {
        d9 += x[i] * y[i];
    }
    let u9 = a * d9 * 0.22;
    acc += u9.sin() + a.cos() * d9 * -1.5;
    let mut d10 = 0.0;
    for i in 0..x.len() {
        d10 += x[i] * y[i];
    }
    let u10 = a * d10 * 0.32;
    acc += u10.sin() + a.cos() * d10 * 0.3;
    let mut d11 = 0.0;
    for i in 0..x.len() {
        d11 += x[i] * y[i];
    }
    let u11 = a * d11 * 0.42;
    acc += u11.sin() + a.cos() * d11 * -0.3;
    let mut d12 = 0.0;
    for i in 0..x.len() {
        d12 += x[i] * y[i];
    }
    let u12 = a * d12 * 0.18;
    acc += u12.sin() + a.cos() * d12 * 0.6;
    let mut d13 = 0.0;
    for i in 0..x.len() {
        d13 += x[i] * y[i];
    }
    let u13 = a * d13 * 0.28;
    acc += u13.sin() + a.cos() * d13 * -0.6;
    let mut d14 = 0.0;
    for i in 0..x.len() {
        d14 += x[i] * y[i];
    }
    let u14 = a * d14 * 0.38;
    acc += u14.sin() + a.cos() * d14 * 0.9;
    let mut d15 = 0.0;
    for i in 0..x.len() {
        d15 += x[i] * y[i];
    }
    let u15 = a * d15 * 0.08;
    acc += u15.sin() + a.cos() * d15 * -0.9;
    acc
}

/// `big_dots` is f(d, a) = sum_k sin(a c_k d) + cos(a) e_k d with d = x . y.
#[test]
fn large_function_with_kernels_matches_its_closed_form() {
    let c = [
        0.1, 0.2, 0.3, 0.15, 0.25, 0.35, 0.05, 0.45, 0.12, 0.22, 0.32, 0.42, 0.18, 0.28, 0.38, 0.08,
    ];
    let e = [
        1.0, 0.5, -0.5, 0.25, -0.25, 0.75, -0.75, 0.125, 1.5, -1.5, 0.3, -0.3, 0.6, -0.6, 0.9, -0.9,
    ];
    let x: Vec<f64> = (0..37).map(|i| ((i as f64) * 0.61 + 0.2).sin()).collect();
    let y: Vec<f64> = (0..37)
        .map(|i| ((i as f64) * 0.37 - 0.4).cos() * 0.5)
        .collect();
    for a in [0.7, -1.3, 2.1] {
        let d: f64 = x.iter().zip(&y).map(|(p, q)| p * q).sum();
        let df_dd: f64 = (0..16)
            .map(|k| a * c[k] * (a * c[k] * d).cos() + a.cos() * e[k])
            .sum();
        let df_da: f64 = (0..16)
            .map(|k| c[k] * d * (a * c[k] * d).cos() - a.sin() * e[k] * d)
            .sum();
        let (value, (gx, gy, ga)) = big_dots_grad(&x, &y, a);
        assert!((value - big_dots(&x, &y, a)).abs() <= 1e-12 * value.abs().max(1.0));
        for i in 0..x.len() {
            assert!(
                (gx[i] - df_dd * y[i]).abs() <= 1e-12 * df_dd.abs().max(1.0),
                "x[{i}]"
            );
            assert!(
                (gy[i] - df_dd * x[i]).abs() <= 1e-12 * df_dd.abs().max(1.0),
                "y[{i}]"
            );
        }
        assert!(
            (ga - df_da).abs() <= 1e-12 * df_da.abs().max(1.0),
            "{ga} vs {df_da}"
        );
        // Forward mode along a.
        let zeros = vec![0.0; x.len()];
        let (_, da) = big_dots_pushforward(&x, &y, a, &zeros, &zeros, 1.0);
        assert!((da - df_da).abs() <= 1e-12 * df_da.abs().max(1.0));
        // Central differences along a and x[3].
        let h = 1e-6;
        let fd_a = (big_dots(&x, &y, a + h) - big_dots(&x, &y, a - h)) / (2.0 * h);
        assert!(
            (fd_a - ga).abs() <= 1e-6 * ga.abs().max(1.0),
            "{fd_a} vs {ga}"
        );
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[3] += h;
        xm[3] -= h;
        let fd_x = (big_dots(&xp, &y, a) - big_dots(&xm, &y, a)) / (2.0 * h);
        assert!(
            (fd_x - gx[3]).abs() <= 1e-6 * gx[3].abs().max(1.0),
            "{fd_x} vs {}",
            gx[3]
        );
    }
}
