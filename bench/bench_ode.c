/* Adaptive ODE benchmark: stochopt's Dopri5 and Tsit5 on three nonstiff problems.
 *
 *   bench_ode [--no-time]
 *
 * Problems (the same in bench/ode_scipy.py and bench/peers/ode_arkode.c):
 *   lotka      x' = 1.5 x - x y, y' = -3 y + x y from (1, 1) on [0, 10]
 *   vdp        Van der Pol, mu = 1: x' = y, y' = (1 - x^2) y - x from (2, 0) on [0, 20]
 *   arenstorf  the restricted three-body orbit of Hairer, Norsett and Wanner
 *              (Section II.0) over one period T = 17.0652165601579625588917206249
 * at rtol = atol in {1e-6, 1e-9}. Prints a Markdown table with the right-hand-side
 * evaluations (NFE), accepted and rejected steps, the error max_i |y_i(t1) - ref_i|
 * against a 40-digit Taylor-series reference (mpmath's odefun, printed by
 * `bench/ode_scipy.py --reference`) and the median over 5 samples of the time per
 * solve, each sample repeating the solve until it has run for at least 0.2 s.
 * --no-time skips the timing.
 *
 * Controllers: "PI" is the default (beta1 = 0.14, beta2 = 0.08); "I" is
 * SO_ODE_CONTROLLER_I with beta1 = 1/5, SciPy's RK45 controller. "I, SciPy h0" also takes SciPy's first step:
 * Hairer's starting-step rule with the exponent 1/(q + 1) of the error order q = 4 in
 * place of 1/(p + 1) with p = 5; its NFE includes the one probe evaluation of that rule.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/ode.h"

#define ARENSTORF_MU 0.012277471
#define MAX_DIM 4

static int lotka(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = 1.5 * y[0] - y[0] * y[1];
    dydt[1] = -3.0 * y[1] + y[0] * y[1];
    return 0;
}

static int vdp(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = y[1];
    dydt[1] = (1.0 - y[0] * y[0]) * y[1] - y[0];
    return 0;
}

/* State (y1, y2, y1', y2'). */
static int arenstorf(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    const double mu = ARENSTORF_MU, mup = 1.0 - mu;
    const double a = y[0] + mu, b = y[0] - mup, y2sq = y[1] * y[1];
    const double r1sq = a * a + y2sq, r2sq = b * b + y2sq;
    const double r1 = r1sq * sqrt(r1sq), r2 = r2sq * sqrt(r2sq);
    dydt[0] = y[2];
    dydt[1] = y[3];
    dydt[2] = y[0] + 2.0 * y[3] - mup * a / r1 - mu * b / r2;
    dydt[3] = y[1] - 2.0 * y[2] - mup * y[1] / r1 - mu * y[1] / r2;
    return 0;
}

typedef struct problem {
    const char *name;
    size_t n;
    so_ode_rhs_fn rhs;
    double t1;
    double y0[MAX_DIM];
    double ref[MAX_DIM]; /* y(t1) from `bench/ode_scipy.py --reference` */
} problem;

static const problem problems[] = {
    {"lotka", 2, lotka, 10.0, {1.0, 1.0}, {1.0263447675750894, 0.90969107813604166}},
    {"vdp", 2, vdp, 20.0, {2.0, 0.0}, {2.0081497621749484, -0.04250887527320215}},
    {"arenstorf", 4, arenstorf, 17.0652165601579625588917206249,
     {0.994, 0.0, 0.0, -2.00158510637908252240537862224},
     {0.99399999999997402, -8.8551346201210835e-14, -1.4388667357318094e-11,
      -2.0015851063831289}},
};

typedef enum controller { CONTROL_PI, CONTROL_I, CONTROL_I_SCIPY_H0 } controller;

static const char *controller_name(controller c)
{
    switch (c) {
    case CONTROL_PI:
        return "PI (0.14, 0.08), safety 0.9";
    case CONTROL_I:
        return "I (1/5), safety 0.9";
    case CONTROL_I_SCIPY_H0:
    default:
        return "I (1/5), safety 0.9, SciPy h0";
    }
}

static double rms_scaled(const double *v, const double *y, size_t n, double tol)
{
    double sum = 0.0;
    for (size_t q = 0; q < n; q++) {
        double r = v[q] / (tol + tol * fabs(y[q]));
        sum += r * r;
    }
    return sqrt(sum / (double)n);
}

/* SciPy 1.10's select_initial_step for RK45 (error order 4) at rtol = atol = tol. */
static double scipy_first_step(const problem *p, double tol)
{
    double f0[MAX_DIM], f1[MAX_DIM], y1[MAX_DIM], df[MAX_DIM];
    const size_t n = p->n;
    p->rhs(NULL, 0.0, p->y0, f0);
    double d0 = rms_scaled(p->y0, p->y0, n, tol), d1 = rms_scaled(f0, p->y0, n, tol);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    for (size_t q = 0; q < n; q++)
        y1[q] = p->y0[q] + h0 * f0[q];
    p->rhs(NULL, h0, y1, f1);
    for (size_t q = 0; q < n; q++)
        df[q] = f1[q] - f0[q];
    double d2 = rms_scaled(df, p->y0, n, tol) / h0;
    double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? fmax(1e-6, h0 * 1e-3)
                                              : pow(0.01 / fmax(d1, d2), 1.0 / 5.0);
    return fmin(100.0 * h0, h1);
}

static void fail(const char *call)
{
    fprintf(stderr, "bench_ode: %s failed: %s\n", call, so_last_error());
    exit(1);
}

typedef struct row {
    so_ode_stats stats;
    double error, seconds;
} row;

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static row run(const problem *p, const so_ode_method *method, controller c, double tol,
               int timed)
{
    so_ode_options o = so_ode_options_default();
    o.rtol = tol;
    o.atol = tol;
    if (c != CONTROL_PI) {
        o.controller = SO_ODE_CONTROLLER_I;
    }
    if (c == CONTROL_I_SCIPY_H0)
        o.dt = scipy_first_step(p, tol);
    so_ode *ode = NULL;
    if (so_ode_new(&ode, method, p->n, &o) != SO_OK)
        fail("so_ode_new");
    row r;
    memset(&r, 0, sizeof r);
    if (so_ode_solve(ode, p->rhs, NULL, 0.0, p->t1, p->y0, NULL, 0, NULL, &r.stats) != SO_OK)
        fail("so_ode_solve");
    if (c == CONTROL_I_SCIPY_H0)
        r.stats.nfev += 1;
    const double *y = so_ode_y(ode);
    for (size_t q = 0; q < p->n; q++)
        r.error = fmax(r.error, fabs(y[q] - p->ref[q]));

    if (timed) {
        double samples[5];
        for (int s = 0; s < 5; s++) {
            long reps = 0;
            double start = so_time_now(), elapsed;
            do {
                if (so_ode_solve(ode, p->rhs, NULL, 0.0, p->t1, p->y0, NULL, 0, NULL,
                                 NULL) != SO_OK)
                    fail("so_ode_solve");
                reps++;
                elapsed = so_time_now() - start;
            } while (elapsed < 0.2);
            samples[s] = elapsed / (double)reps;
        }
        qsort(samples, 5, sizeof samples[0], compare_doubles);
        r.seconds = samples[2];
    }
    so_ode_free(&ode);
    return r;
}

int main(int argc, char **argv)
{
    int timed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-time") == 0) {
            timed = 0;
        } else {
            fprintf(stderr, "usage: bench_ode [--no-time]\n");
            return 2;
        }
    }
    static const double tols[] = {1e-6, 1e-9};
    const struct {
        const so_ode_method *method;
        controller c;
    } variants[] = {
        {&so_ode_dopri5, CONTROL_PI},         {&so_ode_dopri5, CONTROL_I},
        {&so_ode_dopri5, CONTROL_I_SCIPY_H0}, {&so_ode_tsit5, CONTROL_PI},
        {&so_ode_tsit5, CONTROL_I},
    };
    printf("| problem | tol | method | controller | NFE | accepted | rejected | error "
           "| seconds per solve |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (size_t ip = 0; ip < sizeof problems / sizeof problems[0]; ip++) {
        for (size_t it = 0; it < 2; it++) {
            for (size_t iv = 0; iv < sizeof variants / sizeof variants[0]; iv++) {
                row r = run(&problems[ip], variants[iv].method, variants[iv].c, tols[it],
                            timed);
                printf("| %s | %.0e | stochopt %s | %s | %ld | %ld | %ld | %.2e | %.3e |\n",
                       problems[ip].name, tols[it], variants[iv].method->name,
                       controller_name(variants[iv].c), r.stats.nfev, r.stats.accepted,
                       r.stats.rejected, r.error, r.seconds);
                fflush(stdout);
            }
        }
    }
    return 0;
}
