/* Internal pieces of the entropic OT solvers: the problem after validation, the shared
 * vectorizable kernels and the solver entry points called by so_ot_solve. */
#ifndef STOCHOPT_OT_INTERNAL_H
#define STOCHOPT_OT_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stochopt/ot.h"

/* A validated problem whose marginals are strictly positive: so_ot_solve removes the rows
 * and columns of zero mass before calling a solver. */
typedef struct so_ot_problem_ {
    const double *C;   /* n x m, row-major */
    double *Ct;        /* m x n transpose for column passes, or NULL until needed */
    size_t n, m;
    const double *a, *b;
    double reg;
    int threads;       /* resolved OpenMP thread count, >= 1 */
} so_ot_problem_;

/* The outcome of a solver: potentials, iterations and the marginal error of the final
 * potentials, measured on the plan they define. */
typedef struct so_ot_run_ {
    double *f, *g;     /* n and m values, in and out: solvers warm-start from them */
    long iterations;
    long newton_steps;
    double error;      /* L1 marginal error of the final state */
    int converged;
} so_ot_run_;

/* Builds p->Ct if it is missing. */
int so_ot_transpose_(so_ot_problem_ *p);

/* ---- Kernels (kernels.c). Every sum uses eight partial sums (the scaling pass four) in a
 * fixed order, so the result does not depend on the vector width the compiler picks. */

/* exp(x) by Cody-Waite range reduction x = k ln2 + r, |r| <= ln2 / 2, the degree-13 Taylor
 * polynomial for exp(r) and a scale by 2^k split in two factors that stay normal up to
 * x = 709.78. Branch-free, so loops calling it vectorize. Below x = -708 it returns 0
 * instead of a value near the subnormal range: every lane computes its result before the
 * selects, and a subnormal product costs a microcode assist of about a hundred cycles,
 * which made the log-domain passes of small-reg problems several times slower. The
 * solvers only add these values to sums whose largest term is near 1. */
static inline double so_ot_exp_inline_(double x)
{
    static const double log2e = 1.4426950408889634;
    static const double ln2_hi = 6.93147180369123816490e-01; /* 32 significant bits */
    static const double ln2_lo = 1.90821492927058770002e-10;
    static const double shift = 6755399441055744.0;          /* 1.5 * 2^52 */
    double xc = x < -708.0 ? -708.0 : x;
    xc = xc > 710.0 ? 710.0 : xc;
    /* Adding 1.5 * 2^52 rounds to the nearest integer and leaves it in the low bits. */
    double t = xc * log2e + shift;
    double k = t - shift;
    double half = (k * 0.5 - 0.25) + shift; /* floor(k / 2) in the low bits */
    double k1 = half - shift;
    double k2 = k - k1;
    double r = (xc - k * ln2_hi) - k * ln2_lo;
    /* exp(r) = 1 + (r + r^2 q(r)) with q the degree-11 tail of the Taylor series, in
     * Estrin's scheme: the dependency chain is about 11 operations instead of Horner's
     * 26, and the final two additions keep the rounding error near 1 ulp. */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double u0 = 1.0 / 2 + r * (1.0 / 6), u1 = 1.0 / 24 + r * (1.0 / 120);
    double u2 = 1.0 / 720 + r * (1.0 / 5040), u3 = 1.0 / 40320 + r * (1.0 / 362880);
    double u4 = 1.0 / 3628800 + r * (1.0 / 39916800);
    double u5 = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
    double v0 = u0 + r2 * u1, v1 = u2 + r2 * u3, v2 = u4 + r2 * u5;
    double q = (v0 + r4 * v1) + r8 * v2;
    double p = 1.0 + (r + r2 * q);
    double t1 = k1 + shift, t2 = k2 + shift, s1, s2;
    uint64_t b1, b2, bs;
    memcpy(&b1, &t1, sizeof b1);
    memcpy(&b2, &t2, sizeof b2);
    memcpy(&bs, &shift, sizeof bs);
    /* The exponent field of 2^k is k + 1023; both halves of k stay in the normal range. */
    b1 = (b1 - bs + 1023u) << 52;
    b2 = (b2 - bs + 1023u) << 52;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    double y = (p * s1) * s2;
    y = x < -708.0 ? 0.0 : y;
    y = x > 709.8 ? (double)INFINITY : y;
    return x != x ? x : y;
}

/* Sum of x[0..n-1]. */
double so_ot_sum_(const double *x, size_t n);
/* Dot product of x and y. */
double so_ot_dot_(const double *x, const double *y, size_t n);
/* Rows [0, rows) of the scaling iteration on the rows x m matrix K: kv_i = K_i . v (four
 * partial sums, lane l taking the columns j = l mod 4, combined as (0 + 1) + (2 + 3)),
 * u_i = mass_i / kv_i and acc += u_i K_i row after row. Splitting the rows between calls
 * changes no bit. so_ot_scale_rows_ calls the AVX2 version when the processor has AVX2,
 * else the baseline version; both give the same bits. */
void so_ot_scale_rows_(const double *K, const double *v, const double *mass, size_t rows,
                       size_t m, double *u, double *kv, double *acc);
void so_ot_scale_rows_base_(const double *K, const double *v, const double *mass,
                            size_t rows, size_t m, double *u, double *kv, double *acc);
void so_ot_scale_rows_avx2_(const double *K, const double *v, const double *mass,
                            size_t rows, size_t m, double *u, double *kv, double *acc);
/* Returns 1 when so_ot_scale_rows_avx2_ can run on this processor. */
int so_ot_avx2_available_(void);
/* Returns reg * log sum_j exp((h_j - c_j) / reg), computed with the maximum of h - c
 * subtracted first. tmp has room for m scratch values. */
double so_ot_softmax_row_(const double *c, const double *h, size_t m, double reg, double *tmp);
/* Writes out_j = so_ot_exp_inline_(c_j * scale). */
void so_ot_exp_row_(const double *c, double scale, size_t m, double *out);
/* y += x * a; x and y do not overlap. */
void so_ot_axpy_(double a, const double *x, size_t m, double *y);
/* Writes out_j = exp((s + h_j - c_j) / reg) and returns their sum. */
double so_ot_plan_row_(const double *c, const double *h, double s, size_t m, double reg,
                       double *out);

/* One half-iteration of log-domain Sinkhorn on the rows of A (rows x cols):
 * out_i = reg log mass_i - softmax_i(h - A_i). When err is not NULL it receives, for each
 * row, |mass_i exp((old_i - out_i) / reg) - mass_i|, the marginal error of row i at the
 * potentials (old, h); old may equal NULL to skip it. scratch has room for threads * cols
 * values. */
void so_ot_log_half_(const double *A, size_t rows, size_t cols, const double *h,
                     const double *mass, double reg, const double *old, double *out,
                     double *err, int threads, double *scratch);

/* Computes the L1 marginal error of the plan exp((f_i + g_j - C_ij) / reg). */
int so_ot_marginal_error_(const so_ot_problem_ *p, const double *f, const double *g,
                          double *error);

/* ---- Scaling iterations (sinkhorn.c), shared by the scaling form and the log domain. */

/* The state of the scaling iteration P = diag(u) K diag(v). */
typedef struct so_ot_scaling_ {
    double *K, *u, *v, *Kv, *KTu;
    double *acc;       /* threads x m partial sums of K^T u */
} so_ot_scaling_;

/* Reads each row of K once: Kv_i = K_i . v, u_i = a_i / Kv_i, KTu += u_i K_i. Returns
 * the first row whose scaling is not finite or whose K v is not positive, or n. */
size_t so_ot_scaling_pass_(const so_ot_problem_ *p, so_ot_scaling_ *s);
/* Returns the L1 marginal error of (u, v) and the column errors in colerr. */
double so_ot_scaling_error_(const so_ot_problem_ *p, const so_ot_scaling_ *s, double *colerr);

/* ---- Solvers. Each reads the warm start in run->f and run->g (POT's zeros for a cold
 * start) and spends at most max_iter iterations. */
int so_ot_sinkhorn_log_(so_ot_problem_ *p, const so_ot_options *opt, long max_iter,
                        double tol, so_ot_run_ *run);
/* The scaling form returns SO_ERR_NUMERIC on kernel underflow, with the detail set. */
int so_ot_sinkhorn_scaling_(so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run,
                            double *plan);
int so_ot_eps_scaling_(so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run);
int so_ot_sns_(so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run);

/* ---- Sparse Newton pieces (sns_hessian.c). */

/* The off-diagonal block of the sparsified Hessian in compressed sparse row form: entries
 * P_ij kept because they are among the `keep` largest of row i or of column j. */
typedef struct so_ot_sparse_ {
    size_t n, m, nnz, cap;
    size_t *row_ptr;   /* n + 1 */
    uint32_t *col;
    double *val;
} so_ot_sparse_;

void so_ot_sparse_free_(so_ot_sparse_ *s);
/* Fills s from the dense plan P (n x m) keeping `keep` entries per row and per column. */
int so_ot_sparse_build_(so_ot_sparse_ *s, const double *P, size_t n, size_t m, size_t keep);
/* Solves [[diag(r), S], [S^T, diag(c)]] x = rhs by Jacobi-preconditioned conjugate gradient
 * from x = 0, stopping at relative residual rel_tol or after max_iter iterations. work
 * has room for 4 (n + m) values. Returns the iterations used. */
long so_ot_sparse_cg_(const so_ot_sparse_ *s, const double *r, const double *c,
                      const double *rhs, double *x, double rel_tol, long max_iter,
                      double *work);

#endif
