/*
** internal.h -- declarations shared inside the engine, never outside it.
**
** The op table (one k2t_op_def per Keras layer family, engine/ops/<family>.c),
** the JSON config readers every op uses, and a growable string buffer.
*/
#ifndef K2T_ENGINE_INTERNAL_H
#define K2T_ENGINE_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include "k2t.h"

#define K2T_MAX_WEIGHTS 8        /* weights per layer an op can expect */
#define K2T_MAX_NUMEL (1LL << 31) /* largest tensor (elements) k2t accepts */

/*------------------------------------------------------- string buffer */

typedef struct k2t_buf {
    char *p;      /* NUL-terminated; owned, free with free() */
    size_t len;
    size_t cap;
} k2t_buf;

void k2t_buf_printf(k2t_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void k2t_buf_vprintf(k2t_buf *b, const char *fmt, va_list ap);

/*------------------------------------------------------- config readers */

/* Each reader takes the layer's "config" object and a key.  Absent or
** null keys give the default.  A value of the wrong type is an error
** (K2T_EFORMAT) whose message names the key; the loader prefixes the
** file and layer.  Values are loosely typed as Python's json writes
** them: true/1, [3]/3. */
k2t_status cfg_int(json_t *c, const char *key, int def, int *out, k2t_err *err);
k2t_status cfg_bool(json_t *c, const char *key, int def, int *out, k2t_err *err);
k2t_status cfg_double(json_t *c, const char *key, double def, double *out, k2t_err *err);
/* A wrapper's 'layer' (Bidirectional, TimeDistributed): its class name and config. */
k2t_status cfg_wrapped(json_t *c, const char **cls, json_t **cfg, k2t_err *err);
/* A string value; returns def when absent.  The pointer is into 'c'. */
k2t_status cfg_str(json_t *c, const char *key, const char *def, const char **out, k2t_err *err);
/* An int or a list of n ints ("kernel_size": 3 or [3, 3]) into out[n]. */
k2t_status cfg_ints(json_t *c, const char *key, int n, int def, int *out, k2t_err *err);
/* A list of ints of any length (axis lists, dims); an int gives one. */
k2t_status cfg_int_list(json_t *c, const char *key, int *out, int max, int *n, k2t_err *err);
/* "padding" / "data_format" / "activation" in one place. */
k2t_status cfg_padding(json_t *c, const char *key, k2t_pad *out, k2t_err *err);
k2t_status cfg_channels_first(json_t *c, int *out, k2t_err *err);
k2t_status cfg_activation(json_t *c, const char *key, int keras_major, k2t_act *out,
                          char **unsupported, k2t_err *err);
/* The class name of an initializer object ("GlorotUniform"), or "" */
void cfg_initializer(json_t *c, const char *key, char *out, size_t n);

/* Parse a Keras activation name. Returns 0 and sets *out, or -1. */
int k2t_act_parse(const char *name, int keras_major, k2t_act *out);

/*------------------------------------------------------------- op table */

typedef struct k2t_wspec {
    const char *name;   /* Keras variable name: "kernel" */
    const char *alt;    /* another name for it (Keras 3 DepthwiseConv2D "kernel"), or NULL */
    k2t_shape shape;    /* -1 where the input shape leaves it unknown */
    int trainable;
} k2t_wspec;

/* How a Keras weight becomes its PyTorch parameter: the PyTorch tensor is
** torch.from_numpy(keras).permute(perm) then .reshape(shape).  The op
** declares it (its 'torch' callback); export converts with it, the NCHW
** executor prepares its kernels with it, the forgotten-transpose emulation
** undoes it, and the transpose pitfall prints it as the fix. */
typedef struct k2t_tw {
    const char *suffix;        /* "weight", "depthwise.weight", "running_mean" */
    k2t_shape shape;           /* PyTorch's shape */
    int perm[K2T_MAX_DIMS];    /* PyTorch axis i is Keras axis perm[i] (before the reshape) */
    int n_perm;                /* 0: no permutation (values in order, reshaped) */
    const char *keras_axes;    /* "(kh, kw, in, out)": what Keras's axes are, or NULL */
    const char *torch_axes;    /* "(out, in, kh, kw)": PyTorch's */
    int row;                   /* 1 + the index along Keras's axis 0 taken first (perm then
                               ** refers to the remaining axes); 0: the whole weight */
    int blocks;                /* > 1: PyTorch's axis 0 is 'blocks' equal parts, its part i */
    int order[4];              /* being part order[i] of the rearranged weight (GRU's gates) */
} k2t_tw;

/* The PyTorch parameter of weight wi of L by its op, or -1 (none). */
int k2t_layer_tw(const k2t_layer *L, int wi, k2t_tw *tw);
/* out (numel floats) = w's values as PyTorch's tensor. */
void k2t_tw_apply(const k2t_weight *w, const k2t_tw *tw, float *out);
/* The number of values tw makes of w (w's, or one row's). */
int64_t k2t_tw_numel(const k2t_weight *w, const k2t_tw *tw);
/* The forgotten transpose: w's buffer read as PyTorch's tensor without the
** permutation, written back in Keras's layout (what a Keras-layout kernel
** must hold to compute what that port computes). */
void k2t_tw_misread(const k2t_weight *w, const k2t_tw *tw, float *out);
/* The PyTorch expression that turns the Keras array into the parameter:
** ".permute(3, 2, 0, 1)", ".T", ".permute(2, 3, 0, 1).reshape(16, 1, 3, 3)",
** "" when none is needed.  Returns buf. */
char *k2t_tw_code(const k2t_weight *w, const k2t_tw *tw, char *buf, size_t n);

/* The rearrangement of w (a permutation of its axes, then a reshape to ts)
** that equals t, into *found; 0 when none does.  Does t hold PyTorch's
** initial values for w (fan_in: of the layer's kernel)?  Describes them. */
int k2t_tw_search(const k2t_weight *w, const float *t, const k2t_shape *ts, k2t_tw *found);
int k2t_tw_init_like(const k2t_weight *w, const float *t, int64_t n, int64_t fan_in, char *buf, size_t bn);

/* The state of one node's hazard check (engine/diagnose.c).  An op's
** 'hazards' callback reports what is particular to its kind through
** k2t_hz_say/k2t_hz_code, and calls the shared checks below. */
typedef struct k2t_hz {
    const k2t_model *m;
    int node;
    const k2t_layer *L;
    const k2t_node *N;
    const k2t_shape *in;      /* its first input's Keras shape, or NULL */
    unsigned mask;            /* pitfalls wanted (K2T_PIT_BIT) */
    const k2t_emu *port;      /* the port's conventions */
    const k2t_emu *ref;       /* the reference run's (Keras's semantics; its preprocessing) */
    const k2t_diag *d;
    k2t_finding *out;
    int n, max;
    int shown;                /* the last k2t_hz_say was kept: k2t_hz_code appends to it */
} k2t_hz;

int k2t_hz_wants(const k2t_hz *h, k2t_pit p);
/* A finding of pitfall p at this node: hazard 1, or 0 for "looks risky, is fine". */
void k2t_hz_say(k2t_hz *h, k2t_pit p, int hazard, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A line of PyTorch code under the last finding. */
void k2t_hz_code(k2t_hz *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Shared checks: 'same'/'causal' padding of a window op (kind 'c' a
** convolution, 'm' max pooling, 'a' average pooling; its fix uses the op's
** 'module', the constructor export writes); an activation PyTorch computes
** otherwise; a model output that ends in softmax; the Flatten orders
** feeding a Dense. */
void k2t_hz_window(k2t_hz *h, int kind);
void k2t_hz_act(k2t_hz *h, k2t_act act);
/* Keras's masks over the graph (K2T_OPF_MASK_*), in one pass over the
** nodes: out[i] = the node whose mask node i's output carries (a maker:
** Masking, Embedding mask_zero), in[i] = the one reaching its inputs;
** -1 for none.  Either array may be NULL. */
void k2t_mask_sources(const k2t_model *m, int *out, int *in);
void k2t_hz_softmax_out(k2t_hz *h);
void k2t_hz_flatten(k2t_hz *h);
/* At the model's input: the training preprocessing its first
** BatchNormalization's statistics reveal (k2t_infer_input_scale). */
void k2t_hz_input_scale(k2t_hz *h);
/* Is this node the model's first BatchNormalization (and how many are there)? */
int k2t_hz_first_bn(const k2t_hz *h, int *n_bn);
/* Was Flatten node f already reported through the Dense that reads it? */
int k2t_hz_flat_seen(const k2t_hz *h, int f);
/* Small formatters for hazard texts. */
void k2t_cat(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *k2t_pair(char *buf, size_t n, int rank, int h, int w);  /* "3" or "(3, 1)" */
const char *k2t_perm_str(char *buf, size_t n, int r, int to_last);  /* permute(0, 2, 3, 1) */
int k2t_axis0(int a, int ndim);   /* Keras axis (batch counted) -> per-sample index, or -1 */
int k2t_shape_known(const k2t_shape *s);
/* A tensor of the PyTorch module that the Keras layer has no weight for
** (BatchNorm's filled-in gamma and beta, num_batches_tracked). */
typedef struct k2t_xt {
    const char *suffix;   /* "weight", "num_batches_tracked" */
    k2t_shape shape;      /* PyTorch's shape (ndim 0: a scalar) */
    float fill;           /* every value (float32 tensors) */
    int i64;              /* an int64 zero instead of float32 values */
    int wi1;              /* > 0: the values are weight wi1-1 of the layer through tw */
    k2t_tw tw;
} k2t_xt;

#define K2T_MAX_XT 4 /* extra tensors per layer */

/* What an op is, for the code that treats ops alike (k2t_op_def.flags). */
#define K2T_OPF_MODULE (1u << 0)      /* with weights, a torch module attribute holds them */
#define K2T_OPF_KEEPS_ORDER (1u << 1) /* elementwise: a CHW-ordered vector may pass through it unchanged */
#define K2T_OPF_FLATTENS (1u << 2)    /* flattens its input to a vector (Flatten; Reshape for the
                                      ** flatten hazard) */
#define K2T_OPF_FEATURES (1u << 3)    /* reads a vector through the rows of its weight "kernel"
                                      ** (in, ...), whose PyTorch tensor is (out, in): Dense */
#define K2T_OPF_WINDOW (1u << 4)      /* a conv/pool window with TF's pads (k2t_layer_win);
                                      ** its module, if any, takes padding= */
#define K2T_OPF_CONCAT (1u << 5)      /* joins its inputs along an axis (Concatenate) */
#define K2T_OPF_MERGE (1u << 6)       /* merges several inputs (Add ... Minimum, Concatenate) */
#define K2T_OPF_ACTIVATION (1u << 7)  /* an elementwise activation layer (ends a residual block) */
/* A graph input: its buffer is filled by k2t_run_set_input; no plan,
** no forward, and its buffer is never reused or written in place. */
#define K2T_OPF_INPUT (1u << 8)
/* A GEMM-like producer (convolutions, Dense): forward computes through
** f->epi (s->epi: per-channel bias, scale and activation), so the fast
** path may fold a following K2T_OPF_AFFINE step and an activation
** (as_act) into s->epi.  Its plan sets s->epi.act to its own
** activation; a kept pre-activation is written to f->g. */
#define K2T_OPF_GEMM (1u << 9)
/* Unary elementwise: the fast path may compute it in its input's
** buffer (f->x[0] == f->y) when that input has no other reader. */
#define K2T_OPF_INPLACE (1u << 10)
/* Handles the NCHW layout itself (NCHW kernels when f->nchw, or it does
** not depend on the layout); its plan sets s->fallback when some case
** needs Keras's layout.  Without this flag, under layout NCHW, the
** executor runs the op's Keras kernel between layout conversions
** whenever its output or an input is held NCHW. */
#define K2T_OPF_NCHW (1u << 11)
/* Its output is x * s->scale[c] + s->shift[c] over axis (s->outer, s->len,
** s->inner) unless s->bn_batch (BatchNormalization): a GEMM before it may
** absorb it (s->len channels) when that axis is the GEMM's channels: the
** last (inner == 1), or the first of a channels_first one (outer == 1). */
#define K2T_OPF_AFFINE (1u << 12)
/* Its weights are matched by position: the file names them by paths that
** vary (Bidirectional: forward_lstm/lstm_cell/kernel, backward_...).  When
** the counts agree they take the spec's names, the file's "backward_"
** ones after the others. */
#define K2T_OPF_POSITIONAL (1u << 13)
/* Keras's masks (padding steps of a sequence, one flag per step of input
** 0's first axis): MASK_MAKE ops may make one (when L->cfg.makes_mask:
** Masking, Embedding mask_zero) into f->mask_out; MASK_PASS ops hand
** input 0's on unchanged (Keras's supports_masking: Dense, BN,
** activations, Dropout); MASK_USE ops read it (f->mask: the recurrent
** layers) and pass it on when they return sequences; MASK_REFUSE ops
** would use it in a way k2t does not compute (merges, average pooling),
** so a run refuses them.  Other ops drop it, as Keras 3 does. */
#define K2T_OPF_MASK_MAKE (1u << 14)
#define K2T_OPF_MASK_PASS (1u << 15)
#define K2T_OPF_MASK_USE (1u << 16)
#define K2T_OPF_MASK_REFUSE (1u << 17)
/* Its output is its (H, W, C) input with L->cfg.pad zeros around H and W
** (ZeroPadding2D): a window op with fold_pad may read its input instead,
** the zeros taken as part of its own padding. */
#define K2T_OPF_ZERO_PAD (1u << 18)
/* Its output is input 0 + input 1 elementwise (Add of two same-shaped
** inputs, kern_merge's a + b): a GEMM producing one of them may add the
** other in its output pass (k2t_epi.res, the residual of a ResNet block). */
#define K2T_OPF_SUM (1u << 19)


typedef struct k2t_py k2t_py; /* export's Python writer (engine/py.h) */
/* Execution (engine/op.h). */
typedef struct k2t_step k2t_step;
typedef struct k2t_plan_ctx k2t_plan_ctx;
typedef struct k2t_fwd k2t_fwd;

typedef struct k2t_op_def {
    k2t_op op;
    const char *const *classes; /* Keras class names, NULL-terminated */
    int min_in, max_in;         /* number of inputs accepted (max -1: any) */
    unsigned flags;             /* K2T_OPF_* */
    const char *const *torch_modules; /* PyTorch module classes that compute it, NULL-terminated */
    /* Fill L->cfg from the "config" object.  May set L->unsupported (a
    ** valid layer k2t cannot execute).  On a malformed config returns an
    ** error whose message names the key. */
    k2t_status (*parse)(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err);
    /* Output shape from input shapes (each fully known ndim >= 0, dims
    ** may be -1).  Errors name the mismatch. */
    k2t_status (*infer)(const k2t_layer *L, const k2t_shape *in, int n_in,
                        k2t_shape *out, k2t_err *err);
    /* Calls returning several tensors (an RNN's return_state, a
    ** Bidirectional without merge): how many tensors after the first
    ** (0 or NULL: one) and, with out, tensor j's shape (1 <= j <= that)
    ** from the first's.  The loader makes a node per extra tensor (its
    ** 'part', named "name:j"), which forward() fills through f->parts. */
    int (*parts)(const k2t_layer *L, const k2t_shape *first, int j, k2t_shape *out);
    /* Expected weights in Keras's order for this input shape; returns
    ** their number.  NULL for weightless ops. */
    int (*weights)(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec);
    /* The typed config as "k=v, k=v". */
    void (*describe)(const k2t_layer *L, k2t_buf *b);
    /* Weight wi's PyTorch parameter (suffix, shape, layout map); returns
    ** -1 when it has none.  NULL: no weights. */
    int (*torch)(const k2t_layer *L, int wi, k2t_tw *tw);
    /* Report the port hazards particular to this kind (k2t_hz_say); the
    ** generic ones (kernel layouts, unsupported) come from diagnose.c.
    ** NULL: none. */
    void (*hazards)(k2t_hz *h);
    /* Its moving statistics make train and eval mode differ (BatchNorm). */
    int mode_stats;

    /* PyTorch export (engine/export.c, helpers in engine/py.h). */
    /* The PyTorch module constructor for L on input 'in' (per-sample
    ** Keras shape), with symmetric padding (ph, pw) written into it:
    ** "nn.Conv2d(3, 16, 3, stride=2, padding=0)".  Only non-default
    ** arguments, plus padding always for windowed layers.  Returns the
    ** length written, or -1 (no module for this layer or input).  NULL
    ** for ops without a module. */
    int (*module)(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n);
    /* __init__'s line(s) for layer li when the default does not do:
    ** "self.ATTR = MODULE  # Class" (MODULE from k2t_py_module).  NULL:
    ** the default. */
    k2t_status (*py_init)(k2t_py *y, int li, k2t_err *err);
    /* forward()'s lines for node i (export has written its comment line).
    ** NULL: the op has no PyTorch translation. */
    k2t_status (*py_forward)(k2t_py *y, int i, k2t_err *err);
    /* Tensors the torch module has and Keras's layer lacks, into x
    ** (K2T_MAX_XT), their number in *n.  Errors name the layer. */
    k2t_status (*extra_tensors)(const k2t_layer *L, k2t_xt *x, int *n, k2t_err *err);
    /* Why L cannot be exported when its first call reads 'in' (NULL when
    ** not called), or NULL when it can. */
    const char *(*unexportable)(const k2t_layer *L, const k2t_shape *in);
    /* Plan one node: geometry, prepared weights, epilogue, workspace; may
    ** set s->alias, s->fallback, s->chw_order.  NULL: nothing to plan. */
    k2t_status (*plan)(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err);
    /* Compute the step for f->n samples.  NULL (and no K2T_OPF_INPUT):
    ** k2t cannot execute the layer. */
    void (*forward)(const k2t_step *s, const k2t_fwd *f);
    /* 1 and *act when the layer is nothing but activation *act over its
    ** input (K2T_ACT_SOFTMAX: a softmax over the layer's axis, which the
    ** fast path never folds); 0 otherwise.  NULL: never. */
    int (*as_act)(const k2t_layer *L, k2t_act *act);
    /* A window op whose padding reads zeros, as a K2T_OPF_ZERO_PAD step
    ** before it writes them: set s->win_fold to s->win read from that
    ** step's input (shape src, (H, W, C)) with pad[0] = (top, bottom),
    ** pad[1] = (left, right) more padding, and grow s->ws to what the
    ** kernels need for it.  NULL: no fold. */
    void (*fold_pad)(k2t_step *s, const int pad[2][2], const k2t_shape *src);
    /* A recurrent kind's gates, in Keras's block order (the blocks of its
    ** weights' last axis): their names in Keras and in PyTorch (GRU's "h"
    ** is nn.GRU's "n") and what each does, into g->keras, g->torch,
    ** g->role and g->module; returns their number.  Where PyTorch keeps
    ** each block is not said here: k2t_layer_gates (tw.c) reads it from
    ** the weights' k2t_tw.  NULL: no gates. */
    int (*gates)(const k2t_layer *L, k2t_gates *g);
} k2t_op_def;

/* Does the model compute channels first (a layer other than Flatten has
** data_format channels_first: the Theano-era Keras 2 and some Keras 3
** models)?  Its tensors are then (C, ...) in Keras as in PyTorch: a port
** holds them as Keras does, and flattens them in the same order unless
** the Flatten itself says channels_first (engine/plan.c). */
int k2t_model_chw(const k2t_model *m);

/* Node i's output shape from its inputs' shapes 'in' (for a part: the
** first tensor's shape): the op's infer, or its parts(). */
k2t_status k2t_node_infer(const k2t_model *m, int i, const k2t_shape *in, k2t_shape *out, k2t_err *err);

/* The op for a Keras class name (after aliasing), or NULL. */
const k2t_op_def *k2t_op_lookup(const char *class_name);
const k2t_op_def *k2t_op_def_of(k2t_op op);

/* Helpers for ops. */
k2t_shape k2t_shape_make(int ndim, ...);
int k2t_norm_axis(int axis, int ndim); /* -1 -> ndim-1; returns -1 if out of range */
/* Output length of a windowed op along one dim, TF rules; -1 for unknown
** input.  Returns -2 when the window does not fit ('valid' too small). */
int64_t k2t_window_out(int64_t in, int k, int s, int d, k2t_pad pad);

/*------------------------------------------ op helpers (engine/config.c) */

/* K2T_EFORMAT "config key 'KEY' is missing" unless 'c' has a non-null KEY. */
k2t_status cfg_require(json_t *c, const char *key, k2t_err *err);
/* Check a shape an op computed before anything is sized by it: every dim
** is -1 or in 0..K2T_MAX_NUMEL, the known elements at most K2T_MAX_NUMEL.
** 'what' names it in the message ("output", "kernel").  K2T_OK or
** K2T_ENOMEM; the products are checked before they are formed. */
k2t_status k2t_shape_check(const k2t_shape *s, const char *what, k2t_err *err);
/* Record why k2t cannot execute L (a valid layer it does not handle).
** The first reason wins; L owns a k2t_xstrdup'ed copy. */
void k2t_set_unsupported(k2t_layer *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "valid", "same", "causal". */
const char *k2t_pad_name(k2t_pad p);

/* Load 'path' in this process, with no containment (contain.c's
** k2t_model_load probes it in a child first). */
k2t_model *k2t_model_load_here(const char *path, k2t_err *err);

/*------------------------------------------------ .keras archives (keras3.c) */

/* Does 'path' start with a zip local header (PK\3\4)?  By content, never
** by extension: a .keras that is really HDF5 stays an H5 file. */
int k2t_is_zip(const char *path);

/* Keras's naming.to_snake_case of a class name: Conv2D -> conv2d,
** BatchNormalization -> batch_normalization, ReLU -> re_lu. */
void k2t_snake_case(const char *cls, char *out, size_t n);

typedef struct k2t_k3file {
    char *config;          /* config.json, NUL-terminated; owned */
    char *keras_version;   /* metadata.json's, or NULL; owned */
    int64_t fid;           /* model.weights.h5 opened from memory (an hid_t), or -1 */
} k2t_k3file;

/* Open a .keras archive: check every member name, read config.json and
** metadata.json, open model.weights.h5 from memory (no temporary file).
** On error returns non-OK with err naming the file and the member; a
** failed open leaves nothing to close.  Close with k2t_keras3_close. */
k2t_status k2t_keras3_open(const char *path, k2t_k3file *a, k2t_err *err);
void k2t_keras3_close(k2t_k3file *a);

/* Every group and dataset of the weights file by normalized path ('\'
** mapped to '/', _layer_checkpoint_dependencies to layers).  NULL with
** err set on failure; free with k2t_keras3_index_free. */
typedef struct k2t_k3index k2t_k3index;
k2t_k3index *k2t_keras3_index(int64_t fid, const char *path, k2t_err *err);
void k2t_keras3_index_free(k2t_k3index *ix);
/* The file's own path of the group (group=1) or dataset at 'norm', or NULL. */
const char *k2t_keras3_find(const k2t_k3index *ix, const char *norm, int group);
/* The datasets under group 'group' (normalized) in Keras's order: own
** vars/0..n-1 numerically, then sub-groups by name, recursively.  *real
** gets the file's paths, *rel the paths relative to the group ("vars/0",
** "cell/vars/1"); both malloc'ed arrays of malloc'ed strings (free each,
** then the array).  Returns the count. */
/* tf.keras 2.13-2.15 archives (_layer_checkpoint_dependencies): their
** saver met each layer with weights twice (as layer_with_weights-K and as
** layer-I), so such a layer used up two numbers of its class's counter. */
int k2t_keras3_legacy(const k2t_k3index *ix);
/* Does any dataset lie under normalized group 'group'? */
int k2t_keras3_has_data(const k2t_k3index *ix, const char *group);
int k2t_keras3_group_vars(const k2t_k3index *ix, const char *group, char ***real, char ***rel);

#endif /* K2T_ENGINE_INTERNAL_H */
