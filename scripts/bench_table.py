#!/usr/bin/env python3
"""Turn criterion's output of `cargo bench` (benches/relu_neuron.rs, benches/jacobian.rs) into
markdown tables of medians and ratios.

Reads `<criterion dir>/*/*/new/estimates.json` (the median's point estimate) and the
`benchmark.json` beside it (group and function ids). Ratios are time / the `primal` median of
the same group, measured in the same run; for the Jacobian group also time / `num_dual`.

A function id `num_dual_N<m>` in group `relu_N<n>_d<d>` was measured on the first m rows
only; num-dual's cost is linear in the number of rows, so its time is scaled by n / m and
marked with `*`.

Usage:
    cargo bench --bench relu_neuron --bench jacobian
    python3 scripts/bench_table.py [target/criterion]
    CARGO_TARGET_DIR=/work/target-native ... python3 scripts/bench_table.py /work/target-native/criterion
"""

import json
import os
import re
import sys

RELU_COLUMNS = [
    "primal",
    "generated_grad",
    "generated_grad_into",
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
        order = ["primal", "generated_jacobian", "hand_jacobian", "num_dual", "finite_diff"]
        fids = [f for f in order if f in fns] + sorted(set(fns) - set(order))
        print(f"\n{gid}: median, ratio vs num-dual and vs primal (same run)\n")
        print("| method | median | / num_dual | / primal |")
        print("|---|---:|---:|---:|")
        for fid in fids:
            nd = f"{fns[fid] / fns['num_dual']:.3f}" if "num_dual" in fns else "-"
            print(f"| {fid} | {fmt_time(fns[fid])} | {nd} | {fns[fid] / fns['primal']:.2f} |")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    if not os.path.isdir(root):
        sys.exit(f"no criterion output at {root}: run `cargo bench` first")
    groups = load(root)
    print_relu(groups)
    print_jacobian(groups)


if __name__ == "__main__":
    main()
