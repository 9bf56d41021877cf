/*
** test_keras3.c -- the .keras helpers that need no archive: Keras's
** to_snake_case (keras/src/utils/naming.py) on the class names whose
** weights groups it names, and the Lambda decoder on hand-made configs
** (bounds: truncated marshal strings, a length past the end, bad base64).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../engine/internal.h"

static int fails, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("not ok - "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

static void snake(const char *cls, const char *want)
{
    char out[128];
    k2t_snake_case(cls, out, sizeof out);
    CHECK(!strcmp(out, want), "snake_case(%s) = %s, want %s", cls, out, want);
}

/* A Lambda layer whose config is 'cfg'; returns what the engine decodes. */
static k2t_lambda_info lam(const char *cfg)
{
    k2t_layer L;
    memset(&L, 0, sizeof L);
    L.class_name = (char *)"Lambda";
    L.config_json = (char *)cfg;
    k2t_lambda_info li;
    k2t_lambda_describe(&L, &li);
    return li;
}

int main(void)
{
    snake("Conv2D", "conv2d");
    snake("DepthwiseConv2D", "depthwise_conv2d");
    snake("BatchNormalization", "batch_normalization");
    snake("SimpleRNN", "simple_rnn");
    snake("ReLU", "re_lu");
    snake("LSTM", "lstm");
    snake("Dense", "dense");
    snake("Conv2DTranspose", "conv2d_transpose");
    snake("MultiHeadAttention", "multi_head_attention");
    snake("GlobalAveragePooling2D", "global_average_pooling2d");
    snake("PReLU", "p_re_lu");
    snake("Functional", "functional");
    snake("My.Model", "my_model");

    /* Keras 2: base64 of marshal: 'z' strings x (len 1) and scale (len 5). */
    k2t_lambda_info li = lam("{\"function\": [\"4wF6AXjaBXNjYWxl\", null, null], \"function_type\": \"lambda\"}");
    CHECK(li.kind == K2T_LAMBDA_BYTECODE && li.code_bytes == 12, "base64 bytecode: kind %d, %zu bytes",
          li.kind, li.code_bytes);
    CHECK(li.n_names == 2 && !strcmp(li.names[0], "x") && !strcmp(li.names[1], "scale"), "names x, scale (%d)",
          li.n_names);
    k2t_lambda_info_free(&li);
    /* Raw marshal with NULs; a 4-byte length running past the end is no name. */
    li = lam("{\"function\": [\"\\u00e3\\u0000z\\u0003abcu\\u00ff\\u00ff\\u0000\\u0000zz\", null, null]}");
    CHECK(li.kind == K2T_LAMBDA_BYTECODE && li.n_names == 1 && !strcmp(li.names[0], "abc"),
          "raw bytes with NULs: one name abc (%d)", li.n_names);
    k2t_lambda_info_free(&li);
    /* A 'z' at the very end, and one whose length passes the end. */
    li = lam("{\"function\": \"\\u00e3z\"}");
    CHECK(li.kind == K2T_LAMBDA_BYTECODE && li.n_names == 0, "a type byte at the end reads nothing");
    k2t_lambda_info_free(&li);
    li = lam("{\"function\": \"\\u00e3z\\u00ffab\"}");
    CHECK(li.n_names == 0, "a length past the end reads nothing");
    k2t_lambda_info_free(&li);
    li = lam("{\"function\": {\"class_name\": \"__lambda__\", \"config\": {\"code\": \"lambda x: x + 1\"}}}");
    CHECK(li.kind == K2T_LAMBDA_SOURCE && !strcmp(li.text, "lambda x: x + 1"), "Keras 3 source text");
    k2t_lambda_info_free(&li);
    li = lam("{\"function\": \"my_fn\", \"function_type\": \"function\", \"module\": \"mod\"}");
    CHECK(li.kind == K2T_LAMBDA_FUNCTION && !strcmp(li.text, "my_fn") && !strcmp(li.module, "mod"),
          "Keras 2 named function");
    k2t_lambda_info_free(&li);
    li = lam("{\"function\": \"\\u4e2d\\u6587\"}");
    CHECK(li.kind == K2T_LAMBDA_UNKNOWN, "text that is neither source, base64 nor bytes is not decoded");
    k2t_lambda_info_free(&li);

    if (fails) {
        printf("FAILED - test_keras3: %d of %d checks failed\n", fails, checks);
        return 1;
    }
    printf("ok - test_keras3: %d checks\n", checks);
    return 0;
}
