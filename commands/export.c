/*
** export.c -- export safetensors FILE / export pytorch FILE.py.
**
** safetensors writes the weights in PyTorch layout; pytorch writes a
** self-contained Python module and, next to it, the weights it loads
** (FILE.py -> FILE.safetensors) and its self-test's vectors
** (FILE.selftest.safetensors).  For the self-test the command runs the
** model once with Keras semantics (whatever the emulation settings say)
** on the current input's first samples, or when no input is set on
** random values (seed 1) in the range the first BatchNormalization's
** statistics suggest the model was trained for, and hands the engine
** that input, the outputs, every layer's output (within a budget) and
** the outputs' logits.  No file replaces an existing one without --force,
** and a failed export leaves none behind.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "shell.h"

#define MAX_SAMPLES 2 /* samples of the current input the self-test records */

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Keras layout (n, S..., C) -> PyTorch (n, C, S...) for a per-sample shape
** of 2 or more dims; the same data otherwise.  Returns a new buffer and
** the PyTorch shape (batch included). */
static float *to_torch(const float *x, int n, const k2t_shape *per, k2t_shape *out)
{
    int64_t numel = k2t_shape_numel(per);
    int64_t total = n * numel;
    float *y = k2t_xmalloc((size_t)(total > 0 ? total : 1) * sizeof(float));
    k2t_shape t = k2t_shape_nchw(per);
    out->ndim = per->ndim + 1;
    out->d[0] = n;
    for (int d = 0; d < per->ndim; d++) out->d[d + 1] = t.d[d];
    if (per->ndim < 2) {
        memcpy(y, x, (size_t)(n * numel) * sizeof(float));
        return y;
    }
    int64_t C = per->d[per->ndim - 1], S = C ? numel / C : 0;
    for (int i = 0; i < n; i++)
        for (int64_t s = 0; s < S; s++)
            for (int64_t c = 0; c < C; c++)
                y[i * numel + c * S + s] = x[i * numel + s * C + c];
    return y;
}

/* "input random" (splitmix64, uniform [0,1)): the same values as there. */
static void random_fill(float *x, int64_t n, unsigned long long seed)
{
    unsigned long long z = seed;
    for (int64_t i = 0; i < n; i++) {
        unsigned long long v = (z += 0x9e3779b97f4a7c15ULL);
        v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
        v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
        v ^= v >> 31;
        x[i] = (float)((double)(v >> 40) / (double)(1ULL << 24));
    }
}

/* The self-test's data: inputs (Keras layout, from the shell's input or
** random) run through a Keras-semantics plan; both converted to PyTorch's
** layout into in[] / out[] (the caller frees their data).  Reports errors. */
/* The training input range (k2t_infer_input_scale): random values in it
** (uniform [lo, hi)), and its description. */
static void input_range(const k2t_model *m, double *lo, double *hi, char *why, size_t n)
{
    k2t_input_scale s;
    k2t_err err = {0};
    *lo = 0, *hi = 1;
    memset(&s, 0, sizeof s);
    if (k2t_infer_input_scale(m, &s, &err) != K2T_OK || !s.ok || s.guess < 0) {
        snprintf(why, n, "uniform [0,1): the training range could not be inferred%s%.200s",
                 s.why[0] || err.msg[0] ? ", " : "", s.why[0] ? s.why : err.msg);
        return;
    }
    switch (s.guess) {
    case K2T_PRE_RAW: *lo = 0, *hi = 255; break;
    case K2T_PRE_UNIT: *lo = 0, *hi = 1; break;
    case K2T_PRE_CAFFE: *lo = -128, *hi = 128; break;
    default: { /* centred, of the spread the statistics suggest (uniform: std * sqrt(3)) */
        double half = s.std > 0 ? s.std * 1.7320508 : 1;
        if (s.guess == K2T_PRE_SYMMETRIC && !(s.std > 0)) half = 1;
        *lo = s.mean - half, *hi = s.mean + half;
    }
    }
    snprintf(why, n, "uniform [%.4g,%.4g): the training range that %s's statistics suggest (%s, "
             "mean input %.3g)", *lo, *hi, m->nodes[s.bn_node].name, k2t_pre_names[s.guess], s.mean);
}

/* Which nodes' outputs the vectors file keeps: all of them within a budget,
** else an even spread, and always the outputs. */
#define VEC_BUDGET ((int64_t)4 << 20) /* floats */

static void pick_nodes(const k2t_model *m, k2t_run *r, int n, int *keep)
{
    int64_t total = 0;
    for (int i = 0; i < m->n_nodes; i++) total += n * k2t_shape_numel(k2t_run_keras_shape(r, i));
    int64_t stride = total > VEC_BUDGET ? (total + VEC_BUDGET - 1) / VEC_BUDGET : 1;
    for (int i = 0; i < m->n_nodes; i++) keep[i] = i % stride == 0;
    for (int k = 0; k < m->n_outputs; k++) keep[m->outputs[k]] = 1;
}

static int record(k2t_shell *sh, k2t_export_sample *in, k2t_export_sample *out,
                  k2t_export_sample *acts, k2t_export_sample *pre, char *desc, size_t desc_n)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    k2t_shape per[64];
    float *x[64] = {0};
    int n = 1, rc = K2T_CMD_ERR;
    char s1[96];
    if (m->n_inputs > 64) return k2t_error(sh, -1, "export: the model has %d inputs", m->n_inputs);
    if (k2t_shell_input_ready(sh)) {
        /* The user's inputs, every one of them. */
        if (k2t_shell_input_shapes(sh, "export", per) != K2T_CMD_OK) return K2T_CMD_ERR;
        n = sh->in.n < MAX_SAMPLES ? sh->in.n : MAX_SAMPLES;
        int pixels = 0;
        for (int k = 0; k < m->n_inputs; k++) {
            int64_t numel;
            if (!(x[k] = k2t_shell_input_data(sh, k, NULL, &numel))) {
                for (int j = 0; j < k; j++) free(x[j]);
                return K2T_CMD_ERR;
            }
            pixels |= sh->in.x[k].a.pixels;
        }
        if (n == 1) snprintf(desc, desc_n, "%s, its first sample", sh->in.desc);
        else snprintf(desc, desc_n, "%s, its first %d samples", sh->in.desc, n);
        if (pixels)
            snprintf(desc + strlen(desc), desc_n - strlen(desc), ", preprocess %s",
                     k2t_pre_names[sh->set.emu.preprocess]);
    } else {
        double lo, hi;
        char range[400];
        input_range(m, &lo, &hi, range, sizeof range);
        for (int k = 0; k < m->n_inputs; k++) {
            per[k] = m->nodes[m->inputs[k]].shape;
            int64_t numel = k2t_shape_numel(&per[k]);
            if (numel < 0) {
                for (int j = 0; j < k; j++) free(x[j]);
                return k2t_error(sh, -1, "export: the model's input shape %s is not fully known: "
                                 "set an input of the size to export for (\"input FILE.npy\")",
                                 k2t_shape_str(&per[k], 1, s1, sizeof s1));
            }
            x[k] = k2t_xmalloc((size_t)(numel ? numel : 1) * sizeof(float));
            random_fill(x[k], numel, (unsigned long long)k + 1);
            int mz;
            int64_t vocab = k2t_input_vocab(m, k, &mz);
            if (vocab > 0) { /* ids every row of the vocabulary can be, and padding where it is masked */
                int64_t steps = per[k].ndim ? per[k].d[per[k].ndim - 1] : 1, pad = mz ? steps / 4 : 0;
                for (int64_t j = 0; j < numel; j++) {
                    int64_t id = (int64_t)(x[k][j] * (double)(vocab - mz)) + mz;
                    x[k][j] = (float)(id < vocab ? id : vocab - 1);
                    if (j % steps >= steps - pad) x[k][j] = 0.0f;
                }
                snprintf(range, sizeof range, "ids in [%d, %lld)%s", mz, (long long)vocab,
                         pad ? ", the last steps 0 (the padding mask_zero marks)" : "");
            } else {
                for (int64_t j = 0; j < numel; j++) x[k][j] = (float)(lo + (hi - lo) * x[k][j]);
            }
        }
        if (m->n_inputs == 1) snprintf(desc, desc_n, "random, seed 1, %s", range);
        else snprintf(desc, desc_n, "random, seeds 1..%d, %s", m->n_inputs, range);
        if (sh->in.n > 0) snprintf(desc + strlen(desc), desc_n - strlen(desc), " (the current input is "
                                   "not set for every input of this model)");
    }
    k2t_opts o;
    memset(&o, 0, sizeof o);
    o.threads = sh->set.threads;
    o.keep = 1;
    k2t_run *r = k2t_run_new(m, &o, per, n, &err);
    if (!r) {
        k2t_error(sh, -1, "export: %s", err.msg);
        goto done;
    }
    for (int k = 0; k < m->n_inputs; k++)
        if (k2t_run_set_input(r, k, x[k], n, &err) != K2T_OK) {
            k2t_error(sh, -1, "export: %s", err.msg);
            goto done;
        }
    if (k2t_run_nodes(r, 0, m->n_nodes, &err) != K2T_OK) {
        k2t_error(sh, -1, "export: %s", err.msg);
        goto done;
    }
    for (int k = 0; k < m->n_inputs; k++) in[k].data = to_torch(x[k], n, &per[k], &in[k].shape);
    for (int k = 0; k < m->n_outputs; k++) {
        const k2t_shape *ks = k2t_run_keras_shape(r, m->outputs[k]);
        float *y = k2t_xmalloc((size_t)(n * k2t_shape_numel(ks) + 1) * sizeof(float));
        if (k2t_run_keras(r, m->outputs[k], 0, y, &err) != K2T_OK) {
            free(y);
            k2t_error(sh, -1, "export: %s", err.msg);
            goto done;
        }
        out[k].data = to_torch(y, n, ks, &out[k].shape);
        free(y);
    }
    /* Every layer's output within the budget, and the outputs' logits
    ** before a fused activation: Keras's layout, the engine converts. */
    int *keep = k2t_xcalloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(int));
    pick_nodes(m, r, n, keep);
    for (int i = 0; i < m->n_nodes; i++) {
        const k2t_shape *ks = k2t_run_keras_shape(r, i);
        int is_out = 0;
        for (int k = 0; k < m->n_outputs; k++) is_out |= m->outputs[k] == i;
        for (int want_pre = 0; want_pre < 2; want_pre++) {
            k2t_export_sample *s = want_pre ? &pre[i] : &acts[i];
            if (want_pre ? !is_out || !k2t_run_preact(r, i) : !keep[i]) continue;
            float *y = k2t_xmalloc((size_t)(n * k2t_shape_numel(ks) + 1) * sizeof(float));
            if (k2t_run_keras(r, i, want_pre, y, &err) != K2T_OK) {
                free(y); /* not kept by the run: the vectors go without it */
                continue;
            }
            s->data = y;
            s->shape.ndim = ks->ndim + 1;
            s->shape.d[0] = n;
            for (int d = 0; d < ks->ndim; d++) s->shape.d[d + 1] = ks->d[d];
        }
    }
    free(keep);
    rc = K2T_CMD_OK;
done:
    k2t_run_free(r);
    for (int k = 0; k < m->n_inputs; k++) free(x[k]);
    return rc;
}

/* FILE.py -> FILE.safetensors (any other name: NAME.safetensors), or
** with ext ".selftest.safetensors" the self-test's vectors. */
static void weights_path(const char *py, char *out, size_t n, const char *ext)
{
    snprintf(out, n, "%s", py);
    size_t len = strlen(out);
    if (len > 3 && !strcmp(out + len - 3, ".py")) out[len - 3] = '\0';
    if (strlen(out) + strlen(ext) < n) strcat(out, ext);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int export_safetensors(k2t_shell *sh, const char *path, int force)
{
    k2t_err err = {0};
    k2t_export_opts o;
    k2t_export_info info;
    char b1[32], b2[32];
    memset(&o, 0, sizeof o);
    o.force = force;
    o.k2t_version = K2T_VERSION;
    if (k2t_export_safetensors(sh->model, path, &o, &info, &err) != K2T_OK)
        return k2t_error(sh, 2, "export: %s", err.msg);
    k2t_printf(sh, "exported %d tensors (%s values, %s bytes) to %s\n", info.n_tensors,
               k2t_fmt_count(info.n_values, b1, sizeof b1), k2t_fmt_count(info.bytes, b2, sizeof b2),
               path);
    if (info.n_permuted)
        k2t_printf(sh, "  %d Linear weight%s with input columns permuted for an NCHW Flatten\n",
                   info.n_permuted, info.n_permuted == 1 ? "" : "s");
    k2t_var_set(sh, "export_file", "%s", path);
    k2t_var_num(sh, "export_tensors", info.n_tensors);
    return K2T_CMD_OK;
}

static int export_pytorch(k2t_shell *sh, const char *path, int force)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    k2t_export_sample in[64], out[64], *acts, *pre;
    k2t_export_opts o;
    k2t_export_info st_info, py_info;
    char st[4096], vec[4096], desc[1024], b1[32], s1[96];
    int rc = K2T_CMD_ERR;
    weights_path(path, st, sizeof st, ".safetensors");
    weights_path(path, vec, sizeof vec, ".selftest.safetensors");
    if (!strcmp(st, path)) return k2t_error(sh, 2, "export pytorch: '%s' would be its own weights file", path);
    if (!strcmp(vec, path))
        return k2t_error(sh, 2, "export pytorch: '%s' would be its own test vectors file", path);
    if (k2t_export_check(m, &err) != K2T_OK) return k2t_error(sh, -1, "export: %s", err.msg);
    if (!force && exists(path))
        return k2t_error(sh, 2, "export: '%s' exists (use --force to overwrite it)", path);
    if (!force && exists(st))
        return k2t_error(sh, 2, "export: '%s' exists, the weights file written next to %s (use "
                         "--force to overwrite it)", st, base_name(path));
    if (!force && exists(vec))
        return k2t_error(sh, 2, "export: '%s' exists, the test vectors written next to %s (use "
                         "--force to overwrite it)", vec, base_name(path));
    if (m->n_outputs > 64) return k2t_error(sh, -1, "export: the model has %d outputs", m->n_outputs);
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    acts = k2t_xcalloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof *acts);
    pre = k2t_xcalloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof *pre);
    if (record(sh, in, out, acts, pre, desc, sizeof desc) != K2T_CMD_OK) goto done;
    memset(&o, 0, sizeof o);
    o.force = force;
    o.k2t_version = K2T_VERSION;
    o.st_name = base_name(st);
    o.py_name = base_name(path);
    o.in = in;
    o.out = out;
    o.in_desc = desc;
    o.acts = acts;
    o.preacts = pre;
    o.vec_name = base_name(vec);
    /* The module first: whatever it cannot translate stops the export
    ** before any file exists. */
    if (k2t_export_pytorch(m, path, &o, &py_info, &err) != K2T_OK) {
        k2t_error(sh, 2, "export: %s", err.msg);
        goto done;
    }
    if (k2t_export_safetensors(m, st, &o, &st_info, &err) != K2T_OK) {
        unlink(path); /* written just now: no half export */
        unlink(vec);
        k2t_error(sh, 2, "export: %s", err.msg);
        goto done;
    }
    k2t_printf(sh, "exported %d tensors (%s values) to %s\n", st_info.n_tensors,
               k2t_fmt_count(st_info.n_values, b1, sizeof b1), st);
    k2t_printf(sh, "wrote %s: class Model, %d module%s, forward() over %d layers", path,
               py_info.n_modules, py_info.n_modules == 1 ? "" : "s", m->n_nodes);
    if (py_info.n_permuted)
        k2t_printf(sh, ", %d Linear%s after an NCHW Flatten", py_info.n_permuted,
                   py_info.n_permuted == 1 ? "" : "s");
    if (m->n_inputs == 1) {
        k2t_printf(sh, "\n  self-test input %s: %s\n", k2t_shape_str(&in[0].shape, 0, s1, sizeof s1), desc);
    } else {
        k2t_printf(sh, "\n  self-test inputs");
        for (int k = 0; k < m->n_inputs; k++)
            k2t_printf(sh, "%s %s %s", k ? "," : "", m->nodes[m->inputs[k]].name,
                       k2t_shape_str(&in[k].shape, 0, s1, sizeof s1));
        k2t_printf(sh, ": %s\n", desc);
    }
    k2t_printf(sh, "  test vectors (input, layer outputs, Keras's outputs): %s\n", vec);
    k2t_printf(sh, "  check it: python3 %s\n", path);
    k2t_var_set(sh, "export_file", "%s", path);
    k2t_var_num(sh, "export_tensors", st_info.n_tensors);
    rc = K2T_CMD_OK;
done:
    for (int k = 0; k < 64; k++) {
        free((void *)in[k].data);
        free((void *)out[k].data);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        free((void *)acts[i].data);
        free((void *)pre[i].data);
    }
    free(acts);
    free(pre);
    return rc;
}

static int cmd_export(k2t_shell *sh, int argc, char **argv)
{
    const char *file = NULL;
    int force = 0, file_arg = 2;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return k2t_error(sh, i, "export: unknown option '%s' (only --force)", argv[i]);
        } else if (file) {
            return k2t_error(sh, i, "export: unexpected argument '%s'", argv[i]);
        } else {
            file = argv[i];
            file_arg = i;
        }
    }
    (void)file_arg;
    if (strcmp(argv[1], "safetensors") && strcmp(argv[1], "pytorch"))
        return k2t_error(sh, 1, "export: unknown format '%s' (pytorch or safetensors)", argv[1]);
    if (!file)
        return k2t_error(sh, -1, "export %s: which file? Usage: %s", argv[1],
                         argv[1][0] == 's' ? "export safetensors FILE [--force]"
                                           : "export pytorch FILE.py [--force]");
    if (argv[1][0] == 's') {
        k2t_err err = {0};
        if (k2t_export_check(sh->model, &err) != K2T_OK) return k2t_error(sh, -1, "export: %s", err.msg);
        return export_safetensors(sh, file, force);
    }
    return export_pytorch(sh, file, force);
}

static void complete_export(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh;
    if (argi == 1) {
        k2t_complete_words("pytorch safetensors", prefix, out);
    } else if (argi == 2) {
        k2t_complete_files(prefix, !strcmp(argv[1], "pytorch") ? ".py" : ".safetensors", out);
    } else if (argi == 3) {
        k2t_complete_words("--force", prefix, out);
    }
}

const k2t_command k2t_cmd_export = {
    .name = "export", .group = "model", .min_args = 2, .max_args = 3,
    .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "export pytorch FILE.py [--force] | export safetensors FILE [--force]",
    .summary = "Write the model as a PyTorch module (FILE.py and its FILE.safetensors) or its weights as safetensors.",
    .help = "safetensors: every weight in PyTorch layout, named <layer>.<param> as the module's\n"
            "state_dict() names them (Conv (O,I,kh,kw), depthwise (C*M,1,kh,kw), ConvTranspose\n"
            "(I,O,kh,kw), Linear (out,in) with its columns permuted after a Flatten, BatchNorm with\n"
            "num_batches_tracked), F32, with the source file and versions in __metadata__.\n"
            "pytorch: one readable Python file, class Model(nn.Module) with forward() as straight-\n"
            "line code (channels first, TF's exact 'same' pads for this input size), load_model(),\n"
            "Dropout as modules, an input-size check, and a self-test: \"python3 FILE.py\" runs an\n"
            "input recorded now (the current input's first samples, else random values, seed 1, in\n"
            "the range the first BatchNormalization suggests) and compares every layer's output,\n"
            "the logits and the outputs with Keras's (PASS or FAIL naming the first layer that\n"
            "differs).  Also writes FILE.safetensors (the weights) and FILE.selftest.safetensors\n"
            "(the test vectors) next to it.  An existing file is kept unless --force; a layer k2t\n"
            "cannot execute stops the export.  Publishes $export_file and $export_tensors.",
    .complete = complete_export, .fn = cmd_export,
};
