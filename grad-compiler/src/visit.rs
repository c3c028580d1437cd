//! What each statement reads and writes, and the one walker over nested blocks.
//!
//! [`effects`] is the single definition of a statement's uses and definitions; every pass
//! asks it rather than matching statements itself. Its matches have no wildcard arms: a new
//! statement, operation or kernel does not compile until its effects are written here.

use crate::ir::*;

/// A write of a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    /// The variable written.
    pub var: VarId,
    /// Whether the whole value is replaced (else a part of it: an element, a field).
    pub whole: bool,
}

/// What one statement reads and writes itself (nested blocks are their own statements).
#[derive(Clone, Debug, Default)]
pub struct Effects {
    /// Variables read (an element write reads its indices; `+=` reads its target).
    pub reads: Vec<VarId>,
    /// Variables written.
    pub writes: Vec<Write>,
}

impl Effects {
    fn atom(&mut self, a: &Atom) {
        if let Atom::Var(v) = a {
            self.reads.push(*v);
        }
    }
    fn atoms<'a>(&mut self, atoms: impl IntoIterator<Item = &'a Atom>) {
        for a in atoms {
            self.atom(a);
        }
    }
    /// Reading a place reads its root and its indices.
    fn read_place(&mut self, p: &Place) {
        self.reads.push(p.root);
        self.locate(p);
    }
    /// Locating a place reads its indices.
    fn locate(&mut self, p: &Place) {
        for proj in &p.path {
            match proj {
                Proj::Index(a) => self.atom(a),
                Proj::Field(_) | Proj::Deref => {}
            }
        }
    }
    /// Writing a place writes its root (wholly only when the path is empty or a deref).
    fn write_place(&mut self, p: &Place) {
        self.locate(p);
        let whole = p.path.iter().all(|proj| matches!(proj, Proj::Deref));
        self.writes.push(Write { var: p.root, whole });
    }
    fn write_var(&mut self, v: VarId) {
        self.writes.push(Write {
            var: v,
            whole: true,
        });
    }
    fn arg(&mut self, a: &Arg) {
        match a {
            Arg::Value(x) | Arg::Seed(x) => self.atom(x),
            Arg::Ref(p) => self.read_place(p),
            Arg::View(p, lo, hi) => {
                self.read_place(p);
                self.atoms(lo.iter().chain(hi));
            }
            Arg::MutRef(p) => {
                self.read_place(p);
                self.write_place(p);
            }
            Arg::MutView(p, lo, hi) => {
                self.read_place(p);
                self.write_place(p);
                self.atoms(lo.iter().chain(hi));
            }
        }
    }
    fn run(&mut self, r: &Run) {
        self.read_place(&r.place);
        self.atom(&r.start);
    }
}

/// The variables an operation reads.
pub fn op_reads(op: &Op) -> Vec<VarId> {
    let mut e = Effects::default();
    op_effects(op, &mut e);
    e.reads
}

fn op_effects(op: &Op, e: &mut Effects) {
    match op {
        Op::Use(a) | Op::Not(a) | Op::Cast(a, _) | Op::NoGrad(a) | Op::ZeroLike(a) => e.atom(a),
        Op::Load(p) | Op::Len(p) => e.read_place(p),
        Op::Prim(_, args) | Op::Seq(args, _) | Op::Tuple(args) => e.atoms(args),
        Op::Repeat(a, count, _) => {
            e.atom(a);
            if let Count::Atom(n) = count {
                e.atom(n);
            }
        }
        Op::Cmp(_, a, b) => e.atoms([a, b]),
        Op::Select(c, a, b) => e.atoms([c, a, b]),
        Op::Struct(_, fields) => e.atoms(fields.iter().map(|(_, a)| a)),
        Op::Call(call) => {
            for a in &call.args {
                e.arg(a);
            }
        }
        Op::Const(_) | Op::Num(_) | Op::Placeholder => {}
    }
}

/// What `s` reads and writes itself; for `if`, `for` and `while` only their condition and
/// bounds (their blocks hold statements of their own).
pub fn effects(s: &Stmt) -> Effects {
    let mut e = Effects::default();
    match s {
        Stmt::Assign { target, op, .. } => {
            op_effects(op, &mut e);
            e.write_var(*target);
        }
        Stmt::Store { place, value, .. } => {
            e.atom(value);
            e.write_place(place);
        }
        Stmt::Accumulate { place, value, .. } => {
            e.atom(value);
            e.read_place(place);
            e.write_place(place);
        }
        Stmt::If { cond, .. } => e.atom(cond),
        Stmt::For { var, lo, hi, .. } => {
            e.atoms([lo, hi]);
            e.write_var(*var);
        }
        Stmt::While { cond, .. } => e.atom(cond),
        Stmt::Sweep(sweep) => match sweep {
            Sweep::Push { stack, value } => {
                e.atom(value);
                e.reads.push(*stack);
                e.writes.push(Write {
                    var: *stack,
                    whole: false,
                });
            }
            Sweep::Pop { stack, place } => {
                e.reads.push(*stack);
                e.writes.push(Write {
                    var: *stack,
                    whole: false,
                });
                e.write_place(place);
            }
            Sweep::Call { target, call } => {
                for a in &call.args {
                    e.arg(a);
                }
                if let Some(t) = target {
                    e.write_var(*t);
                }
            }
            Sweep::Kernel(k) => match k {
                Kernel::Dot { acc, a, b, len, .. } => {
                    e.run(a);
                    e.run(b);
                    e.atom(len);
                    e.read_place(acc);
                    e.write_place(acc);
                }
                Kernel::Axpy { alpha, x, y, len } => {
                    e.atoms([alpha, len]);
                    e.run(x);
                    e.run(y);
                    e.write_place(&y.place);
                }
                Kernel::AxpyAll { alpha, x, y } => {
                    e.atom(alpha);
                    e.read_place(x);
                    e.read_place(y);
                    e.write_place(y);
                }
                Kernel::ScaleAll { alpha, y } => {
                    e.atom(alpha);
                    e.read_place(y);
                    e.write_place(y);
                }
                Kernel::ZeroAll { y } => {
                    // Zeroing keeps the shape (lengths), so it reads the old value's shape.
                    e.read_place(y);
                    e.write_place(y);
                }
                Kernel::SumAll { target, place } => {
                    e.read_place(place);
                    e.write_var(*target);
                }
            },
        },
    }
    e
}

/// The blocks nested directly in a statement (a `while`'s condition block first).
pub fn children(s: &Stmt) -> Vec<&Block> {
    match s {
        Stmt::If { then, els, .. } => vec![then, els],
        Stmt::For { body, .. } => vec![body],
        Stmt::While {
            cond_block, body, ..
        } => vec![cond_block, body],
        Stmt::Assign { .. } | Stmt::Store { .. } | Stmt::Accumulate { .. } | Stmt::Sweep(_) => {
            Vec::new()
        }
    }
}

/// The blocks nested directly in a statement, mutably.
pub fn children_mut(s: &mut Stmt) -> Vec<&mut Block> {
    match s {
        Stmt::If { then, els, .. } => vec![then, els],
        Stmt::For { body, .. } => vec![body],
        Stmt::While {
            cond_block, body, ..
        } => vec![cond_block, body],
        Stmt::Assign { .. } | Stmt::Store { .. } | Stmt::Accumulate { .. } | Stmt::Sweep(_) => {
            Vec::new()
        }
    }
}

/// Calls `f` on every statement of `block`, nested ones included, in program order (a
/// statement before the blocks it holds).
pub fn walk<'a>(block: &'a [Stmt], f: &mut impl FnMut(&'a Stmt)) {
    for s in block {
        f(s);
        for b in children(s) {
            walk(b, f);
        }
    }
}

/// Rebuilds `block`, nested blocks first, replacing each statement by what `f` returns.
pub fn map(block: Block, f: &mut impl FnMut(Stmt) -> Vec<Stmt>) -> Block {
    let mut out = Vec::with_capacity(block.len());
    for mut s in block {
        for b in children_mut(&mut s) {
            let inner = std::mem::take(b);
            *b = map(inner, f);
        }
        out.extend(f(s));
    }
    out
}

/// Every variable read anywhere in `block`.
pub fn block_reads(block: &Block) -> Vec<VarId> {
    let mut out = Vec::new();
    walk(block, &mut |s| out.extend(effects(s).reads));
    out
}

/// Every variable written anywhere in `block`.
pub fn block_writes(block: &Block) -> Vec<VarId> {
    let mut out = Vec::new();
    walk(block, &mut |s| {
        out.extend(effects(s).writes.into_iter().map(|w| w.var))
    });
    out
}

/// How many statements of `block` (nested ones included) write each variable.
pub fn write_counts(block: &Block, vars: usize) -> Vec<usize> {
    let mut counts = vec![0; vars];
    walk(block, &mut |s| {
        for w in effects(s).writes {
            counts[w.var.index()] += 1;
        }
    });
    counts
}

/// Rewrites every atom a statement reads in place (its own operands, not nested blocks').
pub fn rewrite_atoms(s: &mut Stmt, f: &mut impl FnMut(&mut Atom)) {
    fn place(p: &mut Place, f: &mut impl FnMut(&mut Atom)) {
        for proj in &mut p.path {
            if let Proj::Index(a) = proj {
                f(a);
            }
        }
    }
    fn arg(a: &mut Arg, f: &mut impl FnMut(&mut Atom)) {
        match a {
            Arg::Value(x) | Arg::Seed(x) => f(x),
            Arg::Ref(p) | Arg::MutRef(p) => place(p, f),
            Arg::View(p, lo, hi) | Arg::MutView(p, lo, hi) => {
                place(p, f);
                lo.iter_mut().chain(hi.iter_mut()).for_each(&mut *f);
            }
        }
    }
    fn op(o: &mut Op, f: &mut impl FnMut(&mut Atom)) {
        match o {
            Op::Use(a) | Op::Not(a) | Op::Cast(a, _) | Op::NoGrad(a) | Op::ZeroLike(a) => f(a),
            Op::Load(p) | Op::Len(p) => place(p, f),
            Op::Prim(_, args) | Op::Seq(args, _) | Op::Tuple(args) => args.iter_mut().for_each(f),
            Op::Repeat(a, c, _) => {
                f(a);
                if let Count::Atom(n) = c {
                    f(n);
                }
            }
            Op::Cmp(_, a, b) => {
                f(a);
                f(b);
            }
            Op::Select(c, a, b) => {
                f(c);
                f(a);
                f(b);
            }
            Op::Struct(_, fields) => fields.iter_mut().for_each(|(_, a)| f(a)),
            Op::Call(c) => c.args.iter_mut().for_each(|a| arg(a, f)),
            Op::Const(_) | Op::Num(_) | Op::Placeholder => {}
        }
    }
    match s {
        Stmt::Assign { op: o, .. } => op(o, f),
        Stmt::Store {
            place: p, value, ..
        }
        | Stmt::Accumulate {
            place: p, value, ..
        } => {
            place(p, f);
            f(value);
        }
        Stmt::If { cond, .. } | Stmt::While { cond, .. } => f(cond),
        Stmt::For { lo, hi, .. } => {
            f(lo);
            f(hi);
        }
        Stmt::Sweep(sw) => match sw {
            Sweep::Push { value, .. } => f(value),
            Sweep::Pop { place: p, .. } => place(p, f),
            Sweep::Call { call, .. } => call.args.iter_mut().for_each(|a| arg(a, f)),
            Sweep::Kernel(k) => match k {
                Kernel::Dot { acc, a, b, len, .. } => {
                    place(acc, f);
                    place(&mut a.place, f);
                    f(&mut a.start);
                    place(&mut b.place, f);
                    f(&mut b.start);
                    f(len);
                }
                Kernel::Axpy { alpha, x, y, len } => {
                    f(alpha);
                    place(&mut x.place, f);
                    f(&mut x.start);
                    place(&mut y.place, f);
                    f(&mut y.start);
                    f(len);
                }
                Kernel::AxpyAll { alpha, x, y } => {
                    f(alpha);
                    place(x, f);
                    place(y, f);
                }
                Kernel::ScaleAll { alpha, y } => {
                    f(alpha);
                    place(y, f);
                }
                Kernel::ZeroAll { y } => place(y, f),
                Kernel::SumAll { place: p, .. } => place(p, f),
            },
        },
    }
}

/// Calls `f` on every variable a statement mentions itself (reads, writes, stacks, loop
/// variables; not in nested blocks), in place.
pub fn vars_mut(s: &mut Stmt, f: &mut impl FnMut(&mut VarId)) {
    fn atom(a: &mut Atom, f: &mut impl FnMut(&mut VarId)) {
        if let Atom::Var(v) = a {
            f(v);
        }
    }
    fn place(p: &mut Place, f: &mut impl FnMut(&mut VarId)) {
        f(&mut p.root);
        for proj in &mut p.path {
            if let Proj::Index(a) = proj {
                atom(a, f);
            }
        }
    }
    fn arg(a: &mut Arg, f: &mut impl FnMut(&mut VarId)) {
        match a {
            Arg::Value(x) | Arg::Seed(x) => atom(x, f),
            Arg::Ref(p) | Arg::MutRef(p) => place(p, f),
            Arg::View(p, lo, hi) | Arg::MutView(p, lo, hi) => {
                place(p, f);
                for x in lo.iter_mut().chain(hi.iter_mut()) {
                    atom(x, f);
                }
            }
        }
    }
    fn run(r: &mut Run, f: &mut impl FnMut(&mut VarId)) {
        place(&mut r.place, f);
        atom(&mut r.start, f);
    }
    fn op(o: &mut Op, f: &mut impl FnMut(&mut VarId)) {
        match o {
            Op::Use(a) | Op::Not(a) | Op::Cast(a, _) | Op::NoGrad(a) | Op::ZeroLike(a) => {
                atom(a, f)
            }
            Op::Load(p) | Op::Len(p) => place(p, f),
            Op::Prim(_, args) | Op::Seq(args, _) | Op::Tuple(args) => {
                args.iter_mut().for_each(|a| atom(a, f))
            }
            Op::Repeat(a, c, _) => {
                atom(a, f);
                if let Count::Atom(n) = c {
                    atom(n, f);
                }
            }
            Op::Cmp(_, a, b) => {
                atom(a, f);
                atom(b, f);
            }
            Op::Select(c, a, b) => {
                atom(c, f);
                atom(a, f);
                atom(b, f);
            }
            Op::Struct(_, fields) => fields.iter_mut().for_each(|(_, a)| atom(a, f)),
            Op::Call(c) => c.args.iter_mut().for_each(|a| arg(a, f)),
            Op::Const(_) | Op::Num(_) | Op::Placeholder => {}
        }
    }
    match s {
        Stmt::Assign { target, op: o, .. } => {
            f(target);
            op(o, f);
        }
        Stmt::Store {
            place: p, value, ..
        }
        | Stmt::Accumulate {
            place: p, value, ..
        } => {
            place(p, f);
            atom(value, f);
        }
        Stmt::If { cond, .. } | Stmt::While { cond, .. } => atom(cond, f),
        Stmt::For { var, lo, hi, .. } => {
            f(var);
            atom(lo, f);
            atom(hi, f);
        }
        Stmt::Sweep(sw) => match sw {
            Sweep::Push { stack, value } => {
                f(stack);
                atom(value, f);
            }
            Sweep::Pop { stack, place: p } => {
                f(stack);
                place(p, f);
            }
            Sweep::Call { target, call } => {
                if let Some(t) = target {
                    f(t);
                }
                call.args.iter_mut().for_each(|a| arg(a, f));
            }
            Sweep::Kernel(k) => match k {
                Kernel::Dot { acc, a, b, len, .. } => {
                    place(acc, f);
                    run(a, f);
                    run(b, f);
                    atom(len, f);
                }
                Kernel::Axpy { alpha, x, y, len } => {
                    atom(alpha, f);
                    run(x, f);
                    run(y, f);
                    atom(len, f);
                }
                Kernel::AxpyAll { alpha, x, y } => {
                    atom(alpha, f);
                    place(x, f);
                    place(y, f);
                }
                Kernel::ScaleAll { alpha, y } => {
                    atom(alpha, f);
                    place(y, f);
                }
                Kernel::ZeroAll { y } => place(y, f),
                Kernel::SumAll { target, place: p } => {
                    f(target);
                    place(p, f);
                }
            },
        },
    }
}

/// `block` with every variable in `map` replaced by its image, nested blocks included.
pub fn renamed(block: Block, map: &std::collections::HashMap<VarId, VarId>) -> Block {
    map_block_vars(block, &mut |v| {
        if let Some(w) = map.get(v) {
            *v = *w;
        }
    })
}

fn map_block_vars(block: Block, f: &mut impl FnMut(&mut VarId)) -> Block {
    map(block, &mut |mut s| {
        vars_mut(&mut s, f);
        vec![s]
    })
}

/// Calls `f` on every statement of `block`, nested ones included, mutably (a statement
/// before the blocks it holds).
pub fn walk_mut(block: &mut Block, f: &mut impl FnMut(&mut Stmt)) {
    for s in block.iter_mut() {
        f(s);
        for b in children_mut(s) {
            walk_mut(b, f);
        }
    }
}

/// The places a statement reads or writes itself (the roots of `x[i]`, `p.w`, kernels'
/// operands, call arguments passed by reference).
pub fn places(s: &Stmt) -> Vec<&Place> {
    fn args(c: &Call) -> impl Iterator<Item = &Place> {
        c.args.iter().filter_map(Arg::place)
    }
    let mut out = Vec::new();
    match s {
        Stmt::Assign { op, .. } => match op {
            Op::Load(p) | Op::Len(p) => out.push(p),
            Op::Call(c) => out.extend(args(c)),
            _ => {}
        },
        Stmt::Store { place, .. } | Stmt::Accumulate { place, .. } => out.push(place),
        Stmt::If { .. } | Stmt::For { .. } | Stmt::While { .. } => {}
        Stmt::Sweep(sw) => match sw {
            Sweep::Push { .. } => {}
            Sweep::Pop { place, .. } => out.push(place),
            Sweep::Call { call, .. } => out.extend(args(call)),
            Sweep::Kernel(k) => match k {
                Kernel::Dot { acc, a, b, .. } => out.extend([acc, &a.place, &b.place]),
                Kernel::Axpy { x, y, .. } => out.extend([&x.place, &y.place]),
                Kernel::AxpyAll { x, y, .. } => out.extend([x, y]),
                Kernel::ScaleAll { y, .. } | Kernel::ZeroAll { y } => out.push(y),
                Kernel::SumAll { place, .. } => out.push(place),
            },
        },
    }
    out
}
