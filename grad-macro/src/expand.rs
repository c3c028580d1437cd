//! The recipe: options -> lower -> transforms -> companion functions.
//!
//! For `fn f(..) -> R` this emits, beside the unchanged `f`:
//! - `f_pullback(params.., seed, adjoints..) -> R`: reverse mode with respect to every float
//!   parameter, adding `seed^T dR/dp` into the `&mut` adjoint of each (used by callers that
//!   differentiate through `f`);
//! - `f_pushforward(params.., tangents..) -> (R, dR)`: forward mode;
//! - for a scalar `R`: `f_grad(params..) -> (R, grads)` and the allocation-free
//!   `f_grad_into(params.., grads: &mut ..) -> R`;
//! - for a vector `R`: `f_jacobian(params..) -> (R, Jacobian<T>)`.

use crate::attr::{Layout, Options};
use crate::codegen::{unique_names, Printer};
use crate::ir::*;
use crate::lower::{self, Lowered};
use crate::reverse::{self, ArrayAdjoints};
use crate::{forward, ir};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::collections::HashSet;

/// Expands the attribute. Never panics: errors become `compile_error!`s next to the user's
/// function and companions with the right signatures whose bodies are `unreachable!()`.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                "`#[derive_gradient]` goes on a free function: `fn f(x: f64) -> f64 { .. }`",
            )
            .to_compile_error();
            return quote!(#item #err);
        }
    };
    let options: Options = match syn::parse2(attr) {
        Ok(o) => o,
        Err(e) => return fallback(&item_fn, &Options::default(), e),
    };
    match generate(&options, &item_fn) {
        Ok(tokens) => quote!(#item_fn #tokens),
        Err(e) => fallback(&item_fn, &options, e),
    }
}

/// The user's function, the errors, and stub companions so no follow-on errors pile up.
fn fallback(item: &syn::ItemFn, options: &Options, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    // With a bad `wrt(..)`, stubs differentiate every float parameter.
    let all_params = Options {
        wrt: None,
        ..options.clone()
    };
    let stubs = lower::lower_signature(item)
        .ok()
        .and_then(|l| {
            let l2 = Lowered {
                func: l.func.clone(),
                float: l.float,
            };
            Companions::new(options, item, l)
                .ok()
                .map(|c| c.stubs())
                .or_else(|| {
                    Companions::new(&all_params, item, l2)
                        .ok()
                        .map(|c| c.stubs())
                })
        })
        .unwrap_or_default();
    quote!(#item #errors #stubs)
}

fn generate(options: &Options, item: &syn::ItemFn) -> syn::Result<TokenStream> {
    let lowered = lower::lower(item)?;
    let companions = Companions::new(options, item, lowered)?;
    Ok(companions.all())
}

/// One float parameter of the user's function.
#[derive(Clone)]
struct FloatParam {
    var: VarId,
    ident: syn::Ident,
    ty: Ty,
}

/// Everything needed to print the companions of one function.
struct Companions<'a> {
    options: &'a Options,
    item: &'a syn::ItemFn,
    lowered: Lowered,
    float_params: Vec<FloatParam>,
    wrt: Vec<FloatParam>,
}

impl<'a> Companions<'a> {
    fn new(options: &'a Options, item: &'a syn::ItemFn, lowered: Lowered) -> syn::Result<Self> {
        let f = &lowered.func;
        let float_params: Vec<FloatParam> = f
            .params
            .iter()
            .filter(|p| f.var(**p).ty.is_float())
            .map(|p| FloatParam {
                var: *p,
                ident: f
                    .var(*p)
                    .ident
                    .clone()
                    .expect("parameters keep their identifier"),
                ty: f.var(*p).ty,
            })
            .collect();
        let wrt = match &options.wrt {
            None => float_params.clone(),
            Some(names) => {
                let mut errors: Option<syn::Error> = None;
                for n in names {
                    if !float_params.iter().any(|p| p.ident == *n) {
                        let msg = if f.params.iter().any(|p| *n == f.var(*p).name) {
                            format!("`{n}` is not a float parameter: `wrt(..)` names `f64`/`f32` parameters, arrays or slices of them")
                        } else {
                            format!("`wrt` names `{n}`, which is not a parameter of this function")
                        };
                        let e = syn::Error::new(n.span(), msg);
                        match &mut errors {
                            Some(all) => all.combine(e),
                            None => errors = Some(e),
                        }
                    }
                }
                if let Some(e) = errors {
                    return Err(e);
                }
                float_params
                    .iter()
                    .filter(|p| names.contains(&p.ident))
                    .cloned()
                    .collect()
            }
        };
        if wrt.is_empty() {
            return Err(syn::Error::new(
                item.sig.ident.span(),
                "this function has no float parameter to differentiate: give it an `f64`/`f32` parameter (or an array or slice of them)",
            ));
        }
        Ok(Companions {
            options,
            item,
            lowered,
            float_params,
            wrt,
        })
    }

    fn t(&self) -> TokenStream {
        match self.lowered.float {
            lower::FloatTy::F32 => quote!(f32),
            lower::FloatTy::F64 => quote!(f64),
        }
    }

    fn name(&self, suffix: &str) -> syn::Ident {
        let id = &self.item.sig.ident;
        format_ident!("{}_{}", id, suffix, span = id.span())
    }

    fn is_scalar(&self) -> bool {
        self.lowered.func.result_shape == ResultShape::Scalar
    }

    fn result_ty(&self) -> TokenStream {
        match &self.item.sig.output {
            syn::ReturnType::Type(_, t) => quote!(#t),
            syn::ReturnType::Default => quote!(()),
        }
    }

    /// The type of a pullback's seed: the result's shape (a slice for `Vec`).
    fn seed_ty(&self) -> TokenStream {
        let t = self.t();
        match self.lowered.func.result_shape {
            ResultShape::Vec => quote!(&[#t]),
            _ => self.result_ty(),
        }
    }

    /// The user's parameters, without a trailing comma (companions append their own).
    fn params(&self) -> TokenStream {
        let inputs = self.item.sig.inputs.iter();
        quote!(#(#inputs),*)
    }

    fn param_idents(&self) -> Vec<syn::Ident> {
        let f = &self.lowered.func;
        f.params
            .iter()
            .map(|p| f.var(*p).ident.clone().expect("parameter identifier"))
            .collect()
    }

    fn attrs() -> TokenStream {
        quote! {
            #[allow(dead_code, unused_mut, unused_variables, unused_assignments, unused_parens,
                    unused_braces, non_snake_case, clippy::all, clippy::pedantic)]
        }
    }

    fn all(&self) -> TokenStream {
        let mut out = self.pullback();
        out.extend(self.pushforward());
        if self.is_scalar() {
            out.extend(self.grad_into());
            out.extend(self.grad());
        } else {
            out.extend(self.jacobian());
        }
        out
    }

    /// Companions with the right signatures and `unreachable!()` bodies.
    fn stubs(&self) -> TokenStream {
        let vis = &self.item.vis;
        let params = self.params();
        let r = self.result_ty();
        let t = self.t();
        let seed = self.seed_ty();
        let (pb, pf) = (self.name("pullback"), self.name("pushforward"));
        let attrs = Self::attrs();
        let adj_params: Vec<TokenStream> = self
            .float_params
            .iter()
            .map(|p| {
                let id = format_ident!("adj_{}", p.ident);
                let ty = self.adjoint_param_ty(p.ty);
                quote!(#id: #ty)
            })
            .collect();
        let tan_params: Vec<TokenStream> = self
            .float_params
            .iter()
            .map(|p| {
                let id = format_ident!("tan_{}", p.ident);
                let ty = self.tangent_param_ty(p.ty);
                quote!(#id: #ty)
            })
            .collect();
        let mut out = quote! {
            #attrs
            #vis fn #pb(#params, seed: #seed, #(#adj_params),*) -> #r { ::core::unreachable!() }
            #attrs
            #vis fn #pf(#params, #(#tan_params),*) -> (#r, #r) { ::core::unreachable!() }
        };
        if self.is_scalar() {
            let (g, gi) = (self.name("grad"), self.name("grad_into"));
            let grads = self.grads_ty();
            let outs: Vec<TokenStream> = self
                .wrt
                .iter()
                .map(|p| {
                    let id = format_ident!("grad_{}", p.ident);
                    let ty = self.adjoint_param_ty(p.ty);
                    quote!(#id: #ty)
                })
                .collect();
            out.extend(quote! {
                #attrs
                #vis fn #g(#params) -> (#r, #grads) { ::core::unreachable!() }
                #attrs
                #vis fn #gi(#params, #(#outs),*) -> #r { ::core::unreachable!() }
            });
        } else {
            let j = self.name("jacobian");
            let krate = &self.options.krate;
            out.extend(quote! {
                #attrs
                #vis fn #j(#params) -> (#r, #krate::Jacobian<#t>) { ::core::unreachable!() }
            });
        }
        out
    }

    /// `name: &mut T` (or `&mut [T; N]`, `&mut [T]`) for each parameter's output buffer.
    fn adjoint_params(&self, params: &[FloatParam], names: &[syn::Ident]) -> Vec<TokenStream> {
        params
            .iter()
            .zip(names)
            .map(|(p, id)| {
                let ty = self.adjoint_param_ty(p.ty);
                quote!(#id: #ty)
            })
            .collect()
    }

    fn adjoint_param_ty(&self, ty: Ty) -> TokenStream {
        let t = self.t();
        match ty {
            Ty::FloatArray(ArrayKind::Fixed(n)) => quote!(&mut [#t; #n]),
            Ty::FloatArray(_) => quote!(&mut [#t]),
            _ => quote!(&mut #t),
        }
    }

    fn tangent_param_ty(&self, ty: Ty) -> TokenStream {
        let t = self.t();
        match ty {
            Ty::FloatArray(ArrayKind::Fixed(n)) => quote!([#t; #n]),
            Ty::FloatArray(_) => quote!(&[#t]),
            _ => quote!(#t),
        }
    }

    /// The gradient part of `f_grad`'s result.
    fn grads_ty(&self) -> TokenStream {
        let t = self.t();
        let tys: Vec<TokenStream> = self
            .wrt
            .iter()
            .map(|p| match p.ty {
                Ty::FloatArray(ArrayKind::Fixed(n)) => quote!([#t; #n]),
                Ty::FloatArray(_) => quote!(::std::vec::Vec<#t>),
                _ => quote!(#t),
            })
            .collect();
        if tys.len() == 1 {
            tys[0].clone()
        } else {
            quote!((#(#tys),*))
        }
    }

    /// The value to return, converting the internal result array to a tuple.
    fn return_value(&self, p: &Printer, v: VarId) -> TokenStream {
        let id = p.ident(v);
        match self.lowered.func.result_shape {
            ResultShape::Tuple(n) => {
                let idx = 0..n;
                quote!((#(#id[#idx]),*))
            }
            _ => quote!(#id),
        }
    }

    /// Generates a reverse-mode body: declarations, forward sweep, seeding, reverse sweep.
    /// Returns the printed body and, for each float parameter in `active_params`, the
    /// adjoint variable (if it is active) in the transformed function.
    fn reverse_body(
        &self,
        active_params: &[FloatParam],
        array_adjoints: ArrayAdjoints,
        out_prefix: &str,
        seed: TokenStream,
        copy_out: impl Fn(&Printer, &FloatParam, Option<VarId>, &syn::Ident) -> TokenStream,
    ) -> (TokenStream, Vec<syn::Ident>) {
        let mut f = self.lowered.func.clone();
        let wrt: Vec<VarId> = active_params.iter().map(|p| p.var).collect();
        let code = reverse::transform(&mut f, &wrt, array_adjoints, !self.options.strict);
        // The output parameters: slice adjoints are the caller's buffers themselves.
        let mut externals = HashSet::new();
        let mut out_vars = Vec::new();
        for p in active_params {
            let adj = code.adj.get(&p.var).copied();
            let var = match (p.ty, adj) {
                (Ty::FloatArray(ArrayKind::Slice), Some(a)) => {
                    f.vars[a.0].name = format!("{out_prefix}{}", p.ident);
                    a
                }
                _ => f.add_var(
                    format!("{out_prefix}{}", p.ident),
                    p.ty,
                    p.ident.span(),
                    Origin::Aux,
                ),
            };
            externals.insert(var);
            out_vars.push((p.clone(), adj, var));
        }
        let names = unique_names(&f, code.slots.len());
        let printer = Printer {
            names,
            f: &f,
            float: self.lowered.float,
            externals,
            slots: &code.slots,
            krate: self.options.krate.clone(),
        };
        let mut all = code.fwd.clone();
        all.extend(code.rev.iter().cloned());
        let adjoints: Vec<VarId> = out_vars.iter().filter_map(|(_, adj, _)| *adj).collect();
        let decls = printer.declarations(&all, &adjoints);
        let fwd = printer.block(&code.fwd);
        let rev = printer.block(&code.rev);
        let result = f.result;
        let seeding = if code.active.contains(&result) {
            let adj = printer.ident(code.adj[&result]);
            match f.result_shape {
                ResultShape::Scalar | ResultShape::Array(_) => quote!(#adj = #seed;),
                ResultShape::Tuple(n) => {
                    let idx = (0..n).map(syn::Index::from);
                    quote_spanned!(Span::mixed_site()=> { let seed = #seed; #adj = [#(seed.#idx),*]; })
                }
                ResultShape::Vec => quote_spanned!(Span::mixed_site()=> {
                    let seed = #seed;
                    for (a, s) in #adj.iter_mut().zip(seed.iter()) { *a += *s; }
                }),
            }
        } else {
            TokenStream::new()
        };
        let copies: TokenStream = out_vars
            .iter()
            .map(|(p, adj, var)| copy_out(&printer, p, *adj, &printer.ident(*var)))
            .collect();
        let ret = self.return_value(&printer, result);
        let idents = out_vars.iter().map(|(_, _, v)| printer.ident(*v)).collect();
        let body = quote! {
            #decls
            #fwd
            #seeding
            #rev
            #copies
            #ret
        };
        (body, idents)
    }

    fn pullback(&self) -> TokenStream {
        let vis = &self.item.vis;
        let name = self.name("pullback");
        let params = self.params();
        let r = self.result_ty();
        let seed_ty = self.seed_ty();
        let seed = format_ident!("seed", span = Span::mixed_site());
        let (body, outs) = self.reverse_body(
            &self.float_params,
            ArrayAdjoints::Accumulating,
            "adj_",
            quote!(#seed),
            |pr, p, adj, out| match (p.ty, adj) {
                (_, None) | (Ty::FloatArray(ArrayKind::Slice), _) => TokenStream::new(),
                (Ty::FloatArray(_), Some(a)) => {
                    let a = pr.ident(a);
                    quote!(for (o, a) in #out.iter_mut().zip(#a.iter()) { *o += *a; })
                }
                (_, Some(a)) => {
                    let a = pr.ident(a);
                    quote!(*#out += #a;)
                }
            },
        );
        let adj_params = self.adjoint_params(&self.float_params, &outs);
        let fname = &self.item.sig.ident;
        let doc = format!(
            " Reverse mode (pullback) of [`{fname}`]: returns `{fname}`'s value and adds `seed` times the derivative of the result with respect to each float parameter into that parameter's adjoint. Generated by `#[derive_gradient]`."
        );
        let attrs = Self::attrs();
        quote! {
            #[doc = #doc]
            #attrs
            #vis fn #name(#params, #seed: #seed_ty, #(#adj_params),*) -> #r {
                let _ = #fname;
                #body
            }
        }
    }

    fn grad_into(&self) -> TokenStream {
        let vis = &self.item.vis;
        let name = self.name("grad_into");
        let params = self.params();
        let r = self.result_ty();
        let one = quote!(1.0);
        let (body, outs) = self.reverse_body(
            &self.wrt,
            ArrayAdjoints::Zeroed,
            "grad_",
            one,
            |pr, p, adj, out| match (p.ty, adj) {
                (Ty::FloatArray(ArrayKind::Slice), _) => TokenStream::new(),
                (_, Some(a)) => {
                    let a = pr.ident(a);
                    quote!(*#out = #a;)
                }
                (Ty::FloatArray(ArrayKind::Fixed(n)), None) => {
                    let t = self.t();
                    quote!(*#out = [0.0 as #t; #n];)
                }
                (_, None) => {
                    let t = self.t();
                    quote!(*#out = 0.0 as #t;)
                }
            },
        );
        let t = self.t();
        let krate = &self.options.krate;
        let mut checks = TokenStream::new();
        for (p, id) in self.wrt.iter().zip(&outs) {
            if matches!(p.ty, Ty::FloatArray(ArrayKind::Slice)) {
                let pid = &p.ident;
                let msg = format!("`{id}` must have the length of `{pid}`");
                checks.extend(quote_spanned! {Span::mixed_site()=>
                    ::core::assert_eq!(#id.len(), #pid.len(), #msg);
                    for g in #id.iter_mut() { *g = 0.0 as #t; }
                });
            }
        }
        let out_params = self.adjoint_params(&self.wrt, &outs);
        let fname = &self.item.sig.ident;
        let doc = format!(
            " The value of [`{fname}`] and its gradient, written into the caller's buffers (overwritten, no allocation): one per differentiated parameter, in parameter order. Generated by `#[derive_gradient]`."
        );
        let attrs = Self::attrs();
        quote! {
            #[doc = #doc]
            #attrs
            #vis fn #name(#params, #(#out_params),*) -> #r {
                let _ = #fname;
                #checks
                // The whole sweep is compiled twice, and the AVX2 + FMA build runs on CPUs
                // that have them.
                #krate::runtime::simd::with_best_simd(#[inline(always)] || {
                    #body
                })
            }
        }
    }

    fn grad(&self) -> TokenStream {
        let vis = &self.item.vis;
        let name = self.name("grad");
        let into = self.name("grad_into");
        let params = self.params();
        let args = self.param_idents();
        let r = self.result_ty();
        let t = self.t();
        let grads_ty = self.grads_ty();
        let mut decls = TokenStream::new();
        let mut outs = Vec::new();
        let mut refs = Vec::new();
        for p in &self.wrt {
            let id = format_ident!("grad_{}", p.ident, span = Span::mixed_site());
            let pid = &p.ident;
            decls.extend(match p.ty {
                Ty::FloatArray(ArrayKind::Fixed(n)) => quote!(let mut #id = [0.0 as #t; #n];),
                Ty::FloatArray(_) => quote!(let mut #id = ::std::vec![0.0 as #t; #pid.len()];),
                _ => quote!(let mut #id = 0.0 as #t;),
            });
            refs.push(quote!(&mut #id));
            outs.push(id);
        }
        let value = format_ident!("value", span = Span::mixed_site());
        let grads = if outs.len() == 1 {
            let o = &outs[0];
            quote!(#o)
        } else {
            quote!((#(#outs),*))
        };
        let fname = &self.item.sig.ident;
        let names: Vec<String> = self
            .wrt
            .iter()
            .map(|p| format!("d{fname}/d{}", p.ident))
            .collect();
        let doc = format!(
            " The value of [`{fname}`] and its gradient `({})`, computed by reverse mode at compile time. Generated by `#[derive_gradient]`.",
            names.join(", ")
        );
        let attrs = Self::attrs();
        quote! {
            #[doc = #doc]
            #attrs
            #vis fn #name(#params) -> (#r, #grads_ty) {
                #decls
                let #value = #into(#(#args,)* #(#refs),*);
                (#value, #grads)
            }
        }
    }

    fn pushforward(&self) -> TokenStream {
        let vis = &self.item.vis;
        let name = self.name("pushforward");
        let params = self.params();
        let r = self.result_ty();
        let t = self.t();
        let mut f = self.lowered.func.clone();
        let wrt: Vec<VarId> = self.float_params.iter().map(|p| p.var).collect();
        let code = forward::transform(&mut f, &wrt);
        let mut externals = HashSet::new();
        let mut tan_vars = Vec::new();
        for p in &self.float_params {
            let var = match code.tan.get(&p.var) {
                Some(v) => *v,
                None => f.add_var(
                    format!("tan_{}", p.ident),
                    p.ty,
                    p.ident.span(),
                    Origin::Aux,
                ),
            };
            externals.insert(var);
            tan_vars.push(var);
        }
        let names = unique_names(&f, 0);
        let printer = Printer {
            names,
            f: &f,
            float: self.lowered.float,
            externals,
            slots: &[],
            krate: self.options.krate.clone(),
        };
        let mut also: Vec<VarId> = code.tan.values().copied().collect();
        also.push(f.result);
        let decls = printer.declarations(&code.body, &also);
        let body = printer.block(&code.body);
        let result = f.result;
        let value = self.return_value(&printer, result);
        let tangent = if code.active.contains(&result) {
            self.return_value(&printer, code.tan[&result])
        } else {
            let rid = printer.ident(result);
            match f.result_shape {
                ResultShape::Scalar => quote!(0.0 as #t),
                ResultShape::Array(n) => quote!([0.0 as #t; #n]),
                ResultShape::Tuple(n) => {
                    let zeros = (0..n).map(|_| quote!(0.0 as #t));
                    quote!((#(#zeros),*))
                }
                ResultShape::Vec => quote!(::std::vec![0.0 as #t; #rid.len()]),
            }
        };
        let tan_params: Vec<TokenStream> = self
            .float_params
            .iter()
            .zip(&tan_vars)
            .map(|(p, v)| {
                let id = printer.ident(*v);
                let ty = self.tangent_param_ty(p.ty);
                match p.ty {
                    Ty::FloatArray(ArrayKind::Slice) => quote!(#id: #ty),
                    _ => quote!(mut #id: #ty),
                }
            })
            .collect();
        let fname = &self.item.sig.ident;
        let doc = format!(
            " Forward mode (pushforward) of [`{fname}`]: returns `{fname}`'s value and its directional derivative along the given tangents of the float parameters. Generated by `#[derive_gradient]`."
        );
        let attrs = Self::attrs();
        let value_id = format_ident!("value", span = Span::mixed_site());
        quote! {
            #[doc = #doc]
            #attrs
            #vis fn #name(#params, #(#tan_params),*) -> (#r, #r) {
                let _ = #fname;
                #decls
                #body
                let #value_id = #value;
                (#value_id, #tangent)
            }
        }
    }

    fn jacobian(&self) -> TokenStream {
        let vis = &self.item.vis;
        let name = self.name("jacobian");
        let pullback = self.name("pullback");
        let pushforward = self.name("pushforward");
        let params = self.params();
        let args = self.param_idents();
        let fname = &self.item.sig.ident;
        let r = self.result_ty();
        let t = self.t();
        let krate = &self.options.krate;
        let m = |s: &str| format_ident!("{}", s, span = Span::mixed_site());
        let (value, jac, rows, cols, row, col) = (
            m("value"),
            m("jac"),
            m("rows"),
            m("cols"),
            m("row"),
            m("col"),
        );
        let shape = self.lowered.func.result_shape.clone();
        // Flattened outputs of a value `v`.
        let flat = |v: &syn::Ident| -> TokenStream {
            match shape {
                ResultShape::Tuple(n) => {
                    let idx = (0..n).map(syn::Index::from);
                    quote!([#(#v.#idx),*])
                }
                _ => quote!(#v),
            }
        };
        let value_flat = flat(&value);
        // One adjoint (or tangent) holder per float parameter; offsets of the wrt ones.
        let mut holders = TokenStream::new();
        let mut zero_holders = TokenStream::new();
        let mut adj_args = Vec::new();
        let mut tan_args = Vec::new();
        let mut read_row = TokenStream::new();
        let mut seed_col = TokenStream::new();
        let mut offset = quote!(0usize);
        for p in &self.float_params {
            let h = format_ident!("h_{}", p.ident, span = Span::mixed_site());
            let pid = &p.ident;
            holders.extend(match p.ty {
                Ty::FloatArray(ArrayKind::Fixed(n)) => quote!(let mut #h = [0.0 as #t; #n];),
                Ty::FloatArray(_) => quote!(let mut #h = ::std::vec![0.0 as #t; #pid.len()];),
                _ => quote!(let mut #h = 0.0 as #t;),
            });
            let is_array = p.ty.is_array();
            zero_holders.extend(if is_array {
                quote_spanned!(Span::mixed_site()=> for e in #h.iter_mut() { *e = 0.0 as #t; })
            } else {
                quote!(#h = 0.0 as #t;)
            });
            adj_args.push(match p.ty {
                Ty::FloatArray(ArrayKind::Fixed(_)) | Ty::Float => quote!(&mut #h),
                _ => quote!(&mut #h[..]),
            });
            tan_args.push(match p.ty {
                Ty::FloatArray(ArrayKind::Fixed(_)) | Ty::Float => quote!(#h),
                _ => quote!(&#h[..]),
            });
            if !self.wrt.iter().any(|w| w.var == p.var) {
                continue;
            }
            let width = if is_array {
                quote!(#pid.len())
            } else {
                quote!(1usize)
            };
            let off = offset.clone();
            if is_array {
                read_row.extend(
                    quote_spanned!(Span::mixed_site()=> for (k, e) in #h.iter().enumerate() { #jac[(#row, #off + k)] = *e; }),
                );
                seed_col.extend(quote!(if #col >= #off && #col < #off + #width { #h[#col - #off] = 1.0 as #t; }));
            } else {
                read_row.extend(quote!(#jac[(#row, #off)] = #h;));
                seed_col.extend(quote!(if #col == #off { #h = 1.0 as #t; }));
            }
            offset = quote!(#offset + #width);
        }
        let seed_value = match shape {
            ResultShape::Array(n) => {
                quote_spanned!(Span::mixed_site()=> { let mut s = [0.0 as #t; #n]; s[#row] = 1.0 as #t; s })
            }
            ResultShape::Tuple(n) => {
                let elems = (0..n).map(|k| quote!(if #row == #k { 1.0 as #t } else { 0.0 as #t }));
                quote!((#(#elems),*))
            }
            ResultShape::Vec => {
                quote_spanned!(Span::mixed_site()=> &{ let mut s = ::std::vec![0.0 as #t; #rows]; s[#row] = 1.0 as #t; s }[..])
            }
            ResultShape::Scalar => quote!(1.0 as #t),
        };
        let tan = m("tan");
        let tan_flat = flat(&tan);
        let transpose = match self.options.layout {
            Layout::Numerator => TokenStream::new(),
            Layout::Denominator => quote!(let #jac = #jac.transpose();),
        };
        let layout = match self.options.layout {
            Layout::Numerator => "numerator layout: `J[(i, k)] = d out_i / d in_k`",
            Layout::Denominator => "denominator layout: `J[(k, i)] = d out_i / d in_k`",
        };
        let doc = format!(
            " The value of [`{fname}`] and its Jacobian ({layout}; inputs are the differentiated parameters flattened in order). Built from reverse-mode rows or forward-mode columns, whichever needs fewer sweeps. Generated by `#[derive_gradient]`."
        );
        let attrs = Self::attrs();
        quote! {
            #[doc = #doc]
            #attrs
            #vis fn #name(#params) -> (#r, #krate::Jacobian<#t>) {
                let #value = #fname(#(#args),*);
                let #rows = #value_flat.len();
                let #cols = #offset;
                let mut #jac = #krate::Jacobian::<#t>::zeros(#rows, #cols);
                #holders
                if #rows <= #cols {
                    for #row in 0..#rows {
                        #zero_holders
                        #pullback(#(#args,)* #seed_value, #(#adj_args),*);
                        #read_row
                    }
                } else {
                    for #col in 0..#cols {
                        #zero_holders
                        #seed_col
                        let (_, #tan) = #pushforward(#(#args,)* #(#tan_args),*);
                        let #tan = #tan_flat;
                        for #row in 0..#rows { #jac[(#row, #col)] = #tan[#row]; }
                    }
                }
                #transpose
                (#value, #jac)
            }
        }
    }
}

#[allow(dead_code)]
fn _uses(_: ir::Ty) {}
