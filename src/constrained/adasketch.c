/* AdaSketch-Newton: Newton steps on the KKT conditions of min f(x) s.t. c(x) = 0,
 * solved by randomized sketching to an adaptive accuracy, with a backtracking line
 * search on the exact augmented Lagrangian (Hong, Na, Mahoney and Kolar, ICML 2023). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stochopt/constrained.h"

void so_adasketch_options_default(so_adasketch_options *opt)
{
    if (opt == NULL)
        return;
    memset(opt, 0, sizeof *opt);
    opt->solver = SO_KKT_KACZMARZ;
    opt->tol = 1e-4;
    opt->max_iter = 10000;
    opt->mu0 = 1.0;
    opt->nu0 = 0.1;
    opt->delta0 = 0.1;
    opt->delta_min = 1e-6;
    opt->xi_b = 0.1;
    opt->theta = 1.0;
    opt->beta = 0.1;
    opt->rho = 1.5;
    opt->mu_max = 1e8;
    opt->nu_min = 1e-8;
    opt->sing_tol = 1e-2;
    opt->curv_tol = 1e-6;
    opt->max_sketch = 100000;
    opt->max_backtrack = 60;
    opt->seed = 0;
    opt->record_history = 1;
    opt->callback = NULL;
    opt->callback_user = NULL;
}

void so_adasketch_stats_free(so_adasketch_stats *stats)
{
    if (stats == NULL)
        return;
    free(stats->history);
    stats->history = NULL;
    stats->history_len = 0;
}

/* Point data at (x, lambda): f, grad f, c, G and grad_x L = grad f + G^T lambda. */
typedef struct point {
    double f;
    double *g;  /* n */
    double *c;  /* m */
    double *G;  /* m x n */
    double *gl; /* n */
} point;

static int eval_point(const so_problem *p, const double *x, const double *lambda, point *pt)
{
    int st = p->value_grad(p->user, x, &pt->f, pt->g);
    if (st != SO_OK)
        return st;
    st = p->constraints(p->user, x, pt->c, pt->G);
    if (st != SO_OK)
        return st;
    memcpy(pt->gl, pt->g, p->n * sizeof *pt->gl);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)p->m, (int)p->n, 1.0, pt->G, (int)p->n,
                lambda, 1, 1.0, pt->gl, 1);
    if (!isfinite(pt->f))
        return so_fail_(SO_ERR_NONFINITE, "%s: f is not finite", p->name ? p->name : "problem");
    for (size_t i = 0; i < p->n; i++)
        if (!isfinite(pt->gl[i]))
            return so_fail_(SO_ERR_NONFINITE, "%s: gradient entry %zu is not finite",
                            p->name ? p->name : "problem", i);
    for (size_t i = 0; i < p->m; i++)
        if (!isfinite(pt->c[i]))
            return so_fail_(SO_ERR_NONFINITE, "%s: constraint %zu is not finite",
                            p->name ? p->name : "problem", i);
    return SO_OK;
}

static double sq_norm(const double *v, size_t len)
{
    double s = 0.0;
    for (size_t i = 0; i < len; i++)
        s += v[i] * v[i];
    return s;
}

/* The Hessian of the Lagrangian: exact curvature of f (from p->curvature, or column by
 * column from p->curvature_vp) plus sum_k lambda_k Hessian(c_k). */
static int lagrangian_hessian(const so_problem *p, const double *x, const double *lambda,
                              double *H, double *work)
{
    const size_t n = p->n;
    int st = SO_ERR_UNSUPPORTED;
    if (p->curvature != NULL)
        st = p->curvature(p->user, SO_CURVATURE_EXACT, x, H);
    if (st == SO_ERR_UNSUPPORTED && p->curvature_vp != NULL) {
        /* work: 2n values, a unit vector and the product. */
        double *e = work, *col = work + n;
        memset(e, 0, n * sizeof *e);
        for (size_t j = 0; j < n; j++) {
            e[j] = 1.0;
            int s2 = p->curvature_vp(p->user, SO_CURVATURE_EXACT, x, e, col);
            e[j] = 0.0;
            if (s2 != SO_OK)
                return s2;
            for (size_t i = 0; i < n; i++)
                H[i * n + j] = col[i];
        }
        st = SO_OK;
    }
    if (st == SO_ERR_UNSUPPORTED)
        return so_fail_(SO_ERR_UNSUPPORTED,
                        "%s: no exact curvature; AdaSketch-Newton needs p->curvature or "
                        "p->curvature_vp with SO_CURVATURE_EXACT",
                        p->name ? p->name : "problem");
    if (st != SO_OK)
        return st;
    st = p->constraint_hessian(p->user, x, lambda, H);
    if (st != SO_OK)
        return st;
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(H[i]))
            return so_fail_(SO_ERR_NONFINITE, "%s: the Hessian of the Lagrangian has entry "
                            "(%zu, %zu) = %g; check the problem's curvature and "
                            "constraint_hessian callbacks", p->name ? p->name : "problem",
                            i / n, i % n, H[i]);
    return SO_OK;
}

int so_augmented_lagrangian(const so_problem *p, const double *x, const double *lambda,
                            double mu, double nu, double *value, double *grad)
{
    if (p == NULL || x == NULL || lambda == NULL || value == NULL || p->m == 0 ||
        p->value_grad == NULL || p->constraints == NULL || p->constraint_hessian == NULL)
        return so_fail_(SO_ERR_INVALID,
                        "so_augmented_lagrangian: expected a constrained problem (m >= 1 "
                        "with value_grad, constraints, constraint_hessian) and non-NULL "
                        "x, lambda and value");
    if (p->n > 46340 || p->m > 46340 || p->n + p->m > 46340)
        return so_fail_(SO_ERR_RANGE, "so_augmented_lagrangian: n + m = %zu + %zu exceeds the "
                        "dense limit of 46340", p->n, p->m);
    if (!(mu >= 0.0) || !isfinite(mu) || !(nu >= 0.0) || !isfinite(nu))
        return so_fail_(SO_ERR_INVALID, "so_augmented_lagrangian: mu = %g, nu = %g; expected "
                        "finite weights >= 0", mu, nu);
    const size_t n = p->n, m = p->m;
    double *buf = calloc(3 * n + m + m * n + n * n + 2 * n, sizeof *buf);
    if (buf == NULL)
        return so_fail_(SO_ERR_NOMEM, "so_augmented_lagrangian: no memory for n = %zu", n);
    point pt = {0.0, buf, buf + n, buf + n + m, buf + n + m + m * n};
    double *hg = pt.gl + n, *H = hg + n, *work = H + n * n;
    int st = eval_point(p, x, lambda, &pt);
    if (st == SO_OK) {
        const double lc = cblas_ddot((int)m, lambda, 1, pt.c, 1);
        *value = pt.f + lc + 0.5 * mu * sq_norm(pt.c, m) + 0.5 * nu * sq_norm(pt.gl, n);
    }
    if (st == SO_OK && grad != NULL)
        st = lagrangian_hessian(p, x, lambda, H, work);
    if (st == SO_OK && grad != NULL) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)n, 1.0, H, (int)n, pt.gl, 1,
                    0.0, hg, 1);
        for (size_t i = 0; i < n; i++)
            grad[i] = pt.gl[i] + nu * hg[i];
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)n, mu, pt.G, (int)n, pt.c, 1,
                    1.0, grad, 1);
        memcpy(grad + n, pt.c, m * sizeof *grad);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)n, nu, pt.G, (int)n, pt.gl, 1,
                    1.0, grad + n, 1);
    }
    free(buf);
    return st;
}

/* Workspace of one run. */
typedef struct workspace {
    size_t n, m, dim;
    point cur, trial;
    double *H;        /* n x n, Hessian of the Lagrangian */
    double *K;        /* dim x dim */
    double *Kf;       /* dim x dim, LU factors */
    int *ipiv;        /* dim */
    double *rhs;      /* dim, b = -(grad_x L, c) */
    double *z;        /* dim, the direction */
    double *gm;       /* dim, merit gradient */
    double *hg, *gtc; /* n: H grad_x L, G^T c */
    double *ggl;      /* m: G grad_x L */
    double *ggt;      /* m x m */
    double *eig;      /* max(n, m) */
    double *Q;        /* n x n */
    double *tau;      /* n */
    double *HZ;       /* n x n */
    double *R;        /* n x n */
    double *xt, *lt;  /* trial point */
    double *lam0;     /* m zeros when lambda is NULL */
} workspace;

static void workspace_free(workspace *w)
{
    void *ptrs[] = {w->cur.g, w->cur.c, w->cur.G, w->cur.gl, w->trial.g, w->trial.c,
                    w->trial.G, w->trial.gl, w->H, w->K, w->Kf, w->ipiv, w->rhs, w->z,
                    w->gm, w->hg, w->gtc, w->ggl, w->ggt, w->eig, w->Q, w->tau, w->HZ,
                    w->R, w->xt, w->lt, w->lam0};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        free(ptrs[i]);
}

static int workspace_alloc(workspace *w, size_t n, size_t m)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->m = m;
    w->dim = n + m;
    const size_t dim = n + m, big = n > m ? n : m;
    w->cur.g = calloc(n, sizeof(double));
    w->cur.c = calloc(m, sizeof(double));
    w->cur.G = calloc(m * n, sizeof(double));
    w->cur.gl = calloc(n, sizeof(double));
    w->trial.g = calloc(n, sizeof(double));
    w->trial.c = calloc(m, sizeof(double));
    w->trial.G = calloc(m * n, sizeof(double));
    w->trial.gl = calloc(n, sizeof(double));
    w->H = calloc(n * n, sizeof(double));
    w->K = calloc(dim * dim, sizeof(double));
    w->Kf = calloc(dim * dim, sizeof(double));
    w->ipiv = calloc(dim, sizeof(int));
    w->rhs = calloc(dim, sizeof(double));
    w->z = calloc(dim, sizeof(double));
    w->gm = calloc(dim, sizeof(double));
    w->hg = calloc(2 * n, sizeof(double));
    w->gtc = calloc(n, sizeof(double));
    w->ggl = calloc(m, sizeof(double));
    w->ggt = calloc(m * m, sizeof(double));
    w->eig = calloc(big, sizeof(double));
    w->Q = calloc(n * n, sizeof(double));
    w->tau = calloc(n, sizeof(double));
    w->HZ = calloc(n * n, sizeof(double));
    w->R = calloc(n * n, sizeof(double));
    w->xt = calloc(n, sizeof(double));
    w->lt = calloc(m, sizeof(double));
    w->lam0 = calloc(m, sizeof(double));
    if (!w->cur.g || !w->cur.c || !w->cur.G || !w->cur.gl || !w->trial.g || !w->trial.c ||
        !w->trial.G || !w->trial.gl || !w->H || !w->K || !w->Kf || !w->ipiv || !w->rhs ||
        !w->z || !w->gm || !w->hg || !w->gtc || !w->ggl || !w->ggt || !w->eig || !w->Q ||
        !w->tau || !w->HZ || !w->R || !w->xt || !w->lt || !w->lam0) {
        workspace_free(w);
        return so_fail_(SO_ERR_NOMEM, "so_adasketch_newton: no memory for n = %zu, m = %zu",
                        n, m);
    }
    return SO_OK;
}

/* Eigenvalues of G G^T in ascending order into w->eig. */
static int ggt_eigenvalues(workspace *w, double *flops)
{
    const int m = (int)w->m, n = (int)w->n;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, n, 1.0, w->cur.G, n,
                w->cur.G, n, 0.0, w->ggt, m);
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', m, w->ggt, m, w->eig);
    *flops += 2.0 * m * m * n + 4.0 / 3.0 * m * m * m;
    if (info != 0)
        return so_fail_(SO_ERR_NUMERIC, "so_adasketch_newton: eigenvalues of G G^T failed "
                                        "(LAPACK dsyev info %d)", (int)info);
    return SO_OK;
}

/* Smallest eigenvalue of the reduced Hessian Z^T H Z, Z an orthonormal basis of the
 * null space of G from the QR factorization of G^T. Needs m < n and G of full rank. */
static int reduced_hessian_min_eig(workspace *w, double *min_eig, double *flops)
{
    const int n = (int)w->n, m = (int)w->m, k = n - m;
    memset(w->Q, 0, w->n * w->n * sizeof *w->Q);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            w->Q[i * n + j] = w->cur.G[j * n + i];
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, n, m, w->Q, n, w->tau);
    if (info == 0)
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, n, n, m, w->Q, n, w->tau);
    if (info != 0)
        return so_fail_(SO_ERR_NUMERIC, "so_adasketch_newton: QR of G^T failed (LAPACK "
                                        "info %d)", (int)info);
    /* HZ = H Q[:, m:], R = Q[:, m:]^T HZ. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, n, 1.0, w->H, n, w->Q + m,
                n, 0.0, w->HZ, k);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, k, n, 1.0, w->Q + m, n, w->HZ,
                k, 0.0, w->R, k);
    info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', k, w->R, k, w->eig);
    if (info != 0)
        return so_fail_(SO_ERR_NUMERIC, "so_adasketch_newton: eigenvalues of the reduced "
                                        "Hessian failed (LAPACK dsyev info %d)", (int)info);
    *min_eig = w->eig[0];
    *flops += 4.0 * n * m * m + 4.0 / 3.0 * (double)n * n * n + 2.0 * n * n * k +
              2.0 * n * k * k + 4.0 / 3.0 * k * k * k;
    return SO_OK;
}

static double frobenius(const double *A, size_t count)
{
    return sqrt(sq_norm(A, count));
}

/* Merit gradient for the current mu, nu from the cached products. */
static void merit_gradient(workspace *w, double mu, double nu)
{
    for (size_t i = 0; i < w->n; i++)
        w->gm[i] = w->cur.gl[i] + nu * w->hg[i] + mu * w->gtc[i];
    for (size_t i = 0; i < w->m; i++)
        w->gm[w->n + i] = w->cur.c[i] + nu * w->ggl[i];
}

static double merit_value(const point *pt, const double *lambda, size_t n, size_t m,
                          double mu, double nu)
{
    return pt->f + cblas_ddot((int)m, lambda, 1, pt->c, 1) + 0.5 * mu * sq_norm(pt->c, m) +
           0.5 * nu * sq_norm(pt->gl, n);
}

static int check_args(const so_problem *p, const so_adasketch_options *o, const double *x)
{
    if (p == NULL || x == NULL)
        return so_fail_(SO_ERR_INVALID, "so_adasketch_newton: %s is NULL",
                        p == NULL ? "p" : "x");
    if (p->n == 0 || p->m == 0 || p->value_grad == NULL || p->constraints == NULL ||
        p->constraint_hessian == NULL)
        return so_fail_(SO_ERR_INVALID,
                        "so_adasketch_newton: problem %s has n = %zu, m = %zu; expected "
                        "n >= 1, m >= 1 and the value_grad, constraints and "
                        "constraint_hessian callbacks", p->name ? p->name : "(unnamed)",
                        p->n, p->m);
    if (p->n > 46340 || p->m > 46340 || p->n + p->m > 46340)
        return so_fail_(SO_ERR_RANGE, "so_adasketch_newton: n = %zu and m = %zu; n + m "
                                      "exceeds the dense KKT limit of 46340", p->n, p->m);
    if (o->solver != SO_KKT_LU && o->solver != SO_KKT_KACZMARZ &&
        o->solver != SO_KKT_GAUSSIAN)
        return so_fail_(SO_ERR_INVALID, "so_adasketch_newton: solver = %d; expected "
                                        "SO_KKT_LU, SO_KKT_KACZMARZ or SO_KKT_GAUSSIAN",
                        (int)o->solver);
    if (!(o->tol >= 0.0) || o->max_iter < 0 || !(o->mu0 > 0.0) || !(o->nu0 > 0.0) ||
        !(o->delta0 > 0.0) || !(o->delta_min > 0.0) || !(o->xi_b > 0.0) ||
        !(o->theta > 0.0) || !(o->beta > 0.0 && o->beta < 0.5) || !(o->rho > 1.0) ||
        !(o->sing_tol >= 0.0) || o->max_sketch < 1 || o->max_backtrack < 1 ||
        !isfinite(o->mu0) || !isfinite(o->nu0) || !isfinite(o->delta0) ||
        !isfinite(o->theta) || !isfinite(o->rho) || !isfinite(o->sing_tol) ||
        isnan(o->mu_max) || isnan(o->nu_min) || !isfinite(o->curv_tol))
        return so_fail_(SO_ERR_INVALID,
                        "so_adasketch_newton: invalid options; expected tol >= 0, "
                        "max_iter >= 0, positive mu0, nu0, delta0, delta_min, xi_b, theta, "
                        "0 < beta < 0.5, rho > 1, sing_tol >= 0, max_sketch >= 1 and "
                        "max_backtrack >= 1, all finite, and mu_max, nu_min, curv_tol not "
                        "NaN (start from so_adasketch_options_default)");
    return SO_OK;
}

static void push_record(so_adasketch_stats *s, size_t cap, const so_adasketch_record *r)
{
    if (s == NULL || s->history == NULL || s->history_len >= cap)
        return;
    s->history[s->history_len++] = *r;
}

/* Passes r to the user callback. Returns SO_OK, or SO_ERR_CALLBACK when it asked to stop. */
static int report_record(const so_adasketch_options *o, const so_adasketch_record *r)
{
    if (o->callback == NULL || o->callback(o->callback_user, r) == 0)
        return SO_OK;
    return so_fail_(SO_ERR_CALLBACK, "so_adasketch_newton: the callback stopped the run at "
                                     "iteration %ld", r->iter);
}

int so_adasketch_newton(const so_problem *p, const so_adasketch_options *opt, double *x,
                        double *lambda, so_adasketch_stats *stats)
{
    so_adasketch_options o;
    if (opt != NULL)
        o = *opt;
    else
        so_adasketch_options_default(&o);
    if (stats != NULL) {
        memset(stats, 0, sizeof *stats);
        stats->singular_iter = -1;
    }
    int st = check_args(p, &o, x);
    if (st != SO_OK)
        return st;
    for (size_t i = 0; i < p->n; i++)
        if (!isfinite(x[i]))
            return so_fail_(SO_ERR_NONFINITE, "so_adasketch_newton: x[%zu] = %g; expected a "
                            "finite starting point", i, x[i]);
    for (size_t i = 0; lambda != NULL && i < p->m; i++)
        if (!isfinite(lambda[i]))
            return so_fail_(SO_ERR_NONFINITE, "so_adasketch_newton: lambda[%zu] = %g; "
                            "expected finite multipliers, or pass lambda = NULL to start "
                            "from zero", i, lambda[i]);
    const size_t n = p->n, m = p->m, dim = n + m;
    workspace w;
    st = workspace_alloc(&w, n, m);
    if (st != SO_OK)
        return st;
    double *lam = lambda != NULL ? lambda : w.lam0;
    const size_t cap = (size_t)o.max_iter + 1;
    if (stats != NULL && o.record_history) {
        stats->history = calloc(cap, sizeof *stats->history);
        if (stats->history == NULL) {
            workspace_free(&w);
            return so_fail_(SO_ERR_NOMEM, "so_adasketch_newton: no memory for %zu history "
                                          "records; lower max_iter or set record_history "
                                          "= 0", cap);
        }
    }

    const double t_start = so_time_now();
    double mu = o.mu0, nu = o.nu0, delta = o.delta0, flops = 0.0;
    long total_sketch = 0, cap_hits = 0, penalty_updates = 0, shifts = 0;
    double min_eig_ggt = NAN;
    long k = 0;
    double kkt = NAN;
    so_adasketch_record rec = {0};

    st = eval_point(p, x, lam, &w.cur);
    if (st == SO_OK) {
        kkt = sqrt(sq_norm(w.cur.gl, n) + sq_norm(w.cur.c, m));
        rec = (so_adasketch_record){0,  kkt,   w.cur.f, sqrt(sq_norm(w.cur.c, m)), mu, nu,
                                    delta, 0.0, 0.0,     0,   0.0, so_time_now() - t_start};
        push_record(stats, cap, &rec);
        st = report_record(&o, &rec);
    }
    while (st == SO_OK) {
        if (kkt <= o.tol)
            break;
        if (k >= o.max_iter) {
            st = so_fail_(SO_NOT_CONVERGED, "so_adasketch_newton: %s reached max_iter = %ld "
                          "with |(grad_x L, c)| = %g above tol = %g; raise max_iter or loosen "
                          "tol", p->name ? p->name : "problem", o.max_iter, kkt, o.tol);
            break;
        }
        /* Hessian of the Lagrangian and the singularity test on G. */
        st = lagrangian_hessian(p, x, lam, w.H, w.HZ);
        if (st != SO_OK)
            break;
        st = ggt_eigenvalues(&w, &flops);
        if (st != SO_OK)
            break;
        const double xi_g = w.eig[0];
        min_eig_ggt = xi_g;
        if (!(xi_g >= o.sing_tol)) {
            long deficiency = 0;
            for (size_t i = 0; i < m; i++)
                if (!(w.eig[i] >= o.sing_tol))
                    deficiency++;
            if (stats != NULL) {
                stats->singular_iter = k;
                stats->rank_deficiency = deficiency;
            }
            st = so_fail_(SO_ERR_NUMERIC,
                          "so_adasketch_newton: the constraint Jacobian of %s is singular "
                          "at iteration %ld: lambda_min(G G^T) = %.3g < sing_tol = %g, rank "
                          "deficiency %ld of %zu constraints; remove dependent constraints "
                          "or start elsewhere",
                          p->name ? p->name : "problem", k, xi_g, o.sing_tol, deficiency, m);
            break;
        }
        /* Shift B = H + t I when the reduced Hessian is not positive definite. */
        const double h_norm = frobenius(w.H, n * n);
        double shift = 0.0;
        if (m < n) {
            double min_eig = 0.0;
            st = reduced_hessian_min_eig(&w, &min_eig, &flops);
            if (st != SO_OK)
                break;
            if (!(min_eig >= o.curv_tol))
                shift = o.xi_b + h_norm;
        }
        if (shift > 0.0)
            shifts++;
        /* K = [B G^T; G 0], b = -(grad_x L, c). */
        memset(w.K, 0, dim * dim * sizeof *w.K);
        for (size_t i = 0; i < n; i++) {
            memcpy(w.K + i * dim, w.H + i * n, n * sizeof *w.K);
            w.K[i * dim + i] += shift;
            for (size_t j = 0; j < m; j++)
                w.K[i * dim + n + j] = w.cur.G[j * n + i];
        }
        for (size_t j = 0; j < m; j++)
            memcpy(w.K + (n + j) * dim, w.cur.G + j * n, n * sizeof *w.K);
        for (size_t i = 0; i < n; i++)
            w.rhs[i] = -w.cur.gl[i];
        for (size_t j = 0; j < m; j++)
            w.rhs[n + j] = -w.cur.c[j];
        const double b_norm = cblas_dnrm2((int)dim, w.rhs, 1);
        double b_norm2 = b_norm * b_norm;
        /* psi = 20 max(|B|^2, 1) / (min(xi_G, 1) min(xi_B, 1)) with Frobenius norms, and
         * Upsilon = max(|G|, |H|, 1). */
        double B_norm2 = 0.0;
        for (size_t i = 0; i < n; i++)
            B_norm2 += sq_norm(w.K + i * dim, n);
        const double psi = 20.0 * fmax(B_norm2, 1.0) / (fmin(xi_g, 1.0) * fmin(o.xi_b, 1.0));
        const double upsilon = fmax(fmax(frobenius(w.cur.G, m * n), h_norm), 1.0);
        const double K_norm = frobenius(w.K, dim * dim);
        const double ups2psi2 = upsilon * upsilon * psi * psi;
        delta = fmin(delta, (0.5 - o.beta) * nu / ((1.0 + mu + nu) * ups2psi2));
        delta = fmax(delta, o.delta_min);
        /* Products for the merit gradient. */
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)n, 1.0, w.H, (int)n, w.cur.gl,
                    1, 0.0, w.hg, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)n, 1.0, w.cur.G, (int)n, w.cur.c,
                    1, 0.0, w.gtc, 1);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)n, 1.0, w.cur.G, (int)n,
                    w.cur.gl, 1, 0.0, w.ggl, 1);
        flops += 2.0 * n * n + 4.0 * m * n;

        /* Direction: sketch until |K| psi |r| <= theta delta |b|, then test descent. */
        memset(w.z, 0, dim * sizeof *w.z);
        so_rng rng;
        so_rng_init(&rng, o.seed, (uint64_t)k);
        long sketch_iters = 0;
        int solved_exactly = 0;
        for (;;) {
            if (o.solver == SO_KKT_LU) {
                if (!solved_exactly) {
                    memcpy(w.Kf, w.K, dim * dim * sizeof *w.Kf);
                    memcpy(w.z, w.rhs, dim * sizeof *w.z);
                    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, (int)dim, 1, w.Kf,
                                                    (int)dim, w.ipiv, w.z, 1);
                    flops += 2.0 / 3.0 * (double)dim * dim * dim + 2.0 * (double)dim * dim;
                    if (info != 0) {
                        st = so_fail_(SO_ERR_NUMERIC,
                                      "so_adasketch_newton: the KKT matrix is singular at "
                                      "iteration %ld (LAPACK dgesv info %d)", k, (int)info);
                        break;
                    }
                    solved_exactly = 1;
                }
            } else {
                const double tol_r = o.theta * delta * b_norm / (K_norm * psi);
                long iters = 0;
                double work = 0.0;
                int s2 = so_kkt_sketch_solve(w.K, dim, w.rhs, o.solver, tol_r, o.max_sketch,
                                             &rng, w.z, &iters, &work);
                if (s2 != SO_OK && s2 != SO_NOT_CONVERGED) {
                    st = s2;
                    break;
                }
                if (s2 == SO_NOT_CONVERGED)
                    cap_hits++;
                sketch_iters += iters;
                flops += work;
            }
            merit_gradient(&w, mu, nu);
            const double slope = cblas_ddot((int)dim, w.gm, 1, w.z, 1);
            flops += 2.0 * dim;
            if (mu > o.mu_max || nu < o.nu_min || slope <= -0.5 * nu * b_norm2)
                break;
            /* Not a descent direction of the merit: raise mu, lower nu, tighten delta. */
            penalty_updates++;
            mu *= o.rho * o.rho;
            nu /= o.rho;
            delta = fmin(delta / pow(o.rho, 4.0),
                         (0.5 - o.beta) * nu / ((1.0 + mu + nu) * ups2psi2));
            delta = fmax(delta, o.delta_min);
        }
        if (st != SO_OK)
            break;
        total_sketch += sketch_iters;

        /* Armijo backtracking on the merit. */
        merit_gradient(&w, mu, nu);
        const double slope = cblas_ddot((int)dim, w.gm, 1, w.z, 1);
        const double merit0 = merit_value(&w.cur, lam, n, m, mu, nu);
        double alpha = 1.0;
        int accepted = 0;
        for (int bt = 0; bt <= o.max_backtrack; bt++) {
            for (size_t i = 0; i < n; i++)
                w.xt[i] = x[i] + alpha * w.z[i];
            for (size_t j = 0; j < m; j++)
                w.lt[j] = lam[j] + alpha * w.z[n + j];
            int s2 = eval_point(p, w.xt, w.lt, &w.trial);
            if (s2 == SO_OK) {
                const double merit = merit_value(&w.trial, w.lt, n, m, mu, nu);
                if (merit <= merit0 + alpha * o.beta * slope) {
                    accepted = 1;
                    break;
                }
            } else if (s2 != SO_ERR_NONFINITE) {
                st = s2;
                break;
            }
            alpha *= 0.5;
        }
        if (st != SO_OK)
            break;
        if (!accepted) {
            st = so_fail_(SO_ERR_NUMERIC,
                          "so_adasketch_newton: the line search on %s failed at iteration "
                          "%ld after %d halvings (directional derivative %.3g); loosen tol "
                          "or try SO_KKT_LU", p->name ? p->name : "problem", k,
                          o.max_backtrack, slope);
            break;
        }
        memcpy(x, w.xt, n * sizeof *x);
        memcpy(lam, w.lt, m * sizeof *lam);
        point tmp = w.cur;
        w.cur = w.trial;
        w.trial = tmp;
        k++;
        kkt = sqrt(sq_norm(w.cur.gl, n) + sq_norm(w.cur.c, m));
        rec = (so_adasketch_record){k,     kkt,   w.cur.f, sqrt(sq_norm(w.cur.c, m)),
                                    mu,    nu,    delta,   shift,
                                    alpha, sketch_iters,   flops,
                                    so_time_now() - t_start};
        push_record(stats, cap, &rec);
        st = report_record(&o, &rec);
    }
    if (stats != NULL) {
        stats->iterations = k;
        stats->kkt = kkt;
        stats->f = w.cur.f;
        stats->c_norm = sqrt(sq_norm(w.cur.c, m));
        stats->mu = mu;
        stats->nu = nu;
        stats->sketch_iters = total_sketch;
        stats->sketch_cap_hits = cap_hits;
        stats->penalty_updates = penalty_updates;
        stats->shifts = shifts;
        stats->flops = flops;
        stats->seconds = so_time_now() - t_start;
        stats->min_eig_ggt = min_eig_ggt;
    }
    workspace_free(&w);
    return st;
}
