/* Helpers shared by the data module's tests: temporary directories, files and checks of
 * the error detail. Include after cmocka.h, in a file that defines _POSIX_C_SOURCE as
 * 200809L before its first include. */
#ifndef SO_DATA_TEST_UTIL_H
#define SO_DATA_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stochopt/core.h"

/* Fails the test unless the last error detail contains `needle`, printing the detail. */
#define assert_error_contains(needle) check_error_contains_((needle), __FILE__, __LINE__)

static inline void check_error_contains_(const char *needle, const char *file, int line)
{
    if (strstr(so_last_error(), needle) == NULL) {
        print_error("error detail \"%s\" does not contain \"%s\"\n", so_last_error(), needle);
        _fail(file, line);
    }
}

/* Creates a fresh directory under $TMPDIR (or /tmp) and writes its path into dir. */
static inline void make_temp_dir(char *dir, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, cap, "%s/stochopt-data-XXXXXX", base != NULL ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

/* Writes bytes to dir/name and returns the full path in path. */
static inline void write_file(const char *dir, const char *name, const void *bytes,
                              size_t length, char *path, size_t cap)
{
    FILE *f;
    snprintf(path, cap, "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, length, f), length);
    assert_int_equal(fclose(f), 0);
}

/* Removes a directory made by make_temp_dir and the plain files in it. */
static inline void remove_temp_dir(const char *dir)
{
    char path[4096];
    struct dirent *entry;
    DIR *d = opendir(dir);

    if (d == NULL)
        return;
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

#endif
