/* The stochopt command-line program: subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "stochopt/stochopt.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: stochopt COMMAND [OPTIONS]\n"
            "\n"
            "Stochastic optimization, gradient estimation and sampling for machine learning.\n"
            "\n"
            "Commands:\n"
            "  train     train a neural network on a dataset (default: Fashion-MNIST)\n"
            "  compare   train the same network with several optimizers and overlay the curves\n"
            "  minimize  minimize a test function or a program's output by consensus-based\n"
            "            optimization\n"
            "  ot        entropic optimal transport (Sinkhorn, log domain, SNS)\n"
            "  constrained\n"
            "            equality-constrained problems by AdaSketch-Newton\n"
            "  newton    gradient-normalized regularized Newton and its baselines on\n"
            "            logistic, softmax, least-squares, Rosenbrock and log-sum-exp\n"
            "  sso       linear models by target-based surrogate optimization, SGD or SLS\n"
            "\n"
            "Run 'stochopt COMMAND --help' for the options of a command.\n"
            "Options:\n"
            "  -h, --help     show this help\n"
            "  -V, --version  show the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("stochopt %s\n", so_version());
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "train") == 0)
        return cli_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "compare") == 0)
        return cli_compare(argc - 1, argv + 1);
    if (strcmp(argv[1], "minimize") == 0)
        return cli_minimize(argc - 1, argv + 1);
    if (strcmp(argv[1], "ot") == 0)
        return cli_ot(argc - 1, argv + 1);
    if (strcmp(argv[1], "constrained") == 0)
        return cli_constrained(argc - 1, argv + 1);
    if (strcmp(argv[1], "newton") == 0)
        return cli_newton(argc - 1, argv + 1);
    if (strcmp(argv[1], "sso") == 0)
        return cli_sso(argc - 1, argv + 1);
    cli_error("unknown command '%s'; run 'stochopt --help' for the list", argv[1]);
    return CLI_EXIT_USAGE;
}
