/* The CPU emulation against a real GPU, where there is one: the kernels of
 * cuda_emu_kernels.h, compiled by NVRTC with runtime/cuda_prelude.cuh, run through the
 * CUDA driver on the same inputs as the emulation (runtime/cuda_emu.h), and the outputs
 * must agree: bit for bit for barriers, shuffles, atomics, conversions (NaN included),
 * dp4a, the _rn arithmetic and the s8 mma; to 1e-5 of the magnitude for the f16/bf16 mma
 * (the tensor cores' order of additions is not documented). Every kernel is compiled twice,
 * for the GPU's own architecture and for compute_75, so the sm_75 spellings of the mma
 * functions (m16n8k8, m8n8k16, bf16 by FMAs over shuffles) run on the GPU too. This is the
 * check of the PTX fragment layouts the emulation follows.
 * Without libcuda.so.1, a driver that starts, a device, or NVRTC, it says so and passes
 * (CI has no GPU; scripts/gpu_check.sh runs it where there is one). */
#define SLIMC_CUDA_EMULATE 1
#include "runtime/slimc_cuda_abi.h"
#include "runtime/cuda_emu.h"
#include "cuda_emu_kernels.h"
#include "cuda_nvrtc.h"

#include <math.h>

/* ---- the CUDA driver, loaded with dlopen ---- */

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef struct CuApi {
    void *lib;
    CUresult (*init)(unsigned);
    CUresult (*device_count)(int *);
    CUresult (*device_get)(int *, int);
    CUresult (*attribute)(int *, int, int);
    CUresult (*primary_retain)(void **, int);
    CUresult (*ctx_set)(void *);
    CUresult (*module_load)(void **, const void *);
    CUresult (*module_unload)(void *);
    CUresult (*get_function)(void **, void *, const char *);
    CUresult (*mem_alloc)(CUdeviceptr *, size_t);
    CUresult (*mem_free)(CUdeviceptr);
    CUresult (*htod)(CUdeviceptr, const void *, size_t);
    CUresult (*dtoh)(void *, CUdeviceptr, size_t);
    CUresult (*launch)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                       void *, void **, void **);
    CUresult (*sync)(void);
    CUresult (*error_string)(CUresult, const char **);
    int cc; /* the device's compute capability, e.g. 90 */
} CuApi;
static CuApi cu;

#define CU_ATTR_CC_MAJOR 75
#define CU_ATTR_CC_MINOR 76

static const char *cu_error(CUresult rc)
{
    const char *s = NULL;
    if (cu.error_string)
        cu.error_string(rc, &s);
    return s ? s : "?";
}
#define CU_OK(call)                                                                                \
    do {                                                                                           \
        const CUresult rc_ = (call);                                                               \
        ck_assert_msg(rc_ == 0, "%s: %d %s", #call, rc_, cu_error(rc_));                           \
    } while (0)

/* A device and its primary context; a reason to skip when there is none. */
static const char *cu_open(void)
{
    cu.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!cu.lib)
        return "no CUDA driver (libcuda.so.1)";
    static const struct {
        const char *name;
        size_t offset;
    } syms[] = {
        {"cuInit", offsetof(CuApi, init)},
        {"cuDeviceGetCount", offsetof(CuApi, device_count)},
        {"cuDeviceGet", offsetof(CuApi, device_get)},
        {"cuDeviceGetAttribute", offsetof(CuApi, attribute)},
        {"cuDevicePrimaryCtxRetain", offsetof(CuApi, primary_retain)},
        {"cuCtxSetCurrent", offsetof(CuApi, ctx_set)},
        {"cuModuleLoadData", offsetof(CuApi, module_load)},
        {"cuModuleUnload", offsetof(CuApi, module_unload)},
        {"cuModuleGetFunction", offsetof(CuApi, get_function)},
        {"cuMemAlloc_v2", offsetof(CuApi, mem_alloc)},
        {"cuMemFree_v2", offsetof(CuApi, mem_free)},
        {"cuMemcpyHtoD_v2", offsetof(CuApi, htod)},
        {"cuMemcpyDtoH_v2", offsetof(CuApi, dtoh)},
        {"cuLaunchKernel", offsetof(CuApi, launch)},
        {"cuCtxSynchronize", offsetof(CuApi, sync)},
        {"cuGetErrorString", offsetof(CuApi, error_string)},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *p = dlsym(cu.lib, syms[i].name);
        if (!p)
            return "the CUDA driver lacks a function this test uses";
        memcpy((char *)&cu + syms[i].offset, &p, sizeof p);
    }
    int n = 0, dev = 0, major = 0, minor = 0;
    if (cu.init(0) != 0 || cu.device_count(&n) != 0 || n == 0)
        return "no CUDA device";
    CU_OK(cu.device_get(&dev, 0));
    CU_OK(cu.attribute(&major, CU_ATTR_CC_MAJOR, dev));
    CU_OK(cu.attribute(&minor, CU_ATTR_CC_MINOR, dev));
    cu.cc = major * 10 + minor;
    void *ctx = NULL;
    CU_OK(cu.primary_retain(&ctx, dev));
    CU_OK(cu.ctx_set(ctx));
    return NULL;
}

/* ---- one kernel, on the GPU and on the CPU ---- */

/* A launch's buffers: a.in[0..2] inputs, a.out and a.ep[0..1] outputs (their host
 * contents are the initial values on both sides), with their sizes in bytes. */
typedef struct Case {
    const char *kernel;
    void (*fn)(slimc_kargs);
    unsigned grid[3], block[3];
    slimc_kargs a;
    size_t in_bytes[3], out_bytes, ep_bytes[2];
} Case;

/* Runs the case on the GPU (module m) into gout / gep, then on the emulation in place. */
static void run_both(void *m, const Case *c, void *gout, void *gep[2])
{
    slimc_kargs d = c->a;
    CUdeviceptr p[6] = {0};
    for (int i = 0; i < 3; i++)
        if (c->in_bytes[i]) {
            CU_OK(cu.mem_alloc(&p[i], c->in_bytes[i]));
            CU_OK(cu.htod(p[i], c->a.in[i], c->in_bytes[i]));
            d.in[i] = (const void *)(uintptr_t)p[i];
        }
    CU_OK(cu.mem_alloc(&p[3], c->out_bytes));
    CU_OK(cu.htod(p[3], c->a.out, c->out_bytes));
    d.out = (void *)(uintptr_t)p[3];
    for (int i = 0; i < 2; i++)
        if (c->ep_bytes[i]) {
            CU_OK(cu.mem_alloc(&p[4 + i], c->ep_bytes[i]));
            CU_OK(cu.htod(p[4 + i], c->a.ep[i], c->ep_bytes[i]));
            d.ep[i] = (const void *)(uintptr_t)p[4 + i];
        }
    void *f = NULL;
    CU_OK(cu.get_function(&f, m, c->kernel));
    void *params[] = {&d};
    CU_OK(cu.launch(f, c->grid[0], c->grid[1], c->grid[2], c->block[0], c->block[1], c->block[2], 0,
                    NULL, params, NULL));
    CU_OK(cu.sync());
    CU_OK(cu.dtoh(gout, p[3], c->out_bytes));
    for (int i = 0; i < 2; i++)
        if (c->ep_bytes[i])
            CU_OK(cu.dtoh(gep[i], p[4 + i], c->ep_bytes[i]));
    for (int i = 0; i < 6; i++)
        if (p[i])
            CU_OK(cu.mem_free(p[i]));
    ck_assert_int_eq(slimc_emu_launch(c->fn, c->grid, c->block, &c->a), 0);
}

static uint32_t rng_state = 777u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Bit-equal words, or two NaNs (the payload is reported, not failed). */
static void same_words(const char *what, const char *arch, const void *emu, const void *gpu,
                       size_t bytes, int floats)
{
    const uint32_t *e = (const uint32_t *)emu, *g = (const uint32_t *)gpu;
    for (size_t i = 0; i < bytes / 4; i++) {
        if (e[i] == g[i])
            continue;
        float fe, fg;
        memcpy(&fe, &e[i], 4);
        memcpy(&fg, &g[i], 4);
        if (floats && isnan(fe) && isnan(fg)) {
            printf("test_cuda_emu_gpu: %s (%s) word %zu: NaN %#x here, %#x on the GPU\n", what,
                   arch, i, e[i], g[i]);
            continue;
        }
        ck_abort_msg("%s (%s): word %zu is %#x in the emulation, %#x on the GPU", what, arch, i,
                     e[i], g[i]);
    }
}

static void check_kernels(void *m, const char *arch)
{
    /* block barriers */
    {
        static float in[30 * 1024], out[30], gout[30];
        for (int i = 0; i < 30 * 1024; i++)
            in[i] = (float)(rng() % 17) - 8.0f;
        Case c = {.kernel = "tk_block_sum",
                  .fn = tk_block_sum,
                  .grid = {5, 3, 2},
                  .block = {8, 8, 16},
                  .in_bytes = {sizeof in},
                  .out_bytes = sizeof out};
        c.a.in[0] = in;
        c.a.out = out;
        run_both(m, &c, gout, NULL);
        same_words("tk_block_sum", arch, out, gout, sizeof out, 1);
    }
    /* shuffles */
    {
        enum { N = 3 * 256 };
        static float in[N], out[4 * N], gout[4 * N];
        for (int i = 0; i < N; i++)
            in[i] = (float)(rng() % 100);
        memset(out, 0, sizeof out);
        Case c = {.kernel = "tk_warp_ops",
                  .fn = tk_warp_ops,
                  .grid = {3, 1, 1},
                  .block = {32, 4, 2},
                  .in_bytes = {sizeof in},
                  .out_bytes = sizeof out};
        c.a.in[0] = in;
        c.a.out = out;
        run_both(m, &c, gout, NULL);
        same_words("tk_warp_ops", arch, out, gout, sizeof out, 1);
    }
    /* divergence */
    {
        static int in[512], out[512], gout[512];
        for (int i = 0; i < 512; i++)
            in[i] = (int)(rng() % 1000);
        Case c = {.kernel = "tk_divergent",
                  .fn = tk_divergent,
                  .grid = {4, 1, 1},
                  .block = {64, 2, 1},
                  .in_bytes = {sizeof in},
                  .out_bytes = sizeof out};
        c.a.in[0] = in;
        c.a.out = out;
        run_both(m, &c, gout, NULL);
        same_words("tk_divergent", arch, out, gout, sizeof out, 0);
    }
    /* atomics */
    {
        static int in[50 * 96], out[19], gout[19];
        for (int i = 0; i < 50 * 96; i++)
            in[i] = (int)(rng() % 100000);
        memset(out, 0, sizeof out);
        Case c = {.kernel = "tk_atomics",
                  .fn = tk_atomics,
                  .grid = {50, 1, 1},
                  .block = {96, 1, 1},
                  .in_bytes = {sizeof in},
                  .out_bytes = sizeof out};
        c.a.in[0] = in;
        c.a.out = out;
        run_both(m, &c, gout, NULL);
        same_words("tk_atomics", arch, out, gout, sizeof out, 0);
    }
    /* conversions (random bits: NaN, Inf, subnormals), dp4a, the _rn arithmetic */
    {
        enum { N = 4096 };
        static float x[N], y[N], z[N], of[3 * N], gof[3 * N];
        static uint16_t o16[2 * N], go16[2 * N];
        static int oi[N], goi[N];
        for (int i = 0; i < N; i++) {
            uint32_t u[3] = {rng(), rng(), rng()};
            memcpy(&x[i], &u[0], 4);
            memcpy(&y[i], &u[1], 4);
            memcpy(&z[i], &u[2], 4);
            if (i % 2) { /* magnitudes where products and sums mix, and f16/bf16 ties */
                x[i] = (float)((int)(rng() % 2000001) - 1000000) / 1024.0f;
                y[i] = (float)((int)(rng() % 20001) - 10000) / 1000.0f;
                z[i] = (float)((int)(rng() % 20001) - 10000) / 10.0f;
            }
        }
        Case c = {.kernel = "tk_convert",
                  .fn = tk_convert,
                  .grid = {N / 256, 1, 1},
                  .block = {256, 1, 1},
                  .in_bytes = {sizeof x, sizeof y, sizeof z},
                  .out_bytes = sizeof o16,
                  .ep_bytes = {sizeof of, sizeof oi}};
        c.a.in[0] = x;
        c.a.in[1] = y;
        c.a.in[2] = z;
        c.a.out = o16;
        c.a.ep[0] = of;
        c.a.ep[1] = oi;
        c.a.syms[0] = N;
        void *gep[2] = {gof, goi};
        run_both(m, &c, go16, gep);
        same_words("tk_convert f16/bf16 bits", arch, o16, go16, sizeof o16, 0);
        same_words("tk_convert floats", arch, of, gof, sizeof of, 1);
        same_words("tk_convert dp4a", arch, oi, goi, sizeof oi, 0);
    }
    /* the rest of the layer: exact but for rsqrt and expf (a few ulp on the GPU; denormal
     * results of expf compared absolutely) */
    {
        enum { N = 512 };
        static float x[N], y[N], z[N], o[8 * N], go[8 * N];
        for (int i = 0; i < N; i++) {
            x[i] = (float)((int)(rng() % 40001) - 20000) / 7.0f;
            y[i] = (float)((int)(rng() % 20001) - 10000) / 3.0f + 0.5f;
            z[i] = (float)((int)(rng() % 2001) - 1000) / 11.0f;
        }
        Case c = {.kernel = "tk_math",
                  .fn = tk_math,
                  .grid = {N / 128, 1, 1},
                  .block = {128, 1, 1},
                  .in_bytes = {sizeof x, sizeof y, sizeof z},
                  .out_bytes = sizeof o};
        c.a.in[0] = x;
        c.a.in[1] = y;
        c.a.in[2] = z;
        c.a.out = o;
        c.a.syms[0] = N;
        run_both(m, &c, go, NULL);
        for (int i = 0; i < 8 * N; i++) {
            if (i % 8 == 0 || i % 8 == 5) {
                ck_assert_msg(fabsf(o[i] - go[i]) <= 6e-7f * fabsf(o[i]) + 1e-43f,
                              "tk_math (%s) %d: %g here, %g on the GPU", arch, i, (double)o[i],
                              (double)go[i]);
                continue;
            }
            ck_assert_msg(f_bits(o[i]) == f_bits(go[i]), "tk_math (%s) %d: %#x here, %#x there",
                          arch, i, f_bits(o[i]), f_bits(go[i]));
        }
    }
    /* tensor cores */
    for (int bf16 = 0; bf16 < 2; bf16++) {
        static uint16_t A[4 * 256], B[4 * 128];
        static float C[4 * 128], D[4 * 128], gD[4 * 128];
        for (int i = 0; i < 4 * 256; i++) {
            const float v = (float)((int)(rng() % 2001) - 1000) / 256.0f;
            A[i] = bf16 ? slimc_f2b(v) : slimc_f2h(v);
        }
        for (int i = 0; i < 4 * 128; i++) {
            const float v = (float)((int)(rng() % 2001) - 1000) / 300.0f;
            B[i] = bf16 ? slimc_f2b(v) : slimc_f2h(v);
            C[i] = (float)((int)(rng() % 2001) - 1000) / 7.0f;
        }
        Case c = {.kernel = "tk_mma_16816",
                  .fn = tk_mma_16816,
                  .grid = {1, 1, 1},
                  .block = {32, 4, 1},
                  .in_bytes = {sizeof A, sizeof B, sizeof C},
                  .out_bytes = sizeof D};
        c.a.in[0] = A;
        c.a.in[1] = B;
        c.a.in[2] = C;
        c.a.out = D;
        c.a.syms[0] = bf16;
        run_both(m, &c, gD, NULL);
        for (int w = 0; w < 4; w++)
            for (int r = 0; r < 16; r++)
                for (int n = 0; n < 8; n++) {
                    double mag = fabs((double)C[w * 128 + r * 8 + n]);
                    for (int k = 0; k < 16; k++) {
                        const uint16_t ea = A[w * 256 + r * 16 + k], eb = B[w * 128 + k * 8 + n];
                        mag += bf16 ? fabs((double)slimc_b2f(ea) * slimc_b2f(eb))
                                    : fabs((double)slimc_h2f(ea) * slimc_h2f(eb));
                    }
                    const int i = w * 128 + r * 8 + n;
                    ck_assert_msg(fabs((double)D[i] - gD[i]) <= 1e-5 * mag,
                                  "tk_mma_16816 %s (%s) tile %d [%d][%d]: %g here, %g on the GPU",
                                  bf16 ? "bf16" : "f16", arch, w, r, n, (double)D[i],
                                  (double)gD[i]);
                }
    }
    {
        static int8_t A[8 * 512], B[8 * 256];
        static int C[8 * 128], D[8 * 128], gD[8 * 128];
        for (int i = 0; i < 8 * 512; i++)
            A[i] = (int8_t)(rng() & 0xff);
        for (int i = 0; i < 8 * 256; i++)
            B[i] = (int8_t)(rng() & 0xff);
        for (int i = 0; i < 8 * 128; i++)
            C[i] = (int)(rng() % 2000001) - 1000000;
        Case c = {.kernel = "tk_mma_16832",
                  .fn = tk_mma_16832,
                  .grid = {1, 1, 1},
                  .block = {256, 1, 1},
                  .in_bytes = {sizeof A, sizeof B, sizeof C},
                  .out_bytes = sizeof D};
        c.a.in[0] = A;
        c.a.in[1] = B;
        c.a.in[2] = C;
        c.a.out = D;
        run_both(m, &c, gD, NULL);
        same_words("tk_mma_16832", arch, D, gD, sizeof D, 0);
    }
}

START_TEST(emulation_matches_the_gpu)
{
    const char *why = cu_open();
    if (!why && !nvrtc_load())
        why = "NVRTC not found";
    if (why) {
        printf("test_cuda_emu_gpu: SKIPPED: %s\n", why);
        return;
    }
    char *src = nvrtc_test_source();
    char own[32];
    snprintf(own, sizeof own, "compute_%d", cu.cc < 90 ? cu.cc : 90);
    const char *archs[] = {own, "compute_75"};
    for (int i = 0; i < 2; i++) {
        size_t n;
        char *ptx = nvrtc_compile(src, archs[i], &n);
        void *m = NULL;
        CU_OK(cu.module_load(&m, ptx));
        check_kernels(m, archs[i]);
        CU_OK(cu.module_unload(m));
        free(ptx);
        printf("test_cuda_emu_gpu: %s on sm_%d agrees with the emulation\n", archs[i], cu.cc);
    }
    free(src);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_emu_gpu");
    TCase *tc = tcase_create("cuda_emu_gpu");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, emulation_matches_the_gpu);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
