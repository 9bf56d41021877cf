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

static void stats_header(k2t_shell *sh, int wn)
{
    k2t_printf(sh, "%s  %-*s  %-16s  %11s  %11s  %12s  %11s  %11s  %7s  %7s%s\n", k2t_c_bold(sh),
               wn, "weight", "shape", "min", "max", "mean", "std", "mean|x|", "zeros", "nan/inf",
               k2t_c_off(sh));
}

/* One row, plus a line for the flags.  Returns 1 when flagged. */
static int stats_row(k2t_shell *sh, const k2t_layer *L, int j, const char *label, int wn)
{
    k2t_wstats st;
    char s1[64];
    k2t_weight_stats(sh->model, L, j, &st);
    k2t_printf(sh, "  %-*s  %-16s  %11g  %11g  %12g  %11g  %11g  %6.2f%%  %7lld\n", wn, label,
               k2t_shape_str(&L->w[j].shape, 0, s1, sizeof s1), st.min, st.max, st.mean, st.std,
               st.mean_abs, 100 * st.zero_frac, (long long)(st.n_nan + st.n_inf));
    if (st.flags) {
        k2t_printf(sh, "  %s! %s%s\n", k2t_c_warn(sh), st.why, k2t_c_off(sh));
        return 1;
    }
    return 0;
}

static int stats_layer(k2t_shell *sh, int li)
{
    const k2t_layer *L = &sh->model->layers[li];
    int wn = 6;
    k2t_printf(sh, "layer %s (%s)\n", L->name, L->class_name);
    if (!L->n_w) {
        k2t_printf(sh, "  no weights\n");
        return K2T_CMD_OK;
    }
    for (int j = 0; j < L->n_w; j++)
        if ((int)strlen(L->w[j].name) > wn) wn = (int)strlen(L->w[j].name);
    stats_header(sh, wn);
    for (int j = 0; j < L->n_w; j++) stats_row(sh, L, j, L->w[j].name, wn);
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
    stats_header(sh, wn);
    for (int i = 0; i < m->n_layers; i++) {
        const k2t_layer *L = &m->layers[i];
        for (int j = 0; j < L->n_w; j++) {
            snprintf(label, sizeof label, "%s/%s", L->name, L->w[j].name);
            flagged += stats_row(sh, L, j, label, wn);
            tensors++;
        }
    }
    k2t_var_num(sh, "flagged", flagged);
    k2t_printf(sh, "%d weight tensors, %s params; %d flagged%s\n", tensors,
               k2t_fmt_count(m->n_params, cnt, sizeof cnt), flagged,
               flagged ? " (see '!' lines: weights that look never trained or never loaded)" : "");
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
