/* Pruning: the prune pass (passes/prune.c) and the mask math it shares with `inspect
 * --sparsity` and the tests (passes/prune_masks.c). docs/pruning.md says how to use it.
 *
 * The masks are torch.nn.utils.prune's: l1_unstructured (L1Unstructured: the k smallest
 * |w|), global L1 (one selection over the chosen layers' weights concatenated in order),
 * ln_structured (LnStructured: the k slices along dim with the smallest Ln norm), with k
 * by PyTorch's rule (pass_prune_nparams). Where PyTorch's topk leaves ties to its sort, slimc
 * prunes the lower flat index first (docs/pruning.md, "Ties").
 *
 * Weights are seen in PyTorch's layout ("logical"): a conv2d's [O, C/groups, kh, kw], a
 * linear's [N, K] even when the layout pass stored it transposed ([K, N], w_transposed=1).
 * A mask is one byte per logical element: 1 keeps it, 0 prunes it. */
#ifndef SLIMC_PASSES_PRUNE_H
#define SLIMC_PASSES_PRUNE_H

#include "ir/graph.h"
#include "passes/pass.h"

/* ---- mask math (passes/prune_masks.c): plain arrays, no graph ---- */

/* An `amount` as written: a whole number is a count of weights (or channels), a decimal
 * or a percentage a fraction (PyTorch's int vs float). */
typedef struct PruneAmount {
    bool is_count;
    int64_t count;   /* is_count */
    double fraction; /* !is_count, in [0, 1] */
} PruneAmount;

/* How many of size to prune: the count, or round(fraction * size) with Python's round
 * (half to even), as torch.nn.utils.prune._compute_nparams_toprune; -1 when a count is
 * above size (PyTorch's _validate_pruning_amount). */
int64_t pass_prune_nparams(const PruneAmount *a, int64_t size);

/* mask[0..n) = 1 except the k elements of w with the smallest |w| (L1Unstructured); among
 * equal magnitudes the lower index goes first. NaN counts as the largest. k <= n. */
void pass_prune_mask_l1(const float *w, int64_t n, int64_t k, uint8_t *mask);
/* mask[0..n) = 1 except k elements drawn uniformly without replacement by a generator
 * seeded with seed (slimc's own: the count is PyTorch's, the positions are not). */
void pass_prune_mask_random(int64_t n, int64_t k, uint64_t seed, uint8_t *mask);
/* norms[0..shape[dim]) = the p-norm (p > 0, INFINITY for the max) of each slice of w along
 * dim, computed in double (torch.norm over every other dim). */
void pass_prune_slice_norms(const float *w, int rank, const int64_t *shape, int dim, double p,
                            double *norms);
/* mask = 1 except the k slices along dim with the smallest p-norm (LnStructured); among
 * equal norms the lower index goes first. */
void pass_prune_mask_ln(const float *w, int rank, const int64_t *shape, int dim, double p,
                        int64_t k, uint8_t *mask);
/* N:M along dim 1 (a conv's input channels for each (o, kh, kw), a linear's input features):
 * in every group of m consecutive elements keep the n largest |w|, prune the rest (among
 * equal magnitudes the lower index is pruned first). shape[1] % m == 0, 0 < n < m. */
void pass_prune_mask_nm(const float *w, int rank, const int64_t *shape, int n, int m,
                        uint8_t *mask);

/* The sparsity pattern of w (logical layout) for `inspect --sparsity`, into buf:
 * "dense", "channels (k of O zero)", "n:m 2:4", or "unstructured". */
const char *pass_prune_pattern(const float *w, int rank, const int64_t *shape, char *buf,
                               size_t size);

/* ---- layers (passes/prune.c) ---- */

/* A prunable layer: a live conv2d or linear whose weight (input 1) is an f32 constant. */
typedef struct PruneLayer {
    NodeId node;
    ValueId weight;
    int rank;
    int64_t shape[IR_MAX_RANK]; /* logical (PyTorch) shape */
    int64_t numel;
    bool transposed; /* a linear stored as [K, N] (layout's w_transposed=1) */
} PruneLayer;

/* Whether node n of g is a prunable layer; fills *l. */
bool pass_prune_layer_of(const Graph *g, NodeId n, PruneLayer *l);
/* The layer's weights in the logical layout (malloc'd, l->numel floats; NULL if out of
 * memory). */
float *pass_prune_logical(const Graph *g, const PruneLayer *l);
/* Sets Value.sparsity (the measured fraction of zeros) of every prunable layer's weight,
 * so that a model pruned elsewhere (zeros stored densely) is known as such. */
void pass_prune_measure(Graph *g);
/* The elements of w[0, n) equal to 0 (-0 too; NaN is not). */
int64_t pass_prune_count_zeros(const float *w, int64_t n);

/* ---- channel groups and their removal (passes/prune_groups.c) ---- */

/* How a constant follows the channels of an activation: a source makes them (a conv2d's or
 * linear's weight along its output dim), a param holds one entry per channel (a bias,
 * batch norm's four tensors, a depthwise weight, an elementwise op's constant), a consumer
 * reads them (a conv2d's weight along dim 1, a linear's along its input features). */
typedef enum PruneRole {
    PRUNE_SOURCE,
    PRUNE_PARAM,
    PRUNE_CONSUMER,
    PRUNE_BLOCKED_SOURCE, /* a conv2d or linear that blocks its channels: for warnings only */
} PruneRole;

typedef struct PruneMember {
    NodeId node;   /* the node that reads the constant */
    ValueId value; /* the constant (f32, read by this node only) */
    int axis;      /* its axis, as stored, that runs along the channels */
    ValueId by;    /* the activation whose channels index that axis */
    PruneRole role;
} PruneMember;

/* The channel slots of the activations (a value [N, C, H, W] or [N, F] has C or F, along
 * axis 1) joined into classes that must leave together, and the constants that follow
 * them. Built in the graph's arena by pass_prune_groups; its ids are the graph's at that
 * time. */
typedef struct PruneGroups {
    int n_values;
    int64_t *base;  /* [n_values] v's first slot, -1 when v has none */
    int64_t *count; /* [n_values] v's slots */
    int *axis;      /* [n_values] the axis they run along (1) */
    int64_t n_slots;
    int64_t *parent;    /* [n_slots] union-find */
    NodeId *blocked_by; /* [n_slots] at a class's root: IR_NONE, the node that blocks the
                         * class, or -2 for the graph's inputs and outputs */
    PruneMember *members;
    int n_members, cap_members;
} PruneGroups;

/* The channel analysis of g (docs/pruning.md, "Removing channels"). */
PruneGroups *pass_prune_groups(Graph *g);
/* The class (its root slot) of channel c of value v; v must have slots. */
int64_t pass_prune_group_of(PruneGroups *G, ValueId v, int64_t c);
/* IR_NONE when channel c of v may be removed as far as the ops go; else the node that
 * blocks its class (-2: it reaches a graph input or output). */
NodeId pass_prune_group_blocked(PruneGroups *G, ValueId v, int64_t c);

typedef struct PruneRemoved {
    int64_t channels; /* classes removed */
} PruneRemoved;

/* Removes every class of channels that is not blocked, has a source among the nodes
 * chosen[] marks, and whose every source's weight slice is all zero: the member constants
 * get new, smaller payloads in the arena (names kept), a depthwise conv's groups and a
 * reshape's shape follow, and shapes are inferred again. A class blocked with zero
 * channels draws a warning naming the op and its place. Leaving an activation with no
 * channel is an error and changes nothing. out (may be NULL) gets what was removed. */
bool pass_prune_remove_channels(Graph *g, const bool *chosen, PruneRemoved *out, Diag *d);

bool pass_prune(Graph *g, const PassArgs *args, Diag *d);

#endif
