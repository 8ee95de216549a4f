/* The tables of hyperparameter and schedule fields, access to fields by name, and the
 * validation checks every method shares. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

#define SO_HP_ROW_(field, kind) {#field, offsetof(so_optim_params, field), kind, 1}

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
    SO_HP_ROW_(clip_value, SO_HP_REAL),
    SO_HP_ROW_(lr_decay, SO_HP_REAL),
    SO_HP_ROW_(initial_accumulator_value, SO_HP_REAL),
    SO_HP_ROW_(alpha, SO_HP_REAL),
    SO_HP_ROW_(rho, SO_HP_REAL),
    SO_HP_ROW_(centered, SO_HP_FLAG),
    SO_HP_ROW_(decoupled_weight_decay, SO_HP_FLAG),
    {"eps_placement", offsetof(so_optim_params, eps_placement), SO_HP_CHOICE,
     SO_EPS_INSIDE_SQRT},
};

enum { HP_COUNT = sizeof hp_fields / sizeof hp_fields[0] };

#define SO_SCHEDULE_ROW_(field, kind) {#field, offsetof(so_schedule, field), kind, 0}

static const so_optim_hp_field schedule_fields[] = {
    SO_SCHEDULE_ROW_(step_size, SO_HP_COUNT),
    SO_SCHEDULE_ROW_(gamma, SO_HP_REAL),
    SO_SCHEDULE_ROW_(t_max, SO_HP_COUNT),
    SO_SCHEDULE_ROW_(eta_min, SO_HP_REAL),
    SO_SCHEDULE_ROW_(warmup_steps, SO_HP_COUNT),
    SO_SCHEDULE_ROW_(warmup_start_factor, SO_HP_REAL),
};

size_t so_optim_hp_count_(void)
{
    return HP_COUNT;
}

const so_optim_hp_field *so_optim_hp_field_(size_t index)
{
    return index < HP_COUNT ? &hp_fields[index] : NULL;
}

/* Finds the field whose name is the len bytes at name (not necessarily terminated). */
const so_optim_hp_field *so_optim_hp_lookup_(const char *name, size_t len)
{
    for (size_t i = 0; i < HP_COUNT; i++)
        if (strlen(hp_fields[i].name) == len && memcmp(hp_fields[i].name, name, len) == 0)
            return &hp_fields[i];
    return NULL;
}

double so_optim_hp_get_(const so_optim_params *hp, const so_optim_hp_field *field)
{
    const char *base = (const char *)hp + field->offset;
    if (field->kind == SO_HP_FLAG || field->kind == SO_HP_CHOICE) {
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
    if (field->kind == SO_HP_FLAG || field->kind == SO_HP_CHOICE) {
        int flag = (int)value;
        memcpy(base, &flag, sizeof flag);
    } else {
        memcpy(base, &value, sizeof value);
    }
}

int so_optim_hp_check_kind_(const so_optim_hp_field *field, double value, int status)
{
    if (field->kind == SO_HP_FLAG && value != 0.0 && value != 1.0)
        return so_fail_(status, "%s = %g: expected 0 or 1", field->name, value);
    /* Written so that NaN fails the test. */
    if (field->kind == SO_HP_CHOICE &&
        !(value >= 0.0 && value <= field->max && value == floor(value)))
        return so_fail_(status, "%s = %g: expected an integer from 0 to %d", field->name,
                        value, field->max);
    return SO_OK;
}

const char *so_optim_param_names(void)
{
    return "lr,momentum,dampening,nesterov,beta1,beta2,eps,amsgrad,weight_decay,maximize,"
           "clip_norm,clip_value,lr_decay,initial_accumulator_value,alpha,rho,centered,"
           "decoupled_weight_decay,eps_placement";
}

static int unknown_name(const char *name)
{
    return so_fail_(SO_ERR_NOT_FOUND, "hyperparameter \"%s\" is unknown: expected one of %s",
                    name, so_optim_param_names());
}

int so_optim_params_set(so_optim_params *params, const char *name, double value)
{
    if (params == NULL || name == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optim_params_set: %s is NULL",
                        params == NULL ? "params" : "name");
    const so_optim_hp_field *field = so_optim_hp_lookup_(name, strlen(name));
    if (field == NULL)
        return unknown_name(name);
    int rc = so_optim_hp_check_kind_(field, value, SO_ERR_INVALID);
    if (rc != SO_OK)
        return rc;
    so_optim_hp_set_(params, field, value);
    return SO_OK;
}

int so_optim_params_get(const so_optim_params *params, const char *name, double *value)
{
    if (params == NULL || name == NULL || value == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optim_params_get: params, name and value must "
                                        "not be NULL");
    const so_optim_hp_field *field = so_optim_hp_lookup_(name, strlen(name));
    if (field == NULL)
        return unknown_name(name);
    *value = so_optim_hp_get_(params, field);
    return SO_OK;
}

size_t so_schedule_field_count_(void)
{
    return sizeof schedule_fields / sizeof schedule_fields[0];
}

const so_optim_hp_field *so_schedule_field_(size_t index)
{
    return index < so_schedule_field_count_() ? &schedule_fields[index] : NULL;
}

uint64_t so_schedule_field_bits_(const so_schedule *schedule, const so_optim_hp_field *field)
{
    uint64_t bits;
    /* A double and a uint64_t both take 8 bytes, so the raw bits copy either. */
    memcpy(&bits, (const char *)schedule + field->offset, sizeof bits);
    return bits;
}

void so_schedule_field_set_bits_(so_schedule *schedule, const so_optim_hp_field *field,
                                 uint64_t bits)
{
    memcpy((char *)schedule + field->offset, &bits, sizeof bits);
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
        (rc = so_optim_check_range_(method, "clip_value", hp->clip_value, 0.0, INFINITY, 1)) !=
            SO_OK)
        return rc;
    /* Every flag and choice is checked, also those the method ignores, so that any state
     * that so_optimizer_save writes loads again. */
    for (size_t i = 0; i < HP_COUNT; i++) {
        const so_optim_hp_field *field = &hp_fields[i];
        if (field->kind != SO_HP_FLAG && field->kind != SO_HP_CHOICE)
            continue;
        int value = (int)so_optim_hp_get_(hp, field);
        if (field->kind == SO_HP_FLAG && (rc = so_optim_check_flag_(method, field->name,
                                                                    value)) != SO_OK)
            return rc;
        if (field->kind == SO_HP_CHOICE && (value < 0 || value > field->max))
            return so_fail_(SO_ERR_INVALID,
                            "%s: %s = %d is invalid: expected an integer from 0 to %d",
                            method, field->name, value, field->max);
    }
    return SO_OK;
}
