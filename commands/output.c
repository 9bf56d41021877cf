/*
** output.c -- everything a command prints goes through here: results
** (k2t_printf), errors (k2t_error, the one error path: "FILE:LINE:" in
** scripts, a caret under the argument at the terminal, counted in
** sh->nerr for the exit status), warnings, colours, and findings (a
** pitfall's text and fix, as check, diff and compare print them).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

void k2t_printf(k2t_shell *sh, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(sh->out, fmt, ap);
    va_end(ap);
}

const char *k2t_c_bold(const k2t_shell *sh) { return sh->set.color ? "\033[1m" : ""; }
const char *k2t_c_warn(const k2t_shell *sh) { return sh->set.color ? "\033[1;33m" : ""; }
const char *k2t_c_dim(const k2t_shell *sh) { return sh->set.color ? "\033[2m" : ""; }
const char *k2t_c_off(const k2t_shell *sh) { return sh->set.color ? "\033[0m" : ""; }

/* "FILE:LINE: " in a script; nothing at the terminal or for -c. */
static void location(k2t_shell *sh)
{
    if (sh->src_name && !sh->interactive && strcmp(sh->src_name, "-c") != 0)
        fprintf(sh->err, "%s:%d: ", sh->src_name, sh->src_line);
}

int k2t_error(k2t_shell *sh, int argi, const char *fmt, ...)
{
    va_list ap;
    fflush(sh->out);
    location(sh);
    fprintf(sh->err, "%serror:%s ", sh->set.color ? "\033[1;31m" : "", k2t_c_off(sh));
    va_start(ap, fmt);
    vfprintf(sh->err, fmt, ap);
    va_end(ap);
    fputc('\n', sh->err);
    /* At the terminal, point at the argument (SQLite's dotCmdError). */
    if (sh->interactive && argi >= 0 && argi < sh->argc && sh->line) {
        fprintf(sh->err, "  %s\n  %*s^\n", sh->line, sh->arg_ofs[argi], "");
    }
    fflush(sh->err);
    sh->nerr++;
    return K2T_CMD_ERR;
}

void k2t_warn(k2t_shell *sh, const char *fmt, ...)
{
    va_list ap;
    fflush(sh->out);
    location(sh);
    fprintf(sh->err, "%swarning:%s ", k2t_c_warn(sh), k2t_c_off(sh));
    va_start(ap, fmt);
    vfprintf(sh->err, fmt, ap);
    va_end(ap);
    fputc('\n', sh->err);
    fflush(sh->err);
}

/* Words of 'text' from column 'col', wrapped at 'width' columns with
** continuation lines indented by 'indent'. */
static void wrap(k2t_shell *sh, const char *text, int col, int indent, int width)
{
    int first = 1;
    for (const char *p = text; *p;) {
        while (*p == ' ') p++;
        size_t w = strcspn(p, " ");
        if (!w) break;
        if (!first && col + 1 + (int)w > width) {
            k2t_printf(sh, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            k2t_printf(sh, " ");
            col++;
        }
        k2t_printf(sh, "%.*s", (int)w, p);
        col += (int)w, first = 0;
        p += w;
    }
    k2t_printf(sh, "\n");
}

void k2t_print_finding(k2t_shell *sh, const k2t_finding *f, int style)
{
    const char *topic = k2t_pitfalls[f->pit].topic;
    const char *lead = style == K2T_FINDING_CHECK ? "      " : "  fix: ";
    if (style == K2T_FINDING_CHECK) {
        if (f->hazard) k2t_printf(sh, "  %s!%s %s: ", k2t_c_warn(sh), k2t_c_off(sh), topic);
        else k2t_printf(sh, "  ok %s: ", topic);
        wrap(sh, f->text, (int)strlen(topic) + (f->hazard ? 6 : 7), 4, 100);
    } else {
        k2t_printf(sh, "  why: %s: ", topic);
        wrap(sh, f->text, (int)strlen(topic) + 9, 7, 100);
    }
    for (const char *p = f->code; *p;) {
        size_t l = strcspn(p, "\n");
        k2t_printf(sh, "%s%.*s\n", lead, (int)l, p);
        if (style != K2T_FINDING_CHECK) lead = "       ";
        p += l;
        if (*p == '\n') p++;
    }
}
