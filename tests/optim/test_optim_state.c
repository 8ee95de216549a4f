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

/* Optional extras of an optimizer in a resume test: a schedule and two groups. */
typedef struct extras {
    int schedule, groups;
} extras;

static so_optimizer *new_with_extras(const so_optim_type *type, so_precision precision,
                                     const so_optim_params *hp, extras x)
{
    so_optimizer *opt = NULL;
    if (so_optimizer_new(type, N, precision, hp, &opt) != SO_OK)
        fail_msg("%s", so_last_error());
    if (x.schedule) {
        so_schedule s = so_schedule_default(so_schedule_cosine);
        s.t_max = 7;
        s.eta_min = 1e-4;
        s.warmup_steps = 2;
        s.warmup_start_factor = 0.1;
        assert_int_equal(so_optimizer_set_schedule(opt, &s), SO_OK);
    }
    if (x.groups) {
        assert_int_equal(so_optimizer_set_group(opt, 5, 20, 0.5, 0.0), SO_OK);
        assert_int_equal(so_optimizer_set_group(opt, 30, N, 2.0, 3.0), SO_OK);
    }
    return opt;
}

/* Every hyperparameter, the schedule and the groups of b equal those of a. */
static void assert_same_configuration(const so_optimizer *a, const so_optimizer *b)
{
    char names[512];
    strcpy(names, so_optim_param_names());
    for (char *name = strtok(names, ","); name != NULL; name = strtok(NULL, ",")) {
        double va, vb;
        assert_int_equal(so_optim_params_get(so_optimizer_params(a), name, &va), SO_OK);
        assert_int_equal(so_optim_params_get(so_optimizer_params(b), name, &vb), SO_OK);
        if (memcmp(&va, &vb, sizeof va) != 0)
            fail_msg("%s: %.17g after load, %.17g saved", name, vb, va);
    }
    assert_true(so_optimizer_base_lr(a) == so_optimizer_base_lr(b));
    assert_int_equal(so_optimizer_schedule(a) == NULL, so_optimizer_schedule(b) == NULL);
    if (so_optimizer_schedule(a) != NULL)
        assert_memory_equal(so_optimizer_schedule(a), so_optimizer_schedule(b),
                            sizeof(so_schedule));
    for (size_t i = 0; i < N; i++) {
        double lr_a, wd_a, lr_b, wd_b;
        assert_int_equal(so_optimizer_group(a, i, &lr_a, &wd_a), SO_OK);
        assert_int_equal(so_optimizer_group(b, i, &lr_b, &wd_b), SO_OK);
        assert_true(lr_a == lr_b);
        assert_true(wd_a == wd_b);
    }
}

/* Runs the original for STEPS steps, saving after SPLIT; a second optimizer created with
 * `other` hyperparameters and extras loads that state and runs the remaining steps from
 * the same parameters. Parameters and final state must agree byte for byte. */
static void check_resume(const so_optim_type *type, so_precision precision,
                         const so_optim_params *original, extras original_extras,
                         const so_optim_params *other, extras other_extras)
{
    double p_orig[N], p_resumed[N], g[N]; /* large enough for either precision */
    unsigned char *saved = NULL;
    size_t saved_size = 0;

    memset(p_orig, 0, sizeof p_orig);
    so_optimizer *a = new_with_extras(type, precision, original, original_extras);
    so_optimizer *b = new_with_extras(type, precision, other, other_extras);
    for (int t = 0; t < STEPS; t++) {
        if (t == SPLIT) {
            saved = save_state(a, &saved_size);
            memcpy(p_resumed, p_orig, sizeof p_orig);
            assert_int_equal(so_optimizer_load(b, saved, saved_size), SO_OK);
            assert_int_equal(so_optimizer_steps(b), SPLIT);
            assert_same_configuration(a, b);
        }
        fill_gradients(g, precision, t);
        assert_int_equal(so_optimizer_step(a, p_orig, g), SO_OK);
        if (t >= SPLIT)
            assert_int_equal(so_optimizer_step(b, p_resumed, g), SO_OK);
    }
    if (memcmp(p_orig, p_resumed, sizeof p_orig) != 0)
        fail_msg("%s, float%d: the resumed parameters differ", so_optim_type_name(type),
                 precision == SO_F32 ? 32 : 64);
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

/* Sets hyperparameter `name` when the method reads it. */
static void set_if_used(const so_optim_type *type, so_optim_params *hp, const char *name,
                        double value)
{
    const char *list = so_optim_type_params(type);
    size_t len = strlen(name);
    for (const char *at = strstr(list, name); at != NULL; at = strstr(at + 1, name))
        if ((at == list || at[-1] == ',') && (at[len] == ',' || at[len] == '\0')) {
            assert_int_equal(so_optim_params_set(hp, name, value), SO_OK);
            return;
        }
}

/* Copies the next comma-separated name at *cursor into out and advances the cursor;
 * returns 0 at the end. strtok cannot serve because the loop body uses it too. */
static int next_name(const char **cursor, char *out, size_t size)
{
    if (**cursor == '\0')
        return 0;
    size_t len = strcspn(*cursor, ",");
    assert_true(len < size);
    memcpy(out, *cursor, len);
    out[len] = '\0';
    *cursor += len + ((*cursor)[len] == ',');
    return 1;
}

/* For every method: a state with every buffer, clipping, decay, a schedule and groups
 * resumes in an optimizer created with the defaults, and the reverse. */
static void resume_is_bit_identical(void **state)
{
    char names[256], name[32];
    const extras all = {1, 1}, none = {0, 0};
    (void)state;
    so_optim_type_list(names, sizeof names);
    for (const char *cursor = names; next_name(&cursor, name, sizeof name);) {
        const so_optim_type *type = so_optim_type_find(name);
        so_optim_params full = so_optim_params_default(type);
        so_optim_params plain = full;
        full.lr *= 0.5;
        full.weight_decay = 0.01;
        full.clip_norm = 3.0;
        full.clip_value = 1.5;
        set_if_used(type, &full, "momentum", 0.9);
        set_if_used(type, &full, "nesterov", 1);
        set_if_used(type, &full, "amsgrad", 1);
        set_if_used(type, &full, "centered", 1);
        set_if_used(type, &full, "maximize", 1);
        set_if_used(type, &full, "initial_accumulator_value", 0.1);
        plain.lr *= 2.0;
        for (int k = 0; k < 2; k++) {
            so_precision precision = k == 0 ? SO_F32 : SO_F64;
            check_resume(type, precision, &full, all, &plain, none);
            check_resume(type, precision, &plain, none, &full, all);
        }
    }
}

static uint32_t read_u32le(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The header starts with the magic, version 2 and the method name, and the size is the
 * header plus the buffers plus the CRC-32 of everything before it. */
static void saved_bytes_describe_themselves(void **state)
{
    so_optimizer *opt = NULL;
    size_t size;
    (void)state;
    assert_int_equal(so_optimizer_new(so_optim_adam, N, SO_F64, NULL, &opt), SO_OK);
    unsigned char *bytes = save_state(opt, &size);
    assert_memory_equal(bytes, "SOOPTIM\0", 8);
    assert_int_equal(read_u32le(bytes + 8), 2);
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

/* Every truncation and every single-byte change of source's state is rejected without
 * touching target. */
static void check_every_corruption_fails(so_optimizer *source, so_optimizer *target)
{
    size_t size;
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
    copy[size - 10] ^= 1; /* near the end, before the CRC-32 */
    check_load_fails(target, copy, size, SO_ERR_FORMAT, "CRC-32 mismatch");
    memcpy(copy, bytes, size);
    copy[8] = 3;
    check_load_fails(target, copy, size, SO_ERR_UNSUPPORTED, "format version 3");
    free(copy);
    free(bytes);
}

static void truncated_or_corrupt_state_is_rejected(void **state)
{
    const extras all = {1, 1};
    so_optim_params norm = so_optim_params_default(so_optim_adagrad_norm);
    double p[N] = {0}, g[N];
    (void)state;
    so_optimizer *source = stepped(so_optim_adam, N, SO_F32);
    so_optimizer *target = stepped(so_optim_adam, N, SO_F32);
    check_every_corruption_fails(source, target);
    so_optimizer_free(&source);
    so_optimizer_free(&target);

    /* A state with a scalar, a schedule and groups; AdaGrad-Norm keeps no buffers. */
    norm.weight_decay = 0.1;
    source = new_with_extras(so_optim_adagrad_norm, SO_F64, &norm, all);
    target = new_with_extras(so_optim_adagrad_norm, SO_F64, NULL, all);
    fill_gradients(g, SO_F64, 1);
    assert_int_equal(so_optimizer_step(source, p, g), SO_OK);
    check_every_corruption_fails(source, target);
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

/* Appends little-endian integers and names to a byte array. */
static size_t put_le(unsigned char *out, size_t pos, uint64_t value, int bytes)
{
    for (int k = 0; k < bytes; k++)
        out[pos + (size_t)k] = (unsigned char)(value >> (8 * k));
    return pos + (size_t)bytes;
}

static size_t put_name(unsigned char *out, size_t pos, const char *name)
{
    size_t len = strlen(name);
    out[pos] = (unsigned char)len;
    memcpy(out + pos + 1, name, len);
    return pos + 1 + len;
}

/* Writes the state of `opt`, an Adam optimizer without amsgrad, in the layout of version
 * 1: the eleven hyperparameters of the first release, no scalars, schedule or groups. */
static unsigned char *save_version_1(const so_optimizer *opt, size_t *size)
{
    static const char *const v1_fields[11] = {"lr", "momentum", "dampening", "nesterov",
                                              "beta1", "beta2", "eps", "amsgrad",
                                              "weight_decay", "maximize", "clip_norm"};
    size_t v2_size, buffer_bytes = 2 * N * sizeof(double), pos = 0;
    unsigned char *v2 = save_state(opt, &v2_size), *out = malloc(1024 + buffer_bytes);
    assert_non_null(out);
    memcpy(out, "SOOPTIM\0", 8);
    pos = put_le(out, 8, 1, 4);
    pos = put_name(out, pos, "adam");
    pos = put_le(out, pos, 8, 1);
    pos = put_le(out, pos, N, 8);
    pos = put_le(out, pos, 11, 4);
    for (int i = 0; i < 11; i++) {
        double value;
        uint64_t bits;
        assert_int_equal(so_optim_params_get(so_optimizer_params(opt), v1_fields[i], &value),
                         SO_OK);
        memcpy(&bits, &value, sizeof bits);
        pos = put_name(out, pos, v1_fields[i]);
        pos = put_le(out, pos, bits, 8);
    }
    pos = put_le(out, pos, so_optimizer_steps(opt), 8);
    pos = put_le(out, pos, 2, 4);
    pos = put_name(out, pos, "exp_avg");
    pos = put_name(out, pos, "exp_avg_sq");
    /* The buffers end the version 2 bytes too, just before the CRC-32. */
    memcpy(out + pos, v2 + v2_size - 4 - buffer_bytes, buffer_bytes);
    pos += buffer_bytes;
    pos = put_le(out, pos, (uint32_t)crc32(0L, out, (uInt)pos), 4);
    free(v2);
    *size = pos;
    return out;
}

/* A state written by the first release loads into an optimizer with a schedule and
 * groups: they are dropped, the new hyperparameters take their defaults, and the next
 * step equals the original's. */
static void version_1_state_loads(void **state)
{
    so_optim_params hp = so_optim_params_default(so_optim_adam);
    double p_a[N] = {0}, p_b[N], g[N];
    size_t size;
    (void)state;
    hp.lr = 0.02;
    hp.weight_decay = 0.01;
    so_optimizer *a = NULL;
    assert_int_equal(so_optimizer_new(so_optim_adam, N, SO_F64, &hp, &a), SO_OK);
    for (int t = 0; t < 3; t++) {
        fill_gradients(g, SO_F64, t);
        assert_int_equal(so_optimizer_step(a, p_a, g), SO_OK);
    }
    unsigned char *v1 = save_version_1(a, &size);
    so_optim_params other = so_optim_params_default(so_optim_adam);
    other.amsgrad = 1;
    other.eps_placement = SO_EPS_INSIDE_SQRT;
    const extras all = {1, 1};
    so_optimizer *b = new_with_extras(so_optim_adam, SO_F64, &other, all);
    assert_int_equal(so_optimizer_load(b, v1, size), SO_OK);
    assert_int_equal(so_optimizer_steps(b), 3);
    assert_null(so_optimizer_schedule(b));
    assert_int_equal(so_optimizer_params(b)->amsgrad, 0);
    assert_int_equal(so_optimizer_params(b)->eps_placement, SO_EPS_AFTER_CORRECTION);
    assert_same_configuration(a, b);
    memcpy(p_b, p_a, sizeof p_a);
    fill_gradients(g, SO_F64, 3);
    assert_int_equal(so_optimizer_step(a, p_a, g), SO_OK);
    assert_int_equal(so_optimizer_step(b, p_b, g), SO_OK);
    assert_memory_equal(p_a, p_b, sizeof p_a);
    free(v1);
    so_optimizer_free(&a);
    so_optimizer_free(&b);
}

/* Invalid contents of the sections added in version 2, each sealed with a valid CRC-32. */
static void invalid_schedule_or_groups_are_rejected(void **state)
{
    const extras all = {1, 1};
    size_t size;
    const uint64_t zero = 0;
    const double negative = -1.0;
    (void)state;
    so_optimizer *opt = new_with_extras(so_optim_adam, SO_F64, NULL, all);
    unsigned char *bytes = save_state(opt, &size), *copy = malloc(size);
    assert_non_null(copy);

    memcpy(copy, bytes, size);
    memcpy(copy + value_offset(copy, size, "t_max"), &zero, 8);
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_INVALID,
                     "optimizer state: cosine schedule: t_max = 0 is invalid");

    memcpy(copy, bytes, size);
    memcpy(copy + value_offset(copy, size, "cosine") - 6, "cosinf", 6);
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_UNSUPPORTED, "schedule \"cosinf\" is unknown");

    /* Groups follow the last schedule field: u64 count, then lo, hi, lr_scale, wd_scale. */
    size_t groups = value_offset(bytes, size, "warmup_start_factor") + 8;
    assert_int_equal(bytes[groups], 4); /* [0, 5), [5, 20), [20, 30), [30, 37) */
    memcpy(copy, bytes, size);
    copy[groups + 8 + 8] = 6; /* the first group now ends at 6 */
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_FORMAT,
                     "group 1 covers [5, 20): expected a non-empty range that starts at 6");

    memcpy(copy, bytes, size);
    memcpy(copy + groups + 8 + 16, &negative, 8);
    reseal(copy, size);
    check_load_fails(opt, copy, size, SO_ERR_FORMAT, "group 0 has lr_scale = -1");

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
        cmocka_unit_test(version_1_state_loads),
        cmocka_unit_test(invalid_schedule_or_groups_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
