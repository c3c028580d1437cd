//! Iterator chains, desugared to indexed loops.
//!
//! A chain over arrays, slices, `Vec`s and ranges is a [`Stream`]: a number of items and a
//! recipe for item `k` ([`Item`]) built from index arithmetic (`zip`, `enumerate`, `map`,
//! `rev`, `skip`, `step_by`, `chunks`, `windows` keep it random-access), followed by
//! adapters that only pass items along ([`Push`]: `filter`, and what follows it). A
//! consumer or a `for` loop runs `for k in 0..len { item k; adapters; body }`. So
//! `w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()` is the indexed loop `acc += w[k] *
//! x[k]`, and the reverse transform sees the same sum-reduction (and dot product) it sees
//! in the indexed form.

use super::call::{strip_parens, Callable};
use super::control::Exits;
use super::expr::SeqRef;
use super::scope::{Frame, Val, View};
use super::stmt::Sink;
use super::{Lowerer, L};
use crate::ir::*;
use crate::names::Binder;
use crate::rules;
use crate::shape::{SeqKind, Ty};
use proc_macro2::Span;
use std::rc::Rc;
use syn::spanned::Spanned;

/// An iterator chain not yet consumed.
#[derive(Clone, Debug)]
pub struct Stream {
    /// How many items the random-access part has.
    pub len: Atom,
    /// Item `k` of the random-access part.
    pub item: Item,
    /// Adapters after the random-access part, in order.
    pub push: Vec<Push>,
}

/// How item `k` is made.
#[derive(Clone, Debug)]
pub enum Item {
    /// `k` itself.
    Index,
    /// `inner(k + n)`.
    Offset(Box<Item>, Atom),
    /// `inner(n - 1 - k)`.
    Reversed(Box<Item>, Atom),
    /// `inner(k * s)`.
    Stride(Box<Item>, Atom),
    /// Element `k` of a sequence: a reference (`iter()`) or a place (`into_iter()` of an
    /// array, read when bound).
    Elem(SeqRef, bool),
    /// `chunks(size)`: the view `seq[k * size ..][.. min(size, len - k * size)]`.
    Chunk(SeqRef, Atom, Atom),
    /// `windows(size)`: the view `seq[k .. k + size]`.
    Window(SeqRef, Atom),
    /// `(a(k), b(k))`.
    Zip(Box<Item>, Box<Item>),
    /// `(k, inner(k))`.
    Enumerate(Box<Item>),
    /// `f(inner(k))`.
    Map(Box<Item>, Callable),
    /// `*inner(k)` (`copied()`, `cloned()`).
    Deref(Box<Item>),
}

/// An adapter that passes items along one by one.
#[derive(Clone, Debug)]
pub enum Push {
    /// Only items for which the closure holds.
    Filter(Callable),
    /// `f(item)`.
    Map(Callable),
    /// `(count, item)`, counting the items that reach it.
    Enumerate(VarId),
    /// The first `n` items that reach it.
    Take(Atom, VarId),
    /// All but the first `n` items that reach it.
    Skip(Atom, VarId),
    /// `*item`.
    Deref,
}

impl Lowerer {
    /// A method of an iterator chain (or one that starts one).
    pub(super) fn iter_method(&mut self, receiver: Val, m: &syn::ExprMethodCall) -> L<Val> {
        let Val::Iter(stream) = receiver else {
            return self.start_stream(receiver, m);
        };
        let name = m.method.to_string();
        match name.as_str() {
            "sum" | "product" | "count" | "fold" | "for_each" | "max_by" | "min_by" | "collect"
            | "to_vec" => self.consume(&stream, m),
            _ => Ok(Val::Iter(Rc::new(self.adapt((*stream).clone(), m)?))),
        }
    }

    /// That `m` has `n` arguments.
    fn arity(&mut self, m: &syn::ExprMethodCall, n: usize) -> L<()> {
        if m.args.len() == n {
            Ok(())
        } else {
            self.err_at(m, format!("`{}` takes {n} argument(s)", m.method))
        }
    }

    /// A method of a sequence that starts a stream (`x.iter()`, `x.chunks(d)`, ...).
    fn start_stream(&mut self, receiver: Val, m: &syn::ExprMethodCall) -> L<Val> {
        let span = m.span();
        let name = m.method.to_string();
        let need = |cx: &mut Self, n: usize| cx.arity(m, n);
        match name.as_str() {
            "copied" | "cloned" => Ok(receiver), // on `max_by(..)`'s value
            "iter" | "iter_mut" | "into_iter" => {
                need(self, 0)?;
                let by_ref = name != "into_iter" || matches!(receiver, Val::Ref(_) | Val::View(_));
                let seq = self.seq_of(receiver, &m.receiver)?;
                let len = self.seq_len(&seq, span);
                Ok(Val::Iter(Rc::new(Stream {
                    len,
                    item: Item::Elem(seq, by_ref),
                    push: Vec::new(),
                })))
            }
            "chunks" | "chunks_exact" | "windows" => {
                need(self, 1)?;
                let size = self.value(&m.args[0])?;
                let seq = self.seq_of(receiver, &m.receiver)?;
                let total = self.seq_len(&seq, span);
                let (len, item) = match name.as_str() {
                    // Every chunk is whole: the window of `size` at `k * size`.
                    "chunks_exact" => (
                        self.int_op("/", total.clone(), size.clone(), span),
                        Item::Stride(Box::new(Item::Window(seq, size.clone())), size),
                    ),
                    "chunks" => {
                        let up = self.int_add(total.clone(), size.clone(), span);
                        let up = self.int_op("-", up, Atom::Int(1), span);
                        (
                            self.int_op("/", up, size.clone(), span),
                            Item::Chunk(seq, size, total),
                        )
                    }
                    _ => {
                        let n1 = self.int_add(total, Atom::Int(1), span);
                        (
                            self.saturating_sub(n1, size.clone(), span),
                            Item::Window(seq, size),
                        )
                    }
                };
                Ok(Val::Iter(Rc::new(Stream {
                    len,
                    item,
                    push: Vec::new(),
                })))
            }
            "to_vec" => {
                let seq = self.seq_of(receiver, &m.receiver)?;
                let len = self.seq_len(&seq, span);
                let s = Stream {
                    len,
                    item: Item::Deref(Box::new(Item::Elem(seq, true))),
                    push: Vec::new(),
                };
                self.collect(&s, span)
            }
            _ => self.err_at(
                &m.method,
                format!("`{name}` needs an iterator: start the chain with `.iter()`"),
            ),
        }
    }

    /// An adapter applied to a stream (`map`, `zip`, `rev`, ...).
    fn adapt(&mut self, mut s: Stream, m: &syn::ExprMethodCall) -> L<Stream> {
        let span = m.span();
        let name = m.method.to_string();
        let need = |cx: &mut Self, n: usize| cx.arity(m, n);
        let random = s.push.is_empty();
        match name.as_str() {
            "iter" | "into_iter" | "iter_mut" => {}
            "copied" | "cloned" => {
                if random {
                    s.item = Item::Deref(Box::new(s.item));
                } else {
                    s.push.push(Push::Deref);
                }
            }
            "map" => {
                need(self, 1)?;
                let f = self.callable(&m.args[0])?;
                if random {
                    s.item = Item::Map(Box::new(s.item), f);
                } else {
                    s.push.push(Push::Map(f));
                }
            }
            "filter" => {
                need(self, 1)?;
                let f = self.callable(&m.args[0])?;
                s.push.push(Push::Filter(f));
            }
            "enumerate" => {
                if random {
                    s.item = Item::Enumerate(Box::new(s.item));
                } else {
                    let c = self.counter(span);
                    s.push.push(Push::Enumerate(c));
                }
            }
            "zip" => {
                need(self, 1)?;
                let other = self.expr(&m.args[0])?;
                let other = self.stream_of(other, &m.args[0])?;
                if !random || !other.push.is_empty() {
                    return self.err_at(m, "`zip` after `filter` is not supported: filter after zipping");
                }
                let len = self.int_prim("min", s.len, other.len, span);
                s = Stream {
                    len,
                    item: Item::Zip(Box::new(s.item), Box::new(other.item)),
                    push: Vec::new(),
                };
            }
            "rev" => {
                if !random {
                    return self.err_at(m, "`rev` after `filter` is not supported: reverse before filtering");
                }
                s.item = Item::Reversed(Box::new(s.item), s.len.clone());
            }
            "take" | "skip" => {
                need(self, 1)?;
                let n = self.value(&m.args[0])?;
                if random && name == "take" {
                    s.len = self.int_prim("min", s.len, n, span);
                } else if random {
                    s.len = self.saturating_sub(s.len, n.clone(), span);
                    s.item = Item::Offset(Box::new(s.item), n);
                } else {
                    let c = self.counter(span);
                    s.push.push(if name == "take" { Push::Take(n, c) } else { Push::Skip(n, c) });
                }
            }
            "step_by" => {
                need(self, 1)?;
                if !random {
                    return self.err_at(m, "`step_by` after `filter` is not supported");
                }
                let st = self.value(&m.args[0])?;
                let up = self.int_add(s.len, st.clone(), span);
                let up = self.int_op("-", up, Atom::Int(1), span);
                s.len = self.int_op("/", up, st.clone(), span);
                s.item = Item::Stride(Box::new(s.item), st);
            }
            _ => {
                return self.err_at(
                    &m.method,
                    format!("the iterator method `{name}` is not supported: see the README for the chains that are"),
                )
            }
        }
        Ok(s)
    }

    /// A consumer of a stream (`sum`, `fold`, `collect`, ...): the loop it runs, and its value.
    fn consume(&mut self, s: &Stream, m: &syn::ExprMethodCall) -> L<Val> {
        let span = m.span();
        let name = m.method.to_string();
        let need = |cx: &mut Self, n: usize| cx.arity(m, n);
        match name.as_str() {
            "sum" | "product" => {
                need(self, 0)?;
                self.sum_or_product(s, name == "sum", turbofish_ty(m, self), span)
            }
            "count" => {
                need(self, 0)?;
                let c = self.counter(span);
                self.drive(s, span, &mut |cx, _| {
                    cx.emit(Stmt::Accumulate {
                        place: Place::var(c),
                        value: Atom::Int(1),
                        negate: false,
                        span,
                    });
                    Ok(())
                })?;
                Ok(Val::Atom(Atom::Var(c)))
            }
            "fold" => {
                need(self, 2)?;
                let init = self.value(&m.args[0])?;
                let f = self.callable(&m.args[1])?;
                self.fold(s, init, &f, span, m)
            }
            "for_each" => {
                need(self, 1)?;
                let f = self.callable(&m.args[0])?;
                self.drive(s, span, &mut |cx, item| {
                    cx.apply(&f, vec![item], span, m).map(|_| ())
                })?;
                Ok(Val::Unit)
            }
            "max_by" | "min_by" => {
                need(self, 1)?;
                let f = self.callable(&m.args[0])?;
                self.best_by(s, &f, name == "max_by", span, m)
            }
            "collect" | "to_vec" => self.collect(s, span),
            _ => unreachable!("iter_method sends consumers only"),
        }
    }

    /// `a..b`, `a..=b` as a stream of integers.
    pub(super) fn range_stream(&mut self, r: &syn::ExprRange) -> L<Stream> {
        let span = r.span();
        let (Some(lo), Some(hi)) = (&r.start, &r.end) else {
            return self.err_at(r, "a range to loop over needs both ends: `a..b`");
        };
        let lo = self.value(lo)?;
        let hi = self.value(hi)?;
        let hi = match r.limits {
            syn::RangeLimits::HalfOpen(_) => hi,
            syn::RangeLimits::Closed(_) => self.int_add(hi, Atom::Int(1), span),
        };
        let len = match &lo {
            Atom::Int(0) => hi,
            _ => self.saturating_sub(hi, lo.clone(), span),
        };
        let item = match lo {
            Atom::Int(0) => Item::Index,
            lo => Item::Offset(Box::new(Item::Index), lo),
        };
        Ok(Stream {
            len,
            item,
            push: Vec::new(),
        })
    }

    /// Anything a `for` loop or `zip` can take, as a stream.
    fn stream_of(&mut self, v: Val, at: &syn::Expr) -> L<Stream> {
        if let syn::Expr::Range(r) = strip_parens(at) {
            return self.range_stream(r);
        }
        match v {
            Val::Iter(s) => Ok((*s).clone()),
            other => {
                let by_ref = !matches!(other, Val::Atom(_) | Val::Place(_));
                let seq = self.seq_of(other, at)?;
                let len = self.seq_len(&seq, at.span());
                Ok(Stream {
                    len,
                    item: Item::Elem(seq, by_ref),
                    push: Vec::new(),
                })
            }
        }
    }

    /// A new integer counter, zero here.
    fn counter(&mut self, span: Span) -> VarId {
        let c = self.made(Binder::Counter, "", Ty::Int, span);
        self.mutable.insert(c);
        self.emit(Stmt::Assign {
            target: c,
            op: Op::Use(Atom::Int(0)),
            span,
        });
        c
    }

    /// `a.saturating_sub(b)` on integers.
    fn saturating_sub(&mut self, a: Atom, b: Atom, span: Span) -> Atom {
        if let (Atom::Int(x), Atom::Int(y)) = (&a, &b) {
            return Atom::Int((x - y).max(0));
        }
        let r = self.temp_of(Ty::Int, span);
        self.mutable.insert(r);
        self.emit(Stmt::Assign {
            target: r,
            op: Op::Use(Atom::Int(0)),
            span,
        });
        let c = self.assign_typed(Op::Cmp(CmpOp::Gt, a.clone(), b.clone()), Ty::Bool, span);
        let (then, _) = self.nested(|cx| {
            let d = cx.int_op("-", a, b, span);
            cx.emit(Stmt::Assign {
                target: r,
                op: Op::Use(d),
                span,
            });
            Ok(())
        });
        self.emit(Stmt::If {
            cond: c,
            then,
            els: Vec::new(),
        });
        Atom::Var(r)
    }

    /// A two-operand primitive on integers (`min`).
    fn int_prim(&mut self, name: &str, a: Atom, b: Atom, span: Span) -> Atom {
        let p = rules::prim(name).expect("the table has it");
        self.assign_typed(Op::Prim(p, vec![a, b]), Ty::Int, span)
    }

    /// Item `k` of the random-access part.
    fn make_item(&mut self, item: &Item, k: Atom, span: Span) -> L<Val> {
        Ok(match item {
            Item::Index => Val::Atom(k),
            Item::Offset(inner, n) => {
                let j = self.int_add(k, n.clone(), span);
                self.make_item(inner, j, span)?
            }
            Item::Reversed(inner, n) => {
                let last = self.int_op("-", n.clone(), Atom::Int(1), span);
                let j = self.int_op("-", last, k, span);
                self.make_item(inner, j, span)?
            }
            Item::Stride(inner, st) => {
                let j = self.int_op("*", k, st.clone(), span);
                self.make_item(inner, j, span)?
            }
            Item::Elem(seq, by_ref) => {
                let p = self.element(seq.clone(), k, span);
                if *by_ref {
                    Val::Ref(p)
                } else {
                    Val::Place(p)
                }
            }
            Item::Chunk(seq, size, total) => {
                let start = self.int_op("*", k, size.clone(), span);
                let left = self.int_op("-", total.clone(), start.clone(), span);
                let len = self.int_prim("min", size.clone(), left, span);
                self.view_of(seq.clone(), start, len, span)
            }
            Item::Window(seq, size) => self.view_of(seq.clone(), k, size.clone(), span),
            Item::Zip(a, b) => {
                let x = self.make_item(a, k.clone(), span)?;
                let y = self.make_item(b, k, span)?;
                Val::Tuple(vec![x, y])
            }
            Item::Enumerate(inner) => {
                let x = self.make_item(inner, k.clone(), span)?;
                Val::Tuple(vec![Val::Atom(k), x])
            }
            Item::Map(inner, f) => {
                let x = self.make_item(inner, k, span)?;
                self.apply(f, vec![x], span, &quote::quote!(map))?
            }
            Item::Deref(inner) => deref(self.make_item(inner, k, span)?),
        })
    }

    fn view_of(&mut self, seq: SeqRef, start: Atom, len: Atom, span: Span) -> Val {
        match seq {
            SeqRef::Place(base) => Val::View(View { base, start, len }),
            SeqRef::View(v) => {
                let start = self.int_add(v.start, start, span);
                Val::View(View {
                    base: v.base,
                    start,
                    len,
                })
            }
        }
    }

    /// Passes an item through the push adapters into `body`.
    fn push_through(
        &mut self,
        adapters: &[Push],
        item: Val,
        span: Span,
        body: &mut dyn FnMut(&mut Self, Val) -> L<()>,
    ) -> L<()> {
        let Some((first, rest)) = adapters.split_first() else {
            return body(self, item);
        };
        match first {
            Push::Filter(f) => {
                let keep = self.apply(f, vec![item.clone()], span, &quote::quote!(filter))?;
                let keep = self.materialize(keep, span)?;
                let (then, r) = self.nested(|cx| cx.push_through(rest, item, span, body));
                r?;
                self.emit(Stmt::If {
                    cond: keep,
                    then,
                    els: Vec::new(),
                });
                Ok(())
            }
            Push::Map(f) => {
                let x = self.apply(f, vec![item], span, &quote::quote!(map))?;
                self.push_through(rest, x, span, body)
            }
            Push::Deref => self.push_through(rest, deref(item), span, body),
            Push::Enumerate(c) => {
                let idx = self.assign_typed(Op::Use(Atom::Var(*c)), Ty::Int, span);
                self.bump(*c, span);
                self.push_through(rest, Val::Tuple(vec![Val::Atom(idx), item]), span, body)
            }
            Push::Take(n, c) | Push::Skip(n, c) => {
                let take = matches!(first, Push::Take(..));
                let before =
                    self.assign_typed(Op::Cmp(CmpOp::Lt, Atom::Var(*c), n.clone()), Ty::Bool, span);
                let (pass, r1) = self.nested(|cx| cx.push_through(rest, item, span, body));
                r1?;
                let counted = vec![Stmt::Accumulate {
                    place: Place::var(*c),
                    value: Atom::Int(1),
                    negate: false,
                    span,
                }];
                let (then, els) = if take {
                    let mut t = counted;
                    t.extend(pass);
                    (t, Vec::new())
                } else {
                    (counted, pass)
                };
                self.emit(Stmt::If {
                    cond: before,
                    then,
                    els,
                });
                Ok(())
            }
        }
    }

    fn bump(&mut self, c: VarId, span: Span) {
        self.emit(Stmt::Accumulate {
            place: Place::var(c),
            value: Atom::Int(1),
            negate: false,
            span,
        });
    }

    /// Runs `body` on every item: `for k in 0..len { item; adapters; body }`.
    fn drive(
        &mut self,
        s: &Stream,
        span: Span,
        body: &mut dyn FnMut(&mut Self, Val) -> L<()>,
    ) -> L<()> {
        let k = self.made(Binder::Index, "", Ty::Int, span);
        let (block, r) = self.nested(|cx| {
            let item = cx.make_item(&s.item, Atom::Var(k), span)?;
            cx.push_through(&s.push, item, span, body)
        });
        r?;
        self.emit(Stmt::For {
            var: k,
            lo: Atom::Int(0),
            hi: s.len.clone(),
            rev: false,
            body: block,
            chunked: None,
        });
        Ok(())
    }

    /// `sum` / `product`: an accumulator updated by every item.
    fn sum_or_product(&mut self, s: &Stream, sum: bool, ty: Option<Ty>, span: Span) -> L<Val> {
        let ty = ty.unwrap_or_else(|| self.infer_ty());
        let acc = self.made(Binder::Acc, "", ty, span);
        self.mutable.insert(acc);
        self.emit(Stmt::Assign {
            target: acc,
            op: Op::Num(if sum { 0 } else { 1 }),
            span,
        });
        self.drive(s, span, &mut |cx, item| {
            let x = cx.materialize(deref(item), span)?;
            if sum {
                cx.emit(Stmt::Accumulate {
                    place: Place::var(acc),
                    value: x,
                    negate: false,
                    span,
                });
            } else {
                let mul = rules::binary("*").expect("mul");
                let t = cx.assign(Op::Prim(mul, vec![Atom::Var(acc), x]), span);
                cx.emit(Stmt::Assign {
                    target: acc,
                    op: Op::Use(t),
                    span,
                });
            }
            Ok(())
        })?;
        Ok(Val::Atom(Atom::Var(acc)))
    }

    /// `fold(init, f)`: `acc = f(acc, item)` for every item; `acc + term` is a `+=`.
    fn fold(
        &mut self,
        s: &Stream,
        init: Atom,
        f: &Callable,
        span: Span,
        at: &syn::ExprMethodCall,
    ) -> L<Val> {
        let ty = self.infer_ty();
        let acc = self.made(Binder::Acc, "", ty, span);
        self.mutable.insert(acc);
        self.emit(Stmt::Assign {
            target: acc,
            op: Op::Use(init),
            span,
        });
        self.drive(s, span, &mut |cx, item| {
            let next = cx.apply(f, vec![Val::Atom(Atom::Var(acc)), item], span, at)?;
            let next = cx.materialize(next, span)?;
            cx.assign_accumulating(acc, next, span);
            Ok(())
        })?;
        Ok(Val::Atom(Atom::Var(acc)))
    }

    /// `var = value`, as `var += x` when `value` was just computed as `var + x` (the
    /// sum-reduction form the reverse transform fuses).
    pub(super) fn assign_accumulating(&mut self, var: VarId, value: Atom, span: Span) {
        let add = rules::binary("+");
        let sub = rules::binary("-");
        let block = self.blocks.last_mut().expect("a block is open");
        if let (
            Atom::Var(t),
            Some(Stmt::Assign {
                target,
                op: Op::Prim(p, args),
                ..
            }),
        ) = (&value, block.last())
        {
            let fresh = self.func.var(*t).origin == Origin::Temp;
            if *target == *t
                && fresh
                && args.len() == 2
                && args[0] == Atom::Var(var)
                && args[1] != Atom::Var(var)
            {
                let negate = Some(*p) == sub;
                if Some(*p) == add || negate {
                    let x = args[1].clone();
                    block.pop();
                    block.push(Stmt::Accumulate {
                        place: Place::var(var),
                        value: x,
                        negate,
                        span,
                    });
                    return;
                }
            }
        }
        self.emit(Stmt::Assign {
            target: var,
            op: Op::Use(value),
            span,
        });
    }

    /// `max_by` / `min_by` with a comparator: the last maximum (first minimum) item.
    fn best_by(
        &mut self,
        s: &Stream,
        f: &Callable,
        max: bool,
        span: Span,
        at: &syn::ExprMethodCall,
    ) -> L<Val> {
        let ty = self.infer_ty();
        let best = self.made(Binder::Acc, "", ty, span);
        self.mutable.insert(best);
        let seen = self.flag(Binder::Counter, false);
        self.drive(s, span, &mut |cx, item| {
            let x = cx.materialize(deref(item), span)?;
            let (first, r1) = cx.nested(|cx| {
                cx.emit(Stmt::Assign { target: best, op: Op::Use(x.clone()), span });
                cx.emit(Stmt::Assign { target: seen, op: Op::Use(Atom::Bool(true)), span });
                Ok(())
            });
            r1?;
            let (later, r2) = cx.nested(|cx| {
                let ord = cx.apply(f, vec![Val::Atom(Atom::Var(best)), Val::Atom(x.clone())], span, at)?;
                let Val::Ordering(a, b) = ord else {
                    return cx.err_at(at, "the comparator must return `a.total_cmp(b)` or `a.partial_cmp(b).unwrap()`");
                };
                // max_by keeps the last of equal items (replace unless best > item);
                // min_by the first (replace only if best > item).
                let op = if max { CmpOp::Le } else { CmpOp::Gt };
                let replace = cx.assign_typed(Op::Cmp(op, a, b), Ty::Bool, span);
                cx.emit(Stmt::If {
                    cond: replace,
                    then: vec![Stmt::Assign { target: best, op: Op::Use(x.clone()), span }],
                    els: Vec::new(),
                });
                Ok(())
            });
            r2?;
            cx.emit(Stmt::If { cond: Atom::Var(seen), then: later, els: first });
            Ok(())
        })?;
        Ok(Val::Atom(Atom::Var(best)))
    }

    /// `collect::<Vec<_>>()` of a random-access chain: a `Vec` filled by index.
    fn collect(&mut self, s: &Stream, span: Span) -> L<Val> {
        if !s.push.is_empty() {
            return self.err(
                span,
                "`collect` after `filter` is not supported: collect first, or sum/fold the filtered items",
            );
        }
        let elem = self.infer_ty();
        let v = self.temp_of(Ty::Seq(SeqKind::Vec, Box::new(elem)), span);
        self.mutable.insert(v);
        let zero = self.assign(Op::Num(0), span);
        self.emit(Stmt::Assign {
            target: v,
            op: Op::Repeat(zero, Count::Atom(s.len.clone()), SeqForm::Vec),
            span,
        });
        let k = self.made(Binder::Index, "", Ty::Int, span);
        let (block, r) = self.nested(|cx| {
            let item = cx.make_item(&s.item, Atom::Var(k), span)?;
            let x = cx.materialize(deref(item), span)?;
            cx.emit(Stmt::Store {
                place: Place::var(v).index(Atom::Var(k)),
                value: x,
                span,
            });
            Ok(())
        });
        r?;
        self.emit(Stmt::For {
            var: k,
            lo: Atom::Int(0),
            hi: s.len.clone(),
            rev: false,
            body: block,
            chunked: None,
        });
        Ok(Val::Atom(Atom::Var(v)))
    }

    /// `for pat in iterable { body }`.
    pub(super) fn lower_for(&mut self, f: &syn::ExprForLoop) -> L<Val> {
        let span = f.span();
        let label = f.label.as_ref().map(|l| l.name.ident.to_string());
        let exits = Exits::of_block(&f.body);
        let stops = exits.stops_loop(label.as_deref());
        let iterable = strip_parens(&f.expr);
        // `for i in a..b` / `(a..b).rev()`: the user's counter, as written.
        if let (false, Some((lo, hi, rev))) = (stops, self.plain_range(iterable)?) {
            let var = match &*f.pat {
                syn::Pat::Ident(pi) if pi.subpat.is_none() => {
                    self.func
                        .add_var(pi.ident.to_string(), Ty::Int, pi.ident.span(), Origin::User)
                }
                _ => self.made(Binder::Index, "", Ty::Int, span),
            };
            let frame = Frame {
                label,
                running: None,
                live: None,
                out: None,
            };
            let body = self.loop_body(frame, exits.any(), |cx| {
                cx.scopes.push();
                let r = cx
                    .bind_pattern(&f.pat, Val::Atom(Atom::Var(var)), None)
                    .and_then(|_| cx.block_into(&f.body, Sink::Discard));
                cx.scopes.pop();
                r.map(|_| ())
            })?;
            self.emit(Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
                chunked: None,
            });
            return Ok(Val::Unit);
        }
        let s = match iterable {
            syn::Expr::Range(r) => self.range_stream(r)?,
            _ => {
                let v = self.expr(iterable)?;
                self.stream_of(v, iterable)?
            }
        };

        let running = stops.then(|| self.flag(Binder::Running, true));
        let frame = Frame {
            label,
            running,
            live: None,
            out: None,
        };
        let k = self.made(Binder::Index, "", Ty::Int, span);
        let mut run_body = |cx: &mut Self, item: Val| -> L<()> {
            cx.scopes.push();
            let r = cx
                .bind_pattern(&f.pat, item, None)
                .and_then(|_| cx.block_into(&f.body, Sink::Discard));
            cx.scopes.pop();
            r.map(|_| ())
        };
        match running {
            None => {
                let body = self.loop_body(frame, exits.any(), |cx| {
                    let item = cx.make_item(&s.item, Atom::Var(k), span)?;
                    cx.push_through(&s.push, item, span, &mut run_body)
                })?;
                self.emit(Stmt::For {
                    var: k,
                    lo: Atom::Int(0),
                    hi: s.len.clone(),
                    rev: false,
                    body,
                    chunked: None,
                });
            }
            Some(run) => {
                // `while running && k < len { let j = k; k += 1; item j; body }`
                self.mutable.insert(k);
                self.emit(Stmt::Assign {
                    target: k,
                    op: Op::Use(Atom::Int(0)),
                    span,
                });
                let c = self.temp_of(Ty::Bool, span);
                let (test, _) = self.nested(|cx| {
                    let t = cx.assign_typed(
                        Op::Cmp(CmpOp::Lt, Atom::Var(k), s.len.clone()),
                        Ty::Bool,
                        span,
                    );
                    cx.emit(Stmt::Assign {
                        target: c,
                        op: Op::Use(t),
                        span,
                    });
                    Ok(())
                });
                let cond_block = vec![Stmt::If {
                    cond: Atom::Var(run),
                    then: test,
                    els: vec![Stmt::Assign {
                        target: c,
                        op: Op::Use(Atom::Bool(false)),
                        span,
                    }],
                }];
                let body = self.loop_body(frame, exits.any(), |cx| {
                    let j = cx.assign_typed(Op::Use(Atom::Var(k)), Ty::Int, span);
                    cx.bump(k, span);
                    let item = cx.make_item(&s.item, j, span)?;
                    cx.push_through(&s.push, item, span, &mut run_body)
                })?;
                self.emit(Stmt::While {
                    cond_block,
                    cond: Atom::Var(c),
                    body,
                });
            }
        }
        Ok(Val::Unit)
    }

    /// `a..b`, `a..=b`, `(a..b).rev()`: its bounds and direction.
    fn plain_range(&mut self, e: &syn::Expr) -> L<Option<(Atom, Atom, bool)>> {
        let (r, rev) = match e {
            syn::Expr::Range(r) => (r, false),
            syn::Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
                match strip_parens(&m.receiver) {
                    syn::Expr::Range(r) => (r, true),
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        let (Some(lo), Some(hi)) = (&r.start, &r.end) else {
            return self.err_at(r, "a range to loop over needs both ends: `a..b`");
        };
        let lo = self.value(lo)?;
        let hi = self.value(hi)?;
        let hi = match r.limits {
            syn::RangeLimits::HalfOpen(_) => hi,
            syn::RangeLimits::Closed(_) => self.int_add(hi, Atom::Int(1), r.span()),
        };
        Ok(Some((lo, hi, rev)))
    }
}

/// `*v`: a reference read as the value it points to.
fn deref(v: Val) -> Val {
    match v {
        Val::Ref(p) => Val::Place(p),
        v => v,
    }
}

/// The type in `sum::<f64>()`.
fn turbofish_ty(m: &syn::ExprMethodCall, cx: &Lowerer) -> Option<Ty> {
    let t = m.turbofish.as_ref()?.args.first()?;
    match t {
        syn::GenericArgument::Type(t) => super::signature::value_type(t, cx.float()).ok(),
        _ => None,
    }
}
