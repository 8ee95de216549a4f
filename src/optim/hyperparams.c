/* The table of hyperparameter fields and the validation checks every method shares. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

#define SO_HP_ROW_(field, kind) {#field, offsetof(so_optim_params, field), kind}

/* Order of this table is the order of the fields in a saved state. */
static const so_optim_hp_field hp_fields[] = {
    SO_HP_ROW_(lr, SO_HP_REAL),
    SO_HP_ROW_(momentum, SO_HP_REAL),
    SO_HP_ROW_(dampening, SO_HP_REAL),
    SO_HP_ROW_(nesterov, SO_HP_FLAG),
    SO_HP_ROW_(beta1, SO_HP_REAL),
    SO_HP_ROW_(beta2, SO_HP_REAL),
    SO_HP_ROW_(eps, SO_HP_REAL),
    SO_HP_ROW_(amsgrad, SO_HP_FLAG),
    SO_HP_ROW_(weight_decay, SO_HP_REAL),
    SO_HP_ROW_(maximize, SO_HP_FLAG),
    SO_HP_ROW_(clip_norm, SO_HP_REAL),
};

size_t so_optim_hp_count_(void)
{
    return sizeof hp_fields / sizeof hp_fields[0];
}

const so_optim_hp_field *so_optim_hp_field_(size_t index)
{
    return index < so_optim_hp_count_() ? &hp_fields[index] : NULL;
}

double so_optim_hp_get_(const so_optim_params *hp, const so_optim_hp_field *field)
{
    const char *base = (const char *)hp + field->offset;
    if (field->kind == SO_HP_FLAG) {
        int flag;
        memcpy(&flag, base, sizeof flag);
        return (double)flag;
    }
    double value;
    memcpy(&value, base, sizeof value);
    return value;
}

void so_optim_hp_set_(so_optim_params *hp, const so_optim_hp_field *field, double value)
{
    char *base = (char *)hp + field->offset;
    if (field->kind == SO_HP_FLAG) {
        int flag = value != 0.0;
        memcpy(base, &flag, sizeof flag);
    } else {
        memcpy(base, &value, sizeof value);
    }
}

int so_optim_check_range_(const char *method, const char *field, double value, double lo,
                          double hi, int hi_open)
{
    /* Written so that NaN fails every comparison and is rejected. */
    int ok = value >= lo && (hi_open ? value < hi : value <= hi);
    if (ok)
        return SO_OK;
    if (isinf(hi))
        return so_fail_(SO_ERR_INVALID, "%s: %s = %g is invalid: expected a finite value >= %g",
                        method, field, value, lo);
    return so_fail_(SO_ERR_INVALID, "%s: %s = %g is invalid: expected a value in [%g, %g%c",
                    method, field, value, lo, hi, hi_open ? ')' : ']');
}

int so_optim_check_flag_(const char *method, const char *field, int flag)
{
    if (flag == 0 || flag == 1)
        return SO_OK;
    return so_fail_(SO_ERR_INVALID, "%s: %s = %d is invalid: expected 0 (off) or 1 (on)",
                    method, field, flag);
}

int so_optim_check_common_(const char *method, const so_optim_params *hp)
{
    int rc;
    /* An infinite upper bound with a half-open interval admits every finite value. */
    if ((rc = so_optim_check_range_(method, "lr", hp->lr, 0.0, INFINITY, 1)) != SO_OK ||
        (rc = so_optim_check_range_(method, "weight_decay", hp->weight_decay, 0.0, INFINITY,
                                    1)) != SO_OK ||
        (rc = so_optim_check_range_(method, "clip_norm", hp->clip_norm, 0.0, INFINITY, 1)) !=
            SO_OK ||
        (rc = so_optim_check_flag_(method, "maximize", hp->maximize)) != SO_OK)
        return rc;
    return SO_OK;
}
