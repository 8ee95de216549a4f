#!/usr/bin/python3
"""Times stochopt's Sinkhorn against POT 0.8 under the same stopping rule.

    /usr/bin/python3 bench/ot_pot.py build-ot/bench/bench_ot [MAX_ITER]

For n in {500, 1000, 2000} and reg in {0.05, 0.01, 0.002} it draws n uniform points in
[0, 1]^2 for each side (seed 0), takes the squared Euclidean cost divided by its maximum
(POT's usual normalization) and uniform marginals, then runs

  - ot.sinkhorn (sinkhorn_knopp, the scaling form) against `bench_ot solve ... sinkhorn`,
  - ot.bregman.sinkhorn_log against `bench_ot solve ... log`,

each with stopThr 1e-9 and numItermax MAX_ITER (default 1000). Both sides use POT's rule:
the L2 norm of the column-marginal error, tested at iterations 0, 10, 20, ..., so equal
iterates stop at the same iteration. Times cover the solver call only (POT builds its
kernel inside the call, as stochopt does). Prints a Markdown table.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import ot

SIZES = [500, 1000, 2000]
REGS = [0.05, 0.01, 0.002]
STOP = 1e-9


def pot_run(fn, C, reg, max_iter):
    n, m = C.shape
    a = np.full(n, 1.0 / n)
    b = np.full(m, 1.0 / m)
    start = time.perf_counter()
    _, log = fn(a, b, C, reg, numItermax=max_iter, stopThr=STOP, log=True, warn=False)
    seconds = time.perf_counter() - start
    return log["niter"] + 1, seconds


def ours(bench, path, method, reg, max_iter):
    out = subprocess.run([bench, "solve", path, method, repr(reg), repr(STOP), str(max_iter)],
                         check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1])


def main():
    bench = sys.argv[1]
    max_iter = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    pairs = [("scaling", ot.bregman.sinkhorn_knopp, "sinkhorn"),
             ("log", ot.bregman.sinkhorn_log, "log")]
    print("| n | reg | form | POT iterations | POT s | stochopt iterations | stochopt s "
          "| speedup |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            rng = np.random.default_rng(0)
            x = rng.uniform(size=(n, 2))
            y = rng.uniform(size=(n, 2))
            C = ot.dist(x, y)
            C /= C.max()
            path = os.path.join(tmp, "C%d.npy" % n)
            np.save(path, C)
            for reg in REGS:
                for form, fn, method in pairs:
                    pot_it, pot_s = pot_run(fn, C, reg, max_iter)
                    our_it, our_s = ours(bench, path, method, reg, max_iter)
                    print("| %d | %g | %s | %d | %.3f | %d | %.3f | %.1fx |" % (
                        n, reg, form, pot_it, pot_s, our_it, our_s, pot_s / our_s),
                        flush=True)


if __name__ == "__main__":
    main()
