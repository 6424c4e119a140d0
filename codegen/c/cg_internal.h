/* Private to the C emitter: the state shared by emit.c and the per-op-family files.
 *
 * Every node becomes one body function `static void node_NAME(void *p, int64_t i0,
 * int64_t i1)` that computes the items [i0, i1) of the node's parallel split (rows,
 * planes, tiles...). p points to a `slimc_args` (declared in the generated prelude): the
 * node's input pointers in[], its output out, its epilogue operands ep[], the symbol
 * values syms and an error flag err. Inside a body the output is `out`, symbols are
 * locals `sym_NAME`, and a node with an epilogue has `epi_node_NAME(a, out, f0, len)`
 * applying the epilogue to out[f0, f0 + len). */
#ifndef SLIMC_CODEGEN_C_CG_INTERNAL_H
#define SLIMC_CODEGEN_C_CG_INTERNAL_H

#include "codegen/c/cg.h"
#include "ir/arena.h"

typedef struct CgCtx {
    const Graph *g;
    FILE *out;
    Diag *d;
    Arena *arena; /* strings made while emitting */
    const char *prefix;
    const char **fn_names;  /* per node: its body function */
    const char **val_names; /* per value: its C identifier in P_run */
    const char **sym_names; /* per symbol: its C identifier ("sym_N") */
    bool ok;
} CgCtx;

/* What a kernel emitter tells the driver about the body it wrote. */
typedef struct CgKernel {
    const char *items; /* C expression: number of parallel items of the body */
    const char *work;  /* C expression: rough multiply-adds of the whole node */
    bool ep_done;      /* the body applied the epilogue itself */
} CgKernel;

/* Output: the one printf-style helper every emitter goes through. */
void cg_printf(CgCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text of slimc's own (a helper's source): written as it is, checked for plain ASCII. */
void cg_puts(CgCtx *c, const char *text, size_t n);
/* Text from the model (a name, a path, an attribute string) made fit for a generated
 * comment: ir_esc_c, cut at IR_ESC_NAME_MAX. Every such string goes through this;
 * cg_printf refuses text that opens or closes a comment in an argument. */
const char *cg_text(CgCtx *c, const char *s);
/* A type as ir_type_str writes it (with its symbols' names), escaped the same way. */
const char *cg_type_text(CgCtx *c, const Type *t);
/* A user-facing error about node n (unsupported op/dtype/attribute); marks c failed. */
void cg_error(CgCtx *c, const Node *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *cg_strf(CgCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ir_shape_numel of s for node id (IR_NONE: none); when the count is not a product of
 * symbols, reports it as cg_error does and returns false (*out is then 0). */
bool cg_numel(CgCtx *c, NodeId id, const Shape *s, Dim *out);

/* A float literal of v rounded to f32 ("0.5f", "6.0f", "-INFINITY", "NAN"). */
const char *cg_float(CgCtx *c, double v);
/* C expression of a dimension ("28", "sym_N", "(800 * sym_N)"). */
const char *cg_dim(CgCtx *c, Dim d);
/* C expression of the product of dims [from, to) of s ("1" when empty). */
const char *cg_prod(CgCtx *c, const Shape *s, int from, int to);
static inline const Shape *cg_shape(const CgCtx *c, ValueId v)
{
    return &c->g->values[v].type.shape;
}

/* Opens a body function: its signature, `a`, the symbol locals the node needs, and the
 * typed restrict pointers `in_names[i]` for inputs (absent optional inputs are NULL) and
 * `out` for the output. in_names may be shorter than n_inputs (NULL entries skipped). */
void cg_body_begin(CgCtx *c, NodeId id, const char *const *in_names, int n_names);
void cg_body_end(CgCtx *c);
/* Prints, at the given indentation, the call applying n's epilogue to out[f0, f0 + len);
 * nothing when n has none. */
void cg_ep_call(CgCtx *c, NodeId id, int indent, const char *f0, const char *len);

/* Emits a loop over the flat output positions [f0, f0 + len) of a tensor of shape out,
 * reading n_ops operands broadcast (numpy rules) to it. For each element, stmt is called
 * to print the statement: `o` is the flat output index expression, `x[k]` the value
 * expression of operand k. Operand k's pointer is the C name ptrs[k]. */
typedef void (*CgStmtFn)(CgCtx *c, void *arg, const char *o, const char *const *x);
void cg_bcast_loop(CgCtx *c, int indent, const Shape *out, int n_ops, const Shape *const *ops,
                   const char *const *ptrs, const char *f0, const char *len, CgStmtFn stmt,
                   void *arg);

/* Per-op-family emitters: each writes the body of node id and fills k. */
void cg_emit_linear(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_matmul(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_conv2d(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_elementwise(CgCtx *c, NodeId id, CgKernel *k);
/* elementwise_dtypes.c: elementwise ops and reductions in dtypes other than f32 */
void cg_emit_elementwise_typed(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_pool(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_softmax(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_batch_norm(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_layer_norm(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_embedding(CgCtx *c, NodeId id, CgKernel *k);
/* data_move.c */
void cg_emit_compare(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_where(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_cast(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_gather_copy(CgCtx *c, NodeId id, CgKernel *k); /* permute, expand */
void cg_emit_slice(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_pad(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_concat(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_index_select(CgCtx *c, NodeId id, CgKernel *k);
/* reduce.c */
void cg_emit_reduce(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_adaptive_pool(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_group_norm(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_resize(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_conv_transpose2d(CgCtx *c, NodeId id, CgKernel *k);
/* index_ops.c: argmax, argmin, gather/scatter_elements, cumsum, reduce_prod, mod */
bool cg_is_index_op(OpKind op);
bool cg_index_supported(CgCtx *c, const Node *n);
void cg_emit_index_op(CgCtx *c, NodeId id, CgKernel *k);
/* Writes the epilogue function epi_node_NAME of a node that has one. */
void cg_emit_epilogue_fn(CgCtx *c, NodeId id);

/* The C expression of a unary op applied to x, or of x OP y. */
/* tmpl (a scalar expression of ops.def, spelled as C text) with x, y, p0, p1 replaced by
 * args[0..3] (parenthesized unless a name or an indexed name). */
const char *cg_scalar_expand(CgCtx *c, const char *tmpl, const char *const args[4]);
const char *cg_unary_expr(CgCtx *c, OpKind op, const char *x);
const char *cg_binary_expr(CgCtx *c, OpKind op, const char *x, const char *y);

#endif
