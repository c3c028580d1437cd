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
    effects_into(s, &mut e);
    e
}

/// [`effects`] into `e`, cleared first: a pass asking about many statements reuses one
/// buffer.
pub fn effects_into(s: &Stmt, e: &mut Effects) {
    e.reads.clear();
    e.writes.clear();
    match s {
        Stmt::Assign { target, op, .. } => {
            op_effects(op, e);
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
        Stmt::For {
            var,
            lo,
            hi,
            chunked,
            ..
        } => {
            e.atoms([lo, hi]);
            e.write_var(*var);
            if let Some(c) = chunked {
                e.write_var(c.start);
                e.write_var(c.end);
                for (v, part) in &c.sums {
                    // `v += part` after the chunks.
                    e.write_var(*part);
                    e.read_place(&Place::var(*v));
                    e.write_place(&Place::var(*v));
                }
            }
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
                Kernel::Along {
                    target,
                    tangent,
                    gradient,
                } => {
                    e.read_place(tangent);
                    e.read_place(gradient);
                    e.write_var(*target);
                }
                Kernel::SetUnit { y, index } => {
                    // Like zeroing, it keeps the shape.
                    e.atom(index);
                    e.read_place(y);
                    e.write_place(y);
                }
                Kernel::WriteRow { parts, out, row } => {
                    for p in parts {
                        e.read_place(p);
                    }
                    e.atom(row);
                    e.read_place(out);
                    e.write_place(out);
                }
            },
        },
    }
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

/// The number of statements of `b`, nested ones included.
pub fn count(b: &[Stmt]) -> usize {
    let mut n = 0;
    walk(b, &mut |_| n += 1);
    n
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

/// What a statement and the statements nested in it read and write, sorted, so that passes
/// asking many questions about the same statements compute each statement's effects once.
#[derive(Clone, Debug, Default)]
pub struct Deep {
    /// Variables read, sorted, without repeats.
    pub reads: Vec<VarId>,
    /// Variables written, sorted, without repeats.
    pub writes: Vec<VarId>,
    /// Each variable read or written, with how many statements (nested ones counted
    /// separately) mention it; sorted by variable.
    pub mentions: Vec<(VarId, usize)>,
}

/// Flags of [`Marks`]: the variable is read / written.
const READ: u8 = 1;
const WRITTEN: u8 = 2;

/// Per-variable flags and statement counts, indexed by variable, growing as needed: what
/// [`Deep::of`] gathers over a statement and its nested ones.
#[derive(Default)]
struct Marks {
    flags: Vec<u8>,
    counts: Vec<u32>,
}

impl Marks {
    fn grow(&mut self, v: u32) -> usize {
        let i = v as usize;
        if i >= self.flags.len() {
            self.flags.resize(i + 1, 0);
            self.counts.resize(i + 1, 0);
        }
        i
    }
    fn mark(&mut self, v: u32, flag: u8) {
        let i = self.grow(v);
        self.flags[i] |= flag;
    }
    fn count(&mut self, v: u32) {
        let i = self.grow(v);
        self.counts[i] += 1;
    }
    fn into_deep(self) -> Deep {
        let mut deep = Deep::default();
        for (i, (&flag, &count)) in self.flags.iter().zip(&self.counts).enumerate() {
            let v = VarId(i as u32);
            if flag & READ != 0 {
                deep.reads.push(v);
            }
            if flag & WRITTEN != 0 {
                deep.writes.push(v);
            }
            if count > 0 {
                deep.mentions.push((v, count as usize));
            }
        }
        deep
    }
}

impl Deep {
    /// The summary of `s`.
    pub fn of(s: &Stmt) -> Deep {
        let leaf = matches!(
            s,
            Stmt::Assign { .. } | Stmt::Store { .. } | Stmt::Accumulate { .. } | Stmt::Sweep(_)
        );
        if leaf {
            return Deep::of_leaf(s);
        }
        // Dense marks indexed by variable instead of sorting the (long, repetitive) lists:
        // the variables of one function are numbered from 0, so the marks are short, and
        // scanning them in order gives each list sorted without a sort (which dominated in
        // the unoptimised builds proc macros usually run as).
        let mut marks = Marks::default();
        let mut e = Effects::default();
        let mut this_stmt: Vec<u32> = Vec::new();
        walk(std::slice::from_ref(s), &mut |st| {
            effects_into(st, &mut e);
            this_stmt.clear();
            for v in &e.reads {
                marks.mark(v.0, READ);
                if !this_stmt.contains(&v.0) {
                    this_stmt.push(v.0);
                }
            }
            for w in &e.writes {
                marks.mark(w.var.0, WRITTEN);
                if !this_stmt.contains(&w.var.0) {
                    this_stmt.push(w.var.0);
                }
            }
            for &v in &this_stmt {
                marks.count(v);
            }
        });
        marks.into_deep()
    }
    /// [`Deep::of`] a statement holding no blocks (most of them): its own effects, each
    /// variable mentioned once.
    fn of_leaf(s: &Stmt) -> Deep {
        let mut e = Effects::default();
        effects_into(s, &mut e);
        let mut reads = e.reads;
        reads.sort_unstable();
        reads.dedup();
        let mut writes: Vec<VarId> = e.writes.iter().map(|w| w.var).collect();
        writes.sort_unstable();
        writes.dedup();
        // The union of two sorted lists, merged.
        let mut mentions = Vec::with_capacity(reads.len() + writes.len());
        let (mut i, mut j) = (0, 0);
        while i < reads.len() || j < writes.len() {
            let next = match (reads.get(i), writes.get(j)) {
                (Some(r), Some(w)) if r == w => {
                    i += 1;
                    j += 1;
                    *r
                }
                (Some(r), Some(w)) if r < w => {
                    i += 1;
                    *r
                }
                (Some(r), None) => {
                    i += 1;
                    *r
                }
                (_, Some(w)) => {
                    j += 1;
                    *w
                }
                (None, None) => unreachable!(),
            };
            mentions.push((next, 1));
        }
        Deep {
            reads,
            writes,
            mentions,
        }
    }
    /// The summaries of a block's statements.
    pub fn of_block(b: &[Stmt]) -> Vec<Deep> {
        b.iter().map(Deep::of).collect()
    }
    /// Whether `v` is read.
    pub fn reads(&self, v: VarId) -> bool {
        self.reads.binary_search(&v).is_ok()
    }
    /// Whether `v` is written.
    pub fn writes(&self, v: VarId) -> bool {
        self.writes.binary_search(&v).is_ok()
    }
    /// How many statements mention `v`.
    pub fn mention_count(&self, v: VarId) -> usize {
        match self.mentions.binary_search_by_key(&v, |m| m.0) {
            Ok(k) => self.mentions[k].1,
            Err(_) => 0,
        }
    }
    /// Whether `v` is read or written.
    pub fn mentions(&self, v: VarId) -> bool {
        self.mention_count(v) > 0
    }
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

/// One operand of a statement, mutably: an atom, or a variable that is not an atom (a
/// target, a place's root, a stack, a loop variable).
pub enum Operand<'a> {
    /// An atom.
    Atom(&'a mut Atom),
    /// A variable.
    Var(&'a mut VarId),
}

/// Calls `f` on every operand of a statement itself (not in nested blocks), in place: the one
/// traversal that rewrites statements.
pub fn operands_mut(s: &mut Stmt, f: &mut impl FnMut(Operand)) {
    fn place(p: &mut Place, f: &mut impl FnMut(Operand)) {
        f(Operand::Var(&mut p.root));
        for proj in &mut p.path {
            if let Proj::Index(a) = proj {
                f(Operand::Atom(a));
            }
        }
    }
    fn arg(a: &mut Arg, f: &mut impl FnMut(Operand)) {
        match a {
            Arg::Value(x) | Arg::Seed(x) => f(Operand::Atom(x)),
            Arg::Ref(p) | Arg::MutRef(p) => place(p, f),
            Arg::View(p, lo, hi) | Arg::MutView(p, lo, hi) => {
                place(p, f);
                for x in lo.iter_mut().chain(hi.iter_mut()) {
                    f(Operand::Atom(x));
                }
            }
        }
    }
    fn run(r: &mut Run, f: &mut impl FnMut(Operand)) {
        place(&mut r.place, f);
        f(Operand::Atom(&mut r.start));
    }
    fn op(o: &mut Op, f: &mut impl FnMut(Operand)) {
        match o {
            Op::Use(a) | Op::Not(a) | Op::Cast(a, _) | Op::NoGrad(a) | Op::ZeroLike(a) => {
                f(Operand::Atom(a))
            }
            Op::Load(p) | Op::Len(p) => place(p, f),
            Op::Prim(_, args) | Op::Seq(args, _) | Op::Tuple(args) => {
                args.iter_mut().for_each(|a| f(Operand::Atom(a)))
            }
            Op::Repeat(a, c, _) => {
                f(Operand::Atom(a));
                if let Count::Atom(n) = c {
                    f(Operand::Atom(n));
                }
            }
            Op::Cmp(_, a, b) => {
                f(Operand::Atom(a));
                f(Operand::Atom(b));
            }
            Op::Select(c, a, b) => {
                f(Operand::Atom(c));
                f(Operand::Atom(a));
                f(Operand::Atom(b));
            }
            Op::Struct(_, fields) => fields.iter_mut().for_each(|(_, a)| f(Operand::Atom(a))),
            Op::Call(c) => c.args.iter_mut().for_each(|a| arg(a, f)),
            Op::Const(_) | Op::Num(_) | Op::Placeholder => {}
        }
    }
    match s {
        Stmt::Assign { target, op: o, .. } => {
            f(Operand::Var(target));
            op(o, f);
        }
        Stmt::Store {
            place: p, value, ..
        }
        | Stmt::Accumulate {
            place: p, value, ..
        } => {
            place(p, f);
            f(Operand::Atom(value));
        }
        Stmt::If { cond, .. } | Stmt::While { cond, .. } => f(Operand::Atom(cond)),
        Stmt::For {
            var,
            lo,
            hi,
            chunked,
            ..
        } => {
            f(Operand::Var(var));
            f(Operand::Atom(lo));
            f(Operand::Atom(hi));
            if let Some(c) = chunked {
                f(Operand::Var(&mut c.start));
                f(Operand::Var(&mut c.end));
                for (v, part) in &mut c.sums {
                    f(Operand::Var(v));
                    f(Operand::Var(part));
                }
            }
        }
        Stmt::Sweep(sw) => match sw {
            Sweep::Push { stack, value } => {
                f(Operand::Var(stack));
                f(Operand::Atom(value));
            }
            Sweep::Pop { stack, place: p } => {
                f(Operand::Var(stack));
                place(p, f);
            }
            Sweep::Call { target, call } => {
                if let Some(t) = target {
                    f(Operand::Var(t));
                }
                call.args.iter_mut().for_each(|a| arg(a, f));
            }
            Sweep::Kernel(k) => match k {
                Kernel::Dot { acc, a, b, len, .. } => {
                    place(acc, f);
                    run(a, f);
                    run(b, f);
                    f(Operand::Atom(len));
                }
                Kernel::Axpy { alpha, x, y, len } => {
                    f(Operand::Atom(alpha));
                    run(x, f);
                    run(y, f);
                    f(Operand::Atom(len));
                }
                Kernel::AxpyAll { alpha, x, y } => {
                    f(Operand::Atom(alpha));
                    place(x, f);
                    place(y, f);
                }
                Kernel::ScaleAll { alpha, y } => {
                    f(Operand::Atom(alpha));
                    place(y, f);
                }
                Kernel::ZeroAll { y } => place(y, f),
                Kernel::SumAll { target, place: p } => {
                    f(Operand::Var(target));
                    place(p, f);
                }
                Kernel::Along {
                    target,
                    tangent,
                    gradient,
                } => {
                    f(Operand::Var(target));
                    place(tangent, f);
                    place(gradient, f);
                }
                Kernel::SetUnit { y, index } => {
                    place(y, f);
                    f(Operand::Atom(index));
                }
                Kernel::WriteRow { parts, out, row } => {
                    parts.iter_mut().for_each(|p| place(p, f));
                    place(out, f);
                    f(Operand::Atom(row));
                }
            },
        },
    }
}

/// Rewrites every atom of a statement in place (its own operands, not nested blocks').
pub fn rewrite_atoms(s: &mut Stmt, f: &mut impl FnMut(&mut Atom)) {
    operands_mut(s, &mut |o| {
        if let Operand::Atom(a) = o {
            f(a)
        }
    });
}

/// Calls `f` on every variable a statement mentions itself (reads, writes, stacks, loop
/// variables; not in nested blocks), in place.
pub fn vars_mut(s: &mut Stmt, f: &mut impl FnMut(&mut VarId)) {
    operands_mut(s, &mut |o| match o {
        Operand::Atom(Atom::Var(v)) | Operand::Var(v) => f(v),
        Operand::Atom(_) => {}
    });
}

/// `block` with every variable in `map` replaced by its image, nested blocks included.
pub fn renamed(block: Block, map: &crate::hash::HashMap<VarId, VarId>) -> Block {
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
                Kernel::Along {
                    tangent, gradient, ..
                } => out.extend([tangent, gradient]),
                Kernel::SetUnit { y, .. } => out.push(y),
                Kernel::WriteRow { parts, out: o, .. } => {
                    out.extend(parts);
                    out.push(o);
                }
            },
        },
    }
    out
}
