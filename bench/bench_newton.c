/* Gradient-normalized regularized Newton method against gradient descent and Newton's
 * method.
 *
 *   bench_newton OUTDIR [FASHION_MNIST_DIR]
 *
 * Runs five experiments and writes OUTDIR/newton-<name>.csv (one row per iteration and
 * method: method,iteration,gap,grad_norm,gamma,trials,seconds,factorizations, with gap =
 * f - f*) and prints a Markdown table. f* is known for lse and rosen; elsewhere it is the
 * lowest f any method reached, and the first method (Newton's) runs to |grad f| <= 1e-11
 * while the others stop at f - f* <= 1e-12 max(1, |f*|). The linear rate is exp of the
 * least-squares slope of log(gap) against the iteration over the iterates with
 * 1e-11 <= gap <= 1e-3 (at least 3, else "-").
 *
 *   heart     logistic regression on heart_scale (270 x 13, intercept, l2 = 1e-3)
 *   logistic  logistic regression on a synthetic set (10000 x 200, l2 = 1e-4)
 *   softmax   softmax regression on the first 5000 Fashion-MNIST training images pooled
 *             to 7 x 7 plus a constant feature (n = 500, l2 = 1e-3); without the data
 *             set, a synthetic 5000 x 50, 10-class set
 *   lse       log-sum-exp, 1000 x 1000, mu = 0.05, shifted so that x* = 0
 *   rosen     2-D Rosenbrock from (-2, 2)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/newton.h"
#include "stochopt/problem.h"

enum { HISTORY = 20001 };

typedef struct method_spec {
    const char *label;
    so_newton_method method;
    so_curvature curvature;
    long max_iter;
} method_spec;

typedef struct experiment {
    const char *name;
    const so_problem *p;
    const double *x0;      /* NULL: zeros */
    double f_star;         /* NaN: from the runs */
} experiment;

static const char *outdir;

static void die(const char *context)
{
    fprintf(stderr, "bench_newton: %s: %s\n", context, so_last_error());
    exit(1);
}

static double linear_rate(const so_newton_record *h, size_t count, double f_star)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t m = 0;
    for (size_t k = 0; k < count; k++) {
        const double gap = h[k].f - f_star;
        if (!(gap >= 1e-11 && gap <= 1e-3))
            continue;
        const double t = (double)h[k].iteration, y = log(gap);
        sx += t;
        sy += y;
        sxx += t * t;
        sxy += t * y;
        m++;
    }
    if (m < 3)
        return NAN;
    const double slope = ((double)m * sxy - sx * sy) / ((double)m * sxx - sx * sx);
    return exp(slope);
}

typedef struct outcome {
    so_newton_result r;
    int status;
    so_newton_record *hist;
} outcome;

static outcome run_one(const experiment *e, const method_spec *m, double f_star)
{
    outcome out;
    so_newton_options o = so_newton_options_default();
    o.method = m->method;
    o.curvature = m->curvature;
    o.max_iter = m->max_iter;
    /* Newton's method reaches |grad f| = 1e-11 on every problem here; below that f
     * stops changing in double precision. */
    o.grad_tol = 1e-11;
    if (isfinite(f_star)) {
        o.f_star = f_star;
        o.f_tol = 1e-12 * fmax(1.0, fabs(f_star));
    }
    out.hist = calloc(HISTORY, sizeof *out.hist);
    double *x = calloc(e->p->n, sizeof *x);
    if (out.hist == NULL || x == NULL)
        die("out of memory");
    o.history = out.hist;
    o.history_capacity = HISTORY;
    if (e->x0 != NULL)
        memcpy(x, e->x0, e->p->n * sizeof *x);
    out.status = so_newton_minimize(e->p, x, &o, &out.r);
    if (out.status < 0)
        fprintf(stderr, "bench_newton: %s/%s: %s\n", e->name, m->label, so_last_error());
    free(x);
    return out;
}

static void run_experiment(const experiment *e, const method_spec *methods, size_t count)
{
    outcome *out = calloc(count, sizeof *out);
    if (out == NULL)
        die("out of memory");
    double f_star = e->f_star;
    /* Method 0 is the reference for f* when f* is unknown. */
    for (size_t q = 0; q < count; q++) {
        out[q] = run_one(e, &methods[q], q == 0 && !isfinite(e->f_star) ? NAN : f_star);
        if (!isfinite(e->f_star))
            for (size_t k = 0; k < out[q].r.history_count; k++)
                f_star = isfinite(f_star) ? fmin(f_star, out[q].hist[k].f) : out[q].hist[k].f;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/newton-%s.csv", outdir, e->name);
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        fprintf(stderr, "bench_newton: cannot write %s\n", path);
        exit(1);
    }
    fprintf(fp, "method,iteration,gap,grad_norm,gamma,trials,seconds,factorizations\n");
    for (size_t q = 0; q < count; q++) {
        const so_newton_result *r = &out[q].r;
        const double rate = linear_rate(out[q].hist, r->history_count, f_star);
        char rate_text[64] = "-";
        if (isfinite(rate))
            snprintf(rate_text, sizeof rate_text, "%.4f", rate);
        printf("| %s | %s | %s | %ld | %.2e | %.2e | %s | %ld | %.2f |\n", e->name,
               methods[q].label, out[q].status == SO_OK ? "converged" : so_strerror(out[q].status),
               r->iterations, r->f - f_star, r->grad_norm, rate_text, r->factorizations,
               r->time);
        for (size_t k = 0; k < r->history_count; k++) {
            const so_newton_record *h = &out[q].hist[k];
            fprintf(fp, "%s,%ld,%.6e,%.6e,%.6e,%d,%.6f,%ld\n", methods[q].label, h->iteration,
                    h->f - f_star, h->grad_norm, h->gamma, h->trials, h->time,
                    h->factorizations);
        }
        free(out[q].hist);
    }
    fclose(fp);
    fflush(stdout);
    free(out);
}

static const method_spec convex_methods[] = {
    {"damped Newton (exact)", SO_NEWTON_DAMPED, SO_CURVATURE_EXACT, 200},
    {"grad-norm Newton (Fisher)", SO_NEWTON_GRAD_NORM, SO_CURVATURE_FISHER, 2000},
    {"grad-norm Newton (exact)", SO_NEWTON_GRAD_NORM, SO_CURVATURE_EXACT, 2000},
    {"gradient descent", SO_NEWTON_GRADIENT, SO_CURVATURE_EXACT, 5000},
};

/* A dense dataset built field by field, freed with free_dataset. */
static so_dataset *new_dataset(size_t n, size_t d, int classes)
{
    so_dataset *ds = calloc(1, sizeof *ds);
    if (ds == NULL)
        die("out of memory");
    ds->n = n;
    ds->d = d;
    ds->kind = SO_FEATURES_F32;
    ds->x_f32 = calloc(n * d, sizeof *ds->x_f32);
    ds->target = calloc(n, sizeof *ds->target);
    ds->label = calloc(n, sizeof *ds->label);
    ds->class_value = calloc((size_t)classes, sizeof *ds->class_value);
    if (ds->x_f32 == NULL || ds->target == NULL || ds->label == NULL ||
        ds->class_value == NULL)
        die("out of memory");
    ds->num_classes = classes;
    for (int c = 0; c < classes; c++)
        ds->class_value[c] = c;
    return ds;
}

static void free_dataset(so_dataset *ds)
{
    free(ds->x_f32);
    free(ds->target);
    free(ds->label);
    free(ds->class_value);
    free(ds);
}

/* Features a_j ~ N(0, 1) 10^(-2 j / d), so their scales span a factor 100 and the
 * Hessian is ill-conditioned. The label is the arg max of W^T a + 0.5 N(0, 1) noise per
 * class, with W ~ N(0, 9). */
static so_dataset *synthetic(size_t n, size_t d, int classes, uint64_t seed)
{
    so_dataset *ds = new_dataset(n, d, classes);
    so_rng rng;
    so_rng_init(&rng, seed, 0);
    double *W = calloc(d * (size_t)classes, sizeof *W);
    if (W == NULL)
        die("out of memory");
    for (size_t q = 0; q < d * (size_t)classes; q++)
        W[q] = 3.0 * so_rng_normal(&rng);
    for (size_t i = 0; i < n; i++) {
        float *a = ds->x_f32 + i * d;
        for (size_t j = 0; j < d; j++)
            a[j] = (float)(so_rng_normal(&rng) * pow(10.0, -2.0 * (double)j / (double)d));
        double best = -INFINITY;
        for (int c = 0; c < classes; c++) {
            double s = 0.5 * so_rng_normal(&rng);
            for (size_t j = 0; j < d; j++)
                s += W[j * (size_t)classes + (size_t)c] * a[j];
            if (s > best) {
                best = s;
                ds->label[i] = c;
            }
        }
    }
    free(W);
    return ds;
}

/* The first n Fashion-MNIST training images, 4 x 4 average pooled to 7 x 7, plus a
 * constant feature. NULL when the files are missing. */
static so_dataset *fashion_pooled(const char *dir, size_t n)
{
    so_dataset *train = NULL;
    if (dir == NULL || so_idx_dir_read(dir, &train, NULL) != SO_OK)
        return NULL;
    if (train->n < n || train->d != 784) {
        so_dataset_free(&train);
        return NULL;
    }
    so_dataset *ds = new_dataset(n, 50, train->num_classes);
    float img[784];
    for (size_t i = 0; i < n; i++) {
        uint32_t row = (uint32_t)i;
        int32_t label;
        if (so_dataset_gather(train, &row, 1, img, &label) != SO_OK)
            die("gather");
        float *a = ds->x_f32 + i * 50;
        for (size_t by = 0; by < 7; by++)
            for (size_t bx = 0; bx < 7; bx++) {
                float s = 0.0f;
                for (size_t y = 0; y < 4; y++)
                    for (size_t x = 0; x < 4; x++)
                        s += img[(4 * by + y) * 28 + 4 * bx + x];
                a[by * 7 + bx] = s / 16.0f;
            }
        a[49] = 1.0f;
        ds->label[i] = label;
    }
    so_dataset_free(&train);
    return ds;
}

static void logistic_experiments(void)
{
    so_read_options ro = so_read_options_default();
    so_dataset *heart = NULL;
    if (so_libsvm_read("tests/data/heart_scale", &ro, &heart) != SO_OK ||
        so_dataset_encode_labels(heart, 2) != SO_OK)
        die("tests/data/heart_scale (run from the repository root)");
    so_problem p;
    if (so_problem_logistic(&p, heart, 1e-3, 1) != SO_OK)
        die("logistic");
    experiment e = {"heart", &p, NULL, NAN};
    run_experiment(&e, convex_methods, 4);
    so_problem_destroy(&p);
    so_dataset_free(&heart);

    so_dataset *syn = synthetic(10000, 200, 2, 7);
    if (so_problem_logistic(&p, syn, 1e-4, 0) != SO_OK)
        die("logistic");
    e.name = "logistic";
    run_experiment(&e, convex_methods, 4);
    so_problem_destroy(&p);
    free_dataset(syn);
}

static void softmax_experiment(const char *fashion_dir)
{
    so_dataset *ds = fashion_pooled(fashion_dir, 5000);
    const char *source = "Fashion-MNIST 5000 x 7x7";
    if (ds == NULL) {
        ds = synthetic(5000, 50, 10, 8);
        source = "synthetic 5000 x 50";
    }
    fprintf(stderr, "bench_newton: softmax data: %s\n", source);
    so_problem p;
    if (so_problem_softmax(&p, ds, 1e-3) != SO_OK)
        die("softmax");
    experiment e = {"softmax", &p, NULL, NAN};
    run_experiment(&e, convex_methods, 4);
    so_problem_destroy(&p);
    free_dataset(ds);
}

/* Rows a_i ~ N(0, I), b_i ~ N(0, 1); then a_i -= grad f(0) makes grad f(0) = 0, so
 * x* = 0 and f* = f(0). Start from x0 with entries +-1 / sqrt(n). */
static void lse_experiment(void)
{
    const size_t rows = 1000, n = 1000;
    const double mu = 0.05;
    double *A = calloc(rows * n, sizeof *A), *b = calloc(rows, sizeof *b);
    double *g = calloc(n, sizeof *g), *x0 = calloc(n, sizeof *x0);
    if (A == NULL || b == NULL || g == NULL || x0 == NULL)
        die("out of memory");
    so_rng rng;
    so_rng_init(&rng, 9, 0);
    for (size_t q = 0; q < rows * n; q++)
        A[q] = so_rng_normal(&rng);
    for (size_t i = 0; i < rows; i++)
        b[i] = so_rng_normal(&rng);
    so_problem p;
    double f0;
    if (so_problem_logsumexp(&p, A, b, rows, n, mu) != SO_OK ||
        so_problem_value_grad(&p, x0, &f0, g) != SO_OK)
        die("logsumexp");
    so_problem_destroy(&p);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < n; j++)
            A[i * n + j] -= g[j];
    if (so_problem_logsumexp(&p, A, b, rows, n, mu) != SO_OK ||
        so_problem_value_grad(&p, x0, &f0, NULL) != SO_OK)
        die("logsumexp");
    for (size_t j = 0; j < n; j++)
        x0[j] = (j % 2 == 0 ? 1.0 : -1.0) / sqrt((double)n);
    const method_spec methods[] = {
        {"grad-norm Newton (weighted GN)", SO_NEWTON_GRAD_NORM, SO_CURVATURE_WEIGHTED_GN, 500},
        {"grad-norm Newton (exact)", SO_NEWTON_GRAD_NORM, SO_CURVATURE_EXACT, 500},
        {"damped Newton (exact)", SO_NEWTON_DAMPED, SO_CURVATURE_EXACT, 500},
        {"gradient descent", SO_NEWTON_GRADIENT, SO_CURVATURE_EXACT, 5000},
    };
    experiment e = {"lse", &p, x0, f0};
    run_experiment(&e, methods, 4);
    so_problem_destroy(&p);
    free(A);
    free(b);
    free(g);
    free(x0);
}

static void rosenbrock_experiment(void)
{
    so_problem p;
    if (so_problem_rosenbrock(&p, 2) != SO_OK)
        die("rosenbrock");
    const method_spec methods[] = {
        {"grad-norm Newton (exact)", SO_NEWTON_GRAD_NORM, SO_CURVATURE_EXACT, 1000},
        {"grad-norm Newton (Gauss-Newton)", SO_NEWTON_GRAD_NORM, SO_CURVATURE_GAUSS_NEWTON,
         1000},
        {"damped Newton (exact)", SO_NEWTON_DAMPED, SO_CURVATURE_EXACT, 1000},
        {"gradient descent", SO_NEWTON_GRADIENT, SO_CURVATURE_EXACT, 20000},
    };
    experiment e = {"rosen", &p, p.x0, 0.0};
    run_experiment(&e, methods, 4);
    so_problem_destroy(&p);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_newton OUTDIR [FASHION_MNIST_DIR]\n");
        return 2;
    }
    outdir = argv[1];
    printf("| problem | method | status | iterations | f - f* | grad norm | linear rate | "
           "factorizations | seconds |\n|---|---|---|---|---|---|---|---|---|\n");
    logistic_experiments();
    softmax_experiment(argc == 3 ? argv[2] : NULL);
    lse_experiment();
    rosenbrock_experiment();
    return 0;
}
