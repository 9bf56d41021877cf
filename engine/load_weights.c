/*
** load_weights.c -- the loader's weights: a legacy .h5's groups through
** layer_names and weight_names, and a .keras archive's positional vars
** found by walking its config as Keras saves it.  Each layer's weights
** are then checked against the shapes its op expects (ld_check_weights),
** which also names a .keras layer's vars/i.  load.c builds the graph.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loader.h"

/*---------------------------------------------------------------- weights */

static int is_non_trainable_var(const char *v)
{
    return strcmp(v, "moving_mean") == 0 || strcmp(v, "moving_variance") == 0 ||
           strcmp(v, "moving_stddev") == 0 || strcmp(v, "renorm_mean") == 0 ||
           strcmp(v, "renorm_stddev") == 0;
}

/* "conv2d/kernel:0" -> "kernel" */
static char *var_name(const char *wname)
{
    const char *s = strrchr(wname, '/');
    s = s ? s + 1 : wname;
    char *v = k2t_xstrdup(s);
    char *colon = strrchr(v, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) *colon = '\0';
    return v;
}

static void add_weight(k2t_layer *L, const k2t_weight *w)
{
    L->w = k2t_xrealloc(L->w, (size_t)(L->n_w + 1) * sizeof *L->w);
    L->w[L->n_w++] = *w;
}

/* Read one weights group (a layer's, or a nested model's) into the layers
** it belongs to.  'owner' is the layer of a top-level group, or -1 for a
** nested model group whose variables are matched by name. */
static k2t_status read_group(loader *ld, const char *gname, int owner, const char *scope)
{
    k2t_model *m = ld->m;
    char **wn = NULL;
    int n = 0, present = 0;
    k2t_err e = {0};
    char gwhat[600];
    snprintf(gwhat, sizeof gwhat, "%s: layer '%s'", ld->path, gname);
    if (h5_check_path(ld->wroot, gname, gwhat, ld->err) != K2T_OK) return ld->err->status;
    if (!h5_exists(ld->wroot, gname)) {
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s' is listed in layer_names but "
                        "the file has no weights group for it", ld->path, gname);
    }
    hid_t g = H5Gopen2(ld->wroot, gname, h5_gapl());
    if (g < 0)
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: '%s' in model_weights is not a group",
                        ld->path, gname);
    k2t_status st = h5_attr_strings(g, "weight_names", &wn, &n, &present, &e);
    if (st != K2T_OK) {
        k2t_fail(ld->err, st, "%s: layer '%s': %s", ld->path, gname, e.msg);
        goto done;
    }
    H5G_info_t gi;
    if (!present && H5Gget_info(g, &gi) >= 0 && gi.nlinks > 0) {
        /* Without weight_names the order of the variables is unknown. */
        st = k2t_fail(ld->err, K2T_EFORMAT, "%s: layer '%s': its weights group has no "
                      "weight_names attribute", ld->path, gname);
        goto done;
    }
    for (int i = 0; i < n && st == K2T_OK; i++) {
        k2t_weight w = {0};
        int li = owner;
        if (li < 0) {
            /* The last path segment naming a layer of this nested model. */
            char *p = k2t_xstrdup(wn[i]), *save = NULL;
            char *segs[64];
            int ns = 0;
            for (char *t = strtok_r(p, "/", &save); t && ns < 64; t = strtok_r(NULL, "/", &save))
                segs[ns++] = t;
            for (int s = ns - 2; s >= 0 && li < 0; s--) {
                for (int q = 0; q < m->n_layers; q++) {
                    k2t_layer *L = &m->layers[q];
                    if (!L->scope || strncmp(L->scope, scope, strlen(scope)) != 0) continue;
                    const char *base = strrchr(L->name, '/');
                    base = base ? base + 1 : L->name;
                    if (strcmp(base, segs[s]) == 0) { li = q; break; }
                }
            }
            free(p);
            if (li < 0) {
                st = k2t_fail(ld->err, K2T_EFORMAT, "%s: weight '%s' of nested model '%s' "
                              "matches none of its layers", ld->path, wn[i], gname);
                break;
            }
        }
        k2t_layer *L = &m->layers[li];
        char what[600], *vn = var_name(wn[i]);
        snprintf(what, sizeof what, "layer '%s': weight '%s'", L->name, vn);
        free(vn);
        /* With a config the data is read once every shape has been checked
        ** against it (read_data): nothing is allocated for a weight whose
        ** declared shape the model does not imply. */
        st = m->has_arch ? h5_read_weight_meta(g, wn[i], &w, what, &e) : h5_read_weight(g, wn[i], &w, what, &e);
        if (st != K2T_OK) {
            k2t_fail(ld->err, st, "%s: %s", ld->path, e.msg);
            break;
        }
        w.name = var_name(wn[i]);
        for (int q = 0; q < L->n_w; q++) {
            if (strcmp(L->w[q].name, w.name) == 0) {
                /* Bidirectional and friends repeat variable names. */
                free(w.name);
                const char *rel = strchr(wn[i], '/');
                w.name = var_name(wn[i]);
                if (rel) {
                    char *full = k2t_xstrdup(rel + 1);
                    char *c = strrchr(full, ':');
                    if (c) *c = '\0';
                    free(w.name);
                    w.name = full;
                }
                break;
            }
        }
        k2t_buf pb = {0};
        k2t_buf_printf(&pb, "%s%s/%s", ld->wroot == ld->fid ? "" : "model_weights/", gname, wn[i]);
        w.path = pb.p;
        w.trainable = L->trainable && !is_non_trainable_var(w.name);
        add_weight(L, &w);
    }
done:
    h5_strings_free(wn, n);
    H5Gclose(g);
    return st;
}

/* Check a layer's weights against what its config and input shape imply,
** and put them in Keras's order. */
k2t_status ld_check_weights(loader *ld, k2t_layer *L, const k2t_shape *in, int n_in)
{
    const k2t_op_def *def = k2t_op_def_of(L->op);
    k2t_wspec spec[K2T_MAX_WEIGHTS];
    int ns = 0;
    char a[96], b[96];
    if (L->op == K2T_OP_UNSUPPORTED || L->op == K2T_OP_NONE) return K2T_OK;
    if (def && def->weights) ns = def->weights(L, in, spec);
    (void)n_in;
    int renamed = 0;
    if (def && (def->flags & K2T_OPF_POSITIONAL) && L->n_w == ns) {
        /* Forward variables, then backward ones (Bidirectional), each
        ** named from the spec: H5 names and .keras's forward_layer/... and
        ** backward_layer/... alike. */
        k2t_weight tmp[K2T_MAX_WEIGHTS];
        int k = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int q = 0; q < L->n_w; q++)
                if ((strstr(L->w[q].name, "backward_") != NULL) == pass) tmp[k++] = L->w[q];
        for (int q = 0; q < ns; q++) {
            free(tmp[q].name);
            tmp[q].name = k2t_xstrdup(spec[q].name);
            L->w[q] = tmp[q];
        }
        renamed = 1;
    }
    if (ld->positional && !renamed) {
        /* A .keras archive stores vars/0..n-1 in the order of the op's
        ** spec (trainable, then non-trainable, as Keras creates them). */
        if (L->n_w != ns) {
            k2t_buf want = {0}, have = {0};
            for (int s = 0; s < ns; s++) k2t_buf_printf(&want, "%s%s", s ? ", " : "", spec[s].name);
            for (int q = 0; q < L->n_w; q++) k2t_buf_printf(&have, "%s%s", q ? ", " : "", L->w[q].name);
            char msg[900];
            const char *grp = ld->k3_group ? ld->k3_group[L - ld->m->layers] : NULL;
            snprintf(msg, sizeof msg, "the archive holds %d variable%s (%s) but its config implies %d (%s)%s%s%s",
                     L->n_w, L->n_w == 1 ? "" : "s", L->n_w ? have.p : "none", ns, ns ? want.p : "none",
                     grp ? "; read from group '" : "", grp ? grp : "", grp ? "' of model.weights.h5" : "");
            free(want.p), free(have.p);
            return ld_fail(ld, L, K2T_EFORMAT, msg);
        }
        for (int s = 0; s < ns; s++) {
            free(L->w[s].name);
            L->w[s].name = k2t_xstrdup(spec[s].name);
        }
    }
    int used[64] = {0};
    k2t_weight *ordered = ns ? k2t_xcalloc((size_t)ns, sizeof *ordered) : NULL;
    int n_ordered = 0;
    for (int s = 0; s < ns; s++) {
        int found = -1;
        for (int q = 0; q < L->n_w && q < 64; q++) {
            if (used[q]) continue;
            if (strcmp(L->w[q].name, spec[s].name) == 0 ||
                (spec[s].alt && strcmp(L->w[q].name, spec[s].alt) == 0)) { found = q; break; }
        }
        if (found < 0) {
            k2t_buf have = {0};
            for (int q = 0; q < L->n_w; q++) k2t_buf_printf(&have, "%s%s", q ? ", " : "", L->w[q].name);
            char msg[900];
            snprintf(msg, sizeof msg, "weight '%s' is missing (the file has: %s)", spec[s].name,
                     L->n_w ? have.p : "no weights");
            free(have.p);
            free(ordered);
            return ld_fail(ld, L, K2T_EFORMAT, msg);
        }
        k2t_weight *w = &L->w[found];
        int ok = w->shape.ndim == spec[s].shape.ndim;
        for (int d = 0; ok && d < w->shape.ndim; d++)
            if (spec[s].shape.d[d] >= 0 && spec[s].shape.d[d] != w->shape.d[d]) ok = 0;
        if (!ok) {
            char msg[600];
            snprintf(msg, sizeof msg, "weight '%s' has shape %s but the config implies %s",
                     spec[s].name, k2t_shape_str(&w->shape, 0, a, sizeof a),
                     k2t_shape_str(&spec[s].shape, 0, b, sizeof b));
            free(ordered);
            return ld_fail(ld, L, K2T_ESHAPE, msg);
        }
        if (spec[s].alt && strcmp(w->name, spec[s].name) != 0) {
            free(w->name);
            w->name = k2t_xstrdup(spec[s].name);
        }
        used[found] = 1;
        ordered[n_ordered] = *w;
        ordered[n_ordered++].trainable = w->trainable && spec[s].trainable; /* as the op declares */
    }
    for (int q = 0; q < L->n_w; q++) {
        if (!used[q]) {
            char msg[600];
            snprintf(msg, sizeof msg, "unexpected weight '%s' (the config implies %d weight%s)",
                     L->w[q].name, ns, ns == 1 ? "" : "s");
            free(ordered);
            return ld_fail(ld, L, K2T_EFORMAT, msg);
        }
    }
    if (ns) memcpy(L->w, ordered, (size_t)ns * sizeof *ordered);
    free(ordered);
    return K2T_OK;
}

/* Read every group listed in layer_names (and top_level_model_weights). */
k2t_status ld_read_weights(loader *ld)
{
    k2t_model *m = ld->m;
    char **names = NULL;
    int n = 0, present = 0;
    k2t_err e = {0};
    k2t_status st = h5_attr_strings(ld->wroot, "layer_names", &names, &n, &present, &e);
    if (st != K2T_OK)
        return k2t_fail(ld->err, st, "%s: model_weights: %s", ld->path, e.msg);
    if (!present) {
        h5_strings_free(names, n);
        return k2t_fail(ld->err, K2T_EFORMAT, "%s: the weights group has no layer_names "
                        "attribute", ld->path);
    }
    for (int i = 0; i < n && st == K2T_OK; i++) {
        int li = -1;
        if (m->has_arch) {
            /* A top-level layer, or a nested model whose group holds its
            ** sublayers' variables. */
            li = ld_hmap_get(&ld->layer_name, names[i]);
            if (li >= 0 && m->layers[li].scope) {
                li = -1;
                for (int q = 0; q < m->n_layers && li < 0; q++)
                    if (!m->layers[q].scope && strcmp(m->layers[q].name, names[i]) == 0) li = q;
            }
            if (li < 0) {
                int nested = 0;
                for (int q = 0; q < m->n_layers && !nested; q++)
                    nested = m->layers[q].scope &&
                             (strcmp(m->layers[q].scope, names[i]) == 0 ||
                              (strncmp(m->layers[q].scope, names[i], strlen(names[i])) == 0 &&
                               m->layers[q].scope[strlen(names[i])] == '/'));
                if (!nested) {
                    st = k2t_fail(ld->err, K2T_EFORMAT, "%s: weights group '%s' (in layer_names) "
                                  "matches no layer of model_config", ld->path, names[i]);
                    break;
                }
                st = read_group(ld, names[i], -1, names[i]);
                continue;
            }
        } else {
            if (m->n_layers == ld->cap_layers) {
                ld->cap_layers = ld->cap_layers ? ld->cap_layers * 2 : 32;
                m->layers = k2t_xrealloc(m->layers, (size_t)ld->cap_layers * sizeof *m->layers);
            }
            li = m->n_layers++;
            k2t_layer *L = &m->layers[li];
            memset(L, 0, sizeof *L);
            L->name = k2t_xstrdup(names[i]);
            L->class_name = k2t_xstrdup("?");
            L->op = K2T_OP_NONE;
            L->trainable = 1;
            L->config_json = k2t_xstrdup("{}");
        }
        st = read_group(ld, names[i], li, "");
    }
    /* Keras >= 2.7 keeps the model's own variables (normally none) here;
    ** it is not listed in layer_names. */
    if (st == K2T_OK && h5_check_path(ld->wroot, "top_level_model_weights", ld->path, ld->err) != K2T_OK)
        st = ld->err->status;
    if (st == K2T_OK && h5_exists(ld->wroot, "top_level_model_weights")) {
        hid_t g = H5Gopen2(ld->wroot, "top_level_model_weights", h5_gapl());
        char **wn = NULL;
        int nw = 0, pr = 0;
        if (g >= 0 && h5_attr_strings(g, "weight_names", &wn, &nw, &pr, &e) == K2T_OK && nw > 0)
            ld_note(m, "top_level_model_weights holds %d variable%s that belong to no layer",
                 nw, nw == 1 ? "" : "s");
        h5_strings_free(wn, nw);
        if (g >= 0) H5Gclose(g);
    }
    h5_strings_free(names, n);
    return st;
}

/*------------------------------------------------------ .keras archives */

/* One layer's variables: every dataset under its group, own vars first
** (keras3.c's order).  Since Keras 3.10 the vars group names the layer
** in attribute 'name': a different name means the positions are off. */
static k2t_status k3_layer_vars(loader *ld, const k2t_k3index *ix, const char *group, k2t_layer *L,
                                const char *cfg_name)
{
    char vpath[1200];
    snprintf(vpath, sizeof vpath, "%s/vars", group);
    const char *real = k2t_keras3_find(ix, vpath, 1);
    if (real) {
        hid_t g = H5Gopen2(ld->fid, real, h5_gapl());
        char *nm = NULL;
        k2t_err e = {0};
        if (g >= 0 && h5_attr_string(g, "name", &nm, &e) == K2T_OK && nm && strcmp(nm, cfg_name) != 0) {
            k2t_fail(ld->err, K2T_EFORMAT, "%s: member 'model.weights.h5': group '%s' belongs to layer '%s' "
                     "(its name attribute), but by the config's layer order it should hold layer '%s' (%s)",
                     ld->path, vpath, nm, cfg_name, L->class_name);
            free(nm);
            H5Gclose(g);
            return K2T_EFORMAT;
        }
        free(nm);
        if (g >= 0) H5Gclose(g);
    }
    char **rp = NULL, **rel = NULL;
    int n = k2t_keras3_group_vars(ix, group, &rp, &rel);
    k2t_status st = K2T_OK;
    for (int i = 0; i < n; i++) {
        if (st == K2T_OK) {
            k2t_weight w = {0};
            k2t_err e = {0};
            char what[1200];
            snprintf(what, sizeof what, "layer '%s': variable '%s/%s'", L->name, group, rel[i]);
            st = h5_read_weight_meta(ld->fid, rp[i], &w, what, &e);
            if (st != K2T_OK) {
                k2t_fail(ld->err, st, "%s: member 'model.weights.h5': %s", ld->path, e.msg);
            } else {
                w.name = k2t_xstrdup(rel[i]);
                w.path = k2t_xstrdup(rp[i]);
                w.trainable = L->trainable;
                add_weight(L, &w);
            }
        }
        free(rp[i]), free(rel[i]);
    }
    free(rp), free(rel);
    return st;
}

/* Walk a model's config as Keras walks model.layers when saving: each
** layer at <prefix>layers/<snake_case class>[_N], numbered per class in
** config order (in a tf.keras 2.13-2.15 archive a layer with variables
** takes two numbers: k2t_keras3_legacy); nested models recurse with their
** own layers. */
k2t_status ld_k3_walk(loader *ld, const k2t_k3index *ix, json_t *entry, const char *scope,
                          const char *prefix, int depth)
{
    if (depth > 64)
        return k2t_fail(ld->err, K2T_EUNSUPPORTED, "%s: models nested more than 64 deep", ld->path);
    json_t *cfg = json_object_get(entry, "config");
    json_t *layers = json_is_array(cfg) ? cfg : json_object_get(cfg, "layers");
    hmap used = {0};
    k2t_status st = K2T_OK;
    int *counts = NULL, n_counts = 0;
    for (size_t i = 0; json_is_array(layers) && i < json_array_size(layers) && st == K2T_OK; i++) {
        json_t *e = json_array_get(layers, i);
        /* Operations that are not layers (x + y on KerasTensors: module
        ** keras.src.ops.*) are not in model.layers: no group, no number. */
        json_t *mod = json_object_get(e, "module");
        if (json_is_string(mod) && !strncmp(json_string_value(mod), "keras.src.ops", 13)) continue;
        char snake[256], uniq[300], group[1100];
        k2t_snake_case(ld_entry_class(e), snake, sizeof snake);
        int c = ld_hmap_get(&used, snake);
        if (c < 0) {
            counts = k2t_xrealloc(counts, (size_t)(n_counts + 1) * sizeof *counts);
            counts[n_counts] = 0;
            ld_hmap_put(&used, snake, n_counts++);
            snprintf(uniq, sizeof uniq, "%s", snake);
        } else {
            snprintf(uniq, sizeof uniq, "%s_%d", snake, ++counts[c]);
        }
        snprintf(group, sizeof group, "%slayers/%s", prefix, uniq);
        if (k2t_keras3_legacy(ix) && k2t_keras3_has_data(ix, group)) counts[ld_hmap_get(&used, snake)]++;
        const char *name = ld_entry_name(e);
        if (ld_is_model_class(ld_entry_class(e))) {
            char sub[512], pre[1200];
            ld_scoped(scope, name, sub, sizeof sub);
            snprintf(pre, sizeof pre, "%s/", group);
            st = ld_k3_walk(ld, ix, e, sub, pre, depth + 1);
            continue;
        }
        int li = ld_hmap_get(&ld->layer_at, ld_key2(&ld->key, scope, name));
        if (li < 0) continue; /* an InputLayer aliased to an outer tensor */
        free(ld->k3_group[li]);
        ld->k3_group[li] = k2t_xstrdup(group);
        st = k3_layer_vars(ld, ix, group, &ld->m->layers[li], name);
    }
    ld_hmap_free(&used);
    free(counts);
    return st;
}

