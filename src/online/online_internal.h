/* Internal state of the online learners, shared by the files of the online module. */
#ifndef STOCHOPT_ONLINE_INTERNAL_H
#define STOCHOPT_ONLINE_INTERNAL_H

#include "stochopt/online.h"

struct so_online {
    so_online_config cfg;
    double *x;       /* the point played this round */
    double *xhat;    /* OMD's secondary sequence; OGD's and ONS's iterate */
    double *x0;      /* FTRL's regularization center */
    double *gsum;    /* sum of the observed gradients */
    double *hint;    /* M_t of this round */
    double *gprev;   /* g_{t-1}, the default hint */
    double *tmp, *work, *work2; /* scratch vectors */
    double *a, *ainv;/* ONS: eps I + sum g g' and its inverse (dim x dim) */
    double *chol;    /* ONS: Cholesky factor scratch (dim x dim) */
    double sum_sq;   /* sum_{s<t} |g_s - M_s|^2 of the adaptive step */
    double played;   /* sum_t <g_t, x_t>, for the linearized regret */
    long t;          /* rounds completed */
    int predicted;   /* 1 between predict and update */
    int hint_zero;   /* the current hint is exactly zero */
};

/* Euclidean projection of y onto the configured domain, in place. */
int so_online_project_(const so_online_config *c, double *y);
/* min over the domain of <s, x>; +inf when unbounded below. */
double so_online_linear_min_(const so_online_config *c, const double *s);

/* ONS: the Newton step from xhat with g, then the projection in the A-norm. */
int so_ons_update_(so_online *o, const double *g);

#endif
