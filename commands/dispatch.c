/*
** dispatch.c -- from a command line to a command: tokenise, look up, check
** arity and flags centrally (Redis's commandCheckArity), call, report.
**
** Every failure goes through k2t_error(), the one error path: it knows
** where the command came from ("FILE:LINE:" in scripts) and counts the
** failure in sh->nerr, which main turns into the exit status.  Commands
** never check their own arity.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "shell.h"

/*------------------------------------------------------------ tokeniser */

int k2t_tokenize(const char *line, char **argv, int *ofs, int max, char *store)
{
    int argc = 0;
    const char *p = line;
    char *o = store;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p || *p == '#') break;
        if (argc == max) return argc;
        if (ofs) ofs[argc] = (int)(p - line);
        argv[argc++] = o;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++) *o++ = *p;
                if (!*p) return -1;
                p++;
            } else if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                    if (*p == '\\' && p[1]) p++;
                    *o++ = *p;
                }
                if (!*p) return -1;
                p++;
            } else if (*p == '\\' && p[1]) {
                *o++ = p[1];
                p += 2;
            } else {
                *o++ = *p++;
            }
        }
        *o++ = '\0';
    }
    return argc;
}

/*--------------------------------------------------------------- lookup */

const k2t_command *k2t_command_find(const char *name, char *why, size_t n)
{
    const k2t_command *hit = NULL;
    int nhit = 0;
    size_t len = strlen(name);
    if (why && n) why[0] = '\0';
    for (int i = 0; i < k2t_n_commands; i++) {
        const k2t_command *c = k2t_commands[i];
        if (strcmp(c->name, name) == 0) return c;
        if (c->aliases) {
            const char *a = c->aliases;
            while (*a) {
                size_t l = strcspn(a, " ");
                if (l == len && strncmp(a, name, l) == 0) return c;
                a += l;
                while (*a == ' ') a++;
            }
        }
    }
    /* A unique prefix of a listed command name. */
    for (int i = 0; i < k2t_n_commands; i++) {
        const k2t_command *c = k2t_commands[i];
        if (len && !(c->flags & K2T_HIDDEN) && strncmp(c->name, name, len) == 0) {
            hit = c;
            nhit++;
        }
    }
    if (nhit == 1) return hit;
    if (why && n) {
        if (nhit == 0) {
            const char *names[256];
            int k = 0;
            char dym[96];
            for (int i = 0; i < k2t_n_commands && k < 256; i++)
                if (!(k2t_commands[i]->flags & K2T_HIDDEN)) names[k++] = k2t_commands[i]->name;
            k2t_did_you_mean(name, names, k, dym, sizeof dym);
            if (dym[0]) snprintf(why, n, "unknown command \"%s\" (%.*s). Try \"help\".", name, (int)strlen(dym) - 1, dym);
            else snprintf(why, n, "unknown command \"%s\". Try \"help\".", name);
        } else {
            size_t w = (size_t)snprintf(why, n, "ambiguous command \"%s\":", name);
            for (int i = 0, k = 0; i < k2t_n_commands && w < n; i++) {
                const k2t_command *c = k2t_commands[i];
                if (!(c->flags & K2T_HIDDEN) && strncmp(c->name, name, len) == 0)
                    w += (size_t)snprintf(why + w, n - w, "%s %s", k++ ? "," : "", c->name);
            }
            if (w < n) snprintf(why + w, n - w, ".");
        }
    }
    return NULL;
}

/*------------------------------------------------------------- dispatch */

typedef struct strbuf { char *p; size_t len, cap; } strbuf;

static void sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = k2t_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int k2t_dispatch(k2t_shell *sh, const char *line)
{
    char *argv[K2T_MAX_ARGS];
    char *store = k2t_xmalloc(strlen(line) + 1);
    char why[512];
    const char *saved = sh->line;
    int rc;

    sh->line = line;
    int argc = k2t_tokenize(line, argv, sh->arg_ofs, K2T_MAX_ARGS, store);
    int saved_argc = sh->argc;
    sh->argc = argc;
    if (argc < 0) {
        rc = k2t_error(sh, -1, "unterminated quote in: %s", line);
        goto done;
    }
    if (argc == 0) { rc = K2T_CMD_OK; goto done; }
    if (argc == K2T_MAX_ARGS) {
        rc = k2t_error(sh, -1, "too many arguments (at most %d)", K2T_MAX_ARGS - 1);
        goto done;
    }
    const k2t_command *c = k2t_command_find(argv[0], why, sizeof why);
    if (!c) { rc = k2t_error(sh, 0, "%s", why); goto done; }
    int nargs = argc - 1;
    if (nargs < c->min_args || (c->max_args >= 0 && nargs > c->max_args)) {
        rc = k2t_error(sh, nargs > c->max_args && c->max_args >= 0 ? c->max_args + 1 : -1,
                       "%s: %s arguments. Usage: %s", c->name,
                       nargs < c->min_args ? "too few" : "too many", c->usage);
        goto done;
    }
    if ((c->flags & K2T_NEEDS_MODEL) && !sh->model) {
        rc = k2t_error(sh, -1, "%s: no model loaded (use \"load FILE.h5\")", c->name);
        goto done;
    }
    if ((c->flags & K2T_NEEDS_ARCH) && sh->model && !sh->model->has_arch) {
        rc = k2t_error(sh, -1, "%s: %s is a weights-only file: it has no architecture", c->name,
                       sh->model->path);
        goto done;
    }
    /* $NAME in arguments: the published value. */
    char *subst[K2T_MAX_ARGS] = {0};
    if (!(c->flags & K2T_RAW_VARS)) {
        for (int i = 1; i < argc; i++) {
            if (!strchr(argv[i], '$')) continue;
            strbuf b = {0};
            const char *p = argv[i];
            while (*p) {
                if (*p == '$' && (p[1] == '_' || (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'))) {
                    char name[48];
                    size_t n = 0;
                    for (p++; (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                               (*p >= '0' && *p <= '9')) && n + 1 < sizeof name; p++)
                        name[n++] = *p;
                    name[n] = '\0';
                    const char *v = k2t_var_get(sh, name);
                    if (!v) {
                        free(b.p);
                        for (int j = 1; j < i; j++) free(subst[j]);
                        rc = k2t_error(sh, i, "%s: $%s is not set (\"vars\" lists what is)", c->name, name);
                        goto done;
                    }
                    sb_add(&b, v, strlen(v));
                } else {
                    sb_add(&b, p++, 1);
                }
            }
            subst[i] = b.p ? b.p : k2t_xstrdup("");
            argv[i] = subst[i];
        }
    }
    double t0 = now();
    rc = k2t_paged(sh, c, argc, argv);
    for (int i = 1; i < argc; i++) free(subst[i]);
    if (sh->set.timer && rc != K2T_CMD_QUIT)
        k2t_printf(sh, "Run Time: real %.3f s\n", now() - t0);
    k2t_flush(sh);
done:
    sh->line = saved;
    sh->argc = saved_argc;
    free(store);
    return rc;
}
