//! The one model of shapes: what a value's type is, and what follows from it (whether it
//! carries a derivative, the type of its adjoint, tangent and gradient entry, how the
//! companions receive it).
//!
//! Two views of the same facts: [`Ty`] types the IR's values (after inference), and the
//! functions on `syn::Type` map a parameter's written type to the types the companion
//! signatures print (`&[f64]` -> gradient `Vec<f64>`, adjoint buffer `&mut [f64]`, tangent
//! `&[f64]`). Signatures of real companions and of error stubs both come from here.

use crate::ir::Member;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

/// The function's float type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FloatTy {
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// A type parameter `T: grad::Float`.
    Generic(String),
}

impl FloatTy {
    /// The type's name as written.
    pub fn name(&self) -> &str {
        match self {
            FloatTy::F32 => "f32",
            FloatTy::F64 => "f64",
            FloatTy::Generic(t) => t,
        }
    }
}

/// The length of an array type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Len {
    /// An integer literal: `[f64; 3]`.
    Lit(usize),
    /// A const generic parameter or a named constant: `[f64; N]`, `[f64; D]`.
    Named(Vec<String>),
}

impl ToTokens for Len {
    fn to_tokens(&self, out: &mut TokenStream) {
        match self {
            Len::Lit(n) => proc_macro2::Literal::usize_unsuffixed(*n).to_tokens(out),
            Len::Named(path) => {
                let segs = path
                    .iter()
                    .map(|s| syn::Ident::new(s, proc_macro2::Span::call_site()));
                quote!(#(#segs)::*).to_tokens(out)
            }
        }
    }
}

/// How a sequence is held.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SeqKind {
    /// `[T; N]`, by value.
    Array(Len),
    /// A borrowed, read-only view: `&[T]`, `&Vec<T>`, `&x[a..b]`.
    Slice,
    /// An owned `Vec<T>`.
    Vec,
    /// Indexable, but which kind only rustc knows (the result of an unannotated call).
    Unknown,
}

/// The type of a value of the IR.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// The function's float type.
    Float,
    /// Any integer type (rustc infers which from the code emitted).
    Int,
    /// `bool`.
    Bool,
    /// `()`.
    Unit,
    /// A sequence of elements.
    Seq(SeqKind, Box<Ty>),
    /// A tuple.
    Tuple(Vec<Ty>),
    /// A `#[derive(grad::Differentiable)]` struct, by path (`Self` inside methods). Its
    /// fields' types are known to rustc, not to the macro: values read from them get their
    /// types from inference.
    Struct(Vec<String>),
    /// A `&mut` buffer of a companion (an adjoint or tangent output).
    MutRef(Box<Ty>),
    /// A stack of saved values (reverse mode).
    Stack(Box<Ty>),
    /// Known only to rustc; handled through the runtime's shape traits.
    Opaque,
    /// Not known yet: an inference variable.
    Infer(u32),
}

impl Ty {
    /// A slice of floats.
    pub fn float_slice() -> Ty {
        Ty::Seq(SeqKind::Slice, Box::new(Ty::Float))
    }

    /// Whether values of this type can carry a derivative.
    pub fn carries_derivative(&self) -> bool {
        match self {
            Ty::Float | Ty::Struct(_) | Ty::Opaque => true,
            Ty::Seq(_, e) | Ty::MutRef(e) | Ty::Stack(e) => e.carries_derivative(),
            Ty::Tuple(ts) => ts.iter().any(Ty::carries_derivative),
            Ty::Int | Ty::Bool | Ty::Unit | Ty::Infer(_) => false,
        }
    }

    /// Whether this is a scalar (float, integer or bool).
    pub fn is_scalar(&self) -> bool {
        matches!(self, Ty::Float | Ty::Int | Ty::Bool)
    }

    /// The element type of a sequence (through a `&mut`).
    pub fn elem(&self) -> Option<&Ty> {
        match self {
            Ty::Seq(_, e) => Some(e),
            Ty::MutRef(t) => t.elem(),
            _ => None,
        }
    }

    /// The type of a field.
    pub fn field(&self, m: &Member) -> Ty {
        match (self, m) {
            (Ty::Tuple(ts), Member::Unnamed(i)) => {
                ts.get(*i as usize).cloned().unwrap_or(Ty::Opaque)
            }
            (Ty::MutRef(t), _) => t.field(m),
            _ => Ty::Opaque,
        }
    }

    /// The type behind a `&mut`.
    pub fn deref(&self) -> Ty {
        match self {
            Ty::MutRef(t) => (**t).clone(),
            t => t.clone(),
        }
    }

    /// The type of this value's adjoint or tangent when held in a local: the same shape,
    /// owned (a borrowed slice's adjoint is a `Vec`).
    pub fn derivative(&self) -> Ty {
        match self {
            Ty::Seq(SeqKind::Slice, e) => Ty::Seq(SeqKind::Vec, Box::new(e.derivative())),
            Ty::Seq(k, e) => Ty::Seq(k.clone(), Box::new(e.derivative())),
            Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(Ty::derivative).collect()),
            t => t.clone(),
        }
    }

    /// Whether a copy of this value needs `.clone()` (it owns heap data or its type is not
    /// known to be `Copy`).
    pub fn needs_clone(&self) -> bool {
        match self {
            Ty::Float | Ty::Int | Ty::Bool | Ty::Unit => false,
            Ty::Seq(SeqKind::Array(_), e) => e.needs_clone(),
            Ty::Seq(SeqKind::Slice, _) => false,
            Ty::Tuple(ts) => ts.iter().any(Ty::needs_clone),
            _ => true,
        }
    }

    /// Whether the whole value is known to be a flat sequence of floats (kernels apply).
    pub fn is_float_seq(&self) -> bool {
        matches!(self, Ty::Seq(_, e) if **e == Ty::Float)
    }
}

/// The written type with one outer `&` removed, and whether there was one.
pub fn strip_ref(ty: &syn::Type) -> (&syn::Type, bool) {
    match ty {
        syn::Type::Reference(r) => (&r.elem, true),
        syn::Type::Paren(p) => strip_ref(&p.elem),
        syn::Type::Group(g) => strip_ref(&g.elem),
        t => (t, false),
    }
}

/// `Vec<E>` -> `E`.
fn vec_elem(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Vec" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(t)) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

/// The type of a parameter's gradient entry: the parameter's own shape, owned
/// (`&[f64]` -> `Vec<f64>`, `&[[f64; 2]]` -> `Vec<[f64; 2]>`, `&Model` -> `Model`).
pub fn gradient_type(written: &syn::Type) -> TokenStream {
    let (inner, _) = strip_ref(written);
    match inner {
        syn::Type::Slice(s) => {
            let e = &s.elem;
            quote!(::std::vec::Vec<#e>)
        }
        t => quote!(#t),
    }
}

/// The type of a parameter's adjoint buffer in `_grad_into` / `_pullback`: `&mut` of the
/// parameter's shape, with `Vec`s as slices (`&Vec<f64>` -> `&mut [f64]`).
pub fn buffer_type(written: &syn::Type) -> TokenStream {
    let (inner, _) = strip_ref(written);
    match inner {
        syn::Type::Slice(s) => {
            let e = &s.elem;
            quote!(&mut [#e])
        }
        t => match vec_elem(t) {
            Some(e) => quote!(&mut [#e]),
            None => quote!(&mut #t),
        },
    }
}

/// The type of a parameter's tangent in `_pushforward`: the parameter's type, with
/// `&Vec<T>` as `&[T]`.
pub fn tangent_type(written: &syn::Type) -> TokenStream {
    let (inner, by_ref) = strip_ref(written);
    match (vec_elem(inner), by_ref) {
        (Some(e), true) => quote!(&[#e]),
        _ => quote!(#written),
    }
}

/// The type of a pullback's seed for a result of type `written`: the result's own type,
/// except a `Vec<T>` result, whose seed is `&[T]`.
pub fn seed_type(written: &syn::Type) -> TokenStream {
    match vec_elem(written) {
        Some(e) => quote!(&[#e]),
        None => quote!(#written),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> syn::Type {
        syn::parse_str(s).unwrap()
    }
    fn text(t: TokenStream) -> String {
        t.to_string().replace(' ', "")
    }

    #[test]
    fn gradient_entries_keep_the_parameters_shape() {
        assert_eq!(text(gradient_type(&ty("f64"))), "f64");
        assert_eq!(text(gradient_type(&ty("[f64; 3]"))), "[f64;3]");
        assert_eq!(text(gradient_type(&ty("&[f64]"))), "::std::vec::Vec<f64>");
        assert_eq!(text(gradient_type(&ty("&Vec<f64>"))), "Vec<f64>");
        assert_eq!(
            text(gradient_type(&ty("&[[f64; 2]]"))),
            "::std::vec::Vec<[f64;2]>"
        );
        assert_eq!(text(gradient_type(&ty("&Model"))), "Model");
    }

    #[test]
    fn buffers_are_mutable_views_of_the_same_shape() {
        assert_eq!(text(buffer_type(&ty("f64"))), "&mutf64");
        assert_eq!(text(buffer_type(&ty("&Vec<f64>"))), "&mut[f64]");
        assert_eq!(text(buffer_type(&ty("&[Vec<f64>]"))), "&mut[Vec<f64>]");
        assert_eq!(text(buffer_type(&ty("[[f64; 2]; 3]"))), "&mut[[f64;2];3]");
    }

    #[test]
    fn tangents_and_seeds() {
        assert_eq!(text(tangent_type(&ty("&Vec<f32>"))), "&[f32]");
        assert_eq!(text(tangent_type(&ty("&[f32]"))), "&[f32]");
        assert_eq!(text(seed_type(&ty("Vec<f64>"))), "&[f64]");
        assert_eq!(text(seed_type(&ty("(f64, f64)"))), "(f64,f64)");
    }

    #[test]
    fn derivative_types_own_their_data() {
        let t = Ty::Seq(
            SeqKind::Slice,
            Box::new(Ty::Seq(SeqKind::Array(Len::Lit(2)), Box::new(Ty::Float))),
        );
        assert_eq!(
            t.derivative(),
            Ty::Seq(
                SeqKind::Vec,
                Box::new(Ty::Seq(SeqKind::Array(Len::Lit(2)), Box::new(Ty::Float)))
            )
        );
        assert!(!Ty::Seq(SeqKind::Slice, Box::new(Ty::Int)).carries_derivative());
    }
}
