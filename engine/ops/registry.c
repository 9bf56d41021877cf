/*
** registry.c -- from a Keras class name to the op that handles it.
**
** Every family file exports its k2t_op_def objects; ops.def lists them
** once, in k2t_op order, and this file indexes them.  A def carries its
** own class names, old aliases included (Convolution2D,
** BatchNormalizationV1, MaxPool2D), its shapes, weights, execution,
** PyTorch export and port hazards, so adding a layer kind touches its
** family file and one line of ops.def.  Lookup
** walks the defs' class lists: about eighty names, once per layer.
** A class no def claims is the loader's K2T_OP_UNSUPPORTED: it stays in
** the graph with its weights, and k2t_op_unsupported describes it.
**
** Adding a layer kind takes its k2t_op_def in its family file
** (engine/ops/<family>.c: classes, parse, infer, weights, describe; torch,
** the PyTorch layout of each weight; plan, forward and as_act, its
** execution; module, py_init, py_forward and extra_tensors, its PyTorch
** export; hazards, what a port gets wrong about it; flags and
** torch_modules, what the shared code may assume of it) and one line of
** ops.def, plus its tests.  The executor (exec.c), the exporter
** (export.c), the diagnosis (diagnose.c) and the commands have no per-kind
** code: they ask the op.
*/
#include <assert.h>
#include <string.h>
#include "../internal.h"

#define K2T_OP(id, def, name) extern const k2t_op_def def;
#include "ops.def"
#undef K2T_OP
extern const k2t_op_def k2t_op_unsupported;

/* No class names: the loader assigns it to classes nobody claims.  It has
** no callbacks; such a layer keeps its file's weights as they are. */
static const char *const no_classes[] = {NULL};

const k2t_op_def k2t_op_unsupported = {
    .op = K2T_OP_UNSUPPORTED, .classes = no_classes, .min_in = 0, .max_in = -1,
};

/* Indexed by k2t_op; K2T_OP_NONE (weights-only files) has no def. */
static const k2t_op_def *const defs[] = {
    [K2T_OP_NONE] = NULL,
#define K2T_OP(id, def, name) [K2T_OP_##id] = &def,
#include "ops.def"
#undef K2T_OP
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

int k2t_op_is_merge(k2t_op op)
{
    const k2t_op_def *d = k2t_op_def_of(op);
    return d && (d->flags & K2T_OPF_MERGE);
}

int k2t_op_is_concat(k2t_op op)
{
    const k2t_op_def *d = k2t_op_def_of(op);
    return d && (d->flags & K2T_OPF_CONCAT);
}

int k2t_op_is_activation(k2t_op op)
{
    const k2t_op_def *d = k2t_op_def_of(op);
    return d && (d->flags & K2T_OPF_ACTIVATION);
}

int k2t_op_torch_module(k2t_op op, const char *cls)
{
    const k2t_op_def *d = k2t_op_def_of(op);
    if (!cls) return 0;
    if (op == K2T_OP_COUNT) { /* any op */
        for (int o = 0; o < K2T_OP_COUNT; o++)
            if (k2t_op_torch_module((k2t_op)o, cls)) return 1;
        return 0;
    }
    for (const char *const *c = d ? d->torch_modules : NULL; c && *c; c++)
        if (!strcmp(*c, cls)) return 1;
    return 0;
}

int k2t_op_has_weights(k2t_op op)
{
    const k2t_op_def *d = k2t_op_def_of(op);
    return d && d->torch;
}

int k2t_op_flattens(k2t_op op)
{
    const k2t_op_def *d = k2t_op_def_of(op);
    return d && (d->flags & K2T_OPF_FLATTENS);
}

int k2t_torch_activation(const char *cls)
{
    for (int o = 0; o < K2T_OP_COUNT; o++)
        if (k2t_op_is_activation((k2t_op)o) && k2t_op_torch_module((k2t_op)o, cls)) return 1;
    return 0;
}
