/*
** plot.h -- pictures of the numbers: the per-layer difference between two
** runs, channel feature maps, histograms.
**
** Pure computation and encoding: nothing here prints or exits.  The charts
** are drawn into an RGB raster (k2t_image) and written as PNG with libpng,
** or written as SVG text; commands/plot.c chooses the file, the runs and
** the words.  Every file carries its numbers as well as its pixels (PNG
** tEXt chunks "k2t:..." and SVG data-* attributes), so a test can check the
** picture against the numbers without trusting k2t.
*/
#ifndef K2T_ENGINE_PLOT_H
#define K2T_ENGINE_PLOT_H

#include <stdint.h>
#include <stdio.h>
#include "k2t.h"

/*---------------------------------------------------------------- raster */

/* w x h pixels, 3 bytes each (RGB), rows top to bottom. */
typedef struct k2t_image {
    int w, h;
    unsigned char *rgb;      /* owned */
} k2t_image;

/* A w x h image filled with colour 0xRRGGBB; NULL when too large (over
** 16384 on a side). */
k2t_image *k2t_image_new(int w, int h, uint32_t rgb);
void k2t_image_free(k2t_image *im);
void k2t_image_set(k2t_image *im, int x, int y, uint32_t rgb);

/* Write im as an 8-bit RGB PNG to f, with tEXt chunks from 'text' (key,
** value pairs, NULL-terminated; NULL: none).  For k2t_write_file_safe. */
k2t_status k2t_png_write(FILE *f, const k2t_image *im, const char *const *text, k2t_err *err);

/*------------------------------------------------------------- log axis */

/* The decades a log axis needs for the positive finite values of v[0..n):
** 10^*lo .. 10^*hi with *lo < *hi.  No positive value: -1 .. 0. */
void k2t_log_decades(const double *v, int n, int *lo, int *hi);

/*----------------------------------------------------- per-layer diff */

/* One node of two runs compared (what diff prints). */
typedef struct k2t_layer_diff {
    int state;               /* 1 compared, 0 not computed, -1 shapes differ */
    double mad;              /* max |a-b| over every sample (NaN counts as worst) */
    double ref;              /* max |a| */
    double tol;              /* atol + rtol * ref */
    int pass;                /* mad <= tol (a shape mismatch fails) */
} k2t_layer_diff;

/* Compare every node of runs ra and rb (same model, both run on the same
** n samples) in Keras's layout, as diff does.  out: m->n_nodes entries;
** *first: the first failing node or -1. */
k2t_status k2t_layer_diffs(const k2t_model *m, const k2t_run *ra, const k2t_run *rb, int n, double atol,
                           double rtol, k2t_layer_diff *out, int *first, k2t_err *err);

/* The chart of d[0..n) (names[i] per node), log scale, the tolerance as a
** step line, node 'first' (or -1) marked.
**   svg:  one <circle class="point"> per compared node with data-index,
**         data-layer, data-value, data-tol and a <title>; a <line
**         class="first"> with data-layer.
**   png:  800 x 400; points in blue, tolerance in red, the first divergence
**         as an orange vertical line; tEXt k2t:frame "x0 y0 x1 y1 dlo dhi"
**         (plot area and decades) and k2t:values "name value" lines.
**   text: a bar per node fitting 'width' columns (UTF-8 block characters),
**         the tolerance marked; malloc'ed, lines end in '\n'. */
k2t_status k2t_plot_diff_svg(FILE *f, const char *const *names, const k2t_layer_diff *d, int n, int first,
                             k2t_err *err);
k2t_image *k2t_plot_diff_png(const char *const *names, const k2t_layer_diff *d, int n, int first, char **values);
char *k2t_plot_diff_text(const char *const *names, const k2t_layer_diff *d, int n, int first, int width);

/* Where a point of the diff chart lands (the PNG's geometry). */
enum { K2T_DIFF_W = 800, K2T_DIFF_H = 400, K2T_DIFF_X0 = 50, K2T_DIFF_Y0 = 20, K2T_DIFF_X1 = 780,
       K2T_DIFF_Y1 = 380 };

/*-------------------------------------------------------- feature maps */

/* How k2t_plot_maps lays maps out: 'cols' x 'rows' cells of mh x mw
** pixels (a map scaled up 'scale' times), a 1-pixel separator around every
** cell, 'panels' grids side by side with a 4-pixel separator between. */
typedef struct k2t_maps_layout {
    int maps, cols, rows, h, w, scale, mh, mw, panels, panel_w, img_w, img_h;
} k2t_maps_layout;

/* The separator colour (never a grey). */
#define K2T_MAPS_SEP 0x2050a0u

/* Channel maps of sample 0 of each panel (an H x W x C tensor, Keras's
** layout), grey, each channel normalised over its min..max across every
** panel (so a grey level means the same value on both sides; a constant
** channel is black): v = round(255 * (x - min) / (max - min)).  NULL with
** err when the maps would exceed 16384 pixels on a side. */
k2t_image *k2t_plot_maps(const float *const *panels, int n_panels, int H, int W, int C, k2t_maps_layout *lay,
                         k2t_err *err);

/*----------------------------------------------------------- histogram */

/* A bar chart of bins[0..n) over [lo, hi]: SVG with one <rect class="bin">
** per bin (data-count, data-lo, data-hi), or a 640 x 320 PNG raster. */
k2t_status k2t_plot_hist_svg(FILE *f, const char *title, const int64_t *bins, int n, double lo, double hi,
                             k2t_err *err);
k2t_image *k2t_plot_hist_png(const int64_t *bins, int n);

#endif
