/* The scaling pass of Sinkhorn's scaling form: the AVX2 and baseline versions give the
 * same bits, both match a plain row-at-a-time computation in the documented order, and
 * splitting the rows between calls changes nothing. Rows and columns cover every
 * remainder of the blocks of rows and of the four lanes. On processors without AVX2 the
 * comparison of the two versions is skipped. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ot/ot_internal.h"

enum { MAX_ROWS = 40, MAX_COLS = 70 };

/* A positive value of varied magnitude from a small integer hash. */
static double varied(uint32_t i, uint32_t salt)
{
    uint32_t h = (i + 1) * 2654435761u ^ salt * 2246822519u;
    h ^= h >> 15;
    const double magnitudes[5] = {1e-200, 1e-30, 1e-3, 1.0, 1e40};
    return magnitudes[(h >> 1) % 5] * (1.0 + (double)((h >> 8) % 1000) / 1000.0);
}

typedef struct data {
    double K[MAX_ROWS * MAX_COLS], v[MAX_COLS], mass[MAX_ROWS];
} data;

typedef struct output {
    double u[MAX_ROWS], kv[MAX_ROWS], acc[MAX_COLS];
} output;

static void fill(data *d, size_t rows, size_t m)
{
    for (size_t k = 0; k < rows * m; k++)
        d->K[k] = varied((uint32_t)k, 1);
    for (size_t j = 0; j < m; j++)
        d->v[j] = varied((uint32_t)j, 2);
    for (size_t i = 0; i < rows; i++)
        d->mass[i] = varied((uint32_t)i, 3);
}

typedef void (*pass_fn)(const double *, const double *, const double *, size_t, size_t,
                        double *, double *, double *);

/* Runs the pass from acc = 1, splitting the rows at `split`. */
static void run(pass_fn pass, const data *d, size_t rows, size_t m, size_t split,
                output *out)
{
    memset(out, 0, sizeof *out);
    for (size_t j = 0; j < m; j++)
        out->acc[j] = 1.0;
    pass(d->K, d->v, d->mass, split, m, out->u, out->kv, out->acc);
    pass(d->K + split * m, d->v, d->mass + split, rows - split, m, out->u + split,
         out->kv + split, out->acc);
}

/* The documented order, one row at a time. */
static void reference(const data *d, size_t rows, size_t m, output *out)
{
    memset(out, 0, sizeof *out);
    for (size_t j = 0; j < m; j++)
        out->acc[j] = 1.0;
    for (size_t i = 0; i < rows; i++) {
        const double *k = d->K + i * m;
        double lane[4] = {0.0, 0.0, 0.0, 0.0};
        for (size_t j = 0; j < m; j++)
            lane[j % 4] += k[j] * d->v[j];
        out->kv[i] = (lane[0] + lane[1]) + (lane[2] + lane[3]);
        out->u[i] = d->mass[i] / out->kv[i];
        for (size_t j = 0; j < m; j++)
            out->acc[j] += out->u[i] * k[j];
    }
}

static void assert_same(const output *x, const output *y, const char *what, size_t rows,
                        size_t m, size_t split)
{
    if (memcmp(x->u, y->u, rows * sizeof(double)) != 0 ||
        memcmp(x->kv, y->kv, rows * sizeof(double)) != 0 ||
        memcmp(x->acc, y->acc, m * sizeof(double)) != 0)
        fail_msg("%s: bits differ for %zu rows, %zu columns, split at %zu", what, rows, m,
                 split);
}

static void versions_match_reference(void **state)
{
    (void)state;
    static data d;
    static output ref, base, avx2;
    int have_avx2 = so_ot_avx2_available_();
    for (size_t rows = 0; rows <= MAX_ROWS; rows++) {
        for (size_t m = 1; m <= MAX_COLS; m += rows % 3 + 1) {
            fill(&d, rows, m);
            reference(&d, rows, m, &ref);
            const size_t splits[3] = {rows, rows / 2, rows / 3};
            for (int q = 0; q < 3; q++) {
                run(so_ot_scale_rows_base_, &d, rows, m, splits[q], &base);
                assert_same(&base, &ref, "baseline against reference", rows, m, splits[q]);
                run(so_ot_scale_rows_, &d, rows, m, splits[q], &base);
                assert_same(&base, &ref, "dispatched against reference", rows, m, splits[q]);
                if (have_avx2) {
                    run(so_ot_scale_rows_avx2_, &d, rows, m, splits[q], &avx2);
                    assert_same(&avx2, &ref, "AVX2 against reference", rows, m, splits[q]);
                }
            }
        }
    }
}

/* A zero row gives kv = 0 and an infinite scaling in both versions alike, which the
 * solver reports as kernel underflow. */
static void zero_row_gives_infinite_scaling(void **state)
{
    (void)state;
    static data d;
    static output base, avx2;
    size_t rows = 13, m = 9;
    fill(&d, rows, m);
    memset(d.K + 5 * m, 0, m * sizeof(double));
    run(so_ot_scale_rows_base_, &d, rows, m, rows, &base);
    assert_true(base.kv[5] == 0.0 && isinf(base.u[5]));
    if (!so_ot_avx2_available_())
        skip();
    run(so_ot_scale_rows_avx2_, &d, rows, m, rows, &avx2);
    assert_true(avx2.kv[5] == 0.0 && isinf(avx2.u[5]));
    for (size_t j = 0; j < m; j++)
        assert_true(isnan(base.acc[j]) == isnan(avx2.acc[j]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_match_reference),
        cmocka_unit_test(zero_row_gives_infinite_scaling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
