/* Adam's float32 update with AVX2, chosen at run time. The baseline x86-64 build uses SSE2,
 * where two divisions and a square root per parameter keep the kernel below memory
 * bandwidth. Eight lanes at a time bring it to the bandwidth.
 *
 * Each lane performs the same IEEE 754 operations in the same order as
 * so_adam_step_f32_scalar_, and multiply, add, divide and square root are correctly
 * rounded. No multiply is fused with an add, because the file is compiled with
 * -ffp-contract=off and the target enables AVX2 without FMA. So both kernels give the
 * same bits, which tests/optim/test_adam_dispatch.c checks. The kernel covers eps after
 * the bias correction, the default; the driver sends the other placements to the scalar
 * kernel. */
#include <stddef.h>

#include "optim/optim_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define SO_TARGET_AVX2_ __attribute__((target("avx2")))

int so_adam_avx2_available_(void)
{
    return __builtin_cpu_supports("avx2") != 0;
}

/* Lane-wise (a > b || a != a) ? a : b, the NaN-propagating maximum of the scalar kernel. */
SO_TARGET_AVX2_ static inline __m256 max_nan_ps(__m256 a, __m256 b)
{
    __m256 greater = _mm256_cmp_ps(a, b, _CMP_GT_OQ);
    __m256 a_is_nan = _mm256_cmp_ps(a, a, _CMP_UNORD_Q);
    __m256 take_a = _mm256_or_ps(greater, a_is_nan);
    return _mm256_blendv_ps(b, a, take_a);
}

/* Coefficients of one step, each rounded to float as in the scalar kernel. */
typedef struct avx2_coefficients {
    __m256 scale, clip, neg_clip, wd, keep, b1, c1, b2, c2, root_bc2, eps, neg_step;
    int clip_value, coupled, decoupled, amsgrad;
} avx2_coefficients;

SO_TARGET_AVX2_ static avx2_coefficients avx2_setup(const so_optim_update *u)
{
    const so_optim_params *hp = u->hp;
    const so_adam_scalars s = so_adam_scalars_(u);
    avx2_coefficients k;
    k.scale = _mm256_set1_ps((float)u->grad_scale * (hp->maximize ? -1.0f : 1.0f));
    k.clip = _mm256_set1_ps((float)hp->clip_value);
    k.neg_clip = _mm256_set1_ps(-(float)hp->clip_value);
    k.wd = _mm256_set1_ps((float)u->weight_decay);
    k.keep = _mm256_set1_ps((float)(1.0 - u->lr * u->weight_decay));
    k.b1 = _mm256_set1_ps((float)hp->beta1);
    k.c1 = _mm256_set1_ps((float)(1.0 - hp->beta1));
    k.b2 = _mm256_set1_ps((float)hp->beta2);
    k.c2 = _mm256_set1_ps((float)(1.0 - hp->beta2));
    k.root_bc2 = _mm256_set1_ps((float)s.root_bc2);
    k.eps = _mm256_set1_ps((float)hp->eps);
    k.neg_step = _mm256_set1_ps((float)s.neg_step);
    k.clip_value = hp->clip_value > 0.0;
    k.coupled = u->weight_decay != 0.0 && !hp->decoupled_weight_decay;
    k.decoupled = u->weight_decay != 0.0 && hp->decoupled_weight_decay;
    k.amsgrad = hp->amsgrad;
    return k;
}

SO_TARGET_AVX2_ void so_adam_step_f32_avx2_(const so_optim_update *u, size_t lo, size_t hi,
                                            float *params, const float *grads,
                                            float *const *buf)
{
    const avx2_coefficients k = avx2_setup(u);
    float *m = buf[0], *v = buf[1], *vmax = k.amsgrad ? buf[2] : NULL;
    size_t i = lo;

    for (; i + 8 <= hi; i += 8) {
        __m256 g = _mm256_loadu_ps(grads + i), p = _mm256_loadu_ps(params + i);
        /* The scalar kernel's g < -c ? -c : g, then x > c ? c : x; max and min pick the
         * same value for every finite g, and the driver has rejected the others. */
        if (k.clip_value)
            g = _mm256_min_ps(_mm256_max_ps(g, k.neg_clip), k.clip);
        __m256 d = _mm256_mul_ps(g, k.scale);
        if (k.coupled)
            d = _mm256_add_ps(d, _mm256_mul_ps(k.wd, p));
        else if (k.decoupled)
            p = _mm256_mul_ps(p, k.keep);

        __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), k.b1),
                                  _mm256_mul_ps(k.c1, d));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), k.b2),
                                  _mm256_mul_ps(_mm256_mul_ps(k.c2, d), d));
        __m256 x = vi;
        if (k.amsgrad) {
            x = max_nan_ps(_mm256_loadu_ps(vmax + i), vi);
            _mm256_storeu_ps(vmax + i, x);
        }
        __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(x), k.root_bc2), k.eps);
        p = _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(k.neg_step, mi), den));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(params + i, p);
    }
    if (i < hi)
        so_adam_step_f32_scalar_(u, i, hi, params, grads, buf);
}

#else

/* NOTE: other architectures and compilers always run the scalar kernel. */
int so_adam_avx2_available_(void)
{
    return 0;
}

void so_adam_step_f32_avx2_(const so_optim_update *u, size_t lo, size_t hi, float *params,
                            const float *grads, float *const *buf)
{
    so_adam_step_f32_scalar_(u, lo, hi, params, grads, buf);
}

#endif
