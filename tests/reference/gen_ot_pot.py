#!/usr/bin/python3
"""Writes the POT reference plans used by tests/ot/test_ot_pot_parity.c.

Run with Debian's python3 and python3-pot 0.8.2 (POT imports as `ot`):

    /usr/bin/python3 tests/reference/gen_ot_pot.py

Each case k writes tests/reference/ot/case<k>_<name>.npy with name in C (cost), a, b
(marginals), reg (a scalar) and plan_sinkhorn and plan_log, the plans of ot.sinkhorn
(method 'sinkhorn', the scaling form) and ot.sinkhorn(method='sinkhorn_log'), both run
to a column-marginal error below 1e-13 so that they are the entropic optimum to about
that accuracy whatever the stopping rule. It also writes stop_sinkhorn and stop_log, the
plans at POT's default stopThr 1e-9, and niter_sinkhorn and niter_log, POT's
log['niter'] for them (the index of the last iteration), to check iterate parity under
POT's stopping rule.
"""
import os

import numpy as np
import ot

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ot")

# (n, m, dimension, reg, seed): small and rectangular, with reg from mild to small.
CASES = [(5, 7, 2, 0.5, 1), (12, 9, 3, 0.1, 2), (20, 20, 2, 0.05, 3), (30, 25, 4, 0.02, 4)]


def make_case(n, m, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, d))
    y = rng.uniform(size=(m, d))
    C = ot.dist(x, y)  # squared Euclidean
    C = C / C.max()
    a = rng.uniform(0.5, 1.5, size=n)
    b = rng.uniform(0.5, 1.5, size=m)
    return C, a / a.sum(), b / b.sum()


def main():
    os.makedirs(OUT, exist_ok=True)
    for k, (n, m, d, reg, seed) in enumerate(CASES):
        C, a, b = make_case(n, m, d, seed)
        p_scaling = ot.sinkhorn(a, b, C, reg, method="sinkhorn", numItermax=200000,
                                stopThr=1e-13)
        p_log = ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", numItermax=200000,
                            stopThr=1e-13)
        s_scaling, log_scaling = ot.sinkhorn(a, b, C, reg, method="sinkhorn", log=True)
        s_log, log_log = ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", log=True)
        for name, value in [("C", C), ("a", a), ("b", b), ("reg", np.array(reg)),
                            ("plan_sinkhorn", p_scaling), ("plan_log", p_log),
                            ("stop_sinkhorn", s_scaling), ("stop_log", s_log),
                            ("niter_sinkhorn", np.array(float(log_scaling["niter"]))),
                            ("niter_log", np.array(float(log_log["niter"])))]:
            np.save(os.path.join(OUT, "case%d_%s.npy" % (k, name)), value)
        print("case %d: %dx%d reg %g, plans differ by %.2e, niter %d and %d" % (
            k, n, m, reg, np.abs(p_scaling - p_log).max(), log_scaling["niter"],
            log_log["niter"]))


if __name__ == "__main__":
    main()
