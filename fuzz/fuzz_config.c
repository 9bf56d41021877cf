/*
** fuzz_config.c -- libFuzzer harness for the graph builder: the input is
** the model_config JSON text of a small model file, so every path of
** load.c's graph code (Sequential, Functional, nested models, inbound
** references, Kahn ordering, shape inference, the weight checks) sees it.
**
** A template model ($K2T_FUZZ_MODEL, else build/fixtures/func_k214.h5) is
** copied once into a scratch file ($TMPDIR or /tmp); each input replaces its
** root model_config attribute through libhdf5, then k2t_model_load reads the
** file in-process (K2T_NO_FORK: the containment child would hide crashes).
*/
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../engine/k2t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[4200];
static int n_runs;

static void copy_template(void)
{
    const char *model = getenv("K2T_FUZZ_MODEL");
    FILE *in = fopen(model ? model : "build/fixtures/func_k214.h5", "rb"), *out = fopen(scratch, "wb");
    if (!in || !out) {
        fprintf(stderr, "fuzz_config: cannot copy the template model to %s\n", scratch);
        exit(1);
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!scratch[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/k2t_fuzz_config_%ld.h5", t && *t ? t : "/tmp", (long)getpid());
        setenv("K2T_NO_FORK", "1", 1);
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    }
    if (n_runs++ % 500 == 0) copy_template(); /* deleted attributes leave free space behind */
    if (size > 200000) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    hid_t f = H5Fopen(scratch, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) {
        free(text);
        copy_template();
        return 0;
    }
    if (H5Aexists(f, "model_config") > 0) H5Adelete(f, "model_config");
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t a = H5Acreate2(f, "model_config", type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, type, &text);
        H5Aclose(a);
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(f);
    free(text);
    k2t_err err = {0};
    k2t_model *m = k2t_model_load(scratch, &err);
    if (m) k2t_model_free(m);
    else if (!err.msg[0]) abort(); /* an error always says why */
    return 0;
}
