/*
** fuse.c -- which layers one output pass computes together, planned once
** per run (exec.c runs them).
**
** - A GEMM op (K2T_OPF_GEMM) and what follows it (chain_walk): a
**   per-channel affine step (BatchNormalization), a residual Add, an
**   activation.  The fast path folds them into the GEMM's epilogue
**   (k2t_fuse); the keep path computes them in the GEMM's pass in the
**   rounding of their own kernels and stores the last member's output,
**   the GEMM's own and the members between computed when read
**   (k2t_keep_chains).
** - A ZeroPadding2D read by a window op alone: its zeros become the op's
**   padding (k2t_fold_pads).
** - A Concatenate whose inputs are all such passes: they write their
**   channels of its output (k2t_concat_direct).
** Every kind is said by flags and hooks of the ops (engine/op.h), not by
** name.
*/
#include <stdlib.h>
#include "run.h"

typedef k2t_step step;

/* Whether step a is an activation a GEMM epilogue can apply (*act). */
static int foldable_act(const step *a, k2t_act *act)
{
    return a->def->as_act && a->def->as_act(a->L, act) && *act != K2T_ACT_SOFTMAX;
}

/* Whether step b, read from GEMM step s, is a per-channel affine step
** (BatchNormalization with its moving statistics, K2T_OPF_AFFINE) a GEMM
** epilogue can apply: over the last axis, or over the first for a
** channels_first GEMM (BatchNormalization axis=1), whose epilogue is per
** channel of (C, ...). */
static int affine_after(const step *s, const step *b)
{
    int per_chan = s->cf ? b->outer == 1 && b->len == s->shape.d[0]
                         : b->inner == 1 && b->len == s->shape.d[s->shape.ndim - 1];
    return per_chan && (b->def->flags & K2T_OPF_AFFINE) && !b->bn_batch && !b->fallback;
}

/* The steps the output pass of GEMM step s (linear, read by one step) can
** compute after it, in this order, each the only reader of the one before
** and not a model output: a per-channel affine step b (affine_after), a
** residual Add m (K2T_OPF_SUM) of that and a tensor computed before s
** (*res: its node; s's kernels must take k2t_epi.res), an activation a.
** ch[] gets b, m, a (-1 for each one absent); returns how many. */
static int chain_walk(const k2t_run *r, const step *s, int ch[3], int *res, k2t_act *act)
{
    const k2t_model *m = r->m;
    int t = s->node, n = 0;
    ch[0] = ch[1] = ch[2] = *res = -1;
    for (int k = 0; k < 3; k++) {
        const k2t_node *T = &m->nodes[t];
        if (T->n_out != 1 || T->is_output || (t != s->node && r->s[t].fallback)) break;
        const step *u = &r->s[T->out[0]];
        if (u->alias || u->fallback || u->numel != s->numel || u->nchw != s->nchw || m->nodes[u->node].part)
            break;
        if (k == 0 && u->n_in == 1 && affine_after(s, u)) {
            ch[0] = u->node;
        } else if (k <= 1 && (u->def->flags & K2T_OPF_SUM) && u->n_in == 2 && s->epi_res && !s->fallback &&
                   (u->in[0] == t) != (u->in[1] == t)) {
            const step *o = &r->s[u->in[0] == t ? u->in[1] : u->in[0]];
            if (o->node > s->node || o->lazy || o->numel != s->numel || o->nchw != s->nchw) break;
            ch[1] = u->node;
            *res = o->node;
            k = 1;
        } else if (u->n_in == 1 && foldable_act(u, act)) {
            ch[2] = u->node;
            n++;
            break;
        } else {
            break;
        }
        n++;
        t = u->node;
    }
    return n;
}

/* Fast path: fold the steps chain_walk finds into the GEMM before them:
** a per-channel affine step into its scale and bias, a residual Add as
** k2t_epi.res, an activation into its epilogue; run K2T_OPF_INPLACE steps
** in place when their input has one reader. */
void k2t_fuse(k2t_run *r)
{
    const k2t_model *m = r->m;
    k2t_act act;
    int ch[3], res;
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        if (!(s->def->flags & K2T_OPF_GEMM) || s->epi.act != K2T_ACT_LINEAR || !chain_walk(r, s, ch, &res, &act))
            continue;
        if (ch[0] >= 0) {
            const step *b = &r->s[ch[0]];
            int64_t C = b->len;
            float *bias = k2t_xmalloc((size_t)C * sizeof(float));
            float *scale = k2t_xmalloc((size_t)C * sizeof(float));
            for (int64_t c = 0; c < C; c++) {
                double b0 = s->epi.bias ? s->epi.bias[c] : 0.0;
                scale[c] = b->scale[c];
                bias[c] = (float)(b0 * b->scale[c] + b->shift[c]);
            }
            free(s->bias);
            free(s->scale);
            s->bias = bias;
            s->scale = scale;
            s->epi.bias = bias;
            s->epi.scale = scale;
        }
        s->res_node = res;
        if (ch[2] >= 0) s->epi.act = act;
        for (int k = 0, prev = i; k < 3; k++) {
            if (ch[k] < 0) continue;
            step *u = &r->s[ch[k]];
            u->chain_head = i; /* a fast path head: never fused at run time (no kepi) */
            u->folded = 1;
            u->alias = 1; /* a view of the chain's buffer */
            u->alias_in = u->n_in == 2 && u->in[1] == prev;
            prev = ch[k];
        }
    }
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        const k2t_node *N = &m->nodes[i];
        if (s->folded || !(s->def->flags & K2T_OPF_INPLACE) || N->n_in != 1) continue;
        const k2t_node *P = &m->nodes[N->in[0]];
        if (P->n_out == 1 && !P->is_output && !(r->s[N->in[0]].def->flags & K2T_OPF_INPUT))
            s->inplace = 1;
    }
}

/* Both paths: a ZeroPadding2D (K2T_OPF_ZERO_PAD) read by a window op
** that pads with zeros (fold_pad) alone is read through: the op's pass
** takes the pad's input with the pad's zeros as more padding of its own.
** Fast path: for good (the pad becomes a view nothing reads).  Keep
** path: when one call runs both; the pad's output is then computed when
** read, as a lazy member of the op's chain. */
void k2t_fold_pads(k2t_run *r)
{
    const k2t_model *m = r->m;
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        if (!s->def->fold_pad || s->n_in != 1 || s->nchw || s->cf || s->fallback || s->alias ||
            s->shape.ndim != 3)
            continue;
        step *z = &r->s[s->in[0]];
        const k2t_node *Z = &m->nodes[z->node];
        if (!(z->def->flags & K2T_OPF_ZERO_PAD) || Z->n_out != 1 || Z->is_output || Z->part ||
            z->n_in != 1 || z->nchw || z->fallback || z->alias || z->L->cfg.channels_first ||
            z->shape.ndim != 3 || r->s[z->in[0]].shape.ndim != 3 || r->s[z->in[0]].nchw)
            continue;
        s->def->fold_pad(s, z->L->cfg.pad, &r->s[z->in[0]].shape);
        if (!r->o.keep) {
            s->win = s->win_fold;
            s->in = z->in; /* buffers and threads follow s->in */
            z->alias = 1;
            continue;
        }
        s->pad_src = z->node;
        z->chain_head = i;
        z->lazy = 1;
    }
}

/* Keep path: the output passes that compute several layers (see the top
** of the file).  A linear GEMM step s whose kernels honour k2t_epi's
** chain form (epi_keep) heads the chain chain_walk finds after it: its
** pass stores the chain's last member's output only; s's own output and
** the members between (a BatchNormalization, a residual Add) are
** computed when read, each by its own kernel from its inputs (on
** MobileNetV2 at 224x224, storing each convolution's output as well cost
** a quarter of the run).  A GEMM with its own activation heads nothing:
** its pass applies the activation, its pre-activation is lazy
** (pre_lazy).  Run after assign_buffers: the pass finds the residual at
** a fixed distance from the buffer it writes. */
void k2t_keep_chains(k2t_run *r)
{
    const k2t_model *m = r->m;
    k2t_act act;
    int ch[3], res;
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        const k2t_node *N = &m->nodes[i];
        if (!(s->def->flags & K2T_OPF_GEMM) || !s->epi_keep || s->fallback || s->alias || s->nchw ||
            s->cf || s->n_parts || N->part)
            continue;
        s->kepi = s->epi;
        if (s->epi.act != K2T_ACT_LINEAR) continue; /* its pre-activation: pre_lazy */
        if (!chain_walk(r, s, ch, &res, &act)) continue;
        int last = -1;
        for (int k = 0; k < 3; k++) {
            if (ch[k] < 0) continue;
            if (last >= 0) r->s[last].lazy = 1; /* read by the next member only */
            r->s[ch[k]].chain_head = i;
            s->chain[k] = last = ch[k];
        }
        const step *L = &r->s[last];
        if (ch[0] >= 0) {
            s->kepi.post_scale = r->s[ch[0]].scale;
            s->kepi.post_shift = r->s[ch[0]].shift;
        }
        if (ch[1] >= 0) s->kepi.res = r->s[res].out_off - L->out_off;
        if (ch[2] >= 0) s->kepi.act = act;
    }
}

/* Both paths: a Concatenate along channels (its last axis, NHWC) each of
** whose inputs is the output of a GEMM pass that takes k2t_epi.ldy (the
** direct convolution) with an activation in registers and no residual,
** read by the Concatenate alone: each pass writes its channels of the
** Concatenate's output (ldy: its channel count), the copy is not made.
** Keep path: the inputs' own outputs are then those slices, copied out
** when read (view_cat).  Runs after fuse (fast) or keep_chains (keep). */
void k2t_concat_direct(k2t_run *r)
{
    const k2t_model *m = r->m;
    for (int i = 0; i < r->n; i++) {
        step *c = &r->s[i];
        const k2t_node *C = &m->nodes[i];
        if (!(c->def->flags & K2T_OPF_CONCAT) || c->n_in < 2 || c->nchw || c->fallback || c->alias ||
            c->shape.ndim < 1 || c->len != c->shape.ndim - 1 || C->part || c->mask_in >= 0)
            continue;
        int ok = 1, first = i;
        int64_t off = 0;
        for (int j = 0; j < c->n_in && ok; j++) {
            const step *L = &r->s[c->in[j]];
            const k2t_node *LN = &m->nodes[L->node];
            int hn = head_of(L);
            const step *h = &r->s[hn];
            int keep_pass = r->o.keep && keep_chain(h);
            k2t_act a = keep_pass ? h->kepi.act : h->epi.act;
            ok = (h->def->flags & K2T_OPF_GEMM) && h->epi_ldy && h->cat < 0 && h->res_node < 0 &&
                 !h->kepi.res && (r->o.keep ? chain_last(h) == L->node : hn == L->node || L->folded) &&
                 (a == K2T_ACT_LINEAR || a == K2T_ACT_RELU || a == K2T_ACT_RELU6) &&
                 LN->n_out == 1 && !LN->is_output && L->shape.ndim == c->shape.ndim &&
                 (!r->o.keep || h->pre_off < 0 || pre_lazy(h)) && !L->nchw;
            for (int k = 0; k < j && ok; k++) ok = c->in[k] != c->in[j];
            if (ok && chain_first(h) < first) first = chain_first(h);
        }
        if (!ok) continue;
        for (int j = 0; j < c->n_in; j++) {
            step *L = &r->s[c->in[j]];
            int hn = head_of(L);
            r->s[hn].cat = i;
            r->s[hn].cat_off = off;
            off += L->shape.d[L->shape.ndim - 1];
            if (r->o.keep) L->view_cat = i;
        }
        c->cat_direct = 1;
        c->cat_first = first;
    }
}

