/*
** compare.c -- the user's own PyTorch activations against Keras, layer by layer.
**
** 'compare FILE.npz' reads the activations a PyTorch port produced on the
** current input (scripts/torch_dump.py writes them: one array per module, in
** execution order, PyTorch layout), runs the Keras model on the same input
** (Keras semantics, every activation kept) and pairs each array with the
** Keras layer that computed it.  The pairing goes by order, shape and
** value, because a port is not a copy of the graph:
**
**   - functional ops have no module (F.relu(x + y): no array for the Add or
**     its ReLU), so the arrays skip layers: search forward within a window;
**   - a block's shortcut may run after its body: go back within the current
**     residual block to layers no matched layer depends on;
**   - a Linear returns logits where the Dense ends in softmax: compare with
**     the Dense's pre-activation (and a Conv2d with a fused activation's);
**   - containers repeat their last child's output: skip the exact repeat;
**   - a Flatten of an NCHW map is in CHW order: accept it in that order.
**
** Torch tensors are read in Keras's layout: (N,C,H,W) as (N,H,W,C), (N,C,L)
** as (N,L,C).  An array whose best candidate is within diff.atol +
** diff.rtol * max|keras| is matched; the first array with no candidate
** within tolerance is paired with the layer expected next by order (and by
** its module's class when __order__ names it), and that layer is the first
** divergence.  The diagnosis comes from the layer's config (diff's
** k2t_diagnose) and is checked by emulating the suspected convention on
** that layer alone, fed Keras's inputs.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

enum { E_UNMATCHED, E_MATCHED, E_REPEAT };

/* One array of the archive and what it was paired with. */
typedef struct ent {
    const k2t_npz_entry *z;
    int nv;               /* views of the data in Keras layout: converted, then as stored */
    k2t_shape vs[2];      /* per-sample shape of each view */
    const float *vd[2];   /* each view's data, batch first */
    float *conv;          /* the converted view (owned) */
    int state;            /* E_* */
    int node, pre, chw;   /* the match: node, its pre-activation, a Flatten read in CHW order */
    int view;
    double mad, ref;      /* max|torch - keras|, max|keras| */
    int pass;
    int map_node;         /* -1, -2 (skip), or the node --map pairs it with */
    int map_line;
    int repeat_of;        /* E_REPEAT: the earlier array with the same tensor */
    char why[200];        /* E_UNMATCHED: why */
} ent;

/* One candidate pairing. */
typedef struct cand {
    int node, pre, chw, view;
    double mad, ref, rel;
    int p;                /* position in execution order: 2*node + (pre ? 0 : 1) */
} cand;

typedef struct cmp {
    k2t_shell *sh;
    const k2t_model *m;
    k2t_run *rk;          /* the Keras run */
    int n;                /* samples */
    float *x;             /* the preprocessed input */
    k2t_shape per;        /* its per-sample shape */
    float *scratch;       /* a node's reference in CHW order, or an emulated output */
    float *scratch2;
    int64_t max_numel;    /* largest per-sample activation */
    k2t_block *blocks;
    int n_blocks;
    int *block_of;        /* per node */
    int *done;            /* per node: 0 free, 1 pre-activation matched, 2 output matched */
    char *anc;            /* per node: feeds a matched node (already computed) */
    char *reserved;       /* per node: --map pairs an array with it */
    int P;                /* the furthest position matched (-1: none) */
} cmp;

/*--------------------------------------------------------------- helpers */

static int weighted(const k2t_model *m, int i)
{
    return k2t_node_layer(m, i)->n_w > 0;
}

/* Equal shapes once axes of size 1 are dropped (torch (C,1,1) is Keras (1,1,C) or (C,)). */
static int shape_fits(const k2t_shape *a, const k2t_shape *b)
{
    int64_t x[K2T_MAX_DIMS], y[K2T_MAX_DIMS];
    int nx = 0, ny = 0;
    for (int i = 0; i < a->ndim; i++) if (a->d[i] != 1) x[nx++] = a->d[i];
    for (int i = 0; i < b->ndim; i++) if (b->d[i] != 1) y[ny++] = b->d[i];
    if (nx != ny) return 0;
    for (int i = 0; i < nx; i++) if (x[i] != y[i]) return 0;
    return 1;
}

static void measure(const float *a, const float *b, int64_t cnt, double *mad, double *ref)
{
    double d0 = 0, r0 = 0;
    for (int64_t k = 0; k < cnt; k++) {
        double d = fabs((double)a[k] - (double)b[k]);
        if (!(d <= d0)) d0 = d; /* NaN counts as worst */
        double r = fabs((double)b[k]);
        if (r > r0) r0 = r;
    }
    *mad = d0, *ref = r0;
}

static int within(const k2t_shell *sh, double mad, double ref)
{
    return mad <= sh->set.diff_atol + sh->set.diff_rtol * ref;
}

static double rel_of(double mad, double ref)
{
    if (mad != mad) return INFINITY;
    return mad / (ref > 0 ? ref : 1e-30);
}

/* A Flatten whose input is a spatial map (H*W > 1 and C > 1): a port may
** flatten it in CHW order.  Returns the input node, or -1. */
static int spatial_flatten(const k2t_model *m, int node)
{
    const k2t_node *N = &m->nodes[node];
    if (!k2t_op_flattens(k2t_node_layer(m, node)->op) || N->n_in != 1) return -1;
    const k2t_shape *s = &m->nodes[N->in[0]].shape;
    if (s->ndim != 3 || s->d[0] * s->d[1] <= 1 || s->d[2] <= 1) return -1;
    return N->in[0];
}

/* The Keras tensor for a candidate, batch first, in Keras layout. */
static const float *ref_data(cmp *c, int node, int pre, int chw)
{
    if (pre) return k2t_run_preact(c->rk, node)->data;
    if (!chw) return k2t_run_output(c->rk, node)->data;
    int src = spatial_flatten(c->m, node);
    const k2t_shape *s = k2t_run_keras_shape(c->rk, src);
    const float *in = k2t_run_output(c->rk, src)->data;
    int64_t H = s->d[0], W = s->d[1], C = s->d[2], hw = H * W;
    for (int64_t b = 0; b < c->n; b++)
        for (int64_t q = 0; q < hw; q++)
            for (int64_t ch = 0; ch < C; ch++)
                c->scratch[b * hw * C + ch * hw + q] = in[b * hw * C + q * C + ch];
    return c->scratch;
}

static void mark_ancestors(cmp *c, int node)
{
    const k2t_node *N = &c->m->nodes[node];
    for (int j = 0; j < N->n_in; j++) {
        int i = N->in[j];
        if (c->anc[i]) continue;
        c->anc[i] = 1;
        mark_ancestors(c, i);
    }
}

static void take(cmp *c, ent *e, const cand *k)
{
    e->state = E_MATCHED;
    e->node = k->node, e->pre = k->pre, e->chw = k->chw, e->view = k->view;
    e->mad = k->mad, e->ref = k->ref;
    e->pass = within(c->sh, k->mad, k->ref);
    if (c->done[k->node] < (k->pre ? 1 : 2)) c->done[k->node] = k->pre ? 1 : 2;
    mark_ancestors(c, k->node);
    if (k->p > c->P) c->P = k->p;
}

/* Compare e with node (pre, chw) in every view that fits; the best into *k. */
static int try_node(cmp *c, const ent *e, int node, int pre, int chw, cand *k)
{
    const k2t_shape *ks = k2t_run_keras_shape(c->rk, node);
    int found = 0;
    for (int v = 0; v < e->nv; v++) {
        if (!shape_fits(&e->vs[v], ks)) continue;
        const float *r = ref_data(c, node, pre, chw);
        double mad, ref;
        measure(e->vd[v], r, k2t_shape_numel(ks) * c->n, &mad, &ref);
        double rel = rel_of(mad, ref);
        if (!found || rel < k->rel) {
            k->node = node, k->pre = pre, k->chw = chw, k->view = v;
            k->mad = mad, k->ref = ref, k->rel = rel;
            k->p = 2 * node + (pre ? 0 : 1);
            found = 1;
        }
    }
    return found;
}

/*----------------------------------------------------- module classes */

/* Could a module of class cls have computed candidate k?  The ops say
** which module classes compute them; a layer with weights must be matched
** on its own computation (its pre-activation when it fuses one), and any
** activation module may also be the activation a layer fuses.  A class no
** op knows could be anything but a merge. */
static int kind_fits(cmp *c, const char *cls, const cand *k)
{
    k2t_op op = k2t_node_layer(c->m, k->node)->op;
    int has_pre = k2t_run_preact(c->rk, k->node) != NULL;
    int main_part = k->pre || !has_pre; /* the layer's own computation, before a fused activation */
    if (!cls || !k2t_op_torch_module(K2T_OP_COUNT, cls)) return !k2t_op_is_merge(op);
    if (k2t_op_torch_module(op, cls)) return main_part || !k2t_op_has_weights(op);
    return !k->pre && has_pre && k2t_torch_activation(cls); /* a fused activation */
}

/*------------------------------------------------------------- alignment */

/* Last node of the forward window after node jf: at least 8 nodes, and up
** to the 4th layer with weights (the ones a port always has modules for). */
static int window_end(const cmp *c, int jf)
{
    int n = c->m->n_nodes, end = jf + 8, w = 0;
    for (int j = jf + 1; j < n; j++)
        if (weighted(c->m, j) && ++w == 4) {
            if (j > end) end = j;
            break;
        }
    if (w < 4) end = n - 1;
    return end < n ? end : n - 1;
}

/* The candidates of entry e: nodes forward within the window, and nodes
** back within the current residual block that no matched node depends on. */
static int candidates(cmp *c, const ent *e, cand **out)
{
    const k2t_model *m = c->m;
    int jf = c->P >= 0 ? c->P / 2 : -1;
    int end = window_end(c, jf);
    int bf = jf >= 0 ? c->block_of[jf] : -1;
    int cap = 3 * m->n_nodes + 1, nc = 0;
    cand *v = k2t_xmalloc((size_t)cap * sizeof *v);
    for (int j = 0; j <= end; j++) {
        if (c->reserved[j] || c->done[j] == 2) continue;
        for (int pre = 1; pre >= 0; pre--) {
            if (pre && (c->done[j] || !k2t_run_preact(c->rk, j))) continue;
            int p = 2 * j + (pre ? 0 : 1);
            int fwd = p > c->P;
            int back = !fwd && bf >= 0 && c->block_of[j] == bf && !c->anc[j] && !c->done[j];
            if (!fwd && !back) continue;
            for (int chw = 0; chw <= (!pre && spatial_flatten(m, j) >= 0); chw++) {
                cand k;
                if (try_node(c, e, j, pre, chw, &k)) v[nc++] = k;
            }
        }
    }
    *out = v;
    return nc;
}

/* Align entry e (not mapped, not a repeat).  'diverged': a divergence was
** already found.  Returns 1 when e is the first divergence. */
static int align(cmp *c, ent *e, int diverged)
{
    cand *v;
    int nc = candidates(c, e, &v);
    if (nc == 0) {
        char s1[96];
        k2t_shape full = e->vs[0];
        int any = 0;
        for (int j = 0; j < c->m->n_nodes && !any; j++)
            for (int w = 0; w < e->nv && !any; w++) any = shape_fits(&e->vs[w], k2t_run_keras_shape(c->rk, j));
        snprintf(e->why, sizeof e->why, "%s outputs %s", any ? "no layer near here" : "no layer of the model",
                 k2t_shape_str(&full, 0, s1, sizeof s1));
        free(v);
        return 0;
    }
    int best = 0;
    for (int i = 1; i < nc; i++)
        if (v[i].rel < v[best].rel || (v[i].rel == v[best].rel && v[i].p < v[best].p)) best = i;
    if (within(c->sh, v[best].mad, v[best].ref)) {
        take(c, e, &v[best]);
        free(v);
        return 0;
    }
    /* Nothing within tolerance: the layer expected next by order (of the
    ** module's kind when its class is known) is this array's layer. */
    const char *cls = e->z->cls;
    int exp = -1, fit = -1;
    for (int i = 0; i < nc; i++) {
        if (!kind_fits(c, cls, &v[i])) continue;
        if (exp < 0 || v[i].p < v[exp].p || (v[i].p == v[exp].p && v[i].rel < v[exp].rel)) exp = i;
        if (fit < 0 || v[i].rel < v[fit].rel) fit = i;
    }
    /* A module's output is never the model's input: an intermediate tensor of
    ** the port (a SeparableConv2D's depthwise half with multiplier 1 has the
    ** input's shape) that fits only the InputLayer stays unmatched. */
    int best_is_input = 0;
    for (int k = 0; k < c->m->n_inputs; k++) best_is_input |= c->m->inputs[k] == v[best].node;
    if (exp < 0 && cls && k2t_op_torch_module(K2T_OP_COUNT, cls) && best_is_input) {
        char s1[96];
        snprintf(e->why, sizeof e->why, "no layer of its kind (%s) outputs %s", e->z->cls,
                 k2t_shape_str(&e->vs[0], 0, s1, sizeof s1));
        free(v);
        return 0;
    }
    int pick = exp >= 0 ? exp : best;
    /* After the divergence errors accumulate, but a candidate much closer
    ** than the one expected by order (a shortcut run first) is still telling. */
    if (diverged && fit >= 0 && v[fit].rel < 0.5 * v[pick].rel) pick = fit;
    if (diverged && !e->z->cls) pick = best;
    take(c, e, &v[pick]);
    free(v);
    return !diverged;
}

/*------------------------------------------------------------ diagnosis */

/* Emulate profile p on node alone, fed the Keras run's inputs; max|diff| of
** its output (or pre-activation) against e's view, or -1 when it cannot. */
static double emulate(cmp *c, const k2t_profile *p, const ent *e)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->m;
    const k2t_node *N = &m->nodes[e->node];
    k2t_err err = {0};
    k2t_opts o;
    double res = -1;
    if (e->chw) return -1; /* a Flatten read in CHW order: the emulation maps back to HWC */
    k2t_profile_opts(sh, p, &o, 1);
    k2t_run *r = k2t_run_new(m, &o, &c->per, c->n, &err);
    if (!r || k2t_run_set_input(r, 0, c->x, c->n, &err) != K2T_OK) goto done;
    for (int j = 0; j < N->n_in; j++)
        if (k2t_shape_numel(k2t_run_keras_shape(r, N->in[j])) != k2t_shape_numel(k2t_run_keras_shape(c->rk, N->in[j])) ||
            k2t_run_keras(c->rk, N->in[j], 0, c->scratch2, &err) != K2T_OK ||
            k2t_run_inject(r, N->in[j], c->scratch2, &err) != K2T_OK)
            goto done;
    if (k2t_run_nodes(r, e->node, e->node + 1, &err) != K2T_OK) goto done;
    const k2t_shape *ks = k2t_run_keras_shape(r, e->node);
    if (!shape_fits(ks, &e->vs[e->view]) || k2t_run_keras(r, e->node, e->pre, c->scratch2, &err) != K2T_OK)
        goto done;
    double mad, ref;
    measure(e->vd[e->view], c->scratch2, k2t_shape_numel(ks) * c->n, &mad, &ref);
    res = mad;
done:
    k2t_run_free(r);
    return res;
}

/* A layer with several kernels (SeparableConv2D's depthwise and pointwise)
** whose port forgot the transpose of one of them only: weights.transpose
** off misreads them all, so each is tried alone.  The executor reads a
** kernel through the op's k2t_tw, so a buffer that this permutation maps to
** Keras's raw buffer read in PyTorch's shape (k2t_tw_misread) stands in for
** the weight while the run is made.  States the finding of the one that
** reproduces the port and returns 1; 0 when none does. */
static int one_kernel(cmp *c, const ent *e, const k2t_profile *base)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->m;
    const k2t_layer *L = k2t_node_layer(m, e->node);
    float *wrong[8];
    int wis[8], nw = 0;
    for (int wi = 0; wi < L->n_w && nw < 8; wi++)
        if ((wrong[nw] = k2t_weight_misread(L, wi))) wis[nw++] = wi;
    int found = 0;
    for (int k = 0; k < nw; k++) {
        k2t_weight *w = (k2t_weight *)&L->w[wis[k]]; /* its data pointer is swapped, then restored */
        float *own = w->data;
        if (nw < 2 || found) continue;
        w->data = wrong[k];
        double mad = emulate(c, base, e);
        w->data = own;
        if (mad < 0 || !within(sh, mad, e->ref)) continue;
        found = 1;
        k2t_profile p = *base;
        k2t_err err = {0};
        k2t_finding f[8];
        char pat[160];
        if (k2t_emu_set(&p.emu, K2T_PIT_TRANSPOSE, "off", &err) != K2T_OK) continue;
        k2t_diag *d = k2t_diag_new(m);
        int n = k2t_findings(d, e->node, K2T_PIT_BIT(K2T_PIT_TRANSPOSE), &p.emu, &base->emu, f, 8);
        k2t_diag_free(d);
        snprintf(pat, sizeof pat, "torch.from_numpy(%s)", w->name);
        for (int j = 0; j < n && j < 8; j++)
            if (f[j].hazard && strstr(f[j].code, pat)) k2t_print_finding(sh, &f[j], K2T_FINDING_WHY);
        k2t_printf(sh, "  evidence: emulating it for %s alone on %s (set weights.transpose off for that kernel) "
                   "gives max|diff| %.4g to %s, against %.4g for Keras: it reproduces the port\n", w->name,
                   m->nodes[e->node].name, mad, e->z->name, e->mad);
    }
    for (int k = 0; k < nw; k++) free(wrong[k]);
    return found;
}

/* Explain the first divergence: every emulated pitfall that concerns the
** layer (it has a finding there) is tried on the layer alone, fed Keras's
** inputs; one that reproduces the port's array is stated with its finding
** (the text and fix check and diff print); one that only comes closer is
** stated as partial; none: "no known port convention explains it". */
static void explain(cmp *c, const ent *e)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->m;
    const k2t_layer *L = k2t_node_layer(m, e->node);
    k2t_profile base = *k2t_profile_find(sh, "torch");
    base.emu.preprocess = sh->set.emu.preprocess;
    struct { k2t_pit pit; k2t_profile p; double mad; } h[K2T_PIT_COUNT];
    int nh = 0;
    k2t_diag *d = k2t_diag_new(m);
    for (int t = 0; t < K2T_PIT_COUNT; t++) {
        const k2t_pitfall *P = &k2t_pitfalls[t];
        k2t_finding f[4];
        k2t_err err = {0};
        if (!P->in_profiles || t == K2T_PIT_LAYOUT) continue; /* the base already runs NCHW */
        h[nh].pit = (k2t_pit)t;
        h[nh].p = base;
        snprintf(h[nh].p.name, sizeof h[nh].p.name, "compare");
        if (k2t_emu_set(&h[nh].p.emu, (k2t_pit)t, t == K2T_PIT_BN_EPS ? "torch" : P->names[1], &err) != K2T_OK)
            continue;
        int n = k2t_findings(d, e->node, K2T_PIT_BIT(t), &h[nh].p.emu, &base.emu, f, 4), any = 0;
        for (int k = 0; k < n && k < 4; k++) any |= f[k].hazard;
        if (any) nh++;
    }
    k2t_diag_free(d);
    int pick = -1, conf = 0;
    for (int i = 0; i < nh; i++) {
        h[i].mad = emulate(c, &h[i].p, e);
        if (h[i].mad < 0) continue;
        if (within(sh, h[i].mad, e->ref) && !conf) pick = i, conf = 1;
    }
    if (!conf && one_kernel(c, e, &base)) return;
    if (!conf)
        for (int i = 0; i < nh; i++)
            if (h[i].mad >= 0 && h[i].mad < 0.5 * e->mad && (pick < 0 || h[i].mad < h[pick].mad)) pick = i;
    if (pick < 0) {
        char desc[512];
        k2t_layer_describe(m, L, desc, sizeof desc);
        k2t_printf(sh, "  why: no known port convention explains it; the layer: %s%s%s\n", L->class_name,
                   desc[0] ? ", " : "", desc);
        return;
    }
    char v[64];
    const k2t_pitfall *P = &k2t_pitfalls[h[pick].pit];
    k2t_shell_why(sh, e->node, &base.emu, &h[pick].p.emu);
    k2t_printf(sh, "  evidence: emulating it on %s alone (set %s %s) gives max|diff| %.4g to %s, against %.4g for "
               "Keras%s\n", m->nodes[e->node].name, P->key, k2t_emu_value(&h[pick].p.emu, h[pick].pit, v, sizeof v),
               h[pick].mad, e->z->name, e->mad, conf ? ": it reproduces the port" : ": closer, but something else "
               "differs too");
}

/*--------------------------------------------------------------- --map */

/* Read 'torch_name keras_layer' lines into the entries' map_node. */
static int read_map(k2t_shell *sh, int argi, const char *path, ent *es, int ne, const char *npz)
{
    const k2t_model *m = sh->model;
    FILE *f = fopen(path, "r");
    if (!f) return k2t_error(sh, argi, "compare: cannot open map '%s': %s", path, strerror(errno));
    char line[1024];
    int ln = 0, rc = K2T_CMD_OK;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char a[512], b[512], extra[8];
        int k = sscanf(line, "%511s %511s %7s", a, b, extra);
        if (k <= 0) continue;
        if (k != 2) {
            rc = k2t_error(sh, -1, "compare: %s:%d: expected 'TORCH_NAME KERAS_LAYER' (or '-' to skip it)", path, ln);
            break;
        }
        int ei = -1;
        for (int i = 0; i < ne && ei < 0; i++)
            if (!strcmp(es[i].z->name, a)) ei = i;
        if (ei < 0) {
            rc = k2t_error(sh, -1, "compare: %s:%d: no array '%s' in '%s'", path, ln, a, npz);
            break;
        }
        if (es[ei].map_line) {
            rc = k2t_error(sh, -1, "compare: %s:%d: '%s' is mapped already (line %d)", path, ln, a,
                           es[ei].map_line);
            break;
        }
        int node = -2;
        if (strcmp(b, "-")) {
            node = k2t_find_node(m, b);
            if (node < 0) {
                int li = k2t_find_layer(m, b);
                if (li >= 0) node = k2t_find_node(m, m->layers[li].name);
            }
            if (node < 0) {
                rc = k2t_error(sh, -1, "compare: %s:%d: unknown layer '%s' (\"layers\" lists them)", path, ln, b);
                break;
            }
        }
        es[ei].map_node = node;
        es[ei].map_line = ln;
    }
    fclose(f);
    return rc;
}

/*-------------------------------------------------------------- command */

/* The layouts an array is read in: (N,C,H,W) as (N,H,W,C), (N,C,L) as
** (N,L,C), then as stored; the batch axis comes off. */
static void make_views(ent *e)
{
    const k2t_array *a = &e->z->a;
    int nd = a->shape.ndim;
    e->nv = 0;
    if (nd == 3 || nd == 4) {
        int64_t n = a->shape.d[0], C = a->shape.d[1], sp = 1;
        for (int i = 2; i < nd; i++) sp *= a->shape.d[i];
        e->conv = k2t_xmalloc((size_t)(n * C * sp + 1) * sizeof(float));
        for (int64_t b = 0; b < n; b++)
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t q = 0; q < sp; q++)
                    e->conv[(b * sp + q) * C + ch] = a->data[(b * C + ch) * sp + q];
        k2t_shape s = {nd - 1, {0}};
        for (int i = 2; i < nd; i++) s.d[i - 2] = a->shape.d[i];
        s.d[nd - 2] = C;
        e->vs[e->nv] = s;
        e->vd[e->nv++] = e->conv;
    }
    k2t_shape s = {nd - 1, {0}};
    for (int i = 1; i < nd; i++) s.d[i - 1] = a->shape.d[i];
    e->vs[e->nv] = s;
    e->vd[e->nv++] = a->data;
}

static int cmd_compare(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    const char *path = NULL, *map = NULL;
    int map_argi = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--map")) {
            if (i + 1 >= argc) return k2t_error(sh, i, "compare: --map needs a FILE");
            map = argv[++i];
            map_argi = i;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return k2t_error(sh, i, "compare: unknown option '%s' (--map FILE)", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return k2t_error(sh, i, "compare: unexpected argument '%s'", argv[i]);
        }
    }
    if (!path) return k2t_error(sh, -1, "compare: which file? Usage: compare FILE.npz [--map FILE]");
    if (sh->in.n == 0)
        return k2t_error(sh, -1, "compare: no input (set the input the port was run on: \"input FILE.npy\", "
                         "\"input cifar FILE 0:4\" ...)");
    if (m->n_inputs != 1)
        return k2t_error(sh, -1, "compare: the model has %d inputs; k2t feeds single-input models", m->n_inputs);
    cmp c;
    memset(&c, 0, sizeof c);
    c.sh = sh, c.m = m, c.n = sh->in.n, c.P = -1;
    if (k2t_shell_input_shape(sh, "compare", &c.per) != K2T_CMD_OK) return K2T_CMD_ERR;
    char s1[96], s2[96], s3[96];

    k2t_npz z;
    if (k2t_npz_read(path, &z, &err) != K2T_OK) return k2t_error(sh, 1, "compare: %s", err.msg);
    int ne = z.n, rc = K2T_CMD_OK;
    ent *es = k2t_xcalloc((size_t)ne, sizeof *es);
    for (int i = 0; i < ne; i++) {
        es[i].z = &z.e[i];
        es[i].map_node = -1;
        es[i].node = -1;
        if (z.e[i].a.data && z.e[i].a.shape.ndim >= 1) make_views(&es[i]);
    }
    if (map && (rc = read_map(sh, map_argi, map, es, ne, path)) != K2T_CMD_OK) goto done;

    /* The Keras run: every activation kept, Keras's own semantics. */
    int64_t numel = k2t_shape_numel(&sh->in.a.shape);
    c.x = k2t_xmalloc((size_t)(numel ? numel : 1) * sizeof(float));
    memcpy(c.x, sh->in.a.data, (size_t)numel * sizeof(float));
    if (sh->in.a.pixels &&
        k2t_preprocess(c.x, numel, (int)c.per.d[c.per.ndim - 1], sh->set.emu.preprocess, &err) != K2T_OK) {
        rc = k2t_error(sh, -1, "compare: %s", err.msg);
        goto done;
    }
    k2t_profile kp = *k2t_profile_find(sh, "keras");
    kp.emu.preprocess = sh->set.emu.preprocess;
    k2t_opts o;
    k2t_profile_opts(sh, &kp, &o, 1);
    c.rk = k2t_run_new(m, &o, &c.per, c.n, &err);
    if (!c.rk || k2t_run_set_input(c.rk, 0, c.x, c.n, &err) != K2T_OK ||
        k2t_run_nodes(c.rk, 0, m->n_nodes, &err) != K2T_OK) {
        rc = k2t_error(sh, -1, "compare: %s", err.msg);
        goto done;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        int64_t q = k2t_shape_numel(k2t_run_keras_shape(c.rk, i));
        if (q > c.max_numel) c.max_numel = q;
    }
    c.scratch = k2t_xmalloc((size_t)(c.max_numel * c.n + 1) * sizeof(float));
    c.scratch2 = k2t_xmalloc((size_t)(c.max_numel * c.n + 1) * sizeof(float));

    /* Arrays that cannot be any layer's: another batch, nothing that shape. */
    int n_batch = 0, n_fit = 0;
    for (int i = 0; i < ne; i++) {
        ent *e = &es[i];
        if (!e->z->a.data) {
            snprintf(e->why, sizeof e->why, "%s", e->z->skip ? e->z->skip : "not read");
            continue;
        }
        if (e->z->a.shape.ndim < 1 || e->z->a.shape.d[0] != c.n) {
            snprintf(e->why, sizeof e->why, "shape %s: not a batch of %d sample%s",
                     k2t_shape_str(&e->z->a.shape, 0, s1, sizeof s1), c.n, c.n == 1 ? "" : "s");
            e->nv = 0;
            continue;
        }
        n_batch++;
        int any = 0;
        for (int j = 0; j < m->n_nodes && !any; j++)
            for (int v = 0; v < e->nv && !any; v++) any = shape_fits(&e->vs[v], k2t_run_keras_shape(c.rk, j));
        n_fit += any;
        if (e->map_node >= 0) {
            const k2t_shape *ks = k2t_run_keras_shape(c.rk, e->map_node);
            int ok = 0;
            for (int v = 0; v < e->nv; v++) ok |= shape_fits(&e->vs[v], ks);
            if (!ok) {
                rc = k2t_error(sh, -1, "compare: %s:%d: '%s' has shape %s, %s per sample in Keras's layout; "
                               "layer '%s' outputs %s", map, e->map_line, e->z->name,
                               k2t_shape_str(&e->z->a.shape, 0, s1, sizeof s1),
                               k2t_shape_str(&e->vs[0], 0, s2, sizeof s2), m->nodes[e->map_node].name,
                               k2t_shape_str(ks, 0, s3, sizeof s3));
                goto done;
            }
        }
    }
    if (n_batch == 0) {
        rc = k2t_error(sh, 1, "compare: no array in '%s' holds a batch of %d sample%s, as the current input does "
                       "(%s); dump the port on the same input", path, c.n, c.n == 1 ? "" : "s", sh->in.desc);
        goto done;
    }
    if (n_fit == 0) {
        char list[256] = "";
        size_t w = 0;
        for (int i = 0, k = 0; i < ne && k < 3; i++)
            if (es[i].nv && w < sizeof list) {
                w += (size_t)snprintf(list + w, sizeof list - w, "%s'%s' %s", k++ ? ", " : "", es[i].z->name,
                                      k2t_shape_str(&es[i].z->a.shape, 0, s1, sizeof s1));
            }
        rc = k2t_error(sh, 1, "compare: no array in '%s' fits a layer of the model (%s%s): are they this "
                       "model's activations? (\"shapes\" lists the layers)", path, list, ne > 3 ? ", ..." : "");
        goto done;
    }

    /* Align. */
    c.n_blocks = k2t_find_blocks(m, &c.blocks);
    c.block_of = k2t_xmalloc((size_t)m->n_nodes * sizeof(int));
    for (int j = 0; j < m->n_nodes; j++) c.block_of[j] = k2t_block_of(c.blocks, c.n_blocks, j);
    c.done = k2t_xcalloc((size_t)m->n_nodes, sizeof(int));
    c.anc = k2t_xcalloc((size_t)m->n_nodes, 1);
    c.reserved = k2t_xcalloc((size_t)m->n_nodes, 1);
    for (int i = 0; i < ne; i++)
        if (es[i].map_node >= 0) c.reserved[es[i].map_node] = 1;
    int first = -1;
    for (int i = 0; i < ne; i++) {
        ent *e = &es[i];
        if (!e->nv) continue;
        if (e->map_node == -2) {
            snprintf(e->why, sizeof e->why, "skipped (--map)");
            continue;
        }
        if (e->map_node >= 0) {
            cand best, k;
            int have = 0, j = e->map_node;
            for (int pre = 0; pre <= 1; pre++) {
                if (pre && !k2t_run_preact(c.rk, j)) continue;
                for (int chw = 0; chw <= (!pre && spatial_flatten(m, j) >= 0); chw++)
                    if (try_node(&c, e, j, pre, chw, &k) && (!have || k.rel < best.rel)) best = k, have = 1;
            }
            take(&c, e, &best);
            if (!e->pass && first < 0) first = i;
            continue;
        }
        /* A container's output repeats its last child's: the same tensor. */
        for (int k = i - 1; k >= 0 && e->state == E_UNMATCHED; k--) {
            const k2t_array *a = &e->z->a, *b = &es[k].z->a;
            if (!es[k].nv || a->shape.ndim != b->shape.ndim) continue;
            int same = 1;
            for (int d = 0; d < a->shape.ndim && same; d++) same = a->shape.d[d] == b->shape.d[d];
            if (same && !memcmp(a->data, b->data, (size_t)k2t_shape_numel(&a->shape) * sizeof(float))) {
                e->state = E_REPEAT;
                e->repeat_of = es[k].state == E_REPEAT ? es[k].repeat_of : k;
            }
        }
        if (e->state == E_REPEAT) continue;
        if (align(&c, e, first >= 0)) first = i;
    }

    /* Print. */
    int wn = 8, wl = 8, n_match = 0, n_fail = 0, n_un = 0, n_rep = 0;
    double maxd = 0;
    char lab[300];
    for (int i = 0; i < ne; i++) {
        int l = (int)strlen(es[i].z->name);
        if (l > wn) wn = l < 40 ? l : 40;
        if (es[i].state == E_MATCHED) {
            l = (int)strlen(m->nodes[es[i].node].name) + (int)strlen(k2t_node_layer(m, es[i].node)->class_name) + 3;
            if (l > wl) wl = l < 60 ? l : 60;
        }
    }
    k2t_printf(sh, "compare: %s, %d array%s (order: %s); Keras on %d sample%s; pass when max|torch-keras| <= "
               "%g + %g*max|keras|\n", path, ne, ne == 1 ? "" : "s", z.ordered ? "__order__" : "the archive's", c.n,
               c.n == 1 ? "" : "s", sh->set.diff_atol, sh->set.diff_rtol);
    for (int i = 0; i < ne; i++) {
        const ent *e = &es[i];
        if (e->state == E_REPEAT) {
            n_rep++;
            k2t_printf(sh, "%-*s = %s %s(the same tensor: a container's output, or an identity; skipped)%s\n", wn, e->z->name,
                       es[e->repeat_of].z->name, k2t_c_dim(sh), k2t_c_off(sh));
            continue;
        }
        if (e->state == E_UNMATCHED) {
            n_un++;
            k2t_printf(sh, "%-*s   %sunmatched: %s%s\n", wn, e->z->name, k2t_c_dim(sh), e->why, k2t_c_off(sh));
            continue;
        }
        n_match++;
        if (!e->pass) n_fail++;
        if (!(e->mad <= maxd)) maxd = e->mad;
        const k2t_layer *L = k2t_node_layer(m, e->node);
        snprintf(lab, sizeof lab, "%s (%s%s%s)", m->nodes[e->node].name, L->class_name,
                 e->pre ? ", pre-activation" : "", e->chw ? ", CHW order" : "");
        k2t_printf(sh, "%-*s ~ %-*s  %11.4g  %s%s%s%s%s\n", wn, e->z->name, wl, lab, e->mad,
                   e->pass ? "" : k2t_c_warn(sh), e->pass ? "ok" : "FAIL", e->pass ? "" : k2t_c_off(sh),
                   e->map_line ? "  (--map)" : "", i == first ? "  <- first divergence" : "");
    }
    k2t_var_num(sh, "max_abs_diff", maxd);
    k2t_var_num(sh, "matched_entries", n_match);
    k2t_var_num(sh, "failed_entries", n_fail);
    k2t_var_num(sh, "unmatched_entries", n_un);
    if (first < 0) {
        k2t_printf(sh, "no divergence: every matched array within tolerance (%d matched, %d unmatched, %d repeated; "
                   "max|diff| %g)\n", n_match, n_un, n_rep, maxd);
        k2t_var_set(sh, "first_divergence", "none");
    } else {
        const ent *e = &es[first];
        k2t_printf(sh, "%sfirst divergence: %s (torch: %s)%s\n", k2t_c_bold(sh), m->nodes[e->node].name,
                   e->z->name, k2t_c_off(sh));
        explain(&c, e);
        k2t_printf(sh, "%d of %d arrays matched, %d out of tolerance, %d unmatched, %d repeated; max|diff| %g\n",
                   n_match, ne, n_fail, n_un, n_rep, maxd);
        k2t_var_set(sh, "first_divergence", "%s", m->nodes[e->node].name);
    }
done:
    for (int i = 0; i < ne; i++) free(es[i].conv);
    free(es);
    k2t_npz_free(&z);
    k2t_run_free(c.rk);
    free(c.x);
    free(c.scratch);
    free(c.scratch2);
    if (c.blocks) k2t_blocks_free(c.blocks, c.n_blocks);
    free(c.block_of);
    free(c.done);
    free(c.anc);
    free(c.reserved);
    return rc;
}

static void complete_compare(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh;
    if (argi > 1 && !strcmp(argv[argi - 1], "--map")) {
        k2t_complete_files(prefix, NULL, out);
        return;
    }
    if (prefix[0] == '-') k2t_complete_words("--map", prefix, out);
    else k2t_complete_files(prefix, ".npz", out);
}

const k2t_command k2t_cmd_compare = {
    .name = "compare", .group = "debug", .min_args = 1, .max_args = 3, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "compare FILE.npz [--map FILE]",
    .summary = "Align a PyTorch port's activations (an .npz) with the Keras layers and name the first divergent one.",
    .help = "FILE holds the port's activations on the current input, in execution order and PyTorch\n"
            "layout (scripts/torch_dump.py writes it: one array per module, order in __order__).\n"
            "k2t runs the Keras model on the same input and pairs each array with a layer by order,\n"
            "shape and value: arrays may skip layers (functional ops have no module), a shortcut may\n"
            "come after its block's body, a Linear may match a Dense's pre-activation (softmax\n"
            "outside the model), a container's array repeats its last child's.  (N,C,H,W) is read\n"
            "as (N,H,W,C).  One line per array: torch_name ~ keras_layer (Class), max|diff|, ok/FAIL\n"
            "against diff.atol + diff.rtol * max|keras|; then the first divergence, why (from the\n"
            "layer's config, checked by emulating the convention on that layer), or \"no divergence\".\n"
            "--map FILE: 'torch_name keras_layer' lines ('-' skips the array; # comments) that\n"
            "override the alignment.  Publishes $first_divergence (\"none\"), $max_abs_diff,\n"
            "$matched_entries, $failed_entries, $unmatched_entries.",
    .complete = complete_compare, .fn = cmd_compare,
};
