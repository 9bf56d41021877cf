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
} k2t_tw;

/* The PyTorch parameter of weight wi of L by its op, or -1 (none). */
int k2t_layer_tw(const k2t_layer *L, int wi, k2t_tw *tw);
/* out (numel floats) = w's values as PyTorch's tensor. */
void k2t_tw_apply(const k2t_weight *w, const k2t_tw *tw, float *out);
/* The forgotten transpose: w's buffer read as PyTorch's tensor without the
** permutation, written back in Keras's layout (what a Keras-layout kernel
** must hold to compute what that port computes). */
void k2t_tw_misread(const k2t_weight *w, const k2t_tw *tw, float *out);
/* The PyTorch expression that turns the Keras array into the parameter:
** ".permute(3, 2, 0, 1)", ".T", ".permute(2, 3, 0, 1).reshape(16, 1, 3, 3)",
** "" when none is needed.  Returns buf. */
char *k2t_tw_code(const k2t_weight *w, const k2t_tw *tw, char *buf, size_t n);

/* Execution (engine/op.h defines these and the K2T_OPF_* flags). */
typedef struct k2t_step k2t_step;
typedef struct k2t_plan_ctx k2t_plan_ctx;
typedef struct k2t_fwd k2t_fwd;

typedef struct k2t_op_def {
    k2t_op op;
    const char *const *classes; /* Keras class names, NULL-terminated */
    int min_in, max_in;         /* number of inputs accepted (max -1: any) */
    /* Fill L->cfg from the "config" object.  May set L->unsupported (a
    ** valid layer k2t cannot execute).  On a malformed config returns an
    ** error whose message names the key. */
    k2t_status (*parse)(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err);
    /* Output shape from input shapes (each fully known ndim >= 0, dims
    ** may be -1).  Errors name the mismatch. */
    k2t_status (*infer)(const k2t_layer *L, const k2t_shape *in, int n_in,
                        k2t_shape *out, k2t_err *err);
    /* Expected weights in Keras's order for this input shape; returns
    ** their number.  NULL for weightless ops. */
    int (*weights)(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec);
    /* The typed config as "k=v, k=v". */
    void (*describe)(const k2t_layer *L, k2t_buf *b);
    /* Weight wi's PyTorch parameter (suffix, shape, layout map); returns
    ** -1 when it has none.  NULL: no weights. */
    int (*torch)(const k2t_layer *L, int wi, k2t_tw *tw);
    /* Execution (engine/op.h): K2T_OPF_* bits. */
    unsigned flags;
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
} k2t_op_def;

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

#endif /* K2T_ENGINE_INTERNAL_H */
