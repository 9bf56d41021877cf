/*
** diagnose.c -- what each pitfall means at one layer, and its fix.
**
** check, explain, diff and compare all ask here, so a layer gets one text
** and one fix whichever command prints it: what Keras computes, what a
** PyTorch port with the given conventions computes instead, and the
** PyTorch code that matches Keras.  Nothing here knows a layer kind by
** name: a weight's layout and its fix come from the op's k2t_tw, a
** window's module from the op, and whatever is particular to a kind from
** the op's own 'hazards' callback (engine/ops/), which calls the shared
** checks below.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "kernels.h"
#include "py.h"

struct k2t_diag {
    const k2t_model *m;
    int scale_done;     /* 'scale' computed (once, on demand) */
    k2t_input_scale scale;
    int first_bn;       /* the first node whose op keeps moving statistics, or -1 */
    int n_bn;
    char *flat_seen;    /* per node: a Flatten reported at the Dense that reads it */
};

/*------------------------------------------------------- small formatters */

void k2t_cat(char *buf, size_t n, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

const char *k2t_pair(char *buf, size_t n, int rank, int h, int w)
{
    if (rank == 1 || h == w) snprintf(buf, n, "%d", w);
    else snprintf(buf, n, "(%d, %d)", h, w);
    return buf;
}

/* "3x3, stride 2" (rank 2) or "3, stride 2" (rank 1), with dilation. */
static const char *win_desc(char *buf, size_t n, const k2t_win *g, int rank)
{
    if (rank == 1) snprintf(buf, n, "%d, stride %d", g->kw, g->sw);
    else if (g->sh == g->sw) snprintf(buf, n, "%dx%d, stride %d", g->kh, g->kw, g->sw);
    else snprintf(buf, n, "%dx%d, stride %dx%d", g->kh, g->kw, g->sh, g->sw);
    if (rank == 1 && g->dw > 1) k2t_cat(buf, n, ", dilation %d", g->dw);
    else if (rank == 2 && (g->dh > 1 || g->dw > 1)) k2t_cat(buf, n, ", dilation %dx%d", g->dh, g->dw);
    return buf;
}

static const char *size_desc(char *buf, size_t n, const k2t_win *g, int rank)
{
    if (rank == 1) snprintf(buf, n, "length %d", g->iw);
    else snprintf(buf, n, "%dx%d", g->ih, g->iw);
    return buf;
}

static const char *pads_desc(char *buf, size_t n, const k2t_win *g, int rank)
{
    if (rank == 1 && g->pl == g->pr) snprintf(buf, n, "%d on both sides", g->pl);
    else if (rank == 2 && g->pt == g->pb && g->pt == g->pl && g->pl == g->pr)
        snprintf(buf, n, "%d on every side", g->pt);
    else if (rank == 1) snprintf(buf, n, "left %d, right %d", g->pl, g->pr);
    else snprintf(buf, n, "top %d, bottom %d, left %d, right %d", g->pt, g->pb, g->pl, g->pr);
    return buf;
}

/* F.pad's argument: (left, right, top, bottom), last axis first. */
static const char *fpad(char *buf, size_t n, const k2t_win *g, int rank)
{
    if (rank == 1) snprintf(buf, n, "(%d, %d)", g->pl, g->pr);
    else snprintf(buf, n, "(%d, %d, %d, %d)", g->pl, g->pr, g->pt, g->pb);
    return buf;
}

int k2t_axis0(int a, int ndim)
{
    if (a < 0) a += ndim + 1;
    return a >= 1 && a <= ndim ? a - 1 : -1;
}

const char *k2t_perm_str(char *buf, size_t n, int r, int to_last)
{
    snprintf(buf, n, "permute(0");
    if (to_last) {
        for (int i = 2; i <= r; i++) k2t_cat(buf, n, ", %d", i);
        k2t_cat(buf, n, ", 1)");
    } else {
        k2t_cat(buf, n, ", %d", r);
        for (int i = 1; i < r; i++) k2t_cat(buf, n, ", %d", i);
        k2t_cat(buf, n, ")");
    }
    return buf;
}

int k2t_shape_known(const k2t_shape *s)
{
    if (s->ndim < 0) return 0;
    for (int i = 0; i < s->ndim; i++)
        if (s->d[i] < 0) return 0;
    return 1;
}

/*--------------------------------------------------------------- findings */

int k2t_hz_wants(const k2t_hz *h, k2t_pit p)
{
    return (h->mask & K2T_PIT_BIT(p)) != 0;
}

void k2t_hz_say(k2t_hz *h, k2t_pit p, int hazard, const char *fmt, ...)
{
    h->shown = k2t_hz_wants(h, p);
    if (!h->shown) return;
    if (h->n < h->max) {
        k2t_finding *f = &h->out[h->n];
        va_list ap;
        memset(f, 0, sizeof *f);
        f->pit = p, f->node = h->node, f->hazard = hazard;
        va_start(ap, fmt);
        vsnprintf(f->text, sizeof f->text, fmt, ap);
        va_end(ap);
    }
    h->n++;
}

void k2t_hz_code(k2t_hz *h, const char *fmt, ...)
{
    if (!h->shown || h->n > h->max || h->n == 0) return;
    k2t_finding *f = &h->out[h->n - 1];
    size_t len = strlen(f->code);
    if (len && len + 1 < sizeof f->code) f->code[len++] = '\n', f->code[len] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->code + len, sizeof f->code - len, fmt, ap);
    va_end(ap);
}

int k2t_hz_first_bn(const k2t_hz *h, int *n_bn)
{
    *n_bn = h->d->n_bn;
    return h->d->first_bn == h->node;
}

int k2t_hz_flat_seen(const k2t_hz *h, int f)
{
    return h->d->flat_seen[f];
}

/*---------------------------------------------------------------- padding */

/* The padding a straightforward port writes for 'same': k//2 (of the
** dilated kernel) on each side when the kernel is odd, none when even. */
static int naive_pad(int k, int d)
{
    int keff = (k - 1) * d + 1;
    return keff % 2 ? keff / 2 : 0;
}

/* The op's module for L with symmetric padding (ph, pw), or a placeholder. */
static const char *module(const k2t_hz *h, int ph, int pw, char *buf, size_t n)
{
    const k2t_op_def *def = k2t_op_def_of(h->L->op);
    if (!def || !def->module || def->module(h->L, h->in, ph, pw, buf, n) < 0) snprintf(buf, n, "(its module)");
    return buf;
}

void k2t_hz_window(k2t_hz *h, int kind)
{
    const k2t_layer *L = h->L;
    int is_pool = kind != 'c', is_max = kind == 'm';
    char wd[64], sd[48], pd[96], fp[48], mod[200], pp[32];
    k2t_win g;
    int rank = 2;
    if (L->cfg.padding == K2T_PAD_VALID) return;
    if (!h->in || k2t_layer_win(L, h->in, &g, &rank) < 0) {
        k2t_hz_say(h, K2T_PIT_PADDING, 1, "'%s' padding on an input of unknown size: TF's pads depend on it",
                   L->cfg.padding == K2T_PAD_CAUSAL ? "causal" : "same");
        return;
    }
    const char *what = is_pool ? (is_max ? "nn.MaxPool" : "nn.AvgPool") : "nn.Conv";
    win_desc(wd, sizeof wd, &g, rank);
    size_desc(sd, sizeof sd, &g, rank);
    pads_desc(pd, sizeof pd, &g, rank);
    fpad(fp, sizeof fp, &g, rank);
    if (L->cfg.padding == K2T_PAD_CAUSAL) {
        k2t_hz_say(h, K2T_PIT_PADDING, 1, "'causal' (%s) on %s: TF pads %d on the left only; PyTorch has no "
                   "causal padding", wd, sd, g.pl);
        k2t_hz_code(h, "x = F.pad(x, %s)", fp);
        k2t_hz_code(h, "%s", module(h, 0, 0, mod, sizeof mod));
        return;
    }
    int qh = rank == 1 ? 0 : naive_pad(g.kh, g.dh), qw = naive_pad(g.kw, g.dw);
    int asym = g.pt != g.pb || g.pl != g.pr;
    int zero = !(g.pt | g.pb | g.pl | g.pr);
    if (asym) {
        /* What the port's symmetric k//2 would compute instead. */
        k2t_win t = g;
        int nout = k2t_win_sym(&t, qh, qw) == 0;
        char conseq[160] = "";
        if (nout && (t.oh != g.oh || t.ow != g.ow)) {
            if (rank == 1) snprintf(conseq, sizeof conseq, "gives length %d instead of %d", t.ow, g.ow);
            else snprintf(conseq, sizeof conseq, "gives %dx%d instead of %dx%d", t.oh, t.ow, g.oh, g.ow);
        } else if (nout) {
            int up = qh - g.pt, left = qw - g.pl;
            if (rank == 2 && up == left)
                snprintf(conseq, sizeof conseq, "moves every window %d pixel%s up and left", up, up == 1 ? "" : "s");
            else if (rank == 2 && up && left)
                snprintf(conseq, sizeof conseq, "moves every window %d up and %d left", up, left);
            else if (rank == 2 && up)
                snprintf(conseq, sizeof conseq, "moves every window %d up", up);
            else
                snprintf(conseq, sizeof conseq, "moves every window %d %s", left, rank == 1 ? "earlier" : "left");
        }
        k2t_pair(pp, sizeof pp, rank, qh, qw);
        k2t_hz_say(h, K2T_PIT_PADDING, 1, "'same' (%s) on %s: TF pads %s; %s%dd(padding=%s) pads %s on both "
                   "sides and %s", wd, sd, pd, what, rank, pp, pp, conseq);
        if (is_pool && is_max) {
            k2t_hz_code(h, "x = F.pad(x, %s, value=float('-inf'))  # (left, right%s)", fp,
                        rank == 1 ? "" : ", top, bottom");
            k2t_hz_code(h, "%s", module(h, 0, 0, mod, sizeof mod));
        } else if (is_pool) {
            char k[32], s[32];
            k2t_pair(k, sizeof k, rank, g.kh, g.kw);
            k2t_pair(s, sizeof s, rank, g.sh, g.sw);
            k2t_hz_code(h, "ones = F.pad(torch.ones_like(x[:, :1]), %s)", fp);
            k2t_hz_code(h, "x = F.avg_pool%dd(F.pad(x, %s), %s, %s) / F.avg_pool%dd(ones, %s, %s)  "
                        "# divide by the real cells", rank, fp, k, s, rank, k, s);
        } else {
            k2t_hz_code(h, "x = F.pad(x, %s)  # (left, right%s)", fp, rank == 1 ? "" : ", top, bottom");
            k2t_hz_code(h, "%s", module(h, 0, 0, mod, sizeof mod));
        }
        return;
    }
    int ph = g.pt, pw = g.pl;
    k2t_pair(pp, sizeof pp, rank, ph, pw);
    if (ph == qh && pw == qw) {
        if (zero)
            k2t_hz_say(h, K2T_PIT_PADDING, 0, "'same' (%s) on %s: TF pads nothing, as padding=0 does", wd, sd);
        else if (is_pool && !is_max) {
            k2t_hz_say(h, K2T_PIT_PADDING, 1, "'same' (%s) on %s: TF pads %s and divides each window by its "
                       "real cells; nn.AvgPool%dd counts the padded zeros by default", wd, sd, pd, rank);
            k2t_hz_code(h, "%s", module(h, ph, pw, mod, sizeof mod));
        } else if (is_max)
            k2t_hz_say(h, K2T_PIT_PADDING, 0, "'same' (%s) on %s: TF pads %s with -inf, as %s does", wd, sd, pd,
                       module(h, ph, pw, mod, sizeof mod));
        else
            k2t_hz_say(h, K2T_PIT_PADDING, 0, "'same' (%s) on %s: TF pads %s, as padding=%s does", wd, sd, pd, pp);
        return;
    }
    char qq[32];
    k2t_pair(qq, sizeof qq, rank, qh, qw);
    k2t_hz_say(h, K2T_PIT_PADDING, 1, "'same' (%s) on %s: TF pads %s here, not k//2 = %s", wd, sd, pd, qq);
    k2t_hz_code(h, "%s", module(h, ph, pw, mod, sizeof mod));
}

/*------------------------------------------------------------ activation */

void k2t_hz_act(k2t_hz *h, k2t_act act)
{
    if (act == K2T_ACT_HARD_SIGMOID) {
        k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "hard_sigmoid is Keras 2's clip(0.2*x + 0.5, 0, 1); F.hardsigmoid "
                   "is clip(x/6 + 0.5, 0, 1)");
        k2t_hz_code(h, "x = torch.clamp(0.2 * x + 0.5, 0, 1)");
    } else if (act == K2T_ACT_LEAKY_RELU) {
        k2t_hz_say(h, K2T_PIT_ACTIVATION, 1, "the activation string 'leaky_relu' uses slope 0.2; PyTorch's "
                   "default is 0.01");
        k2t_hz_code(h, "x = F.leaky_relu(x, 0.2)");
    }
}

void k2t_hz_softmax_out(k2t_hz *h)
{
    if (!h->N->is_output) return;
    k2t_hz_say(h, K2T_PIT_SOFTMAX, 1, "the model's output ends in softmax: Keras returns probabilities; a port "
               "that leaves softmax to nn.CrossEntropyLoss returns logits");
    k2t_hz_code(h, "probs = torch.softmax(logits, dim=1)  # or end forward() with it");
}

/*---------------------------------------------------------------- flatten */

/* Walk back from a Dense input through layers that keep the element order
** and 1-D concatenations, to the Flatten nodes (or Reshapes to 1-D) of a
** map with more than one position. */
typedef struct flat_hit {
    int node;        /* the Flatten or Reshape */
    int64_t offset;  /* its first column in the Dense's input */
} flat_hit;

static void find_flattens(const k2t_model *m, int node, int64_t offset, flat_hit *hits, int *n, int cap,
                          int depth)
{
    const k2t_node *N = &m->nodes[node];
    const k2t_op_def *def = k2t_op_def_of(k2t_node_layer(m, node)->op);
    unsigned fl = def ? def->flags : 0;
    if (depth > 64 || N->shape.ndim != 1) return;
    if (fl & K2T_OPF_FLATTENS) {
        if (N->n_in == 1 && m->nodes[N->in[0]].shape.ndim >= 2 && *n < cap) {
            hits[*n].node = node, hits[*n].offset = offset;
            (*n)++;
        }
    } else if (fl & K2T_OPF_KEEPS_ORDER) {
        if (N->n_in == 1) find_flattens(m, N->in[0], offset, hits, n, cap, depth + 1);
    } else if (fl & K2T_OPF_CONCAT) {
        for (int j = 0; j < N->n_in; j++) {
            const k2t_shape *s = &m->nodes[N->in[j]].shape;
            if (s->ndim != 1 || s->d[0] < 0) return;
            find_flattens(m, N->in[j], offset, hits, n, cap, depth + 1);
            offset += s->d[0];
        }
    }
}

/* The flatten finding of Flatten node f whose output feeds columns
** [offset, offset+len) of Dense layer L (NULL: no Dense reads it). */
static void flatten_one(k2t_hz *h, int f, const k2t_layer *L, int64_t offset, int64_t in_len)
{
    const k2t_model *m = h->m;
    const k2t_shape *s = &m->nodes[m->nodes[f].in[0]].shape;
    char s1[96], pl[64], pf[64], dimnames[96] = "";
    int r = s->ndim;
    k2t_shape last;
    if (k2t_node_layer(m, f)->cfg.channels_first && r >= 2) {
        /* Keras moves the channels last first: the order, the fix and the
        ** kernel's rows are a channels_last map's. */
        last = *s;
        for (int a = 0; a < r - 1; a++) last.d[a] = s->d[a + 1];
        last.d[r - 1] = s->d[0];
        s = &last;
    } else if (k2t_model_chw(m) && r >= 2) {
        /* A channels_first model's map is (C, H, W) in Keras as in the port. */
        k2t_hz_say(h, K2T_PIT_FLATTEN, 0, "%s reads %s of a channels_first model: Keras flattens it as it "
                   "is held, %s order, as flatten(1) does in PyTorch", m->nodes[f].name,
                   k2t_shape_str(s, 0, s1, sizeof s1), r == 3 ? "C,H,W" : r == 2 ? "C,L" : "channels-first");
        return;
    }
    if (!k2t_shape_known(s)) {
        k2t_hz_say(h, K2T_PIT_FLATTEN, 1, "%s flattens a map of unknown size %s: Keras's order is H,W,C, a "
                   "PyTorch flatten(1) on NCHW is C,H,W", m->nodes[f].name, k2t_shape_str(s, 0, s1, sizeof s1));
        return;
    }
    int64_t pos = 1, C = s->d[r - 1], len = k2t_shape_numel(s);
    for (int a = 0; a < r - 1; a++) pos *= s->d[a];
    k2t_shape_str(s, 0, s1, sizeof s1);
    const char *keras_order = r == 3 ? "H,W,C" : r == 2 ? "L,C" : "channels-last";
    const char *torch_order = r == 3 ? "C,H,W" : r == 2 ? "C,L" : "channels-first";
    const char *posn = r == 3 ? "H*W" : r == 2 ? "L" : "the number of positions";
    if (r == 3) snprintf(dimnames, sizeof dimnames, " (H=%lld, W=%lld, C=%lld)", (long long)s->d[0],
                         (long long)s->d[1], (long long)s->d[2]);
    else if (r == 2) snprintf(dimnames, sizeof dimnames, " (L=%lld, C=%lld)", (long long)s->d[0], (long long)s->d[1]);
    char cols[96] = "";
    if (L && (offset != 0 || len != in_len))
        snprintf(cols, sizeof cols, " %lld..%lld (of %lld)", (long long)offset, (long long)(offset + len - 1),
                 (long long)in_len);
    if (pos == 1 || C == 1) {
        k2t_hz_say(h, K2T_PIT_FLATTEN, 0, "%s reads %s: with %s = %lld, Keras's %s order and PyTorch's %s order "
                   "agree", m->nodes[f].name, s1, pos == 1 ? posn : "C", (long long)(pos == 1 ? pos : C),
                   keras_order, torch_order);
        return;
    }
    if (L)
        k2t_hz_say(h, K2T_PIT_FLATTEN, 1, "%s turns %s%s into %lld features in %s order; flatten(1) on the NCHW "
                   "tensor gives %s, so %s's kernel rows%s meet the wrong features", m->nodes[f].name, s1,
                   dimnames, (long long)len, keras_order, torch_order, L->name, cols);
    else
        k2t_hz_say(h, K2T_PIT_FLATTEN, 1, "turns %s%s into %lld features in %s order; flatten(1) on the NCHW "
                   "tensor gives %s", s1, dimnames, (long long)len, keras_order, torch_order);
    k2t_hz_code(h, "x = x.%s.flatten(1)  # %s order, as Keras", k2t_perm_str(pl, sizeof pl, r, 1), keras_order);
    if (!L) return;
    /* Or permute the kernel's rows once: (pos..., C, out) -> (C, pos..., out). */
    snprintf(pf, sizeof pf, "transpose(%d", r - 1);
    for (int a = 0; a < r - 1; a++) k2t_cat(pf, sizeof pf, ", %d", a);
    k2t_cat(pf, sizeof pf, ", %d)", r);
    char dims[64] = "", attr[300];
    for (int a = 0; a < r; a++) k2t_cat(dims, sizeof dims, "%lld, ", (long long)s->d[a]);
    k2t_torch_ident(L->name, attr, sizeof attr);
    if (offset == 0 && len == in_len)
        k2t_hz_code(h, "or: sd[\"%s.weight\"] = torch.from_numpy(kernel.reshape(%s-1).%s.reshape(%lld, -1).T)",
                    attr, dims, pf, (long long)len);
    else
        k2t_hz_code(h, "or: kernel[%lld:%lld] = kernel[%lld:%lld].reshape(%s-1).%s.reshape(%lld, -1)  "
                    "# numpy, before .T", (long long)offset, (long long)(offset + len), (long long)offset,
                    (long long)(offset + len), dims, pf, (long long)len);
}

void k2t_hz_flatten(k2t_hz *h)
{
    flat_hit hits[16];
    int n = 0;
    if (!h->in || h->in->ndim != 1 || h->N->n_in != 1) return;
    find_flattens(h->m, h->N->in[0], 0, hits, &n, 16, 0);
    for (int k = 0; k < n; k++) flatten_one(h, hits[k].node, h->L, hits[k].offset, h->in->d[0]);
}

/* A Flatten that no Dense reports (issue 'flatten' at the Flatten itself). */
static void flatten_alone(k2t_hz *h)
{
    const k2t_op_def *def = k2t_op_def_of(h->L->op);
    if (!def || !(def->flags & K2T_OPF_FLATTENS) || !h->in || h->N->shape.ndim != 1 || h->in->ndim < 2) return;
    if (h->d->flat_seen[h->node]) return;
    int64_t pos = 1;
    for (int a = 0; a < h->in->ndim - 1; a++) pos *= h->in->d[a];
    if (pos != 1 && h->in->d[h->in->ndim - 1] != 1) flatten_one(h, h->node, NULL, 0, 0);
}

/*-------------------------------------------------------------- transpose */

/* Every weight whose PyTorch tensor is a rearrangement of Keras's. */
static void transpose(k2t_hz *h)
{
    const k2t_layer *L = h->L;
    char tname[300], s1[64], s2[64], how[128];
    if (k2t_find_node(h->m, L->name) != h->node) return; /* a shared layer: at its first call */
    for (int wi = 0; wi < L->n_w; wi++) {
        const k2t_weight *w = &L->w[wi];
        k2t_tw tw;
        k2t_shape ts;
        if (k2t_layer_tw(L, wi, &tw) != 0 || !tw.n_perm) continue;
        if (k2t_torch_param(h->m, L, wi, tname, sizeof tname, &ts) != 0) continue;
        k2t_tw_code(w, &tw, how, sizeof how);
        if (!how[0]) continue;
        k2t_hz_say(h, K2T_PIT_TRANSPOSE, 1, "%s %s is %s; %s %s is %s", w->name,
                   k2t_shape_str(&w->shape, 0, s1, sizeof s1), tw.keras_axes ? tw.keras_axes : "Keras's layout",
                   tname, k2t_shape_str(&ts, 0, s2, sizeof s2), tw.torch_axes ? tw.torch_axes : "PyTorch's");
        k2t_hz_code(h, "sd[\"%s\"] = torch.from_numpy(%s)%s", tname, w->name, how);
    }
}

/*------------------------------------------------------------- the driver */

k2t_diag *k2t_diag_new(const k2t_model *m)
{
    k2t_diag *d = k2t_xcalloc(1, sizeof *d);
    d->m = m;
    d->first_bn = -1;
    d->flat_seen = k2t_xcalloc((size_t)m->n_nodes + 1, 1);
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        const k2t_op_def *def = k2t_op_def_of(L->op);
        if (def && def->mode_stats) {
            if (d->first_bn < 0) d->first_bn = i;
            d->n_bn++;
        }
        /* A Flatten that feeds a Dense is reported at the Dense, where the
        ** weight fix goes. */
        const k2t_node *N = &m->nodes[i];
        if (def && (def->flags & K2T_OPF_FEATURES) && N->n_in == 1 && m->nodes[N->in[0]].shape.ndim == 1) {
            flat_hit hits[16];
            int n = 0;
            find_flattens(m, N->in[0], 0, hits, &n, 16, 0);
            for (int k = 0; k < n; k++) d->flat_seen[hits[k].node] = 1;
        }
    }
    return d;
}

void k2t_diag_free(k2t_diag *d)
{
    if (!d) return;
    free(d->flat_seen);
    free(d);
}

int k2t_findings(k2t_diag *d, int node, unsigned mask, const k2t_emu *port, const k2t_emu *ref,
                 k2t_finding *out, int max)
{
    const k2t_model *m = d->m;
    static const k2t_emu naive = {.layout = K2T_LAYOUT_NCHW, .no_transpose = 1, .bn_eps = 1e-5,
                                  .bn_train = 1, .pad_torch = 1, .flatten_torch = 1, .softmax_drop = 1};
    k2t_hz h = {0};
    /* a call's later tensors (return_state): its findings are the call's */
    if (node < 0 || node >= m->n_nodes || m->nodes[node].part) return 0;
    h.m = m, h.d = d, h.node = node, h.mask = mask, h.out = out, h.max = max;
    h.port = port ? port : &naive;
    h.ref = ref ? ref : &k2t_emu_keras;
    h.N = &m->nodes[node];
    h.L = k2t_node_layer(m, node);
    h.in = h.N->n_in ? &m->nodes[h.N->in[0]].shape : NULL;
    const k2t_layer *L = h.L;
    const k2t_op_def *def = k2t_op_def_of(L->op);
    int first_call = k2t_find_node(m, L->name) == node;
    if (L->op == K2T_OP_UNSUPPORTED || !def) {
        k2t_hz_say(&h, K2T_PIT_UNSUPPORTED, 1, "%s (k2t cannot check or run it; port it by hand from its "
                   "config: info %s --json)", L->unsupported ? L->unsupported : "not supported", L->name);
        return h.n;
    }
    if (L->unsupported && first_call) k2t_hz_say(&h, K2T_PIT_UNSUPPORTED, 1, "%s", L->unsupported);
    transpose(&h);
    if (def->hazards) def->hazards(&h);
    flatten_alone(&h);
    return h.n;
}

/*------------------------------------------- the training preprocessing */

/* The first BatchNormalization's moving mean and variance are statistics
** of its input over the training data.  When the layers before it are
** linear in the model's input (a convolution, a Dense, padding), the
** mean input value that produced those means can be solved for: run the
** prefix on constant inputs (its response to 1 per channel, and to 0 for
** the bias) and fit.  A mean near 120 is raw 0..255 pixels, near 0.45 is
** x/255, near 0 a centred input; the variance separates a centred input
** of pixel scale (Caffe's BGR minus means) from a unit one. */
static int find_stats_bn(const k2t_model *m, int *bn, int *from)
{
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_op_def *def = k2t_op_def_of(k2t_node_layer(m, i)->op);
        if (!def || !def->mode_stats) continue;
        if (m->nodes[i].n_in != 1) return -1;
        *bn = i, *from = m->nodes[i].in[0];
        return 0;
    }
    return -1;
}

/* The layers before the statistics run on probe inputs: zeros (the bias
** response), ones in each of nc channels (all channels when nc is 1), and
** uniform noise of variance 1.  *y gets the outputs of node 'from' (B x
** its size, Keras layout, malloc'ed); returns its per-sample size or -1. */
static int64_t probe(const k2t_model *m, int from, int nc, int64_t numel, int C, float **y, k2t_err *err)
{
    int B = nc + 2;
    float *x = k2t_xcalloc((size_t)(B * numel), sizeof(float));
    for (int k = 0; k < nc; k++)
        for (int64_t i = 0; i < numel; i++)
            if (nc == 1 || i % C == k) x[(1 + k) * numel + i] = 1;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < numel; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[(B - 1) * numel + i] = (float)(((double)(seed >> 11) / 9007199254740992.0 - 0.5) * 3.4641016151377544);
    }
    k2t_opts o = {.threads = 1, .keep = 1};
    k2t_run *r = k2t_run_new(m, &o, NULL, B, err);
    k2t_status st = r ? k2t_run_set_input(r, 0, x, B, err) : K2T_EUNSUPPORTED;
    if (st == K2T_OK) st = k2t_run_nodes(r, 0, from + 1, err);
    int64_t yn = -1;
    *y = NULL;
    if (st == K2T_OK) {
        yn = k2t_shape_numel(k2t_run_keras_shape(r, from));
        *y = k2t_xmalloc((size_t)(B * yn) * sizeof(float));
        if (k2t_run_keras(r, from, 0, *y, err) != K2T_OK) yn = -1;
    }
    k2t_run_free(r);
    free(x);
    return yn;
}

/* Least squares for the per-channel means: sum_o S[o][k] mu_k = m_o - b_o. */
static int channel_fit(const double *S, const double *b, const k2t_weight *mean, int64_t O, int nc, double *mu)
{
    double A[8][9] = {{0}};
    for (int64_t o = 0; o < O; o++)
        for (int i = 0; i < nc; i++) {
            for (int j = 0; j < nc; j++) A[i][j] += S[o * nc + i] * S[o * nc + j];
            A[i][nc] += S[o * nc + i] * (mean->data[o] - b[o]);
        }
    for (int i = 0; i < nc; i++) { /* Gauss-Jordan with partial pivoting */
        int p = i;
        for (int r = i + 1; r < nc; r++) if (fabs(A[r][i]) > fabs(A[p][i])) p = r;
        if (fabs(A[p][i]) < 1e-12) return -1;
        for (int j = 0; j <= nc; j++) { double t = A[i][j]; A[i][j] = A[p][j]; A[p][j] = t; }
        for (int r = 0; r < nc; r++) {
            if (r == i) continue;
            double f = A[r][i] / A[i][i];
            for (int j = i; j <= nc; j++) A[r][j] -= f * A[i][j];
        }
    }
    for (int i = 0; i < nc; i++) mu[i] = A[i][nc] / A[i][i];
    return 0;
}

/* The convention a mean and spread of an image input look like. */
static int classify(const k2t_input_scale *s, int image)
{
    double mu = s->mean, sd = s->std;
    if (!image) return -1;
    if (mu > 40 && mu < 215) return K2T_PRE_RAW;
    if (mu > 0.15 && mu < 0.85) return K2T_PRE_UNIT;
    if (fabs(mu) < 0.45 && sd > 8) return K2T_PRE_CAFFE;
    if (fabs(mu) < 0.45) return K2T_PRE_SYMMETRIC; /* or mean/std: both centred, spread ~1 */
    return -1;
}

k2t_status k2t_infer_input_scale(const k2t_model *m, k2t_input_scale *s, k2t_err *err)
{
    memset(s, 0, sizeof *s);
    s->guess = -1;
    if (!m->has_arch || m->n_inputs != 1)
        return k2t_fail(err, K2T_EUNSUPPORTED, "needs a model with one input");
    int bn, from;
    if (find_stats_bn(m, &bn, &from) != 0)
        return k2t_fail(err, K2T_EUNSUPPORTED, "no BatchNormalization with moving statistics");
    s->bn_node = bn, s->from_node = from;
    const k2t_layer *L = k2t_node_layer(m, bn);
    const k2t_weight *mean = NULL, *var = NULL;
    for (int i = 0; i < L->n_w; i++) {
        if (!strcmp(L->w[i].name, "moving_mean")) mean = &L->w[i];
        if (!strcmp(L->w[i].name, "moving_variance")) var = &L->w[i];
    }
    const k2t_shape *ins = &m->nodes[m->inputs[0]].shape;
    int64_t numel = k2t_shape_numel(ins);
    if (!mean || !var || numel <= 0 || ins->ndim < 1 || numel > (1 << 22))
        return k2t_fail(err, K2T_EUNSUPPORTED, "the input size is not known");
    int C = (int)ins->d[ins->ndim - 1], nc = C <= 8 ? C : 1, B = nc + 2;
    float *y;
    int64_t yn = probe(m, from, nc, numel, C, &y, err), O = mean->size;
    if (yn < 0 || O <= 0 || yn % O) {
        free(y);
        return yn < 0 ? err->status : k2t_fail(err, K2T_ESHAPE, "statistics do not fit the layer");
    }
    int64_t P = yn / O; /* positions per channel */
    /* Per output channel: bias response b, response to each input channel
    ** S[k] and their sum St, and to unit noise Q (its variance around b). */
    double *b = k2t_xcalloc((size_t)O * (size_t)(nc + 3), sizeof(double)), *St = b + O, *Q = St + O,
           *S = Q + O;
    for (int64_t o = 0; o < O; o++) {
        for (int64_t p = 0; p < P; p++) b[o] += y[p * O + o] / (double)P;
        for (int k = 0; k < nc; k++) {
            double a = 0;
            for (int64_t p = 0; p < P; p++) a += y[(1 + k) * yn + p * O + o];
            S[o * nc + k] = a / (double)P - b[o];
            St[o] += S[o * nc + k];
        }
        for (int64_t p = 0; p < P; p++) {
            double d = y[(B - 1) * yn + p * O + o] - y[p * O + o];
            Q[o] += d * d / (double)P;
        }
    }
    /* The mean input: least squares over the output channels. */
    double num = 0, den = 0, res = 0, tot = 0, lr = 0;
    int nl = 0;
    for (int64_t o = 0; o < O; o++) num += (mean->data[o] - b[o]) * St[o], den += St[o] * St[o];
    if (den > 0) {
        s->mean = num / den;
        for (int64_t o = 0; o < O; o++) {
            double e = mean->data[o] - b[o] - s->mean * St[o];
            res += e * e;
            tot += (mean->data[o] - b[o]) * (mean->data[o] - b[o]);
            /* The spread: var_o ~ sigma^2 G_o, G between independent (Q) and
            ** fully correlated (St^2) pixels; their geometric mean. */
            double G = sqrt(Q[o] * St[o] * St[o]);
            if (G > 0 && var->data[o] > 0) lr += log(var->data[o] / G), nl++;
        }
        if (nc > 1 && O >= 2 * nc && channel_fit(S, b, mean, O, nc, s->ch_mean) == 0) s->n_ch = nc;
    }
    free(b);
    free(y);
    if (den <= 0)
        return k2t_fail(err, K2T_EUNSUPPORTED, "the layers before the statistics do not respond to the input");
    s->fit = tot > 0 ? sqrt(res / tot) : 0;
    s->std = nl ? sqrt(exp(lr / nl)) : 0;
    s->ok = s->fit < 0.75;
    int image = ins->ndim == 3 && (C == 1 || C == 3 || C == 4);
    if (!s->ok) snprintf(s->why, sizeof s->why, "the statistics fit no single mean input (residual %.2f)", s->fit);
    else if (!image) snprintf(s->why, sizeof s->why, "the input is not an image: no pixel convention applies");
    else s->guess = classify(s, image);
    return K2T_OK;
}

/* A check finding at the model's input: the preprocessing its statistics say
** it was trained with, and the line that feeds a port that way. */
void k2t_hz_input_scale(k2t_hz *h)
{
    k2t_diag *d = (k2t_diag *)h->d;
    if (!k2t_hz_wants(h, K2T_PIT_PREPROCESS) || h->m->n_inputs != 1 || h->node != h->m->inputs[0]) return;
    if (!d->scale_done) {
        k2t_err err = {0};
        d->scale_done = 1;
        if (k2t_infer_input_scale(h->m, &d->scale, &err) != K2T_OK) d->scale.ok = 0;
    }
    const k2t_input_scale *s = &d->scale;
    if (!s->ok) return;
    if (s->guess < 0) {
        k2t_hz_say(h, K2T_PIT_PREPROCESS, 0, "the moving mean of %s fits a mean input of %.3g through %s (spread "
                   "about %.2g): feed the port the features Keras was trained on, scaled the same way",
                   h->m->nodes[s->bn_node].name, s->mean, h->m->nodes[s->from_node].name, s->std);
        return;
    }
    char ch[160] = "";
    if (s->n_ch > 1) {
        snprintf(ch, sizeof ch, " (per channel");
        for (int k = 0; k < s->n_ch; k++) k2t_cat(ch, sizeof ch, "%s %.3g", k ? "," : "", s->ch_mean[k]);
        k2t_cat(ch, sizeof ch, ")");
    }
    static const char *const what[] = {
        [K2T_PRE_RAW] = "raw pixels 0..255 (transforms.ToTensor() would divide them by 255)",
        [K2T_PRE_UNIT] = "pixels divided by 255, as transforms.ToTensor() gives",
        [K2T_PRE_SYMMETRIC] = "a centred input of spread about 1 ([-1, 1], or mean/std normalisation)",
        [K2T_PRE_TORCH] = "ImageNet mean/std normalisation",
        [K2T_PRE_CAFFE] = "a centred input of pixel scale (Caffe's BGR minus the channel means)",
    };
    k2t_hz_say(h, K2T_PIT_PREPROCESS, s->guess != K2T_PRE_UNIT,
               "the moving mean of %s fits a mean input of %.3g%s through %s (spread about %.2g): "
               "the model was trained on %s", h->m->nodes[s->bn_node].name, s->mean, ch,
               h->m->nodes[s->from_node].name, s->std, what[s->guess]);
    if (s->guess == K2T_PRE_RAW) k2t_hz_code(h, "x = torch.from_numpy(images.astype(np.float32))  # 0..255, no ToTensor()");
    else if (s->guess == K2T_PRE_UNIT) k2t_hz_code(h, "x = torch.from_numpy(images.astype(np.float32)) / 255");
    else if (s->guess == K2T_PRE_CAFFE)
        k2t_hz_code(h, "x = x[:, [2, 1, 0]] - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)  # BGR");
    else k2t_hz_code(h, "x = x / 127.5 - 1  # or the mean/std normalisation of its training script");
}

/*------------------------------------------- causes from a port's tensors */

void k2t_act_apply(float *y, int64_t rows, int64_t c, k2t_act act)
{
    if (act == K2T_ACT_SOFTMAX) kern_softmax(y, rows, c, 1);
    else kern_act(y, rows * c, act);
}

/* An activation as a port would recognise it. */
static const char *act_label(k2t_act a)
{
    switch (a) {
    case K2T_ACT_LINEAR: return "no activation";
    case K2T_ACT_HARD_SIGMOID: return "Keras 2's hard_sigmoid clip(0.2*x + 0.5, 0, 1)";
    case K2T_ACT_HARD_SIGMOID3: return "F.hardsigmoid, clip(x/6 + 0.5, 0, 1)";
    case K2T_ACT_LEAKY_RELU: return "leaky_relu with slope 0.2";
    default: return k2t_act_name(a);
    }
}

int k2t_finding_act(const k2t_model *m, int node, k2t_act keras, k2t_act port, k2t_finding *f)
{
    char code[160];
    memset(f, 0, sizeof *f);
    f->pit = K2T_PIT_ACTIVATION, f->node = node, f->hazard = 1;
    snprintf(f->text, sizeof f->text, "Keras's %s applies %s; the port computes %s%s", m->nodes[node].name,
             act_label(keras), act_label(port), keras == K2T_ACT_LINEAR ? " (remove it)" : "");
    if (k2t_py_act(keras, "x", code, sizeof code)) snprintf(f->code, sizeof f->code, "x = %s", code);
    return 1;
}

int k2t_weight_check(const k2t_model *m, int node, int wi, const char *key, const float *t, const k2t_shape *ts,
                     k2t_finding *f)
{
    const k2t_layer *L = k2t_node_layer(m, node);
    k2t_tw tw, used, tw0;
    char right[128], wrong[128], s1[64], s2[64], init[160];
    if (wi < 0 || wi >= L->n_w || k2t_layer_tw(L, wi, &tw) != 0) return -1;
    const k2t_weight *w = &L->w[wi];
    int64_t tn = k2t_tw_numel(w, &tw);
    if (k2t_shape_numel(ts) != tn) return -1;
    memset(f, 0, sizeof *f);
    f->node = node, f->hazard = 1;
    float *buf = k2t_xmalloc((size_t)(w->size ? w->size : 1) * sizeof(float));
    double big = 0, mad = 0, mad_order = 0;
    for (int64_t i = 0; i < w->size; i++)
        if (fabs(w->data[i]) > big) big = fabs(w->data[i]);
    k2t_tw_apply(w, &tw, buf);
    for (int64_t i = 0; i < tn; i++)
        if (fabs((double)buf[i] - t[i]) > mad) mad = fabs((double)buf[i] - t[i]);
    if (mad > 1e-6 * big + 1e-12 && tw.blocks > 1) { /* the blocks (gates) left in Keras's order? */
        k2t_tw same = tw;
        same.blocks = 0;
        k2t_tw_apply(w, &same, buf);
        for (int64_t i = 0; i < tn; i++)
            if (fabs((double)buf[i] - t[i]) > mad_order) mad_order = fabs((double)buf[i] - t[i]);
    }
    free(buf);
    if (mad <= 1e-6 * big + 1e-12) return 0;
    k2t_tw_code(w, &tw, right, sizeof right);
    if (tw.blocks > 1 && mad_order <= 1e-6 * big + 1e-12) {
        f->pit = K2T_PIT_TRANSPOSE;
        snprintf(f->text, sizeof f->text, "the port's %s %s holds %s's %s blocks in Keras's order (%s); PyTorch's "
                 "%s wants them reordered (%s)", key, k2t_shape_str(ts, 0, s1, sizeof s1), L->name, w->name,
                 tw.keras_axes ? tw.keras_axes : "Keras's", key, tw.torch_axes ? tw.torch_axes : "PyTorch's");
        snprintf(f->code, sizeof f->code, "sd[\"%s\"] = torch.from_numpy(%s)%s", key, w->name, right);
        return 1;
    }
    if (k2t_tw_search(w, t, ts, &used)) {
        k2t_tw_code(w, &used, wrong, sizeof wrong);
        f->pit = K2T_PIT_TRANSPOSE;
        snprintf(f->text, sizeof f->text, "the port's %s %s holds torch.from_numpy(%s)%s: %s %s %s in the wrong "
                 "order; PyTorch's %s wants %s%s", key, k2t_shape_str(ts, 0, s1, sizeof s1), w->name,
                 wrong[0] ? wrong : " (no rearrangement)", L->name, w->name, k2t_shape_str(&w->shape, 0, s2, sizeof s2),
                 tw.torch_axes ? tw.torch_axes : "layout", tw.keras_axes ? "Keras's " : "",
                 tw.keras_axes ? tw.keras_axes : "its own order");
        snprintf(f->code, sizeof f->code, "sd[\"%s\"] = torch.from_numpy(%s)%s", key, w->name, right);
        return 1;
    }
    int64_t fan = 0;
    if (k2t_layer_tw(L, 0, &tw0) == 0 && tw0.shape.ndim >= 2 && tw0.shape.d[0] > 0)
        fan = k2t_shape_numel(&tw0.shape) / tw0.shape.d[0];
    f->pit = K2T_PIT_INIT;
    if (k2t_tw_init_like(w, t, tn, fan, init, sizeof init))
        snprintf(f->text, sizeof f->text, "the port's %s was never copied from %s %s: it holds %s", key, L->name,
                 w->name, init);
    else
        snprintf(f->text, sizeof f->text, "the port's %s equals no rearrangement of %s %s %s (max|diff| %.3g to "
                 "the right one): it was not copied from it, or changed after", key, L->name, w->name,
                 k2t_shape_str(&w->shape, 0, s2, sizeof s2), mad);
    snprintf(f->code, sizeof f->code, "sd[\"%s\"] = torch.from_numpy(%s)%s\nmodel.load_state_dict(sd, strict=True)",
             key, w->name, right);
    return 2;
}

/*---------------------------------------------------------------- masks */

void k2t_mask_sources(const k2t_model *m, int *out, int *in)
{
    int *o = k2t_xmalloc((size_t)(m->n_nodes ? m->n_nodes : 1) * sizeof *o);
    for (int i = 0; i < m->n_nodes; i++) { /* producers come first */
        const k2t_node *N = &m->nodes[i];
        const k2t_layer *L = k2t_node_layer(m, i);
        const k2t_op_def *def = k2t_op_def_of(L->op);
        unsigned fl = def ? def->flags : 0;
        int src = -1;
        /* A recurrent layer's mask is its sequence's (input 0), not its
        ** initial states'; a call's later tensors (states) carry none. */
        for (int j = 0; j < ((fl & K2T_OPF_MASK_USE) ? 1 : N->n_in) && src < 0; j++) src = o[N->in[j]];
        if (N->part) src = -1;
        if (in) in[i] = src;
        if ((fl & K2T_OPF_MASK_MAKE) && L->cfg.makes_mask) o[i] = i;
        else if (src >= 0 && ((fl & K2T_OPF_MASK_PASS) || ((fl & K2T_OPF_MASK_USE) && L->cfg.return_sequences)))
            o[i] = src;
        else o[i] = -1;
    }
    if (out) memcpy(out, o, (size_t)m->n_nodes * sizeof *o);
    free(o);
}

/*------------------------------------------------------ honest unknowns */

char *k2t_describe_divergence(const float *a, const float *b, int batch, const k2t_shape *ks, double tol,
                              char *out, size_t n)
{
    int64_t cnt = k2t_shape_numel(ks) * batch, C = ks->ndim ? ks->d[ks->ndim - 1] : 1;
    double sab = 0, sbb = 0, so = 0;
    int64_t bad = 0, badc = 0, border = 0, inner_bad = 0;
    char *cb = k2t_xcalloc((size_t)(C + 1), 1);
    int sp2 = ks->ndim == 3;
    int64_t H = sp2 ? ks->d[0] : 0, W = sp2 ? ks->d[1] : 0;
    for (int64_t i = 0; i < cnt; i++) {
        sab += (double)a[i] * b[i], sbb += (double)b[i] * b[i], so += (double)a[i] - b[i];
        if (!(fabs((double)a[i] - b[i]) <= tol)) {
            bad++;
            if (!cb[i % C]) cb[i % C] = 1, badc++;
            if (sp2) {
                int64_t q = (i / C) % (H * W), y = q / W, x = q % W;
                if (y == 0 || x == 0 || y == H - 1 || x == W - 1) border++;
                else inner_bad++;
            }
        }
    }
    double s = sbb > 0 ? sab / sbb : 1, o = so / (double)cnt, ms = 0, mo = 0;
    for (int64_t i = 0; i < cnt; i++) {
        if (fabs(a[i] - s * b[i]) > ms) ms = fabs(a[i] - s * b[i]);
        if (fabs(a[i] - b[i] - o) > mo) mo = fabs(a[i] - b[i] - o);
    }
    size_t w = (size_t)snprintf(out, n, "%lld of %lld values differ, in %lld of %lld channels",
                                (long long)bad, (long long)cnt, (long long)badc, (long long)C);
    if (badc <= 4 && badc < C && w < n) {
        w += (size_t)snprintf(out + w, n - w, " (");
        for (int64_t ch = 0, k = 0; ch < C && w < n; ch++)
            if (cb[ch]) w += (size_t)snprintf(out + w, n - w, "%s%lld", k++ ? ", " : "", (long long)ch);
        if (w < n) w += (size_t)snprintf(out + w, n - w, ")");
    }
    if (sp2 && bad && !inner_bad && w < n) w += (size_t)snprintf(out + w, n - w, "; at the border only");
    else if (sp2 && bad && w < n) w += (size_t)snprintf(out + w, n - w, "; %lld at the border, %lld inside",
                                                       (long long)border, (long long)inner_bad);
    if (ms <= tol && fabs(s - 1) > 1e-6 && w < n) w += (size_t)snprintf(out + w, n - w, "; the port's is %.6g x Keras's", s);
    else if (mo <= tol && w < n) w += (size_t)snprintf(out + w, n - w, "; the port's is Keras's + %.6g", o);
    free(cb);
    return out;
}
