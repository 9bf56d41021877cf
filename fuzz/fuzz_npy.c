/*
** fuzz_npy.c -- libFuzzer harness for the .npy parser (k2t_npy_parse, the
** one parser behind "input FILE.npy" and every .npz member).
**
** Any input must end in K2T_OK with an array, or an error with a message:
** never a crash, an over-read or an allocation sized by an unchecked header.
*/
#include <stdint.h>
#include <stdlib.h>
#include "../engine/k2t.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    k2t_array a;
    k2t_err err = {0};
    if (k2t_npy_parse(data, size, "'fuzz.npy'", &a, &err) == K2T_OK) k2t_array_free(&a);
    else if (!err.msg[0]) abort(); /* an error always says why */
    return 0;
}
