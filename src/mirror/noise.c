/* Gaussian, Student-t and symmetric Lomax noise for stochastic-gradient experiments. */
#include <math.h>

#include "stochopt/mirror.h"

/* Marsaglia and Tsang (2000): a squeeze-accepted transform of one normal for k >= 1,
 * and the boost Gamma(k) = Gamma(k + 1) U^{1/k} for k < 1. */
double so_noise_gamma(so_rng *rng, double k)
{
    if (k < 1.0) {
        double u = so_rng_uniform(rng);
        return so_noise_gamma(rng, k + 1.0) * pow(1.0 - u, 1.0 / k);
    }
    double d = k - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = so_rng_normal(rng), v = 1.0 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = 1.0 - so_rng_uniform(rng); /* in (0, 1] so that log(u) is finite */
        if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
            return d * v;
    }
}

/* Student-t with nu degrees of freedom: Z / sqrt(G / nu) with G ~ chi^2_nu = 2 Gamma(nu/2). */
double so_noise_draw(const so_noise *noise, so_rng *rng)
{
    switch (noise->kind) {
    case SO_NOISE_GAUSSIAN:
        return noise->scale * so_rng_normal(rng);
    case SO_NOISE_STUDENT_T: {
        double z = so_rng_normal(rng), g = 2.0 * so_noise_gamma(rng, 0.5 * noise->dof);
        return noise->scale * z / sqrt(g / noise->dof);
    }
    case SO_NOISE_LOMAX: {
        /* Inverts the CDF of the magnitude, with 1 - u in (0, 1] so that the draw is
         * finite. One more random bit gives the sign. */
        double u = so_rng_uniform(rng);
        double m = noise->scale * (pow(1.0 - u, -1.0 / noise->dof) - 1.0);
        return (so_rng_u32(rng) & 1u) ? m : -m;
    }
    case SO_NOISE_NONE:
        break;
    }
    return 0.0;
}
