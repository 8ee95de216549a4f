/* stochopt train: train a model on a dataset and log, plot and checkpoint the run. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "stochopt/stochopt.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define DEFAULT_DATA_PACKAGE "dataset-fashion-mnist"

typedef struct train_options {
    const char *data, *test, *format;
    const char *log_path, *plot_path, *checkpoint, *resume;
    double test_split;
    int standardize, quiet;
    int test_split_given;
    so_read_options read;
    so_train_config cfg;
} train_options;

static void train_usage(FILE *out)
{
    char names[256];
    so_optim_type_list(names, sizeof names);
    fprintf(out,
        "Usage: stochopt train [OPTIONS]\n"
        "\n"
        "Trains a neural network classifier with minibatch stochastic optimization and\n"
        "evaluates it on the test set after every epoch. Without options it trains\n"
        "mlp:256,128 with Adam on Fashion-MNIST from " DEFAULT_DATA_DIR ".\n"
        "\n"
        "Data:\n"
        "  --data PATH         directory of MNIST-style IDX files (train-*, t10k-*), or one\n"
        "                      LIBSVM, CSV or NPY file (default " DEFAULT_DATA_DIR ")\n"
        "  --format NAME       auto, idx, libsvm, csv or npy (default auto: by extension)\n"
        "  --test PATH         test file for a single-file --data\n"
        "  --test-split F      without --test, hold out fraction F of the rows (default 0.2)\n"
        "  --label-column K    CSV/NPY column with the class label, -1 for the last (default)\n"
        "  --header yes|no     whether a CSV file starts with a header line (default: yes\n"
        "                      when no field of the first line is a number)\n"
        "  --zero-based        LIBSVM feature indices start at 0 instead of 1\n"
        "  --standardize       scale each feature to zero mean and unit variance (train stats)\n"
        "Model and optimizer:\n"
        "  --model SPEC        mlp:W1,W2,...[:relu|tanh|sigmoid] or linear (default mlp:256,128)\n"
        "  --optim NAME        %s (default adam)\n"
        "  --lr X              learning rate (default: 1e-3 for the Adam family, 0.01 for\n"
        "                      the others)\n"
        "  --momentum X        SGD momentum (default 0)\n"
        "  --dampening X       SGD dampening (default 0)\n"
        "  --nesterov          SGD with Nesterov momentum\n"
        "  --beta1 X, --beta2 X  Adam moment decay rates (default 0.9, 0.999)\n"
        "  --eps X             Adam denominator offset (default 1e-8)\n"
        "  --amsgrad           Adam with the AMSGrad maximum\n"
        "  --weight-decay X    L2 penalty added to the gradient (default 0)\n"
        "  --clip-norm X       clip the global gradient norm to X (default 0: off)\n"
        "Run:\n"
        "  --batch N           minibatch size (default 128)\n"
        "  --epochs N          total epochs, counting those before a resume (default 10)\n"
        "  --seed N            seed of initialization and data order (default 0)\n"
        "  --threads N         threads for OpenBLAS and OpenMP (default 1); results are\n"
        "                      identical for the same seed and thread count\n"
        "Output:\n"
        "  --log FILE.csv      per-epoch measurements as CSV\n"
        "  --plot FILE.svg     learning curves (train and test loss, test accuracy)\n"
        "  --checkpoint FILE   write a checkpoint after every epoch (atomically)\n"
        "  --resume FILE       continue the run saved in FILE; later checkpoints go to\n"
        "                      --checkpoint, or back to FILE when it is not given\n"
        "  --quiet             print only errors and the final summary\n"
        "  -h, --help          show this help\n"
        "  -V, --version       show the version\n", names);
}

enum {
    OPT_DATA = 256, OPT_TEST, OPT_FORMAT, OPT_TEST_SPLIT, OPT_LABEL_COLUMN, OPT_ZERO_BASED,
    OPT_STANDARDIZE, OPT_MODEL, OPT_OPTIM, OPT_LR, OPT_MOMENTUM, OPT_DAMPENING, OPT_NESTEROV,
    OPT_BETA1, OPT_BETA2, OPT_EPS, OPT_AMSGRAD, OPT_WEIGHT_DECAY, OPT_CLIP_NORM, OPT_BATCH,
    OPT_EPOCHS, OPT_SEED, OPT_THREADS, OPT_LOG, OPT_PLOT, OPT_CHECKPOINT, OPT_RESUME, OPT_QUIET, OPT_HEADER
};

static const struct option TRAIN_OPTIONS[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"test", required_argument, NULL, OPT_TEST},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"test-split", required_argument, NULL, OPT_TEST_SPLIT},
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"zero-based", no_argument, NULL, OPT_ZERO_BASED},
    {"standardize", no_argument, NULL, OPT_STANDARDIZE},
    {"model", required_argument, NULL, OPT_MODEL},
    {"optim", required_argument, NULL, OPT_OPTIM},
    {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"dampening", required_argument, NULL, OPT_DAMPENING},
    {"nesterov", no_argument, NULL, OPT_NESTEROV},
    {"beta1", required_argument, NULL, OPT_BETA1},
    {"beta2", required_argument, NULL, OPT_BETA2},
    {"eps", required_argument, NULL, OPT_EPS},
    {"amsgrad", no_argument, NULL, OPT_AMSGRAD},
    {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
    {"clip-norm", required_argument, NULL, OPT_CLIP_NORM},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"log", required_argument, NULL, OPT_LOG},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"header", required_argument, NULL, OPT_HEADER},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Optimizer settings given on the command line; applied over the chosen method's
 * defaults once all options are read, so their order does not matter. */
typedef struct optim_overrides {
    const char *name;
    double lr, momentum, dampening, beta1, beta2, eps, weight_decay, clip_norm;
    int has_lr, has_momentum, has_dampening, has_beta1, has_beta2, has_eps, has_wd, has_clip;
    int nesterov, amsgrad;
} optim_overrides;

/* Parses one numeric optimizer option into ov; returns 0, -1 on a bad value, or 1 when
 * the option is not an optimizer option. */
static int parse_optim_option(int code, const char *arg, optim_overrides *ov)
{
    switch (code) {
    case OPT_LR:
        ov->has_lr = 1;
        return cli_parse_double("--lr", arg, 0.0, 1e6, &ov->lr);
    case OPT_MOMENTUM:
        ov->has_momentum = 1;
        return cli_parse_double("--momentum", arg, 0.0, 1.0, &ov->momentum);
    case OPT_DAMPENING:
        ov->has_dampening = 1;
        return cli_parse_double("--dampening", arg, 0.0, 1.0, &ov->dampening);
    case OPT_BETA1:
        ov->has_beta1 = 1;
        return cli_parse_double("--beta1", arg, 0.0, 1.0, &ov->beta1);
    case OPT_BETA2:
        ov->has_beta2 = 1;
        return cli_parse_double("--beta2", arg, 0.0, 1.0, &ov->beta2);
    case OPT_EPS:
        ov->has_eps = 1;
        return cli_parse_double("--eps", arg, 0.0, 1.0, &ov->eps);
    case OPT_WEIGHT_DECAY:
        ov->has_wd = 1;
        return cli_parse_double("--weight-decay", arg, 0.0, 1e6, &ov->weight_decay);
    case OPT_CLIP_NORM:
        ov->has_clip = 1;
        return cli_parse_double("--clip-norm", arg, 0.0, 1e30, &ov->clip_norm);
    case OPT_NESTEROV:
        ov->nesterov = 1;
        return 0;
    case OPT_AMSGRAD:
        ov->amsgrad = 1;
        return 0;
    default:
        return 1;
    }
}

static int apply_optim_overrides(const optim_overrides *ov, so_train_config *cfg)
{
    cfg->optim = so_optim_type_find(ov->name);
    if (cfg->optim == NULL) {
        char names[256];
        so_optim_type_list(names, sizeof names);
        cli_error("--optim: unknown optimizer '%s'; expected one of %s", ov->name, names);
        return -1;
    }
    so_optim_params *p = &cfg->optim_params;
    *p = so_optim_params_default(cfg->optim);
    if (ov->has_lr) p->lr = ov->lr;
    if (ov->has_momentum) p->momentum = ov->momentum;
    if (ov->has_dampening) p->dampening = ov->dampening;
    if (ov->has_beta1) p->beta1 = ov->beta1;
    if (ov->has_beta2) p->beta2 = ov->beta2;
    if (ov->has_eps) p->eps = ov->eps;
    if (ov->has_wd) p->weight_decay = ov->weight_decay;
    if (ov->has_clip) p->clip_norm = ov->clip_norm;
    p->nesterov = ov->nesterov;
    p->amsgrad = ov->amsgrad;

    /* Build a one-parameter optimizer to reject invalid combinations now, with exit
     * status 2, rather than after the data is loaded. */
    so_optimizer *probe = NULL;
    if (so_optimizer_new(cfg->optim, 1, SO_F32, p, &probe) != SO_OK) {
        cli_error("invalid optimizer setting: %s", so_last_error());
        return -1;
    }
    so_optimizer_free(&probe);
    return 0;
}

static int parse_run_option(int code, const char *arg, train_options *o)
{
    long v;
    switch (code) {
    case OPT_DATA: o->data = arg; return 0;
    case OPT_TEST: o->test = arg; return 0;
    case OPT_FORMAT: o->format = arg; return 0;
    case OPT_TEST_SPLIT:
        o->test_split_given = 1;
        return cli_parse_double("--test-split", arg, 0.0, 0.99, &o->test_split);
    case OPT_LABEL_COLUMN:
        if (cli_parse_long("--label-column", arg, -1, 1000000, &v) != 0)
            return -1;
        o->read.label_column = (int)v;
        return 0;
    case OPT_ZERO_BASED: o->read.zero_based = 1; return 0;
    case OPT_HEADER:
        if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0) {
            cli_error("--header: expected yes or no, found '%s'", arg);
            return -1;
        }
        o->read.csv_header = strcmp(arg, "yes") == 0;
        return 0;
    case OPT_STANDARDIZE: o->standardize = 1; return 0;
    case OPT_MODEL: o->cfg.model_spec = arg; return 0;
    case OPT_BATCH:
        if (cli_parse_long("--batch", arg, 1, 1L << 24, &v) != 0)
            return -1;
        o->cfg.batch_size = (size_t)v;
        return 0;
    case OPT_EPOCHS:
        return cli_parse_long("--epochs", arg, 1, 1000000, &o->cfg.epochs);
    case OPT_SEED:
        if (cli_parse_long("--seed", arg, 0, 0x7fffffffffffffffL, &v) != 0)
            return -1;
        o->cfg.seed = (uint64_t)v;
        return 0;
    case OPT_THREADS:
        if (cli_parse_long("--threads", arg, 1, 1024, &v) != 0)
            return -1;
        o->cfg.threads = (int)v;
        return 0;
    case OPT_LOG: o->log_path = arg; return 0;
    case OPT_PLOT: o->plot_path = arg; return 0;
    case OPT_CHECKPOINT: o->checkpoint = arg; return 0;
    case OPT_RESUME: o->resume = arg; return 0;
    case OPT_QUIET: o->quiet = 1; return 0;
    default: return 1;
    }
}

/* Returns -1 on a usage error, 1 when --help or --version was handled, 0 to run. */
static int parse_train_options(int argc, char **argv, train_options *o)
{
    optim_overrides ov;
    int code;

    memset(&ov, 0, sizeof ov);
    ov.name = "adam";
    o->data = DEFAULT_DATA_DIR;
    o->format = "auto";
    o->test_split = 0.2;
    o->read = so_read_options_default();
    o->cfg = so_train_config_default();
    opterr = 0;
    optind = 1;
    while ((code = getopt_long(argc, argv, ":hV", TRAIN_OPTIONS, NULL)) != -1) {
        int rc;
        if (code == 'h') {
            train_usage(stdout);
            return 1;
        }
        if (code == 'V') {
            printf("stochopt %s\n", so_version());
            return 1;
        }
        if (code == '?' || code == ':') {
            const char *bad = argv[optind - 1];
            cli_error(code == ':' ? "option %s needs a value" : "unknown option %s; run "
                      "'stochopt train --help' for the list", bad);
            return -1;
        }
        if (code == OPT_OPTIM) {
            ov.name = optarg;
            continue;
        }
        rc = parse_optim_option(code, optarg, &ov);
        if (rc == 1)
            rc = parse_run_option(code, optarg, o);
        if (rc != 0)
            return -1;
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'; options start with --", argv[optind]);
        return -1;
    }
    if (so_format_from_name(o->format) < 0) {
        cli_error("--format: unknown format '%s'; expected auto, idx, libsvm, csv or npy",
                  o->format);
        return -1;
    }
    return apply_optim_overrides(&ov, &o->cfg);
}

/* Loads train and test sets. Returns 0, or an exit status after printing the error. */
static int load_data(const train_options *o, so_dataset **train, so_dataset **test)
{
    struct stat st;
    int format = so_format_from_name(o->format);
    int status;

    if (stat(o->data, &st) != 0) {
        if (strcmp(o->data, DEFAULT_DATA_DIR) == 0)
            cli_error("%s: not found; the default data set is Fashion-MNIST from the Debian "
                      "package " DEFAULT_DATA_PACKAGE " (sudo apt-get install "
                      DEFAULT_DATA_PACKAGE "), or pass --data PATH", o->data);
        else
            cli_error("--data %s: %s", o->data, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode) && (format == SO_FORMAT_AUTO || format == SO_FORMAT_IDX)) {
        if (o->test != NULL || o->test_split_given) {
            cli_error("--data %s is a directory of IDX files with its own test set; --test "
                      "and --test-split apply to a single data file", o->data);
            return CLI_EXIT_USAGE;
        }
        status = so_idx_dir_read(o->data, train, test);
        if (status != SO_OK) {
            cli_error("%s", so_last_error());
            return CLI_EXIT_USAGE;
        }
        if ((*train)->label == NULL && so_dataset_encode_labels(*train, 1 << 16) != SO_OK)
            goto fail;
        if ((*test)->label == NULL && so_dataset_encode_labels_like(*test, *train) != SO_OK)
            goto fail;
        if ((*test)->d != (*train)->d) {
            cli_error("--data %s: the test images have %zu pixels each, the training images "
                      "%zu", o->data, (*test)->d, (*train)->d);
            return CLI_EXIT_USAGE;
        }
        return 0;
    }
    so_dataset *all = NULL;
    if (so_dataset_read(o->data, (so_format)format, &o->read, &all) != SO_OK)
        goto fail;
    if (so_dataset_encode_labels(all, 1 << 16) != SO_OK) {
        so_dataset_free(&all);
        goto fail;
    }
    if (o->test != NULL) {
        /* LIBSVM files set their width by the largest index, so the test file is read
         * at the training width; the other readers ignore num_features. */
        so_read_options test_read = o->read;
        test_read.num_features = all->d;
        *train = all;
        if (so_dataset_read(o->test, (so_format)format, &test_read, test) != SO_OK ||
            so_dataset_encode_labels_like(*test, *train) != SO_OK)
            goto fail;
        if ((*test)->d != (*train)->d) {
            cli_error("--test %s: %zu features, but the training data has %zu", o->test,
                      (*test)->d, (*train)->d);
            return CLI_EXIT_USAGE;
        }
        return 0;
    }
    status = so_dataset_split(all, 1.0 - o->test_split, o->cfg.seed, train, test);
    size_t rows = all->n;
    so_dataset_free(&all);
    if (status != SO_OK)
        goto fail;
    if ((*train)->n == 0) {
        cli_error("--test-split %g leaves none of the %zu rows of %s for training", o->test_split,
                  rows, o->data);
        return CLI_EXIT_USAGE;
    }
    if ((*test)->n == 0 && !o->quiet)
        fprintf(stderr, "stochopt: no test rows (--test-split %g of %zu rows), so test loss "
                "and accuracy are not measured\n", o->test_split, rows);
    return 0;
fail:
    cli_error("%s", so_last_error());
    return CLI_EXIT_USAGE;
}

/* Rejects an output path whose directory is missing or not writable, or that names a
 * directory, before any training time is spent. */
static int check_output_path(const char *option, const char *path)
{
    struct stat st;
    char *copy;
    const char *dir;

    if (path == NULL)
        return 0;
    if (path[0] == '\0') {
        cli_error("%s: the file name is empty", option);
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("%s %s: is a directory; expected a file name", option, path);
        return -1;
    }
    copy = strdup(path);
    if (copy == NULL)
        return -1;
    dir = dirname(copy);
    int ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    if (!ok)
        cli_error("%s %s: directory %s does not exist", option, path, dir);
    else if (access(dir, W_OK) != 0) {
        cli_error("%s %s: directory %s is not writable", option, path, dir);
        ok = 0;
    }
    free(copy);
    return ok ? 0 : -1;
}

/* Returns 1 when a and b name the same file: the same inode when both exist, else the
 * same path string. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (a == NULL || b == NULL)
        return 0;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return strcmp(a, b) == 0;
}

/* Rejects an output that would overwrite an input or another output. */
static int check_distinct_paths(const train_options *o)
{
    const char *checkpoint = o->checkpoint != NULL ? o->checkpoint : o->resume;
    const struct {
        const char *option, *path;
    } outputs[] = {{"--log", o->log_path}, {"--plot", o->plot_path},
                   {"--checkpoint", checkpoint}};
    const struct {
        const char *option, *path;
    } inputs[] = {{"--data", o->data}, {"--test", o->test}};

    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 2; j++)
            if (same_file(outputs[i].path, inputs[j].path)) {
                cli_error("%s %s would overwrite the %s file", outputs[i].option,
                          outputs[i].path, inputs[j].option);
                return -1;
            }
        for (size_t j = i + 1; j < 3; j++)
            if (same_file(outputs[i].path, outputs[j].path)) {
                cli_error("%s and %s name the same file %s", outputs[i].option,
                          outputs[j].option, outputs[i].path);
                return -1;
            }
    }
    return 0;
}

/* Checks what can be checked before the data is loaded: output paths and the model
 * spec. Prints the error and returns -1 on a problem. */
static int check_before_loading(const train_options *o)
{
    so_model *probe = NULL;

    if (check_distinct_paths(o) != 0)
        return -1;

    if (check_output_path("--log", o->log_path) != 0 ||
        check_output_path("--plot", o->plot_path) != 0 ||
        check_output_path("--checkpoint", o->checkpoint) != 0 ||
        (o->checkpoint == NULL && check_output_path("--resume", o->resume) != 0))
        return -1;
    if (o->resume == NULL) {
        if (so_model_new(o->cfg.model_spec, 1, 2, &probe) != SO_OK) {
            cli_error("--model: %s", so_last_error());
            return -1;
        }
        so_model_free(&probe);
    }
    return 0;
}

/* Reads the checkpoint to resume from and shows its settings in place of the command
 * line's, which it overrides. Returns 0, or prints the error and returns -1. */
static int preview_resume(train_options *o)
{
    so_checkpoint ck;

    if (o->resume == NULL)
        return 0;
    if (so_checkpoint_read(o->resume, &ck) != SO_OK) {
        cli_error("--resume: %s", so_last_error());
        return -1;
    }
    static char spec[sizeof ck.model_spec];
    memcpy(spec, ck.model_spec, sizeof spec);
    o->cfg.model_spec = spec;
    o->cfg.optim = so_optim_type_find(ck.optim_name);
    o->cfg.seed = ck.seed;
    o->cfg.batch_size = ck.batch_size;
    if (ck.epochs_done > 0)
        o->cfg.optim_params.lr = ck.history[ck.epochs_done - 1].lr;
    if (!o->quiet)
        fprintf(stderr, "stochopt: resuming %s after epoch %ld; its model, optimizer "
                "settings, seed and batch size replace those on the command line\n",
                o->resume, ck.epochs_done);
    if (ck.epochs_done >= o->cfg.epochs && !o->quiet)
        fprintf(stderr, "stochopt: the checkpoint already holds %ld epochs, so there is "
                "nothing to train; raise --epochs to continue\n", ck.epochs_done);
    int known = o->cfg.optim != NULL;
    if (!known)
        cli_error("--resume %s: unknown optimizer \"%s\"", o->resume, ck.optim_name);
    so_checkpoint_clear(&ck);
    return known ? 0 : -1;
}

/* ---- Interruption: SIGINT and SIGTERM stop the run at the next progress report. */

static volatile sig_atomic_t interrupted;

static void on_signal(int signo)
{
    interrupted = signo;
}

/* ---- Reporting during the run */

typedef struct reporter {
    const train_options *opts;
    so_train_result *result;
    int tty;               /* stderr is a terminal: draw a progress bar */
    int bar_shown;
} reporter;

static void clear_bar(reporter *rep)
{
    if (rep->bar_shown) {
        fputs("\r\033[K", stderr);
        rep->bar_shown = 0;
    }
}

static void log_to_stderr(void *user, so_log_level level, const char *message)
{
    reporter *rep = user;
    clear_bar(rep);
    if (rep->opts->quiet && level < SO_LOG_WARN)
        return;
    fprintf(stderr, "stochopt: %s%s\n", level >= SO_LOG_WARN ? "warning: " : "", message);
}

static int on_progress(void *user, const so_progress *p)
{
    reporter *rep = user;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int filled = p->steps > 0 ? (int)(WIDTH * p->step / p->steps) : 0;

    if (interrupted)
        return 1;
    if (!rep->tty || rep->opts->quiet)
        return 0;
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r\033[Kepoch %ld/%ld [%s] %ld/%ld loss %.4f %.0f samples/s", p->epoch,
            p->epochs, bar, p->step, p->steps, p->loss, p->samples_per_second);
    fflush(stderr);
    rep->bar_shown = 1;
    return 0;
}

static int write_csv(const char *path, const so_train_result *res)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (mem == NULL) {
        cli_error("%s: out of memory writing the log", path);
        return -1;
    }
    fprintf(mem, "epoch,step,samples,train_loss,test_loss,test_accuracy,lr,batch_size,"
            "seconds\n");
    for (long e = 0; e < res->epochs; e++) {
        const so_epoch_record *r = &res->history[e];
        fprintf(mem, "%ld,%ld,%ld,%.9g,%.9g,%.6f,%.9g,%zu,%.3f\n", r->epoch, r->step,
                r->samples, r->train_loss, r->test_loss, r->test_accuracy, r->lr,
                r->batch_size, r->seconds);
    }
    if (fclose(mem) != 0 || text == NULL) {
        free(text);
        cli_error("%s: out of memory writing the log", path);
        return -1;
    }
    int rc = cli_write_file_atomic(path, text, len);
    if (rc != 0)
        cli_error("%s: cannot write the log: %s", path, strerror(errno));
    free(text);
    return rc;
}

static int write_plot(const char *path, const so_train_result *res)
{
    size_t n = (size_t)res->epochs;
    double *buf = malloc(4 * (n ? n : 1) * sizeof *buf);
    if (buf == NULL) {
        cli_error("%s: out of memory drawing the plot", path);
        return -1;
    }
    double *x = buf, *train = buf + n, *test = buf + 2 * n, *acc = buf + 3 * n;
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)res->history[i].epoch;
        train[i] = res->history[i].train_loss;
        test[i] = res->history[i].test_loss;
        acc[i] = res->history[i].test_accuracy;
    }
    plot_series loss[2] = {{"train loss", x, train, n, 0}, {"test loss", x, test, n, 1}};
    plot_series accuracy[1] = {{"test accuracy", x, acc, n, 0}};
    plot_panel panels[2] = {{"Cross-entropy loss", "epoch", "loss", loss, 2},
                            {"Test accuracy", "epoch", "accuracy", accuracy, 1}};
    int rc = plot_write_svg(path, panels, 2);
    free(buf);
    return rc;
}

static int on_epoch(void *user, const so_epoch_record *r)
{
    reporter *rep = user;
    clear_bar(rep);
    if (!rep->opts->quiet) {
        printf("epoch %3ld/%ld  train_loss %.4f  test_loss %.4f  test_accuracy %.4f  "
               "%.0f samples/s", r->epoch, rep->opts->cfg.epochs, r->train_loss,
               r->test_loss, r->test_accuracy, r->samples_per_second);
        if (r->skipped_steps > 0)
            printf("  (%ld steps skipped so far)", r->skipped_steps);
        printf("\n");
        fflush(stdout);
    }
    /* Rewrite the log and plot after every epoch, so an interrupted run keeps them. */
    if (rep->opts->log_path != NULL && write_csv(rep->opts->log_path, rep->result) != 0)
        return 1;
    if (rep->opts->plot_path != NULL && write_plot(rep->opts->plot_path, rep->result) != 0)
        return 1;
    return 0;
}

/* Prints the line that opens a run: data, model and optimizer settings. */
static void print_header(const train_options *o, const so_dataset *train,
                         const so_dataset *test)
{
    const so_train_config *c = &o->cfg;
    char optim[160];
    int len = snprintf(optim, sizeof optim, "%s lr %g", so_optim_type_name(c->optim),
                       c->optim_params.lr);
    if (c->optim_params.momentum > 0 && len > 0 && (size_t)len < sizeof optim)
        snprintf(optim + len, sizeof optim - (size_t)len, " momentum %g%s",
                 c->optim_params.momentum, c->optim_params.nesterov ? " (Nesterov)" : "");
    printf("stochopt train: %s: %zu training and %zu test rows, %zu features, %d classes; "
           "model %s, %s, batch %zu, seed %llu, %d thread%s\n", o->data, train->n,
           test ? test->n : 0, train->d, train->num_classes, c->model_spec, optim,
           c->batch_size, (unsigned long long)c->seed, c->threads,
           c->threads == 1 ? "" : "s");
}

static void report_interruption(const train_options *o, const so_train_result *result)
{
    const char *ckpt = o->cfg.checkpoint_path;
    long done = result->epochs > 0 ? result->history[result->epochs - 1].epoch : 0;

    if (ckpt != NULL && done > 0)
        cli_error("interrupted during epoch %ld; %s holds epoch %ld, continue with "
                  "--resume %s", done + 1, ckpt, done, ckpt);
    else
        cli_error("interrupted during epoch %ld; no checkpoint was written (use "
                  "--checkpoint FILE to make runs resumable)", done + 1);
}

int cli_train(int argc, char **argv)
{
    train_options o;
    so_dataset *train = NULL, *test = NULL;
    so_train_result result;
    reporter rep;
    int rc;

    memset(&o, 0, sizeof o);
    rc = parse_train_options(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (check_before_loading(&o) != 0 || preview_resume(&o) != 0)
        return CLI_EXIT_USAGE;
    memset(&rep, 0, sizeof rep);
    rep.opts = &o;
    rep.result = &result;
    rep.tty = isatty(fileno(stderr));
    so_set_log_handler(log_to_stderr, &rep, SO_LOG_INFO);

    rc = load_data(&o, &train, &test);
    if (rc != 0)
        goto done;
    if (o.standardize && so_dataset_standardize(train, &test, 1) != SO_OK) {
        cli_error("%s", so_last_error());
        rc = CLI_EXIT_FAILURE;
        goto done;
    }
    o.cfg.resume_path = o.resume;
    o.cfg.checkpoint_path = o.checkpoint != NULL ? o.checkpoint : o.resume;
    o.cfg.progress = on_progress;
    o.cfg.progress_user = &rep;
    o.cfg.on_epoch = on_epoch;
    o.cfg.epoch_user = &rep;
    if (!o.quiet)
        print_header(&o, train, test);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int status = so_train(&o.cfg, train, test, &result);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    clear_bar(&rep);
    if (status != SO_OK) {
        if (interrupted) {
            report_interruption(&o, &result);
            rc = 128 + interrupted;
        } else {
            if (status != SO_ERR_CALLBACK)
                cli_error("%s", so_last_error());
            rc = status == SO_ERR_INVALID || status == SO_ERR_NOT_FOUND ? CLI_EXIT_USAGE
                                                                         : CLI_EXIT_FAILURE;
        }
    } else if (result.epochs > 0) {
        const so_epoch_record *last = &result.history[result.epochs - 1];
        printf("final: epoch %ld, test_accuracy %.4f, test_loss %.4f, %.1f s of training",
               last->epoch, last->test_accuracy, last->test_loss, last->seconds);
        if (last->skipped_steps > 0)
            printf(", %ld steps skipped for non-finite gradients", last->skipped_steps);
        printf("\n");
    }
    so_train_result_clear(&result);
done:
    so_set_log_handler(NULL, NULL, SO_LOG_INFO);
    so_dataset_free(&train);
    so_dataset_free(&test);
    return rc;
}
