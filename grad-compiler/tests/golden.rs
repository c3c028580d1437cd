//! Golden tests of the expansion: what `#[derive_gradient]` prints for four small functions
//! (the seed's `f`, Rosenbrock, the seed's ReLU loss, a spring-pendulum energy whose
//! gradient cancels `sqrt`'s `0.5` against the `2` of the squares under it), formatted by
//! rustfmt, compared with
//! `tests/golden/*.rs`. A change to the generated code's shape shows up here as a diff to
//! review; after reviewing, `UPDATE_GOLDEN=1 cargo test -p grad-compiler --test golden`
//! rewrites the files.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// (file name, attribute arguments, function).
const CASES: &[(&str, &str, &str)] = &[
    (
        "seed_f",
        "",
        "fn f(x: f64, y: f64) -> f64 {
            3.0 * x * x * y
        }",
    ),
    (
        "rosenbrock",
        "",
        "fn rosenbrock(x: f64, y: f64) -> f64 {
            (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
        }",
    ),
    (
        "energy",
        "",
        "fn energy(q: [f64; 2], p: [f64; 2], k: f64) -> f64 {
            let r = (q[0] * q[0] + q[1] * q[1]).sqrt();
            let stretch = r - 1.0;
            0.5 * (p[0] * p[0] + p[1] * p[1]) + 0.5 * k * stretch * stretch + 9.81 * q[1]
        }",
    ),
    (
        "relu_loss",
        "wrt(w, b)",
        "fn loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
            let mut total = 0.0;
            for i in 0..n {
                let mut z = b;
                for j in 0..d {
                    z += w[j] * x[i * d + j];
                }
                let r = y[i] - z.max(0.0);
                total += r * r;
            }
            total / n as f64
        }",
    ),
];

fn rustfmt(code: &str) -> String {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt on the PATH (rustup component add rustfmt)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(code.as_bytes())
        .expect("rustfmt reads the code");
    let out = child.wait_with_output().expect("rustfmt runs");
    assert!(out.status.success(), "rustfmt failed on:\n{code}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn expansions_match_the_golden_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (name, attr, src) in CASES {
        let out = grad_compiler::derive_gradient(attr.parse().unwrap(), src.parse().unwrap());
        let got = format!(
            "// The expansion of `#[derive_gradient{}]` on the function below, as rustfmt\n// prints it (tests/golden.rs).\n\n{}",
            if attr.is_empty() { String::new() } else { format!("({attr})") },
            rustfmt(&out.to_string())
        );
        let path = dir.join(format!("{name}.rs"));
        if update {
            std::fs::write(&path, &got).expect("golden file written");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            stale.push(format!("--- {} (now) ---\n{got}", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "the expansion changed; review it and rerun with UPDATE_GOLDEN=1:\n{}",
        stale.join("\n")
    );
}
