/*
** fuzz_cmd.c -- libFuzzer harness for the command line: the tokenizer
** (k2t_tokenize, every line k2t reads) and the commands whose arguments are
** parsed numbers and slices -- print LAYER [SLICE], top K, stats, complete --
** on a small model that has run once.  Only commands that read are driven:
** no input can make the harness write or delete a file.
**
** The model is $K2T_FUZZ_MODEL, else build/fixtures/func_k214.h5 (tests/run
** generates it); run from the repository root.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../commands/shell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static k2t_shell sh;
static int ready;

static void setup(void)
{
    const char *model = getenv("K2T_FUZZ_MODEL");
    char line[4200];
    k2t_shell_init(&sh);
    sh.out = fopen("/dev/null", "w");
    sh.err = sh.out;
    snprintf(line, sizeof line, "load %s", model ? model : "build/fixtures/func_k214.h5");
    if (k2t_dispatch(&sh, line) != K2T_CMD_OK || k2t_dispatch(&sh, "input random") != K2T_CMD_OK ||
        k2t_dispatch(&sh, "run") != K2T_CMD_OK) {
        fprintf(stderr, "fuzz_cmd: cannot load and run the model (%s)\n", line);
        exit(1);
    }
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) setup();
    if (size > 4096) return 0;
    /* One line: NULs and newlines end it, as the script reader does. */
    char text[4097];
    size_t n = 0;
    while (n < size && data[n] && data[n] != '\n') text[n] = (char)data[n], n++;
    text[n] = '\0';

    char *argv[K2T_MAX_ARGS], store[4097 + 1];
    int ofs[K2T_MAX_ARGS];
    int argc = k2t_tokenize(text, argv, ofs, K2T_MAX_ARGS, store);
    for (int i = 0; i < argc; i++)
        if (strlen(argv[i]) > n || ofs[i] < 0 || (size_t)ofs[i] > n) abort();

    static const char *const prefix[] = {"print dense ", "print conv2d ", "print input_1 ", "top ",
                                         "stats ", "complete ", "layers ", "info ", "hist conv2d "};
    char line[4200];
    snprintf(line, sizeof line, "%s%s", prefix[size % (sizeof prefix / sizeof prefix[0])], text);
    k2t_dispatch(&sh, line);
    return 0;
}
