//! Code generation: an IR function printed as Rust a person can read.
//!
//! Temporaries used once fold back into the expression that uses them; locals are declared
//! where they are first assigned ([`layout`]); every identifier is hygienic and located at
//! the user's span ([`crate::names`]). Float literals take the function's float type
//! (`T::from_f64(..)` for a generic `T`).

pub mod layout;

use crate::hash::{HashMap, HashSet};
use crate::ir::*;
use crate::names::Names;
use crate::shape::{FloatTy, SeqKind, Ty};
use layout::{Decl, Layout, StmtId};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, ToTokens};

/// A function to print.
pub struct Item<'a> {
    /// Its IR.
    pub func: &'a Function,
    /// Its name.
    pub name: syn::Ident,
    /// Its visibility.
    pub vis: TokenStream,
    /// The generics it carries (the user's function's).
    pub generics: &'a syn::Generics,
    /// Its result type.
    pub ret: TokenStream,
    /// Its doc comment.
    pub doc: String,
    /// Whether it is a method (its first parameter is `self`).
    pub method: bool,
    /// The path of the `grad` crate.
    pub krate: &'a TokenStream,
}

/// Prints a whole function.
pub fn function(item: &Item) -> TokenStream {
    let f = item.func;
    let p = Printer::new(f, item.krate);
    let written_params = rebound(f, &f.body);
    let params = f.params.iter().map(|prm| {
        let id = p.names.ident(prm.var, f.var(prm.var).span);
        if id == "self" {
            return match prm.passing {
                Passing::Ref => quote!(&self),
                _ => quote!(self),
            };
        }
        let ty = &prm.written;
        let m = written_params.contains(&prm.var).then(|| quote!(mut));
        quote!(#m #id: #ty)
    });
    let body = p.block(&f.body);
    let ends = p.declarations_at(std::ptr::null());
    let ret_vals: Vec<TokenStream> = f.returns.iter().map(|v| p.var_expr(*v).tokens).collect();
    let ret_expr = if ret_vals.len() == 1 {
        ret_vals[0].clone()
    } else {
        quote!((#(#ret_vals),*))
    };
    // A body that runs the vector kernels over run-time lengths runs as AVX2 + FMA code
    // where the CPU has them (checked once); scalar code runs as it is. A large body runs
    // out of line (not inlined into callers), a small one inlines.
    let k = item.krate;
    let mut inner = quote!(#body #ends #ret_expr);
    if uses_vector_kernels(&f.body) {
        inner = quote!(#k::runtime::simd::with_best_simd(#[inline(always)] || { #inner }));
    }
    if crate::visit::count(&f.body) > OUT_OF_LINE_STATEMENTS {
        inner = quote!(#k::runtime::out_of_line(#[inline(always)] || { #inner }));
    }
    let Item {
        name,
        vis,
        generics,
        ret,
        doc,
        ..
    } = item;
    let (_, _, where_clause) = generics.split_for_impl();
    let gparams = &generics.params;
    let gen = if gparams.is_empty() {
        TokenStream::new()
    } else {
        quote!(<#gparams>)
    };
    quote! {
        #[doc = #doc]
        #[inline]
        #[allow(unused, clippy::all)]
        #vis fn #name #gen (#(#params),*) -> #ret #where_clause {
            #inner
        }
    }
}

/// Whether `as` appears in `tokens` outside any brackets: the expression may end in a cast.
fn has_top_level_cast(tokens: &TokenStream) -> bool {
    tokens
        .clone()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(ref i) if i == "as"))
}

/// A companion body of more statements than this (nested ones counted) runs out of line:
/// a call costs little beside it, and inlining many such bodies into one caller makes that
/// caller slow to optimise. The small functions of the benchmarks stay well below.
const OUT_OF_LINE_STATEMENTS: usize = 120;

/// Whether a body calls the dot or axpy kernels (whose loops vectorise at full width in an
/// AVX2 build).
fn uses_vector_kernels(b: &Block) -> bool {
    let mut found = false;
    crate::visit::walk(b, &mut |s| {
        found |= matches!(
            s,
            Stmt::Sweep(Sweep::Kernel(Kernel::Dot { .. } | Kernel::Axpy { .. }))
        )
    });
    found
}

/// Prints a function's signature with an `unreachable!()` body (companions of a function
/// with errors, so that its callers see the right signatures).
pub fn stub(item: &Item) -> TokenStream {
    let f = item.func;
    let names = Names::new(f);
    let params = f.params.iter().map(|prm| {
        let id = names.ident(prm.var, f.var(prm.var).span);
        if id == "self" {
            return match prm.passing {
                Passing::Ref => quote!(&self),
                _ => quote!(self),
            };
        }
        let ty = &prm.written;
        quote!(#id: #ty)
    });
    let Item {
        name,
        vis,
        generics,
        ret,
        ..
    } = item;
    let (_, _, where_clause) = generics.split_for_impl();
    let gparams = &generics.params;
    let gen = if gparams.is_empty() {
        TokenStream::new()
    } else {
        quote!(<#gparams>)
    };
    quote! {
        #[allow(unused_variables, clippy::all)]
        #vis fn #name #gen (#(#params),*) -> #ret #where_clause {
            ::core::unreachable!()
        }
    }
}

/// Variables assigned as a whole or through an element (not through a `&mut`): the
/// parameters among them are declared `mut`.
fn rebound(f: &Function, b: &Block) -> HashSet<VarId> {
    let by_ref = |v: VarId| matches!(f.ty(v), Ty::MutRef(_));
    let mut out = HashSet::default();
    crate::visit::walk(b, &mut |s| match s {
        Stmt::Assign { target, .. } => {
            out.insert(*target);
        }
        Stmt::Store { place, .. }
        | Stmt::Accumulate { place, .. }
        | Stmt::Sweep(Sweep::Pop { place, .. })
            if !by_ref(place.root) =>
        {
            out.insert(place.root);
        }
        Stmt::For { var, .. } => {
            out.insert(*var);
        }
        _ => {}
    });
    out
}

/// Operator precedence of a printed expression, to place parentheses.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Prec {
    Select = 1,
    Or = 2,
    And = 3,
    Cmp = 4,
    Add = 6,
    Mul = 7,
    Cast = 8,
    Unary = 9,
    Atom = 10,
}

/// A printed expression and its precedence.
struct P {
    tokens: TokenStream,
    prec: Prec,
}

impl P {
    fn atom(tokens: TokenStream) -> P {
        P {
            tokens,
            prec: Prec::Atom,
        }
    }
    /// The tokens, parenthesised unless they bind at least as tightly as `min`.
    fn at(self, min: Prec) -> TokenStream {
        if self.prec >= min {
            self.tokens
        } else {
            let t = self.tokens;
            quote!((#t))
        }
    }
}

struct Printer<'a> {
    f: &'a Function,
    names: Names,
    layout: Layout,
    defs: HashMap<VarId, &'a Op>,
    loop_vars: HashSet<VarId>,
    /// Parameters that hold references already (`x: &[f64]`, `p: &Model`).
    refs: HashSet<VarId>,
    krate: &'a TokenStream,
}

fn call_site(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::call_site())
}

impl<'a> Printer<'a> {
    fn new(f: &'a Function, krate: &'a TokenStream) -> Self {
        let layout = layout::layout(f);
        let mut defs = HashMap::default();
        let mut loop_vars = HashSet::default();
        crate::visit::walk(&f.body, &mut |s| match s {
            Stmt::Assign { target, op, .. } if layout.folded.contains(target) => {
                defs.insert(*target, op);
            }
            Stmt::For { var, chunked, .. } => {
                loop_vars.insert(*var);
                if let Some(c) = chunked {
                    // Bound by the loop itself: the chunk's bounds and parts.
                    loop_vars.extend([c.start, c.end]);
                    loop_vars.extend(c.sums.iter().map(|(_, part)| *part));
                }
            }
            _ => {}
        });
        let refs = f
            .params
            .iter()
            .filter(|p| p.passing != Passing::Value)
            .map(|p| p.var)
            .collect();
        Printer {
            f,
            names: Names::new(f),
            layout,
            defs,
            loop_vars,
            refs,
            krate,
        }
    }

    fn ident(&self, v: VarId) -> syn::Ident {
        self.names.ident(v, self.f.var(v).span)
    }

    fn float_ty(&self) -> TokenStream {
        match &self.f.float {
            FloatTy::F32 => quote!(f32),
            FloatTy::F64 => quote!(f64),
            FloatTy::Generic(t) => call_site(t).to_token_stream(),
        }
    }

    /// A float literal; `typed` when the context already fixes its type.
    fn float(&self, x: f64, typed: bool) -> P {
        let lit = if x.is_finite() {
            Literal::f64_unsuffixed(x.abs()).to_token_stream()
        } else if x.is_nan() {
            let t = self.float_ty();
            return P::atom(quote!(#t::NAN));
        } else {
            let t = match &self.f.float {
                FloatTy::Generic(_) => quote!(f64),
                _ => self.float_ty(),
            };
            let c = if x > 0.0 {
                quote!(INFINITY)
            } else {
                quote!(NEG_INFINITY)
            };
            return self.float_literal(quote!(#t::#c));
        };
        let neg = x.is_sign_negative();
        let body = match &self.f.float {
            FloatTy::Generic(_) => {
                return self.float_literal(if neg { quote!(-#lit) } else { lit })
            }
            _ if typed => lit,
            FloatTy::F32 => {
                let s = format!("{}_f32", Literal::f64_unsuffixed(x.abs()));
                s.parse().unwrap_or(lit)
            }
            FloatTy::F64 => {
                let s = format!("{}_f64", Literal::f64_unsuffixed(x.abs()));
                s.parse().unwrap_or(lit)
            }
        };
        if neg {
            P {
                tokens: quote!(-#body),
                prec: Prec::Unary,
            }
        } else {
            P::atom(body)
        }
    }

    /// `T::from_f64(x)` for a generic float type; `x` itself otherwise.
    fn float_literal(&self, x: TokenStream) -> P {
        match &self.f.float {
            FloatTy::Generic(t) => {
                let t = call_site(t);
                let k = self.krate;
                P::atom(quote!(<#t as #k::Float>::from_f64(#x)))
            }
            _ => P::atom(x),
        }
    }

    fn atom(&self, a: &Atom, typed: bool) -> P {
        match a {
            Atom::Var(v) => self.var_expr(*v),
            Atom::Float(x) => self.float(*x, typed),
            Atom::Int(n) => {
                let lit = Literal::i64_unsuffixed(n.abs());
                if *n < 0 {
                    P {
                        tokens: quote!(-#lit),
                        prec: Prec::Unary,
                    }
                } else {
                    P::atom(lit.to_token_stream())
                }
            }
            Atom::Bool(b) => P::atom(quote!(#b)),
        }
    }

    /// A variable's value: its name, or its folded expression.
    fn var_expr(&self, v: VarId) -> P {
        match self.defs.get(&v) {
            Some(op) => self.op(op, self.f.ty(v)),
            None => P::atom(self.ident(v).to_token_stream()),
        }
    }

    /// A variable used where a `&` or `&mut` of it is taken: `*x` for a `&mut` buffer.
    fn place(&self, p: &Place) -> P {
        let root_ty = self.f.ty(p.root);
        let root = self.var_expr(p.root);
        let mut prec = root.prec;
        let mut t = root.tokens;
        // `*x` of a parameter passed by reference names its value; the same place on an
        // owned local (its adjoint, say) is the local itself.
        let owned = !matches!(root_ty, Ty::MutRef(_)) && !self.refs.contains(&p.root);
        for (k, proj) in p.path.iter().enumerate() {
            match proj {
                Proj::Deref if k == 0 && owned => {}
                Proj::Index(i) => {
                    let i = self.atom(i, false).tokens;
                    let base = P { tokens: t, prec }.at(Prec::Atom);
                    t = quote!(#base[#i]);
                    prec = Prec::Atom;
                }
                Proj::Field(Member::Named(n)) => {
                    let n = call_site(n);
                    let base = P { tokens: t, prec }.at(Prec::Atom);
                    t = quote!(#base.#n);
                    prec = Prec::Atom;
                }
                Proj::Field(Member::Unnamed(i)) => {
                    let i = syn::Index::from(*i as usize);
                    let base = P { tokens: t, prec }.at(Prec::Atom);
                    t = quote!(#base.#i);
                    prec = Prec::Atom;
                }
                Proj::Deref => {
                    let base = P { tokens: t, prec }.at(Prec::Unary);
                    t = quote!(*#base);
                    prec = Prec::Unary;
                }
            }
        }
        let _ = root_ty;
        P { tokens: t, prec }
    }

    /// `&place` (a `&mut` buffer reborrowed as `&*x`; a parameter that is a reference
    /// already as itself).
    fn shared(&self, p: &Place) -> TokenStream {
        if p.is_var() && matches!(self.f.ty(p.root), Ty::MutRef(_)) {
            let id = self.ident(p.root);
            return quote!(&*#id);
        }
        if p.is_var() && self.refs.contains(&p.root) {
            return self.ident(p.root).to_token_stream();
        }
        // A single-use float folded into its use is an expression: `&(a * b)`.
        let t = self.place(p).at(Prec::Atom);
        quote!(&#t)
    }

    /// `&mut place` (a `&mut` buffer reborrowed as `&mut *x`, or passed as itself).
    fn exclusive(&self, p: &Place) -> TokenStream {
        let through_ref = matches!(self.f.ty(p.root), Ty::MutRef(_));
        if through_ref && (p.is_var() || p.path == [Proj::Deref]) {
            let id = self.ident(p.root);
            return quote!(&mut *#id);
        }
        let t = self.place(p).tokens;
        quote!(&mut #t)
    }

    /// A contiguous run `&x[s..s + n]` (or `&mut`).
    fn run(&self, r: &Run, len: &Atom, mutable: bool) -> TokenStream {
        let base = self.place(&r.place).at(Prec::Atom);
        let s = self.atom(&r.start, false);
        let n = self.atom(len, false);
        let range = match &r.start {
            Atom::Int(0) => {
                let n = n.tokens;
                quote!(..#n)
            }
            _ => {
                let st = s.tokens;
                let n = n.at(Prec::Mul);
                quote!(#st..#st + #n)
            }
        };
        if mutable {
            quote!(&mut #base[#range])
        } else {
            quote!(&#base[#range])
        }
    }

    fn op(&self, op: &Op, target: &Ty) -> P {
        match op {
            Op::Use(a) => {
                let source = self.f.atom_ty(a);
                let e = self.atom(a, false);
                match (target, &source) {
                    (Ty::Seq(SeqKind::Vec, _), Ty::Seq(SeqKind::Slice, _)) => {
                        let b = e.at(Prec::Atom);
                        P::atom(quote!(#b.to_vec()))
                    }
                    (_, t) if t.needs_clone() && matches!(a, Atom::Var(_)) => {
                        let b = e.at(Prec::Atom);
                        P::atom(quote!(#b.clone()))
                    }
                    _ => e,
                }
            }
            Op::Load(p) => {
                let e = self.place(p);
                if target.needs_clone() {
                    let b = e.at(Prec::Atom);
                    P::atom(quote!(#b.clone()))
                } else {
                    e
                }
            }
            Op::Prim(prim, args) => self.prim(*prim, args),
            Op::Cmp(c, a, b) => {
                // A cast before `<` would read as generic arguments (`n as f64 < x`,
                // `a + n as f64 < x`): an operand with a cast at its top level gets
                // parentheses.
                let operand = |p: P| {
                    if p.prec == Prec::Cast
                        || (p.prec < Prec::Unary && has_top_level_cast(&p.tokens))
                    {
                        p.at(Prec::Unary)
                    } else {
                        p.at(Prec::Add)
                    }
                };
                let x = operand(self.atom(a, true));
                let y = operand(self.atom(b, true));
                let o: TokenStream = c.symbol().parse().expect("an operator");
                P {
                    tokens: quote!(#x #o #y),
                    prec: Prec::Cmp,
                }
            }
            Op::Not(a) => {
                let x = self.atom(a, false).at(Prec::Unary);
                P {
                    tokens: quote!(!#x),
                    prec: Prec::Unary,
                }
            }
            // `c || b` and `c && a`, the forms `||` and `&&` lower to, print as written.
            Op::Select(c, Atom::Bool(true), b) => {
                let x = self.atom(c, false).at(Prec::Or);
                let y = self.atom(b, false).at(Prec::And);
                P {
                    tokens: quote!(#x || #y),
                    prec: Prec::Or,
                }
            }
            Op::Select(c, a, Atom::Bool(false)) => {
                let x = self.atom(c, false).at(Prec::And);
                let y = self.atom(a, false).at(Prec::Cmp);
                P {
                    tokens: quote!(#x && #y),
                    prec: Prec::And,
                }
            }
            Op::Select(c, a, b) => {
                let c = self.atom(c, false).tokens;
                let a = self.atom(a, false).tokens;
                let b = self.atom(b, false).tokens;
                P {
                    tokens: quote!(if #c { #a } else { #b }),
                    prec: Prec::Select,
                }
            }
            Op::Cast(a, CastTo::Float) => {
                let x = self.atom(a, false).at(Prec::Cast);
                match &self.f.float {
                    FloatTy::Generic(_) => self.float_literal(quote!(#x as f64)),
                    _ => {
                        let t = self.float_ty();
                        P {
                            tokens: quote!(#x as #t),
                            prec: Prec::Cast,
                        }
                    }
                }
            }
            Op::Cast(Atom::Int(n), CastTo::Int(name)) => {
                // A typed literal: `2usize`.
                let lit = syn::LitInt::new(&format!("{n}{name}"), proc_macro2::Span::call_site());
                P::atom(quote!(#lit))
            }
            Op::Cast(a, CastTo::Int(name)) => {
                let x = self.atom(a, false).at(Prec::Cast);
                let t = call_site(name);
                P {
                    tokens: quote!(#x as #t),
                    prec: Prec::Cast,
                }
            }
            Op::Len(p) => {
                let b = self.place(p).at(Prec::Atom);
                P::atom(quote!(#b.len()))
            }
            Op::Seq(atoms, form) => {
                if atoms.is_empty() {
                    return P::atom(quote!(::std::vec::Vec::new()));
                }
                let xs = atoms.iter().map(|a| self.atom(a, false).tokens);
                match form {
                    SeqForm::Array => P::atom(quote!([#(#xs),*])),
                    SeqForm::Vec => P::atom(quote!(::std::vec![#(#xs),*])),
                }
            }
            Op::Repeat(a, count, form) => {
                let elem = target.elem().cloned().unwrap_or(Ty::Opaque);
                let x = match (a, &elem) {
                    (Atom::Float(v), _) => self.float(*v, false).tokens,
                    _ => self.atom(a, false).tokens,
                };
                let n = match count {
                    Count::Len(l) => l.to_token_stream(),
                    Count::Atom(n) => self.atom(n, false).tokens,
                };
                match form {
                    SeqForm::Array => P::atom(quote!([#x; #n])),
                    SeqForm::Vec => P::atom(quote!(::std::vec![#x; #n])),
                }
            }
            Op::Tuple(atoms) => {
                let xs = atoms.iter().map(|a| self.atom(a, false).tokens);
                P::atom(quote!((#(#xs,)*)))
            }
            Op::Struct(path, fields) => {
                let path = path.iter().map(|s| call_site(s));
                let fs = fields.iter().map(|(n, a)| {
                    let n = call_site(n);
                    let v = self.atom(a, false).tokens;
                    quote!(#n: #v)
                });
                P::atom(quote!(#(#path)::* { #(#fs),* }))
            }
            Op::Call(c) => self.call(c),
            Op::Const(c) => self.constant(c),
            Op::Num(n) => match target {
                Ty::Float => self.float(*n as f64, false),
                _ => P::atom(Literal::i64_unsuffixed(*n).to_token_stream()),
            },
            Op::NoGrad(a) => self.atom(a, false),
            Op::ZeroLike(a) => self.zero_like(a),
            // A value overwritten before it is read: a zero of a type known in full, else
            // the runtime's `Placeholder` (structs derive it), else `Default`.
            Op::Placeholder => match (self.zero_of_type(target), target) {
                (Some(z), _) => z,
                (None, Ty::Struct(path)) => {
                    let k = self.krate;
                    let path = path.iter().map(|s| call_site(s));
                    P::atom(quote!(<#(#path)::* as #k::runtime::Placeholder>::placeholder()))
                }
                (None, _) => P::atom(quote!(::core::default::Default::default())),
            },
        }
    }

    /// A zero shaped like `a`.
    fn zero_like(&self, a: &Atom) -> P {
        let k = self.krate;
        let ty = self.f.atom_ty(a).deref();
        if let Some(z) = self.zero_of_type(&ty) {
            return z;
        }
        let e = self.atom(a, false).at(Prec::Atom);
        match &ty {
            Ty::Seq(SeqKind::Slice | SeqKind::Vec, e2) if **e2 == Ty::Float => {
                let z = self.float(0.0, false).tokens;
                P::atom(quote!(::std::vec![#z; #e.len()]))
            }
            _ => {
                let r = match a {
                    Atom::Var(v) => self.shared(&Place::var(*v)),
                    _ => quote!(&#e),
                };
                P::atom(quote!(#k::runtime::zero_like(#r)))
            }
        }
    }

    /// A zero of a type known in full (floats, fixed arrays and tuples of them).
    fn zero_of_type(&self, ty: &Ty) -> Option<P> {
        match ty {
            Ty::Float => Some(self.float(0.0, false)),
            Ty::Int => Some(P::atom(quote!(0))),
            Ty::Seq(SeqKind::Array(n), e) => {
                let z = self.zero_of_type(e)?.tokens;
                Some(P::atom(quote!([#z; #n])))
            }
            Ty::Tuple(ts) => {
                let zs: Option<Vec<TokenStream>> = ts
                    .iter()
                    .map(|t| self.zero_of_type(t).map(|p| p.tokens))
                    .collect();
                let zs = zs?;
                Some(P::atom(quote!((#(#zs,)*))))
            }
            _ => None,
        }
    }

    fn constant(&self, c: &Const) -> P {
        if let (FloatTy::Generic(_), Some(v)) = (&self.f.float, c.value) {
            let _ = v;
            let segs = c.path.iter().map(|s| {
                if s == self.f.float.name() {
                    call_site("f64")
                } else {
                    call_site(s)
                }
            });
            return self.float_literal(quote!(::#(#segs)::*));
        }
        let absolute = matches!(c.path.first().map(String::as_str), Some("core" | "std"));
        let segs = c.path.iter().map(|s| call_site(s));
        if absolute {
            P::atom(quote!(::#(#segs)::*))
        } else {
            P::atom(quote!(#(#segs)::*))
        }
    }

    fn prim(&self, p: crate::rules::Prim, args: &[Atom]) -> P {
        use crate::rules::Syntax;
        let rule = p.rule();
        match rule.syntax {
            Syntax::Binary(op) => {
                let prec = if matches!(op, "+" | "-") {
                    Prec::Add
                } else {
                    Prec::Mul
                };
                let a_lit = !matches!(args[0], Atom::Var(_));
                let b_lit = !matches!(args[1], Atom::Var(_));
                let x = self.atom(&args[0], !b_lit).at(prec);
                let next = match prec {
                    Prec::Add => Prec::Mul,
                    _ => Prec::Cast,
                };
                let y = self.atom(&args[1], !a_lit).at(next);
                let o: TokenStream = op.parse().expect("an operator");
                P {
                    tokens: quote!(#x #o #y),
                    prec,
                }
            }
            Syntax::Negate => {
                let x = self.atom(&args[0], false).at(Prec::Unary);
                P {
                    tokens: quote!(-#x),
                    prec: Prec::Unary,
                }
            }
            Syntax::Method | Syntax::TupleOf(_) => {
                let recv = self.atom(&args[0], false).at(Prec::Atom);
                let name = call_site(rule.name);
                let rest = args[1..].iter().map(|a| self.atom(a, true).tokens);
                P::atom(quote!(#recv.#name(#(#rest),*)))
            }
            Syntax::Runtime => {
                let k = self.krate;
                let name = call_site(rule.name);
                let xs = args.iter().map(|a| self.atom(a, true).tokens);
                P::atom(quote!(#k::runtime::#name(#(#xs),*)))
            }
        }
    }

    fn call(&self, c: &Call) -> P {
        let args: Vec<TokenStream> = c.args.iter().map(|a| self.arg(a)).collect();
        match &c.callee {
            Callee::Path(p) => P::atom(quote!(#p(#(#args),*))),
            Callee::Method(m) => {
                let (recv, rest) = args.split_first().expect("a method has a receiver");
                let recv = match &c.args[0] {
                    Arg::Value(Atom::Var(v)) if self.ident(*v) == "self" => quote!(self),
                    Arg::Ref(p) | Arg::MutRef(p) if p.is_var() => self.place(p).tokens,
                    _ => recv.clone(),
                };
                P::atom(quote!(#recv.#m(#(#rest),*)))
            }
        }
    }

    fn arg(&self, a: &Arg) -> TokenStream {
        let range = |lo: &Option<Atom>, hi: &Option<Atom>| {
            let lo = lo.as_ref().map(|x| self.atom(x, false).tokens);
            let hi = hi.as_ref().map(|x| self.atom(x, false).tokens);
            quote!(#lo..#hi)
        };
        match a {
            Arg::Value(x) => {
                let ty = self.f.atom_ty(x);
                let e = self.atom(x, true);
                let is_ref = matches!(x, Atom::Var(v) if self.refs.contains(v));
                if ty.needs_clone()
                    && matches!(x, Atom::Var(_))
                    && !matches!(ty, Ty::MutRef(_))
                    && !is_ref
                {
                    let b = e.at(Prec::Atom);
                    quote!(#b.clone())
                } else {
                    e.tokens
                }
            }
            Arg::Seed(x) => {
                let k = self.krate;
                let e = self.atom(x, true).at(Prec::Atom);
                match self.f.atom_ty(x) {
                    Ty::Float | Ty::Seq(SeqKind::Array(_), _) | Ty::Tuple(_) => e,
                    Ty::Seq(SeqKind::Vec, _) => quote!(&#e),
                    _ => quote!(#k::runtime::AsSeed::as_seed(&#e)),
                }
            }
            Arg::Ref(p) => self.shared(p),
            Arg::MutRef(p) => self.exclusive(p),
            Arg::View(p, lo, hi) => {
                let b = self.place(p).at(Prec::Atom);
                let r = range(lo, hi);
                quote!(&#b[#r])
            }
            Arg::MutView(p, lo, hi) => {
                let b = self.place(p).at(Prec::Atom);
                let r = range(lo, hi);
                quote!(&mut #b[#r])
            }
        }
    }

    fn block(&self, b: &Block) -> TokenStream {
        let mut out = TokenStream::new();
        for s in b {
            out.extend(self.declarations_at(s as StmtId));
            out.extend(self.stmt(s));
        }
        out
    }

    /// The `let`s that go just before a statement.
    fn declarations_at(&self, at: StmtId) -> TokenStream {
        let mut out = TokenStream::new();
        if let Some(ds) = self.layout.decl_at.get(&at) {
            for (v, d) in ds {
                if self.loop_vars.contains(v) {
                    continue;
                }
                if let Decl::Before(_, init) = d {
                    let id = self.ident(*v);
                    let ty = self.f.ty(*v);
                    match (init, self.zero_of_type(ty)) {
                        (true, Some(z)) => {
                            let z = z.tokens;
                            out.extend(quote!(let mut #id = #z;));
                        }
                        _ => out.extend(quote!(let mut #id;)),
                    }
                }
            }
        }
        out
    }

    /// `let [mut] v = ` where `v` is declared at this statement, else `v = `.
    fn assign_to(&self, s: &Stmt, v: VarId) -> TokenStream {
        let id = self.ident(v);
        match self.layout.let_at.get(&(s as StmtId)) {
            Some(true) => quote!(let mut #id =),
            Some(false) => quote!(let #id =),
            None => quote!(#id =),
        }
    }

    fn stmt(&self, s: &Stmt) -> TokenStream {
        let k = self.krate;
        match s {
            Stmt::Assign { target, op, .. } => {
                if self.layout.folded.contains(target) {
                    return TokenStream::new();
                }
                let lhs = self.assign_to(s, *target);
                let e = self.op(op, self.f.ty(*target)).tokens;
                quote!(#lhs #e;)
            }
            Stmt::Store { place, value, .. } => {
                let p = self.place(place).tokens;
                let v = self.atom(value, true).tokens;
                quote!(#p = #v;)
            }
            Stmt::Accumulate {
                place,
                value,
                negate,
                ..
            } => {
                let p = self.place(place).tokens;
                let v = self.atom(value, true).tokens;
                if *negate {
                    quote!(#p -= #v;)
                } else {
                    quote!(#p += #v;)
                }
            }
            Stmt::If { cond, then, els } => {
                let c = self.atom(cond, false).tokens;
                let t = self.block(then);
                if els.is_empty() {
                    quote!(if #c { #t })
                } else if then.is_empty() {
                    let e = self.block(els);
                    let c = self.atom(cond, false).at(Prec::Unary);
                    quote!(if !#c { #e })
                } else {
                    let e = self.block(els);
                    quote!(if #c { #t } else { #e })
                }
            }
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
                chunked,
            } => {
                let v = self.ident(*var);
                let lo = self.atom(lo, false).at(Prec::Add);
                let hi = self.atom(hi, false).at(Prec::Add);
                let b = self.block(body);
                match chunked {
                    None if *rev => quote!(for #v in (#lo..#hi).rev() { #b }),
                    None => quote!(for #v in #lo..#hi { #b }),
                    Some(c) => self.chunked_for(c, quote!(#v), *rev, lo, hi, b),
                }
            }
            Stmt::While {
                cond_block,
                cond,
                body,
            } => {
                let b = self.block(body);
                if self.layout.while_header.contains(&(s as StmtId)) {
                    let c = self.atom(cond, false).tokens;
                    return quote!(while #c { #b });
                }
                if cond_block.is_empty() {
                    let c = self.atom(cond, false).tokens;
                    return quote!(while #c { #b });
                }
                let cb = self.block(cond_block);
                let c = self.atom(cond, false).at(Prec::Unary);
                quote!(loop { #cb if !#c { break; } #b })
            }
            Stmt::Sweep(sw) => match sw {
                Sweep::Push { stack, value } => {
                    let st = self.ident(*stack);
                    let v = self.atom(value, true).tokens;
                    quote!(#st.push(#v);)
                }
                Sweep::Pop { stack, place } => {
                    let st = self.ident(*stack);
                    let p = self.place(place).tokens;
                    quote!(#p = #st.pop().unwrap();)
                }
                Sweep::Call { target, call } => {
                    let c = self.call(call).tokens;
                    match target {
                        Some(t) => {
                            let lhs = self.assign_to(s, *t);
                            quote!(#lhs #c;)
                        }
                        None => quote!(#c;),
                    }
                }
                Sweep::Kernel(kern) => self.kernel(s, kern, k),
            },
        }
    }

    /// A chunked loop (`#[derive_gradient(parallel)]`): each chunk runs in a closure with
    /// its own sums started at zero (under the SIMD dispatch: it may run on another
    /// thread) and returns them; the parts add up in chunk order.
    fn chunked_for(
        &self,
        c: &Chunked,
        var: TokenStream,
        rev: bool,
        lo: TokenStream,
        hi: TokenStream,
        body: TokenStream,
    ) -> TokenStream {
        let k = self.krate;
        let start = self.ident(c.start);
        let end = self.ident(c.end);
        let range = if rev {
            quote!((#start..#end).rev())
        } else {
            quote!(#start..#end)
        };
        let mut zeros = TokenStream::new();
        let mut sums = Vec::new();
        let mut parts = Vec::new();
        let mut adds = TokenStream::new();
        for (v, part) in &c.sums {
            let id = self.ident(*v);
            let part_id = self.ident(*part);
            let ty = self.f.ty(*v).deref();
            let zero = match self.zero_of_type(&ty) {
                Some(z) => z.tokens,
                None => quote!(#k::runtime::zero_like(&#id)),
            };
            zeros.extend(quote!(let mut #id = #zero;));
            if matches!(ty, Ty::Float | Ty::Int) {
                adds.extend(quote!(#id += #part_id;));
            } else {
                let one = self.float(1.0, false).tokens;
                adds.extend(
                    quote!(#k::runtime::Differentiable::add_scaled(&mut #id, #one, &#part_id);),
                );
            }
            sums.push(id);
            parts.push(part_id);
        }
        let (sums, parts) = if sums.len() == 1 {
            (sums[0].to_token_stream(), parts[0].to_token_stream())
        } else {
            (quote!((#(#sums),*)), quote!((#(#parts),*)))
        };
        quote! {
            for #parts in #k::runtime::parallel::chunks::<#k::runtime::parallel::Threads, _, _>(#lo, #hi, |#start, #end| {
                // A chunk runs on a thread of its own: the SIMD dispatch again.
                #k::runtime::simd::with_best_simd(#[inline(always)] || {
                    #zeros
                    for #var in #range { #body }
                    #sums
                })
            }) {
                #adds
            }
        }
    }

    /// A kernel statement `s`.
    fn kernel(&self, s: &Stmt, kern: &Kernel, k: &TokenStream) -> TokenStream {
        let float_kind = |p: &Place| {
            let t = self.f.place_ty(p).deref();
            if t == Ty::Float {
                0
            } else if t.is_float_seq() {
                1
            } else {
                2
            }
        };
        match kern {
            Kernel::Dot {
                acc,
                negate,
                a,
                b,
                len,
            } => {
                let acc = self.place(acc).tokens;
                let x = self.run(a, len, false);
                let y = self.run(b, len, false);
                let op = if *negate { quote!(-=) } else { quote!(+=) };
                quote!(#acc #op #k::runtime::kernels::dot(#x, #y);)
            }
            Kernel::Axpy { alpha, x, y, len } => {
                let a = self.atom(alpha, true).tokens;
                let xs = self.run(x, len, false);
                let ys = self.run(y, len, true);
                quote!(#k::runtime::kernels::axpy(#a, #xs, #ys);)
            }
            Kernel::AxpyAll { alpha, x, y } => match float_kind(y) {
                0 => {
                    let yp = self.place(y).tokens;
                    let xp = self.place(x).at(Prec::Mul);
                    match alpha {
                        Atom::Float(a) if *a == 1.0 => quote!(#yp += #xp;),
                        _ => {
                            let a = self.atom(alpha, true).tokens;
                            let xp = self.place(x).tokens;
                            quote!(#yp += #k::runtime::scaled(#xp, #a);)
                        }
                    }
                }
                _ => {
                    let a = self.atom(alpha, false).tokens;
                    let xs = self.shared(x);
                    let ys = self.exclusive(y);
                    quote!(#k::runtime::Differentiable::add_scaled(#ys, #a, #xs);)
                }
            },
            Kernel::ScaleAll { alpha, y } => match float_kind(y) {
                0 => {
                    let yp = self.place(y).tokens;
                    let a = self.atom(alpha, true).tokens;
                    quote!(#yp = #k::runtime::scaled(#yp, #a);)
                }
                _ => {
                    let a = self.atom(alpha, false).tokens;
                    let ys = self.exclusive(y);
                    quote!(#k::runtime::Differentiable::scale(#ys, #a);)
                }
            },
            Kernel::ZeroAll { y } => match float_kind(y) {
                0 => {
                    let yp = self.place(y).tokens;
                    let z = self.float(0.0, true).tokens;
                    quote!(#yp = #z;)
                }
                _ => {
                    let ys = self.exclusive(y);
                    quote!(#k::runtime::Differentiable::set_zero(#ys);)
                }
            },
            Kernel::SumAll { target, place } => {
                let lhs = self.assign_to(s, *target);
                let xs = self.shared(place);
                quote!(#lhs #k::runtime::Differentiable::sum(#xs);)
            }
            Kernel::SetUnit { y, index } => {
                let ys = self.exclusive(y);
                let i = self.atom(index, false).tokens;
                quote!(#k::runtime::set_unit(#ys, #i);)
            }
            Kernel::Along {
                target,
                tangent,
                gradient,
            } => {
                let lhs = self.assign_to(s, *target);
                let t = self.shared(tangent);
                let g = self.shared(gradient);
                quote!(#lhs #k::runtime::Differentiable::along(#t, #g);)
            }
            Kernel::WriteRow { parts, out, row } => {
                let m = self.exclusive(out);
                let r = self.atom(row, false).tokens;
                let mut rest = quote!(#k::Jacobian::row_mut(#m, #r));
                for p in parts {
                    let x = self.shared(p);
                    rest = quote!(#k::runtime::write_part(#x, #rest));
                }
                quote!(#rest;)
            }
        }
    }
}
