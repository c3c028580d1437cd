//! Compile-fail (UI) tests: every construct `#[derive_gradient]` rejects, with the exact
//! error the user sees. Cases live in `tests/ui/<topic>/<mistake>.rs` next to their expected
//! `.stderr`; regenerate with `TRYBUILD=overwrite cargo test --test compiletest` and review
//! the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
