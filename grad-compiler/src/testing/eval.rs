//! The IR evaluator: runs any [`Function`] (a lowered user function, a companion, a wrapper)
//! over runtime [`Value`]s, with the semantics code generation prints.
//!
//! Floats are `f64`; a function whose float type is `f32` rounds to `f32` after every float
//! operation. `&mut` parameters hold their value directly: the caller passes the buffer's
//! initial contents and [`Outcome::buffers`] has the final ones. Calls resolve through a
//! [`Registry`] of functions by name (`g`, `g_pullback`, ...), with `&mut` arguments passed by
//! copy-in/copy-out. The runtime's conventions hold: `scaled(d, p)` is 0 where `d` is 0,
//! kernels keep zeros zero, and [`Kernel::Dot`] sums in the runtime's order (it calls
//! `grad_runtime::kernels::dot`), so reverse-mode results match generated code bit for bit.
//!
//! Errors (an index out of bounds, an integer overflow, an unknown callee, a read of a
//! variable never assigned, a pop from an empty stack, the step limit) are `Err(String)`;
//! the evaluator never panics. Every run also records [`Stats`]: the discrete decisions taken
//! (a hash of comparison outcomes, kink sides and float-to-integer casts), the smallest
//! distance to a kink, and how often each primitive and construct ran.

use crate::ir::*;
use crate::names::Binder;
use crate::rules::{Prim, Syntax, Types};
use crate::shape::{FloatTy, Len, Ty};
use std::collections::{BTreeMap, HashMap};

/// A runtime value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A float (an `f32` function's floats are rounded to `f32`).
    Float(f64),
    /// An integer of any width.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// `()`.
    Unit,
    /// An array, a `Vec` or a slice.
    Seq(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A struct: its fields by name, in order.
    Struct(Vec<(String, Value)>),
    /// A nalgebra matrix (or vector): `rows` rows, its elements in nalgebra's column-major
    /// order (element `(i, j)` is `data[i + j * rows]`, as nalgebra's linear index `m[k]`).
    Matrix {
        /// The number of rows.
        rows: usize,
        /// The elements, column by column.
        data: Vec<Value>,
    },
    /// A stack of saved values (reverse mode).
    Stack(Vec<Value>),
}

impl Value {
    /// A sequence of floats.
    pub fn floats(xs: &[f64]) -> Value {
        Value::Seq(xs.iter().map(|x| Value::Float(*x)).collect())
    }

    /// A nalgebra matrix of `rows` rows from its floats in column-major order.
    pub fn matrix(rows: usize, column_major: &[f64]) -> Value {
        Value::Matrix {
            rows,
            data: column_major.iter().map(|x| Value::Float(*x)).collect(),
        }
    }

    /// A sequence of integers.
    pub fn ints(xs: &[i64]) -> Value {
        Value::Seq(xs.iter().map(|x| Value::Int(*x)).collect())
    }

    /// The float, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// Every float of the value, in flat order (the runtime's `write_flat` order).
    pub fn flat(&self) -> Vec<f64> {
        let mut out = Vec::new();
        self.flat_into(&mut out);
        out
    }

    fn flat_into(&self, out: &mut Vec<f64>) {
        match self {
            Value::Float(x) => out.push(*x),
            Value::Int(_) | Value::Bool(_) | Value::Unit => {}
            Value::Seq(xs) | Value::Tuple(xs) | Value::Stack(xs) => {
                xs.iter().for_each(|x| x.flat_into(out))
            }
            Value::Struct(fs) => fs.iter().for_each(|(_, x)| x.flat_into(out)),
            Value::Matrix { data, .. } => data.iter().for_each(|x| x.flat_into(out)),
        }
    }

    /// The same shape with the floats taken in flat order from `src` (the runtime's
    /// `read_flat`); `None` if `src` is too short.
    pub fn with_flat(&self, src: &[f64]) -> Option<Value> {
        let mut at = 0;
        let v = self.read_flat(src, &mut at)?;
        Some(v)
    }

    fn read_flat(&self, src: &[f64], at: &mut usize) -> Option<Value> {
        Some(match self {
            Value::Float(_) => {
                let x = *src.get(*at)?;
                *at += 1;
                Value::Float(x)
            }
            Value::Int(_) | Value::Bool(_) | Value::Unit => self.clone(),
            Value::Seq(xs) => Value::Seq(read_all(xs, src, at)?),
            Value::Tuple(xs) => Value::Tuple(read_all(xs, src, at)?),
            Value::Stack(xs) => Value::Stack(read_all(xs, src, at)?),
            Value::Struct(fs) => {
                let mut out = Vec::new();
                for (n, x) in fs {
                    out.push((n.clone(), x.read_flat(src, at)?));
                }
                Value::Struct(out)
            }
            Value::Matrix { rows, data } => Value::Matrix {
                rows: *rows,
                data: read_all(data, src, at)?,
            },
        })
    }

    /// A zero of the same shape: floats 0, integers 0, booleans `false`.
    pub fn zero_like(&self) -> Value {
        match self {
            Value::Float(_) => Value::Float(0.0),
            Value::Int(_) => Value::Int(0),
            Value::Bool(_) => Value::Bool(false),
            Value::Unit => Value::Unit,
            Value::Seq(xs) => Value::Seq(xs.iter().map(Value::zero_like).collect()),
            Value::Tuple(xs) => Value::Tuple(xs.iter().map(Value::zero_like).collect()),
            Value::Stack(xs) => Value::Stack(xs.iter().map(Value::zero_like).collect()),
            Value::Struct(fs) => {
                Value::Struct(fs.iter().map(|(n, x)| (n.clone(), x.zero_like())).collect())
            }
            Value::Matrix { rows, data } => Value::Matrix {
                rows: *rows,
                data: data.iter().map(Value::zero_like).collect(),
            },
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Float(_) => "a float",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a bool",
            Value::Unit => "()",
            Value::Seq(_) => "a sequence",
            Value::Tuple(_) => "a tuple",
            Value::Struct(_) => "a struct",
            Value::Matrix { .. } => "a matrix",
            Value::Stack(_) => "a stack",
        }
    }
}

fn read_all(xs: &[Value], src: &[f64], at: &mut usize) -> Option<Vec<Value>> {
    xs.iter().map(|x| x.read_flat(src, at)).collect()
}

/// The functions calls resolve to, by name: `g`, `g_pullback`, `g_pushforward`, ...
#[derive(Clone, Debug, Default)]
pub struct Registry {
    funcs: HashMap<String, Function>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds (or replaces) the function called `name`.
    pub fn insert(&mut self, name: impl Into<String>, f: Function) {
        self.funcs.insert(name.into(), f);
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<&Function> {
        self.funcs.get(name)
    }
}

/// Bounds on one run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Statements executed, over all calls.
    pub steps: u64,
    /// Nested calls.
    pub depth: usize,
    /// Elements of one sequence built by `[v; n]` / `vec![v; n]`.
    pub seq_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            steps: 2_000_000,
            depth: 48,
            seq_len: 1 << 20,
        }
    }
}

/// What a run observed.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Statements executed.
    pub steps: u64,
    /// A hash of every discrete decision: float comparison outcomes, the side of each kink
    /// of a primitive ([`crate::rules::Rule::kink`]), and float-to-integer casts. Two runs
    /// with equal traces took the same smooth piece of the function.
    pub trace: u64,
    /// The smallest distance to a kink seen: `|kink(args)|` of primitives with kinks,
    /// `|a - b|` of float comparisons, the distance of a cast float to the nearest integer.
    pub min_kink: f64,
    /// The largest `|x|` of any float assigned.
    pub max_abs: f64,
    /// The largest `|x|` of any float assigned to a tangent (`tan_*`) variable: how fast
    /// intermediates move along the direction of a pushforward.
    pub max_tangent: f64,
    /// Applications of each primitive.
    pub prims: BTreeMap<Prim, u64>,
    /// How often each statement kind, kernel and call ran (`"for"`, `"push"`, `"dot"`...).
    pub constructs: BTreeMap<&'static str, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            steps: 0,
            trace: 0xcbf2_9ce4_8422_2325,
            min_kink: f64::INFINITY,
            max_abs: 0.0,
            max_tangent: 0.0,
            prims: BTreeMap::new(),
            constructs: BTreeMap::new(),
        }
    }
}

impl Stats {
    fn event(&mut self, kind: u64, bits: u64) {
        for x in [kind, bits] {
            self.trace ^= x;
            self.trace = self.trace.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn kink(&mut self, d: f64) {
        if !d.is_nan() {
            self.min_kink = self.min_kink.min(d.abs());
        }
    }
    fn count(&mut self, what: &'static str) {
        *self.constructs.entry(what).or_default() += 1;
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The returned values, in order (one per [`Function::returns`] entry).
    pub returns: Vec<Value>,
    /// The final contents of every `&mut` parameter, in parameter order.
    pub buffers: Vec<Value>,
    /// What the run observed.
    pub stats: Stats,
}

impl Outcome {
    /// The single returned value, or the returned values as a tuple.
    pub fn value(&self) -> Value {
        as_one(self.returns.clone())
    }
}

fn as_one(mut vs: Vec<Value>) -> Value {
    if vs.len() == 1 {
        vs.pop().unwrap_or(Value::Unit)
    } else {
        Value::Tuple(vs)
    }
}

/// Runs `f` on `args` (one per parameter; a `&mut` parameter's initial contents), calls
/// resolving through `registry`, with the default [`Limits`].
pub fn run(f: &Function, args: Vec<Value>, registry: &Registry) -> Result<Outcome, String> {
    run_with(f, args, registry, Limits::default())
}

/// [`run`] with explicit limits.
pub fn run_with(
    f: &Function,
    args: Vec<Value>,
    registry: &Registry,
    limits: Limits,
) -> Result<Outcome, String> {
    let mut m = Machine {
        registry,
        limits,
        stats: Stats::default(),
        depth: 0,
    };
    let finals = m.call_function(f, args)?;
    let buffers = f
        .params
        .iter()
        .zip(finals.params)
        .filter(|(p, _)| p.passing == Passing::MutRef)
        .map(|(_, v)| v)
        .collect();
    Ok(Outcome {
        returns: finals.returns,
        buffers,
        stats: m.stats,
    })
}

type R<T> = Result<T, String>;

/// The final state of one call: its returned values and its parameters' values.
struct Finals {
    returns: Vec<Value>,
    params: Vec<Value>,
}

/// The evaluator's state shared by every call of one run.
struct Machine<'r> {
    registry: &'r Registry,
    limits: Limits,
    stats: Stats,
    depth: usize,
}

/// One call's variables.
struct Frame<'f> {
    f: &'f Function,
    vals: Vec<Option<Value>>,
    f32: bool,
}

/// A place's path with its indices evaluated.
enum Step {
    Index(usize),
    /// `m[(i, j)]` of a matrix.
    At(usize, usize),
    Field(Member),
}

impl Frame<'_> {
    fn round(&self, x: f64) -> f64 {
        if self.f32 {
            x as f32 as f64
        } else {
            x
        }
    }

    fn name(&self, v: VarId) -> String {
        let n = &self.f.var(v).name;
        if n.is_empty() {
            format!("%{}", v.0)
        } else {
            format!("{n}%{}", v.0)
        }
    }

    fn get(&self, v: VarId) -> R<&Value> {
        match self.vals.get(v.index()) {
            Some(Some(x)) => Ok(x),
            Some(None) => Err(format!("{} is read before it is assigned", self.name(v))),
            None => Err(format!("variable %{} does not exist", v.0)),
        }
    }

    fn atom(&self, a: &Atom) -> R<Value> {
        Ok(match a {
            Atom::Var(v) => self.get(*v)?.clone(),
            Atom::Float(x) => Value::Float(self.round(*x)),
            Atom::Int(i) => Value::Int(*i),
            Atom::Bool(b) => Value::Bool(*b),
        })
    }

    fn int(&self, a: &Atom) -> R<i64> {
        match self.atom(a)? {
            Value::Int(i) => Ok(i),
            v => Err(format!("expected an integer, found {}", v.kind())),
        }
    }

    fn bool(&self, a: &Atom) -> R<bool> {
        match self.atom(a)? {
            Value::Bool(b) => Ok(b),
            v => Err(format!("expected a bool, found {}", v.kind())),
        }
    }

    fn float(&self, a: &Atom) -> R<f64> {
        match self.atom(a)? {
            Value::Float(x) => Ok(x),
            v => Err(format!("expected a float, found {}", v.kind())),
        }
    }

    fn steps(&self, p: &Place) -> R<Vec<Step>> {
        let mut out = Vec::new();
        for proj in &p.path {
            match proj {
                Proj::Index(a) => out.push(match self.atom(a)? {
                    Value::Tuple(ij) => match ij.as_slice() {
                        [Value::Int(i), Value::Int(j)] => Step::At(index(*i)?, index(*j)?),
                        _ => return Err("a matrix index is a pair of integers".into()),
                    },
                    _ => Step::Index(index(self.int(a)?)?),
                }),
                Proj::Field(m) => out.push(Step::Field(m.clone())),
                Proj::Deref => {}
            }
        }
        Ok(out)
    }

    fn read(&self, p: &Place) -> R<&Value> {
        let steps = self.steps(p)?;
        let mut v = self.get(p.root)?;
        for s in &steps {
            v = project(v, s)?;
        }
        Ok(v)
    }

    fn place_mut(&mut self, p: &Place) -> R<&mut Value> {
        let steps = self.steps(p)?;
        let name = self.name(p.root);
        let slot = self
            .vals
            .get_mut(p.root.index())
            .ok_or_else(|| format!("variable {name} does not exist"))?;
        if steps.is_empty() {
            // A whole variable (or a `&mut` buffer) is written even if unassigned.
            return Ok(slot.get_or_insert(Value::Unit));
        }
        let mut v = slot
            .as_mut()
            .ok_or_else(|| format!("{name} is written through a path before it is assigned"))?;
        for s in &steps {
            v = project_mut(v, s)?;
        }
        Ok(v)
    }

    fn set(&mut self, v: VarId, value: Value) -> R<()> {
        let slot = self
            .vals
            .get_mut(v.index())
            .ok_or_else(|| format!("variable %{} does not exist", v.0))?;
        *slot = Some(value);
        Ok(())
    }

    fn write(&mut self, p: &Place, value: Value) -> R<()> {
        *self.place_mut(p)? = value;
        Ok(())
    }
}

fn index(i: i64) -> R<usize> {
    usize::try_from(i).map_err(|_| format!("negative index {i}"))
}

fn project<'v>(v: &'v Value, s: &Step) -> R<&'v Value> {
    match (v, s) {
        (Value::Seq(xs), Step::Index(i)) => xs
            .get(*i)
            .ok_or_else(|| format!("index {i} out of bounds (length {})", xs.len())),
        (Value::Tuple(xs), Step::Field(Member::Unnamed(i))) => xs
            .get(*i as usize)
            .ok_or_else(|| format!("tuple has no field {i}")),
        (Value::Struct(fs), Step::Field(m)) => fs
            .iter()
            .find(|(n, _)| member_is(m, n))
            .map(|(_, x)| x)
            .ok_or_else(|| format!("struct has no field {m:?}")),
        (Value::Matrix { rows, data }, s @ (Step::Index(_) | Step::At(..))) => {
            let k = matrix_index(*rows, data.len(), s)?;
            Ok(&data[k])
        }
        (v, Step::Index(_) | Step::At(..)) => Err(format!("indexing {}", v.kind())),
        (v, Step::Field(m)) => Err(format!("field {m:?} of {}", v.kind())),
    }
}

/// The position in a matrix's column-major data of `m[k]` or `m[(i, j)]`, checked as
/// nalgebra checks it.
fn matrix_index(rows: usize, len: usize, s: &Step) -> R<usize> {
    let cols = len.checked_div(rows).unwrap_or(0);
    let k = match *s {
        Step::Index(k) => k,
        Step::At(i, j) if i < rows && j < cols => i + j * rows,
        Step::At(i, j) => {
            return Err(format!(
                "index ({i}, {j}) out of bounds (a {rows} x {cols} matrix)"
            ))
        }
        Step::Field(_) => return Err("a field of a matrix".into()),
    };
    if k >= len {
        return Err(format!("index {k} out of bounds (length {len})"));
    }
    Ok(k)
}

fn project_mut<'v>(v: &'v mut Value, s: &Step) -> R<&'v mut Value> {
    match (v, s) {
        (Value::Seq(xs), Step::Index(i)) => {
            let n = xs.len();
            xs.get_mut(*i)
                .ok_or_else(|| format!("index {i} out of bounds (length {n})"))
        }
        (Value::Tuple(xs), Step::Field(Member::Unnamed(i))) => xs
            .get_mut(*i as usize)
            .ok_or_else(|| format!("tuple has no field {i}")),
        (Value::Struct(fs), Step::Field(m)) => fs
            .iter_mut()
            .find(|(n, _)| member_is(m, n))
            .map(|(_, x)| x)
            .ok_or_else(|| format!("struct has no field {m:?}")),
        (Value::Matrix { rows, data }, s @ (Step::Index(_) | Step::At(..))) => {
            let k = matrix_index(*rows, data.len(), s)?;
            Ok(&mut data[k])
        }
        (v, Step::Index(_) | Step::At(..)) => Err(format!("indexing {}", v.kind())),
        (v, Step::Field(m)) => Err(format!("field {m:?} of {}", v.kind())),
    }
}

fn member_is(m: &Member, name: &str) -> bool {
    match m {
        Member::Named(n) => n == name,
        Member::Unnamed(i) => i.to_string() == name,
    }
}

/// The sub-sequence `[lo..hi]` of a sequence value (bounds default to the whole).
fn sub_range(v: &Value, lo: Option<i64>, hi: Option<i64>) -> R<(usize, usize)> {
    let Value::Seq(xs) = v else {
        return Err(format!("a range of {}", v.kind()));
    };
    let lo = index(lo.unwrap_or(0))?;
    let hi = match hi {
        Some(h) => index(h)?,
        None => xs.len(),
    };
    if lo > hi || hi > xs.len() {
        return Err(format!(
            "range {lo}..{hi} out of bounds (length {})",
            xs.len()
        ));
    }
    Ok((lo, hi))
}

/// How an argument's final value goes back to the caller.
enum CopyOut {
    None,
    Whole(Place),
    Range(Place, usize, usize),
}

impl Machine<'_> {
    fn call_function(&mut self, f: &Function, args: Vec<Value>) -> R<Finals> {
        check_args(f, &args)?;
        if self.depth >= self.limits.depth {
            return Err("call depth limit exceeded".into());
        }
        let f32 = f.float == FloatTy::F32;
        let mut frame = Frame {
            f,
            vals: vec![None; f.vars.len()],
            f32,
        };
        for (p, a) in f.params.iter().zip(args) {
            let a = if f32 { round_all(a) } else { a };
            frame.set(p.var, a)?;
        }
        self.depth += 1;
        let r = self.block(&mut frame, &f.body);
        self.depth -= 1;
        r?;
        let mut returns = Vec::new();
        for v in &f.returns {
            let x = match frame.vals.get(v.index()).cloned().flatten() {
                Some(x) => x,
                // Code generation declares a result never assigned with a zero.
                None => default_of(f.ty(*v), false)?,
            };
            returns.push(x);
        }
        let params = f
            .params
            .iter()
            .map(|p| frame.get(p.var).cloned().unwrap_or(Value::Unit))
            .collect();
        Ok(Finals { returns, params })
    }

    fn block(&mut self, fr: &mut Frame, b: &Block) -> R<()> {
        for s in b {
            self.stmt(fr, s)?;
        }
        Ok(())
    }

    fn tick(&mut self) -> R<()> {
        self.stats.steps += 1;
        if self.stats.steps > self.limits.steps {
            return Err(format!("step limit ({}) exceeded", self.limits.steps));
        }
        Ok(())
    }

    fn stmt(&mut self, fr: &mut Frame, s: &Stmt) -> R<()> {
        self.tick()?;
        match s {
            Stmt::Assign { target, op, .. } => {
                let ty = fr.f.ty(*target).clone();
                let v = self.op(fr, op, &ty)?;
                self.assigned(fr, *target, &v);
                fr.set(*target, v)?;
            }
            Stmt::Store { place, value, .. } => {
                let v = fr.atom(value)?;
                fr.write(place, v)?;
            }
            Stmt::Accumulate {
                place,
                value,
                negate,
                ..
            } => {
                let v = fr.atom(value)?;
                let round = |x: f64| fr.round(x);
                let old = fr.read(place)?.clone();
                let new = accumulate(old, v, *negate, round)?;
                fr.write(place, new)?;
            }
            Stmt::If { cond, then, els } => {
                self.stats.count("if");
                if fr.bool(cond)? {
                    self.block(fr, then)?;
                } else {
                    self.block(fr, els)?;
                }
            }
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
                chunked: None,
            } => self.for_loop(fr, *var, lo, hi, *rev, body)?,
            Stmt::For {
                var,
                lo,
                hi,
                rev,
                body,
                chunked: Some(c),
            } => self.chunked_loop(fr, *var, (lo, hi), *rev, body, c)?,
            Stmt::While {
                cond_block,
                cond,
                body,
            } => {
                self.stats.count("while");
                loop {
                    self.block(fr, cond_block)?;
                    if !fr.bool(cond)? {
                        break;
                    }
                    self.tick()?;
                    self.block(fr, body)?;
                }
            }
            Stmt::Sweep(sw) => self.sweep(fr, sw)?,
        }
        Ok(())
    }

    fn for_loop(
        &mut self,
        fr: &mut Frame,
        var: VarId,
        lo: &Atom,
        hi: &Atom,
        rev: bool,
        body: &Block,
    ) -> R<()> {
        self.stats.count("for");
        let (lo, hi) = (fr.int(lo)?, fr.int(hi)?);
        let count = hi.saturating_sub(lo).max(0);
        for k in 0..count {
            self.tick()?;
            let i = if rev { hi - 1 - k } else { lo + k };
            fr.set(var, Value::Int(i))?;
            self.block(fr, body)?;
        }
        Ok(())
    }

    /// A loop run in chunks, as `grad_runtime::parallel::chunks` runs it: each chunk from
    /// zeroed sums, then each sum gets the chunks' parts added in order.
    fn chunked_loop(
        &mut self,
        fr: &mut Frame,
        var: VarId,
        (lo, hi): (&Atom, &Atom),
        rev: bool,
        body: &Block,
        c: &Chunked,
    ) -> R<()> {
        self.stats.count("chunked");
        let (lo, hi) = (fr.int(lo)?.max(0) as usize, fr.int(hi)?.max(0) as usize);
        let outer: Vec<Value> = c
            .sums
            .iter()
            .map(|(v, _)| fr.get(*v).cloned())
            .collect::<R<_>>()?;
        let mut parts = Vec::new();
        for (start, end) in grad_runtime::parallel::chunk_bounds(lo, hi) {
            for ((v, _), x) in c.sums.iter().zip(&outer) {
                fr.set(*v, x.zero_like())?;
            }
            fr.set(c.start, Value::Int(start as i64))?;
            fr.set(c.end, Value::Int(end as i64))?;
            let bounds = (Atom::Int(start as i64), Atom::Int(end as i64));
            self.for_loop(fr, var, &bounds.0, &bounds.1, rev, body)?;
            let part: Vec<Value> = c
                .sums
                .iter()
                .map(|(v, _)| fr.get(*v).cloned())
                .collect::<R<_>>()?;
            parts.push(part);
        }
        let f32 = fr.f32;
        let mut sums = outer;
        for part in parts {
            for (((_, p), sum), x) in c.sums.iter().zip(&mut sums).zip(part) {
                fr.set(*p, x.clone())?;
                // Printed `v += part` for floats and integers, else `add_scaled(v, 1, part)`.
                match (sum, &x) {
                    (Value::Float(a), Value::Float(b)) => *a = rnd(f32, *a + *b),
                    (Value::Int(a), Value::Int(b)) => *a += *b,
                    (s, _) => add_scaled(f32, s, 1.0, &x)?,
                }
            }
        }
        for ((v, _), x) in c.sums.iter().zip(sums) {
            fr.set(*v, x)?;
        }
        Ok(())
    }

    /// Records an assignment's floats in the statistics.
    fn assigned(&mut self, fr: &Frame, target: VarId, v: &Value) {
        let m = max_abs(v);
        self.stats.max_abs = self.stats.max_abs.max(m);
        if matches!(fr.f.var(target).origin, Origin::Made(Binder::Tangent, _)) {
            self.stats.max_tangent = self.stats.max_tangent.max(m);
        }
    }

    fn sweep(&mut self, fr: &mut Frame, sw: &Sweep) -> R<()> {
        match sw {
            Sweep::Push { stack, value } => {
                self.stats.count("push");
                let v = fr.atom(value)?;
                match fr.place_mut(&Place::var(*stack))? {
                    Value::Stack(xs) => xs.push(v),
                    other => return Err(format!("push onto {}", other.kind())),
                }
            }
            Sweep::Pop { stack, place } => {
                self.stats.count("pop");
                let v = match fr.place_mut(&Place::var(*stack))? {
                    Value::Stack(xs) => xs.pop().ok_or("pop from an empty stack")?,
                    other => return Err(format!("pop from {}", other.kind())),
                };
                fr.write(place, v)?;
            }
            Sweep::Call { target, call } => {
                let v = self.call(fr, call)?;
                if let Some(t) = target {
                    fr.set(*t, v)?;
                }
            }
            Sweep::Kernel(k) => self.kernel(fr, k)?,
        }
        Ok(())
    }

    fn op(&mut self, fr: &mut Frame, op: &Op, ty: &Ty) -> R<Value> {
        Ok(match op {
            Op::Use(a) | Op::NoGrad(a) => fr.atom(a)?,
            Op::Load(p) => fr.read(p)?.clone(),
            Op::Prim(p, args) => self.prim(fr, *p, args)?,
            Op::Cmp(c, a, b) => self.compare(fr, *c, a, b)?,
            Op::Not(a) => Value::Bool(!fr.bool(a)?),
            Op::Select(c, a, b) => {
                if fr.bool(c)? {
                    fr.atom(a)?
                } else {
                    fr.atom(b)?
                }
            }
            Op::Cast(a, to) => self.cast(fr, a, to)?,
            Op::Len(p) => match fr.read(p)? {
                Value::Seq(xs) | Value::Stack(xs) | Value::Matrix { data: xs, .. } => {
                    Value::Int(xs.len() as i64)
                }
                v => return Err(format!("len of {}", v.kind())),
            },
            Op::Seq(atoms, _) => {
                let xs = atoms.iter().map(|a| fr.atom(a)).collect::<R<Vec<_>>>()?;
                match ty {
                    Ty::Stack(_) => Value::Stack(xs),
                    _ => Value::Seq(xs),
                }
            }
            Op::Repeat(a, count, _) => {
                let n = match count {
                    Count::Len(Len::Lit(n)) => *n,
                    Count::Len(Len::Named(p)) => {
                        return Err(format!("the length {} is not known", p.join("::")))
                    }
                    Count::Atom(n) => index(fr.int(n)?)?,
                };
                if n > self.limits.seq_len {
                    return Err(format!("a sequence of {n} elements"));
                }
                Value::Seq(vec![fr.atom(a)?; n])
            }
            Op::Tuple(atoms) => {
                Value::Tuple(atoms.iter().map(|a| fr.atom(a)).collect::<R<Vec<_>>>()?)
            }
            Op::Struct(_, fields) => Value::Struct(
                fields
                    .iter()
                    .map(|(n, a)| Ok((n.clone(), fr.atom(a)?)))
                    .collect::<R<Vec<_>>>()?,
            ),
            Op::Call(c) => self.call(fr, c)?,
            Op::Const(c) => {
                let x = c
                    .value
                    .ok_or_else(|| format!("the constant {} is not known", c.path.join("::")))?;
                match ty {
                    Ty::Int => Value::Int(x as i64),
                    _ => Value::Float(fr.round(x)),
                }
            }
            Op::Num(n) => match ty {
                Ty::Float => Value::Float(*n as f64),
                Ty::Int => Value::Int(*n),
                t => return Err(format!("a number of type {t:?}")),
            },
            Op::ZeroLike(a) => fr.atom(a)?.zero_like(),
            Op::Placeholder => default_of(ty, true)?,
        })
    }

    fn prim(&mut self, fr: &Frame, p: Prim, args: &[Atom]) -> R<Value> {
        let rule = p.rule();
        if matches!(rule.syntax, Syntax::TupleOf(_)) {
            return Err(format!(
                "{} (a tuple-valued method) is not evaluated",
                rule.name
            ));
        }
        if args.len() != rule.arity {
            return Err(format!("{} takes {} operands", rule.name, rule.arity));
        }
        *self.stats.prims.entry(p).or_default() += 1;
        let vals = args.iter().map(|a| fr.atom(a)).collect::<R<Vec<_>>>()?;
        let is_int_operand = |i: usize| rule.int_operands.contains(&i);
        let float_main = vals
            .iter()
            .enumerate()
            .find(|(i, _)| !is_int_operand(*i))
            .map(|(_, v)| matches!(v, Value::Float(_)))
            .unwrap_or(false);
        if rule.types == Types::Int || (rule.types == Types::Both && !float_main) {
            let ns = vals
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Ok(*i),
                    v => Err(format!("{} of {}", rule.name, v.kind())),
                })
                .collect::<R<Vec<_>>>()?;
            return (rule.eval_int)(&ns)
                .map(Value::Int)
                .ok_or_else(|| format!("{} of {ns:?} has no value (an overflow)", rule.name));
        }
        let mut xs = Vec::with_capacity(vals.len());
        for (i, v) in vals.iter().enumerate() {
            xs.push(match v {
                Value::Float(x) if !is_int_operand(i) => *x,
                Value::Int(n) if is_int_operand(i) => *n as f64,
                v => return Err(format!("{} operand {i} is {}", rule.name, v.kind())),
            });
        }
        if let Some(kink) = rule.kink {
            let d = kink(&xs);
            self.stats.kink(d);
            self.stats.event(1, sign_class(d));
        }
        if let Some(period) = rule.period {
            self.stats.event(3, period(&xs).to_bits());
        }
        if rule.name == "clamp" && !clamp_ordered(&xs) {
            return Err(format!("clamp({xs:?}): min > max (Rust panics)"));
        }
        // A rule's value is Rust's own function, which may panic on some operands.
        let eval = rule.eval;
        match std::panic::catch_unwind(|| eval(&xs)) {
            Ok(x) => Ok(Value::Float(fr.round(x))),
            Err(_) => Err(format!("{} panics on {xs:?}", rule.name)),
        }
    }

    fn compare(&mut self, fr: &Frame, c: CmpOp, a: &Atom, b: &Atom) -> R<Value> {
        let (x, y) = (fr.atom(a)?, fr.atom(b)?);
        let ord = match (&x, &y) {
            (Value::Float(p), Value::Float(q)) => {
                let r = p.partial_cmp(q);
                if a != b {
                    self.stats.kink(p - q);
                }
                r
            }
            (Value::Int(p), Value::Int(q)) => Some(p.cmp(q)),
            (Value::Bool(p), Value::Bool(q)) => Some(p.cmp(q)),
            _ => return Err(format!("comparing {} with {}", x.kind(), y.kind())),
        };
        use std::cmp::Ordering::*;
        let r = match (c, ord) {
            (_, None) => c == CmpOp::Ne,
            (CmpOp::Lt, Some(o)) => o == Less,
            (CmpOp::Le, Some(o)) => o != Greater,
            (CmpOp::Gt, Some(o)) => o == Greater,
            (CmpOp::Ge, Some(o)) => o != Less,
            (CmpOp::Eq, Some(o)) => o == Equal,
            (CmpOp::Ne, Some(o)) => o != Equal,
        };
        if matches!(x, Value::Float(_)) {
            self.stats.event(2, r as u64);
        }
        Ok(Value::Bool(r))
    }

    fn cast(&mut self, fr: &Frame, a: &Atom, to: &CastTo) -> R<Value> {
        let v = fr.atom(a)?;
        Ok(match (v, to) {
            (Value::Float(x), CastTo::Float) => Value::Float(fr.round(x)),
            (Value::Int(n), CastTo::Float) => Value::Float(fr.round(n as f64)),
            (Value::Float(x), CastTo::Int(t)) => {
                let n = float_to_int(x, t)?;
                self.stats.kink(x - x.round());
                self.stats.event(3, n as u64);
                Value::Int(n)
            }
            (Value::Int(n), CastTo::Int(t)) => Value::Int(int_to_int(n, t)?),
            (Value::Bool(b), CastTo::Int(_)) => Value::Int(b as i64),
            (v, to) => return Err(format!("casting {} to {to:?}", v.kind())),
        })
    }

    fn args(&mut self, fr: &Frame, call: &Call) -> R<(Vec<Value>, Vec<CopyOut>)> {
        let mut vals = Vec::new();
        let mut outs = Vec::new();
        for a in &call.args {
            let (v, out) = match a {
                Arg::Value(x) | Arg::Seed(x) => (fr.atom(x)?, CopyOut::None),
                Arg::Ref(p) => (fr.read(p)?.clone(), CopyOut::None),
                Arg::MutRef(p) => (fr.read(p)?.clone(), CopyOut::Whole(p.clone())),
                Arg::View(p, lo, hi) | Arg::MutView(p, lo, hi) => {
                    let whole = fr.read(p)?;
                    let lo = lo.as_ref().map(|x| fr.int(x)).transpose()?;
                    let hi = hi.as_ref().map(|x| fr.int(x)).transpose()?;
                    let (l, h) = sub_range(whole, lo, hi)?;
                    let Value::Seq(xs) = whole else {
                        return Err("a view of a non-sequence".into());
                    };
                    let out = match a {
                        Arg::MutView(..) => CopyOut::Range(p.clone(), l, h),
                        _ => CopyOut::None,
                    };
                    (Value::Seq(xs[l..h].to_vec()), out)
                }
            };
            vals.push(v);
            outs.push(out);
        }
        Ok((vals, outs))
    }

    fn call(&mut self, fr: &mut Frame, call: &Call) -> R<Value> {
        let name = call.callee.name();
        self.stats.count("call");
        if let (Callee::Method(_), "nrows" | "ncols", [Arg::Ref(p)]) =
            (&call.callee, name.as_str(), call.args.as_slice())
        {
            // A nalgebra matrix's dimensions.
            return match fr.read(p)? {
                Value::Matrix { rows, .. } if name == "nrows" => Ok(Value::Int(*rows as i64)),
                Value::Matrix { rows, data } => {
                    Ok(Value::Int(data.len().checked_div(*rows).unwrap_or(0) as i64))
                }
                v => Err(format!("`{name}` of {}", v.kind())),
            };
        }
        let registry = self.registry;
        let callee = registry
            .get(&name)
            .ok_or_else(|| format!("unknown function `{name}`"))?;
        check_passing(callee, call).map_err(|e| format!("calling `{name}`: {e}"))?;
        let (vals, outs) = self.args(fr, call)?;
        let finals = self
            .call_function(callee, vals)
            .map_err(|e| format!("in `{name}`: {e}"))?;
        for (out, v) in outs.into_iter().zip(finals.params) {
            match out {
                CopyOut::None => {}
                CopyOut::Whole(p) => fr.write(&p, v)?,
                CopyOut::Range(p, l, h) => {
                    let Value::Seq(new) = v else {
                        return Err(format!("`{name}` replaced a slice by {}", v.kind()));
                    };
                    match fr.place_mut(&p)? {
                        Value::Seq(xs) if new.len() == h - l => {
                            xs[l..h].clone_from_slice(&new);
                        }
                        _ => return Err(format!("`{name}` changed a slice's length")),
                    }
                }
            }
        }
        Ok(as_one(finals.returns))
    }

    fn kernel(&mut self, fr: &mut Frame, k: &Kernel) -> R<()> {
        match k {
            Kernel::Dot {
                acc,
                negate,
                a,
                b,
                len,
            } => {
                self.stats.count("dot");
                let n = index(fr.int(len)?)?;
                let xs = run_floats(fr, a, n)?;
                let ys = run_floats(fr, b, n)?;
                let d = if fr.f32 {
                    let xs: Vec<f32> = xs.iter().map(|x| *x as f32).collect();
                    let ys: Vec<f32> = ys.iter().map(|x| *x as f32).collect();
                    grad_runtime::kernels::dot(&xs, &ys) as f64
                } else {
                    grad_runtime::kernels::dot(&xs, &ys)
                };
                let old = fr.read(acc)?.clone();
                let new = accumulate(old, Value::Float(d), *negate, |x| fr.round(x))?;
                fr.write(acc, new)?;
            }
            Kernel::Axpy { alpha, x, y, len } => {
                self.stats.count("axpy");
                let n = index(fr.int(len)?)?;
                let alpha = fr.float(alpha)?;
                let xs = run_floats(fr, x, n)?;
                let mut ys = run_floats(fr, y, n)?;
                axpy(fr.f32, alpha, &xs, &mut ys);
                let start = index(fr.int(&y.start)?)?;
                match fr.place_mut(&y.place)? {
                    Value::Seq(dst) => {
                        for (d, v) in dst[start..start + n].iter_mut().zip(ys) {
                            *d = Value::Float(v);
                        }
                    }
                    v => return Err(format!("axpy into {}", v.kind())),
                }
            }
            Kernel::AxpyAll { alpha, x, y } => {
                self.stats.count("axpy_all");
                let a = fr.float(alpha)?;
                let xv = fr.read(x)?.clone();
                let f32 = fr.f32;
                let unit = matches!(alpha, Atom::Float(v) if *v == 1.0);
                let yv = fr.place_mut(y)?;
                match (yv, &xv) {
                    // Printed `y += x` for a literal 1, else `y += scaled(x, alpha)`.
                    (Value::Float(yf), Value::Float(xf)) => {
                        let add = if unit { *xf } else { scaled(f32, *xf, a) };
                        *yf = rnd(f32, *yf + add);
                    }
                    (yv, _) => add_scaled(f32, yv, a, &xv)?,
                }
            }
            Kernel::ScaleAll { alpha, y } => {
                self.stats.count("scale_all");
                let a = fr.float(alpha)?;
                let f32 = fr.f32;
                scale(f32, fr.place_mut(y)?, a);
            }
            Kernel::ZeroAll { y } => {
                self.stats.count("zero_all");
                let z = fr.read(y)?.zero_like();
                fr.write(y, z)?;
            }
            Kernel::SetUnit { y, index: at } => {
                self.stats.count("set_unit");
                let k = index(fr.int(at)?)?;
                let old = fr.read(y)?.clone();
                let mut flat = vec![0.0; old.flat().len()];
                match flat.get_mut(k) {
                    Some(x) => *x = 1.0,
                    None => return Err(format!("set_unit: index {k} out of range")),
                }
                let v = old
                    .with_flat(&flat)
                    .ok_or("set_unit: a shape without floats")?;
                fr.write(y, v)?;
            }
            Kernel::WriteRow { parts, out, row } => {
                self.stats.count("write_row");
                let r = index(fr.int(row)?)?;
                let mut flat = Vec::new();
                for p in parts {
                    flat.extend(fr.read(p)?.flat());
                }
                // The Jacobian is a sequence of rows.
                match fr.place_mut(out)? {
                    Value::Seq(rows) => match rows.get_mut(r) {
                        Some(Value::Seq(xs)) if xs.len() >= flat.len() => {
                            for (x, v) in xs.iter_mut().zip(flat) {
                                *x = Value::Float(v);
                            }
                        }
                        _ => return Err(format!("write_row: no row {r} of {} floats", flat.len())),
                    },
                    v => return Err(format!("write_row into {}", v.kind())),
                }
            }
            Kernel::Along {
                target,
                tangent,
                gradient,
            } => {
                self.stats.count("along");
                let (t, g) = (fr.read(tangent)?.flat(), fr.read(gradient)?.flat());
                if t.len() != g.len() {
                    return Err(format!("along: {} and {} floats", t.len(), g.len()));
                }
                let f32 = fr.f32;
                let s = t.iter().zip(&g).fold(0.0, |s, (t, g)| {
                    rnd(f32, s + if *t == 0.0 { 0.0 } else { rnd(f32, t * g) })
                });
                fr.set(*target, Value::Float(s))?;
            }
            Kernel::SumAll { target, place } => {
                self.stats.count("sum_all");
                let s = sum(fr.f32, fr.read(place)?);
                fr.set(*target, Value::Float(s))?;
            }
        }
        Ok(())
    }
}

/// Whether a value can be a value of type `ty` (shapes only; lengths are not checked).
fn fits(v: &Value, ty: &Ty) -> bool {
    match (v, ty) {
        (Value::Float(_), Ty::Float)
        | (Value::Int(_), Ty::Int)
        | (Value::Bool(_), Ty::Bool)
        | (Value::Unit, Ty::Unit)
        | (Value::Struct(_), Ty::Struct(_)) => true,
        (Value::Matrix { data, .. }, Ty::Matrix) => data.iter().all(|x| fits(x, &Ty::Float)),
        (Value::Seq(xs), Ty::Seq(_, e)) | (Value::Stack(xs), Ty::Stack(e)) => {
            xs.iter().all(|x| fits(x, e))
        }
        (Value::Tuple(xs), Ty::Tuple(ts)) => {
            xs.len() == ts.len() && xs.iter().zip(ts).all(|(x, t)| fits(x, t))
        }
        (v, Ty::MutRef(t)) => fits(v, t),
        (_, Ty::Opaque | Ty::Infer(_)) => true,
        _ => false,
    }
}

/// One argument per parameter, each of the parameter's shape.
fn check_args(f: &Function, args: &[Value]) -> R<()> {
    if args.len() != f.params.len() {
        return Err(format!(
            "{} arguments for {} parameters",
            args.len(),
            f.params.len()
        ));
    }
    for (i, (p, a)) in f.params.iter().zip(args).enumerate() {
        if !fits(a, f.ty(p.var)) {
            return Err(format!(
                "argument {i} is {}, the parameter {} is {:?}",
                a.kind(),
                f.var(p.var).name,
                f.ty(p.var)
            ));
        }
    }
    Ok(())
}

/// Whether each argument is passed as its parameter receives it: a `&mut` parameter gets
/// `&mut place` and no other parameter does.
fn check_passing(callee: &Function, call: &Call) -> R<()> {
    if call.args.len() != callee.params.len() {
        return Err(format!(
            "{} arguments for {} parameters",
            call.args.len(),
            callee.params.len()
        ));
    }
    for (i, (a, p)) in call.args.iter().zip(&callee.params).enumerate() {
        let by_mut = matches!(a, Arg::MutRef(_) | Arg::MutView(..));
        if by_mut != (p.passing == Passing::MutRef) {
            return Err(format!(
                "argument {i} is {}passed by `&mut`, the parameter `{}` is {}a `&mut` buffer",
                if by_mut { "" } else { "not " },
                callee.var(p.var).name,
                if by_mut { "not " } else { "" },
            ));
        }
    }
    Ok(())
}

fn rnd(f32: bool, x: f64) -> f64 {
    if f32 {
        x as f32 as f64
    } else {
        x
    }
}

fn round_all(v: Value) -> Value {
    match v {
        Value::Float(x) => Value::Float(x as f32 as f64),
        Value::Seq(xs) => Value::Seq(xs.into_iter().map(round_all).collect()),
        Value::Tuple(xs) => Value::Tuple(xs.into_iter().map(round_all).collect()),
        Value::Stack(xs) => Value::Stack(xs.into_iter().map(round_all).collect()),
        Value::Struct(fs) => {
            Value::Struct(fs.into_iter().map(|(n, x)| (n, round_all(x))).collect())
        }
        Value::Matrix { rows, data } => Value::Matrix {
            rows,
            data: data.into_iter().map(round_all).collect(),
        },
        v => v,
    }
}

fn max_abs(v: &Value) -> f64 {
    match v {
        Value::Float(x) if !x.is_nan() => x.abs(),
        Value::Seq(xs) | Value::Tuple(xs) | Value::Matrix { data: xs, .. } => {
            xs.iter().map(max_abs).fold(0.0, f64::max)
        }
        Value::Struct(fs) => fs.iter().map(|(_, x)| max_abs(x)).fold(0.0, f64::max),
        _ => 0.0,
    }
}

/// Whether `clamp`'s bounds are ordered (Rust's `clamp` panics otherwise).
fn clamp_ordered(xs: &[f64]) -> bool {
    use std::cmp::Ordering::{Equal, Less};
    match xs {
        [_, lo, hi] => matches!(lo.partial_cmp(hi), Some(Less | Equal)),
        _ => false,
    }
}

/// -1, 0 or 1 (and 2 for NaN): the side of a kink.
fn sign_class(d: f64) -> u64 {
    if d.is_nan() {
        2
    } else if d > 0.0 {
        1
    } else if d < 0.0 {
        u64::MAX
    } else {
        0
    }
}

/// `old += v` (or `-=`) on scalars.
fn accumulate(old: Value, v: Value, negate: bool, round: impl Fn(f64) -> f64) -> R<Value> {
    Ok(match (old, v) {
        (Value::Float(a), Value::Float(b)) => {
            Value::Float(round(if negate { a - b } else { a + b }))
        }
        (Value::Int(a), Value::Int(b)) => {
            let r = if negate {
                a.checked_sub(b)
            } else {
                a.checked_add(b)
            };
            Value::Int(r.ok_or("integer overflow in `+=`")?)
        }
        (a, b) => return Err(format!("`+=` of {} into {}", b.kind(), a.kind())),
    })
}

/// `grad::runtime::scaled`: `d * p`, and 0 where `d` is 0.
fn scaled(f32: bool, d: f64, p: f64) -> f64 {
    if d == 0.0 {
        0.0
    } else {
        rnd(f32, d * p)
    }
}

/// `grad_runtime::kernels::axpy` on `f64` or `f32`.
fn axpy(f32: bool, alpha: f64, xs: &[f64], ys: &mut [f64]) {
    if f32 {
        let x32: Vec<f32> = xs.iter().map(|x| *x as f32).collect();
        let mut y32: Vec<f32> = ys.iter().map(|y| *y as f32).collect();
        grad_runtime::kernels::axpy(alpha as f32, &x32, &mut y32);
        for (y, v) in ys.iter_mut().zip(y32) {
            *y = v as f64;
        }
    } else {
        grad_runtime::kernels::axpy(alpha, xs, ys);
    }
}

/// The floats of a sequence of floats, if it is one.
fn float_seq(xs: &[Value]) -> Option<Vec<f64>> {
    xs.iter().map(Value::as_f64).collect()
}

/// `Differentiable::add_scaled`: a float leaf gets `scaled(x, alpha)`, a sequence of floats
/// the axpy kernel (nothing added for a zero `alpha`), anything else recurses; integers and
/// booleans are left alone.
fn add_scaled(f32: bool, y: &mut Value, alpha: f64, x: &Value) -> R<()> {
    match (y, x) {
        (Value::Float(a), Value::Float(b)) => *a = rnd(f32, *a + scaled(f32, *b, alpha)),
        (Value::Seq(ys), Value::Seq(xs)) => {
            if ys.len() != xs.len() {
                return Err(format!(
                    "add_scaled: shapes differ (lengths {} and {})",
                    ys.len(),
                    xs.len()
                ));
            }
            match (float_seq(ys), float_seq(xs)) {
                (Some(mut yf), Some(xf)) if !ys.is_empty() => {
                    axpy(f32, alpha, &xf, &mut yf);
                    *ys = yf.into_iter().map(Value::Float).collect();
                }
                _ => {
                    for (a, b) in ys.iter_mut().zip(xs) {
                        add_scaled(f32, a, alpha, b)?;
                    }
                }
            }
        }
        (Value::Tuple(ys), Value::Tuple(xs)) if ys.len() == xs.len() => {
            for (a, b) in ys.iter_mut().zip(xs) {
                add_scaled(f32, a, alpha, b)?;
            }
        }
        (Value::Struct(ys), Value::Struct(xs)) if ys.len() == xs.len() => {
            for ((_, a), (_, b)) in ys.iter_mut().zip(xs) {
                add_scaled(f32, a, alpha, b)?;
            }
        }
        (Value::Matrix { rows: r, data: ys }, Value::Matrix { rows: r2, data: xs }) => {
            if (*r, ys.len()) != (*r2, xs.len()) {
                return Err("add_scaled: matrix shapes differ".into());
            }
            let (Some(mut yf), Some(xf)) = (float_seq(ys), float_seq(xs)) else {
                return Err("add_scaled: a matrix of non-floats".into());
            };
            axpy(f32, alpha, &xf, &mut yf);
            *ys = yf.into_iter().map(Value::Float).collect();
        }
        (Value::Int(_), Value::Int(_)) | (Value::Bool(_), Value::Bool(_)) => {}
        (y, x) => return Err(format!("add_scaled of {} into {}", x.kind(), y.kind())),
    }
    Ok(())
}

/// `Differentiable::scale`: floats become `scaled(y, alpha)`; a sequence of floats uses the
/// scale kernel (a plain product for a finite `alpha`).
fn scale(f32: bool, y: &mut Value, alpha: f64) {
    match y {
        Value::Float(a) => *a = scaled(f32, *a, alpha),
        Value::Seq(ys) | Value::Matrix { data: ys, .. }
            if alpha.is_finite() && float_seq(ys).is_some() =>
        {
            for v in ys.iter_mut() {
                if let Value::Float(a) = v {
                    *a = rnd(f32, *a * alpha);
                }
            }
        }
        Value::Seq(ys) | Value::Tuple(ys) | Value::Stack(ys) | Value::Matrix { data: ys, .. } => {
            ys.iter_mut().for_each(|v| scale(f32, v, alpha))
        }
        Value::Struct(fs) => fs.iter_mut().for_each(|(_, v)| scale(f32, v, alpha)),
        Value::Int(_) | Value::Bool(_) | Value::Unit => {}
    }
}

/// `Differentiable::sum`: `0 + s0 + s1 + ...` over the parts, in flat order.
fn sum(f32: bool, v: &Value) -> f64 {
    match v {
        Value::Float(x) => *x,
        Value::Seq(xs) | Value::Tuple(xs) | Value::Stack(xs) | Value::Matrix { data: xs, .. } => {
            xs.iter().fold(0.0, |acc, x| rnd(f32, acc + sum(f32, x)))
        }
        Value::Struct(fs) => fs
            .iter()
            .fold(0.0, |acc, (_, x)| rnd(f32, acc + sum(f32, x))),
        Value::Int(_) | Value::Bool(_) | Value::Unit => 0.0,
    }
}

/// The floats `run.place[run.start..run.start + n]`.
fn run_floats(fr: &Frame, run: &Run, n: usize) -> R<Vec<f64>> {
    let start = index(fr.int(&run.start)?)?;
    let v = fr.read(&run.place)?;
    let (lo, hi) = sub_range(v, Some(start as i64), Some((start + n) as i64))?;
    let Value::Seq(xs) = v else {
        return Err("a run of a non-sequence".into());
    };
    float_seq(&xs[lo..hi]).ok_or_else(|| "a kernel over a sequence of non-floats".into())
}

/// `Default::default()` of a type (`placeholder`), or the zero code generation declares a
/// never-assigned result with (`placeholder == false`: only types with a known zero).
fn default_of(ty: &Ty, placeholder: bool) -> R<Value> {
    use crate::shape::SeqKind;
    Ok(match ty {
        Ty::Float => Value::Float(0.0),
        Ty::Int => Value::Int(0),
        Ty::Bool => Value::Bool(false),
        Ty::Unit => Value::Unit,
        Ty::Seq(SeqKind::Array(Len::Lit(n)), e) => {
            Value::Seq(vec![default_of(e, placeholder)?; *n])
        }
        Ty::Seq(_, _) if placeholder => Value::Seq(Vec::new()),
        Ty::Stack(_) if placeholder => Value::Stack(Vec::new()),
        Ty::Tuple(ts) => Value::Tuple(
            ts.iter()
                .map(|t| default_of(t, placeholder))
                .collect::<R<Vec<_>>>()?,
        ),
        // Only rustc knows the type: the program overwrites the value before reading it, so
        // any value does (a read of it fails as a mismatch).
        Ty::Opaque | Ty::Struct(_) | Ty::Matrix if placeholder => Value::Unit,
        t => return Err(format!("no default value of type {t:?}")),
    })
}

/// `x as t` for a float: truncation, saturating at the type's bounds, NaN to 0.
fn float_to_int(x: f64, t: &str) -> R<i64> {
    let (lo, hi) = int_range(t)?;
    if x.is_nan() {
        return Ok(0);
    }
    Ok((x.trunc().max(lo as f64).min(hi as f64)) as i64)
}

/// `n as t` for an integer: wrapping into the type (an unrepresentable result is an error).
fn int_to_int(n: i64, t: &str) -> R<i64> {
    let wrapped = match t {
        "u8" => n as u8 as i64,
        "u16" => n as u16 as i64,
        "u32" => n as u32 as i64,
        "i8" => n as i8 as i64,
        "i16" => n as i16 as i64,
        "i32" => n as i32 as i64,
        "i64" | "isize" | "i128" => n,
        "u64" | "usize" | "u128" if n >= 0 => n,
        "u64" | "usize" | "u128" => return Err(format!("{n} as {t} is out of range")),
        _ => return Err(format!("unknown integer type {t}")),
    };
    Ok(wrapped)
}

fn int_range(t: &str) -> R<(i64, i64)> {
    Ok(match t {
        "u8" => (0, u8::MAX as i64),
        "u16" => (0, u16::MAX as i64),
        "u32" => (0, u32::MAX as i64),
        "u64" | "usize" | "u128" => (0, i64::MAX),
        "i8" => (i8::MIN as i64, i8::MAX as i64),
        "i16" => (i16::MIN as i64, i16::MAX as i64),
        "i32" => (i32::MIN as i64, i32::MAX as i64),
        "i64" | "isize" | "i128" => (i64::MIN, i64::MAX),
        _ => return Err(format!("unknown integer type {t}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::compile::compile_library;
    use proc_macro2::Span;

    fn lowered(src: &str) -> (Function, Registry) {
        let (cs, reg) = compile_library(src).expect("compiles");
        (cs.last().expect("a function").lowered.func.clone(), reg)
    }

    fn scalar(o: &Outcome) -> f64 {
        o.returns[0].as_f64().expect("a float")
    }

    #[test]
    fn f32_functions_round_after_each_operation() {
        let (f, reg) = lowered("fn f(x: f32) -> f32 { x * 0.1 + 1.0 }");
        let o = run(&f, vec![Value::Float(3.0)], &reg).unwrap();
        assert_eq!(scalar(&o), (3.0f32 * 0.1f32 + 1.0f32) as f64);
        let (g, reg) = lowered("fn g(x: f64) -> f64 { x * 0.1 + 1.0 }");
        let o = run(&g, vec![Value::Float(3.0)], &reg).unwrap();
        assert_eq!(scalar(&o), 3.0f64 * 0.1 + 1.0);
    }

    #[test]
    fn runtime_errors_are_errors() {
        let (f, reg) = lowered("fn f(a: &[f64], i: usize) -> f64 { a[i] }");
        let e = run(&f, vec![Value::floats(&[1.0]), Value::Int(3)], &reg).unwrap_err();
        assert!(e.contains("out of bounds"), "{e}");
        let (f, reg) = lowered("fn f(x: f64) -> f64 { g(x) }");
        let e = run(&f, vec![Value::Float(1.0)], &reg).unwrap_err();
        assert!(e.contains("unknown function `g`"), "{e}");
        let (f, reg) =
            lowered("fn f(x: f64, n: usize) -> f64 { let mut k = 0; while k < n { k += 0; } x }");
        let limits = Limits {
            steps: 1000,
            ..Limits::default()
        };
        let e = run_with(&f, vec![Value::Float(1.0), Value::Int(2)], &reg, limits).unwrap_err();
        assert!(e.contains("step limit"), "{e}");
        let (f, reg) = lowered("fn f(x: f64, n: usize) -> f64 { x * ((n * n * n * n) as f64) }");
        let e = run(&f, vec![Value::Float(1.0), Value::Int(1 << 20)], &reg).unwrap_err();
        assert!(e.contains("overflow"), "{e}");
        let e = run(&f, vec![Value::Float(1.0)], &reg).unwrap_err();
        assert!(e.contains("arguments"), "{e}");
    }

    /// A function of one `&mut [f64]` buffer `y` and a float `x`, with `body` built over
    /// their variables.
    fn with_buffer(body: impl FnOnce(VarId, VarId) -> Block) -> Function {
        let mut f = Function::new(FloatTy::F64);
        let s = Span::call_site();
        let y = f.add_var(
            "y",
            Ty::MutRef(Box::new(Ty::float_slice())),
            s,
            Origin::Param(0),
        );
        let x = f.add_var("x", Ty::Float, s, Origin::Param(1));
        f.params.push(Param {
            var: y,
            passing: Passing::MutRef,
            written: syn::parse_quote!(&mut [f64]),
        });
        f.params.push(Param {
            var: x,
            passing: Passing::Value,
            written: syn::parse_quote!(f64),
        });
        f.body = body(y, x);
        f
    }

    #[test]
    fn kernels_keep_zeros_zero() {
        let f = with_buffer(|y, x| {
            vec![
                Stmt::Sweep(Sweep::Kernel(Kernel::ScaleAll {
                    alpha: Atom::Var(x),
                    y: Place::var(y).deref(),
                })),
                Stmt::Sweep(Sweep::Kernel(Kernel::AxpyAll {
                    alpha: Atom::Float(0.0),
                    x: Place::var(y).deref(),
                    y: Place::var(y).deref(),
                })),
            ]
        });
        let reg = Registry::new();
        let o = run(
            &f,
            vec![Value::floats(&[0.0, 2.0]), Value::Float(f64::INFINITY)],
            &reg,
        )
        .unwrap();
        let got = o.buffers[0].flat();
        assert_eq!(got[0], 0.0, "0 * inf is kept 0");
        assert_eq!(got[1], f64::INFINITY);
    }

    #[test]
    fn stacks_push_pop_and_fail_when_empty() {
        let mut f = with_buffer(|_, _| Vec::new());
        let s = Span::call_site();
        let st = f.add_var("stack", Ty::Stack(Box::new(Ty::Float)), s, Origin::Temp);
        let t = f.add_var("t", Ty::Float, s, Origin::Temp);
        let x = f.params[1].var;
        let pop = Stmt::Sweep(Sweep::Pop {
            stack: st,
            place: Place::var(t),
        });
        f.body = vec![
            Stmt::Assign {
                target: st,
                op: Op::Seq(Vec::new(), SeqForm::Vec),
                span: s,
            },
            Stmt::Sweep(Sweep::Push {
                stack: st,
                value: Atom::Var(x),
            }),
            pop.clone(),
        ];
        f.returns = vec![t];
        let reg = Registry::new();
        let args = vec![Value::floats(&[]), Value::Float(2.5)];
        assert_eq!(scalar(&run(&f, args.clone(), &reg).unwrap()), 2.5);
        f.body.push(pop);
        let e = run(&f, args, &reg).unwrap_err();
        assert!(e.contains("empty stack"), "{e}");
    }

    #[test]
    fn mut_buffers_are_copied_in_and_out() {
        let src = "#[derive_gradient] fn g(x: f64, a: &[f64]) -> f64 { x * a[0] + a[1] }
                   #[derive_gradient] fn f(x: f64, a: &[f64]) -> f64 { g(x, &a[1..]) }";
        let (cs, reg) = compile_library(src).unwrap();
        let pb = cs[1].companion("pullback").unwrap();
        let args = vec![
            Value::Float(2.0),
            Value::floats(&[1.0, 3.0, 4.0]),
            Value::Float(1.0),
            Value::Float(0.5),
            Value::floats(&[10.0, 10.0, 10.0]),
        ];
        let o = run(pb, args, &reg).unwrap();
        assert_eq!(scalar(&o), 2.0 * 3.0 + 4.0);
        // d/dx = a[1] = 3 added to 0.5; d/da = [0, x, 1] added to 10s.
        assert_eq!(o.buffers[0], Value::Float(3.5));
        assert_eq!(o.buffers[1], Value::floats(&[10.0, 12.0, 11.0]));
    }

    #[test]
    fn chunked_loops_sum_their_chunks_in_order() {
        // n = 3000: six chunks. A loss over samples, its gradient in chunks (`parallel`)
        // against the same companion in one piece, and against the closed form.
        let body = "(w: &[f64], b: f64, x: &[f64], n: usize) -> f64 {
            let mut c = 0.0;
            let mut m = 0;
            for i in 0..n {
                let z = w[0] * x[i] + w[1] + b;
                c += z * z;
                m += 1;
            }
            c / m as f64
        }";
        let one = format!("#[derive_gradient(wrt(w, b))] fn f{body}");
        let par = format!("#[derive_gradient(parallel, wrt(w, b))] fn f{body}");
        let n = 3000usize;
        let xs: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let (w, b) = ([0.5, -0.25], 0.125);
        let args = || {
            vec![
                Value::floats(&w),
                Value::Float(b),
                Value::floats(&xs),
                Value::Int(n as i64),
                Value::floats(&[0.0, 0.0]),
                Value::Float(0.0),
            ]
        };
        let grad_of = |src: &str| {
            let (cs, reg) = compile_library(src).unwrap();
            let gi = cs[0].companion("grad_into").unwrap();
            let o = run(gi, args(), &reg).unwrap();
            (scalar(&o), o.buffers.clone(), o.stats)
        };
        let (v1, g1, _) = grad_of(&one);
        let (vp, gp, stats) = grad_of(&par);
        assert!(stats.constructs.get("chunked").copied().unwrap_or(0) > 0);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + a.abs());
        assert!(close(v1, vp));
        // d/dw0 = 2/n sum z x, d/dw1 = d/db = 2/n sum z.
        let z = |i: usize| w[0] * xs[i] + w[1] + b;
        let dw0 = (0..n).map(|i| 2.0 * z(i) * xs[i]).sum::<f64>() / n as f64;
        let db = (0..n).map(|i| 2.0 * z(i)).sum::<f64>() / n as f64;
        for g in [&g1, &gp] {
            let Value::Seq(gw) = &g[0] else { panic!() };
            assert!(close(gw[0].as_f64().unwrap(), dw0));
            assert!(close(gw[1].as_f64().unwrap(), db));
            assert!(close(g[1].as_f64().unwrap(), db));
        }
    }

    #[test]
    fn traces_record_decisions_and_kinks() {
        let (f, reg) =
            lowered("fn f(x: f64) -> f64 { if x > 1.0 { x.abs() } else { x.max(0.5) } }");
        let run_at = |x: f64| run(&f, vec![Value::Float(x)], &reg).unwrap().stats;
        assert_eq!(run_at(2.0).trace, run_at(3.0).trace);
        assert_ne!(run_at(2.0).trace, run_at(0.7).trace);
        assert_ne!(
            run_at(0.7).trace,
            run_at(0.3).trace,
            "the side of max's kink"
        );
        assert!((run_at(0.6).min_kink - 0.1).abs() < 1e-12);
    }
}
