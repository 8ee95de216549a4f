/* Butcher tableaus of the explicit Runge-Kutta methods, stored as constant descriptors.
 * Each matrix is stages x stages, row-major, lower triangular. */
#include <string.h>

#include "core/internal.h"
#include "stochopt/ode.h"

/* Forward Euler (Euler 1768): one stage, order 1. */
static const double euler_c[1] = {0.0};
static const double euler_a[1] = {0.0};
static const double euler_b[1] = {1.0};

const so_ode_method so_ode_euler = {"euler", 1, 1, 0, 0, SO_ODE_DENSE_HERMITE,
                                    euler_c, euler_a, euler_b, NULL};

/* Explicit midpoint rule (Runge 1895), order 2; Hairer, Norsett and Wanner, Solving
 * Ordinary Differential Equations I, 2nd ed., Section II.1. */
static const double midpoint_c[2] = {0.0, 0.5};
static const double midpoint_a[4] = {0.0, 0.0, 0.5, 0.0};
static const double midpoint_b[2] = {0.0, 1.0};

const so_ode_method so_ode_midpoint = {"midpoint", 2, 2, 0, 0, SO_ODE_DENSE_HERMITE,
                                       midpoint_c, midpoint_a, midpoint_b, NULL};

/* Classical fourth-order method (Kutta 1901); Hairer, Norsett and Wanner, Section II.1. */
static const double rk4_c[4] = {0.0, 0.5, 0.5, 1.0};
static const double rk4_a[16] = {
    0.0, 0.0, 0.0, 0.0,
    0.5, 0.0, 0.0, 0.0,
    0.0, 0.5, 0.0, 0.0,
    0.0, 0.0, 1.0, 0.0,
};
static const double rk4_b[4] = {1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0};

const so_ode_method so_ode_rk4 = {"rk4", 4, 4, 0, 0, SO_ODE_DENSE_HERMITE,
                                  rk4_c, rk4_a, rk4_b, NULL};

/* Bogacki and Shampine, "A 3(2) pair of Runge-Kutta formulas", Appl. Math. Lett. 2(4),
 * 321-325, 1989. The fourth stage is evaluated at the new solution (FSAL); the second
 * order solution uses b_hat = (7/24, 1/4, 1/3, 1/8). Its natural interpolant is the
 * cubic Hermite polynomial. */
static const double bosh3_c[4] = {0.0, 0.5, 0.75, 1.0};
static const double bosh3_a[16] = {
    0.0,       0.0,       0.0,       0.0,
    0.5,       0.0,       0.0,       0.0,
    0.0,       0.75,      0.0,       0.0,
    2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0,
};
static const double bosh3_b[4] = {2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0};
static const double bosh3_e[4] = {2.0 / 9.0 - 7.0 / 24.0, 1.0 / 3.0 - 1.0 / 4.0,
                                  4.0 / 9.0 - 1.0 / 3.0, -1.0 / 8.0};

const so_ode_method so_ode_bosh3 = {"bosh3", 4, 3, 2, 1, SO_ODE_DENSE_HERMITE,
                                    bosh3_c, bosh3_a, bosh3_b, bosh3_e};

/* Dormand and Prince, "A family of embedded Runge-Kutta formulae", J. Comput. Appl.
 * Math. 6(1), 19-26, 1980; Hairer, Norsett and Wanner, Section II.5. The
 * seventh stage is the derivative at the new solution (FSAL). */
static const double dopri5_c[7] = {0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0};
static const double dopri5_a[49] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0, 0.0,
    19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0, 0.0,
    9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0,
    0.0, 0.0,
    35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0, 0.0,
};
static const double dopri5_b[7] = {35.0 / 384.0,     0.0,          500.0 / 1113.0,
                                   125.0 / 192.0,    -2187.0 / 6784.0, 11.0 / 84.0,
                                   0.0};
static const double dopri5_e[7] = {
    35.0 / 384.0 - 5179.0 / 57600.0,       0.0,
    500.0 / 1113.0 - 7571.0 / 16695.0,     125.0 / 192.0 - 393.0 / 640.0,
    -2187.0 / 6784.0 + 92097.0 / 339200.0, 11.0 / 84.0 - 187.0 / 2100.0,
    -1.0 / 40.0,
};

const so_ode_method so_ode_dopri5 = {"dopri5", 7, 5, 4, 1, SO_ODE_DENSE_DOPRI5,
                                     dopri5_c, dopri5_a, dopri5_b, dopri5_e};

/* Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first column
 * simplifying assumption", Comput. Math. Appl. 62(2), 770-775, 2011, with the
 * published coefficients rounded to double precision. The error weights are
 * b - b_hat. */
static const double tsit5_c[7] = {0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0};
static const double tsit5_a[49] = {
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.161, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    -0.008480655492356989, 0.335480655492357, 0.0, 0.0, 0.0, 0.0, 0.0,
    2.8971530571054935, -6.359448489975075, 4.3622954328695815, 0.0, 0.0, 0.0, 0.0,
    5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525,
    0.0, 0.0, 0.0,
    5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401,
    -0.028269050394068383, 0.0, 0.0,
    0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742,
    -3.290069515436081, 2.324710524099774, 0.0,
};
static const double tsit5_b[7] = {0.09646076681806523, 0.01, 0.4798896504144996,
                                  1.379008574103742,   -3.290069515436081,
                                  2.324710524099774,   0.0};
static const double tsit5_e[7] = {
    0.00178001105222577714, 0.0008164344596567469, -0.007880878010261995,
    0.1447110071732629,     -0.5823571654525552,   0.45808210592918697,
    -1.0 / 66.0,
};

const so_ode_method so_ode_tsit5 = {"tsit5", 7, 5, 4, 1, SO_ODE_DENSE_TSIT5,
                                    tsit5_c, tsit5_a, tsit5_b, tsit5_e};

const so_ode_method *so_ode_method_by_name(const char *name)
{
    static const so_ode_method *const methods[] = {&so_ode_euler,  &so_ode_midpoint,
                                                   &so_ode_rk4,    &so_ode_bosh3,
                                                   &so_ode_dopri5, &so_ode_tsit5};
    if (name == NULL) {
        so_fail_(SO_ERR_INVALID, "ODE method name is NULL; expected one of euler, "
                                 "midpoint, rk4, bosh3, dopri5, tsit5");
        return NULL;
    }
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i]->name, name) == 0)
            return methods[i];
    so_fail_(SO_ERR_NOT_FOUND, "unknown ODE method \"%s\"; expected one of euler, midpoint, "
                               "rk4, bosh3, dopri5, tsit5", name);
    return NULL;
}
