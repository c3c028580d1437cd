//! Compile-fail (UI) tests: every construct `#[derive_gradient]` rejects, with the exact
//! error the user sees. Cases live in the repository's `tests/ui/<topic>/<mistake>.rs` next
//! to their expected `.stderr`; regenerate with `TRYBUILD=overwrite cargo test -p grad-dev
//! --test ui` and review the diff. (They run from this package, which holds trybuild, so that
//! the main package's examples and tests build without it.)

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("../tests/ui/*/*.rs");
}
