/* AOT: `slimc build MODEL -o FILE` — the model's C, the runtime's shared input code
 * (runtime/model_desc.h, model_io.c), the model's descriptor and the main() of
 * runtime/slimc_main.c in one translation unit, the constants linked in as one blob.
 * `slimc build MODEL --lib -o DIR` — DIR/NAME.h and DIR/libNAME.a: the model's C with a
 * small API around it (init / run / run with the caller's arena / free), the constants
 * linked in as one blob or kept in DIR/NAME.weights. The C around the model's comes from
 * codegen/c/aot.c; this file compiles, links and writes the files. */
#include "api/api_internal.h"
#include "codegen/c/aot.h"
#include "ir/text_escape.h"

#include "frontend/files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Embedded by CMakeLists.txt: the executable's runtime, pasted after the model's C. */
extern const char slimc_main_source[], slimc_model_desc_header[], slimc_model_io_source[];
extern const size_t slimc_main_source_len, slimc_model_desc_header_len, slimc_model_io_source_len;

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

/* Defense in depth: what this file writes around the model's C (the metadata, the header,
 * the library API) is printable ASCII; a name that missed the helpers above fails here. */
static bool plain_text(SlimcContext *ctx, const char *text, size_t n)
{
    if (ir_text_is_plain_ascii(text, n))
        return true;
    ir_diag_error(
        &ctx->diag, (SrcLoc){0},
        "build: internal error: text from the model reached the generated code unescaped");
    return false;
}

/* The model was optimized for the device o names (auto: either). */
static bool same_device(SlimcContext *ctx, const SlimcModel *m, const SlimcOptions *o)
{
    if (!o || o->device == SLIMC_DEVICE_AUTO)
        return true;
    return api_check_optimized_for(ctx, m,
                                   o->device == SLIMC_DEVICE_CUDA ? IR_DEVICE_CUDA : IR_DEVICE_CPU);
}

/* The first lines of an executable's source and of a library's NAME.c (before NAME.h's
 * system headers): the POSIX names runtime/model_io.c uses (O_CLOEXEC, fstat) are visible
 * under -std=c11 too, and on Linux sched_getaffinity, which the default thread count
 * (nthreads 0, slimc_rt_cpu_count) reads. */
static const char lib_prologue[] = "#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)\n"
                                   "#ifdef __linux__\n#define _GNU_SOURCE 1\n#else\n"
                                   "#define _POSIX_C_SOURCE 200809L\n#endif\n#endif\n";

SlimcStatus slimc_build_executable(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                   const char *out_path)
{
    return slimc_build_executable_for(ctx, m, o, NULL, out_path);
}

SlimcStatus slimc_build_executable_for(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                       const char *triple, const char *out_path)
{
    if (!fe_check_output(m->g, out_path, &ctx->diag) || slimc_model_optimize(ctx, m, o) != SLIMC_OK)
        return SLIMC_ERROR;
    if (!same_device(ctx, m, o))
        return SLIMC_ERROR;
    if (m->device == IR_DEVICE_CUDA && o && o->profile) {
        ir_diag_error(&ctx->diag, (SrcLoc){m->g->source, 0, 0},
                      "--profile times the nodes of a model on the CPU; for one on a GPU use "
                      "Nsight Systems (nsys profile ./PROGRAM ...)");
        return SLIMC_ERROR;
    }
    if (m->device == IR_DEVICE_CUDA)
        return api_build_cuda_executable(ctx, m, o, triple, out_path);
    size_t len;
    const bool profile = o && o->profile;
    char *model_src = api_emit_source(ctx, m, "slimc_model", false, profile, &len);
    if (!model_src)
        return SLIMC_ERROR;
    int64_t *offsets = calloc((size_t)m->g->n_values + 1, sizeof *offsets);
    SLIMC_ASSERT(offsets);
    size_t blob_len;
    unsigned char *blob = cg_aot_pack_constants(m->g, offsets, &blob_len);
    char *src = NULL;
    size_t src_len = 0;
    FILE *f = open_memstream(&src, &src_len);
    SLIMC_ASSERT(f);
    fputs(lib_prologue, f); /* sched_getaffinity: the default thread count */
    fwrite(model_src, 1, len, f);
    fputs("\n#define SLIMC_MODEL_IO_EMBEDDED 1\n", f);
    fwrite(slimc_model_desc_header, 1, slimc_model_desc_header_len, f);
    fwrite(slimc_model_io_source, 1, slimc_model_io_source_len, f);
    long meta_at = ftell(f);
    CgAotModel am = aot_model(m);
    cg_aot_put_metadata(f, &am, offsets);
    free((void *)am.input_names);
    long meta_end = ftell(f);
    /* 0: the CPUs the program may use where it runs (runtime/slimc_main.c) */
    fprintf(f, "#define SLIMC_DEFAULT_THREADS %d\n", o && o->threads > 0 ? o->threads : 0);
    if (profile)
        fputs("#define SLIMC_PROFILE 1\n", f);
    fwrite(slimc_main_source, 1, slimc_main_source_len, f);
    fclose(f);
    free(model_src);
    free(offsets);
    if (!plain_text(ctx, src + meta_at, (size_t)(meta_end - meta_at))) {
        free(src);
        free(blob);
        return SLIMC_ERROR;
    }

    RtOptions ro;
    api_rt_options(o, &ro, &ctx->t);
    if ((!o || !o->cpu) && !triple)
        ro.cpu = "x86-64-v2"; /* portable by default; --cpu native trades that for speed */
    ro.triple = triple;
    /* A model without constants still needs the symbol main() refers to. */
    static const unsigned char one_byte[64];
    bool ok = rt_build_executable(src, src_len, blob_len ? blob : one_byte, blob_len ? blob_len : 1,
                                  "slimc_weights_blob", &ro, out_path, &ctx->diag);
    free(src);
    free(blob);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}

/* ---- static libraries ---- */

/* Writes data to path through a temp file and a rename. */
static bool write_file_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return false;
    FILE *f = fdopen(fd, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    if (ok && chmod(tmp, 0644) == 0 && rename(tmp, path) == 0)
        return true;
    unlink(tmp);
    return false;
}

SlimcStatus slimc_build_library(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                const SlimcLibOptions *lo, const char *dir)
{
    const char *name = lo && lo->name ? lo->name : slimc_model_name(m);
    if (!cg_aot_is_lib_name(name) || strlen(name) > 100) {
        ir_diag_error(&ctx->diag, (SrcLoc){0},
                      "'%s' is not a C identifier of at most 100 characters led by a letter (and "
                      "not a C keyword): name the library with --name",
                      name);
        return SLIMC_ERROR;
    }
    if (o && o->profile) {
        ir_diag_error(&ctx->diag, (SrcLoc){m->g->source, 0, 0},
                      "--profile is for executables (and slimc run/bench): a library's caller "
                      "times its own calls");
        return SLIMC_ERROR;
    }
    if (slimc_make_output_dir(ctx, dir) != SLIMC_OK)
        return SLIMC_ERROR;
    /* no file the library writes may be one of the model's own */
    static const char *const before[] = {"", "lib", "", ""}, *const after[] = {".h", ".a", ".c",
                                                                               ".weights"};
    for (int i = 0; i < 4; i++) {
        char out[4200];
        snprintf(out, sizeof out, "%s/%s%s%s", dir, before[i], name, after[i]);
        if (!fe_check_output(m->g, out, &ctx->diag))
            return SLIMC_ERROR;
    }
    if (slimc_model_optimize(ctx, m, o) != SLIMC_OK || !same_device(ctx, m, o))
        return SLIMC_ERROR;
    if (m->device == IR_DEVICE_CUDA)
        return api_build_cuda_library(ctx, m, o, lo, name, dir);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s_model", name);
    size_t len;
    char *model_src = api_emit_source(ctx, m, prefix, false, false, &len);
    if (!model_src)
        return SLIMC_ERROR;
    int64_t *offsets = calloc((size_t)m->g->n_values + 1, sizeof *offsets);
    SLIMC_ASSERT(offsets);
    size_t blob_len;
    unsigned char *blob = cg_aot_pack_constants(m->g, offsets, &blob_len);
    CgAotModel am = aot_model(m);
    bool side = lo && lo->weights_file;

    char *src = NULL, *hdr = NULL;
    size_t src_len = 0, hdr_len = 0;
    FILE *f = open_memstream(&src, &src_len);
    SLIMC_ASSERT(f);
    fputs(lib_prologue, f);
    fprintf(f, "#include \"%s.h\"\n", name);
    fwrite(model_src, 1, len, f);
    /* the descriptor and its binder for NAME_run_checked, with internal linkage */
    fputs("\n#define SLIMC_MODEL_IO_EMBEDDED 1\n#define SLIMC_MODEL_IO_STATIC 1\n", f);
    fwrite(slimc_model_desc_header, 1, slimc_model_desc_header_len, f);
    fwrite(slimc_model_io_source, 1, slimc_model_io_source_len, f);
    long wrapper_at = ftell(f);
    cg_aot_put_metadata(f, &am, NULL);
    cg_aot_put_wrapper(f, &am, name, offsets, side);
    fclose(f);
    f = open_memstream(&hdr, &hdr_len);
    SLIMC_ASSERT(f);
    cg_aot_put_header(f, &am, name, blob_len, side);
    free((void *)am.input_names);
    fclose(f);

    char path[4200], blob_symbol[300];
    bool ok = plain_text(ctx, src + wrapper_at, src_len - (size_t)wrapper_at) &&
              plain_text(ctx, hdr, hdr_len);
    snprintf(path, sizeof path, "%s/%s.h", dir, name);
    if (ok && !write_file_atomic(path, hdr, hdr_len)) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno));
        ok = false;
    }
    /* The source includes NAME.h: compile it with the header beside it. */
    char *full = NULL;
    size_t full_len = 0;
    if (ok) {
        f = open_memstream(&full, &full_len);
        SLIMC_ASSERT(f);
        const char *body = strchr(src + strlen(lib_prologue), '\n') + 1; /* past the #include */
        fputs(lib_prologue, f);
        fwrite(hdr, 1, hdr_len, f);
        fwrite(body, 1, src_len - (size_t)(body - src), f);
        fclose(f);
    }
    if (ok && lo && lo->emit_source) {
        snprintf(path, sizeof path, "%s/%s.c", dir, name);
        if (!write_file_atomic(path, src, src_len)) {
            ir_diag_error(&ctx->diag, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno));
            ok = false;
        }
    }
    if (ok && side) {
        snprintf(path, sizeof path, "%s/%s.weights", dir, name);
        if (!write_file_atomic(path, blob, blob_len)) {
            ir_diag_error(&ctx->diag, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno));
            ok = false;
        }
    }
    if (ok && !(lo && lo->source_only)) {
        RtOptions ro;
        api_rt_options(o, &ro, &ctx->t);
        ro.triple = lo ? lo->target_triple : NULL;
        if ((!o || !o->cpu) && !ro.triple)
            ro.cpu = "x86-64-v2"; /* portable by default; --cpu native trades that for speed */
        snprintf(blob_symbol, sizeof blob_symbol, "%s_weights_blob", name);
        snprintf(path, sizeof path, "%s/lib%s.a", dir, name);
        static const unsigned char
            one_byte[64]; /* the blob symbol must exist even with no constants */
        ok = rt_build_library(full, full_len,
                              side       ? NULL
                              : blob_len ? blob
                                         : one_byte,
                              side       ? 0
                              : blob_len ? blob_len
                                         : 1,
                              blob_symbol, &ro, path, &ctx->diag);
    }
    free(full);
    free(src);
    free(hdr);
    free(model_src);
    free(offsets);
    free(blob);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}
