/*
** test_channels_first.c -- the executor's paths on channels_first models
** (issue 11 part 5), on the cf_*.h5 fixtures of scripts/gen_exec_fixtures.py
** (tests/py/test_channels_first.py checks them against the Keras oracle):
**  - the fast path (buffers reused, BatchNormalization(axis=1) folded into
**    the channels_first GEMM before it, two threads) gives the kept run's
**    outputs;
**  - layout nchw changes nothing on a channels_first model (PyTorch's layout
**    is Keras's): every node bit for bit, held in Keras's shape.
** The fixtures are made by the Python tests: without them this skips.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../engine/k2t.h"

static int fails, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("not ok - "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

static const char *const names[] = {"cf_conv", "cf_flatten", "cf_depthwise", "cf_reshape",
                                    "cf_conv1d", "conv_8x8_a", "resnet_block", NULL};

/* A run of m on x (n samples) with o; NULL on failure (checked). */
static k2t_run *run(const k2t_model *m, const k2t_opts *o, const k2t_array *x, int n, const char *what)
{
    k2t_err err = {0};
    k2t_shape per = x->shape;
    per.ndim--;
    memmove(per.d, per.d + 1, (size_t)per.ndim * sizeof per.d[0]);
    k2t_run *r = k2t_run_new(m, o, &per, n, &err);
    CHECK(r != NULL, "%s: planned: %s", what, err.msg);
    if (!r) return NULL;
    k2t_status st = k2t_run_set_input(r, 0, x->data, n, &err);
    if (st == K2T_OK) st = k2t_run_nodes(r, 0, m->n_nodes, &err);
    CHECK(st == K2T_OK, "%s: runs: %s", what, err.msg);
    if (st != K2T_OK) {
        k2t_run_free(r);
        return NULL;
    }
    return r;
}

static double max_diff(const float *a, const float *b, int64_t n)
{
    double d = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (e > d || e != e) d = e;
    }
    return d;
}

static void one(const char *dir, const char *name)
{
    char path[1100], ipath[1100], what[256];
    k2t_err err = {0};
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    snprintf(ipath, sizeof ipath, "%s/%s.in.npy", dir, name);
    k2t_model *m = k2t_model_load(path, &err);
    if (!m) {
        printf("skip - %s: %s\n", name, err.msg);
        return;
    }
    k2t_array x = {0};
    if (k2t_npy_read(ipath, &x, &err) != K2T_OK) {
        printf("skip - %s: %s\n", name, err.msg);
        k2t_model_free(m);
        return;
    }
    int n = (int)x.shape.d[0];
    k2t_opts keep = {0}, fast = {0}, nchw = {0};
    keep.keep = 1, keep.threads = 1;
    fast.keep = 0, fast.threads = 2;
    nchw = keep;
    nchw.emu.layout = K2T_LAYOUT_NCHW;
    k2t_run *rk = run(m, &keep, &x, n, name);
    snprintf(what, sizeof what, "%s (fast path)", name);
    k2t_run *rf = run(m, &fast, &x, n, what);
    snprintf(what, sizeof what, "%s (layout nchw)", name);
    k2t_run *rn = run(m, &nchw, &x, n, what);
    if (rk && rf) {
        for (int j = 0; j < m->n_outputs; j++) {
            int node = m->outputs[j];
            const k2t_tensor *a = k2t_run_output(rk, node), *b = k2t_run_output(rf, node);
            int64_t cnt = (int64_t)n * k2t_shape_numel(k2t_run_keras_shape(rk, node));
            double d = a && b ? max_diff(a->data, b->data, cnt) : INFINITY;
            CHECK(d <= 1e-5, "%s: the fast path's output %s is the kept run's (max |diff| %g)", name,
                  m->nodes[node].name, d);
        }
    }
    if (rk && rn && strncmp(name, "cf_", 3) == 0) {
        int moved = 0, reshaped = 0;
        for (int i = 0; i < m->n_nodes; i++) {
            const k2t_shape *ks = k2t_run_keras_shape(rk, i);
            int64_t cnt = (int64_t)n * k2t_shape_numel(ks);
            float *a = malloc((size_t)(cnt ? cnt : 1) * sizeof(float));
            float *b = malloc((size_t)(cnt ? cnt : 1) * sizeof(float));
            if (k2t_run_keras(rk, i, 0, a, &err) != K2T_OK || k2t_run_keras(rn, i, 0, b, &err) != K2T_OK ||
                memcmp(a, b, (size_t)cnt * sizeof(float)) != 0)
                moved++;
            const k2t_shape *hs = k2t_run_shape(rn, i);
            if (hs->ndim != ks->ndim || memcmp(hs->d, ks->d, (size_t)ks->ndim * sizeof ks->d[0]) != 0)
                reshaped++;
            free(a);
            free(b);
        }
        CHECK(moved == 0, "%s: layout nchw computes every node as Keras does (%d differ)", name, moved);
        CHECK(reshaped == 0, "%s: layout nchw holds every node in Keras's own shape (%d do not)", name,
              reshaped);
    }
    k2t_run_free(rk);
    k2t_run_free(rf);
    k2t_run_free(rn);
    k2t_array_free(&x);
    k2t_model_free(m);
}

int main(int argc, char **argv)
{
    const char *fx = getenv("K2T_FIXTURES");
    char dir[1024];
    if (argc > 1) snprintf(dir, sizeof dir, "%s", argv[1]);
    else snprintf(dir, sizeof dir, "%s/exec", fx ? fx : "build/fixtures");
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/cf_conv.h5", dir);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        printf("skip - test_channels_first: no execution fixtures in %s (tests/py/test_channels_first.py "
               "makes them and runs this on them)\n", dir);
        return 0;
    }
    fclose(f);
    for (int i = 0; names[i]; i++) one(dir, names[i]);
    printf("%s - test_channels_first: %d checks\n", fails ? "not ok" : "ok", checks);
    return fails != 0;
}
