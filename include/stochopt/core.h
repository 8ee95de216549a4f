/* Core services of stochopt: status codes, error detail, logging, random numbers and
 * progress reporting. Every other module builds on these. */
#ifndef STOCHOPT_CORE_H
#define STOCHOPT_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Zero is success; every failure is negative. SO_NOT_CONVERGED is positive
 * because an iteration that has not met its tolerance yet is an outcome, not an error. */
#define SO_STATUS_LIST(X)                                                              \
    X(SO_OK, 0, "success")                                                             \
    X(SO_NOT_CONVERGED, 1, "tolerance not reached within the iteration limit")         \
    X(SO_ERR_INVALID, -1, "invalid argument")                                          \
    X(SO_ERR_NOMEM, -2, "out of memory")                                               \
    X(SO_ERR_IO, -3, "input/output error")                                             \
    X(SO_ERR_FORMAT, -4, "malformed input data")                                       \
    X(SO_ERR_UNSUPPORTED, -5, "unsupported feature or format")                         \
    X(SO_ERR_NONFINITE, -6, "non-finite value (NaN or Inf)")                           \
    X(SO_ERR_NOT_FOUND, -7, "not found")                                               \
    X(SO_ERR_RANGE, -8, "value out of range")                                          \
    X(SO_ERR_STATE, -9, "object in the wrong state for this call")                     \
    X(SO_ERR_NUMERIC, -10, "numerical failure")                                        \
    X(SO_ERR_CALLBACK, -11, "a user callback requested a stop")

typedef enum so_status {
#define SO_STATUS_ENUM_(name, value, text) name = value,
    SO_STATUS_LIST(SO_STATUS_ENUM_)
#undef SO_STATUS_ENUM_
} so_status;

/* Returns a static description of a status code; unknown codes give "unknown status". */
const char *so_strerror(int status);

/* Returns the detail of the last failure in the calling thread, such as
 * "train-images-idx3-ubyte: byte 16: expected 47040000 data bytes, found 1200".
 * The string is empty when no failure was recorded. It stays valid until the next
 * stochopt call in the same thread. */
const char *so_last_error(void);

/* Clears the calling thread's error detail. */
void so_clear_error(void);

/* Returns the library version, "MAJOR.MINOR.PATCH". */
const char *so_version(void);

/* ---- Logging: the library prints nothing; messages go to a handler the caller sets. */

typedef enum so_log_level {
    SO_LOG_DEBUG = 0,
    SO_LOG_INFO = 1,
    SO_LOG_WARN = 2,
    SO_LOG_ERROR = 3
} so_log_level;

typedef void (*so_log_fn)(void *user, so_log_level level, const char *message);

/* Installs a process-wide log handler and the minimum level passed to it. A NULL handler
 * discards every message, which is the default. */
void so_set_log_handler(so_log_fn fn, void *user, so_log_level min_level);

/* ---- Random numbers: Philox4x32-10 (Salmon et al., SC 2011).
 * A stream is selected by (seed, stream id). Streams with different ids are independent,
 * so a parallel loop that gives each item its own stream produces the same numbers
 * whatever the thread count or schedule. The whole state is four integers, so it can be
 * saved in a checkpoint and restored exactly. */

typedef struct so_rng {
    uint64_t seed;    /* the Philox key */
    uint64_t stream;  /* upper half of the counter */
    uint64_t counter; /* lower half of the counter: index of the next 128-bit block */
    uint32_t block[4];
    uint32_t used;    /* words of block already consumed, 4 when empty */
} so_rng;

/* Starts stream `stream` of generator `seed` at its first number. */
void so_rng_init(so_rng *rng, uint64_t seed, uint64_t stream);

/* Computes one Philox4x32-10 block: out = philox(counter, key). Exposed for tests. */
void so_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

uint32_t so_rng_u32(so_rng *rng);
uint64_t so_rng_u64(so_rng *rng);
/* Uniform on [0, 1) with 53 random bits. */
double so_rng_uniform(so_rng *rng);
/* Uniform on [0, 1) with 24 random bits. */
float so_rng_uniform_f(so_rng *rng);
/* Standard normal by the Box-Muller transform; two uniforms per call, no cached value,
 * so the state stays four integers. */
double so_rng_normal(so_rng *rng);
/* Returns 1 with probability p (clamped to [0, 1]), else 0. */
int so_rng_bernoulli(so_rng *rng, double p);
/* Uniform integer on [0, n) without modulo bias; n must be positive. */
uint64_t so_rng_below(so_rng *rng, uint64_t n);
/* Draws an index from unnormalized non-negative weights w[0..k-1]. Returns -1 and sets
 * the error detail when k is zero, a weight is negative or non-finite, or all are zero. */
long so_rng_categorical(so_rng *rng, const double *w, size_t k);
/* Shuffles perm[0..n-1] in place (Fisher-Yates). */
void so_rng_shuffle(so_rng *rng, uint32_t *perm, size_t n);

/* ---- Progress: long-running calls report through this callback. */

typedef struct so_progress {
    const char *task;   /* what is running, such as "train" */
    long epoch;         /* current epoch, from 1 */
    long epochs;        /* total epochs */
    long step;          /* steps done in this epoch */
    long steps;         /* steps per epoch */
    double loss;        /* running mean of the loss in this epoch */
    double samples_per_second;
} so_progress;

/* Returns 0 to continue and nonzero to stop the call, which then returns
 * SO_ERR_CALLBACK. */
typedef int (*so_progress_fn)(void *user, const so_progress *progress);

/* ---- Timing */

/* Seconds on a monotonic clock. */
double so_time_now(void);

#ifdef __cplusplus
}
#endif

#endif
