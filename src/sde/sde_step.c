/* One step of each fixed-step scheme for dX = f(t, X) dt + g(t, X) dW. Euler-Maruyama
 * and Milstein are the truncated Ito-Taylor expansions written out at each function.
 * SRA1 is A. Roessler's scheme (SIAM J. Numer. Anal. 48, 2010), with the coefficients
 * checked against the SRA1 tableau of the diffrax library and written with
 * I_(j,0) / h = dz / h. */
#include <math.h>

#include "core/internal.h"
#include "sde/sde_internal.h"

static int drift_at(so_sde *s, double t, const double *x, double *f)
{
    if (s->sys.drift(s->sys.user, t, x, f) < 0)
        return so_fail_(SO_ERR_CALLBACK, "sde: the drift callback stopped the step at t = %g",
                        t);
    return SO_OK;
}

static int diffusion_at(so_sde *s, double t, const double *x, double *g)
{
    if (s->sys.diffusion(s->sys.user, t, x, g) < 0)
        return so_fail_(SO_ERR_CALLBACK, "sde: the diffusion callback stopped the step at "
                        "t = %g", t);
    return SO_OK;
}

/* Adds g dW to y: g_i dW_i for diagonal noise, sum_j g_ij dW_j otherwise. */
static void add_noise(const so_sde *s, const double *g, const double *dw, double scale,
                      double *y)
{
    size_t n = s->sys.n, m = s->sys.m;
    if (s->sys.noise == SO_SDE_NOISE_DIAGONAL) {
        for (size_t i = 0; i < n; i++)
            y[i] += scale * g[i] * dw[i];
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (size_t j = 0; j < m; j++)
            sum += g[i * m + j] * dw[j];
        y[i] += scale * sum;
    }
}

static int euler_maruyama(so_sde *s, double t, double h, const double *dw, double *x)
{
    int status = drift_at(s, t, x, s->f);
    if (status == SO_OK)
        status = diffusion_at(s, t, x, s->g);
    if (status != SO_OK)
        return status;
    for (size_t i = 0; i < s->sys.n; i++)
        x[i] += s->f[i] * h;
    add_noise(s, s->g, dw, 1.0, x);
    return SO_OK;
}

/* Stratonovich Euler-Heun: the predictor x + g(t, x) dW, then the mean of g(t, x) and
 * g(t + h, predictor) multiplies dW. */
static int euler_heun(so_sde *s, double t, double h, const double *dw, double *x)
{
    size_t n = s->sys.n;
    int status = drift_at(s, t, x, s->f);
    if (status == SO_OK)
        status = diffusion_at(s, t, x, s->g);
    if (status != SO_OK)
        return status;
    for (size_t i = 0; i < n; i++)
        s->stage[i] = x[i];
    add_noise(s, s->g, dw, 1.0, s->stage);
    status = diffusion_at(s, t + h, s->stage, s->g2);
    if (status != SO_OK)
        return status;
    for (size_t i = 0; i < n; i++)
        x[i] += s->f[i] * h;
    add_noise(s, s->g, dw, 0.5, x);
    add_noise(s, s->g2, dw, 0.5, x);
    return SO_OK;
}

/* Rejects a non-commutative Jacobian product table: Milstein without Levy areas is only
 * of order 1 when L^j g_k = L^k g_j. The tolerance allows for rounding in the callback. */
static int check_commutative(const so_sde *s, double t)
{
    size_t n = s->sys.n, m = s->sys.m;
    const double tol = 1.4901161193847656e-08; /* sqrt of the double epsilon */
    for (size_t j = 0; j < m; j++)
        for (size_t k = j + 1; k < m; k++)
            for (size_t i = 0; i < n; i++) {
                double a = s->lg[(j * m + k) * n + i], b = s->lg[(k * m + j) * n + i];
                if (!(fabs(a - b) <= tol * (fabs(a) + fabs(b)) + 1e-300))
                    return so_fail_(SO_ERR_INVALID, "sde: noise is not commutative at t = %g: "
                                    "(L^%zu g_%zu)_%zu = %g but (L^%zu g_%zu)_%zu = %g; use "
                                    "Euler-Maruyama, which needs no Levy areas",
                                    t, j, k, i, a, k, j, i, b);
            }
    return SO_OK;
}

/* Milstein: x + f h + g dW + (1/2) sum_{j,k} (L^j g_k) dW_j dW_k, minus
 * (1/2) sum_j (L^j g_j) h in the Ito form. With commutative noise the double Ito
 * integrals I_(j,k) + I_(k,j) = dW_j dW_k, so the Levy areas cancel. */
static int milstein(so_sde *s, double t, double h, const double *dw, double *x, int ito)
{
    size_t n = s->sys.n, m = s->sys.m;
    if (s->sys.noise == SO_SDE_NOISE_GENERAL)
        return so_fail_(SO_ERR_UNSUPPORTED, "sde: Milstein needs Levy areas for general noise; "
                        "declare the noise diagonal, commutative or additive, or use "
                        "Euler-Maruyama");
    if (s->sys.noise == SO_SDE_NOISE_ADDITIVE)
        return euler_maruyama(s, t, h, dw, x); /* L^j g_k = 0, so Milstein is Euler */
    if (s->sys.diffusion_jvp == NULL)
        return so_fail_(SO_ERR_INVALID, "sde: Milstein needs the diffusion_jvp callback "
                        "(the products L^j g_k of the Jacobian of g with g)");

    int status = drift_at(s, t, x, s->f);
    if (status == SO_OK)
        status = diffusion_at(s, t, x, s->g);
    if (status != SO_OK)
        return status;
    if (s->sys.diffusion_jvp(s->sys.user, t, x, s->g, s->lg) < 0)
        return so_fail_(SO_ERR_CALLBACK, "sde: the diffusion_jvp callback stopped the step at "
                        "t = %g", t);
    double correction = ito ? h : 0.0;

    if (s->sys.noise == SO_SDE_NOISE_DIAGONAL) {
        for (size_t i = 0; i < n; i++)
            x[i] += s->f[i] * h + s->g[i] * dw[i]
                    + 0.5 * s->lg[i] * (dw[i] * dw[i] - correction);
        return SO_OK;
    }

    status = check_commutative(s, t);
    if (status != SO_OK)
        return status;
    for (size_t i = 0; i < n; i++) {
        double second = 0.0;
        for (size_t j = 0; j < m; j++) {
            for (size_t k = 0; k < m; k++)
                second += s->lg[(j * m + k) * n + i] * dw[j] * dw[k];
            second -= s->lg[(j * m + j) * n + i] * correction;
        }
        x[i] += s->f[i] * h + 0.5 * second;
    }
    add_noise(s, s->g, dw, 1.0, x);
    return SO_OK;
}

/* SRA1 for additive noise g(t), with chi_j = I_(j,0) / h = dz_j / h:
 *   stage = x + (3/4) h f(t, x) + (3/2) g(t + h) chi,
 *   x <- x + h (f(t, x) / 3 + 2 f(t + 3h/4, stage) / 3) + g(t + h) dW
 *          + (g(t) - g(t + h)) chi. */
static int sra1(so_sde *s, double t, double h, const double *dw, const double *dz, double *x)
{
    size_t n = s->sys.n, m = s->sys.m;
    if (s->sys.noise != SO_SDE_NOISE_ADDITIVE)
        return so_fail_(SO_ERR_UNSUPPORTED, "sde: SRA1 is for additive noise only; declare "
                        "SO_SDE_NOISE_ADDITIVE when g does not depend on x, or use Milstein");
    if (dz == NULL)
        return so_fail_(SO_ERR_INVALID, "sde: SRA1 needs dz, the time integrals of the "
                        "Brownian increments (so_brownian_increment writes them)");
    if (!(h > 0.0))
        return so_fail_(SO_ERR_INVALID, "sde: SRA1 step h = %g, expected h > 0", h);

    int status = drift_at(s, t, x, s->f);
    if (status == SO_OK)
        status = diffusion_at(s, t, x, s->g);
    if (status == SO_OK)
        status = diffusion_at(s, t + h, x, s->g2);
    if (status != SO_OK)
        return status;
    for (size_t i = 0; i < n; i++) {
        double noise = 0.0;
        for (size_t j = 0; j < m; j++)
            noise += s->g2[i * m + j] * dz[j] / h;
        s->stage[i] = x[i] + 0.75 * h * s->f[i] + 1.5 * noise;
    }
    status = drift_at(s, t + 0.75 * h, s->stage, s->f2);
    if (status != SO_OK)
        return status;
    for (size_t i = 0; i < n; i++) {
        double noise = 0.0;
        for (size_t j = 0; j < m; j++)
            noise += s->g2[i * m + j] * dw[j] + (s->g[i * m + j] - s->g2[i * m + j]) * dz[j] / h;
        x[i] += h * (s->f[i] / 3.0 + 2.0 * s->f2[i] / 3.0) + noise;
    }
    return SO_OK;
}

int so_sde_step(so_sde *s, so_sde_scheme scheme, double t, double h, const double *dw,
                const double *dz, double *x)
{
    if (!isfinite(t) || !isfinite(h))
        return so_fail_(SO_ERR_INVALID, "sde: step at t = %g with h = %g; both must be finite",
                        t, h);
    switch (scheme) {
    case SO_SDE_EULER_MARUYAMA:
        return euler_maruyama(s, t, h, dw, x);
    case SO_SDE_MILSTEIN:
        return milstein(s, t, h, dw, x, 1);
    case SO_SDE_EULER_HEUN:
        return euler_heun(s, t, h, dw, x);
    case SO_SDE_MILSTEIN_STRATONOVICH:
        return milstein(s, t, h, dw, x, 0);
    case SO_SDE_SRA1:
        return sra1(s, t, h, dw, dz, x);
    }
    return so_fail_(SO_ERR_INVALID, "sde: scheme %d is unknown; use one of the SO_SDE_ scheme "
                    "values", (int)scheme);
}
