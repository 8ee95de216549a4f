/* Online logistic regression on heart_scale. It measures the regret of OGD, optimistic
 * OMD and optimistic FTRL (hint M_t = g_{t-1}, adaptive step of Chen et al. 2023) and ONS
 * against the best fixed weight vector in the ball of radius 5. The three streams are:
 *   iid          each round one example drawn uniformly with replacement;
 *   switching    blocks of 100 rounds that draw only positive, then only negative
 *                examples, so the loss switches regime every block;
 *   mixed        blocks of 250 rounds alternating between the two streams above;
 *   adaptive     the example with the largest loss at the played point among 8 drawn
 *                uniformly (an adversary that sees x_t).
 * Regret is averaged over seeds; the slope is the least-squares fit of log regret
 * against log T.
 * Usage: bench_oomd [HEART_SCALE [SEEDS [ROUNDS]]]  (default 5 seeds, 20000 rounds) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stochopt/core.h"
#include "stochopt/data.h"
#include "stochopt/online.h"

#define DEFAULT_HEART "tests/data/heart_scale"
#define RADIUS 5.0
enum { NCHECK = 5, MAXD = 64, NMETHOD = 4, NSTREAM = 4 };
static const double check_frac[NCHECK] = {0.05, 0.1, 0.25, 0.5, 1.0};

typedef struct data {
    size_t n, d;
    double *a, *y;
    size_t *pos, *neg, npos, nneg;
} data;

static int load(const char *path, data *s)
{
    so_dataset *ds = NULL;
    so_read_options ro = so_read_options_default();
    if (so_libsvm_read(path, &ro, &ds) != SO_OK)
        return -1;
    s->n = ds->n;
    s->d = ds->d + 1;
    s->a = calloc(s->n * s->d, sizeof *s->a);
    s->y = calloc(s->n, sizeof *s->y);
    s->pos = calloc(s->n, sizeof *s->pos);
    s->neg = calloc(s->n, sizeof *s->neg);
    if (!s->a || !s->y || !s->pos || !s->neg || s->d > MAXD || ds->kind != SO_FEATURES_CSR) {
        so_dataset_free(&ds);
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = ds->row_ptr[i]; k < ds->row_ptr[i + 1]; k++)
            s->a[i * s->d + ds->col[k]] = ds->val[k];
        s->a[i * s->d + s->d - 1] = 1.0;
        s->y[i] = ds->target[i] > 0 ? 1.0 : -1.0;
        if (s->y[i] > 0)
            s->pos[s->npos++] = i;
        else
            s->neg[s->nneg++] = i;
    }
    so_dataset_free(&ds);
    return 0;
}

static size_t next_example(const data *s, int stream, long t, so_rng *rng)
{
    int switching = stream == 1 || (stream == 2 && (t / 250) % 2 == 1);
    if (!switching)
        return (size_t)so_rng_below(rng, s->n);
    if ((t / 100) % 2 == 0)
        return s->pos[so_rng_below(rng, s->npos)];
    return s->neg[so_rng_below(rng, s->nneg)];
}

/* Loss log(1 + exp(-y a.x)) and its gradient. */
static double logistic(const data *s, size_t i, const double *x, double *g)
{
    const double *a = s->a + i * s->d;
    double m = 0;
    for (size_t j = 0; j < s->d; j++)
        m += a[j] * x[j];
    m *= s->y[i];
    double loss = m < 0 ? -m + log1p(exp(m)) : log1p(exp(-m)), c = -s->y[i] / (1.0 + exp(m));
    for (size_t j = 0; g && j < s->d; j++)
        g[j] = c * a[j];
    return loss;
}

/* min over the ball of sum_i count_i loss_i(x), by projected accelerated gradient with
 * step 1/L (L = max |a_i|^2 / 4 times the total count). */
static double best_fixed(const data *s, const long *count, long total)
{
    double x[MAXD] = {0}, z[MAXD] = {0}, xp[MAXD], g[MAXD], gi[MAXD], amax = 0, best = 0;
    for (size_t i = 0; i < s->n; i++) {
        double nrm = 0;
        for (size_t j = 0; j < s->d; j++)
            nrm += s->a[i * s->d + j] * s->a[i * s->d + j];
        amax = nrm > amax ? nrm : amax;
    }
    double step = 4.0 / (amax * (double)total);
    for (int it = 1; it <= 3000; it++) {
        memset(g, 0, sizeof g);
        for (size_t i = 0; i < s->n; i++)
            if (count[i]) {
                logistic(s, i, z, gi);
                for (size_t j = 0; j < s->d; j++)
                    g[j] += (double)count[i] * gi[j];
            }
        double nrm = 0;
        memcpy(xp, x, sizeof x);
        for (size_t j = 0; j < s->d; j++) {
            x[j] = z[j] - step * g[j];
            nrm += x[j] * x[j];
        }
        for (size_t j = 0; nrm > RADIUS * RADIUS && j < s->d; j++)
            x[j] *= RADIUS / sqrt(nrm);
        for (size_t j = 0; j < s->d; j++)
            z[j] = x[j] + (double)(it - 1) / (double)(it + 2) * (x[j] - xp[j]);
    }
    for (size_t i = 0; i < s->n; i++)
        if (count[i])
            best += (double)count[i] * logistic(s, i, x, NULL);
    return best;
}

static const char *const method_names[NMETHOD] = {"OGD", "optimistic OMD", "optimistic FTRL",
                                                  "ONS"};
static const char *const stream_names[NSTREAM] = {"iid", "switching", "mixed",
                                                  "adaptive"};

static so_online_config method_config(const data *s, int m, double gmax)
{
    so_online_config c = so_online_config_default(s->d);
    const so_online_method kinds[NMETHOD] = {SO_ONLINE_OGD, SO_ONLINE_OPTIMISTIC_OMD,
                                             SO_ONLINE_OPTIMISTIC_FTRL, SO_ONLINE_ONS};
    c.method = kinds[m];
    c.radius = RADIUS;
    c.diameter = 2 * RADIUS;
    c.grad_bound = gmax;
    /* The exp-concavity of the logistic loss on this ball, exp(-R G), is about 1e-8, so
     * the ONS step uses the 1/(4 G D) part of its gamma only, with eps = 1/(gamma D)^2. */
    c.ons_gamma = 1.0 / (8.0 * gmax * c.diameter);
    c.ons_eps = 1.0 / (c.ons_gamma * c.ons_gamma * c.diameter * c.diameter);
    return c;
}

/* Adds each method's regret at the checkpoints of one seed into regret[m][k]. */
/* The adaptive adversary sees the point x_t the learner plays and shows the example with
 * the largest loss among 8 drawn uniformly, the adversary of the worst-case bounds. */
static size_t adaptive_example(const data *s, const double *x, so_rng *rng)
{
    size_t best = 0;
    double worst = -1;
    for (int c = 0; c < 8; c++) {
        size_t i = (size_t)so_rng_below(rng, s->n);
        double loss = logistic(s, i, x, NULL);
        if (loss > worst) {
            worst = loss;
            best = i;
        }
    }
    return best;
}

/* Plays one method on one seed's stream and adds its regret at the checkpoints into
 * regret[k]. The comparator is fitted to the examples this method was shown, since the
 * adaptive stream differs between methods. */
static int run_method(const data *s, int stream, int m, uint64_t seed, long rounds,
                      double gmax, long *count, double *regret)
{
    so_online_config c = method_config(s, m, gmax);
    so_online *o = NULL;
    double x0[MAXD] = {0}, x[MAXD], g[MAXD], cum = 0;
    so_rng rng;
    int st = so_online_new(&c, x0, &o);
    so_rng_init(&rng, seed, (uint64_t)stream);
    memset(count, 0, s->n * sizeof *count);
    for (long t = 0, k = 0; st == SO_OK && t < rounds; t++) {
        st = so_online_predict(o, NULL, x);
        size_t i = stream == 3 ? adaptive_example(s, x, &rng) : next_example(s, stream, t, &rng);
        count[i]++;
        cum += logistic(s, i, x, g);
        if (st == SO_OK)
            st = so_online_update(o, g);
        if (t + 1 == (long)(check_frac[k] * (double)rounds)) {
            regret[k] += cum - best_fixed(s, count, t + 1);
            k++;
        }
    }
    so_online_free(&o);
    if (st != SO_OK)
        fprintf(stderr, "bench_oomd: %s: %s\n", method_names[m], so_last_error());
    return st == SO_OK ? 0 : -1;
}

static int run_stream(const data *s, int stream, uint64_t seed, long rounds, double gmax,
                      double regret[NMETHOD][NCHECK])
{
    long *count = calloc(s->n, sizeof *count);
    int st = count ? 0 : -1;
    for (int m = 0; m < NMETHOD && st == 0; m++)
        st = run_method(s, stream, m, seed, rounds, gmax, count, regret[m]);
    free(count);
    return st;
}

static double loglog_slope(const double *r, long rounds)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = 0; k < NCHECK; k++) {
        double lx = log(check_frac[k] * (double)rounds), ly = log(r[k]);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
    }
    return (NCHECK * sxy - sx * sy) / (NCHECK * sxx - sx * sx);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : DEFAULT_HEART;
    long seeds = argc > 2 ? atol(argv[2]) : 5, rounds = argc > 3 ? atol(argv[3]) : 20000;
    data s = {0};
    double gmax = 0;
    if (seeds < 1 || rounds < 100 || load(path, &s) != 0) {
        fprintf(stderr, "bench_oomd: cannot load %s (%s)\nusage: bench_oomd [HEART_SCALE "
                "[SEEDS [ROUNDS >= 100]]]\n", path, so_last_error());
        return 2;
    }
    for (size_t i = 0; i < s.n; i++) {
        double nrm = 0;
        for (size_t j = 0; j < s.d; j++)
            nrm += s.a[i * s.d + j] * s.a[i * s.d + j];
        gmax = fmax(gmax, sqrt(nrm));
    }
    printf("%ld seeds, %ld rounds, ball radius %g, G = %.3f; mean regret at T\n\n", seeds,
           rounds, RADIUS, gmax);
    printf("| stream      | method          |");
    for (int k = 0; k < NCHECK; k++)
        printf(" T=%-7ld |", (long)(check_frac[k] * (double)rounds));
    printf(" slope |\n|-------------|-----------------|");
    for (int k = 0; k < NCHECK; k++)
        printf("-----------|");
    printf("-------|\n");
    for (int stream = 0; stream < NSTREAM; stream++) {
        double regret[NMETHOD][NCHECK] = {{0}};
        for (long seed = 0; seed < seeds; seed++)
            if (run_stream(&s, stream, (uint64_t)seed, rounds, gmax, regret) != 0)
                return 1;
        for (int m = 0; m < NMETHOD; m++) {
            printf("| %-11s | %-15s |", stream_names[stream], method_names[m]);
            for (int k = 0; k < NCHECK; k++)
                printf(" %9.2f |", regret[m][k] / (double)seeds);
            for (int k = 0; k < NCHECK; k++)
                regret[m][k] /= (double)seeds;
            int positive = 1;
            for (int k = 0; k < NCHECK; k++)
                positive &= regret[m][k] > 0;
            /* A negative regret has no power-law slope: the learner beat every fixed point. */
            if (positive)
                printf(" %5.2f |\n", loglog_slope(regret[m], rounds));
            else
                printf("   n/a |\n");
        }
    }
    free(s.a);
    free(s.y);
    free(s.pos);
    free(s.neg);
    return 0;
}
