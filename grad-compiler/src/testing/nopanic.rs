//! "The macro never panics": [`crate::derive_gradient`] gets thousands of token streams made
//! by mutating generated programs (tokens deleted, duplicated, swapped, replaced by random
//! identifiers, keywords, punctuation or huge literals; attributes garbled) and must return
//! tokens, errors included, without panicking.
//!
//! The default run mutates [`DEFAULT_CASES`] streams (`GRAD_NOPANIC_CASES=n` for more); a
//! panic is reported with the attribute and item that caused it.

use super::gen::{self, Config, Rng};
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

/// Mutated streams fed to the macro by a default `cargo test`.
pub const DEFAULT_CASES: u64 = 1500;

/// Identifiers and keywords a mutation inserts.
const IDENTS: &[&str] = &[
    "x",
    "a",
    "n",
    "f",
    "g1",
    "self",
    "Self",
    "mut",
    "let",
    "fn",
    "return",
    "loop",
    "break",
    "continue",
    "if",
    "else",
    "match",
    "for",
    "in",
    "while",
    "as",
    "usize",
    "f32",
    "i32",
    "T",
    "Vec",
    "impl",
    "where",
    "const",
    "static",
    "unsafe",
    "async",
    "move",
    "ref",
    "dyn",
    "_",
    "seed",
    "adj_x",
    "tan_x",
    "value",
    "t1",
    "stack_x",
    "derive_gradient",
    "no_grad",
    "sin",
    "powi",
    "iter",
    "sum",
    "collect",
    "unwrap",
    "len",
    "clone",
];

/// Punctuation a mutation inserts.
const PUNCTS: &[&str] = &[
    "+", "-", "*", "/", "%", "=", "==", "<", ">", "<=", "..", "..=", ";", ",", ":", "::", "&",
    "&mut", "!", "?", "#", "'a", "|", "||", "&&", "->", "=>", "@", "^", "<<", ">>", "+=", "*=",
];

/// Literals a mutation inserts: huge, tiny, odd and typed ones.
const LITERALS: &[&str] = &[
    "1e999",
    "1e-400",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "0x7fffffffffffffff",
    "999999999999999999999999999999.0",
    "0",
    "0.0",
    "-0.0",
    "1usize",
    "2.5f32",
    "3i64",
    "\"s\"",
    "'c'",
    "true",
    "b'x'",
];

/// Attributes the macro is given.
const ATTRS: &[&str] = &[
    "",
    "hessian",
    "strict",
    "wrt(x0)",
    "wrt(x0, a, b)",
    "wrt(nope)",
    "wrt()",
    "layout = \"denominator\"",
    "layout = \"sideways\"",
    "crate = \"my::grad\"",
    "crate = \"\"",
    "hessian, strict, wrt(x1)",
    "parallel",
    "parallel, hessian, wrt(x0)",
    "strict, parallel",
    "unknown",
    "wrt(x0",
    "= =",
    "1e999",
];

/// A flat token: a token tree's text, or a delimiter on its own (joint punctuation such as
/// `+=` and `..` stays one token).
fn flatten(ts: TokenStream, out: &mut Vec<String>) {
    let mut glue = false;
    for tt in ts {
        if let TokenTree::Punct(p) = &tt {
            match (glue, out.last_mut()) {
                (true, Some(last)) => last.push(p.as_char()),
                _ => out.push(p.as_char().to_string()),
            }
            glue = p.spacing() == proc_macro2::Spacing::Joint;
            continue;
        }
        if glue {
            // A lifetime: `'` joint with its name.
            if let (TokenTree::Ident(i), Some(last)) = (&tt, out.last_mut()) {
                last.push_str(&i.to_string());
                glue = false;
                continue;
            }
        }
        glue = false;
        match tt {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push(open.to_string());
                flatten(g.stream(), out);
                out.push(close.to_string());
            }
            t => out.push(t.to_string()),
        }
    }
}

fn is_delim(t: &str) -> bool {
    matches!(t, "(" | ")" | "[" | "]" | "{" | "}" | "")
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// One random mutation of the token list. Most keep the delimiters balanced (so the stream
/// still tokenizes); one in ten may touch any token.
fn mutate(toks: &mut Vec<String>, rng: &mut Rng) {
    let any = rng.chance(0.1);
    let candidates: Vec<usize> = (0..toks.len())
        .filter(|i| any || !is_delim(&toks[*i]))
        .collect();
    if candidates.is_empty() {
        toks.push(rng.pick(IDENTS).to_string());
        return;
    }
    let i = *rng.pick(&candidates);
    let idents: Vec<String> = toks.iter().filter(|t| is_ident(t)).cloned().collect();
    match rng.below(9) {
        0 => {
            toks.remove(i);
        }
        1 => {
            let t = toks[i].clone();
            toks.insert(i, t);
        }
        2 => {
            let j = *rng.pick(&candidates);
            toks.swap(i, j);
        }
        3 => toks.insert(i, rng.pick(IDENTS).to_string()),
        4 => toks.insert(i, rng.pick(PUNCTS).to_string()),
        5 => toks[i] = rng.pick(LITERALS).to_string(),
        // Another name of the program: often still well formed, wrong in a new way.
        6 if !idents.is_empty() => toks[i] = rng.pick(&idents).clone(),
        7 if !is_ident(&toks[i]) => toks[i] = rng.pick(PUNCTS).to_string(),
        _ => {
            // A run of tokens deleted.
            let n = 1 + rng.below(4);
            let end = (i + n).min(toks.len());
            toks.drain(i..end);
        }
    }
}

/// The `k`-th mutated input: an attribute and an item (`None` where the mutated text does
/// not even tokenize, as with unbalanced delimiters).
fn case(k: u64) -> Option<(String, String)> {
    let mut rng = Rng::new(k ^ 0xdead_beef);
    let cfg = Config {
        statements: 3,
        helpers: 1,
    };
    let p = gen::program_with(k / 4, cfg);
    let defs: Vec<&gen::FnDef> = p.helpers.iter().chain([&p.main]).collect();
    let def = *rng.pick(&defs);
    // The function without its attribute line.
    let src = def.source();
    let item = src.split_once('\n').map(|(_, rest)| rest).unwrap_or(&src);
    let mut toks = Vec::new();
    flatten(TokenStream::from_str(item).ok()?, &mut toks);
    let mutations = if rng.chance(0.6) { 1 } else { 2 + rng.below(3) };
    for _ in 0..mutations {
        mutate(&mut toks, &mut rng);
    }
    let attr = if rng.chance(0.8) {
        def.attr.clone()
    } else {
        rng.pick(ATTRS).to_string()
    };
    Some((attr, toks.join(" ")))
}

/// Runs the macro on one input: whether it expanded without errors (`None` when the text
/// does not tokenize); `Err` if it panicked.
fn expand(attr: &str, item: &str) -> Result<Option<bool>, String> {
    let (Ok(a), Ok(i)) = (TokenStream::from_str(attr), TokenStream::from_str(item)) else {
        return Ok(None);
    };
    catch_unwind(AssertUnwindSafe(|| crate::derive_gradient(a, i)))
        .map(|out| Some(!out.to_string().contains("compile_error")))
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
}

fn cases() -> u64 {
    std::env::var("GRAD_NOPANIC_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

#[test]
fn the_macro_never_panics() {
    let start = std::time::Instant::now();
    let (mut tried, mut clean) = (0, 0);
    let mut panics = Vec::new();
    for k in 0..cases() {
        let Some((attr, item)) = case(k) else {
            continue;
        };
        match expand(&attr, &item) {
            Ok(None) => {}
            Ok(Some(ok)) => {
                tried += 1;
                clean += ok as u64;
            }
            Err(msg) => {
                tried += 1;
                panics.push(format!(
                    "#[derive_gradient({attr})]\n{item}\n  panicked: {msg}"
                ));
            }
        }
    }
    println!(
        "the macro never panics: {tried} token streams ({clean} expanded without errors) in {:.1?}",
        start.elapsed()
    );
    assert!(
        panics.is_empty(),
        "{} inputs make the macro panic; the first ones:\n{}",
        panics.len(),
        panics
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// The unmutated programs expand without errors of the macro's own making: every generated
/// function is accepted.
#[test]
fn generated_programs_expand() {
    for seed in 0..20 {
        let p = gen::program_with(
            seed,
            Config {
                statements: 3,
                helpers: 1,
            },
        );
        for def in p.helpers.iter().chain([&p.main]) {
            let src = def.source();
            let item = src.split_once('\n').map(|(_, rest)| rest).unwrap_or(&src);
            let out = crate::derive_gradient(
                TokenStream::from_str(&def.attr).expect("an attribute"),
                TokenStream::from_str(item).expect("an item"),
            );
            assert!(
                !out.to_string().contains("compile_error"),
                "{src}\nexpands to errors: {out}"
            );
        }
    }
}
