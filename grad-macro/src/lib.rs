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

/// `#[custom_gradient(x = EXPR, ..)]` on a scalar function of scalars: its derivative given
/// by hand (each `EXPR` is the partial derivative with respect to that parameter, in terms
/// of the parameters and `value`, the function's result). It emits the same first-order
/// companions as `#[derive_gradient]`, so annotated functions can call it.
#[proc_macro_attribute]
pub fn custom_gradient(attr: TokenStream, item: TokenStream) -> TokenStream {
    grad_compiler::custom_gradient(attr.into(), item.into()).into()
}

/// `check_rule!(f, a, b)`: checks `f_grad(a, b)` (a custom rule's, or any annotated
/// function's of scalars) against central finite differences of `f` at `(a, b)`; panics with
/// the worst component if they disagree.
#[proc_macro]
pub fn check_rule(input: TokenStream) -> TokenStream {
    grad_compiler::check_rule(input.into()).into()
}
