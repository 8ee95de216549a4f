/* The list of optimization methods and lookups into it. A new method adds its descriptor
 * to the table below. */
#include <string.h>

#include "optim/optim_internal.h"

/* sgd and adam come first, in the order of the first release. */
static const so_optim_type *const method_table[] = {
    &so_optim_sgd_type_,      &so_optim_adam_type_,     &so_optim_momentum_type_,
    &so_optim_nesterov_type_, &so_optim_adagrad_type_,  &so_optim_adagrad_norm_type_,
    &so_optim_rmsprop_type_,  &so_optim_adadelta_type_, &so_optim_adamw_type_,
    &so_optim_amsgrad_type_,  &so_optim_diffgrad_type_,
};

enum { METHOD_COUNT = sizeof method_table / sizeof method_table[0] };

/* ASCII case-insensitive equality, so that "Adam" finds adam whatever the locale. */
static int name_equal(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

const so_optim_type *so_optim_type_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < METHOD_COUNT; i++)
        if (name_equal(method_table[i]->name, name))
            return method_table[i];
    return NULL;
}

const char *so_optim_type_name(const so_optim_type *type)
{
    return type != NULL ? type->name : "(none)";
}

const char *so_optim_type_params(const so_optim_type *type)
{
    return type != NULL ? type->params : "";
}

void so_optim_type_list(char *buf, size_t size)
{
    size_t used = 0;
    if (buf == NULL || size == 0)
        return;
    buf[0] = '\0';
    /* Only whole names are written; a short buffer ends the list early. */
    for (size_t i = 0; i < METHOD_COUNT; i++) {
        const char *name = method_table[i]->name;
        size_t len = strlen(name) + (i > 0);
        if (used + len >= size)
            return;
        if (i > 0)
            buf[used++] = ',';
        memcpy(buf + used, name, strlen(name) + 1);
        used += strlen(name);
    }
}

so_optim_params so_optim_params_default(const so_optim_type *type)
{
    so_optim_params hp;
    memset(&hp, 0, sizeof hp);
    if (type != NULL)
        type->defaults(&hp);
    return hp;
}

size_t so_optim_elem_size_(so_precision precision)
{
    return precision == SO_F32 ? sizeof(float) : sizeof(double);
}
