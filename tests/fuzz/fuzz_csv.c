/* libFuzzer harness for the CSV reader, run with the default options and with a forced
 * header, the first column as label and ';' as delimiter, then through the dataset
 * operations. */
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
        if (pass == 1) {
            opt.csv_header = 1;
            opt.label_column = 0;
            opt.csv_delimiter = ';';
        }
        if (so_csv_parse((const char *)data, size, "fuzz.csv", &opt, &ds) == SO_OK) {
            fuzz_dataset_operations(ds);
            so_dataset_free(&ds);
        }
    }
    return 0;
}
