#!/usr/bin/env python3
"""Write the torch.optim reference trajectories replayed by tests/optim/test_torch_parity.c.

Requires PyTorch 1.13 (Debian 12: python3-torch, run with /usr/bin/python3):

    /usr/bin/python3 tests/reference/gen_optim_torch.py

Each configuration runs one torch.optim method (SGD, Adagrad, RMSprop, Adadelta, Adam or
AdamW) with foreach=False (the single-tensor code path) for STEPS steps on a noisy
quadratic. At step t torch computes

    g_t = sign * (A (p_{t-1} - c) + 0.1 z_t)

from its own parameters, with A symmetric positive definite (eigenvalues from 0.1 to 2),
z_t standard normal, and sign = -1 for configurations that maximize, so every run
converges. Configurations with clip_value call torch.nn.utils.clip_grad_value_, and those
with clip_norm then call torch.nn.utils.clip_grad_norm_, before the step. Configurations
with groups split the parameters into one tensor per group, each in its own param_group
with lr * lr_scale and weight_decay * weight_decay_scale. The unclipped g_t are stored, so
the C test feeds exactly the gradients torch saw and compares the parameters after every
step. The gradients never depend on the C results.

Output in tests/reference/optim/:
  manifest.txt   one line per configuration, fields separated by spaces:
                 name method precision n steps, then name=value for every hyperparameter
                 the configuration sets (names of so_optim_params; reals written with
                 repr, so they round-trip), then group=lo:hi:lr_scale:weight_decay_scale
                 for each parameter group when there are several
  <name>.bin     little-endian values in the configuration's precision: p_0 (n values),
                 then for t = 1..steps the gradient g_t (n values) and the parameters p_t
                 (n values) after step t.
The first sixteen configurations use n = 32, as when the file was first written; the
others use n = 16 to keep the committed data small.
"""

import os
import struct

import torch

STEPS = 200
NOISE = 0.1
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim")

COMMON = dict(weight_decay=0.0, maximize=0, clip_norm=0.0, clip_value=0.0)

# torch.optim 1.13 defaults under the names of so_optim_params. torch.optim.SGD has no
# default learning rate; 0.01 is the library's.
DEFAULTS = {
    "sgd": dict(lr=0.01, momentum=0.0, dampening=0.0, nesterov=0),
    "momentum": dict(lr=0.01, momentum=0.9, dampening=0.0, nesterov=0),
    "nesterov": dict(lr=0.01, momentum=0.9, dampening=0.0, nesterov=1),
    "adagrad": dict(lr=1e-2, lr_decay=0.0, initial_accumulator_value=0.0, eps=1e-10),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=0),
    "adadelta": dict(lr=1.0, rho=0.9, eps=1e-6),
    "adam": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=0),
    "amsgrad": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=1),
    "adamw": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=0,
                  decoupled_weight_decay=1, weight_decay=1e-2),
}

# (name, method, precision, n, overrides of the defaults, groups or None)
CONFIGS = [
    ("sgd_plain", "sgd", "f64", 32, dict(lr=0.1), None),
    ("sgd_momentum", "sgd", "f64", 32, dict(lr=0.05, momentum=0.9), None),
    ("sgd_dampening", "sgd", "f64", 32, dict(lr=0.05, momentum=0.9, dampening=0.3), None),
    ("sgd_nesterov", "sgd", "f64", 32, dict(lr=0.05, momentum=0.9, nesterov=1), None),
    ("sgd_weight_decay", "sgd", "f64", 32, dict(lr=0.05, momentum=0.5, weight_decay=0.01),
     None),
    ("sgd_maximize", "sgd", "f64", 32, dict(lr=0.05, momentum=0.9, maximize=1), None),
    ("sgd_clip", "sgd", "f64", 32, dict(lr=0.1, momentum=0.9, clip_norm=1.0), None),
    ("adam_default", "adam", "f64", 32, dict(lr=0.05), None),
    ("adam_amsgrad", "adam", "f64", 32, dict(lr=0.05, amsgrad=1), None),
    ("adam_weight_decay", "adam", "f64", 32, dict(lr=0.05, weight_decay=0.05), None),
    ("adam_maximize", "adam", "f64", 32, dict(lr=0.05, maximize=1), None),
    ("adam_clip", "adam", "f64", 32, dict(lr=0.05, clip_norm=1.0), None),
    ("adam_amsgrad_decay_maximize_clip", "adam", "f64", 32,
     dict(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, amsgrad=1, weight_decay=0.01,
          maximize=1, clip_norm=2.0), None),
    ("adam_default_f32", "adam", "f32", 32, dict(lr=0.05), None),
    ("adam_amsgrad_weight_decay_f32", "adam", "f32", 32,
     dict(lr=0.05, amsgrad=1, weight_decay=0.05), None),
    ("sgd_nesterov_f32", "sgd", "f32", 32, dict(lr=0.05, momentum=0.9, nesterov=1), None),
    ("momentum_preset", "momentum", "f64", 16, dict(lr=0.05), None),
    ("nesterov_preset_weight_decay", "nesterov", "f64", 16,
     dict(lr=0.05, weight_decay=0.01), None),
    ("sgd_clip_value_then_norm", "sgd", "f64", 16,
     dict(lr=0.1, momentum=0.9, clip_value=0.5, clip_norm=1.0), None),
    ("sgd_groups_lr_and_decay", "sgd", "f64", 16,
     dict(lr=0.05, momentum=0.9, weight_decay=0.01),
     [(0, 10, 1.0, 1.0), (10, 16, 0.5, 0.0)]),
    ("adagrad_default", "adagrad", "f64", 16, dict(lr=0.1), None),
    ("adagrad_lr_decay_initial_accumulator", "adagrad", "f64", 16,
     dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1), None),
    ("adagrad_weight_decay_maximize", "adagrad", "f64", 16,
     dict(lr=0.1, weight_decay=0.05, maximize=1), None),
    ("adagrad_initial_accumulator_f32", "adagrad", "f32", 16,
     dict(lr=0.1, initial_accumulator_value=0.1), None),
    ("rmsprop_plain", "rmsprop", "f64", 16, dict(lr=0.01), None),
    ("rmsprop_centered", "rmsprop", "f64", 16, dict(lr=0.01, centered=1), None),
    ("rmsprop_momentum", "rmsprop", "f64", 16, dict(lr=0.01, momentum=0.9), None),
    ("rmsprop_centered_momentum_decay_maximize", "rmsprop", "f64", 16,
     dict(lr=0.005, alpha=0.9, eps=1e-6, momentum=0.5, centered=1, weight_decay=0.01,
          maximize=1), None),
    ("rmsprop_centered_momentum_f32", "rmsprop", "f32", 16,
     dict(lr=0.01, centered=1, momentum=0.9), None),
    ("adadelta_default", "adadelta", "f64", 16, dict(), None),
    ("adadelta_rho_decay_maximize", "adadelta", "f64", 16,
     dict(lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.01, maximize=1), None),
    ("adadelta_default_f32", "adadelta", "f32", 16, dict(), None),
    ("adamw_default", "adamw", "f64", 16, dict(lr=0.05), None),
    ("adamw_amsgrad_maximize", "adamw", "f64", 16,
     dict(lr=0.05, weight_decay=0.1, amsgrad=1, maximize=1), None),
    ("adamw_clip_value_then_norm", "adamw", "f64", 16,
     dict(lr=0.05, clip_value=0.5, clip_norm=1.0), None),
    ("adamw_groups_lr_and_decay", "adamw", "f64", 16, dict(lr=0.05, weight_decay=0.1),
     [(0, 12, 1.0, 1.0), (12, 16, 2.0, 0.0)]),
    ("adamw_weight_decay_f32", "adamw", "f32", 16, dict(lr=0.05, weight_decay=0.1), None),
    ("amsgrad_preset", "amsgrad", "f64", 16, dict(lr=0.05), None),
    ("adam_clip_value", "adam", "f64", 16, dict(lr=0.05, clip_value=0.3), None),
]


def make_optimizer(method, hp, groups):
    """groups: list of (tensor, lr_scale, weight_decay_scale)."""
    param_groups = [dict(params=[p], lr=hp["lr"] * lr_scale,
                         weight_decay=hp["weight_decay"] * wd_scale)
                    for p, lr_scale, wd_scale in groups]
    common = dict(lr=hp["lr"], weight_decay=hp["weight_decay"],
                  maximize=bool(hp["maximize"]), foreach=False)
    if method in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(param_groups, momentum=hp["momentum"],
                               dampening=hp["dampening"], nesterov=bool(hp["nesterov"]),
                               **common)
    if method == "adagrad":
        return torch.optim.Adagrad(param_groups, lr_decay=hp["lr_decay"], eps=hp["eps"],
                                   initial_accumulator_value=hp["initial_accumulator_value"],
                                   **common)
    if method == "rmsprop":
        return torch.optim.RMSprop(param_groups, alpha=hp["alpha"], eps=hp["eps"],
                                   momentum=hp["momentum"], centered=bool(hp["centered"]),
                                   **common)
    if method == "adadelta":
        return torch.optim.Adadelta(param_groups, rho=hp["rho"], eps=hp["eps"], **common)
    adam_class = torch.optim.AdamW if method == "adamw" else torch.optim.Adam
    return adam_class(param_groups, betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                      amsgrad=bool(hp["amsgrad"]), **common)


def make_problem(seed, n):
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    eigenvalues = torch.logspace(-1.0, 0.30103, n, dtype=torch.float64)
    a = q @ torch.diag(eigenvalues) @ q.T
    center = torch.randn(n, generator=gen, dtype=torch.float64)
    p0 = 2.0 * torch.randn(n, generator=gen, dtype=torch.float64)
    noise = torch.randn(STEPS, n, generator=gen, dtype=torch.float64)
    return a, center, p0, noise


def run(name, method, precision, n, hp, groups, seed):
    dtype = torch.float32 if precision == "f32" else torch.float64
    a, center, p0, noise = make_problem(seed, n)
    groups = groups or [(0, n, 1.0, 1.0)]
    start = p0.to(dtype)
    tensors = [torch.nn.Parameter(start[lo:hi].clone()) for lo, hi, _, _ in groups]
    opt = make_optimizer(method, hp, [(t, g[2], g[3]) for t, g in zip(tensors, groups)])
    sign = -1.0 if hp["maximize"] else 1.0
    out = [start.clone()]
    for t in range(STEPS):
        with torch.no_grad():
            p = torch.cat([x.detach() for x in tensors])
            g = (sign * (a @ (p.to(torch.float64) - center) + NOISE * noise[t])).to(dtype)
        for x, (lo, hi, _, _) in zip(tensors, groups):
            x.grad = g[lo:hi].clone()
        out.append(g.clone())
        if hp["clip_value"] > 0:
            torch.nn.utils.clip_grad_value_(tensors, hp["clip_value"])
        if hp["clip_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(tensors, hp["clip_norm"])
        opt.step()
        out.append(torch.cat([x.detach() for x in tensors]))
    fmt = "<%d%s" % (n, "f" if precision == "f32" else "d")
    with open(os.path.join(OUT_DIR, name + ".bin"), "wb") as f:
        for row in out:
            f.write(struct.pack(fmt, *row.tolist()))


def manifest_line(name, method, precision, n, hp, groups):
    fields = ["%s=%r" % (key, value) for key, value in hp.items()]
    if groups:
        fields += ["group=%d:%d:%r:%r" % group for group in groups]
    return "%s %s %s %d %d %s" % (name, method, precision, n, STEPS, " ".join(fields))


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    lines = ["# written by tests/reference/gen_optim_torch.py with torch " + torch.__version__,
             "# name method precision n steps name=value... group=lo:hi:lr_scale:"
             "weight_decay_scale..."]
    for index, (name, method, precision, n, overrides, groups) in enumerate(CONFIGS):
        hp = dict(COMMON)
        hp.update(DEFAULTS[method])
        hp.update(overrides)
        run(name, method, precision, n, hp, groups, seed=1000 + index)
        lines.append(manifest_line(name, method, precision, n, hp, groups))
    with open(os.path.join(OUT_DIR, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
