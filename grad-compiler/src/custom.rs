//! `#[grad::custom_gradient(x = EXPR, ..)]`: the derivative of a function the macro does
//! not read, given by its author, for a scalar function of scalars. It emits the same
//! first-order companions as `#[derive_gradient]` (so annotated functions can call it), each
//! evaluating the function itself and the given partials, which may use the parameters and
//! `value` (the function's result).
//!
//! Also `grad::check_rule!(f, a, b)`: one line that checks such a rule's gradient against
//! central finite differences of the function at the point `(a, b)`.

use crate::diag::Diagnostics;
use crate::names::Binder;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;

/// One `name = EXPR` of the attribute.
struct Partial {
    name: syn::Ident,
    expr: syn::Expr,
}

fn parse_partials(attr: TokenStream, diag: &mut Diagnostics) -> Vec<Partial> {
    let parser = |input: ParseStream| -> syn::Result<Vec<Partial>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let name: syn::Ident = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            let expr: syn::Expr = input.parse()?;
            out.push(Partial { name, expr });
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(out)
    };
    match parser.parse2(attr) {
        Ok(p) => p,
        Err(e) => {
            diag.push(e);
            Vec::new()
        }
    }
}

/// Expands `#[custom_gradient(..)]` on `item`.
pub fn custom_gradient(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "`#[custom_gradient(..)]` goes on a function: `fn f(x: f64) -> f64 { .. }`",
            )
            .to_compile_error();
            return quote!(#item #e);
        }
    };
    let mut diag = Diagnostics::default();
    let partials = parse_partials(attr, &mut diag);
    let params = scalar_params(&func, &mut diag);
    let float = float_of(&func, &mut diag);
    let all_names: Vec<String> = func
        .sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => match &*pt.pat {
                syn::Pat::Ident(pi) => Some(pi.ident.to_string()),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    for p in &partials {
        if !all_names.contains(&p.name.to_string()) {
            diag.error(
                p.name.span(),
                format!("`{}` is not a parameter of this function: give one partial per parameter, `x = ..`", p.name),
            );
        }
    }
    for q in &params {
        if !partials.iter().any(|p| p.name == *q) {
            diag.error(
                q.span(),
                format!("give the partial derivative with respect to `{q}`: `#[custom_gradient({q} = ..)]`"),
            );
        }
    }
    if !diag.is_empty() {
        let e = diag.into_error(func.sig.ident.span()).to_compile_error();
        return quote!(#func #e);
    }
    let companions = companions(
        &func,
        &params,
        &partials,
        float.unwrap_or_else(|| quote!(f64)),
    );
    quote!(#func #companions)
}

/// The parameters, which must be floats of one type.
fn scalar_params(f: &syn::ItemFn, diag: &mut Diagnostics) -> Vec<syn::Ident> {
    let mut out = Vec::new();
    for input in &f.sig.inputs {
        match input {
            syn::FnArg::Typed(pt) => match (&*pt.pat, &*pt.ty) {
                (syn::Pat::Ident(pi), syn::Type::Path(tp))
                    if tp.path.is_ident("f64") || tp.path.is_ident("f32") =>
                {
                    out.push(pi.ident.clone())
                }
                _ => diag.error_spanned(
                    pt,
                    "a custom rule is for a scalar function of scalars: write parameters `x: f64`",
                ),
            },
            syn::FnArg::Receiver(r) => {
                diag.error_spanned(r, "a custom rule is for a free function")
            }
        }
    }
    out
}

fn float_of(f: &syn::ItemFn, diag: &mut Diagnostics) -> Option<TokenStream> {
    match &f.sig.output {
        syn::ReturnType::Type(_, t) => match &**t {
            syn::Type::Path(tp) if tp.path.is_ident("f64") || tp.path.is_ident("f32") => {
                Some(t.to_token_stream())
            }
            other => {
                diag.error_spanned(other, "a custom rule returns a float: `-> f64`");
                None
            }
        },
        syn::ReturnType::Default => {
            diag.error(
                f.sig.ident.span(),
                "a custom rule returns a float: `-> f64`",
            );
            None
        }
    }
}

fn hygienic(name: String) -> syn::Ident {
    syn::Ident::new(&name, Span::mixed_site())
}

fn companions(
    f: &syn::ItemFn,
    params: &[syn::Ident],
    partials: &[Partial],
    t: TokenStream,
) -> TokenStream {
    let vis = &f.vis;
    let name = &f.sig.ident;
    let id = |s: &str| format_ident!("{}_{}", name, s, span = name.span());
    let (pb, pf, gi, g) = (
        id("pullback"),
        id("pushforward"),
        id("grad_into"),
        id("grad"),
    );
    // `value` is the documented name the partials may use: the caller's hygiene.
    let value = syn::Ident::new("value", Span::call_site());
    let seed = hygienic(Binder::Seed.base().into());
    let adj: Vec<syn::Ident> = params
        .iter()
        .map(|p| hygienic(Binder::Adjoint.name(&p.to_string())))
        .collect();
    let tan: Vec<syn::Ident> = params
        .iter()
        .map(|p| hygienic(Binder::Tangent.name(&p.to_string())))
        .collect();
    let grad: Vec<syn::Ident> = params
        .iter()
        .map(|p| hygienic(Binder::Gradient.name(&p.to_string())))
        .collect();
    let exprs: Vec<&syn::Expr> = params
        .iter()
        .map(|p| {
            &partials
                .iter()
                .find(|q| q.name == *p)
                .expect("checked above")
                .expr
        })
        .collect();
    let spans: Vec<Span> = exprs.iter().map(|e| e.span()).collect();
    let partial_vals: Vec<TokenStream> = exprs
        .iter()
        .zip(&spans)
        .map(|(e, s)| quote::quote_spanned!(*s=> { let d: #t = #e; d }))
        .collect();
    let marker = format_ident!("__grad_order_{}", name, span = name.span());
    let grads = if params.len() == 1 {
        let g0 = &grad[0];
        quote!(#g0)
    } else {
        quote!((#(#grad),*))
    };
    let grad_ty = if params.len() == 1 {
        t.clone()
    } else {
        let ts = params.iter().map(|_| &t);
        quote!((#(#ts),*))
    };
    let doc = |what: &str| {
        format!(" {what} of [`{name}`], from its custom rule. Generated by `#[custom_gradient]`.")
    };
    let (d_pb, d_pf, d_gi, d_g) = (
        doc("Reverse mode (pullback)"),
        doc("Forward mode (pushforward)"),
        doc("The value and the gradient, into the `grad_*` buffers,"),
        doc("The value and the gradient"),
    );
    quote! {
        #[doc = #d_pb]
        #[inline]
        #[allow(clippy::all)]
        #vis fn #pb(#(#params: #t,)* #seed: #t, #(#adj: &mut #t),*) -> #t {
            let #value = #name(#(#params),*);
            #(*#adj += ::grad::runtime::scaled(#seed, #partial_vals);)*
            #value
        }
        #[doc = #d_pf]
        #[inline]
        #[allow(clippy::all)]
        #vis fn #pf(#(#params: #t,)* #(#tan: #t),*) -> (#t, #t) {
            let #value = #name(#(#params),*);
            let mut d = <#t as ::grad::Float>::zero();
            #(d += ::grad::runtime::scaled(#tan, #partial_vals);)*
            (#value, d)
        }
        #[doc = #d_gi]
        #[inline]
        #[allow(clippy::all)]
        #vis fn #gi(#(#params: #t,)* #(#grad: &mut #t),*) -> #t {
            #(*#grad = <#t as ::grad::Float>::zero();)*
            #pb(#(#params,)* <#t as ::grad::Float>::one(), #(#grad),*)
        }
        #[doc = #d_g]
        #[inline]
        #[allow(clippy::all)]
        #vis fn #g(#(#params: #t),*) -> (#t, #grad_ty) {
            #(let mut #grad = <#t as ::grad::Float>::zero();)*
            let v = #gi(#(#params,)* #(&mut #grad),*);
            (v, #grads)
        }
        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        #vis const #marker: u8 = 1;
    }
}

/// `check_rule!(f, a, b)`: `f_grad(a, b)` against central finite differences of `f`.
pub fn check_rule(input: TokenStream) -> TokenStream {
    let parser = |s: ParseStream| -> syn::Result<(syn::Path, Vec<syn::Expr>)> {
        let f: syn::Path = s.parse()?;
        let mut args = Vec::new();
        while !s.is_empty() {
            s.parse::<syn::Token![,]>()?;
            if s.is_empty() {
                break;
            }
            args.push(s.parse()?);
        }
        Ok((f, args))
    };
    let (f, args) = match parser.parse2(input) {
        Ok(x) => x,
        Err(e) => return e.to_compile_error(),
    };
    let mut grad = f.clone();
    if let Some(last) = grad.segments.last_mut() {
        last.ident = format_ident!("{}_grad", last.ident, span = last.ident.span());
    }
    let n = args.len();
    let idx = (0..n).map(syn::Index::from);
    let picks = (0..n).map(|i| quote!(p[#i]));
    quote! {{
        let point = [#(#args),*];
        let (_, g) = #grad(#(point[#idx]),*);
        let mut flat = ::std::vec![0.0; #n];
        ::grad::runtime::Differentiable::write_flat(&g, &mut flat);
        ::grad::runtime::assert_gradient_close(
            |p: &[_]| #f(#(#picks),*),
            &point,
            &flat,
            ::grad::runtime::Tolerance::default(),
        );
    }}
}
