/*
** paths.h -- where k2t finds the files a command reads: beside the script
** that is running, in the current directory, then in k2t's data directory
** (the demo model and the lessons, in the source tree or installed).
**
** The rule, for every command that reads a file (load, input, eval,
** compare, source, lesson, classes): an absolute path is taken as it is; a
** relative one is looked up
**
**   1. in the directory of the script that is running (-x, source, lesson),
**   2. in the current directory,
**   3. in the data directory (k2t_data_dir),
**
** and the first that exists wins.  When none exists the path is left as
** typed, so the error names what the user wrote.  Files a command writes
** (save, export, output) go where they are named, relative to the current
** directory: a user expects results where k2t runs.
*/
#ifndef K2T_COMMANDS_PATHS_H
#define K2T_COMMANDS_PATHS_H

#include <stddef.h>
#include "shell.h"

/* k2t's data directory, holding demo/ and lessons/ (or scripts/lessons/):
** $K2T_DATA when set and not empty; else the directory of the executable
** when it is a source tree (it has demo/demo.h5 or scripts/lessons/); else
** <executable>/../share/k2t (an installation); else the compiled-in
** K2T_DATADIR.  NULL when none exists.  Computed once. */
const char *k2t_data_dir(void);

/* The directory holding k2t's lessons (<data>/lessons installed,
** <data>/scripts/lessons in a source tree), or NULL. */
const char *k2t_lessons_dir(void);

/* The file a command should open for reading 'arg' (the rule above):
** 'arg' itself, or a path written into buf.  With buf NULL, a static
** buffer (one of four used in turn: valid until the fourth next call).
** Never NULL for a non-NULL arg. */
const char *k2t_shell_path(const k2t_shell *sh, const char *arg, char *buf, size_t n);

/* Run the lesson 'key' names (a number, a file name, a unique part of the
** names) as "lesson KEY" does (k2t --lesson).  Returns K2T_CMD_*. */
int k2t_lesson_run(k2t_shell *sh, const char *key);

#endif /* K2T_COMMANDS_PATHS_H */
