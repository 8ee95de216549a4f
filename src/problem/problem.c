/* The problem table: release, checked evaluation and curvature fallbacks. */
#include <string.h>

#include "core/internal.h"
#include "stochopt/problem.h"

const char *so_curvature_name(so_curvature kind)
{
    switch (kind) {
    case SO_CURVATURE_EXACT:
        return "exact";
    case SO_CURVATURE_FISHER:
        return "fisher";
    case SO_CURVATURE_GAUSS_NEWTON:
        return "gauss-newton";
    case SO_CURVATURE_WEIGHTED_GN:
        return "weighted-gn";
    }
    return NULL;
}

void so_problem_destroy(so_problem *p)
{
    if (p == NULL)
        return;
    if (p->destroy != NULL)
        p->destroy(p->user);
    memset(p, 0, sizeof *p);
}
