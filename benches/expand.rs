//! How long the macro takes to expand a large function: a generated body of about 200 lines
//! with nested loops, branches, arrays and every float method, expanded into all its
//! companions. The target is well under 100 ms per expansion.
//!
//! It calls the compiler library (`grad-compiler`) that the proc macro is a thin shell
//! around, so this times exactly the code rustc runs (here optimised; rustc runs proc macros
//! unoptimised by default).
use criterion::{criterion_group, criterion_main, Criterion};
use proc_macro2::TokenStream;
use std::time::Duration;

/// A function of about 200 lines: `blocks` copies of a 20-line block with a loop, a branch,
/// array updates and several float methods, each feeding the next.
fn large_function(blocks: usize) -> String {
    let mut body = String::from("let mut acc = 0.0;\nlet mut buf = [0.0; 8];\n");
    for k in 0..blocks {
        body.push_str(&format!(
            "let mut s{k} = acc * 0.5 + x[{k} % x.len()];
for i in 0..n {{
    let v = x[i] * w[i % 8] + s{k};
    if v > 0.0 {{
        s{k} = s{k} + v.tanh() * 0.1;
    }} else {{
        s{k} = s{k} - v.exp() * 0.01;
    }}
    buf[i % 8] += v.sin() * v.cos();
}}
let mut j{k} = 0;
while j{k} < 3 {{
    s{k} = s{k} * 0.9 + (s{k} * s{k} + 1.0).sqrt().ln();
    j{k} += 1;
}}
let p{k} = s{k}.powi(2) + s{k}.abs().powf(1.5) + s{k}.atan2(1.0 + b);
let q{k} = p{k}.max(0.0).min(10.0).hypot(b).mul_add(0.5, 1.0);
acc += q{k} / (1.0 + buf[{k} % 8].abs());
"
        ));
    }
    format!(
        "fn big(x: &[f64], w: [f64; 8], b: f64, n: usize) -> f64 {{\n{body}acc\n}}",
        body = body
    )
}

fn expansion(c: &mut Criterion) {
    let source = large_function(10);
    let lines = source.lines().count();
    let item: TokenStream = source.parse().expect("valid Rust");
    let attr: TokenStream = TokenStream::new();
    // The generated code must be free of errors for the timing to mean anything.
    let out = grad_compiler::derive_gradient(attr.clone(), item.clone()).to_string();
    assert!(
        !out.contains("compile_error"),
        "the benchmark function must expand cleanly"
    );
    let mut group = c.benchmark_group("expand");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    group.bench_function(format!("{lines}_line_function"), |b| {
        b.iter(|| grad_compiler::derive_gradient(attr.clone(), item.clone()))
    });
    group.finish();
}

criterion_group!(benches, expansion);
criterion_main!(benches);
