//! nalgebra parameters and results (issue 14, grad's `nalgebra` feature): `SVector<f64, N>`,
//! `&DVector<f64>`, `SMatrix<f64, R, C>` (by value and by reference, `f32` too), read in the
//! body through `v[i]`, `m[(i, j)]`, `.len()`, `.nrows()`, `.ncols()`, `.iter()` chains and
//! element-wise loops. Each function is checked against its analytic gradient and central
//! finite differences; the pushforward against the gradient; `f_grad_into` overwriting its
//! buffers and `f_pullback` adding into them; Hessians, Jacobians of nalgebra results, and
//! calls between annotated functions. Matrices flatten column-major (nalgebra's order) in
//! Jacobians and Hessians.

#![allow(clippy::needless_range_loop)]

use grad::runtime::{assert_gradient_close, assert_jacobian_close, Differentiable, Tolerance};
use grad::{derive_gradient, Float};
use nalgebra::{DMatrix, DVector, RowSVector, SMatrix, SVector};

/// Relative agreement of two derivative values computed in different orders.
#[track_caller]
fn assert_close(got: f64, want: f64, what: &str) {
    let ok = got == want || (got - want).abs() <= 1e-12 * got.abs().max(want.abs()).max(1.0);
    assert!(ok, "{what}: got {got}, want {want}");
}

/// The floats of a shape in its flat order (column-major for a matrix).
fn flat<D: Differentiable<Scalar = f64> + ?Sized>(x: &D) -> Vec<f64> {
    let mut out = vec![0.0; x.flat_len()];
    x.write_flat(&mut out);
    out
}

/// A copy of `x` with its floats taken from `src` in flat order.
fn with_flat<D: Differentiable<Scalar = f64> + Clone>(x: &D, src: &[f64]) -> D {
    let mut y = x.clone();
    y.read_flat(src);
    y
}

/// `[a; b]`: the flat vectors of two shapes, one after the other.
fn concat(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().chain(b).copied().collect()
}

// ===== SVector<f64, 3> and SMatrix<f64, 3, 3>: the quadratic form x^T A x ====================

/// `x^T A x`: `d/dx = (A + A^T) x`, `d/dA = x x^T`; `d2/dx2 = A + A^T`,
/// `d2/dA_ij dx_k = [i = k] x_j + x_i [j = k]`, `d2/dA2 = 0`.
#[derive_gradient(hessian)]
fn quad_form(a: SMatrix<f64, 3, 3>, x: SVector<f64, 3>) -> f64 {
    let mut s = 0.0;
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            s += x[i] * a[(i, j)] * x[j];
        }
    }
    s
}

fn quad_point() -> (SMatrix<f64, 3, 3>, SVector<f64, 3>) {
    let a = SMatrix::<f64, 3, 3>::new(2.0, -1.0, 0.5, 0.25, 3.0, -2.0, 1.5, 0.75, -0.5);
    let x = SVector::<f64, 3>::new(0.3, -1.2, 2.0);
    (a, x)
}

#[test]
fn quadratic_form_gradient_is_analytic_and_matches_differences() {
    let (a, x) = quad_point();
    let (v, (ga, gx)) = quad_form_grad(a, x);
    assert_close(v, (x.transpose() * a * x)[0], "value");
    let want_x = (a + a.transpose()) * x;
    let want_a = x * x.transpose();
    for k in 0..3 {
        assert_close(gx[k], want_x[k], &format!("d/dx{k}"));
    }
    for i in 0..3 {
        for j in 0..3 {
            assert_close(ga[(i, j)], want_a[(i, j)], &format!("d/dA{i}{j}"));
        }
    }
    // The gradient entries are the parameters' own types.
    let _: (SMatrix<f64, 3, 3>, SVector<f64, 3>) = (ga, gx);
    let at = concat(&flat(&a), &flat(&x));
    let f = |p: &[f64]| quad_form(with_flat(&a, &p[..9]), with_flat(&x, &p[9..]));
    assert_gradient_close(
        f,
        &at,
        &concat(&flat(&ga), &flat(&gx)),
        Tolerance::default(),
    );
}

#[test]
fn quadratic_form_pushforward_pullback_and_grad_into_agree_with_the_gradient() {
    let (a, x) = quad_point();
    let (v, (ga, gx)) = quad_form_grad(a, x);
    let ta = SMatrix::<f64, 3, 3>::from_fn(|i, j| (i as f64) - 0.5 * (j as f64));
    let tx = SVector::<f64, 3>::new(1.0, 0.5, -2.0);
    let (pv, d) = quad_form_pushforward(a, x, ta, tx);
    assert_eq!(pv, v);
    assert_close(d, ga.dot(&ta) + gx.dot(&tx), "pushforward");

    // grad_into overwrites whatever the buffers held.
    let mut ba = SMatrix::<f64, 3, 3>::repeat(7.0);
    let mut bx = SVector::<f64, 3>::repeat(-3.0);
    let gv = quad_form_grad_into(a, x, &mut ba, &mut bx);
    assert_eq!((gv, ba, bx), (v, ga, gx));

    // The pullback adds seed times the gradient.
    let mut aa = SMatrix::<f64, 3, 3>::repeat(1.0);
    let mut ax = SVector::<f64, 3>::repeat(1.0);
    let pv = quad_form_pullback(a, x, 2.0, &mut aa, &mut ax);
    assert_eq!(pv, v);
    for k in 0..9 {
        assert_close(aa[k], 1.0 + 2.0 * ga[k], "adj_a");
    }
    for k in 0..3 {
        assert_close(ax[k], 1.0 + 2.0 * gx[k], "adj_x");
    }
}

#[test]
fn quadratic_form_hessian_is_analytic_column_major() {
    let (a, x) = quad_point();
    let (v, (ga, gx), h) = quad_form_hessian(a, x);
    assert_eq!(quad_form_grad(a, x), (v, (ga, gx)));
    // 9 entries of A (column-major: A_ij is entry i + 3 j), then 3 of x.
    assert_eq!((h.rows(), h.cols()), (12, 12));
    let ai = |i: usize, j: usize| i + 3 * j;
    let xi = |k: usize| 9 + k;
    for p in 0..3 {
        for q in 0..3 {
            assert_close(h[(xi(p), xi(q))], a[(p, q)] + a[(q, p)], "d2/dx2");
        }
    }
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                let want = if i == k { x[j] } else { 0.0 } + if j == k { x[i] } else { 0.0 };
                assert_close(h[(ai(i, j), xi(k))], want, "d2/dA dx");
                assert_close(h[(xi(k), ai(i, j))], want, "d2/dx dA");
            }
            for r in 0..3 {
                for c in 0..3 {
                    assert_eq!(h[(ai(i, j), ai(r, c))], 0.0, "d2/dA2");
                }
            }
        }
    }
    // f_hvp: H v without the matrix.
    let va = SMatrix::<f64, 3, 3>::from_fn(|i, j| 0.1 * (i + 2 * j) as f64 - 0.3);
    let vx = SVector::<f64, 3>::new(-1.0, 0.5, 0.25);
    let (hv_v, _, (hva, hvx)) = quad_form_hvp(a, x, va, vx);
    assert_eq!(hv_v, v);
    let dir = concat(&flat(&va), &flat(&vx));
    let hv = concat(&flat(&hva), &flat(&hvx));
    for r in 0..12 {
        let want: f64 = (0..12).map(|c| h[(r, c)] * dir[c]).sum();
        assert_close(hv[r], want, &format!("(H v)_{r}"));
    }
}

// ===== &DVector<f64>: a weighted sum of squares =============================================

/// `sum_i w_i x_i^2` over a dynamic vector and a slice of weights: `d/dx_i = 2 w_i x_i`,
/// `d/dw_i = x_i^2`.
#[derive_gradient]
fn weighted_squares(x: &DVector<f64>, w: &[f64]) -> f64 {
    x.iter().zip(w).map(|(xi, wi)| wi * xi * xi).sum()
}

/// The same over two dynamic vectors, as an indexed loop, with the Hessian `diag(2 w)` in
/// `x`, `diag(2 x)` across.
#[derive_gradient(hessian)]
fn weighted_squares_dv(x: &DVector<f64>, w: &DVector<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += w[i] * x[i] * x[i];
    }
    s
}

#[test]
fn dynamic_vector_gradient_is_analytic_and_matches_differences() {
    let x = DVector::from_vec(vec![0.5, -1.5, 2.0, 0.25, -0.75]);
    let w = vec![1.0, 2.0, -0.5, 3.0, 0.125];
    let (v, (gx, gw)) = weighted_squares_grad(&x, &w);
    let _: (&DVector<f64>, &Vec<f64>) = (&gx, &gw);
    assert_close(v, weighted_squares(&x, &w), "value");
    for i in 0..5 {
        assert_close(gx[i], 2.0 * w[i] * x[i], "d/dx");
        assert_close(gw[i], x[i] * x[i], "d/dw");
    }
    let at = concat(x.as_slice(), &w);
    let f = |p: &[f64]| weighted_squares(&DVector::from_column_slice(&p[..5]), &p[5..]);
    assert_gradient_close(f, &at, &concat(gx.as_slice(), &gw), Tolerance::default());

    let tx = DVector::from_fn(5, |i, _| 1.0 - i as f64 * 0.5);
    let tw: Vec<f64> = (0..5).map(|i| (i as f64).sin()).collect();
    let (pv, d) = weighted_squares_pushforward(&x, &w, &tx, &tw);
    assert_eq!(pv, v);
    let want: f64 = gx.dot(&tx) + gw.iter().zip(&tw).map(|(a, b)| a * b).sum::<f64>();
    assert_close(d, want, "pushforward");

    let mut bx = DVector::from_element(5, 9.0);
    let mut bw = vec![9.0; 5];
    assert_eq!(weighted_squares_grad_into(&x, &w, &mut bx, &mut bw), v);
    assert_eq!((&bx, &bw), (&gx, &gw));
}

#[test]
fn dynamic_vector_hessian_is_diagonal() {
    let x = DVector::from_vec(vec![0.5, -1.5, 2.0]);
    let w = DVector::from_vec(vec![1.0, 2.0, -0.5]);
    let (v, (gx, gw), h) = weighted_squares_dv_hessian(&x, &w);
    assert_close(v, weighted_squares(&x, w.as_slice()), "value");
    assert_eq!((h.rows(), h.cols()), (6, 6));
    for i in 0..3 {
        assert_close(gx[i], 2.0 * w[i] * x[i], "d/dx");
        assert_close(gw[i], x[i] * x[i], "d/dw");
        for j in 0..3 {
            let d = if i == j { 1.0 } else { 0.0 };
            assert_close(h[(i, j)], 2.0 * w[i] * d, "d2/dx2");
            assert_close(h[(i, 3 + j)], 2.0 * x[i] * d, "d2/dx dw");
            assert_close(h[(3 + i, 3 + j)], 0.0, "d2/dw2");
        }
    }
}

// ===== SMatrix<f64, 2, 3>: y = W x, summed and squared ======================================

/// `sum_i (W x)_i`: `d/dW_ij = x_j`, `d/dx_j = sum_i W_ij`.
#[derive_gradient]
fn summed_w_x(w: SMatrix<f64, 2, 3>, x: SVector<f64, 3>) -> f64 {
    let mut s = 0.0;
    for i in 0..w.nrows() {
        for j in 0..w.ncols() {
            s += w[(i, j)] * x[j];
        }
    }
    s
}

/// `|W x|^2` with `W` by reference: `d/dW = 2 (W x) x^T`, `d/dx = 2 W^T (W x)`.
#[derive_gradient]
fn squared_w_x(w: &SMatrix<f64, 2, 3>, x: &SVector<f64, 3>) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        let mut y = 0.0;
        for j in 0..3 {
            y += w[(i, j)] * x[j];
        }
        s += y * y;
    }
    s
}

fn w_x_point() -> (SMatrix<f64, 2, 3>, SVector<f64, 3>) {
    let w = SMatrix::<f64, 2, 3>::new(1.0, -2.0, 0.5, 3.0, 0.25, -1.0);
    let x = SVector::<f64, 3>::new(0.3, -0.7, 2.0);
    (w, x)
}

#[test]
fn matrix_gradients_are_analytic_and_match_differences() {
    let (w, x) = w_x_point();
    let (v, (gw, gx)) = summed_w_x_grad(w, x);
    let _: (SMatrix<f64, 2, 3>, SVector<f64, 3>) = (gw, gx);
    assert_close(v, (w * x).sum(), "value");
    for i in 0..2 {
        for j in 0..3 {
            assert_eq!(gw[(i, j)], x[j], "d/dW{i}{j}");
        }
    }
    for j in 0..3 {
        assert_close(gx[j], w[(0, j)] + w[(1, j)], "d/dx");
    }
    let at = concat(&flat(&w), &flat(&x));
    let f = |p: &[f64]| summed_w_x(with_flat(&w, &p[..6]), with_flat(&x, &p[6..]));
    assert_gradient_close(
        f,
        &at,
        &concat(&flat(&gw), &flat(&gx)),
        Tolerance::default(),
    );

    let (v, (gw, gx)) = squared_w_x_grad(&w, &x);
    let y = w * x;
    assert_close(v, y.norm_squared(), "value");
    let want_w = 2.0 * y * x.transpose();
    let want_x = 2.0 * w.transpose() * y;
    for k in 0..6 {
        assert_close(gw[k], want_w[k], "d/dW");
    }
    for k in 0..3 {
        assert_close(gx[k], want_x[k], "d/dx");
    }
    let f = |p: &[f64]| squared_w_x(&with_flat(&w, &p[..6]), &with_flat(&x, &p[6..]));
    assert_gradient_close(
        f,
        &at,
        &concat(&flat(&gw), &flat(&gx)),
        Tolerance::default(),
    );

    // Forward mode along a direction, and grad_into, agree with the gradient.
    let tw = SMatrix::<f64, 2, 3>::from_fn(|i, j| 0.5 - (i * j) as f64);
    let tx = SVector::<f64, 3>::new(0.25, 1.0, -1.0);
    let (pv, d) = squared_w_x_pushforward(&w, &x, &tw, &tx);
    assert_eq!(pv, v);
    assert_close(d, gw.dot(&tw) + gx.dot(&tx), "pushforward");
    let mut bw = SMatrix::<f64, 2, 3>::repeat(f64::NAN);
    let mut bx = SVector::<f64, 3>::repeat(f64::NAN);
    assert_eq!(squared_w_x_grad_into(&w, &x, &mut bw, &mut bx), v);
    assert_eq!((bw, bx), (gw, gx));
}

// ===== other forms ==========================================================================

/// `f32`, a row vector, the linear (column-major) index and an element-wise loop over a
/// local copy.
#[derive_gradient]
fn f32_forms(m: SMatrix<f32, 2, 2>, r: RowSVector<f32, 2>) -> f32 {
    let mut c = m;
    for k in 0..c.len() {
        c[k] = (c[k] * r[k % 2]).sin();
    }
    c[(0, 1)] * c[3] + c[0]
}

#[test]
fn f32_matrices_and_linear_indices() {
    let m = SMatrix::<f32, 2, 2>::new(0.5, -0.25, 1.0, 0.75);
    let r = RowSVector::<f32, 2>::new(0.8, -1.2);
    let (v, (gm, gr)) = f32_forms_grad(m, r);
    assert_eq!(v, f32_forms(m, r));
    let mut at = vec![0.0f32; 6];
    m.write_flat(&mut at[..4]);
    r.write_flat(&mut at[4..]);
    let mut g = vec![0.0f32; 6];
    gm.write_flat(&mut g[..4]);
    gr.write_flat(&mut g[4..]);
    let f = |p: &[f32]| {
        let mut mm = m;
        mm.read_flat(&p[..4]);
        let mut rr = r;
        rr.read_flat(&p[4..]);
        f32_forms(mm, rr)
    };
    assert_gradient_close(f, &at, &g, Tolerance::default());
}

/// A generic float type and a `const` dimension.
#[derive_gradient]
fn generic_sum_of_cubes<T: Float, const N: usize>(x: SVector<T, N>) -> T {
    x.iter().fold(T::zero(), |acc, e| acc + *e * *e * *e)
}

/// An annotated function calling another with a matrix argument (through its pullback and
/// pushforward).
#[derive_gradient]
fn calls_quad_form(a: SMatrix<f64, 3, 3>, x: SVector<f64, 3>, t: f64) -> f64 {
    let q = quad_form(a, x);
    (q * t).sin()
}

#[test]
fn generic_floats_and_calls() {
    let x = SVector::<f32, 4>::new(1.0, -2.0, 0.5, 3.0);
    let (v, g) = generic_sum_of_cubes_grad(x);
    assert_eq!(v, x.iter().map(|e| e * e * e).sum::<f32>());
    for k in 0..4 {
        assert_eq!(g[k], 3.0 * x[k] * x[k]);
    }
    let x64 = SVector::<f64, 2>::new(1.5, -0.5);
    let (_, g64) = generic_sum_of_cubes_grad(x64);
    assert_eq!(g64, SVector::<f64, 2>::new(6.75, 0.75));

    let (a, x) = quad_point();
    let t = 0.3;
    let (v, (ga, gx, gt)) = calls_quad_form_grad(a, x, t);
    let (q, (qa, qx)) = quad_form_grad(a, x);
    assert_close(v, (q * t).sin(), "value");
    let c = (q * t).cos();
    assert_close(gt, c * q, "d/dt");
    for k in 0..9 {
        assert_close(ga[k], c * t * qa[k], "d/dA");
    }
    for k in 0..3 {
        assert_close(gx[k], c * t * qx[k], "d/dx");
    }
}

// ===== nalgebra results: Jacobians ==========================================================

/// `y = W x + b` as an `SVector` result, built from `zeros()` element by element.
#[derive_gradient]
fn affine(w: SMatrix<f64, 2, 3>, x: SVector<f64, 3>, b: SVector<f64, 2>) -> SVector<f64, 2> {
    let mut y = SVector::<f64, 2>::zeros();
    for i in 0..2 {
        y[i] = b[i];
        for j in 0..3 {
            y[i] += w[(i, j)] * x[j];
        }
    }
    y
}

/// An element-wise map of a dynamic vector, as a `DVector` result: a diagonal Jacobian.
#[derive_gradient]
fn sines(x: &DVector<f64>) -> DVector<f64> {
    let mut y = x.clone();
    for i in 0..y.len() {
        y[i] = y[i].sin();
    }
    y
}

#[test]
fn jacobians_of_nalgebra_results() {
    let (w, x) = w_x_point();
    let b = SVector::<f64, 2>::new(0.5, -1.0);
    let (y, j) = affine_jacobian(w, x, b);
    let want = w * x + b;
    for i in 0..2 {
        assert_close(y[i], want[i], "value");
    }
    // Inputs: W column-major (6), x (3), b (2).
    assert_eq!((j.rows(), j.cols()), (2, 11));
    for i in 0..2 {
        for r in 0..2 {
            for c in 0..3 {
                let want = if r == i { x[c] } else { 0.0 };
                assert_eq!(j[(i, r + 2 * c)], want, "dy{i}/dW{r}{c}");
            }
        }
        for c in 0..3 {
            assert_eq!(j[(i, 6 + c)], w[(i, c)], "dy{i}/dx{c}");
        }
        for r in 0..2 {
            assert_eq!(j[(i, 9 + r)], if r == i { 1.0 } else { 0.0 }, "dy{i}/db{r}");
        }
    }
    let at = concat(&concat(&flat(&w), &flat(&x)), &flat(&b));
    let f = |p: &[f64]| {
        let y = affine(
            with_flat(&w, &p[..6]),
            with_flat(&x, &p[6..9]),
            with_flat(&b, &p[9..]),
        );
        flat(&y)
    };
    assert_jacobian_close(f, &at, &j, Tolerance::default());

    let x = DVector::from_vec(vec![0.1, -0.4, 1.3, 2.2]);
    let (y, j) = sines_jacobian(&x);
    assert_eq!(y, x.map(f64::sin));
    for r in 0..4 {
        for c in 0..4 {
            let want = if r == c { x[r].cos() } else { 0.0 };
            assert_eq!(j[(r, c)], want, "dy{r}/dx{c}");
        }
    }
    // The pullback of a matrix result takes its seed as the result's type.
    let mut adj = DVector::zeros(4);
    let seed = DVector::from_vec(vec![1.0, 2.0, 3.0, 4.0]);
    sines_pullback(&x, seed.clone(), &mut adj);
    for r in 0..4 {
        assert_close(adj[r], seed[r] * x[r].cos(), "pullback");
    }
}

/// `DMatrix` parameters: the trace of `M^T M` by columns, with `ncols` and `nrows` read at
/// run time.
#[derive_gradient]
fn frobenius(m: &DMatrix<f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            s += m[(i, j)] * m[(i, j)];
        }
    }
    s
}

#[test]
fn dynamic_matrices() {
    let m = DMatrix::from_fn(3, 2, |i, j| i as f64 - 0.5 * j as f64 + 0.25);
    let (v, g) = frobenius_grad(&m);
    assert_close(v, m.norm_squared(), "value");
    assert_eq!(g, 2.0 * &m);
}

// ===== a struct with a nalgebra field ========================================================

/// A linear model whose weights are an `SVector`: the struct's gradient has the same shape.
#[derive(Clone, Debug, PartialEq, grad::Differentiable)]
struct Linear {
    w: SVector<f64, 3>,
    b: f64,
}

impl Linear {
    /// The mean squared error over samples `xs` with targets `ys`.
    #[derive_gradient(wrt(self))]
    fn loss(&self, xs: &[SVector<f64, 3>], ys: &[f64]) -> f64 {
        let mut total = 0.0;
        for k in 0..ys.len() {
            let mut z = self.b;
            for j in 0..3 {
                z += self.w[j] * xs[k][j];
            }
            let r = z - ys[k];
            total += r * r;
        }
        total / ys.len() as f64
    }
}

#[test]
fn struct_with_a_vector_field() {
    let m = Linear {
        w: SVector::<f64, 3>::new(0.5, -1.0, 2.0),
        b: 0.25,
    };
    let xs = [
        SVector::<f64, 3>::new(1.0, 2.0, 3.0),
        SVector::<f64, 3>::new(-1.0, 0.5, 0.0),
    ];
    let ys = [1.0, -2.0];
    let (v, g) = m.loss_grad(&xs, &ys);
    let r: Vec<f64> = (0..2).map(|k| m.w.dot(&xs[k]) + m.b - ys[k]).collect();
    assert_close(v, (r[0] * r[0] + r[1] * r[1]) / 2.0, "value");
    for j in 0..3 {
        assert_close(g.w[j], r[0] * xs[0][j] + r[1] * xs[1][j], "d/dw");
    }
    assert_close(g.b, r[0] + r[1], "d/db");
}

// ===== loops and iterators of every form; results of calls ==================================

/// The element-wise square of a vector, as an `SVector` result.
#[derive_gradient]
fn squares(x: SVector<f64, 3>) -> SVector<f64, 3> {
    let mut y = x;
    for i in 0..3 {
        y[i] = x[i] * x[i];
    }
    y
}

/// `sum_j squares(x)_j w_j`: a call's nalgebra result, indexed without an annotation.
#[derive_gradient]
fn call_result(x: SVector<f64, 3>, w: &[f64]) -> f64 {
    let y = squares(x);
    let mut s = 0.0;
    for j in 0..3 {
        s += y[j] * w[j];
    }
    s
}

/// `for` over `x.iter()` with the patterns people write, `for e in x` over a reference,
/// `enumerate`, `map`/`product`, `copied`/`fold`, `zip`, a `mut` parameter updated in place
/// and an annotated copy.
#[derive_gradient]
fn loop_forms(x: &DVector<f64>, mut v: SVector<f64, 2>) -> f64 {
    let mut s = 0.0;
    for e in x.iter() {
        s += e.sin();
    }
    for &e in x.iter() {
        s += e * e;
    }
    for (i, e) in x.iter().enumerate() {
        s += (i as f64) * e;
    }
    for e in x {
        s += e.exp();
    }
    let p = x.iter().map(|e| e + 1.0).product::<f64>();
    let q = x.iter().copied().fold(0.0, |a, e| a + e * 3.0);
    v[0] *= v[1];
    let annotated: SVector<f64, 2> = v;
    let zipped = x.iter().zip(x.iter()).map(|(a, b)| a * b).sum::<f64>();
    s + p + q + annotated[0] + zipped
}

#[test]
fn loop_forms_and_call_results() {
    let x = SVector::<f64, 3>::new(0.5, -1.0, 2.0);
    let w = [1.0, 2.0, 3.0];
    let (_, (gx, gw)) = call_result_grad(x, &w);
    for i in 0..3 {
        assert_close(gx[i], 2.0 * x[i] * w[i], "d/dx");
        assert_close(gw[i], x[i] * x[i], "d/dw");
    }

    let d = DVector::from_vec(vec![0.3, -0.2, 0.7]);
    let v = SVector::<f64, 2>::new(1.5, -0.5);
    let (value, (gd, gv)) = loop_forms_grad(&d, v);
    assert_close(value, loop_forms(&d, v), "value");
    let at = concat(&flat(&d), &flat(&v));
    let f = |p: &[f64]| {
        loop_forms(
            &DVector::from_column_slice(&p[..3]),
            SVector::<f64, 2>::from_column_slice(&p[3..]),
        )
    };
    assert_gradient_close(
        f,
        &at,
        &concat(&flat(&gd), &flat(&gv)),
        Tolerance::default(),
    );
    assert_eq!(gv, SVector::<f64, 2>::new(v[1], v[0]));
}

/// The outer product `x x^T` as a `DMatrix` built from `DMatrix::zeros(n, n)`:
/// `d m_ij / d x_k = [i = k] x_j + x_i [j = k]`.
#[derive_gradient]
fn outer(x: &DVector<f64>) -> DMatrix<f64> {
    let n = x.len();
    let mut m = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            m[(i, j)] += x[i] * x[j];
        }
    }
    m
}

#[test]
fn dynamic_matrix_result() {
    let x = DVector::from_vec(vec![0.5, -1.0, 2.0]);
    let (m, j) = outer_jacobian(&x);
    assert_eq!(m, &x * x.transpose());
    // Rows: m's entries column-major; columns: x's.
    assert_eq!((j.rows(), j.cols()), (9, 3));
    for r in 0..3 {
        for c in 0..3 {
            for k in 0..3 {
                let want = if r == k { x[c] } else { 0.0 } + if c == k { x[r] } else { 0.0 };
                assert_eq!(j[(r + 3 * c, k)], want, "dm{r}{c}/dx{k}");
            }
        }
    }
    let f = |p: &[f64]| flat(&outer(&DVector::from_column_slice(p)));
    assert_jacobian_close(f, x.as_slice(), &j, Tolerance::default());
}
