/*
** main.c -- k2t's command line: options, then the input loop.
**
**     k2t [OPTIONS] [MODEL]
**
** The order of a run: ~/.k2trc (interactive sessions only), MODEL through
** "load", each -x/-c in the order given, then the terminal (or stdin as a
** script when it is not one).  Everything runs through repl/repl.c; main
** only decides the form of the session and maps the error count to the
** exit status: 0 when no command failed, 1 when one did, 2 for bad usage.
*/
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repl.h"
#include "../commands/paths.h"
#include "tui.h"

static const char usage_text[] =
    "Usage: k2t [OPTIONS] [MODEL]\n"
    "Debug a Keras .h5 model for a PyTorch port, at a prompt or from scripts.\n"
    "\n"
    "Options:\n"
    "  -x FILE            run the commands in FILE (repeatable)\n"
    "  -c CMD             run the command CMD (repeatable)\n"
    "      --lesson N     run lesson N (a number or a name; \"lesson\" at the prompt lists them)\n"
    "  -i, --interactive  read commands from the terminal, also after -x/-c\n"
    "      --batch        never interactive (the default when stdin is not a tty)\n"
    "      --bail         stop at the first failing command\n"
    "      --echo         print each command of a script before running it\n"
    "      --no-init      do not run ~/.k2trc\n"
    "      --tui          full-screen mode: layers, details, output, command line\n"
    "      --help         show this help and exit\n"
    "      --version      show the version and exit\n"
    "\n"
    "MODEL is loaded first, as by \"load MODEL\".  -x and -c run in the order\n"
    "given, then k2t exits unless -i or --tui is given.  Type \"help\" at the\n"
    "prompt for the commands, ? in full-screen mode for the keys.\n"
    "\n"
    "Exit status: 0 if every command succeeded, 1 if one failed, 2 for bad usage.\n";

/* One -x or -c, in command-line order. */
typedef struct action {
    char kind;        /* 'x', 'c' or 'l' (--lesson) */
    const char *arg;  /* file or command (points into argv) */
} action;

static int usage_error(const char *fmt, const char *what)
{
    fputs("k2t: ", stderr);
    fprintf(stderr, fmt, what);
    fputs("\nTry 'k2t --help' for more information.\n", stderr);
    return 2;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/*
** "load PATH" quoted so that the tokenizer gives back exactly PATH: try
** the plain forms first and keep the first that survives k2t_tokenize().
** Returns a malloc'ed line, or NULL when no form does.
*/
static char *load_line(const char *path)
{
    size_t n = strlen(path);
    size_t cap = 8 + 2 * n + 4;
    char *line = k2t_xmalloc(cap);
    char *store = k2t_xmalloc(cap);
    char *argv[4];
    int ofs[4];

    for (int form = 0; form < 4; form++) {
        char *p = line;
        p += sprintf(p, "load ");
        switch (form) {
        case 0:  /* 'PATH' */
            *p++ = '\'';
            memcpy(p, path, n);
            p += n;
            *p++ = '\'';
            break;
        case 1:  /* "PATH" with \ and " escaped */
            *p++ = '"';
            for (const char *s = path; *s; s++) {
                if (*s == '"' || *s == '\\') *p++ = '\\';
                *p++ = *s;
            }
            *p++ = '"';
            break;
        case 2:  /* 'PATH' with \ and ' escaped */
            *p++ = '\'';
            for (const char *s = path; *s; s++) {
                if (*s == '\'' || *s == '\\') *p++ = '\\';
                *p++ = *s;
            }
            *p++ = '\'';
            break;
        default: /* PATH with a backslash before anything unusual */
            for (const char *s = path; *s; s++) {
                if (!strchr("/._-+,:=@%", *s) &&
                    !(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
                    !(*s >= 'A' && *s <= 'Z') && !((unsigned char)*s >= 0x80))
                    *p++ = '\\';
                *p++ = *s;
            }
            break;
        }
        *p = '\0';
        int argc = k2t_tokenize(line, argv, ofs, 4, store);
        if (argc == 2 && strcmp(argv[0], "load") == 0 && strcmp(argv[1], path) == 0) {
            free(store);
            return line;
        }
    }
    free(store);
    free(line);
    return NULL;
}

/* Load MODEL through the dispatcher.  Returns 0, or -1 when it failed
** (the load command has said why). */
static int load_model(k2t_shell *sh, const char *path)
{
    int nerr0 = sh->nerr;
    int save = sh->interactive;
    char *line = load_line(path);
    if (!line) {
        fprintf(sh->err, "error: cannot pass the file name '%s' to load\n", path);
        sh->nerr++;
        return -1;
    }
    sh->interactive = 0;  /* the user did not type this line: no caret */
    int rc = k2t_dispatch(sh, line);
    sh->interactive = save;
    free(line);
    fflush(sh->out);
    if (rc == K2T_CMD_ERR && sh->nerr == nerr0) sh->nerr++;
    return sh->nerr > nerr0 ? -1 : 0;
}

/*
** The demo model a plain "k2t" opens: $K2T_DEMO when set (empty: none),
** else demo/demo.h5 in k2t's data directory (the source tree the binary
** sits in, or <prefix>/share/k2t: commands/paths.h), else demo.h5 there
** (the layout of older installations).  Returns a malloc'ed path, or NULL
** when there is none.
*/
static char *demo_model(void)
{
    const char *env = getenv("K2T_DEMO");
    const char *data = k2t_data_dir();
    struct stat st;
    char path[4200];
    if (env) return *env ? k2t_xstrdup(env) : NULL;
    if (!data) return NULL;
    snprintf(path, sizeof path, "%s/demo/demo.h5", data);
    if (stat(path, &st) == 0) return k2t_xstrdup(path);
    snprintf(path, sizeof path, "%s/demo.h5", data);
    if (stat(path, &st) == 0) return k2t_xstrdup(path);
    return NULL;
}

/* Run ~/.k2trc if it exists.  Returns a K2T_CMD_* code. */
static int run_init_file(k2t_shell *sh)
{
    const char *home = getenv("HOME");
    struct stat st;
    if (!home || !*home) return K2T_CMD_OK;
    size_t n = strlen(home) + sizeof "/.k2trc";
    char *path = k2t_xmalloc(n);
    snprintf(path, n, "%s/.k2trc", home);
    int rc = K2T_CMD_OK;
    if (stat(path, &st) == 0) rc = repl_run_file(sh, path);
    free(path);
    return rc;
}

/* Under an address-space limit (ulimit -v) OpenBLAS may have failed to
** start its threads, and its exit-time shutdown then waits for them
** forever: with such a limit k2t leaves with _exit() once its output is
** flushed.  Without one, the normal exit (and LeakSanitizer) runs. */
static int finish(int status)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        fflush(NULL);
        _exit(status);
    }
    return status;
}

int main(int argc, char **argv)
{
    k2t_blas_single(); /* before OpenBLAS's idle workers spin for a core */
    action *acts = k2t_xcalloc((size_t)argc, sizeof *acts);
    int n_acts = 0;
    const char *model = NULL;
    int form = -1;  /* 1: -i, 0: --batch, -1: decide from stdin */
    int bail = 0, echo = 0, no_init = 0, tui = 0, opts_done = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || a[1] == '\0') {
            if (model) {
                free(acts);
                return usage_error("unexpected argument '%s' (one MODEL at most)", a);
            }
            model = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = 1;
        } else if (a[1] == 'x' || a[1] == 'c') {
            const char *v = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                free(acts);
                return usage_error("option '%s' needs an argument", a);
            }
            acts[n_acts].kind = a[1];
            acts[n_acts++].arg = v;
        } else if (strcmp(a, "--lesson") == 0 || strncmp(a, "--lesson=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v) {
                free(acts);
                return usage_error("option '%s' needs a lesson number or name", "--lesson");
            }
            acts[n_acts].kind = 'l';
            acts[n_acts++].arg = v;
        } else if (strcmp(a, "-i") == 0 || strcmp(a, "--interactive") == 0) {
            form = 1;
        } else if (strcmp(a, "--batch") == 0) {
            form = 0;
        } else if (strcmp(a, "--bail") == 0) {
            bail = 1;
        } else if (strcmp(a, "--echo") == 0) {
            echo = 1;
        } else if (strcmp(a, "--no-init") == 0) {
            no_init = 1;
        } else if (strcmp(a, "--tui") == 0) {
            tui = 1;
        } else if (strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            free(acts);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            puts("k2t " K2T_VERSION);
            free(acts);
            return 0;
        } else {
            free(acts);
            return usage_error("unknown option '%s'", a);
        }
    }
    if (tui && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        free(acts);
        return usage_error("%s needs a terminal (standard input and output)", "--tui");
    }

    int stdin_tty = isatty(STDIN_FILENO) || env_flag("K2T_FAKETTY");
    int interactive = tui || (form >= 0 ? form : (n_acts == 0 && stdin_tty));

    k2t_shell sh;
    k2t_shell_init(&sh);
    sh.run_file = repl_run_file;
    sh.tui = tui_run;
    sh.tui_snapshot = tui_snapshot;
    sh.bail = bail;
    sh.interactive = 0;  /* set only while the terminal is read */
    if (echo) sh.set.echo = 1;
    sh.set.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    repl_install_signals();

    /* --tui: what runs before the screen opens (the init file, MODEL, -x,
    ** -c) is captured and shown in its output pane. */
    char *pre = NULL;
    size_t pre_len = 0;
    FILE *cap = tui ? open_memstream(&pre, &pre_len) : NULL;
    if (cap) sh.out = sh.err = cap;

    int rc = K2T_CMD_OK;
    if (interactive && stdin_tty && !tui)
        printf("k2t %s -- Keras-to-PyTorch port debugger. Type \"help\" for commands.\n",
               K2T_VERSION);
    if (interactive && !no_init) rc = run_init_file(&sh);

    char *demo = NULL;  /* a plain interactive "k2t" opens the demo model */
    if (rc != K2T_CMD_QUIT && !model && n_acts == 0 && interactive && !sh.model)
        model = demo = demo_model();

    if (rc != K2T_CMD_QUIT && model && load_model(&sh, model) != 0 && !interactive) {
        k2t_shell_free(&sh);
        free(acts);
        return finish(1);
    } else if (demo && sh.model) {
        fprintf(sh.out, "no model given: opened the demo model %s (see demo/README.md)\n", demo);
    }
    free(demo);

    for (int i = 0; i < n_acts && rc != K2T_CMD_QUIT; i++) {
        if (acts[i].kind == 'x')
            rc = repl_run_file(&sh, acts[i].arg);
        else if (acts[i].kind == 'l')
            rc = k2t_lesson_run(&sh, acts[i].arg);
        else
            rc = repl_run_string(&sh, acts[i].arg, "-c");
        if (rc == K2T_CMD_ERR && sh.bail) rc = K2T_CMD_QUIT;  /* --bail */
        if (k2t_interrupted) rc = K2T_CMD_QUIT;
    }

    if (cap) {
        fclose(cap);
        sh.out = stdout;
        sh.err = stderr;
    }
    if (tui) {
        if (rc != K2T_CMD_QUIT) tui_session(&sh, pre);
        else if (pre) fputs(pre, stdout);  /* quit before the screen opened */
        free(pre);
    } else if (rc != K2T_CMD_QUIT) {
        if (interactive)
            repl_interactive_loop(&sh);
        else if (n_acts == 0)
            repl_process(&sh, stdin, "<stdin>");
    }

    if (k2t_output_close(&sh) != K2T_CMD_OK) sh.nerr++; /* "output FILE" left open: put it in place */
    int status = sh.nerr > 0 ? 1 : 0;
    k2t_shell_free(&sh);
    free(acts);
    return finish(status);
}
