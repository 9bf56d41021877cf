/*
** tui_render.c -- the full-screen mode's screen as a character grid.
**
** Nothing here knows about curses: tui_render() turns a tui_state and the
** shell into w x h characters plus w x h attribute bits, and tui.c copies
** them to the terminal.  The same grid is what the hidden "tui-snapshot
** WxH" command prints, so the screen is golden-tested in batch mode.
**
** The screen, top to bottom:
**
**   row 0        title bar: model, input, execution cursor, breakpoints
**   panes        Layers (left): stem / block N / head, "=>" on the next
**                layer to run, "B" on a layer a breakpoint stops before;
**                Details (right): the selected layer's config, shapes,
**                residual operands, activation and weight statistics
**                with histograms
**   output       the captured output of the commands
**   last row     the command line, or the keys when it has no focus
**
** Each pane is a tui_win with draw and scroll functions (gdb's
** tui_win_info); tui_layout() gives them their boxes.  Adjacent boxes
** share their border lines.  The state is read-only here except in the
** tui_state functions at the end (selection, scrolls, output).
*/
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

#define MIN_W 40               /* below this the screen only says so */
#define MIN_H 12
#define HIST_ROWS 3            /* height of a histogram in the details */

struct tui_grid {
    char *c;                   /* w*h characters */
    unsigned char *a;          /* w*h TUI_A_* bits (never NULL here) */
    int w, h;
};

/*============================================================ the grid */

static void g_set(tui_grid *g, int y, int x, char ch, unsigned char a)
{
    if (y < 0 || y >= g->h || x < 0 || x >= g->w) return;
    unsigned char u = (unsigned char)ch;
    if (ch == '\t') ch = ' ';
    else if (u < 32 || u >= 127) ch = '?';
    g->c[y * g->w + x] = ch;
    g->a[y * g->w + x] = a;
}

static void g_fill(tui_grid *g, int y, int x, int h, int w, char ch, unsigned char a)
{
    for (int r = y; r < y + h; r++)
        for (int c = x; c < x + w; c++) g_set(g, r, c, ch, a);
}

/* Write s at (y, x), at most maxw characters.  Returns the count written. */
static int g_put(tui_grid *g, int y, int x, int maxw, const char *s, unsigned char a)
{
    int n = 0;
    for (; s[n] && n < maxw; n++) g_set(g, y, x + n, s[n], a);
    return n;
}

/* Write s in exactly w columns: cut with a '~' when longer, padded with
** blanks in attribute a when shorter. */
static void g_field(tui_grid *g, int y, int x, int w, const char *s, unsigned char a)
{
    int n = (int)strlen(s);
    if (w <= 0) return;
    if (n > w) {
        g_put(g, y, x, w - 1, s, a);
        g_set(g, y, x + w - 1, '~', a);
    } else {
        g_put(g, y, x, n, s, a);
        g_fill(g, y, x + n, 1, w - n, ' ', a);
    }
}

static void g_or(tui_grid *g, int y, int x, int w, unsigned char a)
{
    for (int c = x; c < x + w; c++)
        if (y >= 0 && y < g->h && c >= 0 && c < g->w) g->a[y * g->w + c] |= a;
}

static int is_horiz(char c) { return c == '-' || c == '='; }

/* One cell of a box line.  Where two boxes share a line the lines join:
** a vertical across a horizontal makes a '+', and the focused pane's '='
** wins over '-'. */
static void g_line(tui_grid *g, int y, int x, char ch, unsigned char a)
{
    if (y < 0 || y >= g->h || x < 0 || x >= g->w) return;
    int i = y * g->w + x;
    char e = g->c[i];
    if (g->a[i] & TUI_A_BORDER) {
        if (e == '+' || ch == '+') ch = '+';
        else if (is_horiz(e) && is_horiz(ch)) ch = (e == '=' || ch == '=') ? '=' : '-';
        else if (e != ch) ch = '+';
        if (g->a[i] & TUI_A_BOLD) a |= TUI_A_BOLD;
    }
    g->c[i] = ch;
    g->a[i] = a;
}

/* The lines of a pane's box; the focused pane's top line is '=' and bold. */
static void g_box(tui_grid *g, const tui_win *win, int focused)
{
    unsigned char a = TUI_A_BORDER | (focused ? TUI_A_BOLD : 0);
    int y1 = win->y + win->h - 1, x1 = win->x + win->w - 1;
    for (int x = win->x + 1; x < x1; x++) {
        g_line(g, win->y, x, focused ? '=' : '-', a);
        g_line(g, y1, x, '-', TUI_A_BORDER);
    }
    for (int y = win->y + 1; y < y1; y++) {
        g_line(g, y, win->x, '|', TUI_A_BORDER);
        g_line(g, y, x1, '|', TUI_A_BORDER);
    }
    g_line(g, win->y, win->x, '+', a);
    g_line(g, win->y, x1, '+', a);
    g_line(g, y1, win->x, '+', TUI_A_BORDER);
    g_line(g, y1, x1, '+', TUI_A_BORDER);
}

/* " Title " on the top line of a box, after the corner and one dash. */
static void g_title(tui_grid *g, const tui_win *win, const char *title, int focused)
{
    char buf[256];
    int room = win->w - 4;
    if (room < 3) return;
    snprintf(buf, sizeof buf, " %s ", title);
    if ((int)strlen(buf) > room) {
        buf[room - 2] = '~';
        buf[room - 1] = ' ';
        buf[room] = '\0';
    }
    g_put(g, win->y, win->x + 2, room, buf, TUI_A_BOLD | (focused ? TUI_A_REVERSE : 0));
}

/*========================================================= model helpers */

static int has_graph(const k2t_model *m)
{
    return m && m->has_arch && m->n_nodes > 0;
}

/* Entries of the layer list: nodes, or layers for a weights-only file. */
static int n_entries(const k2t_model *m)
{
    if (!m) return 0;
    return has_graph(m) ? m->n_nodes : m->n_layers;
}

static const char *entry_name(const k2t_model *m, int i)
{
    return has_graph(m) ? m->nodes[i].name : m->layers[i].name;
}

static const k2t_layer *entry_layer(const k2t_model *m, int i)
{
    return has_graph(m) ? k2t_node_layer(m, i) : &m->layers[i];
}

int tui_cursor_of(const k2t_shell *sh)
{
    if (!k2t_shell_has_run(sh) || !has_graph(sh->model) || sh->cursor < 0) return 0;
    return sh->cursor > sh->model->n_nodes ? sh->model->n_nodes : sh->cursor;
}

/* Does breakpoint b stop before node i?  (debug.c's rule.) */
static int break_matches(const k2t_model *m, const k2t_break *b, int node)
{
    const k2t_layer *L = k2t_node_layer(m, node);
    if (b->disabled || b->cond != K2T_COND_NONE) return 0; /* disabled, or stops after a layer on a condition */
    if (!strcmp(b->what, "add")) return k2t_op_is_merge(L->op) && m->nodes[node].n_in >= 2;
    return !strcmp(m->nodes[node].name, b->what) || !strcmp(L->name, b->what) ||
           !strcmp(L->class_name, b->what);
}

static int has_break(const k2t_shell *sh, int node)
{
    if (!has_graph(sh->model)) return 0;
    for (int j = 0; j < sh->n_breaks; j++)
        if (break_matches(sh->model, &sh->breaks[j], node)) return 1;
    return 0;
}

/* Node i's output when it ran since the cursor last went back to 0. */
static const k2t_tensor *ran_output(const k2t_shell *sh, int node)
{
    if (!k2t_shell_has_run(sh) || node < 0 || node >= tui_cursor_of(sh)) return NULL;
    return k2t_run_output(sh->run, node);
}

/* "(1, 32, 32, 16)"; a 1-tuple as Python writes it, "(10,)". */
static char *shape_str(const k2t_shape *s, char *buf, size_t n)
{
    size_t w = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < s->ndim && w < n; i++) {
        if (s->d[i] < 0) w += (size_t)snprintf(buf + w, n - w, "%sNone", i ? ", " : "");
        else w += (size_t)snprintf(buf + w, n - w, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    }
    if (w < n) snprintf(buf + w, n - w, "%s)", s->ndim == 1 ? "," : "");
    return buf;
}

static int same_shape(const k2t_shape *a, const k2t_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return 0;
    return 1;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/*------------------------------------------------------------- sections */

/* The residual blocks and the stem / head around them (debug.c's view). */
typedef struct sections {
    k2t_block *b;
    int n;
    int stem_end;    /* first node of the earliest block */
    int head_start;  /* one past the last node of the latest block */
} sections;

enum { SEC_STEM = 0, SEC_BETWEEN = -1, SEC_HEAD = -2, SEC_ALL = -3, SEC_WEIGHTS = -4 };

static void sections_find(const k2t_model *m, sections *S)
{
    memset(S, 0, sizeof *S);
    if (!has_graph(m)) return;
    S->n = k2t_find_blocks(m, &S->b);
    S->stem_end = S->head_start = m->n_nodes;
    if (S->n) {
        S->head_start = 0;
        for (int k = 0; k < S->n; k++) {
            if (S->b[k].first < S->stem_end) S->stem_end = S->b[k].first;
            if (S->b[k].last + 1 > S->head_start) S->head_start = S->b[k].last + 1;
        }
    }
}

static void sections_free(sections *S)
{
    if (S->b) k2t_blocks_free(S->b, S->n);
    memset(S, 0, sizeof *S);
}

/* SEC_* or the 1-based block number of node i. */
static int section_of(const k2t_model *m, const sections *S, int node)
{
    if (!has_graph(m)) return SEC_WEIGHTS;
    if (S->n == 0) return SEC_ALL;
    int k = k2t_block_of(S->b, S->n, node);
    if (k >= 0) return k + 1;
    if (node < S->stem_end) return SEC_STEM;
    if (node >= S->head_start) return SEC_HEAD;
    return SEC_BETWEEN;
}

/* "stem (layer 2 of 4)", "block 1 (layer 3 of 5)", "head (layer 1 of 2)". */
static char *section_str(const k2t_model *m, const sections *S, int node, char *buf, size_t n)
{
    int s = section_of(m, S, node);
    if (s > 0) {
        const k2t_block *b = &S->b[s - 1];
        int at = 0;
        for (int i = 0; i < b->n_nodes; i++)
            if (b->nodes[i] == node) at = i + 1;
        snprintf(buf, n, "block %d (layer %d of %d)", s, at, b->n_nodes);
    } else if (s == SEC_STEM) {
        snprintf(buf, n, "stem (layer %d of %d)", node + 1, S->stem_end);
    } else if (s == SEC_HEAD) {
        snprintf(buf, n, "head (layer %d of %d)", node - S->head_start + 1, m->n_nodes - S->head_start);
    } else if (s == SEC_BETWEEN) {
        snprintf(buf, n, "between blocks");
    } else {
        snprintf(buf, n, "no residual blocks");
    }
    return buf;
}

/*============================================================ the list */

enum { ROW_HEADER, ROW_ENTRY, ROW_END };

typedef struct lrow {
    int kind;   /* ROW_* */
    int i;      /* ROW_ENTRY: the node (or layer); ROW_HEADER: the section */
} lrow;

/* The rows of the layer list: a header where the section changes, one row
** per node, and an end row while the cursor is past the last layer.
** Returns the count; *out is malloc'ed. */
static int list_rows(const k2t_shell *sh, const sections *S, lrow **out)
{
    const k2t_model *m = sh->model;
    int n = n_entries(m), k = 0, prev = INT_MIN;
    lrow *r = k2t_xmalloc((size_t)(2 * n + 2) * sizeof *r);
    for (int i = 0; i < n; i++) {
        int s = section_of(m, S, i);
        if (s != prev) r[k++] = (lrow){ROW_HEADER, s};
        prev = s;
        r[k++] = (lrow){ROW_ENTRY, i};
    }
    if (has_graph(m) && k2t_shell_has_run(sh) && tui_cursor_of(sh) >= m->n_nodes) r[k++] = (lrow){ROW_END, 0};
    *out = r;
    return k;
}

static int row_of(const lrow *r, int n, int entry)
{
    for (int k = 0; k < n; k++)
        if (r[k].kind == ROW_ENTRY && r[k].i == entry) return k;
    return 0;
}

/* The first row shown so that row 'sel' is visible with up to two rows of
** context, starting from 'top'. */
static int visible_top(int top, int sel, int n, int rows)
{
    if (rows <= 0) return 0;
    int margin = rows >= 7 ? 2 : rows >= 3 ? 1 : 0;
    if (sel - margin < top) top = sel - margin;
    if (sel + margin > top + rows - 1) top = sel + margin - rows + 1;
    if (top > n - rows) top = n - rows;
    if (top < 0) top = 0;
    return top;
}

static void header_text(const k2t_model *m, const sections *S, int s, char *buf, size_t n)
{
    if (s > 0) {
        const k2t_block *b = &S->b[s - 1];
        if (b->shortcut < 0) snprintf(buf, n, "block %d  (identity shortcut)", s);
        else snprintf(buf, n, "block %d  (shortcut %s)", s, m->nodes[b->shortcut].name);
    } else {
        static const char *const names[] = {"stem", "between blocks", "head", "layers (no residual blocks)",
                                            "layers (weights only)"};
        snprintf(buf, n, "%s", names[-s]);
    }
}

static void draw_layers(const tui_win *win, const tui_state *st, k2t_shell *sh, tui_grid *g)
{
    const k2t_model *m = sh->model;
    int focused = st->focus == TUI_LAYERS;
    int iy = win->y + 1, ix = win->x + 1, ih = win->h - 2, iw = win->w - 2;
    char title[64];
    const tui_diverge *dv = m && has_graph(m) && iw >= 30 ? tui_diverge_get(sh) : NULL;
    int divw = dv ? 7 : 0;  /* the divergence column: a 5-cell bar, '<', a blank */
    if (m) snprintf(title, sizeof title, dv ? "Layers (%d), max|a-b|" : "Layers (%d)", n_entries(m));
    else snprintf(title, sizeof title, "Layers");
    g_title(g, win, title, focused);
    if (!m) {
        g_field(g, iy, ix + 1, iw - 1, "no model loaded", TUI_A_DIM);
        g_field(g, iy + 1, ix + 1, iw - 1, ":load FILE.h5 opens one", TUI_A_DIM);
        return;
    }
    sections S;
    sections_find(m, &S);
    lrow *r;
    int n = list_rows(sh, &S, &r);
    int top = visible_top(st->list_top, row_of(r, n, st->sel), n, ih);
    int n_ent = n_entries(m), numw = 1, namew = 4, cursor = k2t_shell_has_run(sh) ? tui_cursor_of(sh) : -1;
    for (int v = n_ent - 1; v >= 10; v /= 10) numw++;
    for (int i = 0; i < n_ent; i++)
        if ((int)strlen(entry_name(m, i)) > namew) namew = (int)strlen(entry_name(m, i));
    int avail = iw - 4 - numw - 2 - divw;  /* after "B=> ", the number, a blank; a blank at the end */
    if (namew > avail) namew = avail;
    int classw = avail - namew - 1;
    char buf[512], num[16];

    for (int k = top; k < n && k - top < ih; k++) {
        int y = iy + k - top;
        if (r[k].kind == ROW_HEADER) {
            header_text(m, &S, r[k].i, buf, sizeof buf);
            g_field(g, y, ix + 1, iw - 1, buf, TUI_A_BOLD);
            continue;
        }
        if (r[k].kind == ROW_END) {
            g_put(g, y, ix + 1, 2, "=>", TUI_A_CURSOR | TUI_A_BOLD);
            g_field(g, y, ix + 3, iw - 3, " (end of the model)", TUI_A_DIM);
            continue;
        }
        int i = r[k].i, sel = i == st->sel;
        unsigned char a = sel ? TUI_A_REVERSE : 0;
        g_fill(g, y, ix, 1, iw, ' ', a);
        if (sel) g_set(g, y, win->x, '>', TUI_A_BOLD);  /* the selection, also without reverse video */
        if (has_break(sh, i)) g_set(g, y, ix, 'B', a | TUI_A_BREAK | TUI_A_BOLD);
        if (i == cursor) g_put(g, y, ix + 1, 2, "=>", a | TUI_A_CURSOR | TUI_A_BOLD);
        snprintf(num, sizeof num, "%*d", numw, i);
        g_put(g, y, ix + 4, numw, num, a);
        g_field(g, y, ix + 5 + numw, namew, entry_name(m, i), a | (sel && focused ? TUI_A_BOLD : 0));
        if (classw >= 8) g_field(g, y, ix + 6 + numw + namew, classw, entry_layer(m, i)->class_name, a | TUI_A_DIM);
        if (divw) {
            char cell[16];
            unsigned char ca = tui_diverge_cell(dv, i, cell, divw - 1);
            g_put(g, y, ix + iw - divw, divw - 1, cell, a | ca);
        }
    }
    if (top > 0) g_put(g, win->y, win->x + win->w - 5, 3, " ^ ", TUI_A_BOLD);
    if (top + ih < n) g_put(g, win->y + win->h - 1, win->x + win->w - 5, 3, " v ", TUI_A_BOLD);
    free(r);
    sections_free(&S);
}

/*======================================================== the details */

/* Lines of text with one attribute each, for the details pane. */
typedef struct doc {
    char **t;
    unsigned char *a;
    int n, cap;
    int width;       /* columns available */
} doc;

static void doc_add(doc *d, unsigned char a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void doc_push(doc *d, unsigned char a, const char *s, size_t len)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->t = k2t_xrealloc(d->t, (size_t)d->cap * sizeof *d->t);
        d->a = k2t_xrealloc(d->a, (size_t)d->cap);
    }
    char *c = k2t_xmalloc(len + 1);
    memcpy(c, s, len);
    c[len] = '\0';
    d->t[d->n] = c;
    d->a[d->n++] = a;
}

static void doc_add(doc *d, unsigned char a, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    doc_push(d, a, buf, strlen(buf));
}

/* Word-wrap text to the width; continuation lines are indented. */
static void doc_wrap(doc *d, unsigned char a, int indent, const char *text)
{
    int w = d->width, first = 1;
    const char *p = text;
    if (w < 8) w = 8;
    while (*p) {
        int ind = first ? 0 : indent, room = w - ind;
        int len = (int)strlen(p), cut = len;
        if (len > room) {
            cut = room;
            while (cut > room / 2 && p[cut] != ' ') cut--;
            if (p[cut] != ' ') cut = room;  /* no blank in reach: cut the word */
        }
        char line[2048];
        int n = snprintf(line, sizeof line, "%*s%.*s", ind, "", cut, p);
        if (n < 0) break;
        doc_push(d, a, line, strlen(line));
        p += cut;
        while (*p == ' ') p++;
        first = 0;
    }
}

static void doc_free(doc *d)
{
    for (int i = 0; i < d->n; i++) free(d->t[i]);
    free(d->t);
    free(d->a);
    memset(d, 0, sizeof *d);
}

/* "min A  max B  mean C  std D" on one line, or on two when it does not fit. */
static void doc_stats(doc *d, const char *ind, double mn, double mx, double mean, double std)
{
    char a[128], b[128];
    snprintf(a, sizeof a, "%smin %.4g  max %.4g", ind, mn, mx);
    snprintf(b, sizeof b, "mean %.4g  std %.4g", mean, std);
    if ((int)(strlen(a) + 2 + strlen(b)) <= d->width) {
        doc_add(d, 0, "%s  %s", a, b);
    } else {
        doc_add(d, 0, "%s", a);
        doc_add(d, 0, "%s%s", ind, b);
    }
}

/* Statistics over the finite values of x. */
typedef struct fstats {
    int64_t n, bad;
    double min, max, mean, std;
} fstats;

static void float_stats(const float *x, int64_t n, fstats *s)
{
    double sum = 0, sq = 0;
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (!isfinite(v)) { s->bad++; continue; }
        if (v < s->min) s->min = v;
        if (v > s->max) s->max = v;
        sum += v;
        s->n++;
    }
    s->mean = s->n ? sum / (double)s->n : 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(x[i])) sq += (x[i] - s->mean) * (x[i] - s->mean);
    s->std = s->n ? sqrt(sq / (double)s->n) : 0;
    if (!s->n) s->min = s->max = 0;
}

/*
** A histogram HIST_ROWS high, one column per bin, then the range under it:
**
**      .##.
**     ######.
**   .#########..
**   -0.25      0.25
**
** '#' is a full cell, '.' a half; any bin with values shows at least a '.'.
*/
static void doc_hist(doc *d, const float *x, int64_t n)
{
    int64_t bins[64];
    double lo, hi;
    int room = d->width - 2;         /* columns for the bars */
    if (room > 64) room = 64;
    if (room < 4) return;
    /* About three values a bin, so that a small tensor is not all gaps;
    ** then each bin is as many columns wide as fit. */
    int nb = n / 3 < room ? (int)(n / 3) : room;
    if (nb < 4) nb = 4;
    int cw = room / nb;
    int64_t got = k2t_histogram(x, n, bins, nb, &lo, &hi);
    if (got == 0) return;
    if (!(hi > lo)) {
        doc_add(d, TUI_A_DIM, "  (every value is %.4g)", lo);
        return;
    }
    int64_t top = 1;
    for (int b = 0; b < nb; b++)
        if (bins[b] > top) top = bins[b];
    char line[160];
    for (int r = HIST_ROWS - 1; r >= 0; r--) {
        int k = 0;
        line[k++] = ' ';
        line[k++] = ' ';
        for (int b = 0; b < nb; b++) {
            int half = (int)((bins[b] * 2 * HIST_ROWS + top - 1) / top);  /* rounded up */
            char c = half >= 2 * r + 2 ? '#' : half == 2 * r + 1 ? '.' : ' ';
            for (int j = 0; j < cw; j++) line[k++] = c;
        }
        while (k > 0 && line[k - 1] == ' ') k--;
        line[k] = '\0';
        doc_push(d, 0, line, (size_t)k);
    }
    char l[32], h[32];
    snprintf(l, sizeof l, "%.4g", lo);
    snprintf(h, sizeof h, "%.4g", hi);
    int gap = nb * cw - (int)strlen(l) - (int)strlen(h);
    if (gap < 1) gap = 1;
    doc_add(d, TUI_A_DIM, "  %s%*s%s", l, gap, "", h);
}

/* A histogram of x, or its values when there are only a few. */
static void doc_values(doc *d, const char *ind, const float *x, int64_t n)
{
    if (n > 12) {
        doc_hist(d, x, n);
        return;
    }
    char buf[512];
    size_t w = (size_t)snprintf(buf, sizeof buf, "%svalues:", ind);
    for (int64_t i = 0; i < n && w < sizeof buf; i++) w += (size_t)snprintf(buf + w, sizeof buf - w, " %.4g", x[i]);
    doc_wrap(d, 0, (int)strlen(ind) + 2, buf);
}

/* The details of node (or layer) i, into d. */
static void details_doc(const tui_state *st, k2t_shell *sh, doc *d)
{
    const k2t_model *m = sh->model;
    char buf[2048], s1[160], s2[160];
    int i = st->sel;
    if (!m) {
        doc_add(d, TUI_A_DIM, "Load a model with :load FILE.h5,");
        doc_add(d, TUI_A_DIM, "then set an input (:input random)");
        doc_add(d, TUI_A_DIM, "and step through it with n, b and c.");
        doc_add(d, TUI_A_DIM, "? lists the keys.");
        return;
    }
    if (i < 0 || i >= n_entries(m)) return;
    const k2t_layer *L = entry_layer(m, i);
    int graph = has_graph(m);
    sections S;
    sections_find(m, &S);

    /* Where it is and what state it is in. */
    if (graph) {
        int c = tui_cursor_of(sh);
        doc_add(d, 0, "node %d of %d, %s", i, m->n_nodes, section_str(m, &S, i, s1, sizeof s1));
        if (!k2t_shell_has_run(sh))
            doc_add(d, TUI_A_DIM, "%s", sh->in.n ? "not run yet: n steps, r runs" : "no input yet: :input random");
        else if (i < c)
            doc_add(d, 0, "ran");
        else if (i == c)
            doc_add(d, TUI_A_CURSOR | TUI_A_BOLD, "=> next to run");
        else
            doc_add(d, TUI_A_DIM, "not run yet (%d layer%s to go)", i - c + 1, i - c ? "s" : "");
        for (int j = 0; j < sh->n_breaks; j++)
            if (break_matches(m, &sh->breaks[j], i))
                doc_add(d, TUI_A_BREAK | TUI_A_BOLD, "B breakpoint %d (%s) stops before it", sh->breaks[j].id,
                        sh->breaks[j].what);
    } else {
        doc_add(d, 0, "layer %d of %d (weights only: no graph)", i + 1, m->n_layers);
    }
    if (L->unsupported) {
        snprintf(buf, sizeof buf, "! not executable: %s", L->unsupported);
        doc_wrap(d, TUI_A_WARN, 2, buf);
    }

    /* Config, inputs, output. */
    if (m->has_arch) {
        k2t_layer_describe(m, L, s1, sizeof s1);
        snprintf(buf, sizeof buf, "config: %s", *s1 ? s1 : "(none)");
        doc_wrap(d, 0, 2, buf);
    }
    const k2t_node *N = graph ? &m->nodes[i] : NULL;
    const k2t_block *blk = NULL;
    for (int k = 0; N && k < S.n; k++)
        if (S.b[k].merge == i) blk = &S.b[k];
    int merge = N && k2t_op_is_merge(L->op) && N->n_in >= 2;
    if (N && N->n_in && !merge) {
        size_t w = (size_t)snprintf(buf, sizeof buf, "input:");
        for (int j = 0; j < N->n_in && w < sizeof buf; j++) {
            int ran;
            k2t_shape s = k2t_shell_node_shape(sh, N->in[j], &ran);
            w += (size_t)snprintf(buf + w, sizeof buf - w, "%s %s %s", j ? "," : "", m->nodes[N->in[j]].name,
                                  shape_str(&s, s1, sizeof s1));
        }
        doc_wrap(d, 0, 2, buf);
    }
    char params[32];
    k2t_fmt_count(k2t_layer_params(L), params, sizeof params);
    if (N) {
        int ran;
        k2t_shape s = k2t_shell_node_shape(sh, i, &ran);
        snprintf(buf, sizeof buf, "output: %s%s%s", shape_str(&s, s1, sizeof s1),
                 s.ndim < 3 ? "" : sh->set.emu.layout == K2T_LAYOUT_NCHW ? " NCHW" : " NHWC", ran ? "" : " (inferred)");
        doc_wrap(d, 0, 2, buf);
    }

    /* The operands of a residual addition (or another merge). */
    if (merge) {
        doc_add(d, 0, "%s", "");
        if (blk) doc_add(d, TUI_A_BOLD, "Residual %s, block %d", !strcmp(L->class_name, "Add") ? "addition" : "merge",
                         (int)(blk - S.b) + 1);
        else doc_add(d, TUI_A_BOLD, "Operands");
        k2t_shape first = {0};
        int ran_all = 1, mismatch = 0;
        for (int j = 0; j < N->n_in; j++) {
            int ran;
            k2t_shape s = k2t_shell_node_shape(sh, N->in[j], &ran);
            ran_all &= ran;
            if (j == 0) first = s;
            else if (!k2t_op_is_concat(L->op) && !same_shape(&first, &s)) mismatch = 1;
            const char *role = !blk ? "" : j == blk->shortcut_in ? "shortcut " : "branch   ";
            snprintf(buf, sizeof buf, "  %s%s %s", role, m->nodes[N->in[j]].name, shape_str(&s, s2, sizeof s2));
            doc_wrap(d, 0, 4, buf);
        }
        if (mismatch) doc_add(d, TUI_A_WARN | TUI_A_BOLD, "  MISMATCH: the operands' shapes differ");
        else if (!k2t_op_is_concat(L->op)) doc_add(d, 0, "  shapes match (%s)", ran_all ? "ran" : "inferred");
    }

    /* The activation, once computed. */
    if (N) {
        const k2t_tensor *t = ran_output(sh, i);
        doc_add(d, 0, "%s", "");
        if (t) {
            fstats fs;
            int64_t n = k2t_shape_numel(&t->shape);
            float_stats(t->data, n, &fs);
            doc_add(d, TUI_A_BOLD, "Activation %s", shape_str(&t->shape, s1, sizeof s1));
            doc_stats(d, "", fs.min, fs.max, fs.mean, fs.std);
            if (fs.bad) doc_add(d, TUI_A_WARN, "! %lld NaN/Inf values", (long long)fs.bad);
            doc_values(d, "", t->data, n);
        } else if (k2t_shell_has_run(sh) && i < tui_cursor_of(sh)) {
            doc_add(d, TUI_A_BOLD, "Activation");
            doc_add(d, TUI_A_DIM, "  not kept by this run");
        } else {
            doc_add(d, TUI_A_BOLD, "Activation");
            doc_add(d, TUI_A_DIM, "  not computed yet");
        }
    }

    /* The weights. */
    doc_add(d, 0, "%s", "");
    if (!L->n_w) {
        doc_add(d, TUI_A_BOLD, "Weights: none");
    } else {
        doc_add(d, TUI_A_BOLD, "Weights: %s params", params);
        for (int j = 0; j < L->n_w; j++) {
            const k2t_weight *W = &L->w[j];
            k2t_wstats ws;
            k2t_shape ts;
            char tname[256];
            k2t_weight_stats(m, L, j, &ws);
            k2t_shape_str(&W->shape, 0, s1, sizeof s1);
            if (k2t_torch_param(m, L, j, tname, sizeof tname, &ts) == 0)
                snprintf(buf, sizeof buf, "%s %s -> %s %s", W->name, s1, tname, k2t_shape_str(&ts, 0, s2, sizeof s2));
            else
                snprintf(buf, sizeof buf, "%s %s", W->name, s1);
            doc_wrap(d, 0, 4, buf);
            doc_stats(d, "  ", ws.min, ws.max, ws.mean, ws.std);
            if (ws.zero_frac > 0 || ws.n_nan + ws.n_inf > 0) {
                snprintf(buf, sizeof buf, "  zeros %.1f%%  nan/inf %lld", 100 * ws.zero_frac,
                         (long long)(ws.n_nan + ws.n_inf));
                doc_wrap(d, 0, 4, buf);
            }
            if (ws.flags) {
                snprintf(buf, sizeof buf, "  ! %s", ws.why);
                doc_wrap(d, TUI_A_WARN, 4, buf);
            }
            doc_values(d, "  ", W->data, W->size);
        }
    }
    sections_free(&S);
}

static void details_title(const tui_state *st, k2t_shell *sh, char *buf, size_t n)
{
    const k2t_model *m = sh->model;
    if (!m || st->sel < 0 || st->sel >= n_entries(m)) {
        snprintf(buf, n, "Details");
        return;
    }
    const char *cls = entry_layer(m, st->sel)->class_name;
    if (has_graph(m)) snprintf(buf, n, "%s (%s)", entry_name(m, st->sel), cls);
    else snprintf(buf, n, "%s", entry_name(m, st->sel));
}

static void details_build(const tui_win *win, const tui_state *st, k2t_shell *sh, doc *d)
{
    memset(d, 0, sizeof *d);
    d->width = win->w - 3;  /* one blank inside the left border */
    details_doc(st, sh, d);
}

static int clamp_top(int top, int n, int rows)
{
    if (top > n - rows) top = n - rows;
    return top < 0 ? 0 : top;
}

static void draw_details(const tui_win *win, const tui_state *st, k2t_shell *sh, tui_grid *g)
{
    char title[256];
    doc d;
    int ih = win->h - 2;
    details_title(st, sh, title, sizeof title);
    g_title(g, win, title, st->focus == TUI_DETAILS);
    details_build(win, st, sh, &d);
    int top = clamp_top(st->details_top, d.n, ih);
    for (int k = 0; k < ih && top + k < d.n; k++)
        g_field(g, win->y + 1 + k, win->x + 2, win->w - 3, d.t[top + k], d.a[top + k]);
    if (top > 0) g_put(g, win->y, win->x + win->w - 5, 3, " ^ ", TUI_A_BOLD);
    if (top + ih < d.n) g_put(g, win->y + win->h - 1, win->x + win->w - 5, 3, " v ", TUI_A_BOLD);
    doc_free(&d);
}

/*========================================================== the output */

/* The first output line shown: the end while following. */
static int out_top(const tui_state *st, int rows)
{
    int top = st->out_follow ? st->out.n - rows : st->out_top;
    return clamp_top(top, st->out.n, rows);
}

static unsigned char out_attr(const char *line)
{
    if (!strncmp(line, "k2t> ", 5)) return TUI_A_BOLD;
    if (!strncmp(line, "error:", 6) || strstr(line, ": error: ") || !strncmp(line, "warning:", 8) ||
        strstr(line, "MISMATCH"))
        return TUI_A_WARN;
    return 0;
}

static void draw_output(const tui_win *win, const tui_state *st, k2t_shell *sh, tui_grid *g)
{
    (void)sh;
    int ih = win->h - 2, iw = win->w - 2;
    g_title(g, win, st->out_left > 0 ? "Output (scrolled right)" : "Output", st->focus == TUI_OUTPUT);
    if (st->out.n == 0) {
        g_field(g, win->y + 1, win->x + 2, iw - 1, "Command output shows here.", TUI_A_DIM);
        g_field(g, win->y + 2, win->x + 2, iw - 1, ": runs a command (:help lists them); n steps; ? lists the keys.",
                TUI_A_DIM);
        return;
    }
    int top = out_top(st, ih);
    for (int k = 0; k < ih && top + k < st->out.n; k++) {
        const char *l = st->out.v[top + k];
        int len = (int)strlen(l), y = win->y + 1 + k;
        const char *vis = st->out_left < len ? l + st->out_left : "";
        g_field(g, y, win->x + 1, iw, vis, out_attr(l));
        if (st->out_left > 0 && *vis) g_set(g, y, win->x + 1, '<', TUI_A_DIM);
        if (len - st->out_left > iw) g_set(g, y, win->x + iw, '>', TUI_A_DIM);
    }
    if (top > 0) g_put(g, win->y, win->x + win->w - 5, 3, " ^ ", TUI_A_BOLD);
    if (top + ih < st->out.n) g_put(g, win->y + win->h - 1, win->x + win->w - 5, 3, " v ", TUI_A_BOLD);
}

/*================================================ title bar and key bar */

static void draw_title(const tui_state *st, k2t_shell *sh, tui_grid *g)
{
    (void)st;
    const k2t_model *m = sh->model;
    char buf[1024], s1[160];
    size_t w = (size_t)snprintf(buf, sizeof buf, " k2t");
#define ADD(...) do { if (w < sizeof buf) w += (size_t)snprintf(buf + w, sizeof buf - w, __VA_ARGS__); } while (0)
    if (!m) {
        ADD(" | no model loaded");
    } else {
        ADD(" | %s (%d layers)", base_name(m->path), n_entries(m));
        if (has_graph(m)) {
            int c = tui_cursor_of(sh);
            if (!k2t_shell_has_run(sh)) ADD(" | not started");
            else if (c >= m->n_nodes) ADD(" | => end");
            else ADD(" | => %d %s", c, m->nodes[c].name);
            if (sh->n_breaks) ADD(" | %d breakpoint%s", sh->n_breaks, sh->n_breaks == 1 ? "" : "s");
        }
        if (sh->in.n > 0 && sh->in.n_x == 1)
            ADD(" | input %s %s", sh->in.desc, k2t_shape_str(&k2t_shell_input0(sh)->shape, 0, s1, sizeof s1));
        else if (sh->in.n > 0)
            ADD(" | %d inputs, batch %d", sh->in.n_x, sh->in.n);
        else ADD(" | no input");
    }
#undef ADD
    g_field(g, 0, 0, g->w, buf, TUI_A_TITLE);
}

static const char *const key_hints[][2] = {
    {"n", "step"}, {"b", "block"}, {"B", "break"}, {"c", "cont"}, {"r", "run"}, {"d", "diff"}, {"/", "find"},
    {":", "cmd"}, {"?", "help"}, {"q", "back"}, {"Tab", "pane"},
};

static const char *line_prompt(const tui_state *st)
{
    return st->line_kind == '/' ? "find: " : "k2t> ";
}

/* The first column of the command line shown, so that the cursor fits. */
static int line_offset(const tui_state *st, int w)
{
    int room = w - (int)strlen(line_prompt(st)) - 1;
    return st->line_pos > room ? st->line_pos - room : 0;
}

static void draw_keybar(const tui_state *st, tui_grid *g)
{
    int y = g->h - 1;
    g_fill(g, y, 0, 1, g->w, ' ', 0);
    if (st->focus == TUI_CMDLINE) {
        const char *p = line_prompt(st);
        int x = g_put(g, y, 0, g->w, p, TUI_A_BOLD);
        int off = line_offset(st, g->w);
        g_field(g, y, x, g->w - x, st->line + (off < st->line_len ? off : st->line_len), 0);
        return;
    }
    if (st->status[0]) {
        g_field(g, y, 0, g->w, st->status, TUI_A_BOLD);
        return;
    }
    int x = 0, n = (int)(sizeof key_hints / sizeof key_hints[0]);
    for (int k = 0; k < n; k++) {
        int need = (int)(strlen(key_hints[k][0]) + 1 + strlen(key_hints[k][1])) + (k ? 2 : 0);
        if (x + need > g->w) break;
        if (k) x += 2;
        x += g_put(g, y, x, g->w - x, key_hints[k][0], TUI_A_TITLE | TUI_A_BOLD);
        x++;
        x += g_put(g, y, x, g->w - x, key_hints[k][1], 0);
    }
}

/*=========================================================== key help */

static const char *const help_rows[][2] = {
    {"n", "step: run the next layer"},
    {"b", "run to the end of the selected layer's block (or the next)"},
    {"B", "toggle a breakpoint on the selected layer"},
    {"c", "continue to the next breakpoint (or the end)"},
    {"r", "run the whole model"},
    {"d", "diff, and each layer's max |a-b| beside the list (# failing)"},
    {"Left/Right", "in the output: scroll long lines sideways"},
    {"Up/Down", "select a layer; scroll the details or the output"},
    {"PgUp/PgDn", "a page up or down; Home/End: the first or last"},
    {"Enter", "select: the details pane gets the keys"},
    {"Tab", "next pane (Shift-Tab: previous); Left/Right between the panes"},
    {"/", "find a layer by name (an empty search repeats)"},
    {":", "command line: any k2t command; Up/Down: history"},
    {"?", "this help"},
    {"q", "back to the prompt, as \":q\" (\"quit\" leaves k2t)"},
    {"Ctrl-L", "redraw; Ctrl-C: stop a running command"},
};

static void draw_keys(tui_grid *g)
{
    int n = (int)(sizeof help_rows / sizeof help_rows[0]);
    int bw = g->w - 2 < 78 ? g->w - 2 : 78, bh = n + 4 < g->h - 2 ? n + 4 : g->h - 2;
    tui_win box = {TUI_N_PANES, (g->h - bh) / 2, (g->w - bw) / 2, bh, bw, NULL, NULL};
    g_fill(g, box.y, box.x, box.h, box.w, ' ', 0);
    g_box(g, &box, 1);
    g_title(g, &box, "Keys", 1);
    char buf[256];
    for (int k = 0; k < n && k < bh - 4; k++) {
        snprintf(buf, sizeof buf, "%-10s %s", help_rows[k][0], help_rows[k][1]);
        g_field(g, box.y + 2 + k, box.x + 2, bw - 4, buf, 0);
        g_or(g, box.y + 2 + k, box.x + 2, (int)strlen(help_rows[k][0]), TUI_A_BOLD);
    }
    const char *foot = " any key closes this ";
    g_put(g, box.y + bh - 1, box.x + bw - 2 - (int)strlen(foot), (int)strlen(foot), foot, TUI_A_DIM);
}

/*============================================================== layout */

static void scroll_layers(const tui_win *win, tui_state *st, k2t_shell *sh, int delta);
static void scroll_details(const tui_win *win, tui_state *st, k2t_shell *sh, int delta);
static void scroll_output(const tui_win *win, tui_state *st, k2t_shell *sh, int delta);

int tui_layout(const tui_state *st, int w, int h, tui_win wins[TUI_N_PANES])
{
    memset(wins, 0, TUI_N_PANES * sizeof *wins);
    if (w < MIN_W || h < MIN_H) return -1;
    int oh = st->focus == TUI_OUTPUT ? (h - 2) / 2 : h / 4;
    if (oh < 5) oh = 5;
    int lw = w * 3 / 7;
    if (lw < 26) lw = 26;
    if (lw > 56) lw = 56;
    int oy = h - 1 - oh;        /* the output box's top line, shared with the panes above */
    wins[TUI_LAYERS] = (tui_win){TUI_LAYERS, 1, 0, oy, lw, draw_layers, scroll_layers};
    wins[TUI_DETAILS] = (tui_win){TUI_DETAILS, 1, lw - 1, oy, w - lw + 1, draw_details, scroll_details};
    wins[TUI_OUTPUT] = (tui_win){TUI_OUTPUT, oy, 0, oh, w, draw_output, scroll_output};
    wins[TUI_CMDLINE] = (tui_win){TUI_CMDLINE, h - 1, 0, 1, w, NULL, NULL};
    return 0;
}

int tui_render(const tui_state *st, k2t_shell *sh, char *grid, unsigned char *attr, int w, int h)
{
    unsigned char *own = NULL;
    if (!attr) attr = own = k2t_xmalloc((size_t)w * (size_t)h);
    tui_grid g = {grid, attr, w, h};
    memset(grid, ' ', (size_t)w * (size_t)h);
    memset(attr, 0, (size_t)w * (size_t)h);
    tui_win wins[TUI_N_PANES];
    if (tui_layout(st, w, h, wins) != 0) {
        char msg[80];
        snprintf(msg, sizeof msg, "terminal too small: %dx%d", w, h);
        g_put(&g, 0, 0, w, msg, TUI_A_BOLD);
        snprintf(msg, sizeof msg, "k2t needs %dx%d here", MIN_W, MIN_H);
        g_put(&g, 1, 0, w, msg, 0);
        g_put(&g, 2, 0, w, "(enlarge it, or q)", 0);
        free(own);
        return 0;
    }
    draw_title(st, sh, &g);
    /* The lines first, so shared borders join; then each pane's inside. */
    for (int p = TUI_LAYERS; p <= TUI_OUTPUT; p++) g_box(&g, &wins[p], st->focus == (tui_pane)p);
    for (int p = TUI_LAYERS; p <= TUI_OUTPUT; p++) wins[p].draw(&wins[p], st, sh, &g);
    draw_keybar(st, &g);
    if (st->keys) draw_keys(&g);
    free(own);
    return 0;
}

int tui_cursor_pos(const tui_state *st, int w, int h, int *y, int *x)
{
    if (st->focus != TUI_CMDLINE || st->keys || w < MIN_W || h < MIN_H) return 0;
    *y = h - 1;
    *x = (int)strlen(line_prompt(st)) + st->line_pos - line_offset(st, w);
    if (*x >= w) *x = w - 1;
    return 1;
}

/*=========================================================== the state */

/* The layer that ran last, or the first. */
static int default_sel(k2t_shell *sh)
{
    int c = tui_cursor_of(sh);
    return c > 0 ? c - 1 : 0;
}

void tui_state_init(tui_state *st, k2t_shell *sh)
{
    memset(st, 0, sizeof *st);
    st->model = sh->model;
    st->sel = default_sel(sh);
    st->focus = st->back = TUI_LAYERS;
    st->out_follow = 1;
    st->line_kind = ':';
}

void tui_select(tui_state *st, k2t_shell *sh, int i)
{
    int n = n_entries(sh->model);
    if (i >= n) i = n - 1;
    if (i < 0) i = 0;
    if (i != st->sel) st->details_top = 0;
    st->sel = i;
}

void tui_sync(tui_state *st, k2t_shell *sh, int cursor0, const void *run0)
{
    if (sh->model != st->model) {
        st->model = sh->model;
        st->sel = -1;
        st->list_top = 0;
        tui_select(st, sh, default_sel(sh));
        return;
    }
    if (tui_cursor_of(sh) != cursor0 || (const void *)sh->run != run0) tui_select(st, sh, default_sel(sh));
    else tui_select(st, sh, st->sel);  /* clamp */
}

/*--------------------------------------------------------- scrolling */

static int list_rows_shown(const tui_win *win) { return win->h - 2; }

void tui_fix_scroll(tui_state *st, k2t_shell *sh, int w, int h)
{
    tui_win wins[TUI_N_PANES];
    tui_select(st, sh, st->sel);
    if (tui_layout(st, w, h, wins) != 0 || !sh->model) return;
    sections S;
    lrow *r;
    sections_find(sh->model, &S);
    int n = list_rows(sh, &S, &r);
    st->list_top = visible_top(st->list_top, row_of(r, n, st->sel), n, list_rows_shown(&wins[TUI_LAYERS]));
    free(r);
    sections_free(&S);
    doc d;
    details_build(&wins[TUI_DETAILS], st, sh, &d);
    st->details_top = clamp_top(st->details_top, d.n, wins[TUI_DETAILS].h - 2);
    doc_free(&d);
    /* Scrolled sideways no further than the longest line needs. */
    int longest = 0;
    for (int i = 0; i < st->out.n; i++)
        if ((int)strlen(st->out.v[i]) > longest) longest = (int)strlen(st->out.v[i]);
    int maxleft = longest - (wins[TUI_OUTPUT].w - 2) + 1;
    if (st->out_left > maxleft) st->out_left = maxleft > 0 ? maxleft : 0;
    if (!st->out_follow) {
        int rows = wins[TUI_OUTPUT].h - 2;
        st->out_top = clamp_top(st->out_top, st->out.n, rows);
        if (st->out_top >= st->out.n - rows) st->out_follow = 1;
    }
}

static int add_clamped(int v, int delta)
{
    if (delta == INT_MIN) return INT_MIN / 2;
    if (delta == INT_MAX) return INT_MAX / 2;
    return v + delta;
}

static void scroll_layers(const tui_win *win, tui_state *st, k2t_shell *sh, int delta)
{
    (void)win;
    int n = n_entries(sh->model);
    if (!n) return;
    int i = add_clamped(st->sel, delta);
    tui_select(st, sh, i < 0 ? 0 : i >= n ? n - 1 : i);
}

static void scroll_details(const tui_win *win, tui_state *st, k2t_shell *sh, int delta)
{
    doc d;
    details_build(win, st, sh, &d);
    st->details_top = clamp_top(add_clamped(clamp_top(st->details_top, d.n, win->h - 2), delta), d.n, win->h - 2);
    doc_free(&d);
}

static void scroll_output(const tui_win *win, tui_state *st, k2t_shell *sh, int delta)
{
    (void)sh;
    int rows = win->h - 2;
    int top = clamp_top(add_clamped(out_top(st, rows), delta), st->out.n, rows);
    st->out_top = top;
    st->out_follow = top >= st->out.n - rows;
}

void tui_scroll(tui_state *st, k2t_shell *sh, int w, int h, int delta)
{
    tui_win wins[TUI_N_PANES];
    if (tui_layout(st, w, h, wins) != 0) return;
    tui_pane p = st->focus == TUI_CMDLINE ? TUI_OUTPUT : st->focus;  /* the command line scrolls the output */
    wins[p].scroll(&wins[p], st, sh, delta);
}

int tui_page(const tui_state *st, int w, int h)
{
    tui_win wins[TUI_N_PANES];
    if (tui_layout(st, w, h, wins) != 0) return 1;
    tui_pane p = st->focus == TUI_CMDLINE ? TUI_OUTPUT : st->focus;
    int rows = wins[p].h - 2 - 1;  /* keep one line of context */
    return rows > 1 ? rows : 1;
}

/*------------------------------------------------------ search, block */

int tui_search(const tui_state *st, k2t_shell *sh, const char *text)
{
    int n = n_entries(sh->model);
    if (!n || !*text) return -1;
    for (int k = 1; k <= n; k++) {
        int i = (st->sel + k) % n;
        if (strcasestr(entry_name(sh->model, i), text)) return i;
    }
    return -1;
}

int tui_block_to_step(const tui_state *st, k2t_shell *sh, char *why, size_t n)
{
    const k2t_model *m = sh->model;
    snprintf(why, n, "no model");
    if (!has_graph(m)) return 0;
    sections S;
    sections_find(m, &S);
    int c = tui_cursor_of(sh), k = 0;
    int at = k2t_block_of(S.b, S.n, st->sel);
    if (at >= 0 && S.b[at].last >= c) k = at + 1;
    /* Else the first block after the selection that has not run to its end,
    ** else the first that has not, wherever the selection is. */
    for (int j = 0; j < S.n && !k; j++)
        if (S.b[j].first > st->sel && S.b[j].last >= c) k = j + 1;
    for (int j = 0; j < S.n && !k; j++)
        if (S.b[j].last >= c) k = j + 1;
    if (!k) snprintf(why, n, S.n ? "every residual block has run (\"restart\" starts over)"
                                 : "the model has no residual blocks");
    sections_free(&S);
    return k;
}
