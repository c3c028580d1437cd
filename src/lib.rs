//! # grad: compile-time automatic differentiation for Rust
//!
//! Put `#[derive_gradient]` on an ordinary numeric function and the macro generates, at
//! compile time, companion functions computing its exact gradient or Jacobian: no tape, no
//! dual numbers, no runtime graph.
//!
//! ```
//! use grad::derive_gradient;
//!
//! #[derive_gradient]
//! fn f(x: f64, y: f64) -> f64 {
//!     3.0 * x * x * y
//! }
//!
//! let (value, (dx, dy)) = f_grad(2.0, 5.0);
//! assert_eq!(value, 60.0);
//! assert_eq!((dx, dy), (60.0, 12.0)); // (6xy, 3x^2)
//! ```
//!
//! See the README for the supported language subset and the conventions at kinks.

pub use grad_macro::{check_rule, custom_gradient, derive_gradient, Differentiable};

/// `x` with a zero derivative: inside a differentiated function, the value is used as a
/// constant (like `jax.lax.stop_gradient`); elsewhere it is `x`.
#[inline(always)]
pub fn no_grad<T>(x: T) -> T {
    x
}

pub use grad_runtime::{Differentiable, Float, Jacobian};

/// The runtime the generated code calls: the [`Jacobian`] type, the float trait, vector
/// kernels and the finite-difference checker.
pub use grad_runtime as runtime;
