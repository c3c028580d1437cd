//! Writes the hygiene tests: for every name the code generator can bind
//! (`grad_compiler::names::Binder::ALL`), functions whose parameters, locals and callees
//! carry that name. Generated from the list itself, so a new binder is covered by
//! construction.

use grad_compiler::names::Binder;
use std::fmt::Write;

fn main() {
    let mut out = String::new();
    for b in Binder::ALL {
        let n = b.example();
        let m = format!("case_{}", n.replace(|c: char| !c.is_alphanumeric(), "_"));
        let _ = write!(
            out,
            r#"
/// Hygiene cases for the generated name `{n}`.
#[allow(non_snake_case, clippy::all)]
mod {m} {{
    use grad::derive_gradient;

    /// A parameter named `{n}` (beside `x`, whose companions name things after it); its
    /// loop runs in chunks (`parallel`), whose closures bind names too.
    #[derive_gradient(parallel, wrt(x, {n}))]
    pub fn as_param(x: f64, {n}: f64, v: &[f64]) -> f64 {{
        let mut s = x * {n};
        for i in 0..v.len() {{
            s += v[i] * {n} + x.sin();
        }}
        if s > 0.0 {{
            s = (s + 1.0).sqrt();
        }}
        s / (1.0 + {n} * {n})
    }}

    /// A local named `{n}`, in a loop and a tuple.
    #[derive_gradient]
    pub fn as_local(x: f64, y: f64) -> f64 {{
        let {n} = x * y;
        let mut acc = {n};
        for _ in 0..3 {{
            let w = acc * 0.5;
            acc = w + {n}.tanh();
        }}
        let t = ({n}, x);
        t.0 * acc + y.exp()
    }}

    /// A function named `{n}`, called by another.
    #[derive_gradient]
    pub fn {n}(x: f64) -> f64 {{
        x * x.cos()
    }}

    #[derive_gradient]
    pub fn caller(x: f64, y: f64) -> f64 {{
        {n}(x) * y + {n}(y)
    }}

    /// A vector result (the Jacobian wrapper's locals) and a Hessian (the Hessian
    /// wrapper's) with a parameter named `{n}`.
    #[derive_gradient]
    pub fn as_param_vec(x: f64, {n}: f64) -> [f64; 2] {{
        [x * {n}, x.sin() + {n}]
    }}

    #[derive_gradient(hessian)]
    pub fn as_param_h(x: f64, {n}: f64) -> f64 {{
        x * x * {n}
    }}

    #[test]
    fn wrappers_are_right() {{
        for (x, y) in [(0.7, -0.3), (-1.2, 0.4)] {{
            let (_, j) = as_param_vec_jacobian(x, y);
            let want = [[y, x], [x.cos(), 1.0]];
            for r in 0..2 {{
                for c in 0..2 {{
                    assert!((j[(r, c)] - want[r][c]).abs() < 1e-12, "J[({{r}}, {{c}})]");
                }}
            }}
            let (_, _, h) = as_param_h_hessian(x, y);
            let want = [[2.0 * y, 2.0 * x], [2.0 * x, 0.0]];
            for r in 0..2 {{
                for c in 0..2 {{
                    assert!((h[(r, c)] - want[r][c]).abs() < 1e-12, "H[({{r}}, {{c}})]");
                }}
            }}
        }}
    }}

    #[test]
    fn every_companion_is_right() {{
        let v = [0.5, -1.0, 2.0];
        for (x, y) in [(0.7, -0.3), (-1.2, 0.4), (2.0, 1.5)] {{
            crate::check2(|a, b| as_param(a, b, &v), |a, b| as_param_grad(a, b, &v).1,
                |a, b, ta, tb| as_param_pushforward(a, b, &v, ta, tb, &[0.0; 3]).1, x, y);
            crate::check2(as_local, |a, b| as_local_grad(a, b).1,
                |a, b, ta, tb| as_local_pushforward(a, b, ta, tb).1, x, y);
            crate::check2(caller, |a, b| caller_grad(a, b).1,
                |a, b, ta, tb| caller_pushforward(a, b, ta, tb).1, x, y);
        }}
    }}
}}
"#
        );
    }
    let dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(format!("{dir}/hygiene_cases.rs"), out).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../grad-compiler/src/names.rs");
}
