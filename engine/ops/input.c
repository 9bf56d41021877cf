/*
** input.c -- InputLayer: where a model's per-sample shape comes from.
**
** Keras 2 writes "batch_input_shape": [null, 32, 32, 3], Keras 3
** "batch_shape"; a hand-written or very old config may carry
** "input_shape" without the batch dimension.  The batch dimension is
** dropped and null dims become -1.  The loader also calls this parse on
** the first layer of a Sequential model, which may carry
** batch_input_shape itself; there a missing key is simply no shape.
** Dims are checked against K2T_MAX_NUMEL here, at the source, so every
** op downstream can do its arithmetic in int64 without overflow.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../internal.h"
#include "../py.h"

/* Read 'key' (a list of ints and nulls) into cfg.input_shape, dropping
** the first entry when it is the batch dimension. */
static k2t_status read_shape(k2t_layer *L, json_t *c, const char *key, int has_batch,
                             k2t_err *err)
{
    json_t *v = json_object_get(c, key);
    size_t n = json_array_size(v);
    k2t_shape *s = &L->cfg.input_shape;
    if (!json_is_array(v) || (has_batch && n == 0))
        return k2t_fail(err, K2T_EFORMAT, "config key '%s' must be a list of dimensions%s", key,
                        has_batch ? " starting with the batch" : "");
    if (n - (size_t)has_batch > K2T_MAX_DIMS)
        return k2t_fail(err, K2T_EFORMAT, "config key '%s' has %zu dimensions, more than %d",
                        key, n - (size_t)has_batch, K2T_MAX_DIMS);
    memset(s, 0, sizeof *s);
    s->ndim = (int)(n - (size_t)has_batch);
    for (int i = 0; i < s->ndim; i++) {
        json_t *e = json_array_get(v, (size_t)i + (size_t)has_batch);
        double x = json_number_value(e);
        if (json_is_null(e)) {
            s->d[i] = -1;
        } else if (json_is_integer(e) && json_integer_value(e) >= 0 &&
                   json_integer_value(e) <= K2T_MAX_NUMEL) {
            s->d[i] = json_integer_value(e);
        } else if (json_is_real(e) && x >= 0 && x <= (double)K2T_MAX_NUMEL &&
                   (double)(int64_t)x == x) {
            s->d[i] = (int64_t)x;
        } else {
            char buf[64];
            char *t = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
            snprintf(buf, sizeof buf, "%.40s", t ? t : "?");
            free(t);
            return k2t_fail(err, K2T_EFORMAT,
                            "config key '%s' has dimension %s; dimensions must be null or "
                            "0..%lld", key, buf, (long long)K2T_MAX_NUMEL);
        }
    }
    L->cfg.has_input_shape = 1;
    return k2t_shape_check(s, "input shape", err);
}

static k2t_status input_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    int sparse = 0, ragged = 0;
    k2t_status st;
    (void)m;
    if (json_object_get(c, "batch_input_shape") && !json_is_null(json_object_get(c, "batch_input_shape")))
        st = read_shape(L, c, "batch_input_shape", 1, err);
    else if (json_object_get(c, "batch_shape") && !json_is_null(json_object_get(c, "batch_shape")))
        st = read_shape(L, c, "batch_shape", 1, err);
    else if (json_object_get(c, "input_shape") && !json_is_null(json_object_get(c, "input_shape")))
        st = read_shape(L, c, "input_shape", 0, err);
    else
        st = K2T_OK;
    if (st || (st = cfg_bool(c, "sparse", 0, &sparse, err)) ||
        (st = cfg_bool(c, "ragged", 0, &ragged, err)))
        return st;
    if (sparse) k2t_set_unsupported(L, "sparse inputs are not supported");
    if (ragged) k2t_set_unsupported(L, "ragged inputs are not supported");
    return K2T_OK;
}

static k2t_status input_infer(const k2t_layer *L, const k2t_shape *in, int n_in,
                              k2t_shape *out, k2t_err *err)
{
    (void)in;
    if (n_in != 0) return k2t_fail(err, K2T_ESHAPE, "an InputLayer takes no inputs, got %d", n_in);
    if (!L->cfg.has_input_shape)
        return k2t_fail(err, K2T_EFORMAT,
                        "InputLayer has no shape (no 'batch_input_shape' or 'batch_shape' key)");
    *out = L->cfg.input_shape;
    return K2T_OK;
}

static void input_describe(const k2t_layer *L, k2t_buf *b)
{
    char buf[160];
    if (!L->cfg.has_input_shape) {
        k2t_buf_printf(b, "shape=unknown");
        return;
    }
    k2t_buf_printf(b, "shape=%s", k2t_shape_str(&L->cfg.input_shape, 1, buf, sizeof buf));
}

/*----------------------------------------------------------- port hazards */

static void input_hazards(k2t_hz *h)
{
    const k2t_shape *s = &h->N->shape;
    char s1[96], s2[96], p1[64];
    if (h->port->preprocess != h->ref->preprocess)
        k2t_hz_say(h, K2T_PIT_PREPROCESS, 1, "the port's input is scaled '%s', the reference's '%s': the model "
                   "sees other numbers from its first layer on", k2t_pre_names[h->port->preprocess],
                   k2t_pre_names[h->ref->preprocess]);
    k2t_hz_input_scale(h);
    if (s->ndim < 2) return;
    if (k2t_model_chw(h->m)) {
        k2t_hz_say(h, K2T_PIT_LAYOUT, 0, "Keras's input is %s, channels first (data_format "
                   "channels_first), as a PyTorch port's: no permute", k2t_shape_str(s, 1, s1, sizeof s1));
        return;
    }
    k2t_shape t = k2t_shape_nchw(s);
    k2t_hz_say(h, K2T_PIT_LAYOUT, 1, "Keras's input is %s, channels last; a PyTorch port's is %s",
               k2t_shape_str(s, 1, s1, sizeof s1), k2t_shape_str(&t, 1, s2, sizeof s2));
    k2t_hz_code(h, "x = torch.from_numpy(x_keras).%s", k2t_perm_str(p1, sizeof p1, s->ndim, 0));
}

/*--- PyTorch export ---*/

/* An InputLayer inside a nested model passes its producer on; the
** model's own inputs are forward()'s arguments (export writes those). */
static k2t_status input_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    if (m->nodes[i].n_in != 1)
        return k2t_py_fail(k2t_node_layer(m, i), err, "an InputLayer that is not one of the model's inputs");
    k2t_py_printf(y, "        %s = %s\n", k2t_py_var(y, i), k2t_py_in(y, i, 0));
    return K2T_OK;
}
/*----------------------------------------------------------- execution */

#include "../op.h"

/* No plan and no forward: k2t_run_set_input fills the buffer, in the
** run's layout (K2T_OPF_NCHW). */

static const char *const input_classes[] = {"InputLayer", NULL};

const k2t_op_def k2t_op_input = {
    .op = K2T_OP_INPUT, .classes = input_classes, .min_in = 0, .max_in = 0, .parse = input_parse,
    .infer = input_infer, .describe = input_describe, .hazards = input_hazards,
    .py_forward = input_py_forward, .flags = K2T_OPF_INPUT | K2T_OPF_NCHW,
};
