#!/usr/bin/env python3
"""Time torch.optim.Adam on float32 parameters at one thread, next to bench_adam.

Requires PyTorch (Debian 12: python3-torch, run with /usr/bin/python3):

    /usr/bin/python3 bench/adam_torch.py [--n 10000000] [--repeats 20] [--bench build/bench/bench_adam]

It times one optimizer.step() of torch.optim.Adam with default hyperparameters on one
tensor of n float32 parameters, with foreach=False (the single-tensor loop) and
foreach=True (the multi-tensor kernels), after torch.set_num_threads(1), and reports the
best and median of `repeats` steps. The gradient is set once and reused, as bench_adam
does. With --bench it then runs that bench_adam binary on the same n at one thread in the
same invocation and prints the ratios of the step times and the fraction of the bandwidth
bound that bench_adam measured.
"""

import argparse
import re
import statistics
import subprocess
import time

import torch


def time_adam(n, repeats, foreach):
    """Returns (best, median) seconds of one Adam step on n float32 parameters."""
    gen = torch.Generator().manual_seed(0)
    param = torch.nn.Parameter(torch.rand(n, generator=gen, dtype=torch.float32))
    param.grad = 1e-3 * torch.randn(n, generator=gen, dtype=torch.float32)
    opt = torch.optim.Adam([param], lr=1e-3, foreach=foreach)
    opt.step()  # warm up: state allocation, page faults
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        opt.step()
        seconds.append(time.perf_counter() - start)
    return min(seconds), statistics.median(seconds)


def run_bench(path, n, repeats):
    """Runs bench_adam and returns its output and its "summary:" fields as floats."""
    output = subprocess.run([path, str(n), "1", str(repeats)], check=True,
                            capture_output=True, text=True).stdout
    match = re.search(r"^summary: (.*)$", output, re.MULTILINE)
    if match is None:
        raise SystemExit("adam_torch.py: %s printed no summary line" % path)
    fields = dict(item.split("=") for item in match.group(1).split())
    return output, {key: float(value) for key, value in fields.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="parameters (float32)")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per variant")
    parser.add_argument("--bench", help="path of the bench_adam binary to run as well")
    args = parser.parse_args()

    torch.set_num_threads(1)
    print("torch %s, n = %d, threads = %d, best of %d steps"
          % (torch.__version__, args.n, torch.get_num_threads(), args.repeats))
    results = {}
    for foreach in (False, True):
        best, median = time_adam(args.n, args.repeats, foreach)
        results[foreach] = best
        label = "torch.optim.Adam foreach=%s" % foreach
        print("%-36s %8.2f ms  %6.2f GB/s at 28 B/param   (median %.2f ms)"
              % (label, 1e3 * best, 28.0 * args.n / best / 1e9, 1e3 * median))
    if args.bench is None:
        return
    output, summary = run_bench(args.bench, args.n, args.repeats)
    print()
    print(output.rstrip())
    print()
    step = summary["adam_step_ms"] / 1e3
    print("stochopt Adam step %.2f ms: %.1fx faster than torch single-tensor, %.1fx faster "
          "than torch foreach; %.0f%% of the bandwidth bound (triad %.2f GB/s)"
          % (1e3 * step, results[False] / step, results[True] / step,
             100.0 * summary["bound_fraction"], summary["triad_gbs"]))


if __name__ == "__main__":
    main()
