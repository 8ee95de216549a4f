/* Minibatch training driver with per-epoch evaluation and resumable checkpoints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "core/internal.h"
#include "stochopt/train.h"

/* A diverged run (NaN loss) is stopped after this many consecutive skipped steps. */
enum { SO_MAX_CONSECUTIVE_SKIPS = 50, SO_EVAL_BATCH = 1000, SO_PROGRESS_EVERY = 20 };
#define SO_OMP_MIN_PARAMS ((size_t)1 << 22)

so_train_config so_train_config_default(void)
{
    so_train_config c;
    memset(&c, 0, sizeof c);
    c.model_spec = "mlp:256,128";
    c.optim = so_optim_adam;
    c.optim_params = so_optim_params_default(so_optim_adam);
    c.batch_size = 128;
    c.epochs = 10;
    c.seed = 0;
    c.threads = 1;
    return c;
}

void so_train_result_clear(so_train_result *result)
{
    if (result == NULL)
        return;
    free(result->history);
    so_model_free(&result->model);
    memset(result, 0, sizeof *result);
}

/* Everything one training run owns. */
typedef struct run {
    const so_train_config *cfg;
    const so_dataset *train, *test;
    so_model *model;
    so_optimizer *opt;
    const so_optim_type *method;  /* the configured one, or the checkpoint's */
    so_batcher *batcher;
    float *x;                 /* batch_size x d features of the current batch */
    int32_t *y;               /* batch_size labels */
    uint32_t *eval_idx;       /* SO_EVAL_BATCH consecutive row indices */
    size_t batch_size;
    uint64_t seed;
    long epoch0;              /* epochs restored from a checkpoint */
    long step, samples, skipped;
    long consecutive_skips;   /* skipped steps since the last good one, across epochs */
    double first_loss;        /* loss of the first finite step of this process, or NaN */
    double seconds;
    so_train_result *result;
} run;

static int append_record(so_train_result *res, const so_epoch_record *rec)
{
    so_epoch_record *grown = realloc(res->history, (size_t)(res->epochs + 1) * sizeof *grown);
    if (grown == NULL)
        return so_fail_(SO_ERR_NOMEM, "out of memory recording epoch %ld", rec->epoch);
    grown[res->epochs++] = *rec;
    res->history = grown;
    return SO_OK;
}

/* OpenBLAS gets `threads` threads. The optimizer's OpenMP loops get them only for models
 * of at least SO_OMP_MIN_PARAMS parameters. Below that an update takes well under a
 * millisecond, and idle OpenMP workers that spin-wait after it take the cores away from
 * OpenBLAS's own threads. On a loaded 2-core machine --threads 2 ran 10 times slower
 * than 1 thread before this limit. */
static void set_threads(int threads, size_t num_params)
{
    if (threads <= 0)
        return;
    omp_set_num_threads(num_params >= SO_OMP_MIN_PARAMS ? threads : 1);
    openblas_set_num_threads(threads);
}

/* Attaches the configured schedule; a resumed run gets it back from the optimizer state. */
static int attach_schedule(run *r)
{
    so_schedule s = r->cfg->schedule;

    if (s.type == NULL)
        return SO_OK;
    if (s.t_max == 0) {
        uint64_t batches = (uint64_t)((r->train->n + r->batch_size - 1) / r->batch_size);
        s.t_max = batches * (uint64_t)r->cfg->epochs;
    }
    int status = so_schedule_validate(&s);
    if (status == SO_OK)
        status = so_optimizer_set_schedule(r->opt, &s);
    return status;
}

/* Creates the model and optimizer, fresh or from the checkpoint in cfg->resume_path. The
 * checkpoint's model spec, seed and batch size override the configuration, because a
 * resumed run must continue the run that wrote it. */
static int setup(run *r)
{
    const so_train_config *cfg = r->cfg;
    so_checkpoint ck;
    const char *spec = cfg->model_spec;
    int status;

    memset(&ck, 0, sizeof ck);
    r->seed = cfg->seed;
    r->batch_size = cfg->batch_size;
    if (cfg->resume_path != NULL) {
        status = so_checkpoint_read(cfg->resume_path, &ck);
        if (status != SO_OK)
            return status;
        if (ck.in_dim != r->train->d || ck.out_dim != (size_t)r->train->num_classes) {
            status = so_fail_(SO_ERR_INVALID, "%s: the checkpoint is for %zu features and %zu "
                              "classes, but the data has %zu features and %d classes",
                              cfg->resume_path, ck.in_dim, ck.out_dim, r->train->d,
                              r->train->num_classes);
            goto done;
        }
        spec = ck.model_spec;
        r->seed = ck.seed;
        r->batch_size = ck.batch_size;
    }
    const so_optim_type *method = cfg->optim;
    if (cfg->resume_path != NULL) {
        method = so_optim_type_find(ck.optim_name);
        if (method == NULL) {
            status = so_fail_(SO_ERR_FORMAT, "%s: unknown optimizer \"%s\" in the checkpoint",
                              cfg->resume_path, ck.optim_name);
            goto done;
        }
    }
    r->method = method;
    status = so_model_new(spec, r->train->d, (size_t)r->train->num_classes, &r->model);
    if (status != SO_OK) {
        so_error_prefix_("model %s for %zu features and %d classes", spec, r->train->d,
                         r->train->num_classes);
        goto done;
    }
    /* When resuming, so_optimizer_load below replaces these defaults. */
    so_optim_params method_params = cfg->resume_path != NULL ? so_optim_params_default(method)
                                                             : cfg->optim_params;
    status = so_optimizer_new(method, so_model_num_params(r->model), SO_F32, &method_params,
                              &r->opt);
    if (status != SO_OK)
        goto done;
    if (cfg->resume_path == NULL) {
        status = attach_schedule(r);
        if (status == SO_OK)
            status = so_model_init(r->model, SO_INIT_AUTO, r->seed);
        goto done;
    }
    if (ck.num_params != so_model_num_params(r->model)) {
        status = so_fail_(SO_ERR_FORMAT, "%s: %zu parameters stored, the model %s has %zu",
                          cfg->resume_path, ck.num_params, spec,
                          so_model_num_params(r->model));
        goto done;
    }
    memcpy(so_model_params(r->model), ck.params, ck.num_params * sizeof(float));
    status = so_optimizer_load(r->opt, ck.optim_state, ck.optim_state_size);
    if (status != SO_OK) {
        so_error_prefix_("%s", cfg->resume_path);
        goto done;
    }
    for (long e = 0; e < ck.epochs_done && status == SO_OK; e++)
        status = append_record(r->result, &ck.history[e]);
    r->epoch0 = ck.epochs_done;
    r->step = ck.step;
    r->samples = ck.samples;
    r->skipped = ck.skipped_steps;
    r->seconds = ck.seconds;
    so_log_(SO_LOG_INFO, "resuming %s after epoch %ld of model %s, seed %llu, batch %zu",
            cfg->resume_path, ck.epochs_done, spec, (unsigned long long)r->seed,
            r->batch_size);
done:
    so_checkpoint_clear(&ck);
    return status;
}

static int save_checkpoint(run *r, long epochs_done)
{
    so_checkpoint ck;
    size_t state_size = 0;
    int status;

    memset(&ck, 0, sizeof ck);
    so_model_describe(r->model, ck.model_spec, sizeof ck.model_spec);
    snprintf(ck.optim_name, sizeof ck.optim_name, "%s", so_optim_type_name(r->method));
    ck.in_dim = so_model_in_dim(r->model);
    ck.out_dim = so_model_out_dim(r->model);
    ck.seed = r->seed;
    ck.batch_size = r->batch_size;
    ck.epochs_done = epochs_done;
    ck.step = r->step;
    ck.samples = r->samples;
    ck.skipped_steps = r->skipped;
    ck.seconds = r->seconds;
    ck.params = so_model_params(r->model);
    ck.num_params = so_model_num_params(r->model);
    ck.history = r->result->history;
    status = so_optimizer_save(r->opt, NULL, &state_size);
    if (status != SO_OK)
        return status;
    ck.optim_state = malloc(state_size);
    if (ck.optim_state == NULL)
        return so_fail_(SO_ERR_NOMEM, "out of memory saving the optimizer state");
    ck.optim_state_size = state_size;
    status = so_optimizer_save(r->opt, ck.optim_state, &ck.optim_state_size);
    if (status == SO_OK)
        status = so_checkpoint_write(r->cfg->checkpoint_path, &ck);
    free(ck.optim_state);
    return status;
}

/* Mean loss and accuracy on the whole test set, in batches of SO_EVAL_BATCH rows. */
static int evaluate(run *r, double *loss, double *accuracy)
{
    const so_dataset *ds = r->test;
    double loss_sum = 0.0;
    size_t correct = 0;

    for (size_t start = 0; start < ds->n; start += SO_EVAL_BATCH) {
        size_t count = ds->n - start < SO_EVAL_BATCH ? ds->n - start : SO_EVAL_BATCH;
        for (size_t i = 0; i < count; i++)
            r->eval_idx[i] = (uint32_t)(start + i);
        int status = so_dataset_gather(ds, r->eval_idx, count, r->x, r->y);
        if (status == SO_OK)
            status = so_model_evaluate(r->model, r->x, r->y, count, &loss_sum, &correct);
        if (status != SO_OK)
            return status;
    }
    *loss = loss_sum / (double)ds->n;
    *accuracy = (double)correct / (double)ds->n;
    return SO_OK;
}

static int report_progress(run *r, long epoch, long step, long steps, double loss_mean,
                           double rate)
{
    so_progress p = {"train", epoch, r->cfg->epochs, step, steps, loss_mean, rate};
    if (r->cfg->progress == NULL || r->cfg->progress(r->cfg->progress_user, &p) == 0)
        return SO_OK;
    return so_fail_(SO_ERR_CALLBACK, "training stopped by the progress callback at epoch "
                    "%ld, step %ld", epoch, step);
}

static int params_finite(so_model *model)
{
    const float *p = so_model_params(model);
    size_t n = so_model_num_params(model);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return 0;
    return 1;
}

/* One pass over the training set. A step whose loss or gradient is not finite is
 * skipped; a run of SO_MAX_CONSECUTIVE_SKIPS such steps means the run diverged. */
static int train_epoch(run *r, long epoch, double *mean_loss, double *epoch_seconds)
{
    const uint32_t *idx;
    size_t count;
    long steps = (long)so_batcher_batches(r->batcher), step = 0;
    double loss_sum = 0.0, t0 = so_time_now();
    long counted = 0;

    so_batcher_start_epoch(r->batcher, (uint64_t)(epoch - 1));
    while ((count = so_batcher_next(r->batcher, &idx)) > 0) {
        double loss = 0.0;
        int status = so_dataset_gather(r->train, idx, count, r->x, r->y);
        if (status == SO_OK)
            status = so_model_loss_grad(r->model, r->x, r->y, count, &loss);
        if (status == SO_OK && !isfinite(loss))
            status = SO_ERR_NONFINITE;
        if (status == SO_OK)
            status = so_optimizer_step(r->opt, so_model_params(r->model),
                                       so_model_grads(r->model));
        step++;
        r->samples += (long)count;
        if (status == SO_ERR_NONFINITE && !params_finite(r->model)) {
            return so_fail_(SO_ERR_NONFINITE, "training diverged at epoch %ld, step %ld: the "
                            "parameters are no longer finite after the previous update; "
                            "lower the learning rate (or raise eps)", epoch, step);
        }
        if (status == SO_ERR_NONFINITE) {
            r->skipped++;
            if (++r->consecutive_skips == 1 || r->skipped % 100 == 0)
                so_log_(SO_LOG_WARN, "epoch %ld, step %ld: non-finite loss or gradient; step "
                        "skipped (%ld skipped so far)", epoch, step, r->skipped);
            if (r->consecutive_skips >= SO_MAX_CONSECUTIVE_SKIPS)
                return so_fail_(SO_ERR_NONFINITE, "training diverged at epoch %ld, step %ld: "
                                "%d consecutive steps had a non-finite loss or gradient; "
                                "lower the learning rate, or check the data for huge "
                                "values (--standardize)", epoch, step,
                                SO_MAX_CONSECUTIVE_SKIPS);
            continue;
        }
        if (status != SO_OK)
            return status;
        r->consecutive_skips = 0;
        if (isnan(r->first_loss))
            r->first_loss = loss;
        r->step++;
        loss_sum += loss;
        counted++;
        if (step % SO_PROGRESS_EVERY == 0 || step == steps) {
            double elapsed = so_time_now() - t0;
            double rate = elapsed > 0 ? (double)(step * (long)r->batch_size) / elapsed : 0.0;
            status = report_progress(r, epoch, step, steps, loss_sum / (double)counted, rate);
            if (status != SO_OK)
                return status;
        }
    }
    *epoch_seconds = so_time_now() - t0;
    *mean_loss = counted > 0 ? loss_sum / (double)counted : NAN;
    return SO_OK;
}

static int run_epochs(run *r)
{
    const so_train_config *cfg = r->cfg;

    for (long epoch = r->epoch0 + 1; epoch <= cfg->epochs; epoch++) {
        so_epoch_record rec;
        double seconds = 0.0;
        long samples0 = r->samples;
        int status;

        memset(&rec, 0, sizeof rec);
        status = train_epoch(r, epoch, &rec.train_loss, &seconds);
        if (status != SO_OK)
            return status;
        /* The last update of the epoch has no next loss to expose a non-finite result. */
        if (!params_finite(r->model))
            return so_fail_(SO_ERR_NONFINITE, "training diverged in epoch %ld: the parameters "
                            "are no longer finite; lower the learning rate (or raise eps)",
                            epoch);
        r->seconds += seconds;
        rec.epoch = epoch;
        rec.step = r->step;
        rec.samples = r->samples;
        rec.lr = so_optimizer_lr(r->opt);
        rec.batch_size = r->batch_size;
        rec.seconds = r->seconds;
        rec.samples_per_second = seconds > 0 ? (double)(r->samples - samples0) / seconds : 0;
        rec.skipped_steps = r->skipped;
        rec.test_loss = NAN;
        rec.test_accuracy = NAN;
        if (r->test != NULL && r->test->n > 0) {
            status = evaluate(r, &rec.test_loss, &rec.test_accuracy);
            if (status != SO_OK)
                return status;
        }
        /* A finite but exploding loss is not caught by the non-finite guard. */
        if (rec.train_loss > 1000.0 * fmax(r->first_loss, 1.0))
            so_log_(SO_LOG_WARN, "epoch %ld: mean train loss %g is over 1000 times the first "
                    "step's loss %g; the run is diverging, lower the learning rate", epoch,
                    rec.train_loss, r->first_loss);
        status = append_record(r->result, &rec);
        if (status == SO_OK && cfg->checkpoint_path != NULL)
            status = save_checkpoint(r, epoch);
        if (status != SO_OK)
            return status;
        if (cfg->on_epoch != NULL && cfg->on_epoch(cfg->epoch_user, &rec) != 0)
            return so_fail_(SO_ERR_CALLBACK, "training stopped by the epoch callback after "
                            "epoch %ld", epoch);
        if (cfg->stop_after_epoch > 0 && epoch >= cfg->stop_after_epoch)
            break;
    }
    return SO_OK;
}

static int check_inputs(const so_train_config *cfg, const so_dataset *train,
                        const so_dataset *test)
{
    if (cfg == NULL || train == NULL || cfg->optim == NULL || cfg->model_spec == NULL)
        return so_fail_(SO_ERR_INVALID, "train: config, training set, optimizer and model "
                        "spec must not be NULL");
    if (train->n == 0)
        return so_fail_(SO_ERR_INVALID, "train: the training set is empty");
    if (train->label == NULL)
        return so_fail_(SO_ERR_INVALID, "train: the training set has no class labels; call "
                        "so_dataset_encode_labels first");
    if (train->num_classes < 2)
        return so_fail_(SO_ERR_INVALID, "train: the training data has %d class; a classifier "
                        "needs at least 2", train->num_classes);
    if (test != NULL && test->n > 0 && (test->label == NULL || test->d != train->d))
        return so_fail_(SO_ERR_INVALID, "train: the test set needs encoded labels and %zu "
                        "features (it has %zu)", train->d, test->d);
    if (cfg->batch_size == 0 || cfg->batch_size > (size_t)1 << 24)
        return so_fail_(SO_ERR_INVALID, "train: batch size %zu is outside [1, 16777216]",
                        cfg->batch_size);
    if (cfg->epochs < 1)
        return so_fail_(SO_ERR_INVALID, "train: epochs is %ld, expected at least 1",
                        cfg->epochs);
    return SO_OK;
}

int so_train(const so_train_config *cfg, const so_dataset *train, const so_dataset *test,
             so_train_result *result)
{
    run r;
    int status;

    if (result == NULL)
        return so_fail_(SO_ERR_INVALID, "train: result must not be NULL");
    memset(result, 0, sizeof *result);
    status = check_inputs(cfg, train, test);
    if (status != SO_OK)
        return status;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.train = train;
    r.test = test;
    r.result = result;
    r.first_loss = NAN;
    /* The thread settings are process-wide, so they are restored on return. */
    int omp_before = omp_get_max_threads(), blas_before = openblas_get_num_threads();
    status = setup(&r);
    if (status == SO_OK)
        set_threads(cfg->threads, so_model_num_params(r.model));
    if (status == SO_OK)
        status = so_batcher_new(train->n, r.batch_size, r.seed, 1, 0, &r.batcher);
    if (status == SO_OK) {
        /* A batch never has more rows than the data set. */
        size_t batch_rows = r.batch_size < train->n ? r.batch_size : train->n;
        size_t rows = batch_rows > SO_EVAL_BATCH ? batch_rows : SO_EVAL_BATCH;
        r.x = so_alloc_aligned_(rows * train->d, sizeof *r.x);
        r.y = so_calloc_(rows, sizeof *r.y);
        r.eval_idx = so_calloc_(SO_EVAL_BATCH, sizeof *r.eval_idx);
        if (r.x == NULL || r.y == NULL || r.eval_idx == NULL)
            status = SO_ERR_NOMEM;
    }
    if (status == SO_OK)
        status = run_epochs(&r);
    so_free_aligned_(r.x);
    free(r.y);
    free(r.eval_idx);
    so_batcher_free(&r.batcher);
    so_optimizer_free(&r.opt);
    if (cfg->threads > 0) {
        omp_set_num_threads(omp_before);
        openblas_set_num_threads(blas_before);
    }
    result->model = r.model;
    return status;
}
