//! Unit tests of lowering and the transforms, driven without compiling user code.

use crate::expand::expand;
use quote::quote;

fn expand_str(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
    expand(attr, item).to_string()
}

#[test]
fn expands_simple_function() {
    let out = expand_str(quote!(), quote!(fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }));
    assert!(out.contains("f_grad"), "{out}");
    assert!(!out.contains("compile_error"), "{out}");
}

#[test]
#[ignore]
fn print_relu() {
    let out = expand_str(
        quote!(wrt(w, b)),
        quote!(fn relu_loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
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
        }),
    );
    println!("{out}");
}
