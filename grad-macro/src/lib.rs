use proc_macro::TokenStream; #[proc_macro_attribute] pub fn derive_gradient(_a: TokenStream, i: TokenStream) -> TokenStream { i }
