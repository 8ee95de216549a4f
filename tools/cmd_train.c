/* stochopt train: train a model on a dataset and log, plot and checkpoint the run. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "train_cli.h"

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

int write_log_csv(const char *path, const so_train_result *res)
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
    if (rep->opts->log_path != NULL && write_log_csv(rep->opts->log_path, rep->result) != 0)
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
    rc = parse_train_options(argc, argv, &o, 0);
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
