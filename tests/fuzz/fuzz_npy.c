/* libFuzzer harness for the .npy reader: any input must parse or fail cleanly, never
 * crash, hang or read out of bounds; a success must be self-consistent. */
#include "frontend/npy.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned flag_sets[2] = {0, FE_NPY_U2_AS_BF16};
    for (int k = 0; k < 2; k++) {
        Diag d;
        ir_diag_init(&d);
        NpyArray a;
        bool ok = fe_npy_parse_ex("fuzz.npy", data, size, flag_sets[k], &a, &d);
        if (ok != (d.n_errors == 0))
            __builtin_trap(); /* a result that disagrees with the diagnostics */
        if (ok) {
            size_t n = (size_t)ir_dtype_bits(a.dtype) / 8;
            for (int i = 0; i < a.ndim; i++)
                n *= (size_t)a.shape[i];
            if (n != a.nbytes || a.ndim < 0 || a.ndim > IR_MAX_RANK || !a.data)
                __builtin_trap();
            volatile unsigned char sum = 0;
            for (size_t i = 0; i < a.nbytes; i++) /* every byte is readable */
                sum ^= ((const unsigned char *)a.data)[i];
            (void)sum;
            if (a.dtype == IR_BF16 && !(flag_sets[k] & FE_NPY_U2_AS_BF16))
                __builtin_trap();
        } else if (a.data || a.ndim || a.nbytes)
            __builtin_trap(); /* a failure leaves *out zeroed */
        fe_npy_free(&a);
        ir_diag_fini(&d);
    }
    return 0;
}
