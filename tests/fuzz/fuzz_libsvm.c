/* libFuzzer harness for the LIBSVM reader, run with the default options and with
 * zero-based indices, then through the dataset operations. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_dataset_common.h"
#include "stochopt/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    so_read_options opt = so_read_options_default();
    so_dataset *ds = NULL;

    for (int pass = 0; pass < 2; pass++) {
        opt.zero_based = pass;
        opt.num_features = pass == 0 ? 0 : 3;
        if (so_libsvm_parse((const char *)data, size, "fuzz.svm", &opt, &ds) == SO_OK) {
            fuzz_dataset_operations(ds);
            so_dataset_free(&ds);
        }
    }
    return 0;
}
