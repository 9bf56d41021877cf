/*
** explain.c -- what a PyTorch port gets wrong, and why: check, explain.
**
** check walks the graph in execution order and prints every finding of
** every pitfall (engine/diagnose.c: the same text and fix diff and compare
** print), tagged with its topic and followed by the PyTorch code that
** matches Keras.  The numbers (TF's pads, epsilons, shapes) come from the
** loaded model and its input size, never from a table.
**
** explain teaches one pitfall at a time: its paragraphs from the pitfall
** table (engine/pitfall.c), the same pitfall on the loaded model's layers
** (check's findings for that topic, plus what only the topic needs), what
** the pitfall does to the current input when there is one (measured here
** by running the model both ways), and the k2t setting that reproduces it.
*/
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

/*--------------------------------------------------------- the reporter */

typedef struct chk {
    k2t_shell *sh;
    const k2t_model *m;
    k2t_diag *d;
    int only;              /* report this pitfall only, or -1 for every one */
    int n_hazards, n_layers, n_lines;
    int count[K2T_PIT_COUNT];
} chk;

/* Every finding at node i, under its node's header. */
static void check_node(chk *c, int i)
{
    const k2t_model *m = c->m;
    const k2t_node *N = &m->nodes[i];
    k2t_finding f[32];
    char s1[96], s2[96];
    unsigned mask = c->only < 0 ? K2T_PIT_ALL : K2T_PIT_BIT(c->only);
    int n = k2t_findings(c->d, i, mask, NULL, NULL, f, 32), hazardous = 0;
    if (n > 32) n = 32;
    if (!n) return;
    k2t_printf(c->sh, "%s%s%s (%s)", k2t_c_bold(c->sh), N->name, k2t_c_off(c->sh), k2t_node_layer(m, i)->class_name);
    if (N->n_in == 1) k2t_printf(c->sh, " %s ->", k2t_shape_str(&m->nodes[N->in[0]].shape, 0, s1, sizeof s1));
    else if (N->n_in > 1) k2t_printf(c->sh, " %d inputs ->", N->n_in);
    k2t_printf(c->sh, " %s\n", k2t_shape_str(&N->shape, 0, s2, sizeof s2));
    for (int k = 0; k < n; k++) {
        k2t_print_finding(c->sh, &f[k], K2T_FINDING_CHECK);
        c->n_lines++;
        if (!f[k].hazard) continue;
        c->n_hazards++;
        c->count[f[k].pit]++;
        hazardous = 1;
    }
    c->n_layers += hazardous;
}

static void chk_run(chk *c, k2t_shell *sh, int only)
{
    memset(c, 0, sizeof *c);
    c->sh = sh, c->m = sh->model, c->only = only;
    c->d = k2t_diag_new(sh->model);
    for (int i = 0; i < c->m->n_nodes; i++) check_node(c, i);
    k2t_diag_free(c->d);
    c->d = NULL;
}

/*------------------------------------------------------------------ check */

static int cmd_check(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    char s1[96];
    chk c;
    (void)argc, (void)argv;
    k2t_printf(sh, "check %s:", m->path);
    for (int j = 0; j < m->n_inputs; j++)
        k2t_printf(sh, "%s input %s %s", j ? "," : "", m->nodes[m->inputs[j]].name,
                   k2t_shape_str(&m->nodes[m->inputs[j]].shape, 1, s1, sizeof s1));
    k2t_printf(sh, "\nwhere a straightforward PyTorch port differs from Keras, layer by layer:\n");
    chk_run(&c, sh, -1);
    if (!c.n_hazards) {
        k2t_printf(sh, "no hazards: a straightforward PyTorch port computes what Keras does\n");
    } else {
        k2t_printf(sh, "%d hazard%s in %d layer%s (", c.n_hazards, c.n_hazards == 1 ? "" : "s", c.n_layers,
                   c.n_layers == 1 ? "" : "s");
        int k = 0;
        for (int t = 0; t < K2T_PIT_COUNT; t++)
            if (c.count[t]) k2t_printf(sh, "%s%s %d", k++ ? ", " : "", k2t_pitfalls[t].topic, c.count[t]);
        k2t_printf(sh, ")\n\"explain TOPIC\" tells why each one matters\n");
    }
    k2t_var_num(sh, "hazards", c.n_hazards);
    return K2T_CMD_OK;
}

/*----------------------------------------------------------------- topics */

static void print_block(k2t_shell *sh, const char *text, const char *indent)
{
    for (const char *p = text; *p;) {
        size_t l = strcspn(p, "\n");
        if (l) k2t_printf(sh, "%s%.*s\n", indent, (int)l, p);
        else k2t_printf(sh, "\n");
        p += l;
        if (*p == '\n') p++;
    }
}

/* check's lines for one pitfall; returns how many were shown. */
static int model_lines(k2t_shell *sh, int tag)
{
    chk c;
    chk_run(&c, sh, tag);
    return c.n_lines;
}

/* Layers with moving statistics (BatchNormalization), counted once each. */
static int count_stats(const k2t_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        n += k2t_layer_weight(L, "moving_variance") && k2t_find_node(m, L->name) == i;
    }
    return n;
}

static void fminmax(const k2t_weight *w, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; w && i < w->size; i++) {
        if (w->data[i] < *lo) *lo = w->data[i];
        if (w->data[i] > *hi) *hi = w->data[i];
    }
}

/* The padding a straightforward port writes for 'same'. */
static int naive_pad(int k, int d)
{
    int keff = (k - 1) * d + 1;
    return keff % 2 ? keff / 2 : 0;
}

/* What the pitfall does to the current input, measured: the model run as
** Keras does and with only this pitfall at a PyTorch port's value. */
static void measured(k2t_shell *sh, k2t_pit p)
{
    const k2t_pitfall *P = &k2t_pitfalls[p];
    k2t_emu keras = sh->set.emu, port;
    k2t_err err = {0};
    k2t_measure ma, mb;
    char v[64];
    if (!P->key || !P->in_profiles || !sh->in.n || !sh->model->has_arch) return;
    for (int t = 0; t < K2T_PIT_COUNT; t++) /* every emulated pitfall at Keras's value */
        if (k2t_pitfalls[t].in_profiles) {
            int pre = keras.preprocess;
            keras = k2t_emu_keras;
            keras.preprocess = pre;
        }
    port = keras;
    if (k2t_emu_set(&port, p, p == K2T_PIT_BN_EPS ? "torch" : P->names[1], &err) != K2T_OK) return;
    if (k2t_shell_measure(sh, &keras, &ma) != K2T_CMD_OK || k2t_shell_measure(sh, &port, &mb) != K2T_CMD_OK)
        return;
    k2t_printf(sh, "\nMeasured on the current input (%s):\n", sh->in.desc);
    k2t_emu_value(&port, p, v, sizeof v);
    if (ma.labelled)
        k2t_printf(sh, "  Keras %d/%d correct; with %s %s, %d/%d\n", ma.correct, ma.n, P->key, v, mb.correct, mb.n);
    k2t_printf(sh, "  with %s %s the model's output moves by up to %.3g (largest output %.3g)\n", P->key, v,
               k2t_measure_diff(&ma, &mb), ma.max_abs);
    k2t_measure_free(&ma);
    k2t_measure_free(&mb);
}

static int on_transpose(k2t_shell *sh, int tag)
{
    int n = model_lines(sh, tag);
    if (n) measured(sh, K2T_PIT_TRANSPOSE);
    return n;
}

static int on_bn_eps(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    int n = model_lines(sh, tag);
    if (!n) return 0;
    int shown = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        const k2t_weight *v = k2t_layer_weight(L, "moving_variance");
        if (!v || k2t_find_node(m, L->name) != i) continue;
        double lo, hi;
        fminmax(v, &lo, &hi);
        if (!(lo >= 0) || L->cfg.eps <= 0) continue;
        if (!shown++)
            k2t_printf(sh, "\nThe effect is largest where the moving variance is smallest. With eps=1e-5 "
                       "each channel's\nscale gamma/sqrt(var + eps) grows by sqrt((var + %g)/(var + 1e-5)):\n",
                       L->cfg.eps);
        k2t_printf(sh, "  %-24s smallest moving_variance %-10.4g scale %+.3g%%\n", L->name, lo,
                   100 * (sqrt((lo + L->cfg.eps) / (lo + 1e-5)) - 1));
    }
    measured(sh, K2T_PIT_BN_EPS);
    return n;
}

static int on_bn_mode(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    (void)tag;
    int n = count_stats(m), drop = 0;
    for (int i = 0; i < m->n_nodes; i++) drop += strstr(k2t_node_layer(m, i)->class_name, "Dropout") != NULL;
    if (!n) {
        k2t_printf(sh, "  no BatchNormalization layer: eval() matters here only for Dropout (%d layer%s)\n",
                   drop, drop == 1 ? "" : "s");
        return 1;
    }
    k2t_printf(sh, "  %d BatchNormalization layer%s; in train mode each one discards these stored "
               "statistics:\n", n, n == 1 ? "" : "s");
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        const k2t_weight *mu = k2t_layer_weight(L, "moving_mean"), *var = k2t_layer_weight(L, "moving_variance");
        if (!var || k2t_find_node(m, L->name) != i) continue;
        double a, b, v0, v1;
        fminmax(mu, &a, &b);
        fminmax(var, &v0, &v1);
        k2t_printf(sh, "  %-24s %4lld channels  moving_mean %.4g..%.4g  moving_variance %.4g..%.4g\n",
                   m->nodes[i].name, mu ? (long long)mu->size : 0LL, a, b, v0, v1);
    }
    if (drop) k2t_printf(sh, "  and %d Dropout layer%s, active in train mode\n", drop, drop == 1 ? "" : "s");
    measured(sh, K2T_PIT_BN_MODE);
    return 1;
}

/* "2i", "2i+2", "2i-1": the index s*v + off. */
static const char *term(char *buf, size_t n, int s, char v, int off)
{
    if (s == 1) snprintf(buf, n, "%c", v);
    else snprintf(buf, n, "%d%c", s, v);
    if (off) snprintf(buf + strlen(buf), n - strlen(buf), "%+d", off);
    return buf;
}

static int on_padding(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    int n = model_lines(sh, tag);
    /* Where the first asymmetric convolution window reads, both ways. */
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        k2t_win g;
        int rank = 2;
        if (!k2t_layer_weight(L, "kernel") || L->cfg.padding != K2T_PAD_SAME || !m->nodes[i].n_in ||
            k2t_layer_win(L, &m->nodes[m->nodes[i].in[0]].shape, &g, &rank) < 0 || rank != 2 ||
            (g.pt == g.pb && g.pl == g.pr))
            continue;
        int qh = naive_pad(g.kh, g.dh), qw = naive_pad(g.kw, g.dw);
        int eh = (g.kh - 1) * g.dh, ew = (g.kw - 1) * g.dw;
        char a[32], b[32], c1[32], d[32], e[32], f[32], h[32], k[32], pp[32];
        k2t_printf(sh, "\nOutput pixel (i, j) of %s reads input rows %s..%s and columns %s..%s in Keras;\n"
                   "with padding=%s it reads rows %s..%s and columns %s..%s: ", m->nodes[i].name,
                   term(a, sizeof a, g.sh, 'i', -g.pt), term(b, sizeof b, g.sh, 'i', eh - g.pt),
                   term(c1, sizeof c1, g.sw, 'j', -g.pl), term(d, sizeof d, g.sw, 'j', ew - g.pl),
                   (qh == qw ? snprintf(pp, sizeof pp, "%d", qh) : snprintf(pp, sizeof pp, "(%d, %d)", qh, qw), pp), term(e, sizeof e, g.sh, 'i', -qh), term(f, sizeof f, g.sh, 'i', eh - qh),
                   term(h, sizeof h, g.sw, 'j', -qw), term(k, sizeof k, g.sw, 'j', ew - qw));
        int up = qh - g.pt, left = qw - g.pl;
        if (up == left)
            k2t_printf(sh, "the trained weights\nmeet a window %d pixel%s higher and %d further left.\n",
                       up, up == 1 ? "" : "s", left);
        else
            k2t_printf(sh, "the trained weights\nmeet a window %d row%s higher and %d column%s further left.\n",
                       up, up == 1 ? "" : "s", left, left == 1 ? "" : "s");
        break;
    }
    measured(sh, K2T_PIT_PADDING);
    return n;
}

static int on_flatten(k2t_shell *sh, int tag)
{
    chk c;
    chk_run(&c, sh, tag);
    if (c.n_lines && !c.count[tag])
        k2t_printf(sh, "\nSo \"set flatten torch\" changes nothing on this model.\n");
    else if (c.n_lines)
        measured(sh, K2T_PIT_FLATTEN);
    return c.n_lines;
}

static int on_preprocess(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    char s1[96];
    for (int j = 0; j < m->n_inputs; j++)
        k2t_printf(sh, "  input %s %s\n", m->nodes[m->inputs[j]].name,
                   k2t_shape_str(&m->nodes[m->inputs[j]].shape, 1, s1, sizeof s1));
    if (!model_lines(sh, tag))
        k2t_printf(sh, "  no Rescaling layer: the scaling lives in the training script, not in this file\n");
    k2t_printf(sh, "  k2t's preprocess setting is now %s.\n", k2t_pre_names[sh->set.emu.preprocess]);
    if (sh->in.n && k2t_shell_input0(sh) && k2t_shell_input0(sh)->pixels && sh->in.labels) {
        /* Each scaling on the current pixels: the one that works is the one it was trained with. */
        k2t_printf(sh, "\nMeasured on the current input (%s):\n ", sh->in.desc);
        for (int p = 0; p < 5; p++) {
            k2t_emu e = k2t_emu_keras;
            k2t_measure r;
            e.preprocess = p;
            if (k2t_shell_measure(sh, &e, &r) != K2T_CMD_OK) break;
            k2t_printf(sh, " %s %d/%d%s", k2t_pre_names[p], r.correct, r.n, p < 4 ? "," : "\n");
            k2t_measure_free(&r);
        }
    }
    return 1;
}

static int on_init(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    int tensors = 0, flagged = 0;
    (void)tag;
    for (int li = 0; li < m->n_layers; li++) {
        const k2t_layer *L = &m->layers[li];
        for (int j = 0; j < L->n_w; j++) {
            k2t_wstats st;
            k2t_weight_stats(m, L, j, &st);
            tensors++;
            if (!st.flags) continue;
            flagged++;
            k2t_printf(sh, "  %s/%s: %s\n", L->name, L->w[j].name, st.why);
        }
    }
    if (!flagged)
        k2t_printf(sh, "  none of its %d weight tensors looks untrained or unloaded (stats all flags none)\n",
                   tensors);
    else
        k2t_printf(sh, "  %d of %d weight tensors flagged: a port that copies them faithfully is still "
                   "wrong\n", flagged, tensors);
    if (!m->has_arch) return 1;
    k2t_block *b = NULL;
    int nb = k2t_find_blocks(m, &b), np = 0;
    for (int k = 0; k < nb; k++) {
        if (b[k].shortcut < 0) continue;
        k2t_printf(sh, "%s%s", np++ ? ", " : "  projection shortcuts, easy to leave out of a hand-written "
                   "weight mapping: ", m->nodes[b[k].shortcut].name);
    }
    if (np) k2t_printf(sh, "\n");
    k2t_blocks_free(b, nb);
    return 1;
}

/* One line for a node of a shortcut: name, class and what matters. */
static void describe_node(k2t_shell *sh, int i)
{
    const k2t_model *m = sh->model;
    const k2t_layer *L = k2t_node_layer(m, i);
    char s1[96], wd[64], pd[96];
    k2t_printf(sh, "%s (%s", m->nodes[i].name, L->class_name);
    k2t_win g;
    int rank = 2;
    if (m->nodes[i].n_in && L->cfg.kernel[0] > 0 &&
        k2t_layer_win(L, &m->nodes[m->nodes[i].in[0]].shape, &g, &rank) == 0) {
        if (rank == 1) snprintf(wd, sizeof wd, "%d, stride %d", g.kw, g.sw);
        else snprintf(wd, sizeof wd, "%dx%d, stride %d", g.kh, g.kw, g.sw);
        k2t_printf(sh, " %s, '%s'", wd,
                   L->cfg.padding == K2T_PAD_SAME ? "same" : L->cfg.padding == K2T_PAD_CAUSAL ? "causal"
                                                                                          : "valid");
        if (L->cfg.padding != K2T_PAD_VALID) {
            if (!(g.pt | g.pb | g.pl | g.pr)) k2t_printf(sh, ": TF pads nothing");
            else {
                if (rank == 1) snprintf(pd, sizeof pd, "left %d, right %d", g.pl, g.pr);
                else snprintf(pd, sizeof pd, "top %d, bottom %d, left %d, right %d", g.pt, g.pb, g.pl, g.pr);
                k2t_printf(sh, ": TF pads %s", pd);
            }
        }
    }
    k2t_printf(sh, ") -> %s", k2t_shape_str(&m->nodes[i].shape, 0, s1, sizeof s1));
}

static int on_residual(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    char s1[96], s2[96];
    k2t_block *b = NULL;
    (void)tag;
    int nb = k2t_find_blocks(m, &b);
    if (!nb) {
        k2t_printf(sh, "  no residual block: no layer merges two branches of one fork\n");
        return 1;
    }
    char *on_short = k2t_xcalloc((size_t)m->n_nodes + 1, 1);
    for (int k = 0; k < nb; k++) {
        const k2t_block *B = &b[k];
        const k2t_node *M = &m->nodes[B->merge];
        memset(on_short, 0, (size_t)m->n_nodes);
        /* The shortcut's own nodes: back from the merge input to the fork. */
        for (int x = M->in[B->shortcut_in], guard = 0; x != B->fork && guard < m->n_nodes; guard++) {
            on_short[x] = 1;
            if (m->nodes[x].n_in != 1) break;
            x = m->nodes[x].in[0];
        }
        k2t_printf(sh, "  block %d: %s %s -> %s (%s) %s\n", k + 1, m->nodes[B->fork].name,
                   k2t_shape_str(&m->nodes[B->fork].shape, 0, s1, sizeof s1), M->name,
                   k2t_node_layer(m, B->merge)->class_name, k2t_shape_str(&M->shape, 0, s2, sizeof s2));
        k2t_printf(sh, "    branch:   ");
        int nbr = 0;
        for (int j = 0; j < B->n_nodes; j++) {
            int x = B->nodes[j];
            if (x == B->merge || x > B->merge || on_short[x]) continue;
            k2t_printf(sh, "%s%s", nbr++ ? ", " : "", m->nodes[x].name);
        }
        k2t_printf(sh, "%s\n", nbr ? "" : "(none)");
        k2t_printf(sh, "    shortcut: ");
        if (B->shortcut < 0) {
            k2t_printf(sh, "identity %s\n", k2t_shape_str(&m->nodes[B->fork].shape, 0, s1, sizeof s1));
        } else {
            int ns = 0;
            for (int x = 0; x < m->n_nodes; x++)
                if (on_short[x]) {
                    if (ns++) k2t_printf(sh, ", ");
                    describe_node(sh, x);
                }
            k2t_printf(sh, "\n");
        }
        int after = 0;
        for (int j = 0; j < B->n_nodes; j++)
            if (B->nodes[j] > B->merge)
                k2t_printf(sh, "%s%s", after++ ? ", " : "    then:     ", m->nodes[B->nodes[j]].name);
        if (after) k2t_printf(sh, " (after the %s)\n", k2t_node_layer(m, B->merge)->class_name);
    }
    free(on_short);
    k2t_blocks_free(b, nb);
    return 1;
}

/* What explain adds on the loaded model, by topic (NULL: check's lines for
** it suffice); the texts themselves are the pitfall table's. */
static int (*const on_model[K2T_PIT_TOPICS])(k2t_shell *sh, int tag) = {
    [K2T_PIT_TRANSPOSE] = on_transpose, [K2T_PIT_BN_EPS] = on_bn_eps, [K2T_PIT_BN_MODE] = on_bn_mode,
    [K2T_PIT_PADDING] = on_padding, [K2T_PIT_FLATTEN] = on_flatten, [K2T_PIT_PREPROCESS] = on_preprocess,
    [K2T_PIT_INIT] = on_init, [K2T_PIT_RESIDUAL] = on_residual,
};

static int find_topic(const char *name)
{
    const k2t_pitfall *P = k2t_pitfall_by_topic(name);
    return P && P - k2t_pitfalls < K2T_PIT_TOPICS ? (int)(P - k2t_pitfalls) : -1;
}

static int cmd_explain(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    if (argc < 2) {
        for (int t = 0; t < K2T_PIT_TOPICS; t++)
            k2t_printf(sh, "%-11s %s\n", k2t_pitfalls[t].topic, k2t_pitfalls[t].summary);
        k2t_printf(sh, "\"explain TOPIC\" explains one on the loaded model; \"check\" lists every hazard.\n");
        return K2T_CMD_OK;
    }
    int t = find_topic(argv[1]);
    if (t < 0) {
        char list[512] = "";
        for (int k = 0; k < K2T_PIT_TOPICS; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", k2t_pitfalls[k].topic);
        const char *names[K2T_PIT_TOPICS];
        char dym[96];
        for (int k = 0; k < K2T_PIT_TOPICS; k++) names[k] = k2t_pitfalls[k].topic;
        return k2t_error(sh, 1, "explain: unknown topic '%s' (%stopics: %s)", argv[1],
                         k2t_did_you_mean(argv[1], names, K2T_PIT_TOPICS, dym, sizeof dym), list);
    }
    const k2t_pitfall *T = &k2t_pitfalls[t];
    k2t_printf(sh, "%s%s%s: %s\n\n", k2t_c_bold(sh), T->topic, k2t_c_off(sh), T->summary);
    print_block(sh, T->text, "");
    if (!m) {
        k2t_printf(sh, "\nload a model to see it on its layers\n");
    } else if (!m->has_arch && t != K2T_PIT_INIT) {
        k2t_printf(sh, "\n%s holds weights only: load a full model to see it on its layers\n", m->path);
    } else {
        k2t_printf(sh, "\nOn this model (%s):\n", m->path);
        int shown = on_model[t] ? on_model[t](sh, t) : model_lines(sh, t);
        if (!shown && T->none) k2t_printf(sh, "%s\n", T->none);
    }
    k2t_printf(sh, "\nIn k2t:\n");
    print_block(sh, T->k2t, "");
    if (strstr(T->k2t, "diff") || strstr(T->k2t, "run"))
        k2t_printf(sh, "diff and run use the current input (input cifar FILE 0:8, input random); "
               "\"profile keras\"\nputs every setting back.\n");
    return K2T_CMD_OK;
}

static void complete_explain(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi != 1) return;
    for (int t = 0; t < K2T_PIT_TOPICS; t++)
        if (strncmp(k2t_pitfalls[t].topic, prefix, strlen(prefix)) == 0) k2t_strlist_add(out, k2t_pitfalls[t].topic);
}

/*----------------------------------------------------------------- table */

const k2t_command k2t_cmd_check = {
    .name = "check", .group = "inspect", .min_args = 0, .max_args = 0,
    .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "check",
    .summary = "List every layer where a straightforward PyTorch port differs from Keras, with the code that matches.",
    .help = "Static: nothing runs.  Layers in execution order, each hazard tagged with its topic\n"
            "(layout, transpose, bn-eps, bn-mode, padding, flatten, softmax, preprocess, ...) and\n"
            "followed by the PyTorch code that computes what Keras does.  TF 'same' pads are\n"
            "computed for this model's input size.  'ok' lines mark places that look risky and\n"
            "are not.  Publishes $hazards; \"explain TOPIC\" tells why.",
    .fn = cmd_check,
};

const k2t_command k2t_cmd_explain = {
    .name = "explain", .group = "inspect", .min_args = 0, .max_args = 1,
    .usage = "explain [TOPIC]",
    .summary = "Explain a Keras-to-PyTorch pitfall, on the loaded model's own layers; alone, list the topics.",
    .help = "Topics: layout, transpose, bn-eps, bn-mode, padding, flatten, softmax, preprocess,\n"
            "init, residual, activation, mask, gates, rnn-bias, rnn-last, rnn-state, unsupported.\n"
            "Each gives the pitfall in general, then on the loaded model's layers and numbers,\n"
            "then the k2t setting that reproduces it and the command that shows it.",
    .complete = complete_explain, .fn = cmd_explain,
};
