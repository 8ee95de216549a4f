#!/usr/bin/python3
"""Writes tests/reference/newton/rosenbrock.txt: the iterates of the adaptive
gradient-normalized regularized Newton method on the 2-D Rosenbrock function from
(-2, 2) with the exact Hessian, computed in NumPy from the update rule:

    lambda = |g| / (gamma + 1e-8),  delta = -(H + lambda I)^{-1} g  (Cholesky),
    accept if f(x) - f(x + delta) >= |grad f(x + delta)|^2 / (8 lambda),
    accepted: gamma = max(2 gamma, 1e-9); rejected or Cholesky failed: gamma = gamma / 2,

at most 40 trials per iteration, gamma = 1 at the start. Each line contains
k x1 x2 f |g| gamma trials after iteration k (k = 0 is the start).
Run: /usr/bin/python3 tests/reference/gen_newton_rosenbrock.py"""
import os

import numpy as np

ITERATIONS = 40


def f(x):
    return 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2


def grad(x):
    a = x[1] - x[0] ** 2
    return np.array([-400.0 * x[0] * a - 2.0 * (1.0 - x[0]), 200.0 * a])


def hess(x):
    a = x[1] - x[0] ** 2
    return np.array([[800.0 * x[0] ** 2 + 2.0 - 400.0 * a, -400.0 * x[0]],
                     [-400.0 * x[0], 200.0]])


def main():
    x = np.array([-2.0, 2.0])
    fx, g = f(x), grad(x)
    gamma = 1.0
    rows = [(0, x[0], x[1], fx, np.linalg.norm(g), gamma, 0)]
    for k in range(1, ITERATIONS + 1):
        H = hess(x)
        gnorm = np.linalg.norm(g)
        if gnorm == 0.0:
            break
        accepted = False
        for trial in range(40):
            lam = gnorm / (gamma + 1e-8)
            try:
                L = np.linalg.cholesky(H + lam * np.eye(2))
            except np.linalg.LinAlgError:
                gamma *= 0.5
                continue
            delta = -np.linalg.solve(L.T, np.linalg.solve(L, g))
            xt = x + delta
            ft, gt = f(xt), grad(xt)
            if np.isfinite(ft) and fx - ft >= gt.dot(gt) / (8.0 * lam):
                gamma = max(2.0 * gamma, 1e-9)
                x, fx, g = xt, ft, gt
                accepted = True
                break
            gamma *= 0.5
        if not accepted:
            raise SystemExit("no trial accepted at iteration %d" % k)
        rows.append((k, x[0], x[1], fx, np.linalg.norm(g), gamma, trial + 1))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "newton", "rosenbrock.txt")
    with open(out, "w") as fh:
        fh.write("# k x1 x2 f grad_norm gamma trials; gen_newton_rosenbrock.py, NumPy %s\n"
                 % np.__version__)
        for r in rows:
            fh.write("%d %.17g %.17g %.17g %.17g %.17g %d\n" % r)


if __name__ == "__main__":
    main()
