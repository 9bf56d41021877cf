/*
** loader.h -- what load.c (the graph) and load_weights.c (the weights of
** a legacy .h5 and of a .keras archive) share, inside the loader only.
*/
#ifndef K2T_ENGINE_LOADER_H
#define K2T_ENGINE_LOADER_H

#include <jansson.h>
#include "h5.h"
#include "internal.h"

/* A string -> int hash map (open addressing, linear probing): names are
** looked up in O(1), so a 100,000-layer graph loads in linear time. */
typedef struct hmap {
    char **k;             /* owned keys, NULL for an empty slot */
    int *v;
    size_t cap, n;        /* cap is a power of two (or 0) */
} hmap;

void ld_hmap_free(hmap *h);
/* The value of 'key', or -1. */
int ld_hmap_get(const hmap *h, const char *key);
/* Set 'key' to 'val' unless it is present already (the first one wins). */
void ld_hmap_put(hmap *h, const char *key, int val);

typedef struct sym {     /* (scope, layer, call) -> the node(s) it produced */
    int *nodes;          /* output tensors of that call (nested models: several) */
    int n_nodes;
} sym;

typedef struct loader {
    const char *path;
    hid_t fid;
    hid_t wroot;          /* /model_weights, or the root of a weights-only file */
    k2t_model *m;
    k2t_err *err;
    sym *syms;
    int n_syms, cap_syms;
    int cap_layers, cap_nodes;
    hmap sym_at;          /* key3(scope, name, call) -> index in syms */
    hmap sym_layer;       /* ld_key2(scope, name) -> 1: the layer has produced a call */
    hmap scopes;          /* scope -> 1: a scope that has symbols */
    hmap layer_at;        /* ld_key2(scope, name as in the config) -> layer index */
    hmap layer_name;      /* a layer's unique name -> layer index */
    k2t_buf key;          /* scratch for keys */
    int positional;       /* .keras: weights are vars/0..n-1, named by the op's spec */
    char **k3_group;      /* .keras: per layer, the weights group it was read from (owned) */
} loader;

/* "scope\x1fname" as a key, in the loader's scratch buffer. */
const char *ld_key2(k2t_buf *b, const char *scope, const char *name);
/* Prefix an error with the file and layer: "resnet.h5: layer 'conv2d' (Conv2D): ..." */
k2t_status ld_fail(loader *ld, const k2t_layer *L, k2t_status st, const char *msg);
/* A non-fatal remark for the model's notes. */
void ld_note(k2t_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A config entry's class and name ("" when absent). */
const char *ld_entry_class(json_t *e);
const char *ld_entry_name(json_t *e);
int ld_is_model_class(const char *c);
/* "scope/name" (or "name" at the top) into buf. */
int ld_scoped(const char *scope, const char *name, char *buf, size_t n);

/* load_weights.c: the groups named by layer_names into the layers; a
** layer's weights checked against its op's spec for input shapes 'in'
** (NULL: unknown, a .keras layer after one k2t cannot run); a .keras
** config walked as Keras saves it, each layer's vars/i read. */
k2t_status ld_read_weights(loader *ld);
k2t_status ld_check_weights(loader *ld, k2t_layer *L, const k2t_shape *in, int n_in);
k2t_status ld_k3_walk(loader *ld, const k2t_k3index *ix, json_t *entry, const char *scope,
                      const char *prefix, int depth);

#endif /* K2T_ENGINE_LOADER_H */
