/*
** script.c -- the shell's own commands: help, source, echo, complete, quit.
*/
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "shell.h"
#include "paths.h" /* k2t_shell_path: files relative to the running script */

static int cmd_help(k2t_shell *sh, int argc, char **argv)
{
    if (argc == 1) {
        int w = 0;
        for (int i = 0; i < k2t_n_commands; i++) {
            int l = (int)strlen(k2t_commands[i]->name);
            if (!(k2t_commands[i]->flags & K2T_HIDDEN) && l > w) w = l;
        }
        k2t_table t;
        k2t_table_init(&t, sh, 2);
        t.hide_head = 1;
        k2t_table_col(&t, 0, "command", K2T_COL_FIXED, w, 0);
        k2t_table_col(&t, 1, "summary", 0, 0, 20);
        for (int i = 0; i < k2t_n_commands; i++) {
            const k2t_command *c = k2t_commands[i];
            if (c->flags & K2T_HIDDEN) continue;
            char name[80];
            snprintf(name, sizeof name, "%s%s%s", k2t_c_bold(sh), c->name, k2t_c_off(sh));
            const char *cells[2] = {name, c->summary};
            k2t_table_row(&t, cells);
        }
        k2t_table_print(&t);
        if (!k2t_format_table(sh)) return K2T_CMD_OK;
        char tail[200];
        snprintf(tail, sizeof tail, "%s\"help COMMAND\" shows a command's usage and details; "
                 "commands may be shortened to a unique prefix.%s", k2t_c_dim(sh), k2t_c_off(sh));
        k2t_print_wrapped(sh, tail, 0, 0, 0);
        return K2T_CMD_OK;
    }
    char why[512];
    const k2t_command *c = k2t_command_find(argv[1], why, sizeof why);
    if (!c) return k2t_error(sh, 1, "help: %s", why);
    k2t_printf(sh, "usage: %s\n%s\n", c->usage, c->summary);
    if (c->help && c->help[0]) k2t_printf(sh, "\n%s\n", c->help);
    if (c->aliases) k2t_printf(sh, "\naliases: %s\n", c->aliases);
    return K2T_CMD_OK;
}

static void complete_help(k2t_shell *sh, int argi, char **argv, const char *prefix,
                          k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi != 1) return;
    for (int i = 0; i < k2t_n_commands; i++)
        if (!(k2t_commands[i]->flags & K2T_HIDDEN) &&
            strncmp(k2t_commands[i]->name, prefix, strlen(prefix)) == 0)
            k2t_strlist_add(out, k2t_commands[i]->name);
}

static int cmd_source(k2t_shell *sh, int argc, char **argv)
{
    (void)argc;
    if (!sh->run_file) return k2t_error(sh, -1, "source: scripts cannot be run here");
    return sh->run_file(sh, k2t_shell_path(sh, argv[1], NULL, 0));
}

static void complete_file_k2t(k2t_shell *sh, int argi, char **argv, const char *prefix,
                              k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi == 1) k2t_complete_files(prefix, ".k2t", out);
}

static int cmd_echo(k2t_shell *sh, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) k2t_printf(sh, "%s%s", i > 1 ? " " : "", argv[i]);
    k2t_printf(sh, "\n");
    return K2T_CMD_OK;
}

/* A lesson's pause: at a terminal (stdin and stdout both), wait for Enter;
** in scripts run by tests, pipes and CI, do nothing. */
static int cmd_pause(k2t_shell *sh, int argc, char **argv)
{
    if (!isatty(0) || !isatty(1) || sh->out != stdout || getenv("K2T_NO_PAUSE")) return K2T_CMD_OK;
    for (int i = 1; i < argc; i++) k2t_printf(sh, "%s%s", i > 1 ? " " : "", argv[i]);
    k2t_printf(sh, "%s%s(Enter to go on)%s ", argc > 1 ? " " : "", k2t_c_dim(sh), k2t_c_off(sh));
    k2t_flush(sh);
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
    }
    return K2T_CMD_OK;
}

static int cmd_complete(k2t_shell *sh, int argc, char **argv)
{
    /* Complete the raw rest of the line, quotes and trailing blanks kept. */
    (void)argv;
    const char *rest = argc > 1 ? sh->line + sh->arg_ofs[1] : "";
    k2t_strlist l = {0};
    k2t_complete(sh, rest, (int)strlen(rest), &l);
    for (int i = 0; i < l.n; i++) k2t_printf(sh, "%s\n", l.v[i]);
    k2t_strlist_free(&l);
    return K2T_CMD_OK;
}

static int cmd_quit(k2t_shell *sh, int argc, char **argv)
{
    (void)sh, (void)argc, (void)argv;
    return K2T_CMD_QUIT;
}

const k2t_command k2t_cmd_help = {
    .name = "help", .aliases = "h", .group = "script", .min_args = 0, .max_args = 1,
    .usage = "help [COMMAND]",
    .summary = "List the commands, or show one command's usage and details.",
    .help = "Every command is listed with a one-sentence summary; \"help COMMAND\" adds\n"
            "its usage line and what it does in detail.",
    .complete = complete_help, .fn = cmd_help,
};

const k2t_command k2t_cmd_source = {
    .name = "source", .group = "script", .min_args = 1, .max_args = 1,
    .usage = "source FILE.k2t",
    .summary = "Run the commands in a script file.",
    .help = "One command per line; '#' starts a comment; blank lines are ignored.\n"
            "Scripts may source other scripts, 16 deep at most.  Errors name FILE:LINE.\n"
            "With --bail, the first failing command stops the script.",
    .complete = complete_file_k2t, .fn = cmd_source,
};

const k2t_command k2t_cmd_echo = {
    .name = "echo", .group = "script", .min_args = 0, .max_args = -1,
    .usage = "echo TEXT...",
    .summary = "Print a line of text (scripts and lessons narrate with it).",
    .fn = cmd_echo,
};

const k2t_command k2t_cmd_pause = {
    .name = "pause", .group = "script", .min_args = 0, .max_args = -1,
    .usage = "pause [TEXT...]",
    .summary = "Wait for Enter at a terminal (lessons pause with it); do nothing in scripts run elsewhere.",
    .help = "Prints TEXT and waits for Enter when both stdin and stdout are a terminal; in tests,\n"
            "pipes and CI it does nothing, so a lesson runs straight through there.\n"
            "K2T_NO_PAUSE set in the environment turns it off everywhere.",
    .fn = cmd_pause,
};

const k2t_command k2t_cmd_complete = {
    .name = "complete", .group = "script", .min_args = 0, .max_args = -1,
    .usage = "complete LINE",
    .summary = "Print the completions TAB would offer for LINE, one per line.",
    .help = "The same completion the interactive shell uses: commands, settings, layer\n"
            "names and file names.  A trailing space asks for the next word.",
    .fn = cmd_complete,
};

const k2t_command k2t_cmd_quit = {
    .name = "quit", .aliases = "exit", .group = "script", .min_args = 0, .max_args = 0,
    .usage = "quit",
    .summary = "Leave k2t.",
    .fn = cmd_quit,
};
