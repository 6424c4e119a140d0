/* libFuzzer harness for the ONNX reader and importer: any input must import or fail
 * cleanly (never crash, hang or read out of bounds), and the TensorProto reader the same.
 * The model's folder does not exist, so external data is refused or not found. */
#include "frontend/onnx.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    ir_diag_init(&d);
    /* A small memory limit (ir/limits.h): a OneHot folded to 256 MB (or 64 MB on a busy machine) is
     * legitimate but takes over 20 s under the sanitizers, which libFuzzer reports as a hang. */
    const FeOnnxOptions o = {.max_memory = (uint64_t)16 << 20};
    Graph *g = fe_onnx_parse_ex("/nonexistent-slimc-fuzz/model.onnx", data, size, &o, &d);
    if ((g != NULL) != (d.n_errors == 0))
        __builtin_trap(); /* a result that disagrees with the diagnostics */
    if (g && (g->n_outputs < 1 || !ir_verify(g, &d)))
        __builtin_trap(); /* an imported graph is well formed */
    ir_graph_free(g);
    ir_diag_fini(&d);

    ir_diag_init(&d);
    NpyArray a;
    char *name = NULL;
    bool ok = fe_onnx_tensor_parse("fuzz.pb", data, size, &a, &name, &d);
    if (ok != (d.n_errors == 0))
        __builtin_trap();
    if (ok) {
        volatile unsigned char sum = 0;
        for (size_t i = 0; i < a.nbytes; i++) /* every byte is readable */
            sum ^= ((const unsigned char *)a.data)[i];
        (void)sum;
    }
    fe_npy_free(&a);
    free(name);
    ir_diag_fini(&d);
    return 0;
}
