/*
** replay.c -- run a fuzz harness over files without libFuzzer: the
** regression corpus (fuzz/regress/) and the seeds (fuzz/corpus/) are
** replayed by tests/run against the ASan/UBSan build on every make check.
**
**     replay_npy FILE...     prints "ok - NAME: N inputs" when none crashed
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            printf("not ok - cannot read %s\n", argv[i]);
            return 1;
        }
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, got;
        do {
            if (len == cap) buf = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (!buf) return 1;
            got = fread(buf + len, 1, cap - len, f);
            len += got;
        } while (got > 0);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    printf("ok - %s: %d inputs replayed without a crash\n", argc > 0 ? argv[0] : "replay", n);
    return 0;
}
