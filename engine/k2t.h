/*
** k2t.h -- the k2t engine: a Keras .h5 model as an inspectable graph.
**
** This is the only header that repl/ and commands/ include from the engine.
** The engine never prints and never exits: every fallible call returns a
** k2t_status and fills a k2t_err with one sentence that names the file,
** the layer and the weight at fault.  Out of memory for small, internal
** allocations aborts (k2t_xmalloc, as Redis's zmalloc does); sizes read
** from a file are checked before anything is allocated for them.
**
** A typical use:
**
**     k2t_err err;
**     k2t_model *m = k2t_model_load("resnet.h5", &err);
**     if (!m) { fprintf(stderr, "%s\n", err.msg); return 1; }
**     for (int i = 0; i < m->n_nodes; i++) { ... m->nodes[i].shape ... }
**     k2t_model_free(m);
**
** Shapes are Keras's: per sample, without the batch dimension, channels
** last (NHWC).  A dimension that is not known (None) is -1.
*/
#ifndef K2T_ENGINE_K2T_H
#define K2T_ENGINE_K2T_H

#include <stddef.h>
#include <stdint.h>

#define K2T_VERSION "0.1.0"
#define K2T_MAX_DIMS 8

/*----------------------------------------------------------------- errors */

typedef enum k2t_status {
    K2T_OK = 0,
    K2T_EIO,          /* cannot open or read a file */
    K2T_EFORMAT,      /* the file is not what it claims, or is inconsistent */
    K2T_ESHAPE,       /* a shape does not fit */
    K2T_EUNSUPPORTED, /* a valid construct k2t does not handle */
    K2T_ENOMEM,       /* a size read from a file is too large to allocate */
    K2T_EARG,         /* a bad argument from the caller */
    K2T_EINTERRUPTED  /* stopped by the interrupt flag */
} k2t_status;

typedef struct k2t_err {
    k2t_status status;
    char msg[1024]; /* one sentence, no trailing newline, no "error:" prefix */
} k2t_err;

/* Set 'err' to 'status' and a printf-formatted message; returns 'status'.
** 'err' may be NULL. */
k2t_status k2t_fail(k2t_err *err, k2t_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *k2t_status_name(k2t_status s);

/* Set by a SIGINT handler; long-running engine loops poll it between
** layers or batches and return K2T_EINTERRUPTED. */
extern volatile int k2t_interrupted;

/*----------------------------------------------------------------- memory */

/* Allocation that never returns NULL: on failure it prints one line to
** stderr and aborts.  Use for internal, bounded allocations only. */
void *k2t_xmalloc(size_t n);
void *k2t_xcalloc(size_t n, size_t size);
void *k2t_xrealloc(void *p, size_t n);
char *k2t_xstrdup(const char *s);

/* Write a file without ever losing what was there (the pattern of
** export.c's writer, reusable by every command that writes):
**   - an existing target is refused unless 'force';
**   - a directory, device, FIFO or socket is refused even with 'force';
**   - a symbolic link is replaced (with 'force'), never written through;
**   - fill() writes into a new temporary file in the target's directory
**     (created with O_EXCL), which is fsync'ed and renamed into place;
**   - on any failure only that temporary file is removed: the target is
**     byte-identical afterwards.
** Errors name the path.  Returns K2T_OK, or K2T_EIO / K2T_EARG with err
** set; fill's own error is passed through. */
#include <stdio.h>
typedef k2t_status (*k2t_fill_fn)(FILE *f, void *ctx, k2t_err *err);
k2t_status k2t_write_file_safe(const char *path, int force, k2t_fill_fn fill, void *ctx, k2t_err *err);
/* The same checks alone, for a caller that wants to refuse early (before
** computing what to write): K2T_OK when 'path' may be written. */
k2t_status k2t_check_write_target(const char *path, int force, k2t_err *err);

/* Open 'path' for reading only when it is a regular file: a directory is
** "is a directory", a FIFO, device or socket "is not a regular file", and
** a FIFO never blocks (it is opened non-blocking and checked with fstat
** before any read).  Returns a FILE* or NULL with err set. */
FILE *k2t_fopen_regular(const char *path, k2t_err *err);

/*----------------------------------------------------------------- shapes */

typedef struct k2t_shape {
    int ndim;                   /* 0 for a scalar; per sample, no batch */
    int64_t d[K2T_MAX_DIMS];    /* -1 where Keras has None */
} k2t_shape;

/* Does 'got' fit 'want' (same rank, equal dimensions; -1 in want, Keras's
** None, matches any)? */
int k2t_shape_fits(const k2t_shape *want, const k2t_shape *got);

/* Number of elements; -1 if any dimension is unknown. */
int64_t k2t_shape_numel(const k2t_shape *s);

/* The shape a PyTorch port holds for a Keras activation: channels move
** from last to first when the tensor has spatial dimensions (ndim >= 2). */
k2t_shape k2t_shape_nchw(const k2t_shape *s);

/* Format as "(None, 32, 32, 3)" (with_batch) or "(32,32,3)" into buf;
** returns buf. */
char *k2t_shape_str(const k2t_shape *s, int with_batch, char *buf, size_t n);

/*------------------------------------------------------------- layer kinds */

/* One op per Keras layer kind, listed once in engine/ops/ops.def; the
** class name in the file picks it (engine/ops/registry.c).  K2T_OP_UNSUPPORTED keeps a layer k2t cannot
** execute in the graph, inspectable, with its weights. */
typedef enum k2t_op {
    K2T_OP_NONE,          /* weights-only file: no architecture known */
#define K2T_OP(id, def, name) K2T_OP_##id,
#include "ops/ops.def"
#undef K2T_OP
    K2T_OP_UNSUPPORTED,   /* a class no op claims: kept, inspectable, not executed */
    K2T_OP_COUNT
} k2t_op;

const char *k2t_op_name(k2t_op op);
/* A merge layer (Add, Subtract, Multiply, Average, Maximum, Minimum,
** Concatenate); one that joins along an axis (Concatenate: its operands'
** shapes may differ there); an elementwise activation layer. */
int k2t_op_is_merge(k2t_op op);
int k2t_op_is_concat(k2t_op op);
int k2t_op_is_activation(k2t_op op);
/* Does a PyTorch module of class cls ("Conv2d", "ReLU6") compute layers of
** kind op (K2T_OP_COUNT: of any kind k2t knows)?  Does the kind hold weights? */
int k2t_op_torch_module(k2t_op op, const char *cls);
int k2t_op_has_weights(k2t_op op);
/* Is cls a PyTorch activation module ("ReLU6", "Sigmoid")? */
int k2t_torch_activation(const char *cls);
/* Does it turn its input into a vector in Keras's element order (Flatten)? */
int k2t_op_flattens(k2t_op op);

/* Keras activations by name.  hard_sigmoid differs between Keras 2
** (clip(0.2x+0.5)) and Keras 3 (clip(x/6+0.5)); the loader picks by the
** file's keras_version. */
typedef enum k2t_act {
    K2T_ACT_LINEAR,
    K2T_ACT_RELU,
    K2T_ACT_RELU6,
    K2T_ACT_SIGMOID,
    K2T_ACT_HARD_SIGMOID,   /* Keras 2 */
    K2T_ACT_HARD_SIGMOID3,  /* Keras 3 */
    K2T_ACT_TANH,
    K2T_ACT_SOFTMAX,
    K2T_ACT_SOFTPLUS,
    K2T_ACT_SOFTSIGN,
    K2T_ACT_ELU,
    K2T_ACT_SELU,
    K2T_ACT_SWISH,          /* also "silu" */
    K2T_ACT_GELU,           /* exact (erf) form, the activation default */
    K2T_ACT_EXPONENTIAL,
    K2T_ACT_LEAKY_RELU,     /* string "leaky_relu": slope 0.2 */
    K2T_ACT_HARD_SWISH,     /* Keras 3 hard_silu / hard_swish */
    K2T_ACT_COUNT
} k2t_act;

const char *k2t_act_name(k2t_act a);

typedef enum k2t_pad { K2T_PAD_VALID, K2T_PAD_SAME, K2T_PAD_CAUSAL } k2t_pad;

/* A layer's config, parsed into typed fields.  One struct for every kind
** (Darknet's fat layer): each op uses the fields its comment names and
** leaves the rest zero.  The JSON it came from stays in k2t_layer. */
typedef struct k2t_cfg {
    /* Convolutions and pooling (CONV, CONV_TRANSPOSE, DEPTHWISE, SEPARABLE,
    ** MAXPOOL, AVGPOOL, GLOBAL_*). */
    int rank;                /* spatial rank: 1 (Conv1D, *Pooling1D) or 2 */
    int filters;             /* output channels (CONV, CONV_TRANSPOSE, SEPARABLE) */
    int depth_multiplier;    /* DEPTHWISE, SEPARABLE */
    int groups;              /* CONV */
    int kernel[2];           /* kernel or pool size, [h, w] (rank 1: [l, 1]) */
    int strides[2];
    int dilation[2];
    k2t_pad padding;
    int has_output_padding;  /* CONV_TRANSPOSE */
    int output_padding[2];
    int channels_first;      /* data_format == "channels_first" */
    int keepdims;            /* GLOBAL_* */
    /* Dense */
    int units;
    /* Shared by layers with weights and a fused activation. */
    int use_bias;
    k2t_act act;             /* fused activation; ACTIVATION's function */
    /* Normalisation (BATCHNORM, LAYERNORM) */
    int axis;                /* BATCHNORM/SOFTMAX/CONCATENATE axis as written (may be < 0) */
    int dims[K2T_MAX_DIMS];  /* LAYERNORM axes, PRELU shared_axes, PERMUTE dims (1-based) */
    int n_dims;
    double eps;
    double momentum;
    int center, scale;
    /* Activation layers */
    double alpha;            /* LEAKY_RELU slope, ELU alpha */
    int has_max_value;       /* RELU */
    double max_value, negative_slope, threshold;
    /* Reshaping */
    int64_t target[K2T_MAX_DIMS]; /* RESHAPE target_shape (-1 allowed once) */
    int n_target;
    int pad[2][2];           /* ZEROPAD/CROP: [h|w][before|after] */
    int size[2];             /* UPSAMPLE */
    int bilinear;            /* UPSAMPLE interpolation == "bilinear" */
    /* Recurrent (SimpleRNN, LSTM, GRU) and Embedding */
    k2t_act rec_act;         /* recurrent_activation (gates) */
    int return_sequences, go_backwards, reset_after, return_state;
    int input_dim;           /* Embedding: vocabulary size */
    int makes_mask;          /* MASKING; EMBEDDING with mask_zero */
    double mask_value;       /* MASKING */
    int zero_output;         /* recurrent: zero_output_for_mask (masked steps output 0) */
    int inner_op;            /* BIDIRECTIONAL, TIME_DISTRIBUTED: the wrapped layer's kind (a k2t_op) */
    char inner_class[48];    /* TIME_DISTRIBUTED: the wrapped layer's class name ("Conv2D") */
    int merge;               /* BIDIRECTIONAL merge_mode: 0 concat, 1 sum, 2 mul, 3 ave, 4 None */
    /* Misc */
    double rate;             /* Dropout family: rate, GaussianNoise: stddev */
    double rescale, offset;  /* RESCALING */
    k2t_shape input_shape;   /* INPUT: per-sample shape from batch_input_shape */
    int has_input_shape;
    char initializer[48];    /* kernel (or depthwise) initializer class */
    char bias_initializer[48];
} k2t_cfg;

/*--------------------------------------------------------- window geometry */

/* Geometry of a 2-D window op (convolution or pooling) on NHWC tensors.
** 1-D ops (Conv1D, *Pooling1D) use ih = oh = 1, kh = sh = dh = 1, and
** pt = pb = 0. */
typedef struct k2t_win {
    int ih, iw, c;          /* input per sample: height, width, channels */
    int oh, ow;             /* output height, width */
    int kh, kw;             /* kernel (or pool) size */
    int sh, sw;             /* strides */
    int dh, dw;             /* dilation */
    int pt, pb, pl, pr;     /* padding: top, bottom, left, right */
} k2t_win;

/* Fill oh/ow and the pads of g (ih, iw, kh, kw, sh, sw, dh, dw set) by
** TensorFlow's rules: 'valid' no padding; 'same' out = ceil(in/s),
** pad_total = max((out-1)*s + k_eff - in, 0), the smaller half before
** (top/left), the remainder after; 'causal' (1-D) pads k_eff-1 on the
** left.  Returns 0, or -1 when the window does not fit. */
int k2t_win_tf(k2t_win *g, k2t_pad pad);

/* Symmetric PyTorch-style padding p (nn.Conv2d(padding=p)):
** out = floor((in + 2p - k_eff)/s) + 1.  Returns 0 or -1. */
int k2t_win_sym(k2t_win *g, int ph, int pw);

/*---------------------------------------------------------------- weights */

typedef struct k2t_weight {
    char *name;          /* variable name: "kernel", "moving_mean", ... */
    char *path;          /* HDF5 dataset path inside the file */
    k2t_shape shape;     /* Keras shape (ndim counts every axis) */
    int64_t size;        /* number of elements */
    float *data;         /* size floats, converted to float32; owned by the model */
    char dtype[16];      /* dtype in the file: "float32", "float64", "float16" */
    int trainable;       /* as Keras counts it: BN moving statistics are not */
} k2t_weight;

/*------------------------------------------------------------------ graph */

typedef struct k2t_layer {
    char *name;
    char *class_name;    /* as in the file ("Conv2D"), after aliasing */
    char *scope;         /* name of the nested model that holds it, NULL at top */
    k2t_op op;
    k2t_cfg cfg;
    char *config_json;   /* the layer's "config" object, compact JSON */
    char *unsupported;   /* why k2t cannot execute it, or NULL */
    int trainable;
    k2t_weight *w;       /* weights in Keras's order (weight_names) */
    int n_w;
    int n_calls;         /* graph nodes that call this layer (shared layers > 1) */
} k2t_layer;

typedef struct k2t_node {
    char *name;          /* the layer name; "name#k" for a shared layer's k-th call */
    int layer;           /* index into model->layers */
    int *in;             /* producer nodes (indices into model->nodes) */
    int n_in;
    int *out;            /* consumer nodes */
    int n_out;
    k2t_shape shape;     /* Keras output shape per sample (NHWC) */
    int is_output;       /* one of the model's outputs */
    int part;            /* 0; j > 0: output tensor j of the call in[0] (an LSTM's
                         ** return_state h and c), named "name:j", computed
                         ** by that call's node (the op's parts()) */
} k2t_node;

typedef struct k2t_model {
    char *path;          /* as given to k2t_model_load */
    char *keras_version; /* "2.4.0"; "" when absent */
    int keras_major;     /* 2 or 3 (1 refused) */
    char *backend;
    char *model_class;   /* "Functional", "Sequential", ... or NULL (weights only) */
    char *name;          /* the model's own name */
    int has_arch;        /* 0 for a weights-only file */
    int archive;         /* 1: read from a .keras zip archive, 0: a legacy .h5 */
    k2t_layer *layers;   /* every layer, nested ones flattened, in config order */
    int n_layers;
    k2t_node *nodes;     /* topological order: producers before consumers */
    int n_nodes;
    int *inputs;         /* input nodes, in input_layers order */
    int n_inputs;
    int *outputs;        /* output nodes, in output_layers order */
    int n_outputs;
    int64_t n_params;    /* every weight element */
    int64_t n_trainable;
    char **notes;        /* non-fatal remarks found while loading */
    int n_notes;
} k2t_model;

/* Load a Keras legacy .h5 (full model or weights only) or a .keras zip
** archive (Keras 3, or 2.13-2.15), told apart by their first bytes; an
** archive is read in memory, nothing is written.  Returns a model
** the caller frees with k2t_model_free(), or NULL with 'err' set to a
** message that names the file and the layer or weight at fault. */
k2t_model *k2t_model_load(const char *path, k2t_err *err);
void k2t_model_free(k2t_model *m);

/* L's weight of this name ("moving_variance"), or NULL; whether it has one. */
const k2t_weight *k2t_layer_weight(const k2t_layer *L, const char *name);
int k2t_layer_has_weight(const k2t_layer *L, const char *name);

/* The node of output tensor j >= 1 of call node i ("name:j"), or -1. */
int k2t_node_part(const k2t_model *m, int i, int j);

/* Model input k read as ids by a layer with a vocabulary (an Embedding:
** cfg.input_dim): the smallest such vocabulary, else 0; *mask_zero when
** one of them masks the ids of 0. */
int64_t k2t_input_vocab(const k2t_model *m, int k, int *mask_zero);

/* Index of the layer (or node) with this exact name, or -1. */
int k2t_find_layer(const k2t_model *m, const char *name);
int k2t_find_node(const k2t_model *m, const char *name);

/* The layer a node calls. */
static inline const k2t_layer *k2t_node_layer(const k2t_model *m, int node)
{
    return &m->layers[m->nodes[node].layer];
}

/* The geometry of a convolution or pooling layer (Conv1D/2D, DepthwiseConv2D,
** SeparableConv2D, Max/AveragePooling1D/2D) on a per-sample input shape,
** with TF's pads for its padding; *rank is 1 or 2.  Returns 0, or -1 when
** a size is unknown or the window does not fit. */
int k2t_layer_win(const k2t_layer *L, const k2t_shape *in, k2t_win *g, int *rank);

/* What a Lambda layer holds (engine/lambda.c): its marshalled Python
** bytecode (size and the identifiers it names), its source text, or the
** named function it wraps. */
typedef enum k2t_lambda_kind {
    K2T_LAMBDA_UNKNOWN,     /* a function k2t cannot decode */
    K2T_LAMBDA_BYTECODE,    /* marshalled code (base64 or raw bytes) */
    K2T_LAMBDA_SOURCE,      /* source text ("lambda x: ...") */
    K2T_LAMBDA_FUNCTION,    /* a named function: text = name, module */
} k2t_lambda_kind;

typedef struct k2t_lambda_info {
    k2t_lambda_kind kind;
    size_t code_bytes;      /* BYTECODE: size of the marshalled code */
    char **names;           /* BYTECODE: identifiers it names (co_names, co_varnames), in order */
    int n_names;
    char *text;             /* SOURCE: the source; FUNCTION: its name */
    char *module;           /* FUNCTION: its module, or NULL */
} k2t_lambda_info;

/* Fill li for a Lambda layer and return 1; 0 (li empty) for any other
** layer.  Free with k2t_lambda_info_free. */
int k2t_lambda_describe(const k2t_layer *L, k2t_lambda_info *li);
void k2t_lambda_info_free(k2t_lambda_info *li);

/* Parameters of a layer, as Keras counts them. */
int64_t k2t_layer_params(const k2t_layer *L);

/* The parsed config as "key=value" pairs separated by ", " (only what
** matters for this kind of layer); written into buf, returns buf. */
char *k2t_layer_describe(const k2t_model *m, const k2t_layer *L, char *buf, size_t n);

/* How a Keras weight appears in a PyTorch state_dict: the parameter name
** ("conv2d.weight") and its shape.  Returns 0, or -1 when the weight has
** no PyTorch counterpart in k2t's port (then name is ""). */
int k2t_torch_param(const k2t_model *m, const k2t_layer *L, int wi,
                    char *name, size_t n, k2t_shape *shape);

/* Weight wi of L as its forgotten transpose: a buffer in Keras's layout
** that the op's permutation maps to Keras's raw buffer read in PyTorch's
** shape (what a port that reshapes instead of permuting holds).  malloc'd;
** NULL when PyTorch holds the weight as Keras does. */
float *k2t_weight_misread(const k2t_layer *L, int wi);

/* A recurrent layer's gates (LSTM i, f, c, o; GRU z, r, h; SimpleRNN's
** one block), each gate's block of every weight in Keras's layout and in
** PyTorch's.  The names come from the op; where PyTorch keeps each block
** from the op's PyTorch layout of the weight (its k2t_tw), the same
** declaration export and the fixes use. */
#define K2T_MAX_GATES 4
#define K2T_MAX_GATE_ROWS 40
typedef struct k2t_gate_row {
    int gate;               /* index into k2t_gates.keras (Keras's block order) */
    int backward;           /* a Bidirectional's backward half (its backward_* weights) */
    const char *weight;     /* the Keras weight ("kernel", "backward_bias"), or NULL: a PyTorch
                            ** tensor Keras has no weight for, every value 'fill' */
    int row;                /* the row of a (2, k*units) bias it is (0 input, 1 recurrent), or -1 */
    int64_t k0, k1;         /* Keras's columns [k0, k1) of the weight's last axis */
    char torch[160];        /* the state_dict key ("gru.weight_ih_l0") */
    int64_t t0, t1;         /* PyTorch's rows [t0, t1) of that tensor's axis 0 */
    float fill;             /* weight NULL: its value */
    double mean_abs, mean;  /* over the Keras block */
} k2t_gate_row;

typedef struct k2t_gates {
    int n_gates;                       /* blocks along the last axis of each weight */
    int64_t units;                     /* each block's width */
    const char *keras[K2T_MAX_GATES];  /* Keras's names, in Keras's order: "z", "r", "h" */
    const char *torch[K2T_MAX_GATES];  /* PyTorch's name of the same gate: "z", "r", "n" */
    const char *role[K2T_MAX_GATES];   /* "update", "reset", "candidate" */
    const char *module;                /* "GRU": the PyTorch module (nn.GRU) */
    int n;                             /* rows: for each half, gate, tensor */
    k2t_gate_row row[K2T_MAX_GATE_ROWS];
} k2t_gates;

/* Fill *g for layer L: returns its number of gates, 0 (g->n 0) when L has
** none (not a recurrent layer, or no weights loaded). */
int k2t_layer_gates(const k2t_model *m, const k2t_layer *L, k2t_gates *g);

/*-------------------------------------------------------------- statistics */

/* What a weight tensor looks like, and what it may mean. */
enum {
    K2T_FLAG_ALL_ZERO    = 1 << 0,  /* every element is 0 */
    K2T_FLAG_CONSTANT    = 1 << 1,  /* every element equal (and not 0) */
    K2T_FLAG_NONFINITE   = 1 << 2,  /* NaN or Inf present */
    K2T_FLAG_BN_DEFAULT  = 1 << 3,  /* BN gamma=1/beta=0/mean=0/var=1: never trained */
    K2T_FLAG_INIT_LIKE   = 1 << 4,  /* matches the config's initializer for a fresh layer */
};

typedef struct k2t_wstats {
    int64_t n;
    double min, max, mean, std;   /* over finite elements; std is population std */
    double mean_abs;
    double zero_frac;
    int64_t n_nan, n_inf;
    unsigned flags;
    char why[160];                /* a sentence for the flags, "" when none */
} k2t_wstats;

/* Statistics of weight 'wi' of layer 'L' (the layer's class and config
** decide the initializer check). */
void k2t_weight_stats(const k2t_model *m, const k2t_layer *L, int wi, k2t_wstats *st);

/* Histogram of n floats into n_bins counts over [lo, hi] (finite values
** only); lo/hi are set to the data's range.  Returns the count binned. */
int64_t k2t_histogram(const float *x, int64_t n, int64_t *bins, int n_bins,
                      double *lo, double *hi);

/*--------------------------------------------------------------- execution */

/* Execution with Keras's semantics, or under emulated conventions of a
** PyTorch port, one pitfall each, so that a divergence can be reproduced
** and located. */
typedef enum { K2T_LAYOUT_NHWC, K2T_LAYOUT_NCHW } k2t_layout;

/* The PyTorch conventions a run emulates, one field per pitfall that has a
** setting (engine/pitfall.c declares each: its setting name, values, what
** it means for each layer kind, its diagnosis and its fix).  All zero but
** 'preprocess' is Keras's own semantics.  Embedded wherever settings
** travel: the shell's settings, profiles, k2t_opts. */
typedef struct k2t_emu {
    k2t_layout layout;    /* NCHW: activations held as PyTorch holds them, Dense with
                             nn.Linear's (out,in) weights; the convolutions run the
                             Keras-layout kernels between conversions */
    int no_transpose;     /* weights.transpose off: each Keras kernel buffer read in the
                             PyTorch shape without permuting it (the forgotten transpose) */
    double bn_eps;        /* bn.eps: 0 each layer its own; > 0 this epsilon for every
                             BatchNormalization (k2t_opts.bn_eps_layer overrides per layer) */
    int bn_train;         /* bn.mode train: BatchNormalization with the batch's statistics */
    int pad_torch;        /* padding torch: symmetric padding k//2*d for 'same' convs and
                             pools, and average pooling that counts the padding */
    int flatten_torch;    /* flatten torch: Flatten in CHW order, Dense rows unpermuted */
    int softmax_drop;     /* softmax drop: a final softmax left out (left to the loss) */
    int preprocess;       /* preprocess: a k2t_pre; the executor ignores it (the shell
                             applies it to the input); -1 in a profile: leave as set */
    int mask_ignore;      /* mask ignore: recurrent layers read padding steps too (no
                             pack_padded_sequence in the port) */
    int gates_copied;     /* rnn.gates copied: a GRU's gate blocks copied in Keras's order
                             z, r, h into nn.GRU, which reads them as r, z, n */
    int rnn_bias_both;    /* rnn.bias both: Keras's bias in bias_ih and bias_hh (LSTM,
                             SimpleRNN: counted twice; GRU: its input row in both) */
    int rnn_act_torch;    /* rnn.activation torch: recurrent layers with nn.LSTM/GRU/RNN's
                             own sigmoid and tanh, whatever Keras's config says */
    int rnn_last_output;  /* rnn.last output: a Bidirectional's last state taken as out[:, -1]
                             (its backward half after one step) instead of h_n */
    int rnn_state_swapped; /* rnn.state swapped: an LSTM's initial_state taken as (c, h), as a
                             port that unpacks Keras's [output, h, c] in another order feeds it */
} k2t_emu;

/* How to execute: threads, what to keep, and the conventions emulated. */
typedef struct k2t_opts {
    int threads;          /* worker threads; 0: the machine's cores */
    int keep;             /* keep every layer's output (and pre-activations) for
                             inspection; otherwise buffers are reused and BN is
                             folded into the convolution before it (the fast path) */
    k2t_emu emu;          /* the PyTorch conventions; all zero: Keras */
    const double *bn_eps_layer; /* per layer (indexed like m->layers): an epsilon > 0
                             that overrides emu.bn_eps and the layer's own; NULL: none */
} k2t_opts;

/*---------------------------------------------------------------- pitfalls */

/* The pitfalls of a port, declared once in engine/pitfall.c: check tags
** its hazards with them, explain teaches them (the first ten are its
** topics), diff and compare diagnose with them, and those with a setting
** are emulated by k2t_emu. */
typedef enum k2t_pit {
    K2T_PIT_LAYOUT, K2T_PIT_TRANSPOSE, K2T_PIT_BN_EPS, K2T_PIT_BN_MODE, K2T_PIT_PADDING,
    K2T_PIT_FLATTEN, K2T_PIT_SOFTMAX, K2T_PIT_PREPROCESS, K2T_PIT_INIT, K2T_PIT_RESIDUAL,
    K2T_PIT_ACTIVATION, K2T_PIT_MASK, K2T_PIT_GATES, K2T_PIT_RNN_BIAS, K2T_PIT_RNN_LAST, K2T_PIT_RNN_STATE, K2T_PIT_UNSUPPORTED, K2T_PIT_COUNT
} k2t_pit;
#define K2T_PIT_TOPICS K2T_PIT_COUNT /* explain's topics: every pitfall */

typedef struct k2t_pitfall {
    const char *topic;        /* "padding": check's tag and explain's topic */
    const char *summary;      /* one line for explain's list */
    const char *text;         /* explain: paragraphs that hold for any model */
    const char *none;         /* explain: when the model shows nothing of it, or NULL */
    const char *k2t;          /* explain: the setting and commands that show it */
    /* The setting that emulates it (key NULL: none). */
    const char *key;          /* "padding" */
    const char *values;       /* "keras|torch", Keras's value first, as show lists them */
    const char *help;         /* show's sentence */
    const char *const *names; /* the values of an int field, Keras's first (NULL: bn.eps) */
    int n_names;
    size_t field;             /* offsetof(k2t_emu, ...) of that int field */
    int in_profiles;          /* built-in profiles set it (preprocess: they leave it) */
} k2t_pitfall;

extern const k2t_pitfall k2t_pitfalls[K2T_PIT_COUNT];
/* By topic ("bn-eps") or by setting key ("bn.eps"); NULL when none. */
const k2t_pitfall *k2t_pitfall_by_topic(const char *topic);
const k2t_pitfall *k2t_pitfall_by_key(const char *key);

/* Keras's own semantics (every pitfall at its Keras value, preprocess raw). */
extern const k2t_emu k2t_emu_keras;
/* Set pitfall p's setting from text ("torch", "1e-5", "off"); errors say
** what was expected.  bn.eps takes keras, torch or a value in (0, 1]. */
k2t_status k2t_emu_set(k2t_emu *e, k2t_pit p, const char *value, k2t_err *err);
int k2t_eps_parse(const char *v, double *eps);
/* The value as set would take it ("torch", "1e-05"); returns buf. */
char *k2t_emu_value(const k2t_emu *e, k2t_pit p, char *buf, size_t n);
int k2t_emu_int(const k2t_emu *e, k2t_pit p);
/* Do a and b agree on p?  Is e at Keras's value for p? */
int k2t_emu_same(const k2t_emu *a, const k2t_emu *b, k2t_pit p);
int k2t_emu_is_keras(const k2t_emu *e, k2t_pit p);
/* "layout nchw, bn.eps 1e-05, padding torch" (layout always; preprocess
** too when with_input).  Returns buf. */
char *k2t_emu_describe(const k2t_emu *e, int with_input, char *buf, size_t n);

/* What a pitfall means at one layer: the hazard check (check), the
** diagnosis (diff, compare) and the fix, one text for all of them,
** computed from the layer's op (engine/diagnose.c and the op's 'hazards'). */
typedef struct k2t_finding {
    k2t_pit pit;
    int node;
    int hazard;           /* 1: a port with PyTorch's habits differs here; 0: looks risky, is not */
    char text[768];       /* what Keras computes and what the port computes */
    char code[1200];      /* PyTorch lines that compute what Keras does ('\n' between); "" none */
} k2t_finding;

#define K2T_PIT_ALL (~0u)
#define K2T_PIT_BIT(p) (1u << (p))

/* Per-model context for findings (which BatchNormalization is the first,
** which Flatten a Dense reports); free with k2t_diag_free. */
typedef struct k2t_diag k2t_diag;
k2t_diag *k2t_diag_new(const k2t_model *m);
void k2t_diag_free(k2t_diag *d);
/* The findings at node i for the pitfalls in mask (K2T_PIT_BIT(p), or
** K2T_PIT_ALL), for a port with conventions 'port' (NULL: PyTorch's
** defaults, every habit of a straightforward port) against a reference
** run with 'ref' (NULL: Keras's semantics, raw input).  Writes at most
** max into out; returns how many there are. */
int k2t_findings(k2t_diag *d, int node, unsigned mask, const k2t_emu *port, const k2t_emu *ref,
                 k2t_finding *out, int max);

/* compare's causes, found from a port's own tensors (engine/diagnose.c).
** k2t_weight_check: is t (shape ts, the port's state_dict tensor 'key') the
** PyTorch tensor of weight wi of node's layer?  0: yes; 1: a wrong
** rearrangement of it (every permutation of the Keras axes, then a reshape,
** is tried: pitfall transpose, the one used and the right call); 2: never
** copied (PyTorch's initial values) or no rearrangement of it (pitfall
** init); -1: no PyTorch counterpart.  k2t_finding_act: node applies
** activation 'keras' where the port computes 'port' (pitfall activation).
** k2t_act_apply: y (rows x c) through act in place (softmax per row). */
int k2t_weight_check(const k2t_model *m, int node, int wi, const char *key, const float *t, const k2t_shape *ts,
                     k2t_finding *f);
int k2t_finding_act(const k2t_model *m, int node, k2t_act keras, k2t_act port, k2t_finding *f);
void k2t_act_apply(float *y, int64_t rows, int64_t c, k2t_act act);

/* A difference no known cause explains, described for a person: how many
** values differ beyond tol, in which channels (the last axis), at the
** border of a map only or inside too, a constant scale or offset.  a is
** the port's, b Keras's, batch x the per-sample shape ks.  Returns out. */
char *k2t_describe_divergence(const float *a, const float *b, int batch, const k2t_shape *ks, double tol,
                              char *out, size_t n);

/* How the model's input was scaled in training, inferred from the first
** BatchNormalization's moving statistics through the linear layers before
** it (no model is recognised by name). */
typedef struct k2t_input_scale {
    int ok;                 /* the statistics fit one mean input */
    int bn_node, from_node; /* the BatchNormalization, and the layer that feeds it */
    double mean;            /* the mean input value they fit */
    double ch_mean[8];      /* per input channel, when n_ch > 0 */
    int n_ch;
    double std;             /* the input's spread they suggest (order of magnitude) */
    double fit;             /* relative residual of the mean fit */
    int guess;              /* the k2t_pre it looks like: raw, unit, symmetric (any centred
                               input of spread ~1), caffe; -1: none */
    char why[256];          /* when !ok */
} k2t_input_scale;
k2t_status k2t_infer_input_scale(const k2t_model *m, k2t_input_scale *s, k2t_err *err);

/* An activation: the batch is d[0] of shape. */
typedef struct k2t_tensor {
    k2t_shape shape;
    float *data;      /* owned by the run; valid until the next run or k2t_run_free */
} k2t_tensor;

typedef struct k2t_run k2t_run;

/* Plan an execution of m for up to max_batch samples: shapes made concrete
** from in_shapes (per-sample shape of each model input; NULL: the model's
** own), weights prepared, every buffer allocated once.  Refuses (NULL,
** err naming the layer and its class) a model with an unsupported layer,
** before anything is computed. */
k2t_run *k2t_run_new(const k2t_model *m, const k2t_opts *o, const k2t_shape *in_shapes,
                     int max_batch, k2t_err *err);
void k2t_run_free(k2t_run *r);

/* Forget the current input and every computed value (the plan and its
** buffers stay): what a run holds when its input is about to change. */
void k2t_run_reset(k2t_run *r);
/* Free the buffers k2t_run_free keeps for the next run (they are reused
** by runs needing as much; at most 256 MiB are kept). */
void k2t_run_pool_clear(void);
/* OpenBLAS single-threaded, its idle worker threads stopped (k2t_run_new
** does it; main may do it first). */
void k2t_blas_single(void);

/* Copy n samples (NHWC, Keras layout) into model input i. */
k2t_status k2t_run_set_input(k2t_run *r, int i, const float *x, int n, k2t_err *err);

/* Execute nodes [from, to) of the topological order (0, m->n_nodes: all)
** on the current input.  Polls k2t_interrupted between layers. */
k2t_status k2t_run_nodes(k2t_run *r, int from, int to, k2t_err *err);

/* The output of node i after it ran (NULL before, or when the fast path
** did not keep it), in the run's own layout: with layout NCHW a (H,W,C)
** activation is held (C,H,W) and its shape says so.  The pre-activation
** of a layer with a fused activation other than linear (NULL otherwise). */
const k2t_tensor *k2t_run_output(const k2t_run *r, int node);
const k2t_tensor *k2t_run_preact(const k2t_run *r, int node);
int k2t_run_batch(const k2t_run *r);
/* Per-sample output shape of node i in the run's layout, and in Keras's
** (they differ from the model's inferred shapes when emulated padding
** changes a layer's output size). */
const k2t_shape *k2t_run_shape(const k2t_run *r, int node);
const k2t_shape *k2t_run_keras_shape(const k2t_run *r, int node);
const k2t_opts *k2t_run_opts(const k2t_run *r);
/* Node i's output (or pre-activation) mapped back to Keras's layout (NHWC,
** and a CHW-ordered Flatten reordered to HWC) into dst (batch x the Keras
** per-sample shape floats), so runs under different conventions compare
** element by element.  Fails when the node has not run. */
k2t_status k2t_run_keras(const k2t_run *r, int node, int preact, float *dst, k2t_err *err);
/* Overwrite node i's output with Keras-layout data (batch x Keras shape) and
** mark it computed: 'diff --isolated' feeds each layer the reference's inputs. */
k2t_status k2t_run_inject(k2t_run *r, int node, const float *src, k2t_err *err);

/* The machine's online cores. */
int k2t_cores(void);

/* The memory budget in MB (set memory.limit): what a model's load may add
** (the loading child's address-space limit) and what one run or eval plan
** may allocate.  Default: $K2T_MEMORY_LIMIT, else half the RAM, at least
** 1024.  Setting 0 restores the default; the previous value is returned. */
int64_t k2t_memory_limit(void);
int64_t k2t_memory_limit_default(void);
int64_t k2t_set_memory_limit(int64_t mb);

/*---------------------------------------------------------- residual blocks */

/* A residual block: a fork whose branches meet again at a merge (Add or
** another merge), with the elementwise activation that follows the merge.
** Blocks are numbered from 1 in execution order; the layers before the
** first are the stem, those after the last the head. */
typedef struct k2t_block {
    int fork;          /* node whose output feeds both branches */
    int merge;         /* the merging node (Add, ...) */
    int first, last;   /* first and last node of the block in topological order */
    int *nodes;        /* the block's nodes, in topological order (fork excluded) */
    int n_nodes;
    int shortcut;      /* -1: identity shortcut; else the projecting node */
    int shortcut_in;   /* merge input index that carries the shortcut */
} k2t_block;

/* Find the residual blocks of m.  Returns their number; *out is an array
** the caller frees with k2t_blocks_free. */
int k2t_find_blocks(const k2t_model *m, k2t_block **out);
void k2t_blocks_free(k2t_block *b, int n);
/* The block (0-based index) that node i belongs to, or -1 (stem or head). */
int k2t_block_of(const k2t_block *b, int n, int node);

/*------------------------------------------------------------------ inputs */

/* An array read from a file: float32 values, C order, plus what it was. */
typedef struct k2t_array {
    k2t_shape shape;     /* every axis, batch included when the file has one */
    float *data;         /* malloc'ed; free with k2t_array_free */
    int pixels;          /* uint8 source (pixel values 0..255): preprocessing applies */
    char dtype[16];      /* dtype in the file: "float32", "float64", "uint8", ... */
} k2t_array;

void k2t_array_free(k2t_array *a);

/* Read a .npy file (float32, float64, float16, uint8, int8, int16, int32,
** int64; C order).  Errors name the file: not .npy, truncated, unsupported
** dtype, Fortran order. */
k2t_status k2t_npy_read(const char *path, k2t_array *out, k2t_err *err);

/* Write float32 data of 'shape' as a .npy file. */
k2t_status k2t_npy_write(const char *path, const k2t_shape *shape, const float *data, k2t_err *err);

/* The CIFAR-10 binary format: records of 1 label byte + 3072 pixel bytes
** (1024 red, 1024 green, 1024 blue, row-major).  k2t_cifar_count checks the
** size (a multiple of 3073) and returns the number of images; k2t_cifar_read
** reads images [first, first+count) as NHWC floats (raw 0..255) into x
** (count*3072 floats) and their labels into labels (may be NULL). */
k2t_status k2t_cifar_count(const char *path, int64_t *n, k2t_err *err);
k2t_status k2t_cifar_read(const char *path, int64_t first, int count, float *x,
                          unsigned char *labels, k2t_err *err);
extern const char *const k2t_cifar_names[10];

/* A PNG or JPEG image as (1, H, W, C) floats 0..255; C is 3 (RGB) unless
** want_c is 1 (grayscale).  Refused when H x W differ from want_h x want_w
** (when > 0): k2t does not resize. */
k2t_status k2t_image_read(const char *path, int want_h, int want_w, int want_c, k2t_array *out,
                          k2t_err *err);

/* Pixel preprocessing, applied to NHWC floats in place: raw keeps 0..255,
** unit divides by 255, symmetric maps to [-1, 1], torch applies ImageNet
** mean/std after /255, caffe flips RGB to BGR and subtracts the ImageNet
** BGR means (Keras's imagenet_utils modes). */
typedef enum { K2T_PRE_RAW, K2T_PRE_UNIT, K2T_PRE_SYMMETRIC, K2T_PRE_TORCH, K2T_PRE_CAFFE } k2t_pre;
extern const char *const k2t_pre_names[5];
k2t_status k2t_preprocess(float *x, int64_t n, int c, k2t_pre mode, k2t_err *err);

/* k2t_npy_write through k2t_write_file_safe: an existing 'path' is refused
** unless 'force'; never writes through a link or into a special file. */
k2t_status k2t_npy_save(const char *path, const k2t_shape *shape, const float *data, int force,
                        k2t_err *err);

/* A .npy file read a few rows at a time (eval streams data sets of any
** size): k2t_npy_open parses and checks the header (dtype, C order, the
** file holds every element it declares), k2t_npy_stream_read converts rows
** [first, first+count) of the first axis to float32.  Reads use pread, so
** threads may share one stream.  Errors name the file. */
typedef struct k2t_npy_stream {
    k2t_shape shape;     /* every axis; d[0] is the number of rows (samples) */
    int64_t row;         /* elements per row (the product of the other axes) */
    char dtype[16];      /* "float32", "uint8", "int64", ... */
    int pixels;          /* uint8: pixel values, preprocessing applies */
    int integer;         /* an integer dtype */
    /* private */
    FILE *f;
    char descr[8];
    size_t isz;
    int64_t data_at;
    char path[1024];
} k2t_npy_stream;

/* NULL with err set when the file is not a readable numeric .npy of at
** least one axis.  Close with k2t_npy_close. */
k2t_npy_stream *k2t_npy_open(const char *path, k2t_err *err);
k2t_status k2t_npy_stream_read(k2t_npy_stream *s, int64_t first, int64_t count, float *out, k2t_err *err);
void k2t_npy_close(k2t_npy_stream *s);

/*-------------------------------------------------------------- npz archives */

/* One array of an .npz archive (numpy.savez): a member NAME.npy. */
typedef struct k2t_npz_entry {
    char *name;          /* the member's name without ".npy" */
    char *cls;           /* the producing module's class from __order__ ("Conv2d"), or NULL */
    k2t_array a;         /* float32 values, C order, shape as stored; data NULL when skipped */
    char *skip;          /* why the array was not read (its dtype, Fortran order), or NULL */
} k2t_npz_entry;

typedef struct k2t_npz {
    k2t_npz_entry *e;    /* in execution order */
    int n;
    int ordered;         /* 1: the __order__ member gave the order; 0: the archive's member order */
} k2t_npz;

/* Read an .npz (a zip archive, stored or deflated, of NAME.npy members).
** The entries' order is the one the optional __order__ member lists (a
** uint8 array of UTF-8 text, one "NAME" or "NAME<TAB>CLASS" line per entry,
** or a 1-D array of names), then any member it omits in archive order;
** without __order__, the archive's member order.  A member whose dtype k2t
** cannot read stays as an entry with 'skip' set.  Errors name the file:
** not a zip, a member that is not .npy, a truncated array, an __order__
** line naming no member.  Free with k2t_npz_free (also after an error). */
k2t_status k2t_npz_read(const char *path, k2t_npz *out, k2t_err *err);
void k2t_npz_free(k2t_npz *z);

/* Parse a .npy held in memory (buf, len bytes) as k2t_npy_read parses a
** file; 'what' names it in errors ("'x.npz' member 'a.npy'"). */
k2t_status k2t_npy_parse(const void *buf, size_t len, const char *what, k2t_array *out, k2t_err *err);

/*------------------------------------------------------------------ export */

/* A Keras name as a PyTorch attribute name (and state_dict prefix): '.',
** '/', '#', '-' and every other character outside [A-Za-z0-9_] become '_';
** a leading digit gets the prefix "layer_" and a leading '_' the prefix
** "layer"; a Python keyword or an nn.Module member ("forward", "eval",
** "to", ...) gets a trailing '_'.  Written into out (n bytes); returns out.
** k2t_torch_param, the safetensors names and the generated module's
** attributes all use it. */
char *k2t_torch_ident(const char *name, char *out, size_t n);

/* One array of the pytorch export's self-test, PyTorch layout (channels
** first), batch first. */
typedef struct k2t_export_sample {
    const float *data;
    k2t_shape shape;      /* every axis, batch included */
} k2t_export_sample;

typedef struct k2t_export_opts {
    int force;                      /* replace an existing file */
    const char *k2t_version;        /* in __metadata__ and the .py docstring; NULL: K2T_VERSION */
    /* pytorch only */
    const char *st_name;            /* the weights file the .py loads, next to it */
    const char *py_name;            /* the .py's own name, for its docstring */
    const k2t_export_sample *in;    /* the self-test's input, one per model input */
    const k2t_export_sample *out;   /* Keras's output on it, one per model output */
    const char *in_desc;            /* where the input came from ("random uniform ...") */
    /* The self-test's intermediate tensors, Keras's layout (batch first,
    ** then the Keras per-sample shape), written in the module's layout:
    ** per node its output (data NULL: not recorded), and per node the
    ** pre-activation of a fused activation (NULL or data NULL: none; the
    ** logits before a final softmax). */
    const k2t_export_sample *acts;
    const k2t_export_sample *preacts;
    const char *vec_name;           /* the test vectors file (safetensors) next to the .py */
} k2t_export_opts;

typedef struct k2t_export_info {
    int n_tensors;        /* safetensors: tensors written */
    int64_t n_values;     /* safetensors: their elements */
    int64_t bytes;        /* the file's size */
    int n_modules;        /* layers with a torch module (attributes of class Model) */
    int n_permuted;       /* Linear layers whose input columns follow an NCHW Flatten */
} k2t_export_info;

/* Whether m can be exported: every layer one k2t executes, distinct
** attribute names.  K2T_EUNSUPPORTED naming the first layer and its class
** otherwise. */
k2t_status k2t_export_check(const k2t_model *m, k2t_err *err);

/* Write m's weights in PyTorch layout as a safetensors file at path: named
** "<layer>.<param>" as the generated module's state_dict() names them,
** F32 (num_batches_tracked I64 0), with __metadata__ (format, source,
** keras_version, k2t_version).  Conv (O, I, k...), depthwise (C*M, 1, kh,
** kw), SeparableConv2D as depthwise/pointwise, ConvTranspose2d (I, O, kh,
** kw), Linear (out, in) with its input columns permuted after an NCHW
** Flatten, BatchNorm with gamma/beta filled in when scale/center are off,
** LayerNorm, PReLU.  Written to PATH.tmp.<pid>, synced and renamed: an
** existing path is refused unless o->force, and a failure leaves no file.
** info (may be NULL) gets the counts. */
k2t_status k2t_export_safetensors(const k2t_model *m, const char *path, const k2t_export_opts *o,
                                  k2t_export_info *info, k2t_err *err);

/* Write m as one Python file at path: class Model(nn.Module) with one
** attribute per layer with weights (and per Dropout), forward() as
** straight-line code in topological order (one variable per layer,
** channels first, the exact TF pads for o->in's size, which it checks),
** load_weights/load_model for the safetensors file o->st_name next to it,
** and a self-test that runs o->in and compares with o->out, o->acts and
** o->preacts.  Writes the .py and then its test vectors o->vec_name
** next to it (safetensors: "input:K", "output:K", each recorded node's
** variable, "VAR:preact"); not the weights (k2t_export_safetensors).
** Same file rules; a failure leaves neither file. */
k2t_status k2t_export_pytorch(const k2t_model *m, const char *path, const k2t_export_opts *o,
                              k2t_export_info *info, k2t_err *err);

#endif /* K2T_ENGINE_K2T_H */
