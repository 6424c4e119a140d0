/* mod (the remainder, ONNX Mod) in the dtype of its operands, broadcasting: the one
 * elementwise op whose C differs by dtype family (fmod, a sign fix, division by 0 and -1),
 * so it has a helper function of its own per node (reference: ir/eval_index.c). */
#include "codegen/c/cg_internal.h"

typedef struct ModStmt {
    const char *fn;
} ModStmt;

static void mod_stmt(CgCtx *c, void *arg, const char *o, const char *const *x)
{
    const ModStmt *m = arg;
    cg_printf(c, "dst[%s] = %s(%s, %s);\n", o, m->fn, x[0], x[1]);
}

/* mod: a helper `static inline T NAME_mod(T a, T b)` for the dtype and fmod, then the
 * broadcast loop over the output. */
void cg_emit_mod(CgCtx *c, NodeId id, CgKernel *k)
{
    const Node *n = &c->g->nodes[id];
    const Shape *os = cg_shape(c, n->outputs[0]);
    DType t = cg_dtype_of(c, n->inputs[0]);
    const char *ct = ir_dtype_ctype(t);
    bool fm = ir_attr_fmod(n) != 0;
    const char *fn = cg_strf(c, "%s_mod", c->fn_names[id]);
    cg_printf(c, "/* %s's remainder (%s) */\n", cg_text(c, n->name),
              fm ? "fmod: the sign of a" : "the sign of b");
    cg_printf(c, "static inline %s %s(%s a, %s b)\n{\n", ct, fn, ct, ct);
    if (cg_dtype_is_float(t)) {
        const char *ft = t == IR_F64 ? "double" : "float", *f = t == IR_F64 ? "fmod" : "fmodf";
        const char *ld = t == IR_F16    ? "slimc_cg_f16_to_f32"
                         : t == IR_BF16 ? "slimc_cg_bf16_to_f32"
                                        : "";
        const char *st = t == IR_F16    ? "slimc_cg_f32_to_f16"
                         : t == IR_BF16 ? "slimc_cg_f32_to_bf16"
                                        : "";
        cg_printf(c, "    const %s x = %s(a), y = %s(b);\n    %s r = %s(x, y);\n", ft, ld, ld, ft,
                  f);
        if (!fm)
            cg_printf(c, "    if (r != 0 && ((r < 0) != (y < 0)))\n        r += y;\n");
        cg_printf(c, "    return %s(r);\n}\n\n", st);
    } else if (cg_dtype_is_signed_int(t)) {
        cg_printf(c,
                  "    if (b == 0 || b == -1) /* -1: MIN %% -1 overflows; the remainder is 0 */\n"
                  "        return 0;\n");
        cg_printf(c, "    %s r = (%s)(a %% b);\n", ct, ct);
        if (!fm)
            cg_printf(c, "    if (r != 0 && ((r < 0) != (b < 0)))\n        r = (%s)(r + b);\n", ct);
        cg_printf(c, "    return r;\n}\n\n");
    } else {
        cg_printf(c, "    return b ? (%s)(a %% b) : 0;\n}\n\n", ct);
    }
    static const char *const names[] = {"x0", "x1"};
    cg_body_begin(c, id, names, 2);
    cg_declare_dst(c, n);
    const Shape *ops[2] = {cg_shape(c, n->inputs[0]), cg_shape(c, n->inputs[1])};
    ModStmt m = {fn};
    cg_bcast_loop(c, 4, os, 2, ops, names, "i0", "i1 - i0", mod_stmt, &m);
    cg_body_end(c);
    Dim ne;
    if (!cg_numel(c, id, os, &ne))
        return;
    k->items = cg_dim(c, ne);
    k->work = k->items;
}
