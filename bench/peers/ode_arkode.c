/* SUNDIALS ARKODE's Dormand-Prince 5(4) on the adaptive ODE benchmark problems.
 *
 * Not part of the CMake build, so that neither the library nor CI needs SUNDIALS.
 * Against Debian's libsundials-dev 6.4:
 *
 *   gcc -O2 bench/peers/ode_arkode.c -o ode_arkode -lsundials_arkode -lsundials_nvecserial -lm
 *   ./ode_arkode [--no-time]
 *
 * Problems, tolerances, reference states, error and timing are those of
 * bench/bench_ode.c: lotka, vdp (mu = 1) and arenstorf at rtol = atol in {1e-6, 1e-9},
 * the error max_i |y_i(t1) - ref_i|, and the median over 5 samples of the time per
 * solve, each sample repeating the solve until it has run for at least 0.2 s. Every
 * solve re-initializes the integrator (ReInit and SetStopTime), which keeps the options
 * and restarts the step-size history and the first-step estimate.
 *
 * Rows (ARKODE_DORMAND_PRINCE_7_4_5, stop time t1, at most 100000 steps):
 *   ARKStep defaults  only the table and the tolerances; the 6.4 defaults are the PID
 *                     controller, safety 0.96, error bias 1.5, growth limit 20 (10000
 *                     on the first step), no change for step ratios in [1, 1.5]
 *   ARKStep PI        the settings of stochopt's default controller: PI with
 *                     k1 = 0.7, k2 = 0.4 divided by the method order 5 (pq = 1), that
 *                     is E^-0.14 E_prev^0.08, safety 0.9, bias 1, ratio limits [0.2, 10]
 *                     on every step including the first, fixed-step window [1, 1]
 *   ARKStep I         the same with the I controller, k1 = 1 (E^-1/5, SciPy's RK45)
 *   ERKStep PI, I     the same settings in ERKStep, ARKODE's explicit-only stepper
 * Differences that remain: ARKODE's error weights are 1 / (atol + rtol |y_n|) from the
 * state at the start of the step (stochopt and SciPy use max(|y_n|, |y_n+1|)), its
 * first step comes from its own estimate, a rejected step is retried with a size from
 * the same controller formula (stochopt and SciPy use the I formula there), and from
 * the second rejection of the same step on, the retry is at most 0.3 times as long.
 * The 6.4 defaults quoted above are the constants of SUNDIALS' src/arkode/arkode_impl.h.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arkode/arkode_arkstep.h>
#include <arkode/arkode_erkstep.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>

#define ARENSTORF_MU 0.012277471
#define MAX_DIM 4

static int lotka(realtype t, N_Vector yv, N_Vector dv, void *user)
{
    (void)t;
    (void)user;
    const double *y = N_VGetArrayPointer(yv);
    double *dydt = N_VGetArrayPointer(dv);
    dydt[0] = 1.5 * y[0] - y[0] * y[1];
    dydt[1] = -3.0 * y[1] + y[0] * y[1];
    return 0;
}

static int vdp(realtype t, N_Vector yv, N_Vector dv, void *user)
{
    (void)t;
    (void)user;
    const double *y = N_VGetArrayPointer(yv);
    double *dydt = N_VGetArrayPointer(dv);
    dydt[0] = y[1];
    dydt[1] = (1.0 - y[0] * y[0]) * y[1] - y[0];
    return 0;
}

/* State (y1, y2, y1', y2'). */
static int arenstorf(realtype t, N_Vector yv, N_Vector dv, void *user)
{
    (void)t;
    (void)user;
    const double *y = N_VGetArrayPointer(yv);
    double *dydt = N_VGetArrayPointer(dv);
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
    sunindextype n;
    ARKRhsFn rhs;
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

typedef enum variant { ARK_DEFAULTS, ARK_PI, ARK_I, ERK_PI, ERK_I, VARIANT_COUNT } variant;

static int is_erk(variant v)
{
    return v == ERK_PI || v == ERK_I;
}

static const char *variant_method(variant v)
{
    return is_erk(v) ? "ARKODE ERKStep DP 5(4)" : "ARKODE ARKStep DP 5(4)";
}

static const char *variant_controller(variant v)
{
    switch (v) {
    case ARK_DEFAULTS:
        return "defaults (PID, safety 0.96, bias 1.5)";
    case ARK_PI:
    case ERK_PI:
        return "PI (0.14, 0.08), safety 0.9";
    default:
        return "I (1/5), safety 0.9";
    }
}

static void check(int flag, const char *call)
{
    if (flag < 0) {
        fprintf(stderr, "ode_arkode: %s returned %d\n", call, flag);
        exit(1);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sets the options of variant v on a freshly created integrator. */
static void configure(void *mem, variant v, double tol)
{
    realtype pi_params[3] = {0.7, 0.4, 0.0};
    realtype i_params[3] = {1.0, 0.0, 0.0};
    int method = (v == ARK_I || v == ERK_I) ? ARK_ADAPT_I : ARK_ADAPT_PI;
    realtype *params = method == ARK_ADAPT_I ? i_params : pi_params;

    if (is_erk(v)) {
        check(ERKStepSetTableNum(mem, ARKODE_DORMAND_PRINCE_7_4_5), "ERKStepSetTableNum");
        check(ERKStepSStolerances(mem, tol, tol), "ERKStepSStolerances");
        check(ERKStepSetMaxNumSteps(mem, 100000), "ERKStepSetMaxNumSteps");
        check(ERKStepSetAdaptivityMethod(mem, method, 0, 1, params), "ERKStepSetAdaptivityMethod");
        check(ERKStepSetSafetyFactor(mem, 0.9), "ERKStepSetSafetyFactor");
        check(ERKStepSetErrorBias(mem, 1.0), "ERKStepSetErrorBias");
        check(ERKStepSetMaxGrowth(mem, 10.0), "ERKStepSetMaxGrowth");
        check(ERKStepSetMaxFirstGrowth(mem, 10.0), "ERKStepSetMaxFirstGrowth");
        check(ERKStepSetMinReduction(mem, 0.2), "ERKStepSetMinReduction");
        check(ERKStepSetFixedStepBounds(mem, 1.0, 1.0), "ERKStepSetFixedStepBounds");
        return;
    }
    check(ARKStepSetTableNum(mem, ARKODE_DIRK_NONE, ARKODE_DORMAND_PRINCE_7_4_5),
          "ARKStepSetTableNum");
    check(ARKStepSStolerances(mem, tol, tol), "ARKStepSStolerances");
    check(ARKStepSetMaxNumSteps(mem, 100000), "ARKStepSetMaxNumSteps");
    if (v == ARK_DEFAULTS)
        return;
    check(ARKStepSetAdaptivityMethod(mem, method, 0, 1, params), "ARKStepSetAdaptivityMethod");
    check(ARKStepSetSafetyFactor(mem, 0.9), "ARKStepSetSafetyFactor");
    check(ARKStepSetErrorBias(mem, 1.0), "ARKStepSetErrorBias");
    check(ARKStepSetMaxGrowth(mem, 10.0), "ARKStepSetMaxGrowth");
    check(ARKStepSetMaxFirstGrowth(mem, 10.0), "ARKStepSetMaxFirstGrowth");
    check(ARKStepSetMinReduction(mem, 0.2), "ARKStepSetMinReduction");
    check(ARKStepSetFixedStepBounds(mem, 1.0, 1.0), "ARKStepSetFixedStepBounds");
}

typedef struct row {
    long nfe, accepted, rejected;
    double error, seconds;
} row;

/* Solves the problem from t = 0 to t1 with an integrator created for it and variant v,
 * re-initializing it first. */
static void solve(void *mem, const problem *p, variant v, N_Vector y)
{
    double *yd = N_VGetArrayPointer(y);
    realtype t = 0.0;
    memcpy(yd, p->y0, (size_t)p->n * sizeof(double));
    if (is_erk(v)) {
        check(ERKStepReInit(mem, p->rhs, 0.0, y), "ERKStepReInit");
        check(ERKStepSetStopTime(mem, p->t1), "ERKStepSetStopTime");
        check(ERKStepEvolve(mem, p->t1, y, &t, ARK_NORMAL), "ERKStepEvolve");
    } else {
        check(ARKStepReInit(mem, p->rhs, NULL, 0.0, y), "ARKStepReInit");
        check(ARKStepSetStopTime(mem, p->t1), "ARKStepSetStopTime");
        check(ARKStepEvolve(mem, p->t1, y, &t, ARK_NORMAL), "ARKStepEvolve");
    }
    if (t != p->t1) {
        fprintf(stderr, "ode_arkode: %s stopped at t = %.17g before t1 = %.17g\n", p->name, t,
                p->t1);
        exit(1);
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static row run(SUNContext ctx, const problem *p, variant v, double tol, int timed)
{
    N_Vector y = N_VNew_Serial(p->n, ctx);
    if (y == NULL) {
        fprintf(stderr, "ode_arkode: N_VNew_Serial failed\n");
        exit(1);
    }
    memcpy(N_VGetArrayPointer(y), p->y0, (size_t)p->n * sizeof(double));
    void *mem = is_erk(v) ? ERKStepCreate(p->rhs, 0.0, y, ctx)
                          : ARKStepCreate(p->rhs, NULL, 0.0, y, ctx);
    if (mem == NULL) {
        fprintf(stderr, "ode_arkode: creating the integrator failed\n");
        exit(1);
    }
    configure(mem, v, tol);

    row r;
    memset(&r, 0, sizeof r);
    solve(mem, p, v, y);
    long nfe = 0, nfi = 0, nst = 0, netf = 0;
    if (is_erk(v)) {
        check(ERKStepGetNumRhsEvals(mem, &nfe), "ERKStepGetNumRhsEvals");
        check(ERKStepGetNumSteps(mem, &nst), "ERKStepGetNumSteps");
        check(ERKStepGetNumErrTestFails(mem, &netf), "ERKStepGetNumErrTestFails");
    } else {
        check(ARKStepGetNumRhsEvals(mem, &nfe, &nfi), "ARKStepGetNumRhsEvals");
        check(ARKStepGetNumSteps(mem, &nst), "ARKStepGetNumSteps");
        check(ARKStepGetNumErrTestFails(mem, &netf), "ARKStepGetNumErrTestFails");
    }
    r.nfe = nfe;
    r.accepted = nst;
    r.rejected = netf;
    const double *yd = N_VGetArrayPointer(y);
    for (sunindextype q = 0; q < p->n; q++)
        r.error = fmax(r.error, fabs(yd[q] - p->ref[q]));

    if (timed) {
        double samples[5];
        for (int s = 0; s < 5; s++) {
            long reps = 0;
            double start = now(), elapsed;
            do {
                solve(mem, p, v, y);
                reps++;
                elapsed = now() - start;
            } while (elapsed < 0.2);
            samples[s] = elapsed / (double)reps;
        }
        qsort(samples, 5, sizeof samples[0], compare_doubles);
        r.seconds = samples[2];
    }
    if (is_erk(v))
        ERKStepFree(&mem);
    else
        ARKStepFree(&mem);
    N_VDestroy(y);
    return r;
}

int main(int argc, char **argv)
{
    int timed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-time") == 0) {
            timed = 0;
        } else {
            fprintf(stderr, "usage: ode_arkode [--no-time]\n");
            return 2;
        }
    }
    SUNContext ctx;
    check(SUNContext_Create(NULL, &ctx), "SUNContext_Create");
    static const double tols[] = {1e-6, 1e-9};
    printf("| problem | tol | method | controller | NFE | accepted | rejected | error "
           "| seconds per solve |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (size_t ip = 0; ip < sizeof problems / sizeof problems[0]; ip++) {
        for (size_t it = 0; it < 2; it++) {
            for (int v = 0; v < VARIANT_COUNT; v++) {
                row r = run(ctx, &problems[ip], (variant)v, tols[it], timed);
                printf("| %s | %.0e | %s | %s | %ld | %ld | %ld | %.2e | %.3e |\n",
                       problems[ip].name, tols[it], variant_method((variant)v),
                       variant_controller((variant)v), r.nfe, r.accepted, r.rejected,
                       r.error, r.seconds);
                fflush(stdout);
            }
        }
    }
    SUNContext_Free(&ctx);
    return 0;
}
