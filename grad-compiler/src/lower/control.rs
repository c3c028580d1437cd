//! Control flow: `if`, `match`, loops, and `break`/`continue`/`return` anywhere.
//!
//! Exits become flags and guards in the structured IR: every loop that can be left early
//! runs as a `while` over a `running` flag, and the statements an exit skips are guarded by
//! a `live` flag (per loop, and one for the function when a `return` is nested). Where an
//! `if`'s branch ends in an exit, the rest of the block simply moves into its other branch,
//! which needs no flag: `if x < 0.0 { return 0.0; } rest` becomes `if x < 0.0 { value = 0.0 }
//! else { rest }`. Flags nothing ends up reading are removed after lowering.

use super::scope::{Frame, Val};
use super::stmt::Sink;
use super::{Lowerer, L};
use crate::ir::*;
use crate::names::Binder;
use crate::shape::Ty;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// The exits found in a piece of syntax that leave it.
#[derive(Default)]
pub struct Exits {
    /// Loops entered inside the node being scanned.
    depth: usize,
    /// Labels of those loops.
    labels: Vec<String>,
    /// A `return` somewhere.
    pub returns: bool,
    /// `break`s that leave the node: `None` for the nearest enclosing loop.
    pub breaks: Vec<Option<String>>,
    /// `continue`s that leave the node.
    pub continues: Vec<Option<String>>,
}

impl Exits {
    /// Scans an expression.
    pub fn of_expr(e: &syn::Expr) -> Exits {
        let mut x = Exits::default();
        x.visit_expr(e);
        x
    }
    /// Scans a block.
    pub fn of_block(b: &syn::Block) -> Exits {
        let mut x = Exits::default();
        x.visit_block(b);
        x
    }
    /// Scans a statement.
    pub fn of_stmt(s: &syn::Stmt) -> Exits {
        let mut x = Exits::default();
        x.visit_stmt(s);
        x
    }
    /// Whether control can leave the node other than by finishing it.
    pub fn any(&self) -> bool {
        self.returns || !self.breaks.is_empty() || !self.continues.is_empty()
    }
    /// Whether a loop labelled `label` whose body this is can be left early (a `break` of
    /// it, or an exit past it).
    pub fn stops_loop(&self, label: Option<&str>) -> bool {
        let mine = |l: &Option<String>| l.is_none() || l.as_deref() == label;
        self.returns || !self.breaks.is_empty() || self.continues.iter().any(|l| !mine(l))
    }
    fn label_of(&self, l: &Option<syn::Lifetime>) -> Option<Option<String>> {
        match l {
            None if self.depth == 0 => Some(None),
            None => None,
            Some(l) => {
                let name = l.ident.to_string();
                (!self.labels.contains(&name)).then_some(Some(name))
            }
        }
    }
    fn enter_loop(&mut self, label: &Option<syn::Label>, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        if let Some(l) = label {
            self.labels.push(l.name.ident.to_string());
        }
        f(self);
        if label.is_some() {
            self.labels.pop();
        }
        self.depth -= 1;
    }
}

impl<'ast> Visit<'ast> for Exits {
    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        if let Some(t) = self.label_of(&b.label) {
            self.breaks.push(t);
        }
        syn::visit::visit_expr_break(self, b);
    }
    fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
        if let Some(t) = self.label_of(&c.label) {
            self.continues.push(t);
        }
    }
    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        self.returns = true;
        syn::visit::visit_expr_return(self, r);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.enter_loop(&l.label, |x| syn::visit::visit_expr_loop(x, l));
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.enter_loop(&w.label, |x| syn::visit::visit_expr_while(x, w));
    }
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.enter_loop(&f.label, |x| syn::visit::visit_expr_for_loop(x, f));
    }
}

/// Whether the body has a `return` before its end (then the function needs a `live` flag).
pub fn needs_fn_flag(body: &syn::Block) -> bool {
    let n = body.stmts.len();
    body.stmts.iter().enumerate().any(|(i, s)| {
        let last = i + 1 == n;
        let top_return = matches!(s, syn::Stmt::Expr(syn::Expr::Return(_), _));
        Exits::of_stmt(s).returns && !(last && top_return)
    })
}

/// Whether `e` (a statement's expression) always leaves the enclosing block by an exit.
pub fn always_exits(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Break(_) | syn::Expr::Continue(_) | syn::Expr::Return(_) => true,
        syn::Expr::Block(b) if b.label.is_none() => block_always_exits(&b.block),
        syn::Expr::If(i) => match &i.else_branch {
            Some((_, els)) => block_always_exits(&i.then_branch) && always_exits(els),
            None => false,
        },
        syn::Expr::Paren(p) => always_exits(&p.expr),
        _ => false,
    }
}

/// Whether a block always leaves by an exit.
pub fn block_always_exits(b: &syn::Block) -> bool {
    match b.stmts.last() {
        Some(syn::Stmt::Expr(e, _)) => always_exits(e),
        _ => false,
    }
}

impl Lowerer {
    /// The flag that guards statements after a possible exit at this point.
    pub(super) fn current_live(&mut self) -> Option<VarId> {
        match self.loops.last() {
            Some(f) => f.live,
            None => self.fn_live,
        }
    }

    /// `if c { then } else { els }`, each branch's value into `sink`.
    pub(super) fn lower_if(&mut self, e: &syn::ExprIf, sink: Sink) -> L<Val> {
        let cond = self.condition(&e.cond)?;
        let (then, r1) = self.nested(|cx| cx.block_into(&e.then_branch, sink));
        let (els, r2) = self.nested(|cx| match &e.else_branch {
            Some((_, els)) => cx.expr_into(els, sink),
            None => Ok(Val::Unit),
        });
        r1?;
        r2?;
        self.emit(Stmt::If { cond, then, els });
        let both_exit = block_always_exits(&e.then_branch)
            && e.else_branch
                .as_ref()
                .is_some_and(|(_, els)| always_exits(els));
        Ok(if both_exit { Val::Never } else { Val::Unit })
    }

    /// A condition: a `bool` expression (`if let` is not supported).
    pub(super) fn condition(&mut self, e: &syn::Expr) -> L<Atom> {
        if let syn::Expr::Let(l) = e {
            return self.err_at(
                l,
                "`if let` / `while let` cannot be differentiated: test a `bool` or compare values (`if x > 0.0`)",
            );
        }
        self.value(e)
    }

    /// `match` as an `if` chain; each arm's value into `sink`.
    pub(super) fn lower_match(&mut self, m: &syn::ExprMatch, sink: Sink) -> L<Val> {
        let scrutinee = match self.expr(&m.expr)? {
            Val::Place(p) | Val::Ref(p) => Val::Atom(self.load(p, m.expr.span())),
            v => v,
        };
        self.match_arms(&scrutinee, &m.arms, sink)?;
        Ok(Val::Unit)
    }

    fn match_arms(&mut self, scrutinee: &Val, arms: &[syn::Arm], sink: Sink) -> L<()> {
        let Some((arm, rest)) = arms.split_first() else {
            return Ok(());
        };
        self.scopes.push();
        // The last arm of an exhaustive match (rustc checked it) needs no test.
        let result = if rest.is_empty() && arm.guard.is_none() {
            self.bind_match_pattern(&arm.pat, scrutinee)
                .and_then(|_| self.expr_into(&arm.body, sink))
                .map(|_| ())
        } else {
            self.match_arm_test(scrutinee, arm, rest, sink)
        };
        self.scopes.pop();
        result
    }

    fn match_arm_test(
        &mut self,
        scrutinee: &Val,
        arm: &syn::Arm,
        rest: &[syn::Arm],
        sink: Sink,
    ) -> L<()> {
        let test = self.pattern_test(&arm.pat, scrutinee)?;
        self.bind_match_pattern(&arm.pat, scrutinee)?;
        let (then, r1) = self.nested(|cx| cx.expr_into(&arm.body, sink));
        let (els, r2) = self.nested(|cx| cx.match_arms(scrutinee, rest, sink));
        r1?;
        r2?;
        match &arm.guard {
            None => self.emit(Stmt::If {
                cond: test,
                then,
                els,
            }),
            Some((_, guard)) => {
                // `pat if g`: g only where the pattern matched; on a failed guard, the rest.
                let span = guard.span();
                let ok = self.temp_of(Ty::Bool, span);
                let (test_guard, r) = self.nested(|cx| {
                    let g = cx.condition(guard)?;
                    cx.emit(Stmt::Assign {
                        target: ok,
                        op: Op::Use(g),
                        span,
                    });
                    Ok(())
                });
                r?;
                self.emit(Stmt::Assign {
                    target: ok,
                    op: Op::Use(Atom::Bool(false)),
                    span,
                });
                self.emit(Stmt::If {
                    cond: test,
                    then: test_guard,
                    els: Vec::new(),
                });
                self.emit(Stmt::If {
                    cond: Atom::Var(ok),
                    then,
                    els,
                });
            }
        }
        Ok(())
    }

    /// `loop { .. }`: runs while its `running` flag holds; its value is what `break` gives.
    pub(super) fn lower_loop(&mut self, l: &syn::ExprLoop, sink: Sink) -> L<Val> {
        let label = l.label.as_ref().map(|l| l.name.ident.to_string());
        let exits = Exits::of_block(&l.body);
        let out = match sink {
            Sink::Var(v) => Some(v),
            Sink::Discard => None,
        };
        let running = self.flag(Binder::Running, true);
        let frame = Frame {
            label,
            running: Some(running),
            live: None,
            out,
        };
        let body = self.loop_body(frame, exits.any(), |cx| {
            let r = cx.block_into(&l.body, Sink::Discard);
            r.map(|_| ())
        })?;
        self.emit(Stmt::While {
            cond_block: Vec::new(),
            cond: Atom::Var(running),
            body,
        });
        Ok(Val::Unit)
    }

    /// `while cond { .. }`.
    pub(super) fn lower_while(&mut self, w: &syn::ExprWhile) -> L<Val> {
        let label = w.label.as_ref().map(|l| l.name.ident.to_string());
        let exits = Exits::of_block(&w.body);
        let running = exits
            .stops_loop(label.as_deref())
            .then(|| self.flag(Binder::Running, true));
        let span = w.cond.span();
        let (cond_block, cond) = {
            let c = self.temp_of(Ty::Bool, span);
            let (b, r) = self.nested(|cx| {
                let test = |cx: &mut Lowerer| -> L<()> {
                    let a = cx.condition(&w.cond)?;
                    cx.emit(Stmt::Assign {
                        target: c,
                        op: Op::Use(a),
                        span,
                    });
                    Ok(())
                };
                match running {
                    // Once stopped, the condition is not evaluated again (it may index).
                    Some(run) => {
                        let (then, r) = cx.nested(test);
                        cx.emit(Stmt::If {
                            cond: Atom::Var(run),
                            then,
                            els: vec![Stmt::Assign {
                                target: c,
                                op: Op::Use(Atom::Bool(false)),
                                span,
                            }],
                        });
                        r
                    }
                    None => test(cx),
                }
            });
            r?;
            (b, Atom::Var(c))
        };
        let frame = Frame {
            label,
            running,
            live: None,
            out: None,
        };
        let body = self.loop_body(frame, exits.any(), |cx| {
            cx.block_into(&w.body, Sink::Discard).map(|_| ())
        })?;
        self.emit(Stmt::While {
            cond_block,
            cond,
            body,
        });
        Ok(Val::Unit)
    }

    /// Lowers a loop body in a new frame (with a `live` flag when it can be left early);
    /// returns the body's block.
    pub(super) fn loop_body(
        &mut self,
        mut frame: Frame,
        exits: bool,
        f: impl FnOnce(&mut Self) -> L<()>,
    ) -> L<Block> {
        let (block, r) = self.nested(|cx| {
            if exits {
                frame.live = Some(cx.flag(Binder::Live, true));
            }
            cx.loops.push(frame);
            let r = f(cx);
            cx.loops.pop();
            r
        });
        r?;
        Ok(block)
    }

    /// Sets a flag to `false`.
    fn clear(&mut self, flag: Option<VarId>) {
        if let Some(v) = flag {
            self.emit(Stmt::Assign {
                target: v,
                op: Op::Use(Atom::Bool(false)),
                span: Span::call_site(),
            });
        }
    }

    fn target_loop(&mut self, label: &Option<syn::Lifetime>, span: Span) -> L<usize> {
        let found = match label {
            None => self.loops.len().checked_sub(1),
            Some(l) => {
                let name = l.ident.to_string();
                self.loops
                    .iter()
                    .rposition(|f| f.label.as_deref() == Some(&name))
            }
        };
        match found {
            Some(i) => Ok(i),
            None => self.err(
                span,
                "`break` and `continue` must be inside a loop of the function (labelled blocks are not supported)",
            ),
        }
    }

    /// `break 'label value`.
    pub(super) fn lower_break(&mut self, b: &syn::ExprBreak) -> L<Val> {
        let target = self.target_loop(&b.label, b.span())?;
        if let Some(v) = &b.expr {
            let a = self.value(v)?;
            match self.loops[target].out {
                Some(out) => self.emit(Stmt::Assign {
                    target: out,
                    op: Op::Use(a),
                    span: v.span(),
                }),
                None => {
                    return self.err_at(
                        b,
                        "`break` with a value is only supported in a `loop` whose value is used (`let v = loop { .. }`)",
                    )
                }
            }
        }
        for i in target..self.loops.len() {
            let (running, live) = (self.loops[i].running, self.loops[i].live);
            if running.is_none() {
                return self.err_at(b, "internal: a loop left by `break` has no flag");
            }
            self.clear(running);
            self.clear(live);
        }
        Ok(Val::Never)
    }

    /// `continue 'label`.
    pub(super) fn lower_continue(&mut self, c: &syn::ExprContinue) -> L<Val> {
        let target = self.target_loop(&c.label, c.span())?;
        for i in target..self.loops.len() {
            let (running, live) = (self.loops[i].running, self.loops[i].live);
            if i > target {
                self.clear(running);
            }
            self.clear(live);
        }
        Ok(Val::Never)
    }

    /// `return value`.
    pub(super) fn lower_return(&mut self, r: &syn::ExprReturn) -> L<Val> {
        match &r.expr {
            Some(e) => self.expr_into(e, Sink::Var(self.result))?,
            None => return self.err_at(r, "`return` must give the function's value"),
        };
        let fn_live = self.fn_live;
        self.clear(fn_live);
        for i in 0..self.loops.len() {
            let (running, live) = (self.loops[i].running, self.loops[i].live);
            self.clear(running);
            self.clear(live);
        }
        Ok(Val::Never)
    }
}
