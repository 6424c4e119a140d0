/* An exact s-t minimum cut on real capacities (push-relabel max flow), and the placement problem
 * the place pass solves with it (passes/place.c, docs/placement.md).
 *
 * Capacities are doubles >= 0 and may be INFINITY (an edge no cut may cross). The solver
 * counts a residual capacity below eps = 1e-12 x (the sum of the finite capacities) as
 * none, so that rounding cannot make it loop; the cut it returns is recomputed from the
 * capacities as given, and is INFINITY when every s-t cut crosses an infinite edge. */
#ifndef SLIMC_PASSES_MINCUT_H
#define SLIMC_PASSES_MINCUT_H

#include <stdbool.h>

typedef struct McGraph McGraph;

/* A graph of n nodes (0..n-1) and no edges; mc_free releases it. */
McGraph *mc_new(int n);
void mc_free(McGraph *g);
/* A directed edge u -> v of capacity cap (>= 0, or INFINITY). */
void mc_edge(McGraph *g, int u, int v, double cap);
/* The minimum s-t cut: its capacity (INFINITY when none is finite) and, when source_side is
 * not NULL, source_side[i] for every node (true: on s's side). Of several minimum cuts, the
 * one with the largest source side (in placement: a tie stays on the CPU). May be called
 * again after more edges are added (it starts from no flow). */
double mc_solve(McGraph *g, int s, int t, bool *source_side);

/* ---- the placement problem on two devices ----
 * Nodes run on the CPU (the source's side) or the GPU (the sink's side), at cost[i][0] or
 * cost[i][1] (INFINITY: it cannot run there). A value is made by a node (or is a graph
 * input, made on the CPU) and read by some nodes (and by the caller, on the CPU, when it is
 * a graph output). It is copied once to each device other than its producer's where a
 * reader is, at cost transfer. The total to minimise:
 *   sum_i cost[i][d(i)] + sum_v transfer_v x #{devices D != d(producer v) reading v} */
typedef struct McPlaceValue {
    int producer;       /* node index; -1: a graph input (on the CPU) */
    const int *readers; /* node indices (a node may appear more than once) */
    int n_readers;
    bool read_on_cpu; /* a graph output: the caller reads it on the CPU */
    double transfer;  /* ms of one copy, either way (>= 0) */
} McPlaceValue;

typedef struct McPlace {
    int n_nodes;
    const double (*cost)[2]; /* [n_nodes]: CPU ms, GPU ms */
    int n_values;
    const McPlaceValue *values;
} McPlace;

/* The total of the assignment on_gpu[0..n_nodes) (INFINITY if a node cannot run where it
 * is). */
double mc_place_cost(const McPlace *p, const bool *on_gpu);
/* The copies of value k alone under on_gpu (0, or its transfer). */
double mc_place_value_cost(const McPlace *p, int k, const bool *on_gpu);
/* The assignment of least total into on_gpu[0..n_nodes), by one minimum cut: source = CPU,
 * sink = GPU; node i: i->t cap cost[i][0], s->i cap cost[i][1] (less the smaller of the
 * two, which it pays either way); value v made by p, read by
 * r_j: an aux node u with p->u cap transfer, u->r_j cap INF (the copy to the GPU, paid once
 * when p is on the CPU and some reader on the GPU) and an aux node w with r_j->w cap INF,
 * w->p cap transfer (the copy back). A graph input's producer and an output's reader are s.
 * Returns the total (INFINITY when no assignment is finite). */
double mc_place_solve(const McPlace *p, bool *on_gpu);

#endif
