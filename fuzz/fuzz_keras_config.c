/*
** fuzz_keras_config.c -- libFuzzer harness for loading a Keras 3 archive's
** config.json: the input is config.json's text, zipped (libzip, into a
** memfd) with the metadata and the valid model.weights.h5 of a template
** archive ($K2T_FUZZ_KERAS, else build/fixtures/keras3/cnn.keras), then
** k2t_model_load reads it in-process (K2T_NO_FORK): the Keras 3 config
** form (module, registered_name, build_config, dict inbound nodes with
** keras_history), nested models, the class-name counters that address
** layers/<snake>_N/vars/i, and the positional weight checks.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zip.h>
#include "../engine/k2t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *weights, *meta;
static zip_uint64_t n_weights, n_meta;

/* A member of the template archive, whole, into *buf. */
static void member(zip_t *za, const char *name, void **buf, zip_uint64_t *n)
{
    zip_stat_t st;
    zip_file_t *f;
    if (zip_stat(za, name, 0, &st) != 0 || !(f = zip_fopen(za, name, 0))) {
        fprintf(stderr, "fuzz_keras_config: the template has no %s\n", name);
        exit(1);
    }
    *buf = malloc(st.size ? st.size : 1);
    *n = st.size;
    if (!*buf || zip_fread(f, *buf, st.size) != (zip_int64_t)st.size) exit(1);
    zip_fclose(f);
}

static void load_template(void)
{
    const char *t = getenv("K2T_FUZZ_KERAS");
    int e = 0;
    zip_t *za = zip_open(t ? t : "build/fixtures/keras3/cnn.keras", ZIP_RDONLY, &e);
    if (!za) {
        fprintf(stderr, "fuzz_keras_config: cannot open the template archive (run tests/run once)\n");
        exit(1);
    }
    member(za, "model.weights.h5", &weights, &n_weights);
    member(za, "metadata.json", &meta, &n_meta);
    zip_discard(za);
    setenv("K2T_NO_FORK", "1", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!weights) load_template();
    if (size > 200000) return 0;
    /* The archive is built in memory, then written to a memfd: libzip's
    ** own files would be a temporary file and a rename. */
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    if (!za) {
        if (src) zip_source_free(src);
        zip_error_fini(&ze);
        return 0;
    }
    zip_source_keep(src);
    zip_source_t *s1 = zip_source_buffer(za, meta, n_meta, 0);
    zip_source_t *s2 = zip_source_buffer(za, data, size, 0);
    zip_source_t *s3 = zip_source_buffer(za, weights, n_weights, 0);
    int ok = s1 && zip_file_add(za, "metadata.json", s1, 0) >= 0;
    ok = ok && s2 && zip_file_add(za, "config.json", s2, 0) >= 0;
    ok = ok && s3 && zip_file_add(za, "model.weights.h5", s3, 0) >= 0;
    if (!ok || zip_close(za) != 0) {
        zip_discard(za); /* after a failed close the archive is still open */
        zip_source_free(src);
        zip_error_fini(&ze);
        return 0;
    }
    zip_stat_t st;
    int fd = -1;
    if (zip_source_stat(src, &st) == 0 && zip_source_open(src) == 0) {
        char *buf = malloc(st.size ? st.size : 1);
        if (buf && zip_source_read(src, buf, st.size) == (zip_int64_t)st.size &&
            (fd = memfd_create("fuzz.keras", 0)) >= 0 && write(fd, buf, st.size) == (ssize_t)st.size) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            k2t_err err = {0};
            k2t_model *m = k2t_model_load(path, &err);
            if (m) k2t_model_free(m);
            else if (!err.msg[0]) abort(); /* an error always says why */
        }
        free(buf);
        zip_source_close(src);
    }
    zip_source_free(src);
    zip_error_fini(&ze);
    if (fd >= 0) close(fd);
    return 0;
}
