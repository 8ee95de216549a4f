/* Replays trajectories recorded from torch.optim 1.13 (tests/reference/gen_optim_torch.py
 * writes them; torch is not needed here) for SGD, heavy-ball and Nesterov momentum,
 * Adagrad, RMSprop (plain, centered, with momentum), Adadelta, Adam, AdamW and AMSGrad,
 * with weight decay, maximize, value and norm clipping and parameter groups, and requires
 * the parameters after every step to match torch's: a relative error
 * max|p - p_torch| / max|p_torch| of at most 1e-12 in float64 and 1e-6 in float32. The two
 * cannot agree bit for bit because torch's AVX2 kernels fuse multiply-adds and this
 * library does not. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stochopt/optim.h"

#define REFERENCE_DIR SO_TEST_DATA_DIR "/reference/optim/"

enum { MAX_GROUPS = 8 };

typedef struct group {
    size_t lo, hi;
    double lr_scale, weight_decay_scale;
} group;

typedef struct reference {
    char name[64], method[16], precision[8];
    size_t n, steps;
    so_optim_params hp;
    size_t num_groups;
    group groups[MAX_GROUPS];
} reference;

/* Applies one "name=value" or "group=lo:hi:lr_scale:weight_decay_scale" field of a
 * manifest line on top of the method's defaults. */
static void apply_field(reference *ref, const char *field)
{
    char key[64];
    double value;
    if (sscanf(field, "group=%zu:%zu:%lf:%lf", &ref->groups[ref->num_groups].lo,
               &ref->groups[ref->num_groups].hi, &ref->groups[ref->num_groups].lr_scale,
               &ref->groups[ref->num_groups].weight_decay_scale) == 4) {
        assert_true(ref->num_groups < MAX_GROUPS);
        ref->num_groups++;
        return;
    }
    if (sscanf(field, "%63[^=]=%lf", key, &value) != 2)
        fail_msg("%s: manifest field \"%s\" is not name=value", ref->name, field);
    if (so_optim_params_set(&ref->hp, key, value) != SO_OK)
        fail_msg("%s: %s", ref->name, so_last_error());
}

/* Parses one manifest line; returns 0 for comments. */
static int parse_manifest_line(char *line, reference *ref)
{
    int used = 0;
    memset(ref, 0, sizeof *ref);
    if (line[0] == '#')
        return 0;
    int fields = sscanf(line, "%63s %15s %7s %zu %zu%n", ref->name, ref->method,
                        ref->precision, &ref->n, &ref->steps, &used);
    assert_int_equal(fields, 5);
    const so_optim_type *type = so_optim_type_find(ref->method);
    if (type == NULL)
        fail_msg("%s: method %s is unknown", ref->name, ref->method);
    ref->hp = so_optim_params_default(type);
    for (char *field = strtok(line + used, " \n"); field != NULL; field = strtok(NULL, " \n"))
        apply_field(ref, field);
    return 1;
}

/* Reads the manifest line of configuration `name`; fails the test when it is missing. */
static void read_manifest_entry(const char *name, reference *ref)
{
    char line[1024];
    FILE *f = fopen(REFERENCE_DIR "manifest.txt", "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (parse_manifest_line(line, ref) && strcmp(ref->name, name) == 0) {
            fclose(f);
            return;
        }
    }
    fclose(f);
    fail_msg("configuration %s is not in manifest.txt; rerun gen_optim_torch.py", name);
}

/* Reads the whole trajectory file; returns malloc'ed bytes. */
static unsigned char *read_trajectory(const reference *ref, size_t elem_size)
{
    char path[512];
    const size_t expected = elem_size * ref->n * (1 + 2 * ref->steps);
    snprintf(path, sizeof path, REFERENCE_DIR "%s.bin", ref->name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *bytes = malloc(expected + 1);
    assert_non_null(bytes);
    size_t got = fread(bytes, 1, expected + 1, f);
    fclose(f);
    assert_int_equal(got, expected);
    return bytes;
}

/* Element i of little-endian array `bytes` as a double. */
static double element(const unsigned char *bytes, size_t elem_size, size_t i)
{
    uint64_t bits = 0;
    for (size_t k = 0; k < elem_size; k++)
        bits |= (uint64_t)bytes[i * elem_size + k] << (8 * k);
    if (elem_size == 4) {
        uint32_t bits32 = (uint32_t)bits;
        float value;
        memcpy(&value, &bits32, sizeof value);
        return value;
    }
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* Copies n elements at `bytes` into the native array `out` of the same precision. */
static void load_native(const unsigned char *bytes, size_t elem_size, size_t n, void *out)
{
    for (size_t i = 0; i < n; i++) {
        if (elem_size == 4)
            ((float *)out)[i] = (float)element(bytes, elem_size, i);
        else
            ((double *)out)[i] = element(bytes, elem_size, i);
    }
}

static double relative_error(const void *params, const unsigned char *expected,
                             size_t elem_size, size_t n)
{
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        double want = element(expected, elem_size, i);
        double got = elem_size == 4 ? ((const float *)params)[i] : ((const double *)params)[i];
        diff = fmax(diff, fabs(got - want));
        scale = fmax(scale, fabs(want));
    }
    return diff / scale;
}

static void replay_matches_torch(void **state)
{
    const char *name = *state;
    reference ref;
    read_manifest_entry(name, &ref);
    const so_precision precision = strcmp(ref.precision, "f32") == 0 ? SO_F32 : SO_F64;
    const size_t es = precision == SO_F32 ? sizeof(float) : sizeof(double);
    const double tolerance = precision == SO_F32 ? 1e-6 : 1e-12;
    const size_t row = es * ref.n;
    unsigned char *traj = read_trajectory(&ref, es);
    void *params = malloc(row), *grads = malloc(row);
    so_optimizer *opt = NULL;
    double worst = 0.0;

    assert_non_null(params);
    assert_non_null(grads);
    assert_int_equal(so_optimizer_new(so_optim_type_find(ref.method), ref.n, precision,
                                      &ref.hp, &opt),
                     SO_OK);
    for (size_t k = 0; k < ref.num_groups; k++)
        assert_int_equal(so_optimizer_set_group(opt, ref.groups[k].lo, ref.groups[k].hi,
                                                ref.groups[k].lr_scale,
                                                ref.groups[k].weight_decay_scale),
                         SO_OK);
    load_native(traj, es, ref.n, params);
    for (size_t t = 0; t < ref.steps; t++) {
        const unsigned char *g = traj + row * (1 + 2 * t), *p = g + row;
        load_native(g, es, ref.n, grads);
        assert_int_equal(so_optimizer_step(opt, params, grads), SO_OK);
        double err = relative_error(params, p, es, ref.n);
        if (!(err <= tolerance))
            fail_msg("%s: step %zu: relative error %.3g exceeds %.0e", name, t + 1, err,
                     tolerance);
        worst = fmax(worst, err);
    }
    print_message("%s: max relative error %.3g over %zu steps\n", name, worst, ref.steps);
    so_optimizer_free(&opt);
    free(params);
    free(grads);
    free(traj);
}

#define PARITY_TEST(name) cmocka_unit_test_prestate(replay_matches_torch, (void *)name)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PARITY_TEST("sgd_plain"),
        PARITY_TEST("sgd_momentum"),
        PARITY_TEST("sgd_dampening"),
        PARITY_TEST("sgd_nesterov"),
        PARITY_TEST("sgd_weight_decay"),
        PARITY_TEST("sgd_maximize"),
        PARITY_TEST("sgd_clip"),
        PARITY_TEST("adam_default"),
        PARITY_TEST("adam_amsgrad"),
        PARITY_TEST("adam_weight_decay"),
        PARITY_TEST("adam_maximize"),
        PARITY_TEST("adam_clip"),
        PARITY_TEST("adam_amsgrad_decay_maximize_clip"),
        PARITY_TEST("adam_default_f32"),
        PARITY_TEST("adam_amsgrad_weight_decay_f32"),
        PARITY_TEST("sgd_nesterov_f32"),
        PARITY_TEST("momentum_preset"),
        PARITY_TEST("nesterov_preset_weight_decay"),
        PARITY_TEST("sgd_clip_value_then_norm"),
        PARITY_TEST("sgd_groups_lr_and_decay"),
        PARITY_TEST("adagrad_default"),
        PARITY_TEST("adagrad_lr_decay_initial_accumulator"),
        PARITY_TEST("adagrad_weight_decay_maximize"),
        PARITY_TEST("adagrad_initial_accumulator_f32"),
        PARITY_TEST("rmsprop_plain"),
        PARITY_TEST("rmsprop_centered"),
        PARITY_TEST("rmsprop_momentum"),
        PARITY_TEST("rmsprop_centered_momentum_decay_maximize"),
        PARITY_TEST("rmsprop_centered_momentum_f32"),
        PARITY_TEST("adadelta_default"),
        PARITY_TEST("adadelta_rho_decay_maximize"),
        PARITY_TEST("adadelta_default_f32"),
        PARITY_TEST("adamw_default"),
        PARITY_TEST("adamw_amsgrad_maximize"),
        PARITY_TEST("adamw_clip_value_then_norm"),
        PARITY_TEST("adamw_groups_lr_and_decay"),
        PARITY_TEST("adamw_weight_decay_f32"),
        PARITY_TEST("amsgrad_preset"),
        PARITY_TEST("adam_clip_value"),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
