/*
** tui.c -- the full-screen mode's curses layer: keys in, the grid out.
**
** This file owns the terminal and nothing else.  Each frame, tui_render()
** (tui_render.c) fills a character grid and an attribute grid, and
** blit() copies them to stdscr; box lines become line-drawing characters
** and the attribute bits become bold, reverse and, when the terminal has
** colours and NO_COLOR is unset, colour pairs.  Keys either move the view
** (selection, scrolling, focus) or become a command line handed to
** k2t_dispatch() -- n is "step", c "continue", r "run", d "diff" -- whose
** output is captured with open_memstream() by swapping sh->out/sh->err
** and appended to the output pane.
**
** The terminal is never left in curses mode: leaving calls endwin(), and
** while curses is on, SIGSEGV, SIGABRT, SIGTERM, SIGINT (and the other
** fatal signals) go to a handler that calls endwin() and re-raises the
** signal with its default action.  While a command runs, Ctrl-C instead
** sets k2t_interrupted (the engine polls it), as at the prompt; a third
** Ctrl-C before the command stops gives up on it the fatal way.
*/
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tui.h"

#define TUI_HISTORY_FILE ".k2t_history"  /* shared with the prompt's history */
#define TUI_HISTORY_KEEP 500             /* lines read back from it */

/* curses owns the terminal: the signal handlers must give it back. */
static volatile sig_atomic_t tui_on;
/* Ctrl-C presses during the command being run. */
static volatile sig_atomic_t n_sigint;
/* In the full-screen mode (a "tui" typed in it is refused). */
static int tui_active;
/* Colour pairs are in use. */
static int tui_color;

static const int fatal_sigs[] = {SIGSEGV, SIGABRT, SIGTERM, SIGINT, SIGBUS, SIGFPE, SIGILL, SIGQUIT, SIGHUP};
#define N_FATAL ((int)(sizeof fatal_sigs / sizeof fatal_sigs[0]))
static struct sigaction saved_sa[N_FATAL];

enum { KEY_STAY = TUI_KEY_STAY, KEY_LEAVE = TUI_KEY_LEAVE, KEY_QUIT = TUI_KEY_QUIT };  /* what a key does to the loop */

/*============================================================ signals */

/* Give the terminal back, then die of the signal as if never caught. */
static void on_fatal(int sig)
{
    if (tui_on) {
        tui_on = 0;
        endwin();
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
}

/* Ctrl-C while a command runs: ask the engine to stop. */
static void on_interrupt(int sig)
{
    k2t_interrupted = 1;
    if (++n_sigint >= 3) on_fatal(sig);
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  /* no SA_RESTART: the engine sees the flag, reads return */
    sigaction(sig, &sa, NULL);
}

static void install_handlers(void)
{
    for (int i = 0; i < N_FATAL; i++) sigaction(fatal_sigs[i], NULL, &saved_sa[i]);
    for (int i = 0; i < N_FATAL; i++) set_handler(fatal_sigs[i], on_fatal);
}

static void restore_handlers(void)
{
    for (int i = 0; i < N_FATAL; i++) sigaction(fatal_sigs[i], &saved_sa[i], NULL);
}

/*============================================================ history */

/* "$HOME/.k2t_history" (malloc'ed), or NULL without HOME. */
static char *history_path(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    size_t n = strlen(home) + sizeof TUI_HISTORY_FILE + 1;
    char *p = k2t_xmalloc(n);
    snprintf(p, n, "%s/%s", home, TUI_HISTORY_FILE);
    return p;
}

static void hist_push(tui_lines *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = k2t_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
    }
    l->v[l->n++] = k2t_xstrdup(s);
}

/* The last TUI_HISTORY_KEEP lines of the history file. */
static void history_load(tui_state *st)
{
    char *path = history_path();
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f) return;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
        if (n == 0) continue;
        hist_push(&st->hist, buf);
        if (st->hist.n > 2 * TUI_HISTORY_KEEP) {
            int drop = st->hist.n - TUI_HISTORY_KEEP;
            for (int i = 0; i < drop; i++) free(st->hist.v[i]);
            memmove(st->hist.v, st->hist.v + drop, (size_t)TUI_HISTORY_KEEP * sizeof *st->hist.v);
            st->hist.n = TUI_HISTORY_KEEP;
        }
    }
    free(buf);
    fclose(f);
}

/* Append the lines typed this session (entries [from, n)). */
static void history_save(const tui_state *st, int from)
{
    if (from >= st->hist.n) return;
    char *path = history_path();
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
    free(path);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        return;
    }
    for (int i = from; i < st->hist.n; i++) fprintf(f, "%s\n", st->hist.v[i]);
    fclose(f);
}

static void history_add(tui_state *st, const char *line)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) return;
    if (st->hist.n && !strcmp(st->hist.v[st->hist.n - 1], line)) return;
    hist_push(&st->hist, line);
}

/*============================================================ drawing */

static int is_border(const char *g, const unsigned char *a, int w, int h, int y, int x, const char *chars)
{
    if (y < 0 || y >= h || x < 0 || x >= w) return 0;
    return (a[y * w + x] & TUI_A_BORDER) && strchr(chars, g[y * w + x]);
}

/* The line-drawing character for a box cell, from its neighbours. */
static chtype line_char(const char *g, const unsigned char *a, int w, int h, int y, int x)
{
    char c = g[y * w + x];
    if (c == '-' || c == '=') return ACS_HLINE;
    if (c == '|') return ACS_VLINE;
    int up = is_border(g, a, w, h, y - 1, x, "|+"), dn = is_border(g, a, w, h, y + 1, x, "|+");
    int lf = is_border(g, a, w, h, y, x - 1, "-=+"), rt = is_border(g, a, w, h, y, x + 1, "-=+");
    if (up && dn && lf && rt) return ACS_PLUS;
    if (up && dn) return lf ? ACS_RTEE : ACS_LTEE;
    if (lf && rt) return up ? ACS_BTEE : ACS_TTEE;
    if (dn) return rt ? ACS_ULCORNER : ACS_URCORNER;
    if (up) return rt ? ACS_LLCORNER : ACS_LRCORNER;
    return (chtype)'+';
}

static attr_t cell_attr(unsigned char a)
{
    attr_t at = 0;
    if (a & TUI_A_BOLD) at |= A_BOLD;
    if (a & TUI_A_REVERSE) at |= A_REVERSE;
    if (a & TUI_A_DIM) at |= A_DIM;
    if (tui_color) {
        if (a & TUI_A_TITLE) at |= COLOR_PAIR(4);
        else if (a & TUI_A_WARN) at |= COLOR_PAIR(3);
        else if (a & TUI_A_BREAK) at |= COLOR_PAIR(2);
        else if (a & TUI_A_CURSOR) at |= COLOR_PAIR(1);
    } else if (a & TUI_A_TITLE) {
        at |= A_REVERSE;
    }
    return at;
}

/* Copy the grid to the screen. */
static void blit(const char *g, const unsigned char *a, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int i = y * w + x;
            chtype ch = (a[i] & TUI_A_BORDER) ? line_char(g, a, w, h, y, x) : (chtype)(unsigned char)g[i];
            mvaddch(y, x, ch | cell_attr(a[i]));
        }
}

static void draw(const tui_state *st, k2t_shell *sh)
{
    static char *grid;
    static unsigned char *attr;
    static size_t cap;
    int h, w, y, x;
    getmaxyx(stdscr, h, w);
    if (w <= 0 || h <= 0) return;
    size_t need = (size_t)w * (size_t)h;
    if (need > cap) {
        grid = k2t_xrealloc(grid, need);
        attr = k2t_xrealloc(attr, need);
        cap = need;
    }
    tui_render(st, sh, grid, attr, w, h);
    blit(grid, attr, w, h);
    if (tui_cursor_pos(st, w, h, &y, &x)) {
        curs_set(1);
        move(y, x);
    } else {
        curs_set(0);
        move(h - 1, 0);
    }
    refresh();
}

/*============================================================ commands */

static void fit_terminal(void);

/* The state a command's progress is shown in (run_command sets it). */
static tui_state *progress_st;
static double progress_last;

/* sh->progress while a command runs on the screen: its text replaces the
** status on the key bar, redrawn at most every 0.1 s (NULL: back to the
** "running:" status, which the end of the command clears). */
static void tui_progress(k2t_shell *sh, const char *text)
{
    tui_state *st = progress_st;
    if (!st || !tui_on) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    if (text && t - progress_last < 0.1) return;
    progress_last = t;
    snprintf(st->status, sizeof st->status, "%.200s%s", text ? text : "", text ? "  (Ctrl-C stops it)" : "");
    draw(st, sh);
}

/*
** Run one command line through the dispatcher with its output captured
** into the output pane (after a "k2t> LINE" echo).  On the screen, the
** command's output fits the output pane (sh->pane_cols, from the
** terminal's real size) and long commands show their progress on the key
** bar (sh->progress).  Returns K2T_CMD_*.
*/
static int run_command(tui_state *st, k2t_shell *sh, const char *line)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        snprintf(st->status, sizeof st->status, "cannot capture the output: %s", strerror(errno));
        return K2T_CMD_ERR;
    }
    snprintf(st->status, sizeof st->status, "running: %.200s  (Ctrl-C stops it)", line);
    if (tui_on) draw(st, sh);  /* else a snapshot presses the keys: no screen, the shell's signals */
    fprintf(f, "k2t> %s\n", line);

    FILE *so = sh->out, *se = sh->err;
    int cursor0 = tui_cursor_of(sh), nerr0 = sh->nerr;
    const void *run0 = sh->run;
    sh->out = sh->err = f;
    k2t_interrupted = 0;
    n_sigint = 0;
    if (tui_on) {
        set_handler(SIGINT, on_interrupt);
        int h, w;
        fit_terminal();
        getmaxyx(stdscr, h, w);
        (void)h;
        sh->pane_cols = w - 2 >= 20 ? w - 2 : 20;  /* the output pane's inside */
        sh->progress = tui_progress;
        progress_st = st;
        progress_last = 0;
    }
    int rc = k2t_dispatch(sh, line);
    sh->pane_cols = 0;
    sh->progress = NULL;
    progress_st = NULL;
    if (tui_on) set_handler(SIGINT, on_fatal);
    if (rc == K2T_CMD_ERR && sh->nerr == nerr0) sh->nerr++;
    sh->out = so;
    sh->err = se;
    fclose(f);

    tui_out_append(st, buf);
    free(buf);
    st->status[0] = '\0';
    if (k2t_interrupted) snprintf(st->status, sizeof st->status, "interrupted");
    k2t_interrupted = 0;
    tui_sync(st, sh, cursor0, run0);
    return rc;
}

/*======================================================= command line */

static void line_set(tui_state *st, const char *s)
{
    snprintf(st->line, sizeof st->line, "%s", s);
    st->line_len = st->line_pos = (int)strlen(st->line);
}

static void line_insert(tui_state *st, const char *s, int n)
{
    if (st->line_len + n >= (int)sizeof st->line) return;
    memmove(st->line + st->line_pos + n, st->line + st->line_pos, (size_t)(st->line_len - st->line_pos + 1));
    memcpy(st->line + st->line_pos, s, (size_t)n);
    st->line_len += n;
    st->line_pos += n;
}

static void line_delete(tui_state *st, int from, int to)
{
    if (from < 0) from = 0;
    if (to > st->line_len) to = st->line_len;
    if (from >= to) return;
    memmove(st->line + from, st->line + to, (size_t)(st->line_len - to + 1));
    st->line_len -= to - from;
    st->line_pos = from;
}

/* Open the command line: ':' for a command, '/' for a search. */
static void line_open(tui_state *st, char kind, int oneshot)
{
    if (st->focus != TUI_CMDLINE) st->back = st->focus;
    st->focus = TUI_CMDLINE;
    st->line_kind = kind;
    st->line_oneshot = oneshot;
    st->hist_pos = st->hist.n;
    line_set(st, "");
}

static void line_close(tui_state *st)
{
    line_set(st, "");
    st->focus = st->line_oneshot ? st->back : TUI_LAYERS;
    st->line_oneshot = 0;
    st->line_kind = ':';
}

/* Tab in a non-empty command line: complete the word before the cursor
** through k2t_complete(), as the prompt does. */
static void line_complete(tui_state *st, k2t_shell *sh)
{
    k2t_strlist l = {0};
    k2t_complete(sh, st->line, st->line_pos, &l);
    int ws = st->line_pos;
    while (ws > 0 && st->line[ws - 1] != ' ') ws--;
    if (l.n == 0) {
        snprintf(st->status, sizeof st->status, "no completions");
    } else {
        size_t common = strlen(l.v[0]);
        for (int i = 1; i < l.n; i++) {
            size_t k = 0;
            while (k < common && l.v[i][k] == l.v[0][k]) k++;
            common = k;
        }
        int have = st->line_pos - ws;
        if ((int)common > have) {
            line_delete(st, ws, st->line_pos);
            line_insert(st, l.v[0], (int)common);
        }
        if (l.n == 1) {
            size_t n = strlen(l.v[0]);
            if (n && l.v[0][n - 1] != '/' && l.v[0][n - 1] != '=') line_insert(st, " ", 1);
        } else {
            char buf[4096];
            size_t w = 0;
            for (int i = 0; i < l.n && w + 2 < sizeof buf; i++)
                w += (size_t)snprintf(buf + w, sizeof buf - w, "%s%s", i ? "  " : "", l.v[i]);
            if (w < sizeof buf) snprintf(buf + w, sizeof buf - w, "\n");
            tui_out_append(st, buf);
            snprintf(st->status, sizeof st->status, "%d completions", l.n);
        }
    }
    k2t_strlist_free(&l);
}

static void history_move(tui_state *st, int dir)
{
    int to = st->hist_pos + dir;
    if (to < 0 || to > st->hist.n) return;
    if (st->hist_pos == st->hist.n) snprintf(st->hist_saved, sizeof st->hist_saved, "%s", st->line);
    st->hist_pos = to;
    line_set(st, to == st->hist.n ? st->hist_saved : st->hist.v[to]);
}

static void do_search(tui_state *st, k2t_shell *sh, const char *text)
{
    if (*text) snprintf(st->search, sizeof st->search, "%.*s", (int)sizeof st->search - 1, text);
    if (!st->search[0]) {
        snprintf(st->status, sizeof st->status, "find: type part of a layer name");
        return;
    }
    int i = tui_search(st, sh, st->search);
    if (i < 0) snprintf(st->status, sizeof st->status, "no layer name contains '%s'", st->search);
    else tui_select(st, sh, i);
}

static void focus_next(tui_state *st, int dir)
{
    tui_pane p = (tui_pane)(((int)st->focus + dir + TUI_N_PANES) % TUI_N_PANES);
    if (p == TUI_CMDLINE) line_open(st, ':', 0);
    else {
        if (st->focus == TUI_CMDLINE) line_set(st, "");
        st->focus = p;
        st->line_oneshot = 0;
    }
}

static int line_key(tui_state *st, k2t_shell *sh, int ch, int w, int h)
{
    switch (ch) {
    case '\n': case '\r': case KEY_ENTER: {
        char line[sizeof st->line];
        char kind = st->line_kind;
        snprintf(line, sizeof line, "%s", st->line);
        line_set(st, "");
        st->hist_pos = st->hist.n;
        if (st->line_oneshot) line_close(st);
        if (kind == '/') {
            do_search(st, sh, line);
            return KEY_STAY;
        }
        history_add(st, line);
        st->hist_pos = st->hist.n;
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) return KEY_STAY;
        /* One meaning for q: back to the prompt, as the key q ("quit" leaves k2t). */
        size_t n = strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n == 1 && (*p == 'q' || *p == 'Q')) return KEY_LEAVE;
        return run_command(st, sh, line) == K2T_CMD_QUIT ? KEY_QUIT : KEY_STAY;
    }
    case 27:                        /* Esc */
    case 7:                         /* Ctrl-G */
        line_close(st);
        return KEY_STAY;
    case '\t':
        if (st->line_kind == ':' && st->line_len > 0) line_complete(st, sh);
        else focus_next(st, 1);
        return KEY_STAY;
    case KEY_BTAB:
        focus_next(st, -1);
        return KEY_STAY;
    case KEY_UP: case 16:           /* Ctrl-P */
        if (st->line_kind == ':') history_move(st, -1);
        return KEY_STAY;
    case KEY_DOWN: case 14:         /* Ctrl-N */
        if (st->line_kind == ':') history_move(st, 1);
        return KEY_STAY;
    case KEY_LEFT: case 2:          /* Ctrl-B */
        if (st->line_pos > 0) st->line_pos--;
        return KEY_STAY;
    case KEY_RIGHT: case 6:         /* Ctrl-F */
        if (st->line_pos < st->line_len) st->line_pos++;
        return KEY_STAY;
    case KEY_HOME: case 1:          /* Ctrl-A */
        st->line_pos = 0;
        return KEY_STAY;
    case KEY_END: case 5:           /* Ctrl-E */
        st->line_pos = st->line_len;
        return KEY_STAY;
    case KEY_BACKSPACE: case 127: case 8:
        if (st->line_pos == 0 && st->line_len == 0 && st->line_oneshot) line_close(st);
        else line_delete(st, st->line_pos - 1, st->line_pos);
        return KEY_STAY;
    case KEY_DC: case 4:            /* Delete, Ctrl-D */
        line_delete(st, st->line_pos, st->line_pos + 1);
        return KEY_STAY;
    case 21:                        /* Ctrl-U */
        line_delete(st, 0, st->line_pos);
        return KEY_STAY;
    case 11:                        /* Ctrl-K */
        line_delete(st, st->line_pos, st->line_len);
        return KEY_STAY;
    case 23: {                      /* Ctrl-W */
        int p = st->line_pos;
        while (p > 0 && st->line[p - 1] == ' ') p--;
        while (p > 0 && st->line[p - 1] != ' ') p--;
        line_delete(st, p, st->line_pos);
        return KEY_STAY;
    }
    case KEY_PPAGE:
        tui_scroll(st, sh, w, h, -tui_page(st, w, h));
        return KEY_STAY;
    case KEY_NPAGE:
        tui_scroll(st, sh, w, h, tui_page(st, w, h));
        return KEY_STAY;
    default:
        if (ch >= 32 && ch < 127) {
            char c = (char)ch;
            line_insert(st, &c, 1);
        }
        return KEY_STAY;
    }
}

/*================================================================ keys */

/* B: a breakpoint on the selected layer, or that breakpoint deleted when
** there is one (by the layer's or the node's name).  Through the
** dispatcher, as typed: "break NAME", "delete N". */
static void toggle_break(tui_state *st, k2t_shell *sh)
{
    const k2t_model *m = sh->model;
    char line[600];
    if (!m || !m->has_arch || m->n_nodes == 0 || st->sel < 0 || st->sel >= m->n_nodes) {
        snprintf(st->status, sizeof st->status, "B: breakpoints need a model with a graph");
        return;
    }
    const k2t_layer *L = k2t_node_layer(m, st->sel);
    for (int j = 0; j < sh->n_breaks; j++)
        if (sh->breaks[j].cond == K2T_COND_NONE &&
            (!strcmp(sh->breaks[j].what, L->name) || !strcmp(sh->breaks[j].what, m->nodes[st->sel].name))) {
            /* a disabled one (not marked B) is enabled again; a marked one goes */
            snprintf(line, sizeof line, "%s %d", sh->breaks[j].disabled ? "enable" : "delete", sh->breaks[j].id);
            run_command(st, sh, line);
            return;
        }
    snprintf(line, sizeof line, "break %s", L->name);
    run_command(st, sh, line);
}

static int pane_key(tui_state *st, k2t_shell *sh, int ch, int w, int h)
{
    char line[64], why[128];
    switch (ch) {
    case 'q': case 'Q':
        return KEY_LEAVE;
    case 'n':
        run_command(st, sh, "step");
        break;
    case 'b': {
        int k = tui_block_to_step(st, sh, why, sizeof why);
        if (!k) {
            snprintf(st->status, sizeof st->status, "b: %s", why);
            break;
        }
        snprintf(line, sizeof line, "step block %d", k);
        run_command(st, sh, line);
        break;
    }
    case 'B':
        toggle_break(st, sh);
        break;
    case 'c':
        run_command(st, sh, "continue");
        break;
    case 'r':
        run_command(st, sh, "run");
        break;
    case 'd': {
        /* The diff from its first line, in the output pane made taller. */
        int first = st->out.n;
        run_command(st, sh, "diff");
        st->focus = TUI_OUTPUT;
        st->out_top = first;
        st->out_follow = 0;
        st->out_left = 0;
        break;
    }
    case '?':
        st->keys = 1;
        break;
    case '/':
        line_open(st, '/', 1);
        break;
    case ':':
        line_open(st, ':', 1);
        break;
    case '\t':
        focus_next(st, 1);
        break;
    case KEY_BTAB:
        focus_next(st, -1);
        break;
    case '\n': case '\r': case KEY_ENTER:
        if (st->focus == TUI_LAYERS) st->focus = TUI_DETAILS;
        break;
    case 27:                        /* Esc: back to the layer list */
        st->focus = TUI_LAYERS;
        break;
    case KEY_UP: case 'k':
        tui_scroll(st, sh, w, h, -1);
        break;
    case KEY_DOWN: case 'j':
        tui_scroll(st, sh, w, h, 1);
        break;
    case KEY_PPAGE:
        tui_scroll(st, sh, w, h, -tui_page(st, w, h));
        break;
    case KEY_NPAGE: case ' ':
        tui_scroll(st, sh, w, h, tui_page(st, w, h));
        break;
    case KEY_HOME: case 'g':
        tui_scroll(st, sh, w, h, INT_MIN);
        break;
    case KEY_END: case 'G':
        tui_scroll(st, sh, w, h, INT_MAX);
        break;
    case KEY_LEFT:
        if (st->focus == TUI_OUTPUT) st->out_left = st->out_left > 8 ? st->out_left - 8 : 0;
        else st->focus = TUI_LAYERS;
        break;
    case KEY_RIGHT:
        if (st->focus == TUI_OUTPUT) st->out_left += 8;
        else st->focus = TUI_DETAILS;
        break;
    default:
        if (ch >= 32 && ch < 127)
            snprintf(st->status, sizeof st->status, "'%c' is not a key here: ? lists the keys, : starts a command",
                     ch);
        break;
    }
    return KEY_STAY;
}

/*
** Make curses's size the terminal's.  curses resizes itself on SIGWINCH,
** but after readline exported LINES and COLUMNS it may keep the old size;
** the terminal itself is the authority.
*/
static void fit_terminal(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return;
    if (ws.ws_row != LINES || ws.ws_col != COLS) resizeterm(ws.ws_row, ws.ws_col);
}

static int handle_key(tui_state *st, k2t_shell *sh, int ch)
{
    int h, w;
    getmaxyx(stdscr, h, w);
    if (ch == KEY_RESIZE) {                /* the next frame lays out again */
        fit_terminal();
        return KEY_STAY;
    }
    if (ch == 12) {                        /* Ctrl-L */
        st->status[0] = '\0';
        st->keys = 0;
        clearok(curscr, TRUE);
        return KEY_STAY;
    }
    return tui_key(st, sh, ch, w, h);
}

int tui_key(tui_state *st, k2t_shell *sh, int ch, int w, int h)
{
    st->status[0] = '\0';
    if (st->keys) {                        /* any key closes the help */
        st->keys = 0;
        return KEY_STAY;
    }
    if (st->focus == TUI_CMDLINE) return line_key(st, sh, ch, w, h);
    return pane_key(st, sh, ch, w, h);
}

int tui_key_code(const char **p)
{
    static const struct { const char *name; int code; } names[] = {
        {"<left>", KEY_LEFT}, {"<right>", KEY_RIGHT}, {"<up>", KEY_UP}, {"<down>", KEY_DOWN},
        {"<tab>", '\t'}, {"<enter>", '\n'}, {"<esc>", 27}, {"<pgup>", KEY_PPAGE}, {"<pgdn>", KEY_NPAGE},
        {"<home>", KEY_HOME}, {"<end>", KEY_END},
    };
    const char *s = *p;
    if (!*s) return -1;
    if (*s == '<')
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (!strncmp(s, names[i].name, strlen(names[i].name))) {
                *p = s + strlen(names[i].name);
                return names[i].code;
            }
    *p = s + 1;
    return (unsigned char)*s;
}

/*================================================================ loop */

static int tui_main(k2t_shell *sh, const char *preamble)
{
    if (tui_active) return k2t_error(sh, -1, "tui: already in full-screen mode");
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return k2t_error(sh, -1, "tui: full-screen mode needs a terminal (standard input and output)");

    char *old_locale = k2t_xstrdup(setlocale(LC_CTYPE, NULL));
    setlocale(LC_CTYPE, "");
    fflush(stdout);
    fflush(stderr);
    /* curses reports resizes (KEY_RESIZE) only with its own SIGWINCH
    ** handler, which it installs only over the default one (readline may
    ** have left its own). */
    struct sigaction winch;
    sigaction(SIGWINCH, NULL, &winch);
    set_handler(SIGWINCH, SIG_DFL);
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        sigaction(SIGWINCH, &winch, NULL);
        setlocale(LC_CTYPE, old_locale);
        free(old_locale);
        const char *term = getenv("TERM");
        return k2t_error(sh, -1, "tui: cannot drive the terminal (TERM=%s)", term ? term : "");
    }
    set_term(scr);
    tui_active = 1;
    install_handlers();
    tui_on = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    const char *nc = getenv("NO_COLOR");
    tui_color = has_colors() && !(nc && *nc);
    if (tui_color) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_GREEN, -1);
        init_pair(2, COLOR_RED, -1);
        init_pair(3, COLOR_YELLOW, -1);
        init_pair(4, COLOR_WHITE, COLOR_BLUE);
    }

    const char *save_src = sh->src_name;
    int save_interactive = sh->interactive;
    sh->src_name = NULL;
    sh->interactive = 1;

    tui_state st;
    tui_state_init(&st, sh);
    history_load(&st);
    int hist0 = st.hist.n;
    st.hist_pos = st.hist.n;
    if (preamble && *preamble) tui_out_append(&st, preamble);

    int rc = K2T_CMD_OK, errs = 0;
    for (;;) {
        int h, w;
        getmaxyx(stdscr, h, w);
        tui_fix_scroll(&st, sh, w, h);
        draw(&st, sh);
        int ch = getch();
        if (ch == ERR) {
            if (errno == EINTR || ++errs < 100) continue;
            break;                  /* the terminal is gone */
        }
        errs = 0;
        int r = handle_key(&st, sh, ch);
        if (r == KEY_LEAVE) break;
        if (r == KEY_QUIT) {
            rc = K2T_CMD_QUIT;
            break;
        }
    }

    tui_on = 0;
    endwin();
    restore_handlers();
    delscreen(scr);
    sigaction(SIGWINCH, &winch, NULL);
    setlocale(LC_CTYPE, old_locale);
    free(old_locale);
    tui_active = 0;
    sh->src_name = save_src;
    sh->interactive = save_interactive;
    history_save(&st, hist0);
    tui_state_free(&st);
    return rc;
}

int tui_run(k2t_shell *sh)
{
    return tui_main(sh, NULL);
}

int tui_session(k2t_shell *sh, const char *preamble)
{
    return tui_main(sh, preamble);
}
