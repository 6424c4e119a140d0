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
    uint64_t max_memory;   /* what one model may ask for (ir/limits.h) */
    struct FeFixes *fixes; /* --shape, --dim (api/fix_dims.c); NULL: none */
};

struct SlimcModel {
    Graph *g;
    bool optimized;
    Device device;               /* where the passes placed its nodes (api/device.c) */
    SlimcPrecision precision;    /* the precision it was optimized with (CUDA code) */
    size_t weight_bytes_loaded;  /* constants' bytes as loaded, before any pass */
    struct CostProfile *profile; /* --device auto: the device profile the place pass used */
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

struct RtExec;
struct RtCudaExec;
typedef struct ApiCudaHold ApiCudaHold;
struct SlimcExec {
    SlimcModel *m; /* borrowed: must outlive the exec */
    struct RtModule *mod;
    struct RtExec *ex;
    int threads;
    struct RtCudaExec *cu; /* the model on a CUDA device instead (api/device.c) */
    ApiCudaHold *cu_hold;
    double bench_device_ms; /* slimc_exec_bench_device_ms */
    bool profile;           /* compiled with per-node timers (SlimcOptions.profile) */
};
/* api/exec_profile.c: zero --profile's counters (bench does after its warm-up runs). */
void api_exec_profile_reset(SlimcExec *e);

double api_now_ms(void);
void api_rt_options(const SlimcOptions *o, RtOptions *ro, SlimcTimings *t);
/* The model's C source (prefix names the entry points) into a malloc'd string. */
/* Makes the JIT the passes' graph runner (api/pass_runner.c); idempotent. */
void api_install_pass_runner(void);
/* jit: the code is for rt_compile with RtOptions.shared_kernels (not self-contained). */
/* profile: timers around each node (CgOptions.profile; slimc_exec_profile reads them). */
char *api_emit_source(SlimcContext *ctx, SlimcModel *m, const char *prefix, bool jit, bool profile,
                      size_t *len);
/* The model's JIT code (as api_emit_source with jit) as the translation units of one
 * program (codegen/backend.h, CgSplit; runtime/jit.h, rt_compile_parts): at most jobs
 * (<= RT_MAX_PARTS) of them, cut at node sections to hold about equal code, the entry
 * points in the last. Unless forced, a part holds at least about 64 KB of code. jobs 1,
 * or profile: one part, the file api_emit_source writes. NULL after an error; else *n
 * strings and *lens, freed by api_free_parts. */
char **api_emit_jit_parts(SlimcContext *ctx, SlimcModel *m, bool profile, int jobs, bool forced,
                          size_t **lens, int *n);
void api_free_parts(char **srcs, size_t *lens, int n);
/* A model around g (the frontends' result; NULL after their errors: SLIMC_ERROR), checking
 * its compress block: what slimc_model_load and slimc_model_load_memory share. */
SlimcStatus api_model_wrap(SlimcContext *ctx, Graph *g, SlimcModel **out);
/* Fills the per-model strings (types, output names); called after load and passes. */
void api_model_describe(SlimcModel *m);
/* api/sparsity.c: inspect --sparsity, each conv2d/linear layer's density (measured now,
 * setting Value.sparsity), pattern, bytes, FLOPs and kernel. */
void api_inspect_sparsity(SlimcModel *m, FILE *out);

/* ---- api/device.c: where a model runs, and its CUDA path ---- */
/* The device o asks for (auto resolved: see api/device.c); false with an error when cuda
 * is asked for and this build has no CUDA backend. Whether a GPU is there is asked only
 * for auto: emitting CUDA code needs none. */
bool api_pick_device(SlimcContext *ctx, const SlimcOptions *o, Device *out, bool *automatic);
/* --device auto with a GPU there: the place pass decides each node's device with the
 * backends' rules (api_pick_device said *automatic; the nodes start on the CPU). */
bool api_place_auto(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o);
/* Where the optimized graph g runs: the CUDA backend's file when its nodes are on both
 * devices (or all on CUDA), else the CPU (picked: an empty graph's). */
Device api_model_device(const Graph *g, Device picked);
/* Which values the GPU's kernels read (a calloc'd [n_values] the caller frees): every value
 * a live node reads, or in a mixed-device model those its CUDA nodes read (the weights to
 * upload; the CPU reads the others in host memory). */
bool *api_read_on_gpu(const Graph *g);
/* False with "no CUDA device found (why)" when no CUDA device (or emulation) can run code. */
bool api_check_cuda_device(SlimcContext *ctx, const SlimcOptions *o);
/* Marks every node of g for dev (before the passes, which keep a node's device). */
void api_place_nodes(Graph *g, Device dev);
const char *api_device_name(Device dev); /* "cpu", "cuda" */
/* Emits m (optimized, on IR_DEVICE_CUDA) with the CUDA backend and compiles it for the
 * device (runtime/cuda.h); *hold keeps what the exec points into (api_cuda_hold_free it
 * after the exec). NULL after errors. */
struct RtCudaExec *api_cuda_exec_new(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                     ApiCudaHold **hold);
void api_cuda_hold_free(ApiCudaHold *h);
/* The CUDA backend's file for m (optimized for IR_DEVICE_CUDA) with o's precision, entry
 * points named prefix_* (NULL: slimc_model): malloc'd, *len bytes; NULL after errors. jit: for
 * rt_cuda_exec_new (a mixed model's CPU kernels then come from libslimc_kernels). */
char *api_emit_cuda(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, const char *prefix,
                    bool jit, size_t *len);
/* api/build_cuda.c: slimc_build_executable_for and slimc_build_library for a model
 * optimized for CUDA (checked names, outputs and device: the callers'). */
SlimcStatus api_build_cuda_executable(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                      const char *triple, const char *out_path);
SlimcStatus api_build_cuda_library(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o,
                                   const SlimcLibOptions *lo, const char *name, const char *dir);
/* api/inspect_cuda.c: slimc inspect --device cuda (the kernels), and --memory's lines
 * per device for a model optimized for CUDA. */
SlimcStatus api_inspect_kernels(SlimcContext *ctx, SlimcModel *m, FILE *out);
void api_inspect_memory_cuda(const SlimcModel *m, double weights, double arena, double io,
                             FILE *out);
/* False with "model was optimized for the cpu: load it again..." unless m->device is dev. */
bool api_check_optimized_for(SlimcContext *ctx, const SlimcModel *m, Device dev);

/* ---- api/profile.c: the device profile (passes/cost_model.h) ---- */
struct CostProfile;
/* The profile --device auto places with: o->device_profile if set (false, with the error
 * naming FILE:line:col, when it is unreadable or malformed), else device-profile.json in
 * the cache directory (`slimc profile-device` stores it; a malformed one is a warning
 * naming it, then the default), else the built-in default (*from_default true: the caller
 * says so in a note). */
/* Reads and parses the device profile at path (cost_profile_parse; errors name the file):
 * the API reads files, the passes and the cost model do not. */
bool api_cost_profile_load(const char *path, struct CostProfile *out, Diag *d);
bool api_device_profile(SlimcContext *ctx, const SlimcOptions *o, struct CostProfile *out,
                        bool *from_default);
/* api_device_profile into the model's own profile (m->profile, made on first use), which the
 * passes then read: m->g->place.profile. */
bool api_model_profile(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, bool *from_default);

#endif
