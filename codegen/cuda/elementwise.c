/* Elementwise f32 ops on the GPU: the arithmetic with numpy broadcasting, the activations
 * and math functions of ops.def's E(...) column, each with the node's fused epilogue. One
 * thread per output element in a grid-stride loop. */
#include "codegen/cuda/cu.h"
#include "codegen/cuda/data_move.h"
#include "ir/dtype_ops.h"

#include <string.h>

/* ops.def's scalar expressions spelled as float CUDA C (ir/scalar.h), NULL where none. */
#define SC_SPELL_CUDA_F32
#include "ir/scalar.h"
#define E(...) SC_STR(__VA_ARGS__)
#define NOEXPR NULL
static const char *const cuda_expr[IR_NUM_OPS] = {
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr) [IR_OP_##e] = expr,
#include "ir/ops.def"
#undef OP
};
#undef E
#undef NOEXPR

bool cu_has_scalar_expr(OpKind op)
{
    return op < IR_NUM_OPS && cuda_expr[op] != NULL;
}

const char *cu_scalar_expr(CgCtx *c, OpKind op, const char *x, const char *y, const char *p0,
                           const char *p1)
{
    if (!cu_has_scalar_expr(op)) {
        cg_error(c, NULL, "%s has no scalar expression for CUDA", ir_ops[op].name);
        return x;
    }
    const char *args[4] = {x, y, p0, p1};
    return cg_scalar_expand(c, cuda_expr[op], args);
}

#define EW_THREADS 256

void cu_emit_elementwise(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    if (ir_node_is_typed_elementwise(g, n)) { /* f64, f16, bf16, integers */
        cu_emit_elementwise_typed(c, id);
        return;
    }
    if (!cu_dm_check_f32(c, id, 0)) /* the rows are CU_CHECK_OWN for the forward above */
        return;
    const Shape *os = cg_shape(c, n->outputs[0]);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    const char *total = cg_dim(c, ne);
    const bool binary = ir_ops[n->op].flags & IR_F_BINARY;
    int k = cu_kernel_begin(c, id, NULL, EW_THREADS);
    cu_in(c, id, 0, "x0");
    if (binary)
        cu_in(c, id, 1, "x1");
    cu_out(c, id, "out");
    const char *p0 = NULL, *p1 = NULL;
    if (n->op == IR_OP_LEAKY_RELU) {
        cg_printf(c, "    const float slope = %s;\n", cu_dm_float(c, ir_attr_negative_slope(n)));
        p0 = "slope";
    } else if (n->op == IR_OP_CLIP) {
        cg_printf(c, "    const float lo = %s, hi = %s; /* NaN stays NaN */\n",
                  cu_dm_float(c, ir_attr_min(n)), cu_dm_float(c, ir_attr_max(n)));
        p0 = "lo";
        p1 = "hi";
    } else if (ir_ops[n->op].n_attrs) {
        cg_error(c, n, "the CUDA backend has no kernel for %s's attributes", ir_ops[n->op].name);
        cu_kernel_end(c);
        return;
    }
    cg_printf(c, "    const int64_t n = %s;\n", total);
    cg_printf(c,
              "    for (int64_t f = (int64_t)blockIdx.x * %d + threadIdx.x; f < n;\n"
              "         f += (int64_t)gridDim.x * %d) {\n",
              EW_THREADS, EW_THREADS);
    const char *x = "x0[f]", *y = NULL;
    if (binary) {
        x = cg_strf(c, "x0[%s]", cu_bcast_index(c, os, cg_shape(c, n->inputs[0]), "f"));
        y = cg_strf(c, "x1[%s]", cu_bcast_index(c, os, cg_shape(c, n->inputs[1]), "f"));
    }
    cg_printf(c, "        float v = %s;\n", cu_scalar_expr(c, n->op, x, y, p0, p1));
    cu_ep_apply(c, id, 8, "v", "f");
    cg_printf(c, "        out[f] = v;\n    }\n");
    cu_kernel_end(c);
    const char *grid[3] = {cg_strf(c, "slimc_cu_blocks(%s)", cu_ceil_div(c, total, EW_THREADS)),
                           "1", "1"};
    cu_launch(c, id, k, grid, (const int[3]){EW_THREADS, 1, 1},
              "one thread per output element, grid-stride");
}
