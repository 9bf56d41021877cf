/*
** repl.h -- the input loop: terminal, scripts (-x, source, ~/.k2trc), -c.
**
** One loop, repl_process(), reads lines from a FILE and hands each to
** k2t_dispatch(); every way of feeding k2t commands goes through it, so
** line counting, --echo, interrupts and the --bail policy live in one
** place.  All functions return a K2T_CMD_* code (commands/shell.h):
**
**   K2T_CMD_OK    every command succeeded
**   K2T_CMD_ERR   at least one command failed (each failure was reported
**                 by k2t_error and counted in sh->nerr), the input could
**                 not be read, or a script was stopped by Ctrl-C
**   K2T_CMD_QUIT  'quit' was run: the caller stops too, up to main
*/
#ifndef K2T_REPL_REPL_H
#define K2T_REPL_REPL_H

#include <stdio.h>
#include "../commands/shell.h"

/* Run every line of 'in' as a command.  When sh->interactive is set and
** 'in' is stdin this is the terminal: prompt "k2t> ", readline (when stdin
** really is a tty), history, Ctrl-C clears the line, Ctrl-D quits, errors
** never stop the loop.  Otherwise 'in' is a script named 'name' (used in
** error locations): sh->interactive is cleared, sh->depth raised, and with
** sh->bail the first failing command ends it.  sh->src_name, src_line,
** depth and interactive are restored on return.  Does not close 'in'. */
int repl_process(k2t_shell *sh, FILE *in, const char *name);

/* Run the script at 'path' (the -x option, ~/.k2trc, and sh->run_file for
** the 'source' command).  A file that cannot be opened, or nesting deeper
** than K2T_MAX_DEPTH, is reported through k2t_error at the caller's
** location and returns K2T_CMD_ERR. */
int repl_run_file(k2t_shell *sh, const char *path);

/* Run 'text' (one command, or several separated by newlines) as a script
** named 'name' (the -c option uses "-c"). */
int repl_run_string(k2t_shell *sh, const char *text, const char *name);

/* The interactive session on stdin: sets up readline and completion
** (through k2t_complete), reads ~/.k2t_history, runs repl_process() with
** sh->interactive set, then appends the session's lines to the history
** file.  Without HOME there is no history. */
int repl_interactive_loop(k2t_shell *sh);

/* Install the SIGINT handler: it sets k2t_interrupted, which the engine
** polls during long runs; a third Ctrl-C before the flag is cleared exits
** with status 130. */
void repl_install_signals(void);

#endif /* K2T_REPL_REPL_H */
