//! The `#[derive_gradient]` attribute of the `grad` crate: compile-time automatic
//! differentiation by source transformation.
//!
//! The pipeline, one module per phase: [`attr`] (options) -> [`lower`] (syn to IR, with
//! spanned errors) -> [`analysis`] (activity) -> [`rules`] (the derivative table) ->
//! [`forward`] / [`reverse`] (the transforms) -> [`codegen`] (IR to tokens), driven by
//! [`expand`].

mod analysis;
mod attr;
mod codegen;
mod expand;
mod forward;
mod ir;
mod lower;
mod optimize;
#[cfg(test)]
mod pretty;
mod reverse;
mod rules;

#[cfg(test)]
mod eval;
#[cfg(test)]
mod nopanic;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Generates derivative companions for a numeric function.
///
/// For `fn f(x: f64, y: f64) -> f64` it adds `f_grad(x, y) -> (f64, (f64, f64))`,
/// `f_grad_into`, `f_pullback` and `f_pushforward`; for a vector result
/// `fn g(..) -> [f64; M]` it adds `g_jacobian(..) -> ([f64; M], grad::Jacobian<f64>)`.
/// Options: `wrt(a, b)`, `layout = "denominator"`, `crate = "path"`.
#[proc_macro_attribute]
pub fn derive_gradient(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}
