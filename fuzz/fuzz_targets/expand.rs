//! Fuzz target: any text that parses as Rust tokens, given to `#[derive_gradient]` (as the
//! item, and as the attribute's arguments), expands to tokens (the companions or a
//! `compile_error!`) without panicking.
//!
//! It calls the compiler library (`grad-compiler`) the proc macro is a thin shell around, so
//! this exercises exactly the code the macro runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // First line: attribute arguments; the rest: the item.
    let (attr, item) = text.split_once('\n').unwrap_or(("", text));
    let (Ok(attr), Ok(item)) = (attr.parse::<TokenStream>(), item.parse::<TokenStream>()) else {
        return;
    };
    let _ = grad_compiler::derive_gradient(attr, item);
});
