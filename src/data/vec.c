/* Growable arrays used while parsing text files of unknown length. */
#include <stdlib.h>

#include "data/data_internal.h"

void so_vec_init_(so_vec_ *v, size_t elsize)
{
    v->data = NULL;
    v->count = 0;
    v->cap = 0;
    v->elsize = elsize;
}

int so_vec_reserve_(so_vec_ *v, size_t extra)
{
    size_t need, cap, bytes;
    void *grown;

    if (extra > SIZE_MAX - v->count)
        return so_fail_(SO_ERR_NOMEM, "growing an array past size_t");
    need = v->count + extra;
    if (need <= v->cap && v->data != NULL)
        return SO_OK;
    cap = v->cap < 16 ? 16 : v->cap;
    while (cap < need)
        cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
    if (!so_mul_size_(cap, v->elsize, &bytes))
        return so_fail_(SO_ERR_NOMEM, "growing an array to %zu elements overflows size_t", cap);
    grown = realloc(v->data, bytes);
    if (grown == NULL)
        return so_fail_(SO_ERR_NOMEM, "out of memory growing an array to %zu bytes", bytes);
    v->data = grown;
    v->cap = cap;
    return SO_OK;
}

void *so_vec_take_(so_vec_ *v)
{
    void *data;

    if (v->data == NULL && so_vec_reserve_(v, 1) != SO_OK)
        return NULL;
    data = v->data;
    v->data = NULL;
    v->count = 0;
    v->cap = 0;
    return data;
}

void so_vec_free_(so_vec_ *v)
{
    free(v->data);
    v->data = NULL;
    v->count = 0;
    v->cap = 0;
}
