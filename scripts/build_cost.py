#!/usr/bin/env python3
"""What `#[derive_gradient]` costs at build time, on a library of 40 generated ~50-line
numeric functions with loops, branches, `while`, arrays and float methods.

Builds, in a scratch workspace (default /tmp/grad-build-cost) depending on this checkout:
  plain/      the 40 functions without the attribute
  annotated/  the same 40 functions with `#[derive_gradient]`
  caller/     a binary calling `f_grad` of every function of `annotated`
  caller_plain/  a binary calling every function of `plain`
  expanded/   annotated's expansion, as plain code
and reports, each from five rebuilds of that crate alone (its dependencies built), plain and
annotated in alternation (the ratio is the median of the five rounds' ratios):
  - `cargo check` of annotated vs plain,
  - `cargo build --release` of annotated vs plain (companions unused: they are `#[inline]`,
    so the library compiles none of them to machine code),
  - `cargo build --release` of annotated + caller (every `f_grad` compiled) vs plain +
    caller_plain (the library touched, so both are rebuilt),
  - the expanded lines (rustfmt'd) vs the source lines;
  - `cargo check` of that expansion compiled as plain code (expanded/), against plain: what
    checking the generated code costs without the macro's own run;
and then the `cargo check` and both release builds again with the macro compiled optimised
(`[profile.dev.package.grad-compiler] opt-level = 3` and the same for `release`, the setting
the README recommends): cargo builds proc macros unoptimised by default, in release builds
too, and most of the check is the macro itself.

Usage: python3 scripts/build_cost.py [scratch dir]
"""

import os
import random
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_FUNCTIONS = 40

METHODS = ["sin", "cos", "exp", "tanh", "sqrt", "ln_1p", "atan", "abs"]


def block(rng, k):
    """One of several statement blocks, ~5-8 lines, over x (slice), a, b, n and locals s, acc."""
    m1, m2 = rng.choice(METHODS), rng.choice(METHODS)
    c1, c2 = round(rng.uniform(0.1, 2.0), 2), round(rng.uniform(0.1, 2.0), 2)
    kind = rng.randrange(6)
    if kind == 0:
        return f"""    for i in 0..n {{
        let u{k} = x[i] * a + {c1} * b;
        if u{k} > 0.0 {{
            acc += u{k}.{m1}() * b;
        }} else {{
            acc -= u{k} * u{k} * {c2};
        }}
    }}"""
    if kind == 1:
        return f"""    let mut j{k} = 0;
    while j{k} < 3 {{
        s = s * {c1} + (b * {c2}).{m1}() * 0.1;
        j{k} += 1;
    }}
    acc += s * a;"""
    if kind == 2:
        return f"""    let v{k} = [a * {c1}, b - {c2}, s.{m1}()];
    let mut w{k} = 0.0;
    for e in v{k} {{
        w{k} += e * e;
    }}
    acc += w{k}.sqrt() * {c2};"""
    if kind == 3:
        return f"""    let p{k} = (a * a + {c1}).{m2}();
    let q{k} = if p{k} > b {{ p{k} - b }} else {{ b * {c2} }};
    s += q{k} * (a - {c1}).{m1}();
    acc += s / (1.0 + q{k} * q{k});"""
    if kind == 4:
        return f"""    let mut z{k} = 0.0;
    for i in 0..n {{
        z{k} += x[i] * (a * {c1} + x[i] * b);
    }}
    acc += z{k}.{m1}() * {c2};
    s = s.max(z{k} * 0.01);"""
    return f"""    let r{k} = x.iter().map(|xi| (xi * a).{m1}()).sum::<f64>();
    let t{k} = x.iter().zip(x.iter().skip(1)).map(|(p, q)| p * q * b).sum::<f64>();
    acc += r{k} * {c1} - t{k} * {c2};
    s += (r{k} * 0.1).{m2}();"""


def function(rng, i, annotated):
    blocks = "\n".join(block(rng, k) for k in range(7))
    attr = "#[derive_gradient]\n" if annotated else ""
    return f"""{attr}pub fn f{i}(x: &[f64], a: f64, b: f64, n: usize) -> f64 {{
    let mut acc = 0.0;
    let mut s = a * b;
{blocks}
    acc + s * 0.5
}}
"""


def library(annotated):
    rng = random.Random(12)
    head = "#![allow(clippy::all, unused)]\n"
    if annotated:
        head += "use grad::derive_gradient;\n"
    return head + "\n".join(function(rng, i, annotated) for i in range(N_FUNCTIONS))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


WORKSPACE = "[workspace]\nmembers = {members}\nresolver = \"2\"\n"
OPT_MACRO = "".join(
    f"\n[profile.{profile}.package.{package}]\nopt-level = 3\n"
    for profile in ["dev", "release"]
    for package in ["grad-compiler", "grad-macro"]
)
MEMBERS = '["plain", "annotated", "caller", "caller_plain", "expanded"]'


def scaffold(d):
    shutil.rmtree(os.path.join(d, "plain"), ignore_errors=True)
    shutil.rmtree(os.path.join(d, "annotated"), ignore_errors=True)
    shutil.rmtree(os.path.join(d, "caller"), ignore_errors=True)
    shutil.rmtree(os.path.join(d, "caller_plain"), ignore_errors=True)
    shutil.rmtree(os.path.join(d, "expanded"), ignore_errors=True)
    write(os.path.join(d, "Cargo.toml"), WORKSPACE.format(members=MEMBERS))
    grad = f'grad = {{ path = "{ROOT}" }}\n'
    crates = [
        ("plain", ""),
        ("annotated", grad),
        ("caller", 'annotated = { path = "../annotated" }\n'),
        ("caller_plain", 'plain = { path = "../plain" }\n'),
        ("expanded", grad),
    ]
    for name, deps in crates:
        write(
            os.path.join(d, name, "Cargo.toml"),
            f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n{deps}',
        )
    write(os.path.join(d, "plain", "src", "lib.rs"), library(False))
    write(os.path.join(d, "annotated", "src", "lib.rs"), library(True))
    write(os.path.join(d, "expanded", "src", "lib.rs"), "#![allow(clippy::all, unused)]\n" + expansion(d))
    for name, call in [("caller", "annotated::f{i}_grad(&x, 0.3, 0.7, x.len()).0"), ("caller_plain", "plain::f{i}(&x, 0.3, 0.7, x.len())")]:
        calls = "\n".join(f"    total += {call.format(i=i)};" for i in range(N_FUNCTIONS))
        write(
            os.path.join(d, name, "src", "main.rs"),
            f"fn main() {{\n    let x: Vec<f64> = (0..8).map(|i| i as f64 * 0.1).collect();\n    let mut total = 0.0;\n{calls}\n    println!(\"{{total}}\");\n}}\n",
        )
    lockfile = os.path.join(ROOT, "Cargo.lock")
    shutil.copy(lockfile, os.path.join(d, "Cargo.lock"))


def cargo(d, *args):
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(d, "target"))
    subprocess.run(["cargo", *args], cwd=d, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


ROUNDS = 5


def rebuild(d, crate, touch, args):
    """Seconds to rebuild `crate` after touching `touch` (its dependencies built)."""
    os.utime(os.path.join(d, touch))
    start = time.perf_counter()
    cargo(d, *args, "-p", crate)
    return time.perf_counter() - start


def timed_pair(d, plain, annotated, *args):
    """Rebuilds of `plain` and `annotated` (each `(crate, file to touch)`) in alternation,
    the order swapped every round: this machine's speed drifts by tens of percent within
    minutes, so each round's ratio compares the two under the same conditions. Returns the
    median times and the median of the rounds' ratios."""
    for crate, _ in (plain, annotated):
        cargo(d, *args, "-p", crate)
    times_p, times_a, ratios = [], [], []
    for r in range(ROUNDS):
        if r % 2 == 0:
            tp = rebuild(d, *plain, args)
            ta = rebuild(d, *annotated, args)
        else:
            ta = rebuild(d, *annotated, args)
            tp = rebuild(d, *plain, args)
        times_p.append(tp)
        times_a.append(ta)
        ratios.append(ta / tp)
    return statistics.median(times_p), statistics.median(times_a), statistics.median(ratios)


def expansion(d):
    """The expansion of annotated/src/lib.rs, through grad-compiler."""
    return subprocess.run(
        ["cargo", "run", "-q", "--release", "-p", "grad-dev", "--example", "expand_file", "--", os.path.join(d, "annotated", "src", "lib.rs")],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def expanded_lines(d):
    """Lines of the rustfmt'd expansion of annotated/src/lib.rs."""
    fmt = subprocess.run(["rustfmt", "--edition", "2021"], input=expansion(d), capture_output=True, text=True, check=True).stdout
    return len([l for l in fmt.splitlines() if l.strip()])


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/grad-build-cost"
    os.makedirs(d, exist_ok=True)
    scaffold(d)
    src_lines = len([l for l in library(False).splitlines() if l.strip()])
    plain_lib = ("plain", "plain/src/lib.rs")
    annotated_lib = ("annotated", "annotated/src/lib.rs")
    # A rebuild of a caller after touching its library recompiles both.
    plain_caller = ("caller_plain", "plain/src/lib.rs")
    annotated_caller = ("caller", "annotated/src/lib.rs")
    optimised = "macro optimised (`opt-level = 3` for grad-compiler)"
    rows = []
    rows.append(("`cargo check`, library", *timed_pair(d, plain_lib, annotated_lib, "check")))
    rows.append(
        (
            "`cargo check`, the expansion compiled as plain code (no macro run)",
            *timed_pair(d, plain_lib, ("expanded", "expanded/src/lib.rs"), "check"),
        )
    )
    release = ("build", "--release")
    rows.append(("`cargo build --release`, library (companions unused)", *timed_pair(d, plain_lib, annotated_lib, *release)))
    caller_row = "`cargo build --release`, library + binary calling every `f_grad` (plain: every `f`)"
    rows.append((caller_row, *timed_pair(d, plain_caller, annotated_caller, *release)))
    # The same builds with the proc macro optimised (the setting the README recommends;
    # a package's own profile overrides the unoptimised `build-override` default).
    write(os.path.join(d, "Cargo.toml"), WORKSPACE.format(members=MEMBERS) + OPT_MACRO)
    rows.insert(1, (f"`cargo check`, library, {optimised}", *timed_pair(d, plain_lib, annotated_lib, "check")))
    rows.insert(4, (f"`cargo build --release`, library, {optimised}", *timed_pair(d, plain_lib, annotated_lib, *release)))
    rows.append((f"{caller_row[:-len(' (plain: every `f`)')]}, {optimised}", *timed_pair(d, plain_caller, annotated_caller, *release)))
    write(os.path.join(d, "Cargo.toml"), WORKSPACE.format(members=MEMBERS))
    exp = expanded_lines(d)
    print(f"{N_FUNCTIONS} functions, {src_lines} source lines (non-blank)\n")
    print(f"Medians of {ROUNDS} rebuilds of each, plain and annotated in alternation; the ratio is the median of the rounds' ratios.\n")
    print("| build | plain | annotated | ratio |")
    print("|---|---:|---:|---:|")
    for name, plain, ann, ratio in rows:
        print(f"| {name} | {plain:.2f} s | {ann:.2f} s | {ratio:.1f} x |")
    print(f"| expanded lines (rustfmt, non-blank) | {src_lines} | {exp} | {exp / src_lines:.1f} x |")


if __name__ == "__main__":
    main()
