/* Last-iterate convergence of composite stochastic mirror descent: slopes of
 * log E[F(x_T) - F*] against log T for T = 1e3 .. 1e5 over many seeds, with bootstrap
 * confidence intervals, next to the rates of Liu and Zhou (2023): T^{-1/2} (convex,
 * Lipschitz), T^{-1} (strongly convex) and T^{1/p - 1} (noise with only a p-th moment).
 *
 * Part 1, instances on which the bounds are attained: F(x) = c |x| on the box [-1, 1]
 * (non-smooth, sharp minimum at 0) with additive gradient noise. Gaussian noise with the
 * eta/sqrt(t) rule; the known-T rule on the fixed instance and on the minimax
 * lower-bound family c = 1/sqrt(T); symmetric Lomax and Student-t noise whose tail index
 * is just above p, with the eta/t^{1/p} rule. Also x^2/2 with the 1/(mu t) rule.
 * Part 2, practical examples that are easier than the worst case: l1- and
 * l2-regularized logistic regression on heart_scale, and a quadratic on the probability
 * simplex with the entropy map.
 *
 * Usage: bench_last_iterate [HEART_SCALE [SEEDS [HEAVY_SEEDS]]]
 *   (defaults: tests/data/heart_scale, 20 seeds for the
 *   practical rows and 10 times as many for the Gaussian rows of part 1, 4000 seeds for
 *   the heavy-tailed rows) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/mirror.h"

#define DEFAULT_HEART "tests/data/heart_scale"
enum { NCHECK = 7, SIMPLEX_DIM = 10 };
static const long checkpoints[NCHECK] = {1000, 2000, 5000, 10000, 20000, 50000, 100000};

typedef struct problem {
    size_t n, d;       /* rows and columns (the last column is a constant 1) */
    double *a, *y;     /* logistic data; for the simplex problem a is Q (d x d), y is c */
    int simplex;
    int abs_value;     /* F(x) = drift |x| in one dimension, F* = 0 */
    int quadratic;     /* F(x) = drift x^2 / 2 in one dimension (mu = drift), F* = 0 */
    int minimax;       /* abs_value with drift = 1 / sqrt(T) for horizon T */
    double drift;
    so_smd_config cfg; /* map, composite term and step rule */
    so_noise noise;    /* added to each coordinate of the stochastic gradient */
    double f_star;
} problem;

static int load_heart(const char *path, problem *p)
{
    so_dataset *ds = NULL;
    so_read_options ro = so_read_options_default();
    if (so_libsvm_read(path, &ro, &ds) != SO_OK)
        return -1;
    p->n = ds->n;
    p->d = ds->d + 1;
    p->a = calloc(p->n * p->d, sizeof *p->a);
    p->y = calloc(p->n, sizeof *p->y);
    for (size_t i = 0; p->a && p->y && i < p->n; i++) {
        double *row = p->a + i * p->d;
        if (ds->kind == SO_FEATURES_CSR)
            for (size_t k = ds->row_ptr[i]; k < ds->row_ptr[i + 1]; k++)
                row[ds->col[k]] = ds->val[k];
        else if (ds->kind == SO_FEATURES_F32)
            for (size_t j = 0; j < ds->d; j++)
                row[j] = ds->x_f32[i * ds->d + j];
        row[p->d - 1] = 1.0;
        p->y[i] = ds->target[i] > 0 ? 1.0 : -1.0;
    }
    so_dataset_free(&ds);
    return p->a && p->y ? 0 : -1;
}

static double dot(size_t d, const double *a, const double *b)
{
    double s = 0;
    for (size_t j = 0; j < d; j++)
        s += a[j] * b[j];
    return s;
}

/* Smooth part: mean logistic loss, or x'Qx/2 + c'x on the simplex. */
static double smooth_value(const problem *p, const double *x)
{
    double s = 0;
    if (p->simplex) {
        for (size_t i = 0; i < p->d; i++)
            s += x[i] * (0.5 * dot(p->d, p->a + i * p->d, x) + p->y[i]);
        return s;
    }
    for (size_t i = 0; i < p->n; i++) {
        double m = -p->y[i] * dot(p->d, p->a + i * p->d, x);
        s += m > 0 ? m + log1p(exp(-m)) : log1p(exp(m));
    }
    return s / (double)p->n;
}

static double objective(const problem *p, const double *x)
{
    double h = 0;
    if (p->abs_value)
        return p->drift * fabs(x[0]);
    if (p->quadratic)
        return 0.5 * p->drift * x[0] * x[0];
    for (size_t j = 0; j < p->d; j++) {
        if (p->cfg.composite == SO_COMPOSITE_L1)
            h += p->cfg.reg * fabs(x[j]);
        if (p->cfg.composite == SO_COMPOSITE_L2SQ)
            h += 0.5 * p->cfg.reg * x[j] * x[j];
    }
    return smooth_value(p, x) + h;
}

/* Gradient of one sampled row (row < 0: the full gradient). */
static void gradient(const problem *p, long row, const double *x, double *g)
{
    if (p->abs_value) {
        g[0] = p->drift * (double)((x[0] > 0) - (x[0] < 0));
        return;
    }
    if (p->quadratic) {
        g[0] = p->drift * x[0];
        return;
    }
    if (p->simplex) {
        for (size_t i = 0; i < p->d; i++)
            g[i] = dot(p->d, p->a + i * p->d, x) + p->y[i];
        return;
    }
    memset(g, 0, p->d * sizeof *g);
    size_t lo = row < 0 ? 0 : (size_t)row, hi = row < 0 ? p->n : (size_t)row + 1;
    for (size_t i = lo; i < hi; i++) {
        const double *a = p->a + i * p->d;
        double m = p->y[i] * dot(p->d, a, x), s = -p->y[i] / (1.0 + exp(m));
        for (size_t j = 0; j < p->d; j++)
            g[j] += s * a[j] / (double)(hi - lo);
    }
}

/* F* from 50000 deterministic composite steps with a constant step below 1/L. */
static double reference_optimum(problem *p, const double *x0)
{
    so_smd_config c = p->cfg;
    so_smd *s = NULL;
    double *g = calloc(p->d, sizeof *g), best = INFINITY;
    c.rule = SO_STEP_CONSTANT;
    c.eta = 0.25;
    if (!g || so_smd_new(&c, x0, &s) != SO_OK) {
        free(g);
        return NAN;
    }
    for (long t = 0; t < 50000; t++) {
        gradient(p, -1, so_smd_last(s), g);
        so_smd_step(s, g);
    }
    best = objective(p, so_smd_last(s));
    so_smd_free(&s);
    free(g);
    return best;
}

/* Runs one seed for `steps` steps and adds F(x_T) - F* at each checkpoint T <= steps
 * (or only at T = steps when only_end) into gap[]. */
static int run_seed(const problem *p, const so_smd_config *cfg, const double *x0,
                    uint64_t seed, long steps, int only_end, double *gap)
{
    so_smd *s = NULL;
    so_rng rng;
    double *g = calloc(p->d, sizeof *g);
    int k = 0, st = g ? so_smd_new(cfg, x0, &s) : SO_ERR_NOMEM;
    so_rng_init(&rng, seed, 0);
    for (long t = 1; st == SO_OK && t <= steps; t++) {
        long row = p->simplex || p->abs_value || p->quadratic ? -1 : (long)so_rng_below(&rng, p->n);
        gradient(p, row, so_smd_last(s), g);
        for (size_t j = 0; j < p->d; j++)
            g[j] += so_noise_draw(&p->noise, &rng);
        st = so_smd_step(s, g);
        while (k < NCHECK && checkpoints[k] < t)
            k++;
        if (st == SO_OK && k < NCHECK && checkpoints[k] == t && (!only_end || t == steps))
            gap[k] += objective(p, so_smd_last(s)) - p->f_star;
    }
    so_smd_free(&s);
    free(g);
    return st;
}

/* Fits the least-squares slope of log(gap) against log(T). With divide_log, the fit uses
 * log(gap / log T), which removes a log T factor of the bound. */
static double loglog_slope(const double *gap, int divide_log)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = 0; k < NCHECK; k++) {
        double lx = log((double)checkpoints[k]), ly = log(gap[k]);
        if (divide_log)
            ly -= log(lx);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
    }
    return (NCHECK * sxy - sx * sy) / (NCHECK * sxx - sx * sx);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double sorted_median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Computes the mean and median over seeds of the gap at each checkpoint. The median shows
 * the typical run when heavy-tailed noise lets a few runs dominate the mean. */
static int summarize(const double *per_seed, long seeds, double *mean, double *median)
{
    double *col = malloc((size_t)seeds * sizeof *col);
    if (!col)
        return -1;
    for (int k = 0; k < NCHECK; k++) {
        mean[k] = 0;
        for (long s = 0; s < seeds; s++)
            mean[k] += per_seed[s * NCHECK + k] / (double)seeds;
        for (long s = 0; s < seeds; s++)
            col[s] = per_seed[s * NCHECK + k];
        median[k] = sorted_median(col, seeds);
    }
    free(col);
    return 0;
}

enum { BOOT = 2000 };

/* Computes a 95% percentile bootstrap interval for the slope of the mean gap. Whole seeds
 * are resampled, because the checkpoints of one seed come from one run. */
static int bootstrap_slope(const double *per_seed, long seeds, double ci[2])
{
    double *slopes = malloc(BOOT * sizeof *slopes), mean[NCHECK];
    so_rng rng;
    if (!slopes)
        return -1;
    so_rng_init(&rng, 2023, 7);
    for (int b = 0; b < BOOT; b++) {
        memset(mean, 0, sizeof mean);
        for (long i = 0; i < seeds; i++) {
            const double *row = per_seed + (long)so_rng_below(&rng, (uint64_t)seeds) * NCHECK;
            for (int k = 0; k < NCHECK; k++)
                mean[k] += row[k];
        }
        slopes[b] = loglog_slope(mean, 0); /* a common factor 1/seeds leaves the slope */
    }
    qsort(slopes, BOOT, sizeof *slopes, by_value);
    ci[0] = slopes[(int)(0.025 * BOOT)];
    ci[1] = slopes[(int)(0.975 * BOOT) - 1];
    free(slopes);
    return 0;
}

/* Runs and prints one table row. has_log adds the slope with log T divided out. judged
 * compares the slope with the theory, and practical examples print "n/a" instead. */
static int experiment(const char *name, const char *rule, problem *p, const double *x0,
                      long seeds, double expected, int has_log, int judged)
{
    double *gap = calloc((size_t)seeds * NCHECK, sizeof *gap), mean[NCHECK], med[NCHECK];
    double t0 = so_time_now(), ci[2];
    int per_t = p->cfg.rule == SO_STEP_LINEAR_DECAY || p->minimax;
    if (!gap)
        return -1;
    for (long seed = 0; seed < seeds; seed++) {
        int st = SO_OK;
        double *row = gap + seed * NCHECK;
        if (per_t)
            for (int k = 0; k < NCHECK && st == SO_OK; k++) {
                problem q = *p;
                q.cfg.horizon = checkpoints[k];
                if (p->minimax)
                    q.drift = 1.0 / sqrt((double)checkpoints[k]);
                st = run_seed(&q, &q.cfg, x0, (uint64_t)seed, checkpoints[k], 1, row);
            }
        else
            st = run_seed(p, &p->cfg, x0, (uint64_t)seed, checkpoints[NCHECK - 1], 0, row);
        if (st != SO_OK) {
            fprintf(stderr, "bench_last_iterate: %s: %s\n", name, so_last_error());
            free(gap);
            return -1;
        }
    }
    if (summarize(gap, seeds, mean, med) != 0 || bootstrap_slope(gap, seeds, ci) != 0) {
        free(gap);
        return -1;
    }
    double slope = loglog_slope(mean, 0);
    char logcol[16] = "     -";
    const char *within = "n/a";
    if (has_log)
        snprintf(logcol, sizeof logcol, "%6.3f", loglog_slope(mean, 1));
    if (judged)
        within = fabs(slope - expected) <= 0.1 ? "yes" : "no";
    printf("| %-44s | %-18s | %6.3f | %6.3f [%6.3f, %6.3f]  | %6.3f | %s | %-6s | %5ld |",
           name, rule, expected, slope, ci[0], ci[1], loglog_slope(med, 0), logcol,
           within, seeds);
    printf(" %9.3g | %9.3g | %5.1f |\n", mean[0], mean[NCHECK - 1], so_time_now() - t0);
    fflush(stdout);
    free(gap);
    return 0;
}

/* Runs part 1: F(x) = c |x| or x^2 / 2 on [-1, 1] from x0 = 1 (distance D = 1), with
 * eta = 1 = D / G for unit gradient and noise. The box keeps every step below D, which the
 * heavy-tail bound needs. */
static int synthetic_rows(long seeds, long heavy_seeds)
{
    problem p = {0};
    const double x0[1] = {1.0};
    struct {
        const char *name, *rule;
        so_step_rule step;
        int minimax;
        so_noise noise;
        double p, expected;
        int has_log, heavy;
    } rows[] = {
        {"abs(x), Gaussian", "eta/sqrt(t)", SO_STEP_SQRT, 0, {SO_NOISE_GAUSSIAN, 1.0, 0}, 2,
         -0.5, 1, 0},
        {"abs(x), Gaussian", "eta(T-t+1)/T^1.5", SO_STEP_LINEAR_DECAY, 0,
         {SO_NOISE_GAUSSIAN, 1.0, 0}, 2, -0.5, 0, 0},
        {"abs(x)/sqrt(T) (minimax family), Gaussian", "eta(T-t+1)/T^1.5", SO_STEP_LINEAR_DECAY,
         1, {SO_NOISE_GAUSSIAN, 1.0, 0}, 2, -0.5, 0, 0},
        {"x^2/2 (mu = 1), Gaussian", "1/(mu t)", SO_STEP_STRONG, 0,
         {SO_NOISE_GAUSSIAN, 1.0, 0}, 2, -1.0, 1, 0},
        {"abs(x), Lomax tail 1.55 (p = 1.5)", "eta/t^(1/1.5)", SO_STEP_HEAVY_TAIL, 0,
         {SO_NOISE_LOMAX, 1.0, 1.55}, 1.5, -(1 - 1 / 1.5), 1, 1},
        {"abs(x), Student-t(1.55) (p = 1.5)", "eta/t^(1/1.5)", SO_STEP_HEAVY_TAIL, 0,
         {SO_NOISE_STUDENT_T, 1.0, 1.55}, 1.5, -(1 - 1 / 1.5), 1, 1},
        {"abs(x), Lomax tail 1.85 (p = 1.8)", "eta/t^(1/1.8)", SO_STEP_HEAVY_TAIL, 0,
         {SO_NOISE_LOMAX, 1.0, 1.85}, 1.8, -(1 - 1 / 1.8), 1, 1},
    };
    p.n = p.d = 1;
    p.drift = 1.0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        p.cfg = so_smd_config_default(1);
        p.cfg.composite = SO_COMPOSITE_BOX;
        p.cfg.lo = -1.0;
        p.cfg.hi = 1.0;
        p.cfg.rule = rows[r].step;
        p.cfg.eta = 1.0;
        p.cfg.p = rows[r].p;
        p.cfg.mu = 1.0;
        p.minimax = rows[r].minimax;
        p.abs_value = rows[r].step != SO_STEP_STRONG;
        p.quadratic = rows[r].step == SO_STEP_STRONG;
        p.noise = rows[r].noise;
        p.f_star = 0.0;
        if (experiment(rows[r].name, rows[r].rule, &p, x0, rows[r].heavy ? heavy_seeds : seeds,
                       rows[r].expected, rows[r].has_log, 1) != 0)
            return -1;
    }
    return 0;
}

static void make_simplex_problem(problem *p)
{
    const size_t d = SIMPLEX_DIM;
    double b[SIMPLEX_DIM * SIMPLEX_DIM];
    so_rng rng;
    so_rng_init(&rng, 12345, 0);
    p->simplex = 1;
    p->n = d;
    p->d = d;
    p->a = calloc(d * d, sizeof *p->a);
    p->y = calloc(d, sizeof *p->y);
    for (size_t i = 0; i < d * d; i++)
        b[i] = so_rng_normal(&rng);
    /* Q = B'B / (4d) has its largest eigenvalue near 1, so the reference step 0.25 is
     * below 1/L. */
    for (size_t i = 0; p->a && i < d; i++)
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < d; k++)
                p->a[i * d + j] += b[k * d + i] * b[k * d + j] / (4.0 * (double)d);
    /* c = kappa 1 - Q x* makes the gradient at an interior x* a multiple of 1, so x* is
     * the minimizer on the simplex. An interior optimum keeps the entropy map away from
     * the faces, where it would converge geometrically and hide the noise-driven rate. */
    double xs[SIMPLEX_DIM], sum = 0;
    for (size_t i = 0; i < d; i++)
        sum += xs[i] = 0.5 + so_rng_uniform(&rng);
    for (size_t i = 0; p->a && p->y && i < d; i++) {
        double qx = 0;
        for (size_t j = 0; j < d; j++)
            qx += p->a[i * d + j] * xs[j] / sum;
        p->y[i] = 0.3 - qx;
    }
}

static int heart_rows(problem *heart, long seeds)
{
    double x0[64] = {0};
    problem p = *heart;
    const so_noise gauss = {SO_NOISE_GAUSSIAN, 1.0, 0};
    struct {
        const char *name, *rule;
        so_composite comp;
        double reg;
        so_step_rule step;
        double eta, p, dof, expected;
        int has_log;
    } rows[] = {
        {"heart l1 logistic, Gaussian", "eta/sqrt(t)", SO_COMPOSITE_L1, 0.01, SO_STEP_SQRT,
         0.5, 2, 0, -0.5, 1},
        {"heart l1 logistic, Gaussian", "eta(T-t+1)/T^1.5", SO_COMPOSITE_L1, 0.01,
         SO_STEP_LINEAR_DECAY, 2.0, 2, 0, -0.5, 0},
        {"heart l2 logistic (mu 0.1), Gaussian", "1/(mu t)", SO_COMPOSITE_L2SQ, 0.1,
         SO_STEP_STRONG, 0, 2, 0, -1.0, 1},
        {"heart l1 logistic, t(1.6)", "eta/t^(1/1.5)", SO_COMPOSITE_L1, 0.01,
         SO_STEP_HEAVY_TAIL, 0.5, 1.5, 1.6, -(1 - 1 / 1.5), 1},
        {"heart l1 logistic, t(2.0)", "eta/t^(1/1.5)", SO_COMPOSITE_L1, 0.01,
         SO_STEP_HEAVY_TAIL, 0.5, 1.5, 2.0, -(1 - 1 / 1.5), 1},
        {"heart l1 logistic, t(1.9)", "eta/t^(1/1.8)", SO_COMPOSITE_L1, 0.01,
         SO_STEP_HEAVY_TAIL, 0.5, 1.8, 1.9, -(1 - 1 / 1.8), 1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        p.cfg = so_smd_config_default(p.d);
        p.cfg.composite = rows[r].comp;
        p.cfg.reg = rows[r].reg;
        p.cfg.mu = rows[r].reg;
        p.cfg.smooth_l = 3.5; /* max |a_i|^2 / 4 on heart_scale with the bias column */
        p.cfg.rule = rows[r].step;
        p.cfg.eta = rows[r].eta > 0 ? rows[r].eta : 1.0;
        p.cfg.p = rows[r].p;
        p.noise = gauss;
        if (rows[r].dof > 0)
            p.noise = (so_noise){SO_NOISE_STUDENT_T, 0.3, rows[r].dof};
        p.f_star = reference_optimum(&p, x0);
        /* The strongly convex row is judged: its bound is attained on this problem. */
        if (experiment(rows[r].name, rows[r].rule, &p, x0, seeds, rows[r].expected,
                       rows[r].has_log, rows[r].step == SO_STEP_STRONG) != 0)
            return -1;
    }
    return 0;
}

static int simplex_rows(long seeds)
{
    problem p = {0};
    double x0[SIMPLEX_DIM];
    make_simplex_problem(&p);
    if (!p.a || !p.y)
        return -1;
    for (size_t i = 0; i < SIMPLEX_DIM; i++)
        x0[i] = 1.0 / SIMPLEX_DIM;
    p.cfg = so_smd_config_default(SIMPLEX_DIM);
    p.cfg.composite = SO_COMPOSITE_SIMPLEX;
    p.f_star = reference_optimum(&p, x0); /* Euclidean projected gradient */
    p.cfg.map = SO_MIRROR_ENTROPY;
    p.cfg.eta = 0.5;
    p.noise = (so_noise){SO_NOISE_GAUSSIAN, 1.0, 0};
    int st = experiment("simplex quadratic, entropy, Gaussian", "eta/sqrt(t)", &p, x0, seeds,
                        -0.5, 1, 0);
    p.cfg.rule = SO_STEP_HEAVY_TAIL;
    p.cfg.p = 1.5;
    p.noise = (so_noise){SO_NOISE_STUDENT_T, 1.0, 1.6};
    if (st == 0)
        st = experiment("simplex quadratic, entropy, t(1.6)", "eta/t^(1/1.5)", &p, x0, seeds,
                        -(1 - 1 / 1.5), 1, 0);
    free(p.a);
    free(p.y);
    return st;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : DEFAULT_HEART;
    long seeds = argc > 2 ? atol(argv[2]) : 20, heavy = argc > 3 ? atol(argv[3]) : 4000;
    problem heart = {0};
    if (seeds < 1 || heavy < 1 || load_heart(path, &heart) != 0) {
        fprintf(stderr, "bench_last_iterate: %s\nusage: bench_last_iterate [HEART_SCALE "
                "[SEEDS [HEAVY_SEEDS]]]\n", seeds < 1 || heavy < 1 ?
                "SEEDS and HEAVY_SEEDS must be >= 1" : so_last_error());
        return 2;
    }
    printf("Slopes of log(gap) against log(T) for T = 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5; gap = "
           "F(x_T) - F*, mean or median over seeds; 95%% percentile bootstrap interval over "
           "seeds (%d resamples); /log T: the mean's slope with a log T factor divided out, "
           "where the theorem has one.\n\n", BOOT);
    printf("| problem, noise                               | step rule          | theory |"
           " mean slope [95%% CI]      | median | /log T | within | seeds |"
           " gap T=1e3 | gap T=1e5 | sec   |\n");
    printf("|----------------------------------------------|--------------------|--------|"
           "--------------------------|--------|--------|--------|-------|"
           "-----------|-----------|-------|\n");
    int st = synthetic_rows(10 * seeds, heavy);
    if (st == 0)
        st = heart_rows(&heart, seeds);
    if (st == 0)
        st = simplex_rows(seeds);
    free(heart.a);
    free(heart.y);
    return st == 0 ? 0 : 1;
}
