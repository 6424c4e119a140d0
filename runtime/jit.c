/* Compiling generated C and loading the result, through an on-disk cache. The compiler
 * is Clang in-process (libslimc_llvm.so, dlopen'ed on the first cache miss, so a warm run
 * loads no LLVM) when slimc was built with LLVM, else — or when that library or Clang's
 * resource headers are missing, with a note — the system C compiler as a subprocess.
 *
 * Cache layout: one directory (0700, owned by the user), two files per entry:
 *   KEY.so    the shared object, loaded with dlopen (or KEY.ptx / KEY.cubin: NVRTC's
 *             output for the CUDA backend, runtime/nvrtc.c, under the same rules)
 *   KEY.meta  "slimc-cache 1\nkey KEY\nsize BYTES\nfnv CHECKSUM\n"
 * and failed/KEY.cu: the source of a CUDA compile that failed (a slimc bug), kept to report.
 * KEY is a 128-bit hash (hex) of the source, the flags, the compiler's --version output,
 * the CPU's feature flags and slimc's own build ID (rt_jit_build_id). The weights are not
 * in it: the code reads them from the model on every start, never from the cache. Both
 * files are written to a temp name and renamed, .so first. Before loading, both must be
 * regular files owned by the user and not writable by group or others, and the .so's
 * size and 64-bit FNV-1a checksum must match the .meta; anything else is deleted and
 * rebuilt, never loaded. A hit touches the .so's mtime; after each store the least
 * recently used entries are deleted until the cache fits its cap (512 MB,
 * $SLIMC_CACHE_MAX_MB). A read-only or full cache gives a warning and a
 * compile in a private temp directory instead.
 * The directory holds a CACHEDIR.TAG naming slimc, written when slimc makes the directory
 * (or finds it holding nothing but slimc's names: empty, or a cache from before the tag).
 * `cache clear` empties only a directory with that tag, and deletes only the names slimc
 * gives its files (KEY.so, KEY.meta and the temp names listed at temp_name), so that
 * `--cache-dir ~` can never delete a user's files.
 *
 * This file: hashing, the compiler subprocess, the prebuilt kernels, the in-process
 * compiler and rt_compile; runtime/jit_cache.c: the cache directory, its cap and marker,
 * `slimc cache`; runtime/aot_build.c: AOT executables and libraries. */
#define _GNU_SOURCE 1 /* memfd_create */
#include "runtime/jit_internal.h"

#include "runtime/clang_jit.h"
#include "slimc/slimc.h" /* SLIMC_VERSION */
#include "ir/arena.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
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

uint64_t rt_jit_fnv1a(uint64_t h, const void *data, size_t len)
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
    h->a = rt_jit_fnv1a(h->a, &n, sizeof n); /* length-prefixed: parts cannot run together */
    h->a = rt_jit_fnv1a(h->a, data, len);
    h->b = mix64(h->b, &n, sizeof n);
    h->b = mix64(h->b, data, len);
}

void rt_jit_key_of(const void *const *parts, const size_t *lens, int n, char key[40])
{
    Hash128 h = {0xcbf29ce484222325ull, 0x6a09e667f3bcc908ull};
    for (int i = 0; i < n; i++)
        hash_add(&h, parts[i], lens[i]);
    snprintf(key, 40, "%016llx%016llx", (unsigned long long)h.a, (unsigned long long)h.b);
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

/* Starts argv (no shell) with stdout+stderr going to a new unlinked temp file, *out_fd.
 * -1 (errno set) when it cannot be started. */
static pid_t spawn_captured(char *const *argv, int *out_fd)
{
    char tmpl[] = "/tmp/slimc-ccout-XXXXXX";
    int fd = mkstemp(tmpl);
    *out_fd = -1;
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
    *out_fd = fd;
    return pid;
}

/* What a process started by spawn_captured wrote (malloc'd) and its exit status. */
static int wait_captured(pid_t pid, int fd, char **output)
{
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

/* Runs argv (no shell) with stdout+stderr captured into *output (malloc'd). Returns the
 * exit status, or -1 with errno set if the program could not be started. */
static int run_capture(char *const *argv, char **output)
{
    int fd;
    *output = NULL;
    pid_t pid = spawn_captured(argv, &fd);
    return pid < 0 ? -1 : wait_captured(pid, fd, output);
}

int rt_jit_run_capture(char *const *argv, char **output)
{
    return run_capture(argv, output);
}

const char *rt_jit_compiler_name(const RtOptions *o)
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
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        return NULL;
    }
    argv[n++] = "--version";
    argv[n] = NULL;
    char *out = NULL;
    int rc = run_capture(argv, &out);
    free(copy);
    if (rc < 0) {
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        free(out);
        return NULL;
    }
    if (rc != 0) {
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' failed to report its version: %s", cc,
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

/* slimc's own build: the GNU build ID (a hash the linker makes of the linked code) of the
 * object this function is in (the executable, or libslimc.so), as hex, cached; else (a
 * link without --build-id) only SLIMC_VERSION. In the cache key, so that a cache
 * filled by another build of slimc (other runtime headers, kernels or code generation)
 * misses; a rebuild of the same sources keeps its entries. */
static pthread_once_t build_once = PTHREAD_ONCE_INIT;
static char build_id[160];

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const uintptr_t self = (uintptr_t)data;
    bool mine = false;
    for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const uintptr_t at = info->dlpi_addr + ph->p_vaddr;
        mine = ph->p_type == PT_LOAD && self >= at && self - at < ph->p_memsz;
    }
    if (!mine)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while (end - p >= (ptrdiff_t)sizeof(ElfW(Nhdr))) {
            ElfW(Nhdr) nh;
            memcpy(&nh, p, sizeof nh);
            const size_t name = (nh.n_namesz + 3u) & ~3u, desc = (nh.n_descsz + 3u) & ~3u;
            const unsigned char *d = p + sizeof nh + name;
            if (name > (size_t)(end - p) || desc > (size_t)(end - d))
                break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                !memcmp(p + sizeof nh, "GNU", 4) && nh.n_descsz <= 64) {
                size_t len = 0;
                for (ElfW(Word) k = 0; k < nh.n_descsz; k++)
                    len += (size_t)snprintf(build_id + len, sizeof build_id - len, "%02x", d[k]);
                return 1;
            }
            p = d + desc;
        }
    }
    return 1;
}

static void read_build_id(void)
{
    build_id[0] = 0;
    dl_iterate_phdr(find_build_id, (void *)(uintptr_t)&read_build_id);
    if (!build_id[0])
        snprintf(build_id, sizeof build_id, "slimc %s, no build ID", SLIMC_VERSION);
}

const char *rt_jit_build_id(void)
{
    pthread_once(&build_once, read_build_id);
    return build_id;
}

/* ---- compiling ---- */

/* Builds argv for cc: the words of the compiler, then flags, then files. */

bool rt_jit_argv_begin(Argv *a, const char *cc)
{
    memset(a, 0, sizeof *a);
    a->words = strdup(cc);
    if (!a->words)
        return false;
    a->n = split_words(a->words, a->v, 16);
    return a->n > 0;
}

void rt_jit_argv_add(Argv *a, const char *s)
{
    if (a->n < 62)
        a->v[a->n++] = (char *)(uintptr_t)s;
    a->v[a->n] = NULL;
}

void rt_jit_argv_flags(Argv *a, const RtOptions *o, const char *dflt_cpu)
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
    rt_jit_argv_add(a, "-std=c11");
    rt_jit_argv_add(a, a->opt);
    if (cpu)
        rt_jit_argv_add(a, a->march);
    rt_jit_argv_add(a, "-pthread");
}

/* Runs the compiler; on failure reports its output. */
bool rt_jit_run_cc(Argv *a, const char *cc, double *ms, Diag *d)
{
    char *out = NULL;
    double t0 = now_ms();
    int rc = run_capture(a->v, &out);
    if (ms)
        *ms += now_ms() - t0;
    if (rc < 0) {
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
        free(out);
        return false;
    }
    if (rc != 0) {
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' failed (exit status %d):\n%s", cc, rc,
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

bool rt_jit_write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
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
    if (!rt_jit_write_all(fd, slimc_kernels_so, n)) {
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
        ir_diag_error(d, (SrcLoc){0}, "cannot load slimc's kernel library: %s", kernels_error);
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
        ir_diag_error(d, (SrcLoc){0}, "cannot load compiled code '%s': %s", path, err ? err : "?");
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

/* Writes src to a new file DIR/.src-XXXXXX.c; its path goes to cpath. */
static bool write_source(const char *dir, const char *src, size_t len, char *cpath, size_t size,
                         Diag *d)
{
    snprintf(cpath, size, "%s/.src-XXXXXX.c", dir);
    int fd = mkstemps(cpath, 2);
    if (fd < 0) {
        ir_diag_error(d, (SrcLoc){0}, "cannot write the generated source in '%s': %s", dir,
                      strerror(errno));
        return false;
    }
    bool written = rt_jit_write_all(fd, src, len);
    close(fd);
    if (!written) {
        unlink(cpath);
        ir_diag_error(d, (SrcLoc){0}, "cannot write the generated source '%s'", cpath);
        return false;
    }
    return true;
}

/* One translation unit: compiled and linked by one run of cc. */
static bool compile_so_one(const char *dir, const char *src, size_t len, const char *so_path,
                           const RtOptions *o, const char *cc, Diag *d)
{
    char cpath[4200];
    if (!write_source(dir, src, len, cpath, sizeof cpath, d))
        return false;
    Argv a;
    bool ok = rt_jit_argv_begin(&a, cc);
    if (!ok) {
        ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
    } else {
        rt_jit_argv_flags(&a, o, "native");
        rt_jit_argv_add(&a, "-fPIC");
        rt_jit_argv_add(&a, "-shared");
        rt_jit_argv_add(&a, "-o");
        rt_jit_argv_add(&a, so_path);
        rt_jit_argv_add(&a, cpath);
        rt_jit_argv_add(&a, "-lm");
        ok = rt_jit_run_cc(&a, cc, o ? o->compile_ms : NULL, d);
    }
    free(a.words);
    unlink(cpath);
    return ok;
}

/* n > 1 translation units: each compiled to an object by its own cc process, all at once,
 * then linked by one more run of cc. */
static bool compile_so_parts(const char *dir, const char *const *srcs, const size_t *lens, int n,
                             const char *so_path, const RtOptions *o, const char *cc, Diag *d)
{
    char(*cpath)[4200] = calloc((size_t)n, sizeof *cpath);
    char(*opath)[4200] = calloc((size_t)n, sizeof *opath);
    Argv *argv = calloc((size_t)n, sizeof *argv);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    int *fds = calloc((size_t)n, sizeof *fds);
    SLIMC_ASSERT(cpath && opath && argv && pids && fds);
    bool ok = true;
    int written = 0, started = 0;
    double t0 = now_ms();
    for (; written < n && ok; written++)
        ok = write_source(dir, srcs[written], lens[written], cpath[written], sizeof cpath[0], d);
    if (!ok)
        written--;
    for (int i = 0; i < written && ok; i++) {
        snprintf(opath[i], sizeof opath[i], "%.*s.o", (int)(strlen(cpath[i]) - 2), cpath[i]);
        if (!rt_jit_argv_begin(&argv[i], cc)) {
            ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
            ok = false;
            break;
        }
        rt_jit_argv_flags(&argv[i], o, "native");
        rt_jit_argv_add(&argv[i], "-fPIC");
        rt_jit_argv_add(&argv[i], "-c");
        rt_jit_argv_add(&argv[i], "-o");
        rt_jit_argv_add(&argv[i], opath[i]);
        rt_jit_argv_add(&argv[i], cpath[i]);
        pids[i] = spawn_captured(argv[i].v, &fds[i]);
        if (pids[i] < 0) {
            ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' not found (set SLIMC_CC or CC)", cc);
            ok = false;
            break;
        }
        started = i + 1;
    }
    for (int i = 0; i < started; i++) { /* every started compile is waited for */
        char *out = NULL;
        int rc = wait_captured(pids[i], fds[i], &out);
        if (rc != 0 && ok) {
            ir_diag_error(d, (SrcLoc){0}, "C compiler '%s' failed (exit status %d):\n%s", cc, rc,
                          out ? out : "");
            ok = false;
        }
        free(out);
    }
    if (o && o->compile_ms)
        *o->compile_ms += now_ms() - t0;
    if (ok) {
        Argv a;
        ok = rt_jit_argv_begin(&a, cc);
        if (ok) {
            rt_jit_argv_flags(&a, o, "native");
            rt_jit_argv_add(&a, "-fPIC");
            rt_jit_argv_add(&a, "-shared");
            rt_jit_argv_add(&a, "-o");
            rt_jit_argv_add(&a, so_path);
            for (int i = 0; i < n; i++)
                rt_jit_argv_add(&a, opath[i]);
            rt_jit_argv_add(&a, "-lm");
            SLIMC_ASSERT(a.n < 62); /* RT_MAX_PARTS objects fit argv */
            ok = rt_jit_run_cc(&a, cc, o ? o->compile_ms : NULL, d);
        }
        free(a.words);
    }
    for (int i = 0; i < n; i++) {
        free(argv[i].words);
        if (i < written) {
            unlink(cpath[i]);
            if (opath[i][0])
                unlink(opath[i]);
        }
    }
    free(cpath);
    free(opath);
    free(argv);
    free(pids);
    free(fds);
    return ok;
}

/* Compiles the n translation units srcs into so_path (a shared object) inside dir. */
static bool compile_so(const char *dir, const char *const *srcs, const size_t *lens, int n,
                       const char *so_path, const RtOptions *o, const char *cc, Diag *d)
{
    if (n == 1)
        return compile_so_one(dir, srcs[0], lens[0], so_path, o, cc, d);
    return compile_so_parts(dir, srcs, lens, n, so_path, o, cc, d);
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
    /* beside libslimc.so itself, where the Python package's wheel puts both (slimc/) */
    char beside_lib[4200] = "";
    Dl_info self;
    if (dladdr(llvm_error, &self) && self.dli_fname &&
        strlen(self.dli_fname) < sizeof beside_lib - 32) {
        snprintf(beside_lib, sizeof beside_lib, "%s", self.dli_fname);
        char *slash = strrchr(beside_lib, '/');
        if (slash)
            snprintf(slash, sizeof beside_lib - (size_t)(slash - beside_lib), "/libslimc_llvm.so");
        else
            beside_lib[0] = 0;
    }
    const char *candidates[] = {env && *env ? env : NULL,          beside[0] ? beside : NULL,
                                beside_lib[0] ? beside_lib : NULL, SLIMC_LLVM_MODULE_BUILD,
                                SLIMC_LLVM_MODULE_INSTALL,         "libslimc_llvm.so"};
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
static bool compile_so_clang(const char *const *srcs, const size_t *lens, int n,
                             const char *so_path, const RtOptions *o, bool *unavailable, char *why,
                             size_t why_size, Diag *d)
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
                             n,
                             srcs,
                             lens,
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
        ir_diag_error(d, (SrcLoc){0}, "in-process Clang failed:\n%s", log ? log : "");
    }
    free(log);
    return rc == SLIMC_CLANG_OK;
#else
    (void)srcs, (void)lens, (void)n, (void)so_path, (void)o, (void)d;
    *unavailable = true;
    snprintf(why, why_size, "slimc was built without LLVM");
    return false;
#endif
}

/* ---- rt_compile ---- */

/* The translation units of one program. */
typedef struct Sources {
    const char *const *srcs;
    const size_t *lens;
    int n;
} Sources;

/* Compiles s into so_path (inside dir, which holds any temp file) with backend b. */
static bool compile_with(RtBackend b, const char *dir, const Sources *s, const char *so_path,
                         const RtOptions *o, const char *cc, bool *unavailable, char *why,
                         size_t why_size, Diag *d)
{
    if (b == RT_BACKEND_CLANG)
        return compile_so_clang(s->srcs, s->lens, s->n, so_path, o, unavailable, why, why_size, d);
    *unavailable = false;
    return compile_so(dir, s->srcs, s->lens, s->n, so_path, o, cc, d);
}

/* The cache key (32 hex digits + NUL) for s compiled by backend b: every part, in order,
 * and their count (one part hashes as rt_compile's single source always has). */
static bool make_key(RtBackend b, const Sources *s, const RtOptions *o, const char *cc,
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
    char flags[320], parts[32] = "";
    if (s->n > 1)
        snprintf(parts, sizeof parts, " parts %d", s->n);
    snprintf(flags, sizeof flags, "%s -O%d -march=%s -fPIC -shared -pthread -lm v1%s",
             b == RT_BACKEND_CLANG ? "clang-jit" : cc, o ? o->opt_level : 2,
             o && o->cpu ? o->cpu : "native", parts);
    for (int i = 0; i < s->n; i++)
        hash_add(&h, s->srcs[i], s->lens[i]);
    hash_add(&h, flags, strlen(flags));
    hash_add(&h, version, strlen(version));
    hash_add(&h, cpu_flags, strlen(cpu_flags));
    const char *self = rt_jit_build_id();
    hash_add(&h, self, strlen(self));
    free(version);
    snprintf(key, 40, "%016llx%016llx", (unsigned long long)h.a, (unsigned long long)h.b);
    return true;
}

/* No cache: a private temp directory, removed once the code is loaded. */
static RtModule *compile_uncached(RtBackend b, const Sources *s, const RtOptions *o, const char *cc,
                                  bool *unavailable, char *why, size_t why_size, Diag *d)
{
    char tmpl[] = "/tmp/slimc-jit-XXXXXX";
    *unavailable = false;
    if (!mkdtemp(tmpl)) {
        ir_diag_error(d, (SrcLoc){0}, "cannot make a temporary directory: %s", strerror(errno));
        return NULL;
    }
    char so[256];
    snprintf(so, sizeof so, "%s/code.so", tmpl);
    const bool shared = uses_shared_kernels(s->srcs[0], s->lens[0]);
    RtModule *m = NULL;
    if (compile_with(b, tmpl, s, so, o, cc, unavailable, why, why_size, d))
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

static RtModule *compile_backend(RtBackend b, const Sources *s, const RtOptions *o,
                                 bool *unavailable, char *why, size_t why_size, Diag *d)
{
    const char *cc = rt_jit_compiler_name(o);
    char key[40];
    *unavailable = false;
    if (!make_key(b, s, o, cc, key, d))
        return NULL;
    char *dir = o && o->no_cache ? NULL : rt_jit_cache_dir(o, d);
    if (!dir)
        return compile_uncached(b, s, o, cc, unavailable, why, why_size, d);

    char so[4200], meta[4200];
    const bool shared = uses_shared_kernels(s->srcs[0], s->lens[0]);
    snprintf(so, sizeof so, "%s/%s.so", dir, key);
    snprintf(meta, sizeof meta, "%s/%s.meta", dir, key);
    RtModule *m = NULL;
    if (rt_jit_entry_valid(so, meta, key)) {
        utimensat(AT_FDCWD, so, NULL, 0); /* used now: last in line for eviction */
        m = load(so, shared, o, d);
        free(dir);
        return m;
    }
    /* missing, corrupt or foreign: delete and rebuild */
    unlink(so);
    unlink(meta);
    if (!cache_writable(dir)) {
        ir_diag_warning(d, (SrcLoc){0},
                        "cache directory '%s' is read-only or full: compiling without a cache",
                        dir);
        free(dir);
        return compile_uncached(b, s, o, cc, unavailable, why, why_size, d);
    }
    char tmp_so[4200];
    snprintf(tmp_so, sizeof tmp_so, "%s/.build-%s-%ld-%lx.so", dir, key, (long)getpid(),
             (unsigned long)pthread_self());
    if (compile_with(b, dir, s, tmp_so, o, cc, unavailable, why, why_size, d)) {
        unsigned char *bytes = NULL;
        size_t blen = 0;
        char mtext[256];
        if (chmod(tmp_so, 0700) == 0 && rt_jit_read_file(tmp_so, &bytes, &blen)) {
            snprintf(mtext, sizeof mtext, "slimc-cache 1\nkey %s\nsize %zu\nfnv %016llx\n", key,
                     blen, (unsigned long long)rt_jit_fnv1a(0xcbf29ce484222325ull, bytes, blen));
            /* Loaded before it is published: a concurrent run that finds the entry half
             * written (no .meta yet) deletes it, which cannot take it from us. */
            m = load(tmp_so, shared, o, d);
            if (m &&
                !(rename(tmp_so, so) == 0 && rt_jit_write_atomic(dir, meta, mtext, strlen(mtext))))
                ir_diag_warning(d, (SrcLoc){0}, "cannot write the cache entry '%s': %s", so,
                                strerror(errno));
            else if (m)
                rt_jit_cache_evict(dir, o, key);
        } else {
            ir_diag_error(d, (SrcLoc){0}, "cannot read the compiled object '%s'", tmp_so);
        }
        free(bytes);
    } else if (!*unavailable && !cache_writable(dir)) {
        /* the disk filled up while compiling: try once more outside the cache */
        ir_diag_clear(d);
        ir_diag_warning(d, (SrcLoc){0}, "cache directory '%s' is full: compiling without a cache",
                        dir);
        unlink(tmp_so);
        free(dir);
        return compile_uncached(b, s, o, cc, unavailable, why, why_size, d);
    }
    unlink(tmp_so);
    free(dir);
    return m;
}

RtModule *rt_compile_parts(const char *const *srcs, const size_t *lens, int n, const RtOptions *o,
                           Diag *d)
{
    SLIMC_ASSERT(n >= 1 && n <= RT_MAX_PARTS);
    const Sources s = {srcs, lens, n};
    RtBackend b = pick_backend(o);
    bool unavailable = false;
    char why[1200] = "";
    RtModule *m = compile_backend(b, &s, o, &unavailable, why, sizeof why, d);
    if (!m && unavailable && b == RT_BACKEND_CLANG) {
        ir_diag_note(d, (SrcLoc){0},
                     "in-process Clang unavailable (%s): using the system C compiler", why);
        m = compile_backend(RT_BACKEND_CC, &s, o, &unavailable, why, sizeof why, d);
    }
    return m;
}

RtModule *rt_compile(const char *src, size_t len, const RtOptions *o, Diag *d)
{
    return rt_compile_parts(&src, &len, 1, o, d);
}

int rt_jit_jobs(void)
{
    const char *e = getenv("SLIMC_JIT_JOBS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end == 0 && v >= 1)
            return v > RT_MAX_PARTS ? RT_MAX_PARTS : (int)v;
    }
    return 0;
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
