/* libslimc_kernels.so: the runtime's kernels compiled once, when slimc is built, with
 * external linkage. The JIT includes slimc_rt.h with SLIMC_RT_EXTERN (declarations only)
 * and links every model against this library (runtime/jit.c loads it from the copy
 * embedded in libslimc), so a cache miss compiles just the model's own code. The AVX-512
 * and AVX2 paths carry target attributes and are picked at run time, as in AOT code.
 * slimc_rt.h is the header generated in the build directory from the files of this folder
 * (cmake/rt_parts.cmake): one translation unit, as AOT code compiles them. */
#define SLIMC_RT_BUILD_KERNELS 1
#include "runtime/slimc_rt.h"
