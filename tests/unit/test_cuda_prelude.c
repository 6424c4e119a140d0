/* runtime/cuda_prelude.cuh, the NVRTC spelling of the CUDA portability layer: the kernels
 * of cuda_emu_kernels.h (which test_cuda_emu.c runs on the CPU emulation), laid out as a
 * generated file lays them out (the ABI, the prelude under __CUDACC_RTC__, the kernels),
 * must compile with NVRTC for compute_75, compute_80 and compute_90 without an error or a
 * warning, and NVRTC's ptxas must take the result for sm_75, sm_80 and sm_90 (a CUBIN).
 * NVRTC is loaded with dlopen ($SLIMC_NVRTC, libnvrtc.so, or CUDA's lib64); where it is
 * absent the test says so and passes: CI has it. */
#include <check.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*NvrtcCreate)(void **prog, const char *src, const char *name, int nheaders,
                           const char *const *headers, const char *const *include_names);
typedef int (*NvrtcCompile)(void *prog, int nopts, const char *const *opts);
typedef int (*NvrtcSize)(void *prog, size_t *size);
typedef int (*NvrtcGet)(void *prog, char *out);
typedef int (*NvrtcDestroy)(void **prog);

static struct {
    void *lib;
    NvrtcCreate create;
    NvrtcCompile compile;
    NvrtcSize log_size, ptx_size, cubin_size;
    NvrtcGet log, ptx, cubin;
    NvrtcDestroy destroy;
} nv;

static void *sym(const char *name)
{
    void *p = dlsym(nv.lib, name);
    ck_assert_msg(p != NULL, "libnvrtc has no %s", name);
    return p;
}

/* Loads NVRTC; false when it is not installed. */
static int nvrtc_load(void)
{
    const char *env = getenv("SLIMC_NVRTC");
    const char *names[] = {env, "libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12",
                           "/usr/local/cuda/lib64/libnvrtc.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !nv.lib; i++)
        if (names[i] && *names[i])
            nv.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!nv.lib)
        return 0;
    *(void **)&nv.create = sym("nvrtcCreateProgram");
    *(void **)&nv.compile = sym("nvrtcCompileProgram");
    *(void **)&nv.log_size = sym("nvrtcGetProgramLogSize");
    *(void **)&nv.log = sym("nvrtcGetProgramLog");
    *(void **)&nv.ptx_size = sym("nvrtcGetPTXSize");
    *(void **)&nv.ptx = sym("nvrtcGetPTX");
    *(void **)&nv.cubin_size = sym("nvrtcGetCUBINSize");
    *(void **)&nv.cubin = sym("nvrtcGetCUBIN");
    *(void **)&nv.destroy = sym("nvrtcDestroyProgram");
    return 1;
}

static char *slurp(const char *rel)
{
    const char *dir = getenv("SLIMC_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (SLIMC_SOURCE_DIR?)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert(fread(s, 1, (size_t)n, f) == (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* The text of a generated file's device half, with the test kernels. */
static char *source(void)
{
    char *abi = slurp("runtime/slimc_cuda_abi.h"), *pre = slurp("runtime/cuda_prelude.cuh");
    char *k = slurp("tests/unit/cuda_emu_kernels.h");
    const size_t n = strlen(abi) + strlen(pre) + strlen(k) + 200;
    char *s = malloc(n);
    snprintf(s, n, "%s\n#if SLIMC_CU_DEVICE\n#if defined(__CUDACC_RTC__)\n%s\n#endif\n%s\n#endif\n",
             abi, pre, k);
    free(abi);
    free(pre);
    free(k);
    return s;
}

/* Compiles src with one --gpu-architecture; returns the PTX or CUBIN size (0: failed). */
static size_t compile(const char *src, const char *arch, int cubin)
{
    void *prog = NULL;
    ck_assert_int_eq(nv.create(&prog, src, "cuda_emu_kernels.cu", 0, NULL, NULL), 0);
    char opt[64];
    snprintf(opt, sizeof opt, "--gpu-architecture=%s", arch);
    const char *opts[] = {opt, "--fmad=false"};
    const int rc = nv.compile(prog, 2, opts);
    size_t log_n = 0;
    nv.log_size(prog, &log_n);
    char *log = calloc(1, log_n + 1);
    if (log_n)
        nv.log(prog, log);
    ck_assert_msg(rc == 0, "NVRTC (%s) failed:\n%s", arch, log);
    ck_assert_msg(!strstr(log, "warning"), "NVRTC (%s) warns:\n%s", arch, log);
    free(log);
    size_t n = 0;
    if (cubin) {
        nv.cubin_size(prog, &n);
    } else {
        nv.ptx_size(prog, &n);
        char *ptx = malloc(n + 1);
        nv.ptx(prog, ptx);
        ck_assert_msg(strstr(ptx, ".entry tk_mma_16816") != NULL, "%s: no tk_mma_16816", arch);
        /* sm_80 and up use the mma instructions of the layout; sm_75 its m16n8k8/m8n8k16 */
        ck_assert(strstr(ptx, strcmp(arch, "compute_75") ? "mma.sync.aligned.m16n8k32"
                                                         : "mma.sync.aligned.m8n8k16"));
        free(ptx);
    }
    nv.destroy(&prog);
    return n;
}

START_TEST(prelude_compiles_with_nvrtc)
{
    if (!nvrtc_load()) {
        printf("test_cuda_prelude: SKIPPED: NVRTC not found (set SLIMC_NVRTC to libnvrtc.so)\n");
        return;
    }
    char *src = source();
    static const char *const virt[] = {"compute_75", "compute_80", "compute_90"};
    static const char *const real[] = {"sm_75", "sm_80", "sm_90"};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(compile(src, virt[i], 0) > 0, "%s: empty PTX", virt[i]);
        ck_assert_msg(compile(src, real[i], 1) > 0, "%s: empty CUBIN", real[i]);
    }
    free(src);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_prelude");
    TCase *tc = tcase_create("cuda_prelude");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, prelude_compiles_with_nvrtc);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
