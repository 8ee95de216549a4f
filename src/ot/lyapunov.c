/* The concave Lyapunov (dual) potential of entropic OT, its gradient and its Hessian
 * applied to a vector, computed directly from the dense plan (Tang et al., ICLR 2024).
 * These direct versions serve tests and small problems. The Newton solver in sns.c
 * computes the same sums inside its own passes. */
#include <math.h>

#include "ot/ot_internal.h"

static double plan_entry(const double *C, size_t m, double reg, const double *f,
                         const double *g, size_t i, size_t j)
{
    return exp((f[i] + g[j] - C[i * m + j]) / reg);
}

double so_ot_lyapunov(const double *C, size_t n, size_t m, const double *a, const double *b,
                      double reg, const double *f, const double *g, double *grad)
{
    double total = 0.0, linear = 0.0;
    if (grad != NULL) {
        for (size_t i = 0; i < n; i++)
            grad[i] = a[i];
        for (size_t j = 0; j < m; j++)
            grad[n + j] = b[j];
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++) {
            double pij = plan_entry(C, m, reg, f, g, i, j);
            total += pij;
            if (grad != NULL) {
                grad[i] -= pij;
                grad[n + j] -= pij;
            }
        }
        linear += a[i] * f[i];
    }
    for (size_t j = 0; j < m; j++)
        linear += b[j] * g[j];
    return -reg * total + linear;
}

void so_ot_lyapunov_hessian_apply(const double *C, size_t n, size_t m, double reg,
                                  const double *f, const double *g, const double *x,
                                  double *out)
{
    /* H = -(1/reg) [[diag(P 1), P], [P^T, diag(P^T 1)]], so
     * (H x)_i = -(1/reg) sum_j P_ij (x_i + x_{n+j}) and likewise for the columns. */
    for (size_t k = 0; k < n + m; k++)
        out[k] = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double pij = plan_entry(C, m, reg, f, g, i, j);
            double s = pij * (x[i] + x[n + j]);
            out[i] -= s / reg;
            out[n + j] -= s / reg;
        }
}
