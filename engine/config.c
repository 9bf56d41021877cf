/*
** config.c -- reading a Keras layer's "config" object into typed values,
** and the small shape rules every op shares.
**
** Keras configs are Python's json.dumps of whatever the layer's
** get_config() returned, so the same setting arrives in several spellings:
** "scale": 1 next to "scale": true, "axis": [3] next to "axis": 3,
** "kernel_size": 3 next to [3, 3], 2.0 where an int was meant, and null
** for "not given".  The cfg_* readers accept all of those and reject
** anything else with a message that names the key and quotes the value;
** the loader prefixes the file and layer.  Activations are names, or in
** Keras 3 files a serialized object; a name k2t does not know is not an
** error but a reason the layer cannot run (the graph stays inspectable).
**
** The rest are helpers for engine/ops/: activation and op names, axis
** normalisation, TF's windowed output size, and the check that keeps an
** absurd config from turning into an overflowed size.
*/
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

/*------------------------------------------------------- value plumbing */

/* A short rendering of a JSON value for error messages: 'string "ten"',
** 'number 2.5', 'list [3,3,3]', 'true'.  Long values are cut with "...". */
static const char *jdesc(json_t *v, char *buf, size_t n)
{
    const char *kind = "";
    switch (json_typeof(v)) {
    case JSON_OBJECT: kind = "object "; break;
    case JSON_ARRAY: kind = "list "; break;
    case JSON_STRING: kind = "string "; break;
    case JSON_INTEGER:
    case JSON_REAL: kind = "number "; break;
    default: break; /* true, false and null speak for themselves */
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
    if (!s) {
        snprintf(buf, n, "%s(unprintable)", kind);
        return buf;
    }
    if (strlen(s) > 60) strcpy(s + 57, "...");
    snprintf(buf, n, "%s%s", kind, s);
    free(s);
    return buf;
}

static k2t_status bad_type(k2t_err *err, const char *key, const char *want, json_t *v)
{
    char d[96];
    return k2t_fail(err, K2T_EFORMAT, "config key '%s' must be %s, got %s", key, want,
                    jdesc(v, d, sizeof d));
}

/* The value of 'key', or NULL when absent or null (Keras writes null for
** "use the default"). */
static json_t *get(json_t *c, const char *key)
{
    json_t *v = json_is_object(c) ? json_object_get(c, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

/* An integral JSON number (3, or 3.0 as Python sometimes writes it) into
** *out.  Returns 0 for anything else, including 2.5, NaN and bools. */
static int as_int(json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        /* The range test also rejects NaN; the cast is then defined. */
        if (x >= -9.0e18 && x <= 9.0e18 && (double)(long long)x == x) {
            *out = (long long)x;
            return 1;
        }
    }
    return 0;
}

/* One int element of 'key' (the whole value or a list item) into *out. */
static k2t_status int_value(json_t *v, const char *key, const char *want, int *out,
                            k2t_err *err)
{
    long long x;
    if (!as_int(v, &x)) return bad_type(err, key, want, v);
    if (x < INT_MIN || x > INT_MAX)
        return k2t_fail(err, K2T_EFORMAT, "config key '%s' is out of range: %lld", key, x);
    *out = (int)x;
    return K2T_OK;
}

/*-------------------------------------------------------------- readers */

k2t_status cfg_require(json_t *c, const char *key, k2t_err *err)
{
    if (get(c, key)) return K2T_OK;
    return k2t_fail(err, K2T_EFORMAT, "config key '%s' is missing", key);
}

k2t_status cfg_int(json_t *c, const char *key, int def, int *out, k2t_err *err)
{
    json_t *v = get(c, key);
    if (!v) {
        *out = def;
        return K2T_OK;
    }
    /* tf.keras writes some scalars as one-element lists ("axis": [3]). */
    if (json_is_array(v) && json_array_size(v) == 1) v = json_array_get(v, 0);
    return int_value(v, key, "an integer", out, err);
}

k2t_status cfg_bool(json_t *c, const char *key, int def, int *out, k2t_err *err)
{
    json_t *v = get(c, key);
    long long x;
    if (!v) {
        *out = def;
        return K2T_OK;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return K2T_OK;
    }
    /* "scale": 1 is in a real Keras 2.14 file: Python wrote the int the
    ** user passed.  Accept 0 and 1 only; 7 is more likely a wrong key. */
    if (as_int(v, &x) && (x == 0 || x == 1)) {
        *out = (int)x;
        return K2T_OK;
    }
    return bad_type(err, key, "true or false", v);
}

k2t_status cfg_double(json_t *c, const char *key, double def, double *out, k2t_err *err)
{
    json_t *v = get(c, key);
    if (!v) {
        *out = def;
        return K2T_OK;
    }
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return K2T_OK;
    }
    /* Python writes NaN and Infinity as bare tokens jansson refuses; a
    ** loader that quotes them before parsing hands us these strings. */
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcmp(s, "NaN")) { *out = NAN; return K2T_OK; }
        if (!strcmp(s, "Infinity")) { *out = INFINITY; return K2T_OK; }
        if (!strcmp(s, "-Infinity")) { *out = -INFINITY; return K2T_OK; }
    }
    return bad_type(err, key, "a number", v);
}

k2t_status cfg_str(json_t *c, const char *key, const char *def, const char **out, k2t_err *err)
{
    json_t *v = get(c, key);
    if (!v) {
        *out = def;
        return K2T_OK;
    }
    if (!json_is_string(v)) return bad_type(err, key, "a string", v);
    *out = json_string_value(v);
    return K2T_OK;
}

k2t_status cfg_ints(json_t *c, const char *key, int n, int def, int *out, k2t_err *err)
{
    json_t *v = get(c, key);
    char want[64];
    snprintf(want, sizeof want, "an integer or a list of %d integers", n);
    if (!v) {
        for (int i = 0; i < n; i++) out[i] = def;
        return K2T_OK;
    }
    /* Keras's normalize_tuple repeats a single int over every dim; a
    ** one-element list is the same thing as Python's json writes it. */
    if (json_is_array(v) && json_array_size(v) == 1) v = json_array_get(v, 0);
    if (!json_is_array(v)) {
        int x;
        k2t_status st = int_value(v, key, want, &x, err);
        if (st) return st;
        for (int i = 0; i < n; i++) out[i] = x;
        return K2T_OK;
    }
    if (json_array_size(v) != (size_t)n) return bad_type(err, key, want, v);
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(v, (size_t)i);
        long long x;
        /* Quote the whole list, not the element, when one is not an int. */
        if (!as_int(e, &x)) return bad_type(err, key, want, v);
        k2t_status st = int_value(e, key, want, &out[i], err);
        if (st) return st;
    }
    return K2T_OK;
}

k2t_status cfg_int_list(json_t *c, const char *key, int *out, int max, int *n, k2t_err *err)
{
    json_t *v = get(c, key);
    *n = 0;
    if (!v) return K2T_OK;
    if (!json_is_array(v)) {
        if (max < 1) return k2t_fail(err, K2T_EFORMAT, "config key '%s' must be empty", key);
        k2t_status st = int_value(v, key, "an integer or a list of integers", &out[0], err);
        if (st == K2T_OK) *n = 1;
        return st;
    }
    size_t len = json_array_size(v);
    if (len > (size_t)max)
        return k2t_fail(err, K2T_EFORMAT, "config key '%s' has %zu entries, more than %d",
                        key, len, max);
    for (size_t i = 0; i < len; i++) {
        json_t *e = json_array_get(v, i);
        long long x;
        if (!as_int(e, &x)) return bad_type(err, key, "a list of integers", v);
        k2t_status st = int_value(e, key, "a list of integers", &out[i], err);
        if (st) return st;
    }
    *n = (int)len;
    return K2T_OK;
}

k2t_status cfg_padding(json_t *c, const char *key, k2t_pad *out, k2t_err *err)
{
    const char *s = "valid";
    k2t_status st = cfg_str(c, key, "valid", &s, err);
    if (st) return st;
    /* Keras lower-cases padding before use (conv_utils.normalize_padding). */
    if (!strcasecmp(s, "valid")) *out = K2T_PAD_VALID;
    else if (!strcasecmp(s, "same")) *out = K2T_PAD_SAME;
    else if (!strcasecmp(s, "causal")) *out = K2T_PAD_CAUSAL;
    else return bad_type(err, key, "'valid', 'same' or 'causal'", get(c, key));
    return K2T_OK;
}

k2t_status cfg_channels_first(json_t *c, int *out, k2t_err *err)
{
    const char *s = "channels_last";
    k2t_status st = cfg_str(c, "data_format", "channels_last", &s, err);
    if (st) return st;
    if (!strcasecmp(s, "channels_last")) *out = 0;
    else if (!strcasecmp(s, "channels_first")) *out = 1;
    else return bad_type(err, "data_format", "'channels_last' or 'channels_first'",
                         get(c, "data_format"));
    return K2T_OK;
}

k2t_status cfg_activation(json_t *c, const char *key, int keras_major, k2t_act *out,
                          char **unsupported, k2t_err *err)
{
    json_t *v = get(c, key);
    const char *name = NULL;
    *out = K2T_ACT_LINEAR;
    if (!v) return K2T_OK;
    if (json_is_string(v)) {
        name = json_string_value(v);
    } else if (json_is_object(v)) {
        /* Keras 3 .keras configs serialize a function as
        ** {"class_name": "function", "config": "relu", ...}.  An object
        ** used as an activation carries its class; its config "name" is
        ** then a layer's name, so it is read for functions only. */
        json_t *cfg = json_object_get(v, "config");
        const char *cls = json_string_value(json_object_get(v, "class_name"));
        const char *cname = json_string_value(json_object_get(cfg, "name"));
        if (json_is_string(cfg)) name = json_string_value(cfg);
        else if (cls && !strcmp(cls, "function") && cname) name = cname;
        else name = cls;
    }
    if (!name) return bad_type(err, key, "an activation name", v);
    if (k2t_act_parse(name, keras_major, out) == 0) return K2T_OK;
    if (unsupported && !*unsupported) {
        char msg[128];
        snprintf(msg, sizeof msg, "activation '%.80s' is not supported", name);
        *unsupported = k2t_xstrdup(msg);
    }
    *out = K2T_ACT_LINEAR;
    return K2T_OK;
}

void cfg_initializer(json_t *c, const char *key, char *out, size_t n)
{
    json_t *v = get(c, key);
    const char *name = "";
    if (n == 0) return;
    if (json_is_string(v)) name = json_string_value(v); /* "glorot_uniform" in old files */
    else if (json_is_string(json_object_get(v, "class_name")))
        name = json_string_value(json_object_get(v, "class_name"));
    snprintf(out, n, "%s", name);
}

/*---------------------------------------------------------- activations */

static const struct {
    const char *name;
    k2t_act act;
} act_names[] = {
    {"linear", K2T_ACT_LINEAR},
    {"relu", K2T_ACT_RELU},
    {"relu6", K2T_ACT_RELU6},
    {"sigmoid", K2T_ACT_SIGMOID},
    {"hard_sigmoid", K2T_ACT_HARD_SIGMOID}, /* K2T_ACT_HARD_SIGMOID3 in Keras 3 */
    {"tanh", K2T_ACT_TANH},
    {"softmax", K2T_ACT_SOFTMAX},
    {"softplus", K2T_ACT_SOFTPLUS},
    {"softsign", K2T_ACT_SOFTSIGN},
    {"elu", K2T_ACT_ELU},
    {"selu", K2T_ACT_SELU},
    {"swish", K2T_ACT_SWISH},
    {"silu", K2T_ACT_SWISH},
    {"gelu", K2T_ACT_GELU},
    {"exponential", K2T_ACT_EXPONENTIAL},
    {"leaky_relu", K2T_ACT_LEAKY_RELU},
    {"hard_silu", K2T_ACT_HARD_SWISH},
    {"hard_swish", K2T_ACT_HARD_SWISH},
};

int k2t_act_parse(const char *name, int keras_major, k2t_act *out)
{
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++) {
        if (strcmp(name, act_names[i].name) != 0) continue;
        *out = act_names[i].act;
        /* Same name, different function: Keras 3 changed hard_sigmoid
        ** from clip(0.2x+0.5) to clip(x/6+0.5). */
        if (*out == K2T_ACT_HARD_SIGMOID && keras_major >= 3) *out = K2T_ACT_HARD_SIGMOID3;
        return 0;
    }
    return -1;
}

/* The Keras name of each activation; both hard sigmoids are
** "hard_sigmoid" in their files, swish is Keras 2's spelling. */
static const char *const act_name_tab[] = {
    [K2T_ACT_LINEAR] = "linear",
    [K2T_ACT_RELU] = "relu",
    [K2T_ACT_RELU6] = "relu6",
    [K2T_ACT_SIGMOID] = "sigmoid",
    [K2T_ACT_HARD_SIGMOID] = "hard_sigmoid",
    [K2T_ACT_HARD_SIGMOID3] = "hard_sigmoid",
    [K2T_ACT_TANH] = "tanh",
    [K2T_ACT_SOFTMAX] = "softmax",
    [K2T_ACT_SOFTPLUS] = "softplus",
    [K2T_ACT_SOFTSIGN] = "softsign",
    [K2T_ACT_ELU] = "elu",
    [K2T_ACT_SELU] = "selu",
    [K2T_ACT_SWISH] = "swish",
    [K2T_ACT_GELU] = "gelu",
    [K2T_ACT_EXPONENTIAL] = "exponential",
    [K2T_ACT_LEAKY_RELU] = "leaky_relu",
    [K2T_ACT_HARD_SWISH] = "hard_silu",
};
static_assert(sizeof act_name_tab / sizeof act_name_tab[0] == K2T_ACT_COUNT,
              "one name per k2t_act");

const char *k2t_act_name(k2t_act a)
{
    if ((unsigned)a >= K2T_ACT_COUNT || !act_name_tab[a]) return "?";
    return act_name_tab[a];
}

/*------------------------------------------------------------- op names */

static const char *const op_name_tab[] = {
    [K2T_OP_NONE] = "none",
#define K2T_OP(id, def, name) [K2T_OP_##id] = name,
#include "ops/ops.def"
#undef K2T_OP
    [K2T_OP_UNSUPPORTED] = "unsupported",
};
static_assert(sizeof op_name_tab / sizeof op_name_tab[0] == K2T_OP_COUNT,
              "one name per k2t_op");

const char *k2t_op_name(k2t_op op)
{
    if ((unsigned)op >= K2T_OP_COUNT || !op_name_tab[op]) return "?";
    return op_name_tab[op];
}

const char *k2t_pad_name(k2t_pad p)
{
    switch (p) {
    case K2T_PAD_VALID: return "valid";
    case K2T_PAD_SAME: return "same";
    case K2T_PAD_CAUSAL: return "causal";
    }
    return "?";
}

/*--------------------------------------------------------------- shapes */

/* The dims are read as int, so pass int (a cast is needed for int64_t
** values: varargs do not convert).  ndim is clamped to 0..K2T_MAX_DIMS. */
k2t_shape k2t_shape_make(int ndim, ...)
{
    k2t_shape s;
    va_list ap;
    memset(&s, 0, sizeof s);
    if (ndim < 0) ndim = 0;
    if (ndim > K2T_MAX_DIMS) ndim = K2T_MAX_DIMS;
    s.ndim = ndim;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) s.d[i] = va_arg(ap, int);
    va_end(ap);
    return s;
}

/* 'axis' is as Keras writes it: it counts the batch dimension as 0, so
** axis 3 of an NHWC tensor is C, and -1 is the last.  'ndim' is the
** per-sample rank k2t uses.  Returns the per-sample index (0..ndim-1),
** or -1 when the axis is out of range or names the batch dimension. */
int k2t_norm_axis(int axis, int ndim)
{
    long full = (long)ndim + 1, a = axis;
    if (a < 0) a += full;
    if (a < 1 || a >= full) return -1;
    return (int)(a - 1);
}

/* TF's GetWindowedOutputSize: 'valid' keeps the windows that fit,
** floor((in - k_eff) / s) + 1; 'same' pads so that out = ceil(in / s);
** 'causal' pads k_eff - 1 on the left only, which gives the same length
** as 'same'.  k, s, d must be >= 1 (else -2).  Computed so that no
** intermediate exceeds 'in'. */
int64_t k2t_window_out(int64_t in, int k, int s, int d, k2t_pad pad)
{
    if (in < 0) return -1;
    if (k < 1 || s < 1 || d < 1) return -2;
    int64_t k_eff = (int64_t)(k - 1) * d + 1;
    if (pad == K2T_PAD_VALID) return in < k_eff ? -2 : (in - k_eff) / s + 1;
    return in == 0 ? 0 : (in - 1) / s + 1;
}

k2t_status k2t_shape_check(const k2t_shape *s, const char *what, k2t_err *err)
{
    char buf[160];
    int64_t n = 1;
    if (s->ndim < 0 || s->ndim > K2T_MAX_DIMS)
        return k2t_fail(err, K2T_ESHAPE, "%s has %d dimensions, more than %d", what, s->ndim,
                        K2T_MAX_DIMS);
    for (int i = 0; i < s->ndim; i++) {
        int64_t d = s->d[i];
        if (d < -1 || d > K2T_MAX_NUMEL) {
            /* k2t_shape_str would print a negative dim as None: be explicit. */
            return k2t_fail(err, d < 0 ? K2T_ESHAPE : K2T_ENOMEM,
                            "%s dimension %d is %lld, outside 0..%lld", what, i, (long long)d,
                            (long long)K2T_MAX_NUMEL);
        }
        if (d < 0) continue;
        /* Both factors are at most K2T_MAX_NUMEL (2^31): the product fits. */
        n *= d;
        if (n > K2T_MAX_NUMEL)
            return k2t_fail(err, K2T_ENOMEM, "%s %s has more than %lld elements", what,
                            k2t_shape_str(s, 0, buf, sizeof buf), (long long)K2T_MAX_NUMEL);
    }
    return K2T_OK;
}

void k2t_set_unsupported(k2t_layer *L, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    if (L->unsupported) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    L->unsupported = k2t_xstrdup(msg);
}

k2t_status cfg_wrapped(json_t *c, const char **cls, json_t **cfg, k2t_err *err)
{
    json_t *inner = json_object_get(c, "layer");
    json_t *icfg = json_is_object(inner) ? json_object_get(inner, "config") : NULL;
    json_t *icls = json_is_object(inner) ? json_object_get(inner, "class_name") : NULL;
    if (!json_is_string(icls) || !json_is_object(icfg))
        return k2t_fail(err, K2T_EFORMAT, "config key 'layer' must be a {class_name, config} object");
    *cls = json_string_value(icls);
    *cfg = icfg;
    return K2T_OK;
}
