/*
** plan.c -- what several ops share when they plan a step (engine/op.h):
** window geometry with TF's padding or the PyTorch padding emulation,
** kernels prepared in the layout the run computes with, axis arithmetic,
** weights by name.  Also k2t_layer_win, the public geometry query.
*/
#include <string.h>
#include "op.h"

int k2t_sample_axis(int axis, int ndim)
{
    if (axis < 0) axis += ndim + 1;
    return axis - 1;
}

void k2t_axis_split(const k2t_shape *sh, int ax, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = 1, *inner = 1;
    for (int i = 0; i < ax; i++) *outer *= sh->d[i];
    *len = sh->d[ax];
    for (int i = ax + 1; i < sh->ndim; i++) *inner *= sh->d[i];
}

int k2t_model_chw(const k2t_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        const k2t_layer *L = &m->layers[i];
        const k2t_op_def *def = k2t_op_def_of(L->op);
        if (L->cfg.channels_first && !(def && (def->flags & K2T_OPF_FLATTENS))) return 1;
    }
    return 0;
}

int k2t_layer_win(const k2t_layer *L, const k2t_shape *in, k2t_win *g, int *rank)
{
    const k2t_cfg *c = &L->cfg;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < in->ndim; i++)
        if (in->d[i] < 1) return -1;
    if (c->rank == 1 || in->ndim == 2) {
        if (in->ndim != 2) return -1;
        *rank = 1;
        if (c->channels_first) g->ih = 1, g->iw = (int)in->d[1], g->c = (int)in->d[0];
        else g->ih = 1, g->iw = (int)in->d[0], g->c = (int)in->d[1];
        g->kh = 1, g->kw = c->kernel[0], g->sh = 1, g->sw = c->strides[0];
        g->dh = 1, g->dw = c->dilation[0] ? c->dilation[0] : 1;
    } else {
        if (in->ndim != 3) return -1;
        *rank = 2;
        if (c->channels_first) g->ih = (int)in->d[1], g->iw = (int)in->d[2], g->c = (int)in->d[0];
        else g->ih = (int)in->d[0], g->iw = (int)in->d[1], g->c = (int)in->d[2];
        g->kh = c->kernel[0], g->kw = c->kernel[1];
        g->sh = c->strides[0], g->sw = c->strides[1];
        g->dh = c->dilation[0] ? c->dilation[0] : 1, g->dw = c->dilation[1] ? c->dilation[1] : 1;
    }
    return k2t_win_tf(g, c->padding);
}

/* Emulated PyTorch padding: nn.Conv2d/nn.*Pool2d(padding=k//2*d) on both
** sides, whatever TF would have done. */
static int torch_win(k2t_step *s, const k2t_shape *in)
{
    k2t_win *g = &s->win;
    int ph = (g->kh / 2) * g->dh, pw = (g->kw / 2) * g->dw;
    if (s->L->cfg.rank == 1 || in->ndim == 2) ph = 0;
    return k2t_win_sym(g, ph, pw);
}

int k2t_plan_win(k2t_step *s, const k2t_shape *in, int pad_torch)
{
    int rank;
    if (k2t_layer_win(s->L, in, &s->win, &rank) != 0 && !pad_torch) return -1;
    if (pad_torch && s->L->cfg.padding == K2T_PAD_SAME) {
        if (torch_win(s, in) != 0) return -1;
        /* The port's output size may differ from Keras's.  The spatial
        ** dims follow the channels in a channels_first layer. */
        int one_d = s->shape.ndim == 2, sp = s->L->cfg.channels_first ? 1 : 0;
        if (one_d) s->shape.d[sp] = s->win.ow;
        else s->shape.d[sp] = s->win.oh, s->shape.d[sp + 1] = s->win.ow;
        s->numel = k2t_shape_numel(&s->shape);
    }
    return 0;
}

int64_t k2t_cf_ws(const k2t_step *s, int64_t kws)
{
    return kws + k2t_step_in(s, 0)->numel + s->numel;
}

void k2t_cf_run(const k2t_step *s, const k2t_fwd *f, float *out, int64_t kws, k2t_cf_one one)
{
    const k2t_step *p = k2t_step_in(s, 0);
    int ci = (int)p->shape.d[0], co = (int)s->shape.d[0];
    float *xt = f->ws + kws, *yt = xt + p->numel;
    for (int i = 0; i < f->n; i++) {
        kern_to_nhwc(f->x[0] + (int64_t)i * p->numel, 1, ci, p->numel / ci, xt);
        one(s, xt, yt, f->ws, f->epi);
        kern_to_nchw(yt, 1, s->numel / co, co, out + (int64_t)i * s->numel);
    }
}

const float *k2t_prep_kernel(const k2t_layer *L, const k2t_weight *w, int nchw, int no_transpose,
                             float **owned)
{
    k2t_tw tw;
    if (nchw == no_transpose) return w->data;
    if (k2t_layer_tw(L, (int)(w - L->w), &tw) != 0) return w->data;
    float *o = k2t_xmalloc((size_t)(w->size ? w->size : 1) * sizeof(float));
    if (nchw) k2t_tw_apply(w, &tw, o);   /* the right permutation */
    else k2t_tw_misread(w, &tw, o);      /* the wrong PyTorch tensor, used correctly */
    *owned = o;
    return o;
}

void k2t_step_free_owned(k2t_step *s)
{
    free(s->scale);
    free(s->shift);
    free(s->bias);
    free(s->alpha);
    free(s->own_w);
    free(s->own_w2);
    free(s->own_wp);
    free(s->own_wb);
    free(s->own_wb2);
    free(s->own_rb);
    free(s->own_rbb);
    k2t_step_free_sub(s);
}
