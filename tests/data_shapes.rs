//! Data shapes of ordinary numeric Rust (issue: ordinary Rust II): nested arrays, slices of
//! arrays, `Vec<Vec<f64>>`, `const N` generics and named lengths, a generic float type,
//! `Differentiable` structs (parameters by value and by reference, field reads, results,
//! nested structs, integer fields passed through) and methods. Gradients keep each
//! parameter's shape; each is checked against its analytic form and finite differences.

#![allow(clippy::needless_range_loop)]

mod common;

use common::assert_close;
use grad::runtime::{assert_gradient_close, Differentiable, Tolerance};
use grad::{derive_gradient, Float};

/// `y = W x` for a 2 x 3 matrix: its Jacobian in `x` is `W`, in `W` the rows of `x`.
#[derive_gradient]
fn matvec(w: [[f64; 3]; 2], x: [f64; 3]) -> [f64; 2] {
    let mut y = [0.0; 2];
    for i in 0..2 {
        for j in 0..3 {
            y[i] += w[i][j] * x[j];
        }
    }
    y
}

#[derive_gradient(wrt(x), layout = "denominator")]
fn matvec_t(w: [[f64; 3]; 2], x: [f64; 3]) -> [f64; 2] {
    let mut y = [0.0; 2];
    for i in 0..2 {
        y[i] = w[i].iter().zip(x.iter()).map(|(a, b)| a * b).sum();
    }
    y
}

#[test]
fn jacobian_of_w_x_is_w_in_both_layouts() {
    let w = [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]];
    let x = [0.3, -0.7, 2.0];
    let (y, j) = matvec_jacobian(w, x);
    assert_eq!(
        y,
        [
            w[0][0] * x[0] + w[0][1] * x[1] + w[0][2] * x[2],
            w[1][0] * x[0] + w[1][1] * x[1] + w[1][2] * x[2]
        ]
    );
    // Inputs flattened: w row-major (6 columns), then x (3 columns).
    assert_eq!((j.rows(), j.cols()), (2, 9));
    for i in 0..2 {
        for k in 0..3 {
            assert_eq!(j[(i, 6 + k)], w[i][k], "dy{i}/dx{k}");
            for r in 0..2 {
                let want = if r == i { x[k] } else { 0.0 };
                assert_eq!(j[(i, 3 * r + k)], want, "dy{i}/dw{r}{k}");
            }
        }
    }
    let (_, jt) = matvec_t_jacobian(w, x);
    assert_eq!((jt.rows(), jt.cols()), (3, 2));
    for i in 0..2 {
        for k in 0..3 {
            assert_eq!(jt[(k, i)], w[i][k]);
        }
    }
}

#[derive_gradient]
fn nested_energy(p: [[f64; 2]; 3]) -> f64 {
    let mut e = 0.0;
    for i in 0..3 {
        let row = p[i];
        e += row[0] * row[0] * row[1] + p[i][1].sin();
    }
    e
}

#[test]
fn nested_array_gradient_has_the_parameters_shape() {
    let p = [[0.5, 1.0], [-1.5, 0.3], [2.0, -0.4]];
    let (v, g) = nested_energy_grad(p);
    assert_eq!(v, nested_energy(p));
    for i in 0..3 {
        assert_close(g[i][0], 2.0 * p[i][0] * p[i][1], 1e-12, "d/dp[i][0]");
        assert_close(
            g[i][1],
            p[i][0] * p[i][0] + p[i][1].cos(),
            1e-12,
            "d/dp[i][1]",
        );
    }
}

#[derive_gradient]
fn points_spread(pts: &[[f64; 2]], c: [f64; 2]) -> f64 {
    let mut s = 0.0;
    for p in pts.iter() {
        let d0 = p[0] - c[0];
        let d1 = p[1] - c[1];
        s += d0 * d0 + d1 * d1;
    }
    s
}

#[test]
fn slice_of_arrays_gradient_is_a_vec_of_arrays() {
    let pts = vec![[1.0, 2.0], [-0.5, 0.5], [3.0, -1.0]];
    let c = [0.2, 0.1];
    let (_, (gp, gc)): (f64, (Vec<[f64; 2]>, [f64; 2])) = points_spread_grad(&pts, c);
    for (k, p) in pts.iter().enumerate() {
        assert_close(gp[k][0], 2.0 * (p[0] - c[0]), 1e-12, "dp0");
        assert_close(gp[k][1], 2.0 * (p[1] - c[1]), 1e-12, "dp1");
    }
    let want_c0: f64 = pts.iter().map(|p| -2.0 * (p[0] - c[0])).sum();
    assert_close(gc[0], want_c0, 1e-12, "dc0");
}

// `&Vec<Vec<f64>>` is the parameter type under test.
#[allow(clippy::ptr_arg)]
#[derive_gradient]
fn ragged(rows: &Vec<Vec<f64>>) -> f64 {
    let mut s = 0.0;
    for r in 0..rows.len() {
        for k in 0..rows[r].len() {
            s += rows[r][k] * rows[r][k] * (k + 1) as f64;
        }
    }
    s
}

#[test]
fn vec_of_vecs_gradient_keeps_the_ragged_shape() {
    let rows = vec![vec![1.0, 2.0, 3.0], vec![], vec![-1.0]];
    let (_, g) = ragged_grad(&rows);
    assert_eq!(g, vec![vec![2.0, 8.0, 18.0], vec![], vec![-2.0]]);
}

#[derive_gradient]
fn norm2<const N: usize>(x: [f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += x[i] * x[i];
    }
    s.sqrt()
}

#[test]
fn const_generic_lengths() {
    let (v, g) = norm2_grad([3.0, 4.0]);
    assert_eq!(v, 5.0);
    assert_close(g[0], 0.6, 1e-12, "d/dx0");
    assert_close(g[1], 0.8, 1e-12, "d/dx1");

    let (_, g3) = norm2_grad::<3>([1.0, 2.0, 2.0]);
    assert_close(g3[2], 2.0 / 3.0, 1e-12, "d/dx2");
}

#[derive_gradient]
fn generic_rosenbrock<T: Float>(x: T, y: T) -> T {
    let a = T::one() - x;
    let b = y - x * x;
    a * a + T::from_f64(100.0) * b * b
}

#[derive_gradient]
fn generic_sum_sq<T: grad::Float>(x: &[T]) -> T {
    x.iter().map(|v| *v * *v).fold(T::zero(), |a, b| a + b)
}

#[test]
fn one_generic_definition_for_f32_and_f64() {
    let (v, (dx, dy)) = generic_rosenbrock_grad(0.5f64, 2.0f64);
    assert_eq!(v, 0.25 + 100.0 * 1.75 * 1.75);
    assert_close(dx, -2.0 * 0.5 - 400.0 * 0.5 * 1.75, 1e-12, "dx");
    assert_close(dy, 200.0 * 1.75, 1e-12, "dy");
    let (v32, (dx32, _)) = generic_rosenbrock_grad(0.5f32, 2.0f32);
    assert_eq!(v32, 0.25 + 100.0 * 1.75 * 1.75);
    assert_eq!(dx32, -351.0);
    let (_, g) = generic_sum_sq_grad(&[1.0f32, -2.0]);
    assert_eq!(g, vec![2.0, -4.0]);
}

/// A neuron's parameters.
#[derive(Clone, Debug, PartialEq, grad::Differentiable)]
struct Neuron {
    w: [f64; 3],
    b: f64,
    /// Passed through, never differentiated.
    id: usize,
}

#[derive(Clone, Debug, PartialEq, grad::Differentiable)]
struct Layer {
    units: Vec<Neuron>,
    scale: f64,
}

#[derive_gradient]
fn neuron_out(n: &Neuron, x: [f64; 3]) -> f64 {
    let mut z = n.b;
    for j in 0..3 {
        z += n.w[j] * x[j];
    }
    z.tanh()
}

#[derive_gradient]
fn neuron_by_value(n: Neuron) -> f64 {
    n.w[0] * n.b + n.w[2]
}

#[test]
fn struct_parameter_gradient_is_the_same_struct() {
    let n = Neuron {
        w: [0.5, -0.2, 0.1],
        b: 0.3,
        id: 7,
    };
    let x = [1.0, 2.0, -1.0];
    let (v, (gn, gx)) = neuron_out_grad(&n, x);
    assert_eq!(v, neuron_out(&n, x));
    let z: f64 = n.b + n.w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
    let dt = 1.0 - z.tanh().powi(2);
    for j in 0..3 {
        assert_close(gn.w[j], dt * x[j], 1e-12, "dw");
        assert_close(gx[j], dt * n.w[j], 1e-12, "dx");
    }
    assert_close(gn.b, dt, 1e-12, "db");
    assert_eq!(gn.id, 7, "integer fields are passed through");
    let (_, g) = neuron_by_value_grad(n.clone());
    assert_eq!((g.w, g.b), ([0.3, 0.0, 1.0], 0.5));
}

#[derive_gradient]
fn layer_loss(l: &Layer, x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for u in l.units.iter() {
        s += neuron_out(u, x);
    }
    s * l.scale
}

#[test]
fn nested_structs_and_calls_between_annotated_functions() {
    let l = Layer {
        units: vec![
            Neuron {
                w: [0.5, -0.2, 0.1],
                b: 0.3,
                id: 0,
            },
            Neuron {
                w: [-0.1, 0.4, 0.2],
                b: -0.2,
                id: 1,
            },
        ],
        scale: 1.5,
    };
    let x = [1.0, 2.0, -1.0];
    let (v, (gl, _gx)) = layer_loss_grad(&l, x);
    assert_eq!(v, layer_loss(&l, x));
    // Finite differences over the flattened parameters.
    let flat_len = l.flat_len();
    let mut flat = vec![0.0; flat_len];
    l.write_flat(&mut flat);
    let f = |p: &[f64]| {
        let mut l2 = l.clone();
        l2.read_flat(p);
        layer_loss(&l2, x)
    };
    let mut g = vec![0.0; flat_len];
    gl.write_flat(&mut g);
    assert_gradient_close(f, &flat, &g, Tolerance::default());
}

impl Neuron {
    #[derive_gradient]
    fn loss(&self, x: [f64; 3], y: f64) -> f64 {
        let r = y - neuron_out(self, x);
        r * r
    }

    /// The pre-activation and the output at two inputs: a method with an array result,
    /// whose Jacobian rows come from one forward sweep (`f_jacobian_rows` as a method).
    #[derive_gradient(wrt(self))]
    fn outputs(&self, x: [f64; 3], u: [f64; 3]) -> [f64; 2] {
        [neuron_out(self, x), neuron_out(self, u) * self.b]
    }

    /// The same loss differentiated with respect to the receiver only.
    #[derive_gradient(wrt(self))]
    fn loss_wrt_self(&self, x: [f64; 3], y: f64) -> f64 {
        let r = y - neuron_out(self, x);
        r * r
    }
}

#[test]
fn wrt_self_names_the_receiver() {
    let n = Neuron {
        w: [0.5, -0.2, 0.1],
        b: 0.3,
        id: 3,
    };
    let x = [1.0, 2.0, -1.0];
    let (v, g) = n.loss_wrt_self_grad(x, 0.7);
    let (_, (all, _, _)) = n.loss_grad(x, 0.7);
    assert_eq!(v, n.loss(x, 0.7));
    assert_eq!((g.w, g.b, g.id), (all.w, all.b, all.id));
}

#[test]
fn a_method_with_an_array_result_has_a_jacobian_over_self() {
    let n = Neuron {
        w: [0.5, -0.2, 0.1],
        b: 0.3,
        id: 3,
    };
    let (x, u) = ([1.0, 2.0, -1.0], [0.2, -0.4, 0.9]);
    let (v, jac) = n.outputs_jacobian(x, u);
    assert_eq!(v, n.outputs(x, u));
    // Columns: the receiver's floats in field order (w, b; `id` is no float).
    assert_eq!((jac.rows(), jac.cols()), (2, 4));
    let mut flat = vec![0.0; n.flat_len()];
    n.write_flat(&mut flat);
    for r in 0..2 {
        let row = |p: &[f64]| {
            let mut m = n.clone();
            m.read_flat(p);
            m.outputs(x, u)[r]
        };
        assert_gradient_close(row, &flat, jac.row(r), Tolerance::default());
    }
}

#[test]
fn methods_differentiate_self() {
    let n = Neuron {
        w: [0.5, -0.2, 0.1],
        b: 0.3,
        id: 3,
    };
    let x = [1.0, 2.0, -1.0];
    let (v, (gn, gx, gy)) = n.loss_grad(x, 0.7);
    assert_eq!(v, n.loss(x, 0.7));
    let mut flat = vec![0.0; n.flat_len()];
    n.write_flat(&mut flat);
    let f = |p: &[f64]| {
        let mut m = n.clone();
        m.read_flat(p);
        m.loss(x, 0.7)
    };
    let mut g = vec![0.0; n.flat_len()];
    gn.write_flat(&mut g);
    assert_gradient_close(f, &flat, &g, Tolerance::default());
    let r = 0.7 - neuron_out(&n, x);
    assert_close(gy, 2.0 * r, 1e-12, "dy");
    assert_close(
        gx[0],
        -2.0 * r * (1.0 - neuron_out(&n, x).powi(2)) * n.w[0],
        1e-12,
        "dx0",
    );
}

#[derive_gradient]
fn make_neuron(s: f64) -> Neuron {
    Neuron {
        w: [s, 2.0 * s, s * s],
        b: -s,
        id: 1,
    }
}

#[test]
fn struct_results_have_a_jacobian_in_field_order() {
    let (v, j) = make_neuron_jacobian(1.5);
    assert_eq!(v, make_neuron(1.5));
    assert_eq!((j.rows(), j.cols()), (4, 1));
    assert_eq!(j.col(0), vec![1.0, 2.0, 3.0, -1.0]);
}

const D: usize = 2;
const H: usize = 3;

/// A two-layer perceptron over samples `xs`, its hidden layer a copy `*b1` of a bias passed
/// by reference and updated in place: the sample loop is a fused sum whose iterations run
/// inner loops that overwrite their temporaries (their values are kept for the reverse).
#[derive_gradient(wrt(w1, b1, w2, b2))]
fn mlp(
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

#[test]
fn mlp_gradient_through_a_copied_bias_and_inner_loops() {
    let w1 = [[0.3, -0.2, 0.5], [0.1, 0.4, -0.3]];
    let b1 = [0.1, 0.2, 0.05];
    let w2 = [0.5, -0.4, 0.3];
    let xs = [[1.0, 0.5], [0.2, -0.7], [0.9, 0.3]];
    let ys = [0.3, -0.1, 0.4];
    let (v, (gw1, gb1, gw2, gb2)) = mlp_grad(&w1, &b1, &w2, 0.1, &xs, &ys);
    assert_eq!(v, mlp(&w1, &b1, &w2, 0.1, &xs, &ys));
    // Flattened: w1 (row-major), b1, w2, b2.
    let unflat = |p: &[f64]| {
        let w1 = [[p[0], p[1], p[2]], [p[3], p[4], p[5]]];
        mlp(
            &w1,
            &[p[6], p[7], p[8]],
            &[p[9], p[10], p[11]],
            p[12],
            &xs,
            &ys,
        )
    };
    let mut point: Vec<f64> = w1.iter().flatten().copied().collect();
    point.extend(b1);
    point.extend(w2);
    point.push(0.1);
    let mut g: Vec<f64> = gw1.iter().flatten().copied().collect();
    g.extend(gb1);
    g.extend(gw2);
    g.push(gb2);
    assert_gradient_close(unflat, &point, &g, Tolerance::default());
    // Analytic: d/db2 = (2/N) sum_i r_i, d/dw1[i][j] = (2/N) sum r w2[j] [h_j > 0] x[i].
    let (mut db2, mut dw1) = (0.0, [[0.0; H]; D]);
    for (x, y) in xs.iter().zip(ys) {
        let h: Vec<f64> = (0..H)
            .map(|j| b1[j] + (0..D).map(|i| x[i] * w1[i][j]).sum::<f64>())
            .collect();
        let out = 0.1 + (0..H).map(|j| w2[j] * h[j].max(0.0)).sum::<f64>();
        let r = 2.0 * (out - y) / 3.0;
        db2 += r;
        for i in 0..D {
            for j in 0..H {
                if h[j] > 0.0 {
                    dw1[i][j] += r * w2[j] * x[i];
                }
            }
        }
    }
    assert_close(gb2, db2, 1e-12, "d/db2");
    for i in 0..D {
        for j in 0..H {
            assert_close(gw1[i][j], dw1[i][j], 1e-12, "d/dw1");
        }
    }
}

/// A callee taking a nested array, called with a literal whose second row is constant: the
/// forward mode's tangent of that row is a zero row (it was a bare `0.0`, which did not
/// compile), and every companion agrees with the closed form.
#[derive_gradient]
fn corner_product(q: [[f64; 3]; 2]) -> f64 {
    q[0][0] * q[1][2]
}

#[derive_gradient]
fn through_constant_row(x: f64) -> f64 {
    corner_product([[x, 1.0, 2.0], [3.0, 4.0, 5.0]])
        + corner_product([[2.0, 0.0, 0.0], [0.0, 0.0, x * x]])
}

#[test]
fn nested_literal_with_a_constant_row() {
    for x in [0.5, -1.5, 3.0] {
        let want = 5.0 + 4.0 * x;
        let (_, g) = through_constant_row_grad(x);
        let (_, t) = through_constant_row_pushforward(x, 1.0);
        assert_close(g, want, 1e-14, "d/dx (reverse)");
        assert_close(t, want, 1e-14, "d/dx (forward)");
    }
}

/// A struct built by a literal and its fields read: the field types come from the literal,
/// so `-r.a` passed straight to a call needs no annotation.
#[derive(Clone, Debug, grad::Differentiable)]
struct Pair {
    a: f64,
    v: [f64; 2],
}

#[derive_gradient]
fn cube(x: f64) -> f64 {
    x * x * x
}

#[derive_gradient]
fn from_fields(x: f64, y: f64) -> f64 {
    let r = Pair {
        a: x * y,
        v: [x, y.sin()],
    };
    cube(-r.a) + r.v[0] * r.v[1]
}

#[test]
fn struct_literal_fields_have_the_literals_types() {
    for (x, y) in [(0.5, 1.5), (-1.2, 0.3)] {
        let (_, (gx, gy)) = from_fields_grad(x, y);
        // f = -(x y)^3 + x sin(y)
        assert_close(gx, -3.0 * x * x * y * y * y + y.sin(), 1e-13, "d/dx");
        assert_close(gy, -3.0 * x * x * x * y * y + x * y.cos(), 1e-13, "d/dy");
    }
}

/// A struct and a nested array made inside a `loop` with `break` and read after a branch:
/// the reverse sweep replays the trips, and the companions declare them before the loops
/// (from the runtime's `Placeholder`, which the derive implements; a nested array as typed
/// zeros). And a suffixed literal's type (`0..2usize`) is kept for `i.pow(2)`.
#[derive_gradient]
fn struct_in_a_loop(x: f64) -> f64 {
    let mut s = x;
    let mut k = 0usize;
    loop {
        if k >= 3usize {
            break;
        }
        k += 1;
        let mut r = Pair {
            a: s.sin(),
            v: [s, x * 2.0],
        };
        let mut m = [[s, 1.0], [x, s * s]];
        if r.a > 0.5 {
            r.v[0] = r.v[0] * 0.5 + x;
        } else {
            m[1][0] += r.v[1];
        }
        for i in 0..2usize {
            s += 0.1 * (i.pow(2) as f64) * r.v[0] + 0.01 * m[1][i];
        }
    }
    s
}

#[test]
fn struct_and_nested_array_made_in_a_loop() {
    for x in [0.3, 1.2, -0.8] {
        let (v, g) = struct_in_a_loop_grad(x);
        assert_close(v, struct_in_a_loop(x), 1e-15, "value");
        let (_, t) = struct_in_a_loop_pushforward(x, 1.0);
        assert_close(g, t, 1e-12, "reverse against forward");
        assert_gradient_close(
            |p: &[f64]| struct_in_a_loop(p[0]),
            &[x],
            &[g],
            Tolerance::default(),
        );
    }
}
