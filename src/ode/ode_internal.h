/* Internal state and helpers of the ODE solvers; not part of the public API. */
#ifndef STOCHOPT_ODE_INTERNAL_H
#define STOCHOPT_ODE_INTERNAL_H

#include <stddef.h>

#include "stochopt/ode.h"

struct so_ode {
    const so_ode_method *method;
    size_t n;
    so_ode_options options;
    double *k;      /* stages x n stage derivatives; k[0] is f at the step's start */
    double *y;      /* state at the current time */
    double *y_new;  /* candidate state at the end of the step */
    double *y_stage;
    double *err;    /* local error estimate of the candidate step */
    double *f_new;  /* f at y_new for methods without FSAL */
    double *g_prev; /* input of the second-to-last stage, for the stiffness estimate */
    double stiffness; /* |lambda| estimate of the last step; NaN without FSAL */
    int record;       /* keep the accepted steps of each solve in steps[] */
    so_ode_step *steps;
    size_t nsteps, steps_cap;
    so_ode_events *events; /* event functions and their results, or NULL */
};

/* Appends an accepted step to ode->steps when recording is on. Returns SO_ERR_NOMEM
 * when the list cannot grow. */
int so_ode_record_step_(so_ode *ode, double t, double dt, double error);

/* Returns the time of the stage with node c inside the step from t to t_new, clamped to
 * the step so that rounding in t + c (t_new - t) cannot leave the span. The adjoint
 * calls it too, so each stage's VJP is taken where its f was evaluated. */
double so_ode_stage_time_(double t, double t_new, double c);

/* Takes one Runge-Kutta step from (t, y) to t_new with k[0] = f(t, y) already set,
 * writing the new state to y_new and, for embedded pairs, the error estimate to err.
 * Every method ends the step with f(t_new, y_new): FSAL methods in their last stage,
 * the others in f_new. Stage times are clamped to [t, t_new] so that f is never
 * evaluated outside the step. Returns the first nonzero status of rhs, or 0, and adds
 * the evaluations to *nfev. */
int so_ode_rk_step_(so_ode *ode, so_ode_rhs_fn rhs, void *user, double t, double t_new,
                    long *nfev);

/* Returns the RMS norm of err_i / (atol + rtol * max(|y_i|, |y_new_i|)) (Hairer,
 * Norsett and Wanner, Section II.4, eq. 4.11 with the root-mean-square norm). */
double so_ode_error_norm_(const so_ode *ode);

/* Writes to out the interpolated state at theta in [0, 1] of the step of signed size
 * h from y to y_new, using k and f_end = f(t + h, y_new). */
void so_ode_dense_eval_(const so_ode *ode, double h, const double *f_end, double theta,
                        double *out);

/* Chooses the first step size (absolute value) by Hairer's starting-step rule
 * (Hairer, Norsett and Wanner, Section II.4), using k[0] = f(t0, y). Evaluates rhs at
 * t0 + h0 inside the span, halving h0 while rhs returns a positive status, and returns
 * a negative status of rhs, or the positive one when h0 reached 0. */
int so_ode_initial_step_(so_ode *ode, so_ode_rhs_fn rhs, void *user, double t0,
                         double t1, double *h, long *nfev);

/* Workspace and progress of the event functions during one solve. */
typedef struct so_ode_event_run_ {
    so_ode_events *events;
    double xtol;       /* absolute tolerance on event times */
    double *g_start;   /* g at the start of the current step */
    double *g_end;     /* g at the end of the current step */
    double *g_trial;   /* g at a trial time of the root search */
    double *y_trial;   /* n values: dense output at a trial time */
    double *hit_t;     /* located event times of the current step */
    size_t *hit_which; /* function indices of the located events */
} so_ode_event_run_;

/* Checks the fields of an events struct; `caller` names the function in messages.
 * Returns SO_OK or SO_ERR_INVALID with the detail set. */
int so_ode_events_check_(const so_ode_events *events, const char *caller);

/* Allocates the workspace for ode->events (nothing when it is NULL) and evaluates g at
 * (t0, ode->y). Called only for t0 != t1, after f(t0, y0). Returns SO_OK, SO_ERR_NOMEM, or SO_ERR_CALLBACK when the
 * event function returned a nonzero status or a non-finite value. */
int so_ode_events_begin_(so_ode_event_run_ *run, so_ode *ode, double t0, double t1);

/* Looks for events in the candidate step from (t, ode->y) to (t_new, ode->y_new),
 * before the step is accepted: evaluates g at t_new, locates each sign change on the
 * dense output (k and f_end = f(t_new, y_new) must belong to the step) and stores the
 * events in time order up to the earliest terminal one. *t_stop receives t_new, or the
 * time of that terminal event, with ode->events->stopped set to 1. Returns SO_OK or
 * SO_ERR_CALLBACK, in which case nothing of the step has been stored. */
int so_ode_events_step_(so_ode_event_run_ *run, so_ode *ode, double t, double t_new,
                        const double *f_end, double *t_stop);

/* Frees the workspace of so_ode_events_begin_; accepts a run that was never begun. */
void so_ode_events_end_(so_ode_event_run_ *run);

#endif
