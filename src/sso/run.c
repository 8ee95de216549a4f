/* SSO, SGD and SLS on a linear-model problem, with shared batches and counters. The
 * conventions (mean batch loss, eta as a target-space step) are in stochopt/sso.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sso/sso_internal.h"

so_sso_options so_sso_options_default(void)
{
    so_sso_options o;
    o.method = SO_SSO_METHOD_SSO;
    o.batch_size = 25;
    o.outer_iters = 100;
    o.inner_steps = 10;
    o.eta = 1.0;
    o.inner = SO_SSO_INNER_GD;
    o.alpha = 0.1;
    o.armijo_c = 0.1;
    o.armijo_beta = 0.5;
    o.armijo_max_backtracks = 50;
    o.seed = 0;
    o.schedule = SO_SSO_SCHEDULE_CONSTANT;
    return o;
}

static int check_options(const so_sso_options *o)
{
    if (o->method != SO_SSO_METHOD_SSO && o->method != SO_SSO_METHOD_SGD &&
        o->method != SO_SSO_METHOD_SLS)
        return so_fail_(SO_ERR_INVALID, "SSO option method = %d: expected "
                        "SO_SSO_METHOD_SSO, SO_SSO_METHOD_SGD or SO_SSO_METHOD_SLS",
                        (int)o->method);
    if (o->batch_size == 0)
        return so_fail_(SO_ERR_INVALID, "SSO option batch_size = 0: expected at least 1 "
                        "row per batch, such as 25");
    if (o->outer_iters < 0)
        return so_fail_(SO_ERR_INVALID, "SSO option outer_iters = %ld: expected a count "
                        ">= 0", o->outer_iters);
    if (o->method == SO_SSO_METHOD_SSO && o->inner_steps < 1)
        return so_fail_(SO_ERR_INVALID, "SSO option inner_steps = %ld: expected at least "
                        "1 surrogate step per outer step", o->inner_steps);
    if (o->inner != SO_SSO_INNER_GD && o->inner != SO_SSO_INNER_ARMIJO)
        return so_fail_(SO_ERR_INVALID, "SSO option inner = %d: expected SO_SSO_INNER_GD "
                        "or SO_SSO_INNER_ARMIJO", (int)o->inner);
    if (!(isfinite(o->eta) && o->eta > 0.0))
        return so_fail_(SO_ERR_INVALID, "SSO option eta = %g: expected a finite "
                        "target-space step > 0, such as 1", o->eta);
    if (!(isfinite(o->alpha) && o->alpha > 0.0))
        return so_fail_(SO_ERR_INVALID, "SSO option alpha = %g: expected a finite step "
                        "> 0, such as 0.1", o->alpha);
    if (!(o->armijo_c > 0.0 && o->armijo_c < 1.0) ||
        !(o->armijo_beta > 0.0 && o->armijo_beta < 1.0))
        return so_fail_(SO_ERR_INVALID, "SSO options armijo_c = %g, armijo_beta = %g: "
                        "expected both in (0, 1), such as 0.1 and 0.5", o->armijo_c,
                        o->armijo_beta);
    if (o->schedule != SO_SSO_SCHEDULE_CONSTANT && o->schedule != SO_SSO_SCHEDULE_SQRT)
        return so_fail_(SO_ERR_INVALID, "SSO option schedule = %d: expected "
                        "SO_SSO_SCHEDULE_CONSTANT or SO_SSO_SCHEDULE_SQRT", (int)o->schedule);
    if (o->armijo_max_backtracks < 0)
        return so_fail_(SO_ERR_INVALID, "SSO option armijo_max_backtracks = %d: expected "
                        "a count >= 0", o->armijo_max_backtracks);
    return SO_OK;
}

/* Buffers of one run: batch vectors of batch_size values, parameter vectors of params. */
typedef struct run_state {
    const so_sso_problem *p;
    const so_sso_options *o;
    size_t params;
    size_t k;            /* outputs per row */
    const uint32_t *idx; /* rows of the current batch */
    size_t b;            /* rows in the current batch */
    size_t bk;           /* b * k: entries of the batch vectors below, row-major */
    double *z, *dl;      /* targets z_t and loss derivatives l'(z_t) */
    double *f, *f_trial; /* model outputs at theta and at a trial point */
    double *r;           /* weights of the gradient X_B^T r, one per output */
    double *grad, *trial, *theta_start;
    so_sso_result counts;
    double step;
    double eta;          /* eta of the current outer step, after the schedule */
    double alpha;        /* SGD learning rate or first SLS trial step, after the schedule */
} run_state;

static void free_state(run_state *s)
{
    free(s->z);
    free(s->dl);
    free(s->f);
    free(s->f_trial);
    free(s->r);
    free(s->grad);
    free(s->trial);
    free(s->theta_start);
}

static int alloc_state(run_state *s, size_t batch, size_t params)
{
    size_t entries = batch * s->k;
    s->z = malloc(entries * sizeof(double));
    s->dl = malloc(entries * sizeof(double));
    s->f = malloc(entries * sizeof(double));
    s->f_trial = malloc(entries * sizeof(double));
    s->r = malloc(entries * sizeof(double));
    s->grad = malloc(params * sizeof(double));
    s->trial = malloc(params * sizeof(double));
    s->theta_start = malloc(params * sizeof(double));
    if (!s->z || !s->dl || !s->f || !s->f_trial || !s->r || !s->grad || !s->trial ||
        !s->theta_start)
        return so_fail_(SO_ERR_NOMEM, "so_sso_run: out of memory for batch buffers of %zu "
                        "rows", batch);
    return SO_OK;
}

/* Model outputs of the batch rows at theta, k per row. */
static void batch_outputs(const run_state *s, const double *theta, double *out)
{
    for (size_t row = 0; row < s->b; row++)
        so_sso_row_output_(s->p, s->idx[row], theta, out + row * s->k);
}

/* grad = sum over batch rows of r_row (x_row, 1)^T, one column per output. */
static void batch_gradient(const run_state *s, double *grad)
{
    memset(grad, 0, s->params * sizeof *grad);
    for (size_t row = 0; row < s->b; row++)
        so_sso_row_add_(s->p, s->idx[row], s->r + row * s->k, grad);
}

static double batch_loss(const run_state *s, const double *f)
{
    double sum = 0.0;
    for (size_t row = 0; row < s->b; row++)
        sum += so_sso_row_loss_(s->p, s->idx[row], f + row * s->k);
    return sum / (double)s->b;
}

/* Surrogate g_t at outputs f, without its constant term L_B(z_t). */
static double surrogate_value(const run_state *s, const double *f)
{
    double sum = 0.0, half_inv_eta = 0.5 / s->eta;
    for (size_t k = 0; k < s->bk; k++) {
        double diff = f[k] - s->z[k];
        sum += s->dl[k] * diff + half_inv_eta * diff * diff;
    }
    return sum / (double)s->b;
}

static double squared_norm(const double *v, size_t n)
{
    double sum = 0.0;
    for (size_t j = 0; j < n; j++)
        sum += v[j] * v[j];
    return sum;
}

static int all_finite(const double *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return 0;
    return 1;
}

/* The expensive part of every method: z_t = X_B theta and l'(z_t). */
static int expensive_gradient(run_state *s, const double *theta, long iter)
{
    batch_outputs(s, theta, s->z);
    for (size_t row = 0; row < s->b; row++) {
        so_sso_row_deriv_(s->p, s->idx[row], s->z + row * s->k, s->dl + row * s->k);
        for (size_t c = 0; c < s->k; c++) {
            double value = s->dl[row * s->k + c];
            if (!isfinite(value))
                return so_fail_(SO_ERR_NONFINITE, "so_sso_run: outer step %ld: the loss "
                                "derivative at row %u is %g; theta diverged, so lower "
                                "alpha or eta", iter + 1, s->idx[row], value);
        }
    }
    s->counts.expensive_grads++;
    return SO_OK;
}

/* One SGD step (sls = 0) or one SLS step (sls = 1) from theta. */
static void sgd_step(run_state *s, double *theta, int sls)
{
    const so_sso_options *o = s->o;
    double inv_b = 1.0 / (double)s->b;
    for (size_t k = 0; k < s->bk; k++)
        s->r[k] = s->dl[k] * inv_b;
    batch_gradient(s, s->grad);
    if (!sls) {
        for (size_t j = 0; j < s->params; j++)
            theta[j] -= s->alpha * s->grad[j];
        s->step = s->alpha;
        return;
    }
    /* Armijo on the batch loss, from alpha at every step. */
    double loss0 = batch_loss(s, s->z), gnorm2 = squared_norm(s->grad, s->params);
    double a = s->alpha;
    for (int k = 0; k <= o->armijo_max_backtracks; k++, a *= o->armijo_beta) {
        for (size_t j = 0; j < s->params; j++)
            s->trial[j] = theta[j] - a * s->grad[j];
        batch_outputs(s, s->trial, s->f_trial);
        double loss = batch_loss(s, s->f_trial);
        s->counts.loss_evals++;
        if (loss <= loss0 - o->armijo_c * a * gnorm2) {
            memcpy(theta, s->trial, s->params * sizeof *theta);
            s->step = a;
            return;
        }
    }
    s->step = 0.0; /* no trial passed: theta stays */
}

/* m steps on the surrogate g_t from theta = theta_t, where f = z_t. */
static void sso_inner(run_state *s, double *theta)
{
    const so_sso_options *o = s->o;
    double inv_b = 1.0 / (double)s->b, inv_eta = 1.0 / s->eta;
    double a = o->alpha;
    memcpy(s->f, s->z, s->bk * sizeof *s->f);
    for (long step = 0; step < o->inner_steps; step++) {
        /* Surrogate gradient X_B^T r with r_k = (l'(z_k) + (f_k - z_k) / eta) / b. */
        for (size_t k = 0; k < s->bk; k++)
            s->r[k] = (s->dl[k] + (s->f[k] - s->z[k]) * inv_eta) * inv_b;
        batch_gradient(s, s->grad);
        s->counts.cheap_grads++;
        if (o->inner == SO_SSO_INNER_GD) {
            for (size_t j = 0; j < s->params; j++)
                theta[j] -= o->alpha * s->grad[j];
            if (step + 1 < o->inner_steps)
                batch_outputs(s, theta, s->f);
            s->step = o->alpha;
            continue;
        }
        /* Armijo on g_t, starting from the step accepted last in this outer step. */
        double value0 = surrogate_value(s, s->f), gnorm2 = squared_norm(s->grad, s->params);
        int accepted = 0;
        for (int k = 0; k <= o->armijo_max_backtracks && !accepted; k++) {
            for (size_t j = 0; j < s->params; j++)
                s->trial[j] = theta[j] - a * s->grad[j];
            batch_outputs(s, s->trial, s->f_trial);
            s->counts.surrogate_evals++;
            accepted = surrogate_value(s, s->f_trial) <= value0 - o->armijo_c * a * gnorm2;
            if (!accepted)
                a *= o->armijo_beta;
        }
        if (!accepted) {
            /* No trial decreased g_t enough, so theta is at its minimizer up to rounding.
             * theta stays and the outer step ends. */
            s->step = 0.0;
            return;
        }
        memcpy(theta, s->trial, s->params * sizeof *theta);
        double *swap = s->f;
        s->f = s->f_trial;
        s->f_trial = swap;
        s->step = a;
    }
}

/* Writes history row `iter`, with the full loss, when the buffer has room for it. */
static int record(run_state *s, const double *theta, long iter, so_sso_record *history,
                  size_t capacity)
{
    if (history == NULL || (size_t)iter >= capacity)
        return SO_OK;
    double loss;
    int status = so_sso_full_loss(s->p, theta, &loss, NULL);
    if (status == SO_ERR_NONFINITE)
        return so_fail_(status, "so_sso_run: the full loss after outer step %ld is %g; "
                        "theta diverged, so lower alpha or eta", iter, loss);
    if (status != SO_OK)
        return status;
    so_sso_record *rec = &history[iter];
    rec->iteration = iter;
    rec->expensive_grads = s->counts.expensive_grads;
    rec->cheap_grads = s->counts.cheap_grads;
    rec->loss_evals = s->counts.loss_evals;
    rec->surrogate_evals = s->counts.surrogate_evals;
    rec->step = s->step;
    rec->loss = loss;
    s->counts.history_count = (size_t)iter + 1;
    return SO_OK;
}

static int run_loop(run_state *s, so_batcher *batcher, double *theta,
                    so_sso_record *history, size_t capacity)
{
    const so_sso_options *o = s->o;
    uint64_t epoch = 0;
    int status = record(s, theta, 0, history, capacity);
    for (long iter = 0; status == SO_OK && iter < o->outer_iters; iter++) {
        s->b = so_batcher_next(batcher, &s->idx);
        if (s->b == 0) {
            so_batcher_start_epoch(batcher, ++epoch);
            s->b = so_batcher_next(batcher, &s->idx);
        }
        s->bk = s->b * s->k;
        s->eta = o->eta;
        s->alpha = o->alpha;
        if (o->schedule == SO_SSO_SCHEDULE_SQRT) {
            double root = sqrt((double)(iter + 1));
            s->eta = o->eta / root;
            s->alpha = o->alpha / root;
        }
        memcpy(s->theta_start, theta, s->params * sizeof *theta);
        status = expensive_gradient(s, theta, iter);
        if (status == SO_OK) {
            if (o->method == SO_SSO_METHOD_SSO)
                sso_inner(s, theta);
            else
                sgd_step(s, theta, o->method == SO_SSO_METHOD_SLS);
            if (!all_finite(theta, s->params))
                status = so_fail_(SO_ERR_NONFINITE, "so_sso_run: outer step %ld made theta "
                                  "non-finite; lower alpha or eta", iter + 1);
        }
        if (status == SO_OK)
            status = record(s, theta, iter + 1, history, capacity);
        if (status != SO_OK) {
            /* A failed step leaves theta as it was before that step. */
            memcpy(theta, s->theta_start, s->params * sizeof *theta);
            break;
        }
        s->counts.iterations = iter + 1;
    }
    return status;
}

int so_sso_run(const so_sso_problem *p, const so_sso_options *options, double *theta,
               so_sso_record *history, size_t history_capacity, so_sso_result *result)
{
    if (p == NULL || options == NULL || theta == NULL)
        return so_fail_(SO_ERR_INVALID, "so_sso_run: p, options and theta must not be NULL");
    if (result != NULL)
        memset(result, 0, sizeof *result);
    int status = check_options(options);
    if (status != SO_OK)
        return status;
    run_state s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.o = options;
    s.params = so_sso_problem_params(p);
    s.k = so_sso_problem_outputs(p);
    if (!all_finite(theta, s.params))
        return so_fail_(SO_ERR_NONFINITE, "so_sso_run: the start theta contains NaN or "
                        "infinity");
    /* A batch as large as the data uses every row in file order. */
    size_t batch = options->batch_size < p->n ? options->batch_size : p->n;
    so_batcher *batcher = NULL;
    status = alloc_state(&s, batch, s.params);
    if (status == SO_OK)
        status = so_batcher_new(p->n, batch, options->seed, batch < p->n, 0, &batcher);
    if (status == SO_OK)
        status = run_loop(&s, batcher, theta, history, history_capacity);
    s.counts.loss = NAN;
    if (status == SO_OK)
        status = so_sso_full_loss(p, theta, &s.counts.loss, NULL);
    if (result != NULL)
        *result = s.counts;
    so_batcher_free(&batcher);
    free_state(&s);
    return status;
}
