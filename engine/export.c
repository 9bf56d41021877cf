/*
** export.c -- a Keras model as a PyTorch port: its weights as a
** safetensors file, and its architecture as one readable Python file.
**
** Both exports share one plan (make_plan): every layer must be one k2t
** executes; each layer with weights becomes one attribute of the module,
** named by k2t_torch_ident (the same name k2t_torch_param and the
** safetensors file use); a Flatten of a spatial map that feeds only Dense
** layers (through Dropout and other elementwise layers) flattens the NCHW
** tensor directly, and those Dense layers get their input columns permuted
** (KERAS-FORMAT 6).
**
** The Python module holds every activation channels first: a Keras
** (H, W, C) is (C, H, W), (L, C) is (C, L), a vector stays a vector.  Its
** forward() is straight-line code in the graph's topological order, one
** variable per layer, with the exact TF pads of each 'same' window for the
** input size the export was made with: symmetric pads in the module's
** padding= (when every call of the layer has the same), else F.pad then
** padding=0 (k2t_py_module_input).
**
** This file is the writer, without knowledge of layer kinds: each op
** (engine/ops/<family>.c, k2t_op_def) writes its module constructor, its
** __init__ and forward() lines through the helpers of engine/py.h, lists
** the tensors its module has beyond Keras's weights, and declares what
** the plan needs as flags (K2T_OPF_MODULE, _KEEPS_ORDER, _FLATTENS,
** _FEATURES, _WINDOW), asks for the helper code it needs (KerasRNN,
** SeparableConv2d), and reads Keras's masks through k2t_py_mask_in; a
** wrapper writes its inner kind's lines through k2t_py_sub_begin.  The
** expressions ops share are engine/pyexpr.c's.  Weights become PyTorch's tensors through the op's
** k2t_tw (k2t_tw_apply); the one export-only twist, a K2T_OPF_FEATURES
** kernel after an NCHW Flatten, permutes that tensor's columns.
**
** The module's self-test (issue 10): forward(..., trace=dict) hands over
** every layer's output and an output's logits before its activation; the
** test vectors (the input, Keras's outputs and layer outputs on it, in the
** module's layout) are a safetensors file next to the .py, read by the
** file's own loader, compared tensor by tensor within K2T_PY_TOLERANCE
** relative.  forward() checks the input size its pads were computed for.
**
** Files are written through k2t_write_file_safe (engine/util.c), as save
** writes: an existing file is kept without 'force', a link is replaced,
** never written through, a device or FIFO is refused, and a failed export
** leaves nothing behind.
*/
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"
#include "kernels.h"
#include "py.h"

/* The self-test's relative tolerance: float32 rounding through a deep
** network stays well below; an eps, a pad, a kernel or a Flatten order
** wrong moves some layer's output far above (tests/py/test_selftest.py). */
#define K2T_PY_TOLERANCE "1e-4"

/*------------------------------------------------------------- names */

static const char *const py_keywords[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", NULL,
};

/* Public members of torch.nn.Module (1.13 to 2.x): an attribute of that
** name would replace a method the module needs. */
static const char *const module_members[] = {
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "smart_apply", "state_dict", "to", "to_empty", "train", "training",
    "type", "xpu", "zero_grad", NULL,
};

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s)) return 1;
    return 0;
}

char *k2t_torch_ident(const char *name, char *out, size_t n)
{
    size_t j = 0;
    if (n == 0) return out;
    if (!name || !*name) name = "layer";
    /* A leading digit cannot start an identifier; a leading underscore
    ** could land on nn.Module's own _parameters, _modules, ... */
    if ((*name >= '0' && *name <= '9') || *name == '_') {
        const char *pre = *name == '_' ? "layer" : "layer_";
        for (; *pre && j + 1 < n; pre++) out[j++] = *pre;
    }
    for (const char *p = name; *p && j + 1 < n; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_';
        out[j++] = ok ? (char)c : '_';
    }
    out[j] = '\0';
    if ((in_list(py_keywords, out) || in_list(module_members, out)) && j + 1 < n) {
        out[j++] = '_';
        out[j] = '\0';
    }
    return out;
}

/*-------------------------------------------------------------- the plan */

typedef struct plan {
    const k2t_model *m;
    char **attr;          /* per layer: the module attribute, NULL without weights */
    int *perm;            /* per layer: a Dense whose input columns are permuted */
    k2t_shape *pshape;    /* per layer (perm): the Keras shape before the Flatten */
    int *chw;             /* per node: a Flatten output in C,H,W order (or one passed on) */
    k2t_shape *shape;     /* per node: per-sample Keras output shape */
} plan;

static void plan_free(plan *p)
{
    if (p->attr)
        for (int i = 0; i < p->m->n_layers; i++) free(p->attr[i]);
    free(p->attr);
    free(p->perm);
    free(p->pshape);
    free(p->chw);
    free(p->shape);
    memset(p, 0, sizeof *p);
}

static unsigned flags_of(const k2t_layer *L)
{
    const k2t_op_def *def = k2t_op_def_of(L->op);
    return def ? def->flags : 0;
}

/* Layers whose attribute is a torch module: the op has one
** (K2T_OPF_MODULE) and the layer has weights (a LayerNormalization
** without gamma and beta is F.layer_norm), or an inference identity. */
static int has_module(const k2t_layer *L)
{
    /* Dropout and the other inference identities are modules too, as in a
    ** real port (issue 10), though without weights. */
    if (L->op == K2T_OP_IDENTITY) return 1;
    return (flags_of(L) & K2T_OPF_MODULE) && L->n_w > 0;
}

/* Elementwise layers a C,H,W-ordered vector may pass through unchanged in
** meaning (the order of features does not matter to them). */
static int passthrough(const k2t_layer *L)
{
    return (flags_of(L) & K2T_OPF_KEEPS_ORDER) != 0;
}

static int shape_eq(const k2t_shape *a, const k2t_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return 0;
    return 1;
}

/* Which Flatten layers may flatten NCHW directly: those whose every
** reader (through passthrough layers) is a Dense that only ever reads such
** vectors of one shape.  A fixed point: dropping one Flatten may make a
** Dense ineligible, which drops the other Flattens feeding it. */
static void plan_flatten(plan *p)
{
    const k2t_model *m = p->m;
    int *on = k2t_xcalloc((size_t)m->n_nodes, sizeof(int));
    int *src = k2t_xcalloc((size_t)m->n_nodes, sizeof(int));
    int *pset = k2t_xcalloc((size_t)m->n_layers, sizeof(int));
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_node *N = &m->nodes[i];
        if (!(flags_of(k2t_node_layer(m, i)) & K2T_OPF_FLATTENS) || N->n_in != 1) continue;
        const k2t_shape *s = &m->nodes[N->in[0]].shape;
        on[i] = s->ndim >= 2 && k2t_shape_numel(s) > 0;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < m->n_nodes; i++) {
            const k2t_node *N = &m->nodes[i];
            const k2t_layer *L = k2t_node_layer(m, i);
            src[i] = -1;
            if ((flags_of(L) & K2T_OPF_FLATTENS) && on[i]) src[i] = i;
            else if (passthrough(L) && N->n_in == 1) src[i] = src[N->in[0]];
        }
        for (int li = 0; li < m->n_layers; li++)
            p->perm[li] = (flags_of(&m->layers[li]) & K2T_OPF_FEATURES) != 0;
        memset(pset, 0, (size_t)m->n_layers * sizeof(int));
        for (int i = 0; i < m->n_nodes; i++) {
            const k2t_node *N = &m->nodes[i];
            int li = N->layer;
            if (!p->perm[li]) continue;
            int s = N->n_in == 1 ? src[N->in[0]] : -1;
            const k2t_weight *k = k2t_layer_weight(&m->layers[li], "kernel");
            if (s < 0 || !k) {
                p->perm[li] = 0;
                continue;
            }
            const k2t_shape *fs = &m->nodes[m->nodes[s].in[0]].shape;
            if (k->shape.ndim != 2 || k->shape.d[0] != k2t_shape_numel(fs) ||
                (pset[li] && !shape_eq(&p->pshape[li], fs))) {
                p->perm[li] = 0;
                continue;
            }
            p->pshape[li] = *fs;
            pset[li] = 1;
        }
        for (int i = 0; i < m->n_nodes; i++) {
            const k2t_node *N = &m->nodes[i];
            if (src[i] < 0 || !on[src[i]]) continue;
            int bad = N->is_output;
            for (int j = 0; j < N->n_out && !bad; j++) {
                const k2t_node *C = &m->nodes[N->out[j]];
                const k2t_layer *Lc = &m->layers[C->layer];
                if (passthrough(Lc) && C->n_in == 1) continue;
                if (p->perm[C->layer]) continue;
                bad = 1;
            }
            if (bad) {
                on[src[i]] = 0;
                changed = 1;
            }
        }
    }
    for (int i = 0; i < m->n_nodes; i++) p->chw[i] = src[i] >= 0;
    for (int li = 0; li < m->n_layers; li++)
        if (p->perm[li] && !pset[li]) p->perm[li] = 0; /* never called */
    free(on);
    free(src);
    free(pset);
}

/* The first node that calls layer li, or -1. */
static int first_call(const k2t_model *m, int li)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].layer == li) return i;
    return -1;
}

static k2t_status layer_fail(const k2t_layer *L, k2t_err *err, const char *why)
{
    return k2t_fail(err, K2T_EUNSUPPORTED, "layer '%s' (%s) cannot be exported: %s", L->name,
                    L->class_name ? L->class_name : "?", why);
}

/* Check that m can be exported and name its modules. */
static k2t_status make_plan(const k2t_model *m, plan *p, k2t_err *err)
{
    memset(p, 0, sizeof *p);
    p->m = m;
    if (!m->has_arch)
        return k2t_fail(err, K2T_EUNSUPPORTED, "'%s' holds weights only: without the architecture "
                        "there is no PyTorch layout to export", m->path);
    for (int i = 0; i < m->n_layers; i++) {
        const k2t_layer *L = &m->layers[i];
        const k2t_op_def *def = k2t_op_def_of(L->op);
        if (def && def->unexportable && !L->unsupported) { /* the op's own reason first */
            int call = first_call(m, i);
            const char *why = def->unexportable(L, call >= 0 && m->nodes[call].n_in == 1
                                                       ? &m->nodes[m->nodes[call].in[0]].shape
                                                       : NULL);
            if (why) return layer_fail(L, err, why);
        }
        if (!def || !def->py_forward)
            return layer_fail(L, err, L->unsupported ? L->unsupported
                                                     : "k2t does not support this class");
        if (L->unsupported) return layer_fail(L, err, L->unsupported);
        /* The generated module holds Keras's (H, W, C) as (C, H, W); the
        ** tensors of a channels_first model are (C, H, W) already, which
        ** no op's PyTorch code here assumes yet: refuse rather than write
        ** a wrong port. */
        if (L->cfg.channels_first)
            return layer_fail(L, err, "data_format channels_first: export writes ports of "
                              "channels_last models only (this model's tensors are already "
                              "PyTorch's (C, H, W); run, diff and check work on it)");
    }
    p->attr = k2t_xcalloc((size_t)m->n_layers, sizeof(char *));
    p->perm = k2t_xcalloc((size_t)m->n_layers, sizeof(int));
    p->pshape = k2t_xcalloc((size_t)m->n_layers, sizeof(k2t_shape));
    p->chw = k2t_xcalloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(int));
    p->shape = k2t_xcalloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(k2t_shape));
    for (int i = 0; i < m->n_nodes; i++) p->shape[i] = m->nodes[i].shape;
    for (int i = 0; i < m->n_layers; i++) {
        char buf[512];
        if (!has_module(&m->layers[i])) continue;
        p->attr[i] = k2t_xstrdup(k2t_torch_ident(m->layers[i].name, buf, sizeof buf));
        for (int j = 0; j < i; j++)
            if (p->attr[j] && !strcmp(p->attr[j], p->attr[i])) {
                k2t_status st = k2t_fail(err, K2T_EUNSUPPORTED, "layers '%s' and '%s' would both "
                                         "be the PyTorch attribute '%s'", m->layers[j].name,
                                         m->layers[i].name, p->attr[i]);
                plan_free(p);
                return st;
            }
    }
    plan_flatten(p);
    return K2T_OK;
}

k2t_status k2t_export_check(const k2t_model *m, k2t_err *err)
{
    plan p;
    k2t_status st = make_plan(m, &p, err);
    if (st == K2T_OK) plan_free(&p);
    return st;
}

/*------------------------------------------------------------ tensors */

/* How a tensor's values are made: a Keras weight through its op's
** k2t_tw (k2t_tw_apply), a fill, or an int64 zero. */
enum { T_WEIGHT, T_FILL, T_I64 };

typedef struct tensor {
    char name[560];
    k2t_shape shape;      /* PyTorch shape */
    int kind;             /* T_* */
    const k2t_weight *w;  /* T_WEIGHT: the Keras weight */
    k2t_tw tw;            /* T_WEIGHT: its PyTorch layout, from the op */
    float fill;           /* T_FILL */
    const k2t_shape *pshape; /* a K2T_OPF_FEATURES kernel read after an NCHW Flatten of this
                             ** Keras shape: its columns are permuted, or NULL */
    int64_t begin, end;   /* byte offsets in the data buffer */
} tensor;

static int elem_size(const tensor *t)
{
    return t->kind == T_I64 ? 8 : 4;
}

static int tensor_cmp(const void *a, const void *b)
{
    const tensor *x = a, *y = b;
    if (elem_size(x) != elem_size(y)) return elem_size(y) - elem_size(x);
    return strcmp(x->name, y->name);
}

static void add_tensor(tensor **v, int *n, int *cap, const tensor *t)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 32;
        *v = k2t_xrealloc(*v, (size_t)*cap * sizeof(tensor));
    }
    (*v)[(*n)++] = *t;
}

/* Every tensor of the state_dict, sorted as safetensors writes them, with
** their offsets.  *total gets the data size in bytes. */
static k2t_status list_tensors(const plan *p, tensor **out, int *n_out, int64_t *total,
                               k2t_err *err)
{
    const k2t_model *m = p->m;
    tensor *v = NULL;
    int n = 0, cap = 0;
    for (int li = 0; li < m->n_layers; li++) {
        const k2t_layer *L = &m->layers[li];
        if (!p->attr[li]) continue;
        for (int wi = 0; wi < L->n_w; wi++) {
            tensor t;
            memset(&t, 0, sizeof t);
            if (k2t_torch_param(m, L, wi, t.name, sizeof t.name, &t.shape) != 0) {
                free(v);
                return k2t_fail(err, K2T_EUNSUPPORTED, "layer '%s' (%s): weight '%s' has no "
                                "PyTorch counterpart", L->name, L->class_name, L->w[wi].name);
            }
            k2t_layer_tw(L, wi, &t.tw);
            if (!L->w[wi].data || k2t_shape_numel(&t.shape) != k2t_tw_numel(&L->w[wi], &t.tw)) {
                free(v);
                return k2t_fail(err, K2T_EFORMAT, "layer '%s' (%s): weight '%s' has no data of "
                                "its shape", L->name, L->class_name, L->w[wi].name);
            }
            t.w = &L->w[wi];
            t.kind = T_WEIGHT;
            if (p->perm[li] && !strcmp(t.w->name, "kernel")) t.pshape = &p->pshape[li];
            add_tensor(&v, &n, &cap, &t);
        }
        const k2t_op_def *def = k2t_op_def_of(L->op);
        k2t_xt x[K2T_MAX_XT];
        int nx = 0;
        if (def && def->extra_tensors) {
            k2t_status st = def->extra_tensors(L, x, &nx, err);
            if (st != K2T_OK) {
                free(v);
                return st;
            }
        }
        for (int k = 0; k < nx; k++) {
            tensor t;
            memset(&t, 0, sizeof t);
            snprintf(t.name, sizeof t.name, "%s.%s", p->attr[li], x[k].suffix);
            t.shape = x[k].shape;
            t.kind = x[k].i64 ? T_I64 : T_FILL;
            t.fill = x[k].fill;
            if (x[k].wi1 > 0 && x[k].wi1 <= L->n_w) { /* another view of a weight */
                t.kind = T_WEIGHT;
                t.w = &L->w[x[k].wi1 - 1];
                t.tw = x[k].tw;
                if (!t.w->data || k2t_shape_numel(&t.shape) != k2t_tw_numel(t.w, &t.tw)) {
                    free(v);
                    return k2t_fail(err, K2T_EFORMAT, "layer '%s' (%s): weight '%s' has no data of its shape",
                                    L->name, L->class_name, t.w->name);
                }
            }
            add_tensor(&v, &n, &cap, &t);
        }
    }
    if (n) qsort(v, (size_t)n, sizeof *v, tensor_cmp);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        int64_t numel = k2t_shape_numel(&v[i].shape);
        v[i].begin = off;
        off += (numel < 0 ? 0 : numel) * elem_size(&v[i]);
        v[i].end = off;
    }
    *out = v;
    *n_out = n;
    *total = off;
    return K2T_OK;
}

/* The torch tensor's values (numel floats): the Keras weight in PyTorch's
** layout (k2t_tw_apply), then, for a kernel read after an NCHW Flatten of
** (S..., C), each row's columns permuted: column c*S + s holds Keras's
** input feature s*C + c (KERAS-FORMAT 6). */
static void convert(const tensor *t, float *o)
{
    int64_t numel = k2t_shape_numel(&t->shape);
    if (t->kind == T_FILL) {
        for (int64_t i = 0; i < numel; i++) o[i] = t->fill;
        return;
    }
    k2t_tw_apply(t->w, &t->tw, o);
    if (!t->pshape || t->shape.ndim != 2) return;
    int64_t U = t->shape.d[0], I = t->shape.d[1], C = t->pshape->d[t->pshape->ndim - 1];
    int64_t S = C ? I / C : 0;
    float *row = k2t_xmalloc((size_t)(I ? I : 1) * sizeof(float));
    for (int64_t u = 0; u < U; u++) {
        float *r = o + u * I;
        for (int64_t c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++) row[c * S + s] = r[s * C + c];
        memcpy(r, row, (size_t)I * sizeof(float));
    }
    free(row);
}

/*------------------------------------------------------- atomic writes */

static int little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* Write n bytes of 'size'-byte little-endian elements. */
static int write_le(FILE *f, const void *p, size_t size, size_t n)
{
    if (little_endian() || size == 1) return fwrite(p, size, n, f) == n ? 0 : -1;
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < size; k++)
            if (fputc(b[i * size + size - 1 - k], f) == EOF) return -1;
    return 0;
}

/* A safetensors header: the JSON 'root' (consumed), its length as 8
** little-endian bytes, padded with spaces to a multiple of 8.  *bad is
** set on a write error; an encoding failure is an error naming 'what'. */
static k2t_status st_header(FILE *f, json_t *root, const char *what, int *bad, size_t *header_bytes,
                            k2t_err *err)
{
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!hdr) return k2t_fail(err, K2T_EFORMAT, "cannot encode %s", what);
    size_t len = strlen(hdr), padded = (len + 7) / 8 * 8;
    uint64_t n = padded;
    *bad = write_le(f, &n, 8, 1) || fwrite(hdr, 1, len, f) != len;
    for (size_t i = len; i < padded && !*bad; i++) *bad = fputc(' ', f) == EOF;
    free(hdr);
    if (header_bytes) *header_bytes = padded;
    return K2T_OK;
}

/*--------------------------------------------------------- safetensors */

typedef struct st_ctx {
    const plan *p;
    const char *version;
    tensor *t;
    int n;
    int64_t data_bytes;
    int64_t file_bytes;
} st_ctx;

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j) return j;
    char *t = k2t_xstrdup(s);
    for (char *p = t; *p; p++)
        if ((unsigned char)*p >= 128) *p = '?';
    j = json_string(t);
    free(t);
    return j;
}

static k2t_status st_fill(FILE *f, void *vctx, k2t_err *err)
{
    st_ctx *c = vctx;
    const k2t_model *m = c->p->m;
    json_t *root = json_object(), *meta = json_object();
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(meta, "source", jstr(m->path));
    json_object_set_new(meta, "keras_version", jstr(m->keras_version));
    json_object_set_new(meta, "k2t_version", jstr(c->version ? c->version : K2T_VERSION));
    json_object_set_new(root, "__metadata__", meta);
    for (int i = 0; i < c->n; i++) {
        const tensor *t = &c->t[i];
        json_t *o = json_object(), *shape = json_array(), *offs = json_array();
        json_object_set_new(o, "dtype", json_string(t->kind == T_I64 ? "I64" : "F32"));
        for (int d = 0; d < t->shape.ndim; d++) json_array_append_new(shape, json_integer(t->shape.d[d]));
        json_object_set_new(o, "shape", shape);
        json_array_append_new(offs, json_integer(t->begin));
        json_array_append_new(offs, json_integer(t->end));
        json_object_set_new(o, "data_offsets", offs);
        if (json_object_set_new(root, t->name, o) != 0) {
            json_decref(root);
            return k2t_fail(err, K2T_EFORMAT, "cannot put tensor '%s' in the safetensors header",
                            t->name);
        }
    }
    int bad = 0;
    size_t padded = 0;
    k2t_status st = st_header(f, root, "the safetensors header (a name that is not UTF-8?)", &bad, &padded, err);
    if (st != K2T_OK) return st;
    for (int i = 0; i < c->n && !bad; i++) {
        const tensor *t = &c->t[i];
        if (t->kind == T_I64) {
            int64_t zero = 0;
            bad = write_le(f, &zero, 8, 1);
            continue;
        }
        int64_t numel = k2t_shape_numel(&t->shape);
        if (numel <= 0) continue;
        float *o = k2t_xmalloc((size_t)numel * sizeof(float));
        convert(t, o);
        bad = write_le(f, o, 4, (size_t)numel);
        free(o);
    }
    if (bad) return k2t_fail(err, K2T_EIO, "write error: %s", strerror(errno ? errno : EIO));
    c->file_bytes = 8 + (int64_t)padded + c->data_bytes;
    return K2T_OK;
}

k2t_status k2t_export_safetensors(const k2t_model *m, const char *path, const k2t_export_opts *o,
                                  k2t_export_info *info, k2t_err *err)
{
    plan p;
    st_ctx c;
    k2t_status st = make_plan(m, &p, err);
    if (st != K2T_OK) return st;
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.version = o ? o->k2t_version : NULL;
    st = list_tensors(&p, &c.t, &c.n, &c.data_bytes, err);
    if (st == K2T_OK) st = k2t_write_file_safe(path, o && o->force, st_fill, &c, err);
    if (st == K2T_OK && info) {
        memset(info, 0, sizeof *info);
        info->n_tensors = c.n;
        info->bytes = c.file_bytes;
        for (int i = 0; i < c.n; i++) {
            int64_t k = k2t_shape_numel(&c.t[i].shape);
            info->n_values += k < 0 ? 0 : k;
        }
        for (int i = 0; i < m->n_layers; i++) {
            info->n_modules += p.attr[i] != NULL;
            info->n_permuted += p.perm[i];
        }
    }
    free(c.t);
    plan_free(&p);
    return st;
}

/*-------------------------------------------------------------- Python */

struct k2t_py {
    const plan *p;
    const k2t_export_opts *o;
    k2t_buf file, init, fwd; /* the whole file; __init__'s and forward()'s lines */
    k2t_buf *cur;          /* where P() writes */
    char **var;            /* per node: its variable */
    int *mpad;             /* per layer: 2 ints, the padding its module holds, or -1 */
    const char *helper[16]; /* the helper code asked for (k2t_py_helper), in order */
    int n_helpers;
    int n_modules;
    int *mask_in;          /* per node: the mask maker reaching its inputs, or -1 */
    int sub, sub_layer;    /* a wrapper's inner code for this node and layer (k2t_py_sub_begin), or -1 */
    const char *sub_in, *sub_out;
    const k2t_layer *sub_L;
    k2t_shape sub_in_shape, sub_shape;
};
typedef struct k2t_py py;

#define P(...) k2t_buf_printf(y->cur, __VA_ARGS__)

void k2t_py_printf(k2t_py *y, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    k2t_buf_vprintf(y->cur, fmt, ap);
    va_end(ap);
}

void k2t_py_helper(k2t_py *y, const char *code)
{
    for (int k = 0; k < y->n_helpers; k++)
        if (y->helper[k] == code) return;
    if (y->n_helpers < (int)(sizeof y->helper / sizeof *y->helper)) y->helper[y->n_helpers++] = code;
}

void k2t_py_sub_begin(k2t_py *y, int i, const k2t_layer *view, const char *in, const k2t_shape *in_shape,
                      const char *out, const k2t_shape *shape)
{
    y->sub_L = view;
    y->sub = i, y->sub_in = in, y->sub_out = out, y->sub_in_shape = *in_shape, y->sub_shape = *shape;
    y->sub_layer = y->p->m->nodes[i].layer;
}

void k2t_py_sub_end(k2t_py *y)
{
    y->sub = y->sub_layer = -1;
}

/* "NAME_mask": the mask node 'maker' writes. */
static const char *mask_var(const k2t_py *y, int maker, char *buf, size_t n)
{
    snprintf(buf, n, "%s_mask", y->var[maker]);
    return buf;
}

const char *k2t_py_mask_in(const k2t_py *y, int i, char *buf, size_t n)
{
    return y->mask_in[i] >= 0 ? mask_var(y, y->mask_in[i], buf, n) : NULL;
}

const char *k2t_py_mask_out(const k2t_py *y, int i, char *buf, size_t n)
{
    const k2t_layer *L = k2t_node_layer(y->p->m, i);
    const k2t_op_def *def = k2t_op_def_of(L->op);
    return def && (def->flags & K2T_OPF_MASK_MAKE) && L->cfg.makes_mask ? mask_var(y, i, buf, n) : NULL;
}

const k2t_model *k2t_py_model(const k2t_py *y)
{
    return y->p->m;
}

const k2t_layer *k2t_py_layer(const k2t_py *y, int i)
{
    return i == y->sub ? y->sub_L : k2t_node_layer(y->p->m, i);
}

const k2t_layer *k2t_py_layer_at(const k2t_py *y, int li)
{
    return li == y->sub_layer ? y->sub_L : &y->p->m->layers[li];
}

const char *k2t_py_var(const k2t_py *y, int i)
{
    return i == y->sub ? y->sub_out : y->var[i];
}

const char *k2t_py_in(const k2t_py *y, int i, int k)
{
    const k2t_node *N = &y->p->m->nodes[i];
    if (i == y->sub && k == 0) return y->sub_in;
    return k >= 0 && k < N->n_in ? y->var[N->in[k]] : "x";
}

const char *k2t_py_attr(const k2t_py *y, int li)
{
    return y->p->attr[li];
}

const k2t_shape *k2t_py_shape(const k2t_py *y, int i)
{
    return i == y->sub ? &y->sub_shape : &y->p->shape[i];
}

const k2t_shape *k2t_py_in_shape(const k2t_py *y, int i, int k)
{
    const k2t_node *N = &y->p->m->nodes[i];
    if (i == y->sub && k == 0) return &y->sub_in_shape;
    return k >= 0 && k < N->n_in ? &y->p->shape[N->in[k]] : NULL;
}

const k2t_shape *k2t_py_layer_in(const k2t_py *y, int li)
{
    if (li == y->sub_layer) return &y->sub_in_shape;
    int call = first_call(y->p->m, li);
    return call >= 0 ? k2t_py_in_shape(y, call, 0) : NULL;
}

int k2t_py_chw(const k2t_py *y, int i)
{
    return y->p->chw[i];
}

const k2t_shape *k2t_py_permuted(const k2t_py *y, int li)
{
    return y->p->perm[li] ? &y->p->pshape[li] : NULL;
}

k2t_status k2t_py_fail(const k2t_layer *L, k2t_err *err, const char *why)
{
    return layer_fail(L, err, why);
}

void k2t_py_put_act(k2t_py *y, const char *v, k2t_act a)
{
    char buf[600];
    const char *e = k2t_py_act(a, v, buf, sizeof buf);
    const k2t_model *m = y->p->m;
    if (!e) return;
    /* A model output's logits, before its activation: a saturated softmax
    ** would hide a difference the self-test must see. */
    for (int k = 0; k < m->n_outputs; k++)
        if (!strcmp(y->var[m->outputs[k]], v)) {
            P("        if trace is not None:\n            trace[\"%s:preact\"] = %s\n", v, v);
            break;
        }
    P("        %s = %s\n", v, e);
}

/*--- windows: one place decides between padding= and F.pad (issue 10) */

const char *k2t_py_win_str(const int *v, int rank, int compact, char *buf, size_t n)
{
    if (rank == 1 || (compact && v[0] == v[1])) snprintf(buf, n, "%d", v[0]);
    else snprintf(buf, n, "(%d, %d)", v[0], v[1]);
    return buf;
}

k2t_status k2t_py_window(const k2t_py *y, int i, k2t_win *g, k2t_err *err)
{
    const k2t_layer *L = k2t_node_layer(y->p->m, i);
    const k2t_shape *in = k2t_py_in_shape(y, i, 0);
    int rank;
    if (!in || k2t_layer_win(L, in, g, &rank) != 0)
        return layer_fail(L, err, "the input is smaller than the window");
    return K2T_OK;
}

int k2t_py_sym(const k2t_win *g, int *ph, int *pw)
{
    int sym = g->pt == g->pb && g->pl == g->pr;
    *ph = sym ? g->pt : 0;
    *pw = sym ? g->pl : 0;
    return sym;
}

const char *k2t_py_padding(int rank, int ph, int pw, char *buf, size_t n)
{
    if (rank == 1 || ph == pw) snprintf(buf, n, "%d", pw);
    else snprintf(buf, n, "(%d, %d)", ph, pw);
    return buf;
}

const char *k2t_py_padded(const k2t_win *g, int rank, const char *a, const char *fill, char *buf,
                          size_t n)
{
    if (!g->pl && !g->pr && !g->pt && !g->pb) snprintf(buf, n, "%s", a);
    else if (rank == 1) snprintf(buf, n, "F.pad(%s, (%d, %d)%s)", a, g->pl, g->pr, fill);
    else snprintf(buf, n, "F.pad(%s, (%d, %d, %d, %d)%s)", a, g->pl, g->pr, g->pt, g->pb, fill);
    return buf;
}

const char *k2t_py_module_input(const k2t_py *y, int i, const k2t_win *g, const char *a, char *buf,
                                size_t n)
{
    const k2t_layer *L = k2t_node_layer(y->p->m, i);
    const int *mp = &y->mpad[2 * y->p->m->nodes[i].layer];
    if (mp[0] >= 0) {
        snprintf(buf, n, "%s", a);
        return buf;
    }
    return k2t_py_padded(g, L->cfg.rank == 1 ? 1 : 2, a, "", buf, n);
}

/* The padding each windowed module holds: its calls' TF pads when they
** are symmetric and the same on every call, else -1 (padding=0 in the
** module, F.pad in forward()). */
static void plan_module_pads(py *y)
{
    const k2t_model *m = y->p->m;
    y->mpad = k2t_xmalloc((size_t)(m->n_layers ? 2 * m->n_layers : 1) * sizeof(int));
    for (int li = 0; li < m->n_layers; li++) {
        int *mp = &y->mpad[2 * li], seen = 0;
        mp[0] = mp[1] = -1;
        if (!y->p->attr[li] || !(flags_of(&m->layers[li]) & K2T_OPF_WINDOW)) continue;
        for (int i = 0; i < m->n_nodes; i++) {
            k2t_win g;
            int rank, ph, pw;
            const k2t_shape *in = k2t_py_in_shape(y, i, 0);
            if (m->nodes[i].layer != li) continue;
            if (!in || k2t_layer_win(&m->layers[li], in, &g, &rank) != 0 || !k2t_py_sym(&g, &ph, &pw) ||
                (seen && (ph != mp[0] || pw != mp[1]))) {
                mp[0] = mp[1] = -1;
                break;
            }
            mp[0] = ph, mp[1] = pw, seen = 1;
        }
    }
}

k2t_status k2t_py_module(const k2t_py *y, int li, char *buf, size_t n, k2t_err *err)
{
    const k2t_layer *L = &y->p->m->layers[li];
    const k2t_op_def *def = k2t_op_def_of(L->op);
    const int *mp = &y->mpad[2 * li];
    int call = first_call(y->p->m, li); /* the layer's own input, a wrapper's inner code or not */
    const k2t_node *N = call >= 0 ? &y->p->m->nodes[call] : NULL;
    const k2t_shape *in = N && N->n_in > 0 ? &y->p->shape[N->in[0]] : NULL;
    k2t_shape none = {0};
    buf[0] = '\0';
    if (!def || !def->module ||
        def->module(L, in ? in : &none, mp[0] > 0 ? mp[0] : 0, mp[1] > 0 ? mp[1] : 0, buf, n) < 0)
        return layer_fail(L, err, "PyTorch has no module for it");
    return K2T_OK;
}

/* Python names of the variables: each node's sanitized name, made unique
** and kept off the names the generated code itself uses. */
/* Does 'a' equal 'b', or one the other plus a suffix the ops' temporaries
** take (NAME_mask, NAME_steps, NAME_per_step, NAME_neg)? */
static int var_clash(const char *a, const char *b)
{
    static const char *const sfx[] = {"_mask", "_steps", "_per_step", "_neg"};
    size_t la = strlen(a), lb = strlen(b);
    if (!strcmp(a, b)) return 1;
    for (int k = 0; k < 4; k++) {
        const char *s = sfx[k], *lo = la < lb ? a : b, *hi = la < lb ? b : a;
        if (strlen(hi) == strlen(lo) + strlen(s) && !strncmp(hi, lo, strlen(lo)) && !strcmp(hi + strlen(lo), s))
            return 1;
    }
    return 0;
}

static void name_vars(py *y)
{
    static const char *const reserved[] = {"self", "x", "F", "nn", "torch", "np", "math", "float", "json", "os",
                                           "sys", "trace", "hn", "keras_rnn", NULL};
    const k2t_model *m = y->p->m;
    y->var = k2t_xcalloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(char *));
    for (int i = 0; i < m->n_nodes; i++) {
        char base[512], name[560];
        k2t_torch_ident(m->nodes[i].name, base, sizeof base);
        snprintf(name, sizeof name, "%s", base);
        for (int k = 2;; k++) {
            int clash = in_list(reserved, name);
            for (int j = 0; j < i && !clash; j++) clash = var_clash(y->var[j], name);
            if (!clash) break;
            snprintf(name, sizeof name, "%s_%d", base, k);
        }
        y->var[i] = k2t_xstrdup(name);
    }
}

/* "3x3/2x2 'same' on 32x32: TF pads top 0, bottom 1, left 0, right 1" */
static void put_window_comment(py *y, const k2t_layer *L, const k2t_win *g)
{
    const k2t_cfg *c = &L->cfg;
    if (c->rank == 1) P(" %d/%d", c->kernel[0], c->strides[0]);
    else P(" %dx%d/%dx%d", c->kernel[0], c->kernel[1], c->strides[0], c->strides[1]);
    if (c->rank == 1 && c->dilation[0] > 1) P(" dilation %d", c->dilation[0]);
    if (c->rank == 2 && (c->dilation[0] > 1 || c->dilation[1] > 1))
        P(" dilation %dx%d", c->dilation[0], c->dilation[1]);
    P(" '%s'", k2t_pad_name(c->padding));
    if (c->padding == K2T_PAD_VALID) return;
    if (c->rank == 1) P(" on %d: pads left %d, right %d", g->iw, g->pl, g->pr);
    else P(" on %dx%d: TF pads top %d, bottom %d, left %d, right %d", g->ih, g->iw, g->pt, g->pb,
           g->pl, g->pr);
}

/* One line of __init__ for layer li: the op's, or "self.ATTR = MODULE  # Class". */
static k2t_status put_module(py *y, int li, k2t_err *err)
{
    const k2t_layer *L = &y->p->m->layers[li];
    const k2t_op_def *def = k2t_op_def_of(L->op);
    char mod[1200];
    k2t_status st;
    y->n_modules++;
    if (def && def->py_init) return def->py_init(y, li, err);
    if ((st = k2t_py_module(y, li, mod, sizeof mod, err)) != K2T_OK) return st;
    P("        self.%s = %s  # %s\n", y->p->attr[li], mod, L->class_name);
    return K2T_OK;
}

/* forward() lines for node i: the comment (layer, class, window, output
** shape), then the op's code. */
static k2t_status put_node(py *y, int i, k2t_err *err)
{
    const k2t_model *m = y->p->m;
    const k2t_layer *L = k2t_node_layer(m, i);
    const k2t_op_def *def = k2t_op_def_of(L->op);
    char sh[160];
    k2t_status st;
    P("        # %s (%s)", m->nodes[i].name, L->class_name);
    if (def && (def->flags & K2T_OPF_WINDOW)) {
        k2t_win g;
        if ((st = k2t_py_window(y, i, &g, err)) != K2T_OK) return st;
        put_window_comment(y, L, &g);
    }
    P(" -> %s\n", k2t_py_shape_str(&y->p->shape[i], sh, sizeof sh));
    if (m->nodes[i].part) { /* tensor j of a call: its node's code set it */
        P("        # (output %d of %s, set above)\n", m->nodes[i].part, m->nodes[m->nodes[i].in[0]].name);
        return K2T_OK;
    }
    if (!def || !def->py_forward) return layer_fail(L, err, "no PyTorch translation");
    return def->py_forward(y, i, err);
}

/* Concrete per-sample shapes from the self-test's input shapes. */
static k2t_status infer_shapes(plan *p, const k2t_export_opts *o, k2t_err *err)
{
    const k2t_model *m = p->m;
    k2t_shape in[64];
    if (!o || !o->in) return K2T_OK;
    for (int k = 0; k < m->n_inputs; k++) {
        const k2t_shape *t = &o->in[k].shape; /* (N, C, S...) or (N, F) */
        k2t_shape s = {.ndim = t->ndim - 1};
        for (int d = 0; d < s.ndim; d++) s.d[d] = t->d[d + 1];
        if (s.ndim >= 2) {
            for (int d = 0; d < s.ndim - 1; d++) s.d[d] = t->d[d + 2];
            s.d[s.ndim - 1] = t->d[1];
        }
        p->shape[m->inputs[k]] = s;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_node *N = &m->nodes[i];
        const k2t_layer *L = k2t_node_layer(m, i);
        const k2t_op_def *def = k2t_op_def_of(L->op);
        k2t_err e = {0};
        if (def && def->max_in == 0) { /* an InputLayer: given, or its producer's when nested */
            if (N->n_in == 1) p->shape[i] = p->shape[N->in[0]];
            continue;
        }
        if (N->n_in > 64) return layer_fail(L, err, "more than 64 inputs");
        for (int j = 0; j < N->n_in; j++) in[j] = p->shape[N->in[j]];
        if (!def || k2t_node_infer(m, i, in, &p->shape[i], &e) != K2T_OK)
            return k2t_fail(err, K2T_ESHAPE, "layer '%s' (%s): %s", N->name, L->class_name,
                            e.msg[0] ? e.msg : "cannot infer its output shape");
    }
    for (int i = 0; i < m->n_nodes; i++)
        if (k2t_shape_numel(&p->shape[i]) < 0)
            return k2t_fail(err, K2T_ESHAPE, "layer '%s': its output shape is not fully known",
                            m->nodes[i].name);
    return K2T_OK;
}

/*------------------------------------------------- the self-test's vectors */

typedef struct vec {
    char name[600];
    k2t_shape shape;   /* torch layout, batch first */
    float *data;       /* owned */
} vec;

typedef struct vec_ctx {
    const plan *p;
    const k2t_export_opts *o;
    vec *v;
    int n;
} vec_ctx;

/* The Keras shape before the Flatten whose C,H,W-ordered vector node i holds. */
static const k2t_shape *chw_source(const plan *p, int i)
{
    const k2t_model *m = p->m;
    while (i >= 0 && m->nodes[i].n_in == 1 && !(flags_of(k2t_node_layer(m, i)) & K2T_OPF_FLATTENS))
        i = m->nodes[i].in[0];
    return i >= 0 && m->nodes[i].n_in == 1 ? &p->shape[m->nodes[i].in[0]] : NULL;
}

/* A Keras-layout sample (n, S..., C) in the module's layout: (n, C, S...),
** or for a vector in C,H,W order (chw: the pre-Flatten shape) its features
** reordered so. */
static void vec_add(vec_ctx *c, const char *name, const k2t_export_sample *s, const k2t_shape *chw)
{
    const k2t_shape *t = &s->shape;
    int64_t n = t->d[0], numel = 1;
    vec *v;
    if (t->ndim < 1 || n <= 0) return;
    for (int d = 1; d < t->ndim; d++) numel *= t->d[d];
    c->v = k2t_xrealloc(c->v, (size_t)(c->n + 1) * sizeof *c->v);
    v = &c->v[c->n++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->data = k2t_xmalloc((size_t)(n * numel > 0 ? n * numel : 1) * sizeof(float));
    v->shape = *t;
    int64_t C = 0;
    if (chw && t->ndim == 2 && chw->ndim >= 2) C = chw->d[chw->ndim - 1];
    else if (t->ndim >= 3) {
        C = t->d[t->ndim - 1];
        v->shape.d[1] = C;
        for (int d = 2; d < t->ndim; d++) v->shape.d[d] = t->d[d - 1];
    }
    int64_t S = C > 0 ? numel / C : 0;
    if (C <= 0 || S * C != numel) {
        memcpy(v->data, s->data, (size_t)(n * numel) * sizeof(float));
        return;
    }
    for (int64_t k = 0; k < n; k++)
        for (int64_t q = 0; q < S; q++)
            for (int64_t ch = 0; ch < C; ch++)
                v->data[k * numel + ch * S + q] = s->data[k * numel + q * C + ch];
}

static void vec_free(vec_ctx *c)
{
    for (int i = 0; i < c->n; i++) free(c->v[i].data);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

/* The vectors: inputs and outputs as given (already the module's layout),
** then every recorded node's output and pre-activation. */
static void vec_collect(vec_ctx *c, char **var)
{
    const plan *p = c->p;
    const k2t_model *m = p->m;
    const k2t_export_opts *o = c->o;
    char name[600];
    for (int k = 0; k < m->n_inputs + m->n_outputs; k++) {
        const k2t_export_sample *s = k < m->n_inputs ? &o->in[k] : &o->out[k - m->n_inputs];
        int64_t numel = k2t_shape_numel(&s->shape);
        c->v = k2t_xrealloc(c->v, (size_t)(c->n + 1) * sizeof *c->v);
        vec *v = &c->v[c->n++];
        memset(v, 0, sizeof *v);
        snprintf(v->name, sizeof v->name, "%s:%d", k < m->n_inputs ? "input" : "output",
                 k < m->n_inputs ? k : k - m->n_inputs);
        v->shape = s->shape;
        v->data = k2t_xmalloc((size_t)(numel > 0 ? numel : 1) * sizeof(float));
        if (numel > 0) memcpy(v->data, s->data, (size_t)numel * sizeof(float));
    }
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_shape *chw = p->chw[i] ? chw_source(p, i) : NULL;
        if (p->chw[i] && !chw) continue;
        if (o->acts && o->acts[i].data) vec_add(c, var[i], &o->acts[i], chw);
        if (o->preacts && o->preacts[i].data) {
            snprintf(name, sizeof name, "%s:preact", var[i]);
            vec_add(c, name, &o->preacts[i], chw);
        }
    }
}

static k2t_status vec_fill(FILE *f, void *vctx, k2t_err *err)
{
    vec_ctx *c = vctx;
    json_t *root = json_object(), *meta = json_object();
    int64_t off = 0;
    json_object_set_new(meta, "format", json_string("k2t-selftest"));
    json_object_set_new(meta, "input", jstr(c->o->in_desc ? c->o->in_desc : ""));
    json_object_set_new(meta, "source", jstr(c->p->m->path));
    json_object_set_new(root, "__metadata__", meta);
    for (int i = 0; i < c->n; i++) {
        const vec *v = &c->v[i];
        int64_t numel = k2t_shape_numel(&v->shape);
        json_t *o = json_object(), *shape = json_array(), *offs = json_array();
        json_object_set_new(o, "dtype", json_string("F32"));
        for (int d = 0; d < v->shape.ndim; d++) json_array_append_new(shape, json_integer(v->shape.d[d]));
        json_object_set_new(o, "shape", shape);
        json_array_append_new(offs, json_integer(off));
        off += 4 * (numel > 0 ? numel : 0);
        json_array_append_new(offs, json_integer(off));
        json_object_set_new(o, "data_offsets", offs);
        json_object_set_new(root, v->name, o);
    }
    int bad = 0;
    k2t_status st = st_header(f, root, "the test vectors' header", &bad, NULL, err);
    if (st != K2T_OK) return st;
    for (int i = 0; i < c->n && !bad; i++) {
        int64_t numel = k2t_shape_numel(&c->v[i].shape);
        if (numel > 0) bad = write_le(f, c->v[i].data, 4, (size_t)numel);
    }
    if (bad) return k2t_fail(err, K2T_EIO, "write error: %s", strerror(errno ? errno : EIO));
    return K2T_OK;
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A Python string literal of s (ASCII; anything else escaped). */
static const char *pystr(const char *s, char *buf, size_t n)
{
    size_t j = 0;
    if (n < 3) return "\"\"";
    buf[j++] = '"';
    for (; *s && j + 6 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') buf[j++] = '\\', buf[j++] = (char)c;
        else if (c < 32 || c >= 127) j += (size_t)snprintf(buf + j, n - j, "\\x%02x", c);
        else buf[j++] = (char)c;
    }
    buf[j++] = '"';
    buf[j] = '\0';
    return buf;
}

/* A docstring-safe copy: no backslashes or triple quotes. */
static const char *doc_safe(const char *s, char *buf, size_t n)
{
    size_t j = 0;
    for (; *s && j + 1 < n; s++) buf[j++] = (*s == '\\' || *s == '"' || (unsigned char)*s < 32) ? '_' : *s;
    buf[j] = '\0';
    return buf;
}

static const char py_loader[] =
    "def load_weights(path):\n"
    "    \"\"\"The tensors of a safetensors file by name: with the safetensors package when it is\n"
    "    installed, else with numpy (8-byte little-endian header length, JSON header, data).\"\"\"\n"
    "    try:\n"
    "        from safetensors.torch import load_file\n"
    "    except ImportError:\n"
    "        load_file = None\n"
    "    if load_file is not None:\n"
    "        return load_file(path)\n"
    "    dtypes = {\"F64\": \"<f8\", \"F32\": \"<f4\", \"F16\": \"<f2\", \"I64\": \"<i8\", "
    "\"I32\": \"<i4\",\n"
    "              \"I16\": \"<i2\", \"I8\": \"i1\", \"U8\": \"u1\", \"BOOL\": \"?\"}\n"
    "    with open(path, \"rb\") as f:\n"
    "        data = f.read()\n"
    "    n = int.from_bytes(data[:8], \"little\")\n"
    "    header = json.loads(data[8:8 + n])\n"
    "    tensors = {}\n"
    "    for name, t in header.items():\n"
    "        if name == \"__metadata__\":\n"
    "            continue\n"
    "        begin, end = t[\"data_offsets\"]\n"
    "        dt = np.dtype(dtypes[t[\"dtype\"]])\n"
    "        a = np.frombuffer(data, dtype=dt, count=(end - begin) // dt.itemsize, "
    "offset=8 + n + begin)\n"
    "        tensors[name] = torch.from_numpy(a.astype(dt.newbyteorder(\"=\")).reshape(t[\"shape\"]))\n"
    "    return tensors\n"
    "\n\n"
    "def load_model(path=None):\n"
    "    \"\"\"Model() in eval mode with the weights of the safetensors file at path (default:\n"
    "    WEIGHTS, next to this file).\"\"\"\n"
    "    if path is None:\n"
    "        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS)\n"
    "    model = Model()\n"
    "    model.load_state_dict(load_weights(path))\n"
    "    return model.eval()\n"
    "\n\n";

static const char py_selftest[] =
    "def _relative_difference(have, want, strict):\n"
    "    \"\"\"max |have - want| over max |want|; None for another shape.  NaN and Inf must match\n"
    "    when strict (the outputs); else where Keras has them the values are not compared (a\n"
    "    NaN weight times a padded zero is NaN in TensorFlow's convolution, not in every\n"
    "    PyTorch one).\"\"\"\n"
    "    have = np.asarray(have, dtype=np.float64)\n"
    "    want = np.asarray(want, dtype=np.float64)\n"
    "    if have.shape != want.shape:\n"
    "        return None\n"
    "    same = (have == want) | (np.isnan(have) & np.isnan(want))\n"
    "    if not strict:\n"
    "        same |= ~np.isfinite(want)\n"
    "    with np.errstate(invalid=\"ignore\"):\n"
    "        diff = np.where(same, 0.0, np.abs(have - want))\n"
    "    if diff.size == 0:\n"
    "        return 0.0\n"
    "    if not np.all(np.isfinite(diff)):\n"
    "        return float(\"inf\")\n"
    "    finite = np.abs(want[np.isfinite(want)])\n"
    "    return float(diff.max()) / max(float(finite.max()) if finite.size else 0.0, 1e-6)\n"
    "\n"
    "\n"
    "def self_test(path=None, vectors=None, tolerance=TOLERANCE):\n"
    "    \"\"\"Run the input recorded at export time (TEST_VECTORS, next to this file) through the\n"
    "    module and compare every tensor recorded with it with Keras's: the layers' outputs\n"
    "    (forward(..., trace=dict) hands them over), the logits before a final activation and\n"
    "    the outputs.  Each passes when max |torch - keras| <= tolerance * max |keras|.\n"
    "    Prints PASS, or FAIL naming the first layer that differs; returns 0 or 1.\"\"\"\n"
    "    if vectors is None:\n"
    "        vectors = os.path.join(os.path.dirname(os.path.abspath(__file__)), TEST_VECTORS)\n"
    "    want = {name: t.numpy() for name, t in load_weights(vectors).items()}\n"
    "    model = load_model(path)\n"
    "    inputs = [torch.from_numpy(want[\"input:%d\" % k]) for k in range(N_INPUTS)]\n"
    "    trace = {}\n"
    "    with torch.no_grad():\n"
    "        got = model(*inputs, trace=trace)\n"
    "    if not isinstance(got, (tuple, list)):\n"
    "        got = (got,)\n"
    "    if len(got) != N_OUTPUTS:\n"
    "        print(\"FAIL: %d outputs, Keras's model has %d\" % (len(got), N_OUTPUTS))\n"
    "        return 1\n"
    "    for k, out in enumerate(got):\n"
    "        trace[\"output:%d\" % k] = out\n"
    "    first, worst, worst_name, compared = None, 0.0, None, 0\n"
    "    order = []  # forward's order, a layer's logits before its output\n"
    "    for name in trace:\n"
    "        if not name.endswith(\":preact\"):\n"
    "            order += [name + \":preact\"] if name + \":preact\" in trace else []\n"
    "            order.append(name)\n"
    "    for name in order:\n"
    "        have = trace[name]\n"
    "        if name not in want:\n"
    "            continue\n"
    "        d = _relative_difference(have.numpy(), want[name], name.startswith(\"output:\"))\n"
    "        if d is None:\n"
    "            print(\"FAIL: %s has shape %s, Keras's %s\" % (name, tuple(have.shape), want[name].shape))\n"
    "            return 1\n"
    "        compared += 1\n"
    "        if d > tolerance and first is None:\n"
    "            first = (name, d)\n"
    "        if worst_name is None or d > worst:\n"
    "            worst, worst_name = d, name\n"
    "    if first is None:\n"
    "        print(\"PASS: %d tensors within relative tolerance %g (largest difference %.3g, at %s)\"\n"
    "              % (compared, tolerance, worst, worst_name))\n"
    "        return 0\n"
    "    print(\"FAIL: %s differs from Keras's (relative %.3g > tolerance %g), the first of %d tensors \"\n"
    "          \"compared to; the largest difference is %.3g, at %s\"\n"
    "          % (first[0], first[1], tolerance, compared, worst, worst_name))\n"
    "    return 1\n"
    "\n"
    "\n";

static k2t_status py_generate(py *y, k2t_err *err)
{
    const plan *p = y->p;
    const k2t_model *m = p->m;
    const k2t_export_opts *o = y->o;
    char b1[1200], b2[1200], b3[1200], sh[160];
    k2t_status st;

    name_vars(y);
    plan_module_pads(y);
    y->sub = y->sub_layer = -1;
    y->mask_in = k2t_xmalloc((size_t)(m->n_nodes ? m->n_nodes : 1) * sizeof(int));
    k2t_mask_sources(m, NULL, y->mask_in);
    /* __init__ and forward() first, into their own buffers: they say
    ** which helper classes the file needs. */
    y->cur = &y->init;
    for (int li = 0; li < m->n_layers; li++)
        if (p->attr[li] && (st = put_module(y, li, err)) != K2T_OK) return st;
    y->cur = &y->fwd;
    P("    def forward(self, ");
    for (int k = 0; k < m->n_inputs; k++)
        P("%s%s", k ? ", " : "", m->n_inputs == 1 ? "x" : y->var[m->inputs[k]]);
    P(", trace=None):\n");
    /* The pads, the Flatten and the Linear after it hold for the export's
    ** input size only. */
    for (int k = 0; k < m->n_inputs; k++) {
        const char *a = m->n_inputs == 1 ? "x" : y->var[m->inputs[k]];
        k2t_shape t = k2t_shape_nchw(&p->shape[m->inputs[k]]);
        char want[160];
        size_t len = 0;
        want[0] = '\0';
        for (int d = 0; d < t.ndim; d++)
            len += (size_t)snprintf(want + len, sizeof want - len, "%s%lld", d ? ", " : "",
                                    (long long)t.d[d]);
        if (t.ndim == 1) snprintf(want + len, sizeof want - len, ",");
        P("        if tuple(%s.shape[1:]) != (%s):\n", a, want);
        P("            raise ValueError(\"input %s: this module was exported for %s, got %%s: its "
          "pads and\"\n"
          "                             \" shapes hold for that size only (export again for "
          "another)\" %% (tuple(%s.shape),))\n",
          a, k2t_py_shape_str(&p->shape[m->inputs[k]], sh, sizeof sh), a);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->n_inputs == 1 && i == m->inputs[0]) {
            P("        # %s (%s) -> %s\n", m->nodes[i].name, k2t_node_layer(m, i)->class_name,
              k2t_py_shape_str(&p->shape[i], sh, sizeof sh));
            P("        %s = x\n", y->var[i]);
            continue;
        }
        int is_input = 0;
        for (int k = 0; k < m->n_inputs; k++) is_input |= m->inputs[k] == i;
        if (is_input) {
            P("        # %s (%s) -> %s\n", m->nodes[i].name, k2t_node_layer(m, i)->class_name,
              k2t_py_shape_str(&p->shape[i], sh, sizeof sh));
            continue;
        }
        if ((st = put_node(y, i, err)) != K2T_OK) return st;
    }
    P("        if trace is not None:  # every layer's output, for the self-test\n"
      "            trace.update({");
    for (int i = 0, col = 0; i < m->n_nodes; i++) {
        if (p->chw[i] && !chw_source(p, i)) continue;
        P("%s\"%s\": %s", col ? ", " : "", y->var[i], y->var[i]);
        if (++col == 4 && i + 1 < m->n_nodes) {
            P(",\n                          ");
            col = 0;
        }
    }
    P("})\n");
    P("        return ");
    for (int k = 0; k < m->n_outputs; k++) P("%s%s", k ? ", " : "", y->var[m->outputs[k]]);
    P("%s\n", m->n_outputs == 0 ? "()" : "");
    y->cur = &y->file;

    /* The module docstring and imports. */
    P("\"\"\"%s: a PyTorch port of the Keras model in %s,\n",
      doc_safe(m->name ? m->name : "model", b1, sizeof b1), doc_safe(basename_of(m->path), b2, sizeof b2));
    P("generated by k2t %s from Keras %s.\n\n", o->k2t_version ? o->k2t_version : K2T_VERSION,
      m->keras_version && *m->keras_version ? m->keras_version : "(version unknown)");
    P("Every tensor is channels first: Keras's (H, W, C) is (C, H, W) here, (L, C) is (C, L),\n"
      "and a vector stays a vector; the batch comes first.  forward() reproduces Keras's\n"
      "inference: TensorFlow's 'same' pads for this model's input size, average pooling\n"
      "that leaves padding out of the count, BatchNormalization in eval mode, Dense after\n"
      "Flatten with its input columns permuted so that the NCHW tensor is flattened as is.\n\n");
    P("load_model() reads the weights from %s (safetensors) next to this file.\n",
      doc_safe(o->st_name ? o->st_name : "?", b1, sizeof b1));
    P("Self-test: python3 %s [WEIGHTS.safetensors] runs the input recorded at export time\n"
      "(in %s, next to this file) and compares every layer's output, the logits before\n"
      "a final activation and the outputs with Keras's on it (PASS or FAIL; exit status 0\n"
      "or 1).  Its input:\n    %s.\n"
      "\"\"\"\n", doc_safe(o->py_name ? o->py_name : "MODEL.py", b1, sizeof b1),
      doc_safe(o->vec_name ? o->vec_name : "?", b2, sizeof b2),
      doc_safe(o->in_desc ? o->in_desc : "?", b3, sizeof b3));
    P("import json\nimport os\nimport sys\n\nimport numpy as np\nimport torch\n"
      "import torch.nn as nn\nimport torch.nn.functional as F\n\n");
    P("WEIGHTS = %s\n", pystr(o->st_name ? o->st_name : "", b1, sizeof b1));
    P("# The self-test's vectors: its input, and Keras's layer outputs and outputs on it\n"
      "# (k2t's Keras-semantics run).  Input: %s.\n",
      doc_safe(o->in_desc ? o->in_desc : "?", b3, sizeof b3));
    P("TEST_VECTORS = %s\n", pystr(o->vec_name ? o->vec_name : "", b1, sizeof b1));
    P("TOLERANCE = %s\nN_INPUTS = %d\nN_OUTPUTS = %d\n\n\n", K2T_PY_TOLERANCE, m->n_inputs,
      m->n_outputs);
    for (int k = 0; k < y->n_helpers; k++) P("%s\n\n", y->helper[k]);
    P("class Model(nn.Module):\n");
    P("    \"\"\"%s (Keras %s).  Input ", doc_safe(m->name ? m->name : "model", b1, sizeof b1),
      doc_safe(m->model_class ? m->model_class : "Model", b2, sizeof b2));
    for (int k = 0; k < m->n_inputs; k++)
        P("%s%s", k ? ", " : "", k2t_py_shape_str(&p->shape[m->inputs[k]], sh, sizeof sh));
    P(", output ");
    for (int k = 0; k < m->n_outputs; k++)
        P("%s%s", k ? ", " : "", k2t_py_shape_str(&p->shape[m->outputs[k]], sh, sizeof sh));
    P(".\"\"\"\n\n    def __init__(self):\n        super().__init__()\n");
    if (y->init.len) P("%s", y->init.p);
    P("\n%s\n\n", y->fwd.p ? y->fwd.p : "");
    P("%s", py_loader);
    P("%s", py_selftest);
    P("if __name__ == \"__main__\":\n"
      "    sys.exit(self_test(sys.argv[1] if len(sys.argv) > 1 else None))\n");
    return K2T_OK;
}

static k2t_status py_fill(FILE *f, void *ctx, k2t_err *err)
{
    const k2t_buf *b = ctx;
    (void)err;
    if (b->len && fwrite(b->p, 1, b->len, f) != b->len)
        return k2t_fail(err, K2T_EIO, "write error: %s", strerror(errno ? errno : EIO));
    return K2T_OK;
}

k2t_status k2t_export_pytorch(const k2t_model *m, const char *path, const k2t_export_opts *o,
                              k2t_export_info *info, k2t_err *err)
{
    plan p;
    py y;
    k2t_status st;
    if (!o || !o->in || !o->out)
        return k2t_fail(err, K2T_EARG, "export pytorch needs the self-test's input and output");
    for (int k = 0; k < m->n_inputs; k++)
        if (!o->in[k].data || o->in[k].shape.ndim < 1)
            return k2t_fail(err, K2T_EARG, "the self-test's input %d is missing", k);
    for (int k = 0; k < m->n_outputs; k++)
        if (!o->out[k].data || o->out[k].shape.ndim < 1)
            return k2t_fail(err, K2T_EARG, "the self-test's output %d is missing", k);
    if ((st = make_plan(m, &p, err)) != K2T_OK) return st;
    memset(&y, 0, sizeof y);
    y.p = &p;
    y.o = o;
    st = infer_shapes(&p, o, err);
    if (st == K2T_OK) st = py_generate(&y, err);
    char vpath[4200];
    vec_ctx vc = {.p = &p, .o = o};
    if (st == K2T_OK) {
        const char *slash = strrchr(path, '/');
        if (!o->vec_name || !*o->vec_name || strchr(o->vec_name, '/'))
            st = k2t_fail(err, K2T_EARG, "export pytorch needs the name of its test vectors file");
        else if (snprintf(vpath, sizeof vpath, "%.*s%s", slash ? (int)(slash - path + 1) : 0, path,
                          o->vec_name) >= (int)sizeof vpath)
            st = k2t_fail(err, K2T_EARG, "the file name '%.200s...' is too long", path);
    }
    if (st == K2T_OK) st = k2t_write_file_safe(path, o->force, py_fill, &y.file, err);
    if (st == K2T_OK) {
        vec_collect(&vc, y.var);
        st = k2t_write_file_safe(vpath, o->force, vec_fill, &vc, err);
        if (st != K2T_OK) unlink(path); /* written just now: no half export */
    }
    vec_free(&vc);
    if (st == K2T_OK && info) {
        memset(info, 0, sizeof *info);
        info->n_modules = y.n_modules;
        info->bytes = (int64_t)y.file.len;
        for (int i = 0; i < m->n_layers; i++) info->n_permuted += p.perm[i];
    }
    if (y.var)
        for (int i = 0; i < m->n_nodes; i++) free(y.var[i]);
    free(y.var);
    free(y.mpad);
    free(y.mask_in);
    free(y.file.p);
    free(y.init.p);
    free(y.fwd.p);
    plan_free(&p);
    return st;
}
