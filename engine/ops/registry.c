/*
** registry.c -- from a Keras class name to the op that handles it.
**
** Every family file exports its k2t_op_def objects; this file lists
** them once, in k2t_op order.  A def carries its own class names, old
** aliases included (Convolution2D, BatchNormalizationV1, MaxPool2D).
** Lookup walks the defs' class lists: about eighty names, once per layer.
** A class no def claims is the loader's K2T_OP_UNSUPPORTED: it stays in
** the graph with its weights, and k2t_op_unsupported describes it.
**
** Adding a layer kind takes:
**  - its K2T_OP_ value in engine/k2t.h (k2t_op; this table is indexed by it);
**  - its k2t_op_def in its family file (engine/ops/<family>.c): classes,
**    parse, infer, weights, describe, torch, and for execution the flags,
**    plan, forward and as_act of its "execution" section (engine/op.h says
**    what each means; the executor, engine/exec.c, has no per-kind code,
**    so a def with a forward runs, fused, in place and under the NCHW
**    emulation as its flags allow);
**  - its extern and its defs[] line here;
**  - its tests.
** Not yet owned by the op: until export asks the op for its PyTorch code,
** engine/export.c needs the kind's module and forward in its switches or
** the exported port leaves the layer out; commands that explain or
** compare particular kinds name them too (grep K2T_OP_ outside
** engine/ops/ for every such place).
*/
#include <assert.h>
#include <string.h>
#include "../internal.h"

extern const k2t_op_def k2t_op_input, k2t_op_conv, k2t_op_conv_transpose, k2t_op_depthwise,
    k2t_op_separable, k2t_op_dense, k2t_op_batchnorm, k2t_op_layernorm, k2t_op_activation,
    k2t_op_relu, k2t_op_leaky_relu, k2t_op_prelu, k2t_op_elu, k2t_op_softmax, k2t_op_identity,
    k2t_op_add, k2t_op_subtract, k2t_op_multiply, k2t_op_average, k2t_op_maximum,
    k2t_op_minimum, k2t_op_concatenate, k2t_op_flatten, k2t_op_reshape, k2t_op_permute,
    k2t_op_zeropad, k2t_op_crop, k2t_op_upsample, k2t_op_maxpool, k2t_op_avgpool,
    k2t_op_global_maxpool, k2t_op_global_avgpool, k2t_op_rescaling, k2t_op_unsupported;

/* No class names: the loader assigns it to classes nobody claims.  It has
** no callbacks; such a layer keeps its file's weights as they are. */
static const char *const no_classes[] = {NULL};

const k2t_op_def k2t_op_unsupported = {
    .op = K2T_OP_UNSUPPORTED, .classes = no_classes, .min_in = 0, .max_in = -1,
};

/* Indexed by k2t_op; K2T_OP_NONE (weights-only files) has no def. */
static const k2t_op_def *const defs[] = {
    [K2T_OP_NONE] = NULL,
    [K2T_OP_INPUT] = &k2t_op_input,
    [K2T_OP_CONV] = &k2t_op_conv,
    [K2T_OP_CONV_TRANSPOSE] = &k2t_op_conv_transpose,
    [K2T_OP_DEPTHWISE] = &k2t_op_depthwise,
    [K2T_OP_SEPARABLE] = &k2t_op_separable,
    [K2T_OP_DENSE] = &k2t_op_dense,
    [K2T_OP_BATCHNORM] = &k2t_op_batchnorm,
    [K2T_OP_LAYERNORM] = &k2t_op_layernorm,
    [K2T_OP_ACTIVATION] = &k2t_op_activation,
    [K2T_OP_RELU] = &k2t_op_relu,
    [K2T_OP_LEAKY_RELU] = &k2t_op_leaky_relu,
    [K2T_OP_PRELU] = &k2t_op_prelu,
    [K2T_OP_ELU] = &k2t_op_elu,
    [K2T_OP_SOFTMAX] = &k2t_op_softmax,
    [K2T_OP_IDENTITY] = &k2t_op_identity,
    [K2T_OP_ADD] = &k2t_op_add,
    [K2T_OP_SUBTRACT] = &k2t_op_subtract,
    [K2T_OP_MULTIPLY] = &k2t_op_multiply,
    [K2T_OP_AVERAGE] = &k2t_op_average,
    [K2T_OP_MAXIMUM] = &k2t_op_maximum,
    [K2T_OP_MINIMUM] = &k2t_op_minimum,
    [K2T_OP_CONCATENATE] = &k2t_op_concatenate,
    [K2T_OP_FLATTEN] = &k2t_op_flatten,
    [K2T_OP_RESHAPE] = &k2t_op_reshape,
    [K2T_OP_PERMUTE] = &k2t_op_permute,
    [K2T_OP_ZEROPAD] = &k2t_op_zeropad,
    [K2T_OP_CROP] = &k2t_op_crop,
    [K2T_OP_UPSAMPLE] = &k2t_op_upsample,
    [K2T_OP_MAXPOOL] = &k2t_op_maxpool,
    [K2T_OP_AVGPOOL] = &k2t_op_avgpool,
    [K2T_OP_GLOBAL_MAXPOOL] = &k2t_op_global_maxpool,
    [K2T_OP_GLOBAL_AVGPOOL] = &k2t_op_global_avgpool,
    [K2T_OP_RESCALING] = &k2t_op_rescaling,
    [K2T_OP_UNSUPPORTED] = &k2t_op_unsupported,
};
static_assert(sizeof defs / sizeof defs[0] == K2T_OP_COUNT, "one def per k2t_op");

const k2t_op_def *k2t_op_lookup(const char *class_name)
{
    if (!class_name) return NULL;
    for (int op = 0; op < K2T_OP_COUNT; op++) {
        if (!defs[op]) continue;
        for (const char *const *c = defs[op]->classes; *c; c++)
            if (!strcmp(*c, class_name)) return defs[op];
    }
    return NULL;
}

const k2t_op_def *k2t_op_def_of(k2t_op op)
{
    return (unsigned)op < K2T_OP_COUNT ? defs[op] : NULL;
}
