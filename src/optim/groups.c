/* Parameter groups: runs of parameter indices with their own multipliers of the learning
 * rate and the weight decay, kept as sorted, contiguous segments that cover [0, n).
 * torch.optim expresses the same with one param_group per tensor and absolute rates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

static int multiplier_ok(double value)
{
    return value >= 0.0 && !isinf(value); /* false for NaN too */
}

int so_optim_segments_check_(const so_optim_segment *segments, size_t count, size_t n,
                             int status)
{
    size_t next = 0;
    for (size_t k = 0; k < count; k++) {
        const so_optim_segment *seg = &segments[k];
        if (seg->lo != next || seg->hi <= seg->lo || seg->hi > n)
            return so_fail_(status,
                            "group %zu covers [%zu, %zu): expected a non-empty range that "
                            "starts at %zu and ends at most at n = %zu",
                            k, seg->lo, seg->hi, next, n);
        if (!multiplier_ok(seg->lr_scale) || !multiplier_ok(seg->weight_decay_scale))
            return so_fail_(status,
                            "group %zu has lr_scale = %g and weight_decay_scale = %g: "
                            "expected finite values >= 0",
                            k, seg->lr_scale, seg->weight_decay_scale);
        next = seg->hi;
    }
    if (next != n)
        return so_fail_(status, "the groups cover [0, %zu): expected them to cover [0, %zu)",
                        next, n);
    return SO_OK;
}

static int same_multipliers(const so_optim_segment *a, const so_optim_segment *b)
{
    return a->lr_scale == b->lr_scale && a->weight_decay_scale == b->weight_decay_scale;
}

/* Appends seg to out[*count], merging it into the previous segment when they meet and
 * carry the same multipliers. */
static void append_segment(so_optim_segment *out, size_t *count, so_optim_segment seg)
{
    if (seg.lo >= seg.hi)
        return;
    if (*count > 0 && out[*count - 1].hi == seg.lo && same_multipliers(&out[*count - 1], &seg)) {
        out[*count - 1].hi = seg.hi;
        return;
    }
    out[(*count)++] = seg;
}

int so_optimizer_set_group(so_optimizer *opt, size_t lo, size_t hi, double lr_scale,
                           double weight_decay_scale)
{
    if (opt == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_set_group: opt is NULL");
    if (!(lo < hi && hi <= opt->n))
        return so_fail_(SO_ERR_INVALID,
                        "so_optimizer_set_group: range [%zu, %zu) is invalid: expected "
                        "lo < hi <= n = %zu",
                        lo, hi, opt->n);
    if (!multiplier_ok(lr_scale) || !multiplier_ok(weight_decay_scale))
        return so_fail_(SO_ERR_INVALID,
                        "so_optimizer_set_group: lr_scale = %g, weight_decay_scale = %g: "
                        "expected finite values >= 0 (1 keeps the optimizer's rate)",
                        lr_scale, weight_decay_scale);

    /* The new range can split one segment in two, so the result has at most two more. */
    so_optim_segment *out = so_calloc_(opt->num_segments + 2, sizeof *out);
    size_t count = 0;
    if (out == NULL)
        return SO_ERR_NOMEM;
    const so_optim_segment added = {lo, hi, lr_scale, weight_decay_scale};
    int placed = 0;
    for (size_t k = 0; k < opt->num_segments; k++) {
        so_optim_segment seg = opt->segments[k], before = seg, after = seg;
        before.hi = seg.hi < lo ? seg.hi : lo;
        after.lo = seg.lo > hi ? seg.lo : hi;
        append_segment(out, &count, before);
        if (!placed && seg.hi > lo) {
            append_segment(out, &count, added);
            placed = 1;
        }
        append_segment(out, &count, after);
    }
    free(opt->segments);
    opt->segments = out;
    opt->num_segments = count;
    return SO_OK;
}

int so_optimizer_group(const so_optimizer *opt, size_t index, double *lr_scale,
                       double *weight_decay_scale)
{
    if (opt == NULL || lr_scale == NULL || weight_decay_scale == NULL)
        return so_fail_(SO_ERR_INVALID, "so_optimizer_group: %s is NULL",
                        opt == NULL ? "opt" : "an output pointer");
    if (index >= opt->n)
        return so_fail_(SO_ERR_RANGE, "so_optimizer_group: index %zu is out of range: the "
                                      "optimizer has n = %zu parameters",
                        index, opt->n);
    size_t lo = 0, hi = opt->num_segments;
    /* Binary search for the segment whose [lo, hi) contains index. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (opt->segments[mid].lo <= index)
            lo = mid;
        else
            hi = mid;
    }
    *lr_scale = opt->segments[lo].lr_scale;
    *weight_decay_scale = opt->segments[lo].weight_decay_scale;
    return SO_OK;
}
