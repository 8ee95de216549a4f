/* Creation of SDE steppers: validation of the system and scratch arrays. */
#include <stdint.h>
#include <stdlib.h>

#include "core/internal.h"
#include "sde/sde_internal.h"

const char *so_sde_scheme_name(so_sde_scheme scheme)
{
    switch (scheme) {
    case SO_SDE_EULER_MARUYAMA:
        return "euler-maruyama";
    case SO_SDE_MILSTEIN:
        return "milstein";
    case SO_SDE_EULER_HEUN:
        return "euler-heun";
    case SO_SDE_MILSTEIN_STRATONOVICH:
        return "milstein-stratonovich";
    case SO_SDE_SRA1:
        return "sra1";
    }
    return NULL;
}

static int validate(const so_sde_system *sys)
{
    if (sys->n == 0 || sys->m == 0)
        return so_fail_(SO_ERR_INVALID, "sde: n = %zu and m = %zu; both dimensions must be at "
                        "least 1", sys->n, sys->m);
    if (sys->m > UINT32_MAX)
        return so_fail_(SO_ERR_INVALID, "sde: m = %zu noise components, expected at most %lu",
                        sys->m, (unsigned long)UINT32_MAX);
    if (sys->drift == NULL || sys->diffusion == NULL)
        return so_fail_(SO_ERR_INVALID, "sde: the drift and diffusion callbacks are required");
    switch (sys->noise) {
    case SO_SDE_NOISE_DIAGONAL:
        if (sys->m != sys->n)
            return so_fail_(SO_ERR_INVALID, "sde: diagonal noise needs m = n, got n = %zu and "
                            "m = %zu; use SO_SDE_NOISE_GENERAL or SO_SDE_NOISE_COMMUTATIVE",
                            sys->n, sys->m);
        break;
    case SO_SDE_NOISE_GENERAL:
    case SO_SDE_NOISE_COMMUTATIVE:
    case SO_SDE_NOISE_ADDITIVE:
        break;
    default:
        return so_fail_(SO_ERR_INVALID, "sde: noise structure %d is unknown; use one of the "
                        "SO_SDE_NOISE_ values", (int)sys->noise);
    }
    /* n*m*m values must fit in size_t for the commutative Milstein products. */
    if (sys->m > SIZE_MAX / sys->m / sys->n / sizeof(double))
        return so_fail_(SO_ERR_INVALID, "sde: n = %zu and m = %zu overflow the size of the "
                        "scratch arrays", sys->n, sys->m);
    return SO_OK;
}

int so_sde_new(const so_sde_system *system, so_sde **out)
{
    if (out == NULL || system == NULL)
        return so_fail_(SO_ERR_INVALID, "sde: system or output pointer is NULL");
    *out = NULL;
    int status = validate(system);
    if (status != SO_OK)
        return status;

    so_sde *s = so_calloc_(1, sizeof *s);
    if (s == NULL)
        return SO_ERR_NOMEM;
    size_t n = system->n, m = system->m;
    s->sys = *system;
    s->g_len = system->noise == SO_SDE_NOISE_DIAGONAL ? n : n * m;
    s->lg_len = system->noise == SO_SDE_NOISE_COMMUTATIVE ? m * m * n : n;
    s->f = so_calloc_(n, sizeof *s->f);
    s->f2 = so_calloc_(n, sizeof *s->f2);
    s->g = so_calloc_(s->g_len, sizeof *s->g);
    s->g2 = so_calloc_(s->g_len, sizeof *s->g2);
    s->lg = so_calloc_(s->lg_len, sizeof *s->lg);
    s->stage = so_calloc_(n, sizeof *s->stage);
    s->dw = so_calloc_(m, sizeof *s->dw);
    s->dz = so_calloc_(m, sizeof *s->dz);
    if (!s->f || !s->f2 || !s->g || !s->g2 || !s->lg || !s->stage || !s->dw || !s->dz) {
        so_sde_free(&s);
        return SO_ERR_NOMEM;
    }
    *out = s;
    return SO_OK;
}

void so_sde_free(so_sde **s)
{
    if (s == NULL || *s == NULL)
        return;
    free((*s)->f);
    free((*s)->f2);
    free((*s)->g);
    free((*s)->g2);
    free((*s)->lg);
    free((*s)->stage);
    free((*s)->dw);
    free((*s)->dz);
    free(*s);
    *s = NULL;
}
