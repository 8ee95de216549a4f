/* Sinkhorn's scaling form (Cuturi, NeurIPS 2013): v = b / (K^T u),
 * u = a / (K v) with K = exp(-C / reg), starting from u = 1/n, v = 1/m and in the order of
 * POT 0.8's ot.sinkhorn (sinkhorn_knopp), so both produce the same iterates.
 *
 * One pass over K per iteration: each block of rows of K is read from memory once to form
 * (K v)_i and u_i, then added, scaled by u_i, to K^T u while it is still in cache
 * (so_ot_scale_rows_ in kernels.c). The product K^T u is what the next v update and the
 * column marginal v * (K^T u) both need, so the stopping test is exact and free. Each thread accumulates its rows' share of K^T u, and the
 * shares are added in thread order, so results are reproducible for a given thread count.
 *
 * When cost / reg exceeds about 745, exp(-C / reg) underflows to zero, a row or column of
 * K u or K^T u vanishes and the scalings become infinite. The solver then stops with
 * SO_ERR_NUMERIC and a message that points to the log domain. */
/* For madvise and MADV_HUGEPAGE. */
#define _DEFAULT_SOURCE

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/internal.h"
#include "ot/ot_internal.h"


static int underflow_error(const so_ot_problem_ *p, const char *what, size_t index,
                           long it)
{
    double cmin = INFINITY;
    if (what[0] == 'r') {
        for (size_t j = 0; j < p->m; j++)
            cmin = fmin(cmin, p->C[index * p->m + j]);
    } else {
        for (size_t i = 0; i < p->n; i++)
            cmin = fmin(cmin, p->C[i * p->m + index]);
    }
    return so_fail_(SO_ERR_NUMERIC, "sinkhorn: kernel underflow at iteration %ld: %s %zu of "
                    "K = exp(-C/reg) times the scalings sums to zero or a scaling is not "
                    "finite (smallest cost %g, reg %g, exp(-%g) = %g); use the log-domain "
                    "method ('log', SO_OT_LOG) or enable the fallback to it",
                    it, what, index, cmin, p->reg, cmin / p->reg, exp(-cmin / p->reg));
}

size_t so_ot_scaling_pass_(const so_ot_problem_ *p, so_ot_scaling_ *s)
{
    size_t n = p->n, m = p->m, T = (size_t)p->threads, bad = n;
#pragma omp parallel num_threads(p->threads)
    {
        size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        double *acc = s->acc + t * m;
        memset(acc, 0, m * sizeof *acc);
        size_t lo = n * t / nt, hi = n * (t + 1) / nt;
        so_ot_scale_rows_(s->K + lo * m, s->v, p->a + lo, hi - lo, m, s->u + lo, s->Kv + lo,
                          acc);
#pragma omp barrier
#pragma omp for schedule(static)
        for (size_t j = 0; j < m; j++) {
            double sum = 0.0;
            for (size_t r = 0; r < T && r < nt; r++)
                sum += s->acc[r * m + j];
            s->KTu[j] = sum;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!(s->Kv[i] > 0.0) || !isfinite(s->u[i])) {
            bad = i;
            break;
        }
    return bad;
}

double so_ot_scaling_error_(const so_ot_problem_ *p, const so_ot_scaling_ *s, double *colerr)
{
    double e = 0.0;
    for (size_t i = 0; i < p->n; i++)
        e += fabs(s->u[i] * s->Kv[i] - p->a[i]);
    for (size_t j = 0; j < p->m; j++) {
        colerr[j] = fabs(s->v[j] * s->KTu[j] - p->b[j]);
        e += colerr[j];
    }
    return e;
}

static int stop_test(const so_ot_options *opt, long done, double l1, const double *colerr,
                     size_t m)
{
    if (opt->stop_rule == SO_OT_STOP_L1)
        return l1 <= opt->tol;
    if ((done - 1) % 10 != 0)
        return 0;
    double ss = 0.0;
    for (size_t j = 0; j < m; j++)
        ss += colerr[j] * colerr[j];
    return sqrt(ss) < opt->tol;
}

/* Runs the iteration on a ready state; returns SO_OK or SO_ERR_NUMERIC. */
static int iterate(const so_ot_problem_ *p, const so_ot_options *opt, so_ot_scaling_ *s,
                   double *colerr, so_ot_run_ *run)
{
    size_t n = p->n, m = p->m;
    long it;
    double err = INFINITY;
    for (it = 0; it < opt->max_iter; it++) {
        if (it > 0) {
            err = so_ot_scaling_error_(p, s, colerr);
            if (stop_test(opt, it, err, colerr, m)) {
                run->converged = 1;
                break;
            }
        }
        for (size_t j = 0; j < m; j++) {
            if (!(s->KTu[j] > 0.0) || !isfinite(s->KTu[j]))
                return underflow_error(p, "column", j, it);
            s->v[j] = p->b[j] / s->KTu[j];
            if (!isfinite(s->v[j]))
                return underflow_error(p, "column", j, it);
        }
        size_t bad = so_ot_scaling_pass_(p, s);
        if (bad < n)
            return underflow_error(p, "row", bad, it);
    }
    if (!run->converged && it > 0) {
        err = so_ot_scaling_error_(p, s, colerr);
        run->converged = opt->stop_rule == SO_OT_STOP_L1 && err <= opt->tol;
    }
    run->iterations += it;
    run->error = err;
    return SO_OK;
}

static void write_output(const so_ot_problem_ *p, const so_ot_scaling_ *s, so_ot_run_ *run,
                         double *plan)
{
    size_t n = p->n, m = p->m;
    for (size_t i = 0; i < n; i++)
        run->f[i] = p->reg * log(s->u[i]);
    for (size_t j = 0; j < m; j++)
        run->g[j] = p->reg * log(s->v[j]);
    if (plan == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            plan[i * m + j] = s->u[i] * s->K[i * m + j] * s->v[j];
}

/* Asks Linux to back the whole 2 MiB pages inside K with huge pages. Each iteration
 * reads all of K, and a 2000 x 2000 kernel spans 7,800 pages of 4 KiB, more than the
 * data TLB of current x86 processors covers. On the machine of docs/ot/sns.md the advice
 * saved about a tenth of each pass and most page faults of the first touch. The advice
 * may be ignored, so its result is not checked. */
static void advise_huge_pages(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)1 << 21;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

int so_ot_sinkhorn_scaling_(so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run,
                            double *plan)
{
    size_t n = p->n, m = p->m, T = (size_t)p->threads;
    so_ot_scaling_ s;
    s.K = so_alloc_aligned_(n * m, sizeof *s.K);
    double *work = so_calloc_(2 * n + 3 * m + T * m, sizeof *work);
    if (s.K == NULL || work == NULL) {
        so_free_aligned_(s.K);
        free(work);
        return SO_ERR_NOMEM;
    }
    advise_huge_pages(s.K, n * m * sizeof *s.K);
    s.u = work;
    s.Kv = work + n;
    s.v = work + 2 * n;
    s.KTu = s.v + m;
    double *colerr = s.KTu + m;
    s.acc = colerr + m;
    double inv = -1.0 / p->reg;
    for (size_t i = 0; i < n; i++)
        s.u[i] = 1.0 / (double)n;
    for (size_t j = 0; j < m; j++)
        s.v[j] = 1.0 / (double)m;
    /* Builds K and adds its rows to K^T u for the first v update, in row order either
     * way. One thread adds each row while it is in cache, and more threads add the rows
     * after building them. */
    if (p->threads == 1) {
        for (size_t i = 0; i < n; i++) {
            so_ot_exp_row_(p->C + i * m, inv, m, s.K + i * m);
            so_ot_axpy_(s.u[i], s.K + i * m, m, s.KTu);
        }
    } else {
#pragma omp parallel for num_threads(p->threads) schedule(static)
        for (size_t i = 0; i < n; i++)
            so_ot_exp_row_(p->C + i * m, inv, m, s.K + i * m);
        for (size_t i = 0; i < n; i++)
            so_ot_axpy_(s.u[i], s.K + i * m, m, s.KTu);
    }
    int status = iterate(p, opt, &s, colerr, run);
    if (status == SO_OK)
        write_output(p, &s, run, plan);
    so_free_aligned_(s.K);
    free(work);
    return status;
}
