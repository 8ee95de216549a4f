/* stochopt: stochastic optimization, gradient estimation and sampling for machine
 * learning. Include this header for the whole public API. */
#ifndef STOCHOPT_H
#define STOCHOPT_H

#include "stochopt/constrained.h"
#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/global.h"
#include "stochopt/mirror.h"
#include "stochopt/newton.h"
#include "stochopt/nn.h"
#include "stochopt/ode.h"
#include "stochopt/online.h"
#include "stochopt/optim.h"
#include "stochopt/ot.h"
#include "stochopt/problem.h"
#include "stochopt/sde.h"
#include "stochopt/sso.h"
#include "stochopt/train.h"

#endif
