/* Memory throughput of the Adam step on float32 parameters, next to a STREAM-style triad
 * and a plain kernel with Adam's memory traffic, all measured in the same process.
 *
 * Usage: bench_adam [n [threads [repeats]]]   (defaults: 10000000 1 20)
 *
 * The bandwidth bound of a step is 28 bytes per parameter (read p, g, m, v; write p, m, v)
 * at the triad's bandwidth. A step also reads g once more in the finiteness scan, so it
 * moves 32 bytes per parameter. Its GB/s figure still counts 28 bytes, so that it compares
 * directly with the bound. The triad a = b + s * c counts 24 bytes per element, as STREAM does,
 * although a write-allocate cache also reads a. Each figure is the best of `repeats`
 * runs; the median is shown too. The last line, "summary:", collects the figures for
 * bench/adam_torch.py. */
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
    printf("%-46s %8.2f ms  %6.2f GB/s   (median %.2f ms, %.2f GB/s)\n", label, 1e3 * t.best,
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

static void *checked_malloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (p == NULL) {
        fprintf(stderr, "bench_adam: out of memory allocating %zu bytes\n", bytes);
        exit(1);
    }
    return p;
}

/* Returns the best triad time. */
static timing bench_memory(long n, int repeats)
{
    double *a = checked_malloc((size_t)n * sizeof *a), *b = checked_malloc((size_t)n * sizeof *b);
    double *c = checked_malloc((size_t)n * sizeof *c), seconds[MAX_REPEATS];
    float *p = checked_malloc((size_t)n * sizeof *p), *g = checked_malloc((size_t)n * sizeof *g);
    float *m = checked_malloc((size_t)n * sizeof *m), *v = checked_malloc((size_t)n * sizeof *v);
    for (long i = 0; i < n; i++) {
        a[i] = 0.0, b[i] = 1.0, c[i] = 2.0;
        p[i] = 1.0f, g[i] = 1e-3f, m[i] = 0.0f, v[i] = 0.0f;
    }
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        triad(a, b, c, 3.0, n);
        seconds[r] = so_time_now() - t0;
    }
    timing triad_time = summarize(seconds, repeats);
    report("STREAM triad, float64 (24 B/element)", triad_time, 24.0 * (double)n);
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        adam_traffic(p, g, m, v, n);
        seconds[r] = so_time_now() - t0;
    }
    report("Adam-shaped traffic, no math (28 B/param)", summarize(seconds, repeats),
           28.0 * (double)n);
    free(a), free(b), free(c), free(p), free(g), free(m), free(v);
    return triad_time;
}

/* Times one update kernel alone over the whole array, split over threads like the
 * library's driver. */
static timing time_kernel(so_optim_kernel_f32 kernel, so_optimizer *opt, float *p,
                          const float *g, int repeats)
{
    double seconds[MAX_REPEATS];
    const long n = (long)opt->n;
    so_optim_update u = {&opt->hp, opt->steps + 1, 1.0, opt->hp.lr, opt->hp.weight_decay, 0.0};
    float *buf[SO_OPTIM_MAX_BUFFERS] = {opt->buffers[0], opt->buffers[1]};
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
#pragma omp parallel
        {
            long threads = 1, thread = 0;
#ifdef _OPENMP
            threads = omp_get_num_threads();
            thread = omp_get_thread_num();
#endif
            size_t lo = (size_t)(n * thread / threads), hi = (size_t)(n * (thread + 1) / threads);
            kernel(&u, lo, hi, p, g, buf);
        }
        seconds[r] = so_time_now() - t0;
    }
    return summarize(seconds, repeats);
}

static so_optimizer *make_adam(long n, double clip_norm, float **p, float **g)
{
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    so_optimizer *opt = NULL;
    hp.clip_norm = clip_norm;
    *p = checked_malloc((size_t)n * sizeof **p);
    *g = checked_malloc((size_t)n * sizeof **g);
    if (so_optimizer_new(so_optim_adam, (size_t)n, SO_F32, &hp, &opt) != SO_OK) {
        fprintf(stderr, "bench_adam: setup failed: %s\n", so_last_error());
        exit(1);
    }
    for (long i = 0; i < n; i++) {
        (*p)[i] = (float)(i % 1000) * 1e-3f;
        (*g)[i] = (float)((i * 7919) % 2001 - 1000) * 1e-4f;
    }
    so_optimizer_step(opt, *p, *g); /* warm up: page faults, thread start */
    return opt;
}

static timing time_step(so_optimizer *opt, float *p, const float *g, int repeats)
{
    double seconds[MAX_REPEATS];
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        so_optimizer_step(opt, p, g);
        seconds[r] = so_time_now() - t0;
    }
    return summarize(seconds, repeats);
}

/* Returns the best time of a whole step without clipping. */
static timing bench_adam(long n, int repeats)
{
    float *p, *g;
    double seconds[MAX_REPEATS];
    so_optimizer *opt = make_adam(n, 0.0, &p, &g);

    timing step = time_step(opt, p, g, repeats);
    report("adam step, counted at 28 B/param", step, 28.0 * (double)n);
    for (int r = 0; r < repeats; r++) {
        double t0 = so_time_now();
        so_optim_scan_f32_(g, (size_t)n, 0.0, opt->chunk_sums, NULL);
        seconds[r] = so_time_now() - t0;
    }
    report("  gradient finiteness scan (4 B/param)", summarize(seconds, repeats),
           4.0 * (double)n);
    report("  update kernel, scalar SSE2 (28 B/param)",
           time_kernel(so_adam_step_f32_scalar_, opt, p, g, repeats), 28.0 * (double)n);
    if (so_adam_avx2_available_())
        report("  update kernel, AVX2 (28 B/param)",
               time_kernel(so_adam_step_f32_avx2_, opt, p, g, repeats), 28.0 * (double)n);
    else
        printf("  update kernel, AVX2: not supported by this processor\n");
    so_optimizer_free(&opt);
    free(p);
    free(g);

    opt = make_adam(n, 1.0, &p, &g);
    report("adam step, clip_norm 1, counted at 28 B/param", time_step(opt, p, g, repeats),
           28.0 * (double)n);
    so_optimizer_free(&opt);
    free(p);
    free(g);
    return step;
}

int main(int argc, char **argv)
{
    long n;
    int threads, repeats;
    if (parse_args(argc, argv, &n, &threads, &repeats) != 0)
        return 1;
    printf("n = %ld, threads = %d, best of %d runs, AVX2 kernel %s\n", n, threads, repeats,
           so_adam_avx2_available_() ? "in use" : "not available");
    timing triad_time = bench_memory(n, repeats);
    timing step = bench_adam(n, repeats);

    double triad_gbs = 24.0 * (double)n / triad_time.best / 1e9;
    double bound_ms = 1e3 * 28.0 * (double)n / (triad_gbs * 1e9);
    printf("bandwidth bound at 28 B/param and the triad's %.2f GB/s: %.2f ms; the step takes "
           "%.2f ms, %.0f%% of the bound\n",
           triad_gbs, bound_ms, 1e3 * step.best, 100.0 * bound_ms / (1e3 * step.best));
    printf("summary: n=%ld threads=%d adam_step_ms=%.4f adam_step_gbs=%.3f triad_gbs=%.3f "
           "bound_ms=%.4f bound_fraction=%.4f\n",
           n, threads, 1e3 * step.best, 28.0 * (double)n / step.best / 1e9, triad_gbs,
           bound_ms, bound_ms / (1e3 * step.best));
    return 0;
}
