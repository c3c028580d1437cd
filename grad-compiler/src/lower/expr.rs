//! Expressions: literals, names and constants, operators, places, casts, literals of arrays,
//! tuples and structs.

use super::scope::{Val, View};
use super::stmt::Sink;
use super::{Lowerer, L};
use crate::ir::*;
use crate::rules;
use crate::shape::{FloatTy, Len, SeqKind, Ty};
use proc_macro2::Span;
use syn::spanned::Spanned;

/// The standard float constants the macro knows by value.
const STD_CONSTS: &[(&str, f64)] = &[
    ("PI", std::f64::consts::PI),
    ("TAU", std::f64::consts::TAU),
    ("E", std::f64::consts::E),
    ("SQRT_2", std::f64::consts::SQRT_2),
    ("LN_2", std::f64::consts::LN_2),
    ("LN_10", std::f64::consts::LN_10),
    ("LOG2_E", std::f64::consts::LOG2_E),
    ("LOG10_E", std::f64::consts::LOG10_E),
    ("LOG2_10", std::f64::consts::LOG2_10),
    ("LOG10_2", std::f64::consts::LOG10_2),
    ("FRAC_PI_2", std::f64::consts::FRAC_PI_2),
    ("FRAC_PI_3", std::f64::consts::FRAC_PI_3),
    ("FRAC_PI_4", std::f64::consts::FRAC_PI_4),
    ("FRAC_PI_6", std::f64::consts::FRAC_PI_6),
    ("FRAC_PI_8", std::f64::consts::FRAC_PI_8),
    ("FRAC_1_PI", std::f64::consts::FRAC_1_PI),
    ("FRAC_2_PI", std::f64::consts::FRAC_2_PI),
    ("FRAC_2_SQRT_PI", std::f64::consts::FRAC_2_SQRT_PI),
    ("FRAC_1_SQRT_2", std::f64::consts::FRAC_1_SQRT_2),
];

/// The associated constants of `f64`/`f32` the macro knows.
const ASSOC_CONSTS: &[&str] = &[
    "EPSILON",
    "MAX",
    "MIN",
    "MIN_POSITIVE",
    "INFINITY",
    "NEG_INFINITY",
    "NAN",
];

impl Lowerer {
    /// Lowers an expression to a value.
    pub(super) fn expr(&mut self, e: &syn::Expr) -> L<Val> {
        let span = e.span();
        match e {
            syn::Expr::Lit(l) => self.literal(&l.lit).map(Val::Atom),
            syn::Expr::Path(p) => self.path_expr(p),
            syn::Expr::Paren(p) => self.expr(&p.expr),
            syn::Expr::Group(g) => self.expr(&g.expr),
            syn::Expr::Binary(b) => self.binary(b),
            syn::Expr::Unary(u) => self.unary(u),
            syn::Expr::Index(i) => self.index(i),
            syn::Expr::Field(f) => self.field(f),
            syn::Expr::Cast(c) => self.cast(c),
            syn::Expr::Array(a) => {
                let mut atoms = Vec::new();
                for el in &a.elems {
                    atoms.push(self.value(el)?);
                }
                let ty = Ty::Seq(
                    SeqKind::Array(Len::Lit(atoms.len())),
                    Box::new(self.infer_ty()),
                );
                Ok(Val::Atom(self.assign_typed(Op::Seq(atoms, SeqForm::Array), ty, span)))
            }
            syn::Expr::Repeat(r) => {
                let v = self.value(&r.expr)?;
                let len = match super::signature::array_len(&r.len) {
                    Ok(l) => l,
                    Err((span, msg)) => return self.err(span, msg),
                };
                let ty = Ty::Seq(SeqKind::Array(len.clone()), Box::new(self.infer_ty()));
                Ok(Val::Atom(self.assign_typed(
                    Op::Repeat(v, Count::Len(len), SeqForm::Array),
                    ty,
                    span,
                )))
            }
            syn::Expr::Macro(m) => self.macro_expr(&m.mac),
            syn::Expr::Tuple(t) => {
                if t.elems.is_empty() {
                    return Ok(Val::Unit);
                }
                let mut parts = Vec::new();
                for el in &t.elems {
                    parts.push(match self.expr(el)? {
                        Val::Place(p) => Val::Atom(self.read_place(p, el.span())),
                        v => v,
                    });
                }
                Ok(Val::Tuple(parts))
            }
            syn::Expr::Reference(r) => {
                if r.mutability.is_some() {
                    return self.err_at(
                        e,
                        "`&mut` cannot be differentiated: compute new values and return them",
                    );
                }
                Ok(match self.expr(&r.expr)? {
                    Val::Atom(Atom::Var(v)) => Val::Ref(Place::var(v)),
                    Val::Place(p) => Val::Ref(p),
                    v => v,
                })
            }
            syn::Expr::Struct(s) => self.struct_literal(s),
            syn::Expr::Closure(c) => self.closure(c),
            syn::Expr::Block(b) if b.label.is_none() => self.expr_or_flow(e),
            syn::Expr::If(_) | syn::Expr::Match(_) | syn::Expr::Loop(_) => self.expr_or_flow(e),
            syn::Expr::While(w) => self.lower_while(w),
            syn::Expr::ForLoop(f) => self.lower_for(f),
            syn::Expr::Break(b) => self.lower_break(b),
            syn::Expr::Continue(c) => self.lower_continue(c),
            syn::Expr::Return(r) => self.lower_return(r),
            syn::Expr::Assign(a) => self.lower_assign(&a.left, &a.right),
            syn::Expr::Call(c) => self.call(c),
            syn::Expr::MethodCall(m) => self.method_call(m),
            syn::Expr::Range(_) => self.err_at(
                e,
                "a range can only be looped over (`for i in a..b`), indexed with (`&x[a..b]`) or iterated (`(a..b).map(..)`)",
            ),
            syn::Expr::Let(_) => self.err_at(
                e,
                "`if let` / `while let` cannot be differentiated: test a `bool` or compare values",
            ),
            syn::Expr::Unsafe(_) => self.err_at(e, "`unsafe` blocks cannot be differentiated"),
            syn::Expr::Try(_) => self.err_at(e, "`?` cannot be differentiated: the function returns a value, not a `Result`"),
            syn::Expr::Block(_) => self.err_at(e, "labelled blocks are not supported: use a `loop` with `break`"),
            _ => self.err_at(e, "this expression cannot be differentiated"),
        }
    }

    /// An expression's value as an atom.
    pub(super) fn value(&mut self, e: &syn::Expr) -> L<Atom> {
        let v = self.expr_or_flow(e)?;
        self.materialize(v, e.span())
    }

    /// A value as an atom: places are read, tuples built.
    pub(super) fn materialize(&mut self, v: Val, span: Span) -> L<Atom> {
        match v {
            Val::Atom(a) => Ok(a),
            Val::Place(p) | Val::Ref(p) => Ok(self.read_place(p, span)),
            Val::Tuple(parts) => {
                let mut atoms = Vec::new();
                for p in parts {
                    atoms.push(self.materialize(p, span)?);
                }
                let ty = Ty::Tuple(atoms.iter().map(|_| self.infer_ty()).collect());
                Ok(self.assign_typed(Op::Tuple(atoms), ty, span))
            }
            Val::View(_) => self.err(
                span,
                "a sub-slice can be indexed, iterated or passed to a function, not held as a value: copy it with `.to_vec()` or pass `&x[a..b]`",
            ),
            Val::Closure(_) => self.err(span, "a closure can only be called here, not used as a value"),
            Val::Iter(_) => self.err(
                span,
                "an iterator must be consumed here (`.sum::<f64>()`, `.fold(..)`, `.collect::<Vec<f64>>()`, or a `for` loop)",
            ),
            Val::Ordering(..) => self.err(span, "an `Ordering` can only be matched on here"),
            Val::Unit => self.err(span, "this expression has no value"),
            Val::Never => self.err(span, "this expression never has a value"),
        }
    }

    /// Reads a place into a fresh temporary.
    pub(super) fn load(&mut self, p: Place, span: Span) -> Atom {
        self.read_place(p, span)
    }

    /// A literal.
    pub(super) fn literal(&mut self, lit: &syn::Lit) -> L<Atom> {
        match lit {
            syn::Lit::Float(f) => {
                self.check_suffix(f.suffix(), f.span())?;
                match f.base10_parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(Atom::Float(x)),
                    _ => self.err(f.span(), "this float literal is out of range"),
                }
            }
            syn::Lit::Int(i) => {
                let suffix = i.suffix();
                if suffix == "f32" || suffix == "f64" {
                    self.check_suffix(suffix, i.span())?;
                    return match i.base10_parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(Atom::Float(x)),
                        _ => self.err(i.span(), "this float literal is out of range"),
                    };
                }
                match i.base10_parse::<i64>() {
                    // `2usize` keeps its type, which rustc needs where nothing else
                    // says it (`for i in 0..2usize { i.pow(2) }`): a typed constant.
                    Ok(n) if !suffix.is_empty() => Ok(self.assign(
                        Op::Cast(Atom::Int(n), CastTo::Int(suffix.to_string())),
                        i.span(),
                    )),
                    Ok(n) => Ok(Atom::Int(n)),
                    Err(_) => self.err(i.span(), "this integer literal is out of range"),
                }
            }
            syn::Lit::Bool(b) => Ok(Atom::Bool(b.value)),
            other => self.err_at(
                other,
                "only number and `bool` literals can be differentiated",
            ),
        }
    }

    fn check_suffix(&mut self, suffix: &str, span: Span) -> L<()> {
        if suffix.is_empty() {
            return Ok(());
        }
        match self.float() {
            FloatTy::Generic(t) => {
                let t = t.clone();
                self.err(
                    span,
                    format!("a literal of a generic float function is written `{t}::from_f64(2.0)`, not with a suffix"),
                )
            }
            f if f.name() != suffix => {
                let name = f.name().to_string();
                self.err(span, format!("this function's float type is `{name}`: write the literal without a suffix, or as `{name}`"))
            }
            _ => Ok(()),
        }
    }

    /// A name or a path.
    fn path_expr(&mut self, p: &syn::ExprPath) -> L<Val> {
        if p.qself.is_none() {
            if let Some(id) = p.path.get_ident() {
                if let Some(v) = self.scopes.get(&id.to_string()) {
                    return Ok(v.clone());
                }
            }
        }
        self.constant(&p.path).map(Val::Atom)
    }

    /// A constant: `std::f64::consts::PI`, `f64::EPSILON`, or a user's `const` item.
    pub(super) fn constant(&mut self, path: &syn::Path) -> L<Atom> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let float_name = self.float().name().to_string();
        let tail: Vec<&str> = segs
            .iter()
            .map(String::as_str)
            .skip_while(|s| *s == "std" || *s == "core")
            .collect();
        if let Some(other) = tail
            .iter()
            .find(|s| (**s == "f32" || **s == "f64") && **s != float_name)
        {
            let other = other.to_string();
            return self.err_at(
                path,
                format!("this function's float type is `{float_name}`, not `{other}`: use `{float_name}`'s constant"),
            );
        }
        let span = path.span();
        let known = match tail.as_slice() {
            [.., "consts", c] => STD_CONSTS.iter().find(|(n, _)| n == c).map(|(_, v)| *v),
            [t, c] if *t == float_name && ASSOC_CONSTS.contains(c) => {
                Some(assoc_value(c, self.float()))
            }
            _ => None,
        };
        let is_float_const = known.is_some();
        let path_out = match tail.as_slice() {
            [.., "consts", c] if is_float_const => {
                if matches!(self.float(), FloatTy::Generic(_)) {
                    return self.err_at(
                        path,
                        format!("in a generic float function write `{float_name}::from_f64(std::f64::consts::{c})`"),
                    );
                }
                vec![
                    "core".into(),
                    float_name.clone(),
                    "consts".into(),
                    c.to_string(),
                ]
            }
            _ => segs.clone(),
        };
        let c = Const {
            path: path_out,
            value: known,
        };
        let ty = if is_float_const {
            Ty::Float
        } else {
            self.infer_ty()
        };
        Ok(self.assign_typed(Op::Const(c), ty, span))
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> L<Val> {
        use syn::BinOp::*;
        let span = b.span();
        let arith = |op: &syn::BinOp| match op {
            Add(_) => Some("+"),
            Sub(_) => Some("-"),
            Mul(_) => Some("*"),
            Div(_) => Some("/"),
            Rem(_) => Some("%"),
            _ => None,
        };
        let cmp = match b.op {
            Lt(_) => Some(CmpOp::Lt),
            Le(_) => Some(CmpOp::Le),
            Gt(_) => Some(CmpOp::Gt),
            Ge(_) => Some(CmpOp::Ge),
            Eq(_) => Some(CmpOp::Eq),
            Ne(_) => Some(CmpOp::Ne),
            _ => None,
        };
        if let Some(op) = arith(&b.op) {
            let x = self.value(&b.left)?;
            let y = self.value(&b.right)?;
            let prim = rules::binary(op).expect("the table has the operators");
            return Ok(Val::Atom(self.assign(Op::Prim(prim, vec![x, y]), span)));
        }
        if let Some(op) = cmp {
            let x = self.value(&b.left)?;
            let y = self.value(&b.right)?;
            return Ok(Val::Atom(self.assign_typed(
                Op::Cmp(op, x, y),
                Ty::Bool,
                span,
            )));
        }
        match b.op {
            And(_) | Or(_) => {
                // Short-circuit: the right operand is evaluated only when needed.
                let and = matches!(b.op, And(_));
                let r = self.temp_of(Ty::Bool, span);
                self.mutable.insert(r);
                let x = self.condition(&b.left)?;
                let (rhs, res) = self.nested(|cx| {
                    let y = cx.condition(&b.right)?;
                    cx.emit(Stmt::Assign {
                        target: r,
                        op: Op::Use(y),
                        span,
                    });
                    Ok(())
                });
                res?;
                let short = vec![Stmt::Assign {
                    target: r,
                    op: Op::Use(Atom::Bool(!and)),
                    span,
                }];
                let (then, els) = if and { (rhs, short) } else { (short, rhs) };
                self.emit(Stmt::If { cond: x, then, els });
                Ok(Val::Atom(Atom::Var(r)))
            }
            AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_)
            | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_)
            | ShrAssign(_) => self.lower_compound(&b.left, &b.op, &b.right),
            _ => self.err_at(
                &b.op,
                "bitwise and shift operators cannot be differentiated: use arithmetic, comparisons, `&&` and `||`",
            ),
        }
    }

    fn unary(&mut self, u: &syn::ExprUnary) -> L<Val> {
        let span = u.span();
        match u.op {
            syn::UnOp::Neg(_) => match self.expr(&u.expr)? {
                Val::Atom(Atom::Float(x)) => Ok(Val::Atom(Atom::Float(-x))),
                Val::Atom(Atom::Int(n)) => Ok(Val::Atom(Atom::Int(-n))),
                v => {
                    let a = self.materialize(v, span)?;
                    let neg = rules::prim("neg").expect("the table has negation");
                    Ok(Val::Atom(self.assign(Op::Prim(neg, vec![a]), span)))
                }
            },
            syn::UnOp::Not(_) => {
                let a = self.value(&u.expr)?;
                Ok(Val::Atom(self.assign_typed(Op::Not(a), Ty::Bool, span)))
            }
            syn::UnOp::Deref(_) => Ok(match self.expr(&u.expr)? {
                Val::Ref(p) => Val::Place(p),
                // `*p` of a parameter passed by reference: the value it points to (a copy
                // where it is bound), not the reference.
                Val::Atom(Atom::Var(x)) if self.is_ref_param(x) => {
                    Val::Place(Place::var(x).deref())
                }
                v => v,
            }),
            _ => self.err_at(u, "this operator cannot be differentiated"),
        }
    }

    /// The place (or view) a value of sequence type stands for.
    pub(super) fn seq_of(&mut self, v: Val, at: &impl quote::ToTokens) -> L<SeqRef> {
        match v {
            Val::Atom(Atom::Var(x)) => Ok(SeqRef::Place(Place::var(x))),
            Val::Place(p) | Val::Ref(p) => Ok(SeqRef::Place(p)),
            Val::View(v) => Ok(SeqRef::View(v)),
            _ => self.err_at(at, "this is not an array, slice or `Vec`"),
        }
    }

    /// `x[i]` (a place) or `x[a..b]` (a view).
    fn index(&mut self, i: &syn::ExprIndex) -> L<Val> {
        let span = i.span();
        let base = self.expr(&i.expr)?;
        let seq = self.seq_of(base, &i.expr)?;
        if let syn::Expr::Range(r) = &*i.index {
            return self.slice(seq, r).map(Val::View);
        }
        let k = self.value(&i.index)?;
        Ok(Val::Place(self.element(seq, k, span)))
    }

    /// Element `k` of a sequence.
    pub(super) fn element(&mut self, seq: SeqRef, k: Atom, span: Span) -> Place {
        match seq {
            SeqRef::Place(p) => p.index(k),
            SeqRef::View(v) => {
                let at = self.int_add(v.start, k, span);
                v.base.index(at)
            }
        }
    }

    /// `a + b` on integers, folded where both are literals.
    pub(super) fn int_add(&mut self, a: Atom, b: Atom, span: Span) -> Atom {
        match (&a, &b) {
            (Atom::Int(0), _) => b,
            (_, Atom::Int(0)) => a,
            (Atom::Int(x), Atom::Int(y)) => Atom::Int(x + y),
            _ => self.int_op("+", a, b, span),
        }
    }

    /// An integer operation into a fresh temporary.
    pub(super) fn int_op(&mut self, op: &str, a: Atom, b: Atom, span: Span) -> Atom {
        let p = rules::binary(op)
            .or_else(|| rules::prim(op))
            .expect("an integer operator");
        self.assign_typed(Op::Prim(p, vec![a, b]), Ty::Int, span)
    }

    /// The length of a sequence.
    pub(super) fn seq_len(&mut self, seq: &SeqRef, span: Span) -> Atom {
        match seq {
            SeqRef::Place(p) => self.assign_typed(Op::Len(p.clone()), Ty::Int, span),
            SeqRef::View(v) => v.len.clone(),
        }
    }

    /// `x[a..b]`, `x[a..]`, `x[..b]`, `x[..]`.
    pub(super) fn slice(&mut self, seq: SeqRef, r: &syn::ExprRange) -> L<View> {
        let span = r.span();
        let lo = match &r.start {
            Some(e) => self.value(e)?,
            None => Atom::Int(0),
        };
        let hi = match &r.end {
            Some(e) => {
                let h = self.value(e)?;
                match r.limits {
                    syn::RangeLimits::HalfOpen(_) => h,
                    syn::RangeLimits::Closed(_) => self.int_add(h, Atom::Int(1), span),
                }
            }
            None => self.seq_len(&seq, span),
        };
        let len = match (&lo, &hi) {
            (Atom::Int(0), _) => hi.clone(),
            _ => self.int_op("-", hi, lo.clone(), span),
        };
        Ok(match seq {
            SeqRef::Place(base) => View {
                base,
                start: lo,
                len,
            },
            SeqRef::View(v) => {
                let start = self.int_add(v.start, lo, span);
                View {
                    base: v.base,
                    start,
                    len,
                }
            }
        })
    }

    /// `t.0` or `p.w`.
    fn field(&mut self, f: &syn::ExprField) -> L<Val> {
        let member = match &f.member {
            syn::Member::Named(n) => Member::Named(n.to_string()),
            syn::Member::Unnamed(i) => Member::Unnamed(i.index),
        };
        match (self.expr(&f.base)?, &member) {
            (Val::Tuple(parts), Member::Unnamed(i)) => match parts.get(*i as usize) {
                Some(p) => Ok(p.clone()),
                None => self.err_at(f, "no such tuple field"),
            },
            (Val::Atom(Atom::Var(v)), _) => Ok(Val::Place(Place::var(v).field(member))),
            (Val::Place(p), _) => Ok(Val::Place(p.field(member))),
            (Val::Ref(p), _) => Ok(Val::Ref(p.field(member))),
            _ => self.err_at(f, "this value has no fields"),
        }
    }

    fn cast(&mut self, c: &syn::ExprCast) -> L<Val> {
        let span = c.span();
        let to = match &*c.ty {
            syn::Type::Path(p) if p.path.get_ident().is_some() => {
                let name = p.path.segments[0].ident.to_string();
                match name.as_str() {
                    n if n == self.float().name() => CastTo::Float,
                    "f32" | "f64" => {
                        let f = self.float().name().to_string();
                        return self.err_at(
                            &c.ty,
                            format!("this function's float type is `{f}`: cast to `{f}`"),
                        );
                    }
                    "usize" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16"
                    | "i32" | "i64" | "i128" => CastTo::Int(name),
                    _ => {
                        return self.err_at(&c.ty, "casts go to the float type or an integer type")
                    }
                }
            }
            other => return self.err_at(other, "casts go to the float type or an integer type"),
        };
        let a = self.value(&c.expr)?;
        let ty = match to {
            CastTo::Float => Ty::Float,
            CastTo::Int(_) => Ty::Int,
        };
        Ok(Val::Atom(self.assign_typed(Op::Cast(a, to), ty, span)))
    }

    /// `vec![a, b]` and `vec![v; n]`.
    fn macro_expr(&mut self, m: &syn::Macro) -> L<Val> {
        let span = m.span();
        if !m.path.is_ident("vec") {
            return self.err_at(
                m,
                "macros other than `vec![..]` cannot be differentiated: compute the value in plain Rust",
            );
        }
        let parsed = m.parse_body_with(VecBody::parse);
        let body = match parsed {
            Ok(b) => b,
            Err(e) => {
                self.diag.push(e);
                return Err(super::Reported);
            }
        };
        let ty = Ty::Seq(SeqKind::Vec, Box::new(self.infer_ty()));
        let op = match body {
            VecBody::List(elems) => {
                let mut atoms = Vec::new();
                for e in &elems {
                    atoms.push(self.value(e)?);
                }
                Op::Seq(atoms, SeqForm::Vec)
            }
            VecBody::Repeat(v, n) => {
                let v = self.value(&v)?;
                let n = self.value(&n)?;
                Op::Repeat(v, Count::Atom(n), SeqForm::Vec)
            }
        };
        Ok(Val::Atom(self.assign_typed(op, ty, span)))
    }

    fn struct_literal(&mut self, s: &syn::ExprStruct) -> L<Val> {
        if let Some(rest) = &s.rest {
            return self.err_at(
                rest,
                "`..base` in a struct literal is not supported: name every field",
            );
        }
        let mut fields = Vec::new();
        for f in &s.fields {
            let name = match &f.member {
                syn::Member::Named(n) => n.to_string(),
                syn::Member::Unnamed(i) => i.index.to_string(),
            };
            let a = self.value(&f.expr)?;
            fields.push((name, a));
        }
        let path: Vec<String> = s
            .path
            .segments
            .iter()
            .map(|p| p.ident.to_string())
            .collect();
        let ty = Ty::Struct(path.clone());
        Ok(Val::Atom(self.assign_typed(
            Op::Struct(path, fields),
            ty,
            s.span(),
        )))
    }

    /// Statements for a value that is dropped (`x;`).
    #[allow(dead_code)]
    pub(super) fn discard(&mut self, e: &syn::Expr) -> L<Val> {
        self.expr_into(e, Sink::Discard)
    }
}

/// A sequence to index: a place, or a view of one.
#[derive(Clone, Debug)]
pub(crate) enum SeqRef {
    Place(Place),
    View(View),
}

/// The body of `vec![..]`.
enum VecBody {
    List(Vec<syn::Expr>),
    Repeat(Box<syn::Expr>, Box<syn::Expr>),
}

impl VecBody {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<VecBody> {
        if input.is_empty() {
            return Ok(VecBody::List(Vec::new()));
        }
        let first: syn::Expr = input.parse()?;
        if input.peek(syn::Token![;]) {
            input.parse::<syn::Token![;]>()?;
            let n: syn::Expr = input.parse()?;
            return Ok(VecBody::Repeat(Box::new(first), Box::new(n)));
        }
        let mut elems = vec![first];
        while input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
            if input.is_empty() {
                break;
            }
            elems.push(input.parse()?);
        }
        Ok(VecBody::List(elems))
    }
}

/// The value of `f64::EPSILON` and friends in the function's float type.
fn assoc_value(name: &str, float: &FloatTy) -> f64 {
    let f32_ = matches!(float, FloatTy::F32);
    match (name, f32_) {
        ("EPSILON", false) => f64::EPSILON,
        ("EPSILON", true) => f32::EPSILON as f64,
        ("MAX", false) => f64::MAX,
        ("MAX", true) => f32::MAX as f64,
        ("MIN", false) => f64::MIN,
        ("MIN", true) => f32::MIN as f64,
        ("MIN_POSITIVE", false) => f64::MIN_POSITIVE,
        ("MIN_POSITIVE", true) => f32::MIN_POSITIVE as f64,
        ("INFINITY", _) => f64::INFINITY,
        ("NEG_INFINITY", _) => f64::NEG_INFINITY,
        _ => f64::NAN,
    }
}
