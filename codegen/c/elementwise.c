/* Elementwise f32 ops (the arithmetic, minimum/maximum/pow with numpy broadcasting; the
 * activations and math functions) and
 * the epilogue functions that fuse them into another node's store. */
#include "codegen/c/cg_internal.h"
#include "ir/dtype_ops.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

/* ops.def's scalar expressions spelled as float C (ir/scalar.h), NULL where none. */
#define SC_SPELL_C_F32
#include "ir/scalar.h"
#define E(...) SC_STR(__VA_ARGS__)
#define NOEXPR NULL
static const char *const f32_expr[IR_NUM_OPS] = {
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr) [IR_OP_##e] = expr,
#include "ir/ops.def"
#undef OP
};
#undef E
#undef NOEXPR

const char *cg_unary_expr(CgCtx *c, OpKind op, const char *x)
{
    const OpInfo *info = &ir_ops[op];
    if (f32_expr[op] && !(info->flags & IR_F_BINARY) && info->n_attrs == 0) {
        const char *args[4] = {x, NULL, NULL, NULL};
        return cg_scalar_expand(c, f32_expr[op], args);
    }
    cg_error(c, NULL, "%s is not a unary elementwise op without attributes", info->name);
    return x;
}

const char *cg_binary_expr(CgCtx *c, OpKind op, const char *x, const char *y)
{
    if (f32_expr[op] && (ir_ops[op].flags & IR_F_BINARY)) {
        const char *args[4] = {x, y, NULL, NULL};
        return cg_scalar_expand(c, f32_expr[op], args);
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
    cg_printf(c, "SLIMC_RT_UNUSED %s void epiall_%s(void *p, int64_t i0, int64_t i1)\n{\n",
              cg_fn_storage(c), fn);
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
    if (!cg_numel(c, id, os, &ne))
        return;
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
        cg_printf(c, "    const float slope = %s;\n", cg_float(c, ir_attr_negative_slope(n)));
        const char *args[4] = {"x0[f]", NULL, "slope", NULL};
        cg_printf(c, "    for (int64_t f = i0; f < i1; f++)\n        out[f] = %s;\n",
                  cg_scalar_expand(c, f32_expr[n->op], args));
    } else if (n->op == IR_OP_CLIP) {
        double lo = ir_attr_min(n), hi = ir_attr_max(n);
        cg_printf(c, "    const float lo = %s, hi = %s; /* NaN stays NaN */\n", cg_float(c, lo),
                  cg_float(c, hi));
        const char *args[4] = {"x0[f]", NULL, "lo", "hi"};
        cg_printf(c, "    for (int64_t f = i0; f < i1; f++)\n        out[f] = %s;\n",
                  cg_scalar_expand(c, f32_expr[n->op], args));
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
