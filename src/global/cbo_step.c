/* The particle moves of CBO: Euler-Maruyama and consensus hopping. */
#include <math.h>

#include "global/global_internal.h"

/* Drift -lambda (x - v) dt plus multiplicative noise. The isotropic noise scales one
 * Gaussian vector by |x - v| (Pinnau et al. 2017); the anisotropic noise scales
 * each coordinate by its own |x_i - v_i| (Carrillo, Jin, Li and Zhu 2021), which keeps
 * the per-coordinate variance independent of the dimension. */
void so_cbo_em_step_(double *x, size_t d, const size_t *idx, size_t m, const double *v,
                     double lambda, double sigma, double dt, so_cbo_noise noise,
                     so_rng *rng)
{
    const double drift = lambda * dt, scale = sigma * sqrt(dt);
    for (size_t k = 0; k < m; k++) {
        double *xi = x + idx[k] * d;
        double dist = 0;
        if (noise == SO_CBO_ISOTROPIC) {
            for (size_t i = 0; i < d; i++)
                dist += (xi[i] - v[i]) * (xi[i] - v[i]);
            dist = sqrt(dist);
        }
        for (size_t i = 0; i < d; i++) {
            double u = xi[i] - v[i];
            double amp = noise == SO_CBO_ISOTROPIC ? dist : u;
            xi[i] = xi[i] - drift * u + scale * amp * so_rng_normal(rng);
        }
    }
}

/* Consensus hopping (Riedl, Klock, Geldhauser and Fornasier 2023): the next ensemble is drawn
 * around the current consensus point, so the only memory is v itself. */
void so_cbo_hop_step_(double *x, size_t d, const size_t *idx, size_t m, const double *v,
                      double sigma, so_rng *rng)
{
    for (size_t k = 0; k < m; k++) {
        double *xi = x + idx[k] * d;
        for (size_t i = 0; i < d; i++)
            xi[i] = v[i] + sigma * so_rng_normal(rng);
    }
}
