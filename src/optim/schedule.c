/* Learning-rate schedules: one descriptor per kind with the rate as a closed form in the
 * step t, and the linear warm-up that can precede any of them (formulas in
 * include/stochopt/optim.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "optim/optim_internal.h"

struct so_schedule_type {
    const char *name;
    /* Multiplier of lr0 at step t >= 0 after the warm-up; eta_min enters separately. */
    double (*rate)(const so_schedule *s, double lr0, uint64_t t);
    /* Set when the kind reads step_size, gamma or t_max, for validation. */
    int uses_step_size, uses_gamma, uses_t_max;
};

static double constant_rate(const so_schedule *s, double lr0, uint64_t t)
{
    (void)s;
    (void)t;
    return lr0;
}

static double step_rate(const so_schedule *s, double lr0, uint64_t t)
{
    return lr0 * pow(s->gamma, (double)(t / s->step_size));
}

static double exponential_rate(const so_schedule *s, double lr0, uint64_t t)
{
    return lr0 * pow(s->gamma, (double)t);
}

/* The annealing of Loshchilov and Hutter (SGDR, ICLR 2017) without restarts. It is
 * evaluated directly, so rounding does not accumulate, and its only divisor is t_max >= 1.
 * torch's recursive form (CosineAnnealingLR.get_lr, 1.13) divides by
 * 1 + cos(pi (t - 1) / t_max) and must special-case t = t_max + 1, where that is 0. The
 * cosine is periodic, so the rate climbs back to lr0 at t = 2 t_max, and t mod 2 t_max
 * keeps the argument of cos small. */
static double cosine_rate(const so_schedule *s, double lr0, uint64_t t)
{
    const double pi = 3.14159265358979323846;
    uint64_t phase = t % (2 * s->t_max);
    return s->eta_min +
           (lr0 - s->eta_min) * (1.0 + cos(pi * (double)phase / (double)s->t_max)) / 2.0;
}

static double inv_sqrt_rate(const so_schedule *s, double lr0, uint64_t t)
{
    (void)s;
    return lr0 / sqrt((double)t + 1.0);
}

/* Liu and Zhou (2023), step s = t + 1 of T: eta (T - s + 1) / T^(3/2), and 0 once the
 * horizon has passed. */
static double last_iterate_rate(const so_schedule *s, double lr0, uint64_t t)
{
    const double horizon = (double)s->t_max;
    if (t >= s->t_max)
        return 0.0;
    return lr0 * (double)(s->t_max - t) / (horizon * sqrt(horizon));
}

static const struct so_schedule_type schedule_types[] = {
    {"constant", constant_rate, 0, 0, 0},  {"step", step_rate, 1, 1, 0},
    {"exponential", exponential_rate, 0, 1, 0}, {"cosine", cosine_rate, 0, 0, 1},
    {"inv_sqrt", inv_sqrt_rate, 0, 0, 0},  {"last_iterate", last_iterate_rate, 0, 0, 1},
};

enum { SCHEDULE_COUNT = sizeof schedule_types / sizeof schedule_types[0] };

const so_schedule_type *const so_schedule_constant = &schedule_types[0];
const so_schedule_type *const so_schedule_step = &schedule_types[1];
const so_schedule_type *const so_schedule_exponential = &schedule_types[2];
const so_schedule_type *const so_schedule_cosine = &schedule_types[3];
const so_schedule_type *const so_schedule_inv_sqrt = &schedule_types[4];
const so_schedule_type *const so_schedule_last_iterate = &schedule_types[5];

/* ASCII case-insensitive equality, so that "Cosine" finds cosine whatever the locale. */
static int name_equal(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

const so_schedule_type *so_schedule_type_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < SCHEDULE_COUNT; i++)
        if (name_equal(schedule_types[i].name, name))
            return &schedule_types[i];
    return NULL;
}

const char *so_schedule_type_name(const so_schedule_type *type)
{
    return type != NULL ? type->name : "(none)";
}

void so_schedule_type_list(char *buf, size_t size)
{
    size_t used = 0;
    if (buf == NULL || size == 0)
        return;
    buf[0] = '\0';
    /* Only whole names are written; a short buffer ends the list early. */
    for (size_t i = 0; i < SCHEDULE_COUNT; i++) {
        size_t len = strlen(schedule_types[i].name);
        if (used + len + (i > 0) >= size)
            return;
        if (i > 0)
            buf[used++] = ',';
        memcpy(buf + used, schedule_types[i].name, len + 1);
        used += len;
    }
}

so_schedule so_schedule_default(const so_schedule_type *type)
{
    so_schedule s;
    memset(&s, 0, sizeof s);
    s.type = type != NULL ? type : so_schedule_constant;
    s.step_size = 1;
    s.t_max = 1;
    /* torch.optim.lr_scheduler.StepLR 1.13 defaults to gamma 0.1; ExponentialLR has no
     * default, and 0.99 is this library's choice. */
    s.gamma = s.type == so_schedule_exponential ? 0.99 : 0.1;
    return s;
}

static int known_type(const so_schedule_type *type)
{
    for (size_t i = 0; i < SCHEDULE_COUNT; i++)
        if (type == &schedule_types[i])
            return 1;
    return 0;
}

int so_schedule_validate(const so_schedule *s)
{
    if (s == NULL)
        return so_fail_(SO_ERR_INVALID, "schedule is NULL");
    if (!known_type(s->type))
        return so_fail_(SO_ERR_INVALID, "schedule: type is not a schedule descriptor: use "
                                        "so_schedule_cosine, ... or so_schedule_type_find");
    const char *name = s->type->name;
    if (s->type->uses_step_size && s->step_size == 0)
        return so_fail_(SO_ERR_INVALID, "%s schedule: step_size = 0 is invalid: expected the "
                                        "number of steps between decays, >= 1", name);
    if (s->type->uses_gamma && !(s->gamma > 0.0 && !isinf(s->gamma)))
        return so_fail_(SO_ERR_INVALID, "%s schedule: gamma = %g is invalid: expected a "
                                        "finite decay factor > 0, such as 0.1", name, s->gamma);
    /* 2 t_max must not overflow, because the cosine reduces t modulo 2 t_max. */
    if (s->type->uses_t_max && (s->t_max == 0 || s->t_max > UINT64_MAX / 2))
        return so_fail_(SO_ERR_INVALID, "%s schedule: t_max = %llu is invalid: expected a "
                                        "number of steps from 1 to 2^63 - 1",
                        name, (unsigned long long)s->t_max);
    if (s->type == so_schedule_cosine && !(s->eta_min >= 0.0 && !isinf(s->eta_min)))
        return so_fail_(SO_ERR_INVALID, "cosine schedule: eta_min = %g is invalid: expected a "
                                        "finite learning rate >= 0", s->eta_min);
    if (!(s->warmup_start_factor >= 0.0 && s->warmup_start_factor <= 1.0))
        return so_fail_(SO_ERR_INVALID, "%s schedule: warmup_start_factor = %g is invalid: "
                                        "expected a multiplier in [0, 1]",
                        name, s->warmup_start_factor);
    return SO_OK;
}

double so_schedule_lr(const so_schedule *schedule, double lr0, uint64_t t)
{
    if (so_schedule_validate(schedule) != SO_OK)
        return NAN;
    const uint64_t warmup = schedule->warmup_steps;
    if (t < warmup) {
        const double f = schedule->warmup_start_factor;
        return lr0 * (f + (1.0 - f) * (double)t / (double)warmup);
    }
    return schedule->type->rate(schedule, lr0, t - warmup);
}
