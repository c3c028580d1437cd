//! Errors collected across a whole expansion and reported together.

use proc_macro2::Span;

/// The errors found so far, each with the span it points at.
#[derive(Default)]
pub struct Diagnostics {
    errors: Vec<syn::Error>,
    seen: crate::hash::HashSet<String>,
}

impl Diagnostics {
    /// Records an error at `span` (an identical message at the same place is kept once).
    pub fn error(&mut self, span: Span, msg: impl Into<String>) {
        let msg = msg.into();
        let key = format!("{:?}{msg}", span);
        if self.seen.insert(key) {
            self.errors.push(syn::Error::new(span, msg));
        }
    }

    /// Records an error covering all of `node`.
    pub fn error_spanned(&mut self, node: &impl quote::ToTokens, msg: impl Into<String>) {
        let msg = msg.into();
        let e = syn::Error::new_spanned(node, &msg);
        let key = format!("{:?}{msg}", e.span());
        if self.seen.insert(key) {
            self.errors.push(e);
        }
    }

    /// Adds an error made elsewhere.
    pub fn push(&mut self, e: syn::Error) {
        for one in e {
            let key = format!("{:?}{}", one.span(), one);
            if self.seen.insert(key) {
                self.errors.push(one);
            }
        }
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// All errors as one (`fallback` is used only if there is none).
    pub fn into_error(self, fallback: Span) -> syn::Error {
        let mut errors = self.errors.into_iter();
        let mut first = errors
            .next()
            .unwrap_or_else(|| syn::Error::new(fallback, "cannot differentiate this function"));
        for e in errors {
            first.combine(e);
        }
        first
    }
}
