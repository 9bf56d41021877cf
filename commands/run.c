/*
** run.c -- executing the model: input, run, print, top, save.
**
** 'run' keeps every layer's output (k2t_opts.keep) so that print, save and
** later diff can read any of them.  'eval', which streams whole data sets
** through the fast plan, is in eval.c.
*/
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "shell.h"
#include "paths.h" /* k2t_shell_path: files relative to the running script */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*------------------------------------------------------------------ input */

/* The model's input names, "a, b", for messages. */
static const char *input_names(const k2t_model *m, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < m->n_inputs; i++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", i ? ", " : "", m->nodes[m->inputs[i]].name);
    return buf;
}

/* The model input called 'name' (its InputLayer's node name), or -1. */
static int input_index(const k2t_model *m, const char *name)
{
    for (int i = 0; i < m->n_inputs; i++)
        if (!strcmp(m->nodes[m->inputs[i]].name, name)) return i;
    return -1;
}

/* Is n samples for input i refused because another input holds another
** batch?  Reports it (naming both inputs) when it is. */
static int batch_conflict(k2t_shell *sh, int i, int n, const char *what)
{
    const k2t_model *m = sh->model;
    if (sh->in.n_x != m->n_inputs) return 0;
    for (int j = 0; j < sh->in.n_x; j++) {
        if (j == i || !sh->in.x[j].a.data || sh->in.n == n) continue;
        k2t_error(sh, -1, "input %s: %s holds %d sample%s; input %s holds %d (every input takes the same batch: "
                  "set them together with \"input FILE.npz\")", m->nodes[m->inputs[i]].name, what, n,
                  n == 1 ? "" : "s", m->nodes[m->inputs[j]].name, sh->in.n);
        return 1;
    }
    return 0;
}

/* k2t_shell_set_input with a printf description. */
static void set_input(k2t_shell *sh, int i, k2t_array *a, int n, unsigned char *labels, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void set_input(k2t_shell *sh, int i, k2t_array *a, int n, unsigned char *labels, const char *fmt, ...)
{
    va_list ap;
    char desc[320];
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    k2t_shell_set_input(sh, i, a, n, labels, desc);
}

/* Give 'a' (read from 'what') a batch dimension if it is one sample of
** input i; its number of samples, or -1 after reporting a shape that does
** not fit (a is freed then). */
static int input_batch(k2t_shell *sh, int argi, int i, k2t_array *a, const char *what)
{
    const k2t_model *m = sh->model;
    const k2t_shape *want = &m->nodes[m->inputs[i]].shape;
    char s1[96], s2[96], who[300] = "";
    if (m->n_inputs > 1) snprintf(who, sizeof who, " %s", m->nodes[m->inputs[i]].name);
    if (k2t_shape_fits(want, &a->shape) && a->shape.ndim < K2T_MAX_DIMS) {
        /* one sample without its batch dimension */
        for (int d = a->shape.ndim; d > 0; d--) a->shape.d[d] = a->shape.d[d - 1];
        a->shape.d[0] = 1;
        a->shape.ndim++;
        return 1;
    }
    k2t_shape per = a->shape;
    per.ndim = a->shape.ndim - 1;
    for (int d = 0; d < per.ndim; d++) per.d[d] = a->shape.d[d + 1];
    if (a->shape.ndim < 1 || !k2t_shape_fits(want, &per) || a->shape.d[0] < 1) {
        k2t_error(sh, argi, "input%s: %s has shape %s; the model's input%s takes %s (a batch of "
                  "samples, or one sample without the batch dimension)", who, what,
                  k2t_shape_str(&a->shape, 0, s1, sizeof s1), who, k2t_shape_str(want, 1, s2, sizeof s2));
        k2t_array_free(a);
        return -1;
    }
    if (a->shape.d[0] > 1 << 20) {
        k2t_error(sh, argi, "input%s: %s holds %lld samples; at most %d", who, what, (long long)a->shape.d[0], 1 << 20);
        k2t_array_free(a);
        return -1;
    }
    return (int)a->shape.d[0];
}

/* "input [NAME] FILE.npy": argi is the file's argument. */
/* Samples [first, first + count) of a batch of n (count < 0: all). */
static int take_range(k2t_shell *sh, int argi, k2t_array *a, int n, int64_t first, int64_t count, const char *what)
{
    if (count < 0) return n;
    if (first >= n || count > n - first) {
        k2t_error(sh, argi, "input: %s holds samples 0..%d; %lld:%lld is past its end", what, n - 1,
                  (long long)first, (long long)count);
        k2t_array_free(a);
        return -1;
    }
    int64_t per = k2t_shape_numel(&a->shape) / n;
    memmove(a->data, a->data + first * per, (size_t)(count * per) * sizeof(float));
    a->shape.d[0] = count;
    return (int)count;
}

static int input_npy(k2t_shell *sh, int i, int argi, const char *path, int64_t first, int64_t count)
{
    k2t_err err = {0};
    k2t_array a;
    char what[4200];
    path = k2t_shell_path(sh, path, NULL, 0); /* beside the running script (paths.h) */
    if (k2t_npy_read(path, &a, &err) != K2T_OK) return k2t_error(sh, argi, "input: %s", err.msg);
    snprintf(what, sizeof what, "'%s'", path);
    int n = input_batch(sh, argi, i, &a, what);
    if (n < 0) return K2T_CMD_ERR;
    if ((n = take_range(sh, argi + 1, &a, n, first, count, what)) < 0) return K2T_CMD_ERR;
    if (batch_conflict(sh, i, n, what)) {
        k2t_array_free(&a);
        return K2T_CMD_ERR;
    }
    set_input(sh, i, &a, n, NULL, "%s (%s, %d sample%s)", path, a.dtype, n, n == 1 ? "" : "s");
    k2t_shell_print_input(sh);
    return K2T_CMD_OK;
}

/* "input FILE.npz": one member per model input, named after it. */
static int input_npz(k2t_shell *sh, const char *path)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    k2t_npz z;
    char names[256], what[4400];
    path = k2t_shell_path(sh, path, NULL, 0); /* beside the running script (paths.h) */
    if (k2t_npz_read(path, &z, &err) != K2T_OK) {
        k2t_npz_free(&z);
        return k2t_error(sh, 1, "input: %s", err.msg);
    }
    input_names(m, names, sizeof names);
    int *member = k2t_xmalloc((size_t)m->n_inputs * sizeof(int)), rc = K2T_CMD_OK;
    for (int i = 0; i < m->n_inputs; i++) member[i] = -1;
    for (int k = 0; k < z.n && rc == K2T_CMD_OK; k++) {
        int i = input_index(m, z.e[k].name);
        if (i < 0)
            rc = k2t_error(sh, 1, "input: '%s' has a member '%s' that names no input of the model (its inputs: %s)",
                           path, z.e[k].name, names);
        else if (!z.e[k].a.data)
            rc = k2t_error(sh, 1, "input: '%s' member '%s': %s", path, z.e[k].name, z.e[k].skip ? z.e[k].skip : "not read");
        else
            member[i] = k;
    }
    for (int i = 0; i < m->n_inputs && rc == K2T_CMD_OK; i++)
        if (member[i] < 0)
            rc = k2t_error(sh, 1, "input: '%s' has no member '%s' (one array per input, named after it: %s)", path,
                           m->nodes[m->inputs[i]].name, names);
    /* Every member checked (shape, batch) before any input changes. */
    k2t_array *a = k2t_xcalloc((size_t)m->n_inputs, sizeof *a);
    int *ns = k2t_xcalloc((size_t)m->n_inputs, sizeof(int));
    for (int i = 0; i < m->n_inputs && rc == K2T_CMD_OK; i++) {
        k2t_npz_entry *e = &z.e[member[i]];
        a[i] = e->a;
        e->a.data = NULL; /* ours now */
        snprintf(what, sizeof what, "'%s' member '%s'", path, e->name);
        if ((ns[i] = input_batch(sh, 1, i, &a[i], what)) < 0) rc = K2T_CMD_ERR;
        else if (ns[i] != ns[0])
            rc = k2t_error(sh, 1, "input: '%s' member '%s' holds %d sample%s, member '%s' %d (every input takes the "
                           "same batch)", path, e->name, ns[i], ns[i] == 1 ? "" : "s", z.e[member[0]].name, ns[0]);
    }
    for (int i = 0; i < m->n_inputs; i++) {
        if (rc == K2T_CMD_OK) {
            char dt[16];
            snprintf(dt, sizeof dt, "%s", a[i].dtype);
            set_input(sh, i, &a[i], ns[i], NULL, "'%s' member %s (%s, %d sample%s)", path,
                      m->nodes[m->inputs[i]].name, dt, ns[i], ns[i] == 1 ? "" : "s");
        } else {
            k2t_array_free(&a[i]);
        }
    }
    free(a);
    free(ns);
    free(member);
    k2t_npz_free(&z);
    if (rc == K2T_CMD_OK) k2t_shell_print_input(sh);
    return rc;
}

static int parse_range(const char *s, int64_t *first, int64_t *count)
{
    char *end;
    *first = strtoll(s, &end, 10);
    if (end == s || *first < 0) return -1;
    if (*end == ':') {
        char *e2;
        *count = strtoll(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 || *count < 1) return -1;
    } else if (*end) {
        return -1;
    } else {
        *count = 1;
    }
    return 0;
}

static int input_cifar(k2t_shell *sh, int in_node, int argc, char **argv)
{
    k2t_err err = {0};
    int64_t total, first = 0, count;
    const char *path = k2t_shell_path(sh, argv[2], NULL, 0);
    char s2[96];
    const k2t_shape *want = &sh->model->nodes[in_node].shape;
    k2t_shape cif = {3, {32, 32, 3}};
    if (!k2t_shape_fits(want, &cif))
        return k2t_error(sh, -1, "input cifar: the model takes %s, not CIFAR's 32x32x3 images",
                         k2t_shape_str(want, 1, s2, sizeof s2));
    if (k2t_cifar_count(path, &total, &err) != K2T_OK) return k2t_error(sh, 2, "input cifar: %s", err.msg);
    count = total;
    if (argc > 3) {
        if (parse_range(argv[3], &first, &count) != 0)
            return k2t_error(sh, 3, "input cifar: expected FIRST or FIRST:COUNT, got '%s'", argv[3]);
        if (!strchr(argv[3], ':')) count = 1;
    } else if (count > 1024) {
        count = 1024;
    }
    if (first >= total || count > total - first) /* no first + count: both come from the command */
        return k2t_error(sh, 3, "input cifar: '%s' holds images 0..%lld; %lld:%lld is past its end", path,
                         (long long)total - 1, (long long)first, (long long)count);
    k2t_array a = {0};
    a.shape.ndim = 4;
    a.shape.d[0] = count, a.shape.d[1] = 32, a.shape.d[2] = 32, a.shape.d[3] = 3;
    a.data = k2t_xmalloc((size_t)count * 3072 * sizeof(float));
    a.pixels = 1;
    snprintf(a.dtype, sizeof a.dtype, "uint8");
    unsigned char *labels = k2t_xmalloc((size_t)count);
    if (k2t_cifar_read(path, first, (int)count, a.data, labels, &err) != K2T_OK) {
        k2t_array_free(&a);
        free(labels);
        return k2t_error(sh, 2, "input cifar: %s", err.msg);
    }
    set_input(sh, 0, &a, (int)count, labels, "%s images %lld..%lld of %lld", path, (long long)first,
              (long long)(first + count - 1), (long long)total);
    k2t_shell_print_input(sh);
    k2t_shell_check_preprocess(sh);
    if (argc <= 3 && total > count)
        k2t_printf(sh, "note: the first %lld of %lld images; \"eval cifar\" streams the whole file\n",
                   (long long)count, (long long)total);
    return K2T_CMD_OK;
}

/* "input random [SEED]" / "input zeros": every input; input i draws from
** its own splitmix64 stream (input 0's is SEED's, as for one input). */
static int input_random(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    int zeros = argv[1][0] == 'z';
    unsigned long long seed = 1;
    char s1[96];
    if (argc > 3 || (zeros && argc > 2))
        return k2t_error(sh, 3, "input %s: too many arguments", argv[1]);
    if (argc == 3) {
        char *end;
        seed = strtoull(argv[2], &end, 10);
        if (!*argv[2] || *end) return k2t_error(sh, 2, "input random: SEED must be a whole number, got '%s'", argv[2]);
    }
    for (int i = 0; i < m->n_inputs; i++) {
        const k2t_shape *want = &m->nodes[m->inputs[i]].shape;
        if (k2t_shape_numel(want) < 0)
            return k2t_error(sh, -1, "input %s: the model's input%s%s shape %s is not fully known", argv[1],
                             m->n_inputs > 1 ? " " : "", m->n_inputs > 1 ? m->nodes[m->inputs[i]].name : "",
                             k2t_shape_str(want, 1, s1, sizeof s1));
    }
    for (int i = 0; i < m->n_inputs; i++) {
        const k2t_shape *want = &m->nodes[m->inputs[i]].shape;
        int64_t numel = k2t_shape_numel(want);
        k2t_array a = {0};
        a.shape.ndim = want->ndim + 1;
        a.shape.d[0] = 1;
        for (int d = 0; d < want->ndim; d++) a.shape.d[d + 1] = want->d[d];
        a.data = k2t_xmalloc((size_t)(numel ? numel : 1) * sizeof(float));
        snprintf(a.dtype, sizeof a.dtype, "float32");
        /* splitmix64: the same SEED gives the same input everywhere */
        unsigned long long z = seed ^ ((unsigned long long)i * 0xd1b54a32d192ed03ULL);
        for (int64_t k = 0; k < numel; k++) {
            if (zeros) { a.data[k] = 0; continue; }
            unsigned long long x = (z += 0x9e3779b97f4a7c15ULL);
            x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
            x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
            x ^= x >> 31;
            a.data[k] = (float)((double)(x >> 40) / (double)(1ULL << 24));
        }
        if (zeros) set_input(sh, i, &a, 1, NULL, "zeros");
        else if (m->n_inputs == 1) set_input(sh, i, &a, 1, NULL, "random uniform [0,1), seed %llu", seed);
        else set_input(sh, i, &a, 1, NULL, "random uniform [0,1), seed %llu (stream %d)", seed, i);
    }
    k2t_shell_print_input(sh);
    return K2T_CMD_OK;
}

static int cmd_input(k2t_shell *sh, int argc, char **argv)
{
    k2t_err err = {0};
    const k2t_model *m = sh->model;
    char s1[96], names[256];
    if (argc == 1) {
        k2t_shell_print_input(sh);
        return K2T_CMD_OK;
    }
    input_names(m, names, sizeof names);
    int named = input_index(m, argv[1]);
    /* An input layer called "image" (or "random") of a model with several
    ** inputs: the keywords take one input, so the name wins. */
    if (named >= 0 && argc == 3 && m->n_inputs > 1) return input_npy(sh, named, 2, argv[2], 0, -1);
    if (strcmp(argv[1], "cifar") == 0) {
        if (argc < 3) return k2t_error(sh, -1, "input cifar: which file? Usage: input cifar FILE [FIRST[:COUNT]]");
        int in_node = k2t_shell_single_input(sh, "input cifar");
        if (in_node < 0) return K2T_CMD_ERR;
        return input_cifar(sh, in_node, argc, argv);
    }
    if (strcmp(argv[1], "image") == 0) {
        if (argc != 3) return k2t_error(sh, -1, "input image: usage: input image FILE");
        int in_node = k2t_shell_single_input(sh, "input image");
        if (in_node < 0) return K2T_CMD_ERR;
        const k2t_shape *want = &m->nodes[in_node].shape;
        if (want->ndim != 3 || (want->d[2] != 3 && want->d[2] != 1))
            return k2t_error(sh, -1, "input image: the model takes %s, not images (H, W, 3)",
                             k2t_shape_str(want, 1, s1, sizeof s1));
        k2t_array a;
        if (k2t_image_read(k2t_shell_path(sh, argv[2], NULL, 0), (int)want->d[0], (int)want->d[1], (int)want->d[2], &a, &err) != K2T_OK)
            return k2t_error(sh, 2, "input image: %s", err.msg);
        set_input(sh, 0, &a, 1, NULL, "%s", argv[2]);
        k2t_shell_print_input(sh);
        k2t_shell_check_preprocess(sh);
        return K2T_CMD_OK;
    }
    if (strcmp(argv[1], "random") == 0 || strcmp(argv[1], "zeros") == 0) return input_random(sh, argc, argv);
    if (argc == 3) {
        if (named >= 0) return input_npy(sh, named, 2, argv[2], 0, -1);
        size_t l1 = strlen(argv[1]);
        int64_t first, count;
        if (m->n_inputs == 1 && l1 > 4 && !strcmp(argv[1] + l1 - 4, ".npy")) { /* input FILE.npy FIRST[:COUNT] */
            if (parse_range(argv[2], &first, &count) != 0)
                return k2t_error(sh, 2, "input: expected FIRST or FIRST:COUNT after the file, got '%s'", argv[2]);
            return input_npy(sh, 0, 1, argv[1], first, count);
        }
        if (m->n_inputs == 1) return k2t_error(sh, 2, "input: unexpected argument '%s'", argv[2]);
        return k2t_error(sh, 1, "input: the model has no input '%s' (its inputs: %s)", argv[1], names);
    }
    if (argc != 2) return k2t_error(sh, 3, "input: unexpected argument '%s'", argv[3]);
    size_t len = strlen(argv[1]);
    if (len > 4 && !strcmp(argv[1] + len - 4, ".npz")) return input_npz(sh, argv[1]);
    if (m->n_inputs == 1) return input_npy(sh, 0, 1, argv[1], 0, -1);
    if (named >= 0)
        return k2t_error(sh, -1, "input %s: which file? Usage: input %s FILE.npy", argv[1], argv[1]);
    return k2t_error(sh, -1, "input: the model has %d inputs (%s): \"input NAME FILE.npy\" sets one, \"input "
                     "FILE.npz\" (a member named after each input) sets them all", m->n_inputs, names);
}

static void complete_input(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    const k2t_model *m = sh->model;
    if (argi == 1) {
        k2t_complete_words("cifar image random zeros", prefix, out);
        /* a model with several inputs: their names, for "input NAME FILE.npy" */
        for (int i = 0; m && m->n_inputs > 1 && i < m->n_inputs; i++)
            if (!strncmp(m->nodes[m->inputs[i]].name, prefix, strlen(prefix)))
                k2t_strlist_add(out, m->nodes[m->inputs[i]].name);
        k2t_complete_files(prefix, ".npy", out);
    } else if (argi == 2 && (!strcmp(argv[1], "cifar") || !strcmp(argv[1], "image"))) {
        k2t_complete_files(prefix, NULL, out);
    } else if (argi == 2 && m && input_index(m, argv[1]) >= 0) {
        k2t_complete_files(prefix, ".npy", out);
    }
}

/*-------------------------------------------------------------------- run */

/* A model whose single output is a vector of K >= 2 scores. */
static int classifier(const k2t_model *m)
{
    if (m->n_outputs != 1) return 0;
    const k2t_shape *s = &m->nodes[m->outputs[0]].shape;
    return s->ndim == 1 && s->d[0] >= 2;
}

/* Class k of a K-score output: with CIFAR labels, its CIFAR-10 name too. */
static const char *class_name(const k2t_shell *sh, int K, int k, char *buf, size_t n)
{
    if (k2t_class_name(sh, k)) snprintf(buf, n, "%d %s", k, k2t_class_name(sh, k)); /* the model's own (classes.c) */
    else if (K == 10 && sh->in.labels && k >= 0 && k < 10) snprintf(buf, n, "%d %s", k, k2t_cifar_names[k]);
    else snprintf(buf, n, "%d", k);
    return buf;
}

/* Does any model input hold pixels (set preprocess applies)? */
static int input_pixels(const k2t_shell *sh)
{
    for (int i = 0; i < sh->in.n_x; i++)
        if (sh->in.x[i].a.data && sh->in.x[i].a.pixels) return 1;
    return 0;
}

/* Plan (once per model, input shape, batch and settings) and run the whole
** graph, keeping every activation. */
static int ensure_run(k2t_shell *sh, const char *cmd)
{
    k2t_err err = {0};
    int was = k2t_shell_has_run(sh) && sh->cursor > 0 && sh->cursor < sh->model->n_nodes ? sh->cursor : 0;
    int rc = k2t_shell_prepare(sh, cmd);
    if (rc != K2T_CMD_OK) return rc;
    if (was) /* gdb: "The program being debugged has been started already." */
        k2t_printf(sh, "note: %s starts again from node 0 (stepping was at node %d %s)\n", cmd, was,
                   sh->model->nodes[was].name);
    if (k2t_run_nodes(sh->run, 0, sh->model->n_nodes, &err) != K2T_OK)
        return k2t_error(sh, -1, "%s: %s", cmd, err.msg);
    sh->cursor = sh->model->n_nodes;
    return K2T_CMD_OK;
}

static int argmax(const float *p, int k)
{
    int b = 0;
    for (int i = 1; i < k; i++)
        if (p[i] > p[b]) b = i;
    return b;
}

static void print_sample0(k2t_shell *sh, const k2t_tensor *t, int indent);

static int cmd_run(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    double t0 = now();
    int rc = ensure_run(sh, "run");
    if (rc != K2T_CMD_OK) return rc;
    double dt = now() - t0;
    const k2t_model *m = sh->model;
    char note[320];
    k2t_printf(sh, "ran %d layers on %d sample%s in %.3f ms (preprocess %s%s)\n", m->n_nodes, sh->in.n,
               sh->in.n == 1 ? "" : "s", dt * 1e3, input_pixels(sh) ? k2t_pre_names[sh->set.emu.preprocess] : "none",
               k2t_shell_settings_note(sh, note, sizeof note));
    if (sh->n_breaks)
        k2t_printf(sh, "note: run executes every layer and ignores the %d breakpoint%s; \"start\" "
                   "stops at them\n", sh->n_breaks, sh->n_breaks == 1 ? "" : "s");
    if (classifier(m)) {
        const k2t_tensor *o = k2t_run_output(sh->run, m->outputs[0]);
        int K = (int)o->shape.d[1];
        int show = sh->in.n < 5 ? sh->in.n : 5;
        char b1[64], b2[64];
        for (int i = 0; i < show; i++) {
            const float *p = o->data + (int64_t)i * K;
            int k = argmax(p, K);
            k2t_printf(sh, "  sample %d: class %s (%.4g)", i, class_name(sh, K, k, b1, sizeof b1), p[k]);
            if (sh->in.labels)
                k2t_printf(sh, ", label %s%s", class_name(sh, K, sh->in.labels[i], b2, sizeof b2),
                           sh->in.labels[i] == k ? "" : "  <- wrong");
            k2t_printf(sh, "\n");
        }
        if (sh->in.n > show) k2t_printf(sh, "  ... (\"top\" shows every sample)\n");
    } else {
        /* Every output by name, then its first sample's values as print
        ** shows them (summarised past 1,000 values). */
        char s1[96];
        for (int i = 0; i < m->n_outputs; i++) {
            const k2t_tensor *o = k2t_run_output(sh->run, m->outputs[i]);
            k2t_printf(sh, "  output %s: shape %s\n", m->nodes[m->outputs[i]].name,
                       k2t_shape_str(&o->shape, 0, s1, sizeof s1));
            print_sample0(sh, o, 4);
        }
    }
    return K2T_CMD_OK;
}

/* The kept activation of a node, or NULL after reporting why. */
static const k2t_tensor *activation(k2t_shell *sh, int argi, const char *name, int preact)
{
    const k2t_model *m = sh->model;
    int ni = k2t_find_node(m, name);
    if (ni < 0) {
        int li = k2t_arg_layer(sh, argi, name);
        if (li < 0) return NULL;
        ni = k2t_find_node(m, m->layers[li].name);
    }
    if (!sh->run || !k2t_run_output(sh->run, ni)) {
        k2t_error(sh, argi, "'%s' has not been computed: use \"run\" first", name);
        return NULL;
    }
    if (preact) {
        const k2t_tensor *t = k2t_run_preact(sh->run, ni);
        if (!t) k2t_error(sh, argi, "'%s' has no fused activation: its output is its pre-activation", name);
        return t;
    }
    return k2t_run_output(sh->run, ni);
}

/*------------------------------------------------------------------ print */

typedef struct range { int64_t start, stop, step; int index; } range;

/* numpy-style "[0,:4,1:8:2,-1]" against shape; returns the number of
** ranges or -1 with a message in why. */
static int parse_slice(const char *s, const k2t_shape *sh, range *r, char *why, size_t n)
{
    int k = 0;
    while (*s == ' ') s++;
    if (*s != '[') { snprintf(why, n, "a slice starts with '['"); return -1; }
    s++;
    /* Items other than "..." (which stands for every axis they leave). */
    int items = 0, ell = 0;
    for (const char *q = s; *q && *q != ']'; q++) {
        while (*q == ' ') q++;
        if (*q == ',') continue;
        if (!strncmp(q, "...", 3)) ell++, q += 2;
        else if (*q && *q != ']') {
            items++;
            q += strcspn(q, ",]");
            if (*q == ']') break;
        }
    }
    if (ell > 1) { snprintf(why, n, "a slice takes one '...' at most"); return -1; }
    for (;;) {
        while (*s == ' ') s++;
        if (*s == ']') break;
        if (!strncmp(s, "...", 3)) {
            s += 3;
            while (*s == ' ') s++;
            if (*s != ',' && *s != ']') { snprintf(why, n, "bad slice near '%s'", s); return -1; }
            for (int e = 0; e < sh->ndim - items && k < sh->ndim; e++, k++) r[k] = (range){0, sh->d[k], 1, 0};
            if (*s == ',') s++;
            continue;
        }
        if (k == sh->ndim) { snprintf(why, n, "too many indices for a tensor of %d dimensions", sh->ndim); return -1; }
        int64_t dim = sh->d[k], v[3] = {0, dim, 1};
        int have[3] = {0}, part = 0;
        while (*s && *s != ',' && *s != ']') {
            if (*s == ':') { if (++part > 2) { snprintf(why, n, "bad slice"); return -1; } s++; continue; }
            char *e;
            errno = 0;
            long long x = strtoll(s, &e, 10);
            if (e == s) { snprintf(why, n, "bad slice near '%s'", s); return -1; }
            if (errno == ERANGE) { snprintf(why, n, "number out of range near '%.40s'", s); return -1; }
            v[part] = x, have[part] = 1;
            s = e;
            while (*s == ' ') s++;
        }
        r[k].index = part == 0;
        if (part == 0) {
            if (!have[0]) { snprintf(why, n, "empty index"); return -1; }
            int64_t i = v[0] < 0 ? v[0] + dim : v[0];
            if (i < 0 || i >= dim) {
                snprintf(why, n, "index %lld is out of range for axis %d of size %lld", (long long)v[0], k,
                         (long long)dim);
                return -1;
            }
            r[k].start = i, r[k].stop = i + 1, r[k].step = 1;
        } else {
            if (!have[2]) v[2] = 1;
            if (v[2] <= 0) { snprintf(why, n, "step must be positive"); return -1; }
            /* numpy's clamping: negative bounds count from the end, then
            ** both are clipped to [0, dim]; an empty range stays empty. */
            int64_t a = have[0] ? (v[0] < 0 ? v[0] + dim : v[0]) : 0;
            int64_t b = have[1] ? (v[1] < 0 ? v[1] + dim : v[1]) : dim;
            if (a < 0) a = 0;
            if (a > dim) a = dim;
            if (b < 0) b = 0;
            if (b > dim) b = dim;
            if (a > b) a = b;
            r[k].start = a, r[k].stop = b, r[k].step = v[2];
        }
        k++;
        if (*s == ',') s++;
    }
    for (; k < sh->ndim; k++) r[k] = (range){0, sh->d[k], 1, 0};
    return k;
}

/* numpy's printoptions: past 'threshold' values, each axis longer than
** 2*edgeitems shows its first and last 'edgeitems' around "...". */
enum { PRINT_THRESHOLD = 1000, PRINT_EDGE = 3 };

typedef struct pctx {
    k2t_shell *sh;
    const k2t_tensor *t;
    const range *r;
    int nd, na, axes[K2T_MAX_DIMS];
    int64_t idx[K2T_MAX_DIMS];
    int summarise, prec, w, width, col, base; /* base: columns before the first '[' */
    int fixed;  /* > 0: fixed point with up to this many decimals (numpy's suppress=True) */
    int sci;    /* scientific with 2 significant digits */
} pctx;

static int64_t axis_len(const range *r)
{
    int64_t n = r->stop - r->start; /* no overflow for a step near INT64_MAX */
    return n <= 0 ? 0 : n / r->step + (n % r->step != 0);
}

static void fmt_value(const pctx *c, float v, char *buf, size_t n)
{
    if (c->sci) {
        snprintf(buf, n, "%.1e", (double)v);
    } else if (c->fixed > 0) {
        /* numpy's suppress=True: trailing zeros become blanks, so the
        ** decimal points align ("0.0003", "0.    ", "1.    "). */
        snprintf(buf, n, "%.*f", c->fixed, (double)v);
        char *dot = strchr(buf, '.');
        for (char *e = buf + strlen(buf) - 1; dot && e > dot && *e == '0'; e--) *e = ' ';
    } else {
        snprintf(buf, n, "%.*g", c->prec, (double)v);
    }
}

/* Print axis c->axes[a] from the current c->idx: "[v v ...]" for the
** last, nested brackets above it; lines end at c->width. */
static void print_axis(pctx *c, int a)
{
    int d = c->axes[a];
    int64_t len = axis_len(&c->r[d]);
    int cut = c->summarise && len > 2 * PRINT_EDGE;
    k2t_printf(c->sh, "[");
    c->col++;
    for (int64_t k = 0; k < len; k++) {
        if (cut && k == PRINT_EDGE) {
            if (a == c->na - 1) {
                if (c->col + 4 > c->width) { k2t_printf(c->sh, "\n%*s", c->base + a + 1, ""); c->col = c->base + a + 1; }
                k2t_printf(c->sh, " ...");
                c->col += 4;
            } else {
                k2t_printf(c->sh, "\n%*s...", c->base + a + 1, "");
                for (int i = 0; i < c->na - a - 1; i++) k2t_printf(c->sh, "\n");
                k2t_printf(c->sh, "%*s", c->base + a + 1, "");
                c->col = c->base + a + 1;
            }
            k = len - PRINT_EDGE;
        }
        c->idx[d] = c->r[d].start + k * c->r[d].step;
        if (a == c->na - 1) {
            int64_t off = 0;
            for (int i = 0; i < c->nd; i++) off = off * c->t->shape.d[i] + c->idx[i];
            char v[48];
            fmt_value(c, c->t->data[off], v, sizeof v);
            int need = c->w + (k ? 1 : 0);
            if (k && c->col + need + 1 > c->width) {
                k2t_printf(c->sh, "\n%*s", c->base + a + 1, "");
                c->col = c->base + a + 1;
                need = c->w;
            }
            k2t_printf(c->sh, "%s%*s", k && need > c->w ? " " : "", c->w, v);
            c->col += need;
        } else {
            if (k) {
                if (!(cut && k == len - PRINT_EDGE)) {
                    for (int i = 0; i < c->na - a - 1; i++) k2t_printf(c->sh, "\n");
                    k2t_printf(c->sh, "%*s", c->base + a + 1, "");
                }
                c->col = c->base + a + 1;
            }
            print_axis(c, a + 1);
        }
    }
    k2t_printf(c->sh, "]");
    c->col++;
}

/* Walk the elements print_axis prints (the summarised set) to find the
** common width. */
static void measure(pctx *c, int a)
{
    int d = c->axes[a];
    int64_t len = axis_len(&c->r[d]);
    int cut = c->summarise && len > 2 * PRINT_EDGE;
    for (int64_t k = 0; k < len; k++) {
        if (cut && k == PRINT_EDGE) k = len - PRINT_EDGE;
        c->idx[d] = c->r[d].start + k * c->r[d].step;
        if (a < c->na - 1) { measure(c, a + 1); continue; }
        int64_t off = 0;
        for (int i = 0; i < c->nd; i++) off = off * c->t->shape.d[i] + c->idx[i];
        char v[48];
        fmt_value(c, c->t->data[off], v, sizeof v);
        if ((int)strlen(v) > c->w) c->w = (int)strlen(v);
    }
}

static void print_values(k2t_shell *sh, const k2t_tensor *t, const range *r, int nd, int col)
{
    pctx c = {.sh = sh, .t = t, .r = r, .nd = nd, .col = col, .base = col};
    int64_t total = 1;
    for (int i = 0; i < nd; i++) {
        c.idx[i] = r[i].start;
        if (r[i].start < 0 || r[i].stop > t->shape.d[i] || r[i].step < 1) return; /* parse_slice guarantees */
        if (!r[i].index) c.axes[c.na++] = i;
        if (r[i].start >= r[i].stop) {
            /* An empty selection, as numpy prints it. */
            int na = 0;
            for (int j = 0; j < nd; j++) na += !r[j].index;
            for (int a = 0; a < na; a++) k2t_printf(sh, "[");
            for (int a = 0; a < na; a++) k2t_printf(sh, "]");
            k2t_printf(sh, "  (empty: axis %d selects nothing)\n", i);
            return;
        }
        total *= axis_len(&r[i]);
    }
    c.prec = sh->set.print_prec ? sh->set.print_prec : 6;
    c.summarise = total > PRINT_THRESHOLD;
    c.width = k2t_width(sh);
    if (c.width <= 0) c.width = 132; /* scripts and pipes: a line of 10 class scores */
    if (c.na == 0) { /* one element */
        char v[48];
        int64_t off = 0;
        for (int i = 0; i < nd; i++) off = off * t->shape.d[i] + c.idx[i];
        fmt_value(&c, t->data[off], v, sizeof v);
        k2t_printf(sh, "%s\n", v);
        return;
    }
    measure(&c, 0);
    /* One short vector (a classifier's scores) on one line: at the default
    ** precision, fewer digits (down to 3) when its values would wrap. */
    int64_t last = axis_len(&r[c.axes[c.na - 1]]);
    while (!sh->set.print_prec && c.prec > 3 && c.na == 1 && last <= 16 && c.base + 2 + last * (c.w + 1) > c.width) {
        c.prec--;
        c.w = 0;
        for (int i = 0; i < nd; i++) c.idx[i] = r[i].start;
        measure(&c, 0);
    }
    /* Still too wide (scores from 1e-8 to 1 at 80 columns): fixed point
    ** with 4 decimals down to 2 as numpy's suppress=True prints them, else
    ** scientific with 2 significant digits. */
    if (!sh->set.print_prec && c.na == 1 && last <= 16 && c.base + 2 + last * (c.w + 1) > c.width) {
        int fits = 0;
        for (c.fixed = 4; c.fixed >= 2 && !fits; c.fixed--) {
            c.w = 0;
            for (int i = 0; i < nd; i++) c.idx[i] = r[i].start;
            measure(&c, 0);
            fits = c.base + 2 + last * (c.w + 1) <= c.width;
            if (fits) break;
        }
        if (!fits) {
            c.fixed = 0, c.sci = 1, c.w = 0;
            for (int i = 0; i < nd; i++) c.idx[i] = r[i].start;
            measure(&c, 0);
            if (c.base + 2 + last * (c.w + 1) > c.width) { /* it wraps anyway: the shortest %g */
                c.sci = 0, c.w = 0;
                for (int i = 0; i < nd; i++) c.idx[i] = r[i].start;
                measure(&c, 0);
            }
        }
    }
    for (int i = 0; i < nd; i++) c.idx[i] = r[i].start;
    print_axis(&c, 0);
    k2t_printf(sh, "\n");
}

static int cmd_print(k2t_shell *sh, int argc, char **argv)
{
    int preact = 0, slice_arg = -1;
    if (argv[1][0] == '$') {
        /* a published result */
        if (argc > 2) return k2t_error(sh, 2, "print: a variable takes no slice");
        const char *v = k2t_var_get(sh, argv[1] + 1);
        if (!v) return k2t_error(sh, 1, "print: %s is not set (\"vars\" lists what is)", argv[1]);
        k2t_printf(sh, "%s = %s\n", argv[1], v);
        return K2T_CMD_OK;
    }
    if (!sh->model) return k2t_error(sh, -1, "print: no model loaded (use \"load FILE.h5\")");
    if (!sh->model->has_arch)
        return k2t_error(sh, -1, "print: %s is a weights-only file: it has no architecture", sh->model->path);
    /* A slice may hold spaces ("[0:2, 0:3]"): its words are joined back. */
    char slice[512] = "";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--preact")) preact = 1;
        else if (argv[i][0] == '[' && slice_arg < 0) {
            slice_arg = i;
            for (;; i++) {
                if (strlen(slice) + strlen(argv[i]) + 2 > sizeof slice) return k2t_error(sh, i, "print: slice too long");
                if (i > slice_arg) strcat(slice, " ");
                strcat(slice, argv[i]);
                if (strchr(argv[i], ']') || i + 1 == argc) break;
            }
        } else return k2t_error(sh, i, "print: unexpected argument '%s'", argv[i]);
    }
    const k2t_tensor *t = activation(sh, 1, argv[1], preact);
    if (!t) return K2T_CMD_ERR;
    char s1[96];
    int64_t n = k2t_shape_numel(&t->shape);
    double mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = t->data[i];
        if (!isfinite(v)) { bad++; continue; }
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        sum += v;
    }
    double mean = n - bad ? sum / (double)(n - bad) : NAN;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(t->data[i])) sq += (t->data[i] - mean) * (t->data[i] - mean);
    int nchw = k2t_run_opts(sh->run)->emu.layout == K2T_LAYOUT_NCHW && t->shape.ndim >= 3;
    k2t_printf(sh, "%s%s: shape %s (%s)  min %g  max %g  mean %g  std %g%s\n", argv[1],
               preact ? " (pre-activation)" : "", k2t_shape_str(&t->shape, 0, s1, sizeof s1),
               nchw ? "NCHW, as the port holds it" : "Keras layout", mn, mx, mean,
               n - bad ? sqrt(sq / (double)(n - bad)) : NAN, bad ? "  (NaN/Inf present)" : "");
    range r[K2T_MAX_DIMS];
    char why[256];
    int nd;
    if (slice_arg >= 0) {
        nd = parse_slice(slice, &t->shape, r, why, sizeof why);
        if (nd < 0) return k2t_error(sh, slice_arg, "print: %s", why);
        print_values(sh, t, r, nd, 0);
    } else {
        print_sample0(sh, t, 0);
    }
    return K2T_CMD_OK;
}

/* The first sample of t, numpy-style ("..." past 1,000 values), after
** "[0] " at column 'indent'. */
static void print_sample0(k2t_shell *sh, const k2t_tensor *t, int indent)
{
    range r[K2T_MAX_DIMS];
    int nd = t->shape.ndim;
    for (int i = 0; i < nd; i++) r[i] = (range){0, i ? t->shape.d[i] : (t->shape.d[0] > 0 ? 1 : 0), 1, i == 0};
    k2t_printf(sh, "%*s%s[0]%s ", indent, "", k2t_c_dim(sh), k2t_c_off(sh));
    print_values(sh, t, r, nd, indent + 4);
}

static void complete_print(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)argv;
    if (argi == 1) k2t_complete_layers(sh, prefix, out);
    else k2t_complete_words("--preact", prefix, out);
}

/*-------------------------------------------------------------------- top */

/* A vector of K >= 2 scores per sample: what top ranks. */
static int score_vector(const k2t_model *m, int node)
{
    const k2t_shape *s = &m->nodes[node].shape;
    return s->ndim == 1 && s->d[0] >= 2;
}

/* The top K classes of every sample (up to 100) in output node 'node'. */
static void top_output(k2t_shell *sh, int node, int K)
{
    const k2t_tensor *o = k2t_run_output(sh->run, node);
    int C = (int)o->shape.d[1];
    if (K > C) K = C;
    /* Scores that are not probabilities (logits) are shown through a softmax. */
    int probs = 1;
    for (int i = 0; i < sh->in.n && probs; i++) {
        double s = 0;
        for (int c = 0; c < C; c++) {
            float v = o->data[(int64_t)i * C + c];
            if (v < 0 || v > 1) probs = 0;
            s += v;
        }
        if (fabs(s - 1) > 1e-3) probs = 0;
    }
    if (!probs) k2t_printf(sh, "(the output is not a probability vector: softmax applied for display)\n");
    int show = sh->in.n < 100 ? sh->in.n : 100;
    char b[64];
    float *p = k2t_xmalloc((size_t)C * sizeof(float));
    int *order = k2t_xmalloc((size_t)C * sizeof(int));
    for (int i = 0; i < show; i++) {
        const float *q = o->data + (int64_t)i * C;
        double mx = q[0], s = 0;
        for (int c = 0; c < C; c++) if (q[c] > mx) mx = q[c];
        for (int c = 0; c < C; c++) { p[c] = probs ? q[c] : (float)exp(q[c] - mx); s += p[c]; }
        if (!probs) for (int c = 0; c < C; c++) p[c] = (float)(p[c] / s);
        for (int c = 0; c < C; c++) order[c] = c;
        for (int a = 0; a < K; a++)
            for (int c = a + 1; c < C; c++)
                if (p[order[c]] > p[order[a]]) { int t = order[a]; order[a] = order[c]; order[c] = t; }
        k2t_printf(sh, "sample %d", i);
        if (sh->in.labels) k2t_printf(sh, " (label %s)", class_name(sh, C, sh->in.labels[i], b, sizeof b));
        k2t_printf(sh, ":");
        for (int a = 0; a < K; a++)
            k2t_printf(sh, "%s %s %.4f", a ? "," : "", class_name(sh, C, order[a], b, sizeof b), p[order[a]]);
        k2t_printf(sh, "\n");
    }
    if (sh->in.n > show) k2t_printf(sh, "... %d more samples\n", sh->in.n - show);
    free(p);
    free(order);
}

static int cmd_top(k2t_shell *sh, int argc, char **argv)
{
    int K = 5;
    if (argc > 1) {
        char *end;
        long k = strtol(argv[1], &end, 10);
        if (!*argv[1] || *end || k < 1 || k > 1000) return k2t_error(sh, 1, "top: K must be a whole number from 1, got '%s'", argv[1]);
        K = (int)k;
    }
    const k2t_model *m = sh->model;
    int n_scores = 0;
    for (int i = 0; i < m->n_outputs; i++) n_scores += score_vector(m, m->outputs[i]);
    if (!n_scores)
        return k2t_error(sh, -1, "top: the model's output%s not a vector of class scores",
                         m->n_outputs == 1 ? " is" : "s are");
    if (!sh->run || !k2t_run_output(sh->run, m->outputs[0])) return k2t_error(sh, -1, "top: use \"run\" first");
    if (m->n_outputs == 1) {
        top_output(sh, m->outputs[0], K);
        return K2T_CMD_OK;
    }
    /* Several outputs: each that holds class scores, under its name. */
    char s1[96];
    for (int i = 0; i < m->n_outputs; i++) {
        int node = m->outputs[i];
        if (i) k2t_printf(sh, "\n");
        if (!score_vector(m, node)) {
            k2t_printf(sh, "%soutput %s%s: shape %s, not class scores\n", k2t_c_bold(sh), m->nodes[node].name,
                       k2t_c_off(sh), k2t_shape_str(&k2t_run_output(sh->run, node)->shape, 0, s1, sizeof s1));
            continue;
        }
        k2t_printf(sh, "%soutput %s%s:\n", k2t_c_bold(sh), m->nodes[node].name, k2t_c_off(sh));
        top_output(sh, node, K);
    }
    return K2T_CMD_OK;
}

/*------------------------------------------------------------------- save */

/* Save node i's output (or pre-activation) in Keras's layout, whatever
** layout the run uses. */
static int save_node(k2t_shell *sh, int argi, int node, int preact, const char *path, int force)
{
    k2t_err err = {0};
    const k2t_shape *ks = k2t_run_keras_shape(sh->run, node);
    k2t_shape full = *ks;
    for (int d = full.ndim; d > 0; d--) full.d[d] = full.d[d - 1];
    full.d[0] = sh->in.n;
    full.ndim++;
    float *buf = k2t_xmalloc((size_t)(k2t_shape_numel(&full) + 1) * sizeof(float));
    int rc = K2T_CMD_OK;
    if (k2t_run_keras(sh->run, node, preact, buf, &err) != K2T_OK ||
        k2t_npy_save(path, &full, buf, force, &err) != K2T_OK)
        rc = k2t_error(sh, argi, "save: %s", err.msg);
    free(buf);
    return rc;
}

/* The file a node's activation goes to in "save activations DIR". */
static void activation_path(const char *dir, const char *node, int preact, char *path, size_t n)
{
    char fname[1024];
    snprintf(fname, sizeof fname, "%s", node);
    for (char *p = fname; *p; p++) if (*p == '/') *p = '_';
    snprintf(path, n, "%s/%s%s.npy", dir, fname, preact ? ".preact" : "");
}

/* "model.npy" -> "model_1.npy" for output i of a multi-output model. */
static void output_path(const char *arg, int i, int n_outputs, char *path, size_t n)
{
    if (n_outputs == 1) {
        snprintf(path, n, "%s", arg);
        return;
    }
    const char *dot = strrchr(arg, '.');
    int has_ext = dot && !strchr(dot, '/');
    int base = has_ext ? (int)(dot - arg) : (int)strlen(arg);
    snprintf(path, n, "%.*s_%d%s", base, arg, i, has_ext ? dot : ".npy");
}

static int cmd_save(k2t_shell *sh, int argc, char **argv)
{
    const k2t_model *m = sh->model;
    k2t_err err = {0};
    char s1[96];
    int force = 0, n = 0;
    char *args[3] = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) force = 1;
        else if (n < 2) args[n++] = argv[i];
        else n = 3;
    }
    if (n != 2)
        return k2t_error(sh, -1, "save: usage: save output FILE.npy | save activations DIR | save LAYER FILE.npy "
                         "[--force]");
    int fa = !strcmp(argv[2], args[1]) ? 2 : 3; /* the FILE argument, for the caret */
    if (!strcmp(args[0], "output")) {
        if (!sh->run || !k2t_run_output(sh->run, m->outputs[0])) return k2t_error(sh, -1, "save: use \"run\" first");
        char path[4096];
        /* Every target is checked before anything is written. */
        for (int i = 0; i < m->n_outputs; i++) {
            output_path(args[1], i, m->n_outputs, path, sizeof path);
            if (k2t_check_write_target(path, force, &err) != K2T_OK) return k2t_error(sh, fa, "save: %s", err.msg);
        }
        for (int i = 0; i < m->n_outputs; i++) {
            output_path(args[1], i, m->n_outputs, path, sizeof path);
            if (save_node(sh, fa, m->outputs[i], 0, path, force) != K2T_CMD_OK) return K2T_CMD_ERR;
            k2t_printf(sh, "saved %s %s to %s\n", m->nodes[m->outputs[i]].name,
                       k2t_shape_str(k2t_run_keras_shape(sh->run, m->outputs[i]), 0, s1, sizeof s1), path);
        }
        return K2T_CMD_OK;
    }
    if (!strcmp(args[0], "activations")) {
        if (!sh->run || !k2t_run_output(sh->run, m->outputs[0])) return k2t_error(sh, -1, "save: use \"run\" first");
        struct stat sb;
        if (lstat(args[1], &sb) == 0 && !S_ISDIR(sb.st_mode))
            return k2t_error(sh, fa, "save: '%s' exists and is not a directory", args[1]);
        if (mkdir(args[1], 0777) != 0 && errno != EEXIST)
            return k2t_error(sh, fa, "save: cannot create directory '%s': %s", args[1], strerror(errno));
        char path[4096];
        for (int i = 0; i < m->n_nodes; i++) {
            if (!k2t_run_output(sh->run, i)) continue;
            for (int pre = 0; pre < 2; pre++) {
                if (pre && !k2t_run_preact(sh->run, i)) continue;
                activation_path(args[1], m->nodes[i].name, pre, path, sizeof path);
                if (k2t_check_write_target(path, force, &err) != K2T_OK)
                    return k2t_error(sh, fa, "save: %s", err.msg);
            }
        }
        int saved = 0;
        for (int i = 0; i < m->n_nodes; i++) {
            if (!k2t_run_output(sh->run, i)) continue;
            for (int pre = 0; pre < 2; pre++) {
                if (pre && !k2t_run_preact(sh->run, i)) continue;
                activation_path(args[1], m->nodes[i].name, pre, path, sizeof path);
                if (save_node(sh, fa, i, pre, path, force) != K2T_CMD_OK) return K2T_CMD_ERR;
                saved++;
            }
        }
        k2t_printf(sh, "saved %d arrays (Keras layout) to %s/\n", saved, args[1]);
        return K2T_CMD_OK;
    }
    int la = !strcmp(argv[1], args[0]) ? 1 : 2;
    const k2t_tensor *t = activation(sh, la, args[0], 0);
    if (!t) return K2T_CMD_ERR;
    int node = k2t_find_node(m, args[0]);
    if (node < 0) node = k2t_find_node(m, m->layers[k2t_find_layer(m, args[0])].name);
    if (save_node(sh, fa, node, 0, args[1], force) != K2T_CMD_OK) return K2T_CMD_ERR;
    k2t_printf(sh, "saved %s %s to %s\n", args[0], k2t_shape_str(k2t_run_keras_shape(sh->run, node), 0, s1, sizeof s1),
               args[1]);
    return K2T_CMD_OK;
}

static void complete_save(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)argv;
    if (argi == 1) {
        k2t_complete_words("output activations", prefix, out);
        k2t_complete_layers(sh, prefix, out);
    } else if (argi == 2) {
        k2t_complete_files(prefix, NULL, out);
    }
}

/*------------------------------------------------------------------ table */

const k2t_command k2t_cmd_input = {
    .name = "input", .group = "run", .min_args = 0, .max_args = 3, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "input FILE.npy [FIRST[:COUNT]] | input NAME FILE.npy | input FILE.npz | input cifar FILE [FIRST[:COUNT]] | input image FILE | "
             "input random [SEED] | input zeros | input",
    .summary = "Set the model's input: a .npy array, CIFAR-10 images, a PNG/JPEG image, random or zeros.",
    .help = "FILE.npy: float32, float64 or uint8 in Keras layout (NHWC), batch first; one sample\n"
            "without the batch dimension is accepted.  cifar: the CIFAR-10 binary format (1 label\n"
            "byte + 3072 CHW bytes per image); the labels are kept for top and eval; without\n"
            "FIRST:COUNT the first 1024 images.  image: PNG or JPEG of exactly the model's size.\n"
            "random: uniform [0,1) of the model's input shape, batch 1 (SEED default 1).\n"
            "A model with several inputs: \"input NAME FILE.npy\" sets the input layer NAME,\n"
            "\"input FILE.npz\" sets all (a member named after each input), random and zeros fill\n"
            "every input (each its own random stream); every input takes the same batch.\n"
            "Without arguments (or \"info input\"): each input's source and shape.\n"
            "Pixel inputs (cifar, image, uint8 .npy) go through \"set preprocess\" when run.",
    .complete = complete_input, .fn = cmd_input,
};

const k2t_command k2t_cmd_run = {
    .name = "run", .aliases = "r", .group = "run", .min_args = 0, .max_args = 0, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "run",
    .summary = "Run the whole model on the current input with Keras semantics, keeping every activation.",
    .help = "Prints the number of layers, the batch and the time, and for classifiers the top\n"
            "class of the first samples; for other models every output by name, its shape and its\n"
            "first sample's values as print shows them.  Every layer's output stays available to print, save and\n"
            "top.  A model with a layer k2t cannot execute is refused before anything runs.",
    .fn = cmd_run,
};

const k2t_command k2t_cmd_print = {
    .name = "print", .aliases = "p", .group = "run", .min_args = 1, .max_args = -1,
    .flags = K2T_RAW_VARS,
    .usage = "print LAYER [SLICE] [--preact] | print $NAME",
    .summary = "Print a layer's activation: shape, statistics and values, with numpy-style slices.",
    .help = "Example: print conv2d_3 [0,:4,:4,0], [0:2, 0:3] or [0,...,5].  The tensor is shown as the\n"
            "run holds it: Keras layout, or NCHW under \"set layout nchw\", batch first.  Without a\n"
            "slice, the first sample.  Values as numpy prints them: aligned, separated, lines fit\n"
            "the width; past 1,000 values each axis shows its first and last 3 around \"...\"\n"
            "(numpy's threshold and edgeitems).  \"set print.precision N\": significant digits\n"
            "(default 6).  --preact shows a Conv/Dense layer's output before its fused\n"
            "activation.  print $NAME shows a published result.",
    .complete = complete_print, .fn = cmd_print,
};

const k2t_command k2t_cmd_top = {
    .name = "top", .group = "run", .min_args = 0, .max_args = 1, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "top [K]",
    .summary = "Show the top-K classes of each sample with their probabilities (and labels when known).",
    .fn = cmd_top,
};

const k2t_command k2t_cmd_save = {
    .name = "save", .group = "run", .min_args = 2, .max_args = 3, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "save output FILE.npy | save activations DIR | save LAYER FILE.npy [--force]",
    .summary = "Save the model output, every activation, or one layer's activation as .npy (Keras layout).",
    .help = "activations writes DIR/LAYER.npy for every layer and DIR/LAYER.preact.npy for layers\n"
            "with a fused activation.  A model with several outputs writes FILE_0.npy, FILE_1.npy.\n"
            "An existing file is kept unless --force; a symbolic link is replaced, never written\n"
            "through; devices, FIFOs and directories are refused.  Each file is written to a\n"
            "temporary file beside it and renamed into place, so a failed write loses nothing.",
    .complete = complete_save, .fn = cmd_save,
};
