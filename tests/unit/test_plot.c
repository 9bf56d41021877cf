/*
** test_plot.c -- engine/plot.c on hand-made numbers: the log axis's
** decades, the terminal chart's width (counted in UTF-8 characters) and its
** marks, the feature-map grid's layout and grey levels, and a PNG that
** libpng reads back pixel for pixel with its tEXt chunks.
*/
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../engine/plot.h"

static int fails, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("not ok - "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

/* Characters (not bytes) of the longest line. */
static int widest(const char *s)
{
    int w = 0, best = 0;
    for (; *s; s++) {
        if (*s == '\n') {
            if (w > best) best = w;
            w = 0;
        } else if (((unsigned char)*s & 0xc0) != 0x80) {
            w++;
        }
    }
    return w > best ? w : best;
}

int main(void)
{
    int lo, hi;
    double v1[] = {0, 4.3e-5, 6.1, 1e-3};
    k2t_log_decades(v1, 4, &lo, &hi);
    CHECK(lo == -5 && hi == 1, "decades of 4.3e-5..6.1: -5..1, got %d..%d", lo, hi);
    double v2[] = {0, 0};
    k2t_log_decades(v2, 2, &lo, &hi);
    CHECK(lo == -1 && hi == 0, "no positive value: -1..0, got %d..%d", lo, hi);
    double v3[] = {1e-3};
    k2t_log_decades(v3, 1, &lo, &hi);
    CHECK(lo == -3 && hi == -2, "one exact decade gets a span: -3..-2, got %d..%d", lo, hi);
    double v4[] = {NAN, INFINITY, 2.0};
    k2t_log_decades(v4, 3, &lo, &hi);
    CHECK(lo == 0 && hi == 1, "NaN and Inf ignored: 0..1, got %d..%d", lo, hi);

    /* The chart: every line within the width, the first divergence marked once. */
    const char *names[] = {"input_1", "a_very_long_layer_name_that_will_not_fit_anywhere", "conv", "dense"};
    k2t_layer_diff d[4] = {
        {1, 0, 1, 1e-5, 1}, {1, 2e-6, 1, 1e-4, 1}, {1, 0.5, 1, 1e-4, 0}, {-1, INFINITY, 0, 0, 0},
    };
    for (int w = 40; w <= 200; w += 20) {
        char *t = k2t_plot_diff_text(names, d, 4, 2, w);
        CHECK(widest(t) <= w, "chart at %d columns: widest line %d", w, widest(t));
        int marks = 0;
        for (const char *p = t; (p = strstr(p, " <\n")); p++) marks++;
        CHECK(marks == 1, "chart at %d columns: one first-divergence mark, got %d", w, marks);
        CHECK(strstr(t, "shape FAIL") != NULL, "chart at %d columns: a shape mismatch says so", w);
        free(t);
    }

    /* Maps: 5 channels of 2x3 -> 3 columns, 2 rows, scaled to >= 48 px. */
    float a[2 * 3 * 5], b[2 * 3 * 5];
    for (int i = 0; i < 30; i++) a[i] = (float)i, b[i] = (float)(i % 5 == 4 ? 7 : i * 2);
    const float *panels[2] = {a, b};
    k2t_maps_layout L;
    k2t_err err = {0};
    k2t_image *im = k2t_plot_maps(panels, 2, 2, 3, 5, &L, &err);
    CHECK(im && L.cols == 3 && L.rows == 2 && L.scale == 16, "maps layout 3x2 at scale 16, got %dx%d at %d", L.cols,
          L.rows, L.scale);
    CHECK(im && im->w == 2 * (3 * (3 * 16 + 1) + 1) + 4 && im->h == 2 * (2 * 16 + 1) + 1, "maps image size %dx%d",
          im ? im->w : 0, im ? im->h : 0);
    /* Channel 0 over both panels spans 0 (a[0]) .. 50 (b[25] = 2*25): a's (0,0) is black, b's (1,2) white. */
    if (im) {
        const unsigned char *p0 = im->rgb + ((size_t)1 * (size_t)im->w + 1) * 3;
        int bx = L.panel_w + 4 + 1 + 2 * 16, by = 1 + 16;
        const unsigned char *p1 = im->rgb + ((size_t)by * (size_t)im->w + (size_t)bx) * 3;
        CHECK(p0[0] == 0 && p0[1] == 0, "channel 0 minimum is black, got %d", p0[0]);
        CHECK(p1[0] == 255 && p1[2] == 255, "channel 0 maximum (in the second panel) is white, got %d", p1[0]);
        const unsigned char *s = im->rgb;
        CHECK(s[0] == 0x20 && s[1] == 0x50 && s[2] == 0xa0, "the separator colour at (0,0)");
    }

    /* A PNG through libpng and back. */
    char path[] = "/tmp/k2t-test-plot-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    const char *text[] = {"k2t:test", "hello 1 2 3", NULL};
    CHECK(f && im && k2t_png_write(f, im, text, &err) == K2T_OK, "png written: %s", err.msg);
    if (f) fclose(f);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    int okr = png_image_begin_read_from_file(&pi, path);
    unsigned char *buf = NULL;
    if (okr) {
        pi.format = PNG_FORMAT_RGB;
        buf = malloc(PNG_IMAGE_SIZE(pi));
        okr = png_image_finish_read(&pi, NULL, buf, 0, NULL);
    }
    CHECK(okr && im && (int)pi.width == im->w && (int)pi.height == im->h &&
          !memcmp(buf, im->rgb, (size_t)im->w * (size_t)im->h * 3), "png read back pixel for pixel");
    free(buf);
    FILE *g = fopen(path, "rb");
    char raw[1 << 16];
    size_t n = g ? fread(raw, 1, sizeof raw, g) : 0;
    if (g) fclose(g);
    int found = 0;
    for (size_t i = 0; i + 20 < n; i++)
        if (!memcmp(raw + i, "tEXtk2t:test\0hello 1 2 3", 24)) found = 1;
    CHECK(found, "png carries its tEXt chunk");
    remove(path);
    k2t_image_free(im);

    printf("%s - test_plot: %d checks\n", fails ? "not ok" : "ok", checks);
    return fails != 0;
}
