/* What a code generator ("backend") supplies, and the driver that runs one.
 *
 * A backend turns a verified, memory-planned graph into one source file for its target:
 * C for the CPU today (codegen/c/, cg_backend_c), CUDA next. The passes and api/ do not
 * know which: they call cg_emit() with a backend, and the driver (codegen/driver.c) walks
 * the graph in the one order every backend shares:
 *
 *   begin          the module's prologue: the runtime it needs, shared declarations, and
 *                  the names of values, nodes and symbols in the target's syntax
 *   node           for each live node, in graph order: its code (one node with its fused
 *                  epilogue; a backend that runs whole fused groups would take the group's
 *                  first node here and emit nothing for the others); per op, a backend
 *                  finds its emitter in a table indexed by OpKind (codegen/c/op_table.c)
 *   arena          the function that tells the caller the scratch bytes a run needs
 *   entry_begin    the entry function's opening: its signature, checks of symbol values
 *   buffers        each value's buffer inside the entry: an input, a weight (consts[v],
 *                  passed in by the caller: JIT, AOT executable and AOT library each bind
 *                  them), an output, or an offset in the arena from the memory plan
 *   call           for each live node, in graph order: the entry's launch of its code
 *   entry_end      outputs no node wrote, the return
 *   end            frees the backend's state; reports whether everything went well
 *
 * Each stage returns false once an error was reported (to the Diag given to begin). The
 * driver stops the per-node loops at the first error, skips the entry when a node failed,
 * runs the entry's other stages to the end once it started (each reports its own errors),
 * and always calls end. A backend's state is a CgCtx (codegen/c/text.h): the
 * text helpers there serve any backend that writes C-family source (C, CUDA C).
 *
 * Weights are not part of the module: the entry takes a pointer per constant value, and
 * whoever runs the module (runtime/jit.c, the AOT writer) lays them out and binds them. */
#ifndef SLIMC_CODEGEN_BACKEND_H
#define SLIMC_CODEGEN_BACKEND_H

#include "ir/graph.h"

#include <stdio.h>

typedef struct CgCtx CgCtx; /* a backend's emission state: codegen/c/text.h */

/* C backend: where its file can be cut into translation units that compile apart
 * (CgOptions.split, the JIT's parallel compile: runtime/jit.h, rt_compile_parts). Offsets
 * into the output: [0, head_end) is what every part starts with (the runtime header and
 * the prelude); the node sections follow, section i ending at cuts[i]; [tail, end) holds
 * a declaration of every body function and the entry points, and goes last. Body
 * functions then have hidden external linkage (SLIMC_CG_FN) instead of static. n_cuts is
 * 0 when the file cannot be split (--profile: its timers are defined in the head). */
typedef struct CgSplit {
    long head_end, tail;
    long *cuts; /* malloc'd (the caller frees it): the end of each node's section, in order */
    int n_cuts;
} CgSplit;

typedef struct CgOptions {
    const char *prefix;      /* entry-point prefix; NULL: "slimc_model" */
    const char *source_name; /* named in the header comment */
    bool shared_kernels;     /* JIT: declare the runtime's kernels, do not define them (they
                              * come from libslimc_kernels: RtOptions.shared_kernels) */
    bool profile;            /* C: time each node (or fused group) into P_prof_ms[node id]
                              * (summed over runs), P_prof_start/P_prof_last (its start and
                              * length in the last run, ms from the run's start): --profile */
    DType precision;         /* CUDA: what f32 GEMMs and convolutions multiply in: IR_F32
                              * (0, the default), IR_F16 or IR_BF16 on tensor cores with f32
                              * accumulation (tensors stay f32 in memory) */
    CgSplit *split;          /* C: where to cut the file into parts (see CgSplit); NULL:
                              * one file with static body functions, as `slimc emit` writes */
} CgOptions;

typedef struct CgBackend {
    const char *name;     /* as `slimc emit --target` and the docs call it: "c" */
    const char *label;    /* how diagnostics name it: "C backend" */
    const char *features; /* what the emitted code targets, for people (docs, --help) */
    Device device;        /* the nodes it runs (Node.device) */
    /* Whether it implements op (a test checks this against its emitter table). */
    bool (*claims)(OpKind op);
    /* Why it cannot run node n of g (an op without a kernel, a dtype its kernel lacks), or
     * NULL: what the place pass asks (passes/place.h, PlaceCheckFn) before it puts a node
     * on the backend's device. */
    const char *(*unsupported)(const Graph *g, const Node *n);

    /* The stages, in the order the driver calls them (see the top of this file). */
    CgCtx *(*begin)(const Graph *g, const CgOptions *o, FILE *out, Diag *d);
    bool (*node)(CgCtx *c, NodeId id);
    bool (*arena)(CgCtx *c);
    bool (*entry_begin)(CgCtx *c);
    bool (*buffers)(CgCtx *c);
    bool (*call)(CgCtx *c, NodeId id);
    bool (*entry_end)(CgCtx *c);
    bool (*end)(CgCtx *c);
} CgBackend;

/* The C backend (codegen/c/): one self-contained C11 file, ABI in codegen/c/cg.h. */
extern const CgBackend cg_backend_c;

/* The CUDA backend (codegen/cuda/): one file per model with a device half (kernels for
 * NVRTC, or for the CPU emulation) and a host half (C entry points that launch them), as
 * runtime/slimc_cuda_abi.h lays out. It runs nodes placed on IR_DEVICE_CUDA. */
extern const CgBackend cg_backend_cuda;

/* Every backend built in, NULL-terminated; the first is the default. */
extern const CgBackend *const cg_backends[];
/* The backend called name, or NULL. */
const CgBackend *cg_backend_find(const char *name);

/* Writes g (verified, memory-planned) as b's source to out. Errors (an op or dtype the
 * backend does not support, no memory plan) go to d; returns false after any. */
bool cg_emit(const CgBackend *b, const Graph *g, const CgOptions *o, FILE *out, Diag *d);

#endif
