/* Philox known-answer vectors, sampler moments and stream independence. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/core.h"

/* Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors). */
static void philox_known_answers(void **state)
{
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    (void)state;
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        so_philox4x32_10(kat[i].ctr, kat[i].key, out);
        for (int j = 0; j < 4; j++)
            assert_int_equal(out[j], kat[i].out[j]);
    }
}

static void uniform_and_normal_moments(void **state)
{
    so_rng rng;
    const int n = 200000;
    double su = 0, suu = 0, sn = 0, snn = 0;
    (void)state;
    so_rng_init(&rng, 42, 0);
    for (int i = 0; i < n; i++) {
        double u = so_rng_uniform(&rng);
        double z = so_rng_normal(&rng);
        assert_true(u >= 0.0 && u < 1.0);
        su += u;
        suu += u * u;
        sn += z;
        snn += z * z;
    }
    /* Five standard errors of each sample moment. */
    assert_true(fabs(su / n - 0.5) < 5 * sqrt(1.0 / 12 / n));
    assert_true(fabs(suu / n - 1.0 / 3) < 5 * sqrt(4.0 / 45 / n));
    assert_true(fabs(sn / n) < 5 * sqrt(1.0 / n));
    assert_true(fabs(snn / n - 1.0) < 5 * sqrt(2.0 / n));
}

static void bernoulli_and_categorical_frequencies(void **state)
{
    so_rng rng;
    const int n = 100000;
    const double w[4] = {1, 0, 2, 1};
    int counts[4] = {0};
    int ones = 0;
    (void)state;
    so_rng_init(&rng, 7, 3);
    for (int i = 0; i < n; i++) {
        ones += so_rng_bernoulli(&rng, 0.3);
        long k = so_rng_categorical(&rng, w, 4);
        assert_true(k >= 0 && k < 4);
        counts[k]++;
    }
    assert_true(fabs(ones / (double)n - 0.3) < 5 * sqrt(0.21 / n));
    assert_int_equal(counts[1], 0);
    assert_true(fabs(counts[2] / (double)n - 0.5) < 5 * sqrt(0.25 / n));
    assert_true(fabs(counts[0] / (double)n - 0.25) < 5 * sqrt(0.1875 / n));
}

static void categorical_rejects_bad_weights(void **state)
{
    so_rng rng;
    const double negative[2] = {1, -1}, zeros[2] = {0, 0}, nan_w[2] = {1, NAN};
    (void)state;
    so_rng_init(&rng, 1, 0);
    assert_int_equal(so_rng_categorical(&rng, negative, 2), -1);
    assert_non_null(strstr(so_last_error(), "weight 1"));
    assert_int_equal(so_rng_categorical(&rng, zeros, 2), -1);
    assert_int_equal(so_rng_categorical(&rng, nan_w, 2), -1);
    assert_int_equal(so_rng_categorical(&rng, zeros, 0), -1);
}

static void streams_are_reproducible_and_distinct(void **state)
{
    so_rng a, b, c;
    int same = 0;
    (void)state;
    so_rng_init(&a, 5, 1);
    so_rng_init(&b, 5, 1);
    so_rng_init(&c, 5, 2);
    for (int i = 0; i < 1000; i++) {
        uint32_t x = so_rng_u32(&a);
        assert_int_equal(x, so_rng_u32(&b));
        same += x == so_rng_u32(&c);
    }
    assert_true(same < 3);
}

static void state_copy_resumes_sequence(void **state)
{
    so_rng a, saved;
    double expected[10];
    (void)state;
    so_rng_init(&a, 9, 0);
    so_rng_u32(&a); /* leave the block partly used */
    saved = a;
    for (int i = 0; i < 10; i++)
        expected[i] = so_rng_normal(&a);
    for (int i = 0; i < 10; i++)
        assert_true(so_rng_normal(&saved) == expected[i]);
}

static void below_is_in_range_and_shuffle_is_permutation(void **state)
{
    so_rng rng;
    uint32_t perm[100];
    int seen[100] = {0};
    (void)state;
    so_rng_init(&rng, 11, 0);
    for (int i = 0; i < 10000; i++)
        assert_true(so_rng_below(&rng, 7) < 7);
    for (uint32_t i = 0; i < 100; i++)
        perm[i] = i;
    so_rng_shuffle(&rng, perm, 100);
    for (int i = 0; i < 100; i++)
        seen[perm[i]]++;
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
}

static void strerror_names_every_status(void **state)
{
    (void)state;
    assert_string_equal(so_strerror(SO_OK), "success");
    assert_string_equal(so_strerror(SO_ERR_FORMAT), "malformed input data");
    assert_string_equal(so_strerror(12345), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(philox_known_answers),
        cmocka_unit_test(uniform_and_normal_moments),
        cmocka_unit_test(bernoulli_and_categorical_frequencies),
        cmocka_unit_test(categorical_rejects_bad_weights),
        cmocka_unit_test(streams_are_reproducible_and_distinct),
        cmocka_unit_test(state_copy_resumes_sequence),
        cmocka_unit_test(below_is_in_range_and_shuffle_is_permutation),
        cmocka_unit_test(strerror_names_every_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
