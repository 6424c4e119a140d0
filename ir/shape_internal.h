/* What the shape functions of ir/shape.c and ir/shape_quant.c share (ir/shape_index.c has
 * its own). Not part of the IR's interface. */
#ifndef SLIMC_IR_SHAPE_INTERNAL_H
#define SLIMC_IR_SHAPE_INTERNAL_H

#include "ir/graph.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHAPE_FN(name) bool ir_shape_##name(Graph *g, Node *n, Diag *d)

/* Input i's type, NULL for an absent optional input. */
const Type *ir_shp_in_type(Graph *g, const Node *n, int i);
/* Sets output i's dtype and shape. */
void ir_shp_set_out(Graph *g, const Node *n, int i, DType dt, const Shape *s);
/* "'x' (f32[N, 1, 28, 28], defined at lenet.slim:1:13)" into buf. */
const char *ir_shp_describe(Graph *g, ValueId v, char *buf, size_t size);
/* Each reports the user's error (naming the node and operand) and returns false unless
 * input i is a float / has that rank / has a static dim there. */
bool ir_shp_need_float(Graph *g, Node *n, int i, Diag *d);
bool ir_shp_need_rank(Graph *g, Node *n, int i, int rank, const char *what, Diag *d);
bool ir_shp_need_static(Graph *g, Node *n, int i, int dim, const char *what, Diag *d);
/* The static size of dim of input i. */
int64_t ir_shp_dim_of(Graph *g, const Node *n, int i, int dim);
/* Output size of a window op along one spatial dim, as PyTorch computes it; 0 when the
 * window does not fit or a size overflows. */
int64_t ir_shp_window_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t dil, bool ceil_mode);

#endif
