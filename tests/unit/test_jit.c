/* The JIT and its cache: hits skip the compiler, corrupt entries are rebuilt, the cache
 * directory is private, and compiler problems come back as clear errors. */
#include "runtime/jit.h"

#include <check.h>
#include <dirent.h>
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
    snprintf(base, sizeof base, "%s/jit-%s-%ld-%ld", root && *root ? root : "/tmp", name, (long)getpid(),
             (long)time(NULL));
}

static char *unique_src(int value)
{
    static int counter;
    char *s = malloc(256);
    snprintf(s, 256, "/* %ld %d */\nint answer(void);\nint answer(void) { return %d; }\n", (long)getpid(),
             counter++, value);
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
    diag_init(&d);
    char *src = unique_src(42);
    double ms = 0;
    RtModule *m = compile(src, base, &ms, &d);
    ck_assert_msg(m, "%s", diag_text(&d));
    ck_assert(ms > 0);
    ck_assert_int_eq(call_answer(m), 42);
    rt_module_free(m);
    ms = 0;
    m = compile(src, base, &ms, &d);
    ck_assert_msg(m, "%s", diag_text(&d));
    ck_assert(ms == 0); /* no compiler run */
    ck_assert_int_eq(call_answer(m), 42);
    rt_module_free(m);
    free(src);
    diag_fini(&d);
}
END_TEST

static void corrupt_case(int how)
{
    set_base(how == 0 ? "trunc" : how == 1 ? "flip" : "meta");
    Diag d;
    diag_init(&d);
    char *src = unique_src(7 + how);
    double ms = 0;
    RtModule *m = compile(src, base, &ms, &d);
    ck_assert_msg(m, "%s", diag_text(&d));
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
    ck_assert_msg(m, "%s", diag_text(&d));
    ck_assert(ms > 0); /* rebuilt */
    ck_assert_int_eq(call_answer(m), 7 + how);
    rt_module_free(m);
    ms = 0;
    m = compile(src, base, &ms, &d); /* and the rebuilt entry is a hit again */
    ck_assert(m && ms == 0);
    rt_module_free(m);
    free(src);
    diag_fini(&d);
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
    diag_init(&d);
    char *src = unique_src(1);
    RtModule *m = compile(src, dir, NULL, &d);
    ck_assert_msg(m, "%s", diag_text(&d));
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
    ck_assert_msg(m, "%s", diag_text(&d));
    ck_assert(ms > 0);
    ck_assert_msg(strstr(diag_text(&d), "writable by others"), "%s", diag_text(&d));
    ck_assert_int_eq(call_answer(m), 1);
    rt_module_free(m);
    free(src);
    diag_fini(&d);
}
END_TEST

START_TEST(test_missing_compiler)
{
    set_base("nocc");
    Diag d;
    diag_init(&d);
    RtOptions o;
    rt_options_default(&o);
    o.cc = "slimc-no-such-compiler";
    o.cache_dir = base;
    RtModule *m = rt_compile("int x;", 6, &o, &d);
    ck_assert(!m);
    ck_assert_msg(strstr(diag_text(&d), "C compiler 'slimc-no-such-compiler' not found (set SLIMC_CC or CC)"), "%s",
                  diag_text(&d));
    diag_fini(&d);
}
END_TEST

START_TEST(test_compile_error)
{
    set_base("err");
    Diag d;
    diag_init(&d);
    const char *src = "int broken(void) { return undeclared_thing; }\n";
    RtModule *m = compile(src, base, NULL, &d);
    ck_assert(!m);
    ck_assert_msg(strstr(diag_text(&d), "undeclared_thing"), "%s", diag_text(&d));
    diag_fini(&d);
}
END_TEST

START_TEST(test_two_modules)
{
    set_base("two");
    Diag d;
    diag_init(&d);
    char *s1 = unique_src(1), *s2 = unique_src(2);
    RtModule *a = compile(s1, base, NULL, &d), *b = compile(s2, base, NULL, &d);
    ck_assert_msg(a && b, "%s", diag_text(&d));
    ck_assert_int_eq(call_answer(a), 1);
    ck_assert_int_eq(call_answer(b), 2);
    rt_module_free(a);
    ck_assert_int_eq(call_answer(b), 2);
    rt_module_free(b);
    free(s1);
    free(s2);
    diag_fini(&d);
}
END_TEST

START_TEST(test_executable_with_blob)
{
    set_base("exe");
    Diag d;
    diag_init(&d);
    const char *src = "extern const unsigned char blob[];\nint main(void) { return blob[3] + blob[0]; }\n";
    unsigned char data[5] = {1, 2, 3, 40, 5};
    char out[1200];
    snprintf(out, sizeof out, "%s-prog", base);
    RtOptions o;
    rt_options_default(&o);
    o.cache_dir = base;
    ck_assert_msg(rt_build_executable(src, strlen(src), data, sizeof data, "blob", &o, out, &d), "%s",
                  diag_text(&d));
    int rc = system(out);
    ck_assert(WIFEXITED(rc));
    ck_assert_int_eq(WEXITSTATUS(rc), 41);
    unlink(out);
    diag_fini(&d);
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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
