/* Reference semantics of every op: plain C loops, one node at a time, on concrete shapes
 * (symbols bound to syms). Used by constant folding and as the independent reference in
 * the numeric tests. Slow on purpose: clear, not fast. */
#ifndef SLIMC_IR_EVAL_H
#define SLIMC_IR_EVAL_H

#include "ir/graph.h"

/* Computes node n (and its epilogue) of g: inputs[i] is the data of n->inputs[i] (NULL
 * for an absent optional input) and inputs[n->n_inputs + j] the data of epilogue j's
 * operand (unused for unary epilogue ops), outputs[i] receives n->outputs[i] (caller-allocated,
 * sized from the output's type). Returns false with a diagnostic if the op or dtype has
 * no reference implementation. */
bool ir_eval_node(const Graph *g, const Node *n, const void *const *inputs, void *const *outputs,
                  const int64_t *syms, Diag *d);

/* Runs the whole graph with the reference semantics: inputs in graph input order,
 * outputs malloc'd by the callee in graph output order (free each with free()). */
bool ir_eval_graph(const Graph *g, const void *const *inputs, void **outputs, const int64_t *syms,
                   Diag *d);

#endif
