/* Dense output inside an accepted step: cubic Hermite interpolation, Shampine's
 * interpolant for Dormand-Prince 5(4) and Tsitouras' interpolant for Tsit5. */
#include "ode/ode_internal.h"

/* Shampine, "Some practical Runge-Kutta formulas", Math. Comp. 46(173), 135-150, 1986,
 * in the form of Hairer, Norsett and Wanner, Section II.6 (dense output of order 4).
 * Stage 2 has a zero weight. */
static const double dopri5_d[7] = {
    -12715105075.0 / 11282082432.0, 0.0, 87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0, 701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0, 69997945.0 / 29380423.0,
};

/* The weights b_j(theta) of the fourth-order continuous extension of Tsitouras (2011),
 * expanded as coefficients of theta, theta^2, theta^3 and theta^4. At theta = 1 each
 * b_j(theta) equals b_j. */
static const double tsit5_r[7][4] = {
    {1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216},
    {0.0, 0.13169999999999998, -0.2234, 0.1017},
    {0.0, 3.9302962368947516, -5.941033872131505, 2.490627285651253},
    {0.0, -12.411077166933676, 30.33818863028232, -16.548102889244902},
    {0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928},
    {0.0, -27.896526289197286, 65.09189467479366, -34.87065786149660},
    {0.0, 1.5, -4.0, 2.5},
};

void so_ode_dense_eval_(const so_ode *ode, double h, const double *f_end, double theta,
                        double *out)
{
    const size_t n = ode->n;
    const double *y0 = ode->y, *y1 = ode->y_new, *k = ode->k;
    if (theta <= 0.0 || theta >= 1.0) {
        const double *src = theta <= 0.0 ? y0 : y1;
        for (size_t q = 0; q < n; q++)
            out[q] = src[q];
        return;
    }
    switch (ode->method->dense) {
    case SO_ODE_DENSE_DOPRI5: {
        const double theta1 = 1.0 - theta;
        for (size_t q = 0; q < n; q++) {
            double dy = y1[q] - y0[q];
            double bspl = h * k[q] - dy;
            double r4 = dy - h * k[6 * n + q] - bspl;
            double sum = 0.0;
            for (int j = 0; j < 7; j++)
                sum += dopri5_d[j] * k[(size_t)j * n + q];
            double r5 = h * sum;
            out[q] = y0[q] + theta * (dy + theta1 * (bspl + theta * (r4 + theta1 * r5)));
        }
        return;
    }
    case SO_ODE_DENSE_TSIT5: {
        double w[7];
        for (int j = 0; j < 7; j++)
            w[j] = theta * (tsit5_r[j][0] +
                            theta * (tsit5_r[j][1] +
                                     theta * (tsit5_r[j][2] + theta * tsit5_r[j][3])));
        for (size_t q = 0; q < n; q++) {
            double sum = 0.0;
            for (int j = 0; j < 7; j++)
                sum += w[j] * k[(size_t)j * n + q];
            out[q] = y0[q] + h * sum;
        }
        return;
    }
    case SO_ODE_DENSE_HERMITE:
    default: {
        const double t2 = theta * theta, t3 = t2 * theta;
        const double h00 = 2.0 * t3 - 3.0 * t2 + 1.0, h10 = t3 - 2.0 * t2 + theta;
        const double h01 = -2.0 * t3 + 3.0 * t2, h11 = t3 - t2;
        for (size_t q = 0; q < n; q++)
            out[q] = h00 * y0[q] + h10 * h * k[q] + h01 * y1[q] + h11 * h * f_end[q];
        return;
    }
    }
}
