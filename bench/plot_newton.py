#!/usr/bin/python3
"""Plots f - f* against the iteration, log scale, for each CSV written by bench_newton.

Usage: /usr/bin/python3 bench/plot_newton.py CSV_DIR OUT_DIR
writes OUT_DIR/newton-<name>.svg for every CSV_DIR/newton-<name>.csv. Needs matplotlib.
Gradient descent runs longer than the x range; its curve is cut at the right edge."""
import csv
import os
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "stochopt-newton"  # stable ids, so reruns do not churn

TITLES = {
    "heart": "Logistic regression, heart_scale (270 x 13)",
    "logistic": "Logistic regression, synthetic 10000 x 200",
    "softmax": "Softmax regression, Fashion-MNIST 5000 images, 7 x 7 pooled",
    "lse": "Log-sum-exp, 1000 x 1000, mu = 0.05",
    "rosen": "Rosenbrock from (-2, 2)",
}


def read(path):
    runs = {}
    with open(path) as fh:
        for row in csv.DictReader(fh):
            it, gap = int(row["iteration"]), float(row["gap"])
            runs.setdefault(row["method"], []).append((it, gap))
    return runs


def plot(name, runs, out):
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    newton_like = [r[-1][0] for m, r in runs.items() if m != "gradient descent"]
    xmax = max(10, int(1.5 * max(newton_like))) if newton_like else None
    for method, rows in runs.items():
        xs = [it for it, gap in rows if gap > 0]
        ys = [gap for it, gap in rows if gap > 0]
        ax.semilogy(xs, ys, label=method, marker="." if len(xs) < 60 else None)
    ax.set_xlim(0, xmax)
    ax.set_ylim(bottom=1e-13)
    ax.set_xlabel("iteration")
    ax.set_ylabel("f - f*")
    ax.set_title(TITLES.get(name, name), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: plot_newton.py CSV_DIR OUT_DIR")
    src, dst = sys.argv[1], sys.argv[2]
    for entry in sorted(os.listdir(src)):
        if entry.startswith("newton-") and entry.endswith(".csv"):
            name = entry[len("newton-"):-len(".csv")]
            out = os.path.join(dst, "newton-%s.svg" % name)
            plot(name, read(os.path.join(src, entry)), out)
            print(out)


if __name__ == "__main__":
    main()
