#!/usr/bin/env python3
"""Turn criterion's output of `cargo bench -p grad-dev` into the README's markdown tables of
ratios (every ratio from medians of one run).

Reads `<criterion dir>/*/*/new/estimates.json` (the median's point estimate) and the
`benchmark.json` beside it (group and function ids). Tables: small functions
(benches/small.rs, generated vs hand-written vs num-dual), the ReLU loss
(benches/relu_neuron.rs), the Jacobian, the perceptron and second order; `--details` adds
the full ReLU table (every method / primal) and the Jacobian's medians. Last, the ratios the
benches timed alternately (`benches/support/interleaved.rs`, written to
`<criterion dir>/interleaved/<id>.txt`): generated against hand-written under the same
conditions, which a shared machine's drift between two criterion benchmarks does not give.

A function id `num_dual_N<m>` in group `relu_N<n>_d<d>` was measured on the first m rows
only; num-dual's cost is linear in the number of rows, so its time is scaled by n / m and
marked with `*`.

Usage:
    cargo bench -p grad-dev
    python3 scripts/bench_table.py [target/criterion] [--details]
"""

import json
import os
import re
import sys

RELU_COLUMNS = [
    "primal",
    "generated_grad",
    "generated_grad_into",
    "generated_iter_grad",
    "generated_iter_grad_into",
    "hand_fused",
    "hand_fused_into",
    "hand_fused_nobranch",
    "hand_fused_4acc",
    "hand_two_pass",
    "num_dual",
    "finite_diff",
]


def load(root):
    """{group_id: {function_id: median_ns}} for every benchmark under `root`."""
    groups = {}
    for group_dir in sorted(os.listdir(root)):
        gpath = os.path.join(root, group_dir)
        if not os.path.isdir(gpath) or group_dir == "report":
            continue
        for fn_dir in sorted(os.listdir(gpath)):
            new = os.path.join(gpath, fn_dir, "new")
            est, meta = os.path.join(new, "estimates.json"), os.path.join(new, "benchmark.json")
            if not (os.path.exists(est) and os.path.exists(meta)):
                continue
            with open(meta) as fh:
                m = json.load(fh)
            with open(est) as fh:
                median = json.load(fh)["median"]["point_estimate"]
            groups.setdefault(m["group_id"], {})[m["function_id"]] = median
    return groups


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def relu_rows(groups):
    """[(label, {column: (median_ns, scaled?)})] for the relu groups, by size."""
    rows = []
    for gid, fns in groups.items():
        m = re.fullmatch(r"relu_N(\d+)_d(\d+)", gid)
        if not m:
            continue
        n, d = int(m.group(1)), int(m.group(2))
        cells = {}
        for fid, ns in fns.items():
            dm = re.fullmatch(r"num_dual_N(\d+)", fid)
            if dm:
                cells["num_dual"] = (ns * n / int(dm.group(1)), True)
            else:
                cells[fid] = (ns, False)
        rows.append(((n, d), f"({n}, {d})", cells))
    rows.sort(key=lambda r: (r[0][1], r[0][0]))
    return [(label, cells) for _, label, cells in rows]


def print_relu(groups):
    rows = relu_rows(groups)
    if not rows:
        return
    cols = [c for c in RELU_COLUMNS if any(c in cells for _, cells in rows)]
    head = "| (N, d) | " + " | ".join(cols) + " |"
    sep = "|---|" + "---:|" * len(cols)

    print("ReLU-neuron loss: ratio = median time / primal median (same run)\n")
    print(head)
    print(sep)
    for label, cells in rows:
        primal = cells["primal"][0]
        out = []
        for c in cols:
            if c not in cells:
                out.append("-")
            else:
                ns, scaled = cells[c]
                out.append(f"{ns / primal:.2f}{'*' if scaled else ''}")
        print(f"| {label} | " + " | ".join(out) + " |")

    print("\nGenerated vs hand-written, and num-dual vs generated (same run)\n")
    print("| (N, d) | grad / hand_fused | grad_into / hand_fused_into | num_dual / grad |")
    print("|---|---:|---:|---:|")
    for label, cells in rows:
        def ratio(a, b):
            return f"{cells[a][0] / cells[b][0]:.2f}" if a in cells and b in cells else "-"
        print(
            f"| {label} | {ratio('generated_grad', 'hand_fused')} | "
            f"{ratio('generated_grad_into', 'hand_fused_into')} | {ratio('num_dual', 'generated_grad')} |"
        )

    print("\nAbsolute medians\n")
    print(head)
    print(sep)
    for label, cells in rows:
        out = []
        for c in cols:
            if c not in cells:
                out.append("-")
            else:
                ns, scaled = cells[c]
                out.append(fmt_time(ns) + ("*" if scaled else ""))
        print(f"| {label} | " + " | ".join(out) + " |")
    if any(cells.get("num_dual", (0, False))[1] for _, cells in rows):
        print("\n`*` num-dual measured on fewer rows (see the bench's `num_dual_N<m>` id), scaled linearly to N.")


def print_jacobian(groups):
    for gid, fns in sorted(groups.items()):
        if not gid.startswith("jacobian") or "primal" not in fns:
            continue
        order = ["primal", "generated_jacobian", "generated_jacobian_into", "hand_jacobian", "hand_jacobian_matrix", "num_dual", "finite_diff"]
        fids = [f for f in order if f in fns] + sorted(set(fns) - set(order))
        print(f"\n{gid}: median, ratio vs num-dual and vs primal (same run)\n")
        print("| method | median | / num_dual | / primal |")
        print("|---|---:|---:|---:|")
        for fid in fids:
            nd = f"{fns[fid] / fns['num_dual']:.3f}" if "num_dual" in fns else "-"
            print(f"| {fid} | {fmt_time(fns[fid])} | {nd} | {fns[fid] / fns['primal']:.2f} |")


def ratio(fns, a, b):
    """`a / b` of two medians of one group, or '-'."""
    return f"{fns[a] / fns[b]:.2f}" if a in fns and b in fns else "-"


SMALL = [
    ("seed_f", "the seed's f = 3x^2 y"),
    ("seed_g", "the seed's g = 2x + y^8"),
    ("rosenbrock", "Rosenbrock, 2 variables"),
    ("energy", "spring-pendulum energy, 5 parameters"),
    ("straight20", "20-statement straight-line function"),
    ("literal_loop", "sum over an array literal, `for e in [a, b, ab]`"),
    ("rosenbrock_n4", "Rosenbrock over a slice, n = 4 (`grad_into`)"),
    ("rosenbrock_n16", "Rosenbrock over a slice, n = 16 (`grad_into`)"),
    ("rosenbrock_n1000", "Rosenbrock over a slice, n = 1000 (`grad_into`)"),
]


def print_small(groups):
    rows = [(gid, label) for gid, label in SMALL if gid in groups]
    if not rows:
        return
    print("Small functions (benches/small.rs): ratios of medians in one run\n")
    print("| function | generated / hand-written | generated / primal | num-dual / generated |")
    print("|---|---:|---:|---:|")
    for gid, label in rows:
        fns = groups[gid]
        gen = "generated_grad" if "generated_grad" in fns else "generated_grad_into"
        hand = "hand_grad" if "hand_grad" in fns else "hand_grad_into"
        print(f"| {label} | {ratio(fns, gen, hand)} | {ratio(fns, gen, 'primal')} | {ratio(fns, 'num_dual', gen)} |")
    print()


def print_relu_summary(groups):
    rows = relu_rows(groups)
    if not rows:
        return
    print("The seed's ReLU loss (benches/relu_neuron.rs): ratios of medians in one run\n")
    print("| (N, d) | `loss_grad_into` / hand-written fused | `loss_grad` / primal | iterator form / indexed form (`grad_into`) | num-dual / `loss_grad` |")
    print("|---|---:|---:|---:|---:|")
    for label, cells in rows:
        fns = {k: v[0] for k, v in cells.items()}
        print(
            f"| {label} | {ratio(fns, 'generated_grad_into', 'hand_fused_into')} | "
            f"{ratio(fns, 'generated_grad', 'primal')} | "
            f"{ratio(fns, 'generated_iter_grad_into', 'generated_grad_into')} | "
            f"{ratio(fns, 'num_dual', 'generated_grad')}{'*' if cells.get('num_dual', (0, False))[1] else ''} |"
        )
    print()


def print_others(groups):
    lines = []
    for gid, fns in sorted(groups.items()):
        if gid.endswith("_jvp"):
            lines.append(f"| directional derivative (`{gid}`) | `f_pushforward` / hand-written JVP {ratio(fns, 'generated_pushforward', 'hand_jvp')}, with `forward` {ratio(fns, 'generated_forward', 'hand_jvp')}, num-dual / `f_pushforward` {ratio(fns, 'num_dual', 'generated_pushforward')} |")
        elif gid.startswith("vec_jacobian"):
            lines.append(f"| `Vec` Jacobian over a loop that is not a sum (`{gid}`) | `f_jacobian` / a pullback per row {ratio(fns, 'generated_jacobian', 'pullback_per_row')}, / primal {ratio(fns, 'generated_jacobian', 'primal')} |")
        elif gid.startswith("jacobian"):
            lines.append(f"| Jacobian 3 x 16 (`{gid}`) | generated / hand-written {ratio(fns, 'generated_jacobian', 'hand_jacobian')} (stack arrays), {ratio(fns, 'generated_jacobian', 'hand_jacobian_matrix')} (a `grad::Jacobian` like `f_jacobian`'s), `f_jacobian_into` / hand-written {ratio(fns, 'generated_jacobian_into', 'hand_jacobian')}, num-dual / generated {ratio(fns, 'num_dual', 'generated_jacobian')} |")
        elif gid.startswith("mlp"):
            lines.append(f"| two-layer perceptron, `[[f64; 16]; 8]` weights (`{gid}`) | `grad_into` / hand-written {ratio(fns, 'generated_grad_into', 'hand_grad_into')}, / primal {ratio(fns, 'generated_grad_into', 'primal')} |")
        elif gid.startswith("hvp"):
            lines.append(f"| `f_hvp` / `f_grad` (`{gid}`) | {ratio(fns, 'hvp', 'grad')} |")
        elif gid.startswith("hessian"):
            lines.append(f"| dense `f_hessian` / one `f_hvp`, n = 16 (`{gid}`) | {ratio(fns, 'hessian', 'hvp')} |")
    if lines:
        print_table("Jacobian, matrices, second order (same run)", "| benchmark | ratio |\n|---|---|", lines)
        print()


def print_parallel(groups):
    rows = sorted(
        (gid for gid in groups if gid.startswith("parallel_N")),
        key=lambda g: int(g.split("_N")[1].split("_")[0]),
    )
    if not rows:
        return
    print("`parallel` (benches/parallel.rs): the ReLU loss gradient on 1 and 2 threads, medians of one run\n")
    print("| (N, d) | primal | hand-written, 1 thread | generated, 1 thread | `parallel`, 1 thread | `parallel`, 2 threads | 2 threads / 1 thread | `parallel` 2 threads / hand-written |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for gid in rows:
        fns = groups[gid]
        n, d = gid.split("_N")[1].split("_d")
        cell = lambda k: fmt_time(fns[k]) if k in fns else "-"
        print(
            f"| ({n}, {d}) | {cell('primal')} | {cell('hand_fused_into')} | {cell('generated_grad_into')} | "
            f"{cell('parallel_grad_into_T1')} | {cell('parallel_grad_into_T2')} | "
            f"{ratio(fns, 'parallel_grad_into_T2', 'parallel_grad_into_T1')} | "
            f"{ratio(fns, 'parallel_grad_into_T2', 'hand_fused_into')} |"
        )
    print()


INTERLEAVED = [
    ("seed_f", "the seed's f = 3x^2 y, `f_grad` / hand-written"),
    ("seed_g", "the seed's g = 2x + y^8, `f_grad` / hand-written"),
    ("rosenbrock", "Rosenbrock, 2 variables, `f_grad` / hand-written"),
    ("energy", "spring-pendulum energy, 5 parameters, `f_grad` / hand-written"),
    ("straight20", "20-statement straight-line function, `f_grad` / hand-written"),
    ("literal_loop", "sum over an array literal (`for e in [a, b, ab]`), `f_grad` / hand-written"),
    ("rosenbrock_n4", "Rosenbrock over a slice, n = 4, `grad_into` / hand-written"),
    ("rosenbrock_n16", "Rosenbrock over a slice, n = 16, `grad_into` / hand-written"),
    ("rosenbrock_n1000", "Rosenbrock over a slice, n = 1000, `grad_into` / hand-written"),
    ("relu_N64_d4", "ReLU loss (64, 4), `grad_into` / hand-written fused"),
    ("relu_N1000_d16", "ReLU loss (1000, 16), `grad_into` / hand-written fused"),
    ("relu_N100000_d16", "ReLU loss (100000, 16), `grad_into` / hand-written fused"),
    ("relu_N10000_d256", "ReLU loss (10000, 256), `grad_into` / hand-written fused"),
    ("rosenbrock_jvp", "Rosenbrock, 2 variables, `f_pushforward` / hand-written forward-mode JVP"),
    ("rosenbrock_n16_jvp", "Rosenbrock over a slice, n = 16, `f_pushforward` / hand-written JVP"),
    ("rosenbrock_n1000_jvp", "Rosenbrock over a slice, n = 1000, `f_pushforward` / hand-written JVP"),
    ("rosenbrock_n16_jvp_forward", "Rosenbrock over a slice, n = 16, `f_pushforward` with `forward` / hand-written JVP"),
    ("rosenbrock_n1000_jvp_forward", "Rosenbrock over a slice, n = 1000, `f_pushforward` with `forward` / hand-written JVP"),
    ("jacobian_3x16", "Jacobian 3 x 16, `f_jacobian` / hand-written into stack arrays"),
    ("jacobian_3x16_matrix", "Jacobian 3 x 16, `f_jacobian` / hand-written into a `grad::Jacobian`"),
    ("jacobian_3x16_into", "Jacobian 3 x 16, `f_jacobian_into` (matrix reused) / hand-written into stack arrays"),
]


def print_table(title, header, rows):
    """A titled markdown table."""
    print(f"{title}\n")
    print(header)
    print("\n".join(rows))


def print_interleaved(root):
    """The ratios `benches/support/interleaved.rs` timed alternately."""
    rows = []
    for rid, label in INTERLEAVED:
        path = os.path.join(root, "interleaved", f"{rid}.txt")
        if os.path.exists(path):
            median, low, high = (float(v) for v in open(path).read().split())
            rows.append(f"| {label} | {median:.2f} | {low:.2f}-{high:.2f} |")
    if rows:
        print()
        print_table(
            "Timed alternately (benches/support/interleaved.rs): median ratio of 41 rounds",
            "| comparison | median | quartiles |\n|---|---:|---:|",
            rows,
        )


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = args[0] if args else os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    if not os.path.isdir(root):
        sys.exit(f"no criterion output at {root}: run `cargo bench` first")
    groups = load(root)
    print_small(groups)
    print_relu_summary(groups)
    print_others(groups)
    print_parallel(groups)
    print_interleaved(root)
    if "--details" in sys.argv:
        print_relu(groups)
        print_jacobian(groups)


if __name__ == "__main__":
    main()
