/*
** classes.c -- a classifier's own class names: "classes FILE", and
** MODEL.classes read beside the model by load.
**
** The file is plain text, one name per line in the order of the model's
** class scores (blank lines and lines starting with '#' are skipped), so
** that any user can write one: the demo ships demo/demo.classes.  eval,
** run and top print these names; without them CIFAR-10's names on CIFAR
** input, indices otherwise.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "paths.h"

#define CLASSES_MAX 100000

void k2t_classes_clear(k2t_shell *sh)
{
    for (int i = 0; i < sh->n_class_names; i++) free(sh->class_names[i]);
    free(sh->class_names);
    sh->class_names = NULL;
    sh->n_class_names = 0;
    sh->class_src[0] = '\0';
}

const char *k2t_class_name(const k2t_shell *sh, int k)
{
    return k >= 0 && k < sh->n_class_names ? sh->class_names[k] : NULL;
}

/* The model's number of class scores, or 0 when it is not a classifier. */
static int model_classes(const k2t_model *m)
{
    if (!m || !m->has_arch || m->n_outputs != 1) return 0;
    const k2t_shape *s = &m->nodes[m->outputs[0]].shape;
    return s->ndim == 1 && s->d[0] >= 2 && s->d[0] <= CLASSES_MAX ? (int)s->d[0] : 0;
}

/* Read the names in 'path' into *out (n of them).  Returns 0, or -1 with
** why (errno's text or the line at fault). */
static int read_names(const char *path, char ***out, int *n, char *why, size_t wn)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int ln = 0, cap = 0;
    *out = NULL;
    *n = 0;
    if (!f) {
        snprintf(why, wn, "%s", strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(why, wn, "line %d is longer than %d bytes (one class name per line)", ln, (int)sizeof line - 2);
            goto fail;
        }
        while (len && strchr(" \t\r\n", line[len - 1])) line[--len] = '\0';
        char *s = line + strspn(line, " \t");
        if (!*s || *s == '#') continue;
        if (*n == CLASSES_MAX) {
            snprintf(why, wn, "more than %d names", CLASSES_MAX);
            goto fail;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **v = realloc(*out, (size_t)cap * sizeof *v);
            if (!v) {
                snprintf(why, wn, "out of memory");
                goto fail;
            }
            *out = v;
        }
        (*out)[(*n)++] = k2t_xstrdup(s);
    }
    fclose(f);
    if (*n == 0) {
        snprintf(why, wn, "no names in it (one class name per line)");
        return -1;
    }
    return 0;
fail:
    fclose(f);
    for (int i = 0; i < *n; i++) free((*out)[i]);
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

/* Use the names in 'path' for the current model.  Returns 0, or -1 with why. */
static int use_names(k2t_shell *sh, const char *path, char *why, size_t wn)
{
    char **v;
    int n;
    if (read_names(path, &v, &n, why, wn) != 0) return -1;
    int K = model_classes(sh->model);
    if (n != K) {
        if (K) snprintf(why, wn, "it has %d name%s; the model has %d class scores", n, n == 1 ? "" : "s", K);
        else snprintf(why, wn, "the model's output is not a vector of class scores");
        for (int i = 0; i < n; i++) free(v[i]);
        free(v);
        return -1;
    }
    k2t_classes_clear(sh);
    sh->class_names = v;
    sh->n_class_names = n;
    snprintf(sh->class_src, sizeof sh->class_src, "%s", path);
    return 0;
}

void k2t_classes_sidecar(k2t_shell *sh, const char *model_path)
{
    char path[4200], why[256];
    k2t_classes_clear(sh);
    if (!model_path || strlen(model_path) >= sizeof path - 16) return;
    snprintf(path, sizeof path, "%s", model_path);
    char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash + 1)) *dot = '\0';
    strcat(path, ".classes");
    FILE *f = fopen(path, "r");
    if (!f) return;
    fclose(f);
    if (use_names(sh, path, why, sizeof why) != 0) k2t_warn(sh, "class names in '%s' not used: %s", path, why);
}

static int cmd_classes(k2t_shell *sh, int argc, char **argv)
{
    char why[256];
    if (argc == 2 && !strcmp(argv[1], "off")) {
        k2t_classes_clear(sh);
        k2t_var_num(sh, "classes", 0);
        return K2T_CMD_OK;
    }
    if (argc == 2) {
        const char *path = k2t_shell_path(sh, argv[1], NULL, 0);
        if (use_names(sh, path, why, sizeof why) != 0) return k2t_error(sh, 1, "classes: '%s': %s", path, why);
    }
    k2t_var_num(sh, "classes", sh->n_class_names);
    if (sh->n_class_names == 0) {
        k2t_printf(sh, "no class names: eval and top print CIFAR-10's on CIFAR input, indices otherwise "
                   "(classes FILE: one name per line)\n");
        return K2T_CMD_OK;
    }
    k2t_printf(sh, "%d class names from %s:", sh->n_class_names, sh->class_src);
    for (int i = 0; i < sh->n_class_names && i < 100; i++) k2t_printf(sh, " %d %s%s", i, sh->class_names[i],
                                                                      i + 1 < sh->n_class_names ? "," : "");
    k2t_printf(sh, "%s\n", sh->n_class_names > 100 ? " ..." : "");
    return K2T_CMD_OK;
}

static void complete_classes(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi != 1) return;
    k2t_complete_words("off", prefix, out);
    k2t_complete_files(prefix, NULL, out);
}

const k2t_command k2t_cmd_classes = {
    .name = "classes", .group = "model", .min_args = 0, .max_args = 1, .flags = K2T_NEEDS_MODEL,
    .usage = "classes [FILE|off]",
    .summary = "Show the model's own class names, read them from FILE (one per line), or drop them.",
    .help = "eval, run and top print these names.  load reads MODEL.classes beside the model\n"
            "when there is one (the demo ships demo/demo.classes); without names they print\n"
            "CIFAR-10's on CIFAR input and indices otherwise.  FILE holds one name per line in\n"
            "the order of the model's class scores ('#' lines and blank lines skipped); the\n"
            "count must match the model's output.  Sets $classes.",
    .complete = complete_classes, .fn = cmd_classes,
};
