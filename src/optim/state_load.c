/* Restoring an optimizer's full state from the bytes so_optimizer_save writes (layout in
 * state_format.h). The input is parsed and bounds-checked first, then its checksum, then
 * its meaning; the optimizer changes only after every check has passed. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/internal.h"
#include "optim/optim_internal.h"
#include "optim/state_format.h"

enum { MAX_STORED_HYPERPARAMS = 64, MAX_STORED_FIELDS = 16 };

typedef struct reader {
    const uint8_t *in;
    size_t size, pos;
} reader;

/* A name inside the input bytes; not terminated. */
typedef struct stored_name {
    const char *text;
    size_t len;
} stored_name;

/* A list of (name, 8 bytes) pairs, as the hyperparameters, scalars and schedule fields
 * are stored. */
typedef struct stored_list {
    uint32_t count;
    stored_name name[MAX_STORED_HYPERPARAMS];
    uint64_t bits[MAX_STORED_HYPERPARAMS];
} stored_list;

/* The fields of a state, parsed and bounds-checked but not yet compared with the
 * optimizer that loads it. */
typedef struct stored_state {
    uint32_t version;
    stored_name method;
    unsigned elem_size;
    uint64_t n;
    stored_list hp;
    uint64_t steps;
    uint32_t num_buffers;
    stored_name buffer_name[SO_OPTIM_MAX_BUFFERS];
    stored_list scalars;
    stored_name schedule;    /* empty when none */
    double base_lr;
    uint64_t schedule_start;
    stored_list schedule_fields;
    uint64_t num_groups;
    size_t groups_pos;       /* offset of the first group */
    size_t data_pos;         /* offset of the first buffer element */
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

static double bits_to_double(uint64_t bits)
{
    double value;
    memcpy(&value, &bits, sizeof value);
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

static int name_equal(const stored_name *a, const stored_name *b)
{
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Reads a u32 count, at most `max`, then that many (name, 8 bytes) pairs; items names
 * the entries in messages. */
static int get_list(reader *r, stored_list *list, uint32_t max, const char *items)
{
    int rc;
    if ((rc = need(r, 4, items)) != SO_OK)
        return rc;
    list->count = (uint32_t)get_uint(r, 4);
    if (list->count > max)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: %u %s: at most %u expected",
                        (unsigned)list->count, items, (unsigned)max);
    for (uint32_t i = 0; i < list->count; i++) {
        if ((rc = get_name(r, &list->name[i], items)) != SO_OK ||
            (rc = need(r, 8, items)) != SO_OK)
            return rc;
        list->bits[i] = get_uint(r, 8);
    }
    return SO_OK;
}

/* Reads the sections that version 2 added: scalars, schedule and groups. */
static int parse_v2_sections(reader *r, stored_state *s)
{
    int rc;
    if ((rc = get_list(r, &s->scalars, SO_OPTIM_MAX_SCALARS, "scalar state values")) !=
            SO_OK ||
        (rc = get_name(r, &s->schedule, "the schedule name")) != SO_OK)
        return rc;
    if (s->schedule.len > 0) {
        if ((rc = need(r, 16, "the schedule's lr0 and start")) != SO_OK)
            return rc;
        s->base_lr = bits_to_double(get_uint(r, 8));
        s->schedule_start = get_uint(r, 8);
        if ((rc = get_list(r, &s->schedule_fields, MAX_STORED_FIELDS, "schedule fields")) !=
            SO_OK)
            return rc;
    }
    if ((rc = need(r, 8, "the group count")) != SO_OK)
        return rc;
    s->num_groups = get_uint(r, 8);
    if (s->num_groups == 0 || s->num_groups > (r->size - r->pos) / SO_STATE_GROUP_BYTES)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: %llu parameter groups: expected "
                                       "from 1 to as many as the remaining bytes hold",
                        (unsigned long long)s->num_groups);
    s->groups_pos = r->pos;
    r->pos += (size_t)s->num_groups * SO_STATE_GROUP_BYTES;
    return SO_OK;
}

static int parse_lists(reader *r, stored_state *s)
{
    int rc;
    if ((rc = get_list(r, &s->hp, MAX_STORED_HYPERPARAMS, "hyperparameters")) != SO_OK ||
        (rc = need(r, 8 + 4, "the step and buffer counts")) != SO_OK)
        return rc;
    s->steps = get_uint(r, 8);
    s->num_buffers = (uint32_t)get_uint(r, 4);
    if (s->num_buffers > SO_OPTIM_MAX_BUFFERS)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: %u state buffers: at most %d expected",
                        (unsigned)s->num_buffers, SO_OPTIM_MAX_BUFFERS);
    for (uint32_t k = 0; k < s->num_buffers; k++)
        if ((rc = get_name(r, &s->buffer_name[k], "a buffer name")) != SO_OK)
            return rc;
    if (s->version >= SO_STATE_VERSION && (rc = parse_v2_sections(r, s)) != SO_OK)
        return rc;
    s->data_pos = r->pos;
    return SO_OK;
}

static int parse_state(reader *r, stored_state *s)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = need(r, sizeof so_state_magic_ + 4, "the magic and version")) != SO_OK)
        return rc;
    if (memcmp(r->in, so_state_magic_, sizeof so_state_magic_) != 0)
        return so_fail_(SO_ERR_FORMAT, "optimizer state: bytes 0-7 are not the magic "
                                       "\"SOOPTIM\": the data was not written by "
                                       "so_optimizer_save");
    r->pos = sizeof so_state_magic_;
    s->version = (uint32_t)get_uint(r, 4);
    if (s->version != SO_STATE_VERSION_1 && s->version != SO_STATE_VERSION)
        return so_fail_(SO_ERR_UNSUPPORTED,
                        "optimizer state: format version %u: this library reads versions 1 "
                        "and %d",
                        (unsigned)s->version, SO_STATE_VERSION);
    if ((rc = get_name(r, &s->method, "the method name")) != SO_OK ||
        (rc = need(r, 1 + 8, "the precision and n")) != SO_OK)
        return rc;
    s->elem_size = (unsigned)get_uint(r, 1);
    s->n = get_uint(r, 8);
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

/* Fails with SO_ERR_FORMAT if entry i of the list repeats an earlier name; item names
 * the kind of entry in the message. */
static int check_unique(const stored_list *list, uint32_t i, const char *item)
{
    for (uint32_t j = 0; j < i; j++)
        if (name_equal(&list->name[j], &list->name[i]))
            return so_fail_(SO_ERR_FORMAT, "optimizer state: %s %.*s appears twice", item,
                            (int)list->name[i].len, list->name[i].text);
    return SO_OK;
}

/* Builds the stored hyperparameters on top of the method's defaults, so that a field
 * added after the state was written takes its default. */
static int restore_hyperparams(const so_optimizer *opt, const stored_state *s,
                               so_optim_params *hp)
{
    int rc;
    *hp = so_optim_params_default(opt->type);
    for (uint32_t i = 0; i < s->hp.count; i++) {
        const stored_name *name = &s->hp.name[i];
        const so_optim_hp_field *field = so_optim_hp_lookup_(name->text, name->len);
        if (field == NULL)
            return so_fail_(SO_ERR_UNSUPPORTED,
                            "optimizer state: hyperparameter \"%.*s\" is unknown to this "
                            "library version",
                            (int)name->len, name->text);
        if ((rc = check_unique(&s->hp, i, "hyperparameter")) != SO_OK)
            return rc;
        double value = bits_to_double(s->hp.bits[i]);
        if ((rc = so_optim_hp_check_kind_(field, value, SO_ERR_FORMAT)) != SO_OK) {
            so_error_prefix_("optimizer state");
            return rc;
        }
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

/* Copies the stored scalar state into values after checking its names against the
 * method's. */
static int restore_scalars(const so_optimizer *opt, const stored_state *s,
                           const so_optim_params *hp, double values[SO_OPTIM_MAX_SCALARS],
                           size_t *count)
{
    const char *names[SO_OPTIM_MAX_SCALARS];
    *count = opt->type->scalars != NULL ? opt->type->scalars(hp, names, values) : 0;
    if (s->scalars.count != *count)
        return so_fail_(SO_ERR_FORMAT,
                        "optimizer state: %u scalar state values stored, but %s keeps %zu",
                        (unsigned)s->scalars.count, opt->type->name, *count);
    for (size_t k = 0; k < *count; k++) {
        if (!name_is(&s->scalars.name[k], names[k]))
            return so_fail_(SO_ERR_FORMAT, "optimizer state: scalar %zu is \"%.*s\", "
                                           "expected \"%s\"",
                            k, (int)s->scalars.name[k].len, s->scalars.name[k].text, names[k]);
        values[k] = bits_to_double(s->scalars.bits[k]);
    }
    return SO_OK;
}

static const so_optim_hp_field *schedule_field_named(const stored_name *name)
{
    for (size_t f = 0; f < so_schedule_field_count_(); f++)
        if (name_is(name, so_schedule_field_(f)->name))
            return so_schedule_field_(f);
    return NULL;
}

/* Rebuilds the stored schedule on top of its kind's defaults; *has is 0 when the state
 * has none. */
static int restore_schedule(const stored_state *s, int *has, so_schedule *schedule)
{
    char name[256];
    int rc;
    *has = s->schedule.len > 0;
    if (!*has)
        return SO_OK;
    memcpy(name, s->schedule.text, s->schedule.len);
    name[s->schedule.len] = '\0';
    const so_schedule_type *type = so_schedule_type_find(name);
    if (type == NULL || strcmp(so_schedule_type_name(type), name) != 0)
        return so_fail_(SO_ERR_UNSUPPORTED,
                        "optimizer state: schedule \"%s\" is unknown to this library version",
                        name);
    *schedule = so_schedule_default(type);
    for (uint32_t i = 0; i < s->schedule_fields.count; i++) {
        const stored_name *field_name = &s->schedule_fields.name[i];
        const so_optim_hp_field *field = schedule_field_named(field_name);
        if (field == NULL)
            return so_fail_(SO_ERR_UNSUPPORTED,
                            "optimizer state: schedule field \"%.*s\" is unknown to this "
                            "library version",
                            (int)field_name->len, field_name->text);
        if ((rc = check_unique(&s->schedule_fields, i, "schedule field")) != SO_OK)
            return rc;
        so_schedule_field_set_bits_(schedule, field, s->schedule_fields.bits[i]);
    }
    if (!(s->base_lr >= 0.0 && s->base_lr <= DBL_MAX) || s->schedule_start > s->steps)
        return so_fail_(SO_ERR_FORMAT,
                        "optimizer state: schedule lr0 = %g from step %llu: expected a finite "
                        "rate >= 0 and a step at most the step count %llu",
                        s->base_lr, (unsigned long long)s->schedule_start,
                        (unsigned long long)s->steps);
    if ((rc = so_schedule_validate(schedule)) != SO_OK)
        so_error_prefix_("optimizer state");
    return rc;
}

/* Reads and checks the stored groups into a new array; version 1 gives one group. */
static int restore_groups(const reader *r, const stored_state *s, size_t n,
                          so_optim_segment **segments, size_t *count)
{
    *count = s->version >= SO_STATE_VERSION ? (size_t)s->num_groups : 1;
    *segments = so_calloc_(*count, sizeof **segments);
    if (*segments == NULL)
        return SO_ERR_NOMEM;
    if (s->version < SO_STATE_VERSION) {
        (*segments)[0] = (so_optim_segment){0, n, 1.0, 1.0};
        return SO_OK;
    }
    reader g = {r->in, r->size, s->groups_pos};
    for (size_t k = 0; k < *count; k++) {
        so_optim_segment *seg = &(*segments)[k];
        uint64_t lo = get_uint(&g, 8), hi = get_uint(&g, 8);
        /* Values that do not fit size_t are out of range for any n, so SIZE_MAX replaces
         * them and the check below rejects them. */
        seg->lo = lo <= SIZE_MAX ? (size_t)lo : SIZE_MAX;
        seg->hi = hi <= SIZE_MAX ? (size_t)hi : SIZE_MAX;
        seg->lr_scale = bits_to_double(get_uint(&g, 8));
        seg->weight_decay_scale = bits_to_double(get_uint(&g, 8));
    }
    int rc = so_optim_segments_check_(*segments, *count, n, SO_ERR_FORMAT);
    if (rc != SO_OK) {
        so_error_prefix_("optimizer state");
        free(*segments);
        *segments = NULL;
    }
    return rc;
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

/* Everything a load replaces, checked and allocated before the optimizer changes. */
typedef struct restored_state {
    so_optim_params hp;
    size_t num_buffers, num_scalars, num_segments;
    double scalars[SO_OPTIM_MAX_SCALARS];
    int has_schedule;
    so_schedule schedule;
    so_optim_segment *segments;
} restored_state;

static int restore_all(const so_optimizer *opt, const reader *r, const stored_state *s,
                       restored_state *out)
{
    int rc;
    if ((rc = check_identity(opt, s)) != SO_OK ||
        (rc = restore_hyperparams(opt, s, &out->hp)) != SO_OK ||
        (rc = check_buffer_names(opt, s, &out->hp, &out->num_buffers)) != SO_OK ||
        (rc = restore_scalars(opt, s, &out->hp, out->scalars, &out->num_scalars)) != SO_OK ||
        (rc = restore_schedule(s, &out->has_schedule, &out->schedule)) != SO_OK)
        return rc;
    return restore_groups(r, s, opt->n, &out->segments, &out->num_segments);
}

int so_optimizer_load(so_optimizer *opt, const void *buf, size_t size)
{
    reader r = {buf, size, 0};
    stored_state s;
    restored_state next;
    void *fresh[SO_OPTIM_MAX_BUFFERS] = {NULL};
    void **target;
    int rc;

    if (opt == NULL || buf == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_load: %s is NULL",
                        opt == NULL ? "opt" : "buf");
    /* Every check runs before the optimizer is touched, so a failure changes nothing. */
    if ((rc = parse_state(&r, &s)) != SO_OK || (rc = check_size_and_checksum(&r, &s)) != SO_OK ||
        (rc = restore_all(opt, &r, &s, &next)) != SO_OK)
        return rc;
    /* The stored hyperparameters may need a different number of buffers (amsgrad, or
     * momentum for SGD); those are allocated before anything is replaced. */
    target = opt->buffers;
    if (next.num_buffers != opt->num_buffers) {
        if (so_optim_buffers_alloc_(opt->n, opt->precision, next.num_buffers, NULL, fresh) !=
            SO_OK) {
            free(next.segments);
            return SO_ERR_NOMEM;
        }
        target = fresh;
    }
    r.pos = s.data_pos;
    for (size_t k = 0; k < next.num_buffers; k++)
        get_buffer(&r, target[k], opt->n, opt->precision);
    if (target == fresh) {
        so_optim_buffers_free_(opt->buffers, opt->num_buffers);
        memcpy(opt->buffers, fresh, sizeof fresh);
        opt->num_buffers = next.num_buffers;
    }
    opt->hp = next.hp;
    opt->steps = s.steps;
    opt->num_scalars = next.num_scalars;
    memcpy(opt->scalars, next.scalars, sizeof opt->scalars);
    opt->has_schedule = next.has_schedule;
    opt->schedule = next.schedule;
    opt->base_lr = next.has_schedule ? s.base_lr : next.hp.lr;
    opt->schedule_start = next.has_schedule ? s.schedule_start : 0;
    free(opt->segments);
    opt->segments = next.segments;
    opt->num_segments = next.num_segments;
    return SO_OK;
}
