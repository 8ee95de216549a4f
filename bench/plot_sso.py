"""Plot the SSO benchmark curves: mean relative gap (L - L*) / L* against expensive
gradient evaluations, one SVG per problem and step schedule with one panel per loss.

    /usr/bin/python3 bench/plot_sso.py CURVE_DIR OUT_DIR

CURVE_DIR contains the sso-PROBLEM-LOSS.csv (constant steps) and sso-PROBLEM-LOSS-sqrt.csv
(steps / sqrt(t)) files written by bench_sso; the figures go to OUT_DIR/sso-PROBLEM.svg and
OUT_DIR/sso-PROBLEM-sqrt.svg. Needs matplotlib (3.6 under /usr/bin/python3 was used).
"""
import csv
import itertools
import os
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

PROBLEMS = {
    "heart": ("heart_scale", ("logistic", "squared")),
    "synthetic": ("synthetic sparse 2000 x 200", ("logistic", "squared")),
    "multiclass": ("synthetic 4 classes 1000 x 20", ("softmax",)),
}
SCHEDULES = (("", ""), ("-sqrt", ", steps / sqrt(t)"))
STYLES = {
    "SGD": ("black", "-"),
    "SLS": ("gray", "--"),
    "SSO m=1": ("tab:blue", "-"),
    "SSO m=5": ("tab:orange", "-"),
    "SSO m=10": ("tab:green", "-"),
    "SSO m=100": ("tab:red", "-"),
}


def read_curves(path):
    curves = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            xs, ys = curves.setdefault(row["method"], ([], []))
            xs.append(int(row["expensive_grads"]))
            ys.append(max(float(row["relative_gap"]), 1e-6))
    return curves


def main():
    curve_dir, out_dir = sys.argv[1], sys.argv[2]
    plt.rcParams["svg.hashsalt"] = "stochopt-sso"  # stable ids in the SVG
    for (slug, (title, losses)), (suffix, note) in itertools.product(PROBLEMS.items(), SCHEDULES):
        if not os.path.exists(os.path.join(curve_dir, f"sso-{slug}-{losses[0]}{suffix}.csv")):
            continue
        fig, axes = plt.subplots(1, len(losses), figsize=(5 * len(losses), 4), squeeze=False)
        axes = axes[0]
        for ax, loss in zip(axes, losses):
            curves = read_curves(os.path.join(curve_dir, f"sso-{slug}-{loss}{suffix}.csv"))
            for method, (xs, ys) in curves.items():
                color, style = STYLES.get(method, (None, "-"))
                ax.plot(xs, ys, style, color=color, label=method, linewidth=1.2)
            ax.axhline(0.01, color="k", linewidth=0.6, linestyle=":")
            ax.set_xscale("symlog", linthresh=10)
            ax.set_xlim(0, max(max(xs) for xs, _ in curves.values()))
            ax.set_yscale("log")
            ax.set_xlabel("expensive gradient evaluations (batch 25)")
            ax.set_ylabel("(L - L*) / L*, mean of 5 seeds")
            ax.set_title(f"{title}, {loss} loss{note}", fontsize=10)
            ax.grid(True, which="major", linewidth=0.3)
        axes[-1].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, f"sso-{slug}{suffix}.svg"), metadata={"Date": None})
        plt.close(fig)


if __name__ == "__main__":
    main()
