//! `#[derive(grad::Differentiable)]`: a struct of floats, arrays, `Vec`s and other such
//! structs becomes a value the companions can differentiate, with a gradient of the same
//! struct (as JAX treats pytrees). Integer and `bool` fields are passed through: copied into
//! a gradient, never differentiated or flattened.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

/// Expands the derive; errors become `compile_error!`s.
pub fn derive_differentiable(item: TokenStream) -> TokenStream {
    match expand(item) {
        Ok(t) => t,
        Err(e) => e.to_compile_error(),
    }
}

/// A field and whether it carries derivatives.
struct Field {
    access: TokenStream,
    ty: syn::Type,
    passive: bool,
}

fn expand(item: TokenStream) -> syn::Result<TokenStream> {
    let input: syn::DeriveInput = syn::parse2(item)?;
    let syn::Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`Differentiable` derives for structs of floats, arrays, `Vec`s and other `Differentiable` structs; enums and unions are not supported",
        ));
    };
    let fields: Vec<Field> = data
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            access: match &f.ident {
                Some(id) => id.to_token_stream(),
                None => syn::Index::from(i).to_token_stream(),
            },
            ty: f.ty.clone(),
            passive: is_passive(&f.ty),
        })
        .collect();
    let active: Vec<&Field> = fields.iter().filter(|f| !f.passive).collect();
    let Some(first) = active.first() else {
        return Err(syn::Error::new(
            input.ident.span(),
            "a `Differentiable` struct needs at least one float field (or an array, `Vec` or struct of floats)",
        ));
    };
    let scalar = active
        .iter()
        .find_map(|f| float_in(&f.ty, &input.generics))
        .unwrap_or_else(|| {
            let t = &first.ty;
            quote!(<#t as ::grad::runtime::Differentiable>::Scalar)
        });
    let name = &input.ident;
    let (impl_g, ty_g, where_clause) = input.generics.split_for_impl();
    let zero = fields.iter().map(|f| {
        let a = &f.access;
        if f.passive {
            quote!(#a: ::core::clone::Clone::clone(&self.#a))
        } else {
            quote!(#a: ::grad::runtime::Differentiable::zero_like(&self.#a))
        }
    });
    let zero = if matches!(data.fields, syn::Fields::Named(_)) {
        quote!(#name { #(#zero),* })
    } else {
        let parts = fields.iter().map(|f| {
            let a = &f.access;
            if f.passive {
                quote!(::core::clone::Clone::clone(&self.#a))
            } else {
                quote!(::grad::runtime::Differentiable::zero_like(&self.#a))
            }
        });
        quote!(#name ( #(#parts),* ))
    };
    let acc: Vec<&TokenStream> = active.iter().map(|f| &f.access).collect();
    let ph = quote!(::grad::runtime::Placeholder);
    let placeholder = if matches!(data.fields, syn::Fields::Named(_)) {
        let parts = fields.iter().map(|f| {
            let a = &f.access;
            quote!(#a: #ph::placeholder())
        });
        quote!(#name { #(#parts),* })
    } else {
        let parts = fields.iter().map(|_| quote!(#ph::placeholder()));
        quote!(#name ( #(#parts),* ))
    };

    let d = quote!(::grad::runtime::Differentiable);
    Ok(quote! {
        impl #impl_g #d for #name #ty_g #where_clause {
            type Scalar = #scalar;
            type Owned = Self;
            fn zero_like(&self) -> Self {
                #zero
            }
            fn add_scaled(&mut self, alpha: #scalar, x: &Self) {
                #(#d::add_scaled(&mut self.#acc, alpha, &x.#acc);)*
            }
            fn scale(&mut self, alpha: #scalar) {
                #(#d::scale(&mut self.#acc, alpha);)*
            }
            fn set_zero(&mut self) {
                #(#d::set_zero(&mut self.#acc);)*
            }
            fn sum(&self) -> #scalar {
                let mut s = <#scalar as ::grad::Float>::zero();
                #(s += #d::sum(&self.#acc);)*
                s
            }
            fn along(&self, gradient: &Self) -> #scalar {
                let mut s = <#scalar as ::grad::Float>::zero();
                #(s += #d::along(&self.#acc, &gradient.#acc);)*
                s
            }
            fn flat_len(&self) -> usize {
                0 #(+ #d::flat_len(&self.#acc))*
            }
            fn write_flat(&self, out: &mut [#scalar]) {
                let mut at = 0usize;
                #(
                    let n = #d::flat_len(&self.#acc);
                    #d::write_flat(&self.#acc, &mut out[at..at + n]);
                    at += n;
                )*
                let _ = at;
            }
            fn read_flat(&mut self, src: &[#scalar]) {
                let mut at = 0usize;
                #(
                    let n = #d::flat_len(&self.#acc);
                    #d::read_flat(&mut self.#acc, &src[at..at + n]);
                    at += n;
                )*
                let _ = at;
            }
        }

        impl #impl_g #ph for #name #ty_g #where_clause {
            fn placeholder() -> Self {
                #placeholder
            }
        }
        impl #impl_g ::grad::runtime::AsSeed for #name #ty_g #where_clause {
            type Seed<'a> = Self where Self: 'a;
            fn as_seed(&self) -> Self {
                ::core::clone::Clone::clone(self)
            }
        }
    })
}

/// Whether a field's type is an integer or `bool` (or an array or `Vec` of them).
fn is_passive(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            match name.as_str() {
                "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16"
                | "i32" | "i64" | "i128" | "bool" => true,
                "Vec" => match &last.arguments {
                    syn::PathArguments::AngleBracketed(a) => match a.args.first() {
                        Some(syn::GenericArgument::Type(t)) => is_passive(t),
                        _ => false,
                    },
                    _ => false,
                },
                _ => false,
            }
        }
        syn::Type::Array(a) => is_passive(&a.elem),
        syn::Type::Paren(p) => is_passive(&p.elem),
        _ => false,
    }
}

/// The float type written in a field's type (`f64`, `f32`, or a type parameter of the
/// struct), inside arrays and `Vec`s.
fn float_in(ty: &syn::Type, generics: &syn::Generics) -> Option<TokenStream> {
    match ty {
        syn::Type::Path(p) => {
            if let Some(id) = p.path.get_ident() {
                let is_param = generics.type_params().any(|t| t.ident == *id);
                if id == "f64" || id == "f32" || is_param {
                    return Some(id.to_token_stream());
                }
            }
            let last = p.path.segments.last()?;
            if last.ident != "Vec" {
                return None;
            }
            match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => match a.args.first() {
                    Some(syn::GenericArgument::Type(t)) => float_in(t, generics),
                    _ => None,
                },
                _ => None,
            }
        }
        syn::Type::Array(a) => float_in(&a.elem, generics),
        syn::Type::Paren(p) => float_in(&p.elem, generics),
        _ => None,
    }
}
