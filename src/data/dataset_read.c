/* Reader options, format names and format dispatch. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/data_internal.h"

so_read_options so_read_options_default(void)
{
    so_read_options opt;

    memset(&opt, 0, sizeof opt);
    opt.zero_based = 0;
    opt.num_features = 0;
    opt.csv_header = -1;
    opt.label_column = -1;
    opt.csv_delimiter = ',';
    return opt;
}

int so_format_from_name(const char *name)
{
    static const struct { const char *name; so_format format; } names[] = {
        {"auto", SO_FORMAT_AUTO}, {"idx", SO_FORMAT_IDX},   {"libsvm", SO_FORMAT_LIBSVM},
        {"svmlight", SO_FORMAT_LIBSVM}, {"csv", SO_FORMAT_CSV}, {"npy", SO_FORMAT_NPY},
    };

    for (size_t i = 0; name != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0)
            return (int)names[i].format;
    so_fail_(SO_ERR_INVALID, "expected a format name (auto, idx, libsvm, svmlight, csv or "
             "npy), found '%s'", name != NULL ? name : "(null)");
    return -1;
}

/* Returns 1 when path ends in suffix, ignoring case. */
static int ends_with(const char *path, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && strncasecmp(path + len - n, suffix, n) == 0;
}

/* Picks the format from the extension, ignoring a final ".gz". A directory is IDX. */
static int detect_format(const char *path, so_format *format)
{
    size_t len = strlen(path);
    struct stat st;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        *format = SO_FORMAT_IDX;
        return SO_OK;
    }
    if (ends_with(path, len, ".gz"))
        len -= 3;
    if (ends_with(path, len, ".npy"))
        *format = SO_FORMAT_NPY;
    else if (ends_with(path, len, ".csv"))
        *format = SO_FORMAT_CSV;
    else if (ends_with(path, len, ".svm") || ends_with(path, len, ".libsvm") ||
             ends_with(path, len, ".txt"))
        *format = SO_FORMAT_LIBSVM;
    else if (ends_with(path, len, "-images-idx3-ubyte"))
        *format = SO_FORMAT_IDX;
    else
        return so_fail_(SO_ERR_UNSUPPORTED, "%s: cannot tell the format from the file name; "
                        "expected .npy, .csv, .svm, .libsvm, .txt, an IDX images file or a "
                        "directory, or name the format", path);
    return SO_OK;
}

/* Loads an IDX training set: from a directory, or from an images file whose labels file
 * has the same name with "images-idx3" replaced by "labels-idx1". */
static int read_idx(const char *path, so_dataset **out)
{
    char labels[4096];
    const char *mark = strstr(path, "images-idx3");
    struct stat st;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return so_idx_dir_read(path, out, NULL);
    if (mark == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: expected a directory or an IDX images file whose "
                        "name contains 'images-idx3'", path);
    if ((size_t)snprintf(labels, sizeof labels, "%.*slabels-idx1%s", (int)(mark - path), path,
                         mark + strlen("images-idx3")) >= sizeof labels)
        return so_fail_(SO_ERR_INVALID, "%s: path too long", path);
    return so_idx_dataset_read(path, labels, out);
}

int so_dataset_read(const char *path, so_format format, const so_read_options *opt,
                    so_dataset **out)
{
    int status;

    if (out == NULL || path == NULL)
        return so_fail_(SO_ERR_INVALID, "so_dataset_read: path and out must not be NULL");
    *out = NULL;
    if (format == SO_FORMAT_AUTO && (status = detect_format(path, &format)) != SO_OK)
        return status;
    switch (format) {
    case SO_FORMAT_IDX:
        return read_idx(path, out);
    case SO_FORMAT_LIBSVM:
        return so_libsvm_read(path, opt, out);
    case SO_FORMAT_CSV:
        return so_csv_read(path, opt, out);
    case SO_FORMAT_NPY:
        return so_npy_dataset_read(path, opt, out);
    case SO_FORMAT_AUTO:
        break;
    }
    return so_fail_(SO_ERR_INVALID, "so_dataset_read: unknown format %d", (int)format);
}
