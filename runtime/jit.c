/* Compiling generated C and loading the result, through an on-disk cache. The compiler
 * is Clang in-process (libslimc_llvm.so, dlopen'ed on the first cache miss, so a warm run
 * loads no LLVM) when slimc was built with LLVM, else — or when that library or Clang's
 * resource headers are missing, with a note — the system C compiler as a subprocess.
 *
 * Cache layout: one directory (0700, owned by the user), two files per entry:
 *   KEY.so    the shared object, loaded with dlopen
 *   KEY.meta  "slimc-cache 1\nkey KEY\nsize BYTES\nfnv CHECKSUM\n"
 * KEY is a 128-bit hash (hex) of the source, the flags, the compiler's --version output
 * and the CPU's feature flags. Both files are written to a temp name and renamed, .so
 * first. Before loading, both must be regular files owned by the user and not writable by
 * group or others, and the .so's size and 64-bit FNV-1a checksum must match the .meta;
 * anything else is deleted and rebuilt, never loaded. A hit touches the .so's mtime;
 * after each store the least recently used entries are deleted until the cache fits its
 * cap (512 MB, $SLIMC_CACHE_MAX_MB). A read-only or full cache gives a warning and a
 * compile in a private temp directory instead.
 * The directory holds a CACHEDIR.TAG naming slimc, written when slimc makes the directory
 * (or finds it holding nothing but slimc's names: empty, or a cache from before the tag).
 * `cache clear` empties only a directory with that tag, and deletes only the names slimc
 * gives its files (KEY.so, KEY.meta and the temp names listed at temp_name), so that
 * `--cache-dir ~` can never delete a user's files. */
#define _GNU_SOURCE 1 /* memfd_create */
#include "runtime/jit.h"

#include "runtime/clang_jit.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct RtModule {
    void *handle;
};

void rt_options_default(RtOptions *o)
{
    memset(o, 0, sizeof *o);
    o->opt_level = 2;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- hashing ---- */

typedef struct Hash128 {
    uint64_t a, b;
} Hash128;

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* A second, independent 64-bit hash (multiply-xorshift over 8-byte words). */
static uint64_t mix64(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = 0;
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(&w, p + i, n);
        h ^= w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h ^= (uint64_t)len;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    return h;
}

static void hash_add(Hash128 *h, const void *data, size_t len)
{
    uint64_t n = (uint64_t)len;
    h->a = fnv1a(h->a, &n, sizeof n); /* length-prefixed: parts cannot run together */
    h->a = fnv1a(h->a, data, len);
    h->b = mix64(h->b, &n, sizeof n);
    h->b = mix64(h->b, data, len);
}

/* ---- subprocesses ---- */

/* Splits a command ("ccache gcc") into argv words; returns the count. */
static int split_words(char *s, char **out, int max)
{
    int n = 0;
    for (char *t = strtok(s, " \t"); t && n < max; t = strtok(NULL, " \t"))
        out[n++] = t;
    return n;
}

/* Runs argv (no shell) with stdout+stderr captured into *output (malloc'd). Returns the
 * exit status, or -1 with errno set if the program could not be started. */
static int run_capture(char *const *argv, char **output)
{
    char tmpl[] = "/tmp/slimc-ccout-XXXXXX";
    int fd = mkstemp(tmpl);
    *output = NULL;
    if (fd < 0)
        return -1;
    unlink(tmpl);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(fd);
        errno = rc;
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    off_t size = lseek(fd, 0, SEEK_END);
    char *buf = malloc((size_t)(size > 0 ? size : 0) + 1);
    size_t got = 0;
    if (buf && size > 0 && lseek(fd, 0, SEEK_SET) == 0) {
        ssize_t r;
        while (got < (size_t)size && (r = read(fd, buf + got, (size_t)size - got)) > 0)
            got += (size_t)r;
    }
    if (buf)
        buf[got] = 0;
    close(fd);
    *output = buf;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static const char *compiler_name(const RtOptions *o)
{
    if (o && o->cc && *o->cc)
        return o->cc;
    const char *e = getenv("SLIMC_CC");
    if (e && *e)
        return e;
    e = getenv("CC");
    if (e && *e)
        return e;
    return "cc";
}

/* The compiler's `--version` output, cached per process and compiler name. NULL (with
 * an error reported) when the compiler cannot be run. */
static pthread_mutex_t version_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *cc, *version;
} version_cache[8];

static char *compiler_version(const char *cc, Diag *d)
{
    pthread_mutex_lock(&version_lock);
    for (int i = 0; i < 8; i++)
        if (version_cache[i].cc && strcmp(version_cache[i].cc, cc) == 0) {
            char *v = strdup(version_cache[i].version);
            pthread_mutex_unlock(&version_lock);
            return v;
        }
    pthread_mutex_unlock(&version_lock);
    char *copy = strdup(cc);
    char *argv[16];
    int n = copy ? split_words(copy, argv, 14) : 0;
    if (n == 0) {
        free(copy);
        diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        return NULL;
    }
    argv[n++] = "--version";
    argv[n] = NULL;
    char *out = NULL;
    int rc = run_capture(argv, &out);
    free(copy);
    if (rc < 0) {
        diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        free(out);
        return NULL;
    }
    if (rc != 0) {
        diag_error(d, (SrcLoc){0}, "C compiler '%s' failed to report its version: %s", cc,
                   out ? out : "");
        free(out);
        return NULL;
    }
    pthread_mutex_lock(&version_lock);
    for (int i = 0; i < 8; i++)
        if (!version_cache[i].cc) {
            version_cache[i].cc = strdup(cc);
            version_cache[i].version = strdup(out ? out : "");
            break;
        }
    pthread_mutex_unlock(&version_lock);
    return out;
}

/* The CPU's feature flags (the first "flags" line of /proc/cpuinfo), cached. */
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static char cpu_flags[8192];

static void read_cpu_flags(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    snprintf(cpu_flags, sizeof cpu_flags, "unknown-cpu");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0 || strncmp(line, "Features", 8) == 0) {
            snprintf(cpu_flags, sizeof cpu_flags, "%s", line);
            break;
        }
    fclose(f);
}

/* ---- the cache directory ---- */

/* mkdir -p with mode 0700 for every directory made; *created: the last one was made. */
static bool make_dirs(const char *path, bool *created)
{
    *created = false;
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return false;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return false;
            *p = '/';
        }
    if (mkdir(buf, 0700) == 0)
        return *created = true;
    return errno == EEXIST;
}

static void cache_claim(const char *dir, bool created);

/* The cache directory to use (malloc'd), or NULL with a warning when none is usable. */
static char *cache_dir(const RtOptions *o, Diag *d)
{
    char buf[4096];
    const char *e;
    if (o && o->cache_dir && *o->cache_dir)
        snprintf(buf, sizeof buf, "%s", o->cache_dir);
    else if ((e = getenv("SLIMC_CACHE_DIR")) && *e)
        snprintf(buf, sizeof buf, "%s", e);
    else if ((e = getenv("XDG_CACHE_HOME")) && *e)
        snprintf(buf, sizeof buf, "%s/slimc", e);
    else if ((e = getenv("HOME")) && *e)
        snprintf(buf, sizeof buf, "%s/.cache/slimc", e);
    else {
        diag_warning(d, (SrcLoc){0},
                     "no cache directory (HOME is not set): compiling without a cache");
        return NULL;
    }
    bool created;
    if (!make_dirs(buf, &created)) {
        diag_warning(d, (SrcLoc){0},
                     "cannot create the cache directory '%s' (%s): compiling without a cache", buf,
                     strerror(errno));
        return NULL;
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        diag_warning(d, (SrcLoc){0},
                     "cache directory '%s' is not a directory: compiling without a cache", buf);
        return NULL;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 022)) {
        diag_warning(
            d, (SrcLoc){0},
            "cache directory '%s' is %s: compiling without a cache (make it yours, mode 0700)", buf,
            st.st_uid != geteuid() ? "owned by another user" : "writable by others");
        return NULL;
    }
    cache_claim(buf, created);
    return strdup(buf);
}

static bool read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *data = NULL;
    *len = 0;
    if (!f)
        return false;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return false;
    *data = buf;
    *len = n;
    return true;
}

static bool private_file(const char *path, struct stat *st)
{
    return lstat(path, st) == 0 && S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
           !(st->st_mode & 022);
}

/* True when the entry KEY in dir is intact (see the top of this file). */
static bool entry_valid(const char *so, const char *meta, const char *key)
{
    struct stat st_so, st_meta;
    if (!private_file(so, &st_so) || !private_file(meta, &st_meta))
        return false;
    unsigned char *m = NULL, *bytes = NULL;
    size_t mlen, blen;
    if (!read_file(meta, &m, &mlen))
        return false;
    char want[256];
    bool ok = false;
    if (read_file(so, &bytes, &blen)) {
        snprintf(want, sizeof want, "slimc-cache 1\nkey %s\nsize %zu\nfnv %016llx\n", key, blen,
                 (unsigned long long)fnv1a(0xcbf29ce484222325ull, bytes, blen));
        ok = mlen == strlen(want) && memcmp(m, want, mlen) == 0;
    }
    free(m);
    free(bytes);
    return ok;
}

/* Writes len bytes to a temp file in dir, then renames it to path. */
static bool write_atomic(const char *dir, const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return false;
    const unsigned char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return false;
        }
        done += (size_t)w;
    }
    if (fchmod(fd, 0600) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return false;
    }
    return true;
}

/* ---- compiling ---- */

/* Builds argv for cc: the words of the compiler, then flags, then files. */
typedef struct Argv {
    char *words; /* the compiler command, split in place */
    char *v[64];
    int n;
    char opt[8], march[160];
} Argv;

static bool argv_begin(Argv *a, const char *cc)
{
    memset(a, 0, sizeof *a);
    a->words = strdup(cc);
    if (!a->words)
        return false;
    a->n = split_words(a->words, a->v, 16);
    return a->n > 0;
}

static void argv_add(Argv *a, const char *s)
{
    if (a->n < 62)
        a->v[a->n++] = (char *)(uintptr_t)s;
    a->v[a->n] = NULL;
}

static void argv_flags(Argv *a, const RtOptions *o, const char *dflt_cpu)
{
    int lvl = o ? o->opt_level : 2;
    if (lvl < 0)
        lvl = 0;
    if (lvl > 3)
        lvl = 3;
    snprintf(a->opt, sizeof a->opt, "-O%d", lvl);
    bool chosen = o && o->cpu && *o->cpu;
    const char *cpu = chosen ? o->cpu : dflt_cpu;
    if (!chosen && o && o->triple && *o->triple && strncmp(o->triple, "x86_64", 6))
        cpu = NULL; /* the x86 default means nothing to another architecture */
    snprintf(a->march, sizeof a->march, "-march=%s", cpu ? cpu : "");
    argv_add(a, "-std=c11");
    argv_add(a, a->opt);
    if (cpu)
        argv_add(a, a->march);
    argv_add(a, "-pthread");
}

/* Runs the compiler; on failure reports its output. */
static bool run_cc(Argv *a, const char *cc, double *ms, Diag *d)
{
    char *out = NULL;
    double t0 = now_ms();
    int rc = run_capture(a->v, &out);
    if (ms)
        *ms += now_ms() - t0;
    if (rc < 0) {
        diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        free(out);
        return false;
    }
    if (rc != 0) {
        diag_error(d, (SrcLoc){0}, "C compiler '%s' failed (exit status %d):\n%s", cc, rc,
                   out ? out : "");
        free(out);
        return false;
    }
    free(out);
    return true;
}

/* ---- the prebuilt kernels (runtime/kernels/kernels.c, embedded by CMake) ----
 *
 * Loaded once per process with RTLD_GLOBAL, from an anonymous memory file (a temp file
 * where memfd_create is refused), so the models loaded after it find slimc_rt_gemm_tile
 * and the other kernels that their code only declares. */
extern const unsigned char slimc_kernels_so[], slimc_kernels_so_end[];
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;
static void *kernels_handle;
static char kernels_error[1024];

static bool write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void load_kernels(void)
{
    const size_t n = (size_t)(slimc_kernels_so_end - slimc_kernels_so);
    char path[64];
    int fd = memfd_create("slimc-kernels", MFD_CLOEXEC);
    char tmp[] = "/tmp/slimc-kernels-XXXXXX";
    bool is_tmp = false;
    if (fd >= 0) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    } else {
        fd = mkstemp(tmp);
        is_tmp = fd >= 0;
        snprintf(path, sizeof path, "%s", tmp);
    }
    if (fd < 0) {
        snprintf(kernels_error, sizeof kernels_error, "cannot make a file for them: %s",
                 strerror(errno));
        return;
    }
    if (!write_all(fd, slimc_kernels_so, n)) {
        snprintf(kernels_error, sizeof kernels_error, "cannot write them: %s", strerror(errno));
    } else if (!(kernels_handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL))) {
        const char *e = dlerror();
        snprintf(kernels_error, sizeof kernels_error, "%s", e ? e : "dlopen failed");
    }
    close(fd);
    if (is_tmp)
        unlink(tmp);
}

static bool kernels_ready(Diag *d)
{
    pthread_once(&kernels_once, load_kernels);
    if (!kernels_handle)
        diag_error(d, (SrcLoc){0}, "cannot load slimc's kernel library: %s", kernels_error);
    return kernels_handle != NULL;
}

static bool uses_shared_kernels(const char *src, size_t len)
{
    const size_t n = strlen(RT_SHARED_KERNELS);
    return len >= n && !memcmp(src, RT_SHARED_KERNELS, n);
}

static RtModule *load(const char *path, bool shared, const RtOptions *o, Diag *d)
{
    double t0 = now_ms();
    if (shared && !kernels_ready(d))
        return NULL;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (o && o->load_ms)
        *o->load_ms += now_ms() - t0;
    if (!h) {
        const char *err = dlerror();
        diag_error(d, (SrcLoc){0}, "cannot load compiled code '%s': %s", path, err ? err : "?");
        return NULL;
    }
    RtModule *m = calloc(1, sizeof *m);
    if (!m) {
        dlclose(h);
        return NULL;
    }
    m->handle = h;
    return m;
}

/* Compiles src into so_path (a shared object) inside dir. */
static bool compile_so(const char *dir, const char *src, size_t len, const char *so_path,
                       const RtOptions *o, const char *cc, Diag *d)
{
    char cpath[4200];
    snprintf(cpath, sizeof cpath, "%s/.src-XXXXXX.c", dir);
    int fd = mkstemps(cpath, 2);
    if (fd < 0) {
        diag_error(d, (SrcLoc){0}, "cannot write the generated source in '%s': %s", dir,
                   strerror(errno));
        return false;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, src + done, len - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    if (done < len) {
        unlink(cpath);
        diag_error(d, (SrcLoc){0}, "cannot write the generated source '%s'", cpath);
        return false;
    }
    Argv a;
    bool ok = argv_begin(&a, cc);
    if (!ok) {
        diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
    } else {
        argv_flags(&a, o, "native");
        argv_add(&a, "-fPIC");
        argv_add(&a, "-shared");
        argv_add(&a, "-o");
        argv_add(&a, so_path);
        argv_add(&a, cpath);
        argv_add(&a, "-lm");
        ok = run_cc(&a, cc, o ? o->compile_ms : NULL, d);
    }
    free(a.words);
    unlink(cpath);
    return ok;
}

/* ---- the in-process compiler (libslimc_llvm.so), loaded on the first cache miss ---- */

#ifdef SLIMC_HAVE_LLVM
static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static SlimcClangCompileFn llvm_compile_fn;
static char llvm_error[1024];

/* Never dlclose'd: LLVM keeps global state that must outlive any compile. */
static void load_llvm_module(void)
{
    const char *env = getenv("SLIMC_LLVM_MODULE");
    /* beside an installed slimc: BINDIR/../LIBDIR/slimc/, whatever the prefix */
    char beside[4200] = "";
    ssize_t n = readlink("/proc/self/exe", beside, sizeof beside - 200);
    if (n > 0) {
        beside[n] = 0;
        char *slash = strrchr(beside, '/');
        if (slash)
            snprintf(slash, sizeof beside - (size_t)(slash - beside), "/../%s",
                     SLIMC_LLVM_MODULE_FROM_BIN);
    }
    const char *candidates[] = {env && *env ? env : NULL, beside[0] ? beside : NULL,
                                SLIMC_LLVM_MODULE_BUILD, SLIMC_LLVM_MODULE_INSTALL,
                                "libslimc_llvm.so"};
    llvm_error[0] = 0;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (!candidates[i])
            continue;
        struct stat st;
        if (strchr(candidates[i], '/') && stat(candidates[i], &st) != 0)
            continue;
        void *h = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *e = dlerror();
            snprintf(llvm_error, sizeof llvm_error, "%s", e ? e : candidates[i]);
            continue;
        }
        *(void **)&llvm_compile_fn = dlsym(h, "slimc_clang_compile_so");
        if (llvm_compile_fn)
            return;
        snprintf(llvm_error, sizeof llvm_error, "%s lacks slimc_clang_compile_so", candidates[i]);
        dlclose(h);
    }
    if (!llvm_error[0])
        snprintf(llvm_error, sizeof llvm_error,
                 "libslimc_llvm.so not found (set SLIMC_LLVM_MODULE)");
}
#endif

static RtBackend pick_backend(const RtOptions *o)
{
#ifdef SLIMC_HAVE_LLVM
    if (o && o->backend != RT_BACKEND_AUTO)
        return o->backend;
    const char *e = getenv("SLIMC_JIT");
    if (e && !strcmp(e, "cc"))
        return RT_BACKEND_CC;
    if (e && !strcmp(e, "clang"))
        return RT_BACKEND_CLANG;
    if ((o && o->cc && *o->cc) || ((e = getenv("SLIMC_CC")) && *e))
        return RT_BACKEND_CC;
    return RT_BACKEND_CLANG;
#else
    (void)o;
    return RT_BACKEND_CC;
#endif
}

const char *rt_backend_name(const RtOptions *o)
{
#ifdef SLIMC_HAVE_LLVM
    if (pick_backend(o) == RT_BACKEND_CLANG)
        return "clang " SLIMC_LLVM_VERSION " (in-process)";
#endif
    (void)o;
    return "system C compiler (subprocess)";
}

/* Compiles src into so_path with the in-process compiler. *unavailable is set (with
 * the reason in why) when that compiler cannot be used at all. */
static bool compile_so_clang(const char *src, size_t len, const char *so_path, const RtOptions *o,
                             bool *unavailable, char *why, size_t why_size, Diag *d)
{
    *unavailable = false;
#ifdef SLIMC_HAVE_LLVM
    pthread_once(&llvm_once, load_llvm_module);
    if (!llvm_compile_fn) {
        *unavailable = true;
        snprintf(why, why_size, "%s", llvm_error);
        return false;
    }
    SlimcClangRequest req = {SLIMC_CLANG_JIT_ABI,
                             src,
                             len,
                             o ? o->opt_level : 2,
                             o && o->cpu && *o->cpu ? o->cpu : "native",
                             so_path};
    char *log = NULL;
    double t0 = now_ms();
    int rc = llvm_compile_fn(&req, &log);
    if (o && o->compile_ms)
        *o->compile_ms += now_ms() - t0;
    if (rc == SLIMC_CLANG_UNAVAILABLE) {
        *unavailable = true;
        snprintf(why, why_size, "%s", log ? log : "unavailable");
    } else if (rc != SLIMC_CLANG_OK) {
        diag_error(d, (SrcLoc){0}, "in-process Clang failed:\n%s", log ? log : "");
    }
    free(log);
    return rc == SLIMC_CLANG_OK;
#else
    (void)src, (void)len, (void)so_path, (void)o, (void)d;
    *unavailable = true;
    snprintf(why, why_size, "slimc was built without LLVM");
    return false;
#endif
}

/* ---- size cap: least recently used entries go first ---- */

static unsigned long long cache_cap(const RtOptions *o)
{
    if (o && o->cache_max_bytes)
        return o->cache_max_bytes;
    const char *e = getenv("SLIMC_CACHE_MAX_MB");
    if (e && *e) {
        char *end;
        unsigned long long mb = strtoull(e, &end, 10);
        if (*end == 0)
            return mb << 20;
    }
    return 512ull << 20;
}

/* True for "KEY.so" / "KEY.meta" (KEY: 32 hex digits); *ext gets the extension. */
static bool entry_name(const char *name, const char **ext)
{
    size_t n = strspn(name, "0123456789abcdef");
    if (n != 32 || name[32] != '.')
        return false;
    *ext = name + 33;
    return !strcmp(*ext, "so") || !strcmp(*ext, "meta");
}

#define NAME_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define NAME_HEX   "0123456789abcdef"
#define NAME_DEC   "0123456789"

/* Steps *s over lit; false if *s does not start with it. */
static bool name_lit(const char **s, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*s, lit, n) != 0)
        return false;
    *s += n;
    return true;
}

/* Steps *s over a run of min..max characters of set; false if the run is not that long. */
static bool name_run(const char **s, const char *set, size_t min, size_t max)
{
    size_t n = strspn(*s, set);
    if (n < min || n > max)
        return false;
    *s += n;
    return true;
}

/* A build folder of rt_build_executable / rt_build_library: .build-XXXXXX (mkdtemp). */
static bool build_dir_name(const char *name)
{
    return name_lit(&name, ".build-") && name_run(&name, NAME_ALNUM, 6, 6) && !*name;
}

/* The temp files slimc makes in the cache, name for name (nothing else is ours):
 *   .tmp-XXXXXX                    write_atomic (mkstemp)
 *   .src-XXXXXX.c                  compile_so (mkstemps)
 *   .build-KEY-PID-THREAD.so       compile_backend (lld's .so.tmpHEX of it while linking)
 *   .build-XXXXXX                  a build folder (build_dir_name)
 *   clang-HASH.pch.tmp-PID-ADDR    the PCH of older versions (pch_name) */
static bool temp_name(const char *name)
{
    const char *p = name;
    if (name_lit(&p, ".tmp-"))
        return name_run(&p, NAME_ALNUM, 6, 6) && !*p;
    if (name_lit(&p, ".src-"))
        return name_run(&p, NAME_ALNUM, 6, 6) && !strcmp(p, ".c");
    if (build_dir_name(name))
        return true;
    if (name_lit(&p, ".build-"))
        return name_run(&p, NAME_HEX, 32, 32) && name_lit(&p, "-") &&
               name_run(&p, NAME_DEC, 1, 20) && name_lit(&p, "-") &&
               name_run(&p, NAME_HEX, 1, 16) && name_lit(&p, ".so") &&
               (!*p || (name_lit(&p, ".tmp") && name_run(&p, NAME_ALNUM, 1, 16) && !*p));
    return name_lit(&p, "clang-") && name_run(&p, NAME_HEX, 16, 16) && name_lit(&p, ".pch.tmp-") &&
           name_run(&p, NAME_DEC, 1, 20) && name_lit(&p, "-") && name_run(&p, NAME_DEC, 1, 20) &&
           !*p;
}

/* clang-HASH.pch (HASH: 16 hex digits): a precompiled <immintrin.h> that slimc versions
 * before the kernel library kept in the cache; only `cache clear` still looks at them. */
static bool pch_name(const char *name)
{
    return name_lit(&name, "clang-") && name_run(&name, NAME_HEX, 16, 16) && !strcmp(name, ".pch");
}

/* ---- the cache's marker ---- */

/* CACHEDIR.TAG (https://bford.info/cachedir/, so that backup tools skip the cache) with a
 * line naming slimc: `cache clear` empties only a directory that holds this file. */
#define CACHE_TAG "CACHEDIR.TAG"
static const char cache_tag_text[] =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by slimc (its compile cache).\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n";

/* True when dir holds slimc's marker: a regular file of the user's with exactly our text. */
static bool cache_marked(const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/" CACHE_TAG, dir);
    if (!private_file(path, &st) || (size_t)st.st_size != sizeof cache_tag_text - 1)
        return false;
    unsigned char *text = NULL;
    size_t len = 0;
    bool ok = read_file(path, &text, &len) && len == sizeof cache_tag_text - 1 &&
              memcmp(text, cache_tag_text, len) == 0;
    free(text);
    return ok;
}

/* True when every name in dir is one slimc gives its cache files (an empty directory,
 * or a cache of a slimc from before the marker). */
static bool only_cache_names(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return false;
    bool ok = true;
    const char *ext;
    struct dirent *de;
    while (ok && (de = readdir(dp)))
        ok = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
             entry_name(de->d_name, &ext) || temp_name(de->d_name) || pch_name(de->d_name);
    closedir(dp);
    return ok;
}

/* Marks dir as slimc's cache when slimc has just made it, or when nothing but slimc's
 * own names are in it; a directory holding anything else (a home directory given as
 * --cache-dir) is used as it is, never marked, so `cache clear` refuses it. */
static void cache_claim(const char *dir, bool created)
{
    if (cache_marked(dir) || !(created || only_cache_names(dir)))
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/" CACHE_TAG, dir);
    write_atomic(dir, path, cache_tag_text, sizeof cache_tag_text - 1);
}

typedef struct CacheEntry {
    char key[33];
    unsigned long long bytes;
    struct timespec used; /* mtime of the .so: touched on every hit */
} CacheEntry;

static int entry_older(const void *pa, const void *pb)
{
    const CacheEntry *a = pa, *b = pb;
    if (a->used.tv_sec != b->used.tv_sec)
        return a->used.tv_sec < b->used.tv_sec ? -1 : 1;
    if (a->used.tv_nsec != b->used.tv_nsec)
        return a->used.tv_nsec < b->used.tv_nsec ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* The entries of dir (malloc'd array, *n of them); *temps counts stale temp files. */
static CacheEntry *list_entries(const char *dir, int *n, int *temps)
{
    DIR *dp = opendir(dir);
    int cap = 0;
    CacheEntry *v = NULL;
    *n = 0;
    *temps = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        const char *ext;
        if (temp_name(de->d_name)) {
            (*temps)++;
            continue;
        }
        if (!entry_name(de->d_name, &ext))
            continue;
        char path[4400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0)
            continue;
        int i = 0;
        while (i < *n && strncmp(v[i].key, de->d_name, 32))
            i++;
        if (i == *n) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                CacheEntry *nv = realloc(v, (size_t)cap * sizeof *v);
                if (!nv)
                    break;
                v = nv;
            }
            memset(&v[i], 0, sizeof v[i]);
            memcpy(v[i].key, de->d_name, 32);
            (*n)++;
        }
        v[i].bytes += (unsigned long long)st.st_size;
        if (!strcmp(ext, "so"))
            v[i].used = st.st_mtim;
    }
    if (dp)
        closedir(dp);
    return v;
}

static void remove_entry(const char *dir, const char *key)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.so", dir, key);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s.meta", dir, key);
    unlink(path);
}

/* Deletes the least recently used entries (never keep) until the cache fits its cap. */
static void cache_evict(const char *dir, const RtOptions *o, const char *keep)
{
    unsigned long long cap = cache_cap(o), total = 0;
    int n, temps;
    CacheEntry *v = list_entries(dir, &n, &temps);
    for (int i = 0; i < n; i++)
        total += v[i].bytes;
    if (total > cap) {
        qsort(v, (size_t)n, sizeof *v, entry_older);
        for (int i = 0; i < n && total > cap; i++)
            if (strcmp(v[i].key, keep)) {
                remove_entry(dir, v[i].key);
                total -= v[i].bytes;
            }
    }
    free(v);
}

bool rt_cache_info(const RtOptions *o, RtCacheInfo *info, Diag *d)
{
    memset(info, 0, sizeof *info);
    info->dir = cache_dir(o, d);
    if (!info->dir)
        return false;
    int n;
    CacheEntry *v = list_entries(info->dir, &n, &info->temp_files);
    info->entries = n;
    for (int i = 0; i < n; i++)
        info->bytes += v[i].bytes;
    info->max_bytes = cache_cap(o);
    free(v);
    return true;
}

bool rt_cache_clear(const RtOptions *o, int *removed, Diag *d)
{
    *removed = 0;
    char *dir = cache_dir(o, d);
    if (!dir)
        return false;
    if (!cache_marked(dir)) {
        diag_error(d, (SrcLoc){0},
                   "'%s' is not slimc's cache: it has no " CACHE_TAG
                   " written by slimc and holds files slimc did not make; not clearing it",
                   dir);
        free(dir);
        return false;
    }
    DIR *dp = opendir(dir);
    struct dirent *de;
    bool ok = dp != NULL;
    while (dp && (de = readdir(dp))) {
        const char *ext;
        if (!entry_name(de->d_name, &ext) && !temp_name(de->d_name) && !pch_name(de->d_name))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        bool is_dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if (is_dir && !build_dir_name(de->d_name))
            continue; /* a folder under a file's name: not ours */
        /* .build-XXXXXX folders of rt_build_executable left by a killed build */
        if (is_dir) {
            DIR *sub = opendir(path);
            struct dirent *se;
            while (sub && (se = readdir(sub))) {
                char p2[4700];
                snprintf(p2, sizeof p2, "%s/%s", path, se->d_name);
                if (se->d_name[0] != '.')
                    unlink(p2);
            }
            if (sub)
                closedir(sub);
            if (rmdir(path) == 0)
                (*removed)++;
        } else if (unlink(path) == 0) {
            (*removed)++;
        } else {
            diag_error(d, (SrcLoc){0}, "cannot remove '%s': %s", path, strerror(errno));
            ok = false;
        }
    }
    if (dp)
        closedir(dp);
    else
        diag_error(d, (SrcLoc){0}, "cannot read the cache directory '%s': %s", dir,
                   strerror(errno));
    free(dir);
    return ok;
}

/* ---- rt_compile ---- */

/* Compiles src into so_path (inside dir, which holds any temp file) with backend b. */
static bool compile_with(RtBackend b, const char *dir, const char *src, size_t len,
                         const char *so_path, const RtOptions *o, const char *cc, bool *unavailable,
                         char *why, size_t why_size, Diag *d)
{
    if (b == RT_BACKEND_CLANG)
        return compile_so_clang(src, len, so_path, o, unavailable, why, why_size, d);
    *unavailable = false;
    return compile_so(dir, src, len, so_path, o, cc, d);
}

/* The cache key (32 hex digits + NUL) for src compiled by backend b. */
static bool make_key(RtBackend b, const char *src, size_t len, const RtOptions *o, const char *cc,
                     char key[40], Diag *d)
{
    char *version;
    if (b == RT_BACKEND_CLANG) {
#ifdef SLIMC_HAVE_LLVM
        version = strdup("slimc in-process clang " SLIMC_LLVM_VERSION " + lld");
#else
        version = strdup("none");
#endif
    } else {
        version = compiler_version(cc, d);
    }
    if (!version)
        return false;
    pthread_once(&cpu_once, read_cpu_flags);
    Hash128 h = {0xcbf29ce484222325ull, 0x6a09e667f3bcc908ull};
    char flags[256];
    snprintf(flags, sizeof flags, "%s -O%d -march=%s -fPIC -shared -pthread -lm v1",
             b == RT_BACKEND_CLANG ? "clang-jit" : cc, o ? o->opt_level : 2,
             o && o->cpu ? o->cpu : "native");
    hash_add(&h, src, len);
    hash_add(&h, flags, strlen(flags));
    hash_add(&h, version, strlen(version));
    hash_add(&h, cpu_flags, strlen(cpu_flags));
    free(version);
    snprintf(key, 40, "%016llx%016llx", (unsigned long long)h.a, (unsigned long long)h.b);
    return true;
}

/* No cache: a private temp directory, removed once the code is loaded. */
static RtModule *compile_uncached(RtBackend b, const char *src, size_t len, const RtOptions *o,
                                  const char *cc, bool *unavailable, char *why, size_t why_size,
                                  Diag *d)
{
    char tmpl[] = "/tmp/slimc-jit-XXXXXX";
    *unavailable = false;
    if (!mkdtemp(tmpl)) {
        diag_error(d, (SrcLoc){0}, "cannot make a temporary directory: %s", strerror(errno));
        return NULL;
    }
    char so[256];
    snprintf(so, sizeof so, "%s/code.so", tmpl);
    const bool shared = uses_shared_kernels(src, len);
    RtModule *m = NULL;
    if (compile_with(b, tmpl, src, len, so, o, cc, unavailable, why, why_size, d))
        m = load(so, shared, o, d);
    unlink(so);
    rmdir(tmpl);
    return m;
}

/* True when dir can take a new entry (writable, with some room left). */
static bool cache_writable(const char *dir)
{
    struct statvfs fs;
    if (access(dir, W_OK) != 0)
        return false;
    return statvfs(dir, &fs) != 0 || (unsigned long long)fs.f_bavail * fs.f_frsize >= (16ull << 20);
}

static RtModule *compile_backend(RtBackend b, const char *src, size_t len, const RtOptions *o,
                                 bool *unavailable, char *why, size_t why_size, Diag *d)
{
    const char *cc = compiler_name(o);
    char key[40];
    *unavailable = false;
    if (!make_key(b, src, len, o, cc, key, d))
        return NULL;
    char *dir = o && o->no_cache ? NULL : cache_dir(o, d);
    if (!dir)
        return compile_uncached(b, src, len, o, cc, unavailable, why, why_size, d);

    char so[4200], meta[4200];
    const bool shared = uses_shared_kernels(src, len);
    snprintf(so, sizeof so, "%s/%s.so", dir, key);
    snprintf(meta, sizeof meta, "%s/%s.meta", dir, key);
    RtModule *m = NULL;
    if (entry_valid(so, meta, key)) {
        utimensat(AT_FDCWD, so, NULL, 0); /* used now: last in line for eviction */
        m = load(so, shared, o, d);
        free(dir);
        return m;
    }
    /* missing, corrupt or foreign: delete and rebuild */
    unlink(so);
    unlink(meta);
    if (!cache_writable(dir)) {
        diag_warning(d, (SrcLoc){0},
                     "cache directory '%s' is read-only or full: compiling without a cache", dir);
        free(dir);
        return compile_uncached(b, src, len, o, cc, unavailable, why, why_size, d);
    }
    char tmp_so[4200];
    snprintf(tmp_so, sizeof tmp_so, "%s/.build-%s-%ld-%lx.so", dir, key, (long)getpid(),
             (unsigned long)pthread_self());
    if (compile_with(b, dir, src, len, tmp_so, o, cc, unavailable, why, why_size, d)) {
        unsigned char *bytes = NULL;
        size_t blen = 0;
        char mtext[256];
        if (chmod(tmp_so, 0700) == 0 && read_file(tmp_so, &bytes, &blen)) {
            snprintf(mtext, sizeof mtext, "slimc-cache 1\nkey %s\nsize %zu\nfnv %016llx\n", key,
                     blen, (unsigned long long)fnv1a(0xcbf29ce484222325ull, bytes, blen));
            /* Loaded before it is published: a concurrent run that finds the entry half
             * written (no .meta yet) deletes it, which cannot take it from us. */
            m = load(tmp_so, shared, o, d);
            if (m && !(rename(tmp_so, so) == 0 && write_atomic(dir, meta, mtext, strlen(mtext))))
                diag_warning(d, (SrcLoc){0}, "cannot write the cache entry '%s': %s", so,
                             strerror(errno));
            else if (m)
                cache_evict(dir, o, key);
        } else {
            diag_error(d, (SrcLoc){0}, "cannot read the compiled object '%s'", tmp_so);
        }
        free(bytes);
    } else if (!*unavailable && !cache_writable(dir)) {
        /* the disk filled up while compiling: try once more outside the cache */
        diag_clear(d);
        diag_warning(d, (SrcLoc){0}, "cache directory '%s' is full: compiling without a cache",
                     dir);
        unlink(tmp_so);
        free(dir);
        return compile_uncached(b, src, len, o, cc, unavailable, why, why_size, d);
    }
    unlink(tmp_so);
    free(dir);
    return m;
}

RtModule *rt_compile(const char *src, size_t len, const RtOptions *o, Diag *d)
{
    RtBackend b = pick_backend(o);
    bool unavailable = false;
    char why[1200] = "";
    RtModule *m = compile_backend(b, src, len, o, &unavailable, why, sizeof why, d);
    if (!m && unavailable && b == RT_BACKEND_CLANG) {
        diag_note(d, (SrcLoc){0}, "in-process Clang unavailable (%s): using the system C compiler",
                  why);
        m = compile_backend(RT_BACKEND_CC, src, len, o, &unavailable, why, sizeof why, d);
    }
    return m;
}

void *rt_symbol(RtModule *m, const char *name)
{
    return m ? dlsym(m->handle, name) : NULL;
}

void rt_module_free(RtModule *m)
{
    if (!m)
        return;
    dlclose(m->handle);
    free(m);
}

/* Writes data to path (a fresh file, mode 0600). */
static bool write_new(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return false;
    const unsigned char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    return close(fd) == 0 && done == len;
}

/* A private build folder (in the cache dir, else /tmp) with the source and, when there
 * is a blob, the blob and an assembler file that .incbin's it. */
typedef struct BuildDir {
    char dir[4200], cpath[4300], bpath[4300], spath[4300];
} BuildDir;

static bool build_dir_open(BuildDir *b, const char *src, size_t len, const void *blob,
                           size_t blob_len, const char *blob_symbol, const RtOptions *o, Diag *d)
{
    char *cdir = o && o->no_cache ? NULL : cache_dir(o, d);
    snprintf(b->dir, sizeof b->dir, "%s/.build-XXXXXX", cdir ? cdir : "/tmp");
    free(cdir);
    if (!mkdtemp(b->dir)) {
        diag_error(d, (SrcLoc){0}, "cannot make a temporary directory '%s': %s", b->dir,
                   strerror(errno));
        return false;
    }
    snprintf(b->cpath, sizeof b->cpath, "%s/model.c", b->dir);
    snprintf(b->bpath, sizeof b->bpath, "%s/weights.bin", b->dir);
    snprintf(b->spath, sizeof b->spath, "%s/weights.s", b->dir);
    bool ok = write_new(b->cpath, src, len);
    if (ok && blob_len > 0) {
        char *asm_text = NULL;
        size_t asm_len = 0;
        FILE *f = open_memstream(&asm_text, &asm_len);
        ok = f != NULL;
        if (ok) {
            /* .incbin: the weights are linked as they are, never as a C array literal */
            fprintf(
                f,
                "    .section .rodata\n    .globl %s\n    .balign 64\n    .type %s, @object\n%s:\n"
                "    .incbin \"%s\"\n    .size %s, . - %s\n    .section "
                ".note.GNU-stack,\"\",@progbits\n",
                blob_symbol, blob_symbol, blob_symbol, b->bpath, blob_symbol, blob_symbol);
            fclose(f);
            ok = write_new(b->bpath, blob, blob_len) && write_new(b->spath, asm_text, asm_len);
        }
        free(asm_text);
    }
    if (!ok)
        diag_error(d, (SrcLoc){0}, "cannot write the build files in '%s': %s", b->dir,
                   strerror(errno));
    return ok;
}

static void build_dir_close(BuildDir *b, const char *const *extra, int n_extra)
{
    unlink(b->cpath);
    unlink(b->bpath);
    unlink(b->spath);
    for (int i = 0; i < n_extra; i++)
        unlink(extra[i]);
    rmdir(b->dir);
}

/* The AOT compiler: for a target triple, TRIPLE-gcc unless a compiler was named. NULL
 * (with an error) when that cross compiler is not installed. */
static const char *aot_compiler(const RtOptions *o, char *buf, size_t size, Diag *d)
{
    if (!o || !o->triple || !*o->triple || (o->cc && *o->cc))
        return compiler_name(o);
    for (const char *t = o->triple; *t; t++)
        if (!(isalnum((unsigned char)*t) || *t == '_' || *t == '-' || *t == '.')) {
            diag_error(d, (SrcLoc){0}, "'%s' is not a target triple", o->triple);
            return NULL;
        }
    snprintf(buf, size, "%s-gcc", o->triple);
    const char *path = getenv("PATH");
    char dirs[8192], exe[8400];
    snprintf(dirs, sizeof dirs, "%s", path && *path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(exe, sizeof exe, "%s/%s", dir, buf);
        if (access(exe, X_OK) == 0)
            return buf;
    }
    diag_error(d, (SrcLoc){0},
               "no C compiler for target '%s': '%s' is not installed (Debian: apt-get install "
               "gcc-%s), or name "
               "one with --cc",
               o->triple, buf, o->triple);
    return NULL;
}

bool rt_build_executable(const char *src, size_t len, const void *blob, size_t blob_len,
                         const char *blob_symbol, const RtOptions *o, const char *out_path, Diag *d)
{
    char cc_buf[300];
    const char *cc = aot_compiler(o, cc_buf, sizeof cc_buf, d);
    if (!cc)
        return false;
    BuildDir b;
    char tmp_out[4300];
    snprintf(tmp_out, sizeof tmp_out, "%s.tmp-%ld", out_path, (long)getpid());
    /* an unwritable output path is said plainly, before any compiling */
    int probe = open(tmp_out, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (probe < 0) {
        diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", out_path, strerror(errno));
        return false;
    }
    close(probe);
    bool ok = build_dir_open(&b, src, len, blob, blob_len, blob_symbol, o, d);
    Argv a = {0};
    if (ok && !argv_begin(&a, cc)) {
        diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        ok = false;
    }
    if (ok) {
        argv_flags(&a, o, "x86-64-v2");
        argv_add(&a, "-o");
        argv_add(&a, tmp_out);
        argv_add(&a, b.cpath);
        if (blob_len > 0)
            argv_add(&a, b.spath);
        argv_add(&a, "-lm");
        ok = run_cc(&a, cc, o ? o->compile_ms : NULL, d);
        if (ok && rename(tmp_out, out_path) != 0) {
            diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", out_path, strerror(errno));
            ok = false;
        }
    }
    free(a.words);
    unlink(tmp_out);
    build_dir_close(&b, NULL, 0);
    return ok;
}

/* cc -c IN -o OUT with the AOT flags. */
static bool compile_object(const char *cc, const RtOptions *o, const char *in, const char *out,
                           Diag *d)
{
    Argv a;
    bool ok = argv_begin(&a, cc);
    if (!ok) {
        diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
    } else {
        argv_flags(&a, o, "x86-64-v2");
        argv_add(&a, "-fPIC");
        argv_add(&a, "-c");
        argv_add(&a, "-o");
        argv_add(&a, out);
        argv_add(&a, in);
        ok = run_cc(&a, cc, o ? o->compile_ms : NULL, d);
    }
    free(a.words);
    return ok;
}

bool rt_build_library(const char *src, size_t len, const void *blob, size_t blob_len,
                      const char *blob_symbol, const RtOptions *o, const char *lib_path, Diag *d)
{
    char cc_buf[300];
    const char *cc = aot_compiler(o, cc_buf, sizeof cc_buf, d);
    if (!cc)
        return false;
    BuildDir b;
    char model_o[4300], weights_o[4300], tmp_lib[4300];
    bool ok = build_dir_open(&b, src, len, blob, blob_len, blob_symbol, o, d);
    snprintf(model_o, sizeof model_o, "%s/model.o", b.dir);
    snprintf(weights_o, sizeof weights_o, "%s/weights.o", b.dir);
    snprintf(tmp_lib, sizeof tmp_lib, "%s.tmp-%ld", lib_path, (long)getpid());
    ok = ok && compile_object(cc, o, b.cpath, model_o, d);
    if (ok && blob_len > 0)
        ok = compile_object(cc, o, b.spath, weights_o, d);
    if (ok) {
        const char *ar = getenv("AR");
        char cross_ar[300];
        if ((!ar || !*ar) && o && o->triple && *o->triple && cc == cc_buf) {
            snprintf(cross_ar, sizeof cross_ar, "%s-ar", o->triple);
            ar = cross_ar;
        }
        Argv a;
        if (!argv_begin(&a, ar && *ar ? ar : "ar")) {
            diag_error(d, (SrcLoc){0}, "archiver '%s' not found (set AR)", ar && *ar ? ar : "ar");
            ok = false;
        } else {
            unlink(tmp_lib);
            argv_add(&a, "rcs");
            argv_add(&a, tmp_lib);
            argv_add(&a, model_o);
            if (blob_len > 0)
                argv_add(&a, weights_o);
            ok = run_cc(&a, a.v[0], NULL, d);
        }
        free(a.words);
        if (ok && rename(tmp_lib, lib_path) != 0) {
            diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", lib_path, strerror(errno));
            ok = false;
        }
    }
    unlink(tmp_lib);
    const char *extra[] = {model_o, weights_o};
    build_dir_close(&b, extra, 2);
    return ok;
}
