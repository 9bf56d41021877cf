/*
** compare.c -- the user's own PyTorch activations against Keras, layer by layer.
**
** 'compare FILE.npz' reads the activations a PyTorch port produced on the
** current input (scripts/torch_dump.py writes them: one array per module, in
** execution order, PyTorch layout), runs the Keras model on the same input
** (Keras semantics, every activation kept) and pairs each array with the
** Keras layer that computed it: by order, shape, value and structure, as
** engine/align.c says (functional ops with no module, shortcuts run after
** their block's body, a Linear matched on a Dense's pre-activation,
** containers repeating their last child, a Flatten read in CHW order).
** Torch tensors are read in Keras's layout: (N,C,H,W) as (N,H,W,C), (N,C,L)
** as (N,L,C).  The first array with no candidate within diff.atol +
** diff.rtol * max|keras| is the first divergence.  With the inputs
** torch_dump.py records, each module is also checked on its own input (the
** Keras layer run on it), so that every bug is found in one pass; this file
** explains each by what reproduces it: an emulated pitfall on that layer
** alone, the port's state_dict tensor by tensor, the scaling of the input,
** an activation swapped between modules; the texts are the pitfall table's
** and the engine's findings.  It also reads --map, checks the dump was made
** on the current input, and prints the table, the bugs and the verdict.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"
#include "paths.h" /* k2t_shell_path: files relative to the running script */
#include "../engine/align.h"

typedef k2t_align_entry ent;
enum { E_UNMATCHED = K2T_ENT_UNMATCHED, E_MATCHED = K2T_ENT_MATCHED, E_REPEAT = K2T_ENT_REPEAT, E_STATE = K2T_ENT_STATE };

typedef struct cmp {
    k2t_align a;          /* the pairing (engine/align.c): runs, buffers, the arrays */
    k2t_shell *sh;
    float **x;            /* the preprocessed inputs, one per model input */
    k2t_shape *per;       /* their per-sample shapes */
    const k2t_npz *z;
    const char *mode;     /* the dump's __mode__ ("" when it has none) */
} cmp;

/*--------------------------------------------------------------- helpers */

/* Feed every (preprocessed) model input into run r. */
static k2t_status feed(const cmp *c, k2t_run *r, k2t_err *err)
{
    for (int i = 0; i < c->a.m->n_inputs; i++) {
        k2t_status st = k2t_run_set_input(r, i, c->x[i], c->a.n, err);
        if (st != K2T_OK) return st;
    }
    return K2T_OK;
}

/*------------------------------------------------------------ diagnosis */

/* Emulate profile p on node alone, fed the port's own input to the module
** when the dump has it (else the Keras run's inputs); max|diff| of its
** output (or pre-activation) against e's view, or -1 when it cannot. */
static double emulate(cmp *c, const k2t_profile *p, const ent *e)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->a.m;
    const k2t_node *N = &m->nodes[e->node];
    k2t_err err = {0};
    k2t_opts o;
    double res = -1;
    if (e->chw) return -1; /* a Flatten read in CHW order: the emulation maps back to HWC */
    k2t_profile_opts(sh, p, &o, 1);
    k2t_run *r = k2t_run_new(m, &o, c->per, c->a.n, &err);
    if (!r || feed(c, r, &err) != K2T_OK) goto done;
    if (e->loc && N->n_in == 1 && k2t_align_in_view(&c->a, e->in, N->in[0], e->lview, c->a.inbuf)) {
        /* A vector from a Flatten: the map before it, so that the emulated Flatten runs. */
        int f = k2t_align_spatial_flatten(m, N->in[0]);
        if (f >= 0 && e->lview == 2) {
            if (k2t_run_inject(r, f, c->a.inbuf, &err) != K2T_OK ||
                k2t_run_nodes(r, N->in[0], N->in[0] + 1, &err) != K2T_OK)
                goto done;
        } else if (k2t_run_inject(r, N->in[0], c->a.inbuf, &err) != K2T_OK) {
            goto done;
        }
    } else {
        for (int j = 0; j < N->n_in; j++)
            if (k2t_shape_numel(k2t_run_keras_shape(r, N->in[j])) !=
                    k2t_shape_numel(k2t_run_keras_shape(c->a.rk, N->in[j])) ||
                k2t_run_keras(c->a.rk, N->in[j], 0, c->a.scratch2, &err) != K2T_OK ||
                k2t_run_inject(r, N->in[j], c->a.scratch2, &err) != K2T_OK)
                goto done;
    }
    if (k2t_run_nodes(r, e->node, e->node + 1, &err) != K2T_OK) goto done;
    const k2t_shape *ks = k2t_run_keras_shape(r, e->node);
    if (!k2t_align_shape_fits(ks, &e->vs[e->view]) || k2t_run_keras(r, e->node, e->pre, c->a.scratch2, &err) != K2T_OK)
        goto done;
    double mad, ref;
    k2t_align_measure(e->vd[e->view], c->a.scratch2, k2t_shape_numel(ks) * c->a.n, &mad, &ref);
    res = mad;
done:
    k2t_run_free(r);
    return res;
}

/* What explains one divergent module: a finding the pitfall table (or a
** finding of the engine from the port's own tensors) states, confirmed. */
enum { K_PIT, K_KERNEL, K_WEIGHT, K_ACT, K_INPUT, K_UNKNOWN };
typedef struct cause {
    int kind;
    int ent, node;
    k2t_pit pit;          /* K_PIT: the emulated pitfall; others: the findings' */
    k2t_profile p;        /* K_PIT: the setting that reproduces it */
    int conf;             /* it reproduces the port (else: closer only) */
    double mad;           /* the emulation's max|diff| */
    k2t_finding f[4];     /* K_KERNEL, K_WEIGHT, K_ACT: what to print */
    int nf;
    k2t_finding sd[4];    /* what the port's state_dict shows of the layer's weights */
    int nsd;
    char key[160];        /* bugs with the same key are one bug over several layers */
    char ev[1024];         /* the evidence line */
} cause;

/* A layer with several kernels (SeparableConv2D's depthwise and pointwise)
** whose port forgot the transpose of one of them only: weights.transpose
** off misreads them all, so each is tried alone.  The executor reads a
** kernel through the op's k2t_tw, so a buffer that this permutation maps to
** Keras's raw buffer read in PyTorch's shape (k2t_tw_misread) stands in for
** the weight while the run is made.  Fills k with the finding of the one
** that reproduces the port and returns 1; 0 when none does. */
static int one_kernel(cmp *c, const ent *e, const k2t_profile *base, cause *k)
{
    const k2t_model *m = c->a.m;
    const k2t_layer *L = k2t_node_layer(m, e->node);
    float *wrong[8];
    int wis[8], nw = 0;
    for (int wi = 0; wi < L->n_w && nw < 8; wi++)
        if ((wrong[nw] = k2t_weight_misread(L, wi))) wis[nw++] = wi;
    int found = 0;
    for (int j = 0; j < nw; j++) {
        k2t_weight *w = (k2t_weight *)&L->w[wis[j]]; /* its data pointer is swapped, then restored */
        float *own = w->data;
        if (nw < 2 || found) continue;
        w->data = wrong[j];
        double mad = emulate(c, base, e);
        w->data = own;
        if (mad < 0 || !k2t_align_within(&c->a, mad, e->ref)) continue;
        k2t_profile p = *base;
        k2t_err err = {0};
        k2t_finding f[8];
        char pat[160];
        if (k2t_emu_set(&p.emu, K2T_PIT_TRANSPOSE, "off", &err) != K2T_OK) continue;
        k2t_diag *d = k2t_diag_new(m);
        int n = k2t_findings(d, e->node, K2T_PIT_BIT(K2T_PIT_TRANSPOSE), &p.emu, &base->emu, f, 8);
        k2t_diag_free(d);
        snprintf(pat, sizeof pat, "torch.from_numpy(%s)", w->name);
        k->nf = 0;
        for (int i = 0; i < n && i < 8; i++)
            if (f[i].hazard && strstr(f[i].code, pat) && k->nf < 4) k->f[k->nf++] = f[i];
        found = 1;
        k->kind = K_KERNEL, k->pit = K2T_PIT_TRANSPOSE, k->conf = 1, k->mad = mad;
        snprintf(k->key, sizeof k->key, "kernel %s %s", L->class_name, w->name);
        snprintf(k->ev, sizeof k->ev, "emulating it for %s alone on %s (set weights.transpose off for that kernel) "
                 "gives max|diff| %.4g to %s, against %.4g for Keras: it reproduces the port", w->name,
                 m->nodes[e->node].name, mad, e->z->name, e->loc ? e->lmad : e->mad);
    }
    for (int j = 0; j < nw; j++) free(wrong[j]);
    return found;
}

/* The port's state_dict tensor of weight wi of e's layer: KEY as the
** module's name (or its parent's, for a layer split over modules) and the
** op's parameter suffix. */
static const k2t_npz_entry *sd_tensor(cmp *c, const ent *e, const char *suffix, char *key, size_t kn)
{
    char mod[400];
    const char *dot = strrchr(suffix, '.');
    snprintf(mod, sizeof mod, "%s", e->z->name);
    char *h = strchr(mod, '#');
    if (h) *h = '\0';
    for (int up = 0; up < 3; up++) {
        for (int form = 0; form < 2; form++) {
            snprintf(key, kn, "%s%s%s", mod, mod[0] ? "." : "", form == 0 ? suffix : dot ? dot + 1 : suffix);
            char full[800];
            snprintf(full, sizeof full, "state_dict/%s", key);
            for (int i = 0; i < c->z->n; i++)
                if (c->z->e[i].a.data && !strcmp(c->z->e[i].name, full)) return &c->z->e[i];
        }
        char *d = strrchr(mod, '.');
        if (!d) {
            if (!mod[0]) break;
            mod[0] = '\0';
        } else {
            *d = '\0';
        }
    }
    return NULL;
}

/* Weights by name: each weight of the layer against the port's state_dict. */
static int weights_by_name(cmp *c, const ent *e, cause *k)
{
    const k2t_layer *L = k2t_node_layer(c->a.m, e->node);
    k->nf = 0;
    for (int wi = 0; wi < L->n_w && k->nf < 4; wi++) {
        char tname[300], key[720];
        k2t_shape ts;
        if (k2t_torch_param(c->a.m, L, wi, tname, sizeof tname, &ts) != 0) continue;
        const char *suffix = strchr(tname, '.') ? strchr(tname, '.') + 1 : tname;
        const k2t_npz_entry *t = sd_tensor(c, e, suffix, key, sizeof key);
        if (!t || k2t_shape_numel(&t->a.shape) != k2t_shape_numel(&ts)) continue;
        k2t_finding f;
        if (k2t_weight_check(c->a.m, e->node, wi, key, t->a.data, &t->a.shape, &f) > 0) k->f[k->nf++] = f;
    }
    if (!k->nf) return 0;
    k->kind = K_WEIGHT, k->pit = k->f[0].pit, k->conf = 1;
    snprintf(k->key, sizeof k->key, "weight %d %s", (int)k->pit, L->name); /* exact per tensor: one per layer */
    snprintf(k->ev, sizeof k->ev, "the port's state_dict in the dump, tensor by tensor against %s's weights "
             "(exact)", L->name);
    return 1;
}

/* An activation module (or an activation the port computes functionally)
** that is not the one Keras applies: the activation that reproduces the
** port's output from its input.  'x' is the input in Keras layout, 'y' the
** port's output, cnt floats, rows of 'last'. */
static int act_swap(cmp *c, int node, k2t_act keras, const float *x, const float *y, int64_t cnt, int64_t last,
                    double ref, const char *what, cause *k)
{
    static const k2t_act acts[] = {K2T_ACT_LINEAR, K2T_ACT_RELU, K2T_ACT_RELU6, K2T_ACT_SIGMOID,
                                   K2T_ACT_HARD_SIGMOID, K2T_ACT_HARD_SIGMOID3, K2T_ACT_TANH, K2T_ACT_SOFTMAX,
                                   K2T_ACT_SWISH, K2T_ACT_ELU, K2T_ACT_LEAKY_RELU, K2T_ACT_GELU};
    float *t = k2t_xmalloc((size_t)(cnt + 1) * sizeof(float));
    int found = 0;
    double kmad, kr;
    memcpy(t, x, (size_t)cnt * sizeof(float));
    k2t_act_apply(t, cnt / (last ? last : 1), last, keras);
    k2t_align_measure(y, t, cnt, &kmad, &kr);
    if (k2t_align_within(&c->a, kmad, ref)) found = -1; /* Keras's own activation gives it: nothing to explain */
    for (size_t i = 0; i < sizeof acts / sizeof acts[0] && !found; i++) {
        if (acts[i] == keras) continue;
        memcpy(t, x, (size_t)cnt * sizeof(float));
        k2t_act_apply(t, cnt / (last ? last : 1), last, acts[i]);
        double mad, r;
        k2t_align_measure(y, t, cnt, &mad, &r);
        if (!k2t_align_within(&c->a, mad, ref)) continue;
        found = 1;
        k->kind = K_ACT, k->pit = K2T_PIT_ACTIVATION, k->conf = 1, k->mad = mad;
        k->nf = k2t_finding_act(c->a.m, node, keras, acts[i], &k->f[0]);
        snprintf(k->key, sizeof k->key, "act %d %d", (int)keras, (int)acts[i]);
        snprintf(k->ev, sizeof k->ev, "%s through %s gives max|diff| %.4g to the port's: it reproduces the port",
                 what, acts[i] == K2T_ACT_LINEAR ? "no activation" : k2t_act_name(acts[i]), mad);
    }
    free(t);
    return found > 0;
}

/* Every emulated pitfall that concerns the layer (it has a finding there)
** is tried on the layer alone, fed the module's own input (else Keras's);
** one that reproduces the port's array is the cause; then one kernel
** alone, then the state_dict; else unknown, described (a setting that only
** comes closer is refuted, and never printed). */
static void diagnose(cmp *c, ent *e, cause *k)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->a.m;
    const k2t_layer *L = k2t_node_layer(m, e->node);
    memset(k, 0, sizeof *k);
    k->ent = (int)(e - c->a.es), k->node = e->node, k->kind = K_UNKNOWN;
    double emad = e->loc ? e->lmad : e->mad;
    cause wk;
    memset(&wk, 0, sizeof wk);
    if (weights_by_name(c, e, &wk)) {
        memcpy(k->sd, wk.f, sizeof k->sd);
        k->nsd = wk.nf;
    }
    if (e->loc && k2t_align_fused_act(&c->a, e->z->cls, e->node, e->pre)) {
        int lv;
        if (k2t_align_local_act(&c->a, e->in, e->node, K2T_ACT_LINEAR, &lv)) {
            const k2t_shape *ks = k2t_run_keras_shape(c->a.rk, e->node);
            int64_t cnt = k2t_shape_numel(ks) * c->a.n;
            float *x = k2t_xmalloc((size_t)(cnt + 1) * sizeof(float));
            memcpy(x, c->a.scratch2, (size_t)cnt * sizeof(float));
            char what[300];
            snprintf(what, sizeof what, "the input of %s", e->z->name);
            int ok = act_swap(c, e->node, L->cfg.act, x, e->vd[e->view], cnt, ks->ndim ? ks->d[ks->ndim - 1] : 1, e->ref,
                              what, k);
            free(x);
            if (ok) return;
        }
    }
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
        /* Every emulated pitfall is tried: some state their finding once for
        ** all their layers (bn-mode at the first BatchNormalization). */
        (void)f;
        nh++;
    }
    k2t_diag_free(d);
    int pick = -1, conf = 0;
    for (int i = 0; i < nh; i++) {
        h[i].mad = emulate(c, &h[i].p, e);
        if (h[i].mad < 0) continue;
        if (k2t_align_within(&c->a, h[i].mad, e->ref) && !conf) pick = i, conf = 1;
    }
    if (!conf && one_kernel(c, e, &base, k)) return;
    if (!conf && wk.nf) {
        /* No setting reproduces it, the state_dict names it exactly. */
        wk.ent = k->ent, wk.node = k->node;
        *k = wk;
        return;
    }
    /* A setting that only comes closer is refuted: it is never stated. */
    if (conf) {
        char v[64];
        const k2t_pitfall *P = &k2t_pitfalls[h[pick].pit];
        k->kind = K_PIT, k->pit = h[pick].pit, k->p = h[pick].p, k->conf = conf, k->mad = h[pick].mad;
        k2t_emu_value(&k->p.emu, k->pit, v, sizeof v);
        snprintf(k->key, sizeof k->key, "pit %d %s %s %d", (int)k->pit, v, L->class_name, conf);
        if (k->pit == K2T_PIT_BN_MODE && !strcmp(c->mode, "eval")) {
            /* The batch statistics, though the model ran in eval mode. */
            char key[720];
            int has = 0;
            for (int wi = 0; wi < L->n_w; wi++)
                if (L->w[wi].name && !strcmp(L->w[wi].name, "moving_mean")) {
                    char tname[300];
                    k2t_shape ts;
                    if (k2t_torch_param(m, L, wi, tname, sizeof tname, &ts) == 0)
                        has = sd_tensor(c, e, strchr(tname, '.') ? strchr(tname, '.') + 1 : tname, key,
                                        sizeof key) != NULL;
                }
            snprintf(k->key + strlen(k->key), sizeof k->key - strlen(k->key), " eval%d", has);
            k->nsd = 0;
            snprintf(k->sd[0].text, sizeof k->sd[0].text, "the dump ran in eval mode, and %s uses its batch's "
                     "statistics all the same%s", e->z->name, has ? "" : ": its state_dict holds no running_mean "
                     "(track_running_stats=False)");
            k->nsd = 1;
        }
        snprintf(k->ev, sizeof k->ev, "emulating it on %s alone (set %s %s)%s gives max|diff| %.4g to %s, against "
                 "%.4g for Keras%s", m->nodes[e->node].name, P->key, v, e->loc ? ", fed the module's own input," : "",
                 h[pick].mad, e->z->name, emad, ": it reproduces the port");
        return;
    }
    /* Nothing reproduces it: describe the difference (on the module's own input when known). */
    const k2t_shape *ks = k2t_run_keras_shape(c->a.rk, e->node);
    int lv;
    const float *ref = NULL;
    if (e->loc && (k2t_align_fused_act(&c->a, e->z->cls, e->node, e->pre)
                       ? k2t_align_local_act(&c->a, e->in, e->node, L->cfg.act, &lv)
                       : k2t_align_local_run(&c->a, e->in, e->node, e->pre, e->lview)))
        ref = c->a.scratch2;
    else if (!e->chw)
        ref = e->pre ? k2t_run_preact(c->a.rk, e->node)->data : k2t_run_output(c->a.rk, e->node)->data;
    char desc[400] = "";
    if (ref) k2t_describe_divergence(e->vd[e->view], ref, c->a.n, ks, sh->set.diff_atol + sh->set.diff_rtol * e->ref, desc, sizeof desc);
    char lay[512];
    k2t_layer_describe(m, L, lay, sizeof lay);
    snprintf(k->key, sizeof k->key, "unknown %d", k->ent);
    snprintf(k->ev, sizeof k->ev, "the layer: %.60s%s%.300s%s%.300s", L->class_name, lay[0] ? ", " : "", lay,
             desc[0] ? "; " : "", desc);
}

/* The glue before a module that is right on its own input: what the port
** computes between the model's input (or an earlier module) and it.  At the
** model's input: the affine map, per channel, from Keras's input to the
** port's (an input scaled otherwise, /255, [-1,1], mean/std, channels
** reversed).  After a module matched on a pre-activation: the activation
** the port applied instead of the layer's.  Returns 1 with k filled. */
static int glue(cmp *c, ent *e, cause *k)
{
    const k2t_model *m = c->a.m;
    const k2t_node *N = &m->nodes[e->node];
    memset(k, 0, sizeof *k);
    k->ent = (int)(e - c->a.es), k->node = e->node;
    if (!e->loc || N->n_in != 1 || !k2t_align_in_view(&c->a, e->in, N->in[0], e->lview, c->a.inbuf)) return 0;
    int src = N->in[0];
    const k2t_shape *ss = k2t_run_keras_shape(c->a.rk, src);
    int64_t cnt = k2t_shape_numel(ss) * c->a.n, C = ss->ndim ? ss->d[ss->ndim - 1] : 1;
    const float *kx = k2t_run_output(c->a.rk, src)->data;
    double mad, ref;
    k2t_align_measure(c->a.inbuf, kx, cnt, &mad, &ref);
    if (k2t_align_within(&c->a, mad, ref)) return 0;
    int is_input = 0;
    for (int i = 0; i < m->n_inputs; i++) is_input |= m->inputs[i] == src;
    if (is_input) {
        /* Per channel (and with the channels reversed): port = a * keras + b. */
        for (int rev = 0; rev < 2; rev++) {
            double A[16], B[16], worst = 0;
            if (C > 16 || (rev && C < 2)) break;
            for (int64_t ch = 0; ch < C; ch++) {
                int64_t sc = rev ? C - 1 - ch : ch;
                double sx = 0, sy = 0, sxx = 0, sxy = 0, nn = 0;
                for (int64_t i = ch; i < cnt; i += C) {
                    double x = kx[i - ch + sc], y = c->a.inbuf[i];
                    sx += x, sy += y, sxx += x * x, sxy += x * y, nn++;
                }
                double den = nn * sxx - sx * sx;
                A[ch] = den != 0 ? (nn * sxy - sx * sy) / den : 0;
                B[ch] = (sy - A[ch] * sx) / (nn ? nn : 1);
                for (int64_t i = ch; i < cnt; i += C) {
                    double r = fabs(c->a.inbuf[i] - (A[ch] * kx[i - ch + sc] + B[ch]));
                    if (r > worst) worst = r;
                }
            }
            double big = 0;
            for (int64_t i = 0; i < cnt; i++) big = fabs(c->a.inbuf[i]) > big ? fabs(c->a.inbuf[i]) : big;
            if (worst > 1e-4 * (big > 1 ? big : 1)) continue;
            int same = 1;
            for (int64_t ch = 1; ch < C; ch++) same &= fabs(A[ch] - A[0]) <= 1e-6 * fabs(A[0]) && fabs(B[ch] - B[0]) <= 1e-6;
            size_t w = (size_t)snprintf(k->ev, sizeof k->ev, "the port's input to %s (torch: %s) is %sKeras's input ",
                                        m->nodes[e->node].name, e->z->name, rev ? "channel-reversed (RGB<->BGR) " : "");
            for (int64_t ch = 0; ch < C; ch++)
                if (fabs(B[ch]) < 1e-6 * (fabs(A[ch]) * 255 + 1)) B[ch] = 0;
            for (int64_t ch = 0; ch < (same ? 1 : C) && w < sizeof k->ev; ch++)
                w += (size_t)snprintf(k->ev + w, sizeof k->ev - w, "%s* %.6g %s %.6g", ch ? "; " : same ? "x " : "x ",
                                      A[ch], B[ch] < 0 ? "-" : "+", fabs(B[ch]));
            if (!same && w < sizeof k->ev) w += (size_t)snprintf(k->ev + w, sizeof k->ev - w, " (per channel)");
            if (w < sizeof k->ev)
                snprintf(k->ev + w, sizeof k->ev - w, " (max residual %.3g): scaled inside the port; the module "
                         "itself agrees with Keras on its own input", worst);
            k->kind = K_INPUT, k->pit = K2T_PIT_PREPROCESS, k->conf = 1, k->node = src;
            snprintf(k->key, sizeof k->key, "input");
            return 1;
        }
        return 0;
    }
    /* After a module matched on src's pre-activation, or on the input of an
    ** activation layer src: the activation the port applied between. */
    const k2t_layer *SL = k2t_node_layer(m, src);
    const k2t_node *SN = &m->nodes[src];
    int act_layer = SL->n_w == 0 && SN->n_in == 1 && SL->cfg.act != K2T_ACT_LINEAR;
    for (int i = 0; i < c->a.ne; i++) {
        const ent *p = &c->a.es[i];
        if (p->state != E_MATCHED) continue;
        if (!(p->node == src && p->pre) && !(act_layer && p->node == SN->in[0] && !p->pre && !p->chw)) continue;
        if (k2t_shape_numel(k2t_run_keras_shape(c->a.rk, p->node)) * c->a.n != cnt) continue;
        char what[300];
        snprintf(what, sizeof what, "%s's output (%s's %s)", p->z->name, m->nodes[src].name,
                 p->node == src ? "pre-activation" : "input");
        if (act_swap(c, src, SL->cfg.act, p->vd[p->view], c->a.inbuf, cnt, C, ref, what, k)) {
            k->node = src;
            return 1;
        }
    }
    return 0;
}

/* Print one bug (a group of causes with the same key: first .. last). */
static void print_bug(cmp *c, int no, const cause *k, int count, const cause *last, const char *cls)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->a.m;
    const char *topic = k->kind == K_UNKNOWN ? "unexplained" : k2t_pitfalls[k->pit].topic;
    if (count == 1)
        k2t_printf(sh, "%sbug %d: %s at %s (torch: %s)%s\n", k2t_c_bold(sh), no, topic, m->nodes[k->node].name,
                   c->a.es[k->ent].z->name, k2t_c_off(sh));
    else
        k2t_printf(sh, "%sbug %d: %s on %d %s layers: %s .. %s (torch: %s .. %s)%s\n", k2t_c_bold(sh), no, topic,
                   count, cls, m->nodes[k->node].name, m->nodes[last->node].name, c->a.es[k->ent].z->name,
                   c->a.es[last->ent].z->name, k2t_c_off(sh));
    k2t_profile base = *k2t_profile_find(sh, "torch");
    base.emu.preprocess = sh->set.emu.preprocess;
    switch (k->kind) {
    case K_PIT:
        if (!k2t_shell_why(sh, k->node, &base.emu, &k->p.emu))
            k2t_printf(sh, "  why: %s: %s\n", k2t_pitfalls[k->pit].topic, k2t_pitfalls[k->pit].summary);
        break;
    case K_KERNEL: case K_WEIGHT: case K_ACT:
        for (int i = 0; i < k->nf; i++) k2t_print_finding(sh, &k->f[i], K2T_FINDING_WHY);
        break;
    case K_INPUT: {
        k2t_diag *d = k2t_diag_new(m);
        k2t_finding f[4];
        int n = k2t_findings(d, k->node, K2T_PIT_BIT(K2T_PIT_PREPROCESS), NULL, NULL, f, 4), any = 0;
        k2t_diag_free(d);
        for (int i = 0; i < n && i < 4; i++) k2t_print_finding(sh, &f[i], K2T_FINDING_WHY), any++;
        if (!any) {
            const k2t_pitfall *P = &k2t_pitfalls[K2T_PIT_PREPROCESS];
            k2t_printf(sh, "  why: %s: %s\n", P->topic, P->summary);
        }
        break;
    }
    default:
        k2t_printf(sh, "  why: no known port convention explains it\n");
    }
    for (int i = 0; i < k->nsd; i++) k2t_printf(sh, "  state_dict: %s\n", k->sd[i].text);
    k2t_printf(sh, "  evidence: %s\n", k->ev);
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

/* The dump's copy of model input i: "__input__.NAME" (NAME the input
** layer's), or for a single-input model "__input__"; NULL when absent. */
static const k2t_npz_entry *dump_input(const k2t_npz *z, const k2t_model *m, int i)
{
    char want[300];
    snprintf(want, sizeof want, "__input__.%s", m->nodes[m->inputs[i]].name);
    for (int k = 0; k < z->n; k++)
        if (!strcmp(z->e[k].name, want) || (m->n_inputs == 1 && !strcmp(z->e[k].name, "__input__")))
            return z->e[k].a.data && z->e[k].a.shape.ndim >= 1 ? &z->e[k] : NULL;
    return NULL;
}

/* No input set: the ones the port was run on (__input__), in Keras's
** layout (a channels-first dump is moved to channels last).  Does nothing
** unless the dump holds every input, with one batch. */
static void use_dump_input(k2t_shell *sh, const k2t_npz *z, const char *path)
{
    const k2t_model *m = sh->model;
    char s1[96], desc[320];
    for (int i = 0; i < m->n_inputs; i++) {
        const k2t_npz_entry *zin = dump_input(z, m, i);
        if (!zin || zin->a.shape.d[0] < 1 || zin->a.shape.d[0] != dump_input(z, m, 0)->a.shape.d[0]) return;
    }
    for (int i = 0; i < m->n_inputs; i++) {
        const k2t_npz_entry *zin = dump_input(z, m, i);
        const k2t_shape *want = &m->nodes[m->inputs[i]].shape;
        k2t_array a = {0};
        int nd = zin->a.shape.ndim;
        a.shape = zin->a.shape;
        a.data = k2t_xmalloc((size_t)(k2t_shape_numel(&a.shape) + 1) * sizeof(float));
        snprintf(a.dtype, sizeof a.dtype, "float32");
        k2t_shape per = {nd - 1, {0}}, conv = per;
        for (int d = 1; d < nd; d++) per.d[d - 1] = zin->a.shape.d[d];
        for (int d = 2; d < nd; d++) conv.d[d - 2] = zin->a.shape.d[d];
        if (nd >= 3) conv.d[nd - 2] = zin->a.shape.d[1];
        if (nd >= 3 && k2t_shape_fits(want, &conv) && !k2t_shape_fits(want, &per)) {
            int64_t n = a.shape.d[0], C = a.shape.d[1], sp = k2t_shape_numel(&per) / (C ? C : 1);
            for (int64_t b = 0; b < n; b++)
                for (int64_t ch = 0; ch < C; ch++)
                    for (int64_t q = 0; q < sp; q++) a.data[(b * sp + q) * C + ch] = zin->a.data[(b * C + ch) * sp + q];
            for (int d = 1; d < nd; d++) a.shape.d[d] = conv.d[d - 1];
        } else {
            memcpy(a.data, zin->a.data, (size_t)k2t_shape_numel(&a.shape) * sizeof(float));
        }
        snprintf(desc, sizeof desc, "'%s' %s, the input the port was dumped on", path, zin->name);
        k2t_shell_set_input(sh, i, &a, (int)a.shape.d[0], NULL, desc);
    }
    k2t_shell_drop_run(sh);
    if (m->n_inputs == 1) {
        k2t_printf(sh, "compare: no input set: using %s, shape %s\n", sh->in.desc,
                   k2t_shape_str(&sh->in.x[0].a.shape, 0, s1, sizeof s1));
        return;
    }
    k2t_printf(sh, "compare: no input set: using the inputs the port was dumped on:\n");
    k2t_shell_print_input(sh);
}

/* The bugs, one per group of identical causes, in model order (by each
** group's first layer); gno[g] gets group g's number as printed. */
static void print_bugs(cmp *c, const cause *cs, int ncs, const int *grp, int ng, int *gno)
{
    const k2t_model *m = c->a.m;
    /* In model order: by each group's first layer. */
    int *gorder = k2t_xmalloc((size_t)(ng + 1) * sizeof(int));
    int *gmin = k2t_xmalloc((size_t)(ng + 1) * sizeof(int));
    for (int g = 0; g < ng; g++) {
        gorder[g] = g, gmin[g] = m->n_nodes;
        for (int i = 0; i < ncs; i++)
            if (grp[i] == g && cs[i].node < gmin[g]) gmin[g] = cs[i].node;
    }
    for (int a = 1; a < ng; a++)
        for (int b = a; b > 0 && gmin[gorder[b]] < gmin[gorder[b - 1]]; b--) {
            int t = gorder[b];
            gorder[b] = gorder[b - 1], gorder[b - 1] = t;
        }
    for (int r = 0; r < ng; r++) gno[gorder[r]] = r + 1;
    for (int r = 0; r < ng; r++) {
        int g = gorder[r];
        int firstk = -1, lastk = -1, count = 0;
        for (int i = 0; i < ncs; i++)
            if (grp[i] == g) {
                if (firstk < 0) firstk = i;
                lastk = i, count++;
            }
        print_bug(c, r + 1, &cs[firstk], count, &cs[lastk], k2t_node_layer(m, cs[firstk].node)->class_name);
    }
    free(gorder);
    free(gmin);
}

/* Each module on its own input, then what explains each one that is
** wrong on it (and the first divergence, whatever it is): the causes in
** *out (the caller frees it), their number returned. */
static int find_bugs(cmp *c, int first, cause **out)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->a.m;
    for (int i = 0; i < c->a.ne; i++) k2t_align_local_check(&c->a, &c->a.es[i]);
    cause *cs = k2t_xcalloc((size_t)c->a.ne + 1, sizeof *cs);
    int ncs = 0;
    for (int i = 0; i < c->a.ne; i++) {
        ent *e = &c->a.es[i];
        if (e->state != E_MATCHED) continue;
        if (e->loc == 2 || (i == first && e->loc == 0)) {
            diagnose(c, e, &cs[ncs]);
            e->bug = ncs++;
        } else if (e->loc == 1 && !e->pass) {
            if (glue(c, e, &cs[ncs])) {
                e->bug = ncs++;
            } else if (i == first) {
                cause *k = &cs[ncs];
                memset(k, 0, sizeof *k);
                k->kind = K_UNKNOWN, k->ent = i, k->node = e->node;
                snprintf(k->key, sizeof k->key, "unknown %d", i);
                const k2t_node *N = &m->nodes[e->node];
                char desc[400] = "";
                if (N->n_in == 1 && k2t_align_in_view(&c->a, e->in, N->in[0], e->lview, c->a.inbuf)) {
                    const k2t_shape *ss = k2t_run_keras_shape(c->a.rk, N->in[0]);
                    double mad, ref;
                    k2t_align_measure(c->a.inbuf, k2t_run_output(c->a.rk, N->in[0])->data, k2t_shape_numel(ss) * c->a.n, &mad, &ref);
                    k2t_describe_divergence(c->a.inbuf, k2t_run_output(c->a.rk, N->in[0])->data, c->a.n, ss,
                             sh->set.diff_atol + sh->set.diff_rtol * ref, desc, sizeof desc);
                }
                snprintf(k->ev, sizeof k->ev, "%s agrees with Keras on its own input, but that input differs from "
                         "what %s gets in Keras (something between the modules): %s", e->z->name,
                         m->nodes[e->node].name, desc);
                e->bug = ncs++;
            }
        }
    }
    *out = cs;
    return ncs;
}

/* Arrays that cannot be any layer's: another batch, nothing that shape,
** a --map pairing of the wrong shape.  Returns K2T_CMD_*. */
static int screen(cmp *c, const char *map, const char *path)
{
    k2t_shell *sh = c->sh;
    const k2t_model *m = c->a.m;
    char s1[96], s2[96], s3[96];
    int rc = K2T_CMD_OK;
    int n_batch = 0, n_fit = 0;
    for (int i = 0; i < c->a.ne; i++) {
        ent *e = &c->a.es[i];
        if (!e->z->a.data) {
            snprintf(e->why, sizeof e->why, "%s", e->z->skip ? e->z->skip : "not read");
            continue;
        }
        if (k2t_align_is_state(&c->a, e)) continue;
        if (e->z->a.shape.ndim < 1 || e->z->a.shape.d[0] != c->a.n) {
            snprintf(e->why, sizeof e->why, "shape %s: not a batch of %d sample%s",
                     k2t_shape_str(&e->z->a.shape, 0, s1, sizeof s1), c->a.n, c->a.n == 1 ? "" : "s");
            e->nv = 0;
            continue;
        }
        n_batch++;
        int any = 0;
        for (int j = 0; j < m->n_nodes && !any; j++)
            for (int v = 0; v < e->nv && !any; v++) any = k2t_align_shape_fits(&e->vs[v], k2t_run_keras_shape(c->a.rk, j));
        n_fit += any;
        if (e->map_node >= 0) {
            const k2t_shape *ks = k2t_run_keras_shape(c->a.rk, e->map_node);
            int ok = 0;
            for (int v = 0; v < e->nv; v++) ok |= k2t_align_shape_fits(&e->vs[v], ks);
            if (!ok) {
                rc = k2t_error(sh, -1, "compare: %s:%d: '%s' has shape %s, %s per sample in Keras's layout; "
                               "layer '%s' outputs %s", map, e->map_line, e->z->name,
                               k2t_shape_str(&e->z->a.shape, 0, s1, sizeof s1),
                               k2t_shape_str(&e->vs[0], 0, s2, sizeof s2), m->nodes[e->map_node].name,
                               k2t_shape_str(ks, 0, s3, sizeof s3));
                return rc;
            }
        }
    }
    if (n_batch == 0) {
        rc = k2t_error(sh, 1, "compare: no array in '%s' holds a batch of %d sample%s, as the current input does "
                       "(%s); dump the port on the same input", path, c->a.n, c->a.n == 1 ? "" : "s", sh->in.desc);
        return rc;
    }
    if (n_fit == 0) {
        char list[256] = "";
        size_t w = 0;
        for (int i = 0, k = 0; i < c->a.ne && k < 3; i++)
            if (c->a.es[i].nv && w < sizeof list) {
                w += (size_t)snprintf(list + w, sizeof list - w, "%s'%s' %s", k++ ? ", " : "", c->a.es[i].z->name,
                                      k2t_shape_str(&c->a.es[i].z->a.shape, 0, s1, sizeof s1));
            }
        rc = k2t_error(sh, 1, "compare: no array in '%s' fits a layer of the model (%s%s): are they this "
                       "model's activations? (\"shapes\" lists the layers)", path, list, c->a.ne > 3 ? ", ..." : "");
        return rc;
    }
    return K2T_CMD_OK;
}

/* A module's recorded input: NAME.in or NAME.inK. */
static int aux_input(const char *name)
{
    const char *d = strrchr(name, '.');
    if (!d || strncmp(d, ".in", 3)) return 0;
    for (d += 3; *d; d++)
        if (*d < '0' || *d > '9') return 0;
    return 1;
}

/* The single recorded input of module output NAME (NAME.in; a tuple's
** NAME.K, or a nested one's NAME.K.J (nn.LSTM's h_n): its module's), or
** NULL (none, or several: NAME.in0, ...). */
static const k2t_npz_entry *input_of(const k2t_npz *z, const char *name)
{
    char want[600], base[600];
    snprintf(base, sizeof base, "%s", name);
    for (int pass = 0; pass < 3; pass++) {
        if (pass) {
            char *d = strrchr(base, '.');
            if (!d || !d[1] || strspn(d + 1, "0123456789") != strlen(d + 1)) return NULL;
            *d = '\0';
        }
        snprintf(want, sizeof want, "%s", base);
        strncat(want, ".in", sizeof want - strlen(want) - 1);
        for (int i = 0; i < z->n; i++)
            if (!strcmp(z->e[i].name, want)) return z->e[i].a.data ? &z->e[i] : NULL;
    }
    return NULL;
}

/* Refuse a dump made on another input than the current one: shapes, then
** values (as set, or preprocessed as set preprocess says). */
static int same_input(k2t_shell *sh, cmp *c, int in, const k2t_npz_entry *zin, const char *path)
{
    const k2t_array *a = &zin->a, *b = &sh->in.x[in].a;
    const char *idesc = sh->in.x[in].desc;
    char s1[96], s2[96];
    int64_t n = k2t_shape_numel(&b->shape);
    int fits = a->shape.ndim == b->shape.ndim && k2t_shape_numel(&a->shape) == n && a->shape.d[0] == b->shape.d[0];
    float *conv = NULL;
    if (fits) {
        /* The dump holds the model's input, NCHW for a map; the current input is in Keras's layout. */
        int nd = a->shape.ndim, same = 1;
        for (int i = 0; i < nd; i++) same &= a->shape.d[i] == b->shape.d[i];
        if (!same && nd >= 3) {
            int ok = a->shape.d[1] == b->shape.d[nd - 1];
            for (int i = 2; i < nd; i++) ok &= a->shape.d[i] == b->shape.d[i - 1];
            if (!ok) fits = 0;
            else {
                int64_t N = a->shape.d[0], C = a->shape.d[1], sp = n / (N * (C ? C : 1));
                conv = k2t_xmalloc((size_t)(n + 1) * sizeof(float));
                for (int64_t q = 0; q < N; q++)
                    for (int64_t ch = 0; ch < C; ch++)
                        for (int64_t p = 0; p < sp; p++) conv[(q * sp + p) * C + ch] = a->data[(q * C + ch) * sp + p];
            }
        } else if (!same) {
            fits = 0;
        }
    }
    if (!fits)
        return k2t_error(sh, -1, "compare: '%s' was dumped on another input: its %s has shape %s, the current "
                         "input (%s) %s; set the input the port was run on", path, zin->name, k2t_shape_str(&a->shape, 0, s1, sizeof s1), idesc,
                         k2t_shape_str(&b->shape, 0, s2, sizeof s2));
    const float *da = conv ? conv : a->data;
    double best = INFINITY, big = 0;
    for (int pre = 0; pre < 2; pre++) {
        float *x = pre ? k2t_shell_input_data(sh, in, NULL, &n) : NULL;
        const float *y = pre ? x : b->data;
        if (!y) continue;
        double mad = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)da[i] - y[i]);
            if (!(d <= mad)) mad = d;
            if (fabs(y[i]) > big) big = fabs(y[i]);
        }
        if (mad < best) best = mad;
        free(x);
    }
    (void)c;
    if (best <= 1e-5 * (big > 1 ? big : 1)) {
        free(conv);
        return K2T_CMD_OK;
    }
    /* The same samples scaled otherwise (the port fed x/255 where k2t has x, say): say by how much. */
    double sx = 0, sy = 0, sxx = 0, sxy = 0, nn = (double)n, worst = 0, ab = 0;
    for (int64_t i = 0; i < n; i++) {
        double xv = b->data[i], yv = da[i];
        sx += xv, sy += yv, sxx += xv * xv, sxy += xv * yv;
    }
    double den = nn * sxx - sx * sx, A = den != 0 ? (nn * sxy - sx * sy) / den : 0, B = (sy - A * sx) / nn;
    for (int64_t i = 0; i < n; i++) {
        double r = fabs(da[i] - (A * b->data[i] + B));
        if (r > worst) worst = r;
        if (fabs(da[i]) > ab) ab = fabs(da[i]);
    }
    char hint[200] = "";
    if (A != 0 && worst <= 1e-5 * (ab > 1 ? ab : 1))
        snprintf(hint, sizeof hint, " (it is the current input x %.6g %s %.6g: the same samples, scaled otherwise)", A,
                 B < 0 ? "-" : "+", fabs(B) < 1e-9 ? 0.0 : fabs(B));
    free(conv);
    return k2t_error(sh, -1, "compare: '%s' was dumped on another input: its %s (shape %s) differs from the "
                     "current input (%s) by up to %.4g%s; set the input the port was run on", path, zin->name,
                     k2t_shape_str(&a->shape, 0, s1, sizeof s1), idesc, best, hint);
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
            map = k2t_shell_path(sh, argv[++i], NULL, 0);
            map_argi = i;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return k2t_error(sh, i, "compare: unknown option '%s' (--map FILE)", argv[i]);
        } else if (!path) {
            path = k2t_shell_path(sh, argv[i], NULL, 0);
        } else {
            return k2t_error(sh, i, "compare: unexpected argument '%s'", argv[i]);
        }
    }
    if (!path) return k2t_error(sh, -1, "compare: which file? Usage: compare FILE.npz [--map FILE]");
    cmp c;
    memset(&c, 0, sizeof c);
    cause *cs = NULL;
    int *grp = NULL, *gno = NULL;
    k2t_npz z;
    if (k2t_npz_read(path, &z, &err) != K2T_OK) {
        if (sh->in.n == 0)
            return k2t_error(sh, -1, "compare: no input (set the input the port was run on: \"input FILE.npy\", "
                             "\"input cifar FILE 0:4\" ...)");
        return k2t_error(sh, 1, "compare: %s", err.msg);
    }
    /* The members that are not a module's output: NAME.in (a module's
    ** input), state_dict/KEY, __input__, __mode__ (torch_dump.py). */
    char mode[16] = "";
    int ne = 0, rc = K2T_CMD_OK, n_sd = 0, n_in = 0;
    ent *es = k2t_xcalloc((size_t)(z.n ? z.n : 1), sizeof *es);
    for (int i = 0; i < z.n; i++) {
        const k2t_npz_entry *q = &z.e[i];
        if (!strcmp(q->name, "__mode__")) {
            for (int64_t k = 0; q->a.data && k < k2t_shape_numel(&q->a.shape) && k < 15; k++)
                mode[k] = (char)q->a.data[k], mode[k + 1] = '\0';
        } else if (!strncmp(q->name, "state_dict/", 11)) n_sd++;
        else if (aux_input(q->name)) n_in++;
        else if (strncmp(q->name, "__", 2)) {
            es[ne].z = q;
            es[ne].map_node = -1;
            es[ne].node = -1;
            es[ne].bug = -1;
            if (q->a.data && q->a.shape.ndim >= 1) k2t_align_views(&es[ne]);
            ne++;
        }
    }
    for (int i = 0; i < ne; i++) es[i].in = input_of(&z, es[i].z->name);
    if (sh->in.n == 0) use_dump_input(sh, &z, path);
    if (sh->in.n == 0) {
        rc = k2t_error(sh, -1, "compare: no input (set the input the port was run on: \"input FILE.npy\", "
                       "\"input cifar FILE 0:4\" ...)");
        goto done;
    }
    c.sh = sh, c.a.m = m, c.a.n = sh->in.n, c.a.P = -1, c.z = &z, c.a.es = es, c.a.ne = ne, c.mode = mode;
    c.a.atol = sh->set.diff_atol, c.a.rtol = sh->set.diff_rtol;
    c.per = k2t_xcalloc((size_t)m->n_inputs + 1, sizeof *c.per);
    c.x = k2t_xcalloc((size_t)m->n_inputs + 1, sizeof *c.x);
    if (k2t_shell_input_shapes(sh, "compare", c.per) != K2T_CMD_OK) {
        rc = K2T_CMD_ERR;
        goto done;
    }
    for (int i = 0; i < m->n_inputs; i++) {
        const k2t_npz_entry *zin = dump_input(&z, m, i);
        if (zin && (rc = same_input(sh, &c, i, zin, path)) != K2T_CMD_OK) goto done;
    }
    if (map && (rc = read_map(sh, map_argi, map, es, ne, path)) != K2T_CMD_OK) goto done;

    /* The Keras run: every activation kept, Keras's own semantics. */
    for (int i = 0; i < m->n_inputs; i++) {
        int64_t numel;
        if (!(c.x[i] = k2t_shell_input_data(sh, i, NULL, &numel))) {
            rc = K2T_CMD_ERR;
            goto done;
        }
    }
    k2t_profile kp = *k2t_profile_find(sh, "keras");
    kp.emu.preprocess = sh->set.emu.preprocess;
    k2t_opts o;
    k2t_profile_opts(sh, &kp, &o, 1);
    c.a.rk = k2t_run_new(m, &o, c.per, c.a.n, &err);
    if (!c.a.rk || feed(&c, c.a.rk, &err) != K2T_OK ||
        k2t_run_nodes(c.a.rk, 0, m->n_nodes, &err) != K2T_OK) {
        rc = k2t_error(sh, -1, "compare: %s", err.msg);
        goto done;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        int64_t q = k2t_shape_numel(k2t_run_keras_shape(c.a.rk, i));
        if (q > c.a.max_numel) c.a.max_numel = q;
    }
    c.a.scratch = k2t_xmalloc((size_t)(c.a.max_numel * c.a.n + 1) * sizeof(float));
    c.a.scratch2 = k2t_xmalloc((size_t)(c.a.max_numel * c.a.n + 1) * sizeof(float));
    c.a.inbuf = k2t_xmalloc((size_t)(c.a.max_numel * c.a.n + 1) * sizeof(float));
    c.a.rl = k2t_run_new(m, &o, c.per, c.a.n, &err);
    if (!c.a.rl || feed(&c, c.a.rl, &err) != K2T_OK) {
        rc = k2t_error(sh, -1, "compare: %s", err.msg);
        goto done;
    }

    if ((rc = screen(&c, map, path)) != K2T_CMD_OK) goto done;

    int first = k2t_align_all(&c.a);
    k2t_align_states(&c.a);
    k2t_align_stand_in(&c.a, &first);

    int ncs = find_bugs(&c, first, &cs);
    /* One bug repeated over several layers is one finding. */
    grp = k2t_xmalloc((size_t)(ncs + 1) * sizeof(int));
    int ng = 0;
    for (int i = 0; i < ncs; i++) {
        grp[i] = -1;
        for (int j = 0; j < i && grp[i] < 0; j++)
            if (!strcmp(cs[i].key, cs[j].key)) grp[i] = grp[j];
        if (grp[i] < 0) grp[i] = ng++;
    }

    /* Print. */
    int wn = 8, wl = 8, n_match = 0, n_fail = 0, n_un = 0, n_rep = 0;
    double maxd = 0;
    char lab[400];
    for (int i = 0; i < ne; i++) {
        int l = (int)strlen(es[i].z->name);
        if (l > wn) wn = l < 40 ? l : 40;
        if (es[i].state == E_MATCHED) {
            l = (int)strlen(m->nodes[es[i].node].name) + (int)strlen(k2t_node_layer(m, es[i].node)->class_name) + 3;
            if (l > wl) wl = l < 60 ? l : 60;
        } else if (es[i].state == E_STATE && es[i].node >= 0) {
            l = (int)strlen(m->nodes[es[i].node].name) + 25; /* " (final cell state c_n)" */
            if (l > wl) wl = l < 60 ? l : 60;
        }
    }
    int tab = k2t_format_table(sh);
    if (tab) {
        char head[700];
        snprintf(head, sizeof head, "compare: %s, %d array%s (order: %s); Keras on %d sample%s; pass when "
                 "max|torch-keras| <= %g + %g*max|keras|", path, ne, ne == 1 ? "" : "s",
                 z.ordered ? "__order__" : "the archive's", c.a.n, c.a.n == 1 ? "" : "s", sh->set.diff_atol,
                 sh->set.diff_rtol);
        k2t_print_wrapped(sh, head, 0, 9, 0);
    }
    /* One row per array: "torch_name  ~ keras_layer (Class)  max|diff|  ok
    ** own input: ok 0  <- first divergence", the pairing's sign (~
    ** matched, = a repeat) leading the layer's cell; csv/tsv: the plain
    ** names in columns torch, keras, max|diff|, result, own input, note. */
    /* At a width, the keras column keeps "~ layer_name" whole when it can
    ** (its class wraps below), and the numbers take what they need. */
    int wk = 16;
    for (int i = 0; i < ne; i++)
        if (es[i].node >= 0 && (int)strlen(m->nodes[es[i].node].name) + 2 > wk)
            wk = (int)strlen(m->nodes[es[i].node].name) + 2;
    if (wk > 30) wk = 30;
    int W = k2t_width(sh);
    k2t_table t;
    k2t_table_init(&t, sh, 6);
    k2t_table_col(&t, 0, "torch", 0, wn, 8);
    k2t_table_col(&t, 1, "keras", K2T_COL_LATE, wl + 2, wk);
    k2t_table_col(&t, 2, "max|diff|", K2T_COL_RIGHT, W ? 0 : 11, 0);
    k2t_table_col(&t, 3, "result", 0, 0, 4);
    k2t_table_col(&t, 4, "own input", K2T_COL_LATE, 0, 13);
    k2t_table_col(&t, 5, "note", K2T_COL_LATE, 0, 10);
    k2t_table_sep(&t, 1, " "); /* "torch_name ~ keras_layer" */
    t.hide_head = 1;
    for (int i = 0; i < ne; i++) {
        const ent *e = &es[i];
        char num[32] = "", res[64] = "", own[96] = "", note[64] = "";
        const char *sign = tab ? "~ " : "";
        if (e->state == E_REPEAT) {
            n_rep++;
            snprintf(lab, sizeof lab, "%s%s %s(the same tensor: a container's output, or an identity; skipped)%s",
                     tab ? "= " : "", es[e->repeat_of].z->name, k2t_c_dim(sh), k2t_c_off(sh));
            if (!tab) snprintf(res, sizeof res, "repeat");
        } else if (e->state == E_STATE && e->node < 0) {
            snprintf(lab, sizeof lab, "%sthe module's final %sstate (%s), not compared%s", k2t_c_dim(sh),
                     !strcmp(e->why, "c_n") ? "cell " : "", e->why, k2t_c_off(sh));
            if (!tab) snprintf(res, sizeof res, "state");
        } else if (e->state == E_UNMATCHED) {
            n_un++;
            snprintf(lab, sizeof lab, "%sunmatched: %s%s", k2t_c_dim(sh), e->why, k2t_c_off(sh));
            if (!tab) snprintf(res, sizeof res, "unmatched");
        } else {
            n_match++;
            if (!e->pass) n_fail++;
            if (!(e->mad <= maxd)) maxd = e->mad;
            if (e->state == E_STATE) {
                snprintf(lab, sizeof lab, "%s%s (final %sstate %s)", sign, m->nodes[e->node].name,
                         !strcmp(e->why, "c_n") ? "cell " : "", e->why);
            } else {
                const k2t_layer *L = k2t_node_layer(m, e->node);
                snprintf(lab, sizeof lab, "%s%s (%s%s%s)", sign, m->nodes[e->node].name,
                         e->hn ? "final state h_n" : L->class_name,
                         e->pre ? ", pre-activation" : "", e->chw ? ", CHW order" : "");
                if (e->loc)
                    snprintf(own, sizeof own, "%s%s %.4g", tab ? "own input: " : "", e->loc == 1 ? "ok" : "FAIL",
                             e->lmad);
                snprintf(note, sizeof note, "%s%s%s", e->map_line ? "(--map)" : "",
                         e->map_line && i == first ? "  " : "", i == first ? "<- first divergence" : "");
            }
            snprintf(num, sizeof num, "%.4g", e->mad);
            snprintf(res, sizeof res, "%s%s%s", e->pass ? "" : k2t_c_warn(sh), e->pass ? "ok" : "FAIL",
                     e->pass ? "" : k2t_c_off(sh));
        }
        const char *cells[6] = {e->z->name, lab, num, res, own, note};
        k2t_table_row(&t, cells);
    }
    k2t_table_print(&t);
    k2t_var_num(sh, "max_abs_diff", maxd);
    k2t_var_num(sh, "matched_entries", n_match);
    k2t_var_num(sh, "failed_entries", n_fail);
    k2t_var_num(sh, "unmatched_entries", n_un);
    k2t_var_num(sh, "bugs", ng);
    if (!tab) {
        k2t_var_set(sh, "first_divergence", "%s", first < 0 ? "none" : m->nodes[es[first].node].name);
        goto done;
    }
    if (mode[0]) k2t_printf(sh, "the port ran in %s mode (the dump's __mode__)\n", mode);
    if (ng)
        k2t_printf(sh, "%d bug%s, in model order (each module checked on its own input%s):\n", ng, ng == 1 ? "" : "s",
                   n_in ? "" : ": this dump has none, so only the first divergence is diagnosed");
    gno = k2t_xmalloc((size_t)(ng + 1) * sizeof(int));
    print_bugs(&c, cs, ncs, grp, ng, gno);
    if (first < 0) {
        k2t_printf(sh, "no divergence: every matched array within tolerance (%d matched, %d unmatched, %d repeated; "
                   "max|diff| %g)\n", n_match, n_un, n_rep, maxd);
        k2t_var_set(sh, "first_divergence", "none");
    } else {
        const ent *e = &es[first];
        k2t_printf(sh, "%sfirst divergence: %s (torch: %s)%s\n", k2t_c_bold(sh), m->nodes[e->node].name,
                   e->z->name, k2t_c_off(sh));
        if (e->bug >= 0) k2t_printf(sh, "  (bug %d above)\n", gno[grp[e->bug]]);
        k2t_printf(sh, "%d of %d arrays matched, %d out of tolerance, %d unmatched, %d repeated; max|diff| %g\n",
                   n_match, ne, n_fail, n_un, n_rep, maxd);
        k2t_var_set(sh, "first_divergence", "%s", m->nodes[e->node].name);
    }
done:
    for (int i = 0; i < ne; i++) free(es[i].conv);
    free(es);
    k2t_run_free(c.a.rl);
    free(c.a.inbuf);
    free(cs);
    free(grp);
    free(gno);
    k2t_npz_free(&z);
    k2t_run_free(c.a.rk);
    for (int i = 0; c.x && i < m->n_inputs; i++) free(c.x[i]);
    free(c.x);
    free(c.per);
    free(c.a.scratch);
    free(c.a.scratch2);
    k2t_align_free(&c.a);
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
    .summary = "Align a PyTorch port's activations (an .npz) with the Keras layers; name every bug and its cause.",
    .help = "FILE holds the port's activations in execution order and PyTorch layout\n"
            "(scripts/torch_dump.py writes it: one array per module, order in __order__, each module's\n"
            "input NAME.in, the state_dict as state_dict/KEY, the model input __input__, __mode__).\n"
            "With no input set, the dump's __input__ is used; a dump made on another input is refused.\n"
            "k2t runs the Keras model on the same input and pairs each array with a layer by order,\n"
            "shape, value and structure: arrays may skip layers (functional ops have no module), a\n"
            "shortcut may come after its block's body, a Linear may match a Dense's pre-activation, a\n"
            "container's array repeats its last child's, a module feeding the next module of the same\n"
            "layer is an intermediate (a SeparableConv2D's depthwise half).  (N,C,H,W) is read as\n"
            "(N,H,W,C).  One line per array: torch_name ~ keras_layer (Class), max|diff|, ok/FAIL\n"
            "against diff.atol + diff.rtol * max|keras|, and 'own input': the layer run on the port's\n"
            "own input to that module.  Then every bug in model order, one bug over several layers\n"
            "grouped, each with why/fix (the pitfall table's) and evidence: a cause is stated only when\n"
            "it reproduces the port (an emulated setting on the layer alone, the state_dict tensor by\n"
            "tensor, an input scaled inside the port, an activation swapped), else \"no known port\n"
            "convention explains it\" with a description; then the first divergence, or \"no\n"
            "divergence\".  --map FILE: 'torch_name keras_layer' lines ('-' skips the array; #\n"
            "comments) that override the alignment.  Publishes $first_divergence (\"none\"), $bugs,\n"
            "$max_abs_diff, $matched_entries, $failed_entries, $unmatched_entries.",
    .complete = complete_compare, .fn = cmd_compare,
};
