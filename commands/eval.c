/*
** eval.c -- eval: how well the model does on a whole data set.
**
** Three sources, one loop: a CIFAR-10 binary file (eval cifar FILE), .npy
** arrays (eval X.npy [Y.npy]: samples batch first, then integer labels,
** one-hot rows or regression targets; without Y the input is the target,
** as for an autoencoder), and a folder of PNG/JPEG images with one
** subfolder per class (eval DIR/, the sorted subfolder names being the
** class indices, as Keras's image_dataset_from_directory and torchvision's
** ImageFolder number them).  Classification prints accuracy (and top-K
** with --top K), per-class accuracy and, for up to 12 classes, the
** confusion matrix; regression prints the mean squared and absolute error.
**
** Nothing is held whole: each of "set threads" threads takes chunks of up
** to 32 samples (as many as fit EVAL_CHUNK_FLOATS, at least a
** micro-batch), reads them from the source (k2t_npy_stream_read,
** k2t_cifar_read, k2t_image_read), preprocesses pixels and runs them in
** micro-batches of 2 (large samples one by one) through its own fast plan,
** so memory stays the same whatever the size of the data (a folder's file
** names excepted).  Under bn.mode train the chunk is one batch of
** --batch N on one plan.
*/
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "shell.h"
#include "paths.h" /* k2t_shell_path: files relative to the running script */

/* Samples a thread reads and preprocesses at a time, and the micro-batch it
** runs them in (without batch statistics: with them the chunk and the
** batch are --batch N, on one plan). */
#define EVAL_CHUNK 32
/* Floats a chunk's samples may take: a chunk of 32 224x224 images would be
** 19 MB of floats, read back from memory by each micro-batch; within
** this they are still in cache when it runs. */
#define EVAL_CHUNK_FLOATS ((int64_t)1 << 18)
#ifndef EVAL_MICRO
#define EVAL_MICRO 2
#endif
/* A sample this large (a 224x224 image) runs alone: its layers have pixels
** enough, and two of them would double what each layer's output keeps in
** cache (alternating runs: SqueezeNet-224 a little faster, MobileNetV2-224
** the same). */
#define EVAL_ALONE_FLOATS ((int64_t)1 << 16)
#define EVAL_MAX_CONF 12    /* classes up to which the confusion matrix is kept and shown */
#define EVAL_MAX_THREADS 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*---------------------------------------------------------------- sources */

enum { SRC_CIFAR, SRC_NPY, SRC_DIR };
/* What the samples are compared with. */
enum {
    Y_NONE,     /* the input itself (an autoencoder): regression */
    Y_INDEX,    /* class indices, one per sample */
    Y_ONEHOT,   /* one-hot rows of K */
    Y_BINARY,   /* 0/1 labels for a single score: class 1 when it passes thr */
    Y_TARGET,   /* regression targets of the output's shape */
    Y_CIFAR,    /* the CIFAR file's label bytes */
    Y_FOLDER,   /* the image's subfolder */
};

typedef struct eval_src {
    int kind;                /* SRC_* */
    const char *path;        /* the CIFAR file, X.npy or the folder (argv) */
    const char *ypath;       /* Y.npy (argv), or NULL */
    k2t_npy_stream *x, *y;   /* owned, or NULL */
    char **files;            /* folder: image paths (owned, n_files of them) */
    int *file_class;         /* folder: each image's class index (owned) */
    int64_t n_files;
    char **names;            /* folder: class names (owned, n_names), else NULL */
    int n_names;
    int64_t total;           /* samples to evaluate */
    k2t_shape per;           /* per-sample input shape, concrete */
    int64_t per_numel;
    int pixels;              /* the samples are pixels: set preprocess applies */
    int ymode;               /* Y_* */
    int64_t y_row;           /* floats per sample in Y (Y_INDEX 1, Y_ONEHOT K, Y_TARGET the output's) */
    int K;                   /* class scores (classification; 2 for binary), else 0 */
    float thr;               /* Y_BINARY: 0.5 after a sigmoid, else 0 (a logit) */
    int64_t out_numel;       /* per-sample output floats (Keras layout) */
} eval_src;

static void src_free(eval_src *s)
{
    k2t_npy_close(s->x);
    k2t_npy_close(s->y);
    for (int64_t i = 0; i < s->n_files; i++) free(s->files[i]);
    free(s->files);
    free(s->file_class);
    for (int i = 0; i < s->n_names; i++) free(s->names[i]);
    free(s->names);
}

static int classifying(const eval_src *s)
{
    return s->ymode == Y_INDEX || s->ymode == Y_ONEHOT || s->ymode == Y_BINARY || s->ymode == Y_CIFAR ||
           s->ymode == Y_FOLDER;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int image_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return n[0] != '.' && dot &&
           (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = k2t_xmalloc(n);
    int slash = dir[0] && dir[strlen(dir) - 1] == '/';
    snprintf(p, n, "%s%s%s", dir, slash ? "" : "/", name);
    return p;
}

/* The sorted names in 'dir' that are directories (want_dirs) or image
** files; *skipped counts other regular files.  NULL with err when the
** folder cannot be read. */
static char **list_dir(const char *dir, int want_dirs, int *n, int64_t *skipped, k2t_err *err)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) {
        k2t_fail(err, K2T_EIO, "cannot open the folder '%s': %s", dir, strerror(errno));
        return NULL;
    }
    char **v = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = join(dir, e->d_name);
        struct stat st;
        int ok = stat(p, &st) == 0;
        free(p);
        if (!ok) continue;
        int keep = want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && image_name(e->d_name);
        if (!keep) {
            if (!want_dirs && S_ISREG(st.st_mode) && skipped) (*skipped)++;
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            v = k2t_xrealloc(v, (size_t)cap * sizeof *v);
        }
        size_t len = strlen(e->d_name) + 1;
        v[*n] = k2t_xmalloc(len);
        memcpy(v[*n], e->d_name, len);
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(v, (size_t)*n, sizeof *v, cmp_str);
    return v ? v : k2t_xmalloc(1);
}

/* The folder's classes and images, in class order then file name order. */
static int open_folder(k2t_shell *sh, eval_src *s)
{
    k2t_err err = {0};
    int n_dirs = 0, n_top = 0;
    int64_t skipped = 0, top_skipped = 0;
    char **dirs = list_dir(s->path, 1, &n_dirs, NULL, &err);
    if (!dirs) return k2t_error(sh, 1, "eval: %s", err.msg);
    s->names = dirs;
    s->n_names = n_dirs;
    char **top = list_dir(s->path, 0, &n_top, &top_skipped, &err);
    for (int i = 0; top && i < n_top; i++) free(top[i]);
    free(top);
    if (n_dirs == 0)
        return k2t_error(sh, 1, "eval: the folder '%s' has no class subfolders%s (it should hold "
                         "CLASS/IMAGE.png, one subfolder per class)", s->path,
                         n_top ? ", only images" : "");
    int64_t cap = 0;
    for (int c = 0; c < n_dirs; c++) {
        char *sub = join(s->path, dirs[c]);
        int nf = 0;
        char **f = list_dir(sub, 0, &nf, &skipped, &err);
        if (!f) {
            free(sub);
            return k2t_error(sh, 1, "eval: %s", err.msg);
        }
        for (int i = 0; i < nf; i++) {
            if (s->n_files == cap) {
                cap = cap ? 2 * cap : 256;
                s->files = k2t_xrealloc(s->files, (size_t)cap * sizeof *s->files);
                s->file_class = k2t_xrealloc(s->file_class, (size_t)cap * sizeof *s->file_class);
            }
            s->files[s->n_files] = join(sub, f[i]);
            s->file_class[s->n_files++] = c;
            free(f[i]);
        }
        free(f);
        free(sub);
    }
    if (s->n_files == 0)
        return k2t_error(sh, 1, "eval: the folder '%s' has %d class subfolder%s but no .png/.jpg/.jpeg "
                         "images in them", s->path, n_dirs, n_dirs == 1 ? "" : "s");
    if (skipped)
        k2t_printf(sh, "note: %lld file%s in '%s' %s not .png/.jpg/.jpeg and %s skipped\n", (long long)skipped,
                   skipped == 1 ? "" : "s", s->path, skipped == 1 ? "is" : "are", skipped == 1 ? "was" : "were");
    k2t_printf(sh, "classes:");
    for (int c = 0; c < n_dirs; c++) k2t_printf(sh, "%s %d %s", c ? "," : "", c, dirs[c]);
    k2t_printf(sh, "\n");
    s->total = s->n_files;
    return K2T_CMD_OK;
}

/* Decide what Y.npy holds, reading it through once (a few MiB at a time):
** integer-valued labels of one column or one-hot rows of K are classes;
** 0/1 labels for a model with a single output score are binary classes;
** else targets of the output's shape; else an error naming both shapes. */
static int classify_y(k2t_shell *sh, eval_src *s, const k2t_shape *out, int64_t out_numel)
{
    k2t_err err = {0};
    char s1[96], s2[96];
    const k2t_shape *ys = &s->y->shape;
    int K = out->ndim == 1 && out->d[0] >= 2 ? (int)out->d[0] : 0;
    int one_col = ys->ndim == 1 || (ys->ndim == 2 && ys->d[1] == 1);
    int k_cols = K && ys->ndim == 2 && ys->d[1] == K;
    int64_t n = s->total, row = s->y->row;
    int integral = 1, onehot = k_cols, in_range = 1, binary = one_col && out_numel == 1;
    int64_t bad = -1;
    float badv = 0;
    if ((K && (one_col || k_cols)) || binary) {
        int64_t step = (4 << 20) / (int64_t)sizeof(float) / (row ? row : 1) + 1;
        float *b = k2t_xmalloc((size_t)(step * row) * sizeof(float));
        for (int64_t i0 = 0; i0 < n && (integral || onehot || binary); i0 += step) {
            int64_t m = n - i0 < step ? n - i0 : step;
            if (k2t_npy_stream_read(s->y, i0, m, b, &err) != K2T_OK) {
                free(b);
                return k2t_error(sh, 2, "eval: %s", err.msg);
            }
            for (int64_t i = 0; i < m; i++) {
                const float *r = b + i * row;
                if (one_col) {
                    if (r[0] != 0 && r[0] != 1) binary = 0;
                    if (r[0] != floorf(r[0])) integral = 0;
                    else if (in_range && (r[0] < 0 || r[0] >= (float)K)) in_range = 0, bad = i0 + i, badv = r[0];
                } else {
                    int ones = 0;
                    for (int64_t k = 0; k < row; k++) {
                        if (r[k] == 1) ones++;
                        else if (r[k] != 0) ones = 2;
                    }
                    if (ones != 1) onehot = 0;
                }
            }
        }
        free(b);
        if (binary) {
            s->ymode = Y_BINARY;
            s->y_row = row;
            s->K = 2;
            return K2T_CMD_OK;
        }
        if (one_col && integral) {
            if (!in_range)
                return k2t_error(sh, 2, "eval: '%s' sample %lld has label %g; the model's output has %d "
                                 "classes (labels 0..%d)", s->ypath, (long long)bad, (double)badv, K, K - 1);
            s->ymode = Y_INDEX;
            s->y_row = row;
            s->K = K;
            return K2T_CMD_OK;
        }
        if (k_cols && onehot) {
            s->ymode = Y_ONEHOT;
            s->y_row = row;
            s->K = K;
            return K2T_CMD_OK;
        }
    }
    /* Regression: the same elements per sample, axes of 1 aside. */
    k2t_shape a = {0}, c = {0};
    for (int i = 1; i < ys->ndim; i++)
        if (ys->d[i] != 1) a.d[a.ndim++] = ys->d[i];
    for (int i = 0; i < out->ndim; i++)
        if (out->d[i] != 1) c.d[c.ndim++] = out->d[i];
    int same = a.ndim == c.ndim;
    for (int i = 0; same && i < a.ndim; i++) same = a.d[i] == c.d[i];
    if (!same) {
        k2t_shape per = *ys;
        per.ndim--;
        for (int i = 0; i < per.ndim; i++) per.d[i] = ys->d[i + 1];
        if (K)
            return k2t_error(sh, 2, "eval: '%s' holds %s per sample; the model's output is %s: expected "
                             "integer class labels (N,), one-hot rows (N, %d) or targets of the output's shape",
                             s->ypath, k2t_shape_str(&per, 0, s1, sizeof s1),
                             k2t_shape_str(out, 0, s2, sizeof s2), K);
        return k2t_error(sh, 2, "eval: '%s' holds %s per sample, but the model's output is %s: regression "
                         "targets must have the output's shape", s->ypath, k2t_shape_str(&per, 0, s1, sizeof s1),
                         k2t_shape_str(out, 0, s2, sizeof s2));
    }
    s->ymode = Y_TARGET;
    s->y_row = row;
    return K2T_CMD_OK;
}

/*----------------------------------------------------------------- workers */

typedef struct eval_ctx {
    const k2t_model *m;
    const eval_src *src;
    int64_t next;            /* the next sample to take (under mu) */
    int64_t counted;         /* samples counted so far (under mu), for the progress line */
    int stop;                /* a thread failed: the others stop too (under mu) */
    int mb, chunk;
    int pre;                 /* k2t_pre */
    int topk;                /* --top K, or 0 */
    FILE *progress;          /* the progress line goes there (thread 0), or NULL */
    k2t_shell *hook;         /* or to hook->progress (the full-screen mode's status line), or NULL */
    int shown;               /* the progress line was printed */
    double t0;
    pthread_mutex_t mu;
} eval_ctx;

typedef struct eval_worker_arg {
    eval_ctx *E;
    int t;
    k2t_status st;
    k2t_err err;
    k2t_run *r;
    /* classification */
    int64_t done, correct, top_correct;
    int64_t *label_n, *label_ok;   /* per class (K each, owned) */
    int64_t *conf;                 /* K x K when K <= EVAL_MAX_CONF (owned), else NULL */
    /* regression */
    double sse, sae;
    int64_t n_el;
} eval_worker_arg;

static int argmax(const float *p, int k)
{
    int b = 0;
    for (int i = 1; i < k; i++)
        if (p[i] > p[b]) b = i;
    return b;
}

/* The rank of class l among scores p (0: the top; ties go to the lower
** index, as argmax breaks them). */
static int rank_of(const float *p, int k, int l)
{
    int r = 0;
    for (int i = 0; i < k; i++)
        if (p[i] > p[l] || (p[i] == p[l] && i < l)) r++;
    return r;
}

/* Read samples [first, first+n) into x and their targets: class indices
** into labels, and Y's rows as read (targets, or labels before they are
** checked) into y, which holds n * y_row floats. */
static k2t_status src_read(const eval_src *s, int64_t first, int n, float *x, int *labels, float *y,
                           k2t_err *err)
{
    k2t_status st = K2T_OK;
    switch (s->kind) {
    case SRC_CIFAR: {
        unsigned char lab[4096];
        st = k2t_cifar_read(s->path, first, n, x, lab, err);
        for (int i = 0; st == K2T_OK && i < n; i++) labels[i] = lab[i];
        return st;
    }
    case SRC_DIR:
        for (int i = 0; i < n && st == K2T_OK; i++) {
            k2t_array a;
            int64_t j = first + i;
            st = k2t_image_read(s->files[j], (int)s->per.d[0], (int)s->per.d[1], (int)s->per.d[2], &a, err);
            if (st != K2T_OK) break;
            memcpy(x + (int64_t)i * s->per_numel, a.data, (size_t)s->per_numel * sizeof(float));
            k2t_array_free(&a);
            labels[i] = s->file_class[j];
        }
        return st;
    default:
        break;
    }
    st = k2t_npy_stream_read(s->x, first, n, x, err);
    if (st != K2T_OK || !s->y) return st;
    st = k2t_npy_stream_read(s->y, first, n, y, err);
    if (st != K2T_OK) return st;
    for (int i = 0; i < n && classifying(s); i++) {
        const float *r = y + (int64_t)i * s->y_row;
        labels[i] = s->ymode == Y_INDEX || s->ymode == Y_BINARY ? (int)r[0] : argmax(r, (int)s->y_row);
        if (labels[i] < 0 || labels[i] >= s->K) /* the file changed since classify_y read it */
            return k2t_fail(err, K2T_EFORMAT, "'%s': sample %lld has label %g; labels are 0..%d", s->ypath,
                            (long long)(first + i), (double)r[0], s->K - 1);
    }
    return K2T_OK;
}

/* One thread of eval: chunks of the data, each read, preprocessed and run
** in micro-batches through the thread's own plan, until the data or a
** failure ends it. */
static void *eval_worker(void *arg)
{
    eval_worker_arg *w = arg;
    eval_ctx *E = w->E;
    const eval_src *s = E->src;
    int C = E->chunk, K = s->K;
    float *x = k2t_xmalloc((size_t)(C * s->per_numel) * sizeof(float));
    int *labels = k2t_xmalloc((size_t)C * sizeof(int));
    float *y = s->y_row ? k2t_xmalloc((size_t)(C * s->y_row) * sizeof(float)) : NULL;
    float *out = k2t_xmalloc((size_t)(E->mb * s->out_numel) * sizeof(float));
    int c = s->per.ndim ? (int)s->per.d[s->per.ndim - 1] : 1;
    for (;;) {
        pthread_mutex_lock(&E->mu);
        int64_t first = E->next;
        int n = E->stop ? 0 : s->total - first < C ? (int)(s->total - first) : C;
        E->next += n;
        pthread_mutex_unlock(&E->mu);
        if (n <= 0) break;
        if (k2t_interrupted) {
            w->st = k2t_fail(&w->err, K2T_EINTERRUPTED, "interrupted");
            break;
        }
        w->st = src_read(s, first, n, x, labels, y, &w->err);
        if (w->st == K2T_OK && s->pixels)
            w->st = k2t_preprocess(x, (int64_t)n * s->per_numel, c, (k2t_pre)E->pre, &w->err);
        for (int i0 = 0; i0 < n && w->st == K2T_OK; i0 += E->mb) {
            int b = n - i0 < E->mb ? n - i0 : E->mb;
            w->st = k2t_run_set_input(w->r, 0, x + (int64_t)i0 * s->per_numel, b, &w->err);
            if (w->st == K2T_OK) w->st = k2t_run_nodes(w->r, 0, E->m->n_nodes, &w->err);
            if (w->st == K2T_OK) w->st = k2t_run_keras(w->r, E->m->outputs[0], 0, out, &w->err);
            if (w->st != K2T_OK) break;
            for (int i = 0; i < b; i++) {
                const float *p = out + (int64_t)i * s->out_numel;
                if (classifying(s)) {
                    int l = labels[i0 + i], k = s->ymode == Y_BINARY ? p[0] > s->thr : argmax(p, K);
                    w->correct += l == k;
                    if (E->topk) w->top_correct += rank_of(p, K, l) < E->topk;
                    w->label_n[l]++;
                    w->label_ok[l] += l == k;
                    if (w->conf) w->conf[l * K + k]++;
                } else {
                    const float *t = s->ymode == Y_NONE ? x + (int64_t)(i0 + i) * s->per_numel
                                                        : y + (int64_t)(i0 + i) * s->y_row;
                    for (int64_t e = 0; e < s->out_numel; e++) {
                        double d = (double)p[e] - (double)t[e];
                        w->sse += d * d;
                        w->sae += fabs(d);
                    }
                    w->n_el += s->out_numel;
                }
                w->done++;
            }
        }
        pthread_mutex_lock(&E->mu);
        if (w->st != K2T_OK) E->stop = 1;
        E->counted += n;
        int64_t counted = E->counted;
        pthread_mutex_unlock(&E->mu);
        if (w->st != K2T_OK) break;
        double dt = now() - E->t0;
        if ((E->progress || E->hook) && w->t == 0 && dt > 0.5) {
            int wd = (int)(30 * counted / s->total);
            char line[160];
            snprintf(line, sizeof line, "eval %lld/%lld [%.*s%*s] %.0f samples/s", (long long)counted,
                     (long long)s->total, wd, "==============================", 30 - wd, "",
                     (double)counted / dt);
            if (E->hook) {
                E->hook->progress(E->hook, line); /* thread 0 is the main thread */
            } else {
                fprintf(E->progress, "\r  %s", line);
                fflush(E->progress);
            }
            E->shown = 1;
        }
    }
    free(x);
    free(labels);
    free(y);
    free(out);
    return NULL;
}

/*------------------------------------------------------------------ output */

/* A folder's own subfolder names, else the model's class names
** (classes.c), else CIFAR-10's on a CIFAR file, else the index. */
static const char *cls_name(const k2t_shell *sh, const eval_src *s, int k, char *buf, size_t n)
{
    if (s->names && k < s->n_names) return s->names[k];
    if (k2t_class_name(sh, k)) return k2t_class_name(sh, k);
    if (s->kind == SRC_CIFAR) return k2t_cifar_names[k];
    snprintf(buf, n, "%d", k);
    return buf;
}

/* Per-class accuracy and the confusion matrix as two tables that fit the
** width ("set width"); under "set format csv|tsv" one table instead, a row
** per class: class, correct, total, accuracy, then one column per
** predicted class (the confusion matrix's row) when there is one. */
static void print_classes(k2t_shell *sh, const eval_src *s, const int64_t *label_n, const int64_t *label_ok,
                          const int64_t *conf)
{
    int K = s->K;
    char b[32];
    if (K > 100) return;
    if (!k2t_format_table(sh)) {
        int nc = 4 + (conf ? K : 0);
        char **heads = k2t_xcalloc((size_t)nc, sizeof *heads);
        char **cells = k2t_xcalloc((size_t)nc, sizeof *cells);
        k2t_table t;
        k2t_table_init(&t, sh, nc);
        const char *fixed[4] = {"class", "correct", "total", "accuracy"};
        for (int c = 0; c < nc; c++) {
            if (c < 4) heads[c] = k2t_xstrdup(fixed[c]);
            else {
                heads[c] = k2t_xmalloc(64);
                snprintf(heads[c], 64, "predicted %s", cls_name(sh, s, c - 4, b, sizeof b));
            }
            k2t_table_col(&t, c, heads[c], c ? K2T_COL_RIGHT : 0, 0, 0);
            cells[c] = k2t_xmalloc(64);
        }
        for (int c = 0; c < K; c++) {
            snprintf(cells[0], 64, "%s", cls_name(sh, s, c, b, sizeof b));
            snprintf(cells[1], 64, "%lld", (long long)label_ok[c]);
            snprintf(cells[2], 64, "%lld", (long long)label_n[c]);
            if (label_n[c]) snprintf(cells[3], 64, "%.2f", 100.0 * (double)label_ok[c] / (double)label_n[c]);
            else cells[3][0] = '\0';
            for (int k = 0; conf && k < K; k++) snprintf(cells[4 + k], 64, "%lld", (long long)conf[c * K + k]);
            k2t_table_row(&t, (const char *const *)cells);
        }
        k2t_table_print(&t);
        for (int c = 0; c < nc; c++) free(heads[c]), free(cells[c]);
        free(heads);
        free(cells);
        return;
    }
    /* "  airplane     19/21    90.48%" */
    k2t_printf(sh, "per class:\n");
    k2t_table t;
    k2t_table_init(&t, sh, 3);
    t.indent = 2, t.sep = " ", t.hide_head = 1;
    k2t_table_col(&t, 0, "class", 0, 10, 6);
    k2t_table_col(&t, 1, "correct", K2T_COL_FIXED, 9, 0);
    k2t_table_col(&t, 2, "accuracy", K2T_COL_RIGHT, 7, 0);
    for (int c = 0; c < K; c++) {
        int64_t n = label_n[c];
        char ratio[48], pct[24];
        if (n) {
            snprintf(ratio, sizeof ratio, "%4lld/%-4lld", (long long)label_ok[c], (long long)n);
            snprintf(pct, sizeof pct, "%.2f%%", 100.0 * (double)label_ok[c] / (double)n);
        } else {
            snprintf(ratio, sizeof ratio, "   -");
            pct[0] = '\0';
        }
        const char *cells[3] = {cls_name(sh, s, c, b, sizeof b), ratio, pct};
        k2t_table_row(&t, cells);
    }
    k2t_table_print(&t);
    if (!conf) return;
    /* A column per predicted class headed by its name cut to the column:
    ** 5 wide, narrower (down to the widest count, at least 3) when K such
    ** columns do not fit the width. */
    int64_t most = 0;
    for (int c = 0; c < K * K; c++)
        if (conf[c] > most) most = conf[c];
    int digits = snprintf(b, sizeof b, "%lld", (long long)most), cw = 5, W = k2t_width(sh);
    if (W > 0 && 2 + 10 + K * (cw + 1) > W) {
        cw = (W - 2 - 10) / K - 1;
        if (cw < digits) cw = digits;
        if (cw < 3) cw = 3;
        if (cw > 5) cw = 5;
    }
    k2t_printf(sh, "confusion matrix (rows: label, columns: predicted):\n");
    char (*heads)[8] = k2t_xcalloc((size_t)K, sizeof *heads);
    char (*nums)[24] = k2t_xcalloc((size_t)K + 1, sizeof *nums);
    const char **cells = k2t_xcalloc((size_t)K + 1, sizeof *cells);
    k2t_table_init(&t, sh, K + 1);
    t.indent = 2, t.sep = " ";
    k2t_table_col(&t, 0, "", 0, 10, 6);
    for (int k = 0; k < K; k++) {
        snprintf(heads[k], sizeof heads[k], "%.*s", cw, cls_name(sh, s, k, b, sizeof b));
        k2t_table_col(&t, k + 1, heads[k], K2T_COL_RIGHT, cw, 0);
    }
    for (int c = 0; c < K; c++) {
        cells[0] = cls_name(sh, s, c, b, sizeof b);
        for (int k = 0; k < K; k++) {
            snprintf(nums[k], sizeof nums[k], "%lld", (long long)conf[c * K + k]);
            cells[k + 1] = nums[k];
        }
        k2t_table_row(&t, cells);
    }
    k2t_table_print(&t);
    free(heads);
    free(nums);
    free(cells);
}

/*----------------------------------------------------------------- command */

static int parse_count(k2t_shell *sh, int argc, char **argv, int *a, const char *what, int64_t lo, int64_t hi,
                       int64_t *v)
{
    char *end;
    if (*a + 1 >= argc) return k2t_error(sh, *a, "eval: %s needs a number", argv[*a]);
    ++*a;
    long long x = strtoll(argv[*a], &end, 10);
    if (!*argv[*a] || *end || x < lo || x > hi) {
        if (hi > 1 << 20)
            return k2t_error(sh, *a, "eval: %s takes a positive whole number, got '%s'", argv[*a - 1], argv[*a]);
        return k2t_error(sh, *a, "eval: %s takes %s from %lld to %lld, got '%s'", argv[*a - 1], what, (long long)lo,
                         (long long)hi, argv[*a]);
    }
    *v = x;
    return K2T_CMD_OK;
}

static int cmd_eval(k2t_shell *sh, int argc, char **argv)
{
    k2t_err err = {0};
    const k2t_model *m = sh->model;
    char s1[96], s2[96];
    int64_t batch = 256, limit = -1, topk = 0;
    int pos[4], n_pos = 0, brief = 0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--brief")) {
            brief = 1;
        } else if (!strcmp(argv[a], "--batch")) {
            /* The batch matters to a model whose BN runs in train mode. */
            if (a + 1 >= argc) return k2t_error(sh, a, "eval: --batch needs a size");
            if (parse_count(sh, argc, argv, &a, "a size", 1, 4096, &batch) != K2T_CMD_OK) return K2T_CMD_ERR;
        } else if (!strcmp(argv[a], "--top")) {
            if (parse_count(sh, argc, argv, &a, "a K", 1, 1 << 20, &topk) != K2T_CMD_OK) return K2T_CMD_ERR;
        } else if (!strcmp(argv[a], "--limit")) {
            if (parse_count(sh, argc, argv, &a, "a count", 1, INT64_MAX / 2, &limit) != K2T_CMD_OK) return K2T_CMD_ERR;
        } else if (argv[a][0] == '-' && argv[a][1] == '-') {
            return k2t_error(sh, a, "eval: unknown option '%s' (--top K, --limit N, --batch N, --brief)", argv[a]);
        } else if (n_pos < 4) {
            pos[n_pos++] = a;
        } else {
            return k2t_error(sh, a, "eval: unexpected argument '%s'", argv[a]);
        }
    }
    if (n_pos == 0) return k2t_error(sh, -1, "eval: which data? eval cifar FILE, eval X.npy [Y.npy] or eval DIR/");
    if (m->n_outputs != 1)
        return k2t_error(sh, -1, "eval: the model has %d outputs; eval measures a single output", m->n_outputs);
    int in_node = k2t_shell_single_input(sh, "eval");
    if (in_node < 0) return K2T_CMD_ERR;
    const k2t_shape *want = &m->nodes[in_node].shape;
    const k2t_shape *mout = &m->nodes[m->outputs[0]].shape;
    int classifier = mout->ndim == 1 && mout->d[0] >= 2;

    eval_src S;
    memset(&S, 0, sizeof S);
    int rc = K2T_CMD_ERR;
    k2t_opts o;
    eval_worker_arg wa[EVAL_MAX_THREADS];
    int T = 0;
    eval_ctx E;
    memset(&E, 0, sizeof E);
    pthread_mutex_init(&E.mu, NULL);
    struct stat st;

    if (!strcmp(argv[pos[0]], "cifar")) {
        /* eval cifar FILE [COUNT]: its checks and output as they always were */
        if (n_pos < 2) { rc = k2t_error(sh, -1, "eval cifar: which file? eval cifar FILE [COUNT]"); goto out; }
        if (n_pos > 3) { rc = k2t_error(sh, pos[3], "eval: unexpected argument '%s'", argv[pos[3]]); goto out; }
        S.kind = SRC_CIFAR;
        S.path = k2t_shell_path(sh, argv[pos[1]], NULL, 0);
        S.per = (k2t_shape){3, {32, 32, 3}};
        if (!k2t_shape_fits(want, &S.per)) {
            rc = k2t_error(sh, -1, "eval cifar: the model takes %s, not CIFAR's 32x32x3 images",
                           k2t_shape_str(want, 1, s1, sizeof s1));
            goto out;
        }
        if (!classifier || mout->d[0] != 10) {
            rc = k2t_error(sh, -1, "eval cifar: the model's output is not 10 class scores");
            goto out;
        }
        if (k2t_cifar_count(S.path, &S.total, &err) != K2T_OK) { rc = k2t_error(sh, pos[1], "eval: %s", err.msg); goto out; }
        if (n_pos == 3) {
            char *end;
            long long c = strtoll(argv[pos[2]], &end, 10);
            if (!*argv[pos[2]] || *end || c < 1) {
                rc = k2t_error(sh, pos[2], "eval: COUNT must be a positive whole number, got '%s'", argv[pos[2]]);
                goto out;
            }
            if (c < S.total) S.total = c;
        }
        S.pixels = 1;
        S.ymode = Y_CIFAR;
        S.K = 10;
    } else if (stat(k2t_shell_path(sh, argv[pos[0]], NULL, 0), &st) == 0 && S_ISDIR(st.st_mode)) {
        S.kind = SRC_DIR;
        S.path = k2t_shell_path(sh, argv[pos[0]], NULL, 0);
        if (n_pos > 1) { rc = k2t_error(sh, pos[1], "eval: a folder holds its labels (one subfolder per class); unexpected '%s'", argv[pos[1]]); goto out; }
        if (want->ndim != 3 || want->d[0] < 1 || want->d[1] < 1 || (want->d[2] != 3 && want->d[2] != 1)) {
            rc = k2t_error(sh, -1, "eval: the model takes %s, not images (H, W, 3) or (H, W, 1) of a known size",
                           k2t_shape_str(want, 1, s1, sizeof s1));
            goto out;
        }
        if (!classifier) {
            rc = k2t_error(sh, -1, "eval: a folder of classes needs a classifier; the model's output is %s",
                           k2t_shape_str(mout, 1, s1, sizeof s1));
            goto out;
        }
        if (open_folder(sh, &S) != K2T_CMD_OK) goto out;
        if (S.n_names > mout->d[0]) {
            rc = k2t_error(sh, 1, "eval: '%s' has %d class subfolders but the model's output has %lld classes",
                           S.path, S.n_names, (long long)mout->d[0]);
            goto out;
        }
        S.per = *want;
        S.pixels = 1;
        S.ymode = Y_FOLDER;
        S.K = (int)mout->d[0];
    } else {
        S.kind = SRC_NPY;
        S.path = k2t_shell_path(sh, argv[pos[0]], NULL, 0);
        if (n_pos > 2) { rc = k2t_error(sh, pos[2], "eval: unexpected argument '%s'", argv[pos[2]]); goto out; }
        if (!(S.x = k2t_npy_open(S.path, &err))) {
            size_t len = strlen(S.path);
            int bin = len > 4 && !strcmp(S.path + len - 4, ".bin");
            rc = k2t_error(sh, pos[0], "eval: %s%s", err.msg,
                           err.status == K2T_EIO && !strchr(S.path, '.') && !strchr(S.path, '/')
                               ? " (eval cifar FILE, eval X.npy [Y.npy] or eval DIR/)"
                           : err.status == K2T_EFORMAT && bin ? " (a CIFAR-10 binary file? eval cifar FILE)" : "");
            goto out;
        }
        S.per.ndim = S.x->shape.ndim - 1;
        for (int i = 0; i < S.per.ndim; i++) S.per.d[i] = S.x->shape.d[i + 1];
        if (!k2t_shape_fits(want, &S.per)) {
            rc = k2t_error(sh, pos[0], "eval: '%s' has shape %s; the model takes %s (samples batch first)", S.path,
                           k2t_shape_str(&S.x->shape, 0, s1, sizeof s1), k2t_shape_str(want, 1, s2, sizeof s2));
            goto out;
        }
        S.total = S.x->shape.d[0];
        S.pixels = S.x->pixels;
        if (S.total < 1) { rc = k2t_error(sh, pos[0], "eval: '%s' holds no samples", S.path); goto out; }
        if (n_pos == 2) {
            S.ypath = k2t_shell_path(sh, argv[pos[1]], NULL, 0);
            if (!(S.y = k2t_npy_open(S.ypath, &err))) { rc = k2t_error(sh, pos[1], "eval: %s", err.msg); goto out; }
            if (S.y->shape.d[0] != S.total) {
                rc = k2t_error(sh, pos[1], "eval: '%s' holds %lld labels but '%s' holds %lld samples", S.ypath,
                               (long long)S.y->shape.d[0], S.path, (long long)S.total);
                goto out;
            }
        }
    }
    if (limit > 0 && limit < S.total) S.total = limit;
    S.per_numel = k2t_shape_numel(&S.per);

    /* The plans: each thread its own on micro-batches (the same numbers
    ** whatever the batch, a few MiB whatever the data's size); under batch
    ** statistics one plan whose batch is --batch N. */
    k2t_shell_opts(sh, &o, 0);
    T = 1;
    if (sh->set.emu.bn_train) {
        E.mb = S.total < batch ? (int)S.total : (int)batch;
        E.chunk = E.mb;
    } else {
        int nt = o.threads > 0 ? o.threads : k2t_cores();
        if (nt > EVAL_MAX_THREADS) nt = EVAL_MAX_THREADS;
        E.mb = S.total < EVAL_MICRO ? (int)S.total : EVAL_MICRO;
        if (S.per_numel >= EVAL_ALONE_FLOATS) E.mb = 1;
        int64_t fit = EVAL_CHUNK_FLOATS / (S.per_numel > 0 ? S.per_numel : 1);
        E.chunk = fit < E.mb ? E.mb : fit < EVAL_CHUNK ? (int)fit : EVAL_CHUNK;
        int64_t chunks = (S.total + E.chunk - 1) / E.chunk;
        T = nt > chunks ? (int)chunks : nt;
        o.threads = 1;
    }
    for (int t = 0; t < T; t++) {
        memset(&wa[t], 0, sizeof wa[t]);
        wa[t].E = &E;
        wa[t].t = t;
        wa[t].r = k2t_run_new(m, &o, &S.per, E.mb, &wa[t].err);
        if (!wa[t].r) {
            T = t;
            rc = k2t_error(sh, -1, "eval: %s", wa[t].err.msg);
            goto out;
        }
    }
    const k2t_shape *oshape = k2t_run_keras_shape(wa[0].r, m->outputs[0]);
    S.out_numel = k2t_shape_numel(oshape);
    if (S.kind == SRC_NPY) {
        if (S.y) {
            if (classify_y(sh, &S, oshape, S.out_numel) != K2T_CMD_OK) goto out;
            if (S.ymode == Y_BINARY) {
                const k2t_layer *L = &m->layers[m->nodes[m->outputs[0]].layer];
                k2t_act a = L->cfg.act;
                S.thr = a == K2T_ACT_SIGMOID || a == K2T_ACT_HARD_SIGMOID || a == K2T_ACT_HARD_SIGMOID3 ? 0.5f : 0.0f;
            }
        } else {
            S.ymode = Y_NONE;
            if (S.out_numel != S.per_numel) {
                rc = k2t_error(sh, -1, "eval: without labels the input is the target (an autoencoder), but the "
                               "model's output is %s and '%s' holds %s per sample; give the labels: eval X.npy Y.npy",
                               k2t_shape_str(oshape, 0, s1, sizeof s1), S.path, k2t_shape_str(&S.per, 0, s2, sizeof s2));
                goto out;
            }
        }
    }
    if (topk && !classifying(&S)) { rc = k2t_error(sh, -1, "eval: --top counts classes; this is a regression"); goto out; }
    if (topk && S.ymode == Y_BINARY) {
        rc = k2t_error(sh, -1, "eval: --top ranks class scores; this model has one output score (binary labels)");
        goto out;
    }
    if (topk > S.K) {
        rc = k2t_error(sh, -1, "eval: --top %lld needs at least %lld classes; the model has %d", (long long)topk,
                       (long long)topk, S.K);
        goto out;
    }
    if (S.kind == SRC_CIFAR && E.chunk > 4096) E.chunk = 4096;
    for (int t = 0; t < T; t++)
        if (classifying(&S)) {
            wa[t].label_n = calloc((size_t)S.K, sizeof(int64_t));
            wa[t].label_ok = calloc((size_t)S.K, sizeof(int64_t));
            if (!wa[t].label_n || !wa[t].label_ok) { rc = k2t_error(sh, -1, "eval: out of memory"); goto out; }
            if (S.K <= EVAL_MAX_CONF) wa[t].conf = k2t_xmalloc((size_t)(S.K * S.K) * sizeof(int64_t));
            if (wa[t].conf) memset(wa[t].conf, 0, (size_t)(S.K * S.K) * sizeof(int64_t));
        }

    int tty = isatty(fileno(sh->err)) && sh->interactive;
    E.m = m;
    E.src = &S;
    E.pre = sh->set.emu.preprocess;
    E.topk = (int)topk;
    E.progress = tty ? sh->err : NULL;
    E.hook = sh->progress ? sh : NULL;
    pthread_t tid[EVAL_MAX_THREADS];
    int started[EVAL_MAX_THREADS] = {0};
    double t0 = now();
    E.t0 = t0;
    for (int t = 1; t < T; t++) started[t] = pthread_create(&tid[t], NULL, eval_worker, &wa[t]) == 0;
    eval_worker(&wa[0]);
    for (int t = 1; t < T; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else eval_worker(&wa[t]); /* no thread: its share here */
    }
    double dt = now() - t0;
    if (E.shown && E.hook) sh->progress(sh, NULL);
    else if (E.shown) fprintf(sh->err, "\r%*s\r", 70, "");

    /* Samples are counted in chunks taken in order: after a stop, what was
    ** counted may not be a prefix of the data, but it is what the numbers say. */
    int K = S.K;
    int64_t done = 0, correct = 0, top_correct = 0, n_el = 0;
    double sse = 0, sae = 0;
    int64_t *label_n = calloc((size_t)(K ? K : 1), sizeof(int64_t));
    int64_t *label_ok = calloc((size_t)(K ? K : 1), sizeof(int64_t));
    int64_t *conf = K && K <= EVAL_MAX_CONF ? calloc((size_t)(K * K), sizeof(int64_t)) : NULL;
    k2t_status status = K2T_OK;
    k2t_err err_run = {0};
    for (int t = 0; t < T; t++) {
        done += wa[t].done, correct += wa[t].correct, top_correct += wa[t].top_correct;
        sse += wa[t].sse, sae += wa[t].sae, n_el += wa[t].n_el;
        for (int c = 0; c < K && wa[t].label_n; c++) label_n[c] += wa[t].label_n[c], label_ok[c] += wa[t].label_ok[c];
        for (int c = 0; conf && wa[t].conf && c < K * K; c++) conf[c] += wa[t].conf[c];
        if (wa[t].st != K2T_OK && (status == K2T_OK || status == K2T_EINTERRUPTED)) {
            status = wa[t].st;
            err_run = wa[t].err;
        }
    }
    if (status != K2T_OK && status != K2T_EINTERRUPTED) {
        rc = k2t_error(sh, -1, "eval: %s", err_run.msg);
    } else {
        char note[320];
        const char *unit = S.kind == SRC_CIFAR ? "images" : "samples";
        const char *what = S.ymode == Y_NONE ? " (no labels: the input is the target)"
                           : S.ymode == Y_INDEX ? " with labels "
                           : S.ymode == Y_ONEHOT ? " with one-hot labels "
                           : S.ymode == Y_BINARY ? " with binary labels "
                           : S.ymode == Y_TARGET ? " with regression targets " : "";
        /* "set format csv|tsv": a classifier's per-class table alone (the
        ** text around it is left out, as diff leaves its out). */
        int table_only = !brief && !k2t_format_table(sh) && classifying(&S) && S.K <= 100;
        if (!brief && !table_only)
            k2t_printf(sh, "eval: %lld %s from %s%s%s in %.3f s (%.0f %s/s), preprocess %s%s\n", (long long)done, unit,
                       S.path, what, S.ymode == Y_NONE || !S.ypath ? "" : S.ypath, dt, dt > 0 ? (double)done / dt : 0.0,
                       unit, S.pixels ? k2t_pre_names[sh->set.emu.preprocess] : "none",
                       k2t_shell_settings_note(sh, note, sizeof note));
        if (done == 0) {
            rc = k2t_error(sh, -1, "eval: interrupted before the first batch");
        } else if (brief) {
            /* --brief: one line, the result then what it was measured on
            ** (no timing, so a lesson's output is the same every run) */
            if (classifying(&S)) {
                k2t_printf(sh, "accuracy: %lld/%lld (%.2f%%)", (long long)correct, (long long)done,
                           100.0 * (double)correct / (double)done);
                if (topk)
                    k2t_printf(sh, ", top-%lld %lld/%lld (%.2f%%)", (long long)topk, (long long)top_correct,
                               (long long)done, 100.0 * (double)top_correct / (double)done);
            } else {
                k2t_printf(sh, "mse: %.6g, mae: %.6g", n_el ? sse / (double)n_el : 0, n_el ? sae / (double)n_el : 0);
            }
            k2t_printf(sh, " on %lld %s of %s, preprocess %s%s\n", (long long)done, unit, S.path,
                       S.pixels ? k2t_pre_names[sh->set.emu.preprocess] : "none",
                       k2t_shell_settings_note(sh, note, sizeof note));
        }
        if (done > 0) {
            if (S.ymode == Y_BINARY && !brief && !table_only)
                k2t_printf(sh, "binary: class 1 where the output > %g (%s)\n", (double)S.thr,
                           S.thr > 0 ? "after its sigmoid" : "no sigmoid on the output: a logit");
            if (classifying(&S)) {
                if (!brief && !table_only)
                    k2t_printf(sh, "accuracy: %lld/%lld (%.2f%%)\n", (long long)correct, (long long)done,
                               100.0 * (double)correct / (double)done);
                k2t_var_num(sh, "accuracy", 100.0 * (double)correct / (double)done);
                k2t_var_num(sh, "correct", (double)correct);
                k2t_var_num(sh, "total", (double)done);
                if (topk) {
                    if (!brief && !table_only)
                        k2t_printf(sh, "top-%lld accuracy: %lld/%lld (%.2f%%)\n", (long long)topk,
                                   (long long)top_correct, (long long)done,
                                   100.0 * (double)top_correct / (double)done);
                    k2t_var_num(sh, "top_accuracy", 100.0 * (double)top_correct / (double)done);
                    k2t_var_num(sh, "top_correct", (double)top_correct);
                }
                if (!brief) print_classes(sh, &S, label_n, label_ok, conf);
            } else {
                double mse = n_el ? sse / (double)n_el : 0, mae = n_el ? sae / (double)n_el : 0;
                if (!brief) k2t_printf(sh, "mse: %.6g\nmae: %.6g\n", mse, mae);
                k2t_var_num(sh, "mse", mse);
                k2t_var_num(sh, "mae", mae);
                k2t_var_num(sh, "total", (double)done);
            }
            rc = K2T_CMD_OK;
            if (status == K2T_EINTERRUPTED)
                rc = k2t_error(sh, -1, "eval: interrupted after %lld of %lld %s (the numbers above are partial)",
                               (long long)done, (long long)S.total, unit);
        }
    }
    free(label_n);
    free(label_ok);
    free(conf);
out:
    for (int t = 0; t < T; t++) {
        k2t_run_free(wa[t].r);
        free(wa[t].label_n);
        free(wa[t].label_ok);
        free(wa[t].conf);
    }
    pthread_mutex_destroy(&E.mu);
    src_free(&S);
    return rc;
}

static void complete_eval(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh;
    if (prefix[0] == '-') {
        k2t_complete_words("--top --limit --batch --brief", prefix, out);
    } else if (argi == 1) {
        k2t_complete_words("cifar", prefix, out);
        k2t_complete_files(prefix, NULL, out);
    } else if (argi == 2 || (argi == 3 && strcmp(argv[1], "cifar") != 0)) {
        k2t_complete_files(prefix, NULL, out);
    }
}

const k2t_command k2t_cmd_eval = {
    .name = "eval", .group = "run", .min_args = 1, .max_args = 10, .flags = K2T_NEEDS_MODEL | K2T_NEEDS_ARCH,
    .usage = "eval cifar FILE [COUNT] | eval X.npy [Y.npy] | eval DIR/ [--top K] [--limit N] [--batch N] [--brief]",
    .summary = "Accuracy (or regression error) on a data set: a CIFAR-10 file, .npy arrays or a folder of images.",
    .help = "Prints \"accuracy: 171/200 (85.50%)\", per-class accuracy and (up to 12 classes) a\n"
            "confusion matrix; --top K adds \"top-K accuracy: A/N\".  cifar FILE: the CIFAR-10\n"
            "binary format.  X.npy Y.npy: samples batch first (Keras layout; uint8 is pixels) and\n"
            "integer labels (any int dtype, or floats holding integers) or one-hot rows (0/1 for\n"
            "a single output score: binary, threshold 0.5 after a sigmoid, else 0); Y that is\n"
            "neither but has the output's shape is a regression target (\"mse:\", \"mae:\");\n"
            "X.npy alone: the input is the target (an autoencoder).  DIR/: PNG/JPEG images of\n"
            "exactly the model's size, one subfolder per class, sorted names being the class\n"
            "indices (Keras's image_dataset_from_directory, torchvision's ImageFolder).  Pixels\n"
            "go through \"set preprocess\".  --limit N: the first N samples.  Sets $accuracy,\n"
            "$correct, $total, $top_accuracy, $mse, $mae.  The data is streamed through the fast\n"
            "path: each of the \"set threads\" threads reads chunks of up to 32 samples (1 MiB of\n"
            "floats) and runs them in micro-batches of 2 (one by one from 64K floats a sample)\n"
            "on its own plan, so memory stays the same whatever the data's size.  Under \"set\n"
            "bn.mode train\" (batch statistics) the data goes in batches of --batch N (default\n"
            "256) on one plan instead.  Ctrl-C stops it and keeps the session; what was counted\n"
            "so far is printed.  --brief prints one line instead, the result and what it was\n"
            "measured on, without timing (the lessons use it): \"accuracy: 171/200 (85.50%) on\n"
            "200 images of FILE, preprocess raw\" and any non-default settings.",
    .complete = complete_eval, .fn = cmd_eval,
};
