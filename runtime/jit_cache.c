/* The JIT's compile cache (see the layout and rules at the top of runtime/jit.c): the
 * cache directory and its checks, entry files, the size cap (least recently used entries
 * go first), the CACHEDIR.TAG marker, and `slimc cache info|clear`. */
#define _GNU_SOURCE 1 /* memfd_create */
#include "runtime/jit_internal.h"
#include "runtime/model_desc.h" /* rt_make_dirs */

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

/* ---- the cache directory ---- */

static void cache_claim(const char *dir, bool created);

/* The cache directory to use (malloc'd), or NULL with a warning when none is usable. */
char *rt_jit_cache_dir(const RtOptions *o, Diag *d)
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
        ir_diag_warning(d, (SrcLoc){0},
                        "no cache directory (HOME is not set): compiling without a cache");
        return NULL;
    }
    int created;
    char why[600];
    if (!rt_make_dirs(buf, 0700, &created, why, sizeof why)) {
        ir_diag_warning(d, (SrcLoc){0},
                        "cannot create the cache directory '%s' (%s): compiling without a cache",
                        buf, why);
        return NULL;
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ir_diag_warning(d, (SrcLoc){0},
                        "cache directory '%s' is not a directory: compiling without a cache", buf);
        return NULL;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 022)) {
        ir_diag_warning(
            d, (SrcLoc){0},
            "cache directory '%s' is %s: compiling without a cache (make it yours, mode 0700)", buf,
            st.st_uid != geteuid() ? "owned by another user" : "writable by others");
        return NULL;
    }
    cache_claim(buf, created);
    return strdup(buf);
}

bool rt_jit_read_file(const char *path, unsigned char **data, size_t *len)
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
bool rt_jit_entry_valid(const char *so, const char *meta, const char *key)
{
    struct stat st_so, st_meta;
    if (!private_file(so, &st_so) || !private_file(meta, &st_meta))
        return false;
    unsigned char *m = NULL, *bytes = NULL;
    size_t mlen, blen;
    if (!rt_jit_read_file(meta, &m, &mlen))
        return false;
    char want[256];
    bool ok = false;
    if (rt_jit_read_file(so, &bytes, &blen)) {
        snprintf(want, sizeof want, "slimc-cache 1\nkey %s\nsize %zu\nfnv %016llx\n", key, blen,
                 (unsigned long long)rt_jit_fnv1a(0xcbf29ce484222325ull, bytes, blen));
        ok = mlen == strlen(want) && memcmp(m, want, mlen) == 0;
    }
    free(m);
    free(bytes);
    return ok;
}

/* Writes len bytes to a temp file in dir, then renames it to path. */
bool rt_jit_write_atomic(const char *dir, const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return false;
    if (!rt_jit_write_all(fd, data, len)) {
        close(fd);
        unlink(tmp);
        return false;
    }
    if (fchmod(fd, 0600) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return false;
    }
    return true;
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

/* The extensions of an entry's files: the compiled code (one of the first three) and its
 * .meta. "so": rt_compile's shared objects; "ptx", "cubin": NVRTC's output (nvrtc.c). */
static const char *const entry_exts[] = {"so", "ptx", "cubin", "meta"};
#define N_ENTRY_EXTS (sizeof entry_exts / sizeof entry_exts[0])

/* True for "KEY.EXT" (KEY: 32 hex digits, EXT one of entry_exts); *ext gets the extension. */
static bool entry_name(const char *name, const char **ext)
{
    size_t n = strspn(name, "0123456789abcdef");
    if (n != 32 || name[32] != '.')
        return false;
    *ext = name + 33;
    for (size_t i = 0; i < N_ENTRY_EXTS; i++)
        if (!strcmp(*ext, entry_exts[i]))
            return true;
    return false;
}

/* FAILED_DIR/KEY.cu: the CUDA source of a kernel compile that failed, kept for the bug
 * report (runtime/nvrtc.c); `cache clear` removes them. */
#define FAILED_DIR "failed"
static bool failed_name(const char *name)
{
    size_t n = strspn(name, "0123456789abcdef");
    return n == 32 && !strcmp(name + 32, ".cu");
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
    bool ok = rt_jit_read_file(path, &text, &len) && len == sizeof cache_tag_text - 1 &&
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
             entry_name(de->d_name, &ext) || temp_name(de->d_name) || pch_name(de->d_name) ||
             !strcmp(de->d_name, FAILED_DIR);
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
    rt_jit_write_atomic(dir, path, cache_tag_text, sizeof cache_tag_text - 1);
}

typedef struct CacheEntry {
    char key[33];
    bool cuda; /* NVRTC's PTX or cubin, not a .so */
    unsigned long long bytes;
    struct timespec used; /* mtime of the code file (.so, .ptx, .cubin): touched on every hit */
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

static int entry_by_key(const void *pa, const void *pb)
{
    return strcmp(((const CacheEntry *)pa)->key, ((const CacheEntry *)pb)->key);
}

/* The entries of dir (malloc'd array, *n of them); *temps counts stale temp files. One
 * record per file first, then sorted by key and merged: n log n for a cache of thousands
 * of entries (a linear search per file made every put quadratic). */
static CacheEntry *list_entries(const char *dir, int *n, int *temps)
{
    DIR *dp = opendir(dir);
    int cap = 0, nf = 0;
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
        if (nf == cap) {
            cap = cap ? cap * 2 : 64;
            CacheEntry *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        CacheEntry *e = &v[nf++];
        memset(e, 0, sizeof *e);
        memcpy(e->key, de->d_name, 32);
        e->bytes = (unsigned long long)st.st_size;
        if (strcmp(ext, "meta")) {
            e->used = st.st_mtim;
            e->cuda = strcmp(ext, "so") != 0;
        }
    }
    if (dp)
        closedir(dp);
    if (nf > 1)
        qsort(v, (size_t)nf, sizeof *v, entry_by_key);
    for (int i = 0; i < nf; i++) { /* merge the files of one key */
        if (*n > 0 && !strcmp(v[*n - 1].key, v[i].key)) {
            CacheEntry *e = &v[*n - 1];
            e->bytes += v[i].bytes;
            if (v[i].used.tv_sec || v[i].used.tv_nsec) {
                e->used = v[i].used;
                e->cuda = v[i].cuda;
            }
        } else {
            v[(*n)++] = v[i];
        }
    }
    return v;
}

static void remove_entry(const char *dir, const char *key)
{
    char path[4400];
    for (size_t i = 0; i < N_ENTRY_EXTS; i++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, key, entry_exts[i]);
        unlink(path);
    }
}

/* ---- blob entries: NVRTC's PTX and cubin ---- */

bool rt_jit_blob_get(const char *dir, const char *key, const char *ext, unsigned char **data,
                     size_t *len)
{
    char path[4400], meta[4400];
    *data = NULL;
    *len = 0;
    snprintf(path, sizeof path, "%s/%s.%s", dir, key, ext);
    snprintf(meta, sizeof meta, "%s/%s.meta", dir, key);
    if (!rt_jit_entry_valid(path, meta, key) || !rt_jit_read_file(path, data, len)) {
        unlink(path); /* missing, corrupt or foreign: the caller compiles it again */
        unlink(meta);
        return false;
    }
    utimensat(AT_FDCWD, path, NULL, 0); /* used now: last in line for eviction */
    return true;
}

bool rt_jit_blob_put(const char *dir, const char *key, const char *ext, const void *data,
                     size_t len, const RtOptions *o)
{
    char path[4400], meta[4400], mtext[256];
    snprintf(path, sizeof path, "%s/%s.%s", dir, key, ext);
    snprintf(meta, sizeof meta, "%s/%s.meta", dir, key);
    snprintf(mtext, sizeof mtext, "slimc-cache 1\nkey %s\nsize %zu\nfnv %016llx\n", key, len,
             (unsigned long long)rt_jit_fnv1a(0xcbf29ce484222325ull, data, len));
    if (!rt_jit_write_atomic(dir, path, data, len) ||
        !rt_jit_write_atomic(dir, meta, mtext, strlen(mtext)))
        return false;
    /* The cap is checked on a process's first put and every 16th after (a scan of the
     * directory per put made a suite of thousands of compiles slow): the cache may pass its
     * cap by up to 15 entries between checks. Puts come from parallel NVRTC threads. */
    static unsigned puts;
    if (__atomic_fetch_add(&puts, 1u, __ATOMIC_RELAXED) % 16u == 0)
        rt_jit_cache_evict(dir, o, key);
    return true;
}

/* Deletes the least recently used entries (never keep) until the cache fits its cap. */
void rt_jit_cache_evict(const char *dir, const RtOptions *o, const char *keep)
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
    info->dir = rt_jit_cache_dir(o, d);
    if (!info->dir)
        return false;
    int n;
    CacheEntry *v = list_entries(info->dir, &n, &info->temp_files);
    info->entries = n;
    for (int i = 0; i < n; i++) {
        info->bytes += v[i].bytes;
        info->cuda_entries += v[i].cuda;
    }
    info->max_bytes = cache_cap(o);
    free(v);
    return true;
}

/* Removes DIR/failed/KEY.cu files (nothing else) and the folder when it is then empty;
 * returns how many were removed. */
static int clear_failed(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" FAILED_DIR, dir);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    int n = 0;
    DIR *dp = opendir(path);
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        char p2[4500];
        snprintf(p2, sizeof p2, "%s/%s", path, de->d_name);
        if (failed_name(de->d_name) && unlink(p2) == 0)
            n++;
    }
    if (dp)
        closedir(dp);
    if (rmdir(path) == 0)
        n++;
    return n;
}

bool rt_cache_clear(const RtOptions *o, int *removed, Diag *d)
{
    *removed = 0;
    char *dir = rt_jit_cache_dir(o, d);
    if (!dir)
        return false;
    if (!cache_marked(dir)) {
        ir_diag_error(d, (SrcLoc){0},
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
        if (!strcmp(de->d_name, FAILED_DIR)) {
            *removed += clear_failed(dir);
            continue;
        }
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
            ir_diag_error(d, (SrcLoc){0}, "cannot remove '%s': %s", path, strerror(errno));
            ok = false;
        }
    }
    if (dp)
        closedir(dp);
    else
        ir_diag_error(d, (SrcLoc){0}, "cannot read the cache directory '%s': %s", dir,
                      strerror(errno));
    free(dir);
    return ok;
}
