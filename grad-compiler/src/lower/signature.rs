//! The signature: the float type, each parameter's type and passing, the result's kind.

use crate::diag::Diagnostics;
use crate::ir::Passing;
use crate::shape::{FloatTy, Len, SeqKind, Ty};
use proc_macro2::Span;
use syn::spanned::Spanned;

/// A function as the attribute receives it: a free function or a method.
pub struct FnSource<'a> {
    /// Its attributes (other than ours).
    pub attrs: &'a [syn::Attribute],
    /// Its visibility.
    pub vis: &'a syn::Visibility,
    /// Its signature.
    pub sig: &'a syn::Signature,
    /// Its body.
    pub block: &'a syn::Block,
    /// Whether it is a method of an `impl` block.
    pub is_method: bool,
}

/// What kind of result a function has.
#[derive(Clone, Debug, PartialEq)]
pub enum ResultKind {
    /// A float: it has a gradient.
    Scalar,
    /// Several floats (an array, a tuple, a `Vec`, a struct): it has a Jacobian.
    Vector,
}

/// One parameter.
#[derive(Clone, Debug)]
pub struct SigParam {
    /// Its name as written (`self` for a receiver).
    pub name: String,
    /// The user's identifier.
    pub ident: syn::Ident,
    /// Its IR type.
    pub ty: Ty,
    /// How it is passed.
    pub passing: Passing,
    /// Its type as written.
    pub written: syn::Type,
    /// Where it is.
    pub span: Span,
    /// `mut x: f64`.
    pub mutable: bool,
}

impl SigParam {
    /// Whether it can carry a derivative.
    pub fn is_float(&self) -> bool {
        self.ty.carries_derivative()
    }
    /// Whether it is the receiver `self`.
    pub fn is_self(&self) -> bool {
        self.name == "self"
    }
}

/// The result.
#[derive(Clone, Debug)]
pub struct SigResult {
    /// Its IR type.
    pub ty: Ty,
    /// Its type as written.
    pub written: syn::Type,
    /// Scalar or vector.
    pub kind: ResultKind,
    /// Where it is.
    pub span: Span,
}

/// A lowered signature.
#[derive(Clone, Debug)]
pub struct Signature {
    /// The function's name.
    pub ident: syn::Ident,
    /// The float type.
    pub float: FloatTy,
    /// The parameters, in order (a receiver first).
    pub params: Vec<SigParam>,
    /// The result.
    pub result: SigResult,
    /// The generics, carried by every companion.
    pub generics: syn::Generics,
    /// Whether it is a method.
    pub is_method: bool,
}

/// Lowers the signature; errors go to `diag`.
pub fn lower_signature(src: &FnSource, diag: &mut Diagnostics) -> Option<Signature> {
    let sig = src.sig;
    let before = diag.len();
    check_qualifiers(sig, diag);
    let float = float_type(sig, diag)?;
    let mut params = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(r) => {
                if r.mutability.is_some() && r.reference.is_some() {
                    diag.error_spanned(
                        r,
                        "`&mut self` methods are not supported: take `&self` and return the new value",
                    );
                    continue;
                }
                let written: syn::Type = if r.reference.is_some() {
                    syn::parse_quote!(&Self)
                } else {
                    syn::parse_quote!(Self)
                };
                params.push(SigParam {
                    name: "self".into(),
                    ident: syn::Ident::new("self", r.self_token.span),
                    ty: Ty::Struct(vec!["Self".into()]),
                    passing: if r.reference.is_some() {
                        Passing::Ref
                    } else {
                        Passing::Value
                    },
                    written,
                    span: r.self_token.span,
                    mutable: r.mutability.is_some(),
                });
            }
            syn::FnArg::Typed(pt) => {
                let (ident, mutable) = match &*pt.pat {
                    syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                        (pi.ident.clone(), pi.mutability.is_some())
                    }
                    other => {
                        diag.error_spanned(
                            other,
                            "parameters must be plain names (`x: f64`): destructure inside the body instead",
                        );
                        continue;
                    }
                };
                match param_type(&pt.ty, &float) {
                    Ok((ty, passing)) => params.push(SigParam {
                        name: ident.to_string(),
                        span: ident.span(),
                        ident,
                        ty,
                        passing,
                        written: (*pt.ty).clone(),
                        mutable,
                    }),
                    Err((span, msg)) => diag.error(span, msg),
                }
            }
        }
    }
    let result = match &sig.output {
        syn::ReturnType::Default => {
            diag.error(
                sig.ident.span(),
                "a differentiated function returns its value: add a result type, `-> f64`",
            );
            None
        }
        syn::ReturnType::Type(_, t) => match value_type(t, &float) {
            Ok(ty) if ty == Ty::Float => Some(SigResult {
                ty,
                written: (**t).clone(),
                kind: ResultKind::Scalar,
                span: t.span(),
            }),
            Ok(ty) if ty.carries_derivative() => Some(SigResult {
                ty,
                written: (**t).clone(),
                kind: ResultKind::Vector,
                span: t.span(),
            }),
            Ok(_) => {
                diag.error_spanned(
                    t,
                    "the result must be a float or hold floats (`f64`, `[f64; 3]`, `(f64, f64)`, `Vec<f64>`, a `Differentiable` struct)",
                );
                None
            }
            Err((span, msg)) => {
                diag.error(span, msg);
                None
            }
        },
    };
    if diag.len() > before {
        return None;
    }
    Some(Signature {
        ident: sig.ident.clone(),
        float,
        params,
        result: result?,
        generics: sig.generics.clone(),
        is_method: src.is_method,
    })
}

fn check_qualifiers(sig: &syn::Signature, diag: &mut Diagnostics) {
    if let Some(c) = &sig.constness {
        diag.error(
            c.span,
            "`const fn` cannot be differentiated: remove `const`",
        );
    }
    if let Some(a) = &sig.asyncness {
        diag.error(
            a.span,
            "`async fn` cannot be differentiated: remove `async`",
        );
    }
    if let Some(u) = &sig.unsafety {
        diag.error(
            u.span,
            "`unsafe fn` cannot be differentiated: remove `unsafe`",
        );
    }
    if let Some(v) = &sig.variadic {
        diag.error_spanned(v, "variadic functions cannot be differentiated");
    }
    for p in &sig.generics.params {
        match p {
            syn::GenericParam::Lifetime(_) | syn::GenericParam::Const(_) => {}
            syn::GenericParam::Type(t) if is_float_param(t, &sig.generics) => {}
            syn::GenericParam::Type(t) => diag.error(
                t.ident.span(),
                format!(
                    "the only type parameter a differentiated function can have is its float type: write `{}: grad::Float`",
                    t.ident
                ),
            ),
        }
    }
}

/// Whether a type parameter is bounded by `Float` (`T: grad::Float`, or in a where clause).
fn is_float_param(t: &syn::TypeParam, generics: &syn::Generics) -> bool {
    let is_float_bound = |b: &syn::TypeParamBound| match b {
        syn::TypeParamBound::Trait(tb) => {
            tb.path.segments.last().is_some_and(|s| s.ident == "Float")
        }
        _ => false,
    };
    t.bounds.iter().any(is_float_bound)
        || generics.where_clause.as_ref().is_some_and(|w| {
            w.predicates.iter().any(|p| match p {
                syn::WherePredicate::Type(pt) => {
                    matches!(&pt.bounded_ty, syn::Type::Path(tp) if tp.path.is_ident(&t.ident))
                        && pt.bounds.iter().any(is_float_bound)
                }
                _ => false,
            })
        })
}

/// The float type: `f32`, `f64` or the generic `T: Float`, which every float in the
/// signature must share.
fn float_type(sig: &syn::Signature, diag: &mut Diagnostics) -> Option<FloatTy> {
    let generic = sig.generics.params.iter().find_map(|p| match p {
        syn::GenericParam::Type(t) if is_float_param(t, &sig.generics) => Some(t.ident.to_string()),
        _ => None,
    });
    let mut seen: Vec<(String, Span)> = Vec::new();
    let mut visit = |t: &syn::Type| collect_floats(t, generic.as_deref(), &mut seen);
    for input in &sig.inputs {
        if let syn::FnArg::Typed(pt) = input {
            visit(&pt.ty);
        }
    }
    if let syn::ReturnType::Type(_, t) = &sig.output {
        visit(t);
    }
    let first = seen.first().map(|(n, _)| n.clone());
    if let Some((other, span)) = seen.iter().find(|(n, _)| Some(n) != first.as_ref()) {
        diag.error(
            *span,
            format!(
                "this function mixes `{}` and `{other}`: use one float type throughout",
                first.as_deref().unwrap_or("")
            ),
        );
        return None;
    }
    Some(match first.as_deref() {
        Some("f32") => FloatTy::F32,
        Some("f64") | None => FloatTy::F64,
        Some(g) => FloatTy::Generic(g.to_string()),
    })
}

fn collect_floats(t: &syn::Type, generic: Option<&str>, out: &mut Vec<(String, Span)>) {
    match t {
        syn::Type::Path(p) => {
            if let Some(id) = p.path.get_ident() {
                let s = id.to_string();
                if s == "f32" || s == "f64" || Some(s.as_str()) == generic {
                    out.push((s, id.span()));
                }
            }
            for seg in &p.path.segments {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    for arg in &a.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            collect_floats(t, generic, out);
                        }
                    }
                }
            }
        }
        syn::Type::Reference(r) => collect_floats(&r.elem, generic, out),
        syn::Type::Slice(s) => collect_floats(&s.elem, generic, out),
        syn::Type::Array(a) => collect_floats(&a.elem, generic, out),
        syn::Type::Tuple(tt) => tt
            .elems
            .iter()
            .for_each(|e| collect_floats(e, generic, out)),
        syn::Type::Paren(p) => collect_floats(&p.elem, generic, out),
        syn::Type::Group(g) => collect_floats(&g.elem, generic, out),
        _ => {}
    }
}

type TyResult = Result<Ty, (Span, String)>;

/// A parameter's IR type and how it is passed.
fn param_type(t: &syn::Type, float: &FloatTy) -> Result<(Ty, Passing), (Span, String)> {
    match t {
        syn::Type::Reference(r) if r.mutability.is_some() => Err((
            r.span(),
            "`&mut` parameters are not supported: take the value (or `&`) and return results instead".into(),
        )),
        syn::Type::Reference(r) => {
            let inner = match &*r.elem {
                syn::Type::Slice(s) => Ty::Seq(SeqKind::Slice, Box::new(value_type(&s.elem, float)?)),
                other => match vec_elem(other) {
                    Some(e) => Ty::Seq(SeqKind::Slice, Box::new(value_type(e, float)?)),
                    None => value_type(other, float)?,
                },
            };
            if inner.is_scalar() {
                return Err((
                    r.span(),
                    format!(
                        "pass scalars by value: write `{}` instead of `&{}`",
                        quote::quote!(#r.elem),
                        quote::quote!(#r.elem)
                    )
                    .replace(' ', ""),
                ));
            }
            Ok((inner, Passing::Ref))
        }
        other => Ok((value_type(other, float)?, Passing::Value)),
    }
}

/// The IR type of a value type (no outer reference).
pub fn value_type(t: &syn::Type, float: &FloatTy) -> TyResult {
    match t {
        syn::Type::Paren(p) => value_type(&p.elem, float),
        syn::Type::Group(g) => value_type(&g.elem, float),
        syn::Type::Array(a) => Ok(Ty::Seq(
            SeqKind::Array(array_len(&a.len)?),
            Box::new(value_type(&a.elem, float)?),
        )),
        syn::Type::Tuple(tt) if tt.elems.is_empty() => Ok(Ty::Unit),
        syn::Type::Tuple(tt) => Ok(Ty::Tuple(
            tt.elems
                .iter()
                .map(|e| value_type(e, float))
                .collect::<Result<_, _>>()?,
        )),
        syn::Type::Path(p) if p.qself.is_none() => {
            if let Some(e) = vec_elem(t) {
                return Ok(Ty::Seq(SeqKind::Vec, Box::new(value_type(e, float)?)));
            }
            if let Some(id) = p.path.get_ident() {
                let s = id.to_string();
                if s == float.name() {
                    return Ok(Ty::Float);
                }
                match s.as_str() {
                    "f32" | "f64" => {
                        return Err((
                            id.span(),
                            format!("this function's float type is `{}`: use it throughout", float.name()),
                        ))
                    }
                    "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16"
                    | "i32" | "i64" | "i128" => return Ok(Ty::Int),
                    "bool" => return Ok(Ty::Bool),
                    _ => {}
                }
            }
            if let Some((elem, _)) = crate::shape::nalgebra_shape(t) {
                // `SVector<f64, 3>`, `DVector<f64>`, `SMatrix<f64, 2, 3>`: matrices of floats.
                if value_type(elem, float)? == Ty::Float {
                    return Ok(Ty::Matrix);
                }
            }
            if p.path.segments.iter().any(|s| !s.arguments.is_none()) {
                // Other generic types: the shape traits of the runtime handle them.
                return Ok(Ty::Opaque);
            }
            Ok(Ty::Struct(
                p.path.segments.iter().map(|s| s.ident.to_string()).collect(),
            ))
        }
        syn::Type::Slice(s) => Err((
            s.span(),
            "a slice is passed by reference: write `&[f64]`".into(),
        )),
        syn::Type::Reference(r) => Err((
            r.span(),
            "references inside other types are not supported: use arrays, `Vec`s or structs of values".into(),
        )),
        other => Err((
            other.span(),
            "this type cannot be differentiated: use floats, integers, `bool`, arrays, slices, `Vec`s, tuples or `Differentiable` structs".into(),
        )),
    }
}

/// `Vec<E>` -> `E`.
pub fn vec_elem(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Vec" || p.qself.is_some() {
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

/// An array length: a literal, a const generic or a named constant.
pub fn array_len(e: &syn::Expr) -> Result<Len, (Span, String)> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i
            .base10_parse::<usize>()
            .map(Len::Lit)
            .map_err(|_| (i.span(), "array length out of range".to_string())),
        syn::Expr::Path(p) if p.qself.is_none() => Ok(Len::Named(
            p.path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect(),
        )),
        syn::Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
            syn::Stmt::Expr(inner, None) => array_len(inner),
            _ => Err((e.span(), len_message())),
        },
        syn::Expr::Paren(p) => array_len(&p.expr),
        other => Err((other.span(), len_message())),
    }
}

fn len_message() -> String {
    "an array length must be an integer literal, a const generic parameter or a named constant (`[f64; 3]`, `[f64; N]`)".into()
}
