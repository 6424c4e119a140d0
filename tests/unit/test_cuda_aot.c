/* What `slimc inspect --device cuda` reads: the CUDA backend's report of its kernels and
 * launches (codegen/cuda/report.h), and the static shared memory of a kernel from a cubin
 * (runtime/cubin_info.h) -- from a real NVRTC cubin, and from hand-made ELF images,
 * truncated and corrupted, which must never be read out of bounds. */
#include "slimc/slimc.h"

#include "codegen/cuda/report.h"
#include "ir/graph.h"
#include "runtime/cubin_info.h"
#include "runtime/cuda.h"

#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

/* An ELF64 image with the sections .shstrtab, .nv.shared.kern (428 bytes) and
 * .nv.shared.kern2 (16 bytes), like a cubin's; *len its size. */
static unsigned char *make_elf(size_t *len)
{
    static const char names[] = "\0.shstrtab\0.nv.shared.kern\0.nv.shared.kern2";
    const size_t shoff = sizeof(Elf64_Ehdr) + sizeof names + 7;
    *len = shoff + 4 * sizeof(Elf64_Shdr);
    unsigned char *p = calloc(1, *len);
    ck_assert_ptr_nonnull(p);
    Elf64_Ehdr eh = {0};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_shoff = shoff;
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = 4;
    eh.e_shstrndx = 1;
    memcpy(p, &eh, sizeof eh);
    memcpy(p + sizeof eh, names, sizeof names);
    Elf64_Shdr sh[4] = {{0}};
    sh[1].sh_name = 1; /* .shstrtab */
    sh[1].sh_offset = sizeof eh;
    sh[1].sh_size = sizeof names;
    sh[2].sh_name = 11; /* .nv.shared.kern */
    sh[2].sh_type = SHT_NOBITS;
    sh[2].sh_size = 428;
    sh[3].sh_name = 27; /* .nv.shared.kern2 */
    sh[3].sh_type = SHT_NOBITS;
    sh[3].sh_size = 16;
    memcpy(p + shoff, sh, sizeof sh);
    return p;
}

START_TEST(test_cubin_sections)
{
    size_t len, n;
    unsigned char *p = make_elf(&len);
    ck_assert(rt_cubin_shared_bytes(p, len, "kern", &n));
    ck_assert_uint_eq(n, 428);
    ck_assert(rt_cubin_shared_bytes(p, len, "kern2", &n));
    ck_assert_uint_eq(n, 16);
    ck_assert(rt_cubin_shared_bytes(p, len, "ker", &n)); /* a prefix is not the kernel */
    ck_assert_uint_eq(n, 0);
    ck_assert(rt_cubin_shared_bytes(p, len, "other", &n));
    ck_assert_uint_eq(n, 0);
    /* every truncation: false or a size, never a read past the end (ASan) */
    for (size_t cut = 0; cut < len; cut++) {
        unsigned char *q = malloc(cut + 1);
        memcpy(q, p, cut);
        if (rt_cubin_shared_bytes(q, cut, "kern", &n))
            ck_assert(n == 0 || n == 428);
        free(q);
    }
    /* hostile header fields */
    Elf64_Ehdr eh;
    memcpy(&eh, p, sizeof eh);
    const Elf64_Ehdr good = eh;
    eh.e_shoff = (Elf64_Off)-8;
    memcpy(p, &eh, sizeof eh);
    ck_assert(!rt_cubin_shared_bytes(p, len, "kern", &n));
    eh = good;
    eh.e_shnum = 60000; /* more headers than the image holds: found before the end, or false */
    memcpy(p, &eh, sizeof eh);
    ck_assert(rt_cubin_shared_bytes(p, len, "kern", &n) && n == 428);
    ck_assert(!rt_cubin_shared_bytes(p, len, "other", &n));
    eh = good;
    eh.e_shstrndx = 9;
    memcpy(p, &eh, sizeof eh);
    ck_assert(!rt_cubin_shared_bytes(p, len, "kern", &n));
    eh = good;
    memcpy(p, &eh, sizeof eh);
    Elf64_Shdr sh;
    memcpy(&sh, p + eh.e_shoff + 2 * sizeof sh, sizeof sh);
    sh.sh_name = 0xffffff; /* a name past the string table */
    memcpy(p + eh.e_shoff + 2 * sizeof sh, &sh, sizeof sh);
    ck_assert(rt_cubin_shared_bytes(p, len, "kern", &n));
    ck_assert_uint_eq(n, 0);
    p[0] = 0; /* not ELF */
    ck_assert(!rt_cubin_shared_bytes(p, len, "kern", &n));
    free(p);
}
END_TEST

/* A cubin from NVRTC: its .nv.shared sections are what the kernels declare. */
START_TEST(test_cubin_from_nvrtc)
{
    char why[600];
    if (!rt_nvrtc_available(why, sizeof why)) {
        fprintf(stderr, "skip: no NVRTC (%s)\n", why);
        return;
    }
    static const char src[] = "extern \"C\" __global__ void with_shared(float *x)\n"
                              "{\n"
                              "    __shared__ float t[100];\n"
                              "    __shared__ int u[7];\n"
                              "    t[threadIdx.x] = x[threadIdx.x];\n"
                              "    u[threadIdx.x % 7] = 1;\n"
                              "    __syncthreads();\n"
                              "    x[threadIdx.x] = t[99 - threadIdx.x] + (float)u[3];\n"
                              "}\n"
                              "extern \"C\" __global__ void without(float *x) { x[0] = 1.0f; }\n";
    RtOptions ro;
    rt_options_default(&ro);
    Diag d;
    ir_diag_init(&d);
    RtCuImage img;
    ck_assert_msg(rt_nvrtc_compile(src, sizeof src - 1, 80, RT_CU_CUBIN, 0, &ro, &img, &d), "%s",
                  ir_diag_text(&d));
    size_t n;
    ck_assert(rt_cubin_shared_bytes(img.data, img.len, "with_shared", &n));
    ck_assert_uint_eq(n, 100 * 4 + 7 * 4);
    ck_assert(rt_cubin_shared_bytes(img.data, img.len, "without", &n));
    ck_assert_uint_eq(n, 0);
    rt_cu_image_free(&img);
    ir_diag_fini(&d);
}
END_TEST

/* The report lists the kernels and launches the emitted file has. */
START_TEST(test_report)
{
    static const int64_t dims[] = {4, 300};
    unsigned seed = 3;
    Graph *g = ir_graph_new("rep");
    RtTensor in[2];
    ValueId x = sup_input(g, "x", 2, dims, &in[0], &seed);
    ValueId y = sup_input(g, "y", 2, dims, &in[1], &seed);
    const ValueId xy[2] = {x, y};
    NodeId a = ir_node_new(g, IR_OP_ADD, NULL, (SrcLoc){0}, xy, 2, 1);
    ValueId av = g->nodes[a].outputs[0];
    NodeId t = ir_node_new(g, IR_OP_TANH, NULL, (SrcLoc){0}, &av, 1, 1);
    ir_output_add(g, g->nodes[t].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    char msg[2000];
    size_t len;
    char *src = sup_cuda_emit(g, NULL, &len, msg, sizeof msg); /* places and plans g */
    ck_assert_msg(src, "%s", msg);
    CuReport r;
    ck_assert_msg(cg_cuda_report(g, &(CgOptions){0}, NULL, &r, &d), "%s", ir_diag_text(&d));
    ck_assert_int_ge(r.n_kernels, 1);
    ck_assert_int_ge(r.n_launches, 1);
    for (int l = 0; l < r.n_launches; l++) {
        const CuReportLaunch *L = &r.launches[l];
        ck_assert(L->kernel >= 0 && L->kernel < r.n_kernels);
        ck_assert(L->block[0] >= 1 && L->block[0] * L->block[1] * L->block[2] <= 1024);
        ck_assert_ptr_nonnull(L->grid[0]);
        /* the launch the host half makes is the one reported */
        char call[300];
        snprintf(call, sizeof call, "slimc_cu_go(rt, %d, %s, %s, %s, %du, %du, %du", L->kernel,
                 L->grid[0], L->grid[1], L->grid[2], L->block[0], L->block[1], L->block[2]);
        ck_assert_msg(strstr(src, call), "not in the file: %s", call);
        ck_assert_msg(strstr(src, r.kernels[L->kernel]), "kernel %s", r.kernels[L->kernel]);
    }
    cg_cuda_report_free(&r);
    free(src);
    free(in[0].data);
    free(in[1].data);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* The public API: slimc_model_emit for CUDA and C, --precision's errors. */
static SlimcModel *load_ew(SlimcContext *ctx)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/cuda/ew.slim", root ? root : ".");
    SlimcModel *m = NULL;
    ck_assert_msg(slimc_model_load(ctx, path, &m) == SLIMC_OK, "%s", slimc_error(ctx));
    return m;
}

static char *emit_text(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, SlimcStatus *st)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ck_assert_ptr_nonnull(f);
    *st = slimc_model_emit(ctx, m, o, f);
    fclose(f);
    return buf;
}

START_TEST(test_api_emit)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcOptions o;
    slimc_options_default(&o);
    o.device = SLIMC_DEVICE_CUDA;
    o.precision = SLIMC_PRECISION_FP16;
    SlimcModel *m = load_ew(ctx);
    SlimcStatus st;
    char *text = emit_text(ctx, m, &o, &st);
    ck_assert_msg(st == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert(strstr(text, "SLIMC_KERNEL"));
    ck_assert(strstr(text, "multiply in fp16 on tensor cores"));
    free(text);
    /* optimized for CUDA: C is refused, not emitted for CUDA-placed nodes */
    slimc_options_default(&o);
    text = emit_text(ctx, m, &o, &st);
    ck_assert(st == SLIMC_ERROR);
    ck_assert(strstr(slimc_error(ctx), "was optimized for the cuda"));
    free(text);
    slimc_model_free(m);
    /* C, and a precision with the CPU */
    m = load_ew(ctx);
    o.precision = SLIMC_PRECISION_BF16;
    text = emit_text(ctx, m, &o, &st);
    ck_assert(st == SLIMC_ERROR);
    ck_assert(strstr(slimc_error(ctx), "--precision bf16 needs --device cuda"));
    free(text);
    text = emit_text(ctx, m, NULL, &st);
    ck_assert_msg(st == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert(!strstr(text, "SLIMC_KERNEL"));
    free(text);
    ck_assert_str_eq(slimc_precision_name(SLIMC_PRECISION_BF16), "bf16");
    ck_assert_ptr_null(slimc_precision_name((SlimcPrecision)7));
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_aot");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_cubin_sections);
    tcase_add_test(tc, test_cubin_from_nvrtc);
    tcase_add_test(tc, test_report);
    tcase_add_test(tc, test_api_emit);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
