/* Saving and restoring an optimizer's full state as self-describing little-endian bytes.
 *
 * Layout of version 1 (integers unsigned, little endian; reals are IEEE 754 binary64):
 *   8 bytes  magic "SOOPTIM" followed by a zero byte
 *   u32      format version, 1
 *   u8 + L   method name: length L, then L bytes without terminator
 *   u8       bytes per element: 4 for float32, 8 for float64
 *   u64      n, the number of parameters
 *   u32      H, then H hyperparameters, each a u8-length name and a binary64 value
 *   u64      completed steps
 *   u32      B, then B buffer names, each a u8-length name (torch.optim's state keys)
 *   B * n    buffer elements, buffer after buffer, in the optimizer's precision
 *   u32      CRC-32 (zlib) of every byte before it
 * Reals are stored bit for bit, so a restored optimizer continues exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static const uint8_t state_magic[8] = {'S', 'O', 'O', 'P', 'T', 'I', 'M', 0};
enum { STATE_VERSION = 1 };

/* ---- Writing */

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

/* Writes the whole state, or only counts its bytes when w->out is NULL. */
static void write_state(const so_optimizer *opt, writer *w)
{
    const char *names[SO_OPTIM_MAX_BUFFERS];
    size_t count = opt->type->buffers(&opt->hp, names);

    put_bytes(w, state_magic, sizeof state_magic);
    put_uint(w, STATE_VERSION, 4);
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

/* ---- Reading */

enum { MAX_STORED_HYPERPARAMS = 64 };

typedef struct reader {
    const uint8_t *in;
    size_t size, pos;
} reader;

/* A name inside the input bytes; not terminated. */
typedef struct stored_name {
    const char *text;
    size_t len;
} stored_name;

/* The fields of a state, parsed and bounds-checked but not yet compared with the
 * optimizer that loads it. */
typedef struct stored_state {
    stored_name method;
    unsigned elem_size;
    uint64_t n;
    uint32_t num_hp;
    stored_name hp_name[MAX_STORED_HYPERPARAMS];
    double hp_value[MAX_STORED_HYPERPARAMS];
    uint64_t steps;
    uint32_t num_buffers;
    stored_name buffer_name[SO_OPTIM_MAX_BUFFERS];
    size_t data_pos;   /* offset of the first buffer element */
} stored_state;

/* Fails with SO_ERR_FORMAT unless `count` more bytes are available for `item`. */
static int need(const reader *r, size_t count, const char *item)
{
    if (r->size - r->pos >= count)
        return SO_OK;
    return so_fail_(SO_ERR_FORMAT,
                    "optimizer state: truncated at byte %zu: %s needs %zu bytes, %zu left",
                    r->pos, item, count, r->size - r->pos);
}

static uint64_t get_uint(reader *r, int bytes)
{
    uint64_t value = 0;
    for (int k = 0; k < bytes; k++)
        value |= (uint64_t)r->in[r->pos + (size_t)k] << (8 * k);
    r->pos += (size_t)bytes;
    return value;
}

static int get_name(reader *r, stored_name *name, const char *item)
{
    int rc;
    if ((rc = need(r, 1, item)) != SO_OK)
        return rc;
    name->len = (size_t)get_uint(r, 1);
    if ((rc = need(r, name->len, item)) != SO_OK)
        return rc;
    name->text = (const char *)r->in + r->pos;
    r->pos += name->len;
    return SO_OK;
}

static int name_is(const stored_name *name, const char *text)
{
    return name->len == strlen(text) && memcmp(name->text, text, name->len) == 0;
}

static int parse_lists(reader *r, stored_state *s)
{
    int rc;
    if (s->num_hp > MAX_STORED_HYPERPARAMS)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: %u hyperparameters: at most %d expected",
                        (unsigned)s->num_hp, MAX_STORED_HYPERPARAMS);
    for (uint32_t i = 0; i < s->num_hp; i++) {
        uint64_t bits;
        if ((rc = get_name(r, &s->hp_name[i], "a hyperparameter name")) != SO_OK ||
            (rc = need(r, 8, "a hyperparameter value")) != SO_OK)
            return rc;
        bits = get_uint(r, 8);
        memcpy(&s->hp_value[i], &bits, sizeof bits);
    }
    if ((rc = need(r, 8 + 4, "the step and buffer counts")) != SO_OK)
        return rc;
    s->steps = get_uint(r, 8);
    s->num_buffers = (uint32_t)get_uint(r, 4);
    if (s->num_buffers > SO_OPTIM_MAX_BUFFERS)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: %u state buffers: at most %d expected",
                        (unsigned)s->num_buffers, SO_OPTIM_MAX_BUFFERS);
    for (uint32_t k = 0; k < s->num_buffers; k++)
        if ((rc = get_name(r, &s->buffer_name[k], "a buffer name")) != SO_OK)
            return rc;
    s->data_pos = r->pos;
    return SO_OK;
}

static int parse_state(reader *r, stored_state *s)
{
    int rc;
    if ((rc = need(r, sizeof state_magic + 4, "the magic and version")) != SO_OK)
        return rc;
    if (memcmp(r->in, state_magic, sizeof state_magic) != 0)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: bytes 0-7 are not the magic "
                                       "\"SOOPTIM\": the data was not written by "
                                       "so_optimizer_save");
    r->pos = sizeof state_magic;
    uint32_t version = (uint32_t)get_uint(r, 4);
    if (version != STATE_VERSION)
        return so_fail_(SO_ERR_UNSUPPORTED,
                        "optimizer state: format version %u: this library reads version %d",
                        (unsigned)version, STATE_VERSION);
    if ((rc = get_name(r, &s->method, "the method name")) != SO_OK ||
        (rc = need(r, 1 + 8 + 4, "the precision, n and hyperparameter count")) != SO_OK)
        return rc;
    s->elem_size = (unsigned)get_uint(r, 1);
    s->n = get_uint(r, 8);
    s->num_hp = (uint32_t)get_uint(r, 4);
    if (s->elem_size != 4 && s->elem_size != 8)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: element size %u: expected 4 "
                                       "(float32) or 8 (float64)",
                        s->elem_size);
    return parse_lists(r, s);
}

/* Checks that the input ends exactly after the buffers and the checksum, and that the
 * checksum matches. */
static int check_size_and_checksum(const reader *r, const stored_state *s)
{
    const size_t room = SIZE_MAX - s->data_pos - 4;
    uint64_t per_buffer = s->n * s->elem_size;
    if (s->n > room / s->elem_size || (s->num_buffers > 0 && per_buffer > room / s->num_buffers))
        return so_fail_(SO_ERR_FORMAT, "optimizer state: n = %llu is too large to load",
                        (unsigned long long)s->n);
    size_t expected = s->data_pos + (size_t)per_buffer * s->num_buffers + 4;
    if (r->size != expected)
        return so_fail_(SO_ERR_FORMAT,
                        "optimizer state: %zu bytes, expected %zu for %u buffers of %llu "
                        "elements: the data is %s",
                        r->size, expected, (unsigned)s->num_buffers, (unsigned long long)s->n,
                        r->size < expected ? "truncated" : "followed by extra bytes");
    reader tail = {r->in, r->size, expected - 4};
    uint32_t stored = (uint32_t)get_uint(&tail, 4);
    uint32_t computed = (uint32_t)crc32_z(0L, r->in, expected - 4);
    if (stored != computed)
        return so_fail_(SO_ERR_FORMAT,
                        "optimizer state: CRC-32 mismatch (stored 0x%08x, computed 0x%08x): "
                        "the bytes are corrupt",
                        (unsigned)stored, (unsigned)computed);
    return SO_OK;
}

static int check_identity(const so_optimizer *opt, const stored_state *s)
{
    const unsigned bits = 8 * (unsigned)so_optim_elem_size_(opt->precision);
    if (!name_is(&s->method, opt->type->name))
        return so_fail_(SO_ERR_INVALID,
                        "optimizer state: method is \"%.*s\" but this optimizer is \"%s\": "
                        "create the optimizer with the method that saved the state",
                        (int)s->method.len, s->method.text, opt->type->name);
    if (s->elem_size * 8 != bits)
        return so_fail_(SO_ERR_INVALID,
                        "optimizer state: precision is float%u but this optimizer is float%u",
                        s->elem_size * 8, bits);
    if (s->n != opt->n)
        return so_fail_(SO_ERR_INVALID,
                        "optimizer state: n = %llu parameters but this optimizer has %zu",
                        (unsigned long long)s->n, opt->n);
    return SO_OK;
}

static int name_equal(const stored_name *a, const stored_name *b)
{
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Builds the stored hyperparameters on top of the method's defaults, so that a field
 * added after the state was written takes its default. */
static int restore_hyperparams(const so_optimizer *opt, const stored_state *s,
                               so_optim_params *hp)
{
    int rc;
    *hp = so_optim_params_default(opt->type);
    for (uint32_t i = 0; i < s->num_hp; i++) {
        const so_optim_hp_field *field = NULL;
        for (size_t f = 0; f < so_optim_hp_count_() && field == NULL; f++)
            if (name_is(&s->hp_name[i], so_optim_hp_field_(f)->name))
                field = so_optim_hp_field_(f);
        if (field == NULL)
            return so_fail_(SO_ERR_UNSUPPORTED,
                            "optimizer state: hyperparameter \"%.*s\" is unknown to this "
                            "library version",
                            (int)s->hp_name[i].len, s->hp_name[i].text);
        for (uint32_t j = 0; j < i; j++)
            if (name_equal(&s->hp_name[j], &s->hp_name[i]))
                return so_fail_(SO_ERR_FORMAT,
                                "optimizer state: hyperparameter %s appears twice", field->name);
        double value = s->hp_value[i];
        if (field->kind == SO_HP_FLAG && value != 0.0 && value != 1.0)
            return so_fail_(SO_ERR_FORMAT, "optimizer state: %s = %g: expected 0 or 1",
                            field->name, value);
        so_optim_hp_set_(hp, field, value);
    }
    if ((rc = opt->type->validate(hp)) != SO_OK)
        so_error_prefix_("optimizer state");
    return rc;
}

static int check_buffer_names(const so_optimizer *opt, const stored_state *s,
                              const so_optim_params *hp, size_t *count)
{
    const char *names[SO_OPTIM_MAX_BUFFERS];
    *count = opt->type->buffers(hp, names);
    if (s->num_buffers != *count)
        return so_fail_(SO_ERR_FORMAT,
                        "optimizer state: %u buffers stored, but %s with the stored "
                        "hyperparameters keeps %zu",
                        (unsigned)s->num_buffers, opt->type->name, *count);
    for (size_t k = 0; k < *count; k++)
        if (!name_is(&s->buffer_name[k], names[k]))
            return so_fail_(SO_ERR_FORMAT, "optimizer state: buffer %zu is \"%.*s\", expected "
                                           "\"%s\"",
                            k, (int)s->buffer_name[k].len, s->buffer_name[k].text, names[k]);
    return SO_OK;
}

static void get_buffer(reader *r, void *data, size_t n, so_precision precision)
{
    for (size_t i = 0; i < n; i++) {
        if (precision == SO_F32) {
            uint32_t bits = (uint32_t)get_uint(r, 4);
            memcpy((float *)data + i, &bits, sizeof bits);
        } else {
            uint64_t bits = get_uint(r, 8);
            memcpy((double *)data + i, &bits, sizeof bits);
        }
    }
}

int so_optimizer_load(so_optimizer *opt, const void *buf, size_t size)
{
    reader r = {buf, size, 0};
    stored_state s;
    so_optim_params hp;
    size_t count;
    void *fresh[SO_OPTIM_MAX_BUFFERS] = {NULL};
    void **target;
    int rc;

    if (opt == NULL || buf == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_load: %s is NULL",
                        opt == NULL ? "opt" : "buf");
    /* Every check runs before the optimizer is touched, so a failure changes nothing. */
    if ((rc = parse_state(&r, &s)) != SO_OK || (rc = check_size_and_checksum(&r, &s)) != SO_OK ||
        (rc = check_identity(opt, &s)) != SO_OK ||
        (rc = restore_hyperparams(opt, &s, &hp)) != SO_OK ||
        (rc = check_buffer_names(opt, &s, &hp, &count)) != SO_OK)
        return rc;
    /* The stored hyperparameters may need a different number of buffers (amsgrad, or
     * momentum for SGD); those are allocated before anything is replaced. */
    target = opt->buffers;
    if (count != opt->num_buffers) {
        if (so_optim_buffers_alloc_(opt->n, opt->precision, count, fresh) != SO_OK)
            return SO_ERR_NOMEM;
        target = fresh;
    }
    r.pos = s.data_pos;
    for (size_t k = 0; k < count; k++)
        get_buffer(&r, target[k], opt->n, opt->precision);
    if (target == fresh) {
        so_optim_buffers_free_(opt->buffers, opt->num_buffers);
        memcpy(opt->buffers, fresh, sizeof fresh);
        opt->num_buffers = count;
    }
    opt->hp = hp;
    opt->steps = s.steps;
    return SO_OK;
}
