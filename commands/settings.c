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

/*----------------------------------------------------- PyTorch emulation */

/* Settings that change what a run computes drop the kept run. */
#define EMU_CHOICE(fname, field, no, yes)                                           \
    static int set_##fname(k2t_shell *sh, const char *v, char *why, size_t n)       \
    {                                                                               \
        if (!strcmp(v, no)) sh->set.field = 0;                                      \
        else if (!strcmp(v, yes)) sh->set.field = 1;                                \
        else { snprintf(why, n, "expected %s or %s, got '%s'", no, yes, v); return -1; } \
        k2t_shell_drop_run(sh);                                                     \
        return 0;                                                                   \
    }                                                                               \
    static void get_##fname(const k2t_shell *sh, char *buf, size_t n)               \
    {                                                                               \
        snprintf(buf, n, "%s", sh->set.field ? yes : no);                           \
    }

EMU_CHOICE(layout, layout, "nhwc", "nchw")
EMU_CHOICE(transpose, transpose, "off", "on")
EMU_CHOICE(bn_mode, bn_train, "eval", "train")
EMU_CHOICE(padding, pad_torch, "keras", "torch")
EMU_CHOICE(flatten, flatten_torch, "keras", "torch")
EMU_CHOICE(softmax, softmax_drop, "keep", "drop")

static int parse_double(const char *v, double *out)
{
    char *end;
    *out = strtod(v, &end);
    return *v && !*end;
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
    snprintf(why, n, "expected a number >= 0, got '%s'", v);
    return -1;
}

static int set_diff_rtol(k2t_shell *sh, const char *v, char *why, size_t n)
{
    double x;
    if (parse_double(v, &x) && x >= 0) { sh->set.diff_rtol = x; return 0; }
    snprintf(why, n, "expected a number >= 0, got '%s'", v);
    return -1;
}

static void get_diff_atol(const k2t_shell *sh, char *buf, size_t n) { diff_get(sh, buf, n, sh->set.diff_atol); }
static void get_diff_rtol(const k2t_shell *sh, char *buf, size_t n) { diff_get(sh, buf, n, sh->set.diff_rtol); }

/* bn.eps: keras (each layer's own), torch (1e-5) or a value; for every
** BatchNormalization layer, or only those named after it. */
void k2t_shell_bn_eps_apply(k2t_shell *sh)
{
    free(sh->set.bn_eps_layer);
    sh->set.bn_eps_layer = NULL;
    if (!sh->model || sh->set.bn_eps <= 0) return;
    sh->set.bn_eps_layer = k2t_xcalloc((size_t)sh->model->n_layers, sizeof(double));
    for (int i = 0; i < sh->model->n_layers; i++) sh->set.bn_eps_layer[i] = sh->set.bn_eps;
}

static int parse_eps(const char *v, double *eps)
{
    if (!strcmp(v, "keras")) *eps = 0;
    else if (!strcmp(v, "torch")) *eps = 1e-5;
    else if (!parse_double(v, eps) || *eps <= 0 || *eps > 1) return -1;
    return 0;
}

static int set_bn_eps(k2t_shell *sh, const char *v, char *why, size_t n)
{
    double eps;
    if (parse_eps(v, &eps) != 0) {
        snprintf(why, n, "expected keras, torch or a number in (0, 1], got '%s'", v);
        return -1;
    }
    sh->set.bn_eps = eps;
    k2t_shell_bn_eps_apply(sh);
    k2t_shell_drop_run(sh);
    return 0;
}

static void get_bn_eps(const k2t_shell *sh, char *buf, size_t n)
{
    size_t w = (size_t)snprintf(buf, n, "%s", sh->set.bn_eps <= 0 ? "keras" : "");
    if (sh->set.bn_eps > 0) w = (size_t)snprintf(buf, n, sh->set.bn_eps == 1e-5 ? "torch" : "%g", sh->set.bn_eps);
    if (!sh->model || !sh->set.bn_eps_layer || sh->set.bn_eps > 0) return;
    for (int i = 0; i < sh->model->n_layers && w < n; i++)
        if (sh->set.bn_eps_layer[i] > 0)
            w += (size_t)snprintf(buf + w, n - w, "%s %s=%g", w > 5 && buf[w - 1] != 's' ? "," : ";",
                                  sh->model->layers[i].name, sh->set.bn_eps_layer[i]);
}

static const setting settings[] = {
    {"bn.eps", "keras|torch|VALUE [LAYER...]",
     "BatchNormalization epsilon: each layer's own (keras), PyTorch's 1e-5 (torch) or a value; optionally for the named layers only.",
     set_bn_eps, get_bn_eps},
    {"bn.mode", "eval|train", "BatchNormalization with the moving statistics (eval) or the batch's own (train: a model left in train mode).",
     set_bn_mode, get_bn_mode},
    {"color", "on|off", "Colour in output (off when NO_COLOR is set or output is not a terminal).",
     set_color, get_color},
    {"diff.atol", "VALUE", "diff passes a layer when max |a-b| <= diff.atol + diff.rtol * max |reference| (default 1e-5).",
     set_diff_atol, get_diff_atol},
    {"diff.rtol", "VALUE", "Relative part of diff's tolerance (default 1e-4).", set_diff_rtol, get_diff_rtol},
    {"echo", "on|off", "Echo each command of a script before running it.", set_echo, get_echo},
    {"flatten", "keras|torch", "Flatten order: HWC as Keras, or CHW feeding the Dense rows unpermuted (torch: the classic port).",
     set_flatten, get_flatten},
    {"hist.bins", "4..200", "Number of bins that hist draws.", set_hist_bins, get_hist_bins},
    {"layout", "nhwc|nchw", "Execute in Keras's NHWC, or in NCHW with the weights as PyTorch holds them.",
     set_layout, get_layout},
    {"padding", "keras|torch", "'same' padding: TF's (asymmetric at stride 2), or PyTorch's symmetric k//2 with count_include_pad pooling.",
     set_padding, get_padding},
    {"preprocess", "raw|unit|symmetric|torch|caffe",
     "Pixel preprocessing for cifar, image and uint8 inputs: raw 0..255, /255, [-1,1], ImageNet mean/std, BGR minus means.",
     set_preprocess, get_preprocess},
    {"softmax", "keep|drop", "Keep a final softmax, or drop it (a port that leaves it to the loss).",
     set_softmax, get_softmax},
    {"threads", "0..64", "Worker threads for run and eval (0: the machine's cores).", set_threads, get_threads},
    {"timer", "on|off", "Print each command's wall time after it runs.", set_timer, get_timer},
    {"weights.transpose", "on|off", "Permute kernels into PyTorch's layout (on), or read the Keras buffers in PyTorch's shape unpermuted (off).",
     set_transpose, get_transpose},
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
        k2t_printf(sh, "%-17s %-8s %s(%s) %s%s\n", settings[i].key, buf, k2t_c_dim(sh),
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
    if (argc > 3) {
        if (strcmp(argv[1], "bn.eps") != 0)
            return k2t_error(sh, 3, "set %s: takes one value", argv[1]);
        /* bn.eps VALUE LAYER...: only those layers. */
        double eps;
        if (parse_eps(argv[2], &eps) != 0)
            return k2t_error(sh, 2, "set bn.eps: expected keras, torch or a number in (0, 1], got '%s'", argv[2]);
        if (!sh->model) return k2t_error(sh, 3, "set bn.eps: no model loaded to name layers of");
        int li[K2T_MAX_ARGS];
        for (int a = 3; a < argc; a++) {
            li[a] = k2t_arg_layer(sh, a, argv[a]);
            if (li[a] < 0) return K2T_CMD_ERR;
            if (sh->model->layers[li[a]].op != K2T_OP_BATCHNORM)
                return k2t_error(sh, a, "set bn.eps: '%s' is a %s, not a BatchNormalization layer", argv[a],
                                 sh->model->layers[li[a]].class_name);
        }
        if (!sh->set.bn_eps_layer) sh->set.bn_eps_layer = k2t_xcalloc((size_t)sh->model->n_layers, sizeof(double));
        for (int a = 3; a < argc; a++) sh->set.bn_eps_layer[li[a]] = eps;
        k2t_shell_drop_run(sh);
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
