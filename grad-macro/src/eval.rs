//! Test-only interpreter for IR blocks: runs a lowered function, its forward-mode body or its
//! reverse-mode sweeps without compiling anything, with the semantics the generated Rust has.
//!
//! Values are `f64` scalars, integers (held as `i64`, with overflow, negative indices and
//! division by zero reported as errors, as debug-build Rust panics), `bool`s, and arrays of
//! floats or integers (`Vec`). Every variable starts at the zero of its type, exactly as code
//! generation declares it (`let mut v = 0.0;`, `[0.0; N]`, an empty `Vec`), and float
//! primitives call the very `f64` methods the generated code calls, so NaN, signed zero,
//! `max`/`min` and `powi` behave bit for bit as in the compiled companions.
//!
//! Every [`Stmt`], [`Op`] and [`Expr`] is supported, the transform-only ones included
//! (`Save`/`Restore` into scalar slots and stacks, `AddAssign`, `Set`, `Axpy`, `AxpySlice`,
//! `Dot` (with the runtime kernels' summation order), `Zero`, `AllocLike`, `Sum`,
//! `GuardedMul`, `Select`, ..). Calls (`Op::Call`, `PullbackCall`, `PushforwardCall`) go to the
//! functions of a [`Registry`], through the same transforms their `NAME_pullback` and
//! `NAME_pushforward` companions are made of; without a registry they are errors. Code the
//! generated Rust would not compile (the same `&mut` adjoint passed twice to one call) is an
//! error too.
//!
//! Besides values, a primal run can record a *branch trace*: every comparison, every
//! float-to-integer cast and the branch taken by each piecewise primitive (`abs`, `signum`,
//! `max`, `min`, `atan2`'s cut). Two runs with the same trace evaluate the same smooth
//! piece of the function, which is how the property tests tell a kink from a wrong
//! derivative.
//!
//! Entry points: [`primal`], [`reverse_gradient`], [`forward_tangent`]; for repeated runs
//! [`primal_run`], [`Reverse`] (gradients, and pullbacks with any seed and accumulating
//! buffers) and [`Forward`] (tangents of every result entry); the `_with` variants take a
//! [`Registry`] of callees. All share the [`Machine`].

use crate::forward;
use crate::ir::*;
use crate::reverse::{self, ArrayAdjoints, Slot};

/// A run-time value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A float scalar.
    F(f64),
    /// An integer (any Rust integer type).
    I(i64),
    /// A boolean.
    B(bool),
    /// An array, slice or vector of floats.
    FA(Vec<f64>),
    /// An array, slice or vector of integers.
    IA(Vec<i64>),
}

impl Value {
    /// The float inside, or an error naming `what`.
    pub fn float(&self, what: &str) -> Result<f64, EvalError> {
        match self {
            Value::F(x) => Ok(*x),
            other => err(format!("{what}: expected a float, found {other:?}")),
        }
    }
    fn int(&self, what: &str) -> Result<i64, EvalError> {
        match self {
            Value::I(i) => Ok(*i),
            other => err(format!("{what}: expected an integer, found {other:?}")),
        }
    }
    fn boolean(&self, what: &str) -> Result<bool, EvalError> {
        match self {
            Value::B(b) => Ok(*b),
            other => err(format!("{what}: expected a bool, found {other:?}")),
        }
    }
    /// The length of an array value.
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::FA(v) => Some(v.len()),
            Value::IA(v) => Some(v.len()),
            _ => None,
        }
    }
    /// The float elements of a float array, or the scalar as a one-element list.
    pub fn floats(&self) -> Vec<f64> {
        match self {
            Value::F(x) => vec![*x],
            Value::FA(v) => v.clone(),
            _ => Vec::new(),
        }
    }
}

/// Why a run stopped: something the generated code would not compile or would panic on.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalError(pub String);

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(msg.into()))
}

type R<T> = Result<T, EvalError>;

/// The zero value code generation declares a variable of type `ty` with.
pub fn zero_of(ty: Ty) -> Value {
    match ty {
        Ty::Float => Value::F(0.0),
        Ty::Int => Value::I(0),
        Ty::Bool => Value::B(false),
        Ty::FloatArray(ArrayKind::Fixed(n)) => Value::FA(vec![0.0; n]),
        Ty::IntArray(ArrayKind::Fixed(n)) => Value::IA(vec![0; n]),
        Ty::FloatArray(_) => Value::FA(Vec::new()),
        Ty::IntArray(_) => Value::IA(Vec::new()),
    }
}

/// A save slot's contents.
#[derive(Clone, Debug)]
enum SlotVal {
    Scalar(Value),
    Stack(Vec<Value>),
}

/// Most loop iterations a single `while` may run before the run is declared runaway.
const MAX_WHILE_TRIPS: usize = 100_000;
/// Most statements one run may execute.
const MAX_STEPS: usize = 5_000_000;

/// An interpreter state: the values of a function's variables and of its save slots.
pub struct Machine<'a> {
    f: &'a Function,
    /// The current value of every variable, indexed by [`VarId`].
    pub env: Vec<Value>,
    slots: Vec<SlotVal>,
    /// The branch trace, when recording (see the module documentation).
    pub trace: Option<Vec<i64>>,
    /// The largest magnitude of any float an `Assign` produced (a round-off scale; infinite
    /// when an intermediate overflowed or was NaN).
    pub max_abs: f64,
    steps: usize,
    /// The functions calls may go to (with their companions' transforms).
    pub calls: Option<&'a Registry>,
}

/// A function other functions call, with the transforms its companions are made of:
/// `NAME_pushforward` (forward mode, every float parameter) and `NAME_pullback` (reverse mode,
/// every float parameter, adding into the caller's adjoints).
pub struct Callee {
    /// The function.
    pub f: Function,
    fwd: std::cell::OnceCell<Forward>,
    rev: std::cell::OnceCell<Reverse>,
}

impl Callee {
    /// Prepares `f` to be called (its transforms are made when first needed).
    pub fn new(f: Function) -> Self {
        Callee {
            f,
            fwd: Default::default(),
            rev: Default::default(),
        }
    }

    fn float_params(&self) -> Vec<VarId> {
        let f = &self.f;
        f.params
            .iter()
            .copied()
            .filter(|p| f.var(*p).ty.is_float())
            .collect()
    }

    /// Its pushforward.
    pub fn fwd(&self) -> &Forward {
        self.fwd
            .get_or_init(|| Forward::new(&self.f, &self.float_params()))
    }

    /// Its pullback.
    pub fn rev(&self) -> &Reverse {
        self.rev.get_or_init(|| {
            Reverse::with_mode(
                &self.f,
                &self.float_params(),
                ArrayAdjoints::Accumulating,
                true,
            )
        })
    }
}

/// The callable functions, by name (the last segment of the called path).
pub type Registry = std::collections::HashMap<String, Callee>;

impl<'a> Machine<'a> {
    /// A machine for `f` with every variable at its zero and the given save slots empty.
    pub fn new(f: &'a Function, slots: &[Slot]) -> Self {
        let env = f.vars.iter().map(|v| zero_of(v.ty)).collect();
        let slots = slots
            .iter()
            .map(|s| {
                if s.stack {
                    SlotVal::Stack(Vec::new())
                } else {
                    SlotVal::Scalar(zero_of(s.ty))
                }
            })
            .collect();
        Machine {
            f,
            env,
            slots,
            trace: None,
            max_abs: 0.0,
            steps: 0,
            calls: None,
        }
    }

    /// Sets the parameters to `inputs` (one value per parameter, in order), checking types.
    pub fn set_params(&mut self, inputs: &[Value]) -> R<()> {
        if inputs.len() != self.f.params.len() {
            return err(format!(
                "{} inputs for {} parameters",
                inputs.len(),
                self.f.params.len()
            ));
        }
        for (p, v) in self.f.params.iter().zip(inputs) {
            let ty = self.f.var(*p).ty;
            let ok = matches!(
                (ty, v),
                (Ty::Float, Value::F(_)) | (Ty::Int, Value::I(_)) | (Ty::Bool, Value::B(_))
            ) || match (ty, v) {
                (Ty::FloatArray(k), Value::FA(x)) => {
                    k.len() == Len::Dynamic || k.len() == Len::Fixed(x.len())
                }
                (Ty::IntArray(k), Value::IA(x)) => {
                    k.len() == Len::Dynamic || k.len() == Len::Fixed(x.len())
                }
                _ => false,
            };
            if !ok {
                return err(format!(
                    "input {v:?} does not fit parameter `{}` of type {ty:?}",
                    self.f.var(*p).name
                ));
            }
            self.env[p.0] = v.clone();
        }
        Ok(())
    }

    /// The function a call goes to.
    fn callee(&self, func: &syn::Path) -> R<&'a Callee> {
        let name = func
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        self.calls
            .and_then(|r| r.get(&name))
            .ok_or_else(|| EvalError(format!("call to unknown function `{name}`")))
    }

    /// The values of a companion call's arguments, checked to have one tangent or adjoint
    /// (`given`) per float argument and per differentiated parameter of the callee (`wanted`).
    fn call_args(&self, args: &[Atom], given: usize, wanted: usize, what: &str) -> R<Vec<Value>> {
        let vals: Vec<Value> = args.iter().map(|a| self.atom(a)).collect::<R<_>>()?;
        let floats = float_values(&vals).len();
        if floats != given || given != wanted {
            return err(format!(
                "companion call with {given} {what} for {floats} float arguments"
            ));
        }
        Ok(vals)
    }

    fn note(&mut self, x: i64) {
        if let Some(t) = &mut self.trace {
            t.push(x);
        }
    }

    fn name(&self, v: VarId) -> &str {
        &self.f.var(v).name
    }

    // ----- atoms and places ------------------------------------------------------------

    fn atom(&self, a: &Atom) -> R<Value> {
        Ok(match a {
            Atom::Var(v) => self.env[v.0].clone(),
            Atom::Float(x) => Value::F(*x),
            Atom::Int(i) => Value::I(*i),
            Atom::Bool(b) => Value::B(*b),
        })
    }

    fn atom_f(&self, a: &Atom) -> R<f64> {
        match a {
            Atom::Float(x) => Ok(*x),
            Atom::Var(v) => self.env[v.0].float(self.name(*v)),
            other => err(format!("expected a float operand, found {other}")),
        }
    }

    fn atom_i(&self, a: &Atom) -> R<i64> {
        match a {
            Atom::Int(i) => Ok(*i),
            Atom::Var(v) => self.env[v.0].int(self.name(*v)),
            other => err(format!("expected an integer operand, found {other}")),
        }
    }

    fn index_of(&self, array: VarId, i: i64) -> R<usize> {
        let len = self.env[array.0].len().ok_or_else(|| {
            EvalError(format!(
                "`{}` indexed but is not an array",
                self.name(array)
            ))
        })?;
        if i < 0 || i as usize >= len {
            return err(format!(
                "index out of bounds: `{}[{i}]` with length {len}",
                self.name(array)
            ));
        }
        Ok(i as usize)
    }

    fn read_elem(&self, array: VarId, index: &Atom) -> R<Value> {
        let i = self.index_of(array, self.atom_i(index)?)?;
        Ok(match &self.env[array.0] {
            Value::FA(v) => Value::F(v[i]),
            Value::IA(v) => Value::I(v[i]),
            _ => unreachable!("index_of checked the array"),
        })
    }

    fn read_place(&self, p: &Place) -> R<Value> {
        match p {
            Place::Var(v) => Ok(self.env[v.0].clone()),
            Place::Elem(v, i) => self.read_elem(*v, i),
        }
    }

    fn write_place(&mut self, p: &Place, value: Value) -> R<()> {
        match p {
            Place::Var(v) => {
                let ty = self.f.var(*v).ty;
                let fits = matches!(
                    (ty, &value),
                    (Ty::Float, Value::F(_))
                        | (Ty::Int, Value::I(_))
                        | (Ty::Bool, Value::B(_))
                        | (Ty::FloatArray(_), Value::FA(_))
                        | (Ty::IntArray(_), Value::IA(_))
                );
                if !fits {
                    return err(format!(
                        "type mismatch: `{}` of type {ty:?} assigned {value:?}",
                        self.name(*v)
                    ));
                }
                if let (
                    Ty::FloatArray(ArrayKind::Fixed(n)) | Ty::IntArray(ArrayKind::Fixed(n)),
                    Some(m),
                ) = (ty, value.len())
                {
                    if n != m {
                        return err(format!(
                            "`{}: [_; {n}]` assigned an array of length {m}",
                            self.name(*v)
                        ));
                    }
                }
                self.env[v.0] = value;
                Ok(())
            }
            Place::Elem(v, i) => {
                let i = self.index_of(*v, self.atom_i(i)?)?;
                let name = self.name(*v).to_string();
                match (&mut self.env[v.0], value) {
                    (Value::FA(a), Value::F(x)) => a[i] = x,
                    (Value::IA(a), Value::I(x)) => a[i] = x,
                    (_, value) => {
                        return err(format!(
                            "type mismatch: element of `{name}` assigned {value:?}"
                        ))
                    }
                }
                Ok(())
            }
        }
    }

    // ----- operations ------------------------------------------------------------------

    fn prim(&mut self, p: Prim, args: &[Atom]) -> R<f64> {
        let arity = match p {
            Prim::Neg => 1,
            Prim::Add | Prim::Sub | Prim::Mul | Prim::Div => 2,
            other => Prim::from_method(other.method_name())
                .map(|(_, n)| n)
                .unwrap_or(0),
        };
        if args.len() != arity {
            return err(format!("{p:?} applied to {} operands", args.len()));
        }
        if p == Prim::Powi {
            let a = self.atom_f(&args[0])?;
            let n = self.atom_i(&args[1])?;
            return Ok(a.powi(to_i32(n)?));
        }
        let x: Vec<f64> = args.iter().map(|a| self.atom_f(a)).collect::<R<_>>()?;
        // The branch each piecewise primitive takes.
        match p {
            Prim::Abs | Prim::Signum => self.note(sign_class(x[0])),
            Prim::Max => self.note(if x[0] > x[1] {
                1
            } else if x[0] == x[1] {
                2
            } else {
                0
            }),
            Prim::Min => self.note(if x[0] < x[1] {
                1
            } else if x[0] == x[1] {
                2
            } else {
                0
            }),
            Prim::Atan2 => self.note(i64::from(x[1] < 0.0 && x[0] < 0.0)),
            _ => {}
        }
        Ok(apply_prim(p, &x, None))
    }

    fn op(&mut self, target: VarId, op: &Op) -> R<Value> {
        Ok(match op {
            Op::Copy(a) => self.atom(a)?,
            Op::Prim(p, args) => Value::F(self.prim(*p, args)?),
            Op::Int(iop, args) => {
                let x: Vec<i64> = args.iter().map(|a| self.atom_i(a)).collect::<R<_>>()?;
                Value::I(int_op(*iop, &x)?)
            }
            Op::Cmp(c, a, b) => {
                let r = compare(*c, &self.atom(a)?, &self.atom(b)?)?;
                self.note(i64::from(r));
                Value::B(r)
            }
            Op::Bool(bop, args) => {
                let x: Vec<bool> = args
                    .iter()
                    .map(|a| self.atom(a)?.boolean("boolean operand"))
                    .collect::<R<_>>()?;
                Value::B(match (bop, x.as_slice()) {
                    (BoolOp::And, [a, b]) => *a && *b,
                    (BoolOp::Or, [a, b]) => *a || *b,
                    (BoolOp::Not, [a]) => !*a,
                    _ => return err(format!("{bop:?} applied to {} operands", x.len())),
                })
            }
            Op::Cast { value, to, to_name } => {
                let v = self.atom(value)?;
                match (to, v) {
                    (Ty::Float, Value::I(i)) => Value::F(i as f64),
                    (Ty::Float, Value::F(x)) => Value::F(x),
                    (Ty::Int, Value::F(x)) => {
                        let i = float_to_int(x, to_name)?;
                        self.note(i);
                        Value::I(i)
                    }
                    (Ty::Int, Value::I(i)) => Value::I(int_to_int(i, to_name)?),
                    (Ty::Int, Value::B(b)) => Value::I(i64::from(b)),
                    (to, v) => return err(format!("unsupported cast of {v:?} to {to:?}")),
                }
            }
            Op::Index { array, index } => self.read_elem(*array, index)?,
            Op::Len(v) => {
                Value::I(self.env[v.0].len().ok_or_else(|| {
                    EvalError(format!("`.len()` of non-array `{}`", self.name(*v)))
                })? as i64)
            }
            Op::ArrayLit { elems, .. } => {
                let vals: Vec<Value> = elems.iter().map(|a| self.atom(a)).collect::<R<_>>()?;
                array_of(vals, self.f.var(target).ty)?
            }
            Op::Repeat { value, count, .. } => {
                let n = self.atom_i(count)?;
                if n < 0 {
                    return err(format!("negative repeat count {n}"));
                }
                let v = self.atom(value)?;
                array_of(vec![v; n as usize], self.f.var(target).ty)?
            }
            Op::Call { func, args, .. } => {
                let callee = self.callee(func)?;
                let vals: Vec<Value> = args.iter().map(|a| self.atom(a)).collect::<R<_>>()?;
                let r = primal_run_with(&callee.f, &vals, self.calls)?;
                if let Some(t) = &mut self.trace {
                    t.push(-1);
                    t.extend(r.trace);
                }
                self.max_abs = self.max_abs.max(r.max_abs);
                match (callee.f.result_shape.clone(), self.f.var(target).ty) {
                    (ResultShape::Scalar, Ty::Float) => Value::F(r.value),
                    (
                        ResultShape::Array(_) | ResultShape::Tuple(_) | ResultShape::Vec,
                        Ty::FloatArray(_),
                    ) => Value::FA(r.outputs),
                    (shape, ty) => return err(format!("a {shape:?} result assigned to {ty:?}")),
                }
            }
            Op::Const(text) => named_const(text)?,
        })
    }

    // ----- expressions -----------------------------------------------------------------

    /// Evaluates a transform expression.
    pub fn expr(&mut self, e: &Expr) -> R<Value> {
        let f = |m: &mut Self, e: &Expr| m.expr(e)?.float("expression operand");
        Ok(match e {
            Expr::Atom(a) => self.atom(a)?,
            Expr::Index(v, i) => self.read_elem(*v, i)?,
            Expr::Add(a, b) => Value::F(f(self, a)? + f(self, b)?),
            Expr::Sub(a, b) => Value::F(f(self, a)? - f(self, b)?),
            Expr::Mul(a, b) => Value::F(f(self, a)? * f(self, b)?),
            Expr::Div(a, b) => Value::F(f(self, a)? / f(self, b)?),
            Expr::Neg(a) => Value::F(-f(self, a)?),
            Expr::Method(p, args) => {
                if *p == Prim::Powi {
                    let [a, n] = args.as_slice() else {
                        return err("powi takes two operands");
                    };
                    let a = f(self, a)?;
                    let n = self.expr(n)?.int("powi exponent")?;
                    return Ok(Value::F(a.powi(to_i32(n)?)));
                }
                let x: Vec<f64> = args.iter().map(|a| f(self, a)).collect::<R<_>>()?;
                if Prim::from_method(p.method_name()).map(|(_, n)| n) != Some(x.len()) {
                    return err(format!("method {p:?} applied to {} operands", x.len()));
                }
                Value::F(apply_prim(*p, &x, None))
            }
            Expr::Powi(a, n) => {
                let a = f(self, a)?;
                let n = self.expr(n)?.int("powi exponent")?;
                Value::F(a.powi(to_i32(n)?))
            }
            Expr::IntToFloat(n) => Value::F(self.expr(n)?.int("int to float")? as f64),
            Expr::IntSub1(n) => {
                let n = self.expr(n)?.int("n - 1")?;
                Value::I(
                    n.checked_sub(1)
                        .ok_or_else(|| EvalError("integer overflow in `n - 1`".into()))?,
                )
            }
            Expr::Cmp(c, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                Value::B(compare(*c, &a, &b)?)
            }
            Expr::Or(a, b) => {
                Value::B(self.expr(a)?.boolean("`||`")? || self.expr(b)?.boolean("`||`")?)
            }
            Expr::IsNan(a) => Value::B(f(self, a)?.is_nan()),
            Expr::Select(c, a, b) => {
                if self.expr(c)?.boolean("select condition")? {
                    self.expr(a)?
                } else {
                    self.expr(b)?
                }
            }
            Expr::GuardedMul(adj, p) => {
                let scale = f(self, adj)?;
                if scale == 0.0 {
                    Value::F(0.0)
                } else {
                    Value::F(scale * f(self, p)?)
                }
            }
            Expr::Sum(v) => match &self.env[v.0] {
                Value::FA(a) => Value::F(a.iter().sum::<f64>()),
                other => return err(format!("sum of non-float-array {other:?}")),
            },
            Expr::FloatConst(name) => match *name {
                "LN_2" => Value::F(std::f64::consts::LN_2),
                "LN_10" => Value::F(std::f64::consts::LN_10),
                other => named_const(other)?,
            },
        })
    }

    // ----- statements ------------------------------------------------------------------

    /// Runs a block.
    pub fn run(&mut self, block: &Block) -> R<()> {
        for s in block {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return err("step budget exhausted");
        }
        match s {
            Stmt::Assign { target, op, .. } => {
                let v = self.op(*target, op)?;
                if let Value::F(x) = v {
                    // Non-finite intermediates count as infinitely large.
                    self.max_abs =
                        self.max_abs
                            .max(if x.is_nan() { f64::INFINITY } else { x.abs() });
                }
                self.write_place(&Place::Var(*target), v)
            }
            Stmt::Accumulate {
                target,
                value,
                negate,
                ..
            } => {
                let old = self.env[target.0].float(self.name(*target))?;
                let v = self.atom_f(value)?;
                self.env[target.0] = Value::F(if *negate { old - v } else { old + v });
                Ok(())
            }
            Stmt::Store {
                array,
                index,
                value,
                ..
            } => {
                let v = self.atom(value)?;
                self.write_place(&Place::Elem(*array, index.clone()), v)
            }
            Stmt::If { cond, then, els } => {
                if self.atom(cond)?.boolean("`if` condition")? {
                    self.run(then)
                } else {
                    self.run(els)
                }
            }
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
            } => {
                let (lo, hi) = (self.atom_i(lo)?, self.atom_i(hi)?);
                if *rev {
                    for i in (lo..hi).rev() {
                        self.env[var.0] = Value::I(i);
                        self.run(body)?;
                    }
                } else {
                    for i in lo..hi {
                        self.env[var.0] = Value::I(i);
                        self.run(body)?;
                    }
                }
                Ok(())
            }
            Stmt::While {
                cond_block,
                cond,
                body,
            } => {
                let mut trips = 0usize;
                loop {
                    self.run(cond_block)?;
                    if !self.atom(cond)?.boolean("`while` condition")? {
                        return Ok(());
                    }
                    trips += 1;
                    if trips > MAX_WHILE_TRIPS {
                        return err("runaway `while` loop");
                    }
                    self.run(body)?;
                }
            }
            Stmt::AddAssign { target, expr } => {
                let old = self.read_place(target)?.float("`+=` target")?;
                let v = self.expr(expr)?.float("`+=` value")?;
                self.write_place(target, Value::F(old + v))
            }
            Stmt::Set { target, expr } => {
                let v = self.expr(expr)?;
                self.write_place(target, v)
            }
            Stmt::Save { slot, place } => {
                let v = self.read_place(place)?;
                match &mut self.slots[slot.0] {
                    SlotVal::Stack(s) => s.push(v),
                    SlotVal::Scalar(s) => *s = v,
                }
                Ok(())
            }
            Stmt::Restore { slot, place } => {
                let v = match &mut self.slots[slot.0] {
                    SlotVal::Stack(s) => s.pop().ok_or_else(|| {
                        EvalError(format!("save stack {} popped while empty", slot.0))
                    })?,
                    SlotVal::Scalar(s) => s.clone(),
                };
                self.write_place(place, v)
            }
            Stmt::PushforwardCall {
                func,
                args,
                target,
                tangent,
                tangents,
                ..
            } => {
                // `(target, tangent) = NAME_pushforward(args.., tangents..)`; a missing tangent
                // is a zero of the argument's shape.
                let callee = self.callee(func)?;
                let vals =
                    self.call_args(args, tangents.len(), callee.fwd().wrt.len(), "tangents")?;
                let float_args = float_values(&vals);
                let dir: Vec<Value> = float_args
                    .iter()
                    .zip(tangents)
                    .map(|(v, t)| match t {
                        Some(t) => self.env[t.0].clone(),
                        None => zero_like(v),
                    })
                    .collect();
                let run = callee.fwd().run_with(&vals, &dir, self.calls)?;
                let shape = |xs: Vec<f64>| match callee.f.result_shape {
                    ResultShape::Scalar => Value::F(xs[0]),
                    _ => Value::FA(xs),
                };
                self.write_place(&Place::Var(*target), shape(run.outputs))?;
                self.write_place(&Place::Var(*tangent), shape(run.tangents))
            }
            Stmt::PullbackCall {
                func,
                args,
                seed,
                adjoints,
                ..
            } => {
                // `NAME_pullback(args.., seed, &mut adjoints..)`: adds seed^T J into each
                // adjoint (a dummy buffer where there is none).
                let callee = self.callee(func)?;
                let vals =
                    self.call_args(args, adjoints.len(), callee.rev().wrt.len(), "adjoints")?;
                let float_args = float_values(&vals);
                // `&mut adj` twice in one call does not compile (E0499).
                let mut seen = std::collections::HashSet::new();
                if let Some(a) = adjoints.iter().flatten().find(|a| !seen.insert(**a)) {
                    return err(format!(
                        "the pullback call would borrow `{}` mutably twice (E0499: does not compile)",
                        self.name(*a)
                    ));
                }
                let mut initial = Vec::new();
                let mut sizes = Vec::new();
                for (v, a) in float_args.iter().zip(adjoints) {
                    let buf = match a {
                        Some(a) => self.env[a.0].floats(),
                        None => zero_like(v).floats(),
                    };
                    if buf.len() != v.floats().len() {
                        return err(format!(
                            "adjoint buffer of length {} for an argument of length {}",
                            buf.len(),
                            v.floats().len()
                        ));
                    }
                    sizes.push(buf.len());
                    initial.extend(buf);
                }
                let seed = self.env[seed.0].floats();
                let (_, out) =
                    callee
                        .rev()
                        .pullback_with(&vals, &seed, Some(&initial), self.calls)?;
                let mut off = 0;
                for (a, n) in adjoints.iter().zip(sizes) {
                    if let Some(a) = a {
                        let part = out[off..off + n].to_vec();
                        let v = match self.env[a.0] {
                            Value::F(_) => Value::F(part[0]),
                            _ => Value::FA(part),
                        };
                        self.env[a.0] = v;
                    }
                    off += n;
                }
                Ok(())
            }
            Stmt::Axpy {
                target,
                scale,
                source,
            } => {
                let scale = self.expr(scale)?.float("axpy scale")?;
                let src = match source {
                    Some(s) => Some(self.env[s.0].clone()),
                    None => None,
                };
                let name = self.name(*target).to_string();
                match (&mut self.env[target.0], src) {
                    (Value::F(t), Some(Value::F(s))) => *t += scale * s,
                    (Value::F(t), None) => *t *= scale,
                    // `for (out, part) in t.iter_mut().zip(s.iter())`: the shorter length wins.
                    (Value::FA(t), Some(Value::FA(s))) => {
                        for (out, part) in t.iter_mut().zip(s.iter()) {
                            *out += scale * *part;
                        }
                    }
                    (Value::FA(t), None) => {
                        for out in t.iter_mut() {
                            *out *= scale;
                        }
                    }
                    (t, s) => return err(format!("axpy on `{name}` = {t:?} with source {s:?}")),
                }
                Ok(())
            }
            Stmt::Zero(v) => {
                let name = self.name(*v).to_string();
                match &mut self.env[v.0] {
                    Value::F(x) => *x = 0.0,
                    Value::FA(a) => a.iter_mut().for_each(|x| *x = 0.0),
                    other => return err(format!("zeroing non-float `{name}` = {other:?}")),
                }
                Ok(())
            }
            Stmt::Dot {
                acc,
                negate,
                a,
                a_off,
                b,
                b_off,
                lo,
                hi,
            } => {
                // `if lo < hi { acc += kernels::dot(&a[ao + lo..ao + hi], &b[bo + lo..bo + hi]) }`
                let (lo, hi) = (self.atom_i(lo)?, self.atom_i(hi)?);
                if lo >= hi {
                    return Ok(());
                }
                let slice = |m: &Self, v: VarId, off: &Atom| -> R<Vec<f64>> {
                    let off = m.atom_i(off)?;
                    let (s, e) = (off + lo, off + hi);
                    match &m.env[v.0] {
                        Value::FA(x) if s >= 0 && e as usize <= x.len() => {
                            Ok(x[s as usize..e as usize].to_vec())
                        }
                        other => err(format!(
                            "dot: slice {s}..{e} of `{}` = {other:?}",
                            m.name(v)
                        )),
                    }
                };
                let (x, y) = (slice(self, *a, a_off)?, slice(self, *b, b_off)?);
                let d = dot_kernel(&x, &y);
                let old = self.env[acc.0].float(self.name(*acc))?;
                self.env[acc.0] = Value::F(if *negate { old - d } else { old + d });
                Ok(())
            }
            Stmt::AxpySlice {
                alpha,
                x,
                x_off,
                y,
                y_off,
                lo,
                hi,
            } => {
                // `if lo < hi { kernels::axpy(alpha, &x[xo + lo..xo + hi], &mut y[yo + lo..yo + hi]) }`
                let (lo, hi) = (self.atom_i(lo)?, self.atom_i(hi)?);
                if lo >= hi {
                    return Ok(());
                }
                if x == y {
                    return err(format!(
                        "axpy reads and writes `{}` (does not compile)",
                        self.name(*x)
                    ));
                }
                let alpha = self.expr(alpha)?.float("axpy scale")?;
                let (xo, yo) = (self.atom_i(x_off)?, self.atom_i(y_off)?);
                let src = match &self.env[x.0] {
                    Value::FA(v) if xo + lo >= 0 && (xo + hi) as usize <= v.len() => {
                        v[(xo + lo) as usize..(xo + hi) as usize].to_vec()
                    }
                    other => {
                        return err(format!(
                            "axpy: slice {}..{} of `{}` = {other:?}",
                            xo + lo,
                            xo + hi,
                            self.name(*x)
                        ))
                    }
                };
                let name = self.name(*y).to_string();
                match &mut self.env[y.0] {
                    Value::FA(v) if yo + lo >= 0 && (yo + hi) as usize <= v.len() => {
                        for (out, u) in v[(yo + lo) as usize..(yo + hi) as usize]
                            .iter_mut()
                            .zip(&src)
                        {
                            *out += alpha * u;
                        }
                    }
                    other => {
                        return err(format!(
                            "axpy: slice {}..{} of `{name}` = {other:?}",
                            yo + lo,
                            yo + hi
                        ))
                    }
                }
                Ok(())
            }
            Stmt::AllocLike { target, like } => {
                let v = match self.f.var(*target).ty {
                    Ty::FloatArray(ArrayKind::Fixed(n)) => Value::FA(vec![0.0; n]),
                    Ty::FloatArray(_) => {
                        let n = self.env[like.0].len().ok_or_else(|| {
                            EvalError(format!("AllocLike of non-array `{}`", self.name(*like)))
                        })?;
                        Value::FA(vec![0.0; n])
                    }
                    other => return err(format!("AllocLike of {other:?}")),
                };
                self.env[target.0] = v;
                Ok(())
            }
        }
    }
}

/// `grad_runtime::kernels::dot`, with the same summation order: four accumulators for
/// vectors shorter than 32, else eight lanes summed in order and then the tail.
pub fn dot_kernel(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < 32 {
        let mut acc = [0.0f64; 4];
        let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (xa, xb) in ca.zip(cb) {
            for ((s, &u), &v) in acc.iter_mut().zip(xa).zip(xb) {
                *s += u * v;
            }
        }
        let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (&u, &v) in ra.iter().zip(rb) {
            sum += u * v;
        }
        return sum;
    }
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for ((s, &u), &v) in acc.iter_mut().zip(xa).zip(xb) {
            *s += u * v;
        }
    }
    let mut tail = 0.0;
    for (&u, &v) in ra.iter().zip(rb) {
        tail += u * v;
    }
    let mut sum = acc[0];
    for &s in &acc[1..] {
        sum += s;
    }
    sum + tail
}

/// A zero of the same shape as `v`.
fn zero_like(v: &Value) -> Value {
    match v {
        Value::FA(x) => Value::FA(vec![0.0; x.len()]),
        Value::IA(x) => Value::IA(vec![0; x.len()]),
        Value::I(_) => Value::I(0),
        Value::B(_) => Value::B(false),
        Value::F(_) => Value::F(0.0),
    }
}

fn sign_class(x: f64) -> i64 {
    if x > 0.0 {
        1
    } else if x == 0.0 {
        2
    } else if x < 0.0 {
        0
    } else {
        3
    }
}

fn to_i32(n: i64) -> R<i32> {
    i32::try_from(n).map_err(|_| EvalError(format!("powi exponent {n} does not fit in i32")))
}

/// A primitive applied to float operands, through the same `f64` methods the generated code
/// calls. (`Powi`'s integer exponent is passed as `n`, or as the second float operand.)
pub fn apply_prim(p: Prim, x: &[f64], n: Option<i32>) -> f64 {
    use Prim::*;
    match p {
        Neg => -x[0],
        Add => x[0] + x[1],
        Sub => x[0] - x[1],
        Mul => x[0] * x[1],
        Div => x[0] / x[1],
        Powi => x[0].powi(n.unwrap_or_else(|| x[1] as i32)),
        Powf => x[0].powf(x[1]),
        Sqrt => x[0].sqrt(),
        Cbrt => x[0].cbrt(),
        Exp => x[0].exp(),
        Exp2 => x[0].exp2(),
        Ln => x[0].ln(),
        Log2 => x[0].log2(),
        Log10 => x[0].log10(),
        Ln1p => x[0].ln_1p(),
        ExpM1 => x[0].exp_m1(),
        Sin => x[0].sin(),
        Cos => x[0].cos(),
        Tan => x[0].tan(),
        Asin => x[0].asin(),
        Acos => x[0].acos(),
        Atan => x[0].atan(),
        Atan2 => x[0].atan2(x[1]),
        Sinh => x[0].sinh(),
        Cosh => x[0].cosh(),
        Tanh => x[0].tanh(),
        Abs => x[0].abs(),
        Signum => x[0].signum(),
        Max => x[0].max(x[1]),
        Min => x[0].min(x[1]),
        Recip => x[0].recip(),
        MulAdd => x[0].mul_add(x[1], x[2]),
        Hypot => x[0].hypot(x[1]),
    }
}

fn int_op(op: IntOp, x: &[i64]) -> R<i64> {
    let overflow = || {
        EvalError(format!(
            "integer overflow or division by zero in {op:?} {x:?}"
        ))
    };
    match (op, x) {
        (IntOp::Add, [a, b]) => a.checked_add(*b).ok_or_else(overflow),
        (IntOp::Sub, [a, b]) => a.checked_sub(*b).ok_or_else(overflow),
        (IntOp::Mul, [a, b]) => a.checked_mul(*b).ok_or_else(overflow),
        (IntOp::Div, [a, b]) => a.checked_div(*b).ok_or_else(overflow),
        (IntOp::Rem, [a, b]) => a.checked_rem(*b).ok_or_else(overflow),
        (IntOp::Neg, [a]) => a.checked_neg().ok_or_else(overflow),
        _ => err(format!("{op:?} applied to {} operands", x.len())),
    }
}

fn compare(c: CmpOp, a: &Value, b: &Value) -> R<bool> {
    fn cmp<T: PartialOrd>(c: CmpOp, a: T, b: T) -> bool {
        match c {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }
    match (a, b) {
        (Value::F(x), Value::F(y)) => Ok(cmp(c, *x, *y)),
        (Value::I(x), Value::I(y)) => Ok(cmp(c, *x, *y)),
        (Value::B(x), Value::B(y)) => Ok(cmp(c, *x, *y)),
        (a, b) => err(format!("cannot compare {a:?} with {b:?}")),
    }
}

/// The range of a Rust integer type, by name (`i64` stands in for the unknown ones).
fn int_range(name: &str) -> R<(i128, i128)> {
    Ok(match name.trim() {
        "u8" => (0, u8::MAX as i128),
        "u16" => (0, u16::MAX as i128),
        "u32" => (0, u32::MAX as i128),
        "u64" | "usize" => (0, i64::MAX as i128),
        "i8" => (i8::MIN as i128, i8::MAX as i128),
        "i16" => (i16::MIN as i128, i16::MAX as i128),
        "i32" => (i32::MIN as i128, i32::MAX as i128),
        "i64" | "isize" => (i64::MIN as i128, i64::MAX as i128),
        other => return err(format!("cast to `{other}` is not modelled")),
    })
}

/// `x as T`: saturating, NaN to 0.
fn float_to_int(x: f64, name: &str) -> R<i64> {
    let (lo, hi) = int_range(name)?;
    if x.is_nan() {
        return Ok(0);
    }
    let t = x.trunc();
    Ok(if t <= lo as f64 {
        lo as i64
    } else if t >= hi as f64 {
        hi as i64
    } else {
        t as i64
    })
}

/// `i as T` between integers: wraps to the target's width.
fn int_to_int(i: i64, name: &str) -> R<i64> {
    let (lo, hi) = int_range(name)?;
    if (i as i128) >= lo && (i as i128) <= hi {
        return Ok(i);
    }
    let width = hi - lo + 1;
    let wrapped = ((i as i128 - lo).rem_euclid(width)) + lo;
    Ok(wrapped as i64)
}

fn array_of(vals: Vec<Value>, ty: Ty) -> R<Value> {
    match ty {
        Ty::FloatArray(_) => vals
            .into_iter()
            .map(|v| v.float("array element"))
            .collect::<R<_>>()
            .map(Value::FA),
        Ty::IntArray(_) => vals
            .into_iter()
            .map(|v| v.int("array element"))
            .collect::<R<_>>()
            .map(Value::IA),
        other => err(format!("array literal assigned to {other:?}")),
    }
}

/// The value of a constant path (`std::f64::consts::PI`, `f64::EPSILON`).
fn named_const(text: &str) -> R<Value> {
    use std::f64::consts as c;
    let last = text.rsplit("::").next().unwrap_or(text).trim();
    Ok(Value::F(match last {
        "PI" => c::PI,
        "TAU" => c::TAU,
        "E" => c::E,
        "SQRT_2" => c::SQRT_2,
        "FRAC_1_SQRT_2" => c::FRAC_1_SQRT_2,
        "LN_2" => c::LN_2,
        "LN_10" => c::LN_10,
        "LOG2_E" => c::LOG2_E,
        "LOG10_E" => c::LOG10_E,
        "LOG2_10" => c::LOG2_10,
        "LOG10_2" => c::LOG10_2,
        "FRAC_PI_2" => c::FRAC_PI_2,
        "FRAC_PI_3" => c::FRAC_PI_3,
        "FRAC_PI_4" => c::FRAC_PI_4,
        "FRAC_PI_6" => c::FRAC_PI_6,
        "FRAC_PI_8" => c::FRAC_PI_8,
        "FRAC_1_PI" => c::FRAC_1_PI,
        "FRAC_2_PI" => c::FRAC_2_PI,
        "FRAC_2_SQRT_PI" => c::FRAC_2_SQRT_PI,
        "EPSILON" => f64::EPSILON,
        "MAX" => f64::MAX,
        "MIN" => f64::MIN,
        "MIN_POSITIVE" => f64::MIN_POSITIVE,
        "INFINITY" => f64::INFINITY,
        "NEG_INFINITY" => f64::NEG_INFINITY,
        "NAN" => f64::NAN,
        _ => return err(format!("unknown constant `{text}`")),
    }))
}

// ----- entry points ----------------------------------------------------------------------

/// The result of a primal run.
pub struct PrimalRun {
    /// The function's value (its first entry, for an array result).
    pub value: f64,
    /// Every entry of the result (one for a scalar).
    pub outputs: Vec<f64>,
    /// The branch trace.
    pub trace: Vec<i64>,
    /// The largest magnitude of an intermediate float.
    pub max_abs: f64,
}

/// The entries of a result value (a scalar is one entry).
fn outputs_of(v: &Value) -> R<Vec<f64>> {
    match v {
        Value::F(x) => Ok(vec![*x]),
        Value::FA(x) => Ok(x.clone()),
        other => err(format!(
            "the result is not a float or float array: {other:?}"
        )),
    }
}

/// Runs the function on `inputs` (one value per parameter), recording the branch trace.
pub fn primal_run(f: &Function, inputs: &[Value]) -> R<PrimalRun> {
    primal_run_with(f, inputs, None)
}

/// [`primal_run`] for a function that calls the functions in `calls`.
pub fn primal_run_with(f: &Function, inputs: &[Value], calls: Option<&Registry>) -> R<PrimalRun> {
    let mut m = Machine::new(f, &[]);
    m.calls = calls;
    m.trace = Some(Vec::new());
    m.set_params(inputs)?;
    m.run(&f.body)?;
    let outputs = outputs_of(&m.env[f.result.0])?;
    let value = outputs.first().copied().unwrap_or(f64::NAN);
    Ok(PrimalRun {
        value,
        outputs,
        trace: m.trace.take().unwrap_or_default(),
        max_abs: m.max_abs,
    })
}

/// The function's value at `inputs`.
pub fn primal(f: &Function, inputs: &[Value]) -> R<f64> {
    primal_run(f, inputs).map(|r| r.value)
}

/// A reverse transform ready to run many times.
pub struct Reverse {
    /// The function with the transform's variables added.
    pub f: Function,
    /// The transform's output.
    pub code: reverse::ReverseCode,
    /// The parameters differentiated.
    pub wrt: Vec<VarId>,
    /// How array parameters' adjoints are held.
    pub mode: ArrayAdjoints,
}

impl Reverse {
    /// Transforms `f` for `wrt` as `NAME_grad_into` does (zeroed array adjoints); `reassociate`
    /// is the macro's default (`false` is `#[derive_gradient(strict)]`).
    pub fn new(f: &Function, wrt: &[VarId], reassociate: bool) -> Self {
        Self::with_mode(f, wrt, ArrayAdjoints::Zeroed, reassociate)
    }

    /// Transforms `f` for `wrt` with the given handling of array adjoints
    /// (`Accumulating` is `NAME_pullback`).
    pub fn with_mode(f: &Function, wrt: &[VarId], mode: ArrayAdjoints, reassociate: bool) -> Self {
        let mut g = f.clone();
        let code = reverse::transform(&mut g, wrt, mode, reassociate);
        Reverse {
            f: g,
            code,
            wrt: wrt.to_vec(),
            mode,
        }
    }

    /// Runs it as `NAME_grad_into` does: forward sweep, seed 1, reverse sweep; returns the
    /// value (read after the reverse sweep, as the generated code returns it) and the
    /// gradient flattened over `wrt` in order.
    pub fn gradient(&self, inputs: &[Value]) -> R<(f64, Vec<f64>)> {
        let (v, g) = self.pullback(inputs, &[1.0], None)?;
        Ok((v.first().copied().unwrap_or(f64::NAN), g))
    }

    /// Runs it as the generated companion does, with `seed` (one entry per result entry) and,
    /// in `Accumulating` mode, the caller's adjoint buffers holding `initial` (flattened over
    /// `wrt`, like the gradient; zeros when `None`). Returns the result's entries and what
    /// the caller's buffers hold afterwards (flattened over `wrt`): in `Zeroed` mode the
    /// gradient `seed^T J`, in `Accumulating` mode `initial + seed^T J`.
    pub fn pullback(
        &self,
        inputs: &[Value],
        seed: &[f64],
        initial: Option<&[f64]>,
    ) -> R<(Vec<f64>, Vec<f64>)> {
        self.pullback_with(inputs, seed, initial, None)
    }

    /// [`Reverse::pullback`] for a function that calls the functions in `calls`.
    pub fn pullback_with(
        &self,
        inputs: &[Value],
        seed: &[f64],
        initial: Option<&[f64]>,
        calls: Option<&Registry>,
    ) -> R<(Vec<f64>, Vec<f64>)> {
        let f = &self.f;
        let mut m = Machine::new(f, &self.code.slots);
        m.calls = calls;
        m.set_params(inputs)?;
        let sizes: Vec<usize> = self.wrt.iter().map(|p| m.env[p.0].floats().len()).collect();
        let total: usize = sizes.iter().sum();
        let initial: Vec<f64> = match (initial, self.mode) {
            (Some(v), ArrayAdjoints::Accumulating) if v.len() == total => v.to_vec(),
            (Some(_), _) => {
                return err("initial adjoints need Accumulating mode and one value per input entry")
            }
            (None, _) => vec![0.0; total],
        };
        let mut offsets = Vec::new();
        let mut off = 0;
        for n in &sizes {
            offsets.push(off);
            off += n;
        }
        // Slice parameters' adjoints are the caller's buffers (zeroed by `grad_into`).
        for ((p, &o), &n) in self.wrt.iter().zip(&offsets).zip(&sizes) {
            if let (Some(a), Ty::FloatArray(ArrayKind::Slice)) =
                (self.code.adj.get(p), f.var(*p).ty)
            {
                m.env[a.0] = Value::FA(initial[o..o + n].to_vec());
            }
        }
        m.run(&self.code.fwd)?;
        if self.code.active.contains(&f.result) {
            let a = self.code.adj[&f.result];
            let shape = &f.result_shape;
            match (shape, &mut m.env[a.0]) {
                (ResultShape::Scalar, slot) if seed.len() == 1 => *slot = Value::F(seed[0]),
                (ResultShape::Array(n) | ResultShape::Tuple(n), slot) if seed.len() == *n => {
                    *slot = Value::FA(seed.to_vec())
                }
                // `for (a, s) in adj.iter_mut().zip(seed.iter()) { *a += *s; }`
                (ResultShape::Vec, Value::FA(adj)) => {
                    for (a, s) in adj.iter_mut().zip(seed) {
                        *a += *s;
                    }
                }
                (shape, slot) => {
                    return err(format!(
                        "cannot seed a {shape:?} result ({slot:?}) with {seed:?}"
                    ))
                }
            }
        }
        m.run(&self.code.rev)?;
        let value = outputs_of(&m.env[f.result.0])?;
        let mut out = Vec::with_capacity(total);
        for ((p, &o), &n) in self.wrt.iter().zip(&offsets).zip(&sizes) {
            let adj = match self.code.adj.get(p) {
                Some(a) => m.env[a.0].floats(),
                None => vec![0.0; n],
            };
            if adj.len() != n {
                return err(format!(
                    "adjoint of `{}` has length {}, input {n}",
                    f.var(*p).name,
                    adj.len()
                ));
            }
            match (self.code.adj.get(p), f.var(*p).ty) {
                // The caller's own buffer: already holds `initial + contribution`.
                (Some(_), Ty::FloatArray(ArrayKind::Slice)) => out.extend(adj),
                // Copied out: `*out += adj` (pullback) or `*out = adj` (grad_into).
                _ => out.extend(adj.iter().zip(&initial[o..o + n]).map(|(a, i)| i + a)),
            }
        }
        Ok((value, out))
    }
}

/// The value and the gradient with respect to `wrt` (flattened, in order), by the reverse
/// transform with the macro's default options.
pub fn reverse_gradient(f: &Function, inputs: &[Value], wrt: &[VarId]) -> R<(f64, Vec<f64>)> {
    Reverse::new(f, wrt, true).gradient(inputs)
}

/// A forward transform ready to run many times.
pub struct Forward {
    /// The function with the tangent variables added.
    pub f: Function,
    /// The transform's output.
    pub code: forward::ForwardCode,
    /// The parameters given tangents.
    pub wrt: Vec<VarId>,
}

/// One run of a forward transform.
pub struct ForwardRun {
    /// The result's entries.
    pub outputs: Vec<f64>,
    /// Their directional derivatives.
    pub tangents: Vec<f64>,
    /// The largest magnitude any intermediate tangent had at the end of the run (how fast the
    /// function's pieces move along the direction; infinite if one was NaN).
    pub speed: f64,
}

impl Forward {
    /// Transforms `f` for `wrt`.
    pub fn new(f: &Function, wrt: &[VarId]) -> Self {
        let mut g = f.clone();
        let code = forward::transform(&mut g, wrt);
        Forward {
            f: g,
            code,
            wrt: wrt.to_vec(),
        }
    }

    /// Runs it with the tangent `direction[k]` for `wrt[k]`; returns the value and the
    /// directional derivative (of the first entry, for an array result).
    pub fn tangent(&self, inputs: &[Value], direction: &[Value]) -> R<(f64, f64)> {
        let r = self.run(inputs, direction)?;
        Ok((r.outputs[0], r.tangents[0]))
    }

    /// Runs it with the tangent `direction[k]` for `wrt[k]`.
    pub fn run(&self, inputs: &[Value], direction: &[Value]) -> R<ForwardRun> {
        self.run_with(inputs, direction, None)
    }

    /// [`Forward::run`] for a function that calls the functions in `calls`.
    pub fn run_with(
        &self,
        inputs: &[Value],
        direction: &[Value],
        calls: Option<&Registry>,
    ) -> R<ForwardRun> {
        let f = &self.f;
        let mut m = Machine::new(f, &[]);
        m.calls = calls;
        m.set_params(inputs)?;
        if direction.len() != self.wrt.len() {
            return err("one direction per differentiated parameter");
        }
        for (p, d) in self.wrt.iter().zip(direction) {
            if let Some(t) = self.code.tan.get(p) {
                m.write_place(&Place::Var(*t), d.clone())?;
            }
        }
        m.run(&self.code.body)?;
        let outputs = outputs_of(&m.env[f.result.0])?;
        let tangents = match self.code.tan.get(&f.result) {
            Some(t) if self.code.active.contains(&f.result) => outputs_of(&m.env[t.0])?,
            _ => vec![0.0; outputs.len()],
        };
        if tangents.len() != outputs.len() {
            return err(format!(
                "{} tangents for {} result entries",
                tangents.len(),
                outputs.len()
            ));
        }
        let mut speed = 0.0f64;
        for t in self.code.tan.values() {
            for x in m.env[t.0].floats() {
                speed = speed.max(if x.is_nan() { f64::INFINITY } else { x.abs() });
            }
        }
        Ok(ForwardRun {
            outputs,
            tangents,
            speed,
        })
    }
}

/// The value and the directional derivative along `direction` (one value per parameter;
/// every float parameter is given a tangent, as `NAME_pushforward` does).
pub fn forward_tangent(f: &Function, inputs: &[Value], direction: &[Value]) -> R<(f64, f64)> {
    let wrt: Vec<VarId> = f
        .params
        .iter()
        .copied()
        .filter(|p| f.var(*p).ty.is_float())
        .collect();
    let dir: Vec<Value> = f
        .params
        .iter()
        .zip(direction)
        .filter(|(p, _)| f.var(**p).ty.is_float())
        .map(|(_, d)| d.clone())
        .collect();
    Forward::new(f, &wrt).tangent(inputs, &dir)
}

/// The float (scalar or array) values among call arguments, in order.
fn float_values(vals: &[Value]) -> Vec<&Value> {
    vals.iter()
        .filter(|v| matches!(v, Value::F(_) | Value::FA(_)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(src: &str) -> Function {
        let item: syn::ItemFn = syn::parse_str(src).expect("parses");
        crate::lower::lower(&item).expect("lowers").func
    }

    #[test]
    fn primal_reverse_forward_agree_on_a_small_function() {
        let f = lower("fn f(x: f64, y: f64) -> f64 { let mut s = 0.0; for i in 0..3 { s = s * 0.5 + x * y.sin() * (i as f64); } s }");
        let inputs = [Value::F(0.7), Value::F(-1.3)];
        let (x, y) = (0.7f64, -1.3f64);
        // s = sum_i 0.5^(2-i) * i * x sin y = (0.5 + 2) x sin y
        let want = 2.5 * x * y.sin();
        assert!((primal(&f, &inputs).unwrap() - want).abs() < 1e-15);
        let (v, g) = reverse_gradient(&f, &inputs, &f.params.clone()).unwrap();
        assert_eq!(v, primal(&f, &inputs).unwrap());
        assert!((g[0] - 2.5 * y.sin()).abs() < 1e-14, "{g:?}");
        assert!((g[1] - 2.5 * x * y.cos()).abs() < 1e-14, "{g:?}");
        let (_, t) = forward_tangent(&f, &inputs, &[Value::F(1.0), Value::F(2.0)]).unwrap();
        assert!((t - (g[0] + 2.0 * g[1])).abs() < 1e-14);
    }

    #[test]
    fn slices_and_local_vectors() {
        let f = lower("fn f(a: &[f64], n: usize) -> f64 { let mut v = vec![0.0; n]; for i in 0..n { v[i] = a[i] * a[i]; } let mut s = 0.0; for i in 0..n { s += v[i] * (i as f64 + 1.0); } s }");
        let a = vec![1.0, 2.0, 3.0];
        let inputs = [Value::FA(a.clone()), Value::I(3)];
        assert_eq!(primal(&f, &inputs).unwrap(), 1.0 + 8.0 + 27.0);
        let (_, g) = reverse_gradient(&f, &inputs, &[f.params[0]]).unwrap();
        assert_eq!(g, vec![2.0, 8.0, 18.0]);
        let (_, t) =
            forward_tangent(&f, &inputs, &[Value::FA(vec![0.0, 1.0, 0.0]), Value::I(0)]).unwrap();
        assert_eq!(t, 8.0);
    }

    #[test]
    fn calls_go_through_the_callee_companions() {
        let g = lower("fn g(u: f64, w: &[f64]) -> f64 { u * w[0] + w[1].sin() }");
        let f =
            lower("fn f(x: f64, a: &[f64]) -> f64 { let y = g(x * x, a); y * 2.0 + g(1.0, a) }");
        let mut reg = Registry::new();
        reg.insert("g".into(), Callee::new(g));
        let (x, a0, a1) = (0.7f64, 1.5f64, -0.4f64);
        let inputs = [Value::F(x), Value::FA(vec![a0, a1])];
        // f = 2 (x^2 a0 + sin a1) + (a0 + sin a1)
        let want = [4.0 * x * a0, 2.0 * x * x + 1.0, 3.0 * a1.cos()];
        let r = primal_run_with(&f, &inputs, Some(&reg)).unwrap();
        assert!((r.value - (2.0 * (x * x * a0 + a1.sin()) + a0 + a1.sin())).abs() < 1e-15);
        let rev = Reverse::new(&f, &f.params, true);
        let (_, g) = rev
            .pullback_with(&inputs, &[1.0], None, Some(&reg))
            .unwrap();
        let fwd = Forward::new(&f, &f.params);
        for k in 0..3 {
            assert!((g[k] - want[k]).abs() < 1e-14, "{g:?}");
            let dir = [
                Value::F(f64::from(u8::from(k == 0))),
                Value::FA(vec![
                    f64::from(u8::from(k == 1)),
                    f64::from(u8::from(k == 2)),
                ]),
            ];
            let t = fwd.run_with(&inputs, &dir, Some(&reg)).unwrap().tangents[0];
            assert!((t - want[k]).abs() < 1e-14, "{k}: {t}");
        }
        assert!(primal(&f, &inputs)
            .unwrap_err()
            .0
            .contains("unknown function"));
    }

    #[test]
    fn float_semantics_follow_rust() {
        assert_eq!(apply_prim(Prim::Max, &[f64::NAN, 1.0], None), 1.0);
        assert_eq!(apply_prim(Prim::Min, &[2.0, f64::NAN], None), 2.0);
        assert_eq!(apply_prim(Prim::Powi, &[2.0], Some(-2)), 0.25);
        assert_eq!(float_to_int(-3.7, "usize").unwrap(), 0);
        assert_eq!(float_to_int(3.7, "i32").unwrap(), 3);
        assert_eq!(float_to_int(f64::NAN, "u8").unwrap(), 0);
        assert_eq!(int_to_int(300, "u8").unwrap(), 44);
        assert_eq!(int_to_int(-1, "u8").unwrap(), 255);
    }

    #[test]
    fn runtime_errors_are_reported() {
        let f = lower("fn f(a: &[f64], i: usize) -> f64 { a[i] }");
        let e = primal(&f, &[Value::FA(vec![1.0]), Value::I(1)]).unwrap_err();
        assert!(e.0.contains("out of bounds"), "{e}");
        let f = lower("fn f(x: f64) -> f64 { let mut s = x; while s > 0.0 { s = s + 1.0; } s }");
        assert!(primal(&f, &[Value::F(1.0)])
            .unwrap_err()
            .0
            .contains("runaway"));
    }
}
