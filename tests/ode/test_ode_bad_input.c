/* Hostile input to the ODE solvers, each of which must fail with a status and a detail
 * rather than run on. The cases are a right-hand side that is NaN or infinite at t0, a
 * span whose length overflows, and recorded steps of zero or infinite length passed to
 * the replay and the adjoint. Further cases are a VJP that writes NaN and a parameter
 * count that overflows the adjoint's work array. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ode.h"

static int decay(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    dydt[0] = -y[0];
    return 0;
}

static int nan_everywhere(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    (void)y;
    dydt[0] = NAN;
    return 0;
}

static int inf_everywhere(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    (void)t;
    (void)y;
    dydt[0] = INFINITY;
    return 0;
}

static int nan_after_half(void *user, double t, const double *y, double *dydt)
{
    (void)user;
    dydt[0] = t > 0.5 ? NAN : -y[0];
    return 0;
}

static int vjp_decay(void *user, double t, const double *y, const double *v, double *vy,
                     double *vp)
{
    (void)user;
    (void)t;
    (void)y;
    vy[0] = -v[0];
    if (vp != NULL)
        vp[0] = 0.0;
    return 0;
}

static int vjp_nan(void *user, double t, const double *y, const double *v, double *vy,
                   double *vp)
{
    (void)user;
    (void)t;
    (void)y;
    (void)v;
    vy[0] = NAN;
    if (vp != NULL)
        vp[0] = NAN;
    return 0;
}

static void assert_detail_mentions(const char *word)
{
    const char *msg = so_last_error();
    assert_non_null(msg);
    assert_non_null(strstr(msg, word));
}

/* A NaN or infinite f(t0, y0) fails at once with SO_ERR_NONFINITE, because no smaller
 * step can help there, and rejects no step. */
static void nonfinite_rhs_at_t0(void **state)
{
    (void)state;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 1, NULL), SO_OK);
    double y0 = 1.0;
    so_ode_stats st;
    assert_int_equal(so_ode_solve(ode, nan_everywhere, NULL, 0.0, 1.0, &y0, NULL, 0, NULL,
                                  &st),
                     SO_ERR_NONFINITE);
    assert_detail_mentions("f[0]");
    assert_int_equal(st.rejected, 0);
    assert_int_equal(so_ode_solve(ode, inf_everywhere, NULL, 0.0, 1.0, &y0, NULL, 0, NULL,
                                  &st),
                     SO_ERR_NONFINITE);
    so_ode_free(&ode);

    so_ode_options o = so_ode_options_default();
    o.dt = 0.1;
    assert_int_equal(so_ode_new(&ode, &so_ode_rk4, 1, &o), SO_OK);
    assert_int_equal(so_ode_solve(ode, nan_everywhere, NULL, 0.0, 1.0, &y0, NULL, 0, NULL,
                                  &st),
                     SO_ERR_NONFINITE);
    so_ode_free(&ode);
}

/* An adaptive solve that meets NaN in f mid-span stops at the NaN with a detail that
 * names the non-finite error estimate, not stiffness. */
static void nan_mid_span_is_named(void **state)
{
    (void)state;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 1, NULL), SO_OK);
    double y0 = 1.0;
    so_ode_stats st;
    assert_int_equal(so_ode_solve(ode, nan_after_half, NULL, 0.0, 1.0, &y0, NULL, 0, NULL,
                                  &st),
                     SO_ERR_NUMERIC);
    assert_detail_mentions("NaN or infinite");
    assert_true(st.t <= 0.5);
    assert_true(isfinite(so_ode_y(ode)[0]));
    so_ode_free(&ode);
}

/* A span whose length t1 - t0 overflows to Inf is rejected before any step. */
static void span_length_overflow(void **state)
{
    (void)state;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_dopri5, 1, NULL), SO_OK);
    double y0 = 1.0;
    assert_int_equal(so_ode_solve(ode, decay, NULL, -1e308, 1e308, &y0, NULL, 0, NULL, NULL),
                     SO_ERR_INVALID);
    assert_detail_mentions("overflows");
    so_ode_free(&ode);
}

/* Steps whose end rounds to their start (t + dt == t) or overflows to Inf are rejected. */
static void degenerate_recorded_steps(void **state)
{
    (void)state;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 1, NULL), SO_OK);
    double y0 = 1.0, g = 0.0, dl = 1.0, ts = 1.0, ys = 0.0;
    const so_ode_step tiny[2] = {{1.0, 1e-300, 0.0, 0.0}, {1.0, 1e-300, 0.0, 0.0}};
    const so_ode_step huge[1] = {{1e308, 1e308, 0.0, 0.0}};
    assert_int_equal(so_ode_replay(ode, decay, NULL, &y0, tiny, 2, &ts, 1, &ys, NULL, NULL),
                     SO_ERR_INVALID);
    assert_detail_mentions("steps[0]");
    assert_int_equal(so_ode_replay(ode, decay, NULL, &y0, huge, 1, NULL, 0, NULL, NULL, NULL),
                     SO_ERR_INVALID);
    assert_int_equal(so_ode_adjoint(ode, decay, vjp_decay, NULL, &y0, 0, tiny, 2, &ts, 1, &dl,
                                    0.0, 0.0, &g, NULL, NULL),
                     SO_ERR_INVALID);
    so_ode_free(&ode);
}

static void record_solve(so_ode *ode, const so_ode_step **steps, size_t *count)
{
    double y0 = 1.0;
    assert_int_equal(so_ode_record_steps(ode, 1), SO_OK);
    assert_int_equal(so_ode_solve(ode, decay, NULL, 0.0, 1.0, &y0, NULL, 0, NULL, NULL),
                     SO_OK);
    *steps = so_ode_steps(ode, count);
    assert_true(*count > 0);
}

/* A VJP that writes NaN stops the adjoint with SO_ERR_NONFINITE instead of returning a
 * NaN gradient. */
static void nan_vjp_is_reported(void **state)
{
    (void)state;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 1, NULL), SO_OK);
    const so_ode_step *steps;
    size_t count;
    record_solve(ode, &steps, &count);
    double y0 = 1.0, ts = 0.5, dl = 1.0, gy = 0.0, gp = 0.0;
    assert_int_equal(so_ode_adjoint(ode, decay, vjp_nan, NULL, &y0, 1, steps, count, &ts, 1,
                                    &dl, 1.0, 1.0, &gy, &gp, NULL),
                     SO_ERR_NONFINITE);
    assert_detail_mentions("vector-Jacobian");
    /* The same call with a finite VJP still works. */
    assert_int_equal(so_ode_adjoint(ode, decay, vjp_decay, NULL, &y0, 1, steps, count, &ts, 1,
                                    &dl, 1.0, 1.0, &gy, &gp, NULL),
                     SO_OK);
    assert_true(isfinite(gy));
    so_ode_free(&ode);
}

/* An np near SIZE_MAX, whose work array size would wrap, is rejected before grad_p is
 * written. */
static void huge_parameter_count(void **state)
{
    (void)state;
    so_ode *ode = NULL;
    assert_int_equal(so_ode_new(&ode, &so_ode_tsit5, 1, NULL), SO_OK);
    const so_ode_step *steps;
    size_t count;
    record_solve(ode, &steps, &count);
    double y0 = 1.0, gy = 0.0, gp = 0.0;
    assert_int_equal(so_ode_adjoint(ode, decay, vjp_decay, NULL, &y0, SIZE_MAX, steps, count,
                                    NULL, 0, NULL, 0.0, 0.0, &gy, &gp, NULL),
                     SO_ERR_INVALID);
    assert_detail_mentions("np");
    so_ode_free(&ode);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nonfinite_rhs_at_t0),
        cmocka_unit_test(nan_mid_span_is_named),
        cmocka_unit_test(span_length_overflow),
        cmocka_unit_test(degenerate_recorded_steps),
        cmocka_unit_test(nan_vjp_is_reported),
        cmocka_unit_test(huge_parameter_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
