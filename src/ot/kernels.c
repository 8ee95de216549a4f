/* Vectorizable kernels of the OT solvers: sums, dot products, the scaling pass, row
 * log-sum-exp and plan rows. Each reduction keeps eight partial sums (four in the scaling
 * pass) combined in a fixed order, so the SSE2 and AVX2 versions give the same bits. Row updates are independent of the thread count.
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

/* ---- Blocks of rows of the scaling iteration. The pass takes SCALE_ROWS rows at a time.
 * A first loop over the columns forms their dot products with v, four partial sums per
 * row. A second loop adds u_r K_r to acc while the block is still in cache, so acc is
 * loaded and stored once per block instead of once per row. A row's dot product has the
 * same four lanes inside a block or alone, and column j of acc receives u_0 K_0j,
 * u_1 K_1j, ... one row after the other. So the bits depend neither on the vector width
 * nor on how the rows are split into blocks or between threads. Twelve rows keep the 12
 * sums and v in the 16 AVX2 registers. At n = m = 2000 on the two-core EPYC of
 * docs/ot/sns.md the pass took about 1.3 ms, against 2.1 ms for one row at a time. */
enum { SCALE_ROWS = 12 };
/* Four doubles: one AVX2 register, or two SSE2 registers in the baseline version. */
typedef double vec4_ __attribute__((vector_size(32)));
#define LOAD4_(dst, src) memcpy(&(dst), (src), sizeof(dst))

/* Returns the dot product of x and y by four partial sums, combined as (0 + 1) + (2 + 3). */
static inline SO_OT_INLINE_ double dot4(const double *x, const double *y, size_t m)
{
    double d[4] = {0.0, 0.0, 0.0, 0.0};
    size_t j = 0;
    for (; j + 4 <= m; j += 4)
        for (int l = 0; l < 4; l++)
            d[l] += x[j + l] * y[j + l];
    for (int l = 0; j < m; j++, l++)
        d[l] += x[j] * y[j];
    return (d[0] + d[1]) + (d[2] + d[3]);
}

/* Runs the pass on the block of rows k, k + m, ..., k + (SCALE_ROWS - 1) m. */
static inline SO_OT_INLINE_ void scale_block(const double *restrict k,
                                             const double *restrict v,
                                             const double *restrict mass, size_t m,
                                             double *restrict u, double *restrict kv,
                                             double *restrict acc)
{
    vec4_ sum[SCALE_ROWS], vj, x;
    for (int r = 0; r < SCALE_ROWS; r++)
        sum[r] = (vec4_){0.0, 0.0, 0.0, 0.0};
    size_t j = 0;
    for (; j + 4 <= m; j += 4) {
        LOAD4_(vj, v + j);
        for (int r = 0; r < SCALE_ROWS; r++) {
            LOAD4_(x, k + (size_t)r * m + j);
            sum[r] += x * vj;
        }
    }
    double s[SCALE_ROWS];
    vec4_ sv[SCALE_ROWS];
    for (int r = 0; r < SCALE_ROWS; r++) {
        const double *row = k + (size_t)r * m;
        double d[4];
        memcpy(d, &sum[r], sizeof sum[r]);
        for (size_t t = j, l = 0; t < m; t++, l++)
            d[l] += row[t] * v[t];
        kv[r] = (d[0] + d[1]) + (d[2] + d[3]);
        s[r] = mass[r] / kv[r];
        u[r] = s[r];
        sv[r] = (vec4_){s[r], s[r], s[r], s[r]};
    }
    for (j = 0; j + 4 <= m; j += 4) {
        vec4_ w;
        LOAD4_(w, acc + j);
        for (int r = 0; r < SCALE_ROWS; r++) {
            LOAD4_(x, k + (size_t)r * m + j);
            w += sv[r] * x;
        }
        memcpy(acc + j, &w, sizeof w);
    }
    for (; j < m; j++) {
        double w = acc[j];
        for (int r = 0; r < SCALE_ROWS; r++)
            w += s[r] * k[(size_t)r * m + j];
        acc[j] = w;
    }
}

static inline SO_OT_INLINE_ void scale_one(const double *restrict k, const double *restrict v,
                                           double mass, size_t m, double *restrict u,
                                           double *restrict kv, double *restrict acc)
{
    double dot = dot4(k, v, m), s = mass / dot;
    for (size_t j = 0; j < m; j++)
        acc[j] += s * k[j];
    *kv = dot;
    *u = s;
}

static inline SO_OT_INLINE_ void scale_rows(const double *K, const double *v,
                                            const double *mass, size_t rows, size_t m,
                                            double *u, double *kv, double *acc)
{
    size_t i = 0;
    for (; i + SCALE_ROWS <= rows; i += SCALE_ROWS)
        scale_block(K + i * m, v, mass + i, m, u + i, kv + i, acc);
    for (; i < rows; i++)
        scale_one(K + i * m, v, mass[i], m, u + i, kv + i, acc);
}

void so_ot_scale_rows_base_(const double *K, const double *v, const double *mass,
                            size_t rows, size_t m, double *u, double *kv, double *acc)
{
    scale_rows(K, v, mass, rows, m, u, kv, acc);
}

/* The scaling pass is the solver's inner loop, so unlike the cloned kernels it has an AVX2
 * version under Clang too, and the test calls both versions by name. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
int so_ot_avx2_available_(void)
{
    return __builtin_cpu_supports("avx2") != 0;
}

__attribute__((target("avx2")))
void so_ot_scale_rows_avx2_(const double *K, const double *v, const double *mass,
                            size_t rows, size_t m, double *u, double *kv, double *acc)
{
    scale_rows(K, v, mass, rows, m, u, kv, acc);
}
#else
int so_ot_avx2_available_(void)
{
    return 0;
}

void so_ot_scale_rows_avx2_(const double *K, const double *v, const double *mass,
                            size_t rows, size_t m, double *u, double *kv, double *acc)
{
    scale_rows(K, v, mass, rows, m, u, kv, acc);
}
#endif

void so_ot_scale_rows_(const double *K, const double *v, const double *mass, size_t rows,
                       size_t m, double *u, double *kv, double *acc)
{
    if (so_ot_avx2_available_())
        so_ot_scale_rows_avx2_(K, v, mass, rows, m, u, kv, acc);
    else
        so_ot_scale_rows_base_(K, v, mass, rows, m, u, kv, acc);
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
void so_ot_exp_row_(const double *c, double scale, size_t m, double *out)
{
SO_OT_SIMD_
    for (size_t j = 0; j < m; j++)
        out[j] = so_ot_exp_inline_(c[j] * scale);
}

SO_OT_CLONES_
void so_ot_axpy_(double a, const double *restrict x, size_t m, double *restrict y)
{
    for (size_t j = 0; j < m; j++)
        y[j] += x[j] * a;
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
