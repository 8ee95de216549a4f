/* Saving an optimizer's full state as self-describing little-endian bytes (layout in
 * state_format.h). */
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "core/internal.h"
#include "optim/optim_internal.h"
#include "optim/state_format.h"

typedef struct writer {
    uint8_t *out; /* NULL while only measuring */
    size_t pos;
} writer;

static void put_bytes(writer *w, const void *bytes, size_t count)
{
    if (w->out != NULL)
        memcpy(w->out + w->pos, bytes, count);
    w->pos += count;
}

static void put_uint(writer *w, uint64_t value, int bytes)
{
    uint8_t le[8];
    for (int k = 0; k < bytes; k++)
        le[k] = (uint8_t)(value >> (8 * k));
    put_bytes(w, le, (size_t)bytes);
}

static void put_f64(writer *w, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    put_uint(w, bits, 8);
}

static void put_name(writer *w, const char *name)
{
    size_t len = strlen(name);
    put_uint(w, len, 1);
    put_bytes(w, name, len);
}

static void put_buffer(writer *w, const void *data, size_t n, so_precision precision)
{
    if (w->out == NULL) {
        w->pos += n * so_optim_elem_size_(precision);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (precision == SO_F32) {
            uint32_t bits;
            memcpy(&bits, (const float *)data + i, sizeof bits);
            put_uint(w, bits, 4);
        } else {
            uint64_t bits;
            memcpy(&bits, (const double *)data + i, sizeof bits);
            put_uint(w, bits, 8);
        }
    }
}

/* The sections added in version 2: scalars, schedule and groups. */
static void write_v2_sections(const so_optimizer *opt, writer *w)
{
    const char *names[SO_OPTIM_MAX_SCALARS];
    double initial[SO_OPTIM_MAX_SCALARS];
    if (opt->type->scalars != NULL)
        opt->type->scalars(&opt->hp, names, initial);
    put_uint(w, opt->num_scalars, 4);
    for (size_t k = 0; k < opt->num_scalars; k++) {
        put_name(w, names[k]);
        put_f64(w, opt->scalars[k]);
    }

    put_name(w, opt->has_schedule ? so_schedule_type_name(opt->schedule.type) : "");
    if (opt->has_schedule) {
        put_f64(w, opt->base_lr);
        put_uint(w, opt->schedule_start, 8);
        put_uint(w, so_schedule_field_count_(), 4);
        for (size_t i = 0; i < so_schedule_field_count_(); i++) {
            const so_optim_hp_field *field = so_schedule_field_(i);
            put_name(w, field->name);
            put_uint(w, so_schedule_field_bits_(&opt->schedule, field), 8);
        }
    }

    put_uint(w, opt->num_segments, 8);
    for (size_t k = 0; k < opt->num_segments; k++) {
        const so_optim_segment *seg = &opt->segments[k];
        put_uint(w, seg->lo, 8);
        put_uint(w, seg->hi, 8);
        put_f64(w, seg->lr_scale);
        put_f64(w, seg->weight_decay_scale);
    }
}

/* Writes the whole state, or only counts its bytes when w->out is NULL. */
static void write_state(const so_optimizer *opt, writer *w)
{
    const char *names[SO_OPTIM_MAX_BUFFERS];
    size_t count = opt->type->buffers(&opt->hp, names);

    put_bytes(w, so_state_magic_, sizeof so_state_magic_);
    put_uint(w, SO_STATE_VERSION, 4);
    put_name(w, opt->type->name);
    put_uint(w, so_optim_elem_size_(opt->precision), 1);
    put_uint(w, opt->n, 8);
    put_uint(w, so_optim_hp_count_(), 4);
    for (size_t i = 0; i < so_optim_hp_count_(); i++) {
        const so_optim_hp_field *field = so_optim_hp_field_(i);
        put_name(w, field->name);
        put_f64(w, so_optim_hp_get_(&opt->hp, field));
    }
    put_uint(w, opt->steps, 8);
    put_uint(w, count, 4);
    for (size_t k = 0; k < count; k++)
        put_name(w, names[k]);
    write_v2_sections(opt, w);
    for (size_t k = 0; k < count; k++)
        put_buffer(w, opt->buffers[k], opt->n, opt->precision);
    if (w->out != NULL)
        put_uint(w, crc32_z(0L, w->out, w->pos), 4);
    else
        w->pos += 4;
}

int so_optimizer_save(const so_optimizer *opt, void *buf, size_t *size)
{
    writer w = {NULL, 0};

    if (opt == NULL || size == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_save: %s is NULL",
                        opt == NULL ? "opt" : "size");
    write_state(opt, &w);
    if (buf == NULL) {
        *size = w.pos;
        return SO_OK;
    }
    if (*size < w.pos) {
        size_t capacity = *size;
        *size = w.pos;
        return so_fail_(SO_ERR_RANGE,
                        "so_optimizer_save: buffer of %zu bytes is too small: the state needs "
                        "%zu bytes; call with buf = NULL to get the size",
                        capacity, w.pos);
    }
    w.out = buf;
    w.pos = 0;
    write_state(opt, &w);
    *size = w.pos;
    return SO_OK;
}
