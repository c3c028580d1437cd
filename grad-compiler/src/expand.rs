//! The recipe: options -> lower -> companions -> code, and what is emitted on errors.

use crate::codegen;
use crate::companions::{self, Companion};
use crate::diag::Diagnostics;
use crate::ir::*;
use crate::lower::{self, FnSource, Lowered, ResultKind};
use crate::options::{self, Options};
use crate::shape::{self, FloatTy};
use crate::wrappers;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};

/// The item the attribute is on: a free function or a method of an `impl` block.
pub enum ItemFn {
    /// `fn f(..)`.
    Free(syn::ItemFn),
    /// `fn f(&self, ..)` inside `impl T { .. }`.
    Method(syn::ImplItemFn),
}

impl ItemFn {
    /// Parses the item.
    pub fn parse(item: TokenStream) -> syn::Result<ItemFn> {
        if let Ok(f) = syn::parse2::<syn::ItemFn>(item.clone()) {
            if f.sig.receiver().is_none() {
                return Ok(ItemFn::Free(f));
            }
        }
        match syn::parse2::<syn::ImplItemFn>(item) {
            Ok(m) => Ok(ItemFn::Method(m)),
            Err(_) => Err(syn::Error::new(
                Span::call_site(),
                "`#[derive_gradient]` goes on a function (`fn f(x: f64) -> f64 { .. }`) or a method of an `impl` block",
            )),
        }
    }

    /// The parts lowering reads.
    pub fn source(&self) -> FnSource<'_> {
        match self {
            ItemFn::Free(f) => FnSource {
                attrs: &f.attrs,
                vis: &f.vis,
                sig: &f.sig,
                block: &f.block,
                is_method: false,
            },
            ItemFn::Method(m) => FnSource {
                attrs: &m.attrs,
                vis: &m.vis,
                sig: &m.sig,
                block: &m.block,
                is_method: m.sig.receiver().is_some(),
            },
        }
    }
}

impl ToTokens for ItemFn {
    fn to_tokens(&self, out: &mut TokenStream) {
        match self {
            ItemFn::Free(f) => f.to_tokens(out),
            ItemFn::Method(m) => m.to_tokens(out),
        }
    }
}

/// `#[derive_gradient(attr)] item`: the item unchanged, and its companions. Never panics:
/// errors become `compile_error!`s next to the item and companions with the right
/// signatures whose bodies are `unreachable!()`.
pub fn derive_gradient(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = match ItemFn::parse(item.clone()) {
        Ok(p) => p,
        Err(e) => {
            let e = e.to_compile_error();
            return quote!(#item #e);
        }
    };
    let mut diag = Diagnostics::default();
    let options = options::parse(attr, &mut diag);
    let src = parsed.source();
    let generated = match lower::lower(&src) {
        Ok(l) if diag.is_empty() => generate(&options, &l, &src, &mut diag),
        Ok(_) => None,
        Err(e) => {
            diag.push(e);
            None
        }
    };
    match generated {
        // A function written only to be differentiated is used through its companions:
        // rustc's dead-code lint does not see that.
        Some(tokens) if diag.is_empty() => quote!(#[allow(dead_code)] #parsed #tokens),
        _ => {
            let stubs = stubs(&options, &src);
            let errors = diag.into_error(src.sig.ident.span()).to_compile_error();
            quote!(#parsed #errors #stubs)
        }
    }
}

/// The differentiated parameters: `wrt(..)` or every float parameter.
fn wrt(options: &Options, l: &Lowered, diag: &mut Diagnostics) -> Vec<VarId> {
    let floats = companions::float_params(l);
    let Some(names) = &options.wrt else {
        if floats.is_empty() {
            diag.error(
                l.sig.ident.span(),
                "this function has no float parameter to differentiate: give it an `f64`/`f32` parameter (or an array, slice or struct of them)",
            );
        }
        return floats;
    };
    let mut out = Vec::new();
    for n in names {
        let name = n.to_string();
        let param = l
            .func
            .params
            .iter()
            .find(|p| l.func.var(p.var).name == name);
        match param {
            Some(p) if floats.contains(&p.var) => {}
            Some(_) => diag.error(
                n.span(),
                format!("`{n}` is not a float parameter: `wrt(..)` names `f64`/`f32` parameters, arrays, slices or structs of them"),
            ),
            None => diag.error(
                n.span(),
                format!("`wrt` names `{n}`, which is not a parameter of this function"),
            ),
        }
    }
    for &p in &floats {
        let name = l.func.var(p).name.clone();
        if names.iter().any(|n| *n == name) {
            out.push(p);
        }
    }
    out
}

/// Everything the companions of one function share.
pub struct Ctx<'a> {
    pub options: &'a Options,
    pub lowered: &'a Lowered,
    pub src: &'a FnSource<'a>,
    pub krate: TokenStream,
    pub wrt: Vec<VarId>,
}

impl Ctx<'_> {
    /// `f_suffix`, at the user's function name.
    pub fn name(&self, suffix: &str) -> syn::Ident {
        let id = &self.src.sig.ident;
        format_ident!("{}_{}", id, suffix, span = id.span())
    }
    /// The user's visibility.
    pub fn vis(&self) -> TokenStream {
        self.src.vis.to_token_stream()
    }
    /// The result type as written.
    pub fn result(&self) -> TokenStream {
        self.lowered.sig.result.written.to_token_stream()
    }
    /// The float type's tokens.
    pub fn float(&self) -> TokenStream {
        match &self.lowered.sig.float {
            FloatTy::F32 => quote!(f32),
            FloatTy::F64 => quote!(f64),
            FloatTy::Generic(t) => syn::Ident::new(t, Span::call_site()).to_token_stream(),
        }
    }
    /// `&mut Jacobian<T>`, the matrix `f_jacobian_rows` fills.
    pub fn jacobian_type(&self) -> syn::Type {
        let (k, t) = (&self.krate, self.float());
        syn::parse2(quote!(&mut #k::Jacobian<#t>)).expect("a type")
    }
    /// The gradient part of `f_grad`'s result: one entry per differentiated parameter.
    pub fn gradient_type(&self) -> TokenStream {
        let tys: Vec<TokenStream> = self
            .wrt
            .iter()
            .map(|p| shape::gradient_type(&self.written(*p)))
            .collect();
        if tys.len() == 1 {
            tys[0].clone()
        } else {
            quote!((#(#tys),*))
        }
    }
    /// A parameter's written type.
    pub fn written(&self, p: VarId) -> syn::Type {
        self.lowered
            .func
            .params
            .iter()
            .find(|q| q.var == p)
            .map(|q| q.written.clone())
            .expect("a parameter")
    }
    /// Prints a companion.
    pub fn print(&self, c: &Companion, ret: TokenStream, doc: String) -> TokenStream {
        codegen::function(&codegen::Item {
            func: &c.func,
            name: self.name(c.suffix),
            vis: self.vis(),
            generics: &self.src.sig.generics,
            ret,
            doc,
            method: self.lowered.sig.is_method,
            krate: &self.krate,
        })
    }
}

fn generate(
    options: &Options,
    l: &Lowered,
    src: &FnSource,
    diag: &mut Diagnostics,
) -> Option<TokenStream> {
    let wrt = wrt(options, l, diag);
    if !diag.is_empty() {
        return None;
    }
    let cx = Ctx {
        options,
        lowered: l,
        src,
        krate: options.krate.to_token_stream(),
        wrt,
    };
    let fname = &src.sig.ident;
    let r = cx.result();
    let sums = crate::reverse::Sums::of(options);
    let scalar = l.sig.result.kind == ResultKind::Scalar;
    let mut out = TokenStream::new();

    let pb = companions::pullback(l, sums);
    for e in &pb.errors {
        diag.error(fname.span(), e.clone());
    }
    out.extend(cx.print(
        &pb,
        r.clone(),
        format!(" Reverse mode (pullback, a vector-Jacobian product) of [`{fname}`]: returns its value and adds `seed`ᵀ times its derivative with respect to each float parameter into that parameter's `adj_*` buffer. Generated by `#[derive_gradient]`."),
    ));
    let (pf, how) = if scalar && !options.forward {
        (wrappers::pushforward(&cx), format!("The value of [`{fname}`] and its directional derivative along the tangents `tan_*` of its float parameters (a Jacobian-vector product): its gradient over every float parameter, by one reverse sweep, dotted with the tangents (the floats with a zero tangent skipped). Forward mode with `#[derive_gradient(forward)]`."))
    } else {
        (companions::pushforward(l, sums), format!("Forward mode (pushforward, a Jacobian-vector product) of [`{fname}`]: returns its value and its directional derivative along the tangents `tan_*` of its float parameters."))
    };
    out.extend(cx.print(
        &pf,
        quote!((#r, #r)),
        format!(" {how} Generated by `#[derive_gradient]`."),
    ));
    let mut gi = None;
    if scalar {
        let into = companions::grad_into(l, &cx.wrt, sums, &pb.func);
        for e in &into.errors {
            diag.error(fname.span(), e.clone());
        }
        let partials = crate::symbolic::doc_section(l, &cx.wrt);
        out.extend(cx.print(
            &into,
            r.clone(),
            format!(" The value of [`{fname}`], with its gradient written into the `grad_*` buffers (overwritten, no allocation): one per differentiated parameter, in parameter order.{partials} Generated by `#[derive_gradient]`."),
        ));
        let grad = wrappers::grad(&cx, &into);
        let g = cx.gradient_type();
        out.extend(cx.print(
            &grad,
            quote!((#r, #g)),
            format!(" The value of [`{fname}`] and its gradient: one entry per differentiated parameter, each of that parameter's shape.{partials} Computed by reverse mode generated at compile time by `#[derive_gradient]`."),
        ));
        gi = Some(into);
    } else {
        // What it cannot differentiate, the pullback (over every float) reported already.
        let rows = companions::jacobian_rows(l, &cx.wrt, sums, cx.jacobian_type());
        out.extend(cx.print(
            &rows,
            r.clone(),
            format!(" The rows of the Jacobian of [`{fname}`] into `matrix` (`rows` of them, as [`{fname}_jacobian`] sizes it), over the differentiated parameters: one forward sweep, then one reverse sweep per row; returns the value. What [`{fname}_jacobian`] calls. Generated by `#[derive_gradient]`."),
        ));
        out.extend(wrappers::jacobian(&cx, false));
    }
    if options.hessian {
        match &gi {
            None => diag.error(
                fname.span(),
                "`hessian` needs a scalar result: a Hessian is the Jacobian of a gradient",
            ),
            Some(gi) => {
                out.extend(wrappers::second_order(&cx, &pb, gi));
                out.extend(second_order_checks(l));
            }
        }
    }
    out.extend(order_marker(&cx));
    Some(out)
}

/// `__grad_order_f`: how many orders of derivative companions `f` has (1, or 2 with
/// `hessian`), so that the Hessians of its callers can check it at compile time.
fn order_marker(cx: &Ctx) -> TokenStream {
    let name = marker_name(&cx.src.sig.ident);
    let vis = cx.vis();
    let order: u8 = if cx.options.hessian { 2 } else { 1 };
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        #vis const #name: u8 = #order;
    }
}

fn marker_name(f: &syn::Ident) -> syn::Ident {
    format_ident!("__grad_order_{}", f, span = f.span())
}

/// For a function with `hessian`: a compile-time check, at each call of another function,
/// that the callee has its second-order companions, with an error that says what to add.
fn second_order_checks(l: &Lowered) -> TokenStream {
    let mut out = TokenStream::new();
    let mut seen = crate::hash::HashSet::default();
    crate::visit::walk(&l.func.body, &mut |s| {
        let Stmt::Assign {
            op: Op::Call(call), ..
        } = s
        else {
            return;
        };
        let Callee::Path(path) = &call.callee else {
            return;
        };
        let Some(last) = path.segments.last() else {
            return;
        };
        if !seen.insert(last.ident.to_string()) {
            return;
        }
        let mut marker = path.clone();
        if let Some(seg) = marker.segments.last_mut() {
            seg.ident = marker_name(&seg.ident);
            seg.arguments = syn::PathArguments::None;
        }
        let msg = format!(
            "`{}` has no second-order companions: write `#[derive_gradient(hessian)]` on it",
            last.ident
        );
        let span = last.ident.span();
        out.extend(quote::quote_spanned! {span=>
            const _: () = ::core::assert!(#marker >= 2, #msg);
        });
    });
    out
}

/// Companions with the right signatures and `unreachable!()` bodies, from the signature
/// alone (the same builders as the real ones, over an empty body).
fn stubs(options: &Options, src: &FnSource) -> TokenStream {
    let Some(sig) = lower::lower_signature_only(src) else {
        return TokenStream::new();
    };
    let l = Lowered::signature_only(sig);
    let mut diag = Diagnostics::default();
    let mut opts = options.clone();
    let mut w = wrt(&opts, &l, &mut diag);
    if !diag.is_empty() {
        opts.wrt = None;
        w = companions::float_params(&l);
    }
    if w.is_empty() {
        return TokenStream::new();
    }
    let cx = Ctx {
        options: &opts,
        lowered: &l,
        src,
        krate: options.krate.to_token_stream(),
        wrt: w,
    };
    let r = cx.result();
    let mut out = TokenStream::new();
    let stub = |c: &Companion, ret: TokenStream| {
        let mut c2 = Companion {
            suffix: c.suffix,
            func: c.func.clone(),
            errors: Vec::new(),
        };
        c2.func.body = Vec::new();
        c2.func.returns = Vec::new();
        codegen::stub(&codegen::Item {
            func: &c2.func,
            name: cx.name(c.suffix),
            vis: cx.vis(),
            generics: &src.sig.generics,
            ret,
            doc: String::new(),
            method: l.sig.is_method,
            krate: &cx.krate,
        })
    };
    let pb = companions::pullback(&l, crate::reverse::Sums::Reassociated);
    out.extend(stub(&pb, r.clone()));
    let scalar = l.sig.result.kind == ResultKind::Scalar;
    let pf = if scalar && !options.forward {
        wrappers::pushforward(&cx)
    } else {
        companions::pushforward(&l, crate::reverse::Sums::Reassociated)
    };
    out.extend(stub(&pf, quote!((#r, #r))));
    if scalar {
        let gi = companions::grad_into(&l, &cx.wrt, crate::reverse::Sums::Reassociated, &pb.func);
        out.extend(stub(&gi, r.clone()));
        let g = cx.gradient_type();
        out.extend(stub(&wrappers::grad(&cx, &gi), quote!((#r, #g))));
    } else {
        out.extend(wrappers::jacobian(&cx, true));
    }
    out
}
