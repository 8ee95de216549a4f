/* Explicit Runge-Kutta solvers for ordinary differential equations y' = f(t, y) in
 * double precision: fixed-step Euler, midpoint and classical RK4, and the adaptive
 * embedded pairs Bogacki-Shampine 3(2), Dormand-Prince 5(4) and Tsitouras 5(4), with
 * a PI step-size controller, dense output at requested save times and backward
 * integration. docs/ode.md describes the defaults and the measured convergence orders. */
#ifndef STOCHOPT_ODE_H
#define STOCHOPT_ODE_H

#include <stddef.h>

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

/* Solver options. so_ode_options_default() fills in the documented defaults; a zero in
 * dt, dt_min, dt_max, beta1 or beta2 selects the automatic value described below. */
typedef struct so_ode_options {
    double rtol;       /* relative tolerance, default 1e-3 (adaptive methods) */
    double atol;       /* absolute tolerance, default 1e-6 (adaptive methods) */
    double dt;         /* fixed methods: the step (required, > 0); adaptive methods:
                        * the first step, 0 selects it by Hairer's starting-step rule */
    double dt_min;     /* smallest step before the solve fails; 0 selects
                        * 16 * DBL_EPSILON * max(|t|, |t1|) */
    double dt_max;     /* largest step; 0 means |t1 - t0| */
    double safety;     /* controller safety factor, default 0.9 */
    double beta1;      /* PI exponent on the current error, 0 means 7 / (10 * order) */
    double beta2;      /* PI exponent on the previous error, 0 means 2 / (5 * order) */
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
                           * size, at the last accepted step (Dopri5 and Tsit5); NaN for
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
 * requested direction; its time is located on the step's dense output. */
typedef int (*so_ode_event_fn)(void *user, double t, const double *y, double *g);

typedef struct so_ode_events {
    size_t count;         /* number of event functions, >= 1 */
    so_ode_event_fn fn;   /* writes g_0..g_{count-1}; status as for rhs */
    void *user;
    const int *direction; /* count values, or NULL for 0: +1 only rising crossings
                           * (g from < 0 to >= 0), -1 only falling, 0 both */
    const int *terminal;  /* count values, or NULL for none: nonzero stops the solve at
                           * the first such event */
    double xtol;          /* absolute tolerance on the event time; 0 selects
                           * 4 * DBL_EPSILON * max(|t|, |t1|) */
    /* Results, written by each solve. */
    size_t capacity;      /* rows available in the arrays below */
    double *t_event;      /* capacity event times, in the order found */
    size_t *which;        /* capacity indices of the event function, or NULL */
    double *y_event;      /* capacity x n states at the events, or NULL */
    size_t found;         /* events found; only the first `capacity` are stored */
    int stopped;          /* 1 when a terminal event ended the solve */
} so_ode_events;

/* Creates a solver for systems of n equations with `method`. options may be NULL for
 * the defaults. Returns SO_ERR_INVALID for a NULL method, n == 0 or an option out of
 * range, and SO_ERR_NOMEM when allocation fails. */
int so_ode_new(so_ode **out, const so_ode_method *method, size_t n,
               const so_ode_options *options);

/* Frees the solver and sets *ode to NULL; accepts NULL and a pointer to NULL. */
void so_ode_free(so_ode **ode);

/* Integrates y' = rhs(t, y) from t0 to t1 (t1 < t0 integrates backward) starting at
 * y0 (n values). For each of the nsave times in save_times, which must lie in the
 * closed span and be ordered in the direction of integration, ysave receives the
 * solution as row k (n values), interpolated inside the step that contains it. The
 * right-hand side is never evaluated outside the span. Methods without FSAL evaluate f
 * at the end of every step (the next step reuses it), so a positive status there also
 * retries the step. When t0 == t1 the solve takes
 * no step, calls rhs zero times and returns y0 at every save time. stats may be NULL.
 * Returns SO_OK, SO_ERR_INVALID for bad arguments, SO_ERR_CALLBACK when rhs returned a
 * negative status, SO_ERR_NUMERIC when the step fell below dt_min, SO_ERR_NONFINITE
 * when a fixed-step solution became NaN or infinite, or SO_NOT_CONVERGED when
 * max_steps steps did not reach t1. After a failure stats->t and so_ode_y() give the
 * last accepted time and state, and only the save times before stats->t are filled. */
int so_ode_solve(so_ode *ode, so_ode_rhs_fn rhs, void *user, double t0, double t1,
                 const double *y0, const double *save_times, size_t nsave,
                 double *ysave, so_ode_stats *stats);

/* Returns the state (n values) at the last accepted time of the last solve, which is
 * t1 after a successful one. */
const double *so_ode_y(const so_ode *ode);

/* Keeps (on != 0) or stops keeping the list of accepted steps of each solve. Off by
 * default. The list is cleared at the start of every solve. */
int so_ode_record_steps(so_ode *ode, int on);

/* Returns the accepted steps of the last solve and stores their number in *count; valid
 * until the next solve or so_ode_free. Empty unless recording is on. */
const so_ode_step *so_ode_steps(const so_ode *ode, size_t *count);

/* Attaches event functions to the solver (NULL detaches them). The struct is read and
 * its result fields written by every later solve, so it must stay alive until it is
 * detached or the solver is freed. When a terminal event stops a solve, so_ode_solve
 * returns SO_OK with stats->t and so_ode_y() at the event, events->stopped = 1 and the
 * save times after the event left unfilled. */
int so_ode_set_events(so_ode *ode, so_ode_events *events);

#ifdef __cplusplus
}
#endif

#endif
