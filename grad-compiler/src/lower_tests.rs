//! Lowering, seen through the IR printer.

use crate::lower::{lower, FnSource};
use crate::testing::pretty;
use proc_macro2::TokenStream;

/// Lowers a function's source and prints its IR (or the errors).
pub fn ir_of(src: &str) -> String {
    let item: syn::ItemFn = syn::parse_str(src).expect("a function");
    let source = FnSource {
        attrs: &item.attrs,
        vis: &item.vis,
        sig: &item.sig,
        block: &item.block,
        is_method: false,
    };
    match lower(&source) {
        Ok(l) => {
            let mut s = pretty::function(&l.func);
            for (i, v) in l.func.vars.iter().enumerate() {
                s.push_str(&format!("  %{i} {}: {:?}\n", v.name, v.ty));
            }
            s
        }
        Err(e) => e.into_iter().map(|e| format!("error: {e}\n")).collect(),
    }
}

#[test]
fn show() {
    if let Ok(p) = std::env::var("SHOWFILE") {
        println!("{}", ir_of(&std::fs::read_to_string(p).unwrap()));
        return;
    }
    for src in [
        "fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }",
        "fn loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
            let mut total = 0.0;
            for i in 0..n {
                let mut z = b;
                for j in 0..d { z += w[j] * x[i * d + j]; }
                let r = y[i] - z.max(0.0);
                total += r * r;
            }
            total / n as f64
        }",
        "fn g(w: &[f64], x: &[f64]) -> f64 { w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() }",
        "fn h(x: &[f64]) -> f64 { let mut s = 0.0; for (i, &v) in x.iter().enumerate() { if v < 0.0 { continue; } if i > 3 { break; } s += v * v; } s }",
        "fn m(x: f64, n: usize) -> f64 { match n { 0 => x, 1 | 2 => x * x, 3..=5 if x > 0.0 => x.sqrt(), _ => { return -x; } } }",
        "fn t(x: f64) -> f64 { let p = (x, 2.0 * x); let sq = |v: f64| v * v; sq(p.0) + sq(p.1) }",
        "fn fo(x: &[f64]) -> f64 { x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)) }",
    ] {
        println!("{}\n{}", src, ir_of(src));
    }
}

/// Expands a function and formats the result with rustfmt (for reading).
pub fn expansion(attr: &str, src: &str) -> String {
    let out = crate::derive_gradient(attr.parse().unwrap(), src.parse().unwrap());
    let text = out.to_string();
    let mut child = std::process::Command::new("rustfmt")
        .args(["--edition", "2021"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("rustfmt");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    if o.status.success() {
        String::from_utf8(o.stdout).unwrap()
    } else {
        text
    }
}

#[test]
fn show_expansion() {
    let src = std::env::var("SHOW")
        .unwrap_or_else(|_| "fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }".into());
    let attr = std::env::var("ATTR").unwrap_or_default();
    println!("{}", expansion(&attr, &src));
}

#[test]
fn show_companion_ir() {
    let src = std::env::var("SHOW")
        .unwrap_or_else(|_| "fn f(x: f64, y: f64) -> f64 { 3.0 * x * x * y }".into());
    let item: syn::ItemFn = syn::parse_str(&src).unwrap();
    let source = FnSource {
        attrs: &item.attrs,
        vis: &item.vis,
        sig: &item.sig,
        block: &item.block,
        is_method: false,
    };
    let l = lower(&source).unwrap();
    let pb = crate::companions::pullback(&l, crate::reverse::Sums::Reassociated);
    println!("{}", pretty::function(&pb.func));
}

/// A sum over a few iterations the source fixes (a literal range, an array literal) runs as
/// plain loops, with no kernel and no SIMD dispatch; the same sum over a run-time length
/// uses the kernels inside the dispatch.
#[test]
fn few_literal_iterations_run_as_plain_loops() {
    let plain = [
        "fn f(x: &[f64], y: &[f64]) -> f64 { let mut s = 0.0; for i in 0..3usize { s += x[i] * y[i]; } s }",
        "fn f(x: &[f64], y: &[f64]) -> f64 { let mut s = 0.0; for i in 1..=8usize { s += x[i] * y[i]; } s }",
        "fn f(a: f64, b: f64) -> f64 { let v = [a, b, a * b]; let mut s = 0.0; for e in v { s += e * e; } s.sqrt() }",
        "fn f(v: [f64; 4]) -> f64 { let mut s = 0.0; for k in 0..v.len() { s += v[k] * v[k]; } s }",
    ];
    for src in plain {
        let out = crate::derive_gradient(TokenStream::new(), src.parse().unwrap()).to_string();
        assert!(!out.contains("kernels"), "{src}\n{out}");
        assert!(!out.contains("with_best_simd"), "{src}\n{out}");
    }
    let kernels = [
        "fn f(x: &[f64], y: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { s += x[i] * y[i]; } s }",
        "fn f(x: &[f64], y: &[f64]) -> f64 { let mut s = 0.0; for i in 0..9usize { s += x[i] * y[i]; } s }",
        "fn f(v: [f64; 12], w: [f64; 12]) -> f64 { let mut s = 0.0; for k in 0..v.len() { s += v[k] * w[k]; } s }",
    ];
    for src in kernels {
        let out = crate::derive_gradient(TokenStream::new(), src.parse().unwrap()).to_string();
        assert!(out.contains("kernels :: dot"), "{src}\n{out}");
        assert!(out.contains("with_best_simd"), "{src}\n{out}");
    }
}

/// A `while` loop's body value computed from parameters alone is recomputed in the reverse
/// sweep, not stacked; one that depends on the carried state still is.
#[test]
fn while_loops_recompute_values_of_parameters_alone() {
    let invariant = "fn f(a: f64, b: f64) -> f64 { let mut s = a * b; let mut j = 0; while j < 3 { s = s * 1.35 + (b * 1.37).abs() * 0.1; j += 1; } s }";
    let out = crate::derive_gradient(TokenStream::new(), invariant.parse().unwrap()).to_string();
    assert!(!out.contains("stack"), "{out}");
    // The condition reads as written, with no placeholder declared before the loop.
    assert!(out.contains("while j < 3"), "{out}");
    assert!(!out.contains("= false"), "{out}");
    let carried = "fn f(a: f64, b: f64) -> f64 { let mut s = a * b; let mut j = 0; while j < 3 { s = (s * 1.35).abs() + b; j += 1; } s }";
    let out = crate::derive_gradient(TokenStream::new(), carried.parse().unwrap()).to_string();
    assert!(out.contains("stack"), "{out}");
}

/// A comparison whose left side ends in a cast (`(x + n as f64) < 1.0`, the parentheses gone
/// in the IR) is printed with them again: `x + n as f64 < 1.0` does not parse (`f64 <` reads
/// as generic arguments). Found by the compile-level random programs (seed 20000).
#[test]
fn a_cast_before_less_than_keeps_its_parentheses() {
    for src in [
        "fn f(x: f64, n: usize) -> f64 { if (x + n as f64) < 1.0 { x * x } else { x } }",
        "fn f(x: f64, n: usize) -> f64 { if (x * n as f64) < x { x.sin() } else { x } }",
    ] {
        let out = crate::derive_gradient(TokenStream::new(), src.parse().unwrap());
        if let Err(e) = syn::parse2::<syn::File>(out.clone()) {
            panic!("{src}: {e}\n{out}");
        }
    }
}

/// A branch in a fused loop: its forward and reverse parts end up in one `if`, so the value
/// the reverse part reads is a `let` inside the branch, with no placeholder before the loop.
#[test]
fn forward_and_reverse_parts_of_a_branch_share_one_if() {
    let src = "fn f(x: &[f64], a: f64, n: usize) -> f64 { let mut acc = 0.0; for i in 0..n { let u = x[i] * a; if u > 0.0 { acc += u.tanh() * a; } else { acc -= u * u; } } acc }";
    let out = crate::derive_gradient(TokenStream::new(), src.parse().unwrap());
    let file: syn::File = syn::parse2(out.clone()).expect("the expansion parses");
    let pullback = file
        .items
        .iter()
        .find_map(|it| match it {
            syn::Item::Fn(f) if f.sig.ident == "f_pullback" => Some(quote::quote!(#f).to_string()),
            _ => None,
        })
        .expect("f_pullback");
    assert_eq!(pullback.matches("if u > 0.0").count(), 1, "{pullback}");
    assert!(
        pullback.contains("let t3 = u . tanh ()") && !pullback.contains("let mut t3"),
        "{pullback}"
    );
}

/// Two `if`s on one condition stay apart when a statement between them reads what the first
/// writes (running it first would change what it reads).
#[test]
fn twin_ifs_stay_apart_around_a_statement_that_reads_the_first() {
    use crate::ir::*;
    let span = proc_macro2::Span::call_site();
    let v = |i| VarId(i);
    let set = |t, x: f64| Stmt::Assign {
        target: v(t),
        op: Op::Use(Atom::Float(x)),
        span,
    };
    let copy = |t, s| Stmt::Assign {
        target: v(t),
        op: Op::Use(Atom::Var(v(s))),
        span,
    };
    let twin = |t| Stmt::If {
        cond: Atom::Var(v(0)),
        then: vec![set(t, 1.0)],
        els: vec![set(t, 2.0)],
    };
    // if c { y = 1 } else { y = 2 }; z = y; if c { w = 1 } else { w = 2 }
    let mut apart = vec![twin(1), copy(2, 1), twin(3)];
    assert!(!crate::cleanup::merge_twin_ifs(&mut apart));
    assert_eq!(apart.len(), 3);
    // if c { y = 1 } else { y = 2 }; z = q; if c { w = 1 } else { w = 2 }: merged, z first.
    let mut merged = vec![twin(1), copy(2, 4), twin(3)];
    assert!(crate::cleanup::merge_twin_ifs(&mut merged));
    assert_eq!(merged.len(), 2);
    assert!(matches!(&merged[0], Stmt::Assign { target, .. } if *target == v(2)));
    assert!(matches!(&merged[1], Stmt::If { then, els, .. } if then.len() == 2 && els.len() == 2));
}
