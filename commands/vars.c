/*
** vars.c -- results as variables: $NAME in any argument, and expect.
**
** Commands publish what they measured ($accuracy, $correct, $total,
** $params, $first_divergence, $max_abs_diff, ...).  Scripts read them back
** with $NAME and assert on them with expect, so a lesson is also a test:
** under --bail the first false expectation stops it with both values shown.
*/
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

void k2t_var_set(k2t_shell *sh, const char *name, const char *fmt, ...)
{
    k2t_var *v = NULL;
    for (int i = 0; i < sh->n_vars; i++)
        if (strcmp(sh->vars[i].name, name) == 0) v = &sh->vars[i];
    if (!v) {
        sh->vars = k2t_xrealloc(sh->vars, (size_t)(sh->n_vars + 1) * sizeof *sh->vars);
        v = &sh->vars[sh->n_vars++];
        snprintf(v->name, sizeof v->name, "%s", name);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->value, sizeof v->value, fmt, ap);
    va_end(ap);
}

void k2t_var_num(k2t_shell *sh, const char *name, double v)
{
    k2t_var_set(sh, name, "%.10g", v);
}

const char *k2t_var_get(const k2t_shell *sh, const char *name)
{
    for (int i = 0; i < sh->n_vars; i++)
        if (strcmp(sh->vars[i].name, name) == 0) return sh->vars[i].value;
    return NULL;
}

static int parse_num(const char *s, double *out)
{
    char *end;
    if (!*s) return 0;
    *out = strtod(s, &end);
    if (*end == '%' && !end[1]) end++;
    return *end == '\0';
}

static int cmd_expect(k2t_shell *sh, int argc, char **argv)
{
    (void)argc;
    const char *name = argv[1], *op = argv[2], *want = argv[3];
    const char *got = name;
    if (name[0] == '$') {
        got = k2t_var_get(sh, name + 1);
        if (!got) return k2t_error(sh, 1, "expect: %s is not set (no command has published it yet)", name);
    }
    if (want[0] == '$') {
        const char *w = k2t_var_get(sh, want + 1);
        if (!w) return k2t_error(sh, 3, "expect: %s is not set", want);
        want = w;
    }
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    int k = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(op, ops[i]) == 0) k = i;
    if (k < 0) return k2t_error(sh, 2, "expect: unknown operator '%s' (==, !=, <, <=, >, >=)", op);
    double a, b;
    int holds;
    if (parse_num(got, &a) && parse_num(want, &b)) {
        int r[6] = {a == b, a != b, a < b, a <= b, a > b, a >= b};
        holds = r[k];
    } else {
        int c = strcmp(got, want);
        if (k > 1) return k2t_error(sh, 2, "expect: '%s' compares numbers; %s = '%s' is not one", op, name, got);
        holds = k == 0 ? c == 0 : c != 0;
    }
    if (!holds) {
        if (name[0] == '$')
            return k2t_error(sh, -1, "expect %s %s %s failed: %s = %s", name, op, argv[3], name, got);
        return k2t_error(sh, -1, "expect %s %s %s failed", name, op, argv[3]);
    }
    k2t_printf(sh, "ok: %s %s %s (%s)\n", name, op, argv[3], got);
    return K2T_CMD_OK;
}

static void complete_expect(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)argv;
    if (argi == 1)
        for (int i = 0; i < sh->n_vars; i++) {
            char b[64];
            snprintf(b, sizeof b, "$%s", sh->vars[i].name);
            if (strncmp(b, prefix, strlen(prefix)) == 0) k2t_strlist_add(out, b);
        }
    else if (argi == 2)
        k2t_complete_words("== != < <= > >=", prefix, out);
}

static int cmd_vars(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    if (!sh->n_vars) k2t_printf(sh, "no variables yet (commands such as eval, diff and summary publish them)\n");
    for (int i = 0; i < sh->n_vars; i++) k2t_printf(sh, "$%-18s %s\n", sh->vars[i].name, sh->vars[i].value);
    return K2T_CMD_OK;
}

const k2t_command k2t_cmd_expect = {
    .name = "expect", .group = "script", .min_args = 3, .max_args = 3, .flags = K2T_RAW_VARS,
    .usage = "expect $NAME OP VALUE",
    .summary = "Assert on a published result: fails the command (and the script under --bail) when false.",
    .help = "OP is one of == != < <= > >=; numbers compare as numbers (a trailing % is allowed),\n"
            "anything else as text (== and != only).  Both values are shown when it fails.\n"
            "Example: eval cifar data.bin, then expect $accuracy >= 85.",
    .complete = complete_expect, .fn = cmd_expect,
};

const k2t_command k2t_cmd_vars = {
    .name = "vars", .group = "script", .min_args = 0, .max_args = 0,
    .usage = "vars",
    .summary = "List the variables commands have published ($accuracy, $params, ...).",
    .fn = cmd_vars,
};
