//! Source text compiled to IR the way the macro compiles it: every function of a library is
//! lowered and given its companions with the same builders, options and order as
//! [`crate::expand`] (`pullback`, `pushforward`, `grad_into` and the `grad` wrapper for a
//! scalar result, and with `hessian` `pullback_pushforward`, `hvp_into` and `hvp`), so the
//! evaluator runs what code generation would print.

use super::eval::Registry;
use crate::companions::{self, Companion};
use crate::diag::Diagnostics;
use crate::expand::Ctx;
use crate::ir::*;
use crate::lower::{self, FnSource, Lowered, ResultKind};
use crate::options::{self, Options};
use crate::wrappers;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// One function compiled: its IR and every companion's.
pub struct Compiled {
    /// The function's name.
    pub name: String,
    /// The lowered function.
    pub lowered: Lowered,
    /// Its `#[derive_gradient(..)]` options.
    pub options: Options,
    /// The differentiated parameters (`wrt(..)` or every float parameter).
    pub wrt: Vec<VarId>,
    /// Whether the result is a scalar (it has a gradient).
    pub scalar: bool,
    /// The companions and IR wrappers by suffix: `pullback`, `pushforward`, `grad_into`,
    /// `grad`, `pullback_pushforward`, `hvp_into`, `hvp`.
    pub companions: Vec<(&'static str, Function)>,
    /// What the companions could not differentiate: the macro's errors.
    pub errors: Vec<String>,
}

impl Compiled {
    /// The companion with this suffix.
    pub fn companion(&self, suffix: &str) -> Option<&Function> {
        self.companions
            .iter()
            .find(|(s, _)| *s == suffix)
            .map(|(_, f)| f)
    }

    /// Adds the function and its companions to `reg` (`f`, `f_pullback`, ...).
    pub fn register(&self, reg: &mut Registry) {
        reg.insert(self.name.clone(), self.lowered.func.clone());
        for (suffix, f) in &self.companions {
            reg.insert(format!("{}_{suffix}", self.name), f.clone());
        }
    }
}

/// Compiles every function of `src` (functions carrying `#[derive_gradient(..)]`, or none),
/// in order, and registers them all.
pub fn compile_library(src: &str) -> Result<(Vec<Compiled>, Registry), String> {
    let file: syn::File = syn::parse_str(src).map_err(|e| format!("does not parse: {e}"))?;
    let mut out = Vec::new();
    let mut reg = Registry::new();
    for item in &file.items {
        let f = match item {
            syn::Item::Fn(f) => f,
            // The macro never sees a struct's definition; the evaluator does not need it.
            syn::Item::Struct(_) => continue,
            _ => return Err("only functions and structs are compiled".into()),
        };
        let c = compile_fn(f)?;
        c.register(&mut reg);
        out.push(c);
    }
    Ok((out, reg))
}

/// The tokens inside `#[derive_gradient(..)]`, and the other attributes.
fn split_attrs(attrs: &[syn::Attribute]) -> (TokenStream, Vec<syn::Attribute>) {
    let mut ours = TokenStream::new();
    let mut rest = Vec::new();
    for a in attrs {
        let is_ours = a
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "derive_gradient");
        match (&a.meta, is_ours) {
            (syn::Meta::List(l), true) => ours = l.tokens.clone(),
            (_, true) => {}
            _ => rest.push(a.clone()),
        }
    }
    (ours, rest)
}

/// Compiles one function as [`crate::expand::derive_gradient`] does; an error is the
/// macro's error messages.
pub fn compile_fn(item: &syn::ItemFn) -> Result<Compiled, String> {
    let (attr, attrs) = split_attrs(&item.attrs);
    let mut diag = Diagnostics::default();
    let options = options::parse(attr, &mut diag);
    let src = FnSource {
        attrs: &attrs,
        vis: &item.vis,
        sig: &item.sig,
        block: &item.block,
        is_method: false,
    };
    let lowered = lower::lower(&src).map_err(|e| errors_of(&e))?;
    if !diag.is_empty() {
        return Err(errors_of(&diag.into_error(Span::call_site())));
    }
    let wrt = wrt(&options, &lowered)?;
    let scalar = lowered.sig.result.kind == ResultKind::Scalar;
    let mut c = Compiled {
        name: lowered.sig.ident.to_string(),
        lowered,
        options,
        wrt,
        scalar,
        companions: Vec::new(),
        errors: Vec::new(),
    };
    companions_of(&mut c, &src);
    Ok(c)
}

fn errors_of(e: &syn::Error) -> String {
    e.clone()
        .into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The differentiated parameters, as `expand` finds them.
fn wrt(options: &Options, l: &Lowered) -> Result<Vec<VarId>, String> {
    let floats = companions::float_params(l);
    let Some(names) = &options.wrt else {
        if floats.is_empty() {
            return Err("no float parameter".into());
        }
        return Ok(floats);
    };
    for n in names {
        let found = floats.iter().any(|p| *n == l.func.var(*p).name);
        if !found {
            return Err(format!("`wrt` names `{n}`, not a float parameter"));
        }
    }
    Ok(floats
        .into_iter()
        .filter(|p| names.iter().any(|n| *n == l.func.var(*p).name))
        .collect())
}

/// The suffix under which the tests keep the forward-mode pushforward of a float result
/// (`expand` emits the pullback's gradient along the tangents instead).
pub const FORWARD_MODE: &str = "forward_mode";

/// Builds the companions in `expand`'s order.
fn companions_of(c: &mut Compiled, src: &FnSource) {
    let sums = crate::reverse::Sums::of(&c.options);
    let l = &c.lowered;
    let cx = Ctx {
        options: &c.options,
        lowered: l,
        src,
        krate: c.options.krate.to_token_stream(),
        wrt: c.wrt.clone(),
    };
    let mut out: Vec<Companion> = Vec::new();
    let pb = companions::pullback(l, sums);
    let pf = companions::pushforward(l, sums);
    let mut second = Vec::new();
    if c.scalar {
        let gi = companions::grad_into(l, &c.wrt, sums, &pb.func);
        let grad = wrappers::grad(&cx, &gi);
        if c.options.hessian {
            second = second_order(&cx, &pb, &gi);
        }
        // `expand` emits the pullback's gradient along the tangents as the pushforward of a
        // float result; forward mode is kept under its own name, so that the property tests
        // still check the forward transform (what `f_hvp` is made of) against reverse mode.
        // With `forward`, both are forward mode.
        let along = if c.options.forward {
            companions::pushforward(l, sums)
        } else {
            wrappers::pushforward(&cx)
        };
        let forward = Companion {
            suffix: FORWARD_MODE,
            ..pf
        };
        out.extend([pb, along, forward, gi, grad]);
    } else {
        out.extend([pb, pf]);
        out.push(companions::jacobian_rows(
            l,
            &c.wrt,
            sums,
            cx.jacobian_type(),
        ));
    }
    out.extend(second);
    for comp in out {
        c.errors.extend(comp.errors);
        c.companions.push((comp.suffix, comp.func));
    }
}

/// `f_pullback_pushforward`, `f_hvp_into` and `f_hvp`, as [`wrappers::second_order`]
/// builds them.
fn second_order(cx: &Ctx, pb: &Companion, gi: &Companion) -> Vec<Companion> {
    let (pbpf, hvp_into) =
        companions::second_order(pb, gi, &cx.wrt, crate::reverse::Sums::of(cx.options));
    let hvp = crate::wrappers::hvp_wrapper(cx, &hvp_into);
    vec![pbpf, hvp_into, hvp]
}
