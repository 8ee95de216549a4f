/* so_ot_solve: input validation, removal of zero-mass rows and columns, dispatch to a
 * solver and assembly of the result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "ot/ot_internal.h"

so_ot_options so_ot_options_default(void)
{
    so_ot_options o;
    memset(&o, 0, sizeof o);
    o.method = SO_OT_LOG;
    o.reg = 0.0;
    o.tol = 1e-9;
    o.max_iter = 100000;
    o.stop_rule = SO_OT_STOP_L1;
    o.want_plan = 1;
    o.eps_factor = 0.5;
    o.eps_stage_iter = 100;
    o.sns_warm_iter = 20;
    o.sns_keep = 8;
    o.sns_cg_max_iter = 1000;
    return o;
}

static const char *const METHOD_NAMES[] = {"sinkhorn", "log", "eps", "sns"};

int so_ot_method_from_name(const char *name)
{
    for (int k = 0; name != NULL && k < 4; k++)
        if (strcmp(name, METHOD_NAMES[k]) == 0)
            return k;
    return -1;
}

const char *so_ot_method_name(so_ot_method method)
{
    return (unsigned)method < 4 ? METHOD_NAMES[method] : "unknown";
}

void so_ot_result_clear(so_ot_result *result)
{
    if (result == NULL)
        return;
    free(result->plan);
    free(result->f);
    free(result->g);
    memset(result, 0, sizeof *result);
}

static int check_options(const so_ot_options *o)
{
    if (!(o->reg > 0.0) || !isfinite(o->reg))
        return so_fail_(SO_ERR_INVALID, "ot: reg = %g; expected a finite regularization > 0 "
                        "(try 0.01 to 1 times the typical cost)", o->reg);
    if (!(o->tol >= 0.0) || !isfinite(o->tol))
        return so_fail_(SO_ERR_INVALID, "ot: tol = %g; expected a finite marginal error "
                        ">= 0 such as 1e-9", o->tol);
    if (o->max_iter < 1)
        return so_fail_(SO_ERR_INVALID, "ot: max_iter = %ld; expected at least 1", o->max_iter);
    if ((unsigned)o->method > SO_OT_SNS || (unsigned)o->stop_rule > SO_OT_STOP_POT)
        return so_fail_(SO_ERR_INVALID, "ot: unknown method %d or stop rule %d; expected an "
                        "so_ot_method and an so_ot_stop_rule", (int)o->method,
                        (int)o->stop_rule);
    if (!(o->eps_factor > 0.0 && o->eps_factor < 1.0) || !(o->eps_start >= 0.0) ||
        o->eps_stage_iter < 1)
        return so_fail_(SO_ERR_INVALID, "ot: eps_factor = %g, eps_start = %g, eps_stage_iter "
                        "= %ld; expected a factor in (0, 1), a start >= 0 (0 for max |C|) "
                        "and at least 1 iteration per stage", o->eps_factor, o->eps_start,
                        o->eps_stage_iter);
    if (o->sns_warm_iter < 0 || o->sns_keep < 0 || o->sns_cg_max_iter < 1)
        return so_fail_(SO_ERR_INVALID, "ot: sns_warm_iter = %ld, sns_keep = %ld, "
                        "sns_cg_max_iter = %ld; expected values >= 0, >= 0 and >= 1",
                        o->sns_warm_iter, o->sns_keep, o->sns_cg_max_iter);
    return SO_OK;
}

/* Checks one marginal and returns its sum; uniform when w is NULL. */
static int check_marginal(const char *name, const double *w, size_t len, double *sum)
{
    if (w == NULL) {
        *sum = 1.0;
        return SO_OK;
    }
    double s = 0.0;
    for (size_t k = 0; k < len; k++) {
        if (!isfinite(w[k]) || w[k] < 0.0)
            return so_fail_(SO_ERR_INVALID, "ot: %s[%zu] = %g; expected finite, non-negative "
                            "masses", name, k, w[k]);
        s += w[k];
    }
    if (!(s > 0.0))
        return so_fail_(SO_ERR_INVALID, "ot: %s has total mass 0; expected at least one "
                        "positive entry", name);
    *sum = s;
    return SO_OK;
}

static int check_inputs(const double *C, size_t n, size_t m, const double *a, const double *b,
                        const so_ot_options *opt, so_ot_result *result)
{
    if (C == NULL || opt == NULL || result == NULL || n == 0 || m == 0)
        return so_fail_(SO_ERR_INVALID, "ot: expected a cost matrix of at least 1 x 1, "
                        "options and a result, got %zu x %zu%s%s%s", n, m,
                        C == NULL ? ", C = NULL" : "", opt == NULL ? ", options = NULL" : "",
                        result == NULL ? ", result = NULL" : "");
    if (n > UINT32_MAX || m > UINT32_MAX || n > SIZE_MAX / m / sizeof(double))
        return so_fail_(SO_ERR_RANGE, "ot: a %zu x %zu cost matrix is too large", n, m);
    int status = check_options(opt);
    if (status != SO_OK)
        return status;
    for (size_t k = 0; k < n * m; k++)
        if (!isfinite(C[k]))
            return so_fail_(SO_ERR_NONFINITE, "ot: C[%zu][%zu] = %g; expected finite costs",
                            k / m, k % m, C[k]);
    double sa = 0.0, sb = 0.0;
    if ((status = check_marginal("a", a, n, &sa)) != SO_OK ||
        (status = check_marginal("b", b, m, &sb)) != SO_OK)
        return status;
    if (fabs(sa - sb) > 1e-9 * fmax(sa, sb))
        return so_fail_(SO_ERR_INVALID, "ot: the marginals have different total mass, sum a "
                        "= %.17g and sum b = %.17g; expected equal sums within 1e-9 relative "
                        "(normalize both to 1)", sa, sb);
    return SO_OK;
}

/* The problem restricted to rows and columns of positive mass. A zero-mass row forces
 * its plan row to zero, so removing it changes nothing else. Keeping it would need
 * log(0) in the log domain and 0 / 0 in the scaling form. */
typedef struct support {
    size_t n, m;
    size_t *rows, *cols;   /* kept indices into the full problem */
    double *C, *a, *b;     /* owned; C is NULL when every row and column is kept */
} support;

static void support_free(support *s)
{
    free(s->rows);
    free(s->cols);
    free(s->C);
    free(s->a);
    memset(s, 0, sizeof *s);
}

static size_t keep_positive(const double *w, size_t len, size_t *idx, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (w == NULL || w[i] > 0.0) {
            idx[k] = i;
            out[k++] = w == NULL ? 1.0 / (double)len : w[i];
        }
    return k;
}

static int support_build(const double *C, size_t n, size_t m, const double *a,
                         const double *b, support *s)
{
    memset(s, 0, sizeof *s);
    s->rows = malloc(n * sizeof *s->rows);
    s->cols = malloc(m * sizeof *s->cols);
    s->a = malloc((n + m) * sizeof *s->a);
    if (s->rows == NULL || s->cols == NULL || s->a == NULL) {
        support_free(s);
        return so_fail_(SO_ERR_NOMEM, "ot: out of memory for %zu marginal values", n + m);
    }
    s->b = s->a + n;
    s->n = keep_positive(a, n, s->rows, s->a);
    s->m = keep_positive(b, m, s->cols, s->b);
    if (s->n == n && s->m == m)
        return SO_OK;
    s->C = malloc(s->n * s->m * sizeof *s->C);
    if (s->C == NULL) {
        support_free(s);
        return so_fail_(SO_ERR_NOMEM, "ot: out of memory for the %zu x %zu support", s->n,
                        s->m);
    }
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->m; j++)
            s->C[i * s->m + j] = C[s->rows[i] * m + s->cols[j]];
    return SO_OK;
}

/* Runs the requested method. The scaling form writes its own plan into plan. */
static int dispatch(so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run,
                    double *plan, so_ot_result *result)
{
    result->method_used = opt->method;
    switch (opt->method) {
    case SO_OT_SINKHORN: {
        int status = so_ot_sinkhorn_scaling_(p, opt, run, plan);
        if (status != SO_ERR_NUMERIC || !opt->fallback)
            return status;
        so_log_(SO_LOG_INFO, "%s; continuing in the log domain", so_last_error());
        so_clear_error();
        memset(run->f, 0, p->n * sizeof *run->f);
        memset(run->g, 0, p->m * sizeof *run->g);
        run->iterations = 0;
        result->method_used = SO_OT_LOG;
        result->fell_back = 1;
        return so_ot_sinkhorn_log_(p, opt, opt->max_iter, opt->tol, run);
    }
    case SO_OT_EPS_SCALING:
        return so_ot_eps_scaling_(p, opt, run);
    case SO_OT_SNS:
        return so_ot_sns_(p, opt, run);
    default:
        return so_ot_sinkhorn_log_(p, opt, opt->max_iter, opt->tol, run);
    }
}

/* Fills the plan from the potentials unless the scaling form already did, and computes
 * <C, P> and the entropic objective. Since log P_ij = (f_i + g_j - C_ij) / reg, the
 * objective <C, P> + reg sum P log P equals sum_ij P_ij (f_i + g_j), which needs no
 * logarithm per entry. Entries below 3.3e-308 come out as 0 (see so_ot_exp). */
static void plan_and_objective(const so_ot_problem_ *p, const so_ot_result *result,
                               const so_ot_run_ *run, double *plan, double *cost,
                               double *objective)
{
    size_t n = p->n, m = p->m;
    int have_plan = result->method_used == SO_OT_SINKHORN;
    double c = 0.0, e = 0.0;
    for (size_t i = 0; i < n; i++) {
        double *row = plan + i * m;
        if (!have_plan)
            so_ot_plan_row_(p->C + i * m, run->g, run->f[i], m, p->reg, row);
        double row_sum = so_ot_sum_(row, m);
        c += so_ot_dot_(row, p->C + i * m, m);
        e += row_sum * run->f[i] + so_ot_dot_(row, run->g, m);
    }
    *cost = c;
    *objective = e;
}

/* Scatters the support's plan and potentials into the full-size result. */
static int assemble(const support *s, size_t n, size_t m, const so_ot_run_ *run,
                    const double *plan, int want_plan, so_ot_result *result)
{
    result->f = malloc(n * sizeof *result->f);
    result->g = malloc(m * sizeof *result->g);
    result->plan = want_plan ? calloc(n * m, sizeof *result->plan) : NULL;
    if (result->f == NULL || result->g == NULL || (want_plan && result->plan == NULL))
        return so_fail_(SO_ERR_NOMEM, "ot: out of memory for the %zu x %zu result", n, m);
    for (size_t i = 0; i < n; i++)
        result->f[i] = -INFINITY;
    for (size_t j = 0; j < m; j++)
        result->g[j] = -INFINITY;
    for (size_t i = 0; i < s->n; i++)
        result->f[s->rows[i]] = run->f[i];
    for (size_t j = 0; j < s->m; j++)
        result->g[s->cols[j]] = run->g[j];
    if (want_plan)
        for (size_t i = 0; i < s->n; i++)
            for (size_t j = 0; j < s->m; j++)
                result->plan[s->rows[i] * m + s->cols[j]] = plan[i * s->m + j];
    return SO_OK;
}

int so_ot_solve(const double *C, size_t n, size_t m, const double *a, const double *b,
                const so_ot_options *opt, so_ot_result *result)
{
    int status = check_inputs(C, n, m, a, b, opt, result);
    if (status != SO_OK)
        return status;
    memset(result, 0, sizeof *result);
    support s;
    if ((status = support_build(C, n, m, a, b, &s)) != SO_OK)
        return status;
    /* Each iteration forks threads and meets a barrier. On a two-core machine shared with
     * other jobs, two threads made n = 2000 runs 3.6 times slower than one, so more
     * threads are opt-in. */
    int threads = opt->threads > 0 ? opt->threads : 1;
    so_ot_problem_ p = {s.C != NULL ? s.C : C, NULL, s.n, s.m, s.a, s.b, opt->reg, threads};
    so_ot_run_ run = {0};
    run.f = calloc(s.n + s.m, sizeof *run.f);
    double *plan = malloc(s.n * s.m * sizeof *plan);
    if (run.f == NULL || plan == NULL)
        status = so_fail_(SO_ERR_NOMEM, "ot: out of memory for a %zu x %zu plan", s.n, s.m);
    else {
        run.g = run.f + s.n;
        status = dispatch(&p, opt, &run, plan, result);
    }
    if (status == SO_OK) {
        plan_and_objective(&p, result, &run, plan, &result->cost, &result->objective);
        status = assemble(&s, n, m, &run, plan, opt->want_plan, result);
    }
    if (status == SO_OK) {
        result->n = n;
        result->m = m;
        result->marginal_error = run.error;
        result->iterations = run.iterations;
        result->newton_steps = run.newton_steps;
        result->status = status = run.converged ? SO_OK : SO_NOT_CONVERGED;
    } else {
        so_ot_result_clear(result);
    }
    so_free_aligned_(p.Ct);
    free(run.f);
    free(plan);
    support_free(&s);
    return status;
}
