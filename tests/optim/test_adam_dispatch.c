/* The AVX2 kernel of Adam's float32 step against the scalar kernel. Both must leave the
 * same bits in the parameters and every buffer, for every option the AVX2 kernel covers,
 * for lengths that are and are not multiples of eight, and for values from 1e-30 to 2e4.
 * The driver's choice is checked too. On processors without AVX2 the tests are skipped. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "optim/optim_internal.h"
#include "stochopt/optim.h"

enum { MAX_N = 1100, STEPS = 5 };

/* A value of varied magnitude and sign from a small integer hash. */
static float varied(uint32_t i, uint32_t salt)
{
    uint32_t h = (i + 1) * 2654435761u ^ salt * 2246822519u;
    h ^= h >> 15;
    const float magnitudes[6] = {1e-30f, 1e-8f, 1e-3f, 0.5f, 3.0f, 1e4f};
    float sign = (h & 1u) ? -1.0f : 1.0f;
    return sign * magnitudes[(h >> 1) % 6] * (1.0f + (float)((h >> 8) % 1000) / 1000.0f);
}

typedef struct arrays {
    float p[MAX_N], g[MAX_N], m[MAX_N], v[MAX_N], vmax[MAX_N];
} arrays;

/* Runs STEPS updates of n elements with one kernel from the same starting point. */
static void run_kernel(so_optim_kernel_f32 kernel, const so_optim_params *hp, double scale,
                       size_t n, arrays *a)
{
    float *buf[SO_OPTIM_MAX_BUFFERS] = {a->m, a->v, a->vmax, NULL};
    for (size_t i = 0; i < n; i++) {
        a->p[i] = varied((uint32_t)i, 1);
        a->m[i] = a->v[i] = a->vmax[i] = 0.0f;
    }
    for (uint64_t t = 1; t <= STEPS; t++) {
        so_optim_update u = {hp, t, scale, hp->lr, hp->weight_decay, 0.0};
        for (size_t i = 0; i < n; i++)
            a->g[i] = varied((uint32_t)i, (uint32_t)t + 7);
        kernel(&u, 0, n, a->p, a->g, buf);
    }
}

static void check_same_bits(const so_optim_params *hp, double scale, size_t n)
{
    static arrays scalar, avx2;
    run_kernel(so_adam_step_f32_scalar_, hp, scale, n, &scalar);
    run_kernel(so_adam_step_f32_avx2_, hp, scale, n, &avx2);
    if (memcmp(scalar.p, avx2.p, n * sizeof(float)) != 0 ||
        memcmp(scalar.m, avx2.m, n * sizeof(float)) != 0 ||
        memcmp(scalar.v, avx2.v, n * sizeof(float)) != 0 ||
        memcmp(scalar.vmax, avx2.vmax, n * sizeof(float)) != 0)
        fail_msg("n = %zu, amsgrad %d, weight_decay %g (decoupled %d), clip_value %g, "
                 "maximize %d, scale %g: the AVX2 kernel differs from the scalar one",
                 n, hp->amsgrad, hp->weight_decay, hp->decoupled_weight_decay,
                 hp->clip_value, hp->maximize, scale);
}

static void avx2_kernel_matches_scalar_bits(void **state)
{
    const size_t lengths[] = {1, 7, 8, 9, 16, 31, 64, 513, 1031, MAX_N};
    (void)state;
    if (!so_adam_avx2_available_())
        skip();
    for (int option = 0; option < 32; option++) {
        so_optim_params hp = so_optim_params_default(so_optim_adam);
        hp.lr = 0.01;
        hp.amsgrad = option & 1;
        hp.weight_decay = (option & 2) ? 0.05 : 0.0;
        hp.decoupled_weight_decay = (option & 4) != 0;
        hp.clip_value = (option & 8) ? 0.7 : 0.0;
        hp.maximize = (option & 16) != 0;
        for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
            check_same_bits(&hp, 1.0, lengths[k]);
            check_same_bits(&hp, 0.3, lengths[k]);
        }
    }
}

/* The step with its dispatch equals the scalar kernel, bit for bit. */
static void driver_result_equals_scalar_kernel(void **state)
{
    enum { N = 1029 };
    static float p[N], g[N], ref_p[N], ref_m[N], ref_v[N];
    so_optim_params hp = so_optim_params_default(so_optim_adamw);
    so_optimizer *opt = NULL;
    float *ref_buf[SO_OPTIM_MAX_BUFFERS] = {ref_m, ref_v, NULL, NULL};
    (void)state;
    assert_int_equal(so_optimizer_new(so_optim_adamw, N, SO_F32, &hp, &opt), SO_OK);
    for (size_t i = 0; i < N; i++)
        p[i] = ref_p[i] = varied((uint32_t)i, 3);
    for (uint64_t t = 1; t <= STEPS; t++) {
        so_optim_update u = {&hp, t, 1.0, hp.lr, hp.weight_decay, 0.0};
        for (size_t i = 0; i < N; i++)
            g[i] = varied((uint32_t)i, (uint32_t)t + 11);
        assert_int_equal(so_optimizer_step(opt, p, g), SO_OK);
        so_adam_step_f32_scalar_(&u, 0, N, ref_p, g, ref_buf);
    }
    assert_memory_equal(p, ref_p, sizeof p);
    so_optimizer_free(&opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(avx2_kernel_matches_scalar_bits),
        cmocka_unit_test(driver_result_equals_scalar_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
