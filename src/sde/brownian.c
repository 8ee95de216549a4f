/* Brownian paths as a tree of Brownian bridges indexed into Philox4x32-10.
 *
 * Each tree node is an interval [a, a + h] carrying the increment w = W(a + h) - W(a) and
 * the space-time Levy area H = (1/h) int_a^{a+h} (W(r) - W(a) - (r - a) w / h) dr, which
 * are independent with w ~ N(0, h) and H ~ N(0, h / 12).
 *
 * Split formulas. Let the halves have length k = h / 2, increments w1, w2 and areas H1,
 * H2, all independent. Integrating over both halves gives w = w1 + w2 and
 * H = (H1 + H2) / 2 + (w1 - w2) / 4. Conditioning this Gaussian vector on (w, H) leaves
 * two degrees of freedom, which two fresh normals e, q fill:
 *   w1 = w / 2 + 3 H / 2 + (sqrt(h) / 4) e,              w2 = w - w1,
 *   H1 = H / 4 - (sqrt(h) / 8) e + (sqrt(h) / (4 sqrt 3)) q,
 *   H2 = H / 4 - (sqrt(h) / 8) e - (sqrt(h) / (4 sqrt 3)) q.
 * These have Var w1 = k and Var H1 = k / 12 and recombine to (w, H) exactly, which the
 * tests check by sampling.
 *
 * Besides W, a query accumulates J(t) = int_{t0}^t W(r) dr, so that the time integral
 * int_s^u (W(r) - W(s)) dr = J(u) - J(s) - (u - s) W(s) comes from the same path. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/internal.h"
#include "stochopt/sde.h"

struct so_brownian {
    size_t dim;
    double t0, t1;
    int depth;
    uint64_t seed;
    uint32_t path;
};

int so_brownian_new(size_t dim, double t0, double t1, int depth, uint64_t seed,
                    uint32_t path, so_brownian **out)
{
    if (out == NULL)
        return so_fail_(SO_ERR_INVALID, "brownian: output pointer is NULL; pass the address "
                        "of a so_brownian pointer");
    *out = NULL;
    if (dim == 0 || dim > UINT32_MAX)
        return so_fail_(SO_ERR_INVALID, "brownian: dim = %zu, expected 1 to %lu", dim,
                        (unsigned long)UINT32_MAX);
    if (!isfinite(t0) || !isfinite(t1) || !(t0 < t1))
        return so_fail_(SO_ERR_INVALID, "brownian: interval [%g, %g] is invalid; expected "
                        "finite t0 < t1", t0, t1);
    if (depth < 1 || depth > SO_BROWNIAN_MAX_DEPTH)
        return so_fail_(SO_ERR_INVALID, "brownian: depth = %d, expected 1 to %d (the finest "
                        "cell is (t1 - t0) / 2^depth)", depth, SO_BROWNIAN_MAX_DEPTH);
    so_brownian *b = so_calloc_(1, sizeof *b);
    if (b == NULL)
        return SO_ERR_NOMEM;
    b->dim = dim;
    b->t0 = t0;
    b->t1 = t1;
    b->depth = depth;
    b->seed = seed;
    b->path = path;
    *out = b;
    return SO_OK;
}

void so_brownian_free(so_brownian **b)
{
    if (b == NULL)
        return;
    free(*b);
    *b = NULL;
}

void so_brownian_set_path(so_brownian *b, uint64_t seed, uint32_t path)
{
    b->seed = seed;
    b->path = path;
}

size_t so_brownian_dim(const so_brownian *b)
{
    return b->dim;
}

/* Two independent standard normals for one node of one component, by the Box-Muller
 * transform of the two 53-bit uniforms in the Philox block at counter
 * (node, component, path). Node 0 draws the root, and node n >= 1 draws the split of n. */
static void node_normals(const so_brownian *b, uint64_t node, uint32_t component,
                         double z[2])
{
    const uint32_t counter[4] = {(uint32_t)node, (uint32_t)(node >> 32), component, b->path};
    const uint32_t key[2] = {(uint32_t)b->seed, (uint32_t)(b->seed >> 32)};
    uint32_t block[4];

    so_philox4x32_10(counter, key, block);
    uint64_t bits1 = ((uint64_t)block[0] << 32 | block[1]) >> 11;
    uint64_t bits2 = ((uint64_t)block[2] << 32 | block[3]) >> 11;
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    double u1 = 1.0 - (double)bits1 * 0x1.0p-53;
    double u2 = (double)bits2 * 0x1.0p-53;
    double radius = sqrt(-2.0 * log(u1));
    double angle = 2.0 * 3.14159265358979323846 * u2;
    z[0] = radius * cos(angle);
    z[1] = radius * sin(angle);
}

/* Computes W(t) and J(t) = int_{t0}^t W(r) dr of one component. */
static void component_at(const so_brownian *b, uint32_t component, double t, double *w_out,
                         double *j_out)
{
    static const double inv_sqrt3 = 0.57735026918962576451;
    double z[2];
    double a = b->t0, end = b->t1, h = b->t1 - b->t0;
    double wa = 0.0, ja = 0.0; /* W(a) and J(a) */
    uint64_t node = 1;

    node_normals(b, 0, component, z);
    double w = sqrt(h) * z[0];
    double area = sqrt(h / 12.0) * z[1];

    for (int level = 0;; level++) {
        if (t == a) {
            *w_out = wa;
            *j_out = ja;
            return;
        }
        if (t == end) {
            *w_out = wa + w;
            *j_out = ja + h * wa + h * (area + 0.5 * w);
            return;
        }
        if (level == b->depth) {
            /* Inside a finest cell: the conditional mean given (w, area), which is
             * W(a + r h) - W(a) = r w + 6 r (1 - r) area, and its time integral. */
            double r = (t - a) / h;
            *w_out = wa + r * w + 6.0 * r * (1.0 - r) * area;
            *j_out = ja + h * r * wa + h * (0.5 * r * r * w + (3.0 * r * r - 2.0 * r * r * r) * area);
            return;
        }
        node_normals(b, node, component, z);
        double sh = sqrt(h), k = 0.5 * h, mid = a + k;
        double w1 = 0.5 * w + 1.5 * area + 0.25 * sh * z[0];
        double common = 0.25 * area - 0.125 * sh * z[0];
        double spread = 0.25 * inv_sqrt3 * sh * z[1];
        if (t < mid) {
            w = w1;
            area = common + spread;
            end = mid;
            node = 2 * node;
        } else {
            double area1 = common + spread;
            ja += k * wa + k * (area1 + 0.5 * w1);
            wa += w1;
            w -= w1;
            area = common - spread;
            a = mid;
            node = 2 * node + 1;
        }
        h = k;
    }
}

static int check_time(const so_brownian *b, double t, const char *what)
{
    if (!(t >= b->t0 && t <= b->t1))
        return so_fail_(SO_ERR_RANGE, "brownian: %s = %g lies outside the path's interval "
                        "[%g, %g]; create the path on an interval that covers it", what, t,
                        b->t0, b->t1);
    return SO_OK;
}

int so_brownian_value(const so_brownian *b, double t, double *w)
{
    int status = check_time(b, t, "t");
    if (status != SO_OK)
        return status;
    for (size_t c = 0; c < b->dim; c++) {
        double integral;
        component_at(b, (uint32_t)c, t, &w[c], &integral);
    }
    return SO_OK;
}

int so_brownian_increment(const so_brownian *b, double s, double u, double *dw, double *dz)
{
    int status = check_time(b, s, "s");
    if (status == SO_OK)
        status = check_time(b, u, "u");
    if (status != SO_OK)
        return status;
    if (!(s <= u))
        return so_fail_(SO_ERR_INVALID, "brownian: increment from s = %g to u = %g; expected "
                        "s <= u", s, u);
    for (size_t c = 0; c < b->dim; c++) {
        double ws, js, wu, ju;
        component_at(b, (uint32_t)c, s, &ws, &js);
        component_at(b, (uint32_t)c, u, &wu, &ju);
        dw[c] = wu - ws;
        if (dz != NULL)
            dz[c] = ju - js - (u - s) * ws;
    }
    return SO_OK;
}

double so_brownian_resolution(const so_brownian *b)
{
    return ldexp(b->t1 - b->t0, -b->depth);
}
