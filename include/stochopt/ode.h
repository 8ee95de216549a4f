/* Explicit Runge-Kutta solvers for ordinary differential equations y' = f(t, y) in
 * double precision: fixed-step Euler, midpoint and classical RK4, and the adaptive
 * embedded pairs Bogacki-Shampine 3(2), Dormand-Prince 5(4) and Tsitouras 5(4), with
 * a PI step-size controller, dense output at requested save times and backward
 * integration. docs/ode.md describes the defaults and the measured convergence orders. */
#ifndef STOCHOPT_ODE_H
#define STOCHOPT_ODE_H

#include <stddef.h>

#include "stochopt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Right-hand side: writes f(t, y) to dydt (n values). Returns 0 on success, a positive
 * value when the step should be retried with half the step size (for example when y
 * left the domain of f), or a negative value to stop the solve, which then returns
 * SO_ERR_CALLBACK. */
typedef int (*so_ode_rhs_fn)(void *user, double t, const double *y, double *dydt);

/* How a method interpolates inside an accepted step. */
typedef enum so_ode_dense_kind {
    SO_ODE_DENSE_HERMITE = 0, /* cubic Hermite from y and f at both ends of the step */
    SO_ODE_DENSE_DOPRI5 = 1,  /* Shampine's fourth-order interpolant for Dormand-Prince */
    SO_ODE_DENSE_TSIT5 = 2    /* Tsitouras' fourth-order interpolant */
} so_ode_dense_kind;

/* A constant explicit Runge-Kutta descriptor. The Butcher matrix a is stored row-major
 * as stages x stages (zero on and above the diagonal). error_weights, when not NULL,
 * contains b - b_hat, so that h * sum_j error_weights[j] * k_j estimates the local error
 * of the order `error_order` embedded solution. With fsal set, the last stage is
 * evaluated at the new solution and serves as the first stage of the next step. */
typedef struct so_ode_method {
    const char *name;
    int stages;
    int order;
    int error_order; /* 0 for fixed-step methods */
    int fsal;
    so_ode_dense_kind dense;
    const double *c;
    const double *a;
    const double *b;
    const double *error_weights;
} so_ode_method;

extern const so_ode_method so_ode_euler;    /* forward Euler, order 1, fixed step */
extern const so_ode_method so_ode_midpoint; /* explicit midpoint, order 2, fixed step */
extern const so_ode_method so_ode_rk4;      /* classical Runge-Kutta, order 4, fixed step */
extern const so_ode_method so_ode_bosh3;    /* Bogacki-Shampine 3(2), adaptive, FSAL */
extern const so_ode_method so_ode_dopri5;   /* Dormand-Prince 5(4), adaptive, FSAL */
extern const so_ode_method so_ode_tsit5;    /* Tsitouras 5(4), adaptive, FSAL */

/* Returns the method called `name` ("euler", "midpoint", "rk4", "bosh3", "dopri5",
 * "tsit5"), or NULL with the error detail set when no method has that name. */
const so_ode_method *so_ode_method_by_name(const char *name);

/* Step-size controllers of the adaptive methods, with E the scaled error norm of the
 * step and E_prev that of the previous accepted step:
 * PI: factor = safety * E^-beta1 * E_prev^beta2 (the default).
 * I:  factor = safety * E^-beta1, as in SciPy's solve_ivp and Hairer's DOPRI5. */
enum { SO_ODE_CONTROLLER_PI = 0, SO_ODE_CONTROLLER_I = 1 };

/* Solver options. so_ode_options_default() fills in the documented defaults. A zero in
 * dt, dt_min, dt_max, beta1 or beta2 selects the automatic value described below. */
typedef struct so_ode_options {
    double rtol;       /* relative tolerance, default 1e-3 (adaptive methods) */
    double atol;       /* absolute tolerance, default 1e-6 (adaptive methods) */
    double dt;         /* step of a fixed-step method (required, > 0), or first step of an
                        * adaptive method, where 0 selects Hairer's starting-step rule */
    double dt_min;     /* smallest step before the solve fails, where 0 selects
                        * 16 * DBL_EPSILON * max(|t|, |t1|) */
    double dt_max;     /* largest step, where 0 means |t1 - t0| */
    double safety;     /* controller safety factor, default 0.9 */
    int controller;    /* SO_ODE_CONTROLLER_PI (default) or SO_ODE_CONTROLLER_I */
    double beta1;      /* exponent on the current error. 0 means 7 / (10 * order) for
                        * the PI controller and 1 / order for the I controller */
    double beta2;      /* PI exponent on the previous error, where 0 means
                        * 2 / (5 * order). Must be 0 with the I controller. */
    double factor_min; /* smallest step-size ratio, default 0.2 */
    double factor_max; /* largest step-size ratio, default 10 */
    long max_steps;    /* attempted steps (accepted and rejected) before the solve stops
                        * with SO_NOT_CONVERGED, default 100000 */
} so_ode_options;

so_ode_options so_ode_options_default(void);

/* Counters of the last so_ode_solve call. */
typedef struct so_ode_stats {
    long accepted;        /* accepted steps */
    long rejected;        /* steps rejected by the error test or retried after a
                           * positive right-hand-side status */
    long nfev;            /* right-hand-side evaluations */
    double last_dt;       /* signed size of the last accepted step, 0 if none */
    double last_error;    /* scaled error estimate E of the last accepted step
                           * (0 for fixed-step methods) */
    double t;             /* time reached: t1 on success */
    double stiffness;     /* estimate of |lambda|, the dominant Jacobian eigenvalue's
                           * size, at the last accepted step (Dopri5 and Tsit5). NaN for
                           * the other methods or before the first step. h * stiffness
                           * near the method's stability boundary means stability, not
                           * accuracy, limits the step size. */
} so_ode_stats;

typedef struct so_ode so_ode;

/* One accepted step, as kept by so_ode_record_steps. */
typedef struct so_ode_step {
    double t;         /* time at the start of the step */
    double dt;        /* signed step size: the step ends at t + dt */
    double error;     /* scaled error estimate E of the step (0 for fixed-step methods) */
    double stiffness; /* stiffness estimate of the step (Dopri5 and Tsit5), else NaN */
} so_ode_step;

/* ---- Events: root finding on user functions g_i(t, y), i < count.
 * An event of function i happens where g_i changes sign inside an accepted step in the
 * requested direction. Its time is located on the step's dense output. */
typedef int (*so_ode_event_fn)(void *user, double t, const double *y, double *g);

typedef struct so_ode_events {
    size_t count;         /* number of event functions, >= 1 */
    so_ode_event_fn fn;   /* writes g_0..g_{count-1} and returns 0. Any other status
                           * stops the solve with SO_ERR_CALLBACK. */
    void *user;
    const int *direction; /* count values, or NULL for all 0. +1 selects only rising
                           * crossings (g from < 0 to >= 0), -1 only falling, 0 both. */
    const int *terminal;  /* count values, or NULL for none. A nonzero value stops the
                           * solve at the first event of that function. */
    double xtol;          /* absolute tolerance on the event time, where 0 selects
                           * 4 * DBL_EPSILON * max(|t|, |t1|) */
    /* Results, written by each solve. */
    size_t capacity;      /* rows available in the arrays below */
    double *t_event;      /* event times (capacity values), in the order found */
    size_t *which;        /* index of the event function of each stored event
                           * (capacity values), or NULL */
    double *y_event;      /* capacity x n states at the events, or NULL */
    size_t found;         /* events found, of which the first `capacity` are stored */
    int stopped;          /* 1 when a terminal event ended the solve */
} so_ode_events;

/* Creates a solver for systems of n equations with `method`. options may be NULL for
 * the defaults. Returns SO_ERR_INVALID for a NULL method, n == 0 or an option out of
 * range, and SO_ERR_NOMEM when allocation fails. */
int so_ode_new(so_ode **out, const so_ode_method *method, size_t n,
               const so_ode_options *options);

/* Frees the solver and sets *ode to NULL. Accepts NULL and a pointer to NULL. */
void so_ode_free(so_ode **ode);

/* Integrates y' = rhs(t, y) from t0 to t1 (t1 < t0 integrates backward) starting at
 * y0 (n values). For each of the nsave times in save_times, which must lie in the
 * closed span and be ordered in the direction of integration, ysave receives the
 * solution as row k (n values), interpolated inside the step that contains it. The
 * right-hand side is never evaluated outside the span. Methods without FSAL evaluate f
 * at the end of every step (the next step reuses it), so a positive status there also
 * retries the step. When t0 == t1 the solve takes no step, calls rhs zero times and
 * returns y0 at every save time. stats may be NULL.
 * Returns SO_OK on success, SO_ERR_INVALID for invalid arguments, and SO_ERR_CALLBACK
 * when rhs returned a negative status. Returns SO_ERR_NUMERIC when the step fell below
 * dt_min, SO_ERR_NONFINITE when f(t0, y0) or a fixed-step solution became NaN or
 * infinite, and SO_NOT_CONVERGED when max_steps steps did not reach t1. After a failure,
 * stats->t and so_ode_y() give the last accepted time and state, and only the save
 * times before stats->t are filled. */
int so_ode_solve(so_ode *ode, so_ode_rhs_fn rhs, void *user, double t0, double t1,
                 const double *y0, const double *save_times, size_t nsave,
                 double *ysave, so_ode_stats *stats);

/* Returns the state (n values) at the last accepted time of the last solve, which is
 * t1 after a successful one. */
const double *so_ode_y(const so_ode *ode);

/* Keeps (on != 0) or stops keeping the list of accepted steps of each solve. Off by
 * default. The list is cleared at the start of every solve. */
int so_ode_record_steps(so_ode *ode, int on);

/* Returns the accepted steps of the last solve and stores their number in *count. The
 * array is valid until the next solve or so_ode_free, and empty unless recording is on. */
const so_ode_step *so_ode_steps(const so_ode *ode, size_t *count);

/* Attaches event functions to the solver (NULL detaches them). The struct is read and
 * its result fields written by every later solve, so it must stay alive until it is
 * detached or the solver is freed. When a terminal event stops a solve, so_ode_solve
 * returns SO_OK with stats->t and so_ode_y() at the event, events->stopped = 1 and the
 * save times after the event left unfilled. */
int so_ode_set_events(so_ode *ode, so_ode_events *events);

/* ==== Replay and discrete adjoint (src/ode/adjoint.c) ==================================
 * Gradients through an adaptive solve with its step pattern held fixed. Solve once with
 * so_ode_record_steps(ode, 1), then pass so_ode_steps() to so_ode_replay, which
 * integrates exactly those steps without error control, or to so_ode_adjoint, which
 * differentiates that replay. The step sizes dt_j are constants of the replay, so the
 * gradient is the exact derivative of the discrete map (up to rounding), not of the
 * exact ODE solution, and it ignores how dt_j would change with y0 or p.
 * docs/ode/adjoint.md gives the cost and the measured finite-difference agreement. */

/* Vector-Jacobian product of the right-hand side at (t, y): writes vy = (df/dy)^T v
 * (n values) and, when vp is not NULL, vp = (df/dp)^T v (np values, with np as passed to
 * so_ode_adjoint) for the parameters p that f reads through user. Both outputs are
 * overwritten, not accumulated. Returns 0 on success. Any nonzero value stops
 * so_ode_adjoint with SO_ERR_CALLBACK. */
typedef int (*so_ode_vjp_fn)(void *user, double t, const double *y, const double *v,
                             double *vy, double *vp);

/* Results of so_ode_replay. */
typedef struct so_ode_replay_stats {
    double reg_error;     /* R_E = sum_j E_j |dt_j|, the error regularizer (ERNODE), or 0
                           * for fixed-step methods, whose E_j are 0 */
    double reg_stiffness; /* R_S = sum_j S_j |dt_j|, the stiffness regularizer (SRNODE),
                           * or 0 for methods without FSAL, which have no S_j */
    long nfev;            /* right-hand-side evaluations */
} so_ode_replay_stats;

/* Results of so_ode_adjoint. */
typedef struct so_ode_adjoint_stats {
    double loss;          /* L = sum_k <dl_dysave_k, ysave_k> + w_error R_E
                           *     + w_stiffness R_S at the replayed states */
    double reg_error;     /* R_E, as in so_ode_replay_stats */
    double reg_stiffness; /* R_S, as in so_ode_replay_stats */
    long nfev;            /* right-hand-side evaluations: forward pass and recomputation */
    long nvjp;            /* calls of the VJP callback */
} so_ode_adjoint_stats;

/* Integrates y' = rhs(t, y) from y0 over the nsteps recorded steps steps[0..nsteps-1]
 * of one solve of this solver (so_ode_steps() may be passed directly), taking each step
 * with its recorded dt and no error test, rejection or retry. Step j runs from
 * steps[j].t to steps[j + 1].t, and the last one to steps[nsteps - 1].t + dt. The save
 * times must lie in that span, ordered in the direction of integration. Each row k of
 * ysave (n values) receives the state at save_times[k], interpolated by the method's
 * dense output exactly as so_ode_solve does. replayed, when not NULL, receives nsteps
 * records {t, dt, E_j, S_j} of the replayed steps, and stats (may be NULL) receives R_E,
 * R_S and the evaluation count. With the same method, options, y0, save times and a
 * deterministic rhs, the states, ysave and every E_j and S_j equal those of the
 * recorded solve bit for bit.
 * The replay uses the solver's work arrays: afterwards so_ode_y() returns the state at
 * the end of the replay. It does not change the recorded step list.
 * NOTE: the last step ends at fl(t + dt). In rare cases this differs from the solve's
 * t1 by an ulp, namely when t1 is much smaller in size than the last step's start, as
 * when the span ends near 0 after crossing it. A solve stopped by a terminal event
 * records a last step that ends at the event, with its end state from dense output.
 * The replay takes a full Runge-Kutta step there instead, so that step is not
 * reproduced bit for bit.
 * Returns SO_OK on success. Returns SO_ERR_INVALID for a NULL solver, rhs or y0, no
 * steps (recording off), steps that are not contiguous or change direction, or invalid
 * save times. Returns SO_ERR_CALLBACK when rhs returned any nonzero status, because a
 * replay cannot shrink a step, and SO_ERR_NONFINITE when the state became NaN or
 * infinite. */
int so_ode_replay(so_ode *ode, so_ode_rhs_fn rhs, void *user, const double *y0,
                  const so_ode_step *steps, size_t nsteps, const double *save_times,
                  size_t nsave, double *ysave, so_ode_step *replayed,
                  so_ode_replay_stats *stats);

/* Computes the gradient of
 *     L = sum_k <dl_dysave_k, ysave_k> + w_error * R_E + w_stiffness * R_S
 * with respect to y0 (grad_y0, n values) and the np parameters of f (grad_p), where
 * ysave, R_E and R_S are those of so_ode_replay with the same arguments. dl_dysave
 * (nsave x n, row k for save_times[k]) is the gradient of the caller's loss at the saved
 * states, so for a nonlinear loss l(ysave) pass dl/dysave at the replayed states.
 * The reverse pass is the exact discrete adjoint of the replay. It runs through every
 * stage of every step, including the dense output at save times, the FSAL last stage,
 * E_j = sqrt(mean_i (err_i / (atol + rtol max(|y_i|, |y_new_i|)))^2) and
 * S_j = ||k_s - k_{s-1}|| / ||y_new - g_{s-1}|| (g_{s-1} the input of stage s-1), with
 * the dt_j held constant. Where E_j or S_j is 0, or |y_i| = |y_new_i|, a subgradient is
 * used (0, and the max taken at y_i).
 * Memory: one stored state per step (nsteps x n doubles) plus O(stages x n + np) work.
 * Each step's stages are recomputed from its stored start state during the reverse
 * pass, so no stage values are kept.
 * Cost per step of an s-stage method: the forward pass evaluates rhs s - 1 times with
 * FSAL and s times without (the last at the new state). The forward pass also evaluates
 * rhs once at t0, and the reverse pass evaluates it once more per step than the forward
 * pass. The reverse pass makes s VJPs per step. Methods without FSAL add one VJP at
 * f(t_new, y_new) in each step with a save time strictly inside it (Hermite dense
 * output).
 * stats (may be NULL) receives L, R_E, R_S and both counts.
 * Fixed-step methods have E_j = 0, so w_error has no effect there, and methods without
 * FSAL have no S_j, so they need w_stiffness = 0. grad_y0 may be NULL when only grad_p
 * is needed, and grad_p may be NULL only when np = 0. The vjp is called with vp = NULL when
 * np = 0. y0 may alias so_ode_y(ode). On return the solver's state is the start of the
 * first step, and on failure grad_y0 and grad_p are unspecified.
 * Returns SO_OK on success. Returns SO_ERR_INVALID for the cases of so_ode_replay, a
 * NULL vjp, np > 0 with grad_p NULL, non-finite weights, w_stiffness != 0 for a method
 * without FSAL, or nsave > 0 with dl_dysave NULL. Returns SO_ERR_NOMEM when allocation
 * fails, SO_ERR_CALLBACK when rhs or vjp returned a nonzero status, and
 * SO_ERR_NONFINITE as in so_ode_replay or when vjp wrote a NaN or infinite value. */
int so_ode_adjoint(so_ode *ode, so_ode_rhs_fn rhs, so_ode_vjp_fn vjp, void *user,
                   const double *y0, size_t np, const so_ode_step *steps, size_t nsteps,
                   const double *save_times, size_t nsave, const double *dl_dysave,
                   double w_error, double w_stiffness, double *grad_y0, double *grad_p,
                   so_ode_adjoint_stats *stats);

/* ==== End of replay and discrete adjoint ============================================ */

#ifdef __cplusplus
}
#endif

#endif
