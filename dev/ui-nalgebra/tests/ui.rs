//! Compile-fail (UI) tests of nalgebra parameters: every nalgebra operation
//! `#[derive_gradient]` rejects (matrix arithmetic, `dot`, `norm`, `transpose`, float methods
//! on whole matrices), with the exact error the user sees. Cases live in the repository's
//! `tests/ui-nalgebra/<mistake>.rs` next to their expected `.stderr`; regenerate with
//! `TRYBUILD=overwrite cargo test -p grad-ui-nalgebra --test ui` and review the diff. They
//! run from this package, with grad's `nalgebra` feature and nalgebra itself, apart from the
//! plain cases of `dev/ui` (whose expected output lists rustc's trait impls, which nalgebra
//! would add to).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("../../tests/ui-nalgebra/*.rs");
}
