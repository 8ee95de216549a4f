/* stochopt minimize: global derivative-free minimization of a test function or of a
 * user program, with consensus-based optimization. */
#define _GNU_SOURCE /* pipe2 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stochopt/stochopt.h"
#include "stochopt/global.h"

enum { OUT_LIMIT = 4096 };

typedef struct command_eval {
    const char *command;
    int use_stdin;
    double timeout;
    atomic_flag reported; /* the first failure's message wins when threads race */
    char message[OUT_LIMIT + 1024];
} command_eval;

typedef struct minimize_options {
    so_cbo_config cfg;
    const char *function, *method;
    double success_tol;
    command_eval cmd;
} minimize_options;

static void minimize_usage(FILE *out)
{
    fprintf(out,
        "Usage: stochopt minimize (--function NAME | --command CMD) --dim D [OPTIONS]\n"
        "\n"
        "Minimizes a function of D real variables without derivatives by consensus-based\n"
        "optimization (CBO): particles drift towards a weighted consensus point and explore\n"
        "with noise proportional to their distance from it.\n"
        "\n"
        "Objective:\n"
        "  --function NAME     rastrigin, ackley, rosenbrock, griewank or sphere\n"
        "  --command CMD       run CMD through /bin/sh for each point; the point's D values\n"
        "                      are appended as separate arguments (\"$@\"), never parsed by\n"
        "                      the shell; CMD must print one finite number on stdout\n"
        "  --stdin             pass the point on standard input (one line) instead\n"
        "  --timeout SECONDS   kill a command that runs longer (default 60)\n"
        "  --dim D             number of variables\n"
        "Method:\n"
        "  --method NAME       cbo (Euler-Maruyama particles, default) or hopping\n"
        "  --particles N       ensemble size (default 40)\n"
        "  --batch M           random batches of M particles (default 0: all)\n"
        "  --anisotropic       per-coordinate noise (default)\n"
        "  --isotropic         noise scaled by the full distance to the consensus point\n"
        "  --sigma S           noise scale (default 5.1); sampling std for hopping\n"
        "  --lambda L          drift rate (default 1)\n"
        "  --dt DT             time step (default 0.01)\n"
        "  --alpha A           initial weight exponent (default 1)\n"
        "  --alpha-growth G    multiply alpha by G after each step (default 1.05; 1 keeps\n"
        "                      it fixed)\n"
        "  --alpha-max A       cap on alpha (default 1e5)\n"
        "  --ess F             choose alpha each step so the effective sample size is F\n"
        "                      times the particles (overrides --alpha-growth)\n"
        "  --box LO:HI         start uniformly in [LO, HI]^D (default -3:3)\n"
        "Stopping and runs:\n"
        "  --steps K           steps per run (default 1000)\n"
        "  --max-evals N       evaluations per run (default 0: no limit)\n"
        "  --energy-tol E      stop when the best value is <= E\n"
        "  --consensus-tol T   stop when the consensus point moves less than T\n"
        "  --runs R            independent runs (default 1)\n"
        "  --seed S            run r uses random stream (S, r) (default 0)\n"
        "  --threads N         runs in parallel (default 1); results do not depend on it\n"
        "  --success-tol T     with --function, a run succeeds when its consensus point is\n"
        "                      within T of the minimizer in the max norm (default 0.25)\n"
        "  -h, --help          show this help\n");
}

/* ---- Running the user's command */

static void format_point(char *buf, size_t cap, size_t d, const double *x)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d && used + 32 < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%.17g", i ? " " : "", x[i]);
    if (used + 32 >= cap)
        snprintf(buf + used, cap - used, " ...");
}

/* The output goes into a one-line message: line ends become \n and it is cut at 200
 * bytes, which is enough to recognise what the program printed. */
static void escape_output(char *buf, size_t cap, const char *output)
{
    size_t k = 0;
    for (const char *p = output; *p && k + 8 < cap && p - output < 200; p++) {
        if (*p == '\n' || *p == '\r') {
            buf[k++] = '\\';
            buf[k++] = *p == '\n' ? 'n' : 'r';
        } else {
            buf[k++] = *p;
        }
    }
    if (strlen(output) > 200)
        buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
}

static void report(command_eval *ce, size_t d, const double *x, const char *what,
                   const char *output)
{
    char point[512], shown[256];
    if (atomic_flag_test_and_set(&ce->reported))
        return;
    format_point(point, sizeof point, d, x);
    escape_output(shown, sizeof shown, output);
    snprintf(ce->message, sizeof ce->message, "command '%s' at x = (%s): %s; output: '%s'",
             ce->command, point, what, shown);
}

/* Runs in the child: stdin (or /dev/null) and stdout go to the pipes, and its own process
 * group lets a timeout kill the whole pipeline. The values become "$@" of
 * sh -c "CMD \"$@\"". Only async-signal-safe calls follow the fork, since other threads
 * may hold locks. SIGPIPE is restored because an ignored signal survives exec. */
static void exec_child(int in_fd, int out_fd, char **args)
{
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    if (in_fd < 0)
        in_fd = open("/dev/null", O_RDONLY);
    if (in_fd >= 0)
        dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    execv("/bin/sh", args);
    _exit(127);
}

static char **build_args(const command_eval *ce, size_t d, const double *x, char *script,
                         size_t script_cap, char *values)
{
    size_t count = ce->use_stdin ? 4 : 4 + d;
    char **args = calloc(count + 1, sizeof *args);
    if (!args)
        return NULL;
    snprintf(script, script_cap, "%s%s", ce->command, ce->use_stdin ? "" : " \"$@\"");
    args[0] = "sh";
    args[1] = "-c";
    args[2] = script;
    args[3] = "stochopt-minimize";
    for (size_t i = 0; !ce->use_stdin && i < d; i++) {
        args[4 + i] = values + 32 * i;
        snprintf(args[4 + i], 32, "%.17g", x[i]);
    }
    return args;
}

/* Reads the child's stdout until end of file, the output limit or the deadline.
 * Returns 0, 1 on timeout, 2 when the output is too long. */
static int read_output(int fd, double deadline, char *buf, size_t *len)
{
    *len = 0;
    for (;;) {
        double left = deadline - so_time_now();
        if (left <= 0)
            return 1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return 1;
        ssize_t got = read(fd, buf + *len, OUT_LIMIT - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        *len += (size_t)got;
        if (*len == OUT_LIMIT)
            return 2;
    }
    buf[*len] = '\0';
    return 0;
}

/* Both ends are close-on-exec, so that commands started by other threads do not hold a
 * write end open, which would delay this command's end of file. pipe2 sets the flag
 * atomically. The fallback leaves a short window between pipe and fcntl. */
static int make_pipe(int fds[2])
{
#ifdef __linux__
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

/* Writes the point as one line. A child that exits without reading is not an error here
 * (SIGPIPE is ignored) because its exit status reports the failure. */
static void write_point(int fd, size_t d, const double *x)
{
    char num[40];
    for (size_t i = 0; i < d; i++) {
        int n = snprintf(num, sizeof num, "%s%.17g", i ? " " : "", x[i]);
        if (write(fd, num, (size_t)n) < 0)
            break;
    }
    if (write(fd, "\n", 1) < 0)
        return;
}

/* Parses exactly one finite number, surrounded by white space only. */
static int parse_value(const char *text, double *f)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end != '\0' || !isfinite(v))
        return -1;
    *f = v;
    return 0;
}

/* read_state is read_output's result: 1 (timeout) and 2 (too much output) kill the
 * child's process group first, since it may never exit on its own. */
static int wait_child(pid_t pid, int read_state, double timeout, char *why, size_t cap)
{
    int status = 0;
    if (read_state != 0)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    if (read_state == 1)
        snprintf(why, cap, "timed out after %g s (--timeout); killed", timeout);
    else if (read_state == 2)
        snprintf(why, cap, "more than %d bytes of output; killed", OUT_LIMIT);
    else if (WIFSIGNALED(status))
        snprintf(why, cap, "killed by signal %d", WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        snprintf(why, cap, "exit status %d", WEXITSTATUS(status));
    else
        return 0;
    return -1;
}

static int spawn(command_eval *ce, size_t d, const double *x, int in[2], int out[2],
                 pid_t *pid)
{
    size_t script_cap = strlen(ce->command) + 16;
    char *script = malloc(script_cap), *values = malloc(32 * d + 1);
    char **args = script && values ? build_args(ce, d, x, script, script_cap, values) : NULL;
    *pid = args ? fork() : -1;
    if (*pid == 0)
        exec_child(ce->use_stdin ? in[0] : -1, out[1], args);
    if (*pid > 0)
        setpgid(*pid, *pid); /* also in the parent, so a kill cannot come before it */
    free(args);
    free(script);
    free(values);
    return *pid < 0 ? -1 : 0;
}

static int run_command(command_eval *ce, size_t d, const double *x, double *f)
{
    int in[2] = {-1, -1}, out[2];
    char output[OUT_LIMIT + 1] = "", why[128];
    size_t len = 0;
    pid_t pid;
    if (make_pipe(out) != 0 || (ce->use_stdin && make_pipe(in) != 0) ||
        spawn(ce, d, x, in, out, &pid) != 0) {
        report(ce, d, x, strerror(errno), "");
        return -1;
    }
    close(out[1]);
    if (ce->use_stdin) {
        close(in[0]);
        write_point(in[1], d, x);
        close(in[1]);
    }
    int rd = read_output(out[0], so_time_now() + ce->timeout, output, &len);
    close(out[0]);
    output[len] = '\0';
    if (wait_child(pid, rd, ce->timeout, why, sizeof why) != 0) {
        report(ce, d, x, why, output);
        return -1;
    }
    if (parse_value(output, f) != 0) {
        report(ce, d, x, "expected exactly one finite number on stdout", output);
        return -1;
    }
    return 0;
}

static int command_batch(void *user, size_t n, size_t d, const double *x, double *f)
{
    for (size_t j = 0; j < n; j++)
        if (run_command(user, d, x + j * d, &f[j]) != 0)
            return -1;
    return 0;
}

/* ---- Options */

enum {
    OPT_FUNCTION = 256, OPT_COMMAND, OPT_STDIN, OPT_TIMEOUT, OPT_DIM, OPT_METHOD,
    OPT_PARTICLES, OPT_BATCH, OPT_ANISO, OPT_ISO, OPT_SIGMA, OPT_LAMBDA, OPT_DT, OPT_ALPHA,
    OPT_GROWTH, OPT_ALPHA_MAX, OPT_ESS, OPT_BOX, OPT_STEPS, OPT_MAX_EVALS, OPT_ENERGY,
    OPT_CONSENSUS, OPT_RUNS, OPT_SEED, OPT_THREADS, OPT_SUCCESS
};

static const struct option minimize_options_table[] = {
    {"function", required_argument, NULL, OPT_FUNCTION},
    {"command", required_argument, NULL, OPT_COMMAND},
    {"stdin", no_argument, NULL, OPT_STDIN},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"dim", required_argument, NULL, OPT_DIM},
    {"method", required_argument, NULL, OPT_METHOD},
    {"particles", required_argument, NULL, OPT_PARTICLES},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"anisotropic", no_argument, NULL, OPT_ANISO},
    {"isotropic", no_argument, NULL, OPT_ISO},
    {"sigma", required_argument, NULL, OPT_SIGMA},
    {"lambda", required_argument, NULL, OPT_LAMBDA},
    {"dt", required_argument, NULL, OPT_DT},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"alpha-growth", required_argument, NULL, OPT_GROWTH},
    {"alpha-max", required_argument, NULL, OPT_ALPHA_MAX},
    {"ess", required_argument, NULL, OPT_ESS},
    {"box", required_argument, NULL, OPT_BOX},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"max-evals", required_argument, NULL, OPT_MAX_EVALS},
    {"energy-tol", required_argument, NULL, OPT_ENERGY},
    {"consensus-tol", required_argument, NULL, OPT_CONSENSUS},
    {"runs", required_argument, NULL, OPT_RUNS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"success-tol", required_argument, NULL, OPT_SUCCESS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_box(const char *text, so_cbo_config *c)
{
    char lo[64], *colon = strchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof lo) {
        cli_error("--box: expected LO:HI such as -3:3, found '%s'", text);
        return -1;
    }
    memcpy(lo, text, (size_t)(colon - text));
    lo[colon - text] = '\0';
    if (cli_parse_double("--box", lo, -1e300, 1e300, &c->init_lo) ||
        cli_parse_double("--box", colon + 1, c->init_lo, 1e300, &c->init_hi))
        return -1;
    return 0;
}

/* Options with a real value; returns 1 when code is not one of them. */
static int parse_real(int code, const char *arg, minimize_options *o)
{
    so_cbo_config *c = &o->cfg;
    switch (code) {
    case OPT_TIMEOUT: return cli_parse_double("--timeout", arg, 1e-3, 1e6, &o->cmd.timeout);
    case OPT_SIGMA: return cli_parse_double("--sigma", arg, 0, 1e12, &c->sigma);
    case OPT_LAMBDA: return cli_parse_double("--lambda", arg, 1e-12, 1e12, &c->lambda);
    case OPT_DT: return cli_parse_double("--dt", arg, 1e-12, 1e6, &c->dt);
    case OPT_ALPHA: return cli_parse_double("--alpha", arg, 0, 1e300, &c->alpha);
    case OPT_GROWTH: return cli_parse_double("--alpha-growth", arg, 1, 1e6, &c->alpha_growth);
    case OPT_ALPHA_MAX: return cli_parse_double("--alpha-max", arg, 0, 1e300, &c->alpha_max);
    case OPT_ESS:
        c->alpha_mode = SO_CBO_ALPHA_ESS;
        return cli_parse_double("--ess", arg, 1e-6, 1, &c->ess_target);
    case OPT_ENERGY: return cli_parse_double("--energy-tol", arg, -1e300, 1e300, &c->energy_tol);
    case OPT_CONSENSUS:
        return cli_parse_double("--consensus-tol", arg, 0, 1e300, &c->consensus_tol);
    case OPT_SUCCESS: return cli_parse_double("--success-tol", arg, 0, 1e300, &o->success_tol);
    case OPT_BOX: return parse_box(arg, c);
    default: return 1;
    }
}

static int parse_size(const char *name, const char *arg, long lo, long hi, size_t *out)
{
    long v;
    if (cli_parse_long(name, arg, lo, hi, &v))
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Integer and flag options; returns 1 when code is not one of them. */
static int parse_other(int code, const char *arg, minimize_options *o)
{
    so_cbo_config *c = &o->cfg;
    long v;
    switch (code) {
    case OPT_FUNCTION: o->function = arg; return 0;
    case OPT_COMMAND: o->cmd.command = arg; return 0;
    case OPT_STDIN: o->cmd.use_stdin = 1; return 0;
    case OPT_METHOD: o->method = arg; return 0;
    case OPT_ANISO: c->noise = SO_CBO_ANISOTROPIC; return 0;
    case OPT_ISO: c->noise = SO_CBO_ISOTROPIC; return 0;
    case OPT_DIM: return parse_size("--dim", arg, 1, 1000000, &c->dim);
    case OPT_PARTICLES: return parse_size("--particles", arg, 2, 100000000, &c->particles);
    case OPT_BATCH: return parse_size("--batch", arg, 0, 100000000, &c->batch);
    case OPT_STEPS: return cli_parse_long("--steps", arg, 0, 1000000000, &c->max_steps);
    case OPT_MAX_EVALS: return cli_parse_long("--max-evals", arg, 0, 4000000000000L,
                                              &c->max_evals);
    case OPT_RUNS: return cli_parse_long("--runs", arg, 1, 1000000, &c->runs);
    case OPT_SEED:
        if (cli_parse_long("--seed", arg, 0, 9223372036854775807L, &v))
            return -1;
        c->seed = (uint64_t)v;
        return 0;
    case OPT_THREADS:
        if (cli_parse_long("--threads", arg, 1, 1024, &v))
            return -1;
        c->threads = (int)v;
        return 0;
    default: return 1;
    }
}

static int check_objective(minimize_options *o)
{
    if (!o->function == !o->cmd.command) {
        cli_error("give exactly one of --function NAME and --command CMD");
        return -1;
    }
    if (o->function && so_testfun_from_name(o->function) < 0) {
        cli_error("--function: unknown function '%s'; expected rastrigin, ackley, "
                  "rosenbrock, griewank or sphere", o->function);
        return -1;
    }
    if (o->cmd.use_stdin && !o->cmd.command) {
        cli_error("--stdin applies to --command only");
        return -1;
    }
    if (o->cfg.dim == 0) {
        cli_error("--dim is required: the number of variables, such as --dim 20");
        return -1;
    }
    if (strcmp(o->method, "cbo") != 0 && strcmp(o->method, "hopping") != 0) {
        cli_error("--method: unknown method '%s'; expected cbo or hopping", o->method);
        return -1;
    }
    o->cfg.scheme = strcmp(o->method, "hopping") == 0 ? SO_CBO_HOPPING : SO_CBO_EULER_MARUYAMA;
    if (o->cfg.alpha_mode == SO_CBO_ALPHA_GROWTH && o->cfg.alpha_growth == 1.0)
        o->cfg.alpha_mode = SO_CBO_ALPHA_FIXED;
    return 0;
}

/* Returns -1 on a usage error, 1 when --help was handled, 0 to run. */
static int parse_minimize_options(int argc, char **argv, minimize_options *o)
{
    int code;
    o->cfg = so_cbo_config_default(0);
    o->method = "cbo";
    o->success_tol = 0.25;
    o->cmd.timeout = 60;
    opterr = 0;
    optind = 1;
    while ((code = getopt_long(argc, argv, ":h", minimize_options_table, NULL)) != -1) {
        if (code == 'h') {
            minimize_usage(stdout);
            return 1;
        }
        if (code == '?' || code == ':') {
            if (code == ':')
                cli_error("option %s needs a value", argv[optind - 1]);
            else
                cli_error("unknown or ambiguous option %s; run 'stochopt minimize --help' "
                          "for the list", argv[optind - 1]);
            return -1;
        }
        int rc = parse_real(code, optarg, o);
        if (rc == 1)
            rc = parse_other(code, optarg, o);
        if (rc != 0)
            return -1;
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'; options start with --", argv[optind]);
        return -1;
    }
    return check_objective(o);
}

static double max_distance(size_t d, const double *x, const double *y)
{
    double m = 0;
    for (size_t i = 0; i < d; i++)
        m = fabs(x[i] - y[i]) > m ? fabs(x[i] - y[i]) : m;
    return m;
}

/* Prints the best point over all runs (consensus points and best particles), the
 * evaluation count and, for a test function, the success rate. */
static void print_result(const minimize_options *o, const so_cbo_result *res)
{
    size_t d = o->cfg.dim, best_run = 0;
    const double *best = res->x_consensus;
    double f = INFINITY, *xstar = calloc(d, sizeof *xstar);
    long evals = 0, ok = 0;
    if (o->function && xstar)
        so_testfun_minimizer((so_testfun)so_testfun_from_name(o->function), d, xstar);
    for (size_t r = 0; r < res->runs; r++) {
        const so_cbo_run *run = &res->run[r];
        evals += run->evals;
        if (xstar)
            ok += max_distance(d, res->x_consensus + r * d, xstar) < o->success_tol;
        if (run->f_consensus < f || run->f_best < f) {
            int use_c = run->f_consensus <= run->f_best;
            f = use_c ? run->f_consensus : run->f_best;
            best = (use_c ? res->x_consensus : res->x_best) + r * d;
            best_run = r;
        }
    }
    printf("f %.17g\nrun %zu\nx", f, best_run);
    for (size_t i = 0; i < d; i++)
        printf(" %.17g", best[i]);
    printf("\nevaluations %ld (%.1f per run)\n", evals, (double)evals / (double)res->runs);
    if (o->function && xstar)
        printf("success %ld/%zu (consensus point within %g of the minimizer, max norm)\n",
               ok, res->runs, o->success_tol);
    free(xstar);
}

int cli_minimize(int argc, char **argv)
{
    minimize_options o;
    memset(&o, 0, sizeof o);
    atomic_flag_clear(&o.cmd.reported);
    int rc = parse_minimize_options(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    so_testfun fn = o.function ? (so_testfun)so_testfun_from_name(o.function) : SO_TESTFUN_SPHERE;
    so_cbo_result *res = NULL;
    if (o.cmd.command)
        signal(SIGPIPE, SIG_IGN);
    int st = so_cbo_result_new((size_t)o.cfg.runs, o.cfg.dim, &res);
    if (st == SO_OK)
        st = o.cmd.command ? so_cbo_minimize(&o.cfg, command_batch, &o.cmd, res)
                           : so_cbo_minimize(&o.cfg, so_testfun_batch, &fn, res);
    if (st != SO_OK) {
        if (st == SO_ERR_CALLBACK && o.cmd.message[0])
            cli_error("%s", o.cmd.message);
        else
            cli_error("%s", so_last_error());
        so_cbo_result_free(&res);
        return st == SO_ERR_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    }
    print_result(&o, res);
    so_cbo_result_free(&res);
    return CLI_EXIT_OK;
}
