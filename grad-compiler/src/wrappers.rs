//! The companions that only arrange calls of the others: `f_grad` (buffers, then
//! `f_grad_into`), `f_pushforward` of a float result (the pullback's gradient along the
//! tangents), `f_jacobian` (rows by pullbacks or columns by pushforwards), and the
//! second-order ones (`f_hvp`, `f_hessian`).
//!
//! `f_grad`, `f_pushforward` and `f_hvp` are IR functions like the rest; the Jacobian and Hessian loops are
//! templates over the runtime's shape trait, which handles every parameter shape.

use crate::companions::{self, Companion};
use crate::expand::Ctx;
use crate::ir::*;
use crate::lower::Lowered;
use crate::names::Binder;
use crate::options::Layout;
use crate::shape::Ty;
use proc_macro2::{Span, TokenStream};
use quote::quote;

fn span() -> Span {
    Span::call_site()
}

/// A hygienic local of a template.
fn local(b: Binder) -> syn::Ident {
    local_of(b, "")
}

/// The hygienic name of binder `b` for the value named `of` (`adj_x`).
fn local_of(b: Binder, of: &str) -> syn::Ident {
    syn::Ident::new(&b.name(of), Span::mixed_site())
}

/// `f_grad`: zeroed gradient entries, filled by `f_grad_into`.
pub fn grad(cx: &Ctx, into: &Companion) -> Companion {
    let l = cx.lowered;
    let mut f = base(l);
    let mut args: Vec<Arg> = user_args(&f);
    let mut grads = Vec::new();
    for &p in &cx.wrt {
        let g = zeroed_buffer(&mut f, Binder::Gradient, p);
        args.push(Arg::MutRef(Place::var(g)));
        grads.push(g);
    }
    let mut body = std::mem::take(&mut f.body);
    let callee = companions::companion_callee(l, into.suffix);
    let value = companions::call_for_value(&mut f, &mut body, callee, args);
    f.body = body;
    let g = tuple_of(&mut f, &grads);
    f.returns = vec![value, g];
    Companion {
        suffix: "grad",
        func: f,
        errors: Vec::new(),
    }
}

/// `f_pushforward` of a function with a float result: the gradient (`f_grad_into` into new
/// buffers when it covers every float parameter, else the pullback with a unit seed into
/// zeroed adjoints), then the gradient along the tangents, the floats with a zero tangent
/// skipped (`scaled(tan_x, adj_x)` for a float, `Differentiable::along` for the rest).
///
/// For a scalar result the directional derivative is the gradient dotted with the
/// tangent, so one reverse sweep gives it exactly, and `f_pushforward` agrees with `f_grad`
/// everywhere, singular points included. Forward mode, a second derivative program the
/// size of the pullback, stays for results that are not floats (Jacobian columns).
pub fn pushforward(cx: &Ctx) -> Companion {
    let l = cx.lowered;
    let mut f = base(l);
    let mut args = user_args(&f);
    let tangents = companions::tangent_params(l, &mut f);
    // `f_grad_into` when it covers every float parameter (the default): it overwrites its
    // buffers and sums loops straight into them, where the pullback, which adds into its
    // buffers, keeps each loop's partials in a buffer of its own.
    let floats: Vec<VarId> = tangents.iter().map(|(p, _)| *p).collect();
    let (suffix, binder) = if cx.wrt == floats {
        ("grad_into", Binder::Gradient)
    } else {
        args.push(Arg::Value(Atom::Float(1.0)));
        ("pullback", Binder::Adjoint)
    };
    let mut adjoints = Vec::new();
    for &(p, _) in &tangents {
        let a = zeroed_buffer(&mut f, binder, p);
        args.push(Arg::MutRef(Place::var(a)));
        adjoints.push(a);
    }
    let mut body = std::mem::take(&mut f.body);
    let callee = companions::companion_callee(l, suffix);
    let value = companions::call_for_value(&mut f, &mut body, callee, args);
    let tan = f.add_var(
        Binder::Tangent.name("value"),
        Ty::Float,
        span(),
        Origin::Made(Binder::Tangent, Some(value)),
    );
    let mut tangent = Atom::Float(0.0);
    for (i, (&(p, t), &a)) in tangents.iter().zip(&adjoints).enumerate() {
        let part = if tangents.len() == 1 {
            tan
        } else {
            f.add_var("", Ty::Float, span(), Origin::Temp)
        };
        body.push(if *f.ty(p) == Ty::Float {
            Stmt::Assign {
                target: part,
                op: Op::Prim(prim("scaled"), vec![Atom::Var(t), Atom::Var(a)]),
                span: span(),
            }
        } else {
            Stmt::Sweep(Sweep::Kernel(Kernel::Along {
                target: part,
                tangent: Place::var(t),
                gradient: Place::var(a),
            }))
        });
        tangent = if i == 0 {
            Atom::Var(part)
        } else {
            let sum = f.add_var("", Ty::Float, span(), Origin::Temp);
            body.push(Stmt::Assign {
                target: sum,
                op: Op::Prim(prim("add"), vec![tangent, Atom::Var(part)]),
                span: span(),
            });
            Atom::Var(sum)
        };
    }
    if tangents.len() != 1 {
        body.push(Stmt::Assign {
            target: tan,
            op: Op::Use(tangent),
            span: span(),
        });
    }
    f.body = body;
    f.returns = vec![value, tan];
    Companion {
        suffix: "pushforward",
        func: f,
        errors: Vec::new(),
    }
}

/// `b = zero_like(p)` at the end of `f`'s body: a new derivative buffer of parameter `p`'s
/// shape, named after `binder` (`grad_x`, `adj_x`).
fn zeroed_buffer(f: &mut Function, binder: Binder, p: VarId) -> VarId {
    let b = f.add_var(
        binder.name(&f.var(p).name),
        f.ty(p).derivative(),
        f.var(p).span,
        Origin::Made(binder, Some(p)),
    );
    f.body.push(Stmt::Assign {
        target: b,
        op: Op::ZeroLike(Atom::Var(p)),
        span: span(),
    });
    b
}

fn prim(name: &str) -> crate::rules::Prim {
    crate::rules::prim(name).expect("the rule table has it")
}

/// The user's function with no body: its parameters and variables.
fn base(l: &Lowered) -> Function {
    let mut f = l.func.clone();
    f.body = Vec::new();
    f
}

/// The user's parameters as arguments.
fn user_args(f: &Function) -> Vec<Arg> {
    f.params
        .iter()
        .map(|p| Arg::Value(Atom::Var(p.var)))
        .collect()
}

/// The variables as one value: itself when one, a tuple otherwise.
fn tuple_of(f: &mut Function, vars: &[VarId]) -> VarId {
    if vars.len() == 1 {
        return vars[0];
    }
    let ty = Ty::Tuple(vars.iter().map(|v| f.ty(*v).clone()).collect());
    let t = f.add_var("", ty, span(), Origin::Temp);
    f.body.push(Stmt::Assign {
        target: t,
        op: Op::Tuple(vars.iter().map(|v| Atom::Var(*v)).collect()),
        span: span(),
    });
    t
}

/// How a template refers to a parameter as a reference (`x` when it already is one).
fn as_ref(cx: &Ctx, p: &Param) -> TokenStream {
    let id = param_ident(cx, p);
    match p.passing {
        Passing::Ref => quote!(#id),
        _ => quote!(&#id),
    }
}

fn param_ident(cx: &Ctx, p: &Param) -> TokenStream {
    let name = &cx.lowered.func.var(p.var).name;
    if name == "self" {
        return quote!(self);
    }
    let id = syn::Ident::new(name, cx.lowered.func.var(p.var).span);
    quote!(#id)
}

/// The user's parameters passed on (cloned where not `Copy`).
fn pass_params(cx: &Ctx, skip_self: bool) -> Vec<TokenStream> {
    cx.lowered
        .func
        .params
        .iter()
        .filter(|p| !(skip_self && cx.lowered.func.var(p.var).name == "self"))
        .map(|p| {
            let id = param_ident(cx, p);
            if p.passing == Passing::Value && cx.lowered.func.ty(p.var).needs_clone() {
                quote!(#id.clone())
            } else {
                id
            }
        })
        .collect()
}

/// A call of one of this function's companions (a method call for methods).
fn call(cx: &Ctx, suffix: &str, extra: &[TokenStream]) -> TokenStream {
    let name = if suffix.is_empty() {
        cx.src.sig.ident.clone()
    } else {
        cx.name(suffix)
    };
    if cx.lowered.sig.is_method {
        let args = pass_params(cx, true);
        quote!(self.#name(#(#args,)* #(#extra),*))
    } else {
        let args = pass_params(cx, false);
        quote!(#name(#(#args,)* #(#extra),*))
    }
}

fn signature(cx: &Ctx, name: &syn::Ident, extra: TokenStream, ret: TokenStream) -> TokenStream {
    let vis = cx.vis();
    let inputs = &cx.src.sig.inputs;
    let generics = &cx.src.sig.generics;
    let gparams = &generics.params;
    let gen = if gparams.is_empty() {
        TokenStream::new()
    } else {
        quote!(<#gparams>)
    };
    let wc = &generics.where_clause;
    let comma = (!inputs.is_empty() && !extra.is_empty()).then(|| quote!(,));
    quote!(#vis fn #name #gen (#inputs #comma #extra) -> #ret #wc)
}

/// `f_jacobian_into`, which writes the Jacobian into a caller's matrix (reshaped, its
/// allocation reused): rows by `f_jacobian_rows` (one forward sweep, a reverse sweep per
/// row) when there are fewer outputs than inputs, columns by pushforwards otherwise;
/// numerator layout unless `layout = "denominator"`. And `f_jacobian`, which calls it with
/// a new matrix.
pub fn jacobian(cx: &Ctx, stub: bool) -> TokenStream {
    let k = &cx.krate;
    let t = cx.float();
    let r = cx.result();
    let fname = &cx.src.sig.ident;
    let matrix = local(Binder::Matrix);
    let into_name = cx.name("jacobian_into");
    let into_sig = signature(
        cx,
        &into_name,
        quote!(#matrix: &mut #k::Jacobian<#t>),
        r.clone(),
    );
    let sig = signature(
        cx,
        &cx.name("jacobian"),
        TokenStream::new(),
        quote!((#r, #k::Jacobian<#t>)),
    );
    if stub {
        return quote! {
            #[allow(unused_variables, clippy::all)] #into_sig { ::core::unreachable!() }
            #[allow(unused_variables, clippy::all)] #sig { ::core::unreachable!() }
        };
    }
    let value = local(Binder::Value);
    let into = call(cx, "jacobian_into", &[quote!(&mut #matrix)]);
    let doc = format!(
        " The value of [`{fname}`] and its Jacobian, as [`{fname}_jacobian_into`] writes it, in a new matrix. Generated by `#[derive_gradient]`."
    );
    let mut out = quote! {
        #[doc = #doc]
        #[inline]
        #[allow(unused_variables, unused_mut, clippy::all)]
        #sig {
            let mut #matrix = #k::Jacobian::<#t>::zeros(0, 0);
            let #value = #into;
            (#value, #matrix)
        }
    };
    out.extend(jacobian_into(cx, into_sig));
    out
}

/// The body of `f_jacobian_into`.
fn jacobian_into(cx: &Ctx, sig: TokenStream) -> TokenStream {
    let k = &cx.krate;
    let t = cx.float();
    let r = cx.result();
    let fname = &cx.src.sig.ident;
    let f = &cx.lowered.func;
    let floats: Vec<&Param> = f
        .params
        .iter()
        .filter(|p| f.ty(p.var).carries_derivative())
        .collect();
    let shape = quote!(#k::runtime::Differentiable);
    let (value, matrix, rows, cols, col, column) = (
        local(Binder::Value),
        local(Binder::Matrix),
        local(Binder::Rows),
        local(Binder::Cols),
        local(Binder::Col),
        local(Binder::Column),
    );
    let tan: Vec<syn::Ident> = floats
        .iter()
        .map(|p| local_of(Binder::Tangent, &f.var(p.var).name))
        .collect();
    let refs: Vec<TokenStream> = floats.iter().map(|p| as_ref(cx, p)).collect();
    let wrt: Vec<bool> = floats.iter().map(|p| cx.wrt.contains(&p.var)).collect();
    // Offsets of the differentiated parameters' columns.
    let mut width = quote!(0usize);
    let mut seed_col = TokenStream::new();
    for (tn, (p, w)) in tan.iter().zip(floats.iter().zip(&wrt)) {
        if !*w {
            continue;
        }
        let pref = as_ref(cx, p);
        let off = quote!((#width));
        seed_col.extend(quote! {
            {
                let n = #shape::flat_len(#pref);
                if #col >= #off && #col < #off + n {
                    #k::runtime::set_unit(&mut #tn, #col - #off);
                }
            }
        });
        width = quote!(#width + #shape::flat_len(#pref));
    }
    let tan_args: Vec<TokenStream> = floats
        .iter()
        .zip(&tan)
        .map(|(p, tn)| match p.passing {
            Passing::Ref => quote!(&#tn),
            _ => quote!(#tn.clone()),
        })
        .collect();
    let pushforward = call(cx, "pushforward", &tan_args);
    let primal = call(cx, "", &[]);
    // A result of fixed size (arrays and tuples of floats) has its shape without a call:
    // the sweeps then give the value, and `f` runs only when there is no sweep.
    let fixed = cx.lowered.sig.result.ty.fixed_size();
    let (swept, tangent) = (local(Binder::Swept), local(Binder::TangentOut));
    let (start, sweep_value, no_sweep) = if fixed {
        (
            quote!(<#r as #k::runtime::Placeholder>::placeholder()),
            quote!(#value = ),
            quote!(if #rows == 0 || #cols == 0 { #value = #primal; }),
        )
    } else {
        (primal.clone(), TokenStream::new(), TokenStream::new())
    };
    let by_rows = call(cx, "jacobian_rows", &[quote!(&mut *#matrix), quote!(#rows)]);
    let transpose = match cx.options.layout {
        Layout::Numerator => TokenStream::new(),
        Layout::Denominator => quote!(*#matrix = #matrix.transpose();),
    };
    let layout = match cx.options.layout {
        Layout::Numerator => "numerator layout: `J[(i, k)] = d out_i / d in_k`",
        Layout::Denominator => "denominator layout: `J[(k, i)] = d out_i / d in_k`",
    };
    let doc = format!(
        " The value of [`{fname}`], with its Jacobian ({layout}; outputs and inputs flattened in order, inputs the differentiated parameters) written into `matrix`, which is reshaped to it (its allocation reused: no allocation when it has the room). Built from reverse-mode rows or forward-mode columns, whichever needs fewer sweeps. Generated by `#[derive_gradient]`."
    );
    quote! {
        #[doc = #doc]
        #[inline]
        #[allow(unused_variables, unused_mut, clippy::all)]
        #sig {
            let mut #value = #start;
            let #rows = #shape::flat_len(&#value);
            let #cols = #width;
            #matrix.reset(#rows, #cols);
            if #rows <= #cols {
                #value = #by_rows;
            } else {
                #(let mut #tan = #k::runtime::zero_like(#refs);)*
                let mut #column = ::std::vec![<#t as #k::Float>::zero(); #rows];
                for #col in 0..#cols {
                    #(#shape::set_zero(&mut #tan);)*
                    #seed_col
                    let (#swept, #tangent) = #pushforward;
                    #sweep_value #swept;
                    #shape::write_flat(&#tangent, &mut #column);
                    #matrix.set_col(#col, &#column);
                }
            }
            #no_sweep
            #transpose
            #value
        }
    }
}

/// `f_pullback_pushforward` (what callers' Hessians call), `f_hvp_into`, `f_hvp` and
/// `f_hessian`.
pub fn second_order(cx: &Ctx, pb: &Companion, gi: &Companion) -> TokenStream {
    let r = cx.result();
    let fname = &cx.src.sig.ident;
    let mut out = TokenStream::new();
    let (pbpf, hvp_into) =
        companions::second_order(pb, gi, &cx.wrt, crate::reverse::Sums::of(cx.options));
    out.extend(cx.print(
        &pbpf,
        quote!((#r, #r)),
        format!(" Forward mode over [`{fname}_pullback`]: its value and the tangents of its value and of the adjoints it adds, along the tangents `tan_*` of its float parameters, its seed and its buffers. Called by the Hessians of functions that call [`{fname}`]. Generated by `#[derive_gradient(hessian)]`."),
    ));
    out.extend(cx.print(
        &hvp_into,
        r.clone(),
        format!(" The value of [`{fname}`], its gradient into the `grad_*` buffers and the Hessian times the direction `v_*` into the `hv_*` buffers (forward mode over the gradient: one sweep, no Hessian formed). Generated by `#[derive_gradient(hessian)]`."),
    ));
    let hvp = hvp_wrapper(cx, &hvp_into);
    let g = cx.gradient_type();
    out.extend(cx.print(
        &hvp,
        quote!((#r, #g, #g)),
        format!(" The value of [`{fname}`], its gradient, and the Hessian times the direction `v_*` (shaped like the gradient), without forming the Hessian. Generated by `#[derive_gradient(hessian)]`."),
    ));
    out.extend(hessian(cx));
    out
}

/// `f_hvp`: buffers for the gradient and the product, filled by `f_hvp_into`.
pub fn hvp_wrapper(cx: &Ctx, into: &Companion) -> Companion {
    let l = cx.lowered;
    let mut f = base(l);
    let mut args: Vec<Arg> = user_args(&f);
    // The direction parameters, as `f_hvp_into` has them.
    let mut directions = Vec::new();
    for p in into.func.params.iter().filter(|p| {
        matches!(
            into.func.var(p.var).origin,
            Origin::Made(Binder::Direction, _)
        )
    }) {
        let var = into.func.var(p.var).clone();
        let v = f.add_var(var.name, var.ty, var.span, var.origin);
        f.params.push(Param {
            var: v,
            passing: p.passing.clone(),
            written: p.written.clone(),
        });
        directions.push(Arg::Value(Atom::Var(v)));
    }
    let mut grads = Vec::new();
    let mut hvs = Vec::new();
    for (binder, out) in [
        (Binder::Gradient, &mut grads),
        (Binder::HessianVector, &mut hvs),
    ] {
        for &p in &cx.wrt {
            let ty = f.ty(p).derivative();
            let g = f.add_var(
                binder.name(&f.var(p).name),
                ty,
                f.var(p).span,
                Origin::Made(binder, Some(p)),
            );
            f.body.push(Stmt::Assign {
                target: g,
                op: Op::ZeroLike(Atom::Var(p)),
                span: span(),
            });
            out.push(g);
        }
    }
    // f_hvp_into(params.., grad_p.., v_p.., hv_p..): forward mode's order, the gradient's
    // parameters then their tangents.
    args.extend(grads.iter().map(|g| Arg::MutRef(Place::var(*g))));
    args.extend(directions);
    args.extend(hvs.iter().map(|h| Arg::MutRef(Place::var(*h))));
    let mut body = std::mem::take(&mut f.body);
    let callee = companions::companion_callee(l, "hvp_into");
    let value = companions::call_for_value(&mut f, &mut body, callee, args);
    f.body = body;
    let g = tuple_of(&mut f, &grads);
    let h = tuple_of(&mut f, &hvs);
    f.returns = vec![value, g, h];
    Companion {
        suffix: "hvp",
        func: f,
        errors: Vec::new(),
    }
}

/// `f_hessian`: one Hessian-vector product per column, symmetrised.
fn hessian(cx: &Ctx) -> TokenStream {
    let k = &cx.krate;
    let t = cx.float();
    let r = cx.result();
    let g = cx.gradient_type();
    let name = cx.name("hessian");
    let fname = &cx.src.sig.ident;
    let sig = signature(
        cx,
        &name,
        TokenStream::new(),
        quote!((#r, #g, #k::Jacobian<#t>)),
    );
    let f = &cx.lowered.func;
    let shape = quote!(#k::runtime::Differentiable);
    let wrt: Vec<&Param> = f
        .params
        .iter()
        .filter(|p| cx.wrt.contains(&p.var))
        .collect();
    let name_of = |b: Binder, p: &Param| local_of(b, &f.var(p.var).name);
    let grads: Vec<syn::Ident> = wrt.iter().map(|p| name_of(Binder::Gradient, p)).collect();
    let dirs: Vec<syn::Ident> = wrt.iter().map(|p| name_of(Binder::Direction, p)).collect();
    let hvs: Vec<syn::Ident> = wrt
        .iter()
        .map(|p| name_of(Binder::HessianVector, p))
        .collect();
    let refs: Vec<TokenStream> = wrt.iter().map(|p| as_ref(cx, p)).collect();
    let (value, matrix, n, col) = (
        local(Binder::Value),
        local(Binder::Matrix),
        local(Binder::Width),
        local(Binder::Col),
    );
    let mut width = quote!(0usize);
    let mut seed_col = TokenStream::new();
    let mut read_col = TokenStream::new();
    for ((p, d), h) in wrt.iter().zip(&dirs).zip(&hvs) {
        let pref = as_ref(cx, p);
        let off = quote!((#width));
        seed_col.extend(quote! {
            {
                let m = #shape::flat_len(#pref);
                if #col >= #off && #col < #off + m {
                    #k::runtime::set_unit(&mut #d, #col - #off);
                }
            }
        });
        read_col.extend(quote! {
            {
                let m = #shape::flat_len(#pref);
                #shape::write_flat(&#h, &mut #matrix.row_mut(#col)[#off..#off + m]);
            }
        });
        width = quote!(#width + #shape::flat_len(#pref));
    }
    let dir_args: Vec<TokenStream> = wrt
        .iter()
        .zip(&dirs)
        .map(|(p, d)| match p.passing {
            Passing::Ref => quote!(&#d),
            _ => quote!(#d.clone()),
        })
        .collect();
    let mut extra: Vec<TokenStream> = grads.iter().map(|g| quote!(&mut #g)).collect();
    extra.extend(dir_args);
    extra.extend(hvs.iter().map(|h| quote!(&mut #h)));

    let hvp_into = call(cx, "hvp_into", &extra);
    let grad_into = call(
        cx,
        "grad_into",
        &grads.iter().map(|g| quote!(&mut #g)).collect::<Vec<_>>(),
    );
    let gtuple = if grads.len() == 1 {
        let g0 = &grads[0];
        quote!(#g0)
    } else {
        quote!((#(#grads),*))
    };
    let doc = format!(
        " The value of [`{fname}`], its gradient (as [`{fname}_grad`] returns it) and its Hessian: square over the differentiated parameters flattened in order, symmetric. One Hessian-vector product per column (each also gives the value and the gradient). Generated by `#[derive_gradient(hessian)]`."
    );
    quote! {
        #[doc = #doc]
        #[allow(unused_variables, unused_mut, clippy::all)]
        #sig {
            #(let mut #grads = #k::runtime::zero_like(#refs);)*
            #(let mut #dirs = #k::runtime::zero_like(#refs);)*
            #(let mut #hvs = #k::runtime::zero_like(#refs);)*
            let #n = #width;
            let mut #matrix = #k::Jacobian::<#t>::zeros(#n, #n);
            // H e_col is column `col` of H, and row `col` as H is symmetric: it is written
            // there, contiguous (`symmetrize` averages the two triangles' rounding). Each
            // sweep also gives the value and the gradient.
            let mut #value = ::core::option::Option::None;
            for #col in 0..#n {
                #(#shape::set_zero(&mut #dirs);)*
                #seed_col
                #value = ::core::option::Option::Some(#hvp_into);
                #read_col
            }
            let #value = match #value {
                ::core::option::Option::Some(v) => v,
                ::core::option::Option::None => #grad_into,
            };
            #matrix.symmetrize();
            (#value, #gtuple, #matrix)
        }
    }
}
