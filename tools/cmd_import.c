/* slimc import: an ONNX model to a readable .slim file plus its .safetensors weights.
 * (It reaches past slimc.h into the front end — fe_onnx_load and fe_slim_write — until
 * the public API has a call to save a model as .slim.) */
#include "tools/cli.h"

#include "frontend/onnx.h"
#include "frontend/slim_write.h"

#include <stdio.h>
#include <string.h>

int cmd_import(int argc, char **argv);

int cmd_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-' && !in)
            in = argv[i];
        else
            return cli_error(
                "import: unexpected argument '%s' (slimc import MODEL.onnx -o MODEL.slim)",
                argv[i]);
    }
    if (!in || !out)
        return cli_error(
            "import: give the model and the output: slimc import MODEL.onnx -o MODEL.slim");
    size_t n = strlen(out);
    if (n < 6 || strcmp(out + n - 5, ".slim") != 0)
        return cli_error("import: the output must be a .slim file, not '%s'", out);
    Diag d;
    diag_init(&d);
    Graph *g = fe_onnx_load(in, &d);
    bool ok = g && fe_slim_write(g, out, &d);
    fputs(diag_text(&d), stderr);
    diag_fini(&d);
    ir_graph_free(g);
    if (ok)
        printf("wrote %s and %.*s.safetensors\n", out, (int)(n - 5), out);
    return ok ? 0 : 1;
}
