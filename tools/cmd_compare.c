/* stochopt compare: train the same model with several optimizers and overlay the curves. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "train_cli.h"

enum { MAX_METHODS = 16 };

typedef struct method_run {
    char name[32];
    so_train_result result;
    int status;
} method_run;

typedef struct compare_progress {
    const char *method;
    long epochs;
    int quiet;
} compare_progress;

static int print_epoch(void *user, const so_epoch_record *r)
{
    const compare_progress *cp = user;
    if (!cp->quiet)
        printf("%-12s epoch %3ld/%ld  train_loss %.4f  test_loss %.4f  test_accuracy %.4f\n",
               cp->method, r->epoch, cp->epochs, r->train_loss, r->test_loss,
               r->test_accuracy);
    fflush(stdout);
    return 0;
}

/* Splits the --optims list into names; returns the count or -1 after an error. */
static int split_methods(const char *list, method_run *runs)
{
    int count = 0;
    for (const char *p = list; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof runs[0].name) {
            cli_error("--optims: expected a comma-separated list of method names, found '%s'",
                      list);
            return -1;
        }
        if (count == MAX_METHODS) {
            cli_error("--optims: at most %d methods", MAX_METHODS);
            return -1;
        }
        memcpy(runs[count].name, p, len);
        runs[count].name[len] = '\0';
        for (int i = 0; i < count; i++)
            if (strcmp(runs[i].name, runs[count].name) == 0) {
                cli_error("--optims: %s is listed twice", runs[count].name);
                return -1;
            }
        count++;
        p = comma != NULL ? comma + 1 : p + len;
    }
    return count;
}

/* Index of the epoch with the highest test accuracy (the first on ties). */
static long best_epoch(const so_train_result *res)
{
    long best = 0;
    for (long e = 1; e < res->epochs; e++)
        if (res->history[e].test_accuracy > res->history[best].test_accuracy)
            best = e;
    return best;
}

static int write_summary(const char *path, const method_run *runs, int count, FILE *table)
{
    FILE *csv = NULL;
    if (path != NULL && (csv = fopen(path, "w")) == NULL) {
        cli_error("--summary %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(table, "\n%-14s %14s %14s %10s %12s %10s\n", "method", "final_accuracy",
            "best_accuracy", "best_epoch", "final_loss", "seconds");
    if (csv != NULL)
        fprintf(csv, "method,final_test_accuracy,best_test_accuracy,best_epoch,"
                "final_train_loss,final_test_loss,seconds,status\n");
    for (int i = 0; i < count; i++) {
        const so_train_result *res = &runs[i].result;
        if (res->epochs == 0) {
            fprintf(table, "%-14s failed: %s\n", runs[i].name, so_strerror(runs[i].status));
            continue;
        }
        const so_epoch_record *last = &res->history[res->epochs - 1];
        const so_epoch_record *best = &res->history[best_epoch(res)];
        fprintf(table, "%-14s %14.4f %14.4f %10ld %12.4f %10.1f%s\n", runs[i].name,
                last->test_accuracy, best->test_accuracy, best->epoch, last->train_loss,
                last->seconds, runs[i].status == SO_OK ? "" : "  (stopped early)");
        if (csv != NULL)
            fprintf(csv, "%s,%.6f,%.6f,%ld,%.9g,%.9g,%.3f,%s\n", runs[i].name,
                    last->test_accuracy, best->test_accuracy, best->epoch, last->train_loss,
                    last->test_loss, last->seconds, runs[i].status == SO_OK ? "ok" : "failed");
    }
    if (csv != NULL && fclose(csv) != 0) {
        cli_error("--summary %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Draws train loss, test loss and test accuracy of every method, one panel each. */
static int write_overlay(const char *path, const method_run *runs, int count)
{
    plot_series series[3][MAX_METHODS];
    double *columns[MAX_METHODS] = {NULL};
    int rc = -1, used = 0;

    for (int i = 0; i < count; i++) {
        const so_train_result *res = &runs[i].result;
        size_t n = (size_t)res->epochs;
        if (n == 0)
            continue;
        double *c = malloc(4 * n * sizeof *c);
        if (c == NULL)
            goto done;
        columns[used] = c;
        for (size_t e = 0; e < n; e++) {
            c[e] = (double)res->history[e].epoch;
            c[n + e] = res->history[e].train_loss;
            c[2 * n + e] = res->history[e].test_loss;
            c[3 * n + e] = res->history[e].test_accuracy;
        }
        for (int k = 0; k < 3; k++)
            series[k][used] = (plot_series){runs[i].name, c, c + (size_t)(k + 1) * n, n, 0};
        used++;
    }
    plot_panel panels[3] = {
        {"Train loss", "epoch", "cross-entropy", series[0], (size_t)used},
        {"Test loss", "epoch", "cross-entropy", series[1], (size_t)used},
        {"Test accuracy", "epoch", "accuracy", series[2], (size_t)used},
    };
    rc = plot_write_svg(path, panels, 3);
done:
    if (rc != 0 && used < count)
        cli_error("%s: out of memory drawing the plot", path);
    for (int i = 0; i < used; i++)
        free(columns[i]);
    return rc;
}

static void log_warnings(void *user, so_log_level level, const char *message)
{
    (void)user;
    if (level >= SO_LOG_WARN)
        fprintf(stderr, "stochopt: warning: %s\n", message);
}

/* Trains with every method in turn; returns the number of methods that failed. */
static int run_methods(train_options *o, const so_dataset *train, const so_dataset *test,
                       method_run *runs, int count)
{
    int failures = 0;
    for (int i = 0; i < count; i++) {
        so_train_config cfg = o->cfg;
        compare_progress cp = {runs[i].name, cfg.epochs, o->quiet};
        cfg.on_epoch = print_epoch;
        cfg.epoch_user = &cp;
        /* Options a method does not read are skipped, so shared flags can be given. */
        if (configure_optimizer(o, runs[i].name, 0, &cfg) != 0) {
            runs[i].status = SO_ERR_INVALID;
            failures++;
            continue;
        }
        runs[i].status = so_train(&cfg, train, test, &runs[i].result);
        if (runs[i].status != SO_OK) {
            cli_error("%s: %s", runs[i].name, so_last_error());
            failures++;
        }
        if (o->log_path != NULL && runs[i].result.epochs > 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s-%s.csv", o->log_path, runs[i].name);
            if (write_log_csv(path, &runs[i].result) != 0)
                failures++;
        }
    }
    return failures;
}

int cli_compare(int argc, char **argv)
{
    train_options o;
    method_run runs[MAX_METHODS];
    so_dataset *train = NULL, *test = NULL;
    int count, rc;

    memset(&o, 0, sizeof o);
    memset(runs, 0, sizeof runs);
    rc = parse_train_options(argc, argv, &o, 1);
    if (rc != 0)
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    count = split_methods(o.optims, runs);
    if (count < 0)
        return CLI_EXIT_USAGE;
    /* Check every method's settings before any data is loaded. */
    for (int i = 0; i < count; i++) {
        so_train_config probe = o.cfg;
        if (configure_optimizer(&o, runs[i].name, 0, &probe) != 0)
            return CLI_EXIT_USAGE;
    }
    if (check_before_loading(&o) != 0)
        return CLI_EXIT_USAGE;
    rc = load_data(&o, &train, &test);
    if (rc != 0)
        goto done;
    if (o.standardize && so_dataset_standardize(train, &test, 1) != SO_OK) {
        cli_error("%s", so_last_error());
        rc = CLI_EXIT_FAILURE;
        goto done;
    }
    so_set_log_handler(log_warnings, NULL, SO_LOG_WARN);
    if (!o.quiet)
        printf("stochopt compare: %s: %zu training and %zu test rows; model %s, batch %zu, "
               "%ld epochs, seed %llu\n", o.data, train->n, test ? test->n : 0,
               o.cfg.model_spec, o.cfg.batch_size, o.cfg.epochs,
               (unsigned long long)o.cfg.seed);
    int failures = run_methods(&o, train, test, runs, count);
    so_set_log_handler(NULL, NULL, SO_LOG_INFO);
    if (write_summary(o.summary_path, runs, count, stdout) != 0)
        failures++;
    if (o.plot_path != NULL && write_overlay(o.plot_path, runs, count) != 0)
        failures++;
    rc = failures > 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
done:
    for (int i = 0; i < count; i++)
        so_train_result_clear(&runs[i].result);
    so_dataset_free(&train);
    so_dataset_free(&test);
    return rc;
}
