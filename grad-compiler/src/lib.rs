//! The compiler behind `#[derive_gradient]`: a source-to-source differentiator.
//!
//! The proc-macro crate `grad-macro` only parses its input and calls [`expand`]; everything
//! else lives here, as a plain library that tests, benchmarks and the fuzzer drive directly.
//! The phases, in order (ARCHITECTURE.md at the repository's root has the whole picture):
//! [`options`] -> [`lower`] (syntax to IR) -> [`infer`] (types) -> [`analysis`] (activity,
//! loops) -> [`forward`] / [`reverse`] (the transforms, over [`rules`]) -> [`companions`]
//! (whole companion functions as IR) -> [`codegen`] (IR to Rust).

pub mod cleanup;
pub mod derive;

pub mod codegen;
pub mod companions;
pub mod custom;
pub mod diag;
pub mod expand;
pub mod forward;
pub mod hash;
pub mod infer;
pub mod ir;
pub mod lower;
pub mod names;
pub mod options;
pub mod rules;
pub mod shape;
pub mod symbolic;
pub mod terms;
pub mod tidy;
pub mod visit;
pub mod wrappers;

pub use custom::{check_rule, custom_gradient};
pub use derive::derive_differentiable;

pub use expand::derive_gradient;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub mod analysis;
pub mod build;
#[cfg(test)]
mod lower_tests;
pub mod reverse;
