/*
** plot.c -- charts and feature-map grids as PNG (libpng) or SVG text, and
** the per-layer comparison they draw.  See plot.h.
*/
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include "plot.h"

#define MAX_SIDE 16384

/*---------------------------------------------------------------- raster */

k2t_image *k2t_image_new(int w, int h, uint32_t rgb)
{
    if (w <= 0 || h <= 0 || w > MAX_SIDE || h > MAX_SIDE) return NULL;
    k2t_image *im = k2t_xmalloc(sizeof *im);
    im->w = w;
    im->h = h;
    im->rgb = k2t_xmalloc((size_t)w * (size_t)h * 3);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        im->rgb[3 * i] = (unsigned char)(rgb >> 16);
        im->rgb[3 * i + 1] = (unsigned char)(rgb >> 8);
        im->rgb[3 * i + 2] = (unsigned char)rgb;
    }
    return im;
}

void k2t_image_free(k2t_image *im)
{
    if (!im) return;
    free(im->rgb);
    free(im);
}

void k2t_image_set(k2t_image *im, int x, int y, uint32_t rgb)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
    unsigned char *p = im->rgb + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    p[0] = (unsigned char)(rgb >> 16);
    p[1] = (unsigned char)(rgb >> 8);
    p[2] = (unsigned char)rgb;
}

static void fill_rect(k2t_image *im, int x0, int y0, int x1, int y1, uint32_t rgb)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) k2t_image_set(im, x, y, rgb);
}

/* Bresenham, every 'dash' pixels on then off (0: solid). */
static void draw_line(k2t_image *im, int x0, int y0, int x1, int y1, uint32_t rgb, int dash)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int e = dx + dy, k = 0;
    for (;;) {
        if (!dash || (k / dash) % 2 == 0) k2t_image_set(im, x0, y0, rgb);
        k++;
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) { e += dy; x0 += sx; }
        if (e2 <= dx) { e += dx; y0 += sy; }
    }
}

typedef struct png_ctx {
    jmp_buf jb;
    char msg[200];
} png_ctx;

static void png_on_error(png_structp p, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(p);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    longjmp(c->jb, 1);
}

static void png_on_warning(png_structp p, png_const_charp msg)
{
    (void)p, (void)msg;
}

k2t_status k2t_png_write(FILE *f, const k2t_image *im, const char *const *text, k2t_err *err)
{
    png_ctx ctx;
    ctx.msg[0] = '\0';
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    if (!p) return k2t_fail(err, K2T_EIO, "libpng: cannot create a writer");
    png_infop info = png_create_info_struct(p);
    png_text *tx = NULL;
    if (!info || setjmp(ctx.jb)) {
        png_destroy_write_struct(&p, info ? &info : NULL);
        free(tx);
        return k2t_fail(err, K2T_EIO, "libpng: %s", ctx.msg[0] ? ctx.msg : "cannot write the image");
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    int nt = 0;
    while (text && text[2 * nt]) nt++;
    if (nt) {
        tx = calloc((size_t)nt, sizeof *tx);
        if (!tx) png_error(p, "out of memory");
        for (int i = 0; i < nt; i++) {
            tx[i].compression = PNG_TEXT_COMPRESSION_NONE;
            tx[i].key = (png_charp)text[2 * i];
            tx[i].text = (png_charp)text[2 * i + 1];
            tx[i].text_length = strlen(text[2 * i + 1]);
        }
        png_set_text(p, info, tx, nt);
    }
    png_write_info(p, info);
    for (int y = 0; y < im->h; y++) png_write_row(p, im->rgb + (size_t)y * (size_t)im->w * 3);
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(tx);
    if (ferror(f)) return k2t_fail(err, K2T_EIO, "cannot write the image");
    return K2T_OK;
}

/*------------------------------------------------------------- log axis */

void k2t_log_decades(const double *v, int n, int *lo, int *hi)
{
    double mn = INFINITY, mx = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > 0 && isfinite(v[i])) {
            if (v[i] < mn) mn = v[i];
            if (v[i] > mx) mx = v[i];
        }
    if (!(mx > 0)) {
        *lo = -1;
        *hi = 0;
        return;
    }
    *lo = (int)floor(log10(mn));
    *hi = (int)ceil(log10(mx));
    if (*lo < -30) *lo = -30; /* denormals would flatten every other point */
    if (*hi <= *lo) *hi = *lo + 1;
}

/*----------------------------------------------------- per-layer diff */

k2t_status k2t_layer_diffs(const k2t_model *m, const k2t_run *ra, const k2t_run *rb, int n, double atol,
                           double rtol, k2t_layer_diff *out, int *first, k2t_err *err)
{
    int64_t maxn = 0;
    *first = -1;
    for (int i = 0; i < m->n_nodes; i++) {
        int64_t q = k2t_shape_numel(k2t_run_keras_shape(ra, i)), q2 = k2t_shape_numel(k2t_run_keras_shape(rb, i));
        if (q > maxn) maxn = q;
        if (q2 > maxn) maxn = q2;
    }
    float *ka = k2t_xmalloc((size_t)(maxn * n + 1) * sizeof(float));
    float *kb = k2t_xmalloc((size_t)(maxn * n + 1) * sizeof(float));
    k2t_err ignore;
    for (int i = 0; i < m->n_nodes; i++) {
        k2t_layer_diff *d = &out[i];
        memset(d, 0, sizeof *d);
        const k2t_shape *sa = k2t_run_keras_shape(ra, i), *sb = k2t_run_keras_shape(rb, i);
        int same = sa->ndim == sb->ndim;
        for (int k = 0; same && k < sa->ndim; k++) same = sa->d[k] == sb->d[k];
        if (!same) {
            d->state = -1;
            d->mad = INFINITY;
            if (*first < 0) *first = i;
            continue;
        }
        if (k2t_run_keras(ra, i, 0, ka, &ignore) != K2T_OK || k2t_run_keras(rb, i, 0, kb, &ignore) != K2T_OK)
            continue; /* not computed: state 0 */
        int64_t cnt = k2t_shape_numel(sa) * n;
        double mad = 0, ref = 0;
        for (int64_t k = 0; k < cnt; k++) {
            double v = fabs((double)ka[k] - (double)kb[k]);
            if (!(v <= mad)) mad = v;
            if (fabs(ka[k]) > ref) ref = fabs(ka[k]);
        }
        d->state = 1;
        d->mad = mad;
        d->ref = ref;
        d->tol = atol + rtol * ref;
        d->pass = mad <= d->tol;
        if (!d->pass && *first < 0) *first = i;
    }
    free(ka);
    free(kb);
    (void)err;
    return K2T_OK;
}

/* The diff chart's geometry: value -> y in the plot area. */
typedef struct frame {
    int x0, y0, x1, y1, dlo, dhi, n;
} frame;

static void frame_init(frame *fr, const k2t_layer_diff *d, int n, int x0, int y0, int x1, int y1)
{
    double *v = k2t_xmalloc((size_t)(2 * n + 1) * sizeof *v);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (d[i].state == 1) {
            v[k++] = d[i].mad;
            v[k++] = d[i].tol;
        }
    k2t_log_decades(v, k, &fr->dlo, &fr->dhi);
    free(v);
    fr->x0 = x0, fr->y0 = y0, fr->x1 = x1, fr->y1 = y1, fr->n = n;
}

static double frame_x(const frame *fr, int i)
{
    return fr->n > 1 ? fr->x0 + (double)(fr->x1 - fr->x0) * i / (fr->n - 1) : (fr->x0 + fr->x1) / 2.0;
}

/* Zero (and anything below the axis) sits on the bottom line; Inf/NaN on top. */
static double frame_y(const frame *fr, double v)
{
    if (!(v == v) || isinf(v)) return fr->y0;
    double t = v > 0 ? (log10(v) - fr->dlo) / (fr->dhi - fr->dlo) : 0;
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    return fr->y1 - t * (fr->y1 - fr->y0);
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*s >= 32 || *s == '\t') fputc(*s, f);
        }
    }
}

k2t_status k2t_plot_diff_svg(FILE *f, const char *const *names, const k2t_layer_diff *d, int n, int first,
                             k2t_err *err)
{
    frame fr;
    frame_init(&fr, d, n, 70, 30, 880, 380);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"460\" viewBox=\"0 0 900 460\""
               " data-decade-lo=\"%d\" data-decade-hi=\"%d\">\n"
               "<title>max |a-b| per layer (log scale)</title>\n"
               "<rect width=\"900\" height=\"460\" fill=\"white\"/>\n",
            fr.dlo, fr.dhi);
    for (int e = fr.dlo; e <= fr.dhi; e++) {
        double y = frame_y(&fr, pow(10, e));
        fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                   "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" font-family=\"sans-serif\">"
                   "1e%d</text>\n",
                fr.x0, y, fr.x1, y, fr.x0 - 6, y + 4, e);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", fr.x0, fr.y0,
            fr.x1 - fr.x0, fr.y1 - fr.y0);
    fprintf(f, "<text x=\"15\" y=\"%d\" font-size=\"12\" font-family=\"sans-serif\" transform=\"rotate(-90 15 %d)\""
               " text-anchor=\"middle\">max |a-b|</text>\n",
            (fr.y0 + fr.y1) / 2, (fr.y0 + fr.y1) / 2);
    /* The tolerance: a step per layer. */
    fputs("<polyline class=\"tolerance\" fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"6 3\" points=\"", f);
    for (int i = 0; i < n; i++)
        if (d[i].state == 1) fprintf(f, "%.1f,%.1f ", frame_x(&fr, i), frame_y(&fr, d[i].tol));
    fputs("\"/>\n<polyline class=\"curve\" fill=\"none\" stroke=\"#1f77b4\" points=\"", f);
    for (int i = 0; i < n; i++)
        if (d[i].state != 0) fprintf(f, "%.1f,%.1f ", frame_x(&fr, i), frame_y(&fr, d[i].mad));
    fputs("\"/>\n", f);
    if (first >= 0) {
        double x = frame_x(&fr, first);
        fprintf(f, "<line class=\"first\" data-layer=\"");
        xml_text(f, names[first]);
        fprintf(f, "\" data-index=\"%d\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ff7f0e\""
                   " stroke-width=\"2\"/>\n<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#ff7f0e\""
                   " font-family=\"sans-serif\">first divergence: ",
                first, x, fr.y0, x, fr.y1, x + 4, fr.y0 + 14);
        xml_text(f, names[first]);
        fputs("</text>\n", f);
    }
    for (int i = 0; i < n; i++) {
        if (d[i].state == 0) continue;
        double x = frame_x(&fr, i), y = frame_y(&fr, d[i].mad);
        fprintf(f, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\" data-index=\"%d\" data-layer=\"",
                x, y, d[i].pass ? "#1f77b4" : "#d62728", i);
        xml_text(f, names[i]);
        if (d[i].state < 0)
            fprintf(f, "\" data-value=\"inf\" data-tol=\"0\" data-pass=\"0\"><title>%d ", i);
        else
            fprintf(f, "\" data-value=\"%.9g\" data-tol=\"%.9g\" data-pass=\"%d\"><title>%d ", d[i].mad, d[i].tol,
                    d[i].pass, i);
        xml_text(f, names[i]);
        if (d[i].state < 0) fputs(": shapes differ</title></circle>\n", f);
        else fprintf(f, ": max|a-b| %.4g (tolerance %.4g)</title></circle>\n", d[i].mad, d[i].tol);
        /* Layer names under the axis, every one when they fit. */
        int step = n > 40 ? (n + 39) / 40 : 1;
        if (i % step == 0) {
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" font-family=\"sans-serif\" text-anchor=\"end\""
                       " transform=\"rotate(-45 %.1f %d)\">",
                    x, fr.y1 + 12, x, fr.y1 + 12);
            xml_text(f, names[i]);
            fputs("</text>\n", f);
        }
    }
    fputs("</svg>\n", f);
    if (ferror(f)) return k2t_fail(err, K2T_EIO, "cannot write the SVG");
    return K2T_OK;
}

k2t_image *k2t_plot_diff_png(const char *const *names, const k2t_layer_diff *d, int n, int first, char **values)
{
    frame fr;
    frame_init(&fr, d, n, K2T_DIFF_X0, K2T_DIFF_Y0, K2T_DIFF_X1, K2T_DIFF_Y1);
    k2t_image *im = k2t_image_new(K2T_DIFF_W, K2T_DIFF_H, 0xffffff);
    for (int e = fr.dlo; e <= fr.dhi; e++) {
        int y = (int)lround(frame_y(&fr, pow(10, e)));
        draw_line(im, fr.x0, y, fr.x1, y, 0xdddddd, 0);
    }
    draw_line(im, fr.x0, fr.y0, fr.x0, fr.y1, 0x444444, 0);
    draw_line(im, fr.x0, fr.y1, fr.x1, fr.y1, 0x444444, 0);
    int px = -1, py = 0, tx = -1, ty = 0;
    for (int i = 0; i < n; i++) {
        if (d[i].state != 1) continue;
        int x = (int)lround(frame_x(&fr, i)), y = (int)lround(frame_y(&fr, d[i].tol));
        if (tx >= 0) draw_line(im, tx, ty, x, y, 0xd62728, 4);
        tx = x, ty = y;
    }
    if (first >= 0) {
        int x = (int)lround(frame_x(&fr, first));
        draw_line(im, x, fr.y0, x, fr.y1, 0xff7f0e, 0);
    }
    for (int i = 0; i < n; i++) {
        if (d[i].state == 0) continue;
        int x = (int)lround(frame_x(&fr, i)), y = (int)lround(frame_y(&fr, d[i].mad));
        if (px >= 0) draw_line(im, px, py, x, y, 0x1f77b4, 0);
        px = x, py = y;
    }
    /* The points last, on top: 5x5 squares, red when out of tolerance. */
    size_t cap = 64 + (size_t)n * 600, len = 0;
    char *v = k2t_xmalloc(cap);
    v[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (d[i].state == 0) continue;
        int x = (int)lround(frame_x(&fr, i)), y = (int)lround(frame_y(&fr, d[i].mad));
        fill_rect(im, x - 2, y - 2, x + 2, y + 2, d[i].pass ? 0x1f77b4 : 0xd62728);
        if (d[i].state < 0) len += (size_t)snprintf(v + len, cap - len, "%d %.500s inf\n", i, names[i]);
        else len += (size_t)snprintf(v + len, cap - len, "%d %.500s %.9g\n", i, names[i], d[i].mad);
    }
    *values = v;
    return im;
}

/* Append to a growing string. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = k2t_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

char *k2t_plot_diff_text(const char *const *names, const k2t_layer_diff *d, int n, int first, int width)
{
    /* "  12 name........ |████▌     ┆   | 4.3e-05 FAIL <" */
    sbuf b = {0};
    double *v = k2t_xmalloc((size_t)(2 * n + 1) * sizeof *v);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (d[i].state == 1) v[k++] = d[i].mad, v[k++] = d[i].tol;
    int dlo, dhi;
    k2t_log_decades(v, k, &dlo, &dhi);
    free(v);
    int wn = 4;
    for (int i = 0; i < n; i++)
        if ((int)strlen(names[i]) > wn) wn = (int)strlen(names[i]);
    if (width < 40) width = 40;
    /* index 4, spaces, name, " |", bar, "| ", value 9, " FAIL", " <" */
    int fixed = 4 + 1 + 2 + 2 + 9 + 5 + 2;
    if (wn > width - fixed - 10) wn = width - fixed - 10;
    if (wn > 28) wn = 28;
    if (wn < 4) wn = 4;
    int bw = width - fixed - wn;
    if (bw < 10) bw = 10;
    char line[1024];
    snprintf(line, sizeof line, "max |a-b| per layer, log scale 1e%d .. 1e%d; \xe2\x94\x86 the tolerance\n", dlo, dhi);
    if ((int)strlen(line) - 2 > width) snprintf(line, sizeof line, "max|a-b|, log 1e%d..1e%d\n", dlo, dhi);
    sb_str(&b, line);
    static const char *const eighths[] = {"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d", "\xe2\x96\x8c",
                                          "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"};
    for (int i = 0; i < n; i++) {
        char nm[64];
        int len = (int)strlen(names[i]);
        if (len > wn) snprintf(nm, sizeof nm, "%.*s~", wn - 1, names[i]);
        else snprintf(nm, sizeof nm, "%s", names[i]);
        snprintf(line, sizeof line, "%4d %-*s |", i, wn, nm);
        sb_str(&b, line);
        /* Bar length in eighths of a cell. */
        int e8 = 0, tcol = -1;
        if (d[i].state < 0) e8 = bw * 8;
        else if (d[i].state == 1 && d[i].mad > 0) {
            double t = (log10(d[i].mad) - dlo) / (dhi - dlo);
            if (!(t == t) || t > 1) t = 1;
            if (t < 0) t = 0;
            e8 = (int)lround(t * bw * 8);
        }
        if (d[i].state == 1 && d[i].tol > 0) {
            double t = (log10(d[i].tol) - dlo) / (dhi - dlo);
            if (t >= 0 && t <= 1) tcol = (int)(t * (bw - 1) + 0.5);
        }
        for (int c = 0; c < bw; c++) {
            int fill = e8 - c * 8;
            if (fill >= 8) sb_str(&b, "\xe2\x96\x88");
            else if (fill > 0) sb_str(&b, eighths[fill]);
            else if (c == tcol) sb_str(&b, "\xe2\x94\x86");
            else sb_str(&b, " ");
        }
        if (d[i].state < 0) snprintf(line, sizeof line, "| %9s FAIL", "shape");
        else if (d[i].state == 0) snprintf(line, sizeof line, "| %9s     ", "-");
        else snprintf(line, sizeof line, "| %9.3g %s", d[i].mad, d[i].pass ? "  ok" : "FAIL");
        sb_str(&b, line);
        sb_str(&b, i == first ? " <\n" : "\n");
    }
    if (first >= 0) {
        snprintf(line, sizeof line, "first divergence (<): %.*s\n", width > 30 ? width - 23 : 8, names[first]);
        sb_str(&b, line);
    } else {
        sb_str(&b, "no divergence: every layer within tolerance\n");
    }
    return b.s;
}

/*-------------------------------------------------------- feature maps */

k2t_image *k2t_plot_maps(const float *const *panels, int n_panels, int H, int W, int C, k2t_maps_layout *lay,
                         k2t_err *err)
{
    memset(lay, 0, sizeof *lay);
    if (H <= 0 || W <= 0 || C <= 0 || n_panels < 1) {
        k2t_fail(err, K2T_EARG, "nothing to draw (%dx%dx%d)", H, W, C);
        return NULL;
    }
    int big = H > W ? H : W;
    lay->scale = big >= 48 ? 1 : (48 + big - 1) / big;
    lay->maps = C;
    lay->cols = (int)ceil(sqrt((double)C));
    lay->rows = (C + lay->cols - 1) / lay->cols;
    lay->h = H, lay->w = W;
    lay->mh = H * lay->scale, lay->mw = W * lay->scale;
    lay->panels = n_panels;
    lay->panel_w = lay->cols * (lay->mw + 1) + 1;
    int64_t iw = (int64_t)n_panels * lay->panel_w + (int64_t)(n_panels - 1) * 4;
    int64_t ih = (int64_t)lay->rows * (lay->mh + 1) + 1;
    if (iw > MAX_SIDE || ih > MAX_SIDE) {
        k2t_fail(err, K2T_EARG, "the grid would be %lldx%lld pixels (at most %d a side)", (long long)iw,
                 (long long)ih, MAX_SIDE);
        return NULL;
    }
    lay->img_w = (int)iw, lay->img_h = (int)ih;
    k2t_image *im = k2t_image_new(lay->img_w, lay->img_h, K2T_MAPS_SEP);
    for (int c = 0; c < C; c++) {
        double mn = INFINITY, mx = -INFINITY;
        for (int p = 0; p < n_panels; p++)
            for (int64_t k = 0; k < (int64_t)H * W; k++) {
                double x = panels[p][k * C + c];
                if (!isfinite(x)) continue;
                if (x < mn) mn = x;
                if (x > mx) mx = x;
            }
        for (int p = 0; p < n_panels; p++) {
            int ox = p * (lay->panel_w + 4) + 1 + (c % lay->cols) * (lay->mw + 1);
            int oy = 1 + (c / lay->cols) * (lay->mh + 1);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double v = panels[p][((int64_t)y * W + x) * C + c];
                    int g = 0;
                    if (isfinite(v) && mx > mn) g = (int)lround(255.0 * (v - mn) / (mx - mn));
                    uint32_t rgb = (uint32_t)g * 0x010101u;
                    fill_rect(im, ox + x * lay->scale, oy + y * lay->scale, ox + (x + 1) * lay->scale - 1,
                              oy + (y + 1) * lay->scale - 1, rgb);
                }
        }
    }
    /* Empty cells of the last row stay separator-coloured. */
    return im;
}

/*----------------------------------------------------------- histogram */

k2t_status k2t_plot_hist_svg(FILE *f, const char *title, const int64_t *bins, int n, double lo, double hi,
                             k2t_err *err)
{
    int64_t top = 1;
    for (int i = 0; i < n; i++)
        if (bins[i] > top) top = bins[i];
    const int x0 = 60, y0 = 30, x1 = 620, y1 = 280;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"320\" viewBox=\"0 0 640 320\""
               " data-lo=\"%.9g\" data-hi=\"%.9g\" data-bins=\"%d\">\n<title>",
            lo, hi, n);
    xml_text(f, title);
    fputs("</title>\n<rect width=\"640\" height=\"320\" fill=\"white\"/>\n", f);
    fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-family=\"sans-serif\">", x0);
    xml_text(f, title);
    fputs("</text>\n", f);
    double bw = (double)(x1 - x0) / n, width = (hi - lo) / n;
    for (int i = 0; i < n; i++) {
        double h = (double)(y1 - y0) * (double)bins[i] / (double)top;
        fprintf(f, "<rect class=\"bin\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#1f77b4\""
                   " stroke=\"white\" data-count=\"%lld\" data-lo=\"%.9g\" data-hi=\"%.9g\"><title>%.4g .. %.4g: %lld"
                   "</title></rect>\n",
                x0 + i * bw, y1 - h, bw, h, (long long)bins[i], lo + i * width, lo + (i + 1) * width,
                lo + i * width, lo + (i + 1) * width, (long long)bins[i]);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", x0, y1, x1, y1);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" font-family=\"sans-serif\">%.4g</text>\n", x0, y1 + 16, lo);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" font-family=\"sans-serif\">%.4g</text>\n",
            x1, y1 + 16, hi);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" font-family=\"sans-serif\">%lld</text>\n",
            x0 - 4, y0 + 4, (long long)top);
    fputs("</svg>\n", f);
    if (ferror(f)) return k2t_fail(err, K2T_EIO, "cannot write the SVG");
    return K2T_OK;
}

k2t_image *k2t_plot_hist_png(const int64_t *bins, int n)
{
    int64_t top = 1;
    for (int i = 0; i < n; i++)
        if (bins[i] > top) top = bins[i];
    k2t_image *im = k2t_image_new(640, 320, 0xffffff);
    const int x0 = 40, y0 = 20, x1 = 620, y1 = 300;
    for (int i = 0; i < n; i++) {
        int a = x0 + (int)((int64_t)(x1 - x0) * i / n), b = x0 + (int)((int64_t)(x1 - x0) * (i + 1) / n) - 1;
        int h = (int)lround((double)(y1 - y0) * (double)bins[i] / (double)top);
        if (h > 0) fill_rect(im, a + 1, y1 - h, b - 1 > a + 1 ? b - 1 : a + 1, y1 - 1, 0x1f77b4);
    }
    draw_line(im, x0, y1, x1, y1, 0x444444, 0);
    draw_line(im, x0, y0, x0, y1, 0x444444, 0);
    return im;
}
