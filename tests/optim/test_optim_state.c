/* Saving and loading optimizer state: the byte layout, round trips, bit-identical resume
 * into an optimizer created with other hyperparameters, and clean failures on mismatched,
 * truncated or corrupt input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "stochopt/optim.h"

enum { N = 37, STEPS = 12, SPLIT = 5 };

static unsigned char *save_state(const so_optimizer *opt, size_t *size)
{
    assert_int_equal(so_optimizer_save(opt, NULL, size), SO_OK);
    unsigned char *bytes = malloc(*size);
    assert_non_null(bytes);
    assert_int_equal(so_optimizer_save(opt, bytes, size), SO_OK);
    return bytes;
}

/* Deterministic gradients that change with the step; element i of step t. */
static double gradient(size_t i, int t)
{
    return sin(0.37 * (double)i + 1.3 * t) * (1.0 + 0.1 * t) + 0.05;
}

static void fill_gradients(void *g, so_precision precision, int t)
{
    for (size_t i = 0; i < N; i++) {
        if (precision == SO_F32)
            ((float *)g)[i] = (float)gradient(i, t);
        else
            ((double *)g)[i] = gradient(i, t);
    }
}

/* Runs the original for STEPS steps, saving after SPLIT; a second optimizer created with
 * `other` hyperparameters loads that state and runs the remaining steps from the same
 * parameters. Parameters and final state must agree byte for byte. */
static void check_resume(const so_optim_type *type, so_precision precision,
                         const so_optim_params *original, const so_optim_params *other)
{
    double p_orig[N], p_resumed[N], g[N]; /* large enough for either precision */
    so_optimizer *a = NULL, *b = NULL;
    unsigned char *saved = NULL;
    size_t saved_size = 0;

    memset(p_orig, 0, sizeof p_orig);
    assert_int_equal(so_optimizer_new(type, N, precision, original, &a), SO_OK);
    assert_int_equal(so_optimizer_new(type, N, precision, other, &b), SO_OK);
    for (int t = 0; t < STEPS; t++) {
        if (t == SPLIT) {
            saved = save_state(a, &saved_size);
            memcpy(p_resumed, p_orig, sizeof p_orig);
            assert_int_equal(so_optimizer_load(b, saved, saved_size), SO_OK);
            assert_int_equal(so_optimizer_steps(b), SPLIT);
            assert_memory_equal(so_optimizer_params(b), so_optimizer_params(a),
                                sizeof(so_optim_params));
        }
        fill_gradients(g, precision, t);
        assert_int_equal(so_optimizer_step(a, p_orig, g), SO_OK);
        if (t >= SPLIT)
            assert_int_equal(so_optimizer_step(b, p_resumed, g), SO_OK);
    }
    assert_memory_equal(p_orig, p_resumed, sizeof p_orig);
    size_t size_a, size_b;
    unsigned char *end_a = save_state(a, &size_a), *end_b = save_state(b, &size_b);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(end_a, end_b, size_a);
    free(saved);
    free(end_a);
    free(end_b);
    so_optimizer_free(&a);
    so_optimizer_free(&b);
}

static void resume_is_bit_identical(void **state)
{
    so_optim_params adam = so_optim_params_default(so_optim_adam);
    so_optim_params adam_other = adam, sgd = so_optim_params_default(so_optim_sgd);
    so_optim_params sgd_other = sgd;
    (void)state;
    adam.lr = 0.03;
    adam.amsgrad = 1;
    adam.weight_decay = 0.01;
    adam.clip_norm = 3.0;
    adam_other.lr = 0.5; /* and no amsgrad, so load must add a buffer */
    sgd.lr = 0.05;
    sgd.momentum = 0.9;
    sgd.nesterov = 1;
    sgd.maximize = 1;
    sgd_other.lr = 2.0; /* momentum 0 keeps no buffer */
    for (int k = 0; k < 2; k++) {
        so_precision precision = k == 0 ? SO_F32 : SO_F64;
        check_resume(so_optim_adam, precision, &adam, &adam_other);
        check_resume(so_optim_adam, precision, &adam_other, &adam);
        check_resume(so_optim_sgd, precision, &sgd, &sgd_other);
        check_resume(so_optim_sgd, precision, &sgd_other, &sgd);
    }
}

static uint32_t read_u32le(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The header starts with the magic, version 1 and the method name, and the size is the
 * header plus the buffers plus the CRC-32 of everything before it. */
static void saved_bytes_describe_themselves(void **state)
{
    so_optimizer *opt = NULL;
    size_t size;
    (void)state;
    assert_int_equal(so_optimizer_new(so_optim_adam, N, SO_F64, NULL, &opt), SO_OK);
    unsigned char *bytes = save_state(opt, &size);
    assert_memory_equal(bytes, "SOOPTIM\0", 8);
    assert_int_equal(read_u32le(bytes + 8), 1);
    assert_int_equal(bytes[12], 4);
    assert_memory_equal(bytes + 13, "adam", 4);
    assert_int_equal(bytes[17], 8);
    assert_true(size > 2 * N * sizeof(double) + 4);
    assert_int_equal(read_u32le(bytes + size - 4), (uint32_t)crc32(0L, bytes, (uInt)(size - 4)));

    size_t small = size - 1;
    assert_int_equal(so_optimizer_save(opt, bytes, &small), SO_ERR_RANGE);
    assert_int_equal(small, size);
    assert_non_null(strstr(so_last_error(), "too small"));
    free(bytes);
    so_optimizer_free(&opt);
}

static void check_load_fails(so_optimizer *opt, const unsigned char *bytes, size_t size,
                             int status, const char *message)
{
    size_t before_size, after_size;
    unsigned char *before = save_state(opt, &before_size);
    assert_int_equal(so_optimizer_load(opt, bytes, size), status);
    if (message != NULL && strstr(so_last_error(), message) == NULL)
        fail_msg("detail \"%s\" lacks \"%s\"", so_last_error(), message);
    unsigned char *after = save_state(opt, &after_size);
    assert_int_equal(before_size, after_size);
    assert_memory_equal(before, after, before_size);
    free(before);
    free(after);
}

static so_optimizer *stepped(const so_optim_type *type, size_t n, so_precision precision)
{
    so_optim_params hp = so_optim_params_default(type);
    so_optimizer *opt = NULL;
    double p[N + 1] = {0}, g[N + 1];
    hp.momentum = type == so_optim_sgd ? 0.5 : 0.0;
    assert_int_equal(so_optimizer_new(type, n, precision, &hp, &opt), SO_OK);
    fill_gradients(g, precision, 1);
    assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
    return opt;
}

static void mismatched_state_is_rejected(void **state)
{
    so_optimizer *adam = stepped(so_optim_adam, N, SO_F64);
    so_optimizer *sgd = stepped(so_optim_sgd, N, SO_F64);
    so_optimizer *adam32 = stepped(so_optim_adam, N, SO_F32);
    so_optimizer *adam_short = stepped(so_optim_adam, N - 1, SO_F64);
    size_t size;
    (void)state;
    unsigned char *bytes = save_state(adam, &size);
    check_load_fails(sgd, bytes, size, SO_ERR_INVALID, "method is \"adam\" but this optimizer "
                                                       "is \"sgd\"");
    check_load_fails(adam32, bytes, size, SO_ERR_INVALID,
                     "precision is float64 but this optimizer is float32");
    check_load_fails(adam_short, bytes, size, SO_ERR_INVALID,
                     "n = 37 parameters but this optimizer has 36");
    assert_int_equal(so_optimizer_load(adam, NULL, size), SO_ERR_INVALID);
    free(bytes);
    so_optimizer_free(&adam);
    so_optimizer_free(&sgd);
    so_optimizer_free(&adam32);
    so_optimizer_free(&adam_short);
}

/* Every truncation and every single-byte change is rejected without touching opt. */
static void truncated_or_corrupt_state_is_rejected(void **state)
{
    so_optimizer *source = stepped(so_optim_adam, N, SO_F32);
    so_optimizer *target = stepped(so_optim_adam, N, SO_F32);
    size_t size;
    (void)state;
    unsigned char *bytes = save_state(source, &size);
    unsigned char *copy = malloc(size);
    assert_non_null(copy);

    for (size_t len = 0; len < size; len++)
        check_load_fails(target, bytes, len, SO_ERR_FORMAT, NULL);
    check_load_fails(target, bytes, size / 2, SO_ERR_FORMAT, "truncated");
    /* Bytes 8-11 hold the version, which is checked before the CRC-32. */
    for (size_t i = 0; i < size; i++) {
        memcpy(copy, bytes, size);
        copy[i] ^= 0x20;
        check_load_fails(target, copy, size,
                         i >= 8 && i < 12 ? SO_ERR_UNSUPPORTED : SO_ERR_FORMAT, NULL);
    }
    memcpy(copy, bytes, size);
    copy[size - 10] ^= 1; /* inside the last buffer */
    check_load_fails(target, copy, size, SO_ERR_FORMAT, "CRC-32 mismatch");
    memcpy(copy, bytes, size);
    copy[8] = 2;
    check_load_fails(target, copy, size, SO_ERR_UNSUPPORTED, "format version 2");
    free(copy);
    free(bytes);
    so_optimizer_free(&source);
    so_optimizer_free(&target);
}

/* Rewrites the CRC-32 after a deliberate edit, to reach the checks behind it. */
static void reseal(unsigned char *bytes, size_t size)
{
    uint32_t crc = (uint32_t)crc32(0L, bytes, (uInt)(size - 4));
    for (int k = 0; k < 4; k++)
        bytes[size - 4 + (size_t)k] = (unsigned char)(crc >> (8 * k));
}

/* Offset of the value of hyperparameter `name`, found by scanning for its name. */
static size_t value_offset(const unsigned char *bytes, size_t size, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i + 1 + len + 8 <= size; i++)
        if (bytes[i] == len && memcmp(bytes + i + 1, name, len) == 0)
            return i + 1 + len;
    fail_msg("hyperparameter %s not found", name);
    return 0;
}

static void well_sealed_but_invalid_state_is_rejected(void **state)
{
    so_optimizer *opt = stepped(so_optim_adam, N, SO_F64);
    size_t size;
    const double negative_lr = -1.0, half = 0.5;
    (void)state;
    unsigned char *bytes = save_state(opt, &size);
    unsigned char *copy = malloc(size);
    assert_non_null(copy);

    memcpy(copy, bytes, size);
    memcpy(copy + value_offset(copy, size, "lr"), &negative_lr, 8); /* little-endian host */
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_INVALID, "optimizer state: adam: lr = -1");

    memcpy(copy, bytes, size);
    memcpy(copy + value_offset(copy, size, "amsgrad"), &half, 8);
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_FORMAT, "amsgrad = 0.5: expected 0 or 1");

    memcpy(copy, bytes, size);
    memcpy(copy + value_offset(copy, size, "eps") - 3, "ep$", 3);
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_UNSUPPORTED, "hyperparameter \"ep$\" is unknown");

    memcpy(copy, bytes, size);
    memcpy(copy + value_offset(copy, size, "beta1") - 5, "beta2", 5);
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_FORMAT, "hyperparameter beta2 appears twice");

    free(copy);
    free(bytes);
    so_optimizer_free(&opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_is_bit_identical),
        cmocka_unit_test(saved_bytes_describe_themselves),
        cmocka_unit_test(mismatched_state_is_rejected),
        cmocka_unit_test(truncated_or_corrupt_state_is_rejected),
        cmocka_unit_test(well_sealed_but_invalid_state_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
