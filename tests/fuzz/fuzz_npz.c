/* libFuzzer harness for the .npz reader (calibration sets): any input must parse or fail
 * cleanly, never crash, hang or read out of bounds; a success must be self-consistent. */
#include "frontend/npz.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    ir_diag_init(&d);
    NpzEntry *e;
    int n;
    bool ok = fe_npz_parse("fuzz.npz", data, size, &e, &n, &d);
    if (ok != (d.n_errors == 0) || ok != (e != NULL) || (ok && n < 1) || (!ok && n))
        __builtin_trap(); /* a result that disagrees with the diagnostics */
    for (int i = 0; i < n; i++) {
        size_t bytes = (size_t)ir_dtype_bits(e[i].arr.dtype) / 8;
        for (int k = 0; k < e[i].arr.ndim; k++)
            bytes *= (size_t)e[i].arr.shape[k];
        if (bytes != e[i].arr.nbytes || !e[i].name || strlen(e[i].name) == 0)
            __builtin_trap();
        for (int j = 0; j < i; j++)
            if (strcmp(e[i].name, e[j].name) == 0)
                __builtin_trap(); /* duplicates are refused */
        volatile unsigned char sum = 0;
        for (size_t b = 0; b < e[i].arr.nbytes; b++) /* every byte is readable */
            sum ^= ((const unsigned char *)e[i].arr.data)[b];
        (void)sum;
    }
    fe_npz_free(e, n);
    ir_diag_fini(&d);
    return 0;
}
