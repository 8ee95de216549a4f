/* Equality-constrained test problems: HS6, HS7, HS28 (Hock and Schittkowski 1981), BT2
 * (Boggs and Tolle 1989), BOOTH (CUTEst), logistic regression with linear and unit-norm
 * constraints, and the discretized optimal control problem of Hong, Na, Mahoney and
 * Kolar (2023). Every problem provides the exact gradient, Jacobian, Hessian of f and
 * Hessians of the constraints. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stochopt/core.h"
#include "stochopt/problem.h"

/* Only EXACT curvature is provided by the problems in this file. */
static int reject_kind(const char *name, so_curvature kind)
{
    if (kind == SO_CURVATURE_EXACT)
        return SO_OK;
    return so_fail_(SO_ERR_UNSUPPORTED,
                    "%s: curvature kind '%s' is not provided; use SO_CURVATURE_EXACT", name,
                    so_curvature_name(kind) ? so_curvature_name(kind) : "unknown");
}

static void fill_table(so_problem *p, const char *name, size_t n, size_t m)
{
    memset(p, 0, sizeof *p);
    p->name = name;
    p->n = n;
    p->m = m;
    p->f_star = NAN;
}

/* ---- HS6: f = (1 - x1)^2, c = 10 (x2 - x1^2). */

static int hs6_value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    *f = (1.0 - x[0]) * (1.0 - x[0]);
    if (g != NULL) {
        g[0] = -2.0 * (1.0 - x[0]);
        g[1] = 0.0;
    }
    return SO_OK;
}

static int hs6_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    (void)x;
    int st = reject_kind("hs6", kind);
    if (st != SO_OK)
        return st;
    H[0] = 2.0;
    H[1] = H[2] = H[3] = 0.0;
    return SO_OK;
}

static int hs6_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = 10.0 * (x[1] - x[0] * x[0]);
    if (J != NULL) {
        J[0] = -20.0 * x[0];
        J[1] = 10.0;
    }
    return SO_OK;
}

static int hs6_constraint_hessian(void *user, const double *x, const double *lambda,
                                  double *H)
{
    (void)user;
    (void)x;
    H[0] += -20.0 * lambda[0];
    return SO_OK;
}

static const double hs6_x0[2] = {-1.2, 1.0};
static const double hs6_xs[2] = {1.0, 1.0};

int so_problem_hs6(so_problem *p)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_hs6: p is NULL; pass a problem table");
    fill_table(p, "hs6", 2, 1);
    p->value_grad = hs6_value_grad;
    p->curvature = hs6_curvature;
    p->constraints = hs6_constraints;
    p->constraint_hessian = hs6_constraint_hessian;
    p->x0 = hs6_x0;
    p->x_star = hs6_xs;
    p->f_star = 0.0;
    return SO_OK;
}

/* ---- HS7: f = log(1 + x1^2) - x2, c = (1 + x1^2)^2 + x2^2 - 4. */

static int hs7_value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    const double s = 1.0 + x[0] * x[0];
    *f = log(s) - x[1];
    if (g != NULL) {
        g[0] = 2.0 * x[0] / s;
        g[1] = -1.0;
    }
    return SO_OK;
}

static int hs7_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    int st = reject_kind("hs7", kind);
    if (st != SO_OK)
        return st;
    const double s = 1.0 + x[0] * x[0];
    H[0] = 2.0 * (1.0 - x[0] * x[0]) / (s * s);
    H[1] = H[2] = H[3] = 0.0;
    return SO_OK;
}

static int hs7_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    const double s = 1.0 + x[0] * x[0];
    c[0] = s * s + x[1] * x[1] - 4.0;
    if (J != NULL) {
        J[0] = 4.0 * x[0] * s;
        J[1] = 2.0 * x[1];
    }
    return SO_OK;
}

static int hs7_constraint_hessian(void *user, const double *x, const double *lambda,
                                  double *H)
{
    (void)user;
    H[0] += lambda[0] * (4.0 + 12.0 * x[0] * x[0]);
    H[3] += lambda[0] * 2.0;
    return SO_OK;
}

static const double hs7_x0[2] = {2.0, 2.0};
static const double hs7_xs[2] = {0.0, 1.7320508075688772}; /* (0, sqrt 3) */

int so_problem_hs7(so_problem *p)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_hs7: p is NULL; pass a problem table");
    fill_table(p, "hs7", 2, 1);
    p->value_grad = hs7_value_grad;
    p->curvature = hs7_curvature;
    p->constraints = hs7_constraints;
    p->constraint_hessian = hs7_constraint_hessian;
    p->x0 = hs7_x0;
    p->x_star = hs7_xs;
    p->f_star = -1.7320508075688772;
    return SO_OK;
}

/* ---- HS28: f = (x1 + x2)^2 + (x2 + x3)^2, c = x1 + 2 x2 + 3 x3 - 1. */

static int hs28_value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    const double a = x[0] + x[1];
    const double b = x[1] + x[2];
    *f = a * a + b * b;
    if (g != NULL) {
        g[0] = 2.0 * a;
        g[1] = 2.0 * a + 2.0 * b;
        g[2] = 2.0 * b;
    }
    return SO_OK;
}

static int hs28_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    (void)x;
    int st = reject_kind("hs28", kind);
    if (st != SO_OK)
        return st;
    static const double h[9] = {2, 2, 0, 2, 4, 2, 0, 2, 2};
    memcpy(H, h, sizeof h);
    return SO_OK;
}

static int hs28_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = x[0] + 2.0 * x[1] + 3.0 * x[2] - 1.0;
    if (J != NULL) {
        J[0] = 1.0;
        J[1] = 2.0;
        J[2] = 3.0;
    }
    return SO_OK;
}

/* Linear constraints: nothing to add. */
static int zero_constraint_hessian(void *user, const double *x, const double *lambda,
                                   double *H)
{
    (void)user;
    (void)x;
    (void)lambda;
    (void)H;
    return SO_OK;
}

static const double hs28_x0[3] = {-4.0, 1.0, 1.0};
static const double hs28_xs[3] = {0.5, -0.5, 0.5};

int so_problem_hs28(so_problem *p)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_hs28: p is NULL; pass a problem table");
    fill_table(p, "hs28", 3, 1);
    p->value_grad = hs28_value_grad;
    p->curvature = hs28_curvature;
    p->constraints = hs28_constraints;
    p->constraint_hessian = zero_constraint_hessian;
    p->x0 = hs28_x0;
    p->x_star = hs28_xs;
    p->f_star = 0.0;
    return SO_OK;
}

/* ---- BT2: f = (x1 - 1)^2 + (x1 - x2)^2 + (x2 - x3)^4,
 * c = x1 (1 + x2^2) + x3^4 - 4 - 3 sqrt 2. */

static int bt2_value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    const double a = x[0] - 1.0;
    const double b = x[0] - x[1];
    const double d = x[1] - x[2];
    *f = a * a + b * b + d * d * d * d;
    if (g != NULL) {
        g[0] = 2.0 * a + 2.0 * b;
        g[1] = -2.0 * b + 4.0 * d * d * d;
        g[2] = -4.0 * d * d * d;
    }
    return SO_OK;
}

static int bt2_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    int st = reject_kind("bt2", kind);
    if (st != SO_OK)
        return st;
    const double d2 = 12.0 * (x[1] - x[2]) * (x[1] - x[2]);
    H[0] = 4.0;
    H[1] = H[3] = -2.0;
    H[2] = H[6] = 0.0;
    H[4] = 2.0 + d2;
    H[5] = H[7] = -d2;
    H[8] = d2;
    return SO_OK;
}

static int bt2_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = x[0] * (1.0 + x[1] * x[1]) + x[2] * x[2] * x[2] * x[2] - 4.0 - 3.0 * sqrt(2.0);
    if (J != NULL) {
        J[0] = 1.0 + x[1] * x[1];
        J[1] = 2.0 * x[0] * x[1];
        J[2] = 4.0 * x[2] * x[2] * x[2];
    }
    return SO_OK;
}

static int bt2_constraint_hessian(void *user, const double *x, const double *lambda,
                                  double *H)
{
    (void)user;
    H[1] += lambda[0] * 2.0 * x[1];
    H[3] += lambda[0] * 2.0 * x[1];
    H[4] += lambda[0] * 2.0 * x[0];
    H[8] += lambda[0] * 12.0 * x[2] * x[2];
    return SO_OK;
}

static const double bt2_x0[3] = {10.0, 10.0, 10.0};
/* x* from a Newton solve of the KKT system with so_adasketch_newton (SO_KKT_LU) to a KKT
 * residual of 4e-12. SciPy 1.10 SLSQP agrees to 1e-8. f* = 0.032568200 is the value
 * stated in the CUTEst file BT2.SIF. */
static const double bt2_xs[3] = {1.1048590197327162, 1.1966741822871823, 1.5352622603257302};

int so_problem_bt2(so_problem *p)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_bt2: p is NULL; pass a problem table");
    fill_table(p, "bt2", 3, 1);
    p->value_grad = bt2_value_grad;
    p->curvature = bt2_curvature;
    p->constraints = bt2_constraints;
    p->constraint_hessian = bt2_constraint_hessian;
    p->x0 = bt2_x0;
    p->x_star = bt2_xs;
    p->f_star = 0.032568200;
    return SO_OK;
}

/* ---- BOOTH: f = 0, c = (x1 + 2 x2 - 7, 2 x1 + x2 - 5). */

static int booth_value_grad(void *user, const double *x, double *f, double *g)
{
    (void)user;
    (void)x;
    *f = 0.0;
    if (g != NULL)
        g[0] = g[1] = 0.0;
    return SO_OK;
}

static int booth_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    (void)user;
    (void)x;
    int st = reject_kind("booth", kind);
    if (st != SO_OK)
        return st;
    H[0] = H[1] = H[2] = H[3] = 0.0;
    return SO_OK;
}

static int booth_constraints(void *user, const double *x, double *c, double *J)
{
    (void)user;
    c[0] = x[0] + 2.0 * x[1] - 7.0;
    c[1] = 2.0 * x[0] + x[1] - 5.0;
    if (J != NULL) {
        J[0] = 1.0;
        J[1] = 2.0;
        J[2] = 2.0;
        J[3] = 1.0;
    }
    return SO_OK;
}

static const double booth_x0[2] = {0.0, 0.0};
static const double booth_xs[2] = {1.0, 3.0};

int so_problem_booth(so_problem *p)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_booth: p is NULL; pass a problem table");
    fill_table(p, "booth", 2, 2);
    p->value_grad = booth_value_grad;
    p->curvature = booth_curvature;
    p->constraints = booth_constraints;
    p->constraint_hessian = zero_constraint_hessian;
    p->x0 = booth_x0;
    p->x_star = booth_xs;
    p->f_star = 0.0;
    return SO_OK;
}

/* ---- Constrained logistic regression */

typedef struct logistic_data {
    size_t N, d, rows;
    double *X;  /* N x d features */
    double *y;  /* N labels, +-1 */
    double *A;  /* rows x d */
    double *b;  /* rows */
    double *x0; /* d */
} logistic_data;

static void logistic_free(void *user)
{
    logistic_data *c = user;
    if (c == NULL)
        return;
    free(c->X);
    free(c->y);
    free(c->A);
    free(c->b);
    free(c->x0);
    free(c);
}

/* log(1 + exp(t)) without overflow. */
static double softplus(double t)
{
    return t > 0.0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static double sigmoid(double t)
{
    if (t >= 0.0)
        return 1.0 / (1.0 + exp(-t));
    const double e = exp(t);
    return e / (1.0 + e);
}

static int logistic_value_grad(void *user, const double *w, double *f, double *g)
{
    const logistic_data *c = user;
    double sum = 0.0;
    if (g != NULL)
        memset(g, 0, c->d * sizeof *g);
    for (size_t i = 0; i < c->N; i++) {
        const double *a = c->X + i * c->d;
        double z = 0.0;
        for (size_t j = 0; j < c->d; j++)
            z += a[j] * w[j];
        const double yz = c->y[i] * z;
        sum += softplus(-yz);
        if (g != NULL) {
            const double s = -c->y[i] * sigmoid(-yz);
            for (size_t j = 0; j < c->d; j++)
                g[j] += s * a[j];
        }
    }
    *f = sum / (double)c->N;
    if (g != NULL)
        for (size_t j = 0; j < c->d; j++)
            g[j] /= (double)c->N;
    return SO_OK;
}

static int logistic_sample_grads(void *user, const double *w, const size_t *idx, size_t count,
                              double *G)
{
    const logistic_data *c = user;
    for (size_t k = 0; k < count; k++) {
        if (idx[k] >= c->N)
            return so_fail_(SO_ERR_RANGE,
                            "constrained_logistic: sample index %zu is out of range; expected "
                            "below %zu",
                            idx[k], c->N);
        const double *a = c->X + idx[k] * c->d;
        double z = 0.0;
        for (size_t j = 0; j < c->d; j++)
            z += a[j] * w[j];
        const double s = -c->y[idx[k]] * sigmoid(-c->y[idx[k]] * z);
        for (size_t j = 0; j < c->d; j++)
            G[k * c->d + j] = s * a[j];
    }
    return SO_OK;
}

/* Hessian (1/N) sum_i sigma(z_i) (1 - sigma(z_i)) a_i a_i^T. */
static int logistic_curvature(void *user, so_curvature kind, const double *w, double *H)
{
    const logistic_data *c = user;
    int st = reject_kind("constrained_logistic", kind);
    if (st != SO_OK)
        return st;
    const size_t d = c->d;
    memset(H, 0, d * d * sizeof *H);
    for (size_t i = 0; i < c->N; i++) {
        const double *a = c->X + i * d;
        double z = 0.0;
        for (size_t j = 0; j < d; j++)
            z += a[j] * w[j];
        const double s = sigmoid(z);
        const double weight = s * (1.0 - s) / (double)c->N;
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < d; k++)
                H[j * d + k] += weight * a[j] * a[k];
    }
    return SO_OK;
}

static int logistic_constraints(void *user, const double *w, double *cv, double *J)
{
    const logistic_data *c = user;
    const size_t d = c->d;
    double norm2 = 0.0;
    for (size_t r = 0; r < c->rows; r++) {
        double s = -c->b[r];
        for (size_t j = 0; j < d; j++)
            s += c->A[r * d + j] * w[j];
        cv[r] = s;
    }
    for (size_t j = 0; j < d; j++)
        norm2 += w[j] * w[j];
    cv[c->rows] = norm2 - 1.0;
    if (J != NULL) {
        memcpy(J, c->A, c->rows * d * sizeof *J);
        for (size_t j = 0; j < d; j++)
            J[c->rows * d + j] = 2.0 * w[j];
    }
    return SO_OK;
}

static int logistic_constraint_hessian(void *user, const double *w, const double *lambda,
                                    double *H)
{
    const logistic_data *c = user;
    (void)w;
    for (size_t j = 0; j < c->d; j++)
        H[j * c->d + j] += 2.0 * lambda[c->rows];
    return SO_OK;
}

/* Copies the features to doubles (through so_dataset_gather, so scaling and
 * standardization apply) and maps the larger of the two target values to +1. */
static int logistic_copy_data(logistic_data *c, const so_dataset *ds)
{
    const size_t N = ds->n, d = ds->d;
    for (size_t i = 0; i < N; i++)
        if (!isfinite(ds->target[i]))
            return so_fail_(SO_ERR_NONFINITE, "so_problem_constrained_logistic: %s has target "
                            "%g in row %zu; expected finite binary labels",
                            ds->name ? ds->name : "dataset", ds->target[i], i);
    double lo = ds->target[0], hi = ds->target[0];
    for (size_t i = 1; i < N; i++) {
        const double t = ds->target[i];
        if (t != lo && t != hi) {
            if (lo != hi)
                return so_fail_(SO_ERR_INVALID,
                                "so_problem_constrained_logistic: %s has more than two "
                                "target values (row %zu has %g); expected binary labels",
                                ds->name ? ds->name : "dataset", i, t);
            if (t < lo)
                lo = t;
            else
                hi = t;
        }
    }
    if (lo == hi)
        return so_fail_(SO_ERR_INVALID, "so_problem_constrained_logistic: every row of %s has "
                        "target %g; expected binary labels with two distinct values",
                        ds->name ? ds->name : "dataset", lo);
    uint32_t *idx = malloc(N * sizeof *idx);
    float *xf = malloc(N * d * sizeof *xf);
    if (idx == NULL || xf == NULL) {
        free(idx);
        free(xf);
        return so_fail_(SO_ERR_NOMEM, "so_problem_constrained_logistic: no memory for %zu x "
                                      "%zu features", N, d);
    }
    for (size_t i = 0; i < N; i++)
        idx[i] = (uint32_t)i;
    int st = so_dataset_gather(ds, idx, N, xf, NULL);
    if (st == SO_OK) {
        for (size_t k = 0; k < N * d; k++)
            c->X[k] = (double)xf[k];
        for (size_t i = 0; i < N; i++)
            c->y[i] = ds->target[i] == hi && hi != lo ? 1.0 : -1.0;
    }
    free(idx);
    free(xf);
    return st;
}

int so_problem_constrained_logistic(so_problem *p, const so_dataset *ds, size_t rows,
                                    uint64_t seed)
{
    if (p != NULL)
        memset(p, 0, sizeof *p);
    if (p == NULL || ds == NULL)
        return so_fail_(SO_ERR_INVALID,
                        "so_problem_constrained_logistic: %s is NULL; pass a problem table "
                        "and a dataset", p == NULL ? "p" : "ds");
    if ((ds->kind == SO_FEATURES_F32 && ds->x_f32 == NULL) ||
        (ds->kind == SO_FEATURES_U8 && ds->x_u8 == NULL) ||
        (ds->kind == SO_FEATURES_CSR && ds->row_ptr == NULL))
        return so_fail_(SO_ERR_INVALID, "so_problem_constrained_logistic: dataset %s has no "
                        "feature arrays; load it with so_dataset_read",
                        ds->name ? ds->name : "");
    if (ds->n == 0 || ds->d == 0 || ds->target == NULL)
        return so_fail_(SO_ERR_INVALID,
                        "so_problem_constrained_logistic: dataset has %zu rows and %zu "
                        "features; expected a non-empty dataset with targets",
                        ds->n, ds->d);
    if (rows >= ds->d)
        return so_fail_(SO_ERR_INVALID,
                        "so_problem_constrained_logistic: rows = %zu; expected fewer linear "
                        "constraints than the %zu features", rows, ds->d);
    if (ds->n > ((size_t)-1) / sizeof(double) / ds->d)
        return so_fail_(SO_ERR_NOMEM, "so_problem_constrained_logistic: %zu x %zu features "
                                      "overflow size_t", ds->n, ds->d);
    logistic_data *c = calloc(1, sizeof *c);
    if (c == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_problem_constrained_logistic: no memory");
    c->N = ds->n;
    c->d = ds->d;
    c->rows = rows;
    c->X = malloc(ds->n * ds->d * sizeof *c->X);
    c->y = malloc(ds->n * sizeof *c->y);
    c->A = malloc((rows > 0 ? rows : 1) * ds->d * sizeof *c->A);
    c->b = malloc((rows > 0 ? rows : 1) * sizeof *c->b);
    c->x0 = malloc(ds->d * sizeof *c->x0);
    if (c->X == NULL || c->y == NULL || c->A == NULL || c->b == NULL || c->x0 == NULL) {
        logistic_free(c);
        return so_fail_(SO_ERR_NOMEM, "so_problem_constrained_logistic: no memory for %zu x "
                                      "%zu features", ds->n, ds->d);
    }
    int st = logistic_copy_data(c, ds);
    if (st != SO_OK) {
        logistic_free(c);
        return st;
    }
    /* A row by row, then b, from stream (seed, 0). */
    so_rng rng;
    so_rng_init(&rng, seed, 0);
    for (size_t k = 0; k < rows * ds->d; k++)
        c->A[k] = so_rng_normal(&rng);
    for (size_t r = 0; r < rows; r++)
        c->b[r] = so_rng_normal(&rng);
    /* The start (1, ..., 1) / sqrt d lies on the unit sphere. */
    for (size_t j = 0; j < ds->d; j++)
        c->x0[j] = 1.0 / sqrt((double)ds->d);

    fill_table(p, "constrained_logistic", ds->d, rows + 1);
    p->nsamples = ds->n;
    p->user = c;
    p->value_grad = logistic_value_grad;
    p->sample_grads = logistic_sample_grads;
    p->curvature = logistic_curvature;
    p->constraints = logistic_constraints;
    p->constraint_hessian = logistic_constraint_hessian;
    p->destroy = logistic_free;
    p->x0 = c->x0;
    return SO_OK;
}

/* ---- PDE-constrained optimal control (the test problem of Hong, Na, Mahoney and
 * Kolar 2023): state w and control z on an N x N interior grid of spacing h = 2/(N+1),
 * both stored column-major (grid point (i, j) at index i + j N),
 *
 *     f = 1/2 |w - w_target|^2 + 0.05 |z|^2,
 *     c = Laplace_h(w) + z = 0 (five-point stencil, w = 0 on the boundary),
 *
 * with w_target(i, j) = sin(4 + (0.1/sqrt 15)(i + 1 - (N+1)/2))
 *                     + cos(3 + (0.1/sqrt 15)(j + 1 - (N+1)/2)) for 0-based i, j. */

typedef struct pde {
    size_t N;
    double inv_h2;
    double *target; /* N^2 */
    double *x0;     /* 2 N^2 */
} pde;

static void pde_free(void *user)
{
    pde *q = user;
    if (q == NULL)
        return;
    free(q->target);
    free(q->x0);
    free(q);
}

static int pde_value_grad(void *user, const double *x, double *f, double *g)
{
    const pde *q = user;
    const size_t M = q->N * q->N;
    double sw = 0.0, sz = 0.0;
    for (size_t k = 0; k < M; k++) {
        const double r = x[k] - q->target[k];
        sw += r * r;
        sz += x[M + k] * x[M + k];
        if (g != NULL) {
            g[k] = r;
            g[M + k] = 0.1 * x[M + k];
        }
    }
    *f = 0.5 * (sw + 0.1 * sz);
    return SO_OK;
}

static int pde_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    const pde *q = user;
    (void)x;
    int st = reject_kind("pde_control", kind);
    if (st != SO_OK)
        return st;
    const size_t n = 2 * q->N * q->N;
    memset(H, 0, n * n * sizeof *H);
    for (size_t k = 0; k < n; k++)
        H[k * n + k] = k < n / 2 ? 1.0 : 0.1;
    return SO_OK;
}

static int pde_curvature_vp(void *user, so_curvature kind, const double *x,
                            const double *v, double *out)
{
    const pde *q = user;
    (void)x;
    int st = reject_kind("pde_control", kind);
    if (st != SO_OK)
        return st;
    const size_t M = q->N * q->N;
    for (size_t k = 0; k < M; k++) {
        out[k] = v[k];
        out[M + k] = 0.1 * v[M + k];
    }
    return SO_OK;
}

static int pde_constraints(void *user, const double *x, double *c, double *J)
{
    const pde *q = user;
    const size_t N = q->N, M = N * N, n = 2 * M;
    if (J != NULL)
        memset(J, 0, M * n * sizeof *J);
    for (size_t j = 0; j < N; j++) {
        for (size_t i = 0; i < N; i++) {
            const size_t k = i + j * N;
            double s = -4.0 * x[k];
            if (i > 0)
                s += x[k - 1];
            if (i + 1 < N)
                s += x[k + 1];
            if (j > 0)
                s += x[k - N];
            if (j + 1 < N)
                s += x[k + N];
            c[k] = s * q->inv_h2 + x[M + k];
            if (J == NULL)
                continue;
            double *row = J + k * n;
            row[k] = -4.0 * q->inv_h2;
            if (i > 0)
                row[k - 1] = q->inv_h2;
            if (i + 1 < N)
                row[k + 1] = q->inv_h2;
            if (j > 0)
                row[k - N] = q->inv_h2;
            if (j + 1 < N)
                row[k + N] = q->inv_h2;
            row[M + k] = 1.0;
        }
    }
    return SO_OK;
}

int so_problem_pde_control(so_problem *p, size_t N)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID,
                        "so_problem_pde_control: p is NULL; pass a problem table");
    memset(p, 0, sizeof *p);
    if (N < 1 || N > 4096)
        return so_fail_(SO_ERR_INVALID,
                        "so_problem_pde_control: N = %zu; expected 1 <= N <= 4096", N);
    pde *q = calloc(1, sizeof *q);
    if (q == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_problem_pde_control: no memory");
    const size_t M = N * N;
    q->N = N;
    const double h = 2.0 / (double)(N + 1);
    q->inv_h2 = 1.0 / (h * h);
    q->target = malloc(M * sizeof *q->target);
    q->x0 = malloc(2 * M * sizeof *q->x0);
    if (q->target == NULL || q->x0 == NULL) {
        pde_free(q);
        return so_fail_(SO_ERR_NOMEM, "so_problem_pde_control: no memory for N = %zu", N);
    }
    const double step = 0.1 / sqrt(15.0), mid = 0.5 * (double)(N + 1);
    for (size_t j = 0; j < N; j++)
        for (size_t i = 0; i < N; i++)
            q->target[i + j * N] = sin(4.0 + step * ((double)(i + 1) - mid)) +
                                   cos(3.0 + step * ((double)(j + 1) - mid));
    for (size_t k = 0; k < 2 * M; k++)
        q->x0[k] = 1.0;

    fill_table(p, "pde_control", 2 * M, M);
    p->user = q;
    p->value_grad = pde_value_grad;
    p->curvature = pde_curvature;
    p->curvature_vp = pde_curvature_vp;
    p->constraints = pde_constraints;
    p->constraint_hessian = zero_constraint_hessian;
    p->destroy = pde_free;
    p->x0 = q->x0;
    return SO_OK;
}
