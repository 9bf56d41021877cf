/*
** registry.c -- the one command table.
**
** commands.def lists K2T_COMMAND(name) once per command, sorted; each
** expands to the k2t_command exported by its family file.  help, complete,
** the dispatcher and the documentation test read this table and nothing
** else, so they cannot drift apart.
*/
#include "shell.h"

#define K2T_COMMAND(name) extern const k2t_command k2t_cmd_##name;
#include "commands.def"
#undef K2T_COMMAND

#define K2T_COMMAND(name) &k2t_cmd_##name,
const k2t_command *const k2t_commands[] = {
#include "commands.def"
    NULL
};
#undef K2T_COMMAND

const int k2t_n_commands = (int)(sizeof k2t_commands / sizeof k2t_commands[0]) - 1;
