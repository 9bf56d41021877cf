/*
** op.h -- what an op needs to execute, inside the engine only.
**
** The executor (engine/exec.c) plans a run as one k2t_step per graph node
** and runs the steps in order; it knows no layer kind.  Each op's family
** file (engine/ops/<family>.c, section "execution") supplies through its
** k2t_op_def (internal.h):
**  - flags (K2T_OPF_*): what the scheduler may do with the step;
**  - plan(): called once per node after the executor has inferred the
**    output shape; fills the step's geometry, prepared weights, epilogue,
**    workspace, and may mark it an alias, a fallback or CHW-ordered;
**  - forward(): computes the step for a range of samples;
**  - as_act(): says whether the layer is nothing but an activation (the
**    fast path folds it into the GEMM before it; softmax drop removes a
**    final softmax).
** The helpers at the end (engine/plan.c) are what several ops share:
** window geometry with the padding emulation, kernels in the layout the
** run wants, axis arithmetic, weights by name.
*/
#ifndef K2T_ENGINE_OP_H
#define K2T_ENGINE_OP_H

#include "internal.h"
#include "kern_nchw.h"
#include "kernels.h"

/* The flags that concern execution (K2T_OPF_INPUT, GEMM, INPLACE,
** KEEPS_ORDER, NCHW, AFFINE) are defined with the others in internal.h. */

/* One node of a run's plan: the "fat layer" struct every op shares; each
** op uses the fields its plan sets.  Buffers marked owned are freed with
** the run. */
#define K2T_MAX_PARTS 8

struct k2t_step {
    int node;
    const k2t_layer *L;
    const k2t_op_def *def;  /* L's op */
    const k2t_step *all;    /* the run's steps: inputs are all[in[j]] (k2t_step_in) */
    k2t_shape shape;        /* per-sample output shape (Keras's layout) */
    int64_t numel;          /* per-sample elements */
    int64_t out_off;        /* arena offset of the output (floats, whole batch) */
    int64_t pre_off;        /* pre-activation buffer, or -1 */
    int alias;              /* output is input 0's buffer (a view: Flatten, Dropout) */
    int inplace;            /* computed in input 0's buffer (fast path) */
    int folded;             /* fast path: computed by an earlier step */
    int skip;               /* nothing to compute (input, alias, folded) */
    const int *in;          /* producer steps (== nodes) */
    int n_in;
    /* window ops */
    k2t_win win;
    int groups, cout, mult;
    int crop_t, crop_l;     /* Conv2DTranspose */
    /* prepared parameters */
    const float *w, *w2;    /* kernel (and pointwise kernel) */
    int torch_w;            /* w is in PyTorch's layout (Dense as nn.Linear) */
    float *scale, *shift;   /* owned: BN; folded BN */
    float *bias;            /* owned: epilogue bias of a folded BN */
    float *alpha;           /* owned: PReLU expanded */
    k2t_epi epi;            /* for the producing GEMM */
    int epi_keep;           /* plan: forward() hands f->epi to kernels writing f->g in
                            ** Keras's layout, where k2t_epi's chain form (post_scale,
                            ** res) holds */
    int epi_res;            /* plan: and k2t_epi.res (the direct and GEMM convolutions,
                            ** Dense; not the depthwise kernels) */
    int slice_ok;           /* plan: its kernels split one image (kern_slice): 1 by
                            ** channel chunks (the activation must be applied in
                            ** registers), 2 by output rows; 0: they do not */
    /* The keep path's fused output pass (exec.c, keep_chains): a GEMM step
    ** whose kernels also compute the BatchNormalization, residual Add and
    ** activation after it (chain[], -1 for none) through kepi, storing
    ** the last one's output, when one k2t_run_nodes call runs them all;
    ** the GEMM's own output and the members between are then computed
    ** when read. */
    int chain[3];           /* a BatchNormalization, a residual Add, an activation */
    int chain_head;         /* the head whose output pass computes this step, or -1 */
    int res_node;           /* a head's residual: the other input of its Add, or -1 */
    /* A Concatenate along channels whose inputs' heads write into its
    ** output (exec.c, concat_direct) when one call runs them all: the head's
    ** cat (the Concatenate's node, or -1) and channel offset cat_off; the
    ** Concatenate's cat_direct and cat_first (the first step of its
    ** producers' chains); keep path: the input's view_cat (its output is
    ** then the slice of the Concatenate's, copied out when read). */
    int cat, cat_direct, cat_first, view_cat;
    int64_t cat_off;
    int epi_ldy;            /* plan: its kernels take k2t_epi.ldy (the direct convolution) */
    int alias_in;           /* alias: the input whose buffer this is a view of */
    /* Both paths: a ZeroPadding2D (K2T_OPF_ZERO_PAD) read by this window
    ** step alone, whose zeros the pass reads as padding (win_fold, from
    ** the pad's input) instead of the pad's copy; -1 for none.  The pad
    ** step is then lazy, a member of this chain. */
    int pad_src;
    k2t_win win_fold;
    int lazy;               /* a chain member the pass does not store: computed when read */
    k2t_epi kepi;
    int64_t outer, len, inner; /* axis ops: softmax, concat, BN, LN */
    int64_t ws;             /* workspace floats this step needs */
    int local;              /* fast path: buffer in the thread's own arena */
    /* PyTorch emulation */
    int nchw;               /* held (C, ...) instead of (..., C): layout NCHW, rank >= 2 */
    int cf;                 /* a channels_first layer: its Keras tensors are (C, ...); it
                            ** runs the channels-last kernel between conversions (k2t_cf_run) */
    int chw_order;          /* a vector whose elements are in CHW order (Flatten, torch) */
    int chw_c;              /* chw_order: the channels of the (..., C) it came from */
    int fallback;           /* NCHW step computed by the NHWC kernel between conversions */
    int count_pad;          /* average pooling counts the padding (PyTorch's default) */
    int bn_batch;           /* BatchNormalization with the batch's statistics */
    double eps;             /* BatchNormalization epsilon in use */
    k2t_shape nshape;       /* per-sample shape in the run's layout */
    float *own_w, *own_w2;  /* owned: prepared kernels */
    float *own_wp;          /* owned: w packed (kern_conv2d_pack): the direct route's
                            ** layout, or Winograd's transformed kernel */
    const float *wb, *wb2;  /* a Bidirectional's backward kernels (as w, w2) */
    float *own_wb, *own_wb2;
    const float *rb, *rbb;  /* recurrent: the biases in use (forward, backward) */
    float *own_rb, *own_rbb;
    k2t_act rnn_act, rnn_rec; /* recurrent: activation and recurrent_activation in use */
    int rnn_last_output;    /* Bidirectional: the backward half read for one step (rnn.last) */
    int rnn_state_swapped;  /* LSTM: initial_state read as (c, h) (rnn.state swapped) */
    /* Masks: the step whose mask buffer holds input 0's mask (mask_in) and
    ** this output's (mask_src), -1 for none; a maker's buffer: mask_len
    ** floats (1 kept, 0 masked) per sample at arena offset mask_off. */
    int mask_in, mask_src;
    int64_t mask_off, mask_len;
    /* A wrapper's inner step (TimeDistributed: the wrapped layer over
    ** every step of axis 1): owned, sub[0] a stand-in for its input,
    ** sub[1] the inner step, whose L (owned, sub_L) is a view of this
    ** layer with the inner op; freed with the run (k2t_step_free_sub). */
    k2t_step *sub;
    k2t_layer *sub_L;
    /* A call returning several tensors: the steps of tensors 1.. (its
    ** parts, in order), which forward() writes through f->parts. */
    int parts[K2T_MAX_PARTS];
    int n_parts;
};

/* Free what a step owns through its sub-steps (the executor calls it). */
void k2t_step_free_sub(k2t_step *s);
/* Free everything a step owns: its prepared parameters, then its
** sub-steps' (engine/plan.c). */
void k2t_step_free_owned(k2t_step *s);

/* Input j's step. */
static inline const k2t_step *k2t_step_in(const k2t_step *s, int j)
{
    return &s->all[s->in[j]];
}

/* What plan() is told.  Before it runs the executor has set s->shape and
** s->numel (the op's infer), s->nchw, s->epi.act = K2T_ACT_LINEAR,
** s->pre_off = -1 and, with K2T_OPF_KEEPS_ORDER, chw_order and chw_c;
** the input steps are planned.  plan() may change s->shape (and numel)
** when an emulation changes the output size.  On failure it returns an
** error whose message does not name the layer (the executor does). */
struct k2t_plan_ctx {
    const k2t_model *m;
    const k2t_opts *o;      /* o->emu: the emulated PyTorch conventions */
    const k2t_shape *in;    /* input shapes, Keras's layout */
    int n_in;
    int any_nchw;           /* the output or an input is held NCHW */
};

/* What forward() is given: compute s for n samples.  Inputs and output
** are in the step's layout (every one in Keras's when f->fallback).  GEMM
** ops write through f->epi into f->g; the executor applies the activation
** from g to y when g != y (the kept pre-activation).  Other ops write y,
** which may be x[0] for K2T_OPF_INPLACE ops.  ws holds s->ws floats. */
struct k2t_fwd {
    const float *const *x;
    int n;
    float *y;
    float *g;
    float *ws;
    const k2t_epi *epi;     /* s->epi, its activation linear when g != y */
    int nchw;               /* use the NCHW kernels (s->nchw and not the fallback) */
    int fallback;           /* the NCHW fallback: one sample, Keras's layout */
    const float *mask;      /* input 0's mask for these samples (mask_len each), or NULL */
    float *mask_out;        /* a mask maker's output mask, or NULL */
    float *const *parts;    /* tensors 1.. of a several-tensor call (s->parts), each
                            ** the samples' rows in Keras's layout */
};

/*----------------------------------------------- shared by ops (plan.c) */

/* An axis as written in Keras (counting the batch, may be < 0) -> the
** per-sample index (out of range when < 0 or >= ndim). */
int k2t_sample_axis(int axis, int ndim);
/* sh viewed as (outer, len, inner) around axis ax. */
void k2t_axis_split(const k2t_shape *sh, int ax, int64_t *outer, int64_t *len, int64_t *inner);
/* Window geometry of a conv or pool step on input in: TF's padding, or
** with pad_torch ('same' layers only; 'valid' is padding=0 in both)
** PyTorch's symmetric k//2*d, which may change the output size (s->shape
** and s->numel follow).  Returns 0, or -1 when the window does not fit. */
int k2t_plan_win(k2t_step *s, const k2t_shape *in, int pad_torch);
/* The kernel a step computes with: Keras's own buffer for the NHWC
** kernels, PyTorch's layout (the op's k2t_tw) for the NCHW ones (nchw).
** With the forgotten transpose (no_transpose) PyTorch's tensor is the
** Keras buffer read in its shape: the NCHW kernels take the buffer as it
** is, the NHWC ones that tensor mapped back to Keras's layout.  Whatever
** is not the file's own buffer is allocated into *owned (the run frees it). */
const float *k2t_prep_kernel(const k2t_layer *L, const k2t_weight *w, int nchw, int no_transpose,
                             float **owned);

/* A channels_first window step computed by the channels-last kernel
** (kernels.c's are much faster than the NCHW ones): each sample's input
** (C, S...) is moved to (S..., C) in the workspace, one(s, x, y, ws, e)
** computes that sample into y (S'..., C') with scratch ws and epilogue e,
** and y is moved back into out (C', S'...).  The workspace is [kws floats
** of the kernel's scratch][input][output]: k2t_cf_ws(s, kws) floats. */
typedef void (*k2t_cf_one)(const k2t_step *s, const float *x, float *y, float *ws, const k2t_epi *e);
int64_t k2t_cf_ws(const k2t_step *s, int64_t kws);
void k2t_cf_run(const k2t_step *s, const k2t_fwd *f, float *out, int64_t kws, k2t_cf_one one);

#endif /* K2T_ENGINE_OP_H */
