/*
** plot.h -- what the plot command computes, for the full-screen mode's
** divergence column (repl/tui_diverge.c).
*/
#ifndef K2T_COMMANDS_PLOT_H
#define K2T_COMMANDS_PLOT_H

#include "shell.h"
#include "../engine/plot.h"

/* The current input run under Keras's semantics and under the current
** settings, compared node by node as diff does: *out (m->n_nodes
** entries, malloc'ed, the caller frees) and *first (the first failing
** node, or -1).  Errors are reported as "plot diff: ...".  K2T_CMD_*. */
int k2t_plot_layer_diffs(k2t_shell *sh, k2t_layer_diff **out, int *first);

#endif
