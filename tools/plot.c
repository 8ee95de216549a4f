/* Self-contained SVG line charts for learning curves. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

enum { PANEL_W = 460, PANEL_H = 340, MARGIN_L = 64, MARGIN_R = 16, MARGIN_T = 36,
       MARGIN_B = 48, LEGEND_H = 18 };

/* Colors of the Okabe-Ito palette, distinguishable under common color-vision deficiencies. */
static const char *const COLORS[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                     "#E69F00", "#56B4E9", "#000000", "#F0E442"};

typedef struct text_buffer {
    char *data;
    size_t size, capacity;
    int failed;
} text_buffer;

static void emit(text_buffer *t, const char *fmt, ...)
{
    va_list ap;
    if (t->failed)
        return;
    for (;;) {
        size_t room = t->capacity - t->size;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->size : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            t->size += (size_t)n;
            return;
        }
        size_t cap = t->capacity ? t->capacity * 2 : 8192;
        while (cap - t->size <= (size_t)n)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (grown == NULL) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->capacity = cap;
    }
}

/* Writes s with the five XML special characters escaped. */
static void emit_escaped(text_buffer *t, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '<': emit(t, "&lt;"); break;
        case '>': emit(t, "&gt;"); break;
        case '&': emit(t, "&amp;"); break;
        case '"': emit(t, "&quot;"); break;
        case '\'': emit(t, "&apos;"); break;
        default: emit(t, "%c", *s);
        }
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving five to ten ticks. */
static double tick_step(double span)
{
    double raw = span / 8.0;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    if (f < 1.5)
        return mag;
    if (f < 3.5)
        return 2.0 * mag;
    if (f < 7.5)
        return 5.0 * mag;
    return 10.0 * mag;
}

static void data_range(const plot_panel *p, double *xmin, double *xmax, double *ymin,
                       double *ymax)
{
    *xmin = *ymin = INFINITY;
    *xmax = *ymax = -INFINITY;
    for (size_t s = 0; s < p->count; s++)
        for (size_t i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            *xmin = fmin(*xmin, x);
            *xmax = fmax(*xmax, x);
            *ymin = fmin(*ymin, y);
            *ymax = fmax(*ymax, y);
        }
    if (!isfinite(*xmin)) {
        *xmin = 0;
        *xmax = 1;
        *ymin = 0;
        *ymax = 1;
    }
    if (*xmax - *xmin <= 0) {
        *xmin -= 0.5;
        *xmax += 0.5;
    }
    /* Values a few ulps apart would give a tick step below the precision of the axis, so
     * the range is at least a millionth of the values' magnitude. */
    double pad = (*ymax - *ymin) * 0.05;
    double min_pad = fmax(fabs(*ymax), fabs(*ymin)) * 1e-6;
    if (pad < min_pad)
        pad = min_pad > 0 ? min_pad : 0.5;
    *ymin -= pad;
    *ymax += pad;
}

static void emit_axes(text_buffer *t, double ox, double xmin, double xmax, double ymin,
                      double ymax)
{
    double pw = PANEL_W - MARGIN_L - MARGIN_R, ph = PANEL_H - MARGIN_T - MARGIN_B;
    double x0 = ox + MARGIN_L, y0 = MARGIN_T;

    emit(t, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
         "stroke=\"#444\"/>\n", x0, y0, pw, ph);
    double xs = tick_step(xmax - xmin), ys = tick_step(ymax - ymin);
    /* Ticks are counted by index, so rounding can never stall the loop. */
    for (double k = ceil(xmin / xs); k * xs <= xmax + 1e-9 * xs && k - ceil(xmin / xs) < 50;
         k++) {
        double v = k * xs;
        double px = x0 + (v - xmin) / (xmax - xmin) * pw;
        emit(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
             px, y0, px, y0 + ph);
        emit(t, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", px,
             y0 + ph + 16, fabs(v) < 1e-12 * xs ? 0.0 : v);
    }
    for (double k = ceil(ymin / ys); k * ys <= ymax + 1e-9 * ys && k - ceil(ymin / ys) < 50;
         k++) {
        double v = k * ys;
        double py = y0 + ph - (v - ymin) / (ymax - ymin) * ph;
        emit(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
             x0, py, x0 + pw, py);
        emit(t, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", x0 - 6,
             py + 4, fabs(v) < 1e-12 * ys ? 0.0 : v);
    }
}

/* Series past the eighth reuse the palette, so they are dashed to stay distinguishable. */
static int is_dashed(const plot_series *s, size_t index)
{
    return s->dashed || index >= sizeof COLORS / sizeof COLORS[0];
}

static void emit_series(text_buffer *t, const plot_series *s, size_t index, double ox,
                        double xmin, double xmax, double ymin, double ymax)
{
    double pw = PANEL_W - MARGIN_L - MARGIN_R, ph = PANEL_H - MARGIN_T - MARGIN_B;
    const char *color = COLORS[index % (sizeof COLORS / sizeof COLORS[0])];
    int dashed = is_dashed(s, index);
    int open = 0;

    /* A non-finite value breaks the line into separate segments. */
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
            if (open)
                emit(t, "\"/>\n");
            open = 0;
            continue;
        }
        double px = ox + MARGIN_L + (s->x[i] - xmin) / (xmax - xmin) * pw;
        double py = MARGIN_T + ph - (s->y[i] - ymin) / (ymax - ymin) * ph;
        if (!open)
            emit(t, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                 color, dashed ? " stroke-dasharray=\"6 4\"" : "");
        emit(t, "%.1f,%.1f ", px, py);
        open = 1;
        /* A single point draws no line, so mark it. */
        if (s->n == 1) {
            emit(t, "\"/>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px,
                 py, color);
            open = 0;
        }
    }
    if (open)
        emit(t, "\"/>\n");
}

static void emit_panel(text_buffer *t, const plot_panel *p, double ox)
{
    double xmin, xmax, ymin, ymax;

    data_range(p, &xmin, &xmax, &ymin, &ymax);
    emit(t, "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" "
         "font-weight=\"bold\">", ox + PANEL_W / 2.0);
    emit_escaped(t, p->title);
    emit(t, "</text>\n");
    emit_axes(t, ox, xmin, xmax, ymin, ymax);
    for (size_t s = 0; s < p->count; s++)
        emit_series(t, &p->series[s], s, ox, xmin, xmax, ymin, ymax);
    emit(t, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", ox + MARGIN_L +
         (PANEL_W - MARGIN_L - MARGIN_R) / 2.0, PANEL_H - 12);
    emit_escaped(t, p->xlabel);
    emit(t, "</text>\n<text transform=\"translate(%.1f,%.1f) rotate(-90)\" "
         "text-anchor=\"middle\">", ox + 16, MARGIN_T + (PANEL_H - MARGIN_T - MARGIN_B) / 2.0);
    emit_escaped(t, p->ylabel);
    emit(t, "</text>\n");
    /* Legend below the panel, one entry per series. */
    for (size_t s = 0; s < p->count; s++) {
        double lx = ox + MARGIN_L + (double)(s % 3) * 130;
        double ly = PANEL_H + 4 + (double)(s / 3) * LEGEND_H;
        const char *color = COLORS[s % (sizeof COLORS / sizeof COLORS[0])];
        emit(t, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
             "stroke-width=\"2\"%s/>\n<text x=\"%.1f\" y=\"%.1f\">", lx, ly, lx + 24, ly,
             color, is_dashed(&p->series[s], s) ? " stroke-dasharray=\"6 4\"" : "", lx + 30,
             ly + 4);
        emit_escaped(t, p->series[s].label);
        emit(t, "</text>\n");
    }
}

int cli_write_file_atomic(const char *path, const char *text, size_t length)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return -1;
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    /* mkstemp creates the file with mode 0600; give it the mode a plain fopen would. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "w");
    int ok = f != NULL && fwrite(text, 1, length, f) == length;
    ok = (f != NULL ? fclose(f) == 0 : (close(fd), 0)) && ok;
    int saved = errno;
    if (ok && rename(tmp, path) == 0) {
        free(tmp);
        return 0;
    }
    saved = errno ? errno : saved;
    unlink(tmp);
    free(tmp);
    errno = saved;
    return -1;
}

int plot_write_svg(const char *path, const plot_panel *panels, size_t count)
{
    text_buffer t = {0};
    size_t max_series = 0;

    for (size_t p = 0; p < count; p++)
        max_series = panels[p].count > max_series ? panels[p].count : max_series;
    double height = PANEL_H + 12 + (double)((max_series + 2) / 3) * LEGEND_H;
    double width = (double)count * PANEL_W;
    emit(&t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
         "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" "
         "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
         width, height, width, height);
    for (size_t p = 0; p < count; p++)
        emit_panel(&t, &panels[p], (double)p * PANEL_W);
    emit(&t, "</svg>\n");
    if (t.failed) {
        free(t.data);
        cli_error("%s: out of memory drawing the plot", path);
        return -1;
    }
    if (cli_write_file_atomic(path, t.data, t.size) != 0) {
        cli_error("%s: cannot write the plot: %s", path, strerror(errno));
        free(t.data);
        return -1;
    }
    free(t.data);
    return 0;
}
