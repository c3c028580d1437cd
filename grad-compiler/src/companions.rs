//! The companions that hold derivative code, each built as a whole IR function: its
//! parameters, its seeding, its sweeps and its copy-out, so the evaluator runs exactly what
//! code generation prints.
//!
//! - `f_pullback(params.., seed, adj_p..) -> R`: reverse mode over every float parameter,
//!   adding `seed^T dR/dp` into each `&mut` adjoint.
//! - `f_grad_into(params.., grad_p..) -> R`: the gradient over the differentiated parameters,
//!   written into the caller's buffers. When it differentiates every float parameter and no
//!   loop can write into its zeroed buffers directly, it is a call of `f_pullback` with a
//!   unit seed (one reverse sweep per function).
//! - `f_pushforward(params.., tan_p..) -> (R, dR)`: forward mode.
//! - second order: `f_pullback_pushforward` (forward over the pullback, what callers'
//!   Hessians call) and `f_hvp_into` (forward over `f_grad_into`).

use crate::forward;
use crate::ir::*;
use crate::lower::Lowered;
use crate::names::Binder;
use crate::reverse;
use crate::shape::{self, Ty};
use proc_macro2::{Span, TokenStream};

/// A companion function's IR and its name suffix.
pub struct Companion {
    /// `pullback`, `grad_into`, ...
    pub suffix: &'static str,
    /// The function.
    pub func: Function,
    /// What could not be differentiated, as error messages.
    pub errors: Vec<String>,
}

fn span() -> Span {
    Span::call_site()
}

fn written(t: TokenStream) -> syn::Type {
    syn::parse2(t).expect("shape types parse")
}

/// A new variable of `f` named after `binder` (and the variable it belongs to).
fn made(f: &mut Function, binder: Binder, of: Option<VarId>, ty: Ty) -> VarId {
    let (name, sp) = match of {
        Some(v) => (binder.name(&f.var(v).name), f.var(v).span),
        None => (binder.name(""), span()),
    };
    f.add_var(name, ty, sp, Origin::Made(binder, of))
}

/// `v = op` into a new variable named after `binder`, at the end of `body`.
fn assign_made(f: &mut Function, body: &mut Block, binder: Binder, ty: Ty, op: Op) -> VarId {
    let v = made(f, binder, None, ty);
    body.push(Stmt::Assign {
        target: v,
        op,
        span: span(),
    });
    v
}

/// Adds a parameter to `f`.
fn add_param(
    f: &mut Function,
    binder: Binder,
    of: Option<VarId>,
    ty: Ty,
    passing: Passing,
    written: syn::Type,
) -> VarId {
    let v = made(f, binder, of, ty);
    f.params.push(Param {
        var: v,
        passing,
        written,
    });
    v
}

/// The float parameters of the user's function, in order.
pub fn float_params(l: &Lowered) -> Vec<VarId> {
    l.func
        .params
        .iter()
        .map(|p| p.var)
        .filter(|v| l.func.ty(*v).carries_derivative())
        .collect()
}

/// The buffer parameter of `p` (`&mut` of its shape).
fn buffer(f: &mut Function, binder: Binder, p: VarId, written_ty: &syn::Type) -> VarId {
    let ty = Ty::MutRef(Box::new(f.ty(p).derivative()));
    add_param(
        f,
        binder,
        Some(p),
        ty,
        Passing::MutRef,
        written(shape::buffer_type(written_ty)),
    )
}

fn written_of(l: &Lowered, p: VarId) -> syn::Type {
    l.func
        .params
        .iter()
        .find(|q| q.var == p)
        .map(|q| q.written.clone())
        .expect("a parameter")
}

/// `value` copied out of the forward sweep (the reverse sweep may restore the result).
fn keep_value(f: &mut Function, body: &mut Block, result: VarId) -> VarId {
    let ty = f.ty(result).clone();
    assign_made(f, body, Binder::Value, ty, Op::Use(Atom::Var(result)))
}

/// `value = callee(args)`, a companion call whose value (of the function's result type) the
/// wrapper returns.
pub fn call_for_value(f: &mut Function, body: &mut Block, callee: Callee, args: Vec<Arg>) -> VarId {
    let ty = f.ty(f.returns[0]).clone();
    let value = made(f, Binder::Value, None, ty);
    body.push(Stmt::Sweep(Sweep::Call {
        target: Some(value),
        call: Call { callee, args },
    }));
    value
}

/// `f_pullback`.
pub fn pullback(l: &Lowered, sums: reverse::Sums) -> Companion {
    let floats = float_params(l);
    let mut base = l.func.clone();
    let result = base.returns[0];
    let seed_ty = match base.ty(result) {
        Ty::Seq(shape::SeqKind::Vec, e) => Ty::Seq(shape::SeqKind::Slice, e.clone()),
        t => t.clone(),
    };
    let seed = add_param(
        &mut base,
        Binder::Seed,
        None,
        seed_ty,
        Passing::Value,
        written(shape::seed_type(&l.sig.result.written)),
    );
    let mut buffers = crate::hash::HashMap::default();
    let mut copied = Vec::new();
    for &p in &floats {
        let b = buffer(&mut base, Binder::Adjoint, p, &written_of(l, p));
        if in_place(l, p) {
            buffers.insert(p, b);
        } else {
            copied.push((p, b));
        }
    }
    let plan = reverse::Plan {
        wrt: floats.clone(),
        buffers,
        zeroed: false,
        sums,
    };
    let r = reverse::reverse(&base, &plan);
    let mut f = r.func;
    let mut body = r.fwd;
    let value = keep_value(&mut f, &mut body, result);
    body.extend(seeded(&r.active, &r.adj, result, Atom::Var(seed)));
    body.extend(r.rev);
    for (p, b) in copied {
        if let Some(a) = r.adj.get(&p) {
            body.push(add_into_buffer(&f, p, *a, b));
        }
    }
    f.body = body;
    f.returns = vec![value];
    finish(&mut f);
    Companion {
        suffix: "pullback",
        func: f,
        errors: r.unsupported,
    }
}

/// `adj_result = seed`, the reverse sweep's start, where the result is active (an inactive
/// result has no adjoint: its derivatives are all zero).
fn seeded(
    active: &[bool],
    adj: &crate::hash::HashMap<VarId, VarId>,
    result: VarId,
    seed: Atom,
) -> Option<Stmt> {
    active[result.index()].then(|| Stmt::Assign {
        target: adj[&result],
        op: Op::Use(seed),
        span: span(),
    })
}

/// `f_grad_into` for the parameters `wrt`.
pub fn grad_into(
    l: &Lowered,
    wrt: &[VarId],
    sums: reverse::Sums,
    pullback: &Function,
) -> Companion {
    let pullback_name = companion_callee(l, "pullback");
    let floats = float_params(l);
    let mut base = l.func.clone();
    let result = base.returns[0];
    let mut buffers = crate::hash::HashMap::default();
    let mut outs = Vec::new();
    for &p in wrt {
        let b = buffer(&mut base, Binder::Gradient, p, &written_of(l, p));
        outs.push((p, b));
        if in_place(l, p) {
            buffers.insert(p, b);
        }
    }
    let plan = reverse::Plan {
        wrt: wrt.to_vec(),
        buffers,
        zeroed: true,
        sums,
    };
    let over_floats = wrt == floats.as_slice();
    if over_floats && !can_claim(&base, &plan.buffers) {
        // The sweep would be the pullback's: call it instead of differentiating again (the
        // pullback reports what it cannot differentiate).
        return grad_into_via_pullback(base, &outs, pullback_name, pullback, Vec::new());
    }
    let r = reverse::reverse(&base, &plan);
    if over_floats && r.claimed.is_empty() {
        return grad_into_via_pullback(base, &outs, pullback_name, pullback, r.unsupported);
    }
    let mut f = r.func;
    let mut body = Vec::new();
    for (p, b) in &outs {
        if *f.ty(*p) != Ty::Float {
            body.push(Stmt::Sweep(Sweep::Kernel(Kernel::ZeroAll {
                y: Place::var(*b).deref(),
            })));
        }
    }
    body.extend(r.fwd);
    let value = keep_value(&mut f, &mut body, result);
    body.extend(seeded(&r.active, &r.adj, result, Atom::Float(1.0)));
    body.extend(r.rev);
    for (p, b) in &outs {
        if *f.ty(*p) == Ty::Float {
            let value = match r.adj.get(p) {
                Some(a) => Atom::Var(*a),
                None => Atom::Float(0.0),
            };
            body.push(Stmt::Store {
                place: Place::var(*b).deref(),
                value,
                span: span(),
            });
        } else if let (false, Some(a)) = (in_place(l, *p), r.adj.get(p)) {
            // The buffer was zeroed at the start.
            body.push(add_into_buffer(&f, *p, *a, *b));
        }
    }
    f.body = body;
    f.returns = vec![value];
    finish(&mut f);
    Companion {
        suffix: "grad_into",
        func: f,
        errors: r.unsupported,
    }
}

/// `f_jacobian_rows(params.., matrix: &mut Jacobian<T>, rows: usize) -> R` (`rows` as many
/// as the result has floats; a result of fixed size has its count written in), what
/// `f_jacobian` calls for its rows: one forward sweep, then for each row a reverse sweep
/// seeded with that row's unit vector, its adjoints of the differentiated parameters
/// written into the row. What the reverse sweep changes of the forward sweep's state (the
/// stacks it pops, the values it restores) is copied after the forward sweep and put back
/// before each row.
pub fn jacobian_rows(
    l: &Lowered,
    wrt: &[VarId],
    sums: reverse::Sums,
    matrix_ty: syn::Type,
) -> Companion {
    let mut base = l.func.clone();
    let result = base.returns[0];
    let matrix = add_param(
        &mut base,
        Binder::Matrix,
        None,
        Ty::MutRef(Box::new(Ty::Opaque)),
        Passing::MutRef,
        matrix_ty,
    );
    let rows = add_param(
        &mut base,
        Binder::Rows,
        None,
        Ty::Int,
        Passing::Value,
        written(quote::quote!(usize)),
    );
    // Each differentiated parameter's adjoint: a local buffer zeroed per row where the
    // parameter is an unwritten sequence, else the transform's own adjoint.
    let mut buffers = crate::hash::HashMap::default();
    for &p in wrt {
        if in_place(l, p) {
            let ty = base.ty(p).derivative();
            buffers.insert(p, made(&mut base, Binder::Adjoint, Some(p), ty));
        }
    }
    let plan = reverse::Plan {
        wrt: wrt.to_vec(),
        buffers: buffers.clone(),
        zeroed: false,
        sums,
    };
    let r = reverse::reverse(&base, &plan);
    let mut f = r.func;
    // Each row's reverse sweep starts from what the forward sweep left: what it writes of
    // that (adjoints the forward sweep allocated: zeroed; values it restores and the stacks
    // it pops: copied after the forward sweep, copied back) is set again before each row.
    let mut forward: crate::hash::HashSet<VarId> =
        crate::visit::block_writes(&r.fwd).into_iter().collect();
    forward.extend(f.params.iter().map(|p| p.var));
    // A loop's own variable is set by the loop: it needs nothing back.
    let mut rev_writes = Vec::new();
    crate::visit::walk(&r.rev, &mut |s| {
        let own = match s {
            Stmt::For { var, .. } => Some(*var),
            _ => None,
        };
        let writes = crate::visit::effects(s).writes;
        rev_writes.extend(writes.iter().map(|w| w.var).filter(|v| Some(*v) != own));
    });
    let mut reset = Vec::new();
    let mut restored = Vec::new();
    for v in rev_writes {
        if !forward.contains(&v) || reset.contains(&v) || restored.iter().any(|(r, _)| *r == v) {
            continue;
        }
        if matches!(f.var(v).origin, Origin::Made(Binder::Adjoint, _)) {
            reset.push(v);
        } else {
            let ty = f.ty(v).clone();
            restored.push((v, made(&mut f, Binder::Saved, Some(v), ty)));
        }
    }
    let mut body = r.fwd;
    for (v, copy) in &restored {
        body.push(Stmt::Assign {
            target: *copy,
            op: Op::Use(Atom::Var(*v)),
            span: span(),
        });
    }
    let value = keep_value(&mut f, &mut body, result);
    let seed_ty = f.ty(result).clone();
    let zero = Op::ZeroLike(Atom::Var(value));
    let seed = assign_made(&mut f, &mut body, Binder::Seed, seed_ty, zero);
    let row = made(&mut f, Binder::Row, None, Ty::Int);
    let mut sweep = vec![Stmt::Sweep(Sweep::Kernel(Kernel::SetUnit {
        y: Place::var(seed),
        index: Atom::Var(row),
    }))];
    let mut parts = Vec::new();
    for &p in wrt {
        let part = match (buffers.get(&p), r.adj.get(&p)) {
            (Some(b), _) => {
                body.push(Stmt::Assign {
                    target: *b,
                    op: Op::ZeroLike(Atom::Var(p)),
                    span: span(),
                });
                sweep.push(crate::build::zero_all(&f, *b));
                *b
            }
            (None, Some(a)) => *a,
            // Not reached by the result: a zero row part.
            (None, None) => {
                let ty = f.ty(p).derivative();
                let z = f.add_var("", ty, span(), Origin::Temp);
                body.push(Stmt::Assign {
                    target: z,
                    op: Op::ZeroLike(Atom::Var(p)),
                    span: span(),
                });
                z
            }
        };
        parts.push(Place::var(part));
    }
    for v in reset {
        sweep.push(crate::build::zero_all(&f, v));
    }
    for (v, copy) in restored {
        sweep.push(Stmt::Assign {
            target: v,
            op: Op::Use(Atom::Var(copy)),
            span: span(),
        });
    }
    sweep.extend(seeded(&r.active, &r.adj, result, Atom::Var(seed)));
    sweep.extend(r.rev);
    // What the reverse sweep computes from the forward sweep's values alone (the partials
    // of `sin`, `exp`, ...) is the same for every row: computed once, before the rows.
    body.extend(hoist_invariants(&f, &mut sweep));
    sweep.push(Stmt::Sweep(Sweep::Kernel(Kernel::WriteRow {
        parts,
        out: Place::var(matrix).deref(),
        row: Atom::Var(row),
    })));
    // A count the result's type gives is a literal: the rows' loop unrolls (and the unit
    // seeds fold) whether or not `f_jacobian` inlines this function.
    let count = match f.ty(result).static_flat_len() {
        Some(n) => Atom::Int(n as i64),
        None => Atom::Var(rows),
    };
    body.push(Stmt::For {
        var: row,
        lo: Atom::Int(0),
        hi: count,
        rev: false,
        body: sweep,
        chunked: None,
    });
    f.body = body;
    f.returns = vec![value];
    finish(&mut f);
    Companion {
        suffix: "jacobian_rows",
        func: f,
        errors: r.unsupported,
    }
}

/// Takes out of a loop's body, in order, the assignments at its top level that compute the
/// same value in every iteration: a float operation of variables the loop does not write
/// (one that cannot panic: no call, no load), into a variable the loop writes only there
/// and mentions nowhere before.
fn hoist_invariants(f: &Function, body: &mut Block) -> Block {
    let mut writes: crate::hash::HashMap<VarId, usize> = crate::hash::HashMap::default();
    for v in crate::visit::block_writes(body) {
        *writes.entry(v).or_default() += 1;
    }
    let mut hoisted = Vec::new();
    let mut kept: Block = Vec::new();
    // Every variable a kept statement mentions: a value one of them reads or writes
    // earlier in the body cannot move in front of it.
    let mut mentioned_by_kept: crate::hash::HashSet<VarId> = crate::hash::HashSet::default();
    for s in std::mem::take(body) {
        let invariant = match &s {
            Stmt::Assign { target, op, .. } => {
                !matches!(op, Op::Call(_) | Op::Load(_))
                    && *f.ty(*target) == Ty::Float
                    && writes.get(target) == Some(&1)
                    && !mentioned_by_kept.contains(target)
                    && crate::visit::op_reads(op)
                        .iter()
                        .all(|v| !writes.contains_key(v))
            }
            _ => false,
        };
        if invariant {
            if let Stmt::Assign { target, .. } = &s {
                writes.remove(target);
            }
            hoisted.push(s);
        } else {
            let deep = crate::visit::Deep::of(&s);
            mentioned_by_kept.extend(deep.mentions.iter().map(|(v, _)| *v));
            kept.push(s);
        }
    }
    *body = kept;
    hoisted
}

/// Whether the reverse sweep could sum a loop's gradient straight into one of the caller's
/// `buffers` (`reverse::Reversed::claimed`): only into a parameter no other statement reads,
/// so never when every such parameter flows from two top-level statements or more.
fn can_claim(f: &Function, buffers: &crate::hash::HashMap<VarId, VarId>) -> bool {
    buffers.keys().any(|p| {
        let reading = f.body.iter().filter(|s| {
            let mut reads = false;
            crate::visit::walk(std::slice::from_ref(*s), &mut |st| {
                reads |= crate::analysis::activity::flows(st)
                    .iter()
                    .any(|(from, _)| from == p);
            });
            reads
        });
        reading.take(2).count() < 2
    })
}

/// Whether a differentiated parameter's adjoint lives in the caller's buffer itself; else
/// in a local added into the buffer at the end: scalars, and parameters the body writes
/// (the reverse sweep clears the adjoint of an overwritten value, which must not clear
/// what the caller's buffer held).
fn in_place(l: &Lowered, p: VarId) -> bool {
    let written = crate::visit::block_writes(&l.func.body);
    *l.func.ty(p) != Ty::Float && !written.contains(&p)
}

/// `*buffer += adjoint` for a parameter's local adjoint.
fn add_into_buffer(f: &Function, p: VarId, adj: VarId, buffer: VarId) -> Stmt {
    if *f.ty(p) == Ty::Float {
        Stmt::Accumulate {
            place: Place::var(buffer).deref(),
            value: Atom::Var(adj),
            negate: false,
            span: span(),
        }
    } else {
        Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll {
            alpha: Atom::Float(1.0),
            x: Place::var(adj),
            y: Place::var(buffer).deref(),
        }))
    }
}

/// `f_grad_into` as zeroed buffers and `f_pullback` with a unit seed.
fn grad_into_via_pullback(
    mut f: Function,
    outs: &[(VarId, VarId)],
    callee: Callee,
    pullback: &Function,
    errors: Vec<String>,
) -> Companion {
    let mut body = Vec::new();
    let mut args: Vec<Arg> = f
        .params
        .iter()
        .filter(|p| !outs.iter().any(|(_, b)| *b == p.var))
        .map(|p| Arg::Value(Atom::Var(p.var)))
        .collect();
    args.push(Arg::Value(Atom::Float(1.0)));
    for (p, b) in outs {
        let place = Place::var(*b).deref();
        let ty = f.ty(*p).clone();
        match whole_sum_start(pullback, *p, &ty) {
            Some(n) => {
                let zero = Atom::Float(-0.0);
                if ty == Ty::Float {
                    body.push(Stmt::Store {
                        place: place.clone(),
                        value: zero,
                        span: span(),
                    });
                } else {
                    let len = Count::Len(shape::Len::Lit(n));
                    let op = Op::Repeat(zero, len, SeqForm::Array);
                    let start = f.add_var("", ty, span(), Origin::Temp);
                    body.push(Stmt::Assign {
                        target: start,
                        op,
                        span: span(),
                    });
                    body.push(Stmt::Store {
                        place: place.clone(),
                        value: Atom::Var(start),
                        span: span(),
                    });
                }
            }
            None if ty == Ty::Float => body.push(Stmt::Store {
                place: place.clone(),
                value: Atom::Float(0.0),
                span: span(),
            }),
            None => body.push(Stmt::Sweep(Sweep::Kernel(Kernel::ZeroAll {
                y: place.clone(),
            }))),
        }
        args.push(Arg::MutRef(place));
    }
    let value = call_for_value(&mut f, &mut body, callee, args);
    f.body = body;
    f.returns = vec![value];
    Companion {
        suffix: "grad_into",
        func: f,
        errors,
    }
}

/// `Some(n)` when `pullback` adds into every one of the `n` floats of the adjoint buffer of
/// the parameter `p` (a float, or an array of floats of literal length) in statements of
/// its top-level block, which run on every call: `f_grad_into` then starts those floats at
/// `-0.0` rather than `0.0`. `-0.0 + x` is `x` exactly for every `x` (where `0.0 + -0.0` is
/// `0.0`), so the optimiser drops the first addition into each, and the gradient is the
/// sum of the contributions as before (a contribution of `-0.0` alone keeps its sign).
/// Other buffers start at `0.0`: a float no statement adds into must read `0.0`.
fn whole_sum_start(pullback: &Function, p: VarId, ty: &Ty) -> Option<usize> {
    const MOST_STORES: usize = 16;
    let buffer = pullback
        .params
        .iter()
        .map(|q| q.var)
        .find(|v| pullback.vars[v.index()].origin == Origin::Made(Binder::Adjoint, Some(p)))?;
    let n = match ty {
        Ty::Float => 1,
        Ty::Seq(shape::SeqKind::Array(shape::Len::Lit(n)), e) if **e == Ty::Float => *n,
        _ => return None,
    };
    if n > MOST_STORES {
        return None;
    }
    let mut covered = vec![false; n];
    for s in &pullback.body {
        let place = match s {
            Stmt::Accumulate { place, .. } => place,
            Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll { y, .. })) => y,
            _ => continue,
        };
        if place.root != buffer {
            continue;
        }
        // A buffer the sweep adds into in place is indexed through the reference.
        let path = match place.path.as_slice() {
            [Proj::Deref, rest @ ..] => rest,
            path => path,
        };
        match (path, s) {
            ([], Stmt::Accumulate { .. }) if *ty == Ty::Float => covered[0] = true,
            ([], Stmt::Sweep(_)) => covered.iter_mut().for_each(|c| *c = true),
            ([Proj::Index(Atom::Int(i))], Stmt::Accumulate { .. }) => {
                if let Some(c) = usize::try_from(*i).ok().and_then(|i| covered.get_mut(i)) {
                    *c = true;
                }
            }
            _ => {}
        }
    }
    covered.iter().all(|c| *c).then_some(n)
}

/// How this function's own companion `f_suffix` is called: a path, or a method of `self`.
pub fn companion_callee(l: &Lowered, suffix: &str) -> Callee {
    let name = syn::Ident::new(&format!("{}_{suffix}", l.sig.ident), l.sig.ident.span());
    if l.sig.is_method {
        Callee::Method(name)
    } else {
        Callee::Path(name.into())
    }
}

/// `f_pushforward` by forward mode: each statement followed by its tangent statement. What
/// `expand` emits for a result that is not a float (a float result's pushforward is the
/// pullback's gradient along the tangents, [`crate::wrappers::pushforward`]); the tests run
/// it for every result, as the forward transform is also what `f_hvp` and
/// `f_pullback_pushforward` are made of.
pub fn pushforward(l: &Lowered, sums: reverse::Sums) -> Companion {
    let mut base = l.func.clone();
    let result = base.returns[0];
    let tangents = tangent_params(l, &mut base);
    let plan = forward::Plan {
        tangents,
        outputs: vec![result],
        exact_calls: sums == reverse::Sums::AsWritten,
    };
    let r = forward::forward(&base, &plan);
    let mut f = r.func;
    let mut body = r.body;
    let tan = match r.tan.get(&result) {
        Some(t) => *t,
        None => zero_tangent(&mut f, &mut body, result),
    };
    f.body = body;
    f.returns = vec![result, tan];
    finish(&mut f);
    Companion {
        suffix: "pushforward",
        func: f,
        errors: Vec::new(),
    }
}

/// Adds to `f` (the user's function or a copy of it) the pushforward's tangent parameters,
/// one per float parameter, in order, typed `T(P)`; returns the pairs (parameter, tangent).
pub fn tangent_params(l: &Lowered, base: &mut Function) -> Vec<(VarId, VarId)> {
    let mut tangents = Vec::new();
    for p in float_params(l) {
        let w = written_of(l, p);
        let ty = base.ty(p).derivative();
        let ty = match ty {
            Ty::Seq(shape::SeqKind::Vec, e) => Ty::Seq(shape::SeqKind::Slice, e),
            t => t,
        };
        let passing = if matches!(w, syn::Type::Reference(_)) {
            Passing::Ref
        } else {
            Passing::Value
        };
        let t = add_param(
            base,
            Binder::Tangent,
            Some(p),
            ty,
            passing,
            written(shape::tangent_type(&w)),
        );
        tangents.push((p, t));
    }
    tangents
}

/// Forward mode over a companion `c` (a pullback or a gradient): tangents for the
/// parameters `inputs` (`direction` names them; `&mut` buffers get `out_binder` tangents,
/// which are outputs), and, when `tangent_result`, the result's tangent returned beside it.
pub fn pushforward_of(
    c: &Companion,
    suffix: &'static str,
    inputs: &[VarId],
    direction: Binder,
    out_binder: Binder,
    tangent_result: bool,
    sums: reverse::Sums,
) -> Companion {
    let mut base = c.func.clone();
    let mut tangents = Vec::new();
    let params: Vec<Param> = base.params.clone();
    for p in &params {
        if !inputs.contains(&p.var) {
            continue;
        }
        let ty = base.ty(p.var).clone();
        // A buffer's tangent is named after the parameter the buffer belongs to.
        let named = match base.var(p.var).origin {
            Origin::Made(_, Some(u)) => u,
            _ => p.var,
        };
        let (binder, passing, w) = match p.passing {
            Passing::MutRef => (out_binder, Passing::MutRef, p.written.clone()),
            _ => (
                direction,
                p.passing.clone(),
                written(shape::tangent_type(&p.written)),
            ),
        };
        let t = add_param(&mut base, binder, Some(named), ty.derivative(), passing, w);
        tangents.push((p.var, t));
    }
    let mut outputs = base.returns.clone();
    outputs.extend(
        params
            .iter()
            .filter(|p| p.passing == Passing::MutRef)
            .map(|p| p.var),
    );
    let plan = forward::Plan {
        tangents,
        outputs,
        exact_calls: sums == reverse::Sums::AsWritten,
    };
    let r = forward::forward(&base, &plan);
    let mut f = r.func;
    let mut body = r.body;
    if tangent_result {
        let result = f.returns[0];
        let tan = match r.tan.get(&result) {
            Some(t) => *t,
            None => zero_tangent(&mut f, &mut body, result),
        };
        f.returns.push(tan);
    }
    f.body = body;
    finish(&mut f);
    Companion {
        suffix,
        func: f,
        errors: Vec::new(),
    }
}

/// A zero tangent for a result that does not depend on the inputs.
fn zero_tangent(f: &mut Function, body: &mut Block, result: VarId) -> VarId {
    let ty = f.ty(result).derivative();
    let t = f.add_var(
        Binder::Tangent.name("value"),
        ty,
        span(),
        Origin::Made(Binder::Tangent, Some(result)),
    );
    let op = if *f.ty(result) == Ty::Float {
        Op::Use(Atom::Float(0.0))
    } else {
        Op::ZeroLike(Atom::Var(result))
    };
    body.push(Stmt::Assign {
        target: t,
        op,
        span: span(),
    });
    t
}

/// Clean-ups every companion gets.
/// The second-order companions built from the pullback `pb` and `grad_into` `gi`:
/// `f_pullback_pushforward` (forward over the pullback, what callers' Hessians call) and
/// `f_hvp_into` (forward over `grad_into` along the directions of the parameters `wrt`).
pub fn second_order(
    pb: &Companion,
    gi: &Companion,
    wrt: &[VarId],
    sums: reverse::Sums,
) -> (Companion, Companion) {
    let floats: Vec<VarId> = pb
        .func
        .params
        .iter()
        .map(|p| p.var)
        .filter(|v| pb.func.ty(*v).carries_derivative())
        .collect();
    let pbpf = pushforward_of(
        pb,
        "pullback_pushforward",
        &floats,
        Binder::Tangent,
        Binder::Tangent,
        true,
        sums,
    );
    let mut inputs: Vec<VarId> = wrt.to_vec();
    inputs.extend(
        gi.func
            .params
            .iter()
            .filter(|p| p.passing == Passing::MutRef)
            .map(|p| p.var),
    );
    let hvp_into = pushforward_of(
        gi,
        "hvp_into",
        &inputs,
        Binder::Direction,
        Binder::HessianVector,
        false,
        sums,
    );
    (pbpf, hvp_into)
}

fn finish(f: &mut Function) {
    crate::cleanup::remove_dead_assignments(f);
    crate::cleanup::merge_twin_ifs(&mut f.body);
    crate::cleanup::insert_zero_inits(f);
    crate::tidy::tidy(f);
    crate::cleanup::settle_chunks(f);
}
