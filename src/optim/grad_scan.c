/* The gradient pre-pass of every step: a check that all gradients are finite and,
 * when norm clipping is on or the method needs the norm, their sum of squares (after value
 * clipping), both in one read of the gradient array.
 *
 * The finiteness test looks at the exponent bits as integers so that the compiler can
 * vectorize it under strict IEEE semantics. The sum of squares runs in chunks of
 * SO_OPTIM_CHUNK with eight accumulators each, so its rounding does not depend on the
 * number of OpenMP threads. */
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

enum { LANES = 8 };

/* Returns 1 when any of x[0..n-1] has an all-ones exponent (NaN or infinity). */
static int chunk_has_nonfinite_f32(const float *x, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        bad |= (bits & 0x7f800000u) == 0x7f800000u;
    }
    return bad != 0;
}

static int chunk_has_nonfinite_f64(const double *x, size_t n)
{
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        bad |= (bits & 0x7ff0000000000000u) == 0x7ff0000000000000u;
    }
    return bad != 0;
}

static double sum_lanes(const double acc[LANES])
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double clamp(double x, double c)
{
    if (x < -c)
        return -c;
    return x > c ? c : x;
}

/* Sum of squares of x[0..n-1], each clamped to [-c, c] first when c > 0. */
static double chunk_sum_squares_f32(const float *x, size_t n, double c)
{
    double acc[LANES] = {0};
    size_t i = 0;
    if (c > 0.0) {
        for (; i < n; i++) {
            double y = clamp(x[i], c);
            acc[i % LANES] += y * y;
        }
        return sum_lanes(acc);
    }
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++)
        acc[0] += (double)x[i] * (double)x[i];
    return sum_lanes(acc);
}

static double chunk_sum_squares_f64(const double *x, size_t n, double c)
{
    double acc[LANES] = {0};
    size_t i = 0;
    if (c > 0.0) {
        for (; i < n; i++) {
            double y = clamp(x[i], c);
            acc[i % LANES] += y * y;
        }
        return sum_lanes(acc);
    }
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[i + k] * x[i + k];
    for (; i < n; i++)
        acc[0] += x[i] * x[i];
    return sum_lanes(acc);
}

static int report_nonfinite(double value, size_t index, size_t n)
{
    return so_fail_(SO_ERR_NONFINITE,
                    "gradient %zu of %zu is %g: the step was skipped and the parameters "
                    "and optimizer state are unchanged; check the loss and the data for "
                    "overflow or invalid values",
                    index, n, value);
}

int so_optim_scan_f32_(const float *grads, size_t n, double clip_value, double *chunk_sums,
                       double *sum_squares)
{
    /* The kernels clamp float32 gradients to the float nearest clip_value. */
    const double c32 = (float)clip_value;
    const long chunks = (long)((n + SO_OPTIM_CHUNK - 1) / SO_OPTIM_CHUNK);
    long first_bad = chunks;

    /* Each chunk is scanned while its data is in cache, so the squares cost no extra
     * read. The minimum over flagged chunks is the same for any schedule. */
#pragma omp parallel for schedule(static) reduction(min : first_bad) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * SO_OPTIM_CHUNK;
        size_t len = n - lo < SO_OPTIM_CHUNK ? n - lo : SO_OPTIM_CHUNK;
        if (chunk_has_nonfinite_f32(grads + lo, len))
            first_bad = c < first_bad ? c : first_bad;
        else if (sum_squares != NULL)
            chunk_sums[c] = chunk_sum_squares_f32(grads + lo, len, c32);
    }
    if (first_bad < chunks) {
        size_t i = (size_t)first_bad * SO_OPTIM_CHUNK;
        while (!chunk_has_nonfinite_f32(grads + i, 1))
            i++;
        return report_nonfinite(grads[i], i, n);
    }
    if (sum_squares != NULL) {
        double total = 0.0;
        for (long c = 0; c < chunks; c++)
            total += chunk_sums[c];
        *sum_squares = total;
    }
    return SO_OK;
}

int so_optim_scan_f64_(const double *grads, size_t n, double clip_value, double *chunk_sums,
                       double *sum_squares)
{
    const long chunks = (long)((n + SO_OPTIM_CHUNK - 1) / SO_OPTIM_CHUNK);
    long first_bad = chunks;

#pragma omp parallel for schedule(static) reduction(min : first_bad) if (chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t lo = (size_t)c * SO_OPTIM_CHUNK;
        size_t len = n - lo < SO_OPTIM_CHUNK ? n - lo : SO_OPTIM_CHUNK;
        if (chunk_has_nonfinite_f64(grads + lo, len))
            first_bad = c < first_bad ? c : first_bad;
        else if (sum_squares != NULL)
            chunk_sums[c] = chunk_sum_squares_f64(grads + lo, len, clip_value);
    }
    if (first_bad < chunks) {
        size_t i = (size_t)first_bad * SO_OPTIM_CHUNK;
        while (!chunk_has_nonfinite_f64(grads + i, 1))
            i++;
        return report_nonfinite(grads[i], i, n);
    }
    if (sum_squares != NULL) {
        double total = 0.0;
        for (long c = 0; c < chunks; c++)
            total += chunk_sums[c];
        *sum_squares = total;
    }
    return SO_OK;
}
