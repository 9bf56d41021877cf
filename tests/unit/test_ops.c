/*
** test_ops.c -- unit tests for the op table and the config readers
** (engine/config.c and engine/ops/), without any .h5 file.
**
** Each case builds a k2t_layer from a config written as JSON text, runs
** the op's parse, infer, weights, describe and torch callbacks, and
** compares with what Keras does.  The cases are the ones that go wrong
** in ports: 'same' against 'valid' at strides 1, 2 and 3 on odd and
** even sizes, dilation, the three Conv2DTranspose size rules, depth
** multipliers, causal Conv1D, Concatenate axes, Reshape with -1, the
** Keras 3 hard_sigmoid, and malformed configs whose errors must name
** the key.  Prints "not ok - <what>" per failure and a summary line;
** exits 1 on any failure.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../engine/internal.h"

static int n_checks, n_failed;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        n_checks++;                                                                         \
        if (!(cond)) {                                                                      \
            n_failed++;                                                                     \
            printf("not ok - ");                                                            \
            printf(__VA_ARGS__);                                                            \
            printf(" (line %d)\n", __LINE__);                                               \
        }                                                                                   \
    } while (0)

/*------------------------------------------------------------ harness */

/* A layer under test: the JSON it came from and what parse said. */
typedef struct tl {
    k2t_layer L;
    json_t *c;
    const k2t_op_def *def;
    k2t_status st; /* parse status */
    k2t_err err;
} tl;

/* Build and parse a layer of class 'cls' from 'json' as a Keras 'major'
** file would hold it. */
static void mk(tl *t, const char *cls, const char *json, int major)
{
    k2t_model m;
    json_error_t je;
    memset(t, 0, sizeof *t);
    memset(&m, 0, sizeof m);
    m.keras_major = major;
    t->L.class_name = (char *)cls;
    t->L.config_json = (char *)json;
    t->def = k2t_op_lookup(cls);
    t->c = json_loads(json, 0, &je);
    if (!t->def || !t->c) {
        printf("not ok - test setup: class %s / JSON %s: %s\n", cls, json, je.text);
        n_failed++;
        t->st = K2T_EARG;
        snprintf(t->err.msg, sizeof t->err.msg, "setup failed");
        return;
    }
    t->L.op = t->def->op;
    t->st = t->def->parse ? t->def->parse(&t->L, t->c, &m, &t->err) : K2T_OK;
}

static void rm(tl *t)
{
    json_decref(t->c);
    free(t->L.unsupported);
    free(t->L.w);
}

static k2t_shape S(int ndim, ...)
{
    k2t_shape s;
    va_list ap;
    memset(&s, 0, sizeof s);
    s.ndim = ndim;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) s.d[i] = va_arg(ap, int);
    va_end(ap);
    return s;
}

static int same_shape(const k2t_shape *a, const k2t_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return 0;
    return 1;
}

static const char *str(const k2t_shape *s)
{
    static char buf[4][160];
    static int k;
    k = (k + 1) % 4;
    return k2t_shape_str(s, 0, buf[k], sizeof buf[k]);
}

/* Parse + infer on one input; checks the output shape. */
static void shape_case(const char *what, const char *cls, const char *json, int major,
                       k2t_shape in, k2t_shape want)
{
    tl t;
    k2t_shape out;
    k2t_err err = {0};
    mk(&t, cls, json, major);
    if (t.st) {
        CHECK(0, "%s: parse failed: %s", what, t.err.msg);
    } else {
        k2t_status st = t.def->infer(&t.L, &in, 1, &out, &err);
        CHECK(st == K2T_OK && same_shape(&out, &want), "%s: %s -> %s, want %s%s%s", what,
              str(&in), st ? "error" : str(&out), str(&want), st ? ": " : "", st ? err.msg : "");
    }
    rm(&t);
}

/* Parse (and infer on 'in' when given) must fail with 'status' and a
** message that contains 'needle'. */
static void error_case(const char *what, const char *cls, const char *json, int major,
                       const k2t_shape *in, int n_in, k2t_status status, const char *needle)
{
    tl t;
    k2t_shape out;
    k2t_err err = {0};
    k2t_status st;
    mk(&t, cls, json, major);
    st = t.st;
    if (st == K2T_OK && in) {
        st = t.def->infer(&t.L, in, n_in, &out, &err);
    } else {
        err = t.err;
    }
    CHECK(st == status && strstr(err.msg, needle), "%s: want status %d and \"%s\", got %d \"%s\"",
          what, status, needle, st, st ? err.msg : "");
    rm(&t);
}

/* The expected weights for input 'in': names and shapes in order. */
static void weights_case(const char *what, const char *cls, const char *json, k2t_shape in,
                         int n, const char *const *names, const k2t_shape *shapes)
{
    tl t;
    k2t_wspec spec[K2T_MAX_WEIGHTS];
    mk(&t, cls, json, 2);
    if (t.st || !t.def->weights) {
        CHECK(0, "%s: parse failed or no weights: %s", what, t.err.msg);
        rm(&t);
        return;
    }
    int got = t.def->weights(&t.L, &in, spec);
    CHECK(got == n, "%s: %d weights, want %d", what, got, n);
    for (int i = 0; i < n && i < got; i++) {
        CHECK(!strcmp(spec[i].name, names[i]) && same_shape(&spec[i].shape, &shapes[i]),
              "%s: weight %d is %s %s, want %s %s", what, i, spec[i].name, str(&spec[i].shape),
              names[i], str(&shapes[i]));
    }
    rm(&t);
}

static void describe_case(const char *what, const char *cls, const char *json, int major,
                          const char *want)
{
    tl t;
    k2t_buf b = {0};
    mk(&t, cls, json, major);
    if (t.st) {
        CHECK(0, "%s: parse failed: %s", what, t.err.msg);
    } else {
        t.def->describe(&t.L, &b);
        CHECK(b.p ? !strcmp(b.p, want) : !*want, "%s: describe gave \"%s\", want \"%s\"", what,
              b.p ? b.p : "", want);
    }
    free(b.p);
    rm(&t);
}

/* torch() for a layer given its loaded weights (names and Keras shapes). */
static void torch_case(const char *what, const char *cls, const char *json, int n,
                       const char *const *names, const k2t_shape *shapes,
                       const char *const *want_sfx, const k2t_shape *want)
{
    tl t;
    mk(&t, cls, json, 2);
    if (t.st || !t.def->torch) {
        CHECK(0, "%s: parse failed or no torch: %s", what, t.err.msg);
        rm(&t);
        return;
    }
    t.L.w = calloc((size_t)n, sizeof *t.L.w);
    t.L.n_w = n;
    for (int i = 0; i < n; i++) {
        t.L.w[i].name = (char *)names[i];
        t.L.w[i].shape = shapes[i];
    }
    for (int i = 0; i < n; i++) {
        k2t_tw tw;
        memset(&tw, 0, sizeof tw);
        int r = t.def->torch(&t.L, i, &tw);
        const char *sfx = tw.suffix;
        k2t_shape s = tw.shape;
        if (!want_sfx[i]) {
            CHECK(r == -1, "%s: weight %s should have no torch counterpart", what, names[i]);
            continue;
        }
        CHECK(r == 0 && !strcmp(sfx, want_sfx[i]) && same_shape(&s, &want[i]),
              "%s: %s -> %s %s, want %s %s", what, names[i], r ? "none" : sfx,
              r ? "" : str(&s), want_sfx[i], str(&want[i]));
    }
    rm(&t);
}

/*--------------------------------------------------------------- tests */

static void test_window(void)
{
    static const struct {
        int64_t in;
        int k, s, d;
        k2t_pad pad;
        int64_t want;
    } t[] = {
        {7, 3, 1, 1, K2T_PAD_VALID, 5},  {7, 3, 2, 1, K2T_PAD_VALID, 3},
        {7, 3, 3, 1, K2T_PAD_VALID, 2},  {8, 3, 1, 1, K2T_PAD_VALID, 6},
        {8, 3, 2, 1, K2T_PAD_VALID, 3},  {8, 3, 3, 1, K2T_PAD_VALID, 2},
        {7, 3, 1, 1, K2T_PAD_SAME, 7},   {7, 3, 2, 1, K2T_PAD_SAME, 4},
        {7, 3, 3, 1, K2T_PAD_SAME, 3},   {8, 3, 1, 1, K2T_PAD_SAME, 8},
        {8, 3, 2, 1, K2T_PAD_SAME, 4},   {8, 3, 3, 1, K2T_PAD_SAME, 3},
        {32, 3, 2, 1, K2T_PAD_SAME, 16}, {10, 3, 1, 2, K2T_PAD_VALID, 6},
        {10, 3, 1, 2, K2T_PAD_SAME, 10}, {10, 3, 1, 2, K2T_PAD_CAUSAL, 10},
        {10, 3, 2, 2, K2T_PAD_CAUSAL, 5}, {4, 3, 1, 2, K2T_PAD_VALID, -2},
        {2, 3, 1, 1, K2T_PAD_VALID, -2}, {3, 3, 1, 1, K2T_PAD_VALID, 1},
        {-1, 3, 2, 1, K2T_PAD_SAME, -1}, {-1, 3, 2, 1, K2T_PAD_VALID, -1},
        {1, 1, 1, 1, K2T_PAD_SAME, 1},   {0, 3, 2, 1, K2T_PAD_SAME, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t got = k2t_window_out(t[i].in, t[i].k, t[i].s, t[i].d, t[i].pad);
        CHECK(got == t[i].want, "window_out(in=%lld, k=%d, s=%d, d=%d, %s) = %lld, want %lld",
              (long long)t[i].in, t[i].k, t[i].s, t[i].d, k2t_pad_name(t[i].pad), (long long)got,
              (long long)t[i].want);
    }
}

static void test_helpers(void)
{
    k2t_shape s = k2t_shape_make(3, 32, -1, 3);
    CHECK(s.ndim == 3 && s.d[0] == 32 && s.d[1] == -1 && s.d[2] == 3, "shape_make");
    CHECK(k2t_norm_axis(-1, 3) == 2, "norm_axis(-1, 3)");
    CHECK(k2t_norm_axis(3, 3) == 2, "norm_axis(3, 3): Keras axis 3 of NHWC is C");
    CHECK(k2t_norm_axis(1, 3) == 0, "norm_axis(1, 3)");
    CHECK(k2t_norm_axis(0, 3) == -1, "norm_axis(0, 3): the batch axis");
    CHECK(k2t_norm_axis(4, 3) == -1, "norm_axis(4, 3)");
    CHECK(k2t_norm_axis(-4, 3) == -1, "norm_axis(-4, 3) is the batch");
    CHECK(k2t_norm_axis(-3, 3) == 0, "norm_axis(-3, 3)");
    for (int a = 0; a < K2T_ACT_COUNT; a++)
        CHECK(strcmp(k2t_act_name((k2t_act)a), "?") != 0, "act %d has a name", a);
    for (int op = 0; op < K2T_OP_COUNT; op++)
        CHECK(strcmp(k2t_op_name((k2t_op)op), "?") != 0, "op %d has a name", op);
    CHECK(!strcmp(k2t_op_name(K2T_OP_CONV), "conv"), "op name conv");

    k2t_err err = {0};
    k2t_shape big = S(3, 100000, 100000, 3);
    CHECK(k2t_shape_check(&big, "output", &err) == K2T_ENOMEM && strstr(err.msg, "output"),
          "shape_check refuses 3e10 elements: %s", err.msg);
    k2t_shape ok = S(3, -1, 1024, 1024);
    CHECK(k2t_shape_check(&ok, "output", &err) == K2T_OK, "shape_check ignores None dims");
    big = S(8, 256, 256, 256, 256, 256, 256, 256, 256); /* 2^64: must not wrap */
    CHECK(k2t_shape_check(&big, "x", &err) == K2T_ENOMEM, "shape_check of 2^64 elements");
}

static void test_readers(void)
{
    json_t *c = json_loads("{\"a\": 3.0, \"b\": 2.5, \"c\": [4], \"d\": \"ten\", \"e\": null,"
                           " \"t\": true, \"one\": 1, \"two\": 2, \"ks\": 3, \"ks3\": [3, 3, 3],"
                           " \"lst\": [1, 2, 3], \"big\": 99999999999, \"pad\": \"SAME\","
                           " \"df\": \"channels_first\", \"act\": \"relu\","
                           " \"init\": {\"class_name\": \"HeNormal\", \"config\": {}},"
                           " \"nan\": \"NaN\"}",
                           0, NULL);
    k2t_err err = {0};
    int i = -7, v[8];
    double x;
    const char *s;
    CHECK(cfg_int(c, "a", 0, &i, &err) == K2T_OK && i == 3, "cfg_int reads 3.0 as 3");
    CHECK(cfg_int(c, "b", 0, &i, &err) == K2T_EFORMAT && strstr(err.msg, "'b'"),
          "cfg_int refuses 2.5: %s", err.msg);
    CHECK(cfg_int(c, "c", 0, &i, &err) == K2T_OK && i == 4, "cfg_int reads [4] as 4");
    CHECK(cfg_int(c, "e", 9, &i, &err) == K2T_OK && i == 9, "cfg_int: null is the default");
    CHECK(cfg_int(c, "zz", 9, &i, &err) == K2T_OK && i == 9, "cfg_int: absent is the default");
    CHECK(cfg_int(c, "big", 0, &i, &err) == K2T_EFORMAT && strstr(err.msg, "'big'"),
          "cfg_int out of range: %s", err.msg);
    CHECK(cfg_int(c, "d", 0, &i, &err) == K2T_EFORMAT &&
              !strcmp(err.msg, "config key 'd' must be an integer, got string \"ten\""),
          "cfg_int message: %s", err.msg);
    CHECK(cfg_bool(c, "t", 0, &i, &err) == K2T_OK && i == 1, "cfg_bool true");
    CHECK(cfg_bool(c, "one", 0, &i, &err) == K2T_OK && i == 1, "cfg_bool 1");
    CHECK(cfg_bool(c, "two", 0, &i, &err) == K2T_EFORMAT && strstr(err.msg, "'two'"),
          "cfg_bool 2: %s", err.msg);
    CHECK(cfg_bool(c, "d", 0, &i, &err) == K2T_EFORMAT, "cfg_bool \"ten\"");
    CHECK(cfg_double(c, "b", 0, &x, &err) == K2T_OK && x == 2.5, "cfg_double");
    CHECK(cfg_double(c, "nan", 0, &x, &err) == K2T_OK && x != x, "cfg_double \"NaN\"");
    CHECK(cfg_double(c, "d", 0, &x, &err) == K2T_EFORMAT, "cfg_double \"ten\"");
    CHECK(cfg_str(c, "d", NULL, &s, &err) == K2T_OK && !strcmp(s, "ten"), "cfg_str");
    CHECK(cfg_str(c, "a", NULL, &s, &err) == K2T_EFORMAT && strstr(err.msg, "'a'"), "cfg_str 3.0");
    CHECK(cfg_ints(c, "ks", 2, 1, v, &err) == K2T_OK && v[0] == 3 && v[1] == 3, "cfg_ints 3");
    CHECK(cfg_ints(c, "zz", 2, 1, v, &err) == K2T_OK && v[0] == 1 && v[1] == 1, "cfg_ints default");
    CHECK(cfg_ints(c, "ks3", 2, 1, v, &err) == K2T_EFORMAT && strstr(err.msg, "'ks3'") &&
              strstr(err.msg, "[3,3,3]"),
          "cfg_ints length: %s", err.msg);
    CHECK(cfg_int_list(c, "lst", v, 8, &i, &err) == K2T_OK && i == 3 && v[2] == 3, "cfg_int_list");
    CHECK(cfg_int_list(c, "ks", v, 8, &i, &err) == K2T_OK && i == 1 && v[0] == 3,
          "cfg_int_list of an int");
    CHECK(cfg_int_list(c, "lst", v, 2, &i, &err) == K2T_EFORMAT, "cfg_int_list too long");
    CHECK(cfg_int_list(c, "e", v, 2, &i, &err) == K2T_OK && i == 0, "cfg_int_list null");
    k2t_pad p;
    CHECK(cfg_padding(c, "pad", &p, &err) == K2T_OK && p == K2T_PAD_SAME, "cfg_padding SAME");
    CHECK(cfg_padding(c, "d", &p, &err) == K2T_EFORMAT && strstr(err.msg, "'d'"), "cfg_padding bad");
    CHECK(cfg_padding(c, "zz", &p, &err) == K2T_OK && p == K2T_PAD_VALID, "cfg_padding default");
    json_t *c2 = json_pack("{s:s}", "data_format", "channels_first");
    CHECK(cfg_channels_first(c2, &i, &err) == K2T_OK && i == 1, "cfg_channels_first");
    json_decref(c2);
    c2 = json_pack("{s:s}", "data_format", "nhwc");
    CHECK(cfg_channels_first(c2, &i, &err) == K2T_EFORMAT && strstr(err.msg, "'data_format'"),
          "cfg_channels_first bad");
    json_decref(c2);
    char init[48];
    cfg_initializer(c, "init", init, sizeof init);
    CHECK(!strcmp(init, "HeNormal"), "cfg_initializer");
    cfg_initializer(c, "zz", init, sizeof init);
    CHECK(!strcmp(init, ""), "cfg_initializer absent");
    json_decref(c);

    /* Activations: names, Keras 3 objects, the hard_sigmoid split. */
    k2t_act a;
    CHECK(k2t_act_parse("hard_sigmoid", 2, &a) == 0 && a == K2T_ACT_HARD_SIGMOID, "hard_sigmoid K2");
    CHECK(k2t_act_parse("hard_sigmoid", 3, &a) == 0 && a == K2T_ACT_HARD_SIGMOID3, "hard_sigmoid K3");
    CHECK(k2t_act_parse("silu", 3, &a) == 0 && a == K2T_ACT_SWISH, "silu is swish");
    CHECK(k2t_act_parse("hard_swish", 3, &a) == 0 && a == K2T_ACT_HARD_SWISH, "hard_swish");
    CHECK(k2t_act_parse("mish", 3, &a) == -1, "mish is unknown");
    char *why = NULL;
    c = json_loads("{\"a\": \"mish\", \"b\": {\"module\": \"keras.activations\", \"class_name\":"
                   " \"function\", \"config\": \"gelu\", \"registered_name\": \"function\"},"
                   " \"c\": 3, \"d\": \"hard_sigmoid\", \"e\": {\"class_name\": \"function\","
                   " \"config\": {\"name\": \"relu6\"}}, \"f\": {\"class_name\": \"LeakyReLU\","
                   " \"config\": {\"name\": \"relu\", \"alpha\": 0.3}}}", 0, NULL);
    CHECK(cfg_activation(c, "a", 3, &a, &why, &err) == K2T_OK && a == K2T_ACT_LINEAR && why &&
              !strcmp(why, "activation 'mish' is not supported"),
          "unknown activation is unsupported, not an error: %s", why ? why : "(none)");
    free(why);
    why = NULL;
    CHECK(cfg_activation(c, "b", 3, &a, &why, &err) == K2T_OK && a == K2T_ACT_GELU && !why,
          "Keras 3 serialized function");
    CHECK(cfg_activation(c, "c", 3, &a, &why, &err) == K2T_EFORMAT && strstr(err.msg, "'c'"),
          "activation 3: %s", err.msg);
    CHECK(cfg_activation(c, "d", 3, &a, &why, &err) == K2T_OK && a == K2T_ACT_HARD_SIGMOID3,
          "hard_sigmoid in a Keras 3 config");
    CHECK(cfg_activation(c, "zz", 3, &a, &why, &err) == K2T_OK && a == K2T_ACT_LINEAR,
          "absent activation is linear");
    CHECK(cfg_activation(c, "e", 3, &a, &why, &err) == K2T_OK && a == K2T_ACT_RELU6 && !why,
          "function object with a config name");
    CHECK(cfg_activation(c, "f", 2, &a, &why, &err) == K2T_OK && a == K2T_ACT_LINEAR && why &&
              strstr(why, "'LeakyReLU'"), "a layer object as activation is named by its class");
    free(why);
    json_decref(c);
}

static void test_registry(void)
{
    for (int op = 1; op < K2T_OP_COUNT; op++) {
        const k2t_op_def *d = k2t_op_def_of((k2t_op)op);
        CHECK(d && (int)d->op == op, "def_of(%s)", k2t_op_name((k2t_op)op));
        if (!d) continue;
        if (op != K2T_OP_UNSUPPORTED)
            CHECK(d->parse && d->infer && d->describe && d->classes[0], "%s has callbacks",
                  k2t_op_name((k2t_op)op));
        CHECK(!d->torch || d->weights, "%s: torch implies weights", k2t_op_name((k2t_op)op));
        for (const char *const *c = d->classes; *c; c++)
            CHECK(k2t_op_lookup(*c) == d, "lookup(%s) finds %s", *c, k2t_op_name((k2t_op)op));
    }
    CHECK(k2t_op_def_of(K2T_OP_NONE) == NULL, "no def for NONE");
    CHECK(k2t_op_lookup("BatchNormalizationV1") == k2t_op_def_of(K2T_OP_BATCHNORM), "BN alias");
    CHECK(k2t_op_lookup("GlobalAvgPool2D") == k2t_op_def_of(K2T_OP_GLOBAL_AVGPOOL), "gap alias");
    CHECK(k2t_op_lookup("MaxPool2D") == k2t_op_def_of(K2T_OP_MAXPOOL), "maxpool alias");
    CHECK(k2t_op_lookup("Convolution2D") == k2t_op_def_of(K2T_OP_CONV), "Convolution2D");
    CHECK(k2t_op_lookup("LSTM") == k2t_op_def_of(K2T_OP_LSTM), "LSTM");
    CHECK(k2t_op_lookup("Bidirectional") == k2t_op_def_of(K2T_OP_BIDIRECTIONAL), "Bidirectional");
    CHECK(k2t_op_lookup("TimeDistributed") == k2t_op_def_of(K2T_OP_TIME_DISTRIBUTED), "TimeDistributed");
    CHECK(k2t_op_lookup("MultiHeadAttention") == NULL, "MultiHeadAttention is not an op (yet)");
    CHECK(k2t_op_lookup("") == NULL && k2t_op_lookup(NULL) == NULL, "empty lookups");
}

/* TimeDistributed: the inner op's parse, infer and weights on one step's
** shape, T put back in front; unsupported inner layers are named. */
static void test_time_distributed(void)
{
    tl t;
    k2t_shape out, in = S(4, 5, 8, 8, 3);
    k2t_wspec spec[K2T_MAX_WEIGHTS];
    mk(&t, "TimeDistributed", "{\"layer\": {\"class_name\": \"Conv2D\", \"config\": {\"filters\": 4, "
       "\"kernel_size\": [3, 3], \"strides\": [2, 2], \"padding\": \"same\"}}}", 2);
    CHECK(t.st == K2T_OK && !t.L.unsupported && t.L.cfg.inner_op == K2T_OP_CONV, "TD(Conv2D) parses: %s", t.err.msg);
    CHECK(t.def->infer(&t.L, &in, 1, &out, &t.err) == K2T_OK, "TD(Conv2D) infers: %s", t.err.msg);
    k2t_shape want = S(4, 5, 4, 4, 4);
    CHECK(same_shape(&out, &want), "TD(Conv2D) (5,8,8,3) -> (5,4,4,4)");
    int n = t.def->weights(&t.L, &in, spec);
    CHECK(n == 2 && !strcmp(spec[0].name, "kernel") && spec[0].shape.d[2] == 3 && spec[0].shape.d[3] == 4,
          "TD(Conv2D) expects the Conv2D's kernel (3,3,3,4) and bias");
    in = S(1, 7);
    CHECK(t.def->infer(&t.L, &in, 1, &out, &t.err) != K2T_OK, "TD needs (T, ...) with an axis after T");
    rm(&t);
    mk(&t, "TimeDistributed", "{\"layer\": {\"class_name\": \"Dense\", \"config\": {\"units\": 6}}}", 2);
    in = S(2, 5, 3);
    CHECK(t.st == K2T_OK && t.def->infer(&t.L, &in, 1, &out, &t.err) == K2T_OK && out.ndim == 2 && out.d[0] == 5 &&
          out.d[1] == 6, "TD(Dense) (5,3) -> (5,6)");
    rm(&t);
    mk(&t, "TimeDistributed", "{\"layer\": {\"class_name\": \"LSTM\", \"config\": {\"units\": 6}}}", 2);
    CHECK(t.st == K2T_OK && t.L.unsupported && strstr(t.L.unsupported, "TimeDistributed LSTM"),
          "TD(LSTM) is kept, unsupported, named");
    rm(&t);
    mk(&t, "TimeDistributed", "{\"layer\": 3}", 2);
    CHECK(t.st == K2T_EFORMAT && strstr(t.err.msg, "'layer'"), "TD without a layer object: the key is named");
    rm(&t);
}

static void test_input(void)
{
    tl t;
    k2t_shape out;
    k2t_err err;
    mk(&t, "InputLayer", "{\"batch_input_shape\": [null, 32, 32, 3], \"dtype\": \"float32\","
                         " \"sparse\": false, \"ragged\": false, \"name\": \"input_1\"}", 2);
    CHECK(t.st == K2T_OK && t.def->infer(&t.L, NULL, 0, &out, &err) == K2T_OK &&
              same_shape(&out, &(k2t_shape){.ndim = 3, .d = {32, 32, 3}}) && !t.L.unsupported,
          "InputLayer K2 batch_input_shape");
    rm(&t);
    mk(&t, "InputLayer", "{\"batch_input_shape\": [null, 3], \"sparse\": true}", 2);
    CHECK(t.st == K2T_OK && t.L.unsupported, "sparse InputLayer is unsupported");
    rm(&t);
    mk(&t, "InputLayer", "{\"batch_shape\": [null, null, 3], \"name\": \"x\"}", 3);
    CHECK(t.st == K2T_OK && t.def->infer(&t.L, NULL, 0, &out, &err) == K2T_OK &&
              same_shape(&out, &(k2t_shape){.ndim = 2, .d = {-1, 3}}),
          "InputLayer K3 batch_shape with None");
    rm(&t);
    mk(&t, "InputLayer", "{\"input_shape\": [10]}", 2);
    CHECK(t.st == K2T_OK && t.def->infer(&t.L, NULL, 0, &out, &err) == K2T_OK &&
              same_shape(&out, &(k2t_shape){.ndim = 1, .d = {10}}), "input_shape has no batch");
    rm(&t);
    mk(&t, "InputLayer", "{\"name\": \"x\"}", 2);
    CHECK(t.st == K2T_OK && t.def->infer(&t.L, NULL, 0, &out, &err) != K2T_OK,
          "InputLayer without a shape cannot infer");
    rm(&t);
    error_case("InputLayer bad dim", "InputLayer", "{\"batch_input_shape\": [null, \"a\"]}", 2,
               NULL, 0, K2T_EFORMAT, "'batch_input_shape'");
    error_case("InputLayer negative dim", "InputLayer", "{\"batch_input_shape\": [null, -3]}", 2,
               NULL, 0, K2T_EFORMAT, "'batch_input_shape'");
    error_case("InputLayer huge", "InputLayer",
               "{\"batch_input_shape\": [null, 100000, 100000, 3]}", 2, NULL, 0, K2T_ENOMEM,
               "elements");
    describe_case("InputLayer describe", "InputLayer", "{\"batch_input_shape\": [null, 32, 32, 3]}",
                  2, "shape=(None, 32, 32, 3)");
}

static void test_conv(void)
{
#define C2(extra) "{\"filters\": 8, \"kernel_size\": [3, 3]" extra "}"
    shape_case("Conv2D same s1", "Conv2D", C2(", \"padding\": \"same\""), 2, S(3, 32, 32, 3),
               S(3, 32, 32, 8));
    shape_case("Conv2D same s2 even", "Conv2D", C2(", \"padding\": \"same\", \"strides\": [2, 2]"),
               2, S(3, 32, 32, 3), S(3, 16, 16, 8));
    shape_case("Conv2D same s2 odd", "Conv2D", C2(", \"padding\": \"same\", \"strides\": 2"), 2,
               S(3, 31, 31, 3), S(3, 16, 16, 8));
    shape_case("Conv2D valid s2 odd", "Conv2D", C2(", \"padding\": \"valid\", \"strides\": 2"), 2,
               S(3, 31, 31, 3), S(3, 15, 15, 8));
    shape_case("Conv2D valid s2 even", "Conv2D", C2(", \"strides\": 2"), 2, S(3, 32, 32, 3),
               S(3, 15, 15, 8));
    shape_case("Conv2D same s3", "Conv2D", C2(", \"padding\": \"same\", \"strides\": 3"), 2,
               S(3, 10, 11, 3), S(3, 4, 4, 8));
    shape_case("Conv2D valid s3", "Conv2D", C2(", \"strides\": 3"), 2, S(3, 10, 11, 3),
               S(3, 3, 3, 8));
    shape_case("Conv2D dilation 2 valid", "Conv2D", C2(", \"dilation_rate\": 2"), 2,
               S(3, 9, 10, 3), S(3, 5, 6, 8));
    shape_case("Conv2D dilation 2 same", "Conv2D", C2(", \"dilation_rate\": [2, 2], \"padding\": "
               "\"same\""), 2, S(3, 9, 10, 3), S(3, 9, 10, 8));
    shape_case("Conv2D 3x1 kernel", "Conv2D",
               "{\"filters\": 4, \"kernel_size\": [3, 1], \"padding\": \"valid\"}", 2,
               S(3, 30, 1, 40), S(3, 28, 1, 4));
    shape_case("Conv2D unknown spatial", "Conv2D", C2(", \"strides\": 2"), 2, S(3, -1, -1, 3),
               S(3, -1, -1, 8));
    shape_case("Conv2D channels_first", "Conv2D",
               C2(", \"padding\": \"same\", \"strides\": 2, \"data_format\": \"channels_first\""),
               2, S(3, 3, 32, 31), S(3, 8, 16, 16));
    shape_case("Conv2D groups", "Conv2D", C2(", \"groups\": 4"), 2, S(3, 8, 8, 8), S(3, 6, 6, 8));
    shape_case("Conv1D valid", "Conv1D", "{\"filters\": 16, \"kernel_size\": 5}", 2, S(2, 100, 8),
               S(2, 96, 16));
    shape_case("Conv1D causal s1", "Conv1D",
               "{\"filters\": 16, \"kernel_size\": [5], \"padding\": \"causal\"}", 2,
               S(2, 100, 8), S(2, 100, 16));
    shape_case("Conv1D causal dilated s2", "Conv1D",
               "{\"filters\": 16, \"kernel_size\": [3], \"strides\": [2], \"dilation_rate\": [4],"
               " \"padding\": \"causal\"}", 2, S(2, 101, 8), S(2, 51, 16));
    shape_case("Conv1D unknown length", "Conv1D", "{\"filters\": 16, \"kernel_size\": 3}", 2,
               S(2, -1, 8), S(2, -1, 16));
    shape_case("Convolution2D alias", "Convolution2D", C2(""), 2, S(3, 5, 5, 1), S(3, 3, 3, 8));

    /* Shapes that cannot be, and configs Keras would refuse. */
    k2t_shape small = S(3, 5, 5, 3), in8 = S(3, 8, 8, 6), in1 = S(2, 5, 8);
    error_case("Conv2D kernel > input", "Conv2D", "{\"filters\": 8, \"kernel_size\": 7}", 2,
               &small, 1, K2T_ESHAPE, "input 5x5 is smaller than the 7x7 kernel");
    error_case("Conv2D dilated kernel > input", "Conv2D",
               "{\"filters\": 8, \"kernel_size\": 3, \"dilation_rate\": 3}", 2, &small, 1,
               K2T_ESHAPE, "dilated to 7x7");
    error_case("Conv1D kernel > input", "Conv1D", "{\"filters\": 8, \"kernel_size\": 7}", 2, &in1,
               1, K2T_ESHAPE, "shorter than the kernel size 7");
    error_case("Conv2D rank", "Conv2D", C2(""), 2, &in1, 1, K2T_ESHAPE, "3-dimensional");
    error_case("Conv2D groups vs channels", "Conv2D", C2(", \"groups\": 4"), 2, &in8, 1,
               K2T_ESHAPE, "groups=4");
    error_case("Conv2D groups vs filters", "Conv2D",
               "{\"filters\": 6, \"kernel_size\": 3, \"groups\": 4}", 2, NULL, 0, K2T_EFORMAT,
               "'groups'");
    error_case("Conv2D filters 0", "Conv2D", "{\"filters\": 0, \"kernel_size\": 3}", 2, NULL, 0,
               K2T_EFORMAT, "config key 'filters' must be positive");
    error_case("Conv2D no filters", "Conv2D", "{\"kernel_size\": 3}", 2, NULL, 0, K2T_EFORMAT,
               "config key 'filters' is missing");
    error_case("Conv2D no kernel_size", "Conv2D", "{\"filters\": 3}", 2, NULL, 0, K2T_EFORMAT,
               "'kernel_size'");
    error_case("Conv2D kernel_size 3 entries", "Conv2D",
               "{\"filters\": 3, \"kernel_size\": [3, 3, 3]}", 2, NULL, 0, K2T_EFORMAT,
               "'kernel_size'");
    error_case("Conv2D strides 0", "Conv2D", "{\"filters\": 3, \"kernel_size\": 3, \"strides\": 0}",
               2, NULL, 0, K2T_EFORMAT, "'strides'");
    error_case("Conv2D dilation -1", "Conv2D",
               "{\"filters\": 3, \"kernel_size\": 3, \"dilation_rate\": -1}", 2, NULL, 0,
               K2T_EFORMAT, "'dilation_rate'");
    error_case("Conv2D causal", "Conv2D",
               "{\"filters\": 3, \"kernel_size\": 3, \"padding\": \"causal\"}", 2, NULL, 0,
               K2T_EFORMAT, "'padding'");
    error_case("Conv2D padding full", "Conv2D",
               "{\"filters\": 3, \"kernel_size\": 3, \"padding\": \"full\"}", 2, NULL, 0,
               K2T_EFORMAT, "'padding'");
    error_case("Conv2D filters string", "Conv2D", "{\"filters\": \"ten\", \"kernel_size\": 3}", 2,
               NULL, 0, K2T_EFORMAT, "config key 'filters' must be an integer, got string \"ten\"");
    error_case("Conv2D use_bias 7", "Conv2D",
               "{\"filters\": 3, \"kernel_size\": 3, \"use_bias\": 7}", 2, NULL, 0, K2T_EFORMAT,
               "'use_bias'");
    k2t_shape wide = S(3, 1000, 1000, 3);
    error_case("Conv2D absurd filters", "Conv2D",
               "{\"filters\": 2000000000, \"kernel_size\": 1}", 2, &wide, 1, K2T_ENOMEM,
               "elements");
    k2t_shape deep = S(3, 4, 4, 100000);
    error_case("Conv2D absurd kernel", "Conv2D",
               "{\"filters\": 100000, \"kernel_size\": 3, \"padding\": \"same\"}", 2, &deep, 1,
               K2T_ENOMEM, "kernel");

    /* Weights and what the loader reads for them. */
    weights_case("Conv2D weights", "Conv2D", C2(""), S(3, 8, 8, 16), 2,
                 (const char *[]){"kernel", "bias"}, (k2t_shape[]){S(4, 3, 3, 16, 8), S(1, 8)});
    weights_case("Conv2D grouped weights", "Conv2D", C2(", \"groups\": 2, \"use_bias\": false"),
                 S(3, 8, 8, 16), 1, (const char *[]){"kernel"}, (k2t_shape[]){S(4, 3, 3, 8, 8)});
    weights_case("Conv1D weights", "Conv1D", "{\"filters\": 16, \"kernel_size\": 5}", S(2, 100, 8),
                 2, (const char *[]){"kernel", "bias"}, (k2t_shape[]){S(3, 5, 8, 16), S(1, 16)});
    weights_case("Conv2D weights, channels unknown", "Conv2D", C2(""), S(3, 8, 8, -1), 2,
                 (const char *[]){"kernel", "bias"}, (k2t_shape[]){S(4, 3, 3, -1, 8), S(1, 8)});

    tl t;
    mk(&t, "Conv2D", C2(", \"data_format\": \"channels_first\""), 2);
    CHECK(t.st == K2T_OK && !t.L.unsupported && t.L.cfg.channels_first,
          "channels_first Conv2D executes");
    rm(&t);
    mk(&t, "Conv2D", C2(", \"data_format\": \"channels_first\", \"activation\": \"softmax\""), 2);
    CHECK(t.st == K2T_OK && t.L.unsupported && strstr(t.L.unsupported, "channels_first"),
          "channels_first Conv2D with a fused softmax (over W) is unsupported");
    rm(&t);
    mk(&t, "Conv2D", "{\"filters\": 8, \"kernel_size\": 3, \"activation\": \"mish\","
                     " \"kernel_initializer\": {\"class_name\": \"HeNormal\", \"config\": {}},"
                     " \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}}", 2);
    CHECK(t.st == K2T_OK && t.L.unsupported && strstr(t.L.unsupported, "'mish'"),
          "Conv2D with an unknown activation is unsupported");
    CHECK(!strcmp(t.L.cfg.initializer, "HeNormal") && !strcmp(t.L.cfg.bias_initializer, "Zeros"),
          "Conv2D initializers");
    rm(&t);

    describe_case("Conv2D describe", "Conv2D",
                  "{\"filters\": 32, \"kernel_size\": [3, 3], \"strides\": [2, 2], \"padding\":"
                  " \"same\", \"activation\": \"linear\", \"use_bias\": true}", 2,
                  "filters=32, kernel=3x3, strides=2x2, padding=same, dilation=1x1, groups=1, "
                  "use_bias=1, activation=linear");
    describe_case("Conv1D describe", "Conv1D",
                  "{\"filters\": 4, \"kernel_size\": 3, \"padding\": \"causal\", \"activation\":"
                  " \"relu\"}", 2,
                  "filters=4, kernel=3, strides=1, padding=causal, dilation=1, groups=1, "
                  "use_bias=1, activation=relu");
    torch_case("Conv2D torch", "Conv2D", C2(""), 2, (const char *[]){"kernel", "bias"},
               (k2t_shape[]){S(4, 3, 3, 16, 32), S(1, 32)}, (const char *[]){"weight", "bias"},
               (k2t_shape[]){S(4, 32, 16, 3, 3), S(1, 32)});
    torch_case("Conv1D torch", "Conv1D", "{\"filters\": 16, \"kernel_size\": 5}", 1,
               (const char *[]){"kernel"}, (k2t_shape[]){S(3, 5, 8, 16)},
               (const char *[]){"weight"}, (k2t_shape[]){S(3, 16, 8, 5)});
#undef C2
}

static void test_conv_transpose(void)
{
#define T(extra) "{\"filters\": 8, \"kernel_size\": 3, \"strides\": 2" extra "}"
    shape_case("Conv2DTranspose same", "Conv2DTranspose", T(", \"padding\": \"same\""), 2,
               S(3, 7, 7, 16), S(3, 14, 14, 8));
    shape_case("Conv2DTranspose valid", "Conv2DTranspose", T(", \"padding\": \"valid\""), 2,
               S(3, 7, 7, 16), S(3, 15, 15, 8));
    shape_case("Conv2DTranspose valid k1 s2", "Conv2DTranspose",
               "{\"filters\": 8, \"kernel_size\": 1, \"strides\": 2}", 2, S(3, 7, 7, 16),
               S(3, 14, 14, 8));
    shape_case("Conv2DTranspose same op=1", "Conv2DTranspose",
               T(", \"padding\": \"same\", \"output_padding\": 1"), 2, S(3, 7, 7, 16),
               S(3, 14, 14, 8));
    shape_case("Conv2DTranspose same op=0 differs from none", "Conv2DTranspose",
               T(", \"padding\": \"same\", \"output_padding\": [0, 0]"), 2, S(3, 7, 7, 16),
               S(3, 13, 13, 8));
    shape_case("Conv2DTranspose valid op=1", "Conv2DTranspose",
               T(", \"padding\": \"valid\", \"output_padding\": [1, 1]"), 2, S(3, 7, 7, 16),
               S(3, 16, 16, 8));
    shape_case("Conv2DTranspose k4 s2 same", "Conv2DTranspose",
               "{\"filters\": 8, \"kernel_size\": 4, \"strides\": 2, \"padding\": \"same\"}", 2,
               S(3, 5, 6, 16), S(3, 10, 12, 8));
    shape_case("Conv2DTranspose dilated valid", "Conv2DTranspose",
               "{\"filters\": 8, \"kernel_size\": 3, \"dilation_rate\": 2}", 2, S(3, 5, 5, 16),
               S(3, 9, 9, 8));
    shape_case("Conv2DTranspose unknown", "Conv2DTranspose", T(""), 2, S(3, -1, 7, 16),
               S(3, -1, 15, 8));
    error_case("Conv2DTranspose output_padding >= stride", "Conv2DTranspose",
               T(", \"output_padding\": 2"), 2, NULL, 0, K2T_EFORMAT, "'output_padding'");
    weights_case("Conv2DTranspose weights: filters before input", "Conv2DTranspose", T(""),
                 S(3, 7, 7, 16), 2, (const char *[]){"kernel", "bias"},
                 (k2t_shape[]){S(4, 3, 3, 8, 16), S(1, 8)});
    torch_case("ConvTranspose2d torch", "Conv2DTranspose", T(""), 2,
               (const char *[]){"kernel", "bias"}, (k2t_shape[]){S(4, 3, 3, 8, 16), S(1, 8)},
               (const char *[]){"weight", "bias"}, (k2t_shape[]){S(4, 16, 8, 3, 3), S(1, 8)});
    describe_case("Conv2DTranspose describe", "Conv2DTranspose",
                  T(", \"padding\": \"same\", \"output_padding\": 1"), 2,
                  "filters=8, kernel=3x3, strides=2x2, padding=same, output_padding=1x1, "
                  "dilation=1x1, use_bias=1, activation=linear");
#undef T
}

static void test_depthwise(void)
{
    const char *dw = "{\"kernel_size\": [3, 3], \"strides\": [1, 1], \"padding\": \"same\","
                     " \"depth_multiplier\": 2, \"use_bias\": true, \"groups\": 1,"
                     " \"depthwise_initializer\": {\"class_name\": \"GlorotUniform\"}}";
    shape_case("DepthwiseConv2D M=2", "DepthwiseConv2D", dw, 2, S(3, 96, 96, 8),
               S(3, 96, 96, 16));
    shape_case("DepthwiseConv2D 3x1 valid (DS-CNN)", "DepthwiseConv2D",
               "{\"kernel_size\": [3, 1], \"strides\": [1, 1], \"padding\": \"valid\","
               " \"depth_multiplier\": 1, \"use_bias\": false}", 2, S(3, 30, 1, 40),
               S(3, 28, 1, 40));
    shape_case("DepthwiseConv2D s2 same", "DepthwiseConv2D",
               "{\"kernel_size\": 3, \"strides\": 2, \"padding\": \"same\"}", 2, S(3, 48, 47, 32),
               S(3, 24, 24, 32));
    weights_case("DepthwiseConv2D weights", "DepthwiseConv2D", dw, S(3, 96, 96, 8), 2,
                 (const char *[]){"depthwise_kernel", "bias"},
                 (k2t_shape[]){S(4, 3, 3, 8, 2), S(1, 16)});
    {
        tl t;
        k2t_wspec spec[K2T_MAX_WEIGHTS];
        k2t_shape in = S(3, 4, 4, 8);
        mk(&t, "DepthwiseConv2D", dw, 3);
        t.def->weights(&t.L, &in, spec);
        CHECK(spec[0].alt && !strcmp(spec[0].alt, "kernel"), "Keras 3 depthwise name 'kernel'");
        CHECK(!strcmp(t.L.cfg.initializer, "GlorotUniform"), "depthwise_initializer");
        rm(&t);
    }
    error_case("DepthwiseConv2D multiplier 0", "DepthwiseConv2D",
               "{\"kernel_size\": 3, \"depth_multiplier\": 0}", 2, NULL, 0, K2T_EFORMAT,
               "'depth_multiplier'");
    describe_case("DepthwiseConv2D describe", "DepthwiseConv2D", dw, 2,
                  "depth_multiplier=2, kernel=3x3, strides=1x1, padding=same, dilation=1x1, "
                  "use_bias=1, activation=linear");
    torch_case("DepthwiseConv2D torch", "DepthwiseConv2D", dw, 2,
               (const char *[]){"depthwise_kernel", "bias"},
               (k2t_shape[]){S(4, 3, 3, 8, 2), S(1, 16)}, (const char *[]){"weight", "bias"},
               (k2t_shape[]){S(4, 16, 1, 3, 3), S(1, 16)});
    torch_case("DepthwiseConv2D torch, Keras 3 name", "DepthwiseConv2D", dw, 1,
               (const char *[]){"kernel"}, (k2t_shape[]){S(4, 3, 3, 8, 2)},
               (const char *[]){"weight"}, (k2t_shape[]){S(4, 16, 1, 3, 3)});

    const char *sep = "{\"filters\": 32, \"kernel_size\": 3, \"padding\": \"same\","
                      " \"depth_multiplier\": 2}";
    shape_case("SeparableConv2D", "SeparableConv2D", sep, 2, S(3, 16, 16, 8), S(3, 16, 16, 32));
    weights_case("SeparableConv2D weights", "SeparableConv2D", sep, S(3, 16, 16, 8), 3,
                 (const char *[]){"depthwise_kernel", "pointwise_kernel", "bias"},
                 (k2t_shape[]){S(4, 3, 3, 8, 2), S(4, 1, 1, 16, 32), S(1, 32)});
    torch_case("SeparableConv2D torch", "SeparableConv2D", sep, 3,
               (const char *[]){"depthwise_kernel", "pointwise_kernel", "bias"},
               (k2t_shape[]){S(4, 3, 3, 8, 2), S(4, 1, 1, 16, 32), S(1, 32)},
               (const char *[]){"depthwise.weight", "pointwise.weight", "pointwise.bias"},
               (k2t_shape[]){S(4, 16, 1, 3, 3), S(4, 32, 16, 1, 1), S(1, 32)});
    describe_case("SeparableConv2D describe", "SeparableConv2D", sep, 2,
                  "filters=32, depth_multiplier=2, kernel=3x3, strides=1x1, padding=same, "
                  "dilation=1x1, use_bias=1, activation=linear");
}

static void test_dense(void)
{
    const char *d = "{\"units\": 10, \"activation\": \"softmax\", \"use_bias\": true}";
    shape_case("Dense", "Dense", d, 2, S(1, 64), S(1, 10));
    shape_case("Dense rank 3", "Dense", d, 2, S(2, 5, 64), S(2, 5, 10));
    shape_case("Dense unknown leading", "Dense", d, 2, S(2, -1, 64), S(2, -1, 10));
    weights_case("Dense weights", "Dense", d, S(2, 5, 64), 2, (const char *[]){"kernel", "bias"},
                 (k2t_shape[]){S(2, 64, 10), S(1, 10)});
    weights_case("Dense no bias", "Dense", "{\"units\": 3, \"use_bias\": false}", S(1, 7), 1,
                 (const char *[]){"kernel"}, (k2t_shape[]){S(2, 7, 3)});
    describe_case("Dense describe", "Dense", d, 2, "units=10, use_bias=1, activation=softmax");
    torch_case("Linear torch", "Dense", d, 2, (const char *[]){"kernel", "bias"},
               (k2t_shape[]){S(2, 64, 10), S(1, 10)}, (const char *[]){"weight", "bias"},
               (k2t_shape[]){S(2, 10, 64), S(1, 10)});
    error_case("Dense units string", "Dense", "{\"units\": \"ten\"}", 2, NULL, 0, K2T_EFORMAT,
               "config key 'units' must be an integer, got string \"ten\"");
    error_case("Dense units 0", "Dense", "{\"units\": 0}", 2, NULL, 0, K2T_EFORMAT, "'units'");
    error_case("Dense units missing", "Dense", "{\"activation\": \"relu\"}", 2, NULL, 0,
               K2T_EFORMAT, "'units'");
    error_case("Dense activation number", "Dense", "{\"units\": 3, \"activation\": 3}", 2, NULL, 0,
               K2T_EFORMAT, "'activation'");
    k2t_shape scalar = S(0), wide = S(1, 100000);
    error_case("Dense on a scalar", "Dense", d, 2, &scalar, 1, K2T_ESHAPE, "scalar");
    error_case("Dense absurd kernel", "Dense", "{\"units\": 100000}", 2, &wide, 1, K2T_ENOMEM,
               "kernel");
    tl t;
    mk(&t, "Dense", "{\"units\": 3, \"activation\": \"hard_sigmoid\"}", 3);
    CHECK(t.st == K2T_OK && t.L.cfg.act == K2T_ACT_HARD_SIGMOID3, "Dense hard_sigmoid in Keras 3");
    rm(&t);
    mk(&t, "Dense", "{\"units\": 3, \"activation\": \"hard_sigmoid\"}", 2);
    CHECK(t.st == K2T_OK && t.L.cfg.act == K2T_ACT_HARD_SIGMOID, "Dense hard_sigmoid in Keras 2");
    rm(&t);
}

static void test_norm(void)
{
    /* Verbatim from str_ww_ref_model.h5 (Keras 2.14): note "scale": 1. */
    const char *bn =
        "{\"name\": \"batch_normalization\", \"trainable\": true, \"dtype\": \"float32\", "
        "\"axis\": [3], \"momentum\": 0.99, \"epsilon\": 0.001, \"center\": true, \"scale\": 1, "
        "\"beta_initializer\": {\"module\": \"keras.initializers\", \"class_name\": \"Zeros\", "
        "\"config\": {}, \"registered_name\": null}, \"gamma_initializer\": {\"module\": "
        "\"keras.initializers\", \"class_name\": \"Ones\", \"config\": {}, \"registered_name\": "
        "null}, \"beta_regularizer\": null, \"gamma_regularizer\": null}";
    static const char *const four[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    shape_case("BN", "BatchNormalization", bn, 2, S(3, 28, 1, 64), S(3, 28, 1, 64));
    weights_case("BN weights", "BatchNormalization", bn, S(3, 28, 1, 64), 4, four,
                 (k2t_shape[]){S(1, 64), S(1, 64), S(1, 64), S(1, 64)});
    weights_case("BN scale=false", "BatchNormalization", "{\"scale\": false}", S(3, 4, 4, 6), 3,
                 four + 1, (k2t_shape[]){S(1, 6), S(1, 6), S(1, 6)});
    weights_case("BN center=false scale=0", "BatchNormalization",
                 "{\"center\": false, \"scale\": 0, \"axis\": 1}", S(1, 128), 2, four + 2,
                 (k2t_shape[]){S(1, 128), S(1, 128)});
    weights_case("BN axis 1 of (C, H, W)", "BatchNormalization", "{\"axis\": 1}", S(3, 6, 4, 4),
                 4, four, (k2t_shape[]){S(1, 6), S(1, 6), S(1, 6), S(1, 6)});
    {
        tl t;
        k2t_wspec spec[K2T_MAX_WEIGHTS];
        k2t_shape in = S(3, 4, 4, 6);
        mk(&t, "BatchNormalization", bn, 2);
        int n = t.def->weights(&t.L, &in, spec);
        CHECK(n == 4 && spec[0].trainable && spec[1].trainable && !spec[2].trainable &&
                  !spec[3].trainable, "BN moving statistics are not trainable");
        CHECK(!strcmp(t.L.cfg.initializer, "Ones") && !strcmp(t.L.cfg.bias_initializer, "Zeros"),
              "BN gamma/beta initializers");
        rm(&t);
        mk(&t, "BatchNormalization", "{\"renorm\": true}", 2);
        n = t.def->weights(&t.L, &in, spec);
        CHECK(t.st == K2T_OK && t.L.unsupported && strstr(t.L.unsupported, "renorm") && n == 7 &&
                  !strcmp(spec[4].name, "moving_stddev") && !strcmp(spec[6].name, "renorm_stddev"),
              "BN renorm: 7 weights and unsupported");
        rm(&t);
    }
    k2t_shape in3 = S(3, 32, 32, 16);
    error_case("BN axis out of range", "BatchNormalization", "{\"axis\": [4]}", 2, &in3, 1,
               K2T_ESHAPE, "axis 4");
    error_case("BN axis 0 is the batch", "BatchNormalization", "{\"axis\": 0}", 2, &in3, 1,
               K2T_ESHAPE, "axis 0");
    error_case("BN center 2", "BatchNormalization", "{\"center\": 2}", 2, NULL, 0, K2T_EFORMAT,
               "'center'");
    error_case("BN epsilon string", "BatchNormalization", "{\"epsilon\": \"small\"}", 2, NULL, 0,
               K2T_EFORMAT, "'epsilon'");
    describe_case("BN describe", "BatchNormalization", "{}", 2,
                  "axis=-1, epsilon=0.001, momentum=0.99, center=1, scale=1");
    describe_case("BN describe tf.keras", "BatchNormalization", bn, 2,
                  "axis=3, epsilon=0.001, momentum=0.99, center=1, scale=1");
    torch_case("BatchNorm2d torch", "BatchNormalization", "{\"scale\": false}", 3, four + 1,
               (k2t_shape[]){S(1, 6), S(1, 6), S(1, 6)},
               (const char *[]){"bias", "running_mean", "running_var"},
               (k2t_shape[]){S(1, 6), S(1, 6), S(1, 6)});
    torch_case("BN renorm stats have no torch slot", "BatchNormalization", "{\"renorm\": true}", 1,
               (const char *[]){"renorm_mean"}, (k2t_shape[]){S(1, 6)}, (const char *[]){NULL},
               (k2t_shape[]){S(0)});

    weights_case("LN default axis", "LayerNormalization", "{\"epsilon\": 1e-6}", S(2, 10, 64), 2,
                 four, (k2t_shape[]){S(1, 64), S(1, 64)});
    weights_case("LN two axes", "LayerNormalization", "{\"axis\": [2, 3]}", S(3, 4, 5, 6), 2, four,
                 (k2t_shape[]){S(2, 5, 6), S(2, 5, 6)});
    weights_case("LN rms_scaling", "LayerNormalization", "{\"rms_scaling\": true}", S(1, 8), 1,
                 four, (k2t_shape[]){S(1, 8)});
    shape_case("LN", "LayerNormalization", "{\"axis\": -1}", 3, S(2, 10, 64), S(2, 10, 64));
    error_case("LN duplicate axis", "LayerNormalization", "{\"axis\": [2, -1]}", 2,
               &(k2t_shape){.ndim = 2, .d = {10, 64}}, 1, K2T_EFORMAT, "twice");
    describe_case("LN describe", "LayerNormalization", "{\"axis\": [1, 2], \"epsilon\": 1e-5}", 2,
                  "axis=[1, 2], epsilon=1e-05, center=1, scale=1");
}

static void test_activation(void)
{
    tl t;
    mk(&t, "Activation", "{\"activation\": \"relu\"}", 2);
    CHECK(t.st == K2T_OK && t.L.cfg.act == K2T_ACT_RELU && !t.L.unsupported, "Activation relu");
    rm(&t);
    mk(&t, "Activation", "{\"activation\": \"hard_sigmoid\"}", 3);
    CHECK(t.L.cfg.act == K2T_ACT_HARD_SIGMOID3, "Activation hard_sigmoid, Keras 3");
    rm(&t);
    mk(&t, "Activation", "{\"activation\": \"hard_sigmoid\"}", 2);
    CHECK(t.L.cfg.act == K2T_ACT_HARD_SIGMOID, "Activation hard_sigmoid, Keras 2");
    rm(&t);
    mk(&t, "Activation", "{\"activation\": \"log_softmax\"}", 3);
    CHECK(t.st == K2T_OK && t.L.unsupported &&
              !strcmp(t.L.unsupported, "activation 'log_softmax' is not supported"),
          "Activation log_softmax is unsupported");
    rm(&t);
    describe_case("Activation describe", "Activation", "{\"activation\": \"swish\"}", 2,
                  "activation=swish");
    shape_case("Activation shape", "Activation", "{\"activation\": \"tanh\"}", 2, S(2, -1, 7),
               S(2, -1, 7));

    mk(&t, "ReLU", "{\"max_value\": 6.0, \"negative_slope\": 0.0, \"threshold\": 0.0}", 2);
    CHECK(t.st == K2T_OK && t.L.cfg.has_max_value && t.L.cfg.max_value == 6, "ReLU6");
    rm(&t);
    mk(&t, "ReLU", "{\"max_value\": null, \"negative_slope\": 0.1}", 2);
    CHECK(t.st == K2T_OK && !t.L.cfg.has_max_value && t.L.cfg.negative_slope == 0.1,
          "ReLU max_value null");
    rm(&t);
    describe_case("ReLU describe", "ReLU", "{\"max_value\": 6}", 2,
                  "max_value=6, negative_slope=0, threshold=0");
    error_case("ReLU negative max", "ReLU", "{\"max_value\": -1}", 2, NULL, 0, K2T_EFORMAT,
               "'max_value'");
    error_case("ReLU negative slope", "ReLU", "{\"negative_slope\": -0.5}", 2, NULL, 0,
               K2T_EFORMAT, "'negative_slope'");

    mk(&t, "LeakyReLU", "{\"alpha\": 0.1}", 2);
    CHECK(t.L.cfg.alpha == 0.1, "LeakyReLU alpha (Keras 2)");
    rm(&t);
    mk(&t, "LeakyReLU", "{\"negative_slope\": 0.2}", 3);
    CHECK(t.L.cfg.alpha == 0.2, "LeakyReLU negative_slope (Keras 3)");
    rm(&t);
    mk(&t, "LeakyReLU", "{}", 2);
    CHECK(t.L.cfg.alpha == 0.3, "LeakyReLU default 0.3");
    rm(&t);
    mk(&t, "ELU", "{}", 2);
    CHECK(t.L.cfg.alpha == 1.0, "ELU default alpha");
    rm(&t);

    weights_case("PReLU shared H, W", "PReLU", "{\"shared_axes\": [1, 2]}", S(3, 8, 8, 16), 1,
                 (const char *[]){"alpha"}, (k2t_shape[]){S(3, 1, 1, 16)});
    weights_case("PReLU unshared", "PReLU", "{\"shared_axes\": null}", S(3, 8, 8, 16), 1,
                 (const char *[]){"alpha"}, (k2t_shape[]){S(3, 8, 8, 16)});
    torch_case("PReLU torch shared", "PReLU", "{\"shared_axes\": [1, 2]}", 1,
               (const char *[]){"alpha"}, (k2t_shape[]){S(3, 1, 1, 16)},
               (const char *[]){"weight"}, (k2t_shape[]){S(1, 16)});
    torch_case("PReLU torch unshared", "PReLU", "{}", 1, (const char *[]){"alpha"},
               (k2t_shape[]){S(3, 8, 4, 16)}, (const char *[]){"weight"},
               (k2t_shape[]){S(3, 16, 8, 4)});
    k2t_shape in3 = S(3, 8, 8, 16);
    error_case("PReLU shared axis 4", "PReLU", "{\"shared_axes\": [4]}", 2, &in3, 1, K2T_ESHAPE,
               "'shared_axes'");
    describe_case("PReLU describe", "PReLU", "{\"shared_axes\": [1, 2]}", 2, "shared_axes=[1, 2]");

    describe_case("Softmax describe", "Softmax", "{}", 2, "axis=-1");
    error_case("Softmax axis 3 of (N, 10)", "Softmax", "{\"axis\": 3}", 2,
               &(k2t_shape){.ndim = 1, .d = {10}}, 1, K2T_ESHAPE, "axis 3");
}

static void test_merge(void)
{
    tl t;
    k2t_shape out, in[3];
    k2t_err err = {0};

    mk(&t, "Add", "{\"name\": \"add\"}", 2);
    in[0] = S(3, 8, 8, 16), in[1] = S(3, 8, 8, 16), in[2] = S(3, 8, -1, 16);
    CHECK(t.def->infer(&t.L, in, 3, &out, &err) == K2T_OK && same_shape(&out, &in[0]), "Add x3");
    in[0] = S(2, -1, 16), in[1] = S(2, 8, 16);
    CHECK(t.def->infer(&t.L, in, 2, &out, &err) == K2T_OK &&
              same_shape(&out, &(k2t_shape){.ndim = 2, .d = {8, 16}}),
          "Add: None matches and the known dim wins");
    in[0] = S(3, 8, 8, 16), in[1] = S(3, 8, 8, 32);
    CHECK(t.def->infer(&t.L, in, 2, &out, &err) == K2T_ESHAPE && strstr(err.msg, "input 1") &&
              strstr(err.msg, "(None, 8, 8, 32)") && strstr(err.msg, "(None, 8, 8, 16)"),
          "Add mismatch names both: %s", err.msg);
    in[0] = S(2, -1, 16), in[1] = S(2, 8, 16), in[2] = S(2, 4, 16);
    CHECK(t.def->infer(&t.L, in, 3, &out, &err) == K2T_ESHAPE && strstr(err.msg, "input 2") &&
              strstr(err.msg, "input 1"), "Add blames the input that disagrees: %s", err.msg);
    in[1] = S(1, 16);
    CHECK(t.def->infer(&t.L, in, 2, &out, &err) == K2T_ESHAPE, "Add rank mismatch");
    rm(&t);
    mk(&t, "Subtract", "{}", 2);
    in[0] = in[1] = in[2] = S(1, 4);
    CHECK(t.def->infer(&t.L, in, 3, &out, &err) == K2T_ESHAPE, "Subtract takes 2");
    CHECK(t.def->min_in == 2 && t.def->max_in == 2, "Subtract arity");
    rm(&t);

    mk(&t, "Concatenate", "{\"axis\": -1}", 2);
    in[0] = S(3, 8, 8, 16), in[1] = S(3, 8, 8, 32);
    CHECK(t.def->infer(&t.L, in, 2, &out, &err) == K2T_OK &&
              same_shape(&out, &(k2t_shape){.ndim = 3, .d = {8, 8, 48}}), "Concatenate -1");
    in[1] = S(3, 8, 8, -1);
    CHECK(t.def->infer(&t.L, in, 2, &out, &err) == K2T_OK && out.d[2] == -1,
          "Concatenate unknown sum");
    in[1] = S(3, 4, 8, 32);
    CHECK(t.def->infer(&t.L, in, 2, &out, &err) == K2T_ESHAPE && strstr(err.msg, "input 1"),
          "Concatenate non-axis mismatch: %s", err.msg);
    rm(&t);
    mk(&t, "Concatenate", "{\"axis\": 1}", 2);
    in[0] = S(3, 4, 8, 3), in[1] = S(3, 6, 8, 3), in[2] = S(3, 1, 8, 3);
    CHECK(t.def->infer(&t.L, in, 3, &out, &err) == K2T_OK &&
              same_shape(&out, &(k2t_shape){.ndim = 3, .d = {11, 8, 3}}), "Concatenate axis 1");
    rm(&t);
    mk(&t, "Concatenate", "{\"axis\": 0}", 2);
    CHECK(t.def->infer(&t.L, in, 2, &out, &err) == K2T_ESHAPE && strstr(err.msg, "axis 0"),
          "Concatenate on the batch axis");
    rm(&t);
    describe_case("Concatenate describe", "Concatenate", "{}", 2, "axis=-1");
    describe_case("Add describe", "Add", "{}", 2, "");
}

static void test_reshape(void)
{
    shape_case("Flatten", "Flatten", "{\"data_format\": \"channels_last\"}", 2, S(3, 7, 7, 64),
               S(1, 3136));
    shape_case("Flatten unknown", "Flatten", "{}", 2, S(2, -1, 4), S(1, -1));
    shape_case("Reshape -1 first", "Reshape", "{\"target_shape\": [-1, 3]}", 2, S(3, 4, 4, 3),
               S(2, 16, 3));
    shape_case("Reshape -1 last", "Reshape", "{\"target_shape\": [6, -1]}", 2, S(3, 4, 4, 3),
               S(2, 6, 8));
    shape_case("Reshape exact", "Reshape", "{\"target_shape\": [48]}", 2, S(3, 4, 4, 3), S(1, 48));
    shape_case("Reshape of unknown input", "Reshape", "{\"target_shape\": [-1, 3]}", 2,
               S(2, -1, 6), S(2, -1, 3));
    k2t_shape in = S(3, 4, 4, 3);
    error_case("Reshape -1 does not divide", "Reshape", "{\"target_shape\": [5, -1]}", 2, &in, 1,
               K2T_ESHAPE, "cannot reshape input (4,4,3) (48 elements) into target_shape (5, -1)");
    error_case("Reshape count", "Reshape", "{\"target_shape\": [7, 7]}", 2, &in, 1, K2T_ESHAPE,
               "(7, 7)");
    error_case("Reshape two -1", "Reshape", "{\"target_shape\": [2, -1, -1]}", 2, NULL, 0,
               K2T_EFORMAT, "'target_shape'");
    error_case("Reshape zero", "Reshape", "{\"target_shape\": [0, 3]}", 2, NULL, 0, K2T_EFORMAT,
               "'target_shape'");
    describe_case("Reshape describe", "Reshape", "{\"target_shape\": [6, -1]}", 2,
                  "target_shape=(6, -1)");

    shape_case("Permute", "Permute", "{\"dims\": [2, 1]}", 2, S(2, 10, 20), S(2, 20, 10));
    shape_case("Permute 3", "Permute", "{\"dims\": [3, 1, 2]}", 2, S(3, 4, 5, 6), S(3, 6, 4, 5));
    error_case("Permute not a permutation", "Permute", "{\"dims\": [1, 1]}", 2, NULL, 0,
               K2T_EFORMAT, "'dims'");
    error_case("Permute 0-based", "Permute", "{\"dims\": [0, 1]}", 2, NULL, 0, K2T_EFORMAT,
               "'dims'");
    k2t_shape in2 = S(2, 2, 3);
    error_case("Permute rank", "Permute", "{\"dims\": [3, 1, 2]}", 2, &in2, 1, K2T_ESHAPE, "dims");

    shape_case("ZeroPadding2D 1", "ZeroPadding2D", "{\"padding\": 1}", 2, S(3, 32, 32, 3),
               S(3, 34, 34, 3));
    shape_case("ZeroPadding2D default", "ZeroPadding2D", "{}", 2, S(3, 32, 32, 3),
               S(3, 34, 34, 3));
    shape_case("ZeroPadding2D [2, 3]", "ZeroPadding2D", "{\"padding\": [2, 3]}", 2,
               S(3, 32, 32, 3), S(3, 36, 38, 3));
    shape_case("ZeroPadding2D pairs", "ZeroPadding2D", "{\"padding\": [[1, 2], [3, 4]]}", 2,
               S(3, 32, 32, 3), S(3, 35, 39, 3));
    shape_case("ZeroPadding2D (0,1) pairs (MobileNet)", "ZeroPadding2D",
               "{\"padding\": [[0, 1], [0, 1]]}", 2, S(3, 224, 224, 3), S(3, 225, 225, 3));
    error_case("ZeroPadding2D bad", "ZeroPadding2D", "{\"padding\": \"x\"}", 2, NULL, 0,
               K2T_EFORMAT, "'padding'");
    error_case("ZeroPadding2D negative", "ZeroPadding2D", "{\"padding\": [[1, -1], [0, 0]]}", 2,
               NULL, 0, K2T_EFORMAT, "'padding'");
    describe_case("ZeroPadding2D describe", "ZeroPadding2D", "{\"padding\": [[0, 1], [2, 3]]}", 2,
                  "padding=((0, 1), (2, 3))");
    shape_case("Cropping2D", "Cropping2D", "{\"cropping\": [[1, 1], [2, 2]]}", 2, S(3, 5, 6, 3),
               S(3, 3, 2, 3));
    k2t_shape in5 = S(3, 5, 5, 3);
    error_case("Cropping2D all", "Cropping2D", "{\"cropping\": 3}", 2, &in5, 1, K2T_ESHAPE,
               "cropping 3+3 of the 5 rows leaves nothing");
    error_case("Cropping2D rank", "Cropping2D", "{\"cropping\": 1}", 2, &in2, 1, K2T_ESHAPE,
               "3-dimensional");

    shape_case("UpSampling2D", "UpSampling2D", "{\"size\": [2, 2]}", 2, S(3, 7, 7, 3),
               S(3, 14, 14, 3));
    shape_case("UpSampling2D 2x3", "UpSampling2D", "{\"size\": [2, 3], \"interpolation\":"
               " \"bilinear\"}", 2, S(3, 7, -1, 3), S(3, 14, -1, 3));
    describe_case("UpSampling2D describe", "UpSampling2D", "{\"interpolation\": \"bilinear\"}", 2,
                  "size=2x2, interpolation=bilinear");
    tl t;
    mk(&t, "UpSampling2D", "{\"interpolation\": \"bicubic\"}", 3);
    CHECK(t.st == K2T_OK && t.L.unsupported && strstr(t.L.unsupported, "bicubic"),
          "UpSampling2D bicubic is unsupported");
    rm(&t);
    error_case("UpSampling2D size 0", "UpSampling2D", "{\"size\": 0}", 2, NULL, 0, K2T_EFORMAT,
               "'size'");

    describe_case("Rescaling describe", "Rescaling", "{\"scale\": 0.5, \"offset\": -1.0}", 2,
                  "scale=0.5, offset=-1");
    mk(&t, "Rescaling", "{\"scale\": [0.5, 0.25, 0.125], \"offset\": 0.0}", 3);
    CHECK(t.st == K2T_OK && t.L.unsupported, "Rescaling with a list scale is unsupported");
    rm(&t);
    error_case("Rescaling no scale", "Rescaling", "{\"offset\": 0}", 2, NULL, 0, K2T_EFORMAT,
               "'scale'");
    shape_case("Dropout", "Dropout", "{\"rate\": 0.2, \"noise_shape\": null, \"seed\": null}", 2,
               S(3, 2, 2, 5), S(3, 2, 2, 5));
    describe_case("Dropout describe", "Dropout", "{\"rate\": 0.2}", 2, "rate=0.2");
    describe_case("GaussianNoise describe", "GaussianNoise", "{\"stddev\": 0.1}", 2, "stddev=0.1");
}

static void test_pool(void)
{
    const char *mp = "{\"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": null}";
    shape_case("MaxPooling2D", "MaxPooling2D", mp, 2, S(3, 32, 32, 16), S(3, 16, 16, 16));
    shape_case("MaxPooling2D odd", "MaxPooling2D", mp, 2, S(3, 7, 7, 16), S(3, 3, 3, 16));
    shape_case("MaxPooling2D default", "MaxPooling2D", "{}", 2, S(3, 9, 8, 1), S(3, 4, 4, 1));
    shape_case("MaxPooling2D 3/2 same", "MaxPooling2D",
               "{\"pool_size\": 3, \"strides\": 2, \"padding\": \"same\"}", 2, S(3, 7, 8, 4),
               S(3, 4, 4, 4));
    shape_case("MaxPooling2D 3/2 valid", "MaxPooling2D", "{\"pool_size\": 3, \"strides\": 2}", 2,
               S(3, 7, 8, 4), S(3, 3, 3, 4));
    shape_case("AveragePooling2D 8x8 (ResNet8)", "AveragePooling2D",
               "{\"pool_size\": [8, 8], \"padding\": \"valid\", \"strides\": [8, 8],"
               " \"data_format\": \"channels_last\"}", 2, S(3, 8, 8, 64), S(3, 1, 1, 64));
    shape_case("AveragePooling1D", "AveragePooling1D", "{\"pool_size\": 3}", 2, S(2, 10, 4),
               S(2, 3, 4));
    shape_case("MaxPool1D alias same", "MaxPool1D",
               "{\"pool_size\": [2], \"strides\": [2], \"padding\": \"same\"}", 2, S(2, 9, 4),
               S(2, 5, 4));
    shape_case("MaxPooling2D channels_first", "MaxPooling2D",
               "{\"data_format\": \"channels_first\"}", 2, S(3, 4, 8, 9), S(3, 4, 4, 4));
    k2t_shape tiny = S(3, 1, 1, 8);
    error_case("MaxPooling2D too small", "MaxPooling2D", "{}", 2, &tiny, 1, K2T_ESHAPE,
               "input 1x1 is smaller than the 2x2 pool");
    error_case("MaxPooling2D pool 0", "MaxPooling2D", "{\"pool_size\": 0}", 2, NULL, 0,
               K2T_EFORMAT, "'pool_size'");
    error_case("MaxPooling2D causal", "MaxPooling2D", "{\"padding\": \"causal\"}", 2, NULL, 0,
               K2T_EFORMAT, "'padding'");
    describe_case("MaxPooling2D describe", "MaxPooling2D", "{\"pool_size\": 3, \"strides\": 2}", 2,
                  "pool=3x3, strides=2x2, padding=valid");
    shape_case("GlobalAveragePooling2D", "GlobalAveragePooling2D", "{}", 2, S(3, 7, 7, 64),
               S(1, 64));
    shape_case("GlobalAveragePooling2D keepdims", "GlobalAveragePooling2D", "{\"keepdims\": true}",
               2, S(3, 7, 7, 64), S(3, 1, 1, 64));
    shape_case("GlobalMaxPooling1D keepdims", "GlobalMaxPooling1D", "{\"keepdims\": true}", 2,
               S(2, 50, 8), S(2, 1, 8));
    shape_case("GlobalMaxPooling1D", "GlobalMaxPooling1D", "{}", 2, S(2, -1, 8), S(1, 8));
    shape_case("GlobalAvgPool2D channels_first", "GlobalAvgPool2D",
               "{\"data_format\": \"channels_first\", \"keepdims\": 1}", 2, S(3, 64, 7, 7),
               S(3, 64, 1, 1));
    k2t_shape flat = S(1, 64);
    error_case("GlobalAveragePooling2D rank", "GlobalAveragePooling2D", "{}", 2, &flat, 1,
               K2T_ESHAPE, "3-dimensional");
    describe_case("GlobalAveragePooling2D describe", "GlobalAveragePooling2D", "{}", 2,
                  "keepdims=0");
}

/* The PyTorch module constructor an op writes (export's __init__, and the
** fix check prints): compact, exact, padding always for windowed layers. */
static void module_case(const char *what, const char *cls, const char *json, k2t_shape in,
                        int n, const char *const *names, const k2t_shape *shapes, int ph, int pw,
                        const char *want)
{
    tl t;
    char buf[300] = "";
    mk(&t, cls, json, 2);
    if (t.st || !t.def->module) {
        CHECK(0, "%s: parse failed or no module: %s", what, t.err.msg);
        rm(&t);
        return;
    }
    t.L.w = calloc((size_t)(n ? n : 1), sizeof *t.L.w);
    t.L.n_w = n;
    for (int i = 0; i < n; i++) {
        t.L.w[i].name = (char *)names[i];
        t.L.w[i].shape = shapes[i];
        t.L.w[i].size = k2t_shape_numel(&shapes[i]);
    }
    int r = t.def->module(&t.L, &in, ph, pw, buf, sizeof buf);
    CHECK(r > 0 && !strcmp(buf, want), "%s: module '%s', want '%s'", what, buf, want);
    rm(&t);
}

static void test_module(void)
{
    static const char *const kb[] = {"kernel", "bias"}, *const k[] = {"kernel"};
    static const char *const dw[] = {"depthwise_kernel", "bias"};
    static const char *const sep[] = {"depthwise_kernel", "pointwise_kernel", "bias"};
    static const char *const bn[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    static const char *const ln[] = {"gamma", "beta"};
    static const char *const al[] = {"alpha"};
    k2t_shape conv_w[] = {S(4, 3, 3, 3, 16), S(1, 16)};
    module_case("Conv2D s2", "Conv2D", "{\"filters\": 16, \"kernel_size\": [3, 3], \"strides\": [2, 2]}",
                S(3, 32, 32, 3), 2, kb, conv_w, 0, 0, "nn.Conv2d(3, 16, 3, stride=2, padding=0)");
    module_case("Conv2D same", "Conv2D", "{\"filters\": 16, \"kernel_size\": 3, \"padding\": \"same\"}",
                S(3, 32, 32, 3), 2, kb, conv_w, 1, 1, "nn.Conv2d(3, 16, 3, padding=1)");
    k2t_shape rect_w[] = {S(4, 1, 3, 3, 4)};
    module_case("Conv2D rect", "Conv2D",
                "{\"filters\": 4, \"kernel_size\": [1, 3], \"dilation_rate\": [1, 2], "
                "\"use_bias\": false, \"padding\": \"same\"}",
                S(3, 8, 8, 3), 1, k, rect_w, 0, 2,
                "nn.Conv2d(3, 4, (1, 3), padding=(0, 2), dilation=(1, 2), bias=False)");
    k2t_shape c1_w[] = {S(3, 5, 8, 16), S(1, 16)};
    module_case("Conv1D", "Conv1D", "{\"filters\": 16, \"kernel_size\": 5, \"padding\": \"same\"}",
                S(2, 100, 8), 2, kb, c1_w, 0, 2, "nn.Conv1d(8, 16, 5, padding=2)");
    k2t_shape dw_w[] = {S(4, 3, 3, 8, 2), S(1, 16)};
    module_case("DepthwiseConv2D", "DepthwiseConv2D",
                "{\"kernel_size\": [3, 3], \"depth_multiplier\": 2, \"padding\": \"same\"}",
                S(3, 16, 16, 8), 2, dw, dw_w, 1, 1, "nn.Conv2d(8, 16, 3, padding=1, groups=8)");
    k2t_shape sep_w[] = {S(4, 3, 3, 8, 1), S(4, 1, 1, 8, 32), S(1, 32)};
    module_case("SeparableConv2D", "SeparableConv2D",
                "{\"filters\": 32, \"kernel_size\": [3, 3], \"strides\": [2, 2]}", S(3, 16, 16, 8),
                3, sep, sep_w, 0, 0, "SeparableConv2d(8, 32, 3, stride=2, padding=0)");
    k2t_shape tr_w[] = {S(4, 3, 3, 4, 8), S(1, 4)};
    module_case("Conv2DTranspose", "Conv2DTranspose",
                "{\"filters\": 4, \"kernel_size\": [3, 3], \"strides\": [2, 2]}", S(3, 8, 8, 8), 2, kb,
                tr_w, 0, 0, "nn.ConvTranspose2d(8, 4, 3, stride=2)");
    k2t_shape de_w[] = {S(2, 64, 10), S(1, 10)};
    module_case("Dense", "Dense", "{\"units\": 10}", S(1, 64), 2, kb, de_w, 0, 0, "nn.Linear(64, 10)");
    k2t_shape bn_w[] = {S(1, 16), S(1, 16), S(1, 16), S(1, 16)};
    module_case("BatchNormalization", "BatchNormalization", "{\"axis\": -1}", S(3, 8, 8, 16), 4, bn,
                bn_w, 0, 0, "nn.BatchNorm2d(16, eps=0.001, momentum=0.01)");
    module_case("BatchNormalization 1-D", "BatchNormalization", "{\"axis\": -1}", S(1, 16), 4, bn,
                bn_w, 0, 0, "nn.BatchNorm1d(16, eps=0.001, momentum=0.01)");
    k2t_shape ln_w[] = {S(1, 64), S(1, 64)};
    module_case("LayerNormalization", "LayerNormalization", "{\"axis\": -1, \"epsilon\": 0.001}",
                S(2, 10, 64), 2, ln, ln_w, 0, 0, "nn.LayerNorm((64,), eps=0.001)");
    k2t_shape pr_w[] = {S(3, 1, 1, 16)};
    module_case("PReLU", "PReLU", "{\"shared_axes\": [1, 2]}", S(3, 8, 8, 16), 1, al, pr_w, 0, 0,
                "nn.PReLU(16)");
    module_case("MaxPooling2D", "MaxPooling2D", "{\"pool_size\": [2, 2]}", S(3, 8, 8, 16), 0, NULL,
                NULL, 0, 0, "nn.MaxPool2d(2)");
    module_case("AveragePooling2D same", "AveragePooling2D",
                "{\"pool_size\": [3, 3], \"strides\": [1, 1], \"padding\": \"same\"}", S(3, 8, 8, 16),
                0, NULL, NULL, 1, 1, "nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)");
}

int main(void)
{
    test_window();
    test_helpers();
    test_readers();
    test_registry();
    test_input();
    test_conv();
    test_conv_transpose();
    test_depthwise();
    test_dense();
    test_norm();
    test_activation();
    test_merge();
    test_reshape();
    test_pool();
    test_module();
    test_time_distributed();
    if (n_failed) {
        printf("FAILED - test_ops: %d of %d checks failed\n", n_failed, n_checks);
        return 1;
    }
    printf("ok - test_ops: %d checks\n", n_checks);
    return 0;
}
