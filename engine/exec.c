/*
** exec.c -- run a model: a plan made once, then batches through it.
**
** k2t_run_new() walks the graph in topological order and makes one step per
** node: concrete shapes (from the real input), window geometry with TF's
** padding, weights prepared (BatchNormalization as scale and shift), and an
** arena offset for the node's output.  Nothing is allocated after that.
**
** Two ways to run (k2t_opts.keep):
**  - keep: every node's output and every pre-activation stays in its own
**    buffer, for print/step/diff;
**  - fast: a convolution or Dense followed by BatchNormalization and an
**    activation, each read by nothing else, becomes one GEMM with the BN
**    folded into a per-channel scale and shift and the activation applied
**    in the same epilogue; unary layers run in place; buffers are reused
**    once their last reader has run.
**
** Threads split the batch: every layer is per-sample, so each thread runs
** the whole plan on its own slice of samples with its own workspace and
** OpenBLAS single-threaded underneath.
*/
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "kern_nchw.h"

void openblas_set_num_threads(int);

typedef struct step {
    int node;
    const k2t_layer *L;
    k2t_op op;
    k2t_shape shape;        /* per-sample output shape */
    int64_t numel;          /* per-sample elements */
    int64_t out_off;        /* arena offset of the output (floats, whole batch) */
    int64_t pre_off;        /* pre-activation buffer, or -1 */
    int alias;              /* output is input 0's buffer (a view: Flatten, Dropout) */
    int inplace;            /* computed in input 0's buffer (fast path) */
    int folded;             /* fast path: computed by an earlier step */
    int skip;               /* nothing to compute (input, alias, folded) */
    int *in;                /* producer steps (== nodes) */
    int n_in;
    /* window ops */
    k2t_win win;
    int groups, cout, mult;
    int crop_t, crop_l;     /* Conv2DTranspose */
    /* prepared parameters (owned by the run when 'owned') */
    const float *w, *w2;    /* kernel (and pointwise kernel) */
    float *scale, *shift;   /* BN; folded BN */
    float *bias;            /* epilogue bias (owned) */
    float *alpha;           /* PReLU expanded */
    k2t_epi epi;            /* for the producing GEMM */
    int64_t outer, len, inner; /* axis ops: softmax, concat, BN, LN */
    int64_t ws;             /* workspace floats this step needs */
    int local;              /* fast path: buffer in the thread's own arena */
    /* PyTorch emulation */
    int nchw;               /* held (C, ...) instead of (..., C): layout NCHW, rank >= 2 */
    int chw_order;          /* a vector whose elements are in CHW order (Flatten, torch) */
    int fallback;           /* NCHW step computed by the NHWC kernel between conversions */
    int count_pad;          /* average pooling counts the padding (PyTorch's default) */
    int bn_batch;           /* BatchNormalization with the batch's statistics */
    double eps;             /* BatchNormalization epsilon in use */
    k2t_shape nshape;       /* per-sample shape in the run's layout */
    float *own_w, *own_w2;  /* prepared kernels owned by the run */
} step;

struct k2t_run {
    const k2t_model *m;
    k2t_opts o;
    int max_batch, batch;
    int threads;
    step *s;
    int n;
    float *arena;           /* whole-batch buffers: inputs, outputs, everything when keeping */
    int64_t arena_floats;
    float **local;          /* fast path: per-thread arenas of reused buffers */
    int64_t local_floats;
    int local_batch;        /* samples a thread's local arena holds */
    float **ws;             /* per thread */
    int64_t ws_floats;
    k2t_tensor *out;        /* per node: view into arena */
    k2t_tensor *pre;
    int *ran;               /* node has been computed for the current input */
};

int k2t_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static k2t_status step_fail(const k2t_model *m, const step *s, k2t_err *err, k2t_status st,
                            const char *what)
{
    return k2t_fail(err, st, "layer '%s' (%s): %s", m->nodes[s->node].name, s->L->class_name, what);
}

/* Axis as written in Keras (counting the batch) -> per-sample index. */
static int sample_axis(int axis, int ndim)
{
    if (axis < 0) axis += ndim + 1;
    return axis - 1;
}

static void axis_split(const k2t_shape *sh, int ax, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = 1, *inner = 1;
    for (int i = 0; i < ax; i++) *outer *= sh->d[i];
    *len = sh->d[ax];
    for (int i = ax + 1; i < sh->ndim; i++) *inner *= sh->d[i];
}

static const k2t_weight *wget(const k2t_layer *L, const char *name)
{
    for (int i = 0; i < L->n_w; i++)
        if (strcmp(L->w[i].name, name) == 0) return &L->w[i];
    return NULL;
}

/* Window geometry for conv/pool steps from the input shape (H,W,C) or (L,C). */
static int torch_win(step *s, const k2t_shape *in);

/* Window geometry for a conv or pool step; TF's padding, or PyTorch's
** symmetric k//2*d when emulating a port ('same' layers only: 'valid' is
** padding=0 in both). */
static int make_win_opts(step *s, const k2t_shape *in, int pad_torch);
int k2t_layer_win(const k2t_layer *L, const k2t_shape *in, k2t_win *g, int *rank)
{
    const k2t_cfg *c = &L->cfg;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < in->ndim; i++)
        if (in->d[i] < 1) return -1;
    if (c->rank == 1 || in->ndim == 2) {
        if (in->ndim != 2) return -1;
        *rank = 1;
        g->ih = 1, g->iw = (int)in->d[0], g->c = (int)in->d[1];
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

static int make_win(step *s, const k2t_shape *in)
{
    int rank;
    return k2t_layer_win(s->L, in, &s->win, &rank);
}

/* BatchNormalization as y = x*scale + shift, computed in double.  Keras 2
** runs 4-D inputs through fused_batch_norm, which raises epsilon to at
** least 1.001e-5. */
static void bn_prepare(const k2t_run *r, step *s, int64_t C, int four_d)
{
    const k2t_layer *L = s->L;
    const k2t_weight *gamma = wget(L, "gamma"), *beta = wget(L, "beta");
    const k2t_weight *mean = wget(L, "moving_mean"), *var = wget(L, "moving_variance");
    double eps = L->cfg.eps;
    int li = (int)(L - r->m->layers);
    if (r->o.bn_eps_layer && r->o.bn_eps_layer[li] > 0) eps = r->o.bn_eps_layer[li]; /* as a port configures it */
    else if (r->o.emu.bn_eps > 0) eps = r->o.emu.bn_eps;
    else if (r->m->keras_major < 3 && four_d && eps < 1.001e-5) eps = 1.001e-5;
    s->eps = eps;
    s->scale = k2t_xmalloc((size_t)C * sizeof(float));
    s->shift = k2t_xmalloc((size_t)C * sizeof(float));
    for (int64_t i = 0; i < C; i++) {
        double g = gamma ? gamma->data[i] : 1.0, b = beta ? beta->data[i] : 0.0;
        double sc = g / sqrt((double)var->data[i] + eps);
        s->scale[i] = (float)sc;
        s->shift[i] = (float)(b - (double)mean->data[i] * sc);
    }
}

static int is_unary_elementwise(k2t_op op)
{
    return op == K2T_OP_ACTIVATION || op == K2T_OP_RELU || op == K2T_OP_LEAKY_RELU ||
           op == K2T_OP_ELU || op == K2T_OP_RESCALING || op == K2T_OP_BATCHNORM;
}

/* The kernel a step computes with: Keras's own buffer for the NHWC
** kernels, PyTorch's layout (the op's k2t_tw) for the NCHW ones.  With the
** forgotten transpose (no_transpose) PyTorch's tensor is the Keras buffer
** read in its shape: the NCHW kernels take the buffer as it is, the NHWC
** ones that tensor mapped back to Keras's layout.  Whatever is not the
** file's own buffer is copied into *owned. */
static const float *prep_kernel(const k2t_layer *L, const k2t_weight *w, int nchw, int no_transpose,
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

static int make_win_opts(step *s, const k2t_shape *in, int pad_torch)
{
    if (make_win(s, in) != 0 && !pad_torch) return -1;
    if (pad_torch && s->L->cfg.padding == K2T_PAD_SAME) {
        if (torch_win(s, in) != 0) return -1;
        /* The port's output size may differ from Keras's. */
        int one_d = s->shape.ndim == 2;
        if (one_d) s->shape.d[0] = s->win.ow;
        else s->shape.d[0] = s->win.oh, s->shape.d[1] = s->win.ow;
        s->numel = k2t_shape_numel(&s->shape);
    }
    return 0;
}

/* Emulated PyTorch padding: nn.Conv2d/nn.*Pool2d(padding=k//2*d) on both
** sides, whatever TF would have done. */
static int torch_win(step *s, const k2t_shape *in)
{
    k2t_win *g = &s->win;
    int ph = (g->kh / 2) * g->dh, pw = (g->kw / 2) * g->dw;
    if (s->L->cfg.rank == 1 || in->ndim == 2) ph = 0;
    return k2t_win_sym(g, ph, pw);
}

/* Plan one node: shapes, geometry, parameters, workspace.  Returns an
** error naming the layer when it cannot be run. */
static k2t_status plan_step(k2t_run *r, step *s, k2t_err *err)
{
    const k2t_model *m = r->m;
    const k2t_node *N = &m->nodes[s->node];
    const k2t_layer *L = s->L;
    const k2t_op_def *def = k2t_op_def_of(L->op);
    k2t_shape in[64];
    k2t_err e = {0};
    if (L->op == K2T_OP_UNSUPPORTED || L->op == K2T_OP_NONE)
        return step_fail(m, s, err, K2T_EUNSUPPORTED, L->unsupported ? L->unsupported :
                         "k2t cannot execute this layer");
    if (L->unsupported)
        return step_fail(m, s, err, K2T_EUNSUPPORTED, L->unsupported);
    for (int j = 0; j < N->n_in; j++) in[j] = r->s[N->in[j]].shape;
    if (L->op == K2T_OP_INPUT) {
        s->shape = N->shape; /* replaced by k2t_run_new from in_shapes */
    } else if (!def || !def->infer || def->infer(L, in, N->n_in, &s->shape, &e) != K2T_OK) {
        return step_fail(m, s, err, e.status ? e.status : K2T_ESHAPE, e.msg[0] ? e.msg :
                         "cannot infer its output shape");
    }
    s->numel = k2t_shape_numel(&s->shape);
    if (s->numel < 0)
        return step_fail(m, s, err, K2T_ESHAPE, "output shape is not fully known");
    s->nchw = r->o.emu.layout == K2T_LAYOUT_NCHW && s->shape.ndim >= 2;
    const k2t_cfg *c = &L->cfg;
    s->epi.act = K2T_ACT_LINEAR;
    s->pre_off = -1;
    switch (L->op) {
    case K2T_OP_INPUT:
        break;
    case K2T_OP_CONV: {
        if (make_win_opts(s, &in[0], r->o.emu.pad_torch) != 0) return step_fail(m, s, err, K2T_ESHAPE, "input smaller than the kernel");
        s->groups = c->groups ? c->groups : 1;
        s->cout = c->filters;
        s->w = prep_kernel(L, wget(L, "kernel"), s->nchw, r->o.emu.no_transpose, &s->own_w);
        if (c->use_bias) s->epi.bias = wget(L, "bias")->data;
        s->epi.act = c->act;
        s->ws = kern_conv2d_ws(&s->win, s->groups);
        break;
    }
    case K2T_OP_DEPTHWISE:
    case K2T_OP_SEPARABLE: {
        if (make_win_opts(s, &in[0], r->o.emu.pad_torch) != 0) return step_fail(m, s, err, K2T_ESHAPE, "input smaller than the kernel");
        s->mult = c->depth_multiplier ? c->depth_multiplier : 1;
        s->w = prep_kernel(L, wget(L, "depthwise_kernel"), s->nchw, r->o.emu.no_transpose, &s->own_w);
        if (c->use_bias) s->epi.bias = wget(L, "bias")->data;
        s->epi.act = c->act;
        if (L->op == K2T_OP_SEPARABLE) {
            s->w2 = prep_kernel(L, wget(L, "pointwise_kernel"), s->nchw, r->o.emu.no_transpose, &s->own_w2);
            s->cout = c->filters;
            /* the depthwise result of one sample (and, NCHW, its im2col) */
            s->ws = (int64_t)s->win.oh * s->win.ow * s->win.c * s->mult * (s->nchw ? 2 : 1);
        }
        break;
    }
    case K2T_OP_CONV_TRANSPOSE: {
        k2t_win *g = &s->win;
        memset(g, 0, sizeof *g);
        g->ih = (int)in[0].d[0], g->iw = (int)in[0].d[1], g->c = (int)in[0].d[2];
        g->kh = c->kernel[0], g->kw = c->kernel[1], g->sh = c->strides[0], g->sw = c->strides[1];
        g->dh = c->dilation[0] ? c->dilation[0] : 1, g->dw = c->dilation[1] ? c->dilation[1] : 1;
        s->cout = c->filters;
        /* Keras: F has (in-1)*s + k_eff; the output starts at
        ** c = max(F - out, 0) // 2 (KERAS-FORMAT 4). */
        int64_t fh = (int64_t)(g->ih - 1) * g->sh + (int64_t)(g->kh - 1) * g->dh + 1;
        int64_t fw = (int64_t)(g->iw - 1) * g->sw + (int64_t)(g->kw - 1) * g->dw + 1;
        int64_t oh = s->shape.d[0], ow = s->shape.d[1];
        s->crop_t = (int)(fh > oh ? (fh - oh) / 2 : 0);
        s->crop_l = (int)(fw > ow ? (fw - ow) / 2 : 0);
        s->w = prep_kernel(L, wget(L, "kernel"), 0, r->o.emu.no_transpose, &s->own_w);
        if (c->use_bias) s->epi.bias = wget(L, "bias")->data;
        s->epi.act = c->act;
        s->ws = kern_conv2d_transpose_ws(g, s->cout);
        break;
    }
    case K2T_OP_DENSE: {
        const k2t_weight *k = wget(L, "kernel");
        int native = in[0].ndim == 1; /* Linear on a vector; rank > 1 falls back to Keras's kernel */
        s->w = prep_kernel(L, k, r->o.emu.layout == K2T_LAYOUT_NCHW && native, r->o.emu.no_transpose, &s->own_w);
        if (c->use_bias) s->epi.bias = wget(L, "bias")->data;
        s->epi.act = c->act;
        s->cout = c->units;
        break;
    }
    case K2T_OP_BATCHNORM: {
        int ax = sample_axis(c->axis, in[0].ndim);
        if (ax < 0 || ax >= in[0].ndim) return step_fail(m, s, err, K2T_ESHAPE, "axis out of range");
        axis_split(&in[0], ax, &s->outer, &s->len, &s->inner);
        bn_prepare(r, s, s->len, in[0].ndim == 3);
        s->bn_batch = r->o.emu.bn_train;
        break;
    }
    case K2T_OP_LAYERNORM: {
        /* The normalized axes must be the trailing ones (the usual -1). */
        int nd = in[0].ndim, lo = nd;
        int seen[K2T_MAX_DIMS] = {0};
        for (int i = 0; i < c->n_dims; i++) {
            int ax = sample_axis(c->dims[i], nd);
            if (ax < 0 || ax >= nd) return step_fail(m, s, err, K2T_ESHAPE, "axis out of range");
            seen[ax] = 1;
            if (ax < lo) lo = ax;
        }
        for (int i = lo; i < nd; i++)
            if (!seen[i]) return step_fail(m, s, err, K2T_EUNSUPPORTED,
                                           "LayerNormalization over non-trailing axes is not supported");
        s->len = 1;
        for (int i = lo; i < nd; i++) s->len *= in[0].d[i];
        s->outer = s->numel / (s->len ? s->len : 1);
        break;
    }
    case K2T_OP_SOFTMAX: {
        int ax = sample_axis(c->axis, in[0].ndim);
        if (ax < 0 || ax >= in[0].ndim) return step_fail(m, s, err, K2T_ESHAPE, "axis out of range");
        axis_split(&in[0], ax, &s->outer, &s->len, &s->inner);
        break;
    }
    case K2T_OP_CONCATENATE: {
        int ax = sample_axis(c->axis, s->shape.ndim);
        if (ax < 0 || ax >= s->shape.ndim) return step_fail(m, s, err, K2T_ESHAPE, "axis out of range");
        axis_split(&s->shape, ax, &s->outer, &s->len, &s->inner);
        s->len = ax; /* remember the axis; lengths come from the inputs */
        break;
    }
    case K2T_OP_PRELU: {
        const k2t_weight *a = wget(L, "alpha");
        s->alpha = k2t_xmalloc((size_t)s->numel * sizeof(float));
        /* Broadcast alpha (shared axes have size 1) over the sample. */
        for (int64_t i = 0; i < s->numel; i++) {
            int64_t rem = i, ai = 0, stride = 1;
            for (int d = s->shape.ndim - 1; d >= 0; d--) {
                int64_t idx = rem % s->shape.d[d];
                rem /= s->shape.d[d];
                int64_t ad = a->shape.d[d];
                ai += (ad == 1 ? 0 : idx) * stride;
                stride *= ad;
            }
            s->alpha[i] = a->data[ai];
        }
        break;
    }
    case K2T_OP_MAXPOOL:
    case K2T_OP_AVGPOOL:
        if (make_win_opts(s, &in[0], r->o.emu.pad_torch) != 0) return step_fail(m, s, err, K2T_ESHAPE, "input smaller than the pool");
        s->count_pad = r->o.emu.pad_torch;
        break;
    case K2T_OP_IDENTITY:
        s->alias = 1;
        s->chw_order = r->s[N->in[0]].chw_order;
        break;
    case K2T_OP_FLATTEN: {
        /* Keras flattens H, W, C; a port flattens C, H, W.  The emulation
        ** keeps whichever order the setting asks for, so that the Dense
        ** after it sees what the port's Linear would. */
        int p_nchw = r->s[N->in[0]].nchw;
        int chw = r->o.emu.flatten_torch && in[0].ndim >= 2;
        s->chw_order = chw;
        s->alias = in[0].ndim < 2 || p_nchw == chw;
        break;
    }
    case K2T_OP_RESHAPE:
        s->alias = !r->s[N->in[0]].nchw && !r->s[N->in[0]].chw_order;
        s->fallback = !s->alias;
        break;
    case K2T_OP_PERMUTE:
    case K2T_OP_ZEROPAD:
    case K2T_OP_CROP:
    case K2T_OP_UPSAMPLE:
    case K2T_OP_GLOBAL_MAXPOOL:
    case K2T_OP_GLOBAL_AVGPOOL:
    case K2T_OP_ACTIVATION:
    case K2T_OP_RELU:
    case K2T_OP_LEAKY_RELU:
    case K2T_OP_ELU:
    case K2T_OP_RESCALING:
        s->chw_order = r->s[N->in[0]].chw_order;
        break;
    case K2T_OP_ADD: case K2T_OP_SUBTRACT: case K2T_OP_MULTIPLY:
    case K2T_OP_AVERAGE: case K2T_OP_MAXIMUM: case K2T_OP_MINIMUM:
        break;
    default:
        return step_fail(m, s, err, K2T_EUNSUPPORTED, "no kernel for this layer");
    }
    if (r->o.emu.layout == K2T_LAYOUT_NCHW) {
        /* Ops without an NCHW kernel run the Keras kernel between layout
        ** conversions: Keras's semantics, the port's layout. */
        int any_nchw = s->nchw;
        for (int j = 0; j < N->n_in; j++) any_nchw |= r->s[N->in[j]].nchw;
        switch (L->op) {
        case K2T_OP_CONV_TRANSPOSE: case K2T_OP_LAYERNORM: case K2T_OP_PERMUTE:
        case K2T_OP_ZEROPAD: case K2T_OP_CROP: case K2T_OP_UPSAMPLE: case K2T_OP_PRELU:
        case K2T_OP_CONCATENATE: case K2T_OP_SOFTMAX:
            s->fallback = any_nchw;
            break;
        case K2T_OP_DENSE:
            s->fallback = in[0].ndim > 1;
            break;
        case K2T_OP_BATCHNORM:
            s->fallback = any_nchw && s->inner != 1;
            break;
        default:
            break;
        }
        if (s->fallback) {
            int64_t tmp = 2 * s->numel; /* output and pre-activation */
            for (int j = 0; j < N->n_in; j++) tmp += r->s[N->in[j]].numel;
            s->ws += tmp;
        }
    }
    if (r->o.emu.softmax_drop && N->is_output) {
        /* The port leaves the softmax to its loss function. */
        if ((L->op == K2T_OP_ACTIVATION && c->act == K2T_ACT_SOFTMAX) || L->op == K2T_OP_SOFTMAX) {
            s->alias = 1;
            s->fallback = 0;
        } else if (s->epi.act == K2T_ACT_SOFTMAX) {
            s->epi.act = K2T_ACT_LINEAR;
        }
    }
    if (s->nchw && L->op == K2T_OP_CONV)
        s->ws = kern_conv2d_nchw_ws(&s->win, s->groups);
    s->nshape = s->nchw ? k2t_shape_nchw(&s->shape) : s->shape;
    return K2T_OK;
}

/* Fast path: fold BN (and then an activation) into the GEMM before it,
** when each link is read by nothing else and the GEMM's activation is
** linear; run unary layers in place when their input has one reader. */
static void fuse(k2t_run *r)
{
    const k2t_model *m = r->m;
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        const k2t_node *N = &m->nodes[i];
        int gemm = s->op == K2T_OP_CONV || s->op == K2T_OP_DENSE || s->op == K2T_OP_DEPTHWISE ||
                   s->op == K2T_OP_SEPARABLE || s->op == K2T_OP_CONV_TRANSPOSE;
        if (!gemm || s->epi.act != K2T_ACT_LINEAR || N->n_out != 1 || N->is_output) continue;
        step *b = &r->s[N->out[0]];
        int chan_last = b->op == K2T_OP_BATCHNORM && b->inner == 1 && !b->bn_batch && !b->fallback;
        if (chan_last && b->len == s->shape.d[s->shape.ndim - 1]) {
            int64_t C = b->len;
            float *bias = k2t_xmalloc((size_t)C * sizeof(float));
            float *scale = k2t_xmalloc((size_t)C * sizeof(float));
            for (int64_t c = 0; c < C; c++) {
                double b0 = s->epi.bias ? s->epi.bias[c] : 0.0;
                scale[c] = b->scale[c];
                bias[c] = (float)(b0 * b->scale[c] + b->shift[c]);
            }
            free(s->bias);
            s->bias = bias;
            s->scale = scale;
            s->epi.bias = bias;
            s->epi.scale = scale;
            b->folded = 1;
            b->alias = 1;
            const k2t_node *BN = &m->nodes[N->out[0]];
            if (BN->n_out != 1 || BN->is_output) continue;
            step *a = &r->s[BN->out[0]];
            if (a->op == K2T_OP_ACTIVATION && a->L->cfg.act != K2T_ACT_SOFTMAX) {
                s->epi.act = a->L->cfg.act;
                a->folded = 1;
                a->alias = 1;
            } else if (a->op == K2T_OP_RELU && !a->L->cfg.has_max_value &&
                       a->L->cfg.threshold == 0 && a->L->cfg.negative_slope == 0) {
                s->epi.act = K2T_ACT_RELU;
                a->folded = 1;
                a->alias = 1;
            }
        } else if (b->op == K2T_OP_ACTIVATION && b->L->cfg.act != K2T_ACT_SOFTMAX) {
            s->epi.act = b->L->cfg.act;
            b->folded = 1;
            b->alias = 1;
        }
    }
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        const k2t_node *N = &m->nodes[i];
        if (s->folded || !is_unary_elementwise(s->op) || N->n_in != 1) continue;
        const k2t_node *P = &m->nodes[N->in[0]];
        if (P->n_out == 1 && !P->is_output && r->s[N->in[0]].op != K2T_OP_INPUT)
            s->inplace = 1;
    }
}

/* Where each step's output lives.  keep: a buffer per step.  fast: reuse a
** buffer once the last reader of its value has run. */
static void assign_buffers(k2t_run *r)
{
    const k2t_model *m = r->m;
    int64_t B = r->max_batch;
    int64_t top = 0;
    /* root[i]: the step whose buffer holds step i's output (through views). */
    int *root = k2t_xmalloc((size_t)r->n * sizeof *root);
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        root[i] = (s->alias || s->inplace) && m->nodes[i].n_in ? root[m->nodes[i].in[0]] : i;
    }
    if (r->o.keep) {
        for (int i = 0; i < r->n; i++) {
            step *s = &r->s[i];
            if (root[i] == i) { s->out_off = top; top += B * s->numel; }
            if (s->epi.act != K2T_ACT_LINEAR && !s->folded) {
                s->pre_off = top;
                top += B * s->numel;
            }
        }
        for (int i = 0; i < r->n; i++) r->s[i].out_off = r->s[root[i]].out_off;
    } else {
        /* Inputs and outputs live in the shared arena for the whole batch.
        ** Everything else is reused once its last reader has run, in
        ** per-thread arenas: threads run the plan independently, so a
        ** buffer one thread reuses must not be one another still reads. */
        int *last = k2t_xmalloc((size_t)r->n * sizeof *last);
        int *shared = k2t_xcalloc((size_t)r->n, sizeof *shared);
        for (int i = 0; i < r->n; i++) {
            last[i] = i;
            if (m->nodes[i].is_output || r->s[i].op == K2T_OP_INPUT) shared[root[i]] = 1;
        }
        for (int i = 0; i < r->n; i++) {
            for (int j = 0; j < m->nodes[i].n_in; j++) {
                int b = root[m->nodes[i].in[j]];
                if (last[b] < i) last[b] = i;
            }
            if (last[root[i]] < i) last[root[i]] = i;
        }
        int64_t Bt = (B + r->threads - 1) / r->threads, ltop = 0;
        r->local_batch = (int)Bt;
        typedef struct { int64_t off, size; int free_after; } slot;
        slot *slots = k2t_xmalloc((size_t)r->n * sizeof *slots);
        int n_slots = 0;
        for (int i = 0; i < r->n; i++) {
            step *s = &r->s[i];
            if (root[i] != i) continue;
            if (shared[i]) { s->out_off = top; top += B * s->numel; continue; }
            int64_t need = Bt * s->numel;
            int pick = -1;
            for (int k = 0; k < n_slots; k++)
                if (slots[k].free_after < i && slots[k].size >= need &&
                    (pick < 0 || slots[k].size < slots[pick].size)) pick = k;
            if (pick < 0) {
                slots[n_slots] = (slot){ltop, need, 0};
                ltop += need;
                pick = n_slots++;
            }
            slots[pick].free_after = last[i];
            s->out_off = slots[pick].off;
            s->local = 1;
        }
        for (int i = 0; i < r->n; i++) {
            r->s[i].out_off = r->s[root[i]].out_off;
            r->s[i].local = r->s[root[i]].local;
        }
        r->local_floats = ltop;
        free(slots);
        free(last);
        free(shared);
    }
    free(root);
    r->arena_floats = top;
}

k2t_run *k2t_run_new(const k2t_model *m, const k2t_opts *o, const k2t_shape *in_shapes,
                     int max_batch, k2t_err *err)
{
    if (!m->has_arch) {
        k2t_fail(err, K2T_EUNSUPPORTED, "%s is a weights-only file: there is no architecture to run",
                 m->path);
        return NULL;
    }
    /* Refuse before computing anything: name the first layer k2t cannot run. */
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_layer *L = k2t_node_layer(m, i);
        if (L->op == K2T_OP_UNSUPPORTED || L->unsupported) {
            k2t_fail(err, K2T_EUNSUPPORTED, "cannot run: layer '%s' (%s) is not supported: %s",
                     m->nodes[i].name, L->class_name, L->unsupported ? L->unsupported : "");
            return NULL;
        }
    }
    k2t_run *r = k2t_xcalloc(1, sizeof *r);
    r->m = m;
    r->o = *o;
    r->max_batch = max_batch < 1 ? 1 : max_batch;
    r->threads = o->threads > 0 ? o->threads : k2t_cores();
    if (r->threads > 64) r->threads = 64;
    if (o->emu.bn_train) r->threads = 1; /* batch statistics need the whole batch */
    r->n = m->n_nodes;
    r->s = k2t_xcalloc((size_t)r->n, sizeof *r->s);
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        s->node = i;
        s->L = k2t_node_layer(m, i);
        s->op = s->L->op;
        s->in = m->nodes[i].in;
        s->n_in = m->nodes[i].n_in;
        if (s->op == K2T_OP_INPUT) {
            int k = 0;
            for (int j = 0; j < m->n_inputs; j++) if (m->inputs[j] == i) k = j;
            s->shape = in_shapes ? in_shapes[k] : m->nodes[i].shape;
            /* The given shape must be the model's, None matching anything. */
            const k2t_shape *want = &m->nodes[i].shape;
            if (want->ndim >= 0 && !k2t_shape_fits(want, &s->shape)) {
                char a[96], b[96];
                k2t_fail(err, K2T_ESHAPE, "input '%s' takes %s, not %s", m->nodes[i].name,
                         k2t_shape_str(want, 1, a, sizeof a), k2t_shape_str(&s->shape, 0, b, sizeof b));
                k2t_run_free(r);
                return NULL;
            }
        }
        if (plan_step(r, s, err) != K2T_OK) {
            k2t_run_free(r);
            return NULL;
        }
        int64_t per = (int64_t)r->max_batch * s->numel;
        if (per > K2T_MAX_NUMEL) {
            step_fail(m, s, err, K2T_ENOMEM, "the batch's output is too large");
            k2t_run_free(r);
            return NULL;
        }
    }
    if (!o->keep) fuse(r);
    assign_buffers(r);
    for (int i = 0; i < r->n; i++) {
        step *s = &r->s[i];
        s->skip = s->op == K2T_OP_INPUT ? 0 : (s->alias || s->folded);
        if (s->ws > r->ws_floats) r->ws_floats = s->ws;
    }
    r->arena = malloc((size_t)(r->arena_floats ? r->arena_floats : 1) * sizeof(float));
    if (!r->arena) {
        k2t_fail(err, K2T_ENOMEM, "cannot allocate %lld MB for a batch of %d",
                 (long long)(r->arena_floats * 4 >> 20), r->max_batch);
        k2t_run_free(r);
        return NULL;
    }
    r->ws = k2t_xcalloc((size_t)r->threads, sizeof *r->ws);
    r->local = k2t_xcalloc((size_t)r->threads, sizeof *r->local);
    for (int t = 0; t < r->threads; t++) {
        r->ws[t] = k2t_xmalloc((size_t)(r->ws_floats ? r->ws_floats : 1) * sizeof(float));
        r->local[t] = k2t_xmalloc((size_t)(r->local_floats ? r->local_floats : 1) * sizeof(float));
    }
    r->out = k2t_xcalloc((size_t)r->n, sizeof *r->out);
    r->pre = k2t_xcalloc((size_t)r->n, sizeof *r->pre);
    r->ran = k2t_xcalloc((size_t)r->n, sizeof *r->ran);
    openblas_set_num_threads(1);
    return r;
}

void k2t_run_free(k2t_run *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        free(r->s[i].scale);
        free(r->s[i].shift);
        free(r->s[i].bias);
        free(r->s[i].alpha);
        free(r->s[i].own_w);
        free(r->s[i].own_w2);
    }
    for (int t = 0; r->ws && t < r->threads; t++) free(r->ws[t]);
    for (int t = 0; r->local && t < r->threads; t++) free(r->local[t]);
    free(r->ws);
    free(r->local);
    free(r->s);
    free(r->arena);
    free(r->out);
    free(r->pre);
    free(r->ran);
    free(r);
}

int k2t_run_batch(const k2t_run *r) { return r->batch; }

const k2t_shape *k2t_run_shape(const k2t_run *r, int node) { return &r->s[node].nshape; }

const k2t_shape *k2t_run_keras_shape(const k2t_run *r, int node) { return &r->s[node].shape; }

k2t_status k2t_run_set_input(k2t_run *r, int i, const float *x, int n, k2t_err *err)
{
    if (i < 0 || i >= r->m->n_inputs)
        return k2t_fail(err, K2T_EARG, "the model has %d input%s", r->m->n_inputs,
                        r->m->n_inputs == 1 ? "" : "s");
    if (n < 1 || n > r->max_batch)
        return k2t_fail(err, K2T_EARG, "batch of %d, the plan holds 1 to %d", n, r->max_batch);
    step *s = &r->s[r->m->inputs[i]];
    if (s->nchw) {
        int c = (int)s->shape.d[s->shape.ndim - 1];
        kern_to_nchw(x, n, s->numel / c, c, r->arena + s->out_off);
    } else {
        memcpy(r->arena + s->out_off, x, (size_t)n * (size_t)s->numel * sizeof(float));
    }
    r->batch = n;
    memset(r->ran, 0, (size_t)r->n * sizeof *r->ran);
    r->ran[s->node] = 1;
    return K2T_OK;
}

/*--------------------------------------------------------------- running */

/* Where step s's samples [n0, ...) live for thread t. */
static float *buf(const k2t_run *r, const step *s, int n0, int t)
{
    if (s->local) return r->local[t] + s->out_off;
    return r->arena + s->out_off + (int64_t)n0 * s->numel;
}

static k2t_merge merge_of(k2t_op op)
{
    switch (op) {
    case K2T_OP_SUBTRACT: return K2T_MERGE_SUB;
    case K2T_OP_MULTIPLY: return K2T_MERGE_MUL;
    case K2T_OP_AVERAGE: return K2T_MERGE_AVG;
    case K2T_OP_MAXIMUM: return K2T_MERGE_MAX;
    case K2T_OP_MINIMUM: return K2T_MERGE_MIN;
    default: return K2T_MERGE_ADD;
    }
}

/* Compute step s for n samples: xs are its inputs, y its output, g where
** a GEMM writes before a kept activation (y when none), ws scratch.
** nhwc forces the Keras-layout kernels (the NCHW fallback). */
static void exec_op(const k2t_run *r, const step *s, const float *const *xs, int n, float *y,
                    float *g, float *ws, int nhwc)
{
    const step *p = s->n_in ? &r->s[s->in[0]] : NULL;
    const float *x = s->n_in ? xs[0] : NULL;
    int nchw = s->nchw && !nhwc;
    k2t_epi e = s->epi;
    if (g != y) e.act = K2T_ACT_LINEAR;
    const k2t_cfg *c = &s->L->cfg;
    int64_t total = (int64_t)n * s->numel;
    int C = s->shape.ndim ? (int)s->shape.d[s->shape.ndim - 1] : 1;
    int64_t hw = C ? s->numel / C : 0;

    switch (s->op) {
    case K2T_OP_INPUT:
        break;
    case K2T_OP_CONV:
        if (nchw) kern_conv2d_nchw(&s->win, s->groups, s->cout, x, n, s->w, &e, g, ws);
        else kern_conv2d(&s->win, s->groups, s->cout, x, n, s->w, &e, g, ws);
        break;
    case K2T_OP_DEPTHWISE:
        if (nchw) kern_depthwise_nchw(&s->win, s->mult, x, n, s->w, &e, g);
        else kern_depthwise(&s->win, s->mult, x, n, s->w, &e, g);
        break;
    case K2T_OP_SEPARABLE: {
        k2t_epi none = {0};
        none.act = K2T_ACT_LINEAR;
        int64_t rows = (int64_t)s->win.oh * s->win.ow;
        int cm = s->win.c * s->mult;
        k2t_win pw = {0};
        pw.ih = pw.oh = s->win.oh, pw.iw = pw.ow = s->win.ow, pw.c = cm;
        pw.kh = pw.kw = pw.sh = pw.sw = pw.dh = pw.dw = 1;
        for (int i = 0; i < n; i++) {
            const float *xi = x + (int64_t)i * p->numel;
            float *gi = g + (int64_t)i * s->numel;
            if (nchw) {
                kern_depthwise_nchw(&s->win, s->mult, xi, 1, s->w, &none, ws);
                kern_conv2d_nchw(&pw, 1, s->cout, ws, 1, s->w2, &e, gi, ws + rows * cm);
            } else {
                kern_depthwise(&s->win, s->mult, xi, 1, s->w, &none, ws);
                kern_dense(ws, rows, cm, s->w2, s->cout, &e, gi);
            }
        }
        break;
    }
    case K2T_OP_CONV_TRANSPOSE:
        kern_conv2d_transpose(&s->win, s->cout, (int)s->shape.d[0], (int)s->shape.d[1], s->crop_t,
                              s->crop_l, x, n, s->w, &e, g, ws);
        break;
    case K2T_OP_DENSE: {
        int in = (int)(p->numel / (s->numel / s->cout));
        if (r->o.emu.layout == K2T_LAYOUT_NCHW && !nhwc) kern_linear(x, total / s->cout, in, s->w, s->cout, &e, g);
        else kern_dense(x, total / s->cout, in, s->w, s->cout, &e, g);
        break;
    }
    case K2T_OP_BATCHNORM: {
        if (s->bn_batch) {
            /* Train mode: this batch's mean and (biased) variance. */
            step *w = (step *)s;
            double *mu = k2t_xmalloc((size_t)s->len * 2 * sizeof(double)), *var = mu + s->len;
            const k2t_weight *ga = wget(s->L, "gamma"), *be = wget(s->L, "beta");
            if (s->inner == 1) kern_channel_stats(x, n, (int)s->len, s->numel / s->len, nchw, mu, var);
            else kern_channel_stats(x, (int)(n * s->outer), (int)s->len, s->inner, 1, mu, var);
            for (int64_t k = 0; k < s->len; k++) {
                double sc = (ga ? ga->data[k] : 1.0) / sqrt(var[k] + s->eps);
                w->scale[k] = (float)sc;
                w->shift[k] = (float)((be ? be->data[k] : 0.0) - mu[k] * sc);
            }
            free(mu);
        }
        if (nchw) kern_scale_shift_nchw(x, n, (int)s->len, s->numel / s->len, s->scale, s->shift, y);
        else if (s->inner == 1) kern_scale_shift(x, total / s->len, (int)s->len, s->scale, s->shift, y);
        else kern_scale_shift_nchw(x, (int)(n * s->outer), (int)s->len, s->inner, s->scale, s->shift, y);
        break;
    }
    case K2T_OP_LAYERNORM: {
        const k2t_weight *ga = wget(s->L, "gamma"), *be = wget(s->L, "beta");
        kern_layernorm(x, (int64_t)n * s->outer, s->len, ga ? ga->data : NULL, be ? be->data : NULL,
                       (float)c->eps, y);
        break;
    }
    case K2T_OP_ACTIVATION:
        if (x != y) memcpy(y, x, (size_t)total * sizeof(float));
        if (c->act == K2T_ACT_SOFTMAX) {
            if (nchw) kern_softmax(y, n, C, hw);
            else kern_softmax(y, total / C, C, 1);
        } else {
            kern_act(y, total, c->act);
        }
        break;
    case K2T_OP_RELU:
        kern_relu(x, total, (float)c->threshold, c->has_max_value ? (float)c->max_value : NAN,
                  (float)c->negative_slope, y);
        break;
    case K2T_OP_LEAKY_RELU:
        kern_leaky_relu(x, total, (float)c->alpha, y);
        break;
    case K2T_OP_ELU:
        kern_elu(x, total, (float)c->alpha, y);
        break;
    case K2T_OP_PRELU:
        kern_prelu(x, n, s->numel, s->alpha, y);
        break;
    case K2T_OP_SOFTMAX:
        if (x != y) memcpy(y, x, (size_t)total * sizeof(float));
        kern_softmax(y, (int64_t)n * s->outer, s->len, s->inner);
        break;
    case K2T_OP_ADD: case K2T_OP_SUBTRACT: case K2T_OP_MULTIPLY:
    case K2T_OP_AVERAGE: case K2T_OP_MAXIMUM: case K2T_OP_MINIMUM:
        kern_merge(merge_of(s->op), xs, s->n_in, total, y);
        break;
    case K2T_OP_CONCATENATE: {
        int64_t lens[64], outer, len, inner;
        int ax = (int)s->len;
        axis_split(&s->shape, ax, &outer, &len, &inner);
        for (int j = 0; j < s->n_in && j < 64; j++) lens[j] = r->s[s->in[j]].shape.d[ax];
        kern_concat(xs, lens, s->n_in, (int64_t)n * outer, inner, y);
        break;
    }
    case K2T_OP_FLATTEN: {
        /* Only when the order changes (otherwise the step is a view). */
        int pc = (int)p->shape.d[p->shape.ndim - 1];
        int64_t phw = p->numel / pc;
        if (s->chw_order) kern_to_nchw(x, n, phw, pc, y);   /* HWC data, CHW order wanted */
        else kern_to_nhwc(x, n, pc, phw, y);                /* CHW data, HWC order wanted */
        break;
    }
    case K2T_OP_RESHAPE:
        if (x != y) memcpy(y, x, (size_t)total * sizeof(float));
        break;
    case K2T_OP_PERMUTE: {
        int perm[K2T_MAX_DIMS];
        for (int i = 0; i < c->n_dims; i++) perm[i] = c->dims[i] - 1;
        kern_permute(x, n, p->shape.ndim, p->shape.d, perm, y);
        break;
    }
    case K2T_OP_ZEROPAD:
        kern_pad2d(x, n, (int)p->shape.d[0], (int)p->shape.d[1], (int)p->shape.d[2],
                   c->pad[0][0], c->pad[0][1], c->pad[1][0], c->pad[1][1], y);
        break;
    case K2T_OP_CROP:
        kern_pad2d(x, n, (int)p->shape.d[0], (int)p->shape.d[1], (int)p->shape.d[2],
                   -c->pad[0][0], -c->pad[0][1], -c->pad[1][0], -c->pad[1][1], y);
        break;
    case K2T_OP_UPSAMPLE:
        kern_upsample2d(x, n, (int)p->shape.d[0], (int)p->shape.d[1], (int)p->shape.d[2],
                        c->size[0], c->size[1], c->bilinear, y);
        break;
    case K2T_OP_MAXPOOL:
        if (nchw) kern_maxpool_nchw(&s->win, x, n, y);
        else kern_maxpool(&s->win, x, n, y);
        break;
    case K2T_OP_AVGPOOL:
        if (nchw) kern_avgpool_nchw(&s->win, s->count_pad, x, n, y);
        else kern_avgpool(&s->win, s->count_pad, x, n, y);
        break;
    case K2T_OP_GLOBAL_MAXPOOL:
    case K2T_OP_GLOBAL_AVGPOOL: {
        int ch = (int)p->shape.d[p->shape.ndim - 1];
        if (p->nchw && !nhwc) kern_global_pool_nchw(ch, p->numel / ch, s->op == K2T_OP_GLOBAL_MAXPOOL, x, n, y);
        else kern_global_pool(p->numel / ch, ch, s->op == K2T_OP_GLOBAL_MAXPOOL, x, n, y);
        break;
    }
    case K2T_OP_RESCALING:
        kern_affine(x, total, (float)c->rescale, (float)c->offset, y);
        break;
    default:
        break;
    }
    if (g != y) {
        /* The activation after a kept pre-activation. */
        memcpy(y, g, (size_t)total * sizeof(float));
        k2t_epi a = {0};
        a.act = s->epi.act;
        if (nchw) kern_epilogue_nchw(y, n, C, hw, &a);
        else kern_epilogue(y, total / C, C, &a);
    }
}

/* An NCHW step without an NCHW kernel: each sample's inputs converted to
** Keras's layout, the Keras kernel, the output converted back. */
static void run_fallback(const k2t_run *r, const step *s, int n0, int n1, int t)
{
    /* ws: [kernel scratch][inputs, Keras layout][output][pre-activation] */
    float *ws = r->ws[t];
    int64_t kws = s->ws - 2 * s->numel;
    const float *xs[64];
    for (int j = 0; j < s->n_in && j < 64; j++) kws -= r->s[s->in[j]].numel;
    float *cur = ws + kws;
    float *ins[64];
    for (int j = 0; j < s->n_in && j < 64; j++) {
        ins[j] = cur;
        cur += r->s[s->in[j]].numel;
    }
    float *o = cur, *pg = s->pre_off >= 0 ? cur + s->numel : o;
    int c = (int)s->shape.d[s->shape.ndim - 1];
    for (int i = n0; i < n1; i++) {
        for (int j = 0; j < s->n_in && j < 64; j++) {
            const step *q = &r->s[s->in[j]];
            const float *xq = buf(r, q, n0, t) + (int64_t)(i - n0) * q->numel;
            if (q->nchw) {
                int qc = (int)q->shape.d[q->shape.ndim - 1];
                kern_to_nhwc(xq, 1, qc, q->numel / qc, ins[j]);
                xs[j] = ins[j];
            } else {
                xs[j] = xq;
            }
        }
        exec_op(r, s, xs, 1, o, pg, ws, 1);
        float *y = buf(r, s, n0, t) + (int64_t)(i - n0) * s->numel;
        float *yp = s->pre_off >= 0 ? r->arena + s->pre_off + (int64_t)i * s->numel : NULL;
        if (s->nchw) {
            kern_to_nchw(o, 1, s->numel / c, c, y);
            if (yp) kern_to_nchw(pg, 1, s->numel / c, c, yp);
        } else {
            memcpy(y, o, (size_t)s->numel * sizeof(float));
            if (yp) memcpy(yp, pg, (size_t)s->numel * sizeof(float));
        }
    }
}

/* Run step s on samples [n0, n1) for thread t. */
static void run_step(const k2t_run *r, const step *s, int n0, int n1, int t)
{
    int n = n1 - n0;
    if (n <= 0 || s->skip) return;
    if (s->fallback) {
        run_fallback(r, s, n0, n1, t);
        return;
    }
    const float *xs[64];
    for (int j = 0; j < s->n_in && j < 64; j++) xs[j] = buf(r, &r->s[s->in[j]], n0, t);
    float *y = buf(r, s, n0, t);
    /* With a kept pre-activation, the GEMM writes there and the activation
    ** goes from there to y. */
    float *g = s->pre_off >= 0 ? r->arena + s->pre_off + (int64_t)n0 * s->numel : y;
    exec_op(r, s, xs, n, y, g, r->ws[t], 0);
}

typedef struct job {
    const k2t_run *r;
    int from, to, n0, n1, t;
    int stopped;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    for (int i = j->from; i < j->to; i++) {
        if (k2t_interrupted) { j->stopped = 1; break; }
        run_step(j->r, &j->r->s[i], j->n0, j->n1, j->t);
    }
    return NULL;
}

k2t_status k2t_run_nodes(k2t_run *r, int from, int to, k2t_err *err)
{
    if (r->batch < 1) return k2t_fail(err, K2T_EARG, "no input has been set");
    if (from < 0) from = 0;
    if (to > r->n) to = r->n;
    for (int i = from; i < to; i++)
        for (int j = 0; j < r->s[i].n_in; j++)
            if (r->s[i].in[j] < from && !r->ran[r->s[i].in[j]])
                return k2t_fail(err, K2T_EARG, "layer '%s' needs '%s', which has not run",
                                r->m->nodes[i].name, r->m->nodes[r->s[i].in[j]].name);
    int T = r->threads < r->batch ? r->threads : r->batch;
    job jobs[64];
    pthread_t tid[64];
    int started[64] = {0};
    for (int t = 0; t < T; t++) {
        jobs[t] = (job){r, from, to, (int)((int64_t)r->batch * t / T),
                        (int)((int64_t)r->batch * (t + 1) / T), t, 0};
        if (t > 0) started[t] = pthread_create(&tid[t], NULL, worker, &jobs[t]) == 0;
    }
    worker(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else worker(&jobs[t]); /* no thread: do its share here */
    }
    int stopped = 0;
    for (int t = 0; t < T; t++) stopped |= jobs[t].stopped;
    if (stopped) {
        memset(r->ran, 0, (size_t)r->n * sizeof *r->ran);
        return k2t_fail(err, K2T_EINTERRUPTED, "interrupted");
    }
    for (int i = from; i < to; i++) r->ran[i] = 1;
    return K2T_OK;
}

const k2t_tensor *k2t_run_output(const k2t_run *r, int node)
{
    if (node < 0 || node >= r->n || !r->ran[node]) return NULL;
    const step *s = &r->s[node];
    k2t_run *w = (k2t_run *)r;
    if (!r->o.keep && !r->m->nodes[node].is_output && r->m->layers[r->m->nodes[node].layer].op != K2T_OP_INPUT)
        return NULL;
    k2t_tensor *t = &w->out[node];
    t->shape.ndim = s->nshape.ndim + 1;
    t->shape.d[0] = r->batch;
    for (int i = 0; i < s->nshape.ndim; i++) t->shape.d[i + 1] = s->nshape.d[i];
    t->data = r->arena + s->out_off;
    return t;
}

const k2t_tensor *k2t_run_preact(const k2t_run *r, int node)
{
    if (node < 0 || node >= r->n || !r->ran[node] || r->s[node].pre_off < 0) return NULL;
    const step *s = &r->s[node];
    k2t_tensor *t = &((k2t_run *)r)->pre[node];
    t->shape.ndim = s->nshape.ndim + 1;
    t->shape.d[0] = r->batch;
    for (int i = 0; i < s->nshape.ndim; i++) t->shape.d[i + 1] = s->nshape.d[i];
    t->data = r->arena + s->pre_off;
    return t;
}

const k2t_opts *k2t_run_opts(const k2t_run *r) { return &r->o; }

/* The Keras shape of the vector a CHW-ordered Flatten step received. */
static const step *flatten_source(const k2t_run *r, const step *s)
{
    while (s->n_in && s->op != K2T_OP_FLATTEN) s = &r->s[s->in[0]];
    return s->n_in ? &r->s[s->in[0]] : NULL;
}

k2t_status k2t_run_keras(const k2t_run *r, int node, int preact, float *dst, k2t_err *err)
{
    const k2t_tensor *t = preact ? k2t_run_preact(r, node) : k2t_run_output(r, node);
    if (!t) return k2t_fail(err, K2T_EARG, "layer '%s' has not been computed", r->m->nodes[node].name);
    const step *s = &r->s[node];
    int n = r->batch;
    if (s->nchw) {
        int c = (int)s->shape.d[s->shape.ndim - 1];
        kern_to_nhwc(t->data, n, c, s->numel / c, dst);
    } else if (s->chw_order) {
        const step *src = flatten_source(r, s);
        int c = src ? (int)src->shape.d[src->shape.ndim - 1] : 1;
        kern_to_nhwc(t->data, n, c, s->numel / c, dst);
    } else {
        memcpy(dst, t->data, (size_t)n * (size_t)s->numel * sizeof(float));
    }
    return K2T_OK;
}

k2t_status k2t_run_inject(k2t_run *r, int node, const float *src, k2t_err *err)
{
    if (node < 0 || node >= r->n) return k2t_fail(err, K2T_EARG, "no node %d", node);
    if (r->batch < 1) return k2t_fail(err, K2T_EARG, "no input has been set");
    const step *s = &r->s[node];
    if (s->local) return k2t_fail(err, K2T_EARG, "the fast path keeps no buffer for '%s'", r->m->nodes[node].name);
    float *y = r->arena + s->out_off;
    int n = r->batch;
    if (s->nchw) {
        int c = (int)s->shape.d[s->shape.ndim - 1];
        kern_to_nchw(src, n, s->numel / c, c, y);
    } else if (s->chw_order) {
        const step *fs = flatten_source(r, s);
        int c = fs ? (int)fs->shape.d[fs->shape.ndim - 1] : 1;
        kern_to_nchw(src, n, s->numel / c, c, y);
    } else {
        memcpy(y, src, (size_t)n * (size_t)s->numel * sizeof(float));
    }
    r->ran[node] = 1;
    return K2T_OK;
}
