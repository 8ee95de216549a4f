/* The byte layout of a saved optimizer state, shared by state_save.c and state_load.c.
 *
 * Layout of version 2 (integers unsigned, little endian; reals are IEEE 754 binary64;
 * a name is a u8 length L followed by L bytes without terminator):
 *   8 bytes  magic "SOOPTIM" followed by a zero byte
 *   u32      format version, 2
 *   name     method
 *   u8       bytes per element: 4 for float32, 8 for float64
 *   u64      n, the number of parameters
 *   u32      H, then H hyperparameters, each a name and a binary64 value
 *   u64      completed steps
 *   u32      B, then B buffer names (torch.optim's state keys)
 *   u32      S, then S scalar state values, each a name and a binary64 value
 *   name     schedule, empty when none; when not empty it is followed by
 *            binary64 lr0, u64 the step count when the schedule was attached, and
 *            u32 F, then F schedule fields, each a name and 8 bytes: a binary64 for
 *            real fields, a u64 for step counts
 *   u64      G, then G parameter groups, each u64 lo, u64 hi, binary64 lr_scale and
 *            binary64 weight_decay_scale
 *   B * n    buffer elements, buffer after buffer, in the optimizer's precision
 *   u32      CRC-32 (zlib) of every byte before it
 * Version 1 has no S, schedule and G sections; loading it gives no scalars, no schedule
 * and one group with multipliers 1. Reals are stored bit for bit, so a restored optimizer
 * continues exactly. */
#ifndef STOCHOPT_OPTIM_STATE_FORMAT_H
#define STOCHOPT_OPTIM_STATE_FORMAT_H

#include <stdint.h>

static const uint8_t so_state_magic_[8] = {'S', 'O', 'O', 'P', 'T', 'I', 'M', 0};

enum {
    SO_STATE_VERSION_1 = 1,
    SO_STATE_VERSION = 2,
    SO_STATE_GROUP_BYTES = 32 /* lo, hi, lr_scale, weight_decay_scale */
};

#endif
