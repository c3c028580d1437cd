//! Test support: the IR printer, the IR evaluator and the random-program generator. Built
//! for this crate's tests and, with the `testing` feature, for benches and the fuzzer.

pub mod pretty;
