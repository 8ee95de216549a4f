/* Sinkhorn-Newton-Sparse (Tang et al., "Accelerating Sinkhorn algorithm with sparse
 * Newton iterations", ICLR 2024). Stage 1 runs log-domain Sinkhorn to get near the
 * solution. Stage 2 takes Newton steps on the concave Lyapunov potential
 *   L(f, g) = -reg sum_ij P_ij + a.f + b.g,  P_ij = exp((f_i + g_j - C_ij) / reg),
 * whose gradient is (a - P 1, b - P^T 1) and whose Hessian is -(1/reg) M. The
 * step solves M~ w = grad for the sparsified M~ by conjugate gradient and moves along
 * reg w with a backtracking line search from step 1.
 *
 * The paper's line search halves the step until L increases. Near machine accuracy a
 * change of L is below its rounding error, so a step whose change of L lies within that
 * error is accepted when it lowers the marginal error, which is what the stopping rule
 * measures. When no step helps, the solver runs sns_warm_iter more Sinkhorn iterations
 * and tries Newton again, until the iteration budget ends. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "core/internal.h"
#include "ot/ot_internal.h"

typedef struct newton_state {
    double *P, *r, *c;  /* plan and its row and column sums */
    double value;       /* Lyapunov potential */
    double scale;       /* sum of the magnitudes of its terms, for its rounding error */
    double error;       /* L1 marginal error */
} newton_state;

typedef struct newton_work {
    newton_state cur, trial;
    double *colacc;     /* threads x m */
    double *grad, *dir, *cg, *f_trial, *g_trial;
    double *vectors;    /* the allocation holding every vector above */
    so_ot_sparse_ hess;
} newton_work;

/* Fills st from the potentials (f, g). */
static void evaluate(const so_ot_problem_ *p, const double *f, const double *g,
                     double *colacc, newton_state *st)
{
    size_t n = p->n, m = p->m, T = (size_t)p->threads;
    memset(colacc, 0, T * m * sizeof *colacc);
#pragma omp parallel num_threads(p->threads)
    {
        double *acc = colacc + (size_t)omp_get_thread_num() * m;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            double *row = st->P + i * m;
            st->r[i] = so_ot_plan_row_(p->C + i * m, g, f[i], m, p->reg, row);
            for (size_t j = 0; j < m; j++)
                acc[j] += row[j];
        }
    }
    double err = 0.0, total = 0.0;
    for (size_t j = 0; j < m; j++) {
        double s = 0.0;
        for (size_t t = 0; t < T; t++)
            s += colacc[t * m + j];
        st->c[j] = s;
        err += fabs(s - p->b[j]);
    }
    for (size_t i = 0; i < n; i++) {
        err += fabs(st->r[i] - p->a[i]);
        total += st->r[i];
    }
    double af = so_ot_dot_(p->a, f, n), bg = so_ot_dot_(p->b, g, m);
    st->value = -p->reg * total + af + bg;
    st->scale = p->reg * total + fabs(af) + fabs(bg);
    st->error = err;
}

static int work_alloc(const so_ot_problem_ *p, newton_work *w)
{
    size_t n = p->n, m = p->m, N = n + m;
    memset(w, 0, sizeof *w);
    w->cur.P = so_alloc_aligned_(n * m, sizeof(double));
    w->trial.P = so_alloc_aligned_(n * m, sizeof(double));
    double *v = so_calloc_(2 * N + (size_t)p->threads * m + 7 * N, sizeof *v);
    if (w->cur.P == NULL || w->trial.P == NULL || v == NULL) {
        so_free_aligned_(w->cur.P);
        so_free_aligned_(w->trial.P);
        free(v);
        return SO_ERR_NOMEM;
    }
    w->vectors = v;
    w->cur.r = v;
    w->cur.c = v + n;
    w->trial.r = v + N;
    w->trial.c = v + N + n;
    w->colacc = v + 2 * N;
    w->grad = w->colacc + (size_t)p->threads * m;
    w->dir = w->grad + N;
    w->f_trial = w->dir + N;
    w->g_trial = w->f_trial + n;
    w->cg = w->f_trial + N;
    return SO_OK;
}

static void work_free(newton_work *w)
{
    so_free_aligned_(w->cur.P);
    so_free_aligned_(w->trial.P);
    free(w->vectors);
    so_ot_sparse_free_(&w->hess);
}

/* Backtracks from step 1 along w->dir. Returns 1 when a step was taken, else 0. */
static int line_search(const so_ot_problem_ *p, so_ot_run_ *run, newton_work *w)
{
    size_t n = p->n, m = p->m;
    for (double alpha = 1.0; alpha > 1e-10; alpha *= 0.5) {
        for (size_t i = 0; i < n; i++)
            w->f_trial[i] = run->f[i] + alpha * w->dir[i];
        for (size_t j = 0; j < m; j++)
            w->g_trial[j] = run->g[j] + alpha * w->dir[n + j];
        evaluate(p, w->f_trial, w->g_trial, w->colacc, &w->trial);
        if (!isfinite(w->trial.value))
            continue;
        /* A change of L within its rounding error carries no information, so the marginal
         * error decides instead. */
        double noise = 64 * DBL_EPSILON * (w->cur.scale + w->trial.scale);
        double gain = w->trial.value - w->cur.value;
        if (gain > noise || (gain >= -noise && w->trial.error < w->cur.error)) {
            newton_state tmp = w->cur;
            w->cur = w->trial;
            w->trial = tmp;
            memcpy(run->f, w->f_trial, n * sizeof *run->f);
            memcpy(run->g, w->g_trial, m * sizeof *run->g);
            return 1;
        }
    }
    return 0;
}

/* Newton steps until the marginal error reaches tol, a step fails or the budget ends. */
static int newton_stage(const so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run,
                        newton_work *w)
{
    size_t n = p->n, m = p->m;
    size_t keep = opt->sns_keep > 0 ? (size_t)opt->sns_keep : 2;
    evaluate(p, run->f, run->g, w->colacc, &w->cur);
    while (w->cur.error > opt->tol && run->iterations < opt->max_iter) {
        for (size_t i = 0; i < n; i++)
            w->grad[i] = p->a[i] - w->cur.r[i];
        for (size_t j = 0; j < m; j++)
            w->grad[n + j] = p->b[j] - w->cur.c[j];
        int status = so_ot_sparse_build_(&w->hess, w->cur.P, n, m, keep);
        if (status != SO_OK)
            return status;
        so_ot_sparse_cg_(&w->hess, w->cur.r, w->cur.c, w->grad, w->dir, 1e-12,
                         opt->sns_cg_max_iter, w->cg);
        for (size_t k = 0; k < n + m; k++)
            w->dir[k] *= p->reg;
        if (!line_search(p, run, w))
            break;
        run->iterations++;
        run->newton_steps++;
    }
    run->error = w->cur.error;
    run->converged = w->cur.error <= opt->tol;
    return SO_OK;
}

int so_ot_sns_(so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run)
{
    so_ot_options stage = *opt;
    stage.stop_rule = SO_OT_STOP_L1;
    long warm = opt->sns_warm_iter > 0 ? opt->sns_warm_iter : 1;
    newton_work w;
    int status = work_alloc(p, &w);
    if (status != SO_OK)
        return status;
    for (int first = 1; status == SO_OK && run->iterations < opt->max_iter; first = 0) {
        /* Sinkhorn before the first Newton stage (none when sns_warm_iter is 0) and
         * after each stage that stalled. */
        long budget = opt->max_iter - run->iterations;
        long sinkhorn = first ? opt->sns_warm_iter : warm;
        if (sinkhorn > 0)
            status = so_ot_sinkhorn_log_(p, &stage, sinkhorn < budget ? sinkhorn : budget,
                                         opt->tol, run);
        if (status != SO_OK || run->converged || run->iterations >= opt->max_iter)
            break;
        status = newton_stage(p, &stage, run, &w);
        if (run->converged)
            break;
    }
    work_free(&w);
    return status;
}
