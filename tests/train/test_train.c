/* Training driver and checkpoints: convergence, determinism, bit-identical resume,
 * atomic checkpoint writes and rejection of damaged checkpoint files. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "stochopt/stochopt.h"

enum { N_ROWS = 600, N_FEATURES = 6, N_CLASSES = 3 };

/* Three Gaussian blobs with unit variance around well separated centers. */
static so_dataset *make_blobs(uint64_t seed, size_t n)
{
    so_dataset *ds = calloc(1, sizeof *ds);
    so_rng rng;

    assert_non_null(ds);
    so_rng_init(&rng, seed, 0);
    ds->n = n;
    ds->d = N_FEATURES;
    ds->kind = SO_FEATURES_F32;
    ds->x_f32 = calloc(n * N_FEATURES, sizeof(float));
    ds->target = calloc(n, sizeof(double));
    ds->label = calloc(n, sizeof(int32_t));
    ds->class_value = calloc(N_CLASSES, sizeof(double));
    ds->name = malloc(8);
    assert_non_null(ds->x_f32);
    assert_non_null(ds->name);
    strcpy(ds->name, "blobs");
    ds->num_classes = N_CLASSES;
    for (int k = 0; k < N_CLASSES; k++)
        ds->class_value[k] = k;
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i % N_CLASSES);
        ds->label[i] = k;
        ds->target[i] = k;
        for (size_t j = 0; j < N_FEATURES; j++)
            ds->x_f32[i * N_FEATURES + j] =
                (float)(so_rng_normal(&rng) + (j % N_CLASSES == (size_t)k ? 3.0 : 0.0));
    }
    return ds;
}

static so_train_config small_config(void)
{
    so_train_config cfg = so_train_config_default();
    cfg.model_spec = "mlp:16,8";
    cfg.batch_size = 32;
    cfg.epochs = 4;
    cfg.seed = 3;
    cfg.optim_params.lr = 0.01;
    return cfg;
}

static void temp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/tmp/stochopt-test-%ld-%s", (long)getpid(), name);
}

static void training_reaches_high_accuracy(void **state)
{
    so_dataset *train = make_blobs(1, N_ROWS), *test = make_blobs(2, 300);
    so_train_config cfg = small_config();
    so_train_result res;
    (void)state;

    assert_int_equal(so_train(&cfg, train, test, &res), SO_OK);
    assert_int_equal(res.epochs, 4);
    assert_true(res.history[3].train_loss < res.history[0].train_loss);
    assert_true(res.history[3].test_accuracy > 0.9);
    assert_int_equal(res.history[3].step, 4 * ((N_ROWS + 31) / 32));
    assert_int_equal(res.history[3].samples, 4 * N_ROWS);
    so_train_result_clear(&res);
    so_dataset_free(&train);
    so_dataset_free(&test);
}

static void same_seed_gives_identical_parameters(void **state)
{
    so_dataset *train = make_blobs(1, N_ROWS);
    so_train_config cfg = small_config();
    so_train_result a, b, c;
    (void)state;

    assert_int_equal(so_train(&cfg, train, NULL, &a), SO_OK);
    assert_int_equal(so_train(&cfg, train, NULL, &b), SO_OK);
    cfg.seed = 4;
    assert_int_equal(so_train(&cfg, train, NULL, &c), SO_OK);
    size_t n = so_model_num_params(a.model);
    assert_memory_equal(so_model_params(a.model), so_model_params(b.model), n * sizeof(float));
    assert_memory_not_equal(so_model_params(a.model), so_model_params(c.model),
                            n * sizeof(float));
    assert_true(a.history[3].train_loss == b.history[3].train_loss);
    assert_true(isnan(a.history[3].test_loss));
    so_train_result_clear(&a);
    so_train_result_clear(&b);
    so_train_result_clear(&c);
    so_dataset_free(&train);
}

static void assert_records_equal(const so_epoch_record *x, const so_epoch_record *y)
{
    assert_int_equal(x->epoch, y->epoch);
    assert_int_equal(x->step, y->step);
    assert_int_equal(x->samples, y->samples);
    assert_true(x->train_loss == y->train_loss);
    assert_true(x->test_loss == y->test_loss);
    assert_true(x->test_accuracy == y->test_accuracy);
    assert_true(x->lr == y->lr);
}

static void resumed_run_equals_uninterrupted(void **state)
{
    const char *optims[] = {"adam", "sgd"};
    (void)state;

    for (size_t k = 0; k < 2; k++) {
        so_dataset *train = make_blobs(1, N_ROWS), *test = make_blobs(2, 90);
        so_train_config cfg = small_config();
        so_train_result full, part, rest;
        char path[256];

        cfg.optim = so_optim_type_find(optims[k]);
        cfg.optim_params = so_optim_params_default(cfg.optim);
        cfg.optim_params.lr = 0.01;
        cfg.optim_params.momentum = k == 1 ? 0.9 : 0.0;
        temp_path(path, sizeof path, "resume.ckpt");
        assert_int_equal(so_train(&cfg, train, test, &full), SO_OK);

        cfg.checkpoint_path = path;
        cfg.stop_after_epoch = 2;
        assert_int_equal(so_train(&cfg, train, test, &part), SO_OK);
        assert_int_equal(part.epochs, 2);

        /* The resumed run gets another optimizer, seed and learning rate on purpose: the
         * checkpoint decides all three. */
        cfg.stop_after_epoch = 0;
        cfg.resume_path = path;
        cfg.seed = 99;
        cfg.optim = so_optim_type_find(optims[1 - k]);
        cfg.optim_params = so_optim_params_default(cfg.optim);
        cfg.optim_params.lr = 0.5;
        assert_int_equal(so_train(&cfg, train, test, &rest), SO_OK);
        assert_int_equal(rest.epochs, 4);
        size_t n = so_model_num_params(full.model);
        assert_memory_equal(so_model_params(full.model), so_model_params(rest.model),
                            n * sizeof(float));
        for (long e = 0; e < 4; e++)
            assert_records_equal(&full.history[e], &rest.history[e]);
        unlink(path);
        so_train_result_clear(&full);
        so_train_result_clear(&part);
        so_train_result_clear(&rest);
        so_dataset_free(&train);
        so_dataset_free(&test);
    }
}

static void resume_rejects_other_data_shape(void **state)
{
    so_dataset *train = make_blobs(1, N_ROWS);
    so_train_config cfg = small_config();
    so_train_result res;
    char path[256];
    (void)state;

    temp_path(path, sizeof path, "shape.ckpt");
    cfg.checkpoint_path = path;
    cfg.epochs = 1;
    assert_int_equal(so_train(&cfg, train, NULL, &res), SO_OK);
    so_train_result_clear(&res);
    train->d = N_FEATURES - 1;
    cfg.resume_path = path;
    cfg.epochs = 2;
    assert_int_equal(so_train(&cfg, train, NULL, &res), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "features"));
    train->d = N_FEATURES;
    so_train_result_clear(&res);
    unlink(path);
    so_dataset_free(&train);
}

static void diverging_run_is_reported(void **state)
{
    so_dataset *train = make_blobs(1, N_ROWS);
    so_train_config cfg = small_config();
    so_train_result res;
    (void)state;

    cfg.optim = so_optim_sgd;
    cfg.optim_params = so_optim_params_default(so_optim_sgd);
    cfg.optim_params.lr = 1e30;
    cfg.epochs = 20;
    assert_int_equal(so_train(&cfg, train, NULL, &res), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "diverged"));
    assert_non_null(strstr(so_last_error(), "learning rate"));
    so_train_result_clear(&res);
    so_dataset_free(&train);
}

/* Fills a checkpoint whose parameters all equal `value`. */
static void fill_checkpoint(so_checkpoint *ck, float *params, size_t n, float value,
                            so_epoch_record *history)
{
    static unsigned char state_bytes[16] = {1, 2, 3};
    memset(ck, 0, sizeof *ck);
    strcpy(ck->model_spec, "mlp:4");
    ck->in_dim = 3;
    ck->out_dim = 2;
    ck->batch_size = 1;
    ck->epochs_done = 1;
    ck->history = history;
    ck->num_params = n;
    ck->params = params;
    ck->optim_state = state_bytes;
    ck->optim_state_size = sizeof state_bytes;
    for (size_t i = 0; i < n; i++)
        params[i] = value;
    memset(history, 0, sizeof *history);
    history->epoch = 1;
    history->train_loss = value;
}

static void checkpoint_round_trip(void **state)
{
    float params[10];
    so_epoch_record hist;
    so_checkpoint ck, back;
    char path[256];
    (void)state;

    temp_path(path, sizeof path, "round.ckpt");
    fill_checkpoint(&ck, params, 10, 1.5f, &hist);
    ck.seed = 77;
    ck.batch_size = 64;
    assert_int_equal(so_checkpoint_write(path, &ck), SO_OK);
    assert_int_equal(so_checkpoint_read(path, &back), SO_OK);
    assert_string_equal(back.model_spec, "mlp:4");
    assert_int_equal(back.seed, 77);
    assert_int_equal(back.batch_size, 64);
    assert_int_equal(back.num_params, 10);
    assert_memory_equal(back.params, params, sizeof params);
    assert_int_equal(back.optim_state_size, 16);
    assert_true(back.history[0].train_loss == 1.5);
    so_checkpoint_clear(&back);
    unlink(path);
}

/* Every damaged file is rejected with an error naming the damage. */
static void checkpoint_damage_is_rejected(void **state)
{
    float params[10];
    so_epoch_record hist;
    so_checkpoint ck, back;
    char path[256];
    unsigned char buf[4096];
    (void)state;

    temp_path(path, sizeof path, "damaged.ckpt");
    fill_checkpoint(&ck, params, 10, 2.0f, &hist);
    assert_int_equal(so_checkpoint_write(path, &ck), SO_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);

    /* A flipped byte in the parameters breaks the CRC. */
    buf[60] ^= 0x40;
    f = fopen(path, "wb");
    fwrite(buf, 1, size, f);
    fclose(f);
    assert_int_equal(so_checkpoint_read(path, &back), SO_ERR_FORMAT);
    assert_non_null(strstr(so_last_error(), "CRC-32 mismatch"));
    assert_null(back.params);

    /* A truncated file fails the CRC as well, an unrelated file fails the magic. */
    buf[60] ^= 0x40;
    f = fopen(path, "wb");
    fwrite(buf, 1, size / 2, f);
    fclose(f);
    assert_int_equal(so_checkpoint_read(path, &back), SO_ERR_FORMAT);
    f = fopen(path, "wb");
    fputs("epoch,step\n1,2\n", f);
    fclose(f);
    assert_int_equal(so_checkpoint_read(path, &back), SO_ERR_FORMAT);
    assert_non_null(strstr(so_last_error(), "magic"));
    unlink(path);
    assert_int_equal(so_checkpoint_read(path, &back), SO_ERR_NOT_FOUND);
    assert_non_null(strstr(so_last_error(), path));
}

/* Values that pass the CRC but that no training run writes are rejected as well. */
static void checkpoint_bad_values_rejected(void **state)
{
    float params[4];
    so_epoch_record hist;
    so_checkpoint ck, back;
    char path[256];
    (void)state;

    temp_path(path, sizeof path, "values.ckpt");
    fill_checkpoint(&ck, params, 4, 1.0f, &hist);
    ck.batch_size = 0;
    assert_int_equal(so_checkpoint_write(path, &ck), SO_OK);
    assert_int_equal(so_checkpoint_read(path, &back), SO_ERR_FORMAT);
    assert_non_null(strstr(so_last_error(), "batch size 0"));

    fill_checkpoint(&ck, params, 4, 1.0f, &hist);
    params[2] = NAN;
    assert_int_equal(so_checkpoint_write(path, &ck), SO_OK);
    assert_int_equal(so_checkpoint_read(path, &back), SO_ERR_NONFINITE);
    assert_non_null(strstr(so_last_error(), "parameter 2"));

    fill_checkpoint(&ck, params, 4, 1.0f, &hist);
    ck.samples = -5;
    assert_int_equal(so_checkpoint_write(path, &ck), SO_OK);
    assert_int_equal(so_checkpoint_read(path, &back), SO_ERR_FORMAT);
    unlink(path);

    assert_int_equal(so_checkpoint_read("/tmp", &back), SO_ERR_INVALID);
    assert_non_null(strstr(so_last_error(), "found a directory"));
}

/* A child process rewrites a large checkpoint in a loop, alternating two contents, and
 * is killed with SIGKILL at a random moment. The file left behind must always be one of
 * the two complete checkpoints. */
static void killed_writer_leaves_valid_checkpoint(void **state)
{
    enum { N = 4 << 20, TRIALS = 6 };
    float *params = malloc(N * sizeof *params);
    so_epoch_record hist;
    so_checkpoint ck, back;
    char path[256];
    (void)state;

    assert_non_null(params);
    temp_path(path, sizeof path, "killed.ckpt");
    fill_checkpoint(&ck, params, N, 1.0f, &hist);
    assert_int_equal(so_checkpoint_write(path, &ck), SO_OK);
    srand((unsigned)time(NULL));
    for (int trial = 0; trial < TRIALS; trial++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (int i = 0;; i++) {
                fill_checkpoint(&ck, params, N, (float)(i % 2 + 1), &hist);
                so_checkpoint_write(path, &ck);
            }
        }
        struct timespec nap = {0, (long)(20 + rand() % 200) * 1000000L};
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        assert_int_equal(so_checkpoint_read(path, &back), SO_OK);
        assert_int_equal(back.num_params, N);
        float v = back.params[0];
        assert_true(v == 1.0f || v == 2.0f);
        assert_true(back.params[N - 1] == v);
        assert_true(back.history[0].train_loss == v);
        so_checkpoint_clear(&back);
    }
    /* Temporary files of killed writers are left behind; remove them. */
    char cmd[640];
    snprintf(cmd, sizeof cmd, "rm -f '%s' '%s'.tmp.*", path, path);
    assert_int_equal(system(cmd), 0);
    free(params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(training_reaches_high_accuracy),
        cmocka_unit_test(same_seed_gives_identical_parameters),
        cmocka_unit_test(resumed_run_equals_uninterrupted),
        cmocka_unit_test(resume_rejects_other_data_shape),
        cmocka_unit_test(diverging_run_is_reported),
        cmocka_unit_test(checkpoint_round_trip),
        cmocka_unit_test(checkpoint_damage_is_rejected),
        cmocka_unit_test(checkpoint_bad_values_rejected),
        cmocka_unit_test(killed_writer_leaves_valid_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
