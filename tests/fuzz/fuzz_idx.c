/* libFuzzer harness for the IDX parser (plain and gzip input). Reads every element of a
 * parsed array so that a wrong size shows up as an out-of-bounds read. */
#include <stddef.h>
#include <stdint.h>

#include "stochopt/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    so_array *a = NULL;
    volatile unsigned char sink = 0;

    if (so_idx_parse(data, size, "fuzz.idx", &a) == SO_OK) {
        const unsigned char *p = a->data;
        size_t bytes = a->size * so_dtype_size(a->dtype);
        for (size_t i = 0; i < bytes; i++)
            sink ^= p[i];
        so_array_free(&a);
    }
    (void)sink;
    return 0;
}
