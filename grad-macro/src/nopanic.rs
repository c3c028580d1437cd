//! "The macro never panics": [`crate::expand::expand`] is driven with thousands of token
//! streams and must always return tokens (the companions, or `compile_error!`s), never panic.
//!
//! Inputs are (1) random token-level mutations of supported functions (a token deleted,
//! duplicated, swapped with its neighbour, an identifier or literal replaced, a group's
//! delimiter changed or the group flattened, a random Rust fragment inserted), one to four
//! mutations each, at any nesting depth; (2) random programs of the property-test generator
//! ([`crate::proptests`]), as they are and mutated; (3) random functions of (mostly) valid
//! syntax far outside the supported subset ([`rand_fn`]: generics, `const`/`async`/`unsafe`,
//! patterns, closures, `match`, labeled loops, items, macros, every operator and compound
//! assignment, casts to every kind of type); (4) random attribute arguments (`wrt(..)`,
//! `layout = ..`, `crate = ..`, `strict`, and mutations of them). Whenever the item still
//! parses as a function, the expansion must also parse as Rust items (a syntax error in the
//! output is a code generation bug: that is how `prop-trailing-comma-params` was found).
//!
//! A failure is minimised by deleting tokens while it persists, and reported with the
//! smallest input. The default run checks [`DEFAULT_CASES`] inputs in about 15 s (debug
//! build; about a third of them still parse as functions); `GRAD_NOPANIC_CASES=100000 cargo
//! test -p grad-macro --release expand_never_panics -- --nocapture` runs more
//! (`GRAD_PROPTEST_SEED` changes the seed). It prints the counts: inputs tried, how many parse
//! as functions, how many expanded without errors, how many gave `compile_error!`.

use crate::expand::expand;
use proc_macro2::{Delimiter, Group, Ident, Literal, Span, TokenStream, TokenTree};
use proptest::strategy::{Strategy, ValueTree};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;
use std::time::Instant;

/// Inputs checked by the default test run.
pub const DEFAULT_CASES: u32 = 3000;

/// Supported functions the mutations start from.
const SEEDS: &[&str] = &[
    "fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }",
    "fn relu_loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
        let mut total = 0.0;
        for i in 0..n {
            let mut z = b;
            for j in 0..d { z += w[j] * x[i * d + j]; }
            let r = y[i] - z.max(0.0);
            total += r * r;
        }
        total / n as f64
    }",
    "fn power(x: f64, n: usize) -> f64 { let mut p = 1.0; for _ in 0..n { p = p * x; } p }",
    "fn newton_sqrt(a: f64) -> f64 {
        let mut x = a;
        while (x * x - a).abs() > 1e-12 * a { x = 0.5 * (x + a / x); }
        x
    }",
    "fn early(x: f64) -> f64 { if x > 1.0 { return x * x; } let y = x.sin(); y * 2.0 }",
    "fn g(x: f64, y: f64) -> [f64; 2] { [3.0 * x * x * y, 2.0 * x + y.powi(8)] }",
    "fn t(x: f64, y: f64) -> (f64, f64) { let (a, b) = (x * y, x - y); (a.exp(), f64::atan2(a, b)) }",
    "fn v(x: &[f64]) -> Vec<f64> { let mut out = vec![0.0; x.len()]; for i in 0..x.len() { out[i] = x[i].tanh(); } out }",
    "fn lse(x: &[f64]) -> f64 {
        let mut m = x[0];
        for i in 1..x.len() { m = m.max(x[i]); }
        let mut s = 0.0;
        for i in 0..x.len() { s += (x[i] - m).exp(); }
        m + s.ln()
    }",
    "fn h(x: [f32; 3], y: &[f32]) -> f32 { let mut s = 0.0; for i in 0..y.len() { s += x[i % 3] * y[i].sin(); } s * x[0] }",
    "fn pick(x: &[f64], idx: &[usize], square: bool, scale: usize) -> f64 {
        let mut s = 0.0;
        for k in 0..idx.len() { let v = x[idx[k]]; if square { s += v * v; } else { s += v; } }
        s * scale as f64
    }",
    "fn q(x: f64, n: usize, m: i32) -> f64 {
        let mut p = 1.0; let mut count = 0;
        for _ in 1..=n { p *= x; count += 1; }
        let mut q = 0.0;
        for k in (0..count).rev() { q = q * x + k as f64; }
        p + q + m as f64
    }",
    "fn c(x: f64) -> f64 { let y: f64 = helper(x); let z: [f64; 2] = pair(&[x, y], x); y * z[1] + std::f64::consts::PI }",
    "fn blk(x: f64, y: f64) -> f64 {
        let v = if x < y && !(x == 0.0) { x.hypot(y) } else { { let t = y.cbrt(); t.mul_add(x, 1.0) } };
        let mut a = [x; 3];
        a[1] += v;
        a[2] = a[1].recip().powf(0.5);
        a[0] - a[2] + f64::EPSILON
    }",
];

/// Identifiers a mutation may put in place of another.
const IDENTS: &[&str] = &[
    "x",
    "y",
    "n",
    "i",
    "a",
    "s",
    "f64",
    "f32",
    "usize",
    "i32",
    "u8",
    "bool",
    "len",
    "powi",
    "powf",
    "sqrt",
    "max",
    "vec",
    "return",
    "for",
    "while",
    "in",
    "if",
    "else",
    "let",
    "mut",
    "loop",
    "break",
    "continue",
    "match",
    "self",
    "Self",
    "crate",
    "super",
    "as",
    "fn",
    "struct",
    "impl",
    "async",
    "unsafe",
    "move",
    "ref",
    "where",
    "_",
    "result",
    "adj_x",
    "tan_x",
    "seed",
    "saved0",
    "t0",
    "std",
    "consts",
    "PI",
    "EPSILON",
    "Vec",
    "clone",
    "iter",
    "sum",
    "rev",
    "to_vec",
    "f_grad",
    "f_pullback",
    "Option",
    "Some",
    "None",
    "true",
    "false",
    "dyn",
    "const",
    "static",
    "type",
];

/// Fragments a mutation may insert.
const FRAGMENTS: &[&str] = &[
    "return x;",
    "break;",
    "continue;",
    "loop {}",
    "x as u8",
    "[0.0; 3]",
    "&mut",
    "..",
    "?",
    "'a:",
    "let _ = 0;",
    "x[0][1]",
    "(x, y)",
    "x.0",
    "{}",
    "vec![]",
    "vec![1.0; 0]",
    "f(x)",
    "g(&x)",
    "x.len()",
    "1.0 / 0.0",
    "-",
    "!",
    "=",
    "+=",
    "==",
    "::",
    ";",
    ",",
    "#[inline]",
    "unsafe {}",
    "|x| x",
    "match x { _ => 1.0 }",
    "if let Some(v) = x {}",
    "while let",
    "x.powi(2.5)",
    "x.powf()",
    "f64::sqrt()",
    "f64::max(x)",
    "std::f64::consts::NOPE",
    "<T>",
    "where T: Copy",
    "async",
    "const",
    "-> ()",
    "-> (f64,)",
    "-> [f64; 0]",
    "-> Vec<f32>",
    "-> [f64; N]",
    "x: &mut [f64]",
    "y: [f64; 0]",
    "z: (f64, f64)",
    "w: &&[f64]",
    "1e400",
    "0.0f32",
    "1u128",
    "usize::MAX",
    "-9223372036854775808",
    "x %= 2.0",
    "x[1..]",
    "*x",
    "&x",
    "box x",
    "x.y()",
    "let (a, b) = (1.0,);",
    "let [p, q] = [1.0, 2.0];",
    "x = [1.0; 2];",
    "x[i] = x;",
    "for i in 0.. {}",
    "for i in (0..n).step_by(2) {}",
    "for (i, v) in x.iter() {}",
    "let v: Vec<f64> = Vec::new();",
    "let t: (f64, f64) = (x, x);",
    "return;",
    "yield x",
    "x.abs().abs().abs()",
    "0..=n",
    "(0..n).rev().rev()",
];

/// Literals a mutation may put in place of another.
const LITERALS: &[&str] = &[
    "0",
    "1",
    "0.0",
    "1e308",
    "1e-320",
    "\"s\"",
    "'c'",
    "b'x'",
    "255u8",
    "3.0f32",
    "2.5f64",
    "7f64",
    "1_000_000_000_000_000_000_000",
    "18446744073709551616",
    "true",
    "0x10",
    "1e10",
    "-0.0",
    "4294967296i64",
];

/// Random attribute arguments.
const ATTRS: &[&str] = &[
    "",
    "wrt(x)",
    "wrt(x, y)",
    "wrt()",
    "wrt(zzz)",
    "wrt(n)",
    "layout = \"denominator\"",
    "layout = \"numerator\"",
    "layout = \"bogus\"",
    "crate = \"::grad\"",
    "crate = \"1 2\"",
    "strict",
    "strict, wrt(x)",
    "wrt x",
    "wrt(x,,)",
    "layout",
    "layout = 3",
    "crate",
    "=",
    "wrt(x) layout = \"denominator\"",
    "strict = true",
    "unknown",
];

/// A small xorshift generator for the mutations (seeded from proptest).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

fn tokens(s: &str) -> TokenStream {
    TokenStream::from_str(s).expect("fragments are valid token streams")
}

/// Applies one random mutation somewhere in `ts` (descending into groups at random).
fn mutate(ts: TokenStream, rng: &mut Rng) -> TokenStream {
    let mut v: Vec<TokenTree> = ts.into_iter().collect();
    // Descend into a group with some probability.
    let groups: Vec<usize> = (0..v.len())
        .filter(|&i| matches!(v[i], TokenTree::Group(_)))
        .collect();
    if !groups.is_empty() && rng.below(10) < 6 {
        let i = groups[rng.below(groups.len())];
        if let TokenTree::Group(g) = &v[i] {
            let inner = mutate(g.stream(), rng);
            let mut ng = Group::new(g.delimiter(), inner);
            ng.set_span(g.span());
            v[i] = TokenTree::Group(ng);
        }
        return v.into_iter().collect();
    }
    let pos = rng.below(v.len() + 1);
    match rng.below(8) {
        0 if !v.is_empty() => {
            v.remove(pos.min(v.len() - 1));
        }
        1 if !v.is_empty() => {
            let t = v[pos.min(v.len() - 1)].clone();
            v.insert(pos.min(v.len() - 1), t);
        }
        2 if v.len() > 1 => {
            let p = pos.min(v.len() - 2);
            v.swap(p, p + 1);
        }
        3 => {
            let idents: Vec<usize> = (0..v.len())
                .filter(|&i| matches!(v[i], TokenTree::Ident(_)))
                .collect();
            if !idents.is_empty() {
                let i = idents[rng.below(idents.len())];
                let name = rng.pick(IDENTS);
                v[i] = tokens(name)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| TokenTree::Ident(Ident::new("x", Span::call_site())));
            }
        }
        4 => {
            let lits: Vec<usize> = (0..v.len())
                .filter(|&i| matches!(v[i], TokenTree::Literal(_)))
                .collect();
            if !lits.is_empty() {
                let i = lits[rng.below(lits.len())];
                let lit = rng.pick(LITERALS);
                v[i] = tokens(lit)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| TokenTree::Literal(Literal::i32_unsuffixed(0)));
            }
        }
        5 if !groups.is_empty() => {
            let i = groups[rng.below(groups.len())];
            if let TokenTree::Group(g) = &v[i] {
                let d = [
                    Delimiter::Parenthesis,
                    Delimiter::Bracket,
                    Delimiter::Brace,
                    Delimiter::None,
                ][rng.below(4)];
                v[i] = TokenTree::Group(Group::new(d, g.stream()));
            }
        }
        6 if !groups.is_empty() => {
            let i = groups[rng.below(groups.len())];
            if let TokenTree::Group(g) = v.remove(i) {
                for (k, t) in g.stream().into_iter().enumerate() {
                    v.insert(i + k, t);
                }
            }
        }
        _ => {
            let frag: Vec<TokenTree> = tokens(rng.pick(FRAGMENTS)).into_iter().collect();
            for (k, t) in frag.into_iter().enumerate() {
                v.insert(pos + k, t);
            }
        }
    }
    v.into_iter().collect()
}

// ----- random syn-parsable functions ---------------------------------------------------------

const TYPES: &[&str] = &[
    "f64",
    "f32",
    "usize",
    "i32",
    "u8",
    "i128",
    "bool",
    "[f64; 3]",
    "[f32; 2]",
    "[f64; 0]",
    "&[f64]",
    "&Vec<f64>",
    "&mut [f64]",
    "Vec<f64>",
    "(f64, f64)",
    "(f64,)",
    "()",
    "[usize; 2]",
    "&[usize]",
    "&[i32]",
    "Option<f64>",
    "T",
    "impl Fn(f64) -> f64",
    "&'a f64",
    "[[f64; 2]; 2]",
    "String",
    "Box<f64>",
    "&&[f64]",
    "fn(f64) -> f64",
    "[f64; N]",
    "Vec<f32>",
    "&[f32]",
    "std::primitive::f64",
    "(f64, [f64; 2])",
    "_",
    "dyn Fn()",
];
const NAMES: &[&str] = &[
    "x", "y", "a", "n", "i", "s", "v", "w", "result", "seed", "adj_x", "tan_x", "t0", "saved0", "f",
];
const METHODS: &[&str] = &[
    "sin", "cos", "powi", "powf", "sqrt", "max", "min", "mul_add", "atan2", "hypot", "abs",
    "signum", "len", "iter", "sum", "floor", "clamp", "to_vec", "clone", "exp", "ln", "rev",
    "unwrap", "is_nan", "recip", "tanh", "cbrt",
];
const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "%", "&&", "||", "&", "|", "^", "<<", ">>", "==", "!=", "<", "<=", ">",
    ">=",
];
const ASSIGN_OPS: &[&str] = &[
    "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=",
];

/// A random expression (mostly valid syntax, rarely valid in the supported subset).
fn rand_expr(rng: &mut Rng, depth: usize) -> String {
    let leaf = |rng: &mut Rng| -> String {
        match rng.below(6) {
            0 | 1 => rng.pick(NAMES).to_string(),
            2 => rng.pick(LITERALS).to_string(),
            3 => rng
                .pick(&[
                    "std::f64::consts::PI",
                    "f64::EPSILON",
                    "f32::MAX",
                    "usize::MAX",
                    "core::f64::consts::E",
                    "SCALE",
                ])
                .to_string(),
            4 => format!("{}.{}", rng.below(10), rng.below(100)),
            _ => format!("{}", rng.below(5)),
        }
    };
    if depth == 0 || rng.below(4) == 0 {
        return leaf(rng);
    }
    let d = depth - 1;
    match rng.below(26) {
        0..=5 => format!(
            "{} {} {}",
            rand_expr(rng, d),
            rng.pick(BINOPS),
            rand_expr(rng, d)
        ),
        6 => format!("-{}", rand_expr(rng, d)),
        7 => format!("!{}", rand_expr(rng, d)),
        8..=10 => {
            let args: Vec<String> = (0..rng.below(3)).map(|_| rand_expr(rng, d)).collect();
            format!(
                "({}).{}({})",
                rand_expr(rng, d),
                rng.pick(METHODS),
                args.join(", ")
            )
        }
        11 => {
            let args: Vec<String> = (0..rng.below(3)).map(|_| rand_expr(rng, d)).collect();
            let callee = rng.pick(&[
                "g",
                "f",
                "f64::sqrt",
                "f64::max",
                "helper",
                "Vec::new",
                "std::cmp::max",
            ]);
            format!("{callee}({})", args.join(", "))
        }
        12 => format!("{}[{}]", rng.pick(NAMES), rand_expr(rng, d)),
        13 => format!(
            "{}[{}][{}]",
            rng.pick(NAMES),
            rand_expr(rng, d),
            rand_expr(rng, d)
        ),
        14 => format!("({} as {})", rand_expr(rng, d), rng.pick(TYPES)),
        15 => format!(
            "if {} {{ {} }} else {{ {} }}",
            rand_expr(rng, d),
            rand_expr(rng, d),
            rand_expr(rng, d)
        ),
        16 => format!(
            "match {} {{ 0 => {}, _ => {} }}",
            rand_expr(rng, d),
            rand_expr(rng, d),
            rand_expr(rng, d)
        ),
        17 => format!("{{ {} {} }}", rand_stmt(rng, d), rand_expr(rng, d)),
        18 => format!("(|z: f64| {})({})", rand_expr(rng, d), rand_expr(rng, d)),
        19 => {
            let es: Vec<String> = (0..rng.below(4)).map(|_| rand_expr(rng, d)).collect();
            format!("[{}]", es.join(", "))
        }
        20 => format!(
            "[{}; {}]",
            rand_expr(rng, d),
            rng.pick(&["3", "0", "n", "N", "2 + 1"])
        ),
        21 => format!("vec![{}; {}]", rand_expr(rng, d), rand_expr(rng, d)),
        22 => format!("({}, {})", rand_expr(rng, d), rand_expr(rng, d)),
        23 => format!("{}.{}", rng.pick(NAMES), rng.pick(&["0", "1", "len", "x"])),
        24 => format!("&{}", rand_expr(rng, d)),
        _ => format!("{}..{}", rand_expr(rng, d), rand_expr(rng, d)),
    }
}

/// A random statement.
fn rand_stmt(rng: &mut Rng, depth: usize) -> String {
    let d = depth.saturating_sub(1);
    match rng.below(16) {
        0..=3 => {
            let pat = rng.pick(&[
                "x", "mut x", "mut s", "v", "(p, q)", "_", "[u, w]", "ref r", "mut a",
            ]);
            let ty = if rng.below(3) == 0 {
                format!(": {}", rng.pick(TYPES))
            } else {
                String::new()
            };
            format!("let {pat}{ty} = {};", rand_expr(rng, d))
        }
        4..=6 => format!(
            "{} {} {};",
            rng.pick(NAMES),
            rng.pick(ASSIGN_OPS),
            rand_expr(rng, d)
        ),
        7 => format!(
            "{}[{}] {} {};",
            rng.pick(NAMES),
            rand_expr(rng, d),
            rng.pick(ASSIGN_OPS),
            rand_expr(rng, d)
        ),
        8 => {
            let iter = rng.pick(&[
                "0..n",
                "0..=3",
                "(0..n).rev()",
                "x.iter()",
                "0..",
                "a",
                "(0..n).step_by(2)",
                "n..0",
            ]);
            let pat = rng.pick(&["i", "_", "(i, v)", "mut i"]);
            format!("for {pat} in {iter} {{ {} }}", rand_stmt(rng, d))
        }
        9 => format!("while {} {{ {} }}", rand_expr(rng, d), rand_stmt(rng, d)),
        10 => format!(
            "if {} {{ {} }} else {{ {} }}",
            rand_expr(rng, d),
            rand_stmt(rng, d),
            rand_stmt(rng, d)
        ),
        11 => rng
            .pick(&[
                "break;",
                "continue;",
                "return x;",
                "return;",
                "loop { break; }",
                "'l: loop { break 'l; }",
            ])
            .to_string(),
        12 => rng
            .pick(&[
                "fn inner() {}",
                "const C: f64 = 1.0;",
                "struct S;",
                "use std::f64::consts::PI;",
                "static Z: f64 = 0.0;",
            ])
            .to_string(),
        13 => rng
            .pick(&[
                "println!(\"{}\", x);",
                "assert!(x > 0.0);",
                "vec![1.0];",
                "debug_assert_eq!(1, 1);",
            ])
            .to_string(),
        14 => format!(
            "if let Some(v) = {} {{ {} }}",
            rand_expr(rng, d),
            rand_stmt(rng, d)
        ),
        _ => format!("{};", rand_expr(rng, d)),
    }
}

/// A random function that syn can usually parse (rarely inside the supported subset).
fn rand_fn(rng: &mut Rng) -> String {
    let quals = rng.pick(&[
        "",
        "",
        "",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
        "pub(crate) ",
        "extern \"C\" ",
    ]);
    let generics = rng.pick(&["", "", "", "<T>", "<'a>", "<const N: usize>", "<T: Copy>"]);
    let params: Vec<String> = (0..rng.below(5))
        .map(|_| {
            let pat = rng.pick(&[
                "x", "y", "a", "n", "mut w", "_", "(p, q)", "&r", "self", "s",
            ]);
            format!("{pat}: {}", rng.pick(TYPES))
        })
        .collect();
    let ret = if rng.below(8) == 0 {
        String::new()
    } else {
        format!(" -> {}", rng.pick(TYPES))
    };
    let where_clause = if rng.below(10) == 0 {
        " where T: Copy"
    } else {
        ""
    };
    let body: Vec<String> = (0..rng.below(5)).map(|_| rand_stmt(rng, 3)).collect();
    let tail = if rng.below(5) == 0 {
        String::new()
    } else {
        rand_expr(rng, 3)
    };
    let attr = rng.pick(&["", "", "#[inline] ", "#[allow(unused)] "]);
    format!(
        "{attr}{quals}fn f{generics}({}){ret}{where_clause} {{ {} {tail} }}",
        params.join(", "),
        body.join(" ")
    )
}

/// Do not require a parsable expansion for a function whose parameter list ends in a comma
/// while `/work/notes/bugs/prop-trailing-comma-params.md` is open; set to `false` once fixed.
const AVOID_TRAILING_COMMA_BUG: bool = false;

/// Tolerate the panic of `/work/notes/bugs/prop-infinite-literal-panic.md` (a float literal out
/// of range) while it is open; set to `false` once it is fixed.
const AVOID_INFINITE_LITERAL_BUG: bool = false;

/// What one expansion gave.
enum Outcome {
    Ok,
    Errors,
    /// The expansion of a function did not parse as Rust items.
    BadSyntax(String),
    Panic(String),
}

fn run_expand(attr: &TokenStream, item: &TokenStream) -> Outcome {
    let (a, i) = (attr.clone(), item.clone());
    match catch_unwind(AssertUnwindSafe(move || expand(a, i))) {
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-string panic)".into());
            Outcome::Panic(msg)
        }
        Ok(out) => {
            let f = syn::parse2::<syn::ItemFn>(item.clone());
            let known_bug =
                AVOID_TRAILING_COMMA_BUG && f.as_ref().is_ok_and(|f| f.sig.inputs.trailing_punct());
            if f.is_ok() && !known_bug {
                if let Err(e) = syn::parse2::<syn::File>(out.clone()) {
                    return Outcome::BadSyntax(format!("{e}: {out}"));
                }
            }
            if out.to_string().contains("compile_error") {
                Outcome::Errors
            } else {
                Outcome::Ok
            }
        }
    }
}

fn is_bad(o: &Outcome) -> bool {
    match o {
        Outcome::Panic(m) => !(AVOID_INFINITE_LITERAL_BUG && m.contains("is_finite")),
        Outcome::BadSyntax(_) => true,
        Outcome::Ok | Outcome::Errors => false,
    }
}

/// Every way of deleting one token tree (at any depth) from `ts`.
fn deletions(ts: &TokenStream) -> Vec<TokenStream> {
    let v: Vec<TokenTree> = ts.clone().into_iter().collect();
    let mut out = Vec::new();
    for i in 0..v.len() {
        let mut w = v.clone();
        w.remove(i);
        out.push(w.into_iter().collect());
        if let TokenTree::Group(g) = &v[i] {
            for inner in deletions(&g.stream()) {
                let mut w = v.clone();
                w[i] = TokenTree::Group(Group::new(g.delimiter(), inner));
                out.push(w.into_iter().collect());
            }
        }
    }
    out
}

/// Deletes tokens while the input still panics (or still expands to bad syntax).
fn minimise(attr: TokenStream, item: TokenStream) -> (TokenStream, TokenStream) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (mut attr, mut item) = (attr, item);
    let start = Instant::now();
    'outer: while start.elapsed().as_secs() < 60 {
        for cand in deletions(&item) {
            if is_bad(&run_expand(&attr, &cand)) {
                item = cand;
                continue 'outer;
            }
        }
        for cand in deletions(&attr) {
            if is_bad(&run_expand(&cand, &item)) {
                attr = cand;
                continue 'outer;
            }
        }
        break;
    }
    std::panic::set_hook(hook);
    (attr, item)
}

/// Builds input number `k` from a seed.
fn input(k: u32, seed: u64, programs: &[String]) -> (TokenStream, TokenStream) {
    let mut rng = Rng(seed | 1);
    let base = match k % 4 {
        // A generated program, mutated or (k % 8 == 3) as it is.
        3 => programs[rng.below(programs.len())].clone(),
        // A random function of (mostly) valid syntax, as it is.
        2 => rand_fn(&mut rng),
        _ => SEEDS[rng.below(SEEDS.len())].to_string(),
    };
    // A random function may not even be a token stream (an unbalanced fragment): then the
    // item is empty, which is just another input.
    let mut item = TokenStream::from_str(&base).unwrap_or_default();
    let mutations = if k % 8 == 3 || k % 4 == 2 {
        0
    } else {
        1 + rng.below(4) * rng.below(2)
    };
    for _ in 0..mutations {
        item = mutate(item, &mut rng);
    }
    // Mostly no arguments (every float parameter), so the item decides the outcome.
    let mut attr = if rng.below(3) == 0 {
        tokens(rng.pick(ATTRS))
    } else {
        TokenStream::new()
    };
    if rng.below(8) == 0 {
        attr = mutate(attr, &mut rng);
    }
    (attr, item)
}

#[test]
fn expand_never_panics() {
    let cases: u32 = std::env::var("GRAD_NOPANIC_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seed: u64 = std::env::var("GRAD_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6772_6164);
    let start = Instant::now();
    // Random programs of the property-test generator.
    let mut runner = crate::proptests::runner(1, seed);
    let strategy = crate::proptests::prog();
    let programs: Vec<String> = (0..50)
        .map(|_| {
            crate::proptests::sources(&strategy.new_tree(&mut runner).expect("generates").current())
                .pop()
                .expect("f comes last")
        })
        .collect();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (mut ok, mut errors, mut functions) = (0usize, 0usize, 0usize);
    for k in 0..cases {
        let (attr, item) = input(k, rng.next(), &programs);
        functions += usize::from(syn::parse2::<syn::ItemFn>(item.clone()).is_ok());
        match run_expand(&attr, &item) {
            Outcome::Ok => ok += 1,
            Outcome::Errors => errors += 1,
            known if !is_bad(&known) => errors += 1,
            bad => {
                let what = match &bad {
                    Outcome::Panic(m) => format!("panicked: {m}"),
                    Outcome::BadSyntax(m) => format!("expanded to invalid Rust: {m}"),
                    _ => unreachable!(),
                };
                eprintln!("expand {what}\nattr: {attr}\nitem: {item}\nminimising..");
                let (attr, item) = minimise(attr, item);
                let again = match run_expand(&attr, &item) {
                    Outcome::Panic(m) => format!("panicked: {m}"),
                    Outcome::BadSyntax(m) => format!("expanded to invalid Rust: {m}"),
                    _ => "(no longer fails)".into(),
                };
                panic!("expand {again}\nminimal input:\n#[derive_gradient({attr})]\n{item}");
            }
        }
    }
    eprintln!(
        "expand never panics: {cases} inputs ({functions} parse as functions; {ok} expanded, {errors} rejected with compile_error!), no panic, every function's expansion parses; {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn mutations_change_inputs() {
    // The mutator does something: most mutated seeds differ from their originals.
    let mut rng = Rng(12345);
    let changed = (0..100)
        .filter(|_| {
            let s = tokens(SEEDS[rng.below(SEEDS.len())]);
            mutate(s.clone(), &mut rng).to_string() != s.to_string()
        })
        .count();
    assert!(changed > 80, "{changed}");
}

/// A trailing comma after the last parameter (rustfmt's style for long signatures): the
/// companions print `(x: f64, y: f64, , seed: f64, ..)`, which is not Rust.
#[test]
fn trailing_comma_in_parameters() {
    for src in [
        "fn f(x: f64,) -> f64 { x }",
        "fn f(\n    x: f64,\n    y: f64,\n) -> f64 {\n    x * y\n}",
        "fn g(\n    x: f64,\n    y: f64,\n) -> [f64; 2] {\n    [x, y]\n}",
    ] {
        let out = expand(TokenStream::new(), tokens(src));
        assert!(!out.to_string().contains("compile_error"), "{src}: {out}");
        if let Err(e) = syn::parse2::<syn::File>(out.clone()) {
            panic!("{src}: the expansion is not Rust ({e}): {out}");
        }
    }
}

/// A float literal beyond the float type's range (`1e39` in an `f32` function, `1e400`):
/// the literal becomes infinite and printing it panics in `proc_macro2`.
#[test]
fn out_of_range_literals_do_not_panic() {
    for src in [
        "fn h(x: f32) -> f32 { x * 1e39 }",
        "fn h(x: f32) -> f32 { x + 3.5e38 }",
        "fn h(x: f64) -> f64 { x * 1e400 }",
        "fn h(x: f64) -> f64 { let c: f64 = 1e400; x * c }",
    ] {
        let (attr, item) = (TokenStream::new(), tokens(src));
        if let Outcome::Panic(m) = run_expand(&attr, &item) {
            panic!("{src}: expand panicked: {m}");
        }
    }
}
