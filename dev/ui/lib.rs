//! Compile-fail (UI) tests of `grad`: see `tests/ui.rs`. The package has no code of its own.
