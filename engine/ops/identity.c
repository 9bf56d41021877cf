/*
** identity.c -- layers that only act while training: Dropout, the
** SpatialDropout family, GaussianNoise, GaussianDropout, AlphaDropout,
** ActivityRegularization and the random augmentation layers (RandomFlip,
** RandomRotation, RandomZoom, RandomTranslation, RandomContrast,
** RandomBrightness, RandomHeight, RandomWidth; not RandomCrop, which
** crops at inference too).  At inference each passes its input
** through unchanged, so the node is kept (its name is a place to stop
** and inspect) and its output is its input.  The rate (the stddev for
** GaussianNoise) is read only to be shown.
*/
#include <string.h>
#include "../internal.h"
#include "../py.h"

static k2t_status identity_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    const char *key = L->class_name && !strcmp(L->class_name, "GaussianNoise") ? "stddev" : "rate";
    (void)m;
    return cfg_double(c, key, 0, &L->cfg.rate, err);
}

static k2t_status identity_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                                 k2t_shape *out, k2t_err *err)
{
    (void)L;
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    *out = *in;
    return K2T_OK;
}

static void identity_describe(const k2t_layer *L, k2t_buf *b)
{
    if (L->class_name && !strcmp(L->class_name, "ActivityRegularization")) return;
    if (L->class_name && !strncmp(L->class_name, "Random", 6)) {
        k2t_buf_printf(b, "augmentation: the identity at inference");
        return;
    }
    if (L->class_name && !strcmp(L->class_name, "GaussianNoise"))
        k2t_buf_printf(b, "stddev=%g", L->cfg.rate);
    else
        k2t_buf_printf(b, "rate=%g", L->cfg.rate);
}

/*--- PyTorch export ---*/

/* A module in __init__ as a real port has one (state_dict and the module
** tree look the same), an identity in eval mode: the Dropout of the
** layout's rank for the SpatialDropout family, nn.Identity for the noise
** and regularization layers. */
static int identity_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    const char *c = L->class_name ? L->class_name : "";
    char r[64];
    (void)in, (void)ph, (void)pw;
    k2t_pyfloat(L->cfg.rate, r, sizeof r);
    if (!strcmp(c, "Dropout")) return snprintf(buf, n, "nn.Dropout(p=%s)", r);
    if (!strcmp(c, "SpatialDropout1D")) return snprintf(buf, n, "nn.Dropout1d(p=%s)", r);
    if (!strcmp(c, "SpatialDropout2D")) return snprintf(buf, n, "nn.Dropout2d(p=%s)", r);
    if (!strcmp(c, "SpatialDropout3D")) return snprintf(buf, n, "nn.Dropout3d(p=%s)", r);
    if (!strcmp(c, "AlphaDropout")) return snprintf(buf, n, "nn.AlphaDropout(p=%s)", r);
    return snprintf(buf, n, "nn.Identity()");
}

static k2t_status identity_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const char *attr = k2t_py_attr(y, k2t_py_model(y)->nodes[i].layer);
    (void)err;
    if (attr)
        k2t_py_printf(y, "        %s = self.%s(%s)  # identity in eval mode\n", k2t_py_var(y, i), attr,
                      k2t_py_in(y, i, 0));
    else
        k2t_py_printf(y, "        %s = %s  # identity at inference\n", k2t_py_var(y, i), k2t_py_in(y, i, 0));
    return K2T_OK;
}

/*----------------------------------------------------------- execution */

#include "../op.h"

/* The output is the input's buffer (a view): nothing to compute. */
static k2t_status identity_plan(k2t_step *s, const k2t_plan_ctx *c, k2t_err *err)
{
    (void)c, (void)err;
    s->alias = 1;
    return K2T_OK;
}

/* Never called for a view; a copy should the step ever need its own. */
static void identity_forward(const k2t_step *s, const k2t_fwd *f)
{
    if (f->x[0] != f->y) memcpy(f->y, f->x[0], (size_t)((int64_t)f->n * s->numel) * sizeof(float));
}

static const char *const identity_classes[] = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "RandomFlip", "RandomRotation", "RandomZoom",
    "RandomTranslation", "RandomContrast", "RandomBrightness", "RandomHeight", "RandomWidth", NULL,
};

/* The PyTorch modules that compute these layers (compare pairs a port's
** modules with Keras layers by them). */
static const char *const identity_modules[] = {"Identity", "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout", NULL};

const k2t_op_def k2t_op_identity = {
    .op = K2T_OP_IDENTITY, .torch_modules = identity_modules, .classes = identity_classes,
    .min_in = 1, .max_in = 1, .flags = K2T_OPF_KEEPS_ORDER | K2T_OPF_NCHW | K2T_OPF_MASK_PASS, .parse = identity_parse,
    .infer = identity_infer, .describe = identity_describe, .module = identity_module, .py_forward = identity_py_forward,
    .plan = identity_plan, .forward = identity_forward,
};
