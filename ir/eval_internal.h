/* Private to the reference evaluator: what ir/eval.c and ir/eval_more.c (issue 3's ops:
 * activations with attributes, comparisons, cast, data movement, reductions, resize,
 * conv_transpose2d) share. Not a public interface. */
#ifndef SLIMC_IR_EVAL_INTERNAL_H
#define SLIMC_IR_EVAL_INTERNAL_H

#include "ir/eval.h"

/* A shape with its symbols bound. */
typedef struct Dims {
    int rank;
    int64_t d[IR_MAX_RANK];
} Dims;

/* Everything an op's kernel needs: the node, its inputs' data and bound shapes, and its
 * output. */
typedef struct EvalCtx {
    const Graph *g;
    const Node *n;
    const void *const *in;
    Dims in_dims[8];
    float *out;    /* the output as f32 (for the f32 ops) */
    void *out_raw; /* the output in its own dtype */
    Dims out_dims;
    const int64_t *syms;
    Diag *d;
} EvalCtx;

static inline int64_t dims_numel(const Dims *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->d[i];
    return n;
}

/* Strides (in elements) with which an operand of shape in is read while walking out's
 * index space under numpy broadcasting: dims are aligned on the right, a missing or size-1
 * dim of in is read with stride 0. Requires in->rank <= out->rank. */
static inline void bcast_strides(const Dims *out, const Dims *in, int64_t *st)
{
    int64_t s = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        int j = i - (out->rank - in->rank);
        if (j < 0) {
            st[i] = 0;
            continue;
        }
        st[i] = in->d[j] == 1 ? 0 : s;
        s *= in->d[j];
    }
}

/* The offset, in the broadcast operand, of out's element number linear. */
static inline int64_t bcast_offset(const Dims *out, const int64_t *st, int64_t linear)
{
    int64_t off = 0;
    for (int i = out->rank - 1; i >= 0; i--) {
        off += (linear % out->d[i]) * st[i];
        linear /= out->d[i];
    }
    return off;
}

static inline const float *in_f32(const EvalCtx *c, int i)
{
    return i < c->n->n_inputs ? (const float *)c->in[i] : NULL;
}

/* lowbit.c: wlinear and dqlinear. */
void ir_eval_wlinear(const EvalCtx *c);
void ir_eval_dqlinear(const EvalCtx *c);

/* eval_more.c: one kernel per op family (index_select reports a bad index and returns false). */
void ir_eval_unary_attr(const EvalCtx *c);
/* ops.def's scalar expression of op at x (y, p0, p1 where it reads them): in float (eval.c)
 * and in double (eval_dtypes.c). Asserts that op has one. */
float ir_eval_scalar_f32(OpKind op, float x, float y, float p0, float p1);
double ir_eval_scalar_f64(OpKind op, double x, double y, double p0, double p1);
void ir_eval_compare(const EvalCtx *c);
void ir_eval_where(const EvalCtx *c);
void ir_eval_cast(const EvalCtx *c);
void ir_eval_adaptive_avg_pool2d(const EvalCtx *c);
void ir_eval_group_norm(const EvalCtx *c);
void ir_eval_reduce(const EvalCtx *c);
void ir_eval_permute(const EvalCtx *c);
void ir_eval_expand(const EvalCtx *c);
void ir_eval_slice(const EvalCtx *c);
void ir_eval_pad(const EvalCtx *c);
void ir_eval_concat(const EvalCtx *c);
bool ir_eval_index_select(const EvalCtx *c);
void ir_eval_resize(const EvalCtx *c);
void ir_eval_conv_transpose2d(const EvalCtx *c);
/* attention.c: the attention op. */
void ir_eval_attention(const EvalCtx *c);
/* rnn.c: the rnn op (RNN, GRU, LSTM). */
void ir_eval_rnn(const EvalCtx *c);
/* Element j of src (dtype from) stored into element i of out (dtype to) as cast does;
 * element i of p (any dtype but i4) as a double. */
void ir_eval_store_cast(DType to, void *out, int64_t i, DType from, const void *src, int64_t j);
double ir_eval_load_f(DType t, const void *p, int64_t i);

/* eval_dtypes.c: the elementwise ops and reductions in dtypes other than f32
 * (ir_node_is_typed_elementwise); false with a diagnostic for an epilogue. */
bool ir_eval_typed(const EvalCtx *c);
/* eval_index.c: argmax, argmin, gather/scatter_elements, cumsum, reduce_prod, mod (an
 * index out of range is an error: false). */
bool ir_eval_is_index_op(OpKind op);
bool ir_eval_index_node(const EvalCtx *c);
/* eval_grad.c: the training ops that are not elementwise (pool, conv and embedding
 * gradients, losses); labels i64, the rest f32. False with the error for a bad label. */
bool ir_eval_is_grad_op(OpKind op);
bool ir_eval_grad_node(const EvalCtx *c);

#endif
