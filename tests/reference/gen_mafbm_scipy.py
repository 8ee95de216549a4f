"""Reference values for the incomplete gamma function and the MA-fBM normal equations.

Writes, as little-endian float64 arrays with a leading row count:
  sde/gammainc_p.bin   rows (a, x, P(a, x)) from scipy.special.gammainc;
  sde/mafbm_b.bin      rows (type, H, gamma, T, b) with the linear term b of the
                       time-integrated squared error computed by adaptive quadrature
                       from its defining integrals (type 2 = Riemann-Liouville,
                       type 1 = Mandelbrot-van Ness), independently of the closed forms
                       in src/sde/mafbm.c;
  sde/mafbm_vh.bin     rows (H, V_H) with V_H = Var B(1) of type I fBM by quadrature;
  sde/mafbm_residual.bin rows (type, H, K, residual) for K = 2..12: the minimum
                       time-averaged squared error on [0, 1] for gamma_max = 20, from the
                       closed-form normal equations solved in 60-digit arithmetic with
                       mpmath (the type II matrix has condition number 7e29 at K = 12).

Run with /usr/bin/python3 (SciPy 1.10):  /usr/bin/python3 tests/reference/gen_mafbm_scipy.py
"""
import os

import mpmath
import numpy as np
from scipy import integrate, special

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sde")


def write(name, rows):
    rows = np.asarray(rows, dtype="<f8")
    with open(os.path.join(HERE, name), "wb") as out:
        np.asarray([rows.shape[0]], dtype="<f8").tofile(out)
        rows.tofile(out)


def gammainc_rows():
    rows = []
    for a in [0.55, 0.6, 0.8, 1.0, 1.2, 1.4, 1.5, 1.6, 1.8, 1.95, 2.5, 5.0, 12.5]:
        xs = list(np.logspace(-4, np.log10(400.0), 41)) + [a + 0.999, a + 1.0, a + 1.001]
        for x in xs:
            rows.append((a, x, special.gammainc(a, x)))
    return rows


def kernel(u, a):
    return u ** (a - 1.0) / special.gamma(a) if u > 0 else 0.0


def b_type2(H, g, T):
    a = H + 0.5
    # int_0^T (T - u) K(u) e^(-g u) du, with the u^(a-1) singularity as the weight.
    val, _ = integrate.quad(lambda u: (T - u) * np.exp(-g * u) / special.gamma(a), 0.0, T,
                            weight="alg", wvar=(a - 1.0, 0.0), epsabs=0.0, epsrel=1e-13,
                            limit=200)
    return val


def b_type1(H, g, T):
    a = H + 0.5

    def cross(t):
        # E[B(t) (Y(t) - Y(0))] = int_0^t K(u) e^(-g u) du
        #   + (e^(-g t) - 1) int_0^inf (K(t + v) - K(v)) e^(-g v) dv
        first, _ = integrate.quad(lambda u: np.exp(-g * u) / special.gamma(a), 0.0, t,
                                  weight="alg", wvar=(a - 1.0, 0.0), epsabs=0.0, epsrel=1e-13,
                                  limit=200)
        shifted, _ = integrate.quad(lambda v: kernel(t + v, a) * np.exp(-g * v), 0.0, np.inf,
                                    epsabs=0.0, epsrel=1e-13, limit=400)
        plain, _ = integrate.quad(lambda v: np.exp(-g * v) / special.gamma(a), 0.0, 1.0,
                                  weight="alg", wvar=(a - 1.0, 0.0), epsabs=0.0,
                                  epsrel=1e-13, limit=200)
        tail, _ = integrate.quad(lambda v: kernel(v, a) * np.exp(-g * v), 1.0, np.inf,
                                 epsabs=0.0, epsrel=1e-13, limit=400)
        return first + (np.exp(-g * t) - 1.0) * (shifted - plain - tail)

    val, _ = integrate.quad(cross, 0.0, T, epsabs=0.0, epsrel=1e-11, limit=200)
    return val


def b_rows():
    rows = []
    for H in [0.1, 0.3, 0.5, 0.7, 0.9]:
        for g in [0.05, 1.0, 20.0]:
            for T in [0.5, 2.0]:
                rows.append((2.0, H, g, T, b_type2(H, g, T)))
                rows.append((1.0, H, g, T, b_type1(H, g, T)))
    return rows


def vh_rows():
    rows = []
    for H in [0.1, 0.3, 0.5, 0.7, 0.9]:
        d = H - 0.5
        f = lambda v: ((1.0 + v) ** d - v ** d) ** 2
        near, _ = integrate.quad(f, 0.0, 1.0, epsabs=0.0, epsrel=1e-13, limit=400)
        far, _ = integrate.quad(f, 1.0, np.inf, epsabs=0.0, epsrel=1e-13, limit=400)
        rows.append((H, (near + far + 1.0 / (2.0 * H)) / special.gamma(H + 0.5) ** 2))
    return rows


def residual_exact(kind, H, K, gamma_max=20, T=1):
    mpmath.mp.dps = 60
    H = mpmath.mpf(H)
    a = H + mpmath.mpf(1) / 2
    r = mpmath.mpf(gamma_max) ** (mpmath.mpf(2) / (K - 1))
    g = [r ** (k - mpmath.mpf(K + 1) / 2) for k in range(1, K + 1)]
    A = mpmath.matrix(K, K)
    b = mpmath.matrix(K, 1)
    phi2 = lambda x: (mpmath.exp(-x) - 1 + x) / x ** 2
    for i in range(K):
        for j in range(K):
            if kind == 2:
                A[i, j] = T ** 2 * phi2((g[i] + g[j]) * T)
            else:
                A[i, j] = T ** 2 * (g[i] * phi2(g[i] * T) + g[j] * phi2(g[j] * T)) / (g[i] + g[j])
        x = g[i] * T
        P = lambda s, y: mpmath.gammainc(s, 0, y, regularized=True)
        if kind == 2:
            b[i] = T * g[i] ** -a * P(a, x) - a * g[i] ** (-a - 1) * P(a + 1, x)
        else:
            q_scaled = mpmath.exp(x) * mpmath.gammainc(a, x, mpmath.inf, regularized=True)
            tail = q_scaled - 1 + x ** a / mpmath.gamma(a + 1)
            b[i] = g[i] ** -a * (2 * T - (1 - mpmath.exp(-x)) / g[i] - tail / g[i])
    if kind == 2:
        c = mpmath.mpf(T) ** (2 * H + 1) / (2 * H * (2 * H + 1) * mpmath.gamma(a) ** 2)
    else:
        c = mpmath.mpf(T) ** (2 * H + 1) / ((2 * H + 1) * mpmath.gamma(2 * H + 1)
                                              * mpmath.sin(mpmath.pi * H))
    w = mpmath.lu_solve(A, b)
    return float((c - (b.T * w)[0]) / T)


def residual_rows():
    rows = []
    for kind in (2, 1):
        for H in ["0.1", "0.3", "0.5", "0.7", "0.9"]:
            for K in range(2, 13):
                rows.append((float(kind), float(H), float(K), residual_exact(kind, H, K)))
    return rows


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    write("gammainc_p.bin", gammainc_rows())
    write("mafbm_b.bin", b_rows())
    write("mafbm_vh.bin", vh_rows())
    write("mafbm_residual.bin", residual_rows())
