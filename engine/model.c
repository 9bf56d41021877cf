/*
** model.c -- a loaded model's accessors and its release: parameter
** counts, weights by name, PyTorch names, k2t_model_free.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

void k2t_model_free(k2t_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_layers; i++) {
        k2t_layer *L = &m->layers[i];
        for (int j = 0; j < L->n_w; j++) {
            free(L->w[j].name);
            free(L->w[j].path);
            free(L->w[j].data);
        }
        free(L->w);
        free(L->name);
        free(L->class_name);
        free(L->scope);
        free(L->config_json);
        free(L->unsupported);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        free(m->nodes[i].name);
        free(m->nodes[i].in);
        free(m->nodes[i].out);
    }
    for (int i = 0; i < m->n_notes; i++) free(m->notes[i]);
    free(m->notes);
    free(m->layers);
    free(m->nodes);
    free(m->inputs);
    free(m->outputs);
    free(m->path);
    free(m->keras_version);
    free(m->backend);
    free(m->model_class);
    free(m->name);
    free(m);
}

int64_t k2t_layer_params(const k2t_layer *L)
{
    int64_t n = 0;
    for (int i = 0; i < L->n_w; i++) n += L->w[i].size;
    return n;
}

char *k2t_layer_describe(const k2t_model *m, const k2t_layer *L, char *buf, size_t n)
{
    k2t_buf b = {0};
    const k2t_op_def *def = k2t_op_def_of(L->op);
    (void)m;
    k2t_buf_printf(&b, "%s", "");
    if (def && def->describe) def->describe(L, &b);
    snprintf(buf, n, "%s", b.p);
    free(b.p);
    return buf;
}

const k2t_weight *k2t_layer_weight(const k2t_layer *L, const char *name)
{
    for (int i = 0; i < L->n_w; i++)
        if (L->w[i].name && !strcmp(L->w[i].name, name)) return &L->w[i];
    return NULL;
}

int k2t_layer_has_weight(const k2t_layer *L, const char *name)
{
    return k2t_layer_weight(L, name) != NULL;
}

int k2t_torch_param(const k2t_model *m, const k2t_layer *L, int wi,
                    char *name, size_t n, k2t_shape *shape)
{
    k2t_tw tw;
    (void)m;
    name[0] = '\0';
    if (k2t_layer_tw(L, wi, &tw) != 0) return -1;
    *shape = tw.shape;
    /* state_dict keys are dot-separated: a Keras name with '.' or '/'
    ** would read as a submodule path.  The exported module's attributes
    ** and safetensors names use the same sanitizer (engine/export.c). */
    char attr[512];
    snprintf(name, n, "%s.%s", k2t_torch_ident(L->name, attr, sizeof attr), tw.suffix);
    return 0;
}

k2t_status k2t_node_infer(const k2t_model *m, int i, const k2t_shape *in, k2t_shape *out, k2t_err *err)
{
    const k2t_node *N = &m->nodes[i];
    const k2t_layer *L = &m->layers[N->layer];
    const k2t_op_def *def = k2t_op_def_of(L->op);
    if (!N->part)
        return def && def->infer ? def->infer(L, in, N->n_in, out, err)
                                 : k2t_fail(err, K2T_EUNSUPPORTED, "cannot infer its output shape");
    if (!def || !def->parts || def->parts(L, &in[0], N->part, out) < N->part)
        return k2t_fail(err, K2T_ESHAPE, "has no output tensor %d", N->part);
    return K2T_OK;
}

int k2t_node_part(const k2t_model *m, int i, int j)
{
    for (int k = 0; k < m->nodes[i].n_out; k++) {
        int c = m->nodes[i].out[k];
        if (m->nodes[c].part == j && m->nodes[c].in[0] == i) return c;
    }
    return -1;
}

int64_t k2t_input_vocab(const k2t_model *m, int k, int *mask_zero)
{
    int64_t v = 0;
    if (mask_zero) *mask_zero = 0;
    if (k < 0 || k >= m->n_inputs) return 0;
    const k2t_node *I = &m->nodes[m->inputs[k]];
    for (int j = 0; j < I->n_out; j++) {
        const k2t_layer *L = k2t_node_layer(m, I->out[j]);
        if (L->cfg.input_dim <= 0 || m->nodes[I->out[j]].in[0] != m->inputs[k]) continue;
        if (!v || L->cfg.input_dim < v) v = L->cfg.input_dim;
        if (mask_zero && L->cfg.makes_mask) *mask_zero = 1;
    }
    return v;
}
