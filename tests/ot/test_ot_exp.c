/* The vectorizable exp of the log-domain kernels against the C library. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"
#include "stochopt/ot.h"

/* Distance in units in the last place between two positive finite doubles. */
static uint64_t ulp_distance(double x, double y)
{
    uint64_t bx, by;
    memcpy(&bx, &x, sizeof bx);
    memcpy(&by, &y, sizeof by);
    return bx > by ? bx - by : by - bx;
}

static void within_two_ulp_of_libm(void **state)
{
    (void)state;
    so_rng rng;
    so_rng_init(&rng, 3, 0);
    uint64_t worst = 0;
    double worst_x = 0.0;
    for (int k = 0; k < 2000000; k++) {
        /* Half the samples cover the whole range, half the reduced range near 0. */
        double x = k % 2 ? -708.0 + 1417.78 * so_rng_uniform(&rng)
                         : -2.0 + 4.0 * so_rng_uniform(&rng);
        uint64_t d = ulp_distance(so_ot_exp(x), exp(x));
        if (d > worst) {
            worst = d;
            worst_x = x;
        }
    }
    if (worst > 2)
        fail_msg("so_ot_exp(%.17g) is %llu ulp from exp", worst_x, (unsigned long long)worst);
}

static void special_values(void **state)
{
    (void)state;
    assert_true(so_ot_exp(0.0) == 1.0);
    assert_true(so_ot_exp(-0.0) == 1.0);
    assert_true(ulp_distance(so_ot_exp(-708.0), exp(-708.0)) <= 2);
    assert_true(ulp_distance(so_ot_exp(709.78), exp(709.78)) <= 2);
    assert_true(ulp_distance(so_ot_exp(DBL_MIN), 1.0) == 0);
    assert_true(so_ot_exp(-708.0001) == 0.0);
    assert_true(so_ot_exp(-1e300) == 0.0);
    assert_true(so_ot_exp(-INFINITY) == 0.0);
    assert_true(isinf(so_ot_exp(709.8)) && isinf(so_ot_exp(INFINITY)));
    assert_true(isnan(so_ot_exp(NAN)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(within_two_ulp_of_libm),
        cmocka_unit_test(special_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
