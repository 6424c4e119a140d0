/* NVRTC for the tests of the CUDA portability layer (test_cuda_prelude.c,
 * test_cuda_emu_gpu.c): loaded with dlopen ($SLIMC_NVRTC, libnvrtc.so, or CUDA's lib64),
 * and the text of a generated file's device half holding the kernels of
 * cuda_emu_kernels.h, laid out as codegen/cuda/ lays a file out. */
#ifndef TESTS_UNIT_CUDA_NVRTC_H
#define TESTS_UNIT_CUDA_NVRTC_H

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

static void *nvrtc_sym(const char *name)
{
    void *p = dlsym(nv.lib, name);
    ck_assert_msg(p != NULL, "libnvrtc has no %s", name);
    return p;
}

/* Loads NVRTC; 0 when it is not installed. */
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
    *(void **)&nv.create = nvrtc_sym("nvrtcCreateProgram");
    *(void **)&nv.compile = nvrtc_sym("nvrtcCompileProgram");
    *(void **)&nv.log_size = nvrtc_sym("nvrtcGetProgramLogSize");
    *(void **)&nv.log = nvrtc_sym("nvrtcGetProgramLog");
    *(void **)&nv.ptx_size = nvrtc_sym("nvrtcGetPTXSize");
    *(void **)&nv.ptx = nvrtc_sym("nvrtcGetPTX");
    *(void **)&nv.cubin_size = nvrtc_sym("nvrtcGetCUBINSize");
    *(void **)&nv.cubin = nvrtc_sym("nvrtcGetCUBIN");
    *(void **)&nv.destroy = nvrtc_sym("nvrtcDestroyProgram");
    return 1;
}

static char *nvrtc_slurp(const char *rel)
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

/* The ABI, the prelude under __CUDACC_RTC__, the test kernels (malloc'ed). */
static char *nvrtc_test_source(void)
{
    char *abi = nvrtc_slurp("runtime/slimc_cuda_abi.h");
    char *pre = nvrtc_slurp("runtime/cuda_prelude.cuh");
    char *k = nvrtc_slurp("tests/unit/cuda_emu_kernels.h");
    const size_t n = strlen(abi) + strlen(pre) + strlen(k) + 200;
    char *s = malloc(n);
    snprintf(s, n, "%s\n#if SLIMC_CU_DEVICE\n#if defined(__CUDACC_RTC__)\n%s\n#endif\n%s\n#endif\n",
             abi, pre, k);
    free(abi);
    free(pre);
    free(k);
    return s;
}

/* Compiles src for one --gpu-architecture (compute_XY: PTX, sm_XY: CUBIN) with
 * --fmad=false; fails the test on an error or a warning. Returns the PTX (NUL-terminated)
 * or the CUBIN, malloc'ed, and its size in *size. */
static char *nvrtc_compile(const char *src, const char *arch, size_t *size)
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
    const int cubin = strncmp(arch, "sm_", 3) == 0;
    size_t n = 0;
    (cubin ? nv.cubin_size : nv.ptx_size)(prog, &n);
    char *out = calloc(1, n + 1);
    (cubin ? nv.cubin : nv.ptx)(prog, out);
    nv.destroy(&prog);
    *size = n;
    return out;
}

#endif
