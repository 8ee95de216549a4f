/* One CBO run and the parallel loop over independent runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "global/global_internal.h"

typedef struct cbo_work {
    const so_cbo_config *c;
    so_batch_objective_fn f;
    void *user;
    so_rng rng;
    double *x, *fx, *v, *v_old, *vb, *xb, *fb;
    size_t *perm;
    double *best, f_best;
    long evals;
} cbo_work;

static int work_alloc(cbo_work *w, size_t n, size_t d)
{
    w->x = so_calloc_(n * d, sizeof *w->x);
    w->fx = so_calloc_(n, sizeof *w->fx);
    w->v = so_calloc_(d, sizeof *w->v);
    w->v_old = so_calloc_(d, sizeof *w->v_old);
    w->vb = so_calloc_(d, sizeof *w->vb);
    w->xb = so_calloc_(n * d, sizeof *w->xb);
    w->fb = so_calloc_(n, sizeof *w->fb);
    w->perm = so_calloc_(n, sizeof *w->perm);
    for (size_t j = 0; w->perm && j < n; j++)
        w->perm[j] = j;
    return w->x && w->fx && w->v && w->v_old && w->vb && w->xb && w->fb && w->perm
               ? SO_OK : SO_ERR_NOMEM;
}

static void work_free(cbo_work *w)
{
    free(w->x);
    free(w->fx);
    free(w->v);
    free(w->v_old);
    free(w->vb);
    free(w->xb);
    free(w->fb);
    free(w->perm);
}

/* Calls the objective on n points. +inf marks a point that could not be evaluated.
 * NaN and -inf are errors because no weight can be given to them. */
static int evaluate(cbo_work *w, size_t n, const double *x, double *fx)
{
    size_t d = w->c->dim;
    for (size_t j = 0; j < n * d; j++)
        if (!isfinite(x[j]))
            return so_fail_(SO_ERR_NONFINITE, "cbo: particle %zu coordinate %zu is %g after "
                            "%ld evaluations; the noise is too strong for the drift (reduce "
                            "sigma or dt; isotropic noise grows with the dimension)",
                            j / d, j % d, x[j], w->evals);
    for (size_t j = 0; j < n; j++)
        fx[j] = INFINITY;
    int st = w->f(w->user, n, d, x, fx);
    w->evals += (long)n;
    if (st < 0)
        return so_fail_(SO_ERR_CALLBACK, "cbo: the objective returned %d (stop) after %ld "
                        "evaluations", st, w->evals);
    for (size_t j = 0; j < n; j++) {
        if (st > 0)
            fx[j] = INFINITY;
        if (isnan(fx[j]) || fx[j] == -INFINITY)
            return so_fail_(SO_ERR_NONFINITE, "cbo: the objective gave f = %g at point %zu "
                            "(x[0] = %g); expected a number or +inf for a point that cannot "
                            "be evaluated", fx[j], j, x[j * d]);
        if (fx[j] < w->f_best) {
            w->f_best = fx[j];
            memcpy(w->best, x + j * d, d * sizeof *x);
        }
    }
    return SO_OK;
}

/* Fisher-Yates shuffle of size_t indices (so_rng_shuffle takes uint32_t). */
static void shuffle_indices(so_rng *rng, size_t *perm, size_t n)
{
    for (size_t j = n - 1; j > 0; j--) {
        size_t k = (size_t)so_rng_below(rng, j + 1), t = perm[j];
        perm[j] = perm[k];
        perm[k] = t;
    }
}

static void initialize(cbo_work *w)
{
    const so_cbo_config *c = w->c;
    for (size_t j = 0; j < c->particles; j++)
        for (size_t i = 0; i < c->dim; i++) {
            double *xi = w->x + j * c->dim + i;
            if (c->init_center)
                *xi = c->init_center[i] + c->init_std * so_rng_normal(&w->rng);
            else
                *xi = c->init_lo + (c->init_hi - c->init_lo) * so_rng_uniform(&w->rng);
        }
}

/* Consensus point of the batch perm[s .. s+len-1], gathered into scratch rows. */
static int batch_consensus(cbo_work *w, size_t s, size_t len, double alpha)
{
    size_t d = w->c->dim;
    for (size_t k = 0; k < len; k++) {
        size_t j = w->perm[s + k];
        memcpy(w->xb + k * d, w->x + j * d, d * sizeof *w->x);
        w->fb[k] = w->fx[j];
    }
    return so_cbo_consensus(len, d, w->xb, w->fb, alpha, w->vb);
}

/* Moves every particle. With random batches (Carrillo, Jin, Li and Zhu 2021) each batch
 * of a fresh permutation moves towards its own consensus point, at no extra evaluations. */
static void move(cbo_work *w, double alpha)
{
    const so_cbo_config *c = w->c;
    size_t n = c->particles, d = c->dim, m = c->batch ? c->batch : n;
    if (m < n)
        shuffle_indices(&w->rng, w->perm, n);
    for (size_t s = 0; s < n; s += m) {
        size_t len = s + m <= n ? m : n - s;
        /* A batch with no evaluable point follows the global consensus. */
        const double *vb = w->v;
        if (m < n && batch_consensus(w, s, len, alpha) == SO_OK)
            vb = w->vb;
        if (c->scheme == SO_CBO_HOPPING)
            so_cbo_hop_step_(w->x, d, w->perm + s, len, vb, c->sigma, &w->rng);
        else
            so_cbo_em_step_(w->x, d, w->perm + s, len, vb, c->lambda, c->sigma, c->dt,
                            c->noise, &w->rng);
    }
}

static double next_alpha(const so_cbo_config *c, double alpha)
{
    if (c->alpha_mode != SO_CBO_ALPHA_GROWTH)
        return alpha;
    alpha *= c->alpha_growth;
    return alpha < c->alpha_max ? alpha : c->alpha_max;
}

static double distance(size_t d, const double *a, const double *b)
{
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

/* Each step evaluates, weighs, tests the stopping rules and then moves, so every
 * reported consensus point comes from an evaluated ensemble. */
static int iterate(cbo_work *w, so_cbo_run *out)
{
    const so_cbo_config *c = w->c;
    size_t n = c->particles, d = c->dim;
    double alpha = c->alpha;
    int st;
    for (long k = 0;; k++) {
        if (c->max_evals > 0 && w->evals + (long)n + 1 > c->max_evals) {
            /* Validation guarantees room for the first ensemble and v. */
            out->stop = SO_CBO_STOP_EVALS;
            break;
        }
        if ((st = evaluate(w, n, w->x, w->fx)))
            return st;
        if (c->alpha_mode == SO_CBO_ALPHA_ESS)
            alpha = so_cbo_alpha_for_ess(n, w->fx, c->ess_target, c->alpha_max);
        memcpy(w->v_old, w->v, d * sizeof *w->v);
        if ((st = so_cbo_consensus(n, d, w->x, w->fx, alpha, w->v)))
            return st;
        out->steps = k;
        if (w->f_best <= c->energy_tol) {
            out->stop = SO_CBO_STOP_ENERGY;
            break;
        }
        if (k > 0 && distance(d, w->v, w->v_old) < c->consensus_tol) {
            out->stop = SO_CBO_STOP_CONSENSUS;
            break;
        }
        if (k == c->max_steps) {
            out->stop = SO_CBO_STOP_STEPS;
            break;
        }
        move(w, alpha);
        alpha = next_alpha(c, alpha);
    }
    out->alpha = alpha;
    return SO_OK;
}

static int run_one(const so_cbo_config *c, so_batch_objective_fn f, void *user, long r,
                   so_cbo_result *res)
{
    size_t d = c->dim;
    cbo_work w = {.c = c, .f = f, .user = user, .f_best = INFINITY};
    so_cbo_run *out = &res->run[r];
    double *xc = res->x_consensus + (size_t)r * d;
    memset(out, 0, sizeof *out);
    w.best = res->x_best + (size_t)r * d;
    int st = work_alloc(&w, c->particles, d);
    if (st == SO_OK) {
        so_rng_init(&w.rng, c->seed, (uint64_t)r);
        initialize(&w);
        st = iterate(&w, out);
    }
    if (st == SO_OK) {
        memcpy(xc, w.v, d * sizeof *xc);
        st = evaluate(&w, 1, xc, &out->f_consensus);
    }
    out->f_best = w.f_best;
    out->evals = w.evals;
    work_free(&w);
    return st;
}

int so_cbo_minimize(const so_cbo_config *cfg, so_batch_objective_fn f, void *user,
                    so_cbo_result *res)
{
    if (!cfg || !f)
        return so_fail_(SO_ERR_INVALID, "cbo: %s is NULL; pass a configuration from "
                        "so_cbo_config_default and an objective", cfg ? "f" : "cfg");
    int st = so_cbo_check_config_(cfg, res);
    if (st)
        return st;
    /* The first failing run in run order is reported; its message is copied out of the
     * worker thread, whose error detail is thread-local. */
    long failed = cfg->runs;
    int failed_status = SO_OK;
    char message[512] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(cfg->threads)
    for (long r = 0; r < cfg->runs; r++) {
        int s = run_one(cfg, f, user, r, res);
        if (s != SO_OK) {
#pragma omp critical(so_cbo_failure)
            if (r < failed) {
                failed = r;
                failed_status = s;
                snprintf(message, sizeof message, "%s", so_last_error());
            }
        }
    }
    if (failed_status != SO_OK)
        return so_fail_(failed_status, "run %ld: %s", failed, message);
    return SO_OK;
}
