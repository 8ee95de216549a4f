/* Private interface of the optimizer module: the method descriptor, the optimizer object
 * and the helpers shared by the method files. Not part of the public API. */
#ifndef STOCHOPT_OPTIM_INTERNAL_H
#define STOCHOPT_OPTIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/optim.h"

/* Largest number of n-element state buffers any method keeps (diffGrad with amsgrad has
 * 4), and of scalar state values (AdaGrad-Norm has 1). */
enum { SO_OPTIM_MAX_BUFFERS = 4, SO_OPTIM_MAX_SCALARS = 2 };

/* Elements per work item of the step driver. Every pass over the arrays is cut into chunks
 * of this size so that OpenMP threads get whole chunks and the gradient norm is summed in
 * the same order whatever the thread count. */
enum { SO_OPTIM_CHUNK = 16384 };

/* Elements that the methods process together so that temporaries stay in L1 cache. */
enum { SO_OPTIM_BLOCK = 512 };

/* Everything a method's update kernel needs for one step and one parameter group,
 * computed once by the driver. */
typedef struct so_optim_update {
    const so_optim_params *hp;
    uint64_t step;        /* 1 for the first update, as torch.optim counts it */
    double grad_scale;    /* clipping coefficient, 1 when clipping is off or inactive */
    double lr;            /* this step's learning rate times the group's multiplier */
    double weight_decay;  /* hp->weight_decay times the group's multiplier */
    double method_scalar; /* a per-step value from the method's begin_step, else 0 */
} so_optim_update;

/* Updates elements [lo, hi) of params in place from grads. buf contains the method's
 * state buffers, each n elements of the same precision. Kernels return no status, because
 * the driver checks the gradients and the hyperparameters before calling them. They can
 * still produce non-finite parameters (Adam with eps 0 divides 0 by 0), which so_train
 * detects after the step. */
typedef void (*so_optim_kernel_f32)(const so_optim_update *u, size_t lo, size_t hi,
                                    float *params, const float *grads, float *const *buf);
typedef void (*so_optim_kernel_f64)(const so_optim_update *u, size_t lo, size_t hi,
                                    double *params, const double *grads, double *const *buf);

/* A method. One constant instance per method; the registry lists them all. */
struct so_optim_type {
    const char *name;
    /* Comma-separated names of the hyperparameters the method reads. */
    const char *params;
    /* Fills the torch.optim 1.13 defaults; fields the method does not use are zero. */
    void (*defaults)(so_optim_params *hp);
    /* Returns SO_OK or fails (through so_fail_) naming the first invalid hyperparameter. */
    int (*validate)(const so_optim_params *hp);
    /* Returns how many state buffers the method keeps with these hyperparameters and stores
     * their names (as torch.optim names the state entries) in names. */
    size_t (*buffers)(const so_optim_params *hp, const char *names[SO_OPTIM_MAX_BUFFERS]);
    /* Initial value of every element of buffer k; NULL means all buffers start at 0. */
    double (*buffer_initial)(const so_optim_params *hp, size_t k);
    /* Scalar state: as buffers, and the initial values. NULL when the method has none. */
    size_t (*scalars)(const so_optim_params *hp, const char *names[SO_OPTIM_MAX_SCALARS],
                      double initial[SO_OPTIM_MAX_SCALARS]);
    /* Called once per step after the gradient check, before any kernel: updates the scalar
     * state and sets u->method_scalar. sum_squares is the sum of squared value-clipped
     * gradients when needs_grad_norm is set. NULL when the method needs nothing. */
    void (*begin_step)(so_optimizer *opt, so_optim_update *u, const void *params,
                       const void *grads, double sum_squares);
    int needs_grad_norm;
    so_optim_kernel_f32 step_f32;
    so_optim_kernel_f64 step_f64;
};

/* A run of parameters [lo, hi) with the same multipliers; the segments of an optimizer
 * are sorted, contiguous and cover [0, n). */
typedef struct so_optim_segment {
    size_t lo, hi;
    double lr_scale, weight_decay_scale;
} so_optim_segment;

struct so_optimizer {
    const so_optim_type *type;
    so_precision precision;
    size_t n;
    so_optim_params hp;   /* hp.lr is the learning rate of the next step */
    uint64_t steps;
    size_t num_buffers;
    void *buffers[SO_OPTIM_MAX_BUFFERS]; /* 64-byte aligned, n elements */
    size_t num_scalars;
    double scalars[SO_OPTIM_MAX_SCALARS];
    double *chunk_sums;                  /* per-chunk sums of squares */
    so_optim_segment *segments;
    size_t num_segments;
    int has_schedule;
    so_schedule schedule;
    double base_lr;                      /* lr0 of the schedule */
    uint64_t schedule_start;             /* steps completed when the schedule was attached */
};

extern const so_optim_type so_optim_sgd_type_;
extern const so_optim_type so_optim_momentum_type_;
extern const so_optim_type so_optim_nesterov_type_;
extern const so_optim_type so_optim_adagrad_type_;
extern const so_optim_type so_optim_adagrad_norm_type_;
extern const so_optim_type so_optim_rmsprop_type_;
extern const so_optim_type so_optim_adadelta_type_;
extern const so_optim_type so_optim_adam_type_;
extern const so_optim_type so_optim_adamw_type_;
extern const so_optim_type so_optim_amsgrad_type_;
extern const so_optim_type so_optim_diffgrad_type_;

/* Bytes per element of a precision. */
size_t so_optim_elem_size_(so_precision precision);

/* Allocates count 64-byte aligned state buffers of n elements and fills buffer k with
 * initial[k], or with zeros when initial is NULL. On failure it frees what it allocated
 * and returns SO_ERR_NOMEM. */
int so_optim_buffers_alloc_(size_t n, so_precision precision, size_t count,
                            const double *initial, void *buffers[SO_OPTIM_MAX_BUFFERS]);
void so_optim_buffers_free_(void *buffers[SO_OPTIM_MAX_BUFFERS], size_t count);

/* The learning rate of the step after `steps` completed ones under the attached schedule,
 * or hp.lr without one. */
double so_optim_scheduled_lr_(const so_optimizer *opt, uint64_t steps);

/* ---- Hyperparameter tables (hyperparams.c). Save/load walks them, so a field added to
 * so_optim_params or so_schedule needs one row there. */

typedef enum so_optim_hp_kind {
    SO_HP_REAL,   /* double */
    SO_HP_FLAG,   /* int, 0 or 1 */
    SO_HP_CHOICE, /* int, 0..max */
    SO_HP_COUNT   /* uint64_t */
} so_optim_hp_kind;

typedef struct so_optim_hp_field {
    const char *name;
    size_t offset;        /* offsetof the field in its struct */
    so_optim_hp_kind kind;
    int max;              /* largest value of an SO_HP_CHOICE field */
} so_optim_hp_field;

size_t so_optim_hp_count_(void);
const so_optim_hp_field *so_optim_hp_field_(size_t index);
const so_optim_hp_field *so_optim_hp_lookup_(const char *name, size_t len);
double so_optim_hp_get_(const so_optim_params *hp, const so_optim_hp_field *field);
/* Stores value; the caller has checked that it fits the field's kind. */
void so_optim_hp_set_(so_optim_params *hp, const so_optim_hp_field *field, double value);
/* Returns SO_OK if value fits the kind of field (0 or 1 for a flag, ...), else fails with
 * `status` naming the field. */
int so_optim_hp_check_kind_(const so_optim_hp_field *field, double value, int status);

size_t so_schedule_field_count_(void);
const so_optim_hp_field *so_schedule_field_(size_t index);
/* Returns the raw 64 bits of the field: a binary64 for SO_HP_REAL, else the integer. */
uint64_t so_schedule_field_bits_(const so_schedule *schedule, const so_optim_hp_field *field);
void so_schedule_field_set_bits_(so_schedule *schedule, const so_optim_hp_field *field,
                                 uint64_t bits);

/* Checks shared by every method: lr, weight_decay, clip_norm and clip_value finite and
 * >= 0, every flag 0 or 1 and every choice within its range. */
int so_optim_check_common_(const char *method, const so_optim_params *hp);
/* Fails unless lo <= value <= hi (or < hi when hi_open), naming method and field. */
int so_optim_check_range_(const char *method, const char *field, double value, double lo,
                          double hi, int hi_open);
/* Fails unless flag is 0 or 1. */
int so_optim_check_flag_(const char *method, const char *field, int flag);

/* ---- Parameter groups (groups.c) */

/* Checks that segments [0, count) are sorted, contiguous, cover [0, n) and carry finite
 * multipliers >= 0; fails with `status` otherwise. */
int so_optim_segments_check_(const so_optim_segment *segments, size_t count, size_t n,
                             int status);

/* ---- Gradient pre-pass (grad_scan.c) */

/* Scans grads[0..n-1] for NaN or infinity in one read. Returns SO_OK, or SO_ERR_NONFINITE
 * with the first bad index in the error detail. When sum_squares is not NULL it also
 * receives the sum of squared gradients, each first clamped to [-clip_value, clip_value]
 * when clip_value > 0, accumulated in double in a fixed order. In that case chunk_sums
 * needs room for one double per SO_OPTIM_CHUNK elements. */
int so_optim_scan_f32_(const float *grads, size_t n, double clip_value, double *chunk_sums,
                       double *sum_squares);
int so_optim_scan_f64_(const double *grads, size_t n, double clip_value, double *chunk_sums,
                       double *sum_squares);

/* ---- Square roots over a short array (vec_sqrt.c), vectorized on x86-64. The compiler
 * cannot vectorize sqrt itself under the default -fmath-errno. */
void so_sqrt_inplace_f32_(float *x, size_t n);
void so_sqrt_inplace_f64_(double *x, size_t n);

/* ---- The gradient as every kernel reads it (direction.c) */

/* Writes the direction of block [0, len) into d: g clamped to [-clip_value, clip_value]
 * when clip_value > 0, times the clipping coefficient, negated when maximizing, plus
 * u->weight_decay * p for L2 decay. With decoupled decay it multiplies p by
 * 1 - u->lr * u->weight_decay instead, so the method's update then starts from the decayed
 * parameters, as torch.optim.AdamW 1.13 does. Float32 rounds each coefficient to float
 * first, as torch does for a float32 tensor. */
void so_optim_direction_f32_(const so_optim_update *u, float *restrict p,
                             const float *restrict g, float *restrict d, size_t len);
void so_optim_direction_f64_(const so_optim_update *u, double *restrict p,
                             const double *restrict g, double *restrict d, size_t len);

/* ---- The Adam family's shared arithmetic (adam_core.c) */

/* Per-step scalars of the Adam family, computed in double as torch does in Python. */
typedef struct so_adam_scalars {
    double neg_step;  /* -lr / (1 - beta1^t), or -lr sqrt(1 - beta2^t) / (1 - beta1^t)
                         when eps is added before the bias correction */
    double root_bc2;  /* sqrt(1 - beta2^t) */
    double bc2;       /* 1 - beta2^t */
} so_adam_scalars;

so_adam_scalars so_adam_scalars_(const so_optim_update *u);

/* Updates the moments of block [0, len) from the direction d and leaves in x the value
 * under the square root: v, or with amsgrad the running maximum stored in vmax. */
void so_adam_moments_f32_(const so_optim_params *hp, const float *restrict d,
                          float *restrict m, float *restrict v, float *restrict vmax,
                          float *restrict x, size_t len);
void so_adam_moments_f64_(const so_optim_params *hp, const double *restrict d,
                          double *restrict m, double *restrict v, double *restrict vmax,
                          double *restrict x, size_t len);
/* Replaces x (from so_adam_moments) by the denominator of the update for hp->eps_placement.
 */
void so_adam_denominator_f32_(const so_optim_params *hp, const so_adam_scalars *s,
                              float *x, size_t len);
void so_adam_denominator_f64_(const so_optim_params *hp, const so_adam_scalars *s,
                              double *x, size_t len);

/* ---- Adam's float32 kernels (adam.c, adam_avx2.c). The driver calls the AVX2 kernel
 * when the processor has AVX2 and eps is added after the bias correction; both give the
 * same bits. Exposed so that tests and benchmarks can run either. */
void so_adam_step_f32_scalar_(const so_optim_update *u, size_t lo, size_t hi, float *params,
                              const float *grads, float *const *buf);
/* Returns 1 when so_adam_step_f32_avx2_ can run on this processor. */
int so_adam_avx2_available_(void);
void so_adam_step_f32_avx2_(const so_optim_update *u, size_t lo, size_t hi, float *params,
                            const float *grads, float *const *buf);

#endif
