/*
** align.c -- a PyTorch port's dumped activations paired with the Keras layers.
**
** The arrays of a dump (scripts/torch_dump.py: one per module, in execution
** order, PyTorch layout) are paired with the Keras layer that computed
** each, on a Keras run of the same input.  The pairing goes by order, shape
** and value, because a port is not a copy of the graph:
**
**   - functional ops have no module (F.relu(x + y): no array for the Add or
**     its ReLU), so the arrays skip layers: search forward within a window;
**   - a block's shortcut may run after its body: go back within the current
**     residual block to layers no matched layer depends on;
**   - a Linear returns logits where the Dense ends in softmax: compare with
**     the Dense's pre-activation (and a Conv2d with a fused activation's);
**   - containers repeat their last child's output: skip the exact repeat;
**   - a Flatten of an NCHW map is in CHW order: accept it in that order;
**   - a module fed exactly the previous array pairs by structure: that
**     array is an intermediate of the same layer.
**
** An array whose best candidate is within atol + rtol * max|keras| is
** matched; the first array with no candidate within tolerance is paired with
** the layer expected next by order (and by its module's class when the dump
** names it), or with the layer that, run on the module's own recorded input,
** gives its output.  Each module is also checked on its own input, and a
** recurrent module's final state against its layer's last state.  Nothing
** here prints: commands/compare.c reports the pairing and diagnoses it.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "align.h"

typedef k2t_align_entry ent;
enum { E_UNMATCHED = K2T_ENT_UNMATCHED, E_MATCHED = K2T_ENT_MATCHED, E_REPEAT = K2T_ENT_REPEAT, E_STATE = K2T_ENT_STATE };

/* One candidate pairing. */
typedef struct cand {
    int node, pre, chw, view;
    double mad, ref, rel;
    int p;                /* position in execution order: 2*node + (pre ? 0 : 1) */
} cand;

/*--------------------------------------------------------------- helpers */

static int weighted(const k2t_model *m, int i)
{
    return k2t_node_layer(m, i)->n_w > 0;
}

/* Equal shapes once axes of size 1 are dropped (torch (C,1,1) is Keras (1,1,C) or (C,)). */
int k2t_align_shape_fits(const k2t_shape *a, const k2t_shape *b)
{
    int64_t x[K2T_MAX_DIMS], y[K2T_MAX_DIMS];
    int nx = 0, ny = 0;
    for (int i = 0; i < a->ndim; i++) if (a->d[i] != 1) x[nx++] = a->d[i];
    for (int i = 0; i < b->ndim; i++) if (b->d[i] != 1) y[ny++] = b->d[i];
    if (nx != ny) return 0;
    for (int i = 0; i < nx; i++) if (x[i] != y[i]) return 0;
    return 1;
}

void k2t_align_measure(const float *a, const float *b, int64_t cnt, double *mad, double *ref)
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

int k2t_align_within(const k2t_align *c, double mad, double ref)
{
    return mad <= c->atol + c->rtol * ref;
}

static double rel_of(double mad, double ref)
{
    if (mad != mad) return INFINITY;
    return mad / (ref > 0 ? ref : 1e-30);
}

/* A Flatten whose input is a spatial map (H*W > 1 and C > 1): a port may
** flatten it in CHW order.  Returns the input node, or -1. */
int k2t_align_spatial_flatten(const k2t_model *m, int node)
{
    const k2t_node *N = &m->nodes[node];
    if (!k2t_op_flattens(k2t_node_layer(m, node)->op) || N->n_in != 1) return -1;
    const k2t_shape *s = &m->nodes[N->in[0]].shape;
    if (s->ndim != 3 || s->d[0] * s->d[1] <= 1 || s->d[2] <= 1) return -1;
    return N->in[0];
}

/* The Keras tensor for a candidate, batch first, in Keras layout. */
static const float *ref_data(k2t_align *c, int node, int pre, int chw)
{
    if (pre) return k2t_run_preact(c->rk, node)->data;
    if (!chw) return k2t_run_output(c->rk, node)->data;
    int src = k2t_align_spatial_flatten(c->m, node);
    const k2t_shape *s = k2t_run_keras_shape(c->rk, src);
    const float *in = k2t_run_output(c->rk, src)->data;
    int64_t H = s->d[0], W = s->d[1], C = s->d[2], hw = H * W;
    for (int64_t b = 0; b < c->n; b++)
        for (int64_t q = 0; q < hw; q++)
            for (int64_t ch = 0; ch < C; ch++)
                c->scratch[b * hw * C + ch * hw + q] = in[b * hw * C + q * C + ch];
    return c->scratch;
}

static void mark_ancestors(k2t_align *c, int node)
{
    const k2t_node *N = &c->m->nodes[node];
    for (int j = 0; j < N->n_in; j++) {
        int i = N->in[j];
        if (c->anc[i]) continue;
        c->anc[i] = 1;
        mark_ancestors(c, i);
    }
}

static void take(k2t_align *c, ent *e, const cand *k)
{
    e->state = E_MATCHED;
    e->node = k->node, e->pre = k->pre, e->chw = k->chw, e->view = k->view;
    e->mad = k->mad, e->ref = k->ref;
    e->pass = k2t_align_within(c, k->mad, k->ref);
    if (c->done[k->node] < (k->pre ? 1 : 2)) c->done[k->node] = k->pre ? 1 : 2;
    mark_ancestors(c, k->node);
    if (k->p > c->P) c->P = k->p;
}

/* Compare e with node (pre, chw) in every view that fits; the best into *k. */
static int try_node(k2t_align *c, const ent *e, int node, int pre, int chw, cand *k)
{
    const k2t_shape *ks = k2t_run_keras_shape(c->rk, node);
    int found = 0;
    for (int v = 0; v < e->nv; v++) {
        if (!k2t_align_shape_fits(&e->vs[v], ks)) continue;
        const float *r = ref_data(c, node, pre, chw);
        double mad, ref;
        k2t_align_measure(e->vd[v], r, k2t_shape_numel(ks) * c->n, &mad, &ref);
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
static int kind_fits(k2t_align *c, const char *cls, const cand *k)
{
    k2t_op op = k2t_node_layer(c->m, k->node)->op;
    int has_pre = k2t_run_preact(c->rk, k->node) != NULL;
    int main_part = k->pre || !has_pre; /* the layer's own computation, before a fused activation */
    if (!cls || !k2t_op_torch_module(K2T_OP_COUNT, cls)) return !k2t_op_is_merge(op);
    if (k2t_op_torch_module(op, cls)) return main_part || !k2t_op_has_weights(op);
    return !k->pre && has_pre && k2t_torch_activation(cls); /* a fused activation */
}

/*------------------------------------------- a module on its own input */

/* Is a module of class cls the activation that node fuses (matched on its output)? */
int k2t_align_fused_act(const k2t_align *c, const char *cls, int node, int pre)
{
    const k2t_layer *L = k2t_node_layer(c->m, node);
    return !pre && cls && k2t_torch_activation(cls) && k2t_run_preact(c->rk, node) &&
           !k2t_op_torch_module(L->op, cls);
}

/* The port's recorded input 'in' read as Keras node src's output (Keras
** layout, batch first) into out: v 0 (N,C,...) as (N,...,C), 1 as stored,
** 2 a flat vector in CHW order when src is a Flatten of a map, reordered
** to HWC, 3 a sequence (N,T,F) stored last step first (a port that flips
** the sequence for a go_backwards layer: nn.RNN has no go_backwards).
** Returns 0 when that reading does not fit. */
int k2t_align_in_view(k2t_align *c, const k2t_npz_entry *in, int src, int v, float *out)
{
    const k2t_array *a = &in->a;
    const k2t_shape *ks = k2t_run_keras_shape(c->rk, src);
    int nd = a->shape.ndim;
    if (!a->data || nd < 1 || a->shape.d[0] != c->n) return 0;
    int64_t per = k2t_shape_numel(&a->shape) / c->n;
    if (per != k2t_shape_numel(ks)) return 0;
    k2t_shape s = {nd - 1, {0}};
    if (v == 0) {
        if (nd != 3 && nd != 4) return 0;
        int64_t C = a->shape.d[1], sp = per / (C ? C : 1);
        for (int i = 2; i < nd; i++) s.d[i - 2] = a->shape.d[i];
        s.d[nd - 2] = C;
        if (!k2t_align_shape_fits(&s, ks)) return 0;
        for (int64_t b = 0; b < c->n; b++)
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t q = 0; q < sp; q++) out[(b * sp + q) * C + ch] = a->data[(b * C + ch) * sp + q];
        return 1;
    }
    if (v == 1 || v == 3) {
        for (int i = 1; i < nd; i++) s.d[i - 1] = a->shape.d[i];
        if (!k2t_align_shape_fits(&s, ks) || (v == 3 && nd != 3)) return 0;
        if (v == 1) {
            memcpy(out, a->data, (size_t)(per * c->n) * sizeof(float));
            return 1;
        }
        int64_t T = a->shape.d[1], F = a->shape.d[2];
        for (int64_t b = 0; b < c->n; b++)
            for (int64_t t = 0; t < T; t++)
                memcpy(out + (b * T + t) * F, a->data + (b * T + T - 1 - t) * F, (size_t)F * sizeof(float));
        return 1;
    }
    int f = k2t_align_spatial_flatten(c->m, src);
    if (f < 0 || nd != 2) return 0;
    const k2t_shape *fs = k2t_run_keras_shape(c->rk, f);
    int64_t C = fs->d[2], hw = fs->d[0] * fs->d[1];
    for (int64_t b = 0; b < c->n; b++)
        for (int64_t q = 0; q < hw; q++)
            for (int64_t ch = 0; ch < C; ch++) out[b * per + q * C + ch] = a->data[b * per + ch * hw + q];
    return 1;
}

/* How the port's input 'in' reads as node's (single) input: the reading
** closest to what Keras feeds it (an NCHW map, as stored, a vector
** flattened in CHW order); -1 when none fits, or when the input is the
** output of an earlier module that is not paired with that input (a layer
** split over modules: a SeparableConv2D's pointwise half, fed its
** depthwise half: an array paired with no layer). */
static int input_view(k2t_align *c, const k2t_npz_entry *in, int node)
{
    const k2t_node *N = &c->m->nodes[node];
    if (!in || N->n_in != 1) return -1;
    int src = N->in[0], eq = 0, paired = 0;
    int64_t cnt = k2t_shape_numel(&in->a.shape);
    for (int i = 0; i < c->ne; i++) {
        const ent *p = &c->es[i];
        if (!p->nv || p->z == in || k2t_shape_numel(&p->z->a.shape) != cnt ||
            memcmp(p->z->a.data, in->a.data, (size_t)cnt * sizeof(float)))
            continue;
        eq = 1;
        if (p->state == E_MATCHED) paired = 1;
        if (p->state == E_REPEAT && c->es[p->repeat_of].state == E_MATCHED) paired = 1;
    }
    (void)src;
    if (eq && !paired) return -1;
    const k2t_shape *ks = k2t_run_keras_shape(c->rk, src);
    const float *kx = k2t_run_output(c->rk, src)->data;
    int best = -1;
    double bd = 0;
    for (int v = 0; v < 4; v++) {
        double d, r;
        if (!k2t_align_in_view(c, in, src, v, c->inbuf)) continue;
        k2t_align_measure(c->inbuf, kx, k2t_shape_numel(ks) * c->n, &d, &r);
        if (best < 0 || d < bd) best = v, bd = d;
    }
    return best;
}

/* Keras's node (its pre-activation with pre) computed from the port's input
** 'in' read as view v, into c->scratch2.  0 when it cannot run. */
int k2t_align_local_run(k2t_align *c, const k2t_npz_entry *in, int node, int pre, int v)
{
    const k2t_node *N = &c->m->nodes[node];
    k2t_err err = {0};
    if (N->n_in != 1 || !k2t_align_in_view(c, in, N->in[0], v, c->inbuf)) return 0;
    if (k2t_run_inject(c->rl, N->in[0], c->inbuf, &err) != K2T_OK ||
        k2t_run_nodes(c->rl, node, node + 1, &err) != K2T_OK ||
        k2t_run_keras(c->rl, node, pre, c->scratch2, &err) != K2T_OK)
        return 0;
    return 1;
}

/* The activation node fuses, applied to the port's input 'in' (the
** pre-activation a fused-activation module got), into c->scratch2. */
int k2t_align_local_act(k2t_align *c, const k2t_npz_entry *in, int node, k2t_act act, int *lv)
{
    const k2t_shape *ks = k2t_run_keras_shape(c->rk, node);
    for (int v = 0; v < 2; v++) {
        const k2t_array *a = &in->a;
        if (!a->data || a->shape.d[0] != c->n || k2t_shape_numel(&a->shape) != k2t_shape_numel(ks) * c->n) continue;
        k2t_shape s = {a->shape.ndim - 1, {0}};
        int nd = a->shape.ndim;
        if (v == 0 && (nd == 3 || nd == 4)) {
            for (int i = 2; i < nd; i++) s.d[i - 2] = a->shape.d[i];
            s.d[nd - 2] = a->shape.d[1];
        } else if (v == 0) {
            continue;
        } else {
            for (int i = 1; i < nd; i++) s.d[i - 1] = a->shape.d[i];
        }
        if (!k2t_align_shape_fits(&s, ks)) continue;
        if (v == 0) {
            int64_t C = a->shape.d[1], sp = k2t_shape_numel(ks) / C;
            for (int64_t b = 0; b < c->n; b++)
                for (int64_t ch = 0; ch < C; ch++)
                    for (int64_t q = 0; q < sp; q++)
                        c->scratch2[(b * sp + q) * C + ch] = a->data[(b * C + ch) * sp + q];
        } else {
            memcpy(c->scratch2, a->data, (size_t)k2t_shape_numel(&a->shape) * sizeof(float));
        }
        int64_t last = ks->ndim ? ks->d[ks->ndim - 1] : 1;
        k2t_act_apply(c->scratch2, k2t_shape_numel(ks) * c->n / (last ? last : 1), last, act);
        *lv = v;
        return 1;
    }
    return 0;
}

/* Check module output 'vd' (Keras layout, paired with node/pre) on the
** module's own input: Keras's layer run on it.  Returns 1 with *mad (and
** the input reading *lv) when it could run. */
static int local_eval(k2t_align *c, const char *cls, const k2t_npz_entry *in, const float *vd, int node, int pre, int chw,
                      double *mad, int *lv)
{
    const k2t_shape *ks = k2t_run_keras_shape(c->rk, node);
    int64_t cnt = k2t_shape_numel(ks) * c->n;
    double ref;
    if (!in || chw) return 0;
    if (k2t_align_fused_act(c, cls, node, pre)) {
        if (!k2t_align_local_act(c, in, node, k2t_node_layer(c->m, node)->cfg.act, lv)) return 0;
        k2t_align_measure(vd, c->scratch2, cnt, mad, &ref);
        return 1;
    }
    int v = input_view(c, in, node);
    if (v < 0 || !k2t_align_local_run(c, in, node, pre, v)) return 0;
    k2t_align_measure(vd, c->scratch2, cnt, mad, &ref);
    *lv = v;
    return 1;
}

void k2t_align_local_check(k2t_align *c, ent *e)
{
    double mad = 0;
    int lv = 0;
    if (e->state != E_MATCHED) return;
    if (!local_eval(c, e->z->cls, e->in, e->vd[e->view], e->node, e->pre, e->chw, &mad, &lv)) return;
    e->lmad = mad, e->lview = lv;
    e->loc = k2t_align_within(c, mad, e->ref) ? 1 : 2;
}

/*------------------------------------------------------------- alignment */

/* Last node of the forward window after node jf: at least 8 nodes, and up
** to the 4th layer with weights (the ones a port always has modules for). */
static int window_end(const k2t_align *c, int jf)
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
static int candidates(k2t_align *c, const ent *e, cand **out)
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
            for (int chw = 0; chw <= (!pre && k2t_align_spatial_flatten(m, j) >= 0); chw++) {
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
static int align(k2t_align *c, ent *e, int diverged)
{
    cand *v;
    int nc = candidates(c, e, &v);
    if (nc == 0) {
        char s1[96];
        k2t_shape full = e->vs[0];
        int any = 0;
        for (int j = 0; j < c->m->n_nodes && !any; j++)
            for (int w = 0; w < e->nv && !any; w++) any = k2t_align_shape_fits(&e->vs[w], k2t_run_keras_shape(c->rk, j));
        snprintf(e->why, sizeof e->why, "%s outputs %s", any ? "no layer near here" : "no layer of the model",
                 k2t_shape_str(&full, 0, s1, sizeof s1));
        free(v);
        return 0;
    }
    int best = 0;
    for (int i = 1; i < nc; i++)
        if (v[i].rel < v[best].rel || (v[i].rel == v[best].rel && v[i].p < v[best].p)) best = i;
    if (k2t_align_within(c, v[best].mad, v[best].ref)) {
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
    /* By values: the layer that, run on this module's own input, gives its
    ** output (the first by order), whatever came before. */
    if (e->in) {
        int lp = -1;
        for (int i = 0; i < nc; i++) {
            double d;
            int lv;
            if (!kind_fits(c, cls, &v[i]) && cls) continue;
            if (!local_eval(c, cls, e->in, e->vd[v[i].view], v[i].node, v[i].pre, v[i].chw, &d, &lv)) continue;
            if (k2t_align_within(c, d, v[i].ref) && (lp < 0 || v[i].p < v[lp].p)) lp = i;
        }
        if (lp >= 0) pick = lp;
    }
    /* By structure: the next module, fed exactly this array, pairs with the
    ** same layer by its kind: this array is an intermediate of that layer
    ** (a SeparableConv2D's depthwise half with as many outputs as inputs). */
    int self = (int)(e - c->es);
    for (int k = self + 1; k < c->ne; k++) {
        const ent *nx = &c->es[k];
        if (!nx->nv || nx->map_node != -1) continue;
        cand k2;
        const k2t_array *a = &e->z->a, *b = nx->in ? &nx->in->a : NULL;
        /* Fed this array (the dump records inputs), or, in a dump without them, within tolerance of it. */
        int fed = b && b->data && k2t_shape_numel(&a->shape) == k2t_shape_numel(&b->shape) &&
                  !memcmp(a->data, b->data, (size_t)k2t_shape_numel(&a->shape) * sizeof(float));
        if ((fed || (!b && try_node(c, nx, v[pick].node, v[pick].pre, v[pick].chw, &k2) &&
                     k2t_align_within(c, k2.mad, k2.ref))) &&
            try_node(c, nx, v[pick].node, v[pick].pre, v[pick].chw, &k2) && kind_fits(c, nx->z->cls, &k2) &&
            nx->z->cls && cls && k2t_op_torch_module(k2t_node_layer(c->m, v[pick].node)->op, nx->z->cls)) {
            char s1[96];
            snprintf(e->why, sizeof e->why, "an intermediate of %s (%s): '%s', %s this %s, computes its whole "
                     "output", c->m->nodes[v[pick].node].name, k2t_node_layer(c->m, v[pick].node)->class_name,
                     nx->z->name, fed ? "fed" : "next after", k2t_shape_str(&e->vs[0], 0, s1, sizeof s1));
            free(v);
            return 0;
        }
        break;
    }
    take(c, e, &v[pick]);
    free(v);
    return !diverged;
}


/* Pair every array with a layer (--map first, then by order, shape and
** value); returns the index of the first divergent array, or -1. */
int k2t_align_all(k2t_align *c)
{
    const k2t_model *m = c->m;
    int first = -1;
    c->n_blocks = k2t_find_blocks(m, &c->blocks);
    c->block_of = k2t_xmalloc((size_t)m->n_nodes * sizeof(int));
    for (int j = 0; j < m->n_nodes; j++) c->block_of[j] = k2t_block_of(c->blocks, c->n_blocks, j);
    c->done = k2t_xcalloc((size_t)m->n_nodes, sizeof(int));
    c->anc = k2t_xcalloc((size_t)m->n_nodes, 1);
    c->reserved = k2t_xcalloc((size_t)m->n_nodes, 1);
    for (int i = 0; i < c->ne; i++)
        if (c->es[i].map_node >= 0) c->reserved[c->es[i].map_node] = 1;
    for (int i = 0; i < c->ne; i++) {
        ent *e = &c->es[i];
        if (!e->nv) continue;
        if (e->map_node == -2) {
            snprintf(e->why, sizeof e->why, "skipped (--map)");
            continue;
        }
        if (e->map_node >= 0) {
            cand best, k;
            int have = 0, j = e->map_node;
            for (int pre = 0; pre <= 1; pre++) {
                if (pre && !k2t_run_preact(c->rk, j)) continue;
                for (int chw = 0; chw <= (!pre && k2t_align_spatial_flatten(m, j) >= 0); chw++)
                    if (try_node(c, e, j, pre, chw, &k) && (!have || k.rel < best.rel)) best = k, have = 1;
            }
            take(c, e, &best);
            if (!e->pass && first < 0) first = i;
            continue;
        }
        /* A container's output repeats its last child's: the same tensor. */
        for (int k = i - 1; k >= 0 && e->state == E_UNMATCHED; k--) {
            const k2t_array *a = &e->z->a, *b = &c->es[k].z->a;
            if (!c->es[k].nv || a->shape.ndim != b->shape.ndim) continue;
            int same = 1;
            for (int d = 0; d < a->shape.ndim && same; d++) same = a->shape.d[d] == b->shape.d[d];
            if (same && !memcmp(a->data, b->data, (size_t)k2t_shape_numel(&a->shape) * sizeof(float))) {
                e->state = E_REPEAT;
                e->repeat_of = c->es[k].state == E_REPEAT ? c->es[k].repeat_of : k;
            }
        }
        if (e->state == E_REPEAT) continue;
        if (align(c, e, first >= 0)) first = i;
    }
    return first;
}

/* A recurrent module's final state: nn.LSTM/GRU/RNN return (out, h_n) or
** (out, (h_n, c_n)), which torch_dump records as NAME.1 or NAME.1.0 and
** NAME.1.1, each (D*layers, N, units).  Marks it E_STATE ("h_n" or "c_n"
** in why); check_states compares it once NAME.0 is paired. */
int k2t_align_is_state(k2t_align *c, ent *e)
{
    const k2t_array *a = &e->z->a;
    const char *cls = e->z->cls ? e->z->cls : "", *n = e->z->name;
    size_t l = strlen(n);
    if (strcmp(cls, "LSTM") && strcmp(cls, "GRU") && strcmp(cls, "RNN")) return 0;
    if (a->shape.ndim != 3 || a->shape.d[1] != c->n || !a->data) return 0;
    int h = l > 2 && !strcmp(n + l - 2, ".1") && strcmp(cls, "LSTM");
    int hl = l > 4 && !strcmp(n + l - 4, ".1.0"), cl = l > 4 && !strcmp(n + l - 4, ".1.1");
    if (!h && !hl && !cl) return 0;
    e->state = E_STATE;
    e->nv = 0;
    e->node = -1;
    snprintf(e->why, sizeof e->why, "%s", cl ? "c_n" : "h_n");
    return 1;
}

/* h_n's distance from node j's last state (its output without
** return_sequences, its last step with), into e; 0 when j cannot hold it. */
static int state_vs(k2t_align *c, ent *e, int j)
{
    const k2t_array *a = &e->z->a;
    const k2t_shape *ks = k2t_run_keras_shape(c->rk, j);
    k2t_err err = {0};
    int64_t u = a->shape.d[2], T = ks->ndim == 2 ? ks->d[0] : 1;
    if (ks->ndim < 1 || ks->ndim > 2 || ks->d[ks->ndim - 1] != u) return 0;
    if (k2t_run_keras(c->rk, j, 0, c->scratch2, &err) != K2T_OK) return 0;
    double mad = 0, ref = 0;
    for (int s = 0; s < c->n; s++)
        for (int64_t q = 0; q < u; q++) {
            double k = c->scratch2[(s * T + T - 1) * u + q], t = a->data[s * u + q];
            if (fabs(k) > ref) ref = fabs(k);
            if (!(fabs(t - k) <= mad)) mad = fabs(t - k);
        }
    e->node = j;
    e->mad = mad;
    e->ref = ref;
    e->pass = k2t_align_within(c, mad, ref);
    return 1;
}

/* Check each h_n against Keras's last state: of the layer its module's
** output (NAME.0) is paired with, or else of the layer named as the
** module, or else of the recurrent layer of its kind closest to it.  A
** one-direction, one-layer module's h_n[0] is that layer's output without
** return_sequences and its last step with (go_backwards outputs in
** reading order: the last row still).  c_n and bidirectional states are
** only named. */
void k2t_align_states(k2t_align *c)
{
    const k2t_model *m = c->m;
    for (int i = 0; i < c->ne; i++) {
        ent *e = &c->es[i];
        if (e->state != E_STATE || strcmp(e->why, "h_n") || e->z->a.shape.d[0] != 1) continue;
        char base[300];
        const char *n = e->z->name;
        size_t l = strlen(n) - (!strcmp(n + strlen(n) - 2, ".1") ? 2 : 4);
        snprintf(base, sizeof base, "%.*s.0", (int)l, n);
        int j = -1;
        for (int k = 0; k < c->ne && j < 0; k++)
            if (c->es[k].state == E_MATCHED && !c->es[k].pre && !strcmp(c->es[k].z->name, base)) j = c->es[k].node;
        base[l] = '\0';
        if (j < 0) j = k2t_find_node(m, base);
        if (j >= 0 && k2t_op_torch_module(k2t_node_layer(m, j)->op, e->z->cls) && state_vs(c, e, j)) continue;
        ent best = *e;
        int have = 0;
        for (j = 0; j < m->n_nodes; j++) {
            if (!k2t_op_torch_module(k2t_node_layer(m, j)->op, e->z->cls)) continue;
            ent t = *e;
            if (state_vs(c, &t, j) && (!have || t.mad < best.mad)) best = t, have = 1;
        }
        if (have) *e = best;
    }
    /* An LSTM returning its state: c_n is its call's tensor 2 (return_state's c). */
    for (int i = 0; i < c->ne; i++) {
        ent *e = &c->es[i];
        if (e->state != E_STATE || strcmp(e->why, "c_n") || e->z->a.shape.d[0] != 1) continue;
        size_t l = strlen(e->z->name);
        for (int k = 0; k < c->ne; k++) {
            const ent *h = &c->es[k];
            if (h->state != E_STATE || h->node < 0 || strcmp(h->why, "h_n") || strlen(h->z->name) != l ||
                strncmp(h->z->name, e->z->name, l - 1))
                continue;
            const k2t_layer *L = k2t_node_layer(m, h->node);
            int pc = L->op == K2T_OP_LSTM && L->cfg.return_state ? k2t_node_part(m, h->node, 2) : -1;
            if (pc >= 0) state_vs(c, e, pc);
        }
    }
}

/* The module's own output (N, T, units) has no Keras twin when the layer
** returns only its last state: the h_n (one direction, one layer) is that
** layer's output then. */
void k2t_align_stand_in(k2t_align *c, int *first)
{
    for (int i = 0; i < c->ne; i++) {
        ent *e = &c->es[i];
        if (e->state != E_STATE || e->node < 0 || strcmp(e->why, "h_n") || e->z->a.shape.d[0] != 1) continue;
        const k2t_shape *ks = k2t_run_keras_shape(c->rk, e->node);
        int taken = 0;
        for (int k = 0; k < c->ne; k++) taken |= c->es[k].state == E_MATCHED && c->es[k].node == e->node;
        if (ks->ndim != 1 || taken) continue;
        e->state = E_MATCHED, e->hn = 1;
        e->nv = 1, e->view = 0, e->pre = 0, e->chw = 0;
        e->vs[0] = *ks;
        e->vd[0] = e->z->a.data; /* (1, N, units): N rows of units, as Keras's (N, units) */
        if (!e->pass && (*first < 0 || i < *first)) *first = i;
    }
}

/* The layouts an array is read in: (N,C,H,W) as (N,H,W,C), (N,C,L) as
** (N,L,C), then as stored; the batch axis comes off. */
void k2t_align_views(ent *e)
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

void k2t_align_free(k2t_align *c)
{
    if (c->blocks) k2t_blocks_free(c->blocks, c->n_blocks);
    free(c->block_of);
    free(c->done);
    free(c->anc);
    free(c->reserved);
    c->blocks = NULL, c->block_of = NULL, c->done = NULL, c->anc = NULL, c->reserved = NULL;
}
