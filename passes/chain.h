/* chain.h - matching the chains of small ops that exporters write for one layer (GELU,
 * SiLU, HardSwish, LayerNorm, ...), for the passes that put the layer back together
 * (passes/gelu.c, act.c, lnorm.c).
 *
 * A pass walks the graph for the chain's last node, then matches its operands backwards
 * with pass_chain_inner, which accepts a producer only when the value it makes is used by the
 * chain alone (one use, unless the pass raised the budget with pass_chain_inner_n) and is not a
 * graph output, and records the producer as a member. pass_chain_replace then makes the last
 * node the fused op (it already sits after every input and writes the result) and kills the
 * members. */
#ifndef SLIMC_PASSES_CHAIN_H
#define SLIMC_PASSES_CHAIN_H

#include "passes/pass.h"

#define CHAIN_MAX_MEMBERS 16

typedef struct Chain {
    Graph *g;
    int *uses;                         /* ir_uses counts, kept current by pass_chain_replace */
    NodeId members[CHAIN_MAX_MEMBERS]; /* the chain's nodes but its last, matched so far */
    int n_members;
} Chain;

/* A chain over g with fresh use counts (free with pass_chain_free). */
Chain pass_chain_start(Graph *g);
void pass_chain_free(Chain *c);

/* Whether v is a one-element f32 constant; its value in *out. */
bool pass_chain_const(const Graph *g, ValueId v, double *out);
/* Whether v is a one-element f32 constant equal to k (to 1e-6 relative). */
bool pass_chain_is_const(const Graph *g, ValueId v, double k);
/* For a binary node n with one operand the constant k (either side for mul and add, the
 * right one for the others): the other operand; else IR_NONE. */
ValueId pass_chain_by_const(const Graph *g, NodeId n, double k);

/* The node producing v when it is a live f32 op of kind op without epilogue, one output,
 * and v used exactly `uses` times and not a graph output; recorded as a member. IR_NONE
 * otherwise (nothing recorded). pass_chain_inner is pass_chain_inner_n with one use. */
NodeId pass_chain_inner_n(Chain *c, ValueId v, OpKind op, int uses);
NodeId pass_chain_inner(Chain *c, ValueId v, OpKind op);

/* Whether every member runs on end's device. */
bool pass_chain_same_device(const Chain *c, NodeId end);
/* Makes node end op(inputs) (its attributes dropped: set new ones after) and kills the
 * members; use counts follow. */
void pass_chain_replace(Chain *c, NodeId end, OpKind op, const ValueId *inputs, int n_inputs);

/* The pass around a matcher: checks that the pass got no arguments, then calls at(c, i) on
 * every live node i with one output, in node order (from the last node back when
 * last_first: a chain's end is then seen before a shorter chain inside it), with no member
 * recorded; at returns whether it rewrote the graph. Compacts the graph when one did. */
typedef bool (*ChainAt)(Chain *c, NodeId i);
bool pass_chain_run(Graph *g, const PassArgs *args, Diag *d, bool last_first, ChainAt at);

#endif
