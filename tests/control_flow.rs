//! Control flow in differentiated scalar functions: `if` statements and expressions (each
//! side, else-if chains, `&&`/`||`/`!`, `bool` parameters), `for` loops (accumulators,
//! repeated products, nesting, `.rev()`, `..=`), `while` loops with data-dependent trip counts
//! (Newton iterations, halving), early `return`, shadowing, block expressions, tuple `let`s,
//! integer locals and casts, loop-carried recurrences, `wrt(..)`, and the consistency of
//! `_grad`, `_grad_into`, `_pushforward` and `_pullback`.
//!
//! Each test declares its function inside itself, then `check1!`/`check2!` compare the
//! gradient with the analytic one (or a hand-written derivative recurrence) and with central
//! finite differences at several points away from branch switches, and check that the other
//! companions agree with it.

// The functions under test are written the way users write them (nested `if`s with
// `return`, index loops), not the way clippy would prefer.
#![allow(clippy::collapsible_if, clippy::needless_range_loop)]

use grad::derive_gradient;
use grad::runtime::{assert_gradient_close, check_directional, Tolerance, XorShift64};

#[track_caller]
fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    let ok = got == want || (got - want).abs() <= rel * got.abs().max(want.abs());
    assert!(ok, "{what}: got {got}, want {want}");
}

/// Checks `f(x)`: the gradient against `d` (relative `rel`) and finite differences;
/// `grad_into` overwrites; `pushforward(x, 1)` is the derivative; `pullback(x, s, &mut a)`
/// adds `s * derivative` to `a`.
#[track_caller]
#[allow(clippy::too_many_arguments)] // one closure per companion
fn check1(
    f: impl Fn(f64) -> f64,
    grad: impl Fn(f64) -> (f64, f64),
    grad_into: impl Fn(f64, &mut f64) -> f64,
    push: impl Fn(f64, f64) -> (f64, f64),
    pull: impl Fn(f64, f64, &mut f64) -> f64,
    d: impl Fn(f64) -> f64,
    rel: f64,
    points: &[f64],
) {
    for &x in points {
        let (v, g) = grad(x);
        assert_eq!(v, f(x), "value at {x}");
        assert_close(g, d(x), rel, &format!("derivative at {x}"));
        assert_gradient_close(|p: &[f64]| f(p[0]), &[x], &[g], Tolerance::default());
        let mut gi = f64::NAN;
        assert_eq!(grad_into(x, &mut gi), v);
        assert_eq!(gi, g, "grad_into at {x}");
        let (pv, t) = push(x, 1.0);
        assert_eq!(pv, v, "pushforward value at {x}");
        assert_close(t, g, 1e-12, &format!("pushforward at {x}"));
        let mut a = 0.25;
        assert_eq!(pull(x, -1.5, &mut a), v);
        assert_close(a, 0.25 - 1.5 * g, 1e-12, &format!("pullback at {x}"));
    }
}

/// [`check1`] for `f(x, y)`.
#[track_caller]
#[allow(clippy::too_many_arguments)] // one closure per companion
fn check2(
    f: impl Fn(f64, f64) -> f64,
    grad: impl Fn(f64, f64) -> (f64, (f64, f64)),
    grad_into: impl Fn(f64, f64, &mut f64, &mut f64) -> f64,
    push: impl Fn(f64, f64, f64, f64) -> (f64, f64),
    pull: impl Fn(f64, f64, f64, &mut f64, &mut f64) -> f64,
    d: impl Fn(f64, f64) -> (f64, f64),
    rel: f64,
    points: &[(f64, f64)],
) {
    for &(x, y) in points {
        let at = format!("({x}, {y})");
        let (v, (gx, gy)) = grad(x, y);
        assert_eq!(v, f(x, y), "value at {at}");
        let (dx, dy) = d(x, y);
        assert_close(gx, dx, rel, &format!("d/dx at {at}"));
        assert_close(gy, dy, rel, &format!("d/dy at {at}"));
        assert_gradient_close(
            |p: &[f64]| f(p[0], p[1]),
            &[x, y],
            &[gx, gy],
            Tolerance::default(),
        );
        let (mut ix, mut iy) = (f64::NAN, 9.0);
        assert_eq!(grad_into(x, y, &mut ix, &mut iy), v);
        assert_eq!((ix, iy), (gx, gy), "grad_into at {at}");
        let (pv, tx) = push(x, y, 1.0, 0.0);
        let (_, ty) = push(x, y, 0.0, 1.0);
        assert_eq!(pv, v, "pushforward value at {at}");
        assert_close(tx, gx, 1e-12, &format!("pushforward x at {at}"));
        assert_close(ty, gy, 1e-12, &format!("pushforward y at {at}"));
        let (mut ax, mut ay) = (0.25, -1.0);
        assert_eq!(pull(x, y, 3.0, &mut ax, &mut ay), v);
        assert_close(ax, 0.25 + 3.0 * gx, 1e-12, &format!("pullback x at {at}"));
        assert_close(ay, -1.0 + 3.0 * gy, 1e-12, &format!("pullback y at {at}"));
    }
}

/// `check1!(f(extra args..), d = |x| derivative, at [points])` for a function `f` declared
/// in the calling test as `fn f(x: f64, extra..) -> f64`, with its companions.
macro_rules! check1 {
    (f($($e:expr),*), d = $d:expr, at $points:expr) => {
        check1!(f($($e),*), d = $d, rel = 1e-12, at $points)
    };
    (f($($e:expr),*), d = $d:expr, rel = $rel:expr, at $points:expr) => {
        check1(
            |x| f(x $(, $e)*),
            |x| f_grad(x $(, $e)*),
            |x, g: &mut f64| f_grad_into(x $(, $e)*, g),
            |x, t| f_pushforward(x $(, $e)*, t),
            |x, s, a: &mut f64| f_pullback(x $(, $e)*, s, a),
            $d,
            $rel,
            &$points,
        )
    };
}

/// `check2!(f(extra args..), d = |x, y| (d/dx, d/dy), at [(x, y), ..])` for
/// `fn f(x: f64, y: f64, extra..) -> f64` declared in the calling test.
macro_rules! check2 {
    (f($($e:expr),*), d = $d:expr, at $points:expr) => {
        check2!(f($($e),*), d = $d, rel = 1e-12, at $points)
    };
    (f($($e:expr),*), d = $d:expr, rel = $rel:expr, at $points:expr) => {
        check2(
            |x, y| f(x, y $(, $e)*),
            |x, y| f_grad(x, y $(, $e)*),
            |x, y, gx: &mut f64, gy: &mut f64| f_grad_into(x, y $(, $e)*, gx, gy),
            |x, y, tx, ty| f_pushforward(x, y $(, $e)*, tx, ty),
            |x, y, s, ax: &mut f64, ay: &mut f64| f_pullback(x, y $(, $e)*, s, ax, ay),
            $d,
            $rel,
            &$points,
        )
    };
}

// ---------------------------------------------------------------------------------------
// Branches

#[test]
fn if_statement_takes_each_side() {
    #[allow(clippy::assign_op_pattern)] // both assignment forms on purpose
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let mut r = x;
        if x > y {
            r = r * y;
        } else {
            r += y * y;
        }
        r
    }
    check2!(f(), d = |x, y| if x > y { (y, x) } else { (1.0, 2.0 * y) },
        at [(2.0, 1.0), (-0.5, -3.0), (0.5, 3.0), (-2.0, 0.25)]);
}

#[test]
fn if_without_else() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let mut s = y;
        if x > 0.0 {
            s *= x;
        }
        s + x
    }
    check2!(f(), d = |x, y| if x > 0.0 { (y + 1.0, x) } else { (1.0, 1.0) },
        at [(2.0, 1.0), (-0.5, -3.0), (0.5, 3.0)]);
}

#[test]
fn if_expression_takes_each_side() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let r = if x < 0.0 { -x * y } else { x.sin() * y };
        r + x
    }
    check2!(f(), d = |x, y| if x < 0.0 { (1.0 - y, -x) } else { (x.cos() * y + 1.0, x.sin()) },
        at [(-1.0, 2.0), (-0.1, -3.0), (0.5, 3.0), (2.0, -0.5)]);
}

#[test]
fn if_expression_as_result() {
    #[derive_gradient]
    fn f(x: f64) -> f64 {
        if x > 1.0 {
            x.ln()
        } else {
            x - 1.0
        }
    }
    check1!(f(), d = |x| if x > 1.0 { 1.0 / x } else { 1.0 }, at [0.5, -2.0, 1.5, 4.0]);
}

#[test]
fn else_if_chain_takes_every_arm() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        if x < -1.0 {
            x * x * y
        } else if x < 1.0 {
            2.0 * x + y
        } else if x < 3.0 {
            y * x.powi(3)
        } else {
            y.exp()
        }
    }
    check2!(f(), d = |x, y| {
            if x < -1.0 {
                (2.0 * x * y, x * x)
            } else if x < 1.0 {
                (2.0, 1.0)
            } else if x < 3.0 {
                (3.0 * y * x * x, x.powi(3))
            } else {
                (0.0, y.exp())
            }
        },
        at [(-2.0, 0.5), (0.0, 1.5), (2.0, -1.0), (4.0, 0.3), (-1.5, -2.0), (0.9, 0.0)]);
}

#[test]
fn and_or_not_conditions() {
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // `!` on a comparison on purpose
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        if x > 0.0 && y > 0.0 {
            x * y
        } else if x < -1.0 || y < -1.0 {
            x - 2.0 * y
        } else if !(x > y) {
            x * x + y
        } else {
            y * y * x
        }
    }
    check2!(f(), d = |x: f64, y: f64| {
            if x > 0.0 && y > 0.0 {
                (y, x)
            } else if x < -1.0 || y < -1.0 {
                (1.0, -2.0)
            } else if x <= y {
                (2.0 * x, 1.0)
            } else {
                (y * y, 2.0 * x * y)
            }
        },
        at [(1.0, 2.0), (-2.0, 0.5), (0.5, -2.0), (-0.5, 0.5), (0.5, -0.5), (-3.0, -3.0)]);
}

#[test]
fn bool_parameter_selects_the_branch() {
    #[derive_gradient]
    fn f(x: f64, y: f64, flip: bool) -> f64 {
        let b = x > y;
        if flip {
            x * y
        } else if flip || b {
            x / y
        } else if !flip && y > 5.0 {
            y - x
        } else {
            x + 3.0 * y
        }
    }
    let points = [(2.0, 1.0), (0.5, 3.0), (1.0, 7.0), (-1.0, -0.5)];
    check2!(f(true), d = |x, y| (y, x), at points);
    check2!(f(false), d = |x, y| {
            if x > y {
                (1.0 / y, -x / (y * y))
            } else if y > 5.0 {
                (-1.0, 1.0)
            } else {
                (1.0, 3.0)
            }
        },
        at points);
}

// ---------------------------------------------------------------------------------------
// For loops

#[test]
fn for_loop_accumulator() {
    #[derive_gradient]
    fn f(x: f64, y: f64, n: usize) -> f64 {
        let mut s = 0.0;
        for i in 0..n {
            s += (x * i as f64).sin() * y;
        }
        s
    }
    for n in [0, 1, 2, 7] {
        check2!(f(n), d = |x: f64, y: f64| {
                let (mut dx, mut dy) = (0.0, 0.0);
                for i in 0..n {
                    let i = i as f64;
                    dx += i * (i * x).cos() * y;
                    dy += (i * x).sin();
                }
                (dx, dy)
            },
            at [(0.3, 2.0), (-1.2, 0.5), (0.0, 1.0)]);
    }
}

#[test]
fn loop_of_products_is_a_power() {
    #[allow(clippy::assign_op_pattern)] // `p = p * x`, not `p *= x`, on purpose
    #[derive_gradient]
    fn f(x: f64, n: usize) -> f64 {
        let mut p = 1.0;
        for _ in 0..n {
            p = p * x;
        }
        p
    }
    for n in 0..7 {
        let d = |x: f64| {
            if n == 0 {
                0.0
            } else {
                n as f64 * x.powi(n as i32 - 1)
            }
        };
        check1!(f(n), d = d, at [0.0, 1.0, -1.3, 0.7, 2.0]);
    }
}

#[test]
fn loop_of_mul_assign_is_a_power() {
    #[derive_gradient]
    fn f(x: f64, n: usize) -> f64 {
        let mut p = 1.0;
        for _ in 0..n {
            p *= x;
        }
        p
    }
    for n in 0..7 {
        let d = |x: f64| {
            if n == 0 {
                0.0
            } else {
                n as f64 * x.powi(n as i32 - 1)
            }
        };
        check1!(f(n), d = d, at [0.0, 1.0, -1.3, 0.7, 2.0]);
    }
}

#[test]
fn compound_assignments() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let mut s = x;
        s += y;
        s -= 0.5 * x;
        s *= y;
        s /= x + 2.0;
        s
    }
    // s = (x/2 + y) y / (x + 2)
    check2!(f(), d = |x, y| {
            let w = x + 2.0;
            let u = (0.5 * x + y) * y;
            (0.5 * y / w - u / (w * w), (0.5 * x + 2.0 * y) / w)
        },
        at [(1.0, 2.0), (-0.5, 3.0), (3.0, -1.0)]);
}

#[test]
fn nested_loops() {
    // (sum_{i<n} x^i) (sum_{j<m} y^j), with the powers carried as running products.
    #[derive_gradient]
    fn f(x: f64, y: f64, n: usize, m: usize) -> f64 {
        let mut s = 0.0;
        let mut xi = 1.0;
        for _i in 0..n {
            let mut yj = 1.0;
            for _j in 0..m {
                s += xi * yj;
                yj *= y;
            }
            xi *= x;
        }
        s
    }
    let geometric = |x: f64, n: usize| (0..n).map(|i| x.powi(i as i32)).sum::<f64>();
    let dgeometric =
        |x: f64, n: usize| (1..n).map(|i| i as f64 * x.powi(i as i32 - 1)).sum::<f64>();
    for (n, m) in [(0, 3), (3, 0), (1, 1), (4, 3), (5, 6)] {
        check2!(f(n, m), d = |x, y| {
                (dgeometric(x, n) * geometric(y, m), geometric(x, n) * dgeometric(y, m))
            },
            at [(0.5, 2.0), (-1.3, 0.7), (1.0, -1.0)]);
    }
}

#[test]
fn nested_loops_with_dependent_bounds() {
    // sum_{i=1..=n} sum_{j<i} x^j * i * y
    #[derive_gradient]
    fn f(x: f64, y: f64, n: usize) -> f64 {
        let mut s = 0.0;
        for i in 1..=n {
            for j in 0..i {
                s += x.powi(j as i32) * i as f64 * y;
            }
        }
        s
    }
    for n in [0, 1, 4] {
        check2!(f(n), d = |x: f64, y: f64| {
                let (mut dx, mut dy) = (0.0, 0.0);
                for i in 1..=n {
                    for j in 0..i {
                        let (i, j) = (i as f64, j as i32);
                        dx += if j == 0 { 0.0 } else { j as f64 * x.powi(j - 1) * i * y };
                        dy += x.powi(j) * i;
                    }
                }
                (dx, dy)
            },
            at [(0.5, 2.0), (-1.3, 0.7)]);
    }
}

#[test]
fn reversed_range_horner() {
    // p(x) = sum_{i<n} (i + 1) x^i by Horner's rule, highest coefficient first.
    #[derive_gradient]
    fn f(x: f64, n: usize) -> f64 {
        let mut p = 0.0;
        for i in (0..n).rev() {
            p = p * x + (i + 1) as f64;
        }
        p
    }
    for n in [0, 1, 2, 6] {
        let d = |x: f64| {
            (1..n)
                .map(|i| (i * (i + 1)) as f64 * x.powi(i as i32 - 1))
                .sum::<f64>()
        };
        check1!(f(n), d = d, at [0.5, -1.3, 2.0]);
    }
}

#[test]
fn reversed_range_order_matters() {
    // v <- sin(v + k/10) * x for k = n-1 down to 2: not a sum, so the order is visible.
    #[derive_gradient]
    fn f(x: f64, n: usize) -> f64 {
        let mut v = x;
        for k in (2..n).rev() {
            v = (v + k as f64 * 0.1).sin() * x;
        }
        v
    }
    let n = 7;
    let d = |x: f64| {
        // Forward-mode recurrence by hand: dv' = cos(v + k/10) dv x + sin(v + k/10).
        let (mut v, mut dv) = (x, 1.0);
        for k in (2..n).rev() {
            let u = v + k as f64 * 0.1;
            dv = u.cos() * dv * x + u.sin();
            v = u.sin() * x;
        }
        dv
    };
    check1!(f(n), d = d, at [0.5, -1.3, 2.0]);
}

#[test]
fn inclusive_range() {
    // y * sum_{k=1..=n} x^k / k
    #[derive_gradient]
    fn f(x: f64, y: f64, n: usize) -> f64 {
        let mut s = 0.0;
        for k in 1..=n {
            s += x.powi(k as i32) / k as f64;
        }
        s * y
    }
    for n in [0, 1, 5] {
        check2!(f(n), d = |x: f64, y: f64| {
                let dx: f64 = (1..=n).map(|k| x.powi(k as i32 - 1)).sum();
                let s: f64 = (1..=n).map(|k| x.powi(k as i32) / k as f64).sum();
                (dx * y, s)
            },
            at [(0.5, 2.0), (-0.8, -1.5)]);
    }
}

// ---------------------------------------------------------------------------------------
// While loops with data-dependent trip counts

#[test]
fn newton_square_root() {
    #[derive_gradient]
    fn f(a: f64) -> f64 {
        let mut x = a;
        let mut k = 0;
        while (x * x - a).abs() > 1e-14 * a && k < 100 {
            x = 0.5 * (x + a / x);
            k += 1;
        }
        x
    }
    // The derivative of the converged iterate is that of sqrt(a), to the accuracy of the
    // iteration.
    check1!(f(), d = |a: f64| 0.5 / a.sqrt(), rel = 1e-9, at [0.25, 2.0, 10.0, 1e4]);
    assert!((f(2.0) - 2f64.sqrt()).abs() < 1e-15);
}

#[test]
fn newton_cube_root() {
    #[derive_gradient]
    fn f(a: f64) -> f64 {
        let mut x = 1.0 + a / 3.0;
        let mut k = 0;
        while (x * x * x - a).abs() > 1e-13 * a && k < 200 {
            x = (2.0 * x + a / (x * x)) / 3.0;
            k += 1;
        }
        x
    }
    check1!(f(), d = |a: f64| 1.0 / (3.0 * a.cbrt() * a.cbrt()), rel = 1e-9,
        at [0.5, 2.0, 27.0, 100.0]);
}

#[test]
fn while_halving_below_threshold() {
    // v = x / 2^k with k the number of halvings until |v| <= 1: piecewise linear in x.
    #[allow(clippy::assign_op_pattern)] // `v = v / 2`, on purpose
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let mut v = x;
        let mut k = 0;
        while v.abs() > 1.0 {
            v = v / 2.0;
            k += 1;
        }
        v * y + k as f64
    }
    check2!(f(), d = |x: f64, y: f64| {
            let mut scale = 1.0;
            while (x * scale).abs() > 1.0 {
                scale /= 2.0;
            }
            (scale * y, x * scale)
        },
        at [(0.5, 2.0), (5.0, 1.5), (-12.0, -0.5), (100.0, 3.0)]);
    assert_eq!(f_grad(5.0, 2.0), (0.625 * 2.0 + 3.0, (0.25, 0.625)));
}

// ---------------------------------------------------------------------------------------
// Early return

#[test]
fn early_return_in_one_branch() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        if x > 1.0 {
            return x * x * y;
        }
        let z = x.sin();
        z * y
    }
    check2!(f(), d = |x: f64, y| if x > 1.0 { (2.0 * x * y, x * x) } else { (x.cos() * y, x.sin()) },
        at [(2.0, 3.0), (0.5, 3.0), (-1.0, -2.0), (1.5, -0.5)]);
}

/// The derivative of the piecewise function of `nested_ifs_with_returns*`.
fn nested_returns_derivative(x: f64, y: f64) -> (f64, f64) {
    if x > 0.0 {
        if y > 0.0 {
            (y, x)
        } else {
            (1.0, -1.0)
        }
    } else if y > 2.0 {
        (y.ln(), x / y)
    } else {
        (2.0 * x, 1.0)
    }
}

const NESTED_RETURN_POINTS: [(f64, f64); 5] = [
    (1.0, 2.0),
    (1.0, -1.0),
    (-1.0, 3.0),
    (-1.0, 1.0),
    (-0.5, -4.0),
];

#[test]
fn nested_ifs_with_returns() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        if x > 0.0 {
            if y > 0.0 {
                return x * y;
            }
            return x - y;
        }
        if y > 2.0 {
            return y.ln() * x;
        }
        let z = x * x;
        z + y
    }
    check2!(f(), d = nested_returns_derivative, at NESTED_RETURN_POINTS);
}

#[test]
fn nested_ifs_with_returns_in_every_branch() {
    #[allow(clippy::needless_return)] // returns in every branch, on purpose
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        if x > 0.0 {
            if y > 0.0 {
                return x * y;
            } else {
                return x - y;
            }
        } else if y > 2.0 {
            return y.ln() * x;
        } else {
            let z = x * x;
            z + y
        }
    }
    check2!(f(), d = nested_returns_derivative, at NESTED_RETURN_POINTS);
}

// An `else if` arm or a nested `if` that returns on one path and falls through on the other:
// the fall-through continues with the rest of each enclosing block
// (regression for /work/notes/bugs/nested-if-return-fallthrough.md).
mod nested_return_fallthrough {
    use super::*;

    #[test]
    fn nested_ifs_with_returns_else_if() {
        #[derive_gradient]
        fn f(x: f64, y: f64) -> f64 {
            if x > 0.0 {
                if y > 0.0 {
                    return x * y;
                }
                return x - y;
            } else if y > 2.0 {
                return y.ln() * x;
            }
            let z = x * x;
            z + y
        }
        check2!(f(), d = nested_returns_derivative, at NESTED_RETURN_POINTS);
    }

    #[test]
    fn inner_if_returns_outer_falls_through() {
        #[derive_gradient]
        fn f(x: f64, y: f64) -> f64 {
            if x > 0.0 {
                if y > 0.0 {
                    return x * y;
                }
            }
            x * x + y
        }
        check2!(f(), d = |x: f64, y: f64| if x > 0.0 && y > 0.0 { (y, x) } else { (2.0 * x, 1.0) },
            at [(1.0, 2.0), (1.0, -1.0), (-1.0, 3.0)]);
    }
}

// ---------------------------------------------------------------------------------------
// Bindings

#[test]
fn shadowing() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let x = x * 2.0;
        let y = x.sin() + y;
        let x = x * y;
        let x = {
            let y = x + 1.0;
            y * y
        };
        x + y
    }
    // X = 2x, Y = sin X + y, P = X Y, f = (P + 1)^2 + Y
    check2!(f(), d = |x: f64, y: f64| {
            let big_x = 2.0 * x;
            let big_y = big_x.sin() + y;
            let p = big_x * big_y;
            let dydx = 2.0 * big_x.cos();
            let dpdx = 2.0 * big_y + big_x * dydx;
            (2.0 * (p + 1.0) * dpdx + dydx, 2.0 * (p + 1.0) * big_x + 1.0)
        },
        at [(0.3, 0.5), (-1.0, 2.0), (2.0, -1.5)]);
}

#[test]
fn block_expressions() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let z = {
            let t = x * y;
            t * t + x
        };
        z * {
            let u = y - x;
            u.exp()
        }
    }
    // z = x^2 y^2 + x, w = exp(y - x), f = z w
    check2!(f(), d = |x: f64, y: f64| {
            let (z, w) = (x * x * y * y + x, (y - x).exp());
            ((2.0 * x * y * y + 1.0) * w - z * w, 2.0 * x * x * y * w + z * w)
        },
        at [(0.3, 0.5), (-1.0, 2.0), (2.0, -1.5)]);
}

#[test]
fn tuple_let_and_swap() {
    #[derive_gradient]
    fn f(x: f64, y: f64) -> f64 {
        let (a, b) = (x * y, x + y);
        let (b, a) = (a, b);
        a.sin() * b
    }
    // a = x + y, b = x y: f = sin(x + y) x y
    check2!(f(), d = |x: f64, y: f64| {
            let (s, c) = ((x + y).sin(), (x + y).cos());
            (c * x * y + s * y, c * x * y + s * x)
        },
        at [(0.3, 0.5), (-1.0, 2.0), (2.0, -1.5)]);
}

#[test]
fn integer_locals_and_casts() {
    #[derive_gradient]
    fn f(x: f64, n: usize) -> f64 {
        let mut k = 0;
        let mut s = 0.0;
        let m = 2 * n + 1;
        while k < m {
            s += (k as f64) * x * x;
            k += 1;
        }
        let c: i32 = 3;
        let j = (m as i32) - 1;
        s / (m as f64) + x.powi(c) + (j as f64) * x
    }
    // s = x^2 m (m - 1) / 2, f = x^2 (m - 1) / 2 + x^3 + (m - 1) x
    for n in [0, 1, 4] {
        let m1 = (2 * n) as f64;
        check1!(f(n), d = |x: f64| x * m1 + 3.0 * x * x + m1, at [0.5, -1.3, 2.0]);
    }
}

// ---------------------------------------------------------------------------------------
// Loop-carried state

#[test]
fn iterated_sine_map() {
    // x_{k+1} = sin(x_k) + a, ten times from x_0.
    #[derive_gradient]
    fn f(x0: f64, a: f64) -> f64 {
        let mut x = x0;
        for _ in 0..10 {
            x = x.sin() + a;
        }
        x
    }
    check2!(f(), d = |x0: f64, a: f64| {
            // d x_{k+1} = cos(x_k) d x_k (+ 1 for a).
            let (mut x, mut dx0, mut da) = (x0, 1.0, 0.0);
            for _ in 0..10 {
                let c = x.cos();
                dx0 *= c;
                da = c * da + 1.0;
                x = x.sin() + a;
            }
            (dx0, da)
        },
        at [(0.3, 0.5), (-1.0, 2.0), (2.0, -1.5), (0.0, 0.1)]);
}

#[test]
fn two_carried_variables() {
    // (a, b) <- (b, a + b x), n times from (y, x): a Fibonacci-like recurrence.
    #[derive_gradient]
    fn f(x: f64, y: f64, n: usize) -> f64 {
        let mut a = y;
        let mut b = x;
        for _ in 0..n {
            let t = a + b * x;
            a = b;
            b = t;
        }
        b
    }
    // The same recurrence with a tuple `let`.
    #[derive_gradient]
    fn g(x: f64, y: f64, n: usize) -> f64 {
        let mut a = y;
        let mut b = x;
        for _ in 0..n {
            let (na, nb) = (b, a + b * x);
            a = na;
            b = nb;
        }
        b
    }
    let d = |n: usize| {
        move |x: f64, y: f64| {
            // Carry (a, b) and their partials by hand.
            let (mut a, mut b) = (y, x);
            let (mut ax, mut bx, mut ay, mut by) = (0.0, 1.0, 1.0, 0.0);
            for _ in 0..n {
                let (t, tx, ty) = (a + b * x, ax + bx * x + b, ay + by * x);
                (a, ax, ay) = (b, bx, by);
                (b, bx, by) = (t, tx, ty);
            }
            (bx, by)
        }
    };
    for n in [0, 1, 2, 8] {
        check2!(f(n), d = d(n), at [(0.5, 1.0), (-1.2, 0.3), (1.1, -2.0)]);
        for (x, y) in [(0.5, 1.0), (-1.2, 0.3)] {
            assert_eq!(g(x, y, n), f(x, y, n));
            assert_eq!(g_grad(x, y, n), f_grad(x, y, n));
        }
    }
    // n = 2 by hand: b = y + x^2 + ... : (a, b) = (x, y + x^2) -> (y + x^2, x + (y + x^2) x)
    let (v, (dx, dy)) = f_grad(2.0, 3.0, 2);
    assert_eq!(v, 2.0 + (3.0 + 4.0) * 2.0);
    assert_eq!((dx, dy), (1.0 + 3.0 + 3.0 * 4.0, 2.0));
}

// ---------------------------------------------------------------------------------------
// Companions

#[test]
fn wrt_selects_a_subset() {
    #[derive_gradient(wrt(y))]
    fn f(x: f64, y: f64, z: f64) -> f64 {
        x * y * y + z.sin() * y
    }
    // Named out of order: the gradient still follows the signature, (x, z).
    #[derive_gradient(wrt(z, x))]
    fn g(x: f64, y: f64, z: f64) -> f64 {
        x * y * y + z.sin() * y
    }
    for (x, y, z) in [(1.0_f64, 2.0_f64, 3.0_f64), (-0.5, 0.7, -1.2)] {
        let full = [y * y, 2.0 * x * y + z.sin(), z.cos() * y];
        // One differentiated parameter: a bare f64.
        let (v, dy): (f64, f64) = f_grad(x, y, z);
        assert_eq!(v, f(x, y, z));
        assert_close(dy, full[1], 1e-12, "wrt(y)");
        let mut gy = f64::NAN;
        assert_eq!(f_grad_into(x, y, z, &mut gy), v);
        assert_eq!(gy, dy);
        assert_gradient_close(|p: &[f64]| f(x, p[0], z), &[y], &[dy], Tolerance::default());

        let (v, (dx, dz)): (f64, (f64, f64)) = g_grad(x, y, z);
        assert_eq!(v, g(x, y, z));
        assert_close(dx, full[0], 1e-12, "wrt(z, x): x");
        assert_close(dz, full[2], 1e-12, "wrt(z, x): z");
        let (mut gx, mut gz) = (f64::NAN, f64::NAN);
        assert_eq!(g_grad_into(x, y, z, &mut gx, &mut gz), v);
        assert_eq!((gx, gz), (dx, dz));
        assert_gradient_close(
            |p: &[f64]| g(p[0], y, p[1]),
            &[x, z],
            &[dx, dz],
            Tolerance::default(),
        );

        // pushforward and pullback still cover every float parameter.
        let (_, t) = f_pushforward(x, y, z, 1.0, 1.0, 1.0);
        assert_close(t, full.iter().sum(), 1e-12, "pushforward");
        let mut adj = [0.0; 3];
        let [a0, a1, a2] = &mut adj;
        g_pullback(x, y, z, 1.0, a0, a1, a2);
        for k in 0..3 {
            assert_close(adj[k], full[k], 1e-12, "pullback");
        }
    }
}

#[test]
fn companions_agree_in_random_directions() {
    #[derive_gradient]
    fn f(x: f64, y: f64, z: f64, n: usize) -> f64 {
        let mut s = x;
        for i in 0..n {
            if s > y {
                s = (s - y).sqrt() * z + i as f64;
            } else {
                s = s * z.cos() + y * x;
            }
        }
        s
    }
    let mut rng = XorShift64::new(7);
    for trial in 0..20 {
        let p = [
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
        ];
        let n = trial % 6;
        let (v, (gx, gy, gz)) = f_grad(p[0], p[1], p[2], n);
        let g = [gx, gy, gz];
        // grad_into overwrites whatever the buffers held.
        let mut buf = [f64::NAN, 1e300, -7.0];
        let [b0, b1, b2] = &mut buf;
        assert_eq!(f_grad_into(p[0], p[1], p[2], n, b0, b1, b2), v);
        assert_eq!(buf, g);
        // pushforward along t is g . t.
        let t = [rng.normal(), rng.normal(), rng.normal()];
        let (pv, dt) = f_pushforward(p[0], p[1], p[2], n, t[0], t[1], t[2]);
        assert_eq!(pv, v);
        let gt: f64 = g.iter().zip(&t).map(|(a, b)| a * b).sum();
        assert_close(dt, gt, 1e-9, "pushforward");
        // pullback with seed s adds s * g.
        let s = rng.normal();
        let mut adj = [1.0, 2.0, 3.0];
        let [a0, a1, a2] = &mut adj;
        assert_eq!(f_pullback(p[0], p[1], p[2], n, s, a0, a1, a2), v);
        for k in 0..3 {
            assert_close(adj[k], [1.0, 2.0, 3.0][k] + s * g[k], 1e-12, "pullback");
        }
        // And the gradient itself against central differences along a random direction.
        let tol = Tolerance::new(1e-5, 1e-7);
        check_directional(
            |q: &[f64]| f(q[0], q[1], q[2], n),
            &p,
            &g,
            tol,
            trial as u64,
        )
        .unwrap_or_else(|e| panic!("trial {trial} at {p:?}, n = {n}: {e}"));
    }
}

/// A branch that falls through after a loop or a value-less `if` continues after the `if`
/// (regression for /work/notes/bugs/prop-nested-return-unit-tail.md).
#[test]
fn returning_if_whose_other_branch_ends_in_a_loop() {
    #[derive_gradient]
    fn f(x: f64) -> f64 {
        if x > 1.0 {
            return x * x;
        } else {
            for _ in 0..3 {}
        }
        x
    }
    #[allow(clippy::len_zero)]
    #[derive_gradient]
    fn mean(x: &[f64]) -> f64 {
        let mut s = 0.0;
        if x.len() == 0 {
            return 0.0;
        } else {
            for i in 0..x.len() {
                s += x[i];
            }
        }
        s / x.len() as f64
    }
    assert_eq!(f_grad(2.0), (4.0, 4.0));
    assert_eq!(f_grad(0.5), (0.5, 1.0));
    let (m, g) = mean_grad(&[1.0, 2.0, 6.0]);
    assert_eq!(m, 3.0);
    assert_eq!(g, vec![1.0 / 3.0; 3]);
}

/// A sum over samples with two differentiated accumulators (so the reverse sweep re-runs the
/// loop) around a `while` whose trips overwrite a value `sin`'s partial reads: each trip's
/// reverse needs its own value. (Found by the random programs: the re-run's reads were noted
/// after its locals were renamed, the value was not saved and the gradient was wrong.)
#[test]
fn rerun_loop_keeps_each_inner_trip_value() {
    #[derive_gradient]
    fn f(x: f64, w: f64, b: [f64; 3], n: usize) -> f64 {
        let mut s1: f64 = 0.0;
        let mut s6 = x;
        for i in 0..n {
            let mut k = 0usize;
            while k < n {
                k += 1;
                let m = -w;
                s1 -= (m + b[(i + k) % 3]).sin();
            }
            s6 -= -w;
        }
        s6 + s1
    }
    let n = 3;
    for (x, w, b) in [(0.3, 0.4, [0.1, -0.2, 0.5]), (-1.1, 2.0, [1.5, 0.3, -0.7])] {
        let (_, (gx, gw, gb)) = f_grad(x, w, b, n);
        // d/dw = n + sum_{i,k} cos(b[(i+k)%3] - w); d/db[j] = -sum over the trips using b[j].
        let mut want_w = n as f64;
        let mut want_b = [0.0; 3];
        for i in 0..n {
            for k in 1..=n {
                let j = (i + k) % 3;
                want_w += (b[j] - w).cos();
                want_b[j] -= (b[j] - w).cos();
            }
        }
        assert_close(gx, 1.0, 1e-12, "d/dx");
        assert_close(gw, want_w, 1e-12, "d/dw");
        for j in 0..3 {
            assert_close(gb[j], want_b[j], 1e-12, "d/db");
        }
        let p = [x, w, b[0], b[1], b[2]];
        let g = [gx, gw, gb[0], gb[1], gb[2]];
        assert_gradient_close(
            |p: &[f64]| f(p[0], p[1], [p[2], p[3], p[4]], n),
            &p,
            &g,
            Tolerance::default(),
        );
    }
}

/// `min` picks `t`, and `t` also feeds a sum over a slice: with `wrt(..)`, `grad_into`'s
/// adjoint of `t` starts as the `min`'s indicator and then gets the sum's share. (Found by
/// the random programs: a constant-folding pass treated that adjoint as the indicator alone
/// and dropped the sum's share of d/db.)
#[test]
fn adjoint_starting_as_an_indicator_keeps_later_shares() {
    #[derive_gradient(wrt(s, b))]
    fn f(x0: f64, x2: f64, s: &[f64], b: [f64; 3]) -> f64 {
        let t = b[1] * (x2 + 1.25);
        let v = (s.iter().map(|&e| t + 0.5 * e).sum::<f64>().abs() + 0.5).cbrt();
        t.min(x0) + v
    }
    let s = [0.3, -0.8, 1.1];
    for (x0, x2, b) in [
        (0.9, -1.7, [0.6, 0.86, 1.65]),
        (-2.0, 0.4, [0.1, 1.3, -0.2]),
    ] {
        let (_, (gs, gb)) = f_grad(x0, x2, &s, b);
        let t = b[1] * (x2 + 1.25);
        let sum: f64 = s.iter().map(|e| t + 0.5 * e).sum();
        let dv = (sum.abs() + 0.5).powf(-2.0 / 3.0) / 3.0 * sum.signum();
        let dt = if t < x0 { 1.0 } else { 0.0 } + dv * s.len() as f64;
        assert_close(gb[1], dt * (x2 + 1.25), 1e-12, "d/db1");
        assert_close(gb[0], 0.0, 1e-12, "d/db0");
        for g in &gs {
            assert_close(*g, dv * 0.5, 1e-12, "d/ds");
        }
    }
}

/// A `while` loop whose body computes a value from parameters alone (`b * 1.37`): the
/// reverse sweep computes it again instead of stacking it, and the gradient is the closed
/// form `s = a b 1.35^3 + 0.1 |1.37 b| (1.35^2 + 1.35 + 1)`.
#[test]
fn while_loop_recomputes_what_depends_on_parameters_only() {
    #[derive_gradient]
    fn f(a: f64, b: f64) -> f64 {
        let mut s = a * b;
        let mut j = 0;
        while j < 3 {
            s = s * 1.35 + (b * 1.37).abs() * 0.1;
            j += 1;
        }
        s
    }
    let c3 = 1.35f64.powi(3);
    let geo = 1.35 * 1.35 + 1.35 + 1.0;
    for (a, b) in [(0.5, 2.0), (-1.5, -0.75), (2.0, 0.3)] {
        let (value, (ga, gb)) = f_grad(a, b);
        assert_eq!(value, f(a, b));
        let want_b = a * c3 + 0.137 * b.signum() * geo;
        assert!((ga - b * c3).abs() <= 1e-14 * ga.abs(), "{ga}");
        assert!(
            (gb - want_b).abs() <= 1e-14 * want_b.abs(),
            "{gb} vs {want_b}"
        );
        let h = 1e-6;
        let fd_b = (f(a, b + h) - f(a, b - h)) / (2.0 * h);
        assert!(
            (fd_b - gb).abs() <= 1e-7 * gb.abs().max(1.0),
            "{fd_b} vs {gb}"
        );
    }
}
