/*
** plot.c -- pictures: plot diff, plot activations, plot hist.
**
** The runs are built here the way diff builds them (A = Keras's semantics,
** B = the current settings, or named profiles), each fed the current input
** with its own preprocessing; engine/plot.c compares, draws and encodes.
** Files are written through k2t_write_file_safe: an existing file is kept
** unless --force, a symbolic link is replaced and never written through,
** and a failed write leaves the old file byte-identical.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "plot.h"

/* ".png" -> 'p', ".svg" -> 's', else 0. */
static int file_kind(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && !strcasecmp(path + n - 4, ".png")) return 'p';
    if (n > 4 && !strcasecmp(path + n - 4, ".svg")) return 's';
    return 0;
}

/* The terminal's width: $COLUMNS, else 80. */
static int term_width(void)
{
    const char *c = getenv("COLUMNS");
    int w = c ? atoi(c) : 0;
    return w >= 20 && w <= 1000 ? w : 80;
}

/*------------------------------------------------------------------ runs */

/* A fresh run of the current input under profile p, every activation
** kept.  NULL after an error reported as "plot: ...". */
static k2t_run *run_profile(k2t_shell *sh, const k2t_profile *p0, const char *what)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    k2t_profile p = *p0;
    if (!p.with_input) p.emu.preprocess = sh->set.emu.preprocess;
    if (sh->in.n == 0) {
        k2t_error(sh, -1, "plot %s: no input (use \"input cifar FILE 0:4\", \"input random\" ...)", what);
        return NULL;
    }
    k2t_shape per[64];
    char cmd[32];
    snprintf(cmd, sizeof cmd, "plot %s", what);
    if (m->n_inputs > 64) {
        k2t_error(sh, -1, "plot %s: the model has %d inputs", what, m->n_inputs);
        return NULL;
    }
    if (k2t_shell_input_shapes(sh, cmd, per) != K2T_CMD_OK) return NULL;
    k2t_opts o;
    k2t_profile_opts(sh, &p, &o, 1);
    k2t_run *r = k2t_run_new(m, &o, per, sh->in.n, &err);
    if (!r) {
        k2t_error(sh, -1, "plot %s: %s", what, err.msg);
        return NULL;
    }
    if (k2t_shell_feed(sh, cmd, r, &p.emu) != K2T_CMD_OK) {
        k2t_run_free(r);
        return NULL;
    }
    if (k2t_run_nodes(r, 0, m->n_nodes, &err) != K2T_OK) {
        k2t_error(sh, -1, "plot %s: %s", what, err.msg);
        k2t_run_free(r);
        r = NULL;
    }
    return r;
}

/* A profile by name ("current": the current settings). */
static int find_profile(k2t_shell *sh, int argi, const char *name, k2t_profile *out)
{
    if (!strcmp(name, "current")) {
        k2t_profile_current(sh, out);
        return 0;
    }
    const k2t_profile *p = k2t_profile_find(sh, name);
    if (!p) {
        k2t_error(sh, argi, "plot: unknown profile '%s' (\"profile list\" lists them)", name);
        return -1;
    }
    *out = *p;
    return 0;
}

/*------------------------------------------------------------- writers */

typedef struct png_job {
    const k2t_image *im;
    const char *const *text;
} png_job;

static k2t_status fill_png(FILE *f, void *ctx, k2t_err *err)
{
    png_job *j = ctx;
    return k2t_png_write(f, j->im, j->text, err);
}

static int write_png(k2t_shell *sh, int argi, const char *what, const char *path, int force, const k2t_image *im,
                     const char *const *text)
{
    k2t_err err = {0};
    png_job j = {im, text};
    if (k2t_write_file_safe(path, force, fill_png, &j, &err) != K2T_OK)
        return k2t_error(sh, argi, "plot %s: %s", what, err.msg);
    k2t_printf(sh, "wrote %s (%dx%d PNG)\n", path, im->w, im->h);
    return K2T_CMD_OK;
}

typedef struct diff_job {
    const char *const *names;
    const k2t_layer_diff *d;
    int n, first;
} diff_job;

static k2t_status fill_diff_svg(FILE *f, void *ctx, k2t_err *err)
{
    diff_job *j = ctx;
    return k2t_plot_diff_svg(f, j->names, j->d, j->n, j->first, err);
}

typedef struct hist_job {
    const char *title;
    const int64_t *bins;
    int n;
    double lo, hi;
} hist_job;

static k2t_status fill_hist_svg(FILE *f, void *ctx, k2t_err *err)
{
    hist_job *j = ctx;
    return k2t_plot_hist_svg(f, j->title, j->bins, j->n, j->lo, j->hi, err);
}

/* Options shared by the subcommands: --force, --vs PROFILE, --bins N,
** --act; the rest are positional (at most 'maxpos').  Returns 0 or -1
** after an error. */
typedef struct plot_args {
    int force, act, bins;
    const char *vs;
    int vs_arg;
    const char *pos[4];
    int pos_arg[4];
    int npos;
} plot_args;

static int parse_args(k2t_shell *sh, int argc, char **argv, int maxpos, const char *opts, plot_args *a)
{
    memset(a, 0, sizeof *a);
    a->bins = sh->set.hist_bins;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--force") || !strcmp(s, "-f")) {
            a->force = 1;
        } else if (!strcmp(s, "--vs") && strstr(opts, "vs")) {
            if (i + 1 >= argc) return k2t_error(sh, i, "plot: --vs needs a profile (keras, torch, torch-naive, current)"), -1;
            a->vs = argv[++i];
            a->vs_arg = i;
        } else if (!strcmp(s, "--bins") && strstr(opts, "bins")) {
            char *end;
            long b = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || !*argv[i + 1] || *end || b < 4 || b > 200)
                return k2t_error(sh, i + 1 < argc ? i + 1 : i, "plot: --bins takes a whole number from 4 to 200"), -1;
            a->bins = (int)b;
            i++;
        } else if (!strcmp(s, "--act") && strstr(opts, "act")) {
            a->act = 1;
        } else if (s[0] == '-' && s[1]) {
            return k2t_error(sh, i, "plot %s: unknown option '%s' (%s)", argv[1], s, opts), -1;
        } else if (a->npos < maxpos) {
            a->pos_arg[a->npos] = i;
            a->pos[a->npos++] = s;
        } else {
            return k2t_error(sh, i, "plot %s: unexpected argument '%s'", argv[1], s), -1;
        }
    }
    return 0;
}

/*------------------------------------------------------------ plot diff */

int k2t_plot_layer_diffs(k2t_shell *sh, k2t_layer_diff **out, int *first)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    k2t_profile pa, pb;
    find_profile(sh, -1, "keras", &pa);
    find_profile(sh, -1, "current", &pb);
    *out = NULL;
    *first = -1;
    k2t_run *ra = run_profile(sh, &pa, "diff");
    k2t_run *rb = ra ? run_profile(sh, &pb, "diff") : NULL;
    int rc = K2T_CMD_OK;
    if (!rb) {
        rc = K2T_CMD_ERR;
    } else {
        *out = k2t_xcalloc((size_t)m->n_nodes, sizeof **out);
        if (k2t_layer_diffs(m, ra, rb, sh->in.n, sh->set.diff_atol, sh->set.diff_rtol, *out, first, &err) != K2T_OK) {
            free(*out);
            *out = NULL;
            rc = k2t_error(sh, -1, "plot diff: %s", err.msg);
        }
    }
    k2t_run_free(ra);
    k2t_run_free(rb);
    return rc;
}

static int plot_diff(k2t_shell *sh, int argc, char **argv)
{
    plot_args a;
    k2t_err err = {0};
    if (parse_args(sh, argc, argv, 1, "--force", &a) != 0) return K2T_CMD_ERR;
    const char *path = a.npos ? a.pos[0] : NULL;
    int kind = path ? file_kind(path) : 0;
    if (path && !kind) return k2t_error(sh, a.pos_arg[0], "plot diff: '%s': expected FILE.svg or FILE.png", path);
    if (path && k2t_check_write_target(path, a.force, &err) != K2T_OK)
        return k2t_error(sh, a.pos_arg[0], "plot diff: %s", err.msg);
    const k2t_model *m = sh->model;
    k2t_layer_diff *d = NULL;
    int first = -1, rc = K2T_CMD_OK;
    if (k2t_plot_layer_diffs(sh, &d, &first) != K2T_CMD_OK) return K2T_CMD_ERR;
    const char **names = k2t_xmalloc((size_t)m->n_nodes * sizeof *names);
    for (int i = 0; i < m->n_nodes; i++) names[i] = m->nodes[i].name;
    if (!path) {
        char *text = k2t_plot_diff_text(names, d, m->n_nodes, first, term_width());
        k2t_printf(sh, "%s", text);
        free(text);
    } else if (kind == 's') {
        diff_job j = {names, d, m->n_nodes, first};
        if (k2t_write_file_safe(path, a.force, fill_diff_svg, &j, &err) != K2T_OK)
            rc = k2t_error(sh, a.pos_arg[0], "plot diff: %s", err.msg);
        else
            k2t_printf(sh, "wrote %s (SVG, %d layers)\n", path, m->n_nodes);
    } else {
        char *values = NULL, frame[128];
        k2t_image *im = k2t_plot_diff_png(names, d, m->n_nodes, first, &values);
        double *v = k2t_xmalloc((size_t)(2 * m->n_nodes + 1) * sizeof *v);
        int k = 0, dlo, dhi;
        for (int i = 0; i < m->n_nodes; i++)
            if (d[i].state == 1) v[k++] = d[i].mad, v[k++] = d[i].tol;
        k2t_log_decades(v, k, &dlo, &dhi);
        free(v);
        snprintf(frame, sizeof frame, "%d %d %d %d %d %d", K2T_DIFF_X0, K2T_DIFF_Y0, K2T_DIFF_X1, K2T_DIFF_Y1, dlo, dhi);
        const char *text[] = {"k2t:frame", frame, "k2t:values", values,
                              "k2t:first", first >= 0 ? names[first] : "none", NULL};
        rc = write_png(sh, a.pos_arg[0], "diff", path, a.force, im, text);
        k2t_image_free(im);
        free(values);
    }
    if (rc == K2T_CMD_OK) k2t_var_set(sh, "first_divergence", "%s", first >= 0 ? names[first] : "none");
    free(d);
    free(names);
    return rc;
}

/*----------------------------------------------------- plot activations */

/* The node named by argument argi (a node name, or a layer's first call). */
static int arg_node(k2t_shell *sh, int argi, const char *name)
{
    const k2t_model *m = sh->model;
    int node = k2t_find_node(m, name);
    if (node >= 0) return node;
    int li = k2t_arg_layer(sh, argi, name);
    if (li < 0) return -1;
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].layer == li) return i;
    k2t_error(sh, argi, "plot: layer '%s' is never called in the graph", name);
    return -1;
}

static int plot_activations(k2t_shell *sh, int argc, char **argv)
{
    plot_args a;
    k2t_err err = {0};
    if (parse_args(sh, argc, argv, 2, "--force, --vs PROFILE", &a) != 0) return K2T_CMD_ERR;
    if (a.npos != 2) return k2t_error(sh, -1, "plot activations: usage: plot activations LAYER FILE.png [--vs PROFILE] [--force]");
    const char *path = a.pos[1];
    if (file_kind(path) != 'p') return k2t_error(sh, a.pos_arg[1], "plot activations: '%s': expected FILE.png", path);
    int node = arg_node(sh, a.pos_arg[0], a.pos[0]);
    if (node < 0) return K2T_CMD_ERR;
    if (k2t_check_write_target(path, a.force, &err) != K2T_OK)
        return k2t_error(sh, a.pos_arg[1], "plot activations: %s", err.msg);
    const k2t_model *m = sh->model;
    k2t_profile p[2];
    int np = 1;
    /* One panel: the current settings (what "save LAYER" saves).  --vs P:
    ** Keras's semantics on the left, P on the right. */
    if (a.vs) {
        find_profile(sh, -1, "keras", &p[0]);
        if (find_profile(sh, a.vs_arg, a.vs, &p[1]) != 0) return K2T_CMD_ERR;
        np = 2;
    } else {
        find_profile(sh, -1, "current", &p[0]);
    }
    k2t_run *r[2] = {NULL, NULL};
    float *buf[2] = {NULL, NULL};
    int rc = K2T_CMD_OK;
    k2t_shape s0 = {0};
    for (int i = 0; i < np; i++) {
        r[i] = run_profile(sh, &p[i], "activations");
        if (!r[i]) { rc = K2T_CMD_ERR; goto done; }
        const k2t_shape *s = k2t_run_keras_shape(r[i], node);
        if (i == 0) s0 = *s;
        else if (s->ndim != s0.ndim || memcmp(s->d, s0.d, sizeof s->d[0] * (size_t)s->ndim)) {
            char t1[64], t2[64];
            k2t_shape x0 = s0, x1 = *s;
            rc = k2t_error(sh, -1, "plot activations: '%s' is %s under keras and %s under %s: the maps cannot sit "
                           "side by side", m->nodes[node].name, k2t_shape_str(&x0, 0, t1, sizeof t1),
                           k2t_shape_str(&x1, 0, t2, sizeof t2), a.vs);
            goto done;
        }
        buf[i] = k2t_xmalloc((size_t)(k2t_shape_numel(s) * sh->in.n + 1) * sizeof(float));
        if (k2t_run_keras(r[i], node, 0, buf[i], &err) != K2T_OK) {
            rc = k2t_error(sh, -1, "plot activations: %s", err.msg);
            goto done;
        }
    }
    int H, W, C;
    if (s0.ndim == 3) H = (int)s0.d[0], W = (int)s0.d[1], C = (int)s0.d[2];
    else if (s0.ndim == 2) H = 1, W = (int)s0.d[0], C = (int)s0.d[1];
    else if (s0.ndim == 1) H = 1, W = (int)s0.d[0], C = 1;
    else {
        char t[64];
        rc = k2t_error(sh, a.pos_arg[0], "plot activations: '%s' is %s per sample: no channel maps to draw",
                       m->nodes[node].name, k2t_shape_str(&s0, 0, t, sizeof t));
        goto done;
    }
    k2t_maps_layout lay;
    const float *panels[2] = {buf[0], buf[1]};
    k2t_image *im = k2t_plot_maps(panels, np, H, W, C, &lay, &err);
    if (!im) {
        rc = k2t_error(sh, a.pos_arg[0], "plot activations: %s", err.msg);
        goto done;
    }
    char layout[256], pnames[128];
    snprintf(layout, sizeof layout, "maps=%d cols=%d rows=%d h=%d w=%d scale=%d panels=%d panel_w=%d", lay.maps,
             lay.cols, lay.rows, lay.h, lay.w, lay.scale, lay.panels, lay.panel_w);
    snprintf(pnames, sizeof pnames, "%s%s", np == 2 ? "keras " : "", np == 2 ? a.vs : "current");
    const char *text[] = {"k2t:layer", m->nodes[node].name, "k2t:layout", layout, "k2t:panels", pnames, NULL};
    rc = write_png(sh, a.pos_arg[1], "activations", path, a.force, im, text);
    if (rc == K2T_CMD_OK)
        k2t_printf(sh, "  %d channel map%s of %dx%d, sample 0, %d per row%s\n", C, C == 1 ? "" : "s", H, W, lay.cols,
                   np == 2 ? "; keras on the left" : "");
    k2t_image_free(im);
done:
    for (int i = 0; i < 2; i++) {
        free(buf[i]);
        k2t_run_free(r[i]);
    }
    return rc;
}

/*------------------------------------------------------------ plot hist */

static int plot_hist(k2t_shell *sh, int argc, char **argv)
{
    plot_args a;
    k2t_err err = {0};
    if (parse_args(sh, argc, argv, 2, "--force, --bins N, --act", &a) != 0) return K2T_CMD_ERR;
    if (a.npos != 2)
        return k2t_error(sh, -1, "plot hist: usage: plot hist LAYER[/WEIGHT] FILE.png|FILE.svg [--act] [--bins N] [--force]");
    const char *path = a.pos[1];
    int kind = file_kind(path);
    if (!kind) return k2t_error(sh, a.pos_arg[1], "plot hist: '%s': expected FILE.png or FILE.svg", path);
    const k2t_model *m = sh->model;
    const float *x = NULL;
    float *own = NULL;
    int64_t n = 0;
    char title[600];
    k2t_run *r = NULL;
    if (a.act) {
        int node = arg_node(sh, a.pos_arg[0], a.pos[0]);
        if (node < 0) return K2T_CMD_ERR;
        if (k2t_check_write_target(path, a.force, &err) != K2T_OK)
            return k2t_error(sh, a.pos_arg[1], "plot hist: %s", err.msg);
        k2t_profile p;
        find_profile(sh, -1, "current", &p);
        r = run_profile(sh, &p, "hist");
        if (!r) return K2T_CMD_ERR;
        n = k2t_shape_numel(k2t_run_keras_shape(r, node)) * sh->in.n;
        own = k2t_xmalloc((size_t)(n + 1) * sizeof(float));
        if (k2t_run_keras(r, node, 0, own, &err) != K2T_OK) {
            free(own);
            k2t_run_free(r);
            return k2t_error(sh, -1, "plot hist: %s", err.msg);
        }
        x = own;
        snprintf(title, sizeof title, "%s activations (%d sample%s)", m->nodes[node].name, sh->in.n,
                 sh->in.n == 1 ? "" : "s");
    } else {
        char name[512];
        snprintf(name, sizeof name, "%s", a.pos[0]);
        char *wname = NULL;
        int li = k2t_find_layer(m, name);
        if (li < 0 && k2t_find_node(m, name) >= 0) li = m->nodes[k2t_find_node(m, name)].layer;
        if (li < 0) {
            char *slash = strrchr(name, '/');
            if (slash) *slash = '\0', wname = slash + 1;
            li = k2t_arg_layer(sh, a.pos_arg[0], name);
            if (li < 0) return K2T_CMD_ERR;
        }
        const k2t_layer *L = &m->layers[li];
        if (!L->n_w)
            return k2t_error(sh, a.pos_arg[0], "plot hist: layer '%s' has no weights (--act: its activations)", L->name);
        int wi = 0;
        if (wname) {
            wi = -1;
            for (int j = 0; j < L->n_w; j++)
                if (!strcmp(L->w[j].name, wname)) wi = j;
            if (wi < 0) return k2t_error(sh, a.pos_arg[0], "plot hist: layer '%s' has no weight '%s'", L->name, wname);
        }
        if (k2t_check_write_target(path, a.force, &err) != K2T_OK)
            return k2t_error(sh, a.pos_arg[1], "plot hist: %s", err.msg);
        x = L->w[wi].data;
        n = L->w[wi].size;
        snprintf(title, sizeof title, "%s/%s", L->name, L->w[wi].name);
    }
    int64_t bins[200];
    double lo, hi;
    int64_t cnt = k2t_histogram(x, n, bins, a.bins, &lo, &hi);
    int rc;
    if (kind == 's') {
        hist_job j = {title, bins, a.bins, lo, hi};
        rc = k2t_write_file_safe(path, a.force, fill_hist_svg, &j, &err) != K2T_OK
                 ? k2t_error(sh, a.pos_arg[1], "plot hist: %s", err.msg) : K2T_CMD_OK;
        if (rc == K2T_CMD_OK) k2t_printf(sh, "wrote %s (SVG)\n", path);
    } else {
        char range[96], counts[200 * 21 + 1];
        size_t w = 0;
        counts[0] = '\0';
        for (int b = 0; b < a.bins; b++) w += (size_t)snprintf(counts + w, sizeof counts - w, "%s%lld", b ? " " : "", (long long)bins[b]);
        snprintf(range, sizeof range, "%.9g %.9g", lo, hi);
        k2t_image *im = k2t_plot_hist_png(bins, a.bins);
        const char *text[] = {"k2t:title", title, "k2t:range", range, "k2t:bins", counts, NULL};
        rc = write_png(sh, a.pos_arg[1], "hist", path, a.force, im, text);
        k2t_image_free(im);
    }
    if (rc == K2T_CMD_OK)
        k2t_printf(sh, "  %s: %lld values in [%g, %g], %d bins\n", title, (long long)cnt, lo, hi, a.bins);
    free(own);
    k2t_run_free(r);
    return rc;
}

/*------------------------------------------------------------------ plot */

static int cmd_plot(k2t_shell *sh, int argc, char **argv)
{
    if (!strcmp(argv[1], "diff")) return plot_diff(sh, argc, argv);
    if (!strcmp(argv[1], "activations") || !strcmp(argv[1], "act")) return plot_activations(sh, argc, argv);
    if (!strcmp(argv[1], "hist")) return plot_hist(sh, argc, argv);
    return k2t_error(sh, 1, "plot: unknown plot '%s' (diff, activations, hist)", argv[1]);
}

static void complete_plot(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    if (argi == 1) {
        k2t_complete_words("diff activations hist", prefix, out);
        return;
    }
    if (prefix[0] == '-') {
        k2t_complete_words(!strcmp(argv[1], "hist") ? "--force --bins --act" : !strcmp(argv[1], "diff") ? "--force"
                                                                                                      : "--force --vs",
                           prefix, out);
        return;
    }
    if (argi == 2 && strcmp(argv[1], "diff")) k2t_complete_layers(sh, prefix, out);
}

const k2t_command k2t_cmd_plot = {
    .name = "plot", .group = "inspect", .min_args = 1, .max_args = 7, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "plot diff [FILE.svg|.png] | activations LAYER FILE.png | hist LAYER FILE",
    .summary = "Draw the layer-by-layer difference, channel maps or a histogram.",
    .help = "plot diff [FILE.svg|FILE.png] [--force]\n"
            "plot activations LAYER FILE.png [--vs PROFILE] [--force]\n"
            "plot hist LAYER[/WEIGHT] FILE.png|FILE.svg [--act] [--bins N] [--force]\n"
            "plot diff: max |a-b| per layer between Keras's semantics and the current\n"
            "settings (as diff), on a log scale with the tolerance (diff.atol + diff.rtol *\n"
            "max|a|) and the first divergence marked; without FILE a chart in the terminal\n"
            "($COLUMNS wide, else 80).\n"
            "plot activations: sample 0's channel maps as a grey grid, each channel\n"
            "normalised to its min..max, a 1-pixel separator; --vs PROFILE puts Keras's\n"
            "maps on the left and those under PROFILE (\"current\": the current settings) on\n"
            "the right, on one grey scale. Without --vs: the maps under the current\n"
            "settings (what \"save LAYER\" saves).\n"
            "plot hist: a weight's histogram (default the first weight), or with --act the\n"
            "layer's activations over every sample; --bins N (default: the hist.bins\n"
            "setting).\n"
            "An existing FILE is kept unless --force. The files carry their numbers (PNG\n"
            "tEXt chunks k2t:*, SVG data-* attributes). Publishes $first_divergence (plot\n"
            "diff).",
    .complete = complete_plot, .fn = cmd_plot,
};
