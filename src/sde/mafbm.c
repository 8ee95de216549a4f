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

static double constant_term(so_mafbm_type type, double H, double T)
{
    if (type == SO_MAFBM_TYPE_II) {
        double g = tgamma(H + 0.5);
        return pow(T, 2.0 * H + 1.0) / (2.0 * H * (2.0 * H + 1.0) * g * g);
    }
    return pow(T, 2.0 * H + 1.0)
           / ((2.0 * H + 1.0) * tgamma(2.0 * H + 1.0) * sin(MAFBM_PI * H));
}

/* Double-double arithmetic: a value is hi + lo with |lo| <= ulp(hi) / 2, about 32
 * significant digits, from error-free transformations in double precision (fma gives
 * the exact rounding error of a product). */
typedef struct {
    double hi, lo;
} dd;

static dd dd_quick(double a, double b) /* needs |a| >= |b| */
{
    double s = a + b;
    return (dd){s, b - (s - a)};
}

static dd dd_of(double a)
{
    return (dd){a, 0.0};
}

static dd dd_add(dd a, dd b)
{
    double s = a.hi + b.hi, v = s - a.hi, e = (a.hi - (s - v)) + (b.hi - v);
    double t = a.lo + b.lo, w = t - a.lo, f = (a.lo - (t - w)) + (b.lo - w);
    dd r = dd_quick(s, e + t);
    return dd_quick(r.hi, r.lo + f);
}

static dd dd_neg(dd a)
{
    return (dd){-a.hi, -a.lo};
}

static dd dd_sub(dd a, dd b)
{
    return dd_add(a, dd_neg(b));
}

static dd dd_mul(dd a, dd b)
{
    double p = a.hi * b.hi;
    double e = fma(a.hi, b.hi, -p) + (a.hi * b.lo + a.lo * b.hi);
    return dd_quick(p, e);
}

static dd dd_div(dd a, dd b)
{
    double q1 = a.hi / b.hi;
    dd r = dd_sub(a, dd_mul(dd_of(q1), b));
    double q2 = r.hi / b.hi;
    r = dd_sub(r, dd_mul(dd_of(q2), b));
    double q3 = r.hi / b.hi;
    return dd_add(dd_quick(q1, q2), dd_of(q3));
}

/* e^x - 1 for |x| <= 0.35: the Taylor series of e^(x / 1024) - 1, then ten doublings
 * with e^(2y) - 1 = s (2 + s), s = e^y - 1, which keep the relative accuracy. */
static dd dd_expm1_small(dd x)
{
    dd y = {ldexp(x.hi, -10), ldexp(x.lo, -10)}, term = y, sum = y;
    for (int n = 2; n <= 12; n++) {
        term = dd_div(dd_mul(term, y), dd_of(n));
        sum = dd_add(sum, term);
    }
    for (int i = 0; i < 10; i++)
        sum = dd_mul(sum, dd_add(sum, dd_of(2.0)));
    return sum;
}

/* e^x = 2^k e^r with r = x - k log 2, |r| <= 0.35. */
static dd dd_exp(dd x)
{
    static const dd log2 = {6.931471805599452862e-01, 2.319046813846299558e-17};
    if (x.hi < -745.0)
        return dd_of(0.0);
    double k = nearbyint(x.hi / log2.hi);
    dd r = dd_sub(x, dd_mul(dd_of(k), log2));
    dd e = dd_add(dd_of(1.0), dd_expm1_small(r));
    return (dd){ldexp(e.hi, (int)k), ldexp(e.lo, (int)k)};
}

/* phi2(x) = (e^(-x) - 1 + x) / x^2 in double-double, by its series below x = 1. */
static dd dd_phi2(dd x)
{
    if (x.hi < 1.0) {
        dd term = dd_of(0.5), sum = dd_of(0.5);
        for (int n = 1; n < 40; n++) {
            term = dd_div(dd_mul(term, dd_neg(x)), dd_of(n + 2));
            sum = dd_add(sum, term);
        }
        return sum;
    }
    dd num = dd_add(dd_sub(dd_exp(dd_neg(x)), dd_of(1.0)), x);
    return dd_div(num, dd_mul(x, x));
}

/* x = g T exactly, as a double-double. */
static dd dd_product(double g, double T)
{
    double p = g * T;
    return (dd){p, fma(g, T, -p)};
}

/* A_ij / T^2 from the exact products x_i = g_i T. */
static dd dd_quadratic_term(so_mafbm_type type, dd xi, dd xj)
{
    dd sum = dd_add(xi, xj);
    if (type == SO_MAFBM_TYPE_II)
        return dd_phi2(sum);
    return dd_div(dd_add(dd_mul(xi, dd_phi2(xi)), dd_mul(xj, dd_phi2(xj))), sum);
}

/* Largest g T for which the type II series terms are summed in double-double. Beyond
 * it the series needs many terms, and its largest term nears the double range. */
#define MAFBM_SERIES_MAX 500.0

/* The type II linear term divided by T^(a+1) / Gamma(a). With gamma(a, x) =
 * x^a e^(-x) S(x), S(x) = sum_n x^n / (a (a+1) ... (a+n)), and
 * gamma(a+1, x) = a gamma(a, x) - x^a e^(-x), the closed form of b_k becomes
 *   b_k Gamma(a) / T^(a+1) = e^(-x) sum_n (n + 1) x^n / (a (a+1) ... (a+n+1)),
 * x = g_k T, a sum of positive terms without cancellation. */
static dd dd_linear_term_ii(double a, dd x)
{
    dd term = dd_div(dd_of(1.0), dd_mul(dd_of(a), dd_add(dd_of(a), dd_of(1.0)))), sum = term;
    for (int n = 1; n < 2000; n++) {
        dd factor = dd_div(dd_mul(x, dd_of(n + 1)),
                           dd_mul(dd_of(n), dd_add(dd_of(a), dd_of(n + 1))));
        term = dd_mul(term, factor);
        sum = dd_add(sum, term);
        if (n > x.hi && term.hi < 1e-34 * sum.hi)
            break;
    }
    return dd_mul(dd_exp(dd_neg(x)), sum);
}

/* The objective w^T A w - 2 b^T w in double-double for double weights. */
static dd dd_objective(size_t K, const dd *A, const dd *b, const double *w)
{
    dd sum = dd_of(0.0);
    for (size_t i = 0; i < K; i++) {
        dd row = dd_of(0.0);
        for (size_t j = 0; j < K; j++)
            row = dd_add(row, dd_mul(A[i * K + j], dd_of(w[j])));
        row = dd_sub(row, dd_add(b[i], b[i]));
        sum = dd_add(sum, dd_mul(dd_of(w[i]), row));
    }
    return sum;
}

/* Minimizes w^T A w - 2 b^T w, that is solves A w = b, with A and b in double-double.
 *
 * A is positive definite in exact arithmetic but very badly conditioned: for type II
 * with gamma_max = 20, scaled to unit diagonal, its condition number is 1e16 at K = 8,
 * 2e19 at K = 9, 6e22 at K = 10 and 7e29 at K = 12 (mpmath), and the optimal weights
 * reach 1e11 to 1e13 with alternating signs. The minimum is sensitive to the rounding
 * of the entries themselves: perturbing them at random by a relative 1e-19 (long
 * double) and solving exactly raises the type II residual by 1e-3 to 1e-2 at K = 9 and
 * by 5 % to 50 % at K = 12, and a relative 1e-16 in b (double) raises it up to ninefold
 * at K = 12 (mpmath, H = 0.1 and 0.9). So neither double nor long double suffices for
 * the matrix, the right-hand side or the solver. Double-double entries (relative error
 * near 1e-32) move the minimum by far less than the final rounding of the weights to
 * double, which limits the residual at K = 12 to about 1e-4 above the minimum.
 *
 * The solver is LDL^T with symmetric diagonal pivoting (the largest remaining diagonal
 * entry first), which is backward stable for a positive definite matrix; its backward
 * error near 1e-32 stays below the eigenvalues up to condition numbers near 1e30. Should
 * a pivot fall to rounding level (K beyond about 12), the elimination stops there and
 * the remaining weights are zero, which minimizes the objective over the pivoted
 * speeds. Two steps of iterative refinement with double-double residuals follow. */
static int minimize_quadratic(size_t K, const dd *A, const dd *b, double *w)
{
    dd *L = so_calloc_(K * K, sizeof *L);
    dd *x = so_calloc_(K, sizeof *x);
    dd *r = so_calloc_(K, sizeof *r);
    size_t *perm = so_calloc_(K, sizeof *perm);
    int status = SO_OK;
    if (L == NULL || x == NULL || r == NULL || perm == NULL) {
        status = SO_ERR_NOMEM;
        goto done;
    }
    /* Row and column k of L refer to speed perm[k]; the diagonal ends up holding D. */
    double largest = 0.0;
    for (size_t i = 0; i < K; i++) {
        perm[i] = i;
        for (size_t j = 0; j < K; j++)
            L[i * K + j] = A[i * K + j];
        largest = fmax(largest, A[i * K + i].hi);
    }
    size_t rank = 0;
    for (size_t k = 0; k < K; k++) {
        size_t p = k;
        for (size_t i = k + 1; i < K; i++)
            if (L[i * K + i].hi > L[p * K + p].hi)
                p = i;
        if (!(L[p * K + p].hi > 1e-30 * (double)K * largest))
            break;
        if (p != k) {
            for (size_t j = 0; j < K; j++) {
                dd t = L[k * K + j];
                L[k * K + j] = L[p * K + j];
                L[p * K + j] = t;
            }
            for (size_t i = 0; i < K; i++) {
                dd t = L[i * K + k];
                L[i * K + k] = L[i * K + p];
                L[i * K + p] = t;
            }
            size_t t = perm[k];
            perm[k] = perm[p];
            perm[p] = t;
        }
        /* Both triangles hold the Schur complement; the eliminated columns below the
         * diagonal hold the multipliers. */
        dd pivot = L[k * K + k];
        for (size_t i = k + 1; i < K; i++) {
            dd l = dd_div(L[i * K + k], pivot);
            for (size_t j = k + 1; j <= i; j++) {
                L[i * K + j] = dd_sub(L[i * K + j], dd_mul(l, L[k * K + j]));
                L[j * K + i] = L[i * K + j];
            }
        }
        for (size_t i = k + 1; i < K; i++)
            L[i * K + k] = dd_div(L[i * K + k], pivot);
        rank++;
    }
    if (rank == 0) {
        status = so_fail_(SO_ERR_NUMERIC, "mafbm: the normal-equation matrix for K = %zu "
                          "speeds has no positive pivot; check the speeds", K);
        goto done;
    }
    for (size_t i = 0; i < K; i++)
        x[i] = dd_of(0.0);
    for (int pass = 0; pass < 3; pass++) {
        /* r = b - A x in the pivoted order. */
        for (size_t i = 0; i < K; i++) {
            dd sum = b[perm[i]];
            for (size_t j = 0; j < K; j++)
                sum = dd_sub(sum, dd_mul(A[perm[i] * K + perm[j]], x[j]));
            r[i] = sum;
        }
        for (size_t i = 0; i < rank; i++)
            for (size_t j = 0; j < i; j++)
                r[i] = dd_sub(r[i], dd_mul(L[i * K + j], r[j]));
        for (size_t i = 0; i < rank; i++)
            r[i] = dd_div(r[i], L[i * K + i]);
        for (size_t i = rank; i-- > 0;)
            for (size_t j = i + 1; j < rank; j++)
                r[i] = dd_sub(r[i], dd_mul(L[j * K + i], r[j]));
        for (size_t i = 0; i < rank; i++)
            x[i] = dd_add(x[i], r[i]);
    }
    for (size_t i = 0; i < K; i++)
        w[perm[i]] = x[i].hi + x[i].lo;
done:
    free(L);
    free(x);
    free(r);
    free(perm);
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
        for (size_t j = 0; A != NULL && j < K; j++) {
            dd xi = dd_product(gamma[i], T), xj = dd_product(gamma[j], T);
            dd entry = dd_mul(dd_product(T, T), dd_quadratic_term(type, xi, xj));
            A[i * K + j] = entry.hi + entry.lo;
        }
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

    /* A and b in double-double (see minimize_quadratic). With x_k = g_k T exact,
     * A = T^2 A(x). Type II sums b by the series of dd_linear_term_ii, times the common
     * factor T^(a+1) / Gamma(a), whose rounding scales b and c alike and so moves the
     * residual only by about 1e-16 c. Type I, far better conditioned (2e7 at K = 12),
     * takes b from the double-precision closed form. */
    dd *A = so_calloc_(K * K, sizeof *A);
    dd *b = so_calloc_(K, sizeof *b);
    dd *x = so_calloc_(K, sizeof *x);
    if (A == NULL || b == NULL || x == NULL) {
        status = SO_ERR_NOMEM;
        goto done;
    }
    double a = H + 0.5, factor = pow(T, a + 1.0) / tgamma(a);
    dd T2 = dd_product(T, T);
    for (size_t i = 0; i < K; i++)
        x[i] = dd_product(gamma[i], T);
    for (size_t i = 0; i < K && status == SO_OK; i++) {
        if (type == SO_MAFBM_TYPE_II && x[i].hi <= MAFBM_SERIES_MAX) {
            b[i] = dd_mul(dd_of(factor), dd_linear_term_ii(a, x[i]));
        } else {
            double value = 0.0;
            status = linear_term(type, a, gamma[i], T, &value);
            b[i] = dd_of(value);
        }
        for (size_t j = 0; j < K; j++)
            A[i * K + j] = dd_mul(T2, dd_quadratic_term(type, x[i], x[j]));
    }
    if (status == SO_OK)
        status = minimize_quadratic(K, A, b, w);
    if (status != SO_OK)
        goto done;
    for (size_t i = 0; i < K; i++) {
        if (!isfinite(w[i])) {
            status = so_fail_(SO_ERR_NONFINITE, "mafbm: weight w[%zu] = %g is not finite for "
                              "H = %g, T = %g", i, w[i], H, T);
            goto done;
        }
    }
    /* The residual of the returned double weights, c + w^T A w - 2 b^T w, whose
     * cancellation leaves an absolute error near 1e-16 c. */
    dd value = dd_add(dd_of(constant_term(type, H, T)), dd_objective(K, A, b, w));
    double mean = (value.hi + value.lo) / T;
    if (residual != NULL)
        *residual = mean > 0.0 ? mean : 0.0;
done:
    free(A);
    free(b);
    free(x);
    return status;
}

/* 1 - e^(-s) for s >= 0 in double-double. */
static dd dd_one_minus_exp(dd s)
{
    if (s.hi <= 0.35)
        return dd_neg(dd_expm1_small(dd_neg(s)));
    return dd_sub(dd_of(1.0), dd_exp(dd_neg(s)));
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

/* w^T C(t) w in double-double. The optimal type II weights reach 1e13 at K = 12, and
 * w^T C w cancels to a value of order one, so double-precision entries would leave
 * nothing of it. With m_k = 1 - e^(-g_k t), C_ij (g_i + g_j) is m_i + (1 - m_i) m_j for
 * type II and m_i + m_j for type I, sums of nonnegative terms that keep the relative
 * accuracy of the m_k. */
static dd variance_dd(so_mafbm_type type, size_t K, const double *gamma, const double *w,
                      double t)
{
    dd sum = dd_of(0.0), cache[32];
    int cached = K <= 32;
    for (size_t k = 0; cached && k < K; k++)
        cache[k] = dd_one_minus_exp(dd_product(gamma[k], t));
    for (size_t i = 0; i < K; i++) {
        dd mi = cached ? cache[i] : dd_one_minus_exp(dd_product(gamma[i], t));
        dd decay = dd_sub(dd_of(1.0), mi), row = dd_of(0.0);
        for (size_t j = 0; j < K; j++) {
            dd mj = cached ? cache[j] : dd_one_minus_exp(dd_product(gamma[j], t));
            dd numerator = type == SO_MAFBM_TYPE_II ? dd_add(mi, dd_mul(decay, mj))
                                                     : dd_add(mi, mj);
            dd entry = dd_div(numerator, dd_add(dd_of(gamma[i]), dd_of(gamma[j])));
            row = dd_add(row, dd_mul(entry, dd_of(w[j])));
        }
        sum = dd_add(sum, dd_mul(dd_of(w[i]), row));
    }
    return sum;
}

int so_mafbm_variance(so_mafbm_type type, size_t K, const double *gamma, const double *w,
                      double t, double *var)
{
    int status = check_moment_arguments(type, K, gamma, w, t);
    if (status != SO_OK)
        return status;
    dd sum = variance_dd(type, K, gamma, w, t);
    *var = sum.hi + sum.lo;
    return SO_OK;
}

/* E[B(t) Y_k(t)] Gamma(a) / t^a = e^(-x) S(x) for type II, x = g t, with the series
 * S of dd_linear_term_ii: g^(-a) gamma(a, x) = t^a e^(-x) S(x). */
static dd dd_cross_moment_ii(double a, dd x)
{
    dd term = dd_div(dd_of(1.0), dd_of(a)), sum = term;
    for (int n = 1; n < 2000; n++) {
        term = dd_mul(term, dd_div(x, dd_add(dd_of(a), dd_of(n))));
        sum = dd_add(sum, term);
        if (n > x.hi && term.hi < 1e-34 * sum.hi)
            break;
    }
    return dd_mul(dd_exp(dd_neg(x)), sum);
}

int so_mafbm_mse(so_mafbm_type type, double H, size_t K, const double *gamma,
                 const double *w, double t, double *mse)
{
    double var_exact, a = H + 0.5, factor = pow(t, a) / tgamma(a);
    int status = check_hurst(H);
    if (status == SO_OK)
        status = check_moment_arguments(type, K, gamma, w, t);
    if (status == SO_OK)
        status = so_mafbm_fbm_variance(type, H, t, &var_exact);
    /* In double-double, like so_mafbm_variance, for the large type II weights. */
    dd cross = dd_of(0.0);
    for (size_t k = 0; k < K && status == SO_OK; k++) {
        dd x = dd_product(gamma[k], t), moment;
        if (type == SO_MAFBM_TYPE_II && x.hi <= MAFBM_SERIES_MAX) {
            moment = dd_mul(dd_of(factor), dd_cross_moment_ii(a, x));
        } else {
            double value = 0.0;
            status = cross_moment(type, a, gamma[k], t, &value);
            moment = dd_of(value);
        }
        cross = dd_add(cross, dd_mul(dd_of(w[k]), moment));
    }
    if (status != SO_OK)
        return status;
    dd value = dd_add(dd_sub(variance_dd(type, K, gamma, w, t), dd_add(cross, cross)),
                      dd_of(var_exact));
    *mse = value.hi + value.lo;
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
