/* NPY writer: version 1.0 (2.0 when the header is longer than 65535 bytes), little endian,
 * C order, with the header padded so that the data starts at a multiple of 64 bytes as
 * numpy/lib/format.py does. The file appears under its name only once complete. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data_internal.h"

enum { NPY_ALIGN = 64, NPY_HEADER_MAX = 1024 };

static const char *descr_of(so_dtype dtype)
{
    switch (dtype) {
    case SO_DTYPE_U8: return "|u1";
    case SO_DTYPE_I8: return "|i1";
    case SO_DTYPE_BOOL: return "|b1";
    case SO_DTYPE_U16: return "<u2";
    case SO_DTYPE_I16: return "<i2";
    case SO_DTYPE_U32: return "<u4";
    case SO_DTYPE_I32: return "<i4";
    case SO_DTYPE_U64: return "<u8";
    case SO_DTYPE_I64: return "<i8";
    case SO_DTYPE_F32: return "<f4";
    case SO_DTYPE_F64: return "<f8";
    }
    return NULL;
}

/* Writes magic, version, header length and padded header into buf and returns the
 * length, or 0 when buf is too small. */
static size_t build_preamble(const so_array *a, unsigned char *buf, size_t cap)
{
    char shape[SO_ARRAY_MAX_DIMS * 24 + 8];
    char dict[NPY_HEADER_MAX];
    int dict_len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                            "'shape': %s, }", descr_of(a->dtype),
                            so_format_shape_(shape, sizeof shape, a->ndim, a->shape));
    size_t field = 2, total;

    /* Version 1.0 stores the header length in 2 bytes and 2.0 in 4. */
    total = 8 + field + (size_t)dict_len + 1;
    if (total > 65535 + 10) {
        field = 4;
        total = 8 + field + (size_t)dict_len + 1;
    }
    total = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    if (total > cap)
        return 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = field == 2 ? 1 : 2;
    buf[7] = 0;
    for (size_t i = 0; i < field; i++)
        buf[8 + i] = (unsigned char)((total - 8 - field) >> (8 * i));
    memcpy(buf + 8 + field, dict, (size_t)dict_len);
    memset(buf + 8 + field + dict_len, ' ', total - 8 - field - (size_t)dict_len);
    buf[total - 1] = '\n';
    return total;
}

static int write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the elements little-endian: as they are on a little-endian host, else swapped
 * a block at a time. */
static int write_data(int fd, const so_array *a)
{
    size_t elsize = so_dtype_size(a->dtype), bytes = a->size * elsize;
    unsigned char block[65536];

    if (so_host_is_little_() || elsize == 1)
        return write_all(fd, a->data, bytes);
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < sizeof block ? bytes - done : sizeof block;
        int err;
        memcpy(block, (const unsigned char *)a->data + done, n);
        so_swap_bytes_(block, n / elsize, elsize);
        err = write_all(fd, block, n);
        if (err != 0)
            return err;
        done += n;
    }
    return 0;
}

/* Creates a new file beside `path`, named path.tmp-<pid>-<k>, with O_EXCL so that two
 * writers never share one. Mode 0666 lets the umask decide, as for any new file. */
static int open_temp(const char *path, char *tmp, size_t cap, int *fd)
{
    for (int k = 0; k < 100; k++) {
        if ((size_t)snprintf(tmp, cap, "%s.tmp-%ld-%d", path, (long)getpid(), k) >= cap)
            return ENAMETOOLONG;
        *fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (*fd >= 0)
            return 0;
        if (errno != EEXIST)
            return errno;
    }
    return EEXIST;
}

/* Flushes the directory entry of the rename to disk. A failure here does not undo the
 * write, so it is ignored: some file systems do not support fsync on directories. */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd;

    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if ((size_t)(slash - path) + 2 > sizeof dir)
        return;
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int check_array(const so_array *a)
{
    size_t size, bytes;

    if (a == NULL || descr_of(a->dtype) == NULL || a->ndim < 0 || a->ndim > SO_ARRAY_MAX_DIMS)
        return so_fail_(SO_ERR_INVALID, "so_npy_write: expected an array with a known dtype "
                        "and 0 to %d dimensions", SO_ARRAY_MAX_DIMS);
    if (!so_shape_count_(a->ndim, a->shape, so_dtype_size(a->dtype), &size, &bytes) ||
        size != a->size)
        return so_fail_(SO_ERR_INVALID, "so_npy_write: the array's size %zu does not match "
                        "its shape", a->size);
    if (a->data == NULL && bytes > 0)
        return so_fail_(SO_ERR_INVALID, "so_npy_write: the array has no data");
    return SO_OK;
}

int so_npy_write(const char *path, const so_array *array)
{
    unsigned char preamble[NPY_HEADER_MAX + NPY_ALIGN];
    char tmp[4096], text[256];
    size_t preamble_len;
    int fd = -1, err, status = check_array(array);

    if (status != SO_OK)
        return status;
    if (path == NULL)
        return so_fail_(SO_ERR_INVALID, "so_npy_write: path is NULL");
    preamble_len = build_preamble(array, preamble, sizeof preamble);
    err = open_temp(path, tmp, sizeof tmp, &fd);
    if (err == 0)
        err = write_all(fd, preamble, preamble_len);
    if (err == 0)
        err = write_data(fd, array);
    if (err == 0 && fsync(fd) != 0)
        err = errno;
    if (fd >= 0 && close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0) {
        if (fd >= 0)
            unlink(tmp);
        if (strerror_r(err, text, sizeof text) != 0)
            snprintf(text, sizeof text, "error %d", err);
        return so_fail_(err == ENOENT ? SO_ERR_NOT_FOUND : SO_ERR_IO, "%s: writing the NPY "
                        "file failed: %s", path, text);
    }
    sync_parent(path);
    return SO_OK;
}
