/* Private to the CUDA backend (codegen/cuda/): the emission state and the helpers the
 * per-op-family emitters share. The backend writes one file per model, laid out as
 * runtime/slimc_cuda_abi.h describes: a device half (the kernels, CUDA C that also compiles
 * as C for the CPU emulation, runtime/cuda_emu.h) and a host half (the entry points, C that
 * launches the kernels through a slimc_cuda_rt).
 *
 * An emitter (one per op, found in the op table, codegen/cuda/op_table.c) writes its node's
 * kernels and records their launches:
 *
 *     int k = cu_kernel_begin(c, id, NULL, 256);   signature, symbol locals
 *     cu_in(c, id, 0, "x");                         `const float *__restrict__ x = ...a.in[0]`
 *     cu_out(c, id, "out");                         `float *__restrict__ out = ...a.out`
 *     ... the body; before each output store: cu_ep_apply(c, id, 4, "v", "f") ...
 *     cu_kernel_end(c);
 *     cu_launch(c, id, k, (const char *[3]){"grid_x", "1", "1"}, (int[3]){256, 1, 1},
 *               "one thread per output element");
 *
 * Grid sizes are C expressions over the symbols (sym_N, int64), evaluated by the host half
 * for each run; a launch with an empty grid is skipped. Block sizes are constants, which
 * the kernel may rely on (its shared arrays, its __launch_bounds__). The device-side
 * vocabulary a kernel may use is the portability layer of runtime/cuda_prelude.cuh (NVRTC)
 * and runtime/cuda_emu.h (the emulation): nothing else, so that both compile it. */
#ifndef SLIMC_CODEGEN_CUDA_CU_H
#define SLIMC_CODEGEN_CUDA_CU_H

#include "codegen/c/text.h"

#define CU_MAX_LAUNCHES_PER_NODE 8

typedef struct CuLaunch {
    NodeId node;
    int kernel;          /* index into the kernel table */
    const char *grid[3]; /* C expressions (int64) */
    int block[3];
    const char *what; /* for the comment: what a block and a thread do */
} CuLaunch;

typedef struct CuCtx {
    CgCtx cg;                  /* first: the text helpers take &c->cg, and the stages get it back */
    const char **kernel_names; /* growing table of every kernel's name */
    int *kernel_group;         /* per kernel: its node's ordinal (the NVRTC part is
                                * group % parts: a node's kernels stay together) */
    int n_kernels, cap_kernels;
    NodeId group_node; /* the node of the last kernel begun (IR_NONE: none yet) */
    int n_groups;
    CuLaunch *launches;
    int n_launches, cap_launches;
    NodeId cur_node; /* the node whose kernel is open (IR_NONE: none) */
    DType precision; /* CgOptions.precision: IR_F32, IR_F16 or IR_BF16 */
    /* Fused groups (attention.c): group_head[i] is the node whose kernel computes node i
     * (IR_NONE: node i is on its own). The head's emitter writes the whole group's kernel;
     * the other members get no code and no launch. */
    NodeId *group_head;
    /* A mixed-device graph (ir_graph_mixed): the C backend's state for the nodes placed on
     * the CPU, whose code (with the C runtime) goes into the host half (host_nodes.c). */
    CgCtx *host;
    FILE *host_out;
    char *host_text;
    size_t host_len;
} CuCtx;

static inline CuCtx *cu_ctx(CgCtx *c)
{
    return (CuCtx *)c;
}

/* Opens kernel `fn_name[suffix]` of node id: its signature with __launch_bounds__(threads)
 * (the block's thread count), the symbol locals its node's shapes use, and `(void)a;`.
 * Returns the kernel's index for cu_launch. */
int cu_kernel_begin(CgCtx *c, NodeId id, const char *suffix, int threads);
void cu_kernel_end(CgCtx *c);
/* Declares input i of node id as `const T *__restrict__ name` (T its dtype's C type). */
void cu_in(CgCtx *c, NodeId id, int i, const char *name);
/* Declares the output as `T *__restrict__ name`. */
void cu_out(CgCtx *c, NodeId id, const char *name);
/* Records a launch of kernel k for node id (printed by the host half in order). */
void cu_launch(CgCtx *c, NodeId id, int k, const char *const grid[3], const int block[3],
               const char *what);
/* `(n + d - 1) / d` as a C expression over int64 (n an expression, d a constant). */
const char *cu_ceil_div(CgCtx *c, const char *n, int64_t d);

/* Prints, at the given indentation, statements that apply node id's fused epilogue to the
 * float variable v, the value of the output element at flat index f (an int64 C
 * expression). Nothing when the node has none. Declares what it needs inside a block. */
void cu_ep_apply(CgCtx *c, NodeId id, int indent, const char *v, const char *f);
/* The flat index into operand shape `op` (broadcast to `out`, numpy rules) of the output
 * element at flat index f: a C expression. */
const char *cu_bcast_index(CgCtx *c, const Shape *out, const Shape *op, const char *f);

/* The scalar expression of ops.def's E(...) column, spelled for CUDA (ir/scalar.h,
 * SC_SPELL_CUDA_F32), over x (and y): NULL when op has none. */
const char *cu_scalar_expr(CgCtx *c, OpKind op, const char *x, const char *y, const char *p0,
                           const char *p1);
bool cu_has_scalar_expr(OpKind op);

/* attention.c: finds the chains the backend runs as one kernel (matmul(q, k^T) [* scale]
 * -> softmax -> matmul(., v), each intermediate used once) and fills c->group_head; a head
 * of such a group is emitted by cu_emit_attention instead of its op's row. */
void cu_find_groups(CgCtx *c);

/* host_nodes.c: a mixed-device graph's CPU nodes and transfers, in the host half. Each does
 * nothing for a graph on the GPU alone (but cu_host_node and cu_host_call, which the stages
 * call only for a mixed graph's CPU nodes and transfers). */
bool cu_host_begin(CgCtx *c, const CgOptions *o); /* the C backend's state for them */
bool cu_host_node(CgCtx *c, NodeId id);           /* its body function */
void cu_host_paste(CgCtx *c);           /* the C runtime and the bodies, P_host_arena_bytes */
void cu_host_entry_locals(CgCtx *c);    /* P_run's hbase, host_consts, nthreads */
bool cu_host_call(CgCtx *c, NodeId id); /* P_run's statements for it */
bool cu_host_end(CgCtx *c);
void cu_emit_attention(CgCtx *c, NodeId head);

/* Per-op-family emitters (the op table maps each op kind to one). */
typedef void (*CuEmitFn)(CgCtx *c, NodeId id);
/* elementwise.c */
void cu_emit_elementwise(CgCtx *c, NodeId id);

#endif
