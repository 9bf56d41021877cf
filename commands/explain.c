/*
** explain.c -- what a PyTorch port gets wrong, and why: check, explain.
**
** check walks the graph in execution order and reports every layer where a
** straightforward PyTorch port computes something other than Keras, each
** hazard tagged with its topic and followed by the PyTorch code that
** matches Keras.  The numbers (TF's pads, epsilons, shapes) come from the
** loaded model and its input size, never from a table.
**
** explain teaches one pitfall at a time: a few paragraphs that hold for any
** model, then the same pitfall on the loaded model's layers (check's
** analysis filtered to that topic, plus what only the topic needs), then
** the k2t setting that reproduces the mistake and the command that shows
** its effect.  Teachers read these texts aloud: keep them exact and short.
*/
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

/*------------------------------------------------------------------ tags */

/* Every hazard carries a tag; the first ten are explain's topics. */
enum {
    T_LAYOUT, T_TRANSPOSE, T_BN_EPS, T_BN_MODE, T_PADDING, T_FLATTEN, T_SOFTMAX,
    T_PREPROCESS, T_INIT, T_RESIDUAL, N_TOPICS,
    T_ACTIVATION = N_TOPICS, T_UNSUPPORTED, N_TAGS
};

static const char *const tag_names[N_TAGS] = {
    "layout", "transpose", "bn-eps", "bn-mode", "padding", "flatten", "softmax",
    "preprocess", "init", "residual", "activation", "unsupported",
};

/* The measured facts explain may state are about this one model: the
** MLPerf Tiny ResNet8 (78,666 params, 32x32x3 in, 10 classes out). */
static int is_mlperf_resnet8(const k2t_model *m)
{
    if (!m || !m->has_arch || m->n_inputs != 1 || m->n_outputs != 1 || m->n_params != 78666)
        return 0;
    const k2t_shape *in = &m->nodes[m->inputs[0]].shape, *out = &m->nodes[m->outputs[0]].shape;
    return in->ndim == 3 && in->d[0] == 32 && in->d[1] == 32 && in->d[2] == 3 &&
           out->ndim == 1 && out->d[0] == 10;
}

/*--------------------------------------------------------- the reporter */

typedef struct chk {
    k2t_shell *sh;
    const k2t_model *m;
    int only;              /* report this tag only, or -1 for every tag */
    int node;              /* the node being reported */
    int headed;            /* its header line is out */
    int hazardous;         /* it has at least one hazard */
    int show;              /* the last hazard/ok line was shown: so are its code lines */
    int n_hazards, n_layers, n_lines;
    int count[N_TAGS];
    char *flat_seen;       /* Flatten nodes already reported through a Dense */
    int first_bn;          /* the first BatchNormalization node, or -1 */
    int n_bn;
} chk;

#define WRAP 100  /* hazard text wraps at this column */

static void header(chk *c)
{
    const k2t_model *m = c->m;
    const k2t_node *N = &m->nodes[c->node];
    const k2t_layer *L = k2t_node_layer(m, c->node);
    char s1[96], s2[96];
    if (c->headed) return;
    c->headed = 1;
    k2t_printf(c->sh, "%s%s%s (%s)", k2t_c_bold(c->sh), N->name, k2t_c_off(c->sh), L->class_name);
    if (N->n_in == 1)
        k2t_printf(c->sh, " %s ->", k2t_shape_str(&m->nodes[N->in[0]].shape, 0, s1, sizeof s1));
    else if (N->n_in > 1)
        k2t_printf(c->sh, " %d inputs ->", N->n_in);
    k2t_printf(c->sh, " %s\n", k2t_shape_str(&N->shape, 0, s2, sizeof s2));
}

static void line(chk *c, int tag, int hazard, const char *fmt, va_list ap)
{
    c->show = c->only < 0 || c->only == tag;
    if (!c->show) return;
    header(c);
    char text[1024];
    vsnprintf(text, sizeof text, fmt, ap);
    if (hazard) {
        c->n_hazards++;
        c->count[tag]++;
        c->hazardous = 1;
        k2t_printf(c->sh, "  %s!%s %s: ", k2t_c_warn(c->sh), k2t_c_off(c->sh), tag_names[tag]);
    } else {
        k2t_printf(c->sh, "  ok %s: ", tag_names[tag]);
    }
    /* Words wrapped at WRAP columns, continuation lines indented by 4. */
    int col = (int)strlen(tag_names[tag]) + (hazard ? 6 : 7), first = 1;
    for (const char *p = text; *p;) {
        while (*p == ' ') p++;
        size_t w = strcspn(p, " ");
        if (!w) break;
        if (!first && col + 1 + (int)w > WRAP) {
            k2t_printf(c->sh, "\n    ");
            col = 4;
        } else if (!first) {
            k2t_printf(c->sh, " ");
            col++;
        }
        k2t_printf(c->sh, "%.*s", (int)w, p);
        col += (int)w, first = 0;
        p += w;
    }
    k2t_printf(c->sh, "\n");
    c->n_lines++;
}

/* A difference between Keras and a straightforward port. */
static void hazard(chk *c, int tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void hazard(chk *c, int tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line(c, tag, 1, fmt, ap);
    va_end(ap);
}

/* A place where one might expect a hazard and there is none. */
static void fine(chk *c, int tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fine(chk *c, int tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line(c, tag, 0, fmt, ap);
    va_end(ap);
}

/* PyTorch code under the last hazard or ok line. */
static void code(chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void code(chk *c, const char *fmt, ...)
{
    va_list ap;
    if (!c->show) return;
    k2t_printf(c->sh, "      ");
    va_start(ap, fmt);
    vfprintf(c->sh->out, fmt, ap);
    va_end(ap);
    k2t_printf(c->sh, "\n");
}

/*------------------------------------------------------- small formatters */

/* Append to a string buffer. */
static void cat(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t n, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

/* "3" for a square window or rank 1, "(3, 1)" otherwise. */
static const char *pair(char *buf, size_t n, int rank, int h, int w)
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
    if (rank == 1 && g->dw > 1) cat(buf, n, ", dilation %d", g->dw);
    else if (rank == 2 && (g->dh > 1 || g->dw > 1)) cat(buf, n, ", dilation %dx%d", g->dh, g->dw);
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

/* Per-sample axis index (0-based) of a Keras axis written with the batch
** counted (3 or -1 for the channels of (H, W, C)); -1 when out of range. */
static int axis0(int a, int ndim)
{
    if (a < 0) a += ndim + 1;
    return a >= 1 && a <= ndim ? a - 1 : -1;
}

/* x.permute(...) that moves channels last (to_last) or first, for a
** per-sample rank r >= 2 (batch included in the permutation). */
static const char *perm_str(char *buf, size_t n, int r, int to_last)
{
    snprintf(buf, n, "permute(0");
    if (to_last) {
        for (int i = 2; i <= r; i++) cat(buf, n, ", %d", i);
        cat(buf, n, ", 1)");
    } else {
        cat(buf, n, ", %d", r);
        for (int i = 1; i < r; i++) cat(buf, n, ", %d", i);
        cat(buf, n, ")");
    }
    return buf;
}

static int shape_known(const k2t_shape *s)
{
    if (s->ndim < 0) return 0;
    for (int i = 0; i < s->ndim; i++)
        if (s->d[i] < 0) return 0;
    return 1;
}

static const k2t_weight *weight(const k2t_layer *L, const char *name)
{
    for (int i = 0; i < L->n_w; i++)
        if (strcmp(L->w[i].name, name) == 0) return &L->w[i];
    return NULL;
}

static int weight_index(const k2t_layer *L, const k2t_weight *w)
{
    return w ? (int)(w - L->w) : -1;
}

/*------------------------------------------------------ window geometry */

static int is_window_op(k2t_op op)
{
    return op == K2T_OP_CONV || op == K2T_OP_DEPTHWISE || op == K2T_OP_SEPARABLE ||
           op == K2T_OP_MAXPOOL || op == K2T_OP_AVGPOOL;
}

/* TF's geometry of a convolution or pooling node from the shape of its
** input, as the executor computes it.  Returns 0, or -1 when a size is
** unknown or the window does not fit. */
static int node_win(const k2t_model *m, int i, k2t_win *g, int *rank)
{
    const k2t_node *N = &m->nodes[i];
    memset(g, 0, sizeof *g);
    if (N->n_in < 1) return -1;
    return k2t_layer_win(k2t_node_layer(m, i), &m->nodes[N->in[0]].shape, g, rank);
}

/* The padding a straightforward port writes for 'same': k//2 (of the
** dilated kernel) on each side when the kernel is odd, none when even. */
static int naive_pad(int k, int d)
{
    int keff = (k - 1) * d + 1;
    return keff % 2 ? keff / 2 : 0;
}

/* The PyTorch module for a conv or pool node, with symmetric padding
** (ph, pw); depthwise_only: the depthwise half of a SeparableConv2D. */
static const char *module_str(char *buf, size_t n, const k2t_layer *L, const k2t_win *g, int rank,
                              int ph, int pw, int depthwise_only)
{
    const k2t_cfg *c = &L->cfg;
    char k[32], s[32], p[32], d[32];
    pair(k, sizeof k, rank, g->kh, g->kw);
    pair(s, sizeof s, rank, g->sh, g->sw);
    pair(p, sizeof p, rank, ph, pw);
    pair(d, sizeof d, rank, g->dh, g->dw);
    int strided = g->sh != 1 || g->sw != 1, dilated = g->dh != 1 || g->dw != 1;
    buf[0] = '\0';
    if (L->op == K2T_OP_MAXPOOL || L->op == K2T_OP_AVGPOOL) {
        int is_max = L->op == K2T_OP_MAXPOOL;
        cat(buf, n, "nn.%sPool%dd(%s", is_max ? "Max" : "Avg", rank, k);
        if (g->sh != g->kh || g->sw != g->kw) cat(buf, n, ", stride=%s", s);
        cat(buf, n, ", padding=%s", p);
        if (!is_max && (ph || pw)) cat(buf, n, ", count_include_pad=False");
        cat(buf, n, ")");
        return buf;
    }
    int cin = g->c, cout = c->filters, groups = c->groups > 1 ? c->groups : 1;
    if (L->op == K2T_OP_DEPTHWISE || L->op == K2T_OP_SEPARABLE) {
        int mult = c->depth_multiplier > 0 ? c->depth_multiplier : 1;
        cout = cin * mult, groups = cin;
    }
    cat(buf, n, "nn.Conv%dd(%d, %d, %s", rank, cin, cout, k);
    if (strided) cat(buf, n, ", stride=%s", s);
    cat(buf, n, ", padding=%s", p);
    if (dilated) cat(buf, n, ", dilation=%s", d);
    if (groups > 1) cat(buf, n, ", groups=%d", groups);
    if (depthwise_only || !c->use_bias) cat(buf, n, ", bias=False");
    cat(buf, n, ")");
    return buf;
}

/*---------------------------------------------------------- the hazards */

static void check_padding(chk *c, int i)
{
    const k2t_model *m = c->m;
    const k2t_layer *L = k2t_node_layer(m, i);
    const char *what = L->op == K2T_OP_MAXPOOL ? "nn.MaxPool" : L->op == K2T_OP_AVGPOOL ? "nn.AvgPool"
                                                                                         : "nn.Conv";
    char wd[64], sd[48], pd[96], fp[48], mod[200], pp[32];
    k2t_win g;
    int rank = 2;
    if (L->cfg.padding == K2T_PAD_VALID) return;
    if (node_win(m, i, &g, &rank) < 0) {
        hazard(c, T_PADDING, "'%s' padding on an input of unknown size: TF's pads depend on it",
               L->cfg.padding == K2T_PAD_CAUSAL ? "causal" : "same");
        return;
    }
    int sep = L->op == K2T_OP_SEPARABLE;
    win_desc(wd, sizeof wd, &g, rank);
    size_desc(sd, sizeof sd, &g, rank);
    pads_desc(pd, sizeof pd, &g, rank);
    fpad(fp, sizeof fp, &g, rank);
    if (L->cfg.padding == K2T_PAD_CAUSAL) {
        hazard(c, T_PADDING, "'causal' (%s) on %s: TF pads %d on the left only; PyTorch has no "
               "causal padding", wd, sd, g.pl);
        code(c, "x = F.pad(x, %s)", fp);
        code(c, "%s", module_str(mod, sizeof mod, L, &g, rank, 0, 0, sep));
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
                snprintf(conseq, sizeof conseq, "moves every window %d pixel%s up and left", up,
                         up == 1 ? "" : "s");
            else if (rank == 2 && up && left)
                snprintf(conseq, sizeof conseq, "moves every window %d up and %d left", up, left);
            else if (rank == 2 && up)
                snprintf(conseq, sizeof conseq, "moves every window %d up", up);
            else
                snprintf(conseq, sizeof conseq, "moves every window %d %s", left,
                         rank == 1 ? "earlier" : "left");
        }
        pair(pp, sizeof pp, rank, qh, qw);
        hazard(c, T_PADDING, "'same' (%s) on %s: TF pads %s; %s%dd(padding=%s) pads %s on both sides "
               "and %s", wd, sd, pd, what, rank, pp, pp, conseq);
        if (L->op == K2T_OP_MAXPOOL) {
            code(c, "x = F.pad(x, %s, value=float('-inf'))  # (left, right%s)", fp,
                 rank == 1 ? "" : ", top, bottom");
            code(c, "%s", module_str(mod, sizeof mod, L, &g, rank, 0, 0, 0));
        } else if (L->op == K2T_OP_AVGPOOL) {
            char k[32], s[32];
            pair(k, sizeof k, rank, g.kh, g.kw);
            pair(s, sizeof s, rank, g.sh, g.sw);
            code(c, "ones = F.pad(torch.ones_like(x[:, :1]), %s)", fp);
            code(c, "x = F.avg_pool%dd(F.pad(x, %s), %s, %s) / F.avg_pool%dd(ones, %s, %s)  "
                 "# divide by the real cells", rank, fp, k, s, rank, k, s);
        } else {
            code(c, "x = F.pad(x, %s)  # (left, right%s)", fp, rank == 1 ? "" : ", top, bottom");
            code(c, "%s", module_str(mod, sizeof mod, L, &g, rank, 0, 0, sep));
        }
        return;
    }
    int ph = g.pt, pw = g.pl;
    pair(pp, sizeof pp, rank, ph, pw);
    if (ph == qh && pw == qw) {
        if (zero)
            fine(c, T_PADDING, "'same' (%s) on %s: TF pads nothing, as padding=0 does", wd, sd);
        else if (L->op == K2T_OP_AVGPOOL) {
            hazard(c, T_PADDING, "'same' (%s) on %s: TF pads %s and divides each window by its "
                   "real cells; nn.AvgPool%dd counts the padded zeros by default", wd, sd, pd, rank);
            code(c, "%s", module_str(mod, sizeof mod, L, &g, rank, ph, pw, 0));
        } else if (L->op == K2T_OP_MAXPOOL)
            fine(c, T_PADDING, "'same' (%s) on %s: TF pads %s with -inf, as %s does", wd, sd, pd,
                 module_str(mod, sizeof mod, L, &g, rank, ph, pw, 0));
        else
            fine(c, T_PADDING, "'same' (%s) on %s: TF pads %s, as padding=%s does", wd, sd, pd, pp);
        return;
    }
    char qq[32];
    pair(qq, sizeof qq, rank, qh, qw);
    hazard(c, T_PADDING, "'same' (%s) on %s: TF pads %s here, not k//2 = %s", wd, sd, pd, qq);
    code(c, "%s", module_str(mod, sizeof mod, L, &g, rank, ph, pw, sep));
}

/* Conv2DTranspose: Keras keeps out = in*stride of the full transposed
** convolution F, starting at c = (len(F) - out) // 2 (KERAS-FORMAT 4). */
static void check_conv_transpose(chk *c, int i)
{
    const k2t_model *m = c->m;
    const k2t_node *N = &m->nodes[i];
    const k2t_layer *L = k2t_node_layer(m, i);
    const k2t_cfg *cf = &L->cfg;
    if (N->n_in < 1) return;
    const k2t_shape *in = &m->nodes[N->in[0]].shape;
    if (!shape_known(in) || !shape_known(&N->shape) || in->ndim != 3 || N->shape.ndim != 3) return;
    int p[2], op[2], crop[2], after[2], full[2], out[2], ok = 1, any = 0;
    for (int a = 0; a < 2; a++) {
        int d = cf->dilation[a] ? cf->dilation[a] : 1, s = cf->strides[a];
        full[a] = (int)((in->d[a] - 1) * s + (cf->kernel[a] - 1) * d + 1);
        out[a] = (int)N->shape.d[a];
        crop[a] = full[a] > out[a] ? (full[a] - out[a]) / 2 : 0;
        after[a] = full[a] - out[a] - crop[a];
        p[a] = crop[a], op[a] = crop[a] - after[a];
        if (op[a] < 0 || op[a] >= (s > d ? s : d)) ok = 0;
        if (p[a] || op[a]) any = 1;
    }
    char k[32], s[32], pp[32], oo[32];
    pair(k, sizeof k, 2, cf->kernel[0], cf->kernel[1]);
    pair(s, sizeof s, 2, cf->strides[0], cf->strides[1]);
    if (ok && !any) return;
    if (ok) {
        pair(pp, sizeof pp, 2, p[0], p[1]);
        pair(oo, sizeof oo, 2, op[0], op[1]);
        fine(c, T_PADDING, "Keras keeps rows %d..%d and columns %d..%d of the full %dx%d output, "
             "as nn.ConvTranspose2d(padding=%s, output_padding=%s) does", crop[0], crop[0] + out[0] - 1,
             crop[1], crop[1] + out[1] - 1, full[0], full[1], pp, oo);
        return;
    }
    hazard(c, T_PADDING, "'%s' at stride %s: Keras keeps rows %d..%d and columns %d..%d of the full "
           "%dx%d output; no padding/output_padding of nn.ConvTranspose2d selects that",
           cf->padding == K2T_PAD_SAME ? "same" : "valid", s, crop[0], crop[0] + out[0] - 1,
           crop[1], crop[1] + out[1] - 1, full[0], full[1]);
    code(c, "nn.ConvTranspose2d(%lld, %d, %s, stride=%s, padding=0)", (long long)in->d[2],
         cf->filters, k, s);
    if (after[0] >= 0 && after[1] >= 0)
        code(c, "y = y[:, :, %d:%d, %d:%d]", crop[0], crop[0] + out[0], crop[1], crop[1] + out[1]);
    else
        code(c, "y = F.pad(y, (%d, %d, %d, %d))[:, :, %d:%d, %d:%d]  # zeros (then the bias) past the "
             "full output", 0, after[1] < 0 ? -after[1] : 0, 0, after[0] < 0 ? -after[0] : 0, crop[0],
             crop[0] + out[0], crop[1], crop[1] + out[1]);
}

/* One "keras (shape) is ...; torch.name (shape) is ..." hazard with its
** state_dict line. */
static void check_kernel(chk *c, const k2t_layer *L, const k2t_weight *w, const char *keras_axes,
                         const char *torch_axes, const char *how)
{
    char tname[300], s1[64], s2[64];
    k2t_shape ts;
    if (!w || k2t_torch_param(c->m, L, weight_index(L, w), tname, sizeof tname, &ts) != 0) return;
    hazard(c, T_TRANSPOSE, "%s %s is %s; %s %s is %s", w->name, k2t_shape_str(&w->shape, 0, s1, sizeof s1),
           keras_axes, tname, k2t_shape_str(&ts, 0, s2, sizeof s2), torch_axes);
    code(c, "sd[\"%s\"] = torch.from_numpy(%s)%s", tname, w->name, how);
}

static void check_weights(chk *c, int i)
{
    const k2t_model *m = c->m;
    const k2t_layer *L = k2t_node_layer(m, i);
    const k2t_cfg *cf = &L->cfg;
    char how[96], s1[64], mod[200];
    if (k2t_find_node(m, L->name) != i) return; /* a shared layer: at its first call */
    switch (L->op) {
    case K2T_OP_CONV:
        if (cf->rank == 1)
            check_kernel(c, L, weight(L, "kernel"), "(k, in, out)", "(out, in, k)", ".permute(2, 1, 0)");
        else
            check_kernel(c, L, weight(L, "kernel"), "HWIO", "OIHW", ".permute(3, 2, 0, 1)");
        break;
    case K2T_OP_CONV_TRANSPOSE:
        check_kernel(c, L, weight(L, "kernel"), "(kh, kw, out, in)", "(in, out, kh, kw)",
                     ".permute(3, 2, 0, 1)");
        break;
    case K2T_OP_DEPTHWISE:
    case K2T_OP_SEPARABLE: {
        const k2t_weight *w = weight(L, "depthwise_kernel");
        if (!w) w = weight(L, "kernel");
        if (!w || w->shape.ndim != 4) break;
        long long kh = w->shape.d[0], kw = w->shape.d[1], C = w->shape.d[2], M = w->shape.d[3];
        char axes[96];
        if (M == 1) snprintf(axes, sizeof axes, "(C, 1, kh, kw), one filter per channel");
        else snprintf(axes, sizeof axes, "(C*M, 1, kh, kw), output channel c*%lld+m from input channel c", M);
        snprintf(how, sizeof how, ".reshape(%lld, %lld, 1, %lld).permute(3, 2, 0, 1)", kh, kw, C * M);
        check_kernel(c, L, w, "(kh, kw, C, M)", axes, how);
        k2t_win g;
        int rank = 2;
        if (node_win(m, i, &g, &rank) == 0) {
            int ph = L->cfg.padding == K2T_PAD_SAME && !(g.pt != g.pb || g.pl != g.pr) ? g.pt : 0;
            int pw = L->cfg.padding == K2T_PAD_SAME && !(g.pt != g.pb || g.pl != g.pr) ? g.pl : 0;
            code(c, "%s  # one group per input channel", module_str(mod, sizeof mod, L, &g, rank, ph, pw,
                                                                    L->op == K2T_OP_SEPARABLE));
            if (L->op == K2T_OP_SEPARABLE)
                code(c, "nn.Conv2d(%lld, %d, 1)  # then the pointwise half", C * M, cf->filters);
        }
        if (L->op == K2T_OP_SEPARABLE)
            check_kernel(c, L, weight(L, "pointwise_kernel"), "HWIO", "OIHW", ".permute(3, 2, 0, 1)");
        break;
    }
    case K2T_OP_DENSE:
        check_kernel(c, L, weight(L, "kernel"), "(in, out)", "(out, in)", ".T");
        break;
    case K2T_OP_PRELU: {
        const k2t_weight *w = weight(L, "alpha");
        char tname[300], s2[64];
        k2t_shape ts;
        if (!w || k2t_torch_param(m, L, weight_index(L, w), tname, sizeof tname, &ts) != 0) break;
        if (ts.ndim == 1 && w->shape.ndim > 1) {
            hazard(c, T_TRANSPOSE, "alpha %s is shared over the spatial axes; nn.PReLU(%lld) holds %s %s",
                   k2t_shape_str(&w->shape, 0, s1, sizeof s1), (long long)ts.d[0], tname,
                   k2t_shape_str(&ts, 0, s2, sizeof s2));
            code(c, "sd[\"%s\"] = torch.from_numpy(alpha).reshape(-1)", tname);
        } else if (w->shape.ndim >= 2) {
            hazard(c, T_TRANSPOSE, "alpha %s has one slope per position; nn.PReLU has one per channel: "
                   "keep a parameter of shape %s and compute torch.where(x > 0, x, alpha * x)",
                   k2t_shape_str(&w->shape, 0, s1, sizeof s1), k2t_shape_str(&ts, 0, s2, sizeof s2));
            code(c, "alpha_t = torch.from_numpy(alpha).%s[0]",
                 perm_str(how, sizeof how, w->shape.ndim, 0));
        }
        break;
    }
    default:
        break;
    }
}

/* Activations that mean something else in PyTorch. */
static void check_act(chk *c, k2t_act act, const char *where)
{
    if (act == K2T_ACT_HARD_SIGMOID) {
        hazard(c, T_ACTIVATION, "%shard_sigmoid is Keras 2's clip(0.2*x + 0.5, 0, 1); F.hardsigmoid "
               "is clip(x/6 + 0.5, 0, 1)", where);
        code(c, "x = torch.clamp(0.2 * x + 0.5, 0, 1)");
    } else if (act == K2T_ACT_LEAKY_RELU) {
        hazard(c, T_ACTIVATION, "%sthe activation string 'leaky_relu' uses slope 0.2; PyTorch's "
               "default is 0.01", where);
        code(c, "x = F.leaky_relu(x, 0.2)");
    }
}

/* Walk back from a Dense input through layers that keep the element order
** (Dropout, elementwise activations) and 1-D Concatenates, to the Flatten
** nodes (or Reshapes to 1-D) of a map with more than one position. */
typedef struct flat_hit {
    int node;        /* the Flatten or Reshape */
    int64_t offset;  /* its first column in the Dense's input */
} flat_hit;

static void find_flattens(const k2t_model *m, int node, int64_t offset, flat_hit *hits, int *n, int cap,
                          int depth)
{
    const k2t_node *N = &m->nodes[node];
    const k2t_layer *L = k2t_node_layer(m, node);
    if (depth > 64 || N->shape.ndim != 1) return;
    switch (L->op) {
    case K2T_OP_FLATTEN:
    case K2T_OP_RESHAPE:
        if (N->n_in == 1 && m->nodes[N->in[0]].shape.ndim >= 2 && *n < cap) {
            hits[*n].node = node, hits[*n].offset = offset;
            (*n)++;
        }
        return;
    case K2T_OP_IDENTITY:
    case K2T_OP_ACTIVATION:
    case K2T_OP_RELU:
    case K2T_OP_LEAKY_RELU:
    case K2T_OP_ELU:
        if (N->n_in == 1) find_flattens(m, N->in[0], offset, hits, n, cap, depth + 1);
        return;
    case K2T_OP_CONCATENATE:
        for (int j = 0; j < N->n_in; j++) {
            const k2t_shape *s = &m->nodes[N->in[j]].shape;
            if (s->ndim != 1 || s->d[0] < 0) return;
            find_flattens(m, N->in[j], offset, hits, n, cap, depth + 1);
            offset += s->d[0];
        }
        return;
    default:
        return;
    }
}

/* The flatten hazard of Flatten node f whose output feeds columns
** [offset, offset+len) of Dense layer L (NULL: no Dense reads it). */
static void flatten_hazard(chk *c, int f, const k2t_layer *L, int64_t offset, int64_t in_len)
{
    const k2t_model *m = c->m;
    const k2t_shape *s = &m->nodes[m->nodes[f].in[0]].shape;
    char s1[96], pl[64], pf[64];
    int r = s->ndim;
    if (!shape_known(s)) {
        hazard(c, T_FLATTEN, "%s flattens a map of unknown size %s: Keras's order is H,W,C, a "
               "PyTorch flatten(1) on NCHW is C,H,W", m->nodes[f].name, k2t_shape_str(s, 0, s1, sizeof s1));
        return;
    }
    int64_t pos = 1, C = s->d[r - 1], len = k2t_shape_numel(s);
    for (int a = 0; a < r - 1; a++) pos *= s->d[a];
    k2t_shape_str(s, 0, s1, sizeof s1);
    const char *keras_order = r == 3 ? "H,W,C" : r == 2 ? "L,C" : "channels-last";
    const char *torch_order = r == 3 ? "C,H,W" : r == 2 ? "C,L" : "channels-first";
    const char *posn = r == 3 ? "H*W" : r == 2 ? "L" : "the number of positions";
    char cols[96] = "";
    if (L && (offset != 0 || len != in_len))
        snprintf(cols, sizeof cols, " %lld..%lld (of %lld)", (long long)offset,
                 (long long)(offset + len - 1), (long long)in_len);
    if (pos == 1 || C == 1) {
        fine(c, T_FLATTEN, "%s reads %s: with %s = %lld, Keras's %s order and PyTorch's %s order "
             "agree", m->nodes[f].name, s1, pos == 1 ? posn : "C", (long long)(pos == 1 ? pos : C),
             keras_order, torch_order);
        return;
    }
    if (L)
        hazard(c, T_FLATTEN, "%s turns %s into %lld features in %s order; flatten(1) on the NCHW tensor "
               "gives %s, so %s's kernel rows%s meet the wrong features", m->nodes[f].name, s1,
               (long long)len, keras_order, torch_order, L->name, cols);
    else
        hazard(c, T_FLATTEN, "turns %s into %lld features in %s order; flatten(1) on the NCHW tensor "
               "gives %s", s1, (long long)len, keras_order, torch_order);
    code(c, "x = x.%s.flatten(1)  # %s order, as Keras", perm_str(pl, sizeof pl, r, 1), keras_order);
    if (!L) return;
    /* Or permute the kernel's rows once: (pos..., C, out) -> (C, pos..., out). */
    snprintf(pf, sizeof pf, "transpose(%d", r - 1);
    for (int a = 0; a < r - 1; a++) cat(pf, sizeof pf, ", %d", a);
    cat(pf, sizeof pf, ", %d)", r);
    char dims[64] = "";
    for (int a = 0; a < r; a++) cat(dims, sizeof dims, "%lld, ", (long long)s->d[a]);
    if (offset == 0 && len == in_len)
        code(c, "or: sd[\"%s.weight\"] = torch.from_numpy(kernel.reshape(%s-1).%s.reshape(%lld, -1).T)",
             L->name, dims, pf, (long long)len);
    else
        code(c, "or: kernel[%lld:%lld] = kernel[%lld:%lld].reshape(%s-1).%s.reshape(%lld, -1)  "
             "# numpy, before .T", (long long)offset, (long long)(offset + len), (long long)offset,
             (long long)(offset + len), dims, pf, (long long)len);
}

static void check_node(chk *c, int i)
{
    const k2t_model *m = c->m;
    const k2t_node *N = &m->nodes[i];
    const k2t_layer *L = k2t_node_layer(m, i);
    const k2t_cfg *cf = &L->cfg;
    const k2t_shape *in = N->n_in ? &m->nodes[N->in[0]].shape : NULL;
    char s1[96], s2[96], p1[64], p2[64], mod[200];
    int first_call = k2t_find_node(m, L->name) == i;

    c->node = i, c->headed = 0, c->hazardous = 0;
    if (L->op == K2T_OP_UNSUPPORTED) {
        hazard(c, T_UNSUPPORTED, "%s (k2t cannot check or run it; port it by hand from its config: "
               "info %s --json)", L->unsupported ? L->unsupported : "not supported", L->name);
        goto done;
    }
    if (L->unsupported && first_call) hazard(c, T_UNSUPPORTED, "%s", L->unsupported);

    switch (L->op) {
    case K2T_OP_INPUT:
        if (N->shape.ndim >= 2) {
            k2t_shape t = k2t_shape_nchw(&N->shape);
            hazard(c, T_LAYOUT, "Keras's input is %s, channels last; a PyTorch port's is %s",
                   k2t_shape_str(&N->shape, 1, s1, sizeof s1), k2t_shape_str(&t, 1, s2, sizeof s2));
            code(c, "x = torch.from_numpy(x_keras).%s", perm_str(p1, sizeof p1, N->shape.ndim, 0));
        }
        if (is_mlperf_resnet8(m)) {
            hazard(c, T_PREPROCESS, "the MLPerf ResNet8 expects raw pixels 0..255, unscaled (ToTensor() "
                   "divides by 255)");
            code(c, "x = torch.from_numpy(images.astype(np.float32)).permute(0, 3, 1, 2)  # 0..255 as they are");
        }
        break;
    case K2T_OP_CONV:
    case K2T_OP_DEPTHWISE:
    case K2T_OP_SEPARABLE:
        check_weights(c, i);
        check_padding(c, i);
        check_act(c, cf->act, "");
        break;
    case K2T_OP_CONV_TRANSPOSE:
        check_weights(c, i);
        check_conv_transpose(c, i);
        check_act(c, cf->act, "");
        break;
    case K2T_OP_MAXPOOL:
    case K2T_OP_AVGPOOL:
        check_padding(c, i);
        break;
    case K2T_OP_BATCHNORM: {
        int64_t C = in && in->ndim >= 1 ? in->d[in->ndim - 1] : -1;
        double tm = 1.0 - cf->momentum;
        int nd = in ? in->ndim : 3;
        if (in && nd >= 2 && axis0(cf->axis, nd) != nd - 1)
            hazard(c, T_LAYOUT, "normalises axis %d of %s, not the channels; nn.BatchNorm%dd normalises "
                   "dim 1 of the NCHW tensor", cf->axis, k2t_shape_str(in, 1, s1, sizeof s1),
                   nd == 3 ? 2 : 1);
        if (fabs(cf->eps - 1e-5) > 1e-12 || fabs(tm - 0.1) > 1e-9) {
            hazard(c, T_BN_EPS, "epsilon %g, momentum %g; PyTorch: eps 1e-05, momentum 0.1, counted as "
                   "1 - Keras's", cf->eps, cf->momentum);
            code(c, "nn.BatchNorm%dd(%lld, eps=%g, momentum=%g)", nd == 3 ? 2 : 1, (long long)C, cf->eps, tm);
        } else {
            fine(c, T_BN_EPS, "epsilon 1e-05 and momentum %g match PyTorch's defaults", cf->momentum);
        }
        if (i == c->first_bn) {
            char others[64] = "";
            if (c->n_bn > 1) snprintf(others, sizeof others, " (and in %d more layer%s)", c->n_bn - 1, c->n_bn > 2 ? "s" : "");
            hazard(c, T_BN_MODE, "without model.eval(), nn.BatchNorm uses the batch's statistics%s", others);
            code(c, "model.eval()  # before inference");
        }
        break;
    }
    case K2T_OP_LAYERNORM: {
        int nd = in ? in->ndim : 1;
        if (fabs(cf->eps - 1e-5) > 1e-12) {
            hazard(c, T_BN_EPS, "epsilon %g (nn.LayerNorm's default 1e-05)", cf->eps);
            code(c, "nn.LayerNorm(%lld, eps=%g)", in && nd ? (long long)in->d[nd - 1] : -1LL, cf->eps);
        }
        if (nd >= 2) {
            int chan_only = cf->n_dims == 1 && axis0(cf->dims[0], nd) == nd - 1;
            if (chan_only) {
                hazard(c, T_LAYOUT, "normalises the channels (axis -1 of NHWC); nn.LayerNorm normalises "
                       "the last axis, which is W in NCHW");
                code(c, "x = ln(x.%s).%s", perm_str(p1, sizeof p1, nd, 1), perm_str(p2, sizeof p2, nd, 0));
            } else {
                hazard(c, T_LAYOUT, "normalises Keras axes of %s; nn.LayerNorm normalises trailing axes "
                       "of the NCHW tensor: move them to the end first",
                       k2t_shape_str(in, 1, s1, sizeof s1));
                code(c, "x = ln(x.%s).%s", perm_str(p1, sizeof p1, nd, 1), perm_str(p2, sizeof p2, nd, 0));
            }
        }
        break;
    }
    case K2T_OP_DENSE: {
        check_weights(c, i);
        if (in && in->ndim >= 2) {
            hazard(c, T_LAYOUT, "Dense on %s acts on the channels; nn.Linear acts on the last axis, "
                   "which in NCHW is %s", k2t_shape_str(in, 1, s1, sizeof s1), in->ndim == 2 ? "L" : "W");
            code(c, "x = self.%s(x.%s).%s", L->name, perm_str(p1, sizeof p1, in->ndim, 1),
                 perm_str(p2, sizeof p2, in->ndim, 0));
        } else if (in && in->ndim == 1) {
            flat_hit hits[16];
            int n = 0;
            find_flattens(m, N->in[0], 0, hits, &n, 16, 0);
            for (int h = 0; h < n; h++) flatten_hazard(c, hits[h].node, L, hits[h].offset, in->d[0]);
        }
        if (cf->act == K2T_ACT_SOFTMAX && N->is_output) {
            hazard(c, T_SOFTMAX, "the model's output ends in softmax: Keras returns probabilities; a port "
                   "that leaves softmax to nn.CrossEntropyLoss returns logits");
            code(c, "probs = torch.softmax(logits, dim=1)  # or end forward() with it");
        }
        check_act(c, cf->act, "");
        break;
    }
    case K2T_OP_FLATTEN:
    case K2T_OP_RESHAPE:
        if (!in || (in->ndim < 2 && N->shape.ndim < 2)) break;
        if (N->shape.ndim == 1 && !c->flat_seen[i]) {
            int64_t pos = 1;
            for (int a = 0; a < in->ndim - 1; a++) pos *= in->d[a];
            if (pos != 1 && in->d[in->ndim - 1] != 1) flatten_hazard(c, i, NULL, 0, 0);
        } else if (N->shape.ndim >= 2 && shape_known(&N->shape)) {
            char tgt[96] = "";
            for (int a = 0; a < N->shape.ndim; a++) cat(tgt, sizeof tgt, ", %lld", (long long)N->shape.d[a]);
            hazard(c, T_LAYOUT, "reshapes %s to %s in Keras's channels-last element order",
                   k2t_shape_str(in, 1, s1, sizeof s1), k2t_shape_str(&N->shape, 1, s2, sizeof s2));
            code(c, "x = x%s%s.reshape(-1%s)%s%s", in->ndim >= 2 ? "." : "",
                 in->ndim >= 2 ? perm_str(p1, sizeof p1, in->ndim, 1) : "", tgt, ".",
                 perm_str(p2, sizeof p2, N->shape.ndim, 0));
        }
        break;
    case K2T_OP_PERMUTE: {
        int r = in ? in->ndim : 0;
        if (r < 2 || cf->n_dims != r) break;
        /* Port axis j (1..r) of the output is Keras output axis kout(j); it
        ** is Keras input axis dims[kout(j)-1], held at port axis pin(). */
        char perm[64] = "permute(0", kd[64] = "";
        for (int j = 1; j <= r; j++) {
            int kout = j == 1 ? r : j - 1, a = cf->dims[kout - 1];
            cat(perm, sizeof perm, ", %d", a == r ? 1 : a + 1);
        }
        cat(perm, sizeof perm, ")");
        for (int j = 0; j < r; j++) cat(kd, sizeof kd, "%s%d", j ? ", " : "", cf->dims[j]);
        hazard(c, T_LAYOUT, "Permute((%s)) numbers the axes of NHWC; on the NCHW tensor the same move "
               "is %s", kd, perm);
        code(c, "x = x.%s", perm);
        break;
    }
    case K2T_OP_CONCATENATE:
        if (N->shape.ndim >= 2) {
            int nd = N->shape.ndim, a = axis0(cf->axis, nd);
            if (a < 0) break;
            int dim = a == nd - 1 ? 1 : a + 2;
            char names[200] = "";
            for (int j = 0; j < N->n_in && j < 6; j++)
                cat(names, sizeof names, "%s%s", j ? ", " : "", m->nodes[N->in[j]].name);
            hazard(c, T_LAYOUT, "concatenates along axis %d of NHWC (%s); in NCHW that axis is dim=%d",
                   cf->axis, a == nd - 1 ? "the channels" : "a spatial axis", dim);
            code(c, "x = torch.cat([%s], dim=%d)", names, dim);
        }
        break;
    case K2T_OP_SOFTMAX:
    case K2T_OP_ACTIVATION:
        if ((L->op == K2T_OP_SOFTMAX || cf->act == K2T_ACT_SOFTMAX) && N->shape.ndim >= 2) {
            int nd = N->shape.ndim, a = axis0(L->op == K2T_OP_SOFTMAX ? cf->axis : -1, nd);
            int dim = a == nd - 1 ? 1 : a + 2;
            hazard(c, T_LAYOUT, "softmax over axis %d of NHWC (%s); in NCHW that is dim=%d",
                   L->op == K2T_OP_SOFTMAX ? cf->axis : -1, a == nd - 1 ? "the channels" : "a spatial axis",
                   dim);
            code(c, "x = F.softmax(x, dim=%d)", dim);
        }
        if ((L->op == K2T_OP_SOFTMAX || cf->act == K2T_ACT_SOFTMAX) && N->is_output) {
            hazard(c, T_SOFTMAX, "the model's output ends in softmax: Keras returns probabilities; a port "
                   "that leaves softmax to nn.CrossEntropyLoss returns logits");
            code(c, "probs = torch.softmax(logits, dim=1)  # or end forward() with it");
        }
        if (L->op == K2T_OP_ACTIVATION) check_act(c, cf->act, "");
        break;
    case K2T_OP_RELU: {
        double t = cf->threshold, a = cf->negative_slope;
        if (!cf->has_max_value && t == 0 && a == 0) break;
        if (t == 0 && a == 0) {
            hazard(c, T_ACTIVATION, "ReLU(max_value=%g) clips at %g; nn.ReLU() does not", cf->max_value,
                   cf->max_value);
            if (cf->max_value == 6) code(c, "nn.ReLU6()");
            else code(c, "x = torch.clamp(x, 0, %g)", cf->max_value);
            break;
        }
        hazard(c, T_ACTIVATION, "ReLU with threshold %g, max_value %s, negative_slope %g: not nn.ReLU()",
               t, cf->has_max_value ? (snprintf(s1, sizeof s1, "%g", cf->max_value), s1) : "None", a);
        snprintf(s2, sizeof s2, "x = torch.where(x > %g, x, torch.zeros_like(x))", t);
        if (cf->has_max_value) cat(s2, sizeof s2, ".clamp(0, %g)", cf->max_value);
        if (a != 0) cat(s2, sizeof s2, " - %g * F.relu(%g - x)", a, t);
        code(c, "%s", s2);
        break;
    }
    case K2T_OP_LEAKY_RELU:
        if (fabs(cf->alpha - 0.01) > 1e-12) {
            hazard(c, T_ACTIVATION, "slope %g; nn.LeakyReLU() defaults to 0.01", cf->alpha);
            code(c, "nn.LeakyReLU(%g)", cf->alpha);
        }
        break;
    case K2T_OP_ELU:
        if (fabs(cf->alpha - 1.0) > 1e-12) {
            hazard(c, T_ACTIVATION, "alpha %g; nn.ELU() defaults to 1.0", cf->alpha);
            code(c, "nn.ELU(%g)", cf->alpha);
        }
        break;
    case K2T_OP_PRELU:
        check_weights(c, i);
        break;
    case K2T_OP_ZEROPAD: {
        int t = cf->pad[0][0], b = cf->pad[0][1], l = cf->pad[1][0], r = cf->pad[1][1];
        if (t == l && b == r) break;
        hazard(c, T_PADDING, "Keras writes ((top, bottom), (left, right)) = ((%d, %d), (%d, %d)); "
               "F.pad and nn.ZeroPad2d take (left, right, top, bottom)", t, b, l, r);
        code(c, "x = F.pad(x, (%d, %d, %d, %d))", l, r, t, b);
        break;
    }
    case K2T_OP_RESCALING:
        hazard(c, T_PREPROCESS, "the model scales its own input (x * %.9g + %g): keep it in forward() and "
               "feed the port what Keras is fed", cf->rescale, cf->offset);
        if (fabs(cf->rescale * 255 - 1) < 1e-6 && cf->offset == 0) code(c, "x = x / 255");
        else code(c, "x = x * %.9g + %.9g", cf->rescale, cf->offset);
        break;
    default:
        break;
    }
    (void)mod;
done:
    if (c->hazardous) c->n_layers++;
}

static void chk_init(chk *c, k2t_shell *sh, int only)
{
    const k2t_model *m = sh->model;
    memset(c, 0, sizeof *c);
    c->sh = sh, c->m = m, c->only = only, c->first_bn = -1;
    c->flat_seen = k2t_xcalloc((size_t)m->n_nodes + 1, 1);
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        if (L->op == K2T_OP_BATCHNORM) {
            if (c->first_bn < 0) c->first_bn = i;
            c->n_bn++;
        }
        /* A Flatten that feeds a Dense is reported at the Dense, where the
        ** weight fix goes. */
        if (L->op == K2T_OP_DENSE && m->nodes[i].n_in == 1 && m->nodes[m->nodes[i].in[0]].shape.ndim == 1) {
            flat_hit hits[16];
            int n = 0;
            find_flattens(m, m->nodes[i].in[0], 0, hits, &n, 16, 0);
            for (int h = 0; h < n; h++) c->flat_seen[hits[h].node] = 1;
        }
    }
}

/* Every node, in execution order. */
static void chk_run(chk *c)
{
    for (int i = 0; i < c->m->n_nodes; i++) check_node(c, i);
}

static void chk_free(chk *c)
{
    free(c->flat_seen);
    c->flat_seen = NULL;
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
    chk_init(&c, sh, -1);
    chk_run(&c);
    if (!c.n_hazards) {
        k2t_printf(sh, "no hazards: a straightforward PyTorch port computes what Keras does\n");
    } else {
        k2t_printf(sh, "%d hazard%s in %d layer%s (", c.n_hazards, c.n_hazards == 1 ? "" : "s", c.n_layers,
                   c.n_layers == 1 ? "" : "s");
        int k = 0;
        for (int t = 0; t < N_TAGS; t++)
            if (c.count[t]) k2t_printf(sh, "%s%s %d", k++ ? ", " : "", tag_names[t], c.count[t]);
        k2t_printf(sh, ")\n\"explain TOPIC\" tells why each one matters\n");
    }
    k2t_var_num(sh, "hazards", c.n_hazards);
    chk_free(&c);
    return K2T_CMD_OK;
}

/*----------------------------------------------------------------- topics */

/* What explain knows of each topic.  text: paragraphs for any model
** (blank lines between them); on_model: the topic on the loaded model
** (NULL: check's lines for the tag suffice); k2t: the setting that
** reproduces the mistake and the commands that show it. */
typedef struct topic {
    const char *name;
    const char *summary;
    const char *text;
    int (*on_model)(k2t_shell *sh, int tag);
    const char *none;   /* printed when the model shows nothing for the tag */
    const char *k2t;
} topic;

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

/* check's lines for one tag; returns how many were shown. */
static int model_lines(k2t_shell *sh, int tag)
{
    chk c;
    chk_init(&c, sh, tag);
    chk_run(&c);
    int n = c.n_lines;
    chk_free(&c);
    return n;
}

static int count_op(const k2t_model *m, k2t_op op)
{
    int n = 0;
    for (int i = 0; i < m->n_nodes; i++) n += k2t_node_layer(m, i)->op == op;
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

static int on_transpose(k2t_shell *sh, int tag)
{
    int n = model_lines(sh, tag);
    if (n && is_mlperf_resnet8(sh->model))
        k2t_printf(sh, "\nMeasured on the 200 CIFAR-10 test images: a port that reads each kernel buffer in "
                   "PyTorch's\nshape without permuting it gets 26/200 right, against 171/200 for the "
                   "correct permutation.\n");
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
        const k2t_weight *v = weight(L, "moving_variance");
        if (L->op != K2T_OP_BATCHNORM || !v || k2t_find_node(m, L->name) != i) continue;
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
    if (is_mlperf_resnet8(m))
        k2t_printf(sh, "\nMeasured on the 200 CIFAR-10 test images: eps=1e-5 in every layer changes no "
                   "prediction, but\nmoves the output probabilities by up to 6.2e-3.\n");
    return n;
}

static int on_bn_mode(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    (void)tag;
    int n = count_op(m, K2T_OP_BATCHNORM), drop = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        drop += L->op == K2T_OP_IDENTITY && strstr(L->class_name, "Dropout") != NULL;
    }
    if (!n) {
        k2t_printf(sh, "  no BatchNormalization layer: eval() matters here only for Dropout (%d layer%s)\n",
                   drop, drop == 1 ? "" : "s");
        return 1;
    }
    k2t_printf(sh, "  %d BatchNormalization layer%s; in train mode each one discards these stored "
               "statistics:\n", n, n == 1 ? "" : "s");
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        if (L->op != K2T_OP_BATCHNORM || k2t_find_node(m, L->name) != i) continue;
        const k2t_weight *mu = weight(L, "moving_mean"), *var = weight(L, "moving_variance");
        double a, b, v0, v1;
        fminmax(mu, &a, &b);
        fminmax(var, &v0, &v1);
        k2t_printf(sh, "  %-24s %4lld channels  moving_mean %.4g..%.4g  moving_variance %.4g..%.4g\n",
                   m->nodes[i].name, mu ? (long long)mu->size : 0LL, a, b, v0, v1);
    }
    if (drop) k2t_printf(sh, "  and %d Dropout layer%s, active in train mode\n", drop, drop == 1 ? "" : "s");
    return 1;
}

/* "2i", "2i+2", "2i-1": the index s*v + off. */
static const char *term(char *buf, size_t n, int s, char v, int off)
{
    if (s == 1) snprintf(buf, n, "%c", v);
    else snprintf(buf, n, "%d%c", s, v);
    if (off) cat(buf, n, "%+d", off);
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
        if (L->op != K2T_OP_CONV || L->cfg.padding != K2T_PAD_SAME || node_win(m, i, &g, &rank) < 0 ||
            rank != 2 || (g.pt == g.pb && g.pl == g.pr))
            continue;
        int qh = naive_pad(g.kh, g.dh), qw = naive_pad(g.kw, g.dw);
        int eh = (g.kh - 1) * g.dh, ew = (g.kw - 1) * g.dw;
        char a[32], b[32], c1[32], d[32], e[32], f[32], h[32], k[32], pp[32];
        k2t_printf(sh, "\nOutput pixel (i, j) of %s reads input rows %s..%s and columns %s..%s in Keras;\n"
                   "with padding=%s it reads rows %s..%s and columns %s..%s: ", m->nodes[i].name,
                   term(a, sizeof a, g.sh, 'i', -g.pt), term(b, sizeof b, g.sh, 'i', eh - g.pt),
                   term(c1, sizeof c1, g.sw, 'j', -g.pl), term(d, sizeof d, g.sw, 'j', ew - g.pl),
                   pair(pp, sizeof pp, 2, qh, qw), term(e, sizeof e, g.sh, 'i', -qh), term(f, sizeof f, g.sh, 'i', eh - qh),
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
    if (is_mlperf_resnet8(m))
        k2t_printf(sh, "\nMeasured on the 200 CIFAR-10 test images: padding=1 at the stride-2 convolutions "
                   "drops the\naccuracy from 171/200 to 116/200.\n");
    return n;
}


static int on_flatten(k2t_shell *sh, int tag)
{
    chk c;
    chk_init(&c, sh, tag);
    chk_run(&c);
    int n = c.n_lines, bad = c.count[tag];
    chk_free(&c);
    if (n && !bad)
        k2t_printf(sh, "\nSo \"set flatten torch\" changes nothing on this model.\n");
    return n;
}

static int on_preprocess(k2t_shell *sh, int tag)
{
    const k2t_model *m = sh->model;
    char s1[96];
    for (int j = 0; j < m->n_inputs; j++)
        k2t_printf(sh, "  input %s %s\n", m->nodes[m->inputs[j]].name,
                   k2t_shape_str(&m->nodes[m->inputs[j]].shape, 1, s1, sizeof s1));
    int inside = 0;
    for (int i = 0; i < m->n_nodes; i++)
        if (k2t_node_layer(m, i)->op == K2T_OP_RESCALING) inside++;
    if (inside) model_lines(sh, tag);
    else if (!is_mlperf_resnet8(m))
        k2t_printf(sh, "  no Rescaling layer: the scaling lives in the training script, not in this file\n");
    if (is_mlperf_resnet8(m))
        k2t_printf(sh, "  This is the MLPerf Tiny ResNet8. It was trained on raw pixels 0..255 and contains "
                   "no\n  Rescaling layer. Measured on the 200 CIFAR-10 test images: 171/200 correct on raw "
                   "pixels,\n  21/200 when they are divided by 255.\n");
    k2t_printf(sh, "  k2t's preprocess setting is now %s.\n", k2t_pre_names[sh->set.emu.preprocess]);
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
    if (is_window_op(L->op) && node_win(m, i, &g, &rank) == 0) {
        k2t_printf(sh, " %s, '%s'", win_desc(wd, sizeof wd, &g, rank),
                   L->cfg.padding == K2T_PAD_SAME ? "same" : L->cfg.padding == K2T_PAD_CAUSAL ? "causal"
                                                                                          : "valid");
        if (L->cfg.padding != K2T_PAD_VALID) {
            if (!(g.pt | g.pb | g.pl | g.pr)) k2t_printf(sh, ": TF pads nothing");
            else k2t_printf(sh, ": TF pads %s", pads_desc(pd, sizeof pd, &g, rank));
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

static const topic topics[N_TOPICS] = {
    {"layout", "Keras tensors are NHWC, PyTorch's NCHW: the input and every axis number must follow.",
     "Keras keeps an image batch as (N, H, W, C), channels last. PyTorch's nn.Conv2d, nn.BatchNorm2d\n"
     "and the pooling modules expect (N, C, H, W), channels first. The numbers are the same, in a\n"
     "different order, and neither framework converts between the two for you.\n"
     "\n"
     "An NHWC array fed to a PyTorch model usually fails at the first convolution on the channel\n"
     "count. When the sizes happen to fit, it runs and computes nonsense. Convert the input once,\n"
     "x.permute(0, 3, 1, 2), and keep every tensor NCHW from there on.\n"
     "\n"
     "Every axis number in the Keras model moves with it. The channel axis is -1 in Keras and 1 in\n"
     "PyTorch: Concatenate(axis=-1) on feature maps becomes torch.cat(dim=1), a softmax over\n"
     "channels becomes dim=1, and Permute, Reshape and a Dense on a feature map see the elements\n"
     "in another order. Flatten and the kernels have topics of their own: flatten, transpose.",
     NULL, "  no layer whose meaning depends on the layout (no 2-D input, axis or reshape)",
     "  set layout nchw         run as a PyTorch port does: NCHW tensors, weights in PyTorch's shapes\n"
     "  diff                    done right, it differs from Keras by float rounding only"},
    {"transpose", "Conv kernels are HWIO in Keras, OIHW in PyTorch; Dense kernels (in, out) vs (out, in).",
     "Keras stores a Conv2D kernel as (kh, kw, in, out). nn.Conv2d holds its weight as (out, in, kh,\n"
     "kw). The conversion is a permutation of axes, torch.from_numpy(kernel).permute(3, 2, 0, 1), not\n"
     "a reshape: a reshape or view to PyTorch's shape keeps the element count, raises no error and\n"
     "scrambles every filter.\n"
     "\n"
     "A Dense kernel is (in, out); nn.Linear's weight is (out, in), so take kernel.T. When in equals\n"
     "out the shapes agree without the transpose and load_state_dict accepts the wrong tensor.\n"
     "\n"
     "A DepthwiseConv2D kernel (kh, kw, C, M) becomes nn.Conv2d(C, C*M, k, groups=C) with weight\n"
     "(C*M, 1, kh, kw): output channel c*M+m is input channel c's m-th filter, and the bias follows\n"
     "the same order. Conv2DTranspose stores (kh, kw, out, in) and takes the same permute(3, 2, 0,\n"
     "1) to reach nn.ConvTranspose2d's (in, out, kh, kw). Biases are 1-D and copy unchanged.",
     on_transpose, "  no convolution or Dense kernel",
     "  set weights.transpose off   read each Keras kernel buffer in PyTorch's shape, unpermuted\n"
     "  eval cifar FILE             the accuracy of that port\n"
     "  diff                        the first layer that departs from Keras"},
    {"bn-eps", "BatchNormalization's epsilon is 1e-3 in Keras, 1e-5 in PyTorch; momentum counts the other way.",
     "At inference BatchNormalization computes y = (x - mean) / sqrt(var + eps) * gamma + beta with\n"
     "the stored moving mean and variance. Keras's default eps is 1e-3; nn.BatchNorm2d's is 1e-5.\n"
     "A port that keeps PyTorch's default divides by a slightly smaller number in every channel;\n"
     "the change is largest, relatively, where the variance is small.\n"
     "\n"
     "momentum is counted the other way round. Keras keeps 0.99 of the old running value at each\n"
     "update; PyTorch mixes in 0.1 of the new one. PyTorch's value is 1 - Keras's (0.01 for the\n"
     "default). It changes nothing at inference and everything once you fine-tune.\n"
     "\n"
     "Pass both: nn.BatchNorm2d(C, eps=0.001, momentum=0.01). Keras 2 raises an epsilon below\n"
     "1.001e-5 to 1.001e-5 on 4-D inputs. LayerNormalization has the same trap: 1e-3 in Keras,\n"
     "1e-5 in nn.LayerNorm.",
     on_bn_eps, "  no BatchNormalization or LayerNormalization layer",
     "  set bn.eps torch        every BatchNormalization with PyTorch's 1e-5\n"
     "  diff                    how far each layer moves\n"
     "  run, then top           the probabilities it changes"},
    {"bn-mode", "Without model.eval(), PyTorch's BatchNorm uses each batch's own statistics.",
     "A PyTorch module starts in training mode. In that mode nn.BatchNorm2d ignores its running mean\n"
     "and variance: it normalises each channel with the mean and variance of the batch in front of\n"
     "it, and updates the running values with them. Keras's predict() always uses the moving\n"
     "statistics stored in the file.\n"
     "\n"
     "A port that forgets model.eval() gives outputs that depend on which images share the batch;\n"
     "a single image is normalised by its own statistics. Each forward pass also overwrites the\n"
     "loaded running values a little, so the model drifts even if eval() comes later. Dropout\n"
     "stays active as well.\n"
     "\n"
     "Call model.eval() before inference. torch.no_grad() saves memory and time but does not change\n"
     "BatchNorm's mode.",
     on_bn_mode, NULL,
     "  set bn.mode train       BatchNormalization with the batch's statistics\n"
     "  eval cifar FILE         the accuracy in train mode\n"
     "  diff                    the first layer that departs from Keras"},
    {"padding", "TF 'same' padding puts the odd pixel at the bottom/right; padding=k//2 pads both sides.",
     "TensorFlow computes 'same' padding per axis: out = ceil(in / stride), total = max((out - 1) *\n"
     "stride + k - in, 0), with total // 2 before (top, left) and the rest after (bottom, right). At\n"
     "stride 1 with an odd kernel both sides get k // 2, and nn.Conv2d(padding=k // 2) is exact.\n"
     "\n"
     "At stride 2 on an even size the total is odd for every odd kernel larger than 1: a 3x3\n"
     "kernel on 32 rows needs one row of padding, and TF puts it at the bottom. nn.Conv2d(padding=1)\n"
     "pads one row at the top and one at the bottom. The output has the same size, so nothing\n"
     "complains, but every window sits one pixel higher and one pixel further left than the\n"
     "weights were trained on.\n"
     "\n"
     "Pad explicitly and let the layer pad nothing: x = F.pad(x, (left, right, top, bottom)), then\n"
     "nn.Conv2d(..., stride=2, padding=0). PyTorch's padding='same' refuses stride > 1. Pooling\n"
     "follows the same rule: max pooling pads with -inf (F.pad(..., value=float('-inf'))), and\n"
     "average pooling divides each window by its real cells (count_include_pad=False).",
     on_padding, "  no 'same' or 'causal' padding, and no ZeroPadding2D that F.pad could misread",
     "  set padding torch       'same' layers pad k//2 on both sides, average pooling counts the pads\n"
     "  eval cifar FILE         the accuracy of that port\n"
     "  diff                    the first layer that departs from Keras"},
    {"flatten", "Flatten reads H,W,C in Keras and C,H,W in PyTorch; the Dense after it must agree.",
     "Keras flattens an (H, W, C) feature map in row-major order: element (h, w, c) lands at index\n"
     "(h*W + w)*C + c. PyTorch's x.flatten(1) on the same map held as (C, H, W) puts it at\n"
     "c*H*W + h*W + w. The vector has the same length, so the next nn.Linear accepts it and\n"
     "multiplies every weight with the wrong feature.\n"
     "\n"
     "Two fixes work. Flatten in Keras's order: x = x.permute(0, 2, 3, 1).flatten(1). Or keep\n"
     "x.flatten(1) and permute the Linear weight's columns once when loading:\n"
     "W[:, c*H*W + h*W + w] = kernel[(h*W + w)*C + c, :]. When H*W is 1 (a global pooling, or a\n"
     "pool down to 1x1, before the Flatten) both orders are the same and nothing needs fixing.",
     on_flatten, "  no Flatten or Reshape of a feature map into a vector",
     "  set flatten torch       Flatten in C,H,W order, the Dense weights left as they are\n"
     "  diff                    the first layer that departs from Keras"},
    {"softmax", "A softmax inside the last Dense: a port that leaves it to the loss returns logits.",
     "Keras models often end in Dense(units, activation='softmax'), so predict() returns\n"
     "probabilities. PyTorch code usually returns logits and lets nn.CrossEntropyLoss apply\n"
     "log-softmax inside the loss. A port that follows the PyTorch habit and drops the softmax\n"
     "returns logits.\n"
     "\n"
     "The argmax does not change, so the accuracy looks right. The numbers are not Keras's: they are\n"
     "not in [0, 1], they do not sum to 1, and every threshold, confidence or comparison with the\n"
     "Keras outputs is off. The opposite mistake happens too: keeping the softmax in forward() and\n"
     "training with nn.CrossEntropyLoss applies it twice.\n"
     "\n"
     "At inference apply torch.softmax(logits, dim=1), or end forward() with it and train with\n"
     "nn.NLLLoss on its log.",
     NULL, "  no softmax at the model's output",
     "  set softmax drop        leave out the final softmax\n"
     "  run, then top           logits instead of probabilities\n"
     "  eval cifar FILE         the same accuracy: the argmax does not change"},
    {"preprocess", "Pixels must be scaled as in training; the MLPerf ResNet8 was trained on raw 0..255.",
     "A network only works on inputs scaled the way it was trained. A .h5 file does not record that\n"
     "scaling unless the model contains it (a Rescaling or Normalization layer). Common choices are\n"
     "raw pixels 0..255, x / 255, [-1, 1], and ImageNet mean and std after / 255 (torchvision's\n"
     "transforms.Normalize); Caffe-style models also swap RGB to BGR and subtract channel means.\n"
     "\n"
     "A wrong choice raises no error and gives plausible-looking outputs. Take the scaling from the\n"
     "training script, not from habit: transforms.ToTensor() divides by 255, which is wrong for a\n"
     "model trained on raw pixels.",
     on_preprocess, NULL,
     "  set preprocess unit     pixels divided by 255 (cifar, image and uint8 inputs)\n"
     "  eval cifar FILE         the accuracy with that scaling"},
    {"init", "A weight that was never copied keeps PyTorch's random initial values, silently.",
     "A PyTorch layer starts with random weights (Kaiming-uniform for nn.Conv2d and nn.Linear), and\n"
     "BatchNorm with weight 1, bias 0, running mean 0 and running variance 1. A layer the copying\n"
     "code never reaches keeps those values: a shortcut convolution missing from the name mapping, a\n"
     "layer renamed between the two models, or load_state_dict(strict=False) skipping keys it does\n"
     "not know. The model runs and is wrong.\n"
     "\n"
     "The same symptom can come from the Keras side: a file saved before training, or a layer left\n"
     "at its initial values. Load with strict=True and compare each tensor's statistics with the\n"
     "Keras file's. A BatchNorm still at 1, 0, 0, 1, or a kernel whose spread matches its\n"
     "initializer's, has never been trained.",
     on_init, NULL,
     "  stats all               every weight tensor, with a '!' line for those that look untrained\n"
     "  stats layer NAME        one layer's tensors\n"
     "  no setting emulates this pitfall"},
    {"residual", "Residual blocks: the shortcut (identity or projection), its stride, add then activate.",
     "A residual block computes out = act(branch(x) + shortcut(x)). The shortcut is the input itself\n"
     "when the branch keeps the shape, or a projection, usually a 1x1 convolution with the branch's\n"
     "stride, when the branch changes the size or the number of channels.\n"
     "\n"
     "The usual porting mistakes: leaving out the projection, or giving it another stride or\n"
     "padding; applying the activation before the add instead of after it, or to the shortcut as\n"
     "well; and mixing up which layer belongs to which branch, because Keras numbers layers in\n"
     "creation order, not by branch. A missing projection or a wrong stride stops the port with a\n"
     "shape error; the other mistakes run and give other numbers.",
     on_residual, NULL,
     "  blocks                  the blocks, their layers and shortcuts\n"
     "  shapes                  the operand shapes of every residual addition\n"
     "  diff                    the first layer that departs from Keras, and so the block\n"
     "  no setting emulates this pitfall"},
};

static int find_topic(const char *name)
{
    for (int t = 0; t < N_TOPICS; t++)
        if (strcmp(topics[t].name, name) == 0) return t;
    return -1;
}

static int cmd_explain(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    if (argc < 2) {
        for (int t = 0; t < N_TOPICS; t++) k2t_printf(sh, "%-11s %s\n", topics[t].name, topics[t].summary);
        k2t_printf(sh, "\"explain TOPIC\" explains one on the loaded model; \"check\" lists every hazard.\n");
        return K2T_CMD_OK;
    }
    int t = find_topic(argv[1]);
    if (t < 0) {
        char list[256] = "";
        for (int k = 0; k < N_TOPICS; k++) cat(list, sizeof list, "%s%s", k ? ", " : "", topics[k].name);
        return k2t_error(sh, 1, "explain: unknown topic '%s' (topics: %s)", argv[1], list);
    }
    const topic *T = &topics[t];
    k2t_printf(sh, "%s%s%s: %s\n\n", k2t_c_bold(sh), T->name, k2t_c_off(sh), T->summary);
    print_block(sh, T->text, "");
    if (!m) {
        k2t_printf(sh, "\nload a model to see it on its layers\n");
    } else if (!m->has_arch && t != T_INIT) {
        k2t_printf(sh, "\n%s holds weights only: load a full model to see it on its layers\n", m->path);
    } else {
        k2t_printf(sh, "\nOn this model (%s):\n", m->path);
        int shown = T->on_model ? T->on_model(sh, t) : model_lines(sh, t);
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
    for (int t = 0; t < N_TOPICS; t++)
        if (strncmp(topics[t].name, prefix, strlen(prefix)) == 0) k2t_strlist_add(out, topics[t].name);
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
            "init, residual.  Each gives the pitfall in general, then on the loaded model's layers\n"
            "and numbers, then the k2t setting that reproduces it and the command that shows it.",
    .complete = complete_explain, .fn = cmd_explain,
};
