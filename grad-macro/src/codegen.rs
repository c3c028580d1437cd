//! Code generation: IR blocks to Rust tokens.
//!
//! Every IR variable other than a parameter is declared once at the top of the generated
//! function (so the reverse sweep can see values the forward sweep computed in nested
//! scopes). Generated names carry `Span::mixed_site()` hygiene, located at the user's
//! expression, so they never collide with user names and type errors point at user code.

use crate::ir::*;
use crate::lower::FloatTy;
use crate::reverse::Slot;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::collections::HashSet;

/// What code generation needs to print a block of a given function.
pub struct Printer<'a> {
    /// The printed name of every variable, unique within the function.
    pub names: Vec<String>,
    /// The function whose variables are printed.
    pub f: &'a Function,
    /// The float type.
    pub float: FloatTy,
    /// Variables that are parameters of the generated function (not declared in the body).
    pub externals: HashSet<VarId>,
    /// The save slots of a reverse transform.
    pub slots: &'a [Slot],
    /// The path of the `grad` crate.
    pub krate: syn::Path,
}

/// The identifier of a companion: `g` -> `g_pullback`, keeping the path and span.
pub fn companion_path(path: &syn::Path, suffix: &str) -> syn::Path {
    let mut p = path.clone();
    if let Some(last) = p.segments.last_mut() {
        last.ident = format_ident!("{}_{}", last.ident, suffix, span = last.ident.span());
    }
    p
}

/// Unique printed names for a function's variables: parameters keep theirs, every other
/// variable gets its own name, with a numeric suffix where two would collide.
pub fn unique_names(f: &Function, slots: usize) -> Vec<String> {
    let mut taken: HashSet<String> = f.params.iter().map(|p| f.var(*p).name.clone()).collect();
    taken.extend((0..slots).map(|i| format!("saved{i}")));
    // Names the generated code binds in its own small blocks.
    taken.extend(
        [
            "seed", "scale", "out", "part", "o", "a", "s", "e", "g", "value",
        ]
        .map(String::from),
    );
    f.vars
        .iter()
        .map(|info| {
            if info.origin == Origin::Param {
                return info.name.clone();
            }
            let mut name = info.name.clone();
            let mut k = 1;
            while taken.contains(&name) {
                name = format!("{}_{k}", info.name);
                k += 1;
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}

impl Printer<'_> {
    /// The float type's tokens.
    pub fn t(&self) -> TokenStream {
        match self.float {
            FloatTy::F32 => quote!(f32),
            FloatTy::F64 => quote!(f64),
        }
    }

    /// The identifier of a variable.
    pub fn ident(&self, v: VarId) -> syn::Ident {
        let info = self.f.var(v);
        if let Some(id) = &info.ident {
            return id.clone();
        }
        syn::Ident::new(&self.names[v.0], Span::mixed_site().located_at(info.span))
    }

    fn slot_ident(&self, s: SlotId) -> syn::Ident {
        syn::Ident::new(&format!("saved{}", s.0), Span::mixed_site())
    }

    /// A float literal of the function's type.
    pub fn float_lit(&self, x: f64) -> TokenStream {
        let lit = match self.float {
            FloatTy::F32 => Literal::f32_suffixed(x.abs() as f32),
            FloatTy::F64 => Literal::f64_suffixed(x.abs()),
        };
        if x.is_sign_negative() {
            quote!((-#lit))
        } else {
            quote!(#lit)
        }
    }

    fn atom(&self, a: &Atom) -> TokenStream {
        match a {
            Atom::Var(v) => {
                let id = self.ident(*v);
                quote!(#id)
            }
            Atom::Float(x) => self.float_lit(*x),
            Atom::Int(i) => {
                let lit = Literal::i64_unsuffixed(i.abs());
                if *i < 0 {
                    quote!((-#lit))
                } else {
                    quote!(#lit)
                }
            }
            Atom::Bool(b) => quote!(#b),
        }
    }

    fn zero_of(&self, ty: Ty) -> TokenStream {
        let t = self.t();
        match ty {
            Ty::Float => quote!(0.0 as #t),
            Ty::Int => quote!(::core::default::Default::default()),
            Ty::Bool => quote!(false),
            Ty::FloatArray(ArrayKind::Fixed(n)) => quote!([0.0 as #t; #n]),
            Ty::IntArray(ArrayKind::Fixed(n)) => quote!([0; #n]),
            Ty::FloatArray(ArrayKind::Vec) => quote!(::std::vec::Vec::<#t>::new()),
            Ty::IntArray(ArrayKind::Vec) => quote!(::std::vec::Vec::new()),
            Ty::FloatArray(ArrayKind::Slice) => quote!(&[] as &[#t]),
            Ty::IntArray(ArrayKind::Slice) => quote!(&[]),
        }
    }

    /// Declarations of every variable the body uses, and of the save slots.
    pub fn declarations(&self, body: &Block, also: &[VarId]) -> TokenStream {
        let mut loop_vars = HashSet::new();
        let mut used: HashSet<VarId> = also.iter().copied().collect();
        crate::analysis::walk(body, &mut |s| {
            if let Stmt::For { var, .. } = s {
                loop_vars.insert(*var);
            }
            collect_vars(s, &mut used);
        });
        let mut ids: Vec<VarId> = used.into_iter().collect();
        ids.sort();
        let mut out = TokenStream::new();
        for v in ids {
            if loop_vars.contains(&v)
                || self.externals.contains(&v)
                || self.f.var(v).origin == Origin::Param
            {
                continue;
            }
            let id = self.ident(v);
            let init = self.zero_of(self.f.var(v).ty);
            out.extend(quote!(let mut #id = #init;));
        }
        for (i, slot) in self.slots.iter().enumerate() {
            let id = self.slot_ident(SlotId(i));
            let init = if slot.stack {
                quote!(::std::vec::Vec::new())
            } else {
                self.zero_of(slot.ty)
            };
            out.extend(quote!(let mut #id = #init;));
        }
        out
    }

    /// Prints a block.
    pub fn block(&self, b: &Block) -> TokenStream {
        b.iter().map(|s| self.stmt(s)).collect()
    }

    fn is_vec(&self, v: VarId) -> bool {
        matches!(
            self.f.var(v).ty,
            Ty::FloatArray(ArrayKind::Vec) | Ty::IntArray(ArrayKind::Vec)
        )
    }

    fn place(&self, p: &Place) -> TokenStream {
        match p {
            Place::Var(v) => {
                let id = self.ident(*v);
                quote!(#id)
            }
            Place::Elem(v, i) => {
                let id = self.ident(*v);
                let i = self.atom(i);
                quote!(#id[#i])
            }
        }
    }

    /// A value read from a place, cloning vectors.
    fn place_value(&self, p: &Place) -> TokenStream {
        let tokens = self.place(p);
        match p {
            Place::Var(v) if self.is_vec(*v) => quote!(#tokens.clone()),
            _ => tokens,
        }
    }

    fn op(&self, target: VarId, op: &Op, span: Span) -> TokenStream {
        let t = self.t();
        match op {
            Op::Copy(Atom::Var(v))
                if self.is_vec(*v) || (self.is_vec(target) && self.f.var(*v).ty.is_array()) =>
            {
                let id = self.ident(*v);
                quote_spanned!(span=> #id.to_vec())
            }
            Op::Copy(a) => self.atom(a),
            Op::Prim(p, args) => {
                let a: Vec<TokenStream> = args.iter().map(|a| self.atom(a)).collect();
                prim_tokens(*p, &a, span)
            }
            Op::Int(iop, args) => {
                let a: Vec<TokenStream> = args.iter().map(|a| self.atom(a)).collect();
                match iop {
                    IntOp::Add => binop(&a, quote!(+), span),
                    IntOp::Sub => binop(&a, quote!(-), span),
                    IntOp::Mul => binop(&a, quote!(*), span),
                    IntOp::Div => binop(&a, quote!(/), span),
                    IntOp::Rem => binop(&a, quote!(%), span),
                    IntOp::Neg => {
                        let x = &a[0];
                        quote_spanned!(span=> -#x)
                    }
                }
            }
            Op::Cmp(c, x, y) => {
                let (x, y) = (self.atom(x), self.atom(y));
                let o = cmp_tokens(*c);
                quote_spanned!(span=> #x #o #y)
            }
            Op::Bool(b, args) => {
                let a: Vec<TokenStream> = args.iter().map(|a| self.atom(a)).collect();
                match b {
                    BoolOp::And => binop(&a, quote!(&&), span),
                    BoolOp::Or => binop(&a, quote!(||), span),
                    BoolOp::Not => {
                        let x = &a[0];
                        quote_spanned!(span=> !#x)
                    }
                }
            }
            Op::Cast { value, to_name, .. } => {
                let v = self.atom(value);
                let ty: TokenStream = to_name.parse().unwrap_or_else(|_| t.clone());
                quote_spanned!(span=> #v as #ty)
            }
            Op::Index { array, index } => {
                let a = self.ident(*array);
                let i = self.atom(index);
                quote_spanned!(span=> #a[#i])
            }
            Op::Len(v) => {
                let a = self.ident(*v);
                quote_spanned!(span=> #a.len())
            }
            Op::ArrayLit { elems, vec } => {
                let e: Vec<TokenStream> = elems.iter().map(|a| self.atom(a)).collect();
                if *vec {
                    quote_spanned!(span=> ::std::vec![#(#e),*])
                } else {
                    quote_spanned!(span=> [#(#e),*])
                }
            }
            Op::Repeat { value, count, vec } => {
                let v = self.atom(value);
                let n = self.atom(count);
                if *vec {
                    quote_spanned!(span=> ::std::vec![#v; #n])
                } else {
                    quote_spanned!(span=> [#v; #n])
                }
            }
            Op::Call { func, args, refs } => {
                let a = self.call_args(args, refs);
                quote_spanned!(span=> #func(#(#a),*))
            }
            Op::Const(text) => text.parse().unwrap_or_else(|_| quote!(0.0)),
        }
    }

    fn call_args(&self, args: &[Atom], refs: &[bool]) -> Vec<TokenStream> {
        args.iter()
            .zip(refs)
            .map(|(a, r)| {
                let a = self.atom(a);
                if *r {
                    quote!(&#a)
                } else {
                    a
                }
            })
            .collect()
    }

    /// Prints an expression tree.
    pub fn expr(&self, e: &Expr) -> TokenStream {
        let t = self.t();
        match e {
            Expr::Atom(a) => self.atom(a),
            Expr::Index(v, i) => {
                let a = self.ident(*v);
                let i = self.atom(i);
                quote!(#a[#i])
            }
            Expr::Add(a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                quote!((#a + #b))
            }
            Expr::Sub(a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                quote!((#a - #b))
            }
            Expr::Mul(a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                quote!((#a * #b))
            }
            Expr::Div(a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                quote!((#a / #b))
            }
            Expr::Neg(a) => {
                let a = self.expr(a);
                quote!((-#a))
            }
            Expr::Method(p, args) => {
                let a: Vec<TokenStream> = args.iter().map(|a| self.expr(a)).collect();
                prim_tokens(*p, &a, Span::call_site())
            }
            Expr::Powi(a, n) => {
                let (a, n) = (self.expr(a), self.expr(n));
                quote!((#a).powi(#n))
            }
            Expr::IntToFloat(n) => {
                let n = self.expr(n);
                quote!((#n as #t))
            }
            Expr::IntSub1(n) => {
                let n = self.expr(n);
                quote!((#n - 1))
            }
            Expr::Cmp(c, a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                let o = cmp_tokens(*c);
                quote!((#a #o #b))
            }
            Expr::Or(a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                quote!((#a || #b))
            }
            Expr::IsNan(a) => {
                let a = self.expr(a);
                quote!((#a).is_nan())
            }
            Expr::Select(c, a, b) => {
                let (c, a, b) = (self.expr(c), self.expr(a), self.expr(b));
                quote!((if #c { #a } else { #b }))
            }
            Expr::GuardedMul(adj, p) => {
                let (adj, p) = (self.expr(adj), self.expr(p));
                let zero = self.float_lit(0.0);
                quote_spanned!(Span::mixed_site()=> {
                    let scale = #adj;
                    if scale == #zero { #zero } else { scale * #p }
                })
            }
            Expr::Sum(v) => {
                let a = self.ident(*v);
                quote!(#a.iter().sum::<#t>())
            }
            Expr::FloatConst(name) => {
                let id = syn::Ident::new(name, Span::call_site());
                quote!(::core::#t::consts::#id)
            }
        }
    }

    fn stmt(&self, s: &Stmt) -> TokenStream {
        match s {
            Stmt::Assign { target, op, span } => {
                let id = self.ident(*target);
                let rhs = self.op(*target, op, *span);
                quote_spanned!(*span=> #id = #rhs;)
            }
            Stmt::Accumulate {
                target,
                value,
                negate,
                span,
            } => {
                let id = self.ident(*target);
                let v = self.atom(value);
                if *negate {
                    quote_spanned!(*span=> #id -= #v;)
                } else {
                    quote_spanned!(*span=> #id += #v;)
                }
            }
            Stmt::Store {
                array,
                index,
                value,
                span,
            } => {
                let id = self.ident(*array);
                let (i, v) = (self.atom(index), self.atom(value));
                quote_spanned!(*span=> #id[#i] = #v;)
            }
            Stmt::If { cond, then, els } => {
                let c = self.atom(cond);
                let (t, e) = (self.block(then), self.block(els));
                if els.is_empty() {
                    quote!(if #c { #t })
                } else {
                    quote!(if #c { #t } else { #e })
                }
            }
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
            } => {
                let v = self.ident(*var);
                let (lo, hi) = (self.atom(lo), self.atom(hi));
                let b = self.block(body);
                if *rev {
                    quote!(for #v in (#lo..#hi).rev() { #b })
                } else {
                    quote!(for #v in #lo..#hi { #b })
                }
            }
            Stmt::While {
                cond_block,
                cond,
                body,
            } => {
                let cb = self.block(cond_block);
                let c = self.atom(cond);
                let b = self.block(body);
                quote!(loop { #cb if !#c { break; } #b })
            }
            Stmt::AddAssign { target, expr } => {
                let p = self.place(target);
                let e = self.expr(expr);
                quote!(#p += #e;)
            }
            Stmt::Set { target, expr } => {
                let p = self.place(target);
                let e = match (target, expr) {
                    (Place::Var(_), Expr::Atom(Atom::Var(v))) if self.is_vec(*v) => {
                        let id = self.ident(*v);
                        quote!(#id.clone())
                    }
                    _ => self.expr(expr),
                };
                quote!(#p = #e;)
            }
            Stmt::Save { slot, place } => {
                let s = self.slot_ident(*slot);
                let v = self.place_value(place);
                if self.slots[slot.0].stack {
                    quote!(#s.push(#v);)
                } else {
                    quote!(#s = #v;)
                }
            }
            Stmt::Restore { slot, place } => {
                let s = self.slot_ident(*slot);
                let p = self.place(place);
                if self.slots[slot.0].stack {
                    quote!(#p = #s.pop().expect("grad: save stack out of step (a bug in grad)");)
                } else if matches!(place, Place::Var(v) if self.is_vec(*v)) {
                    quote!(#p = #s.clone();)
                } else {
                    quote!(#p = #s;)
                }
            }
            Stmt::PullbackCall {
                func,
                args,
                refs,
                seed,
                adjoints,
            } => {
                let path = companion_path(func, "pullback");
                let a = self.call_args(args, refs);
                let seed = self.ident(*seed);
                let float_args = args.iter().filter(|a| self.atom_is_float(a));
                let adj: Vec<TokenStream> = float_args
                    .zip(adjoints)
                    .map(|(arg, adj)| self.adjoint_arg(arg, *adj))
                    .collect();
                quote!(#path(#(#a,)* #seed, #(#adj),*);)
            }
            Stmt::PushforwardCall {
                func,
                args,
                refs,
                target,
                tangent,
                tangents,
            } => {
                let path = companion_path(func, "pushforward");
                let a = self.call_args(args, refs);
                let float_args = args.iter().zip(refs).filter(|(a, _)| self.atom_is_float(a));
                let tans: Vec<TokenStream> = float_args
                    .zip(tangents)
                    .map(|((arg, by_ref), tan)| self.tangent_arg(arg, *by_ref, *tan))
                    .collect();
                let (v, tv) = (self.ident(*target), self.ident(*tangent));
                quote!((#v, #tv) = #path(#(#a,)* #(#tans),*);)
            }
            Stmt::Axpy {
                target,
                scale,
                source,
            } => {
                // A zero partial contributes zero even when the scale is infinite, as in a
                // loop that ran no iteration (0 * inf would be NaN).
                let tid = self.ident(*target);
                let scale = self.expr(scale);
                let zero = self.float_lit(0.0);
                let is_array = self.f.var(*target).ty.is_array();
                match (source, is_array) {
                    (Some(src), false) => {
                        let s = self.ident(*src);
                        quote!(if #s != #zero { #tid += #scale * #s; })
                    }
                    (None, false) => quote!(if #tid != #zero { #tid *= #scale; }),
                    (Some(src), true) => {
                        let s = self.ident(*src);
                        quote_spanned!(Span::mixed_site()=> {
                            let scale = #scale;
                            for (out, part) in #tid.iter_mut().zip(#s.iter()) {
                                if *part != #zero {
                                    *out += scale * *part;
                                }
                            }
                        })
                    }
                    (None, true) => quote_spanned!(Span::mixed_site()=> {
                        let scale = #scale;
                        for out in #tid.iter_mut() {
                            if *out != #zero {
                                *out *= scale;
                            }
                        }
                    }),
                }
            }
            Stmt::Zero(v) => {
                let id = self.ident(*v);
                let zero = self.float_lit(0.0);
                if self.f.var(*v).ty.is_array() {
                    quote_spanned!(Span::mixed_site()=> for out in #id.iter_mut() { *out = #zero; })
                } else {
                    quote!(#id = #zero;)
                }
            }
            Stmt::AxpySlice {
                alpha,
                x,
                x_off,
                y,
                y_off,
                lo,
                hi,
            } => {
                let krate = &self.krate;
                let alpha = self.expr(alpha);
                let (x, y) = (self.ident(*x), self.ident(*y));
                let (xo, yo) = (self.atom(x_off), self.atom(y_off));
                let (lo, hi) = (self.atom(lo), self.atom(hi));
                quote!(if #lo < #hi {
                    #krate::runtime::kernels::axpy(#alpha, &#x[#xo + #lo..#xo + #hi], &mut #y[#yo + #lo..#yo + #hi]);
                })
            }
            Stmt::Dot {
                acc,
                negate,
                a,
                a_off,
                b,
                b_off,
                lo,
                hi,
            } => {
                let krate = &self.krate;
                let (acc, a, b) = (self.ident(*acc), self.ident(*a), self.ident(*b));
                let (ao, bo, lo, hi) = (
                    self.atom(a_off),
                    self.atom(b_off),
                    self.atom(lo),
                    self.atom(hi),
                );
                let op = if *negate { quote!(-=) } else { quote!(+=) };
                quote!(if #lo < #hi {
                    #acc #op #krate::runtime::kernels::dot(&#a[#ao + #lo..#ao + #hi], &#b[#bo + #lo..#bo + #hi]);
                })
            }
            Stmt::AllocLike { target, like } => {
                let id = self.ident(*target);
                let like_id = self.ident(*like);
                let t = self.t();
                match self.f.var(*target).ty {
                    Ty::FloatArray(ArrayKind::Fixed(n)) => quote!(#id = [0.0 as #t; #n];),
                    _ => quote!(#id = ::std::vec![0.0 as #t; #like_id.len()];),
                }
            }
        }
    }

    fn atom_is_float(&self, a: &Atom) -> bool {
        match a {
            Atom::Var(v) => self.f.var(*v).ty.is_float(),
            Atom::Float(_) => true,
            _ => false,
        }
    }

    /// The `&mut` adjoint argument of a pullback call for one float argument.
    fn adjoint_arg(&self, arg: &Atom, adj: Option<VarId>) -> TokenStream {
        let t = self.t();
        let ty = match arg {
            Atom::Var(v) => self.f.var(*v).ty,
            _ => Ty::Float,
        };
        match (adj, ty) {
            (Some(a), Ty::FloatArray(ArrayKind::Slice | ArrayKind::Vec)) => {
                let id = self.ident(a);
                quote!(&mut #id[..])
            }
            (Some(a), _) => {
                let id = self.ident(a);
                quote!(&mut #id)
            }
            (None, Ty::FloatArray(ArrayKind::Fixed(n))) => quote!(&mut [0.0 as #t; #n]),
            (None, Ty::FloatArray(_)) => {
                let id = self.atom(arg);
                quote!(&mut ::std::vec![0.0 as #t; #id.len()][..])
            }
            (None, _) => quote!(&mut (0.0 as #t)),
        }
    }

    /// The tangent argument of a pushforward call for one float argument.
    fn tangent_arg(&self, arg: &Atom, by_ref: bool, tan: Option<VarId>) -> TokenStream {
        let t = self.t();
        let ty = match arg {
            Atom::Var(v) => self.f.var(*v).ty,
            _ => Ty::Float,
        };
        match (tan, ty) {
            // `g(&w)` with `w: [f64; N]`: the callee takes a slice, so its tangent too.
            (Some(a), Ty::FloatArray(ArrayKind::Fixed(_))) if by_ref => {
                let id = self.ident(a);
                quote!(&#id)
            }
            (None, Ty::FloatArray(ArrayKind::Fixed(n))) if by_ref => quote!(&[0.0 as #t; #n]),
            (Some(a), Ty::FloatArray(ArrayKind::Slice | ArrayKind::Vec)) => {
                let id = self.ident(a);
                quote!(&#id[..])
            }
            (Some(a), _) => {
                let id = self.ident(a);
                quote!(#id)
            }
            (None, Ty::FloatArray(ArrayKind::Fixed(n))) => quote!([0.0 as #t; #n]),
            (None, Ty::FloatArray(_)) => {
                let id = self.atom(arg);
                quote!(&::std::vec![0.0 as #t; #id.len()][..])
            }
            (None, _) => quote!(0.0 as #t),
        }
    }
}

fn binop(a: &[TokenStream], op: TokenStream, span: Span) -> TokenStream {
    let (x, y) = (&a[0], &a[1]);
    quote_spanned!(span=> #x #op #y)
}

fn cmp_tokens(c: CmpOp) -> TokenStream {
    match c {
        CmpOp::Lt => quote!(<),
        CmpOp::Le => quote!(<=),
        CmpOp::Gt => quote!(>),
        CmpOp::Ge => quote!(>=),
        CmpOp::Eq => quote!(==),
        CmpOp::Ne => quote!(!=),
    }
}

/// A primitive applied to printed operands.
fn prim_tokens(p: Prim, a: &[TokenStream], span: Span) -> TokenStream {
    match p {
        Prim::Neg => {
            let x = &a[0];
            quote_spanned!(span=> -#x)
        }
        Prim::Add => binop(a, quote!(+), span),
        Prim::Sub => binop(a, quote!(-), span),
        Prim::Mul => binop(a, quote!(*), span),
        Prim::Div => binop(a, quote!(/), span),
        other => {
            let name = syn::Ident::new(other.method_name(), span);
            let recv = &a[0];
            let rest = &a[1..];
            quote_spanned!(span=> (#recv).#name(#(#rest),*))
        }
    }
}

/// Every variable a statement mentions (reads and writes; nested blocks are walked by the
/// caller).
fn collect_vars(s: &Stmt, used: &mut HashSet<VarId>) {
    used.extend(crate::optimize::stmt_all_reads(s));
    used.extend(crate::analysis::stmt_writes(s));
    match s {
        Stmt::For { var, .. } => {
            used.insert(*var);
        }
        Stmt::Set {
            target: Place::Var(v),
            ..
        }
        | Stmt::Restore {
            place: Place::Var(v),
            ..
        }
        | Stmt::Zero(v)
        | Stmt::AllocLike { target: v, .. } => {
            used.insert(*v);
        }
        Stmt::PushforwardCall {
            target, tangent, ..
        } => {
            used.insert(*target);
            used.insert(*tangent);
        }
        _ => {}
    }
}
