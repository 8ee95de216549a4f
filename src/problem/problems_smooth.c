/* Deterministic smooth problems: log-sum-exp, Rosenbrock and nonlinear equations. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/internal.h"
#include "stochopt/problem.h"

/* ---- Log-sum-exp: f = mu log sum_i exp((a_i^T x - b_i) / mu). With p = softmax of the
 * scaled residuals, grad f = A^T p and the Hessian is (1/mu) (A^T diag(p) A -
 * (A^T p)(A^T p)^T). WEIGHTED_GN drops the rank-one term, an upper bound of the Hessian. */

typedef struct lse {
    size_t rows, n;
    double mu;
    double *A, *b, *p, *scratch, *g, *x0;
} lse;

static void lse_destroy(void *user)
{
    lse *m = user;
    if (m == NULL)
        return;
    free(m->A);
    free(m->b);
    free(m->p);
    free(m->scratch);
    free(m->g);
    free(m->x0);
    free(m);
}

/* Fills m->p with the softmax weights at x and returns f. */
static double lse_prepare(lse *m, const double *x)
{
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m->rows, (int)m->n, 1.0, m->A, (int)m->n,
                x, 1, 0.0, m->p, 1);
    double zmax = -INFINITY, total = 0.0;
    for (size_t i = 0; i < m->rows; i++) {
        m->p[i] = (m->p[i] - m->b[i]) / m->mu;
        zmax = fmax(zmax, m->p[i]);
    }
    for (size_t i = 0; i < m->rows; i++) {
        m->p[i] = exp(m->p[i] - zmax);
        total += m->p[i];
    }
    for (size_t i = 0; i < m->rows; i++)
        m->p[i] /= total;
    return m->mu * (zmax + log(total));
}

static int lse_value_grad(void *user, const double *x, double *f, double *g)
{
    lse *m = user;
    *f = lse_prepare(m, x);
    if (g != NULL)
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m->rows, (int)m->n, 1.0, m->A, (int)m->n,
                    m->p, 1, 0.0, g, 1);
    return SO_OK;
}

static int lse_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    lse *m = user;
    const size_t n = m->n;
    if (kind != SO_CURVATURE_EXACT && kind != SO_CURVATURE_WEIGHTED_GN)
        return SO_ERR_UNSUPPORTED;
    (void)lse_prepare(m, x);
    /* scratch = diag(sqrt(p)) A, so A^T diag(p) A = scratch^T scratch. */
    for (size_t i = 0; i < m->rows; i++) {
        const double s = sqrt(m->p[i]);
        for (size_t j = 0; j < n; j++)
            m->scratch[i * n + j] = s * m->A[i * n + j];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)m->rows, 1.0 / m->mu,
                m->scratch, (int)n, 0.0, H, (int)n);
    if (kind == SO_CURVATURE_EXACT) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m->rows, (int)n, 1.0, m->A, (int)n, m->p,
                    1, 0.0, m->g, 1);
        cblas_dsyr(CblasRowMajor, CblasUpper, (int)n, -1.0 / m->mu, m->g, 1, H, (int)n);
    }
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; k < j; k++)
            H[j * n + k] = H[k * n + j];
    return SO_OK;
}

static int lse_curvature_vp(void *user, so_curvature kind, const double *x, const double *v,
                            double *out)
{
    lse *m = user;
    if (kind != SO_CURVATURE_EXACT && kind != SO_CURVATURE_WEIGHTED_GN)
        return SO_ERR_UNSUPPORTED;
    (void)lse_prepare(m, x);
    double *t = m->scratch; /* rows values */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m->rows, (int)m->n, 1.0, m->A, (int)m->n, v,
                1, 0.0, t, 1);
    double pt = 0.0;
    for (size_t i = 0; i < m->rows; i++)
        pt += m->p[i] * t[i];
    for (size_t i = 0; i < m->rows; i++)
        t[i] = m->p[i] * (t[i] - (kind == SO_CURVATURE_EXACT ? pt : 0.0)) / m->mu;
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)m->rows, (int)m->n, 1.0, m->A, (int)m->n, t,
                1, 0.0, out, 1);
    return SO_OK;
}

int so_problem_logsumexp(so_problem *p, const double *A, const double *b, size_t rows,
                         size_t n, double mu)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_logsumexp: p is NULL");
    memset(p, 0, sizeof *p);
    if (A == NULL || b == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_logsumexp: %s is NULL",
                        A == NULL ? "A" : "b");
    if (rows == 0 || n == 0)
        return so_fail_(SO_ERR_INVALID, "so_problem_logsumexp: rows = %zu, n = %zu; expected "
                        "both >= 1", rows, n);
    if (!(mu > 0.0) || !isfinite(mu))
        return so_fail_(SO_ERR_INVALID, "so_problem_logsumexp: mu = %g; expected a finite "
                        "value > 0", mu);
    if (rows > SIZE_MAX / sizeof(double) / n)
        return so_fail_(SO_ERR_INVALID, "so_problem_logsumexp: rows = %zu, n = %zu; the "
                        "rows x n matrix does not fit in memory", rows, n);
    for (size_t i = 0; i < rows * n; i++)
        if (!isfinite(A[i]))
            return so_fail_(SO_ERR_NONFINITE, "so_problem_logsumexp: A[%zu][%zu] = %g; "
                            "expected finite entries", i / n, i % n, A[i]);
    for (size_t i = 0; i < rows; i++)
        if (!isfinite(b[i]))
            return so_fail_(SO_ERR_NONFINITE, "so_problem_logsumexp: b[%zu] = %g; expected "
                            "finite entries", i, b[i]);
    lse *m = calloc(1, sizeof *m);
    if (m == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_problem_logsumexp: out of memory");
    m->rows = rows;
    m->n = n;
    m->mu = mu;
    m->A = so_calloc_(rows * n, sizeof *m->A);
    m->b = so_calloc_(rows, sizeof *m->b);
    m->p = so_calloc_(rows, sizeof *m->p);
    m->scratch = so_calloc_(rows * n, sizeof *m->scratch);
    m->g = so_calloc_(n, sizeof *m->g);
    m->x0 = so_calloc_(n, sizeof *m->x0);
    if (m->A == NULL || m->b == NULL || m->p == NULL || m->scratch == NULL || m->g == NULL ||
        m->x0 == NULL) {
        lse_destroy(m);
        return SO_ERR_NOMEM;
    }
    memcpy(m->A, A, rows * n * sizeof *A);
    memcpy(m->b, b, rows * sizeof *b);
    p->name = "logsumexp";
    p->n = n;
    p->user = m;
    p->value_grad = lse_value_grad;
    p->curvature = lse_curvature;
    p->curvature_vp = lse_curvature_vp;
    p->destroy = lse_destroy;
    p->x0 = m->x0;
    p->f_star = NAN;
    return SO_OK;
}

/* ---- Rosenbrock as the squared norm of residuals F_{2i} = 10 (x_{i+1} - x_i^2),
 * F_{2i+1} = 1 - x_i, so GAUSS_NEWTON = 2 J^T J. */

typedef struct rosen {
    size_t n;
    double *x0, *x_star;
} rosen;

static void rosen_destroy(void *user)
{
    rosen *m = user;
    if (m == NULL)
        return;
    free(m->x0);
    free(m->x_star);
    free(m);
}

static int rosen_value_grad(void *user, const double *x, double *f, double *g)
{
    const rosen *m = user;
    double sum = 0.0;
    if (g != NULL)
        memset(g, 0, m->n * sizeof *g);
    for (size_t i = 0; i + 1 < m->n; i++) {
        const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        sum += 100.0 * a * a + b * b;
        if (g != NULL) {
            g[i] += -400.0 * x[i] * a - 2.0 * b;
            g[i + 1] += 200.0 * a;
        }
    }
    *f = sum;
    return SO_OK;
}

static int rosen_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    const rosen *m = user;
    const size_t n = m->n;
    if (kind != SO_CURVATURE_EXACT && kind != SO_CURVATURE_GAUSS_NEWTON)
        return SO_ERR_UNSUPPORTED;
    memset(H, 0, n * n * sizeof *H);
    const int exact = kind == SO_CURVATURE_EXACT;
    for (size_t i = 0; i + 1 < n; i++) {
        const double a = x[i + 1] - x[i] * x[i];
        /* Gauss-Newton: 2 (grad F_{2i} grad F_{2i}^T + grad F_{2i+1} grad F_{2i+1}^T)
         * with grad F_{2i} = 10 (-2 x_i, 1) and grad F_{2i+1} = (-1, 0). The exact
         * Hessian adds 2 F_{2i} Hessian(F_{2i}) = -400 a in the (i, i) entry. */
        H[i * n + i] += 800.0 * x[i] * x[i] + 2.0 - (exact ? 400.0 * a : 0.0);
        H[i * n + i + 1] += -400.0 * x[i];
        H[(i + 1) * n + i] += -400.0 * x[i];
        H[(i + 1) * n + i + 1] += 200.0;
    }
    return SO_OK;
}

static int rosen_curvature_vp(void *user, so_curvature kind, const double *x,
                              const double *v, double *out)
{
    const rosen *m = user;
    if (kind != SO_CURVATURE_EXACT && kind != SO_CURVATURE_GAUSS_NEWTON)
        return SO_ERR_UNSUPPORTED;
    memset(out, 0, m->n * sizeof *out);
    for (size_t i = 0; i + 1 < m->n; i++) {
        const double a = x[i + 1] - x[i] * x[i];
        const double hii = 800.0 * x[i] * x[i] + 2.0 -
                           (kind == SO_CURVATURE_EXACT ? 400.0 * a : 0.0);
        out[i] += hii * v[i] - 400.0 * x[i] * v[i + 1];
        out[i + 1] += -400.0 * x[i] * v[i] + 200.0 * v[i + 1];
    }
    return SO_OK;
}

int so_problem_rosenbrock(so_problem *p, size_t n)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_rosenbrock: p is NULL");
    memset(p, 0, sizeof *p);
    if (n < 2)
        return so_fail_(SO_ERR_INVALID, "so_problem_rosenbrock: n = %zu; expected n >= 2", n);
    rosen *m = calloc(1, sizeof *m);
    if (m == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_problem_rosenbrock: out of memory");
    m->n = n;
    m->x0 = so_calloc_(n, sizeof *m->x0);
    m->x_star = so_calloc_(n, sizeof *m->x_star);
    if (m->x0 == NULL || m->x_star == NULL) {
        rosen_destroy(m);
        return SO_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        m->x0[i] = i % 2 == 0 ? -2.0 : 2.0;
        m->x_star[i] = 1.0;
    }
    p->name = "rosenbrock";
    p->n = n;
    p->user = m;
    p->value_grad = rosen_value_grad;
    p->curvature = rosen_curvature;
    p->curvature_vp = rosen_curvature_vp;
    p->destroy = rosen_destroy;
    p->x0 = m->x0;
    p->x_star = m->x_star;
    p->f_star = 0.0;
    return SO_OK;
}

/* ---- Nonlinear equations: f = |F|^q with q = power. With s = |F|:
 * grad f = q s^(q-2) J^T F and, for l(y) = |y|^q,
 * d^2 l = q s^(q-2) I + q (q-2) s^(q-4) F F^T, positive semidefinite for q >= 1. */

typedef struct nleq {
    size_t n, k;
    so_residual_fn F;
    void *user;
    double power;
    double *r, *J, *t, *x0;
} nleq;

static void nleq_destroy(void *user)
{
    nleq *m = user;
    if (m == NULL)
        return;
    free(m->r);
    free(m->J);
    free(m->t);
    free(m->x0);
    free(m);
}

/* Evaluates F and J at x and returns s = |F|. */
static int nleq_eval(nleq *m, const double *x, double *s)
{
    int status = m->F(m->user, x, m->r, m->J);
    if (status != 0)
        return status;
    *s = cblas_dnrm2((int)m->k, m->r, 1);
    return SO_OK;
}

static int nleq_value_grad(void *user, const double *x, double *f, double *g)
{
    nleq *m = user;
    double s;
    int status = g != NULL ? nleq_eval(m, x, &s) : m->F(m->user, x, m->r, NULL);
    if (status != 0)
        return status;
    if (g == NULL)
        s = cblas_dnrm2((int)m->k, m->r, 1);
    *f = pow(s, m->power);
    if (g != NULL) {
        const double scale = s > 0.0 ? m->power * pow(s, m->power - 2.0) : 0.0;
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m->k, (int)m->n, scale, m->J, (int)m->n,
                    m->r, 1, 0.0, g, 1);
    }
    return SO_OK;
}

/* Coefficients alpha, beta of d^2 l = alpha I + beta F F^T at s = |F|. */
static int nleq_outer(const nleq *m, double s, double *alpha, double *beta)
{
    const double q = m->power;
    if (s == 0.0) {
        if (q < 2.0)
            return so_fail_(SO_ERR_NONFINITE, "nonlinear equations: the Gauss-Newton matrix "
                            "of |F|^%g is unbounded at F = 0; use power >= 2 or stop before "
                            "F = 0", q);
        *alpha = q == 2.0 ? 2.0 : 0.0;
        *beta = 0.0;
        return SO_OK;
    }
    *alpha = q * pow(s, q - 2.0);
    *beta = q * (q - 2.0) * pow(s, q - 4.0);
    return SO_OK;
}

static int nleq_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    nleq *m = user;
    const size_t n = m->n, k = m->k;
    if (kind != SO_CURVATURE_GAUSS_NEWTON)
        return SO_ERR_UNSUPPORTED;
    double s = 0.0, alpha = 0.0, beta = 0.0;
    int status = nleq_eval(m, x, &s);
    if (status == SO_OK)
        status = nleq_outer(m, s, &alpha, &beta);
    if (status != SO_OK)
        return status;
    /* H = alpha J^T J + beta (J^T F)(J^T F)^T. */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, alpha, m->J, (int)n,
                0.0, H, (int)n);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, 1.0, m->J, (int)n, m->r, 1, 0.0,
                m->t, 1);
    cblas_dsyr(CblasRowMajor, CblasUpper, (int)n, beta, m->t, 1, H, (int)n);
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < j; i++)
            H[j * n + i] = H[i * n + j];
    return SO_OK;
}

static int nleq_curvature_vp(void *user, so_curvature kind, const double *x, const double *v,
                             double *out)
{
    nleq *m = user;
    if (kind != SO_CURVATURE_GAUSS_NEWTON)
        return SO_ERR_UNSUPPORTED;
    double s = 0.0, alpha = 0.0, beta = 0.0;
    int status = nleq_eval(m, x, &s);
    if (status == SO_OK)
        status = nleq_outer(m, s, &alpha, &beta);
    if (status != SO_OK)
        return status;
    /* t = J v (k values), then t <- alpha t + beta (F . t) F, out = J^T t. */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m->k, (int)m->n, 1.0, m->J, (int)m->n, v, 1,
                0.0, m->t, 1);
    const double ft = cblas_ddot((int)m->k, m->r, 1, m->t, 1);
    for (size_t i = 0; i < m->k; i++)
        m->t[i] = alpha * m->t[i] + beta * ft * m->r[i];
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)m->k, (int)m->n, 1.0, m->J, (int)m->n, m->t,
                1, 0.0, out, 1);
    return SO_OK;
}

int so_problem_nonlinear_equations(so_problem *p, size_t n, size_t k, so_residual_fn F,
                                   void *user, double power)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_nonlinear_equations: p is NULL");
    memset(p, 0, sizeof *p);
    if (F == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_nonlinear_equations: F is NULL; pass the "
                        "residual function");
    if (n == 0 || k == 0)
        return so_fail_(SO_ERR_INVALID, "so_problem_nonlinear_equations: n = %zu, k = %zu; "
                        "expected both >= 1", n, k);
    if (!(power >= 1.0) || !isfinite(power))
        return so_fail_(SO_ERR_INVALID, "so_problem_nonlinear_equations: power = %g; "
                        "expected a finite value >= 1", power);
    if (k > SIZE_MAX / sizeof(double) / n)
        return so_fail_(SO_ERR_INVALID, "so_problem_nonlinear_equations: n = %zu, k = %zu; "
                        "the k x n Jacobian does not fit in memory", n, k);
    nleq *m = calloc(1, sizeof *m);
    if (m == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_problem_nonlinear_equations: out of memory");
    m->n = n;
    m->k = k;
    m->F = F;
    m->user = user;
    m->power = power;
    m->r = so_calloc_(k, sizeof *m->r);
    m->J = so_calloc_(k * n, sizeof *m->J);
    m->t = so_calloc_(k > n ? k : n, sizeof *m->t);
    m->x0 = so_calloc_(n, sizeof *m->x0);
    if (m->r == NULL || m->J == NULL || m->t == NULL || m->x0 == NULL) {
        nleq_destroy(m);
        return SO_ERR_NOMEM;
    }
    p->name = "nonlinear_equations";
    p->n = n;
    p->user = m;
    p->value_grad = nleq_value_grad;
    p->curvature = nleq_curvature;
    p->curvature_vp = nleq_curvature_vp;
    p->destroy = nleq_destroy;
    p->x0 = m->x0;
    p->f_star = NAN; /* 0 when F has a root, which the problem does not know */
    return SO_OK;
}
