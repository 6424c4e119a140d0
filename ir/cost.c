/* The cost functions named in ops.def's cost and bytes columns, and the whole-graph sums
 * `inspect` and a cost model read. FLOPs count a multiply-add as 2; an elementwise step is
 * one FLOP an element whatever its expression; bytes are what a node reads and writes
 * once (no cache model). Every function takes the node's values with their symbols set to
 * syms and returns a non-negative count. */
#include "ir/op_fns.h"

static double numel_of(const Graph *g, ValueId v, const int64_t *syms)
{
    const Shape *s = &g->values[v].type.shape;
    double n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= (double)ir_dim_eval(s->d[i], syms);
    return n;
}

static double out_numel(const Graph *g, const Node *n, const int64_t *syms)
{
    return numel_of(g, n->outputs[0], syms);
}

/* K, the reduced dim of a matrix product: x's last. */
static double reduced_k(const Graph *g, const Node *n, const int64_t *syms)
{
    const Shape *in0 = n->n_inputs ? &g->values[n->inputs[0]].type.shape : NULL;
    return in0 && in0->rank ? (double)ir_dim_eval(in0->d[in0->rank - 1], syms) : 1;
}

/* ---- FLOPs ---- */

/* conv2d, qconv2d: 2 * out * (I/g * kh * kw), w [O, I/g, kh, kw] */
double ir_flops_conv(const Graph *g, const Node *n, const int64_t *syms)
{
    const Shape *w = &g->values[n->inputs[1]].type.shape;
    return 2.0 * out_numel(g, n, syms) * (double)(w->d[1].c * w->d[2].c * w->d[3].c);
}

/* conv_transpose2d: 2 * in * (O/g * kh * kw), w [C, O/g, kh, kw] */
double ir_flops_conv_transpose(const Graph *g, const Node *n, const int64_t *syms)
{
    const Shape *w = &g->values[n->inputs[1]].type.shape;
    return 2.0 * numel_of(g, n->inputs[0], syms) * (double)(w->d[1].c * w->d[2].c * w->d[3].c);
}

/* conv2d_weight_grad(x, dy, w): 2 * dy * (I/g * kh * kw), the forward conv's count */
double ir_flops_conv_wgrad(const Graph *g, const Node *n, const int64_t *syms)
{
    const Shape *w = &g->values[n->inputs[2]].type.shape;
    return 2.0 * numel_of(g, n->inputs[1], syms) * (double)(w->d[1].c * w->d[2].c * w->d[3].c);
}

/* linear, matmul and the quantized / low-bit linears: 2 * out * K */
double ir_flops_gemm(const Graph *g, const Node *n, const int64_t *syms)
{
    return 2.0 * out_numel(g, n, syms) * reduced_k(g, n, syms);
}

/* max_pool2d, avg_pool2d: out * kh * kw */
double ir_flops_pool2d(const Graph *g, const Node *n, const int64_t *syms)
{
    int64_t k[2];
    ir_attr_kernel(n, k, 2);
    return out_numel(g, n, syms) * (double)(k[0] * k[1]);
}

/* one FLOP an output element (elementwise ops, comparisons, quantize) */
double ir_flops_out(const Graph *g, const Node *n, const int64_t *syms)
{
    return out_numel(g, n, syms);
}

/* four an output element (softmax, the norms, resize) */
double ir_flops_out4(const Graph *g, const Node *n, const int64_t *syms)
{
    return 4.0 * out_numel(g, n, syms);
}

/* one an input element (reductions, index ops, sampling) */
double ir_flops_in0(const Graph *g, const Node *n, const int64_t *syms)
{
    return numel_of(g, n->inputs[0], syms);
}

/* data movement: none */
double ir_flops_none(const Graph *g, const Node *n, const int64_t *syms)
{
    (void)g, (void)n, (void)syms;
    return 0;
}

/* ---- bytes moved ---- */

double ir_value_bytes(const Graph *g, ValueId v, const int64_t *syms)
{
    if (g->values[v].type.shape.rank < 0) /* not typed yet */
        return 0;
    return numel_of(g, v, syms) * (double)ir_dtype_bits(g->values[v].type.dtype) / 8;
}

/* every present input read once, every output written once */
double ir_bytes_io(const Graph *g, const Node *n, const int64_t *syms)
{
    double b = 0;
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] != IR_NONE)
            b += ir_value_bytes(g, n->inputs[i], syms);
    for (int i = 0; i < n->n_outputs; i++)
        b += ir_value_bytes(g, n->outputs[i], syms);
    return b;
}

/* views: the output is the input's storage */
double ir_bytes_none(const Graph *g, const Node *n, const int64_t *syms)
{
    (void)g, (void)n, (void)syms;
    return 0;
}

/* ---- whole graphs ---- */

static bool counted(const Graph *g, const Node *n)
{
    return !n->dead && n->n_outputs >= 1 && g->values[n->outputs[0]].type.shape.rank >= 0;
}

double ir_flops(const Graph *g, const int64_t *syms)
{
    double total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (!counted(g, n))
            continue;
        total += ir_ops[n->op].flops(g, n, syms);
        total += out_numel(g, n, syms) * (double)n->n_epilogue;
    }
    return total;
}

double ir_bytes_moved(const Graph *g, const int64_t *syms)
{
    double total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (counted(g, n))
            total += ir_ops[n->op].bytes(g, n, syms);
    }
    return total;
}
