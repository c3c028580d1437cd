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
    /// A nalgebra matrix or vector of the function's float type ([`nalgebra_shape`]):
    /// `SVector<f64, 3>`, `SMatrix<f64, 2, 3>`, `DVector<f64>`, ... Its elements are floats,
    /// read and written as `m[k]` (nalgebra's column-major linear index) or `m[(i, j)]`; the
    /// whole value goes through the runtime's shape traits (grad's `nalgebra` feature), as a
    /// struct's does. Its dimensions are rustc's business.
    Matrix,
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
    /// How many floats every value of this type holds, when the type says (floats, and
    /// arrays of literal length and tuples of such).
    pub fn static_flat_len(&self) -> Option<usize> {
        match self {
            Ty::Float => Some(1),
            Ty::Seq(SeqKind::Array(Len::Lit(n)), e) => e.static_flat_len().map(|k| k * n),
            Ty::Tuple(ts) => ts.iter().map(Ty::static_flat_len).sum(),
            _ => None,
        }
    }

    /// Whether a value of this type has the same shape whatever its value: floats, and
    /// arrays and tuples of such.
    pub fn fixed_size(&self) -> bool {
        match self {
            Ty::Float => true,
            Ty::Seq(SeqKind::Array(_), e) => e.fixed_size(),
            Ty::Tuple(ts) => ts.iter().all(Ty::fixed_size),
            _ => false,
        }
    }
    /// A slice of floats.
    pub fn float_slice() -> Ty {
        Ty::Seq(SeqKind::Slice, Box::new(Ty::Float))
    }

    /// Whether values of this type can carry a derivative.
    pub fn carries_derivative(&self) -> bool {
        match self {
            Ty::Float | Ty::Struct(_) | Ty::Matrix | Ty::Opaque => true,
            Ty::Seq(_, e) | Ty::MutRef(e) | Ty::Stack(e) => e.carries_derivative(),
            Ty::Tuple(ts) => ts.iter().any(Ty::carries_derivative),
            Ty::Int | Ty::Bool | Ty::Unit | Ty::Infer(_) => false,
        }
    }

    /// Whether this is a scalar (float, integer or bool).
    pub fn is_scalar(&self) -> bool {
        matches!(self, Ty::Float | Ty::Int | Ty::Bool)
    }

    /// The element type of a sequence or a matrix (through a `&mut`).
    pub fn elem(&self) -> Option<&Ty> {
        match self {
            Ty::Seq(_, e) => Some(e),
            Ty::Matrix => Some(&Ty::Float),
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

    /// Whether the whole value is known to be a flat sequence of floats that can be sliced
    /// (`&x[a..b]`: kernels apply). Not a sequence only rustc knows, such as the result of an
    /// unannotated call, which may be a nalgebra vector (indexable, but not by ranges).
    pub fn is_float_seq(&self) -> bool {
        matches!(self, Ty::Seq(k, e) if **e == Ty::Float && *k != SeqKind::Unknown)
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

/// One dimension of a nalgebra matrix type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatDim {
    /// Part of the type: `3` in `SVector<f64, 3>`, `N` in `SMatrix<f64, N, N>`.
    Fixed(Len),
    /// Known at run time (`Dyn`): `DVector`'s rows, `DMatrix`'s rows and columns.
    Dynamic,
}

/// The dimensions of a nalgebra matrix or vector type (a vector is `N x 1`, a row vector
/// `1 x N`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixShape {
    /// The number of rows.
    pub rows: MatDim,
    /// The number of columns.
    pub cols: MatDim,
}

/// A nalgebra matrix or vector type with owned storage, recognised by the name nalgebra
/// gives it (the path may be qualified: `nalgebra::SVector`, `na::DVector`): its element type
/// and dimensions. The names: `SVector<T, N>`, `RowSVector<T, N>`, `SMatrix<T, R, C>`,
/// `DVector<T>`, `RowDVector<T>`, `DMatrix<T>`, and the fixed aliases `VectorN<T>`,
/// `RowVectorN<T>`, `MatrixN<T>` and `MatrixRxC<T>` for `N`, `R`, `C` in `1..=6`. Any other
/// type gives `None`, a user's alias of one of these too (to the macro, that is a struct).
pub fn nalgebra_shape(t: &syn::Type) -> Option<(&syn::Type, MatrixShape)> {
    let syn::Type::Path(p) = t else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut args = args.args.iter();
    let Some(syn::GenericArgument::Type(elem)) = args.next() else {
        return None;
    };
    let dims: Vec<MatDim> = args
        .map(|a| dim_arg(a).map(MatDim::Fixed))
        .collect::<Option<_>>()?;
    let fixed = |n: u32| MatDim::Fixed(Len::Lit(n as usize));
    let name = last.ident.to_string();
    let digit = |c: char| c.to_digit(10).filter(|d| (1..=6).contains(d));
    let (rows, cols) = match (name.as_str(), dims.as_slice()) {
        ("SVector", [n]) => (n.clone(), fixed(1)),
        ("RowSVector", [n]) => (fixed(1), n.clone()),
        ("SMatrix", [r, c]) => (r.clone(), c.clone()),
        ("DVector", []) => (MatDim::Dynamic, fixed(1)),
        ("RowDVector", []) => (fixed(1), MatDim::Dynamic),
        ("DMatrix", []) => (MatDim::Dynamic, MatDim::Dynamic),
        (n, []) => {
            let tail = |prefix: &str| {
                n.strip_prefix(prefix)
                    .map(|t| t.chars().collect::<Vec<_>>())
            };
            match (tail("RowVector"), tail("Vector"), tail("Matrix")) {
                (Some(d), _, _) if d.len() == 1 => (fixed(1), fixed(digit(d[0])?)),
                (_, Some(d), _) if d.len() == 1 => (fixed(digit(d[0])?), fixed(1)),
                (_, _, Some(d)) if d.len() == 1 => {
                    let k = digit(d[0])?;
                    (fixed(k), fixed(k))
                }
                (_, _, Some(d)) if d.len() == 3 && d[1] == 'x' => {
                    (fixed(digit(d[0])?), fixed(digit(d[2])?))
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((elem, MatrixShape { rows, cols }))
}

/// A dimension argument of a nalgebra type: `3`, `N`, `{ N }`, `consts::D`.
fn dim_arg(a: &syn::GenericArgument) -> Option<Len> {
    fn expr(e: &syn::Expr) -> Option<Len> {
        match e {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(i),
                ..
            }) => i.base10_parse().ok().map(Len::Lit),
            syn::Expr::Path(p) if p.qself.is_none() => Some(path(&p.path)),
            syn::Expr::Block(b) => match b.block.stmts.as_slice() {
                [syn::Stmt::Expr(e, None)] => expr(e),
                _ => None,
            },
            syn::Expr::Paren(p) => expr(&p.expr),
            _ => None,
        }
    }
    fn path(p: &syn::Path) -> Len {
        Len::Named(p.segments.iter().map(|s| s.ident.to_string()).collect())
    }
    match a {
        syn::GenericArgument::Const(e) => expr(e),
        // `SVector<f64, N>`: a bare name parses as a type.
        syn::GenericArgument::Type(syn::Type::Path(p))
            if p.qself.is_none() && p.path.segments.iter().all(|s| s.arguments.is_none()) =>
        {
            Some(path(&p.path))
        }
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
    fn nalgebra_types_by_name() {
        let shape = |s: &str| nalgebra_shape(&ty(s)).map(|(e, m)| (text(quote!(#e)), m));
        let lit = |n| MatDim::Fixed(Len::Lit(n));
        let m = |rows, cols| MatrixShape { rows, cols };
        assert_eq!(
            shape("SVector<f64, 3>"),
            Some(("f64".into(), m(lit(3), lit(1))))
        );
        assert_eq!(
            shape("nalgebra::SMatrix<f32, 2, 3>"),
            Some(("f32".into(), m(lit(2), lit(3))))
        );
        assert_eq!(
            shape("SMatrix<T, N, { M }>"),
            Some((
                "T".into(),
                m(
                    MatDim::Fixed(Len::Named(vec!["N".into()])),
                    MatDim::Fixed(Len::Named(vec!["M".into()]))
                )
            ))
        );
        assert_eq!(
            shape("na::DVector<f64>"),
            Some(("f64".into(), m(MatDim::Dynamic, lit(1))))
        );
        assert_eq!(
            shape("RowDVector<f64>"),
            Some(("f64".into(), m(lit(1), MatDim::Dynamic)))
        );
        assert_eq!(
            shape("DMatrix<f64>"),
            Some(("f64".into(), m(MatDim::Dynamic, MatDim::Dynamic)))
        );
        assert_eq!(
            shape("Vector3<f64>"),
            Some(("f64".into(), m(lit(3), lit(1))))
        );
        assert_eq!(
            shape("RowVector2<f64>"),
            Some(("f64".into(), m(lit(1), lit(2))))
        );
        assert_eq!(
            shape("Matrix4<f64>"),
            Some(("f64".into(), m(lit(4), lit(4))))
        );
        assert_eq!(
            shape("Matrix2x3<f64>"),
            Some(("f64".into(), m(lit(2), lit(3))))
        );
        for other in [
            "Vec<f64>",
            "Model",
            "Vector7<f64>",
            "Matrix2x9<f64>",
            "SVector<f64>",
            "DVector<f64, 3>",
            "HashMap<f64, 3>",
            "Matrix<f64, U2, U3, S>",
        ] {
            assert_eq!(shape(other), None, "{other}");
        }
        assert!(Ty::Matrix.carries_derivative());
        assert_eq!(Ty::Matrix.elem(), Some(&Ty::Float));
        assert!(Ty::Matrix.needs_clone());
        assert!(!Ty::Matrix.is_float_seq(), "no slice kernels over a matrix");
        let unknown = Ty::Seq(SeqKind::Unknown, Box::new(Ty::Float));
        assert!(!unknown.is_float_seq(), "a call's result may be a matrix");
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
