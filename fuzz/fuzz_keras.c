/*
** fuzz_keras.c -- libFuzzer harness for the .keras archive reader
** (k2t_keras3_open: libzip, the member checks -- names, sizes against the
** archive and the memory budget, encryption, CRC --, config.json and
** metadata.json, model.weights.h5 opened from memory).
**
** Each input goes into an anonymous in-memory file (memfd) read back
** through /proc/self/fd: nothing is written.  A member whose bytes were
** mutated fails its CRC before libhdf5 sees it; libhdf5's own parsing is
** contained by the loading child in k2t proper (engine/load.c).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../engine/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.keras", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        k2t_k3file a;
        k2t_err err = {0};
        if (k2t_keras3_open(path, &a, &err) == K2T_OK) k2t_keras3_close(&a);
        else if (!err.msg[0]) abort(); /* an error always says why */
    }
    close(fd);
    return 0;
}
