//! Fuzz target: any text that parses as Rust tokens, given to `#[derive_gradient]` (as the
//! item, and as the attribute's arguments), expands to tokens (the companions or a
//! `compile_error!`) without panicking.
//!
//! The macro's modules are compiled into this binary directly (a proc-macro crate cannot be
//! linked as a library), so this exercises exactly the code the macro runs.
#![no_main]

#[path = "../../grad-macro/src/analysis.rs"]
mod analysis;
#[path = "../../grad-macro/src/attr.rs"]
mod attr;
#[path = "../../grad-macro/src/codegen.rs"]
mod codegen;
#[path = "../../grad-macro/src/expand.rs"]
mod expand;
#[path = "../../grad-macro/src/forward.rs"]
mod forward;
#[path = "../../grad-macro/src/ir.rs"]
mod ir;
#[path = "../../grad-macro/src/lower.rs"]
mod lower;
#[path = "../../grad-macro/src/optimize.rs"]
mod optimize;
#[path = "../../grad-macro/src/reverse.rs"]
mod reverse;
#[path = "../../grad-macro/src/rules.rs"]
mod rules;

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
    let _ = expand::expand(attr, item);
});
