/* Markov-approximate fractional Brownian motion: the speeds, the optimal weights, exact
 * second moments of the approximation, and simulation of the OU processes on a Brownian
 * path.
 *
 * Both fBM types are stochastic integrals of the kernel K(u) = u^(a - 1) / Gamma(a),
 * a = H + 1/2, and the approximation replaces K by sum_k w_k e^(-gamma_k u).
 *
 * Type II: B(t) - B_hat(t) = int_0^t F(t - s) dW(s) with F = K - sum_k w_k e^(-gamma_k .),
 * so int_0^T E (B - B_hat)^2 dt = w^T A w - 2 b^T w + c with
 *   A_ij = int_0^T int_0^t e^(-(g_i + g_j) u) du dt = T^2 phi2((g_i + g_j) T),
 *   b_k  = int_0^T int_0^t K(u) e^(-g_k u) du dt = int_0^T (T - u) K(u) e^(-g_k u) du
 *        = T g_k^(-a) P(a, g_k T) - a g_k^(-a-1) P(a + 1, g_k T),
 *   c    = int_0^T t^(2H) / (2H Gamma(a)^2) dt = T^(2H+1) / (2H (2H + 1) Gamma(a)^2),
 * where phi2(x) = (e^(-x) - 1 + x) / x^2.
 *
 * Type I: B(t) = int_{-inf}^t (K(t - s) - K(-s)) dW(s), with K = 0 on (-inf, 0], and
 * B_hat(t) = sum_k w_k (Y_k(t) - Y_k(0)) with stationary Y_k(t) = int_{-inf}^t
 * e^(-g_k (t - s)) dW(s). The error is again one stochastic integral, and
 *   E[(Y_i(t) - Y_i(0)) (Y_j(t) - Y_j(0))] = (2 - e^(-g_i t) - e^(-g_j t)) / (g_i + g_j),
 *   E[B(t) (Y_k(t) - Y_k(0))] = g_k^(-a) (2 - e^(-g_k t) - e^(g_k t) Q(a, g_k t)),
 * the second from int_0^t K(u) e^(-g u) du = g^(-a) P(a, g t),
 * int_0^inf K(v) e^(-g v) dv = g^(-a) and int_0^inf K(t + v) e^(-g v) dv
 * = e^(g t) g^(-a) Q(a, g t). Integrating over [0, T], with
 * int_0^X e^x Q(a, x) dx = e^X Q(a, X) - 1 + X^a / Gamma(a + 1) (integration by parts,
 * since d/dx [e^x Q(a, x)] = e^x Q(a, x) - x^(a-1) / Gamma(a)):
 *   A_ij = T^2 (g_i phi2(g_i T) + g_j phi2(g_j T)) / (g_i + g_j),
 *   b_k  = g_k^(-a) (2T - T p0(g_k T)
 *          - (e^(g_k T) Q(a, g_k T) - 1 + (g_k T)^a / Gamma(a + 1)) / g_k),
 *   c    = V_H T^(2H+1) / (2H + 1),  V_H = 1 / (Gamma(2H + 1) sin(pi H)),
 * where p0(x) = (1 - e^(-x)) / x and V_H t^(2H) = Var B(t). The generator
 * tests/reference/gen_mafbm_scipy.py checks b, c and V_H of both types by quadrature. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <lapacke.h>

#include "core/internal.h"
#include "sde/gammainc.h"
#include "stochopt/sde.h"

#define MAFBM_PI 3.14159265358979323846

/* p0(x) = (1 - e^(-x)) / x, with p0(0) = 1. */
static double p0_of(double x)
{
    return x == 0.0 ? 1.0 : -expm1(-x) / x;
}

/* phi2(x) = (e^(-x) - 1 + x) / x^2 = sum_n (-x)^n / (n + 2)!, summed directly for small
 * x where the closed form cancels. Long double, because the weights need the matrix
 * beyond double precision (see minimize_quadratic). */
static long double phi2_of(long double x)
{
    if (x < 0.5L) {
        long double term = 0.5L, sum = 0.5L;
        for (int n = 1; n < 40 && fabsl(term) > 1e-22L * sum; n++) {
            term *= -x / (n + 2);
            sum += term;
        }
        return sum;
    }
    return (expm1l(-x) + x) / (x * x);
}

static int check_hurst(double H)
{
    if (!(H > 0.0 && H < 1.0))
        return so_fail_(SO_ERR_INVALID, "mafbm: Hurst index H = %g, expected 0 < H < 1", H);
    return SO_OK;
}

static int check_type(so_mafbm_type type)
{
    if (type != SO_MAFBM_TYPE_I && type != SO_MAFBM_TYPE_II)
        return so_fail_(SO_ERR_INVALID, "mafbm: type %d is unknown; use SO_MAFBM_TYPE_I or "
                        "SO_MAFBM_TYPE_II", (int)type);
    return SO_OK;
}

static int check_speeds(size_t K, const double *gamma)
{
    if (K == 0 || gamma == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm: K = %zu speeds (gamma %s); expected K >= 1 "
                        "and a gamma array", K, gamma == NULL ? "NULL" : "given");
    for (size_t k = 0; k < K; k++) {
        if (!(gamma[k] > 0.0) || !isfinite(gamma[k]))
            return so_fail_(SO_ERR_INVALID, "mafbm: gamma[%zu] = %g, expected a finite "
                            "positive speed", k, gamma[k]);
        for (size_t j = 0; j < k; j++)
            if (gamma[j] == gamma[k])
                return so_fail_(SO_ERR_INVALID, "mafbm: gamma[%zu] = gamma[%zu] = %g; the "
                                "speeds must be distinct, or the weights are not unique", j,
                                k, gamma[k]);
    }
    return SO_OK;
}

int so_mafbm_gammas(size_t K, double gamma_max, double *gamma)
{
    if (K == 0 || gamma == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm: K = %zu, expected K >= 1 and an output "
                        "array of K values", K);
    if (K == 1) {
        gamma[0] = 1.0;
        return SO_OK;
    }
    if (!(gamma_max > 1.0) || !isfinite(gamma_max))
        return so_fail_(SO_ERR_INVALID, "mafbm: gamma_max = %g, expected a finite value > 1 "
                        "(the speeds span 1 / gamma_max to gamma_max)", gamma_max);
    double log_r = 2.0 * log(gamma_max) / (double)(K - 1);
    for (size_t k = 0; k < K; k++)
        gamma[k] = exp(log_r * ((double)k - 0.5 * (double)(K - 1)));
    return SO_OK;
}

int so_mafbm_fbm_variance(so_mafbm_type type, double H, double t, double *var)
{
    int status = check_type(type);
    if (status == SO_OK)
        status = check_hurst(H);
    if (status != SO_OK)
        return status;
    if (!(t >= 0.0) || !isfinite(t))
        return so_fail_(SO_ERR_INVALID, "mafbm: t = %g, expected a finite t >= 0", t);
    if (type == SO_MAFBM_TYPE_II) {
        double g = tgamma(H + 0.5);
        *var = pow(t, 2.0 * H) / (2.0 * H * g * g);
    } else {
        *var = pow(t, 2.0 * H) / (tgamma(2.0 * H + 1.0) * sin(MAFBM_PI * H));
    }
    return SO_OK;
}

/* E[B(t) Y_k(t)] for type II and E[B(t) (Y_k(t) - Y_k(0))] for type I. */
static int cross_moment(so_mafbm_type type, double a, double g, double t, double *out)
{
    double p, q_scaled;
    int status = so_gamma_pq_scaled_(a, g * t, &p, &q_scaled);
    if (status != SO_OK)
        return status;
    if (type == SO_MAFBM_TYPE_II)
        *out = pow(g, -a) * p;
    else
        *out = pow(g, -a) * (2.0 - exp(-g * t) - q_scaled);
    return SO_OK;
}

/* The linear term b_k of the time-integrated squared error on [0, T]. */
static int linear_term(so_mafbm_type type, double a, double g, double T, double *out)
{
    double x = g * T, p, q_scaled;
    int status;
    if (type == SO_MAFBM_TYPE_II) {
        double p1;
        status = so_gamma_pq_scaled_(a, x, &p, &q_scaled);
        if (status == SO_OK)
            status = so_gamma_pq_scaled_(a + 1.0, x, &p1, &q_scaled);
        if (status != SO_OK)
            return status;
        *out = T * pow(g, -a) * p - a * pow(g, -a - 1.0) * p1;
        return SO_OK;
    }
    status = so_gamma_pq_scaled_(a, x, &p, &q_scaled);
    if (status != SO_OK)
        return status;
    double tail = q_scaled - 1.0 + exp(a * log(x) - lgamma(a + 1.0));
    *out = pow(g, -a) * (2.0 * T - T * p0_of(x) - tail / g);
    return SO_OK;
}

static long double quadratic_term(so_mafbm_type type, double gi, double gj, double T)
{
    long double t = T, a = gi, b = gj;
    if (type == SO_MAFBM_TYPE_II)
        return t * t * phi2_of((a + b) * t);
    return t * t * (a * phi2_of(a * t) + b * phi2_of(b * t)) / (a + b);
}

static double constant_term(so_mafbm_type type, double H, double T)
{
    if (type == SO_MAFBM_TYPE_II) {
        double g = tgamma(H + 0.5);
        return pow(T, 2.0 * H + 1.0) / (2.0 * H * (2.0 * H + 1.0) * g * g);
    }
    return pow(T, 2.0 * H + 1.0)
           / ((2.0 * H + 1.0) * tgamma(2.0 * H + 1.0) * sin(MAFBM_PI * H));
}

/* The objective w^T A w - 2 b^T w, accumulated in long double from the long-double
 * matrix so that candidate weight vectors can be compared below the double rounding
 * level of the individual terms. */
static long double objective(size_t K, const long double *A, const double *b,
                             const double *w)
{
    long double sum = 0.0L;
    for (size_t i = 0; i < K; i++) {
        long double row = 0.0L;
        for (size_t j = 0; j < K; j++)
            row += A[i * K + j] * (long double)w[j];
        sum += (long double)w[i] * (row - 2.0L * (long double)b[i]);
    }
    return sum;
}

/* Improves a candidate by mixed-precision iterative refinement: the residual
 * b - A w in long double, the correction from the candidate's own double-precision
 * solver (apply), and a step only while it lowers the objective. */
typedef int (*solve_fn)(void *context, double *rhs);

static void refine(size_t K, const long double *A, const double *b, solve_fn apply,
                   void *context, double *w, double *correction, long double *best)
{
    for (int iteration = 0; iteration < 4; iteration++) {
        for (size_t i = 0; i < K; i++) {
            long double r = (long double)b[i];
            for (size_t j = 0; j < K; j++)
                r -= A[i * K + j] * (long double)w[j];
            correction[i] = (double)r;
        }
        if (apply(context, correction) != 0)
            return;
        for (size_t i = 0; i < K; i++)
            correction[i] += w[i];
        long double value = objective(K, A, b, correction);
        if (!(value < *best))
            return;
        *best = value;
        for (size_t i = 0; i < K; i++)
            w[i] = correction[i];
    }
}

struct factored {
    size_t K;
    int kind;          /* 0 Cholesky, 1 Bunch-Kaufman, 2 truncated eigendecomposition */
    double *matrix;    /* the factor, or the eigenvectors */
    double *eigen;     /* eigenvalues, kind 2 */
    lapack_int *pivots;
    double *scratch;
};

static int apply_factored(void *context, double *rhs)
{
    struct factored *f = context;
    lapack_int n = (lapack_int)f->K;
    if (f->kind == 0)
        return (int)LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', n, 1, f->matrix, n, rhs, 1);
    if (f->kind == 1)
        return (int)LAPACKE_dsytrs(LAPACK_ROW_MAJOR, 'L', n, 1, f->matrix, n, f->pivots,
                                   rhs, 1);
    /* V diag(1 / lambda) V^T on the eigenvalues above 1e-15 lambda_max. The others
     * carry rounding only, so they are dropped. */
    size_t K = f->K;
    double cutoff = 1e-15 * f->eigen[K - 1];
    for (size_t j = 0; j < K; j++) {
        double sum = 0.0;
        for (size_t i = 0; i < K; i++)
            sum += f->matrix[i * K + j] * rhs[i];
        f->scratch[j] = f->eigen[j] > cutoff ? sum / f->eigen[j] : 0.0;
    }
    for (size_t i = 0; i < K; i++) {
        double sum = 0.0;
        for (size_t j = 0; j < K; j++)
            sum += f->matrix[i * K + j] * f->scratch[j];
        rhs[i] = sum;
    }
    return 0;
}

/* Minimizes w^T A w - 2 b^T w for the scaled (unit-diagonal) long-double matrix A.
 * A is positive definite in exact arithmetic, but its condition number grows by about
 * a factor 10^3 per added speed. numpy estimates 8e9 at K = 6 and more than 1e16 at
 * K = 10 for type II with gamma_max = 20, so in double precision A may be numerically
 * indefinite. Three LAPACK solvers each give a candidate: Cholesky (dpotrf), Bunch-Kaufman (dsytrf) and a truncated
 * eigendecomposition (dsyevd). Each is refined, and the candidate with the smallest
 * objective wins. */
static int minimize_quadratic(size_t K, const long double *A, const double *b, double *w)
{
    lapack_int n = (lapack_int)K;
    struct factored f = {K, 0, NULL, NULL, NULL, NULL};
    double *candidate = so_calloc_(K, sizeof *candidate);
    double *correction = so_calloc_(K, sizeof *correction);
    f.matrix = so_calloc_(K * K, sizeof *f.matrix);
    f.eigen = so_calloc_(K, sizeof *f.eigen);
    f.pivots = so_calloc_(K, sizeof *f.pivots);
    f.scratch = so_calloc_(K, sizeof *f.scratch);
    int status = SO_OK, found = 0;
    long double best = 0.0L;
    if (!candidate || !correction || !f.matrix || !f.eigen || !f.pivots || !f.scratch) {
        status = SO_ERR_NOMEM;
        goto done;
    }
    for (f.kind = 0; f.kind < 3; f.kind++) {
        for (size_t i = 0; i < K * K; i++)
            f.matrix[i] = (double)A[i];
        lapack_int info;
        if (f.kind == 0)
            info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, f.matrix, n);
        else if (f.kind == 1)
            info = LAPACKE_dsytrf(LAPACK_ROW_MAJOR, 'L', n, f.matrix, n, f.pivots);
        else
            info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, f.matrix, n, f.eigen);
        if (info != 0)
            continue;
        for (size_t i = 0; i < K; i++)
            candidate[i] = b[i];
        if (apply_factored(&f, candidate) != 0)
            continue;
        long double value = objective(K, A, b, candidate);
        int finite = isfinite((double)value);
        for (size_t i = 0; i < K; i++)
            finite = finite && isfinite(candidate[i]);
        if (!finite)
            continue;
        refine(K, A, b, apply_factored, &f, candidate, correction, &value);
        if (!found || value < best) {
            found = 1;
            best = value;
            for (size_t i = 0; i < K; i++)
                w[i] = candidate[i];
        }
    }
    if (!found)
        status = so_fail_(SO_ERR_NUMERIC, "mafbm: no LAPACK solver produced finite weights for "
                          "K = %zu speeds; use fewer or more widely spaced speeds", K);
done:
    free(candidate);
    free(correction);
    free(f.matrix);
    free(f.eigen);
    free(f.pivots);
    free(f.scratch);
    return status;
}

static int check_weight_arguments(so_mafbm_type type, double H, double T, size_t K,
                                  const double *gamma)
{
    int status = check_type(type);
    if (status == SO_OK)
        status = check_hurst(H);
    if (status == SO_OK)
        status = check_speeds(K, gamma);
    if (status != SO_OK)
        return status;
    if (!(T > 0.0) || !isfinite(T))
        return so_fail_(SO_ERR_INVALID, "mafbm: horizon T = %g, expected a finite T > 0", T);
    return SO_OK;
}

int so_mafbm_normal_equations(so_mafbm_type type, double H, double T, size_t K,
                              const double *gamma, double *A, double *b, double *c)
{
    int status = check_weight_arguments(type, H, T, K, gamma);
    for (size_t i = 0; i < K && status == SO_OK; i++) {
        if (b != NULL)
            status = linear_term(type, H + 0.5, gamma[i], T, &b[i]);
        for (size_t j = 0; A != NULL && j < K; j++)
            A[i * K + j] = (double)quadratic_term(type, gamma[i], gamma[j], T);
    }
    if (status == SO_OK && c != NULL)
        *c = constant_term(type, H, T);
    return status;
}

int so_mafbm_weights(so_mafbm_type type, double H, double T, size_t K, const double *gamma,
                     double *w, double *residual)
{
    int status = check_weight_arguments(type, H, T, K, gamma);
    if (status != SO_OK)
        return status;
    if (w == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm: the weight array is NULL");

    /* The matrix in long double, scaled to unit diagonal: A_s = D A D, b_s = D b. */
    long double *A = so_calloc_(K * K, sizeof *A);
    double *b = so_calloc_(K, sizeof *b);
    double *scale = so_calloc_(K, sizeof *scale);
    if (A == NULL || b == NULL || scale == NULL) {
        status = SO_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < K; i++)
        scale[i] = 1.0 / sqrt((double)quadratic_term(type, gamma[i], gamma[i], T));
    for (size_t i = 0; i < K && status == SO_OK; i++) {
        status = linear_term(type, H + 0.5, gamma[i], T, &b[i]);
        b[i] *= scale[i];
        for (size_t j = 0; j < K; j++)
            A[i * K + j] = quadratic_term(type, gamma[i], gamma[j], T) * scale[i] * scale[j];
    }
    if (status == SO_OK)
        status = minimize_quadratic(K, A, b, w);
    if (status != SO_OK)
        goto done;
    /* The minimum value c + w^T A w - 2 b^T w cancels to about 1e-19 c in long double. */
    long double value = ((long double)constant_term(type, H, T) + objective(K, A, b, w)) / T;
    for (size_t i = 0; i < K; i++) {
        w[i] *= scale[i];
        if (!isfinite(w[i])) {
            status = so_fail_(SO_ERR_NONFINITE, "mafbm: weight w[%zu] = %g is not finite for "
                              "H = %g, T = %g", i, w[i], H, T);
            goto done;
        }
    }
    if (residual != NULL)
        *residual = value > 0.0L ? (double)value : 0.0;
done:
    free(A);
    free(b);
    free(scale);
    return status;
}

static double covariance(so_mafbm_type type, double gi, double gj, double t)
{
    if (type == SO_MAFBM_TYPE_II)
        return -expm1(-(gi + gj) * t) / (gi + gj);
    return (-expm1(-gi * t) - expm1(-gj * t)) / (gi + gj);
}

static int check_moment_arguments(so_mafbm_type type, size_t K, const double *gamma,
                                  const double *w, double t)
{
    int status = check_type(type);
    if (status == SO_OK)
        status = check_speeds(K, gamma);
    if (status != SO_OK)
        return status;
    if (w == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm: the weight array is NULL");
    if (!(t >= 0.0) || !isfinite(t))
        return so_fail_(SO_ERR_INVALID, "mafbm: t = %g, expected a finite t >= 0", t);
    return SO_OK;
}

int so_mafbm_variance(so_mafbm_type type, size_t K, const double *gamma, const double *w,
                      double t, double *var)
{
    int status = check_moment_arguments(type, K, gamma, w, t);
    if (status != SO_OK)
        return status;
    double sum = 0.0;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            sum += w[i] * covariance(type, gamma[i], gamma[j], t) * w[j];
    *var = sum;
    return SO_OK;
}

int so_mafbm_mse(so_mafbm_type type, double H, size_t K, const double *gamma,
                 const double *w, double t, double *mse)
{
    double var_hat, var_exact;
    int status = check_hurst(H);
    if (status == SO_OK)
        status = so_mafbm_variance(type, K, gamma, w, t, &var_hat);
    if (status == SO_OK)
        status = so_mafbm_fbm_variance(type, H, t, &var_exact);
    double cross = 0.0;
    for (size_t k = 0; k < K && status == SO_OK; k++) {
        double moment;
        status = cross_moment(type, H + 0.5, gamma[k], t, &moment);
        cross += w[k] * moment;
    }
    if (status != SO_OK)
        return status;
    *mse = var_hat - 2.0 * cross + var_exact;
    return SO_OK;
}

int so_mafbm_initial(so_mafbm_type type, size_t K, const double *gamma, so_rng *rng,
                     double *y0)
{
    int status = check_type(type);
    if (status == SO_OK)
        status = check_speeds(K, gamma);
    if (status != SO_OK)
        return status;
    if (type == SO_MAFBM_TYPE_II) {
        for (size_t k = 0; k < K; k++)
            y0[k] = 0.0;
        return SO_OK;
    }
    if (rng == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm: type I needs a random number generator for "
                        "the stationary initial state");

    lapack_int n = (lapack_int)K;
    double *factor = so_calloc_(K * K, sizeof *factor);
    double *eigen = so_calloc_(K, sizeof *eigen);
    double *z = so_calloc_(K, sizeof *z);
    if (factor == NULL || eigen == NULL || z == NULL) {
        status = SO_ERR_NOMEM;
        goto done;
    }
    /* Unit-diagonal form of S_ij = 1 / (g_i + g_j): 2 sqrt(g_i g_j) / (g_i + g_j). */
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            factor[i * K + j] = 2.0 * sqrt(gamma[i] * gamma[j]) / (gamma[i] + gamma[j]);
    for (size_t k = 0; k < K; k++)
        z[k] = so_rng_normal(rng);
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, factor, n) == 0) {
        for (size_t i = 0; i < K; i++) {
            double sum = 0.0;
            for (size_t j = 0; j <= i; j++)
                sum += factor[i * K + j] * z[j];
            y0[i] = sum;
        }
    } else {
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                factor[i * K + j] = 2.0 * sqrt(gamma[i] * gamma[j]) / (gamma[i] + gamma[j]);
        if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, factor, n, eigen) != 0) {
            status = so_fail_(SO_ERR_NUMERIC, "mafbm: the eigendecomposition of the "
                              "stationary covariance failed for K = %zu", K);
            goto done;
        }
        for (size_t i = 0; i < K; i++) {
            double sum = 0.0;
            for (size_t j = 0; j < K; j++)
                sum += factor[i * K + j] * sqrt(fmax(eigen[j], 0.0)) * z[j];
            y0[i] = sum;
        }
    }
    for (size_t k = 0; k < K; k++)
        y0[k] /= sqrt(2.0 * gamma[k]);
done:
    free(factor);
    free(eigen);
    free(z);
    return status;
}

/* Coefficients of one OU step of length h with speed g: the decay e^(-x), x = g h, and
 * alpha, beta of the conditional mean alpha dw + beta dz of int_0^h e^(-g (h - s)) dW(s)
 * given dw and dz. With m0 = int_0^h e^(-g (h - s)) ds = h p0(x) and
 * m1 = int_0^h e^(-g (h - s)) (h - s) ds = h^2 p1(x), p1(x) = int_0^1 v e^(-x v) dv, the
 * 2 x 2 Gaussian regression on (dw, dz), whose covariance is [[h, h^2/2], [h^2/2, h^3/3]],
 * gives alpha = 4 p0 - 6 p1 and beta = (12 / h) (p1 - p0 / 2). */
static void ou_coefficients(double g, double h, double *decay, double *alpha, double *beta)
{
    double x = g * h, p0, p1, centered;
    if (x < 0.5) {
        /* Series in x: p0 = sum (-x)^n / (n! (n + 1)), p1 = sum (-x)^n / (n! (n + 2)), and
         * p1 - p0 / 2 = sum (-x)^n n / (2 n! (n + 1) (n + 2)), which cancels in closed
         * form. */
        double power = 1.0;
        p0 = 0.0, p1 = 0.0, centered = 0.0;
        for (int n = 0; n < 25; n++) {
            p0 += power / (n + 1);
            p1 += power / (n + 2);
            centered += power * n / (2.0 * (n + 1) * (n + 2));
            power *= -x / (n + 1);
        }
    } else {
        p0 = -expm1(-x) / x;
        p1 = (-expm1(-x) - x * exp(-x)) / (x * x);
        centered = p1 - 0.5 * p0;
    }
    *decay = exp(-x);
    *alpha = 4.0 * p0 - 6.0 * p1;
    *beta = 12.0 * centered / h;
}

int so_mafbm_ou_step(size_t K, const double *gamma, double h, double dw, double dz,
                     double *y)
{
    if (!(h > 0.0) || !isfinite(h))
        return so_fail_(SO_ERR_INVALID, "mafbm: OU step h = %g, expected a finite h > 0", h);
    for (size_t k = 0; k < K; k++) {
        double decay, alpha, beta;
        ou_coefficients(gamma[k], h, &decay, &alpha, &beta);
        y[k] = decay * y[k] + alpha * dw + beta * dz;
    }
    return SO_OK;
}

static int check_path(const so_brownian *path, double t0, double t1, size_t steps)
{
    if (path == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm: the Brownian path is NULL");
    if (so_brownian_dim(path) != 1)
        return so_fail_(SO_ERR_INVALID, "mafbm: the Brownian path has %zu components; the OU "
                        "processes share one, so create it with dim = 1",
                        so_brownian_dim(path));
    if (steps == 0)
        return so_fail_(SO_ERR_INVALID, "mafbm: steps = 0, expected at least 1");
    if (!isfinite(t0) || !isfinite(t1) || !(t0 < t1))
        return so_fail_(SO_ERR_INVALID, "mafbm: interval [%g, %g] is invalid; expected "
                        "finite t0 < t1", t0, t1);
    return SO_OK;
}

/* Advances y over [t, t_next] and returns the increment of B_hat in *db. */
static int advance(size_t K, const double *gamma, const double *w, const so_brownian *path,
                   double t, double t_next, double *y, double *db)
{
    double dw, dz, h = t_next - t, sum = 0.0;
    int status = so_brownian_increment(path, t, t_next, &dw, &dz);
    if (status != SO_OK)
        return status;
    for (size_t k = 0; k < K; k++) {
        double decay, alpha, beta;
        ou_coefficients(gamma[k], h, &decay, &alpha, &beta);
        double next = decay * y[k] + alpha * dw + beta * dz;
        sum += w[k] * (next - y[k]);
        y[k] = next;
    }
    *db = sum;
    return SO_OK;
}

int so_mafbm_simulate(size_t K, const double *gamma, const double *w, const so_brownian *path,
                      double t0, double t1, size_t steps, double *y, double *db)
{
    int status = check_speeds(K, gamma);
    if (status == SO_OK)
        status = check_path(path, t0, t1, steps);
    if (status != SO_OK)
        return status;
    if (w == NULL || y == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm: the weight or state array is NULL");
    double h = (t1 - t0) / (double)steps, total = 0.0;
    for (size_t s = 0; s < steps; s++) {
        double t = t0 + (double)s * h;
        double t_next = s + 1 == steps ? t1 : t0 + (double)(s + 1) * h;
        double step_db;
        status = advance(K, gamma, w, path, t, t_next, y, &step_db);
        if (status != SO_OK)
            return status;
        total += step_db;
    }
    if (db != NULL)
        *db = total;
    return SO_OK;
}

int so_mafbm_sde_solve(const so_mafbm_sde *sys, size_t K, const double *gamma,
                       const double *w, const so_brownian *path, double t0, double t1,
                       size_t steps, double *y, double *x, so_sde_observe_fn observe,
                       void *observe_user)
{
    if (sys == NULL || sys->n == 0 || sys->drift == NULL || sys->diffusion == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm sde: expected a system with n >= 1 and drift "
                        "and diffusion callbacks");
    int status = check_speeds(K, gamma);
    if (status == SO_OK)
        status = check_path(path, t0, t1, steps);
    if (status != SO_OK)
        return status;
    if (w == NULL || y == NULL || x == NULL)
        return so_fail_(SO_ERR_INVALID, "mafbm sde: the weight, OU state or state array is "
                        "NULL");
    size_t n = sys->n;
    double *f = so_calloc_(n, sizeof *f);
    double *sigma = so_calloc_(n, sizeof *sigma);
    if (f == NULL || sigma == NULL) {
        free(f);
        free(sigma);
        return SO_ERR_NOMEM;
    }
    if (observe != NULL && observe(observe_user, 0, t0, x) < 0)
        status = so_fail_(SO_ERR_CALLBACK, "mafbm sde: the observer stopped at step 0");
    double h = (t1 - t0) / (double)steps;
    for (size_t s = 0; s < steps && status == SO_OK; s++) {
        double t = t0 + (double)s * h;
        double t_next = s + 1 == steps ? t1 : t0 + (double)(s + 1) * h;
        double db;
        if (sys->drift(sys->user, t, x, f) < 0 || sys->diffusion(sys->user, t, x, sigma) < 0) {
            status = so_fail_(SO_ERR_CALLBACK, "mafbm sde: a callback stopped step %zu at "
                              "t = %g", s + 1, t);
            break;
        }
        status = advance(K, gamma, w, path, t, t_next, y, &db);
        if (status != SO_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            x[i] += f[i] * (t_next - t) + sigma[i] * db;
            if (!isfinite(x[i]))
                status = so_fail_(SO_ERR_NONFINITE, "mafbm sde: x[%zu] = %g after step %zu at "
                                  "t = %g; reduce the step size or check the coefficients",
                                  i, x[i], s + 1, t_next);
        }
        if (status == SO_OK && observe != NULL && observe(observe_user, s + 1, t_next, x) < 0)
            status = so_fail_(SO_ERR_CALLBACK, "mafbm sde: the observer stopped at step %zu",
                              s + 1);
    }
    free(f);
    free(sigma);
    return status;
}
