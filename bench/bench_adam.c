/* Memory throughput of the Adam step on float32 parameters, next to a STREAM-style triad
 * and a plain kernel with Adam's memory traffic, all measured in the same process.
 *
 * Usage: bench_adam [n [threads [repeats]]]   (defaults: 10000000 1 20)
 *
 * Bytes are counted as the arrays each pass must read and write: a step reads g once for
 * the finiteness scan, then reads p, g, m, v and writes p, m, v (32 bytes per parameter;
 * 28 for the update alone). The triad a = b + s * c counts 24 bytes per element, as
 * STREAM does. Each figure is the best of `repeats` runs; the median is shown too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "optim/optim_internal.h"
#include "stochopt/core.h"
#include "stochopt/optim.h"

enum { MAX_REPEATS = 101 };

typedef struct timing {
    double best, median;
} timing;

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static timing summarize(double *seconds, int count)
{
    timing t;
    qsort(seconds, (size_t)count, sizeof *seconds, compare_double);
    t.best = seconds[0];
    t.median = seconds[count / 2];
    return t;
}

static void report(const char *label, timing t, double bytes)
{
    printf("%-44s %8.2f ms  %6.2f GB/s   (median %.2f ms, %.2f GB/s)\n", label, 1e3 * t.best,
           bytes / t.best / 1e9, 1e3 * t.median, bytes / t.median / 1e9);
}

/* STREAM triad over double arrays, parallel like the optimizer's kernels. */
static void triad(double *a, const double *b, const double *c, double s, long n)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        a[i] = b[i] + s * c[i];
}

/* The same reads and writes as an Adam step's update, with almost no arithmetic. */
static void adam_traffic(float *p, const float *g, float *m, float *v, long n)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        m[i] = m[i] * 0.9f + g[i];
        v[i] = v[i] * 0.9f + g[i];
        p[i] = p[i] - 1e-3f * m[i];
    }
}

static int parse_args(int argc, char **argv, long *n, int *threads, int *repeats)
{
    *n = argc > 1 ? atol(argv[1]) : 10000000;
    *threads = argc > 2 ? atoi(argv[2]) : 1;
    *repeats = argc > 3 ? atoi(argv[3]) : 20;
    if (*n <= 0 || *threads <= 0 || *repeats <= 0 || *repeats > MAX_REPEATS) {
        fprintf(stderr, "usage: bench_adam [n > 0 [threads > 0 [repeats 1..%d]]]\n",
                MAX_REPEATS);
        return 1;
    }
#ifdef _OPENMP
    omp_set_num_threads(*threads);
#endif
    return 0;
}

static void bench_adam(long n, int repeats, int clip)
{
    float *p = malloc((size_t)n * sizeof *p), *g = malloc((size_t)n * sizeof *g);
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    so_optimizer *opt = NULL;
    double seconds[MAX_REPEATS];
    char label[64];

    hp.clip_norm = clip ? 1.0 : 0.0;
    if (p == NULL || g == NULL || so_optimizer_new(so_optim_adam, (size_t)n, SO_F32, &hp, &opt)) {
        fprintf(stderr, "bench_adam: setup failed: %s\n", so_last_error());
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        p[i] = (float)(i % 1000) * 1e-3f;
        g[i] = (float)((i * 7919) % 2001 - 1000) * 1e-4f;
    }
    so_optimizer_step(opt, p, g); /* warm up: page faults, thread start */
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        so_optimizer_step(opt, p, g);
        seconds[r] = so_time_now() - t0;
    }
    snprintf(label, sizeof label, "adam step%s (32 B/param)", clip ? ", clip_norm 1" : "");
    report(label, summarize(seconds, repeats), 32.0 * (double)n);

    /* The two passes of a step timed apart: the scan, then the update kernel alone. */
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        so_optim_scan_f32_(g, (size_t)n, opt->chunk_sums, NULL);
        seconds[r] = so_time_now() - t0;
    }
    if (!clip)
        report("  gradient finiteness scan (4 B/param)", summarize(seconds, repeats),
               4.0 * (double)n);
    for (int r = 0; r < repeats && !clip; r++) {
        so_optim_update u = {&opt->hp, opt->steps + 1, 1.0};
        float *buf[SO_OPTIM_MAX_BUFFERS] = {opt->buffers[0], opt->buffers[1]};
        double t0 = so_time_now();
#pragma omp parallel
        {
            /* Whole-array split, like the library's driver. */
            long threads = 1, thread = 0;
#ifdef _OPENMP
            threads = omp_get_num_threads();
            thread = omp_get_thread_num();
#endif
            size_t lo = (size_t)(n * thread / threads), hi = (size_t)(n * (thread + 1) / threads);
            so_optim_adam_type_.step_f32(&u, lo, hi, p, g, buf);
        }
        seconds[r] = so_time_now() - t0;
    }
    if (!clip)
        report("  update kernel alone (28 B/param)", summarize(seconds, repeats),
               28.0 * (double)n);
    so_optimizer_free(&opt);
    free(p);
    free(g);
}

static void bench_memory(long n, int repeats)
{
    double *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    double *c = malloc((size_t)n * sizeof *c), seconds[MAX_REPEATS];
    float *p = malloc((size_t)n * sizeof *p), *g = malloc((size_t)n * sizeof *g);
    float *m = malloc((size_t)n * sizeof *m), *v = malloc((size_t)n * sizeof *v);
    if (!a || !b || !c || !p || !g || !m || !v) {
        fprintf(stderr, "bench_adam: out of memory\n");
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        a[i] = 0.0, b[i] = 1.0, c[i] = 2.0;
        p[i] = 1.0f, g[i] = 1e-3f, m[i] = 0.0f, v[i] = 0.0f;
    }
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        triad(a, b, c, 3.0, n);
        seconds[r] = so_time_now() - t0;
    }
    report("STREAM triad, float64 (24 B/element)", summarize(seconds, repeats), 24.0 * (double)n);
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        adam_traffic(p, g, m, v, n);
        seconds[r] = so_time_now() - t0;
    }
    report("Adam-shaped traffic, no math (28 B/param)", summarize(seconds, repeats),
           28.0 * (double)n);
    free(a), free(b), free(c), free(p), free(g), free(m), free(v);
}

int main(int argc, char **argv)
{
    long n;
    int threads, repeats;
    if (parse_args(argc, argv, &n, &threads, &repeats) != 0)
        return 1;
    printf("n = %ld, threads = %d, best of %d runs\n", n, threads, repeats);
    bench_memory(n, repeats);
    bench_adam(n, repeats, 0);
    bench_adam(n, repeats, 1);
    return 0;
}
