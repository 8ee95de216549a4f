/* Log-domain Sinkhorn: the iteration g = reg log b - softmax(f - C), f = reg log a -
 * softmax(g - C) on the potentials (Peyre and Cuturi, Computational Optimal Transport,
 * 2019, chapter 4). The order (g first, then f) and the start f = g = 0 follow POT 0.8's
 * ot.bregman.sinkhorn_log, so both produce the same iterates.
 *
 * A log-sum-exp costs one exponential per entry and half-iteration. This solver runs the
 * same iterates as scalings u, v of the kernel K = exp((f_i + g_j - C_ij) / reg) built at
 * the current potentials, so that most iterations are two matrix-vector products with no
 * exponential, and it absorbs the scalings into the potentials (f += reg log u,
 * g += reg log v) and rebuilds K when a scaling leaves [1e-50, 1e50] (Schmitzer, SIAM J.
 * Sci. Comput., 2019, log-domain stabilization). While the scalings stay in that range, an entry of
 * K that underflowed contributes less than 1e-208 to a marginal. An iteration that meets a
 * zero or non-finite sum is redone exactly with shifted log-sum-exp passes, so no input
 * makes the iteration fail. */
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include <omp.h>

#include "ot/ot_internal.h"

int so_ot_transpose_(so_ot_problem_ *p)
{
    if (p->Ct != NULL)
        return SO_OK;
    size_t n = p->n, m = p->m;
    p->Ct = so_alloc_aligned_(n * m, sizeof *p->Ct);
    if (p->Ct == NULL)
        return SO_ERR_NOMEM;
    /* Blocks of 32 x 32 keep both the read and the write within cache lines. */
    for (size_t i0 = 0; i0 < n; i0 += 32)
        for (size_t j0 = 0; j0 < m; j0 += 32)
            for (size_t i = i0; i < n && i < i0 + 32; i++)
                for (size_t j = j0; j < m && j < j0 + 32; j++)
                    p->Ct[j * n + i] = p->C[i * m + j];
    return SO_OK;
}

static const double SCALING_MAX = 1e50, SCALING_MIN = 1e-50;

/* Rebuilds K at the potentials (f, g), resets u = v = 1 and sets Kv = K 1 and
 * KTu = K^T 1, the marginals of the plan K. */
static void rebuild_kernel(const so_ot_problem_ *p, so_ot_scaling_ *s, const double *f,
                           const double *g)
{
    size_t n = p->n, m = p->m, T = (size_t)p->threads;
    memset(s->acc, 0, T * m * sizeof *s->acc);
#pragma omp parallel num_threads(p->threads)
    {
        double *acc = s->acc + (size_t)omp_get_thread_num() * m;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            double *row = s->K + i * m;
            s->Kv[i] = so_ot_plan_row_(p->C + i * m, g, f[i], m, p->reg, row);
            for (size_t j = 0; j < m; j++)
                acc[j] += row[j];
        }
    }
    for (size_t j = 0; j < m; j++) {
        double sum = 0.0;
        for (size_t t = 0; t < T; t++)
            sum += s->acc[t * m + j];
        s->KTu[j] = sum;
        s->v[j] = 1.0;
    }
    for (size_t i = 0; i < n; i++)
        s->u[i] = 1.0;
}

/* Moves the scalings into the potentials: f += reg log u, g += reg log v. */
static void absorb(const so_ot_problem_ *p, const so_ot_scaling_ *s, double *f, double *g)
{
    for (size_t i = 0; i < p->n; i++)
        f[i] += p->reg * log(s->u[i]);
    for (size_t j = 0; j < p->m; j++)
        g[j] += p->reg * log(s->v[j]);
}

static int in_range(const double *x, size_t len)
{
    for (size_t k = 0; k < len; k++)
        if (!(x[k] >= SCALING_MIN && x[k] <= SCALING_MAX))
            return 0;
    return 1;
}

/* One iteration as scalings. Returns 1 when it succeeded, 0 when a sum was zero or a
 * scaling left the range (u and v are then restored from u_prev and v_prev). */
static int scaling_iteration(const so_ot_problem_ *p, so_ot_scaling_ *s, double *u_prev,
                             double *v_prev)
{
    size_t n = p->n, m = p->m;
    memcpy(u_prev, s->u, n * sizeof *u_prev);
    memcpy(v_prev, s->v, m * sizeof *v_prev);
    for (size_t j = 0; j < m; j++)
        s->v[j] = p->b[j] / s->KTu[j];
    if (in_range(s->v, m) && so_ot_scaling_pass_(p, s) == n && in_range(s->u, n))
        return 1;
    memcpy(s->u, u_prev, n * sizeof *u_prev);
    memcpy(s->v, v_prev, m * sizeof *v_prev);
    return 0;
}

/* One iteration with shifted log-sum-exp passes on the potentials. */
static int exact_iteration(so_ot_problem_ *p, double *f, double *g, double *scratch)
{
    int status = so_ot_transpose_(p);
    if (status != SO_OK)
        return status;
    so_ot_log_half_(p->Ct, p->m, p->n, f, p->b, p->reg, NULL, g, NULL, p->threads, scratch);
    so_ot_log_half_(p->C, p->n, p->m, g, p->a, p->reg, NULL, f, NULL, p->threads, scratch);
    return SO_OK;
}

/* Decides whether the current state meets the stopping rule; `done` counts the
 * iterations that produced it. Returns 1 to stop, 0 to go on or a negative status. */
static int should_stop(const so_ot_problem_ *p, const so_ot_options *opt, long done,
                       const so_ot_scaling_ *s, double tol, const double *f, const double *g,
                       double *colerr, double *f_eff)
{
    size_t n = p->n, m = p->m;
    double l1 = so_ot_scaling_error_(p, s, colerr);
    if (opt->stop_rule == SO_OT_STOP_POT) {
        /* POT tests its iteration index ii = done - 1 when ii % 10 == 0. */
        if ((done - 1) % 10 != 0)
            return 0;
        double ss = 0.0;
        for (size_t j = 0; j < m; j++)
            ss += colerr[j] * colerr[j];
        return sqrt(ss) < tol;
    }
    if (l1 > tol)
        return 0;
    /* Confirm on the plan itself, which also counts the entries K lost to underflow. */
    double *g_eff = f_eff + n, exact;
    memcpy(f_eff, f, n * sizeof *f_eff);
    memcpy(g_eff, g, m * sizeof *g_eff);
    absorb(p, s, f_eff, g_eff);
    int status = so_ot_marginal_error_(p, f_eff, g_eff, &exact);
    return status != SO_OK ? status : exact <= tol;
}

typedef struct log_work {
    so_ot_scaling_ s;
    double *vectors;
    double *u_prev, *v_prev, *colerr, *f_eff, *scratch;
} log_work;

static int work_alloc(const so_ot_problem_ *p, log_work *w)
{
    size_t n = p->n, m = p->m, T = (size_t)p->threads, wide = n > m ? n : m;
    w->s.K = so_alloc_aligned_(n * m, sizeof(double));
    w->vectors = so_calloc_(4 * n + 6 * m + T * m + T * wide, sizeof(double));
    if (w->s.K == NULL || w->vectors == NULL) {
        so_free_aligned_(w->s.K);
        free(w->vectors);
        return SO_ERR_NOMEM;
    }
    double *v = w->vectors;
    w->s.u = v;
    w->s.Kv = v + n;
    w->u_prev = v + 2 * n;
    w->f_eff = v + 3 * n;       /* n + m values */
    w->s.v = w->f_eff + n + m;
    w->s.KTu = w->s.v + m;
    w->v_prev = w->s.KTu + m;
    w->colerr = w->v_prev + m;
    w->s.acc = w->colerr + m;
    w->scratch = w->s.acc + T * m;
    return SO_OK;
}

int so_ot_sinkhorn_log_(so_ot_problem_ *p, const so_ot_options *opt, long max_iter,
                        double tol, so_ot_run_ *run)
{
    log_work w;
    int status = work_alloc(p, &w), stop = 0;
    if (status != SO_OK)
        return status;
    double *f = run->f, *g = run->g;
    rebuild_kernel(p, &w.s, f, g);
    long it;
    for (it = 0; it < max_iter; it++) {
        if (it > 0) {
            stop = should_stop(p, opt, it, &w.s, tol, f, g, w.colerr, w.f_eff);
            if (stop != 0)
                break;
        }
        if (scaling_iteration(p, &w.s, w.u_prev, w.v_prev))
            continue;
        /* Absorb and retry. A second failure means K itself lost a whole row or column
         * to underflow, which only the log-sum-exp form gets past. */
        absorb(p, &w.s, f, g);
        rebuild_kernel(p, &w.s, f, g);
        if (scaling_iteration(p, &w.s, w.u_prev, w.v_prev))
            continue;
        if ((status = exact_iteration(p, f, g, w.scratch)) != SO_OK)
            break;
        rebuild_kernel(p, &w.s, f, g);
    }
    if (stop < 0)
        status = stop;
    if (status == SO_OK) {
        absorb(p, &w.s, f, g);
        run->iterations += it;
        status = so_ot_marginal_error_(p, f, g, &run->error);
        /* The state left by the last iteration was never tested inside the loop. */
        run->converged = stop == 1 || (opt->stop_rule == SO_OT_STOP_L1 && run->error <= tol);
    }
    so_free_aligned_(w.s.K);
    free(w.vectors);
    return status;
}
