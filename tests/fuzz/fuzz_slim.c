/* libFuzzer harness for the model-language front end (fe_slim_parse): any text must give a
 * graph or diagnostics, never a crash, a hang or an out-of-bounds read. Paths inside the
 * text (a weights file) resolve from a folder that does not exist. */
#include "frontend/slim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1); /* exact size, not NUL-terminated */
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    Diag d;
    ir_diag_init(&d);
    Graph *g = fe_slim_parse("/nonexistent-slimc-fuzz/fuzz.slim", text, size, &d);
    if ((g != NULL) != (d.n_errors == 0))
        __builtin_trap();
    (void)ir_diag_text(&d);
    if (g)
        ir_graph_free(g);
    ir_diag_fini(&d);
    free(text);
    return 0;
}
