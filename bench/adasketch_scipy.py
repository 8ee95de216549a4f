#!/usr/bin/python3
"""SciPy 1.10 minimize(method='trust-constr') on the problems of bench_adasketch, coded
here independently in NumPy, and the KKT-residual plots docs/img/adasketch-*.svg from
the history that bench_adasketch wrote.

    /usr/bin/python3 bench/adasketch_scipy.py [--prefix adasketch] [--heart PATH]
                                              [--pde-n 4] [--img docs/img]

Reads PREFIX-history.csv and PREFIX-logistic-Ab.csv, prints a Markdown table (the KKT
residual |(grad f + G^T lambda, c)| uses the least-squares multipliers at SciPy's x) and
writes the plots.
"""
import argparse
import csv
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import NonlinearConstraint, minimize  # noqa: E402

SQRT2 = np.sqrt(2.0)


def hs6():
    f = lambda x: (1 - x[0]) ** 2
    g = lambda x: np.array([-2 * (1 - x[0]), 0.0])
    h = lambda x: np.array([[2.0, 0], [0, 0]])
    c = lambda x: np.array([10 * (x[1] - x[0] ** 2)])
    J = lambda x: np.array([[-20 * x[0], 10.0]])
    ch = lambda x, v: v[0] * np.array([[-20.0, 0], [0, 0]])
    return "hs6", f, g, h, c, J, ch, np.array([-1.2, 1.0]), np.array([1.0, 1.0])


def hs7():
    f = lambda x: np.log(1 + x[0] ** 2) - x[1]
    g = lambda x: np.array([2 * x[0] / (1 + x[0] ** 2), -1.0])
    h = lambda x: np.array([[2 * (1 - x[0] ** 2) / (1 + x[0] ** 2) ** 2, 0], [0, 0]])
    c = lambda x: np.array([(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4])
    J = lambda x: np.array([[4 * x[0] * (1 + x[0] ** 2), 2 * x[1]]])
    ch = lambda x, v: v[0] * np.array([[4 + 12 * x[0] ** 2, 0], [0, 2.0]])
    return "hs7", f, g, h, c, J, ch, np.array([2.0, 2.0]), np.array([0.0, np.sqrt(3.0)])


def hs28():
    f = lambda x: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2
    g = lambda x: np.array([2 * (x[0] + x[1]), 2 * (x[0] + 2 * x[1] + x[2]), 2 * (x[1] + x[2])])
    h = lambda x: np.array([[2.0, 2, 0], [2, 4, 2], [0, 2, 2]])
    c = lambda x: np.array([x[0] + 2 * x[1] + 3 * x[2] - 1])
    J = lambda x: np.array([[1.0, 2, 3]])
    ch = lambda x, v: np.zeros((3, 3))
    return "hs28", f, g, h, c, J, ch, np.array([-4.0, 1, 1]), np.array([0.5, -0.5, 0.5])


def bt2():
    f = lambda x: (x[0] - 1) ** 2 + (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 4

    def g(x):
        d3 = 4 * (x[1] - x[2]) ** 3
        return np.array([2 * (x[0] - 1) + 2 * (x[0] - x[1]), -2 * (x[0] - x[1]) + d3, -d3])

    def h(x):
        e = 12 * (x[1] - x[2]) ** 2
        return np.array([[4.0, -2, 0], [-2, 2 + e, -e], [0, -e, e]])

    c = lambda x: np.array([x[0] * (1 + x[1] ** 2) + x[2] ** 4 - 4 - 3 * SQRT2])
    J = lambda x: np.array([[1 + x[1] ** 2, 2 * x[0] * x[1], 4 * x[2] ** 3]])
    ch = lambda x, v: v[0] * np.array(
        [[0, 2 * x[1], 0], [2 * x[1], 2 * x[0], 0], [0, 0, 12 * x[2] ** 2]])
    # x* as stored in so_problem_bt2 (a Newton solve of the KKT system to 4e-12)
    xs = np.array([1.1048590197327162, 1.1966741822871823, 1.5352622603257302])
    return "bt2", f, g, h, c, J, ch, np.array([10.0, 10, 10]), xs


def booth():
    f = lambda x: 0.0
    g = lambda x: np.zeros(2)
    h = lambda x: np.zeros((2, 2))
    M = np.array([[1.0, 2], [2, 1]])
    c = lambda x: M @ x - np.array([7.0, 5])
    J = lambda x: M
    ch = lambda x, v: np.zeros((2, 2))
    return "booth", f, g, h, c, J, ch, np.array([0.0, 0]), np.array([1.0, 3.0])


def read_libsvm(path):
    rows, labels, d = [], [], 0
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            labels.append(float(parts[0]))
            feats = {}
            for item in parts[1:]:
                k, v = item.split(":")
                feats[int(k) - 1] = float(v)
                d = max(d, int(k))
            rows.append(feats)
    X = np.zeros((len(rows), d))
    for i, feats in enumerate(rows):
        for k, v in feats.items():
            X[i, k] = v
    y = np.where(np.array(labels) == max(labels), 1.0, -1.0)
    return X, y


def logistic(heart, ab_path):
    X, y = read_libsvm(heart)
    # float32 features, as the library stores them
    X = X.astype(np.float32).astype(np.float64)
    Ab = np.loadtxt(ab_path, delimiter=",", ndmin=2)
    A, b = Ab[:, :-1], Ab[:, -1]
    N, d = X.shape

    def f(w):
        return np.mean(np.logaddexp(0.0, -y * (X @ w)))

    def g(w):
        s = -y / (1.0 + np.exp(y * (X @ w)))
        return X.T @ s / N

    def h(w):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        return (X.T * (p * (1 - p))) @ X / N

    c = lambda w: np.concatenate([A @ w - b, [w @ w - 1]])
    J = lambda w: np.vstack([A, 2 * w])
    ch = lambda w, v: 2 * v[-1] * np.eye(d)
    return "constrained_logistic", f, g, h, c, J, ch, np.ones(d) / np.sqrt(d), None


def pde(N):
    h2 = (2.0 / (N + 1)) ** 2
    step, mid = 0.1 / np.sqrt(15.0), (N + 1) / 2.0
    i = np.arange(1, N + 1)
    # column-major grid: entry (i, j) at i + j N
    target = (np.sin(4 + step * (i[:, None] - mid)) + np.cos(3 + step * (i[None, :] - mid)))
    target = target.flatten(order="F")
    T = np.diag(-4.0 * np.ones(N)) + np.diag(np.ones(N - 1), 1) + np.diag(np.ones(N - 1), -1)
    L = (np.kron(np.eye(N), T) + np.kron(np.diag(np.ones(N - 1), 1) + np.diag(np.ones(N - 1), -1),
                                         np.eye(N))) / h2
    M = N * N
    G = np.hstack([L, np.eye(M)])
    f = lambda x: 0.5 * (np.sum((x[:M] - target) ** 2) + 0.1 * np.sum(x[M:] ** 2))
    g = lambda x: np.concatenate([x[:M] - target, 0.1 * x[M:]])
    H = np.diag(np.concatenate([np.ones(M), 0.1 * np.ones(M)]))
    return ("pde_control", f, g, lambda x: H, lambda x: G @ x, lambda x: G,
            lambda x, v: np.zeros((2 * M, 2 * M)), np.ones(2 * M), None)


def kkt_residual(g, c, J, x):
    G = J(x)
    gx = g(x)
    lam = np.linalg.lstsq(G.T, -gx, rcond=None)[0]
    return np.linalg.norm(np.concatenate([gx + G.T @ lam, c(x)]))


def run_scipy(problem):
    name, f, g, h, c, J, ch, x0, xs = problem
    con = NonlinearConstraint(c, 0.0, 0.0, jac=J, hess=ch)
    t0 = time.perf_counter()
    r = minimize(f, x0, jac=g, hess=h, method="trust-constr", constraints=[con],
                 options={"gtol": 1e-10, "xtol": 1e-14, "maxiter": 5000})
    seconds = time.perf_counter() - t0
    dx = np.max(np.abs(r.x - xs)) if xs is not None else float("nan")
    return name, r.nit, kkt_residual(g, c, J, r.x), f(r.x), dx, seconds


def read_history(path):
    runs = {}
    with open(path) as fh:
        for row in csv.DictReader(fh):
            runs.setdefault((row["problem"], row["solver"]), []).append(row)
    return runs


def plot(runs, problems, xkey, path, title):
    fig, axes = plt.subplots(1, len(problems), figsize=(3.2 * len(problems), 3.0),
                             squeeze=False)
    for ax, prob in zip(axes[0], problems):
        for solver, style in (("kaczmarz", "-o"), ("gaussian", "-s"), ("lu", "--^")):
            rows = runs.get((prob, solver))
            if not rows:
                continue
            # 1 + flops, so that the start (0 flops) shows on the log axis
            xs = [float(r[xkey]) + (1.0 if xkey == "flops" else 0.0) for r in rows]
            ys = [max(float(r["kkt"]), 1e-16) for r in rows]
            ax.semilogy(xs, ys, style, markersize=3, label=solver)
            if xkey == "flops":
                ax.set_xscale("log")
        if xkey == "iter":
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=6, integer=True))
        ax.axhline(1e-6, color="grey", linewidth=0.5)
        ax.set_title(prob)
        ax.set_xlabel("iteration" if xkey == "iter" else "1 + flops (estimate)")
    axes[0][0].set_ylabel("KKT residual")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", default="adasketch")
    ap.add_argument("--heart", default="tests/data/heart_scale")
    ap.add_argument("--pde-n", type=int, default=4)
    ap.add_argument("--img", default="docs/img")
    args = ap.parse_args()
    plt.rcParams["svg.hashsalt"] = "adasketch"

    problems = [hs6(), hs7(), hs28(), bt2(), booth(),
                logistic(args.heart, args.prefix + "-logistic-Ab.csv"), pde(args.pde_n)]
    runs = read_history(args.prefix + "-history.csv")
    print("| problem | solver | iterations | KKT | f | max abs(x - x*) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for prob in problems:
        name, nit, kkt, fval, dx, sec = run_scipy(prob)
        print(f"| {name} | SciPy trust-constr | {nit} | {kkt:.2e} | {fval:.10g} | {dx:.2e} "
              f"| {sec:.4f} |")
    hs = ["hs6", "hs7", "hs28", "bt2", "booth"]
    apps = ["constrained_logistic", "pde_control"]
    plot(runs, hs, "iter", f"{args.img}/adasketch-hs.svg",
         "AdaSketch-Newton, KKT residual per iteration")
    plot(runs, hs, "flops", f"{args.img}/adasketch-hs-flops.svg",
         "AdaSketch-Newton, KKT residual against the flop estimate")
    plot(runs, apps, "iter", f"{args.img}/adasketch-apps.svg",
         f"Logistic regression on heart_scale and PDE control (N = {args.pde_n})")
    plot(runs, apps, "flops", f"{args.img}/adasketch-apps-flops.svg",
         "Logistic regression and PDE control against the flop estimate")


if __name__ == "__main__":
    main()
