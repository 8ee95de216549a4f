/* libFuzzer harness for the checkpoint parser and the optimizer state loader inside it.
 * Both formats end in a CRC-32 of the bytes before it, which random mutations almost never
 * match. The harness therefore recomputes the trailing CRC of the input and of the
 * embedded optimizer state before parsing, so the mutations reach the field checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "stochopt/stochopt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void seal(unsigned char *bytes, size_t size)
{
    if (size < 4)
        return;
    uint32_t crc = (uint32_t)crc32(0L, bytes, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        bytes[size - 4 + (size_t)i] = (unsigned char)(crc >> (8 * i));
}

static void load_optimizer_state(so_checkpoint *ck)
{
    const so_optim_type *type = so_optim_type_find(ck->optim_name);
    so_optimizer *opt = NULL;

    if (type == NULL || ck->num_params == 0 || ck->num_params > 4096)
        return;
    if (so_optimizer_new(type, ck->num_params, SO_F32, NULL, &opt) != SO_OK)
        return;
    seal(ck->optim_state, ck->optim_state_size);
    so_optimizer_load(opt, ck->optim_state, ck->optim_state_size);
    so_optimizer_free(&opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = malloc(size > 0 ? size : 1);
    so_checkpoint ck;
    volatile float sink = 0;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    seal(copy, size);
    if (so_checkpoint_parse(copy, size, "fuzz.ckpt", &ck) == SO_OK) {
        for (size_t i = 0; i < ck.num_params; i++)
            sink += ck.params[i];
        for (long e = 0; e < ck.epochs_done; e++)
            sink += (float)ck.history[e].train_loss;
        load_optimizer_state(&ck);
        so_checkpoint_clear(&ck);
    }
    (void)sink;
    free(copy);
    return 0;
}
