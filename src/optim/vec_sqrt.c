/* In-place square roots of short arrays. Under the default -fmath-errno neither gcc nor
 * clang vectorizes a loop that calls sqrt, because a negative argument must set errno.
 * The update kernels therefore collect their square-root arguments in a block and call
 * these helpers, which use the SSE2 (or, when compiled for it, AVX) square-root
 * instructions on x86-64. Those are correctly rounded (IEEE 754), so the results equal
 * sqrtf and sqrt bit for bit. */
#include <math.h>
#include <stddef.h>

#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "optim/optim_internal.h"

void so_sqrt_inplace_f32_(float *x, size_t n)
{
    size_t i = 0;
#if defined(__AVX__)
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#endif
#if defined(__SSE2__)
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
    /* NOTE: without SSE2 (other architectures) this scalar loop does all the work. */
    for (; i < n; i++)
        x[i] = sqrtf(x[i]);
}

void so_sqrt_inplace_f64_(double *x, size_t n)
{
    size_t i = 0;
#if defined(__AVX__)
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(x + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
#endif
#if defined(__SSE2__)
    for (; i + 2 <= n; i += 2)
        _mm_storeu_pd(x + i, _mm_sqrt_pd(_mm_loadu_pd(x + i)));
#endif
    for (; i < n; i++)
        x[i] = sqrt(x[i]);
}
