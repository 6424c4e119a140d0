/* Compiling generated C and loading it. The code becomes a shared object — built
 * in-process by Clang + lld (libslimc_llvm.so, loaded on demand) when slimc was built with
 * LLVM, else by the system C compiler — which is kept in an on-disk cache keyed by a hash
 * of the code, flags, compiler version and CPU features, and loaded with dlopen. */
#ifndef SLIMC_RUNTIME_JIT_H
#define SLIMC_RUNTIME_JIT_H

#include "ir/diag.h"

#include <stdbool.h>
#include <stddef.h>

/* Which compiler builds JIT code. AUTO: in-process Clang when slimc has it and no C
 * compiler was named (RtOptions.cc, $SLIMC_CC); $SLIMC_JIT=cc|clang overrides AUTO. */
typedef enum RtBackend { RT_BACKEND_AUTO, RT_BACKEND_CC, RT_BACKEND_CLANG } RtBackend;

typedef struct RtOptions {
    const char *cc; /* compiler; NULL: $SLIMC_CC, $CC, then "cc" */
    RtBackend backend;
    int opt_level;      /* 0..3 (default 2 when 0 is not meant: see rt_options_default) */
    const char *cpu;    /* -march value; NULL: "native" (JIT), "x86-64-v2" (AOT) */
    const char *triple; /* AOT only: cross-compile for this target (cc: TRIPLE-gcc unless
                         * cc is set; no -march unless cpu is set); NULL: the host */
    const char
        *cache_dir; /* NULL: $SLIMC_CACHE_DIR, else $XDG_CACHE_HOME/slimc, else ~/.cache/slimc */
    bool no_cache;
    bool shared_kernels;    /* src includes slimc_rt.h with SLIMC_RT_EXTERN: link it against
                             * libslimc_kernels (loaded once per process, from libslimc) */
    size_t cache_max_bytes; /* 0: $SLIMC_CACHE_MAX_MB, else 512 MB; least recently used go first */
    bool link_dl;           /* AOT executables: link -ldl (the CUDA driver is dlopen'ed) */
    double *compile_ms;     /* if set, time spent compiling (0 on a cache hit) is added */
    double *load_ms;
} RtOptions;

void rt_options_default(RtOptions *o);

typedef struct RtModule RtModule;
/* Compiles src (a whole C translation unit) into a shared object, or finds it in the
 * cache, and loads it. Compiler errors are reported with the compiler's output. A src
 * that starts with RT_SHARED_KERNELS (JIT code, see runtime/slimc_rt.h) only declares the
 * runtime's kernels: libslimc_kernels is loaded first (once per process) to provide them. */
#define RT_SHARED_KERNELS "#define SLIMC_RT_EXTERN 1"
RtModule *rt_compile(const char *src, size_t len, const RtOptions *o, Diag *d);
/* Compiles n (1..RT_MAX_PARTS) translation units of one program — the parts of a model's
 * C split by the emitter (codegen/backend.h, CgSplit) — into one shared object: on n
 * threads (in-process Clang) or n cc processes at once, then linked. The cache key covers
 * every part, in order, and their count; srcs[0] decides RT_SHARED_KERNELS. */
#define RT_MAX_PARTS 16
RtModule *rt_compile_parts(const char *const *srcs, const size_t *lens, int n, const RtOptions *o,
                           Diag *d);
/* $SLIMC_JIT_JOBS: how many translation units a model's code is split into (1: one, as
 * `slimc emit` writes it), at most RT_MAX_PARTS; 0 when unset or not a count (the caller
 * chooses: one per CPU the process may use, for code large enough to be worth it). */
int rt_jit_jobs(void);
void *rt_symbol(RtModule *m, const char *name);
void rt_module_free(RtModule *m);
/* "clang 14.0.6 (in-process)" or "cc (subprocess)": what rt_compile would use for o. */
const char *rt_backend_name(const RtOptions *o);

/* Compiles src (one C translation unit, no main) into the static library lib_path (AOT,
 * `slimc build --lib`): src.o plus, when blob_len > 0, an object holding the blob under
 * blob_symbol (`.incbin`, 64-byte aligned), archived with $AR (default "ar"). Flags as
 * rt_build_executable, plus -fPIC so the library also links into shared objects.
 * lib_path is written atomically. */
bool rt_build_library(const char *src, size_t len, const void *blob, size_t blob_len,
                      const char *blob_symbol, const RtOptions *o, const char *lib_path, Diag *d);

/* The compile cache, for `slimc cache info|clear`. dir is malloc'd (the caller frees
 * it); bytes count the entries' files (.so, .ptx, .cubin, .meta); stale temp files are
 * counted apart. */
typedef struct RtCacheInfo {
    char *dir;
    int entries;
    int cuda_entries; /* of which NVRTC's PTX or cubin (runtime/nvrtc.c) */
    unsigned long long bytes, max_bytes;
    int temp_files;
} RtCacheInfo;
bool rt_cache_info(const RtOptions *o, RtCacheInfo *info, Diag *d);
/* Removes every entry and stale temp file (only files slimc names; nothing else). */
bool rt_cache_clear(const RtOptions *o, int *removed, Diag *d);

/* Compiles src (one C translation unit with a main) into an executable at out_path (AOT).
 * When blob_len > 0, the bytes blob[0..blob_len) are linked in as read-only data under the
 * global symbol blob_symbol (64-byte aligned) through an assembler file that uses
 * `.incbin` on a temporary file — never as a C array literal. Temporary files live in a
 * private folder inside the cache dir and are removed; out_path is written atomically. */
bool rt_build_executable(const char *src, size_t len, const void *blob, size_t blob_len,
                         const char *blob_symbol, const RtOptions *o, const char *out_path,
                         Diag *d);

#endif
