#!/usr/bin/python3
"""Times SciPy's solve_ivp (RK45 and DOP853) on the adaptive ODE benchmark problems.

    /usr/bin/python3 bench/ode_scipy.py              # the table
    /usr/bin/python3 bench/ode_scipy.py --no-time    # the table without the timing
    /usr/bin/python3 bench/ode_scipy.py --compare OURS.md ARKODE.md
                                  # the table, then ratios against the tables printed
                                  # by bench_ode and bench/peers/ode_arkode.c
    /usr/bin/python3 bench/ode_scipy.py --reference  # regenerate the reference states

The problems, tolerances and columns are those of bench/bench_ode.c:

  - lotka: x' = 1.5 x - x y, y' = -3 y + x y from (1, 1) on [0, 10],
  - vdp: Van der Pol with mu = 1, x' = y, y' = (1 - x^2) y - x from (2, 0) on [0, 20],
  - arenstorf: the restricted three-body orbit of Hairer, Norsett and Wanner
    (Section II.0) over one period,

at rtol = atol in {1e-6, 1e-9}. The error is max_i |y_i(t1) - ref_i| against the
reference states below, which `--reference` recomputes with mpmath's Taylor-series
solver (odefun) at 30 and 40 digits. NFE is solve_ivp's count of right-hand-side
evaluations (nfev). The time is the median over 5 samples of the time per solve, each
sample repeating the solve until it has run for at least 0.2 s.
"""
import math
import statistics
import sys
import time

import numpy as np
import scipy
from scipy.integrate import solve_ivp

ARENSTORF_MU = 0.012277471
ARENSTORF_PERIOD = 17.0652165601579625588917206249


def lotka(t, y):
    return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])


def vdp(t, y):
    return np.array([y[1], (1.0 - y[0] * y[0]) * y[1] - y[0]])


def arenstorf(t, y):
    """State (y1, y2, y1', y2')."""
    mu = ARENSTORF_MU
    mup = 1.0 - mu
    y1, y2, v1, v2 = y
    a = y1 + mu
    b = y1 - mup
    r1sq = a * a + y2 * y2
    r2sq = b * b + y2 * y2
    r1 = r1sq * math.sqrt(r1sq)
    r2 = r2sq * math.sqrt(r2sq)
    return np.array([
        v1,
        v2,
        y1 + 2.0 * v2 - mup * a / r1 - mu * b / r2,
        y2 - 2.0 * v1 - mup * y2 / r1 - mu * y2 / r2,
    ])


# name, rhs, t1, y0, reference state at t1 (from --reference, the same values as in
# bench/bench_ode.c)
PROBLEMS = [
    ("lotka", lotka, 10.0, [1.0, 1.0],
     [1.0263447675750894, 0.90969107813604166]),
    ("vdp", vdp, 20.0, [2.0, 0.0],
     [2.0081497621749484, -0.04250887527320215]),
    ("arenstorf", arenstorf, ARENSTORF_PERIOD,
     [0.994, 0.0, 0.0, -2.00158510637908252240537862224],
     [0.99399999999997402, -8.8551346201210835e-14, -1.4388667357318094e-11,
      -2.0015851063831289]),
]
TOLS = [1e-6, 1e-9]
METHODS = ["RK45", "DOP853"]


def solve(fn, t1, y0, method, tol):
    return solve_ivp(fn, (0.0, t1), y0, method=method, rtol=tol, atol=tol)


def seconds_per_solve(fn, t1, y0, method, tol):
    samples = []
    for _ in range(5):
        reps = 0
        start = time.perf_counter()
        while True:
            solve(fn, t1, y0, method, tol)
            reps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= 0.2:
                break
        samples.append(elapsed / reps)
    return statistics.median(samples)


def mp_rhs(name):
    """Return the right-hand side of problem `name` in mpmath arithmetic."""
    from mpmath import mpf, sqrt
    if name == "lotka":
        return lambda t, y: [mpf(1.5) * y[0] - y[0] * y[1], -3 * y[1] + y[0] * y[1]]
    if name == "vdp":
        return lambda t, y: [y[1], (1 - y[0] * y[0]) * y[1] - y[0]]
    mu = mpf(ARENSTORF_MU)
    mup = 1 - mu

    def rhs(t, y):
        y1, y2, v1, v2 = y
        r1sq = (y1 + mu) ** 2 + y2 * y2
        r2sq = (y1 - mup) ** 2 + y2 * y2
        r1 = r1sq * sqrt(r1sq)
        r2 = r2sq * sqrt(r2sq)
        return [v1, v2, y1 + 2 * v2 - mup * (y1 + mu) / r1 - mu * (y1 - mup) / r2,
                y2 - 2 * v1 - mup * y2 / r1 - mu * y2 / r2]
    return rhs


def print_reference():
    """Print y(t1) of each problem from mpmath's Taylor-series solver at 30 and 40
    digits, starting from the double-precision y0 and t1 that the solvers see, and the
    distance of DOP853 at SciPy's tightest tolerance (rtol = 100 eps, atol = 1e-14)."""
    import mpmath
    for name, fn, t1, y0, _ in PROBLEMS:
        states = []
        for digits in (30, 40):
            mpmath.mp.dps = digits
            sol = mpmath.odefun(mp_rhs(name), 0, [mpmath.mpf(v) for v in y0])
            states.append(sol(mpmath.mpf(t1)))
        mpmath.mp.dps = 40
        spread = max(abs(a - b) for a, b in zip(*states))
        dop = solve_ivp(fn, (0.0, t1), y0, method="DOP853", rtol=100 * np.finfo(float).eps,
                        atol=1e-14).y[:, -1]
        values = ", ".join("%.17g" % float(v) for v in states[1])
        print("%s: y(t1) = {%s}; 30 vs 40 digits differ by %.1e; DOP853 at rtol 100 eps "
              "differs by %.1e" % (name, values, float(spread),
                                  max(abs(float(v) - d) for v, d in zip(states[1], dop))))


def read_table(path):
    """Return the rows of a benchmark table printed by bench_ode or ode_arkode as
    dictionaries keyed by (problem, tol, method, controller)."""
    rows = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 9 or cells[0] in ("problem", "---"):
                continue
            key = (cells[0], float(cells[1]), cells[2], cells[3])
            rows[key] = {"nfe": int(cells[4]), "error": float(cells[7]),
                         "seconds": float(cells[8])}
    return rows


def short_label(method, controller):
    """Return `method`, `controller` with the controller cut to its kind (PI, I, ...)."""
    return "%s %s" % (method, controller.split(" ")[0])


def print_comparison(rows, pairs):
    """Print the ratios stochopt / peer of NFE and error, and peer / stochopt of the time
    per solve, for each pair of (method, controller) keys."""
    print()
    print("| problem | tol | stochopt | peer | NFE ratio | error ratio | both within 20% "
          "| peer time / stochopt time |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _, _, _, _ in PROBLEMS:
        for tol in TOLS:
            for ours, peer in pairs:
                a = rows.get((name, tol) + ours)
                b = rows.get((name, tol) + peer)
                if a is None or b is None:
                    continue
                nfe = a["nfe"] / b["nfe"]
                error = a["error"] / b["error"]
                within = "yes" if max(abs(nfe - 1.0), abs(error - 1.0)) <= 0.2 else "no"
                timed = a["seconds"] > 0 and b["seconds"] > 0
                speed = "%.1fx" % (b["seconds"] / a["seconds"]) if timed else "-"
                print("| %s | %.0e | %s | %s | %.2f | %.2f | %s | %s |"
                      % (name, tol, short_label(*ours), short_label(*peer), nfe, error,
                         within, speed))


def run_scipy(timed):
    """Print the SciPy table and return its rows keyed as in read_table."""
    print("SciPy %s, NumPy %s" % (scipy.__version__, np.__version__))
    print()
    print("| problem | tol | method | controller | NFE | accepted | rejected | error "
          "| seconds per solve |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = {}
    for name, fn, t1, y0, ref in PROBLEMS:
        for tol in TOLS:
            for method in METHODS:
                sol = solve(fn, t1, y0, method, tol)
                if sol.status != 0:
                    sys.exit("ode_scipy.py: %s %s tol %g failed: %s"
                             % (name, method, tol, sol.message))
                error = float(np.max(np.abs(sol.y[:, -1] - np.array(ref))))
                accepted = len(sol.t) - 1

                # solve_ivp does not count rejections, so they are derived from nfev.
                # It evaluates f at t0 and once in the starting-step rule. Each
                # attempted step then costs 6 evaluations in RK45 and 12 in DOP853:
                # the stages after the first, and f at the new state.
                per_step = 6 if method == "RK45" else 12
                rejected = (sol.nfev - 2 - per_step * accepted) // per_step
                seconds = seconds_per_solve(fn, t1, y0, method, tol) if timed else 0.0

                # The I controller's exponent is 1/(error order + 1): 1/5 for RK45's
                # order-4 estimate, 1/8 for DOP853's order-7 one.
                exponent = "1/5" if method == "RK45" else "1/8"
                controller = "I (%s), safety 0.9" % exponent
                print("| %s | %.0e | SciPy %s | %s | %d | %d | %d | %.2e | %.3e |"
                      % (name, tol, method, controller, sol.nfev, accepted, rejected, error,
                         seconds))
                sys.stdout.flush()
                rows[(name, tol, "SciPy " + method, controller)] = {
                    "nfe": sol.nfev, "error": error, "seconds": seconds}
    return rows


def main():
    args = sys.argv[1:]
    if "--reference" in args:
        print_reference()
        return
    compare = None
    if "--compare" in args:
        i = args.index("--compare")
        if len(args) < i + 3:
            sys.exit("usage: ode_scipy.py [--no-time] [--compare OURS.md ARKODE.md] "
                     "| --reference")
        compare = args[i + 1:i + 3]

    rows = run_scipy("--no-time" not in args)
    if compare is None:
        return
    for path in compare:
        rows.update(read_table(path))
    pi = "PI (0.14, 0.08), safety 0.9"
    i_ctl = "I (1/5), safety 0.9"
    dopri5 = "stochopt dopri5"
    print_comparison(rows, [
        ((dopri5, pi), ("SciPy RK45", i_ctl)),
        ((dopri5, i_ctl), ("SciPy RK45", i_ctl)),
        ((dopri5, pi), ("ARKODE ERKStep DP 5(4)", pi)),
        ((dopri5, i_ctl), ("ARKODE ERKStep DP 5(4)", i_ctl)),
        ((dopri5, pi), ("ARKODE ARKStep DP 5(4)", pi)),
        ((dopri5, pi), ("ARKODE ARKStep DP 5(4)", "defaults (PID, safety 0.96, bias 1.5)")),
        (("stochopt tsit5", pi), ("SciPy RK45", i_ctl)),
        (("stochopt tsit5", i_ctl), ("SciPy RK45", i_ctl)),
    ])


if __name__ == "__main__":
    main()
