/*
** tw.c -- Keras weights in PyTorch's layout, from what each op declares.
**
** An op says, per weight, which permutation of the Keras axes (then which
** reshape) gives PyTorch's parameter (k2t_tw).  Everything that moves
** weights between the two layouts goes through here: export, the NCHW
** executor, the forgotten-transpose emulation, and the fix the transpose
** pitfall prints, so that they cannot disagree.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int k2t_layer_tw(const k2t_layer *L, int wi, k2t_tw *tw)
{
    const k2t_op_def *def = k2t_op_def_of(L->op);
    memset(tw, 0, sizeof *tw);
    if (!def || !def->torch || !L->w || wi < 0 || wi >= L->n_w || !L->w[wi].name) return -1;
    if (def->torch(L, wi, tw) != 0 || !tw->suffix) return -1;
    return 0;
}

/* Strides of a row-major shape. */
static void strides(const k2t_shape *s, int64_t *st)
{
    int64_t a = 1;
    for (int i = s->ndim - 1; i >= 0; i--) {
        st[i] = a;
        a *= s->d[i] > 0 ? s->d[i] : 1;
    }
}

/* Walk the permuted view of w: for each index of it in row-major order
** (position 'dst' in PyTorch's tensor), 'src' is the Keras offset. */
static void permuted_walk(const k2t_weight *w, const k2t_tw *tw, float *a, const float *b, int misread)
{
    int nd = w->shape.ndim;
    if (tw->n_perm != nd || nd == 0) {
        memcpy(a, b, (size_t)w->size * sizeof(float));
        return;
    }
    int64_t ks[K2T_MAX_DIMS], dims[K2T_MAX_DIMS], idx[K2T_MAX_DIMS] = {0}, pst[K2T_MAX_DIMS];
    strides(&w->shape, ks);
    for (int i = 0; i < nd; i++) {
        dims[i] = w->shape.d[tw->perm[i]];
        pst[i] = ks[tw->perm[i]]; /* Keras stride of permuted axis i */
    }
    for (int64_t dst = 0; dst < w->size; dst++) {
        int64_t src = 0;
        for (int i = 0; i < nd; i++) src += idx[i] * pst[i];
        if (misread) a[src] = b[dst]; /* the buffer's dst-th value, where Keras keeps src */
        else a[dst] = b[src];
        for (int i = nd - 1; i >= 0; i--) {
            if (++idx[i] < dims[i]) break;
            idx[i] = 0;
        }
    }
}

/* The part of w that tw rearranges: the row it takes, or all of it. */
static k2t_weight view(const k2t_weight *w, const k2t_tw *tw)
{
    k2t_weight v = *w;
    if (tw->row < 1 || w->shape.ndim < 1 || tw->row > w->shape.d[0]) return v;
    v.shape.ndim--;
    for (int i = 0; i < v.shape.ndim; i++) v.shape.d[i] = w->shape.d[i + 1];
    v.size = w->shape.d[0] ? w->size / w->shape.d[0] : 0;
    v.data = w->data + (int64_t)(tw->row - 1) * v.size;
    return v;
}

int64_t k2t_tw_numel(const k2t_weight *w, const k2t_tw *tw)
{
    return view(w, tw).size;
}

void k2t_tw_apply(const k2t_weight *w, const k2t_tw *tw, float *out)
{
    k2t_weight v = view(w, tw);
    if (tw->blocks < 2 || v.size % tw->blocks) {
        permuted_walk(&v, tw, out, v.data, 0);
        return;
    }
    float *tmp = k2t_xmalloc((size_t)(v.size ? v.size : 1) * sizeof(float));
    permuted_walk(&v, tw, tmp, v.data, 0);
    int64_t part = v.size / tw->blocks;
    for (int i = 0; i < tw->blocks; i++)
        memcpy(out + i * part, tmp + (int64_t)tw->order[i] * part, (size_t)part * sizeof(float));
    free(tmp);
}

void k2t_tw_misread(const k2t_weight *w, const k2t_tw *tw, float *out)
{
    if (tw->blocks < 2 || w->size % tw->blocks) {
        permuted_walk(w, tw, out, w->data, 1);
        return;
    }
    /* PyTorch's tensor holds its blocks in PyTorch's order (a GRU's r, z,
    ** n): block i is Keras's block order[i] before the transpose. */
    float *tmp = k2t_xmalloc((size_t)w->size * sizeof(float));
    int64_t part = w->size / tw->blocks;
    for (int i = 0; i < tw->blocks; i++)
        memcpy(tmp + (int64_t)tw->order[i] * part, w->data + i * part, (size_t)part * sizeof(float));
    k2t_weight v = *w;
    v.data = tmp;
    permuted_walk(&v, tw, out, tmp, 1);
    free(tmp);
}

float *k2t_weight_misread(const k2t_layer *L, int wi)
{
    k2t_tw tw;
    if (k2t_layer_tw(L, wi, &tw) != 0 || !tw.n_perm || tw.row || tw.blocks > 1) return NULL;
    const k2t_weight *w = &L->w[wi];
    float *o = k2t_xmalloc((size_t)(w->size ? w->size : 1) * sizeof(float));
    k2t_tw_misread(w, &tw, o);
    return o;
}

char *k2t_tw_code(const k2t_weight *whole, const k2t_tw *tw, char *buf, size_t n)
{
    size_t len = 0;
    k2t_weight v = view(whole, tw);
    const k2t_weight *w = &v;
    buf[0] = '\0';
    if (v.data != whole->data || v.size != whole->size) len += (size_t)snprintf(buf, n, "[%d]", tw->row - 1);
    int nd = w->shape.ndim, identity = 1;
    k2t_shape ps = w->shape;
    if (tw->n_perm == nd)
        for (int i = 0; i < nd; i++) {
            ps.d[i] = w->shape.d[tw->perm[i]];
            if (tw->perm[i] != i) identity = 0;
        }
    if (!identity && nd == 2)
        len += (size_t)snprintf(buf + len, n - len, ".T");
    else if (!identity) {
        len += (size_t)snprintf(buf + len, n - len, ".permute(");
        for (int i = 0; i < nd && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, "%s%d", i ? ", " : "", tw->perm[i]);
        if (len < n) len += (size_t)snprintf(buf + len, n - len, ")");
    }
    int same = ps.ndim == tw->shape.ndim;
    for (int i = 0; same && i < ps.ndim; i++) same = ps.d[i] == tw->shape.d[i];
    if (!same && len < n) {
        len += (size_t)snprintf(buf + len, n - len, ".reshape(");
        for (int i = 0; i < tw->shape.ndim && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? ", " : "", (long long)tw->shape.d[i]);
        if (len < n) len += (size_t)snprintf(buf + len, n - len, "%s)", tw->shape.ndim == 1 ? "," : "");
    }
    if (tw->blocks > 1 && tw->shape.ndim >= 1 && len < n) {
        /* PyTorch's axis 0 as (blocks, part) with the blocks reordered */
        len += (size_t)snprintf(buf + len, n - len, ".reshape(%d, %lld", tw->blocks,
                                (long long)(tw->shape.d[0] / tw->blocks));
        for (int i = 1; i < tw->shape.ndim && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, ", %lld", (long long)tw->shape.d[i]);
        if (len < n) len += (size_t)snprintf(buf + len, n - len, ")[[");
        for (int i = 0; i < tw->blocks && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, "%s%d", i ? ", " : "", tw->order[i]);
        if (len < n) len += (size_t)snprintf(buf + len, n - len, "]].reshape(");
        for (int i = 0; i < tw->shape.ndim && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? ", " : "", (long long)tw->shape.d[i]);
        if (len < n) snprintf(buf + len, n - len, "%s)", tw->shape.ndim == 1 ? "," : "");
    }
    return buf;
}

/*------------------------------------------------ a port's tensor, by name */

/* Which rearrangement of Keras weight w a port's tensor t (shape ts) is:
** every permutation of w's axes, then a row-major reshape to ts, is tried;
** the first that equals t (within 1e-6 of the largest |w|) goes into
** *found (perm, shape ts) and 1 is returned; 0 when none does. */
int k2t_tw_search(const k2t_weight *w, const float *t, const k2t_shape *ts, k2t_tw *found)
{
    int nd = w->shape.ndim;
    if (k2t_shape_numel(ts) != w->size || nd < 1 || nd > 6 || !w->size) return 0;
    double big = 0;
    for (int64_t i = 0; i < w->size; i++)
        if (fabs(w->data[i]) > big) big = fabs(w->data[i]);
    double tol = 1e-6 * big + 1e-12;
    float *buf = k2t_xmalloc((size_t)w->size * sizeof(float));
    int p[K2T_MAX_DIMS], c[K2T_MAX_DIMS] = {0}, ok = 0;
    for (int i = 0; i < nd; i++) p[i] = i;
    /* Heap's algorithm over the permutations, identity first. */
    for (int i = 0;;) {
        k2t_tw tw;
        memset(&tw, 0, sizeof tw);
        tw.n_perm = nd;
        memcpy(tw.perm, p, sizeof p);
        tw.shape = *ts;
        k2t_tw_apply(w, &tw, buf);
        int same = 1;
        for (int64_t k = 0; k < w->size && same; k++) same = fabs((double)buf[k] - (double)t[k]) <= tol;
        if (same) {
            *found = tw;
            ok = 1;
            break;
        }
        while (i < nd && c[i] >= i) c[i++] = 0;
        if (i >= nd) break;
        int j = (i % 2) ? c[i] : 0, tmp = p[j];
        p[j] = p[i], p[i] = tmp;
        c[i]++;
        i = 0;
    }
    free(buf);
    return ok;
}

/* Does t (shape ts, PyTorch's tensor of weight w) hold what PyTorch puts
** there before any copy?  The default initialisation: kernels and biases
** uniform in +-1/sqrt(fan_in) (fan_in from the layer's first weight in
** PyTorch's shape, fan_w), BatchNorm's weight 1, bias 0, running mean 0,
** running variance 1.  Writes its description into buf. */
int k2t_tw_init_like(const k2t_weight *w, const float *t, int64_t n, int64_t fan_in, char *buf, size_t bn)
{
    static const struct { const char *name; float v; } bn_init[] = {
        {"gamma", 1}, {"beta", 0}, {"moving_mean", 0}, {"moving_variance", 1},
    };
    buf[0] = '\0';
    if (n <= 0) return 0;
    for (size_t k = 0; k < sizeof bn_init / sizeof bn_init[0]; k++)
        if (w->name && !strcmp(w->name, bn_init[k].name)) {
            for (int64_t i = 0; i < n; i++)
                if (t[i] != bn_init[k].v) return 0;
            snprintf(buf, bn, "every value %g, BatchNorm's initial %s", (double)bn_init[k].v,
                     bn_init[k].v ? (strcmp(w->name, "gamma") ? "running_var" : "weight")
                                  : (strcmp(w->name, "beta") ? "running_mean" : "bias"));
            return 1;
        }
    if (fan_in <= 0 || n < 4) return 0;
    double b = 1.0 / sqrt((double)fan_in), mx = 0, mean = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(t[i]) > mx) mx = fabs(t[i]);
        mean += t[i];
    }
    mean /= (double)n;
    /* Uniform in [-b, b]: nothing beyond b, the largest near it, the mean near 0. */
    if (mx > b * (1 + 1e-6) || mx < b * (1 - 10.0 / (double)n) - 1e-12 || fabs(mean) > 3 * b / sqrt(3.0 * (double)n))
        return 0;
    snprintf(buf, bn, "uniform in +-%.4g = 1/sqrt(fan_in %lld), PyTorch's default initialisation", b,
             (long long)fan_in);
    return 1;
}

/*------------------------------------------------------ a layer's gates */

/* One PyTorch tensor of L made of Keras weight wi (through tw), or of no
** weight (wi < 0: every value 'fill'): a row per gate. */
static void gate_rows(const k2t_layer *L, int wi, const k2t_tw *tw, float fill, k2t_gates *g)
{
    char attr[128];
    const k2t_weight *w = wi >= 0 ? &L->w[wi] : NULL;
    int64_t k = tw->shape.ndim >= 1 ? tw->shape.d[0] : 0, p = g->n_gates ? k / g->n_gates : 0;
    if (p <= 0 || k % g->n_gates || (w && (w->shape.ndim < 1 || w->shape.d[w->shape.ndim - 1] != k))) return;
    int64_t rows = w ? w->size / k : 0, r0 = 0;
    if (w && tw->row >= 1 && w->shape.ndim == 2) r0 = tw->row - 1, rows = 1;
    for (int j = 0; j < g->n_gates && g->n < K2T_MAX_GATE_ROWS; j++) {
        /* PyTorch's block i is Keras's block order[i] (GRU), else the same one */
        int i = j;
        if (tw->blocks == g->n_gates)
            for (int b = 0; b < tw->blocks; b++)
                if (tw->order[b] == j) i = b;
        k2t_gate_row *R = &g->row[g->n++];
        memset(R, 0, sizeof *R);
        R->gate = j;
        R->weight = w ? w->name : NULL;
        R->backward = w ? !strncmp(w->name, "backward_", 9) : strstr(tw->suffix, "_reverse") != NULL;
        R->row = w && tw->row >= 1 && w->shape.ndim == 2 ? tw->row - 1 : -1;
        R->k0 = j * p, R->k1 = (j + 1) * p;
        R->t0 = i * p, R->t1 = (i + 1) * p;
        R->fill = fill;
        snprintf(R->torch, sizeof R->torch, "%s.%s", k2t_torch_ident(L->name, attr, sizeof attr), tw->suffix);
        double sa = 0, s = 0;
        int64_t n = 0;
        for (int64_t r = r0; w && r < r0 + rows; r++)
            for (int64_t c = R->k0; c < R->k1; c++, n++) {
                double v = w->data[r * k + c];
                sa += fabs(v), s += v;
            }
        R->mean_abs = n ? sa / (double)n : fabs((double)fill);
        R->mean = n ? s / (double)n : (double)fill;
    }
}

int k2t_layer_gates(const k2t_model *m, const k2t_layer *L, k2t_gates *g)
{
    const k2t_op_def *def = k2t_op_def_of(L->op);
    (void)m;
    memset(g, 0, sizeof *g);
    if (!def || !def->gates || !L->n_w) return 0;
    g->n_gates = def->gates(L, g);
    if (g->n_gates < 1 || g->n_gates > K2T_MAX_GATES) return g->n_gates = 0;
    k2t_xt x[K2T_MAX_XT];
    int nx = 0;
    k2t_err err = {0};
    if (!def->extra_tensors || def->extra_tensors(L, x, &nx, &err) != K2T_OK) nx = 0;
    /* Each Keras weight's tensor, then the tensors made of a part of it (a
    ** reset_after GRU's recurrent bias row) or of nothing (LSTM's bias_hh). */
    for (int wi = 0; wi < L->n_w; wi++) {
        k2t_tw tw;
        if (k2t_layer_tw(L, wi, &tw) == 0) gate_rows(L, wi, &tw, 0, g);
        for (int e = 0; e < nx; e++)
            if (x[e].wi1 == wi + 1) gate_rows(L, wi, &x[e].tw, 0, g);
    }
    for (int e = 0; e < nx; e++)
        if (x[e].wi1 == 0 && !x[e].i64) {
            k2t_tw tw = {.suffix = x[e].suffix, .shape = x[e].shape};
            gate_rows(L, -1, &tw, x[e].fill, g);
        }
    if (g->n) g->units = g->row[0].k1 - g->row[0].k0;
    return g->n ? g->n_gates : (g->n_gates = 0);
}
