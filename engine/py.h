/*
** py.h -- what export's Python writer (engine/export.c) offers the ops.
**
** Each op writes its own PyTorch code (k2t_op_def: module, py_init,
** py_forward); export.c owns the file, the plan (module attributes, the
** NCHW Flatten, per-node shapes) and the variables.  These helpers are the
** only way an op reaches them.  Nodes and layers are indices into the
** model's nodes[] and layers[]; shapes are per-sample Keras shapes (NHWC);
** the generated module holds them channels first (k2t_shape_nchw).
*/
#ifndef K2T_ENGINE_PY_H
#define K2T_ENGINE_PY_H

#include "internal.h"

/* Append to the section being written (__init__ or forward()). */
void k2t_py_printf(k2t_py *y, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ask for a helper class or function (Python code ending in a newline, a
** static string the op owns: SeparableConv2d, KerasRNN) in the file, once,
** before the model class. */
void k2t_py_helper(k2t_py *y, const char *code);

const k2t_model *k2t_py_model(const k2t_py *y);
/* Node i's layer, and layer li (the wrapper's view inside its inner code). */
const k2t_layer *k2t_py_layer(const k2t_py *y, int i);
const k2t_layer *k2t_py_layer_at(const k2t_py *y, int li);
/* The Python variable of node i's output. */
const char *k2t_py_var(const k2t_py *y, int i);
/* The variable of node i's k-th input; "x" when it has none. */
const char *k2t_py_in(const k2t_py *y, int i, int k);
/* A wrapper writing its inner layer's lines for node i (TimeDistributed:
** the steps folded into the batch): until k2t_py_sub_end, node i's
** variable is 'out' of shape *shape and its input 0 is 'in' of shape
** *in_shape, and its layer is 'view' (the inner kind's; the strings and
** the view stay the caller's).  Ops read their layer through
** k2t_py_layer, never the model's nodes, so that this holds. */
void k2t_py_sub_begin(k2t_py *y, int i, const k2t_layer *view, const char *in, const k2t_shape *in_shape,
                      const char *out, const k2t_shape *shape);
void k2t_py_sub_end(k2t_py *y);
/* Keras's masks (K2T_OPF_MASK_*, k2t_mask_sources): the variable holding
** the mask that reaches node i's input, (N, T) bool and True at the real
** steps, or NULL when none does; the one maker node i writes, or NULL.
** Both "NAME_mask" in buf. */
const char *k2t_py_mask_in(const k2t_py *y, int i, char *buf, size_t n);
const char *k2t_py_mask_out(const k2t_py *y, int i, char *buf, size_t n);
/* Layer li's module attribute ("conv2d"), or NULL (no module). */
const char *k2t_py_attr(const k2t_py *y, int li);
/* Node i's output shape, and its k-th input's (NULL without one). */
const k2t_shape *k2t_py_shape(const k2t_py *y, int i);
const k2t_shape *k2t_py_in_shape(const k2t_py *y, int i, int k);
/* The input shape of layer li's first call, or NULL. */
const k2t_shape *k2t_py_layer_in(const k2t_py *y, int li);
/* 1 when node i's output is a vector in C,H,W order (an NCHW Flatten or a
** layer it passed through). */
int k2t_py_chw(const k2t_py *y, int i);
/* The pre-Flatten Keras shape whose NCHW flattening layer li (a
** K2T_OPF_FEATURES op) reads with permuted columns, or NULL. */
const k2t_shape *k2t_py_permuted(const k2t_py *y, int li);

/* Layer li's module constructor (def->module on its first call's input,
** with the padding the module holds, see k2t_py_module_input). */
k2t_status k2t_py_module(const k2t_py *y, int li, char *buf, size_t n, k2t_err *err);

/*--- windows (K2T_OPF_WINDOW ops) */

/* Node i's window with TF's pads on its input. */
k2t_status k2t_py_window(const k2t_py *y, int i, k2t_win *g, k2t_err *err);
/* 1 when g's pads are symmetric (top = bottom, left = right), with
** (*ph, *pw) the padding= of the PyTorch call; else 0 and (0, 0). */
int k2t_py_sym(const k2t_win *g, int *ph, int *pw);
/* "1", "(1, 2)" (rank 2 with ph != pw), rank 1: pw. */
const char *k2t_py_padding(int rank, int ph, int pw, char *buf, size_t n);
/* "F.pad(a, (l, r, t, b)fill)" or "a" when g has no pads; 'fill' is an
** extra argument (", value=...") or "". */
const char *k2t_py_padded(const k2t_win *g, int rank, const char *a, const char *fill, char *buf,
                          size_t n);
/* What node i's module is called on: 'a' when the module holds the pads
** (symmetric and the same on every call of the layer: issue 10's
** padding=N), else a padded with F.pad. */
const char *k2t_py_module_input(const k2t_py *y, int i, const k2t_win *g, const char *a, char *buf,
                                size_t n);
/* "3" or "(3, 3)" for a 2-D window when the two agree only if 'compact'. */
const char *k2t_py_win_str(const int *v, int rank, int compact, char *buf, size_t n);

/*--- expressions */

/* Shortest text that reads back as v, always with '.' or an exponent. */
const char *k2t_pyfloat(double v, char *buf, size_t n);
/* Activation a applied to v as an expression; NULL for linear.  Softmax
** acts on dim 1 (Keras's last axis in this layout). */
const char *k2t_py_act(k2t_act a, const char *v, char *buf, size_t n);
/* "        v = ACT(v)\n" unless a is linear. */
void k2t_py_put_act(k2t_py *y, const char *v, k2t_act a);
/* a (channels first) with Keras's axis order: "a.movedim(1, -1)"; a
** vector as is. */
const char *k2t_py_to_last(const char *a, int ndim, char *buf, size_t n);
/* A Keras per-sample axis (batch counted as 0, may be negative) as the
** module's dim; -1 when out of range. */
int k2t_py_dim(int axis, int ndim);
/* "(N, 16, 8, 8)": the batch, then the Keras shape channels first. */
const char *k2t_py_shape_str(const k2t_shape *keras, char *buf, size_t n);

/* K2T_EUNSUPPORTED "layer 'NAME' (CLASS) cannot be exported: WHY". */
k2t_status k2t_py_fail(const k2t_layer *L, k2t_err *err, const char *why);

#endif /* K2T_ENGINE_PY_H */
