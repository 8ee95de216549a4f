/* Epsilon scaling: log-domain Sinkhorn run on a decreasing sequence of regularizations
 * reg_k = reg_0 * factor^k down to the target, each stage warm-started with the
 * potentials of the previous one (Schmitzer, "Stabilized sparse scaling algorithms for
 * entropy regularized transport problems", SIAM J. Sci. Comput., 2019). Large reg mixes mass quickly and small reg refines it, so the final
 * stage starts close to its solution. The potentials are in cost units, so they carry
 * over between stages unchanged. */
#include <math.h>

#include "core/internal.h"
#include "ot/ot_internal.h"

/* The largest |C_ij|, the scale at which the kernel is still close to uniform. */
static double cost_scale(const so_ot_problem_ *p)
{
    double mx = 0.0;
    for (size_t k = 0; k < p->n * p->m; k++)
        mx = fmax(mx, fabs(p->C[k]));
    return mx;
}

int so_ot_eps_scaling_(so_ot_problem_ *p, const so_ot_options *opt, so_ot_run_ *run)
{
    double target = p->reg;
    double reg = opt->eps_start > 0.0 ? opt->eps_start : cost_scale(p);
    so_ot_options stage = *opt;
    stage.stop_rule = SO_OT_STOP_L1;
    /* Intermediate stages only need to bring the potentials near their solution. */
    double stage_tol = fmax(opt->tol, 1e-6);
    int status = SO_OK;
    for (reg *= opt->eps_factor; reg > target && run->iterations < opt->max_iter;
         reg *= opt->eps_factor) {
        long budget = opt->max_iter - run->iterations;
        p->reg = reg;
        status = so_ot_sinkhorn_log_(p, &stage, budget < opt->eps_stage_iter ? budget
                                     : opt->eps_stage_iter, stage_tol, run);
        if (status != SO_OK)
            break;
    }
    p->reg = target;
    if (status != SO_OK)
        return status;
    run->converged = 0;
    return so_ot_sinkhorn_log_(p, opt, opt->max_iter - run->iterations, opt->tol, run);
}
