/*
** repl.c -- the one input loop behind the terminal, scripts and -c.
**
** repl_process() is SQLite's process_input(): it reads a line, counts it,
** echoes it under --echo, clears the interrupt flag and hands it to
** k2t_dispatch().  The terminal, -x FILE, 'source FILE', ~/.k2trc and -c
** all come through it, so the --bail policy is the single loop condition
** below and nowhere else.  Nested scripts recurse through repl_run_file()
** (the shell's run_file hook) with the location saved and restored.
**
** GNU Readline sits behind the repl_readline/repl_add_history macros (as
** in lua.c); compiled with K2T_NO_READLINE, a getline() prompt and a
** plain history file take its place.  Readline is used only when stdin
** really is a terminal: under K2T_FAKETTY or -i on a pipe the prompt is
** printed and lines are read with getline(), so tests see plain text.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "repl.h"

#define REPL_PROMPT "k2t> "
#define REPL_HISTORY_FILE ".k2t_history"
#define REPL_HISTORY_MAX 1000   /* lines kept in the history file */

static char *plain_readline(const char *prompt);

#ifndef K2T_NO_READLINE
# include <readline/readline.h>
# include <readline/history.h>
# define repl_readline(prompt)   readline(prompt)
# define repl_add_history(line)  add_history(line)
#else
# define repl_readline(prompt)   plain_readline(prompt)
# define repl_add_history(line)  plain_add_history(line)
static void plain_add_history(const char *line);
#endif

/* The shell readline's completion callback works on: set while
** repl_interactive_loop() runs.  SIGINT needs no pointer (it only sets
** k2t_interrupted). */
static k2t_shell *repl_sh;

/* Ctrl-C presses since the flag was last cleared: a third one while a
** command ignores the flag ends k2t (SQLite does the same). */
static volatile sig_atomic_t n_sigint;

/*============================================================ signals */

static void on_sigint(int sig)
{
    (void)sig;
    k2t_interrupted = 1;
    if (++n_sigint >= 3) {
        static const char msg[] = "\nk2t: interrupted\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
}

static void clear_interrupt(void)
{
    k2t_interrupted = 0;
    n_sigint = 0;
}

/*
** No SA_RESTART: a read blocked at the prompt or in a script returns
** EINTR, so the loop sees the interrupt at once.
*/
void repl_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    /* Past a file size limit (ulimit -f) a write fails with EFBIG and the
    ** writer keeps the original file, instead of the process dying with a
    ** half-written temporary file left behind. */
    signal(SIGXFSZ, SIG_IGN);
}

/*============================================================ reading */

/*
** The prompt without readline: print it, read one line with getline().
** Ctrl-C drops the partial line and prompts again.  Returns a malloc'ed
** line without its newline, or NULL at end of input.
*/
static char *plain_readline(const char *prompt)
{
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (prompt) {
            fputs(prompt, stdout);
            fflush(stdout);
        }
        errno = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n >= 0) {
            if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
            return line;
        }
        if (errno == EINTR) {
            clearerr(stdin);
            fputc('\n', stdout);
            clear_interrupt();
            continue;
        }
        free(line);
        return NULL;
    }
}

/*
** One line of a script into *buf.  Returns the line (without "\n" or
** "\r\n"), or NULL at end of file, on a read error (*err = errno) or when
** Ctrl-C interrupted the read (*err = 0, k2t_interrupted set).
*/
/* Longest script line: 'source /dev/zero' must not grow without bound. */
#define REPL_MAX_LINE (1 << 20)

/* One line of a script without its newline (and '\r'), in *buf; NULL at
** end of file, or with *err set: an errno, or -1 for a line longer than
** REPL_MAX_LINE bytes. */
static char *script_line(FILE *in, char **buf, size_t *cap, int *err)
{
    size_t n = 0;
    *err = 0;
    for (;;) {
        if (n + 2 > *cap) {
            if (n >= REPL_MAX_LINE) {
                *err = -1;
                return NULL;
            }
            *cap = *cap ? *cap * 2 : 256;
            *buf = k2t_xrealloc(*buf, *cap);
        }
        errno = 0;
        int c = getc(in);
        if (c == EOF) {
            if (ferror(in)) {
                if (errno == EINTR) {
                    clearerr(in);
                    if (k2t_interrupted) return NULL;
                    continue;                    /* some other signal */
                }
                *err = errno ? errno : EIO;
                return NULL;
            }
            if (n == 0) return NULL;             /* end of file */
            break;
        }
        if (c == '\n') break;
        (*buf)[n++] = (char)c;
    }
    (*buf)[n] = '\0';
    if (n > 0 && (*buf)[n - 1] == '\r') (*buf)[--n] = '\0';
    return *buf;
}

static int is_blank(const char *line)
{
    while (*line == ' ' || *line == '\t') line++;
    return *line == '\0';
}

/* True when the line is neither blank nor a '#' comment. */
static int is_command(const char *line)
{
    while (*line == ' ' || *line == '\t') line++;
    return *line != '\0' && *line != '#';
}

/*============================================================ history */

#ifdef K2T_NO_READLINE
/* Lines typed this session, appended to the history file at exit. */
static char **hist_v;
static int hist_n, hist_cap;

static void plain_add_history(const char *line)
{
    if (hist_n == hist_cap) {
        hist_cap = hist_cap ? 2 * hist_cap : 64;
        hist_v = k2t_xrealloc(hist_v, (size_t)hist_cap * sizeof *hist_v);
    }
    hist_v[hist_n++] = k2t_xstrdup(line);
}
#else
static int hist_added;  /* entries added this session */
#endif

/* The last line put in the history, to skip immediate repeats. */
static char *hist_last;

/* Add a typed line to the history, without trailing blanks (TAB leaves
** one after a completed word); blank lines and repeats are skipped. */
static void history_add(const char *line)
{
    if (is_blank(line)) return;
    char *l = k2t_xstrdup(line);
    size_t n = strlen(l);
    while (n > 1 && (l[n - 1] == ' ' || l[n - 1] == '\t') && l[n - 2] != '\\')
        l[--n] = '\0';
    if (hist_last && strcmp(hist_last, l) == 0) {
        free(l);
        return;
    }
    repl_add_history(l);
#ifndef K2T_NO_READLINE
    hist_added++;
#endif
    free(hist_last);
    hist_last = l;
}

/* "$HOME/.k2t_history" (malloc'ed), or NULL when HOME is unset or empty. */
static char *history_path(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    size_t n = strlen(home) + sizeof REPL_HISTORY_FILE + 1;
    char *p = k2t_xmalloc(n);
    snprintf(p, n, "%s/%s", home, REPL_HISTORY_FILE);
    return p;
}

static void history_load(const char *path)
{
#ifndef K2T_NO_READLINE
    stifle_history(REPL_HISTORY_MAX);
    read_history(path);  /* a missing file is fine */
#else
    (void)path;
#endif
}

/* Append this session's lines to 'path' (creating it, mode 0600), then
** keep only the last REPL_HISTORY_MAX lines. */
static void history_save(const char *path)
{
#ifndef K2T_NO_READLINE
    if (hist_added > 0) {
        int n = hist_added < history_length ? hist_added : history_length;
        if (access(path, F_OK) != 0)
            write_history(path);
        else
            append_history(n, path);
        history_truncate_file(path, REPL_HISTORY_MAX);
    }
    hist_added = 0;
#else
    if (hist_n > 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
        if (f) {
            for (int i = 0; i < hist_n; i++) fprintf(f, "%s\n", hist_v[i]);
            fclose(f);
        } else if (fd >= 0) {
            close(fd);
        }
    }
    for (int i = 0; i < hist_n; i++) free(hist_v[i]);
    free(hist_v);
    hist_v = NULL;
    hist_n = hist_cap = 0;
#endif
    free(hist_last);
    hist_last = NULL;
}

/*========================================================= completion */

#ifndef K2T_NO_READLINE
static k2t_strlist rl_cands;  /* candidates of the completion under way */

static char *complete_next(const char *text, int state)
{
    static int i;
    (void)text;
    if (state == 0) i = 0;
    return i < rl_cands.n ? strdup(rl_cands.v[i++]) : NULL;
}

/*
** Readline's hook: every candidate comes from k2t_complete(), which sees
** the whole line and the cursor.  A candidate that is a directory ("dir/")
** or an existing file turns on readline's file name handling (it adds the
** '/' after a directory instead of a space, lists basenames, quotes).
*/
static char **complete_cb(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;  /* never fall back to readline's own */
    k2t_strlist_free(&rl_cands);
    memset(&rl_cands, 0, sizeof rl_cands);
    k2t_complete(repl_sh, rl_line_buffer, rl_point, &rl_cands);
    if (rl_cands.n == 0) return NULL;
    for (int i = 0; i < rl_cands.n; i++) {
        char *c = rl_cands.v[i];
        size_t n = strlen(c);
        struct stat st;
        if ((n > 0 && c[n - 1] == '/') || stat(c, &st) == 0)
            rl_filename_completion_desired = 1;
        /* Readline marks directories itself: "dir/" would show as "dir//". */
        if (n > 1 && c[n - 1] == '/' && stat(c, &st) == 0 && S_ISDIR(st.st_mode))
            c[n - 1] = '\0';
    }
    if (rl_cands.n == 1) {
        const char *c = rl_cands.v[0];
        size_t n = strlen(c);
        if (n > 0 && (c[n - 1] == '/' || c[n - 1] == '='))
            rl_completion_append_character = '\0';
    }
    return rl_completion_matches(text, complete_next);
}

/*
** Called by readline when a read at the prompt was interrupted by a
** signal (outside the handler, so readline calls are safe): after Ctrl-C,
** drop the line and show a fresh prompt.
*/
static int on_rl_signal(void)
{
    if (k2t_interrupted) {
        clear_interrupt();
        rl_free_line_state();
        rl_echo_signal_char(SIGINT);
        rl_replace_line("", 1);
        rl_crlf();
        rl_on_new_line();
        rl_redisplay();
    }
    return 0;
}

/* File names go into the line with a backslash before each special
** character, which k2t_tokenize() undoes outside quotes. */
static char *quote_filename(char *text, int match_type, char *quote_char)
{
    (void)match_type;
    if (quote_char && *quote_char) return strdup(text);  /* inside quotes */
    char *q = k2t_xmalloc(2 * strlen(text) + 1), *o = q;
    for (const char *p = text; *p; p++) {
        if (strchr(rl_filename_quote_characters, *p)) *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    return q;
}

/* Readline asks whether line[i] is escaped, to find where a word starts. */
static int char_is_quoted(char *line, int i)
{
    int n = 0;
    while (i - n > 0 && line[i - n - 1] == '\\') n++;
    return n % 2;
}

static void readline_setup(k2t_shell *sh)
{
    repl_sh = sh;
    rl_readline_name = "k2t";  /* for $if k2t in ~/.inputrc */
    rl_attempted_completion_function = complete_cb;
    rl_completer_word_break_characters = " \t";
    rl_completer_quote_characters = "'\"";
    rl_filename_quote_characters = " \t'\"\\#";
    rl_filename_quoting_function = quote_filename;
    rl_char_is_quoted_p = char_is_quoted;
    rl_signal_event_hook = on_rl_signal;
}
#endif

/*========================================================== the loop */

/* Keep 'line' as the command Enter repeats when it is a step or a next
** (with its count); any other command stops the repeating. */
static void remember_repeat(char *repeat, size_t n, const char *line)
{
    const char *p = line + strspn(line, " \t");
    size_t w = strcspn(p, " \t");
    int stepping = (w == 1 && (*p == 's' || *p == 'n')) || (w == 4 && (!strncmp(p, "step", 4) || !strncmp(p, "next", 4)));
    if (stepping && strlen(p) < n) snprintf(repeat, n, "%s", p);
    else repeat[0] = '\0';
}

/*
** Run one line.  Returns K2T_CMD_*; a command that failed is counted in
** sh->nerr even if it forgot to report (the exit status relies on it).
*/
static int run_line(k2t_shell *sh, const char *line, int echo)
{
    int nerr0 = sh->nerr;
    if (echo && sh->set.echo && is_command(line)) {
        fprintf(sh->out, "%s%s\n", REPL_PROMPT, line);
        fflush(sh->out);
    }
    clear_interrupt();
    int rc = k2t_dispatch(sh, line);
    fflush(sh->out);
    fflush(sh->err);
    if (rc == K2T_CMD_ERR && sh->nerr == nerr0) sh->nerr++;
    if (rc == K2T_CMD_QUIT) return rc;
    return sh->nerr > nerr0 ? K2T_CMD_ERR : K2T_CMD_OK;
}

int repl_process(k2t_shell *sh, FILE *in, const char *name)
{
    const char *save_name = sh->src_name;
    int save_line = sh->src_line, save_depth = sh->depth;
    int save_interactive = sh->interactive;
    int tty = sh->interactive && in == stdin;
    int use_rl = 0;
    int nfail = 0, stopped = 0, rc = K2T_CMD_OK;
    char *buf = NULL;
    size_t cap = 0;

#ifndef K2T_NO_READLINE
    use_rl = tty && isatty(fileno(in));
#endif
    if (!tty) {
        sh->interactive = 0;
        sh->depth++;
    }
    sh->src_name = tty ? NULL : name;
    sh->src_line = 0;

    /* The whole --bail policy: a person at the terminal is never stopped. */
    char repeat[64] = "";    /* the step or next that Enter repeats at the terminal */
    while (nfail == 0 || !sh->bail || sh->interactive) {
        char *line;
        int err = 0;
        if (tty) {
            clear_interrupt();
            char prompt[80];
            k2t_shell_prompt(sh, prompt, sizeof prompt); /* k2t[torch-naive]> under a port's conventions */
            line = use_rl ? repl_readline(prompt) : plain_readline(prompt);
            if (!line) {                 /* Ctrl-D */
                fputc('\n', stdout);
                fflush(stdout);
                break;
            }
            /* gdb's habit: Enter on an empty line repeats a step or next */
            if (!line[strspn(line, " \t")] && repeat[0]) {
                free(line);
                line = k2t_xstrdup(repeat);
            } else {
                history_add(line);
                remember_repeat(repeat, sizeof repeat, line);
            }
        } else {
            if (k2t_interrupted) {       /* Ctrl-C ends a script */
                stopped = 1;
                break;
            }
            line = script_line(in, &buf, &cap, &err);
            if (!line) {
                if (err == -1) {
                    k2t_error(sh, -1, "'%s': line %d is longer than %d bytes (is it a script?)",
                              name ? name : "input", sh->src_line + 1, REPL_MAX_LINE);
                    nfail++;
                } else if (err) {
                    k2t_error(sh, -1, "cannot read '%s': %s",
                              name ? name : "input", strerror(err));
                    nfail++;
                } else if (k2t_interrupted) {
                    stopped = 1;
                }
                break;
            }
            if (sh->src_line == 0 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
                line += 3;               /* a UTF-8 byte order mark */
        }
        sh->src_line++;
        int r = run_line(sh, line, !tty);
        if (tty) free(line);
        if (r == K2T_CMD_QUIT) {
            rc = K2T_CMD_QUIT;
            break;
        }
        if (r == K2T_CMD_ERR) nfail++;
    }
    if (stopped && nfail == 0) {
        k2t_error(sh, -1, "interrupted");
        nfail++;
    }
    free(buf);
    sh->src_name = save_name;
    sh->src_line = save_line;
    sh->depth = save_depth;
    sh->interactive = save_interactive;
    if (rc == K2T_CMD_QUIT) return rc;
    return nfail > 0 || stopped ? K2T_CMD_ERR : K2T_CMD_OK;
}

int repl_run_file(k2t_shell *sh, const char *path)
{
    struct stat st;
    if (sh->depth >= K2T_MAX_DEPTH)
        return k2t_error(sh, -1, "source nesting deeper than %d at %s",
                         K2T_MAX_DEPTH, path);
    FILE *f = fopen(path, "r");
    if (!f)
        return k2t_error(sh, -1, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return k2t_error(sh, -1, "cannot open '%s': %s", path, strerror(EISDIR));
    }
    int rc = repl_process(sh, f, path);
    fclose(f);
    return rc;
}

int repl_run_string(k2t_shell *sh, const char *text, const char *name)
{
    size_t n = strlen(text);
    if (n == 0) return K2T_CMD_OK;
    char *copy = k2t_xstrdup(text);
    FILE *f = fmemopen(copy, n, "r");
    if (!f) {
        free(copy);
        return k2t_error(sh, -1, "cannot run %s: %s", name, strerror(errno));
    }
    int rc = repl_process(sh, f, name);
    fclose(f);
    free(copy);
    return rc;
}

int repl_interactive_loop(k2t_shell *sh)
{
    int save = sh->interactive;
    char *hist = history_path();

#ifndef K2T_NO_READLINE
    if (isatty(STDIN_FILENO)) readline_setup(sh);
#endif
    repl_sh = sh;
    if (hist) history_load(hist);
    sh->interactive = 1;
    int rc = repl_process(sh, stdin, NULL);
    sh->interactive = save;
    if (hist) history_save(hist);
    free(hist);
#ifndef K2T_NO_READLINE
    k2t_strlist_free(&rl_cands);
    memset(&rl_cands, 0, sizeof rl_cands);
#endif
    repl_sh = NULL;
    return rc;
}
