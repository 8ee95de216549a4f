#!/usr/bin/env python3
"""Write the torch.optim reference trajectories replayed by tests/optim/test_torch_parity.c.

Requires PyTorch 1.13 (Debian 12: python3-torch, run with /usr/bin/python3):

    /usr/bin/python3 tests/reference/gen_optim_torch.py

Each configuration runs torch.optim.SGD or torch.optim.Adam with foreach=False (the
single-tensor code path) for STEPS steps on a noisy quadratic. At step t torch computes

    g_t = sign * (A (p_{t-1} - c) + 0.1 z_t)

from its own parameters, with A symmetric positive definite (eigenvalues from 0.1 to 2),
z_t standard normal, and sign = -1 for configurations that maximize, so every run
converges. Clipping configurations call torch.nn.utils.clip_grad_norm_ before the step.
The unclipped g_t are stored, so the C test feeds exactly the gradients torch saw and
compares the parameters after every step. The gradients never depend on the C results.

Output in tests/reference/optim/:
  manifest.txt   one line per configuration, fields separated by spaces:
                 name method precision n steps lr momentum dampening nesterov beta1 beta2
                 eps amsgrad weight_decay maximize clip_norm
                 (precision is f32 or f64; reals are written with repr, so they round-trip)
  <name>.bin     little-endian values in the configuration's precision: p_0 (n values),
                 then for t = 1..steps the gradient g_t (n values) and the parameters p_t
                 (n values) after step t.
"""

import os
import struct

import torch

N = 32
STEPS = 200
NOISE = 0.1
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim")

FIELDS = ["lr", "momentum", "dampening", "nesterov", "beta1", "beta2", "eps", "amsgrad",
          "weight_decay", "maximize", "clip_norm"]

SGD_DEFAULTS = dict(lr=0.01, momentum=0.0, dampening=0.0, nesterov=0, beta1=0.0, beta2=0.0,
                    eps=0.0, amsgrad=0, weight_decay=0.0, maximize=0, clip_norm=0.0)
ADAM_DEFAULTS = dict(lr=1e-3, momentum=0.0, dampening=0.0, nesterov=0, beta1=0.9,
                     beta2=0.999, eps=1e-8, amsgrad=0, weight_decay=0.0, maximize=0,
                     clip_norm=0.0)

# (name, method, precision, overrides of the defaults)
CONFIGS = [
    ("sgd_plain", "sgd", "f64", dict(lr=0.1)),
    ("sgd_momentum", "sgd", "f64", dict(lr=0.05, momentum=0.9)),
    ("sgd_dampening", "sgd", "f64", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("sgd_nesterov", "sgd", "f64", dict(lr=0.05, momentum=0.9, nesterov=1)),
    ("sgd_weight_decay", "sgd", "f64", dict(lr=0.05, momentum=0.5, weight_decay=0.01)),
    ("sgd_maximize", "sgd", "f64", dict(lr=0.05, momentum=0.9, maximize=1)),
    ("sgd_clip", "sgd", "f64", dict(lr=0.1, momentum=0.9, clip_norm=1.0)),
    ("adam_default", "adam", "f64", dict(lr=0.05)),
    ("adam_amsgrad", "adam", "f64", dict(lr=0.05, amsgrad=1)),
    ("adam_weight_decay", "adam", "f64", dict(lr=0.05, weight_decay=0.05)),
    ("adam_maximize", "adam", "f64", dict(lr=0.05, maximize=1)),
    ("adam_clip", "adam", "f64", dict(lr=0.05, clip_norm=1.0)),
    ("adam_amsgrad_decay_maximize_clip", "adam", "f64",
     dict(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, amsgrad=1, weight_decay=0.01,
          maximize=1, clip_norm=2.0)),
    ("adam_default_f32", "adam", "f32", dict(lr=0.05)),
    ("adam_amsgrad_weight_decay_f32", "adam", "f32",
     dict(lr=0.05, amsgrad=1, weight_decay=0.05)),
    ("sgd_nesterov_f32", "sgd", "f32", dict(lr=0.05, momentum=0.9, nesterov=1)),
]


def make_optimizer(method, hp, params):
    if method == "sgd":
        return torch.optim.SGD(params, lr=hp["lr"], momentum=hp["momentum"],
                               dampening=hp["dampening"], nesterov=bool(hp["nesterov"]),
                               weight_decay=hp["weight_decay"], maximize=bool(hp["maximize"]),
                               foreach=False)
    return torch.optim.Adam(params, lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                            eps=hp["eps"], weight_decay=hp["weight_decay"],
                            amsgrad=bool(hp["amsgrad"]), maximize=bool(hp["maximize"]),
                            foreach=False)


def make_problem(seed):
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(N, N, generator=gen, dtype=torch.float64))
    eigenvalues = torch.logspace(-1.0, 0.30103, N, dtype=torch.float64)
    a = q @ torch.diag(eigenvalues) @ q.T
    center = torch.randn(N, generator=gen, dtype=torch.float64)
    p0 = 2.0 * torch.randn(N, generator=gen, dtype=torch.float64)
    noise = torch.randn(STEPS, N, generator=gen, dtype=torch.float64)
    return a, center, p0, noise


def run(name, method, precision, hp, seed):
    dtype = torch.float32 if precision == "f32" else torch.float64
    a, center, p0, noise = make_problem(seed)
    p = torch.nn.Parameter(p0.to(dtype).clone())
    opt = make_optimizer(method, hp, [p])
    sign = -1.0 if hp["maximize"] else 1.0
    out = [p.detach().clone()]
    for t in range(STEPS):
        with torch.no_grad():
            g = sign * (a @ (p.detach().to(torch.float64) - center) + NOISE * noise[t])
        p.grad = g.to(dtype)
        out.append(p.grad.detach().clone())
        if hp["clip_norm"] > 0:
            torch.nn.utils.clip_grad_norm_([p], hp["clip_norm"])
        opt.step()
        out.append(p.detach().clone())
    fmt = "<%d%s" % (N, "f" if precision == "f32" else "d")
    with open(os.path.join(OUT_DIR, name + ".bin"), "wb") as f:
        for row in out:
            f.write(struct.pack(fmt, *row.tolist()))


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    lines = ["# written by tests/reference/gen_optim_torch.py with torch " + torch.__version__,
             "# name method precision n steps " + " ".join(FIELDS)]
    for index, (name, method, precision, overrides) in enumerate(CONFIGS):
        hp = dict(SGD_DEFAULTS if method == "sgd" else ADAM_DEFAULTS)
        hp.update(overrides)
        run(name, method, precision, hp, seed=1000 + index)
        values = " ".join(repr(hp[k]) for k in FIELDS)
        lines.append("%s %s %s %d %d %s" % (name, method, precision, N, STEPS, values))
    with open(os.path.join(OUT_DIR, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
