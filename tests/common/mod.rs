//! Checks shared by the integration tests of functions of one slice `x: &[f64]`.

#![allow(dead_code)]

use grad::runtime::{assert_gradient_close, Tolerance};

/// Relative agreement between two derivative values computed in different orders.
#[track_caller]
pub fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    let ok = got == want || (got - want).abs() <= rel * got.abs().max(want.abs()).max(1e-300);
    assert!(ok, "{what}: got {got}, want {want}");
}

/// An analytic gradient of a function of one slice.
pub type Analytic<'a> = &'a dyn Fn(&[f64]) -> Vec<f64>;

/// Checks a differentiated function of a slice at `x`: its value; its gradient against
/// `analytic` (when given) and central finite differences; the pushforward along each unit
/// vector and the pullback with seed `s` against the gradient.
#[track_caller]
pub fn check_slice(
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    push: impl Fn(&[f64], &[f64]) -> (f64, f64),
    pull: impl Fn(&[f64], f64, &mut [f64]) -> f64,
    analytic: Option<Analytic>,
    x: &[f64],
) {
    let (v, g) = grad(x);
    assert_eq!(v, f(x), "value at {x:?}");
    if let Some(d) = analytic {
        for (k, (gk, dk)) in g.iter().zip(d(x)).enumerate() {
            assert_close(*gk, dk, 1e-12, &format!("d/dx{k} at {x:?}"));
        }
    }
    assert_gradient_close(&f, x, &g, Tolerance::default());
    for k in 0..x.len() {
        let mut t = vec![0.0; x.len()];
        t[k] = 1.0;
        let (pv, dk) = push(x, &t);
        assert_eq!(pv, v, "pushforward value at {x:?}");
        assert_close(dk, g[k], 1e-12, &format!("pushforward d/dx{k} at {x:?}"));
    }
    let mut adj = vec![0.5; x.len()];
    assert_eq!(pull(x, -2.0, &mut adj), v, "pullback value");
    for k in 0..x.len() {
        assert_close(
            adj[k],
            0.5 - 2.0 * g[k],
            1e-12,
            &format!("pullback d/dx{k} at {x:?}"),
        );
    }
}

/// [`check_slice`] for the function `f(x: &[f64]) -> f64` of module `$m` through its
/// companions `f_grad`, `f_pushforward` and `f_pullback`.
#[macro_export]
macro_rules! check {
    ($m:ident, $x:expr) => {
        $crate::common::check_slice(
            $m::f,
            $m::f_grad,
            $m::f_pushforward,
            $m::f_pullback,
            None,
            &$x,
        )
    };
    ($m:ident, $x:expr, $d:expr) => {
        $crate::common::check_slice(
            $m::f,
            $m::f_grad,
            $m::f_pushforward,
            $m::f_pullback,
            Some(&$d),
            &$x,
        )
    };
}
