/* Small seeded regression and classification problems shared by the SSO tests. */
#ifndef SSO_TEST_UTIL_H
#define SSO_TEST_UTIL_H

#include <math.h>
#include <stdlib.h>

#include "stochopt/core.h"
#include "stochopt/sso.h"

/* Fills x (n x d) with standard normals and y with a noisy linear response: for the
 * squared loss y = x . w + 0.5 + noise, for the logistic loss the sign of it, so that
 * the classes overlap and the logistic minimizer exists. */
static inline void sso_test_data(size_t n, size_t d, so_sso_loss loss, uint64_t seed,
                                 double *x, double *y)
{
    so_rng rng;
    so_rng_init(&rng, seed, 7);
    for (size_t i = 0; i < n * d; i++)
        x[i] = so_rng_normal(&rng);
    for (size_t i = 0; i < n; i++) {
        double t = 0.5;
        for (size_t j = 0; j < d; j++)
            t += x[i * d + j] * (double)(j + 1) / (double)d;
        t += so_rng_normal(&rng);
        y[i] = loss == SO_SSO_SQUARED ? t : (t >= 0.0 ? 1.0 : -1.0);
    }
}

/* Fills x (n x d) with standard normals and y with class indices 0..k-1: the argmax over
 * c of x . w_c + 2 N(0, 1) noise, with w_c[j] = cos(c + j), so that the classes overlap
 * and the softmax minimizer exists. */
static inline void sso_test_multiclass(size_t n, size_t d, size_t k, uint64_t seed,
                                       double *x, double *y)
{
    so_rng rng;
    so_rng_init(&rng, seed, 8);
    for (size_t i = 0; i < n * d; i++)
        x[i] = so_rng_normal(&rng);
    for (size_t i = 0; i < n; i++) {
        double best = -INFINITY;
        for (size_t c = 0; c < k; c++) {
            double t = 2.0 * so_rng_normal(&rng);
            for (size_t j = 0; j < d; j++)
                t += x[i * d + j] * cos((double)(c + j));
            if (t > best) {
                best = t;
                y[i] = (double)c;
            }
        }
    }
}

/* Creates the problem of sso_test_data (or of sso_test_multiclass with 3 classes for
 * the softmax loss); returns NULL on failure. */
static inline so_sso_problem *sso_test_problem(size_t n, size_t d, so_sso_loss loss,
                                               int intercept, uint64_t seed)
{
    double *x = malloc(n * d * sizeof *x), *y = malloc(n * sizeof *y);
    so_sso_problem *p = NULL;
    if (x != NULL && y != NULL) {
        if (loss == SO_SSO_SOFTMAX)
            sso_test_multiclass(n, d, 3, seed, x, y);
        else
            sso_test_data(n, d, loss, seed, x, y);
        if (so_sso_problem_new(&p, n, d, x, y, loss, intercept) != SO_OK)
            p = NULL;
    }
    free(x);
    free(y);
    return p;
}

#endif
