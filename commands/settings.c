/*
** settings.c -- the settings registry and its commands, set and show.
**
** A setting is a row in one table: key, the values it takes, a sentence
** of help, and how to read and write it.  Later issues add rows (layout,
** bn.eps, padding, ...); set, show, completion and the man page all read
** the table.
*/
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

static int set_threads(k2t_shell *sh, const char *v, char *why, size_t n)
{
    char *end;
    long t = strtol(v, &end, 10);
    if (*v && !*end && t >= 0 && t <= 64) {
        sh->set.threads = (int)t;
        k2t_shell_drop_run(sh);
        return 0;
    }
    snprintf(why, n, "expected a whole number from 0 (the machine's cores) to 64, got '%s'", v);
    return -1;
}

static void get_threads(const k2t_shell *sh, char *buf, size_t n)
{
    if (sh->set.threads) snprintf(buf, n, "%d", sh->set.threads);
    else snprintf(buf, n, "%d", k2t_cores());
}

static int set_preprocess(k2t_shell *sh, const char *v, char *why, size_t n)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(v, k2t_pre_names[i]) == 0) {
            sh->set.preprocess = (k2t_pre)i;
            return 0;
        }
    snprintf(why, n, "expected raw, unit, symmetric, torch or caffe, got '%s'", v);
    return -1;
}

static void get_preprocess(const k2t_shell *sh, char *buf, size_t n)
{
    snprintf(buf, n, "%s", k2t_pre_names[sh->set.preprocess]);
}

static const setting settings[] = {
    {"color", "on|off", "Colour in output (off when NO_COLOR is set or output is not a terminal).",
     set_color, get_color},
    {"echo", "on|off", "Echo each command of a script before running it.", set_echo, get_echo},
    {"hist.bins", "4..200", "Number of bins that hist draws.", set_hist_bins, get_hist_bins},
    {"preprocess", "raw|unit|symmetric|torch|caffe",
     "Pixel preprocessing for cifar, image and uint8 inputs: raw 0..255, /255, [-1,1], ImageNet mean/std, BGR minus means.",
     set_preprocess, get_preprocess},
    {"threads", "0..64", "Worker threads for run and eval (0: the machine's cores).", set_threads, get_threads},
    {"timer", "on|off", "Print each command's wall time after it runs.", set_timer, get_timer},
};
#define N_SETTINGS ((int)(sizeof settings / sizeof settings[0]))

static const setting *find(const char *key)
{
    for (int i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0) return &settings[i];
    return NULL;
}

int k2t_setting_set(k2t_shell *sh, const char *key, const char *value)
{
    const setting *s = find(key);
    char why[256];
    if (!s) return k2t_error(sh, 1, "set: unknown setting '%s' (\"show\" lists them)", key);
    if (s->set(sh, value, why, sizeof why) != 0)
        return k2t_error(sh, 2, "set %s: %s", key, why);
    return K2T_CMD_OK;
}

int k2t_setting_show(k2t_shell *sh, const char *key)
{
    char buf[256];
    if (key) {
        const setting *s = find(key);
        if (!s) return k2t_error(sh, 1, "show: unknown setting '%s' (\"show\" lists them)", key);
        s->get(sh, buf, sizeof buf);
        k2t_printf(sh, "%s = %s\n", s->key, buf);
        return K2T_CMD_OK;
    }
    for (int i = 0; i < N_SETTINGS; i++) {
        settings[i].get(sh, buf, sizeof buf);
        k2t_printf(sh, "%-12s %-8s %s(%s) %s%s\n", settings[i].key, buf, k2t_c_dim(sh),
                   settings[i].values, settings[i].help, k2t_c_off(sh));
    }
    return K2T_CMD_OK;
}

void k2t_complete_settings(const char *prefix, k2t_strlist *out)
{
    for (int i = 0; i < N_SETTINGS; i++)
        if (strncmp(settings[i].key, prefix, strlen(prefix)) == 0)
            k2t_strlist_add(out, settings[i].key);
}

/*---------------------------------------------------------------- commands */

static int cmd_set(k2t_shell *sh, int argc, char **argv)
{
    (void)argc;
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
        if (s && strchr(s->values, '|')) k2t_complete_words(s->values, prefix, out);
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
    .name = "set", .group = "script", .min_args = 2, .max_args = 2,
    .usage = "set KEY VALUE",
    .summary = "Change a setting.",
    .help = "Settings change how k2t prints and, in later commands, how it executes a model.\n"
            "\"show\" lists every setting with its value, the values it takes and what it does.",
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
