/* Weight initialization: He variance, Glorot bound, the SO_INIT_AUTO choice per layer,
 * zero biases, and determinism for a seed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/nn.h"

static so_model *new_model(const char *spec, size_t in, size_t out, so_init init,
                           uint64_t seed)
{
    so_model *m = NULL;
    assert_int_equal(so_model_new(spec, in, out, &m), SO_OK);
    assert_int_equal(so_model_init(m, init, seed), SO_OK);
    return m;
}

/* Checks that w[0..n-1] has mean 0 and the given variance within five standard errors
 * (the variance's standard error for a normal sample is var * sqrt(2 / n)). */
static void assert_normal_moments(const float *w, size_t n, double var)
{
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += w[i];
        ss += (double)w[i] * w[i];
    }
    assert_true(fabs(s / (double)n) < 5.0 * sqrt(var / (double)n));
    assert_true(fabs(ss / (double)n - var) < 5.0 * var * sqrt(2.0 / (double)n));
}

/* Checks that every |w| is within the bound and that the largest comes close to it.
 * Rounding to float is monotone, so the bound rounded to float is never crossed. */
static void assert_uniform_bound(const float *w, size_t n, double limit)
{
    double largest = 0.0;
    for (size_t i = 0; i < n; i++) {
        assert_true(fabsf(w[i]) <= (float)limit);
        largest = fabs(w[i]) > largest ? fabs(w[i]) : largest;
    }
    assert_true(largest > 0.99 * limit);
}

static void assert_all_zero(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(v[i] == 0.0f);
}

static void he_variance_is_two_over_fan_in(void **state)
{
    so_model *m = new_model("mlp:512", 1000, 10, SO_INIT_HE, 1);
    const float *p = so_model_params(m);
    (void)state;
    assert_normal_moments(p, 512 * 1000, 2.0 / 1000);
    assert_all_zero(p + 512 * 1000, 512);
    assert_normal_moments(p + 512 * 1001, 10 * 512, 2.0 / 512);
    assert_all_zero(p + 512 * 1001 + 10 * 512, 10);
    so_model_free(&m);
}

static void glorot_weights_stay_within_bound(void **state)
{
    so_model *m = new_model("mlp:64:tanh", 300, 10, SO_INIT_GLOROT, 2);
    const float *p = so_model_params(m);
    const double limit1 = sqrt(6.0 / (300 + 64)), limit2 = sqrt(6.0 / (64 + 10));
    double ss = 0.0;
    (void)state;
    assert_uniform_bound(p, 64 * 300, limit1);
    assert_all_zero(p + 64 * 300, 64);
    assert_uniform_bound(p + 64 * 301, 10 * 64, limit2);
    /* Uniform on [-a, a] has variance a^2 / 3; its sample standard error is about
     * a^2 / sqrt(45 n). */
    for (size_t i = 0; i < 64 * 300; i++)
        ss += (double)p[i] * p[i];
    assert_true(fabs(ss / (64 * 300) - limit1 * limit1 / 3) <
                5.0 * limit1 * limit1 / sqrt(45.0 * 64 * 300));
    so_model_free(&m);
}

/* With ReLU, AUTO draws He for the hidden layer, which is bitwise what HE draws from the
 * same stream position, and Glorot for the output layer. */
static void auto_init_picks_he_before_relu(void **state)
{
    so_model *automatic = new_model("mlp:512", 1000, 10, SO_INIT_AUTO, 3);
    so_model *he = new_model("mlp:512", 1000, 10, SO_INIT_HE, 3);
    so_model *tanh_auto = new_model("mlp:32,16:tanh", 40, 5, SO_INIT_AUTO, 4);
    so_model *tanh_glorot = new_model("mlp:32,16:tanh", 40, 5, SO_INIT_GLOROT, 4);
    (void)state;
    assert_memory_equal(so_model_params(automatic), so_model_params(he),
                        512 * 1001 * sizeof(float));
    assert_uniform_bound(so_model_params(automatic) + 512 * 1001, 10 * 512,
                         sqrt(6.0 / (512 + 10)));
    assert_memory_equal(so_model_params(tanh_auto), so_model_params(tanh_glorot),
                        so_model_num_params(tanh_auto) * sizeof(float));
    so_model_free(&automatic);
    so_model_free(&he);
    so_model_free(&tanh_auto);
    so_model_free(&tanh_glorot);
}

static void init_is_deterministic_for_a_seed(void **state)
{
    so_model *a = new_model("mlp:20,10", 30, 4, SO_INIT_AUTO, 42);
    so_model *b = new_model("mlp:20,10", 30, 4, SO_INIT_AUTO, 42);
    so_model *c = new_model("mlp:20,10", 30, 4, SO_INIT_AUTO, 43);
    const size_t bytes = so_model_num_params(a) * sizeof(float);
    float *first = malloc(bytes);
    so_rng rng;
    (void)state;
    assert_memory_equal(so_model_params(a), so_model_params(b), bytes);
    assert_memory_not_equal(so_model_params(a), so_model_params(c), bytes);
    /* Initializing again restarts the stream. */
    memcpy(first, so_model_params(a), bytes);
    assert_int_equal(so_model_init(a, SO_INIT_AUTO, 42), SO_OK);
    assert_memory_equal(so_model_params(a), first, bytes);
    /* The first weight is the first normal of stream (seed, 0), scaled for He. */
    so_rng_init(&rng, 42, 0);
    assert_true(so_model_params(a)[0] == (float)(so_rng_normal(&rng) * sqrt(2.0 / 30)));
    free(first);
    so_model_free(&a);
    so_model_free(&b);
    so_model_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(he_variance_is_two_over_fan_in),
        cmocka_unit_test(glorot_weights_stay_within_bound),
        cmocka_unit_test(auto_init_picks_he_before_relu),
        cmocka_unit_test(init_is_deterministic_for_a_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
