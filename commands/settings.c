/*
** settings.c -- the settings registry and its commands, set and show.
**
** A setting is a row in one table: key, the values it takes, a sentence
** of help, and how to read and write it.  Later issues add rows (layout,
** bn.eps, padding, ...); set, show, completion and the man page all read
** the table.
*/
#include <ctype.h>
#include <strings.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "shell.h"

typedef struct setting {
    const char *key;
    const char *values;   /* "on|off", "4..200": shown and completed */
    const char *help;     /* one sentence */
    /* Parse and store 'v'; return 0, or -1 with a reason in why. */
    int (*set)(k2t_shell *sh, const char *v, char *why, size_t n);
    void (*get)(const k2t_shell *sh, char *buf, size_t n);
} setting;

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true")) *out = 1;
    else if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false")) *out = 0;
    else return -1;
    return 0;
}

#define BOOL_SETTING(field)                                                         \
    static int set_##field(k2t_shell *sh, const char *v, char *why, size_t n)       \
    {                                                                               \
        if (parse_bool(v, &sh->set.field) == 0) return 0;                           \
        snprintf(why, n, "expected on or off, got '%s'", v);                        \
        return -1;                                                                  \
    }                                                                               \
    static void get_##field(const k2t_shell *sh, char *buf, size_t n)               \
    {                                                                               \
        snprintf(buf, n, "%s", sh->set.field ? "on" : "off");                       \
    }

BOOL_SETTING(color)
BOOL_SETTING(echo)
BOOL_SETTING(timer)

static int set_hist_bins(k2t_shell *sh, const char *v, char *why, size_t n)
{
    char *end;
    long b = strtol(v, &end, 10);
    if (*v && !*end && b >= 4 && b <= 200) {
        sh->set.hist_bins = (int)b;
        return 0;
    }
    snprintf(why, n, "expected a whole number from 4 to 200, got '%s'", v);
    return -1;
}

static void get_hist_bins(const k2t_shell *sh, char *buf, size_t n)
{
    snprintf(buf, n, "%d", sh->set.hist_bins);
}

static int set_width(k2t_shell *sh, const char *v, char *why, size_t n)
{
    char *end;
    long w = strtol(v, &end, 10);
    if (!strcasecmp(v, "auto")) w = 0, end = (char *)v + strlen(v);
    if (*v && !*end && (w == 0 || (w >= 20 && w <= 1000))) {
        sh->set.width = (int)w;
        return 0;
    }
    snprintf(why, n, "expected 0 (auto) or a whole number from 20 to 1000, got '%s'", v);
    return -1;
}

static void get_width(const k2t_shell *sh, char *buf, size_t n)
{
    int w = k2t_width(sh);
    if (sh->set.width) snprintf(buf, n, "%d", sh->set.width);
    else if (w) snprintf(buf, n, "0 (auto: %d)", w);
    else snprintf(buf, n, "0");
}

static int set_pager(k2t_shell *sh, const char *v, char *why, size_t n)
{
    int on;
    if (parse_bool(v, &on) == 0) { sh->set.pager_off = !on; return 0; }
    snprintf(why, n, "expected on or off, got '%s'", v);
    return -1;
}

static void get_pager(const k2t_shell *sh, char *buf, size_t n)
{
    snprintf(buf, n, "%s", sh->set.pager_off ? "off" : "on");
}

static int set_format(k2t_shell *sh, const char *v, char *why, size_t n)
{
    static const char *const names[] = {"table", "csv", "tsv"};
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(v, names[i])) { sh->set.format = i; return 0; }
    snprintf(why, n, "expected table, csv or tsv, got '%s'", v);
    return -1;
}

static void get_format(const k2t_shell *sh, char *buf, size_t n)
{
    snprintf(buf, n, "%s", sh->set.format == K2T_FMT_CSV ? "csv" : sh->set.format == K2T_FMT_TSV ? "tsv" : "table");
}

static int set_print_prec(k2t_shell *sh, const char *v, char *why, size_t n)
{
    char *end;
    long p = strtol(v, &end, 10);
    if (*v && !*end && p >= 1 && p <= 17) {
        sh->set.print_prec = (int)p;
        return 0;
    }
    snprintf(why, n, "expected a whole number from 1 to 17, got '%s'", v);
    return -1;
}

static void get_print_prec(const k2t_shell *sh, char *buf, size_t n)
{
    snprintf(buf, n, "%d", sh->set.print_prec ? sh->set.print_prec : 6);
}

static int set_threads(k2t_shell *sh, const char *v, char *why, size_t n)
{
    char *end;
    long t = strtol(v, &end, 10);
    if (*v && !*end && t >= 0 && t <= 64) {
        sh->set.threads = (int)t;
        k2t_shell_reset(sh, "set threads");
        return 0;
    }
    snprintf(why, n, "expected a whole number from 0 (the machine's cores) to 64, got '%s'", v);
    return -1;
}

/* memory.limit: MB, or with a unit (512M, 4G), or "default". */
static int set_memory_limit(k2t_shell *sh, const char *v, char *why, size_t n)
{
    char *end;
    double x = strtod(v, &end);
    double unit = 1;
    if (!strcasecmp(v, "default")) x = 0, end = (char *)v + strlen(v);
    else if (*end && !end[1] && strchr("mMgGtT", *end)) unit = strchr("mM", *end) ? 1 : strchr("gG", *end) ? 1024 : 1048576, end++;
    else if (!strcasecmp(end, "mb") || !strcasecmp(end, "gb")) unit = tolower((unsigned char)*end) == 'g' ? 1024 : 1, end += 2;
    if (end == v || *end || !(x >= 0) || x * unit > 1e9 || (x > 0 && x * unit < 16)) {
        snprintf(why, n, "expected a size in MB from 16 (or with a unit: 512M, 4G), or 'default', got '%s'", v);
        return -1;
    }
    k2t_set_memory_limit((int64_t)(x * unit));
    k2t_shell_reset(sh, "set memory.limit"); /* the next run plans within the new budget */
    return 0;
}

static void get_memory_limit(const k2t_shell *sh, char *buf, size_t n)
{
    (void)sh;
    long long mb = (long long)k2t_memory_limit();
    snprintf(buf, n, "%lld MB%s", mb, mb == (long long)k2t_memory_limit_default() ? " (default)" : "");
}

static void get_threads(const k2t_shell *sh, char *buf, size_t n)
{
    if (sh->set.threads) snprintf(buf, n, "%d", sh->set.threads);
    else snprintf(buf, n, "%d", k2t_cores());
}

static int parse_double(const char *v, double *out)
{
    char *end;
    *out = strtod(v, &end);
    return *v && !*end && isfinite(*out); /* "inf" and "nan" are not tolerances */
}

static void diff_get(const k2t_shell *sh, char *buf, size_t n, double v)
{
    (void)sh;
    snprintf(buf, n, "%g", v);
}

static int set_diff_atol(k2t_shell *sh, const char *v, char *why, size_t n)
{
    double x;
    if (parse_double(v, &x) && x >= 0) { sh->set.diff_atol = x; return 0; }
    snprintf(why, n, "expected a finite number >= 0, got '%s'", v);
    return -1;
}

static int set_diff_rtol(k2t_shell *sh, const char *v, char *why, size_t n)
{
    double x;
    if (parse_double(v, &x) && x >= 0) { sh->set.diff_rtol = x; return 0; }
    snprintf(why, n, "expected a finite number >= 0, got '%s'", v);
    return -1;
}

static void get_diff_atol(const k2t_shell *sh, char *buf, size_t n) { diff_get(sh, buf, n, sh->set.diff_atol); }
static void get_diff_rtol(const k2t_shell *sh, char *buf, size_t n) { diff_get(sh, buf, n, sh->set.diff_rtol); }

/* bn.eps as show prints it: the global value, then per-layer overrides. */
static void get_bn_eps(const k2t_shell *sh, char *buf, size_t n)
{
    size_t w = (size_t)snprintf(buf, n, "%s", sh->set.emu.bn_eps <= 0 ? "keras" : "");
    if (sh->set.emu.bn_eps > 0) w = (size_t)snprintf(buf, n, sh->set.emu.bn_eps == 1e-5 ? "torch" : "%g", sh->set.emu.bn_eps);
    if (!sh->model || !sh->set.bn_eps_layer) return;
    for (int i = 0; i < sh->model->n_layers && w < n; i++)
        if (sh->set.bn_eps_layer[i] > 0)
            w += (size_t)snprintf(buf + w, n - w, "%s %s=%g", w > 5 && buf[w - 1] != 's' ? "," : ";",
                                  sh->model->layers[i].name, sh->set.bn_eps_layer[i]);
}

static const setting settings[] = {
    {"color", "on|off", "Colour in output (off when NO_COLOR is set or output is not a terminal).",
     set_color, get_color},
    {"diff.atol", "VALUE", "diff passes a layer when max |a-b| <= diff.atol + diff.rtol * max |reference| (default 1e-5).",
     set_diff_atol, get_diff_atol},
    {"diff.rtol", "VALUE", "Relative part of diff's tolerance (default 1e-4).", set_diff_rtol, get_diff_rtol},
    {"format", "table|csv|tsv", "How tables print (summary, layers, stats, diff, show): aligned, or CSV (RFC 4180) "
     "or TSV with a header row.", set_format, get_format},
    {"echo", "on|off", "Echo each command of a script before running it.", set_echo, get_echo},
    {"hist.bins", "4..200", "Number of bins that hist draws.", set_hist_bins, get_hist_bins},
    {"memory.limit", "MB|default", "Memory a model's load may add and one run or eval may allocate (512M, 4G; "
     "default: half the RAM, or $K2T_MEMORY_LIMIT).", set_memory_limit, get_memory_limit},
    {"pager", "on|off", "Page long output through $PAGER (or less -FRX) at an interactive terminal; never in "
     "scripts.", set_pager, get_pager},
    {"print.precision", "1..17", "Significant digits print shows (default 6).", set_print_prec, get_print_prec},
    {"threads", "0..64", "Worker threads for run and eval (0: the machine's cores).", set_threads, get_threads},
    {"timer", "on|off", "Print each command's wall time after it runs.", set_timer, get_timer},
    {"width", "0..1000", "Columns tables and text fit (0: auto: $COLUMNS, else the terminal's width; "
     "unlimited in scripts and pipes).", set_width, get_width},};
#define N_SETTINGS ((int)(sizeof settings / sizeof settings[0]))

static const setting *find(const char *key)
{
    for (int i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0) return &settings[i];
    return NULL;
}

/* "did you mean 'bn.eps'? " among every setting key. */
static char *setting_dym(const char *key, char *buf, size_t n)
{
    const char *keys[N_SETTINGS + K2T_PIT_COUNT];
    int k = 0;
    for (int i = 0; i < N_SETTINGS; i++) keys[k++] = settings[i].key;
    for (int p = 0; p < K2T_PIT_COUNT; p++)
        if (k2t_pitfalls[p].key) keys[k++] = k2t_pitfalls[p].key;
    return k2t_did_you_mean(key, keys, k, buf, n);
}

/* A setting is a row of the table above or a pitfall's emulation setting
** (engine/pitfall.c): set, show and completion see them as one list. */
int k2t_setting_set(k2t_shell *sh, const char *key, const char *value)
{
    const setting *s = find(key);
    const k2t_pitfall *P = s ? NULL : k2t_pitfall_by_key(key);
    char why[256];
    if (!s && !P) {
        char dym[96];
        return k2t_error(sh, 1, "set: unknown setting '%s' (%s\"show\" lists them)", key, setting_dym(key, dym, sizeof dym));
    }
    if (P) {
        k2t_err err = {0};
        k2t_emu was = sh->set.emu;
        if (k2t_emu_set(&sh->set.emu, (k2t_pit)(P - k2t_pitfalls), value, &err) != K2T_OK)
            return k2t_error(sh, 2, "set %s: %s", key, err.msg);
        int same = !memcmp(&was, &sh->set.emu, sizeof was);
        if (P == &k2t_pitfalls[K2T_PIT_BN_EPS] && sh->set.bn_eps_layer) { /* a global value replaces per-layer ones */
            same = 0;
            free(sh->set.bn_eps_layer);
            sh->set.bn_eps_layer = NULL;
        }
        if (P->in_profiles && !same) k2t_shell_reset(sh, "settings changed"); /* it changes what a run computes */
        return K2T_CMD_OK;
    }
    if (s->set(sh, value, why, sizeof why) != 0)
        return k2t_error(sh, 2, "set %s: %s", key, why);
    return K2T_CMD_OK;
}

/* Every setting, sorted by key: the table's and the pitfalls'. */
typedef struct row { const char *key, *values, *help; const setting *s; const k2t_pitfall *p; } row;

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const row *)a)->key, ((const row *)b)->key);
}

static int all_rows(row *r)
{
    int n = 0;
    for (int i = 0; i < N_SETTINGS; i++) r[n++] = (row){settings[i].key, settings[i].values, settings[i].help, &settings[i], NULL};
    for (int p = 0; p < K2T_PIT_COUNT; p++)
        if (k2t_pitfalls[p].key)
            r[n++] = (row){k2t_pitfalls[p].key, k2t_pitfalls[p].values, k2t_pitfalls[p].help, NULL, &k2t_pitfalls[p]};
    qsort(r, (size_t)n, sizeof *r, row_cmp);
    return n;
}

static void row_value(const k2t_shell *sh, const row *r, char *buf, size_t n)
{
    if (r->s) r->s->get(sh, buf, n);
    else if (r->p == &k2t_pitfalls[K2T_PIT_BN_EPS]) get_bn_eps(sh, buf, n);
    else k2t_emu_value(&sh->set.emu, (k2t_pit)(r->p - k2t_pitfalls), buf, n);
}

int k2t_setting_show(k2t_shell *sh, const char *key)
{
    char buf[256];
    row r[N_SETTINGS + K2T_PIT_COUNT];
    int n = all_rows(r);
    if (!key) {
        k2t_table t;
        k2t_table_init(&t, sh, 4);
        t.sep = " ";
        t.hide_head = 1;
        k2t_table_col(&t, 0, "key", 0, 17, 8);
        k2t_table_col(&t, 1, "value", 0, 8, 6);
        k2t_table_col(&t, 2, "values", 0, 0, 10);
        k2t_table_col(&t, 3, "help", 0, 0, 20);
        /* Legacy full-width lines keep values and help as one dim cell. */
        int one = k2t_format_table(sh);
        if (one) t.nc = 3, t.head[2] = "help";
        for (int i = 0; i < n; i++) {
            char vh[600];
            row_value(sh, &r[i], buf, sizeof buf);
            int dim = one && !k2t_width(sh);
            snprintf(vh, sizeof vh, "%s(%s) %s%s", dim ? k2t_c_dim(sh) : "", r[i].values, r[i].help,
                     dim ? k2t_c_off(sh) : "");
            const char *cells[4] = {r[i].key, buf, one ? vh : r[i].values, r[i].help};
            k2t_table_row(&t, cells);
        }
        k2t_table_print(&t);
        return K2T_CMD_OK;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(r[i].key, key)) continue;
        row_value(sh, &r[i], buf, sizeof buf);
        k2t_printf(sh, "%s = %s\n", r[i].key, buf);
        return K2T_CMD_OK;
    }
    char dym[96];
    return k2t_error(sh, 1, "show: unknown setting '%s' (%s\"show\" lists them)", key, setting_dym(key, dym, sizeof dym));
}

void k2t_complete_settings(const char *prefix, k2t_strlist *out)
{
    row r[N_SETTINGS + K2T_PIT_COUNT];
    int n = all_rows(r);
    for (int i = 0; i < n; i++)
        if (strncmp(r[i].key, prefix, strlen(prefix)) == 0) k2t_strlist_add(out, r[i].key);
}

/*---------------------------------------------------------------- commands */

static int cmd_set(k2t_shell *sh, int argc, char **argv)
{
    if (argc > 3) {
        if (strcmp(argv[1], "bn.eps") != 0)
            return k2t_error(sh, 3, "set %s: takes one value", argv[1]);
        /* bn.eps VALUE LAYER...: only those layers. */
        double eps;
        if (k2t_eps_parse(argv[2], &eps) != 0)
            return k2t_error(sh, 2, "set bn.eps: expected keras, torch or a number in (0, 1], got '%s'", argv[2]);
        if (!sh->model) return k2t_error(sh, 3, "set bn.eps: no model loaded to name layers of");
        int li[K2T_MAX_ARGS];
        for (int a = 3; a < argc; a++) {
            li[a] = k2t_arg_layer(sh, a, argv[a]);
            if (li[a] < 0) return K2T_CMD_ERR;
            if (!k2t_layer_has_weight(&sh->model->layers[li[a]], "moving_variance"))
                return k2t_error(sh, a, "set bn.eps: '%s' is a %s, not a BatchNormalization layer", argv[a],
                                 sh->model->layers[li[a]].class_name);
        }
        if (!sh->set.bn_eps_layer) sh->set.bn_eps_layer = k2t_xcalloc((size_t)sh->model->n_layers, sizeof(double));
        for (int a = 3; a < argc; a++) sh->set.bn_eps_layer[li[a]] = eps;
        k2t_shell_reset(sh, "settings changed");
        return K2T_CMD_OK;
    }
    return k2t_setting_set(sh, argv[1], argv[2]);
}

static int cmd_show(k2t_shell *sh, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "settings") == 0) return k2t_setting_show(sh, NULL);
    return k2t_setting_show(sh, argc > 1 ? argv[1] : NULL);
}

static void complete_set(k2t_shell *sh, int argi, char **argv, const char *prefix,
                         k2t_strlist *out)
{
    (void)sh;
    if (argi == 1) k2t_complete_settings(prefix, out);
    else if (argi == 2) {
        const setting *s = find(argv[1]);
        const k2t_pitfall *p = k2t_pitfall_by_key(argv[1]);
        const char *values = s ? s->values : p ? p->values : NULL;
        if (values && strchr(values, '|')) {
            char words[160];
            snprintf(words, sizeof words, "%.*s", (int)strcspn(values, " "), values); /* not "[LAYER...]" */
            k2t_complete_words(words, prefix, out);
        }
    }
}

static void complete_show(k2t_shell *sh, int argi, char **argv, const char *prefix,
                          k2t_strlist *out)
{
    (void)sh, (void)argv;
    if (argi == 1) {
        k2t_complete_settings(prefix, out);
        k2t_complete_words("settings", prefix, out);
    }
}

const k2t_command k2t_cmd_set = {
    .name = "set", .group = "script", .min_args = 2, .max_args = -1,
    .usage = "set KEY VALUE",
    .summary = "Change a setting.",
    .help = "Settings change how k2t prints and how it executes a model: the PyTorch-port\n"
            "emulation (layout, weights.transpose, bn.eps, bn.mode, padding, flatten, softmax,\n"
            "preprocess) reproduces one pitfall each; \"profile\" sets several at once.\n"
            "\"show\" lists every setting with its value, the values it takes and what it does.\n"
            "Example: set bn.eps torch, or set bn.eps 1e-5 batch_normalization_3.",
    .complete = complete_set, .fn = cmd_set,
};

const k2t_command k2t_cmd_show = {
    .name = "show", .group = "script", .min_args = 0, .max_args = 1,
    .usage = "show [KEY|settings]",
    .summary = "Show one setting or all of them.",
    .help = "Without KEY (or with \"settings\"), lists every setting: key, value, the values\n"
            "it takes and a sentence on what it does.",
    .complete = complete_show, .fn = cmd_show,
};
