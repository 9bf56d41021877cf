/*
** output.c -- everything a command prints goes through here: results
** (k2t_printf), errors (k2t_error, the one error path: "FILE:LINE:" in
** scripts, a caret under the argument at the terminal, counted in
** sh->nerr for the exit status), warnings, colours, and findings (a
** pitfall's text and fix, as check, diff and compare print them).
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "shell.h"

/* Lines wider than the width (when there is one) are wrapped here, the
** safety net under every command: output is held until its line ends,
** then written as it is when it fits, else broken at spaces with a hanging
** indent (after a leading "label: ", or the line's own indent plus 2). */
static struct pending {
    FILE *f;
    char *buf;
    size_t n, cap;
    int width;
} pend;

static int vis_len(const char *s, size_t n);
static size_t next_line(const char **p, int width);

static void emit_line(FILE *f, const char *s, size_t n, int W)
{
    char *line = k2t_xmalloc(n + 1);
    memcpy(line, s, n);
    line[n] = '\0';
    if (W <= 0 || vis_len(line, n) <= W) {
        fwrite(line, 1, n, f);
        free(line);
        return;
    }
    size_t lead = strspn(line, " ");
    int indent = (int)lead + 2;
    const char *colon = strstr(line + lead, ": ");
    if (colon && colon - line + 2 <= 28 && !memchr(line + lead, ' ', (size_t)(colon - line) - lead))
        indent = (int)(colon - line) + 2;
    if (indent > W / 2) indent = W / 4;
    const char *p = line;
    int first = 1;
    while (*p) {
        const char *start = p;
        size_t l = next_line(&p, first ? W : W - indent);
        if (!first) fprintf(f, "%*s", indent, "");
        fwrite(start, 1, l, f);
        if (*p) fputc('\n', f);
        first = 0;
    }
    free(line);
}

void k2t_flush(k2t_shell *sh)
{
    if (pend.n) {
        emit_line(pend.f, pend.buf, pend.n, pend.width);
        pend.n = 0;
    }
    if (sh && sh->out) fflush(sh->out);
}

void k2t_printf(k2t_shell *sh, const char *fmt, ...)
{
    va_list ap;
    int W = k2t_width(sh);
    if ((pend.n && pend.f != sh->out) || (pend.n && !W)) k2t_flush(NULL);
    if (!W) {
        va_start(ap, fmt);
        vfprintf(sh->out, fmt, ap);
        va_end(ap);
        return;
    }
    char small[512], *t = small;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof small) {
        t = k2t_xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(t, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    pend.f = sh->out, pend.width = W;
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (pend.n + l + 1 > pend.cap) {
            pend.cap = (pend.n + l + 1) * 2;
            pend.buf = k2t_xrealloc(pend.buf, pend.cap);
        }
        memcpy(pend.buf + pend.n, p, l);
        pend.n += l;
        p += l;
        if (nl) {
            emit_line(pend.f, pend.buf, pend.n, W);
            fputc('\n', pend.f);
            pend.n = 0;
            p++;
        }
    }
    if (t != small) free(t);
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

/* An error's or warning's text after its "error: " lead (col columns),
** wrapped like results when the terminal has a width (only at the
** terminal: a script's "FILE:LINE: error: ..." stays one line). */
static void err_text(k2t_shell *sh, int col, const char *fmt, va_list ap)
{
    int W = sh->interactive && isatty(fileno(sh->err)) ? k2t_width(sh) : 0;
    if (!W) {
        vfprintf(sh->err, fmt, ap);
        fputc('\n', sh->err);
        return;
    }
    char *t = NULL;
    if (vasprintf(&t, fmt, ap) < 0) return;
    FILE *f = sh->err;
    const char *p = t;
    int first = 1;
    while (*p) {
        const char *start = p;
        size_t l = next_line(&p, first ? (W - col > 10 ? W - col : 10) : W - 2);
        if (!first) fprintf(f, "  ");
        fwrite(start, 1, l, f);
        fputc('\n', f);
        first = 0;
    }
    if (!*t) fputc('\n', f);
    free(t);
}

int k2t_error(k2t_shell *sh, int argi, const char *fmt, ...)
{
    va_list ap;
    k2t_flush(sh);
    location(sh);
    fprintf(sh->err, "%serror:%s ", sh->set.color ? "\033[1;31m" : "", k2t_c_off(sh));
    va_start(ap, fmt);
    err_text(sh, 7, fmt, ap);
    va_end(ap);
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
    k2t_flush(sh);
    location(sh);
    fprintf(sh->err, "%swarning:%s ", k2t_c_warn(sh), k2t_c_off(sh));
    va_start(ap, fmt);
    err_text(sh, 9, fmt, ap);
    va_end(ap);
    fflush(sh->err);
}

/*------------------------------------------------------------- the width */

static int page_cols; /* the terminal's width while a command's output is held for the pager */

int k2t_width(const k2t_shell *sh)
{
    if (sh->set.width > 0) return sh->set.width;
    if (sh->pane_cols > 0) return sh->pane_cols;
    if (page_cols > 0) return page_cols;
    const char *c = getenv("COLUMNS");
    if (c && atoi(c) > 0) return atoi(c);
    struct winsize ws;
    if (sh->out && isatty(fileno(sh->out)) && ioctl(fileno(sh->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

/* Columns 's' takes on the screen: UTF-8 continuation bytes and ANSI
** colour escapes take none. */
static int vis_len(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n && s[i]; i++) {
        if (s[i] == '\033') {
            while (i < n && s[i] && s[i] != 'm') i++;
            continue;
        }
        if (((unsigned char)s[i] & 0xC0) != 0x80) w++;
    }
    return w;
}

/* Bytes of 's' (n bytes) that fit in 'cols' columns. */
static size_t fit_bytes(const char *s, size_t n, int cols)
{
    size_t i = 0;
    int w = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80) j++;
        if (w + 1 > cols) break;
        w++, i = j;
    }
    return i;
}

/* The next line of 'text' (from *p) that fits in 'width' columns, broken
** at a space when there is one, else hard; returns its length in bytes and
** advances *p past it and the blanks that follow. */
static size_t next_line(const char **p, int width)
{
    const char *s = *p;
    size_t n = strlen(s);
    if (width < 1) width = 1;
    if (vis_len(s, n) <= width) {
        *p = s + n;
        return n;
    }
    size_t cut = fit_bytes(s, n, width), brk = cut;
    while (brk > 0 && s[brk] != ' ') brk--;
    if (brk == 0) brk = cut; /* one word longer than the line */
    size_t len = brk;
    while (len > 0 && s[len - 1] == ' ') len--;
    const char *q = s + brk;
    while (*q == ' ') q++;
    *p = q;
    return len ? len : brk;
}

void k2t_print_wrapped(k2t_shell *sh, const char *text, int col, int indent, int fallback)
{
    int width = k2t_width(sh);
    if (width <= 0) width = fallback;
    if (width <= 0) {
        k2t_printf(sh, "%s\n", text);
        return;
    }
    if (width - indent < 20) indent = width > 24 ? 4 : 0; /* a narrow screen: keep room for words */
    int first = 1;
    const char *p = text;
    while (*p == ' ') p++;
    for (;;) {
        int room = width - (first ? col : indent);
        if (room < 8) { /* the lead took the line: start the text below it */
            k2t_printf(sh, "\n%*s", indent, "");
            first = 0;
            room = width - indent;
        }
        const char *start = p;
        size_t l = next_line(&p, room);
        if (!first) k2t_printf(sh, "%*s", indent, "");
        k2t_printf(sh, "%.*s\n", (int)l, start);
        first = 0;
        if (!*p) break;
    }
}

void k2t_print_finding(k2t_shell *sh, const k2t_finding *f, int style)
{
    const char *topic = k2t_pitfalls[f->pit].topic;
    const char *lead = style == K2T_FINDING_CHECK ? "      " : "  fix: ";
    if (style == K2T_FINDING_CHECK) {
        if (f->hazard) k2t_printf(sh, "  %s!%s %s: ", k2t_c_warn(sh), k2t_c_off(sh), topic);
        else k2t_printf(sh, "  ok %s: ", topic);
        k2t_print_wrapped(sh, f->text, (int)strlen(topic) + (f->hazard ? 6 : 7), 4, 100);
    } else {
        k2t_printf(sh, "  why: %s: ", topic);
        k2t_print_wrapped(sh, f->text, (int)strlen(topic) + 9, 7, 100);
    }
    for (const char *p = f->code; *p;) {
        size_t l = strcspn(p, "\n");
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)l, p);
        k2t_printf(sh, "%s", lead);
        k2t_print_wrapped(sh, line, (int)strlen(lead), (int)strlen(lead) + 4, 0);
        if (style != K2T_FINDING_CHECK) lead = "       ";
        p += l;
        if (*p == '\n') p++;
    }
}

/*------------------------------------------------------------- tables */

void k2t_table_init(k2t_table *t, k2t_shell *sh, int nc)
{
    memset(t, 0, sizeof *t);
    t->sh = sh;
    t->nc = nc;
    t->head = k2t_xcalloc((size_t)nc, sizeof *t->head);
    t->flags = k2t_xcalloc((size_t)nc, sizeof(int));
    t->pref = k2t_xcalloc((size_t)nc, sizeof(int));
    t->min = k2t_xcalloc((size_t)nc, sizeof(int));
    t->sep = "  ";
}

void k2t_table_col(k2t_table *t, int c, const char *head, int flags, int pref, int min)
{
    t->head[c] = head;
    t->flags[c] = flags;
    t->pref[c] = pref;
    t->min[c] = min;
}

void k2t_table_sep(k2t_table *t, int c, const char *sep)
{
    if (!t->seps) t->seps = k2t_xcalloc((size_t)t->nc, sizeof *t->seps); /* only tables that use it */
    t->seps[c] = sep;
}

/* The separator before column c. */
static const char *sep_of(const k2t_table *t, int c)
{
    return t->seps && t->seps[c] ? t->seps[c] : t->sep;
}

void k2t_table_row(k2t_table *t, const char *const *cells)
{
    if (t->nr == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->cells = k2t_xrealloc(t->cells, (size_t)t->cap * (size_t)t->nc * sizeof *t->cells);
        t->note = k2t_xrealloc(t->note, (size_t)t->cap);
    }
    for (int c = 0; c < t->nc; c++) t->cells[t->nr * t->nc + c] = k2t_xstrdup(cells[c] ? cells[c] : "");
    t->note[t->nr++] = 0;
}

void k2t_table_note(k2t_table *t, const char *text)
{
    const char *cells[64] = {text};
    k2t_table_row(t, cells);
    t->note[t->nr - 1] = 1;
}

int k2t_format_table(const k2t_shell *sh) { return sh->set.format == K2T_FMT_TABLE; }

static void table_free(k2t_table *t)
{
    for (int i = 0; i < t->nr * t->nc; i++) free(t->cells[i]);
    free(t->cells);
    free(t->note);
    free(t->head), free(t->flags), free(t->pref), free(t->min);
    free(t->seps);
}

/* One CSV field (RFC 4180: quoted when it holds a comma, a quote, a line
** break or outer blanks; quotes doubled) or TSV field (tabs and line
** breaks become spaces). */
static void delimited_cell(k2t_shell *sh, const char *v, int csv)
{
    if (!csv) {
        for (const char *p = v; *p; p++) k2t_printf(sh, "%c", *p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
        return;
    }
    size_t n = strlen(v);
    if (!strpbrk(v, ",\"\r\n") && !(n && (v[0] == ' ' || v[n - 1] == ' '))) {
        k2t_printf(sh, "%s", v);
        return;
    }
    k2t_printf(sh, "\"");
    for (const char *p = v; *p; p++) k2t_printf(sh, *p == '"' ? "\"\"" : "%c", *p);
    k2t_printf(sh, "\"");
}

static void rule_line(k2t_shell *sh, char ch, int n)
{
    for (int i = 0; i < n; i++) k2t_printf(sh, "%c", ch);
    k2t_printf(sh, "\n");
}

/* Cell text without colour escapes, for the measure of delimited output. */
static void strip_escapes(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '\033') {
            while (*p && *p != 'm') p++;
            if (!*p) break;
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
}

void k2t_table_print(k2t_table *t)
{
    k2t_shell *sh = t->sh;
    int nc = t->nc;
    if (sh->set.format != K2T_FMT_TABLE) {
        int csv = sh->set.format == K2T_FMT_CSV;
        for (int r = -1; r < t->nr; r++) {
            if (r >= 0 && t->note[r]) continue;
            for (int c = 0; c < nc; c++) {
                char *v = k2t_xstrdup(r < 0 ? t->head[c] : t->cells[r * nc + c]);
                strip_escapes(v);
                char *b = v, *e = v + strlen(v);
                while (*b == ' ') b++;
                while (e > b && e[-1] == ' ') *--e = '\0';
                if (c) k2t_printf(sh, csv ? "," : "\t");
                delimited_cell(sh, b, csv);
                free(v);
            }
            k2t_printf(sh, csv ? "\r\n" : "\n");
        }
        table_free(t);
        return;
    }
    int *w = k2t_xcalloc((size_t)nc, sizeof(int)), total = t->indent;
    int W = k2t_width(sh);
    for (int c = 0; c < nc; c++) {
        /* With a width, a text column is as wide as its content. */
        w[c] = W && !(t->flags[c] & K2T_COL_RIGHT) ? 0 : t->pref[c];
        int h = t->hide_head ? 0 : vis_len(t->head[c], strlen(t->head[c]));
        if (h > w[c]) w[c] = h;
        /* Unlimited width: a column keeps its preferred width and a longer
        ** cell pushes the rest of its row (the lines k2t always printed). */
        if (!W && t->pref[c] > 0) {
            total += w[c] + (c ? (int)strlen(sep_of(t, c)) : 0);
            continue;
        }
        for (int r = 0; r < t->nr; r++) {
            if (t->note[r]) continue;
            const char *v = t->cells[r * nc + c];
            int l = vis_len(v, strlen(v));
            if (l > w[c]) w[c] = l;
        }
        total += w[c] + (c ? (int)strlen(sep_of(t, c)) : 0);
    }
    /* Too wide: shrink the widest column that may shrink, one column at a
    ** time, down to the minimums. */
    for (int late = 0; late < 2; late++)
        while (W > 0 && total > W) {
            int best = -1;
            for (int c = 0; c < nc; c++)
                if (!(t->flags[c] & (K2T_COL_FIXED | K2T_COL_RIGHT)) && (late || !(t->flags[c] & K2T_COL_LATE)) &&
                    w[c] > (t->min[c] > 0 ? t->min[c] : 6) && (best < 0 || w[c] > w[best]))
                    best = c;
            if (best < 0) break;
            w[best]--, total--;
        }
    int stacked = W > 0 && total > W;
    int rw = t->rule_width ? t->rule_width : total;
    if (W > 0 && rw > W) rw = W;
    if (t->rule_top) rule_line(sh, t->rule_top, rw);
    for (int r = t->hide_head || stacked ? 0 : -1; r < t->nr; r++) {
        const char *p[64];
        int any;
        if (r >= 0 && t->note[r]) {
            k2t_printf(sh, "%*s", t->indent, "");
            k2t_print_wrapped(sh, t->cells[r * nc], t->indent, t->indent + 2, 0);
            continue;
        }
        if (stacked) {
            /* The first column, then "heading: value" pairs packed into lines. */
            k2t_printf(sh, "%*s", t->indent, "");
            k2t_print_wrapped(sh, t->cells[r * nc], t->indent, t->indent + 2, 0);
            int col = 0, in = t->indent + 4;
            for (int c = 1; c < nc; c++) {
                const char *v = t->cells[r * nc + c];
                while (*v == ' ') v++;
                if (!*v) continue;
                char item[1200];
                snprintf(item, sizeof item, "%s: %s", t->head[c], v);
                int l = vis_len(item, strlen(item));
                if (col && col + 2 + l > W) k2t_printf(sh, "\n"), col = 0;
                if (!col) {
                    k2t_printf(sh, "%*s", in, "");
                    col = in;
                    if (col + l > W) {
                        k2t_print_wrapped(sh, item, col, in + 2, 0);
                        col = 0;
                        continue;
                    }
                } else {
                    k2t_printf(sh, "  ");
                    col += 2;
                }
                k2t_printf(sh, "%s", item);
                col += l;
            }
            if (col) k2t_printf(sh, "\n");
            continue;
        }
        for (int c = 0; c < nc && c < 64; c++) p[c] = r < 0 ? t->head[c] : t->cells[r * nc + c];
        if (r < 0) k2t_printf(sh, "%s", k2t_c_bold(sh));
        do {
            any = 0;
            /* One screen line: each column's next piece; the line ends after
            ** the last column that has text (no trailing blanks). */
            int last = -1;
            for (int c = 0; c < nc; c++)
                if (*p[c]) last = c;
            k2t_printf(sh, "%*s", t->indent, "");
            for (int c = 0; c <= last; c++) {
                const char *s0 = p[c];
                size_t l = !*s0 ? 0 : W ? next_line(&p[c], w[c]) : strlen(s0);
                if (!W) p[c] = s0 + l;
                if (l && !(r < 0) && vis_len(s0, l) < vis_len(s0, strlen(s0)) && *p[c]) t->wrapped = 1;
                int pad = w[c] - vis_len(s0, l);
                if (pad < 0) pad = 0;
                if (c) k2t_printf(sh, "%s", sep_of(t, c));
                if (t->flags[c] & K2T_COL_RIGHT) k2t_printf(sh, "%*s%.*s", pad, "", (int)l, s0);
                else if (c == last) k2t_printf(sh, "%.*s", (int)l, s0);
                else k2t_printf(sh, "%.*s%*s", (int)l, s0, pad, "");
                if (*p[c]) any = 1;
            }
            if (r < 0 && !any) k2t_printf(sh, "%s", k2t_c_off(sh));
            k2t_printf(sh, "\n");
        } while (any);
        if (r < 0 && t->rule_head) rule_line(sh, t->rule_head, rw);
    }
    if (t->rule_end) rule_line(sh, t->rule_end, rw);
    free(w);
    table_free(t);
}

/*------------------------------------------------------ output FILE */

/* "output FILE" writes into a temporary file beside FILE (".FILE.k2t-XXXXXX",
** made by mkstemp: never through a symlink, never over anything) and
** renames it onto FILE when "output" alone or the end of the session
** closes it: an existing FILE is refused without --force (as save and
** export refuse it), a symlink or special file always. */
int k2t_output_close(k2t_shell *sh)
{
    if (!sh->out_file) return K2T_CMD_OK;
    k2t_flush(sh);
    int bad = fflush(sh->out_file) != 0 || ferror(sh->out_file);
    bad |= fclose(sh->out_file) != 0;
    sh->out = sh->out_saved ? sh->out_saved : stdout;
    sh->out_file = NULL;
    int rc = K2T_CMD_OK;
    k2t_err err = {0};
    if (bad) {
        unlink(sh->out_tmp);
        rc = k2t_error(sh, -1, "output: cannot write '%s': %s", sh->out_path, strerror(errno ? errno : EIO));
    } else if (k2t_check_write_target(sh->out_path, sh->out_force, &err) != K2T_OK) {
        rc = k2t_error(sh, -1, "output: %s; the output is kept in '%s'", err.msg, sh->out_tmp);
    } else if (rename(sh->out_tmp, sh->out_path) != 0) {
        rc = k2t_error(sh, -1, "output: cannot write '%s': %s; the output is kept in '%s'", sh->out_path,
                       strerror(errno), sh->out_tmp);
    }
    free(sh->out_path), free(sh->out_tmp);
    sh->out_path = sh->out_tmp = NULL;
    return rc;
}

static int cmd_output(k2t_shell *sh, int argc, char **argv)
{
    int force = 0, fi = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) force = 1;
        else if (fi < 0) fi = i;
        else return k2t_error(sh, i, "output: unexpected argument '%s'", argv[i]);
    }
    if (fi < 0 && force) return k2t_error(sh, 1, "output: --force needs a FILE");
    if (sh->out_file && k2t_output_close(sh) != K2T_CMD_OK) return K2T_CMD_ERR;
    if (fi < 0) return K2T_CMD_OK;
    if (sh->out_file == NULL && sh->out != stdout)
        return k2t_error(sh, -1, "output: not here (the output is already captured)");
    const char *path = argv[fi];
    k2t_err err = {0};
    if (k2t_check_write_target(path, force, &err) != K2T_OK) return k2t_error(sh, fi, "output: %s", err.msg);
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
    size_t tl = strlen(path) + 32;
    char *tmp = k2t_xmalloc(tl);
    snprintf(tmp, tl, "%.*s.%s.k2t-XXXXXX", (int)dl, path, slash ? slash + 1 : path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return k2t_error(sh, fi, "output: cannot write '%s': %s", path, strerror(e));
    }
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return k2t_error(sh, fi, "output: cannot write '%s'", path);
    }
    k2t_flush(sh);
    sh->out_saved = sh->out;
    sh->out = sh->out_file = f;
    sh->out_path = k2t_xstrdup(path);
    sh->out_tmp = tmp;
    sh->out_force = force;
    return K2T_CMD_OK;
}

static void complete_output(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)sh, (void)argi, (void)argv;
    k2t_complete_files(prefix, NULL, out);
    k2t_complete_words("--force", prefix, out);
}

const k2t_command k2t_cmd_output = {
    .name = "output", .group = "script", .min_args = 0, .max_args = 2,
    .usage = "output [--force] [FILE]",
    .summary = "Send command results to FILE until \"output\" alone resets them to the terminal.",
    .help = "As sqlite3's .output: results (not errors) go to FILE.  They are written into a\n"
            "temporary file beside FILE, renamed onto FILE when \"output\" alone (or quit)\n"
            "closes it.  An existing FILE is refused without --force; a symlink or a special\n"
            "file always.  Example: set format csv, output stats.csv, stats all, output.",
    .complete = complete_output, .fn = cmd_output,
};

/*------------------------------------------------------------ the pager */

/* Commands that talk to the terminal themselves, or print progress. */
static int pager_exempt(const char *name)
{
    static const char *const no[] = {"tui", "pause", "lesson", "source", "eval", "compare", "quit", "output", NULL};
    for (int i = 0; no[i]; i++)
        if (!strcmp(no[i], name)) return 1;
    return 0;
}

int k2t_paged(k2t_shell *sh, const k2t_command *c, int argc, char **argv)
{
    struct winsize ws;
    if (sh->set.pager_off || !sh->interactive || sh->out != stdout || !isatty(STDOUT_FILENO) ||
        !isatty(STDIN_FILENO) || pager_exempt(c->name) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 ||
        ws.ws_row < 2)
        return c->fn(sh, argc, argv);
    FILE *tmp = tmpfile();
    if (!tmp) return c->fn(sh, argc, argv);
    k2t_flush(sh);
    page_cols = ws.ws_col;
    sh->out = tmp;
    int rc = c->fn(sh, argc, argv);
    k2t_flush(sh);
    page_cols = 0;
    if (sh->out == tmp) sh->out = stdout; /* "output FILE" inside keeps its file */
    long lines = 0;
    int ch;
    rewind(tmp);
    while ((ch = getc(tmp)) != EOF) lines += ch == '\n';
    rewind(tmp);
    FILE *to = stdout, *p = NULL;
    void (*old)(int) = SIG_DFL;
    if (lines >= ws.ws_row - 1) {
        const char *pg = getenv("PAGER");
        if (!pg || !*pg) pg = "less -FRX";
        fflush(stdout);
        old = signal(SIGPIPE, SIG_IGN);
        if ((p = popen(pg, "w"))) to = p;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, tmp)) > 0)
        if (fwrite(buf, 1, n, to) != n) break;
    if (p) pclose(p);
    if (lines >= ws.ws_row - 1) signal(SIGPIPE, old);
    fflush(stdout);
    fclose(tmp);
    return rc;
}
