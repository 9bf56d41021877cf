/*
** shell.h -- the shell's state, the command table and the dispatcher.
**
** Every command lives in commands/<family>.c as one static function and one
** exported k2t_command, listed in commands/commands.def.  help, complete,
** the man page test and the dispatcher all read that one table.  repl/
** drives this layer (the readline loop, scripts, the TUI); commands never
** call into repl/ except through the hooks in k2t_shell.
*/
#ifndef K2T_COMMANDS_SHELL_H
#define K2T_COMMANDS_SHELL_H

#include <stdio.h>
#include "../engine/k2t.h"

/* What a command returns (SQLite's 0/1/2). */
enum { K2T_CMD_OK = 0, K2T_CMD_ERR = 1, K2T_CMD_QUIT = 2 };

/* Command flags. */
enum {
    K2T_NEEDS_MODEL = 1 << 0, /* refused when no model is loaded */
    K2T_NEEDS_ARCH  = 1 << 1, /* refused on a weights-only file */
    K2T_HIDDEN      = 1 << 2, /* not listed by help (test helpers) */
    K2T_RAW_VARS    = 1 << 3, /* the command reads $NAME itself (no substitution) */
};

#define K2T_MAX_ARGS 64
#define K2T_MAX_DEPTH 16  /* nesting of source / -x */

struct k2t_shell;
struct k2t_strlist;

typedef int (*k2t_cmd_fn)(struct k2t_shell *sh, int argc, char **argv);
/* Add completions for argument 'argi' (1-based) starting with 'prefix'. */
typedef void (*k2t_complete_fn)(struct k2t_shell *sh, int argi, char **argv,
                                const char *prefix, struct k2t_strlist *out);

typedef struct k2t_command {
    const char *name;
    const char *aliases;     /* space separated, or NULL */
    const char *group;       /* model, inspect, run, debug, script, ui */
    int min_args, max_args;  /* not counting the name; max -1: any */
    unsigned flags;
    const char *usage;       /* "load FILE.h5" (starts with the name) */
    const char *summary;     /* one sentence ending in '.' */
    const char *help;        /* more text, lines separated by \n, no trailing \n */
    k2t_complete_fn complete;
    k2t_cmd_fn fn;
} k2t_command;

extern const k2t_command *const k2t_commands[]; /* NULL-terminated, sorted by name */
extern const int k2t_n_commands;

/*------------------------------------------------------------ settings */

typedef struct k2t_settings {
    int color;        /* colour in output */
    int threads;      /* worker threads for run/eval; 0: the machine's cores */
    k2t_emu emu;        /* the PyTorch-port emulation and the preprocessing (pitfall.c) */
    double *bn_eps_layer; /* per layer bn.eps overrides (m->n_layers, owned), or NULL */
    double diff_atol, diff_rtol; /* diff's pass/fail: |a-b| <= atol + rtol*max|ref| */
    int echo;         /* echo each command of a script before running it */
    int timer;        /* print each command's wall time */
    int hist_bins;    /* default number of bins for hist */
    int width;        /* set width: output columns; 0: auto (k2t_width) */
    int pager_off;    /* set pager off (the pager runs only at an interactive terminal) */
    int format;       /* set format: K2T_FMT_TABLE, _CSV or _TSV for tables */
    int print_prec;   /* set print.precision: significant digits; 0: the default, 6 */
} k2t_settings;

enum { K2T_FMT_TABLE = 0, K2T_FMT_CSV = 1, K2T_FMT_TSV = 2 };

/*------------------------------------------------------------- the input */

/* One model input's samples. */
typedef struct k2t_input_array {
    k2t_array a;             /* samples as read, batch first, Keras layout (owned); data NULL: not set */
    char desc[320];          /* where it came from, for messages */
} k2t_input_array;

/* The current input: one array per model input, x[i] feeding the model's
** input i (m->inputs[i]), every one with the same batch n. */
typedef struct k2t_input {
    k2t_input_array *x;      /* n_x arrays (owned) */
    int n_x;                 /* the model's n_inputs when the input was set (0: none) */
    int n;                   /* samples in each array that is set (0: none is set) */
    unsigned char *labels;   /* CIFAR labels, n of them, or NULL (owned) */
    char desc[640];          /* where it came from (every input's source), for messages */
} k2t_input;

/*-------------------------------------------------------------- profiles */

/* A named set of emulation settings (profile keras, torch, torch-naive,
** and the user's own from "profile save"). */
typedef struct k2t_profile {
    char name[32];
    k2t_emu emu;             /* the settings it sets */
    int with_input;          /* it sets preprocess too (saved profiles; built-ins leave it) */
} k2t_profile;

/*----------------------------------------------------------- breakpoints */

/* A breakpoint stops before the layers 'what' names; one with a condition
** (break nan, break diff > 1e-3, break LAYER if COND) instead stops after
** a layer it names (every layer when 'what' is "") whose output meets the
** condition.  tbreak's are deleted at their first stop. */
enum { K2T_COND_NONE, K2T_COND_NAN, K2T_COND_DIFF };
typedef struct k2t_break {
    int id;                  /* shown by info breakpoints, taken by delete */
    char what[128];          /* a layer name, a class name, "add" (every merge), or "" (every layer) */
    int hits;
    int disabled;            /* "disable N": kept but never stops */
    int temporary;           /* tbreak: deleted at its first stop */
    int cond;                /* K2T_COND_*: nan (a NaN or Inf in the output), diff > cond_value */
    double cond_value;       /* diff's threshold on max|keras - current| */
} k2t_break;

/*------------------------------------------------------------- the shell */

typedef struct k2t_shell {
    k2t_model *model;        /* owned; NULL when none is loaded */
    k2t_input in;            /* the current input, one array per model input (in.n == 0: none) */
    k2t_run *run;            /* owned: the last run (kept activations), or NULL */
    int run_n;               /* batch the run was planned for */
    int cursor;              /* stepping: next node to execute (n_nodes: at the end) */
    k2t_break *breaks;       /* breakpoints (owned) */
    int n_breaks, next_break_id;
    k2t_run *twin;           /* owned: the Keras-semantics run "break diff" compares with, or NULL */
    int twin_cursor;         /* nodes [0, twin_cursor) of twin ran */
    int display;             /* at every stop: 0 off, 1 shapes, 2 stats */
    k2t_settings set;        /* values of the settings registry */
    FILE *out;               /* command output (stdout, or a TUI capture) */
    FILE *err;               /* error messages (stderr, or a TUI capture) */
    /* "output FILE": results go to a temporary file beside FILE (out_tmp),
    ** renamed into place by "output" alone or at exit (k2t_output_close). */
    FILE *out_file;          /* owned, or NULL */
    FILE *out_saved;         /* sh->out before "output FILE" */
    char *out_path, *out_tmp; /* owned */
    int out_force;           /* --force: may replace an existing regular file */
    /* Where the current command came from: error locations use these. */
    const char *src_name;    /* script file, "-c", or NULL for the terminal */
    int src_line;            /* line in src_name */
    int depth;               /* nesting of source/-x, capped at K2T_MAX_DEPTH */
    int interactive;         /* a person is typing at a terminal */
    int bail;                /* stop a script at its first failing command */
    int nerr;                /* failed commands so far (the exit status) */
    const char *line;        /* the command line being run (for error carets) */
    int arg_ofs[K2T_MAX_ARGS]; /* offset of each argument in 'line' */
    int argc;                /* arguments in 'line' (carets only point at these) */
    struct k2t_profile *profiles; /* saved with "profile save" (owned) */
    int n_profiles;
    struct k2t_var *vars;    /* results published by commands ($accuracy, ...) */
    int n_vars;
    char **class_names;      /* the model's own class names (classes.c), owned, or NULL */
    int n_class_names;
    char class_src[256];     /* the file they came from */
    /* Hooks filled by repl/: run a script file; enter full-screen mode. */
    int (*run_file)(struct k2t_shell *sh, const char *path);
    /* The full-screen mode (the tui command): returns K2T_CMD_*, QUIT when
    ** "quit" was typed in it.  NULL without a terminal front-end. */
    int (*tui)(struct k2t_shell *sh);
    /* Print the full-screen mode's w x h character grid for the current
    ** state (tui-snapshot): 'node' selected (-1: the default), with the
    ** key help open when 'keys'.  Returns K2T_CMD_*. */
    int (*tui_snapshot)(struct k2t_shell *sh, int w, int h, int node, int keys);
    /* Set by the full-screen mode while a command runs (0 / NULL
    ** otherwise): the columns of its output pane, which k2t_width uses
    ** when no "set width" is given; and a status line long commands (eval)
    ** report their progress on, called from the main thread, NULL text to
    ** clear it. */
    int pane_cols;
    void (*progress)(struct k2t_shell *sh, const char *text);
} k2t_shell;

/* Initialise 'sh' with default settings; output to stdout/stderr. */
void k2t_shell_init(k2t_shell *sh);
/* Free what the shell owns (the model, the input, the run). */
void k2t_shell_free(k2t_shell *sh);
/* Forget the last run (its plan and activations): the model, the input or
** a setting that changes the computation has changed. */
void k2t_shell_drop_run(k2t_shell *sh);
/* The same, after a change the user made ('why': "settings changed", "new
** model", "new input"): says so in one note when there was something to
** lose (a kept run, or a stepping cursor past node 0), silently otherwise. */
void k2t_shell_reset(k2t_shell *sh, const char *why);
/* A run holding the current input: planned, and fed since the input last
** changed (a new input keeps the plan but resets it). */
static inline int k2t_shell_has_run(const k2t_shell *sh)
{
    return sh->run && k2t_run_batch(sh->run) > 0;
}
/* Node i's output shape, batch first, in the current layout: the run's when
** the node ran (*from_run = 1), else Keras's inferred shape (NCHW under
** "set layout nchw") with the input's batch, 1 without input. */
k2t_shape k2t_shell_node_shape(const k2t_shell *sh, int node, int *from_run);
/* The first (for most models the only) input's array, or NULL when none
** is set: what a command that reads one image (eval, export's sample)
** looks at. */
static inline const k2t_array *k2t_shell_input0(const k2t_shell *sh)
{
    return sh->in.n_x > 0 && sh->in.x[0].a.data ? &sh->in.x[0].a : NULL;
}
/* Is every model input set (and set for this model's inputs)? */
int k2t_shell_input_ready(const k2t_shell *sh);
/* Input i (of the model's inputs) becomes 'a', n samples (ownership of
** a's data passes), with labels (owned, or NULL) and a description; an
** input set for a model with another number of inputs is dropped first,
** the others stay (callers make sure their batch is n). */
void k2t_shell_set_input(k2t_shell *sh, int i, k2t_array *a, int n, unsigned char *labels, const char *desc);
/* Free the current input (every array, the labels). */
void k2t_shell_input_clear(k2t_shell *sh);
/* Print the current input: each input's source and shape ("input",
** "info input"). */
void k2t_shell_print_input(k2t_shell *sh);
/* Every input's per-sample shape into per[m->n_inputs], refused (naming
** cmd, the input and both shapes) when there is no input, an input is not
** set, or one does not fit the model: an input set for another model.
** K2T_CMD_*. */
int k2t_shell_input_shapes(k2t_shell *sh, const char *cmd, k2t_shape *per);
/* Feed every input, preprocessed as e says (NULL: the current settings),
** into run r; after k2t_shell_input_shapes.  K2T_CMD_*, errors reported. */
int k2t_shell_feed(k2t_shell *sh, const char *cmd, k2t_run *r, const k2t_emu *e);
/* The execution options the current settings describe. */
void k2t_shell_opts(const k2t_shell *sh, k2t_opts *o, int keep);
/* The model's single input node, or -1 with an error naming cmd (for what
** only one input can take: CIFAR images, eval). */
int k2t_shell_single_input(k2t_shell *sh, const char *cmd);
/* A fresh copy of input i, preprocessed (when it holds pixels) as
** emulation e says (NULL: the current settings); NULL after an error. */
float *k2t_shell_input_data(k2t_shell *sh, int i, const k2t_emu *e, int64_t *numel);
/* The current input through the model under emulation e (fast path): its
** first output in Keras's layout and, with labels, how many are right. */
typedef struct k2t_measure {
    int n;              /* samples */
    int labelled;       /* the input has labels and the output is a score vector */
    int correct;        /* samples whose top class is their label */
    float *out;         /* the first output, Keras layout (owned) */
    int64_t numel;
    double max_abs;     /* max |out| */
} k2t_measure;
int k2t_shell_measure(k2t_shell *sh, const k2t_emu *e, k2t_measure *r);
double k2t_measure_diff(const k2t_measure *a, const k2t_measure *b);
void k2t_measure_free(k2t_measure *r);
/* Warn when the current pixel input's preprocessing contradicts what the
** model's statistics say it was trained on (k2t_infer_input_scale). */
void k2t_shell_check_preprocess(k2t_shell *sh);
/* Plan the run for the current input and settings if needed and feed it
** the (preprocessed) input, without executing anything; the stepping
** cursor goes back to 0.  Reports errors; returns K2T_CMD_*. */
int k2t_shell_prepare(k2t_shell *sh, const char *cmd);

/* Run one command line: tokenise, look up, check arity and flags, call.
** Blank lines and '#' comments do nothing.  Returns K2T_CMD_*; failures
** have been reported and counted in sh->nerr. */
int k2t_dispatch(k2t_shell *sh, const char *line);

/* Report a failed command: "FILE:LINE: error: ..." in scripts,
** "error: ..." otherwise; with argi >= 0 and a person at the terminal the
** line is echoed with a caret under argument argi.  Counts in sh->nerr.
** Returns K2T_CMD_ERR so commands can 'return k2t_error(...)'. */
int k2t_error(k2t_shell *sh, int argi, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A non-fatal remark, "warning: ...". */
void k2t_warn(k2t_shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write what k2t_printf holds of an unfinished line, and fflush sh->out
** (before reading input, at the end of a command). */
void k2t_flush(k2t_shell *sh);
/* Command output. */
void k2t_printf(k2t_shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*-------------------------------------------------- width-aware output */

/* The columns output may use: "set width N", else the full-screen mode's
** output pane (sh->pane_cols), else $COLUMNS, else the terminal's width
** when sh->out is a terminal, else 0: unlimited (scripts and tests keep
** their full-width lines). */
int k2t_width(const k2t_shell *sh);
/* Print 'text' starting at column 'col', wrapped at word boundaries at
** 'width' columns (0: k2t_width, or 'fallback' when that is unlimited),
** continuation lines indented by 'indent'; ends with a newline. */
void k2t_print_wrapped(k2t_shell *sh, const char *text, int col, int indent, int fallback);

/* A table (SQLite's output modes): columns with a preferred width (what
** the table's lines always had), a minimum it may shrink to when the
** output is narrower, right-aligned numbers that never shrink; cells too
** wide for their column wrap at word boundaries onto continuation lines.
** "set format csv|tsv" prints the header and rows instead (RFC 4180). */
/* RIGHT: numbers, never shrink; FIXED: never shrinks; LATE: shrinks only
** when the others are at their minimum. */
enum { K2T_COL_RIGHT = 1, K2T_COL_FIXED = 2, K2T_COL_LATE = 4 };
typedef struct k2t_table {
    k2t_shell *sh;
    int nc, nr, cap;
    const char **head;   /* nc headings */
    int *flags, *pref, *min;
    char **cells;        /* nr * nc, owned */
    int indent;          /* spaces before the first column */
    const char *sep;     /* between columns ("  ") */
    const char **seps;   /* per column: the separator before it (NULL: sep), or NULL (k2t_table_sep) */
    char rule_top, rule_head, rule_end; /* '_'/'=' rules (0: none) */
    int rule_width;      /* preferred rule width (0: the table's) */
    int hide_head;       /* no heading line in table format (csv/tsv keep it) */
    unsigned char *note; /* per row: a note line under the row before (k2t_table_note) */
    int wrapped;         /* set by k2t_table_print: a cell wrapped */
} k2t_table;
void k2t_table_init(k2t_table *t, k2t_shell *sh, int nc);
/* Column c: heading, K2T_COL_* flags, preferred and minimum width. */
void k2t_table_col(k2t_table *t, int c, const char *head, int flags, int pref, int min);
/* Column c is preceded by 'sep' (a static string) instead of t->sep. */
void k2t_table_sep(k2t_table *t, int c, const char *sep);
/* One row of nc cells (printf-free: copied). */
void k2t_table_row(k2t_table *t, const char *const *cells);
/* A line of text under the last row ("! flagged"), wrapped to the width,
** indented by the table's indent; left out of csv/tsv. */
void k2t_table_note(k2t_table *t, const char *text);
/* Print and free.  When even the minimum widths do not fit, each row is
** printed stacked: its first column, then "heading: value" pairs. */
void k2t_table_print(k2t_table *t);
/* Is "set format" table (1), or csv/tsv (0, decorations are left out)? */
int k2t_format_table(const k2t_shell *sh);
/* "output" alone, and at exit: close "output FILE" and rename it into place. */
int k2t_output_close(k2t_shell *sh);
/* Run 'c' with its output through the pager when it is on and long. */
int k2t_paged(k2t_shell *sh, const k2t_command *c, int argc, char **argv);

/* ANSI colour helpers: return the escape when sh->set.color, else "". */
const char *k2t_c_bold(const k2t_shell *sh);
const char *k2t_c_warn(const k2t_shell *sh);
const char *k2t_c_dim(const k2t_shell *sh);
const char *k2t_c_off(const k2t_shell *sh);

/* Look a command up: exact name, alias, then unique prefix.  Returns NULL
** and, when 'why' is non-NULL, writes why ("unknown"/"ambiguous ..."). */
const k2t_command *k2t_command_find(const char *name, char *why, size_t n);

/* The built-in profiles (keras, torch, torch-naive). */
extern const k2t_profile k2t_profile_builtins[];
extern const int k2t_n_profile_builtins;
/* Do two profiles emulate the same conventions (preprocess aside)? */
int k2t_profile_same(const k2t_profile *a, const k2t_profile *b);
/* The profile the current settings match ("keras", "torch-naive", a
** saved one), or "custom". */
const char *k2t_profile_match(const struct k2t_shell *sh);
/* "k2t> ", or "k2t[torch-naive]> " when the settings are not Keras's. */
void k2t_shell_prompt(const struct k2t_shell *sh, char *buf, size_t n);
/* "" under Keras's semantics, else "; profile torch-naive: layout nchw,
** ..." for the headers of run and eval.  Returns buf. */
char *k2t_shell_settings_note(const struct k2t_shell *sh, char *buf, size_t n);
/* Find a profile by name (built-in or saved); NULL when unknown. */
const k2t_profile *k2t_profile_find(const struct k2t_shell *sh, const char *name);
/* The current settings as a profile. */
void k2t_profile_current(const struct k2t_shell *sh, k2t_profile *p);
/* Execution options for a profile ("current": the per-layer epsilons too). */
void k2t_profile_opts(const struct k2t_shell *sh, const k2t_profile *p, k2t_opts *o, int keep);
/* The emulation profile p applies at node i (the current settings' per
** layer bn.eps included). */
void k2t_shell_layer_emu(const struct k2t_shell *sh, const k2t_profile *p, int node, k2t_emu *e);
/* Why node i differs between runs under emulations a and b: the finding
** (text and fix) of every pitfall whose setting differs and that concerns
** the node, printed as "why:"/"fix:" lines.  Returns how many. */
int k2t_shell_why(struct k2t_shell *sh, int node, const k2t_emu *a, const k2t_emu *b);
/* Print a pitfall's finding: K2T_FINDING_CHECK as check lists it ("  !
** topic: text" then its code), K2T_FINDING_WHY as diff and compare explain
** a divergence ("  why: topic: text", "  fix: code"). */
enum { K2T_FINDING_CHECK, K2T_FINDING_WHY };
void k2t_print_finding(struct k2t_shell *sh, const k2t_finding *f, int style);

/*----------------------------------------------------------- class names */

/* A classifier's own class names (commands/classes.c), one per line in a
** text file: MODEL.classes beside the model, read by load, or the file
** "classes FILE" names.  Without them eval and top name CIFAR-10's classes
** on CIFAR input and print indices otherwise. */
void k2t_classes_clear(struct k2t_shell *sh);
/* Read the names beside the model at 'model_path' (MODEL.classes), if any;
** a file whose count does not match the model's class scores is named in
** a warning and not used. */
void k2t_classes_sidecar(struct k2t_shell *sh, const char *model_path);
/* Class k's own name, or NULL. */
const char *k2t_class_name(const struct k2t_shell *sh, int k);

/*------------------------------------------------------------- variables */

/* Commands publish their results as variables ($accuracy, $params, ...);
** any argument may use $NAME; expect asserts on them. */
typedef struct k2t_var {
    char name[48];
    char value[256];
} k2t_var;

void k2t_var_set(k2t_shell *sh, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A number printed with %.10g. */
void k2t_var_num(k2t_shell *sh, const char *name, double v);
/* The value, or NULL when unset. */
const char *k2t_var_get(const k2t_shell *sh, const char *name);

/*------------------------------------------------------------ completion */

typedef struct k2t_strlist {
    char **v;
    int n, cap;
} k2t_strlist;

void k2t_strlist_add(k2t_strlist *l, const char *s);
void k2t_strlist_free(k2t_strlist *l);

/* Completions for the word ending at 'point' in 'line', sorted and unique. */
void k2t_complete(k2t_shell *sh, const char *line, int point, k2t_strlist *out);

/* Completers commands can use. */
void k2t_complete_files(const char *prefix, const char *ext, k2t_strlist *out); /* ext: ".h5" or ".h5|.keras" */
void k2t_complete_layers(k2t_shell *sh, const char *prefix, k2t_strlist *out);
void k2t_complete_words(const char *words, const char *prefix, k2t_strlist *out);
void k2t_complete_settings(const char *prefix, k2t_strlist *out);

/*-------------------------------------------------------------- settings */

/* Set a setting from text; returns 0 or reports an error naming the key
** or the value (argument indexes for carets). */
int k2t_setting_set(k2t_shell *sh, const char *key, const char *value);
/* Print one setting, or all when key is NULL. */
int k2t_setting_show(k2t_shell *sh, const char *key);

/*------------------------------------------------------ helpers for commands */

/* The layer named by argument argi (a layer name, or a node name such as
** "dense#1").  An unknown name is reported with the closest known name;
** returns the layer index or -1. */
int k2t_arg_layer(k2t_shell *sh, int argi, const char *name);
/* "info breakpoints": list the breakpoints.  Returns K2T_CMD_*. */
int k2t_info_breakpoints(k2t_shell *sh);
/* Does breakpoint b's location name node i (a condition aside; disabled
** ones too); at how many nodes; "layer", "class", "every merge" or "every
** layer". */
int k2t_break_matches(const k2t_model *m, const k2t_break *b, int node);
int k2t_break_count(const k2t_model *m, const k2t_break *b);
/* The condition as typed back: "nan", "diff > 0.001", "" for none. */
char *k2t_break_cond_str(const k2t_break *b, char *buf, size_t n);
const char *k2t_break_kind(const k2t_model *m, const k2t_break *b);
/* Edit distance, a swap of neighbours counting one (99 past 64 characters). */
int k2t_distance(const char *a, const char *b);
/* "did you mean 'step'? " for the candidate closest to word, or "". */
char *k2t_did_you_mean(const char *word, const char *const *cands, int n, char *buf, size_t size);
/* 78666 -> "78,666" */
char *k2t_fmt_count(int64_t n, char *buf, size_t size);

/*----------------------------------------------------------- tokeniser */

/* Split 'line' into at most max words, honouring '...' and "..." quotes and
** backslash escapes; '#' at the start of a word ends the line.  Words are
** written into 'store' (at least strlen(line)+1 bytes); offsets of each
** word into ofs.  Returns the word count, or -1 on an unterminated quote. */
int k2t_tokenize(const char *line, char **argv, int *ofs, int max, char *store);

#endif /* K2T_COMMANDS_SHELL_H */
