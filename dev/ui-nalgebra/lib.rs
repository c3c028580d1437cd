//! Compile-fail (UI) tests of `grad`'s nalgebra support: see `tests/ui.rs`. The package has
//! no code of its own.
