/* Elementwise f32 ops (the arithmetic, minimum/maximum/pow with numpy broadcasting; the
 * activations and math functions) and
 * the epilogue functions that fuse them into another node's store. */
#include "codegen/c/cg_internal.h"
#include "ir/dtype_ops.h"

#include <math.h>
#include <string.h>

const char *cg_unary_expr(CgCtx *c, OpKind op, const char *x)
{
    /* relu(NaN) = NaN, as in PyTorch; the slimc_cg_ helpers are in the prelude (emit.c) */
    switch (op) {
    case IR_OP_RELU: return cg_strf(c, "slimc_rt_relu(%s)", x);
    case IR_OP_SIGMOID: return cg_strf(c, "slimc_rt_sigmoid(%s)", x);
    case IR_OP_TANH: return cg_strf(c, "tanhf(%s)", x);
    case IR_OP_RELU6: return cg_strf(c, "slimc_cg_relu6(%s)", x);
    case IR_OP_GELU: return cg_strf(c, "slimc_cg_gelu(%s)", x);
    case IR_OP_GELU_TANH: return cg_strf(c, "slimc_cg_gelu_tanh(%s)", x);
    case IR_OP_SILU: return cg_strf(c, "slimc_cg_silu(%s)", x);
    case IR_OP_HARDSWISH: return cg_strf(c, "slimc_cg_hardswish(%s)", x);
    case IR_OP_HARDSIGMOID: return cg_strf(c, "slimc_cg_hardsigmoid(%s)", x);
    case IR_OP_EXP: return cg_strf(c, "expf(%s)", x);
    case IR_OP_LOG: return cg_strf(c, "logf(%s)", x);
    case IR_OP_SQRT: return cg_strf(c, "sqrtf(%s)", x);
    case IR_OP_RSQRT: return cg_strf(c, "1.0f / sqrtf(%s)", x);
    case IR_OP_NEG: return cg_strf(c, "-%s", x);
    case IR_OP_ABS: return cg_strf(c, "fabsf(%s)", x);
    case IR_OP_ERF: return cg_strf(c, "erff(%s)", x);
    case IR_OP_CONV2D:
    case IR_OP_LINEAR:
    case IR_OP_MATMUL:
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_DIV:
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D:
    case IR_OP_FLATTEN:
    case IR_OP_RESHAPE:
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX:
    case IR_OP_BATCH_NORM:
    case IR_OP_LAYER_NORM:
    case IR_OP_EMBEDDING:
    case IR_OP_LEAKY_RELU:
    case IR_OP_CLIP:
    case IR_OP_MINIMUM:
    case IR_OP_MAXIMUM:
    case IR_OP_POW:
    case IR_OP_EQ:
    case IR_OP_NE:
    case IR_OP_LT:
    case IR_OP_LE:
    case IR_OP_GT:
    case IR_OP_GE:
    case IR_OP_WHERE:
    case IR_OP_CAST:
    case IR_OP_ADAPTIVE_AVG_POOL2D:
    case IR_OP_GROUP_NORM:
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MEAN:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN:
    case IR_OP_PERMUTE:
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_EXPAND:
    case IR_OP_SLICE:
    case IR_OP_PAD:
    case IR_OP_CONCAT:
    case IR_OP_INDEX_SELECT:
    case IR_OP_RESIZE:
    case IR_OP_CONV_TRANSPOSE2D:
    case IR_OP_QUANTIZE:
    case IR_OP_DEQUANTIZE:
    case IR_OP_QCONV2D:
    case IR_OP_QLINEAR:
    case IR_OP_WLINEAR:
    case IR_OP_DQLINEAR:
    case IR_OP_BITWISE_AND:
    case IR_OP_BITWISE_OR:
    case IR_OP_BITWISE_XOR:
    case IR_OP_BITWISE_NOT:
    case IR_OP_BITSHIFT_LEFT:
    case IR_OP_BITSHIFT_RIGHT:
    case IR_OP_ARGMAX:
    case IR_OP_ARGMIN:
    case IR_OP_GATHER_ELEMENTS:
    case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_CUMSUM:
    case IR_OP_REDUCE_PROD:
    case IR_OP_MOD:
    case IR_OP_RESIZE_AXIS:
    case IR_OP_GRID_SAMPLE:
    case IR_OP_TOPK:
    case IR_OP_POOL_ND:
    case IR_OP_GATHER_ND:
    case IR_OP_SCATTER_ND:
    case IR_OP_ROI_ALIGN:
    case IR_NUM_OPS: break;
    }
    cg_error(c, NULL, "%s is not a unary elementwise op without attributes", ir_ops[op].name);
    return x;
}

const char *cg_binary_expr(CgCtx *c, OpKind op, const char *x, const char *y)
{
    switch (op) {
    case IR_OP_ADD: return cg_strf(c, "%s + %s", x, y);
    case IR_OP_SUB: return cg_strf(c, "%s - %s", x, y);
    case IR_OP_MUL: return cg_strf(c, "%s * %s", x, y);
    case IR_OP_DIV: return cg_strf(c, "%s / %s", x, y);
    case IR_OP_MINIMUM: return cg_strf(c, "slimc_cg_minimum(%s, %s)", x, y);
    case IR_OP_MAXIMUM: return cg_strf(c, "slimc_cg_maximum(%s, %s)", x, y);
    case IR_OP_POW: return cg_strf(c, "powf(%s, %s)", x, y);
    case IR_OP_CONV2D:
    case IR_OP_LINEAR:
    case IR_OP_MATMUL:
    case IR_OP_RELU:
    case IR_OP_SIGMOID:
    case IR_OP_TANH:
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D:
    case IR_OP_FLATTEN:
    case IR_OP_RESHAPE:
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX:
    case IR_OP_BATCH_NORM:
    case IR_OP_LAYER_NORM:
    case IR_OP_EMBEDDING:
    case IR_OP_RELU6:
    case IR_OP_GELU:
    case IR_OP_GELU_TANH:
    case IR_OP_SILU:
    case IR_OP_HARDSWISH:
    case IR_OP_HARDSIGMOID:
    case IR_OP_EXP:
    case IR_OP_LOG:
    case IR_OP_SQRT:
    case IR_OP_RSQRT:
    case IR_OP_NEG:
    case IR_OP_ABS:
    case IR_OP_ERF:
    case IR_OP_LEAKY_RELU:
    case IR_OP_CLIP:
    case IR_OP_EQ:
    case IR_OP_NE:
    case IR_OP_LT:
    case IR_OP_LE:
    case IR_OP_GT:
    case IR_OP_GE:
    case IR_OP_WHERE:
    case IR_OP_CAST:
    case IR_OP_ADAPTIVE_AVG_POOL2D:
    case IR_OP_GROUP_NORM:
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MEAN:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN:
    case IR_OP_PERMUTE:
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_EXPAND:
    case IR_OP_SLICE:
    case IR_OP_PAD:
    case IR_OP_CONCAT:
    case IR_OP_INDEX_SELECT:
    case IR_OP_RESIZE:
    case IR_OP_CONV_TRANSPOSE2D:
    case IR_OP_QUANTIZE:
    case IR_OP_DEQUANTIZE:
    case IR_OP_QCONV2D:
    case IR_OP_QLINEAR:
    case IR_OP_WLINEAR:
    case IR_OP_DQLINEAR:
    case IR_OP_BITWISE_AND:
    case IR_OP_BITWISE_OR:
    case IR_OP_BITWISE_XOR:
    case IR_OP_BITWISE_NOT:
    case IR_OP_BITSHIFT_LEFT:
    case IR_OP_BITSHIFT_RIGHT:
    case IR_OP_ARGMAX:
    case IR_OP_ARGMIN:
    case IR_OP_GATHER_ELEMENTS:
    case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_CUMSUM:
    case IR_OP_REDUCE_PROD:
    case IR_OP_MOD:
    case IR_OP_RESIZE_AXIS:
    case IR_OP_GRID_SAMPLE:
    case IR_OP_TOPK:
    case IR_OP_POOL_ND:
    case IR_OP_GATHER_ND:
    case IR_OP_SCATTER_ND:
    case IR_OP_ROI_ALIGN:
    case IR_NUM_OPS: break;
    }
    cg_error(c, NULL, "%s is not a binary elementwise op", ir_ops[op].name);
    return x;
}

static bool dim_is_one(Dim d)
{
    return d.syms == 0 && d.c == 1;
}

#define MAX_OPS 4

/* The loop walks the output in runs: the trailing dims over which every operand is either
 * contiguous or constant (broadcast) form one run, vectorizable; the dims left of it are
 * decoded from the flat index once per run. */
void cg_bcast_loop(CgCtx *c, int indent, const Shape *out, int n_ops, const Shape *const *ops,
                   const char *const *ptrs, const char *f0, const char *len, CgStmtFn stmt,
                   void *arg)
{
    int r = out->rank;
    int kept[IR_MAX_RANK], nk = 0;
    bool present[MAX_OPS][IR_MAX_RANK];
    const char *stride[MAX_OPS][IR_MAX_RANK];
    SLIMC_ASSERT(n_ops <= MAX_OPS);
    for (int i = 0; i < r; i++) {
        if (dim_is_one(out->d[i]))
            continue;
        kept[nk++] = i;
        for (int k = 0; k < n_ops; k++) {
            int j = i - (r - ops[k]->rank);
            present[k][i] = j >= 0 && !dim_is_one(ops[k]->d[j]);
            stride[k][i] = present[k][i] ? cg_prod(c, ops[k], j + 1, ops[k]->rank) : "0";
        }
    }
    int gstart = nk; /* first kept index of the inner run */
    if (nk > 0) {
        gstart = nk - 1;
        while (gstart > 0) {
            bool same = true;
            for (int k = 0; k < n_ops; k++)
                same &= present[k][kept[gstart - 1]] == present[k][kept[nk - 1]];
            if (!same)
                break;
            gstart--;
        }
    }
    const char *L = nk > 0 ? cg_prod(c, out, kept[gstart], r) : "1";
    int in = indent;
    cg_printf(c, "%*s{\n", in, "");
    in += 4;
    cg_printf(c, "%*sint64_t bl_f = %s;\n", in, "", f0);
    cg_printf(c, "%*sconst int64_t bl_end = bl_f + %s;\n", in, "", len);
    cg_printf(c, "%*swhile (bl_f < bl_end) {\n", in, "");
    in += 4;
    cg_printf(c, "%*sint64_t bl_q = bl_f / %s;\n", in, "", L);
    cg_printf(c, "%*sconst int64_t bl_r = bl_f - bl_q * %s;\n", in, "", L);
    cg_printf(c, "%*sconst int64_t bl_n = slimc_rt_min(%s - bl_r, bl_end - bl_f);\n", in, "", L);
    for (int k = 0; k < n_ops; k++) {
        bool inner = nk > 0 && present[k][kept[nk - 1]];
        cg_printf(c, "%*sint64_t bl_p%d = %s;\n", in, "", k, inner ? "bl_r" : "0");
    }
    for (int m = gstart - 1; m >= 0; m--) {
        int i = kept[m];
        cg_printf(c, "%*s{\n%*s    const int64_t bl_c = bl_q %% %s;\n%*s    bl_q /= %s;\n", in, "",
                  in, "", cg_dim(c, out->d[i]), in, "", cg_dim(c, out->d[i]));
        for (int k = 0; k < n_ops; k++)
            if (present[k][i])
                cg_printf(c, "%*s    bl_p%d += bl_c * %s;\n", in, "", k, stride[k][i]);
        cg_printf(c, "%*s}\n", in, "");
    }
    if (gstart == 0)
        cg_printf(c, "%*s(void)bl_q;\n", in, "");
    const char *xs[MAX_OPS];
    for (int k = 0; k < n_ops; k++) {
        bool inner = nk > 0 && present[k][kept[nk - 1]];
        if (inner) {
            xs[k] = cg_strf(c, "%s[bl_p%d + bl_j]", ptrs[k], k);
        } else {
            cg_printf(c, "%*sconst float bl_s%d = %s[bl_p%d];\n", in, "", k, ptrs[k], k);
            xs[k] = cg_strf(c, "bl_s%d", k);
        }
    }
    cg_printf(c, "%*sfor (int64_t bl_j = 0; bl_j < bl_n; bl_j++)\n%*s    ", in, "", in, "");
    stmt(c, arg, "bl_f + bl_j", xs);
    cg_printf(c, "%*sbl_f += bl_n;\n", in, "");
    in -= 4;
    cg_printf(c, "%*s}\n", in, "");
    in -= 4;
    cg_printf(c, "%*s}\n", in, "");
}

typedef struct EpStmt {
    OpKind op;
    bool operand_first;
    const char *dst; /* the output pointer's name */
} EpStmt;

static void ep_stmt(CgCtx *c, void *arg, const char *o, const char *const *x)
{
    const EpStmt *e = arg;
    const char *cur = cg_strf(c, "%s[%s]", e->dst, o);
    cg_printf(c, "%s = %s;\n", cur,
              e->operand_first ? cg_binary_expr(c, e->op, x[0], cur)
                               : cg_binary_expr(c, e->op, cur, x[0]));
}

static uint32_t shape_syms(const Shape *s)
{
    uint32_t m = 0;
    for (int i = 0; i < s->rank; i++)
        m |= s->d[i].syms;
    return m;
}

void cg_emit_epilogue_fn(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    const char *fn = c->fn_names[id];
    uint32_t syms = shape_syms(os);
    for (int j = 0; j < n->n_epilogue; j++)
        if (n->epilogue[j].operand != IR_NONE)
            syms |= shape_syms(cg_shape(c, n->epilogue[j].operand));
    cg_printf(c, "/* %s's epilogue on out[f0, f0 + len) */\n", cg_text(c, n->name));
    cg_printf(c,
              "SLIMC_RT_UNUSED static void epi_%s(const slimc_args *a, float *restrict o, int64_t "
              "f0, int64_t len)\n{\n",
              fn);
    for (int i = 0; i < IR_MAX_SYMS; i++)
        if (syms & (1u << i))
            cg_printf(c, "    const int64_t %s = a->syms[%d];\n    (void)%s;\n", c->sym_names[i], i,
                      c->sym_names[i]);
    cg_printf(c, "    (void)a;\n");
    for (int j = 0; j < n->n_epilogue; j++) {
        const Epilogue *e = &n->epilogue[j];
        if (e->operand == IR_NONE) {
            cg_printf(c,
                      "    for (int64_t f = f0; f < f0 + len; f++) /* %s */\n        o[f] = %s;\n",
                      ir_ops[e->op].name, cg_unary_expr(c, e->op, "o[f]"));
            continue;
        }
        const char *ptr = cg_strf(c, "e%d", j);
        cg_printf(c, "    { /* %s with %s: %s */\n", ir_ops[e->op].name,
                  cg_text(c, g->values[e->operand].name),
                  cg_type_text(c, &g->values[e->operand].type));
        cg_printf(c, "        const float *restrict %s = (const float *)a->ep[%d];\n", ptr, j);
        const Shape *opshape = cg_shape(c, e->operand);
        EpStmt st = {e->op, e->operand_first, "o"};
        cg_bcast_loop(c, 8, os, 1, &opshape, &ptr, "f0", "len", ep_stmt, &st);
        cg_printf(c, "    }\n");
    }
    cg_printf(c, "}\n\n");
    cg_printf(c, "SLIMC_RT_UNUSED static void epiall_%s(void *p, int64_t i0, int64_t i1)\n{\n", fn);
    cg_printf(c, "    const slimc_args *a = (const slimc_args *)p;\n");
    cg_printf(c, "    epi_%s(a, (float *)a->out, i0, i1 - i0);\n}\n\n", fn);
}

typedef struct BinStmt {
    OpKind op;
} BinStmt;

static void bin_stmt(CgCtx *c, void *arg, const char *o, const char *const *x)
{
    const BinStmt *b = arg;
    cg_printf(c, "out[%s] = %s;\n", o, cg_binary_expr(c, b->op, x[0], x[1]));
}

void cg_emit_elementwise(CgCtx *c, NodeId id, CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    Dim ne;
    if (!ir_shape_numel(os, &ne)) {
        cg_error(c, n, "unsupported symbolic shape");
        return;
    }
    if (ir_node_is_typed_elementwise(g, n)) { /* f64, f16, bf16, integers */
        cg_emit_elementwise_typed(c, id, k);
        return;
    }
    const char *total = cg_dim(c, ne);
    bool binary = ir_ops[n->op].flags & IR_F_BINARY;
    static const char *const names[] = {"x0", "x1"};
    cg_body_begin(c, id, names, binary ? 2 : 1);
    if (binary) {
        const Shape *ops[2] = {cg_shape(c, n->inputs[0]), cg_shape(c, n->inputs[1])};
        BinStmt b = {n->op};
        cg_bcast_loop(c, 4, os, 2, ops, names, "i0", "i1 - i0", bin_stmt, &b);
    } else if (n->op == IR_OP_LEAKY_RELU) {
        cg_printf(c, "    const float slope = %s;\n",
                  cg_float(c, ir_attr_float(n, "negative_slope", 0.01)));
        cg_printf(c, "    for (int64_t f = i0; f < i1; f++)\n        out[f] = x0[f] > 0.0f ? x0[f] "
                     ": x0[f] * slope;\n");
    } else if (n->op == IR_OP_CLIP) {
        double lo = ir_attr_float(n, "min", -INFINITY), hi = ir_attr_float(n, "max", INFINITY);
        cg_printf(c, "    const float lo = %s, hi = %s; /* NaN stays NaN */\n", cg_float(c, lo),
                  cg_float(c, hi));
        cg_printf(c, "    for (int64_t f = i0; f < i1; f++)\n        out[f] = x0[f] < lo ? lo : "
                     "x0[f] > hi ? hi : x0[f];\n");
    } else {
        cg_printf(c, "    for (int64_t f = i0; f < i1; f++)\n        out[f] = %s;\n",
                  cg_unary_expr(c, n->op, "x0[f]"));
    }
    cg_ep_call(c, id, 4, "i0", "i1 - i0");
    cg_body_end(c);
    k->items = total;
    k->work = total;
    k->ep_done = true;
}
