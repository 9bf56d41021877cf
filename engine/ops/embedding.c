/*
** embedding.c -- what a sequence model reads first: Embedding (integer
** ids to rows of its (input_dim, output_dim) matrix) and Masking, the
** layers that make Keras's masks (mask_zero: the ids of 0; Masking: the
** steps whose features all equal mask_value).  The recurrent layers that
** skip the masked steps are in recurrent.c.
**
** Embedding's ids are the input's values, truncated as TF casts floats.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../op.h"
#include "../py.h"

/*------------------------------------------------------------- Embedding */

static k2t_status embedding_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    k2t_cfg *g = &L->cfg;
    int mask = 0;
    k2t_status st;
    (void)m;
    if ((st = cfg_require(c, "input_dim", err)) || (st = cfg_int(c, "input_dim", 0, &g->input_dim, err)) ||
        (st = cfg_require(c, "output_dim", err)) || (st = cfg_int(c, "output_dim", 0, &g->units, err)) ||
        (st = cfg_bool(c, "mask_zero", 0, &mask, err)))
        return st;
    if (g->input_dim <= 0 || g->units <= 0)
        return k2t_fail(err, K2T_EFORMAT, "config keys 'input_dim' and 'output_dim' must be positive");
    g->makes_mask = mask; /* ids of 0 are padding: a mask for the layers after (Keras's compute_mask) */
    return K2T_OK;
}

static k2t_status embedding_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out, k2t_err *err)
{
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (in->ndim + 1 > K2T_MAX_DIMS) return k2t_fail(err, K2T_ESHAPE, "input of too many dimensions");
    *out = *in;
    out->d[out->ndim++] = L->cfg.units;
    return K2T_OK;
}

static int embedding_weights(const k2t_layer *L, const k2t_shape *in, k2t_wspec *spec)
{
    (void)in;
    spec[0] = (k2t_wspec){.name = "embeddings", .trainable = 1,
                          .shape = {.ndim = 2, .d = {L->cfg.input_dim, L->cfg.units}}};
    return 1;
}

static void embedding_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "input_dim=%d, output_dim=%d", L->cfg.input_dim, L->cfg.units);
}

static int embedding_torch(const k2t_layer *L, int wi, k2t_tw *tw)
{
    tw->suffix = "weight";
    tw->shape = L->w[wi].shape;
    return 0;
}

static void embedding_forward(const k2t_step *s, const k2t_fwd *f)
{
    const k2t_weight *E = k2t_layer_weight(s->L, "embeddings");
    int d = s->L->cfg.units, V = s->L->cfg.input_dim;
    int64_t ids = (int64_t)f->n * (s->numel / d), per = s->numel / d;
    for (int64_t i = 0; i < ids; i++) {
        float v = f->x[0][i];
        int64_t id = v >= 0 && v < (float)V ? (int64_t)v : -1; /* TF casts, then gathers */
        /* mask_zero: the mask is per step of the first axis; with more id
        ** axes (T, k) a step is padding when all its ids are 0 */
        if (f->mask_out && i % (per / s->mask_len) == 0) f->mask_out[i / (per / s->mask_len)] = 0.0f;
        if (f->mask_out && (int64_t)v != 0) f->mask_out[i / (per / s->mask_len)] = 1.0f;
        if (id < 0) memset(f->y + i * d, 0, (size_t)d * sizeof(float)); /* out of range: zeros (TF's CPU gather fails) */
        else memcpy(f->y + i * d, E->data + id * d, (size_t)d * sizeof(float));
    }
}

static void masking_hazards(k2t_hz *h);

static void embedding_hazards(k2t_hz *h)
{
    masking_hazards(h);
    k2t_hz_say(h, K2T_PIT_PREPROCESS, 0, "takes integer ids below %d; nn.Embedding(%d, %d) needs them as a "
               "LongTensor", h->L->cfg.input_dim, h->L->cfg.input_dim, h->L->cfg.units);
    k2t_hz_code(h, "x = torch.from_numpy(ids).long()");
}

/*-------------------------------------------------------------- Masking */

/* Masking(mask_value): a step whose features all equal mask_value is
** padding: its output is zeros and the mask marks it, so that the
** recurrent layers after it skip it (the state carries over). */
static k2t_status masking_parse(k2t_layer *L, json_t *c, const k2t_model *m, k2t_err *err)
{
    (void)m;
    L->cfg.makes_mask = 1;
    return cfg_double(c, "mask_value", 0.0, &L->cfg.mask_value, err);
}

static k2t_status masking_infer(const k2t_layer *L, const k2t_shape *in, int n_in, k2t_shape *out, k2t_err *err)
{
    (void)L;
    if (n_in != 1) return k2t_fail(err, K2T_ESHAPE, "expects 1 input, got %d", n_in);
    if (in->ndim != 2)
        return k2t_fail(err, K2T_EUNSUPPORTED, "masks a sequence (T, F) per sample; this input has %d dimensions",
                        in->ndim);
    *out = *in;
    return K2T_OK;
}

static void masking_describe(const k2t_layer *L, k2t_buf *b)
{
    k2t_buf_printf(b, "mask_value=%g", L->cfg.mask_value);
}

static void masking_forward(const k2t_step *s, const k2t_fwd *f)
{
    int64_t T = s->shape.d[0], F = s->shape.d[1];
    float mv = (float)s->L->cfg.mask_value;
    for (int64_t r = 0; r < (int64_t)f->n * T; r++) {
        const float *x = f->x[0] + r * F;
        float *y = f->y + r * F;
        int keep = 0;
        for (int64_t j = 0; j < F && !keep; j++) keep = x[j] != mv;
        if (keep) {
            if (y != x) memcpy(y, x, (size_t)F * sizeof(float));
        } else {
            memset(y, 0, (size_t)F * sizeof(float));
        }
        if (f->mask_out) f->mask_out[r] = (float)keep;
    }
}

/* What a port must do about padding steps, at the layer that marks them. */
static void masking_hazards(k2t_hz *h)
{
    if (!h->L->cfg.makes_mask) return;
    k2t_hz_say(h, K2T_PIT_MASK, 1, "%s marks padding steps, which Keras's recurrent layers after it skip (the "
               "state carries over); nn.LSTM/GRU/RNN read every step: pack right-padded sequences with their "
               "lengths; left-padded ones (pad_sequences' default) need a step loop",
               h->L->op == K2T_OP_EMBEDDING ? "mask_zero=True (ids of 0)" : "Masking");
    k2t_hz_code(h, "x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)");
}

/* A step whose features all equal mask_value (on dim 1, channels first)
** is padding: zeros here, and masked for the layers after. */
static k2t_status masking_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0);
    char mk[600], mv[64];
    const char *mask = k2t_py_mask_out(y, i, mk, sizeof mk);
    (void)err;
    k2t_py_printf(y, "        %s = (%s != %s).any(1)  # (N, T): False where every feature is mask_value "
                  "(padding: Keras's recurrent layers skip it)\n", mask, a,
                  k2t_pyfloat(k2t_py_layer(y, i)->cfg.mask_value, mv, sizeof mv));
    k2t_py_printf(y, "        %s = %s * %s[:, None].to(%s.dtype)  # zeros at padding steps\n", v, a, mask, a);
    return K2T_OK;
}

/* mask_zero marks steps of the first id axis; a port's mask here is (N, T). */
static const char *masking_unexportable(const k2t_layer *L, const k2t_shape *in)
{
    if (L->op == K2T_OP_EMBEDDING && L->cfg.makes_mask && in && in->ndim != 1)
        return "mask_zero on ids of more than one axis per sample: export writes masks of (N, T) ids";
    return NULL;
}

/*------------------------------------------------------- PyTorch export */

static int embedding_module(const k2t_layer *L, const k2t_shape *in, int ph, int pw, char *buf, size_t n)
{
    (void)in, (void)ph, (void)pw;
    int len = snprintf(buf, n, "nn.Embedding(%d, %d)", L->cfg.input_dim, L->cfg.units);
    return len >= 0 && (size_t)len < n ? len : -1;
}

static k2t_status embedding_py_forward(k2t_py *y, int i, k2t_err *err)
{
    const k2t_model *m = k2t_py_model(y);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    const char *v = k2t_py_var(y, i), *a = k2t_py_in(y, i, 0), *attr = k2t_py_attr(y, m->nodes[i].layer);
    char mk[600];
    const char *mask = k2t_py_mask_out(y, i, mk, sizeof mk);
    (void)err;
    if (mask)
        k2t_py_printf(y, "        %s = %s.long() != 0  # mask_zero: ids of 0 are padding steps, skipped by the "
                      "recurrent layers after\n", mask, a);
    k2t_py_printf(y, "        %s = self.%s(%s.long())%s\n", v, attr, a,
                  in && in->ndim >= 1 ? ".movedim(-1, 1)  # ids -> (N, dim, ...)" : "");
    return K2T_OK;
}

/*----------------------------------------------------------------- defs */

static const char *const embedding_classes[] = {"Embedding", NULL};
static const char *const masking_classes[] = {"Masking", NULL};
static const char *const embedding_modules[] = {"Embedding", NULL};

const k2t_op_def k2t_op_embedding = {
    .op = K2T_OP_EMBEDDING, .classes = embedding_classes, .torch_modules = embedding_modules, .min_in = 1,
    .max_in = 1, .parse = embedding_parse, .infer = embedding_infer, .weights = embedding_weights,
    .describe = embedding_describe, .torch = embedding_torch, .hazards = embedding_hazards,
    .forward = embedding_forward, .flags = K2T_OPF_MODULE | K2T_OPF_MASK_MAKE, .module = embedding_module,
    .py_forward = embedding_py_forward, .unexportable = masking_unexportable,
};

const k2t_op_def k2t_op_masking = {
    .op = K2T_OP_MASKING, .classes = masking_classes, .min_in = 1, .max_in = 1, .parse = masking_parse,
    .infer = masking_infer, .describe = masking_describe, .hazards = masking_hazards,
    .forward = masking_forward, .flags = K2T_OPF_MASK_MAKE, .py_forward = masking_py_forward,
    .unexportable = masking_unexportable,
};
