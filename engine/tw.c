/*
** tw.c -- Keras weights in PyTorch's layout, from what each op declares.
**
** An op says, per weight, which permutation of the Keras axes (then which
** reshape) gives PyTorch's parameter (k2t_tw).  Everything that moves
** weights between the two layouts goes through here: export, the NCHW
** executor, the forgotten-transpose emulation, and the fix the transpose
** pitfall prints, so that they cannot disagree.
*/
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

void k2t_tw_apply(const k2t_weight *w, const k2t_tw *tw, float *out)
{
    permuted_walk(w, tw, out, w->data, 0);
}

void k2t_tw_misread(const k2t_weight *w, const k2t_tw *tw, float *out)
{
    permuted_walk(w, tw, out, w->data, 1);
}

float *k2t_weight_misread(const k2t_layer *L, int wi)
{
    k2t_tw tw;
    if (k2t_layer_tw(L, wi, &tw) != 0 || !tw.n_perm) return NULL;
    const k2t_weight *w = &L->w[wi];
    float *o = k2t_xmalloc((size_t)(w->size ? w->size : 1) * sizeof(float));
    k2t_tw_misread(w, &tw, o);
    return o;
}

char *k2t_tw_code(const k2t_weight *w, const k2t_tw *tw, char *buf, size_t n)
{
    size_t len = 0;
    int nd = w->shape.ndim, identity = 1;
    k2t_shape ps = w->shape;
    buf[0] = '\0';
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
        if (len < n) snprintf(buf + len, n - len, "%s)", tw->shape.ndim == 1 ? "," : "");
    }
    return buf;
}
