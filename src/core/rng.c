/* Philox4x32-10 counter-based generator and the samplers built on it.
 * Reference: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011. The multipliers and Weyl constants below are
 * the ones published there for Philox4x32. */
#include <math.h>

#include "core/internal.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void so_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];

    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;

        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void so_rng_init(so_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->seed = seed;
    rng->stream = stream;
    rng->counter = 0;
    rng->used = 4;
    rng->block[0] = rng->block[1] = rng->block[2] = rng->block[3] = 0;
}

static void refill(so_rng *rng)
{
    uint32_t ctr[4] = {(uint32_t)rng->counter, (uint32_t)(rng->counter >> 32),
                       (uint32_t)rng->stream, (uint32_t)(rng->stream >> 32)};
    uint32_t key[2] = {(uint32_t)rng->seed, (uint32_t)(rng->seed >> 32)};

    so_philox4x32_10(ctr, key, rng->block);
    rng->counter++;
    rng->used = 0;
}

uint32_t so_rng_u32(so_rng *rng)
{
    if (rng->used >= 4)
        refill(rng);
    return rng->block[rng->used++];
}

uint64_t so_rng_u64(so_rng *rng)
{
    uint64_t hi = so_rng_u32(rng);
    uint64_t lo = so_rng_u32(rng);
    return hi << 32 | lo;
}

double so_rng_uniform(so_rng *rng)
{
    return (double)(so_rng_u64(rng) >> 11) * 0x1.0p-53;
}

float so_rng_uniform_f(so_rng *rng)
{
    return (float)(so_rng_u32(rng) >> 8) * 0x1.0p-24f;
}

double so_rng_normal(so_rng *rng)
{
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    double u1 = 1.0 - so_rng_uniform(rng);
    double u2 = so_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

int so_rng_bernoulli(so_rng *rng, double p)
{
    return so_rng_uniform(rng) < p;
}

uint64_t so_rng_below(so_rng *rng, uint64_t n)
{
    /* Rejection from the largest multiple of n below 2^64 (Lemire's threshold). */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = so_rng_u64(rng);
        if (r >= threshold)
            return r % n;
    }
}

long so_rng_categorical(so_rng *rng, const double *w, size_t k)
{
    double total = 0.0;
    double target, cumulative = 0.0;
    size_t last_positive = 0;

    if (k == 0)
        return so_fail_(SO_ERR_INVALID, "categorical: no categories"), -1;
    for (size_t i = 0; i < k; i++) {
        if (!(w[i] >= 0.0) || isinf(w[i]))
            return so_fail_(SO_ERR_INVALID, "categorical: weight %zu is %g, expected a finite "
                            "non-negative number", i, w[i]), -1;
        if (w[i] > 0.0)
            last_positive = i;
        total += w[i];
    }
    if (!(total > 0.0) || isinf(total))
        return so_fail_(SO_ERR_INVALID, "categorical: weights sum to %g, expected a positive "
                        "finite sum", total), -1;
    target = so_rng_uniform(rng) * total;
    for (size_t i = 0; i < k; i++) {
        cumulative += w[i];
        if (target < cumulative && w[i] > 0.0)
            return (long)i;
    }
    /* Rounding can leave target just above the last partial sum. */
    return (long)last_positive;
}

void so_rng_shuffle(so_rng *rng, uint32_t *perm, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)so_rng_below(rng, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
