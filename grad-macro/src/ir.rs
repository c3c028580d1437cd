//! The intermediate representation shared by every pass.
//!
//! Lowering turns the user's function into a [`Function`]: a table of typed variables and a
//! structured body in three-address form (every primitive operation reads atoms and writes a
//! fresh temporary). The forward and reverse transforms produce new [`Block`]s over the same
//! variable table, which code generation prints as Rust and the test-only evaluator runs.

use proc_macro2::Span;
use std::fmt;

/// Index of a variable in [`Function::vars`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarId(pub usize);

/// Index of a save slot (a scalar local or a stack) created by the reverse transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlotId(pub usize);

/// The length of an array value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    /// `[T; N]` with `N` an integer literal.
    Fixed(usize),
    /// A slice, a `&Vec<T>` or a local `Vec<T>`: known only at run time.
    Dynamic,
}

/// How an array value is held, which decides how code generation declares and passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayKind {
    /// `[T; N]`, by value.
    Fixed(usize),
    /// `&[T]` or `&Vec<T>` parameter: read-only.
    Slice,
    /// A local `Vec<T>` (from `vec![..]`).
    Vec,
}

impl ArrayKind {
    /// The length class of this kind of array.
    pub fn len(self) -> Len {
        match self {
            ArrayKind::Fixed(n) => Len::Fixed(n),
            ArrayKind::Slice | ArrayKind::Vec => Len::Dynamic,
        }
    }
}

/// The type of a value. Floats are all of the function's one float type (`f32` or `f64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// The function's float type.
    Float,
    /// Any integer type; rustc infers which one from the code we emit.
    Int,
    /// `bool`.
    Bool,
    /// An array of floats.
    FloatArray(ArrayKind),
    /// An array of integers (`&[usize]`, `[i32; 3]`, `vec![0usize; n]`): passive data.
    IntArray(ArrayKind),
}

impl Ty {
    /// Whether values of this type can carry a derivative.
    pub fn is_float(self) -> bool {
        matches!(self, Ty::Float | Ty::FloatArray(_))
    }
    /// Whether this is an array type.
    pub fn is_array(self) -> bool {
        matches!(self, Ty::FloatArray(_) | Ty::IntArray(_))
    }
    /// The array kind, if this is an array.
    pub fn array_kind(self) -> Option<ArrayKind> {
        match self {
            Ty::FloatArray(k) | Ty::IntArray(k) => Some(k),
            _ => None,
        }
    }
}

/// Where a variable came from; decides its printed name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A parameter of the user's function; printed with the user's own identifier.
    Param,
    /// A `let` binding or loop variable of the user's.
    User,
    /// A temporary made by lowering.
    Temp,
    /// The function's result.
    Result,
    /// The adjoint of another variable (reverse mode).
    Adjoint(VarId),
    /// The tangent of another variable (forward mode).
    Tangent(VarId),
    /// Bookkeeping made by a transform (loop trip counters, saved bounds).
    Aux,
}

/// Everything known about one variable.
#[derive(Clone, Debug)]
pub struct VarInfo {
    /// The name it is printed with (made unique by lowering).
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// The user's source span it stands for.
    pub span: Span,
    /// For parameters: the user's identifier, printed as written.
    pub ident: Option<syn::Ident>,
    /// Where it came from.
    pub origin: Origin,
}

/// A literal or a variable: the operands of primitive operations.
#[derive(Clone, Debug, PartialEq)]
pub enum Atom {
    /// A variable.
    Var(VarId),
    /// A float literal.
    Float(f64),
    /// An integer literal.
    Int(i64),
    /// A boolean literal.
    Bool(bool),
}

/// The differentiable float primitives. Their derivatives live in `rules.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prim {
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Powi,
    Powf,
    Sqrt,
    Cbrt,
    Exp,
    Exp2,
    Ln,
    Log2,
    Log10,
    Ln1p,
    ExpM1,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Abs,
    Signum,
    Max,
    Min,
    Recip,
    MulAdd,
    Hypot,
}

impl Prim {
    /// The float method with this name and its arity (receiver included).
    pub fn from_method(name: &str) -> Option<(Prim, usize)> {
        use Prim::*;
        Some(match name {
            "powi" => (Powi, 2),
            "powf" => (Powf, 2),
            "sqrt" => (Sqrt, 1),
            "cbrt" => (Cbrt, 1),
            "exp" => (Exp, 1),
            "exp2" => (Exp2, 1),
            "ln" => (Ln, 1),
            "log2" => (Log2, 1),
            "log10" => (Log10, 1),
            "ln_1p" => (Ln1p, 1),
            "exp_m1" => (ExpM1, 1),
            "sin" => (Sin, 1),
            "cos" => (Cos, 1),
            "tan" => (Tan, 1),
            "asin" => (Asin, 1),
            "acos" => (Acos, 1),
            "atan" => (Atan, 1),
            "atan2" => (Atan2, 2),
            "sinh" => (Sinh, 1),
            "cosh" => (Cosh, 1),
            "tanh" => (Tanh, 1),
            "abs" => (Abs, 1),
            "signum" => (Signum, 1),
            "max" => (Max, 2),
            "min" => (Min, 2),
            "recip" => (Recip, 1),
            "mul_add" => (MulAdd, 3),
            "hypot" => (Hypot, 2),
            _ => return None,
        })
    }

    /// The method name (for methods) used when printing.
    pub fn method_name(self) -> &'static str {
        use Prim::*;
        match self {
            Neg => "neg",
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            Div => "div",
            Powi => "powi",
            Powf => "powf",
            Sqrt => "sqrt",
            Cbrt => "cbrt",
            Exp => "exp",
            Exp2 => "exp2",
            Ln => "ln",
            Log2 => "log2",
            Log10 => "log10",
            Ln1p => "ln_1p",
            ExpM1 => "exp_m1",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Atan2 => "atan2",
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            Abs => "abs",
            Signum => "signum",
            Max => "max",
            Min => "min",
            Recip => "recip",
            MulAdd => "mul_add",
            Hypot => "hypot",
        }
    }

    /// Every primitive, for tests that must cover them all.
    #[allow(dead_code)]
    pub const ALL: [Prim; 33] = {
        use Prim::*;
        [
            Neg, Add, Sub, Mul, Div, Powi, Powf, Sqrt, Cbrt, Exp, Exp2, Ln, Log2, Log10, Ln1p,
            ExpM1, Sin, Cos, Tan, Asin, Acos, Atan, Atan2, Sinh, Cosh, Tanh, Abs, Signum, Max, Min,
            Recip, MulAdd, Hypot,
        ]
    };
}

/// Integer (and boolean) operators: passive, never differentiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Neg,
}

/// Comparison operators; operands are both floats or both integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// Boolean connectives. Lowering turns `&&`/`||` into `if`s (they short-circuit), so only
/// `Not` comes out of it; `And`/`Or` are for IR built by tests and transforms.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
    Not,
}

/// The right-hand side of an assignment in lowered code: one operation over atoms.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `a` (a copy; also whole arrays).
    Copy(Atom),
    /// A differentiable float primitive. `Powi` takes an integer second operand.
    Prim(Prim, Vec<Atom>),
    /// Integer arithmetic.
    Int(IntOp, Vec<Atom>),
    /// A comparison, giving a `bool`.
    Cmp(CmpOp, Atom, Atom),
    /// `&&`, `||`, `!` (evaluated eagerly: the operands are side-effect free).
    Bool(BoolOp, Vec<Atom>),
    /// `a as T`. `to` is the target type; `to_tokens` its spelling (`usize`, `f64`, ...).
    Cast {
        value: Atom,
        to: Ty,
        to_name: String,
    },
    /// `arr[index]`.
    Index { array: VarId, index: Atom },
    /// `arr.len()`.
    Len(VarId),
    /// `[a, b, c]` (or `vec![a, b, c]` when `vec`).
    ArrayLit { elems: Vec<Atom>, vec: bool },
    /// `[value; n]` (fixed n) or `vec![value; n]` (n an atom).
    Repeat { value: Atom, count: Atom, vec: bool },
    /// A call to another `#[derive_gradient]` function (or, with no active argument, any
    /// function). `refs[i]` says whether argument `i` is passed as `&arg`.
    Call {
        func: syn::Path,
        args: Vec<Atom>,
        refs: Vec<bool>,
    },
    /// An opaque passive constant the user typed (a `const` item, `f64::consts::PI`), printed
    /// as written.
    Const(String),
}

/// A statement of the IR.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `target = op` (lowering makes `target` a fresh temporary whenever `op` is a primitive,
    /// so a primitive never reads its own target).
    Assign { target: VarId, op: Op, span: Span },
    /// `target += value` or `target -= value` on a float scalar: the sum-reduction form.
    Accumulate {
        target: VarId,
        value: Atom,
        negate: bool,
        span: Span,
    },
    /// `array[index] = value`.
    Store {
        array: VarId,
        index: Atom,
        value: Atom,
        span: Span,
    },
    /// `if cond { then } else { els }`.
    If { cond: Atom, then: Block, els: Block },
    /// `for var in lo..hi { body }` (reversed iteration order when `rev`).
    For {
        var: VarId,
        lo: Atom,
        hi: Atom,
        rev: bool,
        body: Block,
    },
    /// `loop { cond_block; if !cond { break } body }`.
    While {
        cond_block: Block,
        cond: Atom,
        body: Block,
    },
    /// Transform-only: a reverse-mode primitive contribution `target += expr`.
    AddAssign { target: Place, expr: Expr },
    /// Transform-only: `target = expr` for arbitrary expressions.
    Set { target: Place, expr: Expr },
    /// Transform-only: remember the current value of `place` in `slot`.
    Save { slot: SlotId, place: Place },
    /// Transform-only: restore `place` from `slot`.
    Restore { slot: SlotId, place: Place },
    /// Transform-only: a call to another function's pullback, accumulating into adjoints.
    PullbackCall {
        func: syn::Path,
        args: Vec<Atom>,
        refs: Vec<bool>,
        seed: VarId,
        /// For each float argument (in order): its adjoint variable, or `None` for a dummy.
        adjoints: Vec<Option<VarId>>,
    },
    /// Transform-only: a call to another function's pushforward.
    PushforwardCall {
        func: syn::Path,
        args: Vec<Atom>,
        refs: Vec<bool>,
        target: VarId,
        tangent: VarId,
        /// For each float argument (in order): its tangent variable, or `None` for zero.
        tangents: Vec<Option<VarId>>,
    },
    /// Transform-only, on scalars or whole arrays: with a `source`, `target += scale * source`
    /// element by element; without one, `target *= scale` in place.
    Axpy {
        target: VarId,
        scale: Expr,
        source: Option<VarId>,
    },
    /// Transform-only: set every element (or the scalar) to zero.
    Zero(VarId),
    /// Transform-only: `acc += dot(a[a_off + lo .. a_off + hi], b[b_off + lo .. b_off + hi])`
    /// (or `-=`), by the runtime's vectorised kernel.
    Dot {
        acc: VarId,
        negate: bool,
        a: VarId,
        a_off: Atom,
        b: VarId,
        b_off: Atom,
        lo: Atom,
        hi: Atom,
    },
    /// Transform-only: `y[y_off + k] += alpha * x[x_off + k]` for `k` in `lo..hi`, by the
    /// runtime's axpy kernel (exact, element by element).
    AxpySlice {
        alpha: Expr,
        x: VarId,
        x_off: Atom,
        y: VarId,
        y_off: Atom,
        lo: Atom,
        hi: Atom,
    },
    /// Transform-only: make `target` a zero vector as long as `like`.
    AllocLike { target: VarId, like: VarId },
}

/// A place that can be written: a variable or an array element.
#[derive(Clone, Debug, PartialEq)]
pub enum Place {
    /// A whole variable.
    Var(VarId),
    /// `array[index]`.
    Elem(VarId, Atom),
}

/// An expression tree, used by transforms for partial derivatives.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// An atom.
    Atom(Atom),
    /// `array[index]`.
    Index(VarId, Atom),
    /// `a + b`.
    Add(Box<Expr>, Box<Expr>),
    /// `a - b`.
    Sub(Box<Expr>, Box<Expr>),
    /// `a * b`.
    Mul(Box<Expr>, Box<Expr>),
    /// `a / b`.
    Div(Box<Expr>, Box<Expr>),
    /// `-a`.
    Neg(Box<Expr>),
    /// A float method applied to a receiver and arguments (`a.cos()`, `a.powf(b)`).
    Method(Prim, Vec<Expr>),
    /// `a.powi(n)` with an integer expression.
    Powi(Box<Expr>, Box<Expr>),
    /// An integer expression converted to the float type.
    IntToFloat(Box<Expr>),
    /// `n - 1` on integers.
    IntSub1(Box<Expr>),
    /// A comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `a || b` on booleans.
    Or(Box<Expr>, Box<Expr>),
    /// `a != a`: whether a float is NaN.
    IsNan(Box<Expr>),
    /// `if c { a } else { b }` on values.
    Select(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `if adj == 0 { 0 } else { adj * partial }`: a zero adjoint stays zero even where the
    /// partial derivative is infinite or NaN.
    GuardedMul(Box<Expr>, Box<Expr>),
    /// The sum of an array's elements.
    Sum(VarId),
    /// A named float constant: `LN_2` or `LN_10` of the function's float type.
    FloatConst(&'static str),
}

/// A sequence of statements.
pub type Block = Vec<Stmt>;

/// Where the function's result lives and what shape it is returned in.
#[derive(Clone, Debug, PartialEq)]
pub enum ResultShape {
    /// A float scalar.
    Scalar,
    /// `[T; M]`.
    Array(usize),
    /// A tuple of `n` floats (held internally in an array of length `n`).
    Tuple(usize),
    /// `Vec<T>`.
    Vec,
}

/// A lowered function.
#[derive(Clone, Debug)]
pub struct Function {
    /// The variable table.
    pub vars: Vec<VarInfo>,
    /// The parameters, in order (each also a variable).
    pub params: Vec<VarId>,
    /// The body.
    pub body: Block,
    /// The variable holding the result at the end of the body.
    pub result: VarId,
    /// The shape of the result.
    pub result_shape: ResultShape,
}

impl Function {
    /// The information about a variable.
    pub fn var(&self, v: VarId) -> &VarInfo {
        &self.vars[v.0]
    }

    /// Adds a variable and returns its id.
    pub fn add_var(&mut self, name: String, ty: Ty, span: Span, origin: Origin) -> VarId {
        self.vars.push(VarInfo {
            name,
            ty,
            span,
            origin,
            ident: None,
        });
        VarId(self.vars.len() - 1)
    }
}

impl Expr {
    /// A variable as an expression.
    pub fn var(v: VarId) -> Expr {
        Expr::Atom(Atom::Var(v))
    }
    /// A float literal as an expression.
    pub fn float(x: f64) -> Expr {
        Expr::Atom(Atom::Float(x))
    }
    /// An atom as an expression.
    pub fn atom(a: &Atom) -> Expr {
        Expr::Atom(a.clone())
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
