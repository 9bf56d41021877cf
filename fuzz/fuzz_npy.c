/*
** fuzz_npy.c -- libFuzzer harness for the .npy parser (k2t_npy_parse, the
** one parser behind "input FILE.npy" and every .npz member) and the
** streamed reader eval uses (k2t_npy_open / k2t_npy_stream_read).
**
** Any input must end in K2T_OK with an array, or an error with a message:
** never a crash, an over-read or an allocation sized by an unchecked header.
** Where both readers accept the input they must read the same values.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../engine/k2t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stream the same bytes from a file, a few rows at a time. */
static void stream_check(const uint8_t *data, size_t size, const k2t_array *whole)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/k2t_fuzz_npy_%ld.npy", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return;
    int wrote = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !wrote) {
        unlink(path);
        return;
    }
    k2t_err err = {0};
    k2t_npy_stream *s = k2t_npy_open(path, &err);
    if (!s) {
        if (!err.msg[0]) abort();
        /* the whole-array parser accepted it: only a scalar may be refused here */
        if (whole && whole->shape.ndim != 0) abort();
    } else {
        if (!whole) abort(); /* the stream accepted what the parser refused */
        int64_t rows = s->shape.d[0], step = 3, at = 0;
        float *buf = malloc((size_t)(step * s->row + 1) * sizeof(float));
        for (int64_t i = 0; buf && i < rows; i += step) {
            int64_t n = rows - i < step ? rows - i : step;
            if (k2t_npy_stream_read(s, i, n, buf, &err) != K2T_OK) abort();
            if (memcmp(buf, whole->data + at, (size_t)(n * s->row) * sizeof(float)) != 0) {
                /* NaNs compare by bits: both readers convert the same way */
                abort();
            }
            at += n * s->row;
        }
        if (k2t_npy_stream_read(s, rows, 1, buf ? buf : (float *)&at, &err) == K2T_OK) abort();
        free(buf);
        k2t_npy_close(s);
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    k2t_array a;
    k2t_err err = {0};
    if (k2t_npy_parse(data, size, "'fuzz.npy'", &a, &err) == K2T_OK) {
        /* a whole array of at most a few MB: stream it too */
        if (k2t_shape_numel(&a.shape) <= (1 << 20)) stream_check(data, size, &a);
        k2t_array_free(&a);
    } else {
        if (!err.msg[0]) abort(); /* an error always says why */
        stream_check(data, size, NULL);
    }
    return 0;
}
