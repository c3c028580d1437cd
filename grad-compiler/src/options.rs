//! The options of `#[derive_gradient(..)]`.
//!
//! ```text
//! #[derive_gradient]
//! #[derive_gradient(wrt(w, b))]
//! #[derive_gradient(layout = "denominator")]
//! #[derive_gradient(strict)]
//! #[derive_gradient(hessian)]
//! #[derive_gradient(forward)]
//! #[derive_gradient(parallel)]
//! #[derive_gradient(crate = "my_reexport::grad")]
//! ```

use crate::diag::Diagnostics;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
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
    /// `hessian`: also the second-order companions.
    pub hessian: bool,
    /// `forward`: `f_pushforward` of a float result by forward mode (a derivative program of
    /// its own) instead of the gradient along the tangent (a call of the reverse sweep).
    pub forward: bool,
    /// `parallel`: sum-reduction loops over samples run in chunks on several threads.
    pub parallel: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wrt: None,
            layout: Layout::Numerator,
            krate: syn::parse_quote!(::grad),
            strict: false,
            hessian: false,
            forward: false,
            parallel: false,
        }
    }
}

const KNOWN: &str = "the options are `wrt(..)`, `layout = \"..\"`, `strict`, `hessian`, `forward`, `parallel` and `crate = \"..\"`";

const STRICT_PARALLEL: &str = "`parallel` adds the samples' sums in chunks, so the value is not exactly the function's as `strict` asks: choose one";

/// Parses the options; every malformed one is an error in `diag` (the rest still apply).
pub fn parse(attr: proc_macro2::TokenStream, diag: &mut Diagnostics) -> Options {
    let mut options = Options::default();
    let parser = |input: ParseStream| -> syn::Result<()> {
        while !input.is_empty() {
            if let Err(e) = option(input, &mut options) {
                diag.push(e);
                // Skip to the next option.
                while !input.is_empty() && !input.peek(Token![,]) {
                    input.parse::<proc_macro2::TokenTree>()?;
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(attr) {
        diag.push(e);
    }
    options
}

fn option(input: ParseStream, options: &mut Options) -> syn::Result<()> {
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
            // `Ident::parse_any`: `wrt(self, x)` names a method's receiver.
            let names = content.parse_terminated(Ident::parse_any, Token![,])?;
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
                _ => return Err(syn::Error::new(
                    value.span(),
                    "unknown layout: write `layout = \"numerator\"` or `layout = \"denominator\"`",
                )),
            };
        }
        "strict" if options.parallel => return Err(syn::Error::new(key.span(), STRICT_PARALLEL)),
        "strict" => options.strict = true,
        "hessian" => options.hessian = true,
        "forward" => options.forward = true,
        "parallel" if options.strict => return Err(syn::Error::new(key.span(), STRICT_PARALLEL)),
        "parallel" => options.parallel = true,
        "crate" => {
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            options.krate = value.parse()?;
        }
        other => {
            return Err(syn::Error::new(
                key.span(),
                format!("unknown option `{other}`: {KNOWN}"),
            ))
        }
    }
    Ok(())
}
