/*
** tui.c -- the full-screen mode's commands: tui, and the hidden
** tui-snapshot that prints the screen in batch mode.
**
** Both go through hooks in k2t_shell that repl/ fills (repl/tui.c and
** repl/tui_render.c): commands/ never calls into repl/ directly, and a
** shell without a front-end (the unit tests) refuses them with a message.
*/
#include <stdlib.h>
#include <string.h>
#include "shell.h"
#include "snapshot.h"

const char *k2t_snapshot_press;

static int cmd_tui(k2t_shell *sh, int argc, char **argv)
{
    (void)argc, (void)argv;
    if (!sh->tui) return k2t_error(sh, -1, "tui: full-screen mode is not available here");
    return sh->tui(sh);
}

/* "80x24" -> 80, 24.  Returns 0, or -1 when it is not WxH in range. */
static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X')) return -1;
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (end == p || *end) return -1;
    if (a < 20 || a > 1000 || b < 5 || b > 1000) return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static int cmd_tui_snapshot(k2t_shell *sh, int argc, char **argv)
{
    int w, h, node = -1, keys = 0;
    const char *press = NULL;
    if (parse_size(argv[1], &w, &h) != 0)
        return k2t_error(sh, 1, "tui-snapshot: expected a size WxH from 20x5 to 1000x1000, got '%s'", argv[1]);
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--keys")) {
            keys = 1;
            continue;
        }
        if (!strcmp(argv[a], "--press")) {
            if (a + 1 >= argc) return k2t_error(sh, a, "tui-snapshot: --press needs the keys (\"jjB\", \"<right>\")");
            press = argv[++a];
            continue;
        }
        if (node >= 0) return k2t_error(sh, a, "tui-snapshot: one LAYER at most, got '%s'", argv[a]);
        if (!sh->model) return k2t_error(sh, a, "tui-snapshot: no model loaded to select '%s' in", argv[a]);
        const k2t_model *m = sh->model;
        int graph = m->has_arch && m->n_nodes > 0;
        node = graph ? k2t_find_node(m, argv[a]) : -1;
        if (node < 0) {
            int li = k2t_arg_layer(sh, a, argv[a]);
            if (li < 0) return K2T_CMD_ERR;
            node = li;
            if (graph)
                for (int i = m->n_nodes - 1; i >= 0; i--)
                    if (m->nodes[i].layer == li) node = i;  /* its first call */
        }
    }
    if (!sh->tui_snapshot) return k2t_error(sh, -1, "tui-snapshot: full-screen mode is not available here");
    k2t_snapshot_press = press;
    int rc = sh->tui_snapshot(sh, w, h, node, keys);
    k2t_snapshot_press = NULL;
    return rc;
}

static void complete_tui_snapshot(k2t_shell *sh, int argi, char **argv, const char *prefix, k2t_strlist *out)
{
    (void)argv;
    if (argi == 1) k2t_complete_words("80x24 120x40", prefix, out);
    else {
        k2t_complete_words("--keys --press", prefix, out);
        k2t_complete_layers(sh, prefix, out);
    }
}

const k2t_command k2t_cmd_tui = {
    .name = "tui", .group = "ui", .min_args = 0, .max_args = 0,
    .usage = "tui",
    .summary = "Enter full-screen mode: layers, the selected layer's details, command output and a command line.",
    .help = "The layer list is grouped by stem, residual block and head, with \"=>\" on the next\n"
            "layer to run and \"B\" on the layers a breakpoint stops before.  The details pane\n"
            "shows the selected layer's config, shapes, residual operands, activation and weight\n"
            "statistics with histograms.  Keys: n step, b step block, c continue, r run, d diff,\n"
            "B toggles a breakpoint on the selected layer, / find, : command line (every command\n"
            "works there), Tab next pane, Left/Right scroll the output sideways, ? help.  q (and\n"
            "\":q\") always means back to the prompt; \"quit\" leaves k2t.  After a diff, the layer\n"
            "list shows each layer's max |a-b| as a bar on a log scale (# beyond the tolerance).\n"
            "\"k2t --tui MODEL\" starts in it.",
    .fn = cmd_tui,
};

const k2t_command k2t_cmd_tui_snapshot = {
    .name = "tui-snapshot", .group = "ui", .min_args = 1, .max_args = 5, .flags = K2T_HIDDEN,
    .usage = "tui-snapshot WxH [LAYER] [--keys] [--press KEYS]",
    .summary = "Print the full-screen mode's screen for the current state as text (for tests).",
    .help = "The screen a terminal of W columns and H rows would show, LAYER selected (default:\n"
            "the layer that ran last), with the key help open under --keys.  --press KEYS presses\n"
            "the keys first, as in the full-screen mode (they act on the shell: a breakpoint set by\n"
            "B stays): characters, and <left> <right> <up> <down> <tab> <enter> <esc> <pgup> <pgdn>\n"
            "<home> <end>.",
    .complete = complete_tui_snapshot, .fn = cmd_tui_snapshot,
};
