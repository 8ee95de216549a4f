/* Replay of recorded steps and the discrete adjoint: bit-for-bit agreement of the
 * replay with the adaptive solve, gradients against central finite differences of the
 * replay (step pattern fixed), the RK4 stability polynomial, and argument errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ode.h"

enum { MAX_N = 4, MAX_P = 20, MAX_SAVE = 8 };

/* The recorded solves use rtol = 1e-4, atol = 1e-6, and the finite differences the
 * fourth-order stencil (8 (L(x+d) - L(x-d)) - (L(x+2d) - L(x-2d))) / (12 d) with
 * d = 1e-4 (1 + |x|). E_j comes from err = h sum_j e_j k_j, a sum of nearly cancelling
 * terms, so it carries rounding noise that grows as rtol shrinks, and it has kinks
 * where max(|y_i|, |y_new_i|) switches sides. Tighter tolerances or a smaller d let that
 * noise reach 1e-6 of the gradient, and a larger d crosses kinks. */
#define REC_RTOL 1e-4
#define FD_STEP 1e-4

/* ---- Test problems: the parameters p are read through user. ---- */

typedef struct model {
    size_t n, np;
    double p[MAX_P];
} model;

/* y' = A y with p = A (n x n, row-major). */
static int linear_rhs(void *user, double t, const double *y, double *dydt)
{
    const model *md = user;
    (void)t;
    for (size_t i = 0; i < md->n; i++) {
        double sum = 0.0;
        for (size_t j = 0; j < md->n; j++)
            sum += md->p[i * md->n + j] * y[j];
        dydt[i] = sum;
    }
    return 0;
}

static int linear_vjp(void *user, double t, const double *y, const double *v, double *vy,
                      double *vp)
{
    const model *md = user;
    const size_t n = md->n;
    (void)t;
    for (size_t j = 0; j < n; j++) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += md->p[i * n + j] * v[i];
        vy[j] = sum;
    }
    if (vp != NULL)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                vp[i * n + j] = v[i] * y[j];
    return 0;
}

/* Lotka-Volterra x' = a x - b x y, y' = -c y + d x y with p = (a, b, c, d). */
static int lotka_rhs(void *user, double t, const double *y, double *dydt)
{
    const double *p = ((const model *)user)->p;
    (void)t;
    dydt[0] = p[0] * y[0] - p[1] * y[0] * y[1];
    dydt[1] = -p[2] * y[1] + p[3] * y[0] * y[1];
    return 0;
}

static int lotka_vjp(void *user, double t, const double *y, const double *v, double *vy,
                     double *vp)
{
    const double *p = ((const model *)user)->p;
    (void)t;
    vy[0] = (p[0] - p[1] * y[1]) * v[0] + p[3] * y[1] * v[1];
    vy[1] = -p[1] * y[0] * v[0] + (-p[2] + p[3] * y[0]) * v[1];
    if (vp != NULL) {
        vp[0] = v[0] * y[0];
        vp[1] = -v[0] * y[0] * y[1];
        vp[2] = -v[1] * y[1];
        vp[3] = v[1] * y[0] * y[1];
    }
    return 0;
}

/* Neural ODE y' = tanh(W y + b), n = 4, with p = (W row-major, b): 20 parameters. */
static int neural_rhs(void *user, double t, const double *y, double *dydt)
{
    const double *p = ((const model *)user)->p;
    (void)t;
    for (int i = 0; i < 4; i++) {
        double z = p[16 + i];
        for (int j = 0; j < 4; j++)
            z += p[4 * i + j] * y[j];
        dydt[i] = tanh(z);
    }
    return 0;
}

static int neural_vjp(void *user, double t, const double *y, const double *v, double *vy,
                      double *vp)
{
    const double *p = ((const model *)user)->p;
    double u[4];
    (void)t;
    for (int i = 0; i < 4; i++) {
        double z = p[16 + i];
        for (int j = 0; j < 4; j++)
            z += p[4 * i + j] * y[j];
        double th = tanh(z);
        u[i] = v[i] * (1.0 - th * th);
    }
    for (int j = 0; j < 4; j++) {
        double sum = 0.0;
        for (int i = 0; i < 4; i++)
            sum += p[4 * i + j] * u[i];
        vy[j] = sum;
    }
    if (vp != NULL) {
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++)
                vp[4 * i + j] = u[i] * y[j];
            vp[16 + i] = u[i];
        }
    }
    return 0;
}

typedef struct problem {
    const char *name;
    so_ode_rhs_fn rhs;
    so_ode_vjp_fn vjp;
    model md;
    double y0[MAX_N];
    double t0, t1;
} problem;

static problem linear_problem(void)
{
    problem pr = {"linear", linear_rhs, linear_vjp, {3, 9, {0}}, {1.0, -0.5, 0.25, 0},
                  0.0, 2.0};
    const double a[9] = {-0.5, 1.0, 0.2, -1.0, -0.3, 0.4, 0.1, -0.6, -0.8};
    memcpy(pr.md.p, a, sizeof a);
    return pr;
}

static problem lotka_problem(void)
{
    problem pr = {"lotka-volterra", lotka_rhs, lotka_vjp, {2, 4, {1.5, 1.0, 3.0, 1.0}},
                  {1.0, 1.0, 0, 0}, 0.0, 4.0};
    return pr;
}

static problem neural_problem(void)
{
    problem pr = {"neural", neural_rhs, neural_vjp, {4, 20, {0}}, {0.5, -0.3, 0.8, -1.1},
                  0.0, 3.0};
    const double p[20] = {-0.9, 0.7,  0.2, -0.4, -0.6, -0.5, 0.8,  0.1, 0.3,  -0.7,
                          -0.4, 0.6,  0.5, 0.2,  -0.8, -0.6, 0.1,  -0.2, 0.05, 0.15};
    memcpy(pr.md.p, p, sizeof p);
    return pr;
}

/* ---- Helpers ---- */

/* Solves the problem with step recording and copies the steps into *steps (malloc). */
static size_t record_solve(const so_ode_method *method, problem *pr, int backward,
                           so_ode **ode_out, so_ode_step **steps)
{
    so_ode_options o = so_ode_options_default();
    const double span = pr->t1 - pr->t0;
    o.rtol = REC_RTOL;
    o.atol = REC_RTOL * 1e-2;
    if (method->error_weights == NULL)
        o.dt = span / 24.0;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, method, pr->md.n, &o), SO_OK);
    assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
    double t0 = backward ? pr->t1 : pr->t0, t1 = backward ? pr->t0 : pr->t1;
    assert_int_equal(so_ode_solve(ode, pr->rhs, &pr->md, t0, t1, pr->y0, NULL, 0, NULL,
                                  NULL),
                     SO_OK);
    size_t count = 0;
    const so_ode_step *rec = so_ode_steps(ode, &count);
    assert_true(count >= 4);
    *steps = malloc(count * sizeof **steps);
    assert_non_null(*steps);
    memcpy(*steps, rec, count * sizeof **steps);
    *ode_out = ode;
    return count;
}

/* Save times of both kinds: the start, a step end, two times strictly inside steps and
 * the end of the last step. Returns the count. */
static size_t pick_save_times(const so_ode_step *steps, size_t nsteps, double *ts)
{
    size_t a = nsteps / 3, b = nsteps / 2, c = (2 * nsteps) / 3;
    ts[0] = steps[0].t;
    ts[1] = steps[a].t + 0.37 * steps[a].dt;
    ts[2] = steps[b].t; /* end of step b - 1 */
    ts[3] = steps[c].t + 0.81 * steps[c].dt;
    ts[4] = steps[nsteps - 1].t + steps[nsteps - 1].dt;
    return 5;
}

/* Deterministic weights in [-1, 1]. */
static void fill_weights(double *w, size_t count, unsigned seed)
{
    uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (size_t i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w[i] = (double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
}

typedef struct loss_spec {
    const char *name;
    int task;
    double w_error, w_stiffness;
} loss_spec;

typedef struct case_setup {
    so_ode *ode;
    problem pr;
    so_ode_step *steps;
    size_t nsteps;
    double y0[MAX_N];
    double save_times[MAX_SAVE];
    size_t nsave;
    double dl[MAX_SAVE * MAX_N];
    loss_spec loss;
} case_setup;

/* L through so_ode_replay at the current y0 and parameters. */
static double replay_loss(case_setup *cs, const double *y0)
{
    double ysave[MAX_SAVE * MAX_N];
    so_ode_replay_stats rs;
    assert_int_equal(so_ode_replay(cs->ode, cs->pr.rhs, &cs->pr.md, y0, cs->steps,
                                   cs->nsteps, cs->save_times, cs->nsave, ysave, NULL,
                                   &rs),
                     SO_OK);
    double sum = 0.0;
    for (size_t i = 0; i < cs->nsave * cs->pr.md.n; i++)
        sum += cs->dl[i] * ysave[i];
    return sum + cs->loss.w_error * rs.reg_error + cs->loss.w_stiffness * rs.reg_stiffness;
}

/* Returns max_i |g_i - fd_i| / max_i |fd_i| over y0 and p, with fd from the
 * fourth-order central stencil of step FD_STEP (1 + |x|). Both gradients being exactly
 * 0 counts as agreement. */
static double gradient_error(case_setup *cs, const double *grad_y0, const double *grad_p,
                             double *fd_scale)
{
    const size_t n = cs->pr.md.n, np = cs->pr.md.np;
    double fd[MAX_N + MAX_P], g[MAX_N + MAX_P];
    for (size_t i = 0; i < n + np; i++) {
        double *x = i < n ? &cs->y0[i] : &cs->pr.md.p[i - n];
        const double saved = *x, step = FD_STEP * (1.0 + fabs(saved));
        double f[4];
        const double offsets[4] = {-2.0, -1.0, 1.0, 2.0};
        for (int k = 0; k < 4; k++) {
            *x = saved + offsets[k] * step;
            f[k] = replay_loss(cs, cs->y0);
        }
        *x = saved;
        fd[i] = (8.0 * (f[2] - f[1]) - (f[3] - f[0])) / (12.0 * step);
        g[i] = i < n ? grad_y0[i] : grad_p[i - n];
    }
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < n + np; i++) {
        diff = fmax(diff, fabs(g[i] - fd[i]));
        scale = fmax(scale, fabs(fd[i]));
    }
    *fd_scale = scale;
    if (scale == 0.0)
        return diff == 0.0 ? 0.0 : INFINITY;
    return diff / scale;
}

/* Runs one gradient check and returns the relative error; also checks stats->loss
 * against the replay. */
static double check_case(const so_ode_method *method, problem pr, int backward,
                         loss_spec loss, int with_saves)
{
    case_setup cs;
    memset(&cs, 0, sizeof cs);
    cs.pr = pr;
    cs.loss = loss;
    cs.nsteps = record_solve(method, &cs.pr, backward, &cs.ode, &cs.steps);
    memcpy(cs.y0, pr.y0, sizeof cs.y0);
    if (with_saves) {
        cs.nsave = pick_save_times(cs.steps, cs.nsteps, cs.save_times);
        fill_weights(cs.dl, cs.nsave * pr.md.n, (unsigned)cs.nsteps);
    }
    double grad_y0[MAX_N], grad_p[MAX_P];
    so_ode_adjoint_stats st;
    int status = so_ode_adjoint(cs.ode, cs.pr.rhs, cs.pr.vjp, &cs.pr.md, cs.y0,
                                cs.pr.md.np, cs.steps, cs.nsteps, cs.save_times, cs.nsave,
                                cs.nsave > 0 ? cs.dl : NULL, loss.w_error,
                                loss.w_stiffness, grad_y0, grad_p, &st);
    if (status != SO_OK)
        print_error("%s\n", so_last_error());
    assert_int_equal(status, SO_OK);
    double loss_replay = replay_loss(&cs, cs.y0);
    assert_true(fabs(st.loss - loss_replay) <= 1e-14 * (1.0 + fabs(loss_replay)));
    const long s = method->stages;
    assert_true(st.nvjp >= s * (long)cs.nsteps);
    assert_true(st.nvjp <= (s + 1) * (long)cs.nsteps);

    double scale = 0.0;
    double err = gradient_error(&cs, grad_y0, grad_p, &scale);
    print_message("%-7s %-14s %-9s %-10s saves %zu steps %3zu  |fd| %.3e  rel err %.2e  "
                  "nfev %ld nvjp %ld\n", method->name, pr.name,
                  backward ? "backward" : "forward", loss.name, cs.nsave, cs.nsteps, scale,
                  err, st.nfev, st.nvjp);
    free(cs.steps);
    so_ode_free(&cs.ode);
    return err;
}

static const so_ode_method *const adaptive_methods[] = {&so_ode_tsit5, &so_ode_dopri5,
                                                        &so_ode_bosh3};

static void check_problem(problem (*make)(void))
{
    const loss_spec losses[] = {
        {"task", 1, 0.0, 0.0},
        {"error", 0, 0.7, 0.0},
        {"stiffness", 0, 0.0, 0.3},
        {"all", 1, 0.7, 0.3},
    };
    double worst = 0.0;
    for (int backward = 0; backward < 2; backward++) {
        for (size_t m = 0; m < 4; m++) {
            const so_ode_method *method = m < 3 ? adaptive_methods[m] : &so_ode_rk4;
            for (size_t l = 0; l < 4; l++) {
                loss_spec loss = losses[l];
                if (!method->fsal)
                    loss.w_stiffness = 0.0;
                if (!method->fsal && l == 2)
                    continue;
                double err = check_case(method, make(), backward, loss, loss.task);
                worst = fmax(worst, err);
                assert_true(err <= 1e-6);
            }
        }
    }
    print_message("largest relative error: %.2e\n", worst);
}

static void adjoint_linear_matches_fd(void **state)
{
    (void)state;
    check_problem(linear_problem);
}

static void adjoint_lotka_volterra_matches_fd(void **state)
{
    (void)state;
    check_problem(lotka_problem);
}

static void adjoint_neural_ode_matches_fd(void **state)
{
    (void)state;
    check_problem(neural_problem);
}

/* A fixed-step method has E = 0, so w_error changes neither L nor the gradient. */
static void adjoint_fixed_step_ignores_error_weight(void **state)
{
    (void)state;
    problem pr = lotka_problem();
    so_ode *ode = NULL;
    so_ode_step *steps = NULL;
    size_t nsteps = record_solve(&so_ode_rk4, &pr, 0, &ode, &steps);
    const double t_end = steps[nsteps - 1].t + steps[nsteps - 1].dt;
    const double dl[2] = {0.3, -1.2};
    double g0[2], gp0[4], g1[2], gp1[4];
    so_ode_adjoint_stats s0, s1;
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    &t_end, 1, dl, 0.0, 0.0, g0, gp0, &s0),
                     SO_OK);
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    &t_end, 1, dl, 5.0, 0.0, g1, gp1, &s1),
                     SO_OK);
    assert_true(s1.reg_error == 0.0);
    assert_true(s1.loss == s0.loss);
    assert_memory_equal(g0, g1, sizeof g0);
    assert_memory_equal(gp0, gp1, sizeof gp0);
    free(steps);
    so_ode_free(&ode);
}

/* ---- Replay reproduces the adaptive solve ---- */

static void same_bits(double a, double b)
{
    assert_memory_equal(&a, &b, sizeof a);
}

static void replay_reproduces_solve(const so_ode_method *method, problem pr, int backward)
{
    so_ode_options o = so_ode_options_default();
    o.rtol = 1e-7;
    o.atol = 1e-9;
    if (method->error_weights == NULL)
        o.dt = (pr.t1 - pr.t0) / 30.0;
    const double t0 = backward ? pr.t1 : pr.t0, t1 = backward ? pr.t0 : pr.t1;
    const size_t n = pr.md.n;
    double save_times[6];
    for (int i = 0; i < 6; i++)
        save_times[i] = t0 + (t1 - t0) * (double)i / 5.0;
    double ysolve[6 * MAX_N], yreplay[6 * MAX_N], yend[MAX_N];
    so_ode *ode = NULL;
    so_ode_stats stats;
    assert_int_equal(so_ode_new(&ode, method, n, &o), SO_OK);
    assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
    assert_int_equal(so_ode_solve(ode, pr.rhs, &pr.md, t0, t1, pr.y0, save_times, 6, ysolve,
                                  &stats),
                     SO_OK);
    memcpy(yend, so_ode_y(ode), n * sizeof(double));
    size_t nsteps = 0;
    const so_ode_step *steps = so_ode_steps(ode, &nsteps);
    assert_int_equal((long)nsteps, stats.accepted);
    so_ode_step *replayed = calloc(nsteps, sizeof *replayed);
    assert_non_null(replayed);
    so_ode_replay_stats rs;
    assert_int_equal(so_ode_replay(ode, pr.rhs, &pr.md, pr.y0, steps, nsteps, save_times, 6,
                                   yreplay, replayed, &rs),
                     SO_OK);
    assert_memory_equal(ysolve, yreplay, 6 * n * sizeof(double));
    assert_memory_equal(yend, so_ode_y(ode), n * sizeof(double));
    double reg_error = 0.0, reg_stiffness = 0.0;
    for (size_t j = 0; j < nsteps; j++) {
        same_bits(replayed[j].t, steps[j].t);
        same_bits(replayed[j].dt, steps[j].dt);
        same_bits(replayed[j].error, steps[j].error);
        same_bits(replayed[j].stiffness, steps[j].stiffness);
        reg_error += steps[j].error * fabs(steps[j].dt);
        if (method->fsal)
            reg_stiffness += steps[j].stiffness * fabs(steps[j].dt);
    }
    same_bits(rs.reg_error, reg_error);
    same_bits(rs.reg_stiffness, reg_stiffness);
    if (method->error_weights != NULL)
        assert_true(rs.reg_error > 0.0);
    /* The replay evaluates f once at t0 and then s - 1 (FSAL) or s times per step, as
     * the solve does for its accepted steps. */
    const long per_step = method->fsal ? method->stages - 1 : method->stages;
    assert_int_equal(rs.nfev, 1 + per_step * (long)nsteps);
    free(replayed);
    so_ode_free(&ode);
}

static void replay_bitwise_equals_solve(void **state)
{
    (void)state;
    const so_ode_method *const methods[] = {&so_ode_euler, &so_ode_midpoint, &so_ode_rk4,
                                            &so_ode_bosh3, &so_ode_dopri5,   &so_ode_tsit5};
    problem (*const makers[])(void) = {linear_problem, lotka_problem, neural_problem};
    for (size_t m = 0; m < 6; m++)
        for (size_t p = 0; p < 3; p++)
            for (int backward = 0; backward < 2; backward++)
                replay_reproduces_solve(methods[m], makers[p](), backward);
}

/* ---- Analytic check: y' = lambda y with fixed RK4 ---- */

static int scalar_rhs(void *user, double t, const double *y, double *dydt)
{
    (void)t;
    dydt[0] = *(const double *)user * y[0];
    return 0;
}

static int scalar_vjp(void *user, double t, const double *y, const double *v, double *vy,
                      double *vp)
{
    (void)t;
    vy[0] = *(const double *)user * v[0];
    if (vp != NULL)
        vp[0] = y[0] * v[0];
    return 0;
}

/* RK4 maps y to R(z) y with z = lambda h and R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24, so
 * y_N = R^N y0: dy_N/dy0 = R^N and dy_N/dlambda = N R^(N-1) R'(z) h y0. */
static void adjoint_rk4_stability_polynomial(void **state)
{
    (void)state;
    double lambda = -0.7;
    const double T = 2.0, y0 = 1.3;
    const int N = 16;
    so_ode_options o = so_ode_options_default();
    o.dt = T / N;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_rk4, 1, &o), SO_OK);
    assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
    assert_int_equal(so_ode_solve(ode, scalar_rhs, &lambda, 0.0, T, &y0, NULL, 0, NULL, NULL),
                     SO_OK);
    size_t nsteps = 0;
    const so_ode_step *steps = so_ode_steps(ode, &nsteps);
    assert_int_equal(nsteps, (size_t)N);
    const double unit_weight = 1.0;
    double g_y0 = 0.0, g_lambda = 0.0;
    so_ode_adjoint_stats st;
    assert_int_equal(so_ode_adjoint(ode, scalar_rhs, scalar_vjp, &lambda, &y0, 1, steps,
                                    nsteps, &T, 1, &unit_weight, 0.0, 0.0, &g_y0, &g_lambda, &st),
                     SO_OK);
    const double h = T / N, z = lambda * h;
    const double R = 1.0 + z + z * z / 2.0 + z * z * z / 6.0 + z * z * z * z / 24.0;
    const double dR = 1.0 + z + z * z / 2.0 + z * z * z / 6.0;
    const double expect_y0 = pow(R, N), expect_lambda = N * pow(R, N - 1) * dR * h * y0;
    print_message("dy(T)/dy0 %.17g vs R^N %.17g; dy(T)/dlambda %.17g vs %.17g\n", g_y0,
                  expect_y0, g_lambda, expect_lambda);
    assert_true(fabs(g_y0 - expect_y0) <= 1e-14 * fabs(expect_y0));
    assert_true(fabs(g_lambda - expect_lambda) <= 1e-13 * fabs(expect_lambda));
    assert_true(fabs(st.loss - pow(R, N) * y0) <= 1e-13 * fabs(st.loss));
    /* 4 VJPs per step. The forward pass evaluates f once at t0 and 4 times per step
     * (three stages and f at the new state), and the reverse pass 5 times per step. */
    assert_int_equal(st.nvjp, 4 * N);
    assert_int_equal(st.nfev, 1 + 9 * N);
    so_ode_free(&ode);
}

/* ---- Argument errors ---- */

static void adjoint_rejects_bad_arguments(void **state)
{
    (void)state;
    problem pr = lotka_problem();
    so_ode *ode = NULL;
    so_ode_step *steps = NULL;
    size_t nsteps = record_solve(&so_ode_tsit5, &pr, 0, &ode, &steps);
    const double t_end = steps[nsteps - 1].t + steps[nsteps - 1].dt;
    const double dl[2] = {1.0, 1.0};
    double g[2], gp[4];

    /* Recording off: the solver keeps no steps. */
    so_ode_record_steps(ode, 0);
    size_t none = 0;
    const so_ode_step *empty = so_ode_steps(ode, &none);
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, empty, none,
                                    &t_end, 1, dl, 0.0, 0.0, g, gp, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "so_ode_record_steps"));
    assert_int_equal(so_ode_replay(ode, pr.rhs, &pr.md, pr.y0, NULL, 0, NULL, 0, NULL, NULL,
                                   NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "no recorded steps"));

    assert_int_equal(so_ode_adjoint(ode, pr.rhs, NULL, &pr.md, pr.y0, 4, steps, nsteps,
                                    &t_end, 1, dl, 0.0, 0.0, g, gp, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "vjp is NULL"));

    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    &t_end, 1, dl, 0.0, 0.0, g, NULL, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "grad_p is NULL"));

    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    &t_end, 1, NULL, 0.0, 0.0, g, gp, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "dl_dysave is NULL"));

    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    &t_end, 1, dl, NAN, 0.0, g, gp, NULL),
                     SO_ERR_INVALID);

    const double outside = t_end + 1.0;
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    &outside, 1, dl, 0.0, 0.0, g, gp, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "outside the recorded span"));

    /* Steps that do not join up. */
    so_ode_step saved = steps[2];
    steps[2].t += 0.01;
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    &t_end, 1, dl, 0.0, 0.0, g, gp, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "contiguous"));
    steps[2] = saved;

    /* np = 0 needs no grad_p, and the VJP then gets vp = NULL. */
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 0, steps, nsteps,
                                    &t_end, 1, dl, 0.0, 0.0, g, NULL, NULL),
                     SO_OK);
    free(steps);
    so_ode_free(&ode);

    /* A method without FSAL has no stiffness estimate. */
    nsteps = record_solve(&so_ode_rk4, &pr, 0, &ode, &steps);
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, pr.vjp, &pr.md, pr.y0, 4, steps, nsteps,
                                    NULL, 0, NULL, 0.0, 1.0, g, gp, NULL),
                     SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "no stiffness estimate"));
    free(steps);
    so_ode_free(&ode);
}

static int failing_vjp(void *user, double t, const double *y, const double *v, double *vy,
                       double *vp)
{
    (void)user, (void)t, (void)y, (void)v, (void)vy, (void)vp;
    return -1;
}

static void adjoint_reports_vjp_failure(void **state)
{
    (void)state;
    problem pr = lotka_problem();
    so_ode *ode = NULL;
    so_ode_step *steps = NULL;
    size_t nsteps = record_solve(&so_ode_dopri5, &pr, 0, &ode, &steps);
    double g[2];
    assert_int_equal(so_ode_adjoint(ode, pr.rhs, failing_vjp, &pr.md, pr.y0, 0, steps,
                                    nsteps, NULL, 0, NULL, 1.0, 0.0, g, NULL, NULL),
                     SO_ERR_CALLBACK);
    assert_non_null(strstr(so_last_error(), "vector-Jacobian product"));
    free(steps);
    so_ode_free(&ode);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_bitwise_equals_solve),
        cmocka_unit_test(adjoint_rk4_stability_polynomial),
        cmocka_unit_test(adjoint_linear_matches_fd),
        cmocka_unit_test(adjoint_lotka_volterra_matches_fd),
        cmocka_unit_test(adjoint_neural_ode_matches_fd),
        cmocka_unit_test(adjoint_fixed_step_ignores_error_weight),
        cmocka_unit_test(adjoint_rejects_bad_arguments),
        cmocka_unit_test(adjoint_reports_vjp_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
