/* Options of `stochopt train` and `stochopt compare`: parsing, optimizer and schedule
 * configuration, data loading and the checks made before training starts. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "train_cli.h"

static void train_usage(FILE *out, int compare)
{
    char names[256], schedules[256];
    so_optim_type_list(names, sizeof names);
    so_schedule_type_list(schedules, sizeof schedules);
    if (compare)
        fprintf(out,
            "Usage: stochopt compare --optims NAME,NAME,... [OPTIONS]\n"
            "\n"
            "Trains the same model on the same data with each optimizer in turn (same seed,\n"
            "so the same initial weights and data order) and writes one overlaid plot and a\n"
            "summary table. Hyperparameter options apply to the methods that read them.\n"
            "\n"
            "  --optims LIST       comma-separated methods from: %s\n"
            "  --summary FILE.csv  the summary table as CSV\n", names);
    else
        fprintf(out,
            "Usage: stochopt train [OPTIONS]\n"
            "\n"
            "Trains a neural network classifier with minibatch stochastic optimization and\n"
            "evaluates it on the test set after every epoch. Without options it trains\n"
            "mlp:256,128 with Adam on Fashion-MNIST from " DEFAULT_DATA_DIR ".\n");
    fprintf(out,
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
        "Model:\n"
        "  --model SPEC        mlp:W1,W2,...[:relu|tanh|sigmoid] or linear (default mlp:256,128)\n");
    if (!compare)
        fprintf(out, "Optimizer:\n"
                     "  --optim NAME        %s (default adam)\n", names);
    else
        fprintf(out, "Optimizer:\n");
    fprintf(out,
        "  --lr X              learning rate (default: the method's, as in torch.optim:\n"
        "                      1e-3 for the Adam family and diffgrad, 0.01 for sgd,\n"
        "                      adagrad and rmsprop, 1 for adadelta and adagrad_norm)\n"
        "  --momentum X        momentum (sgd, rmsprop; default 0, 0.9 for momentum/nesterov)\n"
        "  --dampening X       SGD dampening (default 0)\n"
        "  --nesterov          Nesterov momentum (sgd)\n"
        "  --beta1 X, --beta2 X  moment decay rates (Adam family; default 0.9, 0.999)\n"
        "  --eps X             denominator offset (default: the method's)\n"
        "  --eps-placement P   after (torch, default), before (bias correction) or inside\n"
        "                      (the square root)\n"
        "  --amsgrad           keep the maximum second moment (Adam family)\n"
        "  --alpha X           RMSProp smoothing constant (default 0.99)\n"
        "  --centered          centered RMSProp\n"
        "  --rho X             AdaDelta decay rate (default 0.9)\n"
        "  --lr-decay X        AdaGrad learning-rate decay (default 0)\n"
        "  --initial-accumulator-value X  AdaGrad starting accumulator (default 0)\n"
        "  --weight-decay X    weight decay (default 0; 0.01 for adamw)\n"
        "  --decoupled-weight-decay  decay the weights directly, as AdamW does, instead of\n"
        "                      adding an L2 term to the gradient\n"
        "  --maximize          ascend instead of descend\n"
        "  --clip-norm X       clip the global gradient norm to X (default 0: off)\n"
        "  --clip-value X      clip each gradient entry to [-X, X] (default 0: off)\n"
        "Learning-rate schedule (counted in optimizer steps):\n"
        "  --schedule NAME     %s (default constant)\n"
        "  --step-size N       step: steps between decays (default 1)\n"
        "  --gamma X           step and exponential: decay factor\n"
        "  --t-max N           cosine half period and last_iterate horizon (default: all\n"
        "                      steps of the run)\n"
        "  --eta-min X         cosine: final learning rate (default 0)\n"
        "  --warmup N          linear warm-up over the first N steps (default 0)\n"
        "  --warmup-start F    warm-up starts at F times the learning rate (default 0)\n"
        "Run:\n"
        "  --batch N           minibatch size (default 128)\n"
        "  --epochs N          total epochs, counting those before a resume (default 10)\n"
        "  --seed N            seed of initialization and data order (default 0)\n"
        "  --threads N         threads for OpenBLAS and OpenMP (default 1); results are\n"
        "                      identical for the same seed and thread count\n"
        "Output:\n", schedules);
    if (compare)
        fprintf(out,
        "  --log PREFIX        write PREFIX-METHOD.csv for each method\n"
        "  --plot FILE.svg     overlaid curves (train loss, test loss, test accuracy)\n");
    else
        fprintf(out,
        "  --log FILE.csv      per-epoch measurements as CSV\n"
        "  --plot FILE.svg     learning curves (train and test loss, test accuracy)\n"
        "  --checkpoint FILE   write a checkpoint after every epoch (atomically)\n"
        "  --resume FILE       continue the run saved in FILE; later checkpoints go to\n"
        "                      --checkpoint, or back to FILE when it is not given\n");
    fprintf(out,
        "  --quiet             print only errors and the final summary\n"
        "  -h, --help          show this help\n"
        "  -V, --version       show the version\n");
}

enum {
    OPT_DATA = 256, OPT_TEST, OPT_FORMAT, OPT_TEST_SPLIT, OPT_LABEL_COLUMN, OPT_ZERO_BASED,
    OPT_STANDARDIZE, OPT_MODEL, OPT_OPTIM, OPT_OPTIMS, OPT_SUMMARY, OPT_BATCH, OPT_EPOCHS,
    OPT_SEED, OPT_THREADS, OPT_LOG, OPT_PLOT, OPT_CHECKPOINT, OPT_RESUME, OPT_QUIET,
    OPT_HEADER, OPT_SCHEDULE, OPT_STEP_SIZE, OPT_GAMMA, OPT_T_MAX, OPT_ETA_MIN, OPT_WARMUP,
    OPT_WARMUP_START, OPT_EPS_PLACEMENT, OPT_HP_BASE = 512
};

/* Optimizer hyperparameters with their option names; the code of entry i is
 * OPT_HP_BASE + i. Flags take no value. */
static const struct {
    const char *option, *name;
    int flag;
} HP_OPTIONS[] = {
    {"lr", "lr", 0}, {"momentum", "momentum", 0}, {"dampening", "dampening", 0},
    {"nesterov", "nesterov", 1}, {"beta1", "beta1", 0}, {"beta2", "beta2", 0},
    {"eps", "eps", 0}, {"amsgrad", "amsgrad", 1}, {"weight-decay", "weight_decay", 0},
    {"maximize", "maximize", 1}, {"clip-norm", "clip_norm", 0},
    {"clip-value", "clip_value", 0}, {"lr-decay", "lr_decay", 0},
    {"initial-accumulator-value", "initial_accumulator_value", 0}, {"alpha", "alpha", 0},
    {"rho", "rho", 0}, {"centered", "centered", 1},
    {"decoupled-weight-decay", "decoupled_weight_decay", 1},
};
enum { HP_OPTION_COUNT = sizeof HP_OPTIONS / sizeof HP_OPTIONS[0] };

static const struct option FIXED_OPTIONS[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"test", required_argument, NULL, OPT_TEST},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"test-split", required_argument, NULL, OPT_TEST_SPLIT},
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"zero-based", no_argument, NULL, OPT_ZERO_BASED},
    {"standardize", no_argument, NULL, OPT_STANDARDIZE},
    {"header", required_argument, NULL, OPT_HEADER},
    {"model", required_argument, NULL, OPT_MODEL},
    {"optim", required_argument, NULL, OPT_OPTIM},
    {"optims", required_argument, NULL, OPT_OPTIMS},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"eps-placement", required_argument, NULL, OPT_EPS_PLACEMENT},
    {"schedule", required_argument, NULL, OPT_SCHEDULE},
    {"step-size", required_argument, NULL, OPT_STEP_SIZE},
    {"gamma", required_argument, NULL, OPT_GAMMA},
    {"t-max", required_argument, NULL, OPT_T_MAX},
    {"eta-min", required_argument, NULL, OPT_ETA_MIN},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"warmup-start", required_argument, NULL, OPT_WARMUP_START},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"log", required_argument, NULL, OPT_LOG},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
};
enum { FIXED_OPTION_COUNT = sizeof FIXED_OPTIONS / sizeof FIXED_OPTIONS[0] };

/* The getopt_long table: the fixed options, then one per hyperparameter, then the end. */
static struct option all_options[FIXED_OPTION_COUNT + HP_OPTION_COUNT + 1];

static void build_option_table(void)
{
    memcpy(all_options, FIXED_OPTIONS, sizeof FIXED_OPTIONS);
    for (size_t i = 0; i < HP_OPTION_COUNT; i++) {
        struct option *opt = &all_options[FIXED_OPTION_COUNT + i];
        opt->name = HP_OPTIONS[i].option;
        opt->has_arg = HP_OPTIONS[i].flag ? no_argument : required_argument;
        opt->flag = NULL;
        opt->val = OPT_HP_BASE + (int)i;
    }
    memset(&all_options[FIXED_OPTION_COUNT + HP_OPTION_COUNT], 0, sizeof(struct option));
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


static int add_override(train_options *o, const char *option, const char *name,
                        double value)
{
    for (size_t i = 0; i < o->hp_count; i++)
        if (strcmp(o->hp[i].name, name) == 0) {
            o->hp[i].value = value;
            return 0;
        }
    if (o->hp_count == MAX_HP_OVERRIDES) {
        cli_error("%s: too many optimizer options", option);
        return -1;
    }
    o->hp[o->hp_count++] = (hp_override){option, name, value};
    return 0;
}

/* Parses one hyperparameter option; returns 0, -1 on a bad value, 1 if not one. */
static int parse_hp_option(int code, const char *arg, train_options *o)
{
    static const char *const PLACEMENTS[] = {"after", "before", "inside"};
    double v = 1.0;

    if (code == OPT_EPS_PLACEMENT) {
        for (int i = 0; i < 3; i++)
            if (strcmp(arg, PLACEMENTS[i]) == 0)
                return add_override(o, "--eps-placement", "eps_placement", i);
        cli_error("--eps-placement: expected after, before or inside, found '%s'", arg);
        return -1;
    }
    if (code < OPT_HP_BASE || code >= OPT_HP_BASE + HP_OPTION_COUNT)
        return 1;
    size_t i = (size_t)(code - OPT_HP_BASE);
    static char option_names[HP_OPTION_COUNT][48];
    snprintf(option_names[i], sizeof option_names[i], "--%s", HP_OPTIONS[i].option);
    if (!HP_OPTIONS[i].flag &&
        cli_parse_double(option_names[i], arg, 0.0, 1e6, &v) != 0)
        return -1;
    return add_override(o, option_names[i], HP_OPTIONS[i].name, v);
}

/* Parses one schedule option; returns 0, -1 on a bad value, 1 if not one. */
static int parse_schedule_option(int code, const char *arg, train_options *o)
{
    so_schedule *s = &o->schedule_fields;
    long v;
    switch (code) {
    case OPT_SCHEDULE:
        o->schedule_name = arg;
        return 0;
    case OPT_STEP_SIZE:
        o->has_step_size = 1;
        if (cli_parse_long("--step-size", arg, 1, 1L << 40, &v) != 0)
            return -1;
        s->step_size = (uint64_t)v;
        return 0;
    case OPT_GAMMA:
        o->has_gamma = 1;
        return cli_parse_double("--gamma", arg, 0.0, 1.0, &s->gamma);
    case OPT_T_MAX:
        o->has_t_max = 1;
        if (cli_parse_long("--t-max", arg, 1, 1L << 40, &v) != 0)
            return -1;
        s->t_max = (uint64_t)v;
        return 0;
    case OPT_ETA_MIN:
        o->has_eta_min = 1;
        return cli_parse_double("--eta-min", arg, 0.0, 1e6, &s->eta_min);
    case OPT_WARMUP:
        o->has_warmup = 1;
        if (cli_parse_long("--warmup", arg, 0, 1L << 40, &v) != 0)
            return -1;
        s->warmup_steps = (uint64_t)v;
        return 0;
    case OPT_WARMUP_START:
        o->has_warmup_start = 1;
        return cli_parse_double("--warmup-start", arg, 0.0, 1.0, &s->warmup_start_factor);
    default:
        return 1;
    }
}

/* Returns 1 when the comma-separated list contains name as a whole item. */
static int list_contains(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t item = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (item == len && strncmp(p, name, len) == 0)
            return 1;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

int configure_optimizer(const train_options *o, const char *name, int strict,
                        so_train_config *cfg)
{
    char names[256];

    cfg->optim = so_optim_type_find(name);
    if (cfg->optim == NULL) {
        so_optim_type_list(names, sizeof names);
        cli_error("unknown optimizer '%s'; expected one of %s", name, names);
        return -1;
    }
    const char *reads = so_optim_type_params(cfg->optim);
    so_optim_params *p = &cfg->optim_params;
    *p = so_optim_params_default(cfg->optim);
    for (size_t i = 0; i < o->hp_count; i++) {
        const hp_override *h = &o->hp[i];
        if (!list_contains(reads, h->name)) {
            if (!strict)
                continue;
            cli_error("%s does not apply to %s, which reads %s", h->option, name, reads);
            return -1;
        }
        if (so_optim_params_set(p, h->name, h->value) != SO_OK) {
            cli_error("%s: %s", h->option, so_last_error());
            return -1;
        }
    }
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

int configure_schedule(const train_options *o, so_train_config *cfg)
{
    const so_schedule_type *type;
    char names[256];

    memset(&cfg->schedule, 0, sizeof cfg->schedule);
    if (o->schedule_name == NULL)
        return 0;
    type = so_schedule_type_find(o->schedule_name);
    if (type == NULL) {
        so_schedule_type_list(names, sizeof names);
        cli_error("--schedule: unknown schedule '%s'; expected one of %s", o->schedule_name,
                  names);
        return -1;
    }
    so_schedule s = so_schedule_default(type);
    const so_schedule *f = &o->schedule_fields;
    if (o->has_step_size) s.step_size = f->step_size;
    if (o->has_gamma) s.gamma = f->gamma;
    s.t_max = o->has_t_max ? f->t_max : 0; /* 0: so_train uses the run's step count */
    if (o->has_eta_min) s.eta_min = f->eta_min;
    if (o->has_warmup) s.warmup_steps = f->warmup_steps;
    if (o->has_warmup_start) s.warmup_start_factor = f->warmup_start_factor;
    cfg->schedule = s;
    return 0;
}

/* Returns the long name of the option with the given code. */
static const char *option_name(int code)
{
    for (size_t i = 0; all_options[i].name != NULL; i++)
        if (all_options[i].val == code)
            return all_options[i].name;
    return "?";
}

/* Returns -1 on a usage error, 1 when --help or --version was handled, 0 to run. */
int parse_train_options(int argc, char **argv, train_options *o, int compare)
{
    const char *command = compare ? "compare" : "train";
    int code;

    o->optim_name = "adam";
    o->data = DEFAULT_DATA_DIR;
    o->format = "auto";
    o->test_split = 0.2;
    o->read = so_read_options_default();
    o->cfg = so_train_config_default();
    build_option_table();
    opterr = 0;
    optind = 1;
    while ((code = getopt_long(argc, argv, ":hV", all_options, NULL)) != -1) {
        int rc;
        if (code == 'h') {
            train_usage(stdout, compare);
            return 1;
        }
        if (code == 'V') {
            printf("stochopt %s\n", so_version());
            return 1;
        }
        if (code == '?' || code == ':') {
            const char *bad = argv[optind - 1];
            if (code == ':')
                cli_error("option %s needs a value", bad);
            else
                cli_error("unknown or ambiguous option %s; run 'stochopt %s --help' for the "
                          "list", bad, command);
            return -1;
        }
        int compare_only = code == OPT_OPTIMS || code == OPT_SUMMARY;
        int train_only = code == OPT_OPTIM || code == OPT_CHECKPOINT || code == OPT_RESUME;
        if ((compare_only && !compare) || (train_only && compare)) {
            cli_error("option --%s does not apply to 'stochopt %s'", option_name(code),
                      command);
            return -1;
        }
        if (code == OPT_OPTIM || code == OPT_OPTIMS) {
            *(code == OPT_OPTIM ? &o->optim_name : &o->optims) = optarg;
            continue;
        }
        if (code == OPT_SUMMARY) {
            o->summary_path = optarg;
            continue;
        }
        rc = parse_hp_option(code, optarg, o);
        if (rc == 1)
            rc = parse_schedule_option(code, optarg, o);
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
    if (compare && o->optims == NULL) {
        cli_error("compare needs --optims, such as --optims adam,sgd,diffgrad");
        return -1;
    }
    if (configure_schedule(o, &o->cfg) != 0)
        return -1;
    return compare ? 0 : configure_optimizer(o, o->optim_name, 1, &o->cfg);
}

/* Loads train and test sets. Returns 0, or an exit status after printing the error. */
int load_data(const train_options *o, so_dataset **train, so_dataset **test)
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
int check_before_loading(const train_options *o)
{
    so_model *probe = NULL;

    if (check_distinct_paths(o) != 0)
        return -1;

    if (cli_check_output_path("--log", o->log_path) != 0 ||
        cli_check_output_path("--plot", o->plot_path) != 0 ||
        cli_check_output_path("--checkpoint", o->checkpoint) != 0 ||
        (o->checkpoint == NULL && cli_check_output_path("--resume", o->resume) != 0))
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
int preview_resume(train_options *o)
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
        fprintf(stderr, "stochopt: the checkpoint already contains %ld epochs, so there is "
                "nothing to train; raise --epochs to continue\n", ck.epochs_done);
    int known = o->cfg.optim != NULL;
    if (!known)
        cli_error("--resume %s: unknown optimizer \"%s\"", o->resume, ck.optim_name);
    so_checkpoint_clear(&ck);
    return known ? 0 : -1;
}

