/*
** model.c -- commands on the model as a whole: load, summary, layers, info.
*/
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"
#include "paths.h" /* k2t_shell_path: files relative to the running script */

/*------------------------------------------------------------------ load */

static int cmd_load(k2t_shell *sh, int argc, char **argv)
{
    k2t_err err = {0};
    char n1[32];
    (void)argc;
    k2t_model *m = k2t_model_load(k2t_shell_path(sh, argv[1], NULL, 0), &err);
    if (!m) return k2t_error(sh, 1, "%s", err.msg);
    k2t_shell_reset(sh, "new model");
    k2t_model_free(sh->model);
    sh->model = m;
    free(sh->set.bn_eps_layer); /* per-layer epsilons belong to the old model */
    sh->set.bn_eps_layer = NULL;
    if (m->has_arch) {
        int unsupported = 0;
        for (int i = 0; i < m->n_layers; i++) unsupported += m->layers[i].op == K2T_OP_UNSUPPORTED;
        k2t_printf(sh, "loaded %s: %s \"%s\", Keras %s, %d layers, %s params", m->path,
                   m->model_class, m->name, m->keras_version[0] ? m->keras_version : "?",
                   m->n_nodes, k2t_fmt_count(m->n_params, n1, sizeof n1));
        if (unsupported)
            k2t_printf(sh, " (%d unsupported layer%s: see \"summary\")", unsupported,
                       unsupported == 1 ? "" : "s");
        k2t_printf(sh, "\n");
    } else {
        k2t_printf(sh, "loaded %s: weights only (no model_config), Keras %s, %d layers, "
                   "%s params\n", m->path, m->keras_version[0] ? m->keras_version : "?",
                   m->n_layers, k2t_fmt_count(m->n_params, n1, sizeof n1));
    }
    for (int i = 0; i < m->n_notes; i++) k2t_printf(sh, "note: %s\n", m->notes[i]);
    k2t_classes_sidecar(sh, m->path); /* MODEL.classes: its own class names */
    k2t_var_num(sh, "params", (double)m->n_params);
    k2t_var_num(sh, "trainable_params", (double)m->n_trainable);
    k2t_var_num(sh, "layers", m->has_arch ? m->n_nodes : m->n_layers);
    return K2T_CMD_OK;
}

static void complete_h5(k2t_shell *sh, int argi, char **argv, const char *prefix,
                        k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi == 1) k2t_complete_files(prefix, ".h5|.keras", out);
}

/*--------------------------------------------------------------- summary */

static void rule(k2t_shell *sh, char c, int n)
{
    int W = k2t_width(sh);
    if (W > 0 && n > W) n = W;
    for (int i = 0; i < n; i++) k2t_printf(sh, "%c", c);
    k2t_printf(sh, "\n");
}

static void totals(k2t_shell *sh, const k2t_model *m)
{
    char a[32], b[32], c[32];
    k2t_printf(sh, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n",
               k2t_fmt_count(m->n_params, a, sizeof a),
               k2t_fmt_count(m->n_trainable, b, sizeof b),
               k2t_fmt_count(m->n_params - m->n_trainable, c, sizeof c));
}

static int summary_weights_only(k2t_shell *sh, const k2t_model *m)
{
    char sh1[64], cnt[32];
    k2t_printf(sh, "Weights file: %s (Keras %s): no architecture (save_weights file, no "
               "model_config)\n", m->path, m->keras_version[0] ? m->keras_version : "?");
    int w = 5;
    for (int i = 0; i < m->n_layers; i++) {
        int l = (int)strlen(m->layers[i].name);
        if (l > w) w = l;
    }
    k2t_printf(sh, "%-*s  %10s  %s\n", w, "Layer", "Param #", "Weights");
    rule(sh, '=', w + 50);
    for (int i = 0; i < m->n_layers; i++) {
        const k2t_layer *L = &m->layers[i];
        k2t_printf(sh, "%-*s  %10s", w, L->name, k2t_fmt_count(k2t_layer_params(L), cnt, sizeof cnt));
        for (int j = 0; j < L->n_w; j++)
            k2t_printf(sh, "%s%s %s", j ? ", " : "  ", L->w[j].name,
                       k2t_shape_str(&L->w[j].shape, 0, sh1, sizeof sh1));
        k2t_printf(sh, "\n");
    }
    rule(sh, '=', w + 50);
    totals(sh, m);
    return K2T_CMD_OK;
}

static int cmd_summary(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    char s1[96], s2[96], cnt[32];
    (void)argc, (void)argv;
    if (!m->has_arch) return summary_weights_only(sh, m);

    /* Column widths from the content, Keras's headings. */
    int wl = (int)strlen("Layer (type)"), ws = (int)strlen("Output shape (NHWC)"), wp = 7;
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_node *N = &m->nodes[i];
        const k2t_layer *L = k2t_node_layer(m, i);
        int l = (int)(strlen(N->name) + strlen(L->class_name) + 3 +
                      (L->op == K2T_OP_UNSUPPORTED ? 2 : 0));
        if (l > wl) wl = l;
        k2t_shape_str(&N->shape, 1, s1, sizeof s1);
        if ((int)strlen(s1) > ws) ws = (int)strlen(s1);
        k2t_fmt_count(k2t_layer_params(L), cnt, sizeof cnt);
        if ((int)strlen(cnt) > wp) wp = (int)strlen(cnt);
    }
    int width = wl + 2 * (ws + 2) + wp + 2 + 14;
    int tab = k2t_format_table(sh);
    /* Too wide for the screen: shapes without their blanks, "(None,32,32,16)". */
    int W = k2t_width(sh), compact = tab && W > 0 && width > W;
    if (tab) {
        k2t_printf(sh, "Model: \"%s\" (%s, Keras %s) from %s\n", m->name, m->model_class,
                   m->keras_version[0] ? m->keras_version : "?", m->path);
    }
    k2t_table t;
    k2t_table_init(&t, sh, 5);
    k2t_table_col(&t, 0, "Layer (type)", 0, wl, 20);
    k2t_table_col(&t, 1, "Output shape (NHWC)", K2T_COL_LATE, ws, 10);
    k2t_table_col(&t, 2, "Output shape (NCHW)", K2T_COL_LATE, ws, 10);
    k2t_table_col(&t, 3, "Param #", K2T_COL_RIGHT, wp, 0);
    k2t_table_col(&t, 4, "Connected to", 0, 0, 12);
    if (tab) t.rule_top = '_', t.rule_head = '=', t.rule_width = width;
    int unsupported = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_node *N = &m->nodes[i];
        const k2t_layer *L = k2t_node_layer(m, i);
        char lt[300], conn[1024] = "";
        k2t_shape nchw = k2t_shape_nchw(&N->shape);
        snprintf(lt, sizeof lt, "%s (%s)%s", N->name, L->class_name,
                 L->op == K2T_OP_UNSUPPORTED ? " !" : "");
        unsupported += L->op == K2T_OP_UNSUPPORTED;
        /* A shared layer's weights are counted at its first call. */
        int64_t p = k2t_find_node(m, L->name) == i ? k2t_layer_params(L) : 0;
        for (int j = 0; j < N->n_in; j++)
            snprintf(conn + strlen(conn), sizeof conn - strlen(conn), "%s%s", j ? ", " : "", m->nodes[N->in[j]].name);
        k2t_shape_str(&N->shape, 1, s1, sizeof s1);
        k2t_shape_str(&nchw, 1, s2, sizeof s2);
        for (char *q = compact ? s1 : NULL; q && (q = strstr(q, ", "));) memmove(q + 1, q + 2, strlen(q + 2) + 1);
        for (char *q = compact ? s2 : NULL; q && (q = strstr(q, ", "));) memmove(q + 1, q + 2, strlen(q + 2) + 1);
        const char *cells[5] = {lt, s1, s2,
                                k2t_fmt_count(p, cnt, sizeof cnt), conn};
        k2t_table_row(&t, cells);
    }
    k2t_table_print(&t);
    if (!tab) return K2T_CMD_OK;
    rule(sh, '=', width);
    totals(sh, m);
    if (unsupported) {
        k2t_printf(sh, "%s! unsupported (listed and inspectable, not executable):%s\n",
                   k2t_c_warn(sh), k2t_c_off(sh));
        for (int i = 0; i < m->n_layers; i++)
            if (m->layers[i].op == K2T_OP_UNSUPPORTED)
            {
                char t2[1024];
                snprintf(t2, sizeof t2, "%s: %s", m->layers[i].name, m->layers[i].unsupported);
                k2t_printf(sh, "  ");
                k2t_print_wrapped(sh, t2, 2, 4, 0);
            }
    }
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].op != K2T_OP_UNSUPPORTED && m->layers[i].unsupported)
        {
            char t2[1024];
            snprintf(t2, sizeof t2, "%s: %s", m->layers[i].name, m->layers[i].unsupported);
            k2t_printf(sh, "  note: ");
            k2t_print_wrapped(sh, t2, 8, 8, 0);
        }
    rule(sh, '_', width);
    return K2T_CMD_OK;
}

/*---------------------------------------------------------------- layers */

static int cmd_layers(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    const char *pat = argc > 1 ? argv[1] : "*";
    char s1[96], cnt[32];
    int shown = 0, wn = 5, wc = 5;
    for (int i = 0; i < m->n_layers; i++) {
        if ((int)strlen(m->layers[i].name) > wn) wn = (int)strlen(m->layers[i].name);
        if ((int)strlen(m->layers[i].class_name) > wc) wc = (int)strlen(m->layers[i].class_name);
    }
    for (int i = 0; i < m->n_nodes; i++)
        if ((int)strlen(m->nodes[i].name) > wn) wn = (int)strlen(m->nodes[i].name);
    k2t_table t;
    char num[24];
    k2t_table_init(&t, sh, m->has_arch ? 6 : 3);
    k2t_table_col(&t, 0, "#", K2T_COL_RIGHT, 4, 0);
    k2t_table_col(&t, 1, "layer", 0, wn, 12);
    if (m->has_arch) {
        k2t_table_col(&t, 2, "class", 0, wc, 10);
        k2t_table_col(&t, 3, "output (NHWC)", K2T_COL_LATE, 20, 10);
        k2t_table_col(&t, 4, "params", K2T_COL_RIGHT, 9, 0);
        k2t_table_col(&t, 5, "", 0, 0, 6);
        for (int i = 0; i < m->n_nodes; i++) {
            const k2t_node *N = &m->nodes[i];
            const k2t_layer *L = k2t_node_layer(m, i);
            if (fnmatch(pat, N->name, 0) != 0 && fnmatch(pat, L->class_name, 0) != 0) continue;
            int64_t p = k2t_find_node(m, L->name) == i ? k2t_layer_params(L) : 0;
            snprintf(num, sizeof num, "%d", i);
            const char *cells[6] = {num, N->name, L->class_name, k2t_shape_str(&N->shape, 1, s1, sizeof s1),
                                    k2t_fmt_count(p, cnt, sizeof cnt), L->op == K2T_OP_UNSUPPORTED ? "(unsupported)" : ""};
            k2t_table_row(&t, cells);
            shown++;
        }
    } else {
        k2t_table_col(&t, 2, "params", K2T_COL_RIGHT, 9, 0);
        for (int i = 0; i < m->n_layers; i++) {
            const k2t_layer *L = &m->layers[i];
            if (fnmatch(pat, L->name, 0) != 0) continue;
            snprintf(num, sizeof num, "%d", i);
            const char *cells[3] = {num, L->name, k2t_fmt_count(k2t_layer_params(L), cnt, sizeof cnt)};
            k2t_table_row(&t, cells);
            shown++;
        }
    }
    if (shown) k2t_table_print(&t);
    else free(t.cells), free(t.note), free(t.head), free(t.flags), free(t.pref), free(t.min); /* nothing to print */
    if (!shown) return k2t_error(sh, 1, "layers: no layer matches '%s'", pat);
    return K2T_CMD_OK;
}

static void complete_layer_arg(k2t_shell *sh, int argi, char **argv, const char *prefix,
                               k2t_strlist *out)
{
    (void)argv;
    if (argi == 1) k2t_complete_layers(sh, prefix, out);
}

/*------------------------------------------------------------------ info */

/* "info" alone: the model as a whole, with the format it was read from. */
static int info_model(k2t_shell *sh, const k2t_model *m)
{
    char a[32], b[32];
    int unsupported = 0;
    for (int i = 0; i < m->n_layers; i++) unsupported += m->layers[i].op == K2T_OP_UNSUPPORTED;
    k2t_printf(sh, "%smodel %s%s\n", k2t_c_bold(sh), m->path, k2t_c_off(sh));
    k2t_printf(sh, "  format:     %s\n", m->archive ? "Keras 3 archive (.keras)"
                                         : m->has_arch ? "legacy HDF5 (.h5)" : "legacy HDF5 weights only (save_weights)");
    k2t_printf(sh, "  keras:      %s%s%s\n", m->keras_version[0] ? m->keras_version : "?",
               m->backend[0] ? ", backend " : "", m->backend);
    if (m->has_arch) {
        k2t_printf(sh, "  class:      %s \"%s\"\n", m->model_class, m->name);
        k2t_printf(sh, "  layers:     %d (%d graph nodes, %d input%s, %d output%s)\n", m->n_layers, m->n_nodes,
                   m->n_inputs, m->n_inputs == 1 ? "" : "s", m->n_outputs, m->n_outputs == 1 ? "" : "s");
        if (unsupported)
            k2t_printf(sh, "  unsupported: %d layer%s (see \"summary\")\n", unsupported, unsupported == 1 ? "" : "s");
    } else {
        k2t_printf(sh, "  layers:     %d (weights only)\n", m->n_layers);
    }
    k2t_printf(sh, "  params:     %s (%s trainable)\n", k2t_fmt_count(m->n_params, a, sizeof a),
               k2t_fmt_count(m->n_trainable, b, sizeof b));
    return K2T_CMD_OK;
}

/* A Lambda's function, as the engine decodes it. */
static void info_lambda(k2t_shell *sh, const k2t_layer *L)
{
    k2t_lambda_info li;
    if (!k2t_lambda_describe(L, &li)) return;
    switch (li.kind) {
    case K2T_LAMBDA_BYTECODE:
        k2t_printf(sh, "  function:   Python bytecode (%zu bytes), marshalled: only the Python version that wrote "
                   "it can load it\n", li.code_bytes);
        k2t_printf(sh, "  names:      ");
        for (int i = 0; i < li.n_names; i++) k2t_printf(sh, "%s%s", i ? ", " : "", li.names[i]);
        k2t_printf(sh, "%s\n", li.n_names ? "" : "(none found)");
        break;
    case K2T_LAMBDA_SOURCE:
        k2t_printf(sh, "  function:   source: %s\n", li.text);
        break;
    case K2T_LAMBDA_FUNCTION:
        k2t_printf(sh, "  function:   %s%s%s\n", li.text, li.module ? " from module " : "", li.module ? li.module : "");
        break;
    default:
        k2t_printf(sh, "  function:   (not decoded)\n");
    }
    k2t_lambda_info_free(&li);
}

/* A gate row's Keras block ("kernel[:, 0:32]", "bias[1, 0:32]") and its
** PyTorch rows ("gru.weight_ih_l0[32:64]"). */
static void gate_cells(const k2t_model *m, const k2t_layer *L, const k2t_gate_row *R, char *kc, size_t kn,
                       char *tc, size_t tn)
{
    const k2t_weight *w = R->weight ? k2t_layer_weight(L, R->weight) : NULL;
    (void)m;
    if (!w && R->fill == 0) snprintf(kc, kn, "(none: zeros)");
    else if (!w) snprintf(kc, kn, "(none: all %g)", (double)R->fill);
    else if (R->row >= 0) snprintf(kc, kn, "%s[%d, %lld:%lld]", R->weight, R->row, (long long)R->k0, (long long)R->k1);
    else if (w->shape.ndim == 2) snprintf(kc, kn, "%s[:, %lld:%lld]", R->weight, (long long)R->k0, (long long)R->k1);
    else snprintf(kc, kn, "%s[%lld:%lld]", R->weight, (long long)R->k0, (long long)R->k1);
    snprintf(tc, tn, "%s[%lld:%lld]", R->torch, (long long)R->t0, (long long)R->t1);
}

/* A recurrent layer's gates: each gate's block of every weight, in Keras's
** columns and in the PyTorch tensor's rows, with its statistics (a block
** never loaded shows as zeros, or as another block's numbers). */
static void info_gates(k2t_shell *sh, const k2t_model *m, const k2t_layer *L)
{
    k2t_gates g;
    if (k2t_layer_gates(m, L, &g) < 1) return;
    char ks[64] = "", ts[64] = "", kc[160], tc[224];
    /* Keras's column blocks in order; PyTorch's row blocks in order (of the first tensor) */
    for (int j = 0; j < g.n_gates; j++) {
        size_t a = strlen(ks), b = strlen(ts);
        snprintf(ks + a, sizeof ks - a, "%s%s", j ? ", " : "", g.keras[j]);
        for (int i = 0; i < g.n && i < g.n_gates; i++)
            if (g.row[i].t0 == j * g.units) snprintf(ts + b, sizeof ts - b, "%s%s", j ? ", " : "", g.torch[g.row[i].gate]);
    }
    k2t_printf(sh, "  gates:      %s, %lld units: Keras's columns %s; nn.%s's rows %s\n", g.module,
               (long long)g.units, ks, g.module, ts);
    int wk = 5, wt = 7, halves = 1;
    for (int i = 0; i < g.n; i++) {
        gate_cells(m, L, &g.row[i], kc, sizeof kc, tc, sizeof tc);
        if ((int)strlen(kc) > wk) wk = (int)strlen(kc);
        if ((int)strlen(tc) > wt) wt = (int)strlen(tc);
        if (g.row[i].backward) halves = 2;
    }
    for (int half = 0; half < halves; half++) {
        if (halves > 1) k2t_printf(sh, "    %s:\n", half ? "backward" : "forward");
        k2t_printf(sh, "    %-14s %-*s  %-*s  %9s  %9s\n", "gate", wk, "keras", wt, "pytorch", "mean|w|", "mean");
        for (int j = 0; j < g.n_gates; j++) {
            char gl[64];
            int first = 1;
            snprintf(gl, sizeof gl, "%s %s", g.keras[j], g.role[j]);
            for (int i = 0; i < g.n; i++) {
                const k2t_gate_row *R = &g.row[i];
                if (R->gate != j || R->backward != half) continue;
                gate_cells(m, L, R, kc, sizeof kc, tc, sizeof tc);
                k2t_printf(sh, "    %-14s %-*s  %-*s  %9.4f  %9.4f\n", first ? gl : "", wk, kc, wt, tc,
                           R->mean_abs, R->mean);
                first = 0;
            }
        }
    }
}

static int cmd_info(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    char s1[96], s2[96], cnt[32], tname[300];
    if (argc < 2) return info_model(sh, m);
    int raw = argc > 2 && strcmp(argv[2], "--json") == 0;
    /* gdb's "info b", "info break": a prefix of breakpoints that names no layer */
    if (argc == 2 && !strncmp(argv[1], "breakpoints", strlen(argv[1])) && k2t_find_layer(m, argv[1]) < 0 &&
        k2t_find_node(m, argv[1]) < 0)
        return k2t_info_breakpoints(sh);
    /* "info input": the current input, as "input" alone shows it */
    if (argc == 2 && !strcmp(argv[1], "input") && k2t_find_layer(m, argv[1]) < 0 && k2t_find_node(m, argv[1]) < 0) {
        k2t_shell_print_input(sh);
        return K2T_CMD_OK;
    }
    if (argc > 2 && !raw) return k2t_error(sh, 2, "info: unknown option '%s' (try --json)", argv[2]);
    int li = k2t_arg_layer(sh, 1, argv[1]);
    if (li < 0) return K2T_CMD_ERR;
    const k2t_layer *L = &m->layers[li];
    if (m->has_arch)
        k2t_printf(sh, "%slayer %s (%s)%s", k2t_c_bold(sh), L->name, L->class_name, k2t_c_off(sh));
    else
        k2t_printf(sh, "%slayer %s%s (weights only: class unknown)", k2t_c_bold(sh), L->name,
                   k2t_c_off(sh));
    if (L->scope) k2t_printf(sh, " in nested model '%s'", L->scope);
    k2t_printf(sh, "\n");
    if (L->op == K2T_OP_UNSUPPORTED)
        k2t_printf(sh, "  %sunsupported:%s %s (listed and inspectable; execution refused)\n",
                   k2t_c_warn(sh), k2t_c_off(sh), L->unsupported);
    else if (L->unsupported)
        k2t_printf(sh, "  note:       %s\n", L->unsupported);
    info_lambda(sh, L);
    if (m->has_arch) {
        char desc[1024];
        k2t_layer_describe(m, L, desc, sizeof desc);
        k2t_printf(sh, "  config:     %s\n", desc[0] ? desc : "(no parameters)");
        k2t_printf(sh, "  trainable:  %s\n", L->trainable ? "yes" : "no");
        for (int i = 0; i < m->n_nodes; i++) {
            const k2t_node *N = &m->nodes[i];
            if (N->layer != li) continue;
            if (N->part) /* tensor j of a call (return_state): its own node */
                k2t_printf(sh, "  tensor %s (node %d): output %d of the call\n", N->name, i, N->part);
            else if (L->n_calls > 1) k2t_printf(sh, "  call %s (node %d):\n", N->name, i);
            else k2t_printf(sh, "  node:       %d of %d (topological order)\n", i, m->n_nodes);
            k2t_printf(sh, "  inbound:    ");
            if (!N->n_in) k2t_printf(sh, "(none: model input)");
            for (int j = 0; j < N->n_in; j++) {
                const k2t_node *P = &m->nodes[N->in[j]];
                k2t_printf(sh, "%s%s %s", j ? ", " : "", P->name, k2t_shape_str(&P->shape, 1, s1, sizeof s1));
            }
            k2t_printf(sh, "\n  outbound:   ");
            if (!N->n_out) k2t_printf(sh, "(none)");
            for (int j = 0; j < N->n_out; j++) k2t_printf(sh, "%s%s", j ? ", " : "", m->nodes[N->out[j]].name);
            k2t_shape nchw = k2t_shape_nchw(&N->shape);
            k2t_printf(sh, "%s\n  output:     %s NHWC, %s NCHW\n", N->is_output ? " (model output)" : "",
                       k2t_shape_str(&N->shape, 1, s1, sizeof s1), k2t_shape_str(&nchw, 1, s2, sizeof s2));
        }
    }
    k2t_printf(sh, "  params:     %s\n", k2t_fmt_count(k2t_layer_params(L), cnt, sizeof cnt));
    if (L->n_w) {
        int wn = 6;
        for (int j = 0; j < L->n_w; j++)
            if ((int)strlen(L->w[j].name) > wn) wn = (int)strlen(L->w[j].name);
        k2t_printf(sh, "  weights:    %-*s  %-16s  %-8s  %-10s  %s\n", wn, "keras", "shape", "dtype",
                   "trainable", "pytorch");
        for (int j = 0; j < L->n_w; j++) {
            const k2t_weight *w = &L->w[j];
            k2t_shape ts;
            k2t_printf(sh, "              %-*s  %-16s  %-8s  %-10s  ", wn, w->name,
                       k2t_shape_str(&w->shape, 0, s1, sizeof s1), w->dtype, w->trainable ? "yes" : "no");
            if (k2t_torch_param(m, L, j, tname, sizeof tname, &ts) == 0)
                k2t_printf(sh, "%s %s\n", tname, k2t_shape_str(&ts, 0, s2, sizeof s2));
            else
                k2t_printf(sh, "-\n");
        }
    }
    info_gates(sh, m, L);
    if (raw) k2t_printf(sh, "  keras config: %s\n", L->config_json);
    return K2T_CMD_OK;
}

static void complete_info(k2t_shell *sh, int argi, char **argv, const char *prefix,
                          k2t_strlist *out)
{
    (void)argv;
    if (argi == 1) {
        k2t_complete_layers(sh, prefix, out);
        k2t_complete_words("breakpoints", prefix, out);
    } else if (argi == 2) {
        k2t_complete_words("--json", prefix, out);
    }
}

/*----------------------------------------------------------------- table */

const k2t_command k2t_cmd_load = {
    .name = "load", .aliases = "open", .group = "model", .min_args = 1, .max_args = 1,
    .usage = "load FILE.h5",
    .summary = "Load a Keras .h5 model (or a weights-only file), replacing the current one.",
    .help = "Reads Keras 2.x legacy H5 files as model.save('x.h5') writes them, Keras 3's\n"
            "legacy H5, Keras 3 (and 2.13-2.15) .keras archives, told apart by content, and\n"
            "save_weights files (weights only: stats work, execution does not).\n"
            "Layers k2t cannot execute are kept in the graph, inspectable, and reported.",
    .complete = complete_h5, .fn = cmd_load,
};

const k2t_command k2t_cmd_summary = {
    .name = "summary", .group = "model", .min_args = 0, .max_args = 0, .flags = K2T_NEEDS_MODEL,
    .usage = "summary",
    .summary = "Print a Keras-style table of the layers with NHWC and NCHW shapes and parameter counts.",
    .help = "One row per layer call in execution order: name (class), output shape as Keras\n"
            "(NHWC) and as a PyTorch port holds it (NCHW), parameters, and the layers it reads.\n"
            "Totals count as Keras does: BatchNormalization moving statistics are non-trainable.",
    .fn = cmd_summary,
};

const k2t_command k2t_cmd_layers = {
    .name = "layers", .aliases = "l", .group = "model", .min_args = 0, .max_args = 1, .flags = K2T_NEEDS_MODEL,
    .usage = "layers [PATTERN]",
    .summary = "List the layers, optionally those whose name or class matches a glob PATTERN.",
    .help = "Example: \"layers conv*\" or \"layers BatchNormalization\".",
    .complete = complete_layer_arg, .fn = cmd_layers,
};

const k2t_command k2t_cmd_info = {
    .name = "info", .aliases = "i", .group = "model", .min_args = 0, .max_args = 2, .flags = K2T_NEEDS_MODEL,
    .usage = "info [LAYER [--json]] | info breakpoints | info input",
    .summary = "Show the model (format, Keras version) or one layer: config, inbound and outbound layers, weights.",
    .help = "Each weight is shown with its Keras shape and the name and shape it has in the\n"
            "state_dict of k2t's PyTorch port (conv kernels OIHW, Dense transposed, BN running_*).\n"
            "--json adds the layer's config exactly as the file stores it.  \"info breakpoints\"\n"
            "lists the breakpoints (unless a layer is named breakpoints); \"info input\" each model\n"
            "input's source and shape.  Without LAYER: the model's file format (legacy .h5 or\n"
            "Keras 3 .keras archive), Keras version, class, layers and parameters.  A Lambda\n"
            "shows what it holds: the identifiers its marshalled bytecode names, its source, or\n"
            "the function it wraps.  A recurrent layer (LSTM, GRU, SimpleRNN, Bidirectional: both\n"
            "halves) shows its gates: per gate the columns of each weight in Keras's order (LSTM\n"
            "i, f, c, o; GRU z, r, h and reset_after's two bias rows), the rows of the PyTorch\n"
            "tensor that hold them (nn.GRU orders r, z, n), mean|w| and mean of each block.",
    .complete = complete_info, .fn = cmd_info,
};
