/* Vectorizable kernels of the OT solvers: sums, dot products, row log-sum-exp and plan
 * rows. Each reduction keeps eight partial sums combined in a fixed order, so the SSE2 and
 * AVX2 versions give the same bits. Row updates are independent of the thread count.
 * Column sums are accumulated per thread and added in thread order, so they are
 * reproducible for a given thread count. */
/* Comparisons may raise the invalid exception on NaN, so with GCC's default
 * -ftrapping-math the clamps in so_ot_exp_inline_ stay branches and block vectorization.
 * No code here reads the exception flags, and the rounded results are the same either
 * way. Clang vectorizes these loops without the pragma. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "core/internal.h"
#include "ot/ot_internal.h"

/* With GCC the kernels are compiled for AVX2 too and picked at load time. Both versions
 * round identically, because the lanes and the order of each sum are fixed and no
 * multiply is fused with an add. Clang 14 would need the attribute on every declaration
 * as well, so Clang builds keep the baseline version. The OpenMP simd pragmas are needed
 * by GCC only, and Clang reports the loops it cannot vectorize under the sanitizers. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SO_OT_CLONES_ __attribute__((target_clones("avx2", "default")))
#else
#define SO_OT_CLONES_
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define SO_OT_PRAGMA_(text) _Pragma(#text)
#define SO_OT_SIMD_ SO_OT_PRAGMA_(omp simd)
#define SO_OT_SIMD_MAX_(var) SO_OT_PRAGMA_(omp simd reduction(max : var))
#else
#define SO_OT_SIMD_
#define SO_OT_SIMD_MAX_(var)
#endif
/* Helpers of the cloned kernels are inlined so that each clone compiles them for its
 * own instruction set. */
#if defined(__GNUC__) || defined(__clang__)
#define SO_OT_INLINE_ __attribute__((always_inline))
#else
#define SO_OT_INLINE_
#endif

enum { LANES = 8 };

static double combine(const double acc[LANES])
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double so_ot_exp(double x)
{
    return so_ot_exp_inline_(x);
}

SO_OT_CLONES_
double so_ot_sum_(const double *x, size_t n)
{
    double acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[j + k];
    for (int k = 0; j < n; j++, k++)
        acc[k] += x[j];
    return combine(acc);
}

static inline SO_OT_INLINE_ double dot_lanes(const double *x, const double *y, size_t n)
{
    double acc[LANES] = {0};
    size_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[j + k] * y[j + k];
    for (int k = 0; j < n; j++, k++)
        acc[k] += x[j] * y[j];
    return combine(acc);
}

SO_OT_CLONES_
double so_ot_dot_(const double *x, const double *y, size_t n)
{
    return dot_lanes(x, y, n);
}

SO_OT_CLONES_
double so_ot_scale_row_(const double *k, const double *v, double mass, size_t m,
                        double *scaling, double *acc)
{
    double kv = dot_lanes(k, v, m);
    double u = mass / kv;
    /* The row is still in cache from the dot product. */
    for (size_t j = 0; j < m; j++)
        acc[j] += u * k[j];
    *scaling = u;
    return kv;
}

/* The maximum of h - c; exact in any order, so no fixed lanes are needed. */
static inline SO_OT_INLINE_ double max_difference(const double *c, const double *h, size_t m)
{
    double mx = -INFINITY;
SO_OT_SIMD_MAX_(mx)
    for (size_t j = 0; j < m; j++) {
        double d = h[j] - c[j];
        mx = d > mx ? d : mx;
    }
    return mx;
}


SO_OT_CLONES_
double so_ot_plan_row_(const double *c, const double *h, double s, size_t m, double reg,
                       double *out)
{
    double inv = 1.0 / reg;
SO_OT_SIMD_
    for (size_t j = 0; j < m; j++)
        out[j] = so_ot_exp_inline_(((s + h[j]) - c[j]) * inv);
    return so_ot_sum_(out, m);
}

/* Replaces z[0..len-1] by exp(z), or by zeros when every exponent is below -708, where
 * so_ot_exp_inline_ returns 0 anyway, so skipping the polynomial changes no bit. At small
 * reg most blocks of a row are skipped. */
static inline SO_OT_INLINE_ void exp_block(double *z, size_t len)
{
    double zmax = -INFINITY;
SO_OT_SIMD_MAX_(zmax)
    for (size_t k = 0; k < len; k++)
        zmax = z[k] > zmax ? z[k] : zmax;
    if (zmax < -708.0) {
        memset(z, 0, len * sizeof *z);
        return;
    }
SO_OT_SIMD_
    for (size_t k = 0; k < len; k++)
        z[k] = so_ot_exp_inline_(z[k]);
}

SO_OT_CLONES_
double so_ot_softmax_row_(const double *c, const double *h, size_t m, double reg, double *tmp)
{
    enum { BLOCK = 64 };
    double mx = max_difference(c, h, m);
    if (!(mx > -INFINITY))
        return mx;
    double inv = 1.0 / reg;
SO_OT_SIMD_
    for (size_t j = 0; j < m; j++)
        tmp[j] = ((h[j] - c[j]) - mx) * inv;
    for (size_t j = 0; j < m; j += BLOCK)
        exp_block(tmp + j, m - j < BLOCK ? m - j : BLOCK);
    /* The largest term is exp(0) = 1, so the sum lies in [1, m]. */
    return mx + reg * log(so_ot_sum_(tmp, m));
}

void so_ot_log_half_(const double *A, size_t rows, size_t cols, const double *h,
                     const double *mass, double reg, const double *old, double *out,
                     double *err, int threads, double *scratch)
{
#pragma omp parallel num_threads(threads)
    {
        double *tmp = scratch + (size_t)omp_get_thread_num() * cols;
#pragma omp for schedule(static)
        for (size_t i = 0; i < rows; i++) {
            double s = so_ot_softmax_row_(A + i * cols, h, cols, reg, tmp);
            out[i] = reg * log(mass[i]) - s;
            if (err != NULL && old != NULL)
                err[i] = fabs(mass[i] * exp((old[i] - out[i]) / reg) - mass[i]);
        }
    }
}

int so_ot_marginal_error_(const so_ot_problem_ *p, const double *f, const double *g,
                          double *error)
{
    size_t n = p->n, m = p->m, T = (size_t)p->threads;
    /* Per-thread column sums, then row errors, then plan rows as scratch. */
    double *work = so_calloc_(T * 2 * m + n, sizeof *work);
    if (work == NULL)
        return SO_ERR_NOMEM;
    double *colsum = work, *rowerr = work + T * m, *rows = rowerr + n;
#pragma omp parallel num_threads(p->threads)
    {
        size_t t = (size_t)omp_get_thread_num();
        double *acc = colsum + t * m, *tmp = rows + t * m;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            double s = so_ot_plan_row_(p->C + i * m, g, f[i], m, p->reg, tmp);
            rowerr[i] = fabs(s - p->a[i]);
            for (size_t j = 0; j < m; j++)
                acc[j] += tmp[j];
        }
    }
    double col_err = 0.0;
    for (size_t j = 0; j < m; j++) {
        double s = 0.0;
        for (size_t t = 0; t < T; t++)
            s += colsum[t * m + j];
        col_err += fabs(s - p->b[j]);
    }
    *error = so_ot_sum_(rowerr, n) + col_err;
    free(work);
    return SO_OK;
}
