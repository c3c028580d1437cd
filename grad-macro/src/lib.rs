//! The procedural macros of the `grad` crate. Each is a thin entry point: the compiler
//! itself is the library crate `grad-compiler`.

use proc_macro::TokenStream;

/// Generates derivative companions for a numeric function.
///
/// For `fn f(x: f64, y: f64) -> f64` it adds `f_grad(x, y) -> (f64, (f64, f64))`,
/// `f_grad_into`, `f_pullback` and `f_pushforward`; for a vector result
/// `fn g(..) -> [f64; M]` it adds `g_jacobian(..) -> ([f64; M], grad::Jacobian<f64>)`.
/// Options: `wrt(a, b)`, `layout = "denominator"`, `strict`, `hessian`, `crate = "path"`.
#[proc_macro_attribute]
pub fn derive_gradient(attr: TokenStream, item: TokenStream) -> TokenStream {
    grad_compiler::derive_gradient(attr.into(), item.into()).into()
}

/// `#[derive(grad::Differentiable)]`: a struct of floats, arrays, `Vec`s and other
/// `Differentiable` structs can be a differentiated parameter or result; its gradient is a
/// value of the same struct. Integer and `bool` fields are passed through. The struct must
/// also be `Clone`.
#[proc_macro_derive(Differentiable)]
pub fn derive_differentiable(item: TokenStream) -> TokenStream {
    grad_compiler::derive_differentiable(item.into()).into()
}
