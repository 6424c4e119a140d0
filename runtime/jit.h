/* Compiling generated C and loading it: the system C compiler writes a shared object,
 * which is kept in an on-disk cache keyed by a hash of the code, flags, compiler version
 * and CPU features, and loaded with dlopen. */
#ifndef SLIMC_RUNTIME_JIT_H
#define SLIMC_RUNTIME_JIT_H

#include "ir/diag.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct RtOptions {
    const char *cc;        /* compiler; NULL: $SLIMC_CC, $CC, then "cc" */
    int opt_level;         /* 0..3 (default 2 when 0 is not meant: see rt_options_default) */
    const char *cpu;       /* -march value; NULL: "native" */
    const char *cache_dir; /* NULL: $SLIMC_CACHE_DIR, else $XDG_CACHE_HOME/slimc, else ~/.cache/slimc */
    bool no_cache;
    double *compile_ms;    /* if set, time spent compiling (0 on a cache hit) is added */
    double *load_ms;
} RtOptions;

void rt_options_default(RtOptions *o);

typedef struct RtModule RtModule;
/* Compiles src (a whole C translation unit) into a shared object, or finds it in the
 * cache, and loads it. Compiler errors are reported with the compiler's output. */
RtModule *rt_compile(const char *src, size_t len, const RtOptions *o, Diag *d);
void *rt_symbol(RtModule *m, const char *name);
void rt_module_free(RtModule *m);

/* Compiles src (one C translation unit with a main) into an executable at out_path (AOT).
 * When blob_len > 0, the bytes blob[0..blob_len) are linked in as read-only data under the
 * global symbol blob_symbol (64-byte aligned) through an assembler file that uses
 * `.incbin` on a temporary file — never as a C array literal. Temporary files live in a
 * private folder inside the cache dir and are removed; out_path is written atomically. */
bool rt_build_executable(const char *src, size_t len, const void *blob, size_t blob_len,
                         const char *blob_symbol, const RtOptions *o, const char *out_path,
                         Diag *d);

#endif
