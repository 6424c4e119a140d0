/* NAME.h of a library built for CUDA (see codegen/cuda/aot.h). */
#include "codegen/cuda/aot.h"

#include <ctype.h>
#include <string.h>

void cg_cuda_aot_put_header(FILE *f, const CgAotModel *m, const char *name, size_t weights_bytes)
{
    char up[256];
    snprintf(up, sizeof up, "%s", name);
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    fprintf(f, "/* %s.h -- the model '", name);
    for (const char *p = m->g->name ? m->g->name : "?"; *p; p++) /* a comment: no '*' '/' */
        fputc(*p == '*' || *p == '/' || !isprint((unsigned char)*p) ? '_' : *p, f);
    fprintf(f, "', compiled ahead of time by slimc %s for CUDA GPUs\n", m->version);
    fprintf(
        f,
        " * (sm_75 on: the kernels are embedded as PTX for compute_75/80/90, and cubin where the\n"
        " * build had ptxas; the first GPU's best fit is loaded by %s_init).\n"
        " *\n"
        " * Usage (link lib%s.a, -ldl -lpthread -lm; no CUDA library is linked: libcuda.so.1\n"
        " * is loaded when %s_init runs):\n"
        " *\n"
        " *     %s *m = %s_init(NULL);       // NULL on failure: %s_error(NULL) says why\n"
        " *     int64_t syms[%s_N_SYMS + 1] = {batch};     // one value per symbol, in order\n"
        " *     const void *in[%s_N_INPUTS] = {x};        // host memory, C order, shapes below\n"
        " *     void *out[%s_N_OUTPUTS] = {y};            // host memory, the caller's\n"
        " *     int rc = %s_run(m, syms, in, out, 1);     // 0 on success\n"
        " *     rc = %s_run_device(m, syms, d_in, d_out); // the same with device pointers\n"
        " *     %s_free(m);\n"
        " *\n"
        " * Device pointers are of the first GPU's primary context (what cudaMalloc gives). Both\n"
        " * runs wait for the GPU before they return. The device arena -- %s_ARENA_BYTES(syms...)\n"
        " * bytes -- belongs to m and grows to the largest run; one call at a time per m.\n"
        " * Return codes: 0; 1 a symbol value is not positive; 2 a reshape does not fit; 3 an\n"
        " * index out of range; 4 a size overflows; 5 a CUDA error (%s_error(m)); -1 the\n"
        " * memory for these sizes overflows. */\n",
        name, name, name, name, name, name, up, up, up, name, name, name, up, name);
    cg_aot_put_header_macros(f, m, name, weights_bytes, false);
    fprintf(
        f,
        "typedef struct %s %s;\n"
        "/* Opens the first CUDA GPU, loads the kernels and uploads the weights (weights_path\n"
        " * is ignored: they are embedded). NULL on failure (errno set; %s_error(NULL)). */\n"
        "%s *%s_init(const char *weights_path);\n"
        "/* Host pointers: the inputs are copied to the GPU, the outputs back (nthreads is\n"
        " * ignored, as in the CPU library's signature). */\n"
        "int %s_run(%s *m, const int64_t *syms, const void *const *inputs, void *const *outputs, "
        "int nthreads);\n"
        "/* Device pointers: nothing is copied. */\n"
        "int %s_run_device(%s *m, const int64_t *syms, const void *const *inputs,\n"
        "        void *const *outputs);\n"
        "size_t %s_arena_bytes(const int64_t *syms);\n"
        "/* The last error of m (NULL: of the last %s_init). */\n"
        "const char *%s_error(const %s *m);\n"
        "void %s_free(%s *m);\n\n",
        name, name, name, name, name, name, name, name, name, name, name, name, name, name, name);
    fprintf(f, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
}
