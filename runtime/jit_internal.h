/* What runtime/jit.c (compiling and loading), runtime/jit_cache.c (the compile cache) and
 * runtime/aot_build.c (AOT executables and libraries) share. Not a public interface. */
#ifndef SLIMC_RUNTIME_JIT_INTERNAL_H
#define SLIMC_RUNTIME_JIT_INTERNAL_H

#include "runtime/jit.h"

#include <stdint.h>

/* ---- runtime/jit.c ---- */

/* Builds argv for cc: the words of the compiler, then flags, then files. */
typedef struct Argv {
    char *words; /* the compiler command, split in place */
    char *v[64];
    int n;
    char opt[8], march[160];
} Argv;

bool rt_jit_argv_begin(Argv *a, const char *cc);
void rt_jit_argv_add(Argv *a, const char *s);
/* -O, -march (dflt_cpu when o names none) and the flags every compile uses. */
void rt_jit_argv_flags(Argv *a, const RtOptions *o, const char *dflt_cpu);
/* Runs the compiler; its output becomes the diagnostic on failure. *ms: time taken. */
bool rt_jit_run_cc(Argv *a, const char *cc, double *ms, Diag *d);
/* Runs argv (no shell) with stdout+stderr captured into *output (malloc'd): the exit
 * status, or -1 with errno set if the program could not be started. */
int rt_jit_run_capture(char *const *argv, char **output);
/* The C compiler a subprocess compile uses (RtOptions.cc, $SLIMC_CC, $CC, else "cc"). */
const char *rt_jit_compiler_name(const RtOptions *o);
/* 64-bit FNV-1a of data, continuing from h. */
uint64_t rt_jit_fnv1a(uint64_t h, const void *data, size_t len);
/* A cache key (32 hex digits + NUL) of n parts, each length-prefixed so that parts cannot
 * run together: the same 128-bit hash as rt_compile's keys. */
/* slimc's build ID (hex of the GNU build-id note of the object holding the JIT), part of
 * every cache key. */
const char *rt_jit_build_id(void);
void rt_jit_key_of(const void *const *parts, const size_t *lens, int n, char key[40]);

/* ---- runtime/jit_cache.c ---- */

/* The cache directory to use (malloc'd), or NULL with a warning when none is usable. */
char *rt_jit_cache_dir(const RtOptions *o, Diag *d);
bool rt_jit_read_file(const char *path, unsigned char **data, size_t *len);
/* True when the entry's .so and .meta are the user's, private, and match each other. */
bool rt_jit_entry_valid(const char *so, const char *meta, const char *key);
/* Writes all n bytes of data to fd; false on a short or failed write. */
bool rt_jit_write_all(int fd, const void *data, size_t n);
/* Writes data to path through a temp file in dir and a rename. */
bool rt_jit_write_atomic(const char *dir, const char *path, const void *data, size_t len);
/* Deletes the least recently used entries (never keep) until the cache fits its cap. */
void rt_jit_cache_evict(const char *dir, const RtOptions *o, const char *keep);
/* Blob entries (NVRTC's PTX and cubin, runtime/nvrtc.c): KEY.EXT (ext "ptx" or "cubin")
 * and KEY.meta, under the same trust rules as KEY.so. get: true with the bytes (malloc'd)
 * when the entry is intact (it is touched); an entry that is not is deleted. put: writes
 * the entry (data first, then .meta, each atomically) and applies the cap; false when it
 * could not be written (the caller goes on without the cache). */
bool rt_jit_blob_get(const char *dir, const char *key, const char *ext, unsigned char **data,
                     size_t *len);
bool rt_jit_blob_put(const char *dir, const char *key, const char *ext, const void *data,
                     size_t len, const RtOptions *o);

#endif
