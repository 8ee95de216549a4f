/* First-order optimizers over flat float32 or float64 arrays. Each method is a constant
 * descriptor; one generic object contains the hyperparameters, buffers and step count.
 * Learning-rate schedules are separate descriptors that an optimizer can follow. */
#ifndef STOCHOPT_OPTIM_H
#define STOCHOPT_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum so_precision { SO_F32, SO_F64 } so_precision;

/* Where eps enters the denominator of the Adam family (adam, adamw, amsgrad, diffgrad).
 * With v the second moment (or its running maximum) and t the step, the update is:
 *   SO_EPS_AFTER_CORRECTION:  lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
 *                             as torch.optim 1.13 computes it (the default)
 *   SO_EPS_BEFORE_CORRECTION: lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps),
 *                             the "efficient version" of Kingma and Ba (ICLR 2015, Sec. 2),
 *                             TensorFlow 1 and the diffGrad authors' code
 *   SO_EPS_INSIDE_SQRT:       lr / (1 - beta1^t) * m / sqrt(v / (1 - beta2^t) + eps)
 * The three agree when eps is small next to sqrt(v). They differ when gradients are of
 * the order of eps. */
typedef enum so_eps_placement {
    SO_EPS_AFTER_CORRECTION = 0,
    SO_EPS_BEFORE_CORRECTION = 1,
    SO_EPS_INSIDE_SQRT = 2
} so_eps_placement;

/* Hyperparameters. so_optim_params_default fills the defaults of torch.optim 1.13 for
 * the given method; callers override only what they need. A method ignores the fields it
 * does not use (so_optim_type_params lists the ones it reads). Flags take 0 or 1. */
typedef struct so_optim_params {
    double lr;
    double momentum;      /* SGD, RMSProp */
    double dampening;     /* SGD */
    int nesterov;         /* SGD */
    double beta1, beta2;  /* Adam family */
    double eps;           /* with eps = 0 a zero gradient history divides 0 by 0 */
    int amsgrad;          /* Adam family: normalize by the running maximum of v */
    double weight_decay;  /* L2 (added to the gradient) unless decoupled_weight_decay */
    int maximize;         /* ascend instead of descend */
    double clip_norm;     /* global-norm clipping threshold; 0 disables */
    /* Fields added after the first release. */
    double clip_value;    /* clamps each gradient to [-clip_value, clip_value]; 0 disables */
    double lr_decay;      /* AdaGrad: step t uses lr / (1 + (t - 1) lr_decay) */
    double initial_accumulator_value; /* AdaGrad: start of the sums of squares;
                                         AdaGrad-Norm: b_0^2 */
    double alpha;         /* RMSProp: smoothing constant of the squared-gradient average */
    double rho;           /* AdaDelta: decay of both running averages */
    int centered;         /* RMSProp: divide by an estimate of the gradient's variance */
    int decoupled_weight_decay; /* 1: p *= 1 - lr * weight_decay before the update, as
                                   AdamW (Loshchilov and Hutter, ICLR 2019) does */
    int eps_placement;    /* Adam family: an so_eps_placement */
} so_optim_params;

typedef struct so_optim_type so_optim_type;

/* Methods. Presets are methods whose defaults differ: momentum is SGD with momentum 0.9,
 * nesterov adds Nesterov momentum, adamw is Adam with decoupled weight decay 0.01 and
 * amsgrad is Adam with amsgrad = 1. */
extern const so_optim_type *const so_optim_sgd;
extern const so_optim_type *const so_optim_momentum;
extern const so_optim_type *const so_optim_nesterov;
extern const so_optim_type *const so_optim_adagrad;
extern const so_optim_type *const so_optim_adagrad_norm; /* Ward, Wu, Bottou (ICML 2019) */
extern const so_optim_type *const so_optim_rmsprop;
extern const so_optim_type *const so_optim_adadelta;
extern const so_optim_type *const so_optim_adam;
extern const so_optim_type *const so_optim_adamw;
extern const so_optim_type *const so_optim_amsgrad;
extern const so_optim_type *const so_optim_diffgrad;     /* Dubey et al. (IEEE TNNLS 2020) */

/* Looks a method up by name ("sgd", "adam", ...), ignoring ASCII case; NULL if unknown. */
const so_optim_type *so_optim_type_find(const char *name);
const char *so_optim_type_name(const so_optim_type *type);
/* Writes the comma-separated list of method names into buf. */
void so_optim_type_list(char *buf, size_t size);
/* Returns the comma-separated names of the hyperparameters the method reads, such as
 * "lr,alpha,eps,momentum,centered,weight_decay,...", or "" for NULL. */
const char *so_optim_type_params(const so_optim_type *type);

/* torch.optim.SGD has no default learning rate; this library uses 0.01 for it. */
so_optim_params so_optim_params_default(const so_optim_type *type);

/* Returns the comma-separated names of every field of so_optim_params. */
const char *so_optim_param_names(void);
/* Sets the field called `name` (a field name of so_optim_params, such as "rho") to value.
 * Flags take 0 or 1 and eps_placement an so_eps_placement. Fails with SO_ERR_NOT_FOUND on
 * an unknown name and SO_ERR_INVALID on a value the field cannot hold. so_optimizer_new
 * checks the ranges that depend on the method. */
int so_optim_params_set(so_optim_params *params, const char *name, double value);
/* Stores the field called `name` in *value; SO_ERR_NOT_FOUND for an unknown name. */
int so_optim_params_get(const so_optim_params *params, const char *name, double *value);

typedef struct so_optimizer so_optimizer;

/* Creates an optimizer for n > 0 parameters of the given precision; params NULL means
 * so_optim_params_default(type). Fails on an invalid hyperparameter (negative lr, beta
 * outside [0, 1), ...) naming it. State buffers start at zero, except AdaGrad's sums,
 * which start at initial_accumulator_value. */
int so_optimizer_new(const so_optim_type *type, size_t n, so_precision precision,
                     const so_optim_params *params, so_optimizer **out);
void so_optimizer_free(so_optimizer **opt);

/* Applies one update to params (n floats or doubles) from grads. If any gradient is NaN
 * or infinite the step is skipped: params, buffers and the step count stay unchanged and
 * SO_ERR_NONFINITE is returned with the first bad index in the error detail. grads is
 * read only. Clipping and weight decay are applied to each value as it is read, in this
 * order: clip_value, the clip_norm coefficient computed from the value-clipped
 * gradients, the sign for maximize, and L2 weight decay. The result does not depend on
 * the number of OpenMP threads. */
int so_optimizer_step(so_optimizer *opt, void *params, const void *grads);

/* Returns the learning rate of the next step (before any group multiplier). */
double so_optimizer_lr(const so_optimizer *opt);
/* Sets the learning rate for the following steps; with a schedule attached it sets the
 * base rate that the schedule scales. A negative or non-finite lr is ignored: the old
 * value stays, and the error detail and a warning log message record it. */
void so_optimizer_set_lr(so_optimizer *opt, double lr);
/* Completed steps. */
uint64_t so_optimizer_steps(const so_optimizer *opt);
const so_optim_params *so_optimizer_params(const so_optimizer *opt);

/* ---- Parameter groups: index ranges with their own learning rate and weight decay. */

/* Gives parameters [lo, hi) the learning rate lr * lr_scale and the weight decay
 * weight_decay * weight_decay_scale, so that for example biases can be exempted from
 * decay with weight_decay_scale = 0. A later call overrides earlier ones where the ranges
 * overlap; every index starts with both multipliers at 1. The multipliers apply to the
 * scheduled learning rate. Fails unless lo < hi <= n and both multipliers are finite and
 * >= 0. AdaGrad-Norm keeps one accumulator for all groups. */
int so_optimizer_set_group(so_optimizer *opt, size_t lo, size_t hi, double lr_scale,
                           double weight_decay_scale);
/* Stores the multipliers of parameter `index` in *lr_scale and *weight_decay_scale;
 * fails with SO_ERR_RANGE unless index < n. */
int so_optimizer_group(const so_optimizer *opt, size_t index, double *lr_scale,
                       double *weight_decay_scale);

/* ---- Learning-rate schedules. The rate at step t (t = 0 for the first step) is a closed
 * form in t, so it never accumulates rounding and never divides by zero:
 *   constant      lr0
 *   step          lr0 * gamma^floor(t / step_size)
 *   exponential   lr0 * gamma^t
 *   cosine        eta_min + (lr0 - eta_min) * (1 + cos(pi * t / t_max)) / 2, which rises
 *                 again after t_max as torch's CosineAnnealingLR does (period 2 t_max)
 *   inv_sqrt      lr0 / sqrt(t + 1)
 *   last_iterate  lr0 * (T - t) / T^(3/2) for t < T = t_max and 0 after, the schedule
 *                 eta (T - s + 1) / T^(3/2) for steps s = t + 1 = 1..T of Liu and Zhou
 *                 (2023) under which the last iterate of SGD converges at O(1/sqrt(T))
 * With warmup_steps = W > 0 a linear warm-up comes first: for t < W the rate is
 * lr0 * (f + (1 - f) * t / W) with f = warmup_start_factor, and from t = W on the
 * schedule above runs with t - W in place of t. */
typedef struct so_schedule_type so_schedule_type;

extern const so_schedule_type *const so_schedule_constant;
extern const so_schedule_type *const so_schedule_step;
extern const so_schedule_type *const so_schedule_exponential;
extern const so_schedule_type *const so_schedule_cosine;
extern const so_schedule_type *const so_schedule_inv_sqrt;
extern const so_schedule_type *const so_schedule_last_iterate;

typedef struct so_schedule {
    const so_schedule_type *type;
    uint64_t step_size;          /* step: steps between decays, >= 1 */
    double gamma;                /* step, exponential: decay factor, finite and > 0 */
    uint64_t t_max;              /* cosine: half period; last_iterate: horizon T; >= 1 */
    double eta_min;              /* cosine: the minimum, finite and >= 0 */
    uint64_t warmup_steps;       /* linear warm-up steps W; 0 for none */
    double warmup_start_factor;  /* warm-up: multiplier of lr0 at t = 0, in [0, 1] */
} so_schedule;

/* Looks a schedule up by name ("cosine", ...), ignoring ASCII case; NULL if unknown. */
const so_schedule_type *so_schedule_type_find(const char *name);
const char *so_schedule_type_name(const so_schedule_type *type);
/* Writes the comma-separated list of schedule names into buf. */
void so_schedule_type_list(char *buf, size_t size);
/* Returns a schedule of the given type with its defaults: step_size 1, gamma 0.1 (step)
 * or 0.99 (exponential), t_max 1, eta_min 0, no warm-up, warmup_start_factor 0. A NULL
 * type gives the constant schedule. */
so_schedule so_schedule_default(const so_schedule_type *type);
/* Returns SO_OK or fails with SO_ERR_INVALID naming the first invalid field. */
int so_schedule_validate(const so_schedule *schedule);
/* Returns the learning rate at step t for the base rate lr0, or NAN if the schedule is
 * invalid, with the reason in the error detail. */
double so_schedule_lr(const so_schedule *schedule, double lr0, uint64_t t);

/* Makes the optimizer follow a copy of the schedule from its next step on, with t counting
 * the steps since this call. lr0 is the current learning rate, or the lr0 of the schedule
 * this one replaces. NULL detaches the schedule and keeps the current rate. Fails with
 * SO_ERR_INVALID on an invalid schedule, leaving opt unchanged. */
int so_optimizer_set_schedule(so_optimizer *opt, const so_schedule *schedule);
/* Returns the attached schedule, or NULL. */
const so_schedule *so_optimizer_schedule(const so_optimizer *opt);
/* Returns lr0 of the attached schedule, or the learning rate when there is none. */
double so_optimizer_base_lr(const so_optimizer *opt);

/* ---- Saving and restoring */

/* Serializes the full state (method, precision, n, hyperparameters, step count, groups,
 * schedule and buffers) into a self-describing little-endian byte string with a CRC-32.
 * With buf NULL, returns the size needed in *size. Otherwise *size is the capacity on
 * input and the bytes written on output. A capacity that is too small fails with
 * SO_ERR_RANGE and sets *size to the size needed. */
int so_optimizer_save(const so_optimizer *opt, void *buf, size_t *size);
/* Restores a state written by so_optimizer_save into opt, replacing its hyperparameters,
 * step count, groups, schedule and buffers, so that the next steps equal those of the
 * saved optimizer bit for bit. Fails with SO_ERR_INVALID if the method, precision or n
 * differ, and with SO_ERR_FORMAT on truncated or corrupt bytes; on failure opt is
 * unchanged. States written by earlier versions of this library load too. */
int so_optimizer_load(so_optimizer *opt, const void *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
