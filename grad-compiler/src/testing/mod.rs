//! Test support: the IR printer, the IR evaluator and the random-program generator. Built
//! for this crate's tests and, with the `testing` feature, for benches and the fuzzer.

pub mod compile;
pub mod eval;
pub mod gen;
#[cfg(test)]
mod nopanic;
pub mod pretty;
#[cfg(test)]
mod proptests;
