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
