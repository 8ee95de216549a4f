/* Parameter groups: index ranges with their own learning-rate and weight-decay
 * multipliers, overlapping definitions, invalid ranges and independence from the thread
 * count when group boundaries fall inside the driver's chunks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "stochopt/optim.h"

/* SGD with lr 0.1 and L2 decay 0.5 from p = 1 with g = 1 moves p by lr * (1 + 0.5 p):
 * 0.85 by default, 0.925 where the learning rate is halved, 0.9 where decay is off. */
static void groups_scale_lr_and_weight_decay(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_sgd);
    so_optimizer *opt = NULL;
    double p[6] = {1, 1, 1, 1, 1, 1}, g[6] = {1, 1, 1, 1, 1, 1};
    const double expected[6] = {0.85, 0.85, 0.925, 0.925, 0.9, 0.9};
    (void)state;
    hp.lr = 0.1;
    hp.weight_decay = 0.5;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 6, SO_F64, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_set_group(opt, 2, 4, 0.5, 1.0), SO_OK);
    assert_int_equal(so_optimizer_set_group(opt, 4, 6, 1.0, 0.0), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    for (int i = 0; i < 6; i++)
        assert_true(fabs(p[i] - expected[i]) <= 1e-15);
    so_optimizer_free(&opt);
}

/* AdamW with zero gradients only decays: weights shrink by 1 - lr * wd, biases in a group
 * with weight_decay_scale 0 keep their value exactly. */
static void biases_without_decay(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adamw);
    so_optimizer *opt = NULL;
    float p[4] = {1, 1, 1, 1}, g[4] = {0, 0, 0, 0};
    (void)state;
    hp.lr = 0.1;
    hp.weight_decay = 0.2;
    assert_int_equal(so_optimizer_new(so_optim_adamw, 4, SO_F32, &hp, &opt), SO_OK);
    assert_int_equal(so_optimizer_set_group(opt, 2, 4, 1.0, 0.0), SO_OK);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    assert_true(p[0] == (float)(1.0 - 0.1 * 0.2));
    assert_true(p[1] == (float)(1.0 - 0.1 * 0.2));
    assert_true(p[2] == 1.0f);
    assert_true(p[3] == 1.0f);
    so_optimizer_free(&opt);
}

static void expect_group(const so_optimizer *opt, size_t index, double lr_scale,
                         double weight_decay_scale)
{
    double lr, wd;
    assert_int_equal(so_optimizer_group(opt, index, &lr, &wd), SO_OK);
    if (lr != lr_scale || wd != weight_decay_scale)
        fail_msg("parameter %zu: multipliers (%g, %g), expected (%g, %g)", index, lr, wd,
                 lr_scale, weight_decay_scale);
}

static void later_group_overrides_overlap(void **state)
{
    so_optimizer *opt = NULL;
    (void)state;
    assert_int_equal(so_optimizer_new(so_optim_adam, 20, SO_F64, NULL, &opt), SO_OK);
    expect_group(opt, 0, 1.0, 1.0);
    expect_group(opt, 19, 1.0, 1.0);
    assert_int_equal(so_optimizer_set_group(opt, 0, 10, 2.0, 1.0), SO_OK);
    assert_int_equal(so_optimizer_set_group(opt, 5, 15, 3.0, 0.0), SO_OK);
    assert_int_equal(so_optimizer_set_group(opt, 7, 8, 0.0, 0.5), SO_OK);
    for (size_t i = 0; i < 20; i++) {
        if (i < 5)
            expect_group(opt, i, 2.0, 1.0);
        else if (i == 7)
            expect_group(opt, i, 0.0, 0.5);
        else if (i < 15)
            expect_group(opt, i, 3.0, 0.0);
        else
            expect_group(opt, i, 1.0, 1.0);
    }
    assert_int_equal(so_optimizer_set_group(opt, 0, 20, 1.0, 1.0), SO_OK);
    for (size_t i = 0; i < 20; i++)
        expect_group(opt, i, 1.0, 1.0);
    so_optimizer_free(&opt);
}

static void invalid_groups_are_rejected(void **state)
{
    so_optimizer *opt = NULL;
    double lr, wd;
    (void)state;
    assert_int_equal(so_optimizer_new(so_optim_sgd, 10, SO_F32, NULL, &opt), SO_OK);
    assert_int_equal(so_optimizer_set_group(opt, 4, 4, 1.0, 1.0), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "range [4, 4) is invalid: expected lo < hi <= n"));
    assert_int_equal(so_optimizer_set_group(opt, 5, 11, 1.0, 1.0), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "n = 10"));
    assert_int_equal(so_optimizer_set_group(opt, 0, 5, NAN, 1.0), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "lr_scale = nan"));
    assert_int_equal(so_optimizer_set_group(opt, 0, 5, 1.0, -1.0), SO_ERR_INVALID);
    assert_int_equal(so_optimizer_set_group(opt, 0, 5, INFINITY, 1.0), SO_ERR_INVALID);
    assert_int_equal(so_optimizer_set_group(NULL, 0, 5, 1.0, 1.0), SO_ERR_INVALID);
    assert_int_equal(so_optimizer_group(opt, 10, &lr, &wd), SO_ERR_RANGE);
    assert_int_equal(so_optimizer_group(opt, 0, NULL, &wd), SO_ERR_INVALID);
    expect_group(opt, 3, 1.0, 1.0);
    so_optimizer_free(&opt);
}

/* Runs three steps of `type` with 1 and with 3 threads and compares the bits. Group
 * boundaries fall inside the driver's chunks of 16384 elements. */
static void check_thread_independence(const so_optim_type *type, const so_optim_params *hp)
{
    const size_t n = 100003;
    float *g = malloc(n * sizeof *g), *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    so_optimizer *a = NULL, *b = NULL;
    assert_non_null(g);
    assert_non_null(p1);
    assert_non_null(p2);
    for (size_t i = 0; i < n; i++) {
        g[i] = (float)sin((double)i) * 3.0f;
        p1[i] = p2[i] = (float)cos((double)i);
    }
    assert_int_equal(so_optimizer_new(type, n, SO_F32, hp, &a), SO_OK);
    assert_int_equal(so_optimizer_new(type, n, SO_F32, hp, &b), SO_OK);
    for (int k = 0; k < 2; k++) {
        so_optimizer *opt = k == 0 ? a : b;
        assert_int_equal(so_optimizer_set_group(opt, 10000, 50001, 0.5, 0.0), SO_OK);
        assert_int_equal(so_optimizer_set_group(opt, 70001, 70013, 2.0, 3.0), SO_OK);
    }
    for (int t = 0; t < 3; t++) {
#ifdef _OPENMP
        omp_set_num_threads(1);
#endif
        assert_int_equal(so_optimizer_step(a, p1, g), SO_OK);
#ifdef _OPENMP
        omp_set_num_threads(3);
#endif
        assert_int_equal(so_optimizer_step(b, p2, g), SO_OK);
    }
    assert_memory_equal(p1, p2, n * sizeof *p1);
    so_optimizer_free(&a);
    so_optimizer_free(&b);
    free(g);
    free(p1);
    free(p2);
}

static void groups_independent_of_thread_count(void **state)
{
    so_optim_params adamw = so_optim_params_default(so_optim_adamw);
    so_optim_params norm = so_optim_params_default(so_optim_adagrad_norm);
    (void)state;
    adamw.clip_norm = 10.0;
    check_thread_independence(so_optim_adamw, &adamw);
    norm.weight_decay = 0.01; /* L2 decay makes AdaGrad-Norm sum over the groups */
    check_thread_independence(so_optim_adagrad_norm, &norm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(groups_scale_lr_and_weight_decay),
        cmocka_unit_test(biases_without_decay),
        cmocka_unit_test(later_group_overrides_overlap),
        cmocka_unit_test(invalid_groups_are_rejected),
        cmocka_unit_test(groups_independent_of_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
