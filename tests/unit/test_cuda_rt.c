/* The CUDA runtime without the CUDA backend: a hand-written file that follows
 * runtime/slimc_cuda_abi.h (two kernels: y = x * w0 + w1 into the arena, then a check that
 * raises the error flag, then a copy to the output) run through the emulated device
 * against a plain C loop; NVRTC compiling it to PTX for compute_75/80/90, ptxas on the PTX
 * where ptxas is installed, the compile cache, a failed compile keeping its source; and the
 * errors of a machine without a CUDA driver; runtime/cuda_driver.c pasted into one file as
 * AOT executables will have it; the GPU path (driver, module, device block, copies, CUDA
 * graphs, out of memory) against a fake driver (fake_libcuda.c). On a machine with a GPU
 * (SLIMC_TEST_GPU=1) the same file also runs on the GPU.
 *
 * NVRTC must be present (CI installs it: scripts/install-deps.sh); SLIMC_TEST_NO_NVRTC=1
 * turns its tests into skips on a machine without it. */
#include "runtime/cuda.h"

#include "support_fs.h"

#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The model: x f32[N] -> y f32[N], one weight w = {w0, w1} (value id 1). */
static const char model_body[] =
    "#if SLIMC_CU_DEVICE\n"
    "#ifdef __CUDACC_RTC__\n"
    "#define SLIMC_KERNEL extern \"C\" __global__ void\n"
    "#endif\n"
    "/* y = x * w[0] + w[1] over N elements, one thread each */\n"
    "SLIMC_KERNEL node_axpb(const slimc_kargs a)\n"
    "{\n"
    "    const float *x = (const float *)a.in[0];\n"
    "    const float *w = (const float *)a.in[1];\n"
    "    float *y = (float *)a.out;\n"
    "    const int64_t n = a.syms[0];\n"
    "    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < n)\n"
    "        y[i] = x[i] * w[0] + w[1];\n"
    "}\n"
    "/* the error flag: an x below -1000 is 'out of range' */\n"
    "SLIMC_KERNEL node_check(const slimc_kargs a)\n"
    "{\n"
    "    const float *x = (const float *)a.in[0];\n"
    "    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < a.syms[0] && x[i] < -1000.0f)\n"
    "        *a.err = 1;\n"
    "}\n"
    "#endif\n"
    "#if SLIMC_CU_HOST\n"
    "const char *const P_cuda_kernels[] = {\"node_axpb\", \"node_check\", NULL};\n"
    "size_t P_arena_bytes(const int64_t *syms) { return (size_t)syms[0] * 4; }\n"
    "int P_run(const slimc_cuda_rt *rt, const void *const *consts, const void *const *inputs,\n"
    "          void *const *outputs, const int64_t *syms, void *arena)\n"
    "{\n"
    "    if (syms[0] < 1)\n"
    "        return 1;\n"
    "    slimc_kargs a;\n"
    "    memset(&a, 0, sizeof a);\n"
    "    a.in[0] = inputs[0];\n"
    "    a.in[1] = consts[1];\n"
    "    a.out = arena;\n"
    "    a.err = rt->err;\n"
    "    a.syms[0] = syms[0];\n"
    "    const unsigned grid[3] = {(unsigned)((syms[0] + 127) / 128), 1, 1};\n"
    "    const unsigned block[3] = {128, 1, 1};\n"
    "    if (rt->launch(rt->ctx, 0, grid, block, &a) || rt->launch(rt->ctx, 1, grid, block, &a))\n"
    "        return 5;\n"
    "    return rt->copy(rt->ctx, outputs[0], arena, (size_t)syms[0] * 4) ? 5 : 0;\n"
    "}\n"
    "#ifdef SLIMC_CUDA_EMULATE\n"
    "int P_cuda_emu_launch(int k, const unsigned grid[3], const unsigned block[3],\n"
    "                      const slimc_kargs *a)\n"
    "{\n"
    "    static void (*const fns[])(slimc_kargs) = {node_axpb, node_check};\n"
    "    return slimc_emu_launch(fns[k], grid, block, a);\n"
    "}\n"
    "#endif\n"
    "#endif\n";

/* The ABI header verbatim, a marker, then body with P_ replaced by prefix_ (malloc'd). */
static char *model_source(const char *body, const char *marker)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/runtime/slimc_cuda_abi.h", root ? root : ".");
    size_t abi_len;
    unsigned char *abi = fs_slurp(path, &abi_len);
    size_t cap = abi_len + strlen(body) * 2 + 256;
    char *src = malloc(cap);
    size_t n = (size_t)snprintf(src, cap, "%.*s\n/* %s %ld */\n", (int)abi_len, (char *)abi, marker,
                                (long)getpid());
    for (const char *p = body; *p; p++) {
        if (!strncmp(p, "P_", 2) && (p == body || p[-1] == ' ' || p[-1] == '*' || p[-1] == '(')) {
            n += (size_t)snprintf(src + n, cap - n, "slimc_model_");
            p++;
        } else {
            src[n++] = *p;
        }
    }
    src[n] = 0;
    free(abi);
    return src;
}

static const char *sym_names[] = {"N", NULL};
static const RtIoDesc ios[2] = {
    {"x", "x", "f32[N]", RT_DT_F32, 1, {{1, 1u}}, "model.slim", 1, 1},
    {"y", "y", "f32[N]", RT_DT_F32, 1, {{1, 1u}}, NULL, 0, 0},
};
static const RtModelDesc desc = {
    "axpb", "model.slim", 1,       1,
    1,      sym_names,    &ios[0], &ios[1],
    0,      {{0, 0}},     0,       {{{0, 0}, {0, 0}, {0, 0}, 0, 0, NULL, 0, NULL, {0, 0}, NULL}}};
static const float weights[2] = {2.5f, -1.0f};
static const void *const const_data[2] = {NULL, weights};
static const size_t const_bytes[2] = {0, sizeof weights};

/* cache NULL: the tests' shared cache ($SLIMC_CACHE_DIR), where a source compiled by an
 * earlier test (or run) is a hit. */
static RtCudaExec *make_exec(const char *src, bool emulate, const char *cache, Diag *d)
{
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = cache;
    RtCudaConsts c = {2, const_data, const_bytes};
    return rt_cuda_exec_new(src, strlen(src), NULL, &desc, c, NULL, emulate, &o, d);
}

/* Runs e on n values of x (x[i] = i/7 - 3, x[bad] = -5000 when bad >= 0) and checks y
 * against the loop; returns whether the run succeeded. */
static bool run_and_check(RtCudaExec *e, int n, int bad, Diag *d)
{
    float *x = malloc((size_t)n * sizeof *x);
    for (int i = 0; i < n; i++)
        x[i] = (float)i / 7.0f - 3.0f;
    if (bad >= 0)
        x[bad] = -5000.0f;
    RtTensor in = {RT_DT_F32, 1, {n}, x, (size_t)n * sizeof *x}, out;
    bool ok = rt_cuda_exec_run(e, &in, 1, &out, 1, d);
    if (ok) {
        ck_assert_int_eq(out.ndim, 1);
        ck_assert_int_eq(out.shape[0], n);
        const float *y = out.data;
        for (int i = 0; i < n; i++) {
            float want = x[i] * weights[0] + weights[1];
            ck_assert_msg(y[i] == want, "y[%d] = %g, want %g", i, (double)y[i], (double)want);
        }
        free(out.data);
    }
    free(x);
    return ok;
}

START_TEST(test_emulated_run)
{
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(model_body, "emulated");
    RtCudaExec *e = make_exec(src, true, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    ck_assert_str_eq(rt_cuda_exec_device(e), "emulated CUDA device (CPU)");
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(run_and_check(e, 3, -1, &d), "%s", ir_diag_text(&d));      /* smaller */
    ck_assert_msg(run_and_check(e, 100000, -1, &d), "%s", ir_diag_text(&d)); /* the block grows */
    /* the error flag: P_run's code 3 */
    ck_assert(!run_and_check(e, 300, 17, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "model 'axpb' failed: an index is out of range"), "%s",
                  ir_diag_text(&d));
    ir_diag_clear(&d);
    /* and the next run is clean again (the flag is zeroed per run) */
    ck_assert_msg(run_and_check(e, 300, -1, &d), "%s", ir_diag_text(&d));
    /* inputs are checked as exec.c checks them */
    int32_t xi[4] = {0};
    RtTensor in = {RT_DT_I32, 1, {4}, xi, sizeof xi}, out;
    ck_assert(!rt_cuda_exec_run(e, &in, 1, &out, 1, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "input 'x': expected f32[N]"), "%s", ir_diag_text(&d));
    rt_cuda_exec_free(e);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* A launch the emulation refuses (a block of 2048 threads) is status 5 with the reason. */
START_TEST(test_emulated_bad_launch)
{
    Diag d;
    ir_diag_init(&d);
    char *body = strdup(model_body);
    char *p = strstr(body, "block[3] = {128, 1, 1}");
    ck_assert(p);
    memcpy(p, "block[3] = {999, 9, 1}", strlen("block[3] = {999, 9, 1}"));
    char *src = model_source(body, "bad-launch");
    RtCudaExec *e = make_exec(src, true, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    ck_assert(!run_and_check(e, 10, -1, &d));
    const char *msg = ir_diag_text(&d);
    ck_assert_msg(strstr(msg, "failed: a kernel launch failed: kernel 'node_axpb'") &&
                      strstr(msg, "block 999 x 9 x 1) in the CPU emulation: a zero or too large"),
                  "%s", msg);
    rt_cuda_exec_free(e);
    free(src);
    free(body);
    ir_diag_fini(&d);
}
END_TEST

/* A kernel whose threads cannot all reach a barrier: the emulation's deadlock, with its
 * reason, as status 5 (never a hang). */
START_TEST(test_emulated_deadlock)
{
    Diag d;
    ir_diag_init(&d);
    char *body = strdup(model_body);
    const char *from = "    if (i < a.syms[0] && x[i] < -1000.0f)\n";
    const char *to = "    if (threadIdx.x == 0) __syncthreads();\n";
    char *p = strstr(body, from);
    ck_assert(p);
    size_t n = strlen(body) + strlen(to) + 1;
    char *b2 = malloc(n);
    snprintf(b2, n, "%.*s%s%s", (int)(p - body), body, to, p);
    char *src = model_source(b2, "deadlock");
    RtCudaExec *e = make_exec(src, true, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    ck_assert(!run_and_check(e, 300, -1, &d));
    const char *msg = ir_diag_text(&d);
    ck_assert_msg(strstr(msg, "failed: a kernel launch failed: kernel 'node_check'") &&
                      strstr(msg, "in the CPU emulation: a deadlock"),
                  "%s", msg);
    rt_cuda_exec_free(e);
    free(src);
    free(b2);
    free(body);
    ir_diag_fini(&d);
}
END_TEST

/* No driver: a clear error from the probe and from rt_cuda_exec_new, nothing compiled. */
START_TEST(test_no_driver)
{
    setenv("SLIMC_LIBCUDA", "libcuda-that-is-not-there.so.1", 1); /* this test's process only */
    Diag d;
    ir_diag_init(&d);
    char why[600] = "";
    ck_assert(!rt_cuda_device_available(false, why, sizeof why));
    ck_assert_msg(strstr(why, "no CUDA driver (") && strstr(why, "libcuda-that-is-not-there"), "%s",
                  why);
    ck_assert(rt_cuda_device_available(true, NULL, 0)); /* emulated: always */
    char *src = model_source(model_body, "no-driver");
    ck_assert(!make_exec(src, false, NULL, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "no CUDA device found (no CUDA driver"), "%s",
                  ir_diag_text(&d));
    free(src);
    ir_diag_fini(&d);
}
END_TEST

static bool nvrtc_or_skip(void)
{
    char why[2048];
    if (rt_nvrtc_available(why, sizeof why))
        return true;
    const char *skip = getenv("SLIMC_TEST_NO_NVRTC");
    ck_assert_msg(skip && !strcmp(skip, "1"),
                  "NVRTC not found (%s): install it (scripts/install-deps.sh) or set "
                  "SLIMC_TEST_NO_NVRTC=1",
                  why);
    fprintf(stderr, "note: NVRTC not found: its tests are skipped (%s)\n", why);
    return false;
}

/* PTX for compute_75, 80 and 90 (each kernel in it), ptxas accepts it; a second compile is
 * a cache hit (no compile time) and `cache info` counts the entries. */
START_TEST(test_nvrtc_ptx)
{
    if (!nvrtc_or_skip())
        return;
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(model_body, "ptx");
    char *cache = strdup(fs_make_tmp());
    static const int archs[] = {75, 80, 90};
    for (int i = 0; i < 3; i++) {
        RtOptions o;
        rt_options_default(&o);
        o.cache_dir = cache;
        double ms = 0;
        o.compile_ms = &ms;
        RtCuImage img;
        ck_assert_msg(rt_nvrtc_compile(src, strlen(src), archs[i], RT_CU_PTX, 0, &o, &img, &d),
                      "%s", ir_diag_text(&d));
        ck_assert(ms > 0);
        char target[32];
        snprintf(target, sizeof target, ".target sm_%d", archs[i]);
        ck_assert_msg(strstr((char *)img.data, target), "no '%s' in the PTX", target);
        ck_assert(strstr((char *)img.data, ".entry node_axpb"));
        ck_assert(strstr((char *)img.data, ".entry node_check"));
        ck_assert_int_eq(strlen((char *)img.data), img.len);
        int pt = rt_ptxas_check(&img, archs[i], &d);
        ck_assert_msg(pt != 0, "%s", ir_diag_text(&d));
        if (pt < 0 && i == 0)
            fprintf(stderr, "note: no ptxas: the PTX is not assembled\n");
        /* the second time: from the cache, the same bytes */
        RtCuImage again;
        ms = 0;
        ck_assert(rt_nvrtc_compile(src, strlen(src), archs[i], RT_CU_PTX, 0, &o, &again, &d));
        ck_assert(ms == 0);
        ck_assert_int_eq(again.len, img.len);
        ck_assert(!memcmp(again.data, img.data, img.len));
        rt_cu_image_free(&again);
        rt_cu_image_free(&img);
    }
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = cache;
    RtCacheInfo info;
    ck_assert(rt_cache_info(&o, &info, &d));
    ck_assert_int_eq(info.cuda_entries, 3);
    ck_assert_int_eq(info.entries, 3);
    free(info.dir);
    /* cubin for one sm, and -fmad=false is another entry */
    RtCuImage cubin;
    ck_assert_msg(
        rt_nvrtc_compile(src, strlen(src), 80, RT_CU_CUBIN, RT_NVRTC_NO_FMAD, &o, &cubin, &d), "%s",
        ir_diag_text(&d));
    ck_assert(cubin.len > 4 && !memcmp(cubin.data, "\177ELF", 4));
    rt_cu_image_free(&cubin);
    ck_assert(rt_cache_info(&o, &info, &d));
    ck_assert_int_eq(info.cuda_entries, 4);
    free(info.dir);
    int removed = 0;
    ck_assert(rt_cache_clear(&o, &removed, &d));
    ck_assert_int_eq(removed, 8);
    free(src);
    fs_rm_tree(cache);
    free(cache);
    ir_diag_fini(&d);
}
END_TEST

/* A kernel NVRTC refuses: the error is a slimc bug with NVRTC's log, and the source is kept
 * at the path the message names. */
START_TEST(test_nvrtc_failure_keeps_source)
{
    if (!nvrtc_or_skip())
        return;
    Diag d;
    ir_diag_init(&d);
    char *body = strdup(model_body);
    char *p = strstr(body, "y[i] = x[i] * w[0] + w[1];");
    ck_assert(p);
    memcpy(p, "y[i] = x[i] * w[0] + zzz ;", strlen("y[i] = x[i] * w[0] + zzz ;"));
    char *src = model_source(body, "failure");
    char *cache = strdup(fs_make_tmp());
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = cache;
    RtCuImage img;
    ck_assert(!rt_nvrtc_compile(src, strlen(src), 80, RT_CU_PTX, 0, &o, &img, &d));
    const char *msg = ir_diag_text(&d);
    ck_assert_msg(strstr(msg, "failed to compile the generated CUDA code for compute_80") &&
                      strstr(msg, "bug in slimc") && strstr(msg, "zzz"),
                  "%s", msg);
    const char *at = strstr(msg, "source kept at ");
    ck_assert_msg(at, "%s", msg);
    char kept[4096];
    ck_assert(sscanf(at + strlen("source kept at "), "%4095s", kept) == 1);
    char want_dir[4200];
    snprintf(want_dir, sizeof want_dir, "%s/failed/", cache);
    ck_assert_msg(!strncmp(kept, want_dir, strlen(want_dir)), "%s", kept);
    size_t len;
    unsigned char *text = fs_slurp(kept, &len);
    ck_assert_int_eq(len, strlen(src));
    ck_assert(!memcmp(text, src, len));
    free(text);
    /* `cache clear` removes it with the rest */
    int removed = 0;
    ck_assert(rt_cache_clear(&o, &removed, &d));
    ck_assert(access(kept, F_OK) != 0);
    free(src);
    free(body);
    fs_rm_tree(cache);
    free(cache);
    ir_diag_fini(&d);
}
END_TEST

/* runtime/cuda_driver.{h,c} pasted after the ABI into one file, as `slimc build` will paste
 * them (static, no project includes), compile and work: ASCII only, and a probe through
 * the pasted copy gives the no-driver message. */
START_TEST(test_driver_pastes)
{
    setenv("SLIMC_LIBCUDA", "libcuda-that-is-not-there.so.1", 1);
    const char *root = getenv("SLIMC_SOURCE_DIR");
    static const char *const parts[] = {"runtime/slimc_cuda_abi.h", "runtime/cuda_driver.h",
                                        "runtime/cuda_driver.c"};
    size_t cap = 1 << 20, n = 0;
    char *src = malloc(cap);
    n += (size_t)snprintf(src, cap,
                          "#define SLIMC_CUDA_DRIVER_EMBEDDED 1\n"
                          "#define SLIMC_CUDA_DRIVER_STATIC 1\n");
    for (int i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", root ? root : ".", parts[i]);
        size_t len;
        unsigned char *text = fs_slurp(path, &len);
        for (size_t k = 0; k < len; k++)
            ck_assert_msg(text[k] < 128, "%s: byte %zu is not ASCII", parts[i], k);
        for (char *line = (char *)text; line < (char *)text + len;) {
            char *end = memchr(line, '\n', (size_t)((char *)text + len - line));
            size_t l = end ? (size_t)(end - line) + 1 : (size_t)((char *)text + len - line);
            if (strncmp(line, "#include \"", 10) != 0) {
                ck_assert(n + l < cap);
                memcpy(src + n, line, l);
                n += l;
            }
            line += l;
        }
        free(text);
    }
    n += (size_t)snprintf(src + n, cap - n,
                          "\nint probe(char *msg, size_t cap);\n"
                          "int probe(char *msg, size_t cap)\n"
                          "{\n"
                          "    RtCuDevice *d = rt_cu_open(0, msg, cap);\n"
                          "    rt_cu_close(d);\n"
                          "    return d != NULL;\n"
                          "}\n");
    Diag d;
    ir_diag_init(&d);
    RtOptions o;
    rt_options_default(&o);
    RtModule *m = rt_compile(src, n, &o, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    int (*probe)(char *, size_t);
    *(void **)&probe = rt_symbol(m, "probe");
    ck_assert(probe);
    char msg[600] = "";
    ck_assert_int_eq(probe(msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "no CUDA driver (") && strstr(msg, "libcuda-that-is-not-there"), "%s",
                  msg);
    rt_module_free(m);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* ---- the GPU path against the fake driver (tests/unit/fake_libcuda.c) ---- */

static void use_fake_driver(void)
{
    setenv("SLIMC_LIBCUDA", FAKE_LIBCUDA, 1); /* this test's process only (Check forks) */
}

/* A counter of the fake driver (loaded by runtime/cuda_driver.c by now). */
static long fake_stat(const char *name)
{
    void *h = dlopen(FAKE_LIBCUDA, RTLD_NOW | RTLD_NOLOAD);
    ck_assert_msg(h, "the fake driver is not loaded");
    long (*stat_fn)(const char *);
    *(void **)&stat_fn = dlsym(h, "fake_cuda_stat");
    ck_assert(stat_fn);
    long v = stat_fn(name);
    dlclose(h);
    return v;
}

/* A file compiled in parts (SLIMC_NVRTC_PARTS=2): each kernel's group in its own NVRTC
 * program, its own module; each kernel found in the module of its group (kernel 0 in group
 * 1, kernel 1 in group 0: the fake driver refuses a lookup in a module whose image lacks
 * the kernel), and the run right. */
START_TEST(test_fake_gpu_parts)
{
    if (!nvrtc_or_skip())
        return;
    use_fake_driver();
    setenv("SLIMC_NVRTC_PARTS", "2", 1);
    char *body = strdup(model_body);
    char *parts = malloc(strlen(body) + 512);
    const char *a = strstr(body, "SLIMC_KERNEL node_axpb"), *b = strstr(body, "/* the error flag");
    const char *c2 = strstr(body, "SLIMC_KERNEL node_check"),
               *e2 = strstr(body, "#endif\n#if SLIMC_CU_HOST");
    const char *h = strstr(body, "size_t P_arena_bytes");
    ck_assert(a && b && c2 && e2 && h && a < b && b < c2 && c2 < e2 && e2 < h);
    snprintf(parts, strlen(body) + 512,
             "%.*s#if SLIMC_CU_IN_PART(1)\n%.*s#endif\n%.*s#if SLIMC_CU_IN_PART(0)\n%.*s#endif\n"
             "%.*sconst int P_cuda_kernel_groups[] = {1, 0};\n%s",
             (int)(a - body), body, (int)(b - a), a, (int)(c2 - b), b, (int)(e2 - c2), c2,
             (int)(h - e2), e2, h);
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(parts, "fake-gpu-parts");
    RtCudaExec *e = make_exec(src, false, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    ck_assert_int_eq(fake_stat("loads"), 2); /* two modules */
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    ck_assert(!run_and_check(e, 300, 17, &d)); /* node_check, in the second module, runs */
    ck_assert_msg(strstr(ir_diag_text(&d), "out of range"), "%s", ir_diag_text(&d));
    rt_cuda_exec_free(e);
    /* the same file in one part: one module holding both kernels */
    setenv("SLIMC_NVRTC_PARTS", "1", 1);
    ir_diag_fini(&d);
    ir_diag_init(&d);
    e = make_exec(src, false, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    ck_assert_int_eq(fake_stat("loads"), 3);
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    rt_cuda_exec_free(e);
    unsetenv("SLIMC_NVRTC_PARTS");
    ir_diag_fini(&d);
    free(src);
    free(parts);
    free(body);
}
END_TEST

/* Compiled by NVRTC (cubin for the fake's sm_80), loaded, weights uploaded once, one device
 * block; a graph captured per input shape and replayed; the flag; all memory freed. */
START_TEST(test_fake_gpu)
{
    if (!nvrtc_or_skip())
        return;
    use_fake_driver();
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(model_body, "fake-gpu");
    RtCudaExec *e = make_exec(src, false, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    ck_assert_str_eq(rt_cuda_exec_device(e), "Fake GPU (sm_80)");
    ck_assert_int_eq(fake_stat("loads"), 1);
    ck_assert_int_eq(fake_stat("live"), 1); /* the weights */
    for (int rep = 0; rep < 3; rep++)
        ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(fake_stat("captures"), 1); /* captured once, replayed */
    ck_assert_int_eq(fake_stat("graph_launches"), 3);
    ck_assert_int_eq(fake_stat("launches"), 6);
    ck_assert_int_eq(fake_stat("live"), 2);                             /* + the device block */
    ck_assert_msg(run_and_check(e, 3, -1, &d), "%s", ir_diag_text(&d)); /* another shape */
    ck_assert_int_eq(fake_stat("captures"), 2);
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d)); /* kept */
    ck_assert_int_eq(fake_stat("captures"), 2);
    ck_assert_int_eq(fake_stat("allocs"), 2);
    ck_assert_msg(run_and_check(e, 100000, -1, &d), "%s", ir_diag_text(&d)); /* grows */
    ck_assert_int_eq(fake_stat("allocs"), 3);
    ck_assert_int_eq(fake_stat("live"), 2);
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d)); /* moved: again */
    ck_assert_int_eq(fake_stat("captures"), 4);
    ck_assert(rt_cuda_exec_last_ms(e) == 0.25);
    ck_assert(!run_and_check(e, 300, 17, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "model 'axpb' failed: an index is out of range"), "%s",
                  ir_diag_text(&d));
    ir_diag_clear(&d);
    ck_assert_msg(run_and_check(e, 300, -1, &d), "%s", ir_diag_text(&d));
    rt_cuda_exec_free(e);
    ck_assert_int_eq(fake_stat("live"), 0);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* SLIMC_CUDA_GRAPHS=0: every run launches its kernels one by one. */
START_TEST(test_fake_gpu_no_graphs)
{
    if (!nvrtc_or_skip())
        return;
    use_fake_driver();
    setenv("SLIMC_CUDA_GRAPHS", "0", 1);
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(model_body, "fake-gpu");
    RtCudaExec *e = make_exec(src, false, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    for (int rep = 0; rep < 2; rep++)
        ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(fake_stat("captures"), 0);
    ck_assert_int_eq(fake_stat("launches"), 4);
    rt_cuda_exec_free(e);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* Out of GPU memory: a clear error naming the sizes and the device; nothing leaks. */
START_TEST(test_fake_gpu_oom)
{
    if (!nvrtc_or_skip())
        return;
    use_fake_driver();
    setenv("FAKE_CUDA_MEM", "65536", 1);
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(model_body, "fake-gpu");
    RtCudaExec *e = make_exec(src, false, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    ck_assert(!run_and_check(e, 100000, -1, &d));
    const char *msg = ir_diag_text(&d);
    ck_assert_msg(strstr(msg, "model 'axpb' on Fake GPU (sm_80): out of GPU memory: 1.1 MiB "
                              "asked, 0.1 MiB free of 0.1 MiB\n"),
                  "%s", msg);
    ir_diag_clear(&d);
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d)); /* still usable */
    rt_cuda_exec_free(e);
    ck_assert_int_eq(fake_stat("live"), 0);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* A kernel NVRTC refuses while the host half compiles beside it: the error, no exec, no
 * device memory left. */
START_TEST(test_fake_gpu_compile_error)
{
    if (!nvrtc_or_skip())
        return;
    use_fake_driver();
    Diag d;
    ir_diag_init(&d);
    char *body = strdup(model_body);
    char *p = strstr(body, "y[i] = x[i] * w[0] + w[1];");
    ck_assert(p);
    memcpy(p, "y[i] = x[i] * w[0] + zzz ;", strlen("y[i] = x[i] * w[0] + zzz ;"));
    char *src = model_source(body, "fake-gpu-error");
    char *cache = strdup(fs_make_tmp());
    ck_assert(!make_exec(src, false, cache, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "failed to compile the generated CUDA code for sm_80"),
                  "%s", ir_diag_text(&d));
    ck_assert_int_eq(fake_stat("live"), 0);
    ck_assert_int_eq(fake_stat("loads"), 0);
    free(src);
    free(body);
    fs_rm_tree(cache);
    free(cache);
    ir_diag_fini(&d);
}
END_TEST

/* A GPU but no NVRTC: the clear error, nothing compiled. */
START_TEST(test_fake_gpu_no_nvrtc)
{
    use_fake_driver();
    setenv("SLIMC_NVRTC", "/nonexistent/libnvrtc.so.13", 1);
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(model_body, "fake-gpu-no-nvrtc");
    ck_assert(!make_exec(src, false, NULL, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "NVRTC (the CUDA runtime compiler) not found: "
                                           "/nonexistent/libnvrtc.so.13: cannot open") &&
                      strstr(ir_diag_text(&d), "pip install nvidia-cuda-nvrtc"),
                  "%s", ir_diag_text(&d));
    ck_assert_int_eq(fake_stat("loads"), 0);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* A driver that sees no device. */
START_TEST(test_fake_no_device)
{
    use_fake_driver();
    setenv("FAKE_CUDA_DEVICES", "0", 1);
    char why[600] = "";
    ck_assert(!rt_cuda_device_available(false, why, sizeof why));
    ck_assert_str_eq(why, "no CUDA-capable device (the driver sees none)");
}
END_TEST

/* The same file on a real GPU, where there is one (SLIMC_TEST_GPU=1: scripts/gpu_check.sh). */
START_TEST(test_gpu_run)
{
    const char *want = getenv("SLIMC_TEST_GPU");
    char why[600];
    if (!rt_cuda_device_available(false, why, sizeof why)) {
        ck_assert_msg(!(want && !strcmp(want, "1")), "SLIMC_TEST_GPU=1 but %s", why);
        return;
    }
    Diag d;
    ir_diag_init(&d);
    char *src = model_source(model_body, "gpu");
    RtCudaExec *e = make_exec(src, false, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    fprintf(stderr, "note: running on %s\n", rt_cuda_exec_device(e));
    for (int rep = 0; rep < 3; rep++) /* captured once, replayed */
        ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(run_and_check(e, 100000, -1, &d), "%s", ir_diag_text(&d));
    ck_assert(rt_cuda_exec_last_ms(e) > 0);
    ck_assert(!run_and_check(e, 300, 17, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "an index is out of range"), "%s", ir_diag_text(&d));
    ir_diag_clear(&d);
    ck_assert_msg(run_and_check(e, 1000, -1, &d), "%s", ir_diag_text(&d));
    rt_cuda_exec_free(e);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_rt");
    TCase *tc = tcase_create("cuda_rt");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_emulated_run);
    tcase_add_test(tc, test_emulated_bad_launch);
    tcase_add_test(tc, test_emulated_deadlock);
    tcase_add_test(tc, test_no_driver);
    tcase_add_test(tc, test_nvrtc_ptx);
    tcase_add_test(tc, test_nvrtc_failure_keeps_source);
    tcase_add_test(tc, test_driver_pastes);
    tcase_add_test(tc, test_fake_gpu);
    tcase_add_test(tc, test_fake_gpu_parts);
    tcase_add_test(tc, test_fake_gpu_no_graphs);
    tcase_add_test(tc, test_fake_gpu_oom);
    tcase_add_test(tc, test_fake_gpu_compile_error);
    tcase_add_test(tc, test_fake_gpu_no_nvrtc);
    tcase_add_test(tc, test_fake_no_device);
    tcase_add_test(tc, test_gpu_run);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
