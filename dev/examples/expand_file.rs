//! Prints the expansion of every `#[derive_gradient]` function of a Rust file, as the macro
//! would emit it (unformatted; pipe through `rustfmt`). Used by `scripts/build_cost.py`.
//!
//! `cargo run -p grad-dev --example expand_file -- path/to/lib.rs`

use quote::ToTokens;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: expand_file <file.rs>");
    let text = std::fs::read_to_string(&path).expect("a readable file");
    let file = syn::parse_file(&text).expect("a Rust file");
    for item in file.items {
        let syn::Item::Fn(mut f) = item else {
            println!("{}", item.to_token_stream());
            continue;
        };
        let attr = f
            .attrs
            .iter()
            .position(|a| a.path().is_ident("derive_gradient"));
        let Some(at) = attr else {
            println!("{}", f.to_token_stream());
            continue;
        };
        let args = match &f.attrs.remove(at).meta {
            syn::Meta::List(l) => l.tokens.clone(),
            _ => Default::default(),
        };
        println!(
            "{}",
            grad_compiler::derive_gradient(args, f.to_token_stream())
        );
    }
}
