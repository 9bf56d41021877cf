/*
** load.c -- a Keras legacy .h5 file into a k2t_model graph.
**
** The steps, each failing with a message that names the file and the layer
** or weight at fault:
**
**   1. open the file and read the root attributes (h5.c copes with every
**      string encoding h5py has written);
**   2. parse model_config (Python's json, so NaN/Infinity are mapped first);
**   3. build the graph: Sequential (bare list or dict, with or without an
**      InputLayer) and Functional (Keras 2 list-form inbound nodes, Keras 3
**      dict form with keras_history), nested models flattened into the
**      outer graph.  Nodes are created only once all their inputs exist, so
**      the node array comes out in topological order, and an inbound
**      reference that never resolves is reported as unknown or as a cycle;
**   4. read the weights through weight_names (HDF5 lists group members
**      alphabetically, Keras's order is weight_names's), matching a nested
**      model's variables to its sublayers by name;
**   5. infer every node's output shape and check each layer's weights
**      against the shapes its config implies.
**
** A weights-only file (save_weights) stops after reading the weights.
**
** A .keras archive (a zip: keras3.c opens it and its model.weights.h5 in
** memory) takes the same steps 2, 3 and 5 on config.json; step 4 walks the
** config as Keras walks model.layers when saving (k3_walk) and reads each
** layer's positional vars/0..n-1, which check_weights then names from the
** op's weight spec.
**
** Step 4 and the weight checks of step 5 are in load_weights.c (what the
** two share: loader.h).
**
** k2t_model_load (contain.c) runs all of this in a forked child first;
** model.c holds the loaded model's accessors and k2t_model_free.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "h5.h"
#include "internal.h"
#include "loader.h"

/*------------------------------------------------------------ the loader */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void ld_hmap_free(hmap *h)
{
    for (size_t i = 0; i < h->cap; i++) free(h->k[i]);
    free(h->k);
    free(h->v);
    memset(h, 0, sizeof *h);
}

/* The value of 'key', or -1. */
int ld_hmap_get(const hmap *h, const char *key)
{
    if (!h->cap) return -1;
    for (size_t i = hash_str(key) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        if (!h->k[i]) return -1;
        if (strcmp(h->k[i], key) == 0) return h->v[i];
    }
}

/* Set 'key' to 'val' unless it is present already (the first one wins). */
void ld_hmap_put(hmap *h, const char *key, int val)
{
    if (2 * (h->n + 1) > h->cap) {
        hmap old = *h;
        h->cap = old.cap ? old.cap * 2 : 64;
        h->k = k2t_xcalloc(h->cap, sizeof *h->k);
        h->v = k2t_xcalloc(h->cap, sizeof *h->v);
        h->n = 0;
        for (size_t i = 0; i < old.cap; i++) {
            if (!old.k[i]) continue;
            size_t j = hash_str(old.k[i]) & (h->cap - 1);
            while (h->k[j]) j = (j + 1) & (h->cap - 1);
            h->k[j] = old.k[i];
            h->v[j] = old.v[i];
            h->n++;
        }
        free(old.k);
        free(old.v);
    }
    size_t i = hash_str(key) & (h->cap - 1);
    for (; h->k[i]; i = (i + 1) & (h->cap - 1))
        if (strcmp(h->k[i], key) == 0) return;
    h->k[i] = k2t_xstrdup(key);
    h->v[i] = val;
    h->n++;
}

/* "scope\x1fname" or "scope\x1fname\x1fcall" as a key, in a scratch buffer. */
const char *ld_key2(k2t_buf *b, const char *scope, const char *name)
{
    b->len = 0;
    k2t_buf_printf(b, "%s\x1f%s", scope, name);
    return b->p;
}

static const char *key3(k2t_buf *b, const char *scope, const char *name, long long call)
{
    b->len = 0;
    k2t_buf_printf(b, "%s\x1f%s\x1f%lld", scope, name, call);
    return b->p;
}

/* Prefix an error with the file and layer: "resnet.h5: layer 'conv2d' (Conv2D): ..." */
k2t_status ld_fail(loader *ld, const k2t_layer *L, k2t_status st, const char *msg)
{
    char tmp[sizeof ld->err->msg];
    snprintf(tmp, sizeof tmp, "%s", msg);
    return k2t_fail(ld->err, st, "%s: layer '%s' (%s): %s", ld->path, L->name,
                    L->class_name, tmp);
}

void ld_note(k2t_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ld_note(k2t_model *m, const char *fmt, ...)
{
    k2t_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    k2t_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    m->notes = k2t_xrealloc(m->notes, (size_t)(m->n_notes + 1) * sizeof *m->notes);
    m->notes[m->n_notes++] = b.p;
}

static sym *sym_find(loader *ld, const char *scope, const char *name, long long call)
{
    int i = ld_hmap_get(&ld->sym_at, key3(&ld->key, scope, name, call));
    return i < 0 ? NULL : &ld->syms[i];
}

static int sym_has_layer(loader *ld, const char *scope, const char *name)
{
    return ld_hmap_get(&ld->sym_layer, ld_key2(&ld->key, scope, name)) >= 0;
}

static void sym_add(loader *ld, const char *scope, const char *name, int call,
                    const int *nodes, int n)
{
    if (ld->n_syms == ld->cap_syms) {
        ld->cap_syms = ld->cap_syms ? ld->cap_syms * 2 : 64;
        ld->syms = k2t_xrealloc(ld->syms, (size_t)ld->cap_syms * sizeof *ld->syms);
    }
    int si = ld->n_syms++;
    sym *s = &ld->syms[si];
    s->nodes = k2t_xmalloc((size_t)(n ? n : 1) * sizeof *s->nodes);
    if (n) memcpy(s->nodes, nodes, (size_t)n * sizeof *nodes);
    s->n_nodes = n;
    ld_hmap_put(&ld->sym_at, key3(&ld->key, scope, name, call), si);
    ld_hmap_put(&ld->sym_layer, ld_key2(&ld->key, scope, name), 1);
    ld_hmap_put(&ld->scopes, scope, 1);
}

int k2t_find_layer(const k2t_model *m, const char *name)
{
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].name, name) == 0) return i;
    return -1;
}

int k2t_find_node(const k2t_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0) return i;
    return -1;
}

/*---------------------------------------------------------------- layers */

int ld_is_model_class(const char *c)
{
    return strcmp(c, "Functional") == 0 || strcmp(c, "Model") == 0 ||
           strcmp(c, "Sequential") == 0;
}

/* Create a layer from a {class_name, config} entry.  Returns its index or
** -1 with ld->err set. */
static int new_layer(loader *ld, json_t *entry, const char *scope, int parent_trainable)
{
    k2t_model *m = ld->m;
    json_t *cls = json_object_get(entry, "class_name");
    json_t *cfg = json_object_get(entry, "config");
    const char *cname = json_is_string(cls) ? json_string_value(cls) : NULL;
    const char *lname = NULL;
    if (json_is_object(cfg) && json_is_string(json_object_get(cfg, "name")))
        lname = json_string_value(json_object_get(cfg, "name"));
    if (!lname && json_is_string(json_object_get(entry, "name")))
        lname = json_string_value(json_object_get(entry, "name"));
    if (!cname || !lname || !json_is_object(cfg)) {
        k2t_fail(ld->err, K2T_EFORMAT, "%s: model_config has a layer entry without "
                 "class_name, config or name%s%s%s", ld->path, lname ? " ('" : "",
                 lname ? lname : "", lname ? "')" : "");
        return -1;
    }
    if (m->n_layers == ld->cap_layers) {
        ld->cap_layers = ld->cap_layers ? ld->cap_layers * 2 : 32;
        m->layers = k2t_xrealloc(m->layers, (size_t)ld->cap_layers * sizeof *m->layers);
    }
    /* Names are unique within a model; a nested model's may repeat an outer
    ** name, which then gets its scope as prefix. */
    int clash = ld_hmap_get(&ld->layer_name, lname) >= 0;
    int li = m->n_layers++;
    k2t_layer *L = &m->layers[li];
    memset(L, 0, sizeof *L);
    if (clash && scope[0]) {
        k2t_buf b = {0};
        k2t_buf_printf(&b, "%s/%s", scope, lname);
        L->name = b.p;
    } else {
        L->name = k2t_xstrdup(lname);
    }
    L->class_name = k2t_xstrdup(cname);
    L->scope = scope[0] ? k2t_xstrdup(scope) : NULL;
    ld_hmap_put(&ld->layer_name, L->name, li);
    ld_hmap_put(&ld->layer_at, ld_key2(&ld->key, scope, lname), li);
    L->config_json = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!L->config_json) L->config_json = k2t_xstrdup("{}");
    int tr = 1;
    json_t *t = json_object_get(cfg, "trainable");
    if (t && !json_is_null(t)) tr = json_is_true(t) || (json_is_integer(t) && json_integer_value(t));
    L->trainable = tr && parent_trainable;

    const k2t_op_def *def = k2t_op_lookup(cname);
    if (!def) {
        L->op = K2T_OP_UNSUPPORTED;
        k2t_buf b = {0};
        k2t_buf_printf(&b, "layer class %s is not supported by k2t", cname);
        L->unsupported = b.p;
        return li;
    }
    L->op = def->op;
    if (def->parse) {
        k2t_err e = {0};
        if (def->parse(L, cfg, m, &e) != K2T_OK) {
            ld_fail(ld, L, e.status, e.msg);
            return -1;
        }
    }
    return li;
}

static int new_node(loader *ld, int li, int call, const int *in, int n_in)
{
    k2t_model *m = ld->m;
    if (m->n_nodes == ld->cap_nodes) {
        ld->cap_nodes = ld->cap_nodes ? ld->cap_nodes * 2 : 32;
        m->nodes = k2t_xrealloc(m->nodes, (size_t)ld->cap_nodes * sizeof *m->nodes);
    }
    int ni = m->n_nodes++;
    k2t_node *N = &m->nodes[ni];
    memset(N, 0, sizeof *N);
    if (call == 0) {
        N->name = k2t_xstrdup(m->layers[li].name);
    } else {
        k2t_buf b = {0};
        k2t_buf_printf(&b, "%s#%d", m->layers[li].name, call);
        N->name = b.p;
    }
    N->layer = li;
    N->in = k2t_xmalloc((size_t)(n_in ? n_in : 1) * sizeof *N->in);
    if (n_in) memcpy(N->in, in, (size_t)n_in * sizeof *in);
    N->n_in = n_in;
    N->shape.ndim = -1;
    m->layers[li].n_calls++;
    return ni;
}

/* How many tensors after the first call node ni returns (op's parts()). */
static int call_parts(loader *ld, int ni)
{
    const k2t_layer *L = &ld->m->layers[ld->m->nodes[ni].layer];
    const k2t_op_def *def = k2t_op_def_of(L->op);
    if (!def || !def->parts || L->unsupported) return 0;
    int n = def->parts(L, NULL, 0, NULL);
    return n > 0 && n < 64 ? n : 0;
}

/* Output tensor j of call node ni: a node "name:j" reading ni. */
static int new_part(loader *ld, int ni, int j)
{
    k2t_model *m = ld->m;
    int li = m->nodes[ni].layer;
    int pi = new_node(ld, li, 0, &ni, 1);
    m->layers[li].n_calls--; /* the same call */
    k2t_node *P = &m->nodes[pi];
    k2t_buf b = {0};
    k2t_buf_printf(&b, "%s:%d", m->nodes[ni].name, j);
    free(P->name);
    P->name = b.p;
    P->part = j;
    return pi;
}

/*------------------------------------------------------- inbound references */

typedef struct ref { const char *name; long long node, tensor; } ref; /* as the file has them */

typedef struct refs { ref *v; int n, cap; } refs;

static void refs_add(refs *r, const char *name, long long node, long long tensor)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = k2t_xrealloc(r->v, (size_t)r->cap * sizeof *r->v);
    }
    r->v[r->n++] = (ref){name, node, tensor};
}

/* tfk's rule: a list of 3 or 4 whose first element is a string. */
static int is_ref(json_t *x)
{
    return json_is_array(x) && (json_array_size(x) == 3 || json_array_size(x) == 4) &&
           json_is_string(json_array_get(x, 0)) && json_is_integer(json_array_get(x, 1));
}

/* An index from the file, kept wide: 2^31 must not wrap to a valid one.
** A real that is not a whole number in range becomes LLONG_MIN (invalid). */
static long long json_int(json_t *x)
{
    if (json_is_integer(x)) return (long long)json_integer_value(x);
    if (json_is_real(x)) {
        double d = json_real_value(x);
        return d >= -9e18 && d <= 9e18 && d == (double)(long long)d ? (long long)d : LLONG_MIN;
    }
    return 0;
}

/* Collect every tensor reference in a Keras 2 call (list form) or a Keras 3
** call ({"args", "kwargs"} with __keras_tensor__ keras_history), in order. */
static void collect_refs(json_t *x, refs *out, int depth)
{
    if (depth > 32 || !x) return;
    if (is_ref(x)) {
        const char *name = json_string_value(json_array_get(x, 0));
        if (strcmp(name, "_CONSTANT_VALUE") != 0)
            refs_add(out, name, json_int(json_array_get(x, 1)), json_int(json_array_get(x, 2)));
        if (json_array_size(x) == 4) collect_refs(json_array_get(x, 3), out, depth + 1);
        return;
    }
    if (json_is_array(x)) {
        for (size_t i = 0; i < json_array_size(x); i++)
            collect_refs(json_array_get(x, i), out, depth + 1);
        return;
    }
    if (json_is_object(x)) {
        json_t *cn = json_object_get(x, "class_name");
        if (json_is_string(cn) && strcmp(json_string_value(cn), "__keras_tensor__") == 0) {
            json_t *h = json_object_get(json_object_get(x, "config"), "keras_history");
            if (json_is_array(h) && json_array_size(h) >= 3 && json_is_string(json_array_get(h, 0)))
                refs_add(out, json_string_value(json_array_get(h, 0)),
                         json_int(json_array_get(h, 1)), json_int(json_array_get(h, 2)));
            return;
        }
        json_t *args = json_object_get(x, "args");
        if (args) {
            collect_refs(args, out, depth + 1);
            collect_refs(json_object_get(x, "kwargs"), out, depth + 1);
            return;
        }
        const char *k;
        json_t *v;
        json_object_foreach(x, k, v) collect_refs(v, out, depth + 1);
    }
}

/* input_layers/output_layers: a list of triples, one bare triple, or a dict
** of triples (TF 2.3 named inputs). */
static void collect_io(json_t *x, refs *out)
{
    if (is_ref(x)) {
        refs_add(out, json_string_value(json_array_get(x, 0)),
                 json_int(json_array_get(x, 1)), json_int(json_array_get(x, 2)));
    } else if (json_is_array(x)) {
        for (size_t i = 0; i < json_array_size(x); i++) collect_io(json_array_get(x, i), out);
    } else if (json_is_object(x)) {
        const char *k;
        json_t *v;
        json_object_foreach(x, k, v) collect_io(v, out);
    }
}

/*------------------------------------------------------------- the graph */

static k2t_status build_model(loader *ld, json_t *entry, const char *scope,
                              const int *ext_in, int n_ext, int trainable,
                              int **outs, int *n_outs);

const char *ld_entry_class(json_t *e)
{
    json_t *c = json_object_get(e, "class_name");
    return json_is_string(c) ? json_string_value(c) : "";
}

const char *ld_entry_name(json_t *e)
{
    json_t *cfg = json_object_get(e, "config");
    json_t *n = json_object_get(cfg, "name");
    if (!json_is_string(n)) n = json_object_get(e, "name");
    return json_is_string(n) ? json_string_value(n) : "";
}

/* Keras 2 numbers a nested Functional's (or an InputLayer-first
** Sequential's) calls from 1: its own node 0 is not serialized. */
static int skips_first_node(json_t *e)
{
    const char *c = ld_entry_class(e);
    if (strcmp(c, "Functional") == 0 || strcmp(c, "Model") == 0) return 1;
    if (strcmp(c, "Sequential") == 0) {
        json_t *cfg = json_object_get(e, "config");
        json_t *layers = json_is_array(cfg) ? cfg : json_object_get(cfg, "layers");
        json_t *first = json_array_get(layers, 0);
        return first && strcmp(ld_entry_class(first), "InputLayer") == 0;
    }
    return 0;
}

int ld_scoped(const char *scope, const char *name, char *buf, size_t n)
{
    return snprintf(buf, n, "%s%s%s", scope, scope[0] ? "/" : "", name);
}

/* Create (once) and return the layer for entry e in scope; for nested
** models there is no layer of their own. */
static int layer_for(loader *ld, json_t *e, const char *scope, int trainable)
{
    int li = ld_hmap_get(&ld->layer_at, ld_key2(&ld->key, scope, ld_entry_name(e)));
    return li >= 0 ? li : new_layer(ld, e, scope, trainable);
}

static int entry_trainable(json_t *e, int parent)
{
    json_t *t = json_object_get(json_object_get(e, "config"), "trainable");
    if (!t || json_is_null(t)) return parent;
    return parent && (json_is_true(t) || (json_is_integer(t) && json_integer_value(t)));
}

/* One call of a layer in a Functional config: entry i's c-th inbound node,
** with its tensor references and, for each, the call that produces it. */
typedef struct fcall {
    int entry, c;
    refs r;               /* references in order (names point into the JSON) */
    int *dep;             /* per reference: the producing call, or -1 (an input) */
    int pass;             /* the pass of the old repeat-until-stable loop that makes it */
} fcall;

/* A Functional model: create its input layers (or alias them to ext_in),
** then every layer call once all its inputs exist.  The calls are ordered
** by Kahn's algorithm over (layer, call) -> (layer, call) edges, in time
** linear in the number of calls and references, and created in the order
** the earlier repeat-until-stable passes gave: by pass, then config order. */
static k2t_status build_functional(loader *ld, json_t *cfg, const char *scope,
                                   const int *ext_in, int n_ext, int trainable,
                                   int **outs, int *n_outs, int keras3_nodes)
{
    json_t *layers = json_object_get(cfg, "layers");
    k2t_status st = K2T_OK;
    if (!json_is_array(layers))
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: model_config%s%s has no 'layers' list",
                        ld->path, scope[0] ? " of nested model " : "", scope);
    size_t nl = json_array_size(layers);
    if (nl > INT_MAX / 64)
        return k2t_fail(ld->err, K2T_EUNSUPPORTED, "%s: model_config has %zu layers", ld->path, nl);
    hmap by_name = {0}; /* entry name -> entry index */
    refs in_refs = {0}, out_refs = {0};
    fcall *calls = NULL;
    int n_calls = 0, *first_call = NULL, *order = NULL, *indeg = NULL, *adj_at = NULL, *adj = NULL;
    for (size_t i = 0; i < nl; i++) {
        const char *name = ld_entry_name(json_array_get(layers, i));
        if (ld_hmap_get(&by_name, name) >= 0) {
            st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' appears twice in model_config", ld->path, name);
            goto out;
        }
        ld_hmap_put(&by_name, name, (int)i);
    }
    collect_io(json_object_get(cfg, "input_layers"), &in_refs);
    collect_io(json_object_get(cfg, "output_layers"), &out_refs);

    /* Inputs first: aliased to the outer tensors for a nested model. */
    if (ext_in && in_refs.n != n_ext) {
        st = k2t_fail(ld->err, K2T_EFORMAT, "%s: nested model '%s' has %d inputs but is "
                      "called with %d", ld->path, scope, in_refs.n, n_ext);
        goto out;
    }
    for (size_t i = 0; i < nl; i++) {
        json_t *e = json_array_get(layers, i);
        if (strcmp(ld_entry_class(e), "InputLayer") != 0) continue;
        const char *name = ld_entry_name(e);
        int k = -1;
        for (int j = 0; j < in_refs.n; j++)
            if (strcmp(in_refs.v[j].name, name) == 0) k = j;
        if (ext_in && k >= 0) {
            sym_add(ld, scope, name, 0, &ext_in[k], 1);
            continue;
        }
        int li = layer_for(ld, e, scope, trainable);
        if (li < 0) { st = ld->err->status; goto out; }
        int ni = new_node(ld, li, 0, NULL, 0);
        sym_add(ld, scope, name, 0, &ni, 1);
    }

    /* Every other (layer, call), with its inbound_nodes checked. */
    first_call = k2t_xmalloc((nl + 1) * sizeof *first_call);
    for (size_t i = 0; i < nl; i++) {
        json_t *e = json_array_get(layers, i);
        first_call[i] = n_calls;
        if (strcmp(ld_entry_class(e), "InputLayer") == 0) continue;
        json_t *ib = json_object_get(e, "inbound_nodes");
        if (ib && !json_is_array(ib) && !json_is_null(ib)) {
            st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s': its inbound_nodes is a JSON %s, not a list "
                          "of calls", ld->path, ld_entry_name(e), json_is_object(ib) ? "object" : "scalar");
            goto out;
        }
        size_t ncalls = json_is_array(ib) ? json_array_size(ib) : 0;
        if (ncalls > 64) {
            st = k2t_fail(ld->err, K2T_EUNSUPPORTED, "%s: layer '%s' is called %zu times; k2t "
                          "handles up to 64 calls of a shared layer", ld->path, ld_entry_name(e), ncalls);
            goto out;
        }
        for (size_t c = 0; c < ncalls; c++) {
            json_t *call = json_array_get(ib, c);
            if (!json_is_array(call) && !json_is_object(call)) {
                st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s': call %zu in its inbound_nodes is not a "
                              "list or an object", ld->path, ld_entry_name(e), c);
                goto out;
            }
        }
        n_calls += (int)ncalls;
    }
    first_call[nl] = n_calls;
    calls = k2t_xcalloc((size_t)n_calls + 1, sizeof *calls);
    indeg = k2t_xcalloc((size_t)n_calls + 1, sizeof *indeg);
    adj_at = k2t_xcalloc((size_t)n_calls + 2, sizeof *adj_at);
    for (size_t i = 0; i < nl; i++) {
        json_t *ib = json_object_get(json_array_get(layers, i), "inbound_nodes");
        for (int k = first_call[i]; k < first_call[i + 1]; k++) {
            fcall *f = &calls[k];
            f->entry = (int)i, f->c = k - first_call[i];
            collect_refs(json_array_get(ib, (size_t)f->c), &f->r, 0);
            f->dep = k2t_xmalloc((size_t)(f->r.n ? f->r.n : 1) * sizeof *f->dep);
        }
    }
    /* Resolve every reference to the call that produces it; a reference
    ** that can never resolve is named here, with its real cause. */
    for (int k = 0; k < n_calls; k++) {
        fcall *f = &calls[k];
        const char *who = ld_entry_name(json_array_get(layers, (size_t)f->entry));
        for (int j = 0; j < f->r.n; j++) {
            const ref *r = &f->r.v[j];
            int q = ld_hmap_get(&by_name, r->name);
            f->dep[j] = -1;
            if (q < 0) {
                st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' takes its input from unknown layer '%s'",
                              ld->path, who, r->name);
                goto out;
            }
            json_t *qe = json_array_get(layers, (size_t)q);
            long long qc;
            if (strcmp(ld_entry_class(qe), "InputLayer") == 0) {
                qc = r->node == 0 ? -1 : LLONG_MIN;
            } else {
                long long off = !keras3_nodes && skips_first_node(qe);
                qc = r->node >= -(1LL << 40) && r->node <= (1LL << 40) ? r->node - off : LLONG_MIN;
                if (qc < 0 || qc >= first_call[q + 1] - first_call[q]) qc = LLONG_MIN;
            }
            if (qc == LLONG_MIN) {
                st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' refers to call %lld of layer '%s', which "
                              "does not exist", ld->path, who, r->node, r->name);
                goto out;
            }
            if (r->tensor < 0 || r->tensor > 1000000) {
                st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' takes output tensor %lld of layer '%s', "
                              "which does not exist", ld->path, who, r->tensor, r->name);
                goto out;
            }
            if (qc >= 0) {
                f->dep[j] = first_call[q] + (int)qc;
                indeg[k]++;
                adj_at[f->dep[j] + 1]++;
            }
        }
    }
    /* Kahn's algorithm; adj (CSR) lists each call's consumers. */
    for (int k = 0; k < n_calls; k++) adj_at[k + 1] += adj_at[k];
    adj = k2t_xmalloc((size_t)(adj_at[n_calls] ? adj_at[n_calls] : 1) * sizeof *adj);
    {
        int *fill = k2t_xmalloc((size_t)(n_calls + 1) * sizeof *fill);
        memcpy(fill, adj_at, (size_t)(n_calls + 1) * sizeof *fill);
        for (int k = 0; k < n_calls; k++)
            for (int j = 0; j < calls[k].r.n; j++)
                if (calls[k].dep[j] >= 0) adj[fill[calls[k].dep[j]]++] = k;
        free(fill);
    }
    order = k2t_xmalloc((size_t)(n_calls + 1) * sizeof *order);
    int head = 0, tail = 0;
    for (int k = 0; k < n_calls; k++)
        if (indeg[k] == 0) order[tail++] = k;
    while (head < tail) {
        int k = order[head++];
        /* The old loop made k in the first pass after each producer's
        ** (or in the same pass when the producer comes earlier). */
        int p = 1;
        for (int j = 0; j < calls[k].r.n; j++) {
            int d = calls[k].dep[j];
            if (d >= 0 && calls[d].pass + (d > k) > p) p = calls[d].pass + (d > k);
        }
        calls[k].pass = p;
        for (int a = adj_at[k]; a < adj_at[k + 1]; a++)
            if (--indeg[adj[a]] == 0) order[tail++] = adj[a];
    }
    if (tail < n_calls) {
        /* A cycle: walk back along unmade producers from the first unmade
        ** call until a call repeats; that call is on the cycle. */
        char *seen = k2t_xcalloc((size_t)n_calls, 1);
        int k = 0;
        while (indeg[k] == 0) k++;
        while (!seen[k]) {
            seen[k] = 1;
            int next = -1;
            for (int j = 0; j < calls[k].r.n && next < 0; j++)
                if (calls[k].dep[j] >= 0 && indeg[calls[k].dep[j]] > 0) next = calls[k].dep[j];
            if (next < 0) break; /* cannot happen: an unmade call waits on an unmade producer */
            k = next;
        }
        free(seen);
        st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' is part of a cycle: its inputs depend on its "
                      "own output", ld->path, ld_entry_name(json_array_get(layers, (size_t)calls[k].entry)));
        goto out;
    }
    /* By pass, then config order (a counting sort; passes are <= n_calls). */
    {
        int maxp = 0;
        for (int k = 0; k < n_calls; k++) if (calls[k].pass > maxp) maxp = calls[k].pass;
        int *cnt = k2t_xcalloc((size_t)maxp + 2, sizeof *cnt);
        for (int k = 0; k < n_calls; k++) cnt[calls[k].pass + 1]++;
        for (int p = 1; p <= maxp + 1; p++) cnt[p] += cnt[p - 1];
        for (int k = 0; k < n_calls; k++) order[cnt[calls[k].pass]++] = k;
        free(cnt);
    }
    for (int o = 0; o < n_calls && st == K2T_OK; o++) {
        fcall *f = &calls[order[o]];
        json_t *e = json_array_get(layers, (size_t)f->entry);
        const char *name = ld_entry_name(e);
        int *in = k2t_xmalloc((size_t)(f->r.n ? f->r.n : 1) * sizeof *in);
        for (int j = 0; j < f->r.n && st == K2T_OK; j++) {
            const ref *r = &f->r.v[j];
            sym *sy = sym_find(ld, scope, r->name, r->node);
            if (!sy)
                st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' refers to call %lld of layer '%s', which "
                              "does not exist", ld->path, name, r->node, r->name);
            else if (r->tensor >= sy->n_nodes)
                st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' takes output tensor %lld of layer '%s', "
                              "which has %d output%s", ld->path, name, r->tensor, r->name, sy->n_nodes,
                              sy->n_nodes == 1 ? "" : "s");
            else
                in[j] = sy->nodes[r->tensor];
        }
        if (st == K2T_OK) {
            int call_id = f->c + (!keras3_nodes && skips_first_node(e));
            int tr = entry_trainable(e, trainable);
            if (ld_is_model_class(ld_entry_class(e))) {
                char sub[512];
                int *o2 = NULL, no = 0;
                ld_scoped(scope, name, sub, sizeof sub);
                st = build_model(ld, e, sub, in, f->r.n, tr, &o2, &no);
                if (st == K2T_OK) sym_add(ld, scope, name, call_id, o2, no);
                free(o2);
            } else {
                int li = layer_for(ld, e, scope, trainable);
                if (li < 0) st = ld->err->status;
                else {
                    int ni = new_node(ld, li, ld->m->layers[li].n_calls, in, f->r.n);
                    int np = call_parts(ld, ni), *all = k2t_xmalloc((size_t)(np + 1) * sizeof *all);
                    all[0] = ni;
                    for (int j = 1; j <= np; j++) all[j] = new_part(ld, ni, j);
                    sym_add(ld, scope, name, call_id, all, np + 1);
                    free(all);
                }
            }
        }
        free(in);
    }
    if (st != K2T_OK) goto out;

    /* Outputs.  A nested Functional's own output_layers use 1-based node
    ** indices in Keras 2 and Keras 3 alike (KERAS-FORMAT 2.3). */
    *outs = k2t_xmalloc((size_t)(out_refs.n ? out_refs.n : 1) * sizeof **outs);
    *n_outs = 0;
    for (int j = 0; j < out_refs.n; j++) {
        const ref *r = &out_refs.v[j];
        sym *sy = sym_find(ld, scope, r->name, r->node);
        if (!sy && scope[0] && r->node > 0)
            sy = sym_find(ld, scope, r->name, r->node - 1);
        if (!sy) {
            st = k2t_fail(ld->err, K2T_EFORMAT, "%s: output_layers names unknown layer '%s'%s", ld->path, r->name,
                          sym_has_layer(ld, scope, r->name) ? " (no such call of it)" : "");
            goto out;
        }
        if (r->tensor < 0 || r->tensor >= sy->n_nodes) {
            st = k2t_fail(ld->err, K2T_EFORMAT, "%s: output_layers names output tensor %lld of layer '%s', "
                          "which has %d output%s", ld->path, r->tensor, r->name, sy->n_nodes,
                          sy->n_nodes == 1 ? "" : "s");
            goto out;
        }
        (*outs)[(*n_outs)++] = sy->nodes[r->tensor];
    }
    if (out_refs.n == 0)
        st = k2t_fail(ld->err, K2T_EFORMAT, "%s: model_config%s%s has no output_layers",
                      ld->path, scope[0] ? " of nested model " : "", scope);
out:
    for (int k = 0; calls && k < n_calls; k++) {
        free(calls[k].r.v);
        free(calls[k].dep);
    }
    free(calls);
    free(first_call);
    free(order);
    free(indeg);
    free(adj_at);
    free(adj);
    ld_hmap_free(&by_name);
    free(in_refs.v);
    free(out_refs.v);
    return st;
}

/* A Sequential model: a chain.  Without an InputLayer the first layer's
** batch_input_shape (or build_input_shape) makes one, named as Keras
** names it ("<first>_input"). */
static k2t_status build_sequential(loader *ld, json_t *cfg, const char *scope,
                                   const int *ext_in, int n_ext, int trainable,
                                   int **outs, int *n_outs)
{
    json_t *layers = json_is_array(cfg) ? cfg : json_object_get(cfg, "layers");
    if (!json_is_array(layers) || json_array_size(layers) == 0)
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: Sequential model_config%s%s has no layers",
                        ld->path, scope[0] ? " of nested model " : "", scope);
    if (ext_in && n_ext != 1)
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: nested Sequential '%s' is called with %d "
                        "inputs", ld->path, scope, n_ext);
    size_t nl = json_array_size(layers);
    json_t *first = json_array_get(layers, 0);
    int cur;
    size_t start = 0;
    if (strcmp(ld_entry_class(first), "InputLayer") == 0) {
        start = 1;
        if (ext_in) cur = ext_in[0];
        else {
            int li = layer_for(ld, first, scope, trainable);
            if (li < 0) return ld->err->status;
            cur = new_node(ld, li, 0, NULL, 0);
        }
    } else if (ext_in) {
        cur = ext_in[0];
    } else {
        /* Synthesize the InputLayer Keras would have made. */
        json_t *fc = json_object_get(first, "config");
        json_t *shape = json_object_get(fc, "batch_input_shape");
        if (!shape) shape = json_object_get(fc, "batch_shape");
        if (!shape && json_is_object(cfg)) shape = json_object_get(cfg, "build_input_shape");
        json_t *icfg = json_object();
        char name[300];
        snprintf(name, sizeof name, "%s_input", ld_entry_name(first));
        json_object_set_new(icfg, "name", json_string(name));
        if (shape) json_object_set(icfg, "batch_input_shape", shape);
        json_t *ie = json_object();
        json_object_set_new(ie, "class_name", json_string("InputLayer"));
        json_object_set_new(ie, "config", icfg);
        int li = new_layer(ld, ie, scope, trainable);
        json_decref(ie);
        if (li < 0) return ld->err->status;
        if (!shape) ld_note(ld->m, "Sequential model has no input shape: shapes are unknown");
        cur = new_node(ld, li, 0, NULL, 0);
    }
    for (size_t i = start; i < nl; i++) {
        json_t *e = json_array_get(layers, i);
        int tr = entry_trainable(e, trainable);
        if (ld_is_model_class(ld_entry_class(e))) {
            char sub[512];
            int *o = NULL, no = 0;
            ld_scoped(scope, ld_entry_name(e), sub, sizeof sub);
            k2t_status st = build_model(ld, e, sub, &cur, 1, tr, &o, &no);
            if (st != K2T_OK) return st;
            if (no != 1) {
                free(o);
                return k2t_fail(ld->err, K2T_EFORMAT, "%s: nested model '%s' in a Sequential "
                                "has %d outputs", ld->path, sub, no);
            }
            cur = o[0];
            free(o);
            continue;
        }
        if (strcmp(ld_entry_class(e), "InputLayer") == 0)
            return k2t_fail(ld->err, K2T_EFORMAT, "%s: Sequential has an InputLayer ('%s') "
                            "after its first layer", ld->path, ld_entry_name(e));
        int li = layer_for(ld, e, scope, trainable);
        if (li < 0) return ld->err->status;
        cur = new_node(ld, li, ld->m->layers[li].n_calls, &cur, 1);
    }
    *outs = k2t_xmalloc(sizeof **outs);
    (*outs)[0] = cur;
    *n_outs = 1;
    return K2T_OK;
}

static k2t_status build_model(loader *ld, json_t *entry, const char *scope,
                              const int *ext_in, int n_ext, int trainable,
                              int **outs, int *n_outs)
{
    const char *cls = ld_entry_class(entry);
    json_t *cfg = json_object_get(entry, "config");
    /* Inner layers are keyed by (scope, name): a second call of the same
    ** nested model would alias the first call's nodes. */
    if (scope[0] && ld_hmap_get(&ld->scopes, scope) >= 0)
        return k2t_fail(ld->err, K2T_EUNSUPPORTED, "%s: nested model '%s' is called more "
                            "than once, which k2t does not support", ld->path, scope);
    if (strcmp(cls, "Sequential") == 0)
        return build_sequential(ld, cfg, scope, ext_in, n_ext, trainable, outs, n_outs);
    if (strcmp(cls, "Functional") == 0 || strcmp(cls, "Model") == 0) {
        if (!json_is_object(cfg))
            return k2t_fail(ld->err, K2T_EFORMAT, "%s: model_config 'config' is not an object",
                            ld->path);
        /* Keras 3 serializes nodes as {"args", "kwargs"} dicts; its
        ** keras_history indices are plain 0-based. */
        int k3 = 0;
        json_t *layers = json_object_get(cfg, "layers");
        for (size_t i = 0; json_is_array(layers) && i < json_array_size(layers) && !k3; i++) {
            json_t *ib = json_object_get(json_array_get(layers, i), "inbound_nodes");
            k3 = json_is_array(ib) && json_is_object(json_array_get(ib, 0));
        }
        return build_functional(ld, cfg, scope, ext_in, n_ext, trainable, outs, n_outs, k3);
    }
    return k2t_fail(ld->err, K2T_EUNSUPPORTED, "%s: model class '%s' is not supported "
                    "(k2t reads Sequential and Functional models)", ld->path, cls);
}

/*------------------------------------------------------------ shapes */

static k2t_status infer_shapes(loader *ld)
{
    k2t_model *m = ld->m;
    k2t_status st = K2T_OK;
    /* seen[li]: the layer's first call (the node named after it) is past */
    char *seen = k2t_xcalloc((size_t)m->n_layers + 1, 1);
    for (int i = 0; i < m->n_nodes && st == K2T_OK; i++) {
        k2t_node *N = &m->nodes[i];
        k2t_layer *L = &m->layers[N->layer];
        int first = !seen[N->layer];
        seen[N->layer] = 1;
        const k2t_op_def *def = k2t_op_def_of(L->op);
        k2t_shape in[64];
        int known = 1;
        if (N->n_in > 64) { st = ld_fail(ld, L, K2T_EUNSUPPORTED, "more than 64 inputs"); break; }
        for (int j = 0; j < N->n_in; j++) {
            in[j] = m->nodes[N->in[j]].shape;
            if (in[j].ndim < 0) known = 0;
        }
        N->shape.ndim = -1;
        if (!def || L->op == K2T_OP_UNSUPPORTED) continue;
        if (N->part) {
            k2t_err e = {0};
            if (known && k2t_node_infer(m, i, in, &N->shape, &e) != K2T_OK) {
                st = ld_fail(ld, L, e.status ? e.status : K2T_ESHAPE, e.msg);
                break;
            }
            continue;
        }
        if (N->n_in < def->min_in || (def->max_in >= 0 && N->n_in > def->max_in)) {
            char msg[200];
            snprintf(msg, sizeof msg, "takes %d input%s, expected %s%d", N->n_in,
                     N->n_in == 1 ? "" : "s", def->max_in < 0 ? "at least " : "", def->min_in);
            st = ld_fail(ld, L, K2T_EFORMAT, msg);
            break;
        }
        if (!known || !def->infer) {
            /* A .keras layer after one k2t cannot run: its shapes are
            ** unknown, but its vars/i still get their names from the op. */
            if (first && ld->positional) st = ld_check_weights(ld, L, NULL, N->n_in);
            continue;
        }
        k2t_err e = {0};
        if (def->infer(L, in, N->n_in, &N->shape, &e) != K2T_OK) {
            st = ld_fail(ld, L, e.status ? e.status : K2T_ESHAPE, e.msg);
            break;
        }
        int64_t numel = 1;
        for (int d = 0; d < N->shape.ndim; d++) {
            if (N->shape.d[d] < -1 || (N->shape.d[d] > 0 && numel > K2T_MAX_NUMEL / N->shape.d[d])) {
                st = ld_fail(ld, L, K2T_ESHAPE, "output shape is absurdly large");
                break;
            }
            if (N->shape.d[d] > 0) numel *= N->shape.d[d];
        }
        if (st != K2T_OK) break;
        /* Weights are checked at the layer's first call. */
        if (first) st = ld_check_weights(ld, L, in, N->n_in);
    }
    free(seen);
    return st;
}

/*------------------------------------------------------------ top level */

/* Python's json writes NaN, Infinity and -Infinity, which JSON (and
** jansson) reject.  Outside strings, map them to null and +-FLT_MAX. */
static char *sanitize_json(const char *s)
{
    size_t n = strlen(s), w = 0;
    /* "NaN" -> "null" grows by one byte; the infinities fit in 24 bytes. */
    char *out = k2t_xmalloc(n * 3 + 1);
    int in_str = 0;
    for (const char *p = s; *p; p++) {
        if (in_str) {
            out[w++] = *p;
            if (*p == '\\' && p[1]) out[w++] = *++p;
            else if (*p == '"') in_str = 0;
            continue;
        }
        if (*p == '"') in_str = 1;
        const char *rep = NULL;
        size_t skip = 0;
        if (strncmp(p, "NaN", 3) == 0) rep = "null", skip = 3;
        else if (strncmp(p, "-Infinity", 9) == 0) rep = "-3.4028234663852886e+38", skip = 9;
        else if (strncmp(p, "Infinity", 8) == 0) rep = "3.4028234663852886e+38", skip = 8;
        if (rep) {
            size_t rl = strlen(rep);
            memcpy(out + w, rep, rl);
            w += rl;
            p += skip - 1;
            continue;
        }
        out[w++] = *p;
    }
    out[w] = '\0';
    return out;
}

static void sum_params(k2t_model *m)
{
    m->n_params = m->n_trainable = 0;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_w; j++) {
            m->n_params += m->layers[i].w[j].size;
            if (m->layers[i].w[j].trainable) m->n_trainable += m->layers[i].w[j].size;
        }
}

static void link_consumers(k2t_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        k2t_node *N = &m->nodes[i];
        for (int j = 0; j < N->n_in; j++) {
            k2t_node *P = &m->nodes[N->in[j]];
            int dup = 0;
            for (int q = 0; q < P->n_out; q++) dup |= P->out[q] == i;
            if (dup) continue;
            P->out = k2t_xrealloc(P->out, (size_t)(P->n_out + 1) * sizeof *P->out);
            P->out[P->n_out++] = i;
        }
    }
}

/* The weights' data, once infer_shapes has checked every shape. */
static k2t_status read_data(loader *ld)
{
    k2t_model *m = ld->m;
    for (int i = 0; i < m->n_layers; i++) {
        k2t_layer *L = &m->layers[i];
        for (int j = 0; j < L->n_w; j++) {
            k2t_weight *w = &L->w[j];
            if (w->data) continue;
            char what[600];
            k2t_err e = {0};
            snprintf(what, sizeof what, "layer '%s': weight '%s'", L->name, w->name);
            k2t_shape want = w->shape;
            if (h5_read_weight(ld->fid, w->path, w, what, &e) != K2T_OK)
                return k2t_fail(ld->err, e.status, "%s: %s", ld->path, e.msg);
            if (!k2t_shape_fits(&want, &w->shape))
                return k2t_fail(ld->err, K2T_EFORMAT, "%s: %s: its dataset changed while loading", ld->path, what);
        }
    }
    return K2T_OK;
}

/* The graph of a parsed {class_name, config} model, as both formats hold it. */
static k2t_status build_from_root(loader *ld, json_t *root)
{
    k2t_model *m = ld->m;
    m->model_class = k2t_xstrdup(json_string_value(json_object_get(root, "class_name")));
    json_t *cfg = json_object_get(root, "config");
    json_t *nm = json_is_object(cfg) ? json_object_get(cfg, "name") : NULL;
    m->name = k2t_xstrdup(json_is_string(nm) ? json_string_value(nm) : "");
    int *outs = NULL, n_outs = 0;
    k2t_status st = build_model(ld, root, "", NULL, 0, 1, &outs, &n_outs);
    if (st != K2T_OK) { free(outs); return st; }
    m->outputs = outs;
    m->n_outputs = n_outs;
    for (int i = 0; i < n_outs; i++) m->nodes[outs[i]].is_output = 1;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->layers[m->nodes[i].layer].op != K2T_OP_INPUT) continue;
        m->inputs = k2t_xrealloc(m->inputs, (size_t)(m->n_inputs + 1) * sizeof *m->inputs);
        m->inputs[m->n_inputs++] = i;
    }
    link_consumers(m);
    return K2T_OK;
}

/*------------------------------------------------------ .keras archives */

/* A .keras archive: config.json builds the graph as model_config does;
** model.weights.h5 (opened from memory) gives the variables by position. */
static k2t_status load_keras3(loader *ld)
{
    k2t_model *m = ld->m;
    k2t_k3file a;
    k2t_status st = k2t_keras3_open(ld->path, &a, ld->err);
    if (st != K2T_OK) return st;
    ld->fid = (hid_t)a.fid; /* closed by k2t_model_load_here */
    a.fid = -1;
    m->archive = 1;
    m->keras_version = k2t_xstrdup(a.keras_version ? a.keras_version : "");
    m->backend = k2t_xstrdup("");
    if (!a.keras_version) ld_note(m, "no keras_version in metadata.json: assuming Keras 3");
    long kv = strtol(m->keras_version, NULL, 10);
    m->keras_major = kv < 2 ? 3 : kv > 1000 ? 1000 : (int)kv;
    char *clean = sanitize_json(a.config);
    k2t_keras3_close(&a);
    json_error_t je;
    json_t *root = json_loads(clean, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    free(clean);
    if (!root)
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: member 'config.json' is not valid JSON (line %d, column %d: "
                        "%s)", ld->path, je.line, je.column, je.text);
    json_t *cfg = json_object_get(root, "config");
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "class_name"))) {
        json_decref(root);
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: member 'config.json' is not a {class_name, config} object",
                        ld->path);
    }
    const char *cls = json_string_value(json_object_get(root, "class_name"));
    if (!ld_is_model_class(cls) || !(json_is_array(cfg) || json_is_array(json_object_get(cfg, "layers")))) {
        k2t_fail(ld->err, K2T_EUNSUPPORTED, "%s: a subclassed model (class '%s'): its config.json holds no "
                 "layers, only the constructor's arguments, so its graph cannot be rebuilt without its Python "
                 "code; k2t inspects Functional and Sequential models", ld->path, cls);
        json_decref(root);
        return K2T_EUNSUPPORTED;
    }
    m->has_arch = 1;
    ld->positional = 1;
    st = build_from_root(ld, root);
    k2t_k3index *ix = NULL;
    if (st == K2T_OK) {
        ld->k3_group = k2t_xcalloc((size_t)m->n_layers + 1, sizeof *ld->k3_group);
        ix = k2t_keras3_index(ld->fid, ld->path, ld->err);
        st = ix ? ld_k3_walk(ld, ix, root, "", "", 0) : ld->err->status;
    }
    k2t_keras3_index_free(ix);
    json_decref(root);
    if (st == K2T_OK) st = infer_shapes(ld);
    if (st == K2T_OK) st = read_data(ld);
    if (st == K2T_OK) sum_params(m);
    return st;
}

static k2t_status load(loader *ld)
{
    k2t_model *m = ld->m;
    char *cfg_text = NULL;
    json_t *root = NULL;
    k2t_err e = {0};
    k2t_status st;

    if (k2t_is_zip(ld->path)) return load_keras3(ld);
    ld->fid = h5_open(ld->path, ld->err);
    if (ld->fid < 0) return ld->err->status;

    if ((st = h5_attr_string(ld->fid, "keras_version", &m->keras_version, &e)) != K2T_OK ||
        (st = h5_attr_string(ld->fid, "backend", &m->backend, &e)) != K2T_OK ||
        (st = h5_attr_string(ld->fid, "model_config", &cfg_text, &e)) != K2T_OK) {
        free(cfg_text);
        return k2t_fail(ld->err, st, "%s: %s", ld->path, e.msg);
    }
    if (!m->keras_version) m->keras_version = k2t_xstrdup("");
    if (!m->backend) m->backend = k2t_xstrdup("");
    long kv = strtol(m->keras_version, NULL, 10); /* no atoi: "99999999999" must not overflow */
    m->keras_major = kv < 0 ? 0 : kv > 1000 ? 1000 : (int)kv;
    if (m->keras_major == 1) {
        free(cfg_text);
        return k2t_fail(ld->err, K2T_EUNSUPPORTED, "%s: written by Keras %s; k2t reads files "
                        "of Keras 2 and 3", ld->path, m->keras_version);
    }
    if (m->keras_major < 2) {
        if (cfg_text || h5_has_attr(ld->fid, "layer_names"))
            ld_note(m, "no keras_version attribute: assuming Keras 2");
        m->keras_major = 2;
    }

    if (cfg_text) {
        m->has_arch = 1;
        if (h5_check_path(ld->fid, "model_weights", ld->path, ld->err) != K2T_OK) {
            free(cfg_text);
            return ld->err->status;
        }
        if (!h5_exists(ld->fid, "model_weights")) {
            free(cfg_text);
            return k2t_fail(ld->err, K2T_EFORMAT, "%s: has a model_config but no model_weights "
                            "group", ld->path);
        }
        ld->wroot = H5Gopen2(ld->fid, "model_weights", h5_gapl());
        char *clean = sanitize_json(cfg_text);
        json_error_t je;
        root = json_loads(clean, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        free(clean);
        free(cfg_text);
        if (!root)
            return k2t_fail(ld->err, K2T_EFORMAT, "%s: model_config is not valid JSON "
                            "(line %d, column %d: %s)", ld->path, je.line, je.column, je.text);
        if (!json_is_object(root) || !json_is_string(json_object_get(root, "class_name"))) {
            json_decref(root);
            return k2t_fail(ld->err, K2T_EFORMAT, "%s: model_config is not a {class_name, "
                            "config} object", ld->path);
        }
        st = build_from_root(ld, root);
        json_decref(root);
        if (st != K2T_OK) return st;
    } else if (h5_has_attr(ld->fid, "layer_names") || h5_has_attr(ld->fid, "layer_names0")) {
        ld->wroot = H5Gopen2(ld->fid, "/", H5P_DEFAULT);
        m->has_arch = 0;
    } else {
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: no model_config and no layer_names: not a "
                        "Keras model or weights file", ld->path);
    }
    st = ld_read_weights(ld);
    if (st == K2T_OK && m->has_arch) st = infer_shapes(ld);
    if (st == K2T_OK && m->has_arch) st = read_data(ld);
    if (st == K2T_OK) sum_params(m);
    return st;
}

k2t_model *k2t_model_load_here(const char *path, k2t_err *err)
{
    k2t_err local;
    loader ld = {0};
    ld.path = path;
    ld.err = err ? err : &local;
    ld.fid = -1;
    ld.wroot = -1;
    ld.m = k2t_xcalloc(1, sizeof *ld.m);
    ld.m->path = k2t_xstrdup(path);
    k2t_status st = load(&ld);
    if (ld.wroot >= 0) H5Gclose(ld.wroot);
    if (ld.fid >= 0) H5Fclose(ld.fid);
    for (int i = 0; i < ld.n_syms; i++) free(ld.syms[i].nodes);
    free(ld.syms);
    ld_hmap_free(&ld.sym_at);
    ld_hmap_free(&ld.sym_layer);
    ld_hmap_free(&ld.scopes);
    ld_hmap_free(&ld.layer_at);
    ld_hmap_free(&ld.layer_name);
    free(ld.key.p);
    for (int i = 0; ld.k3_group && i < ld.m->n_layers; i++) free(ld.k3_group[i]);
    free(ld.k3_group);
    if (st != K2T_OK) {
        k2t_model_free(ld.m);
        return NULL;
    }
    return ld.m;
}

