/* The one-dimensional experiment of Dubey et al. (diffGrad, IEEE TNNLS 2020, Section V,
 * eqs. 24-26 and Fig. 4): diffGrad, Adam and AMSGrad minimize three non-convex functions
 * from x0 = -1 with lr 0.1, beta1 0.95, beta2 0.999 and eps 1e-8 for 300 steps. The paper
 * reports that on F1 and F2 Adam overshoots the global minimum and settles in a local one
 * while diffGrad stays at the global minimum, and that both reach the global minimum of
 * F3, Adam oscillating more.
 *
 * Usage: diffgrad_1d [steps]   (default 300)
 *
 * Prints a Markdown table: the global minimum x* on [-1, 1] found by a grid search with
 * spacing 1e-6, then for each function and method the final x and F(x), and the largest
 * distance from x* over the last 100 steps, which measures oscillation around it.
 * The rows "F2, notebook gradient" use x cos 8x + sin 8x + 3x^2, the gradient in the
 * authors' notebook (diffGrad_analytical.ipynb in github.com/shivram1987/diffGrad), which
 * is not the derivative of F2 as the paper defines it. The other F2 rows use the exact
 * derivative. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "stochopt/optim.h"

typedef struct test_function {
    const char *name;
    double (*f)(double x);
    double (*grad)(double x);
} test_function;

/* F1(x) = (x + 0.3)^2 for x <= 0 and (x - 0.2)^2 + 0.05 for x > 0 (eq. 24). */
static double f1(double x)
{
    return x <= 0.0 ? (x + 0.3) * (x + 0.3) : (x - 0.2) * (x - 0.2) + 0.05;
}

static double f1_grad(double x)
{
    return x <= 0.0 ? 2.0 * (x + 0.3) : 2.0 * (x - 0.2);
}

/* F2(x) = -40x - 35.15 for x <= -0.9 and x^3 + x sin(8x) + 0.85 for x > -0.9 (eq. 25). */
static double f2(double x)
{
    return x <= -0.9 ? -40.0 * x - 35.15 : x * x * x + x * sin(8.0 * x) + 0.85;
}

static double f2_grad(double x)
{
    return x <= -0.9 ? -40.0 : 3.0 * x * x + sin(8.0 * x) + 8.0 * x * cos(8.0 * x);
}

static double f2_notebook_grad(double x)
{
    return x <= -0.9 ? -40.0 : x * cos(8.0 * x) + sin(8.0 * x) + 3.0 * x * x;
}

/* F3 (eq. 26): x^2 outside [-0.5, 0.5], linear pieces inside with minima at -0.5, 0, 0.5. */
static double f3(double x)
{
    if (x <= -0.5 || x > 0.5)
        return x * x;
    if (x <= -0.4)
        return 0.75 + x;
    if (x <= 0.0)
        return -7.0 * x / 8.0;
    if (x <= 0.4)
        return 7.0 * x / 8.0;
    return 0.75 - x;
}

static double f3_grad(double x)
{
    if (x <= -0.5 || x > 0.5)
        return 2.0 * x;
    if (x <= -0.4)
        return 1.0;
    if (x <= 0.0)
        return -7.0 / 8.0;
    if (x <= 0.4)
        return 7.0 / 8.0;
    return -1.0;
}

/* Runs `steps` updates of one method from x0 = -1; returns the final x, or NAN on error,
 * and stores in *spread the largest |x - x_star| over the last `tail` steps. */
static double minimize(const so_optim_type *type, double (*grad)(double), int steps,
                       int tail, double x_star, double *spread)
{
    so_optim_params hp = so_optim_params_default(type);
    so_optimizer *opt = NULL;
    double x = -1.0;
    *spread = 0.0;
    hp.lr = 0.1;
    hp.beta1 = 0.95;
    hp.beta2 = 0.999;
    hp.eps = 1e-8;
    if (so_optimizer_new(type, 1, SO_F64, &hp, &opt) != SO_OK) {
        fprintf(stderr, "diffgrad_1d: %s\n", so_last_error());
        return NAN;
    }
    for (int t = 0; t < steps; t++) {
        double g = grad(x);
        if (so_optimizer_step(opt, &x, &g) != SO_OK) {
            fprintf(stderr, "diffgrad_1d: %s\n", so_last_error());
            x = NAN;
            break;
        }
        if (t >= steps - tail)
            *spread = fmax(*spread, fabs(x - x_star));
    }
    so_optimizer_free(&opt);
    return x;
}

static double grid_minimum(double (*f)(double))
{
    double best_x = -1.0;
    for (long i = 0; i <= 2000000; i++) {
        double x = -1.0 + (double)i * 1e-6;
        if (f(x) < f(best_x))
            best_x = x;
    }
    return best_x;
}

int main(int argc, char **argv)
{
    const int steps = argc > 1 ? atoi(argv[1]) : 300, tail = steps < 100 ? steps : 100;
    const test_function functions[] = {
        {"F1", f1, f1_grad},
        {"F2", f2, f2_grad},
        {"F2, notebook gradient", f2, f2_notebook_grad},
        {"F3", f3, f3_grad},
    };
    const so_optim_type *const methods[] = {so_optim_diffgrad, so_optim_adam, so_optim_amsgrad};
    if (steps <= 0) {
        fprintf(stderr, "usage: diffgrad_1d [steps > 0]\n");
        return 1;
    }
    printf("| function | global minimum on [-1, 1] | method | x after %d steps | F(x) | "
           "max abs(x - x*) over the last %d steps |\n",
           steps, tail);
    printf("|---|---|---|---|---|---|\n");
    for (size_t k = 0; k < sizeof functions / sizeof functions[0]; k++) {
        const test_function *fn = &functions[k];
        double x_star = grid_minimum(fn->f);
        for (size_t j = 0; j < sizeof methods / sizeof methods[0]; j++) {
            double spread = 0.0;
            double x = minimize(methods[j], fn->grad, steps, tail, x_star, &spread);
            /* Adding 0.0 prints -0.0 as 0.0000. */
            printf("| %s | x* = %.4f, F = %.4f | %s | %.4f | %.4f | %.4f |\n", fn->name,
                   x_star + 0.0, fn->f(x_star) + 0.0, so_optim_type_name(methods[j]),
                   x + 0.0, fn->f(x) + 0.0, spread);
        }
    }
    return 0;
}
