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
//!
//! # Features
//!
//! - `testing` (off by default): the tools for tests, which generated code never calls: the
//!   finite-difference checker (`grad::runtime::check_gradient`, `check_jacobian`,
//!   `check_directional`, their `assert_*_close` forms, `Tolerance`), [`check_rule!`] (which
//!   expands to a call of the checker) and the seeded generator `grad::runtime::XorShift64`.
//!   Turn it on for your tests only, so that your program's build does not compile them:
//!
//!   ```toml
//!   [dependencies]
//!   grad = "0.1"
//!
//!   [dev-dependencies]
//!   grad = { version = "0.1", features = ["testing"] }
//!   ```
//!
//!   `cargo test`, `cargo run --example` and `cargo bench` then see the checker; `cargo build`
//!   leaves it out. Used without the feature, `check_rule!` is a compile error that says so,
//!   and a checker function such as `grad::runtime::check_gradient` is not found (rustc notes
//!   that it "is gated behind the `testing` feature").
//! - `nalgebra` (off by default): nalgebra's matrices and vectors (`SVector<f64, N>`,
//!   `SMatrix<f64, R, C>`, `&DVector<f64>`, `DMatrix`, `f32` too) as parameters and results,
//!   read in the body as `v[i]`, `m[(i, j)]`, `.len()`, `.nrows()`, `.ncols()` and `.iter()`;
//!   gradient entries have the parameter's own type, and Jacobians and Hessians number a
//!   matrix's entries column-major (nalgebra's order). Whole-matrix operations (`a * x`,
//!   `x.dot(&y)`, `x.norm()`) are compile errors that show the loop to write instead. See
//!   "nalgebra" in the README. Without the feature such a parameter is rustc's error that
//!   the type "is not `Differentiable`", with a note naming the feature.
//! - `parallel` (off by default, brings rayon): companions of
//!   `#[derive_gradient(parallel)]` functions run their loops over samples in fixed chunks
//!   on rayon's threads, with the same result on any number of threads
//!   ([`runtime::parallel`]). Without the feature such a companion is a compile error naming
//!   the feature. See "Past one core" in the README.

pub use grad_macro::{custom_gradient, derive_gradient, Differentiable};

#[cfg(feature = "testing")]
pub use grad_macro::check_rule;

/// `check_rule!(f, a, b)` checks `f_grad(a, b)` against finite differences of `f`; it needs
/// the `testing` feature, which is off in this build, so here it is a compile error saying how
/// to turn the feature on: `grad = { version = "0.1", features = ["testing"] }` under
/// `[dev-dependencies]`.
#[cfg(not(feature = "testing"))]
#[macro_export]
macro_rules! check_rule {
    ($($args:tt)*) => {
        ::core::compile_error!(
            "`grad::check_rule!` calls the finite-difference checker, which needs grad's \
             `testing` feature: add `grad = { version = \"0.1\", features = [\"testing\"] }` \
             under `[dev-dependencies]` in Cargo.toml"
        )
    };
}

/// `x` with a zero derivative: inside a differentiated function, the value is used as a
/// constant (like `jax.lax.stop_gradient`); elsewhere it is `x`.
#[inline(always)]
pub fn no_grad<T>(x: T) -> T {
    x
}

pub use grad_runtime::{Differentiable, Float, Jacobian};

/// The runtime the generated code calls: the [`Jacobian`] type, the float trait and vector
/// kernels; with the `testing` feature also the finite-difference checker and `XorShift64`.
pub use grad_runtime as runtime;
