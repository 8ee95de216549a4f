/* Internal pieces of the global module, shared with its tests. */
#ifndef STOCHOPT_GLOBAL_INTERNAL_H
#define STOCHOPT_GLOBAL_INTERNAL_H

#include <stddef.h>

#include "stochopt/core.h"
#include "stochopt/global.h"

/* One Euler-Maruyama step of the particles idx[0..m-1] of x (rows of length d) towards
 * the fixed point v: x <- x - lambda dt (x - v) + sigma sqrt(dt) D(x - v) xi. */
void so_cbo_em_step_(double *x, size_t d, const size_t *idx, size_t m, const double *v,
                     double lambda, double sigma, double dt, so_cbo_noise noise,
                     so_rng *rng);

/* Consensus hopping: replaces the particles idx[0..m-1] by samples of N(v, sigma^2 I). */
void so_cbo_hop_step_(double *x, size_t d, const size_t *idx, size_t m, const double *v,
                      double sigma, so_rng *rng);

/* Validates a configuration against the result it will fill; SO_ERR_INVALID with a
 * message naming the bad field otherwise. */
int so_cbo_check_config_(const so_cbo_config *c, const so_cbo_result *res);

#endif
