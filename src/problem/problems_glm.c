/* Generalized linear models on a dataset: binary logistic regression, multinomial
 * (softmax) regression and least squares. All three have the form
 *
 *     f(x) = (1/N) sum_i loss_i(z_i) + l2/2 |x_reg|^2,  z_i = X^T a_i in R^C,
 *
 * with X the d x C weight matrix (C = 1 for logistic and least squares) and x_reg the
 * weights without the intercept. The per-sample objectives are f_i = loss_i(z_i) +
 * l2/2 |x_reg|^2, so f is exactly their mean. With r_i = loss_i'(z_i) (C values) and
 * M_i = loss_i''(z_i) (C x C):
 *
 *     grad f_i  = a_i (x) r_i + l2 x_reg,
 *     EXACT     = (1/N) sum_i (a_i a_i^T) (x) M_i + l2 I_reg (the Gauss-Newton matrix too,
 *                 because z is linear in x),
 *     FISHER    = (1/N) sum_i grad f_i grad f_i^T,
 *
 * where (x) is the Kronecker product in the row-major order of X (variable j * C + c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "problem/problem_internal.h"
#include "stochopt/problem.h"

typedef enum glm_loss { GLM_LOGISTIC, GLM_SOFTMAX, GLM_SQUARES } glm_loss;

typedef struct glm {
    glm_loss loss;
    so_matrix_ A;  /* N x d, with the column of ones last when intercept */
    size_t N, d, C, n;
    int intercept;
    double l2;
    double *y;     /* N: +-1 for logistic, the targets for least squares */
    int32_t *label; /* N class indices for softmax */
    /* Work arrays, reused by every callback: one problem is not reentrant. */
    double *Z;     /* N x C scores */
    double *R;     /* N x C first derivatives of the loss */
    double *S;     /* N x C: sigmoid(z) for logistic, the probabilities for softmax */
    double *T;     /* N x C products A V */
    double *w;     /* N weights of a Gram matrix */
    double *block; /* d x d */
    double *scratch; /* N x d for dense Gram products */
    double *u, *v; /* n values */
    double *x0;
} glm;

static void glm_destroy(void *user)
{
    glm *m = user;
    if (m == NULL)
        return;
    so_matrix_free_(&m->A);
    free(m->y);
    free(m->label);
    free(m->Z);
    free(m->R);
    free(m->S);
    free(m->T);
    free(m->w);
    free(m->block);
    free(m->scratch);
    free(m->u);
    free(m->v);
    free(m->x0);
    free(m);
}

static int is_regularized(const glm *m, size_t var)
{
    return !(m->intercept && var / m->C == m->d - 1);
}

/* log(1 + exp(t)) without overflow. */
static double softplus(double t)
{
    return t > 0.0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

/* Computes Z, R and S at x and returns the mean loss plus the l2 term. */
static double glm_prepare(glm *m, const double *x)
{
    const size_t N = m->N, C = m->C;
    double sum = 0.0;
    so_matrix_mul_(&m->A, x, C, m->Z);
    for (size_t i = 0; i < N; i++) {
        const double *z = m->Z + i * C;
        double *r = m->R + i * C, *s = m->S + i * C;
        if (m->loss == GLM_LOGISTIC) {
            /* loss = log(1 + exp(-y z)), r = -y sigmoid(-y z). */
            const double yz = m->y[i] * z[0];
            sum += softplus(-yz);
            s[0] = 1.0 / (1.0 + exp(-z[0]));
            r[0] = -m->y[i] / (1.0 + exp(yz));
        } else if (m->loss == GLM_SQUARES) {
            r[0] = z[0] - m->y[i];
            s[0] = 1.0;
            sum += 0.5 * r[0] * r[0];
        } else {
            /* Cross-entropy of the softmax: loss = logsumexp(z) - z_label. */
            double zmax = z[0], total = 0.0;
            for (size_t c = 1; c < C; c++)
                zmax = fmax(zmax, z[c]);
            for (size_t c = 0; c < C; c++) {
                s[c] = exp(z[c] - zmax);
                total += s[c];
            }
            for (size_t c = 0; c < C; c++) {
                s[c] /= total;
                r[c] = s[c];
            }
            r[m->label[i]] -= 1.0;
            sum += zmax + log(total) - z[m->label[i]];
        }
    }
    double reg = 0.0;
    for (size_t q = 0; q < m->n; q++)
        if (is_regularized(m, q))
            reg += x[q] * x[q];
    return sum / (double)N + 0.5 * m->l2 * reg;
}

/* v = l2 x_reg. */
static void l2_part(const glm *m, const double *x, double *v)
{
    for (size_t q = 0; q < m->n; q++)
        v[q] = is_regularized(m, q) ? m->l2 * x[q] : 0.0;
}

static int glm_value_grad(void *user, const double *x, double *f, double *g)
{
    glm *m = user;
    *f = glm_prepare(m, x);
    if (g != NULL) {
        so_matrix_tmul_(&m->A, m->R, m->C, 1.0 / (double)m->N, g);
        for (size_t q = 0; q < m->n; q++)
            if (is_regularized(m, q))
                g[q] += m->l2 * x[q];
    }
    return SO_OK;
}

static int glm_sample_grads(void *user, const double *x, const size_t *idx, size_t count,
                            double *G)
{
    glm *m = user;
    const size_t C = m->C, d = m->d, n = m->n;
    for (size_t b = 0; b < count; b++)
        if (idx[b] >= m->N)
            return so_fail_(SO_ERR_RANGE, "sample_grads: idx[%zu] = %zu; expected an index "
                            "below the %zu samples", b, idx[b], m->N);
    (void)glm_prepare(m, x);
    l2_part(m, x, m->v);
    for (size_t b = 0; b < count; b++) {
        double *row = G + b * n;
        const double *r = m->R + idx[b] * C;
        so_matrix_row_(&m->A, idx[b], m->block);
        for (size_t j = 0; j < d; j++)
            for (size_t c = 0; c < C; c++)
                row[j * C + c] = m->block[j] * r[c] + m->v[j * C + c];
    }
    return SO_OK;
}

/* Second derivative M_i[c][e] of the loss of sample i. */
static double loss_hessian(const glm *m, size_t i, size_t c, size_t e)
{
    const double *s = m->S + i * m->C;
    if (m->loss == GLM_LOGISTIC)
        return s[0] * (1.0 - s[0]);
    if (m->loss == GLM_SQUARES)
        return 1.0;
    return (c == e ? s[c] : 0.0) - s[c] * s[e];
}

/* H = (1/N) sum_i (a_i a_i^T) (x) W_i with W_i[c][e] = fisher ? r_ic r_ie : M_i[c][e]. */
static void kron_gram(glm *m, int fisher, double *H)
{
    const size_t C = m->C, d = m->d, n = m->n;
    for (size_t c = 0; c < C; c++)
        for (size_t e = c; e < C; e++) {
            for (size_t i = 0; i < m->N; i++)
                m->w[i] = fisher ? m->R[i * C + c] * m->R[i * C + e]
                                 : loss_hessian(m, i, c, e);
            so_matrix_gram_(&m->A, m->w, 1.0 / (double)m->N, m->block, m->scratch);
            for (size_t j = 0; j < d; j++)
                for (size_t k = 0; k < d; k++) {
                    const double b = m->block[j * d + k];
                    H[(j * C + c) * n + k * C + e] = b;
                    H[(j * C + e) * n + k * C + c] = b;
                }
        }
}

static int glm_curvature(void *user, so_curvature kind, const double *x, double *H)
{
    glm *m = user;
    const size_t n = m->n;
    if (kind != SO_CURVATURE_EXACT && kind != SO_CURVATURE_GAUSS_NEWTON &&
        kind != SO_CURVATURE_FISHER)
        return SO_ERR_UNSUPPORTED;
    (void)glm_prepare(m, x);
    if (kind == SO_CURVATURE_FISHER) {
        kron_gram(m, 1, H);
        /* Cross terms of grad f_i = a_i (x) r_i + v: u v^T + v u^T + v v^T with u the
         * mean loss gradient. */
        so_matrix_tmul_(&m->A, m->R, m->C, 1.0 / (double)m->N, m->u);
        l2_part(m, x, m->v);
        for (size_t p = 0; p < n; p++)
            for (size_t q = 0; q < n; q++)
                H[p * n + q] += m->u[p] * m->v[q] + m->v[p] * m->u[q] +
                                m->v[p] * m->v[q];
        return SO_OK;
    }
    kron_gram(m, 0, H);
    for (size_t q = 0; q < n; q++)
        if (is_regularized(m, q))
            H[q * n + q] += m->l2;
    return SO_OK;
}

static int glm_curvature_vp(void *user, so_curvature kind, const double *x,
                            const double *v, double *out)
{
    glm *m = user;
    const size_t N = m->N, C = m->C, n = m->n;
    if (kind != SO_CURVATURE_EXACT && kind != SO_CURVATURE_GAUSS_NEWTON &&
        kind != SO_CURVATURE_FISHER)
        return SO_ERR_UNSUPPORTED;
    (void)glm_prepare(m, x);
    so_matrix_mul_(&m->A, v, C, m->T);
    if (kind == SO_CURVATURE_FISHER) {
        /* F v = (1/N) sum_i grad f_i s_i with s_i = grad f_i . v. */
        l2_part(m, x, m->u);
        double uv = 0.0, mean_s = 0.0;
        for (size_t q = 0; q < n; q++)
            uv += m->u[q] * v[q];
        for (size_t i = 0; i < N; i++) {
            double s = uv;
            for (size_t c = 0; c < C; c++)
                s += m->R[i * C + c] * m->T[i * C + c];
            mean_s += s / (double)N;
            for (size_t c = 0; c < C; c++)
                m->T[i * C + c] = s * m->R[i * C + c];
        }
        so_matrix_tmul_(&m->A, m->T, C, 1.0 / (double)N, out);
        for (size_t q = 0; q < n; q++)
            out[q] += m->u[q] * mean_s;
        return SO_OK;
    }
    /* Replace each row T_i by M_i T_i. */
    for (size_t i = 0; i < N; i++) {
        double *t = m->T + i * C;
        if (m->loss != GLM_SOFTMAX) {
            t[0] *= loss_hessian(m, i, 0, 0);
            continue;
        }
        const double *s = m->S + i * C;
        double st = 0.0;
        for (size_t c = 0; c < C; c++)
            st += s[c] * t[c];
        for (size_t c = 0; c < C; c++)
            t[c] = s[c] * (t[c] - st);
    }
    so_matrix_tmul_(&m->A, m->T, C, 1.0 / (double)N, out);
    for (size_t q = 0; q < n; q++)
        if (is_regularized(m, q))
            out[q] += m->l2 * v[q];
    return SO_OK;
}

static int glm_new(so_problem *p, const so_dataset *ds, glm_loss loss, size_t C, double l2,
                   int intercept, const char *caller)
{
    memset(p, 0, sizeof *p);
    if (!(l2 >= 0.0) || !isfinite(l2))
        return so_fail_(SO_ERR_INVALID, "%s: l2 = %g; expected a finite value >= 0", caller, l2);
    if (ds == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: dataset is NULL", caller);
    for (size_t i = 0; i < ds->n; i++) {
        if (loss == GLM_SQUARES) {
            if (ds->target == NULL)
                return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has no targets; least "
                                "squares needs the n targets", caller,
                                ds->name ? ds->name : "");
            if (!isfinite(ds->target[i]))
                return so_fail_(SO_ERR_NONFINITE, "%s: dataset '%s' has target %g in row "
                                "%zu; expected finite targets", caller,
                                ds->name ? ds->name : "", ds->target[i], i);
        } else if (ds->label[i] < 0 ||
                   (size_t)ds->label[i] >= (loss == GLM_LOGISTIC ? (size_t)2 : C)) {
            return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has label %d in row %zu; "
                            "expected a class index in [0, %zu); encode the labels with "
                            "so_dataset_encode_labels", caller, ds->name ? ds->name : "",
                            (int)ds->label[i], i, loss == GLM_LOGISTIC ? (size_t)2 : C);
        }
    }
    glm *m = calloc(1, sizeof *m);
    if (m == NULL)
        return so_fail_(SO_ERR_NOMEM, "%s: out of memory", caller);
    int status = so_matrix_from_dataset_(ds, intercept, &m->A, caller);
    if (status != SO_OK) {
        free(m);
        return status;
    }
    m->loss = loss;
    m->N = ds->n;
    m->d = m->A.cols;
    m->C = C;
    m->n = m->d * C;
    m->intercept = intercept;
    m->l2 = l2;
    const size_t N = m->N, d = m->d;
    m->Z = so_calloc_(N * C, sizeof *m->Z);
    m->R = so_calloc_(N * C, sizeof *m->R);
    m->S = so_calloc_(N * C, sizeof *m->S);
    m->T = so_calloc_(N * C, sizeof *m->T);
    m->w = so_calloc_(N, sizeof *m->w);
    m->block = so_calloc_(d * d, sizeof *m->block);
    m->scratch = m->A.sparse ? NULL : so_calloc_(N * d, sizeof *m->scratch);
    m->u = so_calloc_(m->n, sizeof *m->u);
    m->v = so_calloc_(m->n, sizeof *m->v);
    m->x0 = so_calloc_(m->n, sizeof *m->x0);
    if (loss == GLM_SOFTMAX)
        m->label = so_calloc_(N, sizeof *m->label);
    else
        m->y = so_calloc_(N, sizeof *m->y);
    if (m->Z == NULL || m->R == NULL || m->S == NULL || m->T == NULL || m->w == NULL ||
        m->block == NULL || (!m->A.sparse && m->scratch == NULL) || m->u == NULL ||
        m->v == NULL || m->x0 == NULL || (m->label == NULL && m->y == NULL)) {
        glm_destroy(m);
        return SO_ERR_NOMEM;
    }
    for (size_t i = 0; i < N; i++) {
        if (loss == GLM_SQUARES)
            m->y[i] = ds->target[i];
        else if (loss == GLM_LOGISTIC)
            m->y[i] = ds->label[i] == 1 ? 1.0 : -1.0;
        else
            m->label[i] = ds->label[i];
    }
    p->name = caller + strlen("so_problem_");
    p->n = m->n;
    p->nsamples = N;
    p->user = m;
    p->value_grad = glm_value_grad;
    p->sample_grads = glm_sample_grads;
    p->curvature = glm_curvature;
    p->curvature_vp = glm_curvature_vp;
    p->destroy = glm_destroy;
    p->x0 = m->x0;
    p->f_star = NAN;
    return SO_OK;
}

static int check_labels(const so_dataset *ds, int classes, const char *caller)
{
    if (ds == NULL)
        return so_fail_(SO_ERR_INVALID, "%s: dataset is NULL", caller);
    if (ds->label == NULL || ds->num_classes == 0)
        return so_fail_(SO_ERR_STATE, "%s: dataset '%s' has no encoded labels; call "
                        "so_dataset_encode_labels first", caller, ds->name ? ds->name : "");
    if (classes > 0 && ds->num_classes != classes)
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has %d classes; expected %d", caller,
                        ds->name ? ds->name : "", ds->num_classes, classes);
    if (ds->num_classes < 2)
        return so_fail_(SO_ERR_INVALID, "%s: dataset '%s' has %d class; expected at least 2",
                        caller, ds->name ? ds->name : "", ds->num_classes);
    return SO_OK;
}

int so_problem_logistic(so_problem *p, const so_dataset *ds, double l2, int intercept)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_logistic: p is NULL");
    memset(p, 0, sizeof *p);
    int status = check_labels(ds, 2, "so_problem_logistic");
    if (status != SO_OK)
        return status;
    return glm_new(p, ds, GLM_LOGISTIC, 1, l2, intercept != 0, "so_problem_logistic");
}

int so_problem_softmax(so_problem *p, const so_dataset *ds, double l2)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_softmax: p is NULL");
    memset(p, 0, sizeof *p);
    int status = check_labels(ds, 0, "so_problem_softmax");
    if (status != SO_OK)
        return status;
    return glm_new(p, ds, GLM_SOFTMAX, (size_t)ds->num_classes, l2, 0,
                   "so_problem_softmax");
}

int so_problem_least_squares(so_problem *p, const so_dataset *ds, double l2)
{
    if (p == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_least_squares: p is NULL");
    memset(p, 0, sizeof *p);
    if (ds == NULL)
        return so_fail_(SO_ERR_INVALID, "so_problem_least_squares: dataset is NULL");
    return glm_new(p, ds, GLM_SQUARES, 1, l2, 0, "so_problem_least_squares");
}
