//! Development-only workspace member: it owns the benchmarks in `benches/` and the UI tests
//! of `tests/ui/`, and with them the heavy dev-dependencies (criterion, num-dual, nalgebra,
//! trybuild), so that the main package's examples and tests build without them.
