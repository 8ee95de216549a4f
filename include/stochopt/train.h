/* The training driver: minibatch training of a model on a dataset with an optimizer,
 * evaluation after every epoch, and checkpoints that resume bit for bit. */
#ifndef STOCHOPT_TRAIN_H
#define STOCHOPT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/nn.h"
#include "stochopt/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Measurements at the end of one epoch; one row of the training log. */
typedef struct so_epoch_record {
    long epoch;               /* from 1 */
    long step;                /* optimizer steps so far */
    long samples;             /* training samples seen so far */
    double train_loss;        /* mean minibatch loss over the epoch */
    double test_loss;         /* mean loss on the test set, NaN without one */
    double test_accuracy;     /* fraction correct on the test set, NaN without one */
    double lr;
    size_t batch_size;
    double seconds;           /* training time so far, evaluation excluded */
    double samples_per_second;/* training throughput of this epoch */
    long skipped_steps;       /* steps skipped so far because a gradient was not finite */
} so_epoch_record;

/* Returns 0 to go on, nonzero to stop training after this epoch (so_train then returns
 * SO_ERR_CALLBACK). When it is called, the result passed to so_train already contains the
 * record in its history, and the checkpoint of the epoch is written. */
typedef int (*so_epoch_fn)(void *user, const so_epoch_record *record);

typedef struct so_train_config {
    const char *model_spec;       /* "mlp:256,128" */
    const so_optim_type *optim;   /* so_optim_adam */
    so_optim_params optim_params; /* from so_optim_params_default(optim) */
    so_schedule schedule;         /* learning-rate schedule over optimizer steps; type NULL
                                   * keeps the rate constant. t_max 0 means the run's total
                                   * step count (epochs x batches per epoch). */
    size_t batch_size;            /* 128 */
    long epochs;                  /* 10: the total, counting epochs before a resume */
    uint64_t seed;                /* 0: initialization and data order */
    int threads;                  /* 1; 0 keeps the OpenMP and OpenBLAS settings. The
                                   * settings are restored when so_train returns. */
    const char *checkpoint_path;  /* written after every epoch when not NULL */
    const char *resume_path;      /* checkpoint to continue from, or NULL */
    long stop_after_epoch;        /* stop (successfully) after this epoch; 0 never */
    so_progress_fn progress;      /* called every few steps; may be NULL */
    void *progress_user;
    so_epoch_fn on_epoch;         /* called after each epoch; may be NULL */
    void *epoch_user;
} so_train_config;

/* Fills the defaults listed beside each field (Adam, lr 1e-3, batch 128, 10 epochs). */
so_train_config so_train_config_default(void);

typedef struct so_train_result {
    so_epoch_record *history;     /* one record per completed epoch, including any restored
                                   * from a checkpoint; free with so_train_result_clear */
    long epochs;
    so_model *model;              /* the trained model, owned by the result */
} so_train_result;

void so_train_result_clear(so_train_result *result);

/* Trains on `train` (labels must be encoded) and evaluates on `test` (may be NULL) after
 * every epoch. When resuming, the checkpoint's model spec, optimizer method and state
 * (hyperparameters included), seed and batch size replace those of the configuration.
 * On failure the result contains the epochs completed so far. */
int so_train(const so_train_config *config, const so_dataset *train, const so_dataset *test,
             so_train_result *result);

/* ---- Checkpoints. A checkpoint contains the model spec and parameters, the optimizer state,
 * the seed, the number of completed epochs and the epoch history. It is written to a
 * temporary file in the same directory, flushed with fsync and renamed over the target,
 * so a crash leaves either the old or the new checkpoint, never a mix. */

typedef struct so_checkpoint {
    char model_spec[256];
    char optim_name[32];          /* method name, as so_optim_type_find takes it */
    size_t in_dim, out_dim;
    uint64_t seed;
    size_t batch_size;
    long epochs_done;
    long step;
    long samples;
    long skipped_steps;
    double seconds;
    float *params;                /* num_params floats */
    size_t num_params;
    void *optim_state;            /* bytes from so_optimizer_save */
    size_t optim_state_size;
    so_epoch_record *history;     /* epochs_done records */
} so_checkpoint;

int so_checkpoint_write(const char *path, const so_checkpoint *ckpt);
/* Reads and validates a checkpoint (magic, version, sizes, checksum). On failure ckpt is
 * left empty. */
int so_checkpoint_read(const char *path, so_checkpoint *ckpt);
/* Parses a checkpoint image already in memory; `name` is used in error messages. */
int so_checkpoint_parse(const void *image, size_t length, const char *name,
                        so_checkpoint *ckpt);
void so_checkpoint_clear(so_checkpoint *ckpt);

#ifdef __cplusplus
}
#endif

#endif
