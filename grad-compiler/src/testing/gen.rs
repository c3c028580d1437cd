//! The random-program generator: Rust source text of functions in the language the macro
//! accepts, so the property tests go through the real lowering.
//!
//! A [`Program`] is a small library: helper functions (annotated, called by what follows)
//! and a main function
//! `fn f(x0: f64, x1: f64, x2: f64, a: &[f64], b: [f64; 3], n: usize, idx: &[usize]) -> R`
//! with `R` one of `f64`, `[f64; 2]`, `(f64, f64)`, `Vec<f64>`; the inputs satisfy
//! `a.len() == n >= 1`, `idx.len() == 4` and `idx[k] < n`. Bodies use every float primitive
//! of [`crate::rules::RULES`] (methods, the `f64::name(x)` form, operators), with operands
//! drawn by each rule's [`Domain`] (`x.abs() + 0.5` for a positive one); `let`/`let mut`
//! chains and shadowing; `if`/`else` on comparisons with `&&`, `||`, `!`; `for` loops over
//! ranges and over sequences (`for (j, &v) in a.iter().enumerate()`) with sum-reductions
//! and carried state; `while` loops with a counter and a data-dependent condition; `loop`
//! with `break` (and `break value`); `continue`, `break` and `return` inside loops and
//! nested `if`s; `match` on integers with ranges, guards and `_`; local arrays and `vec!`s
//! with element updates; iterator chains (`map`, `sum`, `product`, `zip`, `enumerate`,
//! `fold`, `rev`, `skip`, `take`, `step_by`, `windows`, `chunks`, `collect`); closures bound
//! with `let` and called; tuples, `.0` and tuple patterns; calls of the helpers (results
//! `f64`, `[f64; 2]`, `(f64, f64)`; arguments by value, `&v`, `&v[1..]`); float-dependent
//! indices (`(x.abs() * 2.0) as usize % n`); nested arrays (`[[f64; 3]; 2]` locals and
//! helper parameters: `m[i][j]`, element updates, rows iterated, nested loops) and struct
//! fields (locals and `&Rec` helper parameters of [`REC_DEF`]: `r.a`, `r.v[j]`, field
//! updates); the options `wrt(..)`, `strict`, `parallel`, `hessian`, `forward`.
//! Some identifiers are the names the generated code uses ([`Binder::example`], `t1`,
//! `adj_x0`), so name capture shows.
//!
//! Everything is deterministic from a seed ([`Rng`], xorshift). Bodies are kept as trees of
//! [`Node`]s so a failing program can be minimised by dropping statements. Every generated
//! program is also valid Rust (checked with rustc on 1000 programs through the `GRAD_DUMP`
//! aid below).

use crate::names::Binder;
use crate::rules::{Domain, Prim, Syntax, Types};

/// A small deterministic random number generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed: nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng {
            state: (z ^ (z >> 31)) | 1,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A float in `[lo, hi)`.
    pub fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// One of `xs` (which must not be empty).
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// A statement of a generated body: a line, or a construct with nested bodies.
#[derive(Clone, Debug)]
pub enum Node {
    /// A whole statement on one line.
    Line(String),
    /// `head0 { body0 } head1 { body1 } .. end`: each part is a header (`if c {`,
    /// `} else {`) and the statements after it.
    Nested {
        /// The headers and their bodies.
        parts: Vec<(String, Vec<Node>)>,
        /// What closes the construct (`}` or `};`).
        end: String,
    },
}

/// A generated function.
#[derive(Clone, Debug)]
pub struct FnDef {
    /// The attribute's arguments (`hessian`, `wrt(x0)`, or nothing).
    pub attr: String,
    /// Its name.
    pub name: String,
    /// Its parameters, as `name: type`.
    pub params: Vec<String>,
    /// Its result type.
    pub ret: String,
    /// Its statements.
    pub body: Vec<Node>,
    /// Its final expression.
    pub tail: String,
}

/// The result type of a generated function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// `f64`.
    Scalar,
    /// `[f64; 2]`.
    Array,
    /// `(f64, f64)`.
    Tuple,
    /// `Vec<f64>`.
    Vec,
}

impl Ret {
    fn written(self) -> &'static str {
        match self {
            Ret::Scalar => "f64",
            Ret::Array => "[f64; 2]",
            Ret::Tuple => "(f64, f64)",
            Ret::Vec => "Vec<f64>",
        }
    }
}

/// A generated library: helpers, then the main function.
#[derive(Clone, Debug)]
pub struct Program {
    /// The helpers, callees first.
    pub helpers: Vec<FnDef>,
    /// The main function (its parameters are [`MAIN_PARAMS`], maybe renamed).
    pub main: FnDef,
    /// The main function's parameter names, in [`MAIN_PARAMS`] order.
    pub names: Vec<String>,
    /// The main function's result type.
    pub ret: Ret,
    /// Whether the main function has `hessian`.
    pub hessian: bool,
}

/// The main function's parameters: three floats, a slice, an array, a count, indices.
pub const MAIN_PARAMS: [(&str, &str); 7] = [
    ("x0", "f64"),
    ("x1", "f64"),
    ("x2", "f64"),
    ("a", "&[f64]"),
    ("b", "[f64; 3]"),
    ("n", "usize"),
    ("idx", "&[usize]"),
];

/// The length of `idx`.
pub const IDX_LEN: usize = 4;

impl FnDef {
    /// The function's source.
    pub fn source(&self) -> String {
        let mut out = String::new();
        if self.attr.is_empty() {
            out.push_str("#[derive_gradient]\n");
        } else {
            out.push_str(&format!("#[derive_gradient({})]\n", self.attr));
        }
        out.push_str(&format!(
            "fn {}({}) -> {} {{\n",
            self.name,
            self.params.join(", "),
            self.ret
        ));
        write_nodes(&self.body, 1, &mut out);
        out.push_str(&format!("    {}\n}}\n", self.tail));
        out
    }
}

fn write_nodes(nodes: &[Node], depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    for n in nodes {
        match n {
            Node::Line(s) => out.push_str(&format!("{pad}{s}\n")),
            Node::Nested { parts, end } => {
                for (head, body) in parts {
                    out.push_str(&format!("{pad}{head}\n"));
                    write_nodes(body, depth + 1, out);
                }
                out.push_str(&format!("{pad}{end}\n"));
            }
        }
    }
}

impl Program {
    /// The whole library's source, helpers first.
    pub fn source(&self) -> String {
        let mut out = String::new();
        if self.uses_rec() {
            out.push_str(REC_DEF);
            out.push('\n');
        }
        for h in &self.helpers {
            out.push_str(&h.source());
            out.push('\n');
        }
        out.push_str(&self.main.source());
        out
    }

    /// Whether a function mentions the struct [`REC_DEF`].
    pub fn uses_rec(&self) -> bool {
        let mentions = |f: &FnDef| {
            f.params.iter().any(|p| p.contains("Rec"))
                || format!("{:?}{}", f.body, f.tail).contains("Rec {")
        };
        self.helpers.iter().any(mentions) || mentions(&self.main)
    }

    /// Smaller programs: each with one statement (anywhere, nested ones too) or one unused
    /// helper removed. For minimising a failure.
    pub fn smaller(&self) -> Vec<Program> {
        let mut out = Vec::new();
        for i in 0..self.helpers.len() {
            let mut p = self.clone();
            p.helpers.remove(i);
            out.push(p);
        }
        for variant in without_one(&self.main.body) {
            let mut p = self.clone();
            p.main.body = variant;
            out.push(p);
        }
        for (h, def) in self.helpers.iter().enumerate() {
            for variant in without_one(&def.body) {
                let mut p = self.clone();
                p.helpers[h].body = variant;
                out.push(p);
            }
        }
        out
    }
}

/// Every copy of `nodes` with one statement removed (at any depth).
fn without_one(nodes: &[Node]) -> Vec<Vec<Node>> {
    let mut out = Vec::new();
    for i in 0..nodes.len() {
        let mut v = nodes.to_vec();
        v.remove(i);
        out.push(v);
        if let Node::Nested { parts, end } = &nodes[i] {
            for (k, (_, body)) in parts.iter().enumerate() {
                for inner in without_one(body) {
                    let mut parts2 = parts.clone();
                    parts2[k].1 = inner;
                    let mut v = nodes.to_vec();
                    v[i] = Node::Nested {
                        parts: parts2,
                        end: end.clone(),
                    };
                    out.push(v);
                }
            }
        }
    }
    out
}

/// How long a sequence is: what an index into it must stay below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Len {
    /// `n` (`a`, `vec![..; n]`, `a.to_vec()`).
    N,
    /// 3 (`b`, `[..; 3]`).
    Three,
    /// 2 (a helper's `[f64; 2]` result).
    Two,
}

impl Len {
    fn min(self) -> usize {
        match self {
            Len::N => 1,
            Len::Three => 3,
            Len::Two => 2,
        }
    }
}

/// A float sequence in scope.
#[derive(Clone, Debug)]
struct SeqVar {
    name: String,
    len: Len,
    mutable: bool,
    /// A fixed-size array (`[f64; 3]`), not a `Vec` or a slice.
    array: bool,
}

/// An integer in scope and the length it is known to stay below.
#[derive(Clone, Debug)]
struct IntVar {
    name: String,
    below: Option<Len>,
}

/// A float in scope.
#[derive(Clone, Debug)]
struct FloatVar {
    name: String,
    mutable: bool,
}

/// The struct the programs use: derived `Differentiable`, a float and an array field.
pub const REC_DEF: &str =
    "#[derive(Clone, Debug, grad::Differentiable)]\nstruct Rec {\n    a: f64,\n    v: [f64; 3],\n}\n";

/// What is in scope.
#[derive(Clone, Debug, Default)]
struct Scope {
    floats: Vec<FloatVar>,
    ints: Vec<IntVar>,
    seqs: Vec<SeqVar>,
    /// `[[f64; 3]; 2]` values, and whether each is mutable.
    grids: Vec<(String, bool)>,
    /// `Rec` values (or `&Rec`), and whether each is mutable.
    records: Vec<(String, bool)>,
    tuples: Vec<String>,
    closures: Vec<(String, usize)>,
    /// `idx`, when in scope.
    idx: Option<String>,
    /// `n`, when in scope.
    n: Option<String>,
}

/// A parameter kind of a helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PKind {
    Float,
    Slice,
    Array3,
    Count,
    /// `[[f64; 3]; 2]`.
    Grid,
    /// `&Rec`.
    Rec,
}

/// A helper's signature, for calls.
#[derive(Clone, Debug)]
struct Helper {
    name: String,
    params: Vec<PKind>,
    ret: Ret,
}

/// An expression and whether it is made of literals only (then its type is an ambiguous
/// `{float}` for rustc: no method calls on it, and a type on its `let`).
#[derive(Clone, Debug)]
struct E {
    s: String,
    lit: bool,
}

impl E {
    fn var(s: impl Into<String>) -> E {
        E {
            s: s.into(),
            lit: false,
        }
    }
}

/// Float literals.
const LITS: [&str; 9] = [
    "0.5", "1.0", "2.0", "1.5", "0.25", "3.0", "0.75", "1.25", "0.1",
];
/// Named constants.
const CONSTS: [&str; 6] = [
    "std::f64::consts::PI",
    "std::f64::consts::E",
    "core::f64::consts::LN_2",
    "std::f64::consts::FRAC_1_SQRT_2",
    "f64::EPSILON",
    "std::f64::consts::SQRT_2",
];

/// How big a program gets.
const EXPR_DEPTH: usize = 3;
const BLOCK_DEPTH: usize = 2;

/// The generator's state for one function.
struct Gen<'r> {
    rng: &'r mut Rng,
    scope: Scope,
    /// Names used anywhere in the program (every name is fresh).
    used: Vec<String>,
    /// Names of the parameters (for `adj_` + name locals).
    params: Vec<String>,
    /// The helpers this function may call.
    helpers: Vec<Helper>,
    /// Enclosing loops, the desugared loop of an iterator chain's closure included
    /// (`break` and `continue` may appear in statements: every counter steps first).
    loops: usize,
    /// The function's result type.
    ret: Ret,
    /// Whether a `let`-bound closure's body is being generated (it is inlined where it is
    /// called, maybe inside a loop).
    in_closure: bool,
    /// Statement nesting depth.
    depth: usize,
    /// The last number given to a fresh name.
    counter: usize,
}

impl Gen<'_> {
    /// A name used nowhere else in the program: `plain` numbered, or sometimes a name the
    /// generated code uses itself.
    fn fresh(&mut self, plain: &str) -> String {
        if self.rng.chance(0.3) {
            let candidates = self.capture_names();
            let c = self.rng.pick(&candidates).clone();
            if !self.used.contains(&c) {
                self.used.push(c.clone());
                return c;
            }
        }
        loop {
            self.counter += 1;
            let s = format!("{plain}{}", self.counter);
            if !self.used.contains(&s) {
                self.used.push(s.clone());
                return s;
            }
        }
    }

    /// Names the generated code introduces: the binders' examples, numbered temporaries,
    /// and binder names of this function's parameters (`adj_x0`).
    fn capture_names(&mut self) -> Vec<String> {
        let mut out: Vec<String> = Binder::ALL.iter().map(|b| b.example()).collect();
        out.extend(["t1", "t2", "t3"].map(String::from));
        if !self.params.is_empty() {
            let p = self.rng.pick(&self.params).clone();
            let b = *self.rng.pick(Binder::ALL);
            out.push(b.name(&p));
        }
        out
    }

    // ----- expressions ---------------------------------------------------------------------

    fn lit(&mut self) -> E {
        E {
            s: self.rng.pick(&LITS).to_string(),
            lit: true,
        }
    }

    /// A float leaf: a variable, a literal, a constant, an element, a cast, a tuple field.
    fn leaf(&mut self) -> E {
        loop {
            match self.rng.below(14) {
                0..=4 if !self.scope.floats.is_empty() => {
                    let v = self.rng.pick(&self.scope.floats).name.clone();
                    return E::var(v);
                }
                5 => return self.lit(),
                6 if self.rng.chance(0.3) => {
                    return E {
                        s: self.rng.pick(&CONSTS).to_string(),
                        lit: true,
                    }
                }
                7 | 8 if !self.scope.seqs.is_empty() => {
                    let s = self.rng.pick(&self.scope.seqs).clone();
                    let i = self.index(s.len);
                    return E::var(format!("{}[{i}]", s.name));
                }
                9 if !self.scope.ints.is_empty() || self.scope.n.is_some() => {
                    let i = self.uint();
                    return E::var(format!("({i} as f64)"));
                }
                10 if !self.scope.tuples.is_empty() => {
                    let t = self.rng.pick(&self.scope.tuples).clone();
                    return E::var(format!("{t}.{}", self.rng.below(2)));
                }
                11 if !self.scope.closures.is_empty() && self.depth < 3 => {
                    let (c, arity) = self.rng.pick(&self.scope.closures).clone();
                    let args: Vec<String> = (0..arity).map(|_| self.leaf().s).collect();
                    return E::var(format!("{c}({})", args.join(", ")));
                }
                12 if !self.scope.grids.is_empty() => {
                    let m = self.rng.pick(&self.scope.grids).0.clone();
                    let (i, j) = (self.index(Len::Two), self.index(Len::Three));
                    return E::var(format!("{m}[{i}][{j}]"));
                }
                13 if !self.scope.records.is_empty() => {
                    let r = self.rng.pick(&self.scope.records).0.clone();
                    let field = if self.rng.chance(0.4) {
                        format!("{r}.a")
                    } else {
                        let j = self.index(Len::Three);
                        format!("{r}.v[{j}]")
                    };
                    // The macro cannot see a struct parameter's field types: an expression
                    // of such fields alone has no type inference can find (a documented
                    // limitation: "annotate it"), so a parameter's field gets a float.
                    if self.params.contains(&r) {
                        return E::var(format!("({field} + 0.0)"));
                    }
                    return E::var(field);
                }
                _ => {}
            }
        }
    }

    /// A float expression of at most `depth` levels of operations.
    fn expr(&mut self, depth: usize) -> E {
        if depth == 0 || self.rng.chance(0.25) {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(20) {
            0..=7 => self.prim(d),
            8..=10 => {
                let (x, y) = (self.expr(d), self.expr(d));
                let op = *self.rng.pick(&["+", "-", "*", "+", "*"]);
                E {
                    s: format!("({} {op} {})", x.s, y.s),
                    lit: x.lit && y.lit,
                }
            }
            11 => {
                let x = self.expr(d);
                E {
                    s: format!("(-{})", x.s),
                    lit: x.lit,
                }
            }
            12 => {
                let c = self.cond(d);
                let (x, y) = (self.expr(d), self.expr(d));
                E {
                    s: format!("(if {c} {{ {} }} else {{ {} }})", x.s, y.s),
                    lit: x.lit && y.lit,
                }
            }
            13 => self.block_expr(d),
            14 => self.iter_expr(d),
            15 if !self.helpers.is_empty() => self.call_expr(d),
            16 => self.match_expr(d),
            17 if !self.scope.grids.is_empty() || !self.scope.records.is_empty() => {
                self.nested_expr(d)
            }
            _ => self.prim(d),
        }
    }

    /// A float expression that is never literals only.
    fn var_expr(&mut self, depth: usize) -> E {
        for _ in 0..8 {
            let e = self.expr(depth);
            if !e.lit {
                return e;
            }
        }
        match self.scope.floats.first() {
            Some(v) => E::var(v.name.clone()),
            None => E::var("1.0_f64"),
        }
    }

    /// A primitive of the rule table applied to operands drawn from its domains.
    fn prim(&mut self, d: usize) -> E {
        let prims: Vec<Prim> = Prim::all()
            .filter(|p| {
                let r = p.rule();
                r.syntax != Syntax::Runtime && r.types != Types::Int
            })
            .collect();
        let p = *self.rng.pick(&prims);
        let r = p.rule();
        let mut args: Vec<E> = r.domain.iter().map(|dom| self.operand(*dom, d)).collect();
        if r.name == "clamp" {
            // Rust's `clamp` panics unless `min <= max`: the bounds are `lo, lo + width`.
            let width = self.operand(Domain::Positive, d.min(1));
            args[2] = E {
                s: format!("({} + {})", args[1].s, width.s),
                lit: args[1].lit && width.lit,
            };
        }
        let lit = args.iter().all(|a| a.lit);
        let s = match r.syntax {
            Syntax::Binary(op) => format!("({} {op} {})", args[0].s, args[1].s),
            Syntax::Negate => format!("(-{})", args[0].s),
            Syntax::Method | Syntax::TupleOf(_) => {
                let field = match r.syntax {
                    Syntax::TupleOf(_) => ".0",
                    _ => "",
                };
                let rest: Vec<&str> = args[1..].iter().map(|a| a.s.as_str()).collect();
                if args[0].lit || self.rng.chance(0.15) {
                    let all: Vec<&str> = args.iter().map(|a| a.s.as_str()).collect();
                    format!("f64::{}({}){field}", r.name, all.join(", "))
                } else {
                    format!("{}.{}({}){field}", args[0].s, r.name, rest.join(", "))
                }
            }
            Syntax::Runtime => unreachable!("filtered out"),
        };
        E { s, lit }
    }

    /// An operand in `dom`.
    fn operand(&mut self, dom: Domain, d: usize) -> E {
        let e = self.expr(d);
        let s = match dom {
            Domain::Any => return e,
            Domain::Positive => match self.rng.below(3) {
                0 => format!("({} + 0.5)", method(&e, "abs", "")),
                1 => format!("({} + 0.25)", method(&e, "powi", "2")),
                _ => format!("({} + 0.1)", method(&e, "abs", "")),
            },
            Domain::Unit => match self.rng.below(2) {
                0 => format!("({} * 0.9)", method(&e, "tanh", "")),
                _ => format!("({} * 0.8)", method(&e, "sin", "")),
            },
            Domain::AboveOne => match self.rng.below(2) {
                0 => format!("({} + 1.25)", method(&e, "powi", "2")),
                _ => format!("({} + 1.5)", method(&e, "abs", "")),
            },
            Domain::SmallInt => {
                if self.rng.chance(0.2) && !self.scope.ints.is_empty() {
                    let i = self.rng.pick(&self.scope.ints).name.clone();
                    return E::var(format!("(({i} % 4) as i32)"));
                }
                return E {
                    s: self
                        .rng
                        .pick(&["0", "1", "2", "3", "4", "-1", "-2", "2"])
                        .to_string(),
                    lit: true,
                };
            }
            Domain::NonZero => match self.rng.below(3) {
                0 => format!("({} + 0.5)", method(&e, "abs", "")),
                1 => format!("(-({} + 0.5))", method(&e, "abs", "")),
                _ => format!("({} + 0.25)", method(&e, "abs", "")),
            },
        };
        E { s, lit: e.lit }
    }

    /// A condition.
    fn cond(&mut self, d: usize) -> String {
        let c = self.cond_leaf(d);
        match self.rng.below(8) {
            0 => format!("{c} && {}", self.cond_leaf(d)),
            1 => format!("{c} || {}", self.cond_leaf(d)),
            2 => format!("!({c})"),
            _ => c,
        }
    }

    fn cond_leaf(&mut self, d: usize) -> String {
        let op = *self.rng.pick(&["<", "<=", ">", ">=", "<", ">"]);
        if self.rng.chance(0.2) && (!self.scope.ints.is_empty() || self.scope.n.is_some()) {
            let i = self.uint();
            let k = self.rng.below(4);
            return format!("({i}) {op} {k}");
        }
        let x = self.var_expr(d.min(1));
        let y = if self.rng.chance(0.5) {
            self.lit().s
        } else {
            self.expr(d.min(1)).s
        };
        format!("{} {op} {y}", x.s)
    }

    /// A non-negative integer expression (no bound known).
    fn uint(&mut self) -> String {
        let mut choices: Vec<String> = self.scope.ints.iter().map(|i| i.name.clone()).collect();
        if let Some(n) = &self.scope.n {
            choices.push(n.clone());
        }
        let base = if choices.is_empty() {
            format!("{}usize", self.rng.below(4))
        } else {
            self.rng.pick(&choices).clone()
        };
        match self.rng.below(10) {
            0 => format!("({base} + {})", 1 + self.rng.below(3)),
            1 => format!("({base} * 2)"),
            2 => format!("{base}.pow(2)"),
            3 => format!("{base}.min(2)"),
            4 => {
                let e = self.var_expr(1);
                // Kept small: a huge float saturates the cast, and arithmetic on it would
                // overflow (a panic in Rust).
                format!("(((({}).abs() * 2.0) as usize) % 5)", e.s)
            }
            5 if self.scope.idx.is_some() => {
                let idx = self.scope.idx.clone().unwrap_or_default();
                format!("{idx}[{}]", self.rng.below(IDX_LEN))
            }
            _ => base,
        }
    }

    /// An index that stays below `len`.
    fn index(&mut self, len: Len) -> String {
        let fitting: Vec<String> = self
            .scope
            .ints
            .iter()
            .filter(|i| i.below == Some(len) || (i.below == Some(Len::Two) && len == Len::Three))
            .map(|i| i.name.clone())
            .collect();
        let modulus = match (len, &self.scope.n) {
            (Len::N, Some(n)) => n.clone(),
            (Len::N, None) => return "0".into(),
            (Len::Three, _) => "3".into(),
            (Len::Two, _) => "2".into(),
        };
        match self.rng.below(8) {
            0..=3 if !fitting.is_empty() => self.rng.pick(&fitting).clone(),
            4 if len == Len::N && self.scope.idx.is_some() => {
                let idx = self.scope.idx.clone().unwrap_or_default();
                format!("{idx}[{}]", self.rng.below(IDX_LEN))
            }
            5 => format!("{} % {modulus}", self.uint()),
            6 if !fitting.is_empty() && len == Len::N => {
                let i = self.rng.pick(&fitting).clone();
                format!("{modulus} - 1 - {i}")
            }
            _ => self.rng.below(len.min()).to_string(),
        }
    }

    /// `{ let t = e; t * e }`.
    fn block_expr(&mut self, d: usize) -> E {
        let saved = self.scope.clone();
        let t = self.fresh("t");
        let x = self.var_expr(d);
        self.scope.floats.push(FloatVar {
            name: t.clone(),
            mutable: false,
        });
        let y = self.expr(d);
        self.scope = saved;
        E::var(format!("({{ let {t} = {}; {t} * {} }})", x.s, y.s))
    }

    /// A reduction over a nested array or a struct's array field: a row's elements, the
    /// rows (`m.iter().map(|row| row[j] * e)`), both indices in nested loops, a field zipped
    /// with a row.
    fn nested_expr(&mut self, d: usize) -> E {
        let e = self.var_expr(d.min(1));
        let grid = if self.scope.grids.is_empty() {
            None
        } else {
            Some(self.rng.pick(&self.scope.grids).0.clone())
        };
        let rec = if self.scope.records.is_empty() {
            None
        } else {
            Some(self.rng.pick(&self.scope.records).0.clone())
        };
        let (a, b) = (self.fresh("e"), self.fresh("e"));
        let s = match (self.rng.below(4), grid, rec) {
            (0, Some(m), _) => {
                let i = self.index(Len::Two);
                format!("{m}[{i}].iter().map(|&{a}| {a} * {}).sum::<f64>()", e.s)
            }
            (1, Some(m), _) => {
                let j = self.index(Len::Three);
                format!("{m}.iter().map(|{a}| {a}[{j}] * {}).sum::<f64>()", e.s)
            }
            (2, Some(m), _) => {
                let (acc, r, c) = (self.fresh("s"), self.fresh("i"), self.fresh("j"));
                format!(
                    "{{ let mut {acc} = 0.0; for {r} in 0..2 {{ for {c} in 0..3 {{ {acc} += {m}[{r}][{c}] * {}; }} }} {acc} }}",
                    e.s
                )
            }
            (_, Some(m), Some(r)) => {
                let i = self.index(Len::Two);
                format!("{r}.v.iter().zip(&{m}[{i}]).map(|({a}, {b})| {a} * {b}).sum::<f64>()")
            }
            (_, _, Some(r)) => format!(
                "({r}.a * {} + {r}.v.iter().map(|&{a}| {a}.sin()).sum::<f64>())",
                e.s
            ),
            (_, Some(m), None) => format!("{m}[1].iter().map(|&{a}| {a} * {a}).sum::<f64>()"),
            (_, None, None) => return self.prim(d),
        };
        E::var(format!("({s})"))
    }

    /// `match i { 0 => e, 1 | 2 => e, 3..=5 => e, _ => e }`.
    fn match_expr(&mut self, d: usize) -> E {
        let i = self.uint();
        let es: Vec<E> = (0..4).map(|_| self.expr(d)).collect();
        let pats = ["0", "1 | 2", "3..=5"];
        let take = 1 + self.rng.below(3);
        let mut arms = Vec::new();
        for (k, pat) in pats.iter().enumerate().take(take) {
            let guard = if self.rng.chance(0.2) {
                format!(" if {}", self.cond_leaf(0))
            } else {
                String::new()
            };
            arms.push(format!("{pat}{guard} => {}", es[k].s));
        }
        arms.push(format!("_ => {}", es[3].s));
        E {
            s: format!("(match {i} {{ {} }})", arms.join(", ")),
            lit: es[..take].iter().chain(&es[3..]).all(|e| e.lit),
        }
    }

    /// An iterator chain over a sequence in scope.
    fn iter_expr(&mut self, d: usize) -> E {
        if self.scope.seqs.is_empty() {
            return self.prim(d);
        }
        let s = self.rng.pick(&self.scope.seqs).name.clone();
        let other = self.rng.pick(&self.scope.seqs).name.clone();
        let kind = self.rng.below(8);
        // What the closure does not see is generated before its parameters are in scope.
        let init = self.var_expr(d.min(1));
        let saved = self.scope.clone();
        let v = self.bind_float("e");
        // The closure's body runs in a loop (the desugared chain).
        self.loops += 1;
        let out = match kind {
            0 => {
                let body = self.expr(d.min(2));
                format!("{s}.iter().map(|&{v}| {}).sum::<f64>()", body.s)
            }
            1 => {
                let w = self.bind_float("e");
                let body = self.expr(d.min(2));
                format!(
                    "{s}.iter().zip({other}.iter()).map(|(&{v}, &{w})| {}).sum::<f64>()",
                    body.s
                )
            }
            2 => {
                let j = self.fresh("j");
                self.scope.ints.push(IntVar {
                    name: j.clone(),
                    below: None,
                });
                let body = self.expr(d.min(2));
                format!(
                    "{s}.iter().enumerate().map(|({j}, &{v})| {}).sum::<f64>()",
                    body.s
                )
            }
            3 => {
                let acc = self.fresh("acc");
                self.push_float(&acc, false);
                let body = self.expr(d.min(2));
                format!(
                    "{s}.iter().fold({}, |{acc}, &{v}| {acc} * 0.5 + {})",
                    init.s, body.s
                )
            }
            4 => {
                let body = self.expr(d.min(2));
                let adapter = *self
                    .rng
                    .pick(&["rev()", "skip(1)", "take(2)", "step_by(2)"]);
                format!("{s}.iter().{adapter}.map(|&{v}| {}).sum::<f64>()", body.s)
            }
            5 => {
                // Windows and chunks: slices of the sequence (`w[0]` is always there); the
                // closure binds no element.
                self.scope.floats.retain(|f| f.name != v);
                let w = self.fresh("w");
                let body = self.expr(d.min(1));
                let (how, second) = match self.rng.below(2) {
                    0 => ("windows(2)", format!("{w}[1]")),
                    _ => ("chunks(2)", format!("{w}[0]")),
                };
                format!(
                    "{s}.{how}.map(|{w}| {w}[0] * {second} + {}).sum::<f64>()",
                    body.s
                )
            }
            6 => {
                let body = self.expr(d.min(1));
                let factor = method(&body, "tanh", "");
                format!("{s}.iter().map(|&{v}| {factor} + 1.0).product::<f64>()")
            }
            _ => {
                let body = self.expr(d.min(2));
                format!("{s}.iter().copied().map(|{v}| {}).sum::<f64>()", body.s)
            }
        };
        self.loops -= 1;
        self.scope = saved;
        E::var(out)
    }

    /// A fresh immutable float put in scope.
    fn bind_float(&mut self, plain: &str) -> String {
        let v = self.fresh(plain);
        self.push_float(&v, false);
        v
    }

    /// A call of a scalar helper.
    fn call_expr(&mut self, d: usize) -> E {
        let scalar: Vec<Helper> = self
            .helpers
            .iter()
            .filter(|h| h.ret == Ret::Scalar)
            .cloned()
            .collect();
        if scalar.is_empty() {
            return self.prim(d);
        }
        let h = self.rng.pick(&scalar).clone();
        E::var(self.call(&h, d))
    }

    /// `g(args)`. Each sequence is passed at most once per call: passing one array twice,
    /// once as a sub-slice, is a documented limitation (an error of the macro).
    fn call(&mut self, h: &Helper, d: usize) -> String {
        let mut taken = Vec::new();
        let args: Vec<String> = h
            .params
            .iter()
            .map(|k| self.arg(*k, d, &mut taken))
            .collect();
        format!("{}({})", h.name, args.join(", "))
    }

    fn arg(&mut self, k: PKind, d: usize, taken: &mut Vec<String>) -> String {
        let free: Vec<SeqVar> = self
            .scope
            .seqs
            .iter()
            .filter(|s| !taken.contains(&s.name))
            .cloned()
            .collect();
        match k {
            PKind::Float => {
                let e = self.expr(d);
                // The macro cannot see a callee's parameter types: a call result passed on
                // untouched (`g(-g(x))`) has no type inference can find (a documented
                // limitation: "annotate it"), so such an argument gets a float literal.
                let has_call = self
                    .helpers
                    .iter()
                    .any(|h| e.s.contains(&format!("{}(", h.name)));
                if has_call {
                    format!("({} + 0.0)", e.s)
                } else {
                    e.s
                }
            }
            PKind::Count => self.uint(),
            PKind::Slice => {
                if free.is_empty() || self.rng.chance(0.1) {
                    return format!("&[{}, 1.0]", self.var_expr(d).s);
                }
                let s = self.rng.pick(&free).clone();
                taken.push(s.name.clone());
                let is_param = Some(&s.name) == self.params.get(3);
                match self.rng.below(4) {
                    0 if s.len == Len::Three => format!("&{}[1..]", s.name),
                    1 if s.len != Len::N => format!("&{}[..2]", s.name),
                    _ if is_param => s.name,
                    _ => format!("&{}", s.name),
                }
            }
            PKind::Grid => {
                let grids: Vec<String> = self.scope.grids.iter().map(|g| g.0.clone()).collect();
                if !grids.is_empty() && self.rng.chance(0.7) {
                    return self.rng.pick(&grids).clone();
                }
                self.grid_literal(d.min(1))
            }
            PKind::Rec => {
                let recs: Vec<String> = self.scope.records.iter().map(|r| r.0.clone()).collect();
                if !recs.is_empty() && self.rng.chance(0.7) {
                    let r = self.rng.pick(&recs).clone();
                    // A helper's own `&Rec` parameter is a reference already.
                    return if self.params.contains(&r) {
                        r
                    } else {
                        format!("&{r}")
                    };
                }
                format!("&{}", self.rec_literal(d.min(1)))
            }
            PKind::Array3 => {
                let threes: Vec<String> = free
                    .iter()
                    .filter(|s| s.len == Len::Three && s.array)
                    .map(|s| s.name.clone())
                    .collect();
                if !threes.is_empty() && self.rng.chance(0.6) {
                    let s = self.rng.pick(&threes).clone();
                    taken.push(s.clone());
                    s
                } else {
                    let xs: Vec<String> = (0..3).map(|_| self.expr(d.min(1)).s).collect();
                    let e = self.var_expr(0);
                    format!("[{}, {}, {} + {}]", xs[0], xs[1], xs[2], e.s)
                }
            }
        }
    }

    /// A value of the function's result type.
    fn result(&mut self, d: usize) -> String {
        match self.ret {
            Ret::Scalar => self.var_expr(d).s,
            Ret::Array => format!("[{}, {}]", self.var_expr(d).s, self.expr(d).s),
            Ret::Tuple => format!("({}, {})", self.var_expr(d).s, self.expr(d).s),
            Ret::Vec => {
                let seqs: Vec<String> = self.scope.seqs.iter().map(|s| s.name.clone()).collect();
                if !seqs.is_empty() && self.rng.chance(0.4) {
                    let s = self.rng.pick(&seqs).clone();
                    let v = self.fresh("e");
                    let saved = self.scope.clone();
                    self.scope.floats.push(FloatVar {
                        name: v.clone(),
                        mutable: false,
                    });
                    let body = self.var_expr(d.min(2));
                    self.scope = saved;
                    format!("{s}.iter().map(|&{v}| {}).collect::<Vec<f64>>()", body.s)
                } else {
                    let k = 1 + self.rng.below(3);
                    let xs: Vec<String> = (0..k).map(|_| self.var_expr(d).s).collect();
                    format!("vec![{}]", xs.join(", "))
                }
            }
        }
    }

    // ----- statements ----------------------------------------------------------------------

    fn push_float(&mut self, name: &str, mutable: bool) {
        self.scope.floats.retain(|f| f.name != name);
        self.scope.floats.push(FloatVar {
            name: name.to_string(),
            mutable,
        });
    }

    fn let_line(&mut self, name: &str, mutable: bool, e: &E) -> Node {
        let m = if mutable { "mut " } else { "" };
        let ty = if e.lit || self.rng.chance(0.1) {
            ": f64"
        } else {
            ""
        };
        Node::Line(format!("let {m}{name}{ty} = {};", e.s))
    }

    fn stmt(&mut self, out: &mut Vec<Node>) {
        let nest = self.depth < BLOCK_DEPTH;
        let in_loop = self.loops > 0;
        match self.rng.below(28) {
            0..=3 => self.let_stmt(out),
            4 | 5 => self.let_mut_stmt(out),
            6..=8 => self.assign_stmt(out),
            9 | 10 if nest => self.if_stmt(out),
            11 | 12 if nest => self.for_stmt(out),
            13 if nest => self.while_stmt(out),
            14 if nest => self.loop_stmt(out),
            15 => self.array_stmt(out),
            16 => self.store_stmt(out),
            17 => self.closure_stmt(out),
            18 => self.tuple_stmt(out),
            19 if in_loop => self.exit_stmt(out),
            20 if self.depth > 0 => self.return_stmt(out),
            21 => self.helper_stmt(out),
            22 => self.shadow_stmt(out),
            23 if nest => self.loop_value_stmt(out),
            24 => self.grid_stmt(out),
            25 => self.rec_stmt(out),
            26 => self.nested_store_stmt(out),
            _ => self.let_stmt(out),
        }
    }

    fn let_stmt(&mut self, out: &mut Vec<Node>) {
        let name = self.fresh("v");
        let e = self.expr(EXPR_DEPTH);
        out.push(self.let_line(&name, false, &e));
        self.push_float(&name, false);
    }

    fn let_mut_stmt(&mut self, out: &mut Vec<Node>) {
        let name = self.fresh("m");
        let e = self.expr(EXPR_DEPTH - 1);
        out.push(self.let_line(&name, true, &e));
        self.push_float(&name, true);
    }

    fn shadow_stmt(&mut self, out: &mut Vec<Node>) {
        let immutable: Vec<String> = self
            .scope
            .floats
            .iter()
            .filter(|f| !f.mutable && !self.params.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        if immutable.is_empty() {
            return self.let_stmt(out);
        }
        let name = self.rng.pick(&immutable).clone();
        let e = self.expr(2);
        out.push(Node::Line(format!("let {name} = {name} * 0.5 + {};", e.s)));
    }

    /// An update of a mutable float: `=`, `+=`, `-=`, `*=`, `/=`, or a carried form.
    fn update(&mut self, m: &str) -> String {
        let e = self.expr(2);
        match self.rng.below(9) {
            0 | 1 => format!("{m} += {};", e.s),
            2 => format!("{m} -= {};", e.s),
            3 => format!("{m} *= {};", method(&e, "tanh", "")),
            4 => format!("{m} /= {} + 1.0;", method(&e, "abs", "")),
            5 => format!("{m} = {m} * 0.9 + {};", e.s),
            6 => format!("{m} = {m}.max({});", e.s),
            7 => format!("{m} = ({m} + {}).sin();", e.s),
            _ => format!("{m} = {};", e.s),
        }
    }

    fn assign_stmt(&mut self, out: &mut Vec<Node>) {
        let muts: Vec<String> = self
            .scope
            .floats
            .iter()
            .filter(|f| f.mutable)
            .map(|f| f.name.clone())
            .collect();
        if muts.is_empty() {
            return self.let_mut_stmt(out);
        }
        let m = self.rng.pick(&muts).clone();
        let line = self.update(&m);
        out.push(Node::Line(line));
    }

    /// The statements of a nested block; what they compute usually flows into a mutable
    /// float of the enclosing scope (else most of it would be dead code).
    fn nested_body(&mut self) -> Vec<Node> {
        self.depth += 1;
        let saved = self.scope.clone();
        let mut out = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            self.stmt(&mut out);
        }
        let new: Vec<String> = self
            .scope
            .floats
            .iter()
            .filter(|f| !saved.floats.iter().any(|g| g.name == f.name))
            .map(|f| f.name.clone())
            .collect();
        let outer: Vec<String> = saved
            .floats
            .iter()
            .filter(|f| f.mutable)
            .map(|f| f.name.clone())
            .collect();
        if !new.is_empty() && !outer.is_empty() && self.rng.chance(0.8) {
            let m = self.rng.pick(&outer).clone();
            let v = self.rng.pick(&new).clone();
            let e = self.expr(1);
            let line = match self.rng.below(4) {
                0 => format!("{m} += {v};"),
                1 => format!("{m} = {m} * 0.9 + {v} * {};", e.s),
                2 => format!("{m} = {m}.max({v});"),
                _ => format!("{m} -= ({v} + {}).sin();", e.s),
            };
            out.push(Node::Line(line));
        }
        self.scope = saved;
        self.depth -= 1;
        out
    }

    fn if_stmt(&mut self, out: &mut Vec<Node>) {
        let c = self.cond(2);
        let then = self.nested_body();
        let mut parts = vec![(format!("if {c} {{"), then)];
        if self.rng.chance(0.3) {
            let c2 = self.cond(1);
            let b = self.nested_body();
            parts.push((format!("}} else if {c2} {{"), b));
        }
        if self.rng.chance(0.6) {
            let b = self.nested_body();
            parts.push(("} else {".into(), b));
        }
        out.push(Node::Nested {
            parts,
            end: "}".into(),
        });
    }

    /// A carried accumulator before a loop: `let mut s = e;`, updated at the end of each
    /// iteration.
    fn carried(&mut self, out: &mut Vec<Node>) -> Option<String> {
        if !self.rng.chance(0.75) {
            return None;
        }
        let s = self.fresh("s");
        let e = if self.rng.chance(0.5) {
            E {
                s: "0.0".into(),
                lit: true,
            }
        } else {
            self.var_expr(1)
        };
        out.push(self.let_line(&s, true, &e));
        self.push_float(&s, true);
        Some(s)
    }

    /// A range for `for i in ..` and the length `i` stays below.
    fn range(&mut self) -> (String, Option<Len>) {
        let Some(n) = self.scope.n.clone() else {
            // A helper: no count in scope.
            return match self.rng.below(2) {
                0 => ("0..2usize".into(), Some(Len::Two)),
                _ => ("0..3usize".into(), Some(Len::Three)),
            };
        };
        let a_len = self
            .scope
            .seqs
            .iter()
            .find(|s| s.len == Len::N)
            .map(|s| format!("{}.len()", s.name))
            .unwrap_or_else(|| n.clone());
        let enclosing: Vec<String> = self
            .scope
            .ints
            .iter()
            .filter(|v| v.below == Some(Len::N))
            .map(|v| v.name.clone())
            .collect();
        match self.rng.below(7) {
            0 | 1 => (format!("0..{n}"), Some(Len::N)),
            2 => ("0..3usize".into(), Some(Len::Three)),
            3 => (format!("(0..{n}).rev()"), Some(Len::N)),
            4 => ("1..=2usize".into(), Some(Len::Three)),
            5 => (format!("0..{a_len}"), Some(Len::N)),
            _ if !enclosing.is_empty() => {
                let j = self.rng.pick(&enclosing).clone();
                (format!("0..{j}"), Some(Len::N))
            }
            _ => (format!("0..{n}"), Some(Len::N)),
        }
    }

    /// A `for` header and what it binds: over a range, or over a sequence's elements
    /// (`for &v in s.iter()`, with `.enumerate()` or `.zip(..)`).
    fn for_header(&mut self) -> (String, Vec<IntVar>, Vec<String>) {
        let seqs = self.scope.seqs.clone();
        if seqs.is_empty() || self.rng.chance(0.6) {
            let i = self.fresh("i");
            let (range, below) = self.range();
            let header = format!("for {i} in {range} {{");
            return (header, vec![IntVar { name: i, below }], Vec::new());
        }
        let s = self.rng.pick(&seqs).clone();
        let v = self.fresh("e");
        match self.rng.below(3) {
            0 => (
                format!("for &{v} in {}.iter() {{", s.name),
                Vec::new(),
                vec![v],
            ),
            1 => {
                let j = self.fresh("j");
                let header = format!("for ({j}, &{v}) in {}.iter().enumerate() {{", s.name);
                let j = IntVar {
                    name: j,
                    below: Some(s.len),
                };
                (header, vec![j], vec![v])
            }
            _ => {
                let t = self.rng.pick(&seqs).name.clone();
                let w = self.fresh("e");
                let header = format!("for (&{v}, &{w}) in {}.iter().zip({t}.iter()) {{", s.name);
                (header, Vec::new(), vec![v, w])
            }
        }
    }

    fn for_stmt(&mut self, out: &mut Vec<Node>) {
        let acc = self.carried(out);
        let (header, ints, floats) = self.for_header();
        let saved = self.scope.clone();
        // A sequence being iterated is borrowed: the body does not store into it.
        for seq in self.scope.seqs.iter_mut() {
            if header.contains(&format!(" {}.iter()", seq.name))
                || header.contains(&format!("({}.iter()", seq.name))
            {
                seq.mutable = false;
            }
        }
        self.scope.ints.extend(ints);
        for v in &floats {
            self.push_float(v, false);
        }
        self.loops += 1;
        let mut body = self.nested_body();
        if let Some(s) = &acc {
            let line = self.update(s);
            body.push(Node::Line(line));
        }
        self.loops -= 1;
        self.scope = saved;
        out.push(Node::Nested {
            parts: vec![(header, body)],
            end: "}".into(),
        });
    }

    /// `let v = loop { if k >= n { break e; } k += 1; let j = k - 1; .. };`, outside other
    /// loops only (a plain `break;` inside would not be the loop's value).
    fn loop_value_stmt(&mut self, out: &mut Vec<Node>) {
        if self.loops > 0 {
            return self.let_stmt(out);
        }
        let k = self.fresh("k");
        let n = self.scope.n.clone().unwrap_or_else(|| "2usize".into());
        out.push(Node::Line(format!("let mut {k} = 0usize;")));
        let saved = self.scope.clone();
        let value = self.var_expr(2);
        let j = self.fresh("j");
        let mut body = vec![
            Node::Line(format!("if {k} >= {n} {{ break {}; }}", value.s)),
            Node::Line(format!("{k} += 1;")),
            Node::Line(format!("let {j} = {k} - 1;")),
        ];
        let below = if self.scope.n.is_some() {
            Len::N
        } else {
            Len::Two
        };
        self.scope.ints.push(IntVar {
            name: j,
            below: Some(below),
        });
        body.extend(self.nested_body());
        self.scope = saved;
        let v = self.fresh("v");
        out.push(Node::Nested {
            parts: vec![(format!("let {v} = loop {{"), body)],
            end: "};".into(),
        });
        self.push_float(&v, false);
    }

    /// `while k < n [&& s < c] { k += 1; let j = k - 1; .. }` or, as `loop`, the same with
    /// `if k >= n { break; }` first.
    fn counter_loop(&mut self, out: &mut Vec<Node>, is_loop: bool) {
        let acc = self.carried(out);
        let k = self.fresh("k");
        let n = self.scope.n.clone().unwrap_or_else(|| "2usize".into());
        out.push(Node::Line(format!("let mut {k} = 0usize;")));
        let cond = match &acc {
            Some(s) if self.rng.chance(0.6) => {
                format!(" && {s} < {}", self.rng.pick(&["2.0", "5.0", "0.5"]))
            }
            _ => String::new(),
        };
        let header = if is_loop {
            "loop {".to_string()
        } else {
            format!("while {k} < {n}{cond} {{")
        };
        let saved = self.scope.clone();
        let j = self.fresh("j");
        self.scope.ints.push(IntVar {
            name: j.clone(),
            below: Some(if self.scope.n.is_some() {
                Len::N
            } else {
                Len::Two
            }),
        });
        self.loops += 1;
        let mut body = Vec::new();
        if is_loop {
            body.push(Node::Line(format!("if {k} >= {n} {{ break; }}")));
        }
        body.extend([
            Node::Line(format!("{k} += 1;")),
            Node::Line(format!("let {j} = {k} - 1;")),
        ]);
        body.extend(self.nested_body());
        if let Some(s) = &acc {
            let line = self.update(s);
            body.push(Node::Line(line));
        }
        self.loops -= 1;
        self.scope = saved;
        out.push(Node::Nested {
            parts: vec![(header, body)],
            end: "}".into(),
        });
    }

    fn while_stmt(&mut self, out: &mut Vec<Node>) {
        self.counter_loop(out, false);
    }

    fn loop_stmt(&mut self, out: &mut Vec<Node>) {
        self.counter_loop(out, true);
    }

    fn exit_stmt(&mut self, out: &mut Vec<Node>) {
        let c = self.cond(1);
        let what = if self.rng.chance(0.5) {
            "break"
        } else {
            "continue"
        };
        out.push(Node::Line(format!("if {c} {{ {what}; }}")));
    }

    fn return_stmt(&mut self, out: &mut Vec<Node>) {
        let c = self.cond(1);
        let r = self.result(2);
        out.push(Node::Line(format!("if {c} {{ return {r}; }}")));
    }

    fn array_stmt(&mut self, out: &mut Vec<Node>) {
        let w = self.fresh("w");
        let has_n = self.scope.n.is_some();
        let n_seq = self.scope.seqs.iter().find(|s| s.len == Len::N).cloned();
        let (init, len) = match self.rng.below(6) {
            0 => ("[0.0; 3]".to_string(), Len::Three),
            1 => {
                let xs: Vec<String> = (0..3).map(|_| self.var_expr(2).s).collect();
                (format!("[{}]", xs.join(", ")), Len::Three)
            }
            2 if has_n => {
                let n = self.scope.n.clone().unwrap_or_default();
                (format!("vec![0.0; {n}]"), Len::N)
            }
            3 if has_n => {
                let n = self.scope.n.clone().unwrap_or_default();
                let e = self.var_expr(2);
                (format!("vec![{}; {n}]", e.s), Len::N)
            }
            4 if n_seq.is_some() => {
                let s = n_seq.map(|s| s.name).unwrap_or_default();
                (format!("{s}.to_vec()"), Len::N)
            }
            _ => {
                let xs: Vec<String> = (0..2).map(|_| self.var_expr(2).s).collect();
                (format!("vec![{}, {}, 0.5]", xs[0], xs[1]), Len::Three)
            }
        };
        let ty = match (len, init.starts_with('[')) {
            (Len::Three, true) => ": [f64; 3]",
            (_, false) => ": Vec<f64>",
            _ => "",
        };
        let ty = if self.rng.chance(0.5) { ty } else { "" };
        let ty = if init.starts_with("[0.0") || init.starts_with("vec![0.0") {
            if init.starts_with('[') {
                ": [f64; 3]"
            } else {
                ": Vec<f64>"
            }
        } else {
            ty
        };
        out.push(Node::Line(format!("let mut {w}{ty} = {init};")));
        let array = init.starts_with('[');
        self.scope.seqs.push(SeqVar {
            name: w,
            len,
            mutable: true,
            array,
        });
    }

    /// `[[e, e, e], [e, e, e]]`, never literals only.
    fn grid_literal(&mut self, d: usize) -> String {
        let mut rows = Vec::new();
        for r in 0..2 {
            let xs: Vec<String> = (0..3)
                .map(|k| {
                    if r == 0 && k == 0 {
                        self.var_expr(d).s
                    } else {
                        self.expr(d).s
                    }
                })
                .collect();
            rows.push(format!("[{}]", xs.join(", ")));
        }
        format!("[{}]", rows.join(", "))
    }

    /// `Rec { a: e, v: [e, e, e] }`.
    fn rec_literal(&mut self, d: usize) -> String {
        let a = self.var_expr(d).s;
        let v: Vec<String> = (0..3).map(|_| self.expr(d).s).collect();
        format!("Rec {{ a: {a}, v: [{}] }}", v.join(", "))
    }

    /// `let [mut] m = [[..], [..]];`, or with a row copied from an array in scope.
    fn grid_stmt(&mut self, out: &mut Vec<Node>) {
        let m = self.fresh("m");
        let mutable = self.rng.chance(0.6);
        let threes: Vec<String> = self
            .scope
            .seqs
            .iter()
            .filter(|s| s.len == Len::Three && s.array)
            .map(|s| s.name.clone())
            .collect();
        let init = if !threes.is_empty() && self.rng.chance(0.3) {
            let row = self.rng.pick(&threes).clone();
            let xs: Vec<String> = (0..3).map(|_| self.var_expr(1).s).collect();
            format!("[{row}, [{}]]", xs.join(", "))
        } else {
            self.grid_literal(1)
        };
        let ty = if self.rng.chance(0.5) {
            ": [[f64; 3]; 2]"
        } else {
            ""
        };
        let kw = if mutable { "let mut" } else { "let" };
        out.push(Node::Line(format!("{kw} {m}{ty} = {init};")));
        self.scope.grids.push((m, mutable));
    }

    /// `let [mut] r = Rec { .. };`.
    fn rec_stmt(&mut self, out: &mut Vec<Node>) {
        let r = self.fresh("r");
        let mutable = self.rng.chance(0.6);
        let init = self.rec_literal(1);
        let kw = if mutable { "let mut" } else { "let" };
        out.push(Node::Line(format!("{kw} {r} = {init};")));
        self.scope.records.push((r, mutable));
    }

    /// An update of a nested array's element or row, or of a struct's field.
    fn nested_store_stmt(&mut self, out: &mut Vec<Node>) {
        let grids: Vec<String> = self
            .scope
            .grids
            .iter()
            .filter(|g| g.1)
            .map(|g| g.0.clone())
            .collect();
        let recs: Vec<String> = self
            .scope
            .records
            .iter()
            .filter(|r| r.1)
            .map(|r| r.0.clone())
            .collect();
        let e = self.expr(2);
        let line = match (self.rng.below(5), grids.is_empty(), recs.is_empty()) {
            (0 | 1, false, _) => {
                let m = self.rng.pick(&grids).clone();
                let (i, j) = (self.index(Len::Two), self.index(Len::Three));
                let op = *self.rng.pick(&["=", "+=", "-=", "*="]);
                format!("{m}[{i}][{j}] {op} {};", e.s)
            }
            (2, false, _) => {
                let m = self.rng.pick(&grids).clone();
                let i = self.index(Len::Two);
                let (a, b) = (self.var_expr(1).s, self.expr(1).s);
                format!("{m}[{i}] = [{a}, {b}, {}];", e.s)
            }
            (3, _, false) => {
                let r = self.rng.pick(&recs).clone();
                format!("{r}.a += {};", e.s)
            }
            (_, _, false) => {
                let r = self.rng.pick(&recs).clone();
                let j = self.index(Len::Three);
                format!("{r}.v[{j}] = {r}.v[{j}] * 0.5 + {};", e.s)
            }
            (_, false, true) => {
                let m = self.rng.pick(&grids).clone();
                format!("{m}[1][2] += {};", e.s)
            }
            (_, true, true) => {
                return if self.rng.chance(0.5) {
                    self.grid_stmt(out)
                } else {
                    self.rec_stmt(out)
                };
            }
        };
        out.push(Node::Line(line));
    }

    fn store_stmt(&mut self, out: &mut Vec<Node>) {
        let muts: Vec<SeqVar> = self
            .scope
            .seqs
            .iter()
            .filter(|s| s.mutable)
            .cloned()
            .collect();
        if muts.is_empty() {
            return self.array_stmt(out);
        }
        let w = self.rng.pick(&muts).clone();
        let i = self.index(w.len);
        let e = self.expr(2);
        let line = match self.rng.below(6) {
            0 => format!("{}[{i}] = {};", w.name, e.s),
            1 => format!("{}[{i}] += {};", w.name, e.s),
            4 => format!("{}[{i}] -= {};", w.name, e.s),
            5 => format!("{}[{i}] /= {} + 1.0;", w.name, method(&e, "abs", "")),
            2 => format!("{}[{i}] *= {};", w.name, method(&e, "tanh", "")),
            _ => format!("{}[{i}] = {}[{i}] * 0.5 + {};", w.name, w.name, e.s),
        };
        out.push(Node::Line(line));
    }

    /// A closure of one or two floats, capturing immutable floats only.
    fn closure_stmt(&mut self, out: &mut Vec<Node>) {
        let c = self.fresh("c");
        let arity = 1 + self.rng.below(2);
        let saved = self.scope.clone();
        self.scope.floats.retain(|f| !f.mutable);
        self.scope.seqs.retain(|s| !s.mutable);
        self.scope.grids.retain(|g| !g.1);
        self.scope.records.retain(|r| !r.1);
        self.scope.tuples.clear();
        self.scope.closures.clear();
        let mut params = Vec::new();
        for _ in 0..arity {
            let u = self.fresh("u");
            self.scope.floats.push(FloatVar {
                name: u.clone(),
                mutable: false,
            });
            params.push(format!("{u}: f64"));
        }
        self.in_closure = true;
        let body = self.var_expr(2);
        self.in_closure = false;
        self.scope = saved;
        out.push(Node::Line(format!(
            "let {c} = |{}| {};",
            params.join(", "),
            body.s
        )));
        self.scope.closures.push((c, arity));
    }

    fn tuple_stmt(&mut self, out: &mut Vec<Node>) {
        let (x, y) = (self.var_expr(2), self.var_expr(2));
        if self.rng.chance(0.5) {
            let p = self.fresh("p");
            out.push(Node::Line(format!("let {p} = ({}, {});", x.s, y.s)));
            self.scope.tuples.push(p);
        } else {
            let (u, w) = (self.fresh("q"), self.fresh("q"));
            out.push(Node::Line(format!("let ({u}, {w}) = ({}, {});", x.s, y.s)));
            self.push_float(&u, false);
            self.push_float(&w, false);
        }
    }

    /// `let r = g(..);` for a helper (an array result becomes a sequence in scope).
    fn helper_stmt(&mut self, out: &mut Vec<Node>) {
        if self.helpers.is_empty() {
            return self.let_stmt(out);
        }
        let h = self.rng.pick(&self.helpers).clone();
        let call = self.call(&h, 2);
        if h.ret == Ret::Tuple && self.rng.chance(0.5) {
            let (p, q) = (self.fresh("q"), self.fresh("q"));
            out.push(Node::Line(format!("let ({p}, {q}) = {call};")));
            self.push_float(&p, false);
            self.push_float(&q, false);
            return;
        }
        let r = self.fresh("r");
        out.push(Node::Line(format!("let {r} = {call};")));
        match h.ret {
            Ret::Scalar => self.push_float(&r, false),
            Ret::Tuple => self.scope.tuples.push(r),
            _ => self.scope.seqs.push(SeqVar {
                name: r,
                len: Len::Two,
                mutable: false,
                array: true,
            }),
        }
    }

    /// The final expression: a result that also reads the last few locals, so that what
    /// the statements compute matters.
    fn tail(&mut self) -> String {
        let locals: Vec<String> = self
            .scope
            .floats
            .iter()
            .filter(|f| !self.params.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        let extra: Vec<String> = locals.iter().rev().take(3).cloned().collect();
        let mut r = self.result(2);
        if extra.is_empty() {
            return r;
        }
        let sum = extra.join(" + ");
        r = match self.ret {
            Ret::Scalar => format!("{r} + {sum}"),
            Ret::Array | Ret::Tuple => {
                // The first entry gets the locals: `[e + s, f]` / `(e + s, f)`.
                let open = &r[..1];
                format!("{open}{sum} + {}", &r[1..])
            }
            Ret::Vec => match r.strip_prefix("vec![") {
                Some(rest) => format!("vec![{sum} + {rest}"),
                None => r,
            },
        };
        r
    }
}

/// `e.name(args)`, or `f64::name(e, args)` when `e` is literals only (a method call on an
/// ambiguous `{float}` does not compile).
fn method(e: &E, name: &str, args: &str) -> String {
    match (e.lit, args.is_empty()) {
        (true, true) => format!("f64::{name}({})", e.s),
        (true, false) => format!("f64::{name}({}, {args})", e.s),
        (false, _) => format!("{}.{name}({args})", e.s),
    }
}

/// Options for one generated program.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Top-level statements of the main function (at most).
    pub statements: usize,
    /// Helper functions (at most).
    pub helpers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            statements: 5,
            helpers: 2,
        }
    }
}

/// The program of `seed`.
pub fn program(seed: u64) -> Program {
    program_with(seed, Config::default())
}

/// The program of `seed`, sized by `cfg`.
pub fn program_with(seed: u64, cfg: Config) -> Program {
    let mut rng = Rng::new(seed);
    let ret = *rng.pick(&[
        Ret::Scalar,
        Ret::Scalar,
        Ret::Scalar,
        Ret::Array,
        Ret::Tuple,
        Ret::Vec,
    ]);
    let hessian = ret == Ret::Scalar && rng.chance(0.25);
    // `forward` is drawn from a stream of its own, so that the programs of every seed stay
    // what they were before the option existed. A helper's forward-mode pushforward is what
    // a main function's Jacobian columns call.
    let mut options = Rng::new(seed ^ 0x5eed_f0a4);
    let mut used: Vec<String> = Vec::new();
    let mut helpers: Vec<Helper> = Vec::new();
    let mut defs = Vec::new();
    let count = rng.below(cfg.helpers + 1);
    for h in 0..count {
        let forward = options.chance(0.3);
        let (def, helper) = helper_fn(&mut rng, h, &helpers, &mut used, hessian, forward);
        defs.push(def);
        helpers.push(helper);
    }
    let names = main_names(&mut rng, &used);
    used.extend(names.iter().cloned());
    let mut attr = main_attr(&mut rng, &names, hessian);
    if options.chance(0.2) {
        attr = if attr.is_empty() {
            "forward".into()
        } else {
            format!("{attr}, forward")
        };
    }
    let mut g = Gen {
        rng: &mut rng,
        scope: Scope::default(),
        used,
        params: names.clone(),
        helpers,
        loops: 0,
        ret,
        in_closure: false,
        depth: 0,
        counter: 0,
    };
    for x in &names[..3] {
        g.push_float(x, false);
    }
    g.scope.seqs.push(SeqVar {
        name: names[3].clone(),
        len: Len::N,
        mutable: false,
        array: false,
    });
    g.scope.seqs.push(SeqVar {
        name: names[4].clone(),
        len: Len::Three,
        mutable: false,
        array: true,
    });
    g.scope.n = Some(names[5].clone());
    g.scope.idx = Some(names[6].clone());
    let k = 1 + g.rng.below(cfg.statements.max(1));
    let mut body = Vec::new();
    for _ in 0..k {
        g.stmt(&mut body);
    }
    let tail = g.tail();
    let params = names
        .iter()
        .zip(MAIN_PARAMS)
        .map(|(n, (_, t))| format!("{n}: {t}"))
        .collect();
    Program {
        helpers: defs,
        main: FnDef {
            attr,
            name: "f".into(),
            params,
            ret: ret.written().into(),
            body,
            tail,
        },
        names,
        ret,
        hessian,
    }
}

/// The main function's parameter names: the usual ones, a few replaced by names the
/// generated code uses.
fn main_names(rng: &mut Rng, used: &[String]) -> Vec<String> {
    let mut names: Vec<String> = MAIN_PARAMS.iter().map(|(n, _)| n.to_string()).collect();
    for _ in 0..rng.below(3) {
        let k = rng.below(names.len());
        let b = *rng.pick(Binder::ALL);
        let candidate = if rng.chance(0.5) {
            b.example()
        } else {
            b.name(&names[(k + 1) % 3])
        };
        if !names.contains(&candidate) && !used.contains(&candidate) && candidate != "f" {
            names[k] = candidate;
        }
    }
    names
}

fn main_attr(rng: &mut Rng, names: &[String], hessian: bool) -> String {
    let mut parts = Vec::new();
    if hessian {
        parts.push("hessian".to_string());
    }
    if rng.chance(0.25) {
        let floats = [0usize, 1, 2, 3, 4];
        let mut chosen: Vec<&str> = floats
            .iter()
            .filter(|_| rng.chance(0.5))
            .map(|k| names[*k].as_str())
            .collect();
        if chosen.is_empty() {
            chosen.push(&names[0]);
        }
        parts.push(format!("wrt({})", chosen.join(", ")));
    }
    if rng.chance(0.15) {
        parts.push("strict".into());
    } else if rng.chance(0.2) {
        parts.push("parallel".into());
    }
    parts.join(", ")
}

/// A helper: a few parameters of the kinds the main function has, a short body.
fn helper_fn(
    rng: &mut Rng,
    k: usize,
    earlier: &[Helper],
    used: &mut Vec<String>,
    hessian: bool,
    forward: bool,
) -> (FnDef, Helper) {
    let name = {
        let b = *rng.pick(Binder::ALL);
        let c = if rng.chance(0.3) {
            format!("{}_fn", b.example())
        } else {
            format!("g{}", k + 1)
        };
        if used.contains(&c) {
            format!("g{}", k + 1)
        } else {
            c
        }
    };
    used.push(name.clone());
    let ret = if hessian || rng.chance(0.7) {
        Ret::Scalar
    } else {
        *rng.pick(&[Ret::Array, Ret::Tuple])
    };
    let mut kinds = vec![PKind::Float];
    for _ in 0..rng.below(3) {
        kinds.push(*rng.pick(&[
            PKind::Float,
            PKind::Slice,
            PKind::Array3,
            PKind::Count,
            PKind::Grid,
            PKind::Rec,
        ]));
    }
    let mut params = Vec::new();
    let mut names = Vec::new();
    let mut scope = Scope::default();
    for (i, kind) in kinds.iter().enumerate() {
        let base = ["p", "q", "w", "c", "m"][i.min(4)];
        let pname = if rng.chance(0.25) {
            let b = *rng.pick(Binder::ALL);
            let c = b.example();
            if used.contains(&c) || names.contains(&c) {
                format!("{base}{k}")
            } else {
                c
            }
        } else {
            format!("{base}{k}")
        };
        names.push(pname.clone());
        match kind {
            PKind::Float => {
                params.push(format!("{pname}: f64"));
                scope.floats.push(FloatVar {
                    name: pname,
                    mutable: false,
                });
            }
            PKind::Slice => {
                params.push(format!("{pname}: &[f64]"));
                // Its length is unknown: it is read through iterators and `% len()` only.
                scope.seqs.push(SeqVar {
                    name: pname,
                    len: Len::N,
                    mutable: false,
                    array: false,
                });
            }
            PKind::Array3 => {
                params.push(format!("{pname}: [f64; 3]"));
                scope.seqs.push(SeqVar {
                    name: pname,
                    len: Len::Three,
                    mutable: false,
                    array: true,
                });
            }
            PKind::Count => {
                params.push(format!("{pname}: usize"));
                scope.ints.push(IntVar {
                    name: pname,
                    below: None,
                });
            }
            PKind::Grid => {
                params.push(format!("{pname}: [[f64; 3]; 2]"));
                scope.grids.push((pname, false));
            }
            PKind::Rec => {
                params.push(format!("{pname}: &Rec"));
                scope.records.push((pname, false));
            }
        }
    }
    // A slice parameter's length plays the part of `n`: non-empty is not guaranteed, so
    // its elements are read only through iterators.
    scope.seqs.retain(|s| s.len != Len::N);
    let slices: Vec<String> = kinds
        .iter()
        .zip(&names)
        .filter(|(k, _)| **k == PKind::Slice)
        .map(|(_, n)| n.clone())
        .collect();
    let mut g = Gen {
        rng,
        scope,
        used: used.iter().chain(&names).cloned().collect(),
        params: names.clone(),
        helpers: earlier.to_vec(),
        loops: 0,
        ret,
        in_closure: false,
        depth: 0,
        counter: 100 * (k + 1),
    };
    let mut body = Vec::new();
    for s in &slices {
        let t = g.fresh("t");
        let v = g.fresh("e");
        body.push(Node::Line(format!(
            "let {t} = {s}.iter().map(|&{v}| {v} * {v}).sum::<f64>();"
        )));
        g.push_float(&t, false);
    }
    let count = 1 + g.rng.below(3);
    for _ in 0..count {
        g.stmt(&mut body);
    }
    let tail = g.tail();
    used.extend(g.used.iter().cloned());
    let attr = match (hessian, forward) {
        (true, true) => "hessian, forward",
        (true, false) => "hessian",
        (false, true) => "forward",
        (false, false) => "",
    };
    (
        FnDef {
            attr: attr.into(),
            name: name.clone(),
            params,
            ret: ret.written().into(),
            body,
            tail,
        },
        Helper {
            name,
            params: kinds,
            ret,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_deterministic() {
        assert_eq!(program(7).source(), program(7).source());
        assert_ne!(program(7).source(), program(8).source());
    }

    #[test]
    fn print_sample_programs() {
        for seed in 0..3 {
            println!("// seed {seed}\n{}", program(seed).source());
        }
    }

    /// `GRAD_COMPILED=tests/compiled/programs.rs cargo test -p grad-compiler --lib
    /// write_compiled_programs`: writes the programs `tests/compiled_programs.rs` compiles
    /// through the real macro: the first 50 from seed 7000 on whose main function has a
    /// scalar result and differentiates every float parameter (no `wrt`, no `parallel`,
    /// which needs a feature), one module each.
    #[test]
    fn write_compiled_programs() {
        let Ok(path) = std::env::var("GRAD_COMPILED") else {
            return;
        };
        let mut out = String::from(
            "//! Generated by `grad-compiler/src/testing/gen.rs` (`write_compiled_programs`, seeds\n\
             //! from 7000 on): random programs with a scalar result that differentiate every float\n\
             //! parameter, one module each. Do not edit by hand; each is compiled through the real\n\
             //! macro and checked by `tests/compiled_programs.rs`.\n\
             #![allow(warnings, clippy::all)]\n\n",
        );
        let mut names = Vec::new();
        // `GRAD_COMPILED_SEED` starts elsewhere (to try other programs through rustc).
        let mut seed: u64 = std::env::var("GRAD_COMPILED_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7000);
        while names.len() < 50 {
            let mut p = program(seed);
            seed += 1;
            if p.ret != Ret::Scalar
                || p.main.attr.contains("wrt")
                || p.main.attr.contains("parallel")
            {
                continue;
            }
            // The harness compares the gradient with `f_pushforward`: forward mode, so that
            // the comparison is between two derivative programs (without `forward` the
            // pushforward of a float result is the gradient along the tangent). Helpers keep
            // their draw: a main's forward mode calls their pushforwards of either kind.
            if !p.main.attr.contains("forward") {
                p.main.attr = match p.main.attr.as_str() {
                    "" => "forward".to_string(),
                    a => format!("{a}, forward"),
                };
            }
            let src = p.source().replace("\nfn f(", "\npub fn f(");
            let src = if src.starts_with("fn f(") {
                format!("pub {src}")
            } else {
                src
            };
            let body: String = src.lines().map(|l| format!("    {l}\n")).collect();
            let m = format!("p{}", seed - 1);
            out.push_str(&format!(
                "pub mod {m} {{\n    use grad::derive_gradient;\n\n{body}}}\n\n"
            ));
            names.push(m);
        }
        out.push_str(
            "/// The signature every generated program has.\n\
             pub type Primal = fn(f64, f64, f64, &[f64], [f64; 3], usize, &[usize]) -> f64;\n\
             /// Its generated gradient.\n\
             pub type Grad = fn(f64, f64, f64, &[f64], [f64; 3], usize, &[usize]) -> (f64, (f64, f64, f64, Vec<f64>, [f64; 3]));\n\
             /// Its generated pushforward.\n\
             pub type Pushforward =\n    fn(f64, f64, f64, &[f64], [f64; 3], usize, &[usize], f64, f64, f64, &[f64], [f64; 3]) -> (f64, f64);\n\n\
             /// A generated program and its companions.\n\
             pub struct Program {\n    pub name: &'static str,\n    pub f: Primal,\n    pub grad: Grad,\n    pub pushforward: Pushforward,\n}\n\n\
             /// Every program with its companions.\n\
             pub const PROGRAMS: &[Program] = &[\n",
        );
        for m in &names {
            out.push_str(&format!(
                "    Program {{ name: \"{m}\", f: {m}::f, grad: {m}::f_grad, pushforward: {m}::f_pushforward }},\n"
            ));
        }
        out.push_str("];\n");
        std::fs::write(path, out).unwrap();
    }

    #[test]
    fn nested_arrays_and_struct_fields_are_drawn() {
        let sources: Vec<String> = (0..300).map(|s| program(s).source()).collect();
        let count = |pat: &str| sources.iter().filter(|s| s.contains(pat)).count();
        // Nested array locals and parameters, their elements, rows iterated; struct
        // literals, `&Rec` parameters, field reads and updates.
        for pat in ["[[", "][", ".iter().map(|", "Rec {", ": &Rec", ".a", ".v["] {
            assert!(
                count(pat) >= 10,
                "`{pat}` in {} of 300 programs",
                count(pat)
            );
        }
    }
}

#[cfg(test)]
mod dump {
    /// `GRAD_DUMP=file`: writes 1000 programs as plain Rust (attributes dropped) for rustc.
    #[test]
    fn dump_programs() {
        let Ok(path) = std::env::var("GRAD_DUMP") else {
            return;
        };
        let mut out = String::from(
            "#![allow(unused, unused_parens, unused_mut, unused_variables, clippy::all)]\n",
        );
        for seed in 0..1000u64 {
            let p = super::program(seed);
            let src = p
                .source()
                .replace("#[derive_gradient", "// #[derive_gradient");
            out.push_str(&format!("pub mod p{seed} {{\n{src}\n}}\n"));
        }
        std::fs::write(path, out).unwrap();
    }
}
