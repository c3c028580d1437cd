//! Names in scope and the compile-time values they stand for.
//!
//! A name is bound to a [`Val`]: a variable of the IR, but also things that exist only while
//! lowering: a reference to a place (`&x[k]`, an iterator's item), a sub-slice, a tuple of
//! values (tuple locals are kept as their parts), a closure (inlined where it is called) or
//! an iterator chain not yet consumed.

use super::iter::Stream;
use crate::hash::HashMap;
use crate::ir::*;
use std::rc::Rc;

/// What an expression lowers to.
#[derive(Clone, Debug)]
pub enum Val {
    /// A value held in an atom.
    Atom(Atom),
    /// A place expression (`x[k]`, `p.w`): read when used as a value, copied when bound.
    Place(Place),
    /// A reference to a place (`&x[k]`, the item of `x.iter()`): read when used as a value,
    /// kept as a reference when bound.
    Ref(Place),
    /// A sub-slice `&base[start .. start + len]`.
    View(View),
    /// A tuple, as its parts.
    Tuple(Vec<Val>),
    /// A closure.
    Closure(Rc<Closure>),
    /// An iterator chain.
    Iter(Rc<Stream>),
    /// `a.total_cmp(&b)` / `a.partial_cmp(&b)`: consumed by `match` and `max_by`.
    Ordering(Atom, Atom),
    /// `()`.
    Unit,
    /// The value of `break`, `continue` and `return`: control never gets here.
    Never,
}

/// A sub-slice of a sequence.
#[derive(Clone, Debug)]
pub struct View {
    /// The sequence.
    pub base: Place,
    /// Its first element in `base`.
    pub start: Atom,
    /// Its length.
    pub len: Atom,
}

/// A closure, inlined where it is called.
#[derive(Debug)]
pub struct Closure {
    /// Its parameters.
    pub params: Vec<syn::Pat>,
    /// Its body.
    pub body: syn::Expr,
    /// The names visible where it was written.
    pub env: Vec<HashMap<String, Val>>,
}

/// A loop being lowered.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Its label, without the `'`.
    pub label: Option<String>,
    /// Cleared by `break` (and `return`): the loop's condition reads it.
    pub running: Option<VarId>,
    /// Cleared by `break`, `continue` and `return`: guards the rest of an iteration.
    pub live: Option<VarId>,
    /// Where `break value` puts its value.
    pub out: Option<VarId>,
}

/// The stack of scopes.
#[derive(Default)]
pub struct Scopes {
    frames: Vec<HashMap<String, Val>>,
}

impl Scopes {
    /// Opens a scope.
    pub fn push(&mut self) {
        self.frames.push(HashMap::default());
    }
    /// Closes the innermost scope.
    pub fn pop(&mut self) {
        self.frames.pop();
    }
    /// Binds `name` in the innermost scope.
    pub fn bind(&mut self, name: &str, v: Val) {
        if let Some(f) = self.frames.last_mut() {
            f.insert(name.to_string(), v);
        }
    }
    /// The value bound to `name`, innermost first.
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.frames.iter().rev().find_map(|f| f.get(name))
    }
    /// A copy of every scope (a closure's environment).
    pub fn snapshot(&self) -> Vec<HashMap<String, Val>> {
        self.frames.clone()
    }
    /// Replaces the scopes (to lower a closure's body in its own environment); returns
    /// the old ones.
    pub fn replace(&mut self, frames: Vec<HashMap<String, Val>>) -> Vec<HashMap<String, Val>> {
        std::mem::replace(&mut self.frames, frames)
    }
}
