/* The JIT and its cache: hits skip the compiler, corrupt entries are rebuilt, the cache
 * directory is private, and compiler problems come back as clear errors. */
#define _GNU_SOURCE 1 /* dl_iterate_phdr */
#include "runtime/jit.h"

#include <check.h>
#include <dirent.h>
#include <link.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base[1024];

static void set_base(const char *name)
{
    const char *root = getenv("SLIMC_CACHE_DIR");
    snprintf(base, sizeof base, "%s/jit-%s-%ld-%ld", root && *root ? root : "/tmp", name,
             (long)getpid(), (long)time(NULL));
}

static char *unique_src(int value)
{
    static int counter;
    char *s = malloc(256);
    snprintf(s, 256, "/* %ld %d */\nint answer(void);\nint answer(void) { return %d; }\n",
             (long)getpid(), counter++, value);
    return s;
}

static RtModule *compile(const char *src, const char *dir, double *ms, Diag *d)
{
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = dir;
    o.compile_ms = ms;
    return rt_compile(src, strlen(src), &o, d);
}

static int call_answer(RtModule *m)
{
    int (*f)(void);
    *(void **)&f = rt_symbol(m, "answer");
    ck_assert(f);
    return f();
}

/* The path of the one entry with this extension in dir. */
static bool find_entry(const char *dir, const char *ext, char *out, size_t size)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    bool found = false;
    while (dp && (e = readdir(dp))) {
        size_t n = strlen(e->d_name), k = strlen(ext);
        if (e->d_name[0] != '.' && n > k && strcmp(e->d_name + n - k, ext) == 0) {
            snprintf(out, size, "%s/%s", dir, e->d_name);
            found = true;
        }
    }
    if (dp)
        closedir(dp);
    return found;
}

START_TEST(test_cache_hit)
{
    set_base("hit");
    Diag d;
    ir_diag_init(&d);
    char *src = unique_src(42);
    double ms = 0;
    RtModule *m = compile(src, base, &ms, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    ck_assert(ms > 0);
    ck_assert_int_eq(call_answer(m), 42);
    rt_module_free(m);
    ms = 0;
    m = compile(src, base, &ms, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    ck_assert(ms == 0); /* no compiler run */
    ck_assert_int_eq(call_answer(m), 42);
    rt_module_free(m);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

static void corrupt_case(int how)
{
    set_base(how == 0 ? "trunc" : how == 1 ? "flip" : "meta");
    Diag d;
    ir_diag_init(&d);
    char *src = unique_src(7 + how);
    double ms = 0;
    RtModule *m = compile(src, base, &ms, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    rt_module_free(m);
    char so[1200], meta[1200];
    ck_assert(find_entry(base, ".so", so, sizeof so));
    ck_assert(find_entry(base, ".meta", meta, sizeof meta));
    if (how == 0) {
        struct stat st;
        ck_assert_int_eq(stat(so, &st), 0);
        ck_assert_int_eq(truncate(so, st.st_size / 2), 0);
    } else {
        const char *path = how == 1 ? so : meta;
        int fd = open(path, O_RDWR);
        ck_assert_int_ge(fd, 0);
        unsigned char c;
        off_t at = how == 1 ? 200 : 20;
        ck_assert_int_eq(pread(fd, &c, 1, at), 1);
        c ^= 0x5a;
        ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
        close(fd);
    }
    ms = 0;
    m = compile(src, base, &ms, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    ck_assert(ms > 0); /* rebuilt */
    ck_assert_int_eq(call_answer(m), 7 + how);
    rt_module_free(m);
    ms = 0;
    m = compile(src, base, &ms, &d); /* and the rebuilt entry is a hit again */
    ck_assert(m && ms == 0);
    rt_module_free(m);
    free(src);
    ir_diag_fini(&d);
}

START_TEST(test_corrupt_entry)
{
    corrupt_case(0);
    corrupt_case(1);
    corrupt_case(2);
}
END_TEST

START_TEST(test_cache_dir_private)
{
    set_base("mode");
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/a/b", base);
    Diag d;
    ir_diag_init(&d);
    char *src = unique_src(1);
    RtModule *m = compile(src, dir, NULL, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    rt_module_free(m);
    const char *levels[] = {base, NULL, dir};
    char mid[1200];
    snprintf(mid, sizeof mid, "%s/a", base);
    levels[1] = mid;
    for (int i = 0; i < 3; i++) {
        struct stat st;
        ck_assert_int_eq(stat(levels[i], &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0700);
    }
    /* a directory others can write to is not used (warning, no cache) */
    ck_assert_int_eq(chmod(dir, 0777), 0);
    double ms = 0;
    m = compile(src, dir, &ms, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    ck_assert(ms > 0);
    ck_assert_msg(strstr(ir_diag_text(&d), "writable by others"), "%s", ir_diag_text(&d));
    ck_assert_int_eq(call_answer(m), 1);
    rt_module_free(m);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_missing_compiler)
{
    set_base("nocc");
    Diag d;
    ir_diag_init(&d);
    RtOptions o;
    rt_options_default(&o);
    o.cc = "slimc-no-such-compiler";
    o.cache_dir = base;
    RtModule *m = rt_compile("int x;", 6, &o, &d);
    ck_assert(!m);
    ck_assert_msg(strstr(ir_diag_text(&d),
                         "C compiler 'slimc-no-such-compiler' not found (set SLIMC_CC or CC)"),
                  "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_compile_error)
{
    set_base("err");
    Diag d;
    ir_diag_init(&d);
    const char *src = "int broken(void) { return undeclared_thing; }\n";
    RtModule *m = compile(src, base, NULL, &d);
    ck_assert(!m);
    ck_assert_msg(strstr(ir_diag_text(&d), "undeclared_thing"), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_two_modules)
{
    set_base("two");
    Diag d;
    ir_diag_init(&d);
    char *s1 = unique_src(1), *s2 = unique_src(2);
    RtModule *a = compile(s1, base, NULL, &d), *b = compile(s2, base, NULL, &d);
    ck_assert_msg(a && b, "%s", ir_diag_text(&d));
    ck_assert_int_eq(call_answer(a), 1);
    ck_assert_int_eq(call_answer(b), 2);
    rt_module_free(a);
    ck_assert_int_eq(call_answer(b), 2);
    rt_module_free(b);
    free(s1);
    free(s2);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_executable_with_blob)
{
    set_base("exe");
    Diag d;
    ir_diag_init(&d);
    const char *src =
        "extern const unsigned char blob[];\nint main(void) { return blob[3] + blob[0]; }\n";
    unsigned char data[5] = {1, 2, 3, 40, 5};
    char out[1200];
    snprintf(out, sizeof out, "%s-prog", base);
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = base;
    ck_assert_msg(rt_build_executable(src, strlen(src), data, sizeof data, "blob", &o, out, &d),
                  "%s", ir_diag_text(&d));
    int rc = system(out);
    ck_assert(WIFEXITED(rc));
    ck_assert_int_eq(WEXITSTATUS(rc), 41);
    unlink(out);
    ir_diag_fini(&d);
}
END_TEST

/* ---- the in-process compiler (skipped where slimc was built without LLVM) ---- */

static bool have_clang(void)
{
    RtOptions o;
    rt_options_default(&o);
    o.backend = RT_BACKEND_CLANG;
    return strstr(rt_backend_name(&o), "in-process") != NULL;
}

static RtModule *compile_clang(const char *src, const char *dir, double *ms, Diag *d)
{
    RtOptions o;
    rt_options_default(&o);
    o.backend = RT_BACKEND_CLANG;
    o.cache_dir = dir;
    o.no_cache = dir == NULL;
    o.compile_ms = ms;
    return rt_compile(src, strlen(src), &o, d);
}

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert(f && fscanf(f, "%ld %ld", &pages, &rss) == 2);
    fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Clang's resource headers are found at run time: stddef.h and immintrin.h. */
START_TEST(test_clang_resource_headers)
{
    if (!have_clang())
        return;
    Diag d;
    ir_diag_init(&d);
    const char *src = "#include <stddef.h>\n#include <stdint.h>\n#include <immintrin.h>\n"
                      "struct s { char c; int64_t x; };\n"
                      "int answer(void);\n"
                      "int answer(void) {\n"
                      "    __m128 a = _mm_set1_ps(2.0f), b = _mm_add_ps(a, a);\n"
                      "    float f[4]; _mm_storeu_ps(f, b);\n"
                      "    return (int)offsetof(struct s, x) + (int)f[3]; }\n";
    RtModule *m = compile_clang(src, NULL, NULL, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    ck_assert_msg(!strstr(ir_diag_text(&d), "unavailable"), "%s", ir_diag_text(&d));
    ck_assert_int_eq(call_answer(m), 8 + 4);
    rt_module_free(m);
    ir_diag_fini(&d);
}
END_TEST

/* -disable-free is turned off: 20 compiles must not grow the process by ~0.5 MB each. */
START_TEST(test_clang_no_leak)
{
    if (!have_clang())
        return;
    Diag d;
    ir_diag_init(&d);
    long before = 0;
    for (int i = 0; i < 20; i++) {
        /* headers of the size the generated code includes, so that a leaked AST shows */
        char *tail = unique_src(i), src[512];
        snprintf(src, sizeof src,
                 "#include <immintrin.h>\n#include <math.h>\n#include <pthread.h>\n"
                 "#include <stdio.h>\n#include <stdlib.h>\n%s",
                 tail);
        free(tail);
        RtModule *m = compile_clang(src, NULL, NULL, &d);
        ck_assert_msg(m, "%s", ir_diag_text(&d));
        ck_assert_int_eq(call_answer(m), i);
        rt_module_free(m);
        if (i == 4)
            before = rss_kb(); /* after LLVM's one-time setup */
    }
    long growth = rss_kb() - before;
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine keeps freed memory; LeakSanitizer checks instead \
                              */
    ck_assert_msg(growth < 3 * 1024, "RSS grew by %ld KiB over 15 compiles", growth);
    if (getenv("SLIMC_TEST_VERBOSE"))
        fprintf(stderr, "RSS growth over 15 compiles: %ld KiB\n", growth);
#else
    (void)growth;
#endif
    ir_diag_fini(&d);
}
END_TEST

typedef struct ThreadJob {
    int value;
    int result;
    char error[512];
} ThreadJob;

static void *compile_in_thread(void *p)
{
    ThreadJob *j = p;
    Diag d;
    ir_diag_init(&d);
    char *src = unique_src(j->value);
    RtModule *m = compile_clang(src, base, NULL, &d);
    if (m) {
        int (*f)(void);
        *(void **)&f = rt_symbol(m, "answer");
        j->result = f ? f() : -1;
        rt_module_free(m);
    } else {
        snprintf(j->error, sizeof j->error, "%s", ir_diag_text(&d));
    }
    free(src);
    ir_diag_fini(&d);
    return NULL;
}

START_TEST(test_clang_two_threads)
{
    if (!have_clang())
        return;
    set_base("threads");
    ThreadJob jobs[2] = {{101, -1, ""}, {202, -1, ""}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, compile_in_thread, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(jobs[i].result == jobs[i].value, "thread %d: %s", i, jobs[i].error);
}
END_TEST

static int find_omp(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (info->dlpi_name &&
        (strstr(info->dlpi_name, "libgomp") || strstr(info->dlpi_name, "libomp") ||
         strstr(info->dlpi_name, "libiomp")))
        snprintf(data, 512, "%s", info->dlpi_name);
    return 0;
}

/* The generated code uses slimc's own thread pool: no OpenMP runtime comes with it. */
START_TEST(test_no_openmp_runtime)
{
    Diag d;
    ir_diag_init(&d);
    set_base("omp");
    char *src = unique_src(5);
    RtModule *m = compile(src, base, NULL, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    ck_assert_int_eq(call_answer(m), 5);
    char found[512] = "";
    dl_iterate_phdr(find_omp, found);
    ck_assert_msg(!found[0], "an OpenMP runtime is loaded: %s", found);
    rt_module_free(m);
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* JIT code (RT_SHARED_KERNELS) only declares the runtime's kernels: rt_compile loads
 * libslimc_kernels, embedded in libslimc, and the code calls into it; checked with a
 * GEMM against a plain loop, on both compilers. */
extern const char slimc_rt_header[];
extern const size_t slimc_rt_header_len;

START_TEST(test_shared_kernels)
{
    enum { M = 3, N = 21, K = 5 };
    const char *body =
        "void mm(const float *A, const float *B, const float *bias, float *C);\n"
        "void mm(const float *A, const float *B, const float *bias, float *C)\n"
        "{\n"
        "    int64_t m0, mc, n0, nc;\n"
        "    for (int64_t it = 0; it < slimc_rt_gemm_items(3, 21); it++)\n"
        "        slimc_rt_gemm_tile(3, 21, 5, A, B, 0, bias, C, it, &m0, &mc, &n0, &nc);\n"
        "}\n";
    size_t n = strlen(RT_SHARED_KERNELS) + 1 + slimc_rt_header_len + strlen(body) + 1;
    char *src = malloc(n);
    snprintf(src, n, "%s\n%.*s%s", RT_SHARED_KERNELS, (int)slimc_rt_header_len, slimc_rt_header,
             body);
    float A[M * K], B[K * N], bias[N], C[M * N];
    for (int i = 0; i < M * K; i++)
        A[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < K * N; i++)
        B[i] = (float)(i % 5) * 0.5f;
    for (int j = 0; j < N; j++)
        bias[j] = (float)j;
    static const char *const backends[] = {"cc", "clang"};
    for (int b = 0; b < 2; b++) {
        Diag d;
        ir_diag_init(&d);
        setenv("SLIMC_JIT", backends[b], 1);
        RtOptions o;
        rt_options_default(&o);
        o.no_cache = true;
        RtModule *m = rt_compile(src, strlen(src), &o, &d);
        unsetenv("SLIMC_JIT");
        ck_assert_msg(m, "%s: %s", backends[b], ir_diag_text(&d));
        void (*mm)(const float *, const float *, const float *, float *);
        *(void **)&mm = rt_symbol(m, "mm");
        ck_assert(mm);
        memset(C, 0, sizeof C);
        mm(A, B, bias, C);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float want = bias[j];
                for (int k = 0; k < K; k++)
                    want += A[i * K + k] * B[k * N + j];
                ck_assert_msg(fabsf(C[i * N + j] - want) <= 1e-5f * (1.0f + fabsf(want)),
                              "%s: C[%d][%d] = %g, want %g", backends[b], i, j, C[i * N + j], want);
            }
        rt_module_free(m);
        ir_diag_fini(&d);
    }
    /* the kernels came from the library, mapped once */
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert(f);
    char line[1024];
    bool mapped = false;
    while (fgets(line, sizeof line, f))
        mapped = mapped || strstr(line, "slimc-kernels") != NULL;
    fclose(f);
    ck_assert_msg(mapped, "libslimc_kernels is not mapped");
    free(src);
}
END_TEST

/* Both compilers give a working module, each under its own cache key. */
START_TEST(test_both_backends)
{
    set_base("backends");
    Diag d;
    ir_diag_init(&d);
    char *src = unique_src(77);
    for (int b = RT_BACKEND_CC; b <= RT_BACKEND_CLANG; b++) {
        RtOptions o;
        rt_options_default(&o);
        o.backend = (RtBackend)b;
        o.cache_dir = base;
        RtModule *m = rt_compile(src, strlen(src), &o, &d);
        ck_assert_msg(m, "%s", ir_diag_text(&d));
        ck_assert_int_eq(call_answer(m), 77);
        rt_module_free(m);
    }
    free(src);
    ir_diag_fini(&d);
}
END_TEST

/* rt_compile_parts: three translation units that call each other (hidden functions, a
 * static of the same name in two of them) link into one module, on either backend; the
 * same parts hit the cache, and a change in any part is another entry. */
START_TEST(test_parts)
{
    set_base("parts");
    Diag d;
    ir_diag_init(&d);
    char tag[64];
    snprintf(tag, sizeof tag, "/* %ld */\n", (long)getpid());
    char p0[256], p1[256], p2[256];
    snprintf(p0, sizeof p0,
             "%s__attribute__((visibility(\"hidden\"))) int twice(int x);\n"
             "static int one(void) { return 1; }\n"
             "int answer(void);\nint answer(void) { return twice(20) + one(); }\n",
             tag);
    snprintf(p1, sizeof p1,
             "%s__attribute__((visibility(\"hidden\"))) int add(int x, int y);\n"
             "__attribute__((visibility(\"hidden\"))) int twice(int x) { return add(x, x); }\n",
             tag);
    snprintf(p2, sizeof p2,
             "%sstatic int one(void) { return 0; }\n"
             "__attribute__((visibility(\"hidden\"))) int add(int x, int y) "
             "{ return x + y + one(); }\n",
             tag);
    const char *srcs[3] = {p0, p1, p2};
    size_t lens[3] = {strlen(p0), strlen(p1), strlen(p2)};
    /* the in-process compiler only where slimc has it (without LLVM it is the cc path, whose
     * entry the first round made: a cache hit, not a compile) */
    const int last = have_clang() ? RT_BACKEND_CLANG : RT_BACKEND_CC;
    for (int b = RT_BACKEND_CC; b <= last; b++) {
        RtOptions o;
        rt_options_default(&o);
        o.backend = (RtBackend)b;
        o.cache_dir = base;
        double ms = 0;
        o.compile_ms = &ms;
        RtModule *m = rt_compile_parts(srcs, lens, 3, &o, &d);
        ck_assert_msg(m, "%s", ir_diag_text(&d));
        ck_assert(ms > 0);
        ck_assert_int_eq(call_answer(m), 41);
        ck_assert_ptr_null(rt_symbol(m, "twice")); /* hidden: not exported */
        rt_module_free(m);
        ms = 0;
        m = rt_compile_parts(srcs, lens, 3, &o, &d);
        ck_assert_msg(m && ms == 0, "the same parts must hit the cache");
        ck_assert_int_eq(call_answer(m), 41);
        rt_module_free(m);
        char p2b[sizeof p2 + 32];
        const int n2 = snprintf(p2b, sizeof p2b, "%s/* changed */\n", p2);
        ck_assert(n2 > 0 && (size_t)n2 < sizeof p2b);
        const char *srcs_b[3] = {p0, p1, p2b};
        size_t lens_b[3] = {lens[0], lens[1], strlen(p2b)};
        m = rt_compile_parts(srcs_b, lens_b, 3, &o, &d);
        ck_assert_msg(m && ms > 0, "a changed part must be compiled");
        rt_module_free(m);
    }
    /* a part that does not compile names the compiler's message */
    const char *bad[2] = {p0, "int broken(void) { return }\n"};
    size_t bad_lens[2] = {strlen(p0), strlen(bad[1])};
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = base;
    ck_assert_ptr_null(rt_compile_parts(bad, bad_lens, 2, &o, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "expected expression"), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}
END_TEST

static bool entry_exists(const char *dir, const char *key)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/%s.so", dir, key);
    return access(path, F_OK) == 0;
}

/* The key of the newest .so in dir. */
static void newest_key(const char *dir, char key[40])
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    struct timespec best = {0, 0};
    while (dp && (e = readdir(dp))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 4 || strcmp(e->d_name + n - 3, ".so"))
            continue;
        char path[1300];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 &&
            (st.st_mtim.tv_sec > best.tv_sec ||
             (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec > best.tv_nsec))) {
            best = st.st_mtim;
            snprintf(key, 40, "%.*s", (int)(n - 3), e->d_name);
        }
    }
    if (dp)
        closedir(dp);
}

/* Size cap: the least recently used entry goes first; a hit counts as a use. */
START_TEST(test_cache_lru)
{
    set_base("lru");
    Diag d;
    ir_diag_init(&d);
    char *s[3] = {unique_src(1), unique_src(2), unique_src(3)};
    char key[3][40];
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = base;
    struct timespec pause = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 2; i++) {
        RtModule *m = rt_compile(s[i], strlen(s[i]), &o, &d);
        ck_assert_msg(m, "%s", ir_diag_text(&d));
        rt_module_free(m);
        newest_key(base, key[i]);
        nanosleep(&pause, NULL);
    }
    RtCacheInfo info;
    ck_assert(rt_cache_info(&o, &info, &d));
    ck_assert_int_eq(info.entries, 2);
    unsigned long long two = info.bytes;
    free(info.dir);
    /* use entry 0 again, so entry 1 is the least recently used */
    RtModule *m = rt_compile(s[0], strlen(s[0]), &o, &d);
    ck_assert(m);
    rt_module_free(m);
    nanosleep(&pause, NULL);
    o.cache_max_bytes = two + two / 4; /* room for two entries, not three */
    m = rt_compile(s[2], strlen(s[2]), &o, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    ck_assert_int_eq(call_answer(m), 3);
    rt_module_free(m);
    newest_key(base, key[2]);
    ck_assert(entry_exists(base, key[0]));
    ck_assert(!entry_exists(base, key[1]));
    ck_assert(entry_exists(base, key[2]));
    /* clear removes everything */
    int removed = 0;
    ck_assert(rt_cache_clear(&o, &removed, &d));
    ck_assert_int_ge(removed, 4); /* 2 entries x 2 files, and a precompiled header */
    ck_assert(rt_cache_info(&o, &info, &d));
    ck_assert_int_eq(info.entries, 0);
    free(info.dir);
    for (int i = 0; i < 3; i++)
        free(s[i]);
    ir_diag_fini(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jit");
    TCase *tc = tcase_create("jit");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_cache_hit);
    tcase_add_test(tc, test_corrupt_entry);
    tcase_add_test(tc, test_cache_dir_private);
    tcase_add_test(tc, test_missing_compiler);
    tcase_add_test(tc, test_compile_error);
    tcase_add_test(tc, test_two_modules);
    tcase_add_test(tc, test_executable_with_blob);
    tcase_add_test(tc, test_clang_resource_headers);
    tcase_add_test(tc, test_clang_no_leak);
    tcase_add_test(tc, test_clang_two_threads);
    tcase_add_test(tc, test_no_openmp_runtime);
    tcase_add_test(tc, test_both_backends);
    tcase_add_test(tc, test_cache_lru);
    tcase_add_test(tc, test_shared_kernels);
    tcase_add_test(tc, test_parts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
