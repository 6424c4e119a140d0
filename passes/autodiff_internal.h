/* Private to passes/autodiff.c and passes/autodiff_rules.c: the state of one reverse sweep
 * and the gradient rules, one per differentiable op (ops.def's IR_F_DIFF column; the unit
 * test tests/unit/test_autodiff.c checks that the column and the rules agree). */
#ifndef SLIMC_PASSES_AUTODIFF_INTERNAL_H
#define SLIMC_PASSES_AUTODIFF_INTERNAL_H

#include "ir/graph.h"

typedef struct AdCtx {
    Graph *g;        /* the step graph being built (forward nodes first) */
    int n_fwd;       /* values [0, n_fwd) are the forward's: the ones that carry gradients */
    int n_fwd_nodes; /* nodes [0, n_fwd_nodes) are the forward's */
    ValueId *grad;   /* [n_fwd] the gradient accumulated so far, IR_NONE for none */
    bool *needs;     /* [n_fwd] whether the value depends on a parameter (needs a gradient) */
    NodeId node;     /* the forward node whose rule runs: names and places the new nodes */
    int made;        /* nodes made for it so far (their names' suffix) */
    bool ok;         /* false once a rule reported an error */
    Diag *d;
} AdCtx;

/* A rule: appends to c->g the nodes computing the gradients of node n's inputs that need
 * one (pass_ad_needs), from dy, the gradient of its output, and adds each with pass_ad_accum. */
typedef void (*AdRule)(AdCtx *c, const Node *n, ValueId dy);

/* The rule of op, NULL for an op without a gradient. A switch over every OpKind, without
 * default: a new op is a build error until someone decides. */
AdRule pass_ad_rule_for(OpKind op);
/* Whether input i of op is a learnable parameter when it is a float constant (weights and
 * biases of conv2d/linear, norms' weight and bias, embedding tables). */
bool pass_ad_param_slot(OpKind op, int i);

/* ---- helpers the rules build with (autodiff.c) ---- */
bool pass_ad_needs(const AdCtx *c, ValueId v);
/* Adds gradient gv to value v's (a sum when v already has one). */
void pass_ad_accum(AdCtx *c, ValueId v, ValueId gv);
/* A node of op over in (named after the forward node, at its place), not yet typed:
 * set attributes, then pass_ad_done. */
NodeId pass_ad_node(AdCtx *c, OpKind op, const ValueId *in, int n_in);
/* Infers the node's type and returns its output (IR_NONE after an error, reported). */
ValueId pass_ad_done(AdCtx *c, NodeId n);
/* pass_ad_node + pass_ad_done for ops without attributes. */
ValueId pass_ad_op(AdCtx *c, OpKind op, const ValueId *in, int n_in);
ValueId pass_ad_op1(AdCtx *c, OpKind op, ValueId a);
ValueId pass_ad_op2(AdCtx *c, OpKind op, ValueId a, ValueId b);
/* An f32 constant [1] of value v. */
ValueId pass_ad_scalar(AdCtx *c, float v);
/* gv (broadcast from target's shape under numpy's rules) summed back to target's shape. */
ValueId pass_ad_sum_to(AdCtx *c, ValueId gv, ValueId target);
/* gv reshaped (a view) to target's shape; IR_NONE with an error when the shape has more
 * than one dim that is not a size or a plain symbol. */
ValueId pass_ad_reshape_to(AdCtx *c, ValueId gv, ValueId target);
/* The sizes of shape s as a reshape's "shape" attribute: static dims as they are, a dim of
 * one symbol as -(1000 + the symbol), one compound symbolic dim as -1; false when there are
 * two of those (a reshape infers one). */
bool pass_ad_reshape_sizes(const Shape *s, int64_t *out);
/* The error "OP 'name': no gradient for WHAT" at the forward node; sets c->ok false. */
void pass_ad_unsupported(AdCtx *c, const char *what);

#endif
