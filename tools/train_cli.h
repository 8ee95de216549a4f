/* Options shared by `stochopt train` and `stochopt compare`: parsing, data loading and
 * the checks made before any training time is spent. */
#ifndef STOCHOPT_TRAIN_CLI_H
#define STOCHOPT_TRAIN_CLI_H

#include <stdio.h>

#include "stochopt/stochopt.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define DEFAULT_DATA_PACKAGE "dataset-fashion-mnist"

enum { MAX_HP_OVERRIDES = 32 };

/* One optimizer hyperparameter given on the command line. */
typedef struct hp_override {
    const char *option;   /* "--beta1" */
    const char *name;     /* "beta1", a field of so_optim_params */
    double value;
} hp_override;

typedef struct train_options {
    const char *data, *test, *format;
    const char *log_path, *plot_path, *checkpoint, *resume;
    double test_split;
    int standardize, quiet;
    int test_split_given;
    so_read_options read;
    so_train_config cfg;
    const char *optim_name;               /* --optim */
    const char *optims;                   /* --optims, compare only */
    const char *summary_path;             /* --summary, compare only */
    hp_override hp[MAX_HP_OVERRIDES];
    size_t hp_count;
    const char *schedule_name;            /* --schedule, NULL for a constant rate */
    so_schedule schedule_fields;          /* values of the schedule options */
    int has_step_size, has_gamma, has_t_max, has_eta_min, has_warmup, has_warmup_start;
} train_options;

/* Parses the options of `stochopt train` (compare 0) or `stochopt compare` (compare 1).
 * Returns -1 on a usage error (printed), 1 when --help or --version was handled, 0 to run.
 * The optimizer named by --optim is configured (strictly) for train only. */
int parse_train_options(int argc, char **argv, train_options *o, int compare);

/* Sets cfg->optim and cfg->optim_params for the method `name` from its defaults and the
 * command-line overrides. With strict, an override the method does not read is an error;
 * without, it is skipped. Prints the error and returns -1 on failure. */
int configure_optimizer(const train_options *o, const char *name, int strict,
                        so_train_config *cfg);

/* Sets cfg->schedule from the schedule options; returns -1 after printing an error. */
int configure_schedule(const train_options *o, so_train_config *cfg);

/* Loads train and test sets. Returns 0, or an exit status after printing the error. */
int load_data(const train_options *o, so_dataset **train, so_dataset **test);

/* Checks output paths and the model spec before the data is loaded. */
int check_before_loading(const train_options *o);

/* Reads the checkpoint to resume from and shows its settings in place of the command
 * line's, which it overrides. */
int preview_resume(train_options *o);

/* Writes the per-epoch log of a run as CSV, atomically; prints the error and returns -1
 * on failure. */
int write_log_csv(const char *path, const so_train_result *res);

#endif
