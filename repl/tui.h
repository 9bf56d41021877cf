/*
** tui.h -- the full-screen mode: a front-end over the same dispatcher.
**
** The screen is four panes (gdb's TUI windows): the layer list grouped by
** stem / block N / head with the execution cursor and the breakpoints
** marked, the selected layer's details, the output of the commands, and a
** command line.  Every change to the model, the input, the cursor or the
** breakpoints goes through k2t_dispatch(); the TUI itself only keeps what
** is on the screen (selection, scroll positions, the output, the line
** being typed) in a tui_state.
**
** Rendering is split from curses: tui_render() fills a w x h character
** grid (and an attribute grid) from the state and the shell, and the
** curses layer in tui.c only copies the grid to the screen.  The hidden
** command "tui-snapshot WxH" prints the same grid in batch mode, so the
** screen is tested with golden transcripts (tests/golden/tui_*.k2t).
*/
#ifndef K2T_REPL_TUI_H
#define K2T_REPL_TUI_H

#include "../commands/shell.h"

/* The panes, in the order Tab visits them. */
typedef enum tui_pane { TUI_LAYERS, TUI_DETAILS, TUI_OUTPUT, TUI_CMDLINE, TUI_N_PANES } tui_pane;

/* Bits of the attribute grid; the curses layer maps them to A_* and
** colour pairs (colour only when the terminal has it and NO_COLOR is unset). */
enum {
    TUI_A_BOLD    = 1 << 0,
    TUI_A_REVERSE = 1 << 1, /* the selected layer */
    TUI_A_DIM     = 1 << 2, /* hints, layers not run yet */
    TUI_A_BORDER  = 1 << 3, /* a box line: drawn with line characters */
    TUI_A_CURSOR  = 1 << 4, /* the execution cursor "=>" (green) */
    TUI_A_BREAK   = 1 << 5, /* a breakpoint "B" (red) */
    TUI_A_WARN    = 1 << 6, /* flagged weights, mismatches, errors (yellow) */
    TUI_A_TITLE   = 1 << 7, /* the title bar and the key bar (reverse) */
};

/* A growable list of malloc'ed lines. */
typedef struct tui_lines {
    char **v;
    int n, cap;
} tui_lines;

/* What the screen shows; everything else is in the shell. */
typedef struct tui_state {
    const k2t_model *model;  /* the model 'sel' and the scrolls refer to (not owned) */
    int sel;                 /* selected: node index (layer index without a graph) */
    tui_pane focus;          /* the pane keys go to */
    tui_pane back;           /* where focus returns after a ':' or '/' line */
    int list_top;            /* first row of the layer list shown */
    int details_top;         /* first line of the details shown */
    tui_lines out;           /* the output pane's lines (owned) */
    int out_top;             /* first output line shown (unless following) */
    int out_follow;          /* show the end of the output */
    int out_left;            /* columns the output is scrolled to the right */
    char line[1024];         /* the command line being typed */
    int line_len, line_pos;  /* its length and the cursor in it */
    char line_kind;          /* ':' a command, '/' a layer search */
    int line_oneshot;        /* entered with ':' or '/': Enter or Esc returns to 'back' */
    tui_lines hist;          /* command history, oldest first (owned) */
    int hist_pos;            /* the entry shown while browsing; hist.n: the new line */
    char hist_saved[1024];   /* the new line, kept while browsing the history */
    char search[128];        /* the last search, repeated by an empty '/' */
    char status[256];        /* a message on the key bar until the next key */
    int keys;                /* the key help is open */
} tui_state;

/* A pane on the screen (gdb's tui_win_info): its box and how it draws and
** scrolls.  tui_layout() fills one per pane for a w x h screen. */
typedef struct tui_grid tui_grid;
typedef struct tui_win {
    tui_pane id;
    int y, x, h, w;          /* the box, border included (h == 1: no border) */
    /* Draw the pane into the grid. */
    void (*draw)(const struct tui_win *win, const tui_state *st, k2t_shell *sh, tui_grid *g);
    /* Scroll (or move the selection) by delta lines; INT_MIN / INT_MAX go to
    ** the start / the end. */
    void (*scroll)(const struct tui_win *win, tui_state *st, k2t_shell *sh, int delta);
} tui_win;

/*------------------------------------------------------ state (tui_render.c) */

/* A fresh state for the shell: the selection on the layer that ran last
** (or the first), focus on the layer list, empty output. */
void tui_state_init(tui_state *st, k2t_shell *sh);
void tui_state_free(tui_state *st);

/* After a command: a new model resets the selection and scrolls; a moved
** cursor selects the layer that ran last.  'cursor0' and 'run0' are the
** cursor and the run before the command. */
void tui_sync(tui_state *st, k2t_shell *sh, int cursor0, const void *run0);

/* The cursor that holds: 0 without a run, n_nodes at the end. */
int tui_cursor_of(const k2t_shell *sh);

/* Append command output: split into lines, ANSI escapes removed, tabs
** expanded, '\r' starting the line over.  The output follows its end. */
void tui_out_append(tui_state *st, const char *text);

/* The panes' boxes for a w x h screen (the output pane grows while it has
** the focus).  Returns 0, or -1 when the screen is too small for panes. */
int tui_layout(const tui_state *st, int w, int h, tui_win wins[TUI_N_PANES]);

/* Make the selection visible in the layer list and clamp every scroll. */
void tui_fix_scroll(tui_state *st, k2t_shell *sh, int w, int h);

/* Scroll the focused pane by delta lines (INT_MIN/INT_MAX: start/end);
** tui_page() is a page of it. */
void tui_scroll(tui_state *st, k2t_shell *sh, int w, int h, int delta);
int tui_page(const tui_state *st, int w, int h);

/* Select node (or layer) i and reset the details' scroll. */
void tui_select(tui_state *st, k2t_shell *sh, int i);

/* Index of the first layer after the selection (wrapping) whose name
** contains 'text' (case-insensitive), or -1. */
int tui_search(const tui_state *st, k2t_shell *sh, const char *text);

/* The 1-based number of the block "b" steps through: the selected layer's
** block unless it already ran, else the next block after the selection
** (or the cursor).  0 when there is none; *why then says why. */
int tui_block_to_step(const tui_state *st, k2t_shell *sh, char *why, size_t n);

/*
** Fill grid (w*h chars, rows one after another, no terminators) and, when
** not NULL, attr (w*h TUI_A_* bits) with the screen for st and sh.  Every
** cell is written; only printable ASCII goes into the grid.  Returns 0.
*/
int tui_render(const tui_state *st, k2t_shell *sh, char *grid, unsigned char *attr, int w, int h);

/* Where the terminal cursor goes (the command line), or 0 to hide it. */
int tui_cursor_pos(const tui_state *st, int w, int h, int *y, int *x);

/* The tui-snapshot hook: print tui_render's grid for a fresh state with
** node 'node' selected (-1: default) and the key help open when 'keys',
** one row a line with trailing blanks removed. */
int tui_snapshot(k2t_shell *sh, int w, int h, int node, int keys);

/*------------------------------------------------- the divergence column */

/* The per-layer max |a-b| between Keras's semantics and the current
** settings, as diff computes it, for the column beside the layer list
** (tui_diverge.c).  Shown once a diff has run in the session
** ($first_divergence is set); computed for the current model, input and
** settings, and cached until one of them changes, so it is never stale.
** NULL when there is nothing to show (no diff yet, no input, no graph, or
** the runs fail: then silently). */
typedef struct tui_diverge tui_diverge;
const tui_diverge *tui_diverge_get(k2t_shell *sh);
/* Node i's cell, w characters (w >= 3) into buf (NUL-terminated): a bar
** of '=' (within the tolerance) or '#' (beyond it) on the log scale the
** whole model shares, '<' after the first divergence's bar.  Returns
** TUI_A_* bits for the cell (TUI_A_WARN beyond the tolerance). */
unsigned char tui_diverge_cell(const tui_diverge *dv, int node, char *buf, int w);

/*------------------------------------------------------- curses (tui.c) */

/* What a key does to the loop. */
enum { TUI_KEY_STAY, TUI_KEY_LEAVE, TUI_KEY_QUIT };

/* Press key ch (a character or a curses KEY_* code) on a w x h screen:
** what the full-screen mode does with it, minus the terminal itself
** (resize, Ctrl-L).  Returns TUI_KEY_*.  Works without curses running
** (tui-snapshot --press): commands run as usual, nothing is drawn. */
int tui_key(tui_state *st, k2t_shell *sh, int ch, int w, int h);
/* The next key of a --press string: a character, or <left> <right> <up>
** <down> <tab> <enter> <esc> <pgup> <pgdn> <home> <end>; advances *p.
** -1 at the end. */
int tui_key_code(const char **p);

/* The tui hook: run the full-screen mode until q (returns K2T_CMD_OK) or
** "quit" (K2T_CMD_QUIT).  Refused without a terminal, or when already in it. */
int tui_run(k2t_shell *sh);

/* The same for "k2t --tui": 'preamble' (may be NULL) is the output of what
** ran before (the init file, loading MODEL, -x and -c), shown first. */
int tui_session(k2t_shell *sh, const char *preamble);

#endif /* K2T_REPL_TUI_H */
