//! Compile-fail (UI) tests: every construct `#[derive_gradient]` rejects, with the exact
//! error the user sees. Cases live in the repository's `tests/ui/<topic>/<mistake>.rs` next
//! to their expected `.stderr`; regenerate with `TRYBUILD=overwrite cargo test -p grad-ui
//! --test ui` and review the diff. They run from this package, whose only dependencies are
//! `grad` and trybuild: rustc's own messages (which list the trait impls in scope) stay the
//! same whatever the benchmarks depend on, and the main package builds without trybuild.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("../../tests/ui/*/*.rs");
}
