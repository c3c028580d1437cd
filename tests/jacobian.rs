//! Jacobians of vector functions (MATH.md items 2-6): the seed example in both layouts, the
//! identity, element-wise binary operators (diagonal Jacobians), reductions, the vector chain
//! rule, tuple and `Vec` results, functions with loops in forward and reverse mode, and
//! functions composed of other `#[derive_gradient]` functions.
//!
//! Exact values are compared with `assert_eq!` at points where the arithmetic is exact; every
//! Jacobian is also compared with the central-difference Jacobian of `grad::runtime`.

// The macro differentiates index loops, not iterator chains or `copy_from_slice`, so the bodies
// index on purpose; `&Vec<f64>` parameters are part of what is tested.
#![allow(clippy::needless_range_loop, clippy::manual_memcpy, clippy::ptr_arg)]

use grad::derive_gradient;
use grad::runtime::{check_jacobian, Tolerance, XorShift64};
use grad::Jacobian;

/// Panics with the checker's report unless `jac` (numerator layout) matches the
/// central-difference Jacobian of `f` at `x`.
#[track_caller]
fn assert_fd(f: impl Fn(&[f64]) -> Vec<f64>, x: &[f64], jac: &Jacobian<f64>) {
    if let Err(e) = check_jacobian(f, x, jac, Tolerance::default()) {
        panic!("{e}");
    }
}

/// Panics unless `jac` has exactly the given rows, entry by entry.
#[track_caller]
fn assert_exact(jac: &Jacobian<f64>, expected: &[&[f64]]) {
    let cols = expected.first().map_or(0, |r| r.len());
    assert_eq!(
        (jac.rows(), jac.cols()),
        (expected.len(), cols),
        "shape of {jac}"
    );
    for (i, row) in expected.iter().enumerate() {
        assert_eq!(jac.row(i), *row, "row {i} of {jac}");
    }
}

/// `n` values uniform in `[lo, hi)`, reproducible from `seed`.
fn random(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut rng = XorShift64::new(seed);
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

/// `|a - b| <= 4 ulp` of the larger, for values computed in another order.
#[track_caller]
fn assert_ulps(a: f64, b: f64, what: &str) {
    let bound = 4.0 * f64::EPSILON * a.abs().max(b.abs());
    assert!((a - b).abs() <= bound, "{what}: {a} vs {b}");
}

// --- Item 2: the seed example, y = [3x^2 y, 2x + y^8] ---------------------------------------

#[derive_gradient]
fn seed_fg(x: f64, y: f64) -> [f64; 2] {
    [3.0 * x * x * y, 2.0 * x + y.powi(8)]
}

#[derive_gradient(layout = "denominator")]
fn seed_fg_denominator(x: f64, y: f64) -> [f64; 2] {
    [3.0 * x * x * y, 2.0 * x + y.powi(8)]
}

#[test]
fn seed_example_numerator_layout_exact() {
    // J = [[6xy, 3x^2], [2, 8y^7]]; all exact at these points.
    for (x, y) in [
        (2.0, 1.5),
        (1.0, 1.0),
        (-3.0, 0.5),
        (0.0, 2.0),
        (0.25, -1.0),
    ] {
        let (value, jac) = seed_fg_jacobian(x, y);
        assert_eq!(value, seed_fg(x, y));
        let expected: [&[f64]; 2] = [&[6.0 * x * y, 3.0 * x * x], &[2.0, 8.0 * y.powi(7)]];
        assert_exact(&jac, &expected);
        assert_fd(|v| seed_fg(v[0], v[1]).to_vec(), &[x, y], &jac);
    }
    // The worked numbers: at (2, 1.5), J = [[18, 12], [2, 136.6875]].
    let (_, jac) = seed_fg_jacobian(2.0, 1.5);
    assert_exact(&jac, &[&[18.0, 12.0], &[2.0, 136.6875]]);
}

#[test]
fn seed_example_denominator_layout_is_the_transpose() {
    for (x, y) in [(2.0, 1.5), (-3.0, 0.5), (0.75, -1.25)] {
        let (value, jac) = seed_fg_denominator_jacobian(x, y);
        assert_eq!(value, seed_fg(x, y));
        // J^T = [[6xy, 2], [3x^2, 8y^7]]
        let expected: [&[f64]; 2] = [&[6.0 * x * y, 2.0], &[3.0 * x * x, 8.0 * y.powi(7)]];
        assert_exact(&jac, &expected);
        assert_eq!(jac, seed_fg_jacobian(x, y).1.transpose());
        assert_fd(|v| seed_fg(v[0], v[1]).to_vec(), &[x, y], &jac.transpose());
    }
}

#[test]
fn denominator_layout_of_a_non_square_jacobian() {
    // Three outputs of two inputs: numerator 3 x 2, denominator 2 x 3.
    #[derive_gradient(layout = "denominator")]
    fn three(x: f64, y: f64) -> [f64; 3] {
        [x * y, x - y, x * x]
    }
    #[derive_gradient]
    fn three_num(x: f64, y: f64) -> [f64; 3] {
        [x * y, x - y, x * x]
    }
    let (_, jd) = three_jacobian(3.0, -2.0);
    assert_exact(&jd, &[&[-2.0, 1.0, 6.0], &[3.0, -1.0, 0.0]]);
    let (_, jn) = three_num_jacobian(3.0, -2.0);
    assert_exact(&jn, &[&[-2.0, 3.0], &[1.0, -1.0], &[6.0, 0.0]]);
    assert_eq!(jd, jn.transpose());
    assert_fd(
        |v| three(v[0], v[1]).to_vec(),
        &[3.0, -2.0],
        &jd.transpose(),
    );
}

// --- Item 3: the identity ------------------------------------------------------------------

#[test]
fn identity_of_an_array_is_i() {
    #[derive_gradient]
    fn id(x: [f64; 4]) -> [f64; 4] {
        x
    }
    #[derive_gradient]
    fn id_literal(x: [f64; 4]) -> [f64; 4] {
        [x[0], x[1], x[2], x[3]]
    }
    #[derive_gradient]
    fn id_loop(x: [f64; 4]) -> [f64; 4] {
        let mut y = [0.0; 4];
        for i in 0..4 {
            y[i] = x[i];
        }
        y
    }
    let x = [1.5, -2.0, 0.0, 7.25];
    for (value, jac) in [id_jacobian(x), id_literal_jacobian(x), id_loop_jacobian(x)] {
        assert_eq!(value, x);
        assert_eq!(jac, Jacobian::identity(4));
        assert_fd(|v| v.to_vec(), &x, &jac);
    }
}

#[test]
fn identity_of_a_slice_is_i() {
    #[derive_gradient]
    fn id(x: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for i in 0..x.len() {
            y[i] = x[i];
        }
        y
    }
    for n in [1, 2, 5, 13] {
        let x = random(n as u64, n, -3.0, 3.0);
        let (value, jac) = id_jacobian(&x);
        assert_eq!(value, x);
        assert_eq!(jac, Jacobian::identity(n));
        assert_fd(id, &x, &jac);
    }
}

// --- Item 4: element-wise binary operators -------------------------------------------------

#[derive_gradient]
fn add4(w: [f64; 4], x: [f64; 4]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        y[i] = w[i] + x[i];
    }
    y
}

#[derive_gradient]
fn sub4(w: [f64; 4], x: [f64; 4]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        y[i] = w[i] - x[i];
    }
    y
}

#[derive_gradient]
fn mul4(w: [f64; 4], x: [f64; 4]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        y[i] = w[i] * x[i];
    }
    y
}

#[derive_gradient]
fn div4(w: [f64; 4], x: [f64; 4]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        y[i] = w[i] / x[i];
    }
    y
}

#[derive_gradient]
fn add_s(w: &[f64], x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; w.len()];
    for i in 0..w.len() {
        y[i] = w[i] + x[i];
    }
    y
}

#[derive_gradient]
fn sub_s(w: &[f64], x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; w.len()];
    for i in 0..w.len() {
        y[i] = w[i] - x[i];
    }
    y
}

#[derive_gradient]
fn mul_s(w: &[f64], x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; w.len()];
    for i in 0..w.len() {
        y[i] = w[i] * x[i];
    }
    y
}

#[derive_gradient]
fn div_s(w: &[f64], x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; w.len()];
    for i in 0..w.len() {
        y[i] = w[i] / x[i];
    }
    y
}

/// Checks that `jac` is `[diag(dw) | diag(dx)]`: n rows, 2n columns, the two diagonal blocks
/// side by side. Diagonal entries within 4 ulp of the formula (or exact when `exact`), every
/// off-diagonal entry exactly 0.
#[track_caller]
fn assert_two_diagonals(jac: &Jacobian<f64>, dw: &[f64], dx: &[f64], exact: bool) {
    let n = dw.len();
    assert_eq!((jac.rows(), jac.cols()), (n, 2 * n), "shape of {jac}");
    for i in 0..n {
        for k in 0..2 * n {
            let (block, col) = if k < n { (dw, k) } else { (dx, k - n) };
            let got = jac[(i, k)];
            if col == i {
                if exact {
                    assert_eq!(got, block[i], "J[({i}, {k})] of {jac}");
                } else {
                    assert_ulps(got, block[i], &format!("J[({i}, {k})]"));
                }
            } else {
                assert_eq!(got, 0.0, "off-diagonal J[({i}, {k})] of {jac}");
            }
        }
    }
}

fn concat(w: &[f64], x: &[f64]) -> Vec<f64> {
    w.iter().chain(x).copied().collect()
}

#[test]
fn elementwise_operators_on_arrays_have_diagonal_jacobians() {
    // Powers of two in x keep 1/x and w/x^2 exact.
    let w = [3.0, -1.5, 0.0, 2.75];
    let x = [0.5, 2.0, -4.0, 0.25];
    let ones = [1.0; 4];
    let minus_ones = [-1.0; 4];
    let inv_x: Vec<f64> = x.iter().map(|x| 1.0 / x).collect();
    let minus_w_over_x2: Vec<f64> = w.iter().zip(&x).map(|(w, x)| -w / (x * x)).collect();
    let wx = concat(&w, &x);
    let split = |v: &[f64]| -> ([f64; 4], [f64; 4]) {
        (v[..4].try_into().unwrap(), v[4..].try_into().unwrap())
    };

    let (value, jac) = add4_jacobian(w, x);
    assert_eq!(value, [3.5, 0.5, -4.0, 3.0]);
    assert_two_diagonals(&jac, &ones, &ones, true);
    assert_fd(
        |v| {
            let (w, x) = split(v);
            add4(w, x).to_vec()
        },
        &wx,
        &jac,
    );

    let (value, jac) = sub4_jacobian(w, x);
    assert_eq!(value, [2.5, -3.5, 4.0, 2.5]);
    assert_two_diagonals(&jac, &ones, &minus_ones, true);
    assert_fd(
        |v| {
            let (w, x) = split(v);
            sub4(w, x).to_vec()
        },
        &wx,
        &jac,
    );

    let (value, jac) = mul4_jacobian(w, x);
    assert_eq!(value, mul4(w, x));
    assert_two_diagonals(&jac, &x, &w, true);
    assert_fd(
        |v| {
            let (w, x) = split(v);
            mul4(w, x).to_vec()
        },
        &wx,
        &jac,
    );

    let (value, jac) = div4_jacobian(w, x);
    assert_eq!(value, div4(w, x));
    assert_two_diagonals(&jac, &inv_x, &minus_w_over_x2, true);
    assert_fd(
        |v| {
            let (w, x) = split(v);
            div4(w, x).to_vec()
        },
        &wx,
        &jac,
    );
}

#[test]
fn elementwise_operators_on_arrays_at_random_points() {
    for seed in 0..8 {
        let v = random(seed, 8, 0.5, 3.0);
        let (w, x): ([f64; 4], [f64; 4]) = (v[..4].try_into().unwrap(), v[4..].try_into().unwrap());
        let split = |v: &[f64]| -> ([f64; 4], [f64; 4]) {
            (v[..4].try_into().unwrap(), v[4..].try_into().unwrap())
        };
        let inv_x: Vec<f64> = x.iter().map(|x| 1.0 / x).collect();
        let minus_w_over_x2: Vec<f64> = w.iter().zip(&x).map(|(w, x)| -w / (x * x)).collect();
        let (_, jac) = mul4_jacobian(w, x);
        assert_two_diagonals(&jac, &x, &w, true);
        assert_fd(
            |v| {
                let (w, x) = split(v);
                mul4(w, x).to_vec()
            },
            &v,
            &jac,
        );
        let (_, jac) = div4_jacobian(w, x);
        assert_two_diagonals(&jac, &inv_x, &minus_w_over_x2, false);
        assert_fd(
            |v| {
                let (w, x) = split(v);
                div4(w, x).to_vec()
            },
            &v,
            &jac,
        );
    }
}

#[test]
fn elementwise_operators_on_slices_have_diagonal_jacobians() {
    for n in [1, 3, 6] {
        let w = random(10 + n as u64, n, -2.0, 2.0);
        let x = random(20 + n as u64, n, 0.5, 3.0);
        let wx = concat(&w, &x);
        let ones = vec![1.0; n];
        let minus_ones = vec![-1.0; n];
        let inv_x: Vec<f64> = x.iter().map(|x| 1.0 / x).collect();
        let minus_w_over_x2: Vec<f64> = w.iter().zip(&x).map(|(w, x)| -w / (x * x)).collect();
        let halves = |v: &[f64]| -> (Vec<f64>, Vec<f64>) { (v[..n].to_vec(), v[n..].to_vec()) };

        let (value, jac) = add_s_jacobian(&w, &x);
        assert_eq!(value, add_s(&w, &x));
        assert_two_diagonals(&jac, &ones, &ones, true);
        assert_fd(
            |v| {
                let (w, x) = halves(v);
                add_s(&w, &x)
            },
            &wx,
            &jac,
        );

        let (_, jac) = sub_s_jacobian(&w, &x);
        assert_two_diagonals(&jac, &ones, &minus_ones, true);
        assert_fd(
            |v| {
                let (w, x) = halves(v);
                sub_s(&w, &x)
            },
            &wx,
            &jac,
        );

        let (_, jac) = mul_s_jacobian(&w, &x);
        assert_two_diagonals(&jac, &x, &w, true);
        assert_fd(
            |v| {
                let (w, x) = halves(v);
                mul_s(&w, &x)
            },
            &wx,
            &jac,
        );

        let (_, jac) = div_s_jacobian(&w, &x);
        assert_two_diagonals(&jac, &inv_x, &minus_w_over_x2, false);
        assert_fd(
            |v| {
                let (w, x) = halves(v);
                div_s(&w, &x)
            },
            &wx,
            &jac,
        );
    }
}

#[test]
fn elementwise_product_of_functions_uses_the_chain_rule() {
    // y = f(w) * g(x) with f(w) = w^2, g(x) = sin x:
    // dy/dw = diag(2 w sin x), dy/dx = diag(w^2 cos x).
    #[derive_gradient]
    fn fw_gx(w: [f64; 3], x: [f64; 3]) -> [f64; 3] {
        let mut y = [0.0; 3];
        for i in 0..3 {
            y[i] = (w[i] * w[i]) * x[i].sin();
        }
        y
    }
    let w = [0.5, -1.25, 2.0];
    let x = [0.3, 1.7, -2.2];
    let (_, jac) = fw_gx_jacobian(w, x);
    let dw: Vec<f64> = (0..3).map(|i| 2.0 * w[i] * x[i].sin()).collect();
    let dx: Vec<f64> = (0..3).map(|i| w[i] * w[i] * x[i].cos()).collect();
    assert_two_diagonals(&jac, &dw, &dx, false);
    assert_fd(
        |v| fw_gx([v[0], v[1], v[2]], [v[3], v[4], v[5]]).to_vec(),
        &concat(&w, &x),
        &jac,
    );
}

#[test]
fn elementwise_jacobian_with_respect_to_one_operand() {
    // #[derive_gradient(wrt(x))]: only the dx block, diag(w).
    #[derive_gradient(wrt(x))]
    fn mul_wrt_x(w: &[f64], x: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for i in 0..x.len() {
            y[i] = w[i] * x[i];
        }
        y
    }
    let w = [2.0, -3.0, 0.5];
    let x = [1.0, 4.0, -6.0];
    let (_, jac) = mul_wrt_x_jacobian(&w, &x);
    assert_exact(
        &jac,
        &[&[2.0, 0.0, 0.0], &[0.0, -3.0, 0.0], &[0.0, 0.0, 0.5]],
    );
    assert_fd(|v| mul_wrt_x(&w, v), &x, &jac);
}

// --- Item 5: reductions --------------------------------------------------------------------

#[test]
fn sum_has_a_row_of_ones() {
    #[derive_gradient]
    fn sum(x: [f64; 5]) -> f64 {
        let mut s = 0.0;
        for i in 0..5 {
            s += x[i];
        }
        s
    }
    // The same reduction as a one-output vector function, to get a 1 x n Jacobian.
    #[derive_gradient]
    fn sum_row(x: &[f64]) -> [f64; 1] {
        let mut s = 0.0;
        for i in 0..x.len() {
            s += x[i];
        }
        [s]
    }
    let x = [1.0, -2.0, 3.5, 0.0, 10.0];
    let (value, grad) = sum_grad(x);
    assert_eq!(value, 12.5);
    assert_eq!(value, sum(x));
    assert_eq!(grad, [1.0; 5]);
    for n in [1, 5, 9] {
        let x = random(n as u64, n, -5.0, 5.0);
        let (value, jac) = sum_row_jacobian(&x);
        assert_eq!(value, sum_row(&x));
        assert_exact(&jac, &[&vec![1.0; n]]);
        assert_fd(|v| sum_row(v).to_vec(), &x, &jac);
    }
}

#[test]
fn sum_of_products_gives_the_other_operand() {
    // y = sum(x z): dy/dx = z, dy/dz = x.
    #[derive_gradient]
    fn sum_xz(x: [f64; 4], z: [f64; 4]) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            s += x[i] * z[i];
        }
        s
    }
    #[derive_gradient]
    fn sum_xz_row(x: &[f64], z: &[f64]) -> [f64; 1] {
        let mut s = 0.0;
        for i in 0..x.len() {
            s += x[i] * z[i];
        }
        [s]
    }
    let x = [1.0, -2.0, 0.5, 3.0];
    let z = [4.0, 0.25, -1.0, 2.0];
    let (value, (dx, dz)) = sum_xz_grad(x, z);
    assert_eq!(value, 4.0 - 0.5 - 0.5 + 6.0);
    assert_eq!(value, sum_xz(x, z));
    assert_eq!(dx, z);
    assert_eq!(dz, x);
    let (_, (dx, dz)) = sum_xz_grad([0.0; 4], z);
    assert_eq!((dx, dz), (z, [0.0; 4]));

    let (_, jac) = sum_xz_row_jacobian(&x, &z);
    assert_exact(&jac, &[&concat(&z, &x)]);
    assert_fd(
        |v| sum_xz_row(&v[..4], &v[4..]).to_vec(),
        &concat(&x, &z),
        &jac,
    );
}

// --- Item 6: the vector chain rule ---------------------------------------------------------

#[test]
fn chain_rule_scalar_input() {
    // y = [ln(x^2), sin(3x)] -> dy/dx = [2/x, 3 cos(3x)].
    #[derive_gradient]
    fn y(x: f64) -> [f64; 2] {
        [(x * x).ln(), (3.0 * x).sin()]
    }
    for x in [0.5, 1.0, 2.0, -1.7, 3.3] {
        let (value, jac) = y_jacobian(x);
        assert_eq!(value, y(x));
        assert_eq!((jac.rows(), jac.cols()), (2, 1));
        assert_ulps(jac[(0, 0)], 2.0 / x, "d ln(x^2)/dx");
        assert_ulps(jac[(1, 0)], 3.0 * (3.0 * x).cos(), "d sin(3x)/dx");
        assert_fd(|v| y(v[0]).to_vec(), &[x], &jac);
    }
    // Exactly 2/x where the division is exact.
    assert_eq!(y_jacobian(0.5).1[(0, 0)], 4.0);
    assert_eq!(y_jacobian(2.0).1[(0, 0)], 1.0);
}

#[test]
fn chain_rule_elementwise_outer_function() {
    // y_i = ln(x_i^2): the outer Jacobian is diag(1/x^2), the inner diag(2x), the product diag(2/x).
    #[derive_gradient]
    fn ln_sq(x: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for i in 0..x.len() {
            let u = x[i] * x[i];
            y[i] = u.ln();
        }
        y
    }
    let x = [0.5, -2.0, 4.0, 0.25];
    let (_, jac) = ln_sq_jacobian(&x);
    for i in 0..4 {
        for k in 0..4 {
            let expected = if i == k { 2.0 / x[i] } else { 0.0 };
            assert_eq!(jac[(i, k)], expected, "J[({i}, {k})]");
        }
    }
    assert_fd(ln_sq, &x, &jac);
}

#[test]
fn f32_jacobian() {
    #[derive_gradient]
    fn f(x: [f32; 2]) -> [f32; 3] {
        [x[0] * x[1], x[0].exp(), x[1] / x[0]]
    }
    let x = [0.5f32, 2.0];
    let (value, jac) = f_jacobian(x);
    assert_eq!(value, f(x));
    let e = 0.5f32.exp();
    let expected: [[f32; 2]; 3] = [[2.0, 0.5], [e, 0.0], [-8.0, 2.0]];
    for i in 0..3 {
        assert_eq!(jac.row(i), &expected[i], "row {i} of {jac}");
    }
    if let Err(e) = check_jacobian(
        |v: &[f32]| f([v[0], v[1]]).to_vec(),
        &x,
        &jac,
        Tolerance::default(),
    ) {
        panic!("{e}");
    }
}

// --- Tuple and Vec results -----------------------------------------------------------------

#[test]
fn tuple_results() {
    #[derive_gradient]
    fn polar(r: f64, theta: f64) -> (f64, f64) {
        (r * theta.cos(), r * theta.sin())
    }
    #[derive_gradient]
    fn pair(x: f64, y: f64) -> (f64, f64) {
        let s = x + y;
        let p = x * y;
        (s, p)
    }
    for (r, t) in [(1.0, 0.0), (2.0, 0.7), (0.5, -2.4)] {
        let (value, jac) = polar_jacobian(r, t);
        assert_eq!(value, polar(r, t));
        // [[cos t, -r sin t], [sin t, r cos t]]
        assert_exact(&jac, &[&[t.cos(), -r * t.sin()], &[t.sin(), r * t.cos()]]);
        assert_fd(
            |v| {
                let (a, b) = polar(v[0], v[1]);
                vec![a, b]
            },
            &[r, t],
            &jac,
        );
    }
    let (value, jac) = pair_jacobian(3.0, -5.0);
    assert_eq!(value, (-2.0, -15.0));
    assert_exact(&jac, &[&[1.0, 1.0], &[-5.0, 3.0]]);
    assert_fd(
        |v| {
            let (a, b) = pair(v[0], v[1]);
            vec![a, b]
        },
        &[3.0, -5.0],
        &jac,
    );
}

#[test]
fn tuple_result_with_array_input() {
    // (sum, product) of three numbers.
    #[derive_gradient]
    fn sum_prod(x: [f64; 3]) -> (f64, f64) {
        let mut s = 0.0;
        let mut p = 1.0;
        for i in 0..3 {
            s += x[i];
            p *= x[i];
        }
        (s, p)
    }
    let (value, jac) = sum_prod_jacobian([2.0, 3.0, -4.0]);
    assert_eq!(value, (1.0, -24.0));
    assert_exact(&jac, &[&[1.0, 1.0, 1.0], &[-12.0, -8.0, 6.0]]);
    assert_fd(
        |v| {
            let (a, b) = sum_prod([v[0], v[1], v[2]]);
            vec![a, b]
        },
        &[2.0, 3.0, -4.0],
        &jac,
    );
}

#[test]
fn vec_results_built_in_a_loop() {
    // out[k] = x^k, k = 0..n: one input, n outputs (forward mode).
    #[derive_gradient]
    fn powers(x: f64, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; n];
        let mut p = 1.0;
        for k in 0..n {
            out[k] = p;
            p *= x;
        }
        out
    }
    let (value, jac) = powers_jacobian(2.0, 6);
    assert_eq!(value, vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0]);
    // d x^k / dx = k x^(k-1)
    assert_exact(&jac, &[&[0.0], &[1.0], &[4.0], &[12.0], &[32.0], &[80.0]]);
    assert_fd(|v| powers(v[0], 6), &[2.0], &jac);
    let (value, jac) = powers_jacobian(0.7, 0);
    assert!(value.is_empty());
    assert_eq!((jac.rows(), jac.cols()), (0, 1));
}

#[test]
fn vec_result_of_two_slices() {
    // out_i = a_i * b_{n-1-i} + a_i^2
    #[derive_gradient]
    fn cross(a: &[f64], b: &Vec<f64>) -> Vec<f64> {
        let n = a.len();
        let mut out = vec![0.0; n];
        for i in 0..n {
            out[i] = a[i] * b[n - 1 - i] + a[i] * a[i];
        }
        out
    }
    let a = [1.0, 2.0, -3.0];
    let b = vec![0.5, 4.0, -1.0];
    let (value, jac) = cross_jacobian(&a, &b);
    assert_eq!(value, vec![0.0, 12.0, 7.5]);
    assert_exact(
        &jac,
        &[
            &[-1.0 + 2.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            &[0.0, 4.0 + 4.0, 0.0, 0.0, 2.0, 0.0],
            &[0.0, 0.0, 0.5 - 6.0, -3.0, 0.0, 0.0],
        ],
    );
    assert_fd(|v| cross(&v[..3], &v[3..].to_vec()), &concat(&a, &b), &jac);
}

// --- Functions with loops, forward and reverse mode ----------------------------------------

#[test]
fn prefix_sum_is_lower_triangular_ones() {
    #[derive_gradient]
    fn prefix(x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; x.len()];
        let mut s = 0.0;
        for i in 0..x.len() {
            s += x[i];
            out[i] = s;
        }
        out
    }
    for n in [1, 4, 10] {
        let x = random(n as u64 + 100, n, -1.0, 1.0);
        let (value, jac) = prefix_jacobian(&x);
        assert_eq!(value, prefix(&x));
        for i in 0..n {
            for k in 0..n {
                assert_eq!(jac[(i, k)], if k <= i { 1.0 } else { 0.0 }, "J[({i}, {k})]");
            }
        }
        assert_fd(prefix, &x, &jac);
    }
}

/// Three statistics of 16 inputs: sum, sum of squares, a weighted sine sum.
#[derive_gradient]
fn stats16(x: [f64; 16]) -> [f64; 3] {
    let mut s = 0.0;
    let mut q = 0.0;
    let mut t = 0.0;
    for i in 0..16 {
        s += x[i];
        q += x[i] * x[i];
        t += (i as f64 + 1.0) * x[i].sin();
    }
    [s, q, t]
}

#[test]
fn three_outputs_of_sixteen_inputs_reverse_mode() {
    let v = random(7, 16, -2.0, 2.0);
    let x: [f64; 16] = v.clone().try_into().unwrap();
    let (value, jac) = stats16_jacobian(x);
    assert_eq!(value, stats16(x));
    assert_eq!((jac.rows(), jac.cols()), (3, 16));
    for k in 0..16 {
        assert_eq!(jac[(0, k)], 1.0);
        assert_eq!(jac[(1, k)], 2.0 * x[k]);
        assert_ulps(jac[(2, k)], (k as f64 + 1.0) * x[k].cos(), "d t / dx_k");
    }
    assert_fd(|v| stats16(v.try_into().unwrap()).to_vec(), &v, &jac);
    // Rows from the pullback, columns from the pushforward: the same matrix.
    assert_modes_agree(
        &jac,
        3,
        16,
        |row| {
            let mut seed = [0.0; 3];
            seed[row] = 1.0;
            let mut adj = [0.0; 16];
            stats16_pullback(x, seed, &mut adj);
            adj.to_vec()
        },
        |col| {
            let mut tan = [0.0; 16];
            tan[col] = 1.0;
            stats16_pushforward(x, tan).1.to_vec()
        },
    );
}

/// Six outputs of two inputs (forward mode builds it column by column).
#[derive_gradient]
fn fan_out(a: f64, b: f64) -> [f64; 6] {
    let mut out = [0.0; 6];
    for k in 0..6 {
        let kf = k as f64;
        out[k] = (a * kf + b).sin() + a * b * kf;
    }
    out
}

#[test]
fn more_outputs_than_inputs_forward_mode() {
    for (a, b) in [(0.3, -1.2), (1.5, 0.25), (-2.0, 2.0)] {
        let (value, jac) = fan_out_jacobian(a, b);
        assert_eq!(value, fan_out(a, b));
        assert_eq!((jac.rows(), jac.cols()), (6, 2));
        for k in 0..6 {
            let kf = k as f64;
            let c = (a * kf + b).cos();
            assert_ulps(jac[(k, 0)], kf * c + b * kf, "d/da");
            assert_ulps(jac[(k, 1)], c + a * kf, "d/db");
        }
        assert_fd(|v| fan_out(v[0], v[1]).to_vec(), &[a, b], &jac);
        assert_modes_agree(
            &jac,
            6,
            2,
            |row| {
                let mut seed = [0.0; 6];
                seed[row] = 1.0;
                let (mut da, mut db) = (0.0, 0.0);
                fan_out_pullback(a, b, seed, &mut da, &mut db);
                vec![da, db]
            },
            |col| {
                let (ta, tb) = if col == 0 { (1.0, 0.0) } else { (0.0, 1.0) };
                fan_out_pushforward(a, b, ta, tb).1.to_vec()
            },
        );
    }
}

/// A `Vec` result longer than the input slice: forward mode over a slice.
#[derive_gradient]
fn pairwise(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = x[i] * x[j].exp();
        }
    }
    out
}

/// A `Vec` result shorter than the input: reverse mode over a slice, with a window loop.
#[derive_gradient]
fn window_means(x: &[f64], width: usize) -> Vec<f64> {
    let m = x.len() - width + 1;
    let mut out = vec![0.0; m];
    for i in 0..m {
        let mut s = 0.0;
        for j in i..i + width {
            s += x[j] * x[j];
        }
        out[i] = s / width as f64;
    }
    out
}

#[test]
fn slices_in_forward_and_reverse_mode() {
    let x = random(3, 4, -1.0, 1.0);
    let (value, jac) = pairwise_jacobian(&x);
    assert_eq!(value, pairwise(&x));
    assert_eq!((jac.rows(), jac.cols()), (16, 4));
    assert_fd(pairwise, &x, &jac);
    assert_modes_agree(
        &jac,
        16,
        4,
        |row| {
            let mut seed = vec![0.0; 16];
            seed[row] = 1.0;
            let mut adj = vec![0.0; 4];
            pairwise_pullback(&x, &seed, &mut adj);
            adj
        },
        |col| {
            let mut tan = vec![0.0; 4];
            tan[col] = 1.0;
            pairwise_pushforward(&x, &tan).1
        },
    );

    let x = random(4, 12, -2.0, 2.0);
    let (value, jac) = window_means_jacobian(&x, 5);
    assert_eq!(value, window_means(&x, 5));
    assert_eq!((jac.rows(), jac.cols()), (8, 12));
    for i in 0..8 {
        for k in 0..12 {
            let expected = if (i..i + 5).contains(&k) {
                2.0 * x[k] / 5.0
            } else {
                0.0
            };
            assert_ulps(jac[(i, k)], expected, &format!("J[({i}, {k})]"));
        }
    }
    assert_fd(|v| window_means(v, 5), &x, &jac);
    assert_modes_agree(
        &jac,
        8,
        12,
        |row| {
            let mut seed = vec![0.0; 8];
            seed[row] = 1.0;
            let mut adj = vec![0.0; 12];
            window_means_pullback(&x, 5, &seed, &mut adj);
            adj
        },
        |col| {
            let mut tan = vec![0.0; 12];
            tan[col] = 1.0;
            window_means_pushforward(&x, 5, &tan).1
        },
    );
}

/// Builds the Jacobian row by row from `row_of` (reverse mode) and column by column from
/// `col_of` (forward mode); both must equal `jac` within 4 ulp.
#[track_caller]
fn assert_modes_agree(
    jac: &Jacobian<f64>,
    rows: usize,
    cols: usize,
    row_of: impl Fn(usize) -> Vec<f64>,
    col_of: impl Fn(usize) -> Vec<f64>,
) {
    let mut by_rows = Jacobian::zeros(rows, cols);
    for i in 0..rows {
        by_rows.set_row(i, &row_of(i));
    }
    let mut by_cols = Jacobian::zeros(rows, cols);
    for k in 0..cols {
        by_cols.set_col(k, &col_of(k));
    }
    for i in 0..rows {
        for k in 0..cols {
            let what = format!("J[({i}, {k})]");
            assert_ulps(by_rows[(i, k)], jac[(i, k)], &format!("reverse {what}"));
            assert_ulps(by_cols[(i, k)], jac[(i, k)], &format!("forward {what}"));
        }
    }
}

// --- Composition of annotated functions ----------------------------------------------------

#[derive_gradient]
fn sq_plus_sin(x: f64) -> f64 {
    x * x + x.sin()
}

#[test]
fn annotated_callee() {
    // f(x) = [g(x0) * x1, g(x1 + x2)], g(u) = u^2 + sin u.
    #[derive_gradient]
    fn f(x: [f64; 3]) -> [f64; 2] {
        let a = sq_plus_sin(x[0]) * x[1];
        let b = sq_plus_sin(x[1] + x[2]);
        [a, b]
    }
    let dg = |u: f64| 2.0 * u + u.cos();
    let x = [0.7, -1.3, 2.1];
    let (value, jac) = f_jacobian(x);
    assert_eq!(value, f(x));
    let u = x[1] + x[2];
    let expected = [
        [dg(x[0]) * x[1], sq_plus_sin(x[0]), 0.0],
        [0.0, dg(u), dg(u)],
    ];
    for i in 0..2 {
        for k in 0..3 {
            assert_ulps(jac[(i, k)], expected[i][k], &format!("J[({i}, {k})]"));
        }
    }
    assert_fd(|v| f([v[0], v[1], v[2]]).to_vec(), &x, &jac);
}

#[test]
fn annotated_callee_inside_a_loop() {
    // out_i = g(x_i * s) for a scalar s: J = [diag(g'(x s) s) | g'(x s) x].
    #[derive_gradient]
    fn map_g(x: &[f64], s: f64) -> Vec<f64> {
        let mut out = vec![0.0; x.len()];
        for i in 0..x.len() {
            out[i] = sq_plus_sin(x[i] * s);
        }
        out
    }
    let x = random(5, 5, -2.0, 2.0);
    let s = 0.8;
    let (value, jac) = map_g_jacobian(&x, s);
    assert_eq!(value, map_g(&x, s));
    assert_eq!((jac.rows(), jac.cols()), (5, 6));
    let dg = |u: f64| 2.0 * u + u.cos();
    for i in 0..5 {
        for k in 0..5 {
            if i == k {
                assert_ulps(jac[(i, k)], dg(x[i] * s) * s, "diagonal");
            } else {
                assert_eq!(jac[(i, k)], 0.0, "off-diagonal J[({i}, {k})]");
            }
        }
        assert_ulps(jac[(i, 5)], dg(x[i] * s) * x[i], "d/ds");
    }
    let mut xs = x.clone();
    xs.push(s);
    assert_fd(|v| map_g(&v[..5], v[5]), &xs, &jac);
}

/// An affine neuron pre-activation, `w . x + b` (called with a slice).
#[derive_gradient(wrt(w, b))]
fn affine(w: &[f64], b: f64, x: &[f64]) -> f64 {
    let mut z = b;
    for j in 0..w.len() {
        z += w[j] * x[j];
    }
    z
}

#[test]
fn annotated_callee_with_a_slice_argument() {
    // A layer of two tanh units sharing the bias: out_r = tanh(affine(w_r, b, x)).
    #[derive_gradient(wrt(w, b))]
    fn layer(w: &[f64], b: f64, x: &[f64], d: usize) -> Vec<f64> {
        let rows = w.len() / d;
        let mut out = vec![0.0; rows];
        for r in 0..rows {
            let mut wr = vec![0.0; d];
            for j in 0..d {
                wr[j] = w[r * d + j];
            }
            out[r] = affine(&wr, b, x).tanh();
        }
        out
    }
    // A slice parameter passed straight on, `g(w, b, x)`.
    #[derive_gradient(wrt(w, b))]
    fn one_unit(w: &[f64], b: f64, x: &[f64]) -> [f64; 1] {
        [affine(w, b, x).sin()]
    }
    let d = 3;
    let w = [0.2, -0.4, 0.1, 0.5, 0.3, -0.2];
    let b = 0.05;
    let x = [1.0, 2.0, -1.5];
    let (value, jac) = layer_jacobian(&w, b, &x, d);
    assert_eq!(value, layer(&w, b, &x, d));
    assert_eq!((jac.rows(), jac.cols()), (2, 7));
    for r in 0..2 {
        let z: f64 = b + (0..d).map(|j| w[r * d + j] * x[j]).sum::<f64>();
        let dt = 1.0 - z.tanh().powi(2);
        for k in 0..6 {
            let expected = if k / d == r { dt * x[k % d] } else { 0.0 };
            assert_ulps(jac[(r, k)], expected, &format!("J[({r}, {k})]"));
        }
        assert_ulps(jac[(r, 6)], dt, "d/db");
    }
    assert_fd(|v| layer(&v[..6], v[6], &x, d), &concat(&w, &[b]), &jac);

    let w = [2.0, 1.0, 4.0];
    let x = [1.0, -2.0, 0.5];
    let (value, jac) = one_unit_jacobian(&w, 0.5, &x);
    assert_eq!(value, [2.5f64.sin()]);
    let c = 2.5f64.cos();
    assert_exact(&jac, &[&[c, -2.0 * c, 0.5 * c, c]]);
    assert_fd(
        |v| one_unit(&v[..3], v[3], &x).to_vec(),
        &[2.0, 1.0, 4.0, 0.5],
        &jac,
    );
}

#[test]
fn annotated_callee_with_an_array_passed_as_a_slice() {
    // `g(&w, b)` with an array `w` and a callee taking `&[f64]`: the array's tangent is passed
    // by reference too.
    mod case {
        use super::*;
        use grad::derive_gradient;

        #[derive_gradient]
        fn one_unit(w: [f64; 3], b: f64) -> [f64; 1] {
            let x = [1.0, -2.0, 0.5];
            [affine(&w, b, &x)]
        }

        pub fn run() {
            let (value, jac) = one_unit_jacobian([2.0, 1.0, 4.0], 0.5);
            assert_eq!(value, [2.5]); // 2 - 2 + 2 + 0.5
            assert_exact(&jac, &[&[1.0, -2.0, 0.5, 1.0]]);
            assert_fd(
                |v| one_unit([v[0], v[1], v[2]], v[3]).to_vec(),
                &[2.0, 1.0, 4.0, 0.5],
                &jac,
            );
        }
    }
    case::run();
}

#[derive_gradient]
fn rotate(x: [f64; 2], t: f64) -> [f64; 2] {
    let (c, s) = (t.cos(), t.sin());
    [c * x[0] - s * x[1], s * x[0] + c * x[1]]
}

#[test]
fn annotated_array_returning_callee() {
    // let v: [f64; 2] = rotate(x, t); then a nonlinear function of v.
    #[derive_gradient]
    fn outer(x: [f64; 2], t: f64) -> [f64; 2] {
        let v: [f64; 2] = rotate(x, t);
        [v[0] * v[1], v[0].exp()]
    }
    // Repeated rotation in a loop: rotate(x, t) applied n times is rotate(x, n t).
    #[derive_gradient]
    fn spin(x: [f64; 2], t: f64, n: usize) -> [f64; 2] {
        let mut v = x;
        for _ in 0..n {
            let r: [f64; 2] = rotate(v, t);
            v = r;
        }
        v
    }
    let x = [1.5, -0.5];
    let t = 0.4;
    let (value, jac) = outer_jacobian(x, t);
    assert_eq!(value, outer(x, t));
    let (_, jr) = rotate_jacobian(x, t);
    let v = rotate(x, t);
    // Chain rule by hand: d outer / d (x, t) = [[v1, v0], [e^v0, 0]] * J_rotate.
    for k in 0..3 {
        let e0 = v[1] * jr[(0, k)] + v[0] * jr[(1, k)];
        let e1 = v[0].exp() * jr[(0, k)];
        assert_ulps(jac[(0, k)], e0, "row 0");
        assert_ulps(jac[(1, k)], e1, "row 1");
    }
    assert_fd(
        |p| outer([p[0], p[1]], p[2]).to_vec(),
        &[x[0], x[1], t],
        &jac,
    );

    let (value, jac) = spin_jacobian(x, t, 5);
    let direct = rotate_jacobian(x, 5.0 * t);
    for i in 0..2 {
        assert!((value[i] - direct.0[i]).abs() < 1e-14);
        // The x block is the rotation matrix itself; d/dt is n times rotate's d/dt.
        assert!((jac[(i, 0)] - direct.1[(i, 0)]).abs() < 1e-14);
        assert!((jac[(i, 1)] - direct.1[(i, 1)]).abs() < 1e-14);
        assert!((jac[(i, 2)] - 5.0 * direct.1[(i, 2)]).abs() < 1e-13);
    }
    assert_fd(
        |p| spin([p[0], p[1]], p[2], 5).to_vec(),
        &[x[0], x[1], t],
        &jac,
    );
}

// --- Rows by one forward sweep -------------------------------------------------------------
//
// The Jacobian's rows come from `f_jacobian_rows`: one forward sweep, then a reverse sweep
// per row over the same saved values. What the reverse sweep changes of them (the stacks of
// a loop that overwrites values, popped; the values it restores) is copied after the forward
// sweep and put back before each row.

/// Three weighted sums of a slice and a scale, through nonlinearities; `wrt(x, s)` leaves
/// `bias` out of the Jacobian.
#[derive_gradient(wrt(x, s))]
fn three_sums(x: &[f64], s: f64, bias: f64) -> [f64; 3] {
    let mut a = 0.0;
    let mut b = 0.0;
    let mut c = 0.0;
    for k in 0..x.len() {
        let t = (k as f64 + 1.0) / x.len() as f64;
        a += t * x[k] * s;
        b += (1.0 - t) * x[k] * x[k];
        c += (t - 0.5) * (x[k] + bias).sin();
    }
    [a.tanh(), (0.1 * b).exp() * s, (c + 0.1 * a).sin()]
}

#[test]
fn rows_over_one_forward_sweep_match_the_pullback_and_differences() {
    let x = random(41, 9, -1.0, 1.0);
    let (s, bias) = (0.7, 0.2);
    let (value, jac) = three_sums_jacobian(&x, s, bias);
    assert_eq!(value, three_sums(&x, s, bias));
    assert_eq!((jac.rows(), jac.cols()), (3, 10));
    for r in 0..3 {
        let mut seed = [0.0; 3];
        seed[r] = 1.0;
        let (mut adj_x, mut adj_s, mut adj_bias) = (vec![0.0; 9], 0.0, 0.0);
        three_sums_pullback(&x, s, bias, seed, &mut adj_x, &mut adj_s, &mut adj_bias);
        for k in 0..9 {
            assert_ulps(jac[(r, k)], adj_x[k], &format!("J[({r}, {k})]"));
        }
        assert_ulps(jac[(r, 9)], adj_s, &format!("J[({r}, 9)]"));
    }
    let mut at = x.clone();
    at.push(s);
    assert_fd(|v| three_sums(&v[..9], v[9], bias).to_vec(), &at, &jac);
}

/// A loop overwriting a value each trip: its reverse sweep pops what the forward sweep
/// pushed and restores `p`; each row starts from copies of both.
#[derive_gradient]
fn overwritten(x: [f64; 3]) -> (f64, f64) {
    let mut p = x[0];
    let mut q = 0.0;
    for k in 0..3 {
        p = (p * x[k]).sin() + x[(k + 1) % 3];
        q += p * p;
    }
    (p, q.sqrt())
}

#[test]
fn rows_of_a_reverse_sweep_that_pops_stacks() {
    let x = [0.3, -0.8, 1.1];
    let (value, jac) = overwritten_jacobian(x);
    assert_eq!(value, overwritten(x));
    assert_fd(
        |v| {
            let (p, q) = overwritten([v[0], v[1], v[2]]);
            vec![p, q]
        },
        &x,
        &jac,
    );
}

// --- `f_jacobian_into`: the Jacobian into a caller's matrix ---------------------------------

/// Three outputs of two inputs: `f_jacobian_into` builds it by columns (pushforwards).
#[derive_gradient]
fn tall(x: f64, y: f64) -> [f64; 3] {
    [x * y, x.sin() + y, (x - y).exp()]
}

/// The Jacobian into a matrix of another shape holding NaN, then again into the same matrix
/// at other points: each time the whole matrix is `f_jacobian`'s, bit for bit (so nothing of
/// the previous contents survives), and a matrix with room is not reallocated.
#[test]
fn jacobian_into_overwrites_a_reused_matrix() {
    let mut rng = XorShift64::new(0x1A7C);
    // Rows (reverse sweeps), denominator layout, columns (pushforwards), slices.
    let mut m = Jacobian::from_rows(5, 7, vec![f64::NAN; 35]);
    for _ in 0..3 {
        let (x, y) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
        assert_eq!(seed_fg_jacobian_into(x, y, &mut m), seed_fg(x, y));
        assert_eq!(m, seed_fg_jacobian(x, y).1);
        assert_eq!(
            seed_fg_denominator_jacobian_into(x, y, &mut m),
            seed_fg(x, y)
        );
        assert_eq!(m, seed_fg_denominator_jacobian(x, y).1);
        assert_eq!(tall_jacobian_into(x, y, &mut m), tall(x, y));
        assert_eq!(m, tall_jacobian(x, y).1);
        assert_eq!((m.rows(), m.cols()), (3, 2));
        let (w, z) = (
            random(rng.next_u64(), 4, 0.5, 2.0),
            random(rng.next_u64(), 4, 0.5, 2.0),
        );
        assert_eq!(div_s_jacobian_into(&w, &z, &mut m), div_s(&w, &z));
        assert_eq!(m, div_s_jacobian(&w, &z).1);
        assert_fd(|v| div_s(&v[..4], &v[4..]), &concat(&w, &z), &m);
    }
    // Room for 4 x 8 entries: the same shape again writes in place.
    let data = m.as_slice().as_ptr();
    let (w, z) = (random(7, 4, 0.5, 2.0), random(8, 4, 0.5, 2.0));
    div_s_jacobian_into(&w, &z, &mut m);
    assert_eq!(m.as_slice().as_ptr(), data);
    assert_eq!(m, div_s_jacobian(&w, &z).1);
}
