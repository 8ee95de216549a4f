/* Incomplete gamma functions for the Markov approximation of fractional Brownian motion.
 * Not part of the public API. */
#ifndef STOCHOPT_SDE_GAMMAINC_H
#define STOCHOPT_SDE_GAMMAINC_H

/* Writes P(a, x) and e^x Q(a, x), where Q = 1 - P is the regularized upper incomplete
 * gamma function. The scaled upper function stays finite for large x, where e^x
 * overflows and Q underflows. Needs a > 0 and x >= 0 (the caller checks). Returns SO_OK
 * or SO_NOT_CONVERGED. */
int so_gamma_pq_scaled_(double a, double x, double *p, double *q_scaled);

#endif
