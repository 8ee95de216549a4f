/* Standard test functions for global optimization, in their usual forms. */
#include <math.h>
#include <string.h>

#include "stochopt/global.h"

static const char *const testfun_names[] = {"sphere", "rastrigin", "ackley", "rosenbrock",
                                            "griewank"};

int so_testfun_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof testfun_names / sizeof testfun_names[0]; i++)
        if (strcmp(name, testfun_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *so_testfun_name(so_testfun fn)
{
    if ((unsigned)fn < sizeof testfun_names / sizeof testfun_names[0])
        return testfun_names[fn];
    return "unknown";
}

static double ackley(size_t d, const double *x)
{
    const double two_pi = 6.283185307179586;
    double sq = 0, cs = 0;
    for (size_t i = 0; i < d; i++) {
        sq += x[i] * x[i];
        cs += cos(two_pi * x[i]);
    }
    return -20.0 * exp(-0.2 * sqrt(sq / (double)d)) - exp(cs / (double)d) + 20.0 + exp(1.0);
}

static double griewank(size_t d, const double *x)
{
    double sq = 0, prod = 1;
    for (size_t i = 0; i < d; i++) {
        sq += x[i] * x[i];
        prod *= cos(x[i] / sqrt((double)(i + 1)));
    }
    return 1.0 + sq / 4000.0 - prod;
}

double so_testfun_eval(so_testfun fn, size_t d, const double *x)
{
    const double two_pi = 6.283185307179586;
    double s = 0;
    switch (fn) {
    case SO_TESTFUN_SPHERE:
        for (size_t i = 0; i < d; i++)
            s += x[i] * x[i];
        return s;
    case SO_TESTFUN_RASTRIGIN:
        for (size_t i = 0; i < d; i++)
            s += x[i] * x[i] - 10.0 * cos(two_pi * x[i]);
        return 10.0 * (double)d + s;
    case SO_TESTFUN_ACKLEY:
        return ackley(d, x);
    case SO_TESTFUN_ROSENBROCK:
        for (size_t i = 0; i + 1 < d; i++) {
            double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
            s += 100.0 * a * a + b * b;
        }
        return s;
    case SO_TESTFUN_GRIEWANK:
        return griewank(d, x);
    }
    return NAN;
}

void so_testfun_minimizer(so_testfun fn, size_t d, double *x)
{
    for (size_t i = 0; i < d; i++)
        x[i] = fn == SO_TESTFUN_ROSENBROCK ? 1.0 : 0.0;
}

int so_testfun_batch(void *user, size_t n, size_t d, const double *x, double *f)
{
    so_testfun fn = *(const so_testfun *)user;
    for (size_t i = 0; i < n; i++)
        f[i] = so_testfun_eval(fn, d, x + i * d);
    return 0;
}
