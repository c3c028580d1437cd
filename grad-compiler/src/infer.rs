//! Type inference: every variable's type, from what the operations say.
//!
//! Lowering states the types it knows (parameters, literals, casts, annotations) and gives
//! every other value an inference variable. This pass reads each operation as equations
//! between types (`a + b`: both operands and the result have one type; `x[i]`: `x` is a
//! sequence of the result's type, `i` an integer) and solves them by unification. What no
//! operation pins down stays [`Ty::Opaque`]: rustc knows it, and the generated code handles
//! it through the runtime's shape traits. A value that takes part in arithmetic and is
//! still unknown is an error asking for an annotation: the macro never guesses.

use crate::diag::Diagnostics;
use crate::hash::HashMap;
use crate::ir::*;
use crate::rules::Types;
use crate::shape::{SeqKind, Ty};
use crate::visit;

/// The error for an operator or a float method applied to a whole nalgebra matrix.
const MATRIX_ARITHMETIC: &str = "operators and float methods on whole nalgebra matrices and vectors (`a * x`, `x + y`, `2.0 * x`, `x.abs()`) are not differentiated yet: write the loop over their elements, e.g. `for i in 0..a.nrows() { for j in 0..a.ncols() { y[i] += a[(i, j)] * x[j]; } }`";

struct Solver {
    bound: HashMap<u32, Ty>,
    next: u32,
    conflicts: Vec<(proc_macro2::Span, String)>,
    /// The type of each named field of each struct (by its path) the function uses: one per
    /// field, as every value of a struct type has the same field types.
    fields: HashMap<(Vec<String>, String), Ty>,
}

impl Solver {
    /// The type of field `name` of the struct `path`.
    fn field_ty(&mut self, path: &[String], name: &str) -> Ty {
        let key = (path.to_vec(), name.to_string());
        if let Some(t) = self.fields.get(&key) {
            return t.clone();
        }
        let t = self.fresh();
        self.fields.insert(key, t.clone());
        t
    }

    fn fresh(&mut self) -> Ty {
        self.next += 1;
        Ty::Infer(self.next)
    }

    /// The type with every bound variable replaced.
    fn resolve(&self, t: &Ty) -> Ty {
        match t {
            Ty::Infer(n) => match self.bound.get(n) {
                Some(b) => self.resolve(b),
                None => t.clone(),
            },
            Ty::Seq(k, e) => Ty::Seq(k.clone(), Box::new(self.resolve(e))),
            Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(|t| self.resolve(t)).collect()),
            Ty::MutRef(e) => Ty::MutRef(Box::new(self.resolve(e))),
            Ty::Stack(e) => Ty::Stack(Box::new(self.resolve(e))),
            t => t.clone(),
        }
    }

    /// Makes `a` and `b` one type (a slice and a `Vec` of one element type are one: the
    /// sequence kind is not unified).
    fn unify(&mut self, a: &Ty, b: &Ty, span: proc_macro2::Span) {
        let (written_a, written_b) = (a, b);
        let (a, b) = (self.resolve(a), self.resolve(b));
        if a == b {
            return;
        }
        match (&a, &b) {
            // Indexed before anything said what it is (`let mut y = SVector::zeros();
            // y[i] = ..; y`): a matrix after all.
            (Ty::Seq(SeqKind::Unknown, e), Ty::Matrix) | (Ty::Matrix, Ty::Seq(SeqKind::Unknown, e))
                if self.indexed_var(written_a).or(self.indexed_var(written_b)).is_some() =>
            {
                let e = (**e).clone();
                for n in [self.indexed_var(written_a), self.indexed_var(written_b)]
                    .into_iter()
                    .flatten()
                {
                    self.bound.insert(n, Ty::Matrix);
                }
                self.unify(&e, &Ty::Float, span);
            }
            // Opaque says nothing: it binds no variable.
            (Ty::Opaque, _) | (_, Ty::Opaque) => {}
            (Ty::Infer(n), t) | (t, Ty::Infer(n)) => {
                if !occurs(*n, t) {
                    self.bound.insert(*n, t.clone());
                }
            }
            (Ty::Seq(_, x), Ty::Seq(_, y)) => {
                let (x, y) = ((**x).clone(), (**y).clone());
                self.unify(&x, &y, span);
            }
            (Ty::Tuple(x), Ty::Tuple(y)) if x.len() == y.len() => {
                for (p, q) in x.clone().iter().zip(y.clone().iter()) {
                    self.unify(p, q, span);
                }
            }
            (Ty::Struct(_), Ty::Struct(_)) => {}
            (Ty::MutRef(x), y) | (y, Ty::MutRef(x)) => {
                let (x, y) = ((**x).clone(), y.clone());
                self.unify(&x, &y, span);
            }
            (Ty::Matrix, Ty::Float | Ty::Int) | (Ty::Float | Ty::Int, Ty::Matrix) => {
                self.conflicts.push((span, MATRIX_ARITHMETIC.into()))
            }
            _ => self.conflicts.push((
                span,
                format!(
                    "cannot tell the type of this value: it is used both as {} and as {}; annotate it (`let v: f64 = ..`)",
                    describe(&a),
                    describe(&b)
                ),
            )),
        }
    }

    /// The inference variable that [`Solver::elem_of`] made a sequence of unknown kind, if
    /// `t` is (or leads to) one.
    fn indexed_var(&self, t: &Ty) -> Option<u32> {
        let Ty::Infer(n) = t else { return None };
        match self.bound.get(n)? {
            Ty::Seq(SeqKind::Unknown, _) => Some(*n),
            next => self.indexed_var(next),
        }
    }

    /// The element type of a sequence-typed value, making it a sequence if unknown.
    fn elem_of(&mut self, t: &Ty) -> Ty {
        match self.resolve(t) {
            Ty::Seq(_, e) => *e,
            Ty::Matrix => Ty::Float,
            Ty::MutRef(inner) => self.elem_of(&inner),
            // An element of a value whose type only rustc knows: found from its uses.
            Ty::Opaque => self.fresh(),
            Ty::Infer(n) => {
                let e = self.fresh();
                self.bound
                    .insert(n, Ty::Seq(SeqKind::Unknown, Box::new(e.clone())));
                e
            }
            _ => Ty::Opaque,
        }
    }

    /// The type at a place (its indices are integers).
    fn place_ty(&mut self, f: &Function, p: &Place, span: proc_macro2::Span) -> Ty {
        let mut t = f.ty(p.root).clone();
        for proj in &p.path {
            t = match proj {
                Proj::Index(i) => {
                    let it = f.atom_ty(i);
                    match self.resolve(&it) {
                        // `m[(i, j)]`: only nalgebra matrices are indexed by a pair.
                        Ty::Tuple(parts) if parts.len() == 2 => {
                            self.unify(&t, &Ty::Matrix, span);
                            for p in &parts {
                                self.unify(p, &Ty::Int, span);
                            }
                        }
                        _ => self.unify(&it, &Ty::Int, span),
                    }
                    self.elem_of(&t)
                }
                Proj::Field(m) => match (self.resolve(&t), m) {
                    (Ty::Tuple(ts), Member::Unnamed(i)) => {
                        ts.get(*i as usize).cloned().unwrap_or(Ty::Opaque)
                    }
                    // A struct's field: the same type wherever the struct is built or read
                    // in this function (a literal `P { w: .. }` tells it).
                    (Ty::Struct(path), Member::Named(name)) => self.field_ty(&path, name),
                    // A field of a value whose type only rustc knows: unknown, to be found
                    // from how it is used.
                    _ => self.fresh(),
                },

                Proj::Deref => match self.resolve(&t) {
                    Ty::MutRef(inner) => *inner,
                    other => other,
                },
            };
        }
        t
    }
}

fn occurs(n: u32, t: &Ty) -> bool {
    match t {
        Ty::Infer(m) => *m == n,
        Ty::Seq(_, e) | Ty::MutRef(e) | Ty::Stack(e) => occurs(n, e),
        Ty::Tuple(ts) => ts.iter().any(|t| occurs(n, t)),
        _ => false,
    }
}

fn describe(t: &Ty) -> &'static str {
    match t {
        Ty::Float => "a float",
        Ty::Int => "an integer",
        Ty::Bool => "a `bool`",
        Ty::Seq(..) => "a sequence",
        Ty::Tuple(_) => "a tuple",
        Ty::Struct(_) => "a struct",
        Ty::Matrix => "a nalgebra matrix",
        _ => "another type",
    }
}

/// Infers the type of every variable of `f`; errors go to `diag`. Whether every type was
/// found without conflict.
pub fn infer(f: &mut Function, diag: &mut Diagnostics) -> bool {
    let next = f.vars.iter().map(|v| max_infer(&v.ty)).max().unwrap_or(0);
    let mut s = Solver {
        bound: HashMap::default(),
        next,
        conflicts: Vec::new(),
        fields: HashMap::default(),
    };
    // Two passes: places whose roots are solved late get their element types on the second.
    for _ in 0..2 {
        let body = f.body.clone();
        visit::walk(&body, &mut |st| constrain(f, &mut s, st));
    }
    let arithmetic = arithmetic_vars(f);
    // A number computed from a call's result that nothing else pins down: the functions a
    // differentiated value reaches are annotated ones or rules, whose numbers are floats; a
    // passive call's number is only passed along. Either way rustc checks the float type
    // the generated code gives it.
    let from_calls = call_derived(f);
    for (i, var) in f.vars.iter().enumerate() {
        if arithmetic[i] && from_calls[i] && matches!(s.resolve(&var.ty), Ty::Infer(_)) {
            s.unify(&var.ty, &Ty::Float, var.span);
        }
    }
    // One error per unknown type, at the variable the user named if there is one.
    let mut unknown: HashMap<u32, (bool, proc_macro2::Span)> = HashMap::default();
    for (i, var) in f.vars.iter_mut().enumerate() {
        let t = s.resolve(&var.ty);
        if let (Ty::Infer(n), true) = (&t, arithmetic[i]) {
            let named = var.origin == Origin::User;
            let e = unknown.entry(*n).or_insert((named, var.span));
            if named && !e.0 {
                *e = (true, var.span);
            }
        }
        var.ty = opaque_holes(t);
    }
    let mut spans: Vec<_> = unknown.into_values().map(|(_, span)| span).collect();
    spans.sort_by_key(|sp| format!("{sp:?}"));
    for span in spans {
        s.conflicts.push((
            span,
            "cannot tell whether this value is a float or an integer: annotate it (`let v: f64 = ..` or `let v: i64 = ..`)".into(),
        ));
    }
    let failed = !s.conflicts.is_empty();
    for (span, msg) in s.conflicts {
        diag.error(span, msg);
    }
    !failed
}

fn max_infer(t: &Ty) -> u32 {
    match t {
        Ty::Infer(n) => *n,
        Ty::Seq(_, e) | Ty::MutRef(e) | Ty::Stack(e) => max_infer(e),
        Ty::Tuple(ts) => ts.iter().map(max_infer).max().unwrap_or(0),
        _ => 0,
    }
}

/// Unknown parts become `Opaque`.
fn opaque_holes(t: Ty) -> Ty {
    match t {
        Ty::Infer(_) => Ty::Opaque,
        Ty::Seq(k, e) => Ty::Seq(k, Box::new(opaque_holes(*e))),
        Ty::Tuple(ts) => Ty::Tuple(ts.into_iter().map(opaque_holes).collect()),
        t => t,
    }
}

/// Variables that are operands or results of arithmetic (they must be known scalars).
/// The variables whose value comes from a call's result: the call's target, and what is
/// loaded from it, copied from it or computed from it.
fn call_derived(f: &Function) -> Vec<bool> {
    let mut out = vec![false; f.vars.len()];
    loop {
        let mut changed = false;
        visit::walk(&f.body, &mut |st| {
            let Stmt::Assign { target, op, .. } = st else {
                return;
            };
            let from = |a: &Atom| a.var().is_some_and(|v| out[v.index()]);
            let derived = match op {
                Op::Call(_) => true,
                Op::Use(a) | Op::NoGrad(a) => from(a),
                Op::Load(p) => out[p.root.index()],
                Op::Prim(_, args) => args.iter().any(from),
                _ => false,
            };
            if derived && !out[target.index()] {
                out[target.index()] = true;
                changed = true;
            }
        });
        if !changed {
            return out;
        }
    }
}

fn arithmetic_vars(f: &Function) -> Vec<bool> {
    let mut out = vec![false; f.vars.len()];
    visit::walk(&f.body, &mut |st| match st {
        Stmt::Assign {
            target,
            op: Op::Prim(_, args),
            ..
        } => {
            out[target.index()] = true;
            for a in args {
                if let Atom::Var(v) = a {
                    out[v.index()] = true;
                }
            }
        }
        Stmt::Assign {
            target,
            op: Op::Num(_),
            ..
        } => out[target.index()] = true,
        _ => {}
    });
    out
}

fn constrain(f: &Function, s: &mut Solver, st: &Stmt) {
    let ty = |a: &Atom| f.atom_ty(a);
    match st {
        Stmt::Assign { target, op, span } => {
            let t = f.ty(*target).clone();
            let span = *span;
            match op {
                Op::Use(a) | Op::NoGrad(a) | Op::ZeroLike(a) => s.unify(&t, &ty(a), span),
                Op::Load(p) => {
                    let pt = s.place_ty(f, p, span);
                    s.unify(&t, &pt, span);
                }
                Op::Prim(p, args) => {
                    // Operators and float methods apply to numbers; on whole nalgebra values
                    // they would be matrix operations, which are not differentiated yet.
                    let is_matrix = |x: &Ty| s.resolve(x) == Ty::Matrix;
                    if is_matrix(&t) || args.iter().any(|a| is_matrix(&ty(a))) {
                        s.conflicts.push((span, MATRIX_ARITHMETIC.into()));
                        return;
                    }
                    let rule = p.rule();
                    match rule.types {
                        Types::Float => {
                            s.unify(&t, &Ty::Float, span);
                            for (i, a) in args.iter().enumerate() {
                                let want = if rule.int_operands.contains(&i) {
                                    Ty::Int
                                } else {
                                    Ty::Float
                                };
                                s.unify(&ty(a), &want, span);
                            }
                        }
                        Types::Int => {
                            s.unify(&t, &Ty::Int, span);
                            for a in args {
                                s.unify(&ty(a), &Ty::Int, span);
                            }
                        }
                        Types::Both => {
                            for a in args {
                                s.unify(&t, &ty(a), span);
                            }
                        }
                    }
                }
                Op::Cmp(_, a, b) => {
                    s.unify(&ty(a), &ty(b), span);
                    s.unify(&t, &Ty::Bool, span);
                }
                Op::Not(a) => {
                    s.unify(&ty(a), &Ty::Bool, span);
                    s.unify(&t, &Ty::Bool, span);
                }
                Op::Select(c, a, b) => {
                    s.unify(&ty(c), &Ty::Bool, span);
                    s.unify(&t, &ty(a), span);
                    s.unify(&t, &ty(b), span);
                }
                Op::Cast(_, to) => {
                    let want = match to {
                        CastTo::Float => Ty::Float,
                        CastTo::Int(_) => Ty::Int,
                    };
                    s.unify(&t, &want, span);
                }
                Op::Len(p) => {
                    let _ = s.place_ty(f, p, span);
                    s.unify(&t, &Ty::Int, span);
                }
                Op::Seq(atoms, _) => {
                    let e = s.elem_of(&t);
                    for a in atoms {
                        s.unify(&e, &ty(a), span);
                    }
                }
                Op::Repeat(a, count, _) => {
                    let e = s.elem_of(&t);
                    s.unify(&e, &ty(a), span);
                    if let Count::Atom(n) = count {
                        s.unify(&ty(n), &Ty::Int, span);
                    }
                }
                Op::Tuple(atoms) => {
                    let parts = Ty::Tuple(atoms.iter().map(ty).collect());
                    s.unify(&t, &parts, span);
                }
                Op::Struct(path, fields) => {
                    for (name, a) in fields {
                        let ft = s.field_ty(path, name);
                        s.unify(&ft, &ty(a), span);
                    }
                }
                Op::Const(_) | Op::Num(_) | Op::Placeholder => {}
                Op::Call(call) => {
                    for a in &call.args {
                        if let Some(p) = a.place() {
                            let _ = s.place_ty(f, p, span);
                        }
                    }
                }
            }
        }
        Stmt::Store { place, value, span }
        | Stmt::Accumulate {
            place, value, span, ..
        } => {
            let pt = s.place_ty(f, place, *span);
            s.unify(&pt, &ty(value), *span);
        }
        Stmt::If { cond, .. } | Stmt::While { cond, .. } => {
            s.unify(&ty(cond), &Ty::Bool, proc_macro2::Span::call_site())
        }
        Stmt::For { var, lo, hi, .. } => {
            let sp = proc_macro2::Span::call_site();
            s.unify(f.ty(*var), &Ty::Int, sp);
            s.unify(&ty(lo), &Ty::Int, sp);
            s.unify(&ty(hi), &Ty::Int, sp);
        }
        Stmt::Sweep(_) => {}
    }
}
