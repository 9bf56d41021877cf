/*
** fuzz_npz.c -- libFuzzer harness for the .npz reader (k2t_npz_read: libzip,
** every member through the .npy parser, the __order__ member's text).
**
** The reader takes a path, so each input goes into an anonymous in-memory
** file (memfd) read back through /proc/self/fd: no file is written.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../engine/k2t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.npz", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        k2t_npz z;
        k2t_err err = {0};
        if (k2t_npz_read(path, &z, &err) != K2T_OK && !err.msg[0]) abort();
        k2t_npz_free(&z);
    }
    close(fd);
    return 0;
}
