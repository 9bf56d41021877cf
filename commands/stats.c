/*
** stats.c -- weight statistics and histograms: stats, hist.
**
** The numbers come from engine/stats.c (float64 accumulation, population
** std, as numpy computes them); this file only lays them out and says what
** the flags mean.
*/
#include <stdlib.h>
#include <string.h>
#include "shell.h"

static void stats_header(k2t_shell *sh, k2t_table *t, int wn)
{
    k2t_table_init(t, sh, 9);
    t->indent = 2;
    k2t_table_col(t, 0, "weight", 0, wn, 12);
    k2t_table_col(t, 1, "shape", K2T_COL_LATE, 16, 8);
    k2t_table_col(t, 2, "min", K2T_COL_RIGHT, 11, 0);
    k2t_table_col(t, 3, "max", K2T_COL_RIGHT, 11, 0);
    k2t_table_col(t, 4, "mean", K2T_COL_RIGHT, 12, 0);
    k2t_table_col(t, 5, "std", K2T_COL_RIGHT, 11, 0);
    k2t_table_col(t, 6, "mean|x|", K2T_COL_RIGHT, 11, 0);
    k2t_table_col(t, 7, "zeros", K2T_COL_RIGHT, 7, 0);
    k2t_table_col(t, 8, "nan/inf", K2T_COL_RIGHT, 7, 0);
}

/* One row, plus a line for the flags.  Returns 1 when flagged. */
static int stats_row(k2t_shell *sh, k2t_table *t, const k2t_layer *L, int j, const char *label)
{
    k2t_wstats st;
    char s1[64], v[7][32], note[600];
    k2t_weight_stats(sh->model, L, j, &st);
    snprintf(v[0], sizeof v[0], "%g", st.min);
    snprintf(v[1], sizeof v[1], "%g", st.max);
    snprintf(v[2], sizeof v[2], "%g", st.mean);
    snprintf(v[3], sizeof v[3], "%g", st.std);
    snprintf(v[4], sizeof v[4], "%g", st.mean_abs);
    snprintf(v[5], sizeof v[5], "%6.2f%%", 100 * st.zero_frac);
    snprintf(v[6], sizeof v[6], "%lld", (long long)(st.n_nan + st.n_inf));
    const char *cells[9] = {label, k2t_shape_str(&L->w[j].shape, 0, s1, sizeof s1), v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    k2t_table_row(t, cells);
    if (st.flags) {
        snprintf(note, sizeof note, "%s! %s%s", k2t_c_warn(sh), st.why, k2t_c_off(sh));
        k2t_table_note(t, note);
        return 1;
    }
    return 0;
}

static int stats_layer(k2t_shell *sh, int li)
{
    const k2t_layer *L = &sh->model->layers[li];
    int wn = 6;
    if (k2t_format_table(sh)) k2t_printf(sh, "layer %s (%s)\n", L->name, L->class_name);
    if (!L->n_w) {
        k2t_printf(sh, "  no weights\n");
        return K2T_CMD_OK;
    }
    for (int j = 0; j < L->n_w; j++)
        if ((int)strlen(L->w[j].name) > wn) wn = (int)strlen(L->w[j].name);
    k2t_table t;
    stats_header(sh, &t, wn);
    for (int j = 0; j < L->n_w; j++) stats_row(sh, &t, L, j, L->w[j].name);
    k2t_table_print(&t);
    return K2T_CMD_OK;
}

static int stats_all(k2t_shell *sh)
{
    const k2t_model *m = sh->model;
    int wn = 6, tensors = 0, flagged = 0;
    char label[512], cnt[32];
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_w; j++) {
            int l = (int)(strlen(m->layers[i].name) + 1 + strlen(m->layers[i].w[j].name));
            if (l > wn) wn = l;
        }
    k2t_table t;
    stats_header(sh, &t, wn);
    for (int i = 0; i < m->n_layers; i++) {
        const k2t_layer *L = &m->layers[i];
        for (int j = 0; j < L->n_w; j++) {
            snprintf(label, sizeof label, "%s/%s", L->name, L->w[j].name);
            flagged += stats_row(sh, &t, L, j, label);
            tensors++;
        }
    }
    k2t_table_print(&t);
    if (!k2t_format_table(sh)) return K2T_CMD_OK;
    k2t_var_num(sh, "flagged", flagged);
    char line[300];
    snprintf(line, sizeof line, "%d weight tensors, %s params; %d flagged%s", tensors,
             k2t_fmt_count(m->n_params, cnt, sizeof cnt), flagged,
             flagged ? " (see '!' lines: weights that look never trained or never loaded)" : "");
    k2t_print_wrapped(sh, line, 0, 2, 0);
    return K2T_CMD_OK;
}

static int cmd_stats(k2t_shell *sh, int argc, char **argv)
{
    if (strcmp(argv[1], "all") == 0) {
        if (argc > 2) return k2t_error(sh, 2, "stats all: takes no more arguments");
        return stats_all(sh);
    }
    if (strcmp(argv[1], "layer") == 0) {
        if (argc < 3) return k2t_error(sh, -1, "stats layer: which layer? Usage: stats layer NAME");
        for (int a = 2; a < argc; a++)
            if (k2t_arg_layer(sh, a, argv[a]) < 0) return K2T_CMD_ERR;
        int rc = K2T_CMD_OK;
        for (int a = 2; a < argc; a++)
            if (stats_layer(sh, k2t_arg_layer(sh, a, argv[a])) != K2T_CMD_OK) rc = K2T_CMD_ERR;
        return rc;
    }
    /* "stats NAME..." as a shorthand for "stats layer NAME...": every name
    ** is checked before anything is printed, so a bad one fails the command. */
    for (int a = 1; a < argc; a++)
        if (k2t_arg_layer(sh, a, argv[a]) < 0) return K2T_CMD_ERR;
    int rc = K2T_CMD_OK;
    for (int a = 1; a < argc; a++)
        if (stats_layer(sh, k2t_arg_layer(sh, a, argv[a])) != K2T_CMD_OK) rc = K2T_CMD_ERR;
    return rc;
}

static void complete_stats(k2t_shell *sh, int argi, char **argv, const char *prefix,
                           k2t_strlist *out)
{
    if (argi == 1) {
        k2t_complete_words("layer all", prefix, out);
        k2t_complete_layers(sh, prefix, out);
    } else if (argi >= 2 && strcmp(argv[1], "layer") == 0) {
        k2t_complete_layers(sh, prefix, out);
    }
}

/*------------------------------------------------------------------ hist */

static int cmd_hist(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    char name[512], s1[64];
    int bins_n = sh->set.hist_bins;
    if (argc > 2) {
        char *end;
        long b = strtol(argv[2], &end, 10);
        if (!*argv[2] || *end || b < 4 || b > 200)
            return k2t_error(sh, 2, "hist: BINS must be a whole number from 4 to 200, got '%s'",
                             argv[2]);
        bins_n = (int)b;
    }
    snprintf(name, sizeof name, "%s", argv[1]);
    /* LAYER/WEIGHT; the layer name itself may contain '/' (nested scopes),
    ** so try the whole name first. */
    char *wname = NULL;
    int li = k2t_find_layer(m, name);
    if (li < 0 && k2t_find_node(m, name) >= 0) li = m->nodes[k2t_find_node(m, name)].layer;
    if (li < 0) {
        char *slash = strrchr(name, '/');
        if (slash) {
            *slash = '\0';
            wname = slash + 1;
        }
        li = k2t_arg_layer(sh, 1, name);
        if (li < 0) return K2T_CMD_ERR;
    }
    const k2t_layer *L = &m->layers[li];
    if (!L->n_w) return k2t_error(sh, 1, "hist: layer '%s' has no weights", L->name);
    int wi = 0;
    if (wname) {
        wi = -1;
        for (int j = 0; j < L->n_w; j++)
            if (strcmp(L->w[j].name, wname) == 0) wi = j;
        if (wi < 0) {
            char have[256] = "";
            for (int j = 0; j < L->n_w; j++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", j ? ", " : "",
                         L->w[j].name);
            return k2t_error(sh, 1, "hist: layer '%s' has no weight '%s' (it has: %s)", L->name,
                             wname, have);
        }
    }
    const k2t_weight *w = &L->w[wi];
    int64_t bins[200];
    double lo, hi;
    int64_t n = k2t_histogram(w->data, w->size, bins, bins_n, &lo, &hi);
    k2t_printf(sh, "%s/%s %s: %lld values in [%g, %g]\n", L->name, w->name,
               k2t_shape_str(&w->shape, 0, s1, sizeof s1), (long long)n, lo, hi);
    if (n == 0) return K2T_CMD_OK;
    int64_t top = 1;
    for (int b = 0; b < bins_n; b++)
        if (bins[b] > top) top = bins[b];
    double width = (hi - lo) / bins_n;
    for (int b = 0; b < bins_n; b++) {
        int bar = (int)((bins[b] * 50 + top - 1) / top);
        k2t_printf(sh, "  %11.4g .. %-11.4g |", lo + b * width, lo + (b + 1) * width);
        for (int i = 0; i < bar; i++) k2t_printf(sh, "#");
        k2t_printf(sh, "%*s %lld\n", 50 - bar, "", (long long)bins[b]);
    }
    return K2T_CMD_OK;
}

static void complete_hist(k2t_shell *sh, int argi, char **argv, const char *prefix,
                          k2t_strlist *out)
{
    (void)argv;
    if (argi != 1 || !sh->model) return;
    const char *slash = strrchr(prefix, '/');
    if (slash) {
        char lname[256];
        snprintf(lname, sizeof lname, "%.*s", (int)(slash - prefix), prefix);
        int li = k2t_find_layer(sh->model, lname);
        if (li < 0) return;
        const k2t_layer *L = &sh->model->layers[li];
        for (int j = 0; j < L->n_w; j++) {
            char full[512];
            snprintf(full, sizeof full, "%s/%s", lname, L->w[j].name);
            if (strncmp(full, prefix, strlen(prefix)) == 0) k2t_strlist_add(out, full);
        }
        return;
    }
    for (int i = 0; i < sh->model->n_layers; i++)
        if (sh->model->layers[i].n_w && strncmp(sh->model->layers[i].name, prefix, strlen(prefix)) == 0)
            k2t_strlist_add(out, sh->model->layers[i].name);
}

const k2t_command k2t_cmd_stats = {
    .name = "stats", .group = "inspect", .min_args = 1, .max_args = -1, .flags = K2T_NEEDS_MODEL,
    .usage = "stats layer NAME... | stats all",
    .summary = "Weight statistics per tensor, flagging weights that look never trained or never loaded.",
    .help = "For each weight: shape, min, max, mean, std (population), mean |x|, fraction of\n"
            "zeros, NaN/Inf count.  A '!' line flags a tensor that is all zero, constant,\n"
            "holds NaN/Inf, is a BatchNormalization parameter still at its initial value\n"
            "(gamma=1, beta=0, mean=0, var=1), or matches the config's initializer the way a\n"
            "freshly built layer does.  \"stats NAME\" is short for \"stats layer NAME\".",
    .complete = complete_stats, .fn = cmd_stats,
};

const k2t_command k2t_cmd_hist = {
    .name = "hist", .group = "inspect", .min_args = 1, .max_args = 2, .flags = K2T_NEEDS_MODEL,
    .usage = "hist LAYER[/WEIGHT] [BINS]",
    .summary = "Draw a terminal histogram of a weight tensor.",
    .help = "WEIGHT defaults to the layer's first weight (the kernel).  BINS defaults to the\n"
            "hist.bins setting (20).  Example: \"hist conv2d_3/kernel\".",
    .complete = complete_hist, .fn = cmd_hist,
};
