/* What the public API's files share. The API is the one place (with the CLI) that wires
 * the stages together: frontend -> ir -> passes -> codegen -> runtime. */
#ifndef SLIMC_API_INTERNAL_H
#define SLIMC_API_INTERNAL_H

#include "slimc/slimc.h"

#include "ir/graph.h"
#include "runtime/jit.h"

struct SlimcContext {
    Diag diag;
    SlimcTimings t;
    uint64_t max_memory; /* what one model may ask for (ir/limits.h) */
};

struct SlimcModel {
    Graph *g;
    bool optimized;
    size_t weight_bytes_loaded; /* constants' bytes as loaded, before any pass */
    char **input_types, **output_types, **output_names;
};

/* The public enums and limits of slimc/slimc.h are the IR's (ir/types.h) under other names:
 * the API converts between them with casts and copies shapes with memcpy. A dtype added to
 * IR_DTYPES without its SLIMC_ twin, or one out of order, stops the build here. */
#define X(e, name, ctype, bits)                                                                    \
    _Static_assert((int)SLIMC_##e == (int)IR_##e, "SlimcDType and DType differ at " #e);
IR_DTYPES(X)
#undef X
_Static_assert(sizeof(SlimcDType) == sizeof(DType), "SlimcDType and DType differ in size");
_Static_assert(SLIMC_MAX_RANK == IR_MAX_RANK, "SLIMC_MAX_RANK and IR_MAX_RANK differ");

double api_now_ms(void);
void api_rt_options(const SlimcOptions *o, RtOptions *ro, SlimcTimings *t);
/* The model's C source (prefix names the entry points) into a malloc'd string. */
/* Makes the JIT the passes' graph runner (api/pass_runner.c); idempotent. */
void api_install_pass_runner(void);
/* jit: the code is for rt_compile with RtOptions.shared_kernels (not self-contained). */
char *api_emit_source(SlimcContext *ctx, SlimcModel *m, const char *prefix, bool jit, size_t *len);
/* Fills the per-model strings (types, output names); called after load and passes. */
void api_model_describe(SlimcModel *m);

#endif
