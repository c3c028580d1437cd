//! Smaller forms that used to be rejected: named constants, `f64::from`, integer constants
//! and `min`, `let` without a value, `for mut`, tuple and `Vec` parameters, annotated `Vec`
//! call results, passive integer helpers, fields of constant structs, named array lengths,
//! sub-slices. Each checked against its analytic derivative and finite differences.

// The forms under test are written as users write them, idiomatic or not.
#![allow(clippy::needless_late_init, clippy::neg_multiply)]

mod common;

use common::assert_close;
use grad::derive_gradient;
use grad::runtime::{assert_gradient_close, Tolerance};

const SCALE: f64 = 2.0;
const N: usize = 3;

struct Params {
    scale: f64,
}
const P: Params = Params { scale: 1.5 };

fn count(n: usize) -> usize {
    2 * n
}

#[derive_gradient]
fn named_constants(x: f64, n: u32) -> f64 {
    let m = i32::MAX;
    x * SCALE * f64::from(n) + x * P.scale + (m as f64) * 0.0
}

#[derive_gradient]
fn integers(x: f64, n: usize) -> f64 {
    let k = count(n);
    let c = n.min(3);
    x * k as f64 + x * x * c as f64
}

#[derive_gradient]
fn deferred_let(x: f64) -> f64 {
    let y;
    if x > 0.0 {
        y = x * x;
    } else {
        y = -x;
    }
    let z;
    z = y.sin();
    z
}

#[derive_gradient]
fn for_mut(x: f64, n: usize) -> f64 {
    let mut y = x;
    for mut i in 0..n {
        i += 1;
        y = y * i as f64 + x;
    }
    y
}

#[derive_gradient]
fn tuple_param(p: (f64, f64)) -> f64 {
    p.0 * p.1 + p.0.sin()
}

#[derive_gradient]
fn vec_param(x: Vec<f64>) -> f64 {
    x[0] * x[0] + x[1]
}

#[derive_gradient]
fn pair_vec(x: f64) -> Vec<f64> {
    vec![x; 2]
}

#[derive_gradient]
fn annotated_vec_result(x: f64) -> f64 {
    let v: Vec<f64> = pair_vec(x * 3.0);
    v[0] * v[1]
}

#[derive_gradient]
fn named_length(x: f64) -> f64 {
    let a = [x; N];
    a[0] * a[1] * a[2]
}

#[derive_gradient]
fn named_length_param(x: [f64; N]) -> f64 {
    x[0] * x[1] + x[2]
}

#[derive_gradient]
fn head(x: &[f64]) -> f64 {
    x[0] * x[0]
}

#[derive_gradient]
fn sub_slices(x: &[f64]) -> f64 {
    let tail = &x[1..];
    let mid = &x[1..3];
    head(&x[2..]) + tail[0] * mid[1] + head(mid) + x[..2].iter().sum::<f64>()
}

#[test]
fn named_constants_from_and_integer_constants() {
    let (v, g) = named_constants_grad(0.7, 3);
    assert_eq!(v, named_constants(0.7, 3));
    assert_eq!(g, SCALE * 3.0 + 1.5);
}

#[test]
fn passive_integer_helpers_and_min() {
    let (_, g) = integers_grad(0.5, 5);
    assert_eq!(g, 10.0 + 2.0 * 0.5 * 3.0);
}

#[test]
fn let_without_a_value() {
    for x in [0.8, -0.4] {
        let (_, g) = deferred_let_grad(x);
        let want = if x > 0.0 {
            (x * x).cos() * 2.0 * x
        } else {
            (-x).cos() * -1.0
        };
        assert_close(g, want, 1e-12, "d/dx");
    }
}

#[test]
fn for_with_a_mutable_loop_variable() {
    let x = 0.3;
    let (v, g) = for_mut_grad(x, 3);
    assert_eq!(v, for_mut(x, 3));
    // i runs 1, 2, 3: y = ((x*1 + x)*2 + x)*3 + x = 16x
    assert_close(g, 16.0, 1e-12, "d/dx");
    assert_gradient_close(
        |p: &[f64]| for_mut(p[0], 3),
        &[x],
        &[g],
        Tolerance::default(),
    );
}

#[test]
fn tuple_and_vec_parameters() {
    let (_, g) = tuple_param_grad((0.5, 2.0));
    assert_close(g.0, 2.0 + 0.5f64.cos(), 1e-12, "d/dp.0");
    assert_close(g.1, 0.5, 1e-12, "d/dp.1");
    let (_, g) = vec_param_grad(vec![1.5, 2.0]);
    assert_eq!(g, vec![3.0, 1.0]);
}

#[test]
fn annotated_vec_result_of_a_call() {
    let (_, g) = annotated_vec_result_grad(0.5);
    assert_close(g, 2.0 * 9.0 * 0.5, 1e-12, "d/dx");
}

#[test]
fn named_constant_array_lengths() {
    let (_, g) = named_length_grad(0.5);
    assert_close(g, 3.0 * 0.25, 1e-12, "d/dx");
    let (_, g) = named_length_param_grad([1.0, 2.0, 3.0]);
    assert_eq!(g, [2.0, 1.0, 1.0]);
}

#[test]
fn sub_slices_read_and_passed_on() {
    let x = [0.5, 1.5, -2.0, 0.7];
    let (v, g) = sub_slices_grad(&x);
    assert_eq!(v, sub_slices(&x));
    // f = x2^2 + x1 x2 + x1^2 + x0 + x1
    let want = [1.0, x[2] + 2.0 * x[1] + 1.0, 2.0 * x[2] + x[1], 0.0];
    for k in 0..4 {
        assert_close(g[k], want[k], 1e-12, "d/dx");
    }
    assert_gradient_close(sub_slices, &x, &g, Tolerance::default());
}

#[derive_gradient]
fn square(a: f64) -> f64 {
    a * a
}

/// A call's result negated inside another call, with no annotation anywhere: numbers that
/// come from calls are floats to the macro, and rustc checks it.
#[derive_gradient]
fn nested_negated_call(x: f64) -> f64 {
    square(-square(x)) + square(x).abs()
}

#[test]
fn results_of_calls_in_arithmetic_need_no_annotation() {
    for x in [0.7, -1.3] {
        let (v, d) = nested_negated_call_grad(x);
        assert_eq!(v, nested_negated_call(x));
        assert_close(d, 4.0 * x.powi(3) + 2.0 * x, 1e-12, "d/dx");
        assert_gradient_close(
            |p: &[f64]| nested_negated_call(p[0]),
            &[x],
            &[d],
            Tolerance::default(),
        );
    }
}

/// A comparison of a sum ending in a cast (`(x + n as f64) < 1.0`): the generated code keeps
/// the parentheses (without them `f64 <` reads as generic arguments).
#[test]
fn comparison_of_a_sum_ending_in_a_cast() {
    #[derive_gradient]
    fn f(x: f64, n: usize) -> f64 {
        if (x + n as f64) < 1.0 {
            x * x
        } else {
            3.0 * x
        }
    }
    for (x, n, want) in [(0.25, 0, 0.5), (-1.5, 2, -3.0), (0.5, 1, 3.0)] {
        let (value, gx) = f_grad(x, n);
        assert_eq!(value, f(x, n));
        assert_close(gx, want, 1e-15, "d/dx");
        let h = 1e-7;
        let fd = (f(x + h, n) - f(x - h, n)) / (2.0 * h);
        assert_close(fd, want, 1e-6, "finite difference");
    }
}
