/* SSO against SGD and SLS: expensive gradients needed to reach a target loss.
 *
 *   bench_sso [HEART_SCALE [CURVE_DIR [SCHEDULE]]]
 *
 * The problems are heart_scale (LIBSVM, 270 rows, 13 features, by default read from
 * tests/data/heart_scale) and a synthetic sparse LIBSVM
 * set (2000 rows, 200 features, 10 stored values per row, labels +-1 from a noisy linear
 * rule). Each is fitted with the logistic and the squared loss and an intercept. A
 * third, synthetic dense set (1000 rows, 20 features, 4 overlapping classes) is fitted
 * with the softmax loss. The optimum
 * L* comes from so_sso_solve_full (Newton or LAPACKE_dgels), and the target is
 * L <= 1.01 L*. Every method runs with batch 25 for BUDGET outer steps from theta = 0
 * with seeds 0..4; each step size in a small grid is tried, and the table reports
 * the grid value with the smallest mean count among those that reach the target with
 * every seed (else with the most seeds). The program prints Markdown tables. With
 * CURVE_DIR it also writes CSV files sso-PROBLEM-LOSS.csv for bench/plot_sso.py. They
 * contain, for each reported row, the mean gap L - L* over the seeds after each
 * expensive gradient, and that gap divided by L*. SCHEDULE is "constant", "sqrt" or
 * "both" (the default). With "constant" every method keeps its step
 * (SO_SSO_SCHEDULE_CONSTANT). With "sqrt" outer step t uses eta / sqrt(t) for SSO and
 * alpha / sqrt(t) for SGD and SLS (SO_SSO_SCHEDULE_SQRT), and the grids of initial values
 * go two values higher for SGD and SSO. "both" prints all constant tables, then all sqrt
 * tables, and the sqrt curves go to sso-PROBLEM-LOSS-sqrt.csv.
 * SCHEDULE "long" instead runs a few methods with the sqrt schedule for LONG_BUDGET steps
 * (seed 0) on the synthetic sparse set with the logistic loss, and prints the mean
 * relative gap over the last tenth of the first 1000, 2000, 5000, 10000 and 20000 steps,
 * to tell a gap that keeps shrinking from one that levels off. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/sso.h"

enum { SEEDS = 5, BUDGET = 2000, BATCH = 25, MAX_GRID = 12, LONG_BUDGET = 20000 };

typedef struct config {
    const char *label;   /* "SGD", "SLS", "SSO m=10" */
    so_sso_method method;
    long m;
    const double *grid;  /* values of alpha (SGD, SLS) or eta (SSO) */
    size_t grid_count;
} config;

typedef struct outcome {
    double step;          /* grid value */
    int reached;          /* seeds that reached the target */
    double mean, spread;  /* mean and standard deviation of the count over those seeds */
    double cheap_mean;    /* mean cheap gradients at the hit */
    double *gap;          /* BUDGET + 1 mean gaps over seeds */
} outcome;

static void fail(const char *context)
{
    fprintf(stderr, "bench_sso: %s failed: %s\n", context, so_last_error());
    exit(1);
}

/* Runs one grid value over all seeds and summarizes the hits. */
static void run_value(const so_sso_problem *p, const config *c, double value, double best,
                      so_sso_schedule schedule, outcome *out, so_sso_record *history)
{
    size_t params = so_sso_problem_params(p);
    double *theta = malloc(params * sizeof *theta);
    double counts[SEEDS], cheap[SEEDS];
    if (theta == NULL)
        fail("allocation");
    memset(out->gap, 0, (BUDGET + 1) * sizeof *out->gap);
    out->step = value;
    out->reached = 0;
    for (int seed = 0; seed < SEEDS; seed++) {
        so_sso_options o = so_sso_options_default();
        o.method = c->method;
        o.batch_size = BATCH;
        o.outer_iters = BUDGET;
        o.seed = (uint64_t)seed;
        o.schedule = schedule;
        if (c->method == SO_SSO_METHOD_SSO) {
            o.inner_steps = c->m;
            o.eta = value;
            o.inner = SO_SSO_INNER_ARMIJO;
            o.alpha = 100.0;
        } else {
            o.alpha = value;
        }
        memset(theta, 0, params * sizeof *theta);
        so_sso_result r;
        int status = so_sso_run(p, &o, theta, history, BUDGET + 1, &r);
        if (status != SO_OK && status != SO_ERR_NONFINITE)
            fail(c->label);
        /* A diverged run keeps its last gap, so the mean stays finite and large. */
        for (size_t t = 0; t <= BUDGET; t++) {
            size_t row = t < r.history_count ? t : r.history_count - 1;
            double gap = status == SO_OK ? history[row].loss - best : 1e3;
            out->gap[t] += gap / SEEDS;
        }
        for (size_t t = 0; status == SO_OK && t < r.history_count; t++) {
            if (history[t].loss <= 1.01 * best) {
                counts[out->reached] = (double)history[t].expensive_grads;
                cheap[out->reached] = (double)history[t].cheap_grads;
                out->reached++;
                break;
            }
        }
    }
    double sum = 0.0, sq = 0.0, cheap_sum = 0.0;
    for (int k = 0; k < out->reached; k++) {
        sum += counts[k];
        cheap_sum += cheap[k];
    }
    out->mean = out->reached ? sum / out->reached : INFINITY;
    out->cheap_mean = out->reached ? cheap_sum / out->reached : INFINITY;
    for (int k = 0; k < out->reached; k++)
        sq += (counts[k] - out->mean) * (counts[k] - out->mean);
    out->spread = out->reached > 1 ? sqrt(sq / (out->reached - 1)) : 0.0;
    free(theta);
}

static int better(const outcome *a, const outcome *b)
{
    if (a->reached != b->reached)
        return a->reached > b->reached;
    if (a->reached > 0)
        return a->mean < b->mean;
    return a->gap[BUDGET] < b->gap[BUDGET];
}

static void write_curve(FILE *csv, const char *label, const double *gap, double best)
{
    /* Every step up to 50, then about 40 points per decade. */
    double next = 0.0;
    for (size_t t = 0; t <= BUDGET; t++) {
        if ((double)t < next && t != BUDGET)
            continue;
        fprintf(csv, "%s,%zu,%.6e,%.6e\n", label, t, gap[t], gap[t] / best);
        next = t < 50 ? (double)t + 1 : (double)t * 1.06;
    }
}

/* Prints, for every grid value and method, the mean relative gap over steps 1800..2000
 * and the seeds that reached the target, as one Markdown table with a row per value. */
static void print_floors(const config *configs, size_t count, double floor_gap[][MAX_GRID],
                         int floor_reached[][MAX_GRID])
{
    static const double values[] = {1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1,
                                    3,    10,   30,   100,  300, 1000};
    printf("\nMean relative gap (L - L*) / L* over steps %d..%d, and seeds that reached "
           "the target, per step value:\n\n| step |", BUDGET - BUDGET / 10, BUDGET);
    for (size_t c = 0; c < count; c++)
        printf(" %s |", configs[c].label);
    printf("\n|---|");
    for (size_t c = 0; c < count; c++)
        printf("---|");
    printf("\n");
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        printf("| %g |", values[v]);
        for (size_t c = 0; c < count; c++) {
            size_t g = 0;
            while (g < configs[c].grid_count && configs[c].grid[g] != values[v])
                g++;
            if (g == configs[c].grid_count)
                printf(" |");
            else if (floor_gap[c][g] >= 1.0)
                printf(" >= 1 (%d) |", floor_reached[c][g]);
            else
                printf(" %.1e (%d) |", floor_gap[c][g], floor_reached[c][g]);
        }
        printf("\n");
    }
}

static void bench_problem(const char *name, const char *slug, const so_dataset *ds,
                          so_sso_loss loss, const char *curve_dir, so_sso_schedule schedule)
{
    /* The sqrt schedule starts from larger steps, so its grids go two values further up. */
    static const double sgd_grid[] = {1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3, 10, 30, 100};
    static const double sls_grid[] = {0.1, 1, 10, 100, 1000};
    static const double eta_grid[] = {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300};
    size_t extra = schedule == SO_SSO_SCHEDULE_SQRT ? 2 : 0;
    const config configs[] = {
        {"SGD", SO_SSO_METHOD_SGD, 0, sgd_grid, 9 + extra},
        {"SLS", SO_SSO_METHOD_SLS, 0, sls_grid, 5},
        {"SSO m=1", SO_SSO_METHOD_SSO, 1, eta_grid, 8 + extra},
        {"SSO m=5", SO_SSO_METHOD_SSO, 5, eta_grid, 8 + extra},
        {"SSO m=10", SO_SSO_METHOD_SSO, 10, eta_grid, 8 + extra},
        {"SSO m=100", SO_SSO_METHOD_SSO, 100, eta_grid, 8 + extra},
    };
    so_sso_problem *p = NULL;
    if (so_sso_problem_from_dataset(&p, ds, loss, 1) != SO_OK)
        fail(name);
    size_t params = so_sso_problem_params(p);
    double *opt = malloc(params * sizeof *opt), best;
    so_sso_record *history = malloc((BUDGET + 1) * sizeof *history);
    outcome cur = {0}, top = {0};
    /* Per config and grid value: mean relative gap over the last tenth of the steps,
     * and the seeds that reached the target. */
    double floor_gap[6][MAX_GRID];
    int floor_reached[6][MAX_GRID];
    cur.gap = malloc((BUDGET + 1) * sizeof(double));
    top.gap = malloc((BUDGET + 1) * sizeof(double));
    if (opt == NULL || history == NULL || cur.gap == NULL || top.gap == NULL)
        fail("allocation");
    if (so_sso_solve_full(p, 1e-10, opt, &best) != SO_OK)
        fail("so_sso_solve_full");

    const char *loss_name = loss == SO_SSO_SQUARED    ? "squared"
                            : loss == SO_SSO_LOGISTIC ? "logistic"
                                                      : "softmax";
    int sqrt_schedule = schedule == SO_SSO_SCHEDULE_SQRT;
    printf("\n### %s, %s loss, %s: L* = %.10g, target L <= 1.01 L*\n\n", name, loss_name,
           sqrt_schedule ? "step / sqrt(t)" : "constant step", best);
    printf("| method | best step | reached | expensive gradients to target (mean +- sd) "
           "| cheap gradients to target | final gap L - L* |\n");
    printf("|---|---|---|---|---|---|\n");
    FILE *csv = NULL;
    if (curve_dir != NULL) {
        char path[1024];
        snprintf(path, sizeof path, "%s/sso-%s-%s%s.csv", curve_dir, slug, loss_name,
                 sqrt_schedule ? "-sqrt" : "");
        csv = fopen(path, "w");
        if (csv == NULL) {
            fprintf(stderr, "bench_sso: cannot write %s\n", path);
            exit(1);
        }
        fprintf(csv, "method,expensive_grads,gap,relative_gap\n");
    }
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        top.reached = -1;
        for (size_t g = 0; g < configs[c].grid_count; g++) {
            run_value(p, &configs[c], configs[c].grid[g], best, schedule, &cur, history);
            double tail = 0.0;
            for (size_t t = BUDGET - BUDGET / 10; t <= BUDGET; t++)
                tail += cur.gap[t];
            floor_gap[c][g] = tail / (double)(BUDGET / 10 + 1) / best;
            floor_reached[c][g] = cur.reached;
            if (top.reached < 0 || better(&cur, &top)) {
                double *keep = top.gap;
                top = cur;
                cur.gap = keep;
            }
        }
        printf("| %s | %s = %g | %d/%d | ", configs[c].label,
               configs[c].method == SO_SSO_METHOD_SSO ? "eta" : "alpha", top.step,
               top.reached, SEEDS);
        if (top.reached > 0)
            printf("%.1f +- %.1f | %.0f | %.2e |\n", top.mean, top.spread, top.cheap_mean,
                   top.gap[BUDGET]);
        else
            printf("not within %d | - | %.2e |\n", BUDGET, top.gap[BUDGET]);
        if (csv != NULL)
            write_curve(csv, configs[c].label, top.gap, best);
    }
    if (csv != NULL)
        fclose(csv);
    print_floors(configs, sizeof configs / sizeof configs[0], floor_gap, floor_reached);
    free(opt);
    free(history);
    free(cur.gap);
    free(top.gap);
    so_sso_problem_free(&p);
}

/* A sparse LIBSVM set: n rows of `nnz` N(0, 1) values in random columns, label the sign
 * of x . w + 0.5 + N(0, 1) noise with w_j = N(0, 1) / sqrt(nnz). */
static so_dataset *synthetic_sparse(size_t n, size_t d, size_t nnz)
{
    so_rng rng;
    so_rng_init(&rng, 2023, 0);
    double *w = malloc(d * sizeof *w);
    size_t cap = n * (nnz * 32 + 8) + 1, len = 0;
    char *text = malloc(cap);
    uint32_t *cols = malloc(d * sizeof *cols);
    if (w == NULL || text == NULL || cols == NULL)
        fail("allocation");
    for (size_t j = 0; j < d; j++)
        w[j] = so_rng_normal(&rng) / sqrt((double)nnz);
    for (size_t i = 0; i < n; i++) {
        double vals[64], t = 0.5;
        for (size_t j = 0; j < d; j++)
            cols[j] = (uint32_t)j;
        /* The first nnz entries of a shuffled index list, sorted. */
        so_rng_shuffle(&rng, cols, d);
        for (size_t a = 1; a < nnz; a++)
            for (size_t b = a; b > 0 && cols[b - 1] > cols[b]; b--) {
                uint32_t tmp = cols[b];
                cols[b] = cols[b - 1];
                cols[b - 1] = tmp;
            }
        for (size_t k = 0; k < nnz; k++) {
            vals[k] = so_rng_normal(&rng);
            t += vals[k] * w[cols[k]];
        }
        t += so_rng_normal(&rng);
        len += (size_t)snprintf(text + len, cap - len, "%d", t >= 0.0 ? 1 : -1);
        for (size_t k = 0; k < nnz; k++)
            len += (size_t)snprintf(text + len, cap - len, " %u:%.6f", cols[k] + 1, vals[k]);
        len += (size_t)snprintf(text + len, cap - len, "\n");
    }
    so_read_options ro = so_read_options_default();
    ro.num_features = d;
    so_dataset *ds = NULL;
    if (so_libsvm_parse(text, len, "synthetic.svm", &ro, &ds) != SO_OK)
        fail("synthetic set");
    free(w);
    free(text);
    free(cols);
    return ds;
}

/* A dense LIBSVM set with `classes` labels: the argmax over c of x . w_c + 2 N(0, 1)
 * noise, with x and w_c standard normal (w_c scaled by 1/sqrt(d)), so the classes
 * overlap and the softmax minimizer exists. */
static so_dataset *synthetic_multiclass(size_t n, size_t d, size_t classes)
{
    so_rng rng;
    so_rng_init(&rng, 2024, 0);
    double *w = malloc(classes * d * sizeof *w), *x = malloc(d * sizeof *x);
    size_t cap = n * (d * 32 + 8) + 1, len = 0;
    char *text = malloc(cap);
    if (w == NULL || x == NULL || text == NULL)
        fail("allocation");
    for (size_t j = 0; j < classes * d; j++)
        w[j] = so_rng_normal(&rng) / sqrt((double)d);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            x[j] = so_rng_normal(&rng);
        size_t label = 0;
        double top = -INFINITY;
        for (size_t c = 0; c < classes; c++) {
            double t = 2.0 * so_rng_normal(&rng);
            for (size_t j = 0; j < d; j++)
                t += x[j] * w[c * d + j];
            if (t > top) {
                top = t;
                label = c;
            }
        }
        len += (size_t)snprintf(text + len, cap - len, "%zu", label);
        for (size_t j = 0; j < d; j++)
            len += (size_t)snprintf(text + len, cap - len, " %zu:%.6f", j + 1, x[j]);
        len += (size_t)snprintf(text + len, cap - len, "\n");
    }
    so_read_options ro = so_read_options_default();
    so_dataset *ds = NULL;
    if (so_libsvm_parse(text, len, "multiclass.svm", &ro, &ds) != SO_OK)
        fail("multiclass set");
    free(w);
    free(x);
    free(text);
    return ds;
}

/* One long run with the sqrt schedule: prints the mean relative gap over the last tenth
 * of the first 1000, 2000, 5000, 10000 and LONG_BUDGET steps. */
static void long_run(const so_sso_problem *p, double best, const char *label,
                     so_sso_method method, long m, double step)
{
    size_t params = so_sso_problem_params(p);
    double *theta = calloc(params, sizeof *theta);
    so_sso_record *history = malloc((LONG_BUDGET + 1) * sizeof *history);
    if (theta == NULL || history == NULL)
        fail("allocation");
    so_sso_options o = so_sso_options_default();
    o.method = method;
    o.batch_size = BATCH;
    o.outer_iters = LONG_BUDGET;
    o.schedule = SO_SSO_SCHEDULE_SQRT;
    if (method == SO_SSO_METHOD_SSO) {
        o.inner_steps = m;
        o.eta = step;
        o.inner = SO_SSO_INNER_ARMIJO;
        o.alpha = 100.0;
    } else {
        o.alpha = step;
    }
    if (so_sso_run(p, &o, theta, history, LONG_BUDGET + 1, NULL) != SO_OK)
        fail(label);
    static const long marks[] = {1000, 2000, 5000, 10000, LONG_BUDGET};
    printf("| %s | %s = %g |", label, method == SO_SSO_METHOD_SSO ? "eta" : "alpha", step);
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
        double sum = 0.0;
        long first = marks[k] - marks[k] / 10;
        for (long t = first; t <= marks[k]; t++)
            sum += history[t].loss - best;
        printf(" %.2e |", sum / (double)(marks[k] - first + 1) / best);
    }
    printf("\n");
    fflush(stdout);
    free(theta);
    free(history);
}

/* The long runs of the synthetic sparse logistic problem, at the sqrt-schedule steps
 * that did best within BUDGET steps (the smallest gap for SSO with m >= 5). */
static void bench_long(void)
{
    so_dataset *ds = synthetic_sparse(2000, 200, 10);
    so_sso_problem *p = NULL;
    if (so_sso_problem_from_dataset(&p, ds, SO_SSO_LOGISTIC, 1) != SO_OK)
        fail("synthetic set");
    size_t params = so_sso_problem_params(p);
    double *opt = malloc(params * sizeof *opt), best;
    if (opt == NULL)
        fail("allocation");
    if (so_sso_solve_full(p, 1e-10, opt, &best) != SO_OK)
        fail("so_sso_solve_full");
    printf("\n### synthetic sparse, logistic loss, step / sqrt(t), seed 0: mean relative gap "
           "over the last tenth of the first T steps\n\n");
    printf("| method | step | T = 1000 | 2000 | 5000 | 10000 | 20000 |\n");
    printf("|---|---|---|---|---|---|---|\n");
    long_run(p, best, "SGD", SO_SSO_METHOD_SGD, 0, 30.0);
    long_run(p, best, "SSO m=1", SO_SSO_METHOD_SSO, 1, 10.0);
    long_run(p, best, "SSO m=5", SO_SSO_METHOD_SSO, 5, 10.0);
    long_run(p, best, "SSO m=10", SO_SSO_METHOD_SSO, 10, 3.0);
    long_run(p, best, "SSO m=100", SO_SSO_METHOD_SSO, 100, 3.0);
    free(opt);
    so_sso_problem_free(&p);
    so_dataset_free(&ds);
}

static void bench_all(const char *heart, const char *curve_dir, so_sso_schedule schedule)
{
    so_read_options ro = so_read_options_default();
    so_dataset *ds = NULL;
    if (so_dataset_read(heart, SO_FORMAT_LIBSVM, &ro, &ds) != SO_OK)
        fail(heart);
    bench_problem("heart_scale (270 x 13)", "heart", ds, SO_SSO_LOGISTIC, curve_dir,
                  schedule);
    bench_problem("heart_scale (270 x 13)", "heart", ds, SO_SSO_SQUARED, curve_dir, schedule);
    so_dataset_free(&ds);
    ds = synthetic_sparse(2000, 200, 10);
    bench_problem("synthetic sparse (2000 x 200, 10 per row)", "synthetic", ds,
                  SO_SSO_LOGISTIC, curve_dir, schedule);
    bench_problem("synthetic sparse (2000 x 200, 10 per row)", "synthetic", ds,
                  SO_SSO_SQUARED, curve_dir, schedule);
    so_dataset_free(&ds);
    ds = synthetic_multiclass(1000, 20, 4);
    bench_problem("synthetic 4 classes (1000 x 20)", "multiclass", ds, SO_SSO_SOFTMAX,
                  curve_dir, schedule);
    so_dataset_free(&ds);
}

int main(int argc, char **argv)
{
    const char *heart = argc > 1 ? argv[1] : "tests/data/heart_scale";
    const char *curve_dir = argc > 2 ? argv[2] : NULL;
    const char *which = argc > 3 ? argv[3] : "both";
    int constant = strcmp(which, "constant") == 0 || strcmp(which, "both") == 0;
    int root = strcmp(which, "sqrt") == 0 || strcmp(which, "both") == 0;
    if (strcmp(which, "long") == 0) {
        bench_long();
        return 0;
    }
    if (!constant && !root) {
        fprintf(stderr, "bench_sso: SCHEDULE = %s: expected constant, sqrt, both or long\n",
                which);
        return 2;
    }
    if (constant)
        bench_all(heart, curve_dir, SO_SSO_SCHEDULE_CONSTANT);
    if (root)
        bench_all(heart, curve_dir, SO_SSO_SCHEDULE_SQRT);
    return 0;
}
