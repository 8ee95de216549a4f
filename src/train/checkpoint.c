/* Checkpoint files: a little-endian binary record guarded by a CRC-32, written atomically.
 *
 * Layout: "SOCKPT\r\n" magic, u32 version, u32 header bytes, then the fields in the order
 * of so_checkpoint, then u32 CRC-32 (zlib) of everything before it. Integers are u64,
 * reals are IEEE-754 binary64 bit patterns, params are binary32 bit patterns. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/internal.h"
#include "stochopt/train.h"

static const char CKPT_MAGIC[8] = {'S', 'O', 'C', 'K', 'P', 'T', '\r', '\n'};
enum { CKPT_VERSION = 1, CKPT_RECORD_FIELDS = 11 };

/* ---- Growable byte buffer for serialization */

typedef struct bytes {
    unsigned char *data;
    size_t size, capacity;
    int failed;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->size + n > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 4096;
        while (cap < b->size + n)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->capacity = cap;
    }
    memcpy(b->data + b->size, src, n);
    b->size += n;
}

static void put_u64(bytes *b, uint64_t v)
{
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    put(b, le, 8);
}

static void put_u32(bytes *b, uint32_t v)
{
    unsigned char le[4];
    for (int i = 0; i < 4; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    put(b, le, 4);
}

static void put_f64(bytes *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    put_u64(b, bits);
}

static void put_i64(bytes *b, long v)
{
    put_u64(b, (uint64_t)(int64_t)v);
}

static void put_record(bytes *b, const so_epoch_record *r)
{
    put_i64(b, r->epoch);
    put_i64(b, r->step);
    put_i64(b, r->samples);
    put_f64(b, r->train_loss);
    put_f64(b, r->test_loss);
    put_f64(b, r->test_accuracy);
    put_f64(b, r->lr);
    put_u64(b, r->batch_size);
    put_f64(b, r->seconds);
    put_f64(b, r->samples_per_second);
    put_i64(b, r->skipped_steps);
}

static int serialize(const so_checkpoint *c, bytes *b)
{
    size_t spec_len = strnlen(c->model_spec, sizeof c->model_spec);
    size_t optim_len = strnlen(c->optim_name, sizeof c->optim_name);

    put(b, CKPT_MAGIC, sizeof CKPT_MAGIC);
    put_u32(b, CKPT_VERSION);
    put_u64(b, spec_len);
    put(b, c->model_spec, spec_len);
    put_u64(b, optim_len);
    put(b, c->optim_name, optim_len);
    put_u64(b, c->in_dim);
    put_u64(b, c->out_dim);
    put_u64(b, c->seed);
    put_u64(b, c->batch_size);
    put_i64(b, c->epochs_done);
    put_i64(b, c->step);
    put_i64(b, c->samples);
    put_i64(b, c->skipped_steps);
    put_f64(b, c->seconds);
    put_u64(b, c->num_params);
    for (size_t i = 0; i < c->num_params; i++) {
        uint32_t bits;
        memcpy(&bits, &c->params[i], 4);
        put_u32(b, bits);
    }
    put_u64(b, c->optim_state_size);
    put(b, c->optim_state, c->optim_state_size);
    for (long e = 0; e < c->epochs_done; e++)
        put_record(b, &c->history[e]);
    if (b->failed)
        return so_fail_(SO_ERR_NOMEM, "out of memory serializing a checkpoint");
    uint32_t crc = (uint32_t)crc32(0L, b->data, (uInt)b->size);
    put_u32(b, crc);
    return b->failed ? so_fail_(SO_ERR_NOMEM, "out of memory serializing a checkpoint") : SO_OK;
}

/* Writes all of buf to fd, retrying short writes and EINTR. */
static int write_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Flushes the directory entry of path so the rename itself survives a power loss. */
static void sync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int so_checkpoint_write(const char *path, const so_checkpoint *ckpt)
{
    bytes b = {0};
    char *tmp = NULL;
    int fd = -1, status;

    if (path == NULL || ckpt == NULL)
        return so_fail_(SO_ERR_INVALID, "checkpoint: path and checkpoint must not be NULL");
    if (ckpt->epochs_done < 0 || (ckpt->epochs_done > 0 && ckpt->history == NULL))
        return so_fail_(SO_ERR_INVALID, "checkpoint: history missing for %ld epochs",
                        ckpt->epochs_done);
    status = serialize(ckpt, &b);
    if (status != SO_OK)
        goto done;

    /* Write a temporary file beside the target, flush it, then rename over the target:
     * rename is atomic within a file system, so readers see the old or the new file. */
    tmp = malloc(strlen(path) + 16);
    if (tmp == NULL) {
        status = so_fail_(SO_ERR_NOMEM, "out of memory writing checkpoint %s", path);
        goto done;
    }
    sprintf(tmp, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        status = so_fail_(SO_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                          strerror(errno));
        goto done;
    }
    /* mkstemp creates the file with mode 0600; give it the mode a plain fopen would. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    if (write_all(fd, b.data, b.size) != 0 || fsync(fd) != 0) {
        status = so_fail_(SO_ERR_IO, "%s: writing the checkpoint failed: %s", tmp,
                          strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        status = so_fail_(SO_ERR_IO, "%s: closing the checkpoint failed: %s", tmp,
                          strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        status = so_fail_(SO_ERR_IO, "%s: cannot rename %s over it: %s", path, tmp,
                          strerror(errno));
        goto done;
    }
    sync_parent_dir(path);
    free(tmp);
    tmp = NULL;
    status = SO_OK;
done:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    free(b.data);
    return status;
}

/* ---- Reading with bounds checks; every failure names the path and byte offset. */

typedef struct reader {
    const unsigned char *data;
    size_t size, pos;
    const char *path;
    int failed;
} reader;

static int take(reader *r, void *dst, size_t n, const char *field)
{
    if (r->failed)
        return -1;
    if (n > r->size - r->pos) {
        so_fail_(SO_ERR_FORMAT, "%s: byte %zu: expected %zu bytes of %s, found %zu; the "
                 "checkpoint is truncated", r->path, r->pos, n, field, r->size - r->pos);
        r->failed = 1;
        return -1;
    }
    memcpy(dst, r->data + r->pos, n);
    r->pos += n;
    return 0;
}

static uint64_t take_u64(reader *r, const char *field)
{
    unsigned char le[8] = {0};
    uint64_t v = 0;
    take(r, le, 8, field);
    for (int i = 7; i >= 0; i--)
        v = v << 8 | le[i];
    return v;
}

static uint32_t take_u32(reader *r, const char *field)
{
    unsigned char le[4] = {0};
    take(r, le, 4, field);
    return (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 |
           (uint32_t)le[3] << 24;
}

static double take_f64(reader *r, const char *field)
{
    uint64_t bits = take_u64(r, field);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

static long take_i64(reader *r, const char *field)
{
    return (long)(int64_t)take_u64(r, field);
}

static void take_record(reader *r, so_epoch_record *e)
{
    e->epoch = take_i64(r, "epoch");
    e->step = take_i64(r, "step");
    e->samples = take_i64(r, "samples");
    e->train_loss = take_f64(r, "train loss");
    e->test_loss = take_f64(r, "test loss");
    e->test_accuracy = take_f64(r, "test accuracy");
    e->lr = take_f64(r, "learning rate");
    e->batch_size = (size_t)take_u64(r, "batch size");
    e->seconds = take_f64(r, "seconds");
    e->samples_per_second = take_f64(r, "samples per second");
    e->skipped_steps = take_i64(r, "skipped steps");
}

static int read_file(const char *path, unsigned char **data, size_t *size)
{
    struct stat st;
    FILE *f;
    long len;

    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return so_fail_(SO_ERR_INVALID, "%s: expected a checkpoint file, found %s", path,
                        S_ISDIR(st.st_mode) ? "a directory" : "a special file");
    f = fopen(path, "rb");
    if (f == NULL)
        return so_fail_(errno == ENOENT ? SO_ERR_NOT_FOUND : SO_ERR_IO,
                        "%s: cannot open checkpoint: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return so_fail_(SO_ERR_IO, "%s: cannot determine the checkpoint size", path);
    }
    *data = malloc(len > 0 ? (size_t)len : 1);
    if (*data == NULL) {
        fclose(f);
        return so_fail_(SO_ERR_NOMEM, "%s: out of memory reading %ld bytes", path, len);
    }
    if (fread(*data, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(*data);
        *data = NULL;
        return so_fail_(SO_ERR_IO, "%s: reading the checkpoint failed", path);
    }
    fclose(f);
    *size = (size_t)len;
    return SO_OK;
}

static int check_envelope(reader *r)
{
    const size_t min_size = sizeof CKPT_MAGIC + 4 + 4;

    if (r->size < min_size || memcmp(r->data, CKPT_MAGIC, sizeof CKPT_MAGIC) != 0)
        return so_fail_(SO_ERR_FORMAT, "%s: byte 0: expected the stochopt checkpoint magic "
                        "\"SOCKPT\", found something else; is this a checkpoint file?",
                        r->path);
    uint32_t stored = (uint32_t)r->data[r->size - 4] | (uint32_t)r->data[r->size - 3] << 8 |
             (uint32_t)r->data[r->size - 2] << 16 | (uint32_t)r->data[r->size - 1] << 24;
    uint32_t crc = (uint32_t)crc32(0L, r->data, (uInt)(r->size - 4));
    if (crc != stored)
        return so_fail_(SO_ERR_FORMAT, "%s: CRC-32 mismatch (stored %08x, computed %08x); "
                        "the checkpoint is corrupt or truncated", r->path, stored, crc);
    r->size -= 4;
    r->pos = sizeof CKPT_MAGIC;
    uint32_t version = take_u32(r, "version");
    if (version != CKPT_VERSION)
        return so_fail_(SO_ERR_UNSUPPORTED, "%s: byte 8: checkpoint version %u, expected %d",
                        r->path, version, CKPT_VERSION);
    return SO_OK;
}

/* Range checks of the decoded fields. The CRC only proves that the bytes are the ones
 * written, so values that no training run can produce are rejected here. */
static int validate(const char *path, const so_checkpoint *c)
{
    const long max_count = (long)1 << 52;

    if (c->batch_size == 0 || c->batch_size > (size_t)1 << 24)
        return so_fail_(SO_ERR_FORMAT, "%s: batch size %zu is outside [1, 16777216]", path,
                        c->batch_size);
    if (c->step < 0 || c->step > max_count || c->samples < 0 || c->samples > max_count ||
        c->skipped_steps < 0 || c->skipped_steps > max_count)
        return so_fail_(SO_ERR_FORMAT, "%s: step, sample or skipped-step count out of range "
                        "(%ld, %ld, %ld)", path, c->step, c->samples, c->skipped_steps);
    if (!(c->seconds >= 0.0) || isinf(c->seconds))
        return so_fail_(SO_ERR_FORMAT, "%s: training time %g s is not a finite non-negative "
                        "number", path, c->seconds);
    for (size_t i = 0; i < c->num_params; i++)
        if (!isfinite(c->params[i]))
            return so_fail_(SO_ERR_NONFINITE, "%s: parameter %zu is %g; the checkpoint holds "
                            "a diverged model", path, i, (double)c->params[i]);
    for (long e = 0; e < c->epochs_done; e++) {
        const so_epoch_record *h = &c->history[e];
        if (h->epoch != e + 1 || h->step < 0 || h->step > max_count || h->samples < 0 ||
            h->samples > max_count || !isfinite(h->lr) || !isfinite(h->seconds))
            return so_fail_(SO_ERR_FORMAT, "%s: history record %ld is inconsistent", path,
                            e + 1);
    }
    return SO_OK;
}

static int parse(reader *r, so_checkpoint *c)
{
    uint64_t spec_len = take_u64(r, "model spec length");
    if (!r->failed && spec_len >= sizeof c->model_spec)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: model spec of %llu bytes, expected "
                        "fewer than %zu", r->path, r->pos - 8, (unsigned long long)spec_len,
                        sizeof c->model_spec);
    take(r, c->model_spec, (size_t)spec_len, "model spec");
    uint64_t optim_len = take_u64(r, "optimizer name length");
    if (!r->failed && optim_len >= sizeof c->optim_name)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: optimizer name of %llu bytes, expected "
                        "fewer than %zu", r->path, r->pos - 8, (unsigned long long)optim_len,
                        sizeof c->optim_name);
    take(r, c->optim_name, (size_t)optim_len, "optimizer name");
    c->in_dim = (size_t)take_u64(r, "input dimension");
    c->out_dim = (size_t)take_u64(r, "output dimension");
    c->seed = take_u64(r, "seed");
    c->batch_size = (size_t)take_u64(r, "batch size");
    c->epochs_done = take_i64(r, "epoch count");
    c->step = take_i64(r, "step count");
    c->samples = take_i64(r, "sample count");
    c->skipped_steps = take_i64(r, "skipped step count");
    c->seconds = take_f64(r, "seconds");
    c->num_params = (size_t)take_u64(r, "parameter count");
    if (r->failed)
        return SO_ERR_FORMAT;
    /* Sizes are checked against the bytes left before anything is allocated. */
    if (c->num_params > (r->size - r->pos) / 4)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: %zu parameters do not fit in the %zu "
                        "bytes left", r->path, r->pos, c->num_params, r->size - r->pos);
    c->params = so_calloc_(c->num_params, sizeof *c->params);
    if (c->params == NULL)
        return SO_ERR_NOMEM;
    for (size_t i = 0; i < c->num_params; i++) {
        uint32_t bits = take_u32(r, "parameters");
        memcpy(&c->params[i], &bits, 4);
    }
    c->optim_state_size = (size_t)take_u64(r, "optimizer state size");
    if (r->failed)
        return SO_ERR_FORMAT;
    if (c->optim_state_size > r->size - r->pos)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: optimizer state of %zu bytes, only %zu "
                        "left", r->path, r->pos, c->optim_state_size, r->size - r->pos);
    c->optim_state = so_calloc_(c->optim_state_size, 1);
    if (c->optim_state == NULL)
        return SO_ERR_NOMEM;
    take(r, c->optim_state, c->optim_state_size, "optimizer state");
    if (c->epochs_done < 0 ||
        (uint64_t)c->epochs_done > (r->size - r->pos) / (8 * CKPT_RECORD_FIELDS))
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: epoch count %ld does not match the %zu "
                        "bytes of history left", r->path, r->pos, c->epochs_done,
                        r->size - r->pos);
    c->history = so_calloc_((size_t)c->epochs_done, sizeof *c->history);
    if (c->history == NULL)
        return SO_ERR_NOMEM;
    for (long e = 0; e < c->epochs_done; e++)
        take_record(r, &c->history[e]);
    if (r->failed)
        return SO_ERR_FORMAT;
    if (r->pos != r->size)
        return so_fail_(SO_ERR_FORMAT, "%s: byte %zu: %zu unexpected trailing bytes", r->path,
                        r->pos, r->size - r->pos);
    return validate(r->path, c);
}

int so_checkpoint_parse(const void *image, size_t length, const char *name,
                        so_checkpoint *ckpt)
{
    int status;

    if (ckpt == NULL || (image == NULL && length > 0))
        return so_fail_(SO_ERR_INVALID, "checkpoint: image and checkpoint must not be NULL");
    memset(ckpt, 0, sizeof *ckpt);
    reader r = {image, length, 0, name != NULL ? name : "checkpoint", 0};
    status = check_envelope(&r);
    if (status == SO_OK)
        status = parse(&r, ckpt);
    if (status != SO_OK)
        so_checkpoint_clear(ckpt);
    return status;
}

int so_checkpoint_read(const char *path, so_checkpoint *ckpt)
{
    unsigned char *data = NULL;
    size_t size = 0;
    int status;

    if (path == NULL || ckpt == NULL)
        return so_fail_(SO_ERR_INVALID, "checkpoint: path and checkpoint must not be NULL");
    memset(ckpt, 0, sizeof *ckpt);
    status = read_file(path, &data, &size);
    if (status != SO_OK)
        return status;
    status = so_checkpoint_parse(data, size, path, ckpt);
    free(data);
    return status;
}

void so_checkpoint_clear(so_checkpoint *ckpt)
{
    if (ckpt == NULL)
        return;
    free(ckpt->params);
    free(ckpt->optim_state);
    free(ckpt->history);
    memset(ckpt, 0, sizeof *ckpt);
}
