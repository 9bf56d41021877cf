/*
** complete.c -- completion of commands, settings, layer names and files.
**
** One function, k2t_complete(), serves readline's TAB and the 'complete'
** command, so completion is testable in batch form (gdb's 'complete').
** The first word completes to command names; later words ask the
** command's own completer.
*/
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "shell.h"

void k2t_strlist_add(k2t_strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = k2t_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    l->v[l->n++] = k2t_xstrdup(s);
}

void k2t_strlist_free(k2t_strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_unique(k2t_strlist *l)
{
    int j = 0;
    if (l->n < 2) return; /* qsort(NULL, 0, ...) is undefined */
    qsort(l->v, (size_t)l->n, sizeof *l->v, cmpstr);
    for (int i = 0; i < l->n; i++) {
        if (j > 0 && strcmp(l->v[j - 1], l->v[i]) == 0) { free(l->v[i]); continue; }
        l->v[j++] = l->v[i];
    }
    l->n = j;
}

void k2t_complete_words(const char *words, const char *prefix, k2t_strlist *out)
{
    size_t len = strlen(prefix);
    for (const char *w = words; *w;) {
        size_t l = strcspn(w, " |");
        if (l >= len && strncmp(w, prefix, len) == 0) {
            char buf[128];
            snprintf(buf, sizeof buf, "%.*s", (int)l, w);
            k2t_strlist_add(out, buf);
        }
        w += l;
        while (*w == ' ' || *w == '|') w++;
    }
}

void k2t_complete_layers(k2t_shell *sh, const char *prefix, k2t_strlist *out)
{
    size_t len = strlen(prefix);
    if (!sh->model) return;
    for (int i = 0; i < sh->model->n_layers; i++)
        if (strncmp(sh->model->layers[i].name, prefix, len) == 0)
            k2t_strlist_add(out, sh->model->layers[i].name);
    for (int i = 0; i < sh->model->n_nodes; i++)
        if (strncmp(sh->model->nodes[i].name, prefix, len) == 0)
            k2t_strlist_add(out, sh->model->nodes[i].name);
}

/* Entries of the prefix's directory that start with its last component;
** directories end in '/', files must end in 'ext' when it is given. */
void k2t_complete_files(const char *prefix, const char *ext, k2t_strlist *out)
{
    const char *slash = strrchr(prefix, '/');
    char dir[1024];
    const char *base = slash ? slash + 1 : prefix;
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - prefix + 1), prefix);
    else dir[0] = '\0';
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d) return;
    size_t blen = strlen(base);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (e->d_name[0] == '.' && base[0] != '.') continue;
        if (strncmp(e->d_name, base, blen) != 0) continue;
        char path[2048];
        struct stat st;
        snprintf(path, sizeof path, "%s%s", dir, e->d_name);
        int isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if (!isdir && ext) {
            /* ext may list alternatives: ".h5|.keras" */
            size_t n = strlen(e->d_name);
            int match = 0;
            for (const char *x = ext; *x && !match;) {
                size_t el = strcspn(x, "|");
                match = n >= el && strncmp(e->d_name + n - el, x, el) == 0;
                x += el + (x[el] == '|');
            }
            if (!match) continue;
        }
        if (isdir) strncat(path, "/", sizeof path - strlen(path) - 1);
        k2t_strlist_add(out, path);
    }
    closedir(d);
}

void k2t_complete(k2t_shell *sh, const char *line, int point, k2t_strlist *out)
{
    size_t n = (size_t)point;
    if (n > strlen(line)) n = strlen(line);
    char *head = k2t_xmalloc(n + 1), *store = k2t_xmalloc(n + 2);
    char *argv[K2T_MAX_ARGS];
    memcpy(head, line, n);
    head[n] = '\0';
    int argc = k2t_tokenize(head, argv, NULL, K2T_MAX_ARGS - 1, store);
    if (argc < 0) argc = 0; /* inside an open quote: nothing sensible */
    int fresh = n == 0 || head[n - 1] == ' ' || head[n - 1] == '\t';
    int argi = fresh ? argc : argc - 1;
    const char *prefix = fresh || argc == 0 ? "" : argv[argc - 1];
    if (argi <= 0) {
        for (int i = 0; i < k2t_n_commands; i++) {
            const k2t_command *c = k2t_commands[i];
            if (!(c->flags & K2T_HIDDEN) && strncmp(c->name, prefix, strlen(prefix)) == 0)
                k2t_strlist_add(out, c->name);
        }
    } else {
        const k2t_command *c = k2t_command_find(argv[0], NULL, 0);
        argv[argc] = NULL;
        if (c && c->complete) c->complete(sh, argi, argv, prefix, out);
    }
    sort_unique(out);
    free(head);
    free(store);
}
