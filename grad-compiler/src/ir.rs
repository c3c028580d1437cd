//! The intermediate representation every phase shares.
//!
//! Lowering turns the user's function into a [`Function`]: a table of typed variables and a
//! structured body in three-address form (an operation reads atoms and places and writes one
//! variable). The transforms build new functions over the same statement language, code
//! generation prints them, and the test-support evaluator runs them.
//!
//! Statements come in two groups. [`Stmt`]'s own variants are what lowering produces (and what
//! every transform must understand); [`Sweep`] holds what only the transforms emit (stacks,
//! vector kernels, calls of other functions' companions), so a new kind of either is an edit
//! the compiler leads you through.

use crate::rules::Prim;
use crate::shape::{FloatTy, Ty};
use proc_macro2::Span;
use std::fmt;

/// Index of a variable in [`Function::vars`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarId(pub u32);

impl VarId {
    /// The index into the variable table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a variable came from; decides its printed name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Parameter `i` of the user's function, printed with the user's name.
    Param(usize),
    /// A `let` binding or loop variable the user named.
    User,
    /// A temporary made by lowering or a transform.
    Temp,
    /// The function's result.
    Result,
    /// A variable the generator introduced for a purpose (an adjoint, a stack, a flag, a
    /// companion parameter): printed as the binder's base name, with the name of `of`.
    Made(crate::names::Binder, Option<VarId>),
}

/// Everything known about one variable.
#[derive(Clone, Debug)]
pub struct Var {
    /// The name it is printed with, before de-duplication (the user's, or a binder's base).
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// The user's source span it stands for.
    pub span: Span,
    /// Where it came from.
    pub origin: Origin,
}

/// A literal or a variable: the operands of operations.
#[derive(Clone, Debug, PartialEq)]
pub enum Atom {
    /// A variable.
    Var(VarId),
    /// A float literal (of the function's float type).
    Float(f64),
    /// An integer literal.
    Int(i64),
    /// A boolean literal.
    Bool(bool),
}

impl Atom {
    /// The variable, if this is one.
    pub fn var(&self) -> Option<VarId> {
        match self {
            Atom::Var(v) => Some(*v),
            _ => None,
        }
    }
}

/// A struct or tuple field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Member {
    /// `p.w`.
    Named(String),
    /// `t.0`.
    Unnamed(u32),
}

/// One step from a value into a part of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Proj {
    /// `[i]`.
    Index(Atom),
    /// `.w` or `.0`.
    Field(Member),
    /// `*r`: through a `&mut` buffer.
    Deref,
}

/// A place that can be read or written: a variable and a path into it (`w[i][j]`, `p.b`).
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    /// The variable the path starts from.
    pub root: VarId,
    /// The projections, outermost first.
    pub path: Vec<Proj>,
}

impl Place {
    /// A whole variable.
    pub fn var(v: VarId) -> Place {
        Place {
            root: v,
            path: Vec::new(),
        }
    }
    /// `self[i]`.
    pub fn index(mut self, i: Atom) -> Place {
        self.path.push(Proj::Index(i));
        self
    }
    /// `self.m`.
    pub fn field(mut self, m: Member) -> Place {
        self.path.push(Proj::Field(m));
        self
    }
    /// `*self`.
    pub fn deref(mut self) -> Place {
        self.path.push(Proj::Deref);
        self
    }
    /// The same path on another root (an adjoint's or a tangent's place).
    pub fn rebased(&self, root: VarId) -> Place {
        Place {
            root,
            path: self.path.clone(),
        }
    }
    /// Whether this is a whole variable.
    pub fn is_var(&self) -> bool {
        self.path.is_empty()
    }
    /// The variables this place reads to be located (its indices), not its root.
    pub fn index_vars(&self) -> impl Iterator<Item = VarId> + '_ {
        self.path.iter().filter_map(|p| match p {
            Proj::Index(a) => a.var(),
            _ => None,
        })
    }
}

/// Comparison operators; operands are both floats or both integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    /// The Rust operator.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// Whether `x op y` holds.
    pub fn holds(self, x: f64, y: f64) -> bool {
        match self {
            CmpOp::Lt => x < y,
            CmpOp::Le => x <= y,
            CmpOp::Gt => x > y,
            CmpOp::Ge => x >= y,
            CmpOp::Eq => x == y,
            CmpOp::Ne => x != y,
        }
    }
}

/// The scalar types a cast can target.
#[derive(Clone, Debug, PartialEq)]
pub enum CastTo {
    /// The function's float type.
    Float,
    /// An integer type, spelled as written (`usize`, `i32`).
    Int(String),
}

/// A constant the macro knows by name (`PI`, `f64::EPSILON`, a user's `const`).
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    /// The path, as written or as the macro spells it (`core::f64::consts::PI`).
    pub path: Vec<String>,
    /// Its value where the macro knows it (std constants), for the evaluator; a user's
    /// `const` item has none.
    pub value: Option<f64>,
}

/// How many elements `[v; n]` / `vec![v; n]` has.
#[derive(Clone, Debug, PartialEq)]
pub enum Count {
    /// An array length (a literal or a named constant).
    Len(crate::shape::Len),
    /// A `vec!` length computed at run time.
    Atom(Atom),
}

/// How a sequence literal is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqForm {
    /// `[a, b]` / `[v; N]`.
    Array,
    /// `vec![a, b]` / `vec![v; n]`.
    Vec,
}

/// Which function a call goes to.
#[derive(Clone, Debug, PartialEq)]
pub enum Callee {
    /// A free function, by path (`g`, `model::g`, `g::<3>`).
    Path(syn::Path),
    /// A method of the receiver, the call's first argument (`self.energy(x)`).
    Method(syn::Ident),
}

impl Callee {
    /// The span of the callee's name, where errors about it point.
    pub fn span(&self) -> Span {
        match self {
            Callee::Path(p) => p
                .segments
                .last()
                .map(|s| s.ident.span())
                .unwrap_or_else(Span::call_site),
            Callee::Method(m) => m.span(),
        }
    }
    /// The callee's own name (the last path segment).
    pub fn name(&self) -> String {
        match self {
            Callee::Path(p) => p
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            Callee::Method(m) => m.to_string(),
        }
    }
    /// The same callee with `_suffix` appended to its name: a companion of it.
    pub fn companion(&self, suffix: &str) -> Callee {
        match self {
            Callee::Path(p) => {
                let mut p = p.clone();
                if let Some(last) = p.segments.last_mut() {
                    last.ident =
                        syn::Ident::new(&format!("{}_{suffix}", last.ident), last.ident.span());
                }
                Callee::Path(p)
            }
            Callee::Method(m) => {
                Callee::Method(syn::Ident::new(&format!("{m}_{suffix}"), m.span()))
            }
        }
    }
}

/// How an argument is passed.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// By value (a scalar, an array, a struct; or a variable that already is a reference).
    Value(Atom),
    /// `&place`.
    Ref(Place),
    /// `&place[lo..hi]` (either bound may be absent).
    View(Place, Option<Atom>, Option<Atom>),
    /// `&mut place` (adjoint and tangent buffers of companion calls).
    MutRef(Place),
    /// `&mut place[lo..hi]`.
    MutView(Place, Option<Atom>, Option<Atom>),
    /// The seed of a companion call, as its pullback takes it: by value, or as a slice for
    /// a `Vec` (`grad::runtime::AsSeed`).
    Seed(Atom),
}

impl Arg {
    /// The place or atom this argument passes, and its sub-range if any.
    pub fn place(&self) -> Option<&Place> {
        match self {
            Arg::Value(_) | Arg::Seed(_) => None,
            Arg::Ref(p) | Arg::View(p, ..) | Arg::MutRef(p) | Arg::MutView(p, ..) => Some(p),
        }
    }
}

/// A call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function called.
    pub callee: Callee,
    /// The arguments, in order (for a method, the receiver first).
    pub args: Vec<Arg>,
}

/// The right-hand side of an assignment: one operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A copy of an atom (a whole value: scalars, arrays, vectors, structs).
    Use(Atom),
    /// A read of a place with a non-empty path (`x[i]`, `p.w[j]`, `t.0`).
    Load(Place),
    /// A primitive of the rule table, on floats or (where Rust has it) integers.
    Prim(Prim, Vec<Atom>),
    /// A comparison, giving a `bool`.
    Cmp(CmpOp, Atom, Atom),
    /// `!a` on a `bool`.
    Not(Atom),
    /// `if c { a } else { b }` on values (both evaluated).
    Select(Atom, Atom, Atom),
    /// `a as T`.
    Cast(Atom, CastTo),
    /// `place.len()`.
    Len(Place),
    /// `[a, b, c]` or `vec![a, b, c]`.
    Seq(Vec<Atom>, SeqForm),
    /// `[v; n]` or `vec![v; n]`.
    Repeat(Atom, Count, SeqForm),
    /// `(a, b)`.
    Tuple(Vec<Atom>),
    /// `Path { f: a, g: b }`.
    Struct(Vec<String>, Vec<(String, Atom)>),
    /// A call; its result is the target.
    Call(Call),
    /// A named constant.
    Const(Const),
    /// A small whole number (`0` for a sum, `1` for a product) of the type inference finds:
    /// a float or an integer.
    Num(i64),
    /// `grad::no_grad(a)`: `a`'s value with a zero derivative.
    NoGrad(Atom),
    /// A zero of the same shape as a value (an adjoint's or tangent's start).
    ZeroLike(Atom),
    /// A value of the target's type that is overwritten before it is read (what rustc needs
    /// where it cannot see a variable assigned on every path): `Default::default()`.
    Placeholder,
}

/// A statement of the IR.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `target = op`.
    Assign { target: VarId, op: Op, span: Span },
    /// `place = value` (an element, a field, or through a `&mut` buffer).
    Store {
        place: Place,
        value: Atom,
        span: Span,
    },
    /// `place += value` (or `-=`): the sum-reduction form.
    Accumulate {
        place: Place,
        value: Atom,
        negate: bool,
        span: Span,
    },
    /// `if cond { then } else { els }`.
    If { cond: Atom, then: Block, els: Block },
    /// `for var in lo..hi { body }` (in reverse order when `rev`); in fixed chunks, possibly
    /// on several threads, when `chunked`.
    For {
        var: VarId,
        lo: Atom,
        hi: Atom,
        rev: bool,
        body: Block,
        chunked: Option<Box<Chunked>>,
    },
    /// `loop { cond_block; if !cond { break } body }`.
    While {
        cond_block: Block,
        cond: Atom,
        body: Block,
    },
    /// What only the transforms emit.
    Sweep(Sweep),
}

/// Statements only the transforms emit (lowering never does).
#[derive(Clone, Debug)]
pub enum Sweep {
    /// `stack.push(value)`.
    Push { stack: VarId, value: Atom },
    /// `place = stack.pop()`.
    Pop { stack: VarId, place: Place },
    /// A call for its effect on `&mut` arguments (a companion: pullback, ...); its value,
    /// if `target` is given, is stored there.
    Call { target: Option<VarId>, call: Call },
    /// A vector kernel of the runtime.
    Kernel(Kernel),
}

/// A `for` loop whose iterations only add into some variables (a sum over samples), run in
/// fixed chunks of its range, possibly on several threads (`#[derive_gradient(parallel)]`).
/// Each chunk runs `for var in start..end { body }` with every sum starting at zero, into
/// its own copies; then, in chunk order, each sum gets its chunk's part added (`sum +=
/// part`). The chunks depend only on the range, so the result is the same on any number
/// of threads.
#[derive(Clone, Debug)]
pub struct Chunked {
    /// The chunk's first index and its end.
    pub start: VarId,
    pub end: VarId,
    /// Each variable the body adds into, and the variable holding a chunk's part of it.
    pub sums: Vec<(VarId, VarId)>,
}

/// A contiguous run of a sequence: `place[off + lo .. off + hi]`, as the kernels take it.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The sequence.
    pub place: Place,
    /// The first element.
    pub start: Atom,
}

/// The runtime's vector kernels, as the transforms use them.
#[derive(Clone, Debug)]
pub enum Kernel {
    /// `acc += dot(a[a.start..][..len], b[b.start..][..len])` (`-=` when `negate`).
    Dot {
        acc: Place,
        negate: bool,
        a: Run,
        b: Run,
        len: Atom,
    },
    /// `y[y.start..][..len] += alpha * x[x.start..][..len]`.
    Axpy {
        alpha: Atom,
        x: Run,
        y: Run,
        len: Atom,
    },
    /// Whole values of the same shape: `y += alpha * x` (any nesting; scalars too).
    AxpyAll { alpha: Atom, x: Place, y: Place },
    /// Whole values: `y *= alpha`.
    ScaleAll { alpha: Atom, y: Place },
    /// Whole values: every float of `y` set to zero.
    ZeroAll { y: Place },
    /// `target = sum of every float of place`.
    SumAll { target: VarId, place: Place },
    /// `target` = the derivative along the tangent `tangent` from the gradient `gradient`
    /// (whole values of one shape): the sum of `tangent_i * gradient_i` over the floats,
    /// those where `tangent_i` is zero skipped.
    Along {
        target: VarId,
        tangent: Place,
        gradient: Place,
    },
    /// Whole values: every float of `y` zero but float `index` (in flat order), one: a unit
    /// seed.
    SetUnit { y: Place, index: Atom },
    /// Row `row` of the Jacobian `out` written with the floats of `parts`, one after the
    /// other in flat order.
    WriteRow {
        parts: Vec<Place>,
        out: Place,
        row: Atom,
    },
}

/// A sequence of statements.
pub type Block = Vec<Stmt>;

/// How a parameter is received.
#[derive(Clone, Debug, PartialEq)]
pub enum Passing {
    /// By value: `x: f64`, `x: [f64; 3]`, `p: Model`.
    Value,
    /// By shared reference: `x: &[f64]`, `p: &Model`, `x: &[f64; 3]`.
    Ref,
    /// By `&mut` reference: companion buffers.
    MutRef,
}

/// A parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// Its variable.
    pub var: VarId,
    /// How it is passed.
    pub passing: Passing,
    /// Its type as written (printed in signatures).
    pub written: syn::Type,
}

/// A function of the IR: the user's, after lowering, or a companion built by a transform.
#[derive(Clone, Debug)]
pub struct Function {
    /// The variable table.
    pub vars: Vec<Var>,
    /// The parameters, in order.
    pub params: Vec<Param>,
    /// The body.
    pub body: Block,
    /// What the function returns: variables, returned as a tuple when there are several.
    pub returns: Vec<VarId>,
    /// The float type.
    pub float: FloatTy,
}

impl Function {
    /// An empty function of the given float type.
    pub fn new(float: FloatTy) -> Function {
        Function {
            vars: Vec::new(),
            params: Vec::new(),
            body: Vec::new(),
            returns: Vec::new(),
            float,
        }
    }

    /// The information about a variable.
    pub fn var(&self, v: VarId) -> &Var {
        &self.vars[v.index()]
    }

    /// The type of a variable.
    pub fn ty(&self, v: VarId) -> &Ty {
        &self.vars[v.index()].ty
    }

    /// Adds a variable and returns its id.
    pub fn add_var(
        &mut self,
        name: impl Into<String>,
        ty: Ty,
        span: Span,
        origin: Origin,
    ) -> VarId {
        self.vars.push(Var {
            name: name.into(),
            ty,
            span,
            origin,
        });
        VarId((self.vars.len() - 1) as u32)
    }

    /// The type of an atom.
    pub fn atom_ty(&self, a: &Atom) -> Ty {
        match a {
            Atom::Var(v) => self.ty(*v).clone(),
            Atom::Float(_) => Ty::Float,
            Atom::Int(_) => Ty::Int,
            Atom::Bool(_) => Ty::Bool,
        }
    }

    /// The type of what an argument passes (a view passes a slice).
    pub fn arg_ty(&self, arg: &Arg) -> Ty {
        match arg {
            Arg::Value(a) | Arg::Seed(a) => self.atom_ty(a),
            Arg::Ref(p) | Arg::MutRef(p) => self.place_ty(p),
            Arg::View(p, ..) | Arg::MutView(p, ..) => match self.place_ty(p).deref() {
                Ty::Seq(_, e) => Ty::Seq(crate::shape::SeqKind::Slice, e),
                t => t,
            },
        }
    }

    /// The type of the value at a place.
    pub fn place_ty(&self, p: &Place) -> Ty {
        let mut t = self.ty(p.root).clone();
        for proj in &p.path {
            t = match proj {
                Proj::Index(_) => t.elem().cloned().unwrap_or(Ty::Opaque),
                Proj::Field(m) => t.field(m),
                Proj::Deref => t.deref(),
            };
        }
        t
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Var(v) => write!(f, "%{}", v.0),
            Atom::Float(x) => write!(f, "{x:?}"),
            Atom::Int(i) => write!(f, "{i}"),
            Atom::Bool(b) => write!(f, "{b}"),
        }
    }
}
