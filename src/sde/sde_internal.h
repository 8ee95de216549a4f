/* The SDE stepper that the scheme and driver files share. Not part of the public API. */
#ifndef STOCHOPT_SDE_INTERNAL_H
#define STOCHOPT_SDE_INTERNAL_H

#include "stochopt/sde.h"

struct so_sde {
    so_sde_system sys;
    size_t g_len;   /* values of g: n for diagonal noise, n*m otherwise */
    size_t lg_len;  /* values of the Milstein products: n or m*m*n */
    double *f;      /* drift, n */
    double *f2;     /* second drift stage, n */
    double *g;      /* diffusion, g_len */
    double *g2;     /* second diffusion stage, g_len */
    double *lg;     /* Milstein products, lg_len */
    double *stage;  /* predictor state, n */
    double *dw;     /* increments for so_sde_solve, m */
    double *dz;     /* time integrals for so_sde_solve, m */
};

#endif
