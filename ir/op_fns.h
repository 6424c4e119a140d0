/* The functions ops.def's rows name: shape inference (ir/shape*.c), FLOPs and bytes moved
 * (ir/cost.c). For ir/graph.c's op table and the files that define them. */
#ifndef SLIMC_IR_OP_FNS_H
#define SLIMC_IR_OP_FNS_H

#include "ir/graph.h"

#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    bool ir_shape_##shape(Graph *g, Node *n, Diag *d);                                             \
    double ir_flops_##cost(const Graph *g, const Node *n, const int64_t *syms);                    \
    double ir_bytes_##bytes(const Graph *g, const Node *n, const int64_t *syms);
#include "ir/ops.def"
#undef OP

#endif
