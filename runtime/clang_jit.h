/* The in-process compiler: emitted C -> Clang (in memory) -> object code (in memory) ->
 * a shared object linked by lld, written to a path the caller chooses.
 *
 * It lives in its own shared library, libslimc_llvm.so (runtime/clang_jit.cpp, the only
 * C++ in slimc), which runtime/jit.c loads with dlopen only when a compile is needed:
 * slimc itself does not link LLVM, and a run that finds its code in the cache never
 * loads it. The library's one entry point has C linkage and this signature. */
#ifndef SLIMC_RUNTIME_CLANG_JIT_H
#define SLIMC_RUNTIME_CLANG_JIT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLIMC_CLANG_JIT_ABI 4

typedef struct SlimcClangRequest {
    int abi;                 /* SLIMC_CLANG_JIT_ABI */
    int n_srcs;              /* translation units of one program: compiled on n_srcs threads
                              * (one each), then linked into one shared object */
    const char *const *srcs; /* each a whole C11 translation unit (not NUL-terminated: lens) */
    const size_t *lens;
    int opt_level;        /* 0..3 */
    const char *cpu;      /* -march value ("native", "x86-64-v2", ...) */
    const char *out_path; /* the shared object to write (lld writes it atomically) */
} SlimcClangRequest;

enum {
    SLIMC_CLANG_OK = 0,
    SLIMC_CLANG_FAILED = 1,      /* the code does not compile or link: *log says why */
    SLIMC_CLANG_UNAVAILABLE = 2, /* no resource headers etc.: use the system compiler */
};

/* Compiles req->srcs into the shared object req->out_path. Thread-safe (the link step
 * is serialised: lld is not reentrant). On failure *log (malloc'd; the caller frees it)
 * holds Clang's or lld's messages; on success *log is NULL. */
int slimc_clang_compile_so(const SlimcClangRequest *req, char **log);
typedef int (*SlimcClangCompileFn)(const SlimcClangRequest *req, char **log);

/* "clang 14.0.6" — the version compiled into the library. */
const char *slimc_clang_version(void);

#ifdef __cplusplus
}
#endif
#endif
