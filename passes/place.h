/* Heterogeneous placement: the place pass (passes/place.c) decides each node's device from
 * the cost model (passes/cost_model.h) by an exact s-t minimum cut (passes/mincut.c), then
 * place_insert_transfers (passes/place_transfers.c) puts a transfer node wherever a value
 * crosses devices, so that memplan gives each device its arena and the CUDA backend's host
 * half runs the CPU's nodes and the copies. docs/placement.md says how to use it.
 *
 * The pass's arguments (a compress block's or --passes' place step):
 *   place(NAME..., device=cpu|cuda)   pins the nodes NAME names (a node's name, or a prefix
 *                                     ending at a '.' or '/': layer3 pins layer3.0.conv1);
 *                                     pins always win
 *   place(auto[, gpu_memory_mb=N][, symbols=S])   decides every unpinned node now and from
 *                                     now on (the default pipeline's place step), with a
 *                                     GPU budget of N MiB for weights + arena, symbolic
 *                                     dims costed at S (default 1)
 *   place(greedy)                     every node that can run on the GPU there, the rest on
 *                                     the CPU, copies not costed (ONNX Runtime's split: the
 *                                     benchmark's baseline)
 *   place                             decides now if the graph is placed automatically
 *                                     (--device auto, or an earlier place(auto)); else
 *                                     nothing */
#ifndef SLIMC_PASSES_PLACE_H
#define SLIMC_PASSES_PLACE_H

#include "ir/graph.h"
#include "passes/pass.h"

/* Why a node is where it is (inspect --placement prints it). */
typedef enum PlaceWhy {
    PLACE_WHY_COST,      /* the minimum cut: cheaper there, transfers included */
    PLACE_WHY_PIN,       /* a user's place(..., device=D) */
    PLACE_WHY_NO_KERNEL, /* the other device has no kernel for it (PlaceCheckFn's reason) */
    PLACE_WHY_BUDGET,    /* moved off the GPU to fit gpu_memory_mb */
    PLACE_WHY_VIEW,      /* a view (reshape...) stays with the value it views */
    PLACE_WHY_FIXED,     /* --device cpu or --device cuda: every node there */
} PlaceWhy;

typedef struct PlaceNode {
    NodeId node;      /* its index when the pass solved (later passes renumber: see name) */
    const char *name; /* the node's name and op, which outlive the renumbering */
    OpKind op;
    double ms[2];  /* predicted time on the CPU and on the GPU (INFINITY: no kernel) */
    double in_ms;  /* transfers of its inputs from the other device, as placed */
    Device device; /* chosen */
    PlaceWhy why;
    const char *detail; /* the missing kernel's reason, the pin, ... (may be NULL) */
} PlaceNode;

/* What the last solve decided (Graph.place.report; arena-allocated from the graph). */
typedef struct PlaceReport {
    int n; /* live nodes when it solved, in graph order */
    PlaceNode *nodes;
    double total_ms;    /* predicted: nodes + transfers, as placed */
    double all_cpu_ms;  /* every node on the CPU */
    double all_gpu_ms;  /* every node that can on the GPU, inputs and outputs copied (INFINITY
                         * when some node has no CUDA kernel) */
    double transfer_ms; /* the transfers, as placed */
    int n_transfers;
    double gpu_bytes;    /* weights + estimated arena on the GPU, as placed */
    double budget_mb;    /* gpu_memory_mb, 0: none */
    const char *profile; /* CostProfile.source */
    uint64_t profile_hash;
} PlaceReport;

/* Whether node n of g can run on dev: NULL, or why not ("no CUDA kernel for 'topk'",
 * "its kernel computes in f32 only"). The API installs the backends' check (the CUDA
 * backend's dtype rules); without one, ops.def's backends column decides. */
typedef const char *(*PlaceCheckFn)(const Graph *g, const Node *n, Device dev);
void place_set_check(PlaceCheckFn fn);
const char *place_check(const Graph *g, const Node *n, Device dev);

bool pass_place(Graph *g, const PassArgs *args, Diag *d);

/* "cost", "pin", "no kernel", "memory budget", "view", "fixed". */
const char *place_why_name(PlaceWhy why);
/* A report of g as it is placed now, every node's costs from profile p (NULL: the built-in
 * one) with its symbols at g->place.sym_value: each node on Node.device, why PLACE_WHY_PIN
 * for a pinned node and PLACE_WHY_FIXED for the others. What inspect --placement prints
 * for a model the pass did not place. Arena-allocated from g; g->place.report is left
 * alone. */
PlaceReport *place_report_current(Graph *g, const struct CostProfile *p);

/* Inserts a transfer node (ir/ops.def) on every edge whose value is produced on one device
 * and read on the other: one per value and destination device, shared by the readers
 * there. Graph inputs live on the CPU (the caller's memory) and so do outputs (a GPU-made
 * output gets a transfer to the CPU that becomes the output). Constants read on both
 * devices are duplicated, so each constant is read on one device. Views are moved to the
 * device of the value they view. Does nothing to a graph on one device. */
bool place_insert_transfers(Graph *g, Diag *d);

#endif
