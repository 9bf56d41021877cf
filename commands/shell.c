/*
** shell.c -- the shell's state and its lifecycle: what every command
** shares.
**
** A k2t_shell holds the model, the current input, the kept run, the
** settings and profiles; commands/ files reach what they share through
** here (and output.c), never through each other, so that no command file
** calls into another.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

/*---------------------------------------------------------- lifecycle */

void k2t_shell_init(k2t_shell *sh)
{
    memset(sh, 0, sizeof *sh);
    sh->out = stdout;
    sh->err = stderr;
    sh->set.color = 0;
    sh->set.hist_bins = 20;
    sh->set.diff_atol = 1e-5;
    sh->set.diff_rtol = 1e-4;
}

void k2t_shell_free(k2t_shell *sh)
{
    free(sh->profiles);
    sh->profiles = NULL;
    sh->n_profiles = 0;
    free(sh->breaks);
    sh->breaks = NULL;
    sh->n_breaks = 0;
    free(sh->set.bn_eps_layer);
    sh->set.bn_eps_layer = NULL;
    free(sh->vars);
    sh->vars = NULL;
    sh->n_vars = 0;
    k2t_classes_clear(sh); /* class names (classes.c) */
    k2t_shell_drop_run(sh);
    k2t_model_free(sh->model);
    sh->model = NULL;
    k2t_shell_input_clear(sh);
}

void k2t_shell_drop_run(k2t_shell *sh)
{
    k2t_run_free(sh->run);
    sh->run = NULL;
    sh->run_n = 0;
    k2t_run_free(sh->twin);
    sh->twin = NULL;
    sh->twin_cursor = 0;
}

/* The one line every reset of execution state prints (only when there was
** state to lose: "set bn.eps torch" at node 12 says so, a fresh shell does
** not). */
static void reset_note(k2t_shell *sh, const char *why)
{
    if (!k2t_shell_has_run(sh)) return;
    int c = sh->cursor;
    if (c > 0 && c < sh->model->n_nodes)
        k2t_printf(sh, "note: %s: the kept run is dropped; stepping restarts at node 0 (the cursor was at node %d "
                   "%s)\n", why, c, sh->model->nodes[c].name);
    else
        k2t_printf(sh, "note: %s: the kept run is dropped (the next run, step or continue starts at node 0)\n", why);
}

void k2t_shell_reset(k2t_shell *sh, const char *why)
{
    reset_note(sh, why);
    k2t_shell_drop_run(sh);
    sh->cursor = 0;
}

/*--------------------------------------------------------------- input */

void k2t_shell_input_clear(k2t_shell *sh)
{
    for (int i = 0; i < sh->in.n_x; i++) k2t_array_free(&sh->in.x[i].a);
    free(sh->in.x);
    free(sh->in.labels);
    memset(&sh->in, 0, sizeof sh->in);
}

/* Make sh->in hold one (empty) array per input of the current model: an
** input set for another model is dropped. */
static void input_fit_model(k2t_shell *sh)
{
    const k2t_model *m = sh->model;
    if (sh->in.n_x == m->n_inputs) return;
    k2t_shell_input_clear(sh);
    sh->in.x = k2t_xcalloc((size_t)m->n_inputs, sizeof *sh->in.x);
    sh->in.n_x = m->n_inputs;
}

/* Rebuild sh->in.desc from the arrays' own: the single input's as it is,
** "NAME: desc; NAME: desc" for several. */
static void input_update_desc(k2t_shell *sh)
{
    const k2t_model *m = sh->model;
    char *d = sh->in.desc;
    size_t n = sizeof sh->in.desc;
    if (sh->in.n_x == 1) {
        snprintf(d, n, "%s", sh->in.x[0].desc);
        return;
    }
    d[0] = '\0';
    for (int i = 0; i < sh->in.n_x; i++)
        snprintf(d + strlen(d), n - strlen(d), "%s%s: %s", i ? "; " : "", m->nodes[m->inputs[i]].name,
                 sh->in.x[i].a.data ? sh->in.x[i].desc : "not set");
}

void k2t_shell_set_input(k2t_shell *sh, int i, k2t_array *a, int n, unsigned char *labels, const char *desc)
{
    input_fit_model(sh);
    k2t_input_array *x = &sh->in.x[i];
    k2t_array_free(&x->a);
    free(sh->in.labels);
    x->a = *a;
    sh->in.n = n;
    sh->in.labels = labels;
    snprintf(x->desc, sizeof x->desc, "%s", desc);
    input_update_desc(sh);
    /* The plan stays (k2t_shell_prepare plans again only when the batch or
    ** the per-sample shape changes); what it computed is now stale. */
    reset_note(sh, "new input");
    k2t_run_reset(sh->run);
    sh->cursor = 0;
    k2t_run_free(sh->twin);
    sh->twin = NULL;
    sh->twin_cursor = 0;
}

int k2t_shell_input_ready(const k2t_shell *sh)
{
    if (!sh->model || sh->in.n == 0 || sh->in.n_x != sh->model->n_inputs) return 0;
    for (int i = 0; i < sh->in.n_x; i++)
        if (!sh->in.x[i].a.data) return 0;
    return 1;
}

void k2t_shell_print_input(k2t_shell *sh)
{
    char s1[96];
    if (sh->in.n_x == 0) {
        k2t_printf(sh, "input: none (\"input FILE.npy\", \"input random\" ... set it)\n");
        return;
    }
    if (sh->in.n_x == 1) {
        const k2t_array *a = &sh->in.x[0].a;
        k2t_printf(sh, "input: %s, shape %s%s\n", sh->in.x[0].desc, k2t_shape_str(&a->shape, 0, s1, sizeof s1),
                   a->pixels ? " (pixels: set preprocess applies)" : "");
        return;
    }
    /* Named after the model's input layers; "#i" when the input was set
    ** for a model with another number of inputs. */
    const k2t_model *m = sh->model;
    int named = m && sh->in.n_x == m->n_inputs, w = 0;
    for (int i = 0; named && i < sh->in.n_x; i++)
        if ((int)strlen(m->nodes[m->inputs[i]].name) > w) w = (int)strlen(m->nodes[m->inputs[i]].name);
    for (int i = 0; i < sh->in.n_x; i++) {
        const k2t_input_array *x = &sh->in.x[i];
        char nm[256];
        if (named) snprintf(nm, sizeof nm, "%s", m->nodes[m->inputs[i]].name);
        else snprintf(nm, sizeof nm, "#%d", i);
        if (!x->a.data)
            k2t_printf(sh, "input %-*s  not set (\"input %s FILE.npy\")\n", w, nm, nm);
        else
            k2t_printf(sh, "input %-*s  %s, shape %s%s\n", w, nm, x->desc, k2t_shape_str(&x->a.shape, 0, s1, sizeof s1),
                       x->a.pixels ? " (pixels: set preprocess applies)" : "");
    }
}

/* The model's single input node, or -1 with an error. */
int k2t_shell_single_input(k2t_shell *sh, const char *cmd)
{
    const k2t_model *m = sh->model;
    if (m->n_inputs != 1) {
        char names[256] = "";
        for (int i = 0; i < m->n_inputs; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     m->nodes[m->inputs[i]].name);
        k2t_error(sh, -1, "%s: the model has %d inputs (%s); %s takes single-input models", cmd, m->n_inputs,
                  names, cmd);
        return -1;
    }
    return m->inputs[0];
}

/* Input i, preprocessed when it holds pixels: a fresh copy. */
float *k2t_shell_input_data(k2t_shell *sh, int i, const k2t_emu *e, int64_t *numel)
{
    const k2t_array *a = &sh->in.x[i].a;
    int64_t n = k2t_shape_numel(&a->shape);
    float *x = k2t_xmalloc((size_t)(n ? n : 1) * sizeof(float));
    memcpy(x, a->data, (size_t)n * sizeof(float));
    if (a->pixels) {
        k2t_err err = {0};
        int c = (int)a->shape.d[a->shape.ndim - 1];
        if (k2t_preprocess(x, n, c, (k2t_pre)(e ? e : &sh->set.emu)->preprocess, &err) != K2T_OK) {
            free(x);
            k2t_error(sh, -1, "%s", err.msg);
            return NULL;
        }
    }
    *numel = n;
    return x;
}

void k2t_shell_opts(const k2t_shell *sh, k2t_opts *o, int keep)
{
    memset(o, 0, sizeof *o);
    o->threads = sh->set.threads;
    o->keep = keep;
    o->emu = sh->set.emu;
    o->bn_eps_layer = sh->set.bn_eps_layer;
}

int k2t_shell_input_shapes(k2t_shell *sh, const char *cmd, k2t_shape *per)
{
    const k2t_model *m = sh->model;
    if (sh->in.n == 0)
        return k2t_error(sh, -1, "%s: no input (use \"input FILE.npy\", \"input cifar FILE\", "
                         "\"input random\" ...)", cmd);
    if (sh->in.n_x != m->n_inputs)
        return k2t_error(sh, -1, "%s: the input (%s) was set for a model with %d input%s; this model has %d "
                         "(set a new input)", cmd, sh->in.desc, sh->in.n_x, sh->in.n_x == 1 ? "" : "s", m->n_inputs);
    for (int i = 0; i < m->n_inputs; i++) {
        const char *name = m->nodes[m->inputs[i]].name;
        const k2t_array *a = &sh->in.x[i].a;
        if (!a->data)
            return k2t_error(sh, -1, "%s: input %s is not set (\"input %s FILE.npy\", or \"input FILE.npz\" "
                             "with a member per input)", cmd, name, name);
        const k2t_shape *want = &m->nodes[m->inputs[i]].shape;
        per[i] = a->shape;
        per[i].ndim--;
        for (int d = 0; d < per[i].ndim; d++) per[i].d[d] = a->shape.d[d + 1];
        if (k2t_shape_fits(want, &per[i])) continue;
        char s1[96], s2[96], who[300] = "";
        if (m->n_inputs > 1) snprintf(who, sizeof who, " %s", name);
        return k2t_error(sh, -1, "%s: the input%s %s has per-sample shape %s; this model takes %s (set a new "
                         "input)", cmd, who, sh->in.x[i].desc, k2t_shape_str(&per[i], 0, s1, sizeof s1),
                         k2t_shape_str(want, 1, s2, sizeof s2));
    }
    return K2T_CMD_OK;
}

int k2t_shell_feed(k2t_shell *sh, const char *cmd, k2t_run *r, const k2t_emu *e)
{
    k2t_err err = {0};
    for (int i = 0; i < sh->model->n_inputs; i++) {
        const k2t_array *a = &sh->in.x[i].a;
        if (!a->pixels) { /* nothing to preprocess: no copy to make first */
            if (k2t_run_set_input(r, i, a->data, sh->in.n, &err) != K2T_OK)
                return k2t_error(sh, -1, "%s: %s", cmd, err.msg);
            continue;
        }
        int64_t numel;
        float *x = k2t_shell_input_data(sh, i, e, &numel);
        if (!x) return K2T_CMD_ERR;
        k2t_status st = k2t_run_set_input(r, i, x, sh->in.n, &err);
        free(x);
        if (st != K2T_OK) return k2t_error(sh, -1, "%s: %s", cmd, err.msg);
    }
    return K2T_CMD_OK;
}

static int shape_eq(const k2t_shape *a, const k2t_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) if (a->d[i] != b->d[i]) return 0;
    return 1;
}

int k2t_shell_prepare(k2t_shell *sh, const char *cmd)
{
    k2t_err err = {0};
    const k2t_model *m = sh->model;
    k2t_shape *per = k2t_xmalloc((size_t)(m->n_inputs + 1) * sizeof *per);
    if (k2t_shell_input_shapes(sh, cmd, per) != K2T_CMD_OK) {
        free(per);
        return K2T_CMD_ERR;
    }
    /* The plan is kept across inputs of the same batch and per-sample shapes
    ** (settings and model changes drop it): a new input allocates nothing. */
    int same = sh->run && sh->run_n == sh->in.n;
    for (int i = 0; same && i < m->n_inputs; i++) same = shape_eq(k2t_run_keras_shape(sh->run, m->inputs[i]), &per[i]);
    if (!same) k2t_shell_drop_run(sh);
    if (!sh->run) {
        k2t_opts o;
        k2t_shell_opts(sh, &o, 1);
        sh->run = k2t_run_new(m, &o, per, sh->in.n, &err);
        if (!sh->run) {
            free(per);
            return k2t_error(sh, -1, "%s: %s", cmd, err.msg);
        }
        sh->run_n = sh->in.n;
    }
    free(per);
    if (k2t_shell_feed(sh, cmd, sh->run, NULL) != K2T_CMD_OK) return K2T_CMD_ERR;
    sh->cursor = 0;
    k2t_run_free(sh->twin); /* "break diff"'s twin starts over with it */
    sh->twin = NULL;
    sh->twin_cursor = 0;
    return K2T_CMD_OK;
}

/* Node i's output shape, batch first, in the current layout: the run's when
** the node ran (*from_run = 1), else Keras's inferred shape converted to
** NCHW under "set layout nchw", with the input's batch (1 without input). */
k2t_shape k2t_shell_node_shape(const k2t_shell *sh, int node, int *from_run)
{
    const k2t_tensor *t = sh->run && node >= 0 && node < sh->model->n_nodes ? k2t_run_output(sh->run, node) : NULL;
    if (t) {
        *from_run = 1;
        return t->shape;
    }
    *from_run = 0;
    k2t_shape per = sh->model->nodes[node].shape, s;
    if (sh->set.emu.layout == K2T_LAYOUT_NCHW) per = k2t_shape_nchw(&per);
    s.ndim = per.ndim + 1 <= K2T_MAX_DIMS ? per.ndim + 1 : K2T_MAX_DIMS;
    s.d[0] = sh->in.n > 0 ? sh->in.n : 1;
    for (int i = 1; i < s.ndim; i++) s.d[i] = per.d[i - 1];
    return s;
}

char *k2t_fmt_count(int64_t n, char *buf, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)(n < 0 ? -n : n));
    size_t j = 0;
    if (n < 0 && j + 1 < size) buf[j++] = '-';
    for (int i = 0; i < len && j + 1 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0 && j + 1 < size) buf[j++] = ',';
        if (j + 1 < size) buf[j++] = digits[i];
    }
    buf[j] = '\0';
    return buf;
}

/* Damerau-Levenshtein distance, for "did you mean". */
int k2t_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    int d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            /* a swap of two neighbours is one typo ("stpe") */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

int k2t_arg_layer(k2t_shell *sh, int argi, const char *name)
{
    k2t_model *m = sh->model;
    int li = k2t_find_layer(m, name);
    if (li >= 0) return li;
    int ni = k2t_find_node(m, name);
    if (ni >= 0) return m->nodes[ni].layer;
    const char *best = NULL;
    int bd = 4;
    for (int i = 0; i < m->n_layers; i++) {
        int d = k2t_distance(name, m->layers[i].name);
        if (d < bd) bd = d, best = m->layers[i].name;
    }
    if (best)
        k2t_error(sh, argi, "unknown layer '%s' (did you mean '%s'? \"layers\" lists them)",
                  name, best);
    else
        k2t_error(sh, argi, "unknown layer '%s' (\"layers\" lists them)", name);
    return -1;
}

/*--------------------------------------------------------- breakpoints */

/* Does breakpoint 'b' stop before node i? */
int k2t_break_matches(const k2t_model *m, const k2t_break *b, int node)
{
    const k2t_layer *L = k2t_node_layer(m, node);
    if (!b->what[0]) return 1;
    if (!strcmp(b->what, "add")) return k2t_op_is_merge(L->op) && m->nodes[node].n_in >= 2;
    return !strcmp(m->nodes[node].name, b->what) || !strcmp(L->name, b->what) ||
           !strcmp(L->class_name, b->what);
}

int k2t_break_count(const k2t_model *m, const k2t_break *b)
{
    int n = 0;
    for (int i = 0; i < m->n_nodes; i++) n += k2t_break_matches(m, b, i);
    return n;
}

/* "layer", "class" or "every merge", for listings. */
const char *k2t_break_kind(const k2t_model *m, const k2t_break *b)
{
    if (!b->what[0]) return "every layer";
    if (!strcmp(b->what, "add")) return "every merge";
    if (k2t_find_node(m, b->what) >= 0 || k2t_find_layer(m, b->what) >= 0) return "layer";
    return "class";
}

char *k2t_break_cond_str(const k2t_break *b, char *buf, size_t n)
{
    if (b->cond == K2T_COND_NAN) snprintf(buf, n, "nan");
    else if (b->cond == K2T_COND_DIFF) snprintf(buf, n, "diff > %g", b->cond_value);
    else snprintf(buf, n, "%s", "");
    return buf;
}

/* gdb's table: Num, Disp (keep, or del for tbreak), Enb, What, then the
** kind, how many layers it names, its hits and its condition. */
int k2t_info_breakpoints(k2t_shell *sh)
{
    const k2t_model *m = sh->model;
    if (!sh->n_breaks) {
        k2t_printf(sh, "no breakpoints (\"break LAYER|CLASS|add\" or \"break nan\" sets one)\n");
        return K2T_CMD_OK;
    }
    int w = 4, any_cond = 0;
    for (int i = 0; i < sh->n_breaks; i++) {
        int l = sh->breaks[i].what[0] ? (int)strlen(sh->breaks[i].what) : 1;
        if (l > w) w = l;
        any_cond |= sh->breaks[i].cond != K2T_COND_NONE;
    }
    k2t_printf(sh, "%s%-3s  %-4s  %-3s  %-*s  %-11s  %7s  %4s%s%s\n", k2t_c_bold(sh), "Num", "Disp", "Enb", w, "What",
               "Kind", "Matches", "Hits", any_cond ? "  Condition" : "", k2t_c_off(sh));
    for (int i = 0; i < sh->n_breaks; i++) {
        const k2t_break *b = &sh->breaks[i];
        char cond[64];
        k2t_break_cond_str(b, cond, sizeof cond);
        k2t_printf(sh, "%-3d  %-4s  %-3s  %-*s  %-11s  %7d  %4d%s%s\n", b->id, b->temporary ? "del" : "keep",
                   b->disabled ? "n" : "y", w, b->what[0] ? b->what : "*", k2t_break_kind(m, b),
                   k2t_break_count(m, b), b->hits, cond[0] ? "  " : "", cond);
    }
    return K2T_CMD_OK;
}

/*------------------------------------------------------------ profiles */

/* The built-in profiles, by name; a profile leaves preprocess as set
** (with_input 0) unless it was saved from the user's own settings. */
const k2t_profile k2t_profile_builtins[] = {
    {.name = "keras", .emu = {.layout = K2T_LAYOUT_NHWC}},
    {.name = "torch", .emu = {.layout = K2T_LAYOUT_NCHW}},
    {.name = "torch-naive",
     .emu = {.layout = K2T_LAYOUT_NCHW, .bn_eps = 1e-5, .pad_torch = 1, .flatten_torch = 1}},
};
const int k2t_n_profile_builtins = (int)(sizeof k2t_profile_builtins / sizeof k2t_profile_builtins[0]);

const k2t_profile *k2t_profile_find(const k2t_shell *sh, const char *name)
{
    for (int i = 0; i < k2t_n_profile_builtins; i++)
        if (!strcmp(k2t_profile_builtins[i].name, name)) return &k2t_profile_builtins[i];
    for (int i = 0; i < sh->n_profiles; i++)
        if (!strcmp(sh->profiles[i].name, name)) return &sh->profiles[i];
    return NULL;
}

void k2t_profile_current(const k2t_shell *sh, k2t_profile *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "current");
    p->emu = sh->set.emu;
    p->with_input = 1;
}

void k2t_profile_opts(const k2t_shell *sh, const k2t_profile *p, k2t_opts *o, int keep)
{
    memset(o, 0, sizeof *o);
    o->threads = sh->set.threads;
    o->keep = keep;
    o->emu = p->emu;
    /* the current settings may name single layers */
    if (!strcmp(p->name, "current")) o->bn_eps_layer = sh->set.bn_eps_layer;
}


/* Run the current input through the model under emulation e on the fast
** path and keep its first output (Keras layout) and, with labels, the
** number of samples whose top class is the label. */
int k2t_shell_measure(k2t_shell *sh, const k2t_emu *e, k2t_measure *r)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    k2t_opts o = {.threads = sh->set.threads, .emu = *e};
    memset(r, 0, sizeof *r);
    if (!k2t_shell_input_ready(sh)) return K2T_CMD_ERR;
    k2t_shape *per = k2t_xmalloc((size_t)(m->n_inputs + 1) * sizeof *per);
    if (k2t_shell_input_shapes(sh, "measure", per) != K2T_CMD_OK) {
        free(per);
        return K2T_CMD_ERR;
    }
    k2t_run *run = k2t_run_new(m, &o, per, sh->in.n, &err);
    free(per);
    int out = m->outputs[0];
    if (!run) return k2t_error(sh, -1, "%s", err.msg);
    if (k2t_shell_feed(sh, "measure", run, e) != K2T_CMD_OK) {
        k2t_run_free(run);
        return K2T_CMD_ERR;
    }
    if (k2t_run_nodes(run, 0, m->n_nodes, &err) != K2T_OK) {
        k2t_run_free(run);
        return k2t_error(sh, -1, "%s", err.msg);
    }
    const k2t_shape *ks = k2t_run_keras_shape(run, out);
    int64_t per_n = k2t_shape_numel(ks);
    r->n = sh->in.n;
    r->numel = per_n * r->n;
    r->out = k2t_xmalloc((size_t)(r->numel ? r->numel : 1) * sizeof(float));
    k2t_run_keras(run, out, 0, r->out, &err);
    for (int64_t i = 0; i < r->numel; i++)
        if (fabs(r->out[i]) > r->max_abs) r->max_abs = fabs(r->out[i]);
    if (sh->in.labels && ks->ndim == 1 && per_n >= 2) {
        r->labelled = 1;
        for (int s = 0; s < r->n; s++) {
            const float *p = r->out + (int64_t)s * per_n;
            int b = 0;
            for (int k = 1; k < per_n; k++)
                if (p[k] > p[b]) b = k;
            r->correct += b == sh->in.labels[s];
        }
    }
    k2t_run_free(run);
    return K2T_CMD_OK;
}

double k2t_measure_diff(const k2t_measure *a, const k2t_measure *b)
{
    double d = 0;
    for (int64_t i = 0; i < a->numel && i < b->numel; i++) {
        double x = fabs((double)a->out[i] - (double)b->out[i]);
        if (!(x <= d)) d = x;
    }
    return d;
}

void k2t_measure_free(k2t_measure *r)
{
    free(r->out);
    r->out = NULL;
}

void k2t_shell_layer_emu(const k2t_shell *sh, const k2t_profile *p, int node, k2t_emu *e)
{
    *e = p->emu;
    if (!strcmp(p->name, "current") && sh->set.bn_eps_layer) {
        double eps = sh->set.bn_eps_layer[sh->model->nodes[node].layer];
        if (eps > 0) e->bn_eps = eps;
    }
}

int k2t_shell_why(k2t_shell *sh, int node, const k2t_emu *a, const k2t_emu *b)
{
    k2t_diag *d = k2t_diag_new(sh->model);
    k2t_finding f[8];
    int shown = 0;
    for (int p = 0; p < K2T_PIT_COUNT; p++) {
        if (!k2t_pitfalls[p].key || k2t_emu_same(a, b, (k2t_pit)p)) continue;
        /* The side at Keras's value is the reference; the other is the port. */
        const k2t_emu *port = k2t_emu_is_keras(a, (k2t_pit)p) ? b : a, *ref = port == b ? a : b;
        int n = k2t_findings(d, node, K2T_PIT_BIT(p), port, ref, f, 8);
        for (int k = 0; k < n && k < 8; k++)
            if (f[k].hazard) {
                k2t_print_finding(sh, &f[k], K2T_FINDING_WHY);
                shown++;
            }
    }
    k2t_diag_free(d);
    return shown;
}

/* Same emulation settings (preprocess aside). */
int k2t_profile_same(const k2t_profile *a, const k2t_profile *b)
{
    for (int t = 0; t < K2T_PIT_COUNT; t++)
        if (k2t_pitfalls[t].in_profiles && !k2t_emu_same(&a->emu, &b->emu, (k2t_pit)t)) return 0;
    return 1;
}

const char *k2t_profile_match(const k2t_shell *sh)
{
    k2t_profile cur;
    const char *match = "custom";
    k2t_profile_current(sh, &cur);
    for (int i = 0; i < k2t_n_profile_builtins; i++)
        if (k2t_profile_same(&k2t_profile_builtins[i], &cur)) match = k2t_profile_builtins[i].name;
    for (int i = 0; i < sh->n_profiles; i++)
        if (k2t_profile_same(&sh->profiles[i], &cur)) match = sh->profiles[i].name;
    if (!strcmp(match, "keras") && sh->set.bn_eps_layer) match = "custom";
    return match;
}

void k2t_shell_prompt(const k2t_shell *sh, char *buf, size_t n)
{
    const char *p = k2t_profile_match(sh);
    if (!strcmp(p, "keras") && sh->set.emu.preprocess == K2T_PRE_RAW) snprintf(buf, n, "k2t> ");
    else if (!strcmp(p, "keras")) snprintf(buf, n, "k2t[preprocess %s]> ", k2t_pre_names[sh->set.emu.preprocess]);
    else snprintf(buf, n, "k2t[%s]> ", p);
}

char *k2t_shell_settings_note(const k2t_shell *sh, char *buf, size_t n)
{
    k2t_profile cur;
    char d[256];
    const char *p = k2t_profile_match(sh);
    k2t_profile_current(sh, &cur);
    buf[0] = '\0';
    if (!strcmp(p, "keras")) return buf;
    k2t_emu_describe(&cur.emu, 0, d, sizeof d);
    snprintf(buf, n, "; profile %s: %s%s", p, d, sh->set.bn_eps_layer ? ", bn.eps per layer" : "");
    return buf;
}

char *k2t_did_you_mean(const char *word, const char *const *cands, int n, char *buf, size_t size)
{
    const char *best = NULL;
    int bd = (int)strlen(word) <= 3 ? 2 : 3;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!cands[i]) continue;
        int d = k2t_distance(word, cands[i]);
        if (d < bd || (d == bd && !best && d <= 1)) bd = d, best = cands[i];
        if (strlen(word) >= 2 && !strncasecmp(cands[i], word, strlen(word)) && !best) best = cands[i], bd = 1;
    }
    if (best) snprintf(buf, size, "did you mean '%s'? ", best);
    return buf;
}

void k2t_shell_check_preprocess(k2t_shell *sh)
{
    k2t_input_scale is;
    k2t_err err = {0};
    if (!sh->model || !sh->in.n || !k2t_shell_input0(sh) || !k2t_shell_input0(sh)->pixels || sh->model->n_inputs != 1) return;
    if (k2t_infer_input_scale(sh->model, &is, &err) != K2T_OK || !is.ok || is.guess < 0) return;
    int set = sh->set.emu.preprocess;
    int centred = is.guess == K2T_PRE_SYMMETRIC && (set == K2T_PRE_SYMMETRIC || set == K2T_PRE_TORCH);
    if (set == is.guess || centred) return;
    k2t_warn(sh, "preprocess is %s, but the model's first BatchNormalization says it was trained on %s "
             "(mean input %.3g; \"check\" shows the evidence): \"set preprocess %s\"", k2t_pre_names[set],
             is.guess == K2T_PRE_RAW ? "raw pixels 0..255" : is.guess == K2T_PRE_UNIT ? "pixels / 255" :
             is.guess == K2T_PRE_CAFFE ? "BGR pixels minus the channel means" : "a centred input",
             is.mean, k2t_pre_names[is.guess]);
}
