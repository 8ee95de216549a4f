/* Solver object: options, validation, allocation and release. */
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include "ode/ode_internal.h"

so_ode_options so_ode_options_default(void)
{
    so_ode_options o;
    o.rtol = 1e-3;
    o.atol = 1e-6;
    o.dt = 0.0;
    o.dt_min = 0.0;
    o.dt_max = 0.0;
    o.safety = 0.9;
    o.controller = SO_ODE_CONTROLLER_PI;
    o.beta1 = 0.0;
    o.beta2 = 0.0;
    o.factor_min = 0.2;
    o.factor_max = 10.0;
    o.max_steps = 100000;
    return o;
}

static int check_options(const so_ode_method *method, so_ode_options *o)
{
    if (!(isfinite(o->rtol) && o->rtol >= 0.0) || !(isfinite(o->atol) && o->atol >= 0.0))
        return so_fail_(SO_ERR_INVALID, "ODE tolerances rtol = %g, atol = %g: expected "
                        "finite values >= 0; pass for example rtol = 1e-6, atol = 1e-9",
                        o->rtol, o->atol);
    if (method->error_weights != NULL && o->rtol == 0.0 && o->atol == 0.0)
        return so_fail_(SO_ERR_INVALID, "ODE tolerances rtol and atol are both 0: the "
                        "error test can never pass; set at least one of them above 0");
    if (!(isfinite(o->dt) && o->dt >= 0.0))
        return so_fail_(SO_ERR_INVALID, "ODE option dt = %g: expected a finite step >= 0",
                        o->dt);
    if (method->error_weights == NULL && o->dt <= 0.0)
        return so_fail_(SO_ERR_INVALID, "ODE method %s has a fixed step, but option dt = "
                        "%g; set dt to the step size (> 0)", method->name, o->dt);
    if (!(isfinite(o->dt_min) && o->dt_min >= 0.0) ||
        !(isfinite(o->dt_max) && o->dt_max >= 0.0))
        return so_fail_(SO_ERR_INVALID, "ODE options dt_min = %g, dt_max = %g: expected "
                        "finite values >= 0 (0 selects the default)", o->dt_min, o->dt_max);
    if (o->dt_max > 0.0 && o->dt_min > o->dt_max)
        return so_fail_(SO_ERR_INVALID, "ODE option dt_min = %g exceeds dt_max = %g; "
                        "lower dt_min or raise dt_max", o->dt_min, o->dt_max);
    if (!(o->safety > 0.0 && o->safety <= 1.0))
        return so_fail_(SO_ERR_INVALID, "ODE option safety = %g: expected a value in "
                        "(0, 1], such as 0.9", o->safety);
    if (!(isfinite(o->beta1) && o->beta1 >= 0.0) || !(isfinite(o->beta2) && o->beta2 >= 0.0))
        return so_fail_(SO_ERR_INVALID, "ODE options beta1 = %g, beta2 = %g: expected "
                        "finite values >= 0 (0 selects the default)", o->beta1, o->beta2);
    if (!(o->factor_min > 0.0 && o->factor_min < 1.0) ||
        !(isfinite(o->factor_max) && o->factor_max > 1.0))
        return so_fail_(SO_ERR_INVALID, "ODE options factor_min = %g, factor_max = %g: "
                        "expected 0 < factor_min < 1 < factor_max, such as 0.2 and 10",
                        o->factor_min, o->factor_max);
    if (o->max_steps <= 0)
        return so_fail_(SO_ERR_INVALID, "ODE option max_steps = %ld: expected a positive "
                        "count, such as 100000", o->max_steps);
    if (o->controller != SO_ODE_CONTROLLER_PI && o->controller != SO_ODE_CONTROLLER_I)
        return so_fail_(SO_ERR_INVALID, "ODE option controller = %d: expected "
                        "SO_ODE_CONTROLLER_PI (0) or SO_ODE_CONTROLLER_I (1)", o->controller);
    if (o->controller == SO_ODE_CONTROLLER_I) {
        if (o->beta2 != 0.0)
            return so_fail_(SO_ERR_INVALID, "ODE option beta2 = %g with the I controller, "
                            "which has no term in the previous error; leave beta2 at 0 or "
                            "choose SO_ODE_CONTROLLER_PI", o->beta2);
        if (o->beta1 == 0.0)
            o->beta1 = 1.0 / method->order;
        return SO_OK;
    }
    if (o->beta1 == 0.0)
        o->beta1 = 7.0 / (10.0 * method->order);
    if (o->beta2 == 0.0)
        o->beta2 = 2.0 / (5.0 * method->order);
    return SO_OK;
}

int so_ode_new(so_ode **out, const so_ode_method *method, size_t n,
               const so_ode_options *options)
{
    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_new: output pointer is NULL");
    *out = NULL;
    if (method == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_new: method is NULL; pass &so_ode_tsit5 "
                        "or another so_ode_method");
    if (method->stages < 1 || method->order < 1 || method->c == NULL ||
        method->a == NULL || method->b == NULL ||
        (method->fsal && method->stages < 2))
        return so_fail_(SO_ERR_INVALID, "so_ode_new: method \"%s\" is malformed: expected "
                        "at least one stage, order >= 1 and non-NULL c, a and b",
                        method->name ? method->name : "(unnamed)");
    if (n == 0)
        return so_fail_(SO_ERR_INVALID, "so_ode_new: system size n = 0; expected at least "
                        "one equation");
    if (n > ((size_t)-1) / sizeof(double) / (size_t)(method->stages + 5))
        return so_fail_(SO_ERR_INVALID, "so_ode_new: system size n = %zu is too large",
                        n);
    so_ode_options o = options ? *options : so_ode_options_default();
    if (options == NULL && method->error_weights == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_new: fixed-step method %s needs options "
                        "with dt set to the step size", method->name);
    int status = check_options(method, &o);
    if (status != SO_OK)
        return status;

    so_ode *ode = so_calloc_(1, sizeof *ode);
    if (ode == NULL)
        return SO_ERR_NOMEM;
    ode->method = method;
    ode->n = n;
    ode->options = o;
    double *block = so_calloc_(n * (size_t)(method->stages + 6), sizeof(double));
    if (block == NULL) {
        free(ode);
        return SO_ERR_NOMEM;
    }
    ode->k = block;
    ode->y = block + n * (size_t)method->stages;
    ode->y_new = ode->y + n;
    ode->y_stage = ode->y_new + n;
    ode->err = ode->y_stage + n;
    ode->f_new = ode->err + n;
    ode->g_prev = ode->f_new + n;
    ode->stiffness = NAN;
    *out = ode;
    return SO_OK;
}

void so_ode_free(so_ode **ode)
{
    if (ode == NULL || *ode == NULL)
        return;
    free((*ode)->k);
    free((*ode)->steps);
    free(*ode);
    *ode = NULL;
}

const double *so_ode_y(const so_ode *ode)
{
    return ode ? ode->y : NULL;
}

int so_ode_record_steps(so_ode *ode, int on)
{
    if (ode == NULL)
        return so_fail_(SO_ERR_INVALID, "so_ode_record_steps: the solver is NULL");
    ode->record = on != 0;
    if (!ode->record)
        ode->nsteps = 0;
    return SO_OK;
}

const so_ode_step *so_ode_steps(const so_ode *ode, size_t *count)
{
    if (count != NULL)
        *count = ode ? ode->nsteps : 0;
    return ode ? ode->steps : NULL;
}

int so_ode_record_step_(so_ode *ode, double t, double dt, double error)
{
    if (!ode->record)
        return SO_OK;
    if (ode->nsteps == ode->steps_cap) {
        size_t cap = ode->steps_cap ? 2 * ode->steps_cap : 64;
        so_ode_step *grown = realloc(ode->steps, cap * sizeof *grown);
        if (grown == NULL)
            return so_fail_(SO_ERR_NOMEM, "ODE step record: cannot grow the list beyond "
                            "%zu steps", ode->nsteps);
        ode->steps = grown;
        ode->steps_cap = cap;
    }
    so_ode_step *s = &ode->steps[ode->nsteps++];
    s->t = t;
    s->dt = dt;
    s->error = error;
    s->stiffness = ode->stiffness;
    return SO_OK;
}
