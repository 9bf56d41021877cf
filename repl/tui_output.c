/*
** tui_output.c -- the full-screen mode's text: the output pane's lines
** (command output split into lines, escapes removed, bounded), and the
** snapshot that prints the whole screen as text for the golden tests
** (split from tui_render.c, which draws).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"
#include "../commands/snapshot.h"

#define OUT_MAX_LINES 5000     /* output kept for scrolling back */

/*========================================================= the lines */

static void lines_add(tui_lines *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = k2t_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    char *c = k2t_xmalloc(n + 1);
    memcpy(c, s, n);
    c[n] = '\0';
    l->v[l->n++] = c;
}

static void lines_free(tui_lines *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void tui_state_free(tui_state *st)
{
    lines_free(&st->out);
    lines_free(&st->hist);
}

void tui_out_append(tui_state *st, const char *text)
{
    char *line = k2t_xmalloc(strlen(text) * 8 + 1);
    int n = 0, any = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\033') {             /* CSI ... final byte, or ESC x */
            if (p[1] == '[') {
                p += 2;
                while (*p && !(*p >= '@' && *p <= '~')) p++;
                if (!*p) break;
            } else if (p[1]) {
                p++;
            }
            continue;
        }
        if (*p == '\n') {
            lines_add(&st->out, line, (size_t)n);
            n = 0;
            any = 0;
            continue;
        }
        if (*p == '\r') {
            if (p[1] != '\n') n = 0;
            continue;
        }
        if (*p == '\t') {
            do line[n++] = ' '; while (n % 8);
        } else {
            line[n++] = *p;
        }
        any = 1;
    }
    if (any) lines_add(&st->out, line, (size_t)n);
    free(line);
    if (st->out.n > OUT_MAX_LINES) {
        int drop = st->out.n - OUT_MAX_LINES;
        for (int i = 0; i < drop; i++) free(st->out.v[i]);
        memmove(st->out.v, st->out.v + drop, (size_t)(st->out.n - drop) * sizeof *st->out.v);
        st->out.n -= drop;
        st->out_top = st->out_top > drop ? st->out_top - drop : 0;
    }
    st->out_follow = 1;
}

/*============================================================ snapshot */

int tui_snapshot(k2t_shell *sh, int w, int h, int node, int keys)
{
    tui_state st;
    tui_state_init(&st, sh);
    if (node >= 0) tui_select(&st, sh, node);
    tui_fix_scroll(&st, sh, w, h);
    /* --press: the keys, one after another, as the loop in tui.c would. */
    const char *p = k2t_snapshot_press;
    for (int ch; p && (ch = tui_key_code(&p)) >= 0;) {
        int r = tui_key(&st, sh, ch, w, h);
        tui_fix_scroll(&st, sh, w, h);
        if (r != TUI_KEY_STAY) {
            k2t_printf(sh, "(%s)\n", r == TUI_KEY_QUIT ? "quit: k2t would exit" : "the key leaves the full-screen mode");
            break;
        }
    }
    st.keys = st.keys || keys;
    char *grid = k2t_xmalloc((size_t)w * (size_t)h);
    tui_render(&st, sh, grid, NULL, w, h);
    for (int y = 0; y < h; y++) {
        const char *row = grid + (size_t)y * (size_t)w;
        int n = w;
        while (n > 0 && row[n - 1] == ' ') n--;
        k2t_printf(sh, "%.*s\n", n, row);
    }
    free(grid);
    tui_state_free(&st);
    return K2T_CMD_OK;
}
