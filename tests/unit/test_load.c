/*
** test_load.c -- the loader and graph on the generated fixtures: topological
** order, inputs and outputs, weight order and trainability, nested and shared
** layers, Keras 3 names, weights-only files, errors that name the file.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../engine/k2t.h"

static int fails, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("not ok - "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

static const char *dir;

static k2t_model *load(const char *name)
{
    char path[1024];
    k2t_err err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    k2t_model *m = k2t_model_load(path, &err);
    CHECK(m != NULL, "%s loads: %s", name, err.msg);
    return m;
}

static void topological(const k2t_model *m, const char *name)
{
    int bad = 0;
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_in; j++)
            if (m->nodes[i].in[j] >= i) bad++;
    CHECK(bad == 0, "%s: every producer precedes its consumers", name);
    for (int i = 0; i < m->n_nodes; i++)
        for (int j = 0; j < m->nodes[i].n_out; j++) {
            const k2t_node *c = &m->nodes[m->nodes[i].out[j]];
            int back = 0;
            for (int q = 0; q < c->n_in; q++) back |= c->in[q] == i;
            CHECK(back, "%s: outbound link %s -> %s has its inbound twin", name, m->nodes[i].name, c->name);
        }
}

static const k2t_layer *layer(const k2t_model *m, const char *name)
{
    int i = k2t_find_layer(m, name);
    CHECK(i >= 0, "layer %s exists", name);
    return i >= 0 ? &m->layers[i] : NULL;
}

int main(void)
{
    dir = getenv("K2T_FIXTURES");
    if (!dir) dir = "build/fixtures";
    k2t_model *m;
    char buf[128];

    if ((m = load("func_k24.h5"))) {
        topological(m, "func_k24");
        CHECK(m->n_inputs == 1 && m->n_outputs == 1, "func_k24: one input, one output");
        CHECK(m->keras_major == 2 && strcmp(m->keras_version, "2.4.0") == 0, "func_k24: Keras 2.4.0");
        const k2t_layer *bn = layer(m, "batch_normalization");
        if (bn) {
            CHECK(bn->n_w == 4 && !strcmp(bn->w[0].name, "gamma") && !strcmp(bn->w[1].name, "beta") &&
                  !strcmp(bn->w[2].name, "moving_mean") && !strcmp(bn->w[3].name, "moving_variance"),
                  "func_k24: BN weights in Keras order (weight_names, not HDF5's alphabetical)");
            CHECK(bn->w[0].trainable && bn->w[1].trainable && !bn->w[2].trainable && !bn->w[3].trainable,
                  "func_k24: BN moving statistics are non-trainable");
        }
        int add = k2t_find_node(m, "add");
        CHECK(add >= 0 && m->nodes[add].n_in == 2, "func_k24: Add has two inputs");
        CHECK(!strcmp(k2t_shape_str(&m->nodes[m->inputs[0]].shape, 1, buf, sizeof buf), "(None, 8, 8, 3)"),
              "func_k24: input shape (None, 8, 8, 3), got %s", buf);
        k2t_shape nchw = k2t_shape_nchw(&m->nodes[m->inputs[0]].shape);
        CHECK(nchw.d[0] == 3 && nchw.d[1] == 8 && nchw.d[2] == 8, "NCHW of (8,8,3) is (3,8,8)");
        k2t_model_free(m);
    }
    if ((m = load("func_nested.h5"))) {
        topological(m, "func_nested");
        const k2t_layer *ib = layer(m, "inner_bn");
        CHECK(ib && ib->n_w == 4 && ib->scope && !strcmp(ib->scope, "inner_model"),
              "func_nested: inner_bn gets its 4 weights from the nested model's group");
        const k2t_layer *sc = layer(m, "seq_conv");
        CHECK(sc && !sc->trainable && sc->n_w == 2 && !sc->w[0].trainable,
              "func_nested: a frozen sublayer of a nested Sequential is non-trainable");
        CHECK(k2t_find_node(m, "inner_model") < 0, "func_nested: nested models are flattened away");
        k2t_model_free(m);
    }
    if ((m = load("func_shared.h5"))) {
        const k2t_layer *d = layer(m, "dense");
        CHECK(d && d->n_calls == 2, "func_shared: the shared Dense is called twice");
        CHECK(k2t_find_node(m, "dense#1") >= 0, "func_shared: its second call is node dense#1");
        k2t_model_free(m);
    }
    if ((m = load("func_chunked.h5"))) {
        CHECK(m->n_layers == 40, "func_chunked: 40 layers from layer_names0..2 (got %d)", m->n_layers);
        topological(m, "func_chunked");
        k2t_model_free(m);
    }
    if ((m = load("keras3.h5"))) {
        CHECK(m->keras_major == 3, "keras3: Keras 3");
        const k2t_layer *dw = layer(m, "depthwise_conv2d");
        CHECK(dw && dw->n_w == 2 && !strcmp(dw->w[0].name, "depthwise_kernel"),
              "keras3: the depthwise variable 'kernel' is the depthwise_kernel");
        topological(m, "keras3");
        k2t_model_free(m);
    }
    if ((m = load("func_multi_io.h5"))) {
        CHECK(m->n_inputs == 2 && m->n_outputs == 2, "func_multi_io: two inputs, two outputs");
        k2t_model_free(m);
    }
    if ((m = load("func_named_inputs.h5"))) {
        CHECK(m->n_inputs >= 1 && m->n_outputs == 1, "func_named_inputs: dict inputs, bare-triple output");
        k2t_model_free(m);
    }
    if ((m = load("weights_only.h5"))) {
        CHECK(!m->has_arch && m->n_layers == 4 && m->n_nodes == 0, "weights_only: 4 layers, no graph");
        CHECK(m->n_params == 67, "weights_only: 67 params (got %lld)", (long long)m->n_params);
        k2t_model_free(m);
    }
    if ((m = load("unsupported.h5"))) {
        const k2t_layer *l = layer(m, "lstm"), *lam = layer(m, "lambda");
        CHECK(l && l->op == K2T_OP_LSTM && l->n_w == 3 && !l->unsupported,
              "unsupported.h5: the LSTM is an op now, with its 3 weights");
        CHECK(lam && lam->op == K2T_OP_UNSUPPORTED && lam->unsupported && strstr(lam->unsupported, "Lambda"),
              "unsupported.h5: the Lambda stays, with a reason naming its class");
        k2t_err err = {0};
        k2t_opts o = {0};
        k2t_run *r = k2t_run_new(m, &o, NULL, 1, &err);
        CHECK(!r && strstr(err.msg, "lambda") && strstr(err.msg, "Lambda"),
              "unsupported: running is refused naming the layer and its class: %s", err.msg);
        k2t_run_free(r);
        k2t_model_free(m);
    }
    {
        k2t_err err = {0};
        CHECK(!k2t_model_load("/no/such.h5", &err) && strstr(err.msg, "/no/such.h5") && err.status == K2T_EIO,
              "a missing file is an I/O error naming it");
    }
    printf("%s - test_load: %d checks\n", fails ? "not ok" : "ok", checks);
    return fails != 0;
}
