//! The save policy: which overwritten values are kept for the reverse sweep, and where.
//!
//! A value is saved before a write when the reverse sweep reads the variable (it is in the
//! `needed` set the dry run found) and the variable may already hold a value there (a first
//! write on every path has nothing to keep). Outside loops the old value goes to a local;
//! inside loops whose iterations the reverse sweep replays, onto a stack.

use super::Reverse;
use crate::ir::*;
use crate::names::Binder;
use crate::shape::Ty;

impl Reverse<'_> {
    /// The statements saving `place` before a write (forward sweep) and restoring it after
    /// that write's adjoint (reverse sweep).
    pub(super) fn save_before(&mut self, place: Place) -> (Block, Block) {
        let v = place.root;
        // Needed by the reverse sweep, and by the reverse of something that ran before this
        // write (else the reverse reads only values this write or later ones made).
        let wanted = match &self.needed {
            Some(needed) => needed.contains(&v) && self.read_before.contains(&v),
            None => false,
        };
        if !wanted || self.no_saves || self.suppress.contains(&v) || !self.defined.contains(&v) {
            return (Vec::new(), Vec::new());
        }
        let ty = match self.f.place_ty(&place) {
            Ty::Opaque => self.f.ty(v).clone(),
            t => t,
        };
        let span = proc_macro2::Span::call_site();
        let mut fwd = Vec::new();
        let value = if place.is_var() {
            Atom::Var(v)
        } else {
            let t = self.temp(ty.clone());
            fwd.push(Stmt::Assign {
                target: t,
                op: Op::Load(place.clone()),
                span,
            });
            Atom::Var(t)
        };
        if self.loop_depth > 0 {
            let stack = self.made(Binder::Stack, Some(v), Ty::Stack(Box::new(ty)));
            fwd.push(Stmt::Sweep(Sweep::Push { stack, value }));
            let rev = vec![Stmt::Sweep(Sweep::Pop { stack, place })];
            (fwd, rev)
        } else {
            let slot = self.made(Binder::Saved, Some(v), ty);
            fwd.push(Stmt::Assign {
                target: slot,
                op: Op::Use(value),
                span,
            });
            let rev = vec![if place.is_var() {
                Stmt::Assign {
                    target: v,
                    op: Op::Use(Atom::Var(slot)),
                    span,
                }
            } else {
                Stmt::Store {
                    place,
                    value: Atom::Var(slot),
                    span,
                }
            }];
            (fwd, rev)
        }
    }
}
