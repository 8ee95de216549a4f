/* Private interface of the optimizer module: the method descriptor, the optimizer object
 * and the helpers shared by the method files. Not part of the public API. */
#ifndef STOCHOPT_OPTIM_INTERNAL_H
#define STOCHOPT_OPTIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/optim.h"

/* Largest number of n-element state buffers any method keeps (Adam with amsgrad has 3). */
enum { SO_OPTIM_MAX_BUFFERS = 4 };

/* Elements per work item of the step driver. Every pass over the arrays is cut into chunks
 * of this size so that OpenMP threads get whole chunks and the gradient norm is summed in
 * the same order whatever the thread count. */
enum { SO_OPTIM_CHUNK = 16384 };

/* Elements that the methods process together so that temporaries stay in L1 cache. */
enum { SO_OPTIM_BLOCK = 512 };

/* Everything a method's update kernel needs for one step, computed once by the driver. */
typedef struct so_optim_update {
    const so_optim_params *hp;
    uint64_t step;        /* 1 for the first update, as torch.optim counts it */
    double grad_scale;    /* clipping coefficient, 1 when clipping is off or inactive */
} so_optim_update;

/* Updates elements [lo, hi) of params in place from grads. buf contains the method's
 * state buffers, each n elements of the same precision. Kernels never fail: the driver has
 * checked the gradients and the hyperparameters before calling them. */
typedef void (*so_optim_kernel_f32)(const so_optim_update *u, size_t lo, size_t hi,
                                    float *params, const float *grads, float *const *buf);
typedef void (*so_optim_kernel_f64)(const so_optim_update *u, size_t lo, size_t hi,
                                    double *params, const double *grads, double *const *buf);

/* A method. One constant instance per method; the registry lists them all. */
struct so_optim_type {
    const char *name;
    /* Fills the torch.optim 1.13 defaults; fields the method does not use are zero. */
    void (*defaults)(so_optim_params *hp);
    /* Returns SO_OK or fails (through so_fail_) naming the first invalid hyperparameter. */
    int (*validate)(const so_optim_params *hp);
    /* Returns how many state buffers the method keeps with these hyperparameters and stores
     * their names (as torch.optim names the state entries) in names. */
    size_t (*buffers)(const so_optim_params *hp, const char *names[SO_OPTIM_MAX_BUFFERS]);
    so_optim_kernel_f32 step_f32;
    so_optim_kernel_f64 step_f64;
};

struct so_optimizer {
    const so_optim_type *type;
    so_precision precision;
    size_t n;
    so_optim_params hp;
    uint64_t steps;
    size_t num_buffers;
    void *buffers[SO_OPTIM_MAX_BUFFERS]; /* 64-byte aligned, zero-initialized, n elements */
    double *chunk_sums;                  /* per-chunk sums of squares for clipping */
};

extern const so_optim_type so_optim_sgd_type_;
extern const so_optim_type so_optim_adam_type_;

/* Bytes per element of a precision. */
size_t so_optim_elem_size_(so_precision precision);

/* Allocates count zeroed, 64-byte aligned state buffers of n elements; on failure frees
 * what it allocated and returns SO_ERR_NOMEM. */
int so_optim_buffers_alloc_(size_t n, so_precision precision, size_t count,
                            void *buffers[SO_OPTIM_MAX_BUFFERS]);
void so_optim_buffers_free_(void *buffers[SO_OPTIM_MAX_BUFFERS], size_t count);

/* ---- Hyperparameter table (hyperparams.c). Save/load walks it, so a field added to
 * so_optim_params needs one row there. */

typedef enum so_optim_hp_kind { SO_HP_REAL, SO_HP_FLAG } so_optim_hp_kind;

typedef struct so_optim_hp_field {
    const char *name;
    size_t offset;        /* offsetof(so_optim_params, field) */
    so_optim_hp_kind kind;
} so_optim_hp_field;

size_t so_optim_hp_count_(void);
const so_optim_hp_field *so_optim_hp_field_(size_t index);
double so_optim_hp_get_(const so_optim_params *hp, const so_optim_hp_field *field);
/* Stores value; a flag field takes 0 or 1 and the caller has checked that. */
void so_optim_hp_set_(so_optim_params *hp, const so_optim_hp_field *field, double value);

/* Checks shared by every method: lr, weight_decay and clip_norm finite and >= 0, and
 * maximize 0 or 1. */
int so_optim_check_common_(const char *method, const so_optim_params *hp);
/* Fails unless lo <= value <= hi (or < hi when hi_open), naming method and field. */
int so_optim_check_range_(const char *method, const char *field, double value, double lo,
                          double hi, int hi_open);
/* Fails unless flag is 0 or 1. */
int so_optim_check_flag_(const char *method, const char *field, int flag);

/* ---- Gradient pre-pass (grad_scan.c) */

/* Scans grads[0..n-1] for NaN or infinity in one read. Returns SO_OK, or SO_ERR_NONFINITE
 * with the first bad index in the error detail. When sum_squares is not NULL it also
 * receives the sum of squared gradients, accumulated in double in a fixed order. In that
 * case chunk_sums needs room for one double per SO_OPTIM_CHUNK elements. */
int so_optim_scan_f32_(const float *grads, size_t n, double *chunk_sums, double *sum_squares);
int so_optim_scan_f64_(const double *grads, size_t n, double *chunk_sums,
                       double *sum_squares);

/* ---- Square roots over a short array (vec_sqrt.c), vectorized on x86-64. The compiler
 * cannot vectorize sqrt itself under the default -fmath-errno. */
void so_sqrt_inplace_f32_(float *x, size_t n);
void so_sqrt_inplace_f64_(double *x, size_t n);

#endif
