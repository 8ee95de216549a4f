/* Reading whole files into memory, with transparent gzip decompression. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_internal.h"

static int fail_errno(const char *path, const char *action, int err)
{
    char text[256];

    if (strerror_r(err, text, sizeof text) != 0)
        snprintf(text, sizeof text, "error %d", err);
    if (err == ENOENT)
        return so_fail_(SO_ERR_NOT_FOUND, "%s: file not found", path);
    return so_fail_(SO_ERR_IO, "%s: %s failed: %s", path, action, text);
}

/* Reads until the end of the file. The buffer starts at the file's size, so a regular file
 * takes one read. Pipes and files that grow meanwhile make the buffer double. */
static int read_stream(FILE *f, const char *path, size_t hint, unsigned char **bytes,
                       size_t *length)
{
    size_t cap = hint + 1, used = 0;
    unsigned char *buf = malloc(cap);

    if (buf == NULL)
        return so_fail_(SO_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, hint);
    for (;;) {
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (used < cap) {
            if (ferror(f)) {
                free(buf);
                return fail_errno(path, "read", errno);
            }
            break;
        }
        if (cap > SIZE_MAX / 2) {
            free(buf);
            return so_fail_(SO_ERR_NOMEM, "%s: file too large to read into memory", path);
        }
        unsigned char *grown = realloc(buf, cap * 2);
        if (grown == NULL) {
            free(buf);
            return so_fail_(SO_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap * 2);
        }
        buf = grown;
        cap *= 2;
    }
    *bytes = buf;
    *length = used;
    return SO_OK;
}

int so_read_file_(const char *path, unsigned char **bytes, size_t *length)
{
    struct stat st;
    FILE *f;
    int status;

    *bytes = NULL;
    *length = 0;
    if (path == NULL)
        return so_fail_(SO_ERR_INVALID, "file path is NULL");
    f = fopen(path, "rb");
    if (f == NULL)
        return fail_errno(path, "open", errno);
    if (fstat(fileno(f), &st) != 0) {
        status = fail_errno(path, "stat", errno);
        fclose(f);
        return status;
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return so_fail_(SO_ERR_INVALID, "%s: expected a file, found a directory", path);
    }
    status = read_stream(f, path, S_ISREG(st.st_mode) ? (size_t)st.st_size : 4096, bytes,
                         length);
    fclose(f);
    return status;
}

int so_load_file_(const char *path, unsigned char **bytes, size_t *length)
{
    unsigned char *raw, *plain;
    size_t raw_length, plain_length;
    int status = so_read_file_(path, &raw, &raw_length);

    if (status != SO_OK)
        return status;
    if (!so_is_gzip_(raw, raw_length)) {
        *bytes = raw;
        *length = raw_length;
        return SO_OK;
    }
    status = so_gunzip_(raw, raw_length, path, &plain, &plain_length);
    free(raw);
    if (status != SO_OK)
        return status;
    *bytes = plain;
    *length = plain_length;
    return SO_OK;
}
