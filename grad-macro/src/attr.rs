//! The options of `#[derive_gradient(...)]`.
//!
//! ```text
//! #[derive_gradient]
//! #[derive_gradient(wrt(w, b))]
//! #[derive_gradient(layout = "denominator")]
//! #[derive_gradient(strict)]
//! #[derive_gradient(crate = "my_reexport::grad")]
//! ```

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token};

/// The layout of a returned Jacobian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `J[(i, k)] = d out_i / d in_k` (the default).
    Numerator,
    /// The transpose: `J[(k, i)] = d out_i / d in_k`.
    Denominator,
}

/// Parsed attribute options.
#[derive(Clone)]
pub struct Options {
    /// `wrt(a, b)`: the parameters to differentiate, or `None` for every float parameter.
    pub wrt: Option<Vec<Ident>>,
    /// The Jacobian layout.
    pub layout: Layout,
    /// The path the generated code uses to reach the `grad` crate.
    pub krate: syn::Path,
    /// `strict`: companions return exactly the user's function's value (no reassociated
    /// sums), at some cost in speed.
    pub strict: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wrt: None,
            layout: Layout::Numerator,
            krate: syn::parse_quote!(::grad),
            strict: false,
        }
    }
}

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Options::default();
        while !input.is_empty() {
            let key: Ident = if input.peek(Token![crate]) {
                let kw: Token![crate] = input.parse()?;
                Ident::new("crate", kw.span)
            } else {
                input.parse()?
            };
            match key.to_string().as_str() {
                "wrt" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                    if names.is_empty() {
                        return Err(syn::Error::new(
                            key.span(),
                            "`wrt(..)` needs at least one parameter name",
                        ));
                    }
                    options.wrt = Some(names.into_iter().collect());
                }
                "layout" => {
                    input.parse::<Token![=]>()?;
                    let value: LitStr = input.parse()?;
                    options.layout = match value.value().as_str() {
                        "numerator" => Layout::Numerator,
                        "denominator" => Layout::Denominator,
                        _ => {
                            return Err(syn::Error::new(
                                value.span(),
                                "unknown layout: write `layout = \"numerator\"` or `layout = \"denominator\"`",
                            ))
                        }
                    };
                }
                "strict" => options.strict = true,
                "crate" => {
                    input.parse::<Token![=]>()?;
                    let value: LitStr = input.parse()?;
                    options.krate = value.parse()?;
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown option `{other}`: the options are `wrt(..)`, `layout = \"..\"`, `strict` and `crate = \"..\"`"
                        ),
                    ))
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(options)
    }
}
