/* AOT for CUDA: `slimc build MODEL --device cuda -o FILE` and `... --lib -o DIR`.
 *
 * The CUDA backend's file is compiled twice: its device half by NVRTC, to PTX for
 * compute_75, compute_80 and compute_90 (and, where ptxas is installed, checked by ptxas
 * and compiled to cubin for sm_75/80/90 as well); its host half by the C compiler, with
 * the driver layer (runtime/cuda_driver.c), the model object (runtime/slimc_cuda_aot.c)
 * and main() (runtime/slimc_cuda_main.c + slimc_main.c) or the library API
 * (runtime/slimc_cuda_lib.c) pasted after it. The images go into the one blob the weights
 * are linked from (.incbin, as for the C build): weights first, then each image 64-byte
 * aligned, PTX with its NUL; a table in the C says where. Building needs NVRTC, no GPU. */
#include "api/api_internal.h"
#include "codegen/c/aot.h"
#include "codegen/cuda/aot.h"
#include "ir/text_escape.h"
#include "runtime/cuda.h"

#include "frontend/files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const char slimc_main_source[], slimc_model_desc_header[], slimc_model_io_source[];
extern const size_t slimc_main_source_len, slimc_model_desc_header_len, slimc_model_io_source_len;
extern const char slimc_cuda_driver_header[], slimc_cuda_driver_source[], slimc_cuda_aot_source[],
    slimc_cuda_main_source[], slimc_cuda_lib_source[];
extern const size_t slimc_cuda_driver_header_len, slimc_cuda_driver_source_len,
    slimc_cuda_aot_source_len, slimc_cuda_main_source_len, slimc_cuda_lib_source_len;

/* The archs an AOT build embeds: Turing, Ampere, Hopper (docs/cuda.md). */
static const int aot_archs[] = {75, 80, 90};
#define N_AOT_ARCHS ((int)(sizeof aot_archs / sizeof aot_archs[0]))
#define MAX_IMAGES  (2 * N_AOT_ARCHS)

/* What goes into the blob: the weights, then the images; and the table of the images. */
typedef struct CudaBlob {
    unsigned char *data;
    size_t len, weights_len;
    int64_t *offsets; /* [n_values]: each constant's place in the blob, or -1 */
    int n;
    struct {
        bool cubin;
        int arch;
        size_t offset, len;
    } img[MAX_IMAGES];
} CudaBlob;

static void cuda_blob_free(CudaBlob *b)
{
    free(b->data);
    free(b->offsets);
}

/* Appends len bytes at a 64-byte boundary; returns where they start. */
static size_t blob_append(CudaBlob *b, const void *data, size_t len)
{
    size_t at = (b->len + 63) / 64 * 64;
    unsigned char *p = realloc(b->data, at + len + 64);
    SLIMC_ASSERT(p);
    memset(p + b->len, 0, at - b->len);
    memcpy(p + at, data, len);
    b->data = p;
    b->len = at + len;
    return at;
}

/* The weights and the device half compiled for each arch of aot_archs. false with an
 * error (no NVRTC; a kernel NVRTC or ptxas refuses, which is a slimc bug). */
static bool make_blob(SlimcContext *ctx, SlimcModel *m, const char *src, size_t len,
                      const SlimcOptions *o, CudaBlob *b)
{
    memset(b, 0, sizeof *b);
    b->offsets = calloc((size_t)m->g->n_values + 1, sizeof *b->offsets);
    SLIMC_ASSERT(b->offsets);
    b->data = cg_aot_pack_constants(m->g, b->offsets, &b->weights_len);
    b->len = b->weights_len;
    char why[700];
    if (!rt_nvrtc_available(why, sizeof why)) {
        ir_diag_error(&ctx->diag, (SrcLoc){0},
                      "build --device cuda needs NVRTC (the CUDA runtime compiler) to compile the "
                      "kernels: %s (install the CUDA toolkit, or `pip install nvidia-cuda-nvrtc`, "
                      "or set SLIMC_NVRTC to libnvrtc.so)",
                      why);
        return false;
    }
    int known[64];
    const int n_known = rt_nvrtc_archs(known, 64);
    RtOptions ro;
    api_rt_options(o, &ro, &ctx->t);
    for (int a = 0; a < N_AOT_ARCHS; a++) {
        const int arch = aot_archs[a];
        bool supported = false;
        for (int k = 0; k < n_known; k++)
            supported |= known[k] == arch;
        if (!supported) {
            ir_diag_note(&ctx->diag, (SrcLoc){0},
                         "build --device cuda: NVRTC %s does not compile for compute_%d: the "
                         "executable has no code for it",
                         rt_nvrtc_version(), arch);
            continue;
        }
        RtCuImage ptx;
        if (!rt_nvrtc_compile(src, len, arch, RT_CU_PTX, 0, &ro, &ptx, &ctx->diag))
            return false;
        /* ptxas, where installed, checks the PTX; then the cubin goes in too */
        const int assembles = rt_ptxas_check(&ptx, arch, &ctx->diag);
        b->img[b->n].cubin = false;
        b->img[b->n].arch = arch;
        b->img[b->n].len = ptx.len + 1; /* with its NUL: cuModuleLoadData reads a C string */
        b->img[b->n++].offset = blob_append(b, ptx.data, ptx.len + 1);
        rt_cu_image_free(&ptx);
        if (assembles == 0)
            return false; /* the error has ptxas's output */
        if (assembles < 0)
            continue;
        RtCuImage cubin;
        if (!rt_nvrtc_compile(src, len, arch, RT_CU_CUBIN, 0, &ro, &cubin, &ctx->diag))
            return false;
        b->img[b->n].cubin = true;
        b->img[b->n].arch = arch;
        b->img[b->n].len = cubin.len;
        b->img[b->n++].offset = blob_append(b, cubin.data, cubin.len);
        rt_cu_image_free(&cubin);
    }
    if (b->n == 0) {
        ir_diag_error(&ctx->diag, (SrcLoc){0},
                      "build --device cuda: NVRTC %s compiles for none of compute_75, "
                      "compute_80, compute_90",
                      rt_nvrtc_version());
        return false;
    }
    return true;
}

/* The build's table (runtime/slimc_cuda_aot.c's header comment), the driver layer and
 * the model object, for a blob called blob and entries prefix_*. */
static void put_cuda_runtime(FILE *f, const SlimcModel *m, const CudaBlob *b, const char *blob,
                             const char *prefix)
{
    fprintf(f, "\n/* ---- the kernels for CUDA (runtime/slimc_cuda_aot.c) ---- */\n");
    fprintf(f, "extern const unsigned char %s[];\n#define SLIMC_CUDA_BLOB %s\n", blob, blob);
    fprintf(f, "#define SLIMC_CUDA_RUN %s_run\n#define SLIMC_CUDA_ARENA_BYTES %s_arena_bytes\n",
            prefix, prefix);
    fprintf(f, "#define SLIMC_CUDA_KERNELS %s_cuda_kernels\n", prefix);
    if (ir_graph_mixed(m->g)) /* some nodes on the CPU (runtime/slimc_cuda_aot.c) */
        fprintf(f, "#define SLIMC_CUDA_HOST_ARENA_BYTES %s_host_arena_bytes\n", prefix);
    fprintf(f, "#define SLIMC_WEIGHTS_BYTES ((size_t)%zu)\n", b->weights_len);
    /* gpu: read by a kernel (a mixed model's CPU reads the others in the blob, in place) */
    const Graph *g = m->g;
    bool *gpu = api_read_on_gpu(g);
    const bool mixed = ir_graph_mixed(g);
    fprintf(f, "static const struct {\n    int id;\n    size_t offset, bytes;\n    int gpu;\n} "
               "slimc_cuda_consts[] = {\n");
    for (int v = 0; v < g->n_values; v++)
        if (b->offsets[v] >= 0)
            fprintf(f, "    {%d, %lld, %zu, %d},\n", v, (long long)b->offsets[v],
                    g->values[v].data_bytes, !mixed || gpu[v]);
    fprintf(f, "    {-1, 0, 0, 0}};\n#define SLIMC_N_CUDA_IMAGES %d\n", b->n);
    free(gpu);
    fprintf(f, "static const struct {\n    int cubin, arch;\n    size_t offset, len;\n} "
               "slimc_cuda_images[SLIMC_N_CUDA_IMAGES] = {\n");
    for (int i = 0; i < b->n; i++)
        fprintf(f, "    {%d, %d, %zu, %zu}, /* %s_%d */\n", b->img[i].cubin, b->img[i].arch,
                b->img[i].offset, b->img[i].len, b->img[i].cubin ? "sm" : "compute",
                b->img[i].arch);
    fprintf(f, "};\n#define SLIMC_CUDA_DRIVER_EMBEDDED 1\n#define SLIMC_CUDA_DRIVER_STATIC 1\n");
    fwrite(slimc_cuda_driver_header, 1, slimc_cuda_driver_header_len, f);
    fwrite(slimc_cuda_driver_source, 1, slimc_cuda_driver_source_len, f);
    fwrite(slimc_cuda_aot_source, 1, slimc_cuda_aot_source_len, f);
}

/* The model as codegen/c/aot.c shows it; input_names is malloc'd (free it). */
static CgAotModel aot_model(const SlimcModel *m)
{
    const char **names = calloc((size_t)m->g->n_inputs + 1, sizeof *names);
    SLIMC_ASSERT(names);
    for (int i = 0; i < m->g->n_inputs; i++)
        names[i] = slimc_model_input_name(m, i);
    return (CgAotModel){m->g,
                        names,
                        (const char *const *)m->input_types,
                        (const char *const *)m->output_names,
                        (const char *const *)m->output_types,
                        slimc_version(),
                        SLIMC_FORMAT_VERSION};
}

/* Feature macros first: the CUDA file's ABI includes system headers at its top. */
static const char cuda_prologue[] = "#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)\n"
                                    "#define _POSIX_C_SOURCE 200809L\n#endif\n";

SlimcStatus api_build_cuda_executable(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                      const char *triple, const char *out_path)
{
    size_t len;
    char *model_src = api_emit_cuda(ctx, m, o, "slimc_model", false, &len);
    if (!model_src)
        return SLIMC_ERROR;
    CudaBlob b;
    if (!make_blob(ctx, m, model_src, len, o, &b)) {
        free(model_src);
        cuda_blob_free(&b);
        return SLIMC_ERROR;
    }
    char *src = NULL;
    size_t src_len = 0;
    FILE *f = open_memstream(&src, &src_len);
    SLIMC_ASSERT(f);
    fputs(cuda_prologue, f);
    fwrite(model_src, 1, len, f);
    fputs("\n#define SLIMC_MODEL_IO_EMBEDDED 1\n", f);
    fwrite(slimc_model_desc_header, 1, slimc_model_desc_header_len, f);
    fwrite(slimc_model_io_source, 1, slimc_model_io_source_len, f);
    long meta_at = ftell(f);
    CgAotModel am = aot_model(m);
    cg_aot_put_metadata(f, &am, NULL);
    free((void *)am.input_names);
    long meta_end = ftell(f);
    put_cuda_runtime(f, m, &b, "slimc_weights_blob", "slimc_model");
    fputs("#define SLIMC_MAIN_CUDA 1\n", f);
    fprintf(f, "#define SLIMC_DEFAULT_THREADS %d\n", o && o->threads > 0 ? o->threads : 1);
    fwrite(slimc_cuda_main_source, 1, slimc_cuda_main_source_len, f);
    fwrite(slimc_main_source, 1, slimc_main_source_len, f);
    fclose(f);
    free(model_src);
    bool ok = ir_text_is_plain_ascii(src + meta_at, (size_t)(meta_end - meta_at));
    if (!ok)
        ir_diag_error(
            &ctx->diag, (SrcLoc){0},
            "build: internal error: text from the model reached the generated code unescaped");
    RtOptions ro;
    api_rt_options(o, &ro, &ctx->t);
    if ((!o || !o->cpu) && !triple)
        ro.cpu = "x86-64-v2"; /* portable by default, as the C build */
    ro.triple = triple;
    ro.link_dl = true;
    ok = ok && rt_build_executable(src, src_len, b.data, b.len, "slimc_weights_blob", &ro, out_path,
                                   &ctx->diag);
    free(src);
    cuda_blob_free(&b);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}

/* Writes data to path through a temp file and a rename. */
static bool write_file(SlimcContext *ctx, const char *path, const void *data, size_t len)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    bool ok = f && fwrite(data, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    if (ok && chmod(tmp, 0644) == 0 && rename(tmp, path) == 0)
        return true;
    if (fd >= 0)
        unlink(tmp);
    ir_diag_error(&ctx->diag, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno));
    return false;
}

SlimcStatus api_build_cuda_library(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                   const SlimcLibOptions *lo, const char *name, const char *dir)
{
    if (lo && lo->weights_file) {
        ir_diag_error(&ctx->diag, (SrcLoc){0},
                      "--weights-file with --device cuda: not in this version (the weights are "
                      "embedded with the kernels)");
        return SLIMC_ERROR;
    }
    char prefix[300], blob_symbol[300], path[4200];
    snprintf(prefix, sizeof prefix, "%s_model", name);
    snprintf(blob_symbol, sizeof blob_symbol, "%s_weights_blob", name);
    size_t len;
    char *model_src = api_emit_cuda(ctx, m, o, prefix, false, &len);
    if (!model_src)
        return SLIMC_ERROR;
    CudaBlob b;
    if (!make_blob(ctx, m, model_src, len, o, &b)) {
        free(model_src);
        cuda_blob_free(&b);
        return SLIMC_ERROR;
    }
    CgAotModel am = aot_model(m);
    char *hdr = NULL, *src = NULL;
    size_t hdr_len = 0, src_len = 0;
    FILE *f = open_memstream(&hdr, &hdr_len);
    SLIMC_ASSERT(f);
    cg_cuda_aot_put_header(f, &am, name, b.weights_len);
    fclose(f);
    /* NAME.c: the header pasted in front (the library compiles on its own) */
    f = open_memstream(&src, &src_len);
    SLIMC_ASSERT(f);
    fputs(cuda_prologue, f);
    fwrite(hdr, 1, hdr_len, f);
    fwrite(model_src, 1, len, f);
    fputs("\n#define SLIMC_MODEL_IO_EMBEDDED 1\n#define SLIMC_MODEL_IO_STATIC 1\n", f);
    fwrite(slimc_model_desc_header, 1, slimc_model_desc_header_len, f);
    fwrite(slimc_model_io_source, 1, slimc_model_io_source_len, f);
    long meta_at = ftell(f);
    cg_aot_put_metadata(f, &am, NULL);
    long meta_end = ftell(f);
    free((void *)am.input_names);
    put_cuda_runtime(f, m, &b, blob_symbol, prefix);
    fprintf(f, "#include <stdlib.h>\n#define SLIMC_CUDA_LIB %s\n", name);
    fwrite(slimc_cuda_lib_source, 1, slimc_cuda_lib_source_len, f);
    fclose(f);
    free(model_src);
    bool ok = ir_text_is_plain_ascii(src + meta_at, (size_t)(meta_end - meta_at)) &&
              ir_text_is_plain_ascii(hdr, hdr_len);
    if (!ok)
        ir_diag_error(
            &ctx->diag, (SrcLoc){0},
            "build: internal error: text from the model reached the generated code unescaped");
    snprintf(path, sizeof path, "%s/%s.h", dir, name);
    ok = ok && write_file(ctx, path, hdr, hdr_len);
    snprintf(path, sizeof path, "%s/%s.c", dir, name);
    if (ok && lo && lo->emit_source)
        ok = write_file(ctx, path, src, src_len);
    if (ok) {
        RtOptions ro;
        api_rt_options(o, &ro, &ctx->t);
        ro.triple = lo ? lo->target_triple : NULL;
        if ((!o || !o->cpu) && !ro.triple)
            ro.cpu = "x86-64-v2";
        snprintf(path, sizeof path, "%s/lib%s.a", dir, name);
        ok = rt_build_library(src, src_len, b.data, b.len, blob_symbol, &ro, path, &ctx->diag);
    }
    free(hdr);
    free(src);
    cuda_blob_free(&b);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}
